//! The one job queue: every background task, periodic ones included, is a row in `jobs`.
//!
//! A worker *claims* a job with a lease; if the worker dies, the lease runs out and
//! another worker claims the job again. On PostgreSQL the claim uses
//! `FOR UPDATE SKIP LOCKED`, so any number of workers share the queue without waiting on
//! each other; on SQLite the single writer makes the claim statement atomic by itself.
//! Jobs must therefore be idempotent: a job may run again after a crash, never
//! concurrently with itself while its lease holds. Time is always a parameter.

use redress_domain::{JobId, JobKind, JobState};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Statement,
};

use crate::connection::{parsed, to_i32, to_u32};
use crate::entity::job;
use crate::{Store, StoreError};

/// A job to enqueue.
#[derive(Clone, Debug)]
pub struct NewJob {
    pub kind: JobKind,
    /// Enqueueing a key that exists already does nothing.
    pub idempotency_key: String,
    /// JSON naming what to work on (ids only; never report content).
    pub payload: String,
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
    pub lease_until: Option<i64>,
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
        lease_until: j.lease_until,
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
        .checked_shl(attempt.saturating_sub(1).min(30))
        .unwrap_or(i64::MAX);
    base.saturating_mul(factor).min(cap)
}

const CLAIM_POSTGRES: &str = "UPDATE jobs SET state = 'running', leased_by = $1, lease_until = $2, \
     attempts = attempts + 1, updated_at = $3 \
     WHERE id = (SELECT id FROM jobs \
        WHERE (state = 'queued' AND run_at <= $3) OR (state = 'running' AND lease_until < $3) \
        ORDER BY run_at, created_at LIMIT 1 FOR UPDATE SKIP LOCKED) \
     RETURNING *";

const CLAIM_SQLITE: &str = "UPDATE jobs SET state = 'running', leased_by = ?1, lease_until = ?2, \
     attempts = attempts + 1, updated_at = ?3 \
     WHERE id = (SELECT id FROM jobs \
        WHERE (state = 'queued' AND run_at <= ?3) OR (state = 'running' AND lease_until < ?3) \
        ORDER BY run_at, created_at LIMIT 1) \
     RETURNING *";

