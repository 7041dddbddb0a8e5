//! Re-keying a case (ADR 0032): a new case key and thread key, and everything the old
//! ones sealed sealed again to the new ones, for a case whose key a leaked identity may
//! have opened. The old case key is opened with the recovery identity; plaintext exists
//! only in memory, 64 KiB at a time for files, and is never written or logged.
//!
//! Blobs are re-encrypted into new objects (the store swaps them in with everything
//! else in one transaction, [`redress_store::Audited::swap_rekeyed_case`]). Sealed
//! documents that name an object (the submission's evidence list, a reporter message's
//! files, the triage summary's custody) name it by id, so in their plaintext each old
//! id is replaced by its copy's, byte for byte: an id is a random UUID, written in JSON
//! as a quoted string of fixed length, so nothing else matches and sizes do not change.
//!
//! The new case key is wrapped to the holders the trusted sources name: the recovery
//! and triage keys as the key files give them, each assignee's key as `investigators`
//! gives it. The new thread key goes to the reporter's receipt-derived key, which only
//! the old reporter wrap's recorded recipient tells (see the ADR for what that trusts).

use std::io::{self, Read, Write};

use redress_crypto::{
    CryptoError, PublicKey, SecretIdentity, open, open_reader, seal, seal_writer, unwrap_identity,
};
use redress_domain::{CaseId, Holder, HolderKind, ObjectId, ObjectKind, SealedTo};
use redress_store::{BlobStore, CaseContents, PendingBlob, RekeySwap, Store, StoreError};
use zeroize::Zeroizing;

use crate::{KeychainError, NewCaseKeys, open_case_key, open_thread_key, wrap};

