//! Moving a holder's wraps from old keys to a new one (ADR 0030): the case key is opened
//! with an old identity and wrapped to the new public key, never anything else; evidence
//! and entries are not touched. Batches are opened and wrapped on every core, then
//! written in one transaction each, only where the wrap is still what was read.
//!
//! Nothing here keeps a cursor: the wraps still to do are those whose recorded recipient
//! is not the new key, so a rotation killed at any point is resumed by running it again.
//! Progress goes to the rotation's row (for the portal's key pages) and to a
//! [`Progress`] display (a terminal bar, plain lines, or nothing).

use std::collections::HashMap;
use std::time::Duration;

use redress_crypto::{PublicKey, SecretIdentity, unwrap_identity, wrap_identity};
use redress_domain::{CaseId, Holder};
use redress_store::{Pick, RedoneWrap, Store, WrapToRedo};

use crate::KeychainError;

/// Where a long operation shows how far it is. Called between batches, never with a
/// secret or anything of a case but counts.
pub trait Progress: Send + Sync {
    /// A new phase of `total` steps begins.
    fn phase(&self, what: &str, total: u64);
    /// `n` more steps are done.
    fn advance(&self, n: u64);
    /// A line for the person watching.
    fn say(&self, line: &str);
}

/// Shows nothing.
#[derive(Debug, Default)]
pub struct Quiet;

impl Progress for Quiet {
    fn phase(&self, _: &str, _: u64) {}
    fn advance(&self, _: u64) {}
    fn say(&self, _: &str) {}
}

/// One holder's wraps, moved to `new` from any of `old`.
#[derive(Debug)]
pub struct Rewrap<'a> {
    pub holder: Holder,
    /// Identities that may open the wraps still to do: the key being retired, and any
    /// earlier one a previous rotation did not finish with.
    pub old: &'a [SecretIdentity],
    pub new: &'a PublicKey,
    /// Wraps per transaction.
    pub batch: u64,
}

/// What a pass did.
#[derive(Debug, Default)]
pub struct PassReport {
    pub rewrapped: u64,
    /// Wraps none of the old identities opens: their cases keep their old wrap, and the
    /// old key cannot be destroyed until someone who can open them moves them.
    pub unopened: Vec<CaseId>,
}

/// Where rotation progress is recorded besides the display.
pub struct Recorder<'a> {
    pub store: &'a Store,
    /// The `key_rotations` row.
    pub rotation: &'a str,
    pub clock: &'a (dyn Fn() -> i64 + Send + Sync),
}

impl std::fmt::Debug for Recorder<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("rotation", &self.rotation)
            .finish_non_exhaustive()
    }
}

impl Recorder<'_> {
    pub async fn record(&self, state: &str, done: u64, total: u64, note: &str) -> Result<(), KeychainError> {
        Ok(self
            .store
            .record_rotation(
                self.rotation,
                state,
                None,
                done,
                total,
                Some(note),
                (self.clock)(),
            )
            .await?)
    }
}

/// The old identities a pass tries, each with its public key (the recorded recipient
/// that says which to try first). Shared by the batches' blocking tasks.
type OldKeys = std::sync::Arc<Vec<(String, SecretIdentity)>>;

/// `f` of each of `items`, in order, the items split between every core.
fn on_every_core<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let chunk = items.len().div_ceil(threads).max(1);
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(f).collect::<Vec<R>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| match h.join() {
                Ok(done) => done,
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    })
}

/// Opens and re-wraps `rows` on every core. Returns the re-made wraps and the cases
/// whose wrap no old identity opens.
fn rewrap_rows(rows: &[WrapToRedo], old: &OldKeys, new: &PublicKey) -> (Vec<RedoneWrap>, Vec<CaseId>) {
    let new_recipient = new.to_string();
    let mut done = Vec::with_capacity(rows.len());
    let mut unopened = Vec::new();
    for (w, redone) in rows
        .iter()
        .zip(on_every_core(rows, |w| rewrap_one(w, old, new, &new_recipient)))
    {
        match redone {
            Some(r) => done.push(r),
            None => unopened.push(w.case),
        }
    }
    (done, unopened)
}

