//! Auditors read the audit log in the portal: newest first, fifty a page, filtered by
//! who, what, case and days. (The chain's tamper tests are the audit crate's, and the
//! command line's are in `cli`.)

use redress_domain::Role;

use crate::helpers::*;
use crate::staff::*;

/// The sequence numbers in a page of the log.
fn seqs(page: &Page) -> Vec<i64> {
    let Some(table) = tags(&page.body)
        .into_iter()
        .find(|t| t.attr("id") == Some("entries"))
    else {
        return Vec::new();
    };
    let rows = &page.body[table.at..];
    rows.split("<tr><td>")
        .skip(1)
        .filter_map(|r| r.split("</td>").next()?.parse().ok())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn auditors_page_through_the_log_and_filter_it() {
    let app = TestApp::spawn().await;
    let portal = app.portal().await;
    let cast = Cast::new(&app, &portal).await;
    for _ in 0..2 {
        assert_eq!(
            cast.a.agent.get(&format!("/cases/{}", cast.case_a)).await.status,
            200
        );
    }
    assert_eq!(
        cast.b.agent.get(&format!("/cases/{}", cast.case_a)).await.status,
        404
    );
    for i in 0..55 {
        app.invite(&format!("p{i}@example.org"), Role::Auditor, &[]).await;
    }
    let total = redress_audit::verify(&app.store, None).await.unwrap();
    assert!(total.entries > 60);

    // Newest first, fifty a page, the next page from where this one ended.
    let first = cast.auditor.agent.get("/audit").await;
    assert_eq!(first.status, 200);
    let page1 = seqs(&first);
    assert_eq!(page1.len(), 50);
    assert_eq!(page1[0], total.entries);
    assert!(page1.windows(2).all(|w| w[0] == w[1] + 1));
    assert_eq!(first.text_of("audit-head").unwrap(), total.head.unwrap());
    let older = tags(&first.body)
        .into_iter()
        .find(|t| t.attr("id") == Some("older"))
        .unwrap()
        .attr("href")
        .unwrap()
        .replace("&amp;", "&");
    let page2 = seqs(&cast.auditor.agent.get(&older).await);
    assert_eq!(page2[0], page1[49] - 1);

    // By case: the two views and the refusal, named by address.
    let by_case = cast
        .auditor
        .agent
        .get(&format!("/audit?case={}", cast.case_a.to_lowercase()))
        .await;
    assert_eq!(seqs(&by_case).len(), 3, "{}", by_case.body);
    assert!(by_case.contains("a-investigator@example.org") && by_case.contains("b-investigator@example.org"));
    assert!(by_case.contains("case viewed") && by_case.contains("refused: not theirs to see"));
    // By what and by whom.
    let views = cast.auditor.agent.get("/audit?action=case_view").await;
    assert_eq!(seqs(&views).len(), 2);
    let by_b = cast
        .auditor
        .agent
        .get(&format!("/audit?actor=account%3A{}", cast.b.id))
        .await;
    let b_entries = seqs(&by_b);
    let b_actions: Vec<String> = app
        .store
        .audit_after(0, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.actor == format!("account:{}", cast.b.id))
        .map(|r| r.action)
        .collect();
    assert_eq!(b_entries.len(), b_actions.len());
    // By days: today holds everything, yesterday nothing; a bad day is said so.
    let today = time::OffsetDateTime::from_unix_timestamp(app.now())
        .unwrap()
        .date();
    let yesterday = today.previous_day().unwrap();
    let all_today = cast
        .auditor
        .agent
        .get(&format!("/audit?action=invitation&from={today}&to={today}"))
        .await;
    assert_eq!(seqs(&all_today).len(), 50, "a full page of today's invitations");
    let none = cast.auditor.agent.get(&format!("/audit?to={yesterday}")).await;
    assert!(seqs(&none).is_empty());
    assert!(none.text_of("no-entries").is_some());
    let bad = cast.auditor.agent.get("/audit?from=last+week").await;
    assert_eq!(bad.status, 400);
    assert!(bad.contains("YYYY-MM-DD"));

    // Admins read it too; investigators do not.
    assert_eq!(cast.admin.agent.get("/audit").await.status, 200);
    assert_eq!(cast.a.agent.get("/audit").await.status, 404);
}
