//! A real browser in the portal: Debian's headless Chromium with JavaScript disabled,
//! driven through WebDriver (Debian's chromedriver and the `fantoccini` client), takes
//! an invitation link, sets a password, reads the authenticator key from the page,
//! computes the code, finishes setup, logs out, logs in again with a fresh code and
//! reaches the case list; then works a case: logs in, opens it from the list,
//! acknowledges it, replies, and downloads its evidence as a file. Only clicks and typed
//! keys: nothing runs script in the page.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use redress_domain::Role;

use crate::helpers::*;
use crate::staff::*;

/// chromedriver on a free port, stopped when dropped.
struct Driver {
    child: Child,
    url: String,
    _profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "chromedriver did not listen"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
            _profile: tempfile::tempdir().unwrap(),
        }
    }

    /// A headless Chromium session that runs no page script, checked on a page whose
    /// script would mark it. Downloads land in `downloads`.
    async fn browser(&self, downloads: &std::path::Path) -> Client {
        let profile = self._profile.path().display().to_string();
        let options = serde_json::json!({
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", format!("--user-data-dir={profile}"),
                "--blink-settings=scriptEnabled=false",
            ],
            "prefs": {
                "profile.managed_default_content_settings.javascript": 2,
                "download.default_directory": downloads.display().to_string(),
                "download.prompt_for_download": false,
            },
        });
        let mut caps = serde_json::Map::new();
        caps.insert("goog:chromeOptions".into(), options);
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&self.url)
            .await
            .expect("a browser session");
        client
            .goto(
                "data:text/html,<p id=untouched></p>\
                 <script>document.getElementById('untouched').id='js-ran'</script>\
                 <noscript><p id=noscript></p></noscript>",
            )
            .await
            .unwrap();
        assert!(
            client.find(Locator::Id("untouched")).await.is_ok(),
            "JavaScript ran"
        );
        assert!(
            client.find(Locator::Id("noscript")).await.is_ok(),
            "<noscript> not shown"
        );
        client
    }
}

async fn type_into(client: &Client, id: &str, text: &str) {
    let field = client.find(Locator::Id(id)).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys(text).await.unwrap();
}

