//! `redress keys …`. `status`: every long-lived key — the triage and recovery keys, each
//! investigator's, the web and portal secrets — with its fingerprint, when it was made,
//! and how many case-key wraps are made to it; and the wraps made to a key that is no
//! longer its holder's (what a rotation has left to do).
//!
//! Every wrap records the public key it was made to (`key_wraps.holder_recipient`), so
//! a wrap to a retired key is one whose recipient is not its holder's current key. A
//! secret's fingerprint is a keyed hash of it: it tells two secrets apart and reveals
//! nothing of either.
//!
//! `revoke EMAIL`: an investigator's key is revoked by deleting every wrap they hold
//! (their identity then opens nothing), with their assignments; their account is
//! disabled, which ends its sessions; one audited transaction. With `--rekey`, the
//! cases they held are written down in that transaction and re-keyed (`crate::rekey`).

use std::collections::HashMap;
use std::path::Path;

use clap::Subcommand;
use redress_domain::{HolderKind, InvestigatorId};
use redress_store::Store;
use redress_web::day;

use crate::config::Config;

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
    /// Makes a new key and moves every wrap to it (resumable: run it again after an
    /// interruption).
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
        }
    }
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

/// One key as the status lists it.
#[derive(Debug, PartialEq, Eq)]
pub struct KeyLine {
    pub key: String,
    pub fingerprint: String,
    pub created: String,
    /// Case-key wraps made to it; none for a secret that wraps nothing.
    pub wraps: Option<u64>,
}

/// Wraps made to a key that is not their holder's now.
#[derive(Debug, PartialEq, Eq)]
pub struct Retired {
    pub holder: String,
    pub recipient: String,
    pub wraps: u64,
}

/// What `keys status` says.
#[derive(Debug)]
pub struct Status {
    pub keys: Vec<KeyLine>,
    pub retired: Vec<Retired>,
}

/// The day a file was last written: when a key file was made, since nothing rewrites
/// one.
fn file_day(path: &Path) -> Option<String> {
    let modified = std::fs::metadata(path).ok()?.modified().ok()?;
    let secs = modified.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
    Some(day(i64::try_from(secs).ok()?))
}

/// A secret's fingerprint: a keyed hash, sixteen hex digits.
fn secret_fingerprint(secret: &[u8]) -> String {
    let mac = redress_crypto::hmac_sha256(b"redress/key-fingerprint/v1", &[secret]);
    format!("secret:{}", hex::encode(&mac[..8]))
}

/// Reads every key this host can see and counts the wraps.
pub async fn status(config: &Config, store: &Store) -> anyhow::Result<Status> {
    let mut counts: HashMap<(HolderKind, Option<InvestigatorId>, String), u64> = HashMap::new();
    for c in store.wrap_counts().await? {
        *counts.entry((c.holder, c.investigator, c.recipient)).or_default() += c.wraps;
    }
    let mut take = |holder: HolderKind, investigator: Option<InvestigatorId>, recipient: &str| {
        counts
            .remove(&(holder, investigator, recipient.to_owned()))
            .unwrap_or(0)
    };
    let public = crate::keys::intake_keys(config).map_err(anyhow::Error::msg)?;
    let from_config = "given in the configuration".to_owned();
    let mut keys = Vec::new();
    for (name, kind, key, file) in [
        ("triage", HolderKind::Triage, &public.triage, "triage.pub"),
        ("recovery", HolderKind::Recovery, &public.recovery, "recovery.pub"),
    ] {
        let recipient = key.to_string();
        keys.push(KeyLine {
            key: name.to_owned(),
            created: file_day(&config.keys_dir().join(file)).unwrap_or_else(|| from_config.clone()),
            wraps: Some(take(kind, None, &recipient)),
            fingerprint: recipient,
        });
    }
    let investigators = store.investigators().await?;
    for i in &investigators {
        keys.push(KeyLine {
            key: format!("investigator {}", i.email),
            fingerprint: i.recipient.clone(),
            created: day(i.created_at),
            wraps: Some(take(HolderKind::Investigator, Some(i.id), &i.recipient)),
        });
    }
    keys.push(KeyLine {
        key: "web secret".to_owned(),
        fingerprint: store
            .setting("web_secret")
            .await?
            .map_or_else(|| "not made yet".to_owned(), |s| secret_fingerprint(&s)),
        created: "not recorded".to_owned(),
        wraps: None,
    });
    let portal_secret = config.portal_secret_path();
    keys.push(KeyLine {
        key: "portal secret".to_owned(),
        fingerprint: match std::fs::read_to_string(&portal_secret) {
            Ok(text) => secret_fingerprint(text.trim().as_bytes()),
            Err(_) => "not on this host".to_owned(),
        },
        created: file_day(&portal_secret).unwrap_or_else(|| "-".to_owned()),
        wraps: None,
    });
    // What is left was made to keys that are no longer their holder's.
    let email: HashMap<InvestigatorId, &str> =
        investigators.iter().map(|i| (i.id, i.email.as_str())).collect();
    let mut retired: Vec<Retired> = counts
        .into_iter()
        .map(|((kind, investigator, recipient), wraps)| Retired {
            holder: match investigator {
                Some(id) => format!(
                    "investigator {}",
                    email.get(&id).copied().unwrap_or("(no longer registered)")
                ),
                None => kind.as_str().to_owned(),
            },
            recipient,
            wraps,
        })
        .collect();
    retired.sort_by(|a, b| (&a.holder, &a.recipient).cmp(&(&b.holder, &b.recipient)));
    Ok(Status { keys, retired })
}

/// The status as a table, then the wraps to retired keys.
pub fn render(s: &Status) -> String {
    let width = s
        .keys
        .iter()
        .map(|k| k.key.chars().count())
        .max()
        .unwrap_or(0)
        .max(3);
    let print_width = s
        .keys
        .iter()
        .map(|k| k.fingerprint.len())
        .max()
        .unwrap_or(0)
        .max(11);
    let mut out = format!(
        "{:width$}  {:print_width$}  {:10}  WRAPS\n",
        "KEY", "FINGERPRINT", "CREATED"
    );
    for k in &s.keys {
        out.push_str(&format!(
            "{:width$}  {:print_width$}  {:10}  {}\n",
            k.key,
            k.fingerprint,
            k.created,
            k.wraps.map_or_else(|| "-".to_owned(), |n| n.to_string())
        ));
    }
    if s.retired.is_empty() {
        out.push_str("\nWraps to retired keys: none.\n");
    } else {
        out.push_str("\nWraps to retired keys (a rotation has these left to do):\n");
        for r in &s.retired {
            out.push_str(&format!("  {}  {}  {} wraps\n", r.holder, r.recipient, r.wraps));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_tell_secrets_apart_and_show_none() {
        let a = secret_fingerprint(b"0123456789abcdef0123456789abcdef");
        let b = secret_fingerprint(b"0123456789abcdef0123456789abcdeg");
        assert_ne!(a, b);
        assert!(a.starts_with("secret:") && a.len() == "secret:".len() + 16);
        assert!(!a.contains("0123456789abcdef"));
    }
}
