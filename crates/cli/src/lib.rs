//! Wiring for the `redress` binary: configuration, key files, and starting each door.
//! No business logic lives here.

pub mod admin;
pub mod audit;
pub mod check;
pub mod config;
pub mod key_commands;
pub mod keys;
pub mod recover;
pub mod rekey;
pub mod rotate;
pub mod rotation_requests;
pub mod secret_rotation;
pub mod worker;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use rand::RngCore;
use redress_crypto::KdfParams;
use redress_domain::Questionnaire;
use redress_intake::{GateSizes, IntakeLimits, IntakeState, UploadGate};
use redress_store::Store;

use crate::config::{Config, non_empty};

const BUILTIN_QUESTIONNAIRE: &str = include_str!("../../../config/questionnaire.toml");
const MIB: u64 = 1024 * 1024;

/// Hooks for tests. Production passes `Overrides::default()`.
#[derive(Clone, Default)]
pub struct Overrides {
    /// Receipt and password KDF parameters below the production floor (tests only).
    pub danger_kdf: Option<KdfParams>,
    /// A clock to use instead of the system clock.
    pub clock: Option<Arc<dyn Fn() -> i64 + Send + Sync>>,
}

impl std::fmt::Debug for Overrides {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Overrides")
            .field("danger_kdf", &self.danger_kdf)
            .finish_non_exhaustive()
    }
}

pub fn system_clock() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Loads the questionnaire named in the configuration, or the built-in one.
pub fn questionnaire(config: &Config) -> anyhow::Result<Questionnaire> {
    let text = match non_empty(&config.questionnaire.file) {
        Some(path) => {
            std::fs::read_to_string(path).with_context(|| format!("reading questionnaire {path}"))?
        }
        None => BUILTIN_QUESTIONNAIRE.to_owned(),
    };
    Ok(Questionnaire::from_toml(&text)?)
}

/// Connects to the configured database, after making sure the data folder and a
/// SQLite file are for this user alone.
pub async fn connect(config: &Config) -> anyhow::Result<Store> {
    keys::lock_down_storage(config)?;
    Store::connect(&config.database_url())
        .await
        .context("connecting to the database")
}

fn random_bytes(n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    rand::rngs::OsRng.fill_bytes(&mut v);
    v
}

/// Builds everything the intake door needs. Reads public keys only.
pub async fn intake_state(
    config: &Config,
    store: Store,
    overrides: &Overrides,
) -> anyhow::Result<IntakeState> {
    let blobs = config.blob_store(&store)?;
    let files = config.clone();
    let keys = redress_intake::KeyWatch::reloading(Box::new(move || keys::intake_keys(&files)))
        .map_err(anyhow::Error::msg)?;
    let kdf = match overrides.danger_kdf {
        Some(weak) => weak,
        None => {
            config.receipt_kdf.check(false).context("receipt_kdf")?;
            config.receipt_kdf
        }
    };
    let receipt_salt = store.setting_or_init("receipt_salt", || random_bytes(16)).await?;
    let web_secrets = secret_rotation::web_secrets(&store).await?;
    let i = &config.intake;
    let l = &config.limits;
    let questionnaire = questionnaire(config)?;
    let gate = UploadGate::start(
        gate_sizes(config, &questionnaire),
        Duration::from_secs(i.admission_sample_secs.max(1)),
    );
    Ok(IntakeState {
        service_name: config.service_name.clone(),
        store,
        blobs,
        keys,
        questionnaire,
        messages: redress_intake::messages("en")?,
        csrf: web_secrets.csrf_keys("csrf"),
        flash: web_secrets.flash_sealer("flash"),
        receipt_salt,
        kdf,
        limits: IntakeLimits {
            max_file_bytes: l.max_file_mib * MIB,
            max_report_bytes: l.max_report_mib * MIB,
            max_files: l.max_files,
            min_free_bytes: i.min_free_disk_mib * MIB,
            idle_timeout: Duration::from_secs(i.upload_idle_timeout_secs),
            min_rate_bytes_per_sec: i.min_upload_rate_bytes_per_sec,
            min_rate_window: Duration::from_secs(i.min_upload_rate_window_secs),
            max_upload_duration: Duration::from_secs(i.max_upload_secs),
            form_max_age_secs: i.form_max_age_secs,
        },
        secure_cookies: i.secure_cookies,
        gate,
        kdf_slots: Arc::new(tokio::sync::Semaphore::new(kdf_concurrency(config))),
        lookups: Arc::new(redress_intake::LookupBudget::new(i.followup_lookups_per_minute)),
        clock: overrides.clock.clone().unwrap_or_else(|| Arc::new(system_clock)),
        process: format!("intake-{}", uuid::Uuid::new_v4().simple()),
        message_id_domain: config.message_id_domain().to_owned(),
        earlier_kdf: std::sync::Mutex::new(None),
    })
}

