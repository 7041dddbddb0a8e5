//! The one job queue: every background task, periodic ones included, is a job with the
//! same row shape, claimed, leased, retried and buried the same way.
//!
//! Rows live in one of two tables, chosen by kind (ADR 0015). `jobs` holds what a
//! reporter's action causes (triage, email) and stores only the hour in every time
//! column; `periodic_jobs` holds one row per periodic kind, made once and updated in
//! place, with exact times. Nothing periodic is ever written into `jobs`, so no row
//! with a known time sits among the report-driven ones (SQLite order, PostgreSQL heap).
//!
//! A job row names the worker holding it, never a lease time: a job is the holder's
//! while the holder's heartbeat (its own row in `heartbeats`, written on a fixed
//! cadence, each beat extending it by the lease) has not run out. If the worker dies, another claims the job once
//! the heartbeat is stale. On PostgreSQL the claim uses `FOR UPDATE SKIP LOCKED`, so any
//! number of workers share the queue without waiting on each other; on SQLite the
//! single writer makes the claim statement atomic by itself. Jobs must therefore be
//! idempotent: a job may run again after a crash, never concurrently with itself while
//! its holder beats. Time is always a parameter.

use redress_domain::{JobId, JobKind, JobState, hour_floor};
use sea_orm::sea_query::{
    Alias, Asterisk, Expr, ExprTrait, OnConflict, Query, SelectStatement, UpdateStatement,
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, QueryFilter,
    QueryTrait, Statement,
};

use crate::connection::{parsed, to_i32, to_u32};
use crate::entity::{heartbeat, job};
use crate::{Store, StoreError};

/// A job to enqueue.
#[derive(Clone, Debug)]
pub struct NewJob {
    pub kind: JobKind,
    /// Enqueueing a key that exists already does nothing. A periodic job's key is its
    /// kind: one row, made once.
    pub idempotency_key: String,
    /// JSON naming what to work on (ids only; never report content).
    pub payload: String,
    /// Due time. For a report-driven kind only its hour is stored.
    pub run_at: i64,
    pub max_attempts: u32,
}

/// A claimed job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    pub id: JobId,
    pub kind: JobKind,
    pub idempotency_key: String,
    pub payload: String,
    /// Including this one.
    pub attempts: u32,
    pub max_attempts: u32,
}

/// A job as an admin sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobSummary {
    pub id: JobId,
    pub kind: JobKind,
    pub idempotency_key: String,
    /// JSON naming what the job works on (ids only).
    pub payload: String,
    pub state: JobState,
    pub attempts: u32,
    pub run_at: i64,
    /// The worker holding it, while it runs.
    pub leased_by: Option<String>,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

fn summary(j: job::Model) -> Result<JobSummary, StoreError> {
    Ok(JobSummary {
        id: parsed(&j.id, JobId::parse, "job id")?,
        kind: parsed(&j.kind, JobKind::parse, "job kind")?,
        idempotency_key: j.idempotency_key,
        payload: j.payload,
        state: parsed(&j.state, JobState::parse, "job state")?,
        attempts: to_u32(j.attempts)?,
        run_at: j.run_at,
        leased_by: j.leased_by,
        last_error: j.last_error,
        created_at: j.created_at,
        updated_at: j.updated_at,
    })
}

/// What became of a failed job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failed {
    /// It will be tried again at this time.
    RetryAt(i64),
    /// It used up its attempts and waits for an admin.
    Dead,
}

/// Exponential backoff: `base · 2^(attempt-1)`, capped.
pub fn backoff_secs(attempt: u32, base: i64, cap: i64) -> i64 {
    let factor = 1i64
        .checked_shl(Ord::min(attempt.saturating_sub(1), 30))
        .unwrap_or(i64::MAX);
    Ord::min(base.saturating_mul(factor), cap)
}

/// Which table a kind's rows live in, and how precisely its times are kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Table {
    /// `jobs`: caused by a reporter's action; every stored time is the hour.
    Reports,
    /// `periodic_jobs`: one row per periodic kind; exact times (nothing to date).
    Periodic,
}

