//! sea-orm entities. Ids are canonical UUID strings and times are Unix seconds, so the
//! same schema means the same thing on SQLite and PostgreSQL.

pub mod assignment;
pub mod audit_entry;
pub mod blob_chunk;
pub mod blob_object;
pub mod case;
pub mod case_link;
pub mod case_object;
pub mod fingerprint;
pub mod heartbeat;
pub mod investigator;
pub mod invitation;
pub mod job;
pub mod key_wrap;
pub mod outbox;
pub mod receipt;
pub mod setting;
pub mod upload;
