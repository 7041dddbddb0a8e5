//! The portal's key pages (issue 11): an admin sees every key with its wraps, asks for a
//! triage-key rotation, and follows it while a worker performs it; nobody else reaches
//! the pages; a second request while one is unfinished is refused; a rotation left
//! running by a worker that stopped or died is taken up again.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use redress_domain::{Holder, Role};
use redress_store::RotationState;

use crate::helpers::*;
use crate::key_rotation::triage_in_place;
use crate::staff::*;

/// The app's clock, as the worker's rotation loop takes it.
fn clock_of(app: &TestApp) -> Arc<dyn Fn() -> i64 + Send + Sync> {
    let clock = Arc::clone(&app.clock);
    Arc::new(move || clock.load(Ordering::SeqCst))
}

async fn submit(app: &TestApp, what: &str) {
    let res = app.api_submit(&good_answers(what), &[]).await;
    assert_eq!(res.status(), 201);
}

/// Asks for a triage-key rotation on the key page as `admin`; returns its id.
async fn request_rotation(admin: &Person) -> String {
    let asked = admin
        .agent
        .submit("/admin/keys", "/admin/keys", &[("key", "triage")])
        .await;
    assert_eq!(asked.status, 303, "{}", asked.body);
    asked
        .location()
        .strip_prefix("/admin/keys/rotations/")
        .unwrap_or_else(|| panic!("to the rotation's page: {}", asked.location()))
        .to_owned()
}

