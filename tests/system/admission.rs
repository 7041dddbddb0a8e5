//! The door admits by memory budget: files fill their own budget, never the room of
//! text-only reports, and the busy answer changes only when the gate samples.

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use redress_cli::config::Config;
use serde_json::Value;

use crate::helpers::*;

/// Small budgets (a few reports and uploads) and a period that never ends by itself:
/// the tests end it with `gate.sample()`.
fn small_budgets(c: &mut Config) {
    c.intake.report_memory_mib = 1;
    c.intake.upload_memory_mib = 1;
    c.intake.admission_sample_secs = 3600;
}

/// Starts an API upload by hand and leaves it hanging in the middle of a file.
fn hanging_upload(app: &TestApp) -> TcpStream {
    let addr = app.base.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).unwrap();
    let head = format!(
        "POST /api/v1/reports HTTP/1.1\r\nHost: {addr}\r\nContent-Type: multipart/form-data; boundary=XyZ\r\nContent-Length: 10000000\r\n\r\n"
    );
    let body = format!(
        "--XyZ\r\nContent-Disposition: form-data; name=\"report\"\r\nContent-Type: application/json\r\n\r\n{}\r\n\
         --XyZ\r\nContent-Disposition: form-data; name=\"evidence\"; filename=\"big.bin\"\r\n\r\n{}",
        good_answers("A long enough description."),
        "z".repeat(100_000)
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body.as_bytes()).unwrap();
    s.flush().unwrap();
    s
}

/// Starts an API report by hand and leaves it hanging in the middle of its text.
fn hanging_report(app: &TestApp) -> TcpStream {
    let addr = app.base.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).unwrap();
    let head = format!(
        "POST /api/v1/reports HTTP/1.1\r\nHost: {addr}\r\nContent-Type: multipart/form-data; boundary=XyZ\r\nContent-Length: 10000000\r\n\r\n"
    );
    let body = "--XyZ\r\nContent-Disposition: form-data; name=\"report\"\r\nContent-Type: application/json\r\n\r\n{\"product\": \"mob";
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body.as_bytes()).unwrap();
    s.flush().unwrap();
    s
}

async fn wait_for_uploads(app: &TestApp, n: usize) {
    for _ in 0..200 {
        if app.state.gate.in_use().1 == n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("uploads in progress: {:?}, expected {n}", app.state.gate.in_use());
}

/// Holds every upload place.
async fn fill_uploads(app: &TestApp) -> Vec<TcpStream> {
    let (_, uploads) = app.state.gate.capacity();
    assert!(uploads >= 2, "the test needs a few upload places: {uploads}");
    let held: Vec<TcpStream> = (0..uploads).map(|_| hanging_upload(app)).collect();
    wait_for_uploads(app, uploads).await;
    held
}

async fn api_busy(app: &TestApp, files: &[(&str, &[u8])]) -> bool {
    let res = app
        .api_submit(&good_answers("A long enough description."), files)
        .await;
    match res.status().as_u16() {
        201 => false,
        503 => {
            assert_eq!(res.headers()["retry-after"], "120");
            let body: Value = res.json().await.unwrap();
            assert_eq!(body["error"]["code"], "busy");
            true
        }
        other => panic!("unexpected {other}: {}", res.text().await.unwrap()),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn files_fill_their_budget_but_a_text_only_report_still_gets_in() {
    let app = TestApp::spawn_with(small_budgets).await;
    let held = fill_uploads(&app).await;

    // A report without files is read in the other pool: it gets its receipt.
    let text_only = app
        .form_submit(
            &good_form_fields("Only words, no files, while the door is full of uploads."),
            &[],
        )
        .await;
    app.follow_to_receipt(text_only).await;
    assert!(!api_busy(&app, &[]).await, "the API takes text-only reports too");

    // A report with a file is refused, and the form comes back as the person filled it,
    // naming the file to attach again.
    let marker = random_marker("typed-once");
    let res = app
        .form_submit(
            &good_form_fields(&format!("A report that took an hour to write: {marker}")),
            &[("interview-notes.pdf", b"%PDF-1.4 notes")],
        )
        .await;
    assert_eq!(res.status(), 503);
    let html = res.text().await.unwrap();
    assert!(html.contains(&marker), "the text is given back");
    assert!(html.contains("Ministry of Example"), "every answer is given back");
    assert!(
        html.contains("interview-notes.pdf"),
        "the file to attach again is named"
    );
    assert!(html.contains("Many reports are being sent"), "{html}");
    assert!(api_busy(&app, &[("e.txt", b"x")]).await);

    drop(held);
    wait_for_uploads(&app, 0).await;
    assert_eq!(
        app.store.case_count().await.unwrap(),
        2,
        "only the two text-only reports"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_busy_answer_changes_only_when_the_gate_samples() {
    let app = TestApp::spawn_with(small_budgets).await;
    let file: &[(&str, &[u8])] = &[("e.txt", b"evidence")];
    let mut held = fill_uploads(&app).await;
    assert!(api_busy(&app, file).await, "full");

    // An upload ends: there is room now, but a prober is not told until the next sample.
    held.pop();
    let (_, capacity) = app.state.gate.capacity();
    wait_for_uploads(&app, capacity - 1).await;
    for _ in 0..3 {
        assert!(
            api_busy(&app, file).await,
            "the answer does not follow the occupancy"
        );
    }
    // Sampled while more than half full: still closed for the next period.
    app.state.gate.sample();
    assert!(api_busy(&app, file).await);

    // Every upload ends; still the same answer until the gate samples an empty door.
    held.clear();
    wait_for_uploads(&app, 0).await;
    assert!(api_busy(&app, file).await);
    app.state.gate.sample();
    assert!(
        !api_busy(&app, file).await,
        "open after a sample of an empty door"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reporter_refused_because_the_door_is_full_gets_the_form_back_filled_in() {
    let app = TestApp::spawn_with(small_budgets).await;
    let (reports, _) = app.state.gate.capacity();
    let held: Vec<TcpStream> = (0..reports).map(|_| hanging_report(&app)).collect();
    for _ in 0..200 {
        if app.state.gate.in_use().0 == reports {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(app.state.gate.in_use().0, reports, "every report place is held");

    let marker = random_marker("not-lost");
    let res = app
        .form_submit(
            &good_form_fields(&format!("Written while the door was full: {marker}")),
            &[("a.txt", b"x")],
        )
        .await;
    assert_eq!(res.status(), 503);
    assert_eq!(res.headers()["retry-after"], "120");
    let html = res.text().await.unwrap();
    assert!(
        html.contains(&marker),
        "the text is read and given back, not stored"
    );
    assert!(html.contains("<li>a.txt</li>"));
    drop(held);
    app.assert_nothing_stored().await;
}
