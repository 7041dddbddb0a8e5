//! Integration tests: one binary, one module per concern. Everything runs against the
//! in-process SMTP sink except `aiosmtpd`, which uses Debian's python3-aiosmtpd if present.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod aiosmtpd;
mod config;
mod delivery;
mod failures;
mod helpers;
mod sink;
