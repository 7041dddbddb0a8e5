//! A real browser with JavaScript disabled — Tor Browser at "Safest" — goes through the
//! whole form: fill in, get it back with errors, follow the error summary by keyboard,
//! fix, attach a file, submit, read the receipt.

use crate::cdp::{Browser, Key};
use crate::helpers::*;

#[tokio::test(flavor = "multi_thread")]
async fn a_person_without_javascript_reports_with_a_file_and_gets_a_receipt() {
    if !have_tool(
        "chromium",
        "the browser test drives Debian's headless Chromium (apt-get install chromium)",
    ) {
        return;
    }
    let app = TestApp::spawn().await;
    let evidence: Vec<u8> = (0..150_000u32).map(|i| (i % 253) as u8).collect();
    let evidence_path = app.dir.path().join("screenshot of the infection.png");
    std::fs::write(&evidence_path, &evidence).unwrap();
    let base = app.base.clone();

    let (url, receipt_html, case_ref_html, index_html) = tokio::task::spawn_blocking(move || {
        let mut b = Browser::launch()
            .expect("chromium found")
            .expect("chromium started");
        b.set_timeout(std::time::Duration::from_secs(30));
        b.scripts_disabled_check().unwrap();
        b.navigate(&format!("{base}/")).unwrap();
        let index_html = b.outer_html("main").unwrap();
        // Follow the link from the start page, as a person would.
        b.submit_with("main a[href='/report']").unwrap();
        assert!(b.current_url().unwrap().ends_with("/report"));
        // Keyboard only, as without JavaScript: down twice, back up once.
        b.press("#product", Key::ArrowDown).unwrap();
        b.press("#product", Key::ArrowDown).unwrap();
        b.press("#product", Key::ArrowUp).unwrap();
        b.fill("#suspected_customer", "Ministry of Example").unwrap();
        b.fill("#country", "Exampleland").unwrap();
        // First without saying who was targeted and too briefly: the form comes back.
        b.fill("#what_happened", "Implant.").unwrap();
        b.fill("#when", "May 2026").unwrap();
        b.press("#ongoing-yes", Key::Space).unwrap();
        b.submit_with("button[type=submit]").unwrap();
        assert!(b.outer_html("title").unwrap().contains(">Error: "));
        // The summary's links take the keyboard to the fields they name.
        b.follow_fragment_link(".error-summary a[href='#targeted-journalist']")
            .unwrap();
        assert!(
            b.exists("#targeted-journalist:focus").unwrap(),
            "the link lands on the first checkbox"
        );
        b.press("#targeted-journalist", Key::Space).unwrap();
        b.press("#targeted-human_rights_defender", Key::Space).unwrap();
        b.follow_fragment_link(".error-summary a[href='#what_happened']")
            .unwrap();
        assert!(b.exists("#what_happened:focus").unwrap());
        b.fill(
            "#what_happened",
            "My phone showed the implant's traces.\nIt started in May.",
        )
        .unwrap();
        // What was typed before is still there.
        assert!(b.exists("#ongoing-yes:checked").unwrap());
        assert!(
            b.outer_html("#product option:checked")
                .unwrap()
                .contains("mobile-implant")
        );
        // Laid out right to left, nothing (the honeypot included) sticks out sideways.
        for dir in ["rtl", "ltr"] {
            b.set_attribute("html", "dir", dir).unwrap();
            let (content, viewport) = b.content_and_viewport_width().unwrap();
            assert!(
                content <= viewport,
                "{dir}: {content} px of content in {viewport} px"
            );
        }
        b.set_files("#evidence", &[evidence_path.as_path()]).unwrap();
        b.submit_with("button[type=submit]").unwrap();
        (
            b.current_url().unwrap(),
            b.outer_html("#receipt").unwrap(),
            b.outer_html("#case-ref").unwrap(),
            index_html,
        )
    })
    .await
    .unwrap();

    assert!(
        index_html.contains("Tor Browser"),
        "the start page explains how to stay safe"
    );
    assert!(url.ends_with("/receipt"), "landed on {url}");
    let receipt = element_text(&receipt_html, "receipt").unwrap();
    let case_ref = element_text(&case_ref_html, "case-ref").unwrap();
    assert_eq!(receipt.split_whitespace().count(), 8, "{receipt}");

    // What the browser sent is what was stored, and the receipt opens it.
    let opened = app.open_with_receipt(&case_ref, &receipt).await.unwrap();
    let answers = &opened.document["answers"];
    assert_eq!(answers["product"], "mobile-implant");
    assert_eq!(
        answers["targeted"],
        serde_json::json!(["journalist", "human_rights_defender"])
    );
    assert_eq!(
        answers["what_happened"],
        "My phone showed the implant's traces.\nIt started in May."
    );
    assert_eq!(answers["ongoing"], "yes");
    assert_eq!(
        opened.files,
        [("screenshot of the infection.png".to_owned(), evidence)]
    );
}
