//! A case exported as one zip file, for work outside the portal (ADR 0026): every
//! object and entry of the case byte for byte as stored (still age), the thread key's
//! wrap as stored, the case key sealed to a passphrase the investigator chooses (the
//! stock `age` CLI cannot open an identity sealed to their password key), a manifest
//! with the SHA-256 of every file and the key that opens it, and a README whose
//! commands open everything with the stock `age` CLI.
//!
//! Nothing is decrypted but the case key, to seal it again. The zip is written on a
//! blocking thread as the client reads it, stored without compression (ciphertext does
//! not compress), so the memory an export holds does not grow with the evidence. The
//! passphrase is never stored, logged or kept with a form.

use std::io::{self, Read, Seek, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;
use redress_crypto::{
    MAX_PASSPHRASE_CHARS, MIN_PASSPHRASE_CHARS, Passphrase, PassphraseError, SecretIdentity,
};
use redress_domain::{AuditAction, CaseRef, EntryKind, ObjectId, ObjectKind, SealedTo};
use redress_store::{BlobStore, CaseEntry, StoredCase};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc::Sender;
use zeroize::Zeroizing;

use crate::PortalState;
use crate::access::Viewer;
use crate::content::{PIECE, Piece};
use crate::forms::{self, Answer, Failure, answer};
use crate::layout::{Chrome, page};

/// The manifest's format; a reader refuses one it does not know.
pub const MANIFEST_FORMAT: u32 = 1;

/// The files of every export besides the case's own.
pub const README: &str = "README.txt";
pub const MANIFEST: &str = "manifest.json";
pub const SUMS: &str = "SHA256SUMS";
pub const CASE_KEY: &str = "case-key.age";
pub const THREAD_KEY: &str = "thread-key.age";

/// Where the README has `age` write the two keys, opened.
pub const CASE_KEY_FILE: &str = "case-key.txt";
pub const THREAD_KEY_FILE: &str = "thread-key.txt";

/// Which key opens a file of the export.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpensWith {
    /// The export passphrase: `case-key.age` only.
    Passphrase,
    /// The case key, once opened (`case-key.txt`).
    CaseKey,
    /// The thread key, once opened (`thread-key.txt`).
    ThreadKey,
}

impl OpensWith {
    fn of(sealed: SealedTo) -> Self {
        match sealed {
            SealedTo::Case => Self::CaseKey,
            SealedTo::Thread => Self::ThreadKey,
        }
    }

    /// The identity file the README has `age` write for this key.
    pub fn key_file(self) -> Option<&'static str> {
        match self {
            Self::Passphrase => None,
            Self::CaseKey => Some(CASE_KEY_FILE),
            Self::ThreadKey => Some(THREAD_KEY_FILE),
        }
    }
}

/// What a file of the export holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "what", rename_all = "snake_case")]
pub enum Holds {
    Readme,
    /// The case key (an age identity file), sealed to the export passphrase.
    CaseKey,
    /// The thread key, wrapped to the case key as Redress stores it.
    ThreadKey,
    /// A stored object of the case, byte for byte.
    Object {
        kind: ObjectKind,
        object: ObjectId,
    },
    /// An entry of the conversation or the notes, numbered in the order written.
    Entry {
        kind: EntryKind,
        seq: u32,
    },
}

/// One file of the export, as the manifest lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestFile {
    pub path: String,
    pub size: u64,
    /// Of the file's bytes in the zip, in lower-case hex.
    pub sha256: String,
    #[serde(flatten)]
    pub holds: Holds,
    /// `None` for the README, which is not sealed.
    pub opens_with: Option<OpensWith>,
}

/// `manifest.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub case_ref: CaseRef,
    /// RFC 3339, UTC.
    pub exported_at: String,
    /// Every file of the zip but the manifest and `SHA256SUMS`, in the zip's order.
    pub files: Vec<ManifestFile>,
}

page!(
    /// The export's page: what it holds, and the passphrase form.
    #[derive(Debug)]
    ExportPage {
    case_ref: String,
    /// The viewer's identity opens the case key: there is something to export with.
    can_open: bool,
    hint: String,
    errors: Vec<String>,
}, "export.html");

