//! The follow-up for partner organisations, as JSON (ADR 0028): open a session with
//! the receipt, read the case's status and thread, send a message and files, mark a
//! reply read, end the session. The session is the same as the web page's: its key is
//! handed to the client once, as a bearer token, and found by its hash.
//!
//! No cookie and no CSRF token: a bearer token is not sent by a browser on its own, so
//! another site cannot make a request carry it. Guessing receipts spends the same
//! per-minute budget as the web form.

use actix_multipart::Multipart;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use redress_crypto::CookieKey;
use redress_domain::{Answers, CaseState, EntryKind, EvidenceEntry};
use redress_web::ApiError;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::case::{CaseView, read_case};
use super::{ABSOLUTE_SECS, IDLE_SECS, LookedUp, NoSession, Session, day, look_up, session_of};
use crate::IntakeState;
use crate::submission::{self, Mode, Refused};

/// The receipt is a line of words; anything far longer is not one.
const OPEN_LIMIT: usize = 4 * 1024;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OpenRequest {
    receipt: String,
}

impl Drop for OpenRequest {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.receipt);
    }
}

#[derive(Serialize)]
struct Opened {
    /// The session's bearer token: sent as `Authorization: Bearer <token>`.
    token: String,
    case_ref: String,
    idle_timeout_secs: i64,
    expires_in_secs: i64,
}

fn error(status: StatusCode, code: &'static str, state: &IntakeState, key: &str) -> ApiError {
    ApiError::new(status, code, state.messages.get(key).into_owned())
}

/// `POST /api/v1/followup/session`: a receipt in, a session token out.
pub async fn api_open(body: web::Bytes, state: web::Data<IntakeState>) -> Result<HttpResponse, ApiError> {
    let request: Option<OpenRequest> = (body.len() <= OPEN_LIMIT)
        .then(|| serde_json::from_slice(&body).ok())
        .flatten();
    let Some(request) = request else {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "malformed",
            &state,
            "followup.api_malformed",
        )
        .with_field("receipt"));
    };
    let typed = Zeroizing::new(request.receipt.clone());
    let now = state.now();
    match look_up(&state, &typed, now).await {
        LookedUp::Opened(key, case_id) => {
            let case = state
                .store
                .case_by_id(case_id)
                .await
                .map_err(|_| unavailable(&state))?
                .ok_or_else(|| unavailable(&state))?;
            Ok(HttpResponse::Created()
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .json(Opened {
                    token: key.cookie_value().to_string(),
                    case_ref: case.case_ref.to_string(),
                    idle_timeout_secs: IDLE_SECS,
                    expires_in_secs: ABSOLUTE_SECS,
                }))
        }
        LookedUp::Wrong => Err(error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "wrong_receipt",
            &state,
            "followup.wrong",
        )
        .with_field("receipt")),
        LookedUp::Wait(secs) => Err(error(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_wrong_receipts",
            &state,
            "followup.api_wait",
        )
        .retry_after(secs)),
        LookedUp::Unavailable => Err(unavailable(&state)),
    }
}

fn unavailable(state: &IntakeState) -> ApiError {
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        state,
        "followup.unavailable",
    )
}

/// The session a request's bearer token finds.
async fn bearer(state: &IntakeState, req: &HttpRequest) -> Result<Session, ApiError> {
    let key = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .and_then(CookieKey::from_cookie);
    let no_session = || {
        error(
            StatusCode::UNAUTHORIZED,
            "no_session",
            state,
            "followup.api_no_session",
        )
    };
    let key = key.ok_or_else(no_session)?;
    session_of(state, key).await.map_err(|e| match e {
        NoSession::Ended => no_session(),
        NoSession::Unavailable => unavailable(state),
    })
}

#[derive(Serialize)]
struct FileJson {
    name: String,
    size: u64,
    sha256: String,
}

impl From<&EvidenceEntry> for FileJson {
    fn from(e: &EvidenceEntry) -> Self {
        Self {
            name: e.file_name.clone(),
            size: e.size,
            sha256: e.sha256.clone(),
        }
    }
}

#[derive(Serialize)]
struct MessageJson {
    seq: u32,
    /// `you` or `investigators`: never a person's name.
    from: &'static str,
    kind: EntryKind,
    /// The day it was written (UTC).
    on: String,
    text: String,
    files: Vec<FileJson>,
    /// For the investigators' messages: whether it was marked read.
    #[serde(skip_serializing_if = "Option::is_none")]
    read: Option<bool>,
}

