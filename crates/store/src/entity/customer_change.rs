use sea_orm::entity::prelude::*;

/// One change of a customer's status: by an admin's hand, or by the outcome of the
/// case it names (ADR 0025).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "customer_changes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub customer_id: String,
    /// Its place in the customer's history, from 1.
    pub seq: i32,
    pub from_status: String,
    pub to_status: String,
    /// Written by staff, shown to everyone who reads the register.
    pub reason: String,
    pub at: i64,
    /// The account that made the change.
    pub actor: String,
    /// The concluded case whose outcome made it; none for a change by hand.
    pub case_id: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
