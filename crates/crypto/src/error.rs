/// Why a cryptographic operation failed. Decryption failures are deliberately not more
/// specific than age makes them: wrong key, tampering and truncation look alike.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("could not encrypt")]
    Encrypt(#[source] age::EncryptError),
    #[error("could not decrypt: wrong key, or the ciphertext is damaged")]
    Decrypt(#[source] age::DecryptError),
    #[error("ciphertext is damaged or truncated")]
    Damaged(#[source] std::io::Error),
    #[error("I/O error while encrypting")]
    Io(#[source] std::io::Error),
    #[error("not an age X25519 identity")]
    BadIdentity,
    #[error("not an age X25519 recipient (age1…)")]
    BadRecipient,
    #[error("key derivation parameters are not acceptable: {0}")]
    KdfParams(String),
    #[error("key derivation failed")]
    Kdf,
}
