//! The viewer's cases: the list of what is assigned to them, one case's page (its
//! answers, what triage found, related cases, the evidence), and evidence downloads.
//! Whether a case is the viewer's is decided by [`access::may_see_case`]; a case they may
//! not see is answered exactly as one that does not exist. What a case holds is opened
//! with the viewer's identity for the request ([`crate::content`]).

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use redress_domain::{AuditAction, CaseRef, ObjectId, Rendition, SealedTo, TriageSummary};
use redress_store::StoredCase;

use crate::PortalState;
use crate::access::{self, Viewer};
use crate::content::{self, CaseContent};
use crate::forms::{Answer, answer};
use crate::layout::{Chrome, day, page};

/// One answer of the report.
#[derive(Debug)]
pub struct AnswerRow {
    pub label: String,
    pub value: String,
}

/// One rule that moved the score.
#[derive(Debug)]
pub struct ReasonRow {
    pub rule: String,
    pub points: i32,
    pub detail: String,
}

/// A matched indicator: what it is called, what it indicates, what matched.
#[derive(Debug)]
pub struct IndicatorRow {
    pub label: String,
    pub indicates: Vec<String>,
    pub observables: Vec<String>,
}

/// A related case the viewer is assigned to.
#[derive(Debug)]
pub struct RelatedRow {
    pub case_ref: String,
    pub shared: String,
}

/// An evidence file, its custody, and its scrubbed rendition.
#[derive(Debug)]
pub struct FileRow {
    pub name: String,
    pub size: String,
    pub sha256: String,
    /// Whether the stored file still matched the intake's hash when triage read it.
    pub verified: Option<bool>,
    pub original: String,
    pub scrubbed: Option<String>,
    /// What scrubbing removed, or why there is no rendition.
    pub rendition: String,
}

/// What triage found, as the page shows it.
#[derive(Debug)]
pub struct TriageView {
    pub priority: String,
    pub points: i32,
    pub team: String,
    pub reasons: Vec<ReasonRow>,
    pub indicators: Vec<IndicatorRow>,
    pub related: Vec<RelatedRow>,
    /// Related cases linked but not the viewer's, or beyond the list.
    pub related_hidden: u64,
    pub overlaps: Vec<String>,
}

/// An entry of the conversation or the notes, opened.
#[derive(Debug)]
pub struct EntryRow {
    pub kind: String,
    /// Who wrote it, for colleagues (the reporter never sees this).
    pub author: String,
    pub at: String,
    pub text: String,
    /// Sealed to the case key: not in the reporter's thread.
    pub internal: bool,
    /// The files the reporter sent with a message.
    pub files: Vec<EntryFile>,
    /// For what investigators wrote to the reporter: whether the reporter marked it
    /// read.
    pub read: Option<bool>,
}

/// A file sent with a reporter's message.
#[derive(Debug)]
pub struct EntryFile {
    pub href: String,
    pub name: String,
    pub size: String,
    pub sha256: String,
}

/// What the case holds, when the viewer's identity opens it.
#[derive(Debug)]
pub struct Content {
    pub answers: Vec<AnswerRow>,
    pub triage: Option<TriageView>,
    pub files: Vec<FileRow>,
    pub entries: Vec<EntryRow>,
    /// How many times the reporter shared who they are: only the count is on the case
    /// page; the text is on a page of its own ([`crate::identity`]).
    pub identity_shared: usize,
    /// The customer the last finding names.
    pub concerns: Option<crate::customers::Concerns>,
}

/// A choice of a select list.
#[derive(Debug)]
pub struct Choice {
    pub value: &'static str,
    pub label: String,
}

