use redress_domain::{CaseId, CaseRef, CaseState, ObjectId, ObjectKind};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectOptions, ConnectionTrait, Database,
    DatabaseConnection, DbBackend, EntityTrait, PaginatorTrait, QueryFilter, SqlErr, TransactionTrait,
};
use sea_orm_migration::MigratorTrait;

use crate::StoreError;
use crate::entity::{case, case_object, key_wrap, receipt, setting};
use crate::migration::Migrator;

/// Which of a case's two secrets a wrap holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    Case,
    Thread,
}

impl KeyKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Case => "case",
            Self::Thread => "thread",
        }
    }
}

/// Who a wrap is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HolderKind {
    Triage,
    Recovery,
    Investigator,
    /// The thread secret, wrapped to the case key.
    CaseKey,
    /// The thread secret, wrapped to the receipt-derived key.
    Reporter,
}

impl HolderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Triage => "triage",
            Self::Recovery => "recovery",
            Self::Investigator => "investigator",
            Self::CaseKey => "case_key",
            Self::Reporter => "reporter",
        }
    }
}

/// Which key of the case an object is sealed to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SealedTo {
    Thread,
    Case,
}

impl SealedTo {
    fn as_str(self) -> &'static str {
        match self {
            Self::Thread => "thread",
            Self::Case => "case",
        }
    }
}

#[derive(Debug)]
pub struct NewWrap {
    pub key_kind: KeyKind,
    pub holder_kind: HolderKind,
    pub holder_id: Option<String>,
    pub holder_recipient: String,
    pub ciphertext: Vec<u8>,
}

#[derive(Debug)]
pub struct NewObject {
    pub id: ObjectId,
    pub kind: ObjectKind,
    pub sealed_to: SealedTo,
    pub ciphertext_bytes: u64,
}

#[derive(Debug)]
pub struct NewReceipt {
    pub lookup: [u8; 32],
    pub kdf_salt: Vec<u8>,
    pub kdf_m_kib: u32,
    pub kdf_t: u32,
    pub kdf_p: u32,
}

/// Everything a submission writes to the database, committed in one transaction.
#[derive(Debug)]
pub struct NewCase {
    pub id: CaseId,
    pub questionnaire_version: u32,
    pub received_at: i64,
    pub case_recipient: String,
    pub thread_recipient: String,
    pub wraps: Vec<NewWrap>,
    pub objects: Vec<NewObject>,
    pub receipt: NewReceipt,
    /// Work the case needs (its triage), enqueued in the same transaction so that a
    /// committed case always has it. Times in these rows should be `received_at`.
    pub jobs: Vec<crate::NewJob>,
}

/// A case as stored (public metadata only).
#[derive(Clone, Debug)]
pub struct StoredCase {
    pub id: CaseId,
    pub case_ref: CaseRef,
    pub state: CaseState,
    pub received_at: i64,
    pub questionnaire_version: u32,
    pub case_recipient: String,
    pub thread_recipient: String,
    pub triaged: bool,
    pub priority: Option<String>,
    pub ack_due: Option<i64>,
    pub feedback_due: Option<i64>,
    pub deadline_flag: String,
}

/// The database. Cheap to clone (a connection pool).
#[derive(Clone, Debug)]
pub struct Store {
    db: DatabaseConnection,
}

