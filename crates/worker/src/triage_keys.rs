//! The triage identities a worker holds: the current one and, while a rotation moves
//! wraps away from it, the one being retired (ADR 0030). A rotation can make a new
//! identity while this process runs, so when a case's triage wrap is made to a key none
//! of the held identities has, they are read again from their files.

use std::sync::RwLock;

use redress_crypto::SecretIdentity;

/// Reads the identities from where they are kept (files checked for their permissions).
pub type LoadIdentities = Box<dyn Fn() -> Result<Vec<SecretIdentity>, String> + Send + Sync>;

/// The triage identities, each with its public key worked out once.
pub struct TriageKeys {
    held: RwLock<Vec<(String, SecretIdentity)>>,
    load: Option<LoadIdentities>,
}

impl std::fmt::Debug for TriageKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TriageKeys").finish_non_exhaustive()
    }
}

fn with_publics(ids: Vec<SecretIdentity>) -> Vec<(String, SecretIdentity)> {
    ids.into_iter().map(|id| (id.public().to_string(), id)).collect()
}

impl TriageKeys {
    /// Identities that are never read again (tests, or a worker given its key).
    pub fn fixed(ids: Vec<SecretIdentity>) -> Self {
        Self {
            held: RwLock::new(with_publics(ids)),
            load: None,
        }
    }

    /// Identities read by `load` now, and again whenever a wrap needs one not held.
    pub fn reloading(load: LoadIdentities) -> Result<Self, String> {
        let ids = load()?;
        Ok(Self {
            held: RwLock::new(with_publics(ids)),
            load: Some(load),
        })
    }

    /// The identity to open a wrap made to `recipient` with first, then every other
    /// held one (the recorded recipient is a hint, not trusted). Reads the files again
    /// if none is `recipient`'s.
    pub fn to_try(&self, recipient: &str) -> Vec<SecretIdentity> {
        let has = |held: &[(String, SecretIdentity)]| held.iter().any(|(p, _)| p == recipient);
        let known = has(&self
            .held
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner));
        if !known
            && let Some(load) = &self.load
            && let Ok(ids) = load()
        {
            *self
                .held
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = with_publics(ids);
        }
        let held = self
            .held
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let first = held.iter().filter(|(p, _)| p == recipient);
        let rest = held.iter().filter(|(p, _)| p != recipient);
        first.chain(rest).map(|(_, id)| id.clone()).collect()
    }
}
