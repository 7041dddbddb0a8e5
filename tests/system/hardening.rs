//! The public door's hardening: exact headers everywhere, no scripts, cookie flags,
//! only intake routes, and abuse controls that do not key on IP.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, SystemTime};

use crate::helpers::*;

/// DESIGN.md's header list, written out here so the test does not trust the code.
const EXPECTED_HEADERS: [(&str, &str); 7] = [
    (
        "content-security-policy",
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
    ("referrer-policy", "no-referrer"),
    ("x-content-type-options", "nosniff"),
    ("cache-control", "no-store"),
    ("cross-origin-opener-policy", "same-origin"),
    (
        "permissions-policy",
        "accelerometer=(), ambient-light-sensor=(), autoplay=(), battery=(), bluetooth=(), browsing-topics=(), camera=(), clipboard-read=(), clipboard-write=(), display-capture=(), document-domain=(), encrypted-media=(), fullscreen=(), gamepad=(), geolocation=(), gyroscope=(), hid=(), idle-detection=(), interest-cohort=(), local-fonts=(), magnetometer=(), microphone=(), midi=(), payment=(), picture-in-picture=(), publickey-credentials-get=(), screen-wake-lock=(), serial=(), storage-access=(), usb=(), web-share=(), xr-spatial-tracking=()",
    ),
    ("x-frame-options", "DENY"),
];

fn check_headers(what: &str, res: &reqwest::Response) {
    let h = res.headers();
    for (name, value) in EXPECTED_HEADERS {
        let got: Vec<_> = h.get_all(name).iter().collect();
        assert_eq!(got.len(), 1, "{what}: exactly one {name}");
        assert_eq!(got[0], value, "{what}: {name}");
    }
    for absent in ["etag", "last-modified", "server", "x-powered-by"] {
        assert!(h.get(absent).is_none(), "{what}: {absent} must not be sent");
    }
}

fn check_html(what: &str, html: &str) {
    let lower = html.to_lowercase();
    assert!(!lower.contains("<script"), "{what}: no script");
    assert!(!lower.contains("javascript:"), "{what}: no javascript: URLs");
    let handler = lower.split(|c: char| c.is_whitespace() || c == '"').any(|token| {
        token.strip_prefix("on").is_some_and(|rest| {
            rest.split_once('=')
                .is_some_and(|(name, _)| !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase()))
        })
    });
    assert!(!handler, "{what}: no inline event handlers");
    for attr in [
        "src=\"http",
        "href=\"http",
        "src=\"//",
        "href=\"//",
        "@import",
        "url(",
    ] {
        assert!(!lower.contains(attr), "{what}: no remote resource ({attr})");
    }
    assert!(!html.contains('⟦'), "{what}: every message is in the catalogue");
    assert!(
        html.contains("<html lang=\"en\" dir=\"ltr\">"),
        "{what}: the language and its direction"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_response_carries_exactly_the_security_headers() {
    let app = TestApp::spawn().await;
    let c = &app.client;
    let u = |p: &str| app.url(p);
    let ok_report = {
        let form = reqwest::multipart::Form::new().part(
            "report",
            reqwest::multipart::Part::text(good_answers("A long enough description.").to_string())
                .mime_str("application/json")
                .unwrap(),
        );
        c.post(u("/api/v1/reports")).multipart(form)
    };
    let requests = vec![
        ("index", c.get(u("/")), 200, true),
        ("form", c.get(u("/report")), 200, true),
        ("stylesheet", c.get(u("/static/style.css")), 200, false),
        ("not found", c.get(u("/no/such/page")), 404, true),
        ("wrong method", c.delete(u("/report")), 405, true),
        ("receipt gone", c.get(u("/receipt")), 410, true),
        (
            "csrf refusal",
            c.post(u("/report"))
                .multipart(reqwest::multipart::Form::new().text("product", "y")),
            403,
            true,
        ),
        ("api not found", c.get(u("/api/v1/nothing")), 404, false),
        ("api error", c.post(u("/api/v1/reports")).body("x"), 400, false),
        ("questionnaire", c.get(u("/api/v1/questionnaire")), 200, false),
        ("openapi", c.get(u("/api/v1/openapi.json")), 200, false),
        ("api created", ok_report, 201, false),
        ("follow-up form", c.get(u("/followup")), 200, true),
        (
            "follow-up without a session",
            c.get(u("/followup/case")),
            303,
            false,
        ),
        (
            "follow-up look-up without a token",
            c.post(u("/followup")).form(&[("receipt", "zoo")]),
            403,
            true,
        ),
        (
            "follow-up API, a wrong receipt",
            c.post(u("/api/v1/followup/session"))
                .json(&serde_json::json!({ "receipt": "zoo zoo zoo zoo zoo zoo zoo zoo" })),
            422,
            false,
        ),
        (
            "follow-up API without a session",
            c.get(u("/api/v1/followup/case")),
            401,
            false,
        ),
        (
            "conditional",
            c.get(u("/static/style.css")).header("if-none-match", "*"),
            200,
            false,
        ),
    ];
    for (what, req, status, is_html) in requests {
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), status, "{what}");
        check_headers(what, &res);
        if is_html {
            assert_eq!(
                res.headers()["content-type"],
                "text/html; charset=utf-8",
                "{what}"
            );
            check_html(what, &res.text().await.unwrap());
        }
    }
    let css = app.get("/static/style.css").await;
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    assert!(
        !css.text().await.unwrap().contains("url("),
        "no fonts or remote images"
    );

    // The receipt page and a re-shown form too.
    let post = app
        .form_submit(&good_form_fields("A long enough description."), &[])
        .await;
    check_headers("303", &post);
    let (_, _, html) = app.follow_to_receipt(post).await;
    check_html("receipt", &html);
    let invalid = app.form_submit(&good_form_fields(""), &[]).await;
    check_headers("422", &invalid);
    check_html("422", &invalid.text().await.unwrap());
}

