//! The case list and what people mark cases with: filters by state, priority, deadline,
//! label, star and unread; orders; keyset pages that together hold every case once;
//! the related-case marker; labels sealed so a copy of the database does not say which
//! case carries which, and stars that are each person's own. Search over the viewer's
//! own cases, opened in memory, the terms kept nowhere.

use std::collections::BTreeSet;

use redress_domain::{CaseState, Priority, Role};
use serde_json::json;

use crate::helpers::*;
use crate::staff::*;

const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;

/// A report whose answers make its priority: P1 to P4 by `n % 4`.
fn report(n: usize, customer: &str) -> serde_json::Value {
    let (targeted, ongoing, product) = match n % 4 {
        0 => (json!(["journalist", "lawyer"]), "yes", "mobile-implant"),
        1 => (json!(["journalist", "lawyer"]), "unknown", "data-analytics"),
        2 => (json!(["journalist"]), "no", "data-analytics"),
        _ => (json!(["other"]), "no", "data-analytics"),
    };
    json!({
        "product": product,
        "suspected_customer": customer,
        "country": "Exampleland",
        "targeted": targeted,
        "what_happened": format!("Report number {n}: they listened to my calls."),
        "when": "March 2026",
        "ongoing": ongoing,
        "contact": null
    })
}

/// The case references a list page shows, in order, and its link to the next page.
fn rows(page: &Page) -> (Vec<String>, Option<String>) {
    let refs = tags(&page.body)
        .into_iter()
        .filter_map(|t| t.attr("data-ref").map(str::to_owned))
        .collect();
    let next = tags(&page.body)
        .into_iter()
        .find(|t| t.attr("id") == Some("next"))
        .and_then(|t| {
            t.attr("href")
                .map(|h| h.replace("&amp;", "&").replace("&#38;", "&"))
        });
    (refs, next)
}

/// Every case of the list at `path`, page after page.
async fn all_pages(who: &Person, path: &str) -> (Vec<String>, usize) {
    let mut refs = Vec::new();
    let mut pages = 0;
    let mut next = Some(path.to_owned());
    while let Some(path) = next {
        let page = who.agent.get(&path).await;
        assert_eq!(page.status, 200, "{path}: {}", page.body);
        let (mut shown, after) = rows(&page);
        refs.append(&mut shown);
        pages += 1;
        next = after;
        assert!(pages < 20, "the pages end");
    }
    (refs, pages)
}

/// The row of `case_ref` on a list page, as text.
fn row_of(page: &Page, case_ref: &str) -> String {
    let tag = tags(&page.body)
        .into_iter()
        .find(|t| t.attr("data-ref") == Some(case_ref))
        .unwrap_or_else(|| panic!("{case_ref} on the page"));
    inner_text(&page.body, &tag)
}

async fn mark(who: &Person, case_ref: &str, fields: &[(&str, &str)]) -> Page {
    who.agent
        .submit("/cases", &format!("/cases/{case_ref}/marks"), fields)
        .await
}

