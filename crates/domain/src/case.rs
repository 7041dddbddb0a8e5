use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::names::named_enum;

/// Declares a random UUID identifier: canonical lower-case hyphenated text only, so an
/// id read from a file name or a column maps to exactly one value.
macro_rules! uuid_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(Uuid);

        impl $name {
            pub fn random() -> Self {
                Self(Uuid::new_v4())
            }

            /// Parses the canonical hyphenated lower-case form only.
            pub fn parse(s: &str) -> Option<Self> {
                let id = Uuid::parse_str(s).ok()?;
                (id.hyphenated().to_string() == s).then_some(Self(id))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(s: String) -> Result<Self, IdError> {
                Self::parse(&s).ok_or(IdError(stringify!($name)))
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.to_string()
            }
        }
    };
}

/// Text that is not the canonical form of an identifier. The text is not repeated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a canonical {0}")]
pub struct IdError(&'static str);

uuid_id!(
    /// Internal identifier of a case. Random, so it reveals neither volume nor order.
    CaseId
);
uuid_id!(
    /// Identifier of a stored (encrypted) object: it is also the blob's name.
    ObjectId
);
uuid_id!(
    /// Identifier of an investigator: someone cases are routed to and wrapped for.
    InvestigatorId
);
uuid_id!(
    /// Identifier of a portal account (an investigator, an admin or an auditor).
    AccountId
);
uuid_id!(
    /// Identifier of a job in the queue.
    JobId
);
uuid_id!(
    /// Identifier of a customer in the register. Random, so it orders and dates nothing.
    CustomerId
);

named_enum! {
    /// What a stored object is.
    pub enum ObjectKind {
        /// The questionnaire answers and the evidence manifest, sealed to the thread key.
        Submission = "submission",
        /// One evidence file as the reporter sent it, sealed to the thread key.
        Evidence = "evidence",
        /// A metadata-scrubbed rendition of an evidence file, sealed to the case key.
        Scrubbed = "scrubbed",
        /// The triage worker's findings (score, reasons, indicators, custody), sealed to
        /// the case key: never to the thread key the reporter can read.
        TriageSummary = "triage_summary",
    }
}

impl ObjectKind {
    /// Which of the case's keys the object is sealed to.
    pub fn sealed_to(self) -> SealedTo {
        match self {
            Self::Submission | Self::Evidence => SealedTo::Thread,
            Self::Scrubbed | Self::TriageSummary => SealedTo::Case,
        }
    }
}

named_enum! {
    /// Which of a case's two keys an object is sealed to.
    pub enum SealedTo {
        /// What the reporter may read.
        Thread = "thread",
        /// Internal: investigators (and recovery) only.
        Case = "case",
    }
}

named_enum! {
    /// Which of a case's two secrets a wrap holds.
    pub enum KeyKind {
        Case = "case",
        Thread = "thread",
    }
}

named_enum! {
    /// The kind of holder a wrap is made to.
    pub enum HolderKind {
        Triage = "triage",
        Recovery = "recovery",
        Investigator = "investigator",
        /// The thread secret, wrapped to the case key.
        CaseKey = "case_key",
        /// The thread secret, wrapped to the receipt-derived key.
        Reporter = "reporter",
    }
}

/// Who holds a copy of one of a case's secrets (docs/DESIGN.md, "Keys and what each can
/// open"). The holder decides which secret: the case key's holders are triage, recovery
/// and assigned investigators; the thread key's are the case key and the reporter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Holder {
    Triage,
    Recovery,
    Investigator(InvestigatorId),
    CaseKey,
    Reporter,
}

impl Holder {
    pub fn kind(self) -> HolderKind {
        match self {
            Self::Triage => HolderKind::Triage,
            Self::Recovery => HolderKind::Recovery,
            Self::Investigator(_) => HolderKind::Investigator,
            Self::CaseKey => HolderKind::CaseKey,
            Self::Reporter => HolderKind::Reporter,
        }
    }

    /// The secret this holder's wrap holds.
    pub fn key(self) -> KeyKind {
        match self {
            Self::Triage | Self::Recovery | Self::Investigator(_) => KeyKind::Case,
            Self::CaseKey | Self::Reporter => KeyKind::Thread,
        }
    }

    pub fn investigator(self) -> Option<InvestigatorId> {
        match self {
            Self::Investigator(id) => Some(id),
            _ => None,
        }
    }

    /// Rebuilds a holder from its stored parts; `None` if they do not fit together.
    pub fn from_parts(kind: HolderKind, investigator: Option<InvestigatorId>) -> Option<Self> {
        match (kind, investigator) {
            (HolderKind::Triage, None) => Some(Self::Triage),
            (HolderKind::Recovery, None) => Some(Self::Recovery),
            (HolderKind::Investigator, Some(id)) => Some(Self::Investigator(id)),
            (HolderKind::CaseKey, None) => Some(Self::CaseKey),
            (HolderKind::Reporter, None) => Some(Self::Reporter),
            _ => None,
        }
    }
}

/// Human-friendly case reference shown to reporters and investigators, e.g. `RD-7K3M-Q9XA`.
/// Random (40 bits), never sequential, so it leaks no count of reports.
///
/// Stored and serialised in its canonical form only ([`CaseRef::parse_exact`]), so nothing
/// but a reference can pass through one (an email's subject, say); [`CaseRef::parse`]
/// forgives what a person typing it adds.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CaseRef(String);

