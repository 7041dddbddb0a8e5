use sea_orm::entity::prelude::*;

/// A reporter's follow-up session. Found by the hash of the key in the reporter's
/// cookie; what it holds (the thread key, the session's times) is sealed to that key.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "followup_sessions")]
pub struct Model {
    /// SHA-256 of the cookie's key, in hex.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub case_id: String,
    pub sealed: Vec<u8>,
    /// An hour (Unix seconds) after which the session has ended whatever it holds.
    pub forget_after: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
