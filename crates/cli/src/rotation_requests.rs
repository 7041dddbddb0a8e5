//! The worker's side of a triage-key rotation asked for on the portal (`/admin/keys`):
//! every few seconds it looks for the triage rotation in state `requested`, or one left
//! `running` by a process that stopped touching its row (killed), claims it with a
//! compare-and-set so that of several workers sharing a database one runs it, and runs
//! `keys rotate triage` with the default options on that row, where the portal's page
//! follows its progress. Only a worker does this: the rotation needs the triage
//! identity files, which only a worker's host holds.

use std::sync::Arc;
use std::time::Duration;

use redress_keychain::rotation::{OrgKey, Quiet, ROTATION_LEASE_SECS};
use redress_store::{RotationState, Store};
use tokio::sync::watch;

use crate::config::Config;
use crate::rotate::{RotateOptions, Rotated, TriageFilesLock, rotate_triage_locked, try_lock_triage_files};

/// How often a worker looks for a rotation to perform.
pub const LOOK_EVERY: Duration = Duration::from_secs(5);

/// A rotation this worker took, and the lock on this host's triage files.
#[derive(Debug)]
pub struct Claimed {
    pub id: String,
    _lock: TriageFilesLock,
}

/// Claims the triage rotation asked for, if there is one this worker may take now.
pub async fn claim(
    config: &Config,
    store: &Store,
    clock: &(dyn Fn() -> i64 + Send + Sync),
) -> anyhow::Result<Option<Claimed>> {
    let Some(asked) = store.unfinished_rotation(OrgKey::Triage.as_str(), None).await? else {
        return Ok(None);
    };
    let now = clock();
    let stale_before = now - ROTATION_LEASE_SECS;
    let free = match asked.known_state() {
        Some(RotationState::Requested) => true,
        Some(RotationState::Running) => asked.updated_at < stale_before,
        _ => false,
    };
    if !free {
        return Ok(None);
    }
    // Another process on this host (the command, another worker) is at it: not ours.
    let Some(lock) = try_lock_triage_files(config)? else {
        return Ok(None);
    };
    if !store.claim_rotation(&asked.id, now, stale_before).await? {
        return Ok(None);
    }
    Ok(Some(Claimed {
        id: asked.id,
        _lock: lock,
    }))
}

/// Runs a claimed rotation. A failure is recorded on its row, in words for an admin,
/// its progress kept.
pub async fn perform(
    config: &Config,
    store: &Store,
    claimed: &Claimed,
    clock: &(dyn Fn() -> i64 + Send + Sync),
) -> anyhow::Result<Rotated> {
    let rotated = rotate_triage_locked(config, store, &RotateOptions::default(), &Quiet, clock).await;
    if let Err(e) = &rotated {
        // The errors are Redress's own, the database's and the file system's; none
        // carries a secret (an identity file's content is never in one).
        let note = format!("stopped: {e:#}");
        let (done, total) = match store.rotation(&claimed.id).await? {
            Some(r) => (r.done, r.total),
            None => (0, 0),
        };
        store
            .record_rotation(
                &claimed.id,
                RotationState::Failed.as_str(),
                None,
                done,
                total,
                Some(&note),
                clock(),
            )
            .await?;
    }
    rotated
}

/// One look: claims and performs the rotation asked for, if there is one to take.
pub async fn perform_requested(
    config: &Config,
    store: &Store,
    clock: &(dyn Fn() -> i64 + Send + Sync),
) -> anyhow::Result<Option<Rotated>> {
    match claim(config, store, clock).await? {
        Some(claimed) => perform(config, store, &claimed, clock).await.map(Some),
        None => Ok(None),
    }
}

/// Looks every [`LOOK_EVERY`] until `stop` says so. A rotation running then is given
/// back to be claimed at once by the next worker that looks; what it did stays done.
pub async fn keep_performing(
    config: Config,
    store: Store,
    clock: Arc<dyn Fn() -> i64 + Send + Sync>,
    mut stop: watch::Receiver<bool>,
) {
    let clock = &*clock;
    loop {
        if *stop.borrow() {
            return;
        }
        match claim(&config, &store, clock).await {
            Ok(Some(claimed)) => {
                tracing::info!("performing the triage-key rotation asked for on the portal");
                tokio::select! {
                    done = perform(&config, &store, &claimed, clock) => match done {
                        Ok(r) if r.outcome.finished => {
                            tracing::info!("the triage-key rotation asked for on the portal is done");
                        }
                        Ok(_) => tracing::warn!(
                            "the triage-key rotation asked for on the portal did not finish: its page says why"
                        ),
                        Err(e) => tracing::warn!(
                            cause = %redress_logging::cause_chain(e.as_ref()),
                            "the triage-key rotation asked for on the portal stopped"
                        ),
                    },
                    _ = stop.changed() => {
                        let note = "given back: the worker running it stopped; the next worker to look carries on";
                        let _ = store.release_rotation(&claimed.id, note, clock()).await;
                        return;
                    }
                }
            }
            Ok(None) => {}
            Err(e) => redress_logging::note(
                "worker",
                "key_rotation_look_failed",
                redress_logging::cause_chain(e.as_ref()),
            ),
        }
        tokio::select! {
            () = tokio::time::sleep(LOOK_EVERY) => {}
            _ = stop.changed() => return,
        }
    }
}
