//! The one submission pipeline behind both the HTML form and the JSON API.
//!
//! Order matters for "a receipt means the report is safe": files are encrypted into
//! temporary blobs as they arrive; only when every part is in and valid are the blobs
//! fsynced and renamed into place, and only then is the case committed in one database
//! transaction. Any failure before the commit drops the temporary blobs (and the sweep
//! removes whatever a crash leaves), so a refused or aborted upload leaves no case.
//!
//! A refused submission from the form gives back what the person typed ([`Kept`]), so
//! nobody has to write a report twice because the door was busy, the disk low, a file
//! too large or the database away.
//!
//! Steps: admission (`crate::admission`), reading the parts ([`parts`], under the
//! [`pace`]), validation, storing ([`commit`]).

mod commit;
mod pace;
mod parts;

use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use redress_crypto::{PublicKey, Receipt};
use redress_domain::{Answers, CaseRef, EntryText, EntryTextError, FieldError, RawAnswers, ValidationErrors};
use redress_keychain::NewCaseKeys;
use redress_store::StoredCase;

use pace::Pace;
use parts::Reading;
pub(crate) use parts::report_part_max_bytes;

use crate::IntakeState;
use crate::state::mib;

/// Which door a submission came through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// The HTML form: a CSRF token must arrive before any file.
    Form,
    /// The JSON API: a `report` part with JSON answers.
    Api,
    /// A reporter's follow-up message from the HTML page: a CSRF token, then a
    /// `message` text part and `evidence` files.
    Message,
    /// A follow-up message through the API: a `message` text part and `evidence` files.
    MessageApi,
}

impl Mode {
    /// A browser's form, which carries a CSRF token (the API has no browser to forge
    /// requests from).
    fn is_form(self) -> bool {
        matches!(self, Self::Form | Self::Message)
    }
}

/// A stored report.
#[derive(Debug)]
pub struct Received {
    pub receipt: Receipt,
    pub case_ref: CaseRef,
}

/// What a refused form submission gives back: the answers as typed, and the names of
/// the files that were sent but not kept (they must be attached again).
#[derive(Debug, Default)]
pub struct Kept {
    pub raw: RawAnswers,
    /// A follow-up message as typed.
    pub message: Option<String>,
    pub files_not_kept: Vec<String>,
}

/// A refused submission: why, and (for the form) what to give back.
#[derive(Debug)]
pub struct Refused {
    pub error: SubmitError,
    pub kept: Option<Kept>,
}

