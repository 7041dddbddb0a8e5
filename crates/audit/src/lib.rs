//! The audit log (ADR 0020): append-only, each entry carrying the SHA-256 of the one
//! before, so that changing, removing, inserting or reordering an entry breaks the
//! chain at that entry, and cutting entries from the end shows against a head hash
//! recorded elsewhere (`redress audit head`, then `verify --since`).
//!
//! An entry holds an actor, an action, a target and a time; never content, never an IP
//! address or user agent. What a reporter's action causes keeps the hour only.
//!
//! The hash of entry `seq` is SHA-256 over, in order: the domain tag
//! `redress-audit-v1\0`, `seq` and `at` as 8-byte big-endian integers, `actor` and
//! `action` each as a 4-byte big-endian length and its UTF-8 bytes, `target` as a 0 byte
//! when absent or a 1 byte and length-prefixed bytes when present, and the previous
//! entry's hash (32 bytes; zeros before the first entry). Hashes are stored in
//! lowercase hex. With this, the chain can be checked without Redress.

use redress_domain::{AuditAction, hour_floor};
use redress_store::{AuditRecord, Audited, Store, StoreError};
use sha2::{Digest, Sha256};

const DOMAIN: &[u8] = b"redress-audit-v1\0";

/// The previous hash of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Entries read per query while verifying.
const PAGE: u64 = 1000;

/// How precisely an entry's time is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timing {
    /// The second: what people do in the portal or at the command line.
    Exact,
    /// The hour: what a reporter's action causes, which must not date the report.
    Hour,
}

/// An entry to append.
#[derive(Clone, Debug)]
pub struct NewEntry<'a> {
    /// Who acted: `account:<id>`, `cli`, `system`.
    pub actor: &'a str,
    pub action: AuditAction,
    /// What it was done to: `account:<id>`, `case:<reference>`, `invitation:<hash
    /// prefix>`, `page:<route>`, or nothing.
    pub target: Option<&'a str>,
    /// Unix seconds.
    pub at: i64,
    pub timing: Timing,
}

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("an audit actor or target must be one line of text (got {0:?})")]
    BadField(String),
    /// The chain does not hold at entry `seq`.
    #[error("audit entry {seq}: {reason}")]
    Broken { seq: i64, reason: &'static str },
    /// `verify --since HASH` found no entry with that hash.
    #[error("no audit entry has the hash {0}: entries up to it were changed or cut from the end")]
    SinceNotFound(String),
}

/// The hash of an entry, lowercase hex.
pub fn entry_hash(
    seq: i64,
    at: i64,
    actor: &str,
    action: &str,
    target: Option<&str>,
    prev_hash: &str,
) -> Option<String> {
    let prev: [u8; 32] = hex::decode(prev_hash).ok()?.try_into().ok()?;
    let mut h = Sha256::new();
    h.update(DOMAIN);
    h.update(seq.to_be_bytes());
    h.update(at.to_be_bytes());
    for field in [actor, action] {
        h.update(u32::try_from(field.len()).ok()?.to_be_bytes());
        h.update(field.as_bytes());
    }
    match target {
        None => h.update([0]),
        Some(t) => {
            h.update([1]);
            h.update(u32::try_from(t.len()).ok()?.to_be_bytes());
            h.update(t.as_bytes());
        }
    }
    h.update(prev);
    Some(hex::encode(h.finalize()))
}

fn check_field(value: &str) -> Result<(), AuditError> {
    if value.is_empty() || value.len() > 200 || value.chars().any(char::is_control) {
        return Err(AuditError::BadField(value.chars().take(40).collect()));
    }
    Ok(())
}

/// Appends an entry after the current head, in `tx`: it is written with whatever else
/// `tx` writes, or not at all. `tx` holds the log's lock, so no other process appends
/// meanwhile.
pub async fn append(tx: &Audited, entry: &NewEntry<'_>) -> Result<AuditRecord, AuditError> {
    check_field(entry.actor)?;
    if let Some(target) = entry.target {
        check_field(target)?;
    }
    let at = match entry.timing {
        Timing::Exact => entry.at,
        Timing::Hour => hour_floor(entry.at),
    };
    let head = tx.audit_head().await?;
    let (seq, prev_hash) = match &head {
        Some(h) => (h.seq + 1, h.hash.clone()),
        None => (1, GENESIS.to_owned()),
    };
    let action = entry.action.as_str();
    let hash =
        entry_hash(seq, at, entry.actor, action, entry.target, &prev_hash).ok_or(AuditError::Broken {
            seq: seq - 1,
            reason: "its hash is not 32 bytes of hex",
        })?;
    let record = AuditRecord {
        seq,
        at,
        actor: entry.actor.to_owned(),
        action: action.to_owned(),
        target: entry.target.map(str::to_owned),
        prev_hash,
        hash,
    };
    tx.insert_audit(&record).await?;
    Ok(record)
}

/// Appends one entry on its own: what it records was done elsewhere (a page view, a
/// refusal), so it is the only thing written.
pub async fn record(store: &Store, entry: &NewEntry<'_>) -> Result<AuditRecord, AuditError> {
    let tx = store.begin_audited().await?;
    let record = append(&tx, entry).await?;
    tx.commit().await?;
    Ok(record)
}

/// The hash of the last entry, to record elsewhere; `None` while the log is empty.
pub async fn head(store: &Store) -> Result<Option<String>, AuditError> {
    Ok(store.audit_head().await?.map(|h| h.hash))
}

/// What a verification found.
#[derive(Debug, PartialEq, Eq)]
pub struct Verified {
    pub entries: i64,
    pub head: Option<String>,
}

/// Checks the whole chain: entries numbered from 1 without a gap, each linked to the
/// one before and hashing to what it says. With `since`, also that an entry with that
/// hash is still in the chain (a head recorded earlier: nothing up to it was changed
/// or cut).
pub async fn verify(store: &Store, since: Option<&str>) -> Result<Verified, AuditError> {
    let since = since.map(|s| s.trim().to_ascii_lowercase());
    let mut seen_since = since.is_none();
    let mut expected_seq = 1;
    let mut prev = GENESIS.to_owned();
    loop {
        let page = store.audit_after(expected_seq - 1, PAGE).await?;
        let last_page = (page.len() as u64) < PAGE;
        for e in page {
            if e.seq != expected_seq {
                return Err(AuditError::Broken {
                    seq: expected_seq,
                    reason: "missing: entries were removed or inserted here",
                });
            }
            if e.prev_hash != prev {
                return Err(AuditError::Broken {
                    seq: e.seq,
                    reason: "does not follow the entry before it (removed, inserted or reordered)",
                });
            }
            let hash = entry_hash(
                e.seq,
                e.at,
                &e.actor,
                &e.action,
                e.target.as_deref(),
                &e.prev_hash,
            );
            if hash.as_deref() != Some(e.hash.as_str()) {
                return Err(AuditError::Broken {
                    seq: e.seq,
                    reason: "its content does not match its hash (changed)",
                });
            }
            if since.as_deref() == Some(e.hash.as_str()) {
                seen_since = true;
            }
            prev = e.hash;
            expected_seq += 1;
        }
        if last_page {
            break;
        }
    }
    if !seen_since {
        return Err(AuditError::SinceNotFound(since.unwrap_or_default()));
    }
    let entries = expected_seq - 1;
    Ok(Verified {
        entries,
        head: (entries > 0).then_some(prev),
    })
}

#[cfg(test)]
mod tests;
