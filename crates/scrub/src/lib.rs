//! Metadata-scrubbed renditions of evidence files.
//!
//! A reporter's photo, scan or document can name them: camera serial numbers, GPS
//! coordinates, author fields, editing-software traces. [`scrub`] makes a copy with that
//! metadata removed, for investigators to open, while the caller keeps the untouched
//! original (both encrypted, both hashed for chain of custody).
//!
//! What this crate must never do:
//! - change what a file shows: image pixel data is copied byte for byte, never re-encoded,
//!   and PDF page content streams are left as they are;
//! - claim a file was scrubbed when it was not: anything it cannot parse completely, or
//!   that exceeds [`Limits`], comes back as [`Outcome::NotScrubbed`];
//! - panic, log, touch the file system or the network, or use `unsafe`.
//!
//! The type is decided by content ([`sniff`]), never by a name or a claimed MIME type.
//!
//! # Policy decisions
//! - **ICC colour profiles are kept** (JPEG `APP2 ICC_PROFILE`, PNG `iCCP`, WebP `ICCP`):
//!   dropping one changes how the pixels look. A profile names a colour space and at most
//!   the vendor or model of the device or display that made it, not a person.
//! - **JPEG orientation is lost** with the EXIF block. The pixels are unchanged, but a
//!   viewer that used the EXIF orientation tag to rotate a phone photo will now show it
//!   sideways or upside down. Investigators should rotate by eye, or consult the original.
//! - **Thumbnails, trailing data and unrecognised metadata are removed**: an allowlist
//!   decides what is kept in each format, so unknown segments and chunks (C2PA manifests,
//!   maker notes, secondary MPF images after a JPEG's end marker) are dropped. A JPEG keeps
//!   its frame, table and scan segments, restart markers, JFIF header, Adobe segment and ICC
//!   profile; everything else goes, down to JPG0–JPG13, DNL, DHP and EXP.
//! - **PDF**: the file is rewritten from its parsed objects, so earlier incremental-update
//!   revisions and unreferenced objects (and the metadata they hold) are not carried over.
//!   The trailer keeps only `/Root` and `/Size` (so `/Info` and `/ID` go); XMP `/Metadata`
//!   streams, `/PieceInfo`, `/LastModified` and the author (`/T`) of markup annotations are
//!   removed. Streams that are JPEG files (by content) are scrubbed like JPEG files, and if
//!   one cannot be, the whole PDF is not scrubbed. A PDF that opens without a password but
//!   carries permission-only encryption is written out decrypted; one that needs a
//!   password is [`NotScrubbedReason::Encrypted`].
//! - **OOXML (docx/xlsx/pptx)**: core, extended (app) and custom document properties are
//!   emptied, embedded JPEG/PNG/WebP images are scrubbed (or the package is not), and the
//!   archive is rewritten without entry timestamps, extra fields or comments. Every other
//!   part keeps its exact content.
//!
//! # Known gaps
//! Text that names people inside the content itself is left alone: OOXML comment and
//! tracked-change authors, revision ids (`w:rsid`), an xlsx's saved folder path
//! (`x15ac:absPath`), printer settings; PDF form fields, attachments (`/EmbeddedFiles`),
//! JavaScript, and images other than plain JPEG (JPEG 2000, Flate-wrapped or inline). PNG
//! EXIF stored as ImageMagick hex text is removed but not inspected for GPS.
//!
//! # Panics in dependencies
//! PDF and zip parsing is done by third-party crates. Although both are hardened against
//! hostile input, [`scrub`] runs every parser under [`std::panic::catch_unwind`] so that a
//! bug there costs one rendition ([`NotScrubbedReason::Malformed`]) and not the worker. This
//! relies on the build using `panic = "unwind"` (the default). The default panic hook still
//! prints the panic message to standard error, and lopdf reports malformed structure
//! (object numbers and offsets, not content) through the `log` crate under its own target.

#![forbid(unsafe_code)]
#![deny(clippy::indexing_slicing)]

