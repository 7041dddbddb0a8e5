use std::time::{Duration, Instant};

use redress_indicators::{HashAlgo, IndicatorSet, Observable, ScanLimits};

use crate::{PAYLOAD_ONE, bundle, fixture, hit_names, now};

const C2: &str = "C2 domain";

#[test]
fn domains_match_names_and_subdomains_only() {
    for text in [
        "evil.example",
        "EVIL.Example.",
        "see cdn.evil.example now",
        "https://a.b.evil.example/x",
        "(evil.example)",
    ] {
        assert_eq!(hit_names(text), [C2], "{text}");
    }
    for text in [
        "notevil.example",
        "evil.example.org",
        "evil-example",
        "evil.examples",
        "evil_example",
        "xevil.example",
    ] {
        assert!(hit_names(text).is_empty(), "{text}");
    }
}

#[test]
fn defanged_text_is_read_as_meant() {
    assert_eq!(hit_names("evil[.]example"), [C2]);
    assert_eq!(hit_names("cdn(.)evil{.}example"), [C2]);
    assert_eq!(
        hit_names("hxxp[:]//dl[.]bad[.]test/stage2/Payload.bin"),
        ["Stage-two URL"]
    );
    assert_eq!(hit_names("192.0.2[.]10"), ["C2 address"]);
    assert_eq!(hit_names("ops[@]phish[.]example"), ["Phishing sender"]);
    assert!(
        hit_names("evil dot example").is_empty(),
        "prose forms are not refanged"
    );
}

#[test]
fn urls_ignore_case_in_scheme_and_host_only() {
    assert_eq!(
        hit_names("HTTP://DL.Bad.Test/stage2/Payload.bin?x=1"),
        ["Stage-two URL"]
    );
    assert_eq!(
        hit_names("\"url\": \"http://dl.bad.test/stage2/Payload.bin\""),
        ["Stage-two URL"]
    );
    assert!(hit_names("http://dl.bad.test/stage2/payload.bin").is_empty());
    assert!(hit_names("xhttp://dl.bad.test/stage2/Payload.bin").is_empty());
    assert!(hit_names("http://dl.bad.test/stage3/Payload.bin").is_empty());
    assert_eq!(hit_names("https://track.bad.test/p?id=1"), ["Tracking URL"]);
}

#[test]
fn host_only_urls_stop_at_the_host() {
    let (set, _) =
        IndicatorSet::from_bundles(&[&bundle(&["[url:value = 'https://c2.example/']"])], now()).unwrap();
    for text in [
        "https://c2.example",
        "https://c2.example/any",
        "https://C2.example:8443/x",
        "(https://c2.example).",
    ] {
        assert!(!set.scan_text(text).is_empty(), "{text}");
    }
    for text in [
        "https://c2.example.org/",
        "https://c2.examples",
        "http://c2.example",
    ] {
        assert!(set.scan_text(text).is_empty(), "{text}");
    }
}

#[test]
fn ipv4_addresses_match_whole_and_in_networks() {
    for text in [
        "192.0.2.10",
        "from 192.0.2.10.",
        "ip=192.0.2.10:443",
        "\"192.0.2.10\"",
    ] {
        assert_eq!(hit_names(text), ["C2 address"], "{text}");
    }
    for text in [
        "192.0.2.100",
        "1192.0.2.10",
        "192.0.2.10.5",
        "v192.0.2.10",
        "192.0.2.1",
    ] {
        assert!(hit_names(text).is_empty(), "{text}");
    }
    assert_eq!(hit_names("198.51.100.200"), ["C2 network"]);
    assert_eq!(hit_names("198.51.100.0"), ["C2 network"]);
    assert!(hit_names("198.51.101.1 98.51.100.2").is_empty());
}

#[test]
fn emails_hashes_and_processes() {
    assert_eq!(hit_names("From: Ops <OPS@Phish.Example>"), ["Phishing sender"]);
    assert!(hit_names("xops@phish.example ops@phish.example.org").is_empty());

    let sha256 = "D4862AA53EA56DFDB370F54FDCE2B93973BB54163B371C27C9BF36861C4649BB";
    assert_eq!(
        hit_names(&format!("sha256: {sha256}")),
        ["Payload one (SHA-256 of 'redress synthetic payload one\\n')"]
    );
    assert!(hit_names(&format!("{sha256}0")).is_empty());
    assert!(hit_names(&format!("0{sha256}")).is_empty());
    assert_eq!(hit_names("md5=16dafdc3a4ba00fd4dcb2bcfe06a302b").len(), 1);

    for text in [
        "rdxsyncd",
        "/usr/libexec/rdxsyncd[42]: started",
        "pid 7 rdxsyncd.",
        "\"proc\":\"rdxsyncd\"",
    ] {
        assert_eq!(hit_names(text), ["Implant process"], "{text}");
    }
    for text in [
        "RDXSYNCD",
        "rdxsyncd2",
        "com.rdxsyncd",
        "rdxsyncd-helper",
        "rdxsyncd.plist",
    ] {
        assert!(hit_names(text).is_empty(), "{text}");
    }
    assert_eq!(hit_names("it's-evil"), ["Quoted process"]);
}

