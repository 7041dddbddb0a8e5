//! An in-process SMTP server for tests (feature `test-sink`): listens on `127.0.0.1:0`, speaks
//! just enough SMTP for lettre (EHLO/HELO, optional AUTH PLAIN, MAIL, RCPT, DATA, RSET, NOOP,
//! QUIT; no STARTTLS) and records what it receives. It can be told to refuse the next
//! transactions or to accept connections and never answer.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let sink = redress_mail::sink::start().await?;
//! // point a Mailer at sink.url(), send, then:
//! let received = sink.messages();
//! sink.fail_next(451, 1); // the next transaction gets "451" at RCPT TO
//! # Ok(()) }
//! ```
//!
//! Stops when its [`SinkHandle`] is dropped.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use base64::Engine;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

/// The name the sink gives itself in its greeting.
pub const SINK_NAME: &str = "sink.invalid";

/// One message the sink accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Received {
    /// The name the client gave in EHLO or HELO.
    pub ehlo: String,
    /// The user name of a successful AUTH, if any.
    pub auth_user: Option<String>,
    /// The reverse path of MAIL FROM, without angle brackets.
    pub mail_from: String,
    /// The forward paths of RCPT TO, without angle brackets.
    pub rcpt_to: Vec<String>,
    /// The message as sent after DATA, dot-unstuffed, without the final `.` line.
    pub data: Vec<u8>,
}

impl Received {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.data).into_owned()
    }

    /// The value of the first header called `name` (unfolded), if present.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers()
            .into_iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// All header fields in order, with folded lines joined.
    pub fn headers(&self) -> Vec<(String, String)> {
        let text = self.text();
        let head = text.split("\r\n\r\n").next().unwrap_or_default();
        let mut fields: Vec<(String, String)> = Vec::new();
        for line in head.split("\r\n") {
            match fields.last_mut() {
                Some((_, value)) if line.starts_with([' ', '\t']) => value.push_str(line),
                _ => {
                    let (name, value) = line.split_once(':').unwrap_or((line, ""));
                    fields.push((name.to_owned(), value.trim().to_owned()));
                }
            }
        }
        fields
    }

    /// The body after the blank line that ends the header.
    pub fn body(&self) -> String {
        let text = self.text();
        text.split_once("\r\n\r\n")
            .map(|(_, body)| body.to_owned())
            .unwrap_or_default()
    }
}

#[derive(Debug, Default)]
struct State {
    messages: Vec<Received>,
    transcript: Vec<u8>,
    fail_code: u16,
    fail_left: usize,
    stall: bool,
    login: Option<(String, String)>,
}

/// A running sink. Dropping it stops the server and closes every connection.
#[derive(Debug)]
pub struct SinkHandle {
    /// Where the sink listens (`127.0.0.1`, a free port).
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    server: JoinHandle<()>,
}

/// Starts a sink on `127.0.0.1:0`. Needs a running tokio runtime.
pub async fn start() -> std::io::Result<SinkHandle> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let state = Arc::new(Mutex::new(State::default()));
    let server = tokio::spawn(serve(listener, state.clone()));
    Ok(SinkHandle { addr, state, server })
}

impl SinkHandle {
    /// `smtp://127.0.0.1:PORT`, for a plain-text `smtp_url`.
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    /// Every message accepted so far, oldest first.
    pub fn messages(&self) -> Vec<Received> {
        lock(&self.state).messages.clone()
    }

    /// Every line clients sent, on all connections, in order (DATA lines included).
    pub fn transcript(&self) -> String {
        String::from_utf8_lossy(&lock(&self.state).transcript).into_owned()
    }

    /// Answers RCPT TO in the next `n` transactions (counted at MAIL FROM) with `code`: 4xx
    /// for a transient failure (e.g. 451), 5xx for a permanent one (e.g. 550).
    pub fn fail_next(&self, code: u16, n: usize) {
        let mut state = lock(&self.state);
        state.fail_code = code;
        state.fail_left = n;
    }

    /// While on, new connections are accepted and then left without a word (not even the
    /// greeting) until the sink is dropped.
    pub fn stall(&self, on: bool) {
        lock(&self.state).stall = on;
    }

    /// Advertises AUTH PLAIN and accepts only this login; MAIL before it gets a 530.
    pub fn require_login(&self, user: &str, password: &str) {
        lock(&self.state).login = Some((user.to_owned(), password.to_owned()));
    }
}

