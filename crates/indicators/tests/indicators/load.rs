use std::collections::BTreeMap;
use std::fs;

use redress_indicators::{IndicatorSet, LoadError, MAX_BUNDLE_BYTES, PatternError, SkipReason};

use crate::{FIXTURE, at, bundle, fixture, hit_names, not_loaded, now, published};

#[test]
fn fixture_loads_what_is_supported_and_says_why_not_the_rest() {
    let (set, report) = IndicatorSet::from_bundles(&[FIXTURE], now()).unwrap();
    assert_eq!(report.bundles, 1);
    assert_eq!(report.indicators, 14);
    assert_eq!(set.len(), 14);

    let names: BTreeMap<&str, &str> = set.iter().map(|i| (i.id(), i.name().unwrap())).collect();
    assert!(names.values().any(|n| *n == "New version"));
    let reasons: Vec<String> = report.skipped.iter().map(|s| s.reason.to_string()).collect();
    assert_eq!(report.skipped.len(), 6, "{reasons:?}");
    assert!(
        report
            .skipped
            .iter()
            .all(|s| s.source == "bundle #0" && s.id.is_some())
    );
    let has = |f: fn(&SkipReason) -> bool| report.skipped.iter().filter(|s| f(&s.reason)).count();
    assert_eq!(has(|r| matches!(r, SkipReason::Revoked)), 1);
    assert_eq!(has(|r| matches!(r, SkipReason::Expired)), 1);
    assert_eq!(has(|r| matches!(r, SkipReason::Superseded)), 1);
    assert_eq!(
        has(|r| matches!(r, SkipReason::UnsupportedPatternType(t) if t == "yara")),
        1
    );
    assert_eq!(
        has(|r| matches!(r, SkipReason::Pattern(PatternError::UnsupportedPath(p)) if p == "file:name")),
        1
    );
    assert_eq!(
        has(|r| matches!(r, SkipReason::Pattern(PatternError::Syntax { .. }))),
        1
    );
}

#[test]
fn newest_version_wins_and_revoked_or_expired_do_not_match() {
    assert_eq!(hit_names("new.example"), ["New version"]);
    assert!(hit_names("old.example revoked.example expired.example broken.example").is_empty());
}

#[test]
fn expiry_is_judged_at_the_given_time() {
    let (set, report) = IndicatorSet::from_bundles(&[FIXTURE], at("2019-06-01T00:00:00Z")).unwrap();
    assert_eq!(report.indicators, 15);
    assert!(set.scan_text("expired.example").indicator_ids().count() == 1);
}

#[test]
fn revoking_the_newest_version_revokes_the_indicator() {
    let id = "indicator--6a1c1d9e-3f0e-4a43-9a55-2f1f3c6f0b11";
    let version = |modified: &str, revoked: bool| {
        serde_json::json!({"type": "indicator", "id": id, "modified": modified, "revoked": revoked,
            "pattern": "[domain-name:value = 'v.example']", "pattern_type": "stix"})
    };
    let doc = serde_json::json!({"type": "bundle", "objects": [
        version("2024-05-01T00:00:00Z", true), version("2024-01-01T00:00:00Z", false)]});
    let (set, report) = IndicatorSet::from_bundles(&[&serde_json::to_vec(&doc).unwrap()], now()).unwrap();
    assert!(set.is_empty());
    assert_eq!(report.skipped.len(), 2);
}

#[test]
fn single_indicator_objects_and_non_stix_json() {
    let single = br#"{"type":"indicator","id":"indicator--1b0e0a2c-7d3f-4b8e-9a61-5c2d4e6f8a90","pattern":"[domain-name:value = 's.example']","pattern_type":"stix"}"#;
    let (set, report) = IndicatorSet::from_bundles(
        &[
            single,
            br#"{"hello": 1}"#,
            b"[1,2]",
            br#"{"type":"bundle","objects":[{"no":"type"}, 3]}"#,
        ],
        now(),
    )
    .unwrap();
    assert_eq!(set.len(), 1);
    assert_eq!(report.bundles, 2);
    let not_loaded: Vec<_> = report
        .not_loaded
        .iter()
        .map(|s| (s.source.as_str(), s.reason.to_string()))
        .collect();
    assert_eq!(
        not_loaded,
        [
            ("bundle #1", "neither a STIX bundle nor an indicator".to_owned()),
            ("bundle #2", "neither a STIX bundle nor an indicator".to_owned()),
        ]
    );
    let skipped: Vec<_> = report.skipped.iter().map(|s| s.to_string()).collect();
    assert_eq!(
        skipped,
        ["bundle #3: not valid JSON", "bundle #3: not valid JSON"]
    );
}

#[test]
fn malformed_indicator_objects_are_skipped_one_by_one() {
    let doc = serde_json::json!({"type": "bundle", "objects": [
        {"type": "indicator", "id": "indicator--a", "pattern": 42},
        {"type": "indicator", "id": "malware--b", "pattern": "[domain-name:value = 'b.example']"},
        {"type": "indicator", "id": "indicator--c"},
        {"type": "indicator", "id": "indicator--d", "pattern": "[domain-name:value = 'd.example']"},
    ]});
    let (set, report) = IndicatorSet::from_bundles(&[&serde_json::to_vec(&doc).unwrap()], now()).unwrap();
    assert_eq!(set.len(), 1);
    let reasons: Vec<&SkipReason> = report.skipped.iter().map(|s| &s.reason).collect();
    assert!(matches!(
        reasons.as_slice(),
        [
            SkipReason::InvalidIndicator(_),
            SkipReason::BadId,
            SkipReason::MissingPattern
        ]
    ));
    assert_eq!(report.skipped[0].id.as_deref(), Some("indicator--a"));
}

