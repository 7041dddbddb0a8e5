//! Triage of one new case, in steps: open it with the triage key, read what was sent,
//! examine each evidence file, score, find related cases, route, seal the summary, and
//! hand it over in one transaction that also deletes the triage wrap.
//!
//! Re-running after a crash is safe: nothing is visible until the final transaction,
//! which refuses a case that is triaged already. Blobs an attempt placed are removed
//! when the store says they are unreferenced; when it cannot say (the database went
//! away, or the commit's acknowledgement was lost), they are left to the sweep.

use std::collections::BTreeMap;
use std::io::Read;

use redress_crypto::{PublicKey, SecretIdentity, open, open_reader, seal_writer};
use redress_domain::{
    Answers, CaseId, Custody, EvidenceEntry, Holder, Indicated, MatchedIndicator, MatchedObservable,
    ObjectId, ObjectKind, Rendition, Sealed, SealedTo, SubmissionDocument, TriageSummary,
};
use redress_indicators::Matches;
use redress_store::{Job, NewObject, StoredCase, TriageCommit};
use sha2::{Digest, Sha256};

use crate::email::outgoing;
use crate::rules::Findings;
use crate::{JobError, Worker};

#[derive(serde::Deserialize)]
struct Payload {
    case_id: CaseId,
}

pub(crate) async fn run(worker: &Worker, job: &Job) -> Result<(), JobError> {
    let payload: Payload = serde_json::from_str(&job.payload).map_err(|e| JobError::BadJob(e.to_string()))?;
    let Some(case) = worker.store.case_by_id(payload.case_id).await? else {
        return Ok(()); // purged before triage: nothing to do
    };
    if case.triaged {
        // A hand-over whose acknowledgement was lost, with the database then out of
        // reach, left its blobs with exact times: this run, finding it done, mends that.
        for (id, _) in worker.store.objects(case.id).await? {
            let _ = worker.blobs.set_times(id, case.received_at).await;
        }
        return Ok(());
    }
    let mut placed = Vec::new();
    let result = triage(worker, &case, &mut placed).await;
    settle(worker, &case, &placed, result).await
}

/// Makes the blobs of an attempt match what the database says: kept (with coarse file
/// times) if the hand-over references them, removed if it certainly does not.
async fn settle(
    worker: &Worker,
    case: &StoredCase,
    placed: &[ObjectId],
    result: Result<bool, JobError>,
) -> Result<(), JobError> {
    let handed_over = match &result {
        Ok(handed_over) => *handed_over,
        // The error may have come after the commit (its acknowledgement lost): ask the
        // database which of our blobs it references before removing any.
        Err(_) => match worker.store.existing_objects(placed).await {
            Ok(referenced) if !placed.is_empty() && referenced.len() == placed.len() => true,
            Ok(referenced) if referenced.is_empty() => false,
            // Some but not all (cannot happen in one transaction) or no answer: the
            // sweep decides once the database is reachable and the grace has passed.
            _ => return result.map(|_| ()),
        },
    };
    if handed_over {
        for id in placed {
            let _ = worker.blobs.set_times(*id, case.received_at).await;
        }
        return Ok(());
    }
    for id in placed {
        let _ = worker.blobs.remove(*id).await;
    }
    result.map(|_| ())
}

/// The case's two keys, opened with the triage identity.
struct CaseKeys {
    case: SecretIdentity,
    thread: SecretIdentity,
}

