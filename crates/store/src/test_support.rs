//! Throwaway databases for tests: a fresh SQLite file, or — when
//! `REDRESS_TEST_DATABASE_URL` names a PostgreSQL server — a fresh PostgreSQL database
//! that is dropped when the handle is dropped.
//!
//! A test that cannot set up its database must fail loudly, so this module panics.
#![allow(clippy::panic)]

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use sea_orm::{ConnectionTrait, Database, DbErr, RuntimeErr};

use crate::StoreError;
use crate::connection::Fault;

/// Failures armed by `Store::danger_*`, each firing once, shared by every clone of a
/// store.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    lost_triage_ack: AtomicBool,
    object_lookup: AtomicBool,
    /// One more than the batches `replace_wraps` still writes before it fails; 0: never.
    wrap_replace_after: AtomicU64,
}

impl Faults {
    fn flag(&self, fault: Fault) -> Option<&AtomicBool> {
        match fault {
            Fault::LostTriageAck => Some(&self.lost_triage_ack),
            Fault::ObjectLookup => Some(&self.object_lookup),
            Fault::WrapReplace => None,
        }
    }

    /// Counts a batch down; true when the armed one is reached.
    fn count_down(&self) -> bool {
        let before = self
            .wrap_replace_after
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .unwrap_or(0);
        before == 1
    }

    pub(crate) fn take(&self, fault: Fault) -> Result<(), StoreError> {
        let fires = match fault {
            Fault::WrapReplace => self.count_down(),
            _ => self.flag(fault).is_some_and(|f| f.swap(false, Ordering::SeqCst)),
        };
        if fires {
            let lost = DbErr::Conn(RuntimeErr::Internal(
                "connection lost (injected by a test)".into(),
            ));
            return Err(match fault {
                // The commit went through; its answer did not.
                Fault::LostTriageAck => StoreError::CommitUnknown(lost),
                Fault::ObjectLookup | Fault::WrapReplace => StoreError::Db(lost),
            });
        }
        Ok(())
    }
}

impl crate::Store {
    /// Test only, once: the next `commit_triage` commits its transaction and then
    /// returns an error, as when the database's acknowledgement of a commit is lost.
    pub fn danger_lose_next_triage_ack(&self) {
        self.faults.lost_triage_ack.store(true, Ordering::SeqCst);
    }

    /// Test only, once: `replace_wraps` writes `batches` more batches, then fails (writing
    /// nothing) as if the database were out of reach: a key change stopped part-way.
    pub fn danger_fail_wrap_replace_after(&self, batches: u64) {
        self.faults
            .wrap_replace_after
            .store(batches + 1, Ordering::SeqCst);
    }

    /// Test only, once: the next `existing_objects` fails as if the database were out
    /// of reach.
    pub fn danger_fail_next_object_lookup(&self) {
        self.faults.object_lookup.store(true, Ordering::SeqCst);
    }
}

/// Commits a blob holding `bytes` that no case references (yet), writing on a blocking
/// thread as the database backend requires.
pub async fn commit_blob(blobs: &crate::BlobStore, bytes: &[u8]) -> redress_domain::ObjectId {
    let mut blob = blobs
        .begin()
        .await
        .unwrap_or_else(|e| panic!("begin a blob: {e}"));
    let bytes = bytes.to_vec();
    tokio::task::spawn_blocking(move || {
        std::io::Write::write_all(&mut blob, &bytes).unwrap_or_else(|e| panic!("write a blob: {e}"));
        let id = blob.id();
        blob.commit().unwrap_or_else(|e| panic!("commit a blob: {e}"));
        id
    })
    .await
    .unwrap_or_else(|e| panic!("blob writer: {e}"))
}

/// Environment variable naming the PostgreSQL server for tests.
pub const TEST_DATABASE_URL: &str = "REDRESS_TEST_DATABASE_URL";

/// A database created for one test.
#[derive(Debug)]
pub struct TestDatabase {
    url: String,
    drop_with: Option<(String, String)>,
}

impl TestDatabase {
    /// Creates a database for one test: PostgreSQL if `REDRESS_TEST_DATABASE_URL` is set,
    /// otherwise a SQLite file in `dir`.
    pub async fn create(dir: &Path) -> Self {
        match std::env::var(TEST_DATABASE_URL) {
            Ok(admin_url) if !admin_url.is_empty() => Self::create_postgres(&admin_url).await,
            _ => Self {
                url: format!("sqlite://{}?mode=rwc", dir.join("redress.db").display()),
                drop_with: None,
            },
        }
    }

