//! Pure domain types of Redress: identifiers, the questionnaire and its validated answers,
//! case states and limits. Values are validated when constructed; nothing here does I/O,
//! reads the clock or knows about storage, HTTP or cryptography.

mod answers;
mod case;
mod jobs;
mod questionnaire;

pub use answers::{Answers, FieldError, Ongoing, RawAnswers, TargetGroup, ValidationErrors};
pub use case::{CaseId, CaseRef, CaseState, ObjectId, ObjectKind};
pub use jobs::JobKind;
pub use questionnaire::{FieldKind, FieldSpec, Questionnaire, QuestionnaireError};

/// The start of the hour `unix` falls in. Times that could date a report (its arrival,
/// the hand-over, job bookkeeping) are stored at this precision only.
pub fn hour_floor(unix: i64) -> i64 {
    unix - unix.rem_euclid(3600)
}
