//! One test binary: fixtures are generated here, never copied from elsewhere.

// Fixture helpers are not `#[test]` functions, which clippy.toml already covers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod fixtures;
mod hostile;
mod images;
mod office;
mod pdf;

use redress_scrub::{FileKind, Limits, NotScrubbedReason, Outcome, Removed, scrub};

/// Scrubs with default limits and expects a rendition.
pub fn scrubbed(input: &[u8]) -> (Vec<u8>, Vec<Removed>) {
    match scrub(input, &Limits::default()) {
        Outcome::Scrubbed { bytes, removed, .. } => (bytes, removed),
        other => panic!("expected a rendition, got {other:?}"),
    }
}

/// A rendition must itself be clean: scrubbing it again finds nothing.
pub fn assert_idempotent(rendition: &[u8], kind: FileKind) {
    assert_eq!(scrub(rendition, &Limits::default()), Outcome::Unchanged { kind });
}

pub fn not_scrubbed_reason(outcome: Outcome) -> NotScrubbedReason {
    match outcome {
        Outcome::NotScrubbed { reason, .. } => reason,
        other => panic!("expected no rendition, got {other:?}"),
    }
}
