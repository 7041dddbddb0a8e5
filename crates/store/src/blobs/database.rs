//! Blobs in PostgreSQL (ADR 0019): each object is rows of `blob_chunks`, pieces of
//! about 64 KiB of its age ciphertext in order, and one row of `blob_objects` saying it
//! exists, whether it is complete, and the hour it was last written.
//!
//! Writing streams: a piece is stored as soon as it fills, in a short transaction of its
//! own, while the next ones fill (at most `IN_FLIGHT` pieces being stored and one
//! filling: memory stays a few pieces per upload whatever the size, and a slow upload
//! holds at most the one filling). Those transactions commit with
//! `synchronous_commit = off`: a piece need not be on disk before the next is sent,
//! because PostgreSQL writes its log in order and the case's own transaction, which is
//! synchronous, is flushed only with everything logged before it. So once a case has
//! committed, every piece of its objects is as durable as the case; a piece lost with a
//! crash before that belonged to an upload that had no receipt yet.
//!
//! Reading streams too, a few pieces at a time in `seq` order, and checks that no piece
//! is missing and that the size is the one recorded at commit.

use std::collections::VecDeque;
use std::io;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use redress_domain::{ObjectId, hour_floor};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Statement, TransactionTrait,
};
use tokio::runtime::Handle;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

use super::{Listed, Listing};
use crate::entity::{blob_chunk, blob_object};
use crate::{Store, StoreError};

/// The size of a piece: about one age chunk (64 KiB of plaintext and its tag).
const PIECE_BYTES: usize = 64 * 1024;

/// Pieces being stored at once per upload, each on a connection of its own: a piece's
/// round trips to PostgreSQL, not its bytes, bound a single upload's speed.
const IN_FLIGHT: usize = 4;

/// Pieces being stored at once through one blob store (the intake's, the worker's),
/// all uploads together: well under the connection pool (sqlx's default of 10), so
/// case commits, look-ups and heartbeats always find a connection however many uploads
/// stream at once, even with `serve`'s two stores on one pool.
const IN_FLIGHT_PER_STORE: usize = 4;

/// Pieces fetched per query when reading: 512 KiB at most in memory per reader.
const READ_BATCH: u64 = 8;

#[derive(Clone, Debug)]
pub(super) struct Database {
    store: Store,
    /// The runtime the synchronous reads and writes wait on.
    handle: Handle,
    /// Places for pieces being stored, shared by every upload through this store.
    storing: Arc<Semaphore>,
}

fn io_error(e: impl Into<StoreError>) -> io::Error {
    io::Error::other(e.into())
}

fn now_hour() -> i64 {
    let unix = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    hour_floor(unix)
}

impl Database {
    pub(super) fn new(store: &Store) -> Result<Self, StoreError> {
        if store.backend() != DbBackend::Postgres {
            return Err(StoreError::Unsupported(
                "blobs.backend = \"postgres\" needs a PostgreSQL database (database.url)",
            ));
        }
        let handle = Handle::try_current()
            .map_err(|_| StoreError::Unsupported("the database blob store needs a Tokio runtime"))?;
        Ok(Self {
            store: store.clone(),
            handle,
            storing: Arc::new(Semaphore::new(IN_FLIGHT_PER_STORE)),
        })
    }

    pub(super) async fn begin(&self) -> io::Result<Pending> {
        let id = ObjectId::random();
        blob_object::Entity::insert(blob_object::ActiveModel {
            object_id: Set(id.to_string()),
            written_hour: Set(now_hour()),
            bytes: Set(None),
        })
        .exec_without_returning(self.store.connection())
        .await
        .map_err(io_error)?;
        Ok(Pending {
            id,
            db: self.clone(),
            piece: Vec::new(),
            seq: 0,
            size: 0,
            in_flight: VecDeque::new(),
            committed: false,
        })
    }

    pub(super) fn open_blob(&self, id: ObjectId) -> io::Result<Reader> {
        let object = self
            .handle
            .block_on(blob_object::Entity::find_by_id(id.to_string()).one(self.store.connection()))
            .map_err(io_error)?;
        let Some(size) = object.and_then(|o| o.bytes) else {
            return Err(io::Error::new(io::ErrorKind::NotFound, "no such blob"));
        };
        Ok(Reader {
            db: self.clone(),
            id,
            size: u64::try_from(size).map_err(|_| io::Error::other("negative blob size"))?,
            read: 0,
            next_seq: 0,
            pieces: VecDeque::new(),
            current: Vec::new(),
            pos: 0,
            last_fetched: false,
        })
    }

