//! `redress keys rotate web-secret|portal-secret [--force]` (ADR 0031), run as the
//! binary on the app's storage, with the doors started again afterwards as a restart
//! starts them: what the previous secret made is still taken after one rotation and
//! refused after a second or after `--force`, which also ends that door's sessions;
//! `keys status` shows both fingerprints, never a secret; the files stay 0600.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use redress_cli::Overrides;
use redress_crypto::{KdfParams, TotpSecret};
use redress_domain::Role;
use redress_store::test_support::count_rows;

use crate::followup::{come_back, reported};
use crate::helpers::*;
use crate::staff::*;

/// `redress keys rotate WHAT [--force]` on the app's storage; what it printed.
fn rotate(app: &TestApp, what: &str, force: bool) -> String {
    let mut cmd = app.redress_command();
    cmd.args(["keys", "rotate", what]);
    if force {
        cmd.arg("--force");
    }
    let out = cmd.output().unwrap();
    let said = output_text(&out);
    assert!(out.status.success(), "{said}");
    said
}

/// `redress keys status`: the fingerprint on the line of `key`, if it has one.
fn fingerprint(app: &TestApp, key: &str) -> Option<String> {
    let out = app.redress_command().args(["keys", "status"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = String::from_utf8(out.stdout).unwrap();
    out.lines()
        .find_map(|l| l.strip_prefix(key)?.trim_start().strip_prefix("secret:"))
        .map(|rest| format!("secret:{}", rest.split_whitespace().next().unwrap()))
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn overrides(app: &TestApp) -> Overrides {
    let read_clock = Arc::clone(&app.clock);
    Overrides {
        danger_kdf: Some(KdfParams::danger_test_minimum()),
        clock: Some(Arc::new(move || read_clock.load(Ordering::SeqCst))),
    }
}

/// An intake door on the app's storage and clock, built as `redress intake` builds
/// it at its start: what a restart after a rotation runs.
struct Intake {
    base: String,
    client: reqwest::Client,
    handle: actix_web::dev::ServerHandle,
}

impl Intake {
    async fn start(app: &TestApp) -> Self {
        let state = redress_cli::intake_state(&app.config, app.store.clone(), &overrides(app))
            .await
            .unwrap();
        let running = redress_cli::start_intake(app.config.intake_addr().unwrap(), state, 2).unwrap();
        let handle = running.server.handle();
        tokio::spawn(running.server);
        Self {
            base: format!("http://{}", running.addr),
            client: app.client.clone(),
            handle,
        }
    }

    /// The report form's CSRF cookie and token.
    async fn form(&self) -> (String, String) {
        let res = self
            .client
            .get(format!("{}/report", self.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let cookie = set_cookie(&res, redress_web::CSRF_COOKIE).unwrap();
        let token = hidden_value(&res.text().await.unwrap(), redress_web::CSRF_FIELD).unwrap();
        (cookie, token)
    }

    /// Sends a report with a form fetched earlier: its status, and the body of a refusal.
    async fn send(&self, (cookie, token): &(String, String)) -> (u16, String) {
        let fields = good_form_fields("The vendor's implant was on my phone for weeks.");
        let res = self
            .client
            .post(format!("{}/report", self.base))
            .header("cookie", cookie)
            .multipart(TestApp::form_body(Some(token), &fields, &[]))
            .send()
            .await
            .unwrap();
        (res.status().as_u16(), res.text().await.unwrap())
    }

    /// `GET /receipt` with a receipt cookie.
    async fn receipt(&self, cookie: &str) -> u16 {
        self.client
            .get(format!("{}/receipt", self.base))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }
}

impl Drop for Intake {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

/// The audit log's secret entries, "actor action target" each.
async fn secret_audit(app: &TestApp) -> Vec<String> {
    app.store
        .audit_after(0, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action.starts_with("secret_"))
        .map(|e| format!("{} {} {}", e.actor, e.action, e.target.unwrap_or_default()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_web_secret_rotates_keeping_the_previous_until_the_next_or_force() {
    let app = TestApp::spawn().await;
    let first = app.store.setting("web_secret").await.unwrap().unwrap();
    let first_print = fingerprint(&app, "web secret").unwrap();
    assert_eq!(fingerprint(&app, "web secret (previous)"), None);

    // Made with the first secret: an open form, a receipt cookie not yet shown, and a
    // reporter's follow-up session.
    let form = app.form_get().await;
    let sent = app
        .form_submit(&good_form_fields("They read my messages for a year."), &[])
        .await;
    assert_eq!(sent.status(), 303);
    let receipt_cookie = set_cookie(&sent, "redress_receipt").unwrap();
    let (receipt, _) = reported(&app, "The implant came with the update.").await;
    let reporter = Agent::new(&app.base);
    assert_eq!(come_back(&reporter, &receipt).await.status, 303);
    assert_eq!(count_rows(&app.store, "followup_sessions").await, 1);

    let said = rotate(&app, "web-secret", false);
    let second = app.store.setting("web_secret").await.unwrap().unwrap();
    assert_ne!(second, first);
    assert_eq!(
        app.store.setting("web_secret_previous").await.unwrap().unwrap(),
        first
    );
    let second_print = fingerprint(&app, "web secret").unwrap();
    assert_ne!(second_print, first_print);
    assert_eq!(
        fingerprint(&app, "web secret (previous)").as_ref(),
        Some(&first_print)
    );
    assert!(
        said.contains(&format!(
            "Rotated the web secret: {second_print} is the current one; {first_print}"
        )),
        "{said}"
    );
    assert!(said.contains("Restart every intake process"), "{said}");
    for secret in [&first, &second] {
        assert!(!said.contains(&hex::encode(secret)), "{said}");
    }

    // After the restart: what the first secret made is still taken.
    let intake = Intake::start(&app).await;
    let (status, body) = intake.send(&form).await;
    assert_eq!(status, 303, "{body}");
    assert_eq!(intake.receipt(&receipt_cookie).await, 200);
    let mut reporter = reporter;
    reporter.base = intake.base.clone();
    assert_eq!(reporter.get("/followup/case").await.status, 200);
    let form_of_second = intake.form().await;

    // A second rotation drops the first secret; the second is still taken, and
    // sessions go on.
    let said = rotate(&app, "web-secret", false);
    assert!(
        said.contains(&format!("No longer accepted after the restart: {first_print}.")),
        "{said}"
    );
    drop(intake);
    let intake = Intake::start(&app).await;
    let (status, body) = intake.send(&form).await;
    assert_eq!(status, 403, "made with the first secret: {body}");
    assert_eq!(intake.send(&form_of_second).await.0, 303);
    reporter.base = intake.base.clone();
    assert_eq!(reporter.get("/followup/case").await.status, 200);
    let third_print = fingerprint(&app, "web secret").unwrap();
    let form_of_third = intake.form().await;

    // --force: no previous secret, every follow-up session ended at once.
    let said = rotate(&app, "web-secret", true);
    assert!(said.contains("Replaced the web secret"), "{said}");
    assert!(
        said.contains("Ended every reporter's follow-up session (1)."),
        "{said}"
    );
    assert!(
        said.contains(&format!(
            "No longer accepted after the restart: {third_print}, {second_print}."
        )),
        "{said}"
    );
    assert_eq!(app.store.setting("web_secret_previous").await.unwrap(), None);
    assert_eq!(fingerprint(&app, "web secret (previous)"), None);
    assert_eq!(count_rows(&app.store, "followup_sessions").await, 0);
    let ended = reporter.get("/followup/case").await;
    assert_eq!(ended.status, 303);
    assert_eq!(ended.location(), "/followup?ended=1");
    drop(intake);
    let intake = Intake::start(&app).await;
    assert_eq!(intake.send(&form_of_third).await.0, 403);
    assert_eq!(intake.send(&form_of_second).await.0, 403);
    assert_eq!(intake.send(&intake.form().await).await.0, 303);

    // Each rotation is in the audit log, by the command line.
    assert_eq!(
        secret_audit(&app).await,
        [
            "cli secret_rotate secret:web",
            "cli secret_rotate secret:web",
            "cli secret_replace secret:web",
        ]
    );
}

/// A browser that has fetched the login form: the token in it.
async fn login_form(portal: &Portal) -> (Agent, String) {
    let agent = Agent::new(&portal.base);
    let page = agent.get("/login").await;
    let token = hidden_value(&page.body, redress_web::CSRF_FIELD).unwrap();
    (agent, token)
}

/// Sends the login form of `agent`, fetched earlier with `token`, as `who` (a fresh
/// authenticator code).
async fn log_in(app: &TestApp, who: (&str, &TotpSecret), agent: &Agent, token: &str) -> Page {
    app.advance(30);
    let code = who.1.code_at(app.now());
    agent
        .post_raw(
            "/login",
            &[
                (redress_web::CSRF_FIELD, token),
                ("email", who.0),
                ("password", PASSWORD),
                ("code", &code),
            ],
        )
        .await
}

/// The portal started again, and the browsers pointed at it.
async fn restart(app: &TestApp, portal: Portal, agents: &mut [&mut Agent]) -> Portal {
    drop(portal);
    let portal = app.portal().await;
    for agent in agents {
        agent.base = portal.base.clone();
    }
    portal
}

#[tokio::test(flavor = "multi_thread")]
async fn the_portal_secret_rotates_keeping_the_previous_until_the_next_or_force() {
    let app = TestApp::spawn().await;
    let portal = app.portal().await;
    let mut ana = person(
        &app,
        &portal,
        "ana@example.org",
        Role::Investigator,
        &["triage-desk"],
    )
    .await;
    let who = (ana.email.as_str(), &ana.totp);
    let path = app.config.portal_secret_path();
    let previous = path.with_file_name("portal.secret.previous");
    let first = std::fs::read_to_string(&path).unwrap();
    let first_print = fingerprint(&app, "portal secret").unwrap();
    assert_eq!(fingerprint(&app, "portal secret (previous)"), None);

    // Made with the first secret: two login forms, and a signed-in page's form.
    let (mut early, early_token) = login_form(&portal).await;
    let (mut later, later_token) = login_form(&portal).await;
    let account = ana.agent.get("/account").await;
    let ana_token = hidden_value(&account.body, redress_web::CSRF_FIELD).unwrap();

    let said = rotate(&app, "portal-secret", false);
    let second = std::fs::read_to_string(&path).unwrap();
    assert_ne!(second, first);
    assert_eq!(std::fs::read_to_string(&previous).unwrap(), first);
    assert_eq!((mode(&path), mode(&previous)), (0o600, 0o600));
    let second_print = fingerprint(&app, "portal secret").unwrap();
    assert_ne!(second_print, first_print);
    assert_eq!(
        fingerprint(&app, "portal secret (previous)").as_ref(),
        Some(&first_print)
    );
    assert!(
        said.contains(&format!(
            "Rotated the portal secret: {second_print} is the current one; {first_print}"
        )),
        "{said}"
    );
    assert!(said.contains(&previous.display().to_string()), "{said}");
    assert!(said.contains("Restart every portal process"), "{said}");
    for secret in [&first, &second] {
        assert!(!said.contains(secret.trim()), "{said}");
    }

    // After the restart, what the first secret made is still taken: a login form, and
    // the signed-in form (a logout); sessions from before go on.
    let portal = restart(&app, portal, &mut [&mut early, &mut later, &mut ana.agent]).await;
    assert_eq!(ana.agent.get("/cases").await.status, 200);
    let logged_in = log_in(&app, who, &early, &early_token).await;
    assert_eq!(logged_in.status, 303, "{}", logged_in.body);
    assert_eq!(logged_in.location(), "/cases");
    let out = ana
        .agent
        .post_raw("/logout", &[(redress_web::CSRF_FIELD, &ana_token)])
        .await;
    assert_eq!(out.status, 303, "{}", out.body);
    assert_eq!(ana.agent.get("/cases").await.status, 303, "logged out");
    assert_eq!(ana.login(&app).await.status, 303);

    // A second rotation drops the first secret; sessions still go on.
    let said = rotate(&app, "portal-secret", false);
    assert!(
        said.contains(&format!("No longer accepted after the restart: {first_print}.")),
        "{said}"
    );
    assert_eq!(std::fs::read_to_string(&previous).unwrap(), second);
    assert_eq!((mode(&path), mode(&previous)), (0o600, 0o600));
    let portal = restart(&app, portal, &mut [&mut early, &mut later, &mut ana.agent]).await;
    let refused = log_in(&app, who, &later, &later_token).await;
    assert_eq!(refused.status, 403, "made with the first secret");
    assert!(refused.contains("The form has expired"), "{}", refused.body);
    assert_eq!(ana.agent.get("/cases").await.status, 200);
    assert_eq!(early.get("/cases").await.status, 200);
    let (mut third, third_token) = login_form(&portal).await;

    // A previous secret others may read stops the portal, as the secret would.
    std::fs::set_permissions(&previous, std::fs::Permissions::from_mode(0o644)).unwrap();
    let loose = redress_cli::portal_state(&app.config, app.store.clone(), &overrides(&app)).await;
    let problem = format!("{:#}", loose.expect_err("a loose previous secret is refused"));
    assert!(problem.contains("loose permissions"), "{problem}");
    std::fs::set_permissions(&previous, std::fs::Permissions::from_mode(0o600)).unwrap();

    // --force: no previous secret, and every session ends at once, before any restart.
    assert_eq!(count_rows(&app.store, "sessions").await, 2);
    let said = rotate(&app, "portal-secret", true);
    assert!(said.contains("Replaced the portal secret"), "{said}");
    assert!(said.contains("Ended every portal session (2)"), "{said}");
    assert!(!previous.exists());
    assert_eq!(mode(&path), 0o600);
    assert_eq!(fingerprint(&app, "portal secret (previous)"), None);
    assert_eq!(count_rows(&app.store, "sessions").await, 0);
    for agent in [&ana.agent, &early] {
        let out = agent.get("/cases").await;
        assert_eq!(out.status, 303, "the session ended");
        assert!(out.location().starts_with("/login"), "{}", out.location());
    }
    let portal = restart(&app, portal, &mut [&mut third]).await;
    let refused = log_in(&app, who, &third, &third_token).await;
    assert_eq!(refused.status, 403, "made with the secret replaced");
    let (fresh, fresh_token) = login_form(&portal).await;
    assert_eq!(log_in(&app, who, &fresh, &fresh_token).await.status, 303);

    assert_eq!(
        secret_audit(&app).await,
        [
            "cli secret_rotate secret:portal",
            "cli secret_rotate secret:portal",
            "cli secret_replace secret:portal",
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn nothing_to_rotate_is_refused_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let path = app.config.portal_secret_path();
    std::fs::remove_file(&path).unwrap();
    let out = app
        .redress_command()
        .args(["keys", "rotate", "portal-secret"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("portal secret"), "{said}");
    assert!(!path.exists());
    assert!(!path.with_file_name("portal.secret.previous").exists());
    assert!(secret_audit(&app).await.is_empty());
}