/// The intake's route table as docs/ARCHITECTURE.md states it, written out here so the
/// test does not trust the code.
const ROUTES: [(&str, &str); 20] = [
    ("/", "GET, HEAD"),
    ("/report", "GET, HEAD, POST"),
    ("/receipt", "GET, HEAD"),
    ("/followup", "GET, HEAD, POST"),
    ("/followup/case", "GET, HEAD"),
    ("/followup/messages", "POST"),
    ("/followup/read", "POST"),
    ("/followup/logout", "POST"),
    ("/followup/receipt", "GET, HEAD, POST"),
    ("/followup/receipt/new", "GET, HEAD"),
    ("/followup/identity", "GET, HEAD, POST"),
    ("/static/style.css", "GET, HEAD"),
    ("/api/v1/reports", "POST"),
    ("/api/v1/questionnaire", "GET, HEAD"),
    ("/api/v1/openapi.json", "GET, HEAD"),
    ("/api/v1/followup/session", "POST, DELETE"),
    ("/api/v1/followup/case", "GET, HEAD"),
    ("/api/v1/followup/messages", "POST"),
    ("/api/v1/followup/messages/{seq}/read", "POST"),
    ("/api/v1/followup/messages/1/read", "POST"),
];

#[test]
fn the_route_table_is_the_documented_one() {
    let mut served: Vec<(String, String)> = redress_intake::endpoints()
        .iter()
        .map(|e| {
            let methods: Vec<String> = e.methods().iter().map(ToString::to_string).collect();
            (e.path().to_owned(), methods.join(", "))
        })
        .collect();
    let mut documented: Vec<(String, String)> = ROUTES
        .iter()
        .filter(|(path, _)| !path.ends_with("/1/read"))
        .map(|(p, m)| ((*p).to_owned(), (*m).to_owned()))
        .collect();
    served.sort();
    documented.sort();
    assert_eq!(served, documented, "every route is listed here, with its methods");
}

