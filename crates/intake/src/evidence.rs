//! Encrypts one evidence file as it streams in, on a blocking thread so file writes and
//! fsync never stall the async workers. Memory per upload is bounded by the channel
//! (a few network chunks) plus age's one 64 KiB chunk.

use std::io::Write;

use bytes::Bytes;
use redress_crypto::PublicKey;
use redress_store::{BlobStore, PendingBlob};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

/// What the writer thread hands back for a finished file.
#[derive(Debug)]
pub struct SealedFile {
    pub blob: PendingBlob,
    pub plaintext_bytes: u64,
    pub sha256: [u8; 32],
}

/// A file being written. Send chunks, then `finish`. Dropping it aborts the file (the
/// temporary file is removed).
pub struct EvidenceWriter {
    tx: Option<mpsc::Sender<Bytes>>,
    done: tokio::sync::oneshot::Receiver<std::io::Result<SealedFile>>,
}

impl EvidenceWriter {
    pub fn start(blobs: &BlobStore, recipient: &PublicKey) -> std::io::Result<Self> {
        let blob = blobs.begin()?;
        let (tx, rx) = mpsc::channel::<Bytes>(8);
        let (done_tx, done) = tokio::sync::oneshot::channel();
        let recipient = recipient.clone();
        tokio::task::spawn_blocking(move || {
            let _ = done_tx.send(write_all(blob, &recipient, rx));
        });
        Ok(Self { tx: Some(tx), done })
    }

    /// Hands a chunk to the writer. Waits only while the writer is behind by more
    /// than a few chunks (back-pressure onto the client).
    pub async fn send(&mut self, chunk: Bytes) -> std::io::Result<()> {
        let tx = self
            .tx
            .as_ref()
            .ok_or_else(|| std::io::Error::other("writer closed"))?;
        if tx.send(chunk).await.is_ok() {
            return Ok(());
        }
        // The writer thread stopped early (disk full, I/O error): its own error says why.
        self.tx.take();
        Err(match (&mut self.done).await {
            Ok(Err(e)) => e,
            _ => std::io::Error::other("evidence writer stopped"),
        })
    }

    /// Closes the stream and waits for the final chunk to be written.
    pub async fn finish(mut self) -> std::io::Result<SealedFile> {
        self.tx.take();
        (&mut self.done).await.map_err(std::io::Error::other)?
    }
}

fn write_all(
    blob: PendingBlob,
    recipient: &PublicKey,
    mut rx: mpsc::Receiver<Bytes>,
) -> std::io::Result<SealedFile> {
    let mut sealer = redress_crypto::seal_writer(&[recipient], blob).map_err(std::io::Error::other)?;
    let mut hash = Sha256::new();
    let mut plaintext_bytes = 0u64;
    // The sender dropping without `finish` also ends this loop; the caller then drops the
    // result, and the blob's temporary file with it.
    while let Some(chunk) = rx.blocking_recv() {
        hash.update(&chunk);
        plaintext_bytes += chunk.len() as u64;
        sealer.write_all(&chunk)?;
    }
    let blob = sealer.finish()?;
    Ok(SealedFile {
        blob,
        plaintext_bytes,
        sha256: hash.finalize().into(),
    })
}
