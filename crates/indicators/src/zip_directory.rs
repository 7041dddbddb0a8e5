//! A ZIP archive's end records, read before the zip crate builds its index of the entries.
//!
//! `zip::ZipArchive::new` reads the whole central directory into memory first, and a small
//! file can announce a huge one: a million empty entries fit in 64 MiB. So the scanner reads
//! the end-of-central-directory record (and the ZIP64 records it points to) itself, and an
//! archive whose directory is larger than [`ScanLimits`] allow, or whose records disagree
//! with each other or with the file, is refused before any index is built.
//!
//! Only the common layout is accepted: one disk, the central directory ending exactly where
//! the end records begin, and its first header where they say. The zip crate also accepts
//! data before the archive and tries earlier end records when the last one does not work
//! out; both are guesses this check does not make. Because the directory it accepts abuts
//! its end record, the zip crate uses that same record or fails, and never falls back to
//! another one that was not checked here.

use crate::file::{PartSkip, ScanLimits};

const END_SIGNATURE: &[u8] = b"PK\x05\x06";
const END_LEN: usize = 22;
const ZIP64_LOCATOR_SIGNATURE: &[u8] = b"PK\x06\x07";
const ZIP64_LOCATOR_LEN: usize = 20;
const ZIP64_END_SIGNATURE: &[u8] = b"PK\x06\x06";
/// The ZIP64 end record's fixed part; its size field counts what follows the first 12 bytes.
const ZIP64_END_LEN: u64 = 56;
const ZIP64_END_UNCOUNTED: u64 = 12;
const CENTRAL_HEADER_SIGNATURE: &[u8] = b"PK\x01\x02";
/// A central directory header without its name, extra field and comment.
const CENTRAL_HEADER_LEN: u64 = 46;

/// The central directory, as the end records announce it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Directory {
    pub entries: u64,
    /// Bytes from the first central directory header to the end-of-central-directory
    /// record: the headers, and the ZIP64 end record and locator when there are some.
    pub bytes: u64,
}

/// Reads the end records of `bytes` and checks them against `limits`.
pub(crate) fn check(bytes: &[u8], limits: &ScanLimits) -> Result<Directory, PartSkip> {
    let end = find_end(bytes)?;
    let locator = if end.may_be_zip64() {
        locator_before(bytes, end.at)?
    } else {
        None
    };
    let zip64 = locator.map(|l| zip64_end(bytes, &l)).transpose()?;
    let (entries, size, offset, directory_end) = match &zip64 {
        Some(z) => {
            let (all_ones16, all_ones32) = (u64::from(u16::MAX), u64::from(u32::MAX));
            agrees(end.disk.into(), all_ones16, 0)?;
            agrees(end.directory_disk.into(), all_ones16, 0)?;
            agrees(end.entries_on_disk.into(), all_ones16, z.entries_on_disk)?;
            agrees(end.entries.into(), all_ones16, z.entries)?;
            agrees(end.size.into(), all_ones32, z.size)?;
            agrees(end.offset.into(), all_ones32, z.offset)?;
            if z.disk != 0 || z.directory_disk != 0 || z.entries_on_disk != z.entries {
                return Err(multi_disk());
            }
            (z.entries, z.size, z.offset, z.at)
        }
        None => {
            if end.disk != 0 || end.directory_disk != 0 || end.entries_on_disk != end.entries {
                return Err(multi_disk());
            }
            (end.entries.into(), end.size.into(), end.offset.into(), end.at)
        }
    };
    let directory = Directory {
        entries,
        // `directory_end` is the ZIP64 end record, before the end record, or the end record.
        bytes: size.saturating_add(end.at.saturating_sub(directory_end)),
    };
    if directory.entries > u64::from(limits.max_entries_per_archive) {
        return Err(PartSkip::DirectoryTooManyEntries {
            announced: directory.entries,
            limit: limits.max_entries_per_archive,
        });
    }
    if directory.bytes > limits.max_directory_bytes {
        return Err(PartSkip::DirectoryTooLarge {
            announced: directory.bytes,
            limit: limits.max_directory_bytes,
        });
    }
    if offset.checked_add(size) != Some(directory_end) {
        return Err(corrupt(
            "central directory does not end where the end records begin",
        ));
    }
    if entries
        .checked_mul(CENTRAL_HEADER_LEN)
        .is_none_or(|least| least > size)
    {
        return Err(corrupt(
            "central directory too small for the entries it announces",
        ));
    }
    if entries > 0 && signature_at(bytes, offset) != Some(CENTRAL_HEADER_SIGNATURE) {
        return Err(corrupt("no central directory header where the end record points"));
    }
    Ok(directory)
}

