//! `TestApp`: one intake door per test, set up like an intake host: the secret
//! identities are moved out of the data folder before the server starts.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use actix_web::web;
use redress_cli::config::{BlobBackend, Config};
use redress_cli::{Overrides, keys};
use redress_crypto::{KdfParams, Receipt, SecretIdentity, derive_receipt_keys, open};
use redress_domain::{CaseRef, Holder, ObjectId, ObjectKind};
use redress_intake::IntakeState;
use redress_store::test_support::TestDatabase;
use redress_store::{BlobStore, Store, StoredCase};
use reqwest::multipart::{Form, Part};
use serde_json::Value;
use tempfile::TempDir;

pub const REQUIRE_ALL: &str = "REDRESS_REQUIRE_ALL";

/// `postgres` runs the system tests with blobs in the database (which must then be
/// PostgreSQL: `REDRESS_TEST_DATABASE_URL`); unset or `folder`, in a blob folder.
pub const TEST_BLOB_BACKEND: &str = "REDRESS_TEST_BLOB_BACKEND";

/// `REDRESS_BLOBS__BACKEND` naming `backend`, for a `redress` process a test starts.
pub fn blob_backend_env(backend: BlobBackend) -> (&'static str, &'static str) {
    ("REDRESS_BLOBS__BACKEND", backend.as_str())
}

/// The blob backend these tests run on.
pub fn test_blob_backend() -> BlobBackend {
    match std::env::var(TEST_BLOB_BACKEND).as_deref() {
        Err(_) | Ok("" | "folder") => BlobBackend::Folder,
        Ok("postgres") => BlobBackend::Postgres,
        Ok(other) => panic!("{TEST_BLOB_BACKEND}={other}: expected folder or postgres"),
    }
}

/// True if `tool` is on PATH. If not: a printed skip locally, a failure when
/// `REDRESS_REQUIRE_ALL=1` (CI).
pub fn have_tool(tool: &str, why: &str) -> bool {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
        .unwrap_or(false);
    if !found {
        if std::env::var(REQUIRE_ALL).as_deref() == Ok("1") {
            panic!("{tool} is required ({why}) and {REQUIRE_ALL}=1, but it is not installed");
        }
        eprintln!("SKIPPED: {tool} is not installed; {why}");
    }
    found
}

pub struct TestApp {
    /// Unix seconds seen by the intake and the worker; tests may move it.
    pub clock: Arc<AtomicI64>,
    /// The worker's fingerprint key, moved out of the data folder like the identities.
    pub fingerprint_key: [u8; 32],
    pub config: Config,
    pub base: String,
    pub state: web::Data<IntakeState>,
    pub store: Store,
    pub blobs: BlobStore,
    pub triage: SecretIdentity,
    pub recovery: SecretIdentity,
    /// Where the secret identities were moved to (outside the data folder).
    pub offline_dir: PathBuf,
    pub client: reqwest::Client,
    handle: actix_web::dev::ServerHandle,
    _db: TestDatabase,
    pub dir: TempDir,
}

/// The API's multipart body: the report as JSON, then each file as `evidence`.
pub fn report_form(report: &Value, files: &[(&str, &[u8])]) -> Form {
    let mut form = Form::new().part(
        "report",
        Part::text(report.to_string())
            .mime_str("application/json")
            .unwrap(),
    );
    for (name, bytes) in files {
        form = form.part(
            "evidence",
            Part::bytes(bytes.to_vec()).file_name(name.to_string()),
        );
    }
    form
}

/// `POST /api/v1/reports` to the intake at `base`.
pub async fn post_report(client: &reqwest::Client, base: &str, form: Form) -> reqwest::Response {
    client
        .post(format!("{base}/api/v1/reports"))
        .multipart(form)
        .send()
        .await
        .unwrap()
}

/// A ready-made answer set that passes validation.
pub fn good_answers(what_happened: &str) -> Value {
    serde_json::json!({
        "product": "mobile-implant",
        "suspected_customer": "Ministry of Example",
        "country": "Exampleland",
        "targeted": ["journalist", "lawyer"],
        "what_happened": what_happened,
        "when": "March 2026",
        "ongoing": "yes",
        "contact": null
    })
}

