use sea_orm::entity::prelude::*;

/// A worker process's heartbeat: the jobs it holds are its own until `alive_until`
/// (its last beat plus its lease). Written on a fixed cadence, never because a report
/// arrived.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "heartbeats")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub worker: String,
    pub alive_until: i64,
    /// For an intake process: the triage and recovery public keys it seals new cases
    /// to, so a rotation can tell when no door uses an old key any more.
    pub triage_recipient: Option<String>,
    pub recovery_recipient: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