async fn step(who: &Person, case_ref: &str, fields: &[(&str, &str)]) -> Page {
    who.agent
        .submit("/cases", &format!("/cases/{case_ref}"), fields)
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_list_filters_orders_and_pages_an_investigators_cases() {
    let app = TestApp::spawn().await;
    let portal = app.portal_with(|c| c.portal.cases_per_page = 2).await;
    let ana = person(
        &app,
        &portal,
        "ana@example.org",
        Role::Investigator,
        &["triage-desk"],
    )
    .await;
    let worker = app.worker("w", None);
    // Five cases an hour apart (as many as an investigator holds at once); the second
    // and third name the same customer, so triage relates them.
    let mut refs = Vec::new();
    for n in 0..5 {
        let customer = if n == 1 || n == 2 {
            "Shared Agency".to_owned()
        } else {
            format!("Agency {n}")
        };
        let res = app.api_submit(&report(n, &customer), &[]).await;
        assert_eq!(res.status(), 201);
        let body: serde_json::Value = res.json().await.unwrap();
        refs.push(body["case_ref"].as_str().unwrap().to_owned());
        worker.run_until_idle().await.unwrap();
        app.advance(HOUR);
    }
    ana.login(&app).await;
    // Ben comes after the cases were routed: none of them is his.
    let ben = person(&app, &portal, "ben@example.org", Role::Investigator, &["legal"]).await;
    let mut cases = Vec::new();
    for r in &refs {
        cases.push(app.case(r).await);
    }

    // Every case once over three pages; the default order is the deadline, soonest
    // first: the oldest case first here.
    let (listed, pages) = all_pages(&ana, "/cases").await;
    assert_eq!(pages, 3, "{listed:?} {refs:?}");
    assert_eq!(listed, refs, "deadline order, each case once");
    let first = ana.agent.get("/cases").await;
    assert!(first.text_of("count").unwrap().starts_with("5 cases"));
    let (newest, _) = all_pages(&ana, "/cases?sort=newest").await;
    assert_eq!(newest, refs.iter().rev().cloned().collect::<Vec<_>>());
    let (oldest, _) = all_pages(&ana, "/cases?sort=oldest").await;
    assert_eq!(oldest, refs);
    let (by_priority, _) = all_pages(&ana, "/cases?sort=priority").await;
    let ranks: Vec<Priority> = by_priority
        .iter()
        .map(|r| {
            cases
                .iter()
                .find(|c| c.case_ref.as_str() == r)
                .unwrap()
                .priority
                .unwrap()
        })
        .collect();
    let mut sorted = ranks.clone();
    sorted.sort();
    assert_eq!(ranks, sorted, "most urgent first");
    for p in Priority::ALL {
        let want: BTreeSet<String> = cases
            .iter()
            .filter(|c| c.priority == Some(*p))
            .map(|c| c.case_ref.to_string())
            .collect();
        let (got, _) = all_pages(&ana, &format!("/cases?priority={p}")).await;
        assert_eq!(got.into_iter().collect::<BTreeSet<_>>(), want, "{p}");
    }
    assert!(
        cases.iter().map(|c| c.priority).collect::<BTreeSet<_>>().len() >= 3,
        "the reports made several priorities"
    );

    // The related marker: only the two cases that name the same customer.
    for (n, r) in refs.iter().enumerate() {
        let page = all_pages_page(&ana, r).await;
        assert_eq!(
            row_of(&page, r).contains("related case"),
            n == 1 || n == 2,
            "case {n}"
        );
    }

    // Unread: every case until opened; a colleague's note makes it new again, one's
    // own does not.
    let (unread, _) = all_pages(&ana, "/cases?unread=1").await;
    assert_eq!(unread.len(), 5);
    assert_eq!(ana.agent.get(&format!("/cases/{}", refs[0])).await.status, 200);
    let (unread, _) = all_pages(&ana, "/cases?unread=1").await;
    assert!(!unread.contains(&refs[0]));
    assert_eq!(unread.len(), 4);
    let own = step(&ana, &refs[0], &[("action", "note"), ("text", "My own note.")]).await;
    assert_eq!(own.status, 303);
    assert!(!all_pages(&ana, "/cases?unread=1").await.0.contains(&refs[0]));
    let added = ana
        .agent
        .submit(
            "/cases",
            &format!("/cases/{}/people", refs[0]),
            &[("action", "add"), ("person", &ben.id.to_string())],
        )
        .await;
    assert_eq!(added.status, 303, "{}", added.body);
    let theirs = step(&ben, &refs[0], &[("action", "note"), ("text", "Ben's note.")]).await;
    assert_eq!(theirs.status, 303);
    assert!(all_pages(&ana, "/cases?unread=1").await.0.contains(&refs[0]));

    // Stars are each person's own.
    assert_eq!(mark(&ana, &refs[0], &[("action", "star")]).await.status, 303);
    assert_eq!(
        all_pages(&ana, "/cases?starred=1").await.0,
        std::slice::from_ref(&refs[0])
    );
    assert!(all_pages(&ben, "/cases?starred=1").await.0.is_empty());
    assert_eq!(mark(&ana, &refs[0], &[("action", "unstar")]).await.status, 303);
    assert!(all_pages(&ana, "/cases?starred=1").await.0.is_empty());

    // Labels: shown on the rows, filtered on, shared with colleagues on the case.
    let labelled = mark(
        &ana,
        &refs[0],
        &[
            ("action", "labels"),
            ("label-legal-review", "on"),
            ("label-escalated", "on"),
        ],
    )
    .await;
    assert_eq!(labelled.status, 303, "{}", labelled.body);
    mark(
        &ana,
        &refs[4],
        &[("action", "labels"), ("label-legal-review", "on")],
    )
    .await;
    let (legal, _) = all_pages(&ana, "/cases?label=legal-review").await;
    assert_eq!(
        legal.into_iter().collect::<BTreeSet<_>>(),
        [refs[0].clone(), refs[4].clone()].into()
    );
    assert_eq!(
        all_pages(&ana, "/cases?label=escalated").await.0,
        std::slice::from_ref(&refs[0])
    );
    let page = all_pages_page(&ana, &refs[0]).await;
    assert!(row_of(&page, &refs[0]).contains("escalated"));
    assert!(row_of(&page, &refs[0]).contains("legal-review"));
    assert!(
        ben.agent
            .get(&format!("/cases/{}", refs[0]))
            .await
            .body
            .contains("checked")
    );
    let unknown = mark(
        &ana,
        &refs[1],
        &[("action", "labels"), ("label-secret-plan", "on")],
    )
    .await;
    assert_eq!(unknown.status, 422);
    // Taking every label off.
    mark(&ana, &refs[4], &[("action", "labels")]).await;
    assert_eq!(
        all_pages(&ana, "/cases?label=legal-review").await.0,
        std::slice::from_ref(&refs[0])
    );
    let dump = dump_database(&app.store).await;
    for label in ["legal-review", "escalated"] {
        assert!(!dump.contains(label), "{label} in the database");
    }

    // Deadlines: two acknowledged in time; a week on, the other three are overdue.
    for r in &refs[3..] {
        let done = step(
            &ana,
            r,
            &[("action", "acknowledge"), ("text", "Received, thank you.")],
        )
        .await;
        assert_eq!(done.status, 303, "{}", done.body);
        // A minute apart, so their feedback deadlines are too.
        app.advance(60);
    }
    app.advance(cases[0].received_at + 8 * DAY - app.now());
    worker.run_until_idle().await.unwrap();
    ana.login(&app).await;
    let (overdue, _) = all_pages(&ana, "/cases?deadline=overdue").await;
    assert_eq!(overdue, refs[..3].to_vec());
    let page = ana.agent.get("/cases?deadline=overdue").await;
    assert!(row_of(&page, &refs[0]).contains("overdue"));
    let (acknowledged, _) = all_pages(&ana, "/cases?state=acknowledged").await;
    assert_eq!(acknowledged, refs[3..].to_vec());
    // The deadline order puts the overdue ones first, then the feedback deadlines.
    assert_eq!(all_pages(&ana, "/cases").await.0, refs);
    // Filters combine.
    let (both, _) = all_pages(&ana, "/cases?deadline=overdue&label=legal-review").await;
    assert_eq!(both, std::slice::from_ref(&refs[0]));

    assert_eq!(app.case(&refs[3]).await.state, CaseState::Acknowledged);
    // Ben sees the one case he is on, nothing else.
    ben.login(&app).await;
    assert_eq!(
        all_pages(&ben, "/cases?state=all").await.0,
        std::slice::from_ref(&refs[0])
    );

    // A link edited by hand: a clear 400, not a guess.
    for bad in [
        "/cases?state=lost",
        "/cases?priority=P9",
        "/cases?deadline=ok",
        "/cases?label=secret-plan",
        "/cases?sort=random",
        "/cases?after=12",
        "/cases?after=x.RD-0000-0000",
        "/cases?starred=maybe",
    ] {
        let page = ana.agent.get(bad).await;
        assert_eq!(page.status, 400, "{bad}");
        assert!(page.body.contains("does not know"), "{bad}");
    }
}

async fn search(who: &Person, q: &str) -> Page {
    who.agent.submit("/search", "/search", &[("q", q)]).await
}

/// The list page that holds `case_ref` (all states, any page).
async fn all_pages_page(who: &Person, case_ref: &str) -> Page {
    let mut next = Some("/cases?state=all".to_owned());
    while let Some(path) = next {
        let page = who.agent.get(&path).await;
        let (shown, after) = rows(&page);
        if shown.iter().any(|r| r == case_ref) {
            return page;
        }
        next = after;
    }
    panic!("{case_ref} is on no page");
}

#[tokio::test(flavor = "multi_thread")]
async fn search_opens_only_the_viewers_cases_and_keeps_no_terms() {
    let app = TestApp::spawn().await;
    let portal = app.portal().await;
    let cast = Cast::new(&app, &portal).await;
    let (a, b) = (&cast.a, &cast.b);
    let marker = random_marker("orchid");
    let note = format!("The Zanzibar {marker} campaign again.");
    assert_eq!(
        step(a, &cast.case_a, &[("action", "note"), ("text", &note)])
            .await
            .status,
        303
    );
    step(
        a,
        &cast.case_a,
        &[
            ("action", "reply"),
            ("text", "Thank you, we read the kestrel logs."),
        ],
    )
    .await;
    let hits = |page: &Page| -> Vec<String> {
        tags(&page.body)
            .into_iter()
            .filter(|t| t.has_class("hit"))
            .filter_map(|t| t.attr("data-ref").map(str::to_owned))
            .collect()
    };

    // Whatever the case of the letters; in a note, a reply, the answers.
    let found = search(a, &format!("zanzibar {}", marker.to_uppercase())).await;
    assert_eq!(found.status, 200, "{}", found.body);
    assert_eq!(hits(&found), std::slice::from_ref(&cast.case_a));
    assert!(found.body.contains("<mark>"), "the place is shown");
    assert!(found.text_of("searched").unwrap().contains("1 of your 1 cases"));
    assert_eq!(
        hits(&search(a, "KESTREL").await),
        std::slice::from_ref(&cast.case_a)
    );
    assert_eq!(
        hits(&search(a, "first report").await),
        std::slice::from_ref(&cast.case_a)
    );
    assert!(hits(&search(a, "second report").await).is_empty(), "B's case");

    // B searches only B's case.
    assert!(hits(&search(b, "zanzibar").await).is_empty());
    assert!(hits(&search(b, "first report").await).is_empty());
    assert_eq!(
        hits(&search(b, "second report").await),
        std::slice::from_ref(&cast.case_b)
    );
    // Auditors cannot search at all.
    assert_eq!(cast.auditor.agent.get("/search").await.status, 404);

    // Too short, too long: refused with a message.
    for q in ["a", &"x".repeat(201)] {
        let refused = search(a, q).await;
        assert_eq!(refused.status, 422);
        assert!(refused.text_of("search-error").is_some());
    }

    // Searches are audited without their terms; the terms are nowhere in the database.
    let searches: Vec<_> = app
        .store
        .audit_after(0, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.action == "search")
        .collect();
    assert_eq!(searches.len(), 7);
    assert!(searches.iter().all(|r| r.target.is_none()));
    let dump = dump_database(&app.store).await;
    assert!(!dump.to_lowercase().contains(&marker.to_lowercase()));
    assert!(!dump.to_lowercase().contains("kestrel"));
}
