//! What a case holds, opened for one request with the viewer's unlocked identity: their
//! wrap gives the case key, the case key the thread key, and those open the sealed
//! objects. Plaintext lives in this request's memory only (zeroized documents where the
//! types allow), is never written to disk, and an evidence file is streamed through a
//! bounded channel rather than read whole.

use std::io::Read;

use bytes::Bytes;
use redress_crypto::{SecretIdentity, open, open_reader};
use redress_domain::{
    EntryDocument, EntryKind, Holder, ObjectId, ObjectKind, Sealed, SubmissionDocument, TriageSummary,
};
use redress_store::StoredCase;

use crate::PortalState;
use crate::access::Viewer;
use crate::forms::Failure;

/// A case's two secrets, opened for this request.
pub struct CaseKeys {
    pub case: SecretIdentity,
    pub thread: SecretIdentity,
}

impl std::fmt::Debug for CaseKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CaseKeys(<redacted>)")
    }
}

/// Opens a case's keys as the viewer; `None` if the viewer holds no wrap their
/// identity opens (a case wrapped to the key they held before their account).
pub async fn open_keys(
    state: &PortalState,
    viewer: &Viewer,
    case: &StoredCase,
) -> Result<Option<CaseKeys>, Failure> {
    let Some(case_key) = open_case_key(state, viewer, case).await? else {
        return Ok(None);
    };
    let thread = redress_keychain::open_thread_key(&state.store, case.id, &case_key)
        .await
        .map_err(keychain_failure)?;
    Ok(Some(CaseKeys {
        case: case_key,
        thread,
    }))
}

/// Opens a case's case key alone as the viewer; `None` as for [`open_keys`].
pub async fn open_case_key(
    state: &PortalState,
    viewer: &Viewer,
    case: &StoredCase,
) -> Result<Option<SecretIdentity>, Failure> {
    let Some(investigator) = viewer.account.investigator_id else {
        return Ok(None);
    };
    let identity = viewer.identity()?;
    match redress_keychain::open_case_key(
        &state.store,
        case.id,
        Holder::Investigator(investigator),
        &identity,
    )
    .await
    {
        Ok(key) => Ok(Some(key)),
        Err(redress_keychain::KeychainError::Store(e)) => Err(e.into()),
        Err(_) => Ok(None),
    }
}

pub(crate) fn keychain_failure(e: redress_keychain::KeychainError) -> Failure {
    match e {
        redress_keychain::KeychainError::Store(e) => Failure::Store(e),
        redress_keychain::KeychainError::Crypto(e) => Failure::Crypto(e),
        _ => Failure::Internal("a case whose key chain does not hold"),
    }
}

/// What the case's stored documents say.
#[derive(Debug)]
pub struct CaseContent {
    pub submission: SubmissionDocument,
    /// What triage found (every case assigned to someone has been triaged).
    pub summary: Option<TriageSummary>,
    pub objects: Vec<(ObjectId, ObjectKind)>,
}

/// Reads and opens a small sealed object (a document, never evidence).
async fn read_sealed<T: Sealed>(
    state: &PortalState,
    id: ObjectId,
    key: &SecretIdentity,
) -> Result<T, Failure> {
    let ciphertext = state
        .blobs
        .read_all(id)
        .await
        .map_err(redress_store::StoreError::Io)?;
    let plain = open(key, &ciphertext)?;
    T::from_json(&plain).map_err(|_| Failure::Internal("a sealed document that does not read"))
}

/// The case's submission and triage summary, opened.
pub async fn read(state: &PortalState, keys: &CaseKeys, case: &StoredCase) -> Result<CaseContent, Failure> {
    let objects = state.store.objects(case.id).await?;
    let mut submission = None;
    let mut summary = None;
    for (id, kind) in &objects {
        match kind {
            ObjectKind::Submission => submission = Some(read_sealed(state, *id, &keys.thread).await?),
            ObjectKind::TriageSummary => summary = Some(read_sealed(state, *id, &keys.case).await?),
            ObjectKind::Evidence | ObjectKind::Scrubbed => {}
        }
    }
    let submission = submission.ok_or(Failure::Internal("a case without its submission"))?;
    Ok(CaseContent {
        submission,
        summary,
        objects,
    })
}

/// The name of an evidence file the reporter sent later, with a message: the messages
/// are opened only for a download the report itself does not list.
pub async fn later_file(
    state: &PortalState,
    keys: &CaseKeys,
    case: &StoredCase,
    object: ObjectId,
) -> Result<Option<Download>, Failure> {
    for entry in state.store.entries(case.id).await? {
        if entry.kind != EntryKind::ReporterMessage {
            continue;
        }
        let plain = open(&keys.thread, &entry.ciphertext)?;
        let doc =
            EntryDocument::from_json(&plain).map_err(|_| Failure::Internal("an entry that does not read"))?;
        if let Some(file) = doc.files.iter().find(|f| f.object_id == object) {
            return Ok(Some(Download {
                object,
                file_name: file.file_name.clone(),
            }));
        }
    }
    Ok(None)
}

