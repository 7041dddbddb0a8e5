//! What re-keying a revoked investigator's cases needs from the database (ADR 0032):
//! the list of cases to re-key, written with the revocation; everything of one case that
//! is sealed to its keys, read together with a snapshot of it; and the swap that puts
//! the re-encrypted case in place in one transaction, only if the case is still as it
//! was read.
//!
//! The re-encrypted blobs are new objects, written before the swap: until it commits,
//! nothing refers to them (the orphan sweep removes what a crash leaves); after it, the
//! old ones are listed in `rekey_leftovers` until they are deleted, so a run killed at
//! any point leaves either the old case whole or the new one whole.

use redress_domain::{CaseId, EntryKind, HolderKind, InvestigatorId, ObjectId, ObjectKind, SealedTo};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::cases::stored_case;
use crate::connection::parsed;
use crate::entity::{
    case, case_entry, case_label, case_object, followup_session, key_rotation, key_wrap, rekey_case,
    rekey_leftover,
};
use crate::{Audited, Investigator, NewWrap, Store, StoreError, StoredCase};

/// The `key_rotations.kind` of a re-keying; its subject is the revoked investigator.
pub const REKEY_KIND: &str = "rekey";

/// One stored object of a case, to re-encrypt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseObject {
    pub id: ObjectId,
    pub kind: ObjectKind,
    pub sealed_to: SealedTo,
}

/// One entry of a case, to re-encrypt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealedEntry {
    /// The row's id.
    pub id: String,
    pub kind: EntryKind,
    pub ciphertext: Vec<u8>,
}

/// What a case's rows were when read: the swap writes only if they still are, so an
/// object, entry, label or wrap added meanwhile (sealed to the old key) is never left
/// behind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    case_recipient: String,
    thread_recipient: String,
    objects: Vec<String>,
    entries: Vec<(String, Vec<u8>)>,
    labels: Option<Vec<u8>>,
    wraps: Vec<(String, String)>,
}

/// Everything of a case sealed to its two keys, and who holds them.
#[derive(Clone, Debug)]
pub struct CaseContents {
    pub case: StoredCase,
    pub objects: Vec<CaseObject>,
    pub entries: Vec<SealedEntry>,
    /// The labels, sealed to the case key, if the case carries any.
    pub labels: Option<Vec<u8>>,
    /// The investigators assigned to the case now.
    pub assignees: Vec<Investigator>,
    /// The public key the reporter's wrap was made to (the receipt-derived key): the
    /// only place it is known. None if the case has no reporter wrap.
    pub reporter_recipient: Option<String>,
    pub snapshot: Snapshot,
}

/// A case re-encrypted to new keys, ready to be swapped in.
#[derive(Debug)]
pub struct RekeySwap {
    pub case: CaseId,
    pub case_recipient: String,
    pub thread_recipient: String,
    /// (old object, its re-encrypted copy, the copy's size).
    pub objects: Vec<(ObjectId, ObjectId, u64)>,
    /// (entry id, its new ciphertext).
    pub entries: Vec<(String, Vec<u8>)>,
    pub labels: Option<Vec<u8>>,
    /// Every wrap the case has afterwards.
    pub wraps: Vec<NewWrap>,
    /// The case as it was read.
    pub snapshot: Snapshot,
}

/// What a swap did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Swapped {
    /// The case has its new keys.
    Done,
    /// The case changed since it was read (a new entry, a colleague added…): nothing was
    /// written; read it again.
    Changed,
    /// The case is gone (purged): nothing to do.
    Gone,
}

async fn snapshot_on<C: ConnectionTrait>(db: &C, case: &case::Model) -> Result<Snapshot, StoreError> {
    let id = case.id.clone();
    let mut objects: Vec<String> = case_object::Entity::find()
        .filter(case_object::Column::CaseId.eq(id.clone()))
        .all(db)
        .await?
        .into_iter()
        .map(|o| o.id)
        .collect();
    objects.sort();
    let mut entries: Vec<(String, Vec<u8>)> = case_entry::Entity::find()
        .filter(case_entry::Column::CaseId.eq(id.clone()))
        .all(db)
        .await?
        .into_iter()
        .map(|e| (e.id, e.ciphertext))
        .collect();
    entries.sort();
    let labels = case_label::Entity::find_by_id(id.clone())
        .one(db)
        .await?
        .map(|l| l.ciphertext);
    let mut wraps: Vec<(String, String)> = key_wrap::Entity::find()
        .filter(key_wrap::Column::CaseId.eq(id))
        .all(db)
        .await?
        .into_iter()
        .map(|w| (w.id, w.holder_recipient))
        .collect();
    wraps.sort();
    Ok(Snapshot {
        case_recipient: case.case_recipient.clone(),
        thread_recipient: case.thread_recipient.clone(),
        objects,
        entries,
        labels,
        wraps,
    })
}

