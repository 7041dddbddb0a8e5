//! Key files on the host: creating them on first run, loading public halves for the
//! intake, checking permissions.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::Context;
use redress_crypto::{PublicKey, SecretIdentity};
use redress_intake::IntakeKeys;

use crate::config::{Config, non_empty};

/// The file the first run writes the recovery identity to. Its name is the instruction.
pub const RECOVERY_FILE: &str = "RECOVERY-IDENTITY-MOVE-OFFLINE.txt";

/// What the first run created.
#[derive(Debug, Default)]
pub struct Bootstrap {
    pub triage_created: Option<PathBuf>,
    pub recovery_written: Option<PathBuf>,
    pub fingerprint_created: Option<PathBuf>,
}

/// Makes the data folder 0700 (creating it if needed) and a SQLite database with its
/// WAL and shared-memory files 0600 (creating an empty one first, since SQLite gives
/// its side files the database file's mode). A folder or file this process cannot
/// change is an error that says what to run.
pub fn lock_down_storage(config: &Config) -> anyhow::Result<()> {
    // Owner only, or (shared) the folder's group too; never others.
    let (folder, file, allowed) = if config.shared_with_group {
        (0o2770, 0o660, 0o2770)
    } else {
        (0o700, 0o600, 0o700)
    };
    if !config.data_dir.is_dir() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(folder)
            .create(&config.data_dir)?;
        fs::set_permissions(&config.data_dir, fs::Permissions::from_mode(folder))?;
    }
    tighten(&config.data_dir, allowed, folder)?;
    if let Some(db) = sqlite_file(&config.database_url()) {
        if !db.exists() {
            if let Some(parent) = db.parent() {
                fs::DirBuilder::new()
                    .recursive(true)
                    .mode(folder)
                    .create(parent)?;
            }
            let made = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .open(&db)?;
            // SQLite gives its side files the database file's mode: set it past the umask.
            made.set_permissions(fs::Permissions::from_mode(file))?;
        }
        for suffix in ["", "-wal", "-shm"] {
            let path = PathBuf::from(format!("{}{suffix}", db.display()));
            if path.exists() {
                tighten(&path, file, file)?;
            }
        }
    }
    Ok(())
}

/// Removes from `path` any permission outside `allowed` (setting `mode`), or says how
/// to.
fn tighten(path: &Path, allowed: u32, mode: u32) -> anyhow::Result<()> {
    let current = fs::metadata(path)?.permissions().mode() & 0o7777;
    if current & !allowed == 0 {
        return Ok(());
    }
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(|e| {
        anyhow::anyhow!(
            "{} has loose permissions {current:04o} and they cannot be changed ({e}): run chmod {mode:o} on it",
            path.display()
        )
    })
}

/// The file of a `sqlite:` URL (`sqlite://path?mode=rwc`), unless it is in memory.
pub fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
}

/// Secret identities that must not lie on this host: the recovery identity anywhere
/// (it belongs offline), the triage identity and fingerprint key on a host that runs a
/// door but not the worker (`door`: "intake" or "portal").
pub fn misplaced_secrets(config: &Config, door: Option<&str>) -> Vec<String> {
    let mut problems = Vec::new();
    let recovery = config.data_dir.join(RECOVERY_FILE);
    if recovery.exists() {
        problems.push(format!(
            "the recovery identity is still on this host ({}): it opens every report; copy it to \
             offline storage and delete it here",
            recovery.display()
        ));
    }
    if let Some(door) = door {
        for (what, path) in [
            ("the triage identity", config.triage_identity_path()),
            (
                "the previous triage identity",
                crate::rotate::triage_previous_path(config),
            ),
            (
                "the next triage identity",
                crate::rotate::triage_next_path(config),
            ),
            ("the fingerprint key", config.fingerprint_key_path()),
        ] {
            if path.exists() {
                problems.push(format!(
                    "{what} is on this {door} host ({}): only the worker may hold it; move it to \
                     the worker host",
                    path.display()
                ));
            }
        }
    }
    problems
}

fn triage_pub_path(config: &Config) -> PathBuf {
    config.keys_dir().join("triage.pub")
}

fn recovery_pub_path(config: &Config) -> PathBuf {
    config.keys_dir().join("recovery.pub")
}

