use std::time::{Duration, Instant};

use redress_mail::{Mailer, SendError, sink};

use crate::helpers::{TO, assigned, config, credentials_file};

fn assert_no_recipient(err: &SendError) {
    assert!(!err.to_string().contains(TO), "{err}");
    assert!(!format!("{err:?}").contains(TO), "{err:?}");
}

#[tokio::test]
async fn reply_451_is_transient_and_the_retry_goes_through() {
    let sink = sink::start().await.unwrap();
    let mailer = Mailer::new(&config(&sink)).unwrap();
    sink.fail_next(451, 1);
    let err = mailer.send(TO, &assigned()).await.unwrap_err();
    assert!(matches!(err, SendError::Transient(_)), "{err}");
    assert!(err.detail().contains("451"), "{err}");
    assert!(
        err.detail().contains("[recipient]"),
        "the sink quotes the address: {err}"
    );
    assert_no_recipient(&err);
    assert!(sink.messages().is_empty());

    mailer.send(TO, &assigned()).await.unwrap();
    assert_eq!(sink.messages().len(), 1);
}

#[tokio::test]
async fn reply_550_is_permanent() {
    let sink = sink::start().await.unwrap();
    let mailer = Mailer::new(&config(&sink)).unwrap();
    sink.fail_next(550, 2);
    for _ in 0..2 {
        let err = mailer.send(TO, &assigned()).await.unwrap_err();
        assert!(matches!(err, SendError::Permanent(_)), "{err}");
        assert!(!err.is_transient());
        assert!(err.detail().contains("550"), "{err}");
        assert_no_recipient(&err);
    }
    assert!(sink.messages().is_empty());
}

#[tokio::test]
async fn connection_refused_is_transient() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let sink = sink::start().await.unwrap();
    let cfg = redress_mail::MailConfig {
        smtp_url: format!("smtp://127.0.0.1:{port}"),
        ..config(&sink)
    };
    let err = Mailer::new(&cfg)
        .unwrap()
        .send(TO, &assigned())
        .await
        .unwrap_err();
    assert!(matches!(err, SendError::Transient(_)), "{err}");
}

#[tokio::test]
async fn a_stalled_server_is_transient_within_the_timeout() {
    let sink = sink::start().await.unwrap();
    sink.stall(true);
    let mailer = Mailer::new(&redress_mail::MailConfig {
        timeout_secs: 1,
        ..config(&sink)
    })
    .unwrap();
    let started = Instant::now();
    let err = mailer.send(TO, &assigned()).await.unwrap_err();
    let took = started.elapsed();
    assert!(matches!(err, SendError::Transient(_)), "{err}");
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(3),
        "{took:?}"
    );
    assert!(sink.messages().is_empty());
}

#[tokio::test]
async fn unusable_recipients_are_permanent_and_never_sent() {
    let sink = sink::start().await.unwrap();
    let mailer = Mailer::new(&config(&sink)).unwrap();
    for to in [
        "",
        "investigator",
        "Investigator <investigator@example.net>",
        "investigator@example.net\r\nBcc: leak@example.com",
        "investigator@example.net, leak@example.com",
    ] {
        let err = mailer.send(to, &assigned()).await.unwrap_err();
        assert!(matches!(err, SendError::Permanent(_)), "{to:?}: {err}");
        if !to.is_empty() {
            assert!(!err.to_string().contains(to), "{err}");
        }
    }
    assert!(
        sink.transcript().is_empty(),
        "no connection is made for a bad recipient"
    );
}

#[tokio::test]
async fn the_login_from_the_credentials_file_is_used() {
    let sink = sink::start().await.unwrap();
    sink.require_login("mailer", "pa:ss word");
    let (_dir, path) = credentials_file("mailer:pa:ss word\n", 0o600);
    let mailer = Mailer::new(&redress_mail::MailConfig {
        credentials_file: path,
        ..config(&sink)
    })
    .unwrap();
    mailer.send(TO, &assigned()).await.unwrap();
    assert_eq!(sink.messages()[0].auth_user.as_deref(), Some("mailer"));
    assert!(!format!("{mailer:?}").contains("pa:ss"));
}

#[tokio::test]
async fn a_refused_login_is_permanent_and_does_not_show_the_password() {
    let sink = sink::start().await.unwrap();
    sink.require_login("mailer", "the-right-one");
    let password = "Tr0ub4dor:&3-wrong";
    let (_dir, path) = credentials_file(&format!("mailer:{password}"), 0o600);
    let mailer = Mailer::new(&redress_mail::MailConfig {
        credentials_file: path,
        ..config(&sink)
    })
    .unwrap();
    let err = mailer.send(TO, &assigned()).await.unwrap_err();
    assert!(matches!(err, SendError::Permanent(_)), "{err}");
    assert!(err.detail().contains("535"), "{err}");
    for shown in [err.to_string(), format!("{err:?}"), format!("{mailer:?}")] {
        assert!(
            !shown.contains(password) && !shown.contains("Tr0ub4dor"),
            "{shown}"
        );
    }
    assert!(sink.messages().is_empty());
}

#[tokio::test]
async fn starttls_required_refuses_a_server_without_it() {
    let sink = sink::start().await.unwrap();
    sink.require_login("mailer", "secret");
    let (_dir, path) = credentials_file("mailer:secret", 0o600);
    let cfg = redress_mail::MailConfig {
        smtp_url: format!("smtp://{}?tls=required", sink.addr),
        credentials_file: path,
        ..config(&sink)
    };
    let err = Mailer::new(&cfg)
        .unwrap()
        .send(TO, &assigned())
        .await
        .unwrap_err();
    assert!(matches!(err, SendError::Transient(_)), "{err}");
    let transcript = sink.transcript();
    assert!(
        !transcript.contains("AUTH") && !transcript.contains("MAIL FROM"),
        "{transcript}"
    );
    assert!(sink.messages().is_empty());
}

#[tokio::test]
async fn smtps_does_not_fall_back_to_plain_text() {
    let sink = sink::start().await.unwrap();
    let cfg = redress_mail::MailConfig {
        smtp_url: format!("smtps://{}", sink.addr),
        ..config(&sink)
    };
    let err = Mailer::new(&cfg)
        .unwrap()
        .send(TO, &assigned())
        .await
        .unwrap_err();
    assert!(matches!(err, SendError::Transient(_)), "{err}");
    assert!(!sink.transcript().contains("EHLO"));
    assert!(sink.messages().is_empty());
}
