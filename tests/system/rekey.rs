//! Revoking an investigator with `--rekey` (ADR 0032): each of their cases gets a new
//! case key and thread key and everything it stores is re-encrypted. Proven at the
//! crypto layer: the revoked identity and the old keys open no wrap, blob, entry or
//! label of the case any more; the other assignee and the recovery identity read the
//! same content as before; the reporter's receipt still opens the thread. A re-keying
//! killed with `kill -9` at random points finishes when run again, and leaves no blob
//! behind once the sweep has run. Without the right recovery identity nothing changes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use redress_crypto::{SecretIdentity, open, unwrap_identity};
use redress_domain::{CaseId, EntryKind, Holder, HolderKind, ObjectKind, Role};
use serde_json::{Value, json};

use crate::helpers::*;
use crate::portal_lifecycle::step;
use crate::staff::*;

/// `redress keys revoke EMAIL --rekey [--recovery-identity FILE]`.
fn revoke_command(app: &TestApp, email: &str, recovery: Option<&Path>) -> std::process::Command {
    let mut cmd = app.redress_command();
    cmd.args(["keys", "revoke", email, "--rekey"]);
    if let Some(file) = recovery {
        cmd.arg("--recovery-identity").arg(file);
    }
    cmd
}

fn recovery_file(app: &TestApp) -> std::path::PathBuf {
    app.offline_dir.join("recovery.txt")
}

/// Everything stored of a case that is sealed to one of its keys.
struct Sealed {
    wraps: Vec<Vec<u8>>,
    blobs: Vec<(ObjectKind, Vec<u8>)>,
    entries: Vec<(EntryKind, Vec<u8>)>,
    labels: Option<Vec<u8>>,
}

async fn sealed(app: &TestApp, case: CaseId) -> Sealed {
    let mut wraps = Vec::new();
    for kind in HolderKind::ALL {
        for w in app.store.wraps(case, *kind).await.unwrap() {
            wraps.push(w.ciphertext);
        }
    }
    let mut blobs = Vec::new();
    for (id, kind) in app.store.objects(case).await.unwrap() {
        blobs.push((kind, app.read_blob(id).await));
    }
    let entries = app
        .store
        .entries(case)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.kind, e.ciphertext))
        .collect();
    let labels = app.store.sealed_labels(&[case]).await.unwrap().remove(&case);
    Sealed {
        wraps,
        blobs,
        entries,
        labels,
    }
}

/// What of `sealed` any of `keys` opens, in words: empty if nothing.
fn opened_by(sealed: &Sealed, keys: &[&SecretIdentity]) -> Vec<String> {
    let mut found = Vec::new();
    for key in keys {
        for w in &sealed.wraps {
            if unwrap_identity(w, key).is_ok() {
                found.push("a wrap".to_owned());
            }
        }
        for (kind, b) in &sealed.blobs {
            if open(key, b).is_ok() {
                found.push(format!("a {kind} blob"));
            }
        }
        for (kind, e) in &sealed.entries {
            if open(key, e).is_ok() {
                found.push(format!("a {kind} entry"));
            }
        }
        if sealed.labels.as_ref().is_some_and(|l| open(key, l).is_ok()) {
            found.push("the labels".to_owned());
        }
    }
    found
}

/// A case's content as a holder reads it, ids left out (a re-key gives objects new
/// ones): the answers, every file by name (the report's and the reporter's messages'),
/// each entry's kind, text and file names, and the labels.
#[derive(Debug, PartialEq)]
struct Content {
    answers: Value,
    files: BTreeMap<String, Vec<u8>>,
    entries: Vec<(EntryKind, Value, Vec<String>)>,
    labels: Option<Value>,
    /// How many evidence files the triage summary's custody names, each by the id it
    /// has now.
    summary_custody: usize,
}

