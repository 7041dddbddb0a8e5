use sea_orm::entity::prelude::*;

/// A case. Nothing the reporter wrote is here: answers and files are age objects.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "cases")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    #[sea_orm(unique)]
    pub case_ref: String,
    pub state: String,
    pub questionnaire_version: i32,
    /// Received time rounded down to the hour: enough for deadlines counted in days,
    /// too coarse to line up with a network log.
    pub received_at: i64,
    /// Public half of the case key (`age1…`): what internal objects are sealed to.
    pub case_recipient: String,
    /// Public half of the thread key: what the reporter may read is sealed to it.
    pub thread_recipient: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
