//! Storing a read and validated submission: the receipt, the sealed document, the
//! wraps, the blobs in place, and the one transaction that makes it a case.

use redress_crypto::{Receipt, seal};
use redress_domain::{
    Answers, CaseId, CaseRef, EvidenceEntry, JobKind, ObjectId, ObjectKind, Sealed, SealedTo,
    SubmissionDocument,
};
use redress_keychain::{FirstHolders, NewCaseKeys};
use redress_store::{NewCase, NewJob, NewObject, NewReceipt, PendingBlob, StoreError};

use super::parts::ReceivedFile;
use super::{Received, SubmitError};
use crate::IntakeState;

/// A triage that fails this often waits for an admin (`redress admin jobs`).
const TRIAGE_ATTEMPTS: u32 = 8;

/// Seals the answers, puts every blob in place, writes the case. See the module
/// comment of `submission`.
pub(super) async fn store(
    state: &IntakeState,
    keys: NewCaseKeys,
    answers: Answers,
    files: Vec<ReceivedFile>,
) -> Result<Received, SubmitError> {
    let received_at = redress_domain::hour_floor(state.now());
    let receipt = Receipt::generate();
    let reporter = state
        .derive_receipt_keys(receipt.clone())
        .await
        .map_err(SubmitError::internal)?;

    let thread_pub = keys.thread_public();
    let case_pub = keys.case_public();
    let evidence: Vec<EvidenceEntry> = files.iter().map(evidence_entry).collect();
    let document = SubmissionDocument::new(state.questionnaire.version(), received_at, answers, evidence);
    let plaintext = document.to_json().map_err(SubmitError::internal)?;
    let sealed_doc = seal(&[&thread_pub], &plaintext).map_err(SubmitError::internal)?;
    let sealing = state.keys.current();
    let wraps = keys
        .first_wraps(&FirstHolders {
            triage: &sealing.triage,
            recovery: &sealing.recovery,
            reporter: &reporter.identity.public(),
        })
        .map_err(SubmitError::internal)?;

    // Make every blob complete and durable off the async workers.
    let doc = state.blobs.begin().await.map_err(SubmitError::blob)?;
    let mut placed = Vec::with_capacity(files.len() + 1);
    let (placed, result) = tokio::task::spawn_blocking(move || {
        let result = place_blobs(doc, &sealed_doc, files, &mut placed);
        (placed, result)
    })
    .await
    .map_err(SubmitError::internal)?;
    if let Err(e) = result {
        remove_all(state, &placed).await;
        return Err(SubmitError::blob(e));
    }

    let case_id = CaseId::random();
    let new_case = NewCase {
        id: case_id,
        questionnaire_version: state.questionnaire.version(),
        received_at,
        case_recipient: case_pub.to_string(),
        thread_recipient: thread_pub.to_string(),
        wraps,
        objects: thread_objects(&placed),
        receipt: NewReceipt {
            lookup: reporter.lookup,
            kdf_salt: state.receipt_salt.clone(),
            kdf_m_kib: state.kdf.m_kib,
            kdf_t: state.kdf.t,
            kdf_p: state.kdf.p,
        },
        jobs: vec![triage_job(case_id, received_at)],
    };
    match state
        .store
        .insert_case(&new_case, || CaseRef::from_random(rand::random()))
        .await
    {
        Ok(case_ref) => {
            // File times say no more than the database: the hour, not the second.
            for (id, _, _) in &placed {
                if let Err(e) = state.blobs.set_times(*id, received_at).await {
                    redress_logging::note("intake", "file_times_not_coarsened", e.to_string());
                }
            }
            Ok(Received { receipt, case_ref })
        }
        Err(e) => {
            if certainly_absent(state, &e, case_id).await {
                remove_all(state, &placed).await;
            }
            // Otherwise the commit's acknowledgement may have been lost: the blobs may
            // belong to a stored case, and the sweep decides once the grace has passed.
            Err(SubmitError::store(e))
        }
    }
}

/// Whether a failed insert certainly left no case: any error but a commit whose answer
/// was lost means the transaction was not applied; for that one, ask.
async fn certainly_absent(state: &IntakeState, e: &StoreError, case: CaseId) -> bool {
    match e {
        StoreError::CommitUnknown(_) => matches!(state.store.case_exists(case).await, Ok(false)),
        _ => true,
    }
}

/// The case's triage, committed with the case so that every stored case is triaged.
fn triage_job(case_id: CaseId, received_at: i64) -> NewJob {
    let kind = JobKind::TriageCase;
    NewJob {
        kind,
        idempotency_key: format!("{kind}:{case_id}"),
        payload: serde_json::json!({ "case_id": case_id }).to_string(),
        run_at: received_at,
        max_attempts: TRIAGE_ATTEMPTS,
    }
}

