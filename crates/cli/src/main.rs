//! The `redress` binary.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use redress_cli::config::Config;

#[derive(Parser)]
#[command(
    name = "redress",
    version,
    about = "Misuse-report intake: anonymous reports, encrypted at rest"
)]
struct Cli {
    /// Configuration file (default: config/redress.toml if present).
    #[arg(long, global = true, value_name = "FILE", env = "REDRESS_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Everything in one process on the embedded default (SQLite + blob folder).
    Serve,
    /// The public door only (report form and intake API). Holds public keys only.
    Intake,
    /// The triage worker and every background job. Holds the triage identity.
    Worker,
    /// The investigator, admin and auditor door. Holds the portal's secret.
    Portal,
    /// Create or upgrade the database schema.
    Migrate,
    /// Investigators, the job queue and stored objects.
    #[command(subcommand)]
    Admin(redress_cli::admin::AdminCommand),
    /// The hash-chained audit log: verify it, or print its head.
    #[command(subcommand)]
    Audit(redress_cli::audit::AuditCommand),
    /// The keys: their fingerprints, ages and the wraps made to them.
    #[command(subcommand)]
    Keys(redress_cli::key_commands::KeysCommand),
    /// Report every problem with the configuration and key files.
    CheckConfig {
        /// Which process the host runs: an intake or portal host must not have the
        /// triage identity, so it is not asked for.
        #[arg(long = "for", value_enum, default_value = "serve")]
        role: Role,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Role {
    /// `redress serve`: everything on one host, including the triage identity.
    Serve,
    /// `redress intake`: public keys only.
    Intake,
    /// `redress worker`: the triage identity, fingerprint key, rules and mail.
    Worker,
    /// `redress portal`: the portal's secret, no triage identity.
    Portal,
}

impl From<Role> for redress_cli::check::Host {
    fn from(role: Role) -> Self {
        match role {
            Role::Serve => Self::Serve,
            Role::Intake => Self::Intake,
            Role::Worker => Self::Worker,
            Role::Portal => Self::Portal,
        }
    }
}

/// `RUST_LOG` if set, else `log.level`: see `redress_logging` for what either reaches.
fn init_logging(config: &Config) {
    let asked = std::env::var("RUST_LOG").unwrap_or_else(|_| config.log.level.clone());
    redress_logging::init(&asked, config.log.format == "json");
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    init_logging(&config);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve => redress_cli::serve(config).await.map(|()| ExitCode::SUCCESS),
            Command::Intake => redress_cli::intake(config).await.map(|()| ExitCode::SUCCESS),
            Command::Worker => redress_cli::worker(config).await.map(|()| ExitCode::SUCCESS),
            Command::Portal => redress_cli::portal(config).await.map(|()| ExitCode::SUCCESS),
            Command::Migrate => {
                let store = redress_cli::connect(&config).await?;
                store.migrate().await?;
                println!("Database is up to date.");
                Ok(ExitCode::SUCCESS)
            }
            Command::Admin(cmd) => {
                let store = redress_cli::connect(&config).await?;
                let report =
                    redress_cli::admin::run(&store, &config, cmd, redress_cli::system_clock()).await?;
                println!("{}", report.output.trim_end());
                for warning in &report.warnings {
                    eprintln!("warning: {warning}");
                }
                Ok(ExitCode::SUCCESS)
            }
            Command::Audit(cmd) => {
                let store = redress_cli::connect(&config).await?;
                match redress_cli::audit::run(&store, cmd).await {
                    Ok(out) => {
                        println!("{out}");
                        Ok(ExitCode::SUCCESS)
                    }
                    Err(e) => {
                        eprintln!("error: {e}");
                        Ok(ExitCode::FAILURE)
                    }
                }
            }
            Command::Keys(redress_cli::key_commands::KeysCommand::Status) => {
                let store = redress_cli::connect(&config).await?;
                let status =
                    redress_cli::key_commands::status(&config, &store, redress_cli::system_clock()).await?;
                print!("{}", redress_cli::key_commands::render(&status));
                Ok(ExitCode::SUCCESS)
            }
            Command::Keys(redress_cli::key_commands::KeysCommand::Revoke {
                email,
                rekey: true,
                recovery_identity,
            }) => {
                let store = redress_cli::connect(&config).await?;
                let display = redress_cli::rotate::Display::new();
                let r = redress_cli::rekey::revoke_and_rekey(
                    &config,
                    &store,
                    &email,
                    recovery_identity.as_deref(),
                    &display,
                    &redress_cli::system_clock,
                )
                .await?;
                print!("{}", redress_cli::rekey::render(&email, &r));
                Ok(if r.finished {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(3)
                })
            }
            Command::Keys(redress_cli::key_commands::KeysCommand::Revoke { email, .. }) => {
                let store = redress_cli::connect(&config).await?;
                let revoked =
                    redress_cli::key_commands::revoke(&store, &email, redress_cli::system_clock()).await?;
                print!("{}", redress_cli::key_commands::render_revoked(&email, &revoked));
                Ok(ExitCode::SUCCESS)
            }
            Command::Keys(redress_cli::key_commands::KeysCommand::RecoverInvestigator {
                email,
                recovery_identity,
                begin,
                new_link,
                valid_hours,
                batch,
            }) => {
                let store = redress_cli::connect(&config).await?;
                let options = redress_cli::recover::RecoverOptions {
                    batch,
                    valid_hours,
                    begin,
                    new_link,
                };
                let recovered = redress_cli::recover::recover_investigator(
                    &config,
                    &store,
                    &email,
                    &recovery_identity,
                    &options,
                    &redress_cli::rotate::Display::new(),
                    &redress_cli::system_clock,
                )
                .await?;
                let (text, finished) = redress_cli::recover::render(&email, &recovered);
                print!("{text}");
                Ok(if finished {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(3)
                })
            }
            Command::Keys(redress_cli::key_commands::KeysCommand::Rotate { what }) => {
                let store = redress_cli::connect(&config).await?;
                let (out, finished) =
                    redress_cli::key_commands::rotate(&config, &store, what, redress_cli::system_clock())
                        .await?;
                print!("{out}");
                Ok(if finished {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(3)
                })
            }
            Command::CheckConfig { role } => {
                for line in redress_cli::check::summary(&config) {
                    println!("{line}");
                }
                let problems = redress_cli::check::problems(&config, role.into()).await;
                if problems.is_empty() {
                    println!("Configuration OK.");
                    Ok(ExitCode::SUCCESS)
                } else {
                    for p in &problems {
                        println!("problem: {p}");
                    }
                    println!("{} problem(s) found.", problems.len());
                    Ok(ExitCode::FAILURE)
                }
            }
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
