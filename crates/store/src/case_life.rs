//! A case's life in the portal: the steps investigators take (each a compare-and-set
//! on the state it starts from, so two people cannot take conflicting steps at once)
//! and the entries of its conversation and notes, sealed, in order. Written in audited
//! transactions, with the entry that records them.

use std::collections::HashMap;

use redress_domain::{AccountId, Assessment, CaseId, CaseState, DeadlineFlag, EntryKind, Outcome};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, SqlErr,
};

use crate::connection::parsed;
use crate::entity::{case, case_entry};
use crate::{Audited, Store, StoreError};

/// A step as it changes the case row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepRecord {
    pub from: CaseState,
    pub to: CaseState,
    /// Set by an assessment (kept otherwise).
    pub assessment: Option<Assessment>,
    /// Set by a conclusion; cleared by a reopening.
    pub outcome: Option<Outcome>,
    /// When the step was taken.
    pub at: i64,
    /// A new feedback deadline (an acknowledgement, a reopening), if the step sets one.
    pub feedback_due: Option<i64>,
    /// The flag of the deadline that applies after the step.
    pub deadline_flag: DeadlineFlag,
}

/// An entry to add to a case's conversation or notes.
#[derive(Clone, Debug)]
pub struct NewCaseEntry {
    pub kind: EntryKind,
    pub author: Option<AccountId>,
    pub at: i64,
    /// Age ciphertext, to the key the kind says.
    pub ciphertext: Vec<u8>,
}

/// An entry as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseEntry {
    pub seq: u32,
    pub kind: EntryKind,
    pub author: Option<AccountId>,
    pub at: i64,
    pub ciphertext: Vec<u8>,
    /// The reporter marked it as read (investigators' entries to the reporter only).
    pub read_by_reporter: bool,
}

impl Audited {
    /// Takes a step: the case moves from `record.from` to `record.to` with what the step
    /// sets. False, writing nothing, if the case is not in `record.from` any more.
    pub async fn take_step(&self, case_id: CaseId, record: &StepRecord) -> Result<bool, StoreError> {
        let mut update = case::Entity::update_many()
            .col_expr(case::Column::State, Expr::value(record.to.as_str()))
            .col_expr(
                case::Column::DeadlineFlag,
                Expr::value(record.deadline_flag.as_str()),
            )
            .filter(case::Column::Id.eq(case_id.to_string()))
            .filter(case::Column::State.eq(record.from.as_str()));
        if let Some(a) = record.assessment {
            update = update.col_expr(case::Column::Assessment, Expr::value(a.as_str()));
        }
        if let Some(due) = record.feedback_due {
            update = update.col_expr(case::Column::FeedbackDue, Expr::value(due));
        }
        let at = Expr::value(record.at);
        update = match record.to {
            CaseState::Acknowledged => update.col_expr(case::Column::AcknowledgedAt, at),
            CaseState::Concluded => update.col_expr(case::Column::ConcludedAt, at).col_expr(
                case::Column::Outcome,
                Expr::value(record.outcome.map(|o| o.as_str())),
            ),
            CaseState::FeedbackGiven => update.col_expr(case::Column::FeedbackGivenAt, at),
            CaseState::Closed => update.col_expr(case::Column::ClosedAt, at),
            // Reopened: concluded again later, with an outcome of its own.
            CaseState::Investigating if record.from != CaseState::Assessed => {
                update.col_expr(case::Column::Outcome, Expr::value(Option::<String>::None))
            }
            _ => update,
        };
        Ok(update.exec(&self.txn).await?.rows_affected == 1)
    }

    /// Adds an entry after the case's last one.
    pub async fn add_entry(&self, case_id: CaseId, entry: &NewCaseEntry) -> Result<u32, StoreError> {
        insert_entry(&self.txn, case_id, entry).await
    }
}

/// Whether an insert failed because another writer took the entry's number first.
pub(crate) fn is_number_clash(e: &StoreError) -> bool {
    matches!(e, StoreError::Db(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))))
}

/// Adds an entry after the case's last one, in `txn`. Two writers picking the same
/// number meet the unique index, and the later one's transaction fails.
pub(crate) async fn insert_entry(
    txn: &impl ConnectionTrait,
    case_id: CaseId,
    entry: &NewCaseEntry,
) -> Result<u32, StoreError> {
    let last: Option<Option<i32>> = case_entry::Entity::find()
        .select_only()
        .expr(Expr::col(case_entry::Column::Seq).max())
        .filter(case_entry::Column::CaseId.eq(case_id.to_string()))
        .into_tuple()
        .one(txn)
        .await?;
    let seq = last.flatten().unwrap_or(0) + 1;
    case_entry::Entity::insert(case_entry::ActiveModel {
        id: Set(uuid::Uuid::new_v4().to_string()),
        case_id: Set(case_id.to_string()),
        seq: Set(seq),
        kind: Set(entry.kind.as_str().to_owned()),
        author: Set(entry.author.map(|a| a.to_string())),
        at: Set(entry.at),
        ciphertext: Set(entry.ciphertext.clone()),
        read_by_reporter: Set(false),
    })
    .exec_without_returning(txn)
    .await?;
    u32::try_from(seq).map_err(|_| StoreError::Corrupt("entry number"))
}

impl Store {
    /// A case's entries, in order.
    pub async fn entries(&self, case_id: CaseId) -> Result<Vec<CaseEntry>, StoreError> {
        case_entry::Entity::find()
            .filter(case_entry::Column::CaseId.eq(case_id.to_string()))
            .order_by_asc(case_entry::Column::Seq)
            .all(self.connection())
            .await?
            .into_iter()
            .map(case_entry)
            .collect()
    }

    /// The entries of each of `cases`, in order, read in one query per chunk.
    pub async fn entries_of(&self, cases: &[CaseId]) -> Result<HashMap<CaseId, Vec<CaseEntry>>, StoreError> {
        let mut found: HashMap<CaseId, Vec<CaseEntry>> = HashMap::new();
        for chunk in cases.chunks(crate::case_list::IN_CHUNK) {
            let rows = case_entry::Entity::find()
                .filter(case_entry::Column::CaseId.is_in(chunk.iter().map(ToString::to_string)))
                .order_by_asc(case_entry::Column::CaseId)
                .order_by_asc(case_entry::Column::Seq)
                .all(self.connection())
                .await?;
            for row in rows {
                let case = parsed(&row.case_id, CaseId::parse, "entry case id")?;
                found.entry(case).or_default().push(case_entry(row)?);
            }
        }
        Ok(found)
    }
}

fn case_entry(m: case_entry::Model) -> Result<CaseEntry, StoreError> {
    Ok(CaseEntry {
        seq: u32::try_from(m.seq).map_err(|_| StoreError::Corrupt("entry number"))?,
        kind: parsed(&m.kind, EntryKind::parse, "entry kind")?,
        author: m
            .author
            .map(|a| parsed(&a, AccountId::parse, "entry author"))
            .transpose()?,
        at: m.at,
        ciphertext: m.ciphertext,
        read_by_reporter: m.read_by_reporter,
    })
}
