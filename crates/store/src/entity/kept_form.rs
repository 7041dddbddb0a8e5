use sea_orm::entity::prelude::*;

/// What a person had typed into a form when their session ended, sealed to a key in
/// their browser's cookie, until they log in again.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "kept_forms")]
pub struct Model {
    /// SHA-256 of the cookie's key, in hex.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The page the form belongs to.
    pub path: String,
    pub sealed: Vec<u8>,
    pub expires_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
