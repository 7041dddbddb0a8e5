//! Benchmark of a recovery-key rotation (run it through `tests/bench/rotation.sh`).
//!
//! Inserts N cases through the store, each with a real case key and its recovery wrap,
//! then prints, in the same run:
//! - the crypto-only limit: unwrap with the old identity + wrap to the new key, on every
//!   core, no database (a sample of the wraps, held in memory);
//! - the rotation itself (`rotate_org_key`: the re-wrap passes, a verification of 1,000
//!   wraps, the registry), in wraps a second, and its ratio to the limit.
//!
//! SQLite by default; `--postgres URL` (an admin URL: a fresh database is made, and
//! dropped at the end) for PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::{Duration, Instant};

use redress_crypto::{SecretIdentity, unwrap_identity, wrap_identity};
use redress_domain::CaseId;
use redress_keychain::rotation::{OrgKey, OrgRotation, Quiet, rotate_org_key};
use redress_store::{Sql, Store};

struct Args {
    cases: usize,
    sample: usize,
    batch: u64,
    postgres: Option<String>,
}

fn args() -> Args {
    let mut a = Args {
        cases: 100_000,
        sample: 20_000,
        batch: 500,
        postgres: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut num = |what: &str| {
            it.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{what} N"))
        };
        match arg.as_str() {
            "--cases" => a.cases = num("--cases"),
            "--sample" => a.sample = num("--sample"),
            "--batch" => a.batch = num("--batch") as u64,
            "--postgres" => a.postgres = it.next(),
            other => panic!("unknown argument {other}"),
        }
    }
    a
}

/// Case keys and their recovery wraps, made on every core.
fn make_wraps(n: usize, recovery: &SecretIdentity) -> Vec<(String, Vec<u8>)> {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let to = recovery.public();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let to = to.clone();
                s.spawn(move || {
                    (0..n / threads + usize::from(t < n % threads))
                        .map(|_| {
                            let case = SecretIdentity::generate();
                            (case.public().to_string(), wrap_identity(&case, &to).unwrap())
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    })
}

/// Cases and their recovery wraps, 1,000 cases a transaction with multi-row inserts
/// (the store's own insert commits each case, which would make the set-up the
/// benchmark's longest part).
async fn insert_cases(store: &Store, url: &str, wraps: Vec<(String, Vec<u8>)>, recovery: &str) {
    use sea_orm::{ConnectionTrait, TransactionTrait};
    let db = sea_orm::Database::connect(url).await.unwrap();
    let backend = store.backend();
    let mut refs = std::collections::HashSet::new();
    for chunk in wraps.chunks(1000) {
        let txn = db.begin().await.unwrap();
        let mut cases = Sql::new(backend);
        cases.push(
            "INSERT INTO cases (id, case_ref, state, questionnaire_version, received_at, \
             case_recipient, thread_recipient, triaged, deadline_flag) VALUES ",
        );
        let mut keys = Sql::new(backend);
        keys.push(
            "INSERT INTO key_wraps (id, case_id, key_kind, holder_kind, holder_recipient, ciphertext) VALUES ",
        );
        for (i, (case_recipient, wrap)) in chunk.iter().enumerate() {
            let id = CaseId::random().to_string();
            let sep = if i == 0 { "(" } else { ", (" };
            cases.push(sep);
            cases.bind(id.clone()).push(", ");
            cases
                .bind(support::unique_case_ref(&mut refs))
                .push(", 'received', 1, 0, ");
            cases.bind(case_recipient.clone()).push(", ");
            cases.bind(case_recipient.clone()).push(", ");
            cases.bind(false).push(", 'ok')");
            keys.push(sep);
            keys.bind(uuid::Uuid::new_v4().to_string()).push(", ");
            keys.bind(id).push(", 'case', 'recovery', ");
            keys.bind(recovery.to_owned()).push(", ");
            keys.bind(wrap.clone()).push(")");
        }
        txn.execute_raw(cases.statement()).await.unwrap();
        txn.execute_raw(keys.statement()).await.unwrap();
        txn.commit().await.unwrap();
    }
    db.close().await.unwrap();
}

/// Unwrap + wrap on every core, no database: wraps a second.
fn crypto_limit(wraps: &[(String, Vec<u8>)], old: &SecretIdentity, new: &SecretIdentity) -> f64 {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let to = new.public();
    let chunk = wraps.len().div_ceil(threads);
    let started = Instant::now();
    std::thread::scope(|s| {
        for part in wraps.chunks(chunk) {
            let to = to.clone();
            s.spawn(move || {
                for (_, w) in part {
                    let key = unwrap_identity(w, old).unwrap();
                    std::hint::black_box(wrap_identity(&key, &to).unwrap());
                }
            });
        }
    });
    wraps.len() as f64 / started.elapsed().as_secs_f64()
}

#[tokio::main]
async fn main() {
    let a = args();
    let dir = tempfile::tempdir().unwrap();
    let url = match &a.postgres {
        Some(admin) => support::fresh_postgres(admin).await,
        None => format!("sqlite://{}?mode=rwc", dir.path().join("bench.db").display()),
    };
    let store = Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    let old = SecretIdentity::generate();
    let new = SecretIdentity::generate();
    let old_recipient = old.public().to_string();

    let t = Instant::now();
    let wraps = make_wraps(a.cases, &old);
    let sample: Vec<(String, Vec<u8>)> = wraps.iter().take(a.sample).cloned().collect();
    insert_cases(&store, &url, wraps, &old_recipient).await;
    println!(
        "set-up: {} cases with recovery wraps in {:.1} s",
        a.cases,
        t.elapsed().as_secs_f64()
    );

    // The limit is taken before and after the rotation and the higher kept: a database
    // still busy with the set-up (PostgreSQL's checkpoint, its autovacuum) would
    // otherwise lower the limit and flatter the ratio.
    let before = crypto_limit(&sample, &old, &new);

    let clock = || redress_cli::system_clock();
    let t = Instant::now();
    let done = rotate_org_key(
        &store,
        &OrgRotation {
            key: OrgKey::Recovery,
            old: std::slice::from_ref(&old),
            new: &new,
            batch: a.batch,
            verify_sample: Some(1000),
            door_wait: Duration::ZERO,
            // No intake runs: nothing can be in flight.
            settle: Duration::ZERO,
            today: redress_web::day(clock()),
            clock: &clock,
        },
        &Quiet,
    )
    .await
    .unwrap();
    let secs = t.elapsed().as_secs_f64();
    assert!(done.finished, "{done:?}");
    assert_eq!(done.rewrapped, a.cases as u64);
    let rate = a.cases as f64 / secs;
    let after = crypto_limit(&sample, &old, &new);
    let limit = before.max(after);
    println!(
        "crypto-only limit: {limit:.0} wraps/s (unwrap + wrap of {} wraps on {} cores, no database; {before:.0} before the rotation, {after:.0} after)",
        sample.len(),
        std::thread::available_parallelism().map_or(1, usize::from)
    );
    println!(
        "rotation: {} wraps in {secs:.1} s = {rate:.0} wraps/s (batch {}, a verification of {} included) = {:.2} x the limit",
        done.rewrapped,
        a.batch,
        done.verified.checked,
        rate / limit
    );
    drop(store);
    if let Some(admin) = &a.postgres {
        support::drop_postgres(admin, &url).await;
    }
}