/// The forms the case page offers in the case's state, with what a refused or kept
/// form had in it.
#[derive(Debug, Default)]
pub struct Actions {
    /// The steps that may be taken now, by name (`acknowledge`, `assess`, …).
    pub steps: Vec<&'static str>,
    pub assessments: Vec<Choice>,
    pub outcomes: Vec<Choice>,
    /// The register, to name the customer a conclusion concerns.
    pub customers: Vec<crate::customers::CustomerChoice>,
    /// The form to fill in again and its text.
    pub action: String,
    pub text: String,
    /// A refused conclusion's outcome and reason for acting on its customer.
    pub outcome: String,
    pub customer_reason: String,
    /// The acknowledgement's usual text, to start from.
    pub ack_text: String,
}

impl Actions {
    /// Whether `step` may be taken now.
    pub fn can(&self, step: &str) -> bool {
        self.steps.contains(&step)
    }

    /// Whether the conclusion's form had `outcome` chosen.
    pub fn outcome_chosen(&self, outcome: &str) -> bool {
        self.outcome == outcome
    }

    /// The text to put back in the form of `action`.
    pub fn text_for(&self, action: &str) -> &str {
        if self.action == action {
            &self.text
        } else if action == redress_domain::Step::Acknowledge.name() {
            &self.ack_text
        } else {
            ""
        }
    }
}

/// A person on the case, as the people section lists them.
#[derive(Debug)]
pub struct PersonRow {
    pub account: String,
    pub email: String,
    pub me: bool,
}

/// A label and whether the case carries it.
#[derive(Debug)]
pub struct LabelChoice {
    pub name: String,
    pub field: String,
    pub carried: bool,
}

/// Who works on the case, who could join, and the viewer's marks on it.
#[derive(Debug, Default)]
pub struct Team {
    pub people: Vec<PersonRow>,
    /// Accounts that can hold cases and do not hold this one: (account id, email).
    pub colleagues: Vec<(String, String)>,
    pub starred: bool,
    pub labels: Vec<LabelChoice>,
}

impl Team {
    /// Whether someone else is on the case (so the viewer may leave it).
    pub fn others(&self) -> bool {
        self.people.iter().any(|p| !p.me)
    }
}

/// The people of a case and the viewer's marks, with its labels opened with the case
/// key.
async fn team_of(
    state: &PortalState,
    viewer: &Viewer,
    case: &StoredCase,
    keys: &content::CaseKeys,
) -> Result<Team, crate::forms::Failure> {
    use redress_domain::{LabelsDocument, Sealed};
    let assignees: Vec<_> = state
        .store
        .assignees(case.id)
        .await?
        .into_iter()
        .map(|i| i.id)
        .collect();
    let mut team = Team::default();
    for account in state.store.accounts().await? {
        let on_case = account.investigator_id.is_some_and(|i| assignees.contains(&i));
        if on_case {
            team.people.push(PersonRow {
                account: account.id.to_string(),
                me: account.id == viewer.id(),
                email: account.email,
            });
        } else if crate::people::can_hold_cases(&account) {
            team.colleagues.push((account.id.to_string(), account.email));
        }
    }
    if let Some(inv) = viewer.account.investigator_id {
        team.starred = state.store.starred(case.id, inv).await?;
    }
    let carried = match state.store.sealed_labels(&[case.id]).await?.remove(&case.id) {
        Some(sealed) => {
            LabelsDocument::from_json(&redress_crypto::open(&keys.case, &sealed)?)
                .map_err(|_| crate::forms::Failure::Internal("labels that do not read"))?
                .labels
        }
        None => Vec::new(),
    };
    team.labels = state
        .settings
        .labels
        .iter()
        .map(|name| LabelChoice {
            field: crate::marks::label_field(name),
            carried: carried.contains(name),
            name: name.clone(),
        })
        .collect();
    Ok(team)
}

page!(CasePage {
    case_ref: String,
    state: String,
    priority: String,
    received: String,
    ack_due: String,
    feedback_due: String,
    deadline: String,
    earlier_key: bool,
    content: Option<Content>,
    actions: Actions,
    team: Team,
    error: Option<String>,
    notice: Option<String>,
}, "case.html");

