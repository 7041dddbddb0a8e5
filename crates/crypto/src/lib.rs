//! The age envelope of Redress (see docs/DESIGN.md, "Keys and what each can open").
//!
//! Everything this crate produces is standard age ciphertext to X25519 recipients, so any
//! stored object can be opened with the stock `age` CLI given the right identity. Secret
//! material lives only in zeroizing newtypes without `Display` or `Serialize` and with a
//! redacted `Debug`. This crate must never log, print or persist a secret itself.

mod cookie_key;
mod envelope;
mod error;
mod keyed;
mod keys;
mod passphrase;
mod password;
mod receipt;
mod recovery_codes;
mod token;
mod totp;

pub use cookie_key::CookieKey;
pub use envelope::{
    SealingWriter, open, open_reader, seal, seal_writer, unwrap_identity, wrap_identity,
    wrap_identity_to_passphrase,
};
pub use error::CryptoError;
pub use keyed::hmac_sha256;
pub use keys::{PublicKey, SecretIdentity};
pub use passphrase::{
    MAX_PASSPHRASE_CHARS, MIN_PASSPHRASE_CHARS, PASSPHRASE_WORK_FACTOR, Passphrase, PassphraseError,
};
pub use password::{
    MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS, MIN_SALT_BYTES, Password, WeakPassword, derive_password_key,
    judge_password,
};
pub use receipt::{KdfParams, RECEIPT_WORDS, Receipt, ReceiptKeys, derive_receipt_keys};
pub use recovery_codes::{RECOVERY_CODES, new_recovery_codes, recovery_code_hash};
pub use token::{link_token_hash, login_guard_key, new_link_token};
pub use totp::{TOTP_STEP_SECS, TotpSecret};
