//! Indicators as published investigations ship them: `.stix2` bundles, indicators without a
//! name, named by the malware or group they `indicates`.

use std::collections::BTreeMap;

use redress_indicators::{IndicatorSet, MAX_LABEL_CHARS, MAX_RELATED, Observable, RelatedKind};
use serde_json::json;

use crate::{not_loaded, now, published};

fn id(n: u32) -> String {
    format!("indicator--5eed0000-0000-4000-8000-{n:012x}")
}

/// Display names by indicator id.
fn display_names(set: &IndicatorSet) -> BTreeMap<String, String> {
    set.iter()
        .map(|i| (i.id().to_owned(), i.display_name().to_owned()))
        .collect()
}

fn load_objects(objects: &[serde_json::Value]) -> IndicatorSet {
    let bundle = serde_json::to_vec(&json!({"type": "bundle", "objects": objects})).unwrap();
    let (set, report) = IndicatorSet::from_bundles(&[&bundle], now()).unwrap();
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    set
}

fn indicator(n: u32, name: Option<&str>) -> serde_json::Value {
    let mut object = json!({"type": "indicator", "id": id(n), "pattern_type": "stix",
        "pattern": format!("[domain-name:value = 'd{n}.example']")});
    if let Some(name) = name {
        object["name"] = json!(name);
    }
    object
}

fn indicates(n: u32, indicator: u32, target: &str) -> serde_json::Value {
    json!({"type": "relationship", "id": format!("relationship--{n}"),
        "relationship_type": "indicates", "source_ref": id(indicator), "target_ref": target})
}

#[test]
fn a_folder_of_published_bundles_names_its_indicators() {
    let (set, report) = IndicatorSet::load_dir(&published(), now()).unwrap();

    assert_eq!(report.bundles, 2, "the .stix2 bundle and relationships.json");
    assert_eq!(set.len(), 7);
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    assert_eq!(
        not_loaded(&report),
        [
            ("README.md", "not a .json or .stix2 file".to_owned()),
            ("broken.json", "not valid JSON".to_owned()),
        ]
    );

    let names = display_names(&set);
    let expected = [
        (id(10), "Rdx Spyware"),
        // Cleaned: the line break became a space, the RIGHT-TO-LEFT OVERRIDE is gone.
        (id(11), "Example Group"),
        // Malware before intrusion set.
        (id(12), "Rdx Spyware, Example Group"),
        // Its own name wins.
        (id(13), "Exploit delivery page"),
        // Related to nothing that was loaded: a revoked relationship, a revoked tool, a
        // relationship to an object no bundle has.
        (id(14), id(14).as_str()),
        (id(15), id(15).as_str()),
        // A campaign and the relationship to it are in the other file; `related-to` is not
        // `indicates`.
        (id(16), "Operation Synthetic"),
    ]
    .map(|(id, name)| (id.clone(), name.to_owned()));
    assert_eq!(names, BTreeMap::from(expected));

    let email = set.iter().find(|i| i.id() == id(12)).unwrap();
    assert_eq!(email.name(), None);
    let related: Vec<(RelatedKind, &str)> = email.indicates().iter().map(|r| (r.kind(), r.name())).collect();
    assert_eq!(
        related,
        [
            (RelatedKind::Malware, "Rdx Spyware"),
            (RelatedKind::IntrusionSet, "Example Group")
        ]
    );
    assert_eq!(RelatedKind::IntrusionSet.stix_type(), "intrusion-set");
    let url = set.iter().find(|i| i.id() == id(13)).unwrap();
    assert_eq!(url.name(), Some("Exploit delivery page"));
    assert_eq!(url.indicates().len(), 1);
}

#[test]
fn a_match_says_what_matched_and_what_it_indicates() {
    let (set, _) = IndicatorSet::load_dir(&published(), now()).unwrap();
    let matches = set.scan_text(
        "Got an invite from invite@rdx-spyware.example, then traffic to 198.51.100.23 and \
         c2.rdx-spyware.example; rdxhelperd running.",
    );
    let seen: Vec<(&str, Observable, &str)> = matches
        .iter()
        .map(|m| (m.indicator.display_name(), m.observable, m.value))
        .collect();
    assert_eq!(
        seen,
        [
            ("Rdx Spyware", Observable::DomainName, "c2.rdx-spyware.example"),
            ("Example Group", Observable::Ipv4Addr, "198.51.100.23"),
            (
                "Rdx Spyware, Example Group",
                Observable::EmailAddr,
                "invite@rdx-spyware.example"
            ),
            (id(14).as_str(), Observable::ProcessName, "rdxhelperd"),
        ]
    );
}

