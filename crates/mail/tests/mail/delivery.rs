use std::collections::BTreeSet;

use redress_mail::{Mailer, render, sink};

use crate::helpers::{TO, assigned, config, every_notice, hostname, mentions_host};

#[tokio::test]
async fn case_assigned_arrives_with_only_the_configured_identity() {
    let sink = sink::start().await.unwrap();
    let mailer = Mailer::new(&config(&sink)).unwrap();
    let id = mailer.send(TO, &assigned()).await.unwrap();

    let received = sink.messages();
    assert_eq!(received.len(), 1);
    let m = &received[0];
    assert_eq!(m.ehlo, "notify.redress.test");
    assert_eq!(m.mail_from, "redress@example.org");
    assert_eq!(m.rcpt_to, vec![TO.to_owned()]);
    assert_eq!(m.auth_user, None);

    let message_id = m.header("Message-ID").unwrap();
    assert_eq!(message_id, id.as_str());
    let uuid = message_id
        .strip_prefix('<')
        .unwrap()
        .strip_suffix("@mid.redress.test>")
        .unwrap();
    assert_eq!(uuid::Uuid::parse_str(uuid).unwrap().get_version_num(), 4);
    assert_eq!(m.header("From").unwrap(), "Redress <redress@example.org>");
    assert_eq!(m.header("To").unwrap(), TO);
    assert!(
        m.header("Date").unwrap().ends_with(" +0000"),
        "{:?}",
        m.header("Date")
    );
    assert_eq!(m.header("Content-Type").unwrap(), "text/plain; charset=utf-8");

    // Nothing but these headers: no User-Agent, X-Mailer, Cc, Bcc or Reply-To.
    let names: BTreeSet<String> = m
        .headers()
        .into_iter()
        .map(|(n, _)| n.to_ascii_lowercase())
        .collect();
    let expected = [
        "content-transfer-encoding",
        "content-type",
        "date",
        "from",
        "message-id",
        "mime-version",
    ]
    .into_iter()
    .chain(["subject", "to"])
    .map(String::from)
    .collect();
    assert_eq!(names, expected);

    // The subject and body are exactly the fixed wording: case ref and portal link only.
    let rendered = render(&assigned(), "https://portal.example.org");
    assert_eq!(
        m.header("Subject").unwrap(),
        "Case RD-7K3M-Q9XA has been assigned to you"
    );
    assert_eq!(m.header("Content-Transfer-Encoding").unwrap(), "7bit");
    // lettre ends the part and the DATA with line breaks of its own: compare up to them.
    assert_eq!(
        m.body().replace("\r\n", "\n").trim_end(),
        rendered.text.trim_end()
    );
    assert!(
        m.body()
            .contains("https://portal.example.org/cases/RD-7K3M-Q9XA\r\n")
    );
    assert!(m.text().is_ascii());
}

#[tokio::test]
async fn neither_the_message_nor_the_dialogue_names_this_machine() {
    let host = hostname();
    assert!(!host.is_empty());
    let sink = sink::start().await.unwrap();
    let mailer = Mailer::new(&config(&sink)).unwrap();
    for notice in every_notice() {
        mailer.send(TO, &notice).await.unwrap();
    }
    let transcript = sink.transcript();
    assert!(
        transcript.contains("EHLO notify.redress.test\r\n"),
        "{transcript}"
    );
    assert!(
        !mentions_host(&transcript, &host),
        "host name {host:?} in:\n{transcript}"
    );
    for m in sink.messages() {
        assert!(
            !mentions_host(&m.text(), &host),
            "host name {host:?} in:\n{}",
            m.text()
        );
        assert_eq!(m.ehlo, "notify.redress.test");
    }
}

#[tokio::test]
async fn every_notice_is_delivered_in_its_own_words() {
    let sink = sink::start().await.unwrap();
    let mailer = Mailer::new(&config(&sink)).unwrap();
    let mut ids = BTreeSet::new();
    for notice in every_notice() {
        ids.insert(mailer.send(TO, &notice).await.unwrap().to_string());
    }
    assert_eq!(ids.len(), 5, "Message-IDs must differ");
    let received = sink.messages();
    assert_eq!(received.len(), 5);
    for (m, notice) in received.iter().zip(every_notice()) {
        let rendered = render(&notice, "https://portal.example.org");
        assert_eq!(m.header("Subject").unwrap(), rendered.subject);
        assert_eq!(
            m.body().replace("\r\n", "\n").trim_end(),
            rendered.text.trim_end()
        );
        assert!(!m.text().contains(['{', '}']));
    }
}

#[tokio::test]
async fn a_caller_chosen_message_id_is_used_and_checked() {
    let sink = sink::start().await.unwrap();
    let mailer = Mailer::new(&config(&sink)).unwrap();
    let id = mailer
        .send_with_id(TO, &assigned(), "<fixed-1@mid.redress.test>")
        .await
        .unwrap();
    assert_eq!(id.as_str(), "<fixed-1@mid.redress.test>");
    // The same id twice: a resend after a crash is the same message to the reader.
    mailer
        .send_with_id(TO, &assigned(), "<fixed-1@mid.redress.test>")
        .await
        .unwrap();
    let ids: Vec<String> = sink
        .messages()
        .iter()
        .map(|m| m.header("Message-ID").unwrap().to_owned())
        .collect();
    assert_eq!(ids, ["<fixed-1@mid.redress.test>", "<fixed-1@mid.redress.test>"]);
    for bad in ["no-brackets@x", "<no-at-sign>", "<a b@x>", "<a@x>\r\nBcc: y"] {
        assert!(
            matches!(
                mailer.send_with_id(TO, &assigned(), bad).await,
                Err(redress_mail::SendError::Permanent(_))
            ),
            "{bad:?}"
        );
    }
    assert_eq!(sink.messages().len(), 2, "nothing sent for a bad id");
}
