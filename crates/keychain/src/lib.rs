//! The key chain of a case (docs/DESIGN.md, "Keys and what each can open").
//!
//! Every case has two fresh X25519 identities: the **case key**, which internal objects
//! are sealed to and which triage, recovery and each assigned investigator hold, and the
//! **thread key**, which what the reporter may read is sealed to and which the case key
//! and the reporter's receipt-derived key hold. A holder's copy of a secret is a *wrap*:
//! the secret age-encrypted to that holder.
//!
//! This crate is the only code that makes, opens or removes wraps. Intake, worker,
//! portal and tests go through it; nothing else builds a wrap's recipient or reads the
//! `key_wraps` rows. Two removals happen in the store instead, each in the transaction
//! that stores what replaces it, so a case is never left without either: the hand-over
//! (`Store::commit_triage`) deletes the triage wrap as it stores the assignees' wraps,
//! and a new receipt (`Store::replace_receipt`) deletes the reporter's old wrap as it
//! stores the new one. A re-key ([`rekey`], ADR 0032) makes every wrap of a case anew,
//! and the store's swap replaces them all in the transaction that re-seals the case. It
//! never logs, and hands secrets out only as [`SecretIdentity`].
//!
//! It also moves a holder's wraps to a new key ([`rotation`]) and says which keys
//! exist and what each holds ([`status`]), for `redress keys status` and the portal's
//! key page alike.

use redress_crypto::{CryptoError, PublicKey, SecretIdentity, unwrap_identity, wrap_identity};
use redress_domain::{CaseId, Holder, HolderKind, KeyKind};
use redress_store::{NewWrap, Store, StoreError};

pub mod recovery;
pub mod rekey;
pub mod rotation;
pub mod status;

/// Why a key could not be opened or wrapped. None of these carries a secret.
#[derive(Debug, thiserror::Error)]
pub enum KeychainError {
    #[error("the case has no {0} wrap")]
    NoWrap(HolderKind),
    #[error("a {holder} holds the {holds} key, not the {wanted} key")]
    WrongKey {
        holder: HolderKind,
        holds: KeyKind,
        wanted: KeyKind,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error("a re-wrapping thread stopped before it finished")]
    Interrupted,
}

/// The two secrets of a case that is being made (at intake), before any wrap exists.
#[derive(Debug)]
pub struct NewCaseKeys {
    case: SecretIdentity,
    thread: SecretIdentity,
}

/// Who a new case's keys are wrapped to at intake.
#[derive(Clone, Debug)]
pub struct FirstHolders<'a> {
    pub triage: &'a PublicKey,
    pub recovery: &'a PublicKey,
    /// The reporter's receipt-derived key.
    pub reporter: &'a PublicKey,
}

impl NewCaseKeys {
    pub fn generate() -> Self {
        Self {
            case: SecretIdentity::generate(),
            thread: SecretIdentity::generate(),
        }
    }

    /// What internal objects of the case are sealed to.
    pub fn case_public(&self) -> PublicKey {
        self.case.public()
    }

    /// What the reporter may read is sealed to.
    pub fn thread_public(&self) -> PublicKey {
        self.thread.public()
    }

    /// The wraps a case starts with: its case key to triage and recovery, its thread key
    /// to the case key and the reporter. The secrets are dropped with `self`.
    pub fn first_wraps(self, holders: &FirstHolders<'_>) -> Result<Vec<NewWrap>, KeychainError> {
        let case_public = self.case.public();
        Ok(vec![
            wrap(&self.case, Holder::Triage, holders.triage)?,
            wrap(&self.case, Holder::Recovery, holders.recovery)?,
            wrap(&self.thread, Holder::CaseKey, &case_public)?,
            wrap(&self.thread, Holder::Reporter, holders.reporter)?,
        ])
    }
}

