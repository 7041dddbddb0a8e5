//! One person's cases as the portal lists them (ADR 0024): filtered, ordered and cut
//! into pages in the database, with what each row needs read in the same query — their
//! star and whether something is new since they last opened it, whether a related case
//! is also theirs, whether it carries labels, and which key its wrap was made for.
//!
//! Pages are keyset pages: a page ends with the last row's sort key and reference, and
//! the next starts after them, so a page costs the same wherever it falls. References
//! are random, so the order of equal keys says nothing about when cases came.

use std::collections::HashMap;

use redress_domain::{
    AccountId, CaseId, CaseState, DeadlineFlag, InvestigatorId, ObjectId, ObjectKind, Priority,
};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter};

use crate::connection::parsed;
use crate::entity::{case, case_label, case_object};
use crate::{Audited, Sql, Store, StoreError, StoredCase};

/// Ids per `IN (…)` list: far below the bind limits of SQLite and PostgreSQL.
pub(crate) const IN_CHUNK: usize = 500;

/// Which cases by state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StateFilter {
    /// Not closed or purged.
    #[default]
    Open,
    All,
    Only(CaseState),
}

/// How the list is ordered. Every order ends with the case reference.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CaseOrder {
    /// The deadline that applies now, soonest first; cases without one last.
    #[default]
    Deadline,
    /// Most urgent priority first.
    Priority,
    /// Received most recently first.
    Newest,
    /// Received longest ago first.
    Oldest,
}

/// Where a page starts: after this sort key and reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub key: i64,
    pub case_ref: String,
}

/// What to list.
#[derive(Clone, Debug, Default)]
pub struct CaseQuery {
    pub state: StateFilter,
    pub priority: Option<Priority>,
    /// Only cases whose deadline flag is this.
    pub flag: Option<DeadlineFlag>,
    pub starred: bool,
    pub unread: bool,
    /// Only these cases (those carrying a label, found by opening the labels).
    pub among: Option<Vec<CaseId>>,
    pub order: CaseOrder,
    pub after: Option<Cursor>,
    pub limit: u64,
}

/// A row of the list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListedCase {
    pub case: StoredCase,
    pub starred: bool,
    /// An entry came after the last one the person saw, or they never opened it.
    pub unread: bool,
    /// A related case is also assigned to them.
    pub related: bool,
    /// The case carries labels (which ones only the case key tells).
    pub labelled: bool,
    /// The recipient their wrap was made for, if they hold one.
    pub wrapped_to: Option<String>,
    /// The row's sort key, for the cursor of the next page.
    pub key: i64,
}

/// One page of the list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CasePage {
    pub rows: Vec<ListedCase>,
    /// Where the next page starts, if there is one.
    pub next: Option<Cursor>,
    /// How many cases match, on every page.
    pub total: u64,
}

/// `CASE c.state WHEN … THEN <deadline column> … END`, from the domain's own rule of
/// which deadline applies in which state.
fn due_expr() -> String {
    let mut sql = String::from("CASE c.state");
    for state in CaseState::ALL {
        let column = match state.deadline() {
            Some(redress_domain::Deadline::Acknowledgement) => "c.ack_due",
            Some(redress_domain::Deadline::Feedback) => "c.feedback_due",
            None => continue,
        };
        sql.push_str(&format!(" WHEN '{}' THEN {column}", state.as_str()));
    }
    sql.push_str(" END");
    sql
}

/// The sort key of an order, ascending, as a 64-bit integer on every backend.
fn key_expr(order: CaseOrder) -> String {
    let key = match order {
        CaseOrder::Deadline => format!("COALESCE({}, {})", due_expr(), i64::MAX),
        CaseOrder::Newest => "(0 - c.received_at)".to_owned(),
        CaseOrder::Oldest => "c.received_at".to_owned(),
        CaseOrder::Priority => {
            let mut sql = String::from("CASE c.priority");
            for (rank, p) in Priority::ALL.iter().enumerate() {
                sql.push_str(&format!(" WHEN '{}' THEN {rank}", p.as_str()));
            }
            sql.push_str(&format!(" ELSE {} END", Priority::ALL.len()));
            sql
        }
    };
    format!("CAST({key} AS BIGINT)")
}

