use redress_scrub::{FileKind, Limits, OfficeKind, Outcome, Removed, scrub, sniff};
use zip::DateTime;

use crate::fixtures::*;
use crate::{assert_idempotent, scrubbed};

const DOCX: FileKind = FileKind::Office(OfficeKind::Docx);

#[test]
fn docx_loses_properties_image_metadata_and_timestamps() {
    let entries = docx_entries();
    let input = zip(&entries, false);
    let before = input.clone();
    assert_eq!(sniff(&input), DOCX);

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
            Removed::TrailingData,
            Removed::OfficeCoreProps,
            Removed::OfficeAppProps,
            Removed::OfficeCustomProps,
            Removed::ZipMetadata,
        ]
    );
    let unzipped = unzip(&output);
    assert_eq!(
        unzipped
            .iter()
            .map(|(name, ..)| name.as_str())
            .collect::<Vec<_>>(),
        entries.iter().map(|(name, _)| *name).collect::<Vec<_>>(),
        "every part is kept, in order"
    );
    for (name, content, time) in &unzipped {
        assert!(!contains(content, AUTHOR), "{name} still names the author");
        assert_eq!(*time, Some(DateTime::default()), "{name} keeps a timestamp");
        match name.as_str() {
            "word/document.xml" => assert_eq!(content, DOCUMENT_XML),
            "word/media/image1.jpeg" => assert_eq!(pixels(content), pixels(&jpeg_plain())),
            "docProps/core.xml" => assert!(contains(content, b"coreProperties")),
            _ => {}
        }
    }
    assert_eq!(sniff(&output), DOCX);
    assert_idempotent(&output, DOCX);
}

/// An empty core-properties part, as a tidy generator writes it.
const EMPTY_CORE: &[u8] = br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties">
</cp:coreProperties>"#;

#[test]
fn clean_docx_is_unchanged() {
    let entries: Vec<_> = docx_entries()
        .into_iter()
        .filter(|(name, _)| ["[Content_Types].xml", "_rels/.rels", "word/document.xml"].contains(name))
        .chain([("docProps/core.xml", EMPTY_CORE.to_vec())])
        .collect();
    let input = zip(&entries, true);
    assert_eq!(
        scrub(&input, &Limits::default()),
        Outcome::Unchanged { kind: DOCX }
    );
}

#[test]
fn xlsx_and_pptx_are_recognised() {
    let xlsx = zip(
        &[
            ("[Content_Types].xml", b"<Types/>".to_vec()),
            ("xl/workbook.xml", b"<workbook/>".to_vec()),
        ],
        true,
    );
    let pptx = zip(
        &[
            ("[Content_Types].xml", b"<Types/>".to_vec()),
            ("ppt/presentation.xml", b"<p/>".to_vec()),
        ],
        true,
    );
    let plain_zip = zip(&[("notes.txt", b"hello".to_vec())], true);
    assert_eq!(sniff(&xlsx), FileKind::Office(OfficeKind::Xlsx));
    assert_eq!(sniff(&pptx), FileKind::Office(OfficeKind::Pptx));
    assert_eq!(sniff(&plain_zip), FileKind::Other);
}
