//! `redress keys revoke EMAIL --rekey --recovery-identity FILE` (ADR 0032): the
//! revocation, with the list of the investigator's cases written in its transaction;
//! then each case re-keyed (`redress_keychain::rekey`) and swapped in with its audit
//! entry in one transaction; the old blobs deleted; and a check of every case at the
//! end.
//!
//! A run killed at any point is resumed by running the command again: the
//! `key_rotations` row (kind `rekey`, subject the investigator) says the revocation was
//! done, `rekey_cases` which cases are left, `rekey_leftovers` which old blobs. New blobs
//! of a case whose swap never committed are referenced by nothing, and the orphan sweep
//! removes them.

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context;
use redress_crypto::SecretIdentity;
use redress_domain::{AuditAction, CaseId, ObjectId};
use redress_keychain::rekey::{
    OldKeys, Prepared, Problem, RekeyHolders, check_rekeyed, prepare_rekey, remove_blobs,
};
use redress_keychain::rotation::Progress;
use redress_store::{BlobStore, REKEY_KIND, Store, StoreError, Swapped};

use crate::config::Config;
use crate::key_commands::{Revoked, investigator_by_email, revoke_recording};

/// How often a case that changed while it was re-encrypted is read and tried again
/// before it is left for the next run.
const TRIES: usize = 3;

/// What a revocation with `--rekey` did.
#[derive(Debug, Default)]
pub struct Rekeyed {
    /// The revocation, unless an earlier run did it.
    pub revoked: Option<Revoked>,
    /// Cases the re-keying has to do, in all.
    pub cases: u64,
    /// Re-keyed by this run (not counting cases found purged).
    pub rekeyed: u64,
    /// Cases left as they were, and why (no content).
    pub failed: Vec<(String, String)>,
    /// What the final check found wrong, per case.
    pub problems: Vec<(String, Problem)>,
    /// Every case re-keyed and checked.
    pub finished: bool,
}

fn read_recovery(config: &Config, file: Option<&Path>) -> anyhow::Result<SecretIdentity> {
    let Some(file) = file else {
        anyhow::bail!(
            "--rekey needs --recovery-identity FILE: the recovery identity opens each case's old keys. \
             Nothing was changed."
        );
    };
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("reading {}; nothing was changed", file.display()))?;
    let identity = SecretIdentity::parse(&text).map_err(|_| {
        anyhow::anyhow!("--recovery-identity is not an age identity file; nothing was changed")
    })?;
    let published = crate::keys::intake_keys(config)
        .map_err(anyhow::Error::msg)?
        .recovery;
    if identity.public() != published {
        anyhow::bail!(
            "--recovery-identity is not the recovery identity (keys/recovery.pub holds {published}); \
             nothing was changed"
        );
    }
    Ok(identity)
}

