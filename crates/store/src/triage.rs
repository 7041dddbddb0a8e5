//! What the triage worker reads and writes: investigators, assignments, fingerprints,
//! links, the email outbox, and the one transaction that hands a case over.

use std::collections::HashMap;

use redress_domain::CaseId;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, SqlErr,
    TransactionTrait,
};

use crate::entity::{assignment, case, case_link, fingerprint, investigator, key_wrap, outbox};
use crate::{HolderKind, NewJob, NewObject, NewWrap, Store, StoreError, StoredCase};

/// An investigator as routing sees them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Investigator {
    pub id: String,
    pub email: String,
    pub recipient: String,
    pub teams: Vec<String>,
    pub capacity: u32,
    pub active: bool,
}

#[derive(Clone, Debug)]
pub struct NewInvestigator {
    pub email: String,
    pub recipient: String,
    pub teams: Vec<String>,
    pub capacity: u32,
}

/// An email to queue. `notice` is JSON naming a case reference and at most a date.
#[derive(Clone, Debug)]
pub struct NewEmail {
    pub idempotency_key: String,
    pub recipient: String,
    pub notice: String,
    pub message_id: String,
}

/// An email as stored.
pub type Email = outbox::Model;

/// Everything triage writes, committed at once; see [`Store::commit_triage`].
#[derive(Debug, Default)]
pub struct TriageCommit {
    pub priority: String,
    pub ack_due: i64,
    pub objects: Vec<NewObject>,
    pub wraps: Vec<NewWrap>,
    pub assign_to: Vec<String>,
    pub fingerprints: Vec<(String, String)>,
    /// (related case, shared fingerprint kinds)
    pub links: Vec<(CaseId, Vec<String>)>,
    pub emails: Vec<NewEmail>,
    pub jobs: Vec<NewJob>,
}

fn to_investigator(m: investigator::Model) -> Investigator {
    Investigator {
        teams: serde_json_array(&m.teams),
        capacity: u32::try_from(m.capacity).unwrap_or(0),
        id: m.id,
        email: m.email,
        recipient: m.recipient,
        active: m.active,
    }
}

/// Teams are stored as a JSON array of strings.
fn serde_json_array(s: &str) -> Vec<String> {
    serde_json::from_str(s).unwrap_or_default()
}

fn to_json_array(items: &[String]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".to_owned())
}

/// Links are stored once per pair, smaller id first.
fn ordered(a: CaseId, b: CaseId) -> (String, String) {
    let (a, b) = (a.to_string(), b.to_string());
    if a <= b { (a, b) } else { (b, a) }
}

