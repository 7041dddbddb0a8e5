//! The `[mail]` settings and the checks [`Mailer::new`](crate::Mailer::new) runs on them.

use std::net::IpAddr;
use std::time::Duration;

use lettre::message::Mailbox;
use serde::{Deserialize, Serialize};
use url::{Host, Url};

use crate::MailError;

/// The `[mail]` section of the configuration. Nothing here is secret: the SMTP password lives
/// in `credentials_file`.
///
/// `smtp_url` follows lettre's `from_url`, restricted to the safe forms:
///
/// | `smtp_url`                           | connection                       | default port |
/// |--------------------------------------|----------------------------------|--------------|
/// | `smtps://HOST[:PORT]`                | implicit TLS from the first byte | 465          |
/// | `smtp://HOST[:PORT]?tls=required`    | plain, then STARTTLS (required)  | 587          |
/// | `smtp://HOST[:PORT]`                 | plain text: loopback hosts only  | 25           |
///
/// Certificates are checked against the Mozilla roots compiled in (webpki-roots). Refused:
/// plain text to any host but `localhost`, `127.0.0.0/8` or `::1`; `tls=opportunistic`
/// (silently falls back to plain text); a user or password in the URL (use
/// `credentials_file`); a path (lettre would take it as the EHLO name: use `ehlo_name`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailConfig {
    pub smtp_url: String,
    /// `""` for no login; otherwise a file (mode 0600 or stricter) whose first line is
    /// `user:password`. The password may contain `:`.
    pub credentials_file: String,
    /// The sender, e.g. `Redress <redress@example.org>`; also the envelope sender.
    pub from: String,
    /// The name said in EHLO. Never defaults to the machine's host name.
    pub ehlo_name: String,
    /// Message-IDs are `<random-uuid@message_id_domain>`.
    pub message_id_domain: String,
    /// Links are `portal_base_url + "/cases/" + case_ref`; https unless the host is loopback.
    pub portal_base_url: String,
    /// Upper bound for one whole delivery: connect, TLS, login and the SMTP dialogue.
    pub timeout_secs: u64,
}

impl Default for MailConfig {
    fn default() -> Self {
        Self {
            smtp_url: String::new(),
            credentials_file: String::new(),
            from: String::new(),
            ehlo_name: String::new(),
            message_id_domain: String::new(),
            portal_base_url: String::new(),
            timeout_secs: 30,
        }
    }
}

/// Whether the SMTP connection is encrypted (used to refuse plain text off the machine).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Security {
    Plain,
    StartTls,
    Tls,
}

pub(crate) fn check_smtp_url(value: &str) -> Result<Security, MailError> {
    let bad = |problem: &str| MailError::invalid("smtp_url", problem);
    if value.trim().is_empty() {
        return Err(bad("is empty (e.g. smtps://mail.example.org:465)"));
    }
    // The value is never echoed: it might hold a password.
    let url = Url::parse(value).map_err(|_| bad("is not a URL (e.g. smtps://mail.example.org:465)"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad(
            "must not contain a user name or password: put them in mail.credentials_file",
        ));
    }
    let Some(host) = url.host() else {
        return Err(bad("has no host"));
    };
    if !matches!(url.path(), "" | "/") {
        return Err(bad(
            "must not have a path (the EHLO name is set by mail.ehlo_name)",
        ));
    }
    if url.fragment().is_some() {
        return Err(bad("must not have a #fragment"));
    }
    let query: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    let tls = match query.as_slice() {
        [] => None,
        [(k, v)] if k == "tls" => Some(v.as_str()),
        _ => return Err(bad("takes no query parameter but tls=required")),
    };
    let security = match (url.scheme(), tls) {
        ("smtps", None) => Security::Tls,
        ("smtp", Some("required")) => Security::StartTls,
        ("smtp", None) => Security::Plain,
        ("smtp", Some("opportunistic")) => {
            return Err(bad(
                "tls=opportunistic falls back to plain text without telling: use tls=required",
            ));
        }
        ("smtps", Some(_)) => return Err(bad("smtps:// is always TLS: drop the tls parameter")),
        ("smtp", Some(_)) => return Err(bad("tls must be required (or use smtps://)")),
        _ => return Err(bad("must start with smtps:// or smtp://")),
    };
    if security == Security::Plain && !is_loopback(&host) {
        return Err(bad(
            "plain smtp:// is only allowed to a relay on this machine (localhost, 127.0.0.1, ::1): \
             use smtps://HOST:465 or smtp://HOST:587?tls=required",
        ));
    }
    Ok(security)
}

