use sea_orm::entity::prelude::*;

/// One rotation (or re-keying) and how far it has got, for whoever watches it: the CLI
/// that runs it, or the portal's key pages while the worker runs it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "key_rotations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub kind: String,
    /// The investigator, for an investigator's key.
    pub subject: Option<String>,
    /// `requested`, `running`, `done` or `failed`.
    pub state: String,
    pub new_fingerprint: Option<String>,
    pub done: i64,
    pub total: i64,
    /// What it is doing or why it stopped, in words for an admin; never a secret.
    pub note: Option<String>,
    pub started_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