impl Table {
    /// Periodic jobs first: there are three, they are short, and a flood of cases must
    /// not hold up deadline reminders or the sweep.
    const ALL: [Self; 2] = [Self::Periodic, Self::Reports];

    fn of(kind: JobKind) -> Self {
        if kind.is_report_driven() {
            Self::Reports
        } else {
            Self::Periodic
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Reports => "jobs",
            Self::Periodic => "periodic_jobs",
        }
    }

    fn iden(self) -> Alias {
        Alias::new(self.name())
    }

    /// The time written for `now`: a report-driven row keeps only the hour, since a
    /// triage claimed, finished or retried seconds after arrival would date the report.
    fn stamp(self, now: i64) -> i64 {
        match self {
            Self::Reports => hour_floor(now),
            Self::Periodic => now,
        }
    }

    fn claim_sql(self, backend: DbBackend) -> String {
        let (p, skip_locked) = if backend == DbBackend::Postgres {
            (["$1", "$2", "$3"], " FOR UPDATE SKIP LOCKED")
        } else {
            (["?1", "?2", "?3"], "")
        };
        let [worker, now, stamp] = [p[0], p[1], p[2]];
        let t = self.name();
        // A running job is free again once its holder's heartbeat has run out: the
        // holder died or lost the database.
        format!(
            "UPDATE {t} SET state = 'running', leased_by = {worker}, attempts = attempts + 1, \
             updated_at = {stamp} \
             WHERE id = (SELECT id FROM {t} \
                WHERE (state = 'queued' AND run_at <= {now}) \
                   OR (state = 'running' AND NOT EXISTS (SELECT 1 FROM heartbeats h \
                       WHERE h.worker = {t}.leased_by AND h.alive_until >= {now})) \
                ORDER BY run_at LIMIT 1{skip_locked}) \
             RETURNING *"
        )
    }
}

fn error_text(error: &str) -> Option<String> {
    Some(error.chars().take(1000).collect())
}

pub(crate) fn new_job_row(job: &NewJob, now: i64) -> Result<job::ActiveModel, StoreError> {
    let table = Table::of(job.kind);
    let now = table.stamp(now);
    Ok(job::ActiveModel {
        id: Set(JobId::random().to_string()),
        kind: Set(job.kind.as_str().to_owned()),
        idempotency_key: Set(job.idempotency_key.clone()),
        payload: Set(job.payload.clone()),
        state: Set(JobState::Queued.as_str().into()),
        attempts: Set(0),
        max_attempts: Set(to_i32(Ord::max(job.max_attempts, 1))?),
        run_at: Set(table.stamp(job.run_at)),
        leased_by: Set(None),
        last_error: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    })
}

/// Inserts a job unless its idempotency key exists; true if it was inserted.
pub(crate) async fn enqueue_on<C: ConnectionTrait>(
    db: &C,
    job: &NewJob,
    now: i64,
) -> Result<bool, StoreError> {
    let mut insert = job::Entity::insert(new_job_row(job, now)?).on_conflict(
        OnConflict::column(job::Column::IdempotencyKey)
            .do_nothing()
            .to_owned(),
    );
    QueryTrait::query(&mut insert).into_table(Table::of(job.kind).iden());
    let rows = insert.exec_without_returning(db).await?;
    Ok(rows > 0)
}

/// `UPDATE <table> … WHERE id = ?` for one job; columns are unqualified so the same
/// statement serves both tables.
fn update(table: Table, id: JobId) -> UpdateStatement {
    Query::update()
        .table(table.iden())
        .and_where(Expr::col(job::Column::Id).eq(id.to_string()))
        .to_owned()
}

/// Narrows an update to a job `worker` is running.
fn held_by(mut stmt: UpdateStatement, worker: &str) -> UpdateStatement {
    stmt.and_where(Expr::col(job::Column::State).eq(JobState::Running.as_str()))
        .and_where(Expr::col(job::Column::LeasedBy).eq(worker));
    stmt
}

fn select(table: Table) -> SelectStatement {
    Query::select().column(Asterisk).from(table.iden()).to_owned()
}

