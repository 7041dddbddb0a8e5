use sea_orm::entity::prelude::*;

/// An account's own key while it is being replaced or recovered (ADR 0033).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "account_key_changes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub account_id: String,
    /// `rotation` or `recovery`.
    pub kind: String,
    /// `age1…` of the key being left: its wraps are what is still to move.
    pub old_recipient: String,
    /// For a rotation: the identity being retired, age-encrypted to the account's new
    /// identity, so whoever holds the new one (a login, the session) can finish.
    pub previous_identity: Option<Vec<u8>>,
    pub started_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
