//! Typed, layered configuration: built-in defaults → `config/redress.toml` (or
//! `--config FILE`) → `REDRESS_*` environment variables. Unknown keys are an error.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use redress_crypto::KdfParams;
use serde::{Deserialize, Serialize};

/// The file read when `--config` is not given (if it exists).
pub const DEFAULT_CONFIG_FILE: &str = "config/redress.toml";

/// `REDRESS_*` variables that belong to the test harness, not to the configuration.
const NOT_CONFIG_ENV: [&str; 4] = ["TEST_DATABASE_URL", "TEST_BLOB_BACKEND", "REQUIRE_ALL", "CONFIG"];

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub data_dir: PathBuf,
    /// The data folder is shared, through its group, by processes of different users.
    pub shared_with_group: bool,
    pub service_name: String,
    pub database: DatabaseConfig,
    pub blobs: BlobsConfig,
    pub intake: IntakeConfig,
    pub portal: PortalConfig,
    pub limits: LimitsConfig,
    pub keys: KeysConfig,
    pub receipt_kdf: KdfParams,
    pub questionnaire: QuestionnaireConfig,
    pub worker: WorkerConfig,
    pub mail: redress_mail::MailConfig,
    pub log: LogConfig,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkerConfig {
    pub concurrency: usize,
    pub poll_interval_ms: u64,
    pub lease_secs: i64,
    pub rules_file: String,
    pub indicators_dir: String,
    pub fingerprint_key_file: String,
    pub max_inspect_mib: u64,
    pub related_listed: usize,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            concurrency: 2,
            poll_interval_ms: 250,
            lease_secs: 300,
            rules_file: String::new(),
            indicators_dir: String::new(),
            fingerprint_key_file: String::new(),
            max_inspect_mib: 64,
            related_listed: 10,
        }
    }
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    pub url: String,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct BlobsConfig {
    pub backend: BlobBackend,
}

/// Where evidence and every other object is kept (ADR 0019).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BlobBackend {
    /// Files under `data_dir/blobs`: one host (or a shared file system).
    #[default]
    Folder,
    /// Rows of the PostgreSQL database: processes on several hosts share nothing else.
    Postgres,
}

impl BlobBackend {
    /// The name in the configuration (`blobs.backend`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Folder => "folder",
            Self::Postgres => "postgres",
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct IntakeConfig {
    pub listen: String,
    pub secure_cookies: bool,
    pub report_memory_mib: u64,
    pub upload_memory_mib: u64,
    pub admission_sample_secs: u64,
    pub kdf_concurrency: usize,
    pub min_free_disk_mib: u64,
    pub upload_idle_timeout_secs: u64,
    pub min_upload_rate_bytes_per_sec: u64,
    pub min_upload_rate_window_secs: u64,
    pub max_upload_secs: u64,
    pub form_max_age_secs: i64,
    /// Receipt look-ups per minute on the follow-up door, for the whole process; a
    /// right receipt gives its look-up back (ADR 0028).
    pub followup_lookups_per_minute: u32,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PortalConfig {
    pub listen: String,
    /// The portal's cookie and CSRF secret (32 bytes in hex, 0600). Its own file, so
    /// the intake, which never reads it, cannot forge anything of the portal's.
    pub secret_file: String,
    /// Mark cookies `Secure`, with the `__Host-` prefix (served over HTTPS).
    pub secure_cookies: bool,
    /// A session ends after this many minutes without a request…
    pub session_idle_mins: i64,
    /// …and this many hours after the login.
    pub session_hours: i64,
    /// Failed logins across all addresses in a minute before the portal takes no more
    /// until the next minute.
    pub failed_logins_per_minute: u32,
    /// How long an invitation's setup link works.
    pub invitation_hours: u32,
    /// Argon2id cost of password keys; stored with each account.
    pub password_kdf: KdfParams,
    /// The labels investigators may put on cases (lowercase letters, digits, dashes).
    pub labels: Vec<String>,
    /// Cases on a page of the case list.
    pub cases_per_page: u64,
    /// Wraps moved per transaction when a person replaces their key (ADR 0033).
    pub key_batch: u64,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    pub max_file_mib: u64,
    pub max_report_mib: u64,
    pub max_files: usize,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeysConfig {
    pub triage_recipient: String,
    pub recovery_recipient: String,
    pub triage_identity_file: String,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct QuestionnaireConfig {
    pub file: String,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    pub format: String,
    pub level: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./data"),
            shared_with_group: false,
            service_name: "Redress".into(),
            database: DatabaseConfig::default(),
            blobs: BlobsConfig::default(),
            intake: IntakeConfig::default(),
            portal: PortalConfig::default(),
            limits: LimitsConfig::default(),
            keys: KeysConfig::default(),
            receipt_kdf: KdfParams::default(),
            questionnaire: QuestionnaireConfig::default(),
            worker: WorkerConfig::default(),
            mail: redress_mail::MailConfig::default(),
            log: LogConfig::default(),
        }
    }
}

impl Default for IntakeConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            secure_cookies: false,
            report_memory_mib: 48,
            upload_memory_mib: 192,
            admission_sample_secs: 60,
            kdf_concurrency: 0,
            min_free_disk_mib: 1024,
            upload_idle_timeout_secs: 120,
            min_upload_rate_bytes_per_sec: 1024,
            min_upload_rate_window_secs: 120,
            max_upload_secs: 6 * 3600,
            form_max_age_secs: 86_400,
            followup_lookups_per_minute: 30,
        }
    }
}

