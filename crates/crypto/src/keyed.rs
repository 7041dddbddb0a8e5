//! Keyed derivation: the one HMAC-SHA-256 that CSRF tokens, purpose-bound web keys and
//! related-case fingerprints use.

use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// SHA-256's block size: HMAC pads (or first hashes) its key to this length.
const BLOCK: usize = 64;

/// HMAC-SHA-256 of the concatenation of `parts` under `key`.
///
/// HMAC is defined for keys of any length, so this cannot fail: the key is brought to
/// the block size exactly as RFC 2104 says (hashed if longer, zero-padded), which makes
/// the result identical to `Hmac::new_from_slice(key)` without an error path that would
/// need a fallback value.
pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut block = Zeroizing::new([0u8; BLOCK]);
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let key_block: &[u8; BLOCK] = &block;
    let mut mac = <Hmac<Sha256> as KeyInit>::new(key_block.into());
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equals_the_standard_construction_for_every_key_length() {
        for len in [0, 1, 32, 63, 64, 65, 100, 200] {
            let key: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let mut reference = <Hmac<Sha256> as Mac>::new_from_slice(&key).unwrap();
            reference.update(b"redress/");
            reference.update(b"purpose");
            let expected: [u8; 32] = reference.finalize().into_bytes().into();
            assert_eq!(
                hmac_sha256(&key, &[b"redress/", b"purpose"]),
                expected,
                "key length {len}"
            );
        }
    }

    #[test]
    fn rfc_4231_test_case_2() {
        let out = hmac_sha256(b"Jefe", &[b"what do ya want ", b"for nothing?"]);
        assert_eq!(
            out.iter().map(|b| format!("{b:02x}")).collect::<String>(),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
