//! The `redress` binary itself: first run, key files, configuration layering and
//! `check-config`.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use redress_crypto::SecretIdentity;
use redress_store::test_support::TestDatabase;

use crate::helpers::*;

fn redress(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_redress"));
    cmd.current_dir(dir).env("RUST_LOG", "warn");
    // The test harness's own variables must not leak into the child's configuration.
    cmd.env_remove("REDRESS_TEST_DATABASE_URL")
        .env_remove("REDRESS_REQUIRE_ALL");
    cmd
}

/// `redress SUBCOMMAND` on a test's data folder and database, listening on a free port.
fn redress_on(dir: &Path, data: &Path, db: &TestDatabase, subcommand: &str) -> Command {
    let mut cmd = redress(dir);
    cmd.arg(subcommand)
        .env("REDRESS_DATA_DIR", data)
        .env("REDRESS_DATABASE__URL", db.url())
        .env("REDRESS_INTAKE__LISTEN", "127.0.0.1:0")
        .env("REDRESS_PORTAL__LISTEN", "127.0.0.1:0")
        .env("REDRESS_INTAKE__MIN_FREE_DISK_MIB", "1");
    cmd
}

/// Starts a server subcommand and returns it with its printed intake URL and output.
fn start(mut cmd: Command) -> (Child, String, String) {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut seen = String::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            seen += &line;
            seen.push('\n');
            if let Some(url) = line.strip_prefix("Intake listening on ") {
                let _ = tx.send((url.trim_end_matches('/').to_owned(), seen.clone()));
            }
        }
    });
    let (url, seen) = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("server printed its URL");
    (child, url, seen)
}

fn stop(mut child: Child) {
    let _ = child.kill();
    let _ = child.wait();
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test(flavor = "multi_thread")]
async fn first_run_creates_keys_and_says_where_later_runs_reuse_them() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDatabase::create(dir.path()).await;
    let data = dir.path().join("data");
    let serve = || redress_on(dir.path(), &data, &db, "serve");
    let (child, url, first) = start(serve());
    let recovery = data.join("RECOVERY-IDENTITY-MOVE-OFFLINE.txt");
    assert!(first.contains(&recovery.display().to_string()), "{first}");
    assert!(first.contains("offline storage NOW"), "{first}");
    assert!(
        first.contains(&data.join("keys/triage.key").display().to_string()),
        "{first}"
    );
    assert_eq!(mode(&data.join("keys/triage.key")), 0o600);
    assert_eq!(mode(&recovery), 0o600);
    assert_eq!(mode(&data), 0o700);
    // The portal's secret of its own: a 0600 file, never a database setting.
    let portal_secret = std::fs::read_to_string(data.join("keys/portal.secret")).unwrap();
    assert_eq!(mode(&data.join("keys/portal.secret")), 0o600);
    assert_eq!(hex::decode(portal_secret.trim()).unwrap().len(), 32);
    let store = redress_store::Store::connect(db.url()).await.unwrap();
    let dump = dump_database(&store).await;
    assert!(
        !dump.contains(portal_secret.trim()),
        "the portal secret is not in the database"
    );
    let recovery_id = SecretIdentity::parse(&std::fs::read_to_string(&recovery).unwrap()).unwrap();
    let recovery_pub = std::fs::read_to_string(data.join("keys/recovery.pub")).unwrap();
    assert_eq!(recovery_pub.trim(), recovery_id.public().to_string());
    assert_eq!(reqwest::get(format!("{url}/")).await.unwrap().status(), 200);
    stop(child);

    // The operator moves the recovery identity offline; the next run reuses everything.
    std::fs::remove_file(&recovery).unwrap();
    let triage_before = std::fs::read(data.join("keys/triage.key")).unwrap();
    let (child, url, second) = start(serve());
    assert!(!second.contains("RECOVERY"), "{second}");
    assert!(!recovery.exists());
    assert_eq!(
        std::fs::read(data.join("keys/triage.key")).unwrap(),
        triage_before
    );
    assert_eq!(
        std::fs::read_to_string(data.join("keys/recovery.pub")).unwrap(),
        recovery_pub
    );
    assert_eq!(reqwest::get(format!("{url}/report")).await.unwrap().status(), 200);
    stop(child);

    // A lost public half is restored from the identity, not replaced by a new key.
    let triage_pub = std::fs::read_to_string(data.join("keys/triage.pub")).unwrap();
    std::fs::remove_file(data.join("keys/triage.pub")).unwrap();
    let (child, _, _) = start(serve());
    stop(child);
    assert_eq!(
        std::fs::read_to_string(data.join("keys/triage.pub")).unwrap(),
        triage_pub
    );
    assert_eq!(
        std::fs::read(data.join("keys/triage.key")).unwrap(),
        triage_before
    );

    // The identity moved to the worker host: no new one appears.
    std::fs::remove_file(data.join("keys/triage.key")).unwrap();
    let (child, _, third) = start(serve());
    stop(child);
    assert!(!data.join("keys/triage.key").exists(), "{third}");
    assert_eq!(
        std::fs::read_to_string(data.join("keys/triage.pub")).unwrap(),
        triage_pub
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_intake_subcommand_runs_with_public_keys_only() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDatabase::create(dir.path()).await;
    let data = dir.path().join("data");
    // Without public keys the intake refuses to start, and says why.
    let out = redress_on(dir.path(), &data, &db, "intake").output().unwrap();
    assert!(!out.status.success());
    assert!(
        output_text(&out).contains("public key missing"),
        "{}",
        output_text(&out)
    );

    // An intake host gets only the two public keys, from configuration. The portal's
    // secret means nothing to it: the file here is garbage, and the intake still runs.
    std::fs::create_dir_all(data.join("keys")).unwrap();
    std::fs::write(data.join("keys/portal.secret"), "not a key").unwrap();
    let triage = SecretIdentity::generate();
    let recovery = SecretIdentity::generate();
    let out = redress_on(dir.path(), &data, &db, "migrate").output().unwrap();
    assert!(out.status.success(), "{}", output_text(&out));
    let mut cmd = redress_on(dir.path(), &data, &db, "intake");
    cmd.env("REDRESS_KEYS__TRIAGE_RECIPIENT", triage.public().to_string())
        .env("REDRESS_KEYS__RECOVERY_RECIPIENT", recovery.public().to_string());
    let (child, url, _) = start(cmd);
    let form = report_form(&good_answers("Through the intake process."), &[]);
    let res = post_report(&reqwest::Client::new(), &url, form).await;
    assert_eq!(res.status(), 201);
    stop(child);
    assert!(
        files_containing(dir.path(), b"AGE-SECRET-KEY").is_empty(),
        "the intake wrote no identity"
    );

    // What it stored opens with the identities that never came near it.
    let store = redress_store::Store::connect(db.url()).await.unwrap();
    let case = &store.cases().await.unwrap()[0];
    for (holder, id) in [
        (redress_domain::Holder::Triage, &triage),
        (redress_domain::Holder::Recovery, &recovery),
    ] {
        redress_keychain::open_case_key(&store, case.id, holder, id)
            .await
            .unwrap();
    }
}