/// The fields of the classic end record that describe the directory.
struct End {
    at: u64,
    disk: u16,
    directory_disk: u16,
    entries_on_disk: u16,
    entries: u16,
    size: u32,
    offset: u32,
}

impl End {
    /// The zip crate looks for ZIP64 records only when one of these is at its maximum.
    fn may_be_zip64(&self) -> bool {
        self.entries == u16::MAX || self.size == u32::MAX || self.offset == u32::MAX
    }
}

/// The last end record whose comment fits in the file, which is the one the zip crate
/// tries first: it searches from the end too, and passes over signatures whose comment
/// would run past the end. The record is at most 22 bytes and a 64 KiB comment from the end.
fn find_end(bytes: &[u8]) -> Result<End, PartSkip> {
    let last = bytes.len().checked_sub(END_LEN).ok_or_else(no_end)?;
    let first = last.saturating_sub(usize::from(u16::MAX));
    for at in (first..=last).rev() {
        if bytes.get(at..at + 4) != Some(END_SIGNATURE) {
            continue;
        }
        let record = Record { bytes, at: at as u64 };
        let comment = usize::from(record.u16(20)?);
        if at + END_LEN + comment > bytes.len() {
            continue;
        }
        return Ok(End {
            at: at as u64,
            disk: record.u16(4)?,
            directory_disk: record.u16(6)?,
            entries_on_disk: record.u16(8)?,
            entries: record.u16(10)?,
            size: record.u32(12)?,
            offset: record.u32(16)?,
        });
    }
    Err(no_end())
}

struct Locator {
    at: u64,
    end_disk: u32,
    end_offset: u64,
    disks: u32,
}

/// The ZIP64 end-of-central-directory locator, which sits right before the end record.
fn locator_before(bytes: &[u8], end: u64) -> Result<Option<Locator>, PartSkip> {
    let Some(at) = end.checked_sub(ZIP64_LOCATOR_LEN as u64) else {
        return Ok(None);
    };
    if signature_at(bytes, at) != Some(ZIP64_LOCATOR_SIGNATURE) {
        return Ok(None);
    }
    let record = Record { bytes, at };
    Ok(Some(Locator {
        at,
        end_disk: record.u32(4)?,
        end_offset: record.u64(8)?,
        disks: record.u32(16)?,
    }))
}

struct Zip64End {
    at: u64,
    disk: u32,
    directory_disk: u32,
    entries_on_disk: u64,
    entries: u64,
    size: u64,
    offset: u64,
}

/// The ZIP64 end record, which must be where the locator says and end at the locator.
fn zip64_end(bytes: &[u8], locator: &Locator) -> Result<Zip64End, PartSkip> {
    if locator.end_disk != 0 || locator.disks > 1 {
        return Err(multi_disk());
    }
    let at = locator.end_offset;
    if at
        .checked_add(ZIP64_END_LEN)
        .is_none_or(|fixed_end| fixed_end > locator.at)
    {
        return Err(corrupt("ZIP64 end record outside the archive"));
    }
    if signature_at(bytes, at) != Some(ZIP64_END_SIGNATURE) {
        return Err(corrupt("no ZIP64 end record where its locator points"));
    }
    let record = Record { bytes, at };
    if record.u64(4)?.checked_add(at + ZIP64_END_UNCOUNTED) != Some(locator.at) {
        return Err(corrupt("ZIP64 end record does not end at its locator"));
    }
    Ok(Zip64End {
        at,
        disk: record.u32(16)?,
        directory_disk: record.u32(20)?,
        entries_on_disk: record.u64(24)?,
        entries: record.u64(32)?,
        size: record.u64(40)?,
        offset: record.u64(48)?,
    })
}