impl Store {
    async fn exec(&self, stmt: &UpdateStatement) -> Result<u64, StoreError> {
        Ok(self.connection().execute(stmt).await?.rows_affected())
    }

    async fn rows(&self, stmt: &SelectStatement) -> Result<Vec<job::Model>, StoreError> {
        Ok(job::Model::find_by_statement(self.backend().build(stmt))
            .all(self.connection())
            .await?)
    }

    /// Enqueues a job; a second job with the same idempotency key is not created.
    /// Returns true if this call created it.
    pub async fn enqueue(&self, job: &NewJob, now: i64) -> Result<bool, StoreError> {
        enqueue_on(self.connection(), job, now).await
    }

    /// Records that `worker` is alive at `now`: what it holds stays its own for
    /// `lease_secs` more. Workers call it on a fixed cadence (a third of the lease),
    /// never in response to a job, so its exact time says when a worker ran, not when
    /// anything arrived.
    pub async fn beat(&self, worker: &str, lease_secs: i64, now: i64) -> Result<(), StoreError> {
        heartbeat::Entity::insert(heartbeat::ActiveModel {
            worker: Set(worker.to_owned()),
            alive_until: Set(now + lease_secs),
            ..Default::default()
        })
        .on_conflict(
            OnConflict::column(heartbeat::Column::Worker)
                .update_column(heartbeat::Column::AliveUntil)
                .to_owned(),
        )
        .exec_without_returning(self.connection())
        .await?;
        Ok(())
    }

    /// Removes `worker`'s heartbeat (it stopped cleanly, after giving its jobs back):
    /// anything it still holds is free at once.
    pub async fn retire(&self, worker: &str) -> Result<(), StoreError> {
        heartbeat::Entity::delete_by_id(worker.to_owned())
            .exec(self.connection())
            .await?;
        Ok(())
    }

    /// Forgets heartbeats that ran out before `before` (workers long gone). Returns
    /// how many.
    pub async fn forget_workers(&self, before: i64) -> Result<u64, StoreError> {
        let res = heartbeat::Entity::delete_many()
            .filter(heartbeat::Column::AliveUntil.lt(before))
            .exec(self.connection())
            .await?;
        Ok(res.rows_affected)
    }

    /// Claims the next due job, or one whose holder's heartbeat has run out, for
    /// `worker`. A job past its attempts is buried instead. `worker` must be beating
    /// ([`Store::beat`]), or others may take the job at once.
    pub async fn claim(&self, worker: &str, now: i64) -> Result<Option<Job>, StoreError> {
        for table in Table::ALL {
            if let Some(job) = self.claim_from(table, worker, now).await? {
                return Ok(Some(job));
            }
        }
        Ok(None)
    }

    async fn claim_from(&self, table: Table, worker: &str, now: i64) -> Result<Option<Job>, StoreError> {
        loop {
            let backend = self.backend();
            let stmt = Statement::from_sql_and_values(
                backend,
                table.claim_sql(backend),
                [worker.into(), now.into(), table.stamp(now).into()],
            );
            let Some(row) = self.connection().query_one_raw(stmt).await? else {
                return Ok(None);
            };
            let row = job::Model::from_query_result(&row, "")?;
            let id = parsed(&row.id, JobId::parse, "job id")?;
            let kind = parsed(&row.kind, JobKind::parse, "job kind")?;
            if row.attempts > row.max_attempts {
                // Its holder died on the last attempt: count that as its final failure.
                self.bury(kind, id, None, "lease expired on the last attempt", now)
                    .await?;
                continue;
            }
            return Ok(Some(Job {
                id,
                kind,
                idempotency_key: row.idempotency_key,
                payload: row.payload,
                attempts: to_u32(row.attempts)?,
                max_attempts: to_u32(row.max_attempts)?,
            }));
        }
    }

