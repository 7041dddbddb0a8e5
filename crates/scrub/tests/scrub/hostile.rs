//! Truncated, corrupted and crafted inputs: each must give an outcome, quickly, without
//! a panic (not even one caught inside `scrub`).

use std::time::{Duration, Instant};

use lopdf::{Stream, dictionary};
use redress_scrub::{FileKind, LimitKind, Limits, NotScrubbedReason, OfficeKind, Outcome, scrub};

use crate::fixtures::*;
use crate::not_scrubbed_reason;

/// Scrubs and checks that no parser panicked (`scrub` would have caught it).
fn no_panic(input: &[u8], limits: &Limits) -> Outcome {
    let outcome = scrub(input, limits);
    if let Outcome::NotScrubbed {
        reason: NotScrubbedReason::Malformed(what),
        ..
    } = &outcome
    {
        assert!(
            !what.contains("unexpectedly"),
            "a parser panicked on {} bytes",
            input.len()
        );
    }
    outcome
}

/// As [`no_panic`], and a rendition, if any, does not name the author. (Random corruption
/// can rename a metadata key or marker into something unknown that is kept, so this holds
/// for cut files, not for corrupted ones.)
fn sane(input: &[u8], limits: &Limits) -> Outcome {
    let outcome = no_panic(input, limits);
    if let Outcome::Scrubbed { bytes, .. } = &outcome {
        assert!(
            !contains(bytes, AUTHOR),
            "a rendition of {} bytes names the author",
            input.len()
        );
    }
    outcome
}

/// Runs `body` and reports (in the assertion) if it took longer than the hostile-test
/// budget; generous, as the suite shares two cores.
fn quickly(name: &str, body: impl FnOnce()) {
    let start = Instant::now();
    body();
    let took = start.elapsed();
    assert!(took < Duration::from_secs(5), "{name} took {took:?}");
}

fn fixtures() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("jpeg", jpeg_with_metadata()),
        ("png", png_with_metadata()),
        ("webp", webp_with_metadata()),
        ("pdf", pdf_with_metadata()),
        ("docx", zip(&docx_entries(), false)),
    ]
}

#[test]
fn truncated_fixtures() {
    for (name, input) in fixtures() {
        quickly(name, || {
            // Every cut for the images; about 600 cuts for the larger containers.
            let step = (input.len() / 600).max(1);
            for cut in (0..input.len())
                .step_by(step)
                .chain(input.len().saturating_sub(64)..input.len())
            {
                sane(&input[..cut], &Limits::default());
            }
        });
    }
}

#[test]
fn corrupted_fixtures() {
    let mut rng = Rng::new(0x5C2B);
    for (name, input) in fixtures() {
        quickly(name, || {
            for _ in 0..300 {
                let mut corrupt = input.clone();
                for _ in 0..=rng.below(4) {
                    let at = rng.below(corrupt.len());
                    corrupt[at] = rng.next() as u8;
                }
                no_panic(&corrupt, &Limits::default());
            }
        });
    }
}

#[test]
fn random_bytes_behind_valid_magic() {
    let magics: [&[u8]; 5] = [
        b"\xFF\xD8\xFF",
        b"\x89PNG\r\n\x1a\n",
        b"RIFF\x00\x10\x00\x00WEBP",
        b"%PDF-1.7\n",
        b"PK\x03\x04[Content_Types].xml word/document.xml",
    ];
    let mut rng = Rng::new(42);
    quickly("random", || {
        for magic in magics {
            for _ in 0..300 {
                let len = rng.below(3000);
                let input = [magic, &rng.bytes(len)].concat();
                sane(&input, &Limits::default());
            }
        }
    });
}

