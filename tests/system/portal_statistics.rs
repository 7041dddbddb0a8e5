//! Statistics for admins and auditors: cases by state, priority, outcome and product,
//! times to acknowledge and to close, deadlines met and missed by month — counted
//! from cases worked through the portal with the app's clock, shown as SVG charts with
//! their numbers and as CSV, and holding no case reference or content.

use redress_domain::Role;

use crate::helpers::*;
use crate::portal_lifecycle::step;
use crate::staff::*;

const DAY: i64 = 86_400;

/// `2026-12` for a Unix time, UTC.
fn month(unix: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(unix).unwrap();
    format!("{:04}-{:02}", t.year(), u8::from(t.month()))
}

/// Seconds as hours with one decimal, as the CSV writes them.
fn hours(secs: i64) -> String {
    format!("{:.1}", secs as f64 / 3600.0)
}

/// The cells of row `label` in the table `id` of a page, as text.
fn row(page: &Page, id: &str, label: &str) -> Vec<String> {
    let table = regex::Regex::new(&format!(r#"(?s)<table[^>]*id="{id}">(.*?)</table>"#))
        .unwrap()
        .captures(&page.body)
        .unwrap_or_else(|| panic!("table {id}"))[1]
        .to_owned();
    let row = regex::Regex::new(&format!(
        r#"(?s)<tr><th scope="row">{}</th>(.*?)</tr>"#,
        regex::escape(label)
    ))
    .unwrap()
    .captures(&table)
    .unwrap_or_else(|| panic!("row {label} in {id}: {table}"))[1]
        .to_owned();
    regex::Regex::new(r"<td>(.*?)</td>")
        .unwrap()
        .captures_iter(&row)
        .map(|c| c[1].to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn statistics_count_every_case_without_showing_any() {
    let app = TestApp::spawn().await;
    let portal = app.portal().await;
    let ana = person(
        &app,
        &portal,
        "ana@example.org",
        Role::Investigator,
        &["triage-desk"],
    )
    .await;
    let admin = person(&app, &portal, "admin@example.org", Role::Admin, &[]).await;
    let auditor = person(&app, &portal, "auditor@example.org", Role::Auditor, &[]).await;
    let worker = app.worker("w", None);
    let texts = [
        "FIRST-MARKER they listened to my calls.",
        "SECOND-MARKER they read my messages.",
        "THIRD-MARKER they tracked my phone.",
    ];
    let mut refs = Vec::new();
    for (text, product) in texts
        .iter()
        .zip(["mobile-implant", "mobile-implant", "network-interception"])
    {
        let mut answers = good_answers(text);
        answers["product"] = product.into();
        let res = app.api_submit(&answers, &[]).await;
        assert_eq!(res.status(), 201);
        let body: serde_json::Value = res.json().await.unwrap();
        refs.push(body["case_ref"].as_str().unwrap().to_owned());
    }
    worker.run_until_idle().await.unwrap();
    let received = app.case(&refs[0]).await.received_at;

    // The first: acknowledged in two days, worked through, answered and closed.
    app.advance(received + 2 * DAY - app.now());
    assert_eq!(ana.login(&app).await.status, 303);
    let first = &refs[0];
    for (action, fields) in [
        ("acknowledge", vec![("text", "Thank you.")]),
        (
            "assess",
            vec![("assessment", "admissible"), ("text", "Within our scope.")],
        ),
        ("investigate", vec![]),
        (
            "conclude",
            vec![("outcome", "not_substantiated"), ("text", "Nothing found.")],
        ),
        ("give_feedback", vec![("text", "We found nothing.")]),
    ] {
        let done = step(&ana, first, action, &fields).await;
        assert_eq!(done.status, 303, "{action}: {}", done.body);
    }
    app.advance(3 * DAY);
    assert_eq!(ana.login(&app).await.status, 303);
    assert_eq!(step(&ana, first, "close", &[]).await.status, 303);
    // The second: acknowledged on day nine, late. The third: never.
    app.advance(received + 9 * DAY - app.now());
    assert_eq!(ana.login(&app).await.status, 303);
    let late = step(&ana, &refs[1], "acknowledge", &[("text", "Sorry for the wait.")]).await;
    assert_eq!(late.status, 303);
    app.advance(DAY);

    let cases = stored(&app, &refs).await;
    let (one, two, three) = (&cases[0], &cases[1], &cases[2]);
    let to_ack = [
        one.acknowledged_at.unwrap() - one.received_at,
        two.acknowledged_at.unwrap() - two.received_at,
    ];
    let to_close = one.closed_at.unwrap() - one.received_at;

    // Investigators have no statistics; auditors and admins do.
    assert_eq!(ana.login(&app).await.status, 303);
    assert_eq!(ana.agent.get("/statistics").await.status, 404);
    assert_eq!(ana.agent.get("/statistics.csv").await.status, 404);
    assert_eq!(auditor.login(&app).await.status, 303);
    assert_eq!(admin.login(&app).await.status, 303);
    let page = auditor.agent.get("/statistics").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.text_of("total").unwrap(), "3 cases in all.");
    assert_eq!(row(&page, "by-state", "Closed"), ["1"]);
    assert_eq!(row(&page, "by-state", "Acknowledged"), ["1"]);
    assert_eq!(row(&page, "by-state", "Received"), ["1"]);
    assert_eq!(row(&page, "by-state", "Investigating"), ["0"]);
    assert_eq!(row(&page, "by-outcome", "not substantiated"), ["1"]);
    assert_eq!(row(&page, "by-outcome", "customer suspended"), ["0"]);
    assert_eq!(row(&page, "by-product", "mobile-implant"), ["2"]);
    assert_eq!(row(&page, "by-product", "network-interception"), ["1"]);
    let p = |p: &str| row(&page, "by-priority", p)[0].parse::<u64>().unwrap();
    assert_eq!(p("P1") + p("P2") + p("P3") + p("P4"), 3);
    assert_eq!(p("not triaged yet"), 0);
    let days = |secs: i64| format!("{:.1}", secs as f64 / DAY as f64);
    assert_eq!(
        row(&page, "durations", "To acknowledge"),
        ["2", &days(to_ack[0]), &days(to_ack[1])]
    );
    assert_eq!(
        row(&page, "durations", "To close"),
        ["1", &days(to_close), &days(to_close)]
    );
    // All three were due for acknowledgement in the same hour: one met, two missed.
    let ack_month = month(one.ack_due.unwrap());
    assert_eq!(ack_month, month(three.ack_due.unwrap()));
    assert_eq!(row(&page, "acknowledgement-deadlines", &ack_month), ["1", "2"]);
    // Feedback: the first met its deadline; the second's is months ahead, not counted.
    let feedback_month = month(one.feedback_due.unwrap());
    assert_eq!(row(&page, "feedback-deadlines", &feedback_month), ["1", "0"]);
    assert!(two.feedback_due.unwrap() > app.now());
    let feedback_table = regex::Regex::new(r#"(?s)<table[^>]*id="feedback-deadlines">.*?</table>"#)
        .unwrap()
        .find(&page.body)
        .unwrap()
        .as_str()
        .to_owned();
    assert_eq!(feedback_table.matches("<th scope=\"row\">").count(), 1);
    // Drawn as SVG on the server: bars, no script.
    let chart = regex::Regex::new(r#"(?s)<svg class="chart" id="by-state-chart".*?</svg>"#)
        .unwrap()
        .find(&page.body)
        .expect("the state chart")
        .as_str()
        .to_owned();
    assert_eq!(chart.matches("<rect").count(), 8, "a bar per state");
    assert!(!page.body.to_lowercase().contains("<script"));

    // The CSV says the same, as an attachment.
    let res = admin
        .agent
        .client
        .get(format!("{}/statistics.csv", admin.agent.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let header = |name: &str| res.headers()[name].to_str().unwrap().to_owned();
    assert_eq!(header("content-type"), "text/csv; charset=utf-8");
    assert!(header("content-disposition").starts_with("attachment;"));
    assert_eq!(header("x-content-type-options"), "nosniff");
    let csv = res.text().await.unwrap();
    for line in [
        "figure,group,value".to_owned(),
        "cases,all,3".to_owned(),
        "cases_by_state,closed,1".to_owned(),
        "cases_by_state,received,1".to_owned(),
        "cases_by_outcome,not_substantiated,1".to_owned(),
        "cases_by_product,mobile-implant,2".to_owned(),
        "cases_by_product,network-interception,1".to_owned(),
        "cases_by_priority,not_triaged,0".to_owned(),
        "hours_to_acknowledge,cases,2".to_owned(),
        format!("hours_to_acknowledge,median,{}", hours(to_ack[0])),
        format!("hours_to_acknowledge,p90,{}", hours(to_ack[1])),
        format!("hours_to_close,median,{}", hours(to_close)),
        format!("acknowledgement_deadlines_met,{ack_month},1"),
        format!("acknowledgement_deadlines_missed,{ack_month},2"),
        format!("feedback_deadlines_met,{feedback_month},1"),
    ] {
        assert!(csv.lines().any(|l| l == line), "{line} in {csv}");
    }

    // Nothing that names or tells a case: no reference, no word of a report.
    for shown in [&page.body, &csv] {
        for case_ref in &refs {
            assert!(!shown.contains(case_ref.as_str()));
        }
        for marker in [
            "FIRST-MARKER",
            "SECOND-MARKER",
            "THIRD-MARKER",
            "Ministry of Example",
        ] {
            assert!(!shown.contains(marker));
        }
    }
}

/// The stored rows of `refs`, in order.
async fn stored(app: &TestApp, refs: &[String]) -> Vec<redress_store::StoredCase> {
    let mut cases = Vec::new();
    for r in refs {
        cases.push(app.case(r).await);
    }
    cases
}