mod exif;
mod jpeg;
mod office;
mod pdf;
mod png;
mod webp;

use std::collections::BTreeSet;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};

use sha2::{Digest, Sha256};

/// A file type, as recognised from the file's leading bytes and structure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FileKind {
    Jpeg,
    Png,
    Webp,
    Pdf,
    Office(OfficeKind),
    Other,
}

/// The Office Open XML packages that are recognised.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OfficeKind {
    Docx,
    Xlsx,
    Pptx,
}

/// Bounds on the work one call to [`scrub`] may do.
///
/// Every bound exists so that a small hostile file cannot make the worker allocate or
/// compute without limit. The defaults fit evidence files from phones and office software.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Larger inputs are not parsed at all ([`NotScrubbedReason::TooLarge`]).
    pub max_input_bytes: usize,
    /// Objects in a PDF (including those inside object streams).
    pub max_pdf_objects: usize,
    /// Decompressed size of a PDF's object streams together, and of any one
    /// cross-reference stream. (Page content is never decompressed.)
    pub max_pdf_decompressed: usize,
    /// Entries in an OOXML package.
    pub max_zip_entries: usize,
    /// Sum of the decompressed sizes of all entries of an OOXML package.
    pub max_zip_uncompressed: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_input_bytes: 64 * 1024 * 1024,
            max_pdf_objects: 500_000,
            max_pdf_decompressed: 128 * 1024 * 1024,
            max_zip_entries: 10_000,
            max_zip_uncompressed: 512 * 1024 * 1024,
        }
    }
}

/// A kind of metadata that was found and removed: the domain's list, so the triage
/// summary records exactly these names.
pub use redress_domain::evidence::Metadata as Removed;

/// Why no rendition was made.
///
/// None of these carries text taken from the file, so they are safe to log.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NotScrubbedReason {
    #[error("file type not supported for scrubbing")]
    UnsupportedType,
    #[error("file larger than the scrubbing limit")]
    TooLarge,
    #[error("file is encrypted")]
    Encrypted,
    #[error("file exceeds a scrubbing limit: {0}")]
    Limit(LimitKind),
    #[error("file is malformed: {0}")]
    Malformed(&'static str),
}

/// Which bound of [`Limits`] (other than the input size) was exceeded.
pub use redress_domain::evidence::ScrubLimit as LimitKind;

impl NotScrubbedReason {
    /// The reason as the triage summary records it (the detail of a malformed file is
    /// for logs and tests, not for the record).
    pub fn recorded(&self) -> redress_domain::evidence::NotScrubbed {
        use redress_domain::evidence::NotScrubbed;
        match self {
            Self::UnsupportedType => NotScrubbed::UnsupportedType,
            Self::TooLarge => NotScrubbed::TooLarge,
            Self::Encrypted => NotScrubbed::Encrypted,
            Self::Limit(limit) => NotScrubbed::Limit(*limit),
            Self::Malformed(_) => NotScrubbed::Malformed,
        }
    }
}

impl FileKind {
    /// The file type as the triage summary records it.
    pub fn file_type(self) -> redress_domain::evidence::FileType {
        use redress_domain::evidence::FileType;
        match self {
            Self::Jpeg => FileType::Jpeg,
            Self::Png => FileType::Png,
            Self::Webp => FileType::Webp,
            Self::Pdf => FileType::Pdf,
            Self::Office(OfficeKind::Docx) => FileType::Docx,
            Self::Office(OfficeKind::Xlsx) => FileType::Xlsx,
            Self::Office(OfficeKind::Pptx) => FileType::Pptx,
            Self::Other => FileType::Other,
        }
    }
}

/// The result of [`scrub`].
#[derive(Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Metadata was removed: `bytes` is the rendition.
    Scrubbed {
        kind: FileKind,
        bytes: Vec<u8>,
        removed: Vec<Removed>,
    },
    /// A supported file with nothing to remove: the rendition is the input itself.
    Unchanged { kind: FileKind },
    /// No rendition could be made; the original must be treated as unscrubbed.
    NotScrubbed {
        kind: FileKind,
        reason: NotScrubbedReason,
    },
}