async fn content(app: &TestApp, case_ref: &str, holder: Holder, identity: &SecretIdentity) -> Content {
    let case = app.case(case_ref).await;
    let case_key = redress_keychain::open_case_key(&app.store, case.id, holder, identity)
        .await
        .unwrap_or_else(|e| panic!("{holder:?} opens {case_ref}: {e}"));
    let thread = redress_keychain::open_thread_key(&app.store, case.id, &case_key)
        .await
        .unwrap();
    assert_eq!(case_key.public().to_string(), case.case_recipient);
    assert_eq!(thread.public().to_string(), case.thread_recipient);
    read_content(app, case.id, Some(&case_key), &thread).await
}

/// What the reporter reads with the receipt alone.
async fn reporter_content(app: &TestApp, case_ref: &str, receipt: &str) -> Content {
    let case = app.case(case_ref).await;
    let keys = redress_crypto::derive_receipt_keys(
        &redress_crypto::Receipt::parse(receipt).unwrap(),
        &app.state.receipt_salt,
        &app.state.kdf,
    )
    .unwrap();
    let thread = redress_keychain::open_thread_as_reporter(&app.store, case.id, &keys.identity)
        .await
        .unwrap();
    read_content(app, case.id, None, &thread).await
}

async fn read_content(
    app: &TestApp,
    case: CaseId,
    case_key: Option<&SecretIdentity>,
    thread: &SecretIdentity,
) -> Content {
    let objects = app.store.objects(case).await.unwrap();
    let mut evidence = BTreeMap::new();
    let mut answers = Value::Null;
    let mut manifest = Vec::new();
    let mut summary_custody = 0;
    for (id, kind) in &objects {
        let blob = app.read_blob(*id).await;
        match kind {
            ObjectKind::Evidence => {
                evidence.insert(id.to_string(), open(thread, &blob).unwrap().to_vec());
            }
            ObjectKind::Submission => {
                let doc: Value = serde_json::from_slice(&open(thread, &blob).unwrap()).unwrap();
                answers = doc["answers"].clone();
                manifest.extend(doc["evidence"].as_array().unwrap().iter().cloned());
            }
            ObjectKind::TriageSummary => {
                if let Some(key) = case_key {
                    let summary: Value = serde_json::from_slice(&open(key, &blob).unwrap()).unwrap();
                    summary_custody += summary["evidence"].as_array().unwrap().len();
                    manifest.extend(summary["evidence"].as_array().unwrap().iter().map(|c| {
                        json!({"object_id": c["original"], "file_name": c["file_name"], "sha256": c["sha256"]})
                    }));
                }
            }
            ObjectKind::Scrubbed => {
                if let Some(key) = case_key {
                    open(key, &blob).unwrap();
                }
            }
        }
    }
    let mut entries = Vec::new();
    for e in app.store.entries(case).await.unwrap() {
        let key = match e.kind.sealed_to() {
            redress_domain::SealedTo::Case => match case_key {
                Some(k) => k,
                None => continue,
            },
            redress_domain::SealedTo::Thread => thread,
        };
        let doc: Value = serde_json::from_slice(&open(key, &e.ciphertext).unwrap()).unwrap();
        let mut names = Vec::new();
        for f in doc["files"].as_array().into_iter().flatten() {
            manifest.push(f.clone());
            names.push(f["file_name"].as_str().unwrap().to_owned());
        }
        entries.push((e.kind, doc["text"].clone(), names));
    }
    // Every file a sealed document names is one of the case's objects by its id now,
    // with the bytes it was sent with.
    let mut files = BTreeMap::new();
    for m in &manifest {
        let bytes = evidence
            .get(m["object_id"].as_str().unwrap())
            .unwrap_or_else(|| panic!("{m} names an object of the case"));
        assert_eq!(m["sha256"].as_str().unwrap(), sha256_hex(bytes));
        files.insert(m["file_name"].as_str().unwrap().to_owned(), bytes.clone());
    }
    assert_eq!(files.len(), evidence.len(), "every file is named once");
    let labels = match case_key {
        Some(key) => app
            .store
            .sealed_labels(&[case])
            .await
            .unwrap()
            .remove(&case)
            .map(|l| serde_json::from_slice(&open(key, &l).unwrap()).unwrap()),
        None => None,
    };
    Content {
        answers,
        files,
        entries,
        labels,
        summary_custody,
    }
}

