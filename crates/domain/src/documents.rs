//! The documents Redress seals: what the reporter sent (the submission) and what triage
//! found (the summary). Each is written and read through the one type here, carries a
//! `format` number that is checked on read, and names every enum by its stored name.

use serde::{Deserialize, Serialize};

use crate::evidence::{FileType, Metadata, NotScrubbed};
use crate::{Answers, CaseRef, InvestigatorId, ObjectId, Priority};

/// Why a sealed document could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    /// The parse error is not kept: its text could quote the document.
    #[error("the document does not parse")]
    Parse,
    #[error("document format {found} is not supported (this version reads {supported})")]
    Format { found: u32, supported: u32 },
    #[error("the document could not be written")]
    Write,
}

/// A document Redress seals: written and read through this one trait, with its
/// `format` checked on the way in.
pub trait Sealed: Serialize + serde::de::DeserializeOwned {
    /// The format this version writes and reads.
    const FORMAT: u32;

    /// Serialises into zeroizing memory: the bytes are plaintext about to be sealed.
    fn to_json(&self) -> Result<zeroize::Zeroizing<Vec<u8>>, DocumentError> {
        serde_json::to_vec(self)
            .map(zeroize::Zeroizing::new)
            .map_err(|_| DocumentError::Write)
    }

    /// Reads `format` first, so a document of another format is refused by number
    /// rather than by whichever field happened to differ.
    fn from_json(json: &[u8]) -> Result<Self, DocumentError> {
        #[derive(Deserialize)]
        struct Head {
            format: u32,
        }
        let head: Head = serde_json::from_slice(json).map_err(|_| DocumentError::Parse)?;
        if head.format != Self::FORMAT {
            return Err(DocumentError::Format {
                found: head.format,
                supported: Self::FORMAT,
            });
        }
        serde_json::from_slice(json).map_err(|_| DocumentError::Parse)
    }
}

/// Everything the reporter sent at intake, sealed to the thread key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubmissionDocument {
    format: u32,
    pub questionnaire_version: u32,
    /// The hour it arrived (Unix seconds).
    pub received_at: i64,
    pub answers: Answers,
    pub evidence: Vec<EvidenceEntry>,
}

/// One evidence file as listed in the submission document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceEntry {
    pub object_id: ObjectId,
    /// As the reporter's browser named it (checked at intake: a plain name).
    pub file_name: String,
    /// As declared by the browser, reduced to its MIME essence; not trusted.
    pub content_type: String,
    /// Plaintext bytes.
    pub size: u64,
    /// SHA-256 of the plaintext, lower-case hex, computed as it arrived.
    pub sha256: String,
}

impl Sealed for SubmissionDocument {
    const FORMAT: u32 = 1;
}

impl SubmissionDocument {
    pub fn new(
        questionnaire_version: u32,
        received_at: i64,
        answers: Answers,
        evidence: Vec<EvidenceEntry>,
    ) -> Self {
        Self {
            format: Self::FORMAT,
            questionnaire_version,
            received_at,
            answers,
            evidence,
        }
    }
}

/// One entry of a case's conversation or notes, sealed to the key its kind says
/// (`EntryKind::sealed_to`): what the reporter may read to the thread key, the rest to
/// the case key. Its author and time are the entry's row, not this document, so the
/// reporter reading it never learns who wrote it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntryDocument {
    format: u32,
    pub text: String,
    /// For an assessment: what it found.
    pub assessment: Option<crate::Assessment>,
    /// For a finding: the customer of the register the case concerns. Kept here,
    /// sealed to the case key, so that a copy of the database does not link a case to
    /// a customer its outcome did not act on (ADR 0025). Absent from entries written
    /// before the register, which read as naming none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<crate::CustomerId>,
    /// For a reporter's message: the files sent with it, sealed to the thread key like
    /// the report's own. Absent from every other entry.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<EvidenceEntry>,
}

impl Sealed for EntryDocument {
    /// An entry naming no customer is written exactly as before the register.
    const FORMAT: u32 = 1;
}

impl EntryDocument {
    pub fn new(text: crate::EntryText, assessment: Option<crate::Assessment>) -> Self {
        Self {
            format: Self::FORMAT,
            text: text.into_string(),
            assessment,
            customer: None,
            files: Vec::new(),
        }
    }

    /// A reporter's message: its text (which may be empty when files came with it) and
    /// its files.
    pub fn from_reporter(text: Option<crate::EntryText>, files: Vec<EvidenceEntry>) -> Self {
        Self {
            format: Self::FORMAT,
            text: text.map(crate::EntryText::into_string).unwrap_or_default(),
            assessment: None,
            customer: None,
            files,
        }
    }

