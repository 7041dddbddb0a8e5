//! JPEG: keep the segments on an allowlist ([`classify`]) and the entropy-coded data
//! verbatim; drop every other segment.

use std::collections::BTreeSet;

use crate::{NotScrubbedReason, Removed, Rendition, ScrubResult, exif, malformed};

const TEM: u8 = 0x01;
const DHT: u8 = 0xC4;
const JPG: u8 = 0xC8;
const DAC: u8 = 0xCC;
const RST0: u8 = 0xD0;
const RST7: u8 = 0xD7;
const SOI: u8 = 0xD8;
const EOI: u8 = 0xD9;
const SOS: u8 = 0xDA;
const DQT: u8 = 0xDB;
const DRI: u8 = 0xDD;
const APP0: u8 = 0xE0;
const APP1: u8 = 0xE1;
const APP2: u8 = 0xE2;
const APP13: u8 = 0xED;
const APP14: u8 = 0xEE;
const COM: u8 = 0xFE;

/// JFIF APP0 payload up to and including the thumbnail dimensions.
const JFIF_HEADER_LEN: usize = 14;

pub(crate) fn scrub(input: &[u8]) -> ScrubResult {
    let mut out = Vec::with_capacity(input.len());
    let mut removed = BTreeSet::new();
    let Some(mut pos) = input.starts_with(&[0xFF, SOI]).then_some(2) else {
        return Err(malformed("JPEG does not start with SOI"));
    };
    out.extend_from_slice(&[0xFF, SOI]);
    let mut seen_scan = false;
    loop {
        match input.get(pos) {
            Some(0xFF) => {}
            Some(_) => return Err(malformed("JPEG has data where a marker should be")),
            None => return Err(malformed("JPEG ends before its end-of-image marker")),
        }
        // Fill bytes (0xFF) may precede a marker.
        while input.get(pos) == Some(&0xFF) {
            pos += 1;
        }
        let Some(&marker) = input.get(pos) else {
            return Err(malformed("JPEG ends before its end-of-image marker"));
        };
        pos += 1;
        match marker {
            EOI => {
                if !seen_scan {
                    return Err(malformed("JPEG has no image data"));
                }
                out.extend_from_slice(&[0xFF, EOI]);
                if input.len() > pos {
                    removed.insert(Removed::TrailingData);
                }
                return Ok(Rendition { bytes: out, removed });
            }
            // 0x02..=0xBF are reserved: no encoder writes them.
            0x00 | 0x02..=0xBF | SOI => return Err(malformed("JPEG has an invalid or misplaced marker")),
            // Standalone markers: no length field.
            RST0..=RST7 => out.extend_from_slice(&[0xFF, marker]),
            // Carries nothing, but is not on the allowlist either.
            TEM => {
                removed.insert(Removed::OtherMetadata);
            }
            _ => {
                let segment = segment_at(input, pos)?;
                pos += segment.len();
                let payload = segment.get(2..).unwrap_or_default();
                match classify(marker, payload) {
                    Keep::Verbatim => {
                        out.extend_from_slice(&[0xFF, marker]);
                        out.extend_from_slice(segment);
                    }
                    Keep::JfifWithoutThumbnail(header) => {
                        out.extend_from_slice(&[0xFF, APP0, 0, 16]);
                        out.extend_from_slice(header);
                        out.extend_from_slice(&[0, 0]);
                        removed.insert(Removed::Thumbnail);
                    }
                    Keep::Drop(what) => removed.extend(what.iter().copied()),
                }
                if marker == SOS {
                    let end = scan_end(input, pos)?;
                    out.extend_from_slice(input.get(pos..end).unwrap_or_default());
                    pos = end;
                    seen_scan = true;
                }
            }
        }
    }
}

/// The segment starting at `pos` (its two length bytes and payload).
fn segment_at(input: &[u8], pos: usize) -> Result<&[u8], NotScrubbedReason> {
    let len = match input.get(pos..pos + 2) {
        Some(&[hi, lo]) => usize::from(u16::from_be_bytes([hi, lo])),
        _ => return Err(malformed("JPEG segment length missing")),
    };
    if len < 2 {
        return Err(malformed("JPEG segment length too small"));
    }
    input
        .get(pos..pos + len)
        .ok_or(malformed("JPEG segment runs past the end of the file"))
}

/// The offset of the first marker after the entropy-coded data starting at `pos`.
fn scan_end(input: &[u8], mut pos: usize) -> Result<usize, NotScrubbedReason> {
    loop {
        let ff = input
            .get(pos..)
            .and_then(|rest| memchr::memchr(0xFF, rest))
            .ok_or(malformed("JPEG ends inside image data"))?;
        let at = pos + ff;
        match input.get(at + 1) {
            None => return Err(malformed("JPEG ends inside image data")),
            // Stuffed zero and restart markers belong to the scan; 0xFF is a fill byte.
            Some(0x00 | 0xD0..=0xD7) => pos = at + 2,
            Some(0xFF) => pos = at + 1,
            Some(_) => return Ok(at),
        }
    }
}

