//! Office Open XML packages (docx, xlsx, pptx): empty the document-property parts, scrub
//! embedded images, and rewrite the zip without per-entry timestamps, extras or comments.
//!
//! Every other part is carried over with identical content (recompressed). Names of
//! authors inside the document body (comments, tracked changes) are not touched.

use std::collections::BTreeSet;
use std::io::{Cursor, Read, Write};

use memchr::memmem;
use zip::result::ZipError;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipArchive, ZipWriter};

use crate::{
    FileKind, LimitKind, Limits, NotScrubbedReason, OfficeKind, Removed, Rendition, ScrubResult, malformed,
    scrub_image,
};

/// A property part: its root element, namespace, conventional name, and empty form.
struct PropertyPart {
    removed: Removed,
    local_name: &'static [u8],
    namespace: &'static [u8],
    conventional_name: &'static str,
    empty: &'static str,
}

const PROPERTY_PARTS: &[PropertyPart] = &[
    PropertyPart {
        removed: Removed::OfficeCoreProps,
        local_name: b"coreProperties",
        namespace: b"http://schemas.openxmlformats.org/package/2006/metadata/core-properties",
        conventional_name: "docprops/core.xml",
        empty: concat!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n",
            "<cp:coreProperties ",
            "xmlns:cp=\"http://schemas.openxmlformats.org/package/2006/metadata/core-properties\" ",
            "xmlns:dc=\"http://purl.org/dc/elements/1.1/\" xmlns:dcterms=\"http://purl.org/dc/terms/\" ",
            "xmlns:dcmitype=\"http://purl.org/dc/dcmitype/\" ",
            "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"/>"
        ),
    },
    PropertyPart {
        removed: Removed::OfficeAppProps,
        local_name: b"Properties",
        namespace: b"http://schemas.openxmlformats.org/officeDocument/2006/extended-properties",
        conventional_name: "docprops/app.xml",
        empty: concat!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n",
            "<Properties ",
            "xmlns=\"http://schemas.openxmlformats.org/officeDocument/2006/extended-properties\" ",
            "xmlns:vt=\"http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes\"/>"
        ),
    },
    PropertyPart {
        removed: Removed::OfficeCustomProps,
        local_name: b"Properties",
        namespace: b"http://schemas.openxmlformats.org/officeDocument/2006/custom-properties",
        conventional_name: "docprops/custom.xml",
        empty: concat!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n",
            "<Properties ",
            "xmlns=\"http://schemas.openxmlformats.org/officeDocument/2006/custom-properties\" ",
            "xmlns:vt=\"http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes\"/>"
        ),
    },
];

/// The main part that tells the package types apart.
const MAIN_PARTS: &[(&[u8], OfficeKind)] = &[
    (b"word/document.xml", OfficeKind::Docx),
    (b"xl/workbook.xml", OfficeKind::Xlsx),
    (b"ppt/presentation.xml", OfficeKind::Pptx),
];

/// End of central directory record: fixed size, followed by a comment of at most 64 KiB.
const EOCD_LEN: usize = 22;
const EOCD_SIGNATURE: &[u8] = b"PK\x05\x06";
const ZIP64_EOCD_SIGNATURE: &[u8] = b"PK\x06\x06";
const ZIP64_LOCATOR_SIGNATURE: &[u8] = b"PK\x06\x07";

/// Entry names appear uncompressed in the local and central headers.
pub(crate) fn sniff(bytes: &[u8]) -> Option<OfficeKind> {
    if !bytes.starts_with(b"PK\x03\x04") || memmem::find(bytes, b"[Content_Types].xml").is_none() {
        return None;
    }
    MAIN_PARTS
        .iter()
        .find(|(name, _)| memmem::find(bytes, name).is_some())
        .map(|(_, kind)| *kind)
}

