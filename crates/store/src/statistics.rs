//! What the statistics page reads (ADR 0027): each case's state, priority, outcome and
//! the times of its deadlines and steps, with no id, reference or content; and how
//! many handed-over cases named each product.

use redress_domain::{CaseState, Outcome, Priority};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ConnectionTrait, EntityTrait, QueryOrder, QuerySelect};

use crate::entity::{case, product_count};
use crate::{Store, StoreError};

/// One case as the statistics count it: no id, no reference, nothing sealed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseFigures {
    pub state: CaseState,
    pub priority: Option<Priority>,
    pub outcome: Option<Outcome>,
    /// The hour it arrived.
    pub received_at: i64,
    pub ack_due: Option<i64>,
    pub acknowledged_at: Option<i64>,
    pub feedback_due: Option<i64>,
    pub feedback_given_at: Option<i64>,
    pub closed_at: Option<i64>,
}

type FiguresRow = (
    String,
    Option<String>,
    Option<String>,
    i64,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
);

impl Store {
    /// Every case's figures. The order of the rows is the order of the case ids
    /// (random), so it follows nothing about the cases.
    pub async fn case_figures(&self) -> Result<Vec<CaseFigures>, StoreError> {
        let rows: Vec<FiguresRow> = case::Entity::find()
            .select_only()
            .columns([
                case::Column::State,
                case::Column::Priority,
                case::Column::Outcome,
                case::Column::ReceivedAt,
                case::Column::AckDue,
                case::Column::AcknowledgedAt,
                case::Column::FeedbackDue,
                case::Column::FeedbackGivenAt,
                case::Column::ClosedAt,
            ])
            .order_by_asc(case::Column::Id)
            .into_tuple()
            .all(self.connection())
            .await?;
        rows.into_iter()
            .map(|r| {
                Ok(CaseFigures {
                    state: CaseState::parse(&r.0).ok_or(StoreError::Corrupt("case state"))?,
                    priority: r
                        .1
                        .map(|p| Priority::parse(&p).ok_or(StoreError::Corrupt("case priority")))
                        .transpose()?,
                    outcome: r
                        .2
                        .map(|o| Outcome::parse(&o).ok_or(StoreError::Corrupt("case outcome")))
                        .transpose()?,
                    received_at: r.3,
                    ack_due: r.4,
                    acknowledged_at: r.5,
                    feedback_due: r.6,
                    feedback_given_at: r.7,
                    closed_at: r.8,
                })
            })
            .collect()
    }

    /// How many handed-over cases named each product, by product.
    pub async fn product_counts(&self) -> Result<Vec<(String, u64)>, StoreError> {
        product_count::Entity::find()
            .order_by_asc(product_count::Column::Product)
            .all(self.connection())
            .await?
            .into_iter()
            .map(|m| {
                let n = u64::try_from(m.cases).map_err(|_| StoreError::Corrupt("product count"))?;
                Ok((m.product, n))
            })
            .collect()
    }
}

/// Counts one more case naming `product`, in the hand-over's transaction.
pub(crate) async fn count_product(txn: &impl ConnectionTrait, product: &str) -> Result<(), StoreError> {
    product_count::Entity::insert(product_count::ActiveModel {
        product: sea_orm::ActiveValue::Set(product.to_owned()),
        cases: sea_orm::ActiveValue::Set(1),
    })
    .on_conflict(
        OnConflict::column(product_count::Column::Product)
            .value(
                product_count::Column::Cases,
                Expr::col((product_count::Entity, product_count::Column::Cases)).add(1),
            )
            .to_owned(),
    )
    .exec_without_returning(txn)
    .await?;
    Ok(())
}
