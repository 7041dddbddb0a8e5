use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Internal identifier of a case. Random, so it reveals neither volume nor order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CaseId(Uuid);

impl CaseId {
    pub fn random() -> Self {
        Self(Uuid::new_v4())
    }

    pub fn parse(s: &str) -> Option<Self> {
        Uuid::parse_str(s).ok().map(Self)
    }
}

impl fmt::Display for CaseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Identifier of a stored (encrypted) object: the submission document or an evidence file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ObjectId(Uuid);

impl ObjectId {
    pub fn random() -> Self {
        Self(Uuid::new_v4())
    }

    /// Parses the canonical hyphenated lower-case form only, so that an id taken from a
    /// file name maps to exactly one string.
    pub fn parse(s: &str) -> Option<Self> {
        let id = Uuid::parse_str(s).ok()?;
        (id.hyphenated().to_string() == s).then_some(Self(id))
    }
}

impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// What a stored object is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectKind {
    /// The questionnaire answers and the evidence manifest, sealed to the thread key.
    Submission,
    /// One evidence file as the reporter sent it, sealed to the thread key.
    Evidence,
    /// A metadata-scrubbed rendition of an evidence file, sealed to the case key.
    Scrubbed,
    /// The triage worker's findings (score, reasons, indicators, custody), sealed to the
    /// case key: never to the thread key the reporter can read.
    TriageSummary,
}

impl ObjectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Submission => "submission",
            Self::Evidence => "evidence",
            Self::Scrubbed => "scrubbed",
            Self::TriageSummary => "triage_summary",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "submission" => Some(Self::Submission),
            "evidence" => Some(Self::Evidence),
            "scrubbed" => Some(Self::Scrubbed),
            "triage_summary" => Some(Self::TriageSummary),
            _ => None,
        }
    }
}

/// Human-friendly case reference shown to reporters and investigators, e.g. `RD-7K3M-Q9XA`.
/// Random (40 bits), never sequential, so it leaks no count of reports.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CaseRef(String);

/// Crockford base32: no I, L, O, U, so a reference is easy to read aloud and copy.
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

impl CaseRef {
    /// Builds a reference from 40 random bits supplied by the caller.
    pub fn from_random(bits: [u8; 5]) -> Self {
        let mut n = bits.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        let mut chars = [0u8; 8];
        for c in chars.iter_mut().rev() {
            *c = CROCKFORD[(n & 31) as usize];
            n >>= 5;
        }
        let s = String::from_utf8_lossy(&chars);
        Self(format!("RD-{}-{}", &s[..4], &s[4..]))
    }

    pub fn parse(s: &str) -> Option<Self> {
        let upper = s.trim().to_ascii_uppercase();
        let rest = upper.strip_prefix("RD-")?;
        let (a, b) = rest.split_once('-')?;
        let ok = |p: &str| p.len() == 4 && p.bytes().all(|c| CROCKFORD.contains(&c));
        (ok(a) && ok(b)).then_some(Self(upper))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CaseRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a case is in its life (ISO 37002: receive → assess → address → conclude).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseState {
    Received,
    Acknowledged,
    Assessed,
    Investigating,
    Concluded,
    FeedbackGiven,
    Closed,
    Purged,
}

impl CaseState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::Acknowledged => "acknowledged",
            Self::Assessed => "assessed",
            Self::Investigating => "investigating",
            Self::Concluded => "concluded",
            Self::FeedbackGiven => "feedback_given",
            Self::Closed => "closed",
            Self::Purged => "purged",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Received,
            Self::Acknowledged,
            Self::Assessed,
            Self::Investigating,
            Self::Concluded,
            Self::FeedbackGiven,
            Self::Closed,
            Self::Purged,
        ]
        .into_iter()
        .find(|state| state.as_str() == s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_ref_round_trips_and_rejects_ambiguous_letters() {
        let r = CaseRef::from_random([0xde, 0xad, 0xbe, 0xef, 0x01]);
        assert_eq!(r.as_str().len(), 12);
        assert_eq!(CaseRef::parse(&r.as_str().to_lowercase()), Some(r.clone()));
        assert_eq!(CaseRef::parse("RD-IIII-0000"), None);
        assert_eq!(CaseRef::parse("XX-0000-0000"), None);
    }

    #[test]
    fn object_id_accepts_only_canonical_form() {
        let id = ObjectId::random();
        assert_eq!(ObjectId::parse(&id.to_string()), Some(id));
        assert_eq!(ObjectId::parse(&id.to_string().to_uppercase()), None);
        assert_eq!(ObjectId::parse("../etc/passwd"), None);
    }

    #[test]
    fn case_state_names_round_trip() {
        for s in ["received", "feedback_given", "purged"] {
            assert_eq!(CaseState::parse(s).map(CaseState::as_str), Some(s));
        }
        assert_eq!(CaseState::parse("nope"), None);
    }
}
