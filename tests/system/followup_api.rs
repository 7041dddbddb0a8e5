//! The follow-up as JSON, for partner organisations: a session opened with the
//! receipt, the case read (and valid against the OpenAPI document), a message and a
//! file sent, a reply marked read, the session ended; a wrong receipt and a missing or
//! ended token refused.

use redress_domain::Role;
use serde_json::{Value, json};

use crate::api_contract::violation;
use crate::helpers::*;
use crate::portal_lifecycle::step;
use crate::staff::*;

/// `POST /api/v1/followup/session` with `body`.
async fn open(app: &TestApp, body: &Value) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/followup/session"))
        .json(body)
        .send()
        .await
        .unwrap()
}

/// The body of a response answered with the JSON of schema `name`, checked against
/// the document.
async fn checked(doc: &Value, name: &str, res: reqwest::Response) -> Value {
    let body: Value = res.json().await.unwrap();
    let schema = json!({ "$ref": format!("#/components/schemas/{name}") });
    if let Some(why) = violation(doc, &schema, &body, name) {
        panic!("{why}: {body:#}");
    }
    body
}

#[tokio::test(flavor = "multi_thread")]
async fn a_partner_reads_the_case_and_writes_back_through_the_api() {
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
    let res = app
        .api_submit(
            &good_answers("They listened to my calls for months."),
            &[("first.txt", b"first file")],
        )
        .await;
    let body: Value = res.json().await.unwrap();
    let (receipt, case_ref) = (
        body["receipt"].as_str().unwrap().to_owned(),
        body["case_ref"].as_str().unwrap().to_owned(),
    );
    app.worker("w", None).run_until_idle().await.unwrap();
    for (action, fields) in [
        ("acknowledge", vec![("text", "Thank you; we are looking at it.")]),
        ("reply", vec![("text", "Could you send the phone's logs?")]),
        ("note", vec![("text", "NOTE-MARKER internal only")]),
    ] {
        assert_eq!(step(&ana, &case_ref, action, &fields).await.status, 303);
    }
    let doc: Value = app.get("/api/v1/openapi.json").await.json().await.unwrap();
    for path in [
        "/api/v1/followup/session",
        "/api/v1/followup/case",
        "/api/v1/followup/messages",
        "/api/v1/followup/messages/{seq}/read",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} described");
    }

    // A wrong receipt, and a body that is not one: refused, nothing opened.
    let wrong = open(
        &app,
        &json!({ "receipt": "abandon ability able about above absent absorb abstract" }),
    )
    .await;
    assert_eq!(wrong.status(), 422);
    let wrong: Value = wrong.json().await.unwrap();
    assert_eq!(wrong["error"]["code"], "wrong_receipt");
    assert_eq!(open(&app, &json!({ "words": receipt })).await.status(), 400);

    let opened = open(&app, &json!({ "receipt": receipt.to_uppercase() })).await;
    assert_eq!(opened.status(), 201);
    assert_eq!(opened.headers()["cache-control"], "no-store");
    let session = checked(&doc, "FollowupSession", opened).await;
    assert_eq!(session["case_ref"], case_ref.as_str());
    let token = session["token"].as_str().unwrap().to_owned();
    let bearer = format!("Bearer {token}");

    // The case: status, dates, the report and the thread, never the note or a name.
    let res = app
        .client
        .get(app.url("/api/v1/followup/case"))
        .header("authorization", &bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let case = checked(&doc, "FollowupCase", res).await;
    assert_eq!(case["state"], "acknowledged");
    assert!(case["feedback_due_on"].is_string());
    assert_eq!(case["report"]["files"][0]["name"], "first.txt");
    assert_eq!(
        case["report"]["answers"]["what_happened"],
        "They listened to my calls for months."
    );
    let messages = case["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2);
    assert!(messages.iter().all(|m| m["from"] == "investigators"));
    let reply = messages.iter().find(|m| m["kind"] == "reply").unwrap();
    assert_eq!(reply["text"], "Could you send the phone's logs?");
    assert_eq!(reply["read"], false);
    let text = case.to_string();
    assert!(!text.contains("NOTE-MARKER"));
    assert!(!text.contains("ana@example.org"));
    assert!(!text.contains("priority"));

    // Marked read; a number that is no reply of theirs is not.
    let seq = reply["seq"].as_u64().unwrap();
    let read = |seq: u64| {
        app.client
            .post(app.url(&format!("/api/v1/followup/messages/{seq}/read")))
            .header("authorization", &bearer)
            .send()
    };
    assert_eq!(read(seq).await.unwrap().status(), 204);
    assert_eq!(read(999).await.unwrap().status(), 404);

    // A message and a file.
    let form = reqwest::multipart::Form::new()
        .text("message", "Here are the logs.")
        .part(
            "evidence",
            reqwest::multipart::Part::bytes(b"log line".to_vec()).file_name("logs.txt"),
        );
    let sent = app
        .client
        .post(app.url("/api/v1/followup/messages"))
        .header("authorization", &bearer)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 201);
    let sent: Value = sent.json().await.unwrap();
    // Nothing at all: refused with the field named.
    let empty = app
        .client
        .post(app.url("/api/v1/followup/messages"))
        .header("authorization", &bearer)
        .multipart(reqwest::multipart::Form::new().text("message", "  "))
        .send()
        .await
        .unwrap();
    assert_eq!(empty.status(), 422);
    let empty: Value = empty.json().await.unwrap();
    assert_eq!(empty["error"]["field"], "message");

    let res = app
        .client
        .get(app.url("/api/v1/followup/case"))
        .header("authorization", &bearer)
        .send()
        .await
        .unwrap();
    let case = checked(&doc, "FollowupCase", res).await;
    let messages = case["messages"].as_array().unwrap();
    let mine = messages.last().unwrap();
    assert_eq!(mine["seq"], sent["seq"]);
    assert_eq!(mine["from"], "you");
    assert_eq!(mine["files"][0]["name"], "logs.txt");
    assert!(mine.get("read").is_none());
    assert_eq!(
        messages.iter().find(|m| m["kind"] == "reply").unwrap()["read"],
        true
    );
    // The investigator sees it.
    let shown = ana.agent.get(&format!("/cases/{case_ref}")).await;
    assert!(shown.text_of("entries").unwrap().contains("Here are the logs."));

    // Ended: the token opens nothing; no token, or a made-up one, neither.
    let ended = app
        .client
        .delete(app.url("/api/v1/followup/session"))
        .header("authorization", &bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(ended.status(), 204);
    for header in [bearer.as_str(), "Bearer not-a-token", ""] {
        let res = app
            .client
            .get(app.url("/api/v1/followup/case"))
            .header("authorization", header)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "{header}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "no_session");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_api_shares_the_budget_of_wrong_receipts() {
    let app = TestApp::spawn_with(|c| c.intake.followup_lookups_per_minute = 2).await;
    app.advance(60 - app.now().rem_euclid(60));
    let wrong = json!({ "receipt": "zoo zoo zoo zoo zoo zoo zoo zoo" });
    for _ in 0..2 {
        assert_eq!(open(&app, &wrong).await.status(), 422);
    }
    let refused = open(&app, &wrong).await;
    assert_eq!(refused.status(), 429);
    assert_eq!(refused.headers()["retry-after"], "60");
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "too_many_wrong_receipts");
    // The web form waits too: one budget.
    let page = Agent::new(&app.base)
        .submit(
            "/followup",
            "/followup",
            &[("receipt", "zoo zoo zoo zoo zoo zoo zoo zoo")],
        )
        .await;
    assert_eq!(page.status, 429);
    app.advance(60);
    assert_eq!(open(&app, &wrong).await.status(), 422);
}