/// Why a case could not be re-keyed or checked. None of these carries a secret or any
/// content.
#[derive(Debug, thiserror::Error)]
pub enum RekeyError {
    #[error(transparent)]
    Keychain(#[from] KeychainError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error("blob store: {0}")]
    Io(#[from] io::Error),
    /// A key opened from a wrap is not the one the case row names: a damaged or
    /// tampered wrap or row. Nothing is re-keyed with it.
    #[error("the {0} opened from its wrap is not the one the case names")]
    NotTheCasesKey(&'static str),
    #[error("a sealed document names an object id more than once in a way that cannot be rewritten")]
    Renumber,
    #[error("a re-encrypting thread stopped before it finished")]
    Interrupted,
}

/// The public keys a re-keyed case key is wrapped to besides its assignees', from the
/// key files.
#[derive(Clone, Copy, Debug)]
pub struct RekeyHolders<'a> {
    pub recovery: &'a PublicKey,
    /// Wrapped to only while the case is not triaged.
    pub triage: &'a PublicKey,
}

/// A case's keys before the re-key: kept in memory for the final check that they open
/// nothing of the case any more, then dropped.
#[derive(Debug)]
pub struct OldKeys {
    case: SecretIdentity,
    thread: SecretIdentity,
}

impl OldKeys {
    /// The old case key's public half.
    pub fn case_public(&self) -> PublicKey {
        self.case.public()
    }
}

/// A case re-encrypted, its new blobs committed but referenced by nothing yet.
#[derive(Debug)]
pub struct Prepared {
    pub swap: RekeySwap,
    pub old: OldKeys,
    /// The new blobs: to remove if the swap does not happen.
    pub new_blobs: Vec<ObjectId>,
}

/// Opens a case's current keys with the recovery identity, checking each against the
/// case row.
async fn open_current(
    store: &Store,
    contents: &CaseContents,
    recovery: &SecretIdentity,
) -> Result<OldKeys, RekeyError> {
    let case_id = contents.case.id;
    let case = open_case_key(store, case_id, Holder::Recovery, recovery).await?;
    if case.public().to_string() != contents.case.case_recipient {
        return Err(RekeyError::NotTheCasesKey("case key"));
    }
    let thread = open_thread_key(store, case_id, &case).await?;
    if thread.public().to_string() != contents.case.thread_recipient {
        return Err(RekeyError::NotTheCasesKey("thread key"));
    }
    Ok(OldKeys { case, thread })
}

fn key_of(keys: &OldKeys, to: SealedTo) -> &SecretIdentity {
    match to {
        SealedTo::Case => &keys.case,
        SealedTo::Thread => &keys.thread,
    }
}

/// Replaces each `"old-id"` in a document's plaintext with `"new-id"`.
fn renumber(plain: &[u8], ids: &[(ObjectId, ObjectId)]) -> Result<Zeroizing<Vec<u8>>, RekeyError> {
    let mut out = Zeroizing::new(plain.to_vec());
    for (old, new) in ids {
        let (old, new) = (format!("\"{old}\""), format!("\"{new}\""));
        if old.len() != new.len() {
            return Err(RekeyError::Renumber);
        }
        let (old, new) = (old.as_bytes(), new.as_bytes());
        let mut at = 0;
        while let Some(found) = out[at..].windows(old.len()).position(|w| w == old) {
            let start = at + found;
            out[start..start + new.len()].copy_from_slice(new);
            at = start + new.len();
        }
    }
    Ok(out)
}

/// Whether the object is a sealed document (small, may name other objects) rather than
/// a file (any size, streamed as it is).
fn is_document(kind: ObjectKind) -> bool {
    match kind {
        ObjectKind::Submission | ObjectKind::TriageSummary => true,
        ObjectKind::Evidence | ObjectKind::Scrubbed => false,
    }
}

/// Copies a file blob from `from` into `out`, decrypting with `old` and encrypting to
/// `new` as it goes, one buffer at a time. Blocking.
fn reseal_file(
    blobs: &BlobStore,
    from: ObjectId,
    old: &SecretIdentity,
    new: &PublicKey,
    out: PendingBlob,
) -> Result<u64, RekeyError> {
    let mut plain = open_reader(old, blobs.open_blob(from)?)?;
    let mut sealing = seal_writer(&[new], out)?;
    let mut buf = Zeroizing::new(vec![0u8; 64 * 1024]);
    loop {
        let n = plain.read(&mut buf).map_err(CryptoError::Damaged)?;
        if n == 0 {
            break;
        }
        sealing.write_all(&buf[..n])?;
    }
    Ok(sealing.finish()?.commit()?)
}

/// Re-encrypts a document blob into `out`, with object ids renumbered. Blocking.
fn reseal_document(
    blobs: &BlobStore,
    from: ObjectId,
    old: &SecretIdentity,
    new: &PublicKey,
    ids: &[(ObjectId, ObjectId)],
    mut out: PendingBlob,
) -> Result<u64, RekeyError> {
    let mut ciphertext = Vec::new();
    blobs.open_blob(from)?.read_to_end(&mut ciphertext)?;
    let plain = renumber(&open(old, &ciphertext)?, ids)?;
    out.write_all(&seal(&[new], &plain)?)?;
    Ok(out.commit()?)
}

/// Re-encrypts every object of a case into the new blobs `pending` (one per object, in
/// order). Blocking; with the database backend, run on a blocking thread.
fn reseal_objects(
    blobs: &BlobStore,
    contents: &CaseContents,
    old: &OldKeys,
    new: &NewCaseKeys,
    pending: Vec<PendingBlob>,
) -> Result<Vec<(ObjectId, ObjectId, u64)>, RekeyError> {
    let ids: Vec<(ObjectId, ObjectId)> = contents
        .objects
        .iter()
        .zip(&pending)
        .map(|(o, p)| (o.id, p.id()))
        .collect();
    let mut done = Vec::with_capacity(pending.len());
    for (object, out) in contents.objects.iter().zip(pending) {
        let new_id = out.id();
        let from = key_of(old, object.sealed_to);
        let to = match object.sealed_to {
            SealedTo::Case => new.case_public(),
            SealedTo::Thread => new.thread_public(),
        };
        let size = if is_document(object.kind) {
            reseal_document(blobs, object.id, from, &to, &ids, out)?
        } else {
            reseal_file(blobs, object.id, from, &to, out)?
        };
        done.push((object.id, new_id, size));
    }
    Ok(done)
}

/// Re-keys a case in memory and in new blobs: opens its keys with the recovery identity,
/// makes new ones, re-encrypts every object into a new blob, re-seals every entry and
/// its labels, and makes every wrap the case will have. Nothing stored changes; the
/// caller swaps the result in, or removes `new_blobs`.
pub async fn prepare_rekey(
    store: &Store,
    blobs: &BlobStore,
    contents: CaseContents,
    recovery: &SecretIdentity,
    holders: RekeyHolders<'_>,
) -> Result<Prepared, RekeyError> {
    let old = open_current(store, &contents, recovery).await?;
    let new = NewCaseKeys::generate();
    let wraps = new_wraps(&new, &contents, holders)?;
    let mut pending = Vec::with_capacity(contents.objects.len());
    for _ in &contents.objects {
        pending.push(blobs.begin().await?);
    }
    let new_ids: Vec<ObjectId> = pending.iter().map(PendingBlob::id).collect();
    let ids: Vec<(ObjectId, ObjectId)> = contents
        .objects
        .iter()
        .map(|o| o.id)
        .zip(new_ids.iter().copied())
        .collect();
    let (contents, old, new, resealed) = {
        let blobs = blobs.clone();
        tokio::task::spawn_blocking(move || {
            let r = reseal_objects(&blobs, &contents, &old, &new, pending);
            (contents, old, new, r)
        })
        .await
        .map_err(|_| RekeyError::Interrupted)?
    };
    let objects = match resealed {
        Ok(o) => o,
        Err(e) => {
            remove_blobs(blobs, &new_ids).await;
            return Err(e);
        }
    };
    let sealed = reseal_entries(&contents, &old, &new, &ids);
    let (entries, labels) = match sealed {
        Ok(s) => s,
        Err(e) => {
            remove_blobs(blobs, &new_ids).await;
            return Err(e);
        }
    };
    Ok(Prepared {
        swap: RekeySwap {
            case: contents.case.id,
            case_recipient: new.case_public().to_string(),
            thread_recipient: new.thread_public().to_string(),
            objects,
            entries,
            labels,
            wraps,
            snapshot: contents.snapshot,
        },
        old,
        new_blobs: new_ids,
    })
}

/// The case's entries and labels sealed again to the new keys, object ids renumbered.
type Resealed = (Vec<(String, Vec<u8>)>, Option<Vec<u8>>);

fn reseal_entries(
    contents: &CaseContents,
    old: &OldKeys,
    new: &NewCaseKeys,
    ids: &[(ObjectId, ObjectId)],
) -> Result<Resealed, RekeyError> {
    let mut entries = Vec::with_capacity(contents.entries.len());
    for e in &contents.entries {
        let to = match e.kind.sealed_to() {
            SealedTo::Case => new.case_public(),
            SealedTo::Thread => new.thread_public(),
        };
        let plain = renumber(&open(key_of(old, e.kind.sealed_to()), &e.ciphertext)?, ids)?;
        entries.push((e.id.clone(), seal(&[&to], &plain)?));
    }
    let labels = match &contents.labels {
        Some(l) => Some(seal(&[&new.case_public()], &open(&old.case, l)?)?),
        None => None,
    };
    Ok((entries, labels))
}

/// Every wrap of a re-keyed case: the case key to recovery, to triage while the case
/// waits for it, and to each assignee; the thread key to the case key and the reporter.
fn new_wraps(
    new: &NewCaseKeys,
    contents: &CaseContents,
    holders: RekeyHolders<'_>,
) -> Result<Vec<redress_store::NewWrap>, RekeyError> {
    let mut wraps = vec![wrap(&new.case, Holder::Recovery, holders.recovery)?];
    if !contents.case.triaged {
        wraps.push(wrap(&new.case, Holder::Triage, holders.triage)?);
    }
    for i in &contents.assignees {
        let key = PublicKey::parse(&i.recipient)?;
        wraps.push(wrap(&new.case, Holder::Investigator(i.id), &key)?);
    }
    wraps.push(wrap(&new.thread, Holder::CaseKey, &new.case_public())?);
    if let Some(reporter) = &contents.reporter_recipient {
        wraps.push(wrap(&new.thread, Holder::Reporter, &PublicKey::parse(reporter)?)?);
    }
    Ok(wraps)
}

/// Removes blobs a re-key wrote and will not use; what fails is left to the orphan
/// sweep.
pub async fn remove_blobs(blobs: &BlobStore, ids: &[ObjectId]) {
    for id in ids {
        let _ = blobs.remove(*id).await;
    }
}

/// What the check of a re-keyed case found wrong, in words with no content.
pub type Problems = Vec<&'static str>;

/// Checks a re-keyed case: the recovery identity opens its case key and, through it, its
/// thread key, both the ones the case row names; every assignee has a wrap to their
/// current key; every entry and the labels open with the new keys, and every blob's
/// header does (its chunks were authenticated as they were written). With `old`, also
/// that the old keys open no wrap, blob, entry or label of the case.
pub async fn check_rekeyed(
    store: &Store,
    blobs: &BlobStore,
    case: CaseId,
    recovery: &SecretIdentity,
    old: Option<&OldKeys>,
) -> Result<Problems, RekeyError> {
    let Some(contents) = store.rekey_contents(case).await? else {
        return Ok(Vec::new());
    };
    let mut problems = Vec::new();
    let keys = match open_current(store, &contents, recovery).await {
        Ok(k) => k,
        Err(_) => {
            problems.push("the recovery identity does not open the case's keys");
            return Ok(problems);
        }
    };
    if let Some(old) = old {
        if old.case.public() == keys.case.public() {
            problems.push("the case still has its old case key");
        }
        for kind in HolderKind::ALL {
            for w in store.wraps(case, *kind).await? {
                if unwrap_identity(&w.ciphertext, &old.case).is_ok()
                    || unwrap_identity(&w.ciphertext, &old.thread).is_ok()
                {
                    problems.push("an old key opens a wrap");
                }
            }
        }
    }
    let investigator_wraps = store.wraps(case, HolderKind::Investigator).await?;
    for i in &contents.assignees {
        if !investigator_wraps
            .iter()
            .any(|w| w.holder == Holder::Investigator(i.id) && w.holder_recipient == i.recipient)
        {
            problems.push("an assignee has no wrap to their key");
        }
    }
    for e in &contents.entries {
        let to = e.kind.sealed_to();
        if open(key_of(&keys, to), &e.ciphertext).is_err() {
            problems.push("an entry does not open with the new key");
        }
        if old.is_some_and(|o| open(key_of(o, to), &e.ciphertext).is_ok()) {
            problems.push("an old key opens an entry");
        }
    }
    if let Some(l) = &contents.labels {
        if open(&keys.case, l).is_err() {
            problems.push("the labels do not open with the new key");
        }
        if old.is_some_and(|o| open(&o.case, l).is_ok()) {
            problems.push("an old key opens the labels");
        }
    }
    let objects = contents.objects.clone();
    let blobs = blobs.clone();
    let old_keys = old.map(|o| (o.case.clone(), o.thread.clone()));
    let found = tokio::task::spawn_blocking(move || {
        let mut found: Problems = Vec::new();
        for o in &objects {
            let header_opens = |id: &SecretIdentity| -> bool {
                blobs
                    .open_blob(o.id)
                    .is_ok_and(|reader| open_reader(id, reader).is_ok())
            };
            if !header_opens(key_of(&keys, o.sealed_to)) {
                found.push("a blob does not open with the new key");
            }
            if let Some((case, thread)) = &old_keys {
                let old = match o.sealed_to {
                    SealedTo::Case => case,
                    SealedTo::Thread => thread,
                };
                if header_opens(old) {
                    found.push("an old key opens a blob");
                }
            }
        }
        found
    })
    .await
    .map_err(|_| RekeyError::Interrupted)?;
    problems.extend(found);
    Ok(problems)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn renumbering_replaces_quoted_ids_only_and_keeps_the_length() {
        let (a, b, c) = (ObjectId::random(), ObjectId::random(), ObjectId::random());
        let doc =
            format!(r#"{{"evidence":[{{"object_id":"{a}"}},{{"object_id":"{a}"}}],"text":"{a}x {c}"}}"#);
        let out = renumber(doc.as_bytes(), &[(a, b)]).unwrap();
        let out = String::from_utf8(out.to_vec()).unwrap();
        assert_eq!(out.len(), doc.len());
        assert_eq!(out.matches(&format!("\"{b}\"")).count(), 2);
        assert!(
            out.contains(&format!("{a}x {c}")),
            "an unquoted mention stays: {out}"
        );
        assert!(!out.contains(&format!("\"{a}\"")));
    }
}
