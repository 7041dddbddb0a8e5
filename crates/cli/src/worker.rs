//! Wiring for the triage worker: key files, rules, indicators and mail from the
//! configuration.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use redress_indicators::IndicatorSet;
use redress_store::Store;
use redress_worker::{FingerprintKey, Rules, Worker, WorkerSettings};

use crate::config::{Config, non_empty};

const BUILTIN_RULES: &str = include_str!("../../../config/triage.toml");

pub fn rules(config: &Config) -> anyhow::Result<Rules> {
    let text = match non_empty(&config.worker.rules_file) {
        Some(path) => {
            std::fs::read_to_string(path).with_context(|| format!("reading triage rules {path}"))?
        }
        None => BUILTIN_RULES.to_owned(),
    };
    Ok(Rules::from_toml(&text)?)
}

pub fn indicators(config: &Config, now: i64) -> anyhow::Result<IndicatorSet> {
    let Some(dir) = non_empty(&config.worker.indicators_dir) else {
        return Ok(IndicatorSet::default());
    };
    let now = time::OffsetDateTime::from_unix_timestamp(now).context("clock")?;
    let (set, report) = IndicatorSet::load_dir(Path::new(dir), now)
        .with_context(|| format!("loading indicators from {dir}"))?;
    tracing::info!(
        bundles = report.bundles,
        indicators = report.indicators,
        files_not_loaded = report.not_loaded.len(),
        skipped = report.skipped.len(),
        "indicators loaded"
    );
    // Every file, so that an operator who dropped a bundle into the folder learns why it
    // is not used. The cause (an I/O error, where the JSON breaks off) says what to fix.
    for file in &report.not_loaded {
        let cause = std::error::Error::source(&file.reason).map(ToString::to_string);
        tracing::warn!(
            file = %file.source,
            reason = %file.reason,
            cause = cause.as_deref(),
            "indicator file not loaded"
        );
    }
    for s in report.skipped.iter().take(20) {
        tracing::warn!(indicator = ?s.id, reason = ?s.reason, "indicator skipped");
    }
    Ok(set)
}

/// Makes the fingerprint key if it is missing and nothing has been fingerprinted yet (a
/// data folder from before the worker existed). Once fingerprints are stored, a new key
/// would silently stop new cases from linking to old ones, so a missing key is an error.
pub async fn ensure_fingerprint_key(config: &Config, store: &Store) -> anyhow::Result<()> {
    let path = config.fingerprint_key_path();
    if path.exists() {
        return Ok(());
    }
    if store.fingerprint_count().await? > 0 {
        anyhow::bail!(
            "fingerprint key {} is missing, and cases were fingerprinted with it: restore it from backup",
            path.display()
        );
    }
    crate::keys::create_key_file(&path)?;
    println!("Created the fingerprint key: {}", path.display());
    Ok(())
}

/// Reads and checks the fingerprint key file.
pub fn fingerprint_key(config: &Config) -> anyhow::Result<FingerprintKey> {
    let key = crate::keys::read_key_file(&config.fingerprint_key_path(), "the fingerprint key")?;
    Ok(FingerprintKey::new(*key))
}

/// Builds the worker from configuration. `clock` is Unix seconds.
pub fn build(
    config: &Config,
    store: Store,
    clock: Arc<dyn Fn() -> i64 + Send + Sync>,
) -> anyhow::Result<Worker> {
    let files = config.clone();
    let triage =
        redress_worker::TriageKeys::reloading(Box::new(move || crate::rotate::triage_identities(&files)))
            .map_err(anyhow::Error::msg)?;
    let mailer = match non_empty(&config.mail.smtp_url) {
        Some(_) => Some(redress_mail::Mailer::new(&config.mail)?),
        None => None,
    };
    let w = &config.worker;
    let settings = WorkerSettings {
        concurrency: w.concurrency.max(1),
        poll_interval: Duration::from_millis(w.poll_interval_ms.max(10)),
        lease_secs: w.lease_secs.max(2),
        max_inspect_bytes: w.max_inspect_mib * 1024 * 1024,
        related_listed: w.related_listed,
        message_id_domain: config.message_id_domain().to_owned(),
        ..WorkerSettings::default()
    };
    Ok(Worker {
        blobs: config.blob_store(&store)?,
        store,
        triage,
        fingerprint_key: fingerprint_key(config)?,
        rules: rules(config)?,
        indicators: indicators(config, clock())?,
        mailer,
        settings,
        clock,
        name: format!("worker-{}", uuid::Uuid::new_v4().simple()),
    })
}
