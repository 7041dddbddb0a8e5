//! A new receipt and sharing who one is (ADR 0029): the old receipt stops at once and
//! takes every other session with it, the new one is shown once and opens the thread;
//! what a reporter shares about themselves is sealed to the case key only, shown to
//! assignees on a page of its own that is audited, and found by no search.

use redress_domain::{AuditAction, EntryKind, Holder, Role};
use redress_store::AuditFilter;

use crate::followup::{WRONG, come_back, reported, sessions, without_token};
use crate::helpers::*;
use crate::staff::*;

/// The reporter's keys from a receipt, as the intake derives them.
fn keys_of(app: &TestApp, receipt: &str) -> redress_crypto::ReceiptKeys {
    redress_crypto::derive_receipt_keys(
        &redress_crypto::Receipt::parse(receipt).unwrap(),
        &app.state.receipt_salt,
        &app.state.kdf,
    )
    .unwrap()
}

/// Makes a new receipt from `reporter`'s session, as the form does; the new receipt.
async fn new_receipt(reporter: &Agent) -> String {
    let made = reporter
        .submit("/followup/receipt", "/followup/receipt", &[])
        .await;
    assert_eq!(made.status, 303, "{}", made.body);
    assert_eq!(made.location(), "/followup/receipt/new");
    let shown = reporter.get("/followup/receipt/new").await;
    assert_eq!(shown.status, 200, "{}", shown.body);
    shown.text_of("receipt").unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_receipt_stops_the_old_one_at_once_and_is_shown_once() {
    let app = TestApp::spawn().await;
    let (old, case_ref) = reported(&app, "They read my messages through an implant.").await;
    let case = app.case(&case_ref).await;

    // Someone else has the receipt and a session opened with it.
    let intruder = Agent::new(&app.base);
    assert_eq!(come_back(&intruder, &old).await.status, 303);
    assert_eq!(intruder.get("/followup/case").await.status, 200);

    let reporter = Agent::new(&app.base);
    assert_eq!(come_back(&reporter, &old).await.status, 303);
    let case_page = reporter.get("/followup/case").await;
    assert!(case_page.text_of("new-receipt-link").is_some());
    let form = reporter.get("/followup/receipt").await;
    assert_eq!(form.status, 200);
    let explained = form.text_of("what-happens").unwrap();
    assert!(explained.contains("stops working at once"), "{explained}");
    assert!(explained.contains("shown once"), "{explained}");
    assert!(!form.body.to_lowercase().contains("<script"));

    let new = new_receipt(&reporter).await;
    assert!(redress_crypto::Receipt::parse(&new).is_some(), "{new}");
    assert_ne!(new, old);
    // Once: a second look, or a refresh, does not show it again.
    let again = reporter.get("/followup/receipt/new").await;
    assert_eq!(again.status, 410);
    assert!(again.body.contains("already been shown"));
    assert!(!again.body.contains(&new));

    // The other session is over; this one goes on.
    let out = intruder.get("/followup/case").await;
    assert_eq!(out.status, 303);
    assert_eq!(out.location(), "/followup?ended=1");
    let still = reporter.get("/followup/case").await;
    assert_eq!(still.status, 200);
    assert_eq!(still.text_of("case-ref").unwrap(), case_ref);
    assert_eq!(sessions(&app).await, 1);

    // The old receipt is as wrong as any: the very page of a wrong receipt.
    let wrong = come_back(&Agent::new(&app.base), WRONG).await;
    let refused = come_back(&Agent::new(&app.base), &old).await;
    assert_eq!(refused.status, 422);
    assert_eq!(without_token(&refused.body), without_token(&wrong.body));
    // The new one opens the case, typed loosely like any receipt.
    let elsewhere = Agent::new(&app.base);
    let opened = come_back(&elsewhere, &new.to_uppercase().replace(' ', " - ")).await;
    assert_eq!(opened.status, 303);
    assert_eq!(opened.location(), "/followup/case");
    let page = elsewhere.get("/followup/case").await;
    assert_eq!(page.status, 200);
    assert_eq!(page.text_of("case-ref").unwrap(), case_ref);
    assert!(page.text_of("report").unwrap().contains("through an implant"));

    // At the crypto layer: the new receipt's identity opens the thread key, the old
    // one's neither finds a receipt row nor opens a wrap.
    let (new_keys, old_keys) = (keys_of(&app, &new), keys_of(&app, &old));
    let thread = redress_keychain::open_thread_as_reporter(&app.store, case.id, &new_keys.identity)
        .await
        .unwrap();
    assert_eq!(thread.public().to_string(), case.thread_recipient);
    assert!(
        redress_keychain::open_thread_as_reporter(&app.store, case.id, &old_keys.identity)
            .await
            .is_err()
    );
    assert!(app.store.receipt(&old_keys.lookup).await.unwrap().is_none());
    assert_eq!(
        app.store
            .receipt(&new_keys.lookup)
            .await
            .unwrap()
            .unwrap()
            .case_id,
        case.id
    );
    assert_eq!(
        app.store
            .wraps(case.id, Holder::Reporter.kind())
            .await
            .unwrap()
            .len(),
        1
    );
    // Colleagues' and the recovery's way in is untouched.
    let case_key = redress_keychain::open_case_key(&app.store, case.id, Holder::Recovery, &app.recovery)
        .await
        .unwrap();
    redress_keychain::open_thread_key(&app.store, case.id, &case_key)
        .await
        .unwrap();

    // A copy of the database holds neither receipt.
    let dump = dump_database(&app.store).await;
    assert!(!dump.contains(&old));
    assert!(!dump.contains(&new));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_receipt_needs_the_form_s_token_and_a_session() {
    let app = TestApp::spawn().await;
    let (old, _) = reported(&app, "My phone sent my location to someone.").await;
    let reporter = Agent::new(&app.base);
    assert_eq!(come_back(&reporter, &old).await.status, 303);
    let lookup = keys_of(&app, &old).lookup;

    for fields in [vec![], vec![("csrf_token", "not-a-token")]] {
        let refused = reporter.post_raw("/followup/receipt", &fields).await;
        assert_eq!(refused.status, 403, "{fields:?}");
        assert!(refused.body.contains("could not be read"));
        assert!(
            refused
                .headers
                .get("set-cookie")
                .is_none_or(|c| { !c.to_str().unwrap().starts_with("redress_new_receipt=") })
        );
    }
    // Nothing changed: the receipt opens the case, and the reporter's session is there.
    assert!(app.store.receipt(&lookup).await.unwrap().is_some());
    assert_eq!(reporter.get("/followup/case").await.status, 200);
    assert_eq!(come_back(&Agent::new(&app.base), &old).await.status, 303);

    // Without a session: back to the receipt form, nothing made.
    let stranger = Agent::new(&app.base);
    let token_page = stranger.get("/followup").await;
    assert_eq!(token_page.status, 200);
    let no_session = stranger.submit("/followup", "/followup/receipt", &[]).await;
    assert_eq!(no_session.status, 303);
    assert_eq!(no_session.location(), "/followup?ended=1");
    assert_eq!(stranger.get("/followup/receipt").await.status, 303);
    assert_eq!(stranger.get("/followup/receipt/new").await.status, 410);
    assert!(app.store.receipt(&lookup).await.unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn who_the_reporter_is_is_sealed_to_the_case_key_and_shown_on_an_audited_page_only() {
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
    let ben = person(
        &app,
        &portal,
        "ben@example.org",
        Role::Investigator,
        &["triage-desk"],
    )
    .await;
    let (receipt, case_ref) = reported(&app, "They followed me through my phone.").await;
    let case = app.case(&case_ref).await;
    let ana_inv = app
        .store
        .account(ana.id)
        .await
        .unwrap()
        .unwrap()
        .investigator_id
        .unwrap();
    assert!(
        app.store.is_assigned(case.id, ana_inv).await.unwrap(),
        "ana's case"
    );

    let reporter = Agent::new(&app.base);
    assert_eq!(come_back(&reporter, &receipt).await.status, 303);
    assert!(
        reporter
            .get("/followup/case")
            .await
            .text_of("identity-link")
            .is_some()
    );
    let form = reporter.get("/followup/identity").await;
    assert_eq!(form.status, 200);
    let before = form.text_of("before-sharing").unwrap();
    for said in [
        "optional",
        "lead to you",
        "Only the investigators assigned",
        "cannot be read back",
    ] {
        assert!(before.contains(said), "{said}: {before}");
    }
    let name = random_marker("Mariam");
    let disclosed = format!("{name}, Signal: {name}.42");
    app.advance(7 * 60 + 13);
    let sent = reporter
        .submit(
            "/followup/identity",
            "/followup/identity",
            &[("identity", &disclosed)],
        )
        .await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    assert_eq!(sent.location(), "/followup/identity?shared=1");
    let after = reporter.get("/followup/identity?shared=1").await;
    assert!(after.text_of("shared").unwrap().contains("not shown here"));
    // The reporter's pages never give it back.
    assert!(!after.body.contains(&name));
    let own = reporter.get("/followup/case").await;
    assert_eq!(own.status, 200);
    assert!(!own.body.contains(&name));

    // Stored as an entry of its own: no author, the hour, sealed to the case key only.
    let entries = app.store.entries(case.id).await.unwrap();
    let disclosure = entries
        .iter()
        .find(|e| e.kind == EntryKind::IdentityDisclosure)
        .unwrap();
    assert_eq!(disclosure.author, None);
    assert_eq!(disclosure.at, redress_domain::hour_floor(app.now()));
    let thread =
        redress_keychain::open_thread_as_reporter(&app.store, case.id, &keys_of(&app, &receipt).identity)
            .await
            .unwrap();
    assert!(redress_crypto::open(&thread, &disclosure.ciphertext).is_err());
    let case_key = redress_keychain::open_case_key(&app.store, case.id, Holder::Recovery, &app.recovery)
        .await
        .unwrap();
    let plain = redress_crypto::open(&case_key, &disclosure.ciphertext).unwrap();
    let doc = <redress_domain::EntryDocument as redress_domain::Sealed>::from_json(&plain).unwrap();
    assert_eq!(doc.text, disclosed);
    assert!(!dump_database(&app.store).await.contains(&name));

    // The case page says it exists, and no more.
    let page = ana.agent.get(&format!("/cases/{case_ref}")).await;
    assert_eq!(page.status, 200);
    let item = page.text_of("identity-shared").unwrap();
    assert!(item.contains("The reporter shared who they are"), "{item}");
    assert!(!page.body.contains(&name));
    assert!(
        !page
            .text_of("entries")
            .unwrap_or_default()
            .contains("shared who they are")
    );
    // Search does not open it.
    let found = ana.agent.submit("/search", "/search", &[("q", &name)]).await;
    assert_eq!(found.status, 200);
    assert!(found.text_of("no-hits").is_some(), "{}", found.body);
    assert!(!found.body.contains(&format!("{name}.42")));
    // Its own page shows it, and the view is audited.
    let identity_views = || async {
        let filter = AuditFilter {
            action: Some(AuditAction::IdentityView.as_str().to_owned()),
            ..AuditFilter::default()
        };
        app.store.audit_page(&filter, None, 10).await.unwrap()
    };
    assert!(identity_views().await.is_empty());
    let shown = ana.agent.get(&format!("/cases/{case_ref}/identity")).await;
    assert_eq!(shown.status, 200);
    assert!(shown.text_of("identity").unwrap().contains(&disclosed));
    let views = identity_views().await;
    assert_eq!(views.len(), 1);
    assert_eq!(views[0].actor, format!("account:{}", ana.id));
    assert_eq!(
        views[0].target.as_deref(),
        Some(format!("case:{case_ref}").as_str())
    );
    // Another investigator gets the 404 of a page that does not exist.
    let refused = ben.agent.get(&format!("/cases/{case_ref}/identity")).await;
    assert_eq!(refused.status, 404);
    assert!(!refused.body.contains(&name));
    assert_eq!(identity_views().await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_or_too_long_disclosure_or_one_without_its_token_stores_nothing() {
    let app = TestApp::spawn().await;
    let (receipt, case_ref) = reported(&app, "Someone switched my microphone on.").await;
    let case = app.case(&case_ref).await;
    let reporter = Agent::new(&app.base);
    assert_eq!(come_back(&reporter, &receipt).await.status, 303);
    let entries = || async { app.store.entries(case.id).await.unwrap().len() };
    let before = entries().await;

    let empty = reporter
        .submit(
            "/followup/identity",
            "/followup/identity",
            &[("identity", "  \r\n ")],
        )
        .await;
    assert_eq!(empty.status, 422);
    assert!(
        empty
            .text_of("identity-error")
            .unwrap()
            .contains("Write your name")
    );

    let long = "x".repeat(2_001);
    let too_long = reporter
        .submit("/followup/identity", "/followup/identity", &[("identity", &long)])
        .await;
    assert_eq!(too_long.status, 422);
    assert!(
        too_long
            .text_of("identity-error")
            .unwrap()
            .contains("at most 2000 characters")
    );
    // Given back to be shortened.
    assert!(too_long.text_of("identity").unwrap().contains(&long));

    let far_too_long = "é".repeat(20_000);
    let huge = reporter
        .submit(
            "/followup/identity",
            "/followup/identity",
            &[("identity", &far_too_long)],
        )
        .await;
    assert_eq!(huge.status, 413);
    assert!(huge.text_of("identity-error").unwrap().contains("too long"));

    for fields in [
        vec![("identity", "Mariam, +1 555 0100")],
        vec![("csrf_token", "forged"), ("identity", "Mariam, +1 555 0100")],
    ] {
        let refused = reporter.post_raw("/followup/identity", &fields).await;
        assert_eq!(refused.status, 403, "{fields:?}");
    }
    assert_eq!(entries().await, before, "nothing stored");
    assert!(!dump_database(&app.store).await.contains("555 0100"));
    // The session goes on.
    assert_eq!(reporter.get("/followup/case").await.status, 200);
}
