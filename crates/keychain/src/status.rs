//! What `redress keys status` and the portal's key page show (issue 11), as plain data
//! that each puts in its own words: every long-lived key with its fingerprint, the day
//! it was made and the case-key wraps made to it; the earlier versions of the triage and
//! recovery keys that the registry knows, with the wraps each still has and whether it
//! may be destroyed; the wraps made to a key that is no longer its holder's; the
//! rotations not finished; and the intake processes still sealing to another key.
//!
//! What lies outside the database — the public keys this host publishes, the secrets it
//! keeps in files — is read by the caller and handed in as [`HostKeys`]: this module
//! reads no file. It never holds a secret longer than it takes to fingerprint it: a
//! secret is shown as a keyed hash, which tells two secrets apart and reveals nothing
//! of either.

use std::collections::HashMap;

use redress_domain::{HolderKind, InvestigatorId};
use redress_store::{KeyVersion, Rotation, Store, VersionState};
use zeroize::Zeroizing;

use crate::KeychainError;
use crate::rotation::OrgKey;

/// A secret's fingerprint: `secret:` and sixteen hex digits of a keyed hash.
pub fn secret_fingerprint(secret: &[u8]) -> String {
    let mac = redress_crypto::hmac_sha256(b"redress/key-fingerprint/v1", &[secret]);
    format!("secret:{}", hex::encode(&mac[..8]))
}

/// An organisation public key as this host publishes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublishedKey {
    /// `age1…`
    pub recipient: String,
    /// The day its file was written (when it was made: nothing rewrites it but a
    /// rotation); `None` when the configuration gives the key.
    pub file_day: Option<String>,
}

/// A door's secret: the intake's web secret (in the database) or the portal's (a file).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DoorSecret {
    Web,
    Portal,
}

/// A secret kept in a file on this host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretFile {
    pub secret: DoorSecret,
    /// The one a rotation kept beside the current one, still accepted.
    pub previous: bool,
    /// Its fingerprint; `None` when this host does not have the file.
    pub fingerprint: Option<String>,
    pub file_day: Option<String>,
}

/// What the caller's host holds outside the database.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostKeys {
    /// `None`: neither configured nor in a file on this host.
    pub triage: Option<PublishedKey>,
    pub recovery: Option<PublishedKey>,
    /// The secrets kept in files on this host (the portal's).
    pub secret_files: Vec<SecretFile>,
}

impl HostKeys {
    fn published(&self, key: OrgKey) -> Option<&PublishedKey> {
        match key {
            OrgKey::Triage => self.triage.as_ref(),
            OrgKey::Recovery => self.recovery.as_ref(),
        }
    }
}

/// Which key a line is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyName {
    Org(OrgKey),
    Investigator { email: String },
    Secret { secret: DoorSecret, previous: bool },
}

/// How a key is shown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fingerprint {
    /// A public key (`age1…`) or a secret's keyed hash (`secret:…`).
    Shown(String),
    /// The web secret, before any intake made it.
    NotMadeYet,
    /// This host has neither the key nor a record of it.
    NotOnThisHost,
}

/// When a key was made, as far as anything records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Made {
    /// `YYYY-MM-DD`.
    Day(String),
    /// Unix seconds: an investigator's registration.
    At(i64),
    /// Given in the configuration, with no file or registry entry to date it.
    InConfiguration,
    NotRecorded,
}

/// One current key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyLine {
    pub name: KeyName,
    pub fingerprint: Fingerprint,
    pub made: Made,
    /// Case-key wraps made to it; `None` for a secret, which wraps nothing.
    pub wraps: Option<u64>,
}

/// A version of the triage or recovery key that the registry knows, other than the one
/// shown as current.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EarlierVersion {
    pub key: OrgKey,
    pub fingerprint: String,
    /// `Retiring` while a rotation moves its wraps; `Current` only when this host
    /// publishes another key than the registry's current one.
    pub state: VersionState,
    pub made: String,
    pub retired: Option<String>,
    /// Wraps still made to it.
    pub wraps: u64,
}

impl EarlierVersion {
    /// Retired with no wrap left: nothing needs its identity any more.
    pub fn may_be_destroyed(&self) -> bool {
        self.state == VersionState::Retired && self.wraps == 0
    }
}

/// Whose wraps are left to a key that is no longer theirs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WrapHolder {
    Org(OrgKey),
    /// An investigator, by address; `None` once they are no longer registered.
    Investigator(Option<String>),
}

/// Wraps made to a key that is not their holder's now: what a rotation has left to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeftOver {
    pub holder: WrapHolder,
    pub recipient: String,
    pub wraps: u64,
}

/// A live intake process sealing new cases to another key than the current one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaleDoor {
    pub process: String,
    pub key: OrgKey,
    pub sealing_to: String,
}

