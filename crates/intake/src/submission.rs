//! The one submission pipeline behind both the HTML form and the JSON API.
//!
//! Order matters for "a receipt means the report is safe": files are encrypted into
//! temporary blobs as they arrive; only when every part is in and valid are the blobs
//! fsynced and renamed into place, and only then is the case committed in one database
//! transaction. Any failure before the commit drops the temporary blobs (and the sweep
//! removes whatever a crash leaves), so a refused or aborted upload leaves no case.

use std::time::{Duration, Instant};

use actix_multipart::{Field, Multipart};
use actix_web::http::StatusCode;
use bytes::Bytes;
use futures_util::StreamExt;
use redress_crypto::{Receipt, derive_receipt_keys, seal};
use redress_domain::{
    Answers, CaseId, CaseRef, EvidenceEntry, JobKind, ObjectId, ObjectKind, RawAnswers, SealedTo,
    SubmissionDocument, ValidationErrors,
};
use redress_keychain::{FirstHolders, NewCaseKeys};
use redress_store::{NewCase, NewJob, NewObject, NewReceipt};

use crate::IntakeState;
use crate::evidence::{EvidenceWriter, SealedFile};
use crate::state::mib;

/// Which door a submission came through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// The HTML form: a CSRF token must arrive before any file.
    Form,
    /// The JSON API: a `report` part with JSON answers.
    Api,
}

/// A stored report.
#[derive(Debug)]
pub struct Received {
    pub receipt: Receipt,
    pub case_ref: CaseRef,
}

