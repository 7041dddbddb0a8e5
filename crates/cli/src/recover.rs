//! `redress keys recover-investigator EMAIL --recovery-identity FILE` (ADR 0033): a
//! person who lost their password or authenticator gets their cases back, and no admin
//! reads a case on the way.
//!
//! Run twice. The first run, with `--begin`, stops the account's old password and
//! authenticator (the account is `recovering`: no login, no session, no new cases),
//! leaves every wrap as it is, and prints a recovery link. The person sets up a new
//! password, authenticator and identity through it. The second run opens each of their
//! cases' case key with the recovery identity, in memory only, and wraps it to their new
//! key in place of their old wrap, in batches, one transaction each; run again after an
//! interruption, it carries on with whatever is not made to the new key yet. A run in
//! between, while the link waits, says so (and, with `--new-link` or once the link has
//! expired, replaces it). A run without `--begin` when no recovery is under way (one
//! that finished, run again from the shell's history) changes nothing and says so. The
//! recovery identity is checked against the person's cases before anything is changed,
//! on every run.

use std::path::Path;

use anyhow::Context;
use redress_crypto::{PublicKey, SecretIdentity, new_link_token};
use redress_domain::{AccountState, AuditAction, Holder, InvestigatorId};
use redress_keychain::recovery::{recover_pass, recovery_opens_theirs};
use redress_keychain::rotation::{Progress, Recorder};
use redress_store::{Account, Invitation, KeyChangeKind, Store};
use zeroize::Zeroizing;

use crate::config::Config;

/// The key rotations table's name for an investigator's key, shared with the portal's
/// own replacement: one row per person shows how far either got.
const ROTATION_KIND: &str = "investigator";

/// How a recovery runs.
#[derive(Clone, Debug)]
pub struct RecoverOptions {
    /// Wraps per transaction.
    pub batch: u64,
    /// Hours the recovery link works.
    pub valid_hours: u32,
    /// Begin a recovery if none is under way (`--begin`): without it, nothing is begun.
    pub begin: bool,
    /// Replace a recovery link that has not been used yet.
    pub new_link: bool,
}

/// What a run did.
#[derive(Debug)]
pub enum Recovered {
    /// The first run (or a replaced link): the link to give the person, shown once.
    LinkIssued {
        link: Zeroizing<String>,
        valid_hours: u32,
        /// Their wraps, left as they are until the second run.
        wraps: u64,
    },
    /// The link waits to be used; nothing was changed.
    Waiting { expires_at: i64 },
    /// The second run: every wrap moved and checked.
    Done { rewrapped: u64, cases: u64 },
    /// Wraps are left (the recovery identity did not open them, or a check failed).
    Unfinished { rewrapped: u64, left: Vec<String> },
}

/// Runs one step of the recovery of `email`: see the module's documentation.
pub async fn recover_investigator(
    config: &Config,
    store: &Store,
    email: &str,
    recovery_file: &Path,
    options: &RecoverOptions,
    progress: &dyn Progress,
    clock: &(dyn Fn() -> i64 + Send + Sync),
) -> anyhow::Result<Recovered> {
    let email = email.trim().to_lowercase();
    let account = store
        .account_by_email(&email)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no portal account has the address {email}"))?;
    let investigator = account.investigator_id.ok_or_else(|| {
        anyhow::anyhow!(
            "{email} holds no cases (no routing row): an admin resets their authenticator on their page instead"
        )
    })?;
    let recovery = read_recovery_identity(recovery_file)?;
    check_recovery_identity(config, store, investigator, &recovery).await?;
    let change = store.key_change(account.id).await?;
    let recovering = change.as_ref().filter(|c| c.kind == KeyChangeKind::Recovery);
    let Some(change) = recovering else {
        // Beginning locks the person out until they set up anew: never by a run meant to
        // carry on with a recovery that has finished meanwhile.
        if !options.begin {
            anyhow::bail!(
                "no recovery of {email} is under way. To begin one (their password and authenticator stop \
                 working at once, and a recovery link is printed), run again with --begin. Nothing was changed."
            );
        }
        return start(config, store, &account, investigator, options, clock).await;
    };
    if account.state == AccountState::Recovering {
        let pending = store
            .pending_invitations(clock())
            .await?
            .into_iter()
            .find(|i| i.email == account.email);
        return match pending {
            Some(i) if !options.new_link => Ok(Recovered::Waiting {
                expires_at: i.expires_at,
            }),
            _ => issue_link(config, store, &account, investigator, options, clock, false).await,
        };
    }
    if account.recipient == change.old_recipient {
        anyhow::bail!(
            "{email}'s account holds the key that was lost: it was enabled again without being set up from \
             the recovery link. Run with --new-link for a new link, after disabling it."
        );
    }
    rewrap(store, &account, investigator, &recovery, options, progress, clock).await
}

