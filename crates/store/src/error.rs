use sea_orm::{DbErr, RuntimeErr};

/// Storage failures. Callers map these to a generic server error; the cause is logged
/// (it never contains report content, only SQL and file-system errors).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error")]
    Db(#[from] DbErr),
    /// The commit was sent but its outcome is unknown (the connection broke before the
    /// answer came): the transaction may or may not have been applied. Every other error
    /// of a write means it was not applied.
    #[error("the database did not confirm the commit")]
    CommitUnknown(#[source] DbErr),
    #[error("blob store I/O error")]
    Io(#[from] std::io::Error),
    #[error("unsupported database URL (expected sqlite://… or postgres://…)")]
    UnsupportedUrl,
    /// A combination this store cannot work with, and what to change.
    #[error("{0}")]
    Unsupported(&'static str),
    #[error("{0}")]
    Duplicate(&'static str),
    #[error("stored data is inconsistent: {0}")]
    Corrupt(&'static str),
    /// A wrap was made to an investigator's key that is no longer theirs (their key was
    /// replaced meanwhile): nothing was written; make the wrap again to the new key.
    #[error("an investigator's key changed while a wrap was being made to it")]
    KeyChanged,
}

impl StoreError {
    /// True when the database could not be reached or is busy (a closed connection, a
    /// pool that timed out, SQLite locked by another process): nothing is wrong with the
    /// request, and the same request may succeed later.
    pub fn is_unavailable(&self) -> bool {
        match self {
            Self::Db(e) | Self::CommitUnknown(e) => db_unavailable(e),
            // A blob in the database that could not be reached.
            Self::Io(e) => crate::blobs::is_unavailable(e),
            _ => false,
        }
    }

    /// A failure that may pass if tried again shortly: the database or the disk was out
    /// of reach, or PostgreSQL chose this transaction to fail in a conflict (40001,
    /// 40P01) — as opposed to a failure in the data, which will fail again.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Io(_) | Self::KeyChanged => true,
            Self::Db(e) | Self::CommitUnknown(e) => db_unavailable(e) || db_conflict(e),
            _ => false,
        }
    }
}

fn db_conflict(e: &DbErr) -> bool {
    let (DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e))) = e else {
        return false;
    };
    matches!(e.as_ref(), sea_orm::sqlx::Error::Database(db) if matches!(db.code().as_deref(), Some("40001" | "40P01")))
}

fn db_unavailable(e: &DbErr) -> bool {
    match e {
        // "There was a problem with the database connection", by definition.
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(r) | DbErr::Query(r) => runtime_unavailable(r),
        _ => false,
    }
}

fn runtime_unavailable(e: &RuntimeErr) -> bool {
    use sea_orm::sqlx::Error;
    let RuntimeErr::SqlxError(e) = e else {
        return false;
    };
    match e.as_ref() {
        Error::Io(_) | Error::Tls(_) | Error::PoolTimedOut | Error::PoolClosed | Error::WorkerCrashed => true,
        Error::Protocol(_) => true,
        // SQLite's BUSY (5) and LOCKED (6), with extended codes (e.g. 261, 517); the
        // low byte is the primary code. PostgreSQL's class 08 (connection exception),
        // 57P01-03 (shutdown) and 53300 (too many connections).
        Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            if db
                .try_downcast_ref::<sea_orm::sqlx::sqlite::SqliteError>()
                .is_some()
            {
                code.parse::<u32>().is_ok_and(|n| matches!(n & 0xff, 5 | 6))
            } else {
                code.starts_with("08") || code.starts_with("57P0") || code == "53300"
            }
        }
        _ => false,
    }
}