/// Why a submission was refused. Nothing is kept in any of these cases.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error("too many uploads in progress")]
    Busy,
    #[error("free disk space below the floor")]
    DiskFull,
    #[error("missing or invalid CSRF token")]
    Csrf,
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
    Invalid {
        errors: ValidationErrors,
        raw: Box<RawAnswers>,
        had_files: bool,
    },
    #[error("could not store the report")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl SubmitError {
    fn internal(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Internal(Box::new(e))
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::Busy | Self::DiskFull | Self::Internal(_) => match self {
                Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
                _ => StatusCode::SERVICE_UNAVAILABLE,
            },
            Self::Csrf => StatusCode::FORBIDDEN,
            Self::FileTooLarge | Self::ReportTooLarge | Self::TooManyFiles | Self::FieldTooLarge(_) => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            Self::TooSlow => StatusCode::REQUEST_TIMEOUT,
            Self::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// Stable machine-readable code for the API.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Busy => "busy",
            Self::DiskFull => "storage_low",
            Self::Csrf => "csrf",
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
            Self::Invalid { errors, .. } => errors.0.first().map_or("invalid", |e| e.code),
            Self::Internal(_) => "internal",
        }
    }

    /// The field the error is about, if any.
    pub fn field(&self) -> Option<String> {
        match self {
            Self::UnknownPart(p) | Self::DuplicatePart(p) | Self::FieldTooLarge(p) => Some(p.clone()),
            Self::Invalid { errors, .. } => errors.0.first().map(|e| e.field.to_owned()),
            Self::MissingReport | Self::InvalidJson(_) => Some("report".into()),
            Self::BadFileName | Self::FileTooLarge | Self::TooManyFiles => Some("evidence".into()),
            _ => None,
        }
    }

    /// (title key, message) for a visitor.
    pub fn describe(&self, state: &IntakeState) -> (&'static str, String) {
        let t = &state.messages;
        let l = &state.limits;
        match self {
            Self::Busy => ("error.busy_title", t.get("error.busy").into_owned()),
            Self::DiskFull => ("error.disk_full_title", t.get("error.disk_full").into_owned()),
            Self::Csrf => ("error.csrf_title", t.get("error.csrf").into_owned()),
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
            Self::Invalid { errors, .. } => (
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
pub fn field_message(state: &IntakeState, e: &redress_domain::FieldError) -> String {
    let limit = e.limit.map(|l| l.to_string()).unwrap_or_default();
    state
        .messages
        .fill(&format!("error.{}", e.code), &[("limit", &limit)])
}

/// Largest JSON `report` part accepted by the API.
const MAX_REPORT_PART_BYTES: usize = 1024 * 1024;
/// After a refusal, read and discard at most this much more so the client sees the
/// answer instead of a reset connection.
const DRAIN_CAP_BYTES: u64 = 64 * 1024 * 1024;

/// Keeps an upload moving, so a slow or stalled client cannot hold an upload slot for
/// long: no gap longer than `idle`; at least `min_rate` bytes a second in every
/// `window` (measured per window, so a fast start cannot buy a long trickle); and the
/// whole upload done within `max_duration`.
struct Pace {
    started: Instant,
    window_start: Instant,
    window_bytes: u64,
    idle: Duration,
    min_rate: u64,
    window: Duration,
    max_duration: Duration,
}

impl Pace {
    fn new(l: &crate::IntakeLimits) -> Self {
        let now = Instant::now();
        Self {
            started: now,
            window_start: now,
            window_bytes: 0,
            idle: l.idle_timeout,
            min_rate: l.min_rate_bytes_per_sec,
            window: l.min_rate_window,
            max_duration: l.max_upload_duration,
        }
    }

    fn count(&mut self, bytes: usize) {
        self.window_bytes += bytes as u64;
    }

    async fn next<S, T, E>(&mut self, stream: &mut S) -> Result<Option<Result<T, E>>, SubmitError>
    where
        S: futures_util::Stream<Item = Result<T, E>> + Unpin,
    {
        let item = tokio::time::timeout(self.idle, stream.next())
            .await
            .map_err(|_| SubmitError::TooSlow)?;
        let now = Instant::now();
        if now.duration_since(self.started) > self.max_duration {
            return Err(SubmitError::TooSlow);
        }
        let in_window = now.duration_since(self.window_start);
        if in_window >= self.window {
            if self.window_bytes < self.min_rate.saturating_mul(in_window.as_secs()) {
                return Err(SubmitError::TooSlow);
            }
            self.window_start = now;
            self.window_bytes = 0;
        }
        Ok(item)
    }
}

/// Reads one multipart submission, stores it, and returns the receipt.
pub async fn receive(
    state: &IntakeState,
    mut multipart: Multipart,
    mode: Mode,
    csrf_cookie: Option<&str>,
) -> Result<Received, SubmitError> {
    let mut pace = Pace::new(&state.limits);
    let result = receive_within_a_slot(state, &mut multipart, mode, csrf_cookie, &mut pace).await;
    if let Err(e) = &result {
        // Read what the client is still sending (outside the upload slot), so a browser
        // shows our answer rather than a reset connection.
        if !matches!(e, SubmitError::TooSlow | SubmitError::Malformed) {
            drain(&mut multipart, &mut pace).await;
        }
    }
    result
}

async fn receive_within_a_slot(
    state: &IntakeState,
    multipart: &mut Multipart,
    mode: Mode,
    csrf_cookie: Option<&str>,
    pace: &mut Pace,
) -> Result<Received, SubmitError> {
    let _permit = state
        .uploads
        .clone()
        .try_acquire_owned()
        .map_err(|_| SubmitError::Busy)?;
    let free = state.blobs.available_bytes().map_err(SubmitError::internal)?;
    if free < state.limits.min_free_bytes {
        tracing::warn!(free_bytes = free, "refusing a report: disk space below the floor");
        return Err(SubmitError::DiskFull);
    }
    let keys = NewCaseKeys::generate();
    let (raw, files) = read_parts(state, multipart, mode, csrf_cookie, &keys, pace).await?;
    let answers = match Answers::parse(&raw, &state.questionnaire) {
        Ok(a) => a,
        Err(errors) => {
            return Err(SubmitError::Invalid {
                errors,
                raw: Box::new(raw),
                had_files: !files.is_empty(),
            });
        }
    };
    store(state, keys, answers, files).await
}

/// Reads and discards what the client is still sending, within a cap.
async fn drain(multipart: &mut Multipart, pace: &mut Pace) {
    let mut drained = 0u64;
    while let Ok(Some(Ok(mut field))) = pace.next(multipart).await {
        while let Ok(Some(Ok(chunk))) = pace.next(&mut field).await {
            pace.count(chunk.len());
            drained += chunk.len() as u64;
            if drained > DRAIN_CAP_BYTES {
                return;
            }
        }
    }
}

struct ReceivedFile {
    sealed: SealedFile,
    file_name: String,
    content_type: String,
}

async fn read_parts(
    state: &IntakeState,
    multipart: &mut Multipart,
    mode: Mode,
    csrf_cookie: Option<&str>,
    keys: &NewCaseKeys,
    pace: &mut Pace,
) -> Result<(RawAnswers, Vec<ReceivedFile>), SubmitError> {
    let l = &state.limits;
    let mut raw = RawAnswers::default();
    let mut seen_report = false;
    let mut csrf_ok = mode == Mode::Api;
    let mut files: Vec<ReceivedFile> = Vec::new();
    let mut tally = FileTally::default();
    let thread_recipient = keys.thread_public();

    while let Some(field) = pace.next(multipart).await? {
        let mut field = field.map_err(|_| SubmitError::Malformed)?;
        let name = field.name().ok_or(SubmitError::Malformed)?.to_owned();
        if name == "evidence" {
            if !csrf_ok {
                return Err(SubmitError::Csrf);
            }
            let file_name = declared_file_name(&field)?;
            let content_type = field.content_type().map(ToString::to_string).unwrap_or_default();
            let Some(received) = receive_file(
                state,
                &mut field,
                file_name,
                content_type,
                &thread_recipient,
                pace,
                &mut tally,
            )
            .await?
            else {
                continue;
            };
            files.push(received);
            continue;
        }
        match (mode, name.as_str()) {
            (Mode::Api, "report") => {
                if seen_report {
                    return Err(SubmitError::DuplicatePart(name));
                }
                seen_report = true;
                let bytes = read_text(&mut field, MAX_REPORT_PART_BYTES, &name, pace).await?;
                raw = serde_json::from_slice(&bytes).map_err(|e| SubmitError::InvalidJson(e.to_string()))?;
            }
            (Mode::Form, redress_web::CSRF_FIELD) => {
                let token = read_string(&mut field, 1024, &name, pace).await?;
                let now = state.now();
                if !state
                    .csrf
                    .verify(csrf_cookie, Some(token.trim()), now, l.form_max_age_secs)
                {
                    return Err(SubmitError::Csrf);
                }
                csrf_ok = true;
            }
            (Mode::Form, HONEYPOT_FIELD) => {
                if !read_string(&mut field, 1024, &name, pace)
                    .await?
                    .trim()
                    .is_empty()
                {
                    return Err(SubmitError::Honeypot);
                }
            }
            (Mode::Form, "targeted") => {
                if raw.targeted.len() >= 16 {
                    return Err(SubmitError::DuplicatePart(name));
                }
                raw.targeted
                    .push(read_string(&mut field, 256, &name, pace).await?);
            }
            (Mode::Form, _) => {
                let slot = match name.as_str() {
                    "product" => &mut raw.product,
                    "suspected_customer" => &mut raw.suspected_customer,
                    "country" => &mut raw.country,
                    "what_happened" => &mut raw.what_happened,
                    "when" => &mut raw.when,
                    "ongoing" => &mut raw.ongoing,
                    "contact" => &mut raw.contact,
                    _ => return Err(SubmitError::UnknownPart(name)),
                };
                if slot.is_some() {
                    return Err(SubmitError::DuplicatePart(name));
                }
                *slot = Some(read_string(&mut field, l.max_text_part_bytes, &name, pace).await?);
            }
            (Mode::Api, _) => return Err(SubmitError::UnknownPart(name)),
        }
    }
    if !csrf_ok {
        return Err(SubmitError::Csrf);
    }
    if mode == Mode::Api && !seen_report {
        return Err(SubmitError::MissingReport);
    }
    Ok((raw, files))
}

/// The field a person cannot see and a form-filling robot tends to fill.
pub const HONEYPOT_FIELD: &str = "website";

/// Files and bytes received so far in one submission.
#[derive(Debug, Default)]
struct FileTally {
    files: usize,
    bytes: u64,
}

async fn receive_file(
    state: &IntakeState,
    field: &mut Field,
    file_name: String,
    content_type: String,
    recipient: &redress_crypto::PublicKey,
    pace: &mut Pace,
    tally: &mut FileTally,
) -> Result<Option<ReceivedFile>, SubmitError> {
    let l = &state.limits;
    // A file input left empty still sends a part with an empty name and no content.
    let first = match pace.next(field).await? {
        None if file_name.is_empty() => return Ok(None),
        None => None,
        Some(chunk) => Some(chunk.map_err(|_| SubmitError::Malformed)?),
    };
    // Refuse the file after the last allowed one as soon as it turns out not to be an
    // empty file input, before any of it is stored.
    if tally.files >= l.max_files {
        return Err(SubmitError::TooManyFiles);
    }
    tally.files += 1;
    // Uploads in parallel each passed the floor at their start; check again per file so
    // they cannot fill the disk between them.
    if state.blobs.available_bytes().map_err(SubmitError::internal)? < l.min_free_bytes {
        return Err(SubmitError::DiskFull);
    }
    let file_name = check_file_name(&file_name)?;
    let content_type = clean_content_type(&content_type);
    let mut writer = EvidenceWriter::start(&state.blobs, recipient).map_err(SubmitError::internal)?;
    let mut size = 0u64;
    let mut next: Option<Bytes> = first;
    loop {
        let Some(chunk) = next.take() else { break };
        size += chunk.len() as u64;
        tally.bytes += chunk.len() as u64;
        pace.count(chunk.len());
        if size > l.max_file_bytes {
            return Err(SubmitError::FileTooLarge);
        }
        if tally.bytes > l.max_report_bytes {
            return Err(SubmitError::ReportTooLarge);
        }
        writer.send(chunk).await.map_err(SubmitError::internal)?;
        next = match pace.next(field).await? {
            None => None,
            Some(c) => Some(c.map_err(|_| SubmitError::Malformed)?),
        };
    }
    let sealed = writer.finish().await.map_err(SubmitError::internal)?;
    Ok(Some(ReceivedFile {
        sealed,
        file_name,
        content_type,
    }))
}

/// The file name as the client declared it, preferring the RFC 5987 `filename*` form.
fn declared_file_name(field: &Field) -> Result<String, SubmitError> {
    let Some(cd) = field.content_disposition() else {
        return Ok(String::new());
    };
    if let Some(ext) = cd.get_filename_ext() {
        return String::from_utf8(ext.value.clone()).map_err(|_| SubmitError::BadFileName);
    }
    Ok(cd.get_filename().unwrap_or_default().to_owned())
}

/// Accepts a plain file name only: no folders, no control characters, no `..`.
fn check_file_name(name: &str) -> Result<String, SubmitError> {
    let name = name.trim();
    let bad = name.len() > 255
        || name.contains(['/', '\\'])
        || name
            .chars()
            .any(|c| c.is_control() || redress_domain::is_invisible_format(c))
        || name == "."
        || name == "..";
    if bad {
        return Err(SubmitError::BadFileName);
    }
    Ok(if name.is_empty() {
        "unnamed".to_owned()
    } else {
        name.to_owned()
    })
}

fn clean_content_type(declared: &str) -> String {
    match declared.parse::<mime::Mime>() {
        Ok(m) if declared.len() <= 127 => m.essence_str().to_owned(),
        _ => "application/octet-stream".to_owned(),
    }
}

async fn read_text(
    field: &mut Field,
    max: usize,
    name: &str,
    pace: &mut Pace,
) -> Result<Vec<u8>, SubmitError> {
    let mut buf = Vec::new();
    while let Some(chunk) = pace.next(field).await? {
        let chunk = chunk.map_err(|_| SubmitError::Malformed)?;
        pace.count(chunk.len());
        if buf.len() + chunk.len() > max {
            return Err(SubmitError::FieldTooLarge(name.to_owned()));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf)
}

async fn read_string(
    field: &mut Field,
    max: usize,
    name: &str,
    pace: &mut Pace,
) -> Result<String, SubmitError> {
    String::from_utf8(read_text(field, max, name, pace).await?).map_err(|_| SubmitError::InvalidUtf8)
}

/// Seals the answers, puts every blob in place, writes the case. See the module comment.
async fn store(
    state: &IntakeState,
    keys: NewCaseKeys,
    answers: Answers,
    files: Vec<ReceivedFile>,
) -> Result<Received, SubmitError> {
    let now = state.now();
    let received_at = redress_domain::hour_floor(now);
    let receipt = Receipt::generate();
    let (salt, kdf) = (state.receipt_salt.clone(), state.kdf);
    let receipt_for_kdf = receipt.clone();
    // Argon2id at 64 MiB takes a noticeable fraction of a second: keep it off the workers.
    let reporter = tokio::task::spawn_blocking(move || derive_receipt_keys(&receipt_for_kdf, &salt, &kdf))
        .await
        .map_err(SubmitError::internal)?
        .map_err(SubmitError::internal)?;

    let thread_pub = keys.thread_public();
    let case_pub = keys.case_public();
    let evidence: Vec<EvidenceEntry> = files
        .iter()
        .map(|f| EvidenceEntry {
            object_id: f.sealed.blob.id(),
            file_name: f.file_name.clone(),
            content_type: f.content_type.clone(),
            size: f.sealed.plaintext_bytes,
            sha256: hex::encode(f.sealed.sha256),
        })
        .collect();
    let document = SubmissionDocument::new(state.questionnaire.version(), received_at, answers, evidence);
    let plaintext = document.to_json().map_err(SubmitError::internal)?;
    let sealed_doc = seal(&[&thread_pub], &plaintext).map_err(SubmitError::internal)?;
    let wraps = keys
        .first_wraps(&FirstHolders {
            triage: &state.keys.triage,
            recovery: &state.keys.recovery,
            reporter: &reporter.identity.public(),
        })
        .map_err(SubmitError::internal)?;

    // Put every blob in place (fsync + rename) off the async workers.
    let blobs = state.blobs.clone();
    let placed = tokio::task::spawn_blocking(move || place_blobs(&blobs, sealed_doc, files))
        .await
        .map_err(SubmitError::internal)?
        .map_err(SubmitError::internal)?;

    let case_id = CaseId::random();
    let new_case = NewCase {
        id: case_id,
        questionnaire_version: state.questionnaire.version(),
        received_at,
        case_recipient: case_pub.to_string(),
        thread_recipient: thread_pub.to_string(),
        wraps,
        objects: placed
            .iter()
            .map(|(id, kind, size)| NewObject {
                id: *id,
                kind: *kind,
                sealed_to: SealedTo::Thread,
                ciphertext_bytes: *size,
            })
            .collect(),
        receipt: NewReceipt {
            lookup: reporter.lookup,
            kdf_salt: state.receipt_salt.clone(),
            kdf_m_kib: kdf.m_kib,
            kdf_t: kdf.t,
            kdf_p: kdf.p,
        },
        jobs: vec![triage_job(case_id, received_at)],
    };
    match state
        .store
        .insert_case(&new_case, || CaseRef::from_random(rand::random()))
        .await
    {
        Ok(case_ref) => {
            // File times say no more than the database: the hour, not the second.
            for (id, _, _) in &placed {
                if let Err(e) = state.blobs.set_times(*id, received_at) {
                    tracing::warn!(error = %e, "could not coarsen a blob's file times");
                }
            }
            Ok(Received { receipt, case_ref })
        }
        Err(e) => {
            // Remove the blobs only if the case is certainly not there: a commit whose
            // acknowledgement was lost must keep its files. Anything left is swept.
            if matches!(state.store.case_exists(new_case.id).await, Ok(false)) {
                for (id, _, _) in &placed {
                    let _ = state.blobs.remove(*id);
                }
            }
            Err(SubmitError::internal(e))
        }
    }
}

/// The case's triage, committed with the case so that every stored case is triaged.
fn triage_job(case_id: CaseId, received_at: i64) -> NewJob {
    let kind = JobKind::TriageCase;
    NewJob {
        kind,
        idempotency_key: format!("{kind}:{case_id}"),
        payload: serde_json::json!({ "case_id": case_id.to_string() }).to_string(),
        run_at: received_at,
        max_attempts: TRIAGE_ATTEMPTS,
    }
}

/// A triage that fails this often waits for an admin (`redress admin jobs`).
const TRIAGE_ATTEMPTS: u32 = 8;

/// Writes the sealed document and commits every evidence blob; on failure removes what
/// was already placed, so the caller sees all or nothing.
fn place_blobs(
    blobs: &redress_store::BlobStore,
    sealed_doc: Vec<u8>,
    files: Vec<ReceivedFile>,
) -> std::io::Result<Vec<(ObjectId, ObjectKind, u64)>> {
    let mut placed = Vec::with_capacity(files.len() + 1);
    let result = (|| {
        let mut doc = blobs.begin()?;
        std::io::Write::write_all(&mut doc, &sealed_doc)?;
        let id = doc.id();
        placed.push((id, ObjectKind::Submission, doc.commit()?));
        for f in files {
            let id = f.sealed.blob.id();
            placed.push((id, ObjectKind::Evidence, f.sealed.blob.commit()?));
        }
        Ok(())
    })();
    match result {
        Ok(()) => Ok(placed),
        Err(e) => {
            for (id, _, _) in &placed {
                let _ = blobs.remove(*id);
            }
            Err(e)
        }
    }
}
