//! The SMTP login, read from `mail.credentials_file`. Its content never appears in an error.

use std::fs;
use std::path::Path;

use secrecy::SecretString;
use zeroize::Zeroizing;

use crate::MailError;

pub(crate) struct SmtpLogin {
    pub(crate) user: String,
    pub(crate) password: SecretString,
}

impl std::fmt::Debug for SmtpLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpLogin").finish_non_exhaustive()
    }
}

/// Reads `user:password` from the first line of `path` (split at the first `:`, so the
/// password may contain `:`), refusing a file that group or others may access.
pub(crate) fn read(path: &Path) -> Result<SmtpLogin, MailError> {
    let unreadable = |source| MailError::CredentialsUnreadable {
        path: path.to_owned(),
        source,
    };
    let meta = fs::metadata(path).map_err(unreadable)?;
    check_private(path, &meta)?;
    let bytes = Zeroizing::new(fs::read(path).map_err(unreadable)?);
    let malformed = || MailError::CredentialsMalformed {
        path: path.to_owned(),
    };
    let text = std::str::from_utf8(&bytes).map_err(|_| malformed())?;
    let line = text.split('\n').next().unwrap_or_default();
    let line = line.strip_suffix('\r').unwrap_or(line);
    match line.split_once(':') {
        Some((user, password)) if !user.is_empty() && !password.is_empty() => Ok(SmtpLogin {
            user: user.to_owned(),
            password: SecretString::from(password),
        }),
        _ => Err(malformed()),
    }
}

#[cfg(unix)]
fn check_private(path: &Path, meta: &fs::Metadata) -> Result<(), MailError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(MailError::CredentialsLoose {
            path: path.to_owned(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path, _meta: &fs::Metadata) -> Result<(), MailError> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use secrecy::ExposeSecret;

    use super::*;

    fn file(content: &str, mode: u32) -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().unwrap();
        fs::write(f.path(), content).unwrap();
        fs::set_permissions(f.path(), fs::Permissions::from_mode(mode)).unwrap();
        f
    }

    #[test]
    fn reads_user_and_password_from_the_first_line() {
        let f = file("mailer:pa:ss:word\r\nignored:line\n", 0o600);
        let login = read(f.path()).unwrap();
        assert_eq!(login.user, "mailer");
        assert_eq!(login.password.expose_secret(), "pa:ss:word");
        assert!(!format!("{login:?}").contains("pa:ss"));

        let f = file("mailer:secret", 0o400);
        assert_eq!(read(f.path()).unwrap().password.expose_secret(), "secret");
    }

    #[test]
    fn refuses_loose_permissions() {
        for mode in [0o644, 0o640, 0o604, 0o660, 0o620] {
            let f = file("mailer:secret", mode);
            let err = read(f.path()).unwrap_err();
            assert!(
                matches!(err, MailError::CredentialsLoose { .. }),
                "{mode:o}: {err}"
            );
            assert_eq!(err.key(), "credentials_file");
            let msg = err.to_string();
            assert!(
                msg.contains("chmod 600") && msg.contains(&format!("{mode:04o}")),
                "{msg}"
            );
            assert!(!msg.contains("secret"));
        }
    }

    #[test]
    fn refuses_malformed_content_without_quoting_it() {
        for content in [
            "",
            "\nmailer:secret",
            "mailer",
            "mailer:",
            ":secret",
            "secretpassword\n",
        ] {
            let f = file(content, 0o600);
            let err = read(f.path()).unwrap_err();
            assert!(
                matches!(err, MailError::CredentialsMalformed { .. }),
                "{content:?}: {err}"
            );
            assert!(err.to_string().contains("user:password"));
            assert!(!err.to_string().contains("secret"));
        }
    }

    #[test]
    fn missing_file_names_the_key_and_keeps_the_cause() {
        let err = read(Path::new("/nonexistent/redress-smtp")).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("mail.credentials_file: cannot read /nonexistent/redress-smtp")
        );
        assert!(std::error::Error::source(&err).is_some());
    }
}
