//! Scanning evidence files: hashes of every part, text parts read as text, ZIP archives
//! walked in memory within [`ScanLimits`]. Nothing is written to disk.

use std::io::{Cursor, Read};

use md5::Md5;
use serde::Deserialize;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha512};
use zip::ZipArchive;
use zip::result::ZipError;

use crate::HashAlgo;
use crate::label::is_invisible_format;
use crate::matches::Matches;
use crate::set::{Hits, IndicatorSet};
use crate::zip_directory;

/// Bounds on the work one evidence file may cause. Byte counts are of data actually
/// produced by decompression; sizes declared in archive headers are not trusted.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScanLimits {
    /// Bytes of each text part that are scanned; the rest is hashed but not read as text.
    pub max_text_bytes: u64,
    /// Archive levels opened: 1 opens the evidence ZIP but no ZIP inside it; 0 opens none.
    pub max_archive_depth: u32,
    /// Archive entries examined, counted over all levels.
    pub max_archive_entries: u32,
    /// Entries one archive may announce. The zip crate indexes them all before the first
    /// is examined, so a larger archive is refused whole, before it is indexed.
    pub max_entries_per_archive: u32,
    /// Bytes one archive's central directory may take, with its ZIP64 end records. The
    /// index holds every entry's name and extra fields: a larger directory is refused whole.
    pub max_directory_bytes: u64,
    /// Decompressed bytes over all entries of all levels.
    pub max_total_uncompressed: u64,
    /// Decompressed bytes of one entry, which is held in memory while it is scanned.
    pub max_entry_uncompressed: u64,
    /// Decompressed ÷ compressed size above which an entry is taken for a bomb. Checked once
    /// an entry passes [`RATIO_GRACE_BYTES`], so small files that compress well are fine.
    pub max_compression_ratio: u64,
}

/// Output an entry may produce before its compression ratio is checked.
pub const RATIO_GRACE_BYTES: u64 = 1024 * 1024;

const MIB: u64 = 1024 * 1024;

impl Default for ScanLimits {
    /// Sized for the intake's 512 MiB evidence files on a small worker: at most
    /// `depth × 64 MiB` of entries in memory at once, as many archive indexes of at most
    /// 65,535 entries and 8 MiB of directory, and a bounded amount of inflating.
    fn default() -> Self {
        Self {
            max_text_bytes: 16 * MIB,
            max_archive_depth: 3,
            max_archive_entries: 10_000,
            // As many as a classic (not ZIP64) end record can announce, with names of about
            // 80 bytes: far more than `max_archive_entries` lets be examined.
            max_entries_per_archive: 65_535,
            max_directory_bytes: 8 * MIB,
            max_total_uncompressed: 1024 * MIB,
            max_entry_uncompressed: 64 * MIB,
            max_compression_ratio: 200,
        }
    }
}

/// What scanning one evidence file found and did.
#[derive(Debug, Default)]
pub struct FileScan {
    pub matches: Matches,
    /// Parts read as text.
    pub scanned: Vec<ScannedPart>,
    /// Parts not read as text, and why. Their hashes were still compared when complete.
    pub skipped: Vec<SkippedPart>,
}

/// The file name, then the entry names down through nested archives. These names come
/// from the reporter's files: treat them as report content (show, never log).
pub type PartPath = Vec<String>;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScannedPart {
    pub path: PartPath,
    /// Size of the part.
    pub bytes: u64,
    /// Whether only the first `max_text_bytes` were scanned.
    pub truncated: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkippedPart {
    pub path: PartPath,
    pub reason: PartSkip,
}

/// Why (part of) a file was not read as text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PartSkip {
    #[error("binary content")]
    Binary,
    #[error("archive nested deeper than {limit} levels")]
    TooDeep { limit: u32 },
    #[error("{not_examined} entries not examined: limit of {limit} entries reached")]
    TooManyEntries { not_examined: u64, limit: u32 },
    /// Refused before any entry was read; see [`ScanLimits::max_entries_per_archive`].
    #[error("archive announces {announced} entries, more than the {limit} one archive may have")]
    DirectoryTooManyEntries { announced: u64, limit: u32 },
    /// Refused before any entry was read; see [`ScanLimits::max_directory_bytes`].
    #[error("archive directory of {announced} bytes is larger than the limit of {limit} bytes")]
    DirectoryTooLarge { announced: u64, limit: u64 },
    #[error("entry larger than {limit} bytes")]
    EntryTooLarge { limit: u64 },
    #[error("archive contents larger than {limit} bytes in total")]
    TotalTooLarge { limit: u64 },
    #[error("compression ratio above {limit}: possible zip bomb")]
    CompressionRatio { limit: u64 },
    #[error("encrypted entry")]
    Encrypted,
    #[error("unsupported archive feature: {0}")]
    Unsupported(String),
    #[error("damaged or truncated archive: {0}")]
    Corrupt(String),
}

