//! ZIP archives written byte by byte: the zip crate's writer is far too slow for a million
//! entries, and cannot write end records that lie. Shared with
//! `examples/zip_index_memory.rs`.

/// Offsets of the records in an archive from [`empty_entries`], for tests that alter them.
#[derive(Debug)]
pub struct Archive {
    pub bytes: Vec<u8>,
    /// Start of the first central directory header.
    pub central_directory: usize,
    /// Start of the ZIP64 end-of-central-directory record, when there is one.
    pub zip64_end: Option<usize>,
    /// Start of the end-of-central-directory record.
    pub end: usize,
}

/// An archive of `count` (at most 2^20) empty stored entries named by their number in five
/// hex digits, each with its local header, then the central directory and the end records.
/// ZIP64 end records are written when `zip64` is set or `count` does not fit the classic
/// record; the classic record then holds 0xFFFF for the counts and the true size and
/// offset, as Python's `zipfile` writes it.
pub fn empty_entries(count: u32, zip64: bool) -> Archive {
    let zip64 = zip64 || count > u32::from(u16::MAX - 1);
    let mut out = Vec::with_capacity(count as usize * 86 + 200);
    let mut offsets = Vec::with_capacity(count as usize);
    for i in 0..count {
        // Below 4 GiB for any count a test can hold in memory.
        offsets.push(out.len() as u32);
        let name = name(i);
        out.extend_from_slice(b"PK\x03\x04");
        put16(&mut out, 10); // version needed: stored
        put16(&mut out, 0); // flags
        put16(&mut out, 0); // method: stored
        put16(&mut out, 0); // time
        put16(&mut out, 0x21); // date: 1980-01-01
        put32(&mut out, 0); // CRC-32 of nothing
        put32(&mut out, 0); // compressed size
        put32(&mut out, 0); // uncompressed size
        put16(&mut out, name.len() as u16);
        put16(&mut out, 0); // extra field length
        out.extend_from_slice(&name);
    }
    let central_directory = out.len();
    for (i, offset) in (0..count).zip(offsets) {
        let name = name(i);
        out.extend_from_slice(b"PK\x01\x02");
        put16(&mut out, 20); // version made by
        put16(&mut out, 10); // version needed
        put16(&mut out, 0);
        put16(&mut out, 0);
        put16(&mut out, 0);
        put16(&mut out, 0x21);
        put32(&mut out, 0);
        put32(&mut out, 0);
        put32(&mut out, 0);
        put16(&mut out, name.len() as u16);
        put16(&mut out, 0); // extra field length
        put16(&mut out, 0); // comment length
        put16(&mut out, 0); // disk number start
        put16(&mut out, 0); // internal attributes
        put32(&mut out, 0); // external attributes
        put32(&mut out, offset);
        out.extend_from_slice(&name);
    }
    let cd_size = (out.len() - central_directory) as u64;
    let cd_offset = central_directory as u64;
    let zip64_end = zip64.then(|| {
        let at = out.len();
        out.extend_from_slice(b"PK\x06\x06");
        put64(&mut out, 44); // size of the rest of the record
        put16(&mut out, 45); // version made by
        put16(&mut out, 45); // version needed
        put32(&mut out, 0); // this disk
        put32(&mut out, 0); // disk of the central directory
        put64(&mut out, u64::from(count)); // entries on this disk
        put64(&mut out, u64::from(count)); // entries
        put64(&mut out, cd_size);
        put64(&mut out, cd_offset);
        out.extend_from_slice(b"PK\x06\x07");
        put32(&mut out, 0); // disk of the ZIP64 end record
        put64(&mut out, at as u64);
        put32(&mut out, 1); // disks
        at
    });
    let end = out.len();
    let entries = if zip64 { u16::MAX } else { count as u16 };
    out.extend_from_slice(b"PK\x05\x06");
    put16(&mut out, 0); // this disk
    put16(&mut out, 0); // disk of the central directory
    put16(&mut out, entries);
    put16(&mut out, entries);
    put32(&mut out, u32::try_from(cd_size).unwrap_or(u32::MAX));
    put32(&mut out, u32::try_from(cd_offset).unwrap_or(u32::MAX));
    put16(&mut out, 0); // comment length
    Archive {
        bytes: out,
        central_directory,
        zip64_end,
        end,
    }
}

/// Five hex digits, without the allocation `format!` costs a million times over.
fn name(i: u32) -> [u8; 5] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    std::array::from_fn(|d| DIGITS[(i >> (4 * (4 - d)) & 0xf) as usize])
}

fn put16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}
