//! The vocabulary for what an evidence file is and what scrubbing did to it, as sealed
//! in the triage summary. The scrub crate speaks it too, so there is one list.

use serde::{Deserialize, Serialize};

use crate::names::named_enum;

named_enum! {
    /// A file type, as recognised from the file's content (never its name).
    pub enum FileType {
        Jpeg = "jpeg",
        Png = "png",
        Webp = "webp",
        Pdf = "pdf",
        Docx = "docx",
        Xlsx = "xlsx",
        Pptx = "pptx",
        Other = "other",
    }
}

named_enum! {
    /// A kind of metadata that was found and removed.
    pub enum Metadata {
        /// An EXIF block (camera make and model, serial numbers, timestamps, settings…).
        Exif = "exif",
        /// GPS coordinates inside the EXIF block (reported in addition to `Exif`).
        Gps = "gps",
        /// An XMP packet.
        Xmp = "xmp",
        /// IPTC or Photoshop image resources (JPEG `APP13`, PNG raw IPTC profiles).
        Iptc = "iptc",
        /// A JPEG comment (`COM`).
        Comment = "comment",
        /// An embedded preview image (JFIF/JFXX thumbnails).
        Thumbnail = "thumbnail",
        /// PNG text chunks (`tEXt`, `zTXt`, `iTXt`) other than XMP and raw EXIF/IPTC.
        PngText = "png_text",
        /// The PNG last-modification time (`tIME`).
        Timestamp = "timestamp",
        /// Bytes after the end of the image or RIFF container (e.g. MPF secondary images).
        TrailingData = "trailing_data",
        /// Segments or chunks not on the allowlist (C2PA manifests, vendor data…).
        OtherMetadata = "other_metadata",
        /// The PDF document information dictionary (`/Info`: author, producer, dates…).
        PdfInfo = "pdf_info",
        /// PDF XMP metadata streams (`/Metadata`).
        PdfXmp = "pdf_xmp",
        /// PDF application data (`/PieceInfo`, `/LastModified`).
        PdfPieceInfo = "pdf_piece_info",
        /// The PDF file identifier (trailer `/ID`).
        PdfId = "pdf_id",
        /// Author names (`/T`) of PDF markup annotations (comments, highlights…).
        PdfAnnotationAuthor = "pdf_annotation_author",
        /// Earlier PDF revisions kept by incremental updates, and objects nothing refers
        /// to any more: both can hold superseded metadata.
        PdfHistory = "pdf_history",
        /// OOXML core properties (creator, last modified by, dates, title, keywords…).
        OfficeCoreProps = "office_core_props",
        /// OOXML extended properties (application, company, manager, template…).
        OfficeAppProps = "office_app_props",
        /// OOXML custom properties.
        OfficeCustomProps = "office_custom_props",
        /// Zip entry timestamps, extra fields and comments of an OOXML package.
        ZipMetadata = "zip_metadata",
    }
}

named_enum! {
    /// Which bound on scrubbing work a file exceeded.
    pub enum ScrubLimit {
        PdfObjects = "pdf_objects",
        PdfDecompressed = "pdf_decompressed",
        ZipEntries = "zip_entries",
        ZipUncompressed = "zip_uncompressed",
    }
}

/// Why no scrubbed rendition was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotScrubbed {
    UnsupportedType,
    TooLarge,
    Encrypted,
    Limit(ScrubLimit),
    Malformed,
    /// Larger than the worker inspects (`worker.max_inspect_mib`): not read whole.
    NotInspectedWhole,
}
