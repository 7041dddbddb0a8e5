//! `GET /cases`: the cases assigned to the viewer (ADR 0024). Filtered, ordered and cut
//! into keyset pages by the database; the labels of the rows shown, and a label filter,
//! opened with the viewer's identity (labels are sealed to each case key).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use redress_domain::{CaseId, CaseState, DeadlineFlag, Priority};
use redress_store::{CaseOrder, CaseQuery, Cursor, ListedCase, StateFilter};
use serde::Deserialize;

use crate::PortalState;
use crate::access::Viewer;
use crate::forms::{Answer, answer};
use crate::layout::{Chrome, day, page};

/// The list's query string. Every field is text, checked by [`Filters::parse`].
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListParams {
    pub state: String,
    pub priority: String,
    pub deadline: String,
    pub label: String,
    pub starred: String,
    pub unread: String,
    pub sort: String,
    pub after: String,
    pub done: String,
}

/// The filters and order asked for, checked.
#[derive(Debug, Default)]
struct Filters {
    state: StateFilter,
    priority: Option<Priority>,
    flag: Option<DeadlineFlag>,
    label: Option<String>,
    starred: bool,
    unread: bool,
    order: CaseOrder,
    after: Option<Cursor>,
}

const ORDERS: &[(&str, CaseOrder)] = &[
    ("deadline", CaseOrder::Deadline),
    ("priority", CaseOrder::Priority),
    ("newest", CaseOrder::Newest),
    ("oldest", CaseOrder::Oldest),
];

impl Filters {
    /// `None` for a value the list does not know (a link edited by hand).
    fn parse(p: &ListParams, labels: &[String]) -> Option<Self> {
        let state = match p.state.as_str() {
            "" | "open" => StateFilter::Open,
            "all" => StateFilter::All,
            s => StateFilter::Only(CaseState::parse(s)?),
        };
        let priority = match p.priority.as_str() {
            "" => None,
            s => Some(Priority::parse(s)?),
        };
        let flag = match p.deadline.as_str() {
            "" => None,
            s => Some(DeadlineFlag::parse(s).filter(|f| *f != DeadlineFlag::Ok)?),
        };
        let label = match p.label.as_str() {
            "" => None,
            s if labels.iter().any(|l| l == s) => Some(s.to_owned()),
            _ => return None,
        };
        let order = match p.sort.as_str() {
            "" => CaseOrder::Deadline,
            s => ORDERS.iter().find(|(name, _)| *name == s)?.1,
        };
        let after = match p.after.split_once('.') {
            None if p.after.is_empty() => None,
            Some((key, case_ref)) if redress_domain::CaseRef::parse(case_ref).is_some() => Some(Cursor {
                key: key.parse().ok()?,
                case_ref: case_ref.to_owned(),
            }),
            _ => return None,
        };
        Some(Self {
            state,
            priority,
            flag,
            label,
            starred: flag_on(&p.starred)?,
            unread: flag_on(&p.unread)?,
            order,
            after,
        })
    }

    /// The query string of these filters (without a cursor).
    fn query(&self) -> Vec<(&'static str, String)> {
        let mut q = Vec::new();
        match self.state {
            StateFilter::Open => {}
            StateFilter::All => q.push(("state", "all".to_owned())),
            StateFilter::Only(s) => q.push(("state", s.as_str().to_owned())),
        }
        if let Some(p) = self.priority {
            q.push(("priority", p.as_str().to_owned()));
        }
        if let Some(f) = self.flag {
            q.push(("deadline", f.as_str().to_owned()));
        }
        if let Some(l) = &self.label {
            q.push(("label", l.clone()));
        }
        if self.starred {
            q.push(("starred", "1".to_owned()));
        }
        if self.unread {
            q.push(("unread", "1".to_owned()));
        }
        if let Some((name, _)) = ORDERS.iter().find(|(_, o)| *o == self.order)
            && self.order != CaseOrder::Deadline
        {
            q.push(("sort", (*name).to_owned()));
        }
        q
    }
}