/// Why a submission was refused. Nothing is kept in any of these cases.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error("too many reports are being sent")]
    Busy,
    #[error("free disk space below the floor")]
    DiskFull,
    #[error("the database cannot be reached")]
    Unavailable,
    #[error("missing or invalid CSRF token")]
    Csrf,
    #[error("the form has expired")]
    CsrfExpired,
    #[error("honeypot field filled in")]
    Honeypot,
    #[error("malformed multipart body")]
    Malformed,
    #[error("text part is not UTF-8")]
    InvalidUtf8,
    #[error("report part is not valid JSON")]
    InvalidJson(String),
    #[error("no report part")]
    MissingReport,
    #[error("unknown part {0:?}")]
    UnknownPart(String),
    #[error("part {0:?} sent twice")]
    DuplicatePart(String),
    #[error("file name not allowed")]
    BadFileName,
    #[error("file too large")]
    FileTooLarge,
    #[error("report too large")]
    ReportTooLarge,
    #[error("too many files")]
    TooManyFiles,
    #[error("text part too large")]
    FieldTooLarge(String),
    #[error("upload stalled or too slow")]
    TooSlow,
    #[error("answers are not valid")]
    Invalid(ValidationErrors),
    #[error("could not store the report")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl SubmitError {
    fn internal(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Internal(Box::new(e))
    }

    /// A store failure: the database out of reach is `Unavailable` (a 503 the reporter
    /// can retry, their text kept), anything else internal.
    fn store(e: redress_store::StoreError) -> Self {
        if e.is_unavailable() {
            Self::Unavailable
        } else {
            Self::internal(e)
        }
    }

    /// A blob failure: a store failure like any other (with the database backend, the
    /// database out of reach is `Unavailable`).
    fn blob(e: std::io::Error) -> Self {
        Self::store(redress_store::StoreError::Io(e))
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::Busy | Self::DiskFull | Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Csrf | Self::CsrfExpired => StatusCode::FORBIDDEN,
            Self::FileTooLarge | Self::ReportTooLarge | Self::TooManyFiles | Self::FieldTooLarge(_) => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            Self::TooSlow => StatusCode::REQUEST_TIMEOUT,
            Self::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Honeypot
            | Self::Malformed
            | Self::InvalidUtf8
            | Self::InvalidJson(_)
            | Self::MissingReport
            | Self::UnknownPart(_)
            | Self::DuplicatePart(_)
            | Self::BadFileName => StatusCode::BAD_REQUEST,
        }
    }

    /// Stable machine-readable code for the API.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Busy => "busy",
            Self::DiskFull => "storage_low",
            Self::Unavailable => "unavailable",
            Self::Csrf => "csrf",
            Self::CsrfExpired => "form_expired",
            Self::Honeypot => "honeypot",
            Self::Malformed => "malformed_multipart",
            Self::InvalidUtf8 => "invalid_utf8",
            Self::InvalidJson(_) => "invalid_json",
            Self::MissingReport => "missing_report",
            Self::UnknownPart(_) => "unknown_part",
            Self::DuplicatePart(_) => "duplicate_part",
            Self::BadFileName => "bad_file_name",
            Self::FileTooLarge => "file_too_large",
            Self::ReportTooLarge => "report_too_large",
            Self::TooManyFiles => "too_many_files",
            Self::FieldTooLarge(_) => "field_too_large",
            Self::TooSlow => "too_slow",
            Self::Invalid(errors) => errors.0.first().map_or("invalid", |e| e.code),
            Self::Internal(_) => "internal",
        }
    }

    /// The field the error is about, if any.
    pub fn field(&self) -> Option<String> {
        match self {
            Self::UnknownPart(p) | Self::DuplicatePart(p) | Self::FieldTooLarge(p) => Some(p.clone()),
            Self::Invalid(errors) => errors.0.first().map(|e| e.field.to_owned()),
            Self::MissingReport | Self::InvalidJson(_) => Some("report".into()),
            Self::BadFileName | Self::FileTooLarge | Self::TooManyFiles => Some("evidence".into()),
            _ => None,
        }
    }

    /// The name it is counted under in the hourly log (never a line of its own: its
    /// time would date the attempt).
    fn counted_as(&self) -> &'static str {
        match self {
            Self::Invalid(_) => "invalid",
            other => other.code(),
        }
    }

    /// Whether what the person typed is worth giving back: the refusal was about the
    /// moment (busy, disk, database), a file, or the answers (an answer far over its
    /// bound, now that the form does not cut pasted text, is left out and the rest
    /// given back) — not a request no form of ours sends (the form's own token,
    /// honeypot and encoding are checked first).
    fn keeps_text(&self) -> bool {
        matches!(
            self,
            Self::Busy
                | Self::DiskFull
                | Self::Unavailable
                | Self::CsrfExpired
                | Self::Malformed
                | Self::BadFileName
                | Self::FileTooLarge
                | Self::ReportTooLarge
                | Self::TooManyFiles
                | Self::FieldTooLarge(_)
                | Self::TooSlow
                | Self::Invalid(_)
                | Self::Internal(_)
        )
    }

    /// Whether the client may still be sending (and can be read on): not after the
    /// stream stalled or broke.
    fn stream_usable(&self) -> bool {
        !matches!(self, Self::TooSlow | Self::Malformed)
    }

    /// (title key, message) for a visitor.
    pub fn describe(&self, state: &IntakeState) -> (&'static str, String) {
        let t = &state.messages;
        let l = &state.limits;
        match self {
            Self::Busy => ("error.busy_title", t.get("error.busy").into_owned()),
            Self::DiskFull => ("error.disk_full_title", t.get("error.disk_full").into_owned()),
            Self::Unavailable => ("error.unavailable_title", t.get("error.unavailable").into_owned()),
            Self::Csrf => ("error.csrf_title", t.get("error.csrf").into_owned()),
            Self::CsrfExpired => ("error.csrf_title", t.get("error.form_expired").into_owned()),
            Self::Honeypot => ("error.bad_request_title", t.get("error.honeypot").into_owned()),
            Self::Malformed | Self::UnknownPart(_) | Self::DuplicatePart(_) | Self::MissingReport => {
                ("error.bad_request_title", t.get("error.malformed").into_owned())
            }
            Self::InvalidJson(detail) => (
                "error.bad_request_title",
                format!("{} ({detail})", t.get("error.malformed")),
            ),
            Self::InvalidUtf8 => (
                "error.bad_request_title",
                t.get("error.invalid_utf8").into_owned(),
            ),
            Self::BadFileName => (
                "error.bad_request_title",
                t.get("error.bad_file_name").into_owned(),
            ),
            Self::FileTooLarge => (
                "error.too_large_title",
                t.fill("error.file_too_large", &[("limit", &mib(l.max_file_bytes))]),
            ),
            Self::ReportTooLarge => (
                "error.too_large_title",
                t.fill("error.report_too_large", &[("limit", &mib(l.max_report_bytes))]),
            ),
            Self::TooManyFiles => (
                "error.too_large_title",
                t.fill("error.too_many_files", &[("limit", &l.max_files.to_string())]),
            ),
            Self::FieldTooLarge(_) => (
                "error.too_large_title",
                t.get("error.field_too_large").into_owned(),
            ),
            Self::TooSlow => ("error.too_slow_title", t.get("error.too_slow").into_owned()),
            Self::Invalid(errors) => (
                "report.errors_title",
                errors
                    .0
                    .first()
                    .map(|e| field_message(state, e))
                    .unwrap_or_default(),
            ),
            Self::Internal(_) => ("error.internal_title", t.get("error.internal").into_owned()),
        }
    }
}