/// Whether something is new for `me`: they never opened the case, or someone else (a
/// colleague, the reporter) wrote after the last entry they saw.
fn unread(sql: &mut Sql, me: &str) {
    sql.push(
        "(a.seen_seq IS NULL OR COALESCE((SELECT MAX(e.seq) FROM case_entries e \
         WHERE e.case_id = c.id AND (e.author IS NULL OR e.author <> ",
    )
    .bind(me.to_owned())
    .push(")), 0) > a.seen_seq)");
}

/// `FROM … WHERE …` of one person's cases under `q`'s filters (not its cursor).
fn from_where(sql: &mut Sql, investigator: &str, me: &str, q: &CaseQuery) {
    sql.push(" FROM case_assignments a JOIN cases c ON c.id = a.case_id WHERE a.investigator_id = ")
        .bind(investigator.to_owned());
    match q.state {
        StateFilter::All => {}
        StateFilter::Open => {
            for state in CaseState::ALL.iter().filter(|s| !s.is_open()) {
                sql.push(" AND c.state <> ").bind(state.as_str());
            }
        }
        StateFilter::Only(state) => {
            sql.push(" AND c.state = ").bind(state.as_str());
        }
    }
    if let Some(p) = q.priority {
        sql.push(" AND c.priority = ").bind(p.as_str());
    }
    if let Some(flag) = q.flag {
        sql.push(" AND c.deadline_flag = ").bind(flag.as_str());
    }
    if q.starred {
        sql.push(" AND a.starred = ").bind(true);
    }
    if q.unread {
        sql.push(" AND ");
        unread(sql, me);
    }
    if let Some(among) = &q.among {
        if among.is_empty() {
            sql.push(" AND 1 = 0");
        } else {
            sql.push(" AND c.id IN (");
            for (i, id) in among.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.bind(id.to_string());
            }
            sql.push(")");
        }
    }
}

#[derive(FromQueryResult)]
struct Counted {
    n: i64,
}

impl Store {
    /// One page of the cases assigned to `investigator`, whose account is `me`.
    pub async fn list_cases(
        &self,
        investigator: InvestigatorId,
        me: AccountId,
        q: &CaseQuery,
    ) -> Result<CasePage, StoreError> {
        let inv = investigator.to_string();
        let me = me.to_string();
        let key = key_expr(q.order);
        // The page is chosen first, from the filters and the sort key alone; what each
        // row shows besides (unread, labelled, related, its wrap) is then worked out for
        // that page's rows only, not for every case that matches.
        let mut sql = Sql::new(self.backend());
        sql.push("SELECT c.*, a.starred AS starred, p.sort_key AS sort_key, CASE WHEN ");
        unread(&mut sql, &me);
        sql.push(
            " THEN 1 ELSE 0 END AS unread, \
                 CASE WHEN EXISTS (SELECT 1 FROM case_labels l WHERE l.case_id = c.id) \
                 THEN 1 ELSE 0 END AS labelled, \
                 CASE WHEN EXISTS (SELECT 1 FROM case_links k JOIN case_assignments o \
                 ON o.case_id = k.case_b WHERE k.case_a = c.id AND o.investigator_id = ",
        )
        .bind(inv.clone())
        .push(
            ") OR EXISTS (SELECT 1 FROM case_links k JOIN case_assignments o \
                 ON o.case_id = k.case_a WHERE k.case_b = c.id AND o.investigator_id = ",
        )
        .bind(inv.clone())
        .push(
            ") THEN 1 ELSE 0 END AS related, \
                 (SELECT MIN(w.holder_recipient) FROM key_wraps w WHERE w.case_id = c.id \
                 AND w.holder_kind = 'investigator' AND w.holder_id = ",
        )
        .bind(inv.clone())
        .push(") AS wrapped_to FROM (SELECT c.id AS id, c.case_ref AS case_ref, ")
        .push(&format!("{key} AS sort_key"));
        from_where(&mut sql, &inv, &me, q);
        if let Some(after) = &q.after {
            sql.push(&format!(" AND ({key} > "))
                .bind(after.key)
                .push(&format!(" OR ({key} = "))
                .bind(after.key)
                .push(" AND c.case_ref > ")
                .bind(after.case_ref.clone())
                .push("))");
        }
        sql.push(" ORDER BY sort_key, c.case_ref LIMIT ")
            .bind(i64::try_from(q.limit + 1).unwrap_or(i64::MAX))
            .push(
                ") p JOIN cases c ON c.id = p.id \
                 JOIN case_assignments a ON a.case_id = c.id AND a.investigator_id = ",
            )
            .bind(inv.clone())
            .push(" ORDER BY p.sort_key, p.case_ref");
        let rows = self.connection().query_all_raw(sql.statement()).await?;
        let mut listed = Vec::with_capacity(rows.len());
        for row in &rows {
            let flag = |name: &str| -> Result<bool, StoreError> { Ok(row.try_get::<i32>("", name)? != 0) };
            listed.push(ListedCase {
                case: crate::cases::stored_case(case::Model::from_query_result(row, "")?)?,
                starred: row.try_get::<bool>("", "starred")?,
                unread: flag("unread")?,
                related: flag("related")?,
                labelled: flag("labelled")?,
                wrapped_to: row.try_get::<Option<String>>("", "wrapped_to")?,
                key: row.try_get::<i64>("", "sort_key")?,
            });
        }
        let next = if listed.len() as u64 > q.limit {
            listed.truncate(usize::try_from(q.limit).unwrap_or(usize::MAX));
            listed.last().map(|last| Cursor {
                key: last.key,
                case_ref: last.case.case_ref.to_string(),
            })
        } else {
            None
        };
        let mut count = Sql::new(self.backend());
        count.push("SELECT COUNT(*) AS n");
        from_where(&mut count, &inv, &me, q);
        let total = Counted::find_by_statement(count.statement())
            .one(self.connection())
            .await?
            .map_or(0, |c| c.n);
        Ok(CasePage {
            rows: listed,
            next,
            total: u64::try_from(total).unwrap_or(0),
        })
    }

