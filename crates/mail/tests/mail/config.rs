use redress_mail::{MailConfig, MailError, Mailer, sink};

use crate::helpers::{config, credentials_file};

async fn refused(change: impl FnOnce(&mut MailConfig)) -> MailError {
    let sink = sink::start().await.unwrap();
    let mut cfg = config(&sink);
    change(&mut cfg);
    Mailer::new(&cfg).unwrap_err()
}

#[tokio::test]
async fn each_bad_setting_is_named_in_its_error() {
    type Change = Box<dyn FnOnce(&mut MailConfig)>;
    let cases: Vec<(&str, Change)> = vec![
        (
            "smtp_url",
            Box::new(|c| c.smtp_url = "smtp://mail.example.org:25".into()),
        ),
        ("smtp_url", Box::new(|c| c.smtp_url = "not a url".into())),
        ("smtp_url", Box::new(|c| c.smtp_url = String::new())),
        ("from", Box::new(|c| c.from = "Redress".into())),
        (
            "from",
            Box::new(|c| c.from = "redress@example.org\r\nBcc: x@example.com".into()),
        ),
        ("ehlo_name", Box::new(|c| c.ehlo_name = String::new())),
        ("ehlo_name", Box::new(|c| c.ehlo_name = "my laptop".into())),
        (
            "message_id_domain",
            Box::new(|c| c.message_id_domain = String::new()),
        ),
        (
            "message_id_domain",
            Box::new(|c| c.message_id_domain = "x>\r\nBcc: y".into()),
        ),
        (
            "portal_base_url",
            Box::new(|c| c.portal_base_url = "http://portal.example.org".into()),
        ),
        ("portal_base_url", Box::new(|c| c.portal_base_url = String::new())),
        ("timeout_secs", Box::new(|c| c.timeout_secs = 0)),
        (
            "credentials_file",
            Box::new(|c| c.credentials_file = "/nonexistent/smtp-login".into()),
        ),
    ];
    for (key, change) in cases {
        let err = refused(change).await;
        assert_eq!(err.key(), key, "{err}");
        assert!(err.to_string().starts_with(&format!("mail.{key}")), "{err}");
    }
}

#[tokio::test]
async fn a_credentials_file_readable_by_others_is_refused() {
    let (_dir, path) = credentials_file("mailer:secret", 0o644);
    let err = refused(|c| c.credentials_file = path).await;
    assert!(
        matches!(err, MailError::CredentialsLoose { mode: 0o644, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("chmod 600"), "{err}");
    assert!(!err.to_string().contains("secret"));
}

#[tokio::test]
async fn a_url_with_a_password_is_refused_without_showing_it() {
    let err = refused(|c| c.smtp_url = "smtps://mailer:hunter22@mail.example.org".into()).await;
    assert_eq!(err.key(), "smtp_url");
    assert!(err.to_string().contains("credentials_file"), "{err}");
    assert!(!format!("{err} {err:?}").contains("hunter22"));
}

#[tokio::test]
async fn tls_urls_are_accepted_without_connecting() {
    let sink = sink::start().await.unwrap();
    for url in [
        "smtps://mail.example.org",
        "smtps://mail.example.org:465",
        "smtp://mail.example.org:587?tls=required",
    ] {
        Mailer::new(&MailConfig {
            smtp_url: url.into(),
            ..config(&sink)
        })
        .unwrap();
    }
}

#[test]
fn the_mail_section_parses_and_rejects_unknown_keys() {
    let text = r#"
        smtp_url = "smtps://mail.example.org:465"
        credentials_file = "/etc/redress/smtp-login"
        from = "Redress <redress@example.org>"
        ehlo_name = "redress.example.org"
        message_id_domain = "redress.example.org"
        portal_base_url = "https://portal.example.org"
        timeout_secs = 20
    "#;
    let cfg: MailConfig = toml::from_str(text).unwrap();
    assert_eq!(cfg.timeout_secs, 20);
    assert_eq!(cfg.credentials_file, "/etc/redress/smtp-login");

    let partial: MailConfig = toml::from_str(r#"smtp_url = "smtps://mail.example.org""#).unwrap();
    assert_eq!(partial.timeout_secs, MailConfig::default().timeout_secs);

    let err = toml::from_str::<MailConfig>("smtp_url = \"smtps://m.example.org\"\nsmtp_password = \"x\"")
        .unwrap_err();
    assert!(err.to_string().contains("smtp_password"), "{err}");
}
