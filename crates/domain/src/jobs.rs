use crate::names::named_enum;

named_enum! {
    /// Kinds of background job. The names are stored in the job queue.
    pub enum JobKind {
        /// Open a new case with the triage key, score, route and hand it over.
        TriageCase = "triage_case",
        /// Send one email from the outbox.
        SendEmail = "send_email",
        /// Periodic: flag cases whose deadlines are near or past, queue reminders.
        DeadlineScan = "deadline_scan",
        /// Periodic: remove blobs a crash left behind.
        SweepBlobs = "sweep_blobs",
        /// Periodic: forget finished jobs after a while.
        PurgeJobs = "purge_jobs",
        /// Periodic: rebuild the SQLite file, so where rows lie says nothing of when
        /// they were written.
        CompactDatabase = "compact_database",
    }
}

impl JobKind {
    /// Jobs that a reporter's action causes (their times and failures could date a
    /// report), as opposed to the periodic ones.
    pub fn is_report_driven(self) -> bool {
        self.period_secs().is_none()
    }

    /// How often a periodic job runs, in seconds; `None` for report-driven jobs.
    pub fn period_secs(self) -> Option<i64> {
        match self {
            Self::TriageCase | Self::SendEmail => None,
            Self::DeadlineScan => Some(300),
            Self::SweepBlobs => Some(600),
            Self::PurgeJobs => Some(86_400),
            Self::CompactDatabase => Some(300),
        }
    }

    /// The start of the next period after `now`: when a periodic job runs again.
    pub fn next_period(self, now: i64) -> Option<i64> {
        self.period_secs().map(|p| (now.div_euclid(p) + 1) * p)
    }
}

named_enum! {
    /// Where a job is in the queue.
    pub enum JobState {
        Queued = "queued",
        Running = "running",
        Done = "done",
        /// Used up its attempts (or cannot succeed): waits for an admin.
        Dead = "dead",
    }
}
