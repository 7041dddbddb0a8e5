//! Shipped configuration: the documented config file is exactly the defaults, and the
//! onion-service configuration is one Tor accepts.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use redress_cli::config::Config;

use crate::helpers::*;

fn repo_file(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").join(path)
}

#[test]
fn config_file_lists_every_key_with_its_default() {
    let text = std::fs::read_to_string(repo_file("config/redress.toml")).unwrap();
    let file: toml::Value = toml::from_str(&text).unwrap();
    let defaults = toml::Value::try_from(Config::default()).unwrap();
    assert_eq!(
        file, defaults,
        "config/redress.toml must show every key with its default value"
    );
    // And it loads through the real loader.
    Config::load(Some(&repo_file("config/redress.toml"))).unwrap();
}

#[test]
fn onion_service_configuration_is_valid_for_tor() {
    if !have_tool(
        "tor",
        "the deploy test runs tor --verify-config (apt-get install tor)",
    ) {
        return;
    }
    let torrc = repo_file("deploy/tor/torrc");
    let data = tempfile::tempdir().unwrap();
    let out = Command::new("tor")
        .arg("--verify-config")
        .arg("-f")
        .arg(&torrc)
        .arg("--DataDirectory")
        .arg(data.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("Configuration was valid"),
        "{text}"
    );
    let conf = std::fs::read_to_string(&torrc).unwrap();
    let active: Vec<&str> = conf
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .collect();
    for line in [
        "HiddenServiceVersion 3",
        "HiddenServicePort 80 127.0.0.1:8080",
        "HiddenServicePoWDefensesEnabled 1",
        "SocksPort 0",
    ] {
        assert!(active.contains(&line), "torrc lacks {line:?}");
    }
    assert_eq!(
        Config::default().intake.listen,
        "127.0.0.1:8080",
        "the onion points at the intake"
    );
}

/// The `[Service]` settings of a shipped unit, as (key, value) in order.
fn service_settings(unit: &str) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(repo_file(&format!("deploy/systemd/{unit}"))).unwrap();
    let mut in_service = false;
    let mut out = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_service = line == "[Service]";
        } else if in_service
            && !line.starts_with('#')
            && let Some((k, v)) = line.split_once('=')
        {
            out.push((k.to_owned(), v.to_owned()));
        }
    }
    out
}

fn values<'a>(settings: &'a [(String, String)], key: &str) -> Vec<&'a str> {
    settings
        .iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .collect()
}

/// `NAME=value` of the unit's `Environment=` lines.
fn env_of<'a>(settings: &'a [(String, String)], name: &str) -> Option<&'a str> {
    values(settings, "Environment")
        .into_iter()
        .find_map(|e| e.strip_prefix(name)?.strip_prefix('='))
}

/// The paths a unit cannot see (`InaccessiblePaths=`, optional ones included).
fn hidden_from(unit: &[(String, String)]) -> Vec<&str> {
    values(unit, "InaccessiblePaths")
        .iter()
        .flat_map(|v| v.split_whitespace())
        .map(|p| p.trim_start_matches('-'))
        .collect()
}