pub(crate) fn check_from(value: &str) -> Result<Mailbox, MailError> {
    value.trim().parse().map_err(|_| {
        MailError::invalid(
            "from",
            format!("{value:?} is not a mail address (e.g. \"Redress <redress@example.org>\")"),
        )
    })
}

/// A DNS name: dot-separated labels of letters, digits and inner hyphens. This is what goes
/// into EHLO and Message-ID, so nothing else (spaces, line breaks, `@`, `>`) may pass.
pub(crate) fn check_domain(key: &'static str, value: &str) -> Result<String, MailError> {
    let label_ok = |l: &str| {
        (1..=63).contains(&l.len())
            && l.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if value.is_empty() {
        return Err(MailError::invalid(key, "is empty (e.g. mail.example.org)"));
    }
    if value.len() > 253 || !value.split('.').all(label_ok) {
        return Err(MailError::invalid(
            key,
            format!("{value:?} is not a domain name (e.g. mail.example.org)"),
        ));
    }
    Ok(value.to_owned())
}

/// Returns the base URL without a trailing `/`.
pub(crate) fn check_portal_base_url(value: &str) -> Result<String, MailError> {
    let bad = |problem: String| MailError::invalid("portal_base_url", problem);
    let example = "(e.g. https://portal.example.org)";
    if value.is_empty() {
        return Err(bad(format!("is empty {example}")));
    }
    // The URL parser drops tabs and line breaks; a link must be exactly what was configured.
    if !value.bytes().all(|c| c.is_ascii_graphic()) {
        return Err(bad(format!(
            "{value:?} contains spaces, control or non-ASCII characters"
        )));
    }
    let url = Url::parse(value).map_err(|_| bad(format!("{value:?} is not a URL {example}")))?;
    let Some(host) = url.host() else {
        return Err(bad(format!("{value:?} has no host {example}")));
    };
    if !url.username().is_empty() || url.password().is_some() || url.query().is_some() {
        return Err(bad(format!(
            "{value:?} must not contain a user, password or ?query"
        )));
    }
    if url.fragment().is_some() {
        return Err(bad(format!("{value:?} must not contain a #fragment")));
    }
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&host) => {}
        "http" => {
            return Err(bad(format!(
                "{value:?} must use https (http only for loopback hosts)"
            )));
        }
        _ => return Err(bad(format!("{value:?} must start with https:// {example}"))),
    }
    Ok(value.trim_end_matches('/').to_owned())
}

pub(crate) fn check_timeout(secs: u64) -> Result<Duration, MailError> {
    match secs {
        0 => Err(MailError::invalid("timeout_secs", "must be at least 1")),
        s => Ok(Duration::from_secs(s)),
    }
}

