//! The customer register (ADR 0025) through the portal: a concluded case acting on the
//! customer it names, in its own transaction and audit log; the history each reader
//! sees, with a case's reference for those who may see the case only; conclusions
//! refused before anything is written; a customer named by an outcome that does not act
//! on it kept only inside the case's sealed finding; and the admin's own changes.

use redress_crypto::open;
use redress_domain::{CaseState, CustomerId, CustomerStatus, EntryDocument, EntryKind, Holder, Role, Sealed};

use crate::helpers::*;
use crate::portal_lifecycle::step;
use crate::staff::*;

/// A portal with the cast of the authorization tests, A's case under investigation.
struct Scene {
    app: TestApp,
    _portal: Portal,
    cast: Cast,
}

async fn investigating() -> Scene {
    let app = TestApp::spawn().await;
    let portal = app.portal().await;
    let cast = Cast::new(&app, &portal).await;
    investigate(&cast.a, &cast.case_a).await;
    Scene {
        app,
        _portal: portal,
        cast,
    }
}

impl Scene {
    /// Concludes A's case with `outcome`, naming the register's customer with `reason`.
    async fn concluded(outcome: &str, reason: &str) -> Self {
        let scene = investigating().await;
        let (a, case_ref) = (&scene.cast.a, &scene.cast.case_a);
        let done = conclude(a, case_ref, outcome, &scene.cast.customer.to_string(), reason).await;
        assert_eq!(done.status, 303, "{}", done.body);
        assert_eq!(scene.app.case(case_ref).await.state, CaseState::Concluded);
        scene
    }
}

/// Takes `who`'s case from received to investigating.
async fn investigate(who: &Person, case_ref: &str) {
    for (action, fields) in [
        ("acknowledge", vec![("text", "Thank you for your report.")]),
        (
            "assess",
            vec![("assessment", "admissible"), ("text", "Within our scope.")],
        ),
        ("investigate", vec![]),
    ] {
        let done = step(who, case_ref, action, &fields).await;
        assert_eq!(done.status, 303, "{action}: {}", done.body);
    }
}

/// Concludes `who`'s case with `outcome`, naming `customer` (empty: none) with `reason`.
async fn conclude(who: &Person, case_ref: &str, outcome: &str, customer: &str, reason: &str) -> Page {
    step(
        who,
        case_ref,
        "conclude",
        &[
            ("outcome", outcome),
            ("text", "The implant's logs match the customer's infrastructure."),
            ("customer", customer),
            ("customer_reason", reason),
        ],
    )
    .await
}

const REASON: &str = "Misuse of the implant confirmed; the contract is suspended.";

