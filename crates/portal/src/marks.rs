//! What an assignee marks a case with (ADR 0024): their own star, and the case's labels
//! from the configured list. Labels are sealed to the case key, so a copy of the
//! database shows which cases carry labels but not which; they are opened with the
//! viewer's identity to show them, and to filter the list by one.

use std::collections::{HashMap, HashSet};

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use redress_crypto::{PublicKey, SecretIdentity, open, seal};
use redress_domain::{AuditAction, CaseId, InvestigatorId, LabelsDocument, Sealed};
use serde::Deserialize;

use crate::PortalState;
use crate::access::{Viewer, see_other};
use crate::forms::{Answer, Failure, answer};

/// What the case page's marks forms post: `action` (`star`, `unstar`, `labels`) and,
/// for `labels`, a `label-<name>` checkbox per label carried.
#[derive(Debug, Default, Deserialize)]
pub struct MarksForm {
    #[serde(default)]
    pub action: String,
    #[serde(flatten)]
    pub fields: HashMap<String, String>,
}

/// The field of a label's checkbox.
pub fn label_field(label: &str) -> String {
    format!("label-{label}")
}

/// `POST /cases/{case_ref}/marks`.
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
    let (case, form) = match crate::cases::case_form::<MarksForm>(state, req, viewer, typed, body).await? {
        Ok(posted) => posted,
        Err(refused) => return Ok(refused),
    };
    let page = format!("/cases/{}", case.case_ref);
    let me = viewer
        .account
        .investigator_id
        .ok_or(Failure::Internal("an assignee without a place for cases"))?;
    match form.action.as_str() {
        "star" | "unstar" => {
            state.store.set_star(case.id, me, form.action == "star").await?;
            Ok(see_other(&format!("{page}?done={}", form.action)))
        }
        "labels" => {
            let known: HashSet<&str> = state.settings.labels.iter().map(String::as_str).collect();
            let mut chosen = Vec::new();
            for (field, _) in form.fields.iter().filter(|(f, _)| f.starts_with("label-")) {
                let name = &field["label-".len()..];
                if !known.contains(name) {
                    let t = &state.messages;
                    return crate::cases::page(
                        req,
                        state,
                        viewer,
                        &case,
                        StatusCode::UNPROCESSABLE_ENTITY,
                        Some(t.get("labels.unknown").into_owned()),
                        None,
                    )
                    .await;
                }
                chosen.push(name.to_owned());
            }
            let sealed = if chosen.is_empty() {
                None
            } else {
                let doc = LabelsDocument::new(chosen);
                let json = doc
                    .to_json()
                    .map_err(|_| Failure::Internal("labels that do not serialise"))?;
                Some(seal(&[&PublicKey::parse(&case.case_recipient)?], &json)?)
            };
            let tx = state.store.begin_audited().await?;
            tx.set_labels(case.id, sealed).await?;
            let target = format!("case:{}", case.case_ref);
            crate::cases::audit(state, Some(&tx), viewer, AuditAction::Labels, &target).await?;
            tx.commit().await?;
            Ok(see_other(&format!("{page}?done=labels")))
        }
        _ => {
            let t = &state.messages;
            crate::cases::page(
                req,
                state,
                viewer,
                &case,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(t.get("labels.unknown_action").into_owned()),
                None,
            )
            .await
        }
    }
}

/// Opens the labels of those of `cases` that carry any, with the viewer's identity:
/// their wraps, read in one query, give each case key. CPU work (two X25519 per case)
/// runs off the async threads. A case whose wrap or labels do not open shows none.
pub async fn open_labels(
    state: &PortalState,
    investigator: InvestigatorId,
    identity: SecretIdentity,
    cases: &[CaseId],
) -> Result<HashMap<CaseId, Vec<String>>, Failure> {
    let sealed = state.store.sealed_labels(cases).await?;
    if sealed.is_empty() {
        return Ok(HashMap::new());
    }
    let with_labels: Vec<CaseId> = sealed.keys().copied().collect();
    let wraps = state.store.wraps_held(investigator, &with_labels).await?;
    let opened = web::block(move || {
        let mut opened = HashMap::new();
        for (case, ciphertext) in sealed {
            let Some(wrap) = wraps.get(&case) else { continue };
            let Ok(case_key) = redress_crypto::unwrap_identity(&wrap.ciphertext, &identity) else {
                continue;
            };
            let Ok(plain) = open(&case_key, &ciphertext) else {
                continue;
            };
            if let Ok(doc) = LabelsDocument::from_json(&plain) {
                opened.insert(case, doc.labels);
            }
        }
        opened
    })
    .await
    .map_err(|_| Failure::Internal("opening labels stopped"))?;
    Ok(opened)
}
