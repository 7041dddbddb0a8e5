//! Row order and job rows carry no time (ADR 0015).
//!
//! - Periodic jobs move to `periodic_jobs` (one row per kind, made by the workers);
//!   their per-period history rows leave `jobs`, which keeps report-driven jobs only.
//! - Leases are heartbeats: `heartbeats` is new, `jobs.lease_until` goes.
//! - Times already stored in `jobs` are cut to the hour.
//! - On SQLite every Redress table is rebuilt `WITHOUT ROWID`, keyed by its random id,
//!   so no implicit, increasing rowid orders cases. SQLite cannot alter a table into
//!   that form: this follows the documented twelve-step rebuild
//!   (<https://www.sqlite.org/lang_altertable.html#otheralter>).
//!
//! The two backends differ by nature here, so each has its own SQL. Frozen: the job
//! kinds named below are those that existed when this was written.

use sea_orm::sqlx::{self, Row};
use sea_orm::{DatabaseExecutor, DbBackend};
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PeriodicJobs {
    Table,
    Id,
    Kind,
    IdempotencyKey,
    Payload,
    State,
    Attempts,
    MaxAttempts,
    RunAt,
    LeasedBy,
    LastError,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Heartbeats {
    Table,
    Worker,
    AliveUntil,
}

#[derive(DeriveIden)]
enum Jobs {
    Table,
    LeaseUntil,
}

/// The new tables; `WITHOUT ROWID` on SQLite like every other Redress table.
fn new_tables(backend: DbBackend) -> [TableCreateStatement; 2] {
    let mut periodic = Table::create()
        .table(PeriodicJobs::Table)
        .if_not_exists()
        .col(string(PeriodicJobs::Id).primary_key())
        .col(string(PeriodicJobs::Kind))
        .col(string_uniq(PeriodicJobs::IdempotencyKey))
        .col(text(PeriodicJobs::Payload))
        .col(string(PeriodicJobs::State))
        .col(integer(PeriodicJobs::Attempts))
        .col(integer(PeriodicJobs::MaxAttempts))
        .col(big_integer(PeriodicJobs::RunAt))
        .col(string_null(PeriodicJobs::LeasedBy))
        .col(text_null(PeriodicJobs::LastError))
        .col(big_integer(PeriodicJobs::CreatedAt))
        .col(big_integer(PeriodicJobs::UpdatedAt))
        .to_owned();
    let mut heartbeats = Table::create()
        .table(Heartbeats::Table)
        .if_not_exists()
        .col(string(Heartbeats::Worker).primary_key())
        .col(big_integer(Heartbeats::AliveUntil))
        .to_owned();
    if backend == DbBackend::Sqlite {
        periodic.extra("WITHOUT ROWID");
        heartbeats.extra("WITHOUT ROWID");
    }
    [periodic, heartbeats]
}

/// One table as rebuilt on SQLite: its columns as m0001–m0003 made them (types kept
/// exactly, so values read back the same), what to copy, and its indexes.
struct Rebuild {
    name: &'static str,
    columns: &'static str,
    /// `SELECT` list copied from the old table, in the order of `copy_into`.
    copy_from: &'static str,
    copy_into: &'static str,
    /// Rows of the old table to keep.
    keep: &'static str,
    indexes: &'static [&'static str],
}

