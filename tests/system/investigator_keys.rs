//! An investigator's own key (ADR 0033): replaced by the person in the portal, resumed
//! after a stop part-way, kept through a password change, and recovered with the
//! recovery identity when the password or authenticator is lost.

use std::time::Duration;

use redress_crypto::{KdfParams, Password, SecretIdentity, derive_password_key, unwrap_identity};
use redress_domain::{AccountState, Holder, InvestigatorId, Role};

use crate::helpers::*;
use crate::staff::*;

/// Submits `n` reports, each with a marker of its own, and triages them; returns
/// (reference, marker) of each.
async fn reports(app: &TestApp, n: usize) -> Vec<(String, String)> {
    let worker = app.worker("w", None);
    let mut out = Vec::new();
    for _ in 0..n {
        let marker = random_marker("case");
        let res = app
            .api_submit(&good_answers(&format!("They read my messages: {marker}.")), &[])
            .await;
        assert_eq!(res.status(), 201);
        let body: serde_json::Value = res.json().await.unwrap();
        out.push((body["case_ref"].as_str().unwrap().to_owned(), marker));
        worker.run_until_idle().await.unwrap();
    }
    out
}

async fn investigator_of(app: &TestApp, who: &Person) -> InvestigatorId {
    app.store
        .account(who.id)
        .await
        .unwrap()
        .unwrap()
        .investigator_id
        .unwrap()
}

/// The references of the cases assigned to `who`.
async fn cases_of(app: &TestApp, who: &Person) -> Vec<String> {
    let inv = investigator_of(app, who).await;
    let mut refs: Vec<String> = app
        .store
        .assigned_cases(inv)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.case_ref.to_string())
        .collect();
    refs.sort();
    refs
}

/// How many of `refs` the identity opens as `who`'s wraps, down to the objects.
async fn opened(app: &TestApp, who: InvestigatorId, identity: &SecretIdentity, refs: &[String]) -> usize {
    let mut n = 0;
    for r in refs {
        if app.open_as(r, Holder::Investigator(who), identity).await.is_ok() {
            n += 1;
        }
    }
    n
}

/// The identity a password opens from the account as stored, if it opens one.
async fn identity_with(app: &TestApp, who: &Person, password: &str) -> Option<SecretIdentity> {
    let account = app.store.account(who.id).await.unwrap().unwrap();
    let params = KdfParams {
        m_kib: account.kdf.m_kib,
        t: account.kdf.t,
        p: account.kdf.p,
    };
    let key = derive_password_key(&Password::new(password.to_owned()), &account.kdf.salt, &params).unwrap();
    unwrap_identity(&account.identity_wrap, &key).ok()
}

/// Ana, an investigator with room for every case, holding `n` cases that the worker
/// routed to her, and her first identity.
struct Busy {
    app: TestApp,
    portal: Portal,
    ana: Person,
    inv: InvestigatorId,
    refs: Vec<String>,
    first: SecretIdentity,
}

async fn busy(n: usize) -> Busy {
    let app = TestApp::spawn().await;
    let portal = app.portal().await;
    let link = app
        .invite_with_capacity("ana@example.org", Role::Investigator, &["triage-desk"], 1000)
        .await;
    let ana = set_up(&app, &portal, &link, "ana@example.org").await;
    let mut refs = submit_reports(&app, n, "Report").await;
    app.worker("w", None).run_until_idle().await.unwrap();
    refs.sort();
    assert_eq!(cases_of(&app, &ana).await, refs, "she holds every case");
    Busy {
        inv: investigator_of(&app, &ana).await,
        first: identity_of(&app, &ana).await,
        app,
        portal,
        ana,
        refs,
    }
}

/// Every one of `refs` opens as `inv`'s with `new`, or else with `old`: a case with
/// neither would be lost. Returns how many open with `new`.
async fn each_opens_with_one_of(
    app: &TestApp,
    inv: InvestigatorId,
    new: &SecretIdentity,
    old: &SecretIdentity,
    refs: &[String],
) -> usize {
    let mut on_new = 0;
    for r in refs {
        if app.open_as(r, Holder::Investigator(inv), new).await.is_ok() {
            on_new += 1;
        } else {
            app.open_as(r, Holder::Investigator(inv), old)
                .await
                .unwrap_or_else(|e| panic!("{r} opens with neither key: {e}"));
        }
    }
    on_new
}