/// Writes the sealed document into `doc` and commits it and every evidence blob, on a
/// blocking thread. What was committed is in `placed`, for the caller to remove on
/// failure, so the caller sees all or nothing; what was not is removed as it drops.
fn place_blobs(
    mut doc: PendingBlob,
    sealed_doc: &[u8],
    files: Vec<ReceivedFile>,
    placed: &mut Vec<(ObjectId, ObjectKind, u64)>,
) -> std::io::Result<()> {
    std::io::Write::write_all(&mut doc, sealed_doc)?;
    let id = doc.id();
    placed.push((id, ObjectKind::Submission, doc.commit()?));
    place_files(files, placed)
}

/// Stores a reporter's follow-up message: its files put in place, its entry sealed to
/// the thread key, and a content-free email to each assignee, in one transaction.
/// Every time it writes is the hour (the entry, the rows, the files' times), and the
/// emails go at the start of the next hour, so nothing dates the visit more finely.
pub(super) async fn store_message(
    state: &IntakeState,
    case: &redress_store::StoredCase,
    text: Option<redress_domain::EntryText>,
    files: Vec<ReceivedFile>,
) -> Result<u32, SubmitError> {
    let now = state.now();
    let hour = redress_domain::hour_floor(now);
    let thread = redress_crypto::PublicKey::parse(&case.thread_recipient).map_err(SubmitError::internal)?;
    let evidence: Vec<EvidenceEntry> = files.iter().map(evidence_entry).collect();
    let document = redress_domain::EntryDocument::from_reporter(text, evidence);
    let plaintext = document.to_json().map_err(SubmitError::internal)?;
    let sealed = seal(&[&thread], &plaintext).map_err(SubmitError::internal)?;

    let mut placed = Vec::with_capacity(files.len());
    let (placed, result) = tokio::task::spawn_blocking(move || {
        let result = place_files(files, &mut placed);
        (placed, result)
    })
    .await
    .map_err(SubmitError::internal)?;
    if let Err(e) = result {
        remove_all(state, &placed).await;
        return Err(SubmitError::blob(e));
    }

    let notice = serde_json::to_string(&redress_mail::Notice::ReporterWrote {
        case_ref: case.case_ref.clone(),
    })
    .map_err(SubmitError::internal)?;
    let assignees = state.store.assignees(case.id).await.map_err(SubmitError::store)?;
    let message_id = uuid::Uuid::new_v4();
    let emails = assignees
        .iter()
        .map(|a| {
            redress_store::NewEmail::with_job(
                &format!("reporter_wrote:{message_id}:{}", a.id),
                &a.email,
                notice.clone(),
                &state.message_id_domain,
                redress_domain::hour_ceil(now),
            )
        })
        .collect();
    let message = redress_store::ReporterMessage {
        entry: redress_store::NewCaseEntry {
            kind: redress_domain::EntryKind::ReporterMessage,
            author: None,
            at: hour,
            ciphertext: sealed,
        },
        objects: thread_objects(&placed),
        emails,
    };
    match state.store.add_reporter_message(case.id, &message, hour).await {
        Ok(seq) => {
            for (id, _, _) in &placed {
                if let Err(e) = state.blobs.set_times(*id, hour).await {
                    redress_logging::note("intake", "file_times_not_coarsened", e.to_string());
                }
            }
            Ok(seq)
        }
        Err(e) => {
            // A lost acknowledgement may hide a stored message: the sweep decides.
            if !matches!(e, StoreError::CommitUnknown(_)) {
                remove_all(state, &placed).await;
            }
            Err(SubmitError::store(e))
        }
    }
}

fn evidence_entry(f: &ReceivedFile) -> EvidenceEntry {
    EvidenceEntry {
        object_id: f.sealed.blob.id(),
        file_name: f.file_name.clone(),
        content_type: f.content_type.clone(),
        size: f.sealed.plaintext_bytes,
        sha256: hex::encode(f.sealed.sha256),
    }
}

/// Commits each file's blob, on a blocking thread; what was committed is in `placed`.
fn place_files(
    files: Vec<ReceivedFile>,
    placed: &mut Vec<(ObjectId, ObjectKind, u64)>,
) -> std::io::Result<()> {
    for f in files {
        let id = f.sealed.blob.id();
        placed.push((id, ObjectKind::Evidence, f.sealed.blob.commit()?));
    }
    Ok(())
}

async fn remove_all(state: &IntakeState, placed: &[(ObjectId, ObjectKind, u64)]) {
    for (id, _, _) in placed {
        let _ = state.blobs.remove(*id).await;
    }
}

/// Rows for blobs put in place, all sealed to the thread key.
fn thread_objects(placed: &[(ObjectId, ObjectKind, u64)]) -> Vec<NewObject> {
    placed
        .iter()
        .map(|(id, kind, size)| NewObject {
            id: *id,
            kind: *kind,
            sealed_to: SealedTo::Thread,
            ciphertext_bytes: *size,
        })
        .collect()
}