fn read_recovery_identity(path: &Path) -> anyhow::Result<SecretIdentity> {
    let text =
        Zeroizing::new(std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?);
    SecretIdentity::parse(&text).context("--recovery-identity is not an age identity file")
}

/// Refuses, before anything is changed, a recovery identity that does not open the
/// person's cases (or, if they have none, is not the configured recovery key).
async fn check_recovery_identity(
    config: &Config,
    store: &Store,
    investigator: InvestigatorId,
    recovery: &SecretIdentity,
) -> anyhow::Result<()> {
    let opens = match recovery_opens_theirs(store, investigator, recovery).await? {
        Some(opens) => opens,
        None => {
            let published = crate::keys::intake_keys(config)
                .map_err(anyhow::Error::msg)?
                .recovery;
            recovery.public() == published
        }
    };
    if !opens {
        anyhow::bail!(
            "the identity in --recovery-identity is not the recovery identity: it does not open this person's \
             cases. Nothing was changed."
        );
    }
    Ok(())
}

/// The first run: the account stops taking its old password and authenticator, and a
/// recovery link is issued.
async fn start(
    config: &Config,
    store: &Store,
    account: &Account,
    investigator: InvestigatorId,
    options: &RecoverOptions,
    clock: &(dyn Fn() -> i64 + Send + Sync),
) -> anyhow::Result<Recovered> {
    if account.state == AccountState::Disabled {
        anyhow::bail!(
            "{}'s account is disabled: enable it on their page first if they are to have their cases back",
            account.email
        );
    }
    issue_link(config, store, account, investigator, options, clock, true).await
}

/// A recovery link for the account, replacing any earlier one; with `begin`, the
/// account's recovery starts in the same transaction.
async fn issue_link(
    config: &Config,
    store: &Store,
    account: &Account,
    investigator: InvestigatorId,
    options: &RecoverOptions,
    clock: &(dyn Fn() -> i64 + Send + Sync),
    begin: bool,
) -> anyhow::Result<Recovered> {
    if !(1..=redress_portal::MAX_VALID_HOURS).contains(&options.valid_hours) {
        anyhow::bail!(
            "a recovery link is valid for 1 to {} hours (--valid-hours)",
            redress_portal::MAX_VALID_HOURS
        );
    }
    let routing = store
        .investigators()
        .await?
        .into_iter()
        .find(|i| i.id == investigator);
    let now = clock();
    let (token, token_hash) = new_link_token();
    let invitation = Invitation {
        token_hash,
        email: account.email.clone(),
        role: account.role,
        teams: routing.as_ref().map(|r| r.teams.clone()).unwrap_or_default(),
        capacity: routing.as_ref().map_or(10, |r| r.capacity),
        expires_at: now + i64::from(options.valid_hours) * 3600,
    };
    let target = format!("account:{}", account.id);
    let tx = store.begin_audited().await?;
    tx.add_invitation(&invitation).await?;
    if begin {
        tx.begin_recovery(account.id, now).await?;
    }
    let invitation_target = format!("invitation:{}", &hex::encode(token_hash)[..16]);
    let mut entries = vec![(AuditAction::Invitation, invitation_target.as_str())];
    if begin {
        entries.push((AuditAction::KeyRecoveryStart, target.as_str()));
    }
    for (action, target) in entries {
        let entry = redress_audit::NewEntry {
            actor: "cli",
            action,
            target: Some(target),
            at: now,
            timing: redress_audit::Timing::Exact,
        };
        redress_audit::append(&tx, &entry).await?;
    }
    tx.commit().await?;
    let rotation = store
        .open_rotation(ROTATION_KIND, Some(&investigator.to_string()), "requested", now)
        .await?;
    // No wrap is made to the empty recipient: these are all of their wraps.
    let wraps = store.investigator_wraps_left(investigator, "").await?;
    store
        .record_rotation(
            &rotation.id,
            "requested",
            None,
            0,
            wraps,
            Some("recovery: waiting for the person to set up from the recovery link"),
            now,
        )
        .await?;
    Ok(Recovered::LinkIssued {
        link: Zeroizing::new(format!(
            "{}/setup/{}",
            crate::portal_link_base(config),
            token.as_str()
        )),
        valid_hours: options.valid_hours,
        wraps,
    })
}

