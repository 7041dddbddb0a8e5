//! What must never be stored or logged: report text, file contents and names,
//! receipts, identities, client addresses and user agents.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use redress_crypto::SecretIdentity;
use redress_store::test_support::TestDatabase;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread")]
async fn markers_in_answers_and_files_appear_nowhere_on_disk_or_in_the_database() {
    let app = TestApp::spawn().await;
    let text_marker = random_marker("TEXTMARKER");
    let file_marker = random_marker("FILEMARKER");
    let name_marker = random_marker("NAMEMARKER");
    let contact_marker = random_marker("CONTACTMARKER");

    let mut fields = good_form_fields(&format!("They used it on me. {text_marker}"));
    fields.iter_mut().find(|(n, _)| *n == "contact").unwrap().1 = format!("signal {contact_marker}");
    let file = format!("log line with {file_marker}\n").repeat(1000).into_bytes();
    let file_name = format!("{name_marker}.log");
    let post = app.form_submit(&fields, &[(file_name.as_str(), &file)]).await;
    let (form_receipt, _, _) = app.follow_to_receipt(post).await;

    let mut answers = good_answers(&format!("Second report {text_marker}"));
    answers["suspected_customer"] = text_marker.clone().into();
    let res = app.api_submit(&answers, &[(file_name.as_str(), &file)]).await;
    assert_eq!(res.status(), 201);
    let api_receipt = res.json::<serde_json::Value>().await.unwrap()["receipt"]
        .as_str()
        .unwrap()
        .to_owned();

    // Let SQLite write its WAL; then look at every byte we own.
    let dump = dump_database(&app.store).await;
    let root = app.dir.path();
    for secret in [
        &text_marker,
        &file_marker,
        &name_marker,
        &contact_marker,
        &form_receipt,
        &api_receipt,
    ] {
        assert_eq!(
            files_containing(root, secret.as_bytes()),
            Vec::<std::path::PathBuf>::new(),
            "{secret} on disk"
        );
        assert!(!dump.contains(secret.as_str()), "{secret} in the database");
    }
    // Sanity check of the check itself: the case reference *is* stored, and found.
    assert_eq!(app.store.case_count().await.unwrap(), 2);
    let stored_ref = app.store.cases().await.unwrap()[0].case_ref.to_string();
    assert!(dump.contains(&stored_ref), "the dump does see stored values");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_intake_host_holds_no_identity_that_opens_anything() {
    // TestApp runs the intake with both secret identities moved out of its data folder,
    // so every other test already proves the intake needs none. Here: nothing it keeps
    // or is configured with is an identity, and nothing it keeps opens a stored wrap.
    let app = TestApp::spawn().await;
    let res = app
        .api_submit(
            &good_answers("A long enough description."),
            &[("e.txt", b"evidence")],
        )
        .await;
    let case_ref = res.json::<serde_json::Value>().await.unwrap()["case_ref"]
        .as_str()
        .unwrap()
        .to_owned();
    let config_text = toml::to_string(&app.config).unwrap();
    assert!(!config_text.contains("AGE-SECRET-KEY"));

    let data_files = files_under(&app.config.data_dir);
    assert!(files_containing(&app.config.data_dir, b"AGE-SECRET-KEY").is_empty());
    let mut candidates: Vec<SecretIdentity> = Vec::new();
    let mut texts = vec![config_text];
    texts.extend(data_files.iter().filter_map(|p| std::fs::read_to_string(p).ok()));
    for text in &texts {
        for token in text.split(|c: char| c.is_whitespace() || c == '"' || c == '=') {
            if let Ok(id) = SecretIdentity::parse(token) {
                candidates.push(id);
            }
        }
    }
    assert!(candidates.is_empty(), "found identities on the intake host");
    // Public keys are what it has; they are not identities.
    for public in [
        app.state.keys.current().triage.to_string(),
        app.state.keys.current().recovery.to_string(),
    ] {
        assert!(SecretIdentity::parse(&public).is_err());
    }
    // The offline identities still open the case: the test is not vacuous.
    app.open_as(&case_ref, redress_domain::Holder::Triage, &app.triage)
        .await
        .unwrap();
}

/// Runs the real binary, sends requests carrying marker client headers, and checks
/// that the markers reach neither the logs (at trace level) nor the storage.
#[tokio::test(flavor = "multi_thread")]
async fn client_addresses_and_user_agents_are_never_logged_or_stored() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDatabase::create(dir.path()).await;
    let data_dir = dir.path().join("data");
    let log_path = dir.path().join("server.log");
    let log_file = std::fs::File::create(&log_path).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_redress"))
        .arg("serve")
        .current_dir(dir.path())
        .env("REDRESS_DATA_DIR", &data_dir)
        .env("REDRESS_DATABASE__URL", db.url())
        .envs([blob_backend_env(test_blob_backend())])
        .env("REDRESS_INTAKE__LISTEN", "127.0.0.1:0")
        .env("REDRESS_PORTAL__LISTEN", "127.0.0.1:0")
        .env("REDRESS_INTAKE__MIN_FREE_DISK_MIB", "1")
        // A bare level reaches Redress's own crates only; naming the HTTP and database
        // libraries makes them trace too, so the test sees whatever they would log.
        .env(
            "RUST_LOG",
            "trace,actix_http=trace,actix_web=trace,actix_server=trace,actix_multipart=trace,sqlx=trace,sea_orm=trace",
        )
        .stdout(Stdio::piped())
        .stderr(log_file)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            for door in ["Intake", "Portal"] {
                if let Some(url) = line.strip_prefix(&format!("{door} listening on ")) {
                    let _ = tx.send((door, url.trim_end_matches('/').to_owned()));
                }
            }
            all += &line;
            all.push('\n');
        }
        all
    });
    let mut bases = std::collections::HashMap::new();
    while bases.len() < 2 {
        let (door, url) = rx.recv_timeout(Duration::from_secs(60)).expect("server started");
        bases.insert(door, url);
    }
    let (base, portal) = (bases["Intake"].clone(), bases["Portal"].clone());

    let ip_marker = format!("203.0.113.{}", rand::random::<u8>());
    let ua_marker = random_marker("UAMARKER");
    let fwd_marker = random_marker("FWDMARKER");
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let marked = |req: reqwest::RequestBuilder| {
        req.header("user-agent", &ua_marker)
            .header("x-forwarded-for", format!("{ip_marker}, {fwd_marker}"))
            .header("x-real-ip", &ip_marker)
            .header("forwarded", format!("for={ip_marker};by={fwd_marker}"))
    };
    assert_eq!(
        marked(client.get(format!("{base}/")))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        marked(client.get(format!("{base}/nope")))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let form = reqwest::multipart::Form::new()
        .part(
            "report",
            reqwest::multipart::Part::text(good_answers("A long enough description.").to_string())
                .mime_str("application/json")
                .unwrap(),
        )
        .part(
            "evidence",
            reqwest::multipart::Part::bytes(b"file".to_vec()).file_name("f.txt"),
        );
    let res = marked(client.post(format!("{base}/api/v1/reports")).multipart(form))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let bad = marked(client.post(format!("{base}/api/v1/reports")).body("garbage"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    // The portal too: its pages, a login that fails, a form without its token.
    let password_marker = random_marker("PASSWORDMARKER");
    let login = marked(client.get(format!("{portal}/login")))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let csrf = login
        .headers()
        .get_all("set-cookie")
        .iter()
        .find_map(|v| {
            v.to_str()
                .ok()?
                .split(';')
                .next()?
                .strip_prefix("redress_portal_csrf=")
                .map(str::to_owned)
        })
        .unwrap();
    let token = hidden_value(&login.text().await.unwrap(), redress_web::CSRF_FIELD).unwrap();
    let failed = marked(client.post(format!("{portal}/login")))
        .header("cookie", format!("redress_portal_csrf={csrf}"))
        .form(&[
            (redress_web::CSRF_FIELD, token.as_str()),
            ("email", "someone@example.org"),
            ("password", &password_marker),
            ("code", "123456"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(failed.status(), 403);
    let refused = marked(client.post(format!("{portal}/login")).form(&[("email", "x")]))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);

    let _ = child.kill();
    let _ = child.wait();
    let logs = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        logs.contains("TRACE") || logs.contains("DEBUG"),
        "the log really ran at a verbose level"
    );
    let store = redress_store::Store::connect(db.url()).await.unwrap();
    let dump = dump_database(&store).await;
    assert_eq!(store.case_count().await.unwrap(), 1);
    for marker in [&ip_marker, &ua_marker, &fwd_marker, &password_marker] {
        assert!(!logs.contains(marker.as_str()), "{marker} in the logs");
        assert!(
            files_containing(dir.path(), marker.as_bytes()).is_empty(),
            "{marker} on disk"
        );
        assert!(!dump.contains(marker.as_str()), "{marker} in the database");
    }
}
