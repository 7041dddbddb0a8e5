//! Benchmark of the portal's case list and search at scale (run it through
//! `tests/bench/cases.sh`).
//!
//! One investigator holds `--assigned` cases (1,000) among `--cases` (100,000). Their
//! cases are real: reports through the intake API, triaged by the worker (case keys
//! wrapped to the investigator's identity), then moved on through the portal over HTTP
//! (steps, notes, replies, stars, labels); their received times and deadlines are then
//! spread over months by SQL. The other cases are copies of those rows under new ids
//! and references, assigned to other investigators, written in batches by SQL.
//!
//! Through HTTP against the portal with production settings it prints, first with the
//! investigator's cases alone in the database and then with all of them:
//! - every page of `GET /cases` (keyset pages, the "next" link followed) for a few
//!   filters and orders, walked until `--pages` pages were asked for each, one request
//!   after another over one connection: p50, p99 and max per page;
//! - the store's `list_cases` for the first page, called directly, the same way;
//! - `POST /search` over the investigator's cases, for a term some cases hold and one
//!   none holds: p50 and max.
//!
//! SQLite by default; `--postgres URL` (an admin URL: a database is made, and left
//! there) for PostgreSQL. `BENCH_KEEP=1` leaves the SQLite data folder too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use redress_cli::config::Config;
use redress_cli::{Overrides, keys};
use redress_crypto::KdfParams;
use redress_domain::{AccountId, CaseState, Deadline, DeadlineFlag, InvestigatorId};
use redress_store::{CaseOrder, CaseQuery, NewInvestigator, Sql, StateFilter, Store};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, TransactionTrait, Value};
use support::{client, ms, percentile, set_up, token};

const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;
/// A term some of the investigator's cases hold (in the answers of every tenth, in the
/// notes of others), and one none holds.
const FOUND: &str = "harbour crane";
const NOWHERE: &str = "quetzalcoatl";
/// The list pages measured: what they show, and their path.
const VARIANTS: &[(&str, &str)] = &[
    ("open, by deadline (default)", "/cases"),
    ("all states, newest first", "/cases?state=all&sort=newest"),
    ("overdue, by deadline", "/cases?deadline=overdue"),
    (
        "investigating, by priority",
        "/cases?state=investigating&sort=priority",
    ),
];

struct Args {
    cases: usize,
    assigned: usize,
    pages: usize,
    searches: usize,
    others: usize,
    postgres: Option<String>,
}

fn args() -> Args {
    let mut a = Args {
        cases: 100_000,
        assigned: 1_000,
        pages: 300,
        searches: 15,
        others: 99,
        postgres: None,
    };
    let mut it = std::env::args().skip(1);
    let number = |it: &mut std::iter::Skip<std::env::Args>, name: &str| -> usize {
        it.next()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{name} N"))
    };
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--cases" => a.cases = number(&mut it, "--cases"),
            "--assigned" => a.assigned = number(&mut it, "--assigned"),
            "--pages" => a.pages = number(&mut it, "--pages"),
            "--searches" => a.searches = number(&mut it, "--searches"),
            "--others" => a.others = number(&mut it, "--others"),
            "--postgres" => a.postgres = it.next(),
            other => panic!("unknown argument {other}"),
        }
    }
    assert!(a.cases >= a.assigned && a.assigned > 0 && a.others > 0);
    a
}

/// The answers of report `i`: products, targets and urgency vary (and with them the
/// priority triage gives); every tenth names the found term.
fn answers(i: usize) -> serde_json::Value {
    let (product, targeted, ongoing) = match i % 4 {
        0 => (
            "mobile-implant",
            serde_json::json!(["journalist", "lawyer"]),
            "yes",
        ),
        1 => ("data-analytics", serde_json::json!(["journalist"]), "unknown"),
        2 => ("network-interception", serde_json::json!(["activist"]), "no"),
        _ => ("data-analytics", serde_json::json!(["other"]), "no"),
    };
    let place = if i.is_multiple_of(10) {
        "near the Harbour Crane depot"
    } else {
        "at home"
    };
    let country = ["France", "Kenya", "Mexico", "Greece"][i % 4];
    serde_json::json!({
        "product": product,
        "suspected_customer": format!("Agency {}", i % 40),
        "country": country,
        "targeted": targeted,
        "what_happened": format!(
            "Report {i}: my phone was unlocked {place} and messages left it at night; \
             a stranger later quoted them to me."
        ),
        "when": "Spring 2026",
        "ongoing": ongoing
    })
}

