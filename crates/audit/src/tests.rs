//! Tamper tests: each way of rewriting the log is caught, at the entry where it
//! happened. They run on PostgreSQL when `REDRESS_TEST_DATABASE_URL` is set.

use redress_domain::AuditAction;
use redress_store::Store;
use redress_store::test_support::TestDatabase;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};

use super::*;

const T0: i64 = 1_700_000_000;

/// An empty, migrated database.
async fn fresh_store() -> (tempfile::TempDir, TestDatabase, Store) {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDatabase::create(dir.path()).await;
    let store = Store::connect(db.url()).await.unwrap();
    store.migrate().await.unwrap();
    (dir, db, store)
}

/// A log of five entries, and a raw connection to rewrite it with.
async fn five_entries() -> (
    tempfile::TempDir,
    TestDatabase,
    Store,
    DatabaseConnection,
    Vec<AuditRecord>,
) {
    let (dir, db, store) = fresh_store().await;
    let mut records = Vec::new();
    for (i, action) in [
        AuditAction::Invitation,
        AuditAction::Setup,
        AuditAction::Login,
        AuditAction::FailedLogin,
        AuditAction::Logout,
    ]
    .into_iter()
    .enumerate()
    {
        let entry = NewEntry {
            actor: "account:1",
            action,
            target: Some("account:7"),
            at: T0 + i as i64 * 61,
            timing: Timing::Exact,
        };
        records.push(record(&store, &entry).await.unwrap());
    }
    let raw = Database::connect(db.url()).await.unwrap();
    (dir, db, store, raw, records)
}

async fn sql(raw: &DatabaseConnection, statement: &str) {
    raw.execute_unprepared(statement).await.unwrap();
}

fn broken_at(result: Result<Verified, AuditError>) -> i64 {
    match result {
        Err(AuditError::Broken { seq, .. }) => seq,
        other => panic!("expected a broken chain, got {other:?}"),
    }
}

#[tokio::test]
async fn an_intact_log_verifies_and_its_head_is_the_last_hash() {
    let (_dir, _db, store, _raw, records) = five_entries().await;
    let verified = verify(&store, None).await.unwrap();
    assert_eq!(verified.entries, 5);
    assert_eq!(verified.head.as_deref(), Some(records[4].hash.as_str()));
    assert_eq!(
        head(&store).await.unwrap().as_deref(),
        Some(records[4].hash.as_str())
    );
    assert_eq!(records[0].prev_hash, GENESIS);
    for pair in records.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].hash);
    }
    // A recorded head (any entry's) is found in the chain.
    verify(&store, Some(&records[2].hash)).await.unwrap();
    verify(&store, Some(&records[4].hash.to_uppercase()))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_changed_field_breaks_the_chain_at_that_entry() {
    for change in [
        "UPDATE audit_log SET action = 'logout' WHERE seq = 3".to_owned(),
        "UPDATE audit_log SET at = at + 1 WHERE seq = 3".to_owned(),
        "UPDATE audit_log SET actor = 'admin:2' WHERE seq = 3".to_owned(),
        "UPDATE audit_log SET target = NULL WHERE seq = 3".to_owned(),
    ] {
        let (_dir, _db, store, raw, _) = five_entries().await;
        sql(&raw, &change).await;
        assert_eq!(broken_at(verify(&store, None).await), 3, "{change}");
    }
}

#[tokio::test]
async fn a_removed_entry_is_caught_in_the_middle_and_at_the_start() {
    let (_dir, _db, store, raw, _) = five_entries().await;
    sql(&raw, "DELETE FROM audit_log WHERE seq = 2").await;
    assert_eq!(broken_at(verify(&store, None).await), 2);

    let (_dir, _db, store, raw, _) = five_entries().await;
    sql(&raw, "DELETE FROM audit_log WHERE seq = 1").await;
    assert_eq!(broken_at(verify(&store, None).await), 1);
}

#[tokio::test]
async fn an_inserted_entry_with_a_valid_hash_of_its_own_is_caught() {
    let (_dir, _db, store, raw, records) = five_entries().await;
    // Make room after entry 2 and forge an entry 3 chained to entry 2, hashed right: the
    // old entry 3 (now 4) no longer follows it.
    sql(&raw, "UPDATE audit_log SET seq = seq + 10 WHERE seq > 2").await;
    sql(&raw, "UPDATE audit_log SET seq = seq - 9 WHERE seq > 10").await;
    let forged = entry_hash(3, T0 + 100, "admin:1", "unlock", None, &records[1].hash).unwrap();
    sql(
        &raw,
        &format!(
            "INSERT INTO audit_log (seq, at, actor, action, target, prev_hash, hash) \
             VALUES (3, {}, 'admin:1', 'unlock', NULL, '{}', '{forged}')",
            T0 + 100,
            records[1].hash
        ),
    )
    .await;
    assert_eq!(broken_at(verify(&store, None).await), 4);
}

