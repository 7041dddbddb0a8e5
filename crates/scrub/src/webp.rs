//! WebP: keep image, alpha, animation and colour-profile chunks; drop the rest and clear
//! the EXIF and XMP flags of the extended header.

use std::collections::BTreeSet;

use crate::{NotScrubbedReason, Removed, Rendition, ScrubResult, exif, malformed};

const VP8X_EXIF: u8 = 0x08;
const VP8X_XMP: u8 = 0x04;
/// Position, size, duration and flags that start an `ANMF` payload.
const ANMF_HEADER_LEN: usize = 16;

pub(crate) fn is_webp(bytes: &[u8]) -> bool {
    bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP")
}

pub(crate) fn scrub(input: &[u8]) -> ScrubResult {
    let riff_size = match input.get(4..8) {
        Some(&[a, b, c, d]) if is_webp(input) => u32::from_le_bytes([a, b, c, d]),
        _ => return Err(malformed("WebP header missing")),
    };
    let riff_end = usize::try_from(riff_size)
        .ok()
        .and_then(|size| size.checked_add(8));
    let body = match riff_end {
        Some(end) if riff_size >= 4 => input.get(12..end),
        _ => None,
    }
    .ok_or(malformed("WebP RIFF size exceeds the file"))?;

    let mut removed = BTreeSet::new();
    if input.len() > body.len() + 12 {
        removed.insert(Removed::TrailingData);
    }
    let mut out = Vec::with_capacity(input.len());
    out.extend_from_slice(b"RIFF\0\0\0\0WEBP");
    let mut has_image = false;
    for (fourcc, data) in chunks(body)? {
        match &fourcc {
            b"VP8X" => {
                let mut header = data.to_vec();
                match header.first_mut() {
                    Some(flags) => *flags &= !(VP8X_EXIF | VP8X_XMP),
                    None => return Err(malformed("WebP VP8X chunk is empty")),
                }
                push_chunk(&mut out, &fourcc, &header);
            }
            b"VP8 " | b"VP8L" => {
                has_image = true;
                push_chunk(&mut out, &fourcc, data);
            }
            b"ALPH" | b"ANIM" | b"ICCP" => push_chunk(&mut out, &fourcc, data),
            b"ANMF" => {
                has_image = true;
                let frame = scrub_frame(data, &mut removed)?;
                push_chunk(&mut out, &fourcc, &frame);
            }
            _ => {
                removed.extend(dropped(&fourcc, data).iter().copied());
            }
        }
    }
    if !has_image {
        return Err(malformed("WebP has no image data"));
    }
    let size = u32::try_from(out.len() - 8).map_err(|_| malformed("WebP too large"))?;
    if let Some(slot) = out.get_mut(4..8) {
        slot.copy_from_slice(&size.to_le_bytes());
    }
    Ok(Rendition { bytes: out, removed })
}

/// An animation frame keeps its header and its image and alpha chunks.
fn scrub_frame(data: &[u8], removed: &mut BTreeSet<Removed>) -> Result<Vec<u8>, NotScrubbedReason> {
    let (header, rest) = data
        .split_at_checked(ANMF_HEADER_LEN)
        .ok_or(malformed("WebP animation frame too short"))?;
    let mut frame = header.to_vec();
    for (fourcc, data) in chunks(rest)? {
        match &fourcc {
            b"ALPH" | b"VP8 " | b"VP8L" => push_chunk(&mut frame, &fourcc, data),
            _ => removed.extend(dropped(&fourcc, data).iter().copied()),
        }
    }
    Ok(frame)
}

fn dropped(fourcc: &[u8; 4], data: &[u8]) -> &'static [Removed] {
    match fourcc {
        b"EXIF" => exif::removed_by(data),
        b"XMP " => &[Removed::Xmp],
        _ => &[Removed::OtherMetadata],
    }
}

/// A chunk's FourCC and data.
type Chunk<'a> = ([u8; 4], &'a [u8]);

/// Splits a sequence of RIFF chunks. Chunks are padded to an even length; a missing pad
/// byte at the very end is tolerated.
fn chunks(mut body: &[u8]) -> Result<Vec<Chunk<'_>>, NotScrubbedReason> {
    let mut chunks = Vec::new();
    while !body.is_empty() {
        let (fourcc, size) = match body.get(..8) {
            Some(&[f0, f1, f2, f3, s0, s1, s2, s3]) => {
                ([f0, f1, f2, f3], u32::from_le_bytes([s0, s1, s2, s3]))
            }
            _ => return Err(malformed("WebP chunk header truncated")),
        };
        let size = usize::try_from(size).map_err(|_| malformed("WebP chunk too large"))?;
        let data = size
            .checked_add(8)
            .and_then(|end| body.get(8..end))
            .ok_or(malformed("WebP chunk runs past the end of the file"))?;
        let padded = 8 + size + size % 2;
        body = body.get(padded..).unwrap_or_default();
        chunks.push((fourcc, data));
    }
    Ok(chunks)
}

fn push_chunk(out: &mut Vec<u8>, fourcc: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(fourcc);
    // Chunk data comes from an input whose RIFF size is a u32, so it fits.
    out.extend_from_slice(&u32::try_from(data.len()).unwrap_or(u32::MAX).to_le_bytes());
    out.extend_from_slice(data);
    if data.len() % 2 == 1 {
        out.push(0);
    }
}