fn flag_on(value: &str) -> Option<bool> {
    match value {
        "" => Some(false),
        "1" | "on" => Some(true),
        _ => None,
    }
}

/// A case as the list shows it.
#[derive(Debug)]
pub struct CaseRow {
    pub case_ref: String,
    pub state: String,
    pub priority: String,
    pub received: String,
    /// The deadline that applies now, as text, and its flag (`ok`, `due_soon`,
    /// `overdue`), if one applies.
    pub deadline: Option<(String, String)>,
    pub unread: bool,
    pub starred: bool,
    pub labels: Vec<String>,
    pub related: bool,
    /// Wrapped to a key this account no longer has (an identity replaced at setup):
    /// it opens again once an admin re-wraps it (key rotation).
    pub earlier_key: bool,
}

/// A choice of a filter's select list.
#[derive(Debug)]
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

page!(CasesPage {
    cases: Vec<CaseRow>,
    count: String,
    /// The link to the next page, if there is one, and back to the first.
    next: Option<String>,
    first: Option<String>,
    states: Vec<Choice>,
    priorities: Vec<Choice>,
    deadlines: Vec<Choice>,
    labels: Vec<Choice>,
    sorts: Vec<Choice>,
    starred: bool,
    unread: bool,
    filtered: bool,
    notice: Option<String>,
}, "cases.html");

/// `GET /cases`.
pub async fn show(req: HttpRequest, state: web::Data<PortalState>, viewer: Viewer) -> HttpResponse {
    answer(&state, show_inner(&req, &state, &viewer).await)
}

async fn show_inner(req: &HttpRequest, state: &PortalState, viewer: &Viewer) -> Answer {
    let t = &state.messages;
    let params = serde_urlencoded::from_str::<ListParams>(req.query_string()).unwrap_or_default();
    let Some(filters) = Filters::parse(&params, &state.settings.labels) else {
        return Ok(redress_web::PageError::new(
            StatusCode::BAD_REQUEST,
            t,
            &state.service_name,
            t.get("cases.bad_filter_title"),
            t.get("cases.bad_filter"),
        )
        .error_response());
    };
    let (rows, total, next) = match viewer.account.investigator_id {
        Some(inv) => {
            let among = match &filters.label {
                Some(label) => Some(carrying(state, viewer, inv, label).await?),
                None => None,
            };
            let query = CaseQuery {
                state: filters.state,
                priority: filters.priority,
                flag: filters.flag,
                starred: filters.starred,
                unread: filters.unread,
                among,
                order: filters.order,
                after: filters.after.clone(),
                limit: state.settings.cases_per_page,
            };
            let page = state.store.list_cases(inv, viewer.id(), &query).await?;
            let ids: Vec<CaseId> = page
                .rows
                .iter()
                .filter(|r| r.labelled)
                .map(|r| r.case.id)
                .collect();
            let mut labels = crate::marks::open_labels(state, inv, viewer.identity()?, &ids).await?;
            let rows = page
                .rows
                .iter()
                .map(|r| row(state, viewer, r, labels.remove(&r.case.id).unwrap_or_default()))
                .collect();
            (rows, page.total, page.next)
        }
        None => (Vec::new(), 0, None),
    };
    let base = filters.query();
    let link = |extra: Option<(&'static str, String)>| {
        let mut q = base.clone();
        q.extend(extra);
        let encoded = serde_urlencoded::to_string(&q).unwrap_or_default();
        if encoded.is_empty() {
            "/cases".to_owned()
        } else {
            format!("/cases?{encoded}")
        }
    };
    let notice = ["handed_over", "recused"]
        .contains(&params.done.as_str())
        .then(|| t.get(&format!("people.done_{}", params.done)).into_owned());
    let page = CasesPage {
        chrome: Chrome::new(state, req, Some(viewer), "cases.title"),
        cases: rows,
        count: t.fill("cases.count", &[("n", &total.to_string())]),
        next: next.map(|c| link(Some(("after", format!("{}.{}", c.key, c.case_ref))))),
        first: filters.after.is_some().then(|| link(None)),
        states: choices(
            [
                ("open", t.get("cases.open").into_owned()),
                ("all", t.get("cases.all").into_owned()),
            ]
            .into_iter()
            .map(|(v, l)| (v.to_owned(), l))
            .chain(CaseState::ALL.iter().map(|s| {
                (
                    s.as_str().to_owned(),
                    t.get(&format!("case_state.{s}")).into_owned(),
                )
            })),
            match filters.state {
                StateFilter::Open => "open",
                StateFilter::All => "all",
                StateFilter::Only(s) => s.as_str(),
            },
        ),
        priorities: choices(
            std::iter::once((String::new(), t.get("cases.any").into_owned())).chain(
                Priority::ALL
                    .iter()
                    .map(|p| (p.as_str().to_owned(), p.as_str().to_owned())),
            ),
            filters.priority.map_or("", Priority::as_str),
        ),
        deadlines: choices(
            [
                ("", t.get("cases.any").into_owned()),
                ("due_soon", t.get("cases.due_soon").into_owned()),
                ("overdue", t.get("cases.overdue").into_owned()),
            ]
            .into_iter()
            .map(|(v, l)| (v.to_owned(), l)),
            filters.flag.map_or("", DeadlineFlag::as_str),
        ),
        labels: choices(
            std::iter::once((String::new(), t.get("cases.any").into_owned()))
                .chain(state.settings.labels.iter().map(|l| (l.clone(), l.clone()))),
            filters.label.as_deref().unwrap_or(""),
        ),
        sorts: choices(
            ORDERS.iter().map(|(name, _)| {
                (
                    (*name).to_owned(),
                    t.get(&format!("cases.sort_{name}")).into_owned(),
                )
            }),
            ORDERS
                .iter()
                .find(|(_, o)| *o == filters.order)
                .map_or("deadline", |(n, _)| n),
        ),
        starred: filters.starred,
        unread: filters.unread,
        filtered: !base.is_empty(),
        notice,
    };
    Ok(page.chrome.respond(StatusCode::OK, &page))
}

