use sea_orm::entity::prelude::*;

/// Finds a case from a receipt. `lookup` is an Argon2id+HKDF output; the KDF salt and
/// costs are kept per row so they can be raised for new receipts.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "receipts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub lookup: String,
    #[sea_orm(unique)]
    pub case_id: String,
    pub kdf_salt: Vec<u8>,
    pub kdf_m_kib: i32,
    pub kdf_t: i32,
    pub kdf_p: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
