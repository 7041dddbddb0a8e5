use std::time::{Duration, SystemTime};

use crate::{BlobStore, Store, StoreError};

/// What a sweep removed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub orphan_blobs: usize,
    pub stale_temps: usize,
}

/// Removes blobs that no database row references and temporary files nobody is writing.
///
/// Only files untouched for `grace` are considered: a blob is renamed into place a few
/// milliseconds before its case commits, and an upload in progress writes its temporary
/// file at least every idle timeout, so a grace longer than both never races a live
/// submission — even one handled by another process sharing the folder.
pub async fn sweep_orphans(
    store: &Store,
    blobs: &BlobStore,
    grace: Duration,
    now: SystemTime,
) -> Result<SweepReport, StoreError> {
    let (committed, temps) = blobs.list()?;
    let old_enough = |path: &std::path::Path| -> bool {
        std::fs::metadata(path)
            .and_then(|m| m.modified())
            .map(|t| now.duration_since(t).unwrap_or_default() >= grace)
            .unwrap_or(false)
    };
    let mut report = SweepReport::default();
    for path in temps {
        if old_enough(&path) && std::fs::remove_file(&path).is_ok() {
            report.stale_temps += 1;
        }
    }
    for (id, path) in committed {
        if old_enough(&path) && !store.object_exists(id).await? {
            blobs.remove(id)?;
            report.orphan_blobs += 1;
        }
    }
    if report != SweepReport::default() {
        tracing::info!(
            orphan_blobs = report.orphan_blobs,
            stale_temps = report.stale_temps,
            "blob sweep"
        );
    }
    Ok(report)
}