/// The case a path names, if the viewer may see it; otherwise the answer to give (the
/// 404 of a missing page, audited), whether the case exists or not.
pub(crate) async fn visible_case(
    state: &PortalState,
    req: &HttpRequest,
    viewer: &Viewer,
    typed: &str,
) -> Result<Result<StoredCase, HttpResponse>, crate::forms::Failure> {
    let case_ref = CaseRef::parse(typed);
    let target = match &case_ref {
        Some(r) => format!("case:{r}"),
        None => "page:/cases/{case_ref}".to_owned(),
    };
    let case = match &case_ref {
        Some(r) => state.store.case_by_ref(r).await?,
        None => None,
    };
    let assigned = match (&case, viewer.account.investigator_id) {
        (Some(c), Some(inv)) => state.store.is_assigned(c.id, inv).await?,
        _ => false,
    };
    Ok(match case.filter(|_| access::may_see_case(viewer, assigned)) {
        Some(case) => Ok(case),
        None => Err(access::hidden(state, req, viewer, &target).await),
    })
}

/// Writes the viewer's `action` on `target` to the audit log: in `tx`, with what it
/// records, or on its own.
pub(crate) async fn audit(
    state: &PortalState,
    tx: Option<&redress_store::Audited>,
    viewer: &Viewer,
    action: AuditAction,
    target: &str,
) -> Result<(), crate::forms::Failure> {
    match tx {
        Some(tx) => audit_in(tx, viewer, action, target, state.now()).await,
        None => {
            let tx = state.store.begin_audited().await?;
            audit_in(&tx, viewer, action, target, state.now()).await?;
            tx.commit().await?;
            Ok(())
        }
    }
}

/// Writes the viewer's `action` on `target` at `at` to the audit log, in `tx`.
pub(crate) async fn audit_in(
    tx: &redress_store::Audited,
    viewer: &Viewer,
    action: AuditAction,
    target: &str,
    at: i64,
) -> Result<(), crate::forms::Failure> {
    let actor = viewer.actor();
    let entry = redress_audit::NewEntry {
        actor: &actor,
        action,
        target: Some(target),
        at,
        timing: redress_audit::Timing::Exact,
    };
    redress_audit::append(tx, &entry).await?;
    Ok(())
}

/// A form posted from a case's page: the case, if the viewer may see it (otherwise the
/// answer to give: a 404, whatever the form), and the form once its CSRF token checks
/// out (otherwise its refusal).
pub(crate) async fn case_form<T: serde::de::DeserializeOwned>(
    state: &PortalState,
    req: &HttpRequest,
    viewer: &Viewer,
    typed: &str,
    body: &[u8],
) -> Result<Result<(StoredCase, T), HttpResponse>, crate::forms::Failure> {
    let case = match visible_case(state, req, viewer, typed).await? {
        Ok(case) => case,
        Err(refused) => return Ok(Err(refused)),
    };
    let page = format!("/cases/{}", case.case_ref);
    Ok(match crate::forms::posted::<T>(state, req, body, &page) {
        crate::forms::Posted::Form(form) => Ok((case, form)),
        crate::forms::Posted::Refused(answer) => Err(answer),
    })
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
    let case = match visible_case(state, req, viewer, typed).await? {
        Ok(case) => case,
        Err(refused) => return Ok(refused),
    };
    audit(
        state,
        None,
        viewer,
        AuditAction::CaseView,
        &format!("case:{}", case.case_ref),
    )
    .await?;
    let (kept, forget) = crate::forms::take_kept(state, req, req.path()).await;
    let kept_form = (!kept.is_empty()).then(|| {
        let value = |name: &str| crate::forms::kept_value(&kept, name).unwrap_or_default();
        crate::steps::StepForm {
            action: value("action"),
            text: value("text"),
            outcome: value("outcome"),
            customer: value("customer"),
            customer_reason: value("customer_reason"),
            ..crate::steps::StepForm::default()
        }
    });
    let notice = crate::login::query(req, "done")
        .filter(|d| STEP_NAMES.contains(&d.as_str()) || OTHER_DONE.contains(&d.as_str()))
        .map(|d| state.messages.get(&format!("steps.done_{d}")).into_owned());
    let mut res = page_with(
        req,
        state,
        viewer,
        &case,
        StatusCode::OK,
        None,
        kept_form.as_ref(),
        notice,
    )
    .await?;
    if let Some(c) = forget {
        let _ = res.add_cookie(&c);
    }
    Ok(res)
}

