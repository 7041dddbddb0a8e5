//! Keyed fingerprints for finding related cases without storing what they share.
//!
//! A fingerprint is HMAC-SHA-256(key, kind ‖ 0 ‖ normalised value) with a key only the
//! worker holds: the database shows which cases share a value, not the value, and
//! without the key nobody can test a guess against it.

use redress_domain::Answers;
use zeroize::Zeroizing;

pub const INDICATOR: &str = "indicator";
pub const CUSTOMER: &str = "customer";
pub const PRODUCT: &str = "product";
pub const COUNTRY: &str = "country";
pub const TARGET_GROUP: &str = "target_group";

/// The worker's fingerprint key.
pub struct FingerprintKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for FingerprintKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FingerprintKey(<redacted>)")
    }
}

impl FingerprintKey {
    pub fn new(bytes: [u8; 32]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    fn mac(&self, kind: &str, value: &str) -> String {
        let mac = redress_crypto::hmac_sha256(
            self.0.as_slice(),
            &[kind.as_bytes(), &[0], normalise(value).as_bytes()],
        );
        hex::encode(mac)
    }

    /// Every fingerprint of a case: (kind, fingerprint), deduplicated.
    pub fn of_case(&self, answers: &Answers, indicator_ids: &[String]) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        let mut push = |kind: &str, value: &str| {
            if normalise(value).is_empty() {
                return;
            }
            let fp = (kind.to_owned(), self.mac(kind, value));
            if !out.contains(&fp) {
                out.push(fp);
            }
        };
        for id in indicator_ids {
            push(INDICATOR, id);
        }
        if let Some(c) = answers.suspected_customer() {
            push(CUSTOMER, c);
        }
        push(PRODUCT, answers.product());
        if let Some(c) = answers.country() {
            push(COUNTRY, c);
        }
        for g in answers.targeted() {
            push(TARGET_GROUP, g.as_str());
        }
        out
    }
}

/// Case-insensitive, whitespace-folded.
fn normalise(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

/// Whether sharing these kinds makes two cases related: one strong feature (an
/// indicator or the suspected customer) or two weak ones (product, country, target
/// group) — a single weak one would link nearly every case.
pub fn related(shared: &[String]) -> bool {
    let strong = shared.iter().any(|k| k == INDICATOR || k == CUSTOMER);
    let weak = shared
        .iter()
        .filter(|k| [PRODUCT, COUNTRY, TARGET_GROUP].contains(&k.as_str()))
        .count();
    strong || weak >= 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_values_match_across_spelling_and_keys_differ() {
        let k = FingerprintKey::new([1; 32]);
        assert_eq!(
            k.mac(CUSTOMER, "Ministry  of Example"),
            k.mac(CUSTOMER, " ministry of example ")
        );
        assert_ne!(
            k.mac(CUSTOMER, "Ministry of Example"),
            k.mac(COUNTRY, "Ministry of Example")
        );
        assert_ne!(
            k.mac(CUSTOMER, "x"),
            FingerprintKey::new([2; 32]).mac(CUSTOMER, "x")
        );
        assert!(!k.mac(CUSTOMER, "Ministry").contains("inistry"));
    }

    #[test]
    fn relatedness_needs_a_strong_or_two_weak_features() {
        let v = |k: &[&str]| k.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(related(&v(&[INDICATOR])));
        assert!(related(&v(&[CUSTOMER])));
        assert!(related(&v(&[PRODUCT, COUNTRY])));
        assert!(!related(&v(&[TARGET_GROUP])));
        assert!(!related(&v(&[])));
    }
}
