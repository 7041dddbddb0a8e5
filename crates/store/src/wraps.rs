//! Key wraps: one holder's copy of a case's case key or thread key, age-encrypted to that
//! holder. The key chain (`redress-keychain`) decides who holds what; this module only
//! stores and finds the ciphertext.

use redress_domain::{CaseId, Holder, HolderKind, InvestigatorId};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::connection::parsed;
use crate::entity::key_wrap;
use crate::{Store, StoreError};

/// A wrap to store. Which secret it holds follows from the holder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewWrap {
    pub holder: Holder,
    /// The holder's recipient (`age1…`) at wrap time, so rotation can find stale wraps.
    pub holder_recipient: String,
    pub ciphertext: Vec<u8>,
}

/// A wrap as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredWrap {
    pub holder: Holder,
    pub holder_recipient: String,
    pub ciphertext: Vec<u8>,
}

pub(crate) fn stored_wrap(m: key_wrap::Model) -> Result<StoredWrap, StoreError> {
    let kind = parsed(&m.holder_kind, HolderKind::parse, "wrap holder kind")?;
    let investigator = m
        .holder_id
        .map(|id| parsed(&id, InvestigatorId::parse, "wrap holder id"))
        .transpose()?;
    let holder = Holder::from_parts(kind, investigator).ok_or(StoreError::Corrupt("wrap holder"))?;
    if m.key_kind != holder.key().as_str() {
        return Err(StoreError::Corrupt("wrap key kind"));
    }
    Ok(StoredWrap {
        holder,
        holder_recipient: m.holder_recipient,
        ciphertext: m.ciphertext,
    })
}

impl Store {
    /// The wraps of one case held by holders of one kind (every assigned investigator's,
    /// say).
    pub async fn wraps(&self, case: CaseId, kind: HolderKind) -> Result<Vec<StoredWrap>, StoreError> {
        key_wrap::Entity::find()
            .filter(key_wrap::Column::CaseId.eq(case.to_string()))
            .filter(key_wrap::Column::HolderKind.eq(kind.as_str()))
            .all(self.connection())
            .await?
            .into_iter()
            .map(stored_wrap)
            .collect()
    }

    /// One holder's wrap of a case, if it has one.
    pub async fn wrap(&self, case: CaseId, holder: Holder) -> Result<Option<StoredWrap>, StoreError> {
        Ok(self
            .wraps(case, holder.kind())
            .await?
            .into_iter()
            .find(|w| w.holder == holder))
    }

    /// Stores wraps of an existing case.
    pub async fn add_wraps(&self, case: CaseId, wraps: &[NewWrap]) -> Result<(), StoreError> {
        insert_wraps(self.connection(), case, wraps).await
    }

    /// Deletes one holder's wrap of a case: that holder can no longer open it. True if
    /// there was one.
    pub async fn delete_wrap(&self, case: CaseId, holder: Holder) -> Result<bool, StoreError> {
        Ok(delete_wrap_on(self.connection(), case, holder).await? > 0)
    }
}

pub(crate) async fn delete_wrap_on<C: ConnectionTrait>(
    db: &C,
    case: CaseId,
    holder: Holder,
) -> Result<u64, StoreError> {
    let mut delete = key_wrap::Entity::delete_many()
        .filter(key_wrap::Column::CaseId.eq(case.to_string()))
        .filter(key_wrap::Column::HolderKind.eq(holder.kind().as_str()));
    if let Some(id) = holder.investigator() {
        delete = delete.filter(key_wrap::Column::HolderId.eq(id.to_string()));
    }
    Ok(delete.exec(db).await?.rows_affected)
}

/// Stores wraps. An investigator's wrap must be made to the key their routing row holds
/// now: a wrap made to a key they have just replaced (ADR 0033) is refused with
/// [`StoreError::KeyChanged`], so nothing is left wrapped to a key being retired once
/// its rotation has moved what was there. PostgreSQL: the row is read `FOR SHARE`, so a
/// key change waits for this transaction, or this one sees the change.
pub(crate) async fn insert_wraps<C: ConnectionTrait>(
    db: &C,
    case: CaseId,
    wraps: &[NewWrap],
) -> Result<(), StoreError> {
    use sea_orm::QuerySelect;
    for w in wraps {
        if let Some(id) = w.holder.investigator() {
            let current = crate::entity::investigator::Entity::find_by_id(id.to_string())
                .lock_shared()
                .one(db)
                .await?;
            if current.is_some_and(|i| i.recipient != w.holder_recipient) {
                return Err(StoreError::KeyChanged);
            }
        }
        key_wrap::ActiveModel {
            id: Set(uuid::Uuid::new_v4().to_string()),
            case_id: Set(case.to_string()),
            key_kind: Set(w.holder.key().as_str().to_owned()),
            holder_kind: Set(w.holder.kind().as_str().to_owned()),
            holder_id: Set(w.holder.investigator().map(|i| i.to_string())),
            holder_recipient: Set(w.holder_recipient.clone()),
            ciphertext: Set(w.ciphertext.clone()),
        }
        .insert(db)
        .await?;
    }
    Ok(())
}

