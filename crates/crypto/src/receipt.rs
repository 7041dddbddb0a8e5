use std::fmt;

use hkdf::Hkdf;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::{CryptoError, SecretIdentity};

/// Words in a receipt. BIP-39's English list has 2,048 words (11 bits each), so eight
/// words carry 88 bits. Every word is fixed by its first four letters, which lets a
/// reporter type a receipt back with typos past the fourth letter.
pub const RECEIPT_WORDS: usize = 8;
const PREFIX_LEN: usize = 4;

fn word_list() -> &'static [&'static str; 2048] {
    bip39::Language::English.word_list()
}

/// The secret a reporter writes down. Shown once, never stored, logged or displayed by
/// `Display`; `Debug` is redacted.
#[derive(Clone)]
pub struct Receipt(Zeroizing<String>);

impl Receipt {
    /// A fresh receipt from the operating system's random source.
    pub fn generate() -> Self {
        let mut rng = rand::rngs::OsRng;
        let words: Vec<&str> = (0..RECEIPT_WORDS)
            // 2,048 is a power of two, so masking is uniform.
            .map(|_| word_list()[(rng.next_u32() & 0x7ff) as usize])
            .collect();
        Self(Zeroizing::new(words.join(" ")))
    }

    /// Reads a receipt as typed back: any case, any spacing or hyphens, and each word may
    /// be given by its first four letters. Returns `None` if it is not a receipt.
    pub fn parse(input: &str) -> Option<Self> {
        let lowered = Zeroizing::new(input.to_lowercase());
        let mut words = Vec::with_capacity(RECEIPT_WORDS);
        for token in lowered.split(|c: char| c.is_whitespace() || c == '-' || c == ',' || c == '.') {
            if token.is_empty() {
                continue;
            }
            words.push(resolve_word(token)?);
        }
        (words.len() == RECEIPT_WORDS).then(|| Self(Zeroizing::new(words.join(" "))))
    }

    /// The canonical form: lower-case words separated by single spaces.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

fn resolve_word(token: &str) -> Option<&'static str> {
    let list = word_list();
    if let Ok(i) = list.binary_search(&token) {
        return Some(list[i]);
    }
    if token.chars().count() < PREFIX_LEN {
        return None;
    }
    let prefix: String = token.chars().take(PREFIX_LEN).collect();
    list.iter().find(|w| w.starts_with(prefix.as_str())).copied()
}

impl fmt::Debug for Receipt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Receipt(<redacted>)")
    }
}

/// Argon2id cost parameters, stored with every record that used them so they can be
/// raised later without locking anyone out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KdfParams {
    /// Memory in KiB.
    pub m_kib: u32,
    /// Passes.
    pub t: u32,
    /// Lanes.
    pub p: u32,
}

impl Default for KdfParams {
    /// 64 MiB, three passes, one lane: above OWASP's 2023 Argon2id guidance.
    fn default() -> Self {
        Self {
            m_kib: 64 * 1024,
            t: 3,
            p: 1,
        }
    }
}

impl KdfParams {
    /// The weakest parameters Argon2 accepts. Only for tests: a receipt protected with
    /// these can be brute-forced.
    pub fn danger_test_minimum() -> Self {
        Self { m_kib: 8, t: 1, p: 1 }
    }

    /// Refuses parameters below the production floor unless `allow_weak` (tests only).
    pub fn check(&self, allow_weak: bool) -> Result<(), CryptoError> {
        self.argon2_params()?;
        let floor = Self::default();
        if !allow_weak && (self.m_kib < floor.m_kib || self.t < floor.t) {
            return Err(CryptoError::KdfParams(format!(
                "at least m_kib = {} and t = {} are required",
                floor.m_kib, floor.t
            )));
        }
        Ok(())
    }

    fn argon2_params(&self) -> Result<argon2::Params, CryptoError> {
        argon2::Params::new(self.m_kib, self.t, self.p, Some(32))
            .map_err(|e| CryptoError::KdfParams(e.to_string()))
    }
}

/// What a receipt unlocks: a lookup value that finds the record, and the reporter's
/// X25519 identity, to which the case's thread key is wrapped. The two are independent
/// HKDF outputs, so the stored lookup value says nothing about the identity.
#[derive(Debug)]
pub struct ReceiptKeys {
    pub lookup: [u8; 32],
    pub identity: SecretIdentity,
}

/// Argon2id(receipt, salt) → HKDF-SHA-256 → (lookup, identity).
pub fn derive_receipt_keys(
    receipt: &Receipt,
    salt: &[u8],
    params: &KdfParams,
) -> Result<ReceiptKeys, CryptoError> {
    let [lookup, secret] = argon2id_hkdf(
        receipt.expose().as_bytes(),
        salt,
        params,
        [b"redress/receipt/lookup/v1", b"redress/receipt/x25519/v1"],
    )?;
    Ok(ReceiptKeys {
        lookup: *lookup,
        identity: SecretIdentity::from_bytes(&secret)?,
    })
}

