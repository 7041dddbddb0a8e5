//! A case exported from the portal (ADR 0026): a zip of everything the case holds,
//! still age, that the stock `age` CLI opens by following the README inside it, with
//! the case key sealed to a passphrase chosen for the export; refused passphrases
//! export and audit nothing and are never kept; the export streams through bounded
//! memory; nobody but the case's investigator reaches it.

use std::path::Path;
use std::process::{Command, Output};

use redress_domain::{EntryDocument, ObjectKind, Role, Sealed, SubmissionDocument, TriageSummary};
use redress_portal::export::{Holds, MANIFEST, Manifest, OpensWith, README, SUMS};

use crate::helpers::*;
use crate::staff::*;

const PASSPHRASE: &str = "orbit lantern saffron pylon";

/// Runs a command that asks for a passphrase on its terminal, as `age` does (it reads
/// /dev/tty, never stdin): in a pseudo-terminal, typing `AGE_PASSPHRASE` at the prompt.
const AT_A_TERMINAL: &str = r#"
import os, pty, sys
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
seen = b""
def more():
    global seen
    try:
        data = os.read(fd, 1024)
    except OSError:
        return False
    seen += data
    return bool(data)
while b"passphrase" not in seen.lower() and more():
    pass
os.write(fd, os.environ["AGE_PASSPHRASE"].encode() + b"\n")
while more():
    pass
_, status = os.waitpid(pid, 0)
sys.stderr.write(seen.decode(errors="replace"))
sys.exit(os.waitstatus_to_exitcode(status))
"#;

/// True if the tools the README names are here (a skip, or under
/// `REDRESS_REQUIRE_ALL=1` a failure, otherwise).
fn have_tools() -> bool {
    [
        ("age", "the stock age CLI opens the export"),
        (
            "python3",
            "age reads the passphrase from a terminal: python3's pty gives it one",
        ),
        ("unzip", "the export is unpacked with the stock unzip"),
        ("sha256sum", "the README checks the export with sha256sum -c"),
        ("shred", "the README destroys the keys with shred"),
    ]
    .into_iter()
    .all(|(tool, why)| have_tool(tool, why))
}

/// Runs `args` in `dir`; one that would ask for a passphrase gets `passphrase` typed
/// at its terminal.
fn run(dir: &Path, args: &[&str], passphrase: Option<&str>) -> Output {
    let mut cmd = match passphrase {
        Some(p) => {
            let mut c = Command::new("python3");
            c.args(["-c", AT_A_TERMINAL]).args(args).env("AGE_PASSPHRASE", p);
            c
        }
        None => {
            let mut c = Command::new(args[0]);
            c.args(&args[1..]);
            c
        }
    };
    cmd.current_dir(dir).output().unwrap()
}

/// The README's commands, in order: its lines indented by four spaces that start with
/// a tool's name.
fn readme_commands(readme: &str) -> Vec<Vec<String>> {
    readme
        .lines()
        .filter_map(|l| l.strip_prefix("    "))
        .filter(|l| ["age ", "sha256sum ", "shred "].iter().any(|t| l.starts_with(t)))
        .map(|l| l.split_whitespace().map(str::to_owned).collect())
        .collect()
}

/// Writes to the case from its page: a reply or a note.
async fn write(who: &Person, case_ref: &str, action: &str, text: &str) {
    let page = format!("/cases/{case_ref}");
    let done = who
        .agent
        .submit(&page, &page, &[("action", action), ("text", text)])
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
}

