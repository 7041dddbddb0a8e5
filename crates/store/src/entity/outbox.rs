use sea_orm::entity::prelude::*;

/// An email to send. The notice names a case reference and a deadline at most; the
/// recipient is an investigator, never a reporter.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// One email per key, e.g. `assigned:<case>:<investigator>`.
    #[sea_orm(unique)]
    pub idempotency_key: String,
    pub recipient: String,
    /// The notice, as JSON.
    pub notice: String,
    /// `pending` or `sent`.
    pub state: String,
    /// Fixed when the row is made, so a resend after a crash carries the same id.
    pub message_id: String,
    pub created_at: i64,
    pub sent_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
