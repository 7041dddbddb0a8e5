//! Sharing who one is, later (ADR 0029): `GET /followup/identity` explains what sharing
//! a name or a way to be reached means, `POST /followup/identity` seals what was typed
//! to the case key and stores it as an entry of its own.
//!
//! The text is sealed to the case key only, never to the thread key: the receipt, and
//! whoever holds it, cannot read it back, and the reporter's pages never say that it
//! was shared. Its time is the hour, as for anything a reporter does.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use redress_crypto::PublicKey;
use redress_domain::{EntryDocument, EntryKind, EntryText, EntryTextError, Sealed, hour_floor};
use redress_store::NewCaseEntry;
use redress_web::{CSRF_COOKIE, CsrfCheck, Messages, html};
use serde::Deserialize;

use super::{NoSession, back_to_form, csrf, plain_error, session, unavailable};
use crate::IntakeState;

const PAGE: &str = "/followup/identity";
/// A name and some ways to be reached fit in far less.
pub const MAX_CHARS: usize = 2_000;
/// [`MAX_CHARS`] characters, each up to four bytes of UTF-8 sent as `%XX` escapes, and
/// the CSRF token.
const BODY_LIMIT: usize = MAX_CHARS * 12 + 1024;

#[derive(Template)]
#[template(path = "followup_identity.html")]
pub struct IdentityPage {
    lang: String,
    dir: &'static str,
    service_name: String,
    title: String,
    t: Messages,
    csrf: String,
    /// What was typed, given back with an error.
    typed: String,
    error: Option<String>,
    shared: bool,
    hint: String,
}

#[derive(Deserialize)]
pub struct IdentityForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    identity: String,
}

impl Drop for IdentityForm {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.identity);
    }
}

fn identity_page(
    state: &IntakeState,
    req: &HttpRequest,
    status: StatusCode,
    typed: String,
    error: Option<String>,
) -> HttpResponse {
    let t = state.messages.clone();
    let token = state
        .csrf
        .issue(req.cookie(CSRF_COOKIE).as_ref().map(|c| c.value()), state.now());
    let page = IdentityPage {
        lang: t.lang().to_owned(),
        dir: t.dir(),
        service_name: state.service_name.clone(),
        title: t.get("followup.identity.title").into_owned(),
        csrf: token.field,
        typed,
        error,
        shared: query_has(req, "shared=1"),
        hint: t.fill("followup.identity.hint", &[("limit", &MAX_CHARS.to_string())]),
        t,
    };
    let mut res = html(status, &page);
    let _ = res.add_cookie(&redress_web::cookie(
        CSRF_COOKIE,
        token.cookie,
        "/",
        state.secure_cookies,
    ));
    res
}

fn query_has(req: &HttpRequest, part: &str) -> bool {
    req.method() == actix_web::http::Method::GET && req.query_string().split('&').any(|p| p == part)
}

/// `GET /followup/identity`: what sharing means, and the form.
pub async fn show(req: HttpRequest, state: web::Data<IntakeState>) -> HttpResponse {
    match session(&state, &req).await {
        Ok(_) => identity_page(&state, &req, StatusCode::OK, String::new(), None),
        Err(NoSession::Ended) => back_to_form(&state),
        Err(NoSession::Unavailable) => unavailable(&state),
    }
}

/// `POST /followup/identity`: seals what was typed to the case key and stores it; then
/// 303 to the page, which says it was sent.
pub async fn share(req: HttpRequest, body: web::Bytes, state: web::Data<IntakeState>) -> HttpResponse {
    let t = &state.messages;
    if body.len() > BODY_LIMIT {
        let text = t.fill("followup.identity.too_long", &[("limit", &MAX_CHARS.to_string())]);
        return identity_page(
            &state,
            &req,
            StatusCode::PAYLOAD_TOO_LARGE,
            String::new(),
            Some(text),
        );
    }
    let Ok(form) = serde_urlencoded::from_bytes::<IdentityForm>(&body) else {
        return plain_error(
            &state,
            StatusCode::BAD_REQUEST,
            "followup.bad_form_title",
            "followup.bad_form",
        );
    };
    match csrf(&state, &req, Some(&form.csrf_token)) {
        CsrfCheck::Valid => {}
        CsrfCheck::Expired => {
            let text = t.get("followup.identity.expired").into_owned();
            return identity_page(
                &state,
                &req,
                StatusCode::BAD_REQUEST,
                form.identity.clone(),
                Some(text),
            );
        }
        CsrfCheck::Invalid => {
            return plain_error(
                &state,
                StatusCode::FORBIDDEN,
                "followup.bad_form_title",
                "followup.bad_form",
            );
        }
    }
    let s = match session(&state, &req).await {
        Ok(s) => s,
        Err(NoSession::Ended) => return back_to_form(&state),
        Err(NoSession::Unavailable) => return unavailable(&state),
    };
    let text = match EntryText::parse(&form.identity) {
        Ok(text) if text_chars(&text) <= MAX_CHARS => text,
        refused => {
            let error = match refused {
                Err(EntryTextError::Empty) => t.get("followup.identity.empty").into_owned(),
                Err(EntryTextError::Control) => t.get("followup.identity.control").into_owned(),
                Ok(_) | Err(EntryTextError::TooLong) => {
                    t.fill("followup.identity.too_long", &[("limit", &MAX_CHARS.to_string())])
                }
            };
            return identity_page(
                &state,
                &req,
                StatusCode::UNPROCESSABLE_ENTITY,
                form.identity.clone(),
                Some(error),
            );
        }
    };
    match store(&state, s.case_id, text).await {
        // Not counted in the log either: like an accepted report, what a reporter did
        // is not the log's to tell, not even as a number for the hour.
        Ok(()) => HttpResponse::SeeOther()
            .insert_header((header::LOCATION, format!("{PAGE}?shared=1")))
            .finish(),
        Err(()) => unavailable(&state),
    }
}

fn text_chars(text: &EntryText) -> usize {
    text.clone().into_string().chars().count()
}

/// Seals `text` to the case's case key and stores it as an identity disclosure.
async fn store(state: &IntakeState, case_id: redress_domain::CaseId, text: EntryText) -> Result<(), ()> {
    let case = state.store.case_by_id(case_id).await.map_err(|_| ())?.ok_or(())?;
    // The intake holds no case key, only the case row's public half (see ADR 0002 on
    // who can change that column, and the threat model).
    let case_key = PublicKey::parse(&case.case_recipient).map_err(|_| ())?;
    let json = EntryDocument::new(text, None).to_json().map_err(|_| ())?;
    let ciphertext = redress_crypto::seal(&[&case_key], &json).map_err(|_| ())?;
    let entry = NewCaseEntry {
        kind: EntryKind::IdentityDisclosure,
        author: None,
        at: hour_floor(state.now()),
        ciphertext,
    };
    let disclosure = redress_store::ReporterMessage {
        entry,
        objects: Vec::new(),
        emails: Vec::new(),
    };
    state
        .store
        .add_reporter_message(case_id, &disclosure, hour_floor(state.now()))
        .await
        .map_err(|_| ())?;
    Ok(())
}