pub(crate) fn write_new(path: &Path, contents: &str, mode: u32) -> std::io::Result<()> {
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)?;
    f.write_all(contents.as_bytes())?;
    f.sync_all()
}

/// Creates the data folder and, where neither configuration nor an earlier run provides
/// them, the triage identity (0600) and the recovery identity (written once, to be moved
/// offline; only its public half stays).
pub fn bootstrap(config: &Config) -> anyhow::Result<Bootstrap> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&config.data_dir)?;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(config.keys_dir())?;

    let triage_created = ensure_triage(config)?;
    ensure_portal_secret(config)?;
    // The fingerprint key is made with the triage key, on the first run only: a key made
    // again later would silently stop new cases from linking to old ones.
    let fingerprint_created = match triage_created {
        Some(_) => ensure_fingerprint_key(config)?,
        None => None,
    };
    Ok(Bootstrap {
        triage_created,
        recovery_written: ensure_recovery(config)?,
        fingerprint_created,
    })
}

/// Makes the worker's fingerprint key unless it exists.
fn ensure_fingerprint_key(config: &Config) -> anyhow::Result<Option<PathBuf>> {
    let path = config.fingerprint_key_path();
    if path.exists() {
        return Ok(None);
    }
    create_key_file(&path)?;
    Ok(Some(path))
}

/// Makes the portal's web secret unless it exists. It is the portal's alone: a file
/// the portal's user reads, never a database setting that every process could read.
pub fn ensure_portal_secret(config: &Config) -> anyhow::Result<Option<PathBuf>> {
    let path = config.portal_secret_path();
    if path.exists() {
        return Ok(None);
    }
    create_key_file(&path)?;
    Ok(Some(path))
}

/// Reads a secret file, refusing one that others can read (DESIGN.md: "file 0600,
/// permissions checked at start-up").
pub fn read_secret_file(path: &Path, what: &str) -> anyhow::Result<zeroize::Zeroizing<String>> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    // Open once (not through a symlink) and check the file we hold, so what is read is
    // what was checked.
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .with_context(|| format!("{what} {} is missing or not a plain file", path.display()))?;
    let meta = file.metadata()?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        anyhow::bail!(
            "{what} {} has loose permissions {mode:04o}: run chmod 600 on it",
            path.display()
        );
    }
    // Whoever owns a secret can read it: only the user this process runs as may.
    let me = nix::unistd::geteuid().as_raw();
    if std::os::unix::fs::MetadataExt::uid(&meta) != me {
        anyhow::bail!(
            "{what} {} belongs to uid {}, not to the user this process runs as (uid {me}), \
             who alone may be able to read it: run chown {me} on it",
            path.display(),
            std::os::unix::fs::MetadataExt::uid(&meta)
        );
    }
    let mut text = zeroize::Zeroizing::new(String::new());
    file.read_to_string(&mut text)
        .with_context(|| format!("reading {what} {}", path.display()))?;
    Ok(text)
}

/// Reads a key file made by [`create_key_file`]: 32 bytes in hex, not readable by
/// group or others.
pub fn read_key_file(path: &Path, what: &str) -> anyhow::Result<zeroize::Zeroizing<[u8; 32]>> {
    let text = read_secret_file(path, what)?;
    let bytes =
        zeroize::Zeroizing::new(hex::decode(text.trim()).map_err(|_| anyhow::anyhow!("{what} is not hex"))?);
    let key: [u8; 32] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| anyhow::anyhow!("{what} must be 32 bytes"))?;
    Ok(zeroize::Zeroizing::new(key))
}

/// Writes a new key file: 32 random bytes, hex, mode 0600.
pub fn create_key_file(path: &Path) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    }
    let mut key = zeroize::Zeroizing::new([0u8; 32]);
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, key.as_mut_slice());
    let text = zeroize::Zeroizing::new(format!("{}\n", hex::encode(key.as_slice())));
    write_new(path, &text, 0o600)?;
    Ok(())
}