/// Revokes `email` and re-keys every case they held; resumes an earlier run that
/// stopped. Checks the recovery identity before changing anything.
pub async fn revoke_and_rekey(
    config: &Config,
    store: &Store,
    email: &str,
    recovery_file: Option<&Path>,
    progress: &dyn Progress,
    clock: &(dyn Fn() -> i64 + Send + Sync),
) -> anyhow::Result<Rekeyed> {
    let recovery = read_recovery(config, recovery_file)?;
    let keys = crate::keys::intake_keys(config).map_err(anyhow::Error::msg)?;
    let blobs = config.blob_store(store)?;
    let investigator = investigator_by_email(store, email).await?;
    let subject = investigator.id.to_string();
    let mut out = Rekeyed::default();
    let rotation = match store.unfinished_rotation(REKEY_KIND, Some(&subject)).await? {
        Some(r) if r.state == "running" => {
            progress.say("resuming the re-keying an earlier run did not finish");
            r
        }
        _ => {
            let r = store
                .open_rotation(REKEY_KIND, Some(&subject), "requested", clock())
                .await?;
            out.revoked = Some(revoke_recording(store, email, clock(), Some(&r.id)).await?);
            r
        }
    };
    delete_leftovers(store, &blobs, &rotation.id).await?;

    let list = store.rekey_cases(&rotation.id).await?;
    out.cases = list.len() as u64;
    let todo: Vec<CaseId> = list.iter().filter(|(_, done)| !done).map(|(c, _)| *c).collect();
    let mut done = out.cases - todo.len() as u64;
    progress.phase("re-keying", todo.len() as u64);
    let holders = RekeyHolders {
        recovery: &keys.recovery,
        triage: &keys.triage,
    };
    let mut old_keys: HashMap<CaseId, Vec<OldKeys>> = HashMap::new();
    for case in todo {
        match rekey_case(store, &blobs, &rotation.id, case, &recovery, holders, None, clock).await? {
            Outcome::Done(Some(old)) => {
                out.rekeyed += 1;
                old_keys.entry(case).or_default().push(old);
            }
            Outcome::Done(None) => {}
            Outcome::Left(why) => out.failed.push((case_ref(store, case).await?, why)),
        }
        done += 1;
        progress.advance(1);
        store
            .record_rotation(
                &rotation.id,
                "running",
                None,
                done,
                out.cases,
                Some("re-keying"),
                clock(),
            )
            .await?;
    }

    progress.phase("checking", out.cases);
    for (case, _) in &list {
        let olds = old_keys.entry(*case).or_default();
        let mut found = check_rekeyed(store, &blobs, *case, &recovery, olds).await?;
        if found.iter().any(|p| p.mended_by_rekey()) && !olds.is_empty() {
            // Written while the swap happened, to the keys it replaced: this run still
            // has them, so the case is re-keyed again with them at hand.
            progress.say("a case was written to while it was re-keyed: re-keying it again");
            let earlier = olds.first().cloned();
            if let Outcome::Done(old) = rekey_case(
                store,
                &blobs,
                &rotation.id,
                *case,
                &recovery,
                holders,
                earlier,
                clock,
            )
            .await?
            {
                olds.extend(old);
            }
            found = check_rekeyed(store, &blobs, *case, &recovery, olds).await?;
        }
        if !found.is_empty() {
            let r = case_ref(store, *case).await?;
            out.problems.extend(found.into_iter().map(|p| (r.clone(), p)));
        }
        progress.advance(1);
    }
    out.finished = out.failed.is_empty() && out.problems.is_empty();
    if out.finished {
        store
            .record_rotation(
                &rotation.id,
                "done",
                None,
                out.cases,
                out.cases,
                Some("checked"),
                clock(),
            )
            .await?;
        store.forget_rekey_cases(&rotation.id).await?;
    } else {
        store
            .record_rotation(
                &rotation.id,
                "running",
                None,
                out.cases - out.failed.len() as u64,
                out.cases,
                Some("cases left to re-key or failing their check: run the command again"),
                clock(),
            )
            .await?;
    }
    Ok(out)
}

async fn case_ref(store: &Store, case: CaseId) -> anyhow::Result<String> {
    Ok(store
        .case_by_id(case)
        .await?
        .map_or_else(|| "(a case since purged)".to_owned(), |c| c.case_ref.to_string()))
}

/// Deletes the old blobs committed re-keys left, then forgets them.
async fn delete_leftovers(store: &Store, blobs: &BlobStore, rotation: &str) -> anyhow::Result<()> {
    let left = store.rekey_leftovers(rotation).await?;
    for batch in left.chunks(500) {
        for id in batch {
            blobs.remove(*id).await?;
        }
        store.forget_rekey_leftovers(batch).await?;
    }
    Ok(())
}

enum Outcome {
    /// Re-keyed (with its old keys, for the check), or found gone.
    Done(Option<OldKeys>),
    /// Left as it was, for the next run.
    Left(String),
}

