use sea_orm::entity::prelude::*;

/// A case a re-keying (`keys revoke --rekey`, ADR 0032) has to give new keys, and
/// whether it did.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "rekey_cases")]
pub struct Model {
    /// The `key_rotations` row of the re-keying.
    #[sea_orm(primary_key, auto_increment = false)]
    pub rotation_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub case_id: String,
    pub done: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
