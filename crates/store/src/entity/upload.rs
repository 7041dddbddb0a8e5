use sea_orm::entity::prelude::*;

/// A blob being uploaded: its pending object and the process writing it. The upload is
/// alive while that process's heartbeat is (`heartbeats`). No time is kept here.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "uploads")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub object_id: String,
    pub holder: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
