//! Who reaches what in the portal: an authorization matrix built from the portal's own
//! route table (a route the test does not know fails it), object-level refusals that
//! look like pages that do not exist and are audited, CSRF on every form, the security
//! headers, and the two doors kept apart.

use redress_domain::Role;
use redress_portal::Access;

use crate::helpers::*;
use crate::staff::*;

/// What a person got from a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    /// Served by the route's handler (a page, a redirect of its own, a refusal of the
    /// form): the rule let the request through.
    Served,
    /// Sent to log in.
    LogIn,
    /// Answered as a page that does not exist.
    Hidden,
}

fn outcome(page: &Page) -> Outcome {
    match page.status {
        404 => Outcome::Hidden,
        303 if page.location().starts_with("/login?") => Outcome::LogIn,
        _ => Outcome::Served,
    }
}

const INVESTIGATORS_AND_ADMINS: &[Role] = &[Role::Investigator, Role::Admin];

/// The rules this test expects, written out again by hand: the route table must say
/// the same, and a route added without a line here fails the test.
fn expected_rules() -> Vec<(&'static str, Access)> {
    vec![
        ("/", Access::Public),
        ("/static/style.css", Access::Public),
        ("/login", Access::Public),
        ("/logout", Access::Session),
        ("/setup/{token}", Access::Public),
        ("/enrol", Access::Session),
        ("/enrol/codes", Access::Roles(Role::ALL)),
        ("/account", Access::Roles(Role::ALL)),
        ("/account/key", Access::Roles(INVESTIGATORS_AND_ADMINS)),
        ("/cases", Access::Roles(INVESTIGATORS_AND_ADMINS)),
        ("/search", Access::Roles(INVESTIGATORS_AND_ADMINS)),
        (
            "/cases/{case_ref}/people",
            Access::Roles(INVESTIGATORS_AND_ADMINS),
        ),
        ("/cases/{case_ref}/marks", Access::Roles(INVESTIGATORS_AND_ADMINS)),
        ("/cases/{case_ref}", Access::Roles(INVESTIGATORS_AND_ADMINS)),
        (
            "/cases/{case_ref}/files/{object}",
            Access::Roles(INVESTIGATORS_AND_ADMINS),
        ),
        (
            "/cases/{case_ref}/export",
            Access::Roles(INVESTIGATORS_AND_ADMINS),
        ),
        (
            "/cases/{case_ref}/identity",
            Access::Roles(INVESTIGATORS_AND_ADMINS),
        ),
        ("/admin", Access::Roles(&[Role::Admin])),
        ("/admin/users/{id}", Access::Roles(&[Role::Admin])),
        ("/admin/keys", Access::Roles(&[Role::Admin])),
        ("/admin/keys/rotations/{rotation}", Access::Roles(&[Role::Admin])),
        ("/audit", Access::Roles(&[Role::Auditor, Role::Admin])),
        ("/statistics", Access::Roles(&[Role::Auditor, Role::Admin])),
        ("/statistics.csv", Access::Roles(&[Role::Auditor, Role::Admin])),
        ("/customers", Access::Roles(Role::ALL)),
        ("/customers/{customer}", Access::Roles(Role::ALL)),
        ("/admin/customers", Access::Roles(&[Role::Admin])),
        ("/admin/customers/{customer}", Access::Roles(&[Role::Admin])),
    ]
}

