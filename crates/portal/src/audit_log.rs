//! The audit log for auditors (and admins): newest first, filtered by actor, action,
//! case and dates, fifty entries a page, paged by sequence number so a page stays the
//! same while entries are added.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use redress_domain::{AuditAction, CaseRef};
use redress_store::AuditFilter;

use crate::PortalState;
use crate::access::Viewer;
use crate::forms::{self, Answer, answer};
use crate::layout::{Chrome, moment, page};
use crate::login::query;

const PAGE: u64 = 50;

/// One entry as the page shows it.
#[derive(Debug)]
pub struct EntryRow {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target: String,
}

/// A filter's choice.
#[derive(Debug)]
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// The filters as given.
#[derive(Debug, Default)]
pub struct FilterValues {
    pub case: String,
    pub from: String,
    pub to: String,
}

page!(AuditPage {
    entries: Vec<EntryRow>,
    values: FilterValues,
    actors: Vec<Choice>,
    actions: Vec<Choice>,
    older: Option<String>,
    filtered: bool,
    head: Option<String>,
    errors: Vec<String>,
}, "audit.html");

/// A day typed as `YYYY-MM-DD`: its first second (UTC).
fn day_start(typed: &str) -> Option<i64> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(typed.trim(), format)
        .ok()
        .map(|d| d.midnight().assume_utc().unix_timestamp())
}

/// `GET /audit`.
pub async fn show(req: HttpRequest, state: web::Data<PortalState>, viewer: Viewer) -> HttpResponse {
    answer(&state, show_inner(&req, &state, &viewer).await)
}

async fn show_inner(req: &HttpRequest, state: &PortalState, viewer: &Viewer) -> Answer {
    let t = &state.messages;
    let mut errors = Vec::new();
    let given = |name: &str| query(req, name).filter(|v| !v.trim().is_empty());
    let values = FilterValues {
        case: given("case").unwrap_or_default(),
        from: given("from").unwrap_or_default(),
        to: given("to").unwrap_or_default(),
    };
    let mut filter = AuditFilter {
        actor: given("actor"),
        action: given("action").filter(|a| AuditAction::parse(a).is_some()),
        ..AuditFilter::default()
    };
    if !values.case.is_empty() {
        match CaseRef::parse(&values.case) {
            Some(r) => filter.target = Some(format!("case:{r}")),
            None => errors.push(t.get("audit.bad_case").into_owned()),
        }
    }
    for (typed, bound, next_day) in [
        (&values.from, &mut filter.from, false),
        (&values.to, &mut filter.until, true),
    ] {
        if typed.is_empty() {
            continue;
        }
        match day_start(typed) {
            Some(start) => *bound = Some(if next_day { start + 86_400 } else { start }),
            None => errors.push(t.get("audit.bad_date").into_owned()),
        }
    }
    let before = given("before").and_then(|b| b.parse::<i64>().ok());
    let accounts = state.store.accounts().await?;
    let emails: HashMap<String, String> = accounts
        .iter()
        .map(|a| (crate::session::actor(a.id), a.email.clone()))
        .collect();
    let name = |who: &str| emails.get(who).cloned().unwrap_or_else(|| who.to_owned());
    let records = if errors.is_empty() {
        state.store.audit_page(&filter, before, PAGE).await?
    } else {
        Vec::new()
    };
    let older = (records.len() as u64 == PAGE)
        .then(|| records.last().map(|r| r.seq))
        .flatten()
        .map(|seq| {
            let mut q: Vec<(String, String)> = ["actor", "action", "case", "from", "to"]
                .iter()
                .filter_map(|k| given(k).map(|v| ((*k).to_owned(), v)))
                .collect();
            q.push(("before".into(), seq.to_string()));
            let encoded: Vec<String> = q
                .iter()
                .map(|(k, v)| format!("{k}={}", forms::encode(v)))
                .collect();
            format!("/audit?{}", encoded.join("&"))
        });
    let entries = records
        .into_iter()
        .map(|r| EntryRow {
            seq: r.seq,
            at: moment(r.at),
            actor: name(&r.actor),
            action: t.get(&format!("audit_action.{}", r.action)).into_owned(),
            target: r.target.as_deref().map(name).unwrap_or_default(),
        })
        .collect();
    let mut actor_values: Vec<(String, String)> = accounts
        .iter()
        .map(|a| (crate::session::actor(a.id), a.email.clone()))
        .collect();
    for fixed in ["cli", "anonymous", "system"] {
        actor_values.push((
            fixed.to_owned(),
            t.get(&format!("audit.actor_{fixed}")).into_owned(),
        ));
    }
    let actors = actor_values
        .into_iter()
        .map(|(value, label)| Choice {
            selected: filter.actor.as_deref() == Some(value.as_str()),
            value,
            label,
        })
        .collect();
    let actions = AuditAction::ALL
        .iter()
        .map(|a| Choice {
            value: a.as_str().to_owned(),
            label: t.get(&format!("audit_action.{a}")).into_owned(),
            selected: filter.action.as_deref() == Some(a.as_str()),
        })
        .collect();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let page = AuditPage {
        chrome: Chrome::new(state, req, Some(viewer), "audit.title"),
        entries,
        filtered: filter != AuditFilter::default() || before.is_some(),
        values,
        actors,
        actions,
        older,
        head: redress_audit::head(&state.store).await?,
        errors,
    };
    Ok(page.chrome.respond(status, &page))
}
