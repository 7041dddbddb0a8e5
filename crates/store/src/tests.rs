//! Store tests; they run on PostgreSQL when `REDRESS_TEST_DATABASE_URL` is set.

use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use std::time::{Duration, SystemTime};

use redress_domain::{
    COUNT_CAP, CaseId, CaseRef, DeadlineFlag, Holder, HolderKind, InvestigatorId, JobKind, JobState,
    ObjectId, ObjectKind, Priority, SealedTo,
};

use crate::test_support::{TestDatabase, commit_blob};
use crate::*;

fn new_case(objects: Vec<NewObject>) -> NewCase {
    NewCase {
        id: CaseId::random(),
        questionnaire_version: 1,
        received_at: 1_700_000_000,
        case_recipient: "age1case".into(),
        thread_recipient: "age1thread".into(),
        wraps: vec![NewWrap {
            holder: Holder::Recovery,
            holder_recipient: "age1recovery".into(),
            ciphertext: vec![1, 2, 3],
        }],
        objects,
        receipt: NewReceipt {
            lookup: rand::random(),
            kdf_salt: vec![9; 16],
            kdf_m_kib: 8,
            kdf_t: 1,
            kdf_p: 1,
        },
        jobs: vec![],
    }
}

pub(crate) async fn setup() -> (tempfile::TempDir, TestDatabase, Store, BlobStore) {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDatabase::create(dir.path()).await;
    let store = Store::connect(db.url()).await.unwrap();
    store.migrate().await.unwrap();
    store.migrate().await.unwrap(); // idempotent
    let blobs = BlobStore::folder(dir.path().join("blobs"), Access::Owner).unwrap();
    (dir, db, store, blobs)
}

#[tokio::test]
async fn a_case_is_written_whole_and_found_again() {
    let (_dir, _db, store, _blobs) = setup().await;
    let obj = ObjectId::random();
    let new = new_case(vec![NewObject {
        id: obj,
        kind: ObjectKind::Submission,
        sealed_to: SealedTo::Thread,
        ciphertext_bytes: 42,
    }]);
    let r = store
        .insert_case(&new, || CaseRef::from_random(rand::random()))
        .await
        .unwrap();
    let found = store.case_by_ref(&r).await.unwrap().unwrap();
    assert_eq!(found.id, new.id);
    assert_eq!(
        store.objects(new.id).await.unwrap(),
        [(obj, ObjectKind::Submission)]
    );
    let recovery = store.wrap(new.id, Holder::Recovery).await.unwrap().unwrap();
    assert_eq!(recovery.ciphertext, [1, 2, 3]);
    assert!(store.wrap(new.id, Holder::Triage).await.unwrap().is_none());
    assert_eq!(found.deadline_flag, DeadlineFlag::Ok);
    assert_eq!(found.priority, None);
    assert!(store.receipt(&new.receipt.lookup).await.unwrap().is_some());
}

#[tokio::test]
async fn a_failing_insert_leaves_nothing_behind() {
    let (_dir, _db, store, _blobs) = setup().await;
    let obj = ObjectId::random();
    let object = |id| NewObject {
        id,
        kind: ObjectKind::Evidence,
        sealed_to: SealedTo::Thread,
        ciphertext_bytes: 1,
    };
    // The same object id twice violates the primary key half-way through the transaction.
    let new = new_case(vec![object(obj), object(obj)]);
    assert!(
        store
            .insert_case(&new, || CaseRef::from_random(rand::random()))
            .await
            .is_err()
    );
    assert_eq!(store.case_count().await.unwrap(), 0);
    assert_eq!(store.object_count().await.unwrap(), 0);
    assert!(store.receipt(&new.receipt.lookup).await.unwrap().is_none());
}

#[tokio::test]
async fn a_colliding_reference_is_drawn_again() {
    let (_dir, _db, store, _blobs) = setup().await;
    let fixed = CaseRef::from_random([1; 5]);
    store
        .insert_case(&new_case(vec![]), || fixed.clone())
        .await
        .unwrap();
    let mut draws = vec![CaseRef::from_random([2; 5]), fixed.clone()];
    let second = store
        .insert_case(&new_case(vec![]), || draws.pop().unwrap())
        .await
        .unwrap();
    assert_eq!(second, CaseRef::from_random([2; 5]));
    assert_eq!(store.case_count().await.unwrap(), 2);
}

