use sea_orm::entity::prelude::*;

/// Two cases found related by shared fingerprints (stored once, smaller id first).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "case_links")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub case_a: String,
    pub case_b: String,
    /// The fingerprint kinds they share, comma-separated.
    pub reasons: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
