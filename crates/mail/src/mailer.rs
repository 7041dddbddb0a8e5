use std::path::Path;
use std::time::{Duration, SystemTime};

use lettre::message::{Mailbox, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::extension::ClientId;
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use crate::config::{check_domain, check_from, check_portal_base_url, check_smtp_url, check_timeout};
use crate::{MailConfig, MailError, Notice, SendError, credentials, render};

/// The Message-ID a notice was sent with, `<uuid@message_id_domain>` (angle brackets included).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SentId(String);

impl SentId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for SentId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Sends [`Notice`]s over SMTP, one connection per message. Cheap to share behind an `Arc`.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    message_id_domain: String,
    portal_base_url: String,
    timeout: Duration,
    /// Kept only to blank it out of error text.
    password: Option<SecretString>,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Mailer {
    /// Checks every setting (see [`MailConfig`]) and reads the credentials file. Opens no
    /// connection.
    pub fn new(cfg: &MailConfig) -> Result<Mailer, MailError> {
        check_smtp_url(&cfg.smtp_url)?;
        let from = check_from(&cfg.from)?;
        let ehlo_name = check_domain("ehlo_name", &cfg.ehlo_name)?;
        let message_id_domain = check_domain("message_id_domain", &cfg.message_id_domain)?;
        let portal_base_url = check_portal_base_url(&cfg.portal_base_url)?;
        let timeout = check_timeout(cfg.timeout_secs)?;
        let login = match cfg.credentials_file.trim() {
            "" => None,
            path => Some(credentials::read(Path::new(path))?),
        };

        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(&cfg.smtp_url)
            .map_err(MailError::Transport)?
            // Explicit: with its `hostname` feature on (anywhere in the build), lettre would
            // say the machine's host name in EHLO.
            .hello_name(ClientId::Domain(ehlo_name))
            .timeout(Some(timeout));
        let mut password = None;
        if let Some(credentials::SmtpLogin {
            user,
            password: secret,
        }) = login
        {
            builder = builder.credentials(Credentials::new(user, secret.expose_secret().to_owned()));
            password = Some(secret);
        }
        Ok(Mailer {
            transport: builder.build(),
            from,
            message_id_domain,
            portal_base_url,
            timeout,
            password,
        })
    }

    /// Sends `notice` to the bare address `to` (`name@example.org`, no display name) and
    /// returns the Message-ID used. The whole delivery is bounded by `timeout_secs`.
    pub async fn send(&self, to: &str, notice: &Notice) -> Result<SentId, SendError> {
        let id = format!("<{}@{}>", Uuid::new_v4(), self.message_id_domain);
        self.send_with_id(to, notice, &id).await
    }

    /// Like [`Mailer::send`], with a Message-ID chosen by the caller: an outbox fixes the
    /// id when it queues a message, so a resend after a crash is recognisably the same
    /// message. The id must look like `<local@domain>` with no spaces or control
    /// characters.
    pub async fn send_with_id(
        &self,
        to: &str,
        notice: &Notice,
        message_id: &str,
    ) -> Result<SentId, SendError> {
        let well_formed = message_id.starts_with('<')
            && message_id.ends_with('>')
            && message_id.len() <= 250
            && message_id.contains('@')
            && !message_id.chars().any(|c| c.is_whitespace() || c.is_control());
        if !well_formed {
            return Err(SendError::Permanent("the Message-ID is not well formed".into()));
        }
        let address: Address = to
            .parse()
            .map_err(|_| SendError::Permanent("the recipient address is not valid".into()))?;
        let id = SentId(message_id.to_owned());
        let rendered = render(notice, &self.portal_base_url);
        let message = Message::builder()
            // Explicit: lettre would otherwise make one up, with the machine's host name if its
            // `hostname` feature is on anywhere in the build.
            .message_id(Some(id.0.clone()))
            .date(SystemTime::now())
            .from(self.from.clone())
            .to(Mailbox::new(None, address))
            .subject(rendered.subject)
            .singlepart(SinglePart::plain(rendered.text))
            .map_err(|e| SendError::Permanent(format!("cannot build the message: {e}")))?;
        match tokio::time::timeout(self.timeout, self.transport.send(message)).await {
            Ok(Ok(_)) => Ok(id),
            Ok(Err(e)) => {
                let text = self.scrub(&e.to_string(), to);
                Err(if e.is_permanent() {
                    SendError::Permanent(text)
                } else {
                    SendError::Transient(text)
                })
            }
            Err(_) => Err(SendError::Transient(format!(
                "the SMTP server did not complete the delivery within {} s",
                self.timeout.as_secs()
            ))),
        }
    }

    /// Blanks the recipient and the password out of `text` (a server may quote either).
    fn scrub(&self, text: &str, recipient: &str) -> String {
        let text = blank_out(text, recipient, "[recipient]");
        match &self.password {
            Some(p) => blank_out(&text, p.expose_secret(), "[password]"),
            None => text,
        }
    }
}

/// Replaces every occurrence of `secret` in `text`, ignoring ASCII case.
fn blank_out(text: &str, secret: &str, with: &str) -> String {
    if secret.is_empty() {
        return text.to_owned();
    }
    // ASCII lower-casing keeps every byte offset, so positions found in `lower` fit `text`.
    let lower = text.to_ascii_lowercase();
    let needle = secret.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    while let Some(found) = lower[at..].find(&needle) {
        out.push_str(&text[at..at + found]);
        out.push_str(with);
        at += found + needle.len();
    }
    out.push_str(&text[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_out_ignores_case_and_keeps_the_rest() {
        assert_eq!(
            blank_out("550 <Bob@Example.org> unknown", "bob@example.org", "<r>"),
            "550 <<r>> unknown"
        );
        assert_eq!(blank_out("x hunter2 y hunter2", "hunter2", "*"), "x * y *");
        assert_eq!(blank_out("nothing", "", "*"), "nothing");
        assert_eq!(blank_out("ünïcode pw", "pw", "*"), "ünïcode *");
    }
}
