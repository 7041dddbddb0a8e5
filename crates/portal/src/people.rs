//! Who works on a case (ADR 0024). An assignee adds a colleague or hands the case over
//! to one: the case key, opened with their own identity, is wrapped to the colleague,
//! who gets an email that names only the case reference. An assignee takes a colleague
//! off the case, or leaves it for a conflict of interest (recusal, with a reason sealed
//! as an internal note): that person's assignment and wraps are deleted, so their
//! identity opens nothing of the case any more. A case always keeps an assignee.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use redress_crypto::{PublicKey, seal};
use redress_domain::{
    AccountId, AccountState, AuditAction, EntryDocument, EntryKind, EntryText, Holder, Role, Sealed,
};
use redress_store::{Account, NewAssignee, NewCaseEntry, NewEmail, StoredCase, Unassigned};
use serde::Deserialize;

use crate::PortalState;
use crate::access::{Viewer, see_other};
use crate::forms::{Answer, Failure, answer};

/// What the case page's people forms post.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PeopleForm {
    /// `add`, `hand_over`, `remove` or `recuse`.
    pub action: String,
    /// The colleague's account, for all but `recuse`.
    pub person: String,
    /// Why, for `recuse`.
    pub reason: String,
}

/// Whether `account` can be given a case: active, enrolled, an investigator or an
/// admin, with a place cases are wrapped to.
pub fn can_hold_cases(account: &Account) -> bool {
    account.state == AccountState::Active
        && account.enrolled()
        && matches!(account.role, Role::Investigator | Role::Admin)
        && account.investigator_id.is_some()
}

/// `POST /cases/{case_ref}/people`.
pub async fn submit(
    req: HttpRequest,
    state: web::Data<PortalState>,
    viewer: Viewer,
    case_ref: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    answer(
        &state,
        submit_inner(&req, &state, &viewer, &case_ref, &body).await,
    )
}

async fn submit_inner(
    req: &HttpRequest,
    state: &PortalState,
    viewer: &Viewer,
    typed: &str,
    body: &[u8],
) -> Answer {
    let (case, form) = match crate::cases::case_form::<PeopleForm>(state, req, viewer, typed, body).await? {
        Ok(posted) => posted,
        Err(refused) => return Ok(refused),
    };
    let page = format!("/cases/{}", case.case_ref);
    let t = &state.messages;
    let shown = &case;
    let refuse = |key: &str| {
        let message = t.get(key).into_owned();
        async move {
            crate::cases::page(
                req,
                state,
                viewer,
                shown,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(message),
                None,
            )
            .await
        }
    };
    let me = viewer
        .account
        .investigator_id
        .ok_or(Failure::Internal("an assignee without a place for cases"))?;
    match form.action.as_str() {
        "add" | "hand_over" => {
            let Some(colleague) = colleague(state, &form.person, viewer).await? else {
                return refuse("people.choose").await;
            };
            let handing_over = form.action == "hand_over";
            match add(state, viewer, &case, &colleague, handing_over).await? {
                true if handing_over => Ok(see_other("/cases?done=handed_over")),
                true => Ok(see_other(&format!("{page}?done=added"))),
                false => refuse("people.already").await,
            }
        }
        "remove" => {
            let Some(person) = colleague(state, &form.person, viewer).await? else {
                return refuse("people.choose").await;
            };
            let inv = person.investigator_id.ok_or(Failure::Internal("checked above"))?;
            let tx = state.store.begin_audited().await?;
            let done = tx.unassign(case.id, inv).await?;
            if let Some(why) = refusal(done) {
                // The transaction ends before the page is read again.
                drop(tx);
                return refuse(why).await;
            }
            audit(state, &tx, viewer, AuditAction::Unassign, &case, Some(person.id)).await?;
            tx.commit().await?;
            Ok(see_other(&format!("{page}?done=removed")))
        }
        "recuse" => {
            let Ok(reason) = EntryText::parse(&form.reason) else {
                return refuse("people.reason").await;
            };
            let note = NewCaseEntry {
                kind: EntryKind::Recusal,
                author: Some(viewer.id()),
                at: state.now(),
                ciphertext: seal(
                    &[&PublicKey::parse(&case.case_recipient)?],
                    &EntryDocument::new(reason, None)
                        .to_json()
                        .map_err(|_| Failure::Internal("an entry that does not serialise"))?,
                )?,
            };
            let tx = state.store.begin_audited().await?;
            let done = tx.unassign(case.id, me).await?;
            if let Some(why) = refusal(done) {
                drop(tx);
                return refuse(why).await;
            }
            tx.add_entry(case.id, &note).await?;
            audit(state, &tx, viewer, AuditAction::Recuse, &case, None).await?;
            tx.commit().await?;
            Ok(see_other("/cases?done=recused"))
        }
        _ => refuse("people.unknown").await,
    }
}

