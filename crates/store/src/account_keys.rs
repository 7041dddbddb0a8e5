//! An account's own key replaced (ADR 0033): by the person, in the portal, or by an
//! admin with the recovery identity when the password or authenticator is lost.
//!
//! While a change lasts, the account has a row in `account_key_changes` naming the key
//! being left. The wraps still to move are whatever the database says is not made to
//! the account's key, so a change killed at any point is finished by running it again;
//! the row goes only in a transaction that finds none left.

use redress_domain::{AccountId, AccountState, CaseId, HolderKind, InvestigatorId};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, PaginatorTrait, QueryFilter,
};

use crate::accounts::account_on;
use crate::connection::{parsed, to_i32};
use crate::entity::{account, account_key_change, investigator, invitation, key_wrap, session};
use crate::{Audited, PasswordSeal, Sql, Store, StoreError};

/// Why an account's key is being changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyChangeKind {
    /// The person replaced it, holding the old identity.
    Rotation,
    /// It was lost; the recovery identity re-wraps the cases.
    Recovery,
}

impl KeyChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rotation => "rotation",
            Self::Recovery => "recovery",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [Self::Rotation, Self::Recovery]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// A change of an account's key under way.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyChange {
    pub account: AccountId,
    pub kind: KeyChangeKind,
    /// `age1…` of the key being left.
    pub old_recipient: String,
    /// For a rotation: the identity being retired, sealed to the account's new one.
    pub previous_identity: Option<Vec<u8>>,
    pub started_at: i64,
}

/// The account's new identity, for [`Audited::begin_key_rotation`].
#[derive(Clone, Debug)]
pub struct RotatedIdentity {
    /// `age1…` of the new identity.
    pub recipient: String,
    /// The new identity, sealed to the account's (unchanged) password key.
    pub identity_wrap: Vec<u8>,
    /// The old identity, sealed to the new one.
    pub previous_identity: Vec<u8>,
    /// The session that asked: its lookup value and the new identity sealed to its
    /// cookie key. Every other session of the account ends.
    pub session: ([u8; 32], Vec<u8>),
}

/// One of an investigator's wraps still made to another key, with the recovery wrap of
/// its case, which opens the same case key.
#[derive(Clone, Debug)]
pub struct WrapToRecover {
    pub id: String,
    pub case: CaseId,
    /// The key the investigator's wrap is made to now.
    pub recipient: String,
    pub recovery_ciphertext: Option<Vec<u8>>,
    /// The case key's public half, which the opened secret must match.
    pub case_recipient: String,
}

#[derive(FromQueryResult)]
struct RecoverRow {
    id: String,
    case_id: String,
    holder_recipient: String,
    recovery: Option<Vec<u8>>,
    case_recipient: String,
}

fn key_change(m: account_key_change::Model) -> Result<KeyChange, StoreError> {
    Ok(KeyChange {
        account: parsed(&m.account_id, AccountId::parse, "key change account")?,
        kind: parsed(&m.kind, KeyChangeKind::parse, "key change kind")?,
        old_recipient: m.old_recipient,
        previous_identity: m.previous_identity,
        started_at: m.started_at,
    })
}

/// How many of `investigator`'s wraps are made to `recipient` (`made_to`), or not.
async fn wraps_on<C: ConnectionTrait>(
    db: &C,
    investigator: InvestigatorId,
    recipient: &str,
    made_to: bool,
) -> Result<u64, StoreError> {
    let on_key = if made_to {
        key_wrap::Column::HolderRecipient.eq(recipient)
    } else {
        key_wrap::Column::HolderRecipient.ne(recipient)
    };
    Ok(key_wrap::Entity::find()
        .filter(key_wrap::Column::HolderKind.eq(HolderKind::Investigator.as_str()))
        .filter(key_wrap::Column::HolderId.eq(investigator.to_string()))
        .filter(on_key)
        .count(db)
        .await?)
}

impl Store {
    /// The change of `account`'s key under way, if any.
    pub async fn key_change(&self, account: AccountId) -> Result<Option<KeyChange>, StoreError> {
        account_key_change::Entity::find_by_id(account.to_string())
            .one(self.connection())
            .await?
            .map(key_change)
            .transpose()
    }

