//! Triage of one new case: open it with the triage key, look at what was sent, score it,
//! find related cases, route it, and hand it over in one transaction that also deletes
//! the triage wrap.
//!
//! Re-running after a crash is safe: nothing is visible until the final transaction,
//! which refuses a case that is triaged already; blobs of an unfinished attempt are
//! removed (or, after a kill, swept).

use std::io::Read;

use redress_crypto::{
    PublicKey, SecretIdentity, open, open_reader, seal_writer, unwrap_identity, wrap_identity,
};
use redress_domain::{Answers, CaseId, ObjectId, ObjectKind};
use redress_store::{HolderKind, Job, KeyKind, NewObject, NewWrap, SealedTo, StoredCase, TriageCommit};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::email::{OutboxNotice, outgoing};
use crate::fingerprints;
use crate::rules::{Findings, Score};
use crate::{JobError, Worker};

#[derive(Deserialize)]
struct Payload {
    case_id: String,
}

/// The part of the sealed submission document triage reads.
#[derive(Deserialize)]
struct Submission {
    answers: Answers,
    evidence: Vec<EvidenceEntry>,
}

#[derive(Deserialize)]
struct EvidenceEntry {
    object_id: String,
    file_name: String,
    size: u64,
    sha256: String,
}

/// What happened to one evidence file, for the chain of custody.
#[derive(Serialize)]
struct Custody {
    original_object: String,
    file_name: String,
    size: u64,
    /// SHA-256 recorded at intake, and whether the stored file still matches it.
    sha256: String,
    sha256_verified: bool,
    scrubbed: Option<ScrubbedCopy>,
    /// Why there is no scrubbed copy.
    not_scrubbed: Option<String>,
    inspected_bytes: u64,
    indicator_scan_failed: bool,
}

#[derive(Serialize)]
struct ScrubbedCopy {
    object: String,
    sha256: String,
    removed: Vec<String>,
}

#[derive(Serialize)]
struct MatchedIndicator {
    id: String,
    name: Option<String>,
}

/// The sealed triage summary (case key only; the reporter never sees it).
#[derive(Serialize)]
struct Summary<'a> {
    format: u32,
    rules_version: u32,
    score: &'a Score,
    indicators: Vec<MatchedIndicator>,
    related_cases: Vec<String>,
    routed_to_team: String,
    assigned: Vec<String>,
    ack_due: i64,
    evidence: Vec<Custody>,
}

pub(crate) async fn run(worker: &Worker, job: &Job) -> Result<(), JobError> {
    let payload: Payload = serde_json::from_str(&job.payload).map_err(|e| JobError::BadJob(e.to_string()))?;
    let case_id = CaseId::parse(&payload.case_id).ok_or_else(|| JobError::BadJob("case id".into()))?;
    let Some(case) = worker.store.case_by_id(case_id).await? else {
        return Ok(()); // purged before triage: nothing to do
    };
    if case.triaged {
        return Ok(());
    }
    let mut placed = Vec::new();
    let result = triage(worker, &case, &mut placed).await;
    match result {
        Ok(true) => {
            let hour = std::time::UNIX_EPOCH
                + std::time::Duration::from_secs(u64::try_from(case.received_at).unwrap_or(0));
            for id in &placed {
                let _ = worker.blobs.set_times(*id, hour);
            }
            Ok(())
        }
        Ok(false) | Err(_) => {
            for id in &placed {
                let _ = worker.blobs.remove(*id);
            }
            result.map(|_| ())
        }
    }
}

/// Seals `bytes` to `to` into a new blob (placed at once) and records it in `placed`.
fn place(
    worker: &Worker,
    to: &PublicKey,
    bytes: &[u8],
    placed: &mut Vec<ObjectId>,
) -> Result<(ObjectId, u64), JobError> {
    let blob = worker.blobs.begin()?;
    let id = blob.id();
    let mut w = seal_writer(&[to], blob)?;
    std::io::Write::write_all(&mut w, bytes)?;
    let size = w.finish()?.commit()?;
    placed.push(id);
    Ok((id, size))
}