const REBUILDS: &[Rebuild] = &[
    Rebuild {
        name: "settings",
        columns: r#""key" varchar NOT NULL PRIMARY KEY, "value" blob(1) NOT NULL"#,
        copy_from: r#""key", "value""#,
        copy_into: r#""key", "value""#,
        keep: "1",
        indexes: &[],
    },
    Rebuild {
        name: "cases",
        columns: r#""id" varchar NOT NULL PRIMARY KEY, "case_ref" varchar NOT NULL UNIQUE,
            "state" varchar NOT NULL, "questionnaire_version" integer NOT NULL,
            "received_at" integer NOT NULL, "case_recipient" varchar NOT NULL,
            "thread_recipient" varchar NOT NULL, "triaged" boolean NOT NULL DEFAULT FALSE,
            "priority" varchar NULL, "ack_due" integer NULL, "feedback_due" integer NULL,
            "deadline_flag" varchar NOT NULL DEFAULT 'ok'"#,
        copy_from: r#""id", "case_ref", "state", "questionnaire_version", "received_at",
            "case_recipient", "thread_recipient", "triaged", "priority", "ack_due",
            "feedback_due", "deadline_flag""#,
        copy_into: r#""id", "case_ref", "state", "questionnaire_version", "received_at",
            "case_recipient", "thread_recipient", "triaged", "priority", "ack_due",
            "feedback_due", "deadline_flag""#,
        keep: "1",
        indexes: &[],
    },
    Rebuild {
        name: "key_wraps",
        columns: r#""id" varchar NOT NULL PRIMARY KEY, "case_id" varchar NOT NULL,
            "key_kind" varchar NOT NULL, "holder_kind" varchar NOT NULL,
            "holder_id" varchar NULL, "holder_recipient" varchar NOT NULL,
            "ciphertext" blob(1) NOT NULL,
            FOREIGN KEY ("case_id") REFERENCES "cases" ("id") ON DELETE CASCADE"#,
        copy_from: r#""id", "case_id", "key_kind", "holder_kind", "holder_id",
            "holder_recipient", "ciphertext""#,
        copy_into: r#""id", "case_id", "key_kind", "holder_kind", "holder_id",
            "holder_recipient", "ciphertext""#,
        keep: "1",
        indexes: &[r#"CREATE INDEX "key_wraps_case" ON "key_wraps" ("case_id")"#],
    },
    Rebuild {
        name: "receipts",
        columns: r#""lookup" varchar NOT NULL PRIMARY KEY, "case_id" varchar NOT NULL UNIQUE,
            "kdf_salt" blob(1) NOT NULL, "kdf_m_kib" integer NOT NULL,
            "kdf_t" integer NOT NULL, "kdf_p" integer NOT NULL,
            FOREIGN KEY ("case_id") REFERENCES "cases" ("id") ON DELETE CASCADE"#,
        copy_from: r#""lookup", "case_id", "kdf_salt", "kdf_m_kib", "kdf_t", "kdf_p""#,
        copy_into: r#""lookup", "case_id", "kdf_salt", "kdf_m_kib", "kdf_t", "kdf_p""#,
        keep: "1",
        indexes: &[],
    },
    Rebuild {
        name: "case_objects",
        columns: r#""id" varchar NOT NULL PRIMARY KEY, "case_id" varchar NOT NULL,
            "kind" varchar NOT NULL, "sealed_to" varchar NOT NULL,
            "ciphertext_bytes" integer NOT NULL,
            FOREIGN KEY ("case_id") REFERENCES "cases" ("id") ON DELETE CASCADE"#,
        copy_from: r#""id", "case_id", "kind", "sealed_to", "ciphertext_bytes""#,
        copy_into: r#""id", "case_id", "kind", "sealed_to", "ciphertext_bytes""#,
        keep: "1",
        indexes: &[r#"CREATE INDEX "case_objects_case" ON "case_objects" ("case_id")"#],
    },
    Rebuild {
        name: "jobs",
        columns: r#""id" varchar NOT NULL PRIMARY KEY, "kind" varchar NOT NULL,
            "idempotency_key" varchar NOT NULL UNIQUE, "payload" text NOT NULL,
            "state" varchar NOT NULL, "attempts" integer NOT NULL,
            "max_attempts" integer NOT NULL, "run_at" integer NOT NULL,
            "leased_by" varchar NULL, "last_error" text NULL,
            "created_at" integer NOT NULL, "updated_at" integer NOT NULL"#,
        copy_from: r#""id", "kind", "idempotency_key", "payload", "state", "attempts",
            "max_attempts", "run_at" - "run_at" % 3600, "leased_by", "last_error",
            "created_at" - "created_at" % 3600, "updated_at" - "updated_at" % 3600"#,
        copy_into: r#""id", "kind", "idempotency_key", "payload", "state", "attempts",
            "max_attempts", "run_at", "leased_by", "last_error", "created_at", "updated_at""#,
        keep: REPORT_DRIVEN,
        indexes: &[r#"CREATE INDEX "jobs_claim" ON "jobs" ("state", "run_at")"#],
    },
    Rebuild {
        name: "investigators",
        columns: r#""id" varchar NOT NULL PRIMARY KEY, "email" varchar NOT NULL UNIQUE,
            "recipient" varchar NOT NULL, "teams" text NOT NULL, "capacity" integer NOT NULL,
            "active" boolean NOT NULL, "created_at" integer NOT NULL"#,
        copy_from: r#""id", "email", "recipient", "teams", "capacity", "active", "created_at""#,
        copy_into: r#""id", "email", "recipient", "teams", "capacity", "active", "created_at""#,
        keep: "1",
        indexes: &[],
    },
    Rebuild {
        name: "case_assignments",
        columns: r#""id" varchar NOT NULL PRIMARY KEY, "case_id" varchar NOT NULL,
            "investigator_id" varchar NOT NULL, "assigned_at" integer NOT NULL,
            FOREIGN KEY ("case_id") REFERENCES "cases" ("id") ON DELETE CASCADE,
            FOREIGN KEY ("investigator_id") REFERENCES "investigators" ("id") ON DELETE CASCADE"#,
        copy_from: r#""id", "case_id", "investigator_id", "assigned_at""#,
        copy_into: r#""id", "case_id", "investigator_id", "assigned_at""#,
        keep: "1",
        indexes: &[
            r#"CREATE UNIQUE INDEX "case_assignments_unique" ON "case_assignments" ("case_id", "investigator_id")"#,
        ],
    },
    Rebuild {
        name: "case_fingerprints",
        columns: r#""id" varchar NOT NULL PRIMARY KEY, "case_id" varchar NOT NULL,
            "kind" varchar NOT NULL, "fingerprint" varchar NOT NULL,
            FOREIGN KEY ("case_id") REFERENCES "cases" ("id") ON DELETE CASCADE"#,
        copy_from: r#""id", "case_id", "kind", "fingerprint""#,
        copy_into: r#""id", "case_id", "kind", "fingerprint""#,
        keep: "1",
        indexes: &[
            r#"CREATE INDEX "case_fingerprints_lookup" ON "case_fingerprints" ("kind", "fingerprint")"#,
        ],
    },
    Rebuild {
        name: "case_links",
        columns: r#""id" varchar NOT NULL PRIMARY KEY, "case_a" varchar NOT NULL,
            "case_b" varchar NOT NULL, "reasons" varchar NOT NULL,
            FOREIGN KEY ("case_a") REFERENCES "cases" ("id") ON DELETE CASCADE,
            FOREIGN KEY ("case_b") REFERENCES "cases" ("id") ON DELETE CASCADE"#,
        copy_from: r#""id", "case_a", "case_b", "reasons""#,
        copy_into: r#""id", "case_a", "case_b", "reasons""#,
        keep: "1",
        indexes: &[r#"CREATE UNIQUE INDEX "case_links_unique" ON "case_links" ("case_a", "case_b")"#],
    },
    Rebuild {
        name: "outbox",
        columns: r#""id" varchar NOT NULL PRIMARY KEY, "idempotency_key" varchar NOT NULL UNIQUE,
            "recipient" varchar NOT NULL, "notice" text NOT NULL, "state" varchar NOT NULL,
            "message_id" varchar NOT NULL, "created_at" integer NOT NULL,
            "sent_at" integer NULL"#,
        copy_from: r#""id", "idempotency_key", "recipient", "notice", "state", "message_id",
            "created_at", "sent_at""#,
        copy_into: r#""id", "idempotency_key", "recipient", "notice", "state", "message_id",
            "created_at", "sent_at""#,
        keep: "1",
        indexes: &[],
    },
];

/// The job kinds a reporter's action causes; the others were periodic.
const REPORT_DRIVEN: &str = "\"kind\" IN ('triage_case', 'send_email')";

fn sqlx_err(e: sqlx::Error) -> DbErr {
    DbErr::Migration(format!("m0004 on SQLite: {e}"))
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        match manager.get_database_backend() {
            DbBackend::Sqlite => sqlite_up(manager).await,
            DbBackend::Postgres => postgres_up(manager).await,
            other => Err(DbErr::Migration(format!("unsupported database {other:?}"))),
        }
    }

    /// Gives back the old job columns and drops the new tables; rebuilt SQLite tables
    /// stay `WITHOUT ROWID`, which earlier versions read the same way.
    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [PeriodicJobs::Table.into_iden(), Heartbeats::Table.into_iden()] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Jobs::Table)
                    .add_column(big_integer_null(Jobs::LeaseUntil))
                    .to_owned(),
            )
            .await
    }
}

