//! What every portal form shares: the CSRF check, reading a form body, the failure
//! page, and keeping what a person typed when their session ended while they typed it
//! (ADR 0022).

use actix_web::dev::ServiceRequest;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use redress_crypto::CookieKey;
use redress_store::StoreError;
use redress_web::{CsrfCheck, PageError};
use serde::de::DeserializeOwned;

use crate::PortalState;

/// The CSRF cookie's name (with `__Host-` in front when cookies are secure). Not the
/// intake's: cookies are not kept apart by port, and the portal's token is signed with
/// a key of its own.
pub const CSRF_COOKIE: &str = "redress_portal_csrf";

/// Where a form kept across a login is found again.
const KEPT_COOKIE: &str = "redress_portal_kept";

/// A kept form waits this long for its person to log in again.
const KEPT_SECS: i64 = 3600;

/// Form bodies are small: text fields only.
pub const FORM_LIMIT: usize = 64 * 1024;

/// Fields never kept across a login: secrets and one-time codes.
const NEVER_KEPT: &[&str] = &[
    redress_web::CSRF_FIELD,
    "password",
    "confirm",
    "current_password",
    "new_password",
    "code",
    "existing_identity",
    "passphrase",
];

/// Why a request could not be served. Its page says only what kind of failure it was;
/// the cause is noted for the hourly log.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Crypto(#[from] redress_crypto::CryptoError),
    #[error(transparent)]
    Audit(#[from] redress_audit::AuditError),
    #[error(transparent)]
    Keychain(#[from] redress_keychain::KeychainError),
    #[error("a key derivation did not finish")]
    Task(#[from] tokio::task::JoinError),
    /// Something that cannot fail did: a bug, named here.
    #[error("{0}")]
    Internal(&'static str),
    /// More key derivations are waiting than the portal runs at once.
    #[error("too many logins at once")]
    Busy,
}

impl From<crate::InviteError> for Failure {
    /// An invitation error no person can act on: the database's or the log's.
    fn from(e: crate::InviteError) -> Self {
        match e {
            crate::InviteError::Store(e) => Self::Store(e),
            crate::InviteError::Audit(e) => Self::Audit(e),
            _ => Self::Internal("an invitation refused without a message"),
        }
    }
}

impl Failure {
    fn unavailable(&self) -> bool {
        match self {
            Self::Busy => true,
            Self::Store(e)
            | Self::Audit(redress_audit::AuditError::Store(e))
            | Self::Keychain(redress_keychain::KeychainError::Store(e)) => e.is_unavailable(),
            _ => false,
        }
    }

    /// The page for this failure, in the portal's words.
    pub fn page(&self, state: &PortalState) -> HttpResponse {
        let t = &state.messages;
        let (status, title, message) = if self.unavailable() {
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "error.unavailable_title",
                "error.unavailable",
            )
        } else {
            redress_logging::note("portal", "internal", redress_logging::cause_chain(self));
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "error.internal_title",
                "error.internal",
            )
        };
        PageError::new(status, t, &state.service_name, t.get(title), t.get(message)).error_response()
    }
}

/// A handler's result: a response, or the failure page.
pub type Answer = Result<HttpResponse, Failure>;

/// Turns a handler's result into its response.
pub fn answer(state: &PortalState, result: Answer) -> HttpResponse {
    result.unwrap_or_else(|f| f.page(state))
}

/// At most this many forms are kept at once: what a person with an account could
/// otherwise store by posting after their session ended.
const KEPT_MAX: u64 = 1000;

/// A fresh CSRF token for a page's forms (reusing the browser's nonce), and the cookie
/// to set with it. A page served to someone signed in gets a token of the staff kind.
pub fn issue_csrf(
    state: &PortalState,
    req: &HttpRequest,
    signed_in: bool,
) -> (String, actix_web::cookie::Cookie<'static>) {
    let name = state.cookie_name(CSRF_COOKIE);
    let existing = req.cookie(&name);
    let keys = if signed_in { &state.staff_csrf } else { &state.csrf };
    let token = keys.issue(existing.as_ref().map(|c| c.value()), state.now());
    (token.field, state.cookie(CSRF_COOKIE, token.cookie))
}

/// Whether a posted form's token was issued to this browser by this portal (of either
/// kind), within a session's longest life.
pub fn check_csrf(state: &PortalState, req: &HttpRequest, field: Option<&str>) -> CsrfCheck {
    let checks = [
        csrf_check(state, &state.staff_csrf, req, field),
        csrf_check(state, &state.csrf, req, field),
    ];
    if checks.contains(&CsrfCheck::Valid) {
        CsrfCheck::Valid
    } else if checks.contains(&CsrfCheck::Expired) {
        CsrfCheck::Expired
    } else {
        CsrfCheck::Invalid
    }
}

fn csrf_check(
    state: &PortalState,
    keys: &redress_web::CsrfKeys,
    req: &HttpRequest,
    field: Option<&str>,
) -> CsrfCheck {
    let cookie = req.cookie(&state.cookie_name(CSRF_COOKIE));
    keys.check(
        cookie.as_ref().map(|c| c.value()),
        field,
        state.now(),
        state.settings.session_absolute_secs,
    )
}

/// The page for a form whose token did not check out: nothing was done.
fn csrf_refused(state: &PortalState, back: &str) -> HttpResponse {
    let t = &state.messages;
    PageError::new(
        StatusCode::FORBIDDEN,
        t,
        &state.service_name,
        t.get("error.csrf_title"),
        t.get("error.csrf"),
    )
    .with_back(back, t.get("error.back"))
    .error_response()
}

/// A posted form, read and checked, or the answer to give instead.
#[derive(Debug)]
pub enum Posted<T> {
    Form(T),
    Refused(HttpResponse),
}

#[derive(serde::Deserialize)]
struct WithToken<T> {
    csrf_token: Option<String>,
    #[serde(flatten)]
    form: T,
}

/// Reads a posted form into `T` (its fields, all text) once its CSRF token checks out:
/// the one way a portal handler reads a form. Otherwise the refusal: a form that
/// cannot be read (400) or whose token is not this browser's (403, with a link to
/// `back`); nothing is done either way.
pub fn posted<T: DeserializeOwned>(
    state: &PortalState,
    req: &HttpRequest,
    body: &[u8],
    back: &str,
) -> Posted<T> {
    let Ok(read) = serde_urlencoded::from_bytes::<WithToken<T>>(body) else {
        return Posted::Refused(unreadable(state));
    };
    if check_csrf(state, req, read.csrf_token.as_deref()) != CsrfCheck::Valid {
        return Posted::Refused(csrf_refused(state, back));
    }
    Posted::Form(read.form)
}

/// The clear refusal (400) of a form that could not be read, naming nothing of it.
fn unreadable(state: &PortalState) -> HttpResponse {
    let t = &state.messages;
    PageError::new(
        StatusCode::BAD_REQUEST,
        t,
        &state.service_name,
        t.get("error.bad_form_title"),
        t.get("error.bad_form"),
    )
    .error_response()
}

/// A path to send someone to after logging in: a path of this portal, never another
/// site.
pub fn safe_next(next: Option<&str>) -> Option<String> {
    let next = next?.trim();
    let local = next.starts_with('/')
        && !next.starts_with("//")
        && next.len() <= 200
        && next
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/-_.~".contains(c));
    local.then(|| next.to_owned())
}

/// A form posted after its session ended: keeps what was typed (no secrets), sealed to
/// a new key given to the browser, and sends the person to log in and then back to the
/// page. Only a form served to someone signed in (a staff token that checks out) is
/// kept, and at most [`KEPT_MAX`] at once.
pub async fn keep_and_log_in(state: &PortalState, req: ServiceRequest) -> HttpResponse {
    let path = req.path().to_owned();
    let (http, mut payload) = req.into_parts();
    let mut login = HttpResponse::SeeOther();
    login.insert_header((
        actix_web::http::header::LOCATION,
        format!("/login?ended=1&next={}", encode(&path)),
    ));
    let Ok(body) = read_body(&mut payload).await else {
        return login.finish();
    };
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let token = pairs
        .iter()
        .find(|(k, _)| k == redress_web::CSRF_FIELD)
        .map(|(_, v)| v.as_str());
    if csrf_check(state, &state.staff_csrf, &http, token) != CsrfCheck::Valid {
        return login.finish();
    }
    let kept: Vec<(String, String)> = pairs
        .into_iter()
        .filter(|(k, v)| !NEVER_KEPT.contains(&k.as_str()) && !v.is_empty())
        .collect();
    if kept.is_empty() {
        return login.finish();
    }
    let key = CookieKey::generate();
    let sealed = serde_json::to_vec(&kept)
        .map(zeroize::Zeroizing::new)
        .ok()
        .and_then(|json| key.seal(&json).ok());
    let now = state.now();
    let room = state.store.kept_form_count().await.is_ok_and(|n| n < KEPT_MAX);
    let stored = match sealed.filter(|_| room) {
        Some(sealed) => state
            .store
            .keep_form(&key.lookup(), &path, &sealed, now + KEPT_SECS)
            .await
            .is_ok(),
        None => false,
    };
    if stored {
        let mut c = state.cookie(KEPT_COOKIE, key.cookie_value().to_string());
        c.set_max_age(actix_web::cookie::time::Duration::seconds(KEPT_SECS));
        login.cookie(c);
    } else {
        redress_logging::count("portal", "form_not_kept");
    }
    login.finish()
}

async fn read_body(payload: &mut actix_web::dev::Payload) -> Result<Vec<u8>, ()> {
    use futures_util::StreamExt;
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| ())?;
        if body.len() + chunk.len() > FORM_LIMIT {
            return Err(());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Percent-encodes a path for a query string.
pub fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// What a person had typed into `path`'s form when their session ended, given back
/// once; with the cookie that makes the browser forget it.
pub async fn take_kept(
    state: &PortalState,
    req: &HttpRequest,
    path: &str,
) -> (Vec<(String, String)>, Option<actix_web::cookie::Cookie<'static>>) {
    let Some(cookie) = req.cookie(&state.cookie_name(KEPT_COOKIE)) else {
        return (Vec::new(), None);
    };
    let removal = Some(state.cookie_removal(KEPT_COOKIE));
    let Some(key) = CookieKey::from_cookie(cookie.value()) else {
        return (Vec::new(), removal);
    };
    // Kept for another page: left for that page to take.
    let Ok(Some(sealed)) = state.store.take_kept_form(&key.lookup(), path, state.now()).await else {
        return (Vec::new(), None);
    };
    let fields = key
        .open(&sealed)
        .ok()
        .and_then(|json| serde_json::from_slice(&json).ok())
        .unwrap_or_default();
    (fields, removal)
}

/// The value of `name` among kept fields (joined with ", " when repeated).
pub fn kept_value(kept: &[(String, String)], name: &str) -> Option<String> {
    let values: Vec<&str> = kept
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .collect();
    (!values.is_empty()).then(|| values.join(", "))
}