pub(crate) fn scrub(input: &[u8], limits: &Limits) -> ScrubResult {
    check_end_records(input, limits)?;
    let mut archive = ZipArchive::new(Cursor::new(input)).map_err(zip_error)?;
    if archive.len() > limits.max_zip_entries {
        return Err(NotScrubbedReason::Limit(LimitKind::ZipEntries));
    }
    let mut removed = BTreeSet::new();
    if !archive.comment().is_empty() {
        removed.insert(Removed::ZipMetadata);
    }
    let mut writer = ZipWriter::new(Cursor::new(Vec::with_capacity(input.len())));
    let mut budget = limits.max_zip_uncompressed;
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index).map_err(zip_error)?;
        let name = entry.name().map_err(zip_error)?.into_owned();
        if entry
            .last_modified()
            .is_some_and(|time| time != DateTime::default())
            || entry.extra_data().is_some_and(|extra| !extra.is_empty())
            || !entry.comment().is_empty()
        {
            removed.insert(Removed::ZipMetadata);
        }
        let method = match entry.compression() {
            CompressionMethod::Stored => CompressionMethod::Stored,
            _ => CompressionMethod::Deflated,
        };
        let options = SimpleFileOptions::default()
            .compression_method(method)
            .last_modified_time(DateTime::default());
        if entry.is_dir() {
            writer.add_directory(name, options).map_err(zip_error)?;
            continue;
        }
        if entry.size() > budget {
            return Err(NotScrubbedReason::Limit(LimitKind::ZipUncompressed));
        }
        // The declared size may lie: read at most one byte past the budget.
        let mut content = Vec::new();
        (&mut entry)
            .take(budget.saturating_add(1))
            .read_to_end(&mut content)
            .map_err(|_| malformed("zip entry could not be decompressed"))?;
        budget = u64::try_from(content.len())
            .ok()
            .and_then(|len| budget.checked_sub(len))
            .ok_or(NotScrubbedReason::Limit(LimitKind::ZipUncompressed))?;
        drop(entry);
        let content = scrub_part(&name, content, &mut removed)?;
        writer.start_file(name, options).map_err(zip_error)?;
        writer
            .write_all(&content)
            .map_err(|_| malformed("zip could not be written"))?;
    }
    let bytes = writer.finish().map_err(zip_error)?.into_inner();
    Ok(Rendition { bytes, removed })
}

fn zip_error(error: ZipError) -> NotScrubbedReason {
    match error {
        ZipError::UnsupportedArchive(ZipError::PASSWORD_REQUIRED) => NotScrubbedReason::Encrypted,
        _ => malformed("zip archive could not be read"),
    }
}

fn scrub_part(
    name: &str,
    content: Vec<u8>,
    removed: &mut BTreeSet<Removed>,
) -> Result<Vec<u8>, NotScrubbedReason> {
    if let Some(part) = property_part(name, &content) {
        if has_properties(&content) {
            removed.insert(part.removed);
            return Ok(part.empty.as_bytes().to_vec());
        }
        return Ok(content);
    }
    let kind = crate::sniff(&content);
    if !matches!(kind, FileKind::Jpeg | FileKind::Png | FileKind::Webp) {
        return Ok(content);
    }
    let image = scrub_image(kind, &content).map_err(|_| malformed("embedded image could not be scrubbed"))?;
    if image.removed.is_empty() {
        return Ok(content);
    }
    removed.extend(image.removed);
    Ok(image.bytes)
}

/// A part is a property part by its root element, or by the name Office gives it.
fn property_part(name: &str, content: &[u8]) -> Option<&'static PropertyPart> {
    let by_root = root_start_tag(content).and_then(|(tag, _)| {
        let qualified = tag.split(|&b| b.is_ascii_whitespace() || b == b'/').next()?;
        let local = qualified.rsplit(|&b| b == b':').next()?;
        PROPERTY_PARTS
            .iter()
            .find(|part| part.local_name == local && memmem::find(tag, part.namespace).is_some())
    });
    by_root.or_else(|| {
        let name = name.to_ascii_lowercase();
        PROPERTY_PARTS.iter().find(|part| part.conventional_name == name)
    })
}

/// Whether the root element holds anything: elements, text or comments. Anything we cannot
/// read counts as holding something, so that it is replaced.
fn has_properties(content: &[u8]) -> bool {
    let Some((tag, rest)) = root_start_tag(content) else {
        return true;
    };
    let rest = rest.trim_ascii();
    if tag.ends_with(b"/") {
        return !rest.is_empty();
    }
    // Only the closing tag may follow.
    !(rest.starts_with(b"</") && rest.iter().filter(|&&b| b == b'<').count() == 1)
}

