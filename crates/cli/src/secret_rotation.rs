//! The doors' web secrets, current and previous (ADR 0031): loading them when a door
//! starts, and `redress keys rotate web-secret|portal-secret [--force]`.
//!
//! The intake's secret is the setting `web_secret`, the one before it
//! `web_secret_previous`; the portal's is its file (`portal.secret_file`), the one before
//! it the file beside it with `.previous` added, read with the same checks. A rotation
//! makes a new secret and keeps the current one as the previous, dropping the one before
//! it; `--force` keeps none and ends every session of that door. A door reads its
//! secrets when it starts, so the command says to restart them.
//!
//! Each rotation is one audit entry, written in the transaction that makes it. Nothing
//! here prints or logs a secret: only its fingerprint (`key_commands`).

use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use redress_domain::AuditAction;
use redress_store::{Audited, Store, StoreError};
use redress_web::WebSecrets;
use zeroize::Zeroizing;

use crate::config::Config;
use crate::key_commands::{file_fingerprint, secret_fingerprint};
use crate::keys;

/// The setting holding the intake's web secret…
pub const WEB_SECRET: &str = "web_secret";
/// …and the one before it, after a rotation.
pub const WEB_SECRET_PREVIOUS: &str = "web_secret_previous";

/// The intake's secrets, making the current one if no process has yet.
pub async fn web_secrets(store: &Store) -> anyhow::Result<WebSecrets> {
    let current = Zeroizing::new(
        store
            .setting_or_init(WEB_SECRET, || new_secret().to_vec())
            .await?,
    );
    let previous = store.setting(WEB_SECRET_PREVIOUS).await?.map(Zeroizing::new);
    Ok(WebSecrets::new(&current, previous.as_ref().map(|p| p.as_slice())))
}

/// Where the portal keeps its previous secret: beside the current one.
pub fn previous_portal_secret_path(current: &Path) -> PathBuf {
    with_suffix(current, ".previous")
}

/// The portal's secrets, both read through the key-file checks: a previous secret that
/// others could read is refused as the current one is.
pub fn portal_secrets(config: &Config) -> anyhow::Result<WebSecrets> {
    let path = config.portal_secret_path();
    let current = keys::read_key_file(&path, "the portal secret")?;
    let previous = read_previous_portal_secret(&previous_portal_secret_path(&path))?;
    Ok(WebSecrets::new(
        current.as_slice(),
        previous.as_ref().map(|p| p.as_slice()),
    ))
}

/// The previous portal secret, if there is anything at `path` (a dangling link is
/// there too, and refused).
fn read_previous_portal_secret(path: &Path) -> anyhow::Result<Option<Zeroizing<[u8; 32]>>> {
    match fs::symlink_metadata(path) {
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        _ => Ok(Some(keys::read_key_file(path, "the previous portal secret")?)),
    }
}

/// What a rotation did, by fingerprints.
#[derive(Debug)]
pub struct Rotated {
    pub secret: Secret,
    /// The new secret's fingerprint.
    pub current: String,
    /// The secret it replaced, still accepted; none with `--force`.
    pub kept: Option<String>,
    /// Secrets no longer accepted once the doors restart.
    pub refused: Vec<String>,
    /// With `--force`: the sessions ended.
    pub sessions_ended: Option<u64>,
    /// Where the portal's secrets are.
    pub files: Option<(PathBuf, PathBuf)>,
}

/// Which door's secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Secret {
    /// The intake's, in the database.
    Web,
    /// The portal's, in its file.
    Portal,
}

impl Secret {
    fn target(self) -> &'static str {
        match self {
            Self::Web => "secret:web",
            Self::Portal => "secret:portal",
        }
    }
}

/// Rotates the intake's web secret in one audited transaction; `force` keeps no
/// previous secret and ends every reporter's follow-up session.
pub async fn rotate_web_secret(store: &Store, force: bool, now: i64) -> anyhow::Result<Rotated> {
    let tx = store.begin_audited().await?;
    let old = tx.setting(WEB_SECRET).await?.map(Zeroizing::new).context(
        "there is no web secret yet: the intake makes it when it first starts, so there is nothing to rotate",
    )?;
    let older = tx.setting(WEB_SECRET_PREVIOUS).await?.map(Zeroizing::new);
    let new = new_secret();
    tx.put_setting(WEB_SECRET, Some(new.as_slice())).await?;
    tx.put_setting(WEB_SECRET_PREVIOUS, (!force).then_some(old.as_slice()))
        .await?;
    let sessions_ended = if force {
        Some(tx.end_every_followup_session().await?)
    } else {
        None
    };
    audit(&tx, Secret::Web, force, now).await?;
    tx.commit().await?;
    Ok(rotated(
        Secret::Web,
        secret_fingerprint(new.as_slice()),
        secret_fingerprint(&old),
        older.map(|o| secret_fingerprint(&o)),
        force,
        sessions_ended,
    ))
}