/// The same answers as HTML form fields.
pub fn good_form_fields(what_happened: &str) -> Vec<(&'static str, String)> {
    vec![
        ("product", "mobile-implant".into()),
        ("suspected_customer", "Ministry of Example".into()),
        ("country", "Exampleland".into()),
        ("targeted", "journalist".into()),
        ("targeted", "lawyer".into()),
        ("what_happened", what_happened.into()),
        ("when", "March 2026".into()),
        ("ongoing", "yes".into()),
        ("contact", String::new()),
        ("website", String::new()),
    ]
}

pub fn random_marker(label: &str) -> String {
    format!("{label}-{}", uuid::Uuid::new_v4().simple())
}

/// What a holder sees after opening a case.
#[derive(Debug)]
pub struct OpenedCase {
    pub document: Value,
    /// (file name as sent, bytes)
    pub files: Vec<(String, Vec<u8>)>,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    pub async fn spawn_with(edit: impl FnOnce(&mut Config)) -> Self {
        Self::spawn_inner(edit, None, Some(KdfParams::danger_test_minimum())).await
    }

    /// An app whose receipts use the production key derivation (`receipt_kdf` as
    /// configured), for tests that measure it.
    pub async fn spawn_with_production_kdf(edit: impl FnOnce(&mut Config)) -> Self {
        Self::spawn_inner(edit, None, None).await
    }

    /// An app whose database can be taken away and given back: for PostgreSQL every
    /// connection goes through a proxy the test can cut; for SQLite another connection
    /// can hold the write lock.
    pub async fn spawn_with_outage(edit: impl FnOnce(&mut Config)) -> (Self, Outage) {
        let proxy = match std::env::var(redress_store::test_support::TEST_DATABASE_URL) {
            Ok(url) if !url.is_empty() => Some(Proxy::start(&url).await),
            _ => None,
        };
        let through = proxy.as_ref().map(|p| (p.upstream.clone(), p.addr.clone()));
        let app = Self::spawn_inner(edit, through, Some(KdfParams::danger_test_minimum())).await;
        let outage = match proxy {
            Some(proxy) => Outage::Proxy(proxy),
            None => Outage::SqliteLock {
                url: app.config.database.url.clone(),
                holder: None,
            },
        };
        (app, outage)
    }

    async fn spawn_inner(
        edit: impl FnOnce(&mut Config),
        through: Option<(String, String)>,
        danger_kdf: Option<KdfParams>,
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = TestDatabase::create(dir.path()).await;
        let mut config = Config {
            data_dir: dir.path().join("data"),
            ..Config::default()
        };
        config.database.url = match &through {
            Some((upstream, proxy)) => db.url().replacen(upstream.as_str(), proxy, 1),
            None => db.url().to_owned(),
        };
        config.blobs.backend = test_blob_backend();
        config.intake.listen = "127.0.0.1:0".into();
        config.intake.min_free_disk_mib = 1;
        config.limits.max_file_mib = 1;
        config.limits.max_report_mib = 3;
        edit(&mut config);

        keys::bootstrap(&config).unwrap();
        let offline_dir = dir.path().join("offline");
        std::fs::create_dir(&offline_dir).unwrap();
        let triage_file = offline_dir.join("triage.key");
        let recovery_file = offline_dir.join("recovery.txt");
        std::fs::rename(config.triage_identity_path(), &triage_file).unwrap();
        std::fs::rename(config.data_dir.join(keys::RECOVERY_FILE), &recovery_file).unwrap();
        let fingerprint_file = offline_dir.join("fingerprint.key");
        std::fs::rename(config.fingerprint_key_path(), &fingerprint_file).unwrap();
        let fingerprint_key: [u8; 32] =
            hex::decode(std::fs::read_to_string(&fingerprint_file).unwrap().trim())
                .unwrap()
                .try_into()
                .unwrap();
        let triage = SecretIdentity::parse(&std::fs::read_to_string(&triage_file).unwrap()).unwrap();
        let recovery = SecretIdentity::parse(&std::fs::read_to_string(&recovery_file).unwrap()).unwrap();

        let store = redress_cli::connect(&config).await.unwrap();
        store.migrate().await.unwrap();
        let clock = Arc::new(AtomicI64::new(redress_cli::system_clock()));
        let read_clock = Arc::clone(&clock);
        let overrides = Overrides {
            danger_kdf,
            clock: Some(Arc::new(move || read_clock.load(Ordering::SeqCst))),
        };
        let state = redress_cli::intake_state(&config, store.clone(), &overrides)
            .await
            .unwrap();
        let blobs = state.blobs.clone();
        let addr = config.intake_addr().unwrap();
        let running = redress_cli::start_intake(addr, state, 2).unwrap();
        let handle = running.server.handle();
        tokio::spawn(running.server);
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self {
            clock,
            fingerprint_key,
            base: format!("http://{}", running.addr),
            state: running.state,
            config,
            store,
            blobs,
            triage,
            recovery,
            offline_dir,
            client,
            handle,
            _db: db,
            dir,
        }
    }