#[test]
fn a_folder_with_one_broken_file_still_loads_the_others() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("a-synthetic.json"), FIXTURE).unwrap();
    fs::write(
        dir.path().join("b-broken.json"),
        b"{\"type\": \"bundle\", \"objects\": [",
    )
    .unwrap();
    fs::write(
        dir.path().join("c-extra.JSON"),
        bundle(&["[domain-name:value = 'extra.example']"]),
    )
    .unwrap();
    fs::write(dir.path().join("notes.txt"), b"not a bundle").unwrap();
    fs::create_dir(dir.path().join("sub.json")).unwrap();
    // Sparse: the size check refuses it without reading it.
    let huge = fs::File::create(dir.path().join("d-huge.json")).unwrap();
    huge.set_len(MAX_BUNDLE_BYTES + 1).unwrap();

    let (set, report) = IndicatorSet::load_dir(dir.path(), now()).unwrap();
    assert_eq!(report.bundles, 2);
    assert_eq!(set.len(), 15);
    let files: Vec<(&str, String)> = report
        .not_loaded
        .iter()
        .map(|s| (s.source.as_str(), s.reason.to_string()))
        .collect();
    assert_eq!(
        files,
        [
            ("b-broken.json", "not valid JSON".to_owned()),
            (
                "d-huge.json",
                format!("file is larger than {MAX_BUNDLE_BYTES} bytes")
            ),
            ("notes.txt", "not a .json or .stix2 file".to_owned()),
            ("sub.json", "not a regular file".to_owned()),
        ]
    );
    assert!(report.skipped.iter().all(|s| s.source == "a-synthetic.json"));
    assert_eq!(
        set.scan_text("extra.example and evil.example")
            .indicator_ids()
            .count(),
        2
    );
}

#[test]
fn an_empty_set_finds_nothing() {
    let set = IndicatorSet::default();
    assert!(set.is_empty());
    assert!(set.scan_text("evil.example 192.0.2.10").is_empty());
    let scan = set.scan_file(
        "a.log",
        b"evil.example",
        &redress_indicators::ScanLimits::default(),
    );
    assert!(scan.matches.is_empty());
    assert_eq!(scan.scanned.len(), 1);
}

#[test]
fn a_missing_folder_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = IndicatorSet::load_dir(&dir.path().join("nope"), now()).unwrap_err();
    assert!(matches!(err, LoadError::ReadDir { .. }));
}

#[test]
fn the_set_can_be_shared_between_threads() {
    fn shareable<T: Send + Sync>(_: &T) {}
    shareable(fixture());
    let found = std::thread::scope(|s| {
        let a = s.spawn(|| fixture().scan_text("evil.example").indicator_ids().count());
        let b = s.spawn(|| fixture().scan_text("192.0.2.10").indicator_ids().count());
        a.join().unwrap() + b.join().unwrap()
    });
    assert_eq!(found, 2);
}

#[test]
fn every_folder_entry_not_loaded_is_listed_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    fs::copy(published().join("rdx-spyware.stix2"), dir.path().join("a.STIX2")).unwrap();
    fs::write(dir.path().join("b.json"), b"[1, 2, 3]").unwrap();
    fs::write(dir.path().join("c.json"), br#"{"type": "malware", "name": "x"}"#).unwrap();
    fs::create_dir(dir.path().join("d.stix2")).unwrap();
    fs::create_dir(dir.path().join("e")).unwrap();
    fs::write(dir.path().join(".hidden"), b"").unwrap();
    fs::write(dir.path().join("f.json.bak"), b"{}").unwrap();
    fs::write(dir.path().join("g\u{1b}[2J.json"), b"{").unwrap();
    let huge = fs::File::create(dir.path().join("h.stix2")).unwrap();
    huge.set_len(MAX_BUNDLE_BYTES + 1).unwrap();
    std::os::unix::fs::symlink(dir.path().join("missing"), dir.path().join("i.json")).unwrap();

    let (set, report) = IndicatorSet::load_dir(dir.path(), now()).unwrap();
    assert_eq!(set.len(), 7);
    assert_eq!(
        not_loaded(&report),
        [
            (".hidden", "not a .json or .stix2 file".to_owned()),
            ("b.json", "neither a STIX bundle nor an indicator".to_owned()),
            ("c.json", "neither a STIX bundle nor an indicator".to_owned()),
            ("d.stix2", "not a regular file".to_owned()),
            ("e", "not a regular file".to_owned()),
            ("f.json.bak", "not a .json or .stix2 file".to_owned()),
            ("g\u{fffd}[2J.json", "not valid JSON".to_owned()),
            ("h.stix2", format!("file is larger than {MAX_BUNDLE_BYTES} bytes")),
            ("i.json", "not a regular file".to_owned()),
        ]
    );
    assert_eq!(
        report.not_loaded[0].to_string(),
        ".hidden: not a .json or .stix2 file"
    );
    assert!(matches!(report.not_loaded[6].reason, SkipReason::InvalidJson(_)));
}
