//! The HTML form door: works with JavaScript off (Tor Browser "Safest").

use actix_multipart::Multipart;
use actix_web::cookie::Cookie;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use redress_domain::{FieldKind, RawAnswers, ValidationErrors};
use redress_web::{CSRF_COOKIE, Messages, PageError, html};
use serde::{Deserialize, Serialize};

use crate::IntakeState;
use crate::submission::{self, Kept, Mode, Refused, SubmitError};

const RECEIPT_COOKIE: &str = "redress_receipt";
const RECEIPT_PATH: &str = "/receipt";
const RECEIPT_PURPOSE: &str = "receipt";
/// The receipt page can be reached for this long after submitting.
const RECEIPT_TTL_SECS: i64 = 600;

pub struct ChoiceView {
    /// The id of this choice's input, `{field}-{value}`.
    id: String,
    value: String,
    label: String,
    selected: bool,
}

pub struct FieldView {
    name: &'static str,
    kind: &'static str,
    /// Checkboxes or radios: a fieldset whose legend is the label.
    group: bool,
    label: String,
    hint: String,
    hint_id: String,
    required: bool,
    value: String,
    error: Option<String>,
    error_id: String,
    /// `aria-describedby` of the control (of the fieldset for a group): the ids of the
    /// hint and the error message shown, in reading order.
    described_by: String,
    /// The id a link to this field lands on: the control, or a group's first input.
    target: String,
    choices: Vec<ChoiceView>,
}

/// One line of the error summary: which field, what is wrong, a link to the field.
pub struct SummaryItem {
    target: String,
    text: String,
}

#[derive(Template)]
#[template(path = "report.html")]
pub struct ReportPage {
    lang: String,
    dir: &'static str,
    service_name: String,
    title: String,
    t: Messages,
    csrf: String,
    fields: Vec<FieldView>,
    summary: Vec<SummaryItem>,
    notice: Option<Notice>,
}

/// Why a filled-in form came back, when it was refused for something other than its
/// answers: what happened, and which files must be attached again.
pub struct Notice {
    title: String,
    message: String,
    files_not_kept: Vec<String>,
}

#[derive(Template)]
#[template(path = "receipt.html")]
pub struct ReceiptPage {
    lang: String,
    dir: &'static str,
    service_name: String,
    title: String,
    t: Messages,
    receipt: String,
    case_ref: String,
}

#[derive(Serialize, Deserialize)]
struct ReceiptFlash {
    receipt: String,
    case_ref: String,
}

fn kind_name(kind: FieldKind) -> &'static str {
    match kind {
        FieldKind::Select => "select",
        FieldKind::Text => "text",
        FieldKind::Textarea => "textarea",
        FieldKind::MultiChoice => "multi_choice",
        FieldKind::SingleChoice => "single_choice",
        FieldKind::Files => "files",
    }
}

