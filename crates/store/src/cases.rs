//! Cases: the atomic insert of a new case with everything it needs, and reading cases
//! and their objects back.

use std::collections::HashSet;

use redress_domain::{
    Assessment, CaseId, CaseRef, CaseState, Deadline, DeadlineFlag, InvestigatorId, ObjectId, ObjectKind,
    Outcome, Priority, SealedTo,
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, SqlErr, TransactionTrait,
};

use crate::connection::{parsed, to_i32, to_u32};
use crate::entity::{assignment, case, case_object, receipt};
use crate::{NewJob, NewWrap, Store, StoreError};

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

/// A receipt as stored: which case it opens, and the KDF parameters it was made with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredReceipt {
    pub case_id: CaseId,
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
    pub jobs: Vec<NewJob>,
}

/// A case as stored (public metadata only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCase {
    pub id: CaseId,
    pub case_ref: CaseRef,
    pub state: CaseState,
    pub received_at: i64,
    pub questionnaire_version: u32,
    pub case_recipient: String,
    pub thread_recipient: String,
    pub triaged: bool,
    pub priority: Option<Priority>,
    pub ack_due: Option<i64>,
    pub feedback_due: Option<i64>,
    pub deadline_flag: DeadlineFlag,
    pub assessment: Option<Assessment>,
    pub outcome: Option<Outcome>,
    /// When each step was taken (staff acts: exact).
    pub acknowledged_at: Option<i64>,
    pub concluded_at: Option<i64>,
    pub feedback_given_at: Option<i64>,
    pub closed_at: Option<i64>,
}

impl StoredCase {
    /// The deadline that applies to the case now, and when it falls due.
    pub fn deadline(&self) -> Option<(Deadline, i64)> {
        let which = self.state.deadline()?;
        let due = match which {
            Deadline::Acknowledgement => self.ack_due,
            Deadline::Feedback => self.feedback_due,
        }?;
        Some((which, due))
    }
}

impl Store {
    /// Writes a whole case (case row, wraps, object rows, receipt, jobs) atomically. The
    /// reference is drawn by `new_ref` and drawn again on the (rare) collision. An error
    /// other than [`StoreError::CommitUnknown`] means nothing was written.
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
        let txn = self.connection().begin().await?;
        let row = case::ActiveModel {
            id: Set(case_id),
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
            deadline_flag: Set(DeadlineFlag::Ok.as_str().to_owned()),
            // The columns of a case's later life stay unset (NULL) and nothing is
            // read back, so this insert also works on a database that the migration
            // tests stop short of them.
            ..Default::default()
        };
        case::Entity::insert(row).exec_without_returning(&txn).await?;
        crate::wraps::insert_wraps(&txn, new.id, &new.wraps).await?;
        insert_objects(&txn, new.id, &new.objects).await?;
        let ids: Vec<ObjectId> = new.objects.iter().map(|o| o.id).collect();
        crate::uploads::end_uploads_on(&txn, &ids).await?;
        crate::receipts::insert_receipt_on(&txn, new.id, &new.receipt).await?;
        for job in &new.jobs {
            crate::queue::enqueue_on(&txn, job, new.received_at).await?;
        }
        txn.commit().await.map_err(StoreError::CommitUnknown)
    }

    pub async fn case_exists(&self, id: CaseId) -> Result<bool, StoreError> {
        Ok(case::Entity::find_by_id(id.to_string())
            .count(self.connection())
            .await?
            > 0)
    }

    pub async fn case_count(&self) -> Result<u64, StoreError> {
        Ok(case::Entity::find().count(self.connection()).await?)
    }

    pub async fn cases(&self) -> Result<Vec<StoredCase>, StoreError> {
        case::Entity::find()
            .all(self.connection())
            .await?
            .into_iter()
            .map(stored_case)
            .collect()
    }

    pub async fn case_by_ref(&self, case_ref: &CaseRef) -> Result<Option<StoredCase>, StoreError> {
        case::Entity::find()
            .filter(case::Column::CaseRef.eq(case_ref.as_str()))
            .one(self.connection())
            .await?
            .map(stored_case)
            .transpose()
    }

    pub async fn case_by_id(&self, id: CaseId) -> Result<Option<StoredCase>, StoreError> {
        case::Entity::find_by_id(id.to_string())
            .one(self.connection())
            .await?
            .map(stored_case)
            .transpose()
    }

    /// The objects of one case: (id, kind).
    pub async fn objects(&self, case: CaseId) -> Result<Vec<(ObjectId, ObjectKind)>, StoreError> {
        case_object::Entity::find()
            .filter(case_object::Column::CaseId.eq(case.to_string()))
            .all(self.connection())
            .await?
            .into_iter()
            .map(|o| {
                Ok((
                    parsed(&o.id, ObjectId::parse, "object id")?,
                    parsed(&o.kind, ObjectKind::parse, "object kind")?,
                ))
            })
            .collect()
    }

    pub async fn object_count(&self) -> Result<u64, StoreError> {
        Ok(case_object::Entity::find().count(self.connection()).await?)
    }

    /// Which of `ids` have a row.
    pub async fn existing_objects(&self, ids: &[ObjectId]) -> Result<HashSet<ObjectId>, StoreError> {
        self.injected(crate::connection::Fault::ObjectLookup)?;
        let keys: Vec<String> = ids.iter().map(ToString::to_string).collect();
        case_object::Entity::find()
            .filter(case_object::Column::Id.is_in(keys))
            .all(self.connection())
            .await?
            .into_iter()
            .map(|o| parsed(&o.id, ObjectId::parse, "object id"))
            .collect()
    }

    /// Finds the receipt row for a lookup value.
    pub async fn receipt(&self, lookup: &[u8; 32]) -> Result<Option<StoredReceipt>, StoreError> {
        receipt::Entity::find_by_id(hex::encode(lookup))
            .one(self.connection())
            .await?
            .map(|r| {
                Ok(StoredReceipt {
                    case_id: parsed(&r.case_id, CaseId::parse, "receipt case id")?,
                    kdf_salt: r.kdf_salt,
                    kdf_m_kib: to_u32(r.kdf_m_kib)?,
                    kdf_t: to_u32(r.kdf_t)?,
                    kdf_p: to_u32(r.kdf_p)?,
                })
            })
            .transpose()
    }

    /// Every (salt, memory, passes, lanes) that receipts were derived with, each once:
    /// what a look-up must try when the parameters have been raised (ADR 0001).
    pub async fn receipt_kdf_sets(&self) -> Result<Vec<(Vec<u8>, u32, u32, u32)>, StoreError> {
        use sea_orm::QuerySelect;
        let rows: Vec<(Vec<u8>, i32, i32, i32)> = receipt::Entity::find()
            .select_only()
            .columns([
                receipt::Column::KdfSalt,
                receipt::Column::KdfMKib,
                receipt::Column::KdfT,
                receipt::Column::KdfP,
            ])
            .distinct()
            .into_tuple()
            .all(self.connection())
            .await?;
        rows.into_iter()
            .map(|(salt, m, t, p)| Ok((salt, to_u32(m)?, to_u32(t)?, to_u32(p)?)))
            .collect()
    }

    /// The cases assigned to `investigator`, newest hour first, then by reference.
    pub async fn assigned_cases(&self, investigator: InvestigatorId) -> Result<Vec<StoredCase>, StoreError> {
        let ids: Vec<String> = assignment::Entity::find()
            .filter(assignment::Column::InvestigatorId.eq(investigator.to_string()))
            .all(self.connection())
            .await?
            .into_iter()
            .map(|a| a.case_id)
            .collect();
        case::Entity::find()
            .filter(case::Column::Id.is_in(ids))
            .order_by_desc(case::Column::ReceivedAt)
            .order_by_asc(case::Column::CaseRef)
            .all(self.connection())
            .await?
            .into_iter()
            .map(stored_case)
            .collect()
    }

    /// Whether `case` is assigned to `investigator`.
    pub async fn is_assigned(&self, case: CaseId, investigator: InvestigatorId) -> Result<bool, StoreError> {
        Ok(assignment::Entity::find()
            .filter(assignment::Column::CaseId.eq(case.to_string()))
            .filter(assignment::Column::InvestigatorId.eq(investigator.to_string()))
            .count(self.connection())
            .await?
            > 0)
    }

    /// Triaged cases that are still open, for the deadline job.
    pub async fn open_triaged_cases(&self) -> Result<Vec<StoredCase>, StoreError> {
        let closed: Vec<&str> = CaseState::ALL
            .iter()
            .filter(|s| !s.is_open())
            .map(|s| s.as_str())
            .collect();
        case::Entity::find()
            .filter(case::Column::Triaged.eq(true))
            .filter(case::Column::State.is_not_in(closed))
            .all(self.connection())
            .await?
            .into_iter()
            .map(stored_case)
            .collect()
    }

    pub async fn set_deadline_flag(&self, case: CaseId, flag: DeadlineFlag) -> Result<(), StoreError> {
        case::Entity::update_many()
            .col_expr(case::Column::DeadlineFlag, flag.as_str().into())
            .filter(case::Column::Id.eq(case.to_string()))
            .exec(self.connection())
            .await?;
        Ok(())
    }
}

