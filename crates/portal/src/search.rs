//! Search within the viewer's own cases (ADR 0024): the answers, the thread and the
//! notes of every case assigned to them, opened in this request's memory with their
//! identity and matched there. Nothing is indexed, in the clear or otherwise, and the
//! terms are posted (never in a URL, a log or the browser's history) and not kept: the
//! audit entry records that a search happened, not what it was for.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::{StreamExt, TryStreamExt};
use redress_crypto::{SecretIdentity, open, unwrap_identity};
use redress_domain::{AuditAction, CaseId, EntryDocument, EntryKind, Sealed, SealedTo, SubmissionDocument};
use redress_store::{CaseEntry, CaseQuery, StateFilter};
use serde::Deserialize;
use zeroize::Zeroizing;

use crate::PortalState;
use crate::access::Viewer;
use crate::forms::{self, Answer, Failure, answer};
use crate::layout::{Chrome, page};

/// Terms shorter than this match too much to be worth opening every case for.
pub const MIN_TERMS: usize = 2;
pub const MAX_TERMS: usize = 200;
/// Characters of context on each side of a match.
const CONTEXT: usize = 60;
/// Blob reads in flight at once.
const READS: usize = 8;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SearchForm {
    pub q: String,
}

/// Where in a case the terms were found, and the text around them.
#[derive(Debug)]
pub struct Place {
    pub part: String,
    pub before: String,
    pub found: String,
    pub after: String,
}

/// A case that matched.
#[derive(Debug)]
pub struct Hit {
    pub case_ref: String,
    pub state: String,
    pub places: Vec<Place>,
}

page!(SearchPage {
    query: String,
    /// None before a search.
    hits: Option<Vec<Hit>>,
    /// How many cases were searched and how many matched.
    summary: String,
    error: Option<String>,
}, "search.html");

/// `GET /search`: the form.
pub async fn show(req: HttpRequest, state: web::Data<PortalState>, viewer: Viewer) -> HttpResponse {
    let page = SearchPage {
        chrome: Chrome::new(&state, &req, Some(&viewer), "search.title"),
        query: String::new(),
        hits: None,
        summary: String::new(),
        error: None,
    };
    page.chrome.respond(StatusCode::OK, &page)
}

/// `POST /search`: the viewer's cases that hold the terms.
pub async fn submit(
    req: HttpRequest,
    state: web::Data<PortalState>,
    viewer: Viewer,
    body: web::Bytes,
) -> HttpResponse {
    answer(&state, submit_inner(&req, &state, &viewer, &body).await)
}

async fn submit_inner(req: &HttpRequest, state: &PortalState, viewer: &Viewer, body: &[u8]) -> Answer {
    let form = match forms::posted::<SearchForm>(state, req, body, "/search") {
        forms::Posted::Form(f) => f,
        forms::Posted::Refused(answer) => return Ok(answer),
    };
    let t = &state.messages;
    let query = form.q.trim().to_owned();
    let length = query.chars().count();
    let mut page = SearchPage {
        chrome: Chrome::new(state, req, Some(viewer), "search.title"),
        query,
        hits: None,
        summary: String::new(),
        error: None,
    };
    if !(MIN_TERMS..=MAX_TERMS).contains(&length) {
        page.error = Some(t.fill(
            "search.bad_length",
            &[("min", &MIN_TERMS.to_string()), ("max", &MAX_TERMS.to_string())],
        ));
        return Ok(page.chrome.respond(StatusCode::UNPROCESSABLE_ENTITY, &page));
    }
    let (hits, searched) = match viewer.account.investigator_id {
        Some(inv) => search(state, viewer, inv, &page.query).await?,
        None => (Vec::new(), 0),
    };
    let actor = viewer.actor();
    let entry = redress_audit::NewEntry {
        actor: &actor,
        action: AuditAction::Search,
        target: None,
        at: state.now(),
        timing: redress_audit::Timing::Exact,
    };
    redress_audit::record(&state.store, &entry).await?;
    page.summary = t.fill(
        "search.searched",
        &[("n", &searched.to_string()), ("found", &hits.len().to_string())],
    );
    page.hits = Some(hits);
    Ok(page.chrome.respond(StatusCode::OK, &page))
}

