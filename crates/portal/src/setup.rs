//! Setting up an account from an invitation link (ADR 0021): a password, then the
//! authenticator, confirmed by a code, then ten recovery codes shown once.
//!
//! The password step makes the account: its X25519 identity (new, or, for an
//! investigator registered earlier, the identity they already hold, checked against
//! their registered key) is sealed to the key the password derives, the invitation is
//! used up, and an enrolling session begins. The account logs in fully, and an
//! investigator is given cases, only once a code has confirmed the authenticator. The
//! same enrolment serves an account whose authenticator an admin has reset.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use redress_crypto::{
    Password, SecretIdentity, TotpSecret, derive_password_key, judge_password, link_token_hash,
    new_recovery_codes, seal, wrap_identity,
};
use redress_domain::{AccountId, AuditAction, Role, SessionStage};
use redress_store::{Invitation, NewAccount, PasswordSeal, Routing, StoreError, StoredKdf};
use serde::Deserialize;
use zeroize::Zeroizing;

use crate::PortalState;
use crate::access::{Viewer, landing, see_other};
use crate::forms::{self, Answer, Failure, answer};
use crate::layout::{Chrome, page};

/// The recovery codes wait in a sealed cookie for this long, to be shown once.
const CODES_TTL_SECS: i64 = 600;
const CODES_COOKIE: &str = "redress_portal_codes";
const CODES_PURPOSE: &str = "recovery-codes";

page!(SetupPage {
    email: String,
    lead: String,
    /// For an investigator registered before, who may bring the identity they hold:
    /// what to paste, naming their registered key.
    existing_hint: Option<String>,
    errors: Vec<String>,
}, "setup.html");

page!(EnrolPage {
    qr: String,
    secret: String,
    error: Option<String>,
}, "enrol.html");

page!(CodesPage {
    codes: Vec<String>,
    next: &'static str,
}, "codes.html");

#[derive(Deserialize)]
struct SetupForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
    #[serde(default)]
    existing_identity: String,
}

/// The invitation of a link, if it still works.
async fn invitation(state: &PortalState, token: &str) -> Result<Option<Invitation>, StoreError> {
    state.store.invitation(&link_token_hash(token), state.now()).await
}

/// The account a recovery link sets up anew (ADR 0033), if the invitation is one: an
/// address with an account is invited only by `redress keys recover-investigator`.
async fn recovering(
    state: &PortalState,
    inv: &Invitation,
) -> Result<Option<redress_store::Account>, StoreError> {
    Ok(state
        .store
        .account_by_email(&inv.email)
        .await?
        .filter(|a| a.state == redress_domain::AccountState::Recovering))
}

/// The investigators row registered earlier for the invited address, if any.
async fn registered(
    state: &PortalState,
    email: &str,
) -> Result<Option<redress_store::Investigator>, StoreError> {
    Ok(state
        .store
        .investigators()
        .await?
        .into_iter()
        .find(|i| i.email.eq_ignore_ascii_case(email)))
}

fn gone(state: &PortalState) -> HttpResponse {
    use actix_web::ResponseError;
    let t = &state.messages;
    redress_web::PageError::new(
        StatusCode::GONE,
        t,
        &state.service_name,
        t.get("setup.gone_title"),
        t.get("setup.gone"),
    )
    .error_response()
}

/// `GET /setup/{token}`.
pub async fn show(req: HttpRequest, state: web::Data<PortalState>, token: web::Path<String>) -> HttpResponse {
    answer(&state, show_inner(&req, &state, &token).await)
}

async fn show_inner(req: &HttpRequest, state: &PortalState, token: &str) -> Answer {
    let Some(inv) = invitation(state, token).await? else {
        return Ok(gone(state));
    };
    setup_page(state, req, &inv, StatusCode::OK, Vec::new()).await
}

