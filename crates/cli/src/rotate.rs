//! `redress keys rotate triage | recovery` (ADR 0030): a new identity first, its public
//! half published where every intake process re-reads it, the wraps moved in batches,
//! a verification pass, then the old version retired in the registry.
//!
//! Each step can be interrupted (`kill -9` included) and the command run again: the
//! triage files are swapped through a `.next` file and renames, so a crash leaves either
//! the old layout or one the next run completes; the recovery identity is written to its
//! file before anything uses it; and the wraps still to move are whatever the database
//! says is not made to the new key.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use redress_crypto::SecretIdentity;
use redress_keychain::rotation::{OrgKey, OrgRotated, OrgRotation, Progress, rotate_org_key};
use redress_store::{Store, VersionState};

use crate::config::{Config, non_empty};

/// How a rotation runs.
#[derive(Clone, Debug)]
pub struct RotateOptions {
    /// Wraps per transaction.
    pub batch: u64,
    /// Open all of them at the end (`None`), or this many picked at random.
    pub verify_sample: Option<u64>,
    /// How long to wait for every intake process to seal to the new key.
    pub door_wait: Duration,
    /// How long after every door seals to the new key the last sweep starts: a report
    /// a door began sealing just before it switched commits a moment later.
    pub settle: Duration,
}

impl Default for RotateOptions {
    fn default() -> Self {
        Self {
            batch: 500,
            verify_sample: Some(1000),
            door_wait: Duration::from_secs(120),
            settle: Duration::from_secs(10),
        }
    }
}

/// How many wraps the verification pass opens: all (`None`) or about this many.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verify(pub Option<u64>);

/// `--verify all` or a sample size.
pub fn parse_verify(s: &str) -> Result<Verify, String> {
    if s == "all" {
        return Ok(Verify(None));
    }
    s.parse::<u64>()
        .map(|n| Verify(Some(n)))
        .map_err(|_| "--verify takes `all` or a number of wraps to open".to_owned())
}

/// The new triage identity while the files are being swapped.
pub fn triage_next_path(config: &Config) -> PathBuf {
    suffixed(&config.triage_identity_path(), ".next")
}

/// The triage identity being retired: read-only fallback until no wrap needs it.
pub fn triage_previous_path(config: &Config) -> PathBuf {
    suffixed(&config.triage_identity_path(), ".previous")
}

fn suffixed(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

fn read_identity(path: &Path, what: &str) -> anyhow::Result<SecretIdentity> {
    let text = crate::keys::read_secret_file(path, what)?;
    SecretIdentity::parse(&text).with_context(|| format!("{what} {}", path.display()))
}

/// The triage identities the worker holds: the current one and, if a rotation kept it,
/// the previous one.
pub fn triage_identities(config: &Config) -> Result<Vec<SecretIdentity>, String> {
    let mut ids =
        vec![read_identity(&config.triage_identity_path(), "triage identity").map_err(|e| format!("{e:#}"))?];
    let previous = triage_previous_path(config);
    if previous.exists() {
        ids.push(read_identity(&previous, "previous triage identity").map_err(|e| format!("{e:#}"))?);
    }
    Ok(ids)
}

/// Writes a file that did not exist, 0600, and makes it durable. It is written beside
/// its place and renamed into it, so a crash never leaves half an identity there.
fn write_new_secret(path: &Path, contents: &str) -> anyhow::Result<()> {
    if path.exists() {
        anyhow::bail!("{} exists already", path.display());
    }
    let tmp = suffixed(path, ".tmp");
    let _ = fs::remove_file(&tmp);
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("creating {}", tmp.display()))?;
    f.write_all(contents.as_bytes())?;
    f.sync_all()?;
    fs::rename(&tmp, path)?;
    sync_dir(path)
}

/// Makes a rename or a new file in `path`'s folder durable.
fn sync_dir(path: &Path) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// Replaces a public key file at once (a reader sees the old or the new, never half).
fn publish(path: &Path, recipient: &str) -> anyhow::Result<()> {
    let tmp = suffixed(path, ".tmp");
    let _ = fs::remove_file(&tmp);
    // The permissions the operator gave the file it replaces (`deploy/`: 0640, for the
    // intake's group), else readable by all: it is a public key.
    let mode = fs::metadata(path).map_or(0o644, |m| m.permissions().mode() & 0o777);
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)?;
    // The umask narrows the mode on creation: the readers of the old file must read
    // the new one.
    f.set_permissions(fs::Permissions::from_mode(mode))?;
    f.write_all(format!("{recipient}\n").as_bytes())?;
    f.sync_all()?;
    fs::rename(&tmp, path)?;
    sync_dir(path)
}