#[derive(Serialize)]
struct ReportJson<'a> {
    on: String,
    answers: &'a Answers,
    files: Vec<FileJson>,
}

#[derive(Serialize)]
struct CaseJson<'a> {
    case_ref: String,
    state: CaseState,
    /// The state in plain words.
    status: String,
    received_on: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    acknowledgement_due_on: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    acknowledged_on: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    assessment: Option<redress_domain::Assessment>,
    #[serde(skip_serializing_if = "Option::is_none")]
    feedback_due_on: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    closed_on: Option<String>,
    report: ReportJson<'a>,
    messages: Vec<MessageJson>,
}

/// `GET /api/v1/followup/case`: the status, the dates and the whole thread.
pub async fn api_case(req: HttpRequest, state: web::Data<IntakeState>) -> Result<HttpResponse, ApiError> {
    let s = bearer(&state, &req).await?;
    let view = read_case(&state, &s).await.map_err(|()| unavailable(&state))?;
    let CaseView {
        case,
        submission,
        thread,
    } = &view;
    let feedback_given = matches!(case.state, CaseState::FeedbackGiven | CaseState::Closed);
    let messages = thread
        .iter()
        .map(|(entry, doc)| MessageJson {
            seq: entry.seq,
            from: if entry.kind == EntryKind::ReporterMessage {
                "you"
            } else {
                "investigators"
            },
            kind: entry.kind,
            on: day(entry.at),
            text: doc.text.clone(),
            files: doc.files.iter().map(FileJson::from).collect(),
            read: entry.kind.is_to_reporter().then_some(entry.read_by_reporter),
        })
        .collect();
    let body = CaseJson {
        case_ref: case.case_ref.to_string(),
        state: case.state,
        status: state
            .messages
            .get(&format!("followup.state.{}", case.state))
            .into_owned(),
        received_on: day(case.received_at),
        acknowledgement_due_on: case.ack_due.filter(|_| case.acknowledged_at.is_none()).map(day),
        acknowledged_on: case.acknowledged_at.map(day),
        assessment: case.assessment,
        feedback_due_on: case.feedback_due.filter(|_| !feedback_given).map(day),
        closed_on: case
            .closed_at
            .filter(|_| case.state == CaseState::Closed)
            .map(day),
        report: ReportJson {
            on: day(submission.received_at),
            answers: &submission.answers,
            files: submission.evidence.iter().map(FileJson::from).collect(),
        },
        messages,
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(body))
}

#[derive(Serialize)]
struct Sent {
    seq: u32,
}

/// `POST /api/v1/followup/messages`: a `message` part and `evidence` files.
pub async fn api_send(
    req: HttpRequest,
    multipart: Multipart,
    state: web::Data<IntakeState>,
) -> Result<HttpResponse, ApiError> {
    let s = bearer(&state, &req).await?;
    let case = state
        .store
        .case_by_id(s.case_id)
        .await
        .map_err(|_| unavailable(&state))?
        .ok_or_else(|| unavailable(&state))?;
    match submission::receive_message(&state, multipart, Mode::MessageApi, None, &case).await {
        Ok(seq) => Ok(HttpResponse::Created().json(Sent { seq })),
        Err(Refused { error: e, .. }) => {
            let (_, message) = e.describe(&state);
            let err = ApiError::new(e.status(), e.code(), message);
            Err(match e.field() {
                Some(f) => err.with_field(f),
                None => err,
            })
        }
    }
}

/// `POST /api/v1/followup/messages/{seq}/read`: marks an investigators' message read.
pub async fn api_read(
    req: HttpRequest,
    path: web::Path<u32>,
    state: web::Data<IntakeState>,
) -> Result<HttpResponse, ApiError> {
    let s = bearer(&state, &req).await?;
    match state
        .store
        .mark_read_by_reporter(s.case_id, path.into_inner())
        .await
    {
        Ok(true) => Ok(HttpResponse::NoContent().finish()),
        Ok(false) => Err(error(
            StatusCode::NOT_FOUND,
            "no_such_message",
            &state,
            "followup.no_such_message",
        )),
        Err(_) => Err(unavailable(&state)),
    }
}

/// `DELETE /api/v1/followup/session`: ends the session.
pub async fn api_logout(req: HttpRequest, state: web::Data<IntakeState>) -> Result<HttpResponse, ApiError> {
    let s = bearer(&state, &req).await?;
    state
        .store
        .forget_followup_session(&s.key.lookup())
        .await
        .map_err(|_| unavailable(&state))?;
    Ok(HttpResponse::NoContent().finish())
}