fn audited(log: &[redress_store::AuditRecord], action: &str) -> usize {
    log.iter().filter(|r| r.action == action).count()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replaced_key_opens_every_case_of_hers_and_the_old_one_none() {
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
    let cases = reports(&app, 3).await;
    let refs = cases_of(&app, &ana).await;
    assert_eq!(refs.len(), 3, "the only investigator holds every case");
    let inv = investigator_of(&app, &ana).await;
    let old = identity_of(&app, &ana).await;
    assert_eq!(opened(&app, inv, &old, &refs).await, 3);

    // The page needs her password: a wrong one changes nothing.
    let page = ana.agent.get("/account/key").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.text_of("recipient").unwrap(), old.public().to_string());
    let refused = ana
        .agent
        .submit(
            "/account/key",
            "/account/key",
            &[("password", "not her password at all")],
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(refused.contains("Nothing was changed"), "{}", refused.body);
    assert_eq!(identity_of(&app, &ana).await.public(), old.public());
    assert!(app.store.key_change(ana.id).await.unwrap().is_none());
    assert_eq!(opened(&app, inv, &old, &refs).await, 3);

    let done = ana
        .agent
        .submit("/account/key", "/account/key", &[("password", PASSWORD)])
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(
        done.text_of("notice").unwrap().contains("3 cases were moved"),
        "{}",
        done.body
    );

    // The new identity, read back as a login reads it, opens all of them; the old
    // one none. Nothing of the change is left, and the page shows the new key.
    let new = identity_of(&app, &ana).await;
    assert_ne!(new.public(), old.public());
    assert_eq!(done.text_of("recipient").unwrap(), new.public().to_string());
    assert_eq!(opened(&app, inv, &new, &refs).await, 3);
    assert_eq!(opened(&app, inv, &old, &refs).await, 0);
    assert!(app.store.key_change(ana.id).await.unwrap().is_none());
    let routing = app.store.investigators().await.unwrap();
    let row = routing.iter().find(|i| i.id == inv).unwrap();
    assert_eq!(row.recipient, new.public().to_string());

    // Her session holds the new identity: her cases read as before, without a login.
    for (r, marker) in &cases {
        let page = ana.agent.get(&format!("/cases/{r}")).await;
        assert_eq!(page.status, 200);
        assert!(page.contains(marker), "{r} opens in the same session");
    }
    // And after logging in again.
    ana.logout().await;
    let login = ana.login(&app).await;
    assert_eq!(login.status, 303, "{}", login.body);
    let (r, marker) = &cases[0];
    assert!(ana.agent.get(&format!("/cases/{r}")).await.contains(marker));

    // A hand-over that wrapped a case key to the old key before the change and commits
    // after it is refused (its job retries with the new key): nothing new is left on
    // the old key for a rotation to miss.
    let case = app.case(&refs[0]).await;
    let late = redress_keychain::wrap_case_key(
        &SecretIdentity::generate(),
        Holder::Investigator(inv),
        &old.public(),
    )
    .unwrap();
    assert!(matches!(
        app.store.add_wraps(case.id, &[late]).await,
        Err(redress_store::StoreError::KeyChanged)
    ));

    // A case triaged afterwards is wrapped to the new key.
    let later = reports(&app, 1).await;
    let later = vec![later[0].0.clone()];
    assert_eq!(opened(&app, inv, &new, &later).await, 1);
    assert_eq!(opened(&app, inv, &old, &later).await, 0);

    let log = app.store.audit_after(0, 1000).await.unwrap();
    assert_eq!(audited(&log, "key_rotate"), 1);
    let rotation = app.store.rotations(10).await.unwrap();
    assert!(
        rotation.iter().any(|r| r.kind == "investigator"
            && r.state == "done"
            && r.subject == Some(inv.to_string())
            && r.new_fingerprint == Some(new.public().to_string())),
        "{rotation:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replacement_stopped_part_way_loses_nothing_and_the_next_login_or_visit_finishes_it() {
    let app = TestApp::spawn().await;
    // One wrap per transaction, so a failure can fall between two of them.
    let portal = app
        .portal_tuned(KdfParams::danger_test_minimum(), |_| {}, |s| s.key_batch = 1)
        .await;
    let ana = person(
        &app,
        &portal,
        "ana@example.org",
        Role::Investigator,
        &["triage-desk"],
    )
    .await;
    let bo = person(
        &app,
        &portal,
        "bo@example.org",
        Role::Investigator,
        &["triage-desk"],
    )
    .await;
    reports(&app, 6).await;

    for (who, finish_by_login) in [(&ana, true), (&bo, false)] {
        let refs = cases_of(&app, who).await;
        assert!(refs.len() >= 2, "{}: {refs:?}", who.email);
        let inv = investigator_of(&app, who).await;
        let old = identity_of(&app, who).await;

        // The database goes away after the first batch.
        app.store.danger_fail_wrap_replace_after(1);
        let stopped = who
            .agent
            .submit("/account/key", "/account/key", &[("password", PASSWORD)])
            .await;
        assert!(stopped.status >= 500, "{}: {}", stopped.status, stopped.body);

        // Nothing is lost meanwhile: the new identity is the account's, and opens the
        // case moved; the old one, kept sealed to the new, opens the others.
        let new = identity_of(&app, who).await;
        assert_ne!(new.public(), old.public());
        let change = app.store.key_change(who.id).await.unwrap().unwrap();
        let kept = unwrap_identity(change.previous_identity.as_deref().unwrap(), &new).unwrap();
        assert_eq!(kept.public(), old.public());
        let on_new = opened(&app, inv, &new, &refs).await;
        assert_eq!(on_new, 1, "one batch of one went through");
        assert_eq!(opened(&app, inv, &old, &refs).await, refs.len() - 1);

        if finish_by_login {
            who.logout().await;
            let login = who.login(&app).await;
            assert_eq!(login.status, 303, "{}", login.body);
        } else {
            let page = who.agent.get("/account/key").await;
            assert_eq!(page.status, 200, "{}", page.body);
            assert!(
                page.text_of("notice").unwrap().contains("were moved"),
                "{}",
                page.body
            );
        }
        assert!(app.store.key_change(who.id).await.unwrap().is_none());
        assert_eq!(opened(&app, inv, &new, &refs).await, refs.len());
        assert_eq!(opened(&app, inv, &old, &refs).await, 0);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_password_opens_every_case_and_the_old_password_nothing() {
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
    let cases = reports(&app, 2).await;
    let refs = cases_of(&app, &ana).await;
    let inv = investigator_of(&app, &ana).await;
    let before = identity_of(&app, &ana).await;

    let new_password = "copper lantern orchard whistle";
    let changed = ana
        .agent
        .submit(
            "/account",
            "/account",
            &[
                ("current_password", PASSWORD),
                ("new_password", new_password),
                ("confirm", new_password),
            ],
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert!(
        identity_with(&app, &ana, PASSWORD).await.is_none(),
        "the old password opens nothing"
    );
    let after = identity_with(&app, &ana, new_password).await.unwrap();
    assert_eq!(after.public(), before.public(), "the same identity, sealed anew");
    assert_eq!(opened(&app, inv, &after, &refs).await, refs.len());

    // The old password no longer logs in; the new one does, and her cases read.
    ana.logout().await;
    app.advance(30);
    let code = ana.totp.code_at(app.now());
    assert_eq!(ana.login_with(PASSWORD, &code).await.status, 403);
    ana.password = new_password.to_owned();
    let login = ana.login(&app).await;
    assert_eq!(login.status, 303, "{}", login.body);
    for (r, marker) in &cases {
        assert!(ana.agent.get(&format!("/cases/{r}")).await.contains(marker));
    }
}

/// `redress keys recover-investigator EMAIL` on the test app, with the identity in
/// `file` (none: the option left out).
fn recover_command(app: &TestApp, email: &str, file: Option<&std::path::Path>) -> std::process::Command {
    let mut cmd = app.redress_command();
    cmd.args(["keys", "recover-investigator", email]);
    if let Some(f) = file {
        cmd.arg("--recovery-identity").arg(f);
    }
    cmd
}

/// Runs [`recover_command`]: whether it succeeded, its exit status, what it said.
fn recover(app: &TestApp, email: &str, file: Option<&std::path::Path>) -> (bool, Option<i32>, String) {
    let out = recover_command(app, email, file).output().unwrap();
    let said = output_text(&out);
    (out.status.success(), out.status.code(), said)
}

/// The first run of a recovery: [`recover`] with `--begin`.
fn begin(app: &TestApp, email: &str, file: &std::path::Path) -> (bool, Option<i32>, String) {
    let out = recover_command(app, email, Some(file))
        .arg("--begin")
        .output()
        .unwrap();
    let said = output_text(&out);
    (out.status.success(), out.status.code(), said)
}

/// Every stored row of the wraps `inv` holds.
async fn wrap_rows(app: &TestApp, inv: InvestigatorId) -> Vec<String> {
    let mut rows: Vec<String> = dump_database(&app.store)
        .await
        .lines()
        .filter(|l| l.starts_with("key_wraps ") && l.contains(&inv.to_string()))
        .map(str::to_owned)
        .collect();
    rows.sort();
    rows
}

#[tokio::test(flavor = "multi_thread")]
async fn a_recovered_investigator_opens_all_her_cases_again_with_the_recovery_identity_and_nobody_else_s() {
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
    let bo = person(
        &app,
        &portal,
        "bo@example.org",
        Role::Investigator,
        &["triage-desk"],
    )
    .await;
    let cases = reports(&app, 5).await;
    let (ana_refs, bo_refs) = (cases_of(&app, &ana).await, cases_of(&app, &bo).await);
    assert!(!ana_refs.is_empty() && !bo_refs.is_empty());
    let (ana_inv, bo_inv) = (
        investigator_of(&app, &ana).await,
        investigator_of(&app, &bo).await,
    );
    let (ana_old, bo_id) = (identity_of(&app, &ana).await, identity_of(&app, &bo).await);
    let bo_before = wrap_rows(&app, bo_inv).await;
    let ana_before = wrap_rows(&app, ana_inv).await;
    let recovery_file = app.offline_dir.join("recovery.txt");

    // Without the recovery identity, or with another, nothing happens.
    let (ok, _, said) = recover(&app, "ana@example.org", None);
    assert!(!ok, "{said}");
    assert!(said.contains("--recovery-identity"), "{said}");
    let wrong = app.dir.path().join("not-recovery.txt");
    std::fs::write(&wrong, SecretIdentity::generate().to_identity_file().as_str()).unwrap();
    let (ok, _, said) = recover(&app, "ana@example.org", Some(&wrong));
    assert!(!ok, "{said}");
    assert!(said.contains("not the recovery identity"), "{said}");
    assert!(said.contains("Nothing was changed"), "{said}");
    let account = app.store.account(ana.id).await.unwrap().unwrap();
    assert_eq!(account.state, AccountState::Active);
    assert!(app.store.key_change(ana.id).await.unwrap().is_none());
    assert!(app.store.pending_invitations(app.now()).await.unwrap().is_empty());
    assert_eq!(wrap_rows(&app, ana_inv).await, ana_before);
    assert_eq!(ana.agent.get("/cases").await.status, 200, "her session goes on");

    // Without --begin, nothing is begun.
    let (ok, _, said) = recover(&app, "ana@example.org", Some(&recovery_file));
    assert!(!ok, "{said}");
    assert!(said.contains("run again with --begin"), "{said}");
    assert!(said.contains("Nothing was changed"), "{said}");
    let account = app.store.account(ana.id).await.unwrap().unwrap();
    assert_eq!(account.state, AccountState::Active);
    assert_eq!(ana.agent.get("/cases").await.status, 200, "her session goes on");

    // First run: her old login stops, her wraps stay, a link is printed.
    let (ok, _, said) = begin(&app, "ana@example.org", &recovery_file);
    assert!(ok, "{said}");
    assert!(said.contains("Recovery of ana@example.org begun"), "{said}");
    let link = said
        .split_whitespace()
        .find_map(|w| w.find("/setup/").map(|at| w[at..].to_owned()))
        .unwrap_or_else(|| panic!("a link: {said}"));
    let account = app.store.account(ana.id).await.unwrap().unwrap();
    assert_eq!(account.state, AccountState::Recovering);
    assert_eq!(ana.agent.get("/cases").await.status, 303, "her session ended");
    assert_ne!(
        ana.login(&app).await.location(),
        "/cases",
        "her old login is refused"
    );
    assert_eq!(
        wrap_rows(&app, ana_inv).await,
        ana_before,
        "her wraps are as they were"
    );
    assert!(
        !app.store
            .investigators()
            .await
            .unwrap()
            .iter()
            .any(|i| i.id == ana_inv && i.active)
    );

    // Run again before she set up: it waits, changing nothing.
    let (ok, code, said) = recover(&app, "ana@example.org", Some(&recovery_file));
    assert!(!ok && code == Some(3), "{said}");
    assert!(
        said.contains("has not set up from the recovery link yet"),
        "{said}"
    );

    // She sets up anew through the link: a new password, authenticator and identity.
    let ana = set_up(&app, &portal, &link, "ana@example.org").await;
    let ana_new = identity_of(&app, &ana).await;
    assert_ne!(ana_new.public(), ana_old.public());
    assert_eq!(
        opened(&app, ana_inv, &ana_new, &ana_refs).await,
        0,
        "not wrapped to it yet"
    );

    // Second run: her cases are wrapped to her new key.
    let (ok, _, said) = recover(&app, "ana@example.org", Some(&recovery_file));
    assert!(ok, "{said}");
    assert!(said.contains("Recovered ana@example.org"), "{said}");
    assert_eq!(opened(&app, ana_inv, &ana_new, &ana_refs).await, ana_refs.len());
    assert_eq!(opened(&app, ana_inv, &ana_old, &ana_refs).await, 0);
    for (r, marker) in cases.iter().filter(|(r, _)| ana_refs.contains(r)) {
        assert!(
            ana.agent.get(&format!("/cases/{r}")).await.contains(marker),
            "{r}"
        );
    }
    let routing = app.store.investigators().await.unwrap();
    let row = routing.iter().find(|i| i.id == ana_inv).unwrap();
    assert_eq!(row.recipient, ana_new.public().to_string());
    assert!(row.active);
    assert!(app.store.key_change(ana.id).await.unwrap().is_none());

    // The same command again, from the shell's history: nothing is begun anew.
    let ana_after = wrap_rows(&app, ana_inv).await;
    let (ok, _, said) = recover(&app, "ana@example.org", Some(&recovery_file));
    assert!(!ok, "{said}");
    assert!(
        said.contains("no recovery of ana@example.org is under way"),
        "{said}"
    );
    let account = app.store.account(ana.id).await.unwrap().unwrap();
    assert_eq!(account.state, AccountState::Active);
    assert_eq!(ana.agent.get("/cases").await.status, 200, "her session goes on");
    assert_eq!(wrap_rows(&app, ana_inv).await, ana_after);

    // Bo's wraps are untouched, and still open his cases; the recovery identity opened
    // nobody else's.
    assert_eq!(wrap_rows(&app, bo_inv).await, bo_before);
    assert_eq!(opened(&app, bo_inv, &bo_id, &bo_refs).await, bo_refs.len());
    assert_eq!(opened(&app, ana_inv, &ana_new, &bo_refs).await, 0);

    let log = app.store.audit_after(0, 1000).await.unwrap();
    assert_eq!(audited(&log, "key_recovery_start"), 1);
    assert_eq!(audited(&log, "key_recover"), 1);
    assert!(
        log.iter()
            .filter(|r| r.action.starts_with("key_recover"))
            .all(|r| r.actor == "cli")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replacement_in_a_portal_killed_at_random_points_loses_nothing_and_a_visit_finishes_it() {
    let Busy {
        app,
        ana,
        inv,
        refs,
        first: old,
        ..
    } = busy(150).await;
    // A real portal process, one wrap per transaction, so that kills fall between them.
    let start = || PortalProcess::start_with(&app, &[("REDRESS_PORTAL__KEY_BATCH", "1")]);

    // A replacement is asked for and killed at a random moment; while one is under way,
    // a visit of the key page carries on with it, and is killed too. A kill that fell
    // before the replacement began (or after it ended) leads to another, with a longer
    // wait: the rounds go on until kills have cut one part-way and it was finished.
    // The session outlives the processes (it is a row).
    let mut process = start();
    let mut agent = process.log_in(&ana).await;
    let (mut killed, mut under_way, mut longest) = (0, 0, 300);
    let mut before = old.clone();
    for round in 0.. {
        assert!(
            round < 25,
            "no kill left a replacement under way: make the work larger"
        );
        let resuming = app.store.key_change(ana.id).await.unwrap().is_some();
        if !resuming {
            if under_way > 0 {
                break;
            }
            before = identity_of(&app, &ana).await;
        }
        let request = async {
            if resuming {
                agent.get("/account/key").await
            } else {
                agent
                    .submit("/account/key", "/account/key", &[("password", PASSWORD)])
                    .await
            }
        };
        let wait = Duration::from_millis(rand::Rng::gen_range(&mut rand::thread_rng(), 10..longest));
        let finished = tokio::select! {
            page = request => { assert_eq!(page.status, 200, "{}", page.body); true }
            () = tokio::time::sleep(wait) => false,
        };
        drop(process); // SIGKILL
        if !finished {
            killed += 1;
        }
        // Whatever the kill cut, every case opens with her key now or the one before.
        let current = identity_of(&app, &ana).await;
        let on_new = each_opens_with_one_of(&app, inv, &current, &before, &refs).await;
        if app.store.key_change(ana.id).await.unwrap().is_some() {
            under_way += 1;
            eprintln!(
                "round {round}: killed with {on_new} of {} wraps moved",
                refs.len()
            );
        } else if !finished && current.public() == before.public() {
            // Killed before it began: the machine is slower than the wait.
            longest = (longest * 3 / 2).min(5_000);
        }
        process = start();
        agent.base.clone_from(&process.base);
    }
    assert!(killed > 0, "no request was killed part-way: make the work larger");

    let page = agent.get("/account/key").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(app.store.key_change(ana.id).await.unwrap().is_none());
    let new = identity_of(&app, &ana).await;
    assert_ne!(new.public(), old.public());
    assert_eq!(opened(&app, inv, &new, &refs).await, refs.len());
    assert_eq!(opened(&app, inv, &old, &refs).await, 0);
    assert_eq!(opened(&app, inv, &before, &refs).await, 0);
    assert_eq!(page.text_of("recipient").unwrap(), new.public().to_string());
    let routing = app.store.investigators().await.unwrap();
    assert_eq!(
        routing.iter().find(|i| i.id == inv).unwrap().recipient,
        new.public().to_string()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_recovery_killed_at_random_points_finishes_when_run_again() {
    let Busy {
        app,
        portal,
        inv,
        refs,
        first: lost,
        ..
    } = busy(150).await;
    let recovery_file = app.offline_dir.join("recovery.txt");

    let (ok, _, said) = begin(&app, "ana@example.org", &recovery_file);
    assert!(ok, "{said}");
    let link = said
        .split_whitespace()
        .find_map(|w| w.find("/setup/").map(|at| w[at..].to_owned()))
        .unwrap_or_else(|| panic!("a link: {said}"));
    let ana = set_up(&app, &portal, &link, "ana@example.org").await;
    let new = identity_of(&app, &ana).await;

    // The second run, one wrap per transaction, killed at random points.
    let run = || {
        let mut cmd = recover_command(&app, "ana@example.org", Some(&recovery_file));
        cmd.args(["--batch", "1"]);
        cmd
    };
    // A whole run takes about half a second here; each kill leaves less to the next.
    let (killed, out) = run_with_kills(run, 6, 10..300);
    let said = output_text(&out);
    assert!(killed > 0, "no run was killed part-way: make the work larger");
    // The last run finished it, or found a killed one had just before its kill.
    assert!(
        (out.status.success() && said.contains("Recovered ana@example.org"))
            || said.contains("no recovery of ana@example.org is under way"),
        "the resumed recovery finished: {said}"
    );

    assert_eq!(opened(&app, inv, &new, &refs).await, refs.len());
    assert_eq!(opened(&app, inv, &lost, &refs).await, 0);
    assert_eq!(
        wrap_rows(&app, inv).await.len(),
        refs.len(),
        "one wrap a case, none twice"
    );
    assert!(app.store.key_change(ana.id).await.unwrap().is_none());
    let log = app.store.audit_after(0, 1000).await.unwrap();
    assert_eq!(audited(&log, "key_recovery_start"), 1);
    assert_eq!(audited(&log, "key_recover"), 1);
}