    /// Every case assigned to `investigator`, by id and reference, for work that opens
    /// them all (search, a label filter).
    pub async fn assigned_case_ids(&self, investigator: InvestigatorId) -> Result<Vec<CaseId>, StoreError> {
        let ids: Vec<String> = crate::entity::assignment::Entity::find()
            .filter(crate::entity::assignment::Column::InvestigatorId.eq(investigator.to_string()))
            .all(self.connection())
            .await?
            .into_iter()
            .map(|a| a.case_id)
            .collect();
        ids.iter()
            .map(|id| parsed(id, CaseId::parse, "assignment case id"))
            .collect()
    }

    /// The submission object of each of `cases`.
    pub async fn submissions_of(&self, cases: &[CaseId]) -> Result<HashMap<CaseId, ObjectId>, StoreError> {
        let mut found = HashMap::new();
        for chunk in cases.chunks(IN_CHUNK) {
            let rows = case_object::Entity::find()
                .filter(case_object::Column::CaseId.is_in(chunk.iter().map(ToString::to_string)))
                .filter(case_object::Column::Kind.eq(ObjectKind::Submission.as_str()))
                .all(self.connection())
                .await?;
            for row in rows {
                found.insert(
                    parsed(&row.case_id, CaseId::parse, "object case id")?,
                    parsed(&row.id, ObjectId::parse, "object id")?,
                );
            }
        }
        Ok(found)
    }

    /// The sealed labels of those of `cases` that carry any.
    pub async fn sealed_labels(&self, cases: &[CaseId]) -> Result<HashMap<CaseId, Vec<u8>>, StoreError> {
        let mut found = HashMap::new();
        for chunk in cases.chunks(IN_CHUNK) {
            let rows = case_label::Entity::find()
                .filter(case_label::Column::CaseId.is_in(chunk.iter().map(ToString::to_string)))
                .all(self.connection())
                .await?;
            for row in rows {
                found.insert(
                    parsed(&row.case_id, CaseId::parse, "label case id")?,
                    row.ciphertext,
                );
            }
        }
        Ok(found)
    }
}

impl Audited {
    /// Replaces a case's labels with `sealed` (age, to the case key); `None` removes
    /// them.
    pub async fn set_labels(&self, case: CaseId, sealed: Option<Vec<u8>>) -> Result<(), StoreError> {
        case_label::Entity::delete_by_id(case.to_string())
            .exec(&self.txn)
            .await?;
        if let Some(ciphertext) = sealed {
            case_label::Entity::insert(case_label::ActiveModel {
                case_id: Set(case.to_string()),
                ciphertext: Set(ciphertext),
            })
            .exec_without_returning(&self.txn)
            .await?;
        }
        Ok(())
    }
}