impl Store {
    /// Connects to `sqlite://…` or `postgres://…`. SQLite files are created if missing and
    /// put in WAL mode so readers do not block the writer.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let sqlite = url.starts_with("sqlite:");
        if !(sqlite || url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(StoreError::UnsupportedUrl);
        }
        let mut opts = ConnectOptions::new(url.to_owned());
        opts.sqlx_logging(false);
        if sqlite {
            opts.map_sqlx_sqlite_opts(|o| {
                o.create_if_missing(true)
                    .journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                    .foreign_keys(true)
                    .busy_timeout(std::time::Duration::from_secs(10))
                    // Deleted rows (a triage wrap after hand-over) are
                    // overwritten, not left in free pages.
                    .pragma("secure_delete", "on")
            });
        }
        let db = Database::connect(opts).await?;
        Ok(Self { db })
    }

    pub fn backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }

    pub fn connection(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Applies pending migrations. Run it from one process at a time (`redress migrate`
    /// before starting several web processes); migrations are not locked against each
    /// other.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        Migrator::up(&self.db, None).await?;
        Ok(())
    }

    /// Returns the setting `key`, creating it with `init()` if absent. Concurrent callers
    /// all end up with the first value written.
    pub async fn setting_or_init(
        &self,
        key: &str,
        init: impl FnOnce() -> Vec<u8>,
    ) -> Result<Vec<u8>, StoreError> {
        if let Some(s) = setting::Entity::find_by_id(key.to_owned()).one(&self.db).await? {
            return Ok(s.value);
        }
        let row = setting::ActiveModel {
            key: Set(key.to_owned()),
            value: Set(init()),
        };
        match row.insert(&self.db).await {
            Ok(m) => Ok(m.value),
            Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                setting::Entity::find_by_id(key.to_owned())
                    .one(&self.db)
                    .await?
                    .map(|s| s.value)
                    .ok_or(StoreError::Corrupt("setting vanished"))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Writes a whole case (case row, wraps, object rows, receipt) atomically. The
    /// reference is drawn by `new_ref` and drawn again on the (rare) collision.
    pub async fn insert_case(
        &self,
        new: &NewCase,
        mut new_ref: impl FnMut() -> CaseRef,
    ) -> Result<CaseRef, StoreError> {
        for _ in 0..5 {
            let case_ref = new_ref();
            match self.insert_case_once(new, &case_ref).await {
                Ok(()) => return Ok(case_ref),
                // Only a taken reference is worth another draw; any other conflict is an
                // error of the caller's.
                Err(StoreError::Db(e)) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(m)) if m.contains("case_ref")) =>
                {
                    continue;
                }
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Corrupt("could not draw a free case reference"))
    }

    async fn insert_case_once(&self, new: &NewCase, case_ref: &CaseRef) -> Result<(), StoreError> {
        let case_id = new.id.to_string();
        let txn = self.db.begin().await?;
        case::ActiveModel {
            id: Set(case_id.clone()),
            case_ref: Set(case_ref.as_str().to_owned()),
            state: Set(CaseState::Received.as_str().to_owned()),
            questionnaire_version: Set(to_i32(new.questionnaire_version)?),
            received_at: Set(new.received_at),
            case_recipient: Set(new.case_recipient.clone()),
            thread_recipient: Set(new.thread_recipient.clone()),
            triaged: Set(false),
            priority: Set(None),
            ack_due: Set(None),
            feedback_due: Set(None),
            deadline_flag: Set("ok".to_owned()),
        }
        .insert(&txn)
        .await?;
        insert_wraps(&txn, &case_id, &new.wraps).await?;
        insert_objects(&txn, &case_id, &new.objects).await?;
        let r = &new.receipt;
        receipt::ActiveModel {
            lookup: Set(hex::encode(r.lookup)),
            case_id: Set(case_id),
            kdf_salt: Set(r.kdf_salt.clone()),
            kdf_m_kib: Set(to_i32(r.kdf_m_kib)?),
            kdf_t: Set(to_i32(r.kdf_t)?),
            kdf_p: Set(to_i32(r.kdf_p)?),
        }
        .insert(&txn)
        .await?;
        for job in &new.jobs {
            crate::queue::enqueue_on(&txn, job, new.received_at).await?;
        }
        txn.commit().await?;
        Ok(())
    }

    pub async fn case_exists(&self, id: CaseId) -> Result<bool, StoreError> {
        Ok(case::Entity::find_by_id(id.to_string()).count(&self.db).await? > 0)
    }

    pub async fn case_count(&self) -> Result<u64, StoreError> {
        Ok(case::Entity::find().count(&self.db).await?)
    }

    pub async fn cases(&self) -> Result<Vec<StoredCase>, StoreError> {
        case::Entity::find()
            .all(&self.db)
            .await?
            .into_iter()
            .map(stored_case)
            .collect()
    }

    pub async fn case_by_ref(&self, case_ref: &CaseRef) -> Result<Option<StoredCase>, StoreError> {
        case::Entity::find()
            .filter(case::Column::CaseRef.eq(case_ref.as_str()))
            .one(&self.db)
            .await?
            .map(stored_case)
            .transpose()
    }

    /// The wraps of one case for one key, optionally only one holder kind.
    pub async fn wraps(
        &self,
        case: CaseId,
        key_kind: KeyKind,
        holder: HolderKind,
    ) -> Result<Vec<key_wrap::Model>, StoreError> {
        Ok(key_wrap::Entity::find()
            .filter(key_wrap::Column::CaseId.eq(case.to_string()))
            .filter(key_wrap::Column::KeyKind.eq(key_kind.as_str()))
            .filter(key_wrap::Column::HolderKind.eq(holder.as_str()))
            .all(&self.db)
            .await?)
    }

    pub async fn objects(&self, case: CaseId) -> Result<Vec<(ObjectId, ObjectKind)>, StoreError> {
        case_object::Entity::find()
            .filter(case_object::Column::CaseId.eq(case.to_string()))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|o| {
                let id = ObjectId::parse(&o.id).ok_or(StoreError::Corrupt("object id"))?;
                let kind = ObjectKind::parse(&o.kind).ok_or(StoreError::Corrupt("object kind"))?;
                Ok((id, kind))
            })
            .collect()
    }

    pub async fn object_count(&self) -> Result<u64, StoreError> {
        Ok(case_object::Entity::find().count(&self.db).await?)
    }

    /// Which of `ids` have a row.
    pub async fn existing_objects(
        &self,
        ids: &[ObjectId],
    ) -> Result<std::collections::HashSet<ObjectId>, StoreError> {
        let keys: Vec<String> = ids.iter().map(ToString::to_string).collect();
        Ok(case_object::Entity::find()
            .filter(case_object::Column::Id.is_in(keys))
            .all(&self.db)
            .await?
            .into_iter()
            .filter_map(|o| ObjectId::parse(&o.id))
            .collect())
    }

    /// Finds the receipt row for a lookup value.
    pub async fn receipt(&self, lookup: &[u8; 32]) -> Result<Option<receipt::Model>, StoreError> {
        Ok(receipt::Entity::find_by_id(hex::encode(lookup))
            .one(&self.db)
            .await?)
    }
}

