//! Pure domain types of Redress: identifiers, the questionnaire and its validated answers,
//! case states, priorities and deadlines, job kinds, and the sealed documents (what the
//! reporter sent, what triage found). Values are validated when constructed; enums that
//! are stored have one name each. Nothing here does I/O, reads the clock or knows about
//! storage, HTTP or cryptography.

mod answers;
mod audit;
mod case;
mod customers;
mod documents;
pub mod evidence;
mod jobs;
mod lifecycle;
mod names;
mod questionnaire;
mod roles;

pub use answers::{Answers, FieldError, Ongoing, RawAnswers, TargetGroup, ValidationErrors};
pub use audit::AuditAction;
pub use case::{
    AccountId, CaseId, CaseRef, CaseRefError, CaseState, CustomerId, DeadlineFlag, Holder, HolderKind,
    IdError, InvestigatorId, JobId, KeyKind, ObjectId, ObjectKind, Priority, SealedTo,
};
pub use customers::{CustomerDetails, CustomerError, CustomerField, CustomerStatus};
pub use documents::{
    COUNT_CAP, Custody, DocumentError, EntryDocument, EvidenceEntry, Indicated, LabelsDocument,
    MatchedIndicator, MatchedObservable, Overlap, Reason, Related, RelatedCase, Rendition, Score, Sealed,
    SubmissionDocument, TriageSummary, valid_label,
};
pub use jobs::{JobKind, JobState};
pub use lifecycle::{Assessment, Deadline, EntryKind, EntryText, EntryTextError, IllegalStep, Outcome, Step};
pub use questionnaire::{FieldKind, FieldSpec, Questionnaire, QuestionnaireError};
pub use roles::{AccountState, EmailAddress, EmailError, Role, SessionStage};

/// Invisible formatting characters (Unicode category Cf) that can disguise a name, e.g.
/// RIGHT-TO-LEFT OVERRIDE turning `photo\u{202E}gpj.exe` into `photoexe.jpg`. Names a
/// reporter or a downloaded bundle supplies are refused or cleaned of them.
pub fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206F}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}'
    )
}

/// The start of the hour `unix` falls in. Times that could date a report (its arrival,
/// the hand-over, job bookkeeping) are stored at this precision only.
pub fn hour_floor(unix: i64) -> i64 {
    unix - unix.rem_euclid(3600)
}

/// The start of the day (UTC) `unix` falls in: how precisely a person's last login is
/// kept.
pub fn day_floor(unix: i64) -> i64 {
    unix - unix.rem_euclid(86_400)
}

/// The start of the next hour after `unix` (or `unix` itself on an hour boundary): when
/// a report-driven job that failed may run again, so its retry time dates nothing finer.
pub fn hour_ceil(unix: i64) -> i64 {
    let floor = hour_floor(unix);
    if floor == unix { unix } else { floor + 3600 }
}

#[cfg(test)]
mod tests {
    #[test]
    fn hours_round_both_ways() {
        assert_eq!(super::hour_floor(7199), 3600);
        assert_eq!(super::hour_ceil(3601), 7200);
        assert_eq!(super::hour_ceil(7200), 7200);
        assert_eq!(super::hour_floor(-1), -3600);
    }
}
