//! What Redress writes to its log, and when.
//!
//! A log is a record of times. A line written when a report arrives, or when the work it
//! causes runs (its triage, its email), dates that report to the second for whoever
//! reads the log: journald, a backup, a log shipper. So:
//!
//! - nothing on the path of a report or of its jobs writes a line. What happened there
//!   is *counted* ([`count`], [`note`]), and the counts are written once an hour, at the
//!   hour ([`spawn_hourly_report`]); a warning that needs an operator ([`warn_hourly`])
//!   is written then too, at most once an hour;
//! - the lines carry the hour, not the second ([`init`]);
//! - libraries that write a line per connection, request or query are held to
//!   warnings whatever level is asked for, unless a directive names them;
//! - a panic's message and location are withheld (a parser's panic can quote the file
//!   it was reading): panics are counted.
//!
//! What this crate must never be given: an id or reference of a case, job or object,
//! report content, a receipt, an address, a user agent. Counted event names are fixed
//! strings; notes are error texts that the caller guarantees hold none of these.

mod counts;
mod format;

pub use counts::{Counts, Event, add, cause_chain, count, note, spawn_hourly_report, take, warn_hourly};
pub use format::{init, redress_directives};