async fn postgres_up(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let db = manager.get_connection();
    // sea-orm-migration runs this in one transaction on PostgreSQL.
    db.execute_unprepared(&format!("DELETE FROM jobs WHERE NOT ({REPORT_DRIVEN})"))
        .await?;
    db.execute_unprepared(
        "UPDATE jobs SET run_at = run_at - run_at % 3600, \
         created_at = created_at - created_at % 3600, updated_at = updated_at - updated_at % 3600",
    )
    .await?;
    manager
        .alter_table(
            Table::alter()
                .table(Jobs::Table)
                .drop_column(Jobs::LeaseUntil)
                .to_owned(),
        )
        .await?;
    for table in new_tables(DbBackend::Postgres) {
        manager.create_table(table).await?;
    }
    Ok(())
}

async fn sqlite_up(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    // Foreign keys must be off for the rebuild (dropping a parent table would otherwise
    // delete every child row through ON DELETE CASCADE), and that switch is a no-op
    // inside a transaction. sea-orm-migration runs SQLite migrations outside one, on a
    // pool whose statements may each go to another connection: so take one connection
    // and do every step on it.
    let DatabaseExecutor::Connection(db) = manager.get_connection() else {
        return Err(DbErr::Migration(
            "m0004 must not run inside a transaction on SQLite".into(),
        ));
    };
    let mut conn = db
        .get_sqlite_connection_pool()
        .acquire()
        .await
        .map_err(sqlx_err)?;
    let rebuilt = rebuild(&mut conn).await;
    // Its settings were changed: never give this connection back to the pool, so no
    // later statement runs without foreign keys.
    let closed = conn.close().await.map_err(sqlx_err);
    rebuilt?;
    closed
}