/// Overwrites a secret file with zeros, then deletes it.
fn destroy(path: &Path) -> anyhow::Result<()> {
    let len = fs::metadata(path)?.len();
    let mut f = fs::OpenOptions::new().write(true).open(path)?;
    f.write_all(&vec![0u8; usize::try_from(len).unwrap_or(0)])?;
    f.sync_all()?;
    fs::remove_file(path)?;
    sync_dir(path)
}

fn today(clock: &(dyn Fn() -> i64 + Send + Sync)) -> String {
    redress_web::day(clock())
}

/// The day a key being registered was made: its public key file's, which nothing but a
/// rotation rewrites; today if it has none.
fn made_day(public_file: &Path, clock: &(dyn Fn() -> i64 + Send + Sync)) -> String {
    crate::key_commands::file_day(public_file).unwrap_or_else(|| today(clock))
}

fn refuse_configured(configured: &str, what: &str, file: &str) -> anyhow::Result<()> {
    if non_empty(configured).is_some() {
        anyhow::bail!(
            "keys.{what}_recipient is set in the configuration, which Redress cannot change: remove it \
             (the same key is then read from keys/{file}) and run the rotation again"
        );
    }
    Ok(())
}

/// What a rotation did, in words for the person who ran it.
#[derive(Debug)]
pub struct Rotated {
    pub outcome: OrgRotated,
    /// The identity file that may be destroyed once the rotation finished (triage), or
    /// that the operator must take offline (recovery).
    pub old_file: Option<PathBuf>,
    pub new_recipient: String,
}

/// The lock a triage rotation holds on this host while it swaps and uses the identity
/// files: the command and a worker performing a rotation asked for on the portal never
/// run at once here. The lock goes with its process, however it ends.
#[derive(Debug)]
pub struct TriageFilesLock {
    _file: fs::File,
}

/// Takes the lock, or `None` while another process holds it.
pub fn try_lock_triage_files(config: &Config) -> anyhow::Result<Option<TriageFilesLock>> {
    let path = suffixed(&config.triage_identity_path(), ".lock");
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(TriageFilesLock { _file: file })),
        Err(fs::TryLockError::WouldBlock) => Ok(None),
        Err(fs::TryLockError::Error(e)) => Err(e).with_context(|| format!("locking {}", path.display())),
    }
}

/// `redress keys rotate triage`: run where the worker's triage identity is, as its user.
pub async fn rotate_triage(
    config: &Config,
    store: &Store,
    options: &RotateOptions,
    progress: &dyn Progress,
    clock: &(dyn Fn() -> i64 + Send + Sync),
) -> anyhow::Result<Rotated> {
    let Some(_lock) = try_lock_triage_files(config)? else {
        anyhow::bail!(
            "another process on this host is rotating the triage key (a worker performing a rotation \
             asked for on the portal, or another run of this command): follow it with `redress keys \
             status`, and run this again once it has stopped"
        );
    };
    rotate_triage_locked(config, store, options, progress, clock).await
}

/// The triage rotation, for a caller holding [`TriageFilesLock`].
pub async fn rotate_triage_locked(
    config: &Config,
    store: &Store,
    options: &RotateOptions,
    progress: &dyn Progress,
    clock: &(dyn Fn() -> i64 + Send + Sync),
) -> anyhow::Result<Rotated> {
    refuse_configured(&config.keys.triage_recipient, "triage", "triage.pub")?;
    let current = config.triage_identity_path();
    let next = triage_next_path(config);
    let previous = triage_previous_path(config);
    if next.exists() {
        // An earlier run stopped while swapping the files: finish the swap.
        if !previous.exists() {
            fs::rename(&current, &previous)?;
        }
        fs::rename(&next, &current)?;
        sync_dir(&current)?;
    } else if previous.exists() {
        let old = read_identity(&previous, "previous triage identity")?;
        let old_recipient = old.public().to_string();
        let retired = store
            .key_versions(OrgKey::Triage.as_str())
            .await?
            .into_iter()
            .any(|v| v.fingerprint == old_recipient && v.state == VersionState::Retired);
        // A wrap made to it after all (a door that switched late) keeps it: resume.
        let needed = store
            .count_wraps_for_rotation(redress_domain::Holder::Triage, &old_recipient, true)
            .await?;
        if retired && needed == 0 {
            // The last rotation finished with it: no wrap needs it. A new rotation
            // takes its place.
            destroy(&previous)?;
            progress.say(&format!(
                "destroyed the triage identity retired by the last rotation ({})",
                previous.display()
            ));
            start_triage_swap(&current, &next, &previous)?;
        } else {
            progress.say("resuming the rotation an earlier run did not finish");
        }
    } else {
        let old = read_identity(&current, "triage identity")?;
        store
            .register_key(
                OrgKey::Triage.as_str(),
                &old.public().to_string(),
                &made_day(&config.keys_dir().join("triage.pub"), clock),
            )
            .await?;
        start_triage_swap(&current, &next, &previous)?;
    }
    let new = read_identity(&current, "triage identity")?;
    let old = read_identity(&previous, "previous triage identity")?;
    let outcome = publish_and_move(
        config,
        store,
        OrgKey::Triage,
        &old,
        &new,
        options,
        progress,
        clock,
    )
    .await?;
    Ok(Rotated {
        new_recipient: new.public().to_string(),
        outcome,
        old_file: Some(previous),
    })
}

