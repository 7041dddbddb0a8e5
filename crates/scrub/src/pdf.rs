//! PDF: load with lopdf (bounded), remove document-level and per-object metadata, and
//! write the document out afresh, which leaves earlier incremental-update revisions behind.
//!
//! lopdf caps nesting depth (100), decompressed stream size and reconstructed xref
//! entries; our own traversals are iterative. The call is still wrapped in
//! `catch_unwind` by the caller.

use std::cell::Cell;
use std::collections::BTreeSet;

use lopdf::{DecompressError, Dictionary, Document, Error as PdfError, LoadOptions, Object, ObjectId};
use memchr::memmem;

use crate::{
    FileKind, LimitKind, Limits, NotScrubbedReason, Removed, Rendition, ScrubResult, jpeg, malformed,
};

/// Trailer keys that describe the file layout, which the writer rebuilds.
const LAYOUT_KEYS: &[&[u8]] = &[
    b"Prev",
    b"XRefStm",
    b"Type",
    b"W",
    b"Index",
    b"Length",
    b"Filter",
    b"DecodeParms",
    b"DocChecksum",
];

/// Readers accept a header anywhere in the first kilobyte.
const HEADER_WINDOW: usize = 1024;

/// Annotation subtypes whose `/T` names the author rather than a form field.
const MARKUP_ANNOTATIONS: &[&[u8]] = &[
    b"Text",
    b"FreeText",
    b"Line",
    b"Square",
    b"Circle",
    b"Polygon",
    b"PolyLine",
    b"Highlight",
    b"Underline",
    b"Squiggly",
    b"StrikeOut",
    b"Caret",
    b"Ink",
    b"FileAttachment",
    b"Sound",
    b"Redact",
    b"Stamp",
    b"Projection",
];

pub(crate) fn has_header(bytes: &[u8]) -> bool {
    memmem::find(bytes.get(..HEADER_WINDOW).unwrap_or(bytes), b"%PDF-").is_some()
}

pub(crate) fn scrub(input: &[u8], limits: &Limits) -> ScrubResult {
    let mut doc = load(input, limits)?;
    // lopdf removes `/Encrypt` once it has decrypted with the empty password; if it is still
    // there, the objects were not readable.
    if doc.trailer.has(b"Encrypt") {
        return Err(NotScrubbedReason::Encrypted);
    }
    if doc.page_iter().next().is_none() {
        return Err(malformed("PDF has no readable pages"));
    }
    // A permissions-only encrypted file is written out decrypted.
    doc.encryption_state = None;

    let mut removed = BTreeSet::new();
    remove_trailer_metadata(&mut doc, &mut removed);
    delete_metadata_streams(&mut doc, &mut removed);
    for object in doc.objects.values_mut() {
        for_each_dictionary(object, |dict| strip_dictionary(dict, &mut removed));
    }
    scrub_jpeg_images(&mut doc, &mut removed)?;
    // Cross-reference streams, object streams and linearization data describe the old
    // layout; they are not history, and the writer regenerates what it needs.
    doc.objects.retain(|_, object| !is_file_structure(object));
    if !doc.prune_objects().is_empty() || revisions(input, &doc) > 1 {
        removed.insert(Removed::PdfHistory);
    }

    let mut bytes = Vec::with_capacity(input.len());
    doc.save_to(&mut bytes)
        .map_err(|_| malformed("PDF could not be written"))?;
    Ok(Rendition { bytes, removed })
}

thread_local! {
    /// What the load under way on this thread may still use. lopdf's object filter is a
    /// plain `fn`, so this is how it reaches the limits; lopdf without its `rayon` feature
    /// loads on the calling thread.
    static BUDGET: Cell<Option<Budget>> = const { Cell::new(None) };
}

/// lopdf bounds each stream it decompresses, but not their sum, nor the number of
/// objects unpacked from object streams: the load filter charges both as it goes, so a
/// file of many small object streams that each inflate to the limit is stopped early.
#[derive(Clone, Copy, Debug)]
struct Budget {
    objects: usize,
    decompressed: usize,
    exceeded: Option<LimitKind>,
}

