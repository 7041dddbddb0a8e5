//! Rotating the triage and recovery keys (ADR 0030): the running intake picks up the new
//! public key without a restart, reports made during a rotation are all triaged with the
//! new identity alone, a rotation killed with `kill -9` at random points finishes when run
//! again, and the stock `age` CLI opens a case with the new recovery identity.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use redress_crypto::SecretIdentity;
use redress_domain::Holder;
use redress_keychain::rotation::Quiet;

use crate::helpers::*;

/// Puts the offline triage identity where the worker (and so the rotation) keeps it.
pub(crate) fn triage_in_place(app: &TestApp) -> PathBuf {
    let path = app.config.triage_identity_path();
    std::fs::copy(app.offline_dir.join("triage.key"), &path).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

fn read_identity(path: &Path) -> SecretIdentity {
    SecretIdentity::parse(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Runs `args` as `redress keys rotate …`, killing it with SIGKILL after a random
/// moment `kills` times, then lets it finish. Returns the last run's output.
fn rotate_with_kills(app: &TestApp, args: &[&str], kills: usize) -> String {
    let rotate = || {
        let mut cmd = app.redress_command();
        cmd.args(["keys", "rotate"]).args(args);
        cmd
    };
    let (killed, out) = run_with_kills(rotate, kills, 20..700);
    assert!(
        killed > 0,
        "no run was killed part-way: make the test's work larger"
    );
    let text = output_text(&out);
    assert!(out.status.success(), "the resumed rotation finished: {text}");
    text
}

#[tokio::test(flavor = "multi_thread")]
async fn a_triage_rotation_reaches_the_running_intake_and_every_report_made_during_it_is_triaged() {
    let app = TestApp::spawn().await;
    app.investigator("ana@example.org", &["triage-desk"], 1000).await;
    let identity_file = triage_in_place(&app);
    let old = app.triage.clone();
    let mut refs = submit_reports(&app, 12, "Before the rotation").await;

    // The rotation and new reports at the same time.
    let config = app.config.clone();
    let store = app.store.clone();
    let clock = Arc::clone(&app.clock);
    let rotation = tokio::spawn(async move {
        let now = move || clock.load(Ordering::SeqCst);
        redress_cli::rotate::rotate_triage(
            &config,
            &store,
            &redress_cli::rotate::RotateOptions {
                batch: 3,
                verify_sample: None,
                door_wait: Duration::from_secs(60),
                settle: Duration::from_secs(2),
            },
            &Quiet,
            &now,
        )
        .await
        .unwrap()
    });
    while !rotation.is_finished() {
        refs.extend(submit_reports(&app, 1, "During the rotation").await);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let rotated = rotation.await.unwrap();
    assert!(rotated.outcome.finished, "{rotated:?}");
    let new = read_identity(&identity_file);
    assert_ne!(new.public(), old.public());
    assert_eq!(rotated.new_recipient, new.public().to_string());
    // The running intake seals to the new key without a restart.
    assert_eq!(app.state.keys.current().triage, new.public());
    refs.extend(submit_reports(&app, 3, "After the rotation").await);
    assert!(
        refs.len() > 15,
        "reports arrived during the rotation: {}",
        refs.len()
    );

    // No triage wrap is left to the old key: the old identity opens none, the new one all.
    let old_recipient = old.public().to_string();
    assert_eq!(
        app.store
            .count_wraps_for_rotation(Holder::Triage, &new.public().to_string(), false)
            .await
            .unwrap(),
        0
    );
    for case_ref in &refs {
        let case = app.case(case_ref).await;
        assert!(
            redress_keychain::open_case_key(&app.store, case.id, Holder::Triage, &old)
                .await
                .is_err()
        );
        let wrap = app.store.wrap(case.id, Holder::Triage).await.unwrap().unwrap();
        assert_ne!(wrap.holder_recipient, old_recipient);
    }
    let text = redress_cli::rotate::render_triage(&rotated);
    assert!(text.contains("may be destroyed"), "{text}");

    // A worker holding the new identity alone triages every case.
    let mut worker = app.worker("w", None);
    worker.triage = redress_worker::TriageKeys::fixed(vec![new.clone()]);
    worker.run_until_idle().await.unwrap();
    for case_ref in &refs {
        assert!(app.case(case_ref).await.triaged, "{case_ref} was triaged");
    }

    // The registry: the old version retired today, the new one current.
    let versions = app.store.key_versions("triage").await.unwrap();
    let state = |key: &str| versions.iter().find(|v| v.fingerprint == key).map(|v| v.state);
    assert_eq!(state(&old_recipient), Some(redress_store::VersionState::Retired));
    assert_eq!(
        state(&new.public().to_string()),
        Some(redress_store::VersionState::Current)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_worker_started_before_a_triage_rotation_picks_up_the_new_identity() {
    let app = TestApp::spawn().await;
    app.investigator("ana@example.org", &["triage-desk"], 1000).await;
    triage_in_place(&app);
    let mut worker = app.worker("w", None);
    let config = app.config.clone();
    worker.triage = redress_worker::TriageKeys::reloading(Box::new(move || {
        redress_cli::rotate::triage_identities(&config)
    }))
    .unwrap();
    let before = submit_reports(&app, 2, "Before").await;
    let now = || redress_cli::system_clock();
    let rotated = redress_cli::rotate::rotate_triage(
        &app.config,
        &app.store,
        &redress_cli::rotate::RotateOptions::default(),
        &Quiet,
        &now,
    )
    .await
    .unwrap();
    assert!(rotated.outcome.finished);
    let after = submit_reports(&app, 2, "After").await;
    worker.run_until_idle().await.unwrap();
    for case_ref in before.iter().chain(&after) {
        assert!(app.case(case_ref).await.triaged, "{case_ref}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_triage_rotation_killed_at_random_points_finishes_when_run_again() {
    let app = TestApp::spawn().await;
    let identity_file = triage_in_place(&app);
    let old = app.triage.clone();
    let refs = submit_reports(&app, 150, "Killed rotation").await;
    let out = rotate_with_kills(
        &app,
        &[
            "triage",
            "--batch",
            "4",
            "--verify",
            "all",
            "--wait-for-doors",
            "30",
        ],
        6,
    );
    assert!(out.contains("may be destroyed"), "{out}");
    let new = read_identity(&identity_file);
    assert_ne!(new.public(), old.public());
    let previous = redress_cli::rotate::triage_previous_path(&app.config);
    assert_eq!(
        read_identity(&previous).public(),
        old.public(),
        "the old identity is kept"
    );
    assert!(!redress_cli::rotate::triage_next_path(&app.config).exists());
    for case_ref in &refs {
        let case = app.case(case_ref).await;
        redress_keychain::open_case_key(&app.store, case.id, Holder::Triage, &new)
            .await
            .unwrap_or_else(|e| panic!("{case_ref} opens with the new key: {e}"));
        assert!(
            redress_keychain::open_case_key(&app.store, case.id, Holder::Triage, &old)
                .await
                .is_err()
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_recovery_rotation_killed_at_random_points_finishes_and_the_age_cli_opens_a_case() {
    let app = TestApp::spawn().await;
    let refs = submit_reports(&app, 150, "Recovery rotation").await;
    let old_file = app.offline_dir.join("recovery.txt");
    let new_file = app.offline_dir.join("new-recovery.txt");
    let args = [
        "recovery",
        "--old-identity",
        old_file.to_str().unwrap(),
        "--new-identity-out",
        new_file.to_str().unwrap(),
        "--batch",
        "4",
        "--verify",
        "all",
        "--wait-for-doors",
        "30",
    ];
    let out = rotate_with_kills(&app, &args, 6);
    assert!(out.contains("opens EVERY case"), "the loud warning: {out}");
    assert!(out.contains("destroy every copy"), "{out}");
    let new = read_identity(&new_file);
    assert_eq!(
        std::fs::metadata(&new_file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_ne!(new.public(), app.recovery.public());
    assert_eq!(
        app.state.keys.current().recovery,
        new.public(),
        "the intake seals to it"
    );
    for case_ref in &refs {
        app.open_as(case_ref, Holder::Recovery, &new)
            .await
            .unwrap_or_else(|e| panic!("{case_ref} opens with the new recovery identity: {e}"));
        assert!(
            app.open_as(case_ref, Holder::Recovery, &app.recovery)
                .await
                .is_err()
        );
    }
    // A new report is sealed to the new key too.
    let later = submit_reports(&app, 1, "After").await;
    app.open_as(&later[0], Holder::Recovery, &new).await.unwrap();

    // Running it again with the finished rotation's files changes nothing.
    let again = app
        .redress_command()
        .args(["keys", "rotate"])
        .args(args)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&again.stdout);
    assert!(
        again.status.success() && said.contains(": 0 wraps moved"),
        "{said}"
    );

    if !have_tool(
        "age",
        "opening a rotated case with the reference age CLI (apt-get install age)",
    ) {
        return;
    }
    let case = app.case(&refs[0]).await;
    let work = app.dir.path().join("age");
    std::fs::create_dir(&work).unwrap();
    let age = |identity: &Path, input: &Path| {
        let out = Command::new("age")
            .arg("-d")
            .arg("-i")
            .arg(identity)
            .arg(input)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        out.stdout
    };
    let wrap = app.store.wrap(case.id, Holder::Recovery).await.unwrap().unwrap();
    std::fs::write(work.join("case-wrap.age"), &wrap.ciphertext).unwrap();
    std::fs::write(work.join("case.key"), age(&new_file, &work.join("case-wrap.age"))).unwrap();
    let wrap = app.store.wrap(case.id, Holder::CaseKey).await.unwrap().unwrap();
    std::fs::write(work.join("thread-wrap.age"), &wrap.ciphertext).unwrap();
    std::fs::write(
        work.join("thread.key"),
        age(&work.join("case.key"), &work.join("thread-wrap.age")),
    )
    .unwrap();
    let (id, _) = app
        .store
        .objects(case.id)
        .await
        .unwrap()
        .into_iter()
        .find(|(_, kind)| *kind == redress_domain::ObjectKind::Submission)
        .unwrap();
    let document: serde_json::Value =
        serde_json::from_slice(&age(&work.join("thread.key"), &app.blob_file(id, &work))).unwrap();
    assert_eq!(
        document["answers"]["what_happened"],
        "Recovery rotation number 0, long enough."
    );
    // The old recovery identity no longer opens the wrap.
    let out = Command::new("age")
        .arg("-d")
        .arg("-i")
        .arg(&old_file)
        .arg(work.join("case-wrap.age"))
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_door_still_on_the_old_key_leaves_the_rotation_unfinished_with_status_3_until_it_moves() {
    let app = TestApp::spawn().await;
    let refs = submit_reports(&app, 5, "Door on the old key").await;
    let old_file = app.offline_dir.join("recovery.txt");
    let new_file = app.offline_dir.join("new-recovery.txt");
    let keys = app.state.keys.current();
    let old_recovery = app.recovery.public().to_string();
    // An intake process elsewhere, alive, that has not read the new public key file.
    let door = |recovery: String| {
        let store = app.store.clone();
        let triage = keys.triage.to_string();
        async move {
            store
                .beat_sealing(
                    "intake-elsewhere",
                    300,
                    redress_cli::system_clock(),
                    &triage,
                    &recovery,
                )
                .await
                .unwrap();
        }
    };
    door(old_recovery.clone()).await;
    let rotate = |wait: u32| {
        app.redress_command()
            .args(["keys", "rotate", "recovery", "--old-identity"])
            .arg(&old_file)
            .arg("--new-identity-out")
            .arg(&new_file)
            .arg("--wait-for-doors")
            .arg(wait.to_string())
            .output()
            .unwrap()
    };

    let out = rotate(1);
    let said = output_text(&out);
    assert_eq!(out.status.code(), Some(3), "{said}");
    assert!(
        said.contains("intake process(es) still seal new reports to the old key"),
        "{said}"
    );
    assert!(said.contains("Keep the old recovery identity"), "{said}");
    // The wraps there were are moved; the old version is not retired: the door may still
    // seal a report to it.
    let new = read_identity(&new_file);
    for case_ref in &refs {
        app.open_as(case_ref, Holder::Recovery, &new).await.unwrap();
    }
    let versions = app.store.key_versions("recovery").await.unwrap();
    let old_version = versions.iter().find(|v| v.fingerprint == old_recovery).unwrap();
    assert_eq!(old_version.state, redress_store::VersionState::Retiring);

    // The door takes the new key (as the test's own intake does within seconds): the same
    // command finishes.
    door(new.public().to_string()).await;
    let out = rotate(30);
    let said = output_text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(said.contains("destroy every copy"), "{said}");
    let versions = app.store.key_versions("recovery").await.unwrap();
    let old_version = versions.iter().find(|v| v.fingerprint == old_recovery).unwrap();
    assert_eq!(old_version.state, redress_store::VersionState::Retired);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_intake_keeps_sealing_to_its_keys_while_a_key_file_cannot_be_read() {
    let app = TestApp::spawn().await;
    let before = app.state.keys.current();
    let path = app.config.keys_dir().join("recovery.pub");
    let written = std::fs::read_to_string(&path).unwrap();

    // Half written, gone, something else in its place: each read fails, and the keys in
    // use stay; a report made meanwhile is sealed to them.
    let broken: [&dyn Fn(); 3] = [
        &|| std::fs::write(&path, &written[..written.len() / 2]).unwrap(),
        &|| std::fs::remove_file(&path).unwrap(),
        &|| {
            std::fs::remove_file(&path).unwrap();
            std::fs::create_dir(&path).unwrap();
        },
    ];
    for (i, breaking) in broken.iter().enumerate() {
        breaking();
        assert!(app.state.keys.reload().is_err(), "case {i}: the read fails");
        let now = app.state.keys.current();
        assert_eq!(now.recovery, before.recovery, "case {i}");
        assert_eq!(now.triage, before.triage, "case {i}");
        let report = submit_reports(&app, 1, "While the key file is broken").await;
        app.open_as(&report[0], Holder::Recovery, &app.recovery)
            .await
            .unwrap_or_else(|e| panic!("case {i}: sealed to the recovery key in use: {e}"));
        // Whole again for the next case.
        if path.is_dir() {
            std::fs::remove_dir(&path).unwrap();
        }
        std::fs::write(&path, &written).unwrap();
        assert_eq!(app.state.keys.reload(), Ok(false), "case {i}: the same keys");
    }

    // A whole new file is taken at the next read.
    let next = SecretIdentity::generate();
    std::fs::write(&path, format!("{}\n", next.public())).unwrap();
    assert_eq!(app.state.keys.reload(), Ok(true));
    assert_eq!(app.state.keys.current().recovery, next.public());
    let report = submit_reports(&app, 1, "After the new key file").await;
    app.open_as(&report[0], Holder::Recovery, &next).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rotation_on_a_terminal_shows_a_bar_with_rate_and_eta() {
    if !have_tool(
        "script",
        "runs the rotation on a terminal of its own (util-linux)",
    ) {
        return;
    }
    let app = TestApp::spawn().await;
    submit_reports(&app, 40, "On a terminal").await;
    let new_file = app.offline_dir.join("new-recovery.txt");
    let rotate = app.redress_command();
    let line = format!(
        "{} keys rotate recovery --old-identity {} --new-identity-out {} --batch 2 --wait-for-doors 30",
        rotate.get_program().to_string_lossy(),
        app.offline_dir.join("recovery.txt").display(),
        new_file.display(),
    );
    // `script` gives the command a terminal and copies what it shows to standard output.
    let mut on_terminal = Command::new("script");
    on_terminal
        .args(["--quiet", "--return", "--command", &line, "/dev/null"])
        .current_dir(rotate.get_current_dir().unwrap());
    for (name, value) in rotate.get_envs() {
        match value {
            Some(v) => on_terminal.env(name, v),
            None => on_terminal.env_remove(name),
        };
    }
    let out = on_terminal.output().unwrap();
    let shown = output_text(&out);
    assert!(out.status.success(), "{shown}");
    assert!(shown.contains("re-wrapping"), "{shown}");
    // "re-wrapping    [====>     ] 4/40 873.2641/s ETA 0s"
    assert!(shown.contains("/s ETA "), "a bar with a rate and an ETA: {shown}");
    assert!(
        shown.contains("] 40/40 "),
        "the bar counts the wraps to the end: {shown}"
    );
    assert!(
        !shown.contains("re-wrapping: 40 to do"),
        "no plain lines on a terminal: {shown}"
    );
    let new = read_identity(&new_file);
    assert_eq!(app.state.keys.current().recovery, new.public());
}
