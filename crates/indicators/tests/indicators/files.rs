use std::io::{Cursor, Write};
use std::time::{Duration, Instant};

use redress_indicators::{FileScan, PartSkip, ScanLimits};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use crate::{PAYLOAD_ONE, fixture, names};

const LOG: &[u8] = b"2025-02-01T10:00:00Z dns query cdn.evil.example A\n2025-02-01T10:00:01Z ok\n";

fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    zip_with(entries, CompressionMethod::Deflated)
}

fn zip_with(entries: &[(&str, &[u8])], method: CompressionMethod) -> Vec<u8> {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default()
        .compression_method(method)
        .large_file(false);
    for (name, data) in entries {
        zip.start_file(*name, options).unwrap();
        zip.write_all(data).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

fn scan(name: &str, bytes: &[u8], limits: &ScanLimits) -> FileScan {
    fixture().scan_file(name, bytes, limits)
}

fn path(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|p| (*p).to_owned()).collect()
}

fn reasons(scan: &FileScan) -> Vec<(Vec<String>, PartSkip)> {
    scan.skipped
        .iter()
        .map(|s| (s.path.clone(), s.reason.clone()))
        .collect()
}

#[test]
fn text_files_are_scanned_whatever_their_name() {
    let limits = ScanLimits::default();
    for (name, content) in [
        ("system.log", LOG.to_vec()),
        ("photo.jpg", LOG.to_vec()),
        (
            "timeline.csv",
            b"timestamp,module,event\n2025-02-01,net,evil.example\n".to_vec(),
        ),
        (
            "results.json",
            br#"[{"module":"safari_history","url":"http://dl.bad.test/stage2/Payload.bin"}]"#.to_vec(),
        ),
        (
            "detected.ndjson",
            b"{\"domain\":\"evil.example\"}\n{\"x\":1}\n".to_vec(),
        ),
    ] {
        let found = scan(name, &content, &limits);
        assert!(!found.matches.is_empty(), "{name}");
        assert_eq!(found.scanned.len(), 1);
        assert_eq!(found.scanned[0].path, [name]);
        assert!(found.skipped.is_empty());
    }
}

#[test]
fn utf16_text_with_a_byte_order_mark_is_text() {
    let utf16: Vec<u8> = [0xff, 0xfe]
        .into_iter()
        .chain("host=evil.example\r\n".encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    assert_eq!(
        names(&scan("export.txt", &utf16, &ScanLimits::default()).matches),
        ["C2 domain"]
    );
}

#[test]
fn binary_files_are_hashed_but_not_read_as_text() {
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    png.extend_from_slice(b"evil.example");
    let found = scan("evil.example.txt", &png, &ScanLimits::default());
    assert!(found.matches.is_empty());
    assert!(found.scanned.is_empty());
    assert_eq!(reasons(&found), [(path(&["evil.example.txt"]), PartSkip::Binary)]);

    let mut invalid_utf8 = b"evil.example ".to_vec();
    invalid_utf8.extend_from_slice(&[0xc3, 0x28, 0xa0, 0xa1]);
    assert_eq!(
        reasons(&scan("x", &invalid_utf8, &ScanLimits::default()))[0].1,
        PartSkip::Binary
    );
}

#[test]
fn only_the_first_bytes_of_long_text_are_scanned() {
    let mut text = "x".repeat(1000);
    text.push_str(" evil.example");
    let limits = ScanLimits {
        max_text_bytes: 500,
        ..ScanLimits::default()
    };
    let found = scan("long.log", text.as_bytes(), &limits);
    assert!(found.matches.is_empty());
    assert!(found.scanned[0].truncated);
    assert_eq!(found.scanned[0].bytes, 1013);
}

#[test]
fn a_zip_with_a_log_containing_an_indicator() {
    let zip = zip_of(&[
        ("logs/", b""),
        ("logs/system.log", LOG),
        ("photo.bin", &[0, 1, 2, 3]),
        ("payload", PAYLOAD_ONE),
    ]);
    let found = scan("evidence.zip", &zip, &ScanLimits::default());
    assert_eq!(
        names(&found.matches),
        [
            "C2 domain",
            "Payload one (SHA-256 of 'redress synthetic payload one\\n')"
        ]
    );
    let scanned: Vec<&Vec<String>> = found.scanned.iter().map(|p| &p.path).collect();
    assert_eq!(
        scanned,
        [
            &path(&["evidence.zip", "logs/system.log"]),
            &path(&["evidence.zip", "payload"])
        ]
    );
    assert_eq!(
        reasons(&found),
        [(path(&["evidence.zip", "photo.bin"]), PartSkip::Binary)]
    );
}

#[test]
fn nested_zips_are_opened_up_to_the_depth_limit() {
    let inner = zip_of(&[("net.log", LOG)]);
    let middle = zip_of(&[("inner.zip", &inner)]);
    let outer = zip_with(&[("middle.zip", &middle)], CompressionMethod::Stored);

    let found = scan("outer.zip", &outer, &ScanLimits::default());
    assert_eq!(names(&found.matches), ["C2 domain"]);
    assert_eq!(
        found.scanned[0].path,
        ["outer.zip", "middle.zip", "inner.zip", "net.log"]
    );

    let limits = ScanLimits {
        max_archive_depth: 2,
        ..ScanLimits::default()
    };
    let found = scan("outer.zip", &outer, &limits);
    assert!(found.matches.is_empty());
    assert_eq!(
        reasons(&found),
        [(
            path(&["outer.zip", "middle.zip", "inner.zip"]),
            PartSkip::TooDeep { limit: 2 }
        )]
    );

    let limits = ScanLimits {
        max_archive_depth: 0,
        ..ScanLimits::default()
    };
    assert_eq!(
        reasons(&scan("outer.zip", &outer, &limits))[0].1,
        PartSkip::TooDeep { limit: 0 }
    );
}

#[test]
fn a_zip_bomb_is_stopped_quickly() {
    let zeros = vec![0u8; 16 * 1024 * 1024];
    let bomb = zip_of(&[("zeros.bin", &zeros), ("after.log", LOG)]);
    assert!(bomb.len() < 64 * 1024, "{}", bomb.len());
    drop(zeros);

    let started = Instant::now();
    let found = scan("bomb.zip", &bomb, &ScanLimits::default());
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        reasons(&found),
        [(
            path(&["bomb.zip", "zeros.bin"]),
            PartSkip::CompressionRatio { limit: 200 }
        )]
    );
    assert_eq!(
        names(&found.matches),
        ["C2 domain"],
        "entries after the bomb are still scanned"
    );

    // With the ratio check out of the way, the size bounds stop it.
    let no_ratio = ScanLimits {
        max_compression_ratio: u64::MAX,
        ..ScanLimits::default()
    };
    let limits = ScanLimits {
        max_entry_uncompressed: 4 * 1024 * 1024,
        ..no_ratio.clone()
    };
    let found = scan("bomb.zip", &bomb, &limits);
    assert_eq!(
        found.skipped[0].reason,
        PartSkip::EntryTooLarge {
            limit: 4 * 1024 * 1024
        }
    );

    let limits = ScanLimits {
        max_total_uncompressed: 3 * 1024 * 1024,
        ..no_ratio
    };
    let found = scan("bomb.zip", &bomb, &limits);
    let limit = 3 * 1024 * 1024;
    assert_eq!(
        reasons(&found),
        [
            (
                path(&["bomb.zip", "zeros.bin"]),
                PartSkip::TotalTooLarge { limit }
            ),
            (path(&["bomb.zip"]), PartSkip::TotalTooLarge { limit }),
        ]
    );
}

#[test]
fn a_bomb_of_nested_zips_is_bounded_by_the_totals() {
    let layer = zip_of(&[("zeros", &vec![0u8; 2 * 1024 * 1024])]);
    let copies: Vec<(String, &[u8])> = (0..16).map(|i| (format!("{i}.zip"), layer.as_slice())).collect();
    let entries: Vec<(&str, &[u8])> = copies.iter().map(|(n, d)| (n.as_str(), *d)).collect();
    let top = zip_of(&entries);
    let limits = ScanLimits {
        max_total_uncompressed: 8 * 1024 * 1024,
        ..ScanLimits::default()
    };
    let found = scan("42.zip", &top, &limits);
    assert!(
        found
            .skipped
            .iter()
            .any(|s| matches!(s.reason, PartSkip::TotalTooLarge { .. }))
    );
    assert!(found.skipped.len() < 10, "{:?}", reasons(&found));
}

#[test]
fn truncated_and_corrupt_zips_never_panic() {
    let zip = zip_of(&[
        ("a.log", LOG),
        ("b.log", b"rdxsyncd started\n"),
        ("c.bin", PAYLOAD_ONE),
    ]);
    let limits = ScanLimits::default();

    let half = &zip[..zip.len() / 2];
    let found = scan("cut.zip", half, &limits);
    assert!(matches!(reasons(&found).as_slice(), [(p, PartSkip::Corrupt(_))] if *p == path(&["cut.zip"])));

    for end in (0..zip.len()).step_by(7) {
        scan("cut.zip", &zip[..end], &limits);
    }
    for at in 0..zip.len() {
        for byte in [0x00, 0xff, 0x7f] {
            let mut broken = zip.clone();
            broken[at] = byte;
            scan("broken.zip", &broken, &limits);
        }
    }
}

#[test]
fn declared_sizes_are_not_trusted() {
    let mut zip = zip_with(&[("big.log", LOG)], CompressionMethod::Stored);
    // Central directory: claim 4 GiB compressed and uncompressed.
    let cd = zip.windows(4).rposition(|w| w == b"PK\x01\x02").unwrap();
    zip[cd + 20..cd + 28].copy_from_slice(&[0xfe, 0xff, 0xff, 0xff, 0xfe, 0xff, 0xff, 0xff]);
    let found = scan("liar.zip", &zip, &ScanLimits::default());
    assert!(
        found.scanned.len() + found.skipped.len() == 1,
        "{:?}",
        reasons(&found)
    );
}

#[test]
fn a_zip_with_ten_thousand_entries() {
    let bodies: Vec<(String, Vec<u8>)> = (0..10_000)
        .map(|i| {
            (
                format!("d/{i:05}.txt"),
                if i == 9_999 {
                    b"evil.example".to_vec()
                } else {
                    format!("{i}").into_bytes()
                },
            )
        })
        .collect();
    let entries: Vec<(&str, &[u8])> = bodies.iter().map(|(n, b)| (n.as_str(), b.as_slice())).collect();
    let zip = zip_with(&entries, CompressionMethod::Stored);

    let started = Instant::now();
    let found = scan("many.zip", &zip, &ScanLimits::default());
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(found.scanned.len(), 10_000);
    assert_eq!(names(&found.matches), ["C2 domain"]);

    let limits = ScanLimits {
        max_archive_entries: 1_000,
        ..ScanLimits::default()
    };
    let found = scan("many.zip", &zip, &limits);
    assert_eq!(found.scanned.len(), 1_000);
    assert!(found.matches.is_empty());
    assert_eq!(
        reasons(&found),
        [(
            path(&["many.zip"]),
            PartSkip::TooManyEntries {
                not_examined: 9_000,
                limit: 1_000
            }
        )]
    );
}

#[test]
fn encrypted_entries_are_skipped() {
    let mut zip = zip_with(
        &[("secret.log", LOG), ("open.log", b"rdxsyncd\n")],
        CompressionMethod::Stored,
    );
    // Set the "encrypted" flag of the first entry in its local and central headers.
    zip[6] |= 1;
    let cd = zip.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
    zip[cd + 8] |= 1;
    let found = scan("locked.zip", &zip, &ScanLimits::default());
    assert_eq!(
        reasons(&found),
        [(path(&["locked.zip", "secret.log"]), PartSkip::Encrypted)]
    );
    assert_eq!(names(&found.matches), ["Implant process"]);
}

#[test]
fn hostile_entry_names_are_only_data() {
    let zip = zip_of(&[
        ("../../../../etc/evil.log", LOG),
        ("/abs/\u{1b}[2Jx.log", b"rdxsyncd\n"),
    ]);
    let found = scan("names.zip", &zip, &ScanLimits::default());
    assert_eq!(found.scanned[0].path, ["names.zip", "../../../../etc/evil.log"]);
    assert_eq!(found.scanned[1].path, ["names.zip", "/abs/\u{fffd}[2Jx.log"]);
    assert_eq!(names(&found.matches), ["C2 domain", "Implant process"]);
}