    /// Up to `limit` of `investigator`'s wraps not made to `recipient`, in id order after
    /// `after`, each with its case's recovery wrap.
    pub async fn wraps_to_recover(
        &self,
        investigator: InvestigatorId,
        recipient: &str,
        after: Option<&str>,
        limit: u64,
    ) -> Result<Vec<WrapToRecover>, StoreError> {
        let mut sql = Sql::new(self.backend());
        sql.push(
            "SELECT w.id, w.case_id, w.holder_recipient, r.ciphertext AS recovery, c.case_recipient \
             FROM key_wraps w JOIN cases c ON c.id = w.case_id \
             LEFT JOIN key_wraps r ON r.case_id = w.case_id AND r.holder_kind = ",
        )
        .bind(HolderKind::Recovery.as_str());
        sql.push(" WHERE w.holder_kind = ")
            .bind(HolderKind::Investigator.as_str());
        sql.push(" AND w.holder_id = ").bind(investigator.to_string());
        sql.push(" AND w.holder_recipient <> ").bind(recipient);
        if let Some(after) = after {
            sql.push(" AND w.id > ").bind(after);
        }
        sql.push(" ORDER BY w.id LIMIT ")
            .bind(i64::try_from(limit).unwrap_or(i64::MAX));
        let rows = self.connection().query_all_raw(sql.statement()).await?;
        rows.iter()
            .map(|row| {
                let r = RecoverRow::from_query_result(row, "")?;
                Ok(WrapToRecover {
                    case: parsed(&r.case_id, CaseId::parse, "wrap case id")?,
                    id: r.id,
                    recipient: r.holder_recipient,
                    recovery_ciphertext: r.recovery,
                    case_recipient: r.case_recipient,
                })
            })
            .collect()
    }

    /// How many of `investigator`'s wraps are not made to `recipient`.
    pub async fn investigator_wraps_left(
        &self,
        investigator: InvestigatorId,
        recipient: &str,
    ) -> Result<u64, StoreError> {
        wraps_on(self.connection(), investigator, recipient, false).await
    }
}

impl Audited {
    /// Gives the account a new identity, keeping the old one sealed to it until its
    /// wraps are moved: the account's and its routing row's key become the new one at
    /// once (from here on nothing new is wrapped to the old key), the asking session
    /// holds the new identity and the others end. False, changing nothing, if the
    /// account's key is no longer `old_recipient` or a change is under way (another
    /// request got there first).
    pub async fn begin_key_rotation(
        &self,
        id: AccountId,
        old_recipient: &str,
        new: &RotatedIdentity,
        now: i64,
    ) -> Result<bool, StoreError> {
        let Some(a) = account_on(&self.txn, id).await? else {
            return Ok(false);
        };
        let busy = account_key_change::Entity::find_by_id(id.to_string())
            .one(&self.txn)
            .await?
            .is_some();
        if busy || a.recipient != old_recipient || a.state != AccountState::Active {
            return Ok(false);
        }
        account_key_change::Entity::insert(account_key_change::ActiveModel {
            account_id: Set(id.to_string()),
            kind: Set(KeyChangeKind::Rotation.as_str().to_owned()),
            old_recipient: Set(old_recipient.to_owned()),
            previous_identity: Set(Some(new.previous_identity.clone())),
            started_at: Set(now),
        })
        .exec_without_returning(&self.txn)
        .await?;
        account::Entity::update_many()
            .col_expr(account::Column::Recipient, Expr::value(new.recipient.clone()))
            .col_expr(
                account::Column::IdentityWrap,
                Expr::value(new.identity_wrap.clone()),
            )
            .filter(account::Column::Id.eq(id.to_string()))
            .exec(&self.txn)
            .await?;
        self.route_to(a.investigator_id, &new.recipient).await?;
        let (lookup, sealed) = &new.session;
        session::Entity::update_many()
            .col_expr(session::Column::SealedIdentity, Expr::value(sealed.clone()))
            .filter(session::Column::Id.eq(hex::encode(lookup)))
            .exec(&self.txn)
            .await?;
        self.end_sessions(id, Some(lookup)).await?;
        Ok(true)
    }

    async fn route_to(
        &self,
        investigator: Option<InvestigatorId>,
        recipient: &str,
    ) -> Result<(), StoreError> {
        if let Some(inv) = investigator {
            investigator::Entity::update_many()
                .col_expr(investigator::Column::Recipient, Expr::value(recipient))
                .filter(investigator::Column::Id.eq(inv.to_string()))
                .exec(&self.txn)
                .await?;
        }
        Ok(())
    }