/// The recorded recipient picks which identity to try first; it is a hint, not trusted:
/// every old identity is tried before a wrap counts as unopened.
fn rewrap_one(w: &WrapToRedo, old: &OldKeys, new: &PublicKey, new_recipient: &str) -> Option<RedoneWrap> {
    let first = old.iter().filter(|(public, _)| *public == w.recipient);
    let rest = old.iter().filter(|(public, _)| *public != w.recipient);
    let secret = first
        .chain(rest)
        .find_map(|(_, id)| unwrap_identity(&w.ciphertext, id).ok())?;
    let ciphertext = wrap_identity(&secret, new).ok()?;
    Some(RedoneWrap {
        id: w.id.clone(),
        old_recipient: w.recipient.clone(),
        new_recipient: new_recipient.to_owned(),
        ciphertext,
    })
}

/// How often a pass writes its progress to the rotation's row: often enough for the
/// portal's page, which refreshes every few seconds, without a commit per batch.
const RECORD_EVERY: Duration = Duration::from_secs(1);

/// One pass over every wrap of the holder that is not made to the new key.
///
/// Three stages overlap, so the cores spend the pass on the crypto: the next batch is
/// read while this one is re-wrapped, and this one is written while the next is.
pub async fn rewrap_pass(
    store: &Store,
    job: &Rewrap<'_>,
    progress: &dyn Progress,
    recorder: Option<&Recorder<'_>>,
) -> Result<PassReport, KeychainError> {
    let new_recipient = job.new.to_string();
    let total = store
        .count_wraps_for_rotation(job.holder, &new_recipient, false)
        .await?;
    progress.phase("re-wrapping", total);
    let old: OldKeys = std::sync::Arc::new(
        job.old
            .iter()
            .map(|id| (id.public().to_string(), id.clone()))
            .collect(),
    );
    let read = |after: Option<String>| {
        let (store, holder, recipient, batch) = (store.clone(), job.holder, new_recipient.clone(), job.batch);
        tokio::spawn(async move {
            store
                .wraps_for_rotation(holder, &recipient, after.as_deref(), batch)
                .await
        })
    };
    let joined = |_: tokio::task::JoinError| KeychainError::Interrupted;
    let mut report = PassReport::default();
    let mut seen = 0;
    let (mut recorded, mut unrecorded) = (std::time::Instant::now(), false);
    let mut reading = read(None);
    let mut writing: Option<tokio::task::JoinHandle<Result<u64, redress_store::StoreError>>> = None;
    loop {
        let rows = reading.await.map_err(joined)??;
        let Some(last) = rows.last() else { break };
        // Ids only grow: the next batch does not depend on this one's write.
        reading = read(Some(last.id.clone()));
        let n = rows.len() as u64;
        let (old, new) = (old.clone(), job.new.clone());
        let crypto = tokio::task::spawn_blocking(move || rewrap_rows(&rows, &old, &new));
        if let Some(w) = writing.take() {
            report.rewrapped += w.await.map_err(joined)??;
        }
        let (redone, unopened) = crypto.await.map_err(joined)?;
        let writer = store.clone();
        writing = Some(tokio::spawn(async move { writer.replace_wraps(&redone).await }));
        report.unopened.extend(unopened);
        seen += n;
        progress.advance(n);
        unrecorded = true;
        if let Some(r) = recorder
            && recorded.elapsed() >= RECORD_EVERY
        {
            r.record("running", seen, total.max(seen), "re-wrapping").await?;
            (recorded, unrecorded) = (std::time::Instant::now(), false);
        }
    }
    if let Some(w) = writing.take() {
        report.rewrapped += w.await.map_err(joined)??;
    }
    // A pass that found nothing leaves the row as it was (a note of waiting, say).
    if let Some(r) = recorder
        && unrecorded
    {
        r.record("running", seen, total.max(seen), "re-wrapping").await?;
    }
    Ok(report)
}

/// What the verification pass found.
#[derive(Debug, Default)]
pub struct Verified {
    /// Wraps opened with the new identity.
    pub checked: u64,
    /// Cases whose wrap did not open, or held a key that is not the case's.
    pub failed: Vec<CaseId>,
    /// Wraps still made to another key.
    pub left: u64,
}