async fn triage(worker: &Worker, case: &StoredCase, placed: &mut Vec<ObjectId>) -> Result<bool, JobError> {
    let store = &worker.store;
    let now = worker.now();
    let wraps = store.wraps(case.id, KeyKind::Case, HolderKind::Triage).await?;
    let Some(wrap) = wraps.first() else {
        // Another worker may have handed it over between our checks; otherwise the case
        // lost its triage wrap, and that must be seen, not skipped.
        if store.case_by_id(case.id).await?.is_some_and(|c| c.triaged) {
            return Ok(false);
        }
        return Err(JobError::BadJob("the case has no triage wrap".into()));
    };
    let case_key = unwrap_identity(&wrap.ciphertext, &worker.triage_identity)?;
    let thread_wraps = store.wraps(case.id, KeyKind::Thread, HolderKind::CaseKey).await?;
    let thread_wrap = thread_wraps
        .first()
        .ok_or_else(|| JobError::BadJob("case has no thread wrap".into()))?;
    let thread_key = unwrap_identity(&thread_wrap.ciphertext, &case_key)?;
    let case_pub = case_key.public();

    let objects = store.objects(case.id).await?;
    let submission_id = objects
        .iter()
        .find(|(_, k)| *k == ObjectKind::Submission)
        .map(|(id, _)| *id)
        .ok_or_else(|| JobError::BadJob("case has no submission".into()))?;
    let doc = open(&thread_key, &std::fs::read(worker.blobs.path_of(submission_id))?)?;
    // The parse error is not kept: it could quote the report.
    let submission: Submission = serde_json::from_slice(&doc)
        .map_err(|_| JobError::BadJob("the submission document does not parse".into()))?;
    let answers = &submission.answers;

    // Indicators in the text the reporter wrote.
    let text = [
        Some(answers.what_happened()),
        answers.suspected_customer(),
        answers.when(),
        answers.contact(),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join("\n");
    let mut matches = worker.indicators.scan_text(&text);

    // Each evidence file: verify its hash, scan it, make a scrubbed copy.
    let mut custody = Vec::new();
    let mut new_objects = Vec::new();
    for entry in &submission.evidence {
        // Decrypting, hashing, scanning and scrubbing are CPU work: keep them off the
        // async workers' queue so other tasks (lease renewal, the intake) keep running.
        let (object, file) = tokio::task::block_in_place(|| inspect(worker, &thread_key, entry))?;
        // A file larger than the inspection limit is scanned as far as it was read; its
        // file hashes then cannot match (they are of the whole file).
        let scan = tokio::task::block_in_place(|| {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                worker.indicators.scan_file(
                    &entry.file_name,
                    &file.head,
                    &redress_indicators::ScanLimits::default(),
                )
            }))
        });
        // A parser that panics on a hostile file costs that file's scan, not the case.
        let scan_failed = scan.is_err();
        if let Ok(scan) = scan {
            matches.merge(scan.matches);
        }
        let mut record = Custody {
            original_object: object.to_string(),
            file_name: entry.file_name.clone(),
            size: entry.size,
            sha256: entry.sha256.clone(),
            sha256_verified: file.sha256 == entry.sha256,
            scrubbed: None,
            not_scrubbed: None,
            inspected_bytes: file.head.len() as u64,
            indicator_scan_failed: scan_failed,
        };
        if !record.sha256_verified {
            // No case reference here: a log line's time next to it would date the case.
            // The summary records the mismatch for the investigators.
            tracing::warn!("an evidence file does not match its intake hash");
        }
        if file.complete {
            match tokio::task::block_in_place(|| {
                redress_scrub::scrub(&file.head, &redress_scrub::Limits::default())
            }) {
                redress_scrub::Outcome::Scrubbed { bytes, removed, .. } => {
                    let (id, size) = place(worker, &case_pub, &bytes, placed)?;
                    new_objects.push(NewObject {
                        id,
                        kind: ObjectKind::Scrubbed,
                        sealed_to: SealedTo::Case,
                        ciphertext_bytes: size,
                    });
                    record.scrubbed = Some(ScrubbedCopy {
                        object: id.to_string(),
                        sha256: hex::encode(Sha256::digest(&bytes)),
                        removed: removed.iter().map(|r| format!("{r:?}")).collect(),
                    });
                }
                redress_scrub::Outcome::Unchanged { kind } => {
                    record.not_scrubbed = Some(format!("{kind:?}: no metadata found"));
                }
                redress_scrub::Outcome::NotScrubbed { kind, reason } => {
                    record.not_scrubbed = Some(format!("{kind:?}: {reason:?}"));
                }
            }
        } else {
            record.not_scrubbed = Some(format!(
                "larger than {} bytes: not inspected whole",
                worker.settings.max_inspect_bytes
            ));
        }
        custody.push(record);
    }

    let indicators: Vec<MatchedIndicator> = matches
        .indicators()
        .map(|i| MatchedIndicator {
            id: i.id().to_owned(),
            name: i.name().map(str::to_owned),
        })
        .collect();
    let indicator_ids: Vec<String> = indicators.iter().map(|i| i.id.clone()).collect();
    let findings = Findings {
        evidence_files: submission.evidence.len(),
        indicators: indicators
            .iter()
            .map(|i| i.name.clone().unwrap_or_else(|| i.id.clone()))
            .collect(),
    };
    let score = worker.rules.score(answers, &findings);

    let fps = worker.fingerprint_key.of_case(answers, &indicator_ids);
    let related: Vec<(CaseId, Vec<String>)> = store
        .cases_sharing(case.id, &fps)
        .await?
        .into_iter()
        .filter(|(_, kinds)| fingerprints::related(kinds))
        .collect();
    let mut related_refs = Vec::new();
    for (other, _) in &related {
        if let Some(c) = store.case_by_id(*other).await? {
            related_refs.push(c.case_ref.to_string());
        }
    }

    let teams = worker.rules.teams_for(answers);
    let route = crate::routing::route(
        &teams,
        &worker.rules.routing.fallback_team,
        worker.rules.routing.assign_per_case,
        &store.investigators().await?,
        &store.open_case_loads().await?,
    )?;
    let ack_due = case.received_at + worker.rules.deadlines.ack_days * 86_400;

    let summary = Summary {
        format: 1,
        rules_version: worker.rules.version,
        score: &score,
        indicators,
        related_cases: related_refs,
        routed_to_team: route.team.clone(),
        assigned: route.investigators.iter().map(|i| i.id.clone()).collect(),
        ack_due,
        evidence: custody,
    };
    let summary_json =
        zeroize::Zeroizing::new(serde_json::to_vec(&summary).map_err(|e| JobError::BadJob(e.to_string()))?);
    let (summary_id, summary_size) = place(worker, &case_pub, &summary_json, placed)?;
    new_objects.push(NewObject {
        id: summary_id,
        kind: ObjectKind::TriageSummary,
        sealed_to: SealedTo::Case,
        ciphertext_bytes: summary_size,
    });

    let mut commit = TriageCommit {
        priority: score.priority.as_str().to_owned(),
        ack_due,
        objects: new_objects,
        fingerprints: fps,
        links: related,
        ..TriageCommit::default()
    };
    for person in &route.investigators {
        let recipient = PublicKey::parse(&person.recipient)?;
        commit.wraps.push(NewWrap {
            key_kind: KeyKind::Case,
            holder_kind: HolderKind::Investigator,
            holder_id: Some(person.id.clone()),
            holder_recipient: person.recipient.clone(),
            ciphertext: wrap_identity(&case_key, &recipient)?,
        });
        commit.assign_to.push(person.id.clone());
        let key = format!("assigned:{}:{}", case.id, person.id);
        let notice = OutboxNotice::CaseAssigned {
            case_ref: case.case_ref.to_string(),
        };
        let (email, job) = outgoing(worker, &key, &person.email, &notice, now);
        commit.emails.push(email);
        commit.jobs.push(job);
    }
    Ok(store.commit_triage(case.id, &commit, now).await?)
}