impl Store {
    /// Registers an investigator. Fails with `Duplicate` if the email is taken.
    pub async fn add_investigator(
        &self,
        new: &NewInvestigator,
        now: i64,
    ) -> Result<Investigator, StoreError> {
        let row = investigator::ActiveModel {
            id: Set(uuid::Uuid::new_v4().to_string()),
            email: Set(new.email.clone()),
            recipient: Set(new.recipient.clone()),
            teams: Set(to_json_array(&new.teams)),
            capacity: Set(i32::try_from(new.capacity).unwrap_or(i32::MAX)),
            active: Set(true),
            created_at: Set(now),
        };
        match row.insert(self.connection()).await {
            Ok(m) => Ok(to_investigator(m)),
            Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                Err(StoreError::Duplicate("an investigator with this email exists"))
            }
            Err(e) => Err(e.into()),
        }
    }

    pub async fn investigators(&self) -> Result<Vec<Investigator>, StoreError> {
        Ok(investigator::Entity::find()
            .order_by_asc(investigator::Column::Email)
            .all(self.connection())
            .await?
            .into_iter()
            .map(to_investigator)
            .collect())
    }

    /// Open (untriaged-or-triaged, not closed or purged) cases per investigator.
    /// Counted in the database: routing runs for every case and must not read them all.
    pub async fn open_case_loads(&self) -> Result<HashMap<String, u32>, StoreError> {
        #[derive(sea_orm::FromQueryResult)]
        struct Load {
            investigator_id: String,
            open_cases: i64,
        }
        let sql = "SELECT a.investigator_id AS investigator_id, COUNT(*) AS open_cases \
                   FROM case_assignments a JOIN cases c ON c.id = a.case_id \
                   WHERE c.state NOT IN ('closed', 'purged') GROUP BY a.investigator_id";
        let rows = <Load as sea_orm::FromQueryResult>::find_by_statement(sea_orm::Statement::from_string(
            self.backend(),
            sql,
        ))
        .all(self.connection())
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| (r.investigator_id, u32::try_from(r.open_cases).unwrap_or(u32::MAX)))
            .collect())
    }

    /// Investigators a case is assigned to.
    pub async fn assignees(&self, case: CaseId) -> Result<Vec<Investigator>, StoreError> {
        let ids: Vec<String> = assignment::Entity::find()
            .filter(assignment::Column::CaseId.eq(case.to_string()))
            .all(self.connection())
            .await?
            .into_iter()
            .map(|a| a.investigator_id)
            .collect();
        Ok(investigator::Entity::find()
            .filter(investigator::Column::Id.is_in(ids))
            .order_by_asc(investigator::Column::Email)
            .all(self.connection())
            .await?
            .into_iter()
            .map(to_investigator)
            .collect())
    }

    pub async fn case_by_id(&self, id: CaseId) -> Result<Option<StoredCase>, StoreError> {
        case::Entity::find_by_id(id.to_string())
            .one(self.connection())
            .await?
            .map(crate::db::stored_case)
            .transpose()
    }

    /// Cases (other than `case`) that share one of these fingerprints, with the kinds
    /// they share.
    pub async fn cases_sharing(
        &self,
        case: CaseId,
        fingerprints: &[(String, String)],
    ) -> Result<Vec<(CaseId, Vec<String>)>, StoreError> {
        let mut shared: HashMap<String, Vec<String>> = HashMap::new();
        for (kind, fp) in fingerprints {
            for row in fingerprint::Entity::find()
                .filter(fingerprint::Column::Kind.eq(kind.as_str()))
                .filter(fingerprint::Column::Fingerprint.eq(fp.as_str()))
                .filter(fingerprint::Column::CaseId.ne(case.to_string()))
                .all(self.connection())
                .await?
            {
                let kinds = shared.entry(row.case_id).or_default();
                if !kinds.contains(kind) {
                    kinds.push(kind.clone());
                }
            }
        }
        let mut out: Vec<(CaseId, Vec<String>)> = shared
            .into_iter()
            .filter_map(|(id, mut kinds)| {
                kinds.sort();
                CaseId::parse(&id).map(|id| (id, kinds))
            })
            .collect();
        out.sort_by_key(|(id, _)| id.to_string());
        Ok(out)
    }

    /// Number of stored fingerprints (zero until a case has been triaged).
    pub async fn fingerprint_count(&self) -> Result<u64, StoreError> {
        use sea_orm::PaginatorTrait;
        Ok(fingerprint::Entity::find().count(self.connection()).await?)
    }

    /// The cases linked to `case`, with the kinds they share.
    pub async fn links(&self, case: CaseId) -> Result<Vec<(CaseId, Vec<String>)>, StoreError> {
        let id = case.to_string();
        let rows = case_link::Entity::find()
            .filter(
                Condition::any()
                    .add(case_link::Column::CaseA.eq(id.as_str()))
                    .add(case_link::Column::CaseB.eq(id.as_str())),
            )
            .all(self.connection())
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|l| {
                let other = if l.case_a == id { l.case_b } else { l.case_a };
                let reasons = l.reasons.split(',').map(str::to_owned).collect();
                CaseId::parse(&other).map(|o| (o, reasons))
            })
            .collect())
    }

    /// Hands a triaged case over, all at once: priority and deadline, sealed objects,
    /// wraps for the assignees, assignments, fingerprints, links, emails and follow-up
    /// jobs — and deletes the triage wrap, so the triage key no longer opens the case.
    /// Returns false (and writes nothing) if the case was triaged already.
    pub async fn commit_triage(
        &self,
        case_id: CaseId,
        t: &TriageCommit,
        now: i64,
    ) -> Result<bool, StoreError> {
        let txn = self.connection().begin().await?;
        let id = case_id.to_string();
        let claimed = case::Entity::update_many()
            .col_expr(case::Column::Triaged, true.into())
            .col_expr(case::Column::Priority, Some(t.priority.clone()).into())
            .col_expr(case::Column::AckDue, Some(t.ack_due).into())
            .filter(case::Column::Id.eq(id.as_str()))
            .filter(case::Column::Triaged.eq(false))
            .exec(&txn)
            .await?;
        if claimed.rows_affected == 0 {
            txn.rollback().await?;
            return Ok(false);
        }
        crate::db::insert_objects(&txn, &id, &t.objects).await?;
        crate::db::insert_wraps(&txn, &id, &t.wraps).await?;
        for investigator_id in &t.assign_to {
            assignment::ActiveModel {
                id: Set(uuid::Uuid::new_v4().to_string()),
                case_id: Set(id.clone()),
                investigator_id: Set(investigator_id.clone()),
                assigned_at: Set(redress_domain::hour_floor(now)),
            }
            .insert(&txn)
            .await?;
        }
        for (kind, fp) in &t.fingerprints {
            fingerprint::ActiveModel {
                id: Set(uuid::Uuid::new_v4().to_string()),
                case_id: Set(id.clone()),
                kind: Set(kind.clone()),
                fingerprint: Set(fp.clone()),
            }
            .insert(&txn)
            .await?;
        }
        for (other, reasons) in &t.links {
            let (a, b) = ordered(case_id, *other);
            case_link::Entity::insert(case_link::ActiveModel {
                id: Set(uuid::Uuid::new_v4().to_string()),
                case_a: Set(a),
                case_b: Set(b),
                reasons: Set(reasons.join(",")),
            })
            .on_conflict(
                OnConflict::columns([case_link::Column::CaseA, case_link::Column::CaseB])
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
        }
        for email in &t.emails {
            insert_email(&txn, email, now).await?;
        }
        for job in &t.jobs {
            crate::queue::enqueue_on(&txn, job, now).await?;
        }
        key_wrap::Entity::delete_many()
            .filter(key_wrap::Column::CaseId.eq(id.as_str()))
            .filter(key_wrap::Column::HolderKind.eq(HolderKind::Triage.as_str()))
            .exec(&txn)
            .await?;
        txn.commit().await?;
        Ok(true)
    }

    /// Queues an email (once per idempotency key) with its sending job, in one
    /// transaction. True if this call queued it.
    pub async fn queue_email(&self, email: &NewEmail, job: &NewJob, now: i64) -> Result<bool, StoreError> {
        let txn = self.connection().begin().await?;
        let inserted = insert_email(&txn, email, now).await?;
        if inserted {
            crate::queue::enqueue_on(&txn, job, now).await?;
        }
        txn.commit().await?;
        Ok(inserted)
    }

    pub async fn email_by_key(&self, key: &str) -> Result<Option<Email>, StoreError> {
        Ok(outbox::Entity::find()
            .filter(outbox::Column::IdempotencyKey.eq(key))
            .one(self.connection())
            .await?)
    }

    pub async fn mark_email_sent(&self, id: &str, now: i64) -> Result<(), StoreError> {
        outbox::Entity::update_many()
            .col_expr(outbox::Column::State, "sent".into())
            .col_expr(
                outbox::Column::SentAt,
                Some(redress_domain::hour_floor(now)).into(),
            )
            .filter(outbox::Column::Id.eq(id))
            .exec(self.connection())
            .await?;
        Ok(())
    }

    pub async fn emails(&self) -> Result<Vec<Email>, StoreError> {
        Ok(outbox::Entity::find()
            .order_by_asc(outbox::Column::CreatedAt)
            .all(self.connection())
            .await?)
    }

    /// Triaged cases that are still open, for the deadline job.
    pub async fn open_triaged_cases(&self) -> Result<Vec<StoredCase>, StoreError> {
        let rows = case::Entity::find()
            .filter(case::Column::Triaged.eq(true))
            .filter(case::Column::State.is_not_in(["closed", "purged"]))
            .all(self.connection())
            .await?;
        rows.into_iter().map(crate::db::stored_case).collect()
    }

    /// Records that the reporter was acknowledged: the case moves to `acknowledged` and
    /// the feedback deadline starts (`feedback_due = now + feedback_secs`). False if the
    /// case was not waiting for acknowledgement.
    pub async fn acknowledge(&self, case: CaseId, now: i64, feedback_secs: i64) -> Result<bool, StoreError> {
        let res = case::Entity::update_many()
            .col_expr(case::Column::State, "acknowledged".into())
            .col_expr(case::Column::FeedbackDue, Some(now + feedback_secs).into())
            .col_expr(case::Column::DeadlineFlag, "ok".into())
            .filter(case::Column::Id.eq(case.to_string()))
            .filter(case::Column::State.eq("received"))
            .filter(case::Column::Triaged.eq(true))
            .exec(self.connection())
            .await?;
        Ok(res.rows_affected > 0)
    }

    pub async fn set_deadline_flag(&self, case: CaseId, flag: &str) -> Result<(), StoreError> {
        case::Entity::update_many()
            .col_expr(case::Column::DeadlineFlag, flag.into())
            .filter(case::Column::Id.eq(case.to_string()))
            .exec(self.connection())
            .await?;
        Ok(())
    }
}

async fn insert_email<C: sea_orm::ConnectionTrait>(
    db: &C,
    email: &NewEmail,
    now: i64,
) -> Result<bool, StoreError> {
    let rows = outbox::Entity::insert(outbox::ActiveModel {
        id: Set(uuid::Uuid::new_v4().to_string()),
        idempotency_key: Set(email.idempotency_key.clone()),
        recipient: Set(email.recipient.clone()),
        notice: Set(email.notice.clone()),
        state: Set("pending".into()),
        message_id: Set(email.message_id.clone()),
        created_at: Set(redress_domain::hour_floor(now)),
        sent_at: Set(None),
    })
    .on_conflict(
        OnConflict::column(outbox::Column::IdempotencyKey)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(rows > 0)
}
