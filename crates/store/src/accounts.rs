//! Portal accounts (ADR 0021): who may log in, with which role, and the secrets they
//! hold only sealed to their password key. Every change to an account is written in
//! an [`Audited`] transaction, with the audit entry that records it.

use redress_domain::{AccountId, AccountState, InvestigatorId, Role};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    SqlErr,
};

use crate::connection::{parsed, to_i32, to_u32};
use crate::entity::{account, investigator, invitation, recovery_code, session};
use crate::{Audited, Invitation, Store, StoreError};

/// An account as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub id: AccountId,
    pub email: String,
    pub role: Role,
    pub state: AccountState,
    /// `age1…` of the account's own identity.
    pub recipient: String,
    /// `age1…` of the key its password derives: what its secrets are sealed to.
    pub password_recipient: String,
    /// The identity, sealed to the password key.
    pub identity_wrap: Vec<u8>,
    /// The authenticator's secret, sealed to the password key; `None` until enrolled.
    pub totp_sealed: Option<Vec<u8>>,
    pub totp_last_step: Option<u64>,
    pub kdf: StoredKdf,
    /// Where cases are routed to and wrapped for, for an investigator.
    pub investigator_id: Option<InvestigatorId>,
    pub created_at: i64,
    /// The day (its first second, UTC) of the last login.
    pub last_login_day: Option<i64>,
}

impl Account {
    /// The account has an authenticator: it can log in fully.
    pub fn enrolled(&self) -> bool {
        self.totp_sealed.is_some()
    }
}

/// The salt and Argon2id cost a password key was derived with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredKdf {
    pub salt: Vec<u8>,
    pub m_kib: u32,
    pub t: u32,
    pub p: u32,
}

/// What setting a password writes: the identity sealed to the new password key.
#[derive(Clone, Debug)]
pub struct PasswordSeal {
    pub password_recipient: String,
    pub identity_wrap: Vec<u8>,
    pub kdf: StoredKdf,
}

#[derive(Clone, Debug)]
pub struct NewAccount {
    pub id: AccountId,
    pub email: String,
    pub role: Role,
    pub recipient: String,
    pub seal: PasswordSeal,
    pub created_at: i64,
}

/// Where an investigator's cases go, set when their account is made or their role
/// becomes investigator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Routing {
    /// The investigators row registered earlier for this address, if any: it is kept
    /// (its cases stay assigned) and takes the account's key.
    pub existing: Option<InvestigatorId>,
    pub teams: Vec<String>,
    pub capacity: u32,
}

fn account(m: account::Model) -> Result<Account, StoreError> {
    Ok(Account {
        id: parsed(&m.id, AccountId::parse, "account id")?,
        role: parsed(&m.role, Role::parse, "account role")?,
        state: parsed(&m.state, AccountState::parse, "account state")?,
        totp_last_step: m
            .totp_last_step
            .map(|s| u64::try_from(s).map_err(|_| StoreError::Corrupt("totp step")))
            .transpose()?,
        kdf: StoredKdf {
            salt: m.kdf_salt,
            m_kib: to_u32(m.kdf_m_kib)?,
            t: to_u32(m.kdf_t)?,
            p: to_u32(m.kdf_p)?,
        },
        investigator_id: m
            .investigator_id
            .map(|id| parsed(&id, InvestigatorId::parse, "account investigator"))
            .transpose()?,
        email: m.email,
        recipient: m.recipient,
        password_recipient: m.password_recipient,
        identity_wrap: m.identity_wrap,
        totp_sealed: m.totp_sealed,
        created_at: m.created_at,
        last_login_day: m.last_login_day,
    })
}

