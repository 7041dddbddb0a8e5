use sea_orm::entity::prelude::*;

/// How many handed-over cases named a product: a count with no case behind it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "product_counts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub product: String,
    pub cases: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