/// The second run: every wrap of the person not made to their new key is replaced by
/// the case key, opened with the recovery identity, wrapped to it; then every case
/// assigned to them is checked to hold a wrap made to that key.
async fn rewrap(
    store: &Store,
    account: &Account,
    investigator: InvestigatorId,
    recovery: &SecretIdentity,
    options: &RecoverOptions,
    progress: &dyn Progress,
    clock: &(dyn Fn() -> i64 + Send + Sync),
) -> anyhow::Result<Recovered> {
    let new = PublicKey::parse(&account.recipient).context("the account's key")?;
    let new_recipient = new.to_string();
    let rotation = store
        .open_rotation(ROTATION_KIND, Some(&investigator.to_string()), "running", clock())
        .await?;
    store
        .record_rotation(
            &rotation.id,
            "running",
            Some(&new_recipient),
            0,
            0,
            Some("recovery: re-wrapping"),
            clock(),
        )
        .await?;
    let recorder = Recorder {
        store,
        rotation: &rotation.id,
        clock,
    };
    let pass = recover_pass(
        store,
        investigator,
        recovery,
        &new,
        options.batch.max(1),
        progress,
        Some(&recorder),
    )
    .await?;
    let cases = store.assigned_cases(investigator).await?;
    progress.phase("verifying", cases.len() as u64);
    let mut left = Vec::new();
    for case in &cases {
        let wrap = store.wrap(case.id, Holder::Investigator(investigator)).await?;
        if wrap.is_none_or(|w| w.holder_recipient != new_recipient) {
            left.push(case.case_ref.to_string());
        }
        progress.advance(1);
    }
    for case in &pass.unopened {
        if let Some(c) = store.case_by_id(*case).await? {
            left.push(c.case_ref.to_string());
        }
    }
    left.sort();
    left.dedup();
    let now = clock();
    let finished = left.is_empty() && {
        let tx = store.begin_audited().await?;
        let done = tx.finish_key_change(account.id, KeyChangeKind::Recovery).await?;
        if done {
            let target = format!("account:{}", account.id);
            let entry = redress_audit::NewEntry {
                actor: "cli",
                action: AuditAction::KeyRecover,
                target: Some(&target),
                at: now,
                timing: redress_audit::Timing::Exact,
            };
            redress_audit::append(&tx, &entry).await?;
        }
        tx.commit().await?;
        done
    };
    let (state, note) = if finished {
        (
            "done",
            format!(
                "recovery done: {} wraps moved, {} cases hold a wrap to the new key",
                pass.rewrapped,
                cases.len()
            ),
        )
    } else {
        (
            "failed",
            format!("recovery not finished: {} cases left", left.len()),
        )
    };
    store
        .record_rotation(
            &rotation.id,
            state,
            Some(&new_recipient),
            pass.rewrapped,
            pass.rewrapped,
            Some(&note),
            now,
        )
        .await?;
    if finished {
        Ok(Recovered::Done {
            rewrapped: pass.rewrapped,
            cases: cases.len() as u64,
        })
    } else {
        Ok(Recovered::Unfinished {
            rewrapped: pass.rewrapped,
            left,
        })
    }
}

/// What the command prints; true when nothing is left to do.
pub fn render(email: &str, r: &Recovered) -> (String, bool) {
    match r {
        Recovered::LinkIssued {
            link,
            valid_hours,
            wraps,
        } => (
            format!(
                "Recovery of {email} begun: their old password and authenticator no longer work, their \
                 sessions have ended, and their {wraps} wraps are left as they are.\n\
                 Give them this link (it works once, for {valid_hours} hours, and is not shown again) to set \
                 up a new password, authenticator and key:\n{}\n\
                 Then run this command again, with the recovery identity and without --begin, to wrap their \
                 cases to the new key.\n",
                link.as_str()
            ),
            true,
        ),
        Recovered::Waiting { expires_at } => (
            format!(
                "{email} has not set up from the recovery link yet (it works until {}). Run again once they \
                 have, or with --new-link to replace the link. Nothing was changed.\n",
                redress_web::day(*expires_at)
            ),
            false,
        ),
        Recovered::Done { rewrapped, cases } => (
            format!(
                "Recovered {email}: {rewrapped} wraps re-made to their new key with the recovery identity; all \
                 {cases} cases assigned to them hold a wrap to it. Their lost key opens none of their cases.\n"
            ),
            true,
        ),
        Recovered::Unfinished { rewrapped, left } => {
            let mut out = format!(
                "Recovery of {email} not finished: {rewrapped} wraps re-made, but these cases are not \
                 wrapped to their new key (the recovery identity did not open them). Run the command again \
                 after checking them:\n"
            );
            for case in left {
                out.push_str(&format!("  {case}\n"));
            }
            (out, false)
        }
    }
}
