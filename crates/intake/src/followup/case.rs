//! The case as the reporter reads it (`GET /followup/case`), what they send back
//! (`POST /followup/messages`: a message and files, through the report's own door and
//! limits), and replies marked read (`POST /followup/read`).

use actix_multipart::Multipart;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use redress_crypto::open;
use redress_domain::{
    CaseState, EntryDocument, EntryKind, EvidenceEntry, ObjectKind, Sealed, SealedTo, SubmissionDocument,
};
use redress_store::{CaseEntry, StoredCase};
use redress_web::{CSRF_COOKIE, CsrfCheck, Messages, html};
use serde::Deserialize;

use super::{
    ABSOLUTE_SECS, IDLE_SECS, NoSession, SESSION_COOKIE, Session, back_to_form, cookie, csrf, day,
    plain_error, session, small_form, unavailable,
};
use crate::IntakeState;
use crate::submission::{self, Mode, Refused, SubmitError};

/// One step of the case's life as the reporter reads it.
pub struct Step {
    what: String,
    when: String,
    done: bool,
}

/// One message of the conversation.
pub struct Message {
    /// Its number among the case's entries (for marking it read).
    seq: u32,
    from: String,
    day: String,
    kind: String,
    text: String,
    files: Vec<FileRow>,
    /// Written by the investigators to the reporter: may be marked read.
    to_reporter: bool,
    read: bool,
}

/// An answer of the report.
pub struct AnswerRow {
    label: String,
    value: String,
}

/// A file the reporter sent.
pub struct FileRow {
    name: String,
    size: String,
}

#[derive(Template)]
#[template(path = "followup_case.html")]
pub struct CasePage {
    lang: String,
    dir: &'static str,
    service_name: String,
    title: String,
    t: Messages,
    csrf: String,
    case_ref: String,
    status: String,
    steps: Vec<Step>,
    received: String,
    answers: Vec<AnswerRow>,
    files: Vec<FileRow>,
    messages: Vec<Message>,
    ends: String,
    /// "Your message was sent", or what was wrong with it.
    notice: Option<String>,
    error: Option<String>,
    /// The message as typed, given back when it was refused.
    message: String,
    files_not_kept: Vec<String>,
    /// The limits on files, as the report form states them.
    files_hint: String,
}

/// What the page says about the message form: nothing, sent, or refused.
#[derive(Default)]
struct Shown {
    status: Option<StatusCode>,
    notice: Option<String>,
    error: Option<String>,
    message: String,
    files_not_kept: Vec<String>,
}

/// `GET /followup/case`: the case as the reporter may read it.
pub async fn case(req: HttpRequest, state: web::Data<IntakeState>) -> HttpResponse {
    let s = match session_or_answer(&state, &req).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let sent = req.query_string().split('&').any(|p| p == "sent=1");
    let shown = Shown {
        notice: sent.then(|| state.messages.get("followup.sent").into_owned()),
        ..Shown::default()
    };
    match case_page(&state, &req, &s, shown).await {
        Ok(res) => res,
        Err(()) => unavailable(&state),
    }
}

async fn case_page(
    state: &IntakeState,
    req: &HttpRequest,
    s: &Session,
    shown: Shown,
) -> Result<HttpResponse, ()> {
    let t = state.messages.clone();
    let CaseView {
        case,
        submission,
        thread,
    } = read_case(state, s).await?;
    let investigators = t.get("followup.from_investigators").into_owned();
    let you = t.get("followup.from_you").into_owned();
    let mut messages = Vec::new();
    let mut assessment_reason = None;
    for (entry, doc) in &thread {
        if doc.assessment.is_some() {
            assessment_reason = Some(doc.text.clone());
        }
        let mine = entry.kind == EntryKind::ReporterMessage;
        messages.push(Message {
            seq: entry.seq,
            from: if mine { you.clone() } else { investigators.clone() },
            day: day(entry.at),
            kind: t.get(&format!("followup.entry.{}", entry.kind)).into_owned(),
            text: doc.text.clone(),
            files: doc.files.iter().map(file_row).collect(),
            to_reporter: entry.kind.is_to_reporter(),
            read: entry.read_by_reporter,
        });
    }
    let answers = answer_rows(state, &submission);
    let files = submission.evidence.iter().map(file_row).collect();
    let token = state
        .csrf
        .issue(req.cookie(CSRF_COOKIE).as_ref().map(|c| c.value()), state.now());
    let page = CasePage {
        lang: t.lang().to_owned(),
        dir: t.dir(),
        service_name: state.service_name.clone(),
        title: t.get("followup.case_title").into_owned(),
        csrf: token.field,
        case_ref: case.case_ref.to_string(),
        status: t.get(&format!("followup.state.{}", case.state)).into_owned(),
        steps: steps(&t, &case, assessment_reason),
        received: day(case.received_at),
        answers,
        files,
        messages,
        notice: shown.notice,
        error: shown.error,
        message: shown.message,
        files_not_kept: shown.files_not_kept,
        files_hint: state.field_hint("evidence"),
        ends: t.fill(
            "followup.ends",
            &[
                ("minutes", &(IDLE_SECS / 60).to_string()),
                ("at", &redress_web::clock_time(s.opened_at + ABSOLUTE_SECS)),
            ],
        ),
        t,
    };
    let mut res = html(shown.status.unwrap_or(StatusCode::OK), &page);
    let _ = res.add_cookie(&redress_web::cookie(
        CSRF_COOKIE,
        token.cookie,
        "/",
        state.secure_cookies,
    ));
    // The cookie again, so its key stays with the browser while the session lasts.
    let _ = res.add_cookie(&cookie(state, SESSION_COOKIE, s.key.cookie_value().to_string()));
    Ok(res)
}

