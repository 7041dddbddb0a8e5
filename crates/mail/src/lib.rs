//! Email notices to Redress investigators, sent over SMTP with lettre.
//!
//! A notice says only that a case needs attention or that a deadline is near or past, and
//! links to the portal. The wording is fixed in this crate ([`render`]); the only variable
//! parts are a validated [`CaseRef`], a date and the configured portal URL, so no report
//! content, reporter detail or free text can reach a message.
//!
//! This crate must never:
//! - log anything (so never a recipient address, a credential or message text);
//! - put the SMTP password in an error (server replies quoting it or the recipient are
//!   blanked out);
//! - send the machine's host name: the EHLO name and the Message-ID domain always come from
//!   [`MailConfig`], and no `User-Agent` or `X-Mailer` header is added;
//! - talk plain text SMTP to anything but a loopback relay (see [`MailConfig`] for how
//!   `smtp_url` maps to implicit TLS, STARTTLS or plain text).
//!
//! Delivery errors are [`SendError::Transient`] (retry later) or [`SendError::Permanent`]
//! (give up). With the `test-sink` feature, [`sink`] is an in-process SMTP server for tests.

#![forbid(unsafe_code)]

mod config;
mod credentials;
mod error;
mod mailer;
mod notice;
#[cfg(feature = "test-sink")]
pub mod sink;

pub use config::MailConfig;
pub use error::{MailError, SendError};
pub use mailer::{Mailer, SentId};
pub use notice::{Notice, Rendered, render};
pub use redress_domain::{CaseRef, CaseRefError};
pub use time::Date;