/// What `role` (none: anonymous) should get from a route with `access`.
fn expected(access: Access, role: Option<Role>) -> Outcome {
    match (access, role) {
        (Access::Public, _) => Outcome::Served,
        (_, None) => Outcome::LogIn,
        (Access::Session, Some(_)) => Outcome::Served,
        (Access::Roles(roles), Some(r)) if roles.contains(&r) => Outcome::Served,
        (Access::Roles(_), Some(_)) => Outcome::Hidden,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_route_of_the_table_answers_each_role_as_its_rule_says() {
    let app = TestApp::spawn().await;
    let portal = app.portal().await;
    let cast = Cast::new(&app, &portal).await;
    let table = redress_portal::route_table();
    let mut rules: Vec<(&str, Access)> = table.iter().map(|r| (r.path, r.access)).collect();
    let mut expected_rules = expected_rules();
    rules.sort_by_key(|(p, _)| *p);
    expected_rules.sort_by_key(|(p, _)| *p);
    assert_eq!(
        rules, expected_rules,
        "every route has the rule this test expects"
    );

    // A rotation that ended, for its page.
    let rotation = app
        .store
        .open_rotation("triage", None, "done", app.now())
        .await
        .unwrap();
    let people: [(&str, Option<Role>, &Agent); 5] = [
        ("anonymous", None, &cast.anonymous),
        ("investigator A", Some(Role::Investigator), &cast.a.agent),
        ("investigator B", Some(Role::Investigator), &cast.b.agent),
        ("admin", Some(Role::Admin), &cast.admin.agent),
        ("auditor", Some(Role::Auditor), &cast.auditor.agent),
    ];
    for route in &table {
        for (who, role, agent) in &people {
            // A's case is A's alone: the object's rule, on top of the route's.
            let case_owner = matches!(*who, "investigator A");
            let path = route
                .path
                .replace(
                    "{token}",
                    &app.invite("new@example.org", Role::Auditor, &[]).await["/setup/".len()..],
                )
                .replace("{case_ref}", &cast.case_a)
                .replace("{object}", &cast.file_a.to_string())
                .replace("{id}", &cast.auditor.id.to_string())
                .replace("{customer}", &cast.customer.to_string())
                .replace("{rotation}", &rotation.id);
            let mut want = expected(route.access, *role);
            if route.path.starts_with("/cases/{case_ref}") && want == Outcome::Served && !case_owner {
                want = Outcome::Hidden;
            }
            for method in &route.methods {
                let res = match method.as_str() {
                    "GET" => agent.get(&path).await,
                    "HEAD" => {
                        let res = agent
                            .client
                            .head(format!("{}{path}", agent.base))
                            .send()
                            .await
                            .unwrap();
                        let status = res.status().as_u16();
                        let headers = res.headers().clone();
                        assert!(res.bytes().await.unwrap().is_empty(), "HEAD {path}: no body");
                        Page {
                            status,
                            headers,
                            body: String::new(),
                        }
                    }
                    // No CSRF token: a form the rule lets through is refused by its
                    // handler (403), having done nothing.
                    "POST" => agent.post_raw(&path, &[("action", "disable")]).await,
                    other => panic!("no test for {other}"),
                };
                let got = outcome(&res);
                assert_eq!(
                    got,
                    want,
                    "{method} {path} as {who}: {} {}",
                    res.status,
                    res.location()
                );
                if method.as_str() == "POST" && got == Outcome::Served {
                    assert_eq!(res.status, 403, "{method} {path} as {who} without a CSRF token");
                }
                assert!(
                    res.headers["content-security-policy"]
                        .to_str()
                        .unwrap()
                        .contains("default-src 'none'"),
                    "{method} {path} as {who}"
                );
            }
        }
    }
    // The accounts were left as they were: no POST without a token changed anything.
    for p in [&cast.a, &cast.b, &cast.admin, &cast.auditor] {
        let account = app.store.account(p.id).await.unwrap().unwrap();
        assert_eq!(account.state, redress_domain::AccountState::Active);
    }
    // Nor asked for a key rotation.
    assert_eq!(app.store.rotations(10).await.unwrap(), vec![rotation]);
    // And the customer register.
    assert_eq!(app.store.customers().await.unwrap().len(), 1);
    assert_untouched(&app, cast.customer).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_case_or_person_one_may_not_see_is_a_plain_404_and_is_audited() {
    let app = TestApp::spawn().await;
    let portal = app.portal().await;
    let cast = Cast::new(&app, &portal).await;
    let missing = cast.a.agent.get("/no/such/page").await;
    assert_eq!(missing.status, 404);

    // A's case: A sees it (and the view is audited); B, the admin and the auditor get
    // exactly the page of a path that does not exist.
    let own = cast.a.agent.get(&format!("/cases/{}", cast.case_a)).await;
    assert_eq!(own.status, 200);
    assert_eq!(own.text_of("case-ref").unwrap(), cast.case_a);
    for who in [&cast.b, &cast.admin, &cast.auditor] {
        let refused = who.agent.get(&format!("/cases/{}", cast.case_a)).await;
        assert_eq!(refused.status, 404, "{}", who.email);
        assert_eq!(refused.body, missing.body, "{}", who.email);
    }
    // A case reference that does not exist at all looks the same again.
    let unknown = cast.b.agent.get("/cases/RD-0000-0000").await;
    assert_eq!(
        (unknown.status, unknown.body.as_str()),
        (404, missing.body.as_str())
    );
    // An investigator asking for a person's page.
    let person_page = format!("/admin/users/{}", cast.auditor.id);
    let refused = cast.a.agent.get(&person_page).await;
    assert_eq!(
        (refused.status, refused.body.as_str()),
        (404, missing.body.as_str())
    );
    assert_eq!(cast.admin.agent.get(&person_page).await.status, 200);

    // Each refusal is in the audit log, naming who asked and for what.
    let log = app.store.audit_after(0, 1000).await.unwrap();
    let denied: Vec<(String, Option<String>)> = log
        .iter()
        .filter(|r| r.action == "access_denied")
        .map(|r| (r.actor.clone(), r.target.clone()))
        .collect();
    let case_target = Some(format!("case:{}", cast.case_a));
    for who in [&cast.b, &cast.admin, &cast.auditor] {
        assert!(
            denied.contains(&(format!("account:{}", who.id), case_target.clone())),
            "{}: {denied:?}",
            who.email
        );
    }
    assert!(denied.contains(&(format!("account:{}", cast.b.id), Some("case:RD-0000-0000".into()))));
    assert!(denied.contains(&(
        format!("account:{}", cast.a.id),
        Some(format!("account:{}", cast.auditor.id))
    )));
    let viewed: Vec<_> = log.iter().filter(|r| r.action == "case_view").collect();
    assert_eq!(viewed.len(), 1);
    assert_eq!(viewed[0].actor, format!("account:{}", cast.a.id));
    // The case list shows each their own.
    let list = cast.b.agent.get("/cases").await;
    assert!(list.contains(&cast.case_b) && !list.contains(&cast.case_a));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_intake_serves_no_portal_route_and_the_portal_no_intake_route() {
    let app = TestApp::spawn().await;
    let portal = app.portal().await;
    let intake_paths: Vec<&str> = redress_intake::endpoints().iter().map(|e| e.path()).collect();
    let portal_paths: Vec<&str> = redress_portal::route_table().iter().map(|r| r.path).collect();
    let concrete = |p: &str| {
        p.replace("{token}", &"a".repeat(64))
            .replace("{case_ref}", "RD-0000-0000")
            .replace("{object}", &uuid::Uuid::new_v4().to_string())
            .replace("{id}", &uuid::Uuid::new_v4().to_string())
            .replace("{customer}", &uuid::Uuid::new_v4().to_string())
            .replace("{rotation}", &uuid::Uuid::new_v4().to_string())
    };
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for p in portal_paths.iter().filter(|p| !intake_paths.contains(p)) {
        let path = concrete(p);
        for res in [
            client.get(app.url(&path)).send().await.unwrap(),
            client.post(app.url(&path)).send().await.unwrap(),
        ] {
            assert_eq!(res.status(), 404, "the intake on {path}");
        }
    }
    for p in intake_paths.iter().filter(|p| !portal_paths.contains(p)) {
        for res in [
            client.get(format!("{}{p}", portal.base)).send().await.unwrap(),
            client.post(format!("{}{p}", portal.base)).send().await.unwrap(),
        ] {
            assert_eq!(res.status(), 404, "the portal on {p}");
        }
    }
    // Two paths both doors have, each its own: the stylesheet, and the start page,
    // which on the portal only points to the login.
    let shared: Vec<&&str> = portal_paths.iter().filter(|p| intake_paths.contains(p)).collect();
    assert_eq!(shared, [&"/", &"/static/style.css"]);
    let start = client.get(format!("{}/", portal.base)).send().await.unwrap();
    assert_eq!(
        (start.status(), start.headers()["location"].to_str().unwrap()),
        (303.try_into().unwrap(), "/login")
    );
}
