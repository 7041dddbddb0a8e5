use lopdf::{Document, Object, dictionary};
use redress_scrub::{FileKind, Limits, Outcome, Removed, scrub, sniff};

use crate::fixtures::*;
use crate::{assert_idempotent, scrubbed};

/// The raw bytes of each page's content streams.
fn page_contents(doc: &Document) -> Vec<Vec<u8>> {
    doc.get_pages()
        .values()
        .flat_map(|&page| doc.get_page_contents(page))
        .map(|id| doc.get_object(id).unwrap().as_stream().unwrap().content.clone())
        .collect()
}

#[test]
fn pdf_loses_info_xmp_piece_info_annotation_author_and_old_revisions() {
    let input = pdf_with_metadata();
    let before = input.clone();
    assert_eq!(sniff(&input), FileKind::Pdf);
    assert!(
        contains(&input, b"/Prev"),
        "the fixture has an incremental update"
    );

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
            Removed::PdfInfo,
            Removed::PdfXmp,
            Removed::PdfPieceInfo,
            Removed::PdfId,
            Removed::PdfAnnotationAuthor,
            Removed::PdfHistory,
        ]
    );
    for needle in [
        AUTHOR,
        b"SecretTool",
        b"/Info",
        b"/Metadata",
        b"/PieceInfo",
        b"/LastModified",
        b"/Prev",
        b"Exif\0\0",
        XMP_NAMESPACE,
    ] {
        assert!(
            !contains(&output, needle),
            "{:?} survived",
            String::from_utf8_lossy(needle)
        );
    }
    assert_eq!(
        output.windows(9).filter(|w| w == b"startxref").count(),
        1,
        "a single revision"
    );

    let original = Document::load_mem(&input).unwrap();
    let rendition = Document::load_mem(&output).unwrap();
    assert_eq!(rendition.get_pages().len(), 2);
    assert!(!rendition.trailer.has(b"ID") && !rendition.trailer.has(b"Info"));
    assert_eq!(page_contents(&rendition), page_contents(&original));
    assert_eq!(
        page_contents(&rendition),
        PAGE_CONTENTS
            .iter()
            .map(|c| c.as_bytes().to_vec())
            .collect::<Vec<_>>()
    );
    assert!(
        contains(&output, b"look here"),
        "annotation text is content and stays"
    );
    assert_idempotent(&output, FileKind::Pdf);
}

#[test]
fn pdf_jpeg_images_keep_their_pixels() {
    let output = scrubbed(&pdf_with_metadata()).0;
    let doc = Document::load_mem(&output).unwrap();
    let images: Vec<&lopdf::Stream> = doc
        .objects
        .values()
        .filter_map(|o| o.as_stream().ok())
        .filter(|s| {
            s.dict
                .get(b"Subtype")
                .and_then(Object::as_name)
                .is_ok_and(|n| n == b"Image")
        })
        .collect();
    assert_eq!(images.len(), 1);
    assert_eq!(
        images[0].dict.get(b"Length").unwrap().as_i64().unwrap() as usize,
        images[0].content.len()
    );
    assert_eq!(pixels(&images[0].content), pixels(&jpeg_plain()));
}

#[test]
fn clean_single_revision_pdf_is_unchanged() {
    let mut doc = Document::with_version("1.7");
    let pages_id = doc.new_object_id();
    let content_id = doc.add_object(lopdf::Stream::new(
        dictionary! {},
        PAGE_CONTENTS[0].as_bytes().to_vec(),
    ));
    let page_id =
        doc.add_object(dictionary! { "Type" => "Page", "Parent" => pages_id, "Contents" => content_id });
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => vec![page_id.into()], "Count" => 1,
            "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
        }),
    );
    let catalog_id = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog_id);
    let mut input = Vec::new();
    doc.save_to(&mut input).unwrap();

    assert_eq!(
        scrub(&input, &Limits::default()),
        Outcome::Unchanged { kind: FileKind::Pdf }
    );
}
