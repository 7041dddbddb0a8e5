//! A person replaces their own identity (ADR 0033): `GET/POST /account/key`.
//!
//! The password opens the current identity; a new one is made and, in one audited
//! transaction, stored as the account's (sealed to the same password key), with the old
//! one kept sealed to the new one; the account's and its routing row's key become the
//! new one, so nothing new is wrapped to the old key from then on; this session holds
//! the new identity and the others end. Then the wraps are moved in batches, each one
//! transaction, checked with the new identity, and the old identity is dropped in a
//! transaction that finds no wrap left on the old key.
//!
//! A request killed anywhere loses nothing: the next login, or the next visit of this
//! page, opens the kept identity with the new one and finishes. The work is done within
//! the request: moving a wrap costs well under a millisecond, so hundreds of cases take
//! a second or two.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use redress_crypto::{KdfParams, Password, SecretIdentity, unwrap_identity, wrap_identity};
use redress_domain::{AccountId, AuditAction, Holder, InvestigatorId};
use redress_keychain::rotation::{Quiet, Recorder, Rewrap, rewrap_pass, verify};
use redress_store::{KeyChangeKind, RotatedIdentity};
use serde::Deserialize;

use crate::PortalState;
use crate::access::Viewer;
use crate::forms::{self, Answer, Failure, answer};
use crate::layout::{Chrome, page};

/// How the key rotations table names a person's rotation (its subject: the account).
pub const ROTATION_KIND: &str = "investigator";

/// Passes over the wraps before giving up for this request: another pass is needed only
/// when a hand-over raced the last one.
const PASSES: usize = 3;

page!(KeyPage {
    recipient: String,
    errors: Vec<String>,
    notice: Option<String>,
}, "account_key.html");

#[derive(Deserialize)]
struct KeyForm {
    #[serde(default)]
    password: String,
}

/// What finishing a key change came to.
#[derive(Debug, PartialEq, Eq)]
pub enum Finished {
    /// The old identity is dropped: every wrap made to it was moved and opens with the
    /// new one.
    Done { moved: u64 },
    /// Wraps are left (a wrap that did not open, or one failing the check): the old
    /// identity is kept, and the next login or visit tries again.
    Unfinished,
}

/// `GET /account/key`: finishes a replacement left unfinished, then shows the form.
pub async fn show(req: HttpRequest, state: web::Data<PortalState>, viewer: Viewer) -> HttpResponse {
    answer(&state, show_inner(&req, &state, &viewer).await)
}

async fn show_inner(req: &HttpRequest, state: &PortalState, viewer: &Viewer) -> Answer {
    let notice = resume(state, viewer.id(), &viewer.identity()?)
        .await?
        .map(|finished| said(state, &finished));
    key_page(req, state, viewer, StatusCode::OK, Vec::new(), notice).await
}

async fn key_page(
    req: &HttpRequest,
    state: &PortalState,
    viewer: &Viewer,
    status: StatusCode,
    errors: Vec<String>,
    notice: Option<String>,
) -> Answer {
    // Read again: a replacement in this request changed it.
    let account = state
        .store
        .account(viewer.id())
        .await?
        .ok_or(Failure::Internal("a signed-in account vanished"))?;
    let page = KeyPage {
        chrome: Chrome::new(state, req, Some(viewer), "own_key.title"),
        recipient: account.recipient,
        errors,
        notice,
    };
    Ok(page.chrome.respond(status, &page))
}

fn said(state: &PortalState, finished: &Finished) -> String {
    let t = &state.messages;
    match finished {
        Finished::Done { moved } => t.fill("own_key.done", &[("n", &moved.to_string())]),
        Finished::Unfinished => t.get("own_key.unfinished").into_owned(),
    }
}

/// `POST /account/key`: the password, to replace the identity.
pub async fn submit(
    req: HttpRequest,
    state: web::Data<PortalState>,
    viewer: Viewer,
    body: web::Bytes,
) -> HttpResponse {
    answer(&state, submit_inner(&req, &state, &viewer, &body).await)
}

