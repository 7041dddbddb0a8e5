//! What investigators do to a case from its page: the steps of its life (acknowledge,
//! assess, investigate, conclude, give feedback, close, reopen) and writing to the
//! reporter or a note. Each is one audited transaction: the step, checked against the
//! state it starts from (`CaseState::after`, and again by the store's compare-and-set),
//! the deadline that applies afterwards and its flag, the sealed entries it writes, a
//! conclusion's action on the customer it names (ADR 0025), and the audit entries. An illegal step is refused with a clear message and changes
//! nothing.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use redress_crypto::seal;
use redress_domain::{
    Assessment, AuditAction, CaseState, Deadline, DeadlineFlag, EntryDocument, EntryKind, EntryText, Outcome,
    Sealed, SealedTo, Step,
};
use redress_store::{NewCaseEntry, StepRecord, StoredCase};
use serde::Deserialize;

use crate::PortalState;
use crate::access::{Viewer, see_other};
use crate::forms::{Answer, Failure, answer};

/// What the case page's forms post.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct StepForm {
    pub action: String,
    pub text: String,
    pub assessment: String,
    pub outcome: String,
    /// A conclusion's customer, from the register (its id), or empty for none named.
    pub customer: String,
    /// Why an outcome acts on the customer (shown in the register).
    pub customer_reason: String,
}

/// What a form asked for, checked against its fields.
enum Asked {
    Step(Step),
    Write(EntryKind),
}

/// `POST /cases/{case_ref}`.
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
    let here = req.path().to_owned();
    // Whose case it is comes first: someone else's is a missing page, whatever the form.
    let (case, form) = match crate::cases::case_form::<StepForm>(state, req, viewer, typed, body).await? {
        Ok(posted) => posted,
        Err(refused) => return Ok(refused),
    };
    let t = &state.messages;
    let refuse = |message: String| async {
        crate::cases::page(
            req,
            state,
            viewer,
            &case,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(message),
            Some(&form),
        )
        .await
    };
    let asked = match asked(&form) {
        Ok(asked) => asked,
        Err(key) => return refuse(t.get(key).into_owned()).await,
    };
    // What the step writes, and its text, checked before anything is.
    let written = match written_by(&asked) {
        Some(kind) => match EntryText::parse(&form.text) {
            Ok(text) => Some((kind, text)),
            Err(e) => return refuse(t.fill("steps.bad_text", &[("why", &e.to_string())])).await,
        },
        None => None,
    };
    let now = state.now();
    let record = match asked {
        Asked::Step(step) => match case.state.after(step, case.assessment) {
            Ok(to) => Some(record(state, &case, step, to, now)),
            Err(illegal) => {
                let message = t.fill(
                    "steps.illegal",
                    &[
                        ("state", &t.get(&format!("case_state.{}", illegal.state))),
                        ("step", &t.get(&format!("steps.name_{}", illegal.step))),
                    ],
                );
                return refuse(message).await;
            }
        },
        Asked::Write(_) => None,
    };
    // The customer a conclusion names, checked before anything is written (ADR 0025).
    let named = match asked {
        Asked::Step(Step::Conclude(outcome)) => {
            let (customer, reason) = (&form.customer, &form.customer_reason);
            match crate::customers::named_in_conclusion(state, outcome, customer, reason).await? {
                Ok(named) => named,
                Err(message) => return refuse(message).await,
            }
        }
        _ => None,
    };
    let keys = crate::content::open_keys(state, viewer, &case)
        .await?
        .ok_or(Failure::Internal("a step on a case the viewer cannot open"))?;
    let entry = match written {
        Some((kind, text)) => {
            let assessment = match &record {
                Some(r) if kind == EntryKind::Assessment => r.assessment,
                _ => None,
            };
            // A finding names its customer here, sealed to the case key, whatever the
            // outcome: the case page shows it to the assignees.
            let document =
                EntryDocument::new(text, assessment).concerning(named.as_ref().map(|n| n.customer));
            let to = match kind.sealed_to() {
                SealedTo::Thread => keys.thread.public(),
                SealedTo::Case => keys.case.public(),
            };
            // A thread entry is sealed to the thread key only: the reporter's key,
            // which holds nothing of the case key, opens it; the case key opens the
            // thread key, so colleagues read both.
            let json = document
                .to_json()
                .map_err(|_| Failure::Internal("an entry that does not serialise"))?;
            Some(NewCaseEntry {
                kind,
                author: Some(viewer.id()),
                at: now,
                ciphertext: seal(&[&to], &json)?,
            })
        }
        None => None,
    };
    let tx = state.store.begin_audited().await?;
    if let Some(r) = &record
        && !tx.take_step(case.id, r).await?
    {
        drop(tx);
        return refuse(t.get("steps.changed").into_owned()).await;
    }
    if let Some(e) = &entry {
        tx.add_entry(case.id, e).await?;
    }
    let target = format!("case:{}", case.case_ref);
    crate::cases::audit(state, Some(&tx), viewer, audit_action(&asked), &target).await?;
    if let Some(named) = &named {
        crate::customers::act_on_customer(&tx, viewer, &case, named, now).await?;
    }
    tx.commit().await?;
    Ok(see_other(&format!("{here}?done={}", form.action)))
}