/// ZIP local file header signature.
const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
/// Text sniffing looks at this many leading bytes.
const SNIFF_BYTES: usize = 8 * 1024;
/// Longest part name kept in a report; archive entry names are up to 64 KiB.
const MAX_NAME_CHARS: usize = 512;

impl IndicatorSet {
    /// Scans one evidence file: hashes, text and (nested) ZIP archives. Hostile or damaged
    /// input never fails the scan; what could not be read is listed in
    /// [`FileScan::skipped`].
    pub fn scan_file(&self, file_name: &str, bytes: &[u8], limits: &ScanLimits) -> FileScan {
        let mut walk = Walk {
            set: self,
            limits,
            hits: Hits::new(),
            out: FileScan::default(),
            entries: 0,
            inflated: 0,
        };
        let mut path = vec![clean_name(file_name)];
        walk.part(&mut path, bytes, 0);
        let mut out = walk.out;
        out.matches = self.matches(walk.hits);
        out
    }
}

struct Walk<'a> {
    set: &'a IndicatorSet,
    limits: &'a ScanLimits,
    hits: Hits,
    out: FileScan,
    entries: u64,
    inflated: u64,
}

impl Walk<'_> {
    fn skip(&mut self, path: &PartPath, reason: PartSkip) {
        self.out.skipped.push(SkippedPart {
            path: path.clone(),
            reason,
        });
    }

    /// `depth` is the number of archives `bytes` is inside.
    fn part(&mut self, path: &mut PartPath, bytes: &[u8], depth: u32) {
        for algo in self.set.hash_algos() {
            self.set
                .collect_digest(algo, &digest(algo, bytes), &mut self.hits);
        }
        if bytes.starts_with(ZIP_MAGIC) {
            if depth < self.limits.max_archive_depth {
                self.archive(path, bytes, depth);
            } else {
                self.skip(
                    path,
                    PartSkip::TooDeep {
                        limit: self.limits.max_archive_depth,
                    },
                );
            }
            return;
        }
        let max = usize::try_from(self.limits.max_text_bytes).unwrap_or(usize::MAX);
        match text_of(bytes, max) {
            Some(text) => {
                self.set.collect_text(&text, &mut self.hits);
                let truncated = bytes.len() > max;
                self.out.scanned.push(ScannedPart {
                    path: path.clone(),
                    bytes: bytes.len() as u64,
                    truncated,
                });
            }
            None => self.skip(path, PartSkip::Binary),
        }
    }

    fn archive(&mut self, path: &mut PartPath, bytes: &[u8], depth: u32) {
        if let Err(reason) = zip_directory::check(bytes, self.limits) {
            return self.skip(path, reason);
        }
        let mut archive = match ZipArchive::new(Cursor::new(bytes)) {
            Ok(archive) => archive,
            Err(e) => return self.skip(path, skip_for(e)),
        };
        let limit = self.limits.max_archive_entries;
        for i in 0..archive.len() {
            if self.entries >= u64::from(limit) {
                let not_examined = (archive.len() - i) as u64;
                return self.skip(path, PartSkip::TooManyEntries { not_examined, limit });
            }
            if self.inflated >= self.limits.max_total_uncompressed {
                let limit = self.limits.max_total_uncompressed;
                return self.skip(path, PartSkip::TotalTooLarge { limit });
            }
            self.entries += 1;
            let (name, is_dir, encrypted, compressed) = match archive.by_index_data(i) {
                Ok(entry) => {
                    let name = entry.name().map_or_else(
                        |_| String::from_utf8_lossy(entry.name_raw()).into_owned(),
                        |n| n.into_owned(),
                    );
                    (name, entry.is_dir(), entry.encrypted(), entry.compressed_size())
                }
                Err(e) => return self.skip(path, skip_for(e)),
            };
            if is_dir {
                continue;
            }
            path.push(clean_name(&name));
            if encrypted {
                self.skip(path, PartSkip::Encrypted);
            } else {
                // The data cannot be longer than the archive holding it, whatever the header says.
                let compressed = compressed.min(bytes.len() as u64);
                match self.inflate(&mut archive, i, compressed) {
                    Ok(data) => self.part(path, &data, depth + 1),
                    Err(reason) => self.skip(path, reason),
                }
            }
            path.pop();
        }
    }

    /// Reads one entry whole, stopping as soon as any limit is passed.
    fn inflate(
        &mut self,
        archive: &mut ZipArchive<Cursor<&[u8]>>,
        index: usize,
        compressed: u64,
    ) -> Result<Vec<u8>, PartSkip> {
        let limits = self.limits;
        let mut entry = archive.by_index(index).map_err(skip_for)?;
        let mut data = Vec::new();
        let mut chunk = vec![0; 64 * 1024];
        loop {
            let n = match entry.read(&mut chunk) {
                Ok(0) => return Ok(data),
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(PartSkip::Corrupt(e.to_string())),
            };
            self.inflated += n as u64;
            let produced = (data.len() + n) as u64;
            if produced > limits.max_entry_uncompressed {
                return Err(PartSkip::EntryTooLarge {
                    limit: limits.max_entry_uncompressed,
                });
            }
            if self.inflated > limits.max_total_uncompressed {
                return Err(PartSkip::TotalTooLarge {
                    limit: limits.max_total_uncompressed,
                });
            }
            if produced > RATIO_GRACE_BYTES && produced / compressed.max(1) > limits.max_compression_ratio {
                return Err(PartSkip::CompressionRatio {
                    limit: limits.max_compression_ratio,
                });
            }
            data.extend_from_slice(chunk.get(..n).unwrap_or_default());
        }
    }
}

