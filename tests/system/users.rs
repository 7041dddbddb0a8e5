//! Doors apart on one host (ADR 0019): `redress intake`, `redress worker` and `redress
//! portal` run as three Unix users that share the data folder through its group. The
//! reports the intake takes are triaged and handed over by the worker, and the portal
//! sets up an account, while no door's user can read another's secrets or put a file
//! among them.
//!
//! Needs root (to change uid with `setpriv`); skipped with a reason otherwise, a
//! failure under `REDRESS_REQUIRE_ALL=1`.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use redress_crypto::SecretIdentity;
use redress_domain::{CaseRef, Holder};
use redress_store::Store;
use redress_store::test_support::TestDatabase;
use serde_json::Value;

use crate::helpers::*;

/// Ids no account of the host has: the shared group and one user per door.
const GROUP: u32 = 61_000;
const INTAKE: u32 = 61_001;
const WORKER: u32 = 61_002;
const PORTAL: u32 = 61_003;

fn can_change_uid() -> bool {
    if !have_tool("setpriv", "runs the intake and the worker as different users") {
        return false;
    }
    if !nix::unistd::geteuid().is_root() {
        let why = "the doors-apart test changes uid, which needs root";
        if std::env::var(REQUIRE_ALL).as_deref() == Ok("1") {
            panic!("{why}, and {REQUIRE_ALL}=1");
        }
        eprintln!("SKIPPED: {why}");
        return false;
    }
    true
}

/// `program` run as `uid` in the shared group (and no other).
fn as_user(uid: u32, program: &str) -> Command {
    let mut cmd = Command::new("setpriv");
    cmd.args([
        &format!("--reuid={uid}"),
        &format!("--regid={GROUP}"),
        "--clear-groups",
        "--",
        program,
    ]);
    cmd
}

fn chown(path: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::chown(path, Some(uid), Some(gid)).unwrap();
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Every path under `dir`, `dir` included.
fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = vec![dir.to_path_buf()];
    if dir.is_dir() {
        for entry in std::fs::read_dir(dir).unwrap() {
            out.extend(walk(&entry.unwrap().path()));
        }
    }
    out
}

struct Killed(Child);