    pub(super) async fn set_hour(&self, id: ObjectId, unix: i64) -> io::Result<()> {
        blob_object::Entity::update_many()
            .col_expr(blob_object::Column::WrittenHour, hour_floor(unix).into())
            .filter(blob_object::Column::ObjectId.eq(id.to_string()))
            .filter(blob_object::Column::Bytes.is_not_null())
            .exec(self.store.connection())
            .await
            .map_err(io_error)?;
        Ok(())
    }

    pub(super) async fn remove(&self, id: ObjectId) -> io::Result<()> {
        remove_object(&self.store, id).await.map_err(io_error)
    }

    pub(super) async fn remove_pending(&self, id: ObjectId) -> io::Result<bool> {
        let db = self.store.connection();
        let pending = blob_object::Entity::find_by_id(id.to_string())
            .filter(blob_object::Column::Bytes.is_null())
            .one(db)
            .await
            .map_err(io_error)?
            .is_some();
        if pending {
            remove_object(&self.store, id).await.map_err(io_error)?;
        }
        Ok(pending)
    }

    pub(super) async fn list(&self) -> io::Result<Listing> {
        let rows = blob_object::Entity::find()
            .all(self.store.connection())
            .await
            .map_err(io_error)?;
        let mut listing = Listing::default();
        for row in rows {
            let id = ObjectId::parse(&row.object_id)
                .ok_or_else(|| io_error(StoreError::Corrupt("blob object id")))?;
            let hour = u64::try_from(row.written_hour).unwrap_or(0);
            let written = SystemTime::UNIX_EPOCH + Duration::from_secs(hour);
            let list = if row.bytes.is_some() {
                &mut listing.committed
            } else {
                &mut listing.pending
            };
            list.push(Listed { id, written });
        }
        Ok(listing)
    }
}

/// Deletes an object's pieces and its row, together.
async fn remove_object(store: &Store, id: ObjectId) -> Result<(), StoreError> {
    let txn = store.connection().begin().await?;
    blob_chunk::Entity::delete_many()
        .filter(blob_chunk::Column::ObjectId.eq(id.to_string()))
        .exec(&txn)
        .await?;
    blob_object::Entity::delete_by_id(id.to_string())
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(())
}

/// Stores one piece in one statement, its own transaction, which does not wait for
/// the disk at commit (see the module comment for why that is safe): one round trip.
/// `synchronous_commit` is read when a transaction commits, so setting it for the
/// transaction inside the statement governs that statement's commit.
async fn store_piece(store: Store, id: ObjectId, seq: i32, bytes: Vec<u8>) -> Result<(), StoreError> {
    let insert = Statement::from_sql_and_values(
        DbBackend::Postgres,
        "INSERT INTO blob_chunks (object_id, seq, bytes) \
         SELECT $1::text, $2::int4, $3::bytea \
         FROM (SELECT set_config('synchronous_commit', 'off', true)) AS unsynced",
        [id.to_string().into(), seq.into(), bytes.into()],
    );
    store.connection().execute_raw(insert).await?;
    Ok(())
}

/// An object being written.
#[derive(Debug)]
pub(super) struct Pending {
    id: ObjectId,
    db: Database,
    /// Ciphertext not yet sent.
    piece: Vec<u8>,
    seq: i32,
    /// Bytes sent so far.
    size: u64,
    /// The pieces being stored, oldest first.
    in_flight: VecDeque<JoinHandle<Result<(), StoreError>>>,
    committed: bool,
}

impl Pending {
    pub(super) fn id(&self) -> ObjectId {
        self.id
    }