#[test]
fn jpeg_segment_length_past_the_end() {
    let mut input = b"\xFF\xD8\xFF\xE1\xFF\xFFExif\0\0".to_vec();
    assert!(matches!(
        not_scrubbed_reason(sane(&input, &Limits::default())),
        NotScrubbedReason::Malformed(_)
    ));
    input[4..6].copy_from_slice(&[0, 1]);
    assert!(matches!(
        not_scrubbed_reason(sane(&input, &Limits::default())),
        NotScrubbedReason::Malformed(_)
    ));
    let mut no_end = jpeg_plain();
    no_end.truncate(no_end.len() - 2);
    assert!(matches!(
        not_scrubbed_reason(sane(&no_end, &Limits::default())),
        NotScrubbedReason::Malformed(_)
    ));
}

#[test]
fn png_chunk_with_huge_length() {
    for len in [0x7FFF_FFFFu32, 0x8000_0000, u32::MAX, 1 << 20] {
        let mut input = b"\x89PNG\r\n\x1a\n".to_vec();
        input.extend_from_slice(&len.to_be_bytes());
        input.extend_from_slice(b"IHDR\0\0\0\x10\0\0\0\x10\x08\x02\0\0\0");
        assert!(matches!(
            not_scrubbed_reason(sane(&input, &Limits::default())),
            NotScrubbedReason::Malformed(_)
        ));
    }
}

#[test]
fn webp_sizes_past_the_end() {
    let mut huge_riff = webp_plain();
    huge_riff[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
    let huge_chunk = riff(&[[b"VP8L".as_slice(), &u32::MAX.to_le_bytes(), b"abc"].concat()]);
    for input in [huge_riff, huge_chunk] {
        assert!(matches!(
            not_scrubbed_reason(sane(&input, &Limits::default())),
            NotScrubbedReason::Malformed(_)
        ));
    }
}

/// A catalog, a page tree with one page, and `extra` as object 4 referenced by the page.
fn pdf_with_extra_object(extra: &[u8]) -> Vec<u8> {
    pdf_from_objects(&[
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 /MediaBox [0 0 595 842] >>",
        b"<< /Type /Page /Parent 2 0 R /Extra 4 0 R >>",
        extra,
    ])
}

#[test]
fn pdf_deeply_nested_objects() {
    quickly("nesting", || {
        for depth in [90, 99, 100, 101, 1_000, 200_000] {
            let array = ["[".repeat(depth), "]".repeat(depth)].concat();
            sane(&pdf_with_extra_object(array.as_bytes()), &Limits::default());
            let dict = ["<< /A ".repeat(depth), ">>".repeat(depth)].concat();
            sane(&pdf_with_extra_object(dict.as_bytes()), &Limits::default());
        }
    });
}

#[test]
fn pdf_reference_cycles() {
    quickly("cycles", || {
        let pages_loop = pdf_from_objects(&[
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>",
            b"<< /Type /Pages /Kids [2 0 R] /Parent 2 0 R /Count 1 >>",
        ]);
        assert!(matches!(
            not_scrubbed_reason(sane(&pages_loop, &Limits::default())),
            NotScrubbedReason::Malformed(_)
        ));

        let object_loop = pdf_from_objects(&[
            b"<< /Type /Catalog /Pages 2 0 R /Next 4 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R >>",
            b"<< /Next 5 0 R /Metadata 5 0 R >>",
            b"<< /Next 4 0 R /Self 5 0 R >>",
        ]);
        assert!(matches!(
            sane(&object_loop, &Limits::default()),
            Outcome::Scrubbed { .. }
        ));
    });
}

#[test]
fn pdf_xref_pointing_outside_the_file() {
    let mut input = pdf_with_extra_object(b"<< >>");
    let at = input.windows(9).rposition(|w| w == b"startxref").unwrap();
    input.truncate(at);
    input.extend_from_slice(b"startxref\n999999999\n%%EOF\n");
    sane(&input, &Limits::default());

    let mut offsets_outside = pdf_with_extra_object(b"<< >>");
    let table = offsets_outside.windows(5).position(|w| w == b"xref\n").unwrap();
    for (i, b) in offsets_outside[table..].iter_mut().enumerate() {
        if i > 40 && b.is_ascii_digit() && i < 120 {
            *b = b'9';
        }
    }
    sane(&offsets_outside, &Limits::default());
}

/// An object stream holding `content`, Flate-compressed.
fn object_stream(n: usize, first: usize, content: Vec<u8>) -> Vec<u8> {
    let mut stream = Stream::new(dictionary! {}, content);
    stream.compress().unwrap();
    let mut body = format!(
        "<< /Type /ObjStm /N {n} /First {first} /Filter /FlateDecode /Length {} >>\nstream\n",
        stream.content.len()
    )
    .into_bytes();
    body.extend_from_slice(&stream.content);
    body.extend_from_slice(b"\nendstream");
    body
}

#[test]
fn pdf_object_stream_bomb() {
    let input = pdf_with_extra_object(&object_stream(1, 4, vec![b' '; 8 << 20]));
    let limits = Limits {
        max_pdf_decompressed: 1 << 20,
        ..Limits::default()
    };
    quickly("bomb", || {
        assert_eq!(
            not_scrubbed_reason(sane(&input, &limits)),
            NotScrubbedReason::Limit(LimitKind::PdfDecompressed)
        );
    });
}

#[test]
fn pdf_many_object_streams_together_too_large() {
    let streams: Vec<Vec<u8>> = (0..20)
        .map(|_| object_stream(1, 4, vec![b' '; 100_000]))
        .collect();
    let mut objects: Vec<&[u8]> = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R >>",
    ];
    objects.extend(streams.iter().map(Vec::as_slice));
    let input = pdf_from_objects(&objects);
    let limits = Limits {
        max_pdf_decompressed: 1 << 20,
        ..Limits::default()
    };
    assert_eq!(
        not_scrubbed_reason(sane(&input, &limits)),
        NotScrubbedReason::Limit(LimitKind::PdfDecompressed)
    );
    assert!(!matches!(
        sane(&input, &Limits::default()),
        Outcome::NotScrubbed { .. }
    ));
}

