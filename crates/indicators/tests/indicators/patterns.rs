use redress_indicators::{MAX_NESTING, PatternError, SkipReason};

use crate::{load, names};

const SHA256: &str = "d4862aa53ea56dfdb370f54fdce2b93973bb54163b371c27c9bf36861c4649bb";

fn pattern_error(pattern: &str) -> PatternError {
    let (set, report) = load(&[pattern]);
    assert!(set.is_empty(), "{pattern} should not load");
    match report.skipped.into_iter().next().map(|s| s.reason) {
        Some(SkipReason::Pattern(e)) => e,
        other => panic!("{pattern}: {other:?}"),
    }
}

#[test]
fn every_supported_form_loads() {
    let patterns = [
        "[domain-name:value = 'a.example']",
        "[url:value = 'https://a.example/x']",
        "[ipv4-addr:value = '192.0.2.1']",
        "[ipv4-addr:value = '192.0.2.0/24']",
        "[ipv4-addr:value ISSUBSET '10.0.0.0/8']",
        "[email-addr:value = 'x@a.example']",
        &format!("[file:hashes.'SHA-256' = '{SHA256}']"),
        &format!("[file:hashes.sha256 = '{SHA256}']"),
        &format!("[file:hashes.SHA-256 = '{SHA256}']"),
        "[file:hashes.MD5 = '16dafdc3a4ba00fd4dcb2bcfe06a302b']",
        "[file:hashes.'md5' = '16dafdc3a4ba00fd4dcb2bcfe06a302b']",
        "[file:hashes.'SHA-1' = '59aace9c264ccea25d61fe70988a8cc89cad57a7']",
        &format!("[file:hashes.'SHA-512' = '{}']", "ab".repeat(64)),
        "[process:name = 'rdxsyncd']",
        "[domain-name:value IN ('a.example', 'b.example')]",
        "[domain-name:value LIKE 'a.example']",
        "[domain-name:value LIKE '%.a.example']",
        "[url:value LIKE 'https://a.example/x%']",
        "[domain-name:value = 'a.example' OR (url:value = 'http://b.example/' AND process:name = 'p')]",
        "([domain-name:value = 'a.example'] OR [domain-name:value = 'b.example']) AND [process:name = 'p']",
        "[domain-name:value = 'a.example'] FOLLOWEDBY [process:name = 'p']",
        "[domain-name:value = 'a.example'] WITHIN 300 SECONDS",
        "[domain-name:value = 'a.example'] REPEATS 5 TIMES",
        "[domain-name:value = 'a.example'] START t'2024-01-01T00:00:00Z' STOP t'2024-02-01T00:00:00Z'",
        "[process:name = 'it\\'s']",
        "[process:name = 'back\\\\slash']",
        "  [ domain-name:value='a.example' ]  ",
        "[domain-name:value = 'a.example'] or [domain-name:value = 'b.example']",
    ];
    let (set, report) = load(&patterns);
    let skipped: Vec<String> = report.skipped.iter().map(ToString::to_string).collect();
    assert!(skipped.is_empty(), "{skipped:#?}");
    assert_eq!(set.len(), patterns.len());
}

#[test]
fn or_and_parentheses_combine_as_written() {
    let (set, _) = load(&[
        "[domain-name:value = 'a.example' AND (process:name = 'p' OR process:name = 'q')]",
        "[domain-name:value = 'b.example'] AND [process:name = 'r']",
    ]);
    assert!(set.scan_text("a.example").is_empty());
    assert_eq!(names(&set.scan_text("a.example q")), ["p0"]);
    assert!(set.scan_text("b.example").is_empty());
    assert!(set.scan_text("r").is_empty());
    assert_eq!(names(&set.scan_text("r b.example")), ["p1"]);
}

#[test]
fn in_escapes_and_subset_match() {
    let (set, _) = load(&[
        "[process:name IN ('a\\'b', 'c\\\\d')]",
        "[ipv4-addr:value ISSUBSET '203.0.113.0/25']",
    ]);
    assert_eq!(names(&set.scan_text("ran a'b")), ["p0"]);
    assert_eq!(names(&set.scan_text("ran c\\d")), ["p0"]);
    assert_eq!(names(&set.scan_text("203.0.113.127")), ["p1"]);
    assert!(set.scan_text("203.0.113.128").is_empty());
}