/// Makes the triage identity once. Its public half existing means it was made, even if
/// an operator has since moved the identity to the worker host.
fn ensure_triage(config: &Config) -> anyhow::Result<Option<PathBuf>> {
    let path = config.triage_identity_path();
    if non_empty(&config.keys.triage_recipient).is_some() || triage_pub_path(config).exists() {
        return Ok(None);
    }
    if path.exists() {
        // The identity is here but its public half was lost: restore it rather than
        // replace a key that open cases may be wrapped to.
        let id = SecretIdentity::parse(&fs::read_to_string(&path)?)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        fs::write(triage_pub_path(config), format!("{}\n", id.public()))?;
        return Ok(None);
    }
    let id = SecretIdentity::generate();
    write_new(&path, &triage_file_text(&id), 0o600)?;
    fs::write(triage_pub_path(config), format!("{}\n", id.public()))?;
    Ok(Some(path))
}

/// The text of a triage identity file, as the first run and a rotation write it.
pub fn triage_file_text(id: &SecretIdentity) -> zeroize::Zeroizing<String> {
    zeroize::Zeroizing::new(format!(
        "# Redress triage identity. Only the triage worker may read this file.\n{}",
        id.to_identity_file().as_str()
    ))
}

/// The text of a recovery identity file, as the first run and a rotation write it: its
/// first lines are the instruction.
pub fn recovery_file_text(id: &SecretIdentity) -> zeroize::Zeroizing<String> {
    zeroize::Zeroizing::new(format!(
        "# Redress RECOVERY identity: it opens EVERY case.\n\
         # Copy it to offline storage (paper or an encrypted offline drive), then delete\n\
         # this file from the server. Redress only needs the public key:\n\
         # {}\n{}",
        id.public(),
        id.to_identity_file().as_str()
    ))
}

/// Makes the recovery identity once, writes it where the operator must take it offline,
/// and keeps only its public half.
fn ensure_recovery(config: &Config) -> anyhow::Result<Option<PathBuf>> {
    if non_empty(&config.keys.recovery_recipient).is_some() || recovery_pub_path(config).exists() {
        return Ok(None);
    }
    let id = SecretIdentity::generate();
    let path = config.data_dir.join(RECOVERY_FILE);
    write_new(&path, &recovery_file_text(&id), 0o600)?;
    fs::write(recovery_pub_path(config), format!("{}\n", id.public()))?;
    Ok(Some(path))
}

fn recipient(configured: &str, file: &Path, what: &str) -> Result<PublicKey, String> {
    let text = match non_empty(configured) {
        Some(v) => v.to_owned(),
        None => fs::read_to_string(file).map_err(|_| {
            format!(
                "{what} public key missing: set keys.{what}_recipient or create {}",
                file.display()
            )
        })?,
    };
    PublicKey::parse(&text).map_err(|_| format!("{what} public key is not an age1… recipient"))
}

/// The public keys the intake seals to. Never reads an identity file.
pub fn intake_keys(config: &Config) -> Result<IntakeKeys, String> {
    Ok(IntakeKeys {
        triage: recipient(&config.keys.triage_recipient, &triage_pub_path(config), "triage")?,
        recovery: recipient(
            &config.keys.recovery_recipient,
            &recovery_pub_path(config),
            "recovery",
        )?,
    })
}

/// Problems with the triage identity file: missing, unreadable, loose permissions, or not
/// matching the configured public key.
pub fn check_triage_identity(config: &Config, problems: &mut Vec<String>) {
    let path = config.triage_identity_path();
    let meta = match fs::metadata(&path) {
        Ok(m) => m,
        Err(_) => {
            problems.push(format!(
                "triage identity missing: {} (keys.triage_identity_file)",
                path.display()
            ));
            return;
        }
    };
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        problems.push(format!(
            "triage identity {} has loose permissions {mode:04o}: run chmod 600 on it",
            path.display()
        ));
    }
    match fs::read_to_string(&path)
        .map_err(|e| e.to_string())
        .and_then(|t| SecretIdentity::parse(&t).map_err(|e| e.to_string()))
    {
        Err(e) => problems.push(format!("triage identity {} cannot be used: {e}", path.display())),
        Ok(id) => {
            if let Ok(keys) = intake_keys(config)
                && keys.triage != id.public()
            {
                problems.push("triage identity does not match the triage public key".into());
            }
        }
    }
}