/// Everything the status shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyStatus {
    pub keys: Vec<KeyLine>,
    /// Triage versions first, each kind newest first.
    pub earlier: Vec<EarlierVersion>,
    pub left_over: Vec<LeftOver>,
    /// Requested or running, oldest first.
    pub unfinished: Vec<Rotation>,
    pub stale_doors: Vec<StaleDoor>,
}

type WrapKey = (HolderKind, Option<InvestigatorId>, String);

/// The key of `kind` shown as current: the one this host publishes; else the
/// registry's current version; else the one every live intake process seals to.
fn current_key(
    published: Option<&PublishedKey>,
    versions: &[KeyVersion],
    doors: &[String],
) -> Option<(String, Made)> {
    let registered = |fingerprint: &str| {
        versions
            .iter()
            .find(|v| v.fingerprint == fingerprint)
            .map(|v| Made::Day(v.created_day.clone()))
    };
    if let Some(p) = published {
        let made = registered(&p.recipient).unwrap_or_else(|| match &p.file_day {
            Some(day) => Made::Day(day.clone()),
            None => Made::InConfiguration,
        });
        return Some((p.recipient.clone(), made));
    }
    if let Some(v) = versions.iter().find(|v| v.state == VersionState::Current) {
        return Some((v.fingerprint.clone(), Made::Day(v.created_day.clone())));
    }
    let first = doors.first()?;
    doors
        .iter()
        .all(|d| d == first)
        .then(|| (first.clone(), Made::NotRecorded))
}

/// Reads the registry, the wraps, the rotations and the intake heartbeats, and puts
/// them beside what `host` holds.
pub async fn key_status(store: &Store, host: &HostKeys, now: i64) -> Result<KeyStatus, KeychainError> {
    let mut counts: HashMap<WrapKey, u64> = HashMap::new();
    for c in store.wrap_counts().await? {
        *counts.entry((c.holder, c.investigator, c.recipient)).or_default() += c.wraps;
    }
    let doors = store.doors_sealing(now).await?;
    let mut keys = Vec::new();
    let mut earlier = Vec::new();
    let mut stale_doors = Vec::new();
    for org in [OrgKey::Triage, OrgKey::Recovery] {
        let holder = org.holder().kind();
        let versions = store.key_versions(org.as_str()).await?;
        let sealing: Vec<String> = doors
            .iter()
            .map(|d| match org {
                OrgKey::Triage => d.triage.clone(),
                OrgKey::Recovery => d.recovery.clone(),
            })
            .collect();
        let current = current_key(host.published(org), &versions, &sealing);
        let shown = current.as_ref().map(|(recipient, _)| recipient.as_str());
        keys.push(match &current {
            Some((recipient, made)) => KeyLine {
                name: KeyName::Org(org),
                fingerprint: Fingerprint::Shown(recipient.clone()),
                made: made.clone(),
                wraps: Some(counts.remove(&(holder, None, recipient.clone())).unwrap_or(0)),
            },
            None => KeyLine {
                name: KeyName::Org(org),
                fingerprint: Fingerprint::NotOnThisHost,
                made: Made::NotRecorded,
                wraps: None,
            },
        });
        // Their wraps stay among the left-overs too: that list is what is left to do.
        earlier.extend(
            versions
                .into_iter()
                .filter(|v| Some(v.fingerprint.as_str()) != shown)
                .map(|v| EarlierVersion {
                    key: org,
                    wraps: counts
                        .get(&(holder, None, v.fingerprint.clone()))
                        .copied()
                        .unwrap_or(0),
                    fingerprint: v.fingerprint,
                    state: v.state,
                    made: v.created_day,
                    retired: v.retired_day,
                }),
        );
        if let Some(shown) = shown {
            stale_doors.extend(
                doors
                    .iter()
                    .zip(&sealing)
                    .filter(|(_, key)| key.as_str() != shown)
                    .map(|(d, key)| StaleDoor {
                        process: d.process.clone(),
                        key: org,
                        sealing_to: key.clone(),
                    }),
            );
        }
    }
    let investigators = store.investigators().await?;
    for i in &investigators {
        keys.push(KeyLine {
            name: KeyName::Investigator {
                email: i.email.clone(),
            },
            fingerprint: Fingerprint::Shown(i.recipient.clone()),
            made: Made::At(i.created_at),
            wraps: Some(
                counts
                    .remove(&(HolderKind::Investigator, Some(i.id), i.recipient.clone()))
                    .unwrap_or(0),
            ),
        });
    }
    let web_secret = store.setting("web_secret").await?.map(Zeroizing::new);
    keys.push(KeyLine {
        name: KeyName::Secret {
            secret: DoorSecret::Web,
            previous: false,
        },
        fingerprint: web_secret.map_or(Fingerprint::NotMadeYet, |s| {
            Fingerprint::Shown(secret_fingerprint(&s))
        }),
        made: Made::NotRecorded,
        wraps: None,
    });
    // The one before, kept by a rotation and still accepted (ADR 0031).
    if let Some(previous) = store.setting("web_secret_previous").await?.map(Zeroizing::new) {
        keys.push(KeyLine {
            name: KeyName::Secret {
                secret: DoorSecret::Web,
                previous: true,
            },
            fingerprint: Fingerprint::Shown(secret_fingerprint(&previous)),
            made: Made::NotRecorded,
            wraps: None,
        });
    }
    for f in &host.secret_files {
        keys.push(KeyLine {
            name: KeyName::Secret {
                secret: f.secret,
                previous: f.previous,
            },
            fingerprint: f
                .fingerprint
                .clone()
                .map_or(Fingerprint::NotOnThisHost, Fingerprint::Shown),
            made: f.file_day.clone().map_or(Made::NotRecorded, Made::Day),
            wraps: None,
        });
    }
    // What is left was made to keys that are no longer their holder's.
    let email: HashMap<InvestigatorId, &str> =
        investigators.iter().map(|i| (i.id, i.email.as_str())).collect();
    let mut left_over: Vec<LeftOver> = counts
        .into_iter()
        .map(|((kind, investigator, recipient), wraps)| LeftOver {
            holder: match (kind, investigator) {
                (HolderKind::Triage, _) => WrapHolder::Org(OrgKey::Triage),
                (HolderKind::Recovery, _) => WrapHolder::Org(OrgKey::Recovery),
                (_, id) => {
                    WrapHolder::Investigator(id.and_then(|id| email.get(&id).map(|e| (*e).to_owned())))
                }
            },
            recipient,
            wraps,
        })
        .collect();
    left_over.sort_by(|a, b| {
        (holder_order(&a.holder), &a.recipient).cmp(&(holder_order(&b.holder), &b.recipient))
    });
    Ok(KeyStatus {
        keys,
        earlier,
        left_over,
        unfinished: store.unfinished_rotations().await?,
        stale_doors,
    })
}