/// A size as people read it.
fn size(bytes: u64) -> String {
    const KIB: u64 = 1024;
    match bytes {
        b if b < KIB => format!("{b} B"),
        b if b < KIB * KIB => format!("{:.1} KiB", b as f64 / KIB as f64),
        b => format!("{:.1} MiB", b as f64 / (KIB * KIB) as f64),
    }
}

fn answer_rows(state: &IntakeState, submission: &SubmissionDocument) -> Vec<AnswerRow> {
    let a = &submission.answers;
    let mut rows = vec![("product", state.choice_label("product", a.product()))];
    for (field, value) in [
        ("suspected_customer", a.suspected_customer()),
        ("country", a.country()),
    ] {
        if let Some(v) = value {
            rows.push((field, v.to_owned()));
        }
    }
    let targeted: Vec<String> = a
        .targeted()
        .iter()
        .map(|g| state.choice_label("targeted", g.as_str()))
        .collect();
    rows.push(("targeted", targeted.join(", ")));
    rows.push(("what_happened", a.what_happened().to_owned()));
    if let Some(when) = a.when() {
        rows.push(("when", when.to_owned()));
    }
    rows.push(("ongoing", state.choice_label("ongoing", a.ongoing().as_str())));
    if let Some(contact) = a.contact() {
        rows.push(("contact", contact.to_owned()));
    }
    rows.into_iter()
        .map(|(field, value)| AnswerRow {
            label: state.field_label(field),
            value,
        })
        .collect()
}

/// The case's life so far and what comes next, in the reporter's words.
fn steps(t: &Messages, case: &StoredCase, assessment_reason: Option<String>) -> Vec<Step> {
    let mut steps = vec![Step {
        what: t.get("followup.step.received").into_owned(),
        when: day(case.received_at),
        done: true,
    }];
    match case.acknowledged_at {
        Some(at) => steps.push(Step {
            what: t.get("followup.step.acknowledged").into_owned(),
            when: day(at),
            done: true,
        }),
        None => steps.push(Step {
            what: t.get("followup.step.acknowledge_due").into_owned(),
            when: case.ack_due.map(day).unwrap_or_default(),
            done: false,
        }),
    }
    if let Some(a) = case.assessment {
        let mut what = t.fill(
            "followup.step.assessed",
            &[("assessment", &t.get(&format!("followup.assessment.{a}")))],
        );
        if let Some(reason) = assessment_reason {
            what = format!("{what} {reason}");
        }
        steps.push(Step {
            what,
            when: String::new(),
            done: true,
        });
    }
    let feedback_given = matches!(case.state, CaseState::FeedbackGiven | CaseState::Closed);
    if let Some(due) = case.feedback_due.filter(|_| !feedback_given) {
        steps.push(Step {
            what: t.get("followup.step.feedback_due").into_owned(),
            when: day(due),
            done: false,
        });
    }
    if let Some(at) = case
        .concluded_at
        .filter(|_| matches!(case.state, CaseState::Concluded) || feedback_given)
    {
        steps.push(Step {
            what: t.get("followup.step.concluded").into_owned(),
            when: day(at),
            done: true,
        });
    }
    if let Some(at) = case.feedback_given_at.filter(|_| feedback_given) {
        steps.push(Step {
            what: t.get("followup.step.feedback_given").into_owned(),
            when: day(at),
            done: true,
        });
    }
    if let Some(at) = case.closed_at.filter(|_| case.state == CaseState::Closed) {
        steps.push(Step {
            what: t.get("followup.step.closed").into_owned(),
            when: day(at),
            done: true,
        });
    }
    steps
}

/// What the reporter may read of a case, opened with the session's thread key: the
/// case row, the report, and the thread's entries in order (never an entry sealed to
/// the case key: those are not even opened).
pub(crate) struct CaseView {
    pub(crate) case: StoredCase,
    pub(crate) submission: SubmissionDocument,
    pub(crate) thread: Vec<(CaseEntry, EntryDocument)>,
}