/// The one place a wrap is made: `secret` encrypted to `holder`'s key `to`.
fn wrap(secret: &SecretIdentity, holder: Holder, to: &PublicKey) -> Result<NewWrap, KeychainError> {
    Ok(NewWrap {
        holder,
        holder_recipient: to.to_string(),
        ciphertext: wrap_identity(secret, to)?,
    })
}

fn expect_key(holder: Holder, wanted: KeyKind) -> Result<(), KeychainError> {
    if holder.key() == wanted {
        Ok(())
    } else {
        Err(KeychainError::WrongKey {
            holder: holder.kind(),
            holds: holder.key(),
            wanted,
        })
    }
}

async fn unwrap_as(
    store: &Store,
    case: CaseId,
    holder: Holder,
    identity: &SecretIdentity,
) -> Result<SecretIdentity, KeychainError> {
    let stored = store
        .wrap(case, holder)
        .await?
        .ok_or(KeychainError::NoWrap(holder.kind()))?;
    Ok(unwrap_identity(&stored.ciphertext, identity)?)
}

/// Opens a case's case key as `holder` (triage, recovery or an investigator), with that
/// holder's identity.
pub async fn open_case_key(
    store: &Store,
    case: CaseId,
    holder: Holder,
    identity: &SecretIdentity,
) -> Result<SecretIdentity, KeychainError> {
    expect_key(holder, KeyKind::Case)?;
    unwrap_as(store, case, holder, identity).await
}

/// Opens a case's thread key with its case key.
pub async fn open_thread_key(
    store: &Store,
    case: CaseId,
    case_key: &SecretIdentity,
) -> Result<SecretIdentity, KeychainError> {
    unwrap_as(store, case, Holder::CaseKey, case_key).await
}

/// The thread key's wrap to the case key, as stored: for an export, whose reader opens
/// it with the case key (`age -d -i case-key.txt thread-key.age`).
pub async fn thread_key_wrap(store: &Store, case: CaseId) -> Result<Vec<u8>, KeychainError> {
    let stored = store
        .wrap(case, Holder::CaseKey)
        .await?
        .ok_or(KeychainError::NoWrap(HolderKind::CaseKey))?;
    Ok(stored.ciphertext)
}

/// Opens a case's thread key as the reporter, with the receipt-derived identity.
pub async fn open_thread_as_reporter(
    store: &Store,
    case: CaseId,
    reporter: &SecretIdentity,
) -> Result<SecretIdentity, KeychainError> {
    unwrap_as(store, case, Holder::Reporter, reporter).await
}

/// A wrap of an opened case key to a new holder, for the caller to commit (triage
/// commits its assignees' wraps with the hand-over).
pub fn wrap_case_key(
    case_key: &SecretIdentity,
    holder: Holder,
    to: &PublicKey,
) -> Result<NewWrap, KeychainError> {
    expect_key(holder, KeyKind::Case)?;
    wrap(case_key, holder, to)
}

/// A wrap of an opened thread key to the reporter's receipt-derived key, for the
/// caller to commit with the receipt it belongs to (a new receipt, ADR 0029).
pub fn wrap_thread_key_to_reporter(
    thread: &SecretIdentity,
    reporter: &PublicKey,
) -> Result<NewWrap, KeychainError> {
    wrap(thread, Holder::Reporter, reporter)
}

/// Gives `to` a copy of the case key that `from` holds, and stores it.
pub async fn rewrap_case_key(
    store: &Store,
    case: CaseId,
    from: (Holder, &SecretIdentity),
    to: (Holder, &PublicKey),
) -> Result<(), KeychainError> {
    let case_key = open_case_key(store, case, from.0, from.1).await?;
    let new = wrap_case_key(&case_key, to.0, to.1)?;
    store.add_wraps(case, &[new]).await?;
    Ok(())
}

/// Deletes `holder`'s wrap: its identity no longer opens the case. True if it had one.
pub async fn remove_holder(store: &Store, case: CaseId, holder: Holder) -> Result<bool, KeychainError> {
    Ok(store.delete_wrap(case, holder).await?)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests;
