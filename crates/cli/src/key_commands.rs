//! `redress keys …`. `status`: every long-lived key — the triage and recovery keys, each
//! investigator's, the web and portal secrets — with its fingerprint, when it was made,
//! and how many case-key wraps are made to it; the earlier triage and recovery keys the
//! registry knows, and whether each may be destroyed; the wraps made to a key that is
//! no longer its holder's (what a rotation has left to do); unfinished rotations; and
//! intake processes still sealing to an old key. The facts come from
//! `redress_keychain::status`, which the portal's key page shows too; what this host
//! holds outside the database is read here ([`host_keys`]), and put in words by
//! [`render`].
//!
//! `rotate web-secret|portal-secret [--force]`: see `secret_rotation` (ADR 0031).
//!
//! `revoke EMAIL`: an investigator's key is revoked by deleting every wrap they hold
//! (their identity then opens nothing), with their assignments; their account is
//! disabled, which ends its sessions; one audited transaction. With `--rekey`, the
//! cases they held are written down in that transaction and re-keyed (`crate::rekey`).

use std::path::Path;

use clap::Subcommand;
/// A secret's fingerprint, as the status shows it.
pub(crate) use redress_keychain::status::secret_fingerprint;
use redress_keychain::status::{
    DoorSecret, EarlierVersion, Fingerprint, HostKeys, KeyName, KeyStatus, Made, PublishedKey, SecretFile,
    WrapHolder,
};
use redress_store::{Rotation, Store, VersionState};
use redress_web::{clock_time, day};
use zeroize::Zeroizing;

use crate::config::{Config, non_empty};

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Every key, its fingerprint, when it was made and the wraps made to it; and the
    /// wraps made to keys that are no longer their holder's.
    Status,
    /// Revokes an investigator: deletes every wrap they hold and their assignments,
    /// disables their account and ends its sessions.
    Revoke {
        /// The investigator's email address.
        email: String,
        /// Also give each of their cases a new case key and thread key and re-encrypt
        /// everything the case stores (ADR 0032): for an identity that may have leaked.
        /// Resumable: run the same command again after an interruption.
        #[arg(long)]
        rekey: bool,
        /// The recovery identity (from its offline storage), which opens each case's
        /// old keys for `--rekey`. Read, never copied or logged.
        #[arg(long, requires = "rekey")]
        recovery_identity: Option<std::path::PathBuf>,
    },
    /// Gives an investigator who lost their password or authenticator their cases
    /// back: the first run stops the old login and prints a recovery link; once they
    /// have set up anew, the second run wraps their cases to their new key with the
    /// recovery identity (resumable: run it again after an interruption).
    RecoverInvestigator {
        /// The investigator's email address.
        email: String,
        /// The recovery identity file (from its offline storage); read, never copied.
        #[arg(long)]
        recovery_identity: std::path::PathBuf,
        /// Begin a recovery: the person's password and authenticator stop working at once
        /// and a recovery link is printed. Without it, a run only carries on with a
        /// recovery under way.
        #[arg(long)]
        begin: bool,
        /// Replace a recovery link that has not been used yet.
        #[arg(long)]
        new_link: bool,
        /// Hours the recovery link works.
        #[arg(long, default_value_t = 72)]
        valid_hours: u32,
        /// Wraps per transaction.
        #[arg(long, default_value_t = 500)]
        batch: u64,
    },
    /// Makes a new key or secret and retires the current one (a key rotation is
    /// resumable: run it again after an interruption).
    Rotate {
        #[command(subcommand)]
        what: RotateCommand,
    },
}

/// Which key `keys rotate` rotates.
#[derive(Debug, Subcommand)]
pub enum RotateCommand {
    /// A new triage identity (run where the worker's identity is, as its user); intake
    /// processes pick up the public key within seconds.
    Triage {
        #[command(flatten)]
        run: RunOptions,
    },
    /// A new recovery identity, written for offline storage; every case's recovery wrap
    /// moves to it.
    Recovery {
        /// The current recovery identity (from its offline storage).
        #[arg(long)]
        old_identity: std::path::PathBuf,
        /// Where to write the new recovery identity; must not exist, unless an earlier
        /// run of this rotation wrote it.
        #[arg(long)]
        new_identity_out: std::path::PathBuf,
        #[command(flatten)]
        run: RunOptions,
    },
    /// The intake's web secret (its CSRF tokens and receipt cookies). The current one is
    /// kept as the previous, still accepted; the one before it is dropped.
    WebSecret {
        /// Keep no previous secret, refusing everything the old one made, and end every
        /// reporter's follow-up session.
        #[arg(long)]
        force: bool,
    },
    /// The portal's secret file (its CSRF tokens and sealed cookies). The current one is
    /// kept beside it as the previous, still accepted; the one before it is dropped.
    PortalSecret {
        /// Keep no previous secret, refusing everything the old one made, and end every
        /// portal session.
        #[arg(long)]
        force: bool,
    },
}