/// Re-keys one case: new blobs first, then the swap with its audit entry in one
/// transaction, then the old blobs deleted. A case that changed while it was being
/// re-encrypted is read again. `earlier`: keys this run replaced, to open what was
/// sealed to them.
#[allow(clippy::too_many_arguments)]
async fn rekey_case(
    store: &Store,
    blobs: &BlobStore,
    rotation: &str,
    case: CaseId,
    recovery: &SecretIdentity,
    holders: RekeyHolders<'_>,
    earlier: Option<OldKeys>,
    clock: &(dyn Fn() -> i64 + Send + Sync),
) -> anyhow::Result<Outcome> {
    for _ in 0..TRIES {
        let Some(contents) = store.rekey_contents(case).await? else {
            store.mark_rekey_case_done(rotation, case).await?;
            return Ok(Outcome::Done(None));
        };
        let case_ref = contents.case.case_ref.to_string();
        let hour = redress_domain::hour_floor(contents.case.received_at);
        let prepared = match prepare_rekey(store, blobs, contents, recovery, holders, earlier.clone()).await {
            Ok(p) => p,
            Err(redress_keychain::rekey::RekeyError::Store(e)) => return Err(e.into()),
            Err(e) => return Ok(Outcome::Left(e.to_string())),
        };
        let Prepared { swap, old, new_blobs } = prepared;
        if !all_present(blobs, &new_blobs).await {
            // The sweep took a new blob before the swap (a case that took longer than
            // its grace period): try again.
            remove_blobs(blobs, &new_blobs).await;
            continue;
        }
        let tx = store.begin_audited().await?;
        let swapped = tx.swap_rekeyed_case(rotation, &swap).await?;
        if swapped == Swapped::Done {
            let target = format!("case:{case_ref}");
            redress_audit::append(
                &tx,
                &redress_audit::NewEntry {
                    actor: "cli",
                    action: AuditAction::CaseRekey,
                    target: Some(&target),
                    at: clock(),
                    timing: redress_audit::Timing::Exact,
                },
            )
            .await?;
        }
        match tx.commit().await {
            Ok(()) => {}
            // Whether it committed is unknown: the new blobs may be the case's now. The
            // next run finds out; the sweep removes them if not.
            Err(e @ StoreError::CommitUnknown(_)) => return Err(e.into()),
            Err(e) => {
                remove_blobs(blobs, &new_blobs).await;
                return Err(e.into());
            }
        }
        match swapped {
            Swapped::Done => {
                // Said no more precisely than the case's own hour, like the blobs they
                // replace; done after the commit so that the sweep never sees them old
                // and unreferenced.
                for id in &new_blobs {
                    let _ = blobs.set_times(*id, hour).await;
                }
                let old_ids: Vec<ObjectId> = swap.objects.iter().map(|(o, _, _)| *o).collect();
                for id in &old_ids {
                    blobs.remove(*id).await?;
                }
                store.forget_rekey_leftovers(&old_ids).await?;
                return Ok(Outcome::Done(Some(old)));
            }
            Swapped::Gone => {
                remove_blobs(blobs, &new_blobs).await;
                return Ok(Outcome::Done(None));
            }
            Swapped::Changed => remove_blobs(blobs, &new_blobs).await,
        }
    }
    Ok(Outcome::Left(
        "the case kept changing while it was re-encrypted".to_owned(),
    ))
}

/// Whether every blob of `ids` is still there.
async fn all_present(blobs: &BlobStore, ids: &[ObjectId]) -> bool {
    let blobs = blobs.clone();
    let ids = ids.to_vec();
    tokio::task::spawn_blocking(move || ids.iter().all(|id| blobs.open_blob(*id).is_ok()))
        .await
        .unwrap_or(false)
}

/// What the command prints at the end.
pub fn render(email: &str, r: &Rekeyed) -> String {
    let mut out = match &r.revoked {
        Some(revoked) => crate::key_commands::render_revoked(email, revoked),
        None => format!("{email} was revoked by an earlier run; resuming its re-keying.\n"),
    };
    out.push_str(&format!(
        "Re-keyed {} of their {} cases in this run: each has a new case key and thread key, everything \
         it stores is re-encrypted to them, and the reporter's follow-up sessions ended (the receipt \
         still opens the case).\n",
        r.rekeyed, r.cases
    ));
    if r.cases == 0 && r.revoked.as_ref().is_some_and(|v| v.wraps == 0) {
        out.push_str(
            "They held no wraps, so no case was re-keyed. If they were revoked earlier without \
             --rekey, which cases they held is no longer known.\n",
        );
    }
    if r.finished {
        out.push_str(&format!(
            "Checked all {} cases with the recovery identity: the old keys open nothing of them.\n",
            r.cases
        ));
        return out;
    }
    for (case, why) in &r.failed {
        out.push_str(&format!("  {case}: not re-keyed: {why}\n"));
    }
    for (case, problem) in &r.problems {
        out.push_str(&format!("  {case}: check failed: {problem}\n"));
    }
    out.push_str("Not finished: run the same command again.\n");
    out
}
