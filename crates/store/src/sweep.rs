use std::collections::HashSet;
use std::time::{Duration, SystemTime};

use redress_domain::ObjectId;

use crate::{BlobStore, Listed, Store, StoreError};

/// What a sweep removed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub orphan_blobs: usize,
    pub stale_temps: usize,
}

/// Removes blobs that no database row references and pending blobs nobody is writing,
/// on either backend.
///
/// A pending blob is removed only when it was last written more than `grace` ago and
/// no live process is uploading it: its upload row is missing, or names a process
/// whose heartbeat ran out (a crash). Any process on any host can tell, since both are
/// in the database. A committed blob is removed only when no case references it and it
/// was committed more than `grace` ago: a blob is committed moments before its case,
/// so a grace of minutes never races a live submission, even one in another process.
/// (The database backend records the hour only, so there "more than `grace` ago" is
/// counted from the end of that hour.) Upload rows whose pending blob is gone (the
/// upload ended without its case: a refusal) are forgotten.
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
    // Read the rows before listing the blobs: an upload's row is made just after its
    // pending blob, so a listed blob without a row is either new (younger than the
    // grace period) or abandoned, and a row whose blob is not listed belongs to an
    // upload that ended before the listing.
    let rows = store.uploads().await?;
    let crate::Listing { committed, pending } = blobs.list().await?;
    let grace = grace + blobs.time_resolution();
    let old_enough = |l: &Listed| now.duration_since(l.written).unwrap_or_default() >= grace;
    let mut report = SweepReport::default();
    let old: Vec<ObjectId> = pending.iter().filter(|l| old_enough(l)).map(|l| l.id).collect();
    let mut live = HashSet::new();
    for batch in old.chunks(500) {
        live.extend(store.live_uploads(batch, unix).await?);
    }
    let old: HashSet<ObjectId> = old.into_iter().collect();
    let mut kept = HashSet::new();
    for l in &pending {
        if old.contains(&l.id) && !live.contains(&l.id) && blobs.remove_pending(l.id).await? {
            report.stale_temps += 1;
        } else {
            kept.insert(l.id);
        }
    }
    let ended: Vec<ObjectId> = rows.into_iter().filter(|id| !kept.contains(id)).collect();
    for batch in ended.chunks(500) {
        store.end_uploads(batch).await?;
    }
    // Only old blobs are candidates; look them up in batches rather than one by one.
    let candidates: Vec<ObjectId> = committed.iter().filter(|l| old_enough(l)).map(|l| l.id).collect();
    for batch in candidates.chunks(500) {
        let known = store.existing_objects(batch).await?;
        for id in batch.iter().filter(|id| !known.contains(id)) {
            blobs.remove(*id).await?;
            report.orphan_blobs += 1;
        }
    }
    Ok(report)
}