#[test]
fn newer_versions_and_revocations_decide_the_names() {
    let malware = |name: &str, modified: &str, revoked: bool| {
        json!({"type": "malware", "id": "malware--m", "name": name, "modified": modified,
            "revoked": revoked})
    };
    let relationship = |modified: &str, revoked: bool| {
        json!({"type": "relationship", "id": "relationship--r", "relationship_type": "indicates",
            "source_ref": id(1), "target_ref": "malware--m", "modified": modified,
            "revoked": revoked})
    };
    let t1 = "2024-01-01T00:00:00Z";
    let t2 = "2024-02-01T00:00:00Z";
    let name = |objects: &[serde_json::Value]| {
        load_objects(objects)
            .iter()
            .next()
            .unwrap()
            .display_name()
            .to_owned()
    };

    assert_eq!(
        name(&[
            malware("Renamed", t2, false),
            indicator(1, None),
            malware("Old name", t1, false),
            relationship(t1, false)
        ]),
        "Renamed"
    );
    assert_eq!(
        name(&[
            malware("Gone", t2, true),
            malware("Gone", t1, false),
            indicator(1, None),
            relationship(t1, false)
        ]),
        id(1)
    );
    assert_eq!(
        name(&[
            malware("Kept", t1, false),
            indicator(1, None),
            relationship(t1, false),
            relationship(t2, true)
        ]),
        id(1)
    );
    // A relationship of another type, or from something that is not an indicator, is not
    // a name for it.
    let mut related_to = relationship(t1, false);
    related_to["relationship_type"] = json!("related-to");
    assert_eq!(
        name(&[malware("Kept", t1, false), indicator(1, None), related_to]),
        id(1)
    );
}

#[test]
fn names_from_a_bundle_are_bounded() {
    let long = format!("Very\u{7}\n{}", "long ".repeat(1_000));
    let mut objects = vec![
        indicator(1, Some("\u{202E}  Own\r\nname ")),
        indicator(2, None),
        indicator(3, None),
    ];
    for i in 0..50 {
        objects.push(json!({"type": "tool", "id": format!("tool--{i}"),
            "name": format!("{i:02} {long}")}));
        objects.push(indicates(i, 2, &format!("tool--{i}")));
    }
    // Two objects of the same name, and one of another kind: the name is shown once.
    for (i, kind) in [(100, "malware"), (101, "malware"), (102, "threat-actor")] {
        objects.push(json!({"type": kind, "id": format!("{kind}--{i}"), "name": "Twin"}));
        objects.push(indicates(i, 3, &format!("{kind}--{i}")));
    }
    let set = load_objects(&objects);
    let [own, many, twins] = [1, 2, 3].map(|n| set.iter().find(|i| i.id() == id(n)).unwrap());

    assert_eq!(own.name(), Some("Own name"));
    assert_eq!(own.display_name(), "Own name");

    assert_eq!(many.indicates().len(), MAX_RELATED);
    for (i, related) in many.indicates().iter().enumerate() {
        assert_eq!(related.name().chars().count(), MAX_LABEL_CHARS);
        assert!(related.name().starts_with(&format!("{i:02} Very long long")));
        assert!(related.name().ends_with("long…"));
    }
    let names: Vec<&str> = many.indicates().iter().map(|r| r.name()).collect();
    assert_eq!(many.display_name(), names.join(", "));

    let kinds: Vec<RelatedKind> = twins.indicates().iter().map(|r| r.kind()).collect();
    assert_eq!(kinds, [RelatedKind::Malware, RelatedKind::ThreatActor]);
    assert_eq!(twins.display_name(), "Twin");
}

#[test]
fn malformed_related_objects_are_skipped_one_by_one() {
    let bundle = serde_json::to_vec(&json!({"type": "bundle", "objects": [
        {"type": "relationship", "id": "relationship--bad", "relationship_type": "indicates"},
        {"type": "malware", "id": "malware--bad", "name": 42},
        indicator(1, Some("Fine")),
    ]}))
    .unwrap();
    let (set, report) = IndicatorSet::from_bundles(&[&bundle], now()).unwrap();
    assert_eq!(set.len(), 1);
    let skipped: Vec<(Option<&str>, String)> = report
        .skipped
        .iter()
        .map(|s| (s.id.as_deref(), s.reason.to_string()))
        .collect();
    assert_eq!(
        skipped,
        [
            (
                Some("relationship--bad"),
                "malformed relationship object".to_owned()
            ),
            (Some("malware--bad"), "malformed malware object".to_owned()),
        ]
    );
}
