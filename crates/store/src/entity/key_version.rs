use sea_orm::entity::prelude::*;

/// One version of an organisation key (`triage`, `recovery`) or secret: its public key
/// or keyed fingerprint, whether it is `current`, `retiring` (a rotation away from it is
/// under way) or `retired`, and the days it was made and retired.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "key_versions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub kind: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub fingerprint: String,
    pub state: String,
    pub created_day: String,
    pub retired_day: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
