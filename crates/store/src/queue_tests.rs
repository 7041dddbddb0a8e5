//! The job queue: claims, heartbeats, retries, periodic rows, and the times it stores.
//! They run on PostgreSQL when `REDRESS_TEST_DATABASE_URL` is set.

use redress_domain::{JobKind, JobState};
use sea_orm::{ConnectionTrait, Statement};

use crate::tests::setup;
use crate::*;

/// An hour boundary, and a moment some minutes into that hour.
const HOUR: i64 = 1_700_000_000 - 1_700_000_000 % 3600;
const T: i64 = HOUR + 17 * 60 + 23;

fn triage(key: &str) -> NewJob {
    NewJob {
        kind: JobKind::TriageCase,
        idempotency_key: key.into(),
        payload: "{}".into(),
        run_at: T,
        max_attempts: 3,
    }
}

fn periodic(kind: JobKind, now: i64) -> NewJob {
    let period = kind.period_secs().unwrap();
    NewJob {
        kind,
        idempotency_key: kind.as_str().into(),
        payload: "{}".into(),
        run_at: now - now.rem_euclid(period),
        max_attempts: 3,
    }
}

/// Every time column of every row in `jobs` (report-driven rows only).
async fn report_job_times(store: &Store) -> Vec<i64> {
    let mut out = Vec::new();
    for j in store.jobs().await.unwrap() {
        if j.kind.is_report_driven() {
            out.extend([j.run_at, j.created_at, j.updated_at]);
        }
    }
    out
}

async fn kinds_in_table(store: &Store, table: &str) -> Vec<String> {
    store
        .connection()
        .query_all_raw(Statement::from_string(
            store.backend(),
            format!("SELECT kind FROM {table}"),
        ))
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get::<String>("", "kind").unwrap())
        .collect()
}

#[tokio::test]
async fn a_job_enqueued_twice_exists_once_and_is_claimed_once() {
    let (_dir, _db, store, _blobs) = setup().await;
    store.beat("w1", 30, T).await.unwrap();
    store.beat("w2", 30, T).await.unwrap();
    assert!(store.enqueue(&triage("k1"), T).await.unwrap());
    assert!(
        !store.enqueue(&triage("k1"), T + 1).await.unwrap(),
        "same key: no second job"
    );
    let claimed = store.claim("w1", T).await.unwrap().unwrap();
    assert_eq!((claimed.idempotency_key.as_str(), claimed.attempts), ("k1", 1));
    assert_eq!(store.claim("w2", T + 10).await.unwrap(), None, "held");
    assert!(store.complete(&claimed, "w1", T + 20).await.unwrap());
    assert_eq!(store.claim("w2", T + 5000).await.unwrap(), None, "done");
    assert!(
        !store.enqueue(&triage("k1"), T + 5000).await.unwrap(),
        "a finished key stays used"
    );
}

#[tokio::test]
async fn a_dead_worker_s_job_is_claimed_again_once_its_heartbeat_is_older_than_the_lease() {
    let (_dir, _db, store, _blobs) = setup().await;
    store.enqueue(&triage("k"), T).await.unwrap();
    store.beat("crashed", 30, T).await.unwrap();
    let first = store.claim("crashed", T).await.unwrap().unwrap();
    assert!(store.holds(&first, "crashed").await.unwrap());
    store.beat("w2", 30, T + 30).await.unwrap();
    assert_eq!(
        store.claim("w2", T + 30).await.unwrap(),
        None,
        "the lease still holds at its last second"
    );
    let again = store.claim("w2", T + 31).await.unwrap().unwrap();
    assert_eq!((again.id, again.attempts), (first.id, 2));
    // The crashed worker, if it comes back, sees it lost the job and cannot finish it.
    assert!(!store.holds(&first, "crashed").await.unwrap());
    assert!(!store.complete(&first, "crashed", T + 32).await.unwrap());
    // A worker that keeps beating keeps its job, however long it runs.
    for beat in [T + 40, T + 65, T + 90] {
        store.beat("w2", 30, beat).await.unwrap();
        assert_eq!(store.claim("w3", beat + 20).await.unwrap(), None);
    }
    assert!(store.complete(&again, "w2", T + 120).await.unwrap());
}

#[tokio::test]
async fn a_holder_s_own_lease_decides_when_its_jobs_are_free() {
    let (_dir, _db, store, _blobs) = setup().await;
    store.enqueue(&triage("k"), T).await.unwrap();
    store.beat("short", 2, T).await.unwrap();
    store.claim("short", T).await.unwrap().unwrap();
    store.beat("long", 300, T + 3).await.unwrap();
    assert!(
        store.claim("long", T + 3).await.unwrap().is_some(),
        "free once the holder's two seconds ran out, whatever the claimant's lease"
    );
}

