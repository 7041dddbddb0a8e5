//! Encrypts one evidence file as it streams in. Two threads share the work so that
//! neither caps the throughput alone: the request's task hashes each chunk (SHA-256, for
//! the chain of custody) and hands it over a bounded channel to a blocking thread that
//! encrypts and writes it, so file writes and fsync never stall the async workers.
//! Memory per upload is bounded by the channel (a few network chunks) plus age's one
//! 64 KiB chunk.

use std::io::Write;

use bytes::Bytes;
use redress_crypto::PublicKey;
use redress_store::{BlobStore, PendingBlob};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

/// A finished file: its (still pending) blob and what identifies its plaintext.
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
    done: tokio::sync::oneshot::Receiver<std::io::Result<PendingBlob>>,
    hash: Sha256,
    plaintext_bytes: u64,
}

/// Chunks in flight between the request and the writer thread.
const CHANNEL_CHUNKS: usize = 16;

impl EvidenceWriter {
    pub fn start(blobs: &BlobStore, recipient: &PublicKey) -> std::io::Result<Self> {
        let blob = blobs.begin()?;
        let (tx, rx) = mpsc::channel::<Bytes>(CHANNEL_CHUNKS);
        let (done_tx, done) = tokio::sync::oneshot::channel();
        let recipient = recipient.clone();
        tokio::task::spawn_blocking(move || {
            let _ = done_tx.send(write_all(blob, &recipient, rx));
        });
        Ok(Self {
            tx: Some(tx),
            done,
            hash: Sha256::new(),
            plaintext_bytes: 0,
        })
    }

    /// Hashes a chunk and hands it to the writer. Waits only while the writer is behind
    /// by more than a few chunks (back-pressure onto the client).
    pub async fn send(&mut self, chunk: Bytes) -> std::io::Result<()> {
        let tx = self
            .tx
            .as_ref()
            .ok_or_else(|| std::io::Error::other("writer closed"))?;
        self.hash.update(&chunk);
        self.plaintext_bytes += chunk.len() as u64;
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
        let blob = (&mut self.done).await.map_err(std::io::Error::other)??;
        Ok(SealedFile {
            blob,
            plaintext_bytes: self.plaintext_bytes,
            sha256: self.hash.finalize().into(),
        })
    }
}

fn write_all(
    blob: PendingBlob,
    recipient: &PublicKey,
    mut rx: mpsc::Receiver<Bytes>,
) -> std::io::Result<PendingBlob> {
    let mut sealer = redress_crypto::seal_writer(&[recipient], blob).map_err(std::io::Error::other)?;
    // The sender dropping without `finish` also ends this loop; the caller then drops the
    // result, and the blob's temporary file with it.
    while let Some(chunk) = rx.blocking_recv() {
        sealer.write_all(&chunk)?;
    }
    sealer.finish()
}
