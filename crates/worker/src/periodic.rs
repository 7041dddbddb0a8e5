//! Periodic jobs go through the same queue as everything else: each period has one
//! idempotency key (`kind:period-number`), so however many workers enqueue it, it runs
//! once per period.

use std::sync::atomic::Ordering;
use std::time::{Duration, UNIX_EPOCH};

use redress_domain::JobKind;
use redress_store::NewJob;

use crate::{JobError, Worker};

/// (job, period in seconds)
const SCHEDULE: [(JobKind, i64); 3] = [
    (JobKind::DeadlineScan, 300),
    (JobKind::SweepBlobs, 600),
    (JobKind::PurgeJobs, 86_400),
];

/// Files untouched for this long that no case references are removed by the sweep.
pub const SWEEP_GRACE: Duration = Duration::from_secs(3600);

/// Enqueues the periodic jobs of the current periods (at most once a second per process).
pub(crate) async fn enqueue_due(worker: &Worker, now: i64) -> Result<(), JobError> {
    if worker.last_periodic.swap(now, Ordering::Relaxed) == now {
        return Ok(());
    }
    for (kind, period) in SCHEDULE {
        let bucket = now.div_euclid(period);
        let job = NewJob {
            kind,
            idempotency_key: format!("{kind}:{bucket}"),
            payload: "{}".to_owned(),
            run_at: bucket * period,
            max_attempts: 3,
        };
        worker.store.enqueue(&job, now).await?;
    }
    Ok(())
}

pub(crate) async fn sweep(worker: &Worker) -> Result<(), JobError> {
    let now = UNIX_EPOCH + Duration::from_secs(u64::try_from(worker.now()).unwrap_or(0));
    redress_store::sweep_orphans(&worker.store, &worker.blobs, SWEEP_GRACE, now).await?;
    Ok(())
}

pub(crate) async fn purge(worker: &Worker) -> Result<(), JobError> {
    let before = worker.now() - worker.settings.keep_done_jobs_secs;
    let purged = worker.store.purge_done_jobs(before).await?;
    if purged > 0 {
        tracing::info!(purged, "forgot finished jobs");
    }
    Ok(())
}
