use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ConnectOptions, ConnectionTrait, Database, DatabaseConnection,
    DbBackend, EntityTrait, SqlErr,
};
use sea_orm_migration::MigratorTrait;

use crate::entity::setting;
use crate::migration::Migrator;
use crate::{Audited, StoreError};

/// How long a request waits for a connection, or for SQLite's lock, before the store
/// reports the database unavailable.
const UNAVAILABLE_AFTER: std::time::Duration = std::time::Duration::from_secs(4);

/// The database. Cheap to clone (a connection pool).
#[derive(Clone, Debug)]
pub struct Store {
    db: DatabaseConnection,
    /// Failures tests arm on purpose; absent from other builds.
    #[cfg(any(test, feature = "test-support"))]
    pub(crate) faults: std::sync::Arc<crate::test_support::Faults>,
}

/// A failure a test can inject (`Store::danger_*`). Only test builds can arm one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fault {
    /// `commit_triage` commits, then reports an error: a lost acknowledgement.
    LostTriageAck,
    /// `existing_objects` cannot reach the database.
    ObjectLookup,
    /// `replace_wraps` cannot reach the database, after a given number of batches.
    WrapReplace,
}

impl Store {
    /// Connects to `sqlite://…` or `postgres://…`. SQLite files are created if missing and
    /// put in WAL mode so readers do not block the writer.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let sqlite = url.starts_with("sqlite:");
        if !(sqlite || url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(StoreError::UnsupportedUrl);
        }
        let mut opts = ConnectOptions::new(url.to_owned());
        // A reporter waits on these: when the database is away, say so within seconds
        // (and keep what they typed) rather than after the pool's default half minute.
        opts.sqlx_logging(false)
            .connect_timeout(UNAVAILABLE_AFTER)
            .acquire_timeout(UNAVAILABLE_AFTER);
        if sqlite {
            opts.map_sqlx_sqlite_opts(|o| {
                o.create_if_missing(true)
                    .journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                    .foreign_keys(true)
                    .busy_timeout(UNAVAILABLE_AFTER)
                    // Deleted rows (a triage wrap after hand-over) are
                    // overwritten, not left in free pages.
                    .pragma("secure_delete", "on")
                    // Copy each commit into the database file at once and cut the WAL
                    // back to that one transaction at the next: a WAL left to grow keeps
                    // hours of page images in write order, heartbeats between cases,
                    // which would date them (ADR 0015).
                    .pragma("wal_autocheckpoint", "1")
                    .pragma("journal_size_limit", "0")
            });
        }
        let db = Database::connect(opts).await?;
        Ok(Self {
            db,
            #[cfg(any(test, feature = "test-support"))]
            faults: std::sync::Arc::default(),
        })
    }

    pub fn backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }

    pub(crate) fn connection(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Fails if a test armed `fault` (once); in other builds, never.
    #[cfg(any(test, feature = "test-support"))]
    pub(crate) fn injected(&self, fault: Fault) -> Result<(), StoreError> {
        self.faults.take(fault)
    }

    #[cfg(not(any(test, feature = "test-support")))]
    #[inline]
    pub(crate) fn injected(&self, _fault: Fault) -> Result<(), StoreError> {
        Ok(())
    }

    /// Rebuilds the SQLite file (`VACUUM`): tables and indexes are written afresh in
    /// key order, so the place of a row in its page (SQLite puts each new cell below
    /// the last) no longer tells in what order rows were written, and free pages go.
    /// Writers wait while it runs. PostgreSQL: nothing (ADR 0015).
    pub async fn compact(&self) -> Result<(), StoreError> {
        if self.backend() == DbBackend::Sqlite {
            self.db.execute_unprepared("VACUUM").await?;
        }
        Ok(())
    }

    /// Applies pending migrations. Run it from one process at a time (`redress migrate`
    /// before starting several web processes); migrations are not locked against each
    /// other.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        Migrator::up(&self.db, None).await?;
        Ok(())
    }

    /// The setting `key`, if it was ever made.
    pub async fn setting(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(setting::Entity::find_by_id(key.to_owned())
            .one(&self.db)
            .await?
            .map(|s| s.value))
    }

    /// Returns the setting `key`, creating it with `init()` if absent. Concurrent callers
    /// all end up with the first value written.
    pub async fn setting_or_init(
        &self,
        key: &str,
        init: impl FnOnce() -> Vec<u8>,
    ) -> Result<Vec<u8>, StoreError> {
        if let Some(s) = setting::Entity::find_by_id(key.to_owned()).one(&self.db).await? {
            return Ok(s.value);
        }
        let row = setting::ActiveModel {
            key: Set(key.to_owned()),
            value: Set(init()),
        };
        match row.insert(&self.db).await {
            Ok(m) => Ok(m.value),
            Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                setting::Entity::find_by_id(key.to_owned())
                    .one(&self.db)
                    .await?
                    .map(|s| s.value)
                    .ok_or(StoreError::Corrupt("setting vanished"))
            }
            Err(e) => Err(e.into()),
        }
    }
}

impl Audited {
    /// The setting `key` as this transaction sees it.
    pub async fn setting(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(setting::Entity::find_by_id(key.to_owned())
            .one(&self.txn)
            .await?
            .map(|s| s.value))
    }

    /// Sets the setting `key` to `value`, or removes it when `value` is `None`.
    pub async fn put_setting(&self, key: &str, value: Option<&[u8]>) -> Result<(), StoreError> {
        setting::Entity::delete_by_id(key.to_owned())
            .exec(&self.txn)
            .await?;
        if let Some(value) = value {
            setting::ActiveModel {
                key: Set(key.to_owned()),
                value: Set(value.to_vec()),
            }
            .insert(&self.txn)
            .await?;
        }
        Ok(())
    }
}

/// A stored count or bound, which must fit the column.
pub(crate) fn to_i32(v: u32) -> Result<i32, StoreError> {
    i32::try_from(v).map_err(|_| StoreError::Corrupt("value out of range"))
}

/// A column read back, which must fit the domain type.
pub(crate) fn to_u32(v: i32) -> Result<u32, StoreError> {
    u32::try_from(v).map_err(|_| StoreError::Corrupt("negative count"))
}

/// Parses a stored name with `parse`, or reports which column held something else.
pub(crate) fn parsed<T>(
    value: &str,
    parse: impl FnOnce(&str) -> Option<T>,
    what: &'static str,
) -> Result<T, StoreError> {
    parse(value).ok_or(StoreError::Corrupt(what))
}