const REFRESH: &str = "<meta http-equiv=\"refresh\" content=\"5\">";

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_sees_the_keys_and_asks_for_a_triage_rotation_that_a_worker_performs() {
    let app = TestApp::spawn().await;
    let portal = app.portal().await;
    let admin = person(&app, &portal, "admin@example.org", Role::Admin, &[]).await;
    let ana = person(
        &app,
        &portal,
        "ana@example.org",
        Role::Investigator,
        &["triage-desk"],
    )
    .await;
    let auditor = person(&app, &portal, "bo@example.org", Role::Auditor, &[]).await;
    // Two cases handed over to Ana, three still waiting for triage.
    submit(&app, "The first report, long enough.").await;
    submit(&app, "The second report, long enough.").await;
    app.worker("w", None).run_until_idle().await.unwrap();
    for i in 0..3 {
        submit(&app, &format!("A report waiting for triage, number {i}.")).await;
    }

    let page = admin.agent.get("/admin/keys").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let old = app.triage.clone();
    let cell = |page: &Page, id: &str| {
        page.text_of(id)
            .unwrap_or_else(|| panic!("#{id} in {}", page.body))
            .trim()
            .to_owned()
    };
    assert_eq!(cell(&page, "fingerprint-triage"), old.public().to_string());
    assert_eq!(cell(&page, "wraps-triage"), "3");
    assert_eq!(
        cell(&page, "fingerprint-recovery"),
        app.recovery.public().to_string()
    );
    assert_eq!(cell(&page, "wraps-recovery"), "5");
    let ana_key = app.store.account(ana.id).await.unwrap().unwrap().recipient;
    assert_eq!(cell(&page, "fingerprint-investigator-ana@example.org"), ana_key);
    assert_eq!(cell(&page, "wraps-investigator-ana@example.org"), "2");
    assert!(cell(&page, "fingerprint-web-secret").starts_with("secret:"));
    assert!(cell(&page, "fingerprint-portal-secret").starts_with("secret:"));
    assert!(page.text_of("earlier-none").is_some());
    assert!(page.text_of("left-over-none").is_some());
    assert!(page.text_of("doors-none").is_some());
    assert!(page.text_of("rotations-none").is_some());
    // No secret itself is on the page.
    let web_secret = app.store.setting("web_secret").await.unwrap().unwrap();
    assert!(!page.contains(&hex::encode(&web_secret)));

    // Nobody else reaches the pages: the 404 of a page that does not exist, audited.
    let missing = ana.agent.get("/no/such/page").await;
    for who in [&ana, &auditor] {
        let refused = who.agent.get("/admin/keys").await;
        assert_eq!(
            (refused.status, &refused.body),
            (404, &missing.body),
            "{}",
            who.email
        );
        // Even with a token of their own, the form is not theirs to post.
        let posted = who
            .agent
            .submit("/account", "/admin/keys", &[("key", "triage")])
            .await;
        assert_eq!(posted.status, 404, "{}", who.email);
    }
    // An admin's form without its token does nothing.
    let forged = admin.agent.post_raw("/admin/keys", &[("key", "triage")]).await;
    assert_eq!(forged.status, 403);
    assert!(app.store.rotations(10).await.unwrap().is_empty());

    // The admin asks; the page follows the rotation and reloads itself meanwhile.
    let id = request_rotation(&admin).await;
    let path = format!("/admin/keys/rotations/{id}");
    let waiting = admin.agent.get(&path).await;
    assert_eq!(waiting.status, 200);
    assert!(waiting.contains(REFRESH), "{}", waiting.body);
    assert_eq!(
        cell(&waiting, "rotation-state"),
        "requested: waiting for a worker"
    );
    for who in [&ana, &auditor] {
        assert_eq!(who.agent.get(&path).await.status, 404, "{}", who.email);
    }
    let log = app.store.audit_after(0, 1000).await.unwrap();
    let asked: Vec<_> = log
        .iter()
        .filter(|r| r.action == "key_rotation_request")
        .collect();
    assert_eq!(asked.len(), 1, "{log:?}");
    assert_eq!(asked[0].actor, format!("account:{}", admin.id));
    assert_eq!(
        asked[0].target.as_deref(),
        Some(format!("rotation:{id}").as_str())
    );

    // A second request while it is unfinished is refused, pointing to it.
    let again = admin
        .agent
        .submit("/admin/keys", "/admin/keys", &[("key", "triage")])
        .await;
    assert_eq!(again.status, 422, "{}", again.body);
    assert!(again.contains("has not finished yet"), "{}", again.body);
    assert!(again.contains(&format!("href=\"{path}\"")));
    assert_eq!(app.store.rotations(10).await.unwrap().len(), 1);
    let log_after = app.store.audit_after(0, 1000).await.unwrap();
    assert_eq!(
        log_after
            .iter()
            .filter(|r| r.action == "key_rotation_request")
            .count(),
        1
    );

    // A worker, where the triage identity is, performs it; the page follows.
    let identity_file = triage_in_place(&app);
    let clock = clock_of(&app);
    let config = app.config.clone();
    let store = app.store.clone();
    let worker = tokio::spawn(async move {
        redress_cli::rotation_requests::perform_requested(&config, &store, &*clock).await
    });
    let mut seen = Vec::new();
    let done = loop {
        let page = admin.agent.get(&path).await;
        let state = cell(&page, "rotation-state");
        if seen.last() != Some(&state) {
            seen.push(state.clone());
        }
        if state == "done" {
            break page;
        }
        assert!(
            state != "stopped",
            "the rotation stopped: {}",
            cell(&page, "rotation-note")
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let rotated = worker.await.unwrap().unwrap().expect("it took the request");
    assert!(rotated.outcome.finished, "{rotated:?}");
    assert!(!done.contains(REFRESH), "a finished rotation's page stays still");
    assert_eq!(cell(&done, "rotation-progress"), "3 of 3 wraps", "{seen:?}");
    let new =
        redress_crypto::SecretIdentity::parse(&std::fs::read_to_string(&identity_file).unwrap()).unwrap();
    assert_ne!(new.public(), old.public());
    assert_eq!(cell(&done, "rotation-new-key"), new.public().to_string());
    // Nothing is left for another worker to take.
    let clock = clock_of(&app);
    assert!(
        redress_cli::rotation_requests::perform_requested(&app.config, &app.store, &*clock)
            .await
            .unwrap()
            .is_none()
    );

    // Every triage wrap is made to the new key: the old identity opens none of them.
    assert_eq!(
        app.store
            .count_wraps_for_rotation(Holder::Triage, &new.public().to_string(), false)
            .await
            .unwrap(),
        0
    );
    let mut waiting_cases = 0;
    for case in app.store.cases().await.unwrap() {
        if app.store.wrap(case.id, Holder::Triage).await.unwrap().is_none() {
            continue;
        }
        waiting_cases += 1;
        assert!(
            redress_keychain::open_case_key(&app.store, case.id, Holder::Triage, &old)
                .await
                .is_err()
        );
        redress_keychain::open_case_key(&app.store, case.id, Holder::Triage, &new)
            .await
            .unwrap();
    }
    assert_eq!(waiting_cases, 3);

    // The key page: the new key, and the old one retired and no longer needed.
    let page = admin.agent.get("/admin/keys").await;
    assert_eq!(cell(&page, "fingerprint-triage"), new.public().to_string());
    assert_eq!(cell(&page, "wraps-triage"), "3");
    let earlier = page.text_of("earlier").expect("the earlier versions");
    assert!(earlier.contains(&old.public().to_string()), "{earlier}");
    assert!(earlier.contains("may be destroyed"), "{earlier}");
    let rotations = page.text_of("rotations").expect("the rotations");
    assert!(
        rotations.contains("3 of 3 wraps") && rotations.contains("done"),
        "{rotations}"
    );

    // Once it is done, another may be asked for.
    request_rotation(&admin).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rotation_given_back_or_left_running_is_taken_up_and_finished() {
    let app = TestApp::spawn().await;
    let portal = app.portal().await;
    let admin = person(&app, &portal, "admin@example.org", Role::Admin, &[]).await;
    for i in 0..4 {
        submit(&app, &format!("A report waiting for triage, number {i}.")).await;
    }
    triage_in_place(&app);
    let old = app.triage.public().to_string();
    let recovery = app.recovery.public().to_string();
    // An intake process that keeps sealing to the old key holds the rotation in its wait
    // for the doors.
    let beat = |key: String| {
        let store = app.store.clone();
        let now = app.now();
        let recovery = recovery.clone();
        async move {
            store
                .beat_sealing("intake-behind", 3600, now, &key, &recovery)
                .await
                .unwrap();
        }
    };
    beat(old.clone()).await;
    let id = request_rotation(&admin).await;
    let path = format!("/admin/keys/rotations/{id}");

    // A worker's loop takes it; the worker stops while it waits: the rotation is given
    // back, its progress kept.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(redress_cli::rotation_requests::keep_performing(
        app.config.clone(),
        app.store.clone(),
        clock_of(&app),
        stopped,
    ));
    let waiting = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            let r = app.store.rotation(&id).await.unwrap().unwrap();
            if r.note.as_deref() == Some("waiting for intake processes to use the new key") {
                return r;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("the worker takes the rotation and waits for the intake left behind");
    assert_eq!(waiting.known_state(), Some(RotationState::Running));
    assert_eq!((waiting.done, waiting.total), (4, 4));
    let keys = admin.agent.get("/admin/keys").await;
    let doors = keys.text_of("doors").expect("the intake left behind");
    assert!(doors.contains("intake-behind") && doors.contains(&old), "{doors}");
    stop.send(true).unwrap();
    running.await.unwrap();
    let given_back = app.store.rotation(&id).await.unwrap().unwrap();
    assert_eq!(given_back.known_state(), Some(RotationState::Requested));
    assert_eq!((given_back.done, given_back.total), (4, 4));
    let page = admin.agent.get(&path).await;
    assert!(page.contains(REFRESH));
    assert!(cell_contains(&page, "rotation-note", "given back"));

    // Another worker takes it, and dies with it (its row stays running); nobody else
    // takes it while its lease runs, and the next look after that finishes it.
    let clock = clock_of(&app);
    let now = app.now();
    assert!(app.store.claim_rotation(&id, now, now - 60).await.unwrap());
    assert!(
        redress_cli::rotation_requests::perform_requested(&app.config, &app.store, &*clock)
            .await
            .unwrap()
            .is_none(),
        "a rotation whose worker may still run is left to it"
    );
    beat(given_back.new_fingerprint.clone().expect("the new key, recorded")).await;
    app.advance(61);
    let rotated = redress_cli::rotation_requests::perform_requested(&app.config, &app.store, &*clock)
        .await
        .unwrap()
        .expect("taken up after its lease ran out");
    assert!(rotated.outcome.finished, "{rotated:?}");
    let done = app.store.rotation(&id).await.unwrap().unwrap();
    assert_eq!(done.known_state(), Some(RotationState::Done));
    assert_eq!(
        app.store
            .count_wraps_for_rotation(Holder::Triage, &rotated.new_recipient, false)
            .await
            .unwrap(),
        0
    );
    // It was one rotation all along.
    assert_eq!(app.store.rotations(10).await.unwrap().len(), 1);
}

fn cell_contains(page: &Page, id: &str, text: &str) -> bool {
    page.text_of(id).is_some_and(|t| t.contains(text))
}