#[test]
fn unknown_configuration_keys_are_errors_that_name_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("redress.toml");
    std::fs::write(&file, "[intake]\nlisten_port = 8080\n").unwrap();
    let out = redress(dir.path())
        .arg("--config")
        .arg(&file)
        .arg("check-config")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(output_text(&out).contains("listen_port"), "{}", output_text(&out));

    let out = redress(dir.path())
        .env("REDRESS_INTAKE__LISTN", "127.0.0.1:1")
        .arg("check-config")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(output_text(&out).contains("listn"), "{}", output_text(&out));

    // REDRESS_CONFIG names the file too.
    let out = redress(dir.path())
        .env("REDRESS_CONFIG", &file)
        .arg("check-config")
        .output()
        .unwrap();
    assert!(output_text(&out).contains("listen_port"), "{}", output_text(&out));

    let missing = redress(dir.path())
        .arg("--config")
        .arg(dir.path().join("nope.toml"))
        .arg("check-config")
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(output_text(&missing).contains("does not exist"));
}

#[test]
fn environment_overrides_the_file_and_the_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("redress.toml");
    std::fs::write(
        &file,
        "data_dir = \"from-file\"\n[intake]\nlisten = \"127.0.0.1:7000\"\n",
    )
    .unwrap();
    let out = redress(dir.path())
        .arg("--config")
        .arg(&file)
        .arg("check-config")
        .output()
        .unwrap();
    let t = output_text(&out);
    assert!(t.contains("data_dir = from-file"), "{t}");
    assert!(t.contains("intake.listen = 127.0.0.1:7000"), "{t}");
    assert!(t.contains("portal.listen = 127.0.0.1:8081"), "default: {t}");
    assert!(
        t.contains("database.url = sqlite://from-file/redress.db?mode=rwc"),
        "default: {t}"
    );

    let out = redress(dir.path())
        .arg("--config")
        .arg(&file)
        .arg("check-config")
        .env("REDRESS_DATA_DIR", dir.path().join("env-data"))
        .env(
            "REDRESS_DATABASE__URL",
            "postgres://app:hunter2@db.internal:5432/redress",
        )
        .env("REDRESS_INTAKE__LISTEN", "127.0.0.1:9000")
        .env("REDRESS_PORTAL__LISTEN", "127.0.0.1:9001")
        .output()
        .unwrap();
    let t = output_text(&out);
    assert!(
        t.contains(&format!("data_dir = {}", dir.path().join("env-data").display())),
        "{t}"
    );
    assert!(t.contains("intake.listen = 127.0.0.1:9000"), "{t}");
    assert!(t.contains("portal.listen = 127.0.0.1:9001"), "{t}");
    assert!(
        t.contains("database.url = postgres://app:***@db.internal:5432/redress"),
        "{t}"
    );
    assert!(!t.contains("hunter2"), "passwords are not echoed: {t}");
}

