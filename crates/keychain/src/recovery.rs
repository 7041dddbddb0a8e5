//! An investigator's wraps re-made with the recovery identity (ADR 0033), for someone
//! who lost the identity their wraps are made to: each case's recovery wrap gives the
//! case key, which is wrapped to the person's new public key in place of their old
//! wrap. Only case keys are opened: no object, entry or thread key of any case.
//!
//! Like a rotation, it keeps no cursor: what is left is every wrap of the person not
//! made to their new key, and each batch is one transaction writing a wrap only where
//! it is still what was read.

use redress_crypto::{PublicKey, SecretIdentity, unwrap_identity, wrap_identity};
use redress_domain::{CaseId, InvestigatorId};
use redress_store::{RedoneWrap, Store, WrapToRecover};

use crate::KeychainError;
use crate::rotation::{PassReport, Progress, Recorder};

/// Whether `recovery` opens the recovery wrap of one of `investigator`'s cases: `None`
/// if they hold no wrap to try it on.
pub async fn recovery_opens_theirs(
    store: &Store,
    investigator: InvestigatorId,
    recovery: &SecretIdentity,
) -> Result<Option<bool>, KeychainError> {
    // No wrap is made to the empty recipient: this is any of their wraps.
    let Some(w) = store
        .wraps_to_recover(investigator, "", None, 1)
        .await?
        .into_iter()
        .next()
    else {
        return Ok(None);
    };
    Ok(Some(open_case_key(&w, recovery).is_some()))
}

/// The case key, from the case's recovery wrap, if it opens and is the case's.
fn open_case_key(w: &WrapToRecover, recovery: &SecretIdentity) -> Option<SecretIdentity> {
    let key = unwrap_identity(w.recovery_ciphertext.as_deref()?, recovery).ok()?;
    (key.public().to_string() == w.case_recipient).then_some(key)
}

fn rewrap(
    rows: &[WrapToRecover],
    recovery: &SecretIdentity,
    new: &PublicKey,
) -> (Vec<RedoneWrap>, Vec<CaseId>) {
    let new_recipient = new.to_string();
    let mut done = Vec::with_capacity(rows.len());
    let mut unopened = Vec::new();
    for w in rows {
        let redone = open_case_key(w, recovery)
            .and_then(|key| wrap_identity(&key, new).ok())
            .map(|ciphertext| RedoneWrap {
                id: w.id.clone(),
                old_recipient: w.recipient.clone(),
                new_recipient: new_recipient.clone(),
                ciphertext,
            });
        match redone {
            Some(r) => done.push(r),
            None => unopened.push(w.case),
        }
    }
    (done, unopened)
}

/// One pass over every wrap of `investigator` not made to `new`: each replaced by the
/// case key (from the recovery wrap) wrapped to `new`, `batch` per transaction.
pub async fn recover_pass(
    store: &Store,
    investigator: InvestigatorId,
    recovery: &SecretIdentity,
    new: &PublicKey,
    batch: u64,
    progress: &dyn Progress,
    recorder: Option<&Recorder<'_>>,
) -> Result<PassReport, KeychainError> {
    let new_recipient = new.to_string();
    let total = store
        .investigator_wraps_left(investigator, &new_recipient)
        .await?;
    progress.phase("re-wrapping", total);
    let mut report = PassReport::default();
    let mut after: Option<String> = None;
    let mut seen = 0;
    loop {
        let rows = store
            .wraps_to_recover(investigator, &new_recipient, after.as_deref(), batch.max(1))
            .await?;
        let Some(last) = rows.last() else { break };
        after = Some(last.id.clone());
        let n = rows.len() as u64;
        let (recovery, new) = (recovery.clone(), new.clone());
        let (redone, unopened) = tokio::task::spawn_blocking(move || rewrap(&rows, &recovery, &new))
            .await
            .map_err(|_| KeychainError::Interrupted)?;
        report.rewrapped += store.replace_wraps(&redone).await?;
        report.unopened.extend(unopened);
        seen += n;
        progress.advance(n);
        if let Some(r) = recorder {
            r.record(
                "running",
                seen,
                total.max(seen),
                "re-wrapping with the recovery identity",
            )
            .await?;
        }
    }
    Ok(report)
}
