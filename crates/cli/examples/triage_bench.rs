//! Benchmark of the triage worker (run it through `tests/bench/triage.sh`).
//!
//! For SQLite, and for PostgreSQL when a URL is given, it prints:
//! - throughput: N reports submitted through the real intake API while no worker runs,
//!   then the time one worker process (2 job loops) takes to triage them all;
//! - latency: reports submitted one at a time to a running worker, and for each, the
//!   time from the intake's 201 to the assignee's email arriving at an SMTP server on
//!   loopback (p50, p99, max).
//!
//! With `--existing N,M,…` it measures instead triage throughput against a database
//! already holding N (then M, …) handed-over cases that share the product, country,
//! target group and, a seventh of them each, the suspected customer with the new ones
//! (inserted through the store), and the link rows each new case adds.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use redress_cli::config::Config;
use redress_cli::{Overrides, keys};
use redress_domain::{Answers, CaseId, CaseRef, JobKind, JobState, Priority, RawAnswers};
use redress_mail::{MailConfig, sink};
use redress_store::{NewCase, NewInvestigator, NewReceipt, TriageCommit};
use redress_worker::Worker;
use redress_worker::fingerprints::Feature;

struct Args {
    cases: usize,
    latency_samples: usize,
    postgres: Option<String>,
    existing: Vec<usize>,
}

fn args() -> Args {
    let mut a = Args {
        cases: 200,
        latency_samples: 60,
        postgres: None,
        existing: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--cases" => a.cases = it.next().and_then(|v| v.parse().ok()).expect("--cases N"),
            "--latency-samples" => {
                a.latency_samples = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--latency-samples N")
            }
            "--postgres" => a.postgres = it.next(),
            "--existing" => {
                a.existing = it
                    .next()
                    .map(|v| v.split(',').map(|n| n.parse().expect("--existing N,M")).collect())
                    .expect("--existing N,M")
            }
            other => panic!("unknown argument {other}"),
        }
    }
    a
}

fn answers(i: usize) -> serde_json::Value {
    serde_json::json!({
        "product": "mobile-implant",
        "suspected_customer": format!("Agency {}", i % 7),
        "country": "France",
        "targeted": ["journalist"],
        "what_happened": format!("Benchmark report {i}: the phone contacted evil.example at night."),
        "ongoing": "yes"
    })
}

