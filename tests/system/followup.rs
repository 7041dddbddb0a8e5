//! The reporter comes back with the receipt: the look-up (a wrong receipt learns
//! nothing; the budgets trip and recover with the clock), the session (idle and
//! absolute ends, logging out), and what the reporter reads: the status, the
//! timeline, their report and the investigators' answers, never a note or a name.

use std::time::{Duration, Instant};

use redress_domain::Role;

use crate::helpers::*;
use crate::portal_lifecycle::step;
use crate::staff::*;

/// A report sent through the API, triaged; its receipt and reference.
pub(crate) async fn reported(app: &TestApp, text: &str) -> (String, String) {
    let res = app
        .api_submit(
            &good_answers(text),
            &[("phone-log.txt", b"2026-03-01 implant seen")],
        )
        .await;
    assert_eq!(res.status(), 201);
    let body: serde_json::Value = res.json().await.unwrap();
    app.worker("w", None).run_until_idle().await.unwrap();
    (
        body["receipt"].as_str().unwrap().to_owned(),
        body["case_ref"].as_str().unwrap().to_owned(),
    )
}

/// Types `receipt` into the follow-up form of a browser.
pub(crate) async fn come_back(reporter: &Agent, receipt: &str) -> Page {
    reporter
        .submit("/followup", "/followup", &[("receipt", receipt)])
        .await
}