#[tokio::test]
async fn blobs_in_postgres_need_a_postgres_database_and_a_backend_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let needs = "blobs.backend = \"postgres\" needs a PostgreSQL database";
    // check-config names the problem and the fix; the doors refuse to start with it.
    let out = redress(dir.path())
        .arg("check-config")
        .env("REDRESS_DATA_DIR", &data)
        .env("REDRESS_BLOBS__BACKEND", "postgres")
        .output()
        .unwrap();
    let t = output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.contains(needs) && t.contains("blobs.backend = \"folder\""),
        "{t}"
    );
    assert!(t.contains("blobs.backend = postgres"), "the summary says it: {t}");
    let db = TestDatabase::create(dir.path()).await;
    if db.url().starts_with("sqlite:") {
        let out = redress_on(dir.path(), &data, &db, "intake")
            .env("REDRESS_BLOBS__BACKEND", "postgres")
            .output()
            .unwrap();
        assert!(!out.status.success());
        assert!(output_text(&out).contains(needs), "{}", output_text(&out));
    }
    // A backend that does not exist is a configuration error, not a fallback.
    let out = redress(dir.path())
        .arg("check-config")
        .env("REDRESS_DATA_DIR", &data)
        .env("REDRESS_BLOBS__BACKEND", "s3")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(output_text(&out).contains("s3"), "{}", output_text(&out));
}

