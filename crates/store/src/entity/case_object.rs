use sea_orm::entity::prelude::*;

/// An encrypted object in the blob store. The file name is derived from `id`; what the
/// object is called by the reporter lives inside the sealed submission, not here.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "case_objects")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub case_id: String,
    /// `submission` or `evidence`.
    pub kind: String,
    /// `thread` or `case`: which key of the case it is sealed to.
    pub sealed_to: String,
    pub ciphertext_bytes: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