    /// A job that may not be tried again now. A report-driven one goes to `dead`,
    /// keeping only the hour, and waits for an admin. A periodic one waits for its next
    /// period with fresh attempts, its error kept for admins to see. `worker`, if given,
    /// must hold it. Returns what became of it.
    async fn bury(
        &self,
        kind: JobKind,
        id: JobId,
        worker: Option<&str>,
        error: &str,
        now: i64,
    ) -> Result<Failed, StoreError> {
        let table = Table::of(kind);
        let mut stmt = update(table, id);
        let outcome = match kind.next_period(now) {
            None => {
                stmt.value(job::Column::State, JobState::Dead.as_str())
                    .value(job::Column::RunAt, table.stamp(now));
                Failed::Dead
            }
            Some(next) => {
                stmt.value(job::Column::State, JobState::Queued.as_str())
                    .value(job::Column::Attempts, 0)
                    .value(job::Column::RunAt, next);
                Failed::RetryAt(next)
            }
        };
        stmt.value(job::Column::LeasedBy, Option::<String>::None)
            .value(job::Column::LastError, error_text(error))
            .value(job::Column::UpdatedAt, table.stamp(now));
        if let Some(w) = worker {
            stmt = held_by(stmt, w);
        }
        self.exec(&stmt).await?;
        Ok(outcome)
    }

    /// True while `worker` still holds `job` (nobody took it over after a stale
    /// heartbeat). A read: checking costs no write.
    pub async fn holds(&self, job: &Job, worker: &str) -> Result<bool, StoreError> {
        let stmt = select(Table::of(job.kind))
            .and_where(Expr::col(job::Column::Id).eq(job.id.to_string()))
            .and_where(Expr::col(job::Column::State).eq(JobState::Running.as_str()))
            .and_where(Expr::col(job::Column::LeasedBy).eq(worker))
            .to_owned();
        Ok(!self.rows(&stmt).await?.is_empty())
    }

    /// Marks a job done. False if `worker` no longer held it (its heartbeat went stale
    /// and another worker took it; the job's idempotency makes that harmless). A
    /// report-driven job keeps only the hour it finished in; a periodic one is due again
    /// at the start of its next period.
    pub async fn complete(&self, job: &Job, worker: &str, now: i64) -> Result<bool, StoreError> {
        let table = Table::of(job.kind);
        let mut stmt = update(table, job.id);
        match job.kind.next_period(now) {
            None => stmt
                .value(job::Column::State, JobState::Done.as_str())
                .value(job::Column::RunAt, table.stamp(now)),
            Some(next) => stmt
                .value(job::Column::State, JobState::Queued.as_str())
                .value(job::Column::Attempts, 0)
                .value(job::Column::RunAt, next),
        };
        stmt.value(job::Column::LeasedBy, Option::<String>::None)
            .value(job::Column::LastError, Option::<String>::None)
            .value(job::Column::UpdatedAt, table.stamp(now));
        Ok(self.exec(&held_by(stmt, worker)).await? > 0)
    }

    /// Records a failed attempt. `error` must not contain report content. Once the job
    /// has used its attempts it is buried (see [`Failed`]). Otherwise it is due again:
    /// a report-driven job at the next hour boundary (an exact retry time, the backoff
    /// being fixed, would date its first attempt and so the report), a periodic one
    /// after an exponential backoff within its period.
    pub async fn fail(&self, job: &Job, worker: &str, error: &str, now: i64) -> Result<Failed, StoreError> {
        if job.attempts >= job.max_attempts {
            return self.bury(job.kind, job.id, Some(worker), error, now).await;
        }
        let table = Table::of(job.kind);
        let retry_at = match job.kind.next_period(now) {
            None => hour_floor(now) + 3600,
            Some(next) => Ord::min(now + backoff_secs(job.attempts, 5, 3600), next),
        };
        let mut stmt = update(table, job.id);
        stmt.value(job::Column::State, JobState::Queued.as_str())
            .value(job::Column::RunAt, retry_at)
            .value(job::Column::LeasedBy, Option::<String>::None)
            .value(job::Column::LastError, error_text(error))
            .value(job::Column::UpdatedAt, table.stamp(now));
        self.exec(&held_by(stmt, worker)).await?;
        Ok(Failed::RetryAt(retry_at))
    }

    /// Buries a job at once: retrying cannot help (a permanent refusal).
    pub async fn give_up(
        &self,
        job: &Job,
        worker: &str,
        error: &str,
        now: i64,
    ) -> Result<Failed, StoreError> {
        self.bury(job.kind, job.id, Some(worker), error, now).await
    }

