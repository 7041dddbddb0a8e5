//! Forms kept across a login (ADR 0022): what a person had typed when their session
//! ended, sealed to a key in their browser's cookie, given back once on the page the
//! form belongs to after they log in again.

use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};

use crate::entity::kept_form;
use crate::{Store, StoreError};

impl Store {
    pub async fn keep_form(
        &self,
        lookup: &[u8; 32],
        path: &str,
        sealed: &[u8],
        expires_at: i64,
    ) -> Result<(), StoreError> {
        kept_form::ActiveModel {
            id: Set(hex::encode(lookup)),
            path: Set(path.to_owned()),
            sealed: Set(sealed.to_vec()),
            expires_at: Set(expires_at),
        }
        .insert(self.connection())
        .await?;
        Ok(())
    }

    /// The sealed form kept under `lookup` for `path`, removed as it is taken; `None`
    /// if there is none, it belongs to another page, or it has expired.
    pub async fn take_kept_form(
        &self,
        lookup: &[u8; 32],
        path: &str,
        now: i64,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let Some(row) = kept_form::Entity::find_by_id(hex::encode(lookup))
            .filter(kept_form::Column::Path.eq(path))
            .one(self.connection())
            .await?
        else {
            return Ok(None);
        };
        kept_form::Entity::delete_by_id(row.id)
            .exec(self.connection())
            .await?;
        Ok((row.expires_at > now).then_some(row.sealed))
    }

    /// How many forms are kept.
    pub async fn kept_form_count(&self) -> Result<u64, StoreError> {
        use sea_orm::PaginatorTrait;
        Ok(kept_form::Entity::find().count(self.connection()).await?)
    }

    /// Deletes kept forms nobody came back for.
    pub async fn forget_expired_forms(&self, now: i64) -> Result<u64, StoreError> {
        let res = kept_form::Entity::delete_many()
            .filter(kept_form::Column::ExpiresAt.lte(now))
            .exec(self.connection())
            .await?;
        Ok(res.rows_affected)
    }
}
