//! The admin pages through HTTP: inviting, the list of people, disabling and enabling,
//! changing roles, resetting an authenticator, and an investigator registered before
//! the portal bringing the identity they hold.

use redress_domain::{AccountState, Role};

use crate::helpers::*;
use crate::staff::*;

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_invites_on_the_page_and_sees_the_link_once() {
    let app = TestApp::spawn().await;
    let portal = app.portal().await;
    let admin = person(&app, &portal, "admin@example.org", Role::Admin, &[]).await;
    for (fields, said) in [
        (
            vec![("email", "not an address"), ("role", "auditor")],
            "not an email address",
        ),
        (
            vec![
                ("email", "cy@example.org"),
                ("role", "auditor"),
                ("teams", "triage-desk"),
            ],
            "for investigators only",
        ),
        (
            vec![("email", "admin@example.org"), ("role", "auditor")],
            "has an account already",
        ),
        (
            vec![("email", "cy@example.org"), ("role", "boss")],
            "Choose a role",
        ),
        (
            vec![
                ("email", "cy@example.org"),
                ("role", "investigator"),
                ("capacity", "lots"),
            ],
            "whole number",
        ),
    ] {
        let refused = admin.agent.submit("/admin", "/admin", &fields).await;
        assert_eq!(refused.status, 422, "{said}");
        assert!(refused.contains(said), "{said}: {}", refused.body);
        // What was typed is back in the form.
        assert!(refused.contains(&format!("value=\"{}\"", fields[0].1)));
    }
    assert!(app.store.pending_invitations(app.now()).await.unwrap().is_empty());

    let made = admin
        .agent
        .submit(
            "/admin",
            "/admin",
            &[
                ("email", " Cy@Example.org "),
                ("role", "investigator"),
                ("teams", "triage-desk, mobile"),
                ("capacity", "3"),
            ],
        )
        .await;
    assert_eq!((made.status, made.location()), (303, "/admin"), "{}", made.body);
    let page = admin.agent.get("/admin").await;
    let link = page.text_of("setup-link").expect("the link, once");
    // Under mail.portal_base_url, else the listen address (port 0 in tests).
    assert!(link.starts_with("http://127.0.0.1:0/setup/"), "{link}");
    assert!(!admin.agent.get("/admin").await.contains(&link), "shown once");
    let pending = app.store.pending_invitations(app.now()).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].email, "cy@example.org");
    assert_eq!(
        pending[0].teams,
        vec!["triage-desk".to_owned(), "mobile".to_owned()]
    );
    assert_eq!(pending[0].capacity, 3);
    assert!(page.contains("cy@example.org"), "listed as pending");
    let entry = app.store.audit_head().await.unwrap().unwrap();
    assert_eq!(
        (entry.action.as_str(), entry.actor),
        ("invitation", format!("account:{}", admin.id))
    );

    // The link sets up the account.
    let path = link.trim_start_matches("http://127.0.0.1:0");
    let cy = set_up(&app, &portal, path, "cy@example.org").await;
    let list = admin.agent.get("/admin").await;
    assert!(list.contains(&format!("/admin/users/{}", cy.id)));
    assert!(
        list.contains(&layout_day(app.now())),
        "last login, to the day: {}",
        list.body
    );
}

fn layout_day(unix: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(unix).unwrap();
    format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
}

