use sea_orm::entity::prelude::*;

/// Failed logins across every address in one minute.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "login_budget")]
pub struct Model {
    /// Unix seconds / 60.
    #[sea_orm(primary_key, auto_increment = false)]
    pub minute: i64,
    pub failures: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