/// The address `door` ("Intake", "Portal") says it listens on, once it does.
fn listening(process: &mut Killed, door: &str) -> String {
    let stdout = process.0.stdout.take().unwrap();
    let said = format!("{door} listening on ");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix(&said) {
                let _ = tx.send(url.trim_end_matches('/').to_owned());
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| panic!("{door} did not start"))
}

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn intake_worker_and_portal_run_as_three_users_and_none_reaches_another_s_secrets() {
    if !can_change_uid() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    chmod(dir.path(), 0o755);
    // The data folder, shared through its group; made by the operator.
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    chown(&data, WORKER, GROUP);
    chmod(&data, 0o2770);
    // The worker's secrets, in a folder of its own that nobody else may enter.
    let keys = dir.path().join("worker-keys");
    std::fs::create_dir(&keys).unwrap();
    let triage = SecretIdentity::generate();
    let triage_key = keys.join("triage.key");
    std::fs::write(&triage_key, triage.to_identity_file().as_str()).unwrap();
    let fingerprint_key = keys.join("fingerprint.key");
    std::fs::write(&fingerprint_key, format!("{}\n", "ab".repeat(32))).unwrap();
    for (path, mode) in [(&triage_key, 0o600), (&fingerprint_key, 0o600), (&keys, 0o700)] {
        chown(path, WORKER, WORKER);
        chmod(path, mode);
    }
    // The portal's secret, in a folder of its own likewise.
    let portal_keys = dir.path().join("portal-keys");
    std::fs::create_dir(&portal_keys).unwrap();
    let portal_secret = portal_keys.join("portal.secret");
    std::fs::write(&portal_secret, format!("{}\n", "cd".repeat(32))).unwrap();
    for (path, mode) in [(&portal_secret, 0o600), (&portal_keys, 0o700)] {
        chown(path, PORTAL, PORTAL);
        chmod(path, mode);
    }
    let recovery = SecretIdentity::generate();
    // The public keys as `deploy/systemd/redress-intake.service` says: files the worker
    // writes (a rotation replaces them) and the intake's group reads.
    let public = data.join("keys");
    std::fs::create_dir(&public).unwrap();
    chown(&public, WORKER, GROUP);
    chmod(&public, 0o2750);
    for (file, key) in [
        ("triage.pub", triage.public()),
        ("recovery.pub", recovery.public()),
    ] {
        let path = public.join(file);
        std::fs::write(&path, format!("{key}\n")).unwrap();
        chown(&path, WORKER, GROUP);
        chmod(&path, 0o640);
    }
    let db = TestDatabase::create(&data).await;
    // A copy the other users can run, wherever the build lies (a checkout under a
    // private home folder would not be reachable to them).
    let copy = dir.path().join("redress");
    std::fs::copy(env!("CARGO_BIN_EXE_redress"), &copy).unwrap();
    chmod(&copy, 0o755);
    let bin = copy.to_str().unwrap();
    let configure = |cmd: &mut Command| {
        cmd.current_dir(dir.path())
            .env_remove("REDRESS_TEST_DATABASE_URL")
            .env_remove(REQUIRE_ALL)
            .env("RUST_LOG", "warn")
            .env("REDRESS_DATA_DIR", &data)
            .env("REDRESS_DATABASE__URL", db.url())
            .env("REDRESS_SHARED_WITH_GROUP", "true")
            .env("REDRESS_KEYS__TRIAGE_IDENTITY_FILE", &triage_key)
            .env("REDRESS_WORKER__FINGERPRINT_KEY_FILE", &fingerprint_key)
            .env("REDRESS_PORTAL__SECRET_FILE", &portal_secret)
            .env("REDRESS_INTAKE__LISTEN", "127.0.0.1:0")
            .env("REDRESS_PORTAL__LISTEN", "127.0.0.1:0")
            .env("REDRESS_INTAKE__MIN_FREE_DISK_MIB", "1");
    };
    let run = |uid: u32, args: &[&str]| -> Output {
        let mut cmd = as_user(uid, bin);
        configure(&mut cmd);
        cmd.args(args).output().unwrap()
    };

    // The worker's user sets up the database and an investigator.
    let out = run(WORKER, &["migrate"]);
    assert!(out.status.success(), "{}", output_text(&out));
    let desk = SecretIdentity::generate();
    let desk_recipient = desk.public().to_string();
    let out = run(
        WORKER,
        &[
            "admin",
            "investigator",
            "add",
            "--email",
            "desk@example.org",
            "--recipient",
            &desk_recipient,
            "--team",
            "triage-desk",
        ],
    );
    assert!(out.status.success(), "{}", output_text(&out));

    // The intake, as its own user, takes two reports with a file each.
    let mut intake = as_user(INTAKE, bin);
    configure(&mut intake);
    let mut intake = Killed(
        intake
            .arg("intake")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    let base = listening(&mut intake, "Intake");
    let client = reqwest::Client::new();
    let mut refs = Vec::new();
    for i in 0..2 {
        let form = report_form(
            &good_answers(&format!("Report {i} from a shared host.")),
            &[("device.log", b"2026-05-01 rdxsyncd started")],
        );
        let res = post_report(&client, &base, form).await;
        assert_eq!(res.status(), 201);
        let body: Value = res.json().await.unwrap();
        refs.push(CaseRef::parse_exact(body["case_ref"].as_str().unwrap()).unwrap());
    }

    // The worker, as its user, triages them and hands them over.
    let mut worker = as_user(WORKER, bin);
    configure(&mut worker);
    let _worker = Killed(worker.arg("worker").spawn().unwrap());
    let store = Store::connect(db.url()).await.unwrap();
    let started = Instant::now();
    loop {
        let mut triaged = 0;
        for r in &refs {
            if store.case_by_ref(r).await.unwrap().is_some_and(|c| c.triaged) {
                triaged += 1;
            }
        }
        if triaged == refs.len() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "triage did not finish"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let desk_id = store
        .investigators()
        .await
        .unwrap()
        .into_iter()
        .find(|i| i.email == "desk@example.org")
        .unwrap()
        .id;
    for r in &refs {
        let case = store.case_by_ref(r).await.unwrap().unwrap();
        redress_keychain::open_case_key(&store, case.id, Holder::Investigator(desk_id), &desk)
            .await
            .expect("handed over to the investigator");
        assert!(store.wrap(case.id, Holder::Triage).await.unwrap().is_none());
    }

    // The worker's user rotates the triage key while the intake runs as its own: the
    // rotation finishes only once the intake reports sealing to the new key, which it
    // read from the file the worker's user replaced.
    let out = run(WORKER, &["keys", "rotate", "triage", "--wait-for-doors", "30"]);
    let said = output_text(&out);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("Triage key rotated"), "{said}");
    let rotated = std::fs::read_to_string(public.join("triage.pub")).unwrap();
    assert_ne!(rotated.trim(), triage.public().to_string());
    let meta = std::fs::metadata(public.join("triage.pub")).unwrap();
    assert_eq!(
        (meta.uid(), meta.gid(), meta.mode() & 0o777),
        (WORKER, GROUP, 0o640)
    );
    let form = report_form(&good_answers("A report after the rotation."), &[]);
    let res = post_report(&client, &base, form).await;
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    let after = CaseRef::parse_exact(body["case_ref"].as_str().unwrap()).unwrap();
    let started = Instant::now();
    // Sealed to the new key alone, triaged by the running worker with the new identity.
    while !store
        .case_by_ref(&after)
        .await
        .unwrap()
        .is_some_and(|c| c.triaged)
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the report after the rotation was not triaged"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let case = store.case_by_ref(&after).await.unwrap().unwrap();
    redress_keychain::open_case_key(&store, case.id, Holder::Investigator(desk_id), &desk)
        .await
        .expect("handed over after the rotation");
    drop(intake);

    // The portal, as its own user, sets up an account from an invitation.
    let out = run(
        WORKER,
        &[
            "admin",
            "invite",
            "ana@example.org",
            "--role",
            "investigator",
            "--team",
            "triage-desk",
        ],
    );
    assert!(out.status.success(), "{}", output_text(&out));
    let said = output_text(&out);
    let link = said
        .lines()
        .find(|l| l.contains("/setup/"))
        .unwrap()
        .trim()
        .to_owned();
    let setup = &link[link.find("/setup/").unwrap()..];
    let mut portal = as_user(PORTAL, bin);
    configure(&mut portal);
    let mut portal = Killed(
        portal
            .arg("portal")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    let portal_base = listening(&mut portal, "Portal");
    let ana = crate::staff::Agent::new(&portal_base);
    let done = ana
        .submit(
            setup,
            setup,
            &[
                ("password", crate::staff::PASSWORD),
                ("confirm", crate::staff::PASSWORD),
            ],
        )
        .await;
    assert_eq!((done.status, done.location()), (303, "/enrol"), "{}", done.body);
    assert!(ana.get("/enrol").await.text_of("totp-secret").is_some());
    drop(portal);

    // No door's user reads another's secrets, lists their folder, or puts a file in it.
    for (user, secrets, folder) in [
        (INTAKE, vec![&triage_key, &fingerprint_key], &keys),
        (PORTAL, vec![&triage_key, &fingerprint_key], &keys),
        (INTAKE, vec![&portal_secret], &portal_keys),
        (WORKER, vec![&portal_secret], &portal_keys),
    ] {
        for key in secrets {
            let out = as_user(user, "cat").arg(key).output().unwrap();
            assert!(!out.status.success(), "uid {user} read {}", key.display());
        }
        let out = as_user(user, "ls").arg(folder).output().unwrap();
        assert!(!out.status.success(), "uid {user} listed {}", folder.display());
        let out = as_user(user, "touch")
            .arg(folder.join("planted"))
            .output()
            .unwrap();
        assert!(
            !out.status.success(),
            "uid {user} wrote into {}",
            folder.display()
        );
    }

    // What the two wrote is shared with the group and nobody else.
    let blobs = walk(&data.join("blobs"));
    assert!(blobs.iter().filter(|p| p.is_file()).count() >= 4, "{blobs:?}");
    for path in walk(&data) {
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(meta.mode() & 0o007, 0, "{} is open to others", path.display());
        assert_eq!(meta.gid(), GROUP, "{} is not in the shared group", path.display());
        if path.starts_with(data.join("blobs")) && path.is_file() {
            assert_eq!(meta.mode() & 0o777, 0o640, "{}", path.display());
        }
    }

    // A secret key file that another user owns is refused, with the fix: here the
    // worker started as root finds the triage identity belonging to the worker's user.
    let mut as_root = Command::new(bin);
    configure(&mut as_root);
    let out = as_root.arg("worker").output().unwrap();
    assert!(!out.status.success());
    let said = output_text(&out);
    assert!(
        said.contains(&format!("belongs to uid {WORKER}")) && said.contains("run chown 0"),
        "{said}"
    );
}