#[test]
fn and_needs_every_part_and_in_needs_one() {
    assert!(hit_names("beacon.test").is_empty());
    assert!(hit_names("203.0.113.77").is_empty());
    assert_eq!(hit_names("beacon.test 203.0.113.77"), ["Beacon pair"]);
    assert_eq!(hit_names("beta.bad.test"), ["Lure domains"]);
    assert_eq!(hit_names("www.alpha.bad.test"), ["Lure domains"]);
}

#[test]
fn and_completes_across_the_parts_of_a_report() {
    let mut report = fixture().scan_text("the app contacted beacon.test");
    assert!(report.is_empty());
    let log = fixture().scan_file("net.log", b"connect 203.0.113.77:443\n", &ScanLimits::default());
    assert!(log.matches.is_empty());
    report.merge(log.matches);
    let ids: Vec<&str> = report.indicator_ids().collect();
    assert_eq!(ids.len(), 1);
    let found: Vec<(Observable, &str)> = report.iter().map(|m| (m.observable, m.value)).collect();
    assert_eq!(
        found,
        [
            (Observable::DomainName, "beacon.test"),
            (Observable::Ipv4Addr, "203.0.113.77")
        ]
    );
}

#[test]
fn matches_are_deduplicated_and_ordered() {
    let text = "evil.example 192.0.2.10 cdn.evil.example EVIL.EXAMPLE 192.0.2.10 rdxsyncd";
    let a = fixture().scan_text(text);
    let b = fixture().scan_text("rdxsyncd 192.0.2.10 evil.example");
    let list = |m: &redress_indicators::Matches| {
        m.iter()
            .map(|m| (m.indicator.id().to_owned(), m.observable, m.value.to_owned()))
            .collect::<Vec<_>>()
    };
    assert_eq!(list(&a), list(&b));
    assert_eq!(list(&a).len(), 3);
    let ids: Vec<&str> = a.indicator_ids().collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted);

    let mut merged = a.clone();
    merged.merge(b);
    assert_eq!(list(&merged), list(&a));
    assert_eq!(format!("{a:?}").matches("indicator--").count(), 3);
}

#[test]
fn file_hash_indicators_match_file_contents() {
    let limits = ScanLimits::default();
    let scan = |bytes: &[u8]| {
        let found: Vec<Observable> = fixture()
            .scan_file("x", bytes, &limits)
            .matches
            .iter()
            .map(|m| m.observable)
            .collect();
        found
    };
    assert_eq!(scan(PAYLOAD_ONE), [Observable::FileHash(HashAlgo::Sha256)]);
    assert_eq!(scan(crate::PAYLOAD_TWO), [Observable::FileHash(HashAlgo::Md5)]);
    assert_eq!(scan(crate::PAYLOAD_THREE), [Observable::FileHash(HashAlgo::Sha1)]);
    assert_eq!(
        scan(crate::PAYLOAD_FOUR),
        [Observable::FileHash(HashAlgo::Sha512)]
    );
    assert!(scan(b"redress synthetic payload five\n").is_empty());
}

/// 100k indicators of all kinds against a 20k-character report.
#[test]
fn a_large_set_scans_a_report_quickly() {
    let mut patterns = Vec::new();
    for i in 0..25_000u32 {
        let [_, a, b, c] = i.to_be_bytes();
        patterns.push(format!("[domain-name:value = 'host{i}.bad{}.test']", i % 97));
        patterns.push(format!("[url:value = 'https://cdn{i}.bad.test/p/{i}']"));
        patterns.push(format!("[ipv4-addr:value = '10.{a}.{b}.{c}']"));
        patterns.push(format!(
            "[file:hashes.'SHA-256' = '{:064x}']",
            u64::from(i) * 7919
        ));
    }
    let refs: Vec<&str> = patterns.iter().map(String::as_str).collect();
    let doc = raw_bundle(&refs);
    let started = Instant::now();
    let (set, report) = IndicatorSet::from_bundles(&[&doc], now()).unwrap();
    let loaded = started.elapsed();
    assert_eq!(set.len(), 100_000, "{:?}", report.skipped.first());

    let mut text = String::new();
    let mut i = 0u32;
    while text.len() < 20_000 {
        text.push_str(&format!(
            "line {i}: visited www.site{i}.example and 10.9.{}.{} then https://ok.test/q ",
            i % 256,
            i % 200
        ));
        i += 1;
    }
    text.push_str("and finally https://cdn77.bad.test/p/77 and host12.bad12.test and 10.0.0.5");
    let started = Instant::now();
    let matches = set.scan_text(&text);
    let scanned = started.elapsed();
    assert_eq!(matches.indicator_ids().count(), 3);
    assert!(
        scanned < Duration::from_millis(500),
        "scan took {scanned:?} (load {loaded:?})"
    );
}

/// Like [`bundle`], written directly: the `json!` macro is slow unoptimised.
fn raw_bundle(patterns: &[&str]) -> Vec<u8> {
    let mut doc = String::from(r#"{"type":"bundle","id":"bundle--x","objects":["#);
    for (i, pattern) in patterns.iter().enumerate() {
        if i > 0 {
            doc.push(',');
        }
        doc.push_str(&format!(
            r#"{{"type":"indicator","id":"indicator--00000000-0000-4000-8000-{i:012}","pattern":"{pattern}","pattern_type":"stix"}}"#
        ));
    }
    doc.push_str("]}");
    doc.into_bytes()
}
