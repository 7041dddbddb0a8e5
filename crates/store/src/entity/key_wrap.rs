use sea_orm::entity::prelude::*;

/// One holder's copy of a case or thread secret key, age-encrypted to that holder.
/// Revoking a holder is deleting its rows.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "key_wraps")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub case_id: String,
    /// `case` or `thread`.
    pub key_kind: String,
    /// `triage`, `recovery`, `investigator`, `case_key` or `reporter`.
    pub holder_kind: String,
    /// Which investigator, for `investigator` wraps.
    pub holder_id: Option<String>,
    /// The holder's recipient at wrap time, so rotation can find stale wraps.
    pub holder_recipient: String,
    pub ciphertext: Vec<u8>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