/// The root element's start tag (between `<` and `>`) and what follows it.
fn root_start_tag(content: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut rest = content.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(content);
    loop {
        rest = rest.trim_ascii_start();
        let skip_to: &[u8] = if rest.starts_with(b"<?") {
            b"?>"
        } else if rest.starts_with(b"<!--") {
            b"-->"
        } else if rest.starts_with(b"<!") {
            b">"
        } else {
            break;
        };
        let end = memmem::find(rest, skip_to)? + skip_to.len();
        rest = rest.get(end..)?;
    }
    let rest = rest.strip_prefix(b"<")?;
    let end = memchr::memchr(b'>', rest)?;
    Some((rest.get(..end)?, rest.get(end + 1..)?))
}

/// Checks the declared entry counts of every end-of-central-directory record (ZIP64
/// included) before the zip reader sizes anything from them.
fn check_end_records(input: &[u8], limits: &Limits) -> Result<(), NotScrubbedReason> {
    let max = u64::try_from(limits.max_zip_entries).unwrap_or(u64::MAX);
    let too_many = NotScrubbedReason::Limit(LimitKind::ZipEntries);
    let tail_start = input.len().saturating_sub(EOCD_LEN + usize::from(u16::MAX));
    let tail = input.get(tail_start..).unwrap_or_default();
    let mut found = false;
    for at in memmem::find_iter(tail, EOCD_SIGNATURE) {
        let record = tail.get(at..).unwrap_or_default();
        let (Some(on_disk), Some(total)) = (le_u16(record, 8), le_u16(record, 10)) else {
            continue;
        };
        found = true;
        if u64::from(on_disk.max(total)) > max {
            return Err(too_many);
        }
    }
    if !found {
        return Err(malformed("zip end of central directory not found"));
    }
    for at in memmem::find_iter(tail, ZIP64_LOCATOR_SIGNATURE) {
        let zip64_eocd = le_u64(tail.get(at..).unwrap_or_default(), 8)
            .and_then(|offset| usize::try_from(offset).ok())
            .and_then(|offset| input.get(offset..))
            .filter(|record| record.starts_with(ZIP64_EOCD_SIGNATURE))
            .ok_or(malformed("zip64 locator points nowhere"))?;
        check_zip64_record(zip64_eocd, max)?;
    }
    for at in memmem::find_iter(tail, ZIP64_EOCD_SIGNATURE) {
        check_zip64_record(tail.get(at..).unwrap_or_default(), max)?;
    }
    Ok(())
}

fn check_zip64_record(record: &[u8], max: u64) -> Result<(), NotScrubbedReason> {
    match (le_u64(record, 24), le_u64(record, 32)) {
        (Some(on_disk), Some(total)) if on_disk.max(total) <= max => Ok(()),
        (Some(_), Some(_)) => Err(NotScrubbedReason::Limit(LimitKind::ZipEntries)),
        _ => Err(malformed("zip64 end of central directory truncated")),
    }
}

fn le_u16(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

fn le_u64(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CORE_TAG: &str = r#"<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties""#;

    #[test]
    fn property_parts_are_found_by_root_element_or_name() {
        let moved = format!("<?xml version=\"1.0\"?>\n<!-- x -->{CORE_TAG}/>");
        assert_eq!(
            property_part("meta/elsewhere.xml", moved.as_bytes()).map(|p| p.removed),
            Some(Removed::OfficeCoreProps)
        );
        assert_eq!(
            property_part("docProps/App.xml", b"not xml at all").map(|p| p.removed),
            Some(Removed::OfficeAppProps)
        );
        let mention = format!("<w:document><w:t>{CORE_TAG}</w:t></w:document>");
        assert!(property_part("word/document.xml", mention.as_bytes()).is_none());
    }

    #[test]
    fn only_an_empty_root_has_no_properties() {
        assert!(!has_properties(format!("{CORE_TAG}/>").as_bytes()));
        assert!(!has_properties(
            format!("{CORE_TAG}>\r\n  </cp:coreProperties>").as_bytes()
        ));
        assert!(has_properties(
            format!("{CORE_TAG}><dc:title>x</dc:title></cp:coreProperties>").as_bytes()
        ));
        assert!(has_properties(
            format!("{CORE_TAG}><!-- Jane --></cp:coreProperties>").as_bytes()
        ));
        assert!(has_properties(
            format!("{CORE_TAG}>Jane</cp:coreProperties>").as_bytes()
        ));
        assert!(has_properties(
            format!("{CORE_TAG}/><!-- trailing -->").as_bytes()
        ));
        assert!(has_properties(b"\xFF\xFEutf-16 we cannot read"));
    }
}
