//! Indicators of compromise for the triage worker: STIX 2.1 indicators loaded from bundles,
//! and a scanner that tells which of them appear in a report's text and evidence files.
//!
//! Supported observables: `domain-name:value`, `url:value`, `ipv4-addr:value`,
//! `email-addr:value`, `file:hashes.{MD5,SHA-1,SHA-256,SHA-512}` and `process:name`, with
//! `=`, `IN`, simple `LIKE` and (for IPv4) `ISSUBSET`. An indicator using anything else is
//! left out and listed in the [`LoadReport`]; one bad indicator or file never fails a load.
//!
//! Published bundles (`.json` or `.stix2`) rarely name their indicators: they relate each
//! one to the malware, tool, campaign, intrusion set or threat actor it `indicates`. An
//! [`Indicator`] keeps those names ([`Indicator::indicates`]) and is shown by
//! [`Indicator::display_name`]: its own name, else theirs, else its id. Names are bundle
//! text, so they are kept short and plain.
//!
//! How values match text:
//! - defanged notation (`evil[.]example`, `hxxp://`, `[@]`) is undone first;
//! - domains ignore case and match the name or any subdomain of it, on label boundaries;
//! - IPv4 addresses match whole dotted quads, and networks match the addresses inside;
//! - URLs ignore case in scheme and host, compare the path exactly, and match as prefixes;
//! - email addresses ignore case; hashes are whole hex tokens of the digest's length;
//! - process names are case-sensitive (as on Linux, Android and iOS) whole tokens.
//!
//! This crate never logs, never writes files and never reads the clock: the caller passes
//! the time, and everything it found or skipped is returned as data. Report content is
//! never put in an error or a skip reason.

#![forbid(unsafe_code)]

mod file;
mod label;
mod matches;
mod observable;
mod pattern;
mod set;
mod stix;
mod text;
mod zip_directory;

pub use file::{FileScan, PartPath, PartSkip, RATIO_GRACE_BYTES, ScanLimits, ScannedPart, SkippedPart};
pub use label::MAX_LABEL_CHARS;
pub use matches::{Match, Matches};
pub use observable::{HashAlgo, Observable};
pub use pattern::{MAX_NESTING, MAX_PATTERN_BYTES, PatternError};
pub use set::{Indicator, IndicatorSet, MAX_RELATED, Related, RelatedKind};
pub use stix::{BUNDLE_EXTENSIONS, LoadError, LoadReport, MAX_BUNDLE_BYTES, NotLoaded, SkipReason, Skipped};
