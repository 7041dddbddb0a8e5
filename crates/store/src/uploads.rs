//! Uploads in progress, known from the database rather than from a file lock, so that
//! any process on any host can tell a live upload from one a crash left (ADR 0019).
//!
//! A row names the pending object and the process writing it; the upload is alive while
//! that process's heartbeat is. The row is made just after the pending blob and goes in
//! the transaction that commits its case. Rows of uploads that ended otherwise are
//! forgotten by the sweep.

use std::collections::HashSet;

use redress_domain::ObjectId;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::connection::parsed;
use crate::entity::{heartbeat, upload};
use crate::{Store, StoreError};

impl Store {
    /// Records that `holder` (a process that beats, [`Store::beat`]) is writing
    /// `object`.
    pub async fn begin_upload(&self, object: ObjectId, holder: &str) -> Result<(), StoreError> {
        upload::ActiveModel {
            object_id: Set(object.to_string()),
            holder: Set(holder.to_owned()),
        }
        .insert(self.connection())
        .await?;
        Ok(())
    }

    /// Of `objects`, those being uploaded by a process whose heartbeat is alive at
    /// `now`.
    pub async fn live_uploads(
        &self,
        objects: &[ObjectId],
        now: i64,
    ) -> Result<HashSet<ObjectId>, StoreError> {
        if objects.is_empty() {
            return Ok(HashSet::new());
        }
        let rows = upload::Entity::find()
            .filter(upload::Column::ObjectId.is_in(objects.iter().map(ToString::to_string)))
            .all(self.connection())
            .await?;
        let holders: HashSet<String> = heartbeat::Entity::find()
            .filter(heartbeat::Column::Worker.is_in(rows.iter().map(|r| r.holder.clone())))
            .filter(heartbeat::Column::AliveUntil.gte(now))
            .all(self.connection())
            .await?
            .into_iter()
            .map(|h| h.worker)
            .collect();
        rows.into_iter()
            .filter(|r| holders.contains(&r.holder))
            .map(|r| parsed(&r.object_id, ObjectId::parse, "upload object id"))
            .collect()
    }

    /// Every object with an upload row.
    pub async fn uploads(&self) -> Result<Vec<ObjectId>, StoreError> {
        upload::Entity::find()
            .all(self.connection())
            .await?
            .iter()
            .map(|r| parsed(&r.object_id, ObjectId::parse, "upload object id"))
            .collect()
    }

    /// Forgets the upload rows of `objects` (their uploads ended).
    pub async fn end_uploads(&self, objects: &[ObjectId]) -> Result<(), StoreError> {
        end_uploads_on(self.connection(), objects).await
    }
}

pub(crate) async fn end_uploads_on<C: ConnectionTrait>(
    db: &C,
    objects: &[ObjectId],
) -> Result<(), StoreError> {
    if objects.is_empty() {
        return Ok(());
    }
    upload::Entity::delete_many()
        .filter(upload::Column::ObjectId.is_in(objects.iter().map(ToString::to_string)))
        .exec(db)
        .await?;
    Ok(())
}