/// A new identity in `.next`, then the current one moved to `.previous` and the new one
/// into its place. A crash between the steps is finished by the next run.
fn start_triage_swap(current: &Path, next: &Path, previous: &Path) -> anyhow::Result<()> {
    write_new_secret(next, &crate::keys::triage_file_text(&SecretIdentity::generate()))?;
    fs::rename(current, previous)?;
    fs::rename(next, current)?;
    sync_dir(current)
}

/// `redress keys rotate recovery --old-identity FILE --new-identity-out FILE`.
pub async fn rotate_recovery(
    config: &Config,
    store: &Store,
    old_file: &Path,
    new_out: &Path,
    options: &RotateOptions,
    progress: &dyn Progress,
    clock: &(dyn Fn() -> i64 + Send + Sync),
) -> anyhow::Result<Rotated> {
    refuse_configured(&config.keys.recovery_recipient, "recovery", "recovery.pub")?;
    let old_text = fs::read_to_string(old_file).with_context(|| format!("reading {}", old_file.display()))?;
    let old = SecretIdentity::parse(&old_text).context("--old-identity is not an age identity file")?;
    let published = crate::keys::intake_keys(config)
        .map_err(anyhow::Error::msg)?
        .recovery
        .to_string();
    let old_recipient = old.public().to_string();
    let new = if new_out.exists() {
        // A run that stopped part-way: carry on with the identity it wrote, if it is
        // this rotation's.
        let text = fs::read_to_string(new_out)?;
        let new = SecretIdentity::parse(&text).context("--new-identity-out holds something else")?;
        let known = store
            .key_versions(OrgKey::Recovery.as_str())
            .await?
            .into_iter()
            .any(|v| v.fingerprint == new.public().to_string());
        let ours = published == new.public().to_string() || (published == old_recipient && !known);
        if !ours {
            anyhow::bail!(
                "{} exists and is not the identity of an unfinished rotation: choose a new path",
                new_out.display()
            );
        }
        progress.say("resuming the rotation an earlier run did not finish");
        new
    } else {
        if published != old_recipient {
            anyhow::bail!(
                "--old-identity is not the current recovery identity (keys/recovery.pub holds {published})"
            );
        }
        store
            .register_key(
                OrgKey::Recovery.as_str(),
                &old_recipient,
                &made_day(&config.keys_dir().join("recovery.pub"), clock),
            )
            .await?;
        let new = SecretIdentity::generate();
        write_new_secret(new_out, &crate::keys::recovery_file_text(&new))?;
        new
    };
    let outcome = publish_and_move(
        config,
        store,
        OrgKey::Recovery,
        &old,
        &new,
        options,
        progress,
        clock,
    )
    .await?;
    Ok(Rotated {
        new_recipient: new.public().to_string(),
        outcome,
        old_file: Some(new_out.to_owned()),
    })
}

/// Publishes the new public key where every intake re-reads it, then moves the wraps.
#[allow(clippy::too_many_arguments)]
async fn publish_and_move(
    config: &Config,
    store: &Store,
    key: OrgKey,
    old: &SecretIdentity,
    new: &SecretIdentity,
    options: &RotateOptions,
    progress: &dyn Progress,
    clock: &(dyn Fn() -> i64 + Send + Sync),
) -> anyhow::Result<OrgRotated> {
    let new_recipient = new.public().to_string();
    let file = format!("{}.pub", key.as_str());
    publish(&config.keys_dir().join(&file), &new_recipient)?;
    progress.say(&format!(
        "new {} key {new_recipient} published in keys/{file}",
        key.as_str()
    ));
    Ok(rotate_org_key(
        store,
        &OrgRotation {
            key,
            old: std::slice::from_ref(old),
            new,
            batch: options.batch.max(1),
            verify_sample: options.verify_sample,
            door_wait: options.door_wait,
            settle: options.settle,
            today: today(clock),
            clock,
        },
        progress,
    )
    .await?)
}