async fn submit_inner(req: &HttpRequest, state: &PortalState, viewer: &Viewer, body: &[u8]) -> Answer {
    let form = match forms::posted::<KeyForm>(state, req, body, "/account/key") {
        forms::Posted::Form(f) => f,
        forms::Posted::Refused(answer) => return Ok(answer),
    };
    let t = &state.messages;
    let refuse = |key: &str| {
        key_page(
            req,
            state,
            viewer,
            StatusCode::UNPROCESSABLE_ENTITY,
            vec![t.get(key).into_owned()],
            None,
        )
    };
    match state.store.key_change(viewer.id()).await? {
        Some(c) if c.kind == KeyChangeKind::Recovery => return refuse("own_key.recovering").await,
        // One replacement at a time: finish the one under way.
        Some(_) => return show_inner(req, state, viewer).await,
        None => {}
    }
    let a = &viewer.account;
    let params = KdfParams {
        m_kib: a.kdf.m_kib,
        t: a.kdf.t,
        p: a.kdf.p,
    };
    let password = Password::new(form.password);
    let password_key = crate::setup::derive(state, &password, a.kdf.salt.clone(), params).await?;
    let Ok(old) = unwrap_identity(&a.identity_wrap, &password_key) else {
        return refuse("own_key.wrong_password").await;
    };
    if old.public().to_string() != a.recipient {
        return Err(Failure::Internal("an account whose identity is not its key"));
    }
    let new = SecretIdentity::generate();
    let rotated = RotatedIdentity {
        recipient: new.public().to_string(),
        identity_wrap: wrap_identity(&new, &password_key.public())?,
        previous_identity: wrap_identity(&old, &new.public())?,
        session: (
            viewer.session.lookup,
            viewer.seal(new.to_identity_file().as_bytes())?,
        ),
    };
    let now = state.now();
    let tx = state.store.begin_audited().await?;
    if !tx
        .begin_key_rotation(viewer.id(), &a.recipient, &rotated, now)
        .await?
    {
        // Another request of this person started one first.
        drop(tx);
        return show_inner(req, state, viewer).await;
    }
    let actor = viewer.actor();
    let entry = redress_audit::NewEntry {
        actor: &actor,
        action: AuditAction::KeyRotate,
        target: Some(&actor),
        at: now,
        timing: redress_audit::Timing::Exact,
    };
    redress_audit::append(&tx, &entry).await?;
    tx.commit().await?;
    let finished = finish(state, viewer.id(), a.investigator_id, &old, &new).await?;
    key_page(
        req,
        state,
        viewer,
        StatusCode::OK,
        Vec::new(),
        Some(said(state, &finished)),
    )
    .await
}

/// Finishes a replacement of `account`'s identity left unfinished, with the identity
/// the account holds now (`current`, from a login or a session). `None` if none is
/// under way.
pub async fn resume(
    state: &PortalState,
    account: AccountId,
    current: &SecretIdentity,
) -> Result<Option<Finished>, Failure> {
    let Some(change) = state.store.key_change(account).await? else {
        return Ok(None);
    };
    let Some(sealed) = change
        .previous_identity
        .filter(|_| change.kind == KeyChangeKind::Rotation)
    else {
        return Ok(None);
    };
    let a = state
        .store
        .account(account)
        .await?
        .ok_or(Failure::Internal("an account vanished"))?;
    let old = unwrap_identity(&sealed, current)?;
    Ok(Some(
        finish(state, account, a.investigator_id, &old, current).await?,
    ))
}

/// Moves every wrap made to `old` to `new`, checks them with `new`, and drops the kept
/// old identity once the database shows no wrap left on the old key.
async fn finish(
    state: &PortalState,
    account: AccountId,
    investigator: Option<InvestigatorId>,
    old: &SecretIdentity,
    new: &SecretIdentity,
) -> Result<Finished, Failure> {
    let Some(inv) = investigator else {
        // No routing row: no wrap is made to the account's key.
        return drop_previous(state, account).await.map(|done| {
            if done {
                Finished::Done { moved: 0 }
            } else {
                Finished::Unfinished
            }
        });
    };
    let store = &state.store;
    let new_public = new.public();
    let rotation = store
        .open_rotation(ROTATION_KIND, Some(&inv.to_string()), "running", state.now())
        .await?;
    let new_recipient = new_public.to_string();
    store
        .record_rotation(
            &rotation.id,
            "running",
            Some(&new_recipient),
            rotation.done,
            rotation.total,
            Some("re-wrapping to the person's new key"),
            state.now(),
        )
        .await?;
    let clock = || state.now();
    let recorder = Recorder {
        store,
        rotation: &rotation.id,
        clock: &clock,
    };
    let holder = Holder::Investigator(inv);
    let job = Rewrap {
        holder,
        old: std::slice::from_ref(old),
        new: &new_public,
        batch: state.settings.key_batch.max(1),
    };
    let mut moved = 0;
    for _ in 0..PASSES {
        let pass = rewrap_pass(store, &job, &Quiet, Some(&recorder))
            .await
            .map_err(crate::content::keychain_failure)?;
        moved += pass.rewrapped;
        let checked = verify(store, holder, new, None, job.batch, &Quiet)
            .await
            .map_err(crate::content::keychain_failure)?;
        if !checked.failed.is_empty() {
            break;
        }
        if drop_previous(state, account).await? {
            let note = format!(
                "done: {moved} wraps moved, {} checked with the new key",
                checked.checked
            );
            recorder
                .record("done", moved, moved, &note)
                .await
                .map_err(crate::content::keychain_failure)?;
            return Ok(Finished::Done { moved });
        }
    }
    recorder
        .record("running", moved, moved, "wraps left: finished at the next login")
        .await
        .map_err(crate::content::keychain_failure)?;
    Ok(Finished::Unfinished)
}

/// Drops the kept old identity if no wrap is left on the old key.
async fn drop_previous(state: &PortalState, account: AccountId) -> Result<bool, Failure> {
    let tx = state.store.begin_audited().await?;
    let done = tx.finish_key_change(account, KeyChangeKind::Rotation).await?;
    tx.commit().await?;
    Ok(done)
}