    /// The same entry, naming the customer the case concerns.
    pub fn concerning(self, customer: Option<crate::CustomerId>) -> Self {
        Self { customer, ..self }
    }
}

/// A case's labels, sealed to the case key: a copy of the database shows that a case
/// carries labels, never which. Names are from the configured list ([`valid_label`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelsDocument {
    format: u32,
    pub labels: Vec<String>,
}

impl Sealed for LabelsDocument {
    const FORMAT: u32 = 1;
}

impl LabelsDocument {
    pub fn new(mut labels: Vec<String>) -> Self {
        labels.sort();
        labels.dedup();
        Self {
            format: Self::FORMAT,
            labels,
        }
    }
}

/// Whether `name` may be a label: 1 to 32 lowercase letters, digits and dashes, so a
/// label reads the same in a form, a URL and a list.
pub fn valid_label(name: &str) -> bool {
    (1..=32).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// What triage found, sealed to the case key only: the reporter never reads it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TriageSummary {
    format: u32,
    /// The `version` of the triage rules that scored it.
    pub rules_version: u32,
    pub score: Score,
    pub indicators: Vec<MatchedIndicator>,
    pub related: Related,
    pub routed_to_team: String,
    pub assigned: Vec<InvestigatorId>,
    /// Acknowledge the reporter by this time (Unix seconds).
    pub ack_due: i64,
    pub evidence: Vec<Custody>,
}

impl Sealed for TriageSummary {
    /// Format 1 (before typed summaries) kept free-text reasons for renditions.
    const FORMAT: u32 = 2;
}

impl TriageSummary {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        rules_version: u32,
        score: Score,
        indicators: Vec<MatchedIndicator>,
        related: Related,
        routed_to_team: String,
        assigned: Vec<InvestigatorId>,
        ack_due: i64,
        evidence: Vec<Custody>,
    ) -> Self {
        Self {
            format: Self::FORMAT,
            rules_version,
            score,
            indicators,
            related,
            routed_to_team,
            assigned,
            ack_due,
            evidence,
        }
    }
}

/// A priority and every rule that moved the score toward it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Score {
    pub points: i32,
    pub priority: Priority,
    pub reasons: Vec<Reason>,
}

/// One rule that added (or took away) points.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reason {
    /// `targeted`, `ongoing`, `evidence_present`, `indicator_matched` or `list: NAME`.
    pub rule: String,
    pub points: i32,
    pub detail: String,
}

/// An indicator of compromise that matched, as an investigator needs to see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchedIndicator {
    /// The STIX id of the indicator.
    pub id: String,
    /// The indicator's own name, where the bundle gives one (most published ones do not).
    pub name: Option<String>,
    /// The malware, tools, campaigns, intrusion sets and threat actors it indicates.
    pub indicates: Vec<Indicated>,
    /// What matched: the observable (`domain-name:value`, `file:hashes.'SHA-256'`…) and
    /// the indicator's value.
    pub observables: Vec<MatchedObservable>,
}

impl MatchedIndicator {
    /// What to call it: its name, else what it indicates, else its id.
    pub fn label(&self) -> String {
        if let Some(name) = &self.name {
            return name.clone();
        }
        if self.indicates.is_empty() {
            return self.id.clone();
        }
        let names: Vec<&str> = self.indicates.iter().map(|i| i.name.as_str()).collect();
        names.join(", ")
    }
}

/// Something an indicator indicates: its STIX type (`malware`, `tool`…) and name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Indicated {
    pub kind: String,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchedObservable {
    pub observable: String,
    pub value: String,
}

/// Counts of other cases stop here: a count of `COUNT_CAP` means "this many or more".
/// Counting further would read a whole class of cases for a figure nobody needs
/// exactly, and the cost of triage would grow with the database.
pub const COUNT_CAP: u64 = 1000;

/// Related cases as triage found them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Related {
    /// Cases linked to this one on a selective signal (a shared indicator or suspected
    /// customer), most relevant first, at most `worker.related_listed` of them.
    pub linked: Vec<RelatedCase>,
    /// Linked cases left out of `linked` by the cap (the total stops at [`COUNT_CAP`]).
    pub more_linked: u64,
    /// Broad overlaps, as counts only: "41 other cases name this product and country".
    /// Most specific first.
    pub overlaps: Vec<Overlap>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelatedCase {
    pub case_ref: CaseRef,
    /// What they share, e.g. `indicator`, `customer`, `product`.
    pub shared: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Overlap {
    /// What the other cases have in common with this one, e.g. `["product", "country"]`.
    pub shared: Vec<String>,
    /// This case's own values of those kinds, in the same order (this summary is
    /// sealed to the case key, which opens the answers anyway).
    pub values: Vec<String>,
    /// How many other cases share them, up to [`COUNT_CAP`].
    pub other_cases: u64,
}

/// What happened to one evidence file: the chain of custody.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Custody {
    pub original: ObjectId,
    pub file_name: String,
    pub size: u64,
    /// SHA-256 recorded at intake, and whether the stored file still matches it.
    pub sha256: String,
    pub sha256_verified: bool,
    /// What the file is, by its content.
    pub file_type: FileType,
    pub rendition: Rendition,
    /// Plaintext bytes inspected for indicators (the head of a larger file).
    pub inspected_bytes: u64,
    pub indicator_scan_failed: bool,
}