#[tokio::test(flavor = "multi_thread")]
async fn disabling_ends_sessions_and_logins_and_enabling_brings_them_back() {
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
    let page = format!("/admin/users/{}", ana.id);
    let done = admin.agent.submit(&page, &page, &[("action", "disable")]).await;
    assert_eq!(
        (done.status, done.location()),
        (303, format!("{page}?done=disable").as_str())
    );
    assert!(
        admin
            .agent
            .get(done.location())
            .await
            .contains("The account is disabled")
    );
    assert_eq!(ana.agent.get("/cases").await.status, 303, "her session ended");
    let refused = ana.login(&app).await;
    assert_eq!(refused.status, 403);
    assert!(refused.contains("The address, the password or the code is not right"));
    let routed = app.store.investigators().await.unwrap();
    assert!(!routed[0].active, "given no new cases");

    admin.agent.submit(&page, &page, &[("action", "enable")]).await;
    assert_eq!(ana.login(&app).await.status, 303);
    assert!(app.store.investigators().await.unwrap()[0].active);

    // Nobody disables or demotes themselves, nor the last admin.
    let own = format!("/admin/users/{}", admin.id);
    let refused = admin.agent.submit(&own, &own, &[("action", "disable")]).await;
    assert_eq!(refused.status, 422);
    assert!(refused.contains("your own account"));
    let actions: Vec<String> = app
        .store
        .audit_after(0, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.action)
        .collect();
    assert!(actions.contains(&"disable".into()) && actions.contains(&"enable".into()));
}