/// Builds the form, filled with `raw` and annotated with `errors` when re-shown: each
/// message sits by its field and is tied to its control, and the summary at the top
/// names each field and links to it (GOV.UK Design System "error summary" and "error
/// message" patterns, which work without JavaScript).
fn report_page(
    state: &IntakeState,
    csrf: String,
    raw: &RawAnswers,
    errors: &ValidationErrors,
    notice: Option<Notice>,
) -> ReportPage {
    let t = state.messages.clone();
    let q = &state.questionnaire;
    let fields = q
        .fields()
        .into_iter()
        .map(|spec| {
            let name = spec.name;
            let value = match name {
                "suspected_customer" => raw.suspected_customer.clone(),
                "country" => raw.country.clone(),
                "what_happened" => raw.what_happened.clone(),
                "when" => raw.when.clone(),
                "contact" => raw.contact.clone(),
                _ => None,
            }
            .unwrap_or_default();
            let is_selected = |v: &str| match name {
                "product" => raw.product.as_deref() == Some(v),
                "ongoing" => raw.ongoing.as_deref() == Some(v),
                "targeted" => raw.targeted.iter().any(|x| x == v),
                _ => false,
            };
            let choices: Vec<ChoiceView> = spec
                .choices
                .iter()
                .map(|c| ChoiceView {
                    id: format!("{name}-{c}"),
                    label: state.choice_label(name, c),
                    selected: is_selected(c),
                    value: c.clone(),
                })
                .collect();
            let kind = kind_name(spec.kind);
            let group = matches!(spec.kind, FieldKind::MultiChoice | FieldKind::SingleChoice);
            let target = match choices.first() {
                Some(first) if group => first.id.clone(),
                _ => name.to_owned(),
            };
            let hint = state.field_hint(name);
            let error = errors
                .for_field(name)
                .map(|e| submission::field_message(state, e));
            let (hint_id, error_id) = (format!("{name}-hint"), format!("{name}-error"));
            let described_by = [
                (!hint.is_empty()).then_some(hint_id.as_str()),
                error.is_some().then_some(error_id.as_str()),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
            FieldView {
                name,
                kind,
                group,
                label: state.field_label(name),
                hint,
                hint_id,
                required: spec.required,
                value,
                error,
                error_id,
                described_by,
                target,
                choices,
            }
        })
        .collect::<Vec<_>>();
    let summary = fields
        .iter()
        .filter_map(|f| {
            let message = f.error.as_deref()?;
            Some(SummaryItem {
                target: f.target.clone(),
                text: t.fill(
                    "report.summary_item",
                    &[("field", &f.label), ("message", message)],
                ),
            })
        })
        .collect();
    ReportPage {
        lang: t.lang().to_owned(),
        dir: t.dir(),
        service_name: state.service_name.clone(),
        title: t.get("report.title").into_owned(),
        t,
        csrf,
        fields,
        summary,
        notice,
    }
}

fn cookie<'c>(state: &IntakeState, name: &'c str, value: String, path: &'c str) -> Cookie<'c> {
    redress_web::cookie(name, value, path, state.secure_cookies)
}

/// Renders the form with a fresh CSRF token (reusing the browser's nonce cookie).
fn form_response(
    state: &IntakeState,
    req: &HttpRequest,
    status: StatusCode,
    raw: &RawAnswers,
    errors: &ValidationErrors,
    notice: Option<Notice>,
) -> HttpResponse {
    let existing = req.cookie(CSRF_COOKIE);
    let token = state
        .csrf
        .issue(existing.as_ref().map(|c| c.value()), state.now());
    let page = report_page(state, token.field, raw, errors, notice);
    let mut res = html(status, &page);
    let _ = res.add_cookie(&cookie(state, CSRF_COOKIE, token.cookie, "/"));
    res
}

/// `GET /report`.
pub async fn show(req: HttpRequest, state: web::Data<IntakeState>) -> HttpResponse {
    form_response(
        &state,
        &req,
        StatusCode::OK,
        &RawAnswers::default(),
        &ValidationErrors::default(),
        None,
    )
}

/// `POST /report`: store, then 303 to the receipt page; or show what needs fixing.
pub async fn submit(req: HttpRequest, multipart: Multipart, state: web::Data<IntakeState>) -> HttpResponse {
    let csrf_cookie = req.cookie(CSRF_COOKIE);
    match submission::receive(
        &state,
        multipart,
        Mode::Form,
        csrf_cookie.as_ref().map(|c| c.value()),
    )
    .await
    {
        Ok(received) => {
            let flash = ReceiptFlash {
                receipt: received.receipt.expose().to_owned(),
                case_ref: received.case_ref.to_string(),
            };
            let sealed = serde_json::to_vec(&flash)
                .map(zeroize::Zeroizing::new)
                .map_err(|e| SubmitError::Internal(Box::new(e)))
                .and_then(|json| {
                    state
                        .flash
                        .seal(RECEIPT_PURPOSE, &json, state.now() + RECEIPT_TTL_SECS)
                        .map_err(|e| SubmitError::Internal(Box::new(e)))
                });
            let sealed = match sealed {
                Ok(sealed) => sealed,
                Err(e) => return error_page(&state, &e),
            };
            let mut c = cookie(&state, RECEIPT_COOKIE, sealed, RECEIPT_PATH);
            c.set_max_age(actix_web::cookie::time::Duration::seconds(RECEIPT_TTL_SECS));
            HttpResponse::SeeOther()
                .insert_header((header::LOCATION, RECEIPT_PATH))
                .cookie(c)
                .finish()
        }
        Err(Refused { error, kept }) => refused(&state, &req, error, kept),
    }
}

/// A refused submission: the form again, filled in, with what happened and which files
/// to attach again; or, where there is nothing to give back, a plain error page.
fn refused(state: &IntakeState, req: &HttpRequest, error: SubmitError, kept: Option<Kept>) -> HttpResponse {
    let Some(kept) = kept else {
        return error_page(state, &error);
    };
    let status = error.status();
    let (errors, notice) = match error {
        SubmitError::Invalid(errors) => {
            let notice = (!kept.files_not_kept.is_empty()).then(|| Notice {
                title: state.messages.get("report.files_title").into_owned(),
                message: state.messages.get("report.files_not_kept").into_owned(),
                files_not_kept: kept.files_not_kept,
            });
            (errors, notice)
        }
        other => {
            let (title, message) = other.describe(state);
            let notice = Notice {
                title: state.messages.get(title).into_owned(),
                message: format!("{message} {}", state.messages.get("report.text_kept")),
                files_not_kept: kept.files_not_kept,
            };
            (ValidationErrors::default(), Some(notice))
        }
    };
    let mut res = form_response(state, req, status, &kept.raw, &errors, notice);
    redress_web::retry_after_if_unavailable(&mut res);
    res
}

fn error_page(state: &IntakeState, e: &SubmitError) -> HttpResponse {
    use actix_web::ResponseError;
    let (title, message) = e.describe(state);
    let t = &state.messages;
    PageError::new(e.status(), t, &state.service_name, t.get(title), message)
        .with_back("/report", t.get("error.back"))
        .error_response()
}

/// `GET /receipt`: shows the receipt once, then forgets it.
pub async fn receipt(req: HttpRequest, state: web::Data<IntakeState>) -> HttpResponse {
    let t = state.messages.clone();
    let flash = req
        .cookie(RECEIPT_COOKIE)
        .and_then(|c| state.flash.open(RECEIPT_PURPOSE, c.value(), state.now()).ok())
        .and_then(|plain| serde_json::from_slice::<ReceiptFlash>(&plain).ok());
    let mut clear = cookie(&state, RECEIPT_COOKIE, String::new(), RECEIPT_PATH);
    clear.make_removal();
    let mut res = match flash {
        Some(f) => html(
            StatusCode::OK,
            &ReceiptPage {
                lang: t.lang().to_owned(),
                dir: t.dir(),
                service_name: state.service_name.clone(),
                title: t.get("receipt.title").into_owned(),
                receipt: f.receipt,
                case_ref: f.case_ref,
                t,
            },
        ),
        None => {
            use actix_web::ResponseError;
            PageError::new(
                StatusCode::GONE,
                &t,
                &state.service_name,
                t.get("receipt.gone_title"),
                t.get("receipt.gone"),
            )
            .error_response()
        }
    };
    let _ = res.add_cookie(&clear);
    res
}