/// What the export form posts. Both fields are secrets: never kept across a login
/// (`forms::NEVER_KEPT`), never put back in a refused form.
#[derive(Default, Deserialize)]
#[serde(default)]
struct ExportForm {
    passphrase: String,
    confirm: String,
}

/// `GET /cases/{case_ref}/export`: what an export holds, and the passphrase form.
pub async fn show(
    req: HttpRequest,
    state: web::Data<PortalState>,
    viewer: Viewer,
    case_ref: web::Path<String>,
) -> HttpResponse {
    answer(&state, show_inner(&req, &state, &viewer, &case_ref).await)
}

async fn show_inner(req: &HttpRequest, state: &PortalState, viewer: &Viewer, typed: &str) -> Answer {
    let case = match crate::cases::visible_case(state, req, viewer, typed).await? {
        Ok(case) => case,
        Err(refused) => return Ok(refused),
    };
    let can_open = crate::content::open_case_key(state, viewer, &case)
        .await?
        .is_some();
    Ok(export_page(
        state,
        req,
        viewer,
        &case,
        can_open,
        StatusCode::OK,
        Vec::new(),
    ))
}

fn export_page(
    state: &PortalState,
    req: &HttpRequest,
    viewer: &Viewer,
    case: &StoredCase,
    can_open: bool,
    status: StatusCode,
    errors: Vec<String>,
) -> HttpResponse {
    let page = ExportPage {
        chrome: Chrome::new(state, req, Some(viewer), "export.title"),
        case_ref: case.case_ref.to_string(),
        can_open,
        hint: state.messages.fill(
            "export.passphrase_hint",
            &[("min", &MIN_PASSPHRASE_CHARS.to_string())],
        ),
        errors,
    };
    page.chrome.respond(status, &page)
}

/// `POST /cases/{case_ref}/export`: the zip, as an attachment, once the passphrase is
/// acceptable and the export is in the audit log.
pub async fn submit(
    req: HttpRequest,
    state: web::Data<PortalState>,
    viewer: Viewer,
    case_ref: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    answer(
        &state,
        submit_inner(&req, &state, &viewer, &case_ref, &body).await,
    )
}

async fn submit_inner(
    req: &HttpRequest,
    state: &PortalState,
    viewer: &Viewer,
    typed: &str,
    body: &[u8],
) -> Answer {
    // Whose case it is comes first: someone else's is a missing page, whatever the form.
    let case = match crate::cases::visible_case(state, req, viewer, typed).await? {
        Ok(case) => case,
        Err(refused) => return Ok(refused),
    };
    let form = match forms::posted::<ExportForm>(state, req, body, req.path()) {
        forms::Posted::Form(f) => f,
        forms::Posted::Refused(answer) => return Ok(answer),
    };
    let Some(case_key) = crate::content::open_case_key(state, viewer, &case).await? else {
        return Ok(export_page(
            state,
            req,
            viewer,
            &case,
            false,
            StatusCode::CONFLICT,
            Vec::new(),
        ));
    };
    let passphrase = match chosen(state, form) {
        Ok(p) => p,
        Err(message) => {
            let errors = vec![message];
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            return Ok(export_page(state, req, viewer, &case, true, status, errors));
        }
    };
    let sealed_key = seal_case_key(state, case_key, passphrase).await?;
    let thread_wrap = redress_keychain::thread_key_wrap(&state.store, case.id)
        .await
        .map_err(crate::content::keychain_failure)?;
    let objects = state.store.objects(case.id).await?;
    let entries = state.store.entries(case.id).await?;
    let now = state.now();
    let mut files = plan(sealed_key, thread_wrap, objects, entries);
    let readme = readme(state, &case.case_ref, now, &files);
    files.insert(
        0,
        Planned::bytes(README, Holds::Readme, None, readme.into_bytes()),
    );
    let head = Head {
        case_ref: case.case_ref.clone(),
        exported_at: rfc3339(now)?,
    };
    crate::cases::audit(
        state,
        None,
        viewer,
        AuditAction::Export,
        &format!("case:{}", case.case_ref),
    )
    .await?;
    let (tx, body) = crate::content::to_client();
    let blobs = state.blobs.clone();
    tokio::task::spawn_blocking(move || produce(files, head, &blobs, tx));
    Ok(HttpResponse::Ok()
        .content_type("application/zip")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"case-{}.zip\"", case.case_ref),
        ))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .streaming(body))
}

