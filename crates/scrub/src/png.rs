//! PNG (and APNG): keep critical and rendering chunks verbatim, drop the rest.

use std::collections::BTreeSet;

use crate::{Removed, Rendition, ScrubResult, exif, malformed};

pub(crate) const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// Ancillary chunks that affect how the image is shown (colour, transparency, physical
/// size, animation). Everything else ancillary is metadata.
const RENDERING: &[&[u8; 4]] = &[
    b"tRNS", b"cHRM", b"gAMA", b"iCCP", b"sBIT", b"sRGB", b"cICP", b"mDCV", b"mDCv", b"cLLI", b"cLLi",
    b"bKGD", b"hIST", b"pHYs", b"sPLT", b"acTL", b"fcTL", b"fdAT", b"oFFs", b"pCAL", b"sCAL", b"sTER",
    b"gIFg",
];

/// The largest chunk length PNG allows.
const MAX_CHUNK_LEN: usize = 0x7FFF_FFFF;

pub(crate) fn scrub(input: &[u8]) -> ScrubResult {
    let mut pos = SIGNATURE.len();
    if input.get(..pos) != Some(SIGNATURE) {
        return Err(malformed("PNG signature missing"));
    }
    let mut out = Vec::with_capacity(input.len());
    out.extend_from_slice(SIGNATURE);
    let mut removed = BTreeSet::new();
    loop {
        let (len, chunk_type) = match input.get(pos..pos + 8) {
            Some(&[a, b, c, d, t0, t1, t2, t3]) => {
                let len = u32::from_be_bytes([a, b, c, d]);
                (usize::try_from(len).unwrap_or(usize::MAX), [t0, t1, t2, t3])
            }
            _ => return Err(malformed("PNG ends before IEND")),
        };
        if len > MAX_CHUNK_LEN || !chunk_type.iter().all(u8::is_ascii_alphabetic) {
            return Err(malformed("PNG chunk header is invalid"));
        }
        // Length, type, data and CRC.
        let chunk = pos
            .checked_add(12 + len)
            .and_then(|end| input.get(pos..end))
            .ok_or(malformed("PNG chunk runs past the end of the file"))?;
        pos += chunk.len();
        let data = chunk.get(8..8 + len).unwrap_or_default();
        match classify(&chunk_type, data) {
            Keep => out.extend_from_slice(chunk),
            Drop(what) => removed.extend(what.iter().copied()),
            Unknown => return Err(malformed("PNG has an unknown critical chunk")),
        }
        if &chunk_type == b"IEND" {
            if input.len() > pos {
                removed.insert(Removed::TrailingData);
            }
            return Ok(Rendition { bytes: out, removed });
        }
    }
}

enum Chunk {
    Keep,
    /// Dropped; removing it removes these.
    Drop(&'static [Removed]),
    Unknown,
}

use Chunk::{Drop, Keep, Unknown};

fn classify(chunk_type: &[u8; 4], data: &[u8]) -> Chunk {
    match chunk_type {
        b"tEXt" | b"zTXt" | b"iTXt" => Drop(text_kind(data)),
        b"eXIf" => Drop(exif::removed_by(data)),
        b"tIME" => Drop(&[Removed::Timestamp]),
        b"IHDR" | b"PLTE" | b"IDAT" | b"IEND" => Keep,
        _ if RENDERING.contains(&chunk_type) => Keep,
        // Decoders must reject an unknown critical chunk, so we cannot say what it holds.
        _ if chunk_type[0].is_ascii_uppercase() => Unknown,
        _ => Drop(&[Removed::OtherMetadata]),
    }
}

/// Text chunks start with a keyword; some keywords hold whole metadata blocks.
fn text_kind(data: &[u8]) -> &'static [Removed] {
    let keyword = data.split(|&b| b == 0).next().unwrap_or_default();
    match keyword {
        b"XML:com.adobe.xmp" => &[Removed::Xmp],
        // ImageMagick stores whole profiles hex-encoded under these keywords.
        _ => match keyword.strip_prefix(b"Raw profile type ") {
            Some(b"exif" | b"APP1") => &[Removed::Exif],
            Some(b"xmp") => &[Removed::Xmp],
            Some(b"iptc" | b"8bim") => &[Removed::Iptc],
            _ => &[Removed::PngText],
        },
    }
}