/// The step or writing a form asks for, or the catalogue key of why it cannot be.
fn asked(form: &StepForm) -> Result<Asked, &'static str> {
    Ok(match form.action.as_str() {
        "reply" => Asked::Write(EntryKind::Reply),
        "note" => Asked::Write(EntryKind::Note),
        "acknowledge" => Asked::Step(Step::Acknowledge),
        "assess" => Asked::Step(Step::Assess(
            Assessment::parse(&form.assessment).ok_or("steps.choose_assessment")?,
        )),
        "investigate" => Asked::Step(Step::Investigate),
        "conclude" => Asked::Step(Step::Conclude(
            Outcome::parse(&form.outcome).ok_or("steps.choose_outcome")?,
        )),
        "give_feedback" => Asked::Step(Step::GiveFeedback),
        "close" => Asked::Step(Step::Close),
        "reopen" => Asked::Step(Step::Reopen),
        _ => return Err("steps.unknown"),
    })
}

/// The entry a step or a writing adds, whose text the form must give.
fn written_by(asked: &Asked) -> Option<EntryKind> {
    match asked {
        Asked::Write(kind) => Some(*kind),
        Asked::Step(Step::Acknowledge) => Some(EntryKind::Acknowledgement),
        Asked::Step(Step::Assess(_)) => Some(EntryKind::Assessment),
        Asked::Step(Step::Conclude(_)) => Some(EntryKind::Finding),
        Asked::Step(Step::GiveFeedback) => Some(EntryKind::Feedback),
        Asked::Step(Step::Reopen) => Some(EntryKind::Reopening),
        Asked::Step(Step::Investigate | Step::Close) => None,
    }
}

fn audit_action(asked: &Asked) -> AuditAction {
    match asked {
        Asked::Write(EntryKind::Reply) => AuditAction::Reply,
        Asked::Write(_) => AuditAction::Note,
        Asked::Step(Step::Acknowledge) => AuditAction::Acknowledge,
        Asked::Step(Step::Assess(_)) => AuditAction::Assess,
        Asked::Step(Step::Investigate) => AuditAction::Investigate,
        Asked::Step(Step::Conclude(_)) => AuditAction::Conclude,
        Asked::Step(Step::GiveFeedback) => AuditAction::GiveFeedback,
        Asked::Step(Step::Close) => AuditAction::Close,
        Asked::Step(Step::Reopen) => AuditAction::Reopen,
    }
}

/// What taking `step` to `to` at `now` writes on the case: an acknowledgement or a
/// reopening starts the feedback deadline afresh, and the flag is that of whichever
/// deadline applies afterwards.
fn record(state: &PortalState, case: &StoredCase, step: Step, to: CaseState, now: i64) -> StepRecord {
    let feedback_due =
        matches!(step, Step::Acknowledge | Step::Reopen).then(|| now + state.settings.feedback_secs);
    let due = match to.deadline() {
        Some(Deadline::Acknowledgement) => case.ack_due,
        Some(Deadline::Feedback) => feedback_due.or(case.feedback_due),
        None => None,
    };
    StepRecord {
        from: case.state,
        to,
        assessment: match step {
            Step::Assess(a) => Some(a),
            _ => None,
        },
        outcome: match step {
            Step::Conclude(o) => Some(o),
            _ => None,
        },
        at: now,
        feedback_due,
        deadline_flag: due.map_or(DeadlineFlag::Ok, |due| {
            DeadlineFlag::of(due, now, state.settings.due_soon_secs)
        }),
    }
}