/// The passphrase the form chose, or why it cannot be (in the portal's words; the
/// passphrase is never repeated).
fn chosen(state: &PortalState, form: ExportForm) -> Result<Passphrase, String> {
    let t = &state.messages;
    let confirm = Zeroizing::new(form.confirm);
    let passphrase = Passphrase::new(form.passphrase).map_err(|e| match e {
        PassphraseError::TooShort => {
            t.fill("export.too_short", &[("min", &MIN_PASSPHRASE_CHARS.to_string())])
        }
        PassphraseError::TooLong => t.fill("export.too_long", &[("max", &MAX_PASSPHRASE_CHARS.to_string())]),
        PassphraseError::Control => t.get("export.control").into_owned(),
    })?;
    if !passphrase.is(&confirm) {
        return Err(t.get("export.mismatch").into_owned());
    }
    Ok(passphrase)
}

/// The case key sealed to the passphrase: scrypt's memory and a second of a core, so
/// it waits its turn with the logins' key derivations.
async fn seal_case_key(
    state: &PortalState,
    case_key: SecretIdentity,
    passphrase: Passphrase,
) -> Result<Vec<u8>, Failure> {
    Ok(state
        .kdf
        .run(move || redress_crypto::wrap_identity_to_passphrase(&case_key, &passphrase))
        .await??)
}

fn rfc3339(unix: i64) -> Result<String, Failure> {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .ok_or(Failure::Internal("a clock outside the calendar"))
}

/// A file to put in the zip, and where its bytes come from.
struct Planned {
    path: String,
    holds: Holds,
    opens_with: Option<OpensWith>,
    source: Source,
}

enum Source {
    Bytes(Vec<u8>),
    Blob(ObjectId),
}

impl Planned {
    fn bytes(path: &str, holds: Holds, opens_with: Option<OpensWith>, bytes: Vec<u8>) -> Self {
        Self {
            path: path.to_owned(),
            holds,
            opens_with,
            source: Source::Bytes(bytes),
        }
    }

    /// Where the README has `age` write the file opened: the path without `.age`, and
    /// `.json` for a document. Evidence keeps no name of the reporter's (that is in the
    /// submission).
    fn opened_path(&self) -> String {
        let stem = self.path.strip_suffix(".age").unwrap_or(&self.path);
        match self.holds {
            Holds::Object {
                kind: ObjectKind::Submission | ObjectKind::TriageSummary,
                ..
            }
            | Holds::Entry { .. } => format!("{stem}.json"),
            _ => stem.to_owned(),
        }
    }
}

/// The files of the case in the zip's order (the README goes first): the keys, the
/// objects (the submission, what triage found, the evidence, the scrubbed copies),
/// then the entries in the order written.
fn plan(
    sealed_key: Vec<u8>,
    thread_wrap: Vec<u8>,
    mut objects: Vec<(ObjectId, ObjectKind)>,
    entries: Vec<CaseEntry>,
) -> Vec<Planned> {
    let rank = |kind: ObjectKind| match kind {
        ObjectKind::Submission => 0,
        ObjectKind::TriageSummary => 1,
        ObjectKind::Evidence => 2,
        ObjectKind::Scrubbed => 3,
    };
    objects.sort_by_key(|(id, kind)| (rank(*kind), *id));
    let mut files = vec![
        Planned::bytes(CASE_KEY, Holds::CaseKey, Some(OpensWith::Passphrase), sealed_key),
        Planned::bytes(
            THREAD_KEY,
            Holds::ThreadKey,
            Some(OpensWith::CaseKey),
            thread_wrap,
        ),
    ];
    files.extend(objects.into_iter().map(|(object, kind)| Planned {
        path: format!("objects/{kind}-{object}.age"),
        holds: Holds::Object { kind, object },
        opens_with: Some(OpensWith::of(kind.sealed_to())),
        source: Source::Blob(object),
    }));
    files.extend(entries.into_iter().map(|e| Planned {
        path: format!("entries/{:04}-{}.age", e.seq, e.kind),
        holds: Holds::Entry {
            kind: e.kind,
            seq: e.seq,
        },
        opens_with: Some(OpensWith::of(e.kind.sealed_to())),
        source: Source::Bytes(e.ciphertext),
    }));
    files
}

