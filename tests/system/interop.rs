//! Interoperability with the reference `age` CLI (Debian package `age`): a stored report
//! opens with stock tools, given the recovery identity, by following the wrap chain.

use std::path::Path;
use std::process::Command;

use redress_domain::Holder;

use crate::helpers::*;

fn age_decrypt(identity: &Path, input: &Path) -> Vec<u8> {
    let out = Command::new("age")
        .arg("--decrypt")
        .arg("-i")
        .arg(identity)
        .arg(input)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "age failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[tokio::test(flavor = "multi_thread")]
async fn the_stock_age_cli_opens_a_stored_report_with_the_recovery_identity() {
    if !have_tool(
        "age",
        "the interop test needs the reference age CLI (apt-get install age)",
    ) {
        return;
    }
    let app = TestApp::spawn().await;
    let evidence: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let res = app
        .api_submit(
            &good_answers("Opened with stock tools."),
            &[("dump.bin", &evidence)],
        )
        .await;
    let case_ref = res.json::<serde_json::Value>().await.unwrap()["case_ref"]
        .as_str()
        .unwrap()
        .to_owned();
    let case = app.case(&case_ref).await;
    let work = app.dir.path().join("interop");
    std::fs::create_dir(&work).unwrap();

    // recovery identity → case key
    let wrap = app.store.wrap(case.id, Holder::Recovery).await.unwrap().unwrap();
    std::fs::write(work.join("case-wrap.age"), &wrap.ciphertext).unwrap();
    let recovery_file = app.offline_dir.join("recovery.txt");
    let case_key = age_decrypt(&recovery_file, &work.join("case-wrap.age"));
    std::fs::write(work.join("case.key"), &case_key).unwrap();
    assert_eq!(
        String::from_utf8(case_key).unwrap().trim().len(),
        74,
        "the wrap holds a plain age identity file"
    );

    // case key → thread key
    let wrap = app.store.wrap(case.id, Holder::CaseKey).await.unwrap().unwrap();
    std::fs::write(work.join("thread-wrap.age"), &wrap.ciphertext).unwrap();
    std::fs::write(
        work.join("thread.key"),
        age_decrypt(&work.join("case.key"), &work.join("thread-wrap.age")),
    )
    .unwrap();

    // thread key → every object, straight from the blob folder
    let mut document = None;
    let mut files = Vec::new();
    for (id, kind) in app.store.objects(case.id).await.unwrap() {
        let plain = age_decrypt(&work.join("thread.key"), &app.blob_file(id, &work));
        match kind {
            redress_domain::ObjectKind::Submission => {
                document = Some(serde_json::from_slice::<serde_json::Value>(&plain).unwrap())
            }
            redress_domain::ObjectKind::Evidence => files.push(plain),
            other => panic!("an untriaged case has no {other:?} object"),
        }
    }
    let document = document.unwrap();
    assert_eq!(document["answers"]["what_happened"], "Opened with stock tools.");
    assert_eq!(document["evidence"][0]["file_name"], "dump.bin");
    assert_eq!(files, [evidence]);

    // The triage identity on its own opens nothing without its wrap; the recovery
    // identity does not open a thread object directly (it must go through the chain).
    let direct = Command::new("age")
        .arg("--decrypt")
        .arg("-i")
        .arg(&recovery_file)
        .arg(app.blob_file(app.store.objects(case.id).await.unwrap()[0].0, &work))
        .output()
        .unwrap();
    assert!(
        !direct.status.success(),
        "objects are sealed to the thread key, not to holders"
    );

    // `redress admin blob export` writes each object out byte for byte, whichever
    // backend holds it, into a new file only it can read; it never overwrites a file,
    // and an id that is not stored is a clear error.
    let exports = work.join("exports");
    std::fs::create_dir(&exports).unwrap();
    let objects = app.store.objects(case.id).await.unwrap();
    for (id, _) in &objects {
        let out = app.export_blob(*id, &exports);
        assert_eq!(std::fs::read(&out).unwrap(), app.read_blob(*id).await);
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&out).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let export = |id: String, out: &std::path::Path| {
        app.redress_command()
            .args(["admin", "blob", "export", &id, "--out"])
            .arg(out)
            .output()
            .unwrap()
    };
    let first = exports.join(format!("{}.age", objects[0].0));
    let before = std::fs::read(&first).unwrap();
    let again = export(objects[0].0.to_string(), &first);
    assert!(!again.status.success());
    assert_eq!(std::fs::read(&first).unwrap(), before, "not overwritten");
    let missing = export(
        redress_domain::ObjectId::random().to_string(),
        &exports.join("x.age"),
    );
    assert!(!missing.status.success());
    let said = String::from_utf8_lossy(&missing.stderr).to_lowercase();
    assert!(said.contains("no such"), "{said}");
    assert!(
        !exports.join("x.age").exists(),
        "nothing written for a missing object"
    );
    let bad = export("not-an-id".into(), &exports.join("y.age"));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("is not an object id"));

    // And the other way round: the stock CLI encrypts to a case's public key, we open it.
    let mut child = Command::new("age")
        .args(["--encrypt", "-r", &case.case_recipient, "-o"])
        .arg(work.join("note.age"))
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), b"internal note").unwrap();
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
    let case_identity =
        redress_crypto::SecretIdentity::parse(&std::fs::read_to_string(work.join("case.key")).unwrap())
            .unwrap();
    let note = redress_crypto::open(&case_identity, &std::fs::read(work.join("note.age")).unwrap()).unwrap();
    assert_eq!(note.as_slice(), b"internal note");
}
