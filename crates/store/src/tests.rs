//! Store tests; they run on PostgreSQL when `REDRESS_TEST_DATABASE_URL` is set.

use std::time::{Duration, SystemTime};

use redress_domain::{
    CaseId, CaseRef, DeadlineFlag, Holder, HolderKind, InvestigatorId, JobKind, JobState, ObjectId,
    ObjectKind, Priority, SealedTo,
};

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

fn job(key: &str) -> NewJob {
    NewJob {
        kind: JobKind::SweepBlobs,
        idempotency_key: key.into(),
        payload: "{}".into(),
        run_at: 1000,
        max_attempts: 3,
    }
}

#[tokio::test]
async fn a_job_enqueued_twice_exists_once_and_is_claimed_once() {
    let (_dir, _db, store, _blobs) = setup().await;
    assert!(store.enqueue(&job("k1"), 1000).await.unwrap());
    assert!(
        !store.enqueue(&job("k1"), 1001).await.unwrap(),
        "same key: no second job"
    );
    let claimed = store.claim("w1", 30, 1000).await.unwrap().unwrap();
    assert_eq!((claimed.idempotency_key.as_str(), claimed.attempts), ("k1", 1));
    assert_eq!(store.claim("w2", 30, 1010).await.unwrap(), None, "leased");
    assert!(store.complete(&claimed, "w1", 1020).await.unwrap());
    assert_eq!(store.claim("w2", 30, 5000).await.unwrap(), None, "done");
    assert!(
        !store.enqueue(&job("k1"), 5000).await.unwrap(),
        "a finished key stays used"
    );
}

#[tokio::test]
async fn a_dead_worker_s_job_is_claimed_again_after_its_lease() {
    let (_dir, _db, store, _blobs) = setup().await;
    store.enqueue(&job("k"), 1000).await.unwrap();
    let first = store.claim("crashed", 30, 1000).await.unwrap().unwrap();
    assert_eq!(
        store.claim("w2", 30, 1030).await.unwrap(),
        None,
        "lease still holds at its last second"
    );
    let again = store.claim("w2", 30, 1031).await.unwrap().unwrap();
    assert_eq!((again.id, again.attempts), (first.id, 2));
    // The crashed worker, if it comes back, can no longer complete or fail the job.
    assert!(!store.complete(&first, "crashed", 1032).await.unwrap());
    assert!(store.renew(&again, "w2", 30, 1040).await.unwrap());
    assert_eq!(
        store.claim("w3", 30, 1065).await.unwrap(),
        None,
        "renewed lease holds"
    );
    assert!(store.complete(&again, "w2", 1066).await.unwrap());
}

#[tokio::test]
async fn failures_back_off_then_go_dead_and_an_admin_can_retry() {
    let (_dir, _db, store, _blobs) = setup().await;
    store.enqueue(&job("k"), 1000).await.unwrap();
    let mut now = 1000;
    for attempt in 1..=3u32 {
        let j = store.claim("w", 30, now).await.unwrap().expect("due");
        assert_eq!(j.attempts, attempt);
        let backoff = backoff_secs(attempt, 10, 3600);
        let outcome = store.fail(&j, "w", "smtp refused", backoff, now).await.unwrap();
        if attempt < 3 {
            assert_eq!(outcome, Failed::RetryAt(now + backoff));
            assert_eq!(
                store.claim("w", 30, now + backoff - 1).await.unwrap(),
                None,
                "not before the backoff"
            );
            now += backoff;
        } else {
            assert_eq!(outcome, Failed::Dead);
        }
    }
    assert_eq!(
        store.claim("w", 30, now + 100_000).await.unwrap(),
        None,
        "dead jobs are not claimed"
    );
    let dead = store.jobs_in_state(JobState::Dead).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].last_error.as_deref(), Some("smtp refused"));
    assert!(store.retry_dead(dead[0].id, now).await.unwrap());
    assert_eq!(store.claim("w", 30, now).await.unwrap().unwrap().attempts, 1);
    assert_eq!(
        (
            backoff_secs(1, 10, 3600),
            backoff_secs(4, 10, 3600),
            backoff_secs(40, 10, 3600)
        ),
        (10, 80, 3600)
    );
}

#[tokio::test]
async fn a_lease_that_runs_out_on_the_last_attempt_buries_the_job() {
    let (_dir, _db, store, _blobs) = setup().await;
    store
        .enqueue(
            &NewJob {
                max_attempts: 1,
                ..job("k")
            },
            1000,
        )
        .await
        .unwrap();
    store.claim("crashed", 30, 1000).await.unwrap().unwrap();
    assert_eq!(store.claim("w", 30, 2000).await.unwrap(), None);
    assert_eq!(store.jobs_in_state(JobState::Dead).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_released_job_does_not_use_an_attempt() {
    let (_dir, _db, store, _blobs) = setup().await;
    store.enqueue(&job("k"), 1000).await.unwrap();
    let j = store.claim("w", 30, 1000).await.unwrap().unwrap();
    store.release(&j, "w", 1001).await.unwrap();
    assert_eq!(store.claim("w2", 30, 1001).await.unwrap().unwrap().attempts, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_workers_never_claim_a_job_twice() {
    let (_dir, _db, store, _blobs) = setup().await;
    for i in 0..120 {
        store.enqueue(&job(&format!("k{i}")), 1000).await.unwrap();
    }
    let mut tasks = Vec::new();
    for w in 0..4 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let name = format!("w{w}");
            let mut mine = Vec::new();
            while let Some(j) = store.claim(&name, 300, 1000).await.unwrap() {
                assert!(store.complete(&j, &name, 1000).await.unwrap());
                mine.push(j.idempotency_key);
            }
            mine
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort();
    let before = all.len();
    all.dedup();
    assert_eq!((before, all.len()), (120, 120), "every job claimed exactly once");
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
            .job_count(JobKind::SweepBlobs, JobState::Queued)
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
            .job_count(JobKind::SweepBlobs, JobState::Queued)
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
    let shared = store
        .cases_sharing(other.id, &[("customer".into(), "ab12".into())])
        .await
        .unwrap();
    assert_eq!(shared, [(new.id, vec!["customer".to_owned()])]);
}
