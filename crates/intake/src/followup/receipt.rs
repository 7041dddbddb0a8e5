//! A new receipt (ADR 0029): `GET /followup/receipt` explains what replacing the
//! receipt does, `POST /followup/receipt` makes one, and `GET /followup/receipt/new`
//! shows it, once.
//!
//! The new receipt's keys are derived as a look-up derives them, the session's thread
//! key is wrapped to its identity, and the store swaps the receipt rows, the
//! reporter's wraps and the case's other sessions in one transaction: from its commit
//! the old receipt is as wrong as any other, and whoever opened a session with it is
//! out. The new receipt travels to the next page only in a cookie sealed to the
//! intake's flash key, for [`SHOWN_FOR_SECS`], and is forgotten once shown.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use askama::Template;
use redress_crypto::Receipt;
use redress_store::NewReceipt;
use redress_web::{CSRF_COOKIE, CsrfCheck, Messages, PageError, html};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::{NoSession, back_to_form, csrf, plain_error, session, small_form, unavailable};
use crate::IntakeState;

const FLASH_COOKIE: &str = "redress_new_receipt";
const FLASH_PURPOSE: &str = "new-receipt";
const SHOWN_AT: &str = "/followup/receipt/new";
/// The new receipt can be shown for this long after it was made.
const SHOWN_FOR_SECS: i64 = 600;

#[derive(Template)]
#[template(path = "followup_receipt.html")]
pub struct ReplacePage {
    lang: String,
    dir: &'static str,
    service_name: String,
    title: String,
    t: Messages,
    csrf: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "followup_new_receipt.html")]
pub struct ShownPage {
    lang: String,
    dir: &'static str,
    service_name: String,
    title: String,
    t: Messages,
    receipt: String,
    case_ref: String,
}

#[derive(Deserialize)]
pub struct ReplaceForm {
    #[serde(default)]
    csrf_token: String,
}

/// What the next page shows, sealed in its cookie.
#[derive(Serialize, Deserialize)]
struct Flash {
    receipt: String,
    case_ref: String,
}

impl Drop for Flash {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.receipt);
    }
}

/// The explanation and the form, with a fresh CSRF token.
fn replace_page(
    state: &IntakeState,
    req: &HttpRequest,
    status: StatusCode,
    error: Option<String>,
) -> HttpResponse {
    let t = state.messages.clone();
    let token = state
        .csrf
        .issue(req.cookie(CSRF_COOKIE).as_ref().map(|c| c.value()), state.now());
    let page = ReplacePage {
        lang: t.lang().to_owned(),
        dir: t.dir(),
        service_name: state.service_name.clone(),
        title: t.get("followup.new_receipt.title").into_owned(),
        t,
        csrf: token.field,
        error,
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

/// `GET /followup/receipt`: what a new receipt does, and the button that makes one.
pub async fn show(req: HttpRequest, state: web::Data<IntakeState>) -> HttpResponse {
    match session(&state, &req).await {
        Ok(_) => replace_page(&state, &req, StatusCode::OK, None),
        Err(NoSession::Ended) => back_to_form(&state),
        Err(NoSession::Unavailable) => unavailable(&state),
    }
}

/// `POST /followup/receipt`: replaces the case's receipt, then 303 to the page that
/// shows the new one.
pub async fn replace(req: HttpRequest, body: web::Bytes, state: web::Data<IntakeState>) -> HttpResponse {
    let form: Option<ReplaceForm> = small_form(&body);
    match csrf(&state, &req, form.as_ref().map(|f| f.csrf_token.as_str())) {
        CsrfCheck::Valid => {}
        CsrfCheck::Expired => {
            let text = state.messages.get("followup.new_receipt.expired").into_owned();
            return replace_page(&state, &req, StatusCode::BAD_REQUEST, Some(text));
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
    let Ok(case) = state.store.case_by_id(s.case_id).await else {
        return unavailable(&state);
    };
    let Some(case) = case else {
        return back_to_form(&state);
    };
    let receipt = Receipt::generate();
    let Ok(keys) = state.derive_receipt_keys(receipt.clone()).await else {
        return unavailable(&state);
    };
    let Ok(wrap) = redress_keychain::wrap_thread_key_to_reporter(&s.thread, &keys.identity.public()) else {
        return unavailable(&state);
    };
    let new = NewReceipt {
        lookup: keys.lookup,
        kdf_salt: state.receipt_salt.clone(),
        kdf_m_kib: state.kdf.m_kib,
        kdf_t: state.kdf.t,
        kdf_p: state.kdf.p,
    };
    match state
        .store
        .replace_receipt(s.case_id, &s.key.lookup(), &new, &wrap)
        .await
    {
        Ok(true) => {}
        // Ended meanwhile, by its own clock or by another session's new receipt.
        Ok(false) => return back_to_form(&state),
        Err(_) => return unavailable(&state),
    }
    let flash = Flash {
        receipt: receipt.expose().to_owned(),
        case_ref: case.case_ref.to_string(),
    };
    let sealed = serde_json::to_vec(&flash)
        .map(Zeroizing::new)
        .ok()
        .and_then(|json| {
            state
                .flash
                .seal(FLASH_PURPOSE, &json, state.now() + SHOWN_FOR_SECS)
                .ok()
        });
    // The receipt is replaced: without its cookie the reporter could never learn the
    // new one. Sealing a few bytes does not fail in practice; if it does, say so.
    let Some(sealed) = sealed else {
        return plain_error(
            &state,
            StatusCode::INTERNAL_SERVER_ERROR,
            "followup.new_receipt.lost_title",
            "followup.new_receipt.lost",
        );
    };
    let mut c = redress_web::cookie(FLASH_COOKIE, sealed, SHOWN_AT, state.secure_cookies);
    c.set_max_age(actix_web::cookie::time::Duration::seconds(SHOWN_FOR_SECS));
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, SHOWN_AT))
        .cookie(c)
        .finish()
}

/// `GET /followup/receipt/new`: the new receipt, once; afterwards, that it was shown.
pub async fn shown(req: HttpRequest, state: web::Data<IntakeState>) -> HttpResponse {
    let t = state.messages.clone();
    let flash = req
        .cookie(FLASH_COOKIE)
        .and_then(|c| state.flash.open(FLASH_PURPOSE, c.value(), state.now()).ok())
        .and_then(|plain| serde_json::from_slice::<Flash>(&plain).ok());
    let mut res = match flash {
        Some(f) => html(
            StatusCode::OK,
            &ShownPage {
                lang: t.lang().to_owned(),
                dir: t.dir(),
                service_name: state.service_name.clone(),
                title: t.get("followup.new_receipt.shown_title").into_owned(),
                receipt: f.receipt.clone(),
                case_ref: f.case_ref.clone(),
                t,
            },
        ),
        None => PageError::new(
            StatusCode::GONE,
            &t,
            &state.service_name,
            t.get("followup.new_receipt.gone_title"),
            t.get("followup.new_receipt.gone"),
        )
        .with_back("/followup/case", t.get("followup.new_receipt.back"))
        .error_response(),
    };
    let mut clear = redress_web::cookie(FLASH_COOKIE, String::new(), SHOWN_AT, state.secure_cookies);
    clear.make_removal();
    let _ = res.add_cookie(&clear);
    res
}