pub(crate) fn new_job_row(job: &NewJob, now: i64) -> Result<job::ActiveModel, StoreError> {
    // Creation times are kept to the hour: a job made at hand-over would otherwise date
    // its case to the second.
    let now = redress_domain::hour_floor(now);
    Ok(job::ActiveModel {
        id: Set(JobId::random().to_string()),
        kind: Set(job.kind.as_str().to_owned()),
        idempotency_key: Set(job.idempotency_key.clone()),
        payload: Set(job.payload.clone()),
        state: Set(JobState::Queued.as_str().into()),
        attempts: Set(0),
        max_attempts: Set(to_i32(job.max_attempts.max(1))?),
        run_at: Set(job.run_at),
        leased_by: Set(None),
        lease_until: Set(None),
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
    let rows = job::Entity::insert(new_job_row(job, now)?)
        .on_conflict(
            OnConflict::column(job::Column::IdempotencyKey)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(rows > 0)
}

impl Store {
    /// Enqueues a job; a second job with the same idempotency key is not created.
    /// Returns true if this call created it.
    pub async fn enqueue(&self, job: &NewJob, now: i64) -> Result<bool, StoreError> {
        enqueue_on(self.connection(), job, now).await
    }

    /// Claims the next due job (or one whose lease ran out) for `worker`, leasing it
    /// until `now + lease_secs`. A job past its attempts is moved to `dead` instead.
    pub async fn claim(&self, worker: &str, lease_secs: i64, now: i64) -> Result<Option<Job>, StoreError> {
        loop {
            let backend = self.backend();
            let sql = if backend == DbBackend::Postgres {
                CLAIM_POSTGRES
            } else {
                CLAIM_SQLITE
            };
            let stmt = Statement::from_sql_and_values(
                backend,
                sql,
                [worker.into(), (now + lease_secs).into(), now.into()],
            );
            let Some(row) = job::Entity::find()
                .from_raw_sql(stmt)
                .one(self.connection())
                .await?
            else {
                return Ok(None);
            };
            let id = parsed(&row.id, JobId::parse, "job id")?;
            if row.attempts > row.max_attempts {
                // Its last lease ran out mid-run: count that as its final failure.
                self.bury(id, None, "lease expired on the last attempt", now)
                    .await?;
                continue;
            }
            return Ok(Some(Job {
                id,
                kind: parsed(&row.kind, JobKind::parse, "job kind")?,
                idempotency_key: row.idempotency_key,
                payload: row.payload,
                attempts: to_u32(row.attempts)?,
                max_attempts: to_u32(row.max_attempts)?,
            }));
        }
    }

    /// Moves a job to `dead`, keeping only the hour: a dead job waits for an admin and
    /// its times would otherwise date its case. `worker`, if given, must hold the lease.
    async fn bury(&self, id: JobId, worker: Option<&str>, error: &str, now: i64) -> Result<(), StoreError> {
        let hour = redress_domain::hour_floor(now);
        let mut update = job::Entity::update_many()
            .col_expr(job::Column::State, JobState::Dead.as_str().into())
            .col_expr(job::Column::RunAt, hour.into())
            .col_expr(job::Column::LeasedBy, Option::<String>::None.into())
            .col_expr(job::Column::LeaseUntil, Option::<i64>::None.into())
            .col_expr(
                job::Column::LastError,
                Some(error.chars().take(1000).collect::<String>()).into(),
            )
            .col_expr(job::Column::UpdatedAt, hour.into())
            .filter(job::Column::Id.eq(id.to_string()));
        if let Some(w) = worker {
            update = update.filter(job::Column::LeasedBy.eq(w));
        }
        update.exec(self.connection()).await?;
        Ok(())
    }

    /// Extends a lease held by `worker`. False if the lease was lost.
    pub async fn renew(
        &self,
        job: &Job,
        worker: &str,
        lease_secs: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        let res = job::Entity::update_many()
            .col_expr(job::Column::LeaseUntil, Some(now + lease_secs).into())
            .col_expr(job::Column::UpdatedAt, now.into())
            .filter(job::Column::Id.eq(job.id.to_string()))
            .filter(job::Column::State.eq(JobState::Running.as_str()))
            .filter(job::Column::LeasedBy.eq(worker))
            .exec(self.connection())
            .await?;
        Ok(res.rows_affected > 0)
    }

    /// Marks a job done. False if `worker` no longer held it (its lease ran out and
    /// another worker took it; the job's idempotency makes that harmless). A finished job
    /// keeps only the hour it finished in: a triage job's times would otherwise date its
    /// case to the second.
    pub async fn complete(&self, job: &Job, worker: &str, now: i64) -> Result<bool, StoreError> {
        let hour = redress_domain::hour_floor(now);
        let res = job::Entity::update_many()
            .col_expr(job::Column::State, JobState::Done.as_str().into())
            .col_expr(job::Column::LeasedBy, Option::<String>::None.into())
            .col_expr(job::Column::LeaseUntil, Option::<i64>::None.into())
            .col_expr(job::Column::LastError, Option::<String>::None.into())
            .col_expr(job::Column::RunAt, hour.into())
            .col_expr(job::Column::UpdatedAt, hour.into())
            .filter(job::Column::Id.eq(job.id.to_string()))
            .filter(job::Column::State.eq(JobState::Running.as_str()))
            .filter(job::Column::LeasedBy.eq(worker))
            .exec(self.connection())
            .await?;
        Ok(res.rows_affected > 0)
    }

    /// Records a failure: the job is retried after `backoff` seconds, or moved to `dead`
    /// once it has used its attempts. `error` must not contain report content.
    pub async fn fail(
        &self,
        job: &Job,
        worker: &str,
        error: &str,
        backoff: i64,
        now: i64,
    ) -> Result<Failed, StoreError> {
        if job.attempts >= job.max_attempts {
            self.bury(job.id, Some(worker), error, now).await?;
            return Ok(Failed::Dead);
        }
        let outcome = Failed::RetryAt(now + backoff);
        job::Entity::update_many()
            .col_expr(job::Column::State, JobState::Queued.as_str().into())
            .col_expr(job::Column::RunAt, (now + backoff).into())
            .col_expr(job::Column::LeasedBy, Option::<String>::None.into())
            .col_expr(job::Column::LeaseUntil, Option::<i64>::None.into())
            .col_expr(
                job::Column::LastError,
                Some(error.chars().take(1000).collect::<String>()).into(),
            )
            .col_expr(job::Column::UpdatedAt, redress_domain::hour_floor(now).into())
            .filter(job::Column::Id.eq(job.id.to_string()))
            .filter(job::Column::LeasedBy.eq(worker))
            .exec(self.connection())
            .await?;
        Ok(outcome)
    }

    /// Moves a job straight to `dead`: retrying cannot help (a permanent refusal).
    pub async fn give_up(&self, job: &Job, worker: &str, error: &str, now: i64) -> Result<(), StoreError> {
        self.bury(job.id, Some(worker), error, now).await
    }

    /// Gives a claimed job back without counting the attempt (graceful shutdown).
    pub async fn release(&self, job: &Job, worker: &str, now: i64) -> Result<(), StoreError> {
        job::Entity::update_many()
            .col_expr(job::Column::State, JobState::Queued.as_str().into())
            .col_expr(
                job::Column::Attempts,
                to_i32(job.attempts.saturating_sub(1))?.into(),
            )
            .col_expr(job::Column::LeasedBy, Option::<String>::None.into())
            .col_expr(job::Column::LeaseUntil, Option::<i64>::None.into())
            .col_expr(job::Column::UpdatedAt, now.into())
            .filter(job::Column::Id.eq(job.id.to_string()))
            .filter(job::Column::State.eq(JobState::Running.as_str()))
            .filter(job::Column::LeasedBy.eq(worker))
            .exec(self.connection())
            .await?;
        Ok(())
    }

    /// Jobs in `state`, oldest first (for admins).
    pub async fn jobs_in_state(&self, state: JobState) -> Result<Vec<JobSummary>, StoreError> {
        job::Entity::find()
            .filter(job::Column::State.eq(state.as_str()))
            .order_by_asc(job::Column::CreatedAt)
            .all(self.connection())
            .await?
            .into_iter()
            .map(summary)
            .collect()
    }

    /// Puts a dead job back in the queue with fresh attempts. False if no dead job has
    /// that id.
    pub async fn retry_dead(&self, id: JobId, now: i64) -> Result<bool, StoreError> {
        let res = job::Entity::update_many()
            .col_expr(job::Column::State, JobState::Queued.as_str().into())
            .col_expr(job::Column::Attempts, 0.into())
            .col_expr(job::Column::RunAt, now.into())
            .col_expr(job::Column::UpdatedAt, now.into())
            .filter(job::Column::Id.eq(id.to_string()))
            .filter(job::Column::State.eq(JobState::Dead.as_str()))
            .exec(self.connection())
            .await?;
        Ok(res.rows_affected > 0)
    }

    /// Deletes finished jobs last touched before `before` (their idempotency keys go
    /// with them, so only purge what can no longer be enqueued again).
    pub async fn purge_done_jobs(&self, before: i64) -> Result<u64, StoreError> {
        let res = job::Entity::delete_many()
            .filter(job::Column::State.eq(JobState::Done.as_str()))
            .filter(job::Column::UpdatedAt.lt(before))
            .exec(self.connection())
            .await?;
        Ok(res.rows_affected)
    }

    /// Number of jobs of `kind` in `state`.
    pub async fn job_count(&self, kind: JobKind, state: JobState) -> Result<u64, StoreError> {
        Ok(job::Entity::find()
            .filter(job::Column::Kind.eq(kind.as_str()))
            .filter(job::Column::State.eq(state.as_str()))
            .count(self.connection())
            .await?)
    }

    /// One job by id (admins and tests).
    pub async fn job(&self, id: JobId) -> Result<Option<JobSummary>, StoreError> {
        job::Entity::find_by_id(id.to_string())
            .one(self.connection())
            .await?
            .map(summary)
            .transpose()
    }

    /// Every job, in no particular order (admins and tests).
    pub async fn jobs(&self) -> Result<Vec<JobSummary>, StoreError> {
        job::Entity::find()
            .all(self.connection())
            .await?
            .into_iter()
            .map(summary)
            .collect()
    }
}
