//! Rows of the audit log, and the transactions that append to it. The chain's rules
//! (what is hashed, what a valid chain is) are `redress-audit`'s; the store appends a
//! row at the next place and reads rows back in order.
//!
//! Every append happens inside an [`Audited`] transaction, which takes the log's lock
//! before anything else: appenders, in any number of processes, queue for the head one
//! at a time, so the place read is the place written, and what an entry records is
//! committed with it or not at all.

use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, DbBackend, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};

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

/// Which entries to list, for people browsing the log. Every part is optional.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action: Option<String>,
    /// A target, with everything under it (`case:RD-…` finds its objects too).
    pub target: Option<String>,
    /// Unix seconds, inclusive.
    pub from: Option<i64>,
    /// Unix seconds, exclusive.
    pub until: Option<i64>,
}

/// The lock every appender takes first. PostgreSQL: a transaction-scoped advisory lock
/// (the key is "redress-audit" squeezed into 63 bits). SQLite: a write that changes
/// nothing but takes the database's one write lock, as the first statement, so the
/// head read after it cannot go stale.
fn lock_statement(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => "SELECT pg_advisory_xact_lock(8243120738150573924)",
        _ => "UPDATE audit_log SET seq = seq WHERE seq < 0",
    }
}

/// A transaction holding the audit log's lock. Dropped without [`Audited::commit`], it
/// rolls back: neither the entry nor what it records is written.
#[derive(Debug)]
pub struct Audited {
    pub(crate) txn: DatabaseTransaction,
}

impl Store {
    /// Begins a transaction that appends to the audit log (with `redress_audit::append`)
    /// and writes what the entries record.
    pub async fn begin_audited(&self) -> Result<Audited, StoreError> {
        let txn = self.connection().begin().await?;
        txn.execute_unprepared(lock_statement(self.backend())).await?;
        Ok(Audited { txn })
    }

    /// The last entry, if any.
    pub async fn audit_head(&self) -> Result<Option<AuditRecord>, StoreError> {
        head_on(self.connection()).await
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

    /// Up to `limit` entries matching `filter` before `before_seq` (or from the newest),
    /// newest first: one page of the log for people reading it.
    pub async fn audit_page(
        &self,
        filter: &AuditFilter,
        before_seq: Option<i64>,
        limit: u64,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let mut cond = Condition::all();
        if let Some(before) = before_seq {
            cond = cond.add(audit_entry::Column::Seq.lt(before));
        }
        if let Some(actor) = &filter.actor {
            cond = cond.add(audit_entry::Column::Actor.eq(actor.as_str()));
        }
        if let Some(action) = &filter.action {
            cond = cond.add(audit_entry::Column::Action.eq(action.as_str()));
        }
        if let Some(target) = &filter.target {
            // A target and what lies under it (`case:RD-…` and `case:RD-…/object:…`).
            cond = cond.add(
                Condition::any()
                    .add(audit_entry::Column::Target.eq(target.as_str()))
                    .add(audit_entry::Column::Target.starts_with(format!("{target}/"))),
            );
        }
        if let Some(from) = filter.from {
            cond = cond.add(audit_entry::Column::At.gte(from));
        }
        if let Some(until) = filter.until {
            cond = cond.add(audit_entry::Column::At.lt(until));
        }
        Ok(audit_entry::Entity::find()
            .filter(cond)
            .order_by_desc(audit_entry::Column::Seq)
            .limit(limit)
            .all(self.connection())
            .await?
            .into_iter()
            .map(Into::into)
            .collect())
    }
}

impl Audited {
    /// The last entry, if any, as this transaction sees it (nobody else can append now).
    pub async fn audit_head(&self) -> Result<Option<AuditRecord>, StoreError> {
        head_on(&self.txn).await
    }

    /// Appends `record`, which must be the next place after [`Audited::audit_head`].
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
        audit_entry::Entity::insert(row)
            .exec_without_returning(&self.txn)
            .await?;
        Ok(())
    }

    /// Writes everything at once. An error means nothing was written, except
    /// [`StoreError::CommitUnknown`].
    pub async fn commit(self) -> Result<(), StoreError> {
        self.txn.commit().await.map_err(StoreError::CommitUnknown)
    }
}

async fn head_on<C: ConnectionTrait>(db: &C) -> Result<Option<AuditRecord>, StoreError> {
    Ok(audit_entry::Entity::find()
        .order_by_desc(audit_entry::Column::Seq)
        .one(db)
        .await?
        .map(Into::into))
}
