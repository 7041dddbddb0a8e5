//! Periodic jobs go through the same queue as everything else: one row per kind, keyed
//! by the kind (no time in it), made once and updated in place; finishing a run makes it
//! due at the start of its next period (`JobKind::period_secs`). However many workers
//! run, each period's job runs once. Their rows live apart from report-driven jobs
//! (ADR 0015).

use std::time::{Duration, UNIX_EPOCH};

use redress_domain::JobKind;
use redress_store::NewJob;

use crate::{JobError, Worker};

/// Files untouched for this long that no case references are removed by the sweep.
pub const SWEEP_GRACE: Duration = Duration::from_secs(3600);

/// Heartbeats older than this belong to workers long gone, and are forgotten.
const FORGET_WORKERS_SECS: i64 = 86_400;

/// Makes each periodic job's row if it is missing, due at the start of the current
/// period (workers call it when they start).
pub(crate) async fn schedule(worker: &Worker, now: i64) -> Result<(), JobError> {
    for &kind in JobKind::ALL {
        let Some(period) = kind.period_secs() else {
            continue;
        };
        let job = NewJob {
            kind,
            idempotency_key: kind.as_str().to_owned(),
            payload: "{}".to_owned(),
            run_at: now - now.rem_euclid(period),
            max_attempts: 3,
        };
        worker.store.enqueue(&job, now).await?;
    }
    Ok(())
}

pub(crate) async fn sweep(worker: &Worker) -> Result<(), JobError> {
    let secs = u64::try_from(worker.now()).map_err(|_| JobError::BadJob("clock before 1970".into()))?;
    let now = UNIX_EPOCH + Duration::from_secs(secs);
    let swept = redress_store::sweep_orphans(&worker.store, &worker.blobs, SWEEP_GRACE, now).await?;
    redress_logging::add("worker.sweep", "orphan_blobs", swept.orphan_blobs as u64);
    redress_logging::add("worker.sweep", "stale_temps", swept.stale_temps as u64);
    Ok(())
}

pub(crate) async fn purge(worker: &Worker) -> Result<(), JobError> {
    let now = worker.now();
    worker.store.forget_workers(now - FORGET_WORKERS_SECS).await?;
    let purged = worker
        .store
        .purge_done_jobs(now - worker.settings.keep_done_jobs_secs)
        .await?;
    redress_logging::add("worker", "jobs_forgotten", purged);
    Ok(())
}
