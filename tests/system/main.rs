//! System tests: the real server over HTTP on port 0, with a real database (SQLite, or
//! PostgreSQL when `REDRESS_TEST_DATABASE_URL` is set) and a real blob folder.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_debug_implementations
)]

mod helpers;
mod staff;

mod admission;
mod api_contract;
mod bad_input;
mod browser;
mod cdp;
mod cli;
mod db_order;
mod deploy;
mod followup;
mod followup_api;
mod followup_receipt;
mod hardening;
mod interop;
mod investigator_keys;
mod key_rotation;
mod outage;
mod portal_access;
mod portal_admin;
mod portal_assignment;
mod portal_audit;
mod portal_browser;
mod portal_caselist;
mod portal_cases;
mod portal_customers;
mod portal_export;
mod portal_keys;
mod portal_lifecycle;
mod portal_login;
mod portal_secrecy;
mod portal_statistics;
mod quiet_logs;
mod rekey;
mod secrecy;
mod secret_rotation;
mod submit;
mod users;
mod worker;
