//! The reporter comes back with the receipt (ADR 0028): `GET/POST /followup` looks the
//! receipt up, `GET /followup/case` shows the case's status, its timeline and the
//! conversation, `POST /followup/logout` ends the session. No JavaScript, the same
//! headers as the report form.
//!
//! A look-up always runs the receipt's key derivation, so a wrong receipt costs what a
//! right one does and every wrong receipt gets the same answer. Guessing is slowed
//! without keying on anything that identifies a client: a budget of look-ups per
//! minute for the whole process ([`LookupBudget`]), taken before the derivation and
//! given back when the receipt was right, and a count of wrong receipts kept in a
//! sealed cookie of the browser's own.
//!
//! A right receipt opens a session: a key that only the cookie holds finds a row, and
//! the row holds the case's thread key and the session's times sealed to that key. The
//! database keeps, in the clear, only the hour after which the row may go.

use std::sync::Mutex;

use actix_web::cookie::Cookie;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use redress_crypto::{CookieKey, Receipt, SecretIdentity};
use redress_domain::{CaseId, hour_ceil};
use redress_web::{CSRF_COOKIE, CsrfCheck, Messages, PageError, html};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::IntakeState;

mod api;
mod case;
pub(crate) mod identity;
pub(crate) mod receipt;

pub use api::{api_case, api_logout, api_open, api_read, api_send};
pub use case::{case, read, send};

pub const SESSION_COOKIE: &str = "redress_followup";
const TRIES_COOKIE: &str = "redress_followup_tries";
const TRIES_PURPOSE: &str = "followup-tries";
pub(crate) const PATH: &str = "/followup";
/// A session ends after this long without a request…
pub const IDLE_SECS: i64 = 15 * 60;
/// …and this long after it opened, whatever the activity.
pub const ABSOLUTE_SECS: i64 = 60 * 60;
/// Wrong receipts one browser may try in [`TRIES_WINDOW_SECS`].
pub const TRIES_PER_BROWSER: u32 = 5;
pub const TRIES_WINDOW_SECS: i64 = 15 * 60;
/// The session's times are written again at most this often.
const TOUCH_EVERY_SECS: i64 = 60;
/// A receipt typed with generous spacing is well under this.
const FORM_LIMIT: usize = 4 * 1024;

/// Look-ups the whole process runs per minute, right receipts given back. Kept in
/// memory only: a count in the database would date each wrong receipt to the minute.
#[derive(Debug)]
pub struct LookupBudget {
    per_minute: u32,
    /// (the minute, look-ups taken in it)
    taken: Mutex<(i64, u32)>,
}

impl LookupBudget {
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            taken: Mutex::new((0, 0)),
        }
    }

    /// Takes one look-up from this minute's budget; if none is left, the seconds until
    /// the next minute.
    fn take(&self, now: i64) -> Result<(), i64> {
        let minute = now.div_euclid(60);
        let mut taken = self
            .taken
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if taken.0 != minute {
            *taken = (minute, 0);
        }
        if taken.1 >= self.per_minute {
            return Err(60 - now.rem_euclid(60));
        }
        taken.1 += 1;
        Ok(())
    }

    /// Gives back a look-up that found its report: only wrong receipts spend the budget.
    fn give_back(&self, now: i64) {
        let mut taken = self
            .taken
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if taken.0 == now.div_euclid(60) {
            taken.1 = taken.1.saturating_sub(1);
        }
    }
}

/// What a session holds, sealed to the cookie's key.
#[derive(Serialize, Deserialize)]
struct Held {
    /// The thread key, as an age identity line.
    thread: String,
    opened_at: i64,
    last_seen: i64,
}

impl Drop for Held {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.thread);
    }
}

/// Wrong receipts this browser tried: how many, since when.
#[derive(Serialize, Deserialize, Default)]
struct Tries {
    count: u32,
    since: i64,
}

#[derive(Template)]
#[template(path = "followup.html")]
pub struct LookupPage {
    lang: String,
    dir: &'static str,
    service_name: String,
    title: String,
    t: Messages,
    csrf: String,
    /// Why the form is shown again: a wrong receipt, a wait, an ended session.
    notice: Option<String>,
    error: Option<String>,
    left: bool,
}

#[derive(Deserialize)]
pub struct LookupForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    receipt: String,
}

#[derive(Deserialize)]
pub struct LogoutForm {
    #[serde(default)]
    csrf_token: String,
}

