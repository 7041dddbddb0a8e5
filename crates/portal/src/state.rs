use std::collections::HashMap;
use std::sync::Arc;

use redress_crypto::{KdfParams, SecretIdentity, wrap_identity};
use redress_domain::Questionnaire;
use redress_keychain::status::HostKeys;
use redress_store::{BlobStore, Store};
use redress_web::{CsrfKeys, FlashSealer, Messages, WebSecrets};
use tokio::sync::Semaphore;

use crate::Access;

/// The portal's settings, from `[portal]` of the configuration.
#[derive(Clone, Debug)]
pub struct PortalSettings {
    /// Mark cookies `Secure` and give them the `__Host-` prefix (served over HTTPS).
    pub secure_cookies: bool,
    /// A session ends after this long without a request…
    pub session_idle_secs: i64,
    /// …and this long after the login, whatever the activity.
    pub session_absolute_secs: i64,
    /// Failed logins across every address in one minute, after which the portal takes
    /// no more attempts until the next minute.
    pub failed_logins_per_minute: u32,
    /// An address waits (30 s, doubling, at most 15 min) after this many failures…
    pub backoff_after: u32,
    /// …and is locked, until an admin unlocks it, after this many.
    pub lockout_after: u32,
    /// How long a setup link made on the admin page works.
    pub invitation_hours: u32,
    /// Where setup links point: `portal_base_url`, or `http://` + the listen address.
    pub link_base: String,
    /// The teams routing gives cases to, and its fallback team: shown beside the
    /// invitation form.
    pub routed_teams: Vec<String>,
    pub fallback_team: String,
    /// Feedback is due this long after the acknowledgement (the triage rules'
    /// `deadlines.feedback_days`), and a deadline is "due soon" this long before it.
    pub feedback_secs: i64,
    pub due_soon_secs: i64,
    /// The labels cases may carry.
    pub labels: Vec<String>,
    /// Cases on a page of the case list.
    pub cases_per_page: u64,
    /// The domain of the Message-IDs of emails the portal queues.
    pub message_id_domain: String,
    /// Wraps moved per transaction when a person replaces their key (ADR 0033).
    pub key_batch: u64,
}

impl Default for PortalSettings {
    fn default() -> Self {
        Self {
            secure_cookies: false,
            session_idle_secs: 30 * 60,
            session_absolute_secs: 8 * 3600,
            failed_logins_per_minute: 60,
            backoff_after: 5,
            lockout_after: 20,
            invitation_hours: 72,
            link_base: "http://127.0.0.1:8081".into(),
            routed_teams: Vec::new(),
            fallback_team: "triage-desk".into(),
            feedback_secs: 90 * 86_400,
            due_soon_secs: 2 * 86_400,
            labels: Vec::new(),
            cases_per_page: 50,
            message_id_domain: "redress.invalid".into(),
            key_batch: 200,
        }
    }
}

/// What a login with an unknown address is checked against, so that it costs what a
/// known one costs (ADR 0022): a salt and an identity wrap that no password opens.
pub(crate) struct Decoy {
    pub salt: [u8; 16],
    pub wrap: Vec<u8>,
}

/// The key derivations of logins, setups, password changes and exports' passphrases:
/// each holds the KDF's memory while it runs, so only `slots` run at once and at most
/// `queue` wait.
pub(crate) struct KdfGate {
    pub slots: Semaphore,
    pub queue: Semaphore,
}

impl KdfGate {
    /// Runs `derive` on a blocking thread once a slot is free; refused at once (busy)
    /// when the queue is full.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        derive: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, crate::forms::Failure> {
        use crate::forms::Failure;
        let _queued = self.queue.try_acquire().map_err(|_| Failure::Busy)?;
        let _slot = self.slots.acquire().await.map_err(|_| Failure::Busy)?;
        Ok(tokio::task::spawn_blocking(derive).await?)
    }
}

/// What the portal is built from, besides its secret.
pub struct PortalParts {
    pub service_name: String,
    pub store: Store,
    /// Where case objects are read from (the portal never writes a blob).
    pub blobs: BlobStore,
    /// For the labels of the products reporters chose.
    pub questionnaire: Questionnaire,
    pub messages: Messages,
    /// Argon2id cost for new password keys; stored with each account.
    pub password_kdf: KdfParams,
    pub settings: PortalSettings,
    /// Unix seconds. A parameter so tests can move time.
    pub clock: Arc<dyn Fn() -> i64 + Send + Sync>,
    /// What this host holds outside the database (the public keys it publishes, the
    /// portal secret's file), read afresh for each view of the key page.
    pub host_keys: Arc<dyn Fn() -> HostKeys + Send + Sync>,
}