/// The page without what differs on every answer (its CSRF token).
pub(crate) fn without_token(body: &str) -> String {
    regex::Regex::new(r#"name="csrf_token" value="[^"]*""#)
        .unwrap()
        .replace_all(body, "")
        .into_owned()
}

/// Eight words of the receipt list that open nothing.
pub(crate) const WRONG: &str = "abandon ability able about above absent absorb abstract";

#[tokio::test(flavor = "multi_thread")]
async fn a_reporter_reads_the_status_and_the_answers_but_never_a_note_or_a_name() {
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
    let (receipt, case_ref) = reported(&app, "They listened to my calls for months.").await;

    // Before any answer: received, to be acknowledged by its deadline.
    let reporter = Agent::new(&app.base);
    let shown = reporter.get("/followup").await;
    assert_eq!(shown.status, 200);
    assert!(!shown.body.to_lowercase().contains("<script"));
    // Typed back loosely: capitals, extra spaces, hyphens.
    let loose = receipt.to_uppercase().replace(' ', "  -  ");
    let opened = come_back(&reporter, &format!("  {loose}\n")).await;
    assert_eq!(opened.status, 303, "{}", opened.body);
    assert_eq!(opened.location(), "/followup/case");
    let page = reporter.get("/followup/case").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.text_of("case-ref").unwrap(), case_ref);
    assert!(
        page.text_of("status")
            .unwrap()
            .contains("not been acknowledged yet")
    );
    let case = app.case(&case_ref).await;
    let timeline = page.text_of("timeline").unwrap();
    assert!(timeline.contains(&day(case.received_at)), "{timeline}");
    assert!(timeline.contains(&format!("To be acknowledged by {}", day(case.ack_due.unwrap()))));
    assert!(
        page.text_of("report")
            .unwrap()
            .contains("They listened to my calls for months.")
    );
    assert!(page.text_of("files").unwrap().contains("phone-log.txt"));
    assert!(page.text_of("no-answer").is_some());

    // The investigator acknowledges, assesses, replies and writes a note.
    for (action, fields) in [
        ("acknowledge", vec![("text", "Thank you; we are looking at it.")]),
        (
            "assess",
            vec![("assessment", "admissible"), ("text", "It is within our scope.")],
        ),
        ("reply", vec![("text", "Could you send the phone's logs?")]),
        ("note", vec![("text", "NOTE-MARKER: the Example Ministry again.")]),
    ] {
        let done = step(&ana, &case_ref, action, &fields).await;
        assert_eq!(done.status, 303, "{action}: {}", done.body);
    }
    let page = reporter.get("/followup/case").await;
    assert_eq!(page.status, 200);
    assert!(page.text_of("status").unwrap().contains("assessed"));
    let case = app.case(&case_ref).await;
    let timeline = page.text_of("timeline").unwrap();
    assert!(timeline.contains("Acknowledged"));
    assert!(timeline.contains("Assessed: within the scope of this mechanism. It is within our scope."));
    assert!(timeline.contains(&format!("Feedback due by {}", day(case.feedback_due.unwrap()))));
    let conversation = page.text_of("conversation").unwrap();
    let order = [
        "They listened to my calls",
        "Thank you; we are looking at it.",
        "It is within our scope.",
        "Could you send the phone",
    ];
    let mut at = 0;
    for text in order {
        at += conversation[at..]
            .find(text)
            .unwrap_or_else(|| panic!("{text} in order: {conversation}"));
    }
    assert!(conversation.contains("The investigators"));
    // Never the note, the author, the priority or the triage's findings.
    assert!(!page.body.contains("NOTE-MARKER"));
    assert!(!page.body.contains("ana@example.org"));
    // (P1–P4 as text of an element: the reference and the tokens are random base-32 and
    // base-64, which may hold those two characters.)
    let priority = case.priority.unwrap();
    assert!(!page.body.contains(&format!(">{priority}<")));
    assert!(!page.body.to_lowercase().contains("priority"));
    assert!(page.text_of("no-answer").is_none());

    // At the crypto layer: the session holds the thread key, which opens no note.
    let keys = redress_crypto::derive_receipt_keys(
        &redress_crypto::Receipt::parse(&receipt).unwrap(),
        &app.state.receipt_salt,
        &app.state.kdf,
    )
    .unwrap();
    let thread = redress_keychain::open_thread_as_reporter(&app.store, case.id, &keys.identity)
        .await
        .unwrap();
    let entries = app.store.entries(case.id).await.unwrap();
    let note = entries
        .iter()
        .find(|e| e.kind == redress_domain::EntryKind::Note)
        .unwrap();
    assert!(redress_crypto::open(&thread, &note.ciphertext).is_err());
    // Nor the triage summary, sealed to the case key.
    let (summary, _) = app
        .store
        .objects(case.id)
        .await
        .unwrap()
        .into_iter()
        .find(|(_, kind)| *kind == redress_domain::ObjectKind::TriageSummary)
        .unwrap();
    let sealed = app.blobs.read_all(summary).await.unwrap();
    assert!(redress_crypto::open(&thread, &sealed).is_err());
    assert!(redress_crypto::open(&keys.identity, &sealed).is_err());
    assert!(
        redress_keychain::open_case_key(
            &app.store,
            case.id,
            redress_domain::Holder::Reporter,
            &keys.identity
        )
        .await
        .is_err()
    );

    // A copy of the database holds no receipt, thread key or session time in the
    // clear.
    let dump = dump_database(&app.store).await;
    assert!(!dump.contains(&receipt));
    assert!(!dump.contains(thread.to_identity_file().trim()));
    assert_eq!(sessions(&app).await, 1);

    // Logging out ends the session, on the server too: the old cookie opens nothing.
    let cookie = reporter.cookie_at("/followup/case", "redress_followup").unwrap();
    let out = reporter.submit("/followup/case", "/followup/logout", &[]).await;
    assert_eq!(out.status, 303);
    assert_eq!(out.location(), "/followup?left=1");
    let left = reporter.get("/followup?left=1").await;
    assert!(left.text_of("left").unwrap().contains("close every window"));
    assert_eq!(sessions(&app).await, 0);
    let replay = app
        .client
        .get(app.url("/followup/case"))
        .header("cookie", format!("redress_followup={cookie}"))
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 303);
    assert_eq!(replay.headers()["location"], "/followup?ended=1");
}