async fn setup_page(
    state: &PortalState,
    req: &HttpRequest,
    inv: &Invitation,
    status: StatusCode,
    errors: Vec<String>,
) -> Result<HttpResponse, Failure> {
    let again = recovering(state, inv).await?.is_some();
    let registered_key = match inv.role {
        Role::Investigator if !again => registered(state, &inv.email).await?.map(|i| i.recipient),
        _ => None,
    };
    let t = &state.messages;
    let role = t.get(&format!("role.{}", inv.role)).into_owned();
    let lead = if again { "setup.lead_again" } else { "setup.lead" };
    let page = SetupPage {
        chrome: Chrome::new(state, req, None, "setup.title"),
        email: inv.email.clone(),
        lead: t.fill(lead, &[("email", &inv.email), ("role", &role)]),
        existing_hint: registered_key.map(|key| t.fill("setup.existing_hint", &[("key", &key)])),
        errors,
    };
    Ok(page.chrome.respond(status, &page))
}

/// `POST /setup/{token}`: the password (and, optionally, an identity held already).
pub async fn submit(
    req: HttpRequest,
    state: web::Data<PortalState>,
    token: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    answer(&state, submit_inner(&req, &state, &token, &body).await)
}

async fn submit_inner(req: &HttpRequest, state: &PortalState, token: &str, body: &[u8]) -> Answer {
    let here = format!("/setup/{}", forms::encode(token));
    let form = match forms::posted::<SetupForm>(state, req, body, &here) {
        forms::Posted::Form(f) => f,
        forms::Posted::Refused(answer) => return Ok(answer),
    };
    let Some(inv) = invitation(state, token).await? else {
        return Ok(gone(state));
    };
    let t = &state.messages;
    let password = Password::new(form.password);
    let mut errors = Vec::new();
    if let Err(weak) = judge_password(&password, &[&inv.email, &state.service_name]) {
        errors.push(weak.0);
    } else if form.confirm != password.expose() {
        errors.push(t.get("setup.mismatch").into_owned());
    }
    if let Some(account) = recovering(state, &inv).await? {
        if !errors.is_empty() {
            return setup_page(state, req, &inv, StatusCode::UNPROCESSABLE_ENTITY, errors).await;
        }
        return set_up_again(state, &account, &inv, &password).await;
    }
    let earlier = match inv.role {
        Role::Investigator => registered(state, &inv.email).await?,
        _ => None,
    };
    let brought = Zeroizing::new(form.existing_identity);
    let existing = match (brought.trim(), &earlier) {
        ("", _) | (_, None) => None,
        (text, Some(row)) => match SecretIdentity::parse(text) {
            Ok(id) if id.public().to_string() == row.recipient => Some(id),
            Ok(_) => {
                errors.push(t.get("setup.identity_mismatch").into_owned());
                None
            }
            Err(_) => {
                errors.push(t.get("setup.identity_invalid").into_owned());
                None
            }
        },
    };
    if !errors.is_empty() {
        return setup_page(state, req, &inv, StatusCode::UNPROCESSABLE_ENTITY, errors).await;
    }
    let identity = existing.unwrap_or_else(SecretIdentity::generate);
    let seal = seal_to_password(state, &password, &identity).await?;
    let now = state.now();
    let account = NewAccount {
        id: AccountId::random(),
        email: inv.email.clone(),
        role: inv.role,
        recipient: identity.public().to_string(),
        seal,
        created_at: now,
    };
    let routing = (inv.role == Role::Investigator).then(|| Routing {
        existing: earlier.as_ref().map(|i| i.id),
        teams: inv.teams.clone(),
        capacity: inv.capacity,
    });
    let tx = state.store.begin_audited().await?;
    match tx
        .create_account(&account, routing.as_ref(), &inv.token_hash)
        .await
    {
        Ok(true) => {}
        Ok(false) => return Ok(gone(state)),
        Err(StoreError::Duplicate(_)) => {
            let errors = vec![t.get("setup.account_exists").into_owned()];
            return setup_page(state, req, &inv, StatusCode::CONFLICT, errors).await;
        }
        Err(e) => return Err(e.into()),
    }
    // Setting the password is the account's first login.
    tx.record_login(account.id, redress_domain::day_floor(now))
        .await?;
    let cookie =
        crate::session::start(state, &tx, account.id, &identity, SessionStage::Enrolling, now).await?;
    let actor = crate::session::actor(account.id);
    let entry = redress_audit::NewEntry {
        actor: &actor,
        action: AuditAction::Setup,
        target: Some(&actor),
        at: now,
        timing: redress_audit::Timing::Exact,
    };
    redress_audit::append(&tx, &entry).await?;
    tx.commit().await?;
    let mut res = see_other("/enrol");
    let _ = res.add_cookie(&cookie);
    Ok(res)
}