/// Triage, recovery, then investigators by address.
fn holder_order(h: &WrapHolder) -> (u8, Option<&str>) {
    match h {
        WrapHolder::Org(OrgKey::Triage) => (0, None),
        WrapHolder::Org(OrgKey::Recovery) => (1, None),
        WrapHolder::Investigator(email) => (2, email.as_deref()),
    }
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

    fn version(fingerprint: &str, state: VersionState, day: &str) -> KeyVersion {
        KeyVersion {
            kind: "triage".into(),
            fingerprint: fingerprint.into(),
            state,
            created_day: day.into(),
            retired_day: None,
        }
    }

    #[test]
    fn the_current_key_is_the_hosts_then_the_registrys_then_the_doors() {
        let versions = vec![
            version("age1old", VersionState::Retired, "2026-01-01"),
            version("age1new", VersionState::Current, "2026-06-01"),
        ];
        let file = PublishedKey {
            recipient: "age1new".into(),
            file_day: Some("2026-06-02".into()),
        };
        // The registry dates a key it knows, whatever the file's day.
        assert_eq!(
            current_key(Some(&file), &versions, &[]),
            Some(("age1new".into(), Made::Day("2026-06-01".into())))
        );
        let configured = PublishedKey {
            recipient: "age1cfg".into(),
            file_day: None,
        };
        assert_eq!(
            current_key(Some(&configured), &[], &[]),
            Some(("age1cfg".into(), Made::InConfiguration))
        );
        assert_eq!(
            current_key(None, &versions, &["age1other".into()]),
            Some(("age1new".into(), Made::Day("2026-06-01".into())))
        );
        let doors = ["age1door".to_owned(), "age1door".to_owned()];
        assert_eq!(
            current_key(None, &[], &doors),
            Some(("age1door".into(), Made::NotRecorded))
        );
        // Doors that disagree say nothing for sure.
        assert_eq!(current_key(None, &[], &["a".into(), "b".into()]), None);
        assert_eq!(current_key(None, &[], &[]), None);
    }

    #[test]
    fn only_a_retired_version_with_no_wrap_may_be_destroyed() {
        let v = |state, wraps| EarlierVersion {
            key: OrgKey::Triage,
            fingerprint: "age1old".into(),
            state,
            made: "2026-01-01".into(),
            retired: None,
            wraps,
        };
        assert!(v(VersionState::Retired, 0).may_be_destroyed());
        assert!(!v(VersionState::Retired, 1).may_be_destroyed());
        assert!(!v(VersionState::Retiring, 0).may_be_destroyed());
    }
}
