//! `redress audit …`: check the audit log's chain from a shell, and print its head to
//! record elsewhere (ADR 0020).

use clap::Subcommand;
use redress_store::Store;

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Checks every entry of the chain; exits non-zero naming the first bad entry.
    Verify {
        /// A head hash recorded earlier (`redress audit head`): also proves that no
        /// entry up to it was changed or cut from the end since.
        #[arg(long, value_name = "HASH")]
        since: Option<String>,
    },
    /// Prints the hash of the last entry, to keep somewhere the server cannot change.
    Head,
}

/// Runs an audit command: what to print, or the error that the log does not verify.
pub async fn run(store: &Store, cmd: AuditCommand) -> Result<String, redress_audit::AuditError> {
    match cmd {
        AuditCommand::Verify { since } => {
            let v = redress_audit::verify(store, since.as_deref()).await?;
            Ok(match (v.head, since) {
                (None, _) => "The audit log is empty.".to_owned(),
                (Some(head), None) => format!("Audit log OK: {} entries, head {head}", v.entries),
                (Some(head), Some(since)) => format!(
                    "Audit log OK: {} entries, head {head}; {} is still in the chain",
                    v.entries,
                    since.trim()
                ),
            })
        }
        AuditCommand::Head => Ok(redress_audit::head(store)
            .await?
            .unwrap_or_else(|| redress_audit::GENESIS.to_owned())),
    }
}