/// How many reports and uploads the intake reads at once, from its memory budgets and
/// the questionnaire's text bounds.
pub fn gate_sizes(config: &Config, questionnaire: &Questionnaire) -> GateSizes {
    let t = questionnaire.limits();
    let chars = (t.what_happened_chars + 4 * t.short_text_chars + t.contact_chars) as u64;
    let i = &config.intake;
    // Text arrives at up to 6 bytes a character (JSON's \uXXXX), answers are UTF-8.
    GateSizes::for_memory(
        i.report_memory_mib * MIB,
        i.upload_memory_mib * MIB,
        chars * 6,
        chars * 4,
    )
}

/// Open files the intake may need at once: a socket per report being read, a socket
/// and a temporary file per upload, and room for the rest of the process.
pub fn open_files_needed(sizes: &GateSizes) -> u64 {
    (sizes.reports + 2 * sizes.uploads + sizes.drains) as u64 + 256
}

/// Raises the soft open-files limit to the hard one (as servers must, to hold many slow
/// uploads) and says what is wrong if even that is below `needed`.
pub fn raise_open_files_limit(needed: u64) -> Result<u64, String> {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (soft, hard) =
        getrlimit(Resource::RLIMIT_NOFILE).map_err(|e| format!("cannot read the open-files limit: {e}"))?;
    if soft < hard {
        setrlimit(Resource::RLIMIT_NOFILE, hard, hard)
            .map_err(|e| format!("cannot raise the open-files limit from {soft} to {hard}: {e}"))?;
    }
    if hard < needed {
        return Err(format!(
            "the open-files limit is {hard}, and the intake's budgets need up to {needed}: \
             raise it (LimitNOFILE= in the systemd unit, or ulimit -n) or lower \
             intake.upload_memory_mib"
        ));
    }
    Ok(hard)
}

fn kdf_concurrency(config: &Config) -> usize {
    match config.intake.kdf_concurrency {
        0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
        n => n,
    }
}

/// A running intake listener.
#[allow(missing_debug_implementations)]
pub struct RunningIntake {
    pub addr: SocketAddr,
    pub state: web::Data<IntakeState>,
    pub server: actix_web::dev::Server,
}

/// Binds the intake door: intake routes only, every response through the headers
/// middleware.
pub fn start_intake(addr: SocketAddr, state: IntakeState, workers: usize) -> anyhow::Result<RunningIntake> {
    let state = web::Data::new(state);
    // Its uploads are alive while it beats (ADR 0019).
    tokio::spawn(state.clone().into_inner().keep_beating());
    // A rotated key reaches it within seconds, without a restart (ADR 0030).
    tokio::spawn(state.clone().into_inner().keep_watching_keys());
    let data = state.clone();
    let text = web::Data::new(redress_web::DoorText {
        service_name: state.service_name.clone(),
        messages: state.messages.clone(),
    });
    let server = HttpServer::new(move || {
        App::new()
            .wrap(from_fn(redress_web::security_headers))
            .app_data(data.clone())
            .app_data(text.clone())
            .configure(redress_intake::routes)
            .default_service(web::to(redress_web::not_found))
    })
    .workers(workers)
    // Tor circuits are slow to deliver the first bytes of a request.
    .client_request_timeout(Duration::from_secs(60))
    .bind(addr)
    .with_context(|| format!("binding the intake to {addr}"))?;
    let addr = server
        .addrs()
        .first()
        .copied()
        .context("intake bound to no address")?;
    Ok(RunningIntake {
        addr,
        state,
        server: server.run(),
    })
}

