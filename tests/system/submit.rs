//! Submitting through the form and the API, and who can open what was stored.

use redress_crypto::SecretIdentity;
use redress_domain::{Holder, JobKind, JobState};
use serde_json::Value;

use crate::helpers::*;

fn evidence_bytes() -> Vec<u8> {
    // Not text, not compressible, larger than one age chunk (64 KiB).
    (0..300_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn form_submission_shows_the_receipt_once_and_every_holder_opens_the_exact_bytes() {
    let app = TestApp::spawn().await;
    let binary = evidence_bytes();
    let text = b"forensic log: process bh was seen\n".to_vec();
    let fields = good_form_fields("My phone was infected while I reported on the ministry.");
    let post = app
        .form_submit(&fields, &[("mvt-report.bin", &binary), ("notes.txt", &text)])
        .await;
    let (receipt, case_ref, html) = app.follow_to_receipt(post).await;

    assert_eq!(receipt.split_whitespace().count(), 8, "eight words: {receipt}");
    assert!(html.contains("Write it down"), "advice to write it down");
    // Shown once: the cookie is cleared and a second visit shows nothing.
    let again = app.get("/receipt").await;
    assert_eq!(again.status(), 410);
    assert!(!again.text().await.unwrap().contains(&receipt));

    for (holder, identity) in [(Holder::Triage, &app.triage), (Holder::Recovery, &app.recovery)] {
        let opened = app.open_as(&case_ref, holder, identity).await.unwrap();
        assert_eq!(opened.document["answers"]["what_happened"], fields[5].1.as_str());
        assert_eq!(
            opened.document["answers"]["targeted"],
            serde_json::json!(["journalist", "lawyer"])
        );
        assert_eq!(
            opened.files,
            [
                ("mvt-report.bin".to_owned(), binary.clone()),
                ("notes.txt".to_owned(), text.clone())
            ]
        );
    }
    let by_receipt = app.open_with_receipt(&case_ref, &receipt).await.unwrap();
    assert_eq!(by_receipt.files.len(), 2);

    let stranger = SecretIdentity::generate();
    assert!(app.open_as(&case_ref, Holder::Triage, &stranger).await.is_err());
    assert!(
        app.open_as(&case_ref, Holder::Recovery, &app.triage)
            .await
            .is_err(),
        "keys are not interchangeable"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn api_submission_returns_201_and_the_case_opens() {
    let app = TestApp::spawn().await;
    let binary = evidence_bytes();
    let res = app
        .api_submit(
            &good_answers("Our newsroom's phones were compromised."),
            &[("a.bin", &binary)],
        )
        .await;
    assert_eq!(res.status(), 201);
    assert_eq!(res.headers()["content-type"], "application/json");
    let body: Value = res.json().await.unwrap();
    let receipt = body["receipt"].as_str().unwrap();
    let case_ref = body["case_ref"].as_str().unwrap();
    assert!(redress_domain::CaseRef::parse(case_ref).is_some(), "{case_ref}");
    assert_eq!(body.as_object().unwrap().len(), 2);

    let opened = app
        .open_as(case_ref, Holder::Recovery, &app.recovery)
        .await
        .unwrap();
    assert_eq!(opened.files, [("a.bin".to_owned(), binary)]);
    assert_eq!(opened.document["answers"]["product"], "mobile-implant");
    assert_eq!(opened.document["questionnaire_version"], 1);
    app.open_with_receipt(case_ref, receipt).await.unwrap();
    // The receipt also works when typed back sloppily.
    let sloppy: Vec<String> = receipt
        .split(' ')
        .map(|w| w.chars().take(4).collect::<String>().to_uppercase())
        .collect();
    app.open_with_receipt(case_ref, &sloppy.join("-")).await.unwrap();

    // The case's triage was queued with it, dated only to the hour.
    let case = app.case(case_ref).await;
    let jobs = app.store.jobs_in_state(JobState::Queued).await.unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].kind, JobKind::TriageCase);
    assert_eq!(jobs[0].run_at, case.received_at);
    assert_eq!(case.received_at % 3600, 0);
    let row = app.store.job(jobs[0].id).await.unwrap().unwrap();
    assert_eq!(row.payload, format!("{{\"case_id\":\"{}\"}}", case.id));
    assert_eq!(row.created_at, case.received_at);

    // File times say no more than the database: the hour.
    for (id, _) in app.store.objects(case.id).await.unwrap() {
        assert_eq!(
            blob_written_at(&app, id).await,
            case.received_at,
            "blob {id} is dated to the hour"
        );
    }

    // A report without files is fine too.
    let res = app
        .api_submit(&good_answers("No files, but I saw it happen."), &[])
        .await;
    assert_eq!(res.status(), 201);
    assert_eq!(app.store.case_count().await.unwrap(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_form_is_shown_again_with_messages_next_to_fields_and_values_kept() {
    let app = TestApp::spawn().await;
    let mut fields = good_form_fields("");
    fields.retain(|(name, _)| *name != "targeted");
    fields
        .iter_mut()
        .find(|(n, _)| *n == "suspected_customer")
        .unwrap()
        .1 = "Agency <b>&amp; \"friends\"".into();
    let (cookie, token) = app.form_get().await;
    let res = app
        .form_post(
            Some(&cookie),
            TestApp::form_body(Some(&token), &fields, &[("x.txt", b"file")]),
        )
        .await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    let errors = assert_errors_are_tied_to_their_fields(&app, &html).await;
    assert_eq!(
        errors,
        [
            ("targeted".to_owned(), "Choose at least one.".to_owned()),
            ("what_happened".to_owned(), "This field is required.".to_owned()),
        ]
    );
    // Typed values are kept (and escaped).
    assert!(
        html.contains("value=\"Agency &#60;b&#62;&#38;amp; &#34;friends&#34;\""),
        "escaped value kept"
    );
    assert!(html.contains("<option value=\"mobile-implant\" selected>"));
    assert!(
        html.contains(">Who was targeted?: Choose at least one.</a>"),
        "the summary says which field and what to do"
    );
    assert!(html.contains("These files were not kept") && html.contains("<li>x.txt</li>"));
    assert!(!html.contains('⟦'), "every message is in the catalogue");
    app.assert_nothing_stored().await;

    // The re-shown form carries a fresh token that works with the same cookie.
    let fresh = hidden_value(&html, redress_web::CSRF_FIELD).unwrap();
    let fixed = good_form_fields("Now with a proper description.");
    let ok = app
        .form_post(Some(&cookie), TestApp::form_body(Some(&fresh), &fixed, &[]))
        .await;
    assert_eq!(ok.status(), 303);
}

/// The GOV.UK error summary and error message patterns, as a screen-reader or keyboard
/// user meets them: the title says there are errors; the summary comes first in `main`,
/// with a heading and no `role=alert`; each of its links names the field and lands on a
/// focusable control; each message has an id that its control (a group's fieldset)
/// names in `aria-describedby` and marks `aria-invalid`; every hint is tied the same
/// way. Returns (field, message) of each error shown, in page order.
pub async fn assert_errors_are_tied_to_their_fields(app: &TestApp, html: &str) -> Vec<(String, String)> {
    let title_at = html.find("<title>").unwrap() + "<title>".len();
    assert!(
        html[title_at..].starts_with("Error: "),
        "{}",
        &html[title_at..title_at + 40]
    );
    assert!(!html.contains("role=\"alert\""), "a static summary, not an alert");
    let tags = tags(html);
    let main = tags.iter().position(|t| t.name == "main").unwrap();
    let summary = &tags[main + 1];
    assert!(
        summary.has_class("error-summary"),
        "the summary is first in main: {summary:?}"
    );
    assert_eq!(tags[main + 2].name, "h2", "the summary has a heading");
    let h1 = tags.iter().find(|t| t.name == "h1").unwrap();
    let summary_end = summary.at + html[summary.at..].find("</div>").unwrap();
    assert!(summary_end < h1.at);

    let labels: std::collections::BTreeMap<String, String> = app
        .get("/api/v1/questionnaire")
        .await
        .json::<Value>()
        .await
        .unwrap()["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["name"].as_str().unwrap().to_owned(),
                f["label"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let by_id = |id: &str| {
        let found: Vec<&Tag> = tags.iter().filter(|t| t.attr("id") == Some(id)).collect();
        assert_eq!(found.len(), 1, "exactly one element has id {id}");
        found[0]
    };
    let described_by = |id: &str| {
        let found: Vec<&Tag> = tags
            .iter()
            .filter(|t| {
                t.attr("aria-describedby")
                    .is_some_and(|ids| ids.split_whitespace().any(|x| x == id))
            })
            .collect();
        assert_eq!(found.len(), 1, "exactly one control is described by {id}");
        found[0]
    };

    let mut shown = Vec::new();
    for message in tags.iter().filter(|t| t.has_class("field-error")) {
        let id = message.attr("id").expect("every error message has an id");
        let control = described_by(id);
        assert_eq!(control.attr("aria-invalid"), Some("true"), "{control:?}");
        assert!(
            ["input", "select", "textarea", "fieldset"].contains(&control.name.as_str()),
            "{control:?}"
        );
        // Next to its control: no other control in between.
        let (lo, hi) = (message.at.min(control.at), message.at.max(control.at));
        let is_control = |t: &&Tag| ["input", "select", "textarea", "fieldset"].contains(&t.name.as_str());
        assert!(
            !tags.iter().filter(is_control).any(|t| t.at > lo && t.at < hi),
            "{id} is next to its control"
        );
        let text = inner_text(html, message);
        let text = text
            .strip_prefix("Error: ")
            .expect("a hidden prefix for screen readers");
        let field = control.attr("id").unwrap().to_owned();
        shown.push((field, text.to_owned()));
    }
    for hint in tags.iter().filter(|t| t.has_class("hint")) {
        described_by(hint.attr("id").expect("every hint has an id"));
    }
    let invalid = tags.iter().filter(|t| t.attr("aria-invalid").is_some()).count();
    assert_eq!(
        invalid,
        shown.len(),
        "only controls with an error are marked invalid"
    );

    let links: Vec<&Tag> = tags
        .iter()
        .filter(|t| t.name == "a" && t.at > summary.at && t.at < summary_end)
        .collect();
    assert_eq!(links.len(), shown.len(), "one summary line per error");
    for (link, (field, message)) in links.iter().zip(&shown) {
        assert_eq!(
            inner_text(html, link),
            format!("{}: {message}", labels[field]),
            "the link names the field"
        );
        let target = by_id(link.attr("href").unwrap().strip_prefix('#').unwrap());
        let focusable = match target.name.as_str() {
            "input" => target.attr("type") != Some("hidden"),
            "select" | "textarea" => true,
            _ => false,
        };
        assert!(
            focusable && target.attr("disabled").is_none() && target.attr("tabindex").is_none(),
            "{target:?} is focusable"
        );
        // It lands on the field's control, or on a group's first input.
        let control = by_id(field);
        let lands_on = if control.name == "fieldset" {
            tags.iter()
                .find(|t| t.at > control.at && t.name == "input")
                .unwrap()
        } else {
            control
        };
        assert_eq!(lands_on.at, target.at, "the link to {field} lands on its control");
    }
    shown
}

#[tokio::test(flavor = "multi_thread")]
async fn every_kind_of_error_is_tied_to_its_field() {
    let app = TestApp::spawn().await;
    let mut fields = good_form_fields("short");
    fields.retain(|(name, _)| *name != "ongoing");
    for (name, value) in &mut fields {
        match *name {
            "product" => *value = "no-such-product".into(),
            "country" => *value = "x".repeat(201),
            "contact" => *value = "bell\u{7}".into(),
            _ => {}
        }
    }
    let res = app.form_submit(&fields, &[]).await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    let errors = assert_errors_are_tied_to_their_fields(&app, &html).await;
    let fields: Vec<&str> = errors.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(
        fields,
        ["product", "country", "what_happened", "ongoing", "contact"]
    );
    assert!(
        !html.contains("files you attached were not kept"),
        "no files were sent"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn questionnaire_and_openapi_describe_the_api() {
    let app = TestApp::spawn().await;
    let q: Value = app.get("/api/v1/questionnaire").await.json().await.unwrap();
    let names: Vec<&str> = q["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "product",
            "suspected_customer",
            "country",
            "targeted",
            "what_happened",
            "when",
            "ongoing",
            "evidence",
            "contact"
        ]
    );
    assert_eq!(q["version"], 1);
    assert_eq!(q["limits"]["max_files"], 100);
    let product = &q["fields"][0];
    assert_eq!(product["required"], true);
    assert!(
        product["choices"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["value"] == "other-unknown")
    );
    assert!(!q.to_string().contains('⟦'), "every label is in the catalogue");
    let evidence_hint = q["fields"][7]["hint"].as_str().unwrap();
    assert!(
        evidence_hint.contains("Up to 100 files, 1 MiB each, 3 MiB in all"),
        "{evidence_hint}"
    );

    let doc: Value = app.get("/api/v1/openapi.json").await.json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    for path in ["/api/v1/reports", "/api/v1/questionnaire", "/api/v1/openapi.json"] {
        assert!(doc["paths"].get(path).is_some(), "{path} documented");
    }
    // The documented answer fields are exactly the questionnaire's text/choice fields.
    let mut documented: Vec<&str> = doc["components"]["schemas"]["Answers"]["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut expected: Vec<&str> = names.into_iter().filter(|n| *n != "evidence").collect();
    documented.sort_unstable();
    expected.sort_unstable();
    assert_eq!(documented, expected);
}