/// How many wraps one holder holds, made to one of its keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WrapCount {
    pub holder: HolderKind,
    /// Which investigator, for investigator wraps.
    pub investigator: Option<InvestigatorId>,
    /// The public key the wraps were made to (`age1…`).
    pub recipient: String,
    pub wraps: u64,
}

impl Store {
    /// The wraps of the long-lived keys (triage, recovery, each investigator's), counted
    /// by holder and by the key each was made to: what a rotation has left to do.
    pub async fn wrap_counts(&self) -> Result<Vec<WrapCount>, StoreError> {
        use sea_orm::QuerySelect;
        use sea_orm::sea_query::Expr;
        let rows: Vec<(String, Option<String>, String, i64)> = key_wrap::Entity::find()
            .select_only()
            .column(key_wrap::Column::HolderKind)
            .column(key_wrap::Column::HolderId)
            .column(key_wrap::Column::HolderRecipient)
            .expr(Expr::cust("CAST(COUNT(*) AS BIGINT)"))
            .filter(key_wrap::Column::HolderKind.is_in([
                HolderKind::Triage.as_str(),
                HolderKind::Recovery.as_str(),
                HolderKind::Investigator.as_str(),
            ]))
            .group_by(key_wrap::Column::HolderKind)
            .group_by(key_wrap::Column::HolderId)
            .group_by(key_wrap::Column::HolderRecipient)
            .into_tuple()
            .all(self.connection())
            .await?;
        rows.into_iter()
            .map(|(kind, id, recipient, n)| {
                Ok(WrapCount {
                    holder: parsed(&kind, HolderKind::parse, "wrap holder kind")?,
                    investigator: id
                        .map(|id| parsed(&id, InvestigatorId::parse, "wrap holder id"))
                        .transpose()?,
                    recipient,
                    wraps: u64::try_from(n).map_err(|_| StoreError::Corrupt("wrap count"))?,
                })
            })
            .collect()
    }
}

impl crate::Audited {
    /// Revokes an investigator's key: deletes every wrap they hold and their
    /// assignments, and takes them out of routing. Returns how many wraps went and the
    /// cases that no investigator can open any more (the recovery key still does).
    pub async fn revoke_investigator(
        &self,
        investigator: InvestigatorId,
    ) -> Result<(u64, Vec<CaseId>), StoreError> {
        use crate::entity::{assignment, investigator as inv};
        use sea_orm::sea_query::Expr;
        let id = investigator.to_string();
        let held: Vec<String> = key_wrap::Entity::find()
            .filter(key_wrap::Column::HolderKind.eq(HolderKind::Investigator.as_str()))
            .filter(key_wrap::Column::HolderId.eq(id.clone()))
            .all(&self.txn)
            .await?
            .into_iter()
            .map(|w| w.case_id)
            .collect();
        let deleted = key_wrap::Entity::delete_many()
            .filter(key_wrap::Column::HolderKind.eq(HolderKind::Investigator.as_str()))
            .filter(key_wrap::Column::HolderId.eq(id.clone()))
            .exec(&self.txn)
            .await?
            .rows_affected;
        assignment::Entity::delete_many()
            .filter(assignment::Column::InvestigatorId.eq(id.clone()))
            .exec(&self.txn)
            .await?;
        inv::Entity::update_many()
            .col_expr(inv::Column::Active, Expr::value(false))
            .filter(inv::Column::Id.eq(id))
            .exec(&self.txn)
            .await?;
        let mut orphaned = Vec::new();
        for case in held {
            let left = key_wrap::Entity::find()
                .filter(key_wrap::Column::CaseId.eq(case.clone()))
                .filter(key_wrap::Column::HolderKind.eq(HolderKind::Investigator.as_str()))
                .one(&self.txn)
                .await?;
            if left.is_none() {
                orphaned.push(parsed(&case, CaseId::parse, "wrap case id")?);
            }
        }
        Ok((deleted, orphaned))
    }
}