impl Outcome {
    pub fn kind(&self) -> FileKind {
        match self {
            Self::Scrubbed { kind, .. } | Self::Unchanged { kind } | Self::NotScrubbed { kind, .. } => *kind,
        }
    }
}

/// Evidence bytes stay out of debug output and so out of logs.
impl fmt::Debug for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Scrubbed { kind, bytes, removed } => f
                .debug_struct("Scrubbed")
                .field("kind", kind)
                .field("len", &bytes.len())
                .field("removed", removed)
                .finish(),
            Self::Unchanged { kind } => f.debug_struct("Unchanged").field("kind", kind).finish(),
            Self::NotScrubbed { kind, reason } => f
                .debug_struct("NotScrubbed")
                .field("kind", kind)
                .field("reason", reason)
                .finish(),
        }
    }
}

/// Recognises a file by its content.
pub fn sniff(bytes: &[u8]) -> FileKind {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        FileKind::Jpeg
    } else if bytes.starts_with(png::SIGNATURE) {
        FileKind::Png
    } else if webp::is_webp(bytes) {
        FileKind::Webp
    } else if let Some(office) = office::sniff(bytes) {
        FileKind::Office(office)
    } else if pdf::has_header(bytes) {
        FileKind::Pdf
    } else {
        FileKind::Other
    }
}

/// Makes a metadata-scrubbed rendition of `input`, which is left untouched.
///
/// Never panics; see the crate documentation for what is removed and kept.
pub fn scrub(input: &[u8], limits: &Limits) -> Outcome {
    let kind = sniff(input);
    if kind == FileKind::Other {
        return Outcome::NotScrubbed {
            kind,
            reason: NotScrubbedReason::UnsupportedType,
        };
    }
    if input.len() > limits.max_input_bytes {
        return Outcome::NotScrubbed {
            kind,
            reason: NotScrubbedReason::TooLarge,
        };
    }
    let result = catch_unwind(AssertUnwindSafe(|| scrub_kind(kind, input, limits)))
        .unwrap_or(Err(NotScrubbedReason::Malformed("a parser failed unexpectedly")));
    match result {
        Ok(rendition) if rendition.removed.is_empty() => Outcome::Unchanged { kind },
        Ok(rendition) => Outcome::Scrubbed {
            kind,
            bytes: rendition.bytes,
            removed: rendition.removed.into_iter().collect(),
        },
        Err(reason) => Outcome::NotScrubbed { kind, reason },
    }
}

/// Lower-case hexadecimal SHA-256 of `bytes`, as recorded for chain of custody.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A rewritten file and what was taken out of it. Empty `removed` means the input is
/// already clean, whatever `bytes` holds.
#[derive(Debug, Default)]
struct Rendition {
    bytes: Vec<u8>,
    removed: BTreeSet<Removed>,
}

type ScrubResult = Result<Rendition, NotScrubbedReason>;

fn scrub_kind(kind: FileKind, input: &[u8], limits: &Limits) -> ScrubResult {
    match kind {
        FileKind::Jpeg | FileKind::Png | FileKind::Webp => scrub_image(kind, input),
        FileKind::Pdf => pdf::scrub(input, limits),
        FileKind::Office(_) => office::scrub(input, limits),
        FileKind::Other => Err(NotScrubbedReason::UnsupportedType),
    }
}

/// The image scrubbers, also used for images embedded in PDF and OOXML files.
fn scrub_image(kind: FileKind, input: &[u8]) -> ScrubResult {
    match kind {
        FileKind::Jpeg => jpeg::scrub(input),
        FileKind::Png => png::scrub(input),
        FileKind::Webp => webp::scrub(input),
        _ => Err(NotScrubbedReason::UnsupportedType),
    }
}

fn malformed(what: &'static str) -> NotScrubbedReason {
    NotScrubbedReason::Malformed(what)
}