async fn submit(c: &reqwest::Client, base: &str, i: usize) {
    let form = reqwest::multipart::Form::new().part(
        "report",
        reqwest::multipart::Part::text(answers(i).to_string())
            .mime_str("application/json")
            .unwrap(),
    );
    let res = c
        .post(format!("{base}/api/v1/reports"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
}

/// The steps that take a new case to each state, in order, with the text each writes
/// (an acknowledgement, an assessment, a finding, feedback).
const LIFE: &[&[(&str, &str)]] = &[
    &[
        ("action", "acknowledge"),
        ("text", "We received your report and will look into it."),
    ],
    &[
        ("action", "assess"),
        ("assessment", "admissible"),
        (
            "text",
            "Within scope: a product we sell, used against a journalist.",
        ),
    ],
    &[("action", "investigate")],
    &[
        ("action", "conclude"),
        ("outcome", "unrelated"),
        ("text", "The implant found is not one of ours."),
    ],
    &[
        ("action", "give_feedback"),
        ("text", "We found that the implant was not made by us."),
    ],
    &[("action", "close")],
];

/// What the investigator does to their `i`th case through the portal: moves it on
/// `i % 7` steps (received … closed), writes a note to every third (every ninth
/// naming the found term) and a reply to every fifth, stars every sixth and labels
/// every eighth.
async fn work_on(c: &reqwest::Client, base: &str, csrf: &str, case_ref: &str, i: usize) {
    let post = |path: String, fields: Vec<(&'static str, String)>| async move {
        let mut all = vec![("csrf_token", csrf.to_owned())];
        all.extend(fields);
        let res = c.post(format!("{base}{path}")).form(&all).send().await.unwrap();
        assert_eq!(res.status(), 303, "{path}: {}", res.text().await.unwrap());
    };
    let page = format!("/cases/{case_ref}");
    if i.is_multiple_of(3) {
        let text = if i.is_multiple_of(9) {
            format!("Case {i}: the reporter's photos show the harbour crane logo on the van.")
        } else {
            format!("Case {i}: asked the customer's account team for the contract dates.")
        };
        post(page.clone(), vec![("action", "note".into()), ("text", text)]).await;
    }
    if i.is_multiple_of(5) {
        post(
            page.clone(),
            vec![
                ("action", "reply".into()),
                (
                    "text",
                    "Thank you. Could you tell us which model of phone you use?".into(),
                ),
            ],
        )
        .await;
    }
    for step in &LIFE[..i % 7] {
        post(
            page.clone(),
            step.iter().map(|(k, v)| (*k, (*v).to_owned())).collect(),
        )
        .await;
    }
    if i.is_multiple_of(6) {
        post(format!("{page}/marks"), vec![("action", "star".into())]).await;
    }
    if i.is_multiple_of(8) {
        post(
            format!("{page}/marks"),
            vec![("action", "labels".into()), ("label-escalated", "on".into())],
        )
        .await;
    }
}

/// Spreads the investigator's cases over the months before `now`, one every four hours,
/// with the deadlines that follow (7 days to acknowledge, 90 to give feedback) and the
/// flag the deadline scan would give them. SQL: the clock of a real run cannot be
/// moved back.
async fn spread_in_time(db: &DatabaseConnection, cases: &[(String, CaseState)], now: i64) {
    let backend = db.get_database_backend();
    let txn = db.begin().await.unwrap();
    for (k, (id, state)) in cases.iter().enumerate() {
        let received = redress_domain::hour_floor(now - (k as i64 + 1) * 4 * HOUR);
        let ack_due = received + 7 * DAY;
        let feedback_due = received + 90 * DAY;
        let flag = match state.deadline() {
            Some(Deadline::Acknowledgement) => DeadlineFlag::of(ack_due, now, 2 * DAY),
            Some(Deadline::Feedback) => DeadlineFlag::of(feedback_due, now, 2 * DAY),
            None => DeadlineFlag::Ok,
        };
        let mut sql = Sql::new(backend);
        sql.push("UPDATE cases SET received_at = ")
            .bind(received)
            .push(", ack_due = ")
            .bind(ack_due)
            .push(", feedback_due = ")
            .bind(feedback_due)
            .push(", deadline_flag = ")
            .bind(flag.as_str())
            .push(" WHERE id = ")
            .bind(id.clone());
        txn.execute_raw(sql.statement()).await.unwrap();
    }
    txn.commit().await.unwrap();
}

/// How a copied column is filled.
#[derive(Clone, Copy)]
enum Col {
    /// A fresh UUID.
    NewId,
    /// The copy's case id.
    CaseId,
    /// The copy's reference.
    CaseRef,
    /// The copy's investigator (an assignment).
    Assignee,
    /// The copy's investigator where the original names the benchmark's one (a wrap).
    Holder,
    /// A fresh receipt lookup.
    Lookup,
    Text,
    OptText,
    Int,
    OptInt,
    BigInt,
    OptBigInt,
    Bool,
    Bytes,
}

/// A table copied with a case: its name, the column naming the case, its columns.
struct Table {
    name: &'static str,
    case_column: &'static str,
    columns: &'static [(&'static str, Col)],
}