async fn followup_session(app: &TestApp, receipt: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/followup/session"))
        .json(&json!({ "receipt": receipt }))
        .send()
        .await
        .unwrap()
}

async fn followup_case(app: &TestApp, bearer: &str) -> reqwest::Response {
    app.client
        .get(app.url("/api/v1/followup/case"))
        .header("authorization", bearer)
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rekey_leaves_the_old_keys_opening_nothing_and_everyone_else_reading_the_same_case() {
    let app = TestApp::spawn().await;
    let portal = app.portal().await;
    let ana = person(
        &app,
        &portal,
        "ana@example.org",
        Role::Investigator,
        &["triage-desk"],
    )
    .await;
    let bo = person(
        &app,
        &portal,
        "bo@example.org",
        Role::Investigator,
        &["triage-desk"],
    )
    .await;
    let file = noise(300_000);
    let res = app
        .api_submit(
            &good_answers("They listened to my calls for months."),
            &[("phone.log", &file)],
        )
        .await;
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    let (receipt, case_ref) = (
        body["receipt"].as_str().unwrap().to_owned(),
        body["case_ref"].as_str().unwrap().to_owned(),
    );
    app.worker("w", None).run_until_idle().await.unwrap();
    let investigator_of = |who: &Person| {
        let id = who.id;
        let app = &app;
        async move {
            app.store
                .account(id)
                .await
                .unwrap()
                .unwrap()
                .investigator_id
                .unwrap()
        }
    };
    let (ana_inv, bo_inv) = (investigator_of(&ana).await, investigator_of(&bo).await);
    let case = app.case(&case_ref).await;
    // Whoever triage gave it to adds the other: both on the case.
    let assignees = app.store.assignees(case.id).await.unwrap();
    let (first, other) = if assignees[0].id == ana_inv {
        (&ana, &bo)
    } else {
        (&bo, &ana)
    };
    let added = first
        .agent
        .submit(
            "/cases",
            &format!("/cases/{case_ref}/people"),
            &[("action", "add"), ("person", &other.id.to_string())],
        )
        .await;
    assert_eq!(added.status, 303, "{}", added.body);
    for (action, fields) in [
        ("acknowledge", vec![("text", "Thank you; we are looking at it.")]),
        ("reply", vec![("text", "Could you send the phone's logs?")]),
        ("note", vec![("text", "NOTE-MARKER: the Example Ministry again.")]),
    ] {
        assert_eq!(
            step(&ana, &case_ref, action, &fields).await.status,
            303,
            "{action}"
        );
    }
    let labelled = ana
        .agent
        .submit(
            "/cases",
            &format!("/cases/{case_ref}/marks"),
            &[("action", "labels"), ("label-legal-review", "on")],
        )
        .await;
    assert_eq!(labelled.status, 303, "{}", labelled.body);
    // The reporter writes back with a file, and stays logged in.
    let session: Value = followup_session(&app, &receipt).await.json().await.unwrap();
    let bearer = format!("Bearer {}", session["token"].as_str().unwrap());
    let form = reqwest::multipart::Form::new()
        .text("message", "Here are the logs.")
        .part(
            "evidence",
            reqwest::multipart::Part::bytes(b"log line".to_vec()).file_name("logs.txt"),
        );
    let sent = app
        .client
        .post(app.url("/api/v1/followup/messages"))
        .header("authorization", &bearer)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 201);

    // Before: what everyone reads, and the old keys (as a leaked identity would have
    // opened them).
    let ana_id = identity_of(&app, &ana).await;
    let bo_id = identity_of(&app, &bo).await;
    let before = content(&app, &case_ref, Holder::Recovery, &app.recovery).await;
    assert_eq!(
        before,
        content(&app, &case_ref, Holder::Investigator(bo_inv), &bo_id).await
    );
    assert_eq!(before.files["phone.log"], file);
    assert_eq!(before.files["logs.txt"], b"log line");
    assert_eq!(
        reporter_content(&app, &case_ref, &receipt).await.files,
        before.files
    );
    assert_eq!(before.summary_custody, 1);
    let kinds: Vec<EntryKind> = before.entries.iter().map(|e| e.0).collect();
    for kind in [EntryKind::Reply, EntryKind::Note, EntryKind::ReporterMessage] {
        assert!(kinds.contains(&kind), "{kinds:?}");
    }
    let old_case =
        redress_keychain::open_case_key(&app.store, case.id, Holder::Investigator(ana_inv), &ana_id)
            .await
            .unwrap();
    let old_thread = redress_keychain::open_thread_key(&app.store, case.id, &old_case)
        .await
        .unwrap();
    let old_things = sealed(&app, case.id).await;
    assert!(!opened_by(&old_things, &[&old_case]).is_empty());
    let blobs_before = app.stored_blobs().await;

    let out = revoke_command(&app, "ana@example.org", Some(&recovery_file(&app)))
        .output()
        .unwrap();
    let said = output_text(&out);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("Revoked ana@example.org: 1 wraps deleted"),
        "{said}"
    );
    assert!(said.contains("Re-keyed 1 of their 1 cases"), "{said}");
    assert!(said.contains("the old keys open nothing of them"), "{said}");
    assert!(
        !said.contains("NOTE-MARKER") && !said.contains("listened"),
        "{said}"
    );

    // The case has new keys; the revoked identity and the old keys open nothing of it.
    let after_case = app.case(&case_ref).await;
    assert_ne!(after_case.case_recipient, case.case_recipient);
    assert_ne!(after_case.thread_recipient, case.thread_recipient);
    let now = sealed(&app, case.id).await;
    assert_eq!(now.blobs.len(), old_things.blobs.len());
    assert_eq!(now.entries.len(), old_things.entries.len());
    assert!(now.labels.is_some());
    let opened = opened_by(&now, &[&ana_id, &old_case, &old_thread]);
    assert!(opened.is_empty(), "the old keys open {opened:?}");
    assert!(
        redress_keychain::open_case_key(&app.store, case.id, Holder::Investigator(ana_inv), &ana_id)
            .await
            .is_err()
    );
    // Every old blob is gone, and the new ones are the case's.
    let blobs_after = app.stored_blobs().await;
    assert!(blobs_before.is_disjoint(&blobs_after));
    assert_eq!(blobs_before.len(), blobs_after.len());

    // Bo and recovery read exactly what they read before.
    assert_eq!(
        content(&app, &case_ref, Holder::Recovery, &app.recovery).await,
        before
    );
    assert_eq!(
        content(&app, &case_ref, Holder::Investigator(bo_inv), &bo_id).await,
        before
    );
    let page = bo.agent.get(&format!("/cases/{case_ref}")).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("They listened to my calls for months."));
    assert!(page.body.contains("NOTE-MARKER"));
    assert!(page.body.contains("Here are the logs."));

    // The reporter: the old session ended (it held the old thread key); the receipt
    // opens the thread, with the report, the reply and their own message and file.
    assert_eq!(followup_case(&app, &bearer).await.status(), 401);
    let read = reporter_content(&app, &case_ref, &receipt).await;
    assert_eq!(read.answers, before.answers);
    assert_eq!(read.files, before.files);
    let thread_entries: Vec<_> = before
        .entries
        .iter()
        .filter(|e| e.0.sealed_to() == redress_domain::SealedTo::Thread)
        .cloned()
        .collect();
    assert_eq!(read.entries, thread_entries);
    let session = followup_session(&app, &receipt).await;
    assert_eq!(session.status(), 201);
    let session: Value = session.json().await.unwrap();
    let bearer = format!("Bearer {}", session["token"].as_str().unwrap());
    let shown: Value = followup_case(&app, &bearer).await.json().await.unwrap();
    assert_eq!(
        shown["report"]["answers"]["what_happened"],
        "They listened to my calls for months."
    );
    let messages = shown["messages"].as_array().unwrap();
    assert!(
        messages
            .iter()
            .any(|m| m["kind"] == "reply" && m["text"] == "Could you send the phone's logs?")
    );
    let mine = messages.iter().find(|m| m["from"] == "you").unwrap();
    assert_eq!(mine["files"][0]["name"], "logs.txt");
    assert!(!shown.to_string().contains("NOTE-MARKER"));

    // Audited: the revocation and the re-key, by the command line.
    let log = app.store.audit_after(0, 1000).await.unwrap();
    assert!(log.iter().any(|r| r.action == "key_revoke" && r.actor == "cli"));
    assert!(log.iter().any(|r| r.action == "case_rekey"
        && r.actor == "cli"
        && r.target.as_deref() == Some(format!("case:{case_ref}").as_str())));
}

