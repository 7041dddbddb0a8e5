use serde::{Deserialize, Serialize};

/// Kinds of background job. The names are stored in the job queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// Open a new case with the triage key, score, route and hand it over.
    TriageCase,
    /// Send one email from the outbox.
    SendEmail,
    /// Periodic: flag cases whose deadlines are near or past, queue reminders.
    DeadlineScan,
    /// Periodic: remove blobs a crash left behind.
    SweepBlobs,
    /// Periodic: forget finished jobs after a while.
    PurgeJobs,
}

impl JobKind {
    pub const ALL: [Self; 5] = [
        Self::TriageCase,
        Self::SendEmail,
        Self::DeadlineScan,
        Self::SweepBlobs,
        Self::PurgeJobs,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::TriageCase => "triage_case",
            Self::SendEmail => "send_email",
            Self::DeadlineScan => "deadline_scan",
            Self::SweepBlobs => "sweep_blobs",
            Self::PurgeJobs => "purge_jobs",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}