fn choices(options: impl Iterator<Item = (String, String)>, selected: &str) -> Vec<Choice> {
    options
        .map(|(value, label)| Choice {
            selected: value == selected,
            value,
            label,
        })
        .collect()
}

/// The viewer's cases that carry `label`, found by opening the labels of every one of
/// their cases that carries any.
async fn carrying(
    state: &PortalState,
    viewer: &Viewer,
    inv: redress_domain::InvestigatorId,
    label: &str,
) -> Result<Vec<CaseId>, crate::forms::Failure> {
    let mine = state.store.assigned_case_ids(inv).await?;
    let opened = crate::marks::open_labels(state, inv, viewer.identity()?, &mine).await?;
    Ok(opened
        .into_iter()
        .filter(|(_, labels)| labels.iter().any(|l| l == label))
        .map(|(id, _)| id)
        .collect())
}

fn row(state: &PortalState, viewer: &Viewer, listed: &ListedCase, labels: Vec<String>) -> CaseRow {
    let t = &state.messages;
    let case = &listed.case;
    CaseRow {
        case_ref: case.case_ref.to_string(),
        state: t.get(&format!("case_state.{}", case.state)).into_owned(),
        priority: case.priority.map_or_else(String::new, |p| p.to_string()),
        received: day(case.received_at),
        deadline: case.deadline().map(|(which, at)| {
            (
                t.fill(&format!("cases.deadline_{which}"), &[("date", &day(at))]),
                case.deadline_flag.as_str().to_owned(),
            )
        }),
        unread: listed.unread,
        starred: listed.starred,
        labels,
        related: listed.related,
        earlier_key: listed
            .wrapped_to
            .as_ref()
            .is_some_and(|r| *r != viewer.account.recipient),
    }
}
