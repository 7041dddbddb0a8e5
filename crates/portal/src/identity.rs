//! What a reporter shared about who they are (ADR 0029), on a page of its own:
//! `GET /cases/{case_ref}/identity`. Sealed to the case key only, it is opened here
//! alone, for an assignee of the case, and each opening is written to the audit log.
//! The case page only says that it exists; the search never opens it.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use redress_domain::{AuditAction, EntryDocument, EntryKind, Sealed};

use crate::PortalState;
use crate::access::Viewer;
use crate::forms::{Answer, Failure, answer};
use crate::layout::{Chrome, page};

/// One disclosure, opened.
#[derive(Debug)]
pub struct Disclosure {
    pub sent: String,
    pub text: String,
}

page!(IdentityPage {
    case_ref: String,
    /// `None`: the viewer holds no key that opens the case.
    disclosures: Option<Vec<Disclosure>>,
}, "identity.html");

/// `GET /cases/{case_ref}/identity`.
pub async fn show(
    req: HttpRequest,
    state: web::Data<PortalState>,
    viewer: Viewer,
    case_ref: web::Path<String>,
) -> HttpResponse {
    answer(&state, show_inner(&req, &state, &viewer, &case_ref).await)
}

async fn show_inner(req: &HttpRequest, state: &PortalState, viewer: &Viewer, typed: &str) -> Answer {
    let case = match crate::cases::visible_case(state, req, viewer, typed).await? {
        Ok(case) => case,
        Err(refused) => return Ok(refused),
    };
    let sealed: Vec<_> = state
        .store
        .entries(case.id)
        .await?
        .into_iter()
        .filter(|e| e.kind == EntryKind::IdentityDisclosure)
        .collect();
    let disclosures = match crate::content::open_case_key(state, viewer, &case).await? {
        None => None,
        Some(case_key) => {
            let t = &state.messages;
            let mut opened = Vec::with_capacity(sealed.len());
            for e in &sealed {
                let plain = redress_crypto::open(&case_key, &e.ciphertext)?;
                let doc = EntryDocument::from_json(&plain)
                    .map_err(|_| Failure::Internal("an entry that does not read"))?;
                opened.push(Disclosure {
                    sent: t.fill("identity.sent", &[("at", &crate::layout::moment(e.at))]),
                    text: doc.text,
                });
            }
            Some(opened)
        }
    };
    // Written before anything is shown: no view of it goes unrecorded.
    if disclosures.as_ref().is_some_and(|d| !d.is_empty()) {
        crate::cases::audit(
            state,
            None,
            viewer,
            AuditAction::IdentityView,
            &format!("case:{}", case.case_ref),
        )
        .await?;
    }
    let page = IdentityPage {
        chrome: Chrome::new(state, req, Some(viewer), "identity.title"),
        case_ref: case.case_ref.to_string(),
        disclosures,
    };
    Ok(page.chrome.respond(StatusCode::OK, &page))
}