impl Drop for SinkHandle {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Accepts connections; aborting this task drops the set and so ends every connection.
async fn serve(listener: TcpListener, state: Arc<Mutex<State>>) {
    let mut connections = JoinSet::new();
    while let Ok((socket, _)) = listener.accept().await {
        while connections.try_join_next().is_some() {}
        if lock(&state).stall {
            connections.spawn(async move {
                let _held = socket;
                std::future::pending::<()>().await;
            });
        } else {
            let state = state.clone();
            connections.spawn(async move {
                // A broken connection just ends its session.
                let _ = session(socket, state).await;
            });
        }
    }
}

#[derive(Default)]
struct Transaction {
    mail_from: Option<String>,
    rcpt_to: Vec<String>,
    fail_code: Option<u16>,
}

/// One SMTP session, until QUIT or the client hangs up.
async fn session(socket: TcpStream, state: Arc<Mutex<State>>) -> std::io::Result<()> {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read);
    let mut ehlo = String::new();
    let mut auth_user: Option<String> = None;
    let mut txn = Transaction::default();
    write
        .write_all(format!("220 {SINK_NAME} ESMTP test sink\r\n").as_bytes())
        .await?;
    loop {
        let Some(line) = read_line(&mut lines, &state).await? else {
            return Ok(());
        };
        let (verb, arg) = line.split_once(' ').unwrap_or((line.as_str(), ""));
        let reply = match verb.to_ascii_uppercase().as_str() {
            "HELO" => {
                ehlo = arg.trim().to_owned();
                txn = Transaction::default();
                format!("250 {SINK_NAME}\r\n")
            }
            "EHLO" => {
                ehlo = arg.trim().to_owned();
                txn = Transaction::default();
                let auth = if lock(&state).login.is_some() {
                    "250-AUTH PLAIN\r\n"
                } else {
                    ""
                };
                format!("250-{SINK_NAME}\r\n{auth}250-8BITMIME\r\n250 SMTPUTF8\r\n")
            }
            "AUTH" => {
                let mut parts = arg.split_whitespace();
                let mechanism = parts.next().unwrap_or_default().to_ascii_uppercase();
                let initial = match parts.next() {
                    Some(response) => Some(response.to_owned()),
                    None if mechanism == "PLAIN" => {
                        write.write_all(b"334 \r\n").await?;
                        read_line(&mut lines, &state).await?
                    }
                    None => None,
                };
                let expected = lock(&state).login.clone();
                match (mechanism.as_str(), expected, initial) {
                    (_, None, _) => "503 5.5.1 AUTH not offered\r\n".to_owned(),
                    ("PLAIN", Some((user, password)), Some(response)) => {
                        if decode_plain(&response) == Some((user.clone(), password)) {
                            auth_user = Some(user);
                            "235 2.7.0 Authentication successful\r\n".to_owned()
                        } else {
                            "535 5.7.8 Authentication credentials invalid\r\n".to_owned()
                        }
                    }
                    _ => "504 5.5.4 Unrecognized authentication type\r\n".to_owned(),
                }
            }
            "MAIL" => {
                let needs_login = lock(&state).login.is_some() && auth_user.is_none();
                match path_after(arg, "FROM:") {
                    _ if needs_login => "530 5.7.0 Authentication required\r\n".to_owned(),
                    Some(from) => {
                        let mut s = lock(&state);
                        let fail_code = (s.fail_left > 0).then_some(s.fail_code);
                        s.fail_left = s.fail_left.saturating_sub(1);
                        txn = Transaction {
                            mail_from: Some(from),
                            rcpt_to: Vec::new(),
                            fail_code,
                        };
                        "250 2.1.0 OK\r\n".to_owned()
                    }
                    None => "501 5.5.4 Syntax: MAIL FROM:<address>\r\n".to_owned(),
                }
            }
            "RCPT" => match (path_after(arg, "TO:"), &txn.mail_from, txn.fail_code) {
                (_, None, _) => "503 5.5.1 MAIL first\r\n".to_owned(),
                (None, _, _) => "501 5.5.4 Syntax: RCPT TO:<address>\r\n".to_owned(),
                // Quoting the address, as real servers do, lets tests check it is blanked out.
                (Some(to), _, Some(code)) if code < 500 => {
                    format!("{code} 4.7.1 <{to}>: Try again later\r\n")
                }
                (Some(to), _, Some(code)) => format!("{code} 5.1.1 <{to}>: Mailbox unavailable\r\n"),
                (Some(to), _, None) => {
                    txn.rcpt_to.push(to);
                    "250 2.1.5 OK\r\n".to_owned()
                }
            },
            "DATA" if txn.rcpt_to.is_empty() => "503 5.5.1 RCPT first\r\n".to_owned(),
            "DATA" => {
                write
                    .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    .await?;
                let Some(data) = read_data(&mut lines, &state).await? else {
                    return Ok(());
                };
                let done = std::mem::take(&mut txn);
                lock(&state).messages.push(Received {
                    ehlo: ehlo.clone(),
                    auth_user: auth_user.clone(),
                    mail_from: done.mail_from.unwrap_or_default(),
                    rcpt_to: done.rcpt_to,
                    data,
                });
                "250 2.0.0 OK queued\r\n".to_owned()
            }
            "RSET" => {
                txn = Transaction::default();
                "250 2.0.0 OK\r\n".to_owned()
            }
            "NOOP" => "250 2.0.0 OK\r\n".to_owned(),
            "QUIT" => {
                write.write_all(b"221 2.0.0 Bye\r\n").await?;
                return Ok(());
            }
            _ => "502 5.5.2 Command not recognized\r\n".to_owned(),
        };
        write.write_all(reply.as_bytes()).await?;
    }
}