#[tokio::test]
async fn a_worker_that_retires_frees_what_it_still_holds_at_once() {
    let (_dir, _db, store, _blobs) = setup().await;
    store.enqueue(&triage("k"), T).await.unwrap();
    store.beat("w1", 30, T).await.unwrap();
    store.beat("w2", 30, T).await.unwrap();
    store.claim("w1", T).await.unwrap().unwrap();
    assert_eq!(store.claim("w2", T + 1).await.unwrap(), None);
    store.retire("w1").await.unwrap();
    assert!(store.claim("w2", T + 1).await.unwrap().is_some());

    // Heartbeats of workers long gone are forgotten; live ones stay.
    store.beat("old", 30, T - 100_000).await.unwrap();
    assert_eq!(store.forget_workers(T - 86_400).await.unwrap(), 1);
    assert_eq!(store.forget_workers(T - 86_400).await.unwrap(), 0);
}

#[tokio::test]
async fn a_failed_report_job_retries_at_the_next_hour_then_dies_and_an_admin_can_retry() {
    let (_dir, _db, store, _blobs) = setup().await;
    store.beat("w", 30, T).await.unwrap();
    store.enqueue(&triage("k"), T).await.unwrap();
    let mut now = T;
    for attempt in 1..=3u32 {
        store.beat("w", 30, now).await.unwrap();
        let j = store.claim("w", now).await.unwrap().expect("due");
        assert_eq!(j.attempts, attempt);
        let outcome = store.fail(&j, "w", "smtp refused", now).await.unwrap();
        if attempt < 3 {
            let next = now - now % 3600 + 3600;
            assert_eq!(outcome, Failed::RetryAt(next), "the next hour boundary");
            assert_eq!(store.claim("w", next - 1).await.unwrap(), None, "not before it");
            // Some seconds into that hour, like a real worker's next poll.
            now = next + 7;
        } else {
            assert_eq!(outcome, Failed::Dead);
        }
        for t in report_job_times(&store).await {
            assert_eq!(t % 3600, 0, "only hours are stored for a report job: {t}");
        }
    }
    assert_eq!(
        store.claim("w", now + 100_000).await.unwrap(),
        None,
        "dead jobs are not claimed"
    );
    let dead = store.jobs_in_state(JobState::Dead).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].last_error.as_deref(), Some("smtp refused"));
    assert!(store.retry_dead(dead[0].id, now + 77).await.unwrap());
    assert_eq!(store.claim("w", now + 77).await.unwrap().unwrap().attempts, 1);
    for t in report_job_times(&store).await {
        assert_eq!(t % 3600, 0, "{t}");
    }
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
async fn every_step_of_a_report_job_stores_only_the_hour() {
    let (_dir, _db, store, _blobs) = setup().await;
    store.beat("w", 30, T).await.unwrap();
    let email = NewJob {
        kind: JobKind::SendEmail,
        run_at: T, // made at hand-over, due "now"
        ..triage("send_email:x")
    };
    store.enqueue(&email, T).await.unwrap();
    store.enqueue(&triage("k"), T).await.unwrap();
    for t in report_job_times(&store).await {
        assert_eq!(t, HOUR, "made and due at the hour");
    }
    let a = store.claim("w", T + 1).await.unwrap().unwrap();
    let b = store.claim("w", T + 2).await.unwrap().unwrap();
    store.release(&a, "w", T + 3).await.unwrap();
    store.complete(&b, "w", T + 4).await.unwrap();
    for j in store.jobs().await.unwrap() {
        assert_eq!(
            (j.run_at, j.created_at, j.updated_at),
            (HOUR, HOUR, HOUR),
            "{j:?}"
        );
    }
    assert_eq!(store.claim("w", T + 5).await.unwrap().unwrap().attempts, 1);
}

