use sea_orm::entity::prelude::*;

/// A case given to an investigator (who holds a wrap of its case key).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "case_assignments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub case_id: String,
    pub investigator_id: String,
    pub assigned_at: i64,
    /// The last entry of the case this assignee has seen (none: never opened it).
    pub seen_seq: Option<i32>,
    /// The assignee's own star on the case.
    pub starred: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