async fn triage(worker: &Worker, case: &StoredCase, placed: &mut Vec<ObjectId>) -> Result<bool, JobError> {
    let Some(keys) = open_keys(worker, case).await? else {
        return Ok(false); // handed over by another worker meanwhile
    };
    let submission = read_submission(worker, case, &keys.thread).await?;
    let answers = &submission.answers;

    let mut matches = worker.indicators.scan_text(&reporter_text(answers));
    let mut objects = Vec::new();
    let mut custody = Vec::new();
    for entry in &submission.evidence {
        let (record, rendition) = examine(worker, &keys, entry, &mut matches, placed)?;
        objects.extend(rendition);
        custody.push(record);
    }

    let indicators = matched_indicators(&matches);
    let findings = Findings {
        evidence_files: submission.evidence.len(),
        indicators: indicators.iter().map(MatchedIndicator::label).collect(),
    };
    let score = worker.rules.score(answers, &findings);

    let indicator_ids: Vec<String> = indicators.iter().map(|i| i.id.clone()).collect();
    let features = worker.fingerprint_key.of_case(answers, &indicator_ids);
    let (links, related) = crate::related::find(worker, case.id, &features).await?;

    let teams = worker.rules.teams_for(answers);
    let route = crate::routing::route(
        &teams,
        &worker.rules.routing.fallback_team,
        worker.rules.routing.assign_per_case,
        &worker.store.investigators().await?,
        &worker.store.open_case_loads().await?,
    )?;
    let ack_due = case.received_at + worker.rules.deadlines.ack_days * 86_400;

    let summary = TriageSummary::new(
        worker.rules.version,
        score.clone(),
        indicators,
        related,
        route.team.clone(),
        route.investigators.iter().map(|i| i.id).collect(),
        ack_due,
        custody,
    );
    let json = summary.to_json().map_err(|e| JobError::BadJob(e.to_string()))?;
    // Placing a blob waits on the blob store (the database, with that backend).
    let (summary_id, summary_size) =
        tokio::task::block_in_place(|| place(worker, &keys.case.public(), &json, placed))?;
    objects.push(NewObject {
        id: summary_id,
        kind: ObjectKind::TriageSummary,
        sealed_to: SealedTo::Case,
        ciphertext_bytes: summary_size,
    });

    let now = worker.now();
    let mut commit = TriageCommit {
        priority: score.priority,
        ack_due,
        product: answers.product().to_owned(),
        objects,
        wraps: Vec::new(),
        assign_to: Vec::new(),
        fingerprints: features
            .iter()
            .map(crate::fingerprints::Feature::stored)
            .collect(),
        links,
        emails: Vec::new(),
        jobs: Vec::new(),
    };
    for person in &route.investigators {
        let holder = Holder::Investigator(person.id);
        let recipient = PublicKey::parse(&person.recipient)?;
        commit
            .wraps
            .push(redress_keychain::wrap_case_key(&keys.case, holder, &recipient)?);
        commit.assign_to.push(person.id);
        let key = format!("assigned:{}:{}", case.id, person.id);
        let notice = redress_mail::Notice::CaseAssigned {
            case_ref: case.case_ref.clone(),
        };
        let (email, job) = outgoing(worker, &key, &person.email, &notice, now)?;
        commit.emails.push(email);
        commit.jobs.push(job);
    }
    Ok(worker.store.commit_triage(case.id, &commit, now).await?)
}

/// Step 1: the case key (through the triage wrap) and the thread key. `None` if the
/// triage wrap is gone because another worker handed the case over.
async fn open_keys(worker: &Worker, case: &StoredCase) -> Result<Option<CaseKeys>, JobError> {
    let store = &worker.store;
    let recipient = store
        .wrap(case.id, Holder::Triage)
        .await?
        .map(|w| w.holder_recipient)
        .unwrap_or_default();
    let mut opened = Err(redress_keychain::KeychainError::NoWrap(
        redress_domain::HolderKind::Triage,
    ));
    for identity in worker.triage.to_try(&recipient) {
        opened = redress_keychain::open_case_key(store, case.id, Holder::Triage, &identity).await;
        if opened.is_ok() {
            break;
        }
    }
    let case_key = match opened {
        Ok(key) => key,
        Err(redress_keychain::KeychainError::NoWrap(_)) => {
            // Another worker may have handed it over between our checks; otherwise the
            // case lost its triage wrap, and that must be seen, not skipped.
            if store.case_by_id(case.id).await?.is_some_and(|c| c.triaged) {
                return Ok(None);
            }
            return Err(JobError::BadJob("the case has no triage wrap".into()));
        }
        Err(e) => return Err(e.into()),
    };
    let thread = redress_keychain::open_thread_key(store, case.id, &case_key).await?;
    Ok(Some(CaseKeys {
        case: case_key,
        thread,
    }))
}

/// Step 2: the submission document, opened with the thread key.
async fn read_submission(
    worker: &Worker,
    case: &StoredCase,
    thread: &SecretIdentity,
) -> Result<SubmissionDocument, JobError> {
    let objects = worker.store.objects(case.id).await?;
    let submission = objects
        .iter()
        .find(|(_, k)| *k == ObjectKind::Submission)
        .map(|(id, _)| *id)
        .ok_or_else(|| JobError::BadJob("case has no submission".into()))?;
    let sealed = worker.blobs.read_all(submission).await?;
    let json = open(thread, &sealed)?;
    SubmissionDocument::from_json(&json).map_err(|e| JobError::BadJob(e.to_string()))
}