fn is_loopback(host: &Host<&str>) -> bool {
    match host {
        // smtp:// is not a "special" URL scheme, so its IP addresses arrive as opaque names.
        Host::Domain(d) => match d.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
            Ok(ip) => ip.is_loopback(),
            Err(_) => d.eq_ignore_ascii_case("localhost"),
        },
        Host::Ipv4(ip) => IpAddr::V4(*ip).is_loopback(),
        Host::Ipv6(ip) => IpAddr::V6(*ip).is_loopback(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn smtp_problem(url: &str) -> String {
        let err = check_smtp_url(url).unwrap_err();
        assert_eq!(err.key(), "smtp_url");
        err.to_string()
    }

    #[test]
    fn smtp_url_schemes_map_to_security() {
        assert_eq!(check_smtp_url("smtps://mail.example.org").unwrap(), Security::Tls);
        assert_eq!(
            check_smtp_url("smtps://mail.example.org:465/").unwrap(),
            Security::Tls
        );
        assert_eq!(
            check_smtp_url("smtp://mail.example.org:587?tls=required").unwrap(),
            Security::StartTls
        );
        assert_eq!(check_smtp_url("smtp://127.0.0.1:25").unwrap(), Security::Plain);
        assert_eq!(check_smtp_url("smtp://localhost:2525").unwrap(), Security::Plain);
        assert_eq!(check_smtp_url("smtp://[::1]:25").unwrap(), Security::Plain);
        assert_eq!(check_smtp_url("smtp://127.0.0.2").unwrap(), Security::Plain);
    }

    #[test]
    fn unsafe_or_odd_smtp_urls_are_refused_without_echoing_them() {
        assert!(smtp_problem("smtp://mail.example.org:25").contains("plain smtp://"));
        assert!(smtp_problem("smtp://10.0.0.1").contains("plain smtp://"));
        assert!(smtp_problem("smtp://mail.example.org?tls=opportunistic").contains("tls=required"));
        assert!(smtp_problem("smtp://mail.example.org?tls=yes").contains("tls must be required"));
        assert!(smtp_problem("smtps://mail.example.org?tls=required").contains("drop the tls"));
        assert!(smtp_problem("smtp://mail.example.org?tls=required&x=1").contains("query"));
        assert!(smtp_problem("smtps://mail.example.org/my-laptop").contains("ehlo_name"));
        assert!(smtp_problem("smtps://mail.example.org#x").contains("fragment"));
        assert!(smtp_problem("http://mail.example.org").contains("smtps://"));
        assert!(smtp_problem("").contains("empty"));
        assert!(smtp_problem("mail.example.org").contains("not a URL"));
        let with_secret = smtp_problem("smtps://bob:hunter22@mail.example.org");
        assert!(with_secret.contains("credentials_file"));
        assert!(!with_secret.contains("hunter22"));
        assert!(!smtp_problem("smtps://:hunter22@mail.example.org").contains("hunter22"));
    }

    #[test]
    fn domains_are_plain_dns_names() {
        assert_eq!(
            check_domain("ehlo_name", "mail.example.org").unwrap(),
            "mail.example.org"
        );
        assert_eq!(check_domain("ehlo_name", "redress").unwrap(), "redress");
        for bad in [
            "",
            "a b",
            "a..b",
            ".a",
            "a.",
            "-a.org",
            "a-.org",
            "a@b",
            "a>b",
            "x\r\nRCPT TO:<y>",
            "ä.org",
        ] {
            let err = check_domain("message_id_domain", bad).unwrap_err();
            assert_eq!(err.key(), "message_id_domain", "{bad:?}");
            assert!(err.to_string().starts_with("mail.message_id_domain: "), "{err}");
        }
        assert!(check_domain("ehlo_name", &"a".repeat(64)).is_err());
    }

    #[test]
    fn portal_base_url_is_https_or_loopback_http() {
        let ok = |v: &str| check_portal_base_url(v).unwrap();
        assert_eq!(ok("https://portal.example.org"), "https://portal.example.org");
        assert_eq!(ok("https://portal.example.org/"), "https://portal.example.org");
        assert_eq!(ok("https://example.org/redress/"), "https://example.org/redress");
        assert_eq!(ok("http://127.0.0.1:8081"), "http://127.0.0.1:8081");
        for bad in [
            "",
            "portal.example.org",
            "http://portal.example.org",
            "https://portal.example.org/?x=1",
            "https://portal.example.org/#x",
            "https://u:p@portal.example.org",
            "https://portal\n.example.org",
            "https://portal.example.org/ x",
            "javascript:alert(1)",
            "mailto:x@example.org",
        ] {
            assert_eq!(
                check_portal_base_url(bad).unwrap_err().key(),
                "portal_base_url",
                "{bad:?}"
            );
        }
    }

    #[test]
    fn from_and_timeout() {
        assert_eq!(
            check_from("Redress <redress@example.org>")
                .unwrap()
                .email
                .to_string(),
            "redress@example.org"
        );
        assert!(
            check_from("redress")
                .unwrap_err()
                .to_string()
                .starts_with("mail.from: ")
        );
        assert!(
            check_timeout(0)
                .unwrap_err()
                .to_string()
                .starts_with("mail.timeout_secs: ")
        );
        assert_eq!(check_timeout(5).unwrap(), Duration::from_secs(5));
    }
}