/// What `keys rotate triage` prints at the end.
pub fn render_triage(r: &Rotated) -> String {
    let o = &r.outcome;
    let mut out = format!(
        "Triage key rotated to {}: {} wraps moved; {} opened with the new identity to check them.\n",
        r.new_recipient, o.rewrapped, o.verified.checked
    );
    out.push_str(&unfinished(o));
    if let Some(old) = &r.old_file {
        if o.finished {
            out.push_str(&format!(
                "No wrap and no intake process needs the previous triage identity any more: it may be \
                 destroyed (shred -u {}). The next rotation destroys it if it is still there.\n",
                old.display()
            ));
        } else {
            out.push_str(&format!(
                "Keep the previous triage identity ({}): wraps or intake processes still need it. Run \
                 the command again to finish.\n",
                old.display()
            ));
        }
    }
    out
}

/// What `keys rotate recovery` prints at the end: the warning of the first run.
pub fn render_recovery(r: &Rotated) -> String {
    let o = &r.outcome;
    let mut out = format!(
        "Recovery key rotated to {}: {} wraps moved; {} opened with the new identity to check them.\n",
        r.new_recipient, o.rewrapped, o.verified.checked
    );
    out.push_str(&unfinished(o));
    if let Some(new) = &r.old_file {
        out.push_str(&format!(
            "\n!!! The NEW recovery identity is in {} and it opens EVERY case.\n\
             !!! Copy it to offline storage now (paper or an encrypted offline drive) and delete it\n\
             !!! from this machine. Redress only needs its public key.\n",
            new.display()
        ));
    }
    if o.finished {
        out.push_str("No wrap needs the old recovery identity any more: destroy every copy of it.\n");
    } else {
        out.push_str(
            "Keep the old recovery identity: wraps still need it. Run the command again to finish.\n",
        );
    }
    out
}

fn unfinished(o: &OrgRotated) -> String {
    let mut out = String::new();
    if !o.stale_doors.is_empty() {
        out.push_str(&format!(
            "{} intake process(es) still seal new reports to the old key: give their hosts the new \
             public key file (keys/*.pub), or stop them, then run the command again.\n",
            o.stale_doors.len()
        ));
    }
    if !o.unopened.is_empty() {
        out.push_str(&format!(
            "{} wraps are made to a key the old identity does not open: they were left as they are.\n",
            o.unopened.len()
        ));
    }
    if !o.verified.failed.is_empty() {
        out.push_str(&format!(
            "{} wraps failed the check with the new identity.\n",
            o.verified.failed.len()
        ));
    }
    out
}

/// A progress bar with rate and ETA on a terminal; plain lines, at most one every few
/// seconds, otherwise.
pub struct Display {
    bar: Option<indicatif::ProgressBar>,
    plain: std::sync::Mutex<Plain>,
}

struct Plain {
    what: String,
    total: u64,
    done: u64,
    last: Instant,
}

impl std::fmt::Debug for Display {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Display").finish_non_exhaustive()
    }
}

impl Display {
    /// A bar if standard error is a terminal, lines otherwise.
    pub fn new() -> Self {
        use std::io::IsTerminal;
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(0);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{msg:14} [{bar:40}] {pos}/{len} {per_sec} ETA {eta}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar
        });
        Self {
            bar,
            plain: std::sync::Mutex::new(Plain {
                what: String::new(),
                total: 0,
                done: 0,
                last: Instant::now(),
            }),
        }
    }
}

impl Default for Display {
    fn default() -> Self {
        Self::new()
    }
}

impl Progress for Display {
    fn phase(&self, what: &str, total: u64) {
        if let Some(bar) = &self.bar {
            bar.reset();
            bar.set_length(total);
            bar.set_message(what.to_owned());
            return;
        }
        let mut p = self
            .plain
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *p = Plain {
            what: what.to_owned(),
            total,
            done: 0,
            last: Instant::now(),
        };
        // The sweeps that find nothing while the doors switch say nothing.
        if total > 0 {
            eprintln!("{what}: {total} to do");
        }
    }

    fn advance(&self, n: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(n);
            return;
        }
        let mut p = self
            .plain
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        p.done += n;
        if p.last.elapsed() >= Duration::from_secs(2) || p.done >= p.total {
            p.last = Instant::now();
            eprintln!("{}: {} of {}", p.what, p.done, p.total.max(p.done));
        }
    }

    fn say(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }
}