/// The message for one invalid field, e.g. "This is too long: at most 200 characters."
/// A missing choice says what to do with the control ("Choose at least one.").
pub fn field_message(state: &IntakeState, e: &redress_domain::FieldError) -> String {
    use redress_domain::FieldKind;
    let limit = e.limit.map(|l| l.to_string()).unwrap_or_default();
    let kind = state
        .questionnaire
        .fields()
        .into_iter()
        .find(|f| f.name == e.field)
        .map(|f| f.kind);
    let key = match (e.code, kind) {
        // A follow-up message is no field of the questionnaire: its words are its own.
        (code, _) if e.field == "message" => format!("followup.message_error.{code}"),
        ("required", Some(FieldKind::MultiChoice)) => "error.required_many".to_owned(),
        ("required", Some(FieldKind::SingleChoice | FieldKind::Select)) => "error.required_one".to_owned(),
        (code, _) => format!("error.{code}"),
    };
    state.messages.fill(&key, &[("limit", &limit)])
}

/// Reads one multipart submission, stores it, and returns the receipt; or says why not
/// and gives back what was typed.
pub async fn receive(
    state: &IntakeState,
    multipart: Multipart,
    mode: Mode,
    csrf_cookie: Option<&str>,
) -> Result<Received, Refused> {
    let result = receive_counted(state, multipart, mode, csrf_cookie).await;
    if let Err(Refused { error, .. }) = &result {
        match error {
            SubmitError::Internal(cause) => {
                redress_logging::note(
                    "intake.refused",
                    error.counted_as(),
                    redress_logging::cause_chain(cause.as_ref()),
                );
            }
            other => redress_logging::count("intake.refused", other.counted_as()),
        }
    }
    result
}

async fn receive_counted(
    state: &IntakeState,
    mut multipart: Multipart,
    mode: Mode,
    csrf_cookie: Option<&str>,
) -> Result<Received, Refused> {
    let mut pace = Pace::new(&state.limits);
    let Some(report_slot) = state.gate.admit_report() else {
        // Busy before a byte was read: still read the text (not the files) if there is
        // room to, so the form can be given back filled in.
        let mut reading = Reading::new(state, mode, csrf_cookie, None);
        drain_if_room(state, &mut reading, &mut multipart, &mut pace).await;
        return Err(Refused {
            kept: reading.kept(),
            error: SubmitError::Busy,
        });
    };
    let mut reading = Reading::new(state, mode, csrf_cookie, Some(report_slot));
    match read_and_store(state, &mut reading, &mut multipart, &mut pace).await {
        Ok(received) => Ok(received),
        Err(error) => {
            // Give back the places in the door before reading on.
            reading.release();
            refuse(state, error, reading, &mut multipart, &mut pace).await
        }
    }
}