/// What else the case page's forms report having done.
const OTHER_DONE: &[&str] = &["reply", "note", "added", "removed", "star", "unstar", "labels"];

/// Every step's name, as forms post it.
const STEP_NAMES: &[&str] = &[
    "acknowledge",
    "assess",
    "investigate",
    "conclude",
    "give_feedback",
    "close",
    "reopen",
];

/// The case page, with an error for a refused form and that form's text back in it.
pub(crate) async fn page(
    req: &HttpRequest,
    state: &PortalState,
    viewer: &Viewer,
    case: &StoredCase,
    status: StatusCode,
    error: Option<String>,
    form: Option<&crate::steps::StepForm>,
) -> Answer {
    page_with(req, state, viewer, case, status, error, form, None).await
}

#[allow(clippy::too_many_arguments)]
async fn page_with(
    req: &HttpRequest,
    state: &PortalState,
    viewer: &Viewer,
    case: &StoredCase,
    status: StatusCode,
    error: Option<String>,
    form: Option<&crate::steps::StepForm>,
    notice: Option<String>,
) -> Answer {
    let mut team = Team::default();
    let content = match content::open_keys(state, viewer, case).await? {
        Some(keys) => {
            let opened = content::read(state, &keys, case).await?;
            let mut shown = view(state, viewer, case, &opened).await?;
            let opened_entries = entries(state, case, &keys).await?;
            shown.entries = opened_entries.rows;
            shown.identity_shared = opened_entries.identity_shared;
            shown.concerns = match opened_entries.concerns {
                Some(id) => crate::customers::concerns(state, id).await?,
                None => None,
            };
            team = team_of(state, viewer, case, &keys).await?;
            if let Some(inv) = viewer.account.investigator_id {
                // What is on this page counts as seen, however the request ends.
                state.store.mark_seen(case.id, inv, opened_entries.last).await?;
            }
            Some(shown)
        }
        None => None,
    };
    let t = &state.messages;
    let due = |d: Option<i64>| d.map_or_else(|| t.get("case.not_set").into_owned(), day);
    let deadline = match case.deadline() {
        Some((which, at)) => t.fill(
            &format!("case.deadline_{}", case.deadline_flag),
            &[
                ("which", &t.get(&format!("case.deadline_name_{which}"))),
                ("date", &day(at)),
            ],
        ),
        None => t.get("case.no_deadline").into_owned(),
    };
    let actions = if content.is_some() {
        let chosen = form.map(|f| f.customer.as_str()).unwrap_or_default();
        let customers = crate::customers::choices(state, chosen).await?;
        actions(state, case, form, customers)
    } else {
        Actions::default()
    };
    let page = CasePage {
        chrome: Chrome::new(state, req, Some(viewer), "case.title"),
        state: t.get(&format!("case_state.{}", case.state)).into_owned(),
        priority: case
            .priority
            .map_or_else(|| t.get("case.not_set").into_owned(), |p| p.to_string()),
        received: day(case.received_at),
        ack_due: due(case.ack_due),
        feedback_due: due(case.feedback_due),
        deadline,
        earlier_key: content.is_none(),
        case_ref: case.case_ref.to_string(),
        content,
        actions,
        team,
        error,
        notice,
    };
    Ok(page.chrome.respond(status, &page))
}