    /// A worker on this app's database and blobs, holding the offline triage identity,
    /// with the shipped rules, the synthetic indicators and the given mailer.
    pub fn worker(&self, name: &str, mailer: Option<redress_mail::Mailer>) -> redress_worker::Worker {
        let bundle = include_bytes!("../../crates/indicators/tests/fixtures/synthetic-bundle.json");
        let now = time::OffsetDateTime::from_unix_timestamp(self.clock.load(Ordering::SeqCst)).unwrap();
        let (indicators, _) =
            redress_indicators::IndicatorSet::from_bundles(&[bundle.as_slice()], now).unwrap();
        let read_clock = Arc::clone(&self.clock);
        redress_worker::Worker {
            store: self.store.clone(),
            blobs: self.blobs.clone(),
            triage: redress_worker::TriageKeys::fixed(vec![self.triage.clone()]),
            fingerprint_key: redress_worker::FingerprintKey::new(self.fingerprint_key),
            rules: redress_cli::worker::rules(&self.config).unwrap(),
            indicators,
            mailer,
            settings: redress_worker::WorkerSettings {
                message_id_domain: "mid.redress.test".into(),
                poll_interval: std::time::Duration::from_millis(20),
                // Retried within the claim at once: tests move the clock, not time.
                retry_delays: vec![Duration::ZERO; 3],
                ..redress_worker::WorkerSettings::default()
            },
            clock: Arc::new(move || read_clock.load(Ordering::SeqCst)),
            name: name.to_owned(),
        }
    }

    /// Registers an investigator with a fresh identity.
    pub async fn investigator(
        &self,
        email: &str,
        teams: &[&str],
        capacity: u32,
    ) -> (redress_store::Investigator, SecretIdentity) {
        let id = SecretIdentity::generate();
        let new = redress_store::NewInvestigator {
            email: email.into(),
            recipient: id.public().to_string(),
            teams: teams.iter().map(|t| t.to_string()).collect(),
            capacity,
        };
        (
            self.store
                .add_investigator(&new, self.clock.load(Ordering::SeqCst))
                .await
                .unwrap(),
            id,
        )
    }

    /// Inserts a bare case row (for tests that need one to hang rows on) and returns its id.
    pub async fn insert_bare_case(store: &Store) -> redress_domain::CaseId {
        let new = redress_store::NewCase {
            id: redress_domain::CaseId::random(),
            questionnaire_version: 1,
            received_at: 0,
            case_recipient: "age1".into(),
            thread_recipient: "age1".into(),
            wraps: vec![],
            objects: vec![],
            receipt: redress_store::NewReceipt {
                lookup: rand::random(),
                kdf_salt: vec![0; 16],
                kdf_m_kib: 8,
                kdf_t: 1,
                kdf_p: 1,
            },
            jobs: vec![],
        };
        store
            .insert_case(&new, || CaseRef::from_random(rand::random()))
            .await
            .unwrap();
        new.id
    }

