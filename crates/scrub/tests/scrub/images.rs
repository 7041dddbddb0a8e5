use redress_scrub::{FileKind, Limits, Outcome, Removed, scrub, sha256_hex, sniff};

use crate::fixtures::*;
use crate::{assert_idempotent, scrubbed};

#[test]
fn jpeg_loses_exif_gps_xmp_iptc_comment_and_trailer_but_not_pixels() {
    let input = jpeg_with_metadata();
    let before = input.clone();
    assert!(contains(&input, AUTHOR) && contains(&input, GPS_POINTER_ENTRY));

    let (output, removed) = scrubbed(&input);

    assert_eq!(input, before, "the original is untouched");
    assert_eq!(
        removed,
        [
            Removed::Exif,
            Removed::Gps,
            Removed::Xmp,
            Removed::Iptc,
            Removed::Comment,
            Removed::TrailingData
        ]
    );
    for needle in [
        AUTHOR,
        b"Exif\0\0",
        XMP_NAMESPACE,
        GPS_POINTER_ENTRY,
        b"Photoshop 3.0",
        b"TestCam",
    ] {
        assert!(
            !contains(&output, needle),
            "{:?} survived",
            String::from_utf8_lossy(needle)
        );
    }
    assert!(contains(&output, ICC_CHUNK), "the ICC profile is kept");
    let expected_markers: Vec<u8> = [0xE2]
        .into_iter()
        .chain(jpeg_header_markers(&jpeg_plain()))
        .collect();
    assert_eq!(
        jpeg_header_markers(&output),
        expected_markers,
        "only metadata segments are gone"
    );
    assert_eq!(
        jpeg_scan_data(&output),
        jpeg_scan_data(&input),
        "entropy-coded data is byte-identical"
    );
    assert!(output.ends_with(&[0xFF, 0xD9]));
    assert_eq!(pixels(&output), pixels(&input));
    assert_idempotent(&output, FileKind::Jpeg);
}

#[test]
fn jpeg_keeps_only_allowlisted_segments() {
    const HIDDEN: &[u8] = b"REDRESS-HIDDEN-SEGMENT";
    let plain = jpeg_plain();
    let eoi = plain.len() - 2;
    assert_eq!(&plain[eoi..], [0xFF, 0xD9]);
    let hidden = |marker: u8| jpeg_segment(marker, &[HIDDEN, &[marker]].concat());
    let icc = jpeg_segment(0xE2, ICC_CHUNK);
    // Adobe, version 100, no flags, transform 1 (YCbCr, as the encoder wrote).
    let adobe = jpeg_segment(0xEE, b"Adobe\0\x64\0\0\0\0\x01");
    // DRI: no restart interval.
    let dri = jpeg_segment(0xDD, &[0, 0]);

    // JPG0, DHP, EXP and JPG (0xC8) between the allowed segments, then JPG1–JPG13, TEM.
    let mut input = plain[..2].to_vec();
    for segment in [hidden(0xF0), icc.clone(), hidden(0xDE), adobe.clone()] {
        input.extend(segment);
    }
    for segment in [hidden(0xDF), dri.clone(), hidden(0xC8)] {
        input.extend(segment);
    }
    for marker in 0xF1..=0xFD {
        input.extend(hidden(marker));
    }
    input.extend_from_slice(&[0xFF, 0x01]);
    input.extend_from_slice(&plain[2..eoi]);
    // DNL belongs after the first scan.
    input.extend(hidden(0xDC));
    input.extend_from_slice(&plain[eoi..]);
    assert!(contains(&input, HIDDEN));

    let (output, removed) = scrubbed(&input);

    let expected = [&plain[..2], &icc, &adobe, &dri, &plain[2..]].concat();
    assert_eq!(
        output, expected,
        "the allowed segments, in order, and nothing else"
    );
    assert!(!contains(&output, HIDDEN));
    assert_eq!(removed, [Removed::OtherMetadata]);
    assert_eq!(pixels(&output), pixels(&plain));
    assert_idempotent(&output, FileKind::Jpeg);
}

#[test]
fn clean_jpeg_is_unchanged() {
    let input = jpeg_plain();
    assert_eq!(
        scrub(&input, &Limits::default()),
        Outcome::Unchanged { kind: FileKind::Jpeg }
    );
}

#[test]
fn jfif_thumbnail_is_dropped_and_header_kept() {
    let plain = jpeg_plain();
    assert_eq!(&plain[2..4], [0xFF, 0xE0], "the encoder writes JFIF first");
    let jfif_len = usize::from(u16::from_be_bytes([plain[4], plain[5]]));
    let mut jfif = plain[6..4 + jfif_len].to_vec();
    jfif[12] = 2;
    jfif[13] = 1;
    jfif.extend_from_slice(&[0xAA; 6]);
    let input = [&plain[..2], &jpeg_segment(0xE0, &jfif), &plain[4 + jfif_len..]].concat();

    let (output, removed) = scrubbed(&input);

    assert_eq!(removed, [Removed::Thumbnail]);
    assert_eq!(output, plain);
}