/// A file of the case as it is downloaded: the object, the key it is sealed to, and the
/// name to offer.
#[derive(Debug)]
pub struct Download {
    pub object: ObjectId,
    pub file_name: String,
}

/// Which downloadable file `object` is in `content`: an evidence file (its name as
/// sent) or a scrubbed rendition (named after its original).
pub fn download_of(content: &CaseContent, object: ObjectId) -> Option<(Download, ObjectKind)> {
    let kind = content
        .objects
        .iter()
        .find(|(id, _)| *id == object)
        .map(|(_, k)| *k)?;
    match kind {
        ObjectKind::Evidence => {
            let entry = content
                .submission
                .evidence
                .iter()
                .find(|e| e.object_id == object)?;
            Some((
                Download {
                    object,
                    file_name: entry.file_name.clone(),
                },
                kind,
            ))
        }
        ObjectKind::Scrubbed => {
            let custody = content.summary.as_ref()?.evidence.iter().find(|c| {
                matches!(&c.rendition, redress_domain::Rendition::Scrubbed { object: o, .. } if *o == object)
            })?;
            Some((
                Download {
                    object,
                    file_name: format!("scrubbed-{}", custody.file_name),
                },
                kind,
            ))
        }
        ObjectKind::Submission | ObjectKind::TriageSummary => None,
    }
}

/// Pieces read at once while streaming a file.
pub(crate) const PIECE: usize = 64 * 1024;

/// Pieces on their way to the client at once: the memory a download holds.
const IN_FLIGHT: usize = 4;

/// A piece of a streamed response, or the error that ends it (the client then sees the
/// transfer break rather than a file that looks whole).
pub(crate) type Piece = Result<Bytes, std::io::Error>;

/// A channel from a blocking thread to a response body: the thread sends pieces, at
/// most [`IN_FLIGHT`] ahead of the client, and sees the send fail once the client has
/// gone.
pub(crate) fn to_client() -> (
    tokio::sync::mpsc::Sender<Piece>,
    impl futures_util::Stream<Item = Piece> + 'static,
) {
    let (tx, rx) = tokio::sync::mpsc::channel::<Piece>(IN_FLIGHT);
    let body =
        futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) });
    (tx, body)
}

/// Streams the decrypted bytes of `object`, sealed to `key`: read and decrypted on a
/// blocking thread a piece at a time, at most [`IN_FLIGHT`] pieces ahead of the
/// client. A damaged object ends the stream with an error (age's chunks are
/// authenticated: nothing unverified is sent).
pub fn stream(
    state: &PortalState,
    object: ObjectId,
    key: SecretIdentity,
) -> impl futures_util::Stream<Item = Piece> + 'static {
    let (tx, body) = to_client();
    let blobs = state.blobs.clone();
    tokio::task::spawn_blocking(move || {
        let opened = blobs
            .open_blob(object)
            .and_then(|blob| open_reader(&key, blob).map_err(std::io::Error::other));
        let mut reader = match opened {
            Ok(r) => r,
            Err(e) => {
                let _ = tx.blocking_send(Err(e));
                return;
            }
        };
        loop {
            let mut piece = vec![0u8; PIECE];
            match read_piece(&mut reader, &mut piece) {
                Ok(0) => return,
                Ok(n) => {
                    piece.truncate(n);
                    if tx.blocking_send(Ok(Bytes::from(piece))).is_err() {
                        return; // the client went away
                    }
                }
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                    return;
                }
            }
        }
    });
    body
}

/// Fills `piece` as far as the stream allows: the number of bytes read, 0 at its end.
fn read_piece(reader: &mut impl Read, piece: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < piece.len() {
        match reader.read(&mut piece[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

/// A file name safe in a `Content-Disposition` header and on any file system: letters,
/// digits, `.`, `-` and `_` kept, anything else `_`, no leading dot, at most 100
/// characters; `evidence` when nothing is left.
pub fn safe_file_name(name: &str) -> String {
    let mut safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    while safe.starts_with('.') {
        safe.remove(0);
    }
    if safe.chars().all(|c| c == '_' || c == '.') {
        safe = "evidence".into();
    }
    safe
}

#[cfg(test)]
mod tests {
    use super::safe_file_name;

    #[test]
    fn hostile_file_names_come_out_plain() {
        for (given, safe) in [
            ("photo.jpg", "photo.jpg"),
            ("../../etc/passwd", "_.._etc_passwd"),
            ("invoice\u{202E}gpj.exe", "invoice_gpj.exe"),
            ("a\"; filename=evil.html", "a___filename_evil.html"),
            ("\r\nSet-Cookie: x", "__Set-Cookie__x"),
            (".hidden", "hidden"),
            ("", "evidence"),
            ("///", "evidence"),
            ("répertoire.pdf", "r_pertoire.pdf"),
        ] {
            assert_eq!(safe_file_name(given), safe, "{given:?}");
        }
        assert_eq!(safe_file_name(&"x".repeat(300)).len(), 100);
    }
}