async fn click(client: &Client, css: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Waits until the browser has arrived at `expected` (path and query) and the new
/// page shows `marker`: a form's navigation may start after the click returned.
async fn arrive(client: &Client, expected: &str, marker: &str) {
    let started = Instant::now();
    loop {
        let at = path(client).await;
        if at == expected && client.find(Locator::Css(marker)).await.is_ok() {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "still at {at}, not {expected} with {marker}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn text(client: &Client, id: &str) -> String {
    client.find(Locator::Id(id)).await.unwrap().text().await.unwrap()
}

async fn path(client: &Client) -> String {
    let url = client.current_url().await.unwrap();
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    }
}

/// Whether Chromium and chromedriver are here (a skip locally, a failure in CI).
fn have_browser() -> bool {
    have_tool(
        "chromium",
        "the portal's browser test drives Debian's headless Chromium",
    ) && have_tool(
        "chromedriver",
        "the portal's browser test drives Chromium through chromedriver (apt-get install chromium-driver)",
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_browser_without_javascript_sets_up_an_account_and_logs_in_again() {
    if !have_browser() {
        return;
    }
    let app = TestApp::spawn().await;
    let portal = app.portal().await;
    let link = app
        .invite("ana@example.org", Role::Investigator, &["triage-desk"])
        .await;
    let driver = Driver::start();
    let downloads = tempfile::tempdir().unwrap();
    let b = driver.browser(downloads.path()).await;

    // The invitation link: a password, twice.
    b.goto(&format!("{}{link}", portal.base)).await.unwrap();
    assert!(b.source().await.unwrap().contains("ana@example.org"));
    type_into(&b, "password", PASSWORD).await;
    type_into(&b, "confirm", PASSWORD).await;
    click(&b, "main button[type=submit]").await;

    // The authenticator: the key is read off the page, as a person types it into an app.
    arrive(&b, "/enrol", "#totp-secret").await;
    assert!(
        b.find(Locator::Css("figure.qr svg")).await.is_ok(),
        "a QR code drawn as SVG"
    );
    let key = text(&b, "totp-secret").await;
    let totp = redress_crypto::TotpSecret::from_base32(&key).expect("the key as text");
    type_into(&b, "code", &totp.code_at(app.now())).await;
    click(&b, "main button[type=submit]").await;

    // Ten recovery codes, once; then the case list.
    arrive(&b, "/enrol/codes", "#recovery-codes").await;
    let codes = text(&b, "recovery-codes").await;
    assert_eq!(codes.split_whitespace().count(), 10, "{codes}");
    click(&b, "main a[href='/cases']").await;
    arrive(&b, "/cases", "#no-cases").await;
    assert!(text(&b, "session-ends").await.contains("UTC"));

    // Log out with the button every page carries; log in with a fresh code.
    click(&b, "form.logout button").await;
    arrive(&b, "/login?out=1", "#email").await;
    app.advance(30);
    type_into(&b, "email", "ana@example.org").await;
    type_into(&b, "password", PASSWORD).await;
    type_into(&b, "code", &totp.code_at(app.now())).await;
    click(&b, "main button[type=submit]").await;
    arrive(&b, "/cases", "#no-cases").await;
    assert_eq!(text(&b, "no-cases").await, "No cases are assigned to you.");
    b.close().await.unwrap();

    let log: Vec<String> = app
        .store
        .audit_after(0, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.action)
        .collect();
    assert_eq!(log, ["invitation", "setup", "totp_enrolled", "logout", "login"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_browser_without_javascript_works_a_case_and_downloads_its_evidence() {
    if !have_browser() {
        return;
    }
    let app = TestApp::spawn().await;
    let portal = app.portal().await;
    let ana = person(
        &app,
        &portal,
        "ana@example.org",
        Role::Investigator,
        &["triage-desk"],
    )
    .await;
    let evidence = b"2026-05-01 12:00 implant beacon to c2.example.net\n".repeat(100);
    let res = app
        .api_submit(
            &good_answers("They listened to my calls for months."),
            &[("phone-log.txt", &evidence)],
        )
        .await;
    assert_eq!(res.status(), 201);
    let case_ref = res.json::<serde_json::Value>().await.unwrap()["case_ref"]
        .as_str()
        .unwrap()
        .to_owned();
    app.worker("w", None).run_until_idle().await.unwrap();
    let page = format!("/cases/{case_ref}");

    let driver = Driver::start();
    let downloads = tempfile::tempdir().unwrap();
    let b = driver.browser(downloads.path()).await;

    // Log in with the password and a fresh code.
    b.goto(&format!("{}/login", portal.base)).await.unwrap();
    app.advance(30);
    type_into(&b, "email", "ana@example.org").await;
    type_into(&b, "password", PASSWORD).await;
    type_into(&b, "code", &ana.totp.code_at(app.now())).await;
    click(&b, "main button[type=submit]").await;
    arrive(&b, "/cases", "#cases").await;

    // The list shows the case as new; open it.
    let row = text(&b, "cases").await;
    assert!(row.contains(&case_ref) && row.contains("new"), "{row}");
    click(&b, &format!("#cases a[href='{page}']")).await;
    arrive(&b, &page, "#report").await;
    assert!(
        b.source()
            .await
            .unwrap()
            .contains("They listened to my calls for months.")
    );

    // Acknowledge it, with the usual text as it stands in the form.
    click(&b, "#acknowledge-form button[type=submit]").await;
    arrive(&b, &format!("{page}?done=acknowledge"), "#notice").await;
    assert_eq!(text(&b, "case-state").await, "Acknowledged");

    // Reply to the reporter.
    type_into(&b, "reply-text", "Could you send the phone's full logs?").await;
    click(&b, "#reply-form button[type=submit]").await;
    arrive(&b, &format!("{page}?done=reply"), "#notice").await;
    let thread = text(&b, "entries").await;
    assert!(
        thread.contains("Could you send the phone's full logs?"),
        "{thread}"
    );
    assert!(thread.contains("ana@example.org"), "colleagues see who wrote it");

    // Download the evidence: it arrives as a file, the bytes sent, and the page stays.
    click(&b, "#files a[download]").await;
    let started = Instant::now();
    let saved = loop {
        let done: Vec<_> = std::fs::read_dir(downloads.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_none_or(|e| e != "crdownload"))
            .collect();
        if let [one] = done.as_slice() {
            break one.clone();
        }
        assert!(started.elapsed() < Duration::from_secs(20), "no download");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(saved.file_name().unwrap(), "phone-log.txt");
    assert_eq!(std::fs::read(&saved).unwrap(), evidence);
    assert!(
        path(&b).await.starts_with(&page),
        "the file was not shown as a page"
    );
    b.close().await.unwrap();

    let case = app.case(&case_ref).await;
    assert_eq!(case.state, redress_domain::CaseState::Acknowledged);
    let log: Vec<String> = app
        .store
        .audit_after(0, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| {
            r.target
                .as_deref()
                .is_some_and(|t| t.starts_with(&format!("case:{case_ref}")))
        })
        .map(|r| r.action)
        .filter(|a| a != "case_view")
        .collect();
    assert_eq!(log, ["acknowledge", "reply", "download"]);
}

/// The reporter's side: a browser without JavaScript comes back with the receipt, reads
/// the investigator's reply, marks it read, and sends a message with a file; the
/// investigator finds both.
#[tokio::test(flavor = "multi_thread")]
async fn a_browser_without_javascript_comes_back_with_the_receipt_and_answers() {
    if !have_browser() {
        return;
    }
    let app = TestApp::spawn().await;
    let portal = app.portal().await;
    let ana = person(
        &app,
        &portal,
        "ana@example.org",
        Role::Investigator,
        &["triage-desk"],
    )
    .await;
    let res = app
        .api_submit(&good_answers("They listened to my calls for months."), &[])
        .await;
    let body: serde_json::Value = res.json().await.unwrap();
    let (receipt, case_ref) = (
        body["receipt"].as_str().unwrap().to_owned(),
        body["case_ref"].as_str().unwrap().to_owned(),
    );
    app.worker("w", None).run_until_idle().await.unwrap();
    for (action, text) in [
        ("acknowledge", "Thank you; we are looking at it."),
        ("reply", "Could you send the phone's full logs?"),
    ] {
        let done = crate::portal_lifecycle::step(&ana, &case_ref, action, &[("text", text)]).await;
        assert_eq!(done.status, 303);
    }
    let files = tempfile::tempdir().unwrap();
    let log_path = files.path().join("phone-logs.txt");
    let log = b"2026-05-02 03:14 implant beacon\n".repeat(200);
    std::fs::write(&log_path, &log).unwrap();

    let driver = Driver::start();
    let downloads = tempfile::tempdir().unwrap();
    let b = driver.browser(downloads.path()).await;
    // From the start page, as a person would.
    b.goto(&format!("{}/", app.base)).await.unwrap();
    click(&b, "main a[href='/followup']").await;
    arrive(&b, "/followup", "#receipt").await;
    type_into(&b, "receipt", &receipt).await;
    click(&b, "main form[action='/followup'] button[type=submit]").await;
    arrive(&b, "/followup/case", "#conversation").await;
    assert_eq!(text(&b, "case-ref").await, case_ref);
    let conversation = text(&b, "conversation").await;
    assert!(conversation.contains("Could you send the phone's full logs?"));
    assert!(conversation.contains("The investigators"));
    assert!(!conversation.contains("ana@example.org"));

    // The acknowledgement and the reply, each marked read in turn.
    for left in [1, 0] {
        click(&b, "form.mark-read button[type=submit]").await;
        let started = Instant::now();
        while b.find_all(Locator::Css("form.mark-read")).await.unwrap().len() != left {
            assert!(started.elapsed() < Duration::from_secs(20), "still unread");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    // A message with a file: the file input takes the file's path, as a person picks it.
    type_into(&b, "message", "Here are the logs you asked for.").await;
    b.find(Locator::Id("evidence"))
        .await
        .unwrap()
        .send_keys(&log_path.display().to_string())
        .await
        .unwrap();
    click(&b, "#send").await;
    arrive(&b, "/followup/case?sent=1", "#notice").await;
    let conversation = text(&b, "conversation").await;
    assert!(
        conversation.contains("Here are the logs you asked for."),
        "{conversation}"
    );
    assert!(conversation.contains("phone-logs.txt"));

    // Logging out leaves the form and the advice.
    click(&b, "#logout").await;
    arrive(&b, "/followup?left=1", "#left").await;
    b.close().await.unwrap();

    // The investigator sees the message, the file, and that the reply was read.
    let shown = ana.agent.get(&format!("/cases/{case_ref}")).await;
    let entries = shown.text_of("entries").unwrap();
    assert!(entries.contains("Here are the logs you asked for."));
    assert!(entries.contains("phone-logs.txt"));
    assert!(entries.contains("The reporter marked this as read."));
}