    /// Takes at most what fills the current piece (`write_all` comes back for the
    /// rest), so no piece, and no buffer, is larger than `PIECE_BYTES`.
    pub(super) fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = buf.len().min(PIECE_BYTES - self.piece.len());
        self.piece.extend_from_slice(&buf[..n]);
        if self.piece.len() == PIECE_BYTES {
            self.send_piece()?;
        }
        Ok(n)
    }

    /// Sends the piece filled, once fewer than `IN_FLIGHT` are being stored.
    fn send_piece(&mut self) -> io::Result<()> {
        while self.in_flight.len() >= IN_FLIGHT {
            self.wait_oldest()?;
        }
        // Taken, not cleared: a slow upload holds no buffer between pieces.
        let bytes = std::mem::take(&mut self.piece);
        self.size += bytes.len() as u64;
        let seq = self.seq;
        self.seq = self
            .seq
            .checked_add(1)
            .ok_or_else(|| io::Error::other("blob too large"))?;
        let place = self
            .db
            .handle
            .block_on(Arc::clone(&self.db.storing).acquire_owned())
            .map_err(io::Error::other)?;
        let (store, id) = (self.db.store.clone(), self.id);
        let storing = self.db.handle.spawn(async move {
            let stored = store_piece(store, id, seq, bytes).await;
            drop(place);
            stored
        });
        self.in_flight.push_back(storing);
        Ok(())
    }

    fn wait_oldest(&mut self) -> io::Result<()> {
        if let Some(storing) = self.in_flight.pop_front() {
            self.db
                .handle
                .block_on(storing)
                .map_err(io::Error::other)?
                .map_err(io_error)?;
        }
        Ok(())
    }

    /// Stores the last piece and marks the object complete with its size and the hour.
    pub(super) fn commit(mut self) -> io::Result<u64> {
        if !self.piece.is_empty() {
            self.send_piece()?;
        }
        while !self.in_flight.is_empty() {
            self.wait_oldest()?;
        }
        let size = i64::try_from(self.size).map_err(|_| io::Error::other("blob too large"))?;
        let done = blob_object::Entity::update_many()
            .col_expr(blob_object::Column::Bytes, size.into())
            .col_expr(blob_object::Column::WrittenHour, now_hour().into())
            .filter(blob_object::Column::ObjectId.eq(self.id.to_string()))
            .exec(self.db.store.connection());
        let updated = self.db.handle.block_on(done).map_err(io_error)?;
        if updated.rows_affected != 1 {
            // Swept away as abandoned: its holder's heartbeat must have run out.
            return Err(io::Error::other("pending blob vanished before its commit"));
        }
        self.committed = true;
        Ok(self.size)
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if self.committed {
            return;
        }
        // Best effort, in the background (a drop cannot wait): whatever is left is
        // removed by the sweep.
        let (store, id) = (self.db.store.clone(), self.id);
        let in_flight = std::mem::take(&mut self.in_flight);
        self.db.handle.spawn(async move {
            for storing in in_flight {
                let _ = storing.await;
            }
            let _ = remove_object(&store, id).await;
        });
    }
}

/// A committed object being read.
#[derive(Debug)]
pub(super) struct Reader {
    db: Database,
    id: ObjectId,
    /// The size recorded at commit, checked at the end.
    size: u64,
    read: u64,
    next_seq: i32,
    pieces: VecDeque<Vec<u8>>,
    current: Vec<u8>,
    pos: usize,
    last_fetched: bool,
}

impl Reader {
    pub(super) fn size(&self) -> u64 {
        self.size
    }

    pub(super) fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.pos < self.current.len() {
                let n = buf.len().min(self.current.len() - self.pos);
                buf[..n].copy_from_slice(&self.current[self.pos..self.pos + n]);
                self.pos += n;
                self.read += n as u64;
                return Ok(n);
            }
            if let Some(next) = self.pieces.pop_front() {
                self.current = next;
                self.pos = 0;
                continue;
            }
            if self.last_fetched {
                if self.read != self.size {
                    return Err(io::Error::new(io::ErrorKind::InvalidData, "blob is truncated"));
                }
                return Ok(0);
            }
            self.fetch()?;
        }
    }

    fn fetch(&mut self) -> io::Result<()> {
        let rows = self
            .db
            .handle
            .block_on(
                blob_chunk::Entity::find()
                    .filter(blob_chunk::Column::ObjectId.eq(self.id.to_string()))
                    .filter(blob_chunk::Column::Seq.gte(self.next_seq))
                    .order_by_asc(blob_chunk::Column::Seq)
                    .limit(READ_BATCH)
                    .all(self.db.store.connection()),
            )
            .map_err(io_error)?;
        self.last_fetched = (rows.len() as u64) < READ_BATCH;
        for row in rows {
            if row.seq != self.next_seq {
                return Err(io::Error::new(io::ErrorKind::InvalidData, "blob piece missing"));
            }
            self.next_seq += 1;
            self.pieces.push_back(row.bytes);
        }
        Ok(())
    }
}
