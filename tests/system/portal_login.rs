//! Portal accounts through HTTP with a controllable clock: setup from an invitation,
//! login and logout, the same answer for every wrong login, backoff, lockout, the
//! failed-login budget, recovery codes, TOTP replay, session idle and absolute expiry,
//! password change, and a form kept across a login.

use redress_domain::{AuditAction, Role};

use crate::helpers::*;
use crate::staff::*;

/// The actions of the audit log, in order.
async fn audit_actions(app: &TestApp) -> Vec<String> {
    app.store
        .audit_after(0, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.action)
        .collect()
}

/// A page's body without its CSRF tokens, which differ from response to response.
fn without_tokens(body: &str) -> String {
    let mut out = body.to_owned();
    while let Some(token) = hidden_value(&out, redress_web::CSRF_FIELD) {
        out = out.replacen(&token, "", 1).replacen(
            &format!("name=\"{}\"", redress_web::CSRF_FIELD),
            "name=\"seen\"",
            1,
        );
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invited_investigator_sets_up_logs_out_and_logs_in_again() {
    let app = TestApp::spawn().await;
    let portal = app.portal().await;
    let link = app
        .invite("ana@example.org", Role::Investigator, &["triage-desk"])
        .await;
    let ana = set_up(&app, &portal, &link, "ana@example.org").await;

    // Set up and logged in: her cases, and when her session ends.
    let cases = ana.agent.get("/cases").await;
    assert_eq!(cases.status, 200, "{}", cases.body);
    let ends = cases.text_of("session-ends").unwrap();
    assert!(ends.contains("UTC") && ends.contains("30 minutes"), "{ends}");
    assert!(cases.text_of("no-cases").is_some());

    // Her account holds her identity sealed to her password, and routing now gives her
    // cases under that identity's key.
    let account = app.store.account(ana.id).await.unwrap().unwrap();
    assert!(account.enrolled());
    let routed = app.store.investigators().await.unwrap();
    let routed = routed
        .iter()
        .find(|i| Some(i.id) == account.investigator_id)
        .unwrap();
    assert!(routed.active);
    assert_eq!(routed.recipient, account.recipient);
    assert_eq!(routed.teams, vec!["triage-desk".to_owned()]);

    // The link worked once.
    assert_eq!(Agent::new(&portal.base).get(&link).await.status, 410);

    // Logging out deletes the session; the pages then ask for a login.
    let out = ana.logout().await;
    assert_eq!((out.status, out.location()), (303, "/login?out=1"));
    let after = ana.agent.get("/cases").await;
    assert_eq!(after.status, 303);
    assert!(after.location().starts_with("/login?"), "{}", after.location());
    assert!(after.location().contains("next=%2Fcases"), "{}", after.location());

    let back = ana.login(&app).await;
    assert_eq!((back.status, back.location()), (303, "/cases"), "{}", back.body);
    assert_eq!(ana.agent.get("/cases").await.status, 200);

    let actions = audit_actions(&app).await;
    let names: Vec<&str> = [
        AuditAction::Invitation,
        AuditAction::Setup,
        AuditAction::TotpEnrolled,
        AuditAction::Logout,
        AuditAction::Login,
    ]
    .iter()
    .map(|a| a.as_str())
    .collect();
    assert_eq!(actions, names);
    assert_eq!(redress_audit::verify(&app.store, None).await.unwrap().entries, 5);
}

#[tokio::test(flavor = "multi_thread")]
async fn setup_refuses_weak_passwords_and_expired_links_and_needs_the_authenticator() {
    let app = TestApp::spawn().await;
    let portal = app.portal().await;
    let link = app
        .invite("bo@example.org", Role::Investigator, &["triage-desk"])
        .await;
    let agent = Agent::new(&portal.base);
    let form = agent.get(&link).await;
    assert_eq!(form.status, 200);
    assert!(form.contains("bo@example.org"));

    for (password, confirm, said) in [
        ("short", "short", "at least 12 characters"),
        ("password1234", "password1234", "guessed too easily"),
        (PASSWORD, "something else entirely", "not the same"),
    ] {
        let refused = agent
            .submit(&link, &link, &[("password", password), ("confirm", confirm)])
            .await;
        assert_eq!(refused.status, 422, "{password}");
        assert!(refused.contains(said), "{password}: {}", refused.body);
        assert!(refused.body.contains("<title>Error: "));
    }
    assert!(app.store.accounts().await.unwrap().is_empty(), "nothing stored");

    // With a password set but no authenticator confirmed, the account reaches nothing
    // but enrolment, and is given no cases.
    let done = agent
        .submit(&link, &link, &[("password", PASSWORD), ("confirm", PASSWORD)])
        .await;
    assert_eq!(done.location(), "/enrol");
    assert_eq!(agent.get("/cases").await.location(), "/enrol");
    let account = app
        .store
        .account_by_email("bo@example.org")
        .await
        .unwrap()
        .unwrap();
    assert!(!account.enrolled());
    let routed = app.store.investigators().await.unwrap();
    assert!(
        !routed[0].active,
        "no cases before the authenticator is confirmed"
    );
    let wrong = agent.submit("/enrol", "/enrol", &[("code", "000000")]).await;
    assert_eq!(wrong.status, 422);
    // The same key is shown again, so a scanned code stays good.
    let first = agent.get("/enrol").await.text_of("totp-secret").unwrap();
    assert_eq!(agent.get("/enrol").await.text_of("totp-secret").unwrap(), first);

    // An expired link works no more.
    let late = app.invite("cy@example.org", Role::Auditor, &[]).await;
    app.advance(72 * 3600 + 1);
    let gone = Agent::new(&portal.base).get(&late).await;
    assert_eq!(gone.status, 410);
    assert!(gone.contains("expired"), "{}", gone.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_password_a_wrong_code_and_an_unknown_address_get_the_same_answer() {
    let app = TestApp::spawn().await;
    let portal = app.portal().await;
    let ana = person(&app, &portal, "ana@example.org", Role::Auditor, &[]).await;
    ana.logout().await;
    app.advance(30);
    let code = ana.totp.code_at(app.now());
    let stranger = Agent::new(&portal.base);
    let answers = [
        ana.login_with("not her password at all", &code).await,
        ana.login_with(PASSWORD, "123456").await,
        stranger
            .submit(
                "/login",
                "/login",
                &[
                    ("email", "ana@example.org"),
                    ("password", "not her password at all"),
                    ("code", &code),
                ],
            )
            .await,
    ];
    let unknown = stranger
        .submit(
            "/login",
            "/login",
            &[
                ("email", "nobody@example.org"),
                ("password", PASSWORD),
                ("code", &code),
            ],
        )
        .await;
    assert_eq!(answers[0].status, 403);
    let expected = without_tokens(&answers[0].body);
    for a in &answers {
        assert_eq!(a.status, 403);
        assert_eq!(without_tokens(&a.body), expected);
    }
    assert_eq!(unknown.status, 403);
    assert_eq!(
        without_tokens(&unknown.body).replace("nobody@example.org", "ana@example.org"),
        expected,
        "an unknown address is answered as a known one"
    );
    assert!(expected.contains("The address, the password or the code is not right"));
    // Each failure is in the audit log; the unknown address names no account.
    let log = app.store.audit_after(0, 100).await.unwrap();
    let failed: Vec<_> = log.iter().filter(|r| r.action == "failed_login").collect();
    assert_eq!(failed.len(), 4);
    assert_eq!(failed[3].target, None);
    assert_eq!(failed[0].target, Some(format!("account:{}", ana.id)));
}

/// Logs in as `email` with a wrong password from a fresh browser.
async fn wrong_login(portal: &Portal, email: &str) -> Page {
    Agent::new(&portal.base)
        .submit(
            "/login",
            "/login",
            &[
                ("email", email),
                ("password", "a wrong password, long"),
                ("code", "123456"),
            ],
        )
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn failures_make_an_address_wait_then_lock_it_until_an_admin_unlocks_it() {
    let app = TestApp::spawn().await;
    let portal = app.portal().await;
    let admin = person(&app, &portal, "admin@example.org", Role::Admin, &[]).await;
    let ana = person(&app, &portal, "ana@example.org", Role::Auditor, &[]).await;
    ana.logout().await;
    for email in ["ana@example.org", "nobody@example.org"] {
        for _ in 0..4 {
            assert_eq!(wrong_login(&portal, email).await.status, 403);
        }
        // The fifth failure starts a wait, for a known and an unknown address alike,
        // and says so at once; attempts meanwhile are not even tried.
        for _ in 0..2 {
            let waiting = wrong_login(&portal, email).await;
            assert_eq!(waiting.status, 429, "{email}");
            assert_eq!(waiting.headers["retry-after"], "30");
            assert!(waiting.contains("Wait 30 seconds"), "{}", waiting.body);
        }
    }
    // Even the right password and code wait; the wait doubles with each failure.
    app.advance(1);
    assert_eq!(
        ana.login_with(PASSWORD, &ana.totp.code_at(app.now()))
            .await
            .status,
        429
    );
    app.advance(30);
    assert_eq!(wrong_login(&portal, "ana@example.org").await.status, 429);
    assert_eq!(
        wrong_login(&portal, "ana@example.org").await.headers["retry-after"],
        "60"
    );
    // Up to the twentieth failure, which locks the address.
    let mut status = 0;
    for _ in 6..20 {
        app.advance(15 * 60);
        status = wrong_login(&portal, "ana@example.org").await.status;
    }
    assert_eq!(status, 403);
    app.advance(3600);
    let locked = ana.login(&app).await;
    assert_eq!(locked.status, 403);
    assert!(
        locked.contains("locked until an administrator unlocks it"),
        "{}",
        locked.body
    );
    let log = app.store.audit_after(0, 1000).await.unwrap();
    assert_eq!(
        log.iter().filter(|r| r.action == "lockout").count(),
        1,
        "one lockout entry"
    );
    // The admin sees the lock and lifts it; the right login then works.
    admin.login(&app).await;
    let user = format!("/admin/users/{}", ana.id);
    assert!(
        admin
            .agent
            .get(&user)
            .await
            .contains("locked after failed logins")
    );
    let unlocked = admin.agent.submit(&user, &user, &[("action", "unlock")]).await;
    assert_eq!(unlocked.status, 303, "{}", unlocked.body);
    let welcome = ana.login(&app).await;
    assert_eq!(
        (welcome.status, welcome.location()),
        (303, "/audit"),
        "{}",
        welcome.body
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_budget_of_failed_logins_per_minute_stops_guessing_across_addresses() {
    let app = TestApp::spawn().await;
    let portal = app.portal_with(|c| c.portal.failed_logins_per_minute = 3).await;
    let ana = person(&app, &portal, "ana@example.org", Role::Auditor, &[]).await;
    ana.logout().await;
    // Start at the top of a minute, so the budget's minute does not end mid-test.
    app.advance(60 - app.now().rem_euclid(60));
    for i in 0..3 {
        assert_eq!(
            wrong_login(&portal, &format!("guess{i}@example.org"))
                .await
                .status,
            403
        );
    }
    app.advance(1);
    let spent = ana.login_with(PASSWORD, &ana.totp.code_at(app.now())).await;
    assert_eq!(spent.status, 429, "{}", spent.body);
    assert_eq!(spent.headers["retry-after"], "59");
    assert!(spent.contains("Too many failed logins on this portal"));
    app.advance(59);
    let next_minute = ana.login(&app).await;
    assert_eq!(next_minute.status, 303, "{}", next_minute.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_recovery_code_stands_in_once_and_a_totp_code_works_once() {
    let app = TestApp::spawn().await;
    let portal = app.portal().await;
    let ana = person(&app, &portal, "ana@example.org", Role::Auditor, &[]).await;
    ana.logout().await;

    // A recovery code, typed loosely, instead of the authenticator's code.
    app.advance(30);
    let loose = ana.codes[3].to_lowercase().replace('-', " ");
    let with_code = ana.login_with(PASSWORD, &loose).await;
    assert_eq!(with_code.status, 303, "{}", with_code.body);
    assert_eq!(
        ana.agent.get("/account").await.text_of("codes-left").unwrap(),
        "9"
    );
    ana.logout().await;
    assert_eq!(
        ana.login_with(PASSWORD, &ana.codes[3]).await.status,
        403,
        "used up"
    );
    assert!(
        audit_actions(&app)
            .await
            .contains(&"recovery_code_used".to_owned())
    );

    // An authenticator code works once: not again, nor an earlier step's after it.
    app.advance(30);
    let code = ana.totp.code_at(app.now());
    assert_eq!(ana.login_with(PASSWORD, &code).await.status, 303);
    ana.logout().await;
    assert_eq!(ana.login_with(PASSWORD, &code).await.status, 403, "replayed");
    let earlier = ana.totp.code_at(app.now() - 30);
    assert_eq!(ana.login_with(PASSWORD, &earlier).await.status, 403);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_ends_after_thirty_idle_minutes_or_eight_hours_and_its_row_goes() {
    let app = TestApp::spawn().await;
    let portal = app.portal().await;
    let ana = person(&app, &portal, "ana@example.org", Role::Auditor, &[]).await;
    let sessions = || async { redress_store::test_support::count_rows(&app.store, "sessions").await };

    // Active: each request moves the idle end on.
    for _ in 0..3 {
        app.advance(29 * 60);
        assert_eq!(ana.agent.get("/audit").await.status, 200);
    }
    // Idle half an hour: gone, and the row with it.
    app.advance(30 * 60);
    let ended = ana.agent.get("/audit").await;
    assert_eq!(ended.status, 303);
    assert_eq!(ended.location(), "/login?ended=1&next=%2Faudit");
    assert_eq!(sessions().await, 0);
    let login = ana.agent.get(ended.location()).await;
    assert!(login.contains("Your session has ended"));

    // Busy for eight hours: gone all the same.
    assert_eq!(ana.login(&app).await.status, 303);
    let mut last = 200;
    for _ in 0..25 {
        app.advance(20 * 60);
        last = ana.agent.get("/audit").await.status;
        if last != 200 {
            break;
        }
    }
    assert_eq!(last, 303, "ended by the absolute limit");
    assert_eq!(sessions().await, 0);

    // A session nobody comes back to is deleted by the portal's sweep.
    let bo = person(&app, &portal, "bo@example.org", Role::Auditor, &[]).await;
    assert_eq!(sessions().await, 1);
    app.advance(31 * 60);
    let now = app.now();
    portal
        .state
        .store
        .forget_stale_sessions(now, now - 30 * 60)
        .await
        .unwrap();
    assert_eq!(sessions().await, 0);
    assert_eq!(bo.agent.get("/audit").await.status, 303);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_password_change_keeps_the_identity_and_ends_other_sessions() {
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
    let before = app.store.account(ana.id).await.unwrap().unwrap();
    // The same person in a second browser.
    let laptop = Person {
        agent: Agent::new(&portal.base),
        email: ana.email.clone(),
        password: PASSWORD.into(),
        totp: redress_crypto::TotpSecret::from_bytes(ana.totp.expose()),
        codes: Vec::new(),
        id: ana.id,
    };
    assert_eq!(laptop.login(&app).await.status, 303);

    let new = "granite lantern orchid meridian";
    for (current, fresh, confirm, said) in [
        (
            "not my password at all",
            new,
            new,
            "current password is not right",
        ),
        (PASSWORD, "password1234", "password1234", "guessed too easily"),
        (PASSWORD, new, "granite lantern", "not the same"),
    ] {
        let refused = ana
            .agent
            .submit(
                "/account",
                "/account",
                &[
                    ("current_password", current),
                    ("new_password", fresh),
                    ("confirm", confirm),
                ],
            )
            .await;
        assert_eq!(refused.status, 422, "{said}");
        assert!(refused.contains(said), "{said}: {}", refused.body);
    }
    let changed = ana
        .agent
        .submit(
            "/account",
            "/account",
            &[
                ("current_password", PASSWORD),
                ("new_password", new),
                ("confirm", new),
            ],
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert!(changed.text_of("notice").unwrap().contains("password is changed"));
    // This session goes on; the other ended.
    assert_eq!(ana.agent.get("/cases").await.status, 200);
    assert_eq!(laptop.agent.get("/cases").await.status, 303);

    // The identity is the same (so are the cases wrapped to it), sealed to a new key.
    let after = app.store.account(ana.id).await.unwrap().unwrap();
    assert_eq!(after.recipient, before.recipient);
    assert_ne!(after.password_recipient, before.password_recipient);
    assert_ne!(after.kdf.salt, before.kdf.salt);
    ana.logout().await;
    assert_eq!(ana.login(&app).await.status, 403, "the old password");
    app.advance(30);
    let with_new = ana.login_with(new, &ana.totp.code_at(app.now())).await;
    assert_eq!(with_new.status, 303, "{}", with_new.body);
    assert!(audit_actions(&app).await.contains(&"password_change".to_owned()));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_form_posted_after_the_session_ended_is_back_after_logging_in() {
    let app = TestApp::spawn().await;
    let portal = app.portal().await;
    let admin = person(&app, &portal, "admin@example.org", Role::Admin, &[]).await;
    let form = admin.agent.get("/admin").await;
    let token = hidden_value(&form.body, redress_web::CSRF_FIELD).unwrap();
    let marker = random_marker("team");
    app.advance(31 * 60);
    let posted = admin
        .agent
        .post_raw(
            "/admin",
            &[
                (redress_web::CSRF_FIELD, &token),
                ("email", "kept@example.org"),
                ("role", "investigator"),
                ("teams", &marker),
                ("capacity", "7"),
            ],
        )
        .await;
    assert_eq!(posted.status, 303);
    assert_eq!(posted.location(), "/login?ended=1&next=%2Fadmin");
    assert!(
        posted.headers["set-cookie"]
            .to_str()
            .unwrap()
            .starts_with("redress_portal_kept=")
    );
    // Nothing was done, and what was typed is held sealed, not in the clear.
    assert!(app.store.pending_invitations(app.now()).await.unwrap().is_empty());
    assert_eq!(
        redress_store::test_support::count_rows(&app.store, "kept_forms").await,
        1
    );
    let dump = dump_database(&app.store).await;
    assert!(!dump.contains(&marker) && !dump.contains("kept@example.org"));

    let login = admin.login(&app).await;
    assert_eq!(login.location(), "/admin", "back to the form's page");
    let again = admin.agent.get("/admin").await;
    assert!(
        again.body.contains("value=\"kept@example.org\""),
        "{}",
        again.body
    );
    assert!(again.body.contains(&format!("value=\"{marker}\"")));
    assert!(again.body.contains("value=\"7\""));
    assert_eq!(
        redress_store::test_support::count_rows(&app.store, "kept_forms").await,
        0
    );
    // Given back once.
    assert!(!admin.agent.get("/admin").await.body.contains("kept@example.org"));

    // Someone without an account stores nothing this way: a token from the login page
    // is not one served to someone signed in.
    let stranger = Agent::new(&portal.base);
    let login = stranger.get("/login").await;
    let token = hidden_value(&login.body, redress_web::CSRF_FIELD).unwrap();
    let posted = stranger
        .post_raw(
            "/admin",
            &[
                (redress_web::CSRF_FIELD, &token),
                ("email", "junk@example.org"),
                ("teams", &"x".repeat(30_000)),
            ],
        )
        .await;
    assert_eq!(posted.status, 303);
    assert!(posted.location().starts_with("/login?"));
    assert!(!posted.headers.contains_key("set-cookie"), "nothing kept");
    assert_eq!(
        redress_store::test_support::count_rows(&app.store, "kept_forms").await,
        0
    );
}

/// Medians of how long each kind of wrong login takes, with the production key
/// derivation: every kind runs it, so none answers markedly sooner. (The bound is
/// loose, for a busy machine; an attempt that skipped the derivation would be a
/// hundred times faster.)
#[tokio::test(flavor = "multi_thread")]
async fn every_kind_of_wrong_login_takes_about_as_long() {
    let app = TestApp::spawn().await;
    let portal = app
        .portal_with_kdf(redress_crypto::KdfParams::default(), |_| {})
        .await;
    let ana = person(&app, &portal, "ana@example.org", Role::Auditor, &[]).await;
    let bo = person(&app, &portal, "bo@example.org", Role::Auditor, &[]).await;
    let timed = |email: String, password: &'static str, code: String| {
        let base = portal.base.clone();
        async move {
            let agent = Agent::new(&base);
            let form = agent.get("/login").await;
            let token = hidden_value(&form.body, redress_web::CSRF_FIELD).unwrap();
            let started = std::time::Instant::now();
            let res = agent
                .post_raw(
                    "/login",
                    &[
                        (redress_web::CSRF_FIELD, &token),
                        ("email", &email),
                        ("password", password),
                        ("code", &code),
                    ],
                )
                .await;
            assert_eq!(res.status, 403, "{email}");
            started.elapsed()
        }
    };
    let median = |mut v: Vec<std::time::Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    // Four of each: a fifth failure would make the address wait.
    let (mut wrong_password, mut wrong_code, mut unknown) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..4 {
        app.advance(30);
        let code = ana.totp.code_at(app.now());
        wrong_password.push(timed(ana.email.clone(), "not the password at all", code).await);
        wrong_code.push(timed(bo.email.clone(), PASSWORD, "000000".into()).await);
        unknown.push(timed(format!("nobody{i}@example.org"), PASSWORD, "123456".into()).await);
    }
    let medians = [median(wrong_password), median(wrong_code), median(unknown)];
    let (fastest, slowest) = (medians.iter().min().unwrap(), medians.iter().max().unwrap());
    assert!(
        slowest.as_secs_f64() < 2.0 * fastest.as_secs_f64(),
        "wrong password, wrong code, unknown address: {medians:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn cookies_are_http_only_strict_and_on_https_secure_with_the_host_prefix() {
    let app = TestApp::spawn().await;
    let plain = app.portal().await;
    let ana = person(&app, &plain, "ana@example.org", Role::Auditor, &[]).await;
    let login = plain_client()
        .get(format!("{}/login", plain.base))
        .send()
        .await
        .unwrap();
    let csrf = set_cookie_header(&login, "redress_portal_csrf").unwrap();
    for part in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(csrf.contains(part), "{csrf}");
    }
    assert!(!csrf.contains("Secure"), "plain HTTP by default: {csrf}");

    // Behind HTTPS: Secure, and the __Host- prefix that binds a cookie to this host.
    let https = app.portal_with(|c| c.portal.secure_cookies = true).await;
    let client = plain_client();
    let login = client.get(format!("{}/login", https.base)).send().await.unwrap();
    let csrf = set_cookie_header(&login, "__Host-redress_portal_csrf").expect("the prefixed name");
    for part in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/"] {
        assert!(csrf.contains(part), "{csrf}");
    }
    assert!(!csrf.contains("Domain"), "{csrf}");
    let nonce = set_cookie(&login, "__Host-redress_portal_csrf").unwrap();
    let token = hidden_value(&login.text().await.unwrap(), redress_web::CSRF_FIELD).unwrap();
    app.advance(30);
    let code = ana.totp.code_at(app.now());
    let res = client
        .post(format!("{}/login", https.base))
        .header("cookie", nonce)
        .form(&[
            (redress_web::CSRF_FIELD, token.as_str()),
            ("email", "ana@example.org"),
            ("password", PASSWORD),
            ("code", &code),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let session = set_cookie_header(&res, "__Host-redress_portal_session").expect("a session cookie");
    for part in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/"] {
        assert!(session.contains(part), "{session}");
    }
    assert!(
        !session.contains("Max-Age") && !session.contains("Expires"),
        "forgotten when the browser closes: {session}"
    );
}

fn plain_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}