#[test]
fn png_loses_text_exif_xmp_time_and_private_chunks_but_not_pixels() {
    let input = png_with_metadata();
    let before = input.clone();

    let (output, removed) = scrubbed(&input);

    assert_eq!(input, before);
    assert_eq!(
        removed,
        [
            Removed::Exif,
            Removed::Gps,
            Removed::Xmp,
            Removed::PngText,
            Removed::Timestamp,
            Removed::TrailingData,
            Removed::OtherMetadata
        ]
    );
    for needle in [
        AUTHOR,
        XMP_NAMESPACE,
        GPS_POINTER_ENTRY,
        b"tEXt",
        b"eXIf",
        b"iTXt",
        b"tIME",
        b"TestCam",
    ] {
        assert!(
            !contains(&output, needle),
            "{:?} survived",
            String::from_utf8_lossy(needle)
        );
    }
    let mut expected = png_chunk_types(&png_plain());
    expected.insert(1, *b"gAMA");
    assert_eq!(
        png_chunk_types(&output),
        expected,
        "critical and rendering chunks kept in order"
    );
    assert_eq!(pixels(&output), pixels(&input));
    assert_idempotent(&output, FileKind::Png);
}

#[test]
fn clean_png_is_unchanged() {
    assert_eq!(
        scrub(&png_plain(), &Limits::default()),
        Outcome::Unchanged { kind: FileKind::Png }
    );
}

#[test]
fn webp_loses_exif_xmp_and_unknown_chunks_and_flags_but_not_pixels() {
    let input = webp_with_metadata();
    let before = input.clone();

    let (output, removed) = scrubbed(&input);

    assert_eq!(input, before);
    assert_eq!(
        removed,
        [
            Removed::Exif,
            Removed::Gps,
            Removed::Xmp,
            Removed::TrailingData,
            Removed::OtherMetadata
        ]
    );
    for needle in [
        AUTHOR,
        XMP_NAMESPACE,
        GPS_POINTER_ENTRY,
        b"EXIF",
        b"XMP ",
        b"TestCam",
    ] {
        assert!(
            !contains(&output, needle),
            "{:?} survived",
            String::from_utf8_lossy(needle)
        );
    }
    assert_eq!(riff_fourccs(&output), [*b"VP8X", *b"VP8L"]);
    assert_eq!(
        output[20] & (VP8X_EXIF | VP8X_XMP),
        0,
        "VP8X no longer announces EXIF or XMP"
    );
    let riff_size = u32::from_le_bytes(output[4..8].try_into().unwrap()) as usize;
    assert_eq!(riff_size + 8, output.len());
    let vp8l = &webp_plain()[12..];
    assert!(output.ends_with(vp8l), "the image chunk is byte-identical");
    assert_eq!(pixels(&output), pixels(&input));
    assert_idempotent(&output, FileKind::Webp);
}

#[test]
fn clean_webp_is_unchanged() {
    assert_eq!(
        scrub(&webp_plain(), &Limits::default()),
        Outcome::Unchanged { kind: FileKind::Webp }
    );
}

#[test]
fn animated_webp_frames_lose_unknown_chunks() {
    let vp8l = &webp_plain()[12..];
    let mut frame = vec![0; 16];
    frame.extend_from_slice(vp8l);
    frame.extend(riff_chunk(b"NOTE", AUTHOR));
    let mut vp8x = vec![0x02, 0, 0, 0];
    vp8x.extend_from_slice(&(WIDTH - 1).to_le_bytes()[..3]);
    vp8x.extend_from_slice(&(HEIGHT - 1).to_le_bytes()[..3]);
    let input = riff(&[
        riff_chunk(b"VP8X", &vp8x),
        riff_chunk(b"ANIM", &[0; 6]),
        riff_chunk(b"ANMF", &frame),
    ]);

    let (output, removed) = scrubbed(&input);

    assert_eq!(removed, [Removed::OtherMetadata]);
    assert!(!contains(&output, AUTHOR));
    assert_eq!(riff_fourccs(&output), [*b"VP8X", *b"ANIM", *b"ANMF"]);
    assert!(output.ends_with(vp8l));
}

#[test]
fn sniffing_goes_by_content() {
    assert_eq!(sniff(&jpeg_plain()), FileKind::Jpeg);
    assert_eq!(sniff(&png_plain()), FileKind::Png);
    assert_eq!(sniff(&webp_plain()), FileKind::Webp);
    assert_eq!(sniff(b"GIF89a"), FileKind::Other);
    assert_eq!(sniff(b""), FileKind::Other);
    assert_eq!(
        scrub(b"plain text that claims to be a .jpg", &Limits::default()),
        Outcome::NotScrubbed {
            kind: FileKind::Other,
            reason: redress_scrub::NotScrubbedReason::UnsupportedType
        }
    );
}

#[test]
fn input_over_the_size_limit_is_not_parsed() {
    let limits = Limits {
        max_input_bytes: 100,
        ..Limits::default()
    };
    assert_eq!(
        scrub(&jpeg_with_metadata(), &limits),
        Outcome::NotScrubbed {
            kind: FileKind::Jpeg,
            reason: redress_scrub::NotScrubbedReason::TooLarge
        }
    );
}

#[test]
fn sha256_hex_matches_a_known_digest() {
    assert_eq!(
        sha256_hex(b"abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}
