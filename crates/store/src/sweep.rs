use std::collections::HashSet;
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
/// A temporary file is removed only when it is older than `grace` and no live process
/// is uploading it: its upload row is missing, or names a process whose heartbeat ran
/// out (a crash). Any process on any host can tell, since both are in the database. A
/// committed blob is removed only when no case references it and it was placed more
/// than `grace` ago: a blob is stamped and renamed into place moments before its case
/// commits, so a grace of minutes never races a live submission, even one in another
/// process. Upload rows whose temporary file is gone (the upload ended without its
/// case: a refusal) are forgotten.
pub async fn sweep_orphans(
    store: &Store,
    blobs: &BlobStore,
    grace: Duration,
    now: SystemTime,
) -> Result<SweepReport, StoreError> {
    let unix = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_err(|_| StoreError::Corrupt("clock before 1970"))?
        .as_secs();
    let unix = i64::try_from(unix).map_err(|_| StoreError::Corrupt("clock too far ahead"))?;
    // Read the rows before listing the files: an upload's row is made just after its
    // file, so a listed file without a row is either new (younger than the grace
    // period) or abandoned, and a row whose file is not listed belongs to an upload
    // that ended before the listing.
    let rows = store.uploads().await?;
    let crate::blobs::Listing { committed, temps } = blobs.list()?;
    let old_enough = |path: &std::path::Path| -> bool {
        std::fs::metadata(path)
            .and_then(|m| m.modified())
            .map(|t| now.duration_since(t).unwrap_or_default() >= grace)
            .unwrap_or(false)
    };
    let mut report = SweepReport::default();
    let old: HashSet<ObjectId> = temps
        .iter()
        .filter(|(_, p)| old_enough(p))
        .map(|(id, _)| *id)
        .collect();
    let mut live = HashSet::new();
    for batch in old.iter().copied().collect::<Vec<_>>().chunks(500) {
        live.extend(store.live_uploads(batch, unix).await?);
    }
    let mut pending = HashSet::new();
    for (id, path) in &temps {
        if old.contains(id) && !live.contains(id) && std::fs::remove_file(path).is_ok() {
            report.stale_temps += 1;
        } else {
            pending.insert(*id);
        }
    }
    let ended: Vec<ObjectId> = rows.into_iter().filter(|id| !pending.contains(id)).collect();
    for batch in ended.chunks(500) {
        store.end_uploads(batch).await?;
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