/// Every row that belongs to a case and that the list or search reads. Not copied:
/// fingerprints and links (triage's, read when relating new cases), audit entries.
const TABLES: &[Table] = &[
    Table {
        name: "cases",
        case_column: "id",
        columns: &[
            ("id", Col::CaseId),
            ("case_ref", Col::CaseRef),
            ("state", Col::Text),
            ("questionnaire_version", Col::Int),
            ("received_at", Col::BigInt),
            ("case_recipient", Col::Text),
            ("thread_recipient", Col::Text),
            ("triaged", Col::Bool),
            ("priority", Col::OptText),
            ("ack_due", Col::OptBigInt),
            ("feedback_due", Col::OptBigInt),
            ("deadline_flag", Col::Text),
            ("assessment", Col::OptText),
            ("outcome", Col::OptText),
            ("acknowledged_at", Col::OptBigInt),
            ("concluded_at", Col::OptBigInt),
            ("feedback_given_at", Col::OptBigInt),
            ("closed_at", Col::OptBigInt),
        ],
    },
    Table {
        name: "receipts",
        case_column: "case_id",
        columns: &[
            ("lookup", Col::Lookup),
            ("case_id", Col::CaseId),
            ("kdf_salt", Col::Bytes),
            ("kdf_m_kib", Col::Int),
            ("kdf_t", Col::Int),
            ("kdf_p", Col::Int),
        ],
    },
    Table {
        name: "key_wraps",
        case_column: "case_id",
        columns: &[
            ("id", Col::NewId),
            ("case_id", Col::CaseId),
            ("key_kind", Col::Text),
            ("holder_kind", Col::Text),
            ("holder_id", Col::Holder),
            ("holder_recipient", Col::Text),
            ("ciphertext", Col::Bytes),
        ],
    },
    Table {
        name: "case_objects",
        case_column: "case_id",
        columns: &[
            ("id", Col::NewId),
            ("case_id", Col::CaseId),
            ("kind", Col::Text),
            ("sealed_to", Col::Text),
            ("ciphertext_bytes", Col::BigInt),
        ],
    },
    Table {
        name: "case_entries",
        case_column: "case_id",
        columns: &[
            ("id", Col::NewId),
            ("case_id", Col::CaseId),
            ("seq", Col::Int),
            ("kind", Col::Text),
            ("author", Col::OptText),
            ("at", Col::BigInt),
            ("ciphertext", Col::Bytes),
        ],
    },
    Table {
        name: "case_labels",
        case_column: "case_id",
        columns: &[("case_id", Col::CaseId), ("ciphertext", Col::Bytes)],
    },
    Table {
        name: "case_assignments",
        case_column: "case_id",
        columns: &[
            ("id", Col::NewId),
            ("case_id", Col::CaseId),
            ("investigator_id", Col::Assignee),
            ("assigned_at", Col::BigInt),
            ("seen_seq", Col::OptInt),
            ("starred", Col::Bool),
        ],
    },
];

