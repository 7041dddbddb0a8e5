use std::path::PathBuf;

/// Why [`Mailer::new`](crate::Mailer::new) refused the configuration. Every message starts
/// with the `mail.*` key to fix; [`MailError::key`] gives it alone.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MailError {
    /// A setting is missing, malformed or unsafe.
    #[error("mail.{key}: {problem}")]
    Invalid { key: &'static str, problem: String },
    /// The credentials file could not be read (the I/O error is the source).
    #[error("mail.credentials_file: cannot read {}", path.display())]
    CredentialsUnreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The credentials file may be read by other users.
    #[error(
        "mail.credentials_file: {} has loose permissions {mode:04o}: run chmod 600 on it",
        path.display()
    )]
    CredentialsLoose { path: PathBuf, mode: u32 },
    /// The credentials file does not start with a `user:password` line.
    #[error("mail.credentials_file: the first line of {} must be user:password", path.display())]
    CredentialsMalformed { path: PathBuf },
    /// lettre refused the SMTP URL after our own checks passed (the lettre error is the source).
    #[error("mail.smtp_url: cannot set up the SMTP transport")]
    Transport(#[source] lettre::transport::smtp::Error),
}

impl MailError {
    /// The configuration key (within `[mail]`) that needs fixing.
    pub fn key(&self) -> &'static str {
        match self {
            Self::Invalid { key, .. } => key,
            Self::CredentialsUnreadable { .. }
            | Self::CredentialsLoose { .. }
            | Self::CredentialsMalformed { .. } => "credentials_file",
            Self::Transport(_) => "smtp_url",
        }
    }

    pub(crate) fn invalid(key: &'static str, problem: impl Into<String>) -> Self {
        Self::Invalid {
            key,
            problem: problem.into(),
        }
    }
}

/// Why a message was not sent. The text is lettre's description (which may quote the server's
/// reply) with the recipient address and the SMTP password blanked out.
///
/// The outbox retries [`SendError::Transient`] with backoff and gives up on
/// [`SendError::Permanent`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Worth retrying later: connection refused or reset, timeout, TLS or protocol failure, a
    /// 4xx reply.
    #[error("mail not sent (will retry): {0}")]
    Transient(String),
    /// Retrying will not help: a 5xx reply (including a refused login) or an unusable
    /// recipient address.
    #[error("mail not sent (permanent): {0}")]
    Permanent(String),
}

impl SendError {
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Transient(_))
    }

    pub fn detail(&self) -> &str {
        match self {
            Self::Transient(s) | Self::Permanent(s) => s,
        }
    }
}