/// How a long key operation runs.
#[derive(Debug, clap::Args)]
pub struct RunOptions {
    /// Wraps per transaction.
    #[arg(long, default_value_t = 500)]
    pub batch: u64,
    /// At the end, open `all` wraps with the new key, or this many picked at random.
    #[arg(long, default_value = "1000", value_parser = crate::rotate::parse_verify)]
    pub verify: crate::rotate::Verify,
    /// Seconds to wait for every intake process to use the new key.
    #[arg(long, default_value_t = 120)]
    pub wait_for_doors: u64,
}

impl RunOptions {
    pub fn options(&self) -> crate::rotate::RotateOptions {
        crate::rotate::RotateOptions {
            batch: self.batch.max(1),
            verify_sample: self.verify.0,
            door_wait: std::time::Duration::from_secs(self.wait_for_doors),
            ..crate::rotate::RotateOptions::default()
        }
    }
}

/// Runs `keys rotate …`: what to print, and whether it finished (a key rotation that
/// did not is run again).
pub async fn rotate(
    config: &Config,
    store: &Store,
    what: RotateCommand,
    now: i64,
) -> anyhow::Result<(String, bool)> {
    use crate::rotate as keys;
    use crate::secret_rotation as secrets;
    let display = keys::Display::new();
    let clock = crate::system_clock;
    Ok(match what {
        RotateCommand::Triage { run } => {
            let r = keys::rotate_triage(config, store, &run.options(), &display, &clock).await?;
            (keys::render_triage(&r), r.outcome.finished)
        }
        RotateCommand::Recovery {
            old_identity,
            new_identity_out,
            run,
        } => {
            let r = keys::rotate_recovery(
                config,
                store,
                &old_identity,
                &new_identity_out,
                &run.options(),
                &display,
                &clock,
            )
            .await?;
            (keys::render_recovery(&r), r.outcome.finished)
        }
        RotateCommand::WebSecret { force } => (
            secrets::render(&secrets::rotate_web_secret(store, force, now).await?),
            true,
        ),
        RotateCommand::PortalSecret { force } => (
            secrets::render(&secrets::rotate_portal_secret(config, store, force, now).await?),
            true,
        ),
    })
}

/// What a revocation did.
#[derive(Debug)]
pub struct Revoked {
    pub wraps: u64,
    /// Cases no investigator can open any more (the recovery identity still does).
    pub orphaned: Vec<String>,
}

/// Revokes the investigator `email`: see [`KeysCommand::Revoke`].
pub async fn revoke(store: &Store, email: &str, now: i64) -> anyhow::Result<Revoked> {
    revoke_recording(store, email, now, None).await
}

/// The investigator registered with `email`.
pub async fn investigator_by_email(
    store: &Store,
    email: &str,
) -> anyhow::Result<redress_store::Investigator> {
    let email = email.trim().to_lowercase();
    store
        .investigators()
        .await?
        .into_iter()
        .find(|i| i.email == email)
        .ok_or_else(|| anyhow::anyhow!("no investigator has the address {email}"))
}

/// Revokes `email`; with `rekey`, a re-keying's `key_rotations` row, also writes down
/// the cases they held for it in the same transaction (ADR 0032).
pub async fn revoke_recording(
    store: &Store,
    email: &str,
    now: i64,
    rekey: Option<&str>,
) -> anyhow::Result<Revoked> {
    let investigator = investigator_by_email(store, email).await?;
    let account = store.account_by_email(&investigator.email).await?;
    let tx = store.begin_audited().await?;
    if let Some(a) = &account {
        tx.set_account_state(a.id, redress_domain::AccountState::Disabled)
            .await?;
    }
    if let Some(rotation) = rekey {
        tx.record_rekey_cases(rotation, investigator.id, now).await?;
    }
    let (wraps, orphaned) = tx.revoke_investigator(investigator.id).await?;
    let target = match &account {
        Some(a) => format!("account:{}", a.id),
        None => format!("investigator:{}", investigator.id),
    };
    let entry = redress_audit::NewEntry {
        actor: "cli",
        action: redress_domain::AuditAction::KeyRevoke,
        target: Some(&target),
        at: now,
        timing: redress_audit::Timing::Exact,
    };
    redress_audit::append(&tx, &entry).await?;
    tx.commit().await?;
    let mut refs = Vec::new();
    for case in orphaned {
        if let Some(c) = store.case_by_id(case).await? {
            refs.push(c.case_ref.to_string());
        }
    }
    refs.sort();
    Ok(Revoked {
        wraps,
        orphaned: refs,
    })
}