impl RunningIntake {
    pub fn door(self) -> Door {
        Door {
            name: "intake",
            addr: self.addr,
            server: self.server,
        }
    }
}

/// One HTTP listener of a process. `serve` runs every door at once (today the intake;
/// the portal will be the second), `intake` one.
#[allow(missing_debug_implementations)]
pub struct Door {
    pub name: &'static str,
    pub addr: SocketAddr,
    pub server: actix_web::dev::Server,
}

/// Runs every door until one of them stops or fails, then stops the others. A signal
/// stops them all (each server listens for SIGINT and SIGTERM).
pub async fn run_doors(doors: Vec<Door>) -> anyhow::Result<()> {
    use futures_util::StreamExt;
    let handles: Vec<_> = doors.iter().map(|d| d.server.handle()).collect();
    let mut running: futures_util::stream::FuturesUnordered<_> = doors
        .into_iter()
        .map(|d| async move { (d.name, d.server.await) })
        .collect();
    let first = running.next().await;
    // The stop command is sent at once; the servers act on it as `running` polls them.
    for h in &handles {
        drop(h.stop(true));
    }
    while running.next().await.is_some() {}
    match first {
        Some((name, Err(e))) => Err(anyhow::Error::new(e).context(format!("the {name} door stopped"))),
        _ => Ok(()),
    }
}

/// Builds everything the portal door needs. Reads the portal's own secret file.
pub async fn portal_state(
    config: &Config,
    store: Store,
    overrides: &Overrides,
) -> anyhow::Result<redress_portal::PortalState> {
    let p = &config.portal;
    let secrets = secret_rotation::portal_secrets(config)?;
    let password_kdf = match overrides.danger_kdf {
        Some(weak) => weak,
        None => {
            p.password_kdf.check(false).context("portal.password_kdf")?;
            p.password_kdf
        }
    };
    if p.session_idle_mins < 1 || p.session_hours < 1 {
        anyhow::bail!("portal.session_idle_mins and portal.session_hours must be at least 1");
    }
    // The deadlines of the triage rules, which the portal's steps set, and the routing
    // the invitation form describes.
    let rules = worker::rules(config)
        .context("reading the triage rules (worker.rules_file), whose deadlines the portal sets")?;
    for (i, label) in p.labels.iter().enumerate() {
        if !redress_domain::valid_label(label) || p.labels[..i].contains(label) {
            anyhow::bail!(
                "portal.labels: {label:?} is not a label (1 to 32 lowercase letters, digits and dashes, each once)"
            );
        }
    }
    let mut routed_teams: Vec<String> = Vec::new();
    for rule in &rules.routing.rules {
        if !routed_teams.contains(&rule.team) {
            routed_teams.push(rule.team.clone());
        }
    }
    let settings = redress_portal::PortalSettings {
        secure_cookies: p.secure_cookies,
        session_idle_secs: p.session_idle_mins * 60,
        session_absolute_secs: p.session_hours * 3600,
        failed_logins_per_minute: p.failed_logins_per_minute,
        invitation_hours: p.invitation_hours,
        link_base: portal_link_base(config),
        routed_teams,
        fallback_team: rules.routing.fallback_team.clone(),
        feedback_secs: rules.deadlines.feedback_days * 86_400,
        due_soon_secs: rules.deadlines.due_soon_days * 86_400,
        labels: p.labels.clone(),
        cases_per_page: p.cases_per_page.clamp(1, 500),
        key_batch: p.key_batch.max(1),
        message_id_domain: config.message_id_domain().to_owned(),
        ..redress_portal::PortalSettings::default()
    };
    let clock = overrides.clock.clone().unwrap_or_else(|| Arc::new(system_clock));
    let files = config.clone();
    let parts = redress_portal::PortalParts {
        service_name: config.service_name.clone(),
        blobs: config.blob_store(&store)?,
        store,
        questionnaire: questionnaire(config)?,
        messages: redress_portal::messages("en")?,
        password_kdf,
        settings,
        clock,
        host_keys: Arc::new(move || key_commands::host_keys(&files)),
    };
    Ok(redress_portal::PortalState::new(parts, &secrets)?)
}

