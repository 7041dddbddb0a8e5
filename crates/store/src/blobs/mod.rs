//! The blob store: age ciphertext by object id, behind one interface with two backends
//! (ADR 0019). The folder (`blobs.backend = "folder"`, the default) keeps each object as
//! a file; the database (`"postgres"`) keeps it as rows of the PostgreSQL database, so
//! processes on different hosts share nothing but PostgreSQL. Either way an object is a
//! standard age file, byte for byte.
//!
//! Writing and reading are synchronous (`Write`, `Read`), for age's streaming
//! encryption. With the database backend they wait on the database, so a pending blob's
//! writes and a reader's reads must run on a blocking thread (`spawn_blocking`,
//! `block_in_place`), never on an async worker; [`BlobStore::begin`],
//! [`BlobStore::remove`] and [`BlobStore::read_all`] are async and run anywhere.

mod database;
mod folder;

use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::time::SystemTime;

pub use folder::Access;
use redress_domain::ObjectId;

use crate::{Store, StoreError};

/// Where blobs are kept. Cheap to clone.
#[derive(Clone, Debug)]
pub struct BlobStore(Backend);

#[derive(Clone, Debug)]
enum Backend {
    Folder(folder::Folder),
    Database(database::Database),
}

impl BlobStore {
    /// The folder backend: opens (and creates) the blob folder. Folders this process
    /// makes get the mode of `access` whatever the umask; one made by another user is
    /// left as it is.
    pub fn folder(root: impl Into<PathBuf>, access: Access) -> io::Result<Self> {
        folder::Folder::open(root.into(), access).map(|f| Self(Backend::Folder(f)))
    }

    /// The database backend, on `store`'s PostgreSQL database. Must be called inside a
    /// Tokio runtime, which the synchronous reads and writes then wait on.
    pub fn database(store: &Store) -> Result<Self, StoreError> {
        database::Database::new(store).map(|d| Self(Backend::Database(d)))
    }

    /// The backend's configuration name: `folder` or `postgres`.
    pub fn backend_name(&self) -> &'static str {
        match &self.0 {
            Backend::Folder(_) => "folder",
            Backend::Database(_) => "postgres",
        }
    }

    /// Starts a new blob. Nothing of it counts as stored until [`PendingBlob::commit`];
    /// dropping it removes what was written.
    ///
    /// A pending blob younger than the sweep's grace period is never swept. One that
    /// may take longer (an upload) is recorded with [`Store::begin_upload`] by the
    /// process writing it, so the sweep can tell a live upload, however slow, from one
    /// a crash left behind.
    pub async fn begin(&self) -> io::Result<PendingBlob> {
        Ok(PendingBlob(match &self.0 {
            Backend::Folder(f) => Pending::Folder(f.begin()?),
            Backend::Database(d) => Pending::Database(d.begin().await?),
        }))
    }

    /// Opens a committed blob for reading: the one read path. With the database
    /// backend, call it (and read) on a blocking thread.
    pub fn open_blob(&self, id: ObjectId) -> io::Result<BlobReader> {
        Ok(BlobReader(match &self.0 {
            Backend::Folder(f) => Reader::Folder(f.open_blob(id)?),
            Backend::Database(d) => Reader::Database(Box::new(d.open_blob(id)?)),
        }))
    }

    /// A whole committed blob, read on a blocking thread: for small objects (a
    /// submission document, a summary), never for evidence of any size.
    pub async fn read_all(&self, id: ObjectId) -> io::Result<Vec<u8>> {
        let blobs = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut bytes = Vec::new();
            blobs.open_blob(id)?.read_to_end(&mut bytes)?;
            Ok(bytes)
        })
        .await
        .map_err(io::Error::other)?
    }

    /// Removes a committed blob; a blob that is already gone is not an error.
    pub async fn remove(&self, id: ObjectId) -> io::Result<()> {
        match &self.0 {
            Backend::Folder(f) => f.remove(id),
            Backend::Database(d) => d.remove(id).await,
        }
    }

    /// Sets what the backend records of when a committed blob was written to the hour
    /// `unix`, so it says no more than the case does (`received_at`): the folder sets
    /// the file's times (ADR 0006), the database its recorded hour.
    pub async fn set_times(&self, id: ObjectId, unix: i64) -> io::Result<()> {
        match &self.0 {
            Backend::Folder(f) => f.set_times(id, unix),
            Backend::Database(d) => d.set_hour(id, unix).await,
        }
    }

    /// How much later than its listed time ([`Listed::written`]) an object may have
    /// been written: nothing for a file's modification time, up to an hour where the
    /// database records the hour only.
    pub fn time_resolution(&self) -> std::time::Duration {
        match &self.0 {
            Backend::Folder(_) => std::time::Duration::ZERO,
            Backend::Database(_) => std::time::Duration::from_secs(3600),
        }
    }

    /// The file a committed blob is kept in, with the folder backend.
    pub fn path_of(&self, id: ObjectId) -> Option<PathBuf> {
        match &self.0 {
            Backend::Folder(f) => Some(f.path_of(id)),
            Backend::Database(_) => None,
        }
    }

    /// Free bytes where the blobs are written, when this process can know it: the
    /// folder's file system. The database's disk is PostgreSQL's to watch (`None`).
    pub fn available_bytes(&self) -> io::Result<Option<u64>> {
        match &self.0 {
            Backend::Folder(f) => f.available_bytes().map(Some),
            Backend::Database(_) => Ok(None),
        }
    }

    /// Every object stored, committed or pending, for the sweep (and for tests that
    /// check nothing was left behind).
    pub async fn list(&self) -> io::Result<Listing> {
        match &self.0 {
            Backend::Folder(f) => f.list(),
            Backend::Database(d) => d.list().await,
        }
    }

    /// Removes a pending blob that a dead process left. Whether it was there.
    pub(crate) async fn remove_pending(&self, id: ObjectId) -> io::Result<bool> {
        match &self.0 {
            Backend::Folder(f) => f.remove_pending(id),
            Backend::Database(d) => d.remove_pending(id).await,
        }
    }
}

