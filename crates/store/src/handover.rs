//! The one transaction that hands a triaged case over to investigators.

use redress_domain::{CaseId, Holder, InvestigatorId, Priority};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};

use crate::entity::{case, case_link, fingerprint};
use crate::{NewEmail, NewJob, NewObject, NewWrap, Store, StoreError};

/// Everything triage writes, committed at once; see [`Store::commit_triage`].
#[derive(Debug)]
pub struct TriageCommit {
    pub priority: Priority,
    pub ack_due: i64,
    /// The product the answers name (one of the questionnaire's): counted for the
    /// statistics, never stored with the case.
    pub product: String,
    pub objects: Vec<NewObject>,
    /// The case key wrapped to each assignee.
    pub wraps: Vec<NewWrap>,
    pub assign_to: Vec<InvestigatorId>,
    /// (kind, keyed fingerprint)
    pub fingerprints: Vec<(String, String)>,
    /// (related case, shared fingerprint kinds)
    pub links: Vec<(CaseId, Vec<String>)>,
    pub emails: Vec<NewEmail>,
    pub jobs: Vec<NewJob>,
}

impl Store {
    /// Hands a triaged case over, all at once: priority and deadline, sealed objects,
    /// wraps for the assignees, assignments, fingerprints, links, emails, follow-up jobs
    /// and one more case counted for its product — and deletes the triage wrap, so the triage key no longer opens the case.
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
            .col_expr(
                case::Column::Priority,
                Some(t.priority.as_str().to_owned()).into(),
            )
            .col_expr(case::Column::AckDue, Some(t.ack_due).into())
            .filter(case::Column::Id.eq(id.as_str()))
            .filter(case::Column::Triaged.eq(false))
            .exec(&txn)
            .await?;
        if claimed.rows_affected == 0 {
            txn.rollback().await?;
            return Ok(false);
        }
        crate::cases::insert_objects(&txn, case_id, &t.objects).await?;
        crate::statistics::count_product(&txn, &t.product).await?;
        crate::wraps::insert_wraps(&txn, case_id, &t.wraps).await?;
        for investigator in &t.assign_to {
            crate::assignments::insert_assignment(
                &txn,
                case_id,
                *investigator,
                redress_domain::hour_floor(now),
            )
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
            let (a, b) = crate::links::ordered(case_id, *other);
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
            crate::outbox::insert_email(&txn, email, now).await?;
        }
        for job in &t.jobs {
            crate::queue::enqueue_on(&txn, job, now).await?;
        }
        crate::wraps::delete_wrap_on(&txn, case_id, Holder::Triage).await?;
        txn.commit().await.map_err(StoreError::CommitUnknown)?;
        self.injected(crate::connection::Fault::LostTriageAck)?;
        Ok(true)
    }
}