/// The README: what the zip is, and the literal commands that check and open it.
fn readme(state: &PortalState, case_ref: &CaseRef, now: i64, files: &[Planned]) -> String {
    const INDENT: &str = "    ";
    let (case_key, thread_key) = (CASE_KEY_FILE, THREAD_KEY_FILE);
    let open: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let key = f.opens_with?.key_file()?;
            (f.path != THREAD_KEY)
                .then(|| format!("{INDENT}age -d -i {key} -o {} {}", f.opened_path(), f.path))
        })
        .collect();
    state.messages.fill(
        "export.readme",
        &[
            ("case_ref", case_ref.as_str()),
            ("exported_at", &crate::layout::moment(now)),
            ("sums", &format!("{INDENT}sha256sum -c {SUMS}")),
            ("case_key", &format!("{INDENT}age -d -o {case_key} {CASE_KEY}")),
            (
                "thread_key",
                &format!("{INDENT}age -d -i {case_key} -o {thread_key} {THREAD_KEY}"),
            ),
            ("open", &open.join("\n")),
            ("shred", &format!("{INDENT}shred -u {case_key} {thread_key}")),
        ],
    )
}

/// What the manifest says of the export itself.
struct Head {
    case_ref: CaseRef,
    exported_at: String,
}

/// Writes the zip to the client, on a blocking thread. A failure (a blob that cannot
/// be read, the client gone) ends the response with an error, so the client sees the
/// transfer break rather than an archive that looks whole.
fn produce(files: Vec<Planned>, head: Head, blobs: &BlobStore, tx: Sender<Piece>) {
    let out = ToClient {
        tx: tx.clone(),
        piece: Vec::with_capacity(PIECE),
        stopped: Arc::new(AtomicBool::new(false)),
    };
    if let Err(e) = write_zip(files, head, blobs, out) {
        redress_logging::count("portal", "export_broken");
        let _ = tx.blocking_send(Err(e));
    }
}

fn write_zip(files: Vec<Planned>, head: Head, blobs: &BlobStore, out: ToClient) -> io::Result<()> {
    let stopped = Arc::clone(&out.stopped);
    let mut zip = zip::ZipWriter::new_stream(out);
    if let Err(e) = write_files(&mut zip, files, head, blobs) {
        // The zip writer finishes its archive when dropped: none of that may reach the
        // client after a failure.
        stopped.store(true, Ordering::SeqCst);
        return Err(e);
    }
    zip.finish().map_err(io::Error::other)?.into_inner().last_piece()
}

fn write_files<W: Write + Seek>(
    zip: &mut zip::ZipWriter<W>,
    files: Vec<Planned>,
    head: Head,
    blobs: &BlobStore,
) -> io::Result<()> {
    let mut listed = Vec::with_capacity(files.len());
    for file in files {
        let (size, sha256) = match &file.source {
            Source::Bytes(bytes) => put(zip, &file.path, bytes.len() as u64, &mut bytes.as_slice())?,
            Source::Blob(id) => {
                let mut blob = blobs.open_blob(*id)?;
                let size = blob.size()?;
                put(zip, &file.path, size, &mut blob)?
            }
        };
        listed.push(ManifestFile {
            path: file.path,
            size,
            sha256,
            holds: file.holds,
            opens_with: file.opens_with,
        });
    }
    let manifest = Manifest {
        format: MANIFEST_FORMAT,
        case_ref: head.case_ref,
        exported_at: head.exported_at,
        files: listed,
    };
    let mut json = serde_json::to_vec_pretty(&manifest).map_err(io::Error::other)?;
    json.push(b'\n');
    let (_, manifest_sha256) = put(zip, MANIFEST, json.len() as u64, &mut json.as_slice())?;
    // `sha256sum -c` reads "<hash>  <path>" lines.
    let mut sums = String::new();
    for (sha256, path) in manifest
        .files
        .iter()
        .map(|f| (f.sha256.as_str(), f.path.as_str()))
        .chain(std::iter::once((manifest_sha256.as_str(), MANIFEST)))
    {
        sums.push_str(&format!("{sha256}  {path}\n"));
    }
    put(zip, SUMS, sums.len() as u64, &mut sums.as_bytes())?;
    Ok(())
}

