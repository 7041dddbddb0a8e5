//! A reporter's follow-up sessions (ADR 0028): rows found by the hash of a key only the
//! reporter's cookie holds, holding what only that key opens.

use redress_domain::CaseId;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};

use crate::connection::parsed;
use crate::entity::followup_session;
use crate::{Store, StoreError};

/// A follow-up session as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FollowupSession {
    pub case_id: CaseId,
    pub sealed: Vec<u8>,
}

impl Store {
    /// Opens a follow-up session: `sealed` to the cookie's key, `forget_after` an hour.
    pub async fn insert_followup_session(
        &self,
        lookup: &[u8; 32],
        case_id: CaseId,
        sealed: &[u8],
        forget_after: i64,
    ) -> Result<(), StoreError> {
        followup_session::Entity::insert(followup_session::ActiveModel {
            id: Set(hex::encode(lookup)),
            case_id: Set(case_id.to_string()),
            sealed: Set(sealed.to_vec()),
            forget_after: Set(forget_after),
        })
        .exec_without_returning(self.connection())
        .await?;
        Ok(())
    }

    /// The session a cookie's key finds, unless it is past `now`'s forgetting hour.
    pub async fn followup_session(
        &self,
        lookup: &[u8; 32],
        now: i64,
    ) -> Result<Option<FollowupSession>, StoreError> {
        let Some(row) = followup_session::Entity::find_by_id(hex::encode(lookup))
            .filter(followup_session::Column::ForgetAfter.gt(now))
            .one(self.connection())
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(FollowupSession {
            case_id: parsed(&row.case_id, CaseId::parse, "follow-up session case id")?,
            sealed: row.sealed,
        }))
    }

    /// Replaces what a session holds (its times moved on). False if it is gone.
    pub async fn reseal_followup_session(
        &self,
        lookup: &[u8; 32],
        sealed: &[u8],
    ) -> Result<bool, StoreError> {
        let done = followup_session::Entity::update_many()
            .col_expr(followup_session::Column::Sealed, sealed.to_vec().into())
            .filter(followup_session::Column::Id.eq(hex::encode(lookup)))
            .exec(self.connection())
            .await?;
        Ok(done.rows_affected == 1)
    }

    /// Ends one session.
    pub async fn forget_followup_session(&self, lookup: &[u8; 32]) -> Result<bool, StoreError> {
        let done = followup_session::Entity::delete_by_id(hex::encode(lookup))
            .exec(self.connection())
            .await?;
        Ok(done.rows_affected == 1)
    }

    /// Ends every session of a case (its receipt replaced, its keys changed).
    pub async fn forget_followup_sessions_of(&self, case_id: CaseId) -> Result<u64, StoreError> {
        let done = followup_session::Entity::delete_many()
            .filter(followup_session::Column::CaseId.eq(case_id.to_string()))
            .exec(self.connection())
            .await?;
        Ok(done.rows_affected)
    }

    /// Deletes sessions past their forgetting hour.
    pub async fn forget_ended_followup_sessions(&self, now: i64) -> Result<u64, StoreError> {
        let done = followup_session::Entity::delete_many()
            .filter(followup_session::Column::ForgetAfter.lte(now))
            .exec(self.connection())
            .await?;
        Ok(done.rows_affected)
    }
}