#[test]
fn pdf_object_stream_with_many_objects() {
    let count = 300;
    let header: String = (0..count).map(|i| format!("{} {} ", 1000 + i, i * 5)).collect();
    let content = [header.as_bytes(), "<<>> ".repeat(count).as_bytes()].concat();
    let input = pdf_with_extra_object(&object_stream(count, header.len(), content));
    let limits = Limits {
        max_pdf_objects: 100,
        ..Limits::default()
    };
    assert_eq!(
        not_scrubbed_reason(sane(&input, &limits)),
        NotScrubbedReason::Limit(LimitKind::PdfObjects)
    );
    assert!(!matches!(
        sane(&input, &Limits::default()),
        Outcome::NotScrubbed { .. }
    ));
}

#[test]
fn pdf_with_many_objects() {
    let objects: Vec<Vec<u8>> = (0..200).map(|i| format!("<< /N {i} >>").into_bytes()).collect();
    let mut all: Vec<&[u8]> = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R >>",
    ];
    all.extend(objects.iter().map(Vec::as_slice));
    let limits = Limits {
        max_pdf_objects: 100,
        ..Limits::default()
    };
    assert_eq!(
        not_scrubbed_reason(sane(&pdf_from_objects(&all), &limits)),
        NotScrubbedReason::Limit(LimitKind::PdfObjects)
    );
}

#[test]
fn pdf_needing_a_password() {
    let mut input = pdf_with_extra_object(b"<< >>");
    let trailer = input.windows(7).rposition(|w| w == b"/Root 1").unwrap();
    let encrypt = format!(
        "/Encrypt << /Filter /Standard /V 2 /R 3 /Length 128 /P -4 /O <{}> /U <{}> >> /ID [<{}> <{}>] ",
        "11".repeat(32),
        "22".repeat(32),
        "33".repeat(16),
        "33".repeat(16)
    );
    input.splice(trailer..trailer, encrypt.into_bytes());
    assert_eq!(
        not_scrubbed_reason(sane(&input, &Limits::default())),
        NotScrubbedReason::Encrypted
    );
}

