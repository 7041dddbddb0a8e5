//! m0004 on a data folder made by an earlier version: everything is kept, nothing is
//! ordered, and foreign keys still hold. Runs on PostgreSQL when
//! `REDRESS_TEST_DATABASE_URL` is set.

use redress_domain::{
    CaseRef, Holder, HolderKind, JobKind, JobState, ObjectId, ObjectKind, Priority, SealedTo,
};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use sea_orm_migration::MigratorTrait;

use crate::migration::Migrator;
use crate::test_support::TestDatabase;
use crate::*;

const T: i64 = 1_700_000_000 + 17 * 60 + 23;

async fn exec(store: &Store, sql: &str) {
    store
        .connection()
        .execute_raw(Statement::from_string(store.backend(), sql.to_owned()))
        .await
        .unwrap();
}

async fn count(store: &Store, sql: &str) -> i64 {
    store
        .connection()
        .query_one_raw(Statement::from_string(store.backend(), sql.to_owned()))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index::<i64>(0)
        .unwrap()
}

async fn strings(store: &Store, sql: &str) -> Vec<String> {
    store
        .connection()
        .query_all_raw(Statement::from_string(store.backend(), sql.to_owned()))
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get_by_index::<String>(0).unwrap())
        .collect()
}

/// What an earlier version left: a handed-over case and one waiting for triage, their
/// jobs with exact times (one running under a lease), periodic history rows.
///
/// Written by today's store code, which also forgets upload rows when a case commits
/// and counts a handed-over case's product: the `uploads` table (m0006) and the
/// `product_counts` table (m0014) are made here as their migrations make them, and the
/// migrations, finding them, leave them.
async fn old_data_folder(store: &Store) -> (redress_domain::CaseId, redress_domain::CaseId) {
    let without_rowid = if store.backend() == DbBackend::Sqlite {
        " WITHOUT ROWID"
    } else {
        ""
    };
    exec(
        store,
        &format!(
            "CREATE TABLE uploads (object_id varchar NOT NULL PRIMARY KEY, \
             holder varchar NOT NULL){without_rowid}"
        ),
    )
    .await;
    exec(
        store,
        &format!(
            "CREATE TABLE product_counts (product varchar NOT NULL PRIMARY KEY, \
             cases bigint NOT NULL){without_rowid}"
        ),
    )
    .await;
    let mut ids = Vec::new();
    for _ in 0..2 {
        let id = redress_domain::CaseId::random();
        let new = NewCase {
            id,
            questionnaire_version: 1,
            received_at: T - T % 3600,
            case_recipient: "age1case".into(),
            thread_recipient: "age1thread".into(),
            wraps: vec![
                NewWrap {
                    holder: Holder::Recovery,
                    holder_recipient: "age1recovery".into(),
                    ciphertext: vec![1, 2, 3],
                },
                NewWrap {
                    holder: Holder::Triage,
                    holder_recipient: "age1triage".into(),
                    ciphertext: vec![4],
                },
            ],
            objects: vec![NewObject {
                id: ObjectId::random(),
                kind: ObjectKind::Submission,
                sealed_to: SealedTo::Thread,
                ciphertext_bytes: 42,
            }],
            receipt: NewReceipt {
                lookup: rand::random(),
                kdf_salt: vec![9; 16],
                kdf_m_kib: 8,
                kdf_t: 1,
                kdf_p: 1,
            },
            jobs: vec![NewJob {
                kind: JobKind::TriageCase,
                idempotency_key: format!("triage_case:{id}"),
                payload: format!(r#"{{"case_id":"{id}"}}"#),
                run_at: T,
                max_attempts: 8,
            }],
        };
        store
            .insert_case(&new, || CaseRef::from_random(rand::random()))
            .await
            .unwrap();
        ids.push(id);
    }
    let ana = store
        .add_investigator(
            &NewInvestigator {
                email: "ana@example.org".into(),
                recipient: "age1ana".into(),
                teams: vec!["mobile".into()],
                capacity: 5,
            },
            T,
        )
        .await
        .unwrap();
    let commit = TriageCommit {
        priority: Priority::P2,
        ack_due: T - T % 3600 + 7 * 86_400,
        product: "mobile-implant".to_owned(),
        objects: vec![],
        wraps: vec![NewWrap {
            holder: Holder::Investigator(ana.id),
            holder_recipient: "age1ana".into(),
            ciphertext: vec![5],
        }],
        assign_to: vec![ana.id],
        fingerprints: vec![("customer".into(), "ab12".into())],
        links: vec![(ids[1], vec!["customer".into()])],
        emails: vec![NewEmail {
            idempotency_key: format!("assigned:{}:{}", ids[0], ana.id),
            recipient: ana.email.clone(),
            notice: "{}".into(),
            message_id: "<m@x>".into(),
        }],
        jobs: vec![],
    };
    assert!(store.commit_triage(ids[0], &commit, T).await.unwrap());
    store
        .setting_or_init("receipt_salt", || vec![7; 16])
        .await
        .unwrap();
    // As the earlier version wrote them: the email job exact, the second triage running
    // under a lease, and one row per period of each periodic job.
    exec(
        store,
        &format!(
            "INSERT INTO jobs (id, kind, idempotency_key, payload, state, attempts, max_attempts, \
             run_at, leased_by, lease_until, last_error, created_at, updated_at) VALUES \
             ('{}', 'send_email', 'send_email:assigned:{}:{}', '{{}}', 'queued', 1, 10, {}, NULL, NULL, \
              'email is not configured', {}, {})",
            redress_domain::JobId::random(),
            ids[0],
            ana.id,
            T + 5,
            T - T % 3600,
            T - T % 3600
        ),
    )
    .await;
    exec(
        store,
        &format!(
            "UPDATE jobs SET state = 'running', leased_by = 'worker-old', lease_until = {}, \
             attempts = 1, updated_at = {} WHERE idempotency_key = 'triage_case:{}'",
            T + 300,
            T,
            ids[1]
        ),
    )
    .await;
    for (i, kind) in ["deadline_scan", "sweep_blobs", "deadline_scan"]
        .iter()
        .enumerate()
    {
        exec(
            store,
            &format!(
                "INSERT INTO jobs (id, kind, idempotency_key, payload, state, attempts, max_attempts, \
                 run_at, leased_by, lease_until, last_error, created_at, updated_at) VALUES \
                 ('{}', '{kind}', '{kind}:{}', '{{}}', 'done', 1, 3, {}, NULL, NULL, NULL, {}, {})",
                redress_domain::JobId::random(),
                5_666_000 + i,
                T - 600 + i as i64,
                T - T % 3600,
                T - T % 3600,
            ),
        )
        .await;
    }
    (ids[0], ids[1])
}

#[tokio::test]
async fn an_earlier_data_folder_is_rebuilt_without_row_order_and_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDatabase::create(dir.path()).await;
    let store = Store::connect(db.url()).await.unwrap();
    Migrator::up(store.connection(), Some(3)).await.unwrap();
    let (handed_over, waiting) = old_data_folder(&store).await;
    let before: Vec<i64> = {
        let mut v = Vec::new();
        for t in TABLES {
            v.push(count(&store, &format!("SELECT COUNT(*) FROM {t}")).await);
        }
        v
    };

    store.migrate().await.unwrap();
    store.migrate().await.unwrap(); // nothing left to do

    // Every row kept, but the periodic history.
    for (t, n) in TABLES.iter().zip(before) {
        let expect = if *t == "jobs" { n - 3 } else { n };
        assert_eq!(
            count(&store, &format!("SELECT COUNT(*) FROM {t}")).await,
            expect,
            "{t}"
        );
    }
    let case = store.case_by_id(handed_over).await.unwrap().unwrap();
    assert_eq!((case.triaged, case.priority), (true, Some(Priority::P2)));
    assert_eq!(
        store
            .wraps(handed_over, HolderKind::Investigator)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(store.wrap(waiting, Holder::Triage).await.unwrap().is_some());
    assert_eq!(store.links(handed_over).await.unwrap().len(), 1);
    assert_eq!(store.assignees(handed_over).await.unwrap().len(), 1);
    assert_eq!(store.emails().await.unwrap().len(), 1);
    assert_eq!(store.objects(waiting).await.unwrap().len(), 1);

    // Jobs: report-driven only, every time cut to the hour, the old lease gone so the
    // running triage is free for the next worker.
    let jobs = store.jobs().await.unwrap();
    assert!(jobs.iter().all(|j| j.kind.is_report_driven()), "{jobs:?}");
    for j in &jobs {
        for t in [j.run_at, j.created_at, j.updated_at] {
            assert_eq!(t % 3600, 0, "{j:?}");
        }
    }
    store.beat("new", 30, T + 10).await.unwrap();
    let mut claimed = 0;
    while store.claim("new", T + 10).await.unwrap().is_some() {
        claimed += 1;
    }
    assert_eq!(claimed, 3, "two triages and the email, the running one included");
    let running = store.jobs_in_state(JobState::Running).await.unwrap();
    assert!(
        running.iter().all(|j| j.leased_by.as_deref() == Some("new")),
        "{running:?}"
    );

    if store.backend() == DbBackend::Sqlite {
        // No Redress table has a rowid; only sea-orm's bookkeeping keeps one.
        let with_rowid = strings(
            &store,
            "SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table' \
             AND wr = 0 AND name NOT LIKE 'sqlite_%' ORDER BY name",
        )
        .await;
        assert_eq!(with_rowid, ["seaql_migrations"]);
        assert_eq!(
            count(&store, "SELECT COUNT(*) FROM pragma_foreign_key_check").await,
            0
        );
        // Every connection the pool hands out enforces foreign keys again, including
        // any made after the migration's own connection was closed.
        let pool = store.connection().get_sqlite_connection_pool();
        let mut held = Vec::new();
        for _ in 0..pool.options().get_max_connections() {
            let mut conn = pool.acquire().await.unwrap();
            let on: i64 = sea_orm::sqlx::query_scalar("PRAGMA foreign_keys")
                .fetch_one(&mut *conn)
                .await
                .unwrap();
            assert_eq!(on, 1);
            held.push(conn);
        }
        drop(held);
    } else {
        let columns = strings(
            &store,
            "SELECT column_name::text FROM information_schema.columns WHERE table_name = 'jobs'",
        )
        .await;
        assert!(!columns.iter().any(|c| c == "lease_until"), "{columns:?}");
    }

    // The rebuilt tables still cascade from their case.
    exec(&store, &format!("DELETE FROM cases WHERE id = '{handed_over}'")).await;
    for t in [
        "key_wraps",
        "case_objects",
        "receipts",
        "case_assignments",
        "case_fingerprints",
    ] {
        assert_eq!(
            count(
                &store,
                &format!("SELECT COUNT(*) FROM {t} WHERE case_id = '{handed_over}'")
            )
            .await,
            0,
            "{t}"
        );
    }
    assert_eq!(count(&store, "SELECT COUNT(*) FROM case_links").await, 0);

    // And it can be undone and done again.
    Migrator::down(store.connection(), Some(1)).await.unwrap();
    store.migrate().await.unwrap();
    assert!(store.wrap(waiting, Holder::Triage).await.unwrap().is_some());
}

const TABLES: [&str; 11] = [
    "settings",
    "cases",
    "key_wraps",
    "receipts",
    "case_objects",
    "jobs",
    "investigators",
    "case_assignments",
    "case_fingerprints",
    "case_links",
    "outbox",
];

#[tokio::test]
async fn m0005_drops_links_made_on_broad_features_alone_and_indexes_by_case() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDatabase::create(dir.path()).await;
    let store = Store::connect(db.url()).await.unwrap();
    Migrator::up(store.connection(), Some(3)).await.unwrap();
    let (handed_over, waiting) = old_data_folder(&store).await;
    // The earlier rule linked on two broad features; the pair is stored the other way
    // round so both links can coexist.
    let (first, second) = crate::links::ordered(handed_over, waiting);
    exec(
        &store,
        &format!(
            "INSERT INTO case_links (id, case_a, case_b, reasons) VALUES \
             ('{}', '{second}', '{first}', 'country,product')",
            uuid::Uuid::new_v4()
        ),
    )
    .await;
    Migrator::up(store.connection(), Some(1)).await.unwrap();
    assert_eq!(count(&store, "SELECT COUNT(*) FROM case_links").await, 2);

    store.migrate().await.unwrap();
    let links = store.links(handed_over).await.unwrap();
    assert_eq!(links, [(waiting, vec!["customer".to_owned()])]);
    let columns = if store.backend() == DbBackend::Sqlite {
        strings(
            &store,
            "SELECT name FROM pragma_index_info('case_fingerprints_by_case') ORDER BY seqno",
        )
        .await
    } else {
        strings(
            &store,
            "SELECT a.attname::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
             JOIN LATERAL unnest(i.indkey) WITH ORDINALITY k(attnum, n) ON true \
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum \
             WHERE c.relname = 'case_fingerprints_by_case' ORDER BY k.n",
        )
        .await
    };
    assert_eq!(columns, ["kind", "fingerprint", "case_id"]);
    // Unique: a case holds each fingerprint once, which bounded counts rely on.
    let again = format!(
        "INSERT INTO case_fingerprints (id, case_id, kind, fingerprint) \
         VALUES ('{}', '{handed_over}', 'customer', 'ab12')",
        uuid::Uuid::new_v4()
    );
    assert!(
        store
            .connection()
            .execute_raw(Statement::from_string(store.backend(), again))
            .await
            .is_err(),
        "a second copy of a case's fingerprint is refused"
    );

    Migrator::down(store.connection(), Some(1)).await.unwrap();
    store.migrate().await.unwrap();
    assert_eq!(store.links(handed_over).await.unwrap().len(), 1);
}
