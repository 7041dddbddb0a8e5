//! A copy of the database does not order cases by arrival (ADR 0015).
//!
//! Cases arrive at different minutes of one hour while a worker triages them and runs
//! its periodic jobs (deadline scan every 5 minutes, sweep every 10) between arrivals.
//! Then, from a copy of the SQLite file alone (on PostgreSQL, through SQL), an
//! adversary's orderings are tried: the rowid of every table, the order rows are stored
//! and read in without ORDER BY, job keys and their neighbours, and every stored time.
//! None may order the cases. So that this cannot pass by looking at nothing, the same
//! checker is first shown to catch deliberately ordered control tables.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::Ordering;

use redress_domain::{CaseId, JobKind};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement};
use serde_json::Value;

use crate::helpers::*;

/// One way the data could order cases, as the checker found it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Finding {
    /// SQLite: the table has an implicit, increasing rowid.
    Rowid(String),
    /// SQLite: rows are read (stored) in an order other than that of a random key.
    NotRandomKeyOrder(String),
    /// PostgreSQL: the physical order (`ctid`) of the table's rows, or the transaction
    /// ids that wrote them (`xmin`), order the cases.
    Physical(String),
    /// A key holds a number that could be a time or a period.
    NumberInKey(String, String),
    /// A periodic job's row among report-driven rows.
    PeriodicNeighbour(String, String),
    /// A stored time finer than the hour.
    Exact(String, i64),
    /// A time column whose values differ between cases of the same hour.
    TimeDiffers(String),
    /// SQLite, in the file's bytes: a page of the table (or of its index) whose cells
    /// do not lie in key order. SQLite puts each new cell below the last, so such a
    /// page tells in what order its rows were written.
    CellOrder(String),
}

impl Finding {
    fn kind(&self) -> &'static str {
        match self {
            Self::Rowid(_) => "rowid",
            Self::NotRandomKeyOrder(_) => "read order",
            Self::Physical(_) => "physical order",
            Self::NumberInKey(..) => "number in key",
            Self::PeriodicNeighbour(..) => "periodic neighbour",
            Self::Exact(..) => "exact time",
            Self::TimeDiffers(_) => "time differs",
            Self::CellOrder(_) => "cell order",
        }
    }

    fn table(&self) -> &str {
        match self {
            Self::Rowid(t)
            | Self::NotRandomKeyOrder(t)
            | Self::Physical(t)
            | Self::NumberInKey(t, _)
            | Self::PeriodicNeighbour(t, _)
            | Self::Exact(t, _)
            | Self::TimeDiffers(t)
            | Self::CellOrder(t) => t.split('.').next().unwrap_or(t),
        }
    }
}

/// A column as the checker reads it: its name and whether it holds bytes.
struct Column {
    name: String,
    binary: bool,
    primary_key: bool,
}

struct Checker<'a> {
    db: &'a DatabaseConnection,
    backend: DbBackend,
    /// Each case's id and reference, in arrival order.
    cases: &'a [(String, String)],
}

fn is_time_column(name: &str) -> bool {
    name.ends_with("_at") || name.ends_with("_due")
}

/// What a random key of ours looks like: a UUIDv4, or 64 hex digits (a receipt lookup).
fn is_random_key(v: &str) -> bool {
    let uuid_v4 = v.len() == 36
        && v.chars().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            14 => c == '4',
            19 => matches!(c, '8' | '9' | 'a' | 'b'),
            _ => c.is_ascii_hexdigit(),
        });
    uuid_v4 || (v.len() == 64 && v.chars().all(|c| c.is_ascii_hexdigit()))
}

