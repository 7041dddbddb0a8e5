//! The triage worker and every background job (`redress worker`; `redress serve` runs it
//! in-process).
//!
//! Jobs come from the store's one queue. Each is idempotent: a worker killed at any
//! point leaves work that the next claim completes exactly once. The worker holds the
//! triage identity and the fingerprint key; it must never log report content, file
//! names, receipts, keys or email addresses.

mod deadlines;
mod email;
pub mod fingerprints;
mod periodic;
mod related;
pub mod routing;
pub mod rules;
mod triage;
pub mod triage_keys;

use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use redress_domain::JobKind;
use redress_indicators::IndicatorSet;
use redress_store::{BlobStore, Job, Store};
use tokio::sync::watch;

pub use fingerprints::FingerprintKey;
pub use periodic::SWEEP_GRACE;
pub use rules::Rules;
pub use triage_keys::TriageKeys;

/// How the worker runs.
#[derive(Clone, Debug)]
pub struct WorkerSettings {
    /// Jobs run at once by this process.
    pub concurrency: usize,
    /// How often an idle worker looks for new jobs.
    pub poll_interval: Duration,
    /// A claimed job belongs to this worker while its heartbeat (written every third of
    /// this) is younger than this; if the worker dies, others take its jobs after it.
    pub lease_secs: i64,
    /// On shutdown, running jobs get this long to finish before they are released.
    pub shutdown_grace: Duration,
    /// Bytes of each evidence file scanned for indicators and considered for scrubbing.
    pub max_inspect_bytes: u64,
    /// Message-IDs are `<uuid@message_id_domain>`.
    pub message_id_domain: String,
    /// Finished jobs are forgotten after this long.
    pub keep_done_jobs_secs: i64,
    /// A transient failure (database or disk out of reach, SMTP trouble) is tried again
    /// after each of these pauses, within the claim, before it is recorded: a recorded
    /// failure of a report-driven job waits for the next hour.
    pub retry_delays: Vec<Duration>,
    /// Related cases one case links to and lists, most relevant first; the rest are
    /// counted.
    pub related_listed: usize,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            concurrency: 2,
            poll_interval: Duration::from_millis(250),
            lease_secs: 300,
            shutdown_grace: Duration::from_secs(30),
            max_inspect_bytes: 64 * 1024 * 1024,
            message_id_domain: "redress.invalid".into(),
            keep_done_jobs_secs: 30 * 86_400,
            retry_delays: [2, 8, 30].map(Duration::from_secs).to_vec(),
            related_listed: 10,
        }
    }
}

/// Everything the worker needs.
pub struct Worker {
    pub store: Store,
    pub blobs: BlobStore,
    /// The triage identities: the current one and, during a rotation, the one being
    /// retired.
    pub triage: TriageKeys,
    pub fingerprint_key: FingerprintKey,
    pub rules: Rules,
    pub indicators: IndicatorSet,
    pub mailer: Option<redress_mail::Mailer>,
    pub settings: WorkerSettings,
    /// Unix seconds; a parameter so tests can move time.
    pub clock: Arc<dyn Fn() -> i64 + Send + Sync>,
    /// Names this process in job leases and its heartbeat.
    pub name: String,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("name", &self.name)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// Why a job failed. The message is stored with the job: it names ids, never content.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("{0}")]
    Store(#[from] redress_store::StoreError),
    #[error("crypto: {0}")]
    Crypto(#[from] redress_crypto::CryptoError),
    #[error("keys: {0}")]
    Keys(#[from] redress_keychain::KeychainError),
    #[error("blob I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Routing(#[from] routing::RoutingError),
    #[error("email: {0}")]
    Email(String),
    /// Kept visible: the job fails, is retried and ends dead, for an admin to retry
    /// once `mail.smtp_url` is set.
    #[error("email is not configured (mail.smtp_url)")]
    MailNotConfigured,
    /// Retrying cannot help; the job goes to `dead` for an admin at once.
    #[error("email refused permanently: {0}")]
    EmailRefused(String),
    #[error("bad job: {0}")]
    BadJob(String),
}

impl JobError {
    /// Worth trying again within seconds: the database, the disk or the mail server
    /// may be back. Anything about the data itself is not.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Store(e) | Self::Keys(redress_keychain::KeychainError::Store(e)) => e.is_transient(),
            Self::Io(_) | Self::Email(_) => true,
            _ => false,
        }
    }
}

/// What an operator is told (at start-up, and in the hourly report while notices wait).
pub const MAIL_NOT_CONFIGURED: &str = "email is not configured (mail.smtp_url): investigators are not told of new \
     cases or deadlines; notices wait in the outbox. Set mail.smtp_url, restart, then retry the dead send_email \
     jobs (redress admin jobs list, redress admin jobs retry ID)";

/// What running one job did.
#[derive(Debug, PartialEq, Eq)]
pub enum Ran {
    Done(JobKind),
    Failed(JobKind),
    /// The lease was lost while it ran (another worker has it now).
    LeaseLost(JobKind),
}

impl Worker {
    pub fn now(&self) -> i64 {
        (self.clock)()
    }

