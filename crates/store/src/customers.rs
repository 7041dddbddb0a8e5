//! The customer register (ADR 0025): customers, and the history of each one's status.
//! Every write is made in an [`Audited`] transaction with the entry that records it;
//! the log's lock, which such a transaction holds, also keeps two changes of one
//! customer from interleaving.

use redress_domain::{AccountId, CaseId, CustomerDetails, CustomerId, CustomerStatus};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use crate::connection::{parsed, to_u32};
use crate::entity::{customer, customer_change};
use crate::{Audited, Store, StoreError};

/// A customer as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Customer {
    pub id: CustomerId,
    pub name: String,
    pub country: String,
    pub products: String,
    pub status: CustomerStatus,
    pub created_at: i64,
}

/// A change of status to record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewCustomerChange {
    pub customer: CustomerId,
    pub to: CustomerStatus,
    pub reason: String,
    pub at: i64,
    pub actor: AccountId,
    /// The concluded case whose outcome makes the change.
    pub case: Option<CaseId>,
}

/// A change of status as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomerChange {
    pub seq: u32,
    pub from: CustomerStatus,
    pub to: CustomerStatus,
    pub reason: String,
    pub at: i64,
    pub actor: AccountId,
    pub case: Option<CaseId>,
}

fn customer(m: customer::Model) -> Result<Customer, StoreError> {
    Ok(Customer {
        id: parsed(&m.id, CustomerId::parse, "customer id")?,
        status: parsed(&m.status, CustomerStatus::parse, "customer status")?,
        name: m.name,
        country: m.country,
        products: m.products,
        created_at: m.created_at,
    })
}

fn change(m: customer_change::Model) -> Result<CustomerChange, StoreError> {
    Ok(CustomerChange {
        seq: to_u32(m.seq)?,
        from: parsed(&m.from_status, CustomerStatus::parse, "customer status")?,
        to: parsed(&m.to_status, CustomerStatus::parse, "customer status")?,
        actor: parsed(&m.actor, AccountId::parse, "change actor")?,
        case: m
            .case_id
            .map(|c| parsed(&c, CaseId::parse, "change case"))
            .transpose()?,
        reason: m.reason,
        at: m.at,
    })
}

async fn customer_on<C: ConnectionTrait>(db: &C, id: CustomerId) -> Result<Option<Customer>, StoreError> {
    customer::Entity::find_by_id(id.to_string())
        .one(db)
        .await?
        .map(customer)
        .transpose()
}

impl Store {
    /// The register, by name.
    pub async fn customers(&self) -> Result<Vec<Customer>, StoreError> {
        customer::Entity::find()
            .order_by_asc(customer::Column::Name)
            .all(self.connection())
            .await?
            .into_iter()
            .map(customer)
            .collect()
    }

    pub async fn customer(&self, id: CustomerId) -> Result<Option<Customer>, StoreError> {
        customer_on(self.connection(), id).await
    }

    /// A customer's changes of status, newest first.
    pub async fn customer_changes(&self, id: CustomerId) -> Result<Vec<CustomerChange>, StoreError> {
        customer_change::Entity::find()
            .filter(customer_change::Column::CustomerId.eq(id.to_string()))
            .order_by_desc(customer_change::Column::Seq)
            .all(self.connection())
            .await?
            .into_iter()
            .map(change)
            .collect()
    }
}

impl Audited {
    /// Whether another customer than `except` has this name.
    async fn name_taken(&self, name: &str, except: Option<CustomerId>) -> Result<bool, StoreError> {
        let mut find = customer::Entity::find().filter(customer::Column::Name.eq(name));
        if let Some(id) = except {
            find = find.filter(customer::Column::Id.ne(id.to_string()));
        }
        Ok(find.one(&self.txn).await?.is_some())
    }

    /// Adds a customer, active. `Duplicate` if the name is taken.
    pub async fn add_customer(
        &self,
        id: CustomerId,
        details: &CustomerDetails,
        now: i64,
    ) -> Result<(), StoreError> {
        if self.name_taken(details.name(), None).await? {
            return Err(StoreError::Duplicate("a customer with this name exists"));
        }
        customer::Entity::insert(customer::ActiveModel {
            id: Set(id.to_string()),
            name: Set(details.name().to_owned()),
            country: Set(details.country().to_owned()),
            products: Set(details.products().to_owned()),
            status: Set(CustomerStatus::Active.as_str().to_owned()),
            created_at: Set(now),
        })
        .exec_without_returning(&self.txn)
        .await?;
        Ok(())
    }

    /// Replaces a customer's details. False if there is no such customer; `Duplicate`
    /// if another has the name.
    pub async fn edit_customer(&self, id: CustomerId, details: &CustomerDetails) -> Result<bool, StoreError> {
        if self.name_taken(details.name(), Some(id)).await? {
            return Err(StoreError::Duplicate("a customer with this name exists"));
        }
        let res = customer::Entity::update_many()
            .col_expr(customer::Column::Name, Expr::value(details.name()))
            .col_expr(customer::Column::Country, Expr::value(details.country()))
            .col_expr(customer::Column::Products, Expr::value(details.products()))
            .filter(customer::Column::Id.eq(id.to_string()))
            .exec(&self.txn)
            .await?;
        Ok(res.rows_affected == 1)
    }

    /// Gives a customer a status and records the change after its last one, from the
    /// status it had. The customer before the change, or `None` (nothing written) if
    /// there is no such customer.
    pub async fn change_customer_status(
        &self,
        new: &NewCustomerChange,
    ) -> Result<Option<Customer>, StoreError> {
        let Some(before) = customer_on(&self.txn, new.customer).await? else {
            return Ok(None);
        };
        customer::Entity::update_many()
            .col_expr(customer::Column::Status, Expr::value(new.to.as_str()))
            .filter(customer::Column::Id.eq(new.customer.to_string()))
            .exec(&self.txn)
            .await?;
        let last: Option<Option<i32>> = customer_change::Entity::find()
            .select_only()
            .expr(Expr::col(customer_change::Column::Seq).max())
            .filter(customer_change::Column::CustomerId.eq(new.customer.to_string()))
            .into_tuple()
            .one(&self.txn)
            .await?;
        customer_change::Entity::insert(customer_change::ActiveModel {
            id: Set(uuid::Uuid::new_v4().to_string()),
            customer_id: Set(new.customer.to_string()),
            seq: Set(last.flatten().unwrap_or(0) + 1),
            from_status: Set(before.status.as_str().to_owned()),
            to_status: Set(new.to.as_str().to_owned()),
            reason: Set(new.reason.clone()),
            at: Set(new.at),
            actor: Set(new.actor.to_string()),
            case_id: Set(new.case.map(|c| c.to_string())),
        })
        .exec_without_returning(&self.txn)
        .await?;
        Ok(Some(before))
    }
}