#[test]
fn the_intake_worker_and_portal_units_run_as_three_users_who_cannot_see_each_others_keys() {
    let intake = service_settings("redress-intake.service");
    let worker = service_settings("redress-worker.service");
    let portal = service_settings("redress-portal.service");
    assert_eq!(values(&intake, "User"), ["redress-intake"]);
    assert_eq!(values(&worker, "User"), ["redress-worker"]);
    assert_eq!(values(&portal, "User"), ["redress-portal"]);
    for unit in [&intake, &worker, &portal] {
        assert_eq!(values(unit, "Group"), ["redress"]);
        assert_eq!(env_of(unit, "REDRESS_SHARED_WITH_GROUP"), Some("true"));
        assert_eq!(env_of(unit, "REDRESS_DATA_DIR"), Some("/var/lib/redress"));
        assert_eq!(values(unit, "UMask"), ["0007"]);
        // The shared data folder's folders are setgid: the unit must be allowed that.
        assert_eq!(values(unit, "RestrictSUIDSGID"), ["no"]);
        assert!(values(unit, "DynamicUser").is_empty(), "a fixed user of its own");
    }
    assert!(values(&intake, "ExecStart")[0].ends_with(" intake"));
    assert!(values(&worker, "ExecStart")[0].ends_with(" worker"));
    assert!(values(&portal, "ExecStart")[0].ends_with(" portal"));
    // Every secret the worker reads lies under a path the intake's and the portal's
    // units cannot see; the portal's secret, under one the intake's and the worker's
    // cannot.
    let worker_secrets: Vec<&str> = [
        "REDRESS_KEYS__TRIAGE_IDENTITY_FILE",
        "REDRESS_WORKER__FINGERPRINT_KEY_FILE",
    ]
    .iter()
    .map(|s| env_of(&worker, s).unwrap())
    .collect();
    let portal_secret = env_of(&portal, "REDRESS_PORTAL__SECRET_FILE").unwrap();
    for (unit, name, secrets) in [
        (
            &intake,
            "intake",
            [worker_secrets.clone(), vec![portal_secret]].concat(),
        ),
        (&portal, "portal", worker_secrets.clone()),
        (&worker, "worker", vec![portal_secret]),
    ] {
        let hidden = hidden_from(unit);
        for path in secrets {
            assert!(
                hidden.iter().any(|h| Path::new(path).starts_with(h)),
                "{path} is visible to the {name}'s unit"
            );
        }
    }

    // The users, group and folders the units name are what sysusers.d and tmpfiles.d
    // make, in a scratch root.
    if !have_tool("systemd-sysusers", "makes the shipped users in a scratch root")
        || !have_tool("systemd-tmpfiles", "makes the shipped folders in a scratch root")
    {
        return;
    }
    let root = tempfile::tempdir().unwrap();
    for (kind, tool, arg) in [
        ("sysusers.d", "systemd-sysusers", None),
        ("tmpfiles.d", "systemd-tmpfiles", Some("--create")),
    ] {
        let dir = root.path().join("etc").join(kind);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(
            repo_file(&format!("deploy/{kind}/redress.conf")),
            dir.join("redress.conf"),
        )
        .unwrap();
        let mut cmd = Command::new(tool);
        cmd.arg(format!("--root={}", root.path().display()));
        cmd.args(arg).arg("redress.conf");
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{tool}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let read = |f: &str| std::fs::read_to_string(root.path().join("etc").join(f)).unwrap();
    let field = |line: &str, i: usize| line.split(':').nth(i).unwrap().parse::<u32>().unwrap();
    let group = read("group");
    let gid = field(group.lines().find(|l| l.starts_with("redress:")).unwrap(), 2);
    let passwd = read("passwd");
    let user = |name: &str| {
        let line = passwd
            .lines()
            .find(|l| l.starts_with(&format!("{name}:")))
            .unwrap();
        (field(line, 2), field(line, 3))
    };
    let (intake_uid, intake_gid) = user("redress-intake");
    let (worker_uid, worker_gid) = user("redress-worker");
    let (portal_uid, portal_gid) = user("redress-portal");
    assert!(intake_uid != worker_uid && portal_uid != worker_uid && portal_uid != intake_uid);
    assert_eq!(
        (intake_gid, worker_gid, portal_gid),
        (gid, gid, gid),
        "all in the group redress"
    );
    let meta = |p: &str| std::fs::metadata(root.path().join(p.trim_start_matches('/'))).unwrap();
    let data = meta("/var/lib/redress");
    assert_eq!(
        (data.mode() & 0o7777, data.uid(), data.gid()),
        (0o2770, worker_uid, gid)
    );
    let keys = meta("/var/lib/redress-keys/worker");
    assert_eq!((keys.mode() & 0o7777, keys.uid()), (0o700, worker_uid));
    let keys = meta("/var/lib/redress-keys/portal");
    assert_eq!((keys.mode() & 0o7777, keys.uid()), (0o700, portal_uid));
    assert!(Path::new(portal_secret).starts_with("/var/lib/redress-keys/portal"));
}