/// The rows of `table` of `cases`, by case id, each as its column values.
async fn read_rows(
    db: &DatabaseConnection,
    table: &Table,
    cases: &[String],
) -> HashMap<String, Vec<Vec<Value>>> {
    let mut found: HashMap<String, Vec<Vec<Value>>> = HashMap::new();
    let names: Vec<&str> = table.columns.iter().map(|(n, _)| *n).collect();
    for chunk in cases.chunks(500) {
        let mut sql = Sql::new(db.get_database_backend());
        sql.push(&format!(
            "SELECT {}, {} AS bench_case FROM {} WHERE {} IN (",
            names.join(", "),
            table.case_column,
            table.name,
            table.case_column
        ));
        for (i, id) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind(id.clone());
        }
        sql.push(")");
        for row in db.query_all_raw(sql.statement()).await.unwrap() {
            let values = table
                .columns
                .iter()
                .map(|(name, col)| {
                    let v: Value = match col {
                        Col::Int => row.try_get::<i32>("", name).unwrap().into(),
                        Col::OptInt => row.try_get::<Option<i32>>("", name).unwrap().into(),
                        Col::BigInt => row.try_get::<i64>("", name).unwrap().into(),
                        Col::OptBigInt => row.try_get::<Option<i64>>("", name).unwrap().into(),
                        Col::Bool => row.try_get::<bool>("", name).unwrap().into(),
                        Col::Bytes => row.try_get::<Vec<u8>>("", name).unwrap().into(),
                        Col::OptText | Col::Holder => row.try_get::<Option<String>>("", name).unwrap().into(),
                        _ => row.try_get::<String>("", name).unwrap().into(),
                    };
                    v
                })
                .collect();
            found
                .entry(row.try_get::<String>("", "bench_case").unwrap())
                .or_default()
                .push(values);
        }
    }
    found
}

/// Writes `copies` copies of the cases `templates` (round robin), each under a new id
/// and reference and assigned to one of `others` in turn, in transactions of 1,000
/// cases with multi-row inserts.
async fn copy_cases(
    db: &DatabaseConnection,
    templates: &[String],
    me: InvestigatorId,
    others: &[InvestigatorId],
    copies: usize,
    refs: &mut HashSet<String>,
) {
    let backend = db.get_database_backend();
    let mut rows = Vec::new();
    for table in TABLES {
        rows.push(read_rows(db, table, templates).await);
    }
    let me = me.to_string();
    let mut done = 0;
    while done < copies {
        let batch = (copies - done).min(1_000);
        // Per table, the rows of this batch's copies.
        let mut out: Vec<Vec<Vec<Value>>> = vec![Vec::new(); TABLES.len()];
        for n in done..done + batch {
            let template = &templates[n % templates.len()];
            let case_id = redress_domain::CaseId::random().to_string();
            let case_ref = support::unique_case_ref(refs);
            let assignee = others[n % others.len()].to_string();
            for (t, table) in TABLES.iter().enumerate() {
                for original in rows[t].get(template).into_iter().flatten() {
                    let copy = table
                        .columns
                        .iter()
                        .zip(original)
                        .map(|((_, col), v)| match col {
                            Col::NewId => uuid::Uuid::new_v4().to_string().into(),
                            Col::CaseId => case_id.clone().into(),
                            Col::CaseRef => case_ref.clone().into(),
                            Col::Assignee => assignee.clone().into(),
                            Col::Holder if *v == Value::from(Some(me.clone())) => {
                                Some(assignee.clone()).into()
                            }
                            Col::Lookup => hex::encode(rand::random::<[u8; 32]>()).into(),
                            _ => v.clone(),
                        })
                        .collect();
                    out[t].push(copy);
                }
            }
        }
        let txn = db.begin().await.unwrap();
        for (table, rows) in TABLES.iter().zip(out) {
            let names: Vec<&str> = table.columns.iter().map(|(n, _)| *n).collect();
            let per_statement = 20_000 / names.len();
            for chunk in rows.chunks(per_statement) {
                let mut sql = Sql::new(backend);
                sql.push(&format!(
                    "INSERT INTO {} ({}) VALUES ",
                    table.name,
                    names.join(", ")
                ));
                for (i, row) in chunk.iter().enumerate() {
                    sql.push(if i == 0 { "(" } else { ", (" });
                    for (j, v) in row.iter().enumerate() {
                        if j > 0 {
                            sql.push(", ");
                        }
                        sql.bind(v.clone());
                    }
                    sql.push(")");
                }
                txn.execute_raw(sql.statement()).await.unwrap();
            }
        }
        txn.commit().await.unwrap();
        done += batch;
    }
}