/// An evidence file as read for inspection.
struct Inspected {
    /// Up to `max_inspect_bytes` of plaintext.
    head: zeroize::Zeroizing<Vec<u8>>,
    /// Whether `head` is the whole file.
    complete: bool,
    /// SHA-256 of the whole file, computed while reading.
    sha256: String,
}

fn inspect(
    worker: &Worker,
    thread_key: &SecretIdentity,
    entry: &EvidenceEntry,
) -> Result<(ObjectId, Inspected), JobError> {
    let id = ObjectId::parse(&entry.object_id).ok_or_else(|| JobError::BadJob("evidence id".into()))?;
    let file = std::fs::File::open(worker.blobs.path_of(id))?;
    let mut reader = open_reader(thread_key, std::io::BufReader::new(file))?;
    let limit = usize::try_from(worker.settings.max_inspect_bytes).unwrap_or(usize::MAX);
    let mut head = zeroize::Zeroizing::new(Vec::new());
    let mut hash = Sha256::new();
    let mut buf = zeroize::Zeroizing::new(vec![0u8; 64 * 1024]);
    let mut complete = true;
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hash.update(&buf[..n]);
        let room = limit.saturating_sub(head.len());
        head.extend_from_slice(&buf[..n.min(room)]);
        if n > room {
            complete = false;
        }
    }
    Ok((
        id,
        Inspected {
            head,
            complete,
            sha256: hex::encode(hash.finalize()),
        },
    ))
}
