//! Logging in and out (ADR 0022). A login is the password and an authenticator code
//! (or one recovery code). A wrong password, a wrong code and an unknown address get
//! the same answer after the same work: every attempt runs the password's key
//! derivation, an unknown address against a decoy. Guessing is slowed per typed
//! address (a wait after `backoff_after` failures, a lock after `lockout_after` until
//! an admin unlocks) and by a budget of failed logins per minute across all addresses;
//! nothing is keyed on IP.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use redress_crypto::{
    KdfParams, Password, SecretIdentity, TotpSecret, derive_password_key, login_guard_key, open,
    recovery_code_hash, unwrap_identity,
};
use redress_domain::{AccountState, AuditAction, SessionStage};
use redress_store::{Account, Audited};
use serde::Deserialize;

use crate::PortalState;
use crate::access::{Viewer, landing as landing_of, see_other};
use crate::forms::{self, Answer, Failure, answer};
use crate::layout::{Chrome, page};

page!(LoginPage {
    email: String,
    next: String,
    /// Why the person is here again (session ended, logged out).
    notice: Option<String>,
    error: Option<String>,
}, "login.html");

page!(LogoutPage {}, "logout.html");

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    code: String,
    next: Option<String>,
}

/// A query parameter, read leniently: a malformed query is no parameter.
pub(crate) fn query(req: &HttpRequest, name: &str) -> Option<String> {
    url::form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// An address as accounts store it.
pub(crate) fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// `GET /`: the viewer's own start page, or the login.
pub async fn landing(viewer: Option<Viewer>) -> HttpResponse {
    match viewer {
        None => see_other("/login"),
        Some(v) if v.stage() == SessionStage::Enrolling => see_other("/enrol"),
        Some(v) => see_other(landing_of(v.role())),
    }
}

/// `GET /login`.
pub async fn show(req: HttpRequest, state: web::Data<PortalState>, viewer: Option<Viewer>) -> HttpResponse {
    if viewer.is_some() {
        return landing(viewer).await;
    }
    let t = &state.messages;
    let notice = if query(&req, "ended").is_some() {
        Some(t.get("login.ended").into_owned())
    } else if query(&req, "out").is_some() {
        Some(t.get("login.logged_out").into_owned())
    } else {
        None
    };
    let next = forms::safe_next(query(&req, "next").as_deref()).unwrap_or_default();
    login_page(&state, &req, StatusCode::OK, String::new(), next, notice, None)
}

fn login_page(
    state: &PortalState,
    req: &HttpRequest,
    status: StatusCode,
    email: String,
    next: String,
    notice: Option<String>,
    error: Option<String>,
) -> HttpResponse {
    let page = LoginPage {
        chrome: Chrome::new(state, req, None, "login.title"),
        email,
        next,
        notice,
        error,
    };
    page.chrome.respond(status, &page)
}

/// What the password and code came to.
enum Checked {
    Wrong,
    /// Right password; the account has no authenticator yet.
    Enrol(SecretIdentity),
    /// Right password and a code good in this step.
    Totp(SecretIdentity, u64),
    /// Right password and something shaped like a recovery code (used up, or not, in
    /// the transaction).
    Recovery(SecretIdentity, [u8; 32]),
}

/// `POST /login`.
pub async fn submit(req: HttpRequest, state: web::Data<PortalState>, body: web::Bytes) -> HttpResponse {
    answer(&state, submit_inner(&req, &state, &body).await)
}

async fn submit_inner(req: &HttpRequest, state: &PortalState, body: &[u8]) -> Answer {
    let form = match forms::posted::<LoginForm>(state, req, body, "/login") {
        forms::Posted::Form(f) => f,
        forms::Posted::Refused(answer) => return Ok(answer),
    };
    let email = normalize_email(&form.email);
    let next = forms::safe_next(form.next.as_deref()).unwrap_or_default();
    let again = |status: StatusCode, error: String| {
        login_page(state, req, status, email.clone(), next.clone(), None, Some(error))
    };
    let t = &state.messages;
    let now = state.now();
    let minute = now.div_euclid(60);
    if state.store.failed_logins_in(minute).await? >= state.settings.failed_logins_per_minute {
        let wait = 60 - now.rem_euclid(60);
        let mut res = again(
            StatusCode::TOO_MANY_REQUESTS,
            t.fill("login.budget_spent", &[("seconds", &wait.to_string())]),
        );
        retry_after(&mut res, wait);
        return Ok(res);
    }
    let address = login_guard_key(&email);
    let guard = state.store.login_guard(&address).await?;
    if let Some(res) = guard_refusal(state, &guard, now, &again) {
        return Ok(res);
    }
    let account = state.store.account_by_email(&email).await?;
    let checked = check(state, account.as_ref(), form.password, form.code, now).await?;
    let tx = state.store.begin_audited().await?;
    let granted = match (&account, checked) {
        (Some(a), Checked::Enrol(identity)) => Some((a, identity, SessionStage::Enrolling, None)),
        (Some(a), Checked::Totp(identity, step)) => {
            tx.accept_totp_step(a.id, step)
                .await?
                .then_some((a, identity, SessionStage::Full, None))
        }
        (Some(a), Checked::Recovery(identity, hash)) => tx.use_recovery_code(a.id, &hash).await?.then_some((
            a,
            identity,
            SessionStage::Full,
            Some(AuditAction::RecoveryCodeUsed),
        )),
        _ => None,
    };
    let Some((account, identity, stage, also)) = granted else {
        let guard = failed(state, tx, &address, account.as_ref(), now).await?;
        let wrong = again(StatusCode::FORBIDDEN, t.get("login.wrong").into_owned());
        return Ok(guard_refusal(state, &guard, now, &again).unwrap_or(wrong));
    };
    tx.clear_login_guard(&address).await?;
    tx.record_login(account.id, redress_domain::day_floor(now))
        .await?;
    let cookie = crate::session::start(state, &tx, account.id, &identity, stage, now).await?;
    let actor = crate::session::actor(account.id);
    for action in std::iter::once(AuditAction::Login).chain(also) {
        let entry = redress_audit::NewEntry {
            actor: &actor,
            action,
            target: None,
            at: now,
            timing: redress_audit::Timing::Exact,
        };
        redress_audit::append(&tx, &entry).await?;
    }
    tx.commit().await?;
    // A replacement of the identity that was stopped part-way is finished now, with the
    // identity this login opened (ADR 0033); the key page retries it if this fails.
    if crate::own_key::resume(state, account.id, &identity)
        .await
        .is_err()
    {
        redress_logging::count("portal", "key_resume_failed");
    }
    let to = match stage {
        SessionStage::Enrolling => "/enrol".to_owned(),
        SessionStage::Full if !next.is_empty() => next,
        SessionStage::Full => landing_of(account.role).to_owned(),
    };
    let mut res = see_other(&to);
    let _ = res.add_cookie(&cookie);
    Ok(res)
}

/// The answer for an address that must wait or is locked, if it must.
fn guard_refusal(
    state: &PortalState,
    guard: &redress_store::Guard,
    now: i64,
    again: &impl Fn(StatusCode, String) -> HttpResponse,
) -> Option<HttpResponse> {
    let t = &state.messages;
    if guard.locked {
        return Some(again(StatusCode::FORBIDDEN, t.get("login.locked").into_owned()));
    }
    if guard.blocked_until > now {
        let wait = guard.blocked_until - now;
        let mut res = again(
            StatusCode::TOO_MANY_REQUESTS,
            t.fill("login.wait", &[("seconds", &wait.to_string())]),
        );
        retry_after(&mut res, wait);
        return Some(res);
    }
    None
}

fn retry_after(res: &mut HttpResponse, secs: i64) {
    if let Ok(v) = header::HeaderValue::from_str(&secs.to_string()) {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
}

/// Runs the password's key derivation, on a blocking thread, at most one per core at
/// once: against the account's sealed identity, or, for an unknown or disabled
/// account, against the decoy, so that both cost the same.
async fn check(
    state: &PortalState,
    account: Option<&Account>,
    password: String,
    code: String,
    now: i64,
) -> Result<Checked, Failure> {
    let account = account.filter(|a| a.state == AccountState::Active).cloned();
    let (salt, params, wrap) = match &account {
        Some(a) => (
            a.kdf.salt.clone(),
            KdfParams {
                m_kib: a.kdf.m_kib,
                t: a.kdf.t,
                p: a.kdf.p,
            },
            a.identity_wrap.clone(),
        ),
        None => (
            state.decoy.salt.to_vec(),
            state.password_kdf,
            state.decoy.wrap.clone(),
        ),
    };
    let password = Password::new(password);
    let code = zeroize::Zeroizing::new(code);
    state
        .kdf
        .run(move || -> Result<Checked, Failure> {
            let key = derive_password_key(&password, &salt, &params)?;
            let Ok(identity) = unwrap_identity(&wrap, &key) else {
                return Ok(Checked::Wrong);
            };
            let Some(a) = account else {
                return Ok(Checked::Wrong);
            };
            let Some(sealed) = &a.totp_sealed else {
                return Ok(Checked::Enrol(identity));
            };
            let secret = TotpSecret::from_bytes(&open(&key, sealed)?);
            let code = code.trim();
            if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
                return Ok(match secret.accept(code, now, a.totp_last_step) {
                    Some(step) => Checked::Totp(identity, step),
                    None => Checked::Wrong,
                });
            }
            Ok(match recovery_code_hash(code) {
                Some(hash) => Checked::Recovery(identity, hash),
                None => Checked::Wrong,
            })
        })
        .await?
}

/// Counts a failed login in `tx` (begun for it) and writes it to the audit log, with a
/// lockout when this failure locks the address.
async fn failed(
    state: &PortalState,
    tx: Audited,
    address: &[u8; 32],
    account: Option<&Account>,
    now: i64,
) -> Result<redress_store::Guard, Failure> {
    let s = &state.settings;
    let guard = tx
        .count_failed_login(address, now, |failures| {
            let blocked_until = match failures.checked_sub(s.backoff_after) {
                Some(beyond) => now + redress_store::backoff_secs(beyond + 1, 30, 15 * 60),
                None => 0,
            };
            (blocked_until, failures >= s.lockout_after)
        })
        .await?;
    let target = account.map(|a| crate::session::actor(a.id));
    let mut actions = vec![AuditAction::FailedLogin];
    if guard.locked && guard.failures == s.lockout_after {
        actions.push(AuditAction::Lockout);
    }
    for action in actions {
        let entry = redress_audit::NewEntry {
            actor: "anonymous",
            action,
            target: target.as_deref(),
            at: now,
            timing: redress_audit::Timing::Exact,
        };
        redress_audit::append(&tx, &entry).await?;
    }
    tx.commit().await?;
    redress_logging::count("portal", "login_failed");
    Ok(guard)
}

/// `GET /logout`: a page with the button, for a link or a bookmark.
pub async fn confirm_logout(req: HttpRequest, state: web::Data<PortalState>, viewer: Viewer) -> HttpResponse {
    let page = LogoutPage {
        chrome: Chrome::new(&state, &req, Some(&viewer), "logout.title"),
    };
    page.chrome.respond(StatusCode::OK, &page)
}

/// `POST /logout`: deletes the session row and the browser's cookie.
pub async fn logout(
    req: HttpRequest,
    state: web::Data<PortalState>,
    viewer: Viewer,
    body: web::Bytes,
) -> HttpResponse {
    answer(&state, logout_inner(&req, &state, &viewer, &body).await)
}

/// A form with nothing but its token (the logout button).
#[derive(Deserialize)]
struct TokenOnly {}

async fn logout_inner(req: &HttpRequest, state: &PortalState, viewer: &Viewer, body: &[u8]) -> Answer {
    match forms::posted::<TokenOnly>(state, req, body, "/logout") {
        forms::Posted::Form(TokenOnly {}) => {}
        forms::Posted::Refused(answer) => return Ok(answer),
    }
    let tx = state.store.begin_audited().await?;
    tx.delete_session(&viewer.session.lookup).await?;
    let actor = viewer.actor();
    let entry = redress_audit::NewEntry {
        actor: &actor,
        action: AuditAction::Logout,
        target: None,
        at: state.now(),
        timing: redress_audit::Timing::Exact,
    };
    redress_audit::append(&tx, &entry).await?;
    tx.commit().await?;
    let mut res = see_other("/login?out=1");
    let _ = res.add_cookie(&state.cookie_removal(crate::SESSION_COOKIE));
    Ok(res)
}

/// Lifts the wait or lock on `email`'s logins, for an admin (on the person's page, or
/// `redress admin unlock` when no admin can log in). True if it had failures counted.
pub async fn unlock(
    store: &redress_store::Store,
    email: &str,
    actor: &str,
    now: i64,
) -> Result<bool, redress_audit::AuditError> {
    let email = normalize_email(email);
    let target = store
        .account_by_email(&email)
        .await?
        .map(|a| crate::session::actor(a.id));
    let tx = store.begin_audited().await?;
    let had = tx.clear_login_guard(&login_guard_key(&email)).await?;
    let entry = redress_audit::NewEntry {
        actor,
        action: AuditAction::Unlock,
        target: target.as_deref(),
        at: now,
        timing: redress_audit::Timing::Exact,
    };
    redress_audit::append(&tx, &entry).await?;
    tx.commit().await?;
    Ok(had)
}