pub(crate) async fn read_case(state: &IntakeState, s: &Session) -> Result<CaseView, ()> {
    let case = state
        .store
        .case_by_id(s.case_id)
        .await
        .map_err(|_| ())?
        .ok_or(())?;
    let objects = state.store.objects(case.id).await.map_err(|_| ())?;
    let mut submission = None;
    for (id, kind) in &objects {
        if *kind == ObjectKind::Submission {
            let sealed = state.blobs.read_all(*id).await.map_err(|_| ())?;
            let plain = open(&s.thread, &sealed).map_err(|_| ())?;
            submission = Some(SubmissionDocument::from_json(&plain).map_err(|_| ())?);
        }
    }
    let submission = submission.ok_or(())?;
    let mut thread = Vec::new();
    for entry in state.store.entries(case.id).await.map_err(|_| ())? {
        if entry.kind.sealed_to() != SealedTo::Thread {
            continue;
        }
        let plain = open(&s.thread, &entry.ciphertext).map_err(|_| ())?;
        let doc = EntryDocument::from_json(&plain).map_err(|_| ())?;
        thread.push((entry, doc));
    }
    Ok(CaseView {
        case,
        submission,
        thread,
    })
}

/// The request's session, or the answer to give without one.
async fn session_or_answer(state: &IntakeState, req: &HttpRequest) -> Result<Session, HttpResponse> {
    session(state, req).await.map_err(|e| match e {
        NoSession::Ended => back_to_form(state),
        NoSession::Unavailable => unavailable(state),
    })
}

fn file_row(e: &EvidenceEntry) -> FileRow {
    FileRow {
        name: e.file_name.clone(),
        size: size(e.size),
    }
}

/// `POST /followup/messages`: a message and files from the reporter, streamed and
/// sealed as they arrive; then back to the case, or the case with what was wrong.
pub async fn send(req: HttpRequest, multipart: Multipart, state: web::Data<IntakeState>) -> HttpResponse {
    let s = match session_or_answer(&state, &req).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let case = match state.store.case_by_id(s.case_id).await {
        Ok(Some(case)) => case,
        Ok(None) => return back_to_form(&state),
        Err(_) => return unavailable(&state),
    };
    let csrf_cookie = req.cookie(CSRF_COOKIE);
    let refused = match submission::receive_message(
        &state,
        multipart,
        Mode::Message,
        csrf_cookie.as_ref().map(|c| c.value()),
        &case,
    )
    .await
    {
        Ok(_) => {
            return HttpResponse::SeeOther()
                .insert_header((header::LOCATION, "/followup/case?sent=1#conversation"))
                .finish();
        }
        Err(refused) => refused,
    };
    let Refused { error, kept } = refused;
    let Some(kept) = kept else {
        return refusal_page(&state, &error);
    };
    let shown = Shown {
        status: Some(error.status()),
        notice: None,
        error: Some(message_error(&state, &error)),
        message: kept.message.unwrap_or_default(),
        files_not_kept: kept.files_not_kept,
    };
    let mut res = match case_page(&state, &req, &s, shown).await {
        Ok(res) => res,
        Err(()) => unavailable(&state),
    };
    redress_web::retry_after_if_unavailable(&mut res);
    res
}

/// What went wrong with a message, in the reporter's words.
fn message_error(state: &IntakeState, error: &SubmitError) -> String {
    let (_, message) = error.describe(state);
    match error {
        SubmitError::Invalid(_) => message,
        _ => format!("{message} {}", state.messages.get("followup.message_kept")),
    }
}

/// A refusal with nothing to give back (a request no page of ours sends).
fn refusal_page(state: &IntakeState, error: &SubmitError) -> HttpResponse {
    use actix_web::ResponseError;
    let (title, message) = error.describe(state);
    let t = &state.messages;
    redress_web::PageError::new(error.status(), t, &state.service_name, t.get(title), message)
        .with_back("/followup/case", t.get("error.back"))
        .error_response()
}

#[derive(Deserialize)]
pub struct ReadForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    seq: u32,
}

/// `POST /followup/read`: marks one of the investigators' messages read.
pub async fn read(req: HttpRequest, body: web::Bytes, state: web::Data<IntakeState>) -> HttpResponse {
    let form: Option<ReadForm> = small_form(&body);
    let token = form.as_ref().map(|f| f.csrf_token.as_str());
    if csrf(&state, &req, token) != CsrfCheck::Valid {
        return plain_error(
            &state,
            StatusCode::FORBIDDEN,
            "followup.bad_form_title",
            "followup.bad_form",
        );
    }
    let Some(form) = form else {
        return plain_error(
            &state,
            StatusCode::BAD_REQUEST,
            "followup.bad_form_title",
            "followup.bad_form",
        );
    };
    let s = match session_or_answer(&state, &req).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    match state.store.mark_read_by_reporter(s.case_id, form.seq).await {
        Ok(true) => HttpResponse::SeeOther()
            .insert_header((header::LOCATION, format!("/followup/case#entry-{}", form.seq)))
            .finish(),
        Ok(false) => plain_error(
            &state,
            StatusCode::NOT_FOUND,
            "followup.bad_form_title",
            "followup.no_such_message",
        ),
        Err(_) => unavailable(&state),
    }
}
