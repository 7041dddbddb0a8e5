//! A key that lives only in a browser's cookie (a portal session, a form kept across a
//! login). Its hash finds the row the server keeps, and what that row must keep secret
//! (an unlocked identity, the text of a form) is sealed, as standard age, to the X25519
//! identity the key's bytes make. So a copy of the database holds rows that nothing in
//! the database or on the server opens: the other half is in the browser.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::{CryptoError, SecretIdentity, open, seal};

/// 32 random bytes, held by the browser only. Zeroized on drop; never displayed.
pub struct CookieKey {
    bytes: Zeroizing<[u8; 32]>,
}

impl CookieKey {
    pub fn generate() -> Self {
        Self {
            bytes: Zeroizing::new(rand::random()),
        }
    }

    /// The key from a cookie's value; `None` for anything that cannot be one.
    pub fn from_cookie(value: &str) -> Option<Self> {
        let raw = Zeroizing::new(B64.decode(value.trim()).ok()?);
        let bytes: [u8; 32] = raw.as_slice().try_into().ok()?;
        Some(Self {
            bytes: Zeroizing::new(bytes),
        })
    }

    /// The value to set in the cookie.
    pub fn cookie_value(&self) -> Zeroizing<String> {
        Zeroizing::new(B64.encode(self.bytes.as_slice()))
    }

    /// What the server stores to find its row: a hash, from which the key cannot be
    /// recovered.
    pub fn lookup(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(b"redress/cookie-key/lookup/v1\0");
        h.update(self.bytes.as_slice());
        h.finalize().into()
    }

    fn identity(&self) -> Result<SecretIdentity, CryptoError> {
        let derived = Zeroizing::new(crate::hmac_sha256(
            self.bytes.as_slice(),
            &[b"redress/cookie-key/x25519/v1"],
        ));
        SecretIdentity::from_bytes(&derived)
    }

    /// Seals `plaintext` so that only this key opens it.
    pub fn seal(&self, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        seal(&[&self.identity()?.public()], plaintext)
    }

    pub fn open(&self, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        open(&self.identity()?, sealed)
    }
}

impl fmt::Debug for CookieKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CookieKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cookie_key_finds_its_row_and_alone_opens_what_it_sealed() {
        let key = CookieKey::generate();
        let sealed = key.seal(b"an unlocked identity").unwrap();
        assert!(sealed.starts_with(b"age-encryption.org/v1\n"), "standard age");
        let back = CookieKey::from_cookie(&key.cookie_value()).unwrap();
        assert_eq!(back.lookup(), key.lookup());
        assert_eq!(back.open(&sealed).unwrap().as_slice(), b"an unlocked identity");

        let other = CookieKey::generate();
        assert_ne!(other.lookup(), key.lookup());
        assert!(other.open(&sealed).is_err(), "another browser's key");
        // The stored lookup value is not a key that opens anything.
        let as_key = CookieKey::from_cookie(&B64.encode(key.lookup())).unwrap();
        assert!(as_key.open(&sealed).is_err());
        let mut tampered = sealed.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert!(key.open(&tampered).is_err());
    }

    #[test]
    fn only_32_bytes_of_base64_are_a_key_and_it_never_shows() {
        for bad in [
            "",
            "short",
            "not base64 at all!",
            &B64.encode([0u8; 31]),
            &B64.encode([0u8; 33]),
        ] {
            assert!(CookieKey::from_cookie(bad).is_none(), "{bad:?}");
        }
        let key = CookieKey::generate();
        assert_eq!(format!("{key:?}"), "CookieKey(<redacted>)");
        assert_eq!(key.cookie_value().len(), 43);
    }
}