/// The forms the case's state allows.
fn actions(
    state: &PortalState,
    case: &StoredCase,
    form: Option<&crate::steps::StepForm>,
    customers: Vec<crate::customers::CustomerChoice>,
) -> Actions {
    use redress_domain::{Assessment, Outcome, Step};
    let t = &state.messages;
    let candidates = [
        Step::Acknowledge,
        Step::Assess(Assessment::Admissible),
        Step::Investigate,
        // Any outcome stands for concluding: the state decides, not the outcome.
        Step::Conclude(Outcome::Unrelated),
        Step::GiveFeedback,
        Step::Close,
        Step::Reopen,
    ];
    Actions {
        steps: candidates
            .into_iter()
            .filter(|s| case.state.after(*s, case.assessment).is_ok())
            .map(Step::name)
            .collect(),
        assessments: Assessment::ALL
            .iter()
            .map(|a| Choice {
                value: a.as_str(),
                label: t.get(&format!("assessment.{a}")).into_owned(),
            })
            .collect(),
        outcomes: Outcome::ALL
            .iter()
            .map(|o| Choice {
                value: o.as_str(),
                label: t.get(&format!("outcome.{o}")).into_owned(),
            })
            .collect(),
        customers,
        action: form.map(|f| f.action.clone()).unwrap_or_default(),
        text: form.map(|f| f.text.clone()).unwrap_or_default(),
        outcome: form.map(|f| f.outcome.clone()).unwrap_or_default(),
        customer_reason: form.map(|f| f.customer_reason.clone()).unwrap_or_default(),
        ack_text: t.get("steps.ack_default").into_owned(),
    }
}

/// A case's entries, opened.
struct OpenedEntries {
    rows: Vec<EntryRow>,
    /// Identity disclosures, counted and left sealed.
    identity_shared: usize,
    /// The number of the last entry.
    last: u32,
    /// The customer the last finding names.
    concerns: Option<redress_domain::CustomerId>,
}

/// The case's conversation and notes, opened: the thread with the thread key, notes
/// with the case key; and the customer its last finding names.
async fn entries(
    state: &PortalState,
    case: &StoredCase,
    keys: &content::CaseKeys,
) -> Result<OpenedEntries, crate::forms::Failure> {
    use redress_domain::{EntryDocument, Sealed};
    let t = &state.messages;
    let emails = state.store.account_emails().await?;
    let mut rows = Vec::new();
    let mut last = 0;
    let mut concerns = None;
    let mut identity_shared = 0;
    for e in state.store.entries(case.id).await? {
        last = last.max(e.seq);
        if e.kind == redress_domain::EntryKind::IdentityDisclosure {
            identity_shared += 1;
            continue;
        }
        let key = match e.kind.sealed_to() {
            SealedTo::Thread => &keys.thread,
            SealedTo::Case => &keys.case,
        };
        let plain = redress_crypto::open(key, &e.ciphertext)?;
        let doc = EntryDocument::from_json(&plain)
            .map_err(|_| crate::forms::Failure::Internal("an entry that does not read"))?;
        let mut kind = t.get(&format!("entry.{}", e.kind)).into_owned();
        if let Some(a) = doc.assessment {
            kind = format!("{kind}: {}", t.get(&format!("assessment.{a}")));
        }
        if e.kind == redress_domain::EntryKind::Finding {
            concerns = doc.customer;
        }
        rows.push(EntryRow {
            kind,
            author: match e.author {
                Some(id) => emails.get(&id).cloned().unwrap_or_else(|| id.to_string()),
                None => t.get("entry.the_reporter").into_owned(),
            },
            at: crate::layout::moment(e.at),
            files: doc
                .files
                .iter()
                .map(|f| EntryFile {
                    href: format!("/cases/{}/files/{}", case.case_ref, f.object_id),
                    name: f.file_name.clone(),
                    size: size(f.size),
                    sha256: f.sha256.clone(),
                })
                .collect(),
            text: doc.text,
            internal: e.kind.sealed_to() == SealedTo::Case,
            read: e.kind.is_to_reporter().then_some(e.read_by_reporter),
        });
    }
    Ok(OpenedEntries {
        rows,
        identity_shared,
        last,
        concerns,
    })
}