impl Audited {
    /// Writes down the cases `investigator` holds a wrap of as the cases re-keying
    /// `rotation` has to do, and marks the rotation running: called in the revocation's
    /// transaction, before the wraps are deleted. Returns how many.
    pub async fn record_rekey_cases(
        &self,
        rotation: &str,
        investigator: InvestigatorId,
        now: i64,
    ) -> Result<u64, StoreError> {
        let mut cases: Vec<String> = key_wrap::Entity::find()
            .filter(key_wrap::Column::HolderKind.eq(HolderKind::Investigator.as_str()))
            .filter(key_wrap::Column::HolderId.eq(investigator.to_string()))
            .all(&self.txn)
            .await?
            .into_iter()
            .map(|w| w.case_id)
            .collect();
        cases.sort();
        cases.dedup();
        for case in &cases {
            rekey_case::Entity::insert(rekey_case::ActiveModel {
                rotation_id: Set(rotation.to_owned()),
                case_id: Set(case.clone()),
                done: Set(false),
            })
            .on_conflict(
                OnConflict::columns([rekey_case::Column::RotationId, rekey_case::Column::CaseId])
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(&self.txn)
            .await?;
        }
        let n = cases.len() as u64;
        key_rotation::Entity::update_many()
            .col_expr(key_rotation::Column::State, Expr::value("running"))
            .col_expr(
                key_rotation::Column::Total,
                Expr::value(i64::try_from(n).unwrap_or(i64::MAX)),
            )
            .col_expr(key_rotation::Column::UpdatedAt, Expr::value(now))
            .filter(key_rotation::Column::Id.eq(rotation))
            .exec(&self.txn)
            .await?;
        Ok(n)
    }

    /// Puts a re-keyed case in place, if it is still as `swap.snapshot` says: its new
    /// public keys, every object pointing at its re-encrypted blob, every entry and its
    /// labels re-sealed, its wraps replaced, its reporter's follow-up sessions ended
    /// (they hold the old thread key), the case marked done in `rotation` and its old
    /// blobs listed for deletion. The case row is written first, so two writers of one
    /// case queue on it.
    pub async fn swap_rekeyed_case(&self, rotation: &str, swap: &RekeySwap) -> Result<Swapped, StoreError> {
        let id = swap.case.to_string();
        let claimed = case::Entity::update_many()
            .col_expr(
                case::Column::CaseRecipient,
                Expr::value(swap.case_recipient.clone()),
            )
            .col_expr(
                case::Column::ThreadRecipient,
                Expr::value(swap.thread_recipient.clone()),
            )
            .filter(case::Column::Id.eq(id.clone()))
            .filter(case::Column::CaseRecipient.eq(swap.snapshot.case_recipient.clone()))
            .filter(case::Column::ThreadRecipient.eq(swap.snapshot.thread_recipient.clone()))
            .exec(&self.txn)
            .await?
            .rows_affected;
        let Some(row) = case::Entity::find_by_id(id.clone()).one(&self.txn).await? else {
            mark_done(&self.txn, rotation, &id).await?;
            return Ok(Swapped::Gone);
        };
        if claimed != 1 {
            return Ok(Swapped::Changed);
        }
        // The snapshot as the case was read, with the recipients just written.
        let mut now = snapshot_on(&self.txn, &row).await?;
        now.case_recipient.clone_from(&swap.snapshot.case_recipient);
        now.thread_recipient.clone_from(&swap.snapshot.thread_recipient);
        if now != swap.snapshot {
            return Ok(Swapped::Changed);
        }
        for (old, new, size) in &swap.objects {
            case_object::Entity::update_many()
                .col_expr(case_object::Column::Id, Expr::value(new.to_string()))
                .col_expr(
                    case_object::Column::CiphertextBytes,
                    Expr::value(i64::try_from(*size).map_err(|_| StoreError::Corrupt("size"))?),
                )
                .filter(case_object::Column::Id.eq(old.to_string()))
                .exec(&self.txn)
                .await?;
            rekey_leftover::Entity::insert(rekey_leftover::ActiveModel {
                object_id: Set(old.to_string()),
                rotation_id: Set(rotation.to_owned()),
            })
            .on_conflict(
                OnConflict::column(rekey_leftover::Column::ObjectId)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(&self.txn)
            .await?;
        }
        for (entry, ciphertext) in &swap.entries {
            case_entry::Entity::update_many()
                .col_expr(case_entry::Column::Ciphertext, Expr::value(ciphertext.clone()))
                .filter(case_entry::Column::Id.eq(entry.clone()))
                .exec(&self.txn)
                .await?;
        }
        if let Some(labels) = &swap.labels {
            case_label::Entity::update_many()
                .col_expr(case_label::Column::Ciphertext, Expr::value(labels.clone()))
                .filter(case_label::Column::CaseId.eq(id.clone()))
                .exec(&self.txn)
                .await?;
        }
        key_wrap::Entity::delete_many()
            .filter(key_wrap::Column::CaseId.eq(id.clone()))
            .exec(&self.txn)
            .await?;
        crate::wraps::insert_wraps(&self.txn, swap.case, &swap.wraps).await?;
        followup_session::Entity::delete_many()
            .filter(followup_session::Column::CaseId.eq(id.clone()))
            .exec(&self.txn)
            .await?;
        mark_done(&self.txn, rotation, &id).await?;
        Ok(Swapped::Done)
    }
}

async fn mark_done<C: ConnectionTrait>(db: &C, rotation: &str, case: &str) -> Result<(), StoreError> {
    rekey_case::Entity::update_many()
        .col_expr(rekey_case::Column::Done, Expr::value(true))
        .filter(rekey_case::Column::RotationId.eq(rotation))
        .filter(rekey_case::Column::CaseId.eq(case))
        .exec(db)
        .await?;
    Ok(())
}

impl Store {
    /// The cases of re-keying `rotation`, each with whether it is done, in id order.
    pub async fn rekey_cases(&self, rotation: &str) -> Result<Vec<(CaseId, bool)>, StoreError> {
        rekey_case::Entity::find()
            .filter(rekey_case::Column::RotationId.eq(rotation))
            .order_by_asc(rekey_case::Column::CaseId)
            .all(self.connection())
            .await?
            .into_iter()
            .map(|r| Ok((parsed(&r.case_id, CaseId::parse, "re-key case id")?, r.done)))
            .collect()
    }

    /// Marks a case of re-keying `rotation` done without a swap (it is gone).
    pub async fn mark_rekey_case_done(&self, rotation: &str, case: CaseId) -> Result<(), StoreError> {
        mark_done(self.connection(), rotation, &case.to_string()).await
    }

    /// Forgets the case list of a finished re-keying.
    pub async fn forget_rekey_cases(&self, rotation: &str) -> Result<(), StoreError> {
        rekey_case::Entity::delete_many()
            .filter(rekey_case::Column::RotationId.eq(rotation))
            .exec(self.connection())
            .await?;
        Ok(())
    }

    /// Old blobs that committed re-keys of `rotation` left to delete.
    pub async fn rekey_leftovers(&self, rotation: &str) -> Result<Vec<ObjectId>, StoreError> {
        rekey_leftover::Entity::find()
            .filter(rekey_leftover::Column::RotationId.eq(rotation))
            .all(self.connection())
            .await?
            .into_iter()
            .map(|r| parsed(&r.object_id, ObjectId::parse, "re-key leftover id"))
            .collect()
    }

    /// Forgets leftovers whose blobs were deleted.
    pub async fn forget_rekey_leftovers(&self, ids: &[ObjectId]) -> Result<(), StoreError> {
        rekey_leftover::Entity::delete_many()
            .filter(rekey_leftover::Column::ObjectId.is_in(ids.iter().map(ToString::to_string)))
            .exec(self.connection())
            .await?;
        Ok(())
    }

    /// Everything of a case sealed to its keys, with its assignees, the reporter's
    /// recipient and a snapshot for the swap. None if the case is gone.
    pub async fn rekey_contents(&self, case: CaseId) -> Result<Option<CaseContents>, StoreError> {
        let db = self.connection();
        let Some(row) = case::Entity::find_by_id(case.to_string()).one(db).await? else {
            return Ok(None);
        };
        let snapshot = snapshot_on(db, &row).await?;
        let objects = case_object::Entity::find()
            .filter(case_object::Column::CaseId.eq(case.to_string()))
            .all(db)
            .await?
            .into_iter()
            .map(|o| {
                Ok(CaseObject {
                    id: parsed(&o.id, ObjectId::parse, "object id")?,
                    kind: parsed(&o.kind, ObjectKind::parse, "object kind")?,
                    sealed_to: parsed(&o.sealed_to, SealedTo::parse, "object sealed to")?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let entries = case_entry::Entity::find()
            .filter(case_entry::Column::CaseId.eq(case.to_string()))
            .all(db)
            .await?
            .into_iter()
            .map(|e| {
                Ok(SealedEntry {
                    kind: parsed(&e.kind, EntryKind::parse, "entry kind")?,
                    id: e.id,
                    ciphertext: e.ciphertext,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let labels = snapshot.labels.clone();
        let reporter_recipient = key_wrap::Entity::find()
            .filter(key_wrap::Column::CaseId.eq(case.to_string()))
            .filter(key_wrap::Column::HolderKind.eq(HolderKind::Reporter.as_str()))
            .one(db)
            .await?
            .map(|w| w.holder_recipient);
        // The snapshot must describe what was read: if anything changed between the
        // reads, the swap finds the case changed and it is read again.
        let assignees = self.assignees(case).await?;
        Ok(Some(CaseContents {
            case: stored_case(row)?,
            objects,
            entries,
            labels,
            assignees,
            reporter_recipient,
            snapshot,
        }))
    }
}
