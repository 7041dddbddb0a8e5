//! Related cases: keyed fingerprints of what a case names, and the links between cases
//! that share something selective.
//!
//! Every query here is bounded: it returns at most a given number of rows and counts at
//! most [`COUNT_CAP`], so triage costs the same with a thousand cases as with a million
//! that name the same product.

use redress_domain::{COUNT_CAP, CaseId};
use sea_orm::sea_query::{Alias, Expr, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait,
};

use crate::connection::parsed;
use crate::entity::{case_link, fingerprint};
use crate::{Store, StoreError};

/// Links are stored once per pair, smaller id first.
pub(crate) fn ordered(a: CaseId, b: CaseId) -> (String, String) {
    let (a, b) = (a.to_string(), b.to_string());
    if a <= b { (a, b) } else { (b, a) }
}

/// Rows holding any of `fingerprints` (kind, fingerprint).
fn any_of(fingerprints: &[(String, String)]) -> Condition {
    fingerprints.iter().fold(Condition::any(), |any, (kind, fp)| {
        any.add(
            Condition::all()
                .add(fingerprint::Column::Kind.eq(kind.as_str()))
                .add(fingerprint::Column::Fingerprint.eq(fp.as_str())),
        )
    })
}

/// Rows of cases other than `case` holding any of `fingerprints`.
fn others_with(case: CaseId, fingerprints: &[(String, String)]) -> Condition {
    Condition::all()
        .add(any_of(fingerprints))
        .add(fingerprint::Column::CaseId.ne(case.to_string()))
}

impl Store {
    /// Up to `limit` other cases holding this fingerprint, in id order. Ids are random,
    /// so which cases come first says nothing about when they arrived.
    pub async fn cases_with_fingerprint(
        &self,
        case: CaseId,
        fingerprint: &(String, String),
        limit: u64,
    ) -> Result<Vec<CaseId>, StoreError> {
        let rows: Vec<String> = fingerprint::Entity::find()
            .select_only()
            .column(fingerprint::Column::CaseId)
            .filter(others_with(case, std::slice::from_ref(fingerprint)))
            .order_by_asc(fingerprint::Column::CaseId)
            .limit(limit)
            .into_tuple()
            .all(self.connection())
            .await?;
        rows.iter()
            .map(|id| parsed(id, CaseId::parse, "fingerprint case id"))
            .collect()
    }

    /// How many other cases hold any of these fingerprints, counted up to [`COUNT_CAP`].
    ///
    /// Bounded whatever the planner does: a case holds each fingerprint once (a unique
    /// index says so), so the first `COUNT_CAP × fingerprints` rows, read without
    /// order, name at least `COUNT_CAP` cases whenever there are that many rows, and
    /// all of them otherwise.
    pub async fn count_cases_with_any(
        &self,
        case: CaseId,
        fingerprints: &[(String, String)],
    ) -> Result<u64, StoreError> {
        if fingerprints.is_empty() {
            return Ok(0);
        }
        let rows = fingerprint::Entity::find()
            .select_only()
            .column(fingerprint::Column::CaseId)
            .filter(others_with(case, fingerprints))
            .limit(COUNT_CAP * fingerprints.len() as u64)
            .into_query();
        let count = Query::select()
            .expr(Expr::cust("COUNT(DISTINCT case_id)"))
            .from_subquery(rows, Alias::new("bounded"))
            .to_owned();
        let row = self
            .connection()
            .query_one_raw(self.backend().build(&count))
            .await?
            .ok_or(StoreError::Corrupt("no count"))?;
        let n: i64 = row.try_get_by_index(0)?;
        let n = u64::try_from(n).map_err(|_| StoreError::Corrupt("negative count"))?;
        Ok(n.min(COUNT_CAP))
    }

    /// Which of `fingerprints` each of `cases` holds, as (case, kind): at most
    /// `cases × fingerprints` rows.
    pub async fn kinds_shared_by(
        &self,
        cases: &[CaseId],
        fingerprints: &[(String, String)],
    ) -> Result<Vec<(CaseId, String)>, StoreError> {
        if cases.is_empty() || fingerprints.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<(String, String)> = fingerprint::Entity::find()
            .select_only()
            .column(fingerprint::Column::CaseId)
            .column(fingerprint::Column::Kind)
            .filter(fingerprint::Column::CaseId.is_in(cases.iter().map(ToString::to_string)))
            .filter(any_of(fingerprints))
            .into_tuple()
            .all(self.connection())
            .await?;
        rows.into_iter()
            .map(|(id, kind)| Ok((parsed(&id, CaseId::parse, "fingerprint case id")?, kind)))
            .collect()
    }

    /// Number of stored fingerprints (zero until a case has been triaged).
    pub async fn fingerprint_count(&self) -> Result<u64, StoreError> {
        Ok(fingerprint::Entity::find().count(self.connection()).await?)
    }

    /// Number of stored links between cases.
    pub async fn link_count(&self) -> Result<u64, StoreError> {
        Ok(case_link::Entity::find().count(self.connection()).await?)
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
        rows.into_iter()
            .map(|l| {
                let other = if l.case_a == id { l.case_b } else { l.case_a };
                let reasons = l.reasons.split(',').map(str::to_owned).collect();
                Ok((parsed(&other, CaseId::parse, "link case id")?, reasons))
            })
            .collect()
    }
}
