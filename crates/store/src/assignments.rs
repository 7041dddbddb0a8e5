//! Who holds a case, as the portal changes it: an assignee adds a colleague (their wrap,
//! their assignment and the content-free email that tells them), and a person leaves a
//! case (their assignment and every wrap they held of it deleted, so their identity
//! opens nothing of it any more). Each assignee's own marks live on their assignment:
//! the last entry they have seen, and their star.

use std::collections::HashMap;

use redress_domain::{CaseId, Holder, InvestigatorId};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter};

use crate::connection::parsed;
use crate::entity::{assignment, key_wrap};
use crate::{Audited, NewEmail, NewJob, NewWrap, Store, StoreError, StoredWrap};

/// A colleague to add to a case.
#[derive(Clone, Debug)]
pub struct NewAssignee {
    pub investigator: InvestigatorId,
    /// The case key, wrapped to them.
    pub wrap: NewWrap,
    /// The email that tells them, and the job that sends it.
    pub email: Option<(NewEmail, NewJob)>,
}

/// What removing a person from a case did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unassigned {
    Removed,
    /// They were not assigned (someone removed them first).
    NotAssigned,
    /// They are the case's last assignee: nothing was removed.
    LastAssignee,
}

pub(crate) async fn insert_assignment<C: ConnectionTrait>(
    db: &C,
    case: CaseId,
    investigator: InvestigatorId,
    at: i64,
) -> Result<(), StoreError> {
    // Written without reading back, so it also works on a database the migration
    // tests stop short of the later columns.
    assignment::Entity::insert(assignment::ActiveModel {
        id: Set(uuid::Uuid::new_v4().to_string()),
        case_id: Set(case.to_string()),
        investigator_id: Set(investigator.to_string()),
        assigned_at: Set(at),
        ..Default::default()
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

fn of(case: CaseId, investigator: InvestigatorId) -> sea_orm::Condition {
    sea_orm::Condition::all()
        .add(assignment::Column::CaseId.eq(case.to_string()))
        .add(assignment::Column::InvestigatorId.eq(investigator.to_string()))
}

impl Audited {
    /// Adds an assignee with their wrap (and their email). False, writing nothing, if
    /// they hold the case already.
    pub async fn assign(&self, case: CaseId, new: &NewAssignee, now: i64) -> Result<bool, StoreError> {
        let already = assignment::Entity::find()
            .filter(of(case, new.investigator))
            .count(&self.txn)
            .await?;
        if already > 0 {
            return Ok(false);
        }
        // Any wrap left from an earlier assignment is replaced by the new one.
        crate::wraps::delete_wrap_on(&self.txn, case, Holder::Investigator(new.investigator)).await?;
        crate::wraps::insert_wraps(&self.txn, case, std::slice::from_ref(&new.wrap)).await?;
        insert_assignment(&self.txn, case, new.investigator, redress_domain::hour_floor(now)).await?;
        if let Some((email, job)) = &new.email {
            crate::outbox::insert_email(&self.txn, email, now).await?;
            crate::queue::enqueue_on(&self.txn, job, now).await?;
        }
        Ok(true)
    }

    /// Removes a person from a case: their assignment and every wrap they hold of it.
    /// Never the last assignee. Safe against two people leaving at once, because audited
    /// transactions run one at a time.
    pub async fn unassign(
        &self,
        case: CaseId,
        investigator: InvestigatorId,
    ) -> Result<Unassigned, StoreError> {
        let assignees = assignment::Entity::find()
            .filter(assignment::Column::CaseId.eq(case.to_string()))
            .all(&self.txn)
            .await?;
        let theirs = investigator.to_string();
        if !assignees.iter().any(|a| a.investigator_id == theirs) {
            return Ok(Unassigned::NotAssigned);
        }
        if assignees.len() < 2 {
            return Ok(Unassigned::LastAssignee);
        }
        assignment::Entity::delete_many()
            .filter(of(case, investigator))
            .exec(&self.txn)
            .await?;
        crate::wraps::delete_wrap_on(&self.txn, case, Holder::Investigator(investigator)).await?;
        Ok(Unassigned::Removed)
    }
}

impl Store {
    /// Records that an assignee has seen a case up to entry `seq` (0: a case with no
    /// entries). Never moves the mark back.
    pub async fn mark_seen(
        &self,
        case: CaseId,
        investigator: InvestigatorId,
        seq: u32,
    ) -> Result<(), StoreError> {
        let seq = i32::try_from(seq).map_err(|_| StoreError::Corrupt("entry number"))?;
        assignment::Entity::update_many()
            .col_expr(assignment::Column::SeenSeq, Expr::value(seq))
            .filter(of(case, investigator))
            .filter(
                sea_orm::Condition::any()
                    .add(assignment::Column::SeenSeq.is_null())
                    .add(assignment::Column::SeenSeq.lt(seq)),
            )
            .exec(self.connection())
            .await?;
        Ok(())
    }

    /// Whether an assignee starred a case.
    pub async fn starred(&self, case: CaseId, investigator: InvestigatorId) -> Result<bool, StoreError> {
        Ok(assignment::Entity::find()
            .filter(of(case, investigator))
            .one(self.connection())
            .await?
            .is_some_and(|a| a.starred))
    }

    /// Sets or clears an assignee's star on a case. False if they are not assigned.
    pub async fn set_star(
        &self,
        case: CaseId,
        investigator: InvestigatorId,
        starred: bool,
    ) -> Result<bool, StoreError> {
        let done = assignment::Entity::update_many()
            .col_expr(assignment::Column::Starred, Expr::value(starred))
            .filter(of(case, investigator))
            .exec(self.connection())
            .await?;
        Ok(done.rows_affected > 0)
    }

    /// The case-key wraps one investigator holds of `cases`, read in one query.
    pub async fn wraps_held(
        &self,
        investigator: InvestigatorId,
        cases: &[CaseId],
    ) -> Result<HashMap<CaseId, StoredWrap>, StoreError> {
        let holder = Holder::Investigator(investigator);
        let mut found = HashMap::new();
        for chunk in cases.chunks(crate::case_list::IN_CHUNK) {
            let rows = key_wrap::Entity::find()
                .filter(key_wrap::Column::CaseId.is_in(chunk.iter().map(ToString::to_string)))
                .filter(key_wrap::Column::HolderKind.eq(holder.kind().as_str()))
                .filter(key_wrap::Column::HolderId.eq(investigator.to_string()))
                .all(self.connection())
                .await?;
            for row in rows {
                let case = parsed(&row.case_id, CaseId::parse, "wrap case id")?;
                found.insert(case, crate::wraps::stored_wrap(row)?);
            }
        }
        Ok(found)
    }

    /// The thread-key wraps (to the case key) of `cases`, read in one query per chunk.
    pub async fn thread_wraps(&self, cases: &[CaseId]) -> Result<HashMap<CaseId, StoredWrap>, StoreError> {
        let mut found = HashMap::new();
        for chunk in cases.chunks(crate::case_list::IN_CHUNK) {
            let rows = key_wrap::Entity::find()
                .filter(key_wrap::Column::CaseId.is_in(chunk.iter().map(ToString::to_string)))
                .filter(key_wrap::Column::HolderKind.eq(Holder::CaseKey.kind().as_str()))
                .all(self.connection())
                .await?;
            for row in rows {
                let case = parsed(&row.case_id, CaseId::parse, "wrap case id")?;
                found.insert(case, crate::wraps::stored_wrap(row)?);
            }
        }
        Ok(found)
    }
}
