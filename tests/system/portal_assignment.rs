//! Who works on a case: an assignee adds a colleague (the case key wrapped to them, a
//! content-free email), hands the case over, takes someone off it or leaves it for a
//! conflict of interest; whoever leaves holds no wrap their identity opens, and a case
//! always keeps someone on it.

use redress_domain::HolderKind;

use crate::helpers::*;
use crate::staff::*;

async fn people(who: &Person, case_ref: &str, fields: &[(&str, &str)]) -> Page {
    who.agent
        .submit("/cases", &format!("/cases/{case_ref}/people"), fields)
        .await
}

/// Whether any wrap of the case opens with `identity`.
async fn any_wrap_opens(app: &TestApp, case_ref: &str, identity: &redress_crypto::SecretIdentity) -> bool {
    let case = app.case(case_ref).await;
    for kind in HolderKind::ALL {
        for wrap in app.store.wraps(case.id, *kind).await.unwrap() {
            if redress_crypto::unwrap_identity(&wrap.ciphertext, identity).is_ok() {
                return true;
            }
        }
    }
    false
}

#[tokio::test(flavor = "multi_thread")]
async fn adding_handing_over_and_leaving_move_the_case_key_and_whoever_left_opens_nothing() {
    let app = TestApp::spawn().await;
    let portal = app.portal().await;
    let cast = Cast::new(&app, &portal).await;
    let (a, b) = (&cast.a, &cast.b);
    let case_ref = cast.case_a.clone();
    let page = format!("/cases/{case_ref}");
    let (id_a, id_b) = (identity_of(&app, a).await, identity_of(&app, b).await);
    assert!(any_wrap_opens(&app, &case_ref, &id_a).await);
    assert!(!any_wrap_opens(&app, &case_ref, &id_b).await);
    assert_eq!(b.agent.get(&page).await.status, 404);
    let emails_before = app.store.emails().await.unwrap().len();

    // A adds B: B's identity opens the case, B reads it, and an email tells B only
    // that a case is theirs.
    let shown = a.agent.get(&page).await;
    assert!(shown.body.contains(&b.id.to_string()), "B is offered");
    assert!(
        !shown.body.contains(&cast.auditor.id.to_string()),
        "an auditor never is"
    );
    let added = people(a, &case_ref, &[("action", "add"), ("person", &b.id.to_string())]).await;
    assert_eq!(added.status, 303, "{}", added.body);
    assert_eq!(added.location(), format!("{page}?done=added"));
    assert!(any_wrap_opens(&app, &case_ref, &id_b).await);
    let seen = b.agent.get(&page).await;
    assert_eq!(seen.status, 200);
    assert!(seen.body.contains("The first report, long enough."));
    let emails = app.store.emails().await.unwrap();
    assert_eq!(emails.len(), emails_before + 1);
    let email = emails
        .iter()
        .find(|e| e.recipient == b.email && e.notice.contains(&case_ref))
        .expect("B's email");
    let notice: serde_json::Value = serde_json::from_str(&email.notice).unwrap();
    assert_eq!(
        notice,
        serde_json::json!({"kind": "case_assigned", "case_ref": case_ref}),
        "a reference and nothing else"
    );
    // Adding B again is refused, and changes nothing.
    let again = people(a, &case_ref, &[("action", "add"), ("person", &b.id.to_string())]).await;
    assert_eq!(again.status, 422);
    assert_eq!(app.store.emails().await.unwrap().len(), emails_before + 1);

    // A leaves for a conflict of interest: the reason is an internal note, and A's
    // identity opens nothing of the case any more.
    let no_reason = people(a, &case_ref, &[("action", "recuse"), ("reason", " ")]).await;
    assert_eq!(no_reason.status, 422);
    let left = people(
        a,
        &case_ref,
        &[
            ("action", "recuse"),
            ("reason", "My cousin works for this customer."),
        ],
    )
    .await;
    assert_eq!(left.status, 303, "{}", left.body);
    assert_eq!(left.location(), "/cases?done=recused");
    assert!(!any_wrap_opens(&app, &case_ref, &id_a).await);
    assert_eq!(a.agent.get(&page).await.status, 404);
    let b_sees = b.agent.get(&page).await;
    assert!(b_sees.body.contains("My cousin works for this customer."));
    assert!(b_sees.body.contains("Left the case (conflict of interest)"));

    // B is the last one: leaving or being taken off is refused; handing over is not.
    let last = people(b, &case_ref, &[("action", "recuse"), ("reason", "Busy.")]).await;
    assert_eq!(last.status, 422);
    assert!(
        last.text_of("step-error")
            .unwrap()
            .contains("always keeps someone")
    );
    let not_on = people(
        b,
        &case_ref,
        &[("action", "remove"), ("person", &a.id.to_string())],
    )
    .await;
    assert_eq!(not_on.status, 422);
    let handed = people(
        b,
        &case_ref,
        &[("action", "hand_over"), ("person", &a.id.to_string())],
    )
    .await;
    assert_eq!(handed.status, 303, "{}", handed.body);
    assert_eq!(handed.location(), "/cases?done=handed_over");
    assert!(!any_wrap_opens(&app, &case_ref, &id_b).await);
    assert!(any_wrap_opens(&app, &case_ref, &id_a).await);
    assert_eq!(b.agent.get(&page).await.status, 404);
    assert_eq!(a.agent.get(&page).await.status, 200);

    // A adds B again and then takes B off.
    people(a, &case_ref, &[("action", "add"), ("person", &b.id.to_string())]).await;
    let removed = people(
        a,
        &case_ref,
        &[("action", "remove"), ("person", &b.id.to_string())],
    )
    .await;
    assert_eq!(removed.status, 303, "{}", removed.body);
    assert!(!any_wrap_opens(&app, &case_ref, &id_b).await);
    assert_eq!(b.agent.get(&page).await.status, 404);
    // B's own case was never touched.
    assert_eq!(b.agent.get(&format!("/cases/{}", cast.case_b)).await.status, 200);

    // Every change is in the audit log, naming the case and the person.
    let trail: Vec<(String, String)> = app
        .store
        .audit_after(0, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| ["assign", "unassign", "recuse"].contains(&r.action.as_str()))
        .map(|r| (r.action, r.target.unwrap_or_default()))
        .collect();
    let target = |who: &Person| format!("case:{case_ref}/account:{}", who.id);
    assert_eq!(
        trail,
        [
            ("assign".to_owned(), target(b)),
            ("recuse".to_owned(), format!("case:{case_ref}")),
            ("assign".to_owned(), target(a)),
            ("unassign".to_owned(), target(b)),
            ("assign".to_owned(), target(b)),
            ("unassign".to_owned(), target(b)),
        ]
    );
    // The reason is sealed: not in the database in the clear.
    let dump = dump_database(&app.store).await;
    assert!(!dump.contains("My cousin works"));
}