#[tokio::test]
async fn settings_are_created_once() {
    let (_dir, _db, store, _blobs) = setup().await;
    let a = store.setting_or_init("salt", || vec![1]).await.unwrap();
    let b = store.setting_or_init("salt", || vec![2]).await.unwrap();
    assert_eq!((a, b), (vec![1], vec![1]));
}

/// The blob stores a test runs on: the folder, and the database's when it is
/// PostgreSQL.
pub(crate) fn blob_stores(dir: &std::path::Path, store: &Store) -> Vec<BlobStore> {
    let mut stores = vec![BlobStore::folder(dir.join("blobs"), Access::Owner).unwrap()];
    if store.backend() == sea_orm::DbBackend::Postgres {
        stores.push(BlobStore::database(store).unwrap());
    }
    stores
}

async fn listed(blobs: &BlobStore) -> (Vec<ObjectId>, Vec<ObjectId>) {
    let l = blobs.list().await.unwrap();
    let mut committed: Vec<ObjectId> = l.committed.iter().map(|l| l.id).collect();
    let mut pending: Vec<ObjectId> = l.pending.iter().map(|l| l.id).collect();
    committed.sort();
    pending.sort();
    (committed, pending)
}

fn sorted(mut ids: Vec<ObjectId>) -> Vec<ObjectId> {
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sweep_removes_orphans_and_stale_pending_blobs_but_keeps_referenced_and_fresh_ones() {
    let (dir, _db, store, _) = setup().await;
    for blobs in blob_stores(dir.path(), &store) {
        sweep_on(&store, &blobs).await;
    }
}

async fn sweep_on(store: &Store, blobs: &BlobStore) {
    let backend = blobs.backend_name();
    let now = SystemTime::now();
    let unix = now.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs() as i64;
    let later = now + Duration::from_secs(7200);
    let kept = commit_blob(blobs, b"referenced").await;
    let orphan = commit_blob(blobs, b"orphan").await;
    // Two uploads in progress, each known to the database: one of a process that keeps
    // beating, one of a process that died (its heartbeat runs out).
    let mut live = blobs.begin().await.unwrap();
    std::io::Write::write_all(&mut live, b"still uploading").unwrap();
    store.begin_upload(live.id(), "intake-alive").await.unwrap();
    let mut dead = blobs.begin().await.unwrap();
    std::io::Write::write_all(&mut dead, b"its process was killed").unwrap();
    store.begin_upload(dead.id(), "intake-killed").await.unwrap();
    store.beat("intake-killed", 300, unix).await.unwrap();
    // A crashed upload nobody recorded (forgotten, as a killed process forgets), and a
    // row whose upload ended without a case.
    let crashed = blobs.begin().await.unwrap();
    let crashed_id = crashed.id();
    std::mem::forget(crashed);
    store
        .begin_upload(ObjectId::random(), "intake-alive")
        .await
        .unwrap();
    // The referenced blob was an upload too: its case's commit forgets the row.
    store.begin_upload(kept, "intake-alive").await.unwrap();
    store
        .insert_case(
            &new_case(vec![NewObject {
                id: kept,
                kind: ObjectKind::Evidence,
                sealed_to: SealedTo::Thread,
                ciphertext_bytes: 10,
            }]),
            || CaseRef::from_random(rand::random()),
        )
        .await
        .unwrap();
    assert!(!store.uploads().await.unwrap().contains(&kept));

    // Within the grace period nothing is touched; the ended upload's row is forgotten.
    store.beat("intake-alive", 300, unix).await.unwrap();
    let r = sweep_orphans(store, blobs, Duration::from_secs(3600), now)
        .await
        .unwrap();
    assert_eq!(r, SweepReport::default(), "{backend}");
    let everything = (
        sorted(vec![kept, orphan]),
        sorted(vec![live.id(), dead.id(), crashed_id]),
    );
    assert_eq!(listed(blobs).await, everything, "{backend}");
    assert_eq!(
        sorted(store.uploads().await.unwrap()),
        sorted(vec![live.id(), dead.id()]),
        "{backend}"
    );

    // Two hours later the orphan, the unrecorded crash and the dead process's upload
    // go; the referenced blob and the upload of the process still beating stay,
    // however old. Dropping the dead writer afterwards finds its blob gone, as a crash
    // would.
    store.beat("intake-alive", 300, unix + 7200).await.unwrap();
    let r = sweep_orphans(store, blobs, Duration::from_secs(3600), later)
        .await
        .unwrap();
    assert_eq!(
        r,
        SweepReport {
            orphan_blobs: 1,
            stale_temps: 2
        },
        "{backend}"
    );
    assert_eq!(listed(blobs).await, (vec![kept], vec![live.id()]), "{backend}");
    assert_eq!(store.uploads().await.unwrap(), [live.id()], "{backend}");
    drop(dead);
    drop(live);
    // The database backend removes a dropped blob in the background.
    for _ in 0..100 {
        if listed(blobs).await.1.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(listed(blobs).await, (vec![kept], vec![]), "{backend}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blob_reads_back_whole_on_every_backend_and_a_damaged_one_is_refused() {
    let (dir, _db, store, _) = setup().await;
    // Several pieces and a partial last one; bytes that differ by position, so a piece
    // read out of order would show.
    let bytes: Vec<u8> = (0..(5 * 65_536 + 1234)).map(|i: u32| (i % 251) as u8).collect();
    for blobs in blob_stores(dir.path(), &store) {
        let backend = blobs.backend_name();
        let id = commit_blob(&blobs, &bytes).await;
        assert_eq!(blobs.read_all(id).await.unwrap(), bytes, "{backend}");
        let empty = commit_blob(&blobs, b"").await;
        assert_eq!(blobs.read_all(empty).await.unwrap(), b"", "{backend}");

        // What is not committed cannot be read.
        let pending = blobs.begin().await.unwrap();
        let e = blobs.read_all(pending.id()).await.unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::NotFound, "{backend}");
        let e = blobs.read_all(ObjectId::random()).await.unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::NotFound, "{backend}");
        drop(pending);

        blobs.remove(id).await.unwrap();
        blobs.remove(id).await.unwrap();
        assert!(blobs.read_all(id).await.is_err(), "{backend}");
    }
    if store.backend() != sea_orm::DbBackend::Postgres {
        return;
    }
    let blobs = BlobStore::database(&store).unwrap();
    let db = store.connection();
    let chunks = |id: ObjectId| {
        crate::entity::blob_chunk::Entity::find()
            .filter(crate::entity::blob_chunk::Column::ObjectId.eq(id.to_string()))
            .order_by_asc(crate::entity::blob_chunk::Column::Seq)
            .all(db)
    };
    // The pieces in order are the object, byte for byte (what `age` would open).
    let id = commit_blob(&blobs, &bytes).await;
    let pieces = chunks(id).await.unwrap();
    assert_eq!(pieces.len(), 6, "five full pieces and the rest");
    assert_eq!(
        pieces.iter().flat_map(|c| c.bytes.clone()).collect::<Vec<_>>(),
        bytes
    );
    // A missing piece and a shortened last piece are each an error, never short data.
    crate::entity::blob_chunk::Entity::delete_by_id((id.to_string(), 2))
        .exec(db)
        .await
        .unwrap();
    let e = blobs.read_all(id).await.unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
    let id = commit_blob(&blobs, &bytes).await;
    let mut last = chunks(id).await.unwrap().pop().unwrap();
    last.bytes.truncate(10);
    crate::entity::blob_chunk::ActiveModel::from(last)
        .reset_all()
        .update(db)
        .await
        .unwrap();
    let e = blobs.read_all(id).await.unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
    // Removing takes every piece with it.
    blobs.remove(id).await.unwrap();
    assert!(chunks(id).await.unwrap().is_empty());
    // The database backend is PostgreSQL's alone; there is no disk of its own to watch.
    assert_eq!(blobs.available_bytes().unwrap(), None);
}

fn job(key: &str) -> NewJob {
    NewJob {
        kind: JobKind::TriageCase,
        idempotency_key: key.into(),
        payload: "{}".into(),
        run_at: 1000,
        max_attempts: 3,
    }
}

#[tokio::test]
async fn a_case_and_its_triage_job_commit_together() {
    let (_dir, _db, store, _blobs) = setup().await;
    let mut new = new_case(vec![]);
    new.jobs = vec![job(&format!("triage:{}", new.id))];
    store
        .insert_case(&new, || CaseRef::from_random(rand::random()))
        .await
        .unwrap();
    assert_eq!(
        store
            .job_count(JobKind::TriageCase, JobState::Queued)
            .await
            .unwrap(),
        1
    );

    let obj = ObjectId::random();
    let object = |id| NewObject {
        id,
        kind: ObjectKind::Evidence,
        sealed_to: SealedTo::Thread,
        ciphertext_bytes: 1,
    };
    let mut broken = new_case(vec![object(obj), object(obj)]);
    broken.jobs = vec![job(&format!("triage:{}", broken.id))];
    assert!(
        store
            .insert_case(&broken, || CaseRef::from_random(rand::random()))
            .await
            .is_err()
    );
    assert_eq!(
        store
            .job_count(JobKind::TriageCase, JobState::Queued)
            .await
            .unwrap(),
        1,
        "no job for a case that did not commit"
    );
}

#[tokio::test]
async fn investigators_are_unique_by_email() {
    let (_dir, _db, store, _blobs) = setup().await;
    let new = NewInvestigator {
        email: "ana@example.org".into(),
        recipient: "age1x".into(),
        teams: vec!["mobile".into(), "europe".into()],
        capacity: 5,
    };
    let a = store.add_investigator(&new, 1).await.unwrap();
    assert_eq!(a.teams, ["mobile", "europe"]);
    assert!(matches!(
        store.add_investigator(&new, 2).await,
        Err(StoreError::Duplicate(_))
    ));
    assert_eq!(store.investigators().await.unwrap(), [a]);
}

#[tokio::test]
async fn triage_commits_once_and_removes_the_triage_wrap() {
    let (_dir, _db, store, _blobs) = setup().await;
    let mut new = new_case(vec![]);
    new.wraps.push(NewWrap {
        holder: Holder::Triage,
        holder_recipient: "age1triage".into(),
        ciphertext: vec![4],
    });
    store
        .insert_case(&new, || CaseRef::from_random(rand::random()))
        .await
        .unwrap();
    let ana = store
        .add_investigator(
            &NewInvestigator {
                email: "ana@example.org".into(),
                recipient: "age1ana".into(),
                teams: vec![],
                capacity: 3,
            },
            1,
        )
        .await
        .unwrap();
    let commit = TriageCommit {
        priority: Priority::P2,
        ack_due: 2_000_000,
        product: "mobile-implant".to_owned(),
        objects: vec![],
        wraps: vec![NewWrap {
            holder: Holder::Investigator(ana.id),
            holder_recipient: "age1ana".into(),
            ciphertext: vec![5],
        }],
        assign_to: vec![ana.id],
        fingerprints: vec![("customer".into(), "ab12".into())],
        links: vec![],
        emails: vec![NewEmail {
            idempotency_key: format!("assigned:{}:{}", new.id, ana.id),
            recipient: ana.email.clone(),
            notice: "{}".into(),
            message_id: "<m@x>".into(),
        }],
        jobs: vec![],
    };
    assert!(store.commit_triage(new.id, &commit, 10).await.unwrap());
    assert!(
        !store.commit_triage(new.id, &commit, 11).await.unwrap(),
        "a second triage writes nothing"
    );
    assert!(store.wrap(new.id, Holder::Triage).await.unwrap().is_none());
    assert_eq!(
        store.wraps(new.id, HolderKind::Investigator).await.unwrap().len(),
        1
    );
    assert!(
        store
            .wrap(new.id, Holder::Investigator(ana.id))
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .wrap(new.id, Holder::Investigator(InvestigatorId::random()))
            .await
            .unwrap()
            .is_none()
    );
    let assignees = store.assignees(new.id).await.unwrap();
    assert_eq!(assignees.iter().map(|i| i.id).collect::<Vec<_>>(), [ana.id]);
    assert_eq!(store.emails().await.unwrap().len(), 1);
    assert_eq!(store.open_case_loads().await.unwrap().get(&ana.id), Some(&1));
    let case = store.case_by_id(new.id).await.unwrap().unwrap();
    assert_eq!(
        (case.triaged, case.priority, case.ack_due),
        (true, Some(Priority::P2), Some(2_000_000))
    );

    // A second case sharing the customer fingerprint finds the first.
    let other = new_case(vec![]);
    store
        .insert_case(&other, || CaseRef::from_random(rand::random()))
        .await
        .unwrap();
    let customer = ("customer".to_owned(), "ab12".to_owned());
    assert_eq!(
        store
            .cases_with_fingerprint(other.id, &customer, 10)
            .await
            .unwrap(),
        [new.id]
    );
    assert_eq!(
        store
            .count_cases_with_any(other.id, std::slice::from_ref(&customer))
            .await
            .unwrap(),
        1
    );
    // The case itself is never its own relative.
    assert!(
        store
            .cases_with_fingerprint(new.id, &customer, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .kinds_shared_by(
                &[new.id, other.id],
                &[customer, ("product".into(), "cd34".into())]
            )
            .await
            .unwrap(),
        [(new.id, "customer".to_owned())]
    );
}

/// Cases handed over holding `fingerprints`, as many as asked.
async fn fingerprinted_cases(store: &Store, n: usize, fingerprints: &[(&str, &str)]) -> Vec<CaseId> {
    let mut ids = Vec::new();
    for _ in 0..n {
        let case = new_case(vec![]);
        store
            .insert_case(&case, || CaseRef::from_random(rand::random()))
            .await
            .unwrap();
        let commit = TriageCommit {
            priority: Priority::P3,
            ack_due: 0,
            product: "mobile-implant".to_owned(),
            objects: vec![],
            wraps: vec![],
            assign_to: vec![],
            fingerprints: fingerprints
                .iter()
                .map(|(k, f)| ((*k).to_owned(), (*f).to_owned()))
                .collect(),
            links: vec![],
            emails: vec![],
            jobs: vec![],
        };
        assert!(store.commit_triage(case.id, &commit, 0).await.unwrap());
        ids.push(case.id);
    }
    ids
}

#[tokio::test]
async fn fingerprint_reads_are_bounded_and_counts_stop_at_the_cap() {
    let (_dir, _db, store, _blobs) = setup().await;
    let many = fingerprinted_cases(&store, COUNT_CAP as usize + 2, &[("product", "p1")]).await;
    let few = fingerprinted_cases(&store, 3, &[("customer", "c1"), ("product", "p1")]).await;
    let (product, customer) = (
        ("product".to_owned(), "p1".to_owned()),
        ("customer".to_owned(), "c1".to_owned()),
    );
    let me = few[0];

    // A read stops at its limit, in id order (ids are random: no arrival order).
    let read = store.cases_with_fingerprint(me, &product, 5).await.unwrap();
    let mut expected: Vec<CaseId> = many.iter().chain(&few[1..]).copied().collect();
    expected.sort();
    assert_eq!(read, expected[..5]);

    // Counts are exact below the cap and stop at it.
    assert_eq!(
        store
            .count_cases_with_any(me, std::slice::from_ref(&customer))
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        store
            .count_cases_with_any(me, std::slice::from_ref(&product))
            .await
            .unwrap(),
        COUNT_CAP
    );
    assert_eq!(
        store
            .count_cases_with_any(me, &[customer.clone(), product])
            .await
            .unwrap(),
        COUNT_CAP,
        "a case holding both is counted once, and the count still stops at the cap"
    );
    assert_eq!(store.count_cases_with_any(me, &[]).await.unwrap(), 0);
    // Distinct cases, not rows: the two others hold the customer and the product.
    assert_eq!(
        store
            .count_cases_with_any(me, &[customer, ("customer".into(), "c1".into())])
            .await
            .unwrap(),
        2
    );
}

async fn invite(store: &Store, invitation: &Invitation) {
    let tx = store.begin_audited().await.unwrap();
    tx.add_invitation(invitation).await.unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn an_invitation_is_found_by_its_hash_until_it_expires_or_is_replaced() {
    let (_dir, _db, store, _blobs) = setup().await;
    let first = Invitation {
        token_hash: [1; 32],
        email: "ana@example.org".into(),
        role: redress_domain::Role::Investigator,
        teams: vec!["triage-desk".into()],
        capacity: 5,
        expires_at: 1_700_000_000 + 72 * 3600,
    };
    invite(&store, &first).await;
    assert_eq!(
        store.invitation(&[1; 32], 1_700_000_000).await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(store.invitation(&[2; 32], 1_700_000_000).await.unwrap(), None);
    assert_eq!(
        store.invitation(&[1; 32], first.expires_at).await.unwrap(),
        None,
        "expired"
    );
    // A newer invitation for the address replaces the first: its link stops working.
    let second = Invitation {
        token_hash: [3; 32],
        role: redress_domain::Role::Admin,
        teams: vec![],
        ..first.clone()
    };
    invite(&store, &second).await;
    assert_eq!(store.invitation(&[1; 32], 1_700_000_000).await.unwrap(), None);
    assert_eq!(
        store.invitation(&[3; 32], 1_700_000_000).await.unwrap(),
        Some(second.clone())
    );
    assert_eq!(
        store.pending_invitations(1_700_000_000).await.unwrap(),
        vec![second.clone()]
    );
    assert!(
        store
            .pending_invitations(second.expires_at)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn failed_logins_count_per_address_and_minute_and_old_ones_are_forgotten() {
    let (_dir, _db, store, _blobs) = setup().await;
    let t0 = 1_700_000_040;
    let fail = |address: [u8; 32], now: i64| {
        let store = store.clone();
        async move {
            let tx = store.begin_audited().await.unwrap();
            let guard = tx
                .count_failed_login(&address, now, |n| (now + i64::from(n), n >= 3))
                .await
                .unwrap();
            tx.commit().await.unwrap();
            guard
        }
    };
    for i in 0..3 {
        let g = fail([1; 32], t0 + i).await;
        assert_eq!(
            (g.failures, g.blocked_until, g.locked),
            (i as u32 + 1, t0 + 2 * i + 1, i == 2)
        );
    }
    fail([2; 32], t0 + 5).await;
    assert_eq!(store.failed_logins_in(t0.div_euclid(60)).await.unwrap(), 4);
    // A new minute starts from nothing, and the old one is gone.
    fail([2; 32], t0 + 60).await;
    assert_eq!(store.failed_logins_in((t0 + 60).div_euclid(60)).await.unwrap(), 1);
    assert_eq!(store.failed_logins_in(t0.div_euclid(60)).await.unwrap(), 0);
    // A day on, an address not locked starts afresh; a locked one stays locked.
    assert_eq!(store.forget_old_login_failures(t0 + 86_400).await.unwrap(), 1);
    assert_eq!(
        store.login_guard(&[2; 32]).await.unwrap(),
        crate::Guard::default()
    );
    assert!(store.login_guard(&[1; 32]).await.unwrap().locked);
    let tx = store.begin_audited().await.unwrap();
    assert!(tx.clear_login_guard(&[1; 32]).await.unwrap());
    tx.commit().await.unwrap();
    assert_eq!(
        store.login_guard(&[1; 32]).await.unwrap(),
        crate::Guard::default()
    );
}

#[tokio::test]
async fn a_rotation_batch_writes_a_wrap_only_while_it_is_what_was_read() {
    let (_dir, _db, store, _blobs) = setup().await;
    let mut cases = Vec::new();
    for _ in 0..3 {
        let new = new_case(vec![]);
        store
            .insert_case(&new, || CaseRef::from_random(rand::random()))
            .await
            .unwrap();
        cases.push(new.id);
    }
    let left = store
        .wraps_for_rotation(Holder::Recovery, "age1new", None, 10)
        .await
        .unwrap();
    assert_eq!(left.len(), 3);
    assert!(left.windows(2).all(|w| w[0].id < w[1].id), "in id order");
    // Paged after an id.
    let after = store
        .wraps_for_rotation(Holder::Recovery, "age1new", Some(&left[0].id), 10)
        .await
        .unwrap();
    assert_eq!(after.len(), 2);

    let redo = |w: &WrapToRedo, old: &str| RedoneWrap {
        id: w.id.clone(),
        old_recipient: old.to_owned(),
        new_recipient: "age1new".into(),
        ciphertext: vec![7, 7],
    };
    // One read with a recipient that has changed since is not written; the others are.
    let batch = vec![
        redo(&left[0], "age1recovery"),
        redo(&left[1], "age1someone-else"),
        redo(&left[2], "age1recovery"),
    ];
    assert_eq!(store.replace_wraps(&batch).await.unwrap(), 2);
    assert_eq!(
        store
            .count_wraps_for_rotation(Holder::Recovery, "age1new", false)
            .await
            .unwrap(),
        1
    );
    let moved = store.wrap(left[0].case, Holder::Recovery).await.unwrap().unwrap();
    assert_eq!(
        (moved.holder_recipient.as_str(), moved.ciphertext.as_slice()),
        ("age1new", [7u8, 7].as_slice())
    );
    let kept = store.wrap(left[1].case, Holder::Recovery).await.unwrap().unwrap();
    assert_eq!(
        (kept.holder_recipient.as_str(), kept.ciphertext.as_slice()),
        ("age1recovery", [1u8, 2, 3].as_slice())
    );
    // Written again, nothing changes: the rows are no longer what was read.
    assert_eq!(store.replace_wraps(&batch).await.unwrap(), 0);
    // The verification reads the moved ones with their case's key, in batches or a
    // sample at random.
    let check = |pick| store.wraps_to_verify(Holder::Recovery, "age1new", pick);
    let all = check(crate::Pick::After {
        after: None,
        limit: 10,
    })
    .await
    .unwrap();
    let ids = |ws: &[crate::WrapToCheck]| ws.iter().map(|w| w.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&all), vec![left[0].id.clone(), left[2].id.clone()]);
    assert!(all.iter().all(|w| w.case_recipient == "age1case"));
    let paged = check(crate::Pick::After {
        after: Some(&left[0].id),
        limit: 10,
    })
    .await
    .unwrap();
    assert_eq!(ids(&paged), vec![left[2].id.clone()]);
    let one = check(crate::Pick::Random(1)).await.unwrap();
    assert_eq!(one.len(), 1);
    assert!(ids(&all).contains(&one[0].id));
    assert_eq!(ids(&check(crate::Pick::Random(10)).await.unwrap()), ids(&all));
    // Other holders' wraps are not counted.
    assert_eq!(
        store
            .count_wraps_for_rotation(Holder::Triage, "age1new", false)
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn the_key_registry_keeps_one_current_version_and_retires_the_others() {
    let (_dir, _db, store, _blobs) = setup().await;
    store
        .register_key("triage", "age1one", "2026-01-01")
        .await
        .unwrap();
    store
        .register_key("triage", "age1one", "2026-02-02")
        .await
        .unwrap();
    store
        .begin_key_version("triage", "age1one", "age1two", "2026-03-03")
        .await
        .unwrap();
    store
        .begin_key_version("triage", "age1one", "age1two", "2026-03-04")
        .await
        .unwrap();
    let v = store.key_versions("triage").await.unwrap();
    assert_eq!(v.len(), 2);
    assert_eq!(
        (v[0].fingerprint.as_str(), v[0].state),
        ("age1two", VersionState::Current)
    );
    assert_eq!(v[0].created_day, "2026-03-03");
    assert_eq!(
        (v[1].fingerprint.as_str(), v[1].state),
        ("age1one", VersionState::Retiring)
    );
    assert_eq!(
        v[1].created_day, "2026-01-01",
        "registering again changes nothing"
    );
    assert_eq!(
        store.retire_key_versions("triage", "2026-03-05").await.unwrap(),
        ["age1one"]
    );
    let v = store.key_versions("triage").await.unwrap();
    assert_eq!(v[1].state, VersionState::Retired);
    assert_eq!(v[1].retired_day.as_deref(), Some("2026-03-05"));
    assert!(store.key_versions("recovery").await.unwrap().is_empty());
}