fn unique_violation(e: &sea_orm::DbErr) -> bool {
    matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

impl Store {
    pub async fn account(&self, id: AccountId) -> Result<Option<Account>, StoreError> {
        account_on(self.connection(), id).await
    }

    /// The account of `email`, compared as typed (addresses are stored trimmed and in
    /// lower case by the portal and the CLI).
    pub async fn account_by_email(&self, email: &str) -> Result<Option<Account>, StoreError> {
        account::Entity::find()
            .filter(account::Column::Email.eq(email))
            .one(self.connection())
            .await?
            .map(account)
            .transpose()
    }

    /// Every account, by address.
    pub async fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        account::Entity::find()
            .order_by_asc(account::Column::Email)
            .all(self.connection())
            .await?
            .into_iter()
            .map(account)
            .collect()
    }

    /// Each account's address, by account: how pages name who did something.
    pub async fn account_emails(&self) -> Result<std::collections::HashMap<AccountId, String>, StoreError> {
        Ok(self
            .accounts()
            .await?
            .into_iter()
            .map(|a| (a.id, a.email))
            .collect())
    }

    /// Accounts with `role` that may log in, for keeping at least one admin.
    pub async fn active_accounts_with_role(&self, role: Role) -> Result<u64, StoreError> {
        use sea_orm::PaginatorTrait;
        Ok(account::Entity::find()
            .filter(account::Column::Role.eq(role.as_str()))
            .filter(account::Column::State.eq(AccountState::Active.as_str()))
            .count(self.connection())
            .await?)
    }

    /// How many unused recovery codes an account has left.
    pub async fn recovery_codes_left(&self, id: AccountId) -> Result<u64, StoreError> {
        use sea_orm::PaginatorTrait;
        Ok(recovery_code::Entity::find()
            .filter(recovery_code::Column::AccountId.eq(id.to_string()))
            .count(self.connection())
            .await?)
    }
}

pub(crate) async fn account_on<C: ConnectionTrait>(
    db: &C,
    id: AccountId,
) -> Result<Option<Account>, StoreError> {
    account::Entity::find_by_id(id.to_string())
        .one(db)
        .await?
        .map(account)
        .transpose()
}

impl Audited {
    /// Stores `invitation`, replacing any earlier one for the same address: only the
    /// newest link works.
    pub async fn add_invitation(&self, invitation: &Invitation) -> Result<(), StoreError> {
        crate::invitations::insert(&self.txn, invitation).await
    }