/// The next line without its line ending, recorded in the transcript; `None` at end of input.
async fn read_line(
    lines: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
    state: &Mutex<State>,
) -> std::io::Result<Option<String>> {
    let mut buf = Vec::new();
    if lines.read_until(b'\n', &mut buf).await? == 0 {
        return Ok(None);
    }
    lock(state).transcript.extend_from_slice(&buf);
    let text = String::from_utf8_lossy(&buf);
    Ok(Some(text.trim_end_matches(['\r', '\n']).to_owned()))
}

/// The DATA section up to the lone `.`, dot-unstuffed, lines ending in CRLF.
async fn read_data(
    lines: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
    state: &Mutex<State>,
) -> std::io::Result<Option<Vec<u8>>> {
    let mut data = Vec::new();
    loop {
        let mut buf = Vec::new();
        if lines.read_until(b'\n', &mut buf).await? == 0 {
            return Ok(None);
        }
        lock(state).transcript.extend_from_slice(&buf);
        if buf == b".\r\n" || buf == b".\n" {
            return Ok(Some(data));
        }
        let unstuffed = buf.strip_prefix(b".").unwrap_or(&buf);
        data.extend_from_slice(unstuffed);
    }
}

/// `<address>` after `FROM:` or `TO:` (any case, optional space), parameters ignored.
fn path_after(arg: &str, keyword: &str) -> Option<String> {
    let head = arg.get(..keyword.len())?;
    if !head.eq_ignore_ascii_case(keyword) {
        return None;
    }
    let rest = arg[keyword.len()..].trim_start();
    let inner = rest.strip_prefix('<')?;
    let end = inner.find('>')?;
    Some(inner[..end].to_owned())
}

/// `authzid NUL user NUL password`, base64-encoded.
fn decode_plain(response: &str) -> Option<(String, String)> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(response.trim())
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let mut parts = text.split('\0');
    let (_authzid, user, password) = (parts.next()?, parts.next()?, parts.next()?);
    Some((user.to_owned(), password.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_plain_responses_parse() {
        assert_eq!(
            path_after("FROM:<a@b.org> BODY=8BITMIME", "FROM:").as_deref(),
            Some("a@b.org")
        );
        assert_eq!(path_after("to: <a@b.org>", "TO:").as_deref(), Some("a@b.org"));
        assert_eq!(path_after("FROM:<>", "FROM:").as_deref(), Some(""));
        assert_eq!(path_after("FROM a@b.org", "FROM:"), None);
        assert_eq!(path_after("x", "FROM:"), None);
        let encoded = base64::engine::general_purpose::STANDARD.encode("\0user\0pa:ss");
        assert_eq!(decode_plain(&encoded), Some(("user".into(), "pa:ss".into())));
        assert_eq!(decode_plain("!!"), None);
    }
}