fn skip_for(error: ZipError) -> PartSkip {
    match error {
        ZipError::UnsupportedArchive(what) => PartSkip::Unsupported(what.to_owned()),
        ZipError::CompressionMethodNotSupported(method) => {
            PartSkip::Unsupported(format!("compression method {method}"))
        }
        ZipError::InvalidPassword => PartSkip::Encrypted,
        other => PartSkip::Corrupt(other.to_string()),
    }
}

/// Archive entry names are chosen by whoever made the archive: keep them printable and short.
/// Invisible formatting is marked like control characters, so that a RIGHT-TO-LEFT OVERRIDE
/// cannot show `photo\u{202E}gpj.exe` as `photoexe.jpg`.
pub(crate) fn clean_name(name: &str) -> String {
    name.chars()
        .take(MAX_NAME_CHARS)
        .map(|c| {
            if c.is_control() || is_invisible_format(c) {
                '\u{fffd}'
            } else {
                c
            }
        })
        .collect()
}

/// The first `max` bytes as text, if the content looks like text: UTF-8 without NUL in
/// the first 8 KiB, or UTF-16 with a byte-order mark. File names are not trusted for this.
fn text_of(bytes: &[u8], max: usize) -> Option<String> {
    let head = bytes.get(..max.min(bytes.len())).unwrap_or(bytes);
    if let Some(text) = utf16_with_bom(head) {
        return Some(text);
    }
    let sniff = head.get(..SNIFF_BYTES).unwrap_or(head);
    if sniff.contains(&0) {
        return None;
    }
    match std::str::from_utf8(sniff) {
        Ok(_) => {}
        // A character cut by the sniff window is fine; an invalid one is not.
        Err(e) if e.error_len().is_none() && sniff.len() < bytes.len() => {}
        Err(_) => return None,
    }
    Some(String::from_utf8_lossy(head).into_owned())
}

fn utf16_with_bom(bytes: &[u8]) -> Option<String> {
    let little = match bytes.get(..2)? {
        [0xff, 0xfe] => true,
        [0xfe, 0xff] => false,
        _ => return None,
    };
    let units = bytes.get(2..)?.chunks_exact(2).map(|pair| match pair {
        [a, b] if little => u16::from_le_bytes([*a, *b]),
        [a, b] => u16::from_be_bytes([*a, *b]),
        _ => 0,
    });
    let text: String = char::decode_utf16(units)
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect();
    (!text.contains('\0')).then_some(text)
}

fn digest(algo: HashAlgo, bytes: &[u8]) -> String {
    match algo {
        HashAlgo::Md5 => hex(&Md5::digest(bytes)),
        HashAlgo::Sha1 => hex(&Sha1::digest(bytes)),
        HashAlgo::Sha256 => hex(&Sha256::digest(bytes)),
        HashAlgo::Sha512 => hex(&Sha512::digest(bytes)),
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffing_decides_text() {
        assert_eq!(
            text_of(b"plain log line\n", 100).as_deref(),
            Some("plain log line\n")
        );
        assert_eq!(text_of(b"abc\0def", 100), None);
        assert_eq!(text_of(&[0xff, 0xd8, 0xff, 0xe0, 0x00], 100), None);
        assert_eq!(text_of("héllo".as_bytes(), 2).as_deref(), Some("h\u{fffd}"));
        let utf16: Vec<u8> = [0xff, 0xfe]
            .into_iter()
            .chain("a.example".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        assert_eq!(text_of(&utf16, 1000).as_deref(), Some("a.example"));
    }

    #[test]
    fn multibyte_char_cut_by_sniff_window_is_text() {
        let mut text = "a".repeat(SNIFF_BYTES - 1).into_bytes();
        text.extend_from_slice("é and more".as_bytes());
        assert!(text_of(&text, usize::MAX).is_some());
    }

    #[test]
    fn digests_are_lower_hex() {
        assert_eq!(digest(HashAlgo::Md5, b""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(
            digest(HashAlgo::Sha1, b"abc"),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
    }

    #[test]
    fn names_are_made_printable() {
        assert_eq!(clean_name("a\u{1b}[31m.txt"), "a\u{fffd}[31m.txt");
        assert_eq!(clean_name("photo\u{202E}gpj.exe"), "photo\u{fffd}gpj.exe");
        assert_eq!(clean_name(&"x".repeat(5000)).len(), MAX_NAME_CHARS);
    }
}
