use sea_orm::entity::prelude::*;

/// A portal account. Its identity and authenticator secret are stored only sealed to
/// its password key (ADR 0021).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "accounts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    #[sea_orm(unique)]
    pub email: String,
    /// `investigator`, `admin` or `auditor`.
    pub role: String,
    /// `active` or `disabled`.
    pub state: String,
    /// `age1…`: the public half of the account's own identity.
    pub recipient: String,
    /// `age1…`: the public half of the key the password derives.
    pub password_recipient: String,
    /// The account's identity, age-encrypted to the password key.
    pub identity_wrap: Vec<u8>,
    /// The TOTP secret, age-encrypted to the password key; none until enrolled.
    pub totp_sealed: Option<Vec<u8>>,
    /// The last 30-second step whose code was accepted: a code works once.
    pub totp_last_step: Option<i64>,
    pub kdf_salt: Vec<u8>,
    pub kdf_m_kib: i32,
    pub kdf_t: i32,
    pub kdf_p: i32,
    /// The investigators row cases are routed and wrapped to, for an investigator.
    #[sea_orm(unique)]
    pub investigator_id: Option<String>,
    pub created_at: i64,
    /// The start of the day (UTC) of the last login.
    pub last_login_day: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