pub(crate) fn cookie(state: &IntakeState, name: &'static str, value: String) -> Cookie<'static> {
    redress_web::cookie(name, value, PATH, state.secure_cookies)
}

pub(crate) fn removal(state: &IntakeState, name: &'static str) -> Cookie<'static> {
    let mut c = cookie(state, name, String::new());
    c.make_removal();
    c
}

/// A small url-encoded form (a receipt, a CSRF token, a line of text); `None` if it is
/// too large or does not read.
pub(crate) fn small_form<T: serde::de::DeserializeOwned>(body: &[u8]) -> Option<T> {
    (body.len() <= FORM_LIMIT)
        .then(|| serde_urlencoded::from_bytes(body).ok())
        .flatten()
}

/// Whether `token` is a CSRF token this browser's cookie was given.
pub(crate) fn csrf(state: &IntakeState, req: &HttpRequest, token: Option<&str>) -> CsrfCheck {
    state.csrf.check(
        req.cookie(CSRF_COOKIE).as_ref().map(|c| c.value()),
        token,
        state.now(),
        state.limits.form_max_age_secs,
    )
}

pub(crate) use redress_web::day;

/// The look-up form, with a fresh CSRF token, and what to say above it.
fn lookup_page(
    state: &IntakeState,
    req: &HttpRequest,
    status: StatusCode,
    notice: Option<String>,
    error: Option<String>,
) -> HttpResponse {
    let t = state.messages.clone();
    let existing = req.cookie(CSRF_COOKIE);
    let token = state
        .csrf
        .issue(existing.as_ref().map(|c| c.value()), state.now());
    let left = req.query_string().split('&').any(|p| p == "left=1");
    let notice = notice.or_else(|| {
        req.query_string()
            .split('&')
            .any(|p| p == "ended=1")
            .then(|| t.get("followup.ended").into_owned())
    });
    let page = LookupPage {
        lang: t.lang().to_owned(),
        dir: t.dir(),
        service_name: state.service_name.clone(),
        title: t.get("followup.title").into_owned(),
        t,
        csrf: token.field,
        notice,
        error,
        left,
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

/// `GET /followup`: the form for the receipt.
pub async fn show(req: HttpRequest, state: web::Data<IntakeState>) -> HttpResponse {
    lookup_page(&state, &req, StatusCode::OK, None, None)
}

/// A refusal that asks the reporter to wait `secs` seconds.
fn wait(state: &IntakeState, req: &HttpRequest, key: &str, secs: i64) -> HttpResponse {
    let minutes = ((secs + 59) / 60).max(1);
    let text = state.messages.fill(key, &[("minutes", &minutes.to_string())]);
    let mut res = lookup_page(state, req, StatusCode::TOO_MANY_REQUESTS, None, Some(text));
    if let Ok(v) = header::HeaderValue::from_str(&secs.max(1).to_string()) {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
    res
}

pub(crate) fn plain_error(
    state: &IntakeState,
    status: StatusCode,
    title: &str,
    message: &str,
) -> HttpResponse {
    use actix_web::ResponseError;
    let t = &state.messages;
    PageError::new(status, t, &state.service_name, t.get(title), t.get(message))
        .with_back(PATH, t.get("error.back"))
        .error_response()
}

/// `POST /followup`: looks the receipt up; a right one opens a session.
pub async fn lookup(req: HttpRequest, body: web::Bytes, state: web::Data<IntakeState>) -> HttpResponse {
    let now = state.now();
    let Some(form) = small_form::<LookupForm>(&body) else {
        return plain_error(
            &state,
            StatusCode::BAD_REQUEST,
            "followup.bad_form_title",
            "followup.bad_form",
        );
    };
    let typed = Zeroizing::new(form.receipt);
    match csrf(&state, &req, Some(&form.csrf_token)) {
        CsrfCheck::Valid => {}
        CsrfCheck::Expired => {
            let text = state.messages.get("followup.expired").into_owned();
            return lookup_page(&state, &req, StatusCode::BAD_REQUEST, None, Some(text));
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
    // This browser's wrong receipts: past the limit, wait out the window.
    let tries = req
        .cookie(TRIES_COOKIE)
        .and_then(|c| state.flash.open(TRIES_PURPOSE, c.value(), now).ok())
        .and_then(|plain| serde_json::from_slice::<Tries>(&plain).ok())
        .filter(|t| now - t.since < TRIES_WINDOW_SECS)
        .unwrap_or(Tries { count: 0, since: now });
    if tries.count >= TRIES_PER_BROWSER {
        return wait(
            &state,
            &req,
            "followup.browser_wait",
            tries.since + TRIES_WINDOW_SECS - now,
        );
    }
    match look_up(&state, &typed, now).await {
        LookedUp::Opened(key, _) => {
            let mut res = HttpResponse::SeeOther()
                .insert_header((header::LOCATION, "/followup/case"))
                .finish();
            let _ = res.add_cookie(&cookie(&state, SESSION_COOKIE, key.cookie_value().to_string()));
            let _ = res.add_cookie(&removal(&state, TRIES_COOKIE));
            res
        }
        LookedUp::Wait(secs) => wait(&state, &req, "followup.busy_wait", secs),
        LookedUp::Wrong => {
            let tries = Tries {
                count: tries.count + 1,
                since: tries.since,
            };
            let text = state.messages.get("followup.wrong").into_owned();
            let mut res = lookup_page(&state, &req, StatusCode::UNPROCESSABLE_ENTITY, None, Some(text));
            let sealed = serde_json::to_vec(&tries).ok().and_then(|json| {
                state
                    .flash
                    .seal(TRIES_PURPOSE, &json, tries.since + TRIES_WINDOW_SECS)
                    .ok()
            });
            if let Some(sealed) = sealed {
                let _ = res.add_cookie(&cookie(&state, TRIES_COOKIE, sealed));
            }
            res
        }
        LookedUp::Unavailable => unavailable(&state),
    }
}

/// What a look-up came to.
pub(crate) enum LookedUp {
    /// A right receipt: a session of this case, and the key for the client to hold.
    Opened(CookieKey, CaseId),
    /// A wrong receipt (or text that is none).
    Wrong,
    /// The budget of this minute is spent: wait this many seconds.
    Wait(i64),
    Unavailable,
}

/// Looks `typed` up within this minute's budget; a right receipt gives its look-up
/// back and opens a session.
pub(crate) async fn look_up(state: &IntakeState, typed: &str, now: i64) -> LookedUp {
    if let Err(secs) = state.lookups.take(now) {
        redress_logging::count("intake", "followup_budget_spent");
        return LookedUp::Wait(secs);
    }
    match find(state, typed).await {
        Ok(Some((case_id, thread))) => {
            state.lookups.give_back(now);
            match open_session(state, case_id, &thread, now).await {
                Ok(key) => LookedUp::Opened(key, case_id),
                Err(()) => LookedUp::Unavailable,
            }
        }
        Ok(None) => LookedUp::Wrong,
        Err(()) => LookedUp::Unavailable,
    }
}

pub(crate) fn unavailable(state: &IntakeState) -> HttpResponse {
    let mut res = plain_error(
        state,
        StatusCode::SERVICE_UNAVAILABLE,
        "followup.unavailable_title",
        "followup.unavailable",
    );
    redress_web::retry_after_if_unavailable(&mut res);
    res
}

/// The case a receipt opens and its thread key; `None` for a wrong receipt. The key
/// derivation runs whatever was typed: text that is not a receipt derives from a
/// fresh random one, so it takes as long as any wrong receipt.
async fn find(state: &IntakeState, typed: &str) -> Result<Option<(CaseId, SecretIdentity)>, ()> {
    let receipt = Receipt::parse(typed);
    let well_formed = receipt.is_some();
    let receipt = receipt.unwrap_or_else(Receipt::generate);
    // Every set of parameters receipts were made with, the current first: a wrong
    // receipt runs them all, so every wrong receipt costs the same.
    let mut found = None;
    for (salt, kdf) in state.receipt_kdf_sets().await.map_err(|_| ())? {
        let keys = state
            .derive_receipt_keys_with(receipt.clone(), salt, kdf)
            .await
            .map_err(|_| ())?;
        if let Some(stored) = state.store.receipt(&keys.lookup).await.map_err(|_| ())? {
            found = Some((stored, keys));
            break;
        }
    }
    let Some((stored, keys)) = found.filter(|_| well_formed) else {
        return Ok(None);
    };
    match redress_keychain::open_thread_as_reporter(&state.store, stored.case_id, &keys.identity).await {
        Ok(thread) => Ok(Some((stored.case_id, thread))),
        // A receipt row whose wrap this receipt does not open: as wrong as any other.
        Err(redress_keychain::KeychainError::Crypto(_) | redress_keychain::KeychainError::NoWrap(_)) => {
            Ok(None)
        }
        Err(_) => Err(()),
    }
}

/// Opens a session for `case_id` holding `thread`; the key for the cookie.
async fn open_session(
    state: &IntakeState,
    case_id: CaseId,
    thread: &SecretIdentity,
    now: i64,
) -> Result<CookieKey, ()> {
    let key = CookieKey::generate();
    let held = Held {
        thread: thread.to_identity_file().to_string(),
        opened_at: now,
        last_seen: now,
    };
    let sealed = seal_held(&key, &held)?;
    state
        .store
        .insert_followup_session(&key.lookup(), case_id, &sealed, hour_ceil(now + ABSOLUTE_SECS))
        .await
        .map_err(|_| ())?;
    Ok(key)
}

fn seal_held(key: &CookieKey, held: &Held) -> Result<Vec<u8>, ()> {
    let json = Zeroizing::new(serde_json::to_vec(held).map_err(|_| ())?);
    key.seal(&json).map_err(|_| ())
}

/// A session found by the request's cookie and still open.
pub(crate) struct Session {
    pub(crate) key: CookieKey,
    pub(crate) case_id: CaseId,
    /// The case's thread key, opened for this request.
    pub(crate) thread: SecretIdentity,
    pub(crate) opened_at: i64,
}

/// Why there is no session to serve.
pub(crate) enum NoSession {
    /// None, or one that ended: back to the form.
    Ended,
    /// The database is away.
    Unavailable,
}

/// The session of the request's cookie; see [`session_of`].
pub(crate) async fn session(state: &IntakeState, req: &HttpRequest) -> Result<Session, NoSession> {
    let key = req
        .cookie(SESSION_COOKIE)
        .and_then(|c| CookieKey::from_cookie(c.value()))
        .ok_or(NoSession::Ended)?;
    session_of(state, key).await
}

/// The session `key` finds, its times moved on; ended sessions are deleted.
pub(crate) async fn session_of(state: &IntakeState, key: CookieKey) -> Result<Session, NoSession> {
    let now = state.now();
    let lookup = key.lookup();
    let row = state
        .store
        .followup_session(&lookup, now)
        .await
        .map_err(|_| NoSession::Unavailable)?
        .ok_or(NoSession::Ended)?;
    let plain = key.open(&row.sealed).map_err(|_| NoSession::Ended)?;
    let mut held: Held = serde_json::from_slice(&plain).map_err(|_| NoSession::Ended)?;
    if now - held.last_seen > IDLE_SECS || now - held.opened_at > ABSOLUTE_SECS {
        let _ = state.store.forget_followup_session(&lookup).await;
        return Err(NoSession::Ended);
    }
    let thread = SecretIdentity::parse(&held.thread).map_err(|_| NoSession::Ended)?;
    if now - held.last_seen >= TOUCH_EVERY_SECS {
        held.last_seen = now;
        let sealed = seal_held(&key, &held).map_err(|()| NoSession::Unavailable)?;
        state
            .store
            .reseal_followup_session(&lookup, &sealed)
            .await
            .map_err(|_| NoSession::Unavailable)?;
    }
    Ok(Session {
        key,
        case_id: row.case_id,
        thread,
        opened_at: held.opened_at,
    })
}

pub(crate) fn back_to_form(state: &IntakeState) -> HttpResponse {
    let mut res = HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/followup?ended=1"))
        .finish();
    let _ = res.add_cookie(&removal(state, SESSION_COOKIE));
    res
}

/// `POST /followup/logout`: ends the session.
pub async fn logout(req: HttpRequest, body: web::Bytes, state: web::Data<IntakeState>) -> HttpResponse {
    let form: Option<LogoutForm> = small_form(&body);
    if csrf(&state, &req, form.as_ref().map(|f| f.csrf_token.as_str())) == CsrfCheck::Invalid {
        return plain_error(
            &state,
            StatusCode::FORBIDDEN,
            "followup.bad_form_title",
            "followup.bad_form",
        );
    }
    if let Some(key) = req
        .cookie(SESSION_COOKIE)
        .and_then(|c| CookieKey::from_cookie(c.value()))
        && state.store.forget_followup_session(&key.lookup()).await.is_err()
    {
        return unavailable(&state);
    }
    let mut res = HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/followup?left=1"))
        .finish();
    let _ = res.add_cookie(&removal(&state, SESSION_COOKIE));
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_counts_wrong_look_ups_per_minute() {
        let budget = LookupBudget::new(2);
        assert!(budget.take(120).is_ok());
        budget.give_back(121);
        assert!(budget.take(122).is_ok());
        assert!(budget.take(123).is_ok());
        assert_eq!(budget.take(150), Err(30));
        // The next minute starts afresh.
        assert!(budget.take(180).is_ok());
    }
}
