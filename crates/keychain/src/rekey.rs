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
#[derive(Clone, Debug)]
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

/// The keys of kind `to` of each pair, in order: what an item sealed to `to` is tried
/// with.
fn keys_for<'a>(pairs: &[&'a OldKeys], to: SealedTo) -> Vec<&'a SecretIdentity> {
    pairs.iter().map(|p| key_of(p, to)).collect()
}

/// Opens a small value with the first of `keys` that opens it.
fn open_any(keys: &[&SecretIdentity], ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let mut last = CryptoError::BadIdentity;
    for key in keys {
        match open(key, ciphertext) {
            Ok(plain) => return Ok(plain),
            Err(e) => last = e,
        }
    }
    Err(last)
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
    old: &[&SecretIdentity],
    new: &PublicKey,
    out: PendingBlob,
) -> Result<u64, RekeyError> {
    let mut opened = Err(CryptoError::BadIdentity);
    for key in old {
        opened = open_reader(key, blobs.open_blob(from)?);
        if opened.is_ok() {
            break;
        }
    }
    let mut plain = opened?;
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
    old: &[&SecretIdentity],
    new: &PublicKey,
    ids: &[(ObjectId, ObjectId)],
    mut out: PendingBlob,
) -> Result<u64, RekeyError> {
    let mut ciphertext = Vec::new();
    blobs.open_blob(from)?.read_to_end(&mut ciphertext)?;
    let plain = renumber(&open_any(old, &ciphertext)?, ids)?;
    out.write_all(&seal(&[new], &plain)?)?;
    Ok(out.commit()?)
}

/// Re-encrypts every object of a case into the new blobs `pending` (one per object, in
/// order). Blocking; with the database backend, run on a blocking thread.
fn reseal_objects(
    blobs: &BlobStore,
    contents: &CaseContents,
    old: &[&OldKeys],
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
        let from = keys_for(old, object.sealed_to);
        let to = match object.sealed_to {
            SealedTo::Case => new.case_public(),
            SealedTo::Thread => new.thread_public(),
        };
        let size = if is_document(object.kind) {
            reseal_document(blobs, object.id, &from, &to, &ids, out)?
        } else {
            reseal_file(blobs, object.id, &from, &to, out)?
        };
        done.push((object.id, new_id, size));
    }
    Ok(done)
}