/// Whether a blob operation failed because the database was out of reach (worth a
/// retry), as opposed to anything else: what `StoreError::Io` asks.
pub(crate) fn is_unavailable(e: &io::Error) -> bool {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<StoreError>())
        .is_some_and(StoreError::is_unavailable)
}

/// What the blob store holds.
#[derive(Debug, Default)]
pub struct Listing {
    pub committed: Vec<Listed>,
    pub pending: Vec<Listed>,
}

impl Listing {
    /// Every object, committed or pending.
    pub fn ids(&self) -> impl Iterator<Item = ObjectId> + '_ {
        self.committed.iter().chain(&self.pending).map(|l| l.id)
    }
}

/// An object and when it was last written, as the backend records it (the folder: the
/// file's modification time; the database: the hour, see
/// [`BlobStore::time_resolution`]).
#[derive(Clone, Copy, Debug)]
pub struct Listed {
    pub id: ObjectId,
    pub written: SystemTime,
}

/// A blob being written. Implements [`Write`]; the bytes written must already be
/// ciphertext.
#[derive(Debug)]
pub struct PendingBlob(Pending);

#[derive(Debug)]
enum Pending {
    Folder(folder::Pending),
    Database(database::Pending),
}

impl PendingBlob {
    pub fn id(&self) -> ObjectId {
        match &self.0 {
            Pending::Folder(p) => p.id(),
            Pending::Database(p) => p.id(),
        }
    }

    /// Makes the blob complete and durable; returns its size. Its case's transaction
    /// then makes it part of a case. With the database backend, call it on a blocking
    /// thread.
    pub fn commit(self) -> io::Result<u64> {
        match self.0 {
            Pending::Folder(p) => p.commit(),
            Pending::Database(p) => p.commit(),
        }
    }
}

impl Write for PendingBlob {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.0 {
            Pending::Folder(p) => p.write(buf),
            Pending::Database(p) => p.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.0 {
            Pending::Folder(p) => p.flush(),
            // Pieces are stored as they fill; `commit` stores the rest.
            Pending::Database(_) => Ok(()),
        }
    }
}

/// A committed blob being read.
#[derive(Debug)]
pub struct BlobReader(Reader);

#[derive(Debug)]
enum Reader {
    Folder(std::fs::File),
    Database(Box<database::Reader>),
}

impl BlobReader {
    /// The blob's size in bytes, before reading it: the file's, or the size the
    /// database recorded at commit.
    pub fn size(&self) -> io::Result<u64> {
        match &self.0 {
            Reader::Folder(f) => Ok(f.metadata()?.len()),
            Reader::Database(r) => Ok(r.size()),
        }
    }
}

impl Read for BlobReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut self.0 {
            Reader::Folder(f) => f.read(buf),
            Reader::Database(r) => r.read(buf),
        }
    }
}