/// Sizes as people read them.
fn size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["bytes", "KiB", "MiB", "GiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} bytes")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// The case's content as the page shows it.
async fn view(
    state: &PortalState,
    viewer: &Viewer,
    case: &StoredCase,
    content: &CaseContent,
) -> Result<Content, crate::forms::Failure> {
    let t = &state.messages;
    let a = &content.submission.answers;
    let label = |field: &str| t.get(&format!("answer.{field}")).into_owned();
    let none = || t.get("answer.none").into_owned();
    let targeted: Vec<String> = a
        .targeted()
        .iter()
        .map(|g| t.get(&format!("answer_choice.targeted.{g}")).into_owned())
        .collect();
    let answers = vec![
        AnswerRow {
            label: label("product"),
            value: state
                .questionnaire
                .product_label(a.product(), t.lang())
                .unwrap_or(a.product())
                .to_owned(),
        },
        AnswerRow {
            label: label("suspected_customer"),
            value: a.suspected_customer().map_or_else(none, str::to_owned),
        },
        AnswerRow {
            label: label("country"),
            value: a.country().map_or_else(none, str::to_owned),
        },
        AnswerRow {
            label: label("targeted"),
            value: targeted.join(", "),
        },
        AnswerRow {
            label: label("what_happened"),
            value: a.what_happened().to_owned(),
        },
        AnswerRow {
            label: label("when"),
            value: a.when().map_or_else(none, str::to_owned),
        },
        AnswerRow {
            label: label("ongoing"),
            value: t
                .get(&format!("answer_choice.ongoing.{}", a.ongoing()))
                .into_owned(),
        },
        AnswerRow {
            label: label("contact"),
            value: a.contact().map_or_else(none, str::to_owned),
        },
    ];
    let triage = match &content.summary {
        Some(summary) => Some(triage_view(state, viewer, summary).await?),
        None => None,
    };
    let files = content
        .submission
        .evidence
        .iter()
        .map(|e| {
            let custody = content
                .summary
                .as_ref()
                .and_then(|s| s.evidence.iter().find(|c| c.original == e.object_id));
            let (scrubbed, rendition) = match custody.map(|c| &c.rendition) {
                Some(Rendition::Scrubbed { object, removed, .. }) => {
                    let names: Vec<&str> = removed.iter().map(|m| m.as_str()).collect();
                    (
                        Some(file_href(case, *object)),
                        t.fill("case.removed", &[("what", &names.join(", "))]),
                    )
                }
                Some(Rendition::NothingToRemove) => (None, t.get("case.nothing_to_remove").into_owned()),
                Some(Rendition::NotMade { reason }) => (
                    None,
                    t.fill("case.not_scrubbed", &[("why", &not_scrubbed(reason))]),
                ),
                None => (None, String::new()),
            };
            FileRow {
                name: e.file_name.clone(),
                size: size(e.size),
                sha256: e.sha256.clone(),
                verified: custody.map(|c| c.sha256_verified),
                original: file_href(case, e.object_id),
                scrubbed,
                rendition,
            }
        })
        .collect();
    Ok(Content {
        answers,
        triage,
        files,
        entries: Vec::new(),
        identity_shared: 0,
        concerns: None,
    })
}

fn not_scrubbed(reason: &redress_domain::evidence::NotScrubbed) -> String {
    serde_json::to_value(reason)
        .ok()
        .map(|v| match v {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        })
        .unwrap_or_default()
        .replace('_', " ")
}

fn file_href(case: &StoredCase, object: ObjectId) -> String {
    format!("/cases/{}/files/{object}", case.case_ref)
}

