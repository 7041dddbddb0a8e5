use sea_orm::entity::prelude::*;

/// A case. Nothing the reporter wrote is here: answers and files are age objects.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "cases")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    #[sea_orm(unique)]
    pub case_ref: String,
    pub state: String,
    pub questionnaire_version: i32,
    /// Received time rounded down to the hour: enough for deadlines counted in days,
    /// too coarse to line up with a network log.
    pub received_at: i64,
    /// Public half of the case key (`age1…`): what internal objects are sealed to.
    pub case_recipient: String,
    /// Public half of the thread key: what the reporter may read is sealed to it.
    pub thread_recipient: String,
    /// Set once, by the triage that handed the case to investigators.
    pub triaged: bool,
    /// `P1` (most urgent) to `P4`, from triage. Plain so queues can be ordered; the
    /// reasons behind it are sealed in the triage summary.
    pub priority: Option<String>,
    /// Acknowledge the reporter by this time (Unix seconds).
    pub ack_due: Option<i64>,
    /// Give the reporter feedback by this time; set when the case is acknowledged.
    pub feedback_due: Option<i64>,
    /// `ok`, `due_soon` or `overdue`, kept current by the deadline job.
    pub deadline_flag: String,
    /// The last assessment (`admissible`, `needs_information`, `out_of_scope`).
    pub assessment: Option<String>,
    /// How it was concluded; none until then, and again once reopened.
    pub outcome: Option<String>,
    /// When an investigator took each step (exact: staff acts).
    pub acknowledged_at: Option<i64>,
    pub concluded_at: Option<i64>,
    pub feedback_given_at: Option<i64>,
    pub closed_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
