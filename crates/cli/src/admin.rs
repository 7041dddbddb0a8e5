//! `redress admin …`: investigators and the job queue, from a shell on the host.

use clap::Subcommand;
use redress_crypto::PublicKey;
use redress_domain::{JobId, JobState};
use redress_store::{NewInvestigator, Store, StoreError};

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Investigators who are given cases.
    #[command(subcommand)]
    Investigator(InvestigatorCommand),
    /// The background job queue.
    #[command(subcommand)]
    Jobs(JobsCommand),
}

#[derive(Debug, Subcommand)]
pub enum InvestigatorCommand {
    /// Registers an investigator with the public key their case keys are wrapped to.
    Add {
        #[arg(long)]
        email: String,
        /// The investigator's age X25519 public key (age1…).
        #[arg(long)]
        recipient: String,
        /// A routing team (repeat for several).
        #[arg(long = "team")]
        teams: Vec<String>,
        /// Open cases they can hold at once.
        #[arg(long, default_value_t = 10)]
        capacity: u32,
    },
    /// Lists investigators.
    List,
}

#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// Lists jobs in a state (queued, running, done, dead).
    List {
        #[arg(long, default_value = "dead", value_parser = parse_state)]
        state: JobState,
    },
    /// Puts a dead job back in the queue.
    Retry { id: String },
}

fn parse_state(s: &str) -> Result<JobState, String> {
    JobState::parse(s).ok_or_else(|| {
        let names: Vec<&str> = JobState::ALL.iter().map(|s| s.as_str()).collect();
        format!("use {}", names.join(", "))
    })
}

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Runs an admin command; returns what to print.
pub async fn run(store: &Store, cmd: AdminCommand, now: i64) -> Result<String, AdminError> {
    match cmd {
        AdminCommand::Investigator(InvestigatorCommand::Add {
            email,
            recipient,
            teams,
            capacity,
        }) => {
            let email = email.trim().to_owned();
            if !email.contains('@') || email.len() > 254 || email.chars().any(char::is_whitespace) {
                return Err(AdminError::Invalid(format!(
                    "--email {email:?} is not an email address"
                )));
            }
            let key = PublicKey::parse(&recipient).map_err(|_| {
                AdminError::Invalid("--recipient must be an age X25519 public key (age1…)".into())
            })?;
            let teams: Vec<String> = teams
                .iter()
                .map(|t| t.trim().to_owned())
                .filter(|t| !t.is_empty())
                .collect();
            if capacity == 0 {
                return Err(AdminError::Invalid("--capacity must be at least 1".into()));
            }
            let new = NewInvestigator {
                email,
                recipient: key.to_string(),
                teams,
                capacity,
            };
            let i = store.add_investigator(&new, now).await?;
            Ok(format!(
                "Added investigator {} ({}), teams: {}",
                i.email,
                i.id,
                i.teams.join(", ")
            ))
        }
        AdminCommand::Investigator(InvestigatorCommand::List) => {
            let mut out = String::from("email\tteams\tcapacity\tactive\trecipient\n");
            for i in store.investigators().await? {
                out += &format!(
                    "{}\t{}\t{}\t{}\t{}\n",
                    i.email,
                    i.teams.join(","),
                    i.capacity,
                    i.active,
                    i.recipient
                );
            }
            Ok(out)
        }
        AdminCommand::Jobs(JobsCommand::List { state }) => {
            let mut out = String::from("id\tkind\tattempts\tlast error\n");
            for j in store.jobs_in_state(state).await? {
                out += &format!(
                    "{}\t{}\t{}\t{}\n",
                    j.id,
                    j.kind,
                    j.attempts,
                    j.last_error.unwrap_or_default()
                );
            }
            Ok(out)
        }
        AdminCommand::Jobs(JobsCommand::Retry { id }) => {
            let not_found = || {
                AdminError::Invalid(format!(
                    "no dead job with id {id:?} (see `redress admin jobs list`)"
                ))
            };
            let job = JobId::parse(id.trim()).ok_or_else(not_found)?;
            if store.retry_dead(job, now).await? {
                Ok(format!("Job {job} is queued again."))
            } else {
                Err(not_found())
            }
        }
    }
}