#[tokio::test]
async fn reordered_entries_are_caught() {
    let (_dir, _db, store, raw, _) = five_entries().await;
    // Swap entries 2 and 3 (their places, each keeping its content and hashes).
    sql(&raw, "UPDATE audit_log SET seq = 100 WHERE seq = 2").await;
    sql(&raw, "UPDATE audit_log SET seq = 2 WHERE seq = 3").await;
    sql(&raw, "UPDATE audit_log SET seq = 3 WHERE seq = 100").await;
    assert_eq!(broken_at(verify(&store, None).await), 2);
}

#[tokio::test]
async fn a_cut_tail_is_caught_against_a_head_recorded_earlier() {
    let (_dir, _db, store, raw, records) = five_entries().await;
    let recorded = head(&store).await.unwrap().unwrap();
    sql(&raw, "DELETE FROM audit_log WHERE seq >= 4").await;
    // What is left is a valid chain on its own...
    assert_eq!(verify(&store, None).await.unwrap().entries, 3);
    // ...but not the one whose head was recorded.
    match verify(&store, Some(&recorded)).await {
        Err(AuditError::SinceNotFound(h)) => assert_eq!(h, records[4].hash),
        other => panic!("expected the recorded head to be missing, got {other:?}"),
    }
}

#[tokio::test]
async fn entries_a_reporter_causes_keep_the_hour_and_fields_stay_one_line() {
    let (_dir, _db, store) = fresh_store().await;
    let entry = NewEntry {
        actor: "system",
        action: AuditAction::Login,
        target: None,
        at: T0 + 1234,
        timing: Timing::Hour,
    };
    assert_eq!(record(&store, &entry).await.unwrap().at, hour_floor(T0 + 1234));
    for bad in ["", "admin:1\nforged line"] {
        let e = record(
            &store,
            &NewEntry {
                actor: bad,
                ..entry.clone()
            },
        )
        .await;
        assert!(matches!(e, Err(AuditError::BadField(_))), "{bad:?}");
    }
    assert_eq!(verify(&store, None).await.unwrap().entries, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appends_from_many_tasks_at_once_make_one_chain() {
    let (_dir, _db, store) = fresh_store().await;
    let mut tasks = Vec::new();
    for i in 0..16 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let actor = format!("account:{i}");
            let entry = NewEntry {
                actor: &actor,
                action: AuditAction::Login,
                target: None,
                at: T0 + i,
                timing: Timing::Exact,
            };
            record(&store, &entry).await.map(|_| ())
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(verify(&store, None).await.unwrap().entries, 16);
}

#[tokio::test]
async fn an_entry_is_written_with_what_it_records_or_not_at_all() {
    let (_dir, _db, store) = fresh_store().await;
    let invitation = redress_store::Invitation {
        token_hash: [7; 32],
        email: "ana@example.org".into(),
        role: redress_domain::Role::Auditor,
        teams: Vec::new(),
        capacity: 0,
        expires_at: T0 + 3600,
    };
    let entry = NewEntry {
        actor: "cli",
        action: AuditAction::Invitation,
        target: Some("invitation:0707070707070707"),
        at: T0,
        timing: Timing::Exact,
    };
    // Rolled back (dropped without a commit): neither the entry nor the invitation.
    {
        let tx = store.begin_audited().await.unwrap();
        tx.add_invitation(&invitation).await.unwrap();
        append(&tx, &entry).await.unwrap();
    }
    assert!(store.invitation(&[7; 32], T0).await.unwrap().is_none());
    assert_eq!(verify(&store, None).await.unwrap().entries, 0);
    // Committed: both.
    let tx = store.begin_audited().await.unwrap();
    tx.add_invitation(&invitation).await.unwrap();
    append(&tx, &entry).await.unwrap();
    tx.commit().await.unwrap();
    assert!(store.invitation(&[7; 32], T0).await.unwrap().is_some());
    assert_eq!(verify(&store, None).await.unwrap().entries, 1);
}
