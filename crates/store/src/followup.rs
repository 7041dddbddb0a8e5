//! A reporter's follow-up sessions (ADR 0028): rows found by the hash of a key only the
//! reporter's cookie holds, holding what only that key opens.

use redress_domain::{CaseId, EntryKind};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};

use crate::connection::parsed;
use crate::entity::{case_entry, followup_session};
use crate::{Audited, NewCaseEntry, NewEmail, NewJob, NewObject, Store, StoreError};

/// What a reporter's message writes, all at once: its files, its entry, and a
/// content-free email to each assignee.
#[derive(Debug)]
pub struct ReporterMessage {
    pub entry: NewCaseEntry,
    pub objects: Vec<NewObject>,
    pub emails: Vec<(NewEmail, NewJob)>,
}

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

    /// Writes what a reporter sent (a message, an identity disclosure) in one
    /// transaction, outside the audit log (a reporter's acts are not in it): its file
    /// objects (their uploads ended), its entry after the case's last, and its emails
    /// with their jobs, each row's time `hour`. Returns the entry's number.
    pub async fn add_reporter_message(
        &self,
        case_id: CaseId,
        message: &ReporterMessage,
        hour: i64,
    ) -> Result<u32, StoreError> {
        if message.entry.author.is_some() {
            return Err(StoreError::Corrupt("a reporter's entry has no author"));
        }
        let ids: Vec<_> = message.objects.iter().map(|o| o.id).collect();
        let mut tries = 0;
        loop {
            tries += 1;
            let txn = self.connection().begin().await?;
            crate::cases::insert_objects(&txn, case_id, &message.objects).await?;
            crate::uploads::end_uploads_on(&txn, &ids).await?;
            // A colleague's step may take the same number at the same moment: the
            // unique index refuses one of the two, and the reporter's is numbered again.
            let seq = match crate::case_life::insert_entry(&txn, case_id, &message.entry).await {
                Ok(seq) => seq,
                Err(e) if tries < 3 && crate::case_life::is_number_clash(&e) => continue,
                Err(e) => return Err(e),
            };
            for (email, job) in &message.emails {
                crate::outbox::insert_email(&txn, email, hour).await?;
                crate::queue::enqueue_on(&txn, job, hour).await?;
            }
            txn.commit().await.map_err(StoreError::CommitUnknown)?;
            return Ok(seq);
        }
    }

    /// Marks entry `seq` of a case read by the reporter, if it is one investigators
    /// wrote to the reporter. False if there is no such entry.
    pub async fn mark_read_by_reporter(&self, case_id: CaseId, seq: u32) -> Result<bool, StoreError> {
        let to_reporter: Vec<String> = EntryKind::ALL
            .iter()
            .filter(|k| k.is_to_reporter())
            .map(|k| k.as_str().to_owned())
            .collect();
        let done = case_entry::Entity::update_many()
            .col_expr(case_entry::Column::ReadByReporter, true.into())
            .filter(case_entry::Column::CaseId.eq(case_id.to_string()))
            .filter(case_entry::Column::Seq.eq(i64::from(seq)))
            .filter(case_entry::Column::Kind.is_in(to_reporter))
            .exec(self.connection())
            .await?;
        Ok(done.rows_affected == 1)
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

impl Audited {
    /// Ends every reporter's follow-up session (a forced rotation of the web secret, ADR
    /// 0031). How many there were.
    pub async fn end_every_followup_session(&self) -> Result<u64, StoreError> {
        let done = followup_session::Entity::delete_many().exec(&self.txn).await?;
        Ok(done.rows_affected)
    }
}