/// Every page of the list at `path`, followed by its "next" links: each page's time and
/// row count.
async fn walk(c: &reqwest::Client, base: &str, path: &str) -> Vec<(Duration, usize)> {
    let mut pages = Vec::new();
    let mut next = Some(path.to_owned());
    while let Some(path) = next {
        let started = Instant::now();
        let res = c.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
        let html = res.text().await.unwrap();
        let took = started.elapsed();
        pages.push((took, html.matches("class=\"case-row").count()));
        next = html.find("id=\"next\"").map(|_| {
            let tag = &html[..html.find("id=\"next\"").unwrap()];
            let href = &tag[tag.rfind("href=\"").unwrap() + 6..];
            href[..href.find('"').unwrap()]
                .replace("&amp;", "&")
                .replace("&#38;", "&")
        });
    }
    pages
}

/// A summary of sorted durations.
fn summary(sorted: &[Duration]) -> String {
    format!(
        "p50 {} p99 {} max {}",
        ms(percentile(sorted, 0.5)),
        ms(percentile(sorted, 0.99)),
        ms(*sorted.last().unwrap())
    )
}

/// Every variant of the list, walked (after one walk to warm up) until `pages` pages
/// were asked for.
async fn measure_list(c: &reqwest::Client, base: &str, pages: usize, label: &str) {
    for (name, path) in VARIANTS {
        walk(c, base, path).await;
        let mut times = Vec::new();
        let (mut walks, mut rows, mut per_walk) = (0, 0, 0);
        while times.len() < pages {
            let walked = walk(c, base, path).await;
            per_walk = walked.len();
            rows = walked.iter().map(|(_, n)| n).sum();
            times.extend(walked.into_iter().map(|(t, _)| t));
            walks += 1;
        }
        times.sort();
        println!(
            "{label} GET {path:<42} {name}: {rows} cases in {per_walk} pages, {walks} walks = {} pages: {}",
            times.len(),
            summary(&times)
        );
    }
}

/// The first page of the default list straight from the store, `n` times.
async fn measure_store(
    store: &Store,
    inv: InvestigatorId,
    me: AccountId,
    per_page: u64,
    n: usize,
    label: &str,
) {
    let q = CaseQuery {
        limit: per_page,
        ..CaseQuery::default()
    };
    let mut times = Vec::new();
    for i in 0..n + 20 {
        let started = Instant::now();
        let page = store.list_cases(inv, me, &q).await.unwrap();
        assert!(!page.rows.is_empty());
        if i >= 20 {
            times.push(started.elapsed());
        }
    }
    times.sort();
    println!(
        "{label} store list_cases, first page of the default list, {n} calls: {}",
        summary(&times)
    );
}

