//! Store tests; they run on PostgreSQL when `REDRESS_TEST_DATABASE_URL` is set.

use std::time::{Duration, SystemTime};

use redress_domain::{CaseId, CaseRef, ObjectId, ObjectKind};

use crate::test_support::TestDatabase;
use crate::*;

fn new_case(objects: Vec<NewObject>) -> NewCase {
    NewCase {
        id: CaseId::random(),
        questionnaire_version: 1,
        received_at: 1_700_000_000,
        case_recipient: "age1case".into(),
        thread_recipient: "age1thread".into(),
        wraps: vec![NewWrap {
            key_kind: KeyKind::Case,
            holder_kind: HolderKind::Recovery,
            holder_id: None,
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
    }
}

async fn setup() -> (tempfile::TempDir, TestDatabase, Store, BlobStore) {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDatabase::create(dir.path()).await;
    let store = Store::connect(db.url()).await.unwrap();
    store.migrate().await.unwrap();
    store.migrate().await.unwrap(); // idempotent
    let blobs = BlobStore::open(dir.path().join("blobs")).unwrap();
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
    assert_eq!(
        store
            .wraps(new.id, KeyKind::Case, HolderKind::Recovery)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        store
            .wraps(new.id, KeyKind::Case, HolderKind::Triage)
            .await
            .unwrap()
            .is_empty()
    );
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

#[tokio::test]
async fn sweep_removes_orphans_and_stale_temps_but_keeps_referenced_and_fresh_files() {
    let (_dir, _db, store, blobs) = setup().await;
    let commit = |bytes: &[u8]| {
        let mut b = blobs.begin().unwrap();
        std::io::Write::write_all(&mut b, bytes).unwrap();
        let id = b.id();
        b.commit().unwrap();
        id
    };
    let kept = commit(b"referenced");
    let orphan = commit(b"orphan");
    let mut live = blobs.begin().unwrap();
    std::io::Write::write_all(&mut live, b"still uploading").unwrap();
    let stale_tmp = blobs
        .root()
        .join("tmp")
        .join(format!("{}.part", ObjectId::random()));
    std::fs::write(&stale_tmp, b"crashed upload").unwrap();
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

    // Within the grace period nothing is touched.
    let now = SystemTime::now();
    let r = sweep_orphans(&store, &blobs, Duration::from_secs(3600), now)
        .await
        .unwrap();
    assert_eq!(r, SweepReport::default());
    assert!(blobs.path_of(orphan).exists());

    // An hour later the orphan and the crashed upload's temp go; the referenced blob and
    // the live (locked) upload stay, however old.
    let later = now + Duration::from_secs(7200);
    let r = sweep_orphans(&store, &blobs, Duration::from_secs(3600), later)
        .await
        .unwrap();
    assert_eq!(
        r,
        SweepReport {
            orphan_blobs: 1,
            stale_temps: 1
        }
    );
    assert!(blobs.path_of(kept).exists());
    assert!(!blobs.path_of(orphan).exists());
    assert!(!stale_tmp.exists());
    assert_eq!(
        blobs.list().unwrap().temps.len(),
        1,
        "the live upload's file is still there"
    );
    drop(live);
    assert!(blobs.list().unwrap().temps.is_empty());
}