    /// Ends the account's key change of `kind` if none of its wraps is left to move:
    /// for a rotation, none made to the key being left (wraps to a key the account
    /// held before the portal stay as they were); for a recovery, none made to any key
    /// but the account's. The row (and with it a rotation's previous identity) goes.
    /// False, changing nothing, if wraps are left (a hand-over raced the pass: run it
    /// again) or no such change is under way.
    pub async fn finish_key_change(&self, id: AccountId, kind: KeyChangeKind) -> Result<bool, StoreError> {
        let Some(a) = account_on(&self.txn, id).await? else {
            return Ok(false);
        };
        let Some(change) = account_key_change::Entity::find_by_id(id.to_string())
            .one(&self.txn)
            .await?
            .map(key_change)
            .transpose()?
            .filter(|c| c.kind == kind)
        else {
            return Ok(false);
        };
        if let Some(inv) = a.investigator_id {
            let left = match kind {
                KeyChangeKind::Rotation => wraps_on(&self.txn, inv, &change.old_recipient, true).await?,
                KeyChangeKind::Recovery => wraps_on(&self.txn, inv, &a.recipient, false).await?,
            };
            if left > 0 {
                return Ok(false);
            }
            // A recovered account's routing row takes its key (setup did; an admin may
            // have re-registered it meanwhile).
            self.route_to(Some(inv), &a.recipient).await?;
        }
        let gone = account_key_change::Entity::delete_many()
            .filter(account_key_change::Column::AccountId.eq(change.account.to_string()))
            .filter(account_key_change::Column::Kind.eq(kind.as_str()))
            .exec(&self.txn)
            .await?;
        Ok(gone.rows_affected == 1)
    }

    /// Starts recovering an account whose password or authenticator is lost: its old
    /// password and authenticator stop working (state `recovering`, authenticator and
    /// recovery codes forgotten, sessions ended, no new cases), its wraps stay as they
    /// are, and `invitation` (already stored in this transaction) is the link to set it
    /// up anew. A rotation under way is replaced: the recovery moves its wraps too.
    pub async fn begin_recovery(&self, id: AccountId, now: i64) -> Result<(), StoreError> {
        let Some(a) = account_on(&self.txn, id).await? else {
            return Err(StoreError::Corrupt("account vanished"));
        };
        account_key_change::Entity::insert(account_key_change::ActiveModel {
            account_id: Set(id.to_string()),
            kind: Set(KeyChangeKind::Recovery.as_str().to_owned()),
            old_recipient: Set(a.recipient.clone()),
            previous_identity: Set(None),
            started_at: Set(now),
        })
        .on_conflict(
            OnConflict::column(account_key_change::Column::AccountId)
                .update_columns([
                    account_key_change::Column::Kind,
                    account_key_change::Column::PreviousIdentity,
                    account_key_change::Column::StartedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(&self.txn)
        .await?;
        account::Entity::update_many()
            .col_expr(
                account::Column::State,
                Expr::value(AccountState::Recovering.as_str()),
            )
            .filter(account::Column::Id.eq(id.to_string()))
            .exec(&self.txn)
            .await?;
        self.reset_totp(id).await
    }

    /// Sets up a recovering account anew from its recovery link: a new identity (its
    /// public half now the account's and its routing row's key) sealed to a new
    /// password key; the account may log in again and enrols an authenticator. False,
    /// writing nothing, if the link is used up or the account is not recovering.
    pub async fn set_up_again(
        &self,
        id: AccountId,
        recipient: &str,
        seal: &PasswordSeal,
        invitation: &[u8; 32],
    ) -> Result<bool, StoreError> {
        let Some(a) = account_on(&self.txn, id).await? else {
            return Ok(false);
        };
        if a.state != AccountState::Recovering {
            return Ok(false);
        }
        let used = invitation::Entity::delete_by_id(hex::encode(invitation))
            .exec(&self.txn)
            .await?;
        if used.rows_affected == 0 {
            return Ok(false);
        }
        account::Entity::update_many()
            .col_expr(account::Column::State, Expr::value(AccountState::Active.as_str()))
            .col_expr(account::Column::Recipient, Expr::value(recipient))
            .col_expr(
                account::Column::PasswordRecipient,
                Expr::value(seal.password_recipient.clone()),
            )
            .col_expr(
                account::Column::IdentityWrap,
                Expr::value(seal.identity_wrap.clone()),
            )
            .col_expr(account::Column::KdfSalt, Expr::value(seal.kdf.salt.clone()))
            .col_expr(account::Column::KdfMKib, Expr::value(to_i32(seal.kdf.m_kib)?))
            .col_expr(account::Column::KdfT, Expr::value(to_i32(seal.kdf.t)?))
            .col_expr(account::Column::KdfP, Expr::value(to_i32(seal.kdf.p)?))
            .filter(account::Column::Id.eq(id.to_string()))
            .exec(&self.txn)
            .await?;
        self.route_to(a.investigator_id, recipient).await?;
        self.sync_routing(id).await?;
        Ok(true)
    }
}
