//! A case's receipt row, and replacing a receipt (ADR 0029): the old row and the
//! reporter's old wrap go, the new ones come, and every other follow-up session of
//! the case ends, in one transaction, so that no moment exists in which both receipts
//! open the case, or neither does.

use redress_domain::{CaseId, Holder};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    TransactionTrait,
};

use crate::connection::to_i32;
use crate::entity::{followup_session, receipt};
use crate::{NewReceipt, NewWrap, Store, StoreError};

pub(crate) async fn insert_receipt_on<C: ConnectionTrait>(
    db: &C,
    case: CaseId,
    r: &NewReceipt,
) -> Result<(), StoreError> {
    receipt::ActiveModel {
        lookup: Set(hex::encode(r.lookup)),
        case_id: Set(case.to_string()),
        kdf_salt: Set(r.kdf_salt.clone()),
        kdf_m_kib: Set(to_i32(r.kdf_m_kib)?),
        kdf_t: Set(to_i32(r.kdf_t)?),
        kdf_p: Set(to_i32(r.kdf_p)?),
    }
    .insert(db)
    .await?;
    Ok(())
}

impl Store {
    /// Replaces a case's receipt from the follow-up session `session` (the hash of its
    /// cookie's key): deletes the old receipt row and the reporter's wrap, stores `new`
    /// and `wrap` (which must be the reporter's), and ends every other session of the
    /// case. False, writing nothing, if `session` is no longer a session of the case
    /// (ended meanwhile, or by another session's replacement).
    pub async fn replace_receipt(
        &self,
        case: CaseId,
        session: &[u8; 32],
        new: &NewReceipt,
        wrap: &NewWrap,
    ) -> Result<bool, StoreError> {
        if wrap.holder != Holder::Reporter {
            return Err(StoreError::Corrupt("a receipt's wrap is the reporter's"));
        }
        let txn = self.connection().begin().await?;
        // Lock this session's row first: two sessions replacing the receipt at once
        // each wait for the other's row, and only one of them gets through.
        let mine = followup_session::Entity::update_many()
            .col_expr(
                followup_session::Column::ForgetAfter,
                Expr::col(followup_session::Column::ForgetAfter),
            )
            .filter(followup_session::Column::Id.eq(hex::encode(session)))
            .filter(followup_session::Column::CaseId.eq(case.to_string()))
            .exec(&txn)
            .await?;
        if mine.rows_affected != 1 {
            return Ok(false);
        }
        followup_session::Entity::delete_many()
            .filter(followup_session::Column::CaseId.eq(case.to_string()))
            .filter(followup_session::Column::Id.ne(hex::encode(session)))
            .exec(&txn)
            .await?;
        receipt::Entity::delete_many()
            .filter(receipt::Column::CaseId.eq(case.to_string()))
            .exec(&txn)
            .await?;
        crate::wraps::delete_wrap_on(&txn, case, Holder::Reporter).await?;
        insert_receipt_on(&txn, case, new).await?;
        crate::wraps::insert_wraps(&txn, case, std::slice::from_ref(wrap)).await?;
        txn.commit().await.map_err(StoreError::CommitUnknown)?;
        Ok(true)
    }
}
