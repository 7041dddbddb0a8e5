//! `redress admin …`: investigators, the job queue and stored objects, from a shell on
//! the host.

use std::os::unix::fs::OpenOptionsExt;

use clap::Subcommand;
use redress_crypto::PublicKey;
use redress_domain::{JobId, JobState, Role};
use redress_store::{NewInvestigator, Store, StoreError};
use redress_worker::rules::RoutingRules;

use crate::config::Config;

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Investigators who are given cases.
    #[command(subcommand)]
    Investigator(InvestigatorCommand),
    /// The background job queue.
    #[command(subcommand)]
    Jobs(JobsCommand),
    /// Invites a person to the portal: prints a one-time setup link that expires.
    Invite {
        email: String,
        /// investigator, admin or auditor.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// For an investigator: a routing team (repeat for several). An investigator
        /// registered before keeps their teams unless teams are given.
        #[arg(long = "team")]
        teams: Vec<String>,
        /// For an investigator: open cases they can hold at once (default 10, or what
        /// they had).
        #[arg(long)]
        capacity: Option<u32>,
        /// Hours until the link stops working (default: portal.invitation_hours, 72).
        #[arg(long)]
        valid_hours: Option<u32>,
    },
    /// Lets an address log in to the portal again after too many failed logins (as an
    /// admin does on the person's page), when no admin can.
    Unlock { email: String },
    /// Stored objects, whichever backend holds them.
    #[command(subcommand)]
    Blob(BlobCommand),
}

#[derive(Debug, Subcommand)]
pub enum BlobCommand {
    /// Writes a stored object out as the standard age file it is (ciphertext: the
    /// stock `age` CLI opens it with the right identity). For recovery without Redress
    /// and for checking, with blobs in the database as in the folder.
    Export {
        /// The object's id (from the database's `case_objects`).
        id: String,
        /// The file to write (0600); an existing file is never overwritten.
        #[arg(long)]
        out: std::path::PathBuf,
    },
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

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| {
        let names: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
        format!("use {}", names.join(", "))
    })
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
    /// The triage rules, needed to tell whether an investigator can be given cases.
    #[error("{0:#}")]
    Rules(anyhow::Error),
    #[error("{0:#}")]
    Blob(anyhow::Error),
    #[error(transparent)]
    Invite(#[from] redress_portal::InviteError),
    #[error(transparent)]
    Audit(#[from] redress_audit::AuditError),
}

/// What an admin command has to say: its result, and warnings about it.
#[derive(Debug, Default)]
pub struct Report {
    pub output: String,
    pub warnings: Vec<String>,
}

impl From<String> for Report {
    fn from(output: String) -> Self {
        Self {
            output,
            warnings: Vec::new(),
        }
    }
}

/// Runs an admin command. `config` names the triage rules, which routing follows.
pub async fn run(store: &Store, config: &Config, cmd: AdminCommand, now: i64) -> Result<Report, AdminError> {
    match cmd {
        AdminCommand::Investigator(InvestigatorCommand::Add {
            email,
            recipient,
            teams,
            capacity,
        }) => {
            let email = checked_email(&email)?;
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
            // Read before adding: rules the worker cannot load stop triage too.
            let rules = crate::worker::rules(config).map_err(AdminError::Rules)?;
            let warnings = routing_warnings(&email, &teams, &rules.routing);
            let new = NewInvestigator {
                email,
                recipient: key.to_string(),
                teams,
                capacity,
            };
            let i = store.add_investigator(&new, now).await?;
            Ok(Report {
                output: format!(
                    "Added investigator {} ({}), teams: {}",
                    i.email,
                    i.id,
                    i.teams.join(", ")
                ),
                warnings,
            })
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
            Ok(out.into())
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
            Ok(out.into())
        }
        AdminCommand::Invite {
            email,
            role,
            teams,
            capacity,
            valid_hours,
        } => {
            let request = redress_portal::InviteRequest {
                email,
                role,
                teams,
                capacity,
                valid_hours: valid_hours.unwrap_or(config.portal.invitation_hours),
            };
            invite(store, config, request, now).await
        }
        AdminCommand::Blob(BlobCommand::Export { id, out }) => export_blob(store, config, &id, out).await,
        AdminCommand::Unlock { email } => {
            let email = checked_email(&email)?;
            let output = if redress_portal::unlock(store, &email, "cli", now).await? {
                format!("{email} may log in again.")
            } else {
                format!("{email} had no failed logins counted; nothing to unlock.")
            };
            Ok(output.into())
        }
        AdminCommand::Jobs(JobsCommand::Retry { id }) => {
            let not_found = || {
                AdminError::Invalid(format!(
                    "no dead job with id {id:?} (see `redress admin jobs list`)"
                ))
            };
            let job = JobId::parse(id.trim()).ok_or_else(not_found)?;
            if store.retry_dead(job, now).await? {
                Ok(format!("Job {job} is queued again.").into())
            } else {
                Err(not_found())
            }
        }
    }
}

fn checked_email(email: &str) -> Result<String, AdminError> {
    redress_domain::EmailAddress::parse(email)
        .map(|e| e.to_string())
        .map_err(|e| AdminError::Invalid(e.to_string()))
}

/// Stores an invitation (its token's hash only) and returns the link, which is shown
/// this once.
async fn invite(
    store: &Store,
    config: &Config,
    request: redress_portal::InviteRequest,
    now: i64,
) -> Result<Report, AdminError> {
    let invited = redress_portal::invite(store, &request, "cli", now).await?;
    let i = &invited.invitation;
    let warnings = if i.role == Role::Investigator {
        let rules = crate::worker::rules(config).map_err(AdminError::Rules)?;
        routing_warnings(&i.email, &i.teams, &rules.routing)
    } else {
        Vec::new()
    };
    Ok(Report {
        output: format!(
            "Invited {} as {}. This setup link works once, for {} hours, and is not shown \
             again (a new invitation replaces it):\n{}",
            i.email,
            i.role,
            request.valid_hours,
            invited.link(&crate::portal_link_base(config)).as_str()
        ),
        warnings,
    })
}

/// Streams a committed object into a new file, whatever its size.
async fn export_blob(
    store: &Store,
    config: &Config,
    id: &str,
    out: std::path::PathBuf,
) -> Result<Report, AdminError> {
    use anyhow::Context as _;
    let id = redress_domain::ObjectId::parse(id.trim())
        .ok_or_else(|| AdminError::Invalid(format!("{id:?} is not an object id")))?;
    let blobs = config.blob_store(store).map_err(AdminError::Blob)?;
    let written = tokio::task::spawn_blocking(move || -> anyhow::Result<(u64, std::path::PathBuf)> {
        let mut blob = blobs.open_blob(id).with_context(|| format!("object {id}"))?;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&out)
            .with_context(|| format!("creating {}", out.display()))?;
        let n = std::io::copy(&mut blob, &mut file).with_context(|| format!("object {id}"))?;
        file.sync_all()?;
        Ok((n, out))
    })
    .await
    .map_err(|e| AdminError::Blob(e.into()))?;
    match written {
        Ok((n, out)) => Ok(format!("Wrote {n} bytes of age ciphertext to {}", out.display()).into()),
        Err(e) => Err(AdminError::Blob(e)),
    }
}

