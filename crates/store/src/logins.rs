//! What slows password guessing without an IP address (ADR 0022): failed logins per
//! typed address, known or not (found by a hash of the address, so an unknown address
//! behaves as a known one does), and failed logins per minute across all addresses.
//! Written only in audited transactions, which queue on the audit log's lock, so two
//! failures never count as one.

use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};

use crate::entity::{login_budget, login_guard};
use crate::{Audited, Store, StoreError};

/// Failed logins of one address since its last success or unlock.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Guard {
    pub failures: u32,
    /// No attempt is taken before this (Unix seconds).
    pub blocked_until: i64,
    /// No attempt is taken until an admin unlocks the address.
    pub locked: bool,
}

impl Store {
    /// The guard of an address (by its hash); the default when it has none.
    pub async fn login_guard(&self, address: &[u8; 32]) -> Result<Guard, StoreError> {
        let row = login_guard::Entity::find_by_id(hex::encode(address))
            .one(self.connection())
            .await?;
        Ok(row.map_or_else(Guard::default, |r| Guard {
            failures: u32::try_from(r.failures).unwrap_or(0),
            blocked_until: r.blocked_until,
            locked: r.locked,
        }))
    }

    /// Forgets the failures of addresses that are not locked and have not failed since
    /// `before`: an old mistyped password counts no more.
    pub async fn forget_old_login_failures(&self, before: i64) -> Result<u64, StoreError> {
        let res = login_guard::Entity::delete_many()
            .filter(login_guard::Column::Locked.eq(false))
            .filter(login_guard::Column::LastFailure.lt(before))
            .exec(self.connection())
            .await?;
        Ok(res.rows_affected)
    }

    /// Failed logins counted in `minute` (Unix seconds / 60).
    pub async fn failed_logins_in(&self, minute: i64) -> Result<u32, StoreError> {
        let row = login_budget::Entity::find_by_id(minute)
            .one(self.connection())
            .await?;
        Ok(row.map_or(0, |r| u32::try_from(r.failures).unwrap_or(u32::MAX)))
    }
}

impl Audited {
    /// Counts a failed login of `address` at `now` in its guard and in the minute's budget;
    /// `next` says, from the failures so far, how long the address must wait and
    /// whether it is now locked. Returns the guard as written.
    pub async fn count_failed_login(
        &self,
        address: &[u8; 32],
        now: i64,
        next: impl FnOnce(u32) -> (i64, bool),
    ) -> Result<Guard, StoreError> {
        let minute = now.div_euclid(60);
        let key = hex::encode(address);
        let before = login_guard::Entity::find_by_id(key.clone())
            .one(&self.txn)
            .await?;
        let failures = before
            .as_ref()
            .map_or(0, |r| u32::try_from(r.failures).unwrap_or(0))
            .saturating_add(1);
        let (blocked_until, locked) = next(failures);
        let failures_col = i32::try_from(failures).unwrap_or(i32::MAX);
        login_guard::Entity::insert(login_guard::ActiveModel {
            address: Set(key),
            failures: Set(failures_col),
            last_failure: Set(now),
            blocked_until: Set(blocked_until),
            locked: Set(locked),
        })
        .on_conflict(
            OnConflict::column(login_guard::Column::Address)
                .update_columns([
                    login_guard::Column::Failures,
                    login_guard::Column::LastFailure,
                    login_guard::Column::BlockedUntil,
                    login_guard::Column::Locked,
                ])
                .to_owned(),
        )
        .exec_without_returning(&self.txn)
        .await?;
        login_budget::Entity::insert(login_budget::ActiveModel {
            minute: Set(minute),
            failures: Set(1),
        })
        .on_conflict(
            OnConflict::column(login_budget::Column::Minute)
                .value(
                    login_budget::Column::Failures,
                    Expr::col((login_budget::Entity, login_budget::Column::Failures)).add(1),
                )
                .to_owned(),
        )
        .exec_without_returning(&self.txn)
        .await?;
        // Earlier minutes count for nothing any more.
        login_budget::Entity::delete_many()
            .filter(login_budget::Column::Minute.lt(minute))
            .exec(&self.txn)
            .await?;
        Ok(Guard {
            failures,
            blocked_until,
            locked,
        })
    }

    /// Forgets an address's failures (a successful login, or an admin's unlock). True
    /// if it had any.
    pub async fn clear_login_guard(&self, address: &[u8; 32]) -> Result<bool, StoreError> {
        let res = login_guard::Entity::delete_by_id(hex::encode(address))
            .exec(&self.txn)
            .await?;
        Ok(res.rows_affected > 0)
    }
}