    /// How often this worker beats, and checks that it still holds what it runs.
    fn beat_interval(&self) -> Duration {
        let lease_millis = self
            .settings
            .lease_secs
            .max(1)
            .unsigned_abs()
            .saturating_mul(1000);
        Duration::from_millis((lease_millis / 3).max(100))
    }

    /// Claims and runs one due job, if any.
    pub async fn run_one(&self) -> Result<Option<Ran>, JobError> {
        let Some(job) = self.store.claim(&self.name, self.now()).await? else {
            return Ok(None);
        };
        Ok(Some(self.execute(job).await?))
    }

    /// Runs jobs until none is due (tests and benchmarks). Beats once first, at the
    /// start, rather than around each job.
    pub async fn run_until_idle(&self) -> Result<Vec<Ran>, JobError> {
        let now = self.now();
        self.store.beat(&self.name, self.settings.lease_secs, now).await?;
        periodic::schedule(self, now).await?;
        let mut ran = Vec::new();
        while let Some(r) = self.run_one().await? {
            ran.push(r);
        }
        Ok(ran)
    }

    async fn execute(&self, job: Job) -> Result<Ran, JobError> {
        // Watching the lease is a task of its own, so CPU-heavy steps of the job cannot
        // starve it.
        let (lost, lease_lost) = tokio::sync::oneshot::channel();
        let watcher = tokio::spawn(watch_lease(
            self.store.clone(),
            job.clone(),
            self.name.clone(),
            self.beat_interval(),
            lost,
        ));
        let result = tokio::select! {
            r = self.attempt(&job) => r,
            _ = lease_lost => Err(JobError::BadJob("lease lost".into())),
        };
        watcher.abort();
        let now = self.now();
        match result {
            Ok(()) => {
                if self.store.complete(&job, &self.name, now).await? {
                    Ok(Ran::Done(job.kind))
                } else {
                    Ok(Ran::LeaseLost(job.kind))
                }
            }
            Err(e) => {
                // Counted, not logged: a triage or an email fails seconds after the
                // report that caused it arrived.
                redress_logging::note(
                    "worker.failed",
                    job.kind.as_str(),
                    redress_logging::cause_chain(&e),
                );
                self.warn_operator(&e);
                if matches!(e, JobError::EmailRefused(_)) {
                    self.store.give_up(&job, &self.name, &e.to_string(), now).await?;
                } else {
                    self.store.fail(&job, &self.name, &e.to_string(), now).await?;
                }
                Ok(Ran::Failed(job.kind))
            }
        }
    }

    /// One attempt at a job. A transient failure is tried again in memory after each
    /// of `retry_delays` before it is reported, so a database out of reach for seconds
    /// costs seconds, not the hour until a stored retry.
    async fn attempt(&self, job: &Job) -> Result<(), JobError> {
        let mut delays = self.settings.retry_delays.iter();
        loop {
            // A panic in a job (a third-party parser meeting a hostile file) fails that
            // job; it must not end the job loop and with it all triage.
            let result = std::panic::AssertUnwindSafe(self.dispatch(job))
                .catch_unwind()
                .await
                .unwrap_or_else(|_| Err(JobError::BadJob("the job panicked".into())));
            match (result, delays.next()) {
                (Err(e), Some(delay)) if e.is_transient() => tokio::time::sleep(*delay).await,
                (result, _) => return result,
            }
        }
    }