/// Opens the holder's wraps made to the new key with the new identity: every one, or
/// `sample` of them picked at random, and checks each holds the case's own key.
pub async fn verify(
    store: &Store,
    holder: Holder,
    new: &SecretIdentity,
    sample: Option<u64>,
    batch: u64,
    progress: &dyn Progress,
) -> Result<Verified, KeychainError> {
    let recipient = new.public().to_string();
    let total = store.count_wraps_for_rotation(holder, &recipient, true).await?;
    let mut out = Verified {
        left: store.count_wraps_for_rotation(holder, &recipient, false).await?,
        ..Verified::default()
    };
    let sample = sample.filter(|n| total > *n);
    progress.phase("verifying", sample.unwrap_or(total));
    let mut after: Option<String> = None;
    loop {
        let pick = match sample {
            Some(n) => Pick::Random(n),
            None => Pick::After {
                after: after.as_deref(),
                limit: batch,
            },
        };
        let rows = store.wraps_to_verify(holder, &recipient, pick).await?;
        let Some(last) = rows.last() else { break };
        after = Some(last.id.clone());
        let id = new.clone();
        let (checked, failed) = tokio::task::spawn_blocking(move || {
            let opened = on_every_core(&rows, |w| {
                unwrap_identity(&w.ciphertext, &id)
                    .is_ok_and(|key| key.public().to_string() == w.case_recipient)
            });
            let failed: Vec<CaseId> = rows
                .iter()
                .zip(opened)
                .filter(|(_, ok)| !ok)
                .map(|(w, _)| w.case)
                .collect();
            (rows.len() as u64, failed)
        })
        .await
        .map_err(|_| KeychainError::Interrupted)?;
        out.checked += checked;
        out.failed.extend(failed);
        progress.advance(checked);
        if sample.is_some() {
            break;
        }
    }
    Ok(out)
}

/// Which organisation key a rotation moves: it names the holder of the wraps and the
/// key each intake process reports sealing to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrgKey {
    Triage,
    Recovery,
}

impl OrgKey {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Triage => "triage",
            Self::Recovery => "recovery",
        }
    }

    pub fn holder(self) -> Holder {
        match self {
            Self::Triage => Holder::Triage,
            Self::Recovery => Holder::Recovery,
        }
    }
}

/// How an organisation-key rotation runs.
pub struct OrgRotation<'a> {
    pub key: OrgKey,
    pub old: &'a [SecretIdentity],
    pub new: &'a SecretIdentity,
    pub batch: u64,
    /// Open every wrap at the end (`--verify all`), or this many picked at random.
    pub verify_sample: Option<u64>,
    /// How long to wait for every intake process to seal to the new key.
    pub door_wait: Duration,
    /// How long after every door seals to the new key a last sweep starts.
    pub settle: Duration,
    /// Today, `YYYY-MM-DD`, for the registry.
    pub today: String,
    pub clock: &'a (dyn Fn() -> i64 + Send + Sync),
}

impl std::fmt::Debug for OrgRotation<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrgRotation")
            .field("key", &self.key)
            .field("batch", &self.batch)
            .finish_non_exhaustive()
    }
}

/// How an organisation-key rotation ended.
#[derive(Debug)]
pub struct OrgRotated {
    pub rewrapped: u64,
    pub verified: Verified,
    /// Intake processes still sealing to an old key when the wait ran out.
    pub stale_doors: Vec<String>,
    pub unopened: Vec<CaseId>,
    /// The old keys are retired: no wrap and no door needs them.
    pub finished: bool,
}

/// Moves every wrap of the key's holder to the new identity's public key, waits until
/// every intake process seals to it (sweeping up what they sealed to the old one
/// meanwhile), verifies, and retires the old versions in the registry.
pub async fn rotate_org_key(
    store: &Store,
    r: &OrgRotation<'_>,
    progress: &dyn Progress,
) -> Result<OrgRotated, KeychainError> {
    let kind = r.key.as_str();
    let new_public = r.new.public();
    let new_recipient = new_public.to_string();
    for old in r.old {
        store
            .begin_key_version(kind, &old.public().to_string(), &new_recipient, &r.today)
            .await?;
    }
    store.refresh_wrap_statistics().await?;
    let rotation = store.open_rotation(kind, None, "running", (r.clock)()).await?;
    store
        .record_rotation(
            &rotation.id,
            "running",
            Some(&new_recipient),
            0,
            0,
            Some("starting"),
            (r.clock)(),
        )
        .await?;
    keeping_alive(
        store,
        &rotation.id,
        r.clock,
        move_wraps(store, r, &rotation.id, progress),
    )
    .await
}

/// How often a process working on a rotation touches its row, and how long a row
/// untouched means that no process works on it any more (it was killed): another may
/// then claim it ([`Store::claim_rotation`]).
pub const ROTATION_TOUCH_EVERY: Duration = Duration::from_secs(10);
pub const ROTATION_LEASE_SECS: i64 = 60;

