//! sea-orm entities. Ids are canonical UUID strings and times are Unix seconds, so the
//! same schema means the same thing on SQLite and PostgreSQL.

pub mod account;
pub mod account_key_change;
pub mod assignment;
pub mod audit_entry;
pub mod blob_chunk;
pub mod blob_object;
pub mod case;
pub mod case_entry;
pub mod case_label;
pub mod case_link;
pub mod case_object;
pub mod customer;
pub mod customer_change;
pub mod fingerprint;
pub mod followup_session;
pub mod heartbeat;
pub mod investigator;
pub mod invitation;
pub mod job;
pub mod kept_form;
pub mod key_rotation;
pub mod key_version;
pub mod key_wrap;
pub mod login_budget;
pub mod login_guard;
pub mod outbox;
pub mod product_count;
pub mod receipt;
pub mod recovery_code;
pub mod rekey_case;
pub mod rekey_leftover;
pub mod session;
pub mod setting;
pub mod upload;