/// A classic field holds either the ZIP64 value or, when that does not fit, all ones.
fn agrees(classic: u64, all_ones: u64, zip64: u64) -> Result<(), PartSkip> {
    if classic == zip64 || classic == all_ones {
        Ok(())
    } else {
        Err(corrupt("end record and ZIP64 end record disagree"))
    }
}

/// Little-endian fields of a record that starts at `at`.
struct Record<'a> {
    bytes: &'a [u8],
    at: u64,
}

impl Record<'_> {
    fn u16(&self, offset: u64) -> Result<u16, PartSkip> {
        self.field(offset).map(u16::from_le_bytes)
    }

    fn u32(&self, offset: u64) -> Result<u32, PartSkip> {
        self.field(offset).map(u32::from_le_bytes)
    }

    fn u64(&self, offset: u64) -> Result<u64, PartSkip> {
        self.field(offset).map(u64::from_le_bytes)
    }

    fn field<const N: usize>(&self, offset: u64) -> Result<[u8; N], PartSkip> {
        array_at(self.bytes, self.at.saturating_add(offset)).ok_or_else(|| corrupt("end records cut short"))
    }
}

fn array_at<const N: usize>(bytes: &[u8], at: u64) -> Option<[u8; N]> {
    let at = usize::try_from(at).ok()?;
    bytes.get(at..at.checked_add(N)?)?.try_into().ok()
}

fn signature_at(bytes: &[u8], at: u64) -> Option<&[u8]> {
    let at = usize::try_from(at).ok()?;
    bytes.get(at..at.checked_add(4)?)
}

fn no_end() -> PartSkip {
    corrupt("no end-of-central-directory record")
}

fn multi_disk() -> PartSkip {
    PartSkip::Unsupported("archive split over several disks".to_owned())
}

fn corrupt(what: &str) -> PartSkip {
    PartSkip::Corrupt(what.to_owned())
}

#[cfg(test)]
mod tests {
    use std::io::{Cursor, Write};

    use zip::ZipWriter;
    use zip::write::SimpleFileOptions;

    use super::*;

    #[test]
    fn the_directory_is_read_from_the_end_record() {
        let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
        for name in ["a.txt", "b/c.txt"] {
            zip.start_file(name, SimpleFileOptions::default()).unwrap();
            zip.write_all(b"text").unwrap();
        }
        let bytes = zip.finish().unwrap().into_inner();
        let start = bytes
            .windows(4)
            .position(|w| w == CENTRAL_HEADER_SIGNATURE)
            .unwrap();
        let end = bytes.windows(4).rposition(|w| w == END_SIGNATURE).unwrap();
        assert_eq!(
            check(&bytes, &ScanLimits::default()),
            Ok(Directory {
                entries: 2,
                bytes: (end - start) as u64
            })
        );
    }

    #[test]
    fn short_or_empty_input_has_no_end_record() {
        for bytes in [&b""[..], b"PK\x05\x06", &[0; 21]] {
            assert_eq!(check(bytes, &ScanLimits::default()), Err(no_end()));
        }
        let mut empty = END_SIGNATURE.to_vec();
        empty.resize(END_LEN, 0);
        let directory = Directory { entries: 0, bytes: 0 };
        assert_eq!(check(&empty, &ScanLimits::default()), Ok(directory));
    }
}
