//! The database goes away while a reporter submits: they hear so within seconds, keep
//! everything they typed, nothing half-stored remains, and the next submission after
//! the database returns works without a restart. On PostgreSQL the test cuts every
//! connection through a proxy; on SQLite another connection holds the write lock.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helpers::*;

/// "Within a few seconds": the store gives up after 4 s; allow for a slow machine.
const PROMPTLY: Duration = Duration::from_secs(15);

#[tokio::test(flavor = "multi_thread")]
async fn a_reporter_keeps_their_report_while_the_database_is_away() {
    let (app, mut outage) = TestApp::spawn_with_outage(|_| {}).await;
    // The form was loaded while all was well.
    let (cookie, token) = app.form_get().await;
    outage.begin().await;

    let marker = random_marker("an-hour-of-writing");
    let fields = good_form_fields(&format!("Everything I saw, carefully written down: {marker}"));
    let files: &[(&str, &[u8])] = &[
        ("phone-log.txt", b"12:01 process rdxsyncd started"),
        ("photo.jpg", b"\xFF\xD8\xFF"),
    ];
    let started = Instant::now();
    let res = app
        .form_post(Some(&cookie), TestApp::form_body(Some(&token), &fields, files))
        .await;
    assert!(
        started.elapsed() < PROMPTLY,
        "answered after {:?}",
        started.elapsed()
    );
    assert_eq!(res.status(), 503);
    assert_eq!(res.headers()["retry-after"], "120");
    let html = res.text().await.unwrap();
    assert!(html.contains("could not be stored just now"), "{html}");
    for (name, value) in &fields {
        if !value.is_empty() && *name != "targeted" && *name != "product" && *name != "ongoing" {
            assert!(html.contains(value.as_str()), "{name} is given back");
        }
    }
    assert!(html.contains(&marker));
    assert!(
        html.contains("value=\"mobile-implant\" selected"),
        "the chosen product is kept"
    );
    assert!(html.contains("value=\"journalist\" checked") && html.contains("value=\"lawyer\" checked"));
    assert!(html.contains("value=\"yes\" checked"), "the radio answer is kept");
    for (name, _) in files {
        assert!(html.contains(name), "{name} is named as a file to attach again");
    }

    let started = Instant::now();
    let api = app
        .api_submit(
            &good_answers("Sent through the API while the database is away."),
            &[("e.txt", b"x")],
        )
        .await;
    assert!(started.elapsed() < PROMPTLY);
    assert_eq!(api.status(), 503);
    assert_eq!(api.headers()["retry-after"], "120");
    let body: Value = api.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unavailable");

    // The database returns: nothing of the refused reports was kept, and the very next
    // submission is stored, without a restart.
    outage.end().await;
    app.assert_nothing_stored().await;
    let again = app
        .form_submit(
            &good_form_fields("Sent again once the database was back."),
            &[("phone-log.txt", b"x")],
        )
        .await;
    let (receipt, case_ref, _) = app.follow_to_receipt(again).await;
    let opened = app.open_with_receipt(&case_ref, &receipt).await.unwrap();
    assert_eq!(opened.files.len(), 1);
}
