use sea_orm::entity::prelude::*;

/// A portal session. Found by the hash of the key in the browser's cookie; the unlocked
/// identity is sealed to that key, which the server never stores.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sessions")]
pub struct Model {
    /// SHA-256 of the cookie's key, in hex.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub account_id: String,
    /// `enrolling` or `full`.
    pub stage: String,
    pub sealed_identity: Vec<u8>,
    /// An authenticator secret being enrolled, sealed to the cookie's key.
    pub pending_totp: Option<Vec<u8>>,
    pub created_at: i64,
    pub last_seen: i64,
    /// The absolute end, whatever the activity.
    pub expires_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