/// Why a removal did nothing, as a catalogue key.
fn refusal(done: Unassigned) -> Option<&'static str> {
    match done {
        Unassigned::Removed => None,
        Unassigned::NotAssigned => Some("people.not_on_case"),
        Unassigned::LastAssignee => Some("people.last"),
    }
}

/// The account a form names, if it is someone else who can hold cases.
async fn colleague(state: &PortalState, typed: &str, viewer: &Viewer) -> Result<Option<Account>, Failure> {
    let Some(id) = AccountId::parse(typed.trim()) else {
        return Ok(None);
    };
    if id == viewer.id() {
        return Ok(None);
    }
    Ok(state.store.account(id).await?.filter(can_hold_cases))
}

/// Wraps the case key to `colleague` and assigns them, with their email, and (handing
/// over) takes the viewer off. False if they hold the case already.
async fn add(
    state: &PortalState,
    viewer: &Viewer,
    case: &StoredCase,
    colleague: &Account,
    handing_over: bool,
) -> Result<bool, Failure> {
    let inv = colleague
        .investigator_id
        .ok_or(Failure::Internal("checked by can_hold_cases"))?;
    let keys = crate::content::open_keys(state, viewer, case)
        .await?
        .ok_or(Failure::Internal("a case the viewer cannot open"))?;
    let wrap = redress_keychain::wrap_case_key(
        &keys.case,
        Holder::Investigator(inv),
        &PublicKey::parse(&colleague.recipient)?,
    )
    .map_err(|_| Failure::Internal("a case key that does not wrap"))?;
    let now = state.now();
    let notice = redress_mail::Notice::CaseAssigned {
        case_ref: case.case_ref.clone(),
    };
    let notice =
        serde_json::to_string(&notice).map_err(|_| Failure::Internal("a notice that does not serialise"))?;
    // Each assignment is its own email, even to someone who held the case before.
    let key = format!("assigned:{}:{}:{}", case.id, inv, uuid_like());
    let email = NewEmail::with_job(
        &key,
        &colleague.email,
        notice,
        &state.settings.message_id_domain,
        now,
    );
    let tx = state.store.begin_audited().await?;
    let added = NewAssignee {
        investigator: inv,
        wrap,
        email: Some(email),
    };
    if !tx.assign(case.id, &added, now).await? {
        return Ok(false);
    }
    audit(state, &tx, viewer, AuditAction::Assign, case, Some(colleague.id)).await?;
    if handing_over {
        let me = viewer
            .account
            .investigator_id
            .ok_or(Failure::Internal("an assignee without a place for cases"))?;
        if tx.unassign(case.id, me).await? != Unassigned::Removed {
            return Err(Failure::Internal("handing over a case the viewer does not hold"));
        }
        audit(state, &tx, viewer, AuditAction::Unassign, case, Some(viewer.id())).await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// A random name for an idempotency key.
fn uuid_like() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

async fn audit(
    state: &PortalState,
    tx: &redress_store::Audited,
    viewer: &Viewer,
    action: AuditAction,
    case: &StoredCase,
    person: Option<AccountId>,
) -> Result<(), Failure> {
    let target = match person {
        Some(p) => format!("case:{}/account:{p}", case.case_ref),
        None => format!("case:{}", case.case_ref),
    };
    crate::cases::audit(state, Some(tx), viewer, action, &target).await
}
