//! Integration tests: one binary, one module per area.

// Helpers outside `#[test]` functions are not covered by `allow-unwrap-in-tests`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod archives;
mod files;
mod load;
mod matching;
mod naming;
mod patterns;
mod synthetic_zip;

use std::path::PathBuf;
use std::sync::OnceLock;

use redress_indicators::{IndicatorSet, LoadReport, Matches};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A folder shaped like a published investigation's: a `.stix2` bundle, a second bundle
/// with more relationships, a `README.md` and a `broken.json`.
pub fn published() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/published")
}

pub const FIXTURE: &[u8] = include_bytes!("../fixtures/synthetic-bundle.json");

/// The payloads whose digests are in the fixture.
pub const PAYLOAD_ONE: &[u8] = b"redress synthetic payload one\n";
pub const PAYLOAD_TWO: &[u8] = b"redress synthetic payload two\n";
pub const PAYLOAD_THREE: &[u8] = b"redress synthetic payload three\n";
pub const PAYLOAD_FOUR: &[u8] = b"redress synthetic payload four\n";

pub fn at(timestamp: &str) -> OffsetDateTime {
    OffsetDateTime::parse(timestamp, &Rfc3339).unwrap()
}

pub fn now() -> OffsetDateTime {
    at("2025-03-01T12:00:00Z")
}

/// The fixture bundle, loaded once for the whole binary.
pub fn fixture() -> &'static IndicatorSet {
    static SET: OnceLock<IndicatorSet> = OnceLock::new();
    SET.get_or_init(|| IndicatorSet::from_bundles(&[FIXTURE], now()).unwrap().0)
}

/// A bundle with one indicator per pattern, named after its position.
pub fn bundle(patterns: &[&str]) -> Vec<u8> {
    let objects: Vec<serde_json::Value> = patterns
        .iter()
        .enumerate()
        .map(|(i, pattern)| {
            serde_json::json!({
                "type": "indicator",
                "spec_version": "2.1",
                "id": format!("indicator--00000000-0000-4000-8000-{i:012}"),
                "name": format!("p{i}"),
                "pattern": pattern,
                "pattern_type": "stix",
                "valid_from": "2024-01-01T00:00:00Z",
            })
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({ "type": "bundle", "id": "bundle--x", "objects": objects }))
        .unwrap()
}

pub fn load(patterns: &[&str]) -> (IndicatorSet, LoadReport) {
    IndicatorSet::from_bundles(&[&bundle(patterns)], now()).unwrap()
}

/// Names of the indicators that matched, sorted.
pub fn names(matches: &Matches) -> Vec<String> {
    let mut names: Vec<String> = matches
        .indicators()
        .map(|i| i.name().unwrap_or("").to_owned())
        .collect();
    names.sort();
    names
}

/// The sources not loaded, with their reasons as shown.
pub fn not_loaded(report: &LoadReport) -> Vec<(&str, String)> {
    report
        .not_loaded
        .iter()
        .map(|n| (n.source.as_str(), n.reason.to_string()))
        .collect()
}

pub fn hit_names(text: &str) -> Vec<String> {
    names(&fixture().scan_text(text))
}
