use sea_orm::entity::prelude::*;

/// One unit of background work. Payloads name ids only, never content.
///
/// The same row shape serves two tables: `jobs` holds what reporters' actions cause
/// (triage, email), `periodic_jobs` one row per periodic kind (see `queue.rs`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "jobs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub kind: String,
    /// Enqueueing the same key twice creates one job: that is how "runs once" holds.
    #[sea_orm(unique)]
    pub idempotency_key: String,
    pub payload: String,
    /// `queued`, `running`, `done` or `dead`.
    pub state: String,
    pub attempts: i32,
    pub max_attempts: i32,
    /// Not before this time (Unix seconds): the schedule and the backoff.
    pub run_at: i64,
    /// The worker running it; the lease lasts while that worker's heartbeat is fresh.
    pub leased_by: Option<String>,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