/// A running portal listener.
#[allow(missing_debug_implementations)]
pub struct RunningPortal {
    pub addr: SocketAddr,
    pub state: web::Data<redress_portal::PortalState>,
    pub server: actix_web::dev::Server,
}

impl RunningPortal {
    pub fn door(self) -> Door {
        Door {
            name: "portal",
            addr: self.addr,
            server: self.server,
        }
    }
}

/// Binds the portal door: portal routes only, each behind its access rule, every
/// response through the headers middleware.
pub fn start_portal(
    addr: SocketAddr,
    state: redress_portal::PortalState,
    workers: usize,
) -> anyhow::Result<RunningPortal> {
    let state = web::Data::new(state);
    tokio::spawn(redress_portal::forget_stale(state.clone().into_inner()));
    let data = state.clone();
    let text = web::Data::new(redress_web::DoorText {
        service_name: state.service_name.clone(),
        messages: state.messages.clone(),
    });
    let server = HttpServer::new(move || {
        App::new()
            .wrap(from_fn(redress_portal::access::enforce))
            .wrap(from_fn(redress_web::security_headers))
            .app_data(data.clone())
            .app_data(text.clone())
            .app_data(web::PayloadConfig::new(redress_portal::FORM_LIMIT))
            .configure(redress_portal::routes)
            .default_service(web::to(redress_web::not_found))
    })
    .workers(workers)
    .bind(addr)
    .with_context(|| format!("binding the portal to {addr}"))?;
    let addr = server
        .addrs()
        .first()
        .copied()
        .context("portal bound to no address")?;
    Ok(RunningPortal {
        addr,
        state,
        server: server.run(),
    })
}

/// `redress portal`: the investigator, admin and auditor door alone.
pub async fn portal(config: Config) -> anyhow::Result<()> {
    redress_logging::spawn_hourly_report(system_clock);
    for problem in keys::misplaced_secrets(&config, Some("portal")) {
        tracing::warn!("{problem}");
    }
    // Its own secret, made at the first start; replaced by `keys rotate portal-secret`
    // (sessions do not depend on it).
    if let Some(made) = keys::ensure_portal_secret(&config)? {
        println!("Created the portal secret: {}", made.display());
    }
    let store = connect(&config).await?;
    let running = start_portal_door(&config, store).await?;
    run_doors(vec![running]).await
}

async fn start_portal_door(config: &Config, store: Store) -> anyhow::Result<Door> {
    let addr = config.portal_addr().map_err(anyhow::Error::msg)?;
    let state = portal_state(config, store, &Overrides::default()).await?;
    let running = start_portal(addr, state, default_workers())?;
    println!("Portal listening on http://{}/", running.addr);
    Ok(running.door())
}

/// `redress serve`: everything in one process on the embedded default.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    redress_logging::spawn_hourly_report(system_clock);
    let boot = keys::bootstrap(&config)?;
    announce(&config, &boot);
    let store = connect(&config).await?;
    store.migrate().await.context("migrating the database")?;
    // The worker runs here while this host holds the triage identity; once an operator
    // has moved it to a worker host, triage runs there.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let worker = if config.triage_identity_path().exists() {
        worker::ensure_fingerprint_key(&config, &store).await?;
        let w = Arc::new(worker::build(&config, store.clone(), Arc::new(system_clock))?);
        w.warn_at_start().await;
        let rotations = spawn_rotation_requests(&config, &store, &stopped);
        Some((tokio::spawn(w.run(stopped)), rotations))
    } else {
        println!("No triage identity on this host: run `redress worker` where it is.");
        None
    };
    let served = async {
        let portal = start_portal_door(&config, store.clone()).await?;
        announce_first_admin(&store).await;
        let intake = start_intake_door(&config, store).await?;
        run_doors(vec![intake, portal]).await
    }
    .await;
    let _ = stop.send(true);
    if let Some((w, rotations)) = worker {
        let _ = w.await;
        let _ = rotations.await;
    }
    served
}