async fn submit(client: &reqwest::Client, base: &str, i: usize, evidence: &[u8]) -> String {
    let form = reqwest::multipart::Form::new()
        .part(
            "report",
            reqwest::multipart::Part::text(answers(i).to_string())
                .mime_str("application/json")
                .unwrap(),
        )
        .part(
            "evidence",
            reqwest::multipart::Part::bytes(evidence.to_vec()).file_name("device.log"),
        );
    let res = client
        .post(format!("{base}/api/v1/reports"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    res.json::<serde_json::Value>().await.unwrap()["case_ref"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx]
}

/// A running intake on a fresh database, three investigators and an SMTP sink.
struct Bench {
    _dir: tempfile::TempDir,
    config: Config,
    store: redress_store::Store,
    base: String,
    sink: Arc<sink::SinkHandle>,
    client: reqwest::Client,
    evidence: Vec<u8>,
}

async fn setup(database_url: Option<String>) -> Bench {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config {
        data_dir: dir.path().join("data"),
        ..Config::default()
    };
    if let Some(url) = database_url {
        config.database.url = url;
    }
    config.intake.listen = "127.0.0.1:0".into();
    config.intake.min_free_disk_mib = 1;
    config.intake.upload_memory_mib = 64;
    keys::bootstrap(&config).unwrap();
    let store = redress_cli::connect(&config).await.unwrap();
    store.migrate().await.unwrap();
    for (i, email) in ["ana@example.org", "bo@example.org", "cy@example.org"]
        .iter()
        .enumerate()
    {
        let id = redress_crypto::SecretIdentity::generate();
        let new = NewInvestigator {
            email: (*email).into(),
            recipient: id.public().to_string(),
            teams: vec!["mobile".into(), "triage-desk".into()],
            capacity: 1_000_000,
        };
        store.add_investigator(&new, i as i64).await.unwrap();
    }
    // Production Argon2id parameters: the intake does exactly what it does in service.
    let state = redress_cli::intake_state(&config, store.clone(), &Overrides::default())
        .await
        .unwrap();
    let running = redress_cli::start_intake(config.intake_addr().unwrap(), state, 2).unwrap();
    let base = format!("http://{}", running.addr);
    tokio::spawn(running.server);

    let sink = Arc::new(sink::start().await.unwrap());
    config.mail = MailConfig {
        smtp_url: sink.url(),
        credentials_file: String::new(),
        from: "Redress <redress@example.org>".into(),
        ehlo_name: "notify.redress.test".into(),
        message_id_domain: "mid.redress.test".into(),
        portal_base_url: "http://127.0.0.1:8081".into(),
        timeout_secs: 10,
    };
    Bench {
        _dir: dir,
        config,
        store,
        base,
        sink,
        client: reqwest::Client::new(),
        evidence: b"2026-05-01 12:00 rdxsyncd connected to 192.0.2.10\n".repeat(200),
    }
}

fn start_worker(
    b: &Bench,
) -> (
    Arc<Worker>,
    tokio::sync::watch::Sender<bool>,
    tokio::task::JoinHandle<()>,
) {
    let worker = Arc::new(
        redress_cli::worker::build(&b.config, b.store.clone(), Arc::new(redress_cli::system_clock)).unwrap(),
    );
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let run = tokio::spawn(Arc::clone(&worker).run(stopped));
    (worker, stop, run)
}

async fn wait_for(b: &Bench, kind: JobKind, done: u64) {
    while b.store.job_count(kind, JobState::Done).await.unwrap() < done {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Submits `n` reports (numbered from `from`) while no worker runs; returns the seconds.
async fn submit_backlog(b: &Bench, from: usize, n: usize) -> f64 {
    let t = Instant::now();
    for i in from..from + n {
        submit(&b.client, &b.base, i, &b.evidence).await;
    }
    t.elapsed().as_secs_f64()
}

async fn run(label: &str, database_url: Option<String>, a: &Args) {
    let b = setup(database_url).await;

    // Throughput: a backlog, then one worker process's worth of job loops.
    let submit_secs = submit_backlog(&b, 0, a.cases).await;
    let t = Instant::now();
    let (_worker, stop, run) = start_worker(&b);
    wait_for(&b, JobKind::TriageCase, a.cases as u64).await;
    let triage_secs = t.elapsed().as_secs_f64();
    // Let the backlog's emails go out before measuring latency on an idle worker.
    wait_for(&b, JobKind::SendEmail, a.cases as u64).await;
    let drain_secs = t.elapsed().as_secs_f64();
    let (client, base, evidence, sink) = (&b.client, &b.base, &b.evidence, &b.sink);

    // Latency: one report at a time; 201 → the assignee's email at the SMTP server.
    let seen = Arc::new(std::sync::Mutex::new(HashMap::<String, Instant>::new()));
    let watcher = {
        let seen = Arc::clone(&seen);
        let sink_msgs = Arc::clone(sink);
        tokio::spawn(async move {
            loop {
                for m in sink_msgs.messages() {
                    let subject = m.header("Subject").unwrap_or_default().to_owned();
                    if let Some(r) = subject.split_whitespace().find(|w| w.starts_with("RD-")) {
                        seen.lock()
                            .unwrap()
                            .entry(r.to_owned())
                            .or_insert_with(Instant::now);
                    }
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        })
    };
    let mut latencies = Vec::new();
    for i in 0..a.latency_samples {
        let case_ref = submit(client, base, a.cases + i, evidence).await;
        let sent = Instant::now();
        loop {
            if let Some(at) = seen.lock().unwrap().get(&case_ref) {
                latencies.push(at.saturating_duration_since(sent));
                break;
            }
            assert!(
                sent.elapsed() < Duration::from_secs(30),
                "no email for {case_ref}"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        // Spread arrivals over the poll interval.
        tokio::time::sleep(Duration::from_millis(37 + (i as u64 * 53) % 200)).await;
    }
    watcher.abort();
    stop.send(true).unwrap();
    run.await.unwrap();
    latencies.sort();
    if std::env::var_os("BENCH_VERBOSE").is_some() {
        eprintln!(
            "{label} latencies (ms): {:?}",
            latencies.iter().map(Duration::as_millis).collect::<Vec<_>>()
        );
    }
    println!(
        "{label:<10} triage: {n} cases in {triage_secs:.2} s = {rate:.1} cases/s; with their emails sent {drain_secs:.2} s (submitting them took {submit_secs:.1} s)",
        n = a.cases,
        rate = a.cases as f64 / triage_secs
    );
    println!(
        "{label:<10} submission→email over {k} reports: p50 {p50} ms, p99 {p99} ms, max {max} ms (target p99 ≤ 2000 ms)",
        k = latencies.len(),
        p50 = percentile(&latencies, 0.50).as_millis(),
        p99 = percentile(&latencies, 0.99).as_millis(),
        max = latencies.last().unwrap().as_millis()
    );
}

/// Handed-over cases as triage would have left them (fingerprints, no links), inserted
/// through the store: `n` of them, sharing every broad feature with the new reports and
/// each one of their seven customers.
async fn seed_existing(b: &Bench, worker: &Worker, n: usize) {
    let questionnaire = redress_cli::questionnaire(&b.config).unwrap();
    for j in 0..n {
        let raw: RawAnswers = serde_json::from_value(answers(1_000_000 + j)).unwrap();
        let answers = Answers::parse(&raw, &questionnaire).unwrap();
        let now = redress_cli::system_clock();
        let case = NewCase {
            id: CaseId::random(),
            questionnaire_version: questionnaire.version(),
            received_at: redress_domain::hour_floor(now),
            case_recipient: "age1existing".into(),
            thread_recipient: "age1existing".into(),
            wraps: vec![],
            objects: vec![],
            receipt: NewReceipt {
                lookup: rand::random(),
                kdf_salt: vec![0; 16],
                kdf_m_kib: 8,
                kdf_t: 1,
                kdf_p: 1,
            },
            jobs: vec![],
        };
        b.store
            .insert_case(&case, || CaseRef::from_random(rand::random()))
            .await
            .unwrap();
        let commit = TriageCommit {
            priority: Priority::P3,
            ack_due: redress_domain::hour_floor(now) + 7 * 86_400,
            product: "mobile-implant".to_owned(),
            objects: vec![],
            wraps: vec![],
            assign_to: vec![],
            fingerprints: worker
                .fingerprint_key
                .of_case(&answers, &[])
                .iter()
                .map(Feature::stored)
                .collect(),
            links: vec![],
            emails: vec![],
            jobs: vec![],
        };
        assert!(b.store.commit_triage(case.id, &commit, now).await.unwrap());
    }
}

/// Triage throughput with `existing` cases already in the database; returns cases/s.
async fn run_existing(label: &str, database_url: Option<String>, existing: usize, cases: usize) -> f64 {
    let b = setup(database_url).await;
    let worker =
        redress_cli::worker::build(&b.config, b.store.clone(), Arc::new(redress_cli::system_clock)).unwrap();
    let t = Instant::now();
    seed_existing(&b, &worker, existing).await;
    let seed_secs = t.elapsed().as_secs_f64();
    // The periodic jobs (compaction, deadline scan, sweep) run at a worker's first
    // start and then every few minutes: run them now, timed on their own, so that the
    // triage figure is triage's alone.
    let t = Instant::now();
    worker.run_until_idle().await.unwrap();
    let periodic_secs = t.elapsed().as_secs_f64();
    // Existing cases have been there a while: on PostgreSQL autovacuum would have
    // marked their pages all-visible (index-only counts need that) and analysed them.
    // On SQLite the compaction just run did the same job.
    if b.store.backend() == sea_orm::DbBackend::Postgres {
        use sea_orm::ConnectionTrait;
        let db = sea_orm::Database::connect(b.config.database_url()).await.unwrap();
        db.execute_unprepared("VACUUM ANALYZE").await.unwrap();
        db.close().await.unwrap();
    }
    submit_backlog(&b, 0, cases).await;
    let links_before = b.store.link_count().await.unwrap();
    let t = Instant::now();
    let (_worker, stop, run) = start_worker(&b);
    wait_for(&b, JobKind::TriageCase, cases as u64).await;
    let triage_secs = t.elapsed().as_secs_f64();
    stop.send(true).unwrap();
    run.await.unwrap();
    let added = b.store.link_count().await.unwrap() - links_before;
    let rate = cases as f64 / triage_secs;
    println!(
        "{label:<10} {existing:>6} existing: triage {cases} cases in {triage_secs:.2} s = {rate:.1} cases/s; \
         {added} link rows added = {per:.1} per new case (cap {cap}); seeding took {seed_secs:.1} s, \
         the periodic jobs {periodic_secs:.2} s",
        per = added as f64 / cases as f64,
        cap = b.config.worker.related_listed,
    );
    rate
}

/// One run per `--existing` count, each on a fresh database: SQLite's own data folder,
/// or a new PostgreSQL database made from `postgres_admin`.
async fn compare_existing(label: &str, postgres_admin: Option<&str>, a: &Args) {
    let mut rates: Vec<(usize, f64)> = Vec::new();
    for &n in &a.existing {
        let url = match postgres_admin {
            Some(admin) => Some(support::fresh_postgres(admin).await),
            None => None,
        };
        rates.push((n, run_existing(label, url, n, a.cases).await));
    }
    let (first_n, first) = rates[0];
    for &(n, rate) in &rates[1..] {
        println!(
            "{label:<10} {n} vs {first_n} existing: {ratio:.2}× the throughput (target ≥ 0.80×)",
            ratio = rate / first
        );
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let a = args();
    if std::env::var_os("BENCH_VERBOSE").is_some() {
        redress_logging::init("warn", false);
    }
    if !a.existing.is_empty() {
        compare_existing("SQLite", None, &a).await;
        if let Some(admin) = a.postgres.as_deref() {
            compare_existing("PostgreSQL", Some(admin), &a).await;
        }
        return;
    }
    run("SQLite", None, &a).await;
    if let Some(admin) = a.postgres.clone() {
        let url = support::fresh_postgres(&admin).await;
        run("PostgreSQL", Some(url), &a).await;
    }
}
