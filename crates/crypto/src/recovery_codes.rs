//! One-time recovery codes for a portal account that lost its authenticator: ten codes,
//! shown once at setup, each standing in for one TOTP code (the password is still
//! needed). A code is 16 base32 characters (80 bits) in four groups; only its SHA-256 is
//! stored, which at 80 bits is as good as any slower hash, and a code is used up by
//! deleting its hash.

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// Codes made at setup.
pub const RECOVERY_CODES: usize = 10;

const CODE_CHARS: usize = 16;

/// Ten fresh codes to show, and the hashes to store.
pub fn new_recovery_codes() -> (Vec<Zeroizing<String>>, Vec<[u8; 32]>) {
    (0..RECOVERY_CODES)
        .map(|_| {
            let bytes: Zeroizing<[u8; 10]> = Zeroizing::new(rand::random());
            let plain = Zeroizing::new(data_encoding::BASE32_NOPAD.encode(bytes.as_slice()));
            let grouped: Vec<&str> = (0..CODE_CHARS / 4).map(|i| &plain[i * 4..i * 4 + 4]).collect();
            let code = Zeroizing::new(grouped.join("-"));
            let hash = hash_of(&plain);
            (code, hash)
        })
        .unzip()
}

/// The stored form of a code as typed, forgiving case, spaces and dashes; `None` for
/// what cannot be a code.
pub fn recovery_code_hash(typed: &str) -> Option<[u8; 32]> {
    let plain: Zeroizing<String> = Zeroizing::new(
        typed
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .map(|c| c.to_ascii_uppercase())
            .collect(),
    );
    let valid = plain.len() == CODE_CHARS && data_encoding::BASE32_NOPAD.decode(plain.as_bytes()).is_ok();
    valid.then(|| hash_of(&plain))
}

fn hash_of(plain: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"redress/recovery-code/v1\0");
    h.update(plain.as_bytes());
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_distinct_codes_each_found_by_its_hash_however_typed() {
        let (codes, hashes) = new_recovery_codes();
        assert_eq!((codes.len(), hashes.len()), (RECOVERY_CODES, RECOVERY_CODES));
        let mut unique = hashes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), RECOVERY_CODES);
        for (code, hash) in codes.iter().zip(&hashes) {
            assert_eq!(code.len(), 19, "four groups of four: {}", code.as_str());
            assert_eq!(recovery_code_hash(code), Some(*hash));
            let sloppy = format!("  {} ", code.to_lowercase().replace('-', " "));
            assert_eq!(recovery_code_hash(&sloppy), Some(*hash));
        }
        // Another code, or not a code at all, matches nothing.
        let other = new_recovery_codes().1;
        assert!(other.iter().all(|h| !hashes.contains(h)));
        for not_a_code in ["", "ABCD-EFGH", "ABCD-EFGH-IJKL-MNO1", "ABCD-EFGH-IJKL-MNOPQ"] {
            assert_eq!(recovery_code_hash(not_a_code), None, "{not_a_code:?}");
        }
    }
}