/// The loop that performs the key rotations asked for on the portal, beside a worker.
fn spawn_rotation_requests(
    config: &Config,
    store: &Store,
    stopped: &tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(rotation_requests::keep_performing(
        config.clone(),
        store.clone(),
        Arc::new(system_clock),
        stopped.clone(),
    ))
}

/// `redress worker`: the triage worker and every background job, until SIGTERM or
/// SIGINT; running jobs then get a grace period to finish, the rest are released.
pub async fn worker(config: Config) -> anyhow::Result<()> {
    redress_logging::spawn_hourly_report(system_clock);
    let store = connect(&config).await?;
    worker::ensure_fingerprint_key(&config, &store).await?;
    let w = Arc::new(worker::build(&config, store, Arc::new(system_clock))?);
    w.warn_at_start().await;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let rotations = spawn_rotation_requests(&config, &w.store, &stopped);
    let running = tokio::spawn(Arc::clone(&w).run(stopped));
    println!("Worker {} running", w.name);
    shutdown_signal().await;
    let _ = stop.send(true);
    let _ = running.await;
    let _ = rotations.await;
    Ok(())
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// `redress intake`: the public door alone. Needs migrated storage and the two public keys.
pub async fn intake(config: Config) -> anyhow::Result<()> {
    redress_logging::spawn_hourly_report(system_clock);
    for problem in keys::misplaced_secrets(&config, Some("intake")) {
        tracing::warn!("{problem}");
    }
    let store = connect(&config).await?;
    run_intake(&config, store).await
}

async fn run_intake(config: &Config, store: Store) -> anyhow::Result<()> {
    let door = start_intake_door(config, store).await?;
    run_doors(vec![door]).await
}

async fn start_intake_door(config: &Config, store: Store) -> anyhow::Result<Door> {
    let addr = config.intake_addr().map_err(anyhow::Error::msg)?;
    let state = intake_state(config, store, &Overrides::default()).await?;
    let (reports, uploads) = state.gate.capacity();
    let needed = open_files_needed(&GateSizes::for_counts(reports, uploads));
    if let Err(problem) = raise_open_files_limit(needed) {
        tracing::warn!("{problem}");
    }
    let running = start_intake(addr, state, default_workers())?;
    println!("Intake listening on http://{}/", running.addr);
    Ok(running.door())
}

/// Where setup links point: `mail.portal_base_url`, else the portal's listen address.
pub fn portal_link_base(config: &Config) -> String {
    match config.mail.portal_base_url.trim().trim_end_matches('/') {
        "" => format!("http://{}", config.portal.listen),
        base => base.to_owned(),
    }
}

fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 8))
}

/// Says how to make the first portal administrator while there is none.
async fn announce_first_admin(store: &Store) {
    if let Ok(0) = store.active_accounts_with_role(redress_domain::Role::Admin).await {
        println!(
            "No portal administrator yet: run `redress admin invite YOU@EXAMPLE.ORG --role admin` \
             and open the link it prints."
        );
    }
}

fn announce(config: &Config, boot: &keys::Bootstrap) {
    println!("Data folder: {}", config.data_dir.display());
    if let Some(p) = &boot.triage_created {
        println!("Created the triage identity: {}", p.display());
    }
    if let Some(p) = &boot.recovery_written {
        let line = "!".repeat(78);
        println!("{line}");
        println!("!! The RECOVERY identity was written to:");
        println!("!!   {}", p.display());
        println!("!! It opens every report. Copy it to offline storage NOW (paper, or an");
        println!("!! encrypted drive kept offline), then delete it from this machine.");
        println!("!! Without it, reports cannot be recovered if investigators lose access.");
        println!("{line}");
    }
}
