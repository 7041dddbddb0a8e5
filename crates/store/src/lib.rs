//! Storage for Redress: the relational database (SQLite or PostgreSQL, through sea-orm)
//! and the blob store of age ciphertext on disk.
//!
//! This crate only ever receives ciphertext and public metadata. It must never be handed
//! plaintext of a report, a receipt, or a secret key.

mod blobs;
mod db;
pub mod entity;
mod error;
mod migration;
mod queue;
mod sweep;
#[cfg(any(test, feature = "test-support"))]
pub mod test_support;
mod triage;

pub use blobs::{BlobStore, PendingBlob};
pub use db::{HolderKind, KeyKind, NewCase, NewObject, NewReceipt, NewWrap, SealedTo, Store, StoredCase};
pub use error::StoreError;
pub use queue::{Failed, Job, JobSummary, NewJob, backoff_secs};
pub use sweep::{SweepReport, sweep_orphans};
pub use triage::{Email, Investigator, NewEmail, NewInvestigator, TriageCommit};
#[cfg(test)]
mod tests;