    /// Moves the clock forward.
    pub fn advance(&self, secs: i64) {
        self.clock.fetch_add(secs, Ordering::SeqCst);
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    /// `POST /api/v1/reports` with a JSON report part and evidence files.
    pub async fn api_submit(&self, report: &Value, files: &[(&str, &[u8])]) -> reqwest::Response {
        self.api_submit_form(report_form(report, files)).await
    }

    pub async fn api_submit_form(&self, form: Form) -> reqwest::Response {
        post_report(&self.client, &self.base, form).await
    }

    /// `GET /report`: returns (Cookie header value, CSRF token from the form).
    pub async fn form_get(&self) -> (String, String) {
        let res = self.get("/report").await;
        assert_eq!(res.status(), 200);
        let cookie = set_cookie(&res, redress_web::CSRF_COOKIE).expect("csrf cookie");
        let html = res.text().await.unwrap();
        let token = hidden_value(&html, redress_web::CSRF_FIELD).expect("csrf field");
        (cookie, token)
    }

    /// Builds the multipart body a browser sends: the CSRF token first, then the fields,
    /// then the files.
    pub fn form_body(token: Option<&str>, fields: &[(&str, String)], files: &[(&str, &[u8])]) -> Form {
        let mut form = Form::new();
        if let Some(t) = token {
            form = form.text(redress_web::CSRF_FIELD, t.to_owned());
        }
        for (name, value) in fields {
            form = form.text(name.to_string(), value.clone());
        }
        for (name, bytes) in files {
            form = form.part(
                "evidence",
                Part::bytes(bytes.to_vec()).file_name(name.to_string()),
            );
        }
        form
    }

    pub async fn form_post(&self, cookie: Option<&str>, form: Form) -> reqwest::Response {
        let mut req = self.client.post(self.url("/report")).multipart(form);
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        req.send().await.unwrap()
    }

    /// Fills in and sends the form like a browser; returns the POST response.
    pub async fn form_submit(&self, fields: &[(&str, String)], files: &[(&str, &[u8])]) -> reqwest::Response {
        let (cookie, token) = self.form_get().await;
        self.form_post(Some(&cookie), Self::form_body(Some(&token), fields, files))
            .await
    }

    /// Follows the 303 of a successful form POST; returns (receipt, case ref, page html).
    pub async fn follow_to_receipt(&self, post: reqwest::Response) -> (String, String, String) {
        assert_eq!(post.status(), 303, "{}", post.text().await.unwrap());
        assert_eq!(post.headers()["location"], "/receipt");
        let cookie = set_cookie(&post, "redress_receipt").expect("receipt cookie");
        let page = self
            .client
            .get(self.url("/receipt"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 200);
        // Shown once: the page tells the browser to forget the cookie.
        let removal = set_cookie_header(&page, "redress_receipt").expect("the receipt cookie is removed");
        assert!(
            removal.starts_with("redress_receipt=;") && removal.contains("Max-Age=0"),
            "{removal}"
        );
        assert!(removal.contains("Path=/receipt"), "{removal}");
        let html = page.text().await.unwrap();
        let receipt = element_text(&html, "receipt").expect("receipt on the page");
        let case_ref = element_text(&html, "case-ref").expect("case ref on the page");
        (receipt, case_ref, html)
    }

    pub async fn case(&self, case_ref: &str) -> StoredCase {
        self.store
            .case_by_ref(&CaseRef::parse(case_ref).unwrap())
            .await
            .unwrap()
            .expect("case exists")
    }

    /// Opens a case the way a case-key holder does: its wrap → case key → thread key →
    /// objects.
    pub async fn open_as(
        &self,
        case_ref: &str,
        holder: Holder,
        identity: &SecretIdentity,
    ) -> Result<OpenedCase, String> {
        let case = self.case(case_ref).await;
        let case_key = redress_keychain::open_case_key(&self.store, case.id, holder, identity)
            .await
            .map_err(|e| e.to_string())?;
        let thread = redress_keychain::open_thread_key(&self.store, case.id, &case_key)
            .await
            .map_err(|e| e.to_string())?;
        self.read_objects(&case, &thread).await
    }

    /// Opens the thread the way the reporter does, from the receipt alone.
    pub async fn open_with_receipt(&self, case_ref: &str, receipt: &str) -> Result<OpenedCase, String> {
        let case = self.case(case_ref).await;
        let receipt = Receipt::parse(receipt).ok_or("not a receipt")?;
        let salt = self.state.receipt_salt.clone();
        let keys = derive_receipt_keys(&receipt, &salt, &self.state.kdf).unwrap();
        let row = self
            .store
            .receipt(&keys.lookup)
            .await
            .unwrap()
            .ok_or("receipt lookup found nothing")?;
        assert_eq!(row.case_id, case.id);
        let thread = redress_keychain::open_thread_as_reporter(&self.store, case.id, &keys.identity)
            .await
            .map_err(|e| e.to_string())?;
        self.read_objects(&case, &thread).await
    }

    async fn read_objects(&self, case: &StoredCase, thread: &SecretIdentity) -> Result<OpenedCase, String> {
        let objects = self.store.objects(case.id).await.unwrap();
        let mut document = None;
        let mut evidence = Vec::new();
        // What the reporter sent is sealed to the thread key; triage's objects are not.
        for (id, kind) in objects
            .into_iter()
            .filter(|(_, k)| matches!(k, ObjectKind::Submission | ObjectKind::Evidence))
        {
            let ct = self.read_blob(id).await;
            let plain = open(thread, &ct).map_err(|e| e.to_string())?;
            match kind {
                ObjectKind::Submission => document = Some(serde_json::from_slice::<Value>(&plain).unwrap()),
                ObjectKind::Evidence => evidence.push((id.to_string(), plain.to_vec())),
                ObjectKind::Scrubbed | ObjectKind::TriageSummary => unreachable!("filtered out above"),
            }
        }
        let document = document.ok_or("no submission document")?;
        let mut files = Vec::new();
        for entry in document["evidence"].as_array().unwrap() {
            let (_, bytes) = evidence
                .iter()
                .find(|(id, _)| id == entry["object_id"].as_str().unwrap())
                .ok_or("evidence object missing")?;
            assert_eq!(entry["size"].as_u64().unwrap(), bytes.len() as u64);
            assert_eq!(
                entry["sha256"].as_str().unwrap(),
                sha256_hex(bytes),
                "manifest hash"
            );
            files.push((entry["file_name"].as_str().unwrap().to_owned(), bytes.clone()));
        }
        assert_eq!(
            files.len(),
            evidence.len(),
            "every evidence object is in the manifest"
        );
        Ok(OpenedCase { document, files })
    }

    /// A committed blob's bytes, from whichever backend holds it.
    pub async fn read_blob(&self, id: ObjectId) -> Vec<u8> {
        self.blobs
            .read_all(id)
            .await
            .unwrap_or_else(|e| panic!("blob {id}: {e}"))
    }

    /// Every blob stored, committed or pending.
    pub async fn stored_blobs(&self) -> BTreeSet<ObjectId> {
        self.blobs.list().await.unwrap().ids().collect()
    }

    /// The pending blobs (uploads in progress, or what a crash left).
    pub async fn pending_blobs(&self) -> Vec<ObjectId> {
        let listing = self.blobs.list().await.unwrap();
        listing.pending.iter().map(|l| l.id).collect()
    }

    /// A committed blob of `bytes` that no case references, as a process killed
    /// between placing its blobs and committing its case leaves.
    pub async fn orphan_blob(&self, bytes: &[u8]) -> ObjectId {
        redress_store::test_support::commit_blob(&self.blobs, bytes).await
    }

    /// A pending blob left by a process killed mid-upload, with no upload row.
    pub async fn crashed_upload(&self) -> ObjectId {
        let mut blob = self.blobs.begin().await.unwrap();
        std::io::Write::write_all(&mut blob, b"half an upload").unwrap();
        let id = blob.id();
        // A killed process runs no destructor.
        std::mem::forget(blob);
        id
    }

    /// A committed blob as a file, for the stock `age` CLI: the blob folder's own file,
    /// or (blobs in the database) what `redress admin blob export` writes into `dir`.
    pub fn blob_file(&self, id: ObjectId, dir: &Path) -> PathBuf {
        match self.blobs.path_of(id) {
            Some(path) => path,
            None if dir.join(format!("{id}.age")).exists() => dir.join(format!("{id}.age")),
            None => self.export_blob(id, dir),
        }
    }

    /// A `redress` process on this app's data folder, database and blob store (the
    /// harness's own variables removed); add the subcommand and what else it needs.
    pub fn redress_command(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_redress"));
        cmd.current_dir(self.dir.path())
            .env_remove("REDRESS_TEST_DATABASE_URL")
            .env_remove(TEST_BLOB_BACKEND)
            .env_remove(REQUIRE_ALL)
            .env("RUST_LOG", "warn")
            .env("REDRESS_DATA_DIR", &self.config.data_dir)
            .env("REDRESS_DATABASE__URL", &self.config.database.url)
            .envs([self.blob_backend_env()]);
        cmd
    }

    /// `redress admin blob export ID --out DIR/ID.age` on this app's storage.
    pub fn export_blob(&self, id: ObjectId, dir: &Path) -> PathBuf {
        let out = dir.join(format!("{id}.age"));
        let run = self
            .redress_command()
            .args(["admin", "blob", "export", &id.to_string(), "--out"])
            .arg(&out)
            .output()
            .unwrap();
        assert!(
            run.status.success(),
            "blob export: {}",
            String::from_utf8_lossy(&run.stderr)
        );
        out
    }

    /// `REDRESS_BLOBS__BACKEND` for a `redress` process started by a test, so it uses
    /// this app's blob store.
    pub fn blob_backend_env(&self) -> (&'static str, &'static str) {
        blob_backend_env(self.config.blobs.backend)
    }

    /// Asserts that no case, object or blob exists — waiting briefly for writer threads
    /// of an aborted upload to clean up their temporary files.
    pub async fn assert_nothing_stored(&self) {
        for _ in 0..100 {
            if self.store.case_count().await.unwrap() == 0
                && self.store.object_count().await.unwrap() == 0
                && self.stored_blobs().await.is_empty()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "something was stored: {} cases, {} objects, blobs {:?}",
            self.store.case_count().await.unwrap(),
            self.store.object_count().await.unwrap(),
            self.stored_blobs().await
        );
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

/// Submits `n` reports through the JSON API, `what` and a number their text; their
/// references.
pub async fn submit_reports(app: &TestApp, n: usize, what: &str) -> Vec<String> {
    let mut refs = Vec::new();
    for i in 0..n {
        let res = app
            .api_submit(&good_answers(&format!("{what} number {i}, long enough.")), &[])
            .await;
        assert_eq!(res.status(), 201);
        refs.push(
            res.json::<serde_json::Value>().await.unwrap()["case_ref"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    refs
}

/// Runs the command `make` gives up to `kills` times, killing each run with SIGKILL at
/// a random moment `within` (milliseconds) after its start, then once more to its end;
/// a run that ends before its kill is the last. Returns how many runs the kills cut
/// short and the last run's output.
pub fn run_with_kills(
    make: impl Fn() -> std::process::Command,
    kills: usize,
    within: std::ops::Range<u64>,
) -> (usize, std::process::Output) {
    let mut killed = 0;
    for _ in 0..kills {
        let mut child = make()
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(rand::Rng::gen_range(
            &mut rand::thread_rng(),
            within.clone(),
        )));
        if child.try_wait().unwrap().is_some() {
            // It finished: running it again would start anew what it finished.
            return (killed, child.wait_with_output().unwrap());
        }
        child.kill().unwrap(); // SIGKILL
        killed += 1;
        child.wait().unwrap();
    }
    (killed, make().output().unwrap())
}

/// A command's standard output and error, as text.
pub fn output_text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A moment past the sweep's grace period for anything stored now, on either backend
/// (the database records the hour only).
pub fn past_grace(app: &TestApp) -> std::time::SystemTime {
    std::time::SystemTime::now()
        + redress_worker::SWEEP_GRACE
        + app.blobs.time_resolution()
        + Duration::from_secs(1)
}

/// When the blob store says a blob was written, Unix seconds: a file's modification
/// time, or the hour the database recorded.
pub async fn blob_written_at(app: &TestApp, id: ObjectId) -> i64 {
    let listing = app.blobs.list().await.unwrap();
    let listed = listing
        .committed
        .iter()
        .find(|l| l.id == id)
        .unwrap_or_else(|| panic!("blob {id} is not stored"));
    let secs = listed
        .written
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    i64::try_from(secs).unwrap()
}

/// `len` bytes that do not compress, the same every time.
pub fn noise(len: usize) -> Vec<u8> {
    (0..len as u32 / 4)
        .flat_map(|i| i.wrapping_mul(2_654_435_761).to_le_bytes())
        .collect()
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// `name=value` of the first Set-Cookie for `name`, ready for a Cookie header.
pub fn set_cookie(res: &reqwest::Response, name: &str) -> Option<String> {
    set_cookie_header(res, name).and_then(|v| v.split(';').next().map(str::to_owned))
}

/// The full Set-Cookie header for `name`.
pub fn set_cookie_header(res: &reqwest::Response, name: &str) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

/// The value attribute of `<input … name="NAME" value="…">`.
pub fn hidden_value(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\""))?;
    let rest = &html[at..];
    let v = rest.find("value=\"")? + 7;
    let end = rest[v..].find('"')?;
    Some(rest[v..v + end].to_owned())
}

/// Text content of the element with `id`, assuming it holds text only.
pub fn element_text(html: &str, id: &str) -> Option<String> {
    let at = html.find(&format!("id=\"{id}\""))?;
    let start = at + html[at..].find('>')? + 1;
    let end = start + html[start..].find('<')?;
    Some(html[start..end].trim().to_owned())
}

/// Every row of every table as text, so a marker stored in any column on either
/// backend would show up.
pub async fn dump_database(store: &Store) -> String {
    redress_store::test_support::dump_database(store).await
}

/// Paths of files under `dir` whose bytes contain `needle`.
pub fn files_containing(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
    files_under(dir)
        .into_iter()
        .filter(|p| std::fs::read(p).is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle)))
        .collect()
}

/// Takes the database away from a running app and gives it back.
pub enum Outage {
    Proxy(Proxy),
    /// Another connection holding SQLite's write lock (`BEGIN EXCLUSIVE`).
    SqliteLock {
        url: String,
        holder: Option<sea_orm::DatabaseConnection>,
    },
}

impl Outage {
    pub async fn begin(&mut self) {
        use sea_orm::ConnectionTrait;
        match self {
            Self::Proxy(p) => p.cut().await,
            Self::SqliteLock { url, holder } => {
                let mut opts = sea_orm::ConnectOptions::new(url.clone());
                opts.max_connections(1).min_connections(1).sqlx_logging(false);
                let conn = sea_orm::Database::connect(opts).await.unwrap();
                conn.execute_unprepared("BEGIN EXCLUSIVE").await.unwrap();
                *holder = Some(conn);
            }
        }
    }

    pub async fn end(&mut self) {
        use sea_orm::ConnectionTrait;
        match self {
            Self::Proxy(p) => p.restore(),
            Self::SqliteLock { holder, .. } => {
                if let Some(conn) = holder.take() {
                    conn.execute_unprepared("ROLLBACK").await.unwrap();
                    conn.close().await.unwrap();
                }
            }
        }
    }
}

/// A TCP proxy in front of PostgreSQL that can drop every connection and refuse new
/// ones, as a database host that went away would.
pub struct Proxy {
    /// `host:port` of the real server, as it appears in the test database URL.
    pub upstream: String,
    /// `host:port` to connect to instead.
    pub addr: String,
    cut: Arc<std::sync::atomic::AtomicBool>,
    /// Bumped on every cut, so live connections notice and close.
    generation: Arc<AtomicI64>,
    /// Connections being piped now.
    live: Arc<AtomicI64>,
}

/// Counts a piped connection while it lives.
struct Live(Arc<AtomicI64>);

impl Live {
    fn new(count: &Arc<AtomicI64>) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        Self(Arc::clone(count))
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Proxy {
    async fn start(admin_url: &str) -> Self {
        let after_scheme = admin_url.split_once("://").unwrap().1;
        let host_part = after_scheme.split('/').next().unwrap();
        let upstream = host_part.rsplit('@').next().unwrap().to_owned();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let cut = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let generation = Arc::new(AtomicI64::new(0));
        let live = Arc::new(AtomicI64::new(0));
        let (cut2, generation2, upstream2, live2) = (
            Arc::clone(&cut),
            Arc::clone(&generation),
            upstream.clone(),
            Arc::clone(&live),
        );
        tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                // Counted, then dated, then checked: a cut at any point in between
                // either refuses this connection or is seen by it.
                let alive = Live::new(&live2);
                let born = generation2.load(Ordering::SeqCst);
                if cut2.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let (generation, upstream) = (Arc::clone(&generation2), upstream2.clone());
                tokio::spawn(async move {
                    let _alive = alive;
                    let Ok(server) = tokio::net::TcpStream::connect(&upstream).await else {
                        return;
                    };
                    let (mut client, mut server) = (client, server);
                    let pipe = tokio::io::copy_bidirectional(&mut client, &mut server);
                    tokio::pin!(pipe);
                    loop {
                        tokio::select! {
                            _ = &mut pipe => return,
                            () = tokio::time::sleep(Duration::from_millis(20)) => {
                                if generation.load(Ordering::SeqCst) != born {
                                    return; // dropping both ends cuts the connection
                                }
                            }
                        }
                    }
                });
            }
        });
        Self {
            upstream,
            addr,
            cut,
            generation,
            live,
        }
    }

    /// Refuses new connections and returns once every live one is closed, so nothing
    /// the test does next can slip through a connection not yet cut.
    async fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        self.generation.fetch_add(1, Ordering::SeqCst);
        let started = std::time::Instant::now();
        while self.live.load(Ordering::SeqCst) > 0 {
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "connections still live"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    fn restore(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}

/// A start tag as served: its name, its attributes (values still entity-escaped) and
/// where in the page it starts.
#[derive(Debug)]
pub struct Tag {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub at: usize,
}

impl Tag {
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn has_class(&self, class: &str) -> bool {
        self.attr("class")
            .is_some_and(|c| c.split_whitespace().any(|x| x == class))
    }
}

/// Every start tag of `html`, in order. Enough for the pages this service writes:
/// double-quoted or bare attribute values, no `>` inside a value.
pub fn tags(html: &str) -> Vec<Tag> {
    let mut out = Vec::new();
    let mut rest = 0;
    while let Some(found) = html[rest..].find('<') {
        let at = rest + found;
        let Some(len) = html[at..].find('>') else { break };
        rest = at + len + 1;
        let inner = &html[at + 1..at + len];
        if !inner.starts_with(|c: char| c.is_ascii_alphabetic()) {
            continue; // an end tag, a comment or the doctype
        }
        let (name, mut attrs_text) = inner.split_at(inner.find(char::is_whitespace).unwrap_or(inner.len()));
        let mut attrs = Vec::new();
        loop {
            attrs_text = attrs_text.trim_start();
            if attrs_text.is_empty() {
                break;
            }
            let end = attrs_text
                .find(|c: char| c == '=' || c.is_whitespace())
                .unwrap_or(attrs_text.len());
            let attr = attrs_text[..end].to_owned();
            attrs_text = &attrs_text[end..];
            let value = if let Some(v) = attrs_text.strip_prefix("=\"") {
                let close = v.find('"').expect("closing quote");
                attrs_text = &v[close + 1..];
                v[..close].to_owned()
            } else if let Some(v) = attrs_text.strip_prefix('=') {
                let close = v.find(char::is_whitespace).unwrap_or(v.len());
                attrs_text = &v[close..];
                v[..close].to_owned()
            } else {
                String::new()
            };
            attrs.push((attr, value));
        }
        out.push(Tag {
            name: name.to_ascii_lowercase(),
            attrs,
            at,
        });
    }
    out
}

/// The text inside the element that starts at `tag`, tags removed, white space collapsed.
pub fn inner_text(html: &str, tag: &Tag) -> String {
    let start = tag.at + html[tag.at..].find('>').expect("end of tag") + 1;
    let end = start + html[start..].find(&format!("</{}>", tag.name)).expect("end tag");
    let mut text = String::new();
    let mut in_tag = false;
    for c in html[start..end].chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
