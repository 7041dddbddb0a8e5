use sea_orm::entity::prelude::*;

/// One entry of a case's conversation or notes: age ciphertext, sealed to the thread
/// key or the case key as its kind says.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "case_entries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub case_id: String,
    /// Its place in the case's conversation, from 1.
    pub seq: i32,
    pub kind: String,
    /// The account that wrote it; none for what the reporter wrote.
    pub author: Option<String>,
    pub at: i64,
    pub ciphertext: Vec<u8>,
    /// An investigators' entry the reporter marked as read.
    pub read_by_reporter: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