/// One case, as read for searching: still sealed.
struct SealedCase {
    case_ref: String,
    state: String,
    wrap: Vec<u8>,
    thread_wrap: Vec<u8>,
    submission: Vec<u8>,
    entries: Vec<CaseEntry>,
}

/// Reads every case of the viewer, then opens and matches them off the async threads.
/// Returns the hits, newest case first, and how many cases were searched.
async fn search(
    state: &PortalState,
    viewer: &Viewer,
    inv: redress_domain::InvestigatorId,
    query: &str,
) -> Result<(Vec<Hit>, usize), Failure> {
    let all = CaseQuery {
        state: StateFilter::All,
        order: redress_store::CaseOrder::Newest,
        limit: u64::MAX / 2,
        ..CaseQuery::default()
    };
    let cases = state.store.list_cases(inv, viewer.id(), &all).await?.rows;
    let ids: Vec<CaseId> = cases.iter().map(|c| c.case.id).collect();
    let mut wraps = state.store.wraps_held(inv, &ids).await?;
    let mut thread_wraps = state.store.thread_wraps(&ids).await?;
    let submissions = state.store.submissions_of(&ids).await?;
    let mut entries = state.store.entries_of(&ids).await?;
    let texts = &state.messages;
    let blobs = &state.blobs;
    let sealed: Vec<Option<SealedCase>> = futures_util::stream::iter(cases)
        .map(|listed| {
            let id = listed.case.id;
            let wrap = wraps.remove(&id);
            let thread_wrap = thread_wraps.remove(&id);
            let submission = submissions.get(&id).copied();
            let entries = entries.remove(&id).unwrap_or_default();
            async move {
                let (Some(wrap), Some(thread_wrap), Some(object)) = (wrap, thread_wrap, submission) else {
                    // Wrapped to a key the viewer no longer holds: nothing to open.
                    return Ok::<_, Failure>(None);
                };
                let submission = blobs
                    .read_all(object)
                    .await
                    .map_err(redress_store::StoreError::Io)?;
                Ok(Some(SealedCase {
                    case_ref: listed.case.case_ref.to_string(),
                    state: texts
                        .get(&format!("case_state.{}", listed.case.state))
                        .into_owned(),
                    wrap: wrap.ciphertext,
                    thread_wrap: thread_wrap.ciphertext,
                    submission,
                    entries,
                }))
            }
        })
        .buffered(READS)
        .try_collect()
        .await?;
    let sealed: Vec<SealedCase> = sealed.into_iter().flatten().collect();
    let searched = sealed.len();
    let identity = viewer.identity()?;
    let parts = Parts::new(state);
    let needle = Zeroizing::new(query.to_lowercase());
    let hits = web::block(move || {
        let threads = std::thread::available_parallelism()
            .map_or(1, usize::from)
            .clamp(1, 4);
        let per = sealed.len().div_ceil(threads).max(1);
        std::thread::scope(|scope| {
            let running: Vec<_> = sealed
                .chunks(per)
                .map(|chunk| {
                    let (identity, parts, needle) = (&identity, &parts, &needle);
                    scope.spawn(move || {
                        chunk
                            .iter()
                            .filter_map(|case| match_case(case, identity, parts, needle))
                            .collect::<Vec<Hit>>()
                    })
                })
                .collect();
            running
                .into_iter()
                .flat_map(|r| r.join().unwrap_or_default())
                .collect::<Vec<Hit>>()
        })
    })
    .await
    .map_err(|_| Failure::Internal("the search stopped"))?;
    Ok((hits, searched))
}

/// The names of the parts of a case, in the viewer's language.
struct Parts {
    answers: HashMap<&'static str, String>,
    entries: HashMap<EntryKind, String>,
}

impl Parts {
    fn new(state: &PortalState) -> Self {
        let t = &state.messages;
        Self {
            answers: ANSWERS
                .iter()
                .map(|f| (*f, t.get(&format!("answer.{f}")).into_owned()))
                .collect(),
            entries: EntryKind::ALL
                .iter()
                .map(|k| (*k, t.get(&format!("entry.{k}")).into_owned()))
                .collect(),
        }
    }
}