/// Argon2id(`secret`, `salt`) to a master key, then one independent HKDF-SHA-256 output
/// of 32 bytes per label: the one derivation behind receipts and passwords.
pub(crate) fn argon2id_hkdf<const N: usize>(
    secret: &[u8],
    salt: &[u8],
    params: &KdfParams,
    labels: [&[u8]; N],
) -> Result<[Zeroizing<[u8; 32]>; N], CryptoError> {
    let argon = argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        params.argon2_params()?,
    );
    let mut master = Zeroizing::new([0u8; 32]);
    argon
        .hash_password_into(secret, salt, master.as_mut_slice())
        .map_err(|_| CryptoError::Kdf)?;
    let hk = Hkdf::<Sha256>::new(None, master.as_slice());
    let mut out: [Zeroizing<[u8; 32]>; N] = std::array::from_fn(|_| Zeroizing::new([0u8; 32]));
    for (label, key) in labels.iter().zip(out.iter_mut()) {
        hk.expand(label, key.as_mut_slice())
            .map_err(|_| CryptoError::Kdf)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receipts_have_enough_entropy_and_are_words() {
        let r = Receipt::generate();
        let words: Vec<_> = r.expose().split(' ').collect();
        assert_eq!(words.len(), RECEIPT_WORDS);
        assert!(words.iter().all(|w| word_list().contains(w)));
        // 8 words x 11 bits
        assert!((RECEIPT_WORDS as f64) * (word_list().len() as f64).log2() >= 80.0);
        assert_ne!(Receipt::generate().expose(), r.expose());
        assert_eq!(format!("{r:?}"), "Receipt(<redacted>)");
    }

    #[test]
    fn parse_is_forgiving_but_exact() {
        let r = Receipt::generate();
        let shouty: String = r.expose().to_uppercase().replace(' ', "  -\n ");
        assert_eq!(Receipt::parse(&shouty).unwrap().expose(), r.expose());
        let prefixes: Vec<String> = r
            .expose()
            .split(' ')
            .map(|w| w.chars().take(4).collect())
            .collect();
        assert_eq!(Receipt::parse(&prefixes.join(" ")).unwrap().expose(), r.expose());
        let seven: Vec<&str> = r.expose().split(' ').take(7).collect();
        assert!(Receipt::parse(&seven.join(" ")).is_none());
        assert!(Receipt::parse("zzzz zzzz zzzz zzzz zzzz zzzz zzzz zzzz").is_none());
    }

    /// Receipts already given out must keep opening their cases: the derivation's output
    /// is fixed, checked against values computed before the derivation was shared with
    /// passwords.
    #[test]
    fn a_known_receipt_derives_what_it_always_did() {
        let r = Receipt::parse("abandon ability able about above absent absorb abstract").unwrap();
        let k = derive_receipt_keys(&r, b"kat-salt-16bytes", &KdfParams::danger_test_minimum()).unwrap();
        let lookup: String = k.lookup.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            lookup,
            "cec65c1f65021128e7f76301b5b1bed01c8be05a46e3cb3d798de82513563893"
        );
        assert_eq!(
            k.identity.public().to_string(),
            "age1w7qr3yt8jjk8f0lmlm7q98rrgz7a2v6zt2upcmelx4m0g59tv5wshqz45r"
        );
    }

    #[test]
    fn derivation_is_deterministic_and_separates_receipts_and_salts() {
        let p = KdfParams::danger_test_minimum();
        let r = Receipt::generate();
        let a = derive_receipt_keys(&r, b"salt-salt-salt-1", &p).unwrap();
        let b = derive_receipt_keys(&r, b"salt-salt-salt-1", &p).unwrap();
        assert_eq!(a.lookup, b.lookup);
        assert_eq!(a.identity.public(), b.identity.public());
        let other_salt = derive_receipt_keys(&r, b"salt-salt-salt-2", &p).unwrap();
        assert_ne!(a.lookup, other_salt.lookup);
        let other = derive_receipt_keys(&Receipt::generate(), b"salt-salt-salt-1", &p).unwrap();
        assert_ne!(a.lookup, other.lookup);
        assert_ne!(a.identity.public(), other.identity.public());
    }

    #[test]
    fn weak_parameters_need_the_test_flag() {
        assert!(KdfParams::danger_test_minimum().check(false).is_err());
        assert!(KdfParams::danger_test_minimum().check(true).is_ok());
        assert!(KdfParams::default().check(false).is_ok());
        assert!(KdfParams { m_kib: 1, t: 1, p: 1 }.check(true).is_err());
    }
}
