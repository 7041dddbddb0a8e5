use zeroize::Zeroizing;

use crate::{CsrfKeys, FlashSealer, derive_key};

/// A door's web secret and, after a rotation, the one before it (ADR 0031). Every key
/// a door signs or seals with is derived from it here, so that whatever the previous
/// secret made, each of them still accepts.
pub struct WebSecrets {
    current: Zeroizing<Vec<u8>>,
    previous: Option<Zeroizing<Vec<u8>>>,
}

impl std::fmt::Debug for WebSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebSecrets(<redacted>)")
    }
}

impl WebSecrets {
    pub fn new(current: &[u8], previous: Option<&[u8]>) -> Self {
        Self {
            current: Zeroizing::new(current.to_vec()),
            previous: previous.map(|p| Zeroizing::new(p.to_vec())),
        }
    }

    /// CSRF keys for `purpose`: tokens signed with the current secret's key, checked
    /// against both.
    pub fn csrf_keys(&self, purpose: &str) -> CsrfKeys {
        let (current, previous) = self.keys(purpose);
        CsrfKeys::new(current, previous)
    }

    /// A sealer for `purpose`: sealing with the current secret's key, opening with both.
    pub fn flash_sealer(&self, purpose: &str) -> FlashSealer {
        let (current, previous) = self.keys(purpose);
        FlashSealer::new(current, previous)
    }

    fn keys(&self, purpose: &str) -> ([u8; 32], Option<[u8; 32]>) {
        (
            derive_key(&self.current, purpose),
            self.previous.as_ref().map(|p| derive_key(p, purpose)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CsrfCheck;

    #[test]
    fn what_the_previous_secret_made_is_accepted_and_nothing_older() {
        let first = WebSecrets::new(b"first secret", None);
        let token = first.csrf_keys("csrf").issue(None, 1000);
        let sealed = first
            .flash_sealer("flash")
            .seal("receipt", b"words", 2000)
            .unwrap();

        let rotated = WebSecrets::new(b"second secret", Some(b"first secret"));
        let check = |secrets: &WebSecrets| {
            secrets
                .csrf_keys("csrf")
                .check(Some(&token.cookie), Some(&token.field), 1001, 3600)
        };
        assert_eq!(check(&rotated), CsrfCheck::Valid);
        assert!(
            rotated
                .flash_sealer("flash")
                .open("receipt", &sealed, 1001)
                .is_ok()
        );
        assert_eq!(
            rotated
                .csrf_keys("other")
                .check(Some(&token.cookie), Some(&token.field), 1001, 3600),
            CsrfCheck::Invalid,
            "keys stay bound to their purpose"
        );

        let again = WebSecrets::new(b"third secret", Some(b"second secret"));
        assert_eq!(check(&again), CsrfCheck::Invalid);
        assert!(
            again
                .flash_sealer("flash")
                .open("receipt", &sealed, 1001)
                .is_err()
        );
        assert_eq!(
            check(&WebSecrets::new(b"second secret", None)),
            CsrfCheck::Invalid
        );
    }
}
