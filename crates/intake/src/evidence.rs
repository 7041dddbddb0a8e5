//! Encrypts one evidence file as it streams in.
//!
//! The request's task hashes each network chunk (SHA-256, for the chain of custody) and
//! copies it into age's 64 KiB chunk buffer. Only when a chunk is full is it encrypted
//! and written, on a blocking thread, while the task goes on reading and hashing the
//! next bytes. So a slow upload holds one chunk buffer and a file handle, not a thread:
//! a thousand of them trickling in cost memory in proportion, and no thread pool runs
//! dry. A fast one keeps hashing and encryption on two threads at once.

use std::io::{self, Write};

use bytes::Bytes;
use redress_crypto::{PublicKey, SealingWriter};
use redress_domain::ObjectId;
use redress_store::{BlobStore, PendingBlob};
use sha2::{Digest, Sha256};
use tokio::task::JoinHandle;

/// age's plaintext chunk size: a full chunk is encrypted once the next byte arrives.
const AGE_CHUNK: u64 = 64 * 1024;

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
    id: ObjectId,
    /// `None` while a blocking write has it.
    sealer: Option<SealingWriter<PendingBlob>>,
    writing: Option<JoinHandle<io::Result<SealingWriter<PendingBlob>>>>,
    hash: Sha256,
    plaintext_bytes: u64,
}

impl EvidenceWriter {
    pub async fn start(blobs: &BlobStore, recipient: &PublicKey) -> io::Result<Self> {
        let blob = blobs.begin().await?;
        let id = blob.id();
        let sealer = redress_crypto::seal_writer(&[recipient], blob).map_err(io::Error::other)?;
        Ok(Self {
            id,
            sealer: Some(sealer),
            writing: None,
            hash: Sha256::new(),
            plaintext_bytes: 0,
        })
    }

    /// The object the file is stored as.
    pub fn id(&self) -> ObjectId {
        self.id
    }

    /// The sealer, once any write in flight has finished.
    async fn sealer(&mut self) -> io::Result<SealingWriter<PendingBlob>> {
        if let Some(writing) = self.writing.take() {
            return writing.await.map_err(io::Error::other)?;
        }
        self.sealer
            .take()
            .ok_or_else(|| io::Error::other("evidence writer already failed"))
    }

    /// Hashes a chunk and hands it to age. Waits only for the previous chunk's
    /// encryption (back-pressure onto the client).
    pub async fn send(&mut self, chunk: Bytes) -> io::Result<()> {
        self.hash.update(&chunk);
        let buffered_before = buffered(self.plaintext_bytes);
        self.plaintext_bytes += chunk.len() as u64;
        let mut sealer = self.sealer().await?;
        if buffered_before + chunk.len() as u64 <= AGE_CHUNK {
            // Fits in age's current chunk: a copy, no encryption, no I/O.
            sealer.write_all(&chunk)?;
            self.sealer = Some(sealer);
        } else {
            self.writing = Some(tokio::task::spawn_blocking(move || {
                sealer.write_all(&chunk)?;
                Ok(sealer)
            }));
        }
        Ok(())
    }

    /// Writes the last chunk and returns the file, still pending.
    pub async fn finish(mut self) -> io::Result<SealedFile> {
        let sealer = self.sealer().await?;
        let blob = tokio::task::spawn_blocking(move || sealer.finish())
            .await
            .map_err(io::Error::other)??;
        Ok(SealedFile {
            blob,
            plaintext_bytes: self.plaintext_bytes,
            sha256: self.hash.finalize().into(),
        })
    }
}

/// Bytes age holds unencrypted after `written` bytes: a full chunk is kept until more
/// arrive, since the last chunk is sealed differently.
fn buffered(written: u64) -> u64 {
    match written % AGE_CHUNK {
        0 if written > 0 => AGE_CHUNK,
        rest => rest,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn age_keeps_a_full_chunk_until_more_arrives() {
        assert_eq!(buffered(0), 0);
        assert_eq!(buffered(1), 1);
        assert_eq!(buffered(AGE_CHUNK), AGE_CHUNK);
        assert_eq!(buffered(AGE_CHUNK + 1), 1);
        assert_eq!(buffered(3 * AGE_CHUNK), AGE_CHUNK);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn any_split_of_a_file_opens_to_the_same_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = BlobStore::folder(dir.path(), redress_store::Access::Owner).unwrap();
        let id = redress_crypto::SecretIdentity::generate();
        let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
        for split in [1usize, 1000, 65_535, 65_536, 65_537, 200_000] {
            let mut w = EvidenceWriter::start(&blobs, &id.public()).await.unwrap();
            for part in data.chunks(split) {
                w.send(Bytes::copy_from_slice(part)).await.unwrap();
            }
            let sealed = w.finish().await.unwrap();
            assert_eq!(sealed.plaintext_bytes, data.len() as u64);
            let blob_id = sealed.blob.id();
            sealed.blob.commit().unwrap();
            let ct = blobs.read_all(blob_id).await.unwrap();
            let plain = redress_crypto::open(&id, &ct).unwrap();
            assert_eq!(plain.as_slice(), data.as_slice(), "split {split}");
        }
    }
}