/// Routing gives a case to members of the teams its rules name, then of the fallback
/// team (`redress_worker::routing::route`): someone in neither gets no cases, which an
/// admin should hear when it can still be fixed.
fn routing_warnings(email: &str, teams: &[String], routing: &RoutingRules) -> Vec<String> {
    let mut routed: Vec<&str> = Vec::new();
    for rule in &routing.rules {
        if !routed.contains(&rule.team.as_str()) {
            routed.push(&rule.team);
        }
    }
    let fallback = routing.fallback_team.as_str();
    let where_cases_go = format!(
        "cases go to the routing teams ({}) and to the fallback team {fallback:?}",
        if routed.is_empty() {
            "none".to_owned()
        } else {
            routed.join(", ")
        }
    );
    let unknown: Vec<&String> = teams
        .iter()
        .filter(|t| t.as_str() != fallback && !routed.contains(&t.as_str()))
        .collect();
    if teams.is_empty() {
        vec![format!(
            "{email} is in no team and will get no cases: {where_cases_go}. Add --team {fallback} or a routing team."
        )]
    } else if unknown.len() == teams.len() {
        vec![format!(
            "{email} will get no cases: no routing rule names {} and the fallback team is {fallback:?}; {where_cases_go}.",
            quoted(&unknown)
        )]
    } else if !unknown.is_empty() {
        vec![format!(
            "no routing rule names {} (a typo?): {where_cases_go}.",
            quoted(&unknown)
        )]
    } else {
        Vec::new()
    }
}

fn quoted(teams: &[&String]) -> String {
    let names: Vec<String> = teams.iter().map(|t| format!("{t:?}")).collect();
    names.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routing() -> RoutingRules {
        toml::from_str(
            r#"
fallback_team = "triage-desk"
[[rules]]
team = "mobile"
[[rules]]
team = "europe"
[[rules]]
team = "mobile"
"#,
        )
        .unwrap()
    }

    #[test]
    fn an_investigator_outside_every_routed_team_is_warned_about() {
        let r = routing();
        let warn = |teams: &[&str]| {
            let teams: Vec<String> = teams.iter().map(|t| t.to_string()).collect();
            routing_warnings("ana@example.org", &teams, &r)
        };
        let none = warn(&[]);
        assert_eq!(none.len(), 1);
        assert!(none[0].contains("in no team and will get no cases"), "{none:?}");
        assert!(none[0].contains("\"triage-desk\""), "{none:?}");
        assert!(none[0].contains("(mobile, europe)"), "{none:?}");
        let unrouted = warn(&["legal", "asia"]);
        assert!(unrouted[0].contains("will get no cases"), "{unrouted:?}");
        assert!(unrouted[0].contains("\"legal\", \"asia\""), "{unrouted:?}");
        let typo = warn(&["mobile", "eurpoe"]);
        assert!(typo[0].contains("\"eurpoe\" (a typo?)"), "{typo:?}");
        assert!(!typo[0].contains("will get no cases"), "{typo:?}");
        assert!(warn(&["mobile"]).is_empty());
        assert!(warn(&["triage-desk"]).is_empty());
    }
}