async fn run(conn: &mut sqlx::SqliteConnection, sql: &str) -> Result<(), DbErr> {
    sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(&mut *conn)
        .await
        .map_err(sqlx_err)?;
    Ok(())
}

async fn rebuild(conn: &mut sqlx::SqliteConnection) -> Result<(), DbErr> {
    run(conn, "PRAGMA foreign_keys = OFF").await?;
    let fk: i64 = sqlx::query("PRAGMA foreign_keys")
        .fetch_one(&mut *conn)
        .await
        .map_err(sqlx_err)?
        .try_get(0)
        .map_err(sqlx_err)?;
    if fk != 0 {
        return Err(DbErr::Migration(
            "m0004: foreign keys could not be switched off (inside a transaction?)".into(),
        ));
    }
    run(conn, "BEGIN IMMEDIATE").await?;
    match rebuild_tables(conn).await {
        Ok(()) => run(conn, "COMMIT").await?,
        Err(e) => {
            let _ = run(conn, "ROLLBACK").await;
            return Err(e);
        }
    }
    run(conn, "PRAGMA foreign_keys = ON").await?;
    // Free the old tables' pages and rows deleted before secure_delete was on (earlier
    // versions), and leave no copy of the old pages in the WAL.
    run(conn, "VACUUM").await?;
    run(conn, "PRAGMA wal_checkpoint(TRUNCATE)").await
}

/// Steps 4–10 of the rebuild, inside the transaction. A table already rebuilt (a run
/// interrupted after its commit, before sea-orm recorded it) is left as it is.
async fn rebuild_tables(conn: &mut sqlx::SqliteConnection) -> Result<(), DbErr> {
    for t in REBUILDS {
        let without_rowid: Option<i64> = sqlx::query("SELECT wr FROM pragma_table_list WHERE name = ?1")
            .bind(t.name)
            .fetch_optional(&mut *conn)
            .await
            .map_err(sqlx_err)?
            .map(|r| r.try_get(0))
            .transpose()
            .map_err(sqlx_err)?;
        match without_rowid {
            None => return Err(DbErr::Migration(format!("m0004: table {} is missing", t.name))),
            Some(1) => continue,
            Some(_) => {}
        }
        let (name, new) = (t.name, format!("{}_new", t.name));
        run(
            conn,
            &format!(r#"CREATE TABLE "{new}" ({}) WITHOUT ROWID"#, t.columns),
        )
        .await?;
        run(
            conn,
            &format!(
                r#"INSERT INTO "{new}" ({}) SELECT {} FROM "{name}" WHERE {}"#,
                t.copy_into, t.copy_from, t.keep
            ),
        )
        .await?;
        run(conn, &format!(r#"DROP TABLE "{name}""#)).await?;
        run(conn, &format!(r#"ALTER TABLE "{new}" RENAME TO "{name}""#)).await?;
        for index in t.indexes {
            run(conn, index).await?;
        }
    }
    for table in new_tables(DbBackend::Sqlite) {
        run(conn, &table.to_string(SqliteQueryBuilder)).await?;
    }
    let broken = sqlx::query("PRAGMA foreign_key_check")
        .fetch_all(&mut *conn)
        .await
        .map_err(sqlx_err)?;
    if !broken.is_empty() {
        return Err(DbErr::Migration(format!(
            "m0004: {} rows refer to rows that do not exist; nothing was changed",
            broken.len()
        )));
    }
    Ok(())
}
