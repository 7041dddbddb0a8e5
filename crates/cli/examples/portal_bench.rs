//! Benchmark of the portal (run it through `tests/bench/portal.sh`).
//!
//! With the production password key derivation (`portal.password_kdf`, Argon2id 64 MiB,
//! t = 3) it prints:
//! - the derivation's time on one core, and the limit it sets: cores ÷ that time;
//! - logins per second through HTTP, right (password and code, each account once) and
//!   wrong (unknown addresses), with as many logins at once as twice the cores;
//! - the overhead of a page once logged in: p50 and p99 of `GET /cases` (the session
//!   found, its account read), beside the intake's `GET /` in the same run, each asked
//!   for one after another over one connection.
//!
//! SQLite by default; `--postgres URL` (an admin URL: a database is made) for
//! PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use redress_cli::config::Config;
use redress_cli::{Overrides, keys};
use redress_crypto::{KdfParams, Password};
use support::{PASSWORD, client, form, ms, percentile, set_up};

struct Args {
    accounts: usize,
    requests: usize,
    postgres: Option<String>,
}

fn args() -> Args {
    let mut a = Args {
        accounts: 40,
        requests: 2000,
        postgres: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--accounts" => a.accounts = it.next().and_then(|v| v.parse().ok()).expect("--accounts N"),
            "--requests" => a.requests = it.next().and_then(|v| v.parse().ok()).expect("--requests N"),
            "--postgres" => a.postgres = it.next(),
            other => panic!("unknown argument {other}"),
        }
    }
    a
}

/// One request after another over one connection: p50 and p99.
async fn latencies(c: &reqwest::Client, url: &str, n: usize) -> (Duration, Duration) {
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let started = Instant::now();
        let res = c.get(url).send().await.unwrap();
        assert_eq!(res.status(), 200, "{url}");
        res.bytes().await.unwrap();
        times.push(started.elapsed());
    }
    times.sort();
    (percentile(&times, 0.5), percentile(&times, 0.99))
}

/// Runs `logins` with `at_once` in flight; returns the wall time.
async fn run_at_once<F, Fut>(logins: Vec<F>, at_once: usize) -> Duration
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let gate = Arc::new(tokio::sync::Semaphore::new(at_once));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for login in logins {
        let permit = Arc::clone(&gate).acquire_owned().await.unwrap();
        tasks.push(tokio::spawn(async move {
            login().await;
            drop(permit);
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    started.elapsed()
}

#[tokio::main]
async fn main() {
    let a = args();
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let kdf = KdfParams::default();

    // The derivation alone, on one core.
    let mut one = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        redress_crypto::derive_password_key(&Password::new(PASSWORD.into()), &[7; 16], &kdf).unwrap();
        one.push(started.elapsed());
    }
    one.sort();
    let kdf_time = one[2];
    let limit = cores as f64 / kdf_time.as_secs_f64();
    println!(
        "Argon2id m={} MiB t={} p={}: {:.3} s on one core (median of 5); {cores} cores: limit {limit:.1} logins/s",
        kdf.m_kib / 1024,
        kdf.t,
        kdf.p,
        kdf_time.as_secs_f64()
    );

    let dir = tempfile::tempdir().unwrap();
    let mut config = Config {
        data_dir: dir.path().join("data"),
        ..Config::default()
    };
    config.database.url = match &a.postgres {
        Some(admin) => support::fresh_postgres(admin).await,
        None => String::new(),
    };
    config.intake.listen = "127.0.0.1:0".into();
    config.intake.min_free_disk_mib = 1;
    config.portal.listen = "127.0.0.1:0".into();
    config.portal.failed_logins_per_minute = 1_000_000;
    keys::bootstrap(&config).unwrap();
    let store = redress_cli::connect(&config).await.unwrap();
    store.migrate().await.unwrap();
    let overrides = Overrides::default();
    let intake = redress_cli::intake_state(&config, store.clone(), &overrides)
        .await
        .unwrap();
    let intake = redress_cli::start_intake(config.intake_addr().unwrap(), intake, cores).unwrap();
    let intake_base = format!("http://{}", intake.addr);
    tokio::spawn(intake.server);
    let portal = redress_cli::portal_state(&config, store.clone(), &overrides)
        .await
        .unwrap();
    let portal = redress_cli::start_portal(config.portal_addr().unwrap(), portal, cores).unwrap();
    let base = format!("http://{}", portal.addr);
    tokio::spawn(portal.server);
    println!(
        "database: {}",
        if a.postgres.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        }
    );

    // Accounts, set up through HTTP.
    let mut people = Vec::new();
    for i in 0..a.accounts {
        let email = format!("person{i}@example.org");
        let totp = set_up(&store, &client(), &base, &email, &["triage-desk"], 5).await;
        people.push((email, totp));
    }

    // Right logins: each account once, with the next step's code (accepted as the
    // clock's drift allows, and later than the one enrolment used).
    let at_once = 2 * cores;
    let logins: Vec<_> = people
        .into_iter()
        .map(|(email, totp)| {
            let base = base.clone();
            move || async move {
                let c = client();
                let code = totp.code_at(redress_cli::system_clock() + 30);
                let res = form(
                    &c,
                    &base,
                    "/login",
                    "/login",
                    &[("email", &email), ("password", PASSWORD), ("code", &code)],
                )
                .await;
                assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
            }
        })
        .collect();
    let n = logins.len();
    let took = run_at_once(logins, at_once).await;
    let rate = n as f64 / took.as_secs_f64();
    println!(
        "right logins: {n} in {:.2} s, {at_once} at once: {rate:.1} logins/s = {:.2} × the limit",
        took.as_secs_f64(),
        rate / limit
    );

    // Wrong logins, each an unknown address (the same cost, answered alike).
    let logins: Vec<_> = (0..n)
        .map(|i| {
            let base = base.clone();
            move || async move {
                let c = client();
                let email = format!("nobody{i}@example.org");
                let res = form(
                    &c,
                    &base,
                    "/login",
                    "/login",
                    &[("email", &email), ("password", PASSWORD), ("code", "123456")],
                )
                .await;
                assert_eq!(res.status(), 403);
            }
        })
        .collect();
    let took = run_at_once(logins, at_once).await;
    let rate = n as f64 / took.as_secs_f64();
    println!(
        "wrong logins: {n} in {:.2} s, {at_once} at once: {rate:.1} logins/s = {:.2} × the limit",
        took.as_secs_f64(),
        rate / limit
    );

    // A page's overhead once logged in, beside the intake's start page.
    let c = client();
    set_up(&store, &c, &base, "reader@example.org", &["triage-desk"], 5).await;
    let plain = client();
    // Warm both up, then measure each in turn.
    latencies(&c, &format!("{base}/cases"), 100).await;
    latencies(&plain, &format!("{intake_base}/"), 100).await;
    let (p50, p99) = latencies(&c, &format!("{base}/cases"), a.requests).await;
    let (i50, i99) = latencies(&plain, &format!("{intake_base}/"), a.requests).await;
    println!(
        "portal GET /cases, logged in: p50 {} p99 {} ({} requests one after another)",
        ms(p50),
        ms(p99),
        a.requests
    );
    println!("intake GET /:                 p50 {} p99 {}", ms(i50), ms(i99));
}
