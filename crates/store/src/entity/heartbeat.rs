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
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