/// What `keys revoke` prints.
pub fn render_revoked(email: &str, r: &Revoked) -> String {
    let mut out = format!(
        "Revoked {email}: {} wraps deleted; the account, if any, is disabled and its sessions ended. Their identity opens no case.\n",
        r.wraps
    );
    if !r.orphaned.is_empty() {
        out.push_str(
            "No investigator can open these cases any more; the recovery identity still opens them:\n",
        );
        for case in &r.orphaned {
            out.push_str(&format!("  {case}\n"));
        }
    }
    out
}

/// The day a file was last written: when a key file was made, since nothing but a
/// rotation rewrites one.
pub(crate) fn file_day(path: &Path) -> Option<String> {
    let modified = std::fs::metadata(path).ok()?.modified().ok()?;
    let secs = modified.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
    Some(day(i64::try_from(secs).ok()?))
}

/// An organisation public key as this host publishes it: configured, or in its file.
fn published(configured: &str, file: &Path) -> Option<PublishedKey> {
    let (text, file_day) = match non_empty(configured) {
        Some(key) => (key.to_owned(), None),
        None => (std::fs::read_to_string(file).ok()?, file_day(file)),
    };
    let recipient = redress_crypto::PublicKey::parse(&text).ok()?.to_string();
    Some(PublishedKey { recipient, file_day })
}

/// The fingerprint of the secret in the file `path`, if this host has it.
pub(crate) fn file_fingerprint(path: &Path) -> Option<String> {
    let text = Zeroizing::new(std::fs::read_to_string(path).ok()?);
    Some(secret_fingerprint(text.trim().as_bytes()))
}

/// A secret in a file, by its fingerprint, if this host has it.
fn secret_file(secret: DoorSecret, previous: bool, path: &Path) -> SecretFile {
    SecretFile {
        secret,
        previous,
        fingerprint: file_fingerprint(path),
        file_day: file_day(path),
    }
}

/// What this host holds outside the database, for the status: the public keys it
/// publishes and the portal secret. `redress keys status` and the portal's key page
/// both read it through here.
pub fn host_keys(config: &Config) -> HostKeys {
    let keys = config.keys_dir();
    HostKeys {
        triage: published(&config.keys.triage_recipient, &keys.join("triage.pub")),
        recovery: published(&config.keys.recovery_recipient, &keys.join("recovery.pub")),
        secret_files: {
            let current = config.portal_secret_path();
            let previous = crate::secret_rotation::previous_portal_secret_path(&current);
            let mut files = vec![secret_file(DoorSecret::Portal, false, &current)];
            if previous.exists() {
                files.push(secret_file(DoorSecret::Portal, true, &previous));
            }
            files
        },
    }
}

/// Reads every key this host can see, the registry, the rotations and the intake
/// heartbeats.
pub async fn status(config: &Config, store: &Store, now: i64) -> anyhow::Result<KeyStatus> {
    Ok(redress_keychain::status::key_status(store, &host_keys(config), now).await?)
}

fn key_name(name: &KeyName) -> String {
    match name {
        KeyName::Org(key) => key.as_str().to_owned(),
        KeyName::Investigator { email } => format!("investigator {email}"),
        KeyName::Secret { secret, previous } => format!(
            "{} secret{}",
            match secret {
                DoorSecret::Web => "web",
                DoorSecret::Portal => "portal",
            },
            if *previous { " (previous)" } else { "" }
        ),
    }
}

fn fingerprint(f: &Fingerprint) -> String {
    match f {
        Fingerprint::Shown(key) => key.clone(),
        Fingerprint::NotMadeYet => "not made yet".to_owned(),
        Fingerprint::NotOnThisHost => "not on this host".to_owned(),
    }
}

fn made(m: &Made) -> String {
    match m {
        Made::Day(d) => d.clone(),
        Made::At(t) => day(*t),
        Made::InConfiguration => "given in the configuration".to_owned(),
        Made::NotRecorded => "not recorded".to_owned(),
    }
}

fn earlier_version(v: &EarlierVersion) -> String {
    let when = match (v.state, &v.retired) {
        (VersionState::Retired, Some(day)) => format!("made {}, retired {day}", v.made),
        (VersionState::Retired, None) => format!("made {}, retired", v.made),
        (VersionState::Retiring, _) => format!("made {}, retiring", v.made),
        (VersionState::Current, _) => format!(
            "made {}, current in the registry but not published on this host (copy keys/{}.pub here)",
            v.made,
            v.key.as_str()
        ),
    };
    let what = if v.may_be_destroyed() {
        ": may be destroyed"
    } else if v.state == VersionState::Retired {
        ": keep it, wraps still need it"
    } else {
        ""
    };
    format!(
        "  {:8}  {}  {when}, {} wraps{what}\n",
        v.key.as_str(),
        v.fingerprint,
        v.wraps
    )
}