/// Crockford base32: no I, L, O, U, so a reference is easy to read aloud and copy.
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// The input was not a case reference. It is not repeated here: it could be anything.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a case reference (expected RD-XXXX-XXXX in Crockford base32)")]
pub struct CaseRefError;

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

    /// Reads a reference as a person typed it: surrounding space and lower case forgiven.
    pub fn parse(s: &str) -> Option<Self> {
        Self::parse_exact(&s.trim().to_ascii_uppercase()).ok()
    }

    /// Accepts the canonical form only: `RD-`, then two groups of four Crockford base32
    /// characters.
    pub fn parse_exact(s: &str) -> Result<Self, CaseRefError> {
        let group = |g: &str| g.len() == 4 && g.bytes().all(|c| CROCKFORD.contains(&c));
        let well_formed = s
            .strip_prefix("RD-")
            .and_then(|rest| rest.split_once('-'))
            .is_some_and(|(a, b)| group(a) && group(b));
        if well_formed {
            Ok(Self(s.to_owned()))
        } else {
            Err(CaseRefError)
        }
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

impl std::str::FromStr for CaseRef {
    type Err = CaseRefError;
    fn from_str(s: &str) -> Result<Self, CaseRefError> {
        Self::parse_exact(s)
    }
}

impl TryFrom<String> for CaseRef {
    type Error = CaseRefError;
    fn try_from(s: String) -> Result<Self, CaseRefError> {
        Self::parse_exact(&s)
    }
}

impl From<CaseRef> for String {
    fn from(r: CaseRef) -> Self {
        r.0
    }
}

named_enum! {
    /// Where a case is in its life (ISO 37002: receive → assess → address → conclude).
    pub enum CaseState {
        Received = "received",
        Acknowledged = "acknowledged",
        Assessed = "assessed",
        Investigating = "investigating",
        Concluded = "concluded",
        FeedbackGiven = "feedback_given",
        Closed = "closed",
        Purged = "purged",
    }
}

impl CaseState {
    /// Still being worked on: counts toward an investigator's load.
    pub fn is_open(self) -> bool {
        !matches!(self, Self::Closed | Self::Purged)
    }
}

named_enum! {
    /// Triage priority, P1 most urgent. Stored in plain text so queues can be ordered;
    /// the reasons behind it are sealed in the triage summary (ADR 0012).
    pub enum Priority {
        P1 = "P1",
        P2 = "P2",
        P3 = "P3",
        P4 = "P4",
    }
}

named_enum! {
    /// How close a case is to the deadline that applies to it now.
    pub enum DeadlineFlag {
        Ok = "ok",
        DueSoon = "due_soon",
        Overdue = "overdue",
    }
}

impl DeadlineFlag {
    /// The flag of a deadline `due` at time `now`, "due soon" within `due_soon_secs`.
    pub fn of(due: i64, now: i64, due_soon_secs: i64) -> Self {
        if now > due {
            Self::Overdue
        } else if now >= due - due_soon_secs {
            Self::DueSoon
        } else {
            Self::Ok
        }
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
        assert_eq!(
            CaseRef::parse(" rd-0000-0000 ").map(|r| r.to_string()),
            Some("RD-0000-0000".into())
        );
        assert_eq!(CaseRef::parse("RD-IIII-0000"), None);
        assert_eq!(CaseRef::parse("XX-0000-0000"), None);
    }

    #[test]
    fn stored_case_refs_are_exact() {
        assert!(CaseRef::parse_exact("rd-0000-0000").is_err());
        assert!(CaseRef::parse_exact(" RD-0000-0000").is_err());
        assert!(serde_json::from_str::<CaseRef>("\"RD-0000-000\\n\"").is_err());
        let r: CaseRef = serde_json::from_str("\"RD-7K3M-Q9XA\"").unwrap();
        assert_eq!(serde_json::to_string(&r).unwrap(), "\"RD-7K3M-Q9XA\"");
    }

    #[test]
    fn ids_accept_only_canonical_form() {
        let id = ObjectId::random();
        assert_eq!(ObjectId::parse(&id.to_string()), Some(id));
        assert_eq!(ObjectId::parse(&id.to_string().to_uppercase()), None);
        assert_eq!(ObjectId::parse("../etc/passwd"), None);
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(serde_json::from_str::<ObjectId>(&json).unwrap(), id);
        assert!(serde_json::from_str::<CaseId>(&json.to_uppercase()).is_err());
    }

    #[test]
    fn holders_and_their_keys() {
        let i = InvestigatorId::random();
        assert_eq!(Holder::Investigator(i).key(), KeyKind::Case);
        assert_eq!(Holder::Reporter.key(), KeyKind::Thread);
        for h in [
            Holder::Triage,
            Holder::Recovery,
            Holder::Investigator(i),
            Holder::CaseKey,
            Holder::Reporter,
        ] {
            assert_eq!(Holder::from_parts(h.kind(), h.investigator()), Some(h));
        }
        assert_eq!(Holder::from_parts(HolderKind::Investigator, None), None);
        assert_eq!(Holder::from_parts(HolderKind::Triage, Some(i)), None);
    }

    #[test]
    fn deadline_flags_follow_the_clock() {
        let day = 86_400;
        assert_eq!(DeadlineFlag::of(10 * day, 7 * day, 2 * day), DeadlineFlag::Ok);
        assert_eq!(
            DeadlineFlag::of(10 * day, 8 * day, 2 * day),
            DeadlineFlag::DueSoon
        );
        assert_eq!(
            DeadlineFlag::of(10 * day, 10 * day, 2 * day),
            DeadlineFlag::DueSoon
        );
        assert_eq!(
            DeadlineFlag::of(10 * day, 10 * day + 1, 2 * day),
            DeadlineFlag::Overdue
        );
    }
}