    /// Gives a claimed job back without counting the attempt (graceful shutdown).
    pub async fn release(&self, job: &Job, worker: &str, now: i64) -> Result<(), StoreError> {
        let table = Table::of(job.kind);
        let mut stmt = update(table, job.id);
        stmt.value(job::Column::State, JobState::Queued.as_str())
            .value(job::Column::Attempts, to_i32(job.attempts.saturating_sub(1))?)
            .value(job::Column::LeasedBy, Option::<String>::None)
            .value(job::Column::UpdatedAt, table.stamp(now));
        self.exec(&held_by(stmt, worker)).await?;
        Ok(())
    }

    /// Jobs in `state`, oldest first (for admins).
    pub async fn jobs_in_state(&self, state: JobState) -> Result<Vec<JobSummary>, StoreError> {
        let mut out = Vec::new();
        for table in Table::ALL {
            let stmt = select(table)
                .and_where(Expr::col(job::Column::State).eq(state.as_str()))
                .to_owned();
            for row in self.rows(&stmt).await? {
                out.push(summary(row)?);
            }
        }
        out.sort_by_key(|j| j.created_at);
        Ok(out)
    }

    /// Puts a dead job back in the queue with fresh attempts, due at once. False if no
    /// dead job has that id. (Only report-driven jobs die; periodic ones wait for their
    /// next period.)
    pub async fn retry_dead(&self, id: JobId, now: i64) -> Result<bool, StoreError> {
        let table = Table::Reports;
        let mut stmt = update(table, id);
        stmt.value(job::Column::State, JobState::Queued.as_str())
            .value(job::Column::Attempts, 0)
            .value(job::Column::RunAt, table.stamp(now))
            .value(job::Column::UpdatedAt, table.stamp(now))
            .and_where(Expr::col(job::Column::State).eq(JobState::Dead.as_str()));
        Ok(self.exec(&stmt).await? > 0)
    }

    /// Deletes finished jobs last touched before `before` (their idempotency keys go
    /// with them, so only purge what can no longer be enqueued again).
    pub async fn purge_done_jobs(&self, before: i64) -> Result<u64, StoreError> {
        let stmt = Query::delete()
            .from_table(Table::Reports.iden())
            .and_where(Expr::col(job::Column::State).eq(JobState::Done.as_str()))
            .and_where(Expr::col(job::Column::UpdatedAt).lt(before))
            .to_owned();
        Ok(self.connection().execute(&stmt).await?.rows_affected())
    }

    /// Number of jobs of `kind` in `state`.
    pub async fn job_count(&self, kind: JobKind, state: JobState) -> Result<u64, StoreError> {
        let stmt = Query::select()
            .expr_as(Expr::cust("COUNT(*)"), Alias::new("n"))
            .from(Table::of(kind).iden())
            .and_where(Expr::col(job::Column::Kind).eq(kind.as_str()))
            .and_where(Expr::col(job::Column::State).eq(state.as_str()))
            .to_owned();
        let row = self
            .connection()
            .query_one(&stmt)
            .await?
            .ok_or(StoreError::Corrupt("COUNT returned no row"))?;
        u64::try_from(row.try_get::<i64>("", "n")?).map_err(|_| StoreError::Corrupt("job count"))
    }

    /// One job by id (admins and tests).
    pub async fn job(&self, id: JobId) -> Result<Option<JobSummary>, StoreError> {
        for table in Table::ALL {
            let stmt = select(table)
                .and_where(Expr::col(job::Column::Id).eq(id.to_string()))
                .to_owned();
            if let Some(row) = self.rows(&stmt).await?.pop() {
                return summary(row).map(Some);
            }
        }
        Ok(None)
    }

    /// Every job, in no particular order (admins and tests).
    pub async fn jobs(&self) -> Result<Vec<JobSummary>, StoreError> {
        let mut out = Vec::new();
        for table in Table::ALL {
            for row in self.rows(&select(table)).await? {
                out.push(summary(row)?);
            }
        }
        Ok(out)
    }
}