    /// Makes the account an invitation was for, and uses the invitation up. An
    /// investigator's routing row is made (given cases once the account has enrolled)
    /// or, registered earlier, takes the account's key. False, writing nothing, if the
    /// invitation is gone (used meanwhile, or replaced); `Duplicate` if the address has
    /// an account.
    pub async fn create_account(
        &self,
        new: &NewAccount,
        routing: Option<&Routing>,
        invitation: &[u8; 32],
    ) -> Result<bool, StoreError> {
        let used = invitation::Entity::delete_by_id(hex::encode(invitation))
            .exec(&self.txn)
            .await?;
        if used.rows_affected == 0 {
            return Ok(false);
        }
        let investigator_id = match routing {
            Some(r) => Some(
                self.route(r, &new.email, &new.recipient, false, new.created_at)
                    .await?,
            ),
            None => None,
        };
        let s = &new.seal;
        let row = account::ActiveModel {
            id: Set(new.id.to_string()),
            email: Set(new.email.clone()),
            role: Set(new.role.as_str().to_owned()),
            state: Set(AccountState::Active.as_str().to_owned()),
            recipient: Set(new.recipient.clone()),
            password_recipient: Set(s.password_recipient.clone()),
            identity_wrap: Set(s.identity_wrap.clone()),
            totp_sealed: Set(None),
            totp_last_step: Set(None),
            kdf_salt: Set(s.kdf.salt.clone()),
            kdf_m_kib: Set(to_i32(s.kdf.m_kib)?),
            kdf_t: Set(to_i32(s.kdf.t)?),
            kdf_p: Set(to_i32(s.kdf.p)?),
            investigator_id: Set(investigator_id.map(|i| i.to_string())),
            created_at: Set(new.created_at),
            last_login_day: Set(None),
        };
        match account::Entity::insert(row)
            .exec_without_returning(&self.txn)
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if unique_violation(&e) => {
                Err(StoreError::Duplicate("an account with this address exists"))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Makes or updates the investigators row of `routing`, wrapping to `recipient`.
    async fn route(
        &self,
        routing: &Routing,
        email: &str,
        recipient: &str,
        active: bool,
        now: i64,
    ) -> Result<InvestigatorId, StoreError> {
        let teams = serde_json::to_string(&routing.teams).map_err(|_| StoreError::Corrupt("teams"))?;
        match routing.existing {
            Some(id) => {
                investigator::Entity::update_many()
                    .col_expr(investigator::Column::Recipient, Expr::value(recipient))
                    .col_expr(investigator::Column::Teams, Expr::value(teams))
                    .col_expr(
                        investigator::Column::Capacity,
                        Expr::value(to_i32(routing.capacity)?),
                    )
                    .filter(investigator::Column::Id.eq(id.to_string()))
                    .exec(&self.txn)
                    .await?;
                Ok(id)
            }
            None => {
                let id = InvestigatorId::random();
                investigator::ActiveModel {
                    id: Set(id.to_string()),
                    email: Set(email.to_owned()),
                    recipient: Set(recipient.to_owned()),
                    teams: Set(teams),
                    capacity: Set(to_i32(routing.capacity)?),
                    active: Set(active),
                    created_at: Set(now),
                }
                .insert(&self.txn)
                .await
                .map_err(|e| {
                    if unique_violation(&e) {
                        StoreError::Duplicate("an investigator with this address exists")
                    } else {
                        e.into()
                    }
                })?;
                Ok(id)
            }
        }
    }

    /// Records the account's authenticator (sealed to its password key) and the step of
    /// the code that confirmed it, replaces its recovery codes, and, for an
    /// investigator, starts routing cases to them.
    pub async fn enrol(
        &self,
        id: AccountId,
        totp_sealed: &[u8],
        step: u64,
        recovery_code_hashes: &[[u8; 32]],
    ) -> Result<(), StoreError> {
        let step = i64::try_from(step).map_err(|_| StoreError::Corrupt("totp step"))?;
        account::Entity::update_many()
            .col_expr(account::Column::TotpSealed, Expr::value(totp_sealed.to_vec()))
            .col_expr(account::Column::TotpLastStep, Expr::value(step))
            .filter(account::Column::Id.eq(id.to_string()))
            .exec(&self.txn)
            .await?;
        self.forget_recovery_codes(id).await?;
        for hash in recovery_code_hashes {
            recovery_code::ActiveModel {
                code_hash: Set(hex::encode(hash)),
                account_id: Set(id.to_string()),
            }
            .insert(&self.txn)
            .await?;
        }
        self.sync_routing(id).await
    }

    /// An investigator's routing row is active exactly while their account is active,
    /// enrolled and has the investigator role.
    pub(crate) async fn sync_routing(&self, id: AccountId) -> Result<(), StoreError> {
        let Some(a) = account_on(&self.txn, id).await? else {
            return Err(StoreError::Corrupt("account vanished"));
        };
        if let Some(inv) = a.investigator_id {
            let active = a.state == AccountState::Active && a.role == Role::Investigator && a.enrolled();
            investigator::Entity::update_many()
                .col_expr(investigator::Column::Active, Expr::value(active))
                .filter(investigator::Column::Id.eq(inv.to_string()))
                .exec(&self.txn)
                .await?;
        }
        Ok(())
    }

    /// Takes `step` as the account's last used authenticator step, if it is later than
    /// the last one: false means the code was used already (a replay).
    pub async fn accept_totp_step(&self, id: AccountId, step: u64) -> Result<bool, StoreError> {
        let step = i64::try_from(step).map_err(|_| StoreError::Corrupt("totp step"))?;
        let res = account::Entity::update_many()
            .col_expr(account::Column::TotpLastStep, Expr::value(step))
            .filter(account::Column::Id.eq(id.to_string()))
            .filter(
                account::Column::TotpLastStep
                    .is_null()
                    .or(account::Column::TotpLastStep.lt(step)),
            )
            .exec(&self.txn)
            .await?;
        Ok(res.rows_affected == 1)
    }

    /// Uses up one recovery code of the account: false if it has no such code.
    pub async fn use_recovery_code(&self, id: AccountId, hash: &[u8; 32]) -> Result<bool, StoreError> {
        let res = recovery_code::Entity::delete_many()
            .filter(recovery_code::Column::CodeHash.eq(hex::encode(hash)))
            .filter(recovery_code::Column::AccountId.eq(id.to_string()))
            .exec(&self.txn)
            .await?;
        Ok(res.rows_affected == 1)
    }

    /// Notes the day of a login.
    pub async fn record_login(&self, id: AccountId, day: i64) -> Result<(), StoreError> {
        account::Entity::update_many()
            .col_expr(account::Column::LastLoginDay, Expr::value(day))
            .filter(account::Column::Id.eq(id.to_string()))
            .exec(&self.txn)
            .await?;
        Ok(())
    }

    /// Seals the account's identity and authenticator to a new password key.
    pub async fn change_password(
        &self,
        id: AccountId,
        seal: &PasswordSeal,
        totp_sealed: Option<&[u8]>,
    ) -> Result<(), StoreError> {
        account::Entity::update_many()
            .col_expr(
                account::Column::PasswordRecipient,
                Expr::value(seal.password_recipient.clone()),
            )
            .col_expr(
                account::Column::IdentityWrap,
                Expr::value(seal.identity_wrap.clone()),
            )
            .col_expr(
                account::Column::TotpSealed,
                Expr::value(totp_sealed.map(<[u8]>::to_vec)),
            )
            .col_expr(account::Column::KdfSalt, Expr::value(seal.kdf.salt.clone()))
            .col_expr(account::Column::KdfMKib, Expr::value(to_i32(seal.kdf.m_kib)?))
            .col_expr(account::Column::KdfT, Expr::value(to_i32(seal.kdf.t)?))
            .col_expr(account::Column::KdfP, Expr::value(to_i32(seal.kdf.p)?))
            .filter(account::Column::Id.eq(id.to_string()))
            .exec(&self.txn)
            .await?;
        Ok(())
    }

    /// Disables or re-enables an account. Disabling ends its sessions; either way its
    /// routing follows.
    pub async fn set_account_state(&self, id: AccountId, state: AccountState) -> Result<(), StoreError> {
        account::Entity::update_many()
            .col_expr(account::Column::State, Expr::value(state.as_str()))
            .filter(account::Column::Id.eq(id.to_string()))
            .exec(&self.txn)
            .await?;
        if state == AccountState::Disabled {
            self.end_sessions(id, None).await?;
        }
        self.sync_routing(id).await
    }

    /// Gives the account another role. Becoming an investigator without a routing row
    /// makes one with `routing`'s teams and capacity, wrapping to the account's key.
    pub async fn set_role(
        &self,
        id: AccountId,
        role: Role,
        routing: Option<&Routing>,
    ) -> Result<(), StoreError> {
        let Some(a) = account_on(&self.txn, id).await? else {
            return Err(StoreError::Corrupt("account vanished"));
        };
        let mut update = account::Entity::update_many()
            .col_expr(account::Column::Role, Expr::value(role.as_str()))
            .filter(account::Column::Id.eq(id.to_string()));
        if let (Role::Investigator, None, Some(r)) = (role, a.investigator_id, routing) {
            let inv = self.route(r, &a.email, &a.recipient, false, a.created_at).await?;
            update = update.col_expr(account::Column::InvestigatorId, Expr::value(inv.to_string()));
        }
        update.exec(&self.txn).await?;
        self.sync_routing(id).await
    }

    /// Forgets the account's authenticator and recovery codes and ends its sessions:
    /// at the next login it enrols again.
    pub async fn reset_totp(&self, id: AccountId) -> Result<(), StoreError> {
        account::Entity::update_many()
            .col_expr(account::Column::TotpSealed, Expr::value(Option::<Vec<u8>>::None))
            .col_expr(account::Column::TotpLastStep, Expr::value(Option::<i64>::None))
            .filter(account::Column::Id.eq(id.to_string()))
            .exec(&self.txn)
            .await?;
        self.forget_recovery_codes(id).await?;
        self.end_sessions(id, None).await?;
        self.sync_routing(id).await
    }

    async fn forget_recovery_codes(&self, id: AccountId) -> Result<(), StoreError> {
        recovery_code::Entity::delete_many()
            .filter(recovery_code::Column::AccountId.eq(id.to_string()))
            .exec(&self.txn)
            .await?;
        Ok(())
    }

    /// Ends every session of the account but `except` (a session's lookup value).
    pub async fn end_sessions(&self, id: AccountId, except: Option<&[u8; 32]>) -> Result<u64, StoreError> {
        let mut delete = session::Entity::delete_many().filter(session::Column::AccountId.eq(id.to_string()));
        if let Some(keep) = except {
            delete = delete.filter(session::Column::Id.ne(hex::encode(keep)));
        }
        Ok(delete.exec(&self.txn).await?.rows_affected)
    }
}