impl Default for PortalConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8081".into(),
            secret_file: String::new(),
            secure_cookies: false,
            session_idle_mins: 30,
            session_hours: 8,
            failed_logins_per_minute: 60,
            invitation_hours: 72,
            labels: [
                "needs-forensics",
                "needs-translation",
                "legal-review",
                "escalated",
                "waiting-on-customer",
            ]
            .map(String::from)
            .to_vec(),
            cases_per_page: 50,
            key_batch: 200,
            password_kdf: KdfParams::default(),
        }
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_file_mib: 512,
            max_report_mib: 2048,
            max_files: 100,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: "text".into(),
            level: "info".into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration file {0} does not exist")]
    MissingFile(PathBuf),
    #[error("configuration: {0}")]
    Invalid(String),
}

impl Config {
    /// Loads the configuration from `file` (or the default file, if present) and the
    /// environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        match file {
            Some(f) if !f.exists() => return Err(ConfigError::MissingFile(f.to_owned())),
            Some(f) => fig = fig.merge(Toml::file_exact(f)),
            None if Path::new(DEFAULT_CONFIG_FILE).exists() => {
                fig = fig.merge(Toml::file_exact(DEFAULT_CONFIG_FILE))
            }
            None => {}
        }
        fig = fig.merge(Env::prefixed("REDRESS_").ignore(&NOT_CONFIG_ENV).split("__"));
        fig.extract().map_err(|e| {
            let messages: Vec<String> = e.into_iter().map(|e| e.to_string()).collect();
            ConfigError::Invalid(messages.join("; "))
        })
    }

    pub fn database_url(&self) -> String {
        if self.database.url.trim().is_empty() {
            format!("sqlite://{}?mode=rwc", self.data_dir.join("redress.db").display())
        } else {
            self.database.url.trim().to_owned()
        }
    }

    pub fn blob_dir(&self) -> PathBuf {
        self.data_dir.join("blobs")
    }

    /// Refuses a blob backend the database cannot carry: blobs in the database need
    /// PostgreSQL (SQLite's single writer would hold every upload's pieces up behind
    /// each other and behind every case).
    pub fn check_blob_backend(&self) -> Result<(), String> {
        if self.blobs.backend == BlobBackend::Postgres && self.database_url().starts_with("sqlite:") {
            return Err("blobs.backend = \"postgres\" needs a PostgreSQL database: set \
                        database.url to postgres://…, or blobs.backend = \"folder\""
                .into());
        }
        Ok(())
    }

    /// The blob store this configuration names, on `store`'s database for `postgres`.
    pub fn blob_store(&self, store: &redress_store::Store) -> anyhow::Result<redress_store::BlobStore> {
        use anyhow::Context as _;
        self.check_blob_backend().map_err(anyhow::Error::msg)?;
        match self.blobs.backend {
            BlobBackend::Folder => redress_store::BlobStore::folder(self.blob_dir(), self.blob_access())
                .context("opening the blob folder"),
            BlobBackend::Postgres => {
                redress_store::BlobStore::database(store).context("opening the blob store in the database")
            }
        }
    }

    /// Who may use the blob folder: this user, or (shared) its group too.
    pub fn blob_access(&self) -> redress_store::Access {
        if self.shared_with_group {
            redress_store::Access::Group
        } else {
            redress_store::Access::Owner
        }
    }

    pub fn keys_dir(&self) -> PathBuf {
        self.data_dir.join("keys")
    }

    pub fn triage_identity_path(&self) -> PathBuf {
        non_empty(&self.keys.triage_identity_file)
            .map_or_else(|| self.keys_dir().join("triage.key"), PathBuf::from)
    }

    pub fn fingerprint_key_path(&self) -> PathBuf {
        non_empty(&self.worker.fingerprint_key_file)
            .map_or_else(|| self.keys_dir().join("fingerprint.key"), PathBuf::from)
    }

    /// The domain of Message-IDs of the emails Redress queues (worker and portal alike).
    pub fn message_id_domain(&self) -> &str {
        non_empty(&self.mail.message_id_domain).unwrap_or("redress.invalid")
    }

    pub fn portal_secret_path(&self) -> PathBuf {
        non_empty(&self.portal.secret_file)
            .map_or_else(|| self.keys_dir().join("portal.secret"), PathBuf::from)
    }

    pub fn intake_addr(&self) -> Result<SocketAddr, String> {
        parse_listen("intake.listen", &self.intake.listen)
    }

    pub fn portal_addr(&self) -> Result<SocketAddr, String> {
        parse_listen("portal.listen", &self.portal.listen)
    }
}

pub fn non_empty(s: &str) -> Option<&str> {
    let s = s.trim();
    (!s.is_empty()).then_some(s)
}

fn parse_listen(key: &str, value: &str) -> Result<SocketAddr, String> {
    value
        .parse()
        .map_err(|_| format!("{key} = {value:?} is not host:port (e.g. 127.0.0.1:8080)"))
}
