//! ZIP archives are refused, before they are indexed, when their end records announce more
//! than the limits allow or contradict themselves.

use std::io::{Cursor, Write};

use redress_indicators::{FileScan, PartSkip, ScanLimits};
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use crate::synthetic_zip::{Archive, empty_entries};
use crate::{fixture, load, names};

const LOG: &[u8] = b"2025-02-01T10:00:00Z dns query cdn.evil.example A\n";
const IMPLANT_LOG: &[u8] = b"rdxsyncd started\n";

fn zip_with_comment(entries: &[(&str, &[u8])], comment: &[u8]) -> Vec<u8> {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    for (name, data) in entries {
        zip.start_file(*name, options).unwrap();
        zip.write_all(data).unwrap();
    }
    zip.set_raw_comment(comment.into()).unwrap();
    zip.finish().unwrap().into_inner()
}

fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    zip_with_comment(entries, b"")
}

/// Where the (last) end-of-central-directory record starts.
fn end_of(zip: &[u8]) -> usize {
    zip.windows(4).rposition(|w| w == b"PK\x05\x06").unwrap()
}

fn set16(zip: &mut [u8], at: usize, v: u16) {
    zip[at..at + 2].copy_from_slice(&v.to_le_bytes());
}

fn set32(zip: &mut [u8], at: usize, v: u32) {
    zip[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

fn set64(zip: &mut [u8], at: usize, v: u64) {
    zip[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

fn scan(name: &str, bytes: &[u8]) -> FileScan {
    fixture().scan_file(name, bytes, &ScanLimits::default())
}

fn reasons(scan: &FileScan) -> Vec<(Vec<String>, PartSkip)> {
    scan.skipped
        .iter()
        .map(|s| (s.path.clone(), s.reason.clone()))
        .collect()
}

fn refused(name: &str, reason: PartSkip) -> Vec<(Vec<String>, PartSkip)> {
    vec![(vec![name.to_owned()], reason)]
}

fn corrupt(what: &str) -> PartSkip {
    PartSkip::Corrupt(what.to_owned())
}

#[test]
fn synthetic_archives_are_well_formed() {
    for zip64 in [false, true] {
        let archive = empty_entries(300, zip64);
        let found = scan("small.zip", &archive.bytes);
        assert!(found.skipped.is_empty(), "{:?}", reasons(&found));
        assert_eq!(found.scanned.len(), 300);
        assert_eq!(found.scanned[299].path, ["small.zip", "0012b"]);
    }
}

#[test]
fn a_million_entries_are_refused_before_they_are_indexed() {
    let archive = empty_entries(1_000_000, false);
    assert!(archive.bytes.len() < 90 * 1024 * 1024);

    let found = scan("million.zip", &archive.bytes);
    assert_eq!(
        reasons(&found),
        refused(
            "million.zip",
            PartSkip::DirectoryTooManyEntries {
                announced: 1_000_000,
                limit: 65_535
            }
        )
    );
    assert!(found.scanned.is_empty());
    assert_eq!(
        found.skipped[0].reason.to_string(),
        "archive announces 1000000 entries, more than the 65535 one archive may have"
    );

    // The refused archive is still hashed and compared, like any part not read as text.
    let digest = hex(&Sha256::digest(&archive.bytes));
    let (set, _) = load(&[&format!("[file:hashes.'SHA-256' = '{digest}']")]);
    let found = set.scan_file("million.zip", &archive.bytes, &ScanLimits::default());
    assert_eq!(names(&found.matches), ["p0"]);
}

#[test]
fn a_large_central_directory_is_refused() {
    let archive = empty_entries(2_000, false);
    let directory = (archive.end - archive.central_directory) as u64;
    let limits = ScanLimits {
        max_directory_bytes: directory - 1,
        ..ScanLimits::default()
    };
    let found = fixture().scan_file("big.zip", &archive.bytes, &limits);
    assert_eq!(
        reasons(&found),
        refused(
            "big.zip",
            PartSkip::DirectoryTooLarge {
                announced: directory,
                limit: directory - 1
            }
        )
    );
    let limits = ScanLimits {
        max_directory_bytes: directory,
        ..ScanLimits::default()
    };
    assert!(
        fixture()
            .scan_file("big.zip", &archive.bytes, &limits)
            .skipped
            .is_empty()
    );

    // ZIP64 end records count as directory: the zip crate reads them too.
    let archive = empty_entries(2_000, true);
    let limits = ScanLimits {
        max_directory_bytes: directory,
        ..ScanLimits::default()
    };
    let found = fixture().scan_file("big.zip", &archive.bytes, &limits);
    assert_eq!(
        found.skipped[0].reason,
        PartSkip::DirectoryTooLarge {
            announced: directory + 56 + 20,
            limit: directory
        }
    );
}

#[test]
fn an_end_record_that_lies_about_the_directory_is_refused() {
    let zip = zip_of(&[("a.log", LOG), ("b.log", IMPLANT_LOG), ("c.bin", b"\0\x01")]);
    let end = end_of(&zip);
    let honest = scan("liar.zip", &zip);
    assert!(honest.skipped.len() == 1 && honest.scanned.len() == 2);
    let cd_size = u32::from_le_bytes(zip[end + 12..end + 16].try_into().unwrap());
    let cd_offset = u32::from_le_bytes(zip[end + 16..end + 20].try_into().unwrap());

    let lie = |patch: &dyn Fn(&mut Vec<u8>)| {
        let mut liar = zip.clone();
        patch(&mut liar);
        let found = scan("liar.zip", &liar);
        assert!(found.matches.is_empty() && found.scanned.is_empty());
        reasons(&found)
    };
    assert_eq!(
        lie(&|z| {
            set16(z, end + 8, 60_000);
            set16(z, end + 10, 60_000);
        }),
        refused(
            "liar.zip",
            corrupt("central directory too small for the entries it announces")
        )
    );
    assert_eq!(
        lie(&|z| set32(z, end + 12, 100 << 20)),
        refused(
            "liar.zip",
            PartSkip::DirectoryTooLarge {
                announced: 100 << 20,
                limit: 8 << 20
            }
        )
    );
    let misplaced = corrupt("central directory does not end where the end records begin");
    assert_eq!(
        lie(&|z| set32(z, end + 12, cd_size + 46)),
        refused("liar.zip", misplaced.clone())
    );
    assert_eq!(
        lie(&|z| set32(z, end + 12, cd_size - 1)),
        refused("liar.zip", misplaced.clone())
    );
    // Data before the archive (a self-extractor's stub) shifts every offset: not guessed at.
    let stub = [b"PK\x03\x04".as_slice(), &[0; 26]].concat();
    let shifted = [stub.as_slice(), &zip].concat();
    assert_eq!(
        reasons(&scan("liar.zip", &shifted)),
        refused("liar.zip", misplaced)
    );
    assert_eq!(
        lie(&|z| {
            set32(z, end + 12, cd_size - 5);
            set32(z, end + 16, cd_offset + 5);
        }),
        refused(
            "liar.zip",
            corrupt("no central directory header where the end record points")
        )
    );
    let multi_disk = PartSkip::Unsupported("archive split over several disks".to_owned());
    assert_eq!(
        lie(&|z| set16(z, end + 8, 2)),
        refused("liar.zip", multi_disk.clone())
    );
    assert_eq!(lie(&|z| set16(z, end + 4, 1)), refused("liar.zip", multi_disk));
    assert_eq!(
        lie(&|z| z.truncate(end + 21)),
        refused("liar.zip", corrupt("no end-of-central-directory record"))
    );
}

#[test]
fn a_zip64_end_record_that_lies_is_refused() {
    let archive = empty_entries(3, true);
    let Archive {
        end,
        zip64_end: Some(zip64),
        ..
    } = archive
    else {
        unreachable!()
    };
    let lie = |patch: &dyn Fn(&mut Vec<u8>)| {
        let mut liar = archive.bytes.clone();
        patch(&mut liar);
        reasons(&scan("liar.zip", &liar))
    };
    assert_eq!(
        lie(&|z| {
            set64(z, zip64 + 24, 1_000_000);
            set64(z, zip64 + 32, 1_000_000);
        }),
        refused(
            "liar.zip",
            PartSkip::DirectoryTooManyEntries {
                announced: 1_000_000,
                limit: 65_535
            }
        )
    );
    assert_eq!(
        lie(&|z| {
            set64(z, zip64 + 40, 1 << 40);
            set32(z, end + 12, u32::MAX);
        }),
        refused(
            "liar.zip",
            PartSkip::DirectoryTooLarge {
                announced: (1 << 40) + 56 + 20,
                limit: 8 << 20
            }
        )
    );
    assert_eq!(
        lie(&|z| set32(z, end + 12, 7)),
        refused("liar.zip", corrupt("end record and ZIP64 end record disagree"))
    );
    // The locator sits 20 bytes before the end record; its offset field 8 bytes into it.
    let locator = end - 20;
    assert_eq!(
        lie(&|z| set64(z, locator + 8, zip64 as u64 - 1)),
        refused(
            "liar.zip",
            corrupt("no ZIP64 end record where its locator points")
        )
    );
    assert_eq!(
        lie(&|z| set64(z, locator + 8, u64::MAX - 10)),
        refused("liar.zip", corrupt("ZIP64 end record outside the archive"))
    );
    assert_eq!(
        lie(&|z| set64(z, zip64 + 4, 45)),
        refused(
            "liar.zip",
            corrupt("ZIP64 end record does not end at its locator")
        )
    );
    assert_eq!(
        lie(&|z| set32(z, locator + 16, 3)),
        refused(
            "liar.zip",
            PartSkip::Unsupported("archive split over several disks".to_owned())
        )
    );
}

#[test]
fn comments_and_trailing_bytes_after_the_end_record() {
    let entries: &[(&str, &[u8])] = &[("a.log", LOG)];
    for comment in [b"made by hand".to_vec(), vec![b'x'; 65_535]] {
        let found = scan("c.zip", &zip_with_comment(entries, &comment));
        assert!(found.skipped.is_empty(), "{:?}", reasons(&found));
        assert_eq!(names(&found.matches), ["C2 domain"]);
    }
    // An end record in the comment is taken for the last one, and found wanting.
    let mut record = b"PK\x05\x06".to_vec();
    record.resize(22, 0);
    let decoy = zip_with_comment(entries, &[b"see ".as_slice(), &record].concat());
    assert_eq!(
        reasons(&scan("c.zip", &decoy)),
        refused(
            "c.zip",
            corrupt("central directory does not end where the end records begin")
        )
    );
    // A signature whose comment would run past the end is not an end record.
    let text = zip_with_comment(entries, b"PK\x05\x06 and then some text");
    assert!(scan("c.zip", &text).skipped.is_empty());
    // A comment longer than what follows is not an end record (the zip crate agrees).
    let mut cut = zip_of(entries);
    cut.extend_from_slice(b"PK\x05\x06");
    cut.extend_from_slice(&[0xff; 18]);
    let found = scan("c.zip", &cut);
    assert!(found.skipped.is_empty(), "{:?}", reasons(&found));
    // Trailing bytes after the record, as some tools leave them.
    let mut padded = zip_of(entries);
    padded.extend_from_slice(&[0; 100]);
    let found = scan("c.zip", &padded);
    assert!(found.skipped.is_empty(), "{:?}", reasons(&found));
}

#[test]
fn a_decoy_end_record_does_not_hide_a_million_entries() {
    // The zip crate falls back to an earlier end record when the last one leads nowhere; the
    // scanner refuses instead, so the real record's million entries are never indexed.
    let mut archive = empty_entries(1_000_000, false).bytes;
    let decoy = zip_of(&[("a.log", LOG)]);
    archive.extend_from_slice(&decoy[end_of(&decoy)..]);
    let found = scan("decoy.zip", &archive);
    assert_eq!(
        reasons(&found),
        refused(
            "decoy.zip",
            corrupt("central directory does not end where the end records begin")
        )
    );
}

#[test]
fn a_refused_archive_inside_another_costs_only_itself() {
    let mut liar = empty_entries(3, true);
    let zip64 = liar.zip64_end.unwrap();
    set64(&mut liar.bytes, zip64 + 24, 1_000_000);
    set64(&mut liar.bytes, zip64 + 32, 1_000_000);
    let middle = zip_of(&[("inner.zip", &liar.bytes), ("b.log", IMPLANT_LOG)]);
    let outer = zip_of(&[("a.log", LOG), ("middle.zip", &middle)]);

    let found = scan("outer.zip", &outer);
    assert_eq!(
        reasons(&found),
        [(
            vec![
                "outer.zip".to_owned(),
                "middle.zip".to_owned(),
                "inner.zip".to_owned()
            ],
            PartSkip::DirectoryTooManyEntries {
                announced: 1_000_000,
                limit: 65_535
            }
        )]
    );
    assert_eq!(names(&found.matches), ["C2 domain", "Implant process"]);
    let scanned: Vec<&[String]> = found.scanned.iter().map(|p| p.path.as_slice()).collect();
    assert_eq!(
        scanned,
        [
            ["outer.zip", "a.log"].map(str::to_owned).as_slice(),
            ["outer.zip", "middle.zip", "b.log"].map(str::to_owned).as_slice(),
        ]
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
