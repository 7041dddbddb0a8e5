//! Bad input: a clear 4xx with a readable message, and nothing left behind — no case,
//! no object row, no blob, no temporary file.

use reqwest::multipart::{Form, Part};
use serde_json::Value;

use crate::helpers::*;

/// Checks the API error shape and returns it.
async fn api_error(res: reqwest::Response, status: u16, code: &str, field: Option<&str>) -> Value {
    assert_eq!(res.status(), status);
    assert_eq!(res.headers()["content-type"], "application/json");
    let body: Value = res.json().await.unwrap();
    let err = &body["error"];
    assert_eq!(err["code"], code, "{body}");
    assert!(
        err["message"].as_str().is_some_and(|m| m.len() > 10),
        "a clear message: {body}"
    );
    assert_eq!(err["field"].as_str(), field, "{body}");
    assert_eq!(body.as_object().unwrap().len(), 1);
    body
}

fn report_part(json: String) -> Part {
    Part::text(json).mime_str("application/json").unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn api_missing_required_field_and_bad_choices() {
    let app = TestApp::spawn().await;
    let mut answers = good_answers("x");
    answers.as_object_mut().unwrap().remove("what_happened");
    let res = app.api_submit(&answers, &[("e.txt", b"evidence")]).await;
    api_error(res, 422, "required", Some("what_happened")).await;

    let mut answers = good_answers("A long enough description.");
    answers["targeted"] = serde_json::json!(["aliens"]);
    api_error(
        app.api_submit(&answers, &[]).await,
        422,
        "invalid_choice",
        Some("targeted"),
    )
    .await;
    app.assert_nothing_stored().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn api_bad_json_unknown_keys_and_missing_report() {
    let app = TestApp::spawn().await;
    let bad = Form::new().part("report", report_part("{\"product\": ".into()));
    api_error(
        app.api_submit_form(bad).await,
        400,
        "invalid_json",
        Some("report"),
    )
    .await;

    let mut answers = good_answers("A long enough description.");
    answers["is_admin"] = true.into();
    let res = app.api_submit(&answers, &[]).await;
    let body = api_error(res, 400, "invalid_json", Some("report")).await;
    assert!(
        body["error"]["message"].as_str().unwrap().contains("is_admin"),
        "names the key"
    );

    let no_report = Form::new().part("evidence", Part::bytes(b"x".to_vec()).file_name("x.txt"));
    api_error(
        app.api_submit_form(no_report).await,
        400,
        "missing_report",
        Some("report"),
    )
    .await;

    let extra = Form::new()
        .part(
            "report",
            report_part(good_answers("A long enough description.").to_string()),
        )
        .text("comment", "hello");
    api_error(
        app.api_submit_form(extra).await,
        400,
        "unknown_part",
        Some("comment"),
    )
    .await;
    app.assert_nothing_stored().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn oversize_file_and_oversize_report_are_refused_while_streaming() {
    let app = TestApp::spawn().await; // 1 MiB per file, 3 MiB per report
    let mib = 1024 * 1024;
    let big = vec![7u8; mib + 1];
    let res = app
        .api_submit(&good_answers("A long enough description."), &[("big.bin", &big)])
        .await;
    api_error(res, 413, "file_too_large", Some("evidence")).await;

    let almost = vec![8u8; mib - 10];
    let files: Vec<(&str, &[u8])> = (0..4).map(|_| ("part.bin", almost.as_slice())).collect();
    let res = app
        .api_submit(&good_answers("A long enough description."), &files)
        .await;
    api_error(res, 413, "report_too_large", None).await;

    // Through the form, the same refusal is a page.
    let post = app
        .form_submit(
            &good_form_fields("A long enough description."),
            &[("big.bin", &big)],
        )
        .await;
    assert_eq!(post.status(), 413);
    assert!(post.text().await.unwrap().contains("larger than 1 MiB"));
    app.assert_nothing_stored().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn one_hundred_and_one_files_are_refused() {
    let app = TestApp::spawn().await;
    let files: Vec<(&str, &[u8])> = (0..101).map(|_| ("f.txt", b"tiny".as_slice())).collect();
    let res = app
        .api_submit(&good_answers("A long enough description."), &files)
        .await;
    api_error(res, 413, "too_many_files", Some("evidence")).await;
    app.assert_nothing_stored().await;
    // 100 is fine.
    let res = app
        .api_submit(&good_answers("A long enough description."), &files[..100])
        .await;
    assert_eq!(res.status(), 201);
}

#[tokio::test(flavor = "multi_thread")]
async fn ten_megabyte_text_field_is_refused() {
    let app = TestApp::spawn().await;
    let huge = "a".repeat(10 * 1024 * 1024);
    let mut fields = good_form_fields("");
    fields.iter_mut().find(|(n, _)| *n == "what_happened").unwrap().1 = huge.clone();
    let res = app.form_submit(&fields, &[]).await;
    assert_eq!(res.status(), 413);
    assert!(res.text().await.unwrap().contains("far too long"));

    let res = app.api_submit(&good_answers(&huge), &[]).await;
    api_error(res, 413, "field_too_large", Some("report")).await;

    // Just over the character limit (but under the byte cap) is a validation message.
    let res = app.api_submit(&good_answers(&"b".repeat(20_001)), &[]).await;
    api_error(res, 422, "too_long", Some("what_happened")).await;
    app.assert_nothing_stored().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn csrf_token_wrong_missing_or_from_another_browser_is_refused() {
    let app = TestApp::spawn().await;
    let fields = good_form_fields("A long enough description.");
    let file: &[(&str, &[u8])] = &[("e.txt", b"evidence")];
    let (cookie, token) = app.form_get().await;
    let (other_cookie, _) = app.form_get().await;

    let cases = [
        (Some(cookie.as_str()), None, "no token"),
        (None, Some(token.as_str()), "no cookie"),
        (
            Some(cookie.as_str()),
            Some("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
            "forged token",
        ),
        (
            Some(other_cookie.as_str()),
            Some(token.as_str()),
            "token of another browser",
        ),
    ];
    for (c, t, what) in cases {
        let res = app.form_post(c, TestApp::form_body(t, &fields, file)).await;
        assert_eq!(res.status(), 403, "{what}");
        assert!(
            res.text().await.unwrap().contains("The form has expired"),
            "{what}"
        );
    }
    app.assert_nothing_stored().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_multipart_is_a_400() {
    let app = TestApp::spawn().await;
    let post = |ct: Option<&'static str>, body: &'static [u8]| {
        let mut req = app.client.post(app.url("/api/v1/reports")).body(body);
        if let Some(ct) = ct {
            req = req.header("content-type", ct);
        }
        req.send()
    };
    let garbage = post(
        Some("multipart/form-data; boundary=XyZ"),
        b"this is not multipart at all",
    )
    .await
    .unwrap();
    api_error(garbage, 400, "malformed_multipart", None).await;
    let truncated = post(
        Some("multipart/form-data; boundary=XyZ"),
        b"--XyZ\r\nContent-Disposition: form-data; name=\"report\"\r\n\r\n{\"product\"",
    )
    .await
    .unwrap();
    api_error(truncated, 400, "malformed_multipart", None).await;
    let no_type = post(None, b"{}").await.unwrap();
    api_error(no_type, 400, "malformed_multipart", None).await;
    let json = post(Some("application/json"), b"{}").await.unwrap();
    api_error(json, 400, "malformed_multipart", None).await;
    app.assert_nothing_stored().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn path_traversal_and_control_characters_in_file_names_are_refused() {
    let app = TestApp::spawn().await;
    for name in [
        "../../etc/passwd",
        "..\\windows\\system.ini",
        "a/b.txt",
        "..",
        "photo\u{202E}gpj.exe",
        "x\u{200B}.txt",
    ] {
        let res = app
            .api_submit(&good_answers("A long enough description."), &[(name, b"x")])
            .await;
        api_error(res, 400, "bad_file_name", Some("evidence")).await;
    }
    let res = app
        .form_submit(
            &good_form_fields("A long enough description."),
            &[("../../../x", b"x")],
        )
        .await;
    assert_eq!(res.status(), 400);
    // RFC 5987 names are decoded before they are checked.
    for encoded in ["bad%07.txt", "..%2F..%2Fetc%2Fpasswd"] {
        let body = format!(
            "--XyZ\r\nContent-Disposition: form-data; name=\"report\"\r\nContent-Type: application/json\r\n\r\n{}\r\n\
             --XyZ\r\nContent-Disposition: form-data; name=\"evidence\"; filename*=UTF-8''{encoded}\r\n\r\nx\r\n--XyZ--\r\n",
            good_answers("A long enough description.")
        );
        let res = app
            .client
            .post(app.url("/api/v1/reports"))
            .header("content-type", "multipart/form-data; boundary=XyZ")
            .body(body)
            .send()
            .await
            .unwrap();
        api_error(res, 400, "bad_file_name", Some("evidence")).await;
    }
    app.assert_nothing_stored().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_utf8_in_a_text_field_is_refused() {
    let app = TestApp::spawn().await;
    let (cookie, token) = app.form_get().await;
    let mut form = TestApp::form_body(
        Some(&token),
        &good_form_fields("A long enough description.")[..4],
        &[],
    );
    form = form.part("what_happened", Part::bytes(vec![b'o', b'k', 0xff, 0xfe, 0x80]));
    let res = app.form_post(Some(&cookie), form).await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("not valid text"));

    let bytes = Form::new().part(
        "report",
        Part::bytes(vec![b'{', 0xff, b'}'])
            .mime_str("application/json")
            .unwrap(),
    );
    api_error(
        app.api_submit_form(bytes).await,
        400,
        "invalid_json",
        Some("report"),
    )
    .await;
    app.assert_nothing_stored().await;
}