/// `POST /search` for each term, `n` times after one to warm up: p50 and max, and what
/// the page says was searched.
async fn measure_search(c: &reqwest::Client, base: &str, n: usize, label: &str) {
    let html = c
        .get(format!("{base}/search"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = token(&html);
    for term in [FOUND, NOWHERE] {
        let mut times = Vec::new();
        let mut said = String::new();
        for i in 0..=n {
            let started = Instant::now();
            let res = c
                .post(format!("{base}/search"))
                .form(&[("csrf_token", csrf.as_str()), ("q", term)])
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
            let html = res.text().await.unwrap();
            if i > 0 {
                times.push(started.elapsed());
            }
            said = support::between(&html, "id=\"searched\">", "<").to_owned();
        }
        times.sort();
        println!(
            "{label} POST /search {term:<14} ({said}), {n} searches: p50 {} max {}",
            ms(percentile(&times, 0.5)),
            ms(*times.last().unwrap())
        );
    }
}

/// What autovacuum would have done to rows that had been there a while (PostgreSQL);
/// on SQLite, the compaction the worker runs periodically (it runs no `ANALYZE`).
async fn settle(store: &Store, db: &DatabaseConnection) {
    if db.get_database_backend() == DbBackend::Postgres {
        db.execute_unprepared("VACUUM ANALYZE").await.unwrap();
    } else {
        store.compact().await.unwrap();
    }
}

#[tokio::main]
async fn main() {
    let a = args();
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let dir = tempfile::tempdir().unwrap();
    // BENCH_KEEP: leave the data folder (and its SQLite file) for a look afterwards.
    let (_dir, root) = if std::env::var_os("BENCH_KEEP").is_some() {
        let kept = dir.keep();
        eprintln!("data folder kept: {}", kept.display());
        (None, kept)
    } else {
        let root = dir.path().to_owned();
        (Some(dir), root)
    };
    let mut config = Config {
        data_dir: root.join("data"),
        ..Config::default()
    };
    config.database.url = match &a.postgres {
        Some(admin) => support::fresh_postgres(admin).await,
        None => String::new(),
    };
    config.intake.listen = "127.0.0.1:0".into();
    config.intake.min_free_disk_mib = 1;
    config.portal.listen = "127.0.0.1:0".into();
    keys::bootstrap(&config).unwrap();
    let store = redress_cli::connect(&config).await.unwrap();
    store.migrate().await.unwrap();
    let db = sea_orm::Database::connect(config.database_url()).await.unwrap();
    // The intake only seeds: its receipt derivation is not measured, so a cheap one.
    let seeding = Overrides {
        danger_kdf: Some(KdfParams::danger_test_minimum()),
        ..Overrides::default()
    };
    let intake = redress_cli::intake_state(&config, store.clone(), &seeding)
        .await
        .unwrap();
    let intake = redress_cli::start_intake(config.intake_addr().unwrap(), intake, cores).unwrap();
    let intake_base = format!("http://{}", intake.addr);
    tokio::spawn(intake.server);
    // The portal as in service.
    let portal = redress_cli::portal_state(&config, store.clone(), &Overrides::default())
        .await
        .unwrap();
    let portal = redress_cli::start_portal(config.portal_addr().unwrap(), portal, cores).unwrap();
    let base = format!("http://{}", portal.addr);
    tokio::spawn(portal.server);
    let label = if a.postgres.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    println!("database: {label}");

    // The investigator, set up through HTTP; the only one with room, so triage gives
    // them every report.
    let seed_started = Instant::now();
    let c = client();
    set_up(&store, &c, &base, "ana@example.org", &["triage-desk"], 1_000_000).await;
    let account = store.account_by_email("ana@example.org").await.unwrap().unwrap();
    let inv = account.investigator_id.unwrap();

    // Their cases: reports through the intake API, triaged by the worker.
    let t = Instant::now();
    let api = reqwest::Client::new();
    futures_util::stream::iter(0..a.assigned)
        .map(|i| submit(&api, &intake_base, i))
        .buffer_unordered(2 * cores)
        .collect::<Vec<()>>()
        .await;
    let submit_secs = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let worker = redress_cli::worker::build(
        &config,
        store.clone(),
        std::sync::Arc::new(redress_cli::system_clock),
    )
    .unwrap();
    worker.run_until_idle().await.unwrap();
    let triage_secs = t.elapsed().as_secs_f64();
    let everything = CaseQuery {
        state: StateFilter::All,
        order: CaseOrder::Oldest,
        limit: u64::MAX / 2,
        ..CaseQuery::default()
    };
    let mine = store.list_cases(inv, account.id, &everything).await.unwrap().rows;
    assert_eq!(
        mine.len(),
        a.assigned,
        "triage gave the investigator every report"
    );

    // Worked on through the portal, a few cases at once.
    let t = Instant::now();
    let html = c
        .get(format!("{base}/cases"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = token(&html);
    futures_util::stream::iter(mine.iter().enumerate())
        .map(|(i, listed)| {
            let case_ref = listed.case.case_ref.to_string();
            let (c, base, csrf) = (&c, &base, &csrf);
            async move { work_on(c, base, csrf, &case_ref, i).await }
        })
        .buffer_unordered(2 * cores)
        .collect::<Vec<()>>()
        .await;
    let worked_secs = t.elapsed().as_secs_f64();
    let mine = store.list_cases(inv, account.id, &everything).await.unwrap().rows;
    let now = redress_cli::system_clock();
    let ids: Vec<(String, CaseState)> = mine
        .iter()
        .map(|l| (l.case.id.to_string(), l.case.state))
        .collect();
    spread_in_time(&db, &ids, now).await;
    settle(&store, &db).await;
    let mut states: HashMap<String, usize> = HashMap::new();
    let mut priorities: HashMap<String, usize> = HashMap::new();
    for l in &mine {
        *states.entry(l.case.state.to_string()).or_default() += 1;
        let p = l
            .case
            .priority
            .map_or_else(|| "none".to_owned(), |p| p.to_string());
        *priorities.entry(p).or_default() += 1;
    }
    let mut states: Vec<_> = states.into_iter().collect();
    states.sort();
    let mut priorities: Vec<_> = priorities.into_iter().collect();
    priorities.sort();
    println!(
        "seeded {} cases for the investigator: submitted {submit_secs:.1} s, triaged {triage_secs:.1} s, \
         worked on through the portal {worked_secs:.1} s; states {states:?}; priorities {priorities:?}",
        a.assigned
    );

    // A: the investigator's cases alone.
    println!(
        "cases per page: {}; each list walked once to warm up, then until {} pages were asked for",
        config.portal.cases_per_page, a.pages
    );
    let alone = format!("A {} alone", a.assigned);
    measure_list(&c, &base, a.pages, &alone).await;
    measure_store(
        &store,
        inv,
        account.id,
        config.portal.cases_per_page,
        a.pages,
        &alone,
    )
    .await;
    measure_search(&c, &base, a.searches, &alone).await;

    // The other cases: copies, assigned to other investigators.
    let t = Instant::now();
    let mut others = Vec::new();
    for i in 0..a.others {
        let new = NewInvestigator {
            email: format!("other{i}@example.org"),
            recipient: redress_crypto::SecretIdentity::generate().public().to_string(),
            teams: vec!["elsewhere".into()],
            capacity: 1_000_000,
        };
        others.push(store.add_investigator(&new, now).await.unwrap().id);
    }
    let templates: Vec<String> = ids.iter().map(|(id, _)| id.clone()).collect();
    let mut refs: HashSet<String> = mine.iter().map(|l| l.case.case_ref.to_string()).collect();
    copy_cases(&db, &templates, inv, &others, a.cases - a.assigned, &mut refs).await;
    let copy_secs = t.elapsed().as_secs_f64();
    let t = Instant::now();
    settle(&store, &db).await;
    println!(
        "seeded {} other cases for {} other investigators by SQL in {copy_secs:.1} s (then {:.1} s {}); \
         all seeding {:.1} s",
        a.cases - a.assigned,
        a.others,
        t.elapsed().as_secs_f64(),
        if a.postgres.is_some() {
            "VACUUM ANALYZE"
        } else {
            "VACUUM"
        },
        seed_started.elapsed().as_secs_f64()
    );

    // B: among all the cases.
    let scale = format!("B {} of {}", a.assigned, a.cases);
    measure_list(&c, &base, a.pages, &scale).await;
    measure_store(
        &store,
        inv,
        account.id,
        config.portal.cases_per_page,
        a.pages,
        &scale,
    )
    .await;
    measure_search(&c, &base, a.searches, &scale).await;
}