async fn triage_view(
    state: &PortalState,
    viewer: &Viewer,
    summary: &TriageSummary,
) -> Result<TriageView, crate::forms::Failure> {
    let mut related = Vec::new();
    let mut hidden = summary.related.more_linked;
    for linked in &summary.related.linked {
        let theirs = match (
            state.store.case_by_ref(&linked.case_ref).await?,
            viewer.account.investigator_id,
        ) {
            (Some(c), Some(inv)) => state.store.is_assigned(c.id, inv).await?,
            _ => false,
        };
        if theirs {
            related.push(RelatedRow {
                case_ref: linked.case_ref.to_string(),
                shared: linked.shared.join(", "),
            });
        } else {
            hidden += 1;
        }
    }
    let t = &state.messages;
    Ok(TriageView {
        priority: summary.score.priority.to_string(),
        points: summary.score.points,
        team: summary.routed_to_team.clone(),
        reasons: summary
            .score
            .reasons
            .iter()
            .map(|r| ReasonRow {
                rule: r.rule.clone(),
                points: r.points,
                detail: r.detail.clone(),
            })
            .collect(),
        indicators: summary
            .indicators
            .iter()
            .map(|i| IndicatorRow {
                label: i.label(),
                indicates: i
                    .indicates
                    .iter()
                    .map(|x| format!("{}: {}", x.kind, x.name))
                    .collect(),
                observables: i
                    .observables
                    .iter()
                    .map(|o| format!("{} = {}", o.observable, o.value))
                    .collect(),
            })
            .collect(),
        related,
        related_hidden: hidden,
        overlaps: summary
            .related
            .overlaps
            .iter()
            .map(|o| {
                t.fill(
                    "case.overlap",
                    &[
                        ("count", &o.other_cases.to_string()),
                        ("values", &o.values.join(", ")),
                    ],
                )
            })
            .collect(),
    })
}

/// `GET /cases/{case_ref}/files/{object}`: an evidence file or its scrubbed rendition,
/// decrypted as it streams, always as an attachment; each download is audited.
pub async fn download(
    req: HttpRequest,
    state: web::Data<PortalState>,
    viewer: Viewer,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    let (typed, object) = path.into_inner();
    answer(
        &state,
        download_inner(&req, &state, &viewer, &typed, &object).await,
    )
}

async fn download_inner(
    req: &HttpRequest,
    state: &PortalState,
    viewer: &Viewer,
    typed: &str,
    object: &str,
) -> Answer {
    let case = match visible_case(state, req, viewer, typed).await? {
        Ok(case) => case,
        Err(refused) => return Ok(refused),
    };
    let Some(keys) = content::open_keys(state, viewer, &case).await? else {
        return Ok(redress_web::not_found(req.clone()).await);
    };
    let content = content::read(state, &keys, &case).await?;
    let found = match ObjectId::parse(object) {
        None => None,
        Some(id) => match content::download_of(&content, id) {
            Some(found) => Some(found),
            None if content
                .objects
                .contains(&(id, redress_domain::ObjectKind::Evidence)) =>
            {
                content::later_file(state, &keys, &case, id)
                    .await?
                    .map(|file| (file, redress_domain::ObjectKind::Evidence))
            }
            None => None,
        },
    };
    let Some((file, kind)) = found else {
        return Ok(redress_web::not_found(req.clone()).await);
    };
    let target = format!("case:{}/object:{}", case.case_ref, file.object);
    audit(state, None, viewer, AuditAction::Download, &target).await?;
    let key = match kind.sealed_to() {
        SealedTo::Case => keys.case,
        SealedTo::Thread => keys.thread,
    };
    let name = content::safe_file_name(&file.file_name);
    Ok(HttpResponse::Ok()
        .content_type("application/octet-stream")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .streaming(content::stream(state, file.object, key)))
}
