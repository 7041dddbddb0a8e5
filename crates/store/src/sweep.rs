use std::time::{Duration, SystemTime};

use redress_domain::ObjectId;

use crate::{BlobStore, Store, StoreError};

/// What a sweep removed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub orphan_blobs: usize,
    pub stale_temps: usize,
}

/// Removes blobs that no database row references and temporary files nobody is writing.
///
/// A temporary file is removed only when no writer holds its lock (its upload ended
/// without cleaning up: a crash) and it is older than `grace`. A committed blob is
/// removed only when no case references it and it was placed more than `grace` ago: a
/// blob is stamped and renamed into place moments before its case commits, so a grace
/// of minutes never races a live submission, even one in another process.
pub async fn sweep_orphans(
    store: &Store,
    blobs: &BlobStore,
    grace: Duration,
    now: SystemTime,
) -> Result<SweepReport, StoreError> {
    let crate::blobs::Listing { committed, temps } = blobs.list()?;
    let old_enough = |path: &std::path::Path| -> bool {
        std::fs::metadata(path)
            .and_then(|m| m.modified())
            .map(|t| now.duration_since(t).unwrap_or_default() >= grace)
            .unwrap_or(false)
    };
    let mut report = SweepReport::default();
    for path in temps {
        if old_enough(&path) && crate::blobs::is_unlocked(&path) && std::fs::remove_file(&path).is_ok() {
            report.stale_temps += 1;
        }
    }
    // Only old files are candidates; look them up in batches rather than one by one.
    let candidates: Vec<ObjectId> = committed
        .into_iter()
        .filter(|(_, p)| old_enough(p))
        .map(|(id, _)| id)
        .collect();
    for batch in candidates.chunks(500) {
        let known = store.existing_objects(batch).await?;
        for id in batch.iter().filter(|id| !known.contains(id)) {
            blobs.remove(*id)?;
            report.orphan_blobs += 1;
        }
    }
    Ok(report)
}
