//! Storage for Redress: the relational database (SQLite or PostgreSQL, through sea-orm)
//! and the blob store of age ciphertext, in a folder or in PostgreSQL.
//!
//! This crate only ever receives ciphertext and public metadata. It must never be handed
//! plaintext of a report, a receipt, or a secret key. It returns its own records, never
//! sea-orm models: what a column holds is parsed into domain types on the way out.

mod account_keys;
mod accounts;
mod assignments;
mod audit;
mod blobs;
mod case_life;
mod case_list;
mod cases;
mod connection;
mod customers;
mod entity;
mod error;
mod followup;
mod handover;
mod investigators;
mod invitations;
mod kept_forms;
mod links;
mod logins;
mod migration;
mod outbox;
mod queue;
mod receipts;
mod rekey;
mod rotation;
mod sessions;
mod sql;
mod statistics;
mod sweep;
#[cfg(any(test, feature = "test-support"))]
pub mod test_support;
mod uploads;
mod wraps;

pub use account_keys::{KeyChange, KeyChangeKind, RotatedIdentity, WrapToRecover};
pub use accounts::{Account, NewAccount, PasswordSeal, Routing, StoredKdf};
pub use assignments::{NewAssignee, Unassigned};
pub use audit::{AuditFilter, AuditRecord, Audited};
pub use blobs::{Access, BlobReader, BlobStore, Listed, Listing, PendingBlob};
pub use case_life::{CaseEntry, NewCaseEntry, StepRecord};
pub use case_list::{CaseOrder, CasePage, CaseQuery, Cursor, ListedCase, StateFilter};
pub use cases::{NewCase, NewObject, NewReceipt, StoredCase, StoredReceipt};
pub use connection::Store;
pub use customers::{Customer, CustomerChange, NewCustomerChange};
pub use error::StoreError;
pub use followup::{FollowupSession, ReporterMessage};
pub use handover::TriageCommit;
pub use investigators::{Investigator, NewInvestigator};
pub use invitations::Invitation;
pub use logins::Guard;
pub use outbox::{Email, NewEmail};
pub use queue::{Failed, Job, JobSummary, NewJob, backoff_secs};
pub use rekey::{CaseContents, CaseObject, REKEY_KIND, RekeySwap, SealedEntry, Snapshot, Swapped};
pub use rotation::{
    DoorKeys, KeyVersion, Pick, RedoneWrap, Rotation, RotationRequest, RotationState, VersionState,
    WrapToCheck, WrapToRedo,
};
pub use sessions::{NewSession, StoredSession};
pub use sql::Sql;
pub use statistics::CaseFigures;
pub use sweep::{SweepReport, sweep_orphans};
pub use wraps::{NewWrap, StoredWrap, WrapCount};
#[cfg(test)]
mod migration_tests;
#[cfg(test)]
mod queue_tests;
#[cfg(test)]
mod rotation_tests;
#[cfg(test)]
mod tests;