/// Everything the reporter wrote that indicators are looked for in.
fn reporter_text(answers: &Answers) -> String {
    [
        Some(answers.what_happened()),
        answers.suspected_customer(),
        answers.when(),
        answers.contact(),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join("\n")
}

/// Step 3, for one evidence file: verify its hash, scan it for indicators, and make a
/// scrubbed rendition (placed as a blob) where one can be made.
fn examine(
    worker: &Worker,
    keys: &CaseKeys,
    entry: &EvidenceEntry,
    matches: &mut Matches,
    placed: &mut Vec<ObjectId>,
) -> Result<(Custody, Option<NewObject>), JobError> {
    // Decrypting, hashing, scanning and scrubbing are CPU work: keep them off the async
    // workers' queue so other tasks (lease renewal, the intake) keep running.
    tokio::task::block_in_place(|| {
        let file = inspect(worker, &keys.thread, entry)?;
        // A file larger than the inspection limit is scanned as far as it was read; its
        // file hashes then cannot match (they are of the whole file). A parser that
        // panics on a hostile file costs that file's scan, not the case.
        let scan = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            worker.indicators.scan_file(
                &entry.file_name,
                &file.head,
                &redress_indicators::ScanLimits::default(),
            )
        }));
        let scan_failed = scan.is_err();
        if let Ok(scan) = scan {
            matches.merge(scan.matches);
        }
        let sha256_verified = file.sha256 == entry.sha256;
        if !sha256_verified {
            // No case reference here: a log line's time next to it would date the case.
            // The summary records the mismatch for the investigators.
            redress_logging::count("worker.triage", "evidence_hash_mismatch");
        }
        let (file_type, rendition, object) = if file.complete {
            scrubbed(worker, &keys.case.public(), &file.head, placed)?
        } else {
            (
                redress_scrub::sniff(&file.head).file_type(),
                Rendition::NotMade {
                    reason: redress_domain::evidence::NotScrubbed::NotInspectedWhole,
                },
                None,
            )
        };
        let record = Custody {
            original: entry.object_id,
            file_name: entry.file_name.clone(),
            size: entry.size,
            sha256: entry.sha256.clone(),
            sha256_verified,
            file_type,
            rendition,
            inspected_bytes: file.head.len() as u64,
            indicator_scan_failed: scan_failed,
        };
        Ok((record, object))
    })
}

/// The scrubbed rendition of a whole file, sealed to the case key.
fn scrubbed(
    worker: &Worker,
    case_public: &PublicKey,
    bytes: &[u8],
    placed: &mut Vec<ObjectId>,
) -> Result<(redress_domain::evidence::FileType, Rendition, Option<NewObject>), JobError> {
    Ok(
        match redress_scrub::scrub(bytes, &redress_scrub::Limits::default()) {
            redress_scrub::Outcome::Scrubbed { kind, bytes, removed } => {
                let (id, size) = place(worker, case_public, &bytes, placed)?;
                let object = NewObject {
                    id,
                    kind: ObjectKind::Scrubbed,
                    sealed_to: SealedTo::Case,
                    ciphertext_bytes: size,
                };
                let rendition = Rendition::Scrubbed {
                    object: id,
                    sha256: hex::encode(Sha256::digest(&bytes)),
                    removed,
                };
                (kind.file_type(), rendition, Some(object))
            }
            redress_scrub::Outcome::Unchanged { kind } => {
                (kind.file_type(), Rendition::NothingToRemove, None)
            }
            redress_scrub::Outcome::NotScrubbed { kind, reason } => (
                kind.file_type(),
                Rendition::NotMade {
                    reason: reason.recorded(),
                },
                None,
            ),
        },
    )
}

/// The indicators that matched, each with its names and the observables seen.
fn matched_indicators(matches: &Matches) -> Vec<MatchedIndicator> {
    let mut observables: BTreeMap<&str, Vec<MatchedObservable>> = BTreeMap::new();
    for m in matches {
        let seen = MatchedObservable {
            observable: m.observable.as_str().to_owned(),
            value: m.value.to_owned(),
        };
        let list = observables.entry(m.indicator.id()).or_default();
        if !list.contains(&seen) {
            list.push(seen);
        }
    }
    matches
        .indicators()
        .map(|i| MatchedIndicator {
            id: i.id().to_owned(),
            name: i.name().map(str::to_owned),
            indicates: i
                .indicates()
                .iter()
                .map(|r| Indicated {
                    kind: r.kind().stix_type().to_owned(),
                    name: r.name().to_owned(),
                })
                .collect(),
            observables: observables.remove(i.id()).unwrap_or_default(),
        })
        .collect()
}

/// Seals `bytes` to `to` into a new blob (placed at once) and records it in `placed`.
/// Runs inside `block_in_place`.
fn place(
    worker: &Worker,
    to: &PublicKey,
    bytes: &[u8],
    placed: &mut Vec<ObjectId>,
) -> Result<(ObjectId, u64), JobError> {
    let blob = tokio::runtime::Handle::current().block_on(worker.blobs.begin())?;
    let id = blob.id();
    let mut w = seal_writer(&[to], blob)?;
    std::io::Write::write_all(&mut w, bytes)?;
    let size = w.finish()?.commit()?;
    placed.push(id);
    Ok((id, size))
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
) -> Result<Inspected, JobError> {
    let file = worker.blobs.open_blob(entry.object_id)?;
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
    Ok(Inspected {
        head,
        complete,
        sha256: hex::encode(hash.finalize()),
    })
}
