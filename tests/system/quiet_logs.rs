//! A log is a record of times: nothing a reporter's action causes may write a line.
//!
//! A real `redress serve`, at trace level, with no investigator and no mail (so every
//! triage fails, as on a fresh install), takes 20 submissions (and the reporters come
//! back with their receipts: a wrong one, the case read, a message with a file) while libfaketime moves its
//! clock across two hours. The test reads the log as the server writes it (as journald
//! would, stamping each line on arrival) and checks that nothing written after start-up
//! names a case, an object, a job or a reference, that no line arrives in the seconds
//! after a submission, and that every line's own time is the hour.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use redress_store::test_support::TestDatabase;
use serde_json::Value;

use crate::helpers::*;

const LIBFAKETIME: [&str; 2] = [
    "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
    "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
];

fn libfaketime() -> Option<&'static str> {
    let found = LIBFAKETIME.into_iter().find(|p| Path::new(p).is_file());
    if found.is_none() {
        // The same rule as for tools: skipped locally, a failure in CI.
        have_tool(
            "libfaketime.so.1",
            "moves the server's clock (Debian package faketime)",
        );
    }
    found
}

/// A line of the server's log and when it arrived.
struct Line {
    at: Instant,
    text: String,
}

fn set_clock(file: &Path, when: &str) {
    std::fs::write(file, format!("@{when}\n")).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn nothing_a_report_causes_writes_a_log_line() {
    let Some(lib) = libfaketime() else { return };
    let dir = tempfile::tempdir().unwrap();
    let db = TestDatabase::create(dir.path()).await;
    let clock = dir.path().join("faketime");
    set_clock(&clock, "2026-12-01 10:00:00");
    let mut child = Command::new(env!("CARGO_BIN_EXE_redress"))
        .arg("serve")
        .current_dir(dir.path())
        .env("LD_PRELOAD", lib)
        .env("FAKETIME_TIMESTAMP_FILE", &clock)
        .env("FAKETIME_NO_CACHE", "1")
        // Timers run on real time: only what the server reads as the date moves.
        .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
        .env("REDRESS_DATA_DIR", dir.path().join("data"))
        .env("REDRESS_DATABASE__URL", db.url())
        .envs([blob_backend_env(test_blob_backend())])
        .env("REDRESS_INTAKE__LISTEN", "127.0.0.1:0")
        .env("REDRESS_PORTAL__LISTEN", "127.0.0.1:0")
        .env("REDRESS_INTAKE__MIN_FREE_DISK_MIB", "1")
        .env("RUST_LOG", "trace")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let log: Arc<Mutex<Vec<Line>>> = Arc::default();
    let stderr = child.stderr.take().unwrap();
    let log_writer = Arc::clone(&log);
    std::thread::spawn(move || {
        for text in BufReader::new(stderr).lines().map_while(Result::ok) {
            log_writer.lock().unwrap().push(Line {
                at: Instant::now(),
                text,
            });
        }
    });
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("Intake listening on ") {
                let _ = tx.send(url.trim_end_matches('/').to_owned());
            }
        }
    });
    let base = rx.recv_timeout(Duration::from_secs(60)).expect("server started");
    // Start-up is over once the worker has said what it needs.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let started = Instant::now();
    let start_up: Vec<String> = log.lock().unwrap().iter().map(|l| l.text.clone()).collect();
    let said = start_up.join("\n");
    assert!(
        said.contains("email is not configured"),
        "warned at start-up: {said}"
    );
    assert!(
        said.contains("no active investigator is in the fallback team"),
        "{said}"
    );

    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut submitted = Vec::new();
    let mut refs = Vec::new();
    for i in 0..20u32 {
        // Every seven minutes, from 10:00 to 12:13.
        let minutes = i * 7;
        set_clock(
            &clock,
            &format!("2026-12-01 {:02}:{:02}:{:02}", 10 + minutes / 60, minutes % 60, i),
        );
        let log = format!("log {i}").into_bytes();
        let files: &[(&str, &[u8])] = if i % 2 == 0 { &[("log.txt", &log)] } else { &[] };
        let form = report_form(&good_answers(&format!("Report number {i}, long enough.")), files);
        submitted.push(Instant::now());
        let res = post_report(&client, &base, form).await;
        assert_eq!(res.status(), 201);
        let body: Value = res.json().await.unwrap();
        refs.push(body["case_ref"].as_str().unwrap().to_owned());
        // The reporter comes back: a wrong receipt, then the right one, the case read
        // and a message sent. None of it may write a line either.
        let wrong = client
            .post(format!("{base}/api/v1/followup/session"))
            .json(&serde_json::json!({ "receipt": "zoo zoo zoo zoo zoo zoo zoo zoo" }))
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), 422);
        if i % 2 == 0 {
            let opened = client
                .post(format!("{base}/api/v1/followup/session"))
                .json(&serde_json::json!({ "receipt": body["receipt"] }))
                .send()
                .await
                .unwrap();
            assert_eq!(opened.status(), 201);
            let token: Value = opened.json().await.unwrap();
            let bearer = format!("Bearer {}", token["token"].as_str().unwrap());
            let case = client
                .get(format!("{base}/api/v1/followup/case"))
                .header("authorization", &bearer)
                .send()
                .await
                .unwrap();
            assert_eq!(case.status(), 200);
            let message = reqwest::multipart::Form::new()
                .text("message", format!("More about report {i}."))
                .part(
                    "evidence",
                    reqwest::multipart::Part::bytes(log.clone()).file_name("more.txt"),
                );
            let sent = client
                .post(format!("{base}/api/v1/followup/messages"))
                .header("authorization", &bearer)
                .multipart(message)
                .send()
                .await
                .unwrap();
            assert_eq!(sent.status(), 201);
        }
        // A refused one too: refusals are counted, not written.
        let bad = client
            .post(format!("{base}/api/v1/reports"))
            .body("not multipart")
            .send()
            .await
            .unwrap();
        assert_eq!(bad.status(), 400);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // Let triage (which fails: nobody to route to) and its bookkeeping run out.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let _ = child.kill();
    let _ = child.wait();

    // Everything that names a report: references, and every case, object and job id.
    let store = redress_store::Store::connect(db.url()).await.unwrap();
    let mut names: Vec<String> = refs.clone();
    for case in store.cases().await.unwrap() {
        names.push(case.id.to_string());
        names.extend(
            store
                .objects(case.id)
                .await
                .unwrap()
                .iter()
                .map(|(id, _)| id.to_string()),
        );
    }
    let jobs = store.jobs().await.unwrap();
    names.extend(jobs.iter().map(|j| j.id.to_string()));
    assert_eq!(store.case_count().await.unwrap(), 20);
    let failed_triage = jobs
        .iter()
        .filter(|j| j.kind == redress_domain::JobKind::TriageCase && j.attempts > 0)
        .count();
    assert!(
        failed_triage > 0,
        "triage ran and failed, so there was something to log"
    );

    let log = log.lock().unwrap();
    let hour_only = |text: &str| {
        let stamp = text.split_whitespace().next().unwrap_or("");
        stamp.len() == 14 && stamp.ends_with('Z') && stamp.as_bytes()[10] == b'T'
    };
    for line in log.iter() {
        assert!(hour_only(&line.text), "a time finer than the hour: {}", line.text);
    }
    let after: Vec<&Line> = log.iter().filter(|l| l.at >= started).collect();
    for line in &after {
        for name in &names {
            assert!(
                !line.text.contains(name.as_str()),
                "{name} in the log: {}",
                line.text
            );
        }
        for &sent in &submitted {
            let gap = line.at.saturating_duration_since(sent);
            assert!(
                line.at < sent || gap > Duration::from_secs(3),
                "a line {gap:?} after a submission: {}",
                line.text
            );
        }
    }
    assert!(
        after.is_empty(),
        "nothing at all is written after start-up (the hourly report comes at the hour): {:?}",
        after.iter().map(|l| &l.text).collect::<Vec<_>>()
    );
}