/// `s` without the UUIDs in it.
fn without_uuids(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while !rest.is_empty() {
        if rest.len() >= 36 && rest.is_char_boundary(36) && uuid::Uuid::parse_str(&rest[..36]).is_ok() {
            rest = &rest[36..];
            continue;
        }
        let c = rest.chars().next().unwrap();
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// True if the arrival indices, in the order met, rise or fall throughout.
fn ordered(seq: &[usize]) -> bool {
    seq.len() >= 3 && (seq.windows(2).all(|w| w[0] < w[1]) || seq.windows(2).all(|w| w[0] > w[1]))
}

impl Checker<'_> {
    async fn rows(&self, sql: String) -> Vec<Vec<Option<String>>> {
        self.db
            .query_all_raw(Statement::from_string(self.backend, sql))
            .await
            .unwrap()
            .iter()
            .map(|r| {
                let mut row = Vec::new();
                let mut i = 0;
                while let Ok(v) = r.try_get_by_index::<Option<String>>(i) {
                    row.push(v);
                    i += 1;
                }
                row
            })
            .collect()
    }

    async fn tables(&self) -> Vec<(String, bool)> {
        let sql = match self.backend {
            DbBackend::Postgres => "SELECT table_name::text, 'f' FROM information_schema.tables \
                 WHERE table_schema = 'public' ORDER BY 1"
                .to_owned(),
            _ => "SELECT name, CAST(wr AS TEXT) FROM pragma_table_list \
                 WHERE schema = 'main' AND type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY 1"
                .to_owned(),
        };
        self.rows(sql)
            .await
            .into_iter()
            .map(|r| (r[0].clone().unwrap(), r[1].as_deref() == Some("1")))
            .collect()
    }

    async fn columns(&self, table: &str) -> Vec<Column> {
        let sql = match self.backend {
            DbBackend::Postgres => format!(
                "SELECT c.column_name::text, c.data_type::text, \
                   CASE WHEN EXISTS (SELECT 1 FROM information_schema.key_column_usage k \
                     JOIN information_schema.table_constraints tc ON tc.constraint_name = k.constraint_name \
                     WHERE tc.constraint_type = 'PRIMARY KEY' AND k.table_name = c.table_name \
                       AND k.column_name = c.column_name) THEN '1' ELSE '0' END \
                 FROM information_schema.columns c WHERE c.table_name = '{table}' \
                 ORDER BY c.ordinal_position"
            ),
            _ => {
                format!("SELECT name, type, CAST(pk AS TEXT) FROM pragma_table_info('{table}') ORDER BY cid")
            }
        };
        self.rows(sql)
            .await
            .into_iter()
            .map(|r| Column {
                name: r[0].clone().unwrap(),
                binary: r[1].as_deref().is_some_and(|t| {
                    let t = t.to_lowercase();
                    t.contains("blob") || t == "bytea"
                }),
                primary_key: r[2].as_deref() != Some("0"),
            })
            .collect()
    }

    fn select(&self, (table, without_rowid): (&str, bool), columns: &[Column], tail: &str) -> String {
        let exprs: Vec<String> = columns
            .iter()
            .map(|c| match (self.backend, c.binary) {
                (DbBackend::Postgres, true) => format!("encode(\"{}\", 'hex')", c.name),
                (DbBackend::Postgres, false) => format!("\"{}\"::text", c.name),
                (_, true) => format!("hex(\"{}\")", c.name),
                (_, false) => format!("CAST(\"{}\" AS TEXT)", c.name),
            })
            .collect();
        // On SQLite, read the table itself: a covering index would otherwise answer in
        // its own order, and the table's stored order is what is being checked (index
        // pages are checked in the file's bytes). `NOT INDEXED` does not stop a covering
        // index on a WITHOUT ROWID table; naming its primary key's b-tree does.
        let source = match self.backend {
            DbBackend::Sqlite if without_rowid => {
                format!(" INDEXED BY \"sqlite_autoindex_{table}_1\"")
            }
            DbBackend::Sqlite => " NOT INDEXED".to_owned(),
            _ => String::new(),
        };
        format!("SELECT {} FROM \"{table}\"{source} {tail}", exprs.join(", "))
    }

    /// The arrival indices of the cases a row names, in column order.
    fn cases_in(&self, row: &[Option<String>]) -> Vec<usize> {
        let mut out = Vec::new();
        for v in row.iter().flatten() {
            for (i, (id, case_ref)) in self.cases.iter().enumerate() {
                if (v.contains(id.as_str()) || v.contains(case_ref.as_str())) && !out.contains(&i) {
                    out.push(i);
                }
            }
        }
        out
    }

    /// The order in which rows met in this order first name each case.
    fn induced(&self, rows: &[Vec<Option<String>>]) -> Vec<usize> {
        let mut seen = Vec::new();
        for row in rows {
            for i in self.cases_in(row) {
                if !seen.contains(&i) {
                    seen.push(i);
                }
            }
        }
        seen
    }

    /// Every way the tables could order the cases. Tables that name no case (settings,
    /// investigators, the periodic schedule, heartbeats, migrations) cannot order them.
    async fn findings(&self) -> (Vec<Finding>, BTreeSet<String>) {
        let mut findings = Vec::new();
        let mut case_tables = BTreeSet::new();
        for (table, without_rowid) in self.tables().await {
            let columns = self.columns(&table).await;
            let rows = self
                .rows(self.select((&table, without_rowid), &columns, ""))
                .await;
            if !rows.iter().any(|r| !self.cases_in(r).is_empty()) {
                continue;
            }
            case_tables.insert(table.clone());

            // Rowid, and the order rows are stored and read in.
            match self.backend {
                DbBackend::Postgres => {
                    // Where rows lie, and which transaction wrote them last.
                    let physical = self
                        .rows(self.select((&table, without_rowid), &columns, "ORDER BY ctid"))
                        .await;
                    let by_xid = self
                        .rows(self.select((&table, without_rowid), &columns, "ORDER BY xmin::text::bigint"))
                        .await;
                    if [&physical, &by_xid, &rows]
                        .iter()
                        .any(|r| ordered(&self.induced(r)))
                    {
                        findings.push(Finding::Physical(table.clone()));
                    }
                }
                _ => {
                    let rowid = self
                        .db
                        .query_all_raw(Statement::from_string(
                            self.backend,
                            format!("SELECT rowid FROM \"{table}\""),
                        ))
                        .await;
                    if !without_rowid || rowid.is_ok() {
                        findings.push(Finding::Rowid(table.clone()));
                    }
                    // Read without ORDER BY, a WITHOUT ROWID table comes in the order
                    // of its key: order carries no more than a random key does.
                    let key: Vec<&Column> = columns.iter().filter(|c| c.primary_key).collect();
                    let key_random = !key.is_empty()
                        && rows.iter().all(|r| {
                            columns
                                .iter()
                                .zip(r)
                                .filter(|(c, _)| c.primary_key)
                                .all(|(_, v)| v.as_deref().is_some_and(is_random_key))
                        });
                    let order = if key.is_empty() {
                        "rowid".to_owned()
                    } else {
                        key.iter()
                            .map(|c| format!("\"{}\"", c.name))
                            .collect::<Vec<_>>()
                            .join(", ")
                    };
                    let by_key = self
                        .rows(self.select((&table, without_rowid), &columns, &format!("ORDER BY {order}")))
                        .await;
                    if !key_random || by_key != rows {
                        findings.push(Finding::NotRandomKeyOrder(table.clone()));
                    }
                }
            }

            // Keys and neighbours: no number in a key (a period, a time), and no row
            // of a periodic job among these rows.
            for (i, c) in columns.iter().enumerate() {
                for v in rows.iter().filter_map(|r| r[i].as_deref()) {
                    if c.name == "idempotency_key" && without_uuids(v).chars().any(|ch| ch.is_ascii_digit()) {
                        findings.push(Finding::NumberInKey(table.clone(), v.to_owned()));
                    }
                    if c.name == "kind" && JobKind::parse(v).is_some_and(|k| !k.is_report_driven()) {
                        findings.push(Finding::PeriodicNeighbour(table.clone(), v.to_owned()));
                    }
                }
            }

            // Stored times: hours only, and the same for every case of the hour.
            for (i, c) in columns.iter().enumerate() {
                if !is_time_column(&c.name) {
                    continue;
                }
                let mut per_case: BTreeMap<usize, BTreeSet<Option<i64>>> = BTreeMap::new();
                for r in &rows {
                    let t = r[i].as_deref().map(|v| v.parse::<i64>().unwrap());
                    if let Some(t) = t.filter(|t| t % 3600 != 0) {
                        findings.push(Finding::Exact(format!("{table}.{}", c.name), t));
                    }
                    for case in self.cases_in(r) {
                        per_case.entry(case).or_default().insert(t);
                    }
                }
                if per_case.values().collect::<BTreeSet<_>>().len() > 1 {
                    findings.push(Finding::TimeDiffers(format!("{table}.{}", c.name)));
                }
            }
        }
        findings.sort();
        findings.dedup();
        (findings, case_tables)
    }
}

/// SQLite: the pages of the tables that name cases, and of their indexes, in b-tree
/// order: `table.index` → page bytes.
async fn case_pages(
    file: &std::path::Path,
    case_tables: &BTreeSet<String>,
) -> BTreeMap<String, Vec<Vec<u8>>> {
    let bytes = std::fs::read(file).unwrap();
    let page_size = match u16::from_be_bytes([bytes[16], bytes[17]]) {
        1 => 65_536,
        n => usize::from(n),
    };
    let db = Database::connect(format!("sqlite://{}?mode=rw", file.display()))
        .await
        .unwrap();
    let mut out: BTreeMap<String, Vec<Vec<u8>>> = BTreeMap::new();
    for table in case_tables {
        let pages = db
            .query_all_raw(Statement::from_string(
                DbBackend::Sqlite,
                format!(
                    "SELECT d.name, d.pageno FROM dbstat d JOIN sqlite_master m ON m.name = d.name \
                     WHERE m.tbl_name = '{table}' ORDER BY d.name, d.path"
                ),
            ))
            .await
            .unwrap();
        assert!(!pages.is_empty(), "dbstat lists the pages of {table}");
        for p in pages {
            let name: String = p.try_get_by_index(0).unwrap();
            let page = usize::try_from(p.try_get_by_index::<i64>(1).unwrap()).unwrap();
            // Page 1 starts with the file header, which counts changes.
            let start = (page - 1) * page_size + if page == 1 { 100 } else { 0 };
            out.entry(format!("{table}.{name}"))
                .or_default()
                .push(bytes[start..page * page_size].to_vec());
        }
    }
    db.close().await.unwrap();
    out
}

/// SQLite, in the file's bytes: whether each page of the tables that name cases is
/// exactly what `VACUUM` builds from their rows alone. SQLite puts each new cell of a
/// page below the last, so a page written to since the last rebuild tells in what order
/// its rows came; a page equal to the rebuilt one tells nothing the rows do not.
async fn cell_layout(file: &std::path::Path, case_tables: &BTreeSet<String>) -> Vec<Finding> {
    let dir = tempfile::tempdir().unwrap();
    let rebuilt = dir.path().join("rebuilt.db");
    std::fs::copy(file, &rebuilt).unwrap();
    let db = Database::connect(format!("sqlite://{}?mode=rw", rebuilt.display()))
        .await
        .unwrap();
    // As Redress's own connections do: freed space is zeroed, not left as it was.
    for sql in [
        "PRAGMA secure_delete = on",
        "VACUUM",
        "PRAGMA wal_checkpoint(TRUNCATE)",
    ] {
        db.execute_unprepared(sql).await.unwrap();
    }
    db.close().await.unwrap();
    let canonical = case_pages(&rebuilt, case_tables).await;
    let actual = case_pages(file, case_tables).await;
    assert_eq!(
        canonical.keys().collect::<Vec<_>>(),
        actual.keys().collect::<Vec<_>>()
    );
    actual
        .into_iter()
        .filter(|(name, pages)| canonical.get(name) != Some(pages))
        .map(|(name, _)| Finding::CellOrder(name))
        .collect()
}

async fn submit(app: &TestApp, i: usize) -> (String, String) {
    // Answers of one length, so nothing but order and time could tell cases apart.
    let res = app
        .api_submit(
            &good_answers(&format!("Report {i:02}: the implant phoned home again.")),
            &[],
        )
        .await;
    assert_eq!(res.status(), 201);
    let case_ref = res.json::<Value>().await.unwrap()["case_ref"]
        .as_str()
        .unwrap()
        .to_owned();
    (app.case(&case_ref).await.id.to_string(), case_ref)
}

/// The frames of the WAL file's current generation: (page, commits here).
fn wal_frames(wal: &[u8]) -> Vec<(u32, bool)> {
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    if wal.len() < 32 {
        return Vec::new();
    }
    let page_size = be(&wal[8..12]) as usize;
    let salts = &wal[16..24];
    let mut frames = Vec::new();
    let mut at = 32;
    while at + 24 + page_size <= wal.len() && &wal[at + 8..at + 16] == salts {
        frames.push((be(&wal[at..at + 4]), be(&wal[at + 4..at + 8]) != 0));
        at += 24 + page_size;
    }
    frames
}

/// What an adversary copies: the SQLite file, after a checkpoint has emptied the WAL
/// into it. Returns the copy (in a folder of its own).
async fn copy_after_checkpoint(app: &TestApp) -> (tempfile::TempDir, std::path::PathBuf) {
    let live = app.dir.path().join("redress.db");
    let wal = app.dir.path().join("redress.db-wal");
    // Before a checkpoint the WAL holds page images of the last transactions in the
    // order they were written (no times, but an order, and heartbeat and schedule
    // pages between them); left to SQLite's defaults it held all 87 of an earlier
    // version of this test's. Redress checkpoints every commit and cuts the WAL back
    // when a later one restarts it, so only the last one or two are there.
    let frames = wal_frames(&std::fs::read(&wal).unwrap_or_default());
    let commits = frames.iter().filter(|(_, commit)| *commit).count();
    assert!(commits <= 2, "the WAL holds {commits} transactions: {frames:?}");
    let admin = Database::connect(&app.config.database.url).await.unwrap();
    let row = admin
        .query_one_raw(Statement::from_string(
            DbBackend::Sqlite,
            "PRAGMA wal_checkpoint(TRUNCATE)".to_owned(),
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        row.try_get_by_index::<i64>(0).unwrap(),
        0,
        "checkpoint not blocked"
    );
    assert_eq!(std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0), 0);
    admin.close().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy.db");
    std::fs::copy(&live, &copy).unwrap();
    (dir, copy)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_copy_of_the_database_does_not_order_cases_by_arrival() {
    let app = TestApp::spawn().await;
    let postgres = app.config.database.url.starts_with("postgres");
    let hour = redress_domain::hour_floor(app.clock.load(Ordering::SeqCst));
    app.clock.store(hour + 60, Ordering::SeqCst);
    app.investigator("ana@example.org", &["mobile"], 100).await;
    // No mail server: every notice fails and waits for the next hour, so stored
    // retries are in the copy too.
    let worker = app.worker("w1", None);
    worker.run_until_idle().await.unwrap();

    let mut cases = Vec::new();
    for i in 0..10 {
        // A little over 5 minutes apart: a deadline scan and a compaction between every
        // two cases, a sweep between most, all within the hour.
        app.advance(5 * 60 + 13);
        cases.push(submit(&app, i).await);
        let ran = worker.run_until_idle().await.unwrap();
        assert!(
            ran.contains(&redress_worker::Ran::Done(JobKind::TriageCase)),
            "{ran:?}"
        );
        assert!(
            ran.contains(&redress_worker::Ran::Done(JobKind::DeadlineScan)),
            "periodic jobs ran between arrivals: {ran:?}"
        );
    }
    assert!(app.clock.load(Ordering::SeqCst) < hour + 3600);
    let periodic_runs: Vec<_> = app.store.jobs().await.unwrap();
    assert!(
        periodic_runs
            .iter()
            .any(|j| j.kind == JobKind::SweepBlobs && j.run_at > hour + 60)
    );

    // Until the next compaction, the last case's cells lie where SQLite put them: below
    // the others in each page, in the order written. The test first copies the file as
    // it is now, as the control for the cell-layout check; then lets the compaction
    // run, as it does every five minutes, and copies the file again.
    let before_compaction = if postgres {
        None
    } else {
        Some(copy_after_checkpoint(&app).await)
    };
    app.advance(5 * 60);
    let ran = worker.run_until_idle().await.unwrap();
    assert!(
        ran.contains(&redress_worker::Ran::Done(JobKind::CompactDatabase)),
        "{ran:?}"
    );
    assert!(app.clock.load(Ordering::SeqCst) < hour + 3600);

    let after = if postgres {
        None
    } else {
        Some(copy_after_checkpoint(&app).await)
    };
    let db = match &after {
        None => Database::connect(&app.config.database.url).await.unwrap(),
        Some((_, copy)) => Database::connect(format!("sqlite://{}?mode=rw", copy.display()))
            .await
            .unwrap(),
    };
    let backend = db.get_database_backend();
    let checker = Checker {
        db: &db,
        backend,
        cases: &cases,
    };

    let (findings, case_tables) = checker.findings().await;
    for t in [
        "cases",
        "key_wraps",
        "receipts",
        "case_objects",
        "jobs",
        "case_assignments",
        "case_fingerprints",
        "case_links",
        "outbox",
    ] {
        assert!(case_tables.contains(t), "{t} was looked at: {case_tables:?}");
    }
    for t in ["periodic_jobs", "heartbeats"] {
        assert!(!case_tables.contains(t), "{t} names no case");
    }
    // The file's layout, before the control tables below change it.
    let layouts = match (&before_compaction, &after) {
        (Some((_, early)), Some((_, late))) => Some((
            cell_layout(early, &case_tables).await,
            cell_layout(late, &case_tables).await,
        )),
        _ => None,
    };

    // First the controls: the same checker on deliberately ordered tables finds each
    // kind of ordering it tries.
    let ids: Vec<&str> = cases.iter().map(|(id, _)| id.as_str()).collect();
    let (text, blob_key) = if postgres {
        ("text", "")
    } else {
        ("TEXT", " WITHOUT ROWID")
    };
    for sql in [
        format!("CREATE TABLE control_insertion (case_id {text})"),
        format!("CREATE TABLE control_keyed (n integer PRIMARY KEY, case_id {text}){blob_key}"),
        format!(
            "CREATE TABLE control_times (id {text} PRIMARY KEY, case_id {text}, seen_at bigint){blob_key}"
        ),
        format!(
            "CREATE TABLE control_jobs (id {text} PRIMARY KEY, kind {text}, idempotency_key {text}, \
             payload {text}){blob_key}"
        ),
    ] {
        db.execute_unprepared(&sql).await.unwrap();
    }
    for (n, id) in ids.iter().enumerate() {
        let minute = hour + 60 + 313 * (n as i64 + 1);
        for sql in [
            format!("INSERT INTO control_insertion VALUES ('{id}')"),
            format!("INSERT INTO control_keyed VALUES ({n}, '{id}')"),
            format!(
                "INSERT INTO control_times VALUES ('{}', '{id}', {minute})",
                CaseId::random()
            ),
            format!(
                "INSERT INTO control_jobs VALUES ('{}', 'triage_case', 'triage_case:{id}', '{{}}')",
                CaseId::random()
            ),
            format!(
                "INSERT INTO control_jobs VALUES ('{}', 'deadline_scan', 'deadline_scan:{}', '{{}}')",
                CaseId::random(),
                minute / 300
            ),
        ] {
            db.execute_unprepared(&sql).await.unwrap();
        }
    }
    let (with_controls, _) = checker.findings().await;
    let caught: BTreeSet<(&str, &str)> = with_controls
        .iter()
        .filter(|f| f.table().starts_with("control_"))
        .map(|f| (f.table(), f.kind()))
        .collect();
    let mut expected = vec![
        ("control_times", "exact time"),
        ("control_times", "time differs"),
        ("control_jobs", "number in key"),
        ("control_jobs", "periodic neighbour"),
    ];
    if postgres {
        expected.push(("control_insertion", "physical order"));
        expected.push(("control_keyed", "physical order"));
    } else {
        expected.push(("control_insertion", "rowid"));
        expected.push(("control_insertion", "read order"));
        expected.push(("control_keyed", "read order"));
    }
    for e in &expected {
        assert!(
            caught.contains(e),
            "the checker missed {e:?} in {with_controls:#?}"
        );
    }
    // And only the controls are new.
    let real: Vec<_> = with_controls
        .into_iter()
        .filter(|f| !f.table().starts_with("control_"))
        .collect();
    assert_eq!(real, findings);

    // Then the real copy.
    if postgres {
        // What SQL still sees on PostgreSQL (ADR 0015): rows are stored in the order
        // they were written, so physical order orders cases among themselves; but no
        // periodic row shares their tables, no key holds a time, no time is finer than
        // the hour or differs between them.
        assert!(
            findings.iter().all(|f| matches!(f, Finding::Physical(_))),
            "{findings:#?}"
        );
        eprintln!("PostgreSQL physical order (expected, ADR 0015): {findings:?}");
    } else {
        assert_eq!(findings, [], "orderings found in the copy");
        let (before, after) = layouts.unwrap();
        // The page check's control: before the compaction it sees the last hand-over
        // (the compaction ran after that case's intake, before its triage). In any one
        // table a newest row whose random key happens to sort last sits where VACUUM
        // would put it too, so the control asks for the tables together: each case
        // writes rows to all of them, and all of them hiding that is vanishingly rare.
        let seen: Vec<&str> = [
            "cases",
            "key_wraps",
            "case_objects",
            "jobs",
            "case_assignments",
            "outbox",
        ]
        .into_iter()
        .filter(|table| before.iter().any(|f| f.table() == *table))
        .collect();
        assert!(
            seen.len() >= 2,
            "the page check sees the writes since the last compaction: {before:?}"
        );
        assert_eq!(after, [], "pages laid out by their history after the compaction");
    }
}