/// Rotates the portal's secret file; `force` keeps no previous secret and ends every
/// portal session. The files change inside the audited transaction, before it commits:
/// a rotation that cannot write them records nothing and ends no session.
pub async fn rotate_portal_secret(
    config: &Config,
    store: &Store,
    force: bool,
    now: i64,
) -> anyhow::Result<Rotated> {
    let path = config.portal_secret_path();
    let previous_path = previous_portal_secret_path(&path);
    if let Err(e) = fs::symlink_metadata(&path)
        && e.kind() == ErrorKind::NotFound
    {
        anyhow::bail!(
            "there is no portal secret at {} to rotate: is this the portal's host? The portal \
             makes it when it first starts",
            path.display()
        );
    }
    // The portal's own checks: run as any other user, the command would leave files the
    // portal cannot read. The text is kept as it is, so its fingerprint stays the same.
    let as_the_portal = "the portal secret is rotated by the user the portal runs as";
    keys::read_key_file(&path, "the portal secret").context(as_the_portal)?;
    let old = keys::read_secret_file(&path, "the portal secret").context(as_the_portal)?;
    // The previous file is replaced or removed, whatever it holds.
    let older_fingerprint = file_fingerprint(&previous_path);
    let new = Zeroizing::new(format!("{}\n", hex::encode(new_secret().as_slice())));

    let tx = store.begin_audited().await?;
    let sessions_ended = if force {
        Some(tx.end_every_session().await?)
    } else {
        None
    };
    audit(&tx, Secret::Portal, force, now).await?;
    // In this order a crash leaves at worst the previous file equal to the current one,
    // or the old secret current with no previous: never a portal without a secret.
    if force {
        remove_if_present(&previous_path)?;
    } else {
        let made = fs::metadata(&path)?.modified().ok();
        write_key_file(&previous_path, &old, made)?;
    }
    write_key_file(&path, &new, None)?;
    tx.commit().await.map_err(|e| match e {
        StoreError::CommitUnknown(_) => anyhow::Error::new(e).context(
            "the portal secret's files were changed, but whether the audit entry (and the \
             end of the sessions) was recorded is unknown",
        ),
        e => e.into(),
    })?;
    let mut done = rotated(
        Secret::Portal,
        secret_fingerprint(new.trim().as_bytes()),
        secret_fingerprint(old.trim().as_bytes()),
        older_fingerprint,
        force,
        sessions_ended,
    );
    done.files = Some((path, previous_path));
    Ok(done)
}

fn rotated(
    secret: Secret,
    current: String,
    old: String,
    older: Option<String>,
    force: bool,
    sessions_ended: Option<u64>,
) -> Rotated {
    let (kept, mut refused) = if force {
        (None, vec![old])
    } else {
        (Some(old), Vec::new())
    };
    refused.extend(older);
    Rotated {
        secret,
        current,
        kept,
        refused,
        sessions_ended,
        files: None,
    }
}

async fn audit(tx: &Audited, secret: Secret, force: bool, now: i64) -> anyhow::Result<()> {
    let entry = redress_audit::NewEntry {
        actor: "cli",
        action: if force {
            AuditAction::SecretReplace
        } else {
            AuditAction::SecretRotate
        },
        target: Some(secret.target()),
        at: now,
        timing: redress_audit::Timing::Exact,
    };
    redress_audit::append(tx, &entry).await?;
    Ok(())
}

/// What `keys rotate web-secret|portal-secret` prints.
pub fn render(r: &Rotated) -> String {
    let (name, doors) = match r.secret {
        Secret::Web => (
            "web secret",
            "every intake process (`redress intake`, `redress serve`)",
        ),
        Secret::Portal => (
            "portal secret",
            "every portal process (`redress portal`, `redress serve`)",
        ),
    };
    let mut out = match &r.kept {
        Some(kept) => format!(
            "Rotated the {name}: {} is the current one; {kept}, the one before, is still accepted.\n",
            r.current
        ),
        None => format!(
            "Replaced the {name}: {} is the current one, and no previous one is kept.\n",
            r.current
        ),
    };
    if let Some((current, previous)) = &r.files {
        out.push_str(&format!("  current:  {}\n", current.display()));
        if r.kept.is_some() {
            out.push_str(&format!("  previous: {}\n", previous.display()));
        }
    }
    if !r.refused.is_empty() {
        out.push_str(&format!(
            "No longer accepted after the restart: {}.\n",
            r.refused.join(", ")
        ));
    }
    match (r.secret, r.sessions_ended) {
        (Secret::Web, Some(n)) => {
            out.push_str(&format!("Ended every reporter's follow-up session ({n}).\n"));
        }
        (Secret::Portal, Some(n)) => {
            out.push_str(&format!(
                "Ended every portal session ({n}): everyone logs in again.\n"
            ));
        }
        (_, None) => {}
    }
    out.push_str(&format!(
        "Restart {doors} now: each reads its secrets when it starts, and until then signs with \
         the secrets it started with{}.\n",
        if r.kept.is_some() {
            ""
        } else {
            " and still accepts what the old one made"
        }
    ));
    out
}

/// 32 random bytes.
fn new_secret() -> Zeroizing<[u8; 32]> {
    let mut key = Zeroizing::new([0u8; 32]);
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, key.as_mut_slice());
    key
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Replaces the key file `path` with `text` (0600) at once: written beside it, then
/// renamed over it. `modified` keeps the day a secret was made, which `keys status`
/// shows.
fn write_key_file(path: &Path, text: &str, modified: Option<std::time::SystemTime>) -> anyhow::Result<()> {
    let new = with_suffix(path, ".new");
    // Left by a rotation that stopped half-way.
    remove_if_present(&new)?;
    keys::write_new(&new, text, 0o600).with_context(|| format!("writing {}", new.display()))?;
    if let Some(at) = modified {
        fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&new)?
            .set_modified(at)?;
    }
    fs::rename(&new, path).with_context(|| format!("replacing {}", path.display()))?;
    sync_folder(path)
}

fn remove_if_present(path: &Path) -> anyhow::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != ErrorKind::NotFound => {
            Err(anyhow::Error::new(e).context(format!("removing {}", path.display())))
        }
        _ => sync_folder(path),
    }
}

/// Makes a rename or removal in `path`'s folder durable.
fn sync_folder(path: &Path) -> anyhow::Result<()> {
    let folder = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::File::open(folder)?.sync_all()?;
    Ok(())
}
