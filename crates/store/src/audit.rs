//! Rows of the audit log. The chain's rules (what is hashed, what a valid chain is) are
//! `redress-audit`'s; the store only appends a row at the next place and reads rows
//! back in order.

use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, SqlErr};

use crate::entity::audit_entry;
use crate::{Store, StoreError};

/// An audit entry as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRecord {
    pub seq: i64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

impl From<audit_entry::Model> for AuditRecord {
    fn from(m: audit_entry::Model) -> Self {
        Self {
            seq: m.seq,
            at: m.at,
            actor: m.actor,
            action: m.action,
            target: m.target,
            prev_hash: m.prev_hash,
            hash: m.hash,
        }
    }
}

impl Store {
    /// The last entry, if any.
    pub async fn audit_head(&self) -> Result<Option<AuditRecord>, StoreError> {
        Ok(audit_entry::Entity::find()
            .order_by_desc(audit_entry::Column::Seq)
            .one(self.connection())
            .await?
            .map(Into::into))
    }

    /// Appends `record` at its `seq`. Another process that took that place first makes
    /// this fail with [`StoreError::Duplicate`]: read the head again and retry.
    pub async fn insert_audit(&self, record: &AuditRecord) -> Result<(), StoreError> {
        let row = audit_entry::ActiveModel {
            seq: Set(record.seq),
            at: Set(record.at),
            actor: Set(record.actor.clone()),
            action: Set(record.action.clone()),
            target: Set(record.target.clone()),
            prev_hash: Set(record.prev_hash.clone()),
            hash: Set(record.hash.clone()),
        };
        match audit_entry::Entity::insert(row)
            .exec_without_returning(self.connection())
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                Err(StoreError::Duplicate("that audit place was taken"))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Up to `limit` entries after `after_seq`, in order.
    pub async fn audit_after(&self, after_seq: i64, limit: u64) -> Result<Vec<AuditRecord>, StoreError> {
        Ok(audit_entry::Entity::find()
            .filter(audit_entry::Column::Seq.gt(after_seq))
            .order_by_asc(audit_entry::Column::Seq)
            .limit(limit)
            .all(self.connection())
            .await?
            .into_iter()
            .map(Into::into)
            .collect())
    }
}
