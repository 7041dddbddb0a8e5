use sea_orm::entity::prelude::*;

/// An investigator: who may be given cases, and the public key their case keys are
/// wrapped to.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "investigators")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    #[sea_orm(unique)]
    pub email: String,
    /// `age1…`: case keys are wrapped to it.
    pub recipient: String,
    /// Routing teams, as a JSON array of names.
    pub teams: String,
    /// Open cases this investigator can hold at once.
    pub capacity: i32,
    pub active: bool,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
