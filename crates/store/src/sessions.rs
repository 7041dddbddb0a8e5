//! Portal sessions (ADR 0022): rows found by the hash of the key in the browser's
//! cookie, so any portal process serves any session. The unlocked identity a row keeps
//! is sealed to that key, which only the browser holds.

use redress_domain::{AccountId, SessionStage};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};

use crate::connection::parsed;
use crate::entity::session;
use crate::{Audited, Store, StoreError};

/// A session as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredSession {
    pub lookup: [u8; 32],
    pub account: AccountId,
    pub stage: SessionStage,
    /// The account's identity, sealed to the cookie's key.
    pub sealed_identity: Vec<u8>,
    /// An authenticator secret being enrolled, sealed to the cookie's key.
    pub pending_totp: Option<Vec<u8>>,
    pub created_at: i64,
    pub last_seen: i64,
    pub expires_at: i64,
}

#[derive(Clone, Debug)]
pub struct NewSession {
    pub lookup: [u8; 32],
    pub account: AccountId,
    pub stage: SessionStage,
    pub sealed_identity: Vec<u8>,
    pub created_at: i64,
    pub expires_at: i64,
}

fn stored(m: session::Model, lookup: [u8; 32]) -> Result<StoredSession, StoreError> {
    Ok(StoredSession {
        lookup,
        account: parsed(&m.account_id, AccountId::parse, "session account")?,
        stage: parsed(&m.stage, SessionStage::parse, "session stage")?,
        sealed_identity: m.sealed_identity,
        pending_totp: m.pending_totp,
        created_at: m.created_at,
        last_seen: m.last_seen,
        expires_at: m.expires_at,
    })
}

impl Store {
    pub async fn session(&self, lookup: &[u8; 32]) -> Result<Option<StoredSession>, StoreError> {
        session::Entity::find_by_id(hex::encode(lookup))
            .one(self.connection())
            .await?
            .map(|m| stored(m, *lookup))
            .transpose()
    }

    /// Records activity on a session (its idle time counts from here).
    pub async fn touch_session(&self, lookup: &[u8; 32], now: i64) -> Result<(), StoreError> {
        session::Entity::update_many()
            .col_expr(session::Column::LastSeen, Expr::value(now))
            .filter(session::Column::Id.eq(hex::encode(lookup)))
            .exec(self.connection())
            .await?;
        Ok(())
    }

    /// Keeps an authenticator secret being enrolled (sealed to the cookie's key).
    pub async fn set_pending_totp(&self, lookup: &[u8; 32], sealed: &[u8]) -> Result<(), StoreError> {
        session::Entity::update_many()
            .col_expr(session::Column::PendingTotp, Expr::value(sealed.to_vec()))
            .filter(session::Column::Id.eq(hex::encode(lookup)))
            .exec(self.connection())
            .await?;
        Ok(())
    }

    /// Deletes a session that has run out. True if there was one.
    pub async fn forget_session(&self, lookup: &[u8; 32]) -> Result<bool, StoreError> {
        let res = session::Entity::delete_by_id(hex::encode(lookup))
            .exec(self.connection())
            .await?;
        Ok(res.rows_affected > 0)
    }

    /// Deletes every session past its absolute end at `now`, or idle since before
    /// `idle_since`: what nobody came back to.
    pub async fn forget_stale_sessions(&self, now: i64, idle_since: i64) -> Result<u64, StoreError> {
        let res = session::Entity::delete_many()
            .filter(
                session::Column::ExpiresAt
                    .lte(now)
                    .or(session::Column::LastSeen.lt(idle_since)),
            )
            .exec(self.connection())
            .await?;
        Ok(res.rows_affected)
    }
}

impl Audited {
    pub async fn insert_session(&self, new: &NewSession) -> Result<(), StoreError> {
        session::ActiveModel {
            id: Set(hex::encode(new.lookup)),
            account_id: Set(new.account.to_string()),
            stage: Set(new.stage.as_str().to_owned()),
            sealed_identity: Set(new.sealed_identity.clone()),
            pending_totp: Set(None),
            created_at: Set(new.created_at),
            last_seen: Set(new.created_at),
            expires_at: Set(new.expires_at),
        }
        .insert(&self.txn)
        .await?;
        Ok(())
    }

    /// Ends one session (a logout). True if it existed.
    pub async fn delete_session(&self, lookup: &[u8; 32]) -> Result<bool, StoreError> {
        let res = session::Entity::delete_by_id(hex::encode(lookup))
            .exec(&self.txn)
            .await?;
        Ok(res.rows_affected > 0)
    }

    /// Ends every session of every account (a forced rotation of the portal secret,
    /// ADR 0031). How many there were.
    pub async fn end_every_session(&self) -> Result<u64, StoreError> {
        let res = session::Entity::delete_many().exec(&self.txn).await?;
        Ok(res.rows_affected)
    }

    /// An enrolling session becomes a full one once the authenticator is confirmed.
    pub async fn complete_session(&self, lookup: &[u8; 32]) -> Result<(), StoreError> {
        session::Entity::update_many()
            .col_expr(session::Column::Stage, Expr::value(SessionStage::Full.as_str()))
            .col_expr(session::Column::PendingTotp, Expr::value(Option::<Vec<u8>>::None))
            .filter(session::Column::Id.eq(hex::encode(lookup)))
            .exec(&self.txn)
            .await?;
        Ok(())
    }
}