#[tokio::test(flavor = "multi_thread")]
async fn roles_change_with_their_routing_and_the_last_admin_stays() {
    let app = TestApp::spawn().await;
    let portal = app.portal().await;
    let admin = person(&app, &portal, "admin@example.org", Role::Admin, &[]).await;
    let bo = person(&app, &portal, "bo@example.org", Role::Auditor, &[]).await;
    let page = format!("/admin/users/{}", bo.id);

    // An auditor becomes an investigator: routed under their own key.
    let changed = admin
        .agent
        .submit(
            &page,
            &page,
            &[
                ("action", "role"),
                ("role", "investigator"),
                ("teams", "triage-desk"),
                ("capacity", "4"),
            ],
        )
        .await;
    assert_eq!(changed.status, 303, "{}", changed.body);
    let account = app.store.account(bo.id).await.unwrap().unwrap();
    assert_eq!(account.role, Role::Investigator);
    let routed = app.store.investigators().await.unwrap();
    let routed = routed
        .iter()
        .find(|i| Some(i.id) == account.investigator_id)
        .unwrap();
    assert!(routed.active);
    assert_eq!(
        (routed.recipient.as_str(), routed.capacity),
        (account.recipient.as_str(), 4)
    );
    assert_eq!(
        bo.agent.get("/cases").await.status,
        200,
        "the session follows the role"
    );
    assert_eq!(bo.agent.get("/audit").await.status, 404);

    // Then an admin: no more cases.
    admin
        .agent
        .submit(&page, &page, &[("action", "role"), ("role", "admin")])
        .await;
    assert!(!app.store.investigators().await.unwrap()[0].active);

    // Two admins now; the original may be demoted by the new one, but then the new
    // one, the last, may not be.
    let original = format!("/admin/users/{}", admin.id);
    let demoted = bo
        .agent
        .submit(&original, &original, &[("action", "role"), ("role", "auditor")])
        .await;
    assert_eq!(demoted.status, 303, "{}", demoted.body);
    assert_eq!(admin.agent.get("/admin").await.status, 404);
    let last = admin.agent.get("/audit").await;
    assert_eq!(last.status, 200);
    let remaining = app.store.active_accounts_with_role(Role::Admin).await.unwrap();
    assert_eq!(remaining, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reset_authenticator_is_enrolled_again_with_new_recovery_codes() {
    let app = TestApp::spawn().await;
    let portal = app.portal().await;
    let admin = person(&app, &portal, "admin@example.org", Role::Admin, &[]).await;
    let ana = person(&app, &portal, "ana@example.org", Role::Auditor, &[]).await;
    let page = format!("/admin/users/{}", ana.id);
    let reset = admin
        .agent
        .submit(&page, &page, &[("action", "reset_totp")])
        .await;
    assert_eq!(reset.status, 303);
    assert_eq!(ana.agent.get("/audit").await.status, 303, "sessions end");
    assert!(admin.agent.get(&page).await.contains("authenticator not set up"));

    // The password alone now leads to enrolment only; old recovery codes are gone.
    app.advance(30);
    let old_code = ana.login_with(PASSWORD, &ana.codes[0]).await;
    assert_eq!(old_code.location(), "/enrol", "the code field is not asked for");
    assert_eq!(ana.agent.get("/audit").await.location(), "/enrol");
    let secret = ana.agent.get("/enrol").await.text_of("totp-secret").unwrap();
    let totp = redress_crypto::TotpSecret::from_base32(&secret).unwrap();
    assert_ne!(totp.expose(), ana.totp.expose(), "a new secret");
    let done = ana
        .agent
        .submit("/enrol", "/enrol", &[("code", &totp.code_at(app.now()))])
        .await;
    assert_eq!(done.location(), "/enrol/codes");
    let codes = ana.agent.get("/enrol/codes").await;
    assert!(!codes.contains(&ana.codes[0]), "new recovery codes");
    assert_eq!(ana.agent.get("/audit").await.status, 200);
    assert_eq!(
        app.store.account(ana.id).await.unwrap().unwrap().state,
        AccountState::Active
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_investigator_registered_before_keeps_their_key_or_takes_a_new_one() {
    let app = TestApp::spawn().await;
    let portal = app.portal().await;
    let (ana_row, ana_key) = app.investigator("ana@example.org", &["triage-desk"], 5).await;
    let (bo_row, _) = app.investigator("bo@example.org", &["triage-desk"], 5).await;
    // A case each, wrapped to their registered keys.
    let worker = app.worker("w", None);
    for what in [
        "The first report, long enough.",
        "The second report, long enough.",
    ] {
        assert_eq!(app.api_submit(&good_answers(what), &[]).await.status(), 201);
        worker.run_until_idle().await.unwrap();
    }

    // Ana brings her identity (a wrong one first): her cases open as before.
    let link = app.invite("ana@example.org", Role::Investigator, &[]).await;
    let agent = Agent::new(&portal.base);
    let form = agent.get(&link).await;
    assert!(form.contains(&ana_row.recipient), "names her registered key");
    let stranger = redress_crypto::SecretIdentity::generate();
    let wrong = agent
        .submit(
            &link,
            &link,
            &[
                ("password", PASSWORD),
                ("confirm", PASSWORD),
                ("existing_identity", stranger.to_identity_file().as_str()),
            ],
        )
        .await;
    assert_eq!(wrong.status, 422);
    assert!(wrong.contains("not the key you were registered with"));
    let kept = agent
        .submit(
            &link,
            &link,
            &[
                ("password", PASSWORD),
                ("confirm", PASSWORD),
                ("existing_identity", ana_key.to_identity_file().as_str()),
            ],
        )
        .await;
    assert_eq!(kept.location(), "/enrol");
    let ana = app
        .store
        .account_by_email("ana@example.org")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ana.recipient, ana_row.recipient);
    assert_eq!(ana.investigator_id, Some(ana_row.id), "the same routing row");
    assert!(
        !dump_database(&app.store)
            .await
            .contains(ana_key.to_identity_file().trim())
    );

    // Bo takes a new one: his earlier case is marked as wrapped to his earlier key.
    let link = app.invite("bo@example.org", Role::Investigator, &[]).await;
    let bo = set_up(&app, &portal, &link, "bo@example.org").await;
    let account = app.store.account(bo.id).await.unwrap().unwrap();
    assert_ne!(account.recipient, bo_row.recipient);
    let routed = app.store.investigators().await.unwrap();
    let routed = routed.iter().find(|i| i.id == bo_row.id).unwrap();
    assert_eq!(
        routed.recipient, account.recipient,
        "new cases come under the new key"
    );
    assert_eq!(routed.teams, vec!["triage-desk".to_owned()], "kept from before");
    let cases = bo.agent.get("/cases").await;
    assert!(cases.contains("(your earlier key)"), "{}", cases.body);
}