    async fn create_postgres(admin_url: &str) -> Self {
        let name = format!("redress_test_{}", uuid::Uuid::new_v4().simple());
        let admin = Database::connect(admin_url)
            .await
            .unwrap_or_else(|e| panic!("connect to {TEST_DATABASE_URL}: {e}"));
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap_or_else(|e| panic!("create test database: {e}"));
        let _ = admin.close().await;
        let base = admin_url.rsplit_once('/').map_or(admin_url, |(base, _)| base);
        Self {
            url: format!("{base}/{name}"),
            drop_with: Some((admin_url.to_owned(), name)),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn is_postgres(&self) -> bool {
        self.drop_with.is_some()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.drop_with.take() else {
            return;
        };
        // Drop runs outside any async context we can rely on: use a private runtime on a
        // plain thread.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                return;
            };
            rt.block_on(async {
                if let Ok(admin) = Database::connect(&admin_url).await {
                    let _ = admin
                        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await;
                    let _ = admin.close().await;
                }
            });
        })
        .join();
    }
}

/// Every row of every table as text, found from the database's own catalogue (so a table
/// added later is included without anyone remembering to), with binary columns shown as
/// text: a marker stored in any column, on either backend, shows up.
pub async fn dump_database(store: &crate::Store) -> String {
    use sea_orm::{DbBackend, Statement};
    let db = store.connection();
    let backend = store.backend();
    let query = |sql: String| Statement::from_string(backend, sql);
    let tables_sql = match backend {
        DbBackend::Postgres => {
            "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1"
        }
        _ => "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY 1",
    };
    let mut out = String::new();
    let tables = db
        .query_all_raw(query(tables_sql.to_owned()))
        .await
        .unwrap_or_else(|e| panic!("list tables: {e}"));
    for t in tables {
        let table: String = t
            .try_get("", "name")
            .unwrap_or_else(|e| panic!("table name: {e}"));
        let columns_sql = match backend {
            DbBackend::Postgres => format!(
                "SELECT column_name AS name, data_type AS kind FROM information_schema.columns \
                 WHERE table_name = '{table}' ORDER BY ordinal_position"
            ),
            _ => format!("SELECT name, type AS kind FROM pragma_table_info('{table}')"),
        };
        let columns = db
            .query_all_raw(query(columns_sql))
            .await
            .unwrap_or_else(|e| panic!("columns of {table}: {e}"));
        let exprs: Vec<String> = columns
            .iter()
            .map(|c| {
                let name: String = c.try_get("", "name").unwrap_or_else(|e| panic!("column: {e}"));
                let kind: String = c
                    .try_get("", "kind")
                    .unwrap_or_else(|e| panic!("column type: {e}"));
                match backend {
                    DbBackend::Postgres if kind == "bytea" => {
                        format!("convert_to(encode(\"{name}\", 'escape'), 'UTF8')")
                    }
                    DbBackend::Postgres => format!("convert_to(\"{name}\"::text, 'UTF8')"),
                    _ => format!("CAST(\"{name}\" AS BLOB)"),
                }
            })
            .collect();
        let rows = db
            .query_all_raw(query(format!("SELECT {} FROM \"{table}\"", exprs.join(", "))))
            .await
            .unwrap_or_else(|e| panic!("rows of {table}: {e}"));
        for row in rows {
            out += &table;
            for i in 0..exprs.len() {
                let value: Option<Vec<u8>> = row
                    .try_get_by_index(i)
                    .unwrap_or_else(|e| panic!("value in {table}: {e}"));
                out += " ";
                out += &value.map_or_else(|| "NULL".into(), |v| String::from_utf8_lossy(&v).into_owned());
            }
            out += "\n";
        }
    }
    out
}

/// How many rows `table` holds.
pub async fn count_rows(store: &crate::Store, table: &str) -> u64 {
    use sea_orm::Statement;
    let row = store
        .connection()
        .query_one_raw(Statement::from_string(
            store.backend(),
            format!("SELECT COUNT(*) AS n FROM \"{table}\""),
        ))
        .await
        .unwrap_or_else(|e| panic!("count {table}: {e}"))
        .unwrap_or_else(|| panic!("count {table}: no row"));
    let n: i64 = row
        .try_get("", "n")
        .unwrap_or_else(|e| panic!("count {table}: {e}"));
    u64::try_from(n).unwrap_or_else(|e| panic!("count {table}: {e}"))
}