async fn read_and_store(
    state: &IntakeState,
    reading: &mut Reading<'_>,
    multipart: &mut Multipart,
    pace: &mut Pace,
) -> Result<Received, SubmitError> {
    reading.check_disk()?;
    let keys = NewCaseKeys::generate();
    reading.read_all(multipart, &keys.thread_public(), pace).await?;
    let answers = Answers::parse(reading.raw(), &state.questionnaire).map_err(SubmitError::Invalid)?;
    let files = reading.take_files();
    commit::store(state, keys, answers, files).await
}

/// Reads one follow-up message (its text and files) for `case`, stores it, and
/// returns its number among the case's entries; or says why not and gives back what
/// was typed. The same door, limits and refusals as a report.
pub async fn receive_message(
    state: &IntakeState,
    mut multipart: Multipart,
    mode: Mode,
    csrf_cookie: Option<&str>,
    case: &StoredCase,
) -> Result<u32, Refused> {
    let mut pace = Pace::new(&state.limits);
    let result = match state.gate.admit_report() {
        None => {
            let mut reading = Reading::new(state, mode, csrf_cookie, None);
            drain_if_room(state, &mut reading, &mut multipart, &mut pace).await;
            Err(Refused {
                kept: reading.kept(),
                error: SubmitError::Busy,
            })
        }
        Some(slot) => {
            let mut reading = Reading::new(state, mode, csrf_cookie, Some(slot));
            match read_and_store_message(state, &mut reading, &mut multipart, &mut pace, case).await {
                Ok(seq) => Ok(seq),
                Err(error) => {
                    reading.release();
                    refuse(state, error, reading, &mut multipart, &mut pace).await
                }
            }
        }
    };
    if let Err(Refused { error, .. }) = &result {
        match error {
            SubmitError::Internal(cause) => redress_logging::note(
                "intake.followup_refused",
                error.counted_as(),
                redress_logging::cause_chain(cause.as_ref()),
            ),
            other => redress_logging::count("intake.followup_refused", other.counted_as()),
        }
    }
    result
}

async fn read_and_store_message(
    state: &IntakeState,
    reading: &mut Reading<'_>,
    multipart: &mut Multipart,
    pace: &mut Pace,
    case: &StoredCase,
) -> Result<u32, SubmitError> {
    reading.check_disk()?;
    let thread = PublicKey::parse(&case.thread_recipient).map_err(SubmitError::internal)?;
    reading.read_all(multipart, &thread, pace).await?;
    let text = match reading.message().map(str::trim).filter(|t| !t.is_empty()) {
        None => None,
        Some(typed) => Some(EntryText::parse(typed).map_err(|e| {
            let (code, limit) = match e {
                EntryTextError::Empty => ("required", None),
                EntryTextError::TooLong => ("too_long", Some(EntryText::MAX_CHARS)),
                EntryTextError::Control => ("invalid_characters", None),
            };
            SubmitError::Invalid(ValidationErrors(vec![FieldError {
                field: "message",
                code,
                limit,
            }]))
        })?),
    };
    let files = reading.take_files();
    if text.is_none() && files.is_empty() {
        return Err(SubmitError::Invalid(ValidationErrors(vec![FieldError {
            field: "message",
            code: "message_or_file",
            limit: None,
        }])));
    }
    commit::store_message(state, case, text, files).await
}

/// Reads on where the refusal allows it, and returns the refusal with what to give back.
async fn refuse<T>(
    state: &IntakeState,
    error: SubmitError,
    mut reading: Reading<'_>,
    multipart: &mut Multipart,
    pace: &mut Pace,
) -> Result<T, Refused> {
    if error.stream_usable() {
        drain_if_room(state, &mut reading, multipart, pace).await;
    }
    let kept = if error.keeps_text() { reading.kept() } else { None };
    Err(Refused { error, kept })
}

async fn drain_if_room(
    state: &IntakeState,
    reading: &mut Reading<'_>,
    multipart: &mut Multipart,
    pace: &mut Pace,
) {
    if let Some(_slot) = state.gate.admit_drain() {
        reading.drain(multipart, pace).await;
    }
}
