use std::fmt;
use std::str::FromStr;

use age::secrecy::ExposeSecret;
use zeroize::Zeroizing;

use crate::CryptoError;

/// An X25519 recipient (`age1…`). Public, so it may be displayed and configured.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey(age::x25519::Recipient);

impl PublicKey {
    pub fn parse(s: &str) -> Result<Self, CryptoError> {
        age::x25519::Recipient::from_str(s.trim())
            .map(Self)
            .map_err(|_| CryptoError::BadRecipient)
    }

    pub(crate) fn as_age(&self) -> &age::x25519::Recipient {
        &self.0
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.0)
    }
}

/// An X25519 identity (the secret half). Zeroized on drop by age; never displayed.
#[derive(Clone)]
pub struct SecretIdentity(age::x25519::Identity);

impl SecretIdentity {
    pub fn generate() -> Self {
        Self(age::x25519::Identity::generate())
    }

    /// Parses `AGE-SECRET-KEY-1…`, or an identity file holding one such line (comments
    /// starting with `#` and blank lines are skipped).
    pub fn parse(text: &str) -> Result<Self, CryptoError> {
        let mut keys = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'));
        let line = keys.next().ok_or(CryptoError::BadIdentity)?;
        if keys.next().is_some() {
            return Err(CryptoError::BadIdentity);
        }
        age::x25519::Identity::from_str(line)
            .map(Self)
            .map_err(|_| CryptoError::BadIdentity)
    }

    /// Builds an identity from 32 secret bytes (used for receipt-derived keys).
    pub(crate) fn from_bytes(bytes: &[u8; 32]) -> Result<Self, CryptoError> {
        let hrp = bech32::Hrp::parse("age-secret-key-").map_err(|_| CryptoError::BadIdentity)?;
        let encoded = Zeroizing::new(
            bech32::encode::<bech32::Bech32>(hrp, bytes).map_err(|_| CryptoError::BadIdentity)?,
        );
        let upper = Zeroizing::new(encoded.to_uppercase());
        age::x25519::Identity::from_str(&upper)
            .map(Self)
            .map_err(|_| CryptoError::BadIdentity)
    }

    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.to_public())
    }

    /// The identity in age's identity-file format (one line and a newline). The caller
    /// decides where this may go: a 0600 key file, or the plaintext of a wrap.
    pub fn to_identity_file(&self) -> Zeroizing<String> {
        Zeroizing::new(format!("{}\n", self.0.to_string().expose_secret()))
    }

    pub(crate) fn as_age(&self) -> &age::x25519::Identity {
        &self.0
    }
}

impl fmt::Debug for SecretIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretIdentity(<redacted>, public: {})", self.0.to_public())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_file_round_trips_and_debug_is_redacted() {
        let id = SecretIdentity::generate();
        let file = id.to_identity_file();
        let back = SecretIdentity::parse(&format!("# created: now\n{}", file.as_str())).unwrap();
        assert_eq!(back.public(), id.public());
        let dbg = format!("{id:?}");
        assert!(!dbg.contains("AGE-SECRET-KEY"), "{dbg}");
        assert!(dbg.contains("redacted"));
    }

    #[test]
    fn from_bytes_is_deterministic() {
        let a = SecretIdentity::from_bytes(&[7; 32]).unwrap();
        let b = SecretIdentity::from_bytes(&[7; 32]).unwrap();
        assert_eq!(a.public(), b.public());
        assert_ne!(a.public(), SecretIdentity::from_bytes(&[8; 32]).unwrap().public());
    }

    #[test]
    fn rejects_garbage() {
        assert!(SecretIdentity::parse("").is_err());
        assert!(SecretIdentity::parse("AGE-SECRET-KEY-1NOPE").is_err());
        assert!(PublicKey::parse("age1nope").is_err());
        let id = SecretIdentity::generate();
        let two = format!(
            "{}{}",
            id.to_identity_file().as_str(),
            id.to_identity_file().as_str()
        );
        assert!(SecretIdentity::parse(&two).is_err());
    }
}
