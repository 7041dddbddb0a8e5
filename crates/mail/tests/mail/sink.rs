//! The sink itself, driven by hand, so other crates can rely on it.

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use redress_mail::sink;

async fn reply(lines: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> String {
    let mut all = String::new();
    loop {
        let mut line = String::new();
        lines.read_line(&mut line).await.unwrap();
        all.push_str(&line);
        if line.len() < 4 || line.as_bytes()[3] == b' ' {
            return all;
        }
    }
}

#[tokio::test]
async fn speaks_enough_smtp_and_unstuffs_dots() {
    let sink = sink::start().await.unwrap();
    let (read, mut write) = TcpStream::connect(sink.addr).await.unwrap().into_split();
    let mut lines = BufReader::new(read);
    assert!(reply(&mut lines).await.starts_with("220 "));
    let mut say = async |cmd: &str| {
        write.write_all(cmd.as_bytes()).await.unwrap();
        reply(&mut lines).await
    };
    assert!(say("HELO client.test\r\n").await.starts_with("250 "));
    assert!(say("EHLO client.test\r\n").await.contains("250 SMTPUTF8"));
    assert!(say("NOOP\r\n").await.starts_with("250 "));
    assert!(say("RCPT TO:<a@example.org>\r\n").await.starts_with("503 "));
    assert!(say("MAIL FROM:<from@example.org>\r\n").await.starts_with("250 "));
    assert!(say("RSET\r\n").await.starts_with("250 "));
    assert!(say("DATA\r\n").await.starts_with("503 "));
    assert!(
        say("MAIL FROM:<from@example.org> BODY=8BITMIME\r\n")
            .await
            .starts_with("250 ")
    );
    assert!(say("RCPT TO:<a@example.org>\r\n").await.starts_with("250 "));
    assert!(say("rcpt to: <b@example.org>\r\n").await.starts_with("250 "));
    assert!(say("DATA\r\n").await.starts_with("354 "));
    assert!(
        say("Subject: x\r\n\r\n..leading dot\r\n.\r\n")
            .await
            .starts_with("250 ")
    );
    assert!(say("VRFY x\r\n").await.starts_with("502 "));
    assert!(say("QUIT\r\n").await.starts_with("221 "));

    let m = &sink.messages()[0];
    assert_eq!(m.ehlo, "client.test");
    assert_eq!(m.mail_from, "from@example.org");
    assert_eq!(m.rcpt_to, ["a@example.org", "b@example.org"]);
    assert_eq!(m.text(), "Subject: x\r\n\r\n.leading dot\r\n");
    assert_eq!(m.header("subject").as_deref(), Some("x"));
    assert_eq!(m.body(), ".leading dot\r\n");
    assert!(sink.transcript().contains("..leading dot\r\n"));
}

#[tokio::test]
async fn fails_the_next_transactions_then_recovers() {
    let sink = sink::start().await.unwrap();
    sink.fail_next(451, 1);
    let (read, mut write) = TcpStream::connect(sink.addr).await.unwrap().into_split();
    let mut lines = BufReader::new(read);
    reply(&mut lines).await;
    let mut say = async |cmd: &str| {
        write.write_all(cmd.as_bytes()).await.unwrap();
        reply(&mut lines).await
    };
    say("EHLO c.test\r\n").await;
    say("MAIL FROM:<f@example.org>\r\n").await;
    assert!(say("RCPT TO:<a@example.org>\r\n").await.starts_with("451 "));
    say("RSET\r\n").await;
    say("MAIL FROM:<f@example.org>\r\n").await;
    assert!(say("RCPT TO:<a@example.org>\r\n").await.starts_with("250 "));
}