fn rotation_line(r: &Rotation) -> String {
    let at = |t: i64| format!("{} {}", day(t), clock_time(t));
    let mut line = format!("  {}", r.kind);
    if let Some(subject) = &r.subject {
        line.push_str(&format!(" {subject}"));
    }
    line.push_str(&format!(
        "  {}  {}/{} wraps  started {}, last change {}",
        r.state,
        r.done,
        r.total,
        at(r.started_at),
        at(r.updated_at)
    ));
    if let Some(note) = &r.note {
        line.push_str(&format!("  ({note})"));
    }
    line.push('\n');
    line
}

/// The status as a table, then the earlier versions, the wraps to retired keys, the
/// unfinished rotations and the intake processes on an old key.
pub fn render(s: &KeyStatus) -> String {
    let rows: Vec<[String; 4]> = s
        .keys
        .iter()
        .map(|k| {
            [
                key_name(&k.name),
                fingerprint(&k.fingerprint),
                made(&k.made),
                k.wraps.map_or_else(|| "-".to_owned(), |n| n.to_string()),
            ]
        })
        .collect();
    let width = |i: usize, least: usize| {
        rows.iter()
            .map(|r| r[i].chars().count())
            .max()
            .unwrap_or(0)
            .max(least)
    };
    let (w0, w1, w2) = (width(0, 3), width(1, 11), width(2, 10));
    let mut out = format!("{:w0$}  {:w1$}  {:w2$}  WRAPS\n", "KEY", "FINGERPRINT", "CREATED");
    for [name, print, made, wraps] in &rows {
        out.push_str(&format!("{name:w0$}  {print:w1$}  {made:w2$}  {wraps}\n"));
    }
    if s.earlier.is_empty() {
        out.push_str("\nEarlier triage and recovery keys: none recorded.\n");
    } else {
        out.push_str("\nEarlier triage and recovery keys:\n");
        for v in &s.earlier {
            out.push_str(&earlier_version(v));
        }
    }
    if s.left_over.is_empty() {
        out.push_str("\nWraps to retired keys: none.\n");
    } else {
        out.push_str("\nWraps to retired keys (a rotation has these left to do):\n");
        for r in &s.left_over {
            let holder = match &r.holder {
                WrapHolder::Org(key) => key.as_str().to_owned(),
                WrapHolder::Investigator(Some(email)) => format!("investigator {email}"),
                WrapHolder::Investigator(None) => "investigator (no longer registered)".to_owned(),
            };
            out.push_str(&format!("  {holder}  {}  {} wraps\n", r.recipient, r.wraps));
        }
    }
    if s.unfinished.is_empty() {
        out.push_str("\nUnfinished rotations: none.\n");
    } else {
        out.push_str("\nUnfinished rotations (run the command again, or let the worker finish one the portal requested):\n");
        for r in &s.unfinished {
            out.push_str(&rotation_line(r));
        }
    }
    if s.stale_doors.is_empty() {
        out.push_str("\nIntake processes sealing to an old key: none.\n");
    } else {
        out.push_str("\nIntake processes sealing to an old key (give their hosts the new keys/*.pub):\n");
        for d in &s.stale_doors {
            out.push_str(&format!("  {}  {} {}\n", d.process, d.key.as_str(), d.sealing_to));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use redress_keychain::status::KeyLine;

    use super::*;

    #[test]
    fn a_previous_secret_and_a_destroyable_version_are_named() {
        let status = KeyStatus {
            keys: vec![KeyLine {
                name: KeyName::Secret {
                    secret: DoorSecret::Portal,
                    previous: true,
                },
                fingerprint: Fingerprint::NotOnThisHost,
                made: Made::NotRecorded,
                wraps: None,
            }],
            earlier: vec![EarlierVersion {
                key: redress_keychain::rotation::OrgKey::Triage,
                fingerprint: "age1old".into(),
                state: VersionState::Retired,
                made: "2026-01-01".into(),
                retired: Some("2026-06-01".into()),
                wraps: 0,
            }],
            left_over: Vec::new(),
            unfinished: Vec::new(),
            stale_doors: Vec::new(),
        };
        let out = render(&status);
        assert!(
            out.contains("portal secret (previous)  not on this host"),
            "{out}"
        );
        assert!(
            out.contains(
                "  triage    age1old  made 2026-01-01, retired 2026-06-01, 0 wraps: may be destroyed"
            ),
            "{out}"
        );
        assert!(out.contains("Unfinished rotations: none."), "{out}");
    }
}