impl Budget {
    /// Whether `object` fits in what is left, which it then uses up.
    fn charge(&mut self, object: &Object) -> bool {
        if self.exceeded.is_some() {
            return false;
        }
        let Some(objects) = self.objects.checked_sub(1) else {
            self.exceeded = Some(LimitKind::PdfObjects);
            return false;
        };
        self.objects = objects;
        if let Ok(stream) = object.as_stream()
            && stream.dict.has_type(b"ObjStm")
        {
            match stream.decompressed_content_with_limit(self.decompressed) {
                Ok(content) => self.decompressed = self.decompressed.saturating_sub(content.len()),
                Err(PdfError::Decompress(DecompressError::MemoryLimitExceeded { .. })) => {
                    self.exceeded = Some(LimitKind::PdfDecompressed);
                    return false;
                }
                // lopdf skips an unreadable object stream itself.
                Err(_) => {}
            }
        }
        true
    }
}

fn within_budget(id: ObjectId, object: &mut Object) -> Option<(ObjectId, Object)> {
    let keep = BUDGET.with(|cell| {
        let Some(mut budget) = cell.get() else { return true };
        let keep = budget.charge(object);
        cell.set(Some(budget));
        keep
    });
    // lopdf keeps using `object` for top-level objects and takes the returned copy for
    // those unpacked from object streams.
    keep.then(|| (id, object.clone()))
}

fn load(input: &[u8], limits: &Limits) -> Result<Document, NotScrubbedReason> {
    BUDGET.set(Some(Budget {
        objects: limits.max_pdf_objects,
        decompressed: limits.max_pdf_decompressed,
        exceeded: None,
    }));
    let options = LoadOptions {
        max_decompressed_size: Some(limits.max_pdf_decompressed),
        filter: Some(within_budget),
        ..LoadOptions::default()
    };
    let loaded = Document::load_mem_with_options(input, options);
    if let Some(Budget {
        exceeded: Some(limit),
        ..
    }) = BUDGET.take()
    {
        return Err(NotScrubbedReason::Limit(limit));
    }
    let doc = loaded.map_err(load_error)?;
    // Decrypting loads skip the filter: count afterwards.
    if doc.objects.len() > limits.max_pdf_objects {
        return Err(NotScrubbedReason::Limit(LimitKind::PdfObjects));
    }
    Ok(doc)
}

fn load_error(error: PdfError) -> NotScrubbedReason {
    match error {
        PdfError::Decompress(DecompressError::MemoryLimitExceeded { .. }) => {
            NotScrubbedReason::Limit(LimitKind::PdfDecompressed)
        }
        PdfError::Decryption(_) | PdfError::InvalidPassword => NotScrubbedReason::Encrypted,
        _ => malformed("PDF could not be parsed"),
    }
}

/// Only `/Root` and `/Size` stay in the trailer: everything else is metadata or describes
/// the old file layout.
fn remove_trailer_metadata(doc: &mut Document, removed: &mut BTreeSet<Removed>) {
    for (key, value) in std::mem::take(&mut doc.trailer) {
        let what = match key.as_slice() {
            b"Root" | b"Size" => {
                doc.trailer.set(key, value);
                continue;
            }
            b"Info" => {
                delete_info_dictionary(doc, &value);
                Removed::PdfInfo
            }
            b"ID" => Removed::PdfId,
            layout if LAYOUT_KEYS.contains(&layout) => continue,
            _ => Removed::OtherMetadata,
        };
        removed.insert(what);
    }
}

/// Deleted outright, not left to pruning, in case something else refers to it too (a
/// reference to a missing object reads as null); but never a typed object such as the
/// catalog or a page, which a hostile file could name as `/Info`.
fn delete_info_dictionary(doc: &mut Document, info: &Object) {
    if let Ok(id) = info.as_reference()
        && doc.get_dictionary(id).is_ok_and(|dict| !dict.has(b"Type"))
    {
        doc.objects.remove(&id);
    }
}

