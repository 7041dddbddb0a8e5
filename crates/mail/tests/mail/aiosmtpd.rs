//! Delivery to a real SMTP server: Debian's python3-aiosmtpd. Skipped when it is missing,
//! unless REDRESS_REQUIRE_ALL=1.

use std::process::Stdio;
use std::time::Duration;

use redress_mail::{MailConfig, Mailer};
use tokio::io::AsyncReadExt;
use tokio::process::Command;

use crate::helpers::{TO, assigned};

/// Debian's interpreter first: a python3 earlier on PATH (pyenv, venv) may lack the module.
fn python_with_aiosmtpd() -> Option<&'static str> {
    ["/usr/bin/python3", "python3"].into_iter().find(|python| {
        std::process::Command::new(python)
            .args(["-c", "import aiosmtpd"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

#[tokio::test]
async fn aiosmtpd_receives_a_notice() {
    let Some(python) = python_with_aiosmtpd() else {
        assert!(
            std::env::var("REDRESS_REQUIRE_ALL").as_deref() != Ok("1"),
            "REDRESS_REQUIRE_ALL=1 but python3-aiosmtpd is not installed"
        );
        println!("SKIPPED: aiosmtpd_receives_a_notice (python3-aiosmtpd not installed)");
        return;
    };
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut server = Command::new(python)
        .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
        .env("PYTHONUNBUFFERED", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut ready = false;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "aiosmtpd did not start listening");

    let cfg = MailConfig {
        smtp_url: format!("smtp://127.0.0.1:{port}"),
        credentials_file: String::new(),
        from: "Redress <redress@example.org>".into(),
        ehlo_name: "notify.redress.test".into(),
        message_id_domain: "mid.redress.test".into(),
        portal_base_url: "https://portal.example.org".into(),
        timeout_secs: 10,
    };
    let id = Mailer::new(&cfg).unwrap().send(TO, &assigned()).await.unwrap();

    // The default (Debugging) handler prints each message; read until ours has been printed.
    let mut stdout = server.stdout.take().unwrap();
    let mut printed = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !printed.contains("END MESSAGE") && tokio::time::Instant::now() < deadline {
        let mut buf = [0u8; 4096];
        match tokio::time::timeout(Duration::from_millis(500), stdout.read(&mut buf)).await {
            Ok(Ok(0)) => break,
            Ok(Ok(n)) => printed.push_str(&String::from_utf8_lossy(&buf[..n])),
            Ok(Err(e)) => panic!("reading aiosmtpd output: {e}"),
            Err(_) => {}
        }
    }
    server.start_kill().unwrap();
    assert!(printed.contains(id.as_str()), "{printed}");
    assert!(
        printed.contains("https://portal.example.org/cases/RD-7K3M-Q9XA"),
        "{printed}"
    );
    assert!(
        printed.contains("Subject: Case RD-7K3M-Q9XA has been assigned to you"),
        "{printed}"
    );
}