/// What the export's POST answered.
struct Exported {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

/// Fills in the export form of `case_ref`, as a browser would, and posts it: the
/// answer as its headers arrive.
async fn post_export(
    agent: &Agent,
    case_ref: &str,
    passphrase: &str,
    confirm: &str,
) -> reqwest::Result<reqwest::Response> {
    let path = format!("/cases/{case_ref}/export");
    let form = agent.get(&path).await;
    assert_eq!(form.status, 200, "{}", form.body);
    let token = hidden_value(&form.body, redress_web::CSRF_FIELD).unwrap();
    agent
        .client
        .post(format!("{}{path}", agent.base))
        .form(&[
            (redress_web::CSRF_FIELD, token.as_str()),
            ("passphrase", passphrase),
            ("confirm", confirm),
        ])
        .send()
        .await
}

/// The export form of `case_ref` posted, and the whole answer.
async fn export(agent: &Agent, case_ref: &str, passphrase: &str, confirm: &str) -> Exported {
    let res = post_export(agent, case_ref, passphrase, confirm).await.unwrap();
    Exported {
        status: res.status().as_u16(),
        headers: res.headers().clone(),
        body: res.bytes().await.unwrap().to_vec(),
    }
}

/// Unpacks `zip` into a new folder with the stock `unzip`.
fn unpack(zip: &[u8], into: &Path) -> std::path::PathBuf {
    std::fs::write(into.join("case.zip"), zip).unwrap();
    let dir = into.join("case");
    let out = Command::new("unzip")
        .args(["-q", "case.zip", "-d", "case"])
        .current_dir(into)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "unzip: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir
}

fn audited_exports(log: &[redress_store::AuditRecord]) -> Vec<(String, Option<String>)> {
    log.iter()
        .filter(|r| r.action == "export")
        .map(|r| (r.actor.clone(), r.target.clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_exported_case_opens_with_the_stock_age_cli_following_its_readme() {
    if !have_tools() {
        return;
    }
    let app = TestApp::spawn().await;
    let portal = app.portal().await;
    let log_file: Vec<u8> = (0..50_000u32).flat_map(|i| i.to_le_bytes()).collect();
    let photo = crate::worker::jpeg_with_gps();
    let (ana, case_ref) = crate::portal_cases::case_with(
        &app,
        &portal,
        &[("device.log", &log_file), ("phone photo.jpg", &photo)],
    )
    .await;
    let reply = random_marker("Could you send the phone's logs?");
    let note = random_marker("Looks like the Example Ministry's campaign.");
    write(&ana, &case_ref, "reply", &reply).await;
    write(&ana, &case_ref, "note", &note).await;
    let page = ana.agent.get(&format!("/cases/{case_ref}")).await;
    assert!(page.contains(&format!("href=\"/cases/{case_ref}/export\"")));

    let zip = export(&ana.agent, &case_ref, PASSPHRASE, PASSPHRASE).await;
    assert_eq!(zip.status, 200, "{}", String::from_utf8_lossy(&zip.body));
    assert_eq!(zip.headers["content-type"], "application/zip");
    assert_eq!(
        zip.headers["content-disposition"],
        format!("attachment; filename=\"case-{case_ref}.zip\"").as_str()
    );
    assert_eq!(zip.headers["x-content-type-options"], "nosniff");
    assert_eq!(zip.headers["cache-control"], "no-store");
    // Audited once, as the investigator's action on the case.
    let log = app.store.audit_after(0, 1000).await.unwrap();
    assert_eq!(
        audited_exports(&log),
        vec![(format!("account:{}", ana.id), Some(format!("case:{case_ref}")))]
    );

    let tmp = tempfile::tempdir().unwrap();
    let dir = unpack(&zip.body, tmp.path());
    let manifest: Manifest = serde_json::from_slice(&std::fs::read(dir.join(MANIFEST)).unwrap()).unwrap();
    assert_eq!(manifest.case_ref.as_str(), case_ref);
    // Every file of the zip is listed, with its size and SHA-256, but the manifest and
    // the sums themselves.
    let mut in_zip: Vec<String> = files_under(&dir)
        .iter()
        .map(|p| p.strip_prefix(&dir).unwrap().to_string_lossy().into_owned())
        .collect();
    in_zip.sort();
    let mut listed: Vec<String> = manifest.files.iter().map(|f| f.path.clone()).collect();
    listed.extend([MANIFEST.to_owned(), SUMS.to_owned()]);
    listed.sort();
    assert_eq!(in_zip, listed);
    for f in &manifest.files {
        let bytes = std::fs::read(dir.join(&f.path)).unwrap();
        assert_eq!(bytes.len() as u64, f.size, "{}", f.path);
        assert_eq!(sha256_hex(&bytes), f.sha256, "{}", f.path);
    }
    // Every object of the case, byte for byte as stored, and every entry.
    let case = app.case(&case_ref).await;
    let objects = app.store.objects(case.id).await.unwrap();
    for (id, kind) in &objects {
        let file = manifest
            .files
            .iter()
            .find(|f| {
                f.holds
                    == Holds::Object {
                        kind: *kind,
                        object: *id,
                    }
            })
            .unwrap_or_else(|| panic!("{kind} {id} is not in the export"));
        let stored = app.blobs.read_all(*id).await.unwrap();
        assert_eq!(std::fs::read(dir.join(&file.path)).unwrap(), stored);
        let key = match kind {
            ObjectKind::Submission | ObjectKind::Evidence => OpensWith::ThreadKey,
            ObjectKind::Scrubbed | ObjectKind::TriageSummary => OpensWith::CaseKey,
        };
        assert_eq!(file.opens_with, Some(key), "{}", file.path);
    }
    assert_eq!(
        objects.iter().filter(|(_, k)| *k == ObjectKind::Scrubbed).count(),
        1,
        "the photo's scrubbed copy"
    );
    let entries: Vec<_> = manifest
        .files
        .iter()
        .filter(|f| matches!(f.holds, Holds::Entry { .. }))
        .collect();
    assert_eq!(entries.len(), 2, "the reply and the note");

    // Follow the README to the letter.
    let readme = std::fs::read_to_string(dir.join(README)).unwrap();
    assert!(
        readme.contains(&case_ref) && readme.contains("offline"),
        "{readme}"
    );
    let commands = readme_commands(&readme);
    assert_eq!(commands[0], ["sha256sum", "-c", SUMS]);
    assert_eq!(commands[1], ["age", "-d", "-o", "case-key.txt", "case-key.age"]);
    for args in &commands {
        if args[0] == "shred" {
            continue; // once the opened files have been read, below
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let asks = args[0] == "age" && !args.contains(&"-i");
        let out = run(&dir, &args, asks.then_some(PASSPHRASE));
        assert!(
            out.status.success(),
            "{args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let opened = |path: &str| {
        let stem = path.strip_suffix(".age").unwrap();
        std::fs::read(dir.join(format!("{stem}.json"))).or_else(|_| std::fs::read(dir.join(stem)))
    };
    let path_of = |holds: &dyn Fn(&Holds) -> bool| {
        manifest
            .files
            .iter()
            .find(|f| holds(&f.holds))
            .unwrap()
            .path
            .clone()
    };

    // The submission is the answers sent; each evidence file the bytes uploaded.
    let submission = path_of(&|h| {
        matches!(
            h,
            Holds::Object {
                kind: ObjectKind::Submission,
                ..
            }
        )
    });
    let submission = SubmissionDocument::from_json(&opened(&submission).unwrap()).unwrap();
    assert_eq!(
        submission.answers.what_happened(),
        "The implant talked to evil.example every night; rdxsyncd ran."
    );
    assert_eq!(
        submission.answers.suspected_customer(),
        Some("Ministry of Examples")
    );
    for (name, bytes) in [("device.log", &log_file), ("phone photo.jpg", &photo)] {
        let entry = submission.evidence.iter().find(|e| e.file_name == name).unwrap();
        let path = format!("objects/evidence-{}.age", entry.object_id);
        assert_eq!(&opened(&path).unwrap(), bytes, "{name}");
    }
    // What triage found, with the case key.
    let summary = path_of(&|h| {
        matches!(
            h,
            Holds::Object {
                kind: ObjectKind::TriageSummary,
                ..
            }
        )
    });
    let summary = TriageSummary::from_json(&opened(&summary).unwrap()).unwrap();
    assert!(!summary.indicators.is_empty());
    let scrubbed = path_of(&|h| {
        matches!(
            h,
            Holds::Object {
                kind: ObjectKind::Scrubbed,
                ..
            }
        )
    });
    assert!(opened(&scrubbed).unwrap().starts_with(&[0xFF, 0xD8]));

    // The reply opened with the thread key; the note with the case key, and only that.
    let reply_path = path_of(&|h| {
        matches!(
            h,
            Holds::Entry {
                kind: redress_domain::EntryKind::Reply,
                ..
            }
        )
    });
    let note_path = path_of(&|h| {
        matches!(
            h,
            Holds::Entry {
                kind: redress_domain::EntryKind::Note,
                ..
            }
        )
    });
    let text = |path: &str| EntryDocument::from_json(&opened(path).unwrap()).unwrap().text;
    assert_eq!(text(&reply_path), reply);
    assert_eq!(text(&note_path), note);
    assert!(readme.contains(&format!(
        "age -d -i thread-key.txt -o {}",
        reply_path.replace(".age", ".json")
    )));
    assert!(readme.contains(&format!(
        "age -d -i case-key.txt -o {}",
        note_path.replace(".age", ".json")
    )));
    let with_thread_key = run(&dir, &["age", "-d", "-i", "thread-key.txt", &note_path], None);
    assert!(!with_thread_key.status.success(), "the thread key opens no note");
    assert!(with_thread_key.stdout.is_empty());

    // The last step destroys the keys.
    let shred = commands.iter().find(|c| c[0] == "shred").unwrap();
    let shred: Vec<&str> = shred.iter().map(String::as_str).collect();
    assert!(run(&dir, &shred, None).status.success());
    assert!(!dir.join("case-key.txt").exists() && !dir.join("thread-key.txt").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_or_wrong_passphrase_opens_nothing_and_is_never_kept() {
    if !have_tools() {
        return;
    }
    let app = TestApp::spawn().await;
    let portal = app.portal().await;
    let (ana, case_ref) = crate::portal_cases::case_with(&app, &portal, &[("a.txt", b"evidence")]).await;

    // Too short, or not the same twice: refused with the reason, nothing audited or
    // sent, and the passphrase not given back.
    for (passphrase, confirm, says) in [
        ("short one", "short one", "at least 16 characters"),
        (PASSPHRASE, "orbit lantern saffron pylons", "not the same"),
    ] {
        let refused = export(&ana.agent, &case_ref, passphrase, confirm).await;
        let body = String::from_utf8(refused.body).unwrap();
        assert_eq!(refused.status, 422, "{body}");
        assert!(body.contains(says), "{body}");
        assert!(!body.contains(passphrase) && !body.contains(confirm));
        assert!(
            refused.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
    }
    let log = app.store.audit_after(0, 1000).await.unwrap();
    assert!(audited_exports(&log).is_empty());

    // The export, then a wrong passphrase at age's prompt: the case key stays shut, and
    // nothing else in the zip opens with a passphrase.
    let zip = export(&ana.agent, &case_ref, PASSPHRASE, PASSPHRASE).await;
    assert_eq!(zip.status, 200);
    let tmp = tempfile::tempdir().unwrap();
    let dir = unpack(&zip.body, tmp.path());
    let wrong = run(
        &dir,
        &["age", "-d", "-o", "case-key.txt", "case-key.age"],
        Some("orbit lantern saffron pylons"),
    );
    let said = String::from_utf8_lossy(&wrong.stderr);
    assert!(
        !wrong.status.success() && said.contains("incorrect passphrase"),
        "{said}"
    );
    assert!(!dir.join("case-key.txt").exists());
    for path in files_under(&dir)
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "age"))
    {
        let bytes = std::fs::read(path).unwrap();
        let header = String::from_utf8_lossy(&bytes[..bytes.len().min(400)]).into_owned();
        let passphrase_only = header.contains("\n-> scrypt ") && !header.contains("-> X25519 ");
        assert_eq!(
            passphrase_only,
            path.ends_with("case-key.age"),
            "{}: {header}",
            path.display()
        );
    }
    let log = app.store.audit_after(0, 1000).await.unwrap();
    assert_eq!(audited_exports(&log).len(), 1, "audited once");

    // Posted after the session ended, the form is not kept: it holds nothing but the
    // passphrase.
    let form = ana.agent.get(&format!("/cases/{case_ref}/export")).await;
    let token = hidden_value(&form.body, redress_web::CSRF_FIELD).unwrap();
    app.advance(31 * 60);
    let posted = ana
        .agent
        .post_raw(
            &format!("/cases/{case_ref}/export"),
            &[
                (redress_web::CSRF_FIELD, &token),
                ("passphrase", PASSPHRASE),
                ("confirm", PASSPHRASE),
            ],
        )
        .await;
    assert_eq!(posted.status, 303);
    assert!(posted.location().starts_with("/login?ended=1"));
    assert!(
        !posted
            .headers
            .get_all("set-cookie")
            .iter()
            .any(|c| c.to_str().unwrap().starts_with("redress_portal_kept=")),
        "nothing kept"
    );
    assert_eq!(
        redress_store::test_support::count_rows(&app.store, "kept_forms").await,
        0
    );
    assert!(!dump_database(&app.store).await.contains(PASSPHRASE));
}

#[tokio::test(flavor = "multi_thread")]
async fn another_investigator_never_reaches_the_export() {
    let app = TestApp::spawn().await;
    let portal = app.portal().await;
    let (_ana, case_ref) = crate::portal_cases::case_with(&app, &portal, &[("a.txt", b"evidence")]).await;
    // A form of their own gives them a good token: the refusal is the case's, not the
    // form's.
    let bo = person(
        &app,
        &portal,
        "bo@example.org",
        Role::Investigator,
        &["triage-desk"],
    )
    .await;
    let missing = bo.agent.get("/no/such/page").await;
    let own = bo.agent.get("/account").await;
    let token = hidden_value(&own.body, redress_web::CSRF_FIELD).unwrap();
    let path = format!("/cases/{case_ref}/export");
    let shown = bo.agent.get(&path).await;
    let posted = bo
        .agent
        .post_raw(
            &path,
            &[
                (redress_web::CSRF_FIELD, &token),
                ("passphrase", PASSPHRASE),
                ("confirm", PASSPHRASE),
            ],
        )
        .await;
    for refused in [shown, posted] {
        assert_eq!(
            (refused.status, refused.body.as_str()),
            (404, missing.body.as_str())
        );
    }
    let log = app.store.audit_after(0, 1000).await.unwrap();
    let denied = log
        .iter()
        .filter(|r| r.action == "access_denied" && r.actor == format!("account:{}", bo.id))
        .filter(|r| r.target.as_deref() == Some(&format!("case:{case_ref}")))
        .count();
    assert_eq!(denied, 2);
    assert!(audited_exports(&log).is_empty());
}

/// An object that cannot be read breaks the download off: the client never gets an
/// archive that looks whole.
#[tokio::test(flavor = "multi_thread")]
async fn an_object_that_cannot_be_read_breaks_the_export_off() {
    let app = TestApp::spawn().await;
    let portal = app.portal().await;
    let (ana, case_ref) = crate::portal_cases::case_with(&app, &portal, &[("a.txt", b"evidence")]).await;
    let case = app.case(&case_ref).await;
    let (evidence, _) = app
        .store
        .objects(case.id)
        .await
        .unwrap()
        .into_iter()
        .find(|(_, kind)| *kind == ObjectKind::Evidence)
        .unwrap();
    app.blobs.remove(evidence).await.unwrap();
    let whole = match post_export(&ana.agent, &case_ref, PASSPHRASE, PASSPHRASE).await {
        Ok(res) => res.bytes().await.ok(),
        Err(_) => None,
    };
    assert!(whole.is_none(), "the transfer breaks off");
}

/// A real `redress portal` process exports a case holding 100 MiB of evidence without
/// holding it: from before the request to the end of the download, its peak memory
/// grows by far less than the file. (Sealing the case key to the passphrase takes
/// scrypt's 256 MiB for a moment before the first byte, and gives it back: the peak is
/// measured again from the headers on, against the memory resident before.)
#[tokio::test(flavor = "multi_thread")]
async fn a_100_mib_export_streams_through_bounded_memory() {
    let app = TestApp::spawn_with(|c| {
        c.limits.max_file_mib = 128;
        c.limits.max_report_mib = 256;
    })
    .await;
    let portal = app.portal().await;
    let big = noise(100 * 1024 * 1024);
    let (ana, case_ref) = crate::portal_cases::case_with(&app, &portal, &[("disk.img", &big)]).await;
    drop(big);

    let process = PortalProcess::start(&app);
    let agent = process.log_in(&ana).await;
    let before = process.resident_kib();
    let mut res = post_export(&agent, &case_ref, PASSPHRASE, PASSPHRASE)
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    process.reset_peak();
    let tmp = tempfile::tempdir().unwrap();
    let mut file = std::fs::File::create(tmp.path().join("case.zip")).unwrap();
    let mut total = 0usize;
    while let Some(chunk) = res.chunk().await.unwrap() {
        total += chunk.len();
        std::io::Write::write_all(&mut file, &chunk).unwrap();
    }
    let after = process.peak_kib();
    drop(process);
    assert!(total > 100 * 1024 * 1024, "{total} bytes");
    assert!(
        after.saturating_sub(before) < 32 * 1024,
        "the portal's peak memory grew by {} MiB exporting 100 MiB",
        after.saturating_sub(before) / 1024
    );
    // And it is a whole zip whose evidence is the stored object.
    let mut archive =
        zip::ZipArchive::new(std::fs::File::open(tmp.path().join("case.zip")).unwrap()).unwrap();
    let mut manifest = String::new();
    std::io::Read::read_to_string(&mut archive.by_name(MANIFEST).unwrap(), &mut manifest).unwrap();
    let manifest: Manifest = serde_json::from_str(&manifest).unwrap();
    let evidence = manifest
        .files
        .iter()
        .find(|f| {
            matches!(
                f.holds,
                Holds::Object {
                    kind: ObjectKind::Evidence,
                    ..
                }
            )
        })
        .unwrap();
    assert!(evidence.size > 100 * 1024 * 1024);
    let mut hasher = <sha2::Sha256 as sha2::Digest>::new();
    std::io::copy(&mut archive.by_name(&evidence.path).unwrap(), &mut hasher).unwrap();
    assert_eq!(hex::encode(sha2::Digest::finalize(hasher)), evidence.sha256);
}