/// `2026-12-07` for a Unix time.
fn day(unix: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(unix).unwrap();
    format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_receipt_learns_nothing_and_takes_as_long() {
    // The production derivation, so its time dominates what is measured.
    let app = TestApp::spawn_with_production_kdf(|c| c.intake.followup_lookups_per_minute = 1000).await;
    let typed = [
        WRONG,
        "zoo zoo zoo zoo zoo zoo zoo zoo",
        "not a receipt at all",
        "",
    ];
    let mut answers = Vec::new();
    // Each kind's fastest of three: a busy machine only ever adds time, so the minimum
    // is what the code itself takes.
    let mut times = vec![Duration::MAX; typed.len()];
    for _ in 0..3 {
        for (i, receipt) in typed.iter().enumerate() {
            // A fresh browser each time, so the browser's count stays out of the way.
            let reporter = Agent::new(&app.base);
            let started = Instant::now();
            let page = come_back(&reporter, receipt).await;
            times[i] = times[i].min(started.elapsed());
            answers.push((page.status, without_token(&page.body)));
        }
    }
    for (status, body) in &answers {
        assert_eq!(*status, 422);
        assert_eq!(body, &answers[0].1, "every wrong receipt, the same page");
        assert!(body.contains("These words do not open a report."));
    }
    // Text that is not a receipt runs the derivation too: no answer comes back in much
    // less time than a well-formed wrong receipt.
    let slowest = *times.iter().max().unwrap();
    let fastest = *times.iter().min().unwrap();
    assert!(
        fastest * 2 > slowest,
        "wrong receipts took {times:?}: the derivation must always run"
    );
    assert!(fastest > Duration::from_millis(20), "{times:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_budgets_against_guessing_trip_and_recover_with_the_clock() {
    let app = TestApp::spawn_with(|c| c.intake.followup_lookups_per_minute = 3).await;
    let (receipt, _) = reported(&app, "They read my messages for a year.").await;
    // Start at the beginning of a minute, so the budget's minute is the test's.
    app.advance(60 - app.now().rem_euclid(60));

    // The process's budget: three wrong look-ups a minute, whoever sends them.
    for _ in 0..3 {
        assert_eq!(come_back(&Agent::new(&app.base), WRONG).await.status, 422);
    }
    let refused = come_back(&Agent::new(&app.base), &receipt).await;
    assert_eq!(refused.status, 429, "even a right receipt waits");
    assert!(
        refused
            .text_of("receipt-error")
            .unwrap()
            .contains("in the last minute, by anyone. Wait 1 minute")
    );
    assert_eq!(refused.headers["retry-after"], "60");
    app.advance(60);
    let reporter = Agent::new(&app.base);
    assert_eq!(come_back(&reporter, &receipt).await.status, 303);
    // A right receipt gives its look-up back.
    for _ in 0..3 {
        assert_eq!(come_back(&Agent::new(&app.base), WRONG).await.status, 422);
    }
    assert_eq!(come_back(&Agent::new(&app.base), WRONG).await.status, 429);

    // One browser's count: five wrong receipts, then a wait of 15 minutes.
    app.advance(60);
    let guesser = Agent::new(&app.base);
    for i in 0..5 {
        if i == 3 {
            app.advance(60);
        }
        assert_eq!(come_back(&guesser, WRONG).await.status, 422);
    }
    app.advance(60);
    let refused = come_back(&guesser, &receipt).await;
    assert_eq!(refused.status, 429);
    assert!(
        refused
            .text_of("receipt-error")
            .unwrap()
            .contains("from this browser. Wait 13 minutes")
    );
    // Another browser is not refused; this one can try again once the window passed.
    assert_eq!(come_back(&Agent::new(&app.base), &receipt).await.status, 303);
    app.advance(13 * 60);
    assert_eq!(come_back(&guesser, &receipt).await.status, 303);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_ends_after_15_idle_minutes_and_after_an_hour() {
    let app = TestApp::spawn().await;
    let (receipt, case_ref) = reported(&app, "They tracked my phone across borders.").await;
    let reporter = Agent::new(&app.base);
    assert_eq!(come_back(&reporter, &receipt).await.status, 303);
    assert_eq!(reporter.get("/followup/case").await.status, 200);
    // Active every ten minutes: alive until an hour after it opened.
    for _ in 0..5 {
        app.advance(10 * 60);
        let page = reporter.get("/followup/case").await;
        assert_eq!(page.status, 200);
        assert_eq!(page.text_of("case-ref").unwrap(), case_ref);
    }
    app.advance(10 * 60 + 1);
    let ended = reporter.get("/followup/case").await;
    assert_eq!(ended.status, 303);
    assert_eq!(ended.location(), "/followup?ended=1");
    assert!(
        reporter
            .get("/followup?ended=1")
            .await
            .text_of("notice")
            .unwrap()
            .contains("Your session ended")
    );

    // Idle for more than 15 minutes: ended.
    assert_eq!(come_back(&reporter, &receipt).await.status, 303);
    app.advance(14 * 60);
    assert_eq!(reporter.get("/followup/case").await.status, 200);
    app.advance(15 * 60 + 1);
    assert_eq!(reporter.get("/followup/case").await.status, 303);

    // Rows of ended sessions go at the hour the database keeps, and no earlier.
    assert_eq!(come_back(&reporter, &receipt).await.status, 303);
    assert!(sessions(&app).await >= 1);
    app.advance(2 * 3600);
    app.state
        .store
        .forget_ended_followup_sessions(app.now())
        .await
        .unwrap();
    assert_eq!(sessions(&app).await, 0);
}

/// How many follow-up sessions the database holds.
pub(crate) async fn sessions(app: &TestApp) -> u64 {
    redress_store::test_support::count_rows(&app.store, "followup_sessions").await
}

/// Posts a message and files from the case page, as the browser's form sends them.
async fn send(reporter: &Agent, message: &str, files: &[(&str, Vec<u8>)]) -> Page {
    let page = reporter.get("/followup/case").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let token = hidden_value(&page.body, "csrf_token").unwrap();
    let mut form = reqwest::multipart::Form::new()
        .text("csrf_token", token)
        .text("message", message.to_owned());
    for (name, bytes) in files {
        form = form.part(
            "evidence",
            reqwest::multipart::Part::bytes(bytes.clone())
                .file_name((*name).to_owned())
                .mime_str("text/plain")
                .unwrap(),
        );
    }
    let res = reporter
        .client
        .post(format!("{}/followup/messages", reporter.base))
        .multipart(form)
        .send()
        .await
        .unwrap();
    Page {
        status: res.status().as_u16(),
        headers: res.headers().clone(),
        body: res.text().await.unwrap(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reporter_answers_with_a_message_and_a_file_that_reach_the_assignee() {
    let app = TestApp::spawn().await;
    let portal = app.portal().await;
    let mail = redress_mail::sink::start().await.unwrap();
    let ana = person(
        &app,
        &portal,
        "ana@example.org",
        Role::Investigator,
        &["triage-desk"],
    )
    .await;
    let (receipt, case_ref) = reported(&app, "They listened to my calls for months.").await;
    let worker = app.worker(
        "mail",
        Some(redress_mail::Mailer::new(&crate::worker::mail_config(&mail)).unwrap()),
    );
    for (action, text) in [
        ("acknowledge", "Thank you; we are looking at it."),
        ("reply", "Could you send the phone's logs?"),
    ] {
        assert_eq!(step(&ana, &case_ref, action, &[("text", text)]).await.status, 303);
    }

    let reporter = Agent::new(&app.base);
    assert_eq!(come_back(&reporter, &receipt).await.status, 303);
    // The reply, marked read: the investigator sees it.
    let page = reporter.get("/followup/case").await;
    let reply = app
        .store
        .entries(app.case(&case_ref).await.id)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.kind == redress_domain::EntryKind::Reply)
        .unwrap();
    assert!(page.body.contains(&format!("id=\"mark-read-{}\"", reply.seq)));
    let case_page = format!("/cases/{case_ref}");
    assert!(
        ana.agent
            .get(&case_page)
            .await
            .text_of("entries")
            .unwrap()
            .contains("Not marked as read by the reporter yet.")
    );
    let marked = reporter
        .submit(
            "/followup/case",
            "/followup/read",
            &[("seq", &reply.seq.to_string())],
        )
        .await;
    assert_eq!(marked.status, 303, "{}", marked.body);
    let page = reporter.get("/followup/case").await;
    assert!(page.text_of(&format!("read-{}", reply.seq)).is_some());
    assert!(
        ana.agent
            .get(&case_page)
            .await
            .text_of("entries")
            .unwrap()
            .contains("The reporter marked this as read.")
    );
    // Only what investigators wrote to the reporter can be marked: not a made-up one.
    let refused = reporter
        .submit("/followup/case", "/followup/read", &[("seq", "999")])
        .await;
    assert_eq!(refused.status, 404);

    // A message and a file.
    let log = b"2026-03-02 04:11 implant beacon to 203.0.113.9\n".repeat(50);
    let sent = send(
        &reporter,
        "Here are the logs you asked for.",
        &[("phone-logs.txt", log.clone())],
    )
    .await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    assert_eq!(sent.location(), "/followup/case?sent=1#conversation");
    let page = reporter.get("/followup/case?sent=1").await;
    assert!(page.text_of("notice").unwrap().contains("Your message was sent"));
    let conversation = page.text_of("conversation").unwrap();
    let mine = conversation
        .rfind("You ·")
        .expect("the message, as from the reporter");
    assert!(conversation[mine..].contains("Here are the logs you asked for."));
    assert!(conversation[mine..].contains("phone-logs.txt"));

    // Stored as the hour, sealed to the thread key.
    let case = app.case(&case_ref).await;
    let entries = app.store.entries(case.id).await.unwrap();
    let message = entries.last().unwrap();
    assert_eq!(message.kind, redress_domain::EntryKind::ReporterMessage);
    assert_eq!(message.author, None);
    assert_eq!(message.at % 3600, 0, "the hour only");

    // The investigator reads it, and downloads the file as sent.
    let shown = ana.agent.get(&case_page).await;
    let entries_text = shown.text_of("entries").unwrap();
    assert!(entries_text.contains("Message from the reporter"));
    assert!(entries_text.contains("Here are the logs you asked for."));
    let href = regex::Regex::new(r#"href="(/cases/[^"]+/files/[^"]+)" download>phone-logs.txt<"#)
        .unwrap()
        .captures(&shown.body)
        .expect("a link to the file")[1]
        .to_owned();
    let file = ana
        .agent
        .client
        .get(format!("{}{href}", ana.agent.base))
        .send()
        .await
        .unwrap();
    assert_eq!(file.status(), 200);
    assert!(
        file.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment;")
    );
    assert_eq!(file.bytes().await.unwrap().as_ref(), log.as_slice());

    // The assignee's email comes at the next hour, and says nothing of the message.
    let news = || -> Vec<String> {
        mail.messages()
            .iter()
            .map(|m| m.text())
            .filter(|t| t.contains("the reporter sent something new"))
            .collect()
    };
    worker.run_until_idle().await.unwrap();
    assert!(news().is_empty(), "not before the hour");
    app.advance(3600);
    worker.run_until_idle().await.unwrap();
    let news = news();
    assert_eq!(news.len(), 1, "one email to the one assignee");
    assert!(news[0].contains(&format!("Case {case_ref}: the reporter sent something new")));
    assert!(news[0].contains("ana@example.org"));
    assert!(!news[0].contains("logs you asked"));
    assert!(!news[0].contains("phone-logs"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_message_stores_nothing_and_gives_the_text_back() {
    let app = TestApp::spawn().await;
    let (receipt, case_ref) = reported(&app, "They tracked my phone across borders.").await;
    let reporter = Agent::new(&app.base);
    assert_eq!(come_back(&reporter, &receipt).await.status, 303);
    let case = app.case(&case_ref).await;
    let objects = app.store.objects(case.id).await.unwrap().len();
    let blobs = files_under(&app.config.data_dir).len();

    // Nothing at all.
    let empty = send(&reporter, "   ", &[]).await;
    assert_eq!(empty.status, 422);
    assert!(
        empty
            .text_of("message-error")
            .unwrap()
            .contains("Write a message or attach a file.")
    );
    // A file over the limit (1 MiB in tests): refused, the text given back, the file named.
    let big = vec![b'x'; 2 * 1024 * 1024];
    let refused = send(&reporter, "KEPT-TEXT and a large file", &[("big.bin", big)]).await;
    assert_eq!(refused.status, 413);
    assert!(refused.body.contains("KEPT-TEXT and a large file"));
    assert!(refused.text_of("message-error").unwrap().contains("big.bin"));
    // Too long a message.
    let long = "a".repeat(redress_domain::EntryText::MAX_CHARS + 1);
    assert_eq!(send(&reporter, &long, &[]).await.status, 422);
    // Without the page's token: refused before anything is read.
    let forged = reporter
        .client
        .post(format!("{}/followup/messages", reporter.base))
        .multipart(reqwest::multipart::Form::new().text("message", "forged"))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    // Without a session: back to the receipt form, nothing stored.
    let stranger = Agent::new(&app.base);
    let res = stranger
        .client
        .post(format!("{}/followup/messages", stranger.base))
        .multipart(reqwest::multipart::Form::new().text("message", "who am I"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);

    assert!(app.store.entries(case.id).await.unwrap().is_empty());
    assert_eq!(app.store.objects(case.id).await.unwrap().len(), objects);
    assert_eq!(
        files_under(&app.config.data_dir).len(),
        blobs,
        "no blob left behind"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn markers_in_follow_up_messages_and_files_appear_nowhere_on_disk_or_in_the_database() {
    let app = TestApp::spawn().await;
    let (receipt, _) = reported(&app, "They listened to my calls for months.").await;
    let text_marker = random_marker("FOLLOWUPTEXT");
    let file_marker = random_marker("FOLLOWUPFILE");
    let name_marker = random_marker("FOLLOWUPNAME");
    let reporter = Agent::new(&app.base);
    assert_eq!(come_back(&reporter, &receipt).await.status, 303);
    let file = format!("line with {file_marker}\n").repeat(500).into_bytes();
    let sent = send(
        &reporter,
        &format!("More: {text_marker}"),
        &[(&format!("{name_marker}.txt"), file)],
    )
    .await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    let cookie = reporter.cookie_at("/followup/case", "redress_followup").unwrap();
    let dump = dump_database(&app.store).await;
    for secret in [&text_marker, &file_marker, &name_marker, &receipt, &cookie] {
        assert_eq!(
            files_containing(app.dir.path(), secret.as_bytes()),
            Vec::<std::path::PathBuf>::new(),
            "{secret} on disk"
        );
        assert!(!dump.contains(secret.as_str()), "{secret} in the database");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_receipt_made_before_the_parameters_were_raised_still_opens_its_report() {
    // The app's door derives with the tests' weakest parameters; a second door on the
    // same database derives with raised ones, as after an operator raised
    // `receipt_kdf` (still cheap, for the test).
    let app = TestApp::spawn().await;
    let (old_receipt, old_ref) = reported(&app, "They listened to my calls for months.").await;
    let raised = redress_crypto::KdfParams {
        m_kib: 16,
        t: 2,
        p: 1,
    };
    let clock = std::sync::Arc::clone(&app.clock);
    let overrides = redress_cli::Overrides {
        danger_kdf: Some(raised),
        clock: Some(std::sync::Arc::new(move || {
            clock.load(std::sync::atomic::Ordering::SeqCst)
        })),
    };
    let state = redress_cli::intake_state(&app.config, app.store.clone(), &overrides)
        .await
        .unwrap();
    let running = redress_cli::start_intake(app.config.intake_addr().unwrap(), state, 2).unwrap();
    let handle = running.server.handle();
    tokio::spawn(running.server);
    let raised_base = format!("http://{}", running.addr);

    // The old receipt opens its report at the raised door.
    let reporter = Agent::new(&raised_base);
    assert_eq!(come_back(&reporter, &old_receipt).await.status, 303);
    assert_eq!(
        reporter.get("/followup/case").await.text_of("case-ref").unwrap(),
        old_ref
    );
    // A report made at the raised door keeps the raised parameters with its receipt…
    let res = app
        .client
        .post(format!("{raised_base}/api/v1/reports"))
        .multipart(report_form(
            &good_answers("They read my messages for a year."),
            &[],
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let new_receipt = res.json::<serde_json::Value>().await.unwrap()["receipt"]
        .as_str()
        .unwrap()
        .to_owned();
    let sets = app.store.receipt_kdf_sets().await.unwrap();
    assert_eq!(sets.len(), 2, "{sets:?}");
    assert!(sets.iter().any(|(_, m, t, _)| (*m, *t) == (16, 2)));
    // …and opens at either door: the earlier one tries the parameters in use after its
    // own, once it reads them again.
    assert_eq!(
        come_back(&Agent::new(&raised_base), &new_receipt).await.status,
        303
    );
    app.advance(61);
    assert_eq!(come_back(&Agent::new(&app.base), &new_receipt).await.status, 303);
    // A wrong receipt is still wrong at both.
    assert_eq!(come_back(&Agent::new(&raised_base), WRONG).await.status, 422);
    assert_eq!(come_back(&Agent::new(&app.base), WRONG).await.status, 422);
    handle.stop(true).await;
}