/// XMP streams, by their type or (as some generators leave the type out) their content.
fn delete_metadata_streams(doc: &mut Document, removed: &mut BTreeSet<Removed>) {
    let metadata: Vec<ObjectId> = doc
        .objects
        .iter()
        .filter(|(_, object)| {
            object.as_stream().is_ok_and(|stream| {
                stream.dict.has_type(b"Metadata")
                    || name_is(&stream.dict, b"Subtype", b"XML")
                    || is_xmp_packet(&stream.content)
            })
        })
        .map(|(id, _)| *id)
        .collect();
    if !metadata.is_empty() {
        removed.insert(Removed::PdfXmp);
    }
    for id in metadata {
        doc.objects.remove(&id);
    }
}

fn strip_dictionary(dict: &mut Dictionary, removed: &mut BTreeSet<Removed>) {
    if dict.remove(b"Metadata").is_some() {
        removed.insert(Removed::PdfXmp);
    }
    let piece_info = dict.remove(b"PieceInfo").is_some();
    let last_modified = dict.remove(b"LastModified").is_some();
    if piece_info || last_modified {
        removed.insert(Removed::PdfPieceInfo);
    }
    if is_markup_annotation(dict) && dict.remove(b"T").is_some() {
        removed.insert(Removed::PdfAnnotationAuthor);
    }
}

fn is_markup_annotation(dict: &Dictionary) -> bool {
    let annotation = dict.has_type(b"Annot") || (!dict.has(b"Type") && dict.has(b"Rect"));
    annotation
        && dict
            .get(b"Subtype")
            .and_then(Object::as_name)
            .is_ok_and(|subtype| MARKUP_ANNOTATIONS.contains(&subtype))
}

fn is_xmp_packet(content: &[u8]) -> bool {
    let start = content.trim_ascii_start();
    start.starts_with(b"<?xpacket") || start.starts_with(b"<x:xmpmeta")
}

/// A `/DCTDecode` image is a JPEG file verbatim, EXIF and XMP segments included. They are
/// recognised by content, as are JPEG files stored unfiltered (attachments, say).
fn scrub_jpeg_images(doc: &mut Document, removed: &mut BTreeSet<Removed>) -> Result<(), NotScrubbedReason> {
    for object in doc.objects.values_mut() {
        let Object::Stream(stream) = object else { continue };
        if crate::sniff(&stream.content) != FileKind::Jpeg {
            continue;
        }
        let image =
            jpeg::scrub(&stream.content).map_err(|_| malformed("PDF contains a malformed JPEG image"))?;
        if !image.removed.is_empty() {
            removed.extend(image.removed);
            stream.set_content(image.bytes);
        }
    }
    Ok(())
}

fn is_file_structure(object: &Object) -> bool {
    object
        .as_stream()
        .map(|stream| &stream.dict)
        .or_else(|_| object.as_dict())
        .is_ok_and(|dict| dict.has_type(b"XRef") || dict.has_type(b"ObjStm") || dict.has(b"Linearized"))
}

/// How many revisions the file holds: each incremental update adds a `startxref`, and a
/// linearized file has one extra for its first page.
fn revisions(input: &[u8], doc: &Document) -> usize {
    let sections = memmem::find_iter(input, b"startxref").count();
    sections.saturating_sub(usize::from(doc.linearization.is_some()))
}

fn name_is(dict: &Dictionary, key: &[u8], name: &[u8]) -> bool {
    dict.get(key).and_then(Object::as_name).is_ok_and(|n| n == name)
}

/// Calls `f` on every dictionary in `object`, nested ones included, without recursion.
fn for_each_dictionary(object: &mut Object, mut f: impl FnMut(&mut Dictionary)) {
    let mut stack = vec![object];
    while let Some(object) = stack.pop() {
        let dict = match object {
            Object::Array(items) => {
                stack.extend(items.iter_mut());
                continue;
            }
            Object::Dictionary(dict) => dict,
            Object::Stream(stream) => &mut stream.dict,
            _ => continue,
        };
        f(dict);
        stack.extend(dict.iter_mut().map(|(_, value)| value));
    }
}