/// Runs `work`, touching rotation `id`'s row every [`ROTATION_TOUCH_EVERY`] meanwhile,
/// through waits and the verification pass too, which record no progress.
async fn keeping_alive<T>(
    store: &Store,
    id: &str,
    clock: &(dyn Fn() -> i64 + Send + Sync),
    work: impl std::future::Future<Output = T>,
) -> T {
    tokio::pin!(work);
    loop {
        tokio::select! {
            done = &mut work => return done,
            () = tokio::time::sleep(ROTATION_TOUCH_EVERY) => {
                // A touch that fails is tried again at the next tick; the work itself
                // reports the database being away.
                let _ = store.touch_rotation(id, clock()).await;
            }
        }
    }
}

/// The body of [`rotate_org_key`], on the rotation's row `rotation`.
async fn move_wraps(
    store: &Store,
    r: &OrgRotation<'_>,
    rotation: &str,
    progress: &dyn Progress,
) -> Result<OrgRotated, KeychainError> {
    let kind = r.key.as_str();
    let new_public = r.new.public();
    let new_recipient = new_public.to_string();
    let recorder = Recorder {
        store,
        rotation,
        clock: r.clock,
    };
    let job = Rewrap {
        holder: r.key.holder(),
        old: r.old,
        new: &new_public,
        batch: r.batch,
    };
    let started = std::time::Instant::now();
    let mut rewrapped = 0;
    let mut unopened: HashMap<CaseId, ()> = HashMap::new();
    let mut said_waiting = false;
    // When every live door was first seen sealing to the new key. A report a door began
    // sealing just before it switched commits a moment later: only a pass that starts
    // `settle` after that, and finds nothing, ends the sweeps.
    let mut doors_new_since: Option<std::time::Instant> = None;
    let stale_doors = loop {
        let pass_started = std::time::Instant::now();
        let pass = rewrap_pass(store, &job, progress, Some(&recorder)).await?;
        rewrapped += pass.rewrapped;
        let found_new = pass.unopened.iter().any(|c| !unopened.contains_key(c));
        for c in pass.unopened {
            unopened.insert(c, ());
        }
        let stale: Vec<String> = store
            .doors_sealing((r.clock)())
            .await?
            .into_iter()
            .filter(|d| {
                let sealing = match r.key {
                    OrgKey::Triage => &d.triage,
                    OrgKey::Recovery => &d.recovery,
                };
                *sealing != new_recipient
            })
            .map(|d| d.process)
            .collect();
        if stale.is_empty() {
            let since = *doors_new_since.get_or_insert_with(std::time::Instant::now);
            if pass.rewrapped == 0 && !found_new && pass_started >= since + r.settle {
                break stale;
            }
        } else {
            doors_new_since = None;
            if started.elapsed() >= r.door_wait {
                break stale;
            }
            if !said_waiting {
                progress.say(&format!(
                    "waiting for {} intake process(es) to seal to the new key (each re-reads its key files every few seconds)",
                    stale.len()
                ));
                recorder
                    .record(
                        "running",
                        rewrapped,
                        rewrapped,
                        "waiting for intake processes to use the new key",
                    )
                    .await?;
                said_waiting = true;
            }
        }
        if pass.rewrapped == 0 {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    };
    // The statistics taken before say no wrap is made to the new key; with them the
    // planner would scan the table for every batch of the verification.
    store.refresh_wrap_statistics().await?;
    let verified = verify(store, r.key.holder(), r.new, r.verify_sample, r.batch, progress).await?;
    let finished =
        stale_doors.is_empty() && unopened.is_empty() && verified.failed.is_empty() && verified.left == 0;
    if finished {
        store.retire_key_versions(kind, &r.today).await?;
    }
    let note = if finished {
        format!(
            "done: {rewrapped} wraps moved, {} checked with the new key",
            verified.checked
        )
    } else {
        format!(
            "not finished: {} intake process(es) on the old key, {} wraps no old identity opens, {} failed the check",
            stale_doors.len(),
            unopened.len(),
            verified.failed.len()
        )
    };
    store
        .record_rotation(
            rotation,
            if finished { "done" } else { "failed" },
            Some(&new_recipient),
            rewrapped,
            rewrapped,
            Some(&note),
            (r.clock)(),
        )
        .await?;
    Ok(OrgRotated {
        rewrapped,
        verified,
        stale_doors,
        unopened: unopened.into_keys().collect(),
        finished,
    })
}