#[tokio::test]
async fn periodic_jobs_are_one_row_each_updated_in_place_never_in_the_report_table() {
    let (_dir, _db, store, _blobs) = setup().await;
    store.beat("w", 30, T).await.unwrap();
    for kind in [JobKind::DeadlineScan, JobKind::SweepBlobs] {
        assert!(store.enqueue(&periodic(kind, T), T).await.unwrap());
        assert!(
            !store.enqueue(&periodic(kind, T + 300), T + 300).await.unwrap(),
            "made once"
        );
    }
    store.enqueue(&triage("k"), T).await.unwrap();
    let mut kinds = kinds_in_table(&store, "periodic_jobs").await;
    kinds.sort();
    assert_eq!(kinds, ["deadline_scan", "sweep_blobs"]);
    assert_eq!(kinds_in_table(&store, "jobs").await, ["triage_case"]);

    // Periodic jobs are claimed before report jobs; a finished one is due at the start
    // of its next period, with exact times: its row is no report's.
    let scan = store.claim("w", T).await.unwrap().unwrap();
    assert!(!scan.kind.is_report_driven());
    let other = store.claim("w", T).await.unwrap().unwrap();
    assert!(!other.kind.is_report_driven());
    let (scan, sweep) = if scan.kind == JobKind::DeadlineScan {
        (scan, other)
    } else {
        (other, scan)
    };
    assert_eq!(
        store.claim("w", T).await.unwrap().unwrap().kind,
        JobKind::TriageCase
    );
    assert!(store.complete(&scan, "w", T + 9).await.unwrap());
    let row = store.job(scan.id).await.unwrap().unwrap();
    let next = JobKind::DeadlineScan.next_period(T + 9).unwrap();
    assert_eq!(
        (row.state, row.attempts, row.run_at, row.updated_at),
        (JobState::Queued, 0, next, T + 9)
    );
    store.beat("w", 30, next - 1).await.unwrap();
    assert_eq!(store.claim("w", next - 1).await.unwrap(), None);
    let again = store.claim("w", next).await.unwrap().unwrap();
    assert_eq!(again.id, scan.id);
    assert!(store.complete(&again, "w", next).await.unwrap());

    // A failing periodic job backs off within its period, and after its attempts waits
    // for the next period with fresh attempts and its error shown: it never dies, so
    // the sweep cannot stop for good.
    let mut now = T + 20;
    let mut job = sweep;
    for attempt in 1..=3 {
        let outcome = store.fail(&job, "w", "disk on fire", now).await.unwrap();
        if attempt < 3 {
            assert_eq!(outcome, Failed::RetryAt(now + 5 * (1 << (attempt - 1))));
            now += 60;
            store.beat("w", 30, now).await.unwrap();
            job = store.claim("w", now).await.unwrap().unwrap();
            assert_eq!(job.attempts, attempt + 1);
        } else {
            let next = JobKind::SweepBlobs.next_period(now).unwrap();
            assert_eq!(outcome, Failed::RetryAt(next));
            let row = store.job(job.id).await.unwrap().unwrap();
            assert_eq!(
                (row.state, row.attempts, row.last_error.as_deref()),
                (JobState::Queued, 0, Some("disk on fire"))
            );
        }
    }
    assert!(store.jobs_in_state(JobState::Dead).await.unwrap().is_empty());
    assert_eq!(kinds_in_table(&store, "jobs").await, ["triage_case"]);
}

#[tokio::test]
async fn a_holder_that_dies_on_the_last_attempt_buries_the_job() {
    let (_dir, _db, store, _blobs) = setup().await;
    store
        .enqueue(
            &NewJob {
                max_attempts: 1,
                ..triage("k")
            },
            T,
        )
        .await
        .unwrap();
    store.beat("crashed", 30, T).await.unwrap();
    store.claim("crashed", T).await.unwrap().unwrap();
    store.beat("w", 30, T + 2000).await.unwrap();
    assert_eq!(store.claim("w", T + 2000).await.unwrap(), None);
    let dead = store.jobs_in_state(JobState::Dead).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!((dead[0].run_at, dead[0].updated_at), (HOUR, HOUR));
}

#[tokio::test]
async fn a_released_job_does_not_use_an_attempt() {
    let (_dir, _db, store, _blobs) = setup().await;
    store.beat("w", 30, T).await.unwrap();
    store.beat("w2", 30, T).await.unwrap();
    store.enqueue(&triage("k"), T).await.unwrap();
    let j = store.claim("w", T).await.unwrap().unwrap();
    store.release(&j, "w", T + 1).await.unwrap();
    assert_eq!(store.claim("w2", T + 1).await.unwrap().unwrap().attempts, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_workers_never_claim_a_job_twice() {
    let (_dir, _db, store, _blobs) = setup().await;
    for i in 0..120 {
        store.enqueue(&triage(&format!("k{i}")), T).await.unwrap();
    }
    let mut tasks = Vec::new();
    for w in 0..4 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let name = format!("w{w}");
            store.beat(&name, 30, T).await.unwrap();
            let mut mine = Vec::new();
            while let Some(j) = store.claim(&name, T).await.unwrap() {
                assert!(store.complete(&j, &name, T).await.unwrap());
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
