//! A person's own account: their address and role, recovery codes left, and changing
//! the password, which seals the same identity and authenticator to the new password's
//! key, so no case is re-wrapped and none is lost (ADR 0021).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use redress_crypto::{KdfParams, Password, PublicKey, judge_password, open, seal, unwrap_identity};
use redress_domain::{AuditAction, Role};
use serde::Deserialize;

use crate::PortalState;
use crate::access::Viewer;
use crate::forms::{self, Answer, answer};
use crate::layout::{Chrome, page};

page!(AccountPage {
    email: String,
    role: String,
    codes_left: u64,
    /// Investigators and admins, whose key cases may be wrapped to: they may replace it.
    holds_cases: bool,
    errors: Vec<String>,
    notice: Option<String>,
}, "account.html");

#[derive(Deserialize)]
struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm: String,
}

/// `GET /account`.
pub async fn show(req: HttpRequest, state: web::Data<PortalState>, viewer: Viewer) -> HttpResponse {
    answer(
        &state,
        page_for(&req, &state, &viewer, StatusCode::OK, Vec::new(), None).await,
    )
}

async fn page_for(
    req: &HttpRequest,
    state: &PortalState,
    viewer: &Viewer,
    status: StatusCode,
    errors: Vec<String>,
    notice: Option<String>,
) -> Answer {
    let page = AccountPage {
        chrome: Chrome::new(state, req, Some(viewer), "account.title"),
        email: viewer.account.email.clone(),
        role: state
            .messages
            .get(&format!("role.{}", viewer.role()))
            .into_owned(),
        codes_left: state.store.recovery_codes_left(viewer.id()).await?,
        holds_cases: matches!(viewer.role(), Role::Investigator | Role::Admin),
        errors,
        notice,
    };
    Ok(page.chrome.respond(status, &page))
}

/// `POST /account`: a new password. The current one must be given: it alone opens
/// what is to be sealed anew. Other sessions of the account end.
pub async fn submit(
    req: HttpRequest,
    state: web::Data<PortalState>,
    viewer: Viewer,
    body: web::Bytes,
) -> HttpResponse {
    answer(&state, submit_inner(&req, &state, &viewer, &body).await)
}

async fn submit_inner(req: &HttpRequest, state: &PortalState, viewer: &Viewer, body: &[u8]) -> Answer {
    let form = match forms::posted::<PasswordForm>(state, req, body, "/account") {
        forms::Posted::Form(f) => f,
        forms::Posted::Refused(answer) => return Ok(answer),
    };
    let t = &state.messages;
    let again =
        |errors: Vec<String>| page_for(req, state, viewer, StatusCode::UNPROCESSABLE_ENTITY, errors, None);
    let new = Password::new(form.new_password);
    if let Err(weak) = judge_password(&new, &[&viewer.account.email, &state.service_name]) {
        return again(vec![weak.0]).await;
    }
    if form.confirm != new.expose() {
        return again(vec![t.get("setup.mismatch").into_owned()]).await;
    }
    let a = &viewer.account;
    let params = KdfParams {
        m_kib: a.kdf.m_kib,
        t: a.kdf.t,
        p: a.kdf.p,
    };
    let current = Password::new(form.current_password);
    let old_key = crate::setup::derive(state, &current, a.kdf.salt.clone(), params).await?;
    let Ok(identity) = unwrap_identity(&a.identity_wrap, &old_key) else {
        return again(vec![t.get("account.wrong_current").into_owned()]).await;
    };
    let totp = a.totp_sealed.as_ref().map(|s| open(&old_key, s)).transpose()?;
    let sealed = crate::setup::seal_to_password(state, &new, &identity).await?;
    let new_key = PublicKey::parse(&sealed.password_recipient)?;
    let totp_sealed = totp.map(|secret| seal(&[&new_key], &secret)).transpose()?;
    let tx = state.store.begin_audited().await?;
    tx.change_password(viewer.id(), &sealed, totp_sealed.as_deref())
        .await?;
    tx.end_sessions(viewer.id(), Some(&viewer.session.lookup)).await?;
    let actor = viewer.actor();
    let entry = redress_audit::NewEntry {
        actor: &actor,
        action: AuditAction::PasswordChange,
        target: Some(&actor),
        at: state.now(),
        timing: redress_audit::Timing::Exact,
    };
    redress_audit::append(&tx, &entry).await?;
    tx.commit().await?;
    let notice = Some(t.get("account.changed").into_owned());
    page_for(req, state, viewer, StatusCode::OK, Vec::new(), notice).await
}