/// The answers searched: what the reporter wrote in words.
const ANSWERS: &[&str] = &[
    "what_happened",
    "suspected_customer",
    "country",
    "when",
    "contact",
];

/// Opens one case and finds the terms in it; `None` if it does not open or does not
/// hold them.
fn match_case(case: &SealedCase, identity: &SecretIdentity, parts: &Parts, needle: &str) -> Option<Hit> {
    let case_key = unwrap_identity(&case.wrap, identity).ok()?;
    let thread_key = unwrap_identity(&case.thread_wrap, &case_key).ok()?;
    let mut places = Vec::new();
    let plain = open(&thread_key, &case.submission).ok()?;
    let submission = SubmissionDocument::from_json(&plain).ok()?;
    let a = &submission.answers;
    let answers = [
        ("what_happened", Some(a.what_happened())),
        ("suspected_customer", a.suspected_customer()),
        ("country", a.country()),
        ("when", a.when()),
        ("contact", a.contact()),
    ];
    for (field, text) in answers {
        if let Some(place) = text.and_then(|text| find(text, needle)) {
            places.push(Place {
                part: parts.answers.get(field).cloned().unwrap_or_default(),
                ..place
            });
        }
    }
    // What the reporter shared about who they are is opened on its own audited page
    // only, never searched.
    for entry in case
        .entries
        .iter()
        .filter(|e| e.kind != EntryKind::IdentityDisclosure)
    {
        let key = match entry.kind.sealed_to() {
            SealedTo::Thread => &thread_key,
            SealedTo::Case => &case_key,
        };
        let Ok(plain) = open(key, &entry.ciphertext) else {
            continue;
        };
        let Ok(doc) = EntryDocument::from_json(&plain) else {
            continue;
        };
        if let Some(place) = find(&doc.text, needle) {
            places.push(Place {
                part: parts.entries.get(&entry.kind).cloned().unwrap_or_default(),
                ..place
            });
        }
    }
    (!places.is_empty()).then(|| Hit {
        case_ref: case.case_ref.clone(),
        state: case.state.clone(),
        places,
    })
}

/// The first place `needle` (lowercase) occurs in `text`, whatever the case, with up
/// to [`CONTEXT`] characters around it.
fn find(text: &str, needle: &str) -> Option<Place> {
    // Lowercasing can change lengths, so each byte of the lowercase text remembers the
    // character of `text` it came from.
    let mut lower = String::with_capacity(text.len());
    let mut from = Vec::with_capacity(text.len());
    for (at, c) in text.char_indices() {
        for l in c.to_lowercase() {
            let before = lower.len();
            lower.push(l);
            from.extend(std::iter::repeat_n(at, lower.len() - before));
        }
    }
    let found = lower.find(needle)?;
    let start = from[found];
    let last = from[found + needle.len() - 1];
    let end = last + text[last..].chars().next().map_or(0, char::len_utf8);
    let before: String = {
        let head: Vec<char> = text[..start].chars().rev().take(CONTEXT).collect();
        head.into_iter().rev().collect()
    };
    let after: String = text[end..].chars().take(CONTEXT).collect();
    Some(Place {
        part: String::new(),
        before,
        found: text[start..end].to_owned(),
        after,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_whatever_the_case_and_keeps_the_original_text() {
        let place = find("They followed İSTANBUL reporters", "i̇stanbul").unwrap();
        assert_eq!(place.found, "İSTANBUL");
        assert_eq!(place.before, "They followed ");
        assert_eq!(place.after, " reporters");
        assert!(find("nothing here", "pegasus").is_none());
    }

    #[test]
    fn context_is_cut_on_characters() {
        let text = format!("{}needle{}", "é".repeat(100), "ü".repeat(100));
        let place = find(&text, "needle").unwrap();
        assert_eq!(place.before.chars().count(), CONTEXT);
        assert_eq!(place.after.chars().count(), CONTEXT);
    }
}