/// Puts one file of `size` bytes from `from` into the zip, stored; its size and
/// SHA-256 as written. A source that gives another size than it said (a damaged
/// object) is an error.
fn put<W: Write + Seek>(
    zip: &mut zip::ZipWriter<W>,
    path: &str,
    size: u64,
    from: &mut impl Read,
) -> io::Result<(u64, String)> {
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .large_file(size >= u64::from(u32::MAX))
        .unix_permissions(0o600);
    zip.start_file(path, options).map_err(io::Error::other)?;
    let mut hashing = Hashing {
        inner: zip,
        hasher: Sha256::new(),
        written: 0,
    };
    io::copy(from, &mut hashing)?;
    if hashing.written != size {
        return Err(io::Error::other("an object's size is not the size stored"));
    }
    Ok((size, hex::encode(hashing.hasher.finalize())))
}

/// A writer that hashes and counts what passes through it.
struct Hashing<'a, W: Write> {
    inner: &'a mut W,
    hasher: Sha256,
    written: u64,
}

impl<W: Write> Write for Hashing<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The zip's way to the client: pieces of [`PIECE`] bytes into the response's channel.
/// Once stopped (the client gone, or the export failed) it takes whatever is written
/// and sends nothing.
struct ToClient {
    tx: Sender<Piece>,
    piece: Vec<u8>,
    stopped: Arc<AtomicBool>,
}

impl ToClient {
    fn send(&mut self) -> io::Result<()> {
        let piece = std::mem::replace(&mut self.piece, Vec::with_capacity(PIECE));
        if self.tx.blocking_send(Ok(Bytes::from(piece))).is_err() {
            self.stopped.store(true, Ordering::SeqCst);
            return Err(io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"));
        }
        Ok(())
    }

    /// Sends what is left once the archive is finished.
    fn last_piece(mut self) -> io::Result<()> {
        if self.piece.is_empty() || self.stopped.load(Ordering::SeqCst) {
            return Ok(());
        }
        self.send()
    }
}

impl Write for ToClient {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.stopped.load(Ordering::SeqCst) {
            return Ok(buf.len());
        }
        let n = buf.len().min(PIECE - self.piece.len());
        self.piece.extend_from_slice(&buf[..n]);
        if self.piece.len() == PIECE {
            self.send()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manifest_reads_back_with_what_each_file_holds() {
        let object = ObjectId::random();
        let manifest = Manifest {
            format: MANIFEST_FORMAT,
            case_ref: CaseRef::from_random([1, 2, 3, 4, 5]),
            exported_at: "2026-05-01T12:00:00Z".into(),
            files: vec![
                ManifestFile {
                    path: format!("objects/evidence-{object}.age"),
                    size: 5_000_000_000,
                    sha256: "ab".repeat(32),
                    holds: Holds::Object {
                        kind: ObjectKind::Evidence,
                        object,
                    },
                    opens_with: Some(OpensWith::ThreadKey),
                },
                ManifestFile {
                    path: "entries/0002-note.age".into(),
                    size: 300,
                    sha256: "cd".repeat(32),
                    holds: Holds::Entry {
                        kind: EntryKind::Note,
                        seq: 2,
                    },
                    opens_with: Some(OpensWith::CaseKey),
                },
            ],
        };
        let json = serde_json::to_value(&manifest).unwrap();
        assert_eq!(json["files"][0]["what"], "object");
        assert_eq!(json["files"][0]["kind"], "evidence");
        assert_eq!(json["files"][0]["opens_with"], "thread_key");
        assert_eq!(json["files"][1]["what"], "entry");
        assert_eq!(json["files"][1]["kind"], "note");
        let back: Manifest = serde_json::from_value(json).unwrap();
        assert_eq!(back, manifest);
    }

    #[test]
    fn the_zip_stops_at_once_when_the_client_goes() {
        let (tx, rx) = tokio::sync::mpsc::channel::<Piece>(1);
        drop(rx);
        let mut out = ToClient {
            tx,
            piece: Vec::new(),
            stopped: Arc::new(AtomicBool::new(false)),
        };
        let err = out.write_all(&vec![0; PIECE]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
        // What the zip writer then writes as it is dropped goes nowhere, quietly.
        assert_eq!(out.write(b"central directory").unwrap(), 17);
        assert!(out.last_piece().is_ok());
    }
}
