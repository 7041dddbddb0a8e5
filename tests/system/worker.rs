//! The triage worker end to end: a submitted case is opened with the triage key, scored,
//! scanned, scrubbed, routed and handed over; the assignees are mailed (content-free) by
//! an SMTP server on loopback; and the triage key no longer opens the case.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use redress_crypto::{SecretIdentity, open};
use redress_domain::evidence::{FileType, Metadata, NotScrubbed};
use redress_domain::{
    DeadlineFlag, Holder, HolderKind, JobKind, JobState, ObjectKind, Priority, Related, Rendition, Sealed,
    TriageSummary,
};
use redress_mail::{MailConfig, Mailer, sink};
use redress_store::Investigator;
use serde_json::Value;

use crate::helpers::*;

const PORTAL: &str = "http://127.0.0.1:8081";

pub fn mail_config(sink: &sink::SinkHandle) -> MailConfig {
    MailConfig {
        smtp_url: sink.url(),
        credentials_file: String::new(),
        from: "Redress <redress@example.org>".into(),
        ehlo_name: "notify.redress.test".into(),
        message_id_domain: "mid.redress.test".into(),
        portal_base_url: PORTAL.into(),
        timeout_secs: 5,
    }
}

/// A small JPEG carrying an EXIF block with GPS coordinates and an artist name.
pub fn jpeg_with_gps() -> Vec<u8> {
    let (w, h) = (32u32, 16u32);
    let pixels: Vec<u8> = (0..h)
        .flat_map(|y| (0..w).flat_map(move |x| [(x * 7) as u8, (y * 9) as u8, 128]))
        .collect();
    let mut plain = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut plain, 90)
        .encode(&pixels, w, h, image::ExtendedColorType::Rgb8)
        .unwrap();
    // A little-endian TIFF: IFD0 holds Artist and a pointer to a GPS IFD with latitude.
    let mut tiff = b"II\x2A\x00\x08\x00\x00\x00".to_vec();
    let artist = b"Jane Reporter\0";
    let ifd0_len = 2 + 2 * 12 + 4;
    let artist_at = 8 + ifd0_len;
    let gps_at = artist_at + artist.len();
    tiff.extend_from_slice(&2u16.to_le_bytes());
    tiff.extend_from_slice(&[0x3B, 0x01, 2, 0]); // Artist, ASCII
    tiff.extend_from_slice(&(artist.len() as u32).to_le_bytes());
    tiff.extend_from_slice(&(artist_at as u32).to_le_bytes());
    tiff.extend_from_slice(&[0x25, 0x88, 4, 0, 1, 0, 0, 0]); // GPS IFD pointer, LONG
    tiff.extend_from_slice(&(gps_at as u32).to_le_bytes());
    tiff.extend_from_slice(&0u32.to_le_bytes());
    tiff.extend_from_slice(artist);
    tiff.extend_from_slice(&1u16.to_le_bytes());
    tiff.extend_from_slice(&[0x01, 0x00, 2, 0, 2, 0, 0, 0]); // GPSLatitudeRef, ASCII, "N"
    tiff.extend_from_slice(b"N\0\0\0");
    tiff.extend_from_slice(&0u32.to_le_bytes());
    let payload = [b"Exif\0\0".as_slice(), &tiff].concat();
    let mut out = plain[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&u16::try_from(payload.len() + 2).unwrap().to_be_bytes());
    out.extend_from_slice(&payload);
    out.extend_from_slice(&plain[2..]);
    out
}

/// The case key, as an assignee gets it.
async fn case_key_of(
    app: &TestApp,
    case_ref: &str,
    who: &Investigator,
    key: &SecretIdentity,
) -> SecretIdentity {
    let case = app.case(case_ref).await;
    redress_keychain::open_case_key(&app.store, case.id, Holder::Investigator(who.id), key)
        .await
        .expect("an assignee's wrap")
}

async fn object_of(app: &TestApp, case_ref: &str, kind: ObjectKind) -> Vec<Vec<u8>> {
    let case = app.case(case_ref).await;
    let mut out = Vec::new();
    for (id, k) in app.store.objects(case.id).await.unwrap() {
        if k == kind {
            out.push(app.read_blob(id).await);
        }
    }
    out
}

