//! Invitations to the portal (ADR 0021): a one-time setup link per address, found by
//! the hash of its token, valid until it expires. Made in an audited transaction
//! ([`crate::Audited::add_invitation`]) and used up by the account it makes
//! ([`crate::Audited::create_account`]).

use redress_domain::Role;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::connection::{parsed, to_i32, to_u32};
use crate::entity::invitation;
use crate::{Store, StoreError};

/// An invitation, as made and as found again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invitation {
    pub token_hash: [u8; 32],
    pub email: String,
    pub role: Role,
    /// Routing teams and capacity, for an investigator.
    pub teams: Vec<String>,
    pub capacity: u32,
    pub expires_at: i64,
}

pub(crate) async fn insert<C: ConnectionTrait>(db: &C, invitation: &Invitation) -> Result<(), StoreError> {
    invitation::Entity::delete_many()
        .filter(invitation::Column::Email.eq(invitation.email.clone()))
        .exec(db)
        .await?;
    let teams = serde_json::to_string(&invitation.teams).map_err(|_| StoreError::Corrupt("teams"))?;
    invitation::Entity::insert(invitation::ActiveModel {
        token_hash: Set(hex::encode(invitation.token_hash)),
        email: Set(invitation.email.clone()),
        role: Set(invitation.role.as_str().to_owned()),
        teams: Set(teams),
        capacity: Set(to_i32(invitation.capacity)?),
        expires_at: Set(invitation.expires_at),
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

fn invitation(m: invitation::Model) -> Result<Invitation, StoreError> {
    let token_hash: [u8; 32] = hex::decode(&m.token_hash)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(StoreError::Corrupt("invitation token hash"))?;
    Ok(Invitation {
        token_hash,
        role: parsed(&m.role, Role::parse, "invitation role")?,
        teams: serde_json::from_str(&m.teams).map_err(|_| StoreError::Corrupt("invitation teams"))?,
        capacity: to_u32(m.capacity)?,
        email: m.email,
        expires_at: m.expires_at,
    })
}

impl Store {
    /// The invitation whose token hashes to `token_hash`, unless it has expired at `now`.
    pub async fn invitation(
        &self,
        token_hash: &[u8; 32],
        now: i64,
    ) -> Result<Option<Invitation>, StoreError> {
        invitation::Entity::find_by_id(hex::encode(token_hash))
            .filter(invitation::Column::ExpiresAt.gt(now))
            .one(self.connection())
            .await?
            .map(invitation)
            .transpose()
    }

    /// Invitations whose links still work at `now`, by address.
    pub async fn pending_invitations(&self, now: i64) -> Result<Vec<Invitation>, StoreError> {
        invitation::Entity::find()
            .filter(invitation::Column::ExpiresAt.gt(now))
            .order_by_asc(invitation::Column::Email)
            .all(self.connection())
            .await?
            .into_iter()
            .map(invitation)
            .collect()
    }
}