#[tokio::test(flavor = "multi_thread")]
async fn only_colleagues_who_can_hold_cases_can_be_added() {
    let app = TestApp::spawn().await;
    let portal = app.portal().await;
    let cast = Cast::new(&app, &portal).await;
    let a = &cast.a;
    let case_ref = cast.case_a.clone();
    let wraps_before = app
        .store
        .wraps(app.case(&case_ref).await.id, HolderKind::Investigator)
        .await
        .unwrap();
    for (person, why) in [
        (cast.auditor.id.to_string(), "an auditor sees no case"),
        (a.id.to_string(), "oneself"),
        ("not-an-id".to_owned(), "nobody"),
        (redress_domain::AccountId::random().to_string(), "no such account"),
    ] {
        for action in ["add", "hand_over", "remove"] {
            let refused = people(a, &case_ref, &[("action", action), ("person", &person)]).await;
            assert_eq!(refused.status, 422, "{action} {why}");
            assert!(
                refused.text_of("step-error").is_some(),
                "{action} {why}: a message"
            );
        }
    }
    let unknown = people(
        a,
        &case_ref,
        &[("action", "promote"), ("person", &cast.b.id.to_string())],
    )
    .await;
    assert_eq!(unknown.status, 422);
    // Someone else's case: the same 404 as a page that does not exist.
    let theirs = people(
        a,
        &cast.case_b,
        &[("action", "add"), ("person", &cast.admin.id.to_string())],
    )
    .await;
    assert_eq!(theirs.status, 404);
    assert_eq!(
        app.store
            .wraps(app.case(&case_ref).await.id, HolderKind::Investigator)
            .await
            .unwrap(),
        wraps_before,
        "nothing changed"
    );
}
