//! Shipped configuration: the documented config file is exactly the defaults, and the
//! onion-service configuration is one Tor accepts.

use std::path::PathBuf;
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