async fn submit(app: &TestApp, what: &str, files: &[(&str, &[u8])]) -> String {
    let mut answers = good_answers(what);
    answers["country"] = "France".into();
    let res = app.api_submit(&answers, files).await;
    assert_eq!(res.status(), 201);
    res.json::<Value>().await.unwrap()["case_ref"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_case_is_triaged_handed_over_and_announced_without_content() {
    let app = TestApp::spawn().await;
    let sink = sink::start().await.unwrap();
    let (ana, ana_key) = app.investigator("ana@example.org", &["mobile"], 5).await;
    let (_bo, _) = app.investigator("bo@example.org", &["network"], 5).await;
    let (_desk, _) = app.investigator("desk@example.org", &["triage-desk"], 5).await;
    let jpeg = jpeg_with_gps();
    let log = b"2026-05-01 process rdxsyncd started\n".to_vec();
    let case_ref = submit(
        &app,
        "My phone kept talking to evil[.]example after the interview.",
        &[("photo.jpg", &jpeg), ("device.log", &log)],
    )
    .await;

    let worker = app.worker("w1", Some(Mailer::new(&mail_config(&sink)).unwrap()));
    let ran = worker.run_until_idle().await.unwrap();
    assert!(
        ran.contains(&redress_worker::Ran::Done(JobKind::TriageCase)),
        "{ran:?}"
    );
    assert!(
        ran.contains(&redress_worker::Ran::Done(JobKind::SendEmail)),
        "{ran:?}"
    );

    // Routed by product to the mobile team; the triage key is gone.
    let case = app.case(&case_ref).await;
    assert!(case.triaged);
    assert_eq!(case.priority, Some(Priority::P1));
    assert_eq!(case.ack_due, Some(case.received_at + 7 * 86_400));
    let assignees = app.store.assignees(case.id).await.unwrap();
    assert_eq!(
        assignees.iter().map(|i| i.email.as_str()).collect::<Vec<_>>(),
        ["ana@example.org"]
    );
    assert!(app.store.wrap(case.id, Holder::Triage).await.unwrap().is_none());
    assert!(
        app.open_as(&case_ref, Holder::Triage, &app.triage).await.is_err(),
        "triage key opens nothing now"
    );
    app.open_as(&case_ref, Holder::Recovery, &app.recovery)
        .await
        .unwrap();

    // The assignee reads the summary; the reporter's thread key cannot.
    let case_key = case_key_of(&app, &case_ref, &ana, &ana_key).await;
    let summary_ct = object_of(&app, &case_ref, ObjectKind::TriageSummary).await;
    assert_eq!(summary_ct.len(), 1);
    let summary = TriageSummary::from_json(&open(&case_key, &summary_ct[0]).unwrap()).unwrap();
    let reporter_thread = redress_keychain::open_thread_key(&app.store, case.id, &case_key)
        .await
        .unwrap();
    assert!(
        open(&reporter_thread, &summary_ct[0]).is_err(),
        "the summary is not sealed to the thread key"
    );
    let reasons: BTreeSet<&str> = summary.score.reasons.iter().map(|r| r.rule.as_str()).collect();
    for r in ["targeted", "ongoing", "evidence_present", "indicator_matched"] {
        assert!(reasons.contains(r), "{summary:?}");
    }
    let names: BTreeSet<String> = summary.indicators.iter().map(|i| i.label()).collect();
    assert!(
        names.contains("C2 domain") && names.contains("Implant process"),
        "{names:?}"
    );
    let domain = summary
        .indicators
        .iter()
        .find(|i| i.label() == "C2 domain")
        .unwrap();
    assert!(
        domain.observables.iter().any(|o| o.value == "evil.example"),
        "{domain:?}"
    );
    assert_eq!(summary.routed_to_team, "mobile");
    assert_eq!(summary.assigned, [ana.id]);

    // Chain of custody: both files verified; the photo has a scrubbed copy without GPS.
    let evidence = &summary.evidence;
    assert!(evidence.iter().all(|e| e.sha256_verified), "{summary:?}");
    let photo = evidence.iter().find(|e| e.file_name == "photo.jpg").unwrap();
    assert_eq!(photo.sha256, sha256_hex(&jpeg));
    assert_eq!(photo.file_type, FileType::Jpeg);
    let scrubbed_ct = object_of(&app, &case_ref, ObjectKind::Scrubbed).await;
    assert_eq!(scrubbed_ct.len(), 1);
    let scrubbed = open(&case_key, &scrubbed_ct[0]).unwrap();
    let Rendition::Scrubbed { sha256, removed, .. } = &photo.rendition else {
        panic!("the photo was not scrubbed: {photo:?}");
    };
    assert_eq!(*sha256, sha256_hex(&scrubbed));
    assert!(removed.contains(&Metadata::Gps), "{removed:?}");
    assert!(!contains(&scrubbed, b"Jane Reporter") && !contains(&scrubbed, b"Exif\0\0"));
    let pixels = |b: &[u8]| image::load_from_memory(b).unwrap().into_bytes();
    assert_eq!(pixels(&scrubbed), pixels(&jpeg), "pixels unchanged");
    let log_entry = evidence.iter().find(|e| e.file_name == "device.log").unwrap();
    assert_eq!(
        log_entry.rendition,
        Rendition::NotMade {
            reason: NotScrubbed::UnsupportedType
        }
    );

    // One email, to the assignee, saying nothing about the report.
    let mails = sink.messages();
    assert_eq!(mails.len(), 1);
    let m = &mails[0];
    assert_eq!(m.rcpt_to, vec![ana.email.clone()]);
    assert_eq!(m.ehlo, "notify.redress.test");
    let text = m.text();
    assert!(
        text.contains(&case_ref) && text.contains(&format!("{PORTAL}/cases/{case_ref}")),
        "{text}"
    );
    // The reference is random base-32 and may itself hold "P1": look past it.
    let text = text.replace(&case_ref, "RD-REF");
    for secret in [
        "evil",
        "France",
        "Ministry",
        "mobile",
        "implant",
        "journalist",
        "photo.jpg",
        "rdxsyncd",
        "P1",
    ] {
        assert!(
            !text.to_lowercase().contains(&secret.to_lowercase()),
            "{secret} in {text}"
        );
    }
    let row = app.store.emails().await.unwrap();
    assert_eq!((row.len(), row[0].sent), (1, true));
    assert_eq!(m.header("Message-ID").unwrap(), row[0].message_id);

    // Triage's own blobs are dated to the hour too.
    for (id, _) in app.store.objects(case.id).await.unwrap() {
        assert_eq!(blob_written_at(&app, id).await, case.received_at);
    }

    // Running again does nothing more.
    assert!(worker.run_until_idle().await.unwrap().is_empty());
    assert_eq!(sink.messages().len(), 1);
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test(flavor = "multi_thread")]
async fn related_cases_are_linked_through_fingerprints_not_plaintext() {
    let app = TestApp::spawn().await;
    app.investigator("desk@example.org", &["triage-desk", "mobile"], 50)
        .await;
    let a = submit(&app, "Contact with evil.example, the ministry's contractor.", &[]).await;
    let b = submit(&app, "Same implant, it phoned evil.example too.", &[]).await;
    let worker = app.worker("w1", None);
    worker.run_until_idle().await.unwrap();
    let (case_a, case_b) = (app.case(&a).await, app.case(&b).await);
    let links = app.store.links(case_b.id).await.unwrap();
    assert_eq!(links.len(), 1);
    assert_eq!(links[0].0, case_a.id);
    assert!(
        links[0].1.contains(&"indicator".to_owned()) && links[0].1.contains(&"customer".to_owned()),
        "{links:?}"
    );
    // The database holds fingerprints, not the shared values (the dump does see the
    // fingerprint rows, and the file on disk is checked too).
    let dump = dump_database(&app.store).await;
    assert!(
        dump.lines()
            .any(|l| l.starts_with("case_fingerprints ") && l.contains(" customer ")),
        "the dump covers the fingerprints"
    );
    for plain in ["evil.example", "Ministry of Example", "France"] {
        assert!(!dump.contains(plain), "{plain} stored in plaintext");
        assert!(
            files_containing(&app.config.data_dir, plain.as_bytes()).is_empty(),
            "{plain} on disk"
        );
    }
}

/// Submits a report naming `customer` (and France, as `submit` does) and triages it
/// at once, so cases are triaged in the order given.
async fn triaged(app: &TestApp, worker: &redress_worker::Worker, customer: &str, what: &str) -> String {
    let mut answers = good_answers(what);
    answers["country"] = "France".into();
    answers["suspected_customer"] = customer.into();
    let res = app.api_submit(&answers, &[]).await;
    assert_eq!(res.status(), 201);
    let case_ref = res.json::<Value>().await.unwrap()["case_ref"]
        .as_str()
        .unwrap()
        .to_owned();
    worker.run_until_idle().await.unwrap();
    assert!(app.case(&case_ref).await.triaged, "{case_ref} triaged");
    case_ref
}

async fn related_of(app: &TestApp, case_ref: &str, who: &Investigator, key: &SecretIdentity) -> Related {
    let case_key = case_key_of(app, case_ref, who, key).await;
    let sealed = object_of(app, case_ref, ObjectKind::TriageSummary).await;
    TriageSummary::from_json(&open(&case_key, &sealed[0]).unwrap())
        .unwrap()
        .related
}

#[tokio::test(flavor = "multi_thread")]
async fn broad_features_are_counted_never_linked_and_the_same_customer_links() {
    let app = TestApp::spawn().await;
    let (desk, desk_key) = app
        .investigator("desk@example.org", &["triage-desk", "mobile"], 50)
        .await;
    let worker = app.worker("w1", None);
    // Product, country and target groups alike; three different customers.
    let mut refs = Vec::new();
    for customer in ["Agency One", "Agency Two", "Agency Three"] {
        refs.push(triaged(&app, &worker, customer, "The phone rebooted at night.").await);
    }
    assert_eq!(
        app.store.link_count().await.unwrap(),
        0,
        "no link on broad features"
    );
    let first = related_of(&app, &refs[0], &desk, &desk_key).await;
    assert_eq!(first, Related::default(), "nothing earlier to overlap with");
    let third = related_of(&app, &refs[2], &desk, &desk_key).await;
    assert!(third.linked.is_empty() && third.more_linked == 0, "{third:?}");
    // Every broad feature is shared by the two others: only the most specific
    // combinations remain, one per target group, each counting both.
    let counted: Vec<(Vec<String>, Vec<String>, u64)> = third
        .overlaps
        .iter()
        .map(|o| (o.shared.clone(), o.values.clone(), o.other_cases))
        .collect();
    let kinds = vec!["product".to_owned(), "country".into(), "target_group".into()];
    let values = |group: &str| vec!["mobile-implant".to_owned(), "france".into(), group.into()];
    assert_eq!(
        counted,
        [
            (kinds.clone(), values("journalist"), 2),
            (kinds, values("lawyer"), 2)
        ]
    );

    // A fourth report naming the first one's customer links to it, and only to it.
    let fourth = triaged(&app, &worker, "agency  ONE", "It happened again.").await;
    let related = related_of(&app, &fourth, &desk, &desk_key).await;
    let first_case = app.case(&refs[0]).await;
    assert_eq!(related.linked.len(), 1, "{related:?}");
    assert_eq!(related.linked[0].case_ref, first_case.case_ref);
    assert_eq!(
        related.linked[0].shared,
        ["country", "customer", "product", "target_group"]
    );
    assert_eq!(related.more_linked, 0);
    let fourth_case = app.case(&fourth).await;
    assert_eq!(
        app.store.links(fourth_case.id).await.unwrap(),
        [(first_case.id, related.linked[0].shared.clone())]
    );
    assert!(related.overlaps.iter().all(|o| o.other_cases == 3), "{related:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_case_lists_its_most_related_cases_first_and_counts_the_rest() {
    let app = TestApp::spawn().await;
    let (desk, desk_key) = app
        .investigator("desk@example.org", &["triage-desk", "mobile"], 50)
        .await;
    let mut worker = app.worker("w1", None);
    worker.settings.related_listed = 2;
    let same = "Ministry of Example";
    let plain = triaged(&app, &worker, same, "Calls dropped.").await;
    let elsewhere = {
        // The same customer, but another country: fewer broad features in common.
        let mut answers = good_answers("Calls dropped abroad.");
        answers["country"] = "Spain".into();
        let res = app.api_submit(&answers, &[]).await;
        assert_eq!(res.status(), 201);
        worker.run_until_idle().await.unwrap();
        res.json::<Value>().await.unwrap()["case_ref"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let with_indicator = triaged(&app, &worker, same, "It talked to evil.example.").await;
    let plain_too = triaged(&app, &worker, same, "Calls dropped here too.").await;
    let newest = triaged(&app, &worker, same, "Mine talked to evil.example as well.").await;

    let related = related_of(&app, &newest, &desk, &desk_key).await;
    let mut refs = Vec::new();
    for r in [&plain, &elsewhere, &with_indicator, &plain_too] {
        refs.push(app.case(r).await.case_ref);
    }
    let [plain, elsewhere, with_indicator, plain_too] = refs.try_into().unwrap();
    // The indicator and the customer first; then, of the two sharing the customer and
    // every broad feature, one (the rest are counted: 4 linked cases, 2 listed).
    assert_eq!(related.linked.len(), 2, "{related:?}");
    assert_eq!(related.linked[0].case_ref, with_indicator);
    assert!(related.linked[0].shared.contains(&"indicator".to_owned()));
    let second = &related.linked[1].case_ref;
    assert!(*second == plain || *second == plain_too, "{related:?}");
    assert_ne!(*second, elsewhere, "fewer features in common ranks lower");
    assert_eq!(related.more_linked, 2);

    // Only what is listed is linked: each case links to at most two earlier ones
    // (0 + 1 + 2 + 2 + 2), so link rows grow with the cases, not their square.
    let newest_case = app.case(&newest).await;
    assert_eq!(app.store.links(newest_case.id).await.unwrap().len(), 2);
    assert_eq!(app.store.link_count().await.unwrap(), 7);
}

#[tokio::test(flavor = "multi_thread")]
async fn two_workers_share_the_queue_and_never_triage_a_case_twice() {
    let app = TestApp::spawn().await;
    let sink = sink::start().await.unwrap();
    app.investigator("ana@example.org", &["mobile"], 100).await;
    app.investigator("bo@example.org", &["mobile"], 100).await;
    let mut refs = Vec::new();
    for i in 0..8 {
        refs.push(
            submit(
                &app,
                &format!("Report number {i} about the implant."),
                &[("n.txt", b"note")],
            )
            .await,
        );
    }
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut runs = Vec::new();
    for name in ["w1", "w2"] {
        let w = Arc::new(app.worker(name, Some(Mailer::new(&mail_config(&sink)).unwrap())));
        runs.push(tokio::spawn(w.run(stopped.clone())));
    }
    for _ in 0..400 {
        if app
            .store
            .job_count(JobKind::SendEmail, JobState::Done)
            .await
            .unwrap()
            == 8
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.send(true).unwrap();
    for r in runs {
        r.await.unwrap();
    }
    assert_triaged_exactly_once(&app, &refs, &sink).await;
}

/// Every case: triaged, one assignee, one wrap each, one summary, no triage wrap; every
/// assignee: one email (by Message-ID).
pub async fn assert_triaged_exactly_once(app: &TestApp, refs: &[String], sink: &sink::SinkHandle) {
    let mut expected_ids = BTreeSet::new();
    for r in refs {
        let case = app.case(r).await;
        assert!(case.triaged, "{r} triaged");
        assert_eq!(
            app.store.assignees(case.id).await.unwrap().len(),
            1,
            "{r}: one assignee"
        );
        assert_eq!(
            app.store
                .wraps(case.id, HolderKind::Investigator)
                .await
                .unwrap()
                .len(),
            1
        );
        assert!(app.store.wrap(case.id, Holder::Triage).await.unwrap().is_none());
        let summaries = app
            .store
            .objects(case.id)
            .await
            .unwrap()
            .into_iter()
            .filter(|(_, k)| *k == ObjectKind::TriageSummary)
            .count();
        assert_eq!(summaries, 1, "{r}: one triage summary");
    }
    for email in app.store.emails().await.unwrap() {
        assert!(email.sent);
        expected_ids.insert(email.message_id);
    }
    assert_eq!(expected_ids.len(), refs.len(), "one outbox row per assignee");
    let received: BTreeMap<String, usize> = sink.messages().iter().fold(BTreeMap::new(), |mut m, msg| {
        *m.entry(msg.header("Message-ID").unwrap().to_owned()).or_default() += 1;
        m
    });
    assert_eq!(
        received.keys().cloned().collect::<BTreeSet<_>>(),
        expected_ids,
        "each assignee's email arrived"
    );
    assert_eq!(
        app.store
            .job_count(JobKind::TriageCase, JobState::Done)
            .await
            .unwrap(),
        refs.len() as u64
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn deadlines_flag_cases_and_remind_assignees_once_per_change() {
    let app = TestApp::spawn().await;
    let sink = sink::start().await.unwrap();
    app.investigator("ana@example.org", &["mobile"], 5).await;
    let case_ref = submit(&app, "A report that nobody acknowledges.", &[]).await;
    let worker = app.worker("w1", Some(Mailer::new(&mail_config(&sink)).unwrap()));
    worker.run_until_idle().await.unwrap();
    assert_eq!(sink.messages().len(), 1, "the assignment");
    let received = app.case(&case_ref).await.received_at;
    let now = app.clock.load(std::sync::atomic::Ordering::SeqCst);

    app.advance(received + 5 * 86_400 + 3600 - now); // two days before the deadline
    worker.run_until_idle().await.unwrap();
    assert_eq!(app.case(&case_ref).await.deadline_flag, DeadlineFlag::DueSoon);
    assert_eq!(sink.messages().len(), 2);
    assert!(
        sink.messages()[1].text().contains("acknowledg"),
        "{}",
        sink.messages()[1].text()
    );

    app.advance(3 * 86_400);
    worker.run_until_idle().await.unwrap();
    assert_eq!(app.case(&case_ref).await.deadline_flag, DeadlineFlag::Overdue);
    assert_eq!(sink.messages().len(), 3);

    app.advance(600);
    worker.run_until_idle().await.unwrap();
    assert_eq!(sink.messages().len(), 3, "no new reminder without a change");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unroutable_case_waits_as_a_dead_job_until_an_admin_retries() {
    let app = TestApp::spawn().await;
    let case_ref = submit(&app, "Nobody is there to take this.", &[]).await;
    let worker = app.worker("w1", None);
    for _ in 0..12 {
        worker.run_until_idle().await.unwrap();
        app.advance(3600);
    }
    let dead = app.store.jobs_in_state(JobState::Dead).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].kind, JobKind::TriageCase);
    assert!(
        dead[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("no active investigator"),
        "{dead:?}"
    );
    assert!(!app.case(&case_ref).await.triaged);
    // The triage key still holds the case while it waits.
    assert!(
        app.store
            .wrap(app.case(&case_ref).await.id, Holder::Triage)
            .await
            .unwrap()
            .is_some()
    );

    app.investigator("desk@example.org", &["triage-desk"], 5).await;
    assert!(
        app.store
            .retry_dead(dead[0].id, app.clock.load(std::sync::atomic::Ordering::SeqCst))
            .await
            .unwrap()
    );
    worker.run_until_idle().await.unwrap();
    assert!(app.case(&case_ref).await.triaged);
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_evidence_is_triaged_within_bounds() {
    let app = TestApp::spawn().await;
    app.investigator("ana@example.org", &["mobile"], 5).await;
    // A zip bomb: 64 MiB of zeros in a few tens of KiB.
    let bomb = {
        let mut buf = std::io::Cursor::new(Vec::new());
        let mut zip = zip::ZipWriter::new(&mut buf);
        zip.start_file("zeros.txt", zip::write::SimpleFileOptions::default())
            .unwrap();
        let zeros = vec![0u8; 1024 * 1024];
        for _ in 0..64 {
            std::io::Write::write_all(&mut zip, &zeros).unwrap();
        }
        zip.finish().unwrap();
        buf.into_inner()
    };
    assert!(bomb.len() < 1024 * 1024, "the bomb fits the test's upload limit");
    let jpeg = jpeg_with_gps();
    let truncated_jpeg = &jpeg[..jpeg.len() / 2];
    let fake_pdf =
        b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n[[[[[[[[[[[[[[[[".repeat(100);
    let case_ref = submit(
        &app,
        "Files from my phone, some of them broken.",
        &[
            ("bomb.zip", &bomb),
            ("half.jpg", truncated_jpeg),
            ("odd.pdf", &fake_pdf),
        ],
    )
    .await;
    let worker = app.worker("w1", None);
    let ran = tokio::time::timeout(Duration::from_secs(60), worker.run_until_idle())
        .await
        .unwrap()
        .unwrap();
    assert!(
        ran.contains(&redress_worker::Ran::Done(JobKind::TriageCase)),
        "{ran:?}"
    );
    assert!(app.case(&case_ref).await.triaged);
}

/// The environment for a `redress worker` process on this app's storage and keys.
fn worker_process(app: &TestApp, sink: &sink::SinkHandle) -> std::process::Command {
    let mut cmd = app.redress_command();
    let fixtures = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../indicators/tests/fixtures");
    cmd.arg("worker")
        .env(
            "REDRESS_KEYS__TRIAGE_IDENTITY_FILE",
            app.offline_dir.join("triage.key"),
        )
        .env(
            "REDRESS_WORKER__FINGERPRINT_KEY_FILE",
            app.offline_dir.join("fingerprint.key"),
        )
        .env("REDRESS_WORKER__INDICATORS_DIR", fixtures)
        .env("REDRESS_WORKER__LEASE_SECS", "2")
        .env("REDRESS_WORKER__POLL_INTERVAL_MS", "20")
        .env("REDRESS_MAIL__SMTP_URL", sink.url())
        .env("REDRESS_MAIL__FROM", "Redress <redress@example.org>")
        .env("REDRESS_MAIL__EHLO_NAME", "notify.redress.test")
        .env("REDRESS_MAIL__MESSAGE_ID_DOMAIN", "mid.redress.test")
        .env("REDRESS_MAIL__PORTAL_BASE_URL", PORTAL)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    cmd
}

#[tokio::test(flavor = "multi_thread")]
async fn a_worker_killed_at_random_points_still_triages_every_case_exactly_once() {
    let app = TestApp::spawn().await;
    let sink = sink::start().await.unwrap();
    app.investigator("ana@example.org", &["mobile"], 1000).await;
    app.investigator("bo@example.org", &["mobile"], 1000).await;
    let jpeg = jpeg_with_gps();
    let mut refs = Vec::new();
    for i in 0..6 {
        refs.push(
            submit(
                &app,
                &format!("Report {i}: evil.example again."),
                &[("p.jpg", &jpeg), ("l.txt", b"rdxsyncd")],
            )
            .await,
        );
    }
    // Kill -9 a real worker process at random moments, many times.
    let mut rng_state = rand::random::<u64>();
    for _ in 0..20 {
        let mut child = worker_process(&app, &sink).spawn().unwrap();
        rng_state = rng_state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        let delay = 20 + (rng_state >> 33) % 400;
        tokio::time::sleep(Duration::from_millis(delay)).await;
        child.kill().unwrap();
        child.wait().unwrap();
    }
    let mut before = 0;
    for r in &refs {
        before += usize::from(app.case(r).await.triaged);
    }
    eprintln!(
        "killed workers had triaged {before} of {} cases and sent {} emails",
        refs.len(),
        sink.messages().len()
    );
    assert!(
        before > 0,
        "the killed workers did real work before the finisher ran"
    );
    // Whatever state that left, one more worker finishes the work once leases run out.
    app.clock.store(
        redress_cli::system_clock() + 60,
        std::sync::atomic::Ordering::SeqCst,
    );
    let worker = app.worker("finisher", Some(Mailer::new(&mail_config(&sink)).unwrap()));
    worker.run_until_idle().await.unwrap();
    assert_triaged_exactly_once(&app, &refs, &sink).await;

    // Blobs of interrupted attempts are swept once they are old enough; what remains is
    // exactly what the cases reference.
    app.advance(2 * 3600);
    worker.run_until_idle().await.unwrap();
    let mut referenced = BTreeSet::new();
    for r in &refs {
        for (id, _) in app.store.objects(app.case(r).await.id).await.unwrap() {
            referenced.insert(id);
        }
    }
    assert_eq!(app.stored_blobs().await, referenced);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_worker_told_to_stop_finishes_or_gives_back_its_job() {
    let app = TestApp::spawn().await;
    let sink = sink::start().await.unwrap();
    app.investigator("ana@example.org", &["mobile"], 1000).await;
    for i in 0..4 {
        submit(
            &app,
            &format!("Report number {i}, with a photo."),
            &[("p.jpg", &jpeg_with_gps())],
        )
        .await;
    }
    let mut child = worker_process(&app, &sink).spawn().unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let term = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success(), "clean exit on SIGTERM: {status:?}");
    assert!(
        app.store
            .jobs_in_state(JobState::Running)
            .await
            .unwrap()
            .is_empty(),
        "nothing left leased"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn without_email_configured_notices_wait_visibly_and_go_out_once_it_is() {
    let app = TestApp::spawn().await;
    app.investigator("ana@example.org", &["mobile"], 5).await;
    submit(&app, "A report while mail is not set up yet.", &[]).await;
    let unconfigured = app.worker("w1", None);
    for _ in 0..12 {
        unconfigured.run_until_idle().await.unwrap();
        app.advance(3600);
    }
    let dead = app.store.jobs_in_state(JobState::Dead).await.unwrap();
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0].kind, JobKind::SendEmail);
    assert!(dead[0].last_error.as_deref().unwrap().contains("mail.smtp_url"));
    assert!(!app.store.emails().await.unwrap()[0].sent);

    // Once mail is configured, the admin retries and the notice goes out.
    let sink = sink::start().await.unwrap();
    let configured = app.worker("w2", Some(Mailer::new(&mail_config(&sink)).unwrap()));
    let now = app.clock.load(std::sync::atomic::Ordering::SeqCst);
    assert!(app.store.retry_dead(dead[0].id, now).await.unwrap());
    configured.run_until_idle().await.unwrap();
    assert_eq!(sink.messages().len(), 1);
    assert!(app.store.emails().await.unwrap()[0].sent);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_permanent_smtp_refusal_is_not_retried() {
    let app = TestApp::spawn().await;
    let sink = sink::start().await.unwrap();
    app.investigator("ana@example.org", &["mobile"], 5).await;
    submit(&app, "A report whose notice the server refuses.", &[]).await;
    sink.fail_next(550, 1);
    let worker = app.worker("w1", Some(Mailer::new(&mail_config(&sink)).unwrap()));
    worker.run_until_idle().await.unwrap();
    let dead = app.store.jobs_in_state(JobState::Dead).await.unwrap();
    assert_eq!(
        (dead.len(), dead[0].kind.as_str(), dead[0].attempts),
        (1, "send_email", 1),
        "{dead:?}"
    );
    assert!(
        !dead[0].last_error.as_deref().unwrap().contains("ana@"),
        "no address in the stored error"
    );
}

/// Opens every object of a case with the recovery identity, as stored: what the
/// reporter sent with the thread key, what triage made with the case key.
async fn every_object_opens(app: &TestApp, case_ref: &str) -> usize {
    let case = app.case(case_ref).await;
    let case_key = redress_keychain::open_case_key(&app.store, case.id, Holder::Recovery, &app.recovery)
        .await
        .unwrap();
    let thread = redress_keychain::open_thread_key(&app.store, case.id, &case_key)
        .await
        .unwrap();
    let objects = app.store.objects(case.id).await.unwrap();
    for (id, kind) in &objects {
        let sealed = app
            .blobs
            .read_all(*id)
            .await
            .unwrap_or_else(|e| panic!("the {kind} blob of a committed hand-over is gone: {e}"));
        let key = match kind {
            ObjectKind::Submission | ObjectKind::Evidence => &thread,
            ObjectKind::Scrubbed | ObjectKind::TriageSummary => &case_key,
        };
        open(key, &sealed).unwrap_or_else(|e| panic!("the {kind} blob does not open: {e}"));
        assert_eq!(
            blob_written_at(app, *id).await,
            case.received_at,
            "{kind} blob dated to the hour"
        );
    }
    objects.len()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lost_commit_acknowledgement_keeps_what_the_hand_over_committed() {
    let app = TestApp::spawn().await;
    let sink = sink::start().await.unwrap();
    app.investigator("ana@example.org", &["mobile"], 5).await;
    let case_ref = submit(
        &app,
        "A photo, and the commit's answer gets lost.",
        &[("p.jpg", &jpeg_with_gps())],
    )
    .await;

    // The database commits the hand-over, then the worker sees an error.
    app.store.danger_lose_next_triage_ack();
    let worker = app.worker("w1", Some(Mailer::new(&mail_config(&sink)).unwrap()));
    let ran = worker.run_until_idle().await.unwrap();
    assert!(
        ran.contains(&redress_worker::Ran::Done(JobKind::TriageCase)),
        "{ran:?}"
    );

    assert_triaged_exactly_once(&app, std::slice::from_ref(&case_ref), &sink).await;
    // Submission, evidence, its scrubbed rendition and the summary: all there, all open.
    assert_eq!(every_object_opens(&app, &case_ref).await, 4);
    let referenced: BTreeSet<_> = app
        .store
        .objects(app.case(&case_ref).await.id)
        .await
        .unwrap()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(app.stored_blobs().await, referenced);

    // Running again changes nothing, in the database or in the blob store.
    let (dump, blobs) = (dump_database(&app.store).await, app.stored_blobs().await);
    assert!(worker.run_until_idle().await.unwrap().is_empty());
    assert_eq!(dump_database(&app.store).await, dump);
    assert_eq!(app.stored_blobs().await, blobs);
    assert_eq!(sink.messages().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lost_acknowledgement_with_the_database_out_of_reach_leaves_the_blobs_to_the_sweep() {
    let app = TestApp::spawn().await;
    let sink = sink::start().await.unwrap();
    app.investigator("ana@example.org", &["mobile"], 5).await;
    let case_ref = submit(
        &app,
        "A photo, and then the database goes away.",
        &[("p.jpg", &jpeg_with_gps())],
    )
    .await;
    // What a worker killed before its hand-over leaves: a blob nothing references.
    let orphan = app.orphan_blob(b"an interrupted attempt").await;

    // The hand-over commits, the worker sees an error, and cannot ask the database
    // which of its blobs were committed: it removes none of them.
    app.store.danger_lose_next_triage_ack();
    app.store.danger_fail_next_object_lookup();
    let worker = app.worker("w1", Some(Mailer::new(&mail_config(&sink)).unwrap()));
    worker.run_until_idle().await.unwrap();
    assert_triaged_exactly_once(&app, std::slice::from_ref(&case_ref), &sink).await;
    assert_eq!(every_object_opens(&app, &case_ref).await, 4);
    assert!(
        app.stored_blobs().await.contains(&orphan),
        "within the grace period the sweep leaves it too"
    );

    // After the grace period the sweep leaves exactly what the case references.
    app.advance(2 * 3600);
    worker.run_until_idle().await.unwrap();
    let referenced: BTreeSet<_> = app
        .store
        .objects(app.case(&case_ref).await.id)
        .await
        .unwrap()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(referenced.len(), 4);
    assert_eq!(app.stored_blobs().await, referenced);
    assert_eq!(every_object_opens(&app, &case_ref).await, 4);
}