    /// What an operator should fix before reports arrive, said once at start-up (a time
    /// that dates nothing): email not configured, nobody to route new cases to.
    pub async fn warn_at_start(&self) {
        if self.mailer.is_none() {
            tracing::warn!("{MAIL_NOT_CONFIGURED}");
        }
        let team = &self.rules.routing.fallback_team;
        match self.store.investigators().await {
            Ok(people) if !people.iter().any(|i| i.active && i.teams.contains(team)) => tracing::warn!(
                "no active investigator is in the fallback team {team:?}: a case that no routing rule \
                 matches cannot be routed and waits, readable by the triage identity. Add one with \
                 redress admin investigator add --team {team} …"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(
                "could not check who new cases can be routed to: {}",
                redress_logging::cause_chain(&e)
            ),
        }
    }

    /// A failure an operator must act on is also a warning in the hourly report: what
    /// is wrong and what to do, once an hour however many jobs hit it.
    fn warn_operator(&self, e: &JobError) {
        match e {
            JobError::Routing(_) => {
                let team = &self.rules.routing.fallback_team;
                redress_logging::warn_hourly(
                    "routing.nobody",
                    &format!(
                        "new cases cannot be routed: no active investigator with room in their teams or \
                         the fallback team {team:?}; they wait, readable by the triage identity. Add one \
                         (redress admin investigator add --team {team} …), then retry dead triage jobs \
                         (redress admin jobs list, redress admin jobs retry ID)"
                    ),
                );
            }
            JobError::MailNotConfigured => {
                redress_logging::warn_hourly("mail.unconfigured", MAIL_NOT_CONFIGURED)
            }
            _ => {}
        }
    }

    async fn dispatch(&self, job: &Job) -> Result<(), JobError> {
        match job.kind {
            JobKind::TriageCase => triage::run(self, job).await,
            JobKind::SendEmail => email::send(self, job).await,
            JobKind::DeadlineScan => deadlines::scan(self).await,
            JobKind::SweepBlobs => periodic::sweep(self).await,
            JobKind::PurgeJobs => periodic::purge(self).await,
            JobKind::CompactDatabase => Ok(self.store.compact().await?),
        }
    }

    /// Runs `concurrency` job loops until `shutdown` turns true; then lets running jobs
    /// finish within the grace period and releases the rest.
    pub async fn run(self: Arc<Self>, shutdown: watch::Receiver<bool>) {
        let now = self.now();
        if let Err(e) = self.store.beat(&self.name, self.settings.lease_secs, now).await {
            redress_logging::note(
                "worker.queue",
                "heartbeat_failed",
                redress_logging::cause_chain(&e),
            );
        }
        if let Err(e) = periodic::schedule(&self, now).await {
            redress_logging::note(
                "worker.queue",
                "schedule_failed",
                redress_logging::cause_chain(&e),
            );
        }
        let heartbeat = tokio::spawn(beat_while_running(
            self.store.clone(),
            self.name.clone(),
            self.settings.lease_secs,
            self.beat_interval(),
            Arc::clone(&self.clock),
        ));
        let mut loops = Vec::new();
        for _ in 0..self.settings.concurrency.max(1) {
            let worker = Arc::clone(&self);
            let shutdown = shutdown.clone();
            loops.push(tokio::spawn(async move { worker.job_loop(shutdown).await }));
        }
        for l in loops {
            // A loop that panicked: its message could quote what it was working on.
            if l.await.is_err() {
                redress_logging::count("worker", "job_loop_ended");
                redress_logging::warn_hourly(
                    "worker.loop",
                    "a job loop of this worker ended unexpectedly; it runs fewer jobs at once until restarted",
                );
            }
        }
        // Every job is finished or given back: what is left (a release that failed)
        // is free for others at once.
        heartbeat.abort();
        if let Err(e) = self.store.retire(&self.name).await {
            tracing::warn!(error = %e, "could not remove the worker's heartbeat");
        }
    }

    async fn job_loop(&self, mut shutdown: watch::Receiver<bool>) {
        while !*shutdown.borrow() {
            let now = self.now();
            let job = match self.store.claim(&self.name, now).await {
                Ok(job) => job,
                Err(e) => {
                    redress_logging::note("worker.queue", "claim_failed", redress_logging::cause_chain(&e));
                    None
                }
            };
            let Some(job) = job else {
                tokio::select! {
                    () = tokio::time::sleep(self.settings.poll_interval) => {}
                    _ = shutdown.changed() => {}
                }
                continue;
            };
            let run = self.execute(job.clone());
            tokio::pin!(run);
            tokio::select! {
                r = &mut run => {
                    if let Err(e) = r {
                        redress_logging::note("worker.queue", "bookkeeping_failed", redress_logging::cause_chain(&e));
                    }
                }
                _ = shutdown.changed() => {
                    // Let it finish within the grace period, else give it back.
                    if tokio::time::timeout(self.settings.shutdown_grace, &mut run).await.is_err()
                        && let Err(e) = self.store.release(&job, &self.name, self.now()).await
                    {
                        tracing::warn!(error = %e, "could not release a job on shutdown");
                    }
                }
            }
        }
    }
}

/// Beats on a fixed cadence for as long as the worker runs: the heartbeat that keeps its
/// jobs its own. Its times follow the cadence, never a job or a report.
async fn beat_while_running(
    store: Store,
    worker: String,
    lease_secs: i64,
    every: Duration,
    clock: Arc<dyn Fn() -> i64 + Send + Sync>,
) {
    loop {
        tokio::time::sleep(every).await;
        if let Err(e) = store.beat(&worker, lease_secs, clock()).await {
            redress_logging::note(
                "worker.queue",
                "heartbeat_failed",
                redress_logging::cause_chain(&e),
            );
        }
    }
}

/// Checks, as often as the worker beats, that it still holds `job` (a stale heartbeat
/// lets another worker take it over); reports when it does not.
async fn watch_lease(
    store: Store,
    job: Job,
    worker: String,
    every: Duration,
    lost: tokio::sync::oneshot::Sender<()>,
) {
    loop {
        tokio::time::sleep(every).await;
        match store.holds(&job, &worker).await {
            Ok(true) => {}
            Ok(false) => {
                let _ = lost.send(());
                return;
            }
            Err(e) => redress_logging::note(
                "worker.queue",
                "lease_check_failed",
                redress_logging::cause_chain(&e),
            ),
        }
    }
}