/// A recovering account set up anew (ADR 0033): a new identity, which becomes its key
/// and its routing row's, sealed to the new password's key; then the authenticator is
/// enrolled as at a first setup. Its cases open again once `redress keys
/// recover-investigator` has wrapped them to the new key.
async fn set_up_again(
    state: &PortalState,
    account: &redress_store::Account,
    inv: &Invitation,
    password: &Password,
) -> Answer {
    let identity = SecretIdentity::generate();
    let seal = seal_to_password(state, password, &identity).await?;
    let now = state.now();
    let tx = state.store.begin_audited().await?;
    let recipient = identity.public().to_string();
    if !tx
        .set_up_again(account.id, &recipient, &seal, &inv.token_hash)
        .await?
    {
        return Ok(gone(state));
    }
    tx.record_login(account.id, redress_domain::day_floor(now))
        .await?;
    let cookie =
        crate::session::start(state, &tx, account.id, &identity, SessionStage::Enrolling, now).await?;
    let actor = crate::session::actor(account.id);
    let entry = redress_audit::NewEntry {
        actor: &actor,
        action: AuditAction::Setup,
        target: Some(&actor),
        at: now,
        timing: redress_audit::Timing::Exact,
    };
    redress_audit::append(&tx, &entry).await?;
    tx.commit().await?;
    let mut res = see_other("/enrol");
    let _ = res.add_cookie(&cookie);
    Ok(res)
}

/// Derives a new password key (fresh salt, the configured cost) and seals `identity`
/// to it, on a blocking thread within the portal's limit of derivations at once.
pub(crate) async fn seal_to_password(
    state: &PortalState,
    password: &Password,
    identity: &SecretIdentity,
) -> Result<PasswordSeal, Failure> {
    let (key, salt) = derive_new(state, password).await?;
    Ok(PasswordSeal {
        password_recipient: key.public().to_string(),
        identity_wrap: wrap_identity(identity, &key.public())?,
        kdf: StoredKdf {
            salt: salt.to_vec(),
            m_kib: state.password_kdf.m_kib,
            t: state.password_kdf.t,
            p: state.password_kdf.p,
        },
    })
}

/// A new password key and its salt.
pub(crate) async fn derive_new(
    state: &PortalState,
    password: &Password,
) -> Result<(SecretIdentity, [u8; 16]), Failure> {
    let salt: [u8; 16] = rand::random();
    let key = derive(state, password, salt.to_vec(), state.password_kdf).await?;
    Ok((key, salt))
}

/// The password key of `password` with `salt` and `params`, within the limit.
pub(crate) async fn derive(
    state: &PortalState,
    password: &Password,
    salt: Vec<u8>,
    params: redress_crypto::KdfParams,
) -> Result<SecretIdentity, Failure> {
    let password = Password::new(password.expose().to_owned());
    Ok(state
        .kdf
        .run(move || derive_password_key(&password, &salt, &params))
        .await??)
}

/// `GET /enrol`: the authenticator's secret as a QR code and as text.
pub async fn show_enrol(req: HttpRequest, state: web::Data<PortalState>, viewer: Viewer) -> HttpResponse {
    answer(&state, show_enrol_inner(&req, &state, &viewer, None).await)
}

/// The secret being enrolled: kept (sealed to the session's cookie key) from the first
/// view, so reloading the page shows the same one.
async fn pending_secret(state: &PortalState, viewer: &Viewer) -> Result<TotpSecret, Failure> {
    if let Some(sealed) = &viewer.session.pending_totp {
        return Ok(TotpSecret::from_bytes(&viewer.open(sealed)?));
    }
    let secret = TotpSecret::generate();
    state
        .store
        .set_pending_totp(&viewer.session.lookup, &viewer.seal(secret.expose())?)
        .await?;
    Ok(secret)
}

async fn show_enrol_inner(
    req: &HttpRequest,
    state: &PortalState,
    viewer: &Viewer,
    error: Option<String>,
) -> Answer {
    if viewer.stage() == SessionStage::Full {
        return Ok(see_other(landing(viewer.role())));
    }
    let secret = pending_secret(state, viewer).await?;
    let uri = secret.otpauth_uri(&state.service_name, &viewer.account.email);
    let text = secret.base32();
    let grouped: Vec<&str> = text
        .as_bytes()
        .chunks(4)
        .filter_map(|c| std::str::from_utf8(c).ok())
        .collect();
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = EnrolPage {
        chrome: Chrome::new(state, req, Some(viewer), "enrol.title"),
        qr: crate::qr::svg(&uri).unwrap_or_default(),
        secret: grouped.join(" "),
        error,
    };
    Ok(page.chrome.respond(status, &page))
}

