//! Related cases: keyed fingerprints of what a case names, and the links between cases
//! that share something selective.

use std::collections::HashMap;

use redress_domain::CaseId;
use sea_orm::{ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter};

use crate::connection::parsed;
use crate::entity::{case_link, fingerprint};
use crate::{Store, StoreError};

/// Links are stored once per pair, smaller id first.
pub(crate) fn ordered(a: CaseId, b: CaseId) -> (String, String) {
    let (a, b) = (a.to_string(), b.to_string());
    if a <= b { (a, b) } else { (b, a) }
}

impl Store {
    /// Cases (other than `case`) that share one of these fingerprints, with the kinds
    /// they share.
    pub async fn cases_sharing(
        &self,
        case: CaseId,
        fingerprints: &[(String, String)],
    ) -> Result<Vec<(CaseId, Vec<String>)>, StoreError> {
        let mut shared: HashMap<CaseId, Vec<String>> = HashMap::new();
        for (kind, fp) in fingerprints {
            for row in fingerprint::Entity::find()
                .filter(fingerprint::Column::Kind.eq(kind.as_str()))
                .filter(fingerprint::Column::Fingerprint.eq(fp.as_str()))
                .filter(fingerprint::Column::CaseId.ne(case.to_string()))
                .all(self.connection())
                .await?
            {
                let kinds = shared
                    .entry(parsed(&row.case_id, CaseId::parse, "fingerprint case id")?)
                    .or_default();
                if !kinds.contains(kind) {
                    kinds.push(kind.clone());
                }
            }
        }
        let mut out: Vec<(CaseId, Vec<String>)> = shared
            .into_iter()
            .map(|(id, mut kinds)| {
                kinds.sort();
                (id, kinds)
            })
            .collect();
        out.sort();
        Ok(out)
    }

    /// Number of stored fingerprints (zero until a case has been triaged).
    pub async fn fingerprint_count(&self) -> Result<u64, StoreError> {
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
        rows.into_iter()
            .map(|l| {
                let other = if l.case_a == id { l.case_b } else { l.case_a };
                let reasons = l.reasons.split(',').map(str::to_owned).collect();
                Ok((parsed(&other, CaseId::parse, "link case id")?, reasons))
            })
            .collect()
    }
}
