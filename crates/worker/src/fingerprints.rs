//! Keyed fingerprints for finding related cases without storing what they share.
//!
//! A fingerprint is HMAC-SHA-256(key, kind ‖ 0 ‖ normalised value) with a key only the
//! worker holds: the database shows which cases share a value, not the value, and
//! without the key nobody can test a guess against it.
//!
//! Two kinds are selective and link cases: an indicator and the suspected customer.
//! Product, country and target group are broad (most reports name the main product and
//! "a journalist"): they are fingerprinted alone and in combination only to count how
//! many other cases share them (ADR 0016).

use redress_domain::Answers;
use zeroize::Zeroizing;

pub const INDICATOR: &str = "indicator";
pub const CUSTOMER: &str = "customer";
pub const PRODUCT: &str = "product";
pub const COUNTRY: &str = "country";
pub const TARGET_GROUP: &str = "target_group";

/// The broad kinds, in the order their combinations are named (`product+country`).
const BROAD: [&str; 3] = [PRODUCT, COUNTRY, TARGET_GROUP];

/// One thing a case names, fingerprinted. `values` are the case's own words and never
/// leave the worker's memory except inside the case's sealed summary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Feature {
    /// `indicator`, `customer`, or one or more broad kinds joined by `+`.
    pub kind: String,
    pub fingerprint: String,
    pub values: Vec<String>,
}

impl Feature {
    /// Whether sharing this links two cases.
    pub fn is_selective(&self) -> bool {
        self.kind == INDICATOR || self.kind == CUSTOMER
    }

    /// The kinds it stands for: `product+country` is `[product, country]`.
    pub fn kinds(&self) -> Vec<String> {
        self.kind.split('+').map(str::to_owned).collect()
    }

    /// What is stored: (kind, fingerprint).
    pub fn stored(&self) -> (String, String) {
        (self.kind.clone(), self.fingerprint.clone())
    }
}

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

    fn mac(&self, kind: &str, parts: &[&str]) -> String {
        let mut input: Vec<&[u8]> = vec![kind.as_bytes()];
        for part in parts {
            input.extend([&[0u8][..], part.as_bytes()]);
        }
        hex::encode(redress_crypto::hmac_sha256(self.0.as_slice(), &input))
    }

    /// Every feature of a case, deduplicated: each indicator, the customer, each broad
    /// value, and each combination of broad values of two or three different kinds.
    pub fn of_case(&self, answers: &Answers, indicator_ids: &[String]) -> Vec<Feature> {
        let mut out: Vec<Feature> = Vec::new();
        let mut singles = |kind: &str, values: Vec<&str>| -> Vec<String> {
            let mut kept = Vec::new();
            for value in values {
                let value = normalise(value);
                if !value.is_empty() && !kept.contains(&value) {
                    kept.push(value);
                }
            }
            for value in &kept {
                out.push(Feature {
                    kind: kind.to_owned(),
                    fingerprint: self.mac(kind, &[value]),
                    values: vec![value.clone()],
                });
            }
            kept
        };
        singles(INDICATOR, indicator_ids.iter().map(String::as_str).collect());
        singles(CUSTOMER, answers.suspected_customer().into_iter().collect());
        let broad = [
            singles(PRODUCT, vec![answers.product()]),
            singles(COUNTRY, answers.country().into_iter().collect()),
            singles(
                TARGET_GROUP,
                answers.targeted().iter().map(|g| g.as_str()).collect(),
            ),
        ];
        for combination in combinations(&broad) {
            let kind = combination
                .iter()
                .map(|&(k, _)| BROAD[k])
                .collect::<Vec<_>>()
                .join("+");
            let values: Vec<String> = combination.iter().map(|(_, v)| v.clone()).collect();
            let parts: Vec<&str> = values.iter().map(String::as_str).collect();
            out.push(Feature {
                fingerprint: self.mac(&kind, &parts),
                kind,
                values,
            });
        }
        out
    }
}

/// Every choice of one value from each of two or more kinds, as (kind index, value).
fn combinations(broad: &[Vec<String>; 3]) -> Vec<Vec<(usize, String)>> {
    let mut all: Vec<Vec<(usize, String)>> = vec![Vec::new()];
    for (k, values) in broad.iter().enumerate() {
        let mut next = all.clone(); // without a value of this kind
        for partial in &all {
            for v in values {
                let mut with = partial.clone();
                with.push((k, v.clone()));
                next.push(with);
            }
        }
        all = next;
    }
    all.retain(|c| c.len() >= 2);
    all
}

/// Case-insensitive, whitespace-folded.
fn normalise(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_values_match_across_spelling_and_keys_differ() {
        let k = FingerprintKey::new([1; 32]);
        let mac = |k: &FingerprintKey, kind, v: &str| k.mac(kind, &[&normalise(v)]);
        assert_eq!(
            mac(&k, CUSTOMER, "Ministry  of Example"),
            mac(&k, CUSTOMER, " ministry of example ")
        );
        assert_ne!(
            mac(&k, CUSTOMER, "Ministry of Example"),
            mac(&k, COUNTRY, "Ministry of Example")
        );
        assert_ne!(
            mac(&k, CUSTOMER, "x"),
            mac(&FingerprintKey::new([2; 32]), CUSTOMER, "x")
        );
        assert!(!mac(&k, CUSTOMER, "Ministry").contains("inistry"));
        // Parts are separated: ("ab", "c") is not ("a", "bc").
        assert_ne!(k.mac(PRODUCT, &["ab", "c"]), k.mac(PRODUCT, &["a", "bc"]));
    }

    #[test]
    fn broad_values_combine_across_kinds_only() {
        let broad = [
            vec!["implant".to_owned()],
            vec!["france".to_owned()],
            vec!["journalist".to_owned(), "lawyer".to_owned()],
        ];
        let mut names: Vec<String> = combinations(&broad)
            .iter()
            .map(|c| {
                c.iter()
                    .map(|(k, v)| format!("{}={v}", BROAD[*k]))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "country=france target_group=journalist",
                "country=france target_group=lawyer",
                "product=implant country=france",
                "product=implant country=france target_group=journalist",
                "product=implant country=france target_group=lawyer",
                "product=implant target_group=journalist",
                "product=implant target_group=lawyer",
            ]
        );
        // No country: no combination names one.
        let none = [vec!["implant".to_owned()], vec![], vec!["journalist".to_owned()]];
        assert_eq!(combinations(&none).len(), 1);
    }
}