/// The metadata-scrubbed rendition of one evidence file, or why there is none.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case", deny_unknown_fields)]
pub enum Rendition {
    Scrubbed {
        object: ObjectId,
        sha256: String,
        removed: Vec<Metadata>,
    },
    /// A supported file with no metadata to remove: open the original.
    NothingToRemove,
    NotMade {
        reason: NotScrubbed,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Questionnaire, RawAnswers};

    fn answers() -> Answers {
        let q = Questionnaire::from_toml(
            "version = 1\n[[products]]\nid = \"implant\"\nlabel = { en = \"Implant\" }",
        )
        .unwrap();
        Answers::parse(
            &RawAnswers {
                product: Some("implant".into()),
                targeted: vec!["journalist".into()],
                what_happened: Some("My phone was infected in March.".into()),
                ongoing: Some("yes".into()),
                ..Default::default()
            },
            &q,
        )
        .unwrap()
    }

    #[test]
    fn a_submission_reads_back_as_written_and_other_formats_are_refused() {
        let doc = SubmissionDocument::new(
            3,
            3600,
            answers(),
            vec![EvidenceEntry {
                object_id: ObjectId::random(),
                file_name: "photo.jpg".into(),
                content_type: "image/jpeg".into(),
                size: 10,
                sha256: "00".repeat(32),
            }],
        );
        let json = doc.to_json().unwrap();
        assert_eq!(SubmissionDocument::from_json(&json).unwrap(), doc);
        let text = String::from_utf8(json.to_vec()).unwrap();
        assert!(text.contains("\"targeted\":[\"journalist\"]"), "{text}");
        let newer = text.replace("\"format\":1", "\"format\":2");
        assert!(matches!(
            SubmissionDocument::from_json(newer.as_bytes()),
            Err(DocumentError::Format {
                found: 2,
                supported: 1
            })
        ));
        assert!(matches!(
            SubmissionDocument::from_json(b"{"),
            Err(DocumentError::Parse)
        ));
    }

    #[test]
    fn a_summary_names_its_enums_by_their_stored_names() {
        let summary = TriageSummary::new(
            1,
            Score {
                points: 50,
                priority: Priority::P2,
                reasons: vec![],
            },
            vec![],
            Related::default(),
            "triage-desk".into(),
            vec![InvestigatorId::random()],
            7 * 86_400,
            vec![Custody {
                original: ObjectId::random(),
                file_name: "a.pdf".into(),
                size: 1,
                sha256: "ab".into(),
                sha256_verified: true,
                file_type: FileType::Pdf,
                rendition: Rendition::NotMade {
                    reason: NotScrubbed::Malformed,
                },
                inspected_bytes: 1,
                indicator_scan_failed: false,
            }],
        );
        let json = summary.to_json().unwrap();
        let text = String::from_utf8(json.to_vec()).unwrap();
        assert!(text.contains("\"priority\":\"P2\""), "{text}");
        assert!(text.contains("\"format\":2"), "{text}");
        assert!(text.contains("\"outcome\":\"not_made\""), "{text}");
        assert!(text.contains("\"reason\":\"malformed\""), "{text}");
        assert_eq!(TriageSummary::from_json(&json).unwrap(), summary);
    }

    #[test]
    fn a_finding_names_its_customer_only_when_it_has_one() {
        let text = crate::EntryText::parse("The implant was found.").unwrap();
        let plain = EntryDocument::new(text.clone(), None);
        let json = plain.to_json().unwrap();
        assert_eq!(
            std::str::from_utf8(&json).unwrap(),
            r#"{"format":1,"text":"The implant was found.","assessment":null}"#,
            "written as before the register"
        );
        assert_eq!(EntryDocument::from_json(&json).unwrap().customer, None);
        let id = crate::CustomerId::random();
        let named = EntryDocument::new(text, None).concerning(Some(id));
        let read = EntryDocument::from_json(&named.to_json().unwrap()).unwrap();
        assert_eq!(read.customer, Some(id));
    }
}
