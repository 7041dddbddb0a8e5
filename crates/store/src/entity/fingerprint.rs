use sea_orm::entity::prelude::*;

/// A keyed fingerprint of one matching feature of a case (an indicator, the suspected
/// customer, …): HMAC under a key only the worker holds, so equal values can be found
/// without storing the values.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "case_fingerprints")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub case_id: String,
    /// `indicator`, `customer`, `product`, `country` or `target_group`.
    pub kind: String,
    pub fingerprint: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
