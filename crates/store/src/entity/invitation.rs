use sea_orm::entity::prelude::*;

/// A one-time portal setup link, kept only as the hash of its token; the row goes when
/// the setup is done or a newer invitation for the same address replaces it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "invitations")]
pub struct Model {
    /// SHA-256 of the link's token, in hex.
    #[sea_orm(primary_key, auto_increment = false)]
    pub token_hash: String,
    pub email: String,
    pub role: String,
    /// Routing teams for an investigator, as a JSON array of names.
    pub teams: String,
    pub capacity: i32,
    pub expires_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