#[tokio::test(flavor = "multi_thread")]
async fn head_answers_like_get_without_a_body_on_every_get_route() {
    let app = TestApp::spawn().await;
    for (path, allow) in ROUTES.iter().filter(|(p, _)| !p.contains('{')) {
        if !allow.contains("GET") {
            continue;
        }
        let get = app.get(path).await;
        let status_ok = get.status() == 200;
        let head = app.client.head(app.url(path)).send().await.unwrap();
        assert_eq!(head.status(), get.status(), "HEAD {path}");
        check_headers(&format!("HEAD {path}"), &head);
        for name in ["content-type", "content-length"] {
            assert_eq!(
                head.headers().get(name),
                get.headers().get(name),
                "HEAD {path}: {name}"
            );
        }
        let get_length = get.headers()["content-length"].to_str().unwrap().to_owned();
        let body = get.bytes().await.unwrap();
        assert_eq!(
            get_length,
            body.len().to_string(),
            "GET {path}: Content-Length is the body's"
        );
        // A page that needs a follow-up session sends its visitor on with no body.
        if status_ok {
            assert!(!body.is_empty(), "GET {path} has a body");
        }
        assert!(head.bytes().await.unwrap().is_empty(), "HEAD {path} has no body");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_method_a_path_does_not_serve_is_405_naming_the_methods_it_does() {
    let app = TestApp::spawn().await;
    let methods = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"];
    for (path, allow) in ROUTES.iter().filter(|(p, _)| !p.contains('{')) {
        let allowed: Vec<&str> = allow.split(", ").collect();
        for method in methods.iter().filter(|m| !allowed.contains(m)) {
            let what = format!("{method} {path}");
            let res = app
                .client
                .request(method.parse().unwrap(), app.url(path))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 405, "{what}");
            assert_eq!(res.headers()["allow"], *allow, "{what}");
            check_headers(&what, &res);
            let content_type = res.headers()["content-type"].to_str().unwrap().to_owned();
            let body = res.text().await.unwrap();
            if *method == "HEAD" {
                assert!(body.is_empty(), "{what}");
            } else if path.starts_with("/api/") {
                assert_eq!(content_type, "application/json", "{what}");
                let error: serde_json::Value = serde_json::from_str(&body).unwrap();
                assert_eq!(error["error"]["code"], "method_not_allowed", "{what}");
            } else {
                assert_eq!(content_type, "text/html; charset=utf-8", "{what}");
                check_html(&what, &body);
                assert!(body.contains("<h1>Not allowed</h1>"), "{what}: {body}");
            }
        }
    }
    // An unknown path is not found, whatever the method, and names no methods.
    for method in ["GET", "POST", "DELETE"] {
        for path in ["/no/such/page", "/api/v1/nothing", "/report/"] {
            let res = app
                .client
                .request(method.parse().unwrap(), app.url(path))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 404, "{method} {path}");
            assert!(res.headers().get("allow").is_none(), "{method} {path}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn cookies_are_http_only_and_strict_and_secure_when_configured() {
    let app = TestApp::spawn().await;
    let res = app.get("/report").await;
    let csrf = set_cookie_header(&res, redress_web::CSRF_COOKIE).unwrap();
    for part in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(csrf.contains(part), "{csrf}");
    }
    assert!(!csrf.contains("Secure"), "plain HTTP (onion) by default: {csrf}");
    let post = app
        .form_submit(&good_form_fields("A long enough description."), &[])
        .await;
    let receipt = set_cookie_header(&post, "redress_receipt").unwrap();
    for part in ["HttpOnly", "SameSite=Strict", "Path=/receipt", "Max-Age=600"] {
        assert!(receipt.contains(part), "{receipt}");
    }

    // The follow-up session: the key in it opens the thread, so it stays in this
    // browser's follow-up pages only, and goes when the browser closes.
    let res = app
        .api_submit(&good_answers("A long enough description."), &[])
        .await;
    let receipt = res.json::<serde_json::Value>().await.unwrap()["receipt"]
        .as_str()
        .unwrap()
        .to_owned();
    let reporter = crate::staff::Agent::new(&app.base);
    let shown = reporter.get("/followup").await;
    let token = hidden_value(&shown.body, "csrf_token").unwrap();
    let opened = reporter
        .client
        .post(format!("{}/followup", app.base))
        .form(&[("csrf_token", token.as_str()), ("receipt", receipt.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(opened.status(), 303);
    let session = set_cookie_header(&opened, "redress_followup").unwrap();
    for part in ["HttpOnly", "SameSite=Strict", "Path=/followup"] {
        assert!(session.contains(part), "{session}");
    }
    assert!(
        !session.contains("Max-Age") && !session.contains("Expires"),
        "{session}"
    );

    let https = TestApp::spawn_with(|c| c.intake.secure_cookies = true).await;
    let res = https.get("/report").await;
    let csrf = set_cookie_header(&res, redress_web::CSRF_COOKIE).unwrap();
    assert!(
        csrf.contains("Secure") && csrf.contains("HttpOnly") && csrf.contains("SameSite=Strict"),
        "{csrf}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn only_intake_routes_are_served() {
    let app = TestApp::spawn().await;
    for path in [
        "/portal",
        "/admin",
        "/login",
        "/api/v1/cases",
        "/setup",
        "/static/../Cargo.toml",
    ] {
        assert_eq!(app.get(path).await.status(), 404, "{path}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn honeypot_filled_in_is_refused() {
    let app = TestApp::spawn().await;
    let mut fields = good_form_fields("A long enough description.");
    fields.iter_mut().find(|(n, _)| *n == "website").unwrap().1 = "http://spam.example".into();
    let res = app.form_submit(&fields, &[("e.txt", b"x")]).await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("must stay empty"));
    app.assert_nothing_stored().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn low_disk_space_refuses_new_reports_with_a_clear_page() {
    let app = TestApp::spawn_with(|c| c.intake.min_free_disk_mib = 1 << 40).await;
    let res = app
        .api_submit(&good_answers("A long enough description."), &[("e.txt", b"x")])
        .await;
    if app.config.blobs.backend == redress_cli::config::BlobBackend::Postgres {
        // The floor guards the disk the blob folder is on; with blobs in PostgreSQL
        // nothing is written here, and the database's disk is its own to watch.
        assert_eq!(res.status(), 201);
        return;
    }
    assert_eq!(res.status(), 503);
    assert_eq!(res.headers()["retry-after"], "120");
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "storage_low");
    let page = app
        .form_submit(&good_form_fields("A long enough description."), &[])
        .await;
    assert_eq!(page.status(), 503);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("cannot safely store new reports")
    );
    app.assert_nothing_stored().await;
}

/// Starts a multipart upload by hand and leaves it hanging after `body_prefix`.
fn start_upload(app: &TestApp, body_prefix: &[u8]) -> TcpStream {
    let addr = app.base.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).unwrap();
    let head = format!(
        "POST /api/v1/reports HTTP/1.1\r\nHost: {addr}\r\nContent-Type: multipart/form-data; boundary=XyZ\r\nContent-Length: 10000000\r\n\r\n"
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body_prefix).unwrap();
    s.flush().unwrap();
    s
}

fn report_then_file_start(file_bytes: usize) -> Vec<u8> {
    let mut b = format!(
        "--XyZ\r\nContent-Disposition: form-data; name=\"report\"\r\nContent-Type: application/json\r\n\r\n{}\r\n\
         --XyZ\r\nContent-Disposition: form-data; name=\"evidence\"; filename=\"big.bin\"\r\n\r\n",
        good_answers("A long enough description.")
    )
    .into_bytes();
    b.extend(std::iter::repeat_n(b'z', file_bytes));
    b
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stalled_upload_is_dropped_with_408_and_leaves_nothing() {
    let app = TestApp::spawn_with(|c| c.intake.upload_idle_timeout_secs = 1).await;
    let mut s = start_upload(&app, &report_then_file_start(70_000));
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let response = tokio::task::spawn_blocking(move || {
        let mut buf = Vec::new();
        let _ = s.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    })
    .await
    .unwrap();
    assert!(response.starts_with("HTTP/1.1 408"), "{response}");
    assert!(response.contains("too_slow"), "{response}");
    app.assert_nothing_stored().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_trickling_upload_is_dropped_even_after_a_fast_start() {
    let app = TestApp::spawn_with(|c| {
        c.intake.min_upload_rate_window_secs = 1;
        c.intake.min_upload_rate_bytes_per_sec = 50_000;
        c.intake.upload_idle_timeout_secs = 30;
    })
    .await;
    // A fast first burst, then a few bytes every 200 ms: never idle, but far too slow.
    let mut s = start_upload(&app, &report_then_file_start(200_000));
    s.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    let response = tokio::task::spawn_blocking(move || {
        let mut buf = Vec::new();
        for _ in 0..100 {
            if s.write_all(b"zz").is_err() {
                break;
            }
            let mut chunk = [0u8; 4096];
            match s.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(_) => {}
            }
            if buf.ends_with(b"}}") {
                break;
            }
        }
        String::from_utf8_lossy(&buf).into_owned()
    })
    .await
    .unwrap();
    assert!(response.starts_with("HTTP/1.1 408"), "{response}");
    app.assert_nothing_stored().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sweep_removes_what_a_crash_left_and_keeps_committed_cases() {
    let app = TestApp::spawn().await;
    let res = app
        .api_submit(&good_answers("A long enough description."), &[("e.bin", b"kept")])
        .await;
    let case_ref = res.json::<serde_json::Value>().await.unwrap()["case_ref"]
        .as_str()
        .unwrap()
        .to_owned();
    let committed = app.stored_blobs().await;
    assert_eq!(committed.len(), 2, "submission document and one file");

    // A crash between placing blobs and committing the case, and one mid-upload.
    app.orphan_blob(b"age ciphertext of a case that never committed")
        .await;
    app.crashed_upload().await;
    assert_eq!(app.stored_blobs().await.len(), 4);

    let later = past_grace(&app);
    let report = redress_store::sweep_orphans(&app.store, &app.blobs, redress_worker::SWEEP_GRACE, later)
        .await
        .unwrap();
    assert_eq!((report.orphan_blobs, report.stale_temps), (1, 1));
    assert_eq!(app.stored_blobs().await, committed);
    app.open_as(&case_ref, redress_domain::Holder::Recovery, &app.recovery)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sweep_keeps_an_upload_while_its_intake_beats_and_removes_it_once_the_intake_is_gone() {
    let app = TestApp::spawn().await;
    let start = app.clock.load(std::sync::atomic::Ordering::SeqCst);
    // An upload in progress: the report and the start of a file, the rest still to come.
    let upload = start_upload(&app, &report_then_file_start(70_000));
    for _ in 0..500 {
        if app.pending_blobs().await.len() == 1 && app.store.uploads().await.unwrap().len() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let pending = app.pending_blobs().await;
    assert_eq!(pending.len(), 1, "the upload is being written");
    assert_eq!(
        app.store.uploads().await.unwrap().len(),
        1,
        "and is known to the database"
    );

    // Two hours on, far past the sweep's grace period, the intake is still beating (its
    // own tick): a sweep from another process leaves the upload alone.
    app.clock.store(start + 7200, std::sync::atomic::Ordering::SeqCst);
    app.state.beat().await.unwrap();
    let later = SystemTime::UNIX_EPOCH + Duration::from_secs(start as u64 + 7200);
    let report = redress_store::sweep_orphans(&app.store, &app.blobs, redress_worker::SWEEP_GRACE, later)
        .await
        .unwrap();
    assert_eq!(report.stale_temps, 0);
    assert_eq!(app.pending_blobs().await, pending);

    // The intake then dies without a word: once its heartbeat has run out, the next
    // sweep removes what it left, file and row.
    let gone = later + Duration::from_secs(redress_intake::LEASE_SECS as u64 + 1);
    let report = redress_store::sweep_orphans(&app.store, &app.blobs, redress_worker::SWEEP_GRACE, gone)
        .await
        .unwrap();
    assert_eq!(report.stale_temps, 1);
    assert!(app.pending_blobs().await.is_empty());
    assert!(app.store.uploads().await.unwrap().is_empty());
    drop(upload);
}

#[tokio::test(flavor = "multi_thread")]
async fn every_door_of_a_process_runs_and_stops_together() {
    let app = TestApp::spawn().await;
    let overrides = redress_cli::Overrides {
        danger_kdf: Some(redress_crypto::KdfParams::danger_test_minimum()),
        clock: None,
    };
    let mut doors = Vec::new();
    for _ in 0..2 {
        let state = redress_cli::intake_state(&app.config, app.store.clone(), &overrides)
            .await
            .unwrap();
        let addr = "127.0.0.1:0".parse().unwrap();
        doors.push(redress_cli::start_intake(addr, state, 1).unwrap().door());
    }
    let urls: Vec<String> = doors.iter().map(|d| format!("http://{}/", d.addr)).collect();
    let first = doors[0].server.handle();
    let running = tokio::spawn(redress_cli::run_doors(doors));
    // No idle connection kept: a graceful stop waits for open ones.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    for url in &urls {
        assert_eq!(client.get(url).send().await.unwrap().status(), 200, "{url}");
    }
    // One door stops: the process stops the other too, and reports no error.
    first.stop(true).await;
    tokio::time::timeout(Duration::from_secs(30), running)
        .await
        .expect("the doors stopped")
        .unwrap()
        .unwrap();
    for url in &urls {
        assert!(client.get(url).send().await.is_err(), "{url} still answers");
    }
}

/// A real `redress intake` on the app's data folder and database; returns the process
/// and its base URL.
fn intake_process(app: &TestApp) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut child = app
        .redress_command()
        .arg("intake")
        .env("REDRESS_INTAKE__LISTEN", "127.0.0.1:0")
        .env("REDRESS_PORTAL__LISTEN", "127.0.0.1:0")
        .env("REDRESS_INTAKE__MIN_FREE_DISK_MIB", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = std::io::BufReader::new(stdout).lines();
    let base = loop {
        let line = lines.next().expect("the intake started").unwrap();
        if let Some(url) = line.strip_prefix("Intake listening on ") {
            break url.trim_end_matches('/').to_owned();
        }
    };
    // Keep reading so the pipe never fills.
    std::thread::spawn(move || lines.for_each(drop));
    (child, base)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_intake_killed_during_a_burst_leaves_every_receipt_whole_and_nothing_else() {
    let app = TestApp::spawn().await;
    let client = reqwest::Client::new();
    let mut receipts: Vec<(String, Vec<u8>)> = Vec::new();
    let mut interrupted = 0;
    let mut rng = rand::random::<u64>();
    for round in 0..8 {
        let (mut child, base) = intake_process(&app);
        // A burst: six submissions at once, each with a file large enough to be
        // mid-upload when the process dies.
        let mut sent = Vec::new();
        for i in 0..6 {
            let file: Vec<u8> = format!("round {round} file {i} ").into_bytes().repeat(20_000);
            let form = report_form(
                &good_answers(&format!("Round {round}, report {i}.")),
                &[("capture.bin", &file)],
            );
            let request = client
                .post(format!("{base}/api/v1/reports"))
                .multipart(form)
                .send();
            sent.push(tokio::spawn(async move { (request.await, file) }));
        }
        rng = rng.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        tokio::time::sleep(Duration::from_millis(50 + (rng >> 33) % 600)).await;
        child.kill().unwrap();
        child.wait().unwrap();
        for s in sent {
            match s.await.unwrap() {
                (Ok(res), file) if res.status() == 201 => {
                    let body: serde_json::Value = res.json().await.unwrap();
                    receipts.push((body["case_ref"].as_str().unwrap().to_owned(), file));
                }
                _ => interrupted += 1,
            }
        }
    }
    eprintln!(
        "{} receipts shown, {interrupted} submissions cut off",
        receipts.len()
    );
    assert!(interrupted > 0, "the kills cut submissions off");

    // Every receipt shown opens a complete case, its file byte for byte.
    for (case_ref, file) in &receipts {
        let opened = app
            .open_as(case_ref, redress_domain::Holder::Recovery, &app.recovery)
            .await
            .unwrap_or_else(|e| panic!("{case_ref}: {e}"));
        assert_eq!(opened.files, [("capture.bin".to_owned(), file.clone())]);
    }

    // Once the dead intakes' heartbeats and the grace period have run out, the sweep
    // leaves exactly what stored cases reference (a case whose 201 was lost on the way
    // included), and no upload row.
    let later = past_grace(&app) + Duration::from_secs(600);
    redress_store::sweep_orphans(&app.store, &app.blobs, redress_worker::SWEEP_GRACE, later)
        .await
        .unwrap();
    let mut referenced = std::collections::BTreeSet::new();
    for case in app.store.cases().await.unwrap() {
        for (id, _) in app.store.objects(case.id).await.unwrap() {
            referenced.insert(id);
        }
    }
    assert_eq!(app.stored_blobs().await, referenced);
    assert!(app.store.uploads().await.unwrap().is_empty());
}
