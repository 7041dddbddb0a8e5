//! One-time tokens in links (a portal setup link): 32 random bytes in hex, of which only
//! the SHA-256 is stored, so a copy of the database holds no usable link. And the hash
//! failed logins of an address are counted under.

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// A new token and the hash to store for it.
pub fn new_link_token() -> (Zeroizing<String>, [u8; 32]) {
    let bytes: Zeroizing<[u8; 32]> = Zeroizing::new(rand::random());
    let token = Zeroizing::new(hex::encode(bytes.as_slice()));
    let hash = link_token_hash(&token);
    (token, hash)
}

/// The stored form of a token, as received in a link.
pub fn link_token_hash(token: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"redress/link-token/v1\0");
    h.update(token.trim().as_bytes());
    h.finalize().into()
}

/// What failed logins of an address are counted under: a hash of the address as
/// typed (trimmed, lower case), whether or not an account has it, so an unknown address
/// is slowed and locked exactly as a known one is.
pub fn login_guard_key(email: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"redress/login-guard/v1\0");
    h.update(email.trim().to_lowercase().as_bytes());
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_fresh_and_only_their_hash_is_kept() {
        let (a, hash) = new_link_token();
        let (b, _) = new_link_token();
        assert_eq!(a.len(), 64);
        assert_ne!(*a, *b);
        assert_eq!(link_token_hash(&a), hash);
        let pasted = format!(" {}\n", a.as_str());
        assert_eq!(link_token_hash(&pasted), hash, "spaces around a pasted token");
        assert_ne!(link_token_hash(&b), hash);
    }

    #[test]
    fn an_address_is_guarded_however_it_is_typed() {
        let key = login_guard_key("ana@example.org");
        assert_eq!(login_guard_key("  Ana@Example.ORG "), key);
        assert_ne!(login_guard_key("ana@example.net"), key);
        assert_ne!(key, link_token_hash("ana@example.org"), "a tag of its own");
    }
}
