//! A case's whole life through the portal, with the app's clock: acknowledged late,
//! assessed twice, investigated, concluded, answered, closed and reopened; illegal
//! steps refused; the deadlines, their flags and the worker's reminders following the
//! real state; replies readable with the reporter's receipt and notes not.

use redress_crypto::{Receipt, derive_receipt_keys, open};
use redress_domain::{CaseState, DeadlineFlag, EntryDocument, EntryKind, Outcome, Role, Sealed, SealedTo};
use redress_mail::{Mailer, sink};

use crate::helpers::*;
use crate::staff::*;
use crate::worker::mail_config;

const DAY: i64 = 86_400;

/// Takes `action` on the case from its page, with `fields`.
pub(crate) async fn step(who: &Person, case_ref: &str, action: &str, fields: &[(&str, &str)]) -> Page {
    let page = format!("/cases/{case_ref}");
    let mut all = vec![("action", action)];
    all.extend_from_slice(fields);
    who.agent.submit(&page, &page, &all).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_case_goes_from_receipt_to_closing_with_its_deadlines_and_reminders() {
    let app = TestApp::spawn().await;
    let portal = app.portal().await;
    let mail = sink::start().await.unwrap();
    let ana = person(
        &app,
        &portal,
        "ana@example.org",
        Role::Investigator,
        &["triage-desk"],
    )
    .await;
    let res = app
        .api_submit(&good_answers("They listened to my calls for months."), &[])
        .await;
    let body: serde_json::Value = res.json().await.unwrap();
    let (receipt, case_ref) = (
        body["receipt"].as_str().unwrap().to_owned(),
        body["case_ref"].as_str().unwrap().to_owned(),
    );
    let worker = app.worker("w", Some(Mailer::new(&mail_config(&mail)).unwrap()));
    worker.run_until_idle().await.unwrap();
    assert_eq!(mail.messages().len(), 1, "the assignment");
    let case = app.case(&case_ref).await;
    let page = format!("/cases/{case_ref}");

    // Received: only acknowledging is offered, and anything else is refused.
    let shown = ana.agent.get(&page).await;
    assert!(shown.body.contains("id=\"acknowledge-form\""));
    assert!(!shown.body.contains("id=\"close-form\""));
    let refused = step(&ana, &case_ref, "close", &[]).await;
    assert_eq!(refused.status, 422);
    assert!(
        refused
            .text_of("step-error")
            .unwrap()
            .contains("This case is Received: it cannot take the step “Close” now."),
        "{}",
        refused.body
    );
    assert_eq!(app.case(&case_ref).await.state, CaseState::Received);

    // Not acknowledged within 7 days: overdue, and the assignee reminded.
    app.advance(case.received_at + 8 * DAY - app.now());
    worker.run_until_idle().await.unwrap();
    assert_eq!(app.case(&case_ref).await.deadline_flag, DeadlineFlag::Overdue);
    // Days later the session has ended: log in again.
    assert_eq!(ana.login(&app).await.status, 303);
    assert!(
        ana.agent
            .get(&page)
            .await
            .text_of("deadline")
            .unwrap()
            .contains("OVERDUE")
    );
    let reminders = mail.messages().len();
    assert!(reminders >= 2, "acknowledgement reminders");

    // Acknowledged late: the feedback deadline starts, three months on, flag cleared.
    let done = step(
        &ana,
        &case_ref,
        "acknowledge",
        &[("text", "Thank you; we are looking at it.")],
    )
    .await;
    assert_eq!(done.status, 303, "{}", done.body);
    let acknowledged_at = app.now();
    let case = app.case(&case_ref).await;
    assert_eq!(case.state, CaseState::Acknowledged);
    assert_eq!(case.acknowledged_at, Some(acknowledged_at));
    assert_eq!(case.feedback_due, Some(acknowledged_at + 90 * DAY));
    assert_eq!(case.deadline_flag, DeadlineFlag::Ok);
    worker.run_until_idle().await.unwrap();
    assert_eq!(mail.messages().len(), reminders, "no reminder for a met deadline");

    // A reply and a note; assessing twice; the reporter's key opens what is theirs.
    step(
        &ana,
        &case_ref,
        "reply",
        &[("text", "Could you send the phone's logs?")],
    )
    .await;
    step(
        &ana,
        &case_ref,
        "note",
        &[("text", "Sounds like the Example Ministry's campaign.")],
    )
    .await;
    let refused = step(&ana, &case_ref, "investigate", &[]).await;
    assert_eq!(refused.status, 422, "not before an admissible assessment");
    step(
        &ana,
        &case_ref,
        "assess",
        &[("assessment", "needs_information"), ("text", "We need the logs.")],
    )
    .await;
    assert_eq!(step(&ana, &case_ref, "investigate", &[]).await.status, 422);
    step(
        &ana,
        &case_ref,
        "assess",
        &[
            ("assessment", "admissible"),
            ("text", "Your report is within our scope."),
        ],
    )
    .await;
    assert_eq!(step(&ana, &case_ref, "investigate", &[]).await.status, 303);
    let empty = step(
        &ana,
        &case_ref,
        "conclude",
        &[("outcome", "customer_suspended"), ("text", "  ")],
    )
    .await;
    assert_eq!(empty.status, 422, "a conclusion needs its finding");
    // Suspending names the customer, from the register an admin keeps (ADR 0025).
    let admin = person(&app, &portal, "admin@example.org", Role::Admin, &[]).await;
    let customer = add_customer(&admin, "Example Ministry", "Ruritania", "Implant")
        .await
        .to_string();
    assert!(empty.text_of("step-error").unwrap().contains("empty"));
    // The text of a refused form is back in it.
    assert!(empty.body.contains("id=\"conclude-text\""));
    step(
        &ana,
        &case_ref,
        "conclude",
        &[
            ("outcome", "customer_suspended"),
            ("text", "Logs show the implant; the customer is suspended."),
            ("customer", &customer),
            ("customer_reason", "Misuse of the implant confirmed."),
        ],
    )
    .await;
    assert_eq!(
        step(&ana, &case_ref, "close", &[]).await.status,
        422,
        "feedback first"
    );

    // Near and past the feedback deadline: reminded once each.
    app.advance(acknowledged_at + 89 * DAY - app.now());
    worker.run_until_idle().await.unwrap();
    assert_eq!(app.case(&case_ref).await.deadline_flag, DeadlineFlag::DueSoon);
    app.advance(2 * DAY);
    worker.run_until_idle().await.unwrap();
    assert_eq!(app.case(&case_ref).await.deadline_flag, DeadlineFlag::Overdue);
    let feedback_reminders: Vec<String> = mail.messages()[reminders..].iter().map(|m| m.text()).collect();
    assert_eq!(feedback_reminders.len(), 2, "{feedback_reminders:?}");
    assert!(
        feedback_reminders
            .iter()
            .all(|t| t.to_lowercase().contains("feedback"))
    );

    assert_eq!(ana.login(&app).await.status, 303);
    step(
        &ana,
        &case_ref,
        "give_feedback",
        &[("text", "We found misuse and suspended the customer.")],
    )
    .await;
    let case = app.case(&case_ref).await;
    assert_eq!(
        (case.state, case.deadline_flag),
        (CaseState::FeedbackGiven, DeadlineFlag::Ok)
    );
    assert_eq!(case.outcome, Some(Outcome::CustomerSuspended));
    app.advance(DAY);
    worker.run_until_idle().await.unwrap();
    assert_eq!(mail.messages().len(), reminders + 2, "no deadline after feedback");
    assert_eq!(ana.login(&app).await.status, 303);
    assert_eq!(step(&ana, &case_ref, "close", &[]).await.status, 303);
    let closed = app.case(&case_ref).await;
    assert_eq!(closed.state, CaseState::Closed);
    assert_eq!(closed.closed_at, Some(app.now()));

    // Reopened with a reason: investigated again, feedback owed again.
    assert_eq!(
        step(&ana, &case_ref, "reopen", &[]).await.status,
        422,
        "a reason is needed"
    );
    step(
        &ana,
        &case_ref,
        "reopen",
        &[("text", "New logs arrived from a partner.")],
    )
    .await;
    let reopened = app.case(&case_ref).await;
    assert_eq!(reopened.state, CaseState::Investigating);
    assert_eq!(reopened.feedback_due, Some(app.now() + 90 * DAY));
    assert_eq!(reopened.outcome, None);

    // The page shows the whole conversation and the notes in order, with authors.
    let shown = ana.agent.get(&page).await;
    let entries = shown.text_of("entries").unwrap();
    let order = [
        "Thank you; we are looking at it.",
        "Could you send the phone",
        "Sounds like the Example Ministry",
        "We need the logs.",
        "Your report is within our scope.",
        "Logs show the implant",
        "We found misuse",
        "New logs arrived",
    ];
    let mut at = 0;
    for text in order {
        let found = entries[at..]
            .find(text)
            .unwrap_or_else(|| panic!("{text} in order: {entries}"));
        at += found;
    }
    assert!(entries.contains("ana@example.org"));

    // At the crypto layer: the reporter's receipt opens every thread entry and no
    // other; the case key opens all.
    let receipt = Receipt::parse(&receipt).unwrap();
    let keys = derive_receipt_keys(&receipt, &app.state.receipt_salt, &app.state.kdf).unwrap();
    let thread = redress_keychain::open_thread_as_reporter(&app.store, case.id, &keys.identity)
        .await
        .unwrap();
    let case_key = redress_keychain::open_case_key(
        &app.store,
        case.id,
        redress_domain::Holder::Recovery,
        &app.recovery,
    )
    .await
    .unwrap();
    let stored = app.store.entries(case.id).await.unwrap();
    assert_eq!(stored.len(), 8);
    for e in &stored {
        let by_reporter = open(&thread, &e.ciphertext);
        match e.kind.sealed_to() {
            SealedTo::Thread => {
                let doc = EntryDocument::from_json(&by_reporter.unwrap()).unwrap();
                assert!(!doc.text.contains("ana@example.org"));
                assert!(
                    open(&case_key, &e.ciphertext).is_err(),
                    "sealed to the thread key alone"
                );
            }
            SealedTo::Case => {
                assert!(by_reporter.is_err(), "the reporter cannot open a {}", e.kind);
                assert!(open(&case_key, &e.ciphertext).is_ok());
            }
        }
    }
    assert_eq!(
        stored.iter().map(|e| e.kind).collect::<Vec<_>>(),
        [
            EntryKind::Acknowledgement,
            EntryKind::Reply,
            EntryKind::Note,
            EntryKind::Assessment,
            EntryKind::Assessment,
            EntryKind::Finding,
            EntryKind::Feedback,
            EntryKind::Reopening,
        ]
    );
    // Every step and writing is in the audit log.
    let actions: Vec<String> = app
        .store
        .audit_after(0, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.target.as_deref() == Some(&format!("case:{case_ref}")))
        .map(|r| r.action)
        .filter(|a| a != "case_view")
        .collect();
    assert_eq!(
        actions,
        [
            "acknowledge",
            "reply",
            "note",
            "assess",
            "assess",
            "investigate",
            "conclude",
            "give_feedback",
            "close",
            "reopen",
        ]
    );
    // Nothing of it is in the database in the clear.
    let dump = dump_database(&app.store).await;
    for text in order {
        assert!(!dump.contains(text), "{text}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_case_acknowledged_within_seven_days_is_never_flagged() {
    let app = TestApp::spawn().await;
    let portal = app.portal().await;
    let mail = sink::start().await.unwrap();
    let ana = person(
        &app,
        &portal,
        "ana@example.org",
        Role::Investigator,
        &["triage-desk"],
    )
    .await;
    let res = app
        .api_submit(&good_answers("A report acknowledged in time."), &[])
        .await;
    let case_ref = res.json::<serde_json::Value>().await.unwrap()["case_ref"]
        .as_str()
        .unwrap()
        .to_owned();
    let worker = app.worker("w", Some(Mailer::new(&mail_config(&mail)).unwrap()));
    worker.run_until_idle().await.unwrap();
    let received = app.case(&case_ref).await.received_at;
    app.advance(received + 3 * DAY - app.now());
    assert_eq!(ana.login(&app).await.status, 303);
    assert_eq!(
        step(
            &ana,
            &case_ref,
            "acknowledge",
            &[("text", "Received, thank you.")]
        )
        .await
        .status,
        303
    );
    // Past the acknowledgement deadline nothing is due: that deadline was met.
    app.advance(10 * DAY);
    worker.run_until_idle().await.unwrap();
    let case = app.case(&case_ref).await;
    assert_eq!(
        (case.state, case.deadline_flag),
        (CaseState::Acknowledged, DeadlineFlag::Ok)
    );
    assert_eq!(mail.messages().len(), 1, "the assignment only");
    // A second acknowledgement is refused: it was taken once.
    assert_eq!(ana.login(&app).await.status, 303);
    assert_eq!(
        step(&ana, &case_ref, "acknowledge", &[("text", "Again.")])
            .await
            .status,
        422
    );
}