#[test]
fn zip_bomb_entry() {
    let mut entries = docx_entries();
    entries.push(("word/bomb.bin", vec![0; 8 << 20]));
    let input = zip(&entries, true);
    assert!(input.len() < 100_000, "deflate squeezes the zeros");
    let limits = Limits {
        max_zip_uncompressed: 1 << 20,
        ..Limits::default()
    };
    quickly("bomb", || {
        assert_eq!(
            not_scrubbed_reason(sane(&input, &limits)),
            NotScrubbedReason::Limit(LimitKind::ZipUncompressed)
        );
    });
}

#[test]
fn zip_entry_lying_about_its_size() {
    let mut entries = docx_entries();
    entries.push(("word/bomb.bin", vec![0; 4 << 20]));
    let mut input = zip(&entries, true);
    // Claim 100 bytes in the local and central headers of the last entry.
    let local = input.windows(4).rposition(|w| w == b"PK\x03\x04").unwrap();
    input[local + 22..local + 26].copy_from_slice(&100u32.to_le_bytes());
    let central = input.windows(4).rposition(|w| w == b"PK\x01\x02").unwrap();
    input[central + 24..central + 28].copy_from_slice(&100u32.to_le_bytes());
    let limits = Limits {
        max_zip_uncompressed: 1 << 20,
        ..Limits::default()
    };
    quickly("liar", || match not_scrubbed_reason(sane(&input, &limits)) {
        NotScrubbedReason::Limit(LimitKind::ZipUncompressed) | NotScrubbedReason::Malformed(_) => {}
        other => panic!("unexpected {other:?}"),
    });
}

#[test]
fn zip_with_too_many_entries() {
    let mut entries = docx_entries();
    entries.extend(
        (0..50)
            .map(|_| ("word/filler.xml", Vec::new()))
            .enumerate()
            .map(|(i, (_, c))| {
                (
                    Box::leak(format!("word/filler{i}.xml").into_boxed_str()) as &str,
                    c,
                )
            }),
    );
    let input = zip(&entries, true);
    let limits = Limits {
        max_zip_entries: 10,
        ..Limits::default()
    };
    assert_eq!(
        not_scrubbed_reason(sane(&input, &limits)),
        NotScrubbedReason::Limit(LimitKind::ZipEntries)
    );

    // An end record claiming 65535 entries in a small file.
    let mut claims = zip(&docx_entries(), true);
    let eocd = claims.windows(4).rposition(|w| w == b"PK\x05\x06").unwrap();
    claims[eocd + 8..eocd + 12].copy_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF]);
    assert_eq!(
        not_scrubbed_reason(sane(&claims, &Limits::default())),
        NotScrubbedReason::Limit(LimitKind::ZipEntries)
    );
}

#[test]
fn zip64_locator_pointing_nowhere() {
    let mut input = zip(&docx_entries(), true);
    let eocd = input.windows(4).rposition(|w| w == b"PK\x05\x06").unwrap();
    let mut locator = b"PK\x06\x07\0\0\0\0".to_vec();
    locator.extend_from_slice(&u64::MAX.to_le_bytes());
    locator.extend_from_slice(&1u32.to_le_bytes());
    input.splice(eocd..eocd, locator);
    assert!(matches!(
        not_scrubbed_reason(sane(&input, &Limits::default())),
        NotScrubbedReason::Malformed(_)
    ));
}

#[test]
fn docx_with_a_broken_image_is_not_scrubbed() {
    let mut entries = docx_entries();
    let mut broken = jpeg_with_metadata();
    broken.truncate(200);
    entries.push(("word/media/image2.jpeg", broken));
    let input = zip(&entries, true);
    assert_eq!(
        scrub(&input, &Limits::default()),
        Outcome::NotScrubbed {
            kind: FileKind::Office(OfficeKind::Docx),
            reason: NotScrubbedReason::Malformed("embedded image could not be scrubbed")
        }
    );
}