enum Keep<'a> {
    Verbatim,
    /// A JFIF header whose thumbnail is dropped: the 12 bytes before the thumbnail size.
    JfifWithoutThumbnail(&'a [u8]),
    Drop(&'static [Removed]),
}

/// The allowlist: what a rendition keeps of a segment with a length field. Anything not
/// named here is dropped.
///
/// Kept as they are:
/// - frame headers SOF0–SOF15 (0xC0–0xCF, except DHT, JPG and DAC, which share the range);
/// - the tables DHT, DAC, DQT and DRI, and SOS (whose entropy-coded data the caller copies);
/// - the ICC profile (APP2 `ICC_PROFILE`), by the crate's policy, and the Adobe segment
///   (APP14 `Adobe`), which says how to decode CMYK and YCCK colour.
///
/// Kept without its thumbnail: the JFIF header (APP0 `JFIF`).
///
/// Dropped: every other APPn, COM, JPG (0xC8), DNL, DHP, EXP and JPG0–JPG13 (0xF0–0xFD).
/// libjpeg, for one, skips DNL and stops with an error at DHP, EXP (hierarchical mode) and
/// JPGn (extensions), so dropping them loses nothing a viewer shows; each can carry
/// arbitrary bytes.
fn classify(marker: u8, payload: &[u8]) -> Keep<'_> {
    match marker {
        0xC0..=0xCF if !matches!(marker, DHT | JPG | DAC) => Keep::Verbatim,
        DHT | DAC | DQT | DRI | SOS => Keep::Verbatim,
        APP0 if payload.starts_with(b"JFIF\0") => match payload.get(..JFIF_HEADER_LEN) {
            Some(header) if payload.len() > JFIF_HEADER_LEN || !header.ends_with(&[0, 0]) => {
                Keep::JfifWithoutThumbnail(header.get(..JFIF_HEADER_LEN - 2).unwrap_or_default())
            }
            _ => Keep::Verbatim,
        },
        APP2 if payload.starts_with(b"ICC_PROFILE\0") => Keep::Verbatim,
        APP14 if payload.starts_with(b"Adobe") => Keep::Verbatim,
        // The rest is dropped; these say what kind of metadata went.
        APP0 if payload.starts_with(b"JFXX\0") => Keep::Drop(&[Removed::Thumbnail]),
        APP1 if payload.starts_with(b"Exif\0") => Keep::Drop(exif::removed_by(payload)),
        APP1 if payload.starts_with(b"http://ns.adobe.com/xap/1.0/\0")
            || payload.starts_with(b"http://ns.adobe.com/xmp/extension/\0") =>
        {
            Keep::Drop(&[Removed::Xmp])
        }
        APP13 if payload.starts_with(b"Photoshop 3.0\0") => Keep::Drop(&[Removed::Iptc]),
        COM => Keep::Drop(&[Removed::Comment]),
        _ => Keep::Drop(&[Removed::OtherMetadata]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(marker: u8, payload: &[u8]) -> bool {
        !matches!(classify(marker, payload), Keep::Drop(_))
    }

    #[test]
    fn only_allowlisted_segments_are_kept() {
        let frames_and_tables: Vec<u8> = (0xC0..=0xCF).filter(|&m| m != JPG).collect();
        let mut expected = frames_and_tables;
        expected.extend([SOS, DQT, DRI]);
        let kept_without_payload: Vec<u8> = (0x01..=0xFE).filter(|&m| kept(m, b"")).collect();
        assert_eq!(kept_without_payload, expected);

        assert!(kept(APP0, b"JFIF\0\x01\x02\0\0\x01\0\x01\0\0"));
        assert!(kept(APP2, b"ICC_PROFILE\0\x01\x01"));
        assert!(kept(APP14, b"Adobe\0\x64\0\0\0\0\x01"));
        for (marker, payload) in [
            (APP0, &b"JFXX\0\x10"[..]),
            (APP1, b"Exif\0\0"),
            (APP2, b"MPF\0"),
            (APP14, b"Ducky"),
            (0xDC, b"\0\x10"),
            (0xDE, b"\0\x08"),
            (0xDF, b"\x11"),
            (0xF0, b"JPG0"),
            (0xFD, b"JPG13"),
            (COM, b"made with"),
        ] {
            assert!(!kept(marker, payload), "{marker:#04x}");
        }
    }
}
