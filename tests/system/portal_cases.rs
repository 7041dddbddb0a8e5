//! A case in the portal (part 2): its page shows the answers, what triage found and the
//! evidence, opened with the viewer's identity; files download as attachments only,
//! decrypted as they stream; every view and download is audited; nobody else gets any
//! of it.

use redress_domain::Role;

use crate::helpers::*;
use crate::staff::*;

/// An investigator with one case holding `files`, triaged by a worker.
pub(crate) async fn case_with(app: &TestApp, portal: &Portal, files: &[(&str, &[u8])]) -> (Person, String) {
    let ana = person(
        app,
        portal,
        "ana@example.org",
        Role::Investigator,
        &["triage-desk"],
    )
    .await;
    let mut answers = good_answers("The implant talked to evil.example every night; rdxsyncd ran.");
    answers["suspected_customer"] = "Ministry of Examples".into();
    let res = app.api_submit(&answers, files).await;
    assert_eq!(res.status(), 201);
    let body: serde_json::Value = res.json().await.unwrap();
    app.worker("w", None).run_until_idle().await.unwrap();
    (ana, body["case_ref"].as_str().unwrap().to_owned())
}

/// The hrefs of the page's download links, in order.
fn file_links(page: &Page) -> Vec<String> {
    tags(&page.body)
        .into_iter()
        .filter(|t| t.name == "a" && t.attr("download").is_some())
        .map(|t| t.attr("href").unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_case_page_shows_the_report_what_triage_found_and_the_evidence() {
    let app = TestApp::spawn().await;
    let portal = app.portal().await;
    let photo = crate::worker::jpeg_with_gps();
    let (ana, case_ref) = case_with(&app, &portal, &[("phone photo.jpg", &photo)]).await;
    let page = ana.agent.get(&format!("/cases/{case_ref}")).await;
    assert_eq!(page.status, 200);
    // The answers, in the portal's words.
    assert!(page.contains("The implant talked to evil.example every night; rdxsyncd ran."));
    assert!(page.contains("Ministry of Examples"));
    assert!(page.contains("a journalist, a lawyer"), "{}", page.body);
    // What triage found: the priority, each reason, each indicator by name and what
    // matched.
    assert!(page.text_of("triage-priority").unwrap().starts_with('P'));
    let reasons = page.text_of("reasons").unwrap();
    assert!(
        reasons.contains("indicator_matched") && reasons.contains("targeted"),
        "{reasons}"
    );
    let indicators = page.text_of("indicators").unwrap();
    assert!(
        indicators.contains("C2 domain") && indicators.contains("evil.example"),
        "{indicators}"
    );
    // The evidence: name, size, hash checked, and the scrubbed copy.
    let files = page.text_of("files").unwrap();
    assert!(
        files.contains("phone photo.jpg") && files.contains(&sha256_hex(&photo)),
        "{files}"
    );
    assert!(
        files.contains("matches the intake") && files.contains("removed: exif, gps"),
        "{files}"
    );
    let links = file_links(&page);
    assert_eq!(links.len(), 2, "the original and its scrubbed copy");

    // The original, byte for byte, as an attachment only.
    let original = ana.agent.get(&links[0]).await;
    assert_eq!(original.status, 200);
    assert_eq!(original.headers["content-type"], "application/octet-stream");
    assert_eq!(
        original.headers["content-disposition"],
        "attachment; filename=\"phone_photo.jpg\""
    );
    assert_eq!(original.headers["x-content-type-options"], "nosniff");
    let bytes = ana
        .agent
        .client
        .get(format!("{}{}", ana.agent.base, links[0]))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(bytes.as_ref(), photo.as_slice());
    // The scrubbed copy: the same picture without its GPS and author.
    let scrubbed = ana
        .agent
        .client
        .get(format!("{}{}", ana.agent.base, links[1]))
        .send()
        .await
        .unwrap();
    assert_eq!(
        scrubbed.headers()["content-disposition"],
        "attachment; filename=\"scrubbed-phone_photo.jpg\""
    );
    let scrubbed = scrubbed.bytes().await.unwrap();
    assert!(scrubbed.starts_with(&[0xFF, 0xD8]));
    assert!(
        !scrubbed.windows(13).any(|w| w == b"Jane Reporter"),
        "the author is gone"
    );

    // Views and downloads are audited, with the object.
    let log = app.store.audit_after(0, 1000).await.unwrap();
    let downloads: Vec<_> = log.iter().filter(|r| r.action == "download").collect();
    assert_eq!(downloads.len(), 3, "the test read the original twice");
    assert!(
        downloads[0]
            .target
            .as_deref()
            .unwrap()
            .starts_with(&format!("case:{case_ref}/object:"))
    );
    let by_case = ana.agent.get(&format!("/audit?case={case_ref}")).await;
    assert_eq!(by_case.status, 404, "an investigator does not read the log");

    // Someone else gets nothing, not even a file's existence.
    let bo = person(
        &app,
        &portal,
        "bo@example.org",
        Role::Investigator,
        &["triage-desk"],
    )
    .await;
    let missing = bo.agent.get("/no/such/page").await;
    for path in [format!("/cases/{case_ref}"), links[0].clone(), links[1].clone()] {
        let refused = bo.agent.get(&path).await;
        assert_eq!(
            (refused.status, refused.body.as_str()),
            (404, missing.body.as_str()),
            "{path}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_files_download_as_attachments_under_plain_names() {
    let app = TestApp::spawn().await;
    let portal = app.portal().await;
    let html = b"<html><body><script>alert(document.cookie)</script></body></html>";
    let svg = b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>";
    let (ana, case_ref) = case_with(
        &app,
        &portal,
        &[("report.html", html), ("a\"b; filename=x.svg", svg)],
    )
    .await;
    let page = ana.agent.get(&format!("/cases/{case_ref}")).await;
    assert!(
        !page.body.contains("<script>alert"),
        "the name is escaped, the file not shown"
    );
    let links = file_links(&page);
    assert_eq!(links.len(), 2);
    for (link, name, bytes) in [
        (&links[0], "report.html", html.as_slice()),
        (&links[1], "a_b__filename_x.svg", svg.as_slice()),
    ] {
        let res = ana
            .agent
            .client
            .get(format!("{}{link}", ana.agent.base))
            .send()
            .await
            .unwrap();
        let h = res.headers().clone();
        assert_eq!(h["content-type"], "application/octet-stream");
        assert_eq!(
            h["content-disposition"],
            format!("attachment; filename=\"{name}\"").as_str()
        );
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert!(
            h["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("default-src 'none'")
        );
        assert_eq!(res.bytes().await.unwrap().as_ref(), bytes);
    }
    // An object of another case, or one that is no file, is not found on this case.
    let other = app.orphan_blob(b"x").await;
    let res = ana.agent.get(&format!("/cases/{case_ref}/files/{other}")).await;
    assert_eq!(res.status, 404);
}

/// A real `redress portal` process streams a 100 MiB file without holding it: its peak
/// memory grows by far less than the file.
#[tokio::test(flavor = "multi_thread")]
async fn a_100_mib_download_streams_through_bounded_memory() {
    let app = TestApp::spawn_with(|c| {
        c.limits.max_file_mib = 128;
        c.limits.max_report_mib = 256;
    })
    .await;
    let portal = app.portal().await;
    let big = noise(100 * 1024 * 1024);
    let (ana, case_ref) = case_with(&app, &portal, &[("disk.img", &big)]).await;
    let expected = sha256_hex(&big);
    drop(big);

    let process = PortalProcess::start(&app);
    let agent = process.log_in(&ana).await;
    let base = process.base.clone();
    let page = agent.get(&format!("/cases/{case_ref}")).await;
    let link = file_links(&page).remove(0);
    let before = process.peak_kib();

    let mut res = agent.client.get(format!("{base}{link}")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let mut hasher = <sha2::Sha256 as sha2::Digest>::new();
    let mut total = 0usize;
    while let Some(chunk) = res.chunk().await.unwrap() {
        total += chunk.len();
        sha2::Digest::update(&mut hasher, &chunk);
    }
    let after = process.peak_kib();
    drop(process);
    assert_eq!(total, 100 * 1024 * 1024);
    let got: String = sha2::Digest::finalize(hasher)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(got, expected);
    assert!(
        after - before < 32 * 1024,
        "the portal's peak memory grew by {} MiB streaming 100 MiB",
        (after - before) / 1024
    );
}