/// Runs `keys revoke --rekey`, killing it with SIGKILL after a random moment `kills`
/// times, then lets it finish. Returns the last run's output and how many were killed.
fn rekey_with_kills(app: &TestApp, email: &str, kills: usize) -> (String, usize) {
    let file = recovery_file(app);
    let (killed, out) = run_with_kills(|| revoke_command(app, email, Some(&file)), kills, 20..400);
    let said = output_text(&out);
    assert!(out.status.success(), "the resumed re-keying finished: {said}");
    (said, killed)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rekey_killed_at_random_points_finishes_when_run_again_and_leaves_no_blob_behind() {
    let app = TestApp::spawn().await;
    let (ana, ana_id) = app.investigator("ana@example.org", &["triage-desk"], 1000).await;
    // Never routed to: added to every case by hand.
    let (bo, bo_id) = app
        .investigator("bo@example.org", &["nobody-routes-here"], 1000)
        .await;
    let mut refs = Vec::new();
    for i in 0..30 {
        let what = format!("Report number {i}, long enough to be a report.");
        let res = app
            .api_submit(&good_answers(&what), &[("capture.bin", &noise(400_000 + i))])
            .await;
        assert_eq!(res.status(), 201);
        let body: Value = res.json().await.unwrap();
        refs.push(body["case_ref"].as_str().unwrap().to_owned());
    }
    app.worker("w", None).run_until_idle().await.unwrap();
    let mut before = Vec::new();
    let mut old_keys = Vec::new();
    for case_ref in &refs {
        let case = app.case(case_ref).await;
        let case_key = redress_keychain::open_case_key(&app.store, case.id, Holder::Recovery, &app.recovery)
            .await
            .unwrap();
        let tx = app.store.begin_audited().await.unwrap();
        tx.assign(
            case.id,
            &redress_store::NewAssignee {
                investigator: bo.id,
                wrap: redress_keychain::wrap_case_key(
                    &case_key,
                    Holder::Investigator(bo.id),
                    &bo_id.public(),
                )
                .unwrap(),
                email: None,
            },
            app.now(),
        )
        .await
        .unwrap();
        let public = case_key.public();
        tx.add_entry(
            case.id,
            &redress_store::NewCaseEntry {
                kind: EntryKind::Note,
                author: None,
                at: app.now(),
                ciphertext: redress_crypto::seal(&[&public], br#"{"format":1,"text":"A note."}"#).unwrap(),
            },
        )
        .await
        .unwrap();
        tx.set_labels(
            case.id,
            Some(redress_crypto::seal(&[&public], br#"["escalated"]"#).unwrap()),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let thread = redress_keychain::open_thread_key(&app.store, case.id, &case_key)
            .await
            .unwrap();
        before.push(content(&app, case_ref, Holder::Investigator(bo.id), &bo_id).await);
        old_keys.push((case_key, thread));
    }

    let (said, killed) = rekey_with_kills(&app, "ana@example.org", 8);
    eprintln!("{killed} of 8 runs killed part-way");
    assert!(
        killed > 0,
        "no run was killed part-way: make the test's work larger"
    );
    assert!(said.contains("the old keys open nothing of them"), "{said}");

    // The sweep takes what the killed runs left; then every blob is a case's.
    redress_store::sweep_orphans(
        &app.store,
        &app.blobs,
        redress_worker::SWEEP_GRACE,
        past_grace(&app),
    )
    .await
    .unwrap();
    let stored = app.stored_blobs().await;
    let mut referenced = BTreeSet::new();
    for case_ref in &refs {
        let case = app.case(case_ref).await;
        referenced.extend(
            app.store
                .objects(case.id)
                .await
                .unwrap()
                .into_iter()
                .map(|(id, _)| id),
        );
    }
    assert_eq!(stored, referenced, "no blob orphaned, none missing");

    for ((case_ref, before), (old_case, old_thread)) in refs.iter().zip(&before).zip(&old_keys) {
        let case = app.case(case_ref).await;
        assert_eq!(
            &content(&app, case_ref, Holder::Investigator(bo.id), &bo_id).await,
            before
        );
        assert_eq!(
            &content(&app, case_ref, Holder::Recovery, &app.recovery).await,
            before
        );
        let opened = opened_by(&sealed(&app, case.id).await, &[&ana_id, old_case, old_thread]);
        assert!(opened.is_empty(), "{case_ref}: the old keys open {opened:?}");
    }
    // One audit entry per case: each was re-keyed exactly once.
    let log = app.store.audit_after(0, 1000).await.unwrap();
    let rekeyed: BTreeSet<_> = log
        .iter()
        .filter(|r| r.action == "case_rekey")
        .filter_map(|r| r.target.clone())
        .collect();
    assert_eq!(rekeyed.len(), refs.len());
    assert_eq!(
        log.iter().filter(|r| r.action == "case_rekey").count(),
        refs.len()
    );
    // A run killed after the revocation resumed it; one that started after the end
    // revoked again, finding nothing.
    assert!(log.iter().any(|r| r.action == "key_revoke"));
    assert!(
        app.store
            .investigators()
            .await
            .unwrap()
            .iter()
            .any(|i| i.id == ana.id && !i.active)
    );
    // A run after the end has nothing left to do.
    let out = revoke_command(&app, "ana@example.org", Some(&recovery_file(&app)))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", output_text(&out));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rekey_without_the_recovery_identity_is_refused_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let (ana, ana_id) = app.investigator("ana@example.org", &["triage-desk"], 1000).await;
    let res = app
        .api_submit(&good_answers("They listened to my calls for months."), &[])
        .await;
    let case_ref = res.json::<Value>().await.unwrap()["case_ref"]
        .as_str()
        .unwrap()
        .to_owned();
    app.worker("w", None).run_until_idle().await.unwrap();
    let before = dump_database(&app.store).await;
    let case = app.case(&case_ref).await;

    let wrong = app.dir.path().join("not-recovery.txt");
    std::fs::write(&wrong, SecretIdentity::generate().to_identity_file().as_str()).unwrap();
    let missing = app.dir.path().join("missing.txt");
    let garbage = app.dir.path().join("garbage.txt");
    std::fs::write(&garbage, "not an identity").unwrap();
    for (file, expected) in [
        (None, "--rekey needs --recovery-identity FILE"),
        (
            Some(wrong.as_path()),
            "--recovery-identity is not the recovery identity",
        ),
        (
            Some(garbage.as_path()),
            "--recovery-identity is not an age identity file",
        ),
        (Some(missing.as_path()), "reading"),
    ] {
        let out = revoke_command(&app, "ana@example.org", file).output().unwrap();
        let said = output_text(&out);
        assert!(!out.status.success(), "{said}");
        assert!(said.contains(expected), "{expected}: {said}");
        assert!(said.contains("othing was changed"), "{said}");
        assert_eq!(dump_database(&app.store).await, before, "nothing changed");
    }
    // Her identity still opens the case; the recovery identity given as it should be
    // then does the whole job.
    assert!(
        redress_keychain::open_case_key(&app.store, case.id, Holder::Investigator(ana.id), &ana_id)
            .await
            .is_ok()
    );
    let out = revoke_command(&app, "ana@example.org", Some(&recovery_file(&app)))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", output_text(&out));
    assert_ne!(app.case(&case_ref).await.case_recipient, case.case_recipient);
}