impl std::fmt::Debug for PortalParts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PortalParts").finish_non_exhaustive()
    }
}

/// Shared state of the portal door.
pub struct PortalState {
    pub service_name: String,
    pub store: Store,
    pub blobs: BlobStore,
    pub questionnaire: Questionnaire,
    pub messages: Messages,
    /// CSRF tokens of pages anyone may load (the login, setup).
    pub(crate) csrf: CsrfKeys,
    /// CSRF tokens of pages served to someone signed in: only a form carrying one is
    /// kept when its session has ended, so nobody without an account can store
    /// anything (ADR 0022).
    pub(crate) staff_csrf: CsrfKeys,
    pub(crate) flash: FlashSealer,
    /// Argon2id cost for new password keys; stored with each account.
    pub password_kdf: KdfParams,
    pub settings: PortalSettings,
    pub(crate) kdf: KdfGate,
    pub(crate) decoy: Decoy,
    /// Every route's rule, by its path pattern (from [`crate::endpoints`]).
    pub(crate) access: HashMap<&'static str, Access>,
    /// Unix seconds. A parameter so tests can move time.
    pub clock: Arc<dyn Fn() -> i64 + Send + Sync>,
    pub(crate) host_keys: Arc<dyn Fn() -> HostKeys + Send + Sync>,
}

impl PortalState {
    /// The portal's state. `secrets` are the portal's own (the file `portal.secret`, and
    /// after a rotation the one before it, ADR 0031): its cookies and CSRF tokens are
    /// bound to them, and the intake never reads them.
    pub fn new(parts: PortalParts, secrets: &WebSecrets) -> Result<Self, redress_crypto::CryptoError> {
        let PortalParts {
            service_name,
            store,
            blobs,
            questionnaire,
            messages,
            password_kdf,
            settings,
            clock,
            host_keys,
        } = parts;
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let nobody = SecretIdentity::generate().public();
        let decoy = Decoy {
            salt: rand::random(),
            wrap: wrap_identity(&SecretIdentity::generate(), &nobody)?,
        };
        Ok(Self {
            service_name,
            store,
            blobs,
            questionnaire,
            messages,
            csrf: secrets.csrf_keys("portal-csrf"),
            staff_csrf: secrets.csrf_keys("portal-staff-csrf"),
            flash: secrets.flash_sealer("portal-flash"),
            password_kdf,
            settings,
            kdf: KdfGate {
                slots: Semaphore::new(cores),
                queue: Semaphore::new(cores * 4),
            },
            decoy,
            access: crate::route_table()
                .into_iter()
                .map(|r| (r.path, r.access))
                .collect(),
            clock,
            host_keys,
        })
    }

    pub fn now(&self) -> i64 {
        (self.clock)()
    }

    /// A cookie's name: with the `__Host-` prefix when cookies are secure, which binds
    /// it to this host, `Secure` and path `/`.
    pub(crate) fn cookie_name(&self, base: &str) -> String {
        if self.settings.secure_cookies {
            format!("__Host-{base}")
        } else {
            base.to_owned()
        }
    }

    /// A portal cookie: for this host's whole portal (`Path=/`, which `__Host-` needs),
    /// `HttpOnly`, `SameSite=Strict`, and `Secure` when configured.
    pub(crate) fn cookie(&self, base: &str, value: String) -> actix_web::cookie::Cookie<'static> {
        redress_web::cookie(&self.cookie_name(base), value, "/", self.settings.secure_cookies).into_owned()
    }

    /// The cookie that makes the browser forget `base`.
    pub(crate) fn cookie_removal(&self, base: &str) -> actix_web::cookie::Cookie<'static> {
        let mut c = self.cookie(base, String::new());
        c.make_removal();
        c
    }
}

impl std::fmt::Debug for PortalState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PortalState")
            .field("settings", &self.settings)
            .field("password_kdf", &self.password_kdf)
            .finish_non_exhaustive()
    }
}
