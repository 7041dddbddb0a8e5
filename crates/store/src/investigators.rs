//! Investigators: who may be given cases, and how many open cases each holds.

use std::collections::HashMap;

use redress_domain::{CaseId, CaseState, InvestigatorId};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, SqlErr,
};

use crate::connection::{parsed, to_i32, to_u32};
use crate::entity::{assignment, investigator};
use crate::{Store, StoreError};

/// An investigator as routing sees them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Investigator {
    pub id: InvestigatorId,
    pub email: String,
    /// `age1…`: case keys are wrapped to it.
    pub recipient: String,
    pub teams: Vec<String>,
    /// Open cases they can hold at once.
    pub capacity: u32,
    pub active: bool,
    /// When it was registered (exact: an admin's act).
    pub created_at: i64,
}

#[derive(Clone, Debug)]
pub struct NewInvestigator {
    pub email: String,
    pub recipient: String,
    pub teams: Vec<String>,
    pub capacity: u32,
}

fn investigator(m: investigator::Model) -> Result<Investigator, StoreError> {
    Ok(Investigator {
        id: parsed(&m.id, InvestigatorId::parse, "investigator id")?,
        teams: serde_json::from_str(&m.teams).map_err(|_| StoreError::Corrupt("investigator teams"))?,
        capacity: to_u32(m.capacity)?,
        email: m.email,
        recipient: m.recipient,
        active: m.active,
        created_at: m.created_at,
    })
}

impl Store {
    /// Registers an investigator. Fails with `Duplicate` if the email is taken.
    pub async fn add_investigator(
        &self,
        new: &NewInvestigator,
        now: i64,
    ) -> Result<Investigator, StoreError> {
        let row = investigator::ActiveModel {
            id: Set(InvestigatorId::random().to_string()),
            email: Set(new.email.clone()),
            recipient: Set(new.recipient.clone()),
            teams: Set(serde_json::to_string(&new.teams).map_err(|_| StoreError::Corrupt("teams"))?),
            capacity: Set(to_i32(new.capacity)?),
            active: Set(true),
            created_at: Set(now),
        };
        match row.insert(self.connection()).await {
            Ok(m) => investigator(m),
            Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                Err(StoreError::Duplicate("an investigator with this email exists"))
            }
            Err(e) => Err(e.into()),
        }
    }

    pub async fn investigators(&self) -> Result<Vec<Investigator>, StoreError> {
        investigator::Entity::find()
            .order_by_asc(investigator::Column::Email)
            .all(self.connection())
            .await?
            .into_iter()
            .map(investigator)
            .collect()
    }

    /// Open cases (not closed or purged) per investigator. Counted in the database:
    /// routing runs for every case and must not read them all.
    pub async fn open_case_loads(&self) -> Result<HashMap<InvestigatorId, u32>, StoreError> {
        #[derive(sea_orm::FromQueryResult)]
        struct Load {
            investigator_id: String,
            open_cases: i64,
        }
        let closed: Vec<String> = CaseState::ALL
            .iter()
            .filter(|s| !s.is_open())
            .map(|s| format!("'{}'", s.as_str()))
            .collect();
        let sql = format!(
            "SELECT a.investigator_id AS investigator_id, COUNT(*) AS open_cases \
             FROM case_assignments a JOIN cases c ON c.id = a.case_id \
             WHERE c.state NOT IN ({}) GROUP BY a.investigator_id",
            closed.join(", ")
        );
        let rows = <Load as sea_orm::FromQueryResult>::find_by_statement(sea_orm::Statement::from_string(
            self.backend(),
            sql,
        ))
        .all(self.connection())
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok((
                    parsed(
                        &r.investigator_id,
                        InvestigatorId::parse,
                        "assignment investigator",
                    )?,
                    u32::try_from(r.open_cases).map_err(|_| StoreError::Corrupt("case count"))?,
                ))
            })
            .collect()
    }

    /// Investigators a case is assigned to.
    pub async fn assignees(&self, case: CaseId) -> Result<Vec<Investigator>, StoreError> {
        let ids: Vec<String> = assignment::Entity::find()
            .filter(assignment::Column::CaseId.eq(case.to_string()))
            .all(self.connection())
            .await?
            .into_iter()
            .map(|a| a.investigator_id)
            .collect();
        investigator::Entity::find()
            .filter(investigator::Column::Id.is_in(ids))
            .order_by_asc(investigator::Column::Email)
            .all(self.connection())
            .await?
            .into_iter()
            .map(investigator)
            .collect()
    }
}
