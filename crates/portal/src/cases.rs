//! The viewer's cases. Part 1 of the portal lists what is assigned to them by
//! reference and state, and shows a case's public metadata; what a case holds comes
//! with part 2. Whether a case is the viewer's is decided by [`access::may_see_case`],
//! and a case they may not see is answered exactly as one that does not exist.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use redress_domain::{AuditAction, CaseRef, Holder};
use redress_store::StoredCase;

use crate::PortalState;
use crate::access::{self, Viewer};
use crate::forms::{Answer, answer};
use crate::layout::{Chrome, day, page};

/// A case as the list shows it.
#[derive(Debug)]
pub struct CaseRow {
    pub case_ref: String,
    pub state: String,
    pub received: String,
    /// Wrapped to a key this account no longer has (an identity replaced at setup):
    /// it opens again once an admin re-wraps it (key rotation).
    pub earlier_key: bool,
}

page!(CasesPage {
    cases: Vec<CaseRow>,
}, "cases.html");

page!(
    CasePage {
        case_ref: String,
        state: String,
        priority: String,
        received: String,
        ack_due: String,
        feedback_due: String,
        earlier_key: bool,
    },
    "case.html"
);

async fn row(
    state: &PortalState,
    viewer: &Viewer,
    case: &StoredCase,
) -> Result<CaseRow, redress_store::StoreError> {
    Ok(CaseRow {
        case_ref: case.case_ref.to_string(),
        state: state
            .messages
            .get(&format!("case_state.{}", case.state))
            .into_owned(),
        received: day(case.received_at),
        earlier_key: earlier_key(state, viewer, case).await?,
    })
}

async fn earlier_key(
    state: &PortalState,
    viewer: &Viewer,
    case: &StoredCase,
) -> Result<bool, redress_store::StoreError> {
    let Some(inv) = viewer.account.investigator_id else {
        return Ok(false);
    };
    Ok(state
        .store
        .wrap(case.id, Holder::Investigator(inv))
        .await?
        .is_some_and(|w| w.holder_recipient != viewer.account.recipient))
}

/// `GET /cases`: the cases assigned to the viewer.
pub async fn list(req: HttpRequest, state: web::Data<PortalState>, viewer: Viewer) -> HttpResponse {
    answer(&state, list_inner(&req, &state, &viewer).await)
}

async fn list_inner(req: &HttpRequest, state: &PortalState, viewer: &Viewer) -> Answer {
    let mut cases = Vec::new();
    if let Some(inv) = viewer.account.investigator_id {
        for case in state.store.assigned_cases(inv).await? {
            if access::may_see_case(viewer, true) {
                cases.push(row(state, viewer, &case).await?);
            }
        }
    }
    let page = CasesPage {
        chrome: Chrome::new(state, req, Some(viewer), "cases.title"),
        cases,
    };
    Ok(page.chrome.respond(StatusCode::OK, &page))
}

/// `GET /cases/{case_ref}`: one case, if it is the viewer's; each view is audited.
pub async fn show(
    req: HttpRequest,
    state: web::Data<PortalState>,
    viewer: Viewer,
    case_ref: web::Path<String>,
) -> HttpResponse {
    answer(&state, show_inner(&req, &state, &viewer, &case_ref).await)
}

async fn show_inner(req: &HttpRequest, state: &PortalState, viewer: &Viewer, typed: &str) -> Answer {
    let target = match CaseRef::parse(typed) {
        Some(r) => format!("case:{r}"),
        None => "page:/cases/{case_ref}".to_owned(),
    };
    let case = match CaseRef::parse(typed) {
        Some(r) => state.store.case_by_ref(&r).await?,
        None => None,
    };
    let assigned = match (&case, viewer.account.investigator_id) {
        (Some(c), Some(inv)) => state.store.is_assigned(c.id, inv).await?,
        _ => false,
    };
    let Some(case) = case.filter(|_| access::may_see_case(viewer, assigned)) else {
        return Ok(access::hidden(state, req, viewer, &target).await);
    };
    let actor = viewer.actor();
    let entry = redress_audit::NewEntry {
        actor: &actor,
        action: AuditAction::CaseView,
        target: Some(&target),
        at: state.now(),
        timing: redress_audit::Timing::Exact,
    };
    redress_audit::record(&state.store, &entry).await?;
    let t = &state.messages;
    let due = |d: Option<i64>| d.map_or_else(|| t.get("case.not_set").into_owned(), day);
    let page = CasePage {
        chrome: Chrome::new(state, req, Some(viewer), "case.title"),
        state: t.get(&format!("case_state.{}", case.state)).into_owned(),
        priority: case
            .priority
            .map_or_else(|| t.get("case.not_set").into_owned(), |p| p.to_string()),
        received: day(case.received_at),
        ack_due: due(case.ack_due),
        feedback_due: due(case.feedback_due),
        earlier_key: earlier_key(state, viewer, &case).await?,
        case_ref: case.case_ref.to_string(),
    };
    Ok(page.chrome.respond(StatusCode::OK, &page))
}
