use std::sync::Arc;

use redress_crypto::{CryptoError, KdfParams, PublicKey, Receipt, ReceiptKeys};
use redress_domain::Questionnaire;
use redress_store::{BlobStore, Store};
use redress_web::{CsrfKeys, FlashSealer, Messages};
use tokio::sync::Semaphore;

use crate::admission::UploadGate;

/// The only keys the public door holds: public halves. A type with no room for an
/// identity is how "intake cannot open what it stores" is kept true.
#[derive(Clone, Debug)]
pub struct IntakeKeys {
    pub triage: PublicKey,
    pub recovery: PublicKey,
}

/// Reads the public keys from where they are kept (files or configuration).
pub type LoadKeys = Box<dyn Fn() -> Result<IntakeKeys, String> + Send + Sync>;

/// How often a running intake reads its public keys again: a rotation reaches every
/// door within this long (ADR 0030).
pub const KEY_RELOAD_SECS: u64 = 5;

/// The public keys this intake seals new cases to, read again every
/// [`KEY_RELOAD_SECS`], so a rotated triage or recovery key is used without a restart.
pub struct KeyWatch {
    current: std::sync::RwLock<IntakeKeys>,
    load: Option<LoadKeys>,
}

impl std::fmt::Debug for KeyWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyWatch")
            .field("current", &self.current())
            .finish_non_exhaustive()
    }
}

impl KeyWatch {
    /// Keys read by `load` now and on every reload.
    pub fn reloading(load: LoadKeys) -> Result<Self, String> {
        Ok(Self {
            current: std::sync::RwLock::new(load()?),
            load: Some(load),
        })
    }

    /// Keys that never change.
    pub fn fixed(keys: IntakeKeys) -> Self {
        Self {
            current: std::sync::RwLock::new(keys),
            load: None,
        }
    }