#[derive(Deserialize)]
struct CodeForm {
    #[serde(default)]
    code: String,
}

/// `POST /enrol`: a code from the authenticator confirms it; the account is then
/// complete, and its recovery codes are made and shown once.
pub async fn enrol(
    req: HttpRequest,
    state: web::Data<PortalState>,
    viewer: Viewer,
    body: web::Bytes,
) -> HttpResponse {
    answer(&state, enrol_inner(&req, &state, &viewer, &body).await)
}

async fn enrol_inner(req: &HttpRequest, state: &PortalState, viewer: &Viewer, body: &[u8]) -> Answer {
    let form = match forms::posted::<CodeForm>(state, req, body, "/enrol") {
        forms::Posted::Form(f) => f,
        forms::Posted::Refused(answer) => return Ok(answer),
    };
    if viewer.stage() == SessionStage::Full {
        return Ok(see_other(landing(viewer.role())));
    }
    let secret = pending_secret(state, viewer).await?;
    let now = state.now();
    let Some(step) = secret.accept(&form.code, now, None) else {
        let error = state.messages.get("enrol.wrong_code").into_owned();
        return show_enrol_inner(req, state, viewer, Some(error)).await;
    };
    let password_key = redress_crypto::PublicKey::parse(&viewer.account.password_recipient)?;
    let totp_sealed = seal(&[&password_key], secret.expose())?;
    let (codes, hashes) = new_recovery_codes();
    let tx = state.store.begin_audited().await?;
    tx.enrol(viewer.id(), &totp_sealed, step, &hashes).await?;
    tx.complete_session(&viewer.session.lookup).await?;
    let actor = viewer.actor();
    let entry = redress_audit::NewEntry {
        actor: &actor,
        action: AuditAction::TotpEnrolled,
        target: Some(&actor),
        at: now,
        timing: redress_audit::Timing::Exact,
    };
    redress_audit::append(&tx, &entry).await?;
    tx.commit().await?;
    let shown: Vec<&str> = codes.iter().map(|c| c.as_str()).collect();
    let json =
        Zeroizing::new(serde_json::to_vec(&shown).map_err(|_| Failure::Internal("recovery codes as JSON"))?);
    let sealed = state
        .flash
        .seal(CODES_PURPOSE, &json, now + CODES_TTL_SECS)
        .map_err(|_| Failure::Internal("sealing the recovery codes"))?;
    let mut c = state.cookie(CODES_COOKIE, sealed);
    c.set_max_age(actix_web::cookie::time::Duration::seconds(CODES_TTL_SECS));
    let mut res = see_other("/enrol/codes");
    let _ = res.add_cookie(&c);
    Ok(res)
}

/// `GET /enrol/codes`: the recovery codes, once.
pub async fn codes(req: HttpRequest, state: web::Data<PortalState>, viewer: Viewer) -> HttpResponse {
    let codes: Option<Vec<String>> = req
        .cookie(&state.cookie_name(CODES_COOKIE))
        .and_then(|c| state.flash.open(CODES_PURPOSE, c.value(), state.now()).ok())
        .and_then(|json| serde_json::from_slice(&json).ok());
    let Some(codes) = codes else {
        use actix_web::ResponseError;
        let t = &state.messages;
        return redress_web::PageError::new(
            StatusCode::GONE,
            t,
            &state.service_name,
            t.get("codes.gone_title"),
            t.get("codes.gone"),
        )
        .with_back(landing(viewer.role()), t.get("codes.continue"))
        .error_response();
    };
    let mut chrome = Chrome::new(&state, &req, Some(&viewer), "codes.title");
    chrome.with_cookie(Some(state.cookie_removal(CODES_COOKIE)));
    let page = CodesPage {
        chrome,
        codes,
        next: landing(viewer.role()),
    };
    page.chrome.respond(StatusCode::OK, &page)
}