fn to_i32(v: u32) -> Result<i32, StoreError> {
    i32::try_from(v).map_err(|_| StoreError::Corrupt("value out of range"))
}

pub(crate) fn stored_case(m: case::Model) -> Result<StoredCase, StoreError> {
    Ok(StoredCase {
        id: CaseId::parse(&m.id).ok_or(StoreError::Corrupt("case id"))?,
        case_ref: CaseRef::parse(&m.case_ref).ok_or(StoreError::Corrupt("case ref"))?,
        state: CaseState::parse(&m.state).ok_or(StoreError::Corrupt("case state"))?,
        received_at: m.received_at,
        questionnaire_version: u32::try_from(m.questionnaire_version)
            .map_err(|_| StoreError::Corrupt("version"))?,
        case_recipient: m.case_recipient,
        thread_recipient: m.thread_recipient,
        triaged: m.triaged,
        priority: m.priority,
        ack_due: m.ack_due,
        feedback_due: m.feedback_due,
        deadline_flag: m.deadline_flag,
    })
}

pub(crate) async fn insert_wraps<C: ConnectionTrait>(
    db: &C,
    case_id: &str,
    wraps: &[NewWrap],
) -> Result<(), StoreError> {
    for w in wraps {
        key_wrap::ActiveModel {
            id: Set(uuid::Uuid::new_v4().to_string()),
            case_id: Set(case_id.to_owned()),
            key_kind: Set(w.key_kind.as_str().to_owned()),
            holder_kind: Set(w.holder_kind.as_str().to_owned()),
            holder_id: Set(w.holder_id.clone()),
            holder_recipient: Set(w.holder_recipient.clone()),
            ciphertext: Set(w.ciphertext.clone()),
        }
        .insert(db)
        .await?;
    }
    Ok(())
}

pub(crate) async fn insert_objects<C: ConnectionTrait>(
    db: &C,
    case_id: &str,
    objects: &[NewObject],
) -> Result<(), StoreError> {
    for o in objects {
        case_object::ActiveModel {
            id: Set(o.id.to_string()),
            case_id: Set(case_id.to_owned()),
            kind: Set(o.kind.as_str().to_owned()),
            sealed_to: Set(o.sealed_to.as_str().to_owned()),
            ciphertext_bytes: Set(i64::try_from(o.ciphertext_bytes).map_err(|_| StoreError::Corrupt("size"))?),
        }
        .insert(db)
        .await?;
    }
    Ok(())
}