    /// The keys to seal a new case to now.
    pub fn current(&self) -> IntakeKeys {
        self.current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Reads the keys again. True if they changed. Keys that cannot be read (a file
    /// being replaced, say) leave the current ones in use.
    pub fn reload(&self) -> Result<bool, String> {
        let Some(load) = &self.load else {
            return Ok(false);
        };
        let fresh = load()?;
        let mut current = self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let changed = current.triage != fresh.triage || current.recovery != fresh.recovery;
        *current = fresh;
        Ok(changed)
    }
}

/// Bounds enforced while a submission streams in.
#[derive(Clone, Debug)]
pub struct IntakeLimits {
    pub max_file_bytes: u64,
    pub max_report_bytes: u64,
    pub max_files: usize,
    /// Below this many free bytes on the blob folder's file system, refuse new reports.
    pub min_free_bytes: u64,
    /// An upload that sends nothing for this long is dropped.
    pub idle_timeout: std::time::Duration,
    /// In every `min_rate_window`, an upload must average at least this many bytes a
    /// second.
    pub min_rate_bytes_per_sec: u64,
    pub min_rate_window: std::time::Duration,
    /// An upload, however steady, must be done within this long.
    pub max_upload_duration: std::time::Duration,
    /// How long a report form stays usable.
    pub form_max_age_secs: i64,
}

/// Shared state of the intake door.
pub struct IntakeState {
    pub service_name: String,
    pub store: Store,
    pub blobs: BlobStore,
    pub keys: KeyWatch,
    pub questionnaire: Questionnaire,
    pub messages: Messages,
    pub csrf: CsrfKeys,
    pub flash: FlashSealer,
    pub receipt_salt: Vec<u8>,
    pub kdf: KdfParams,
    pub limits: IntakeLimits,
    /// Mark cookies `Secure` (the site is served over HTTPS).
    pub secure_cookies: bool,
    /// Which submissions are read at once.
    pub gate: Arc<UploadGate>,
    /// Receipt derivations at once: each holds `kdf.m_kib` of memory while it runs.
    pub kdf_slots: Arc<Semaphore>,
    /// Receipt look-ups per minute for the follow-up door (wrong ones spend it).
    pub lookups: Arc<crate::followup::LookupBudget>,
    /// Unix seconds. A parameter so tests can move time.
    pub clock: Arc<dyn Fn() -> i64 + Send + Sync>,
    /// The domain of the Message-IDs of the emails a follow-up message queues (never
    /// the machine's name).
    pub message_id_domain: String,
    /// This process's name in upload rows and its heartbeat (see [`crate::beat`]).
    pub process: String,
    /// The earlier (salt, parameters) receipts were derived with, and when they were
    /// read: a look-up tries them after the current ones (ADR 0001).
    pub earlier_kdf: std::sync::Mutex<Option<(i64, Vec<KdfSet>)>>,
}

/// A receipt derivation's salt and parameters.
pub type KdfSet = (Vec<u8>, KdfParams);

/// How long the list of earlier receipt parameters is used before it is read again.
const EARLIER_KDF_SECS: i64 = 60;

/// Whole mebibytes, as limits are shown to people.
pub fn mib(bytes: u64) -> String {
    (bytes / (1024 * 1024)).to_string()
}

/// An intake process counts as alive, and its uploads with it, this long after its
/// last heartbeat; it beats every third of it (ADR 0019).
pub const LEASE_SECS: i64 = 300;

/// Why a receipt's keys could not be derived. Neither carries the receipt.
#[derive(Debug, thiserror::Error)]
pub enum DeriveError {
    #[error("the receipt derivation did not run to its end")]
    Stopped,
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}

impl IntakeState {
    pub fn now(&self) -> i64 {
        (self.clock)()
    }

    /// Derives a receipt's keys with this installation's salt and parameters. Argon2id
    /// holds `kdf.m_kib` of memory for a noticeable fraction of a second: it runs off
    /// the async workers, and only so many at once ([`IntakeState::kdf_slots`]), so a
    /// burst of submissions or look-ups cannot add up to gigabytes.
    pub async fn derive_receipt_keys(&self, receipt: Receipt) -> Result<ReceiptKeys, DeriveError> {
        self.derive_receipt_keys_with(receipt, self.receipt_salt.clone(), self.kdf)
            .await
    }

    /// The same, with a salt and parameters a stored receipt was made with.
    pub async fn derive_receipt_keys_with(
        &self,
        receipt: Receipt,
        salt: Vec<u8>,
        kdf: KdfParams,
    ) -> Result<ReceiptKeys, DeriveError> {
        let slot = self
            .kdf_slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| DeriveError::Stopped)?;
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            redress_crypto::derive_receipt_keys(&receipt, &salt, &kdf)
        })
        .await
        .map_err(|_| DeriveError::Stopped)?
        .map_err(DeriveError::from)
    }

    /// Every (salt, parameters) a look-up must try, the current ones first: receipts
    /// made before the parameters were raised keep theirs (stored with each receipt).
    /// The stronger of the earlier ones come first, as the likelier newer.
    pub async fn receipt_kdf_sets(&self) -> Result<Vec<KdfSet>, redress_store::StoreError> {
        let now = self.now();
        let cached = self
            .earlier_kdf
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_ref()
            .filter(|(read_at, _)| now - read_at < EARLIER_KDF_SECS)
            .map(|(_, sets)| sets.clone());
        let earlier = match cached {
            Some(sets) => sets,
            None => {
                let current = (self.receipt_salt.clone(), self.kdf);
                let mut sets: Vec<KdfSet> = self
                    .store
                    .receipt_kdf_sets()
                    .await?
                    .into_iter()
                    .map(|(salt, m_kib, t, p)| (salt, KdfParams { m_kib, t, p }))
                    .filter(|set| *set != current)
                    .collect();
                sets.sort_by_key(|(_, k)| std::cmp::Reverse((k.m_kib, k.t, k.p)));
                *self
                    .earlier_kdf
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Some((now, sets.clone()));
                sets
            }
        };
        let mut all = vec![(self.receipt_salt.clone(), self.kdf)];
        all.extend(earlier);
        Ok(all)
    }

    /// Writes this process's heartbeat: its uploads in progress are alive for another
    /// [`LEASE_SECS`].
    /// The beat also says which keys it seals to, so a rotation knows when no door uses
    /// the old key (ADR 0030).
    pub async fn beat(&self) -> Result<(), redress_store::StoreError> {
        let keys = self.keys.current();
        self.store
            .beat_sealing(
                &self.process,
                LEASE_SECS,
                self.now(),
                &keys.triage.to_string(),
                &keys.recovery.to_string(),
            )
            .await
    }

    /// Reads the public keys again every [`KEY_RELOAD_SECS`] for as long as the process
    /// runs, and beats at once when they changed.
    pub async fn keep_watching_keys(self: Arc<Self>) {
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(KEY_RELOAD_SECS)).await;
            match self.keys.reload() {
                Ok(true) => {
                    redress_logging::count("intake", "keys_reloaded");
                    if self.beat().await.is_err() {
                        redress_logging::count("intake", "heartbeat_failed");
                    }
                }
                Ok(false) => {}
                Err(_) => redress_logging::count("intake", "keys_unreadable"),
            }
        }
    }

    /// Beats every third of the lease for as long as the process runs, and forgets
    /// follow-up sessions past their hour. A beat that fails (the database away) is
    /// counted and made at the next tick: uploads outlive a short outage, since the
    /// sweep waits an hour.
    pub async fn keep_beating(self: Arc<Self>) {
        loop {
            if self.beat().await.is_err() {
                redress_logging::count("intake", "heartbeat_failed");
            }
            if self
                .store
                .forget_ended_followup_sessions(self.now())
                .await
                .is_err()
            {
                redress_logging::count("intake", "followup_forget_failed");
            }
            tokio::time::sleep(std::time::Duration::from_secs(LEASE_SECS as u64 / 3)).await;
        }
    }

    /// A field's label, in the catalogue's language.
    pub fn field_label(&self, field: &str) -> String {
        self.messages.get(&format!("field.{field}.label")).into_owned()
    }

    /// A field's hint; the evidence hint states the upload limits in force.
    pub fn field_hint(&self, field: &str) -> String {
        let t = &self.messages;
        if field != "evidence" {
            return t.get(&format!("field.{field}.hint")).into_owned();
        }
        let l = &self.limits;
        t.fill(
            "field.evidence.hint",
            &[
                ("max_files", &l.max_files.to_string()),
                ("max_file_mib", &mib(l.max_file_bytes)),
                ("max_report_mib", &mib(l.max_report_bytes)),
            ],
        )
    }

    /// The label of one choice: products are labelled by the questionnaire, the fixed
    /// choices by the catalogue.
    pub fn choice_label(&self, field: &str, value: &str) -> String {
        let t = &self.messages;
        if field == "product" {
            return self
                .questionnaire
                .product_label(value, t.lang())
                .unwrap_or(value)
                .to_owned();
        }
        t.get(&format!("choice.{field}.{value}")).into_owned()
    }
}

impl std::fmt::Debug for IntakeState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IntakeState")
            .field("keys", &self.keys)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}