#[test]
fn check_config_reports_every_problem_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(data.join("keys")).unwrap();
    let triage = SecretIdentity::generate();
    let key = data.join("keys/triage.key");
    std::fs::write(&key, triage.to_identity_file().as_str()).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::write(data.join("keys/triage.pub"), triage.public().to_string()).unwrap();
    // No recovery public key at all.
    let out = redress(dir.path())
        .arg("check-config")
        .env("REDRESS_DATA_DIR", &data)
        .env("REDRESS_DATABASE__URL", "mysql://root@localhost/redress")
        .env("REDRESS_PORTAL__LISTEN", "not-an-address")
        .output()
        .unwrap();
    let t = output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    for expected in [
        "database.url must start with sqlite:// or postgres://",
        "loose permissions 0644",
        "recovery public key missing",
        "portal.listen = \"not-an-address\" is not host:port",
        "fingerprint key",
        "5 problem(s) found",
    ] {
        assert!(t.contains(expected), "missing {expected:?} in:\n{t}");
    }

    // Fixed up, the same check passes; a missing identity file is reported by name.
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::write(
        data.join("keys/recovery.pub"),
        SecretIdentity::generate().public().to_string(),
    )
    .unwrap();
    let fingerprint = data.join("keys/fingerprint.key");
    std::fs::write(&fingerprint, "00".repeat(32)).unwrap();
    std::fs::set_permissions(&fingerprint, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = redress(dir.path())
        .arg("check-config")
        .env("REDRESS_DATA_DIR", &data)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", output_text(&out));
    assert!(output_text(&out).contains("Configuration OK."));
    // A check creates nothing: the database is made, locked down, by serve or migrate.
    assert!(!data.join("redress.db").exists(), "check-config made a database");
    std::fs::remove_file(&key).unwrap();
    let out = redress(dir.path())
        .arg("check-config")
        .env("REDRESS_DATA_DIR", &data)
        .output()
        .unwrap();
    assert!(
        output_text(&out).contains("triage identity missing"),
        "{}",
        output_text(&out)
    );
    // An intake host must not hold that identity, so it is not asked for there; but
    // the fingerprint key is still here, and an intake host must not hold that either.
    let for_intake = || {
        redress(dir.path())
            .args(["check-config", "--for", "intake"])
            .env("REDRESS_DATA_DIR", &data)
            .output()
            .unwrap()
    };
    let out = for_intake();
    assert_eq!(out.status.code(), Some(1), "{}", output_text(&out));
    assert!(
        output_text(&out).contains("the fingerprint key is on this intake host"),
        "{}",
        output_text(&out)
    );
    std::fs::remove_file(&fingerprint).unwrap();
    let out = for_intake();
    assert_eq!(out.status.code(), Some(0), "{}", output_text(&out));
    // A triage identity on an intake host is a problem there, and on a portal host.
    std::fs::write(&key, triage.to_identity_file().as_str()).unwrap();
    let out = for_intake();
    assert!(
        output_text(&out).contains("the triage identity is on this intake host"),
        "{}",
        output_text(&out)
    );
    let for_portal = || {
        redress(dir.path())
            .args(["check-config", "--for", "portal"])
            .env("REDRESS_DATA_DIR", &data)
            .output()
            .unwrap()
    };
    let out = for_portal();
    assert!(
        output_text(&out).contains("the triage identity is on this portal host"),
        "{}",
        output_text(&out)
    );
    std::fs::remove_file(&key).unwrap();
    // A portal host needs its secret, for this user alone.
    let portal_secret = data.join("keys/portal.secret");
    assert!(!portal_secret.exists());
    let out = for_portal();
    assert_eq!(out.status.code(), Some(1), "{}", output_text(&out));
    assert!(
        output_text(&out).contains("the portal secret"),
        "{}",
        output_text(&out)
    );
    std::fs::write(&portal_secret, "ab".repeat(32)).unwrap();
    std::fs::set_permissions(&portal_secret, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = for_portal();
    assert!(
        output_text(&out).contains("loose permissions"),
        "{}",
        output_text(&out)
    );
    std::fs::set_permissions(&portal_secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = for_portal();
    assert_eq!(out.status.code(), Some(0), "{}", output_text(&out));

    // The recovery identity left in the data folder is a problem on every host.
    std::fs::write(
        data.join("RECOVERY-IDENTITY-MOVE-OFFLINE.txt"),
        "AGE-SECRET-KEY-1…",
    )
    .unwrap();
    let out = for_intake();
    assert_eq!(out.status.code(), Some(1), "{}", output_text(&out));
    assert!(
        output_text(&out).contains("the recovery identity is still on this host"),
        "{}",
        output_text(&out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_data_folder_and_database_files_are_for_this_user_alone() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    // A database file made by hand (or by an older version) readable by everyone.
    let db = data.join("redress.db");
    std::fs::write(&db, b"").unwrap();
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (child, url, _) = start({
        let mut cmd = redress(dir.path());
        cmd.arg("serve")
            .env("REDRESS_DATA_DIR", &data)
            .env("REDRESS_INTAKE__LISTEN", "127.0.0.1:0")
            .env("REDRESS_PORTAL__LISTEN", "127.0.0.1:0")
            .env("REDRESS_INTAKE__MIN_FREE_DISK_MIB", "1");
        cmd
    });
    assert_eq!(reqwest::get(format!("{url}/")).await.unwrap().status(), 200);
    stop(child);
    assert_eq!(mode(&data), 0o700);
    for name in ["redress.db", "redress.db-wal", "redress.db-shm"] {
        let path = data.join(name);
        if path.exists() {
            assert_eq!(mode(&path), 0o600, "{name}");
        }
    }
    assert_eq!(mode(&db), 0o600);

    // A fresh database is made 0600 from the start, and SQLite's side files follow it.
    let fresh = dir.path().join("fresh");
    let (child, url, _) = start({
        let mut cmd = redress(dir.path());
        cmd.arg("serve")
            .env("REDRESS_DATA_DIR", &fresh)
            .env("REDRESS_INTAKE__LISTEN", "127.0.0.1:0")
            .env("REDRESS_PORTAL__LISTEN", "127.0.0.1:0")
            .env("REDRESS_INTAKE__MIN_FREE_DISK_MIB", "1");
        cmd
    });
    assert_eq!(reqwest::get(format!("{url}/report")).await.unwrap().status(), 200);
    for name in ["redress.db", "redress.db-wal", "redress.db-shm"] {
        let path = fresh.join(name);
        assert!(path.exists(), "{name} while running");
        assert_eq!(mode(&path), 0o600, "{name}");
    }
    stop(child);
}

#[tokio::test(flavor = "multi_thread")]
async fn admins_register_and_list_investigators() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDatabase::create(dir.path()).await;
    let admin = |args: &[&str]| {
        let mut cmd = redress(dir.path());
        cmd.env("REDRESS_DATA_DIR", dir.path().join("data"))
            .env("REDRESS_DATABASE__URL", db.url())
            .args(args);
        cmd.output().unwrap()
    };
    assert!(admin(&["migrate"]).status.success());
    let key = SecretIdentity::generate().public().to_string();
    let out = admin(&[
        "admin",
        "investigator",
        "add",
        "--email",
        "ana@example.org",
        "--recipient",
        &key,
        "--team",
        "mobile",
        "--team",
        "europe",
        "--capacity",
        "4",
    ]);
    assert!(out.status.success(), "{}", output_text(&out));
    assert!(output_text(&out).contains("Added investigator ana@example.org"));

    let list = output_text(&admin(&["admin", "investigator", "list"]));
    assert!(
        list.contains(&format!("ana@example.org\tmobile,europe\t4\ttrue\t{key}")),
        "{list}"
    );

    let dup = admin(&[
        "admin",
        "investigator",
        "add",
        "--email",
        "ana@example.org",
        "--recipient",
        &key,
    ]);
    assert!(!dup.status.success());
    assert!(output_text(&dup).contains("exists"), "{}", output_text(&dup));
    let bad = admin(&[
        "admin",
        "investigator",
        "add",
        "--email",
        "bo@example.org",
        "--recipient",
        "AGE-SECRET-KEY-1X",
    ]);
    assert!(!bad.status.success());
    assert!(output_text(&bad).contains("age1"), "{}", output_text(&bad));
    assert!(
        !output_text(&bad).contains("AGE-SECRET-KEY-1X"),
        "a mistaken secret is not echoed"
    );

    let jobs = output_text(&admin(&["admin", "jobs", "list"]));
    assert!(jobs.starts_with("id\tkind\tattempts"), "{jobs}");
    let retry = admin(&["admin", "jobs", "retry", "nope"]);
    assert!(!retry.status.success() && output_text(&retry).contains("no dead job"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_fingerprint_key_is_made_only_while_nothing_depends_on_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDatabase::create(dir.path()).await;
    let data = dir.path().join("data");
    let (child, _, _) = start(redress_on(dir.path(), &data, &db, "serve"));
    stop(child);
    let key = data.join("keys/fingerprint.key");
    assert_eq!(mode(&key), 0o600);

    // A data folder from before the worker existed: made on the next start.
    std::fs::remove_file(&key).unwrap();
    let (child, _, out) = start(redress_on(dir.path(), &data, &db, "serve"));
    stop(child);
    assert!(out.contains("Created the fingerprint key"), "{out}");
    assert_eq!(mode(&key), 0o600);

    // Once cases were fingerprinted with it, losing it is an error, not a new key.
    let store = redress_store::Store::connect(db.url()).await.unwrap();
    let case = TestApp::insert_bare_case(&store).await;
    let fingerprinted = redress_store::TriageCommit {
        priority: redress_domain::Priority::P4,
        ack_due: 0,
        product: "mobile-implant".to_owned(),
        objects: vec![],
        wraps: vec![],
        assign_to: vec![],
        fingerprints: vec![("customer".into(), "00".into())],
        links: vec![],
        emails: vec![],
        jobs: vec![],
    };
    assert!(store.commit_triage(case, &fingerprinted, 0).await.unwrap());
    std::fs::remove_file(&key).unwrap();
    let out = redress_on(dir.path(), &data, &db, "worker").output().unwrap();
    assert!(!out.status.success());
    assert!(
        output_text(&out).contains("restore it from backup"),
        "{}",
        output_text(&out)
    );
    assert!(!key.exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn adding_an_investigator_who_would_get_no_cases_warns_and_names_the_fallback_team() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDatabase::create(dir.path()).await;
    let rules_file = dir.path().join("triage.toml");
    let shipped = include_str!("../../config/triage.toml");
    std::fs::write(
        &rules_file,
        shipped.replace(
            "fallback_team = \"triage-desk\"",
            "fallback_team = \"night-desk\"",
        ),
    )
    .unwrap();
    let admin = |args: &[&str], rules: Option<&Path>| {
        let mut cmd = redress(dir.path());
        cmd.env("REDRESS_DATA_DIR", dir.path().join("data"))
            .env("REDRESS_DATABASE__URL", db.url())
            .args(args);
        if let Some(rules) = rules {
            cmd.env("REDRESS_WORKER__RULES_FILE", rules);
        }
        cmd.output().unwrap()
    };
    assert!(admin(&["migrate"], None).status.success());
    let add = |email: &str, teams: &[&str], rules: Option<&Path>| {
        let key = SecretIdentity::generate().public().to_string();
        let mut args = vec![
            "admin",
            "investigator",
            "add",
            "--email",
            email,
            "--recipient",
            &key,
        ];
        for t in teams {
            args.extend(["--team", t]);
        }
        let out = admin(&args, rules);
        assert!(out.status.success(), "{}", output_text(&out));
        assert!(
            String::from_utf8_lossy(&out.stdout).contains(&format!("Added investigator {email}")),
            "{}",
            output_text(&out)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    };

    // No team: added, with a warning that names the fallback team and the routing teams.
    let warning = add("ana@example.org", &[], None);
    assert!(
        warning.starts_with("warning: ana@example.org is in no team and will get no cases"),
        "{warning}"
    );
    assert!(warning.contains("--team triage-desk"), "{warning}");
    assert!(warning.contains("(mobile, network, europe)"), "{warning}");
    // The fallback team is the configured one.
    let warning = add("bo@example.org", &[], Some(&rules_file));
    assert!(warning.contains("\"night-desk\""), "{warning}");
    // Teams that no rule routes to, and that are not the fallback team.
    let warning = add("cy@example.org", &["legal", "asia"], None);
    assert!(warning.contains("cy@example.org will get no cases"), "{warning}");
    assert!(warning.contains("\"legal\", \"asia\""), "{warning}");
    assert!(warning.contains("\"triage-desk\""), "{warning}");
    // One routed team and one mistyped: a note about the typo only.
    let warning = add("di@example.org", &["mobile", "eurpoe"], None);
    assert!(warning.contains("\"eurpoe\" (a typo?)"), "{warning}");
    assert!(!warning.contains("will get no cases"), "{warning}");
    // A routing team or the fallback team: no warning.
    assert_eq!(add("ed@example.org", &["mobile"], None), "");
    assert_eq!(add("fa@example.org", &["night-desk"], Some(&rules_file)), "");
    // The shipped fallback team is not one once the rules name another.
    let warning = add("gu@example.org", &["triage-desk"], Some(&rules_file));
    assert!(warning.contains("gu@example.org will get no cases"), "{warning}");
    assert!(
        warning.contains("the fallback team is \"night-desk\""),
        "{warning}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn audit_verify_and_head_at_the_command_line() {
    use redress_audit::{NewEntry, Timing};
    let app = TestApp::spawn().await;
    let audit = |args: &[&str]| app.redress_command().arg("audit").args(args).output().unwrap();
    let out = audit(&["verify"]);
    assert!(out.status.success());
    assert!(
        output_text(&out).contains("The audit log is empty."),
        "{}",
        output_text(&out)
    );

    for action in [
        redress_domain::AuditAction::Invitation,
        redress_domain::AuditAction::Setup,
        redress_domain::AuditAction::Login,
    ] {
        let entry = NewEntry {
            actor: "admin:1",
            action,
            target: Some("account:2"),
            at: redress_cli::system_clock(),
            timing: Timing::Exact,
        };
        redress_audit::record(&app.store, &entry).await.unwrap();
    }
    let head = output_text(&audit(&["head"])).trim().to_owned();
    assert_eq!(head.len(), 64, "{head}");
    let out = audit(&["verify", "--since", &head]);
    assert!(out.status.success(), "{}", output_text(&out));
    assert!(output_text(&out).contains("3 entries"), "{}", output_text(&out));

    // Changing an entry makes verify fail, naming it; cutting the last one leaves a
    // chain that verifies alone but not against the recorded head.
    let raw = sea_orm::Database::connect(&app.config.database.url)
        .await
        .unwrap();
    use sea_orm::ConnectionTrait;
    raw.execute_unprepared("UPDATE audit_log SET target = 'account:9' WHERE seq = 2")
        .await
        .unwrap();
    let out = audit(&["verify"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        output_text(&out).contains("audit entry 2"),
        "{}",
        output_text(&out)
    );
    raw.execute_unprepared("UPDATE audit_log SET target = 'account:2' WHERE seq = 2")
        .await
        .unwrap();
    raw.execute_unprepared("DELETE FROM audit_log WHERE seq = 3")
        .await
        .unwrap();
    assert!(audit(&["verify"]).status.success());
    let out = audit(&["verify", "--since", &head]);
    assert_eq!(out.status.code(), Some(1));
    assert!(output_text(&out).contains(&head), "{}", output_text(&out));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invitation_prints_a_one_time_link_and_stores_only_its_hash() {
    let app = TestApp::spawn().await;
    let admin = |args: &[&str]| app.redress_command().arg("admin").args(args).output().unwrap();
    let before = redress_cli::system_clock();
    let out = admin(&[
        "invite",
        "ana@example.org",
        "--role",
        "investigator",
        "--team",
        "triage-desk",
    ]);
    let said = output_text(&out);
    assert!(out.status.success(), "{said}");
    let link = said
        .lines()
        .find(|l| l.contains("/setup/"))
        .unwrap_or_else(|| panic!("no link in {said}"))
        .trim()
        .to_owned();
    assert!(link.starts_with("http://127.0.0.1:8081/setup/"), "{link}");
    let token = link.rsplit('/').next().unwrap().to_owned();
    assert_eq!(token.len(), 64);

    // The database holds the token's hash, never the token; the hash finds the
    // invitation with the routing attributes given.
    let hash = redress_crypto::link_token_hash(&token);
    assert!(!dump_database(&app.store).await.contains(&token));
    let now = redress_cli::system_clock();
    let found = app.store.invitation(&hash, now).await.unwrap().unwrap();
    assert_eq!(found.email, "ana@example.org");
    assert_eq!(found.role, redress_domain::Role::Investigator);
    assert_eq!(
        (found.teams.as_slice(), found.capacity),
        (&["triage-desk".to_owned()][..], 10)
    );
    let valid_from = found.expires_at - 72 * 3600;
    assert!(
        (before..=now).contains(&valid_from),
        "expires 72 h after the command"
    );

    // A second invitation replaces the first link; it is in the audit log, which verifies.
    let again = admin(&[
        "invite",
        "ana@example.org",
        "--role",
        "investigator",
        "--valid-hours",
        "1",
    ]);
    assert!(again.status.success(), "{}", output_text(&again));
    assert!(app.store.invitation(&hash, now).await.unwrap().is_none());
    let verified = redress_audit::verify(&app.store, None).await.unwrap();
    assert_eq!(verified.entries, 2);

    // Refusals say what to fix and store nothing.
    for (args, expected) in [
        (
            vec!["invite", "not-an-address", "--role", "admin"],
            "not an email address",
        ),
        (
            vec!["invite", "bo@example.org", "--role", "boss"],
            "use investigator, admin, auditor",
        ),
        (
            vec![
                "invite",
                "bo@example.org",
                "--role",
                "auditor",
                "--team",
                "triage-desk",
            ],
            "are for investigators",
        ),
        (
            vec![
                "invite",
                "bo@example.org",
                "--role",
                "admin",
                "--valid-hours",
                "0",
            ],
            "--valid-hours",
        ),
    ] {
        let out = admin(&args);
        assert!(!out.status.success(), "{args:?}");
        assert!(
            output_text(&out).contains(expected),
            "{args:?}: {}",
            output_text(&out)
        );
    }
    assert_eq!(redress_audit::verify(&app.store, None).await.unwrap().entries, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn keys_status_lists_every_key_its_wraps_and_the_wraps_to_retired_keys() {
    use redress_domain::Role;
    let app = TestApp::spawn().await;
    let portal = app.portal().await;
    crate::staff::person(
        &app,
        &portal,
        "ana@example.org",
        Role::Investigator,
        &["triage-desk"],
    )
    .await;
    // Two cases handed over to Ana, a third still waiting for triage.
    for what in [
        "The first report, long enough.",
        "The second report, long enough.",
    ] {
        assert_eq!(app.api_submit(&good_answers(what), &[]).await.status(), 201);
    }
    app.worker("w", None).run_until_idle().await.unwrap();
    assert_eq!(
        app.api_submit(&good_answers("The third report, long enough."), &[])
            .await
            .status(),
        201
    );
    let status = || {
        let mut cmd = redress(app.dir.path());
        cmd.arg("keys")
            .arg("status")
            .env("REDRESS_DATA_DIR", &app.config.data_dir)
            .env("REDRESS_DATABASE__URL", &app.config.database.url)
            .envs([blob_backend_env(test_blob_backend())]);
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{}", output_text(&out));
        String::from_utf8(out.stdout).unwrap()
    };
    let line = |out: &str, key: &str| -> Vec<String> {
        out.lines()
            .find(|l| l.starts_with(key))
            .unwrap_or_else(|| panic!("{key} in {out}"))
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    };
    let out = status();
    let recovery = app.recovery.public().to_string();
    let triage = app.triage.public().to_string();
    assert_eq!(line(&out, "triage").last().unwrap(), "1", "{out}");
    assert!(line(&out, "triage").contains(&triage));
    assert_eq!(line(&out, "recovery").last().unwrap(), "3", "{out}");
    assert!(line(&out, "recovery").contains(&recovery));
    let ana = line(&out, "investigator ana@example.org");
    assert_eq!(ana.last().unwrap(), "2", "{out}");
    assert!(ana.iter().any(|w| w.starts_with("age1")));
    assert!(line(&out, "web secret")[2].starts_with("secret:"), "{out}");
    assert!(out.contains("Wraps to retired keys: none."), "{out}");
    // No secret itself is printed.
    let web_secret = app.store.setting("web_secret").await.unwrap().unwrap();
    assert!(!out.contains(&hex::encode(&web_secret)));

    // A recovery wrap made to an earlier recovery key: the status flags it.
    let earlier = SecretIdentity::generate().public().to_string();
    let case = app.store.cases().await.unwrap()[0].id;
    let sql = format!(
        "UPDATE key_wraps SET holder_recipient = '{earlier}' \
         WHERE case_id = '{case}' AND holder_kind = 'recovery'"
    );
    let raw = sea_orm::Database::connect(&app.config.database.url)
        .await
        .unwrap();
    sea_orm::ConnectionTrait::execute_unprepared(&raw, &sql)
        .await
        .unwrap();
    raw.close().await.unwrap();
    let out = status();
    assert_eq!(line(&out, "recovery").last().unwrap(), "2", "{out}");
    assert!(out.contains("Wraps to retired keys (a rotation has these left to do):"));
    assert!(out.contains(&format!("  recovery  {earlier}  1 wraps")), "{out}");
    assert!(
        out.contains("Earlier triage and recovery keys: none recorded."),
        "{out}"
    );
    assert!(out.contains("Unfinished rotations: none."), "{out}");
    assert!(
        out.contains("Intake processes sealing to an old key: none."),
        "{out}"
    );

    // After a triage rotation the registry dates both keys; the old one has no wrap
    // left and may be destroyed.
    crate::key_rotation::triage_in_place(&app);
    let now = || redress_cli::system_clock();
    let rotated = redress_cli::rotate::rotate_triage(
        &app.config,
        &app.store,
        &redress_cli::rotate::RotateOptions::default(),
        &redress_keychain::rotation::Quiet,
        &now,
    )
    .await
    .unwrap();
    assert!(rotated.outcome.finished, "{rotated:?}");
    let today = redress_web::day(now());
    let out = status();
    let new_line = line(&out, "triage");
    assert_eq!(new_line[1], rotated.new_recipient, "{out}");
    assert_eq!(new_line[2], today, "{out}");
    assert_eq!(new_line.last().unwrap(), "1", "{out}");
    assert!(
        out.contains(&format!(
            "Earlier triage and recovery keys:\n  triage    {triage}  made {today}, retired {today}, 0 wraps: may be destroyed\n"
        )),
        "{out}"
    );

    // A rotation asked for and not performed yet, and an intake process left on the
    // old triage key.
    app.store
        .open_rotation("recovery", None, "requested", app.now())
        .await
        .unwrap();
    app.store
        .beat_sealing("intake-left-behind", 3600, app.now(), &triage, &recovery)
        .await
        .unwrap();
    let out = status();
    assert!(
        out.lines()
            .any(|l| l.starts_with("  recovery  requested  0/0 wraps  started ")),
        "{out}"
    );
    assert!(
        out.contains(&format!("  intake-left-behind  triage {triage}\n")),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_revoked_investigator_opens_nothing_and_cannot_log_in() {
    use redress_domain::{Holder, Role};
    let app = TestApp::spawn().await;
    let portal = app.portal().await;
    let ana = crate::staff::person(
        &app,
        &portal,
        "ana@example.org",
        Role::Investigator,
        &["triage-desk"],
    )
    .await;
    let res = app
        .api_submit(&good_answers("They listened to my calls for months."), &[])
        .await;
    let case_ref = res.json::<serde_json::Value>().await.unwrap()["case_ref"]
        .as_str()
        .unwrap()
        .to_owned();
    app.worker("w", None).run_until_idle().await.unwrap();
    let case = app.case(&case_ref).await;
    let investigator = app
        .store
        .account(ana.id)
        .await
        .unwrap()
        .unwrap()
        .investigator_id
        .unwrap();
    let identity = crate::staff::identity_of(&app, &ana).await;
    // Before: her identity opens the case, and she is logged in.
    assert!(
        redress_keychain::open_case_key(&app.store, case.id, Holder::Investigator(investigator), &identity)
            .await
            .is_ok()
    );
    assert_eq!(ana.agent.get(&format!("/cases/{case_ref}")).await.status, 200);

    let mut cmd = redress(app.dir.path());
    cmd.args(["keys", "revoke", "Ana@Example.org"])
        .env("REDRESS_DATA_DIR", &app.config.data_dir)
        .env("REDRESS_DATABASE__URL", &app.config.database.url)
        .envs([blob_backend_env(test_blob_backend())]);
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", output_text(&out));
    let said = output_text(&out);
    assert!(
        said.contains("Revoked Ana@Example.org: 1 wraps deleted"),
        "{said}"
    );
    assert!(
        said.contains(&format!("  {case_ref}")),
        "the case no one opens now: {said}"
    );

    // After: no wrap of hers is left, her identity opens nothing, her session is gone,
    // she cannot log in; the recovery identity still opens the case.
    assert!(
        redress_keychain::open_case_key(&app.store, case.id, Holder::Investigator(investigator), &identity)
            .await
            .is_err()
    );
    let dump = dump_database(&app.store).await;
    assert!(
        !dump
            .lines()
            .any(|l| l.starts_with("key_wraps") && l.contains(&investigator.to_string()))
    );
    assert_eq!(
        ana.agent.get(&format!("/cases/{case_ref}")).await.status,
        303,
        "the session ended"
    );
    let login = ana.login(&app).await;
    assert_ne!(login.location(), "/cases", "a disabled account does not log in");
    assert!(
        redress_keychain::open_case_key(&app.store, case.id, Holder::Recovery, &app.recovery)
            .await
            .is_ok()
    );
    // Audited, and no longer routed to.
    let log = app.store.audit_after(0, 1000).await.unwrap();
    assert!(log.iter().any(|r| r.action == "key_revoke" && r.actor == "cli"));
    assert!(
        app.store
            .investigators()
            .await
            .unwrap()
            .iter()
            .all(|i| i.id != investigator || !i.active)
    );
    // An address with no investigator is refused, changing nothing.
    let mut cmd = redress(app.dir.path());
    cmd.args(["keys", "revoke", "nobody@example.org"])
        .env("REDRESS_DATA_DIR", &app.config.data_dir)
        .env("REDRESS_DATABASE__URL", &app.config.database.url)
        .envs([blob_backend_env(test_blob_backend())]);
    let out = cmd.output().unwrap();
    assert!(!out.status.success());
    assert!(output_text(&out).contains("no investigator has the address nobody@example.org"));
}