#[test]
fn unsupported_forms_are_skipped_with_a_reason() {
    let unsupported_op = |p: &str, op: &str| match pattern_error(p) {
        PatternError::UnsupportedOperator { op: found, .. } => assert_eq!(found, op, "{p}"),
        other => panic!("{p}: {other:?}"),
    };
    unsupported_op("[domain-name:value != 'a.example']", "!=");
    unsupported_op("[domain-name:value MATCHES '^a']", "MATCHES");
    unsupported_op("[domain-name:value NOT = 'a.example']", "NOT =");
    unsupported_op("[domain-name:value ISSUBSET 'a.example']", "ISSUBSET");
    unsupported_op("[ipv4-addr:value ISSUPERSET '192.0.2.0/24']", "ISSUPERSET");
    unsupported_op("[domain-name:value LIKE 'a%.example']", "LIKE");
    unsupported_op("[process:name LIKE 'evil_']", "LIKE");
    unsupported_op("[EXISTS domain-name:value]", "EXISTS");

    for (pattern, path) in [
        ("[file:name = 'x.exe']", "file:name"),
        ("[ipv6-addr:value = '2001:db8::1']", "ipv6-addr:value"),
        ("[x-custom:prop = 'a']", "x-custom:prop"),
        ("[file:hashes.'SHA3-256' = 'ab']", "file:hashes.'SHA3-256'"),
        (
            "[network-traffic:dst_ref.value = '192.0.2.1']",
            "network-traffic:dst_ref.value",
        ),
        (
            "[file:extensions.'x'.list[0] = 'a']",
            "file:extensions.'x'.list[]",
        ),
        // One unsupported part leaves the whole indicator out.
        (
            "[domain-name:value = 'a.example' OR file:name = 'x']",
            "file:name",
        ),
    ] {
        assert_eq!(
            pattern_error(pattern),
            PatternError::UnsupportedPath(path.into()),
            "{pattern}"
        );
    }

    for pattern in [
        "[file:hashes.MD5 = 'not-hex']",
        "[ipv4-addr:value = '192.0.2.300']",
        "[domain-name:value = 'localhost']",
        "[domain-name:value = 42]",
        "[ipv4-addr:value ISSUBSET '0.0.0.0/0']",
    ] {
        assert!(
            matches!(pattern_error(pattern), PatternError::InvalidValue { .. }),
            "{pattern}"
        );
    }
}

#[test]
fn garbage_is_skipped_never_a_panic() {
    for pattern in [
        "",
        "[",
        "]",
        "[]",
        "domain-name:value = 'a.example'",
        "[domain-name:value = 'a.example'",
        "[domain-name:value = 'a.example'] OR",
        "[domain-name:value = 'a.example'] [process:name = 'p']",
        "[domain-name value]",
        "[domain-name:value = 'unterminated]",
        "[domain-name:value = 'bad \\n escape']",
        "[domain-name:value IN ()]",
        "[domain-name:value IN ('a.example',)]",
        "[domain-name:value = 'a.example'] WITHIN SECONDS",
        "[domain-name:value = 'a.example'] START '2024' STOP t'2024'",
        "[:value = 'a']",
        "[domain-name:value == 'a.example']",
        "[domain-name:value = 'a.example'] AND AND [process:name = 'p']",
        "\u{0}\u{7f}\u{feff}✓",
        "rule x { condition: true }",
    ] {
        assert!(
            matches!(pattern_error(pattern), PatternError::Syntax { .. }),
            "{pattern:?}"
        );
    }
}

#[test]
fn hostile_sizes_are_refused() {
    let deep = format!(
        "{}[process:name = 'p']{}",
        "(".repeat(MAX_NESTING + 1),
        ")".repeat(MAX_NESTING + 1)
    );
    assert_eq!(pattern_error(&deep), PatternError::TooDeep);
    let long = format!("[process:name = '{}']", "p".repeat(300 * 1024));
    assert_eq!(pattern_error(&long), PatternError::TooLong);
}

#[test]
fn every_prefix_of_a_real_pattern_is_handled() {
    let full = "([process:name IN ('a', 'b\\'c') AND (url:value = 'http://x.example/p' \
                OR ipv4-addr:value ISSUBSET '198.51.100.0/24')] OR [file:hashes.'SHA-256' = '"
        .to_owned()
        + SHA256
        + "']) FOLLOWEDBY [process:name = 'p'] WITHIN 60 SECONDS";
    let prefixes: Vec<&str> = full.char_indices().map(|(i, _)| &full[..i]).collect();
    let (set, report) = load(&prefixes);
    assert_eq!(set.len() + report.skipped.len(), prefixes.len());
    let (set, report) = load(&[&full]);
    assert_eq!(set.len(), 1, "{:?}", report.skipped);
}