/// Re-keys a case in memory and in new blobs: opens its keys with the recovery identity,
/// makes new ones, re-encrypts every object into a new blob, re-seals every entry and
/// its labels, and makes every wrap the case will have. Nothing stored changes; the
/// caller swaps the result in, or removes `new_blobs`.
///
/// What does not open with the case's keys is tried with `earlier`, keys an earlier
/// re-key of this run replaced: something written while that re-key was swapped in,
/// sealed to the keys its writer had read just before.
pub async fn prepare_rekey(
    store: &Store,
    blobs: &BlobStore,
    contents: CaseContents,
    recovery: &SecretIdentity,
    holders: RekeyHolders<'_>,
    earlier: Option<OldKeys>,
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
        let earlier = earlier.clone();
        tokio::task::spawn_blocking(move || {
            let keys: Vec<&OldKeys> = std::iter::once(&old).chain(&earlier).collect();
            let r = reseal_objects(&blobs, &contents, &keys, &new, pending);
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
    let keys: Vec<&OldKeys> = std::iter::once(&old).chain(&earlier).collect();
    let sealed = reseal_entries(&contents, &keys, &new, &ids);
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
    old: &[&OldKeys],
    new: &NewCaseKeys,
    ids: &[(ObjectId, ObjectId)],
) -> Result<Resealed, RekeyError> {
    let mut entries = Vec::with_capacity(contents.entries.len());
    for e in &contents.entries {
        let to = match e.kind.sealed_to() {
            SealedTo::Case => new.case_public(),
            SealedTo::Thread => new.thread_public(),
        };
        let plain = renumber(&open_any(&keys_for(old, e.kind.sealed_to()), &e.ciphertext)?, ids)?;
        entries.push((e.id.clone(), seal(&[&to], &plain)?));
    }
    let labels = match &contents.labels {
        Some(l) => Some(seal(
            &[&new.case_public()],
            &open_any(&keys_for(old, SealedTo::Case), l)?,
        )?),
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

/// What the check of a re-keyed case can find wrong. None names content.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("the recovery identity does not open the case's keys")]
    RecoveryOpensNothing,
    #[error("the case still has a key it had before")]
    OldKeyKept,
    #[error("an assignee has no wrap to their key")]
    AssigneeWithoutWrap,
    /// Something written while the swap happened, sealed to the keys its writer had
    /// read: a re-key with the old keys at hand seals it again.
    #[error("{0} does not open with the new keys")]
    NotResealed(&'static str),
    #[error("an old key opens {0}")]
    OldKeyOpens(&'static str),
}

impl Problem {
    /// Whether re-keying the case again, with its old keys at hand, mends it.
    pub fn mended_by_rekey(self) -> bool {
        matches!(self, Self::NotResealed(_))
    }
}

/// Checks a re-keyed case: the recovery identity opens its case key and, through it, its
/// thread key, both the ones the case row names; every assignee has a wrap to their
/// current key; every entry and the labels open with the new keys, and every blob's
/// header does (its chunks were authenticated as they were written). With `old`, the
/// keys it had before, also that none of them opens a wrap, blob, entry or label of it.
pub async fn check_rekeyed(
    store: &Store,
    blobs: &BlobStore,
    case: CaseId,
    recovery: &SecretIdentity,
    old: &[OldKeys],
) -> Result<Vec<Problem>, RekeyError> {
    let Some(contents) = store.rekey_contents(case).await? else {
        return Ok(Vec::new());
    };
    let mut problems = Vec::new();
    let Ok(keys) = open_current(store, &contents, recovery).await else {
        problems.push(Problem::RecoveryOpensNothing);
        return Ok(problems);
    };
    let old_of = |to: SealedTo| -> Vec<&SecretIdentity> { old.iter().map(|o| key_of(o, to)).collect() };
    if old.iter().any(|o| o.case.public() == keys.case.public()) {
        problems.push(Problem::OldKeyKept);
    }
    for kind in HolderKind::ALL {
        for w in store.wraps(case, *kind).await? {
            if old.iter().any(|o| {
                unwrap_identity(&w.ciphertext, &o.case).is_ok()
                    || unwrap_identity(&w.ciphertext, &o.thread).is_ok()
            }) {
                problems.push(Problem::OldKeyOpens("a wrap"));
            }
        }
    }
    let investigator_wraps = store.wraps(case, HolderKind::Investigator).await?;
    for i in &contents.assignees {
        if !investigator_wraps
            .iter()
            .any(|w| w.holder == Holder::Investigator(i.id) && w.holder_recipient == i.recipient)
        {
            problems.push(Problem::AssigneeWithoutWrap);
        }
    }
    for e in &contents.entries {
        let to = e.kind.sealed_to();
        if open(key_of(&keys, to), &e.ciphertext).is_err() {
            problems.push(Problem::NotResealed("an entry"));
        }
        if open_any(&old_of(to), &e.ciphertext).is_ok() {
            problems.push(Problem::OldKeyOpens("an entry"));
        }
    }
    if let Some(l) = &contents.labels {
        if open(&keys.case, l).is_err() {
            problems.push(Problem::NotResealed("the labels"));
        }
        if open_any(&old_of(SealedTo::Case), l).is_ok() {
            problems.push(Problem::OldKeyOpens("the labels"));
        }
    }
    let objects = contents.objects.clone();
    let blobs = blobs.clone();
    let old = old.to_vec();
    let found = tokio::task::spawn_blocking(move || {
        let mut found = Vec::new();
        for o in &objects {
            let header_opens = |id: &SecretIdentity| -> bool {
                blobs
                    .open_blob(o.id)
                    .is_ok_and(|reader| open_reader(id, reader).is_ok())
            };
            if !header_opens(key_of(&keys, o.sealed_to)) {
                found.push(Problem::NotResealed("a blob"));
            }
            if old.iter().any(|k| header_opens(key_of(k, o.sealed_to))) {
                found.push(Problem::OldKeyOpens("a blob"));
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
    use redress_domain::{CaseRef, EntryKind};
    use redress_store::test_support::{TestDatabase, commit_blob};
    use redress_store::{Access, NewCase, NewCaseEntry, NewObject, NewReceipt, Swapped};

    use super::*;
    use crate::FirstHolders;

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

    async fn swap(store: &Store, prepared: &Prepared) {
        let tx = store.begin_audited().await.unwrap();
        assert_eq!(
            tx.swap_rekeyed_case("rotation", &prepared.swap).await.unwrap(),
            Swapped::Done
        );
        tx.commit().await.unwrap();
    }

    async fn note(store: &Store, case: CaseId, to: &PublicKey, text: &str) {
        let tx = store.begin_audited().await.unwrap();
        tx.add_entry(
            case,
            &NewCaseEntry {
                kind: EntryKind::Note,
                author: None,
                at: 0,
                ciphertext: seal(&[to], text.as_bytes()).unwrap(),
            },
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }

    /// A re-key renumbers what a document names and streams files unchanged; what is
    /// written to the replaced keys meanwhile is found by the check and sealed again by
    /// a re-key that has those keys at hand.
    #[tokio::test]
    async fn a_case_written_to_its_old_keys_during_a_rekey_is_mended_by_the_next() {
        let dir = tempfile::tempdir().unwrap();
        let db = TestDatabase::create(dir.path()).await;
        let store = Store::connect(db.url()).await.unwrap();
        store.migrate().await.unwrap();
        let blobs = BlobStore::folder(dir.path().join("blobs"), Access::Owner).unwrap();
        let (triage, recovery, reporter) = (
            SecretIdentity::generate(),
            SecretIdentity::generate(),
            SecretIdentity::generate(),
        );
        let keys = NewCaseKeys::generate();
        let (case_public, thread_public) = (keys.case_public(), keys.thread_public());
        let file: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let evidence = commit_blob(&blobs, &seal(&[&thread_public], &file).unwrap()).await;
        let doc = format!(r#"{{"evidence":[{{"object_id":"{evidence}"}}]}}"#);
        let submission = commit_blob(&blobs, &seal(&[&thread_public], doc.as_bytes()).unwrap()).await;
        let case = CaseId::random();
        let object = |id, kind: ObjectKind| NewObject {
            id,
            kind,
            sealed_to: kind.sealed_to(),
            ciphertext_bytes: 1,
        };
        store
            .insert_case(
                &NewCase {
                    id: case,
                    questionnaire_version: 1,
                    received_at: 0,
                    case_recipient: case_public.to_string(),
                    thread_recipient: thread_public.to_string(),
                    wraps: keys
                        .first_wraps(&FirstHolders {
                            triage: &triage.public(),
                            recovery: &recovery.public(),
                            reporter: &reporter.public(),
                        })
                        .unwrap(),
                    objects: vec![
                        object(evidence, ObjectKind::Evidence),
                        object(submission, ObjectKind::Submission),
                    ],
                    receipt: NewReceipt {
                        lookup: rand::random(),
                        kdf_salt: vec![0; 16],
                        kdf_m_kib: 8,
                        kdf_t: 1,
                        kdf_p: 1,
                    },
                    jobs: vec![],
                },
                || CaseRef::from_random(rand::random()),
            )
            .await
            .unwrap();
        note(&store, case, &case_public, "before").await;
        let holders = RekeyHolders {
            recovery: &recovery.public(),
            triage: &triage.public(),
        };
        let rekey = |earlier: Option<OldKeys>| {
            let (store, blobs, recovery) = (&store, &blobs, &recovery);
            async move {
                let contents = store.rekey_contents(case).await.unwrap().unwrap();
                prepare_rekey(store, blobs, contents, recovery, holders, earlier)
                    .await
                    .unwrap()
            }
        };

        let first = rekey(None).await;
        swap(&store, &first).await;
        // Objects come in the store's order, which is by their random ids.
        let copy_of = |old: ObjectId| {
            first
                .swap
                .objects
                .iter()
                .find(|(o, _, _)| *o == old)
                .map(|(_, new, _)| *new)
                .unwrap()
        };
        let new_evidence = copy_of(evidence);
        let a = first.old.clone();
        assert_eq!(a.case_public(), case_public);
        assert!(
            check_rekeyed(&store, &blobs, case, &recovery, std::slice::from_ref(&a))
                .await
                .unwrap()
                .is_empty()
        );
        // The file streamed through unchanged; the document names its copy.
        let current = store.case_by_id(case).await.unwrap().unwrap();
        let thread = open_thread_key(
            &store,
            case,
            &open_case_key(&store, case, Holder::Recovery, &recovery)
                .await
                .unwrap(),
        )
        .await
        .unwrap();
        assert_eq!(thread.public().to_string(), current.thread_recipient);
        assert_eq!(
            *open(&thread, &blobs.read_all(new_evidence).await.unwrap()).unwrap(),
            file
        );
        let new_submission = copy_of(submission);
        let doc = open(&thread, &blobs.read_all(new_submission).await.unwrap()).unwrap();
        assert_eq!(
            String::from_utf8(doc.to_vec()).unwrap(),
            format!(r#"{{"evidence":[{{"object_id":"{new_evidence}"}}]}}"#)
        );

        // A note sealed to the replaced case key, as a writer that read it just before
        // the swap would have.
        note(&store, case, &case_public, "late").await;
        let found = check_rekeyed(&store, &blobs, case, &recovery, std::slice::from_ref(&a))
            .await
            .unwrap();
        assert!(found.contains(&Problem::NotResealed("an entry")), "{found:?}");
        assert!(found.contains(&Problem::OldKeyOpens("an entry")), "{found:?}");
        let second = rekey(Some(a.clone())).await;
        swap(&store, &second).await;
        let olds = [a, second.old.clone()];
        assert!(
            check_rekeyed(&store, &blobs, case, &recovery, &olds)
                .await
                .unwrap()
                .is_empty()
        );
        let case_key = open_case_key(&store, case, Holder::Recovery, &recovery)
            .await
            .unwrap();
        let notes: Vec<String> = store
            .entries(case)
            .await
            .unwrap()
            .iter()
            .map(|e| String::from_utf8(open(&case_key, &e.ciphertext).unwrap().to_vec()).unwrap())
            .collect();
        assert_eq!(notes, ["before", "late"]);
    }
}