/// The audit log's `(actor, action, target)` rows with `action`.
async fn audited(app: &TestApp, action: &str) -> Vec<(String, String, Option<String>)> {
    app.store
        .audit_after(0, 10_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.action == action)
        .map(|r| (r.actor, r.action, r.target))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_customer_suspended_through_a_concluded_case_shows_the_change_its_reason_and_the_case() {
    let Scene { app, cast, .. } = &Scene::concluded("customer_suspended", REASON).await;
    let customer = cast.customer;
    let case = app.case(&cast.case_a).await;

    // The register: suspended, with one change naming the case.
    let stored = app.store.customer(customer).await.unwrap().unwrap();
    assert_eq!(stored.status, CustomerStatus::Suspended);
    let changes = app.store.customer_changes(customer).await.unwrap();
    assert_eq!(changes.len(), 1);
    let c = &changes[0];
    assert_eq!(
        (c.from, c.to, c.reason.as_str(), c.actor, c.case, c.at),
        (
            CustomerStatus::Active,
            CustomerStatus::Suspended,
            REASON,
            cast.a.id,
            Some(case.id),
            app.now()
        )
    );

    // The customer's page, as the investigator of the case: the change, its reason, who
    // made it, and the case's reference as a link.
    let page = cast.a.agent.get(&format!("/customers/{customer}")).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.text_of("customer-status").unwrap(), "suspended");
    let history = page.text_of("history").unwrap();
    for shown in [
        "active → suspended",
        REASON,
        "a-investigator@example.org",
        &cast.case_a,
    ] {
        assert!(history.contains(shown), "{shown}: {history}");
    }
    assert!(page.contains(&format!("href=\"/cases/{}\"", cast.case_a)));
    // The case's page says which customer it concerns.
    let case_page = cast.a.agent.get(&format!("/cases/{}", cast.case_a)).await;
    assert_eq!(case_page.text_of("concerns").unwrap(), "Example Ministry");

    // The audit log: the conclusion, then the action on the customer, in one
    // transaction (consecutive entries), naming the customer and the case.
    let log = app.store.audit_after(0, 10_000).await.unwrap();
    let at = log
        .iter()
        .position(|r| r.action == "customer_action")
        .expect("the action on the customer is audited");
    let target = format!("customer:{customer}/case:{}", cast.case_a);
    assert_eq!(log[at].target.as_deref(), Some(target.as_str()));
    assert_eq!(log[at].actor, format!("account:{}", cast.a.id));
    assert_eq!(log[at - 1].action, "conclude");
    assert_eq!(log[at].at, log[at - 1].at);
    // The auditor finds it on the audit page, by action and by customer.
    let shown = cast.auditor.agent.get("/audit?action=customer_action").await;
    assert_eq!(shown.status, 200);
    let entries = shown.text_of("entries").unwrap();
    assert!(entries.contains(&target), "{entries}");
    assert!(entries.contains("status changed by a case"), "{entries}");

    // Reopening the case leaves the customer as the conclusion left it.
    let reopened = step(
        &cast.a,
        &cast.case_a,
        "reopen",
        &[("text", "New logs to look at.")],
    )
    .await;
    assert_eq!(reopened.status, 303);
    assert_eq!(
        app.store.customer(customer).await.unwrap().unwrap().status,
        CustomerStatus::Suspended
    );
    assert_eq!(app.store.customer_changes(customer).await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn someone_who_may_not_see_the_case_sees_the_change_but_not_its_reference() {
    let Scene { app, cast, .. } = &Scene::concluded("customer_terminated", REASON).await;
    let customer = cast.customer;
    // B (another investigator), the admin and the auditor are not assigned to the case.
    for who in [&cast.b, &cast.admin, &cast.auditor] {
        let list = who.agent.get("/customers").await;
        assert_eq!(list.status, 200, "{}", who.email);
        assert!(list.text_of("customers").unwrap().contains("terminated"));
        assert!(
            list.contains("href=\"/customers\""),
            "the navigation links the register"
        );
        let page = who.agent.get(&format!("/customers/{customer}")).await;
        assert_eq!(page.status, 200, "{}", who.email);
        assert_eq!(page.text_of("customer-status").unwrap(), "terminated");
        let history = page.text_of("history").unwrap();
        for shown in [
            "active → terminated",
            REASON,
            "a-investigator@example.org",
            "a case",
        ] {
            assert!(history.contains(shown), "{}: {shown}: {history}", who.email);
        }
        assert!(!page.contains(&cast.case_a), "{}: {}", who.email, page.body);
    }
    // Nobody was refused anything for reading the register.
    assert!(audited(app, "access_denied").await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_acting_outcome_without_a_customer_a_reason_or_with_one_not_in_the_register_is_refused() {
    let Scene { app, cast, .. } = &investigating().await;
    let customer = cast.customer.to_string();
    let stranger = CustomerId::random().to_string();
    let entries_before = app.store.entries(app.case(&cast.case_a).await.id).await.unwrap();
    for (outcome, named, reason, says) in [
        ("customer_suspended", "", REASON, "choose the customer"),
        (
            "customer_terminated",
            customer.as_str(),
            " \n ",
            "give the reason",
        ),
        ("mitigation_required", customer.as_str(), "", "give the reason"),
        (
            "mitigation_required",
            stranger.as_str(),
            REASON,
            "not in the register",
        ),
        (
            "customer_suspended",
            "Example Ministry",
            REASON,
            "not in the register",
        ),
        // Even an outcome that does not act names a customer of the register only.
        ("not_substantiated", stranger.as_str(), "", "not in the register"),
    ] {
        let refused = conclude(&cast.a, &cast.case_a, outcome, named, reason).await;
        assert_eq!(
            refused.status, 422,
            "{outcome} {named:?} {reason:?}: {}",
            refused.body
        );
        let error = refused.text_of("step-error").unwrap();
        assert!(error.contains(says), "{error}");
        // The form is given back as it was filled in.
        assert!(refused.contains(&format!("<option value=\"{outcome}\" selected>")));
        assert!(
            refused
                .text_of("conclude-text")
                .unwrap()
                .contains("logs match the customer")
        );
        if named == customer {
            assert!(refused.contains(&format!("<option value=\"{customer}\" selected>")));
        }
        if !reason.trim().is_empty() {
            assert!(refused.text_of("customer-reason").unwrap().contains(reason));
        }
    }
    // Nothing was written: the case is still investigating, with no finding; the
    // customer is as it was; the log has no conclusion and no action.
    let case = app.case(&cast.case_a).await;
    assert_eq!((case.state, case.outcome), (CaseState::Investigating, None));
    let entries = app.store.entries(case.id).await.unwrap();
    assert_eq!(entries.len(), entries_before.len());
    assert!(entries.iter().all(|e| e.kind != EntryKind::Finding));
    assert_untouched(app, cast.customer).await;
    assert!(audited(app, "conclude").await.is_empty());
    assert!(audited(app, "customer_action").await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_customer_named_by_an_outcome_that_does_not_act_is_kept_only_inside_the_case() {
    let Scene { app, cast, .. } = &Scene::concluded("not_substantiated", "").await;
    let customer = cast.customer;
    let case = app.case(&cast.case_a).await;

    // The case's assignee reads which customer it concerns.
    let case_page = cast.a.agent.get(&format!("/cases/{}", cast.case_a)).await;
    assert_eq!(case_page.text_of("concerns").unwrap(), "Example Ministry");
    // The customer is untouched, and its page says nothing of the case.
    assert_untouched(app, customer).await;
    let page = cast.a.agent.get(&format!("/customers/{customer}")).await;
    assert_eq!(page.text_of("customer-status").unwrap(), "active");
    assert!(page.text_of("no-history").is_some());
    assert!(!page.contains(&cast.case_a));
    assert!(audited(app, "customer_action").await.is_empty());

    // A copy of the database: the customer's id is in its own row and in the entry
    // that added it, and in no row that names the case.
    let dump = dump_database(&app.store).await;
    let id = customer.to_string();
    let naming: Vec<&str> = dump.lines().filter(|l| l.contains(&id)).collect();
    assert_eq!(naming.len(), 2, "{naming:#?}");
    assert!(naming.iter().any(|l| l.starts_with("customers ")), "{naming:#?}");
    assert!(
        naming
            .iter()
            .any(|l| l.starts_with("audit_log ") && l.contains("customer_add")),
        "{naming:#?}"
    );
    for line in &naming {
        assert!(
            !line.contains(&case.id.to_string()) && !line.contains(&cast.case_a),
            "{line}"
        );
    }
    assert_eq!(
        dump.matches("Example Ministry").count(),
        1,
        "the customers row only"
    );

    // The link is inside the finding, sealed to the case key.
    let case_key = redress_keychain::open_case_key(&app.store, case.id, Holder::Recovery, &app.recovery)
        .await
        .unwrap();
    let finding = app
        .store
        .entries(case.id)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.kind == EntryKind::Finding)
        .unwrap();
    let doc = EntryDocument::from_json(&open(&case_key, &finding.ciphertext).unwrap()).unwrap();
    assert_eq!(doc.customer, Some(customer));
}

#[tokio::test(flavor = "multi_thread")]
async fn admins_add_edit_and_change_a_status_by_hand_each_audited_and_nobody_else_may() {
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
    let auditor = person(&app, &portal, "auditor@example.org", Role::Auditor, &[]).await;
    let empty = ana.agent.get("/customers").await;
    assert!(empty.text_of("no-customers").is_some());
    assert!(
        !empty.contains("href=\"/admin/customers\""),
        "no admin link for an investigator"
    );

    // Added: active, with its details tidied, and a notice.
    let id = add_customer(&admin, "  Acme   Surveillance ", "Ruritania", "Implant, Relay").await;
    let page = admin.agent.get(&format!("/customers/{id}?done=add")).await;
    assert_eq!(page.text_of("customer-name").unwrap(), "Acme Surveillance");
    assert_eq!(page.text_of("customer-status").unwrap(), "active");
    assert_eq!(page.text_of("customer-products").unwrap(), "Implant, Relay");
    assert!(page.text_of("notice").is_some());
    let admin_page = format!("/admin/customers/{id}");

    // Refused, nothing added or changed: no name, a name taken, a name with an
    // invisible character.
    for (name, says) in [
        ("   ", "Give the customer"),
        ("acme surveillance", ""),
        ("Acme Surveillance", "in the register already"),
        ("Acme\u{202E}", "invisible"),
    ] {
        let res = admin
            .agent
            .submit("/admin/customers", "/admin/customers", &[("name", name)])
            .await;
        if says.is_empty() {
            // Another case of letters is another name.
            assert_eq!(res.status, 303, "{name:?}: {}", res.body);
            continue;
        }
        assert_eq!(res.status, 422, "{name:?}");
        assert!(res.body.contains(says), "{name:?}: {}", res.body);
    }
    assert_eq!(app.store.customers().await.unwrap().len(), 2);

    // Edited.
    let edited = admin
        .agent
        .submit(
            &admin_page,
            &admin_page,
            &[
                ("action", "edit"),
                ("name", "Acme Surveillance"),
                ("country", "Freedonia"),
                ("products", "Implant"),
            ],
        )
        .await;
    assert_eq!(edited.status, 303, "{}", edited.body);
    assert_eq!(edited.location(), format!("/customers/{id}?done=edit"));
    let stored = app.store.customer(id).await.unwrap().unwrap();
    assert_eq!(
        (stored.country.as_str(), stored.products.as_str()),
        ("Freedonia", "Implant")
    );
    let taken = admin
        .agent
        .submit(
            &admin_page,
            &admin_page,
            &[("action", "edit"), ("name", "acme surveillance")],
        )
        .await;
    assert_eq!(taken.status, 422);
    assert_eq!(
        app.store.customer(id).await.unwrap().unwrap().name,
        "Acme Surveillance"
    );

    // A status by hand needs a new status and a reason.
    for (fields, says) in [
        (vec![("status", "suspended"), ("reason", " ")], "Give the reason"),
        (
            vec![("status", "active"), ("reason", "Nothing.")],
            "has this status already",
        ),
        (
            vec![("status", "closed"), ("reason", "Nothing.")],
            "Choose the new status",
        ),
    ] {
        let mut all = vec![("action", "status")];
        all.extend(fields);
        let res = admin.agent.submit(&admin_page, &admin_page, &all).await;
        assert_eq!(res.status, 422, "{all:?}");
        assert!(res.body.contains(says), "{says}: {}", res.body);
    }
    let odd = admin
        .agent
        .submit(&admin_page, &admin_page, &[("action", "delete")])
        .await;
    assert_eq!(odd.status, 422);
    assert!(app.store.customer_changes(id).await.unwrap().is_empty());

    for (to, reason) in [
        ("under_review", "A partner's report is being checked."),
        ("active", "Remediation confirmed by an audit."),
    ] {
        let res = admin
            .agent
            .submit(
                &admin_page,
                &admin_page,
                &[("action", "status"), ("status", to), ("reason", reason)],
            )
            .await;
        assert_eq!(res.status, 303, "{}", res.body);
        app.advance(60);
    }
    // The history, newest first, made by hand, for every reader.
    for who in [&admin, &ana, &auditor] {
        let page = who.agent.get(&format!("/customers/{id}")).await;
        assert_eq!(page.text_of("customer-status").unwrap(), "active");
        let history = page.text_of("history").unwrap();
        let newest = history.find("under review → active").expect(&history);
        let oldest = history.find("active → under review").expect(&history);
        assert!(newest < oldest, "{history}");
        assert!(history.contains("Remediation confirmed by an audit."));
        assert!(history.contains("admin@example.org"));
        assert_eq!(history.matches("by hand").count(), 2, "{history}");
    }

    // Each change is in the audit log, by the admin, on the customer.
    let target = Some(format!("customer:{id}"));
    let actor = format!("account:{}", admin.id);
    for (action, times) in [("customer_add", 1), ("customer_edit", 1), ("customer_status", 2)] {
        let rows = audited(&app, action).await;
        let ours: Vec<_> = rows.iter().filter(|(_, _, t)| *t == target).collect();
        assert_eq!(ours.len(), times, "{action}: {rows:?}");
        assert!(ours.iter().all(|(a, _, _)| *a == actor));
    }

    // An investigator or an auditor reaches no admin page of the register, even with a
    // token from a page of their own: a missing page, audited, and nothing changed.
    let before = app.store.customers().await.unwrap();
    for who in [&ana, &auditor] {
        assert_eq!(who.agent.get("/admin/customers").await.status, 404);
        let res = who
            .agent
            .submit("/customers", "/admin/customers", &[("name", "Intruder Ltd")])
            .await;
        assert_eq!(res.status, 404);
        let res = who
            .agent
            .submit(
                "/customers",
                &admin_page,
                &[("action", "status"), ("status", "terminated"), ("reason", "No.")],
            )
            .await;
        assert_eq!(res.status, 404);
    }
    assert_eq!(app.store.customers().await.unwrap(), before);
    assert_eq!(app.store.customer_changes(id).await.unwrap().len(), 2);
    let denied = audited(&app, "access_denied").await;
    for who in [&ana, &auditor] {
        let actor = format!("account:{}", who.id);
        assert!(denied.contains(&(actor.clone(), "access_denied".into(), target.clone())));
        assert!(denied.contains(&(
            actor,
            "access_denied".into(),
            Some("page:/admin/customers".into())
        )));
    }
    // A customer that does not exist is a missing page.
    let missing = ana
        .agent
        .get(&format!("/customers/{}", CustomerId::random()))
        .await;
    assert_eq!(missing.status, 404);
    assert_eq!(ana.agent.get("/customers/not-an-id").await.status, 404);
}