pub(crate) fn stored_case(m: case::Model) -> Result<StoredCase, StoreError> {
    Ok(StoredCase {
        id: parsed(&m.id, CaseId::parse, "case id")?,
        case_ref: CaseRef::parse_exact(&m.case_ref).map_err(|_| StoreError::Corrupt("case ref"))?,
        state: parsed(&m.state, CaseState::parse, "case state")?,
        received_at: m.received_at,
        questionnaire_version: u32::try_from(m.questionnaire_version)
            .map_err(|_| StoreError::Corrupt("version"))?,
        case_recipient: m.case_recipient,
        thread_recipient: m.thread_recipient,
        triaged: m.triaged,
        priority: m
            .priority
            .map(|p| parsed(&p, Priority::parse, "priority"))
            .transpose()?,
        ack_due: m.ack_due,
        feedback_due: m.feedback_due,
        deadline_flag: parsed(&m.deadline_flag, DeadlineFlag::parse, "deadline flag")?,
        assessment: m
            .assessment
            .map(|a| parsed(&a, Assessment::parse, "assessment"))
            .transpose()?,
        outcome: m
            .outcome
            .map(|o| parsed(&o, Outcome::parse, "outcome"))
            .transpose()?,
        acknowledged_at: m.acknowledged_at,
        concluded_at: m.concluded_at,
        feedback_given_at: m.feedback_given_at,
        closed_at: m.closed_at,
    })
}

pub(crate) async fn insert_objects<C: ConnectionTrait>(
    db: &C,
    case: CaseId,
    objects: &[NewObject],
) -> Result<(), StoreError> {
    for o in objects {
        case_object::ActiveModel {
            id: Set(o.id.to_string()),
            case_id: Set(case.to_string()),
            kind: Set(o.kind.as_str().to_owned()),
            sealed_to: Set(o.sealed_to.as_str().to_owned()),
            ciphertext_bytes: Set(i64::try_from(o.ciphertext_bytes).map_err(|_| StoreError::Corrupt("size"))?),
        }
        .insert(db)
        .await?;
    }
    Ok(())
}
