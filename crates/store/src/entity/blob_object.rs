use sea_orm::entity::prelude::*;

/// An object stored in the database (the `postgres` blob backend, ADR 0019): made when
/// its writing begins, `bytes` set when it is complete. `written_hour` is the hour it
/// was begun or completed (the later), for the sweep's grace period; no finer time.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "blob_objects")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub object_id: String,
    pub written_hour: i64,
    /// The ciphertext's size once complete; `None` while it is being written.
    pub bytes: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
