//! The email outbox: a row per email to send, written in the transaction that decided
//! to send it, and sent by a job under the same idempotency key.

use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, TransactionTrait,
};

use crate::entity::outbox;
use crate::{NewJob, Store, StoreError};

/// An email to queue. `notice` is the mail crate's notice as JSON: a case reference
/// and at most a date.
#[derive(Clone, Debug)]
pub struct NewEmail {
    pub idempotency_key: String,
    pub recipient: String,
    pub notice: String,
    pub message_id: String,
}

/// An email as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email {
    pub idempotency_key: String,
    pub recipient: String,
    pub notice: String,
    pub message_id: String,
    pub sent: bool,
    /// The hour it was queued, and the hour it was sent.
    pub created_at: i64,
    pub sent_at: Option<i64>,
}

const PENDING: &str = "pending";
const SENT: &str = "sent";

fn email(m: outbox::Model) -> Result<Email, StoreError> {
    let sent = match m.state.as_str() {
        PENDING => false,
        SENT => true,
        _ => return Err(StoreError::Corrupt("outbox state")),
    };
    Ok(Email {
        idempotency_key: m.idempotency_key,
        recipient: m.recipient,
        notice: m.notice,
        message_id: m.message_id,
        sent,
        created_at: m.created_at,
        sent_at: m.sent_at,
    })
}

impl NewEmail {
    /// An outbox row and the job that sends it, under one idempotency key: the same key
    /// queued twice is one email. `notice` is the mail crate's notice as JSON; the
    /// Message-ID names `message_id_domain`, never the machine.
    pub fn with_job(
        key: &str,
        recipient: &str,
        notice: String,
        message_id_domain: &str,
        now: i64,
    ) -> (Self, NewJob) {
        let email = Self {
            idempotency_key: key.to_owned(),
            recipient: recipient.to_owned(),
            notice,
            message_id: format!("<{}@{message_id_domain}>", uuid::Uuid::new_v4()),
        };
        let kind = redress_domain::JobKind::SendEmail;
        let job = NewJob {
            kind,
            idempotency_key: format!("{kind}:{key}"),
            payload: serde_json::json!({ "email": key }).to_string(),
            run_at: now,
            max_attempts: 10,
        };
        (email, job)
    }
}

impl Store {
    /// Queues an email (once per idempotency key) with its sending job, in one
    /// transaction. True if this call queued it.
    pub async fn queue_email(&self, email: &NewEmail, job: &NewJob, now: i64) -> Result<bool, StoreError> {
        let txn = self.connection().begin().await?;
        let inserted = insert_email(&txn, email, now).await?;
        if inserted {
            crate::queue::enqueue_on(&txn, job, now).await?;
        }
        txn.commit().await?;
        Ok(inserted)
    }

    pub async fn email_by_key(&self, key: &str) -> Result<Option<Email>, StoreError> {
        outbox::Entity::find()
            .filter(outbox::Column::IdempotencyKey.eq(key))
            .one(self.connection())
            .await?
            .map(email)
            .transpose()
    }

    pub async fn mark_email_sent(&self, key: &str, now: i64) -> Result<(), StoreError> {
        outbox::Entity::update_many()
            .col_expr(outbox::Column::State, SENT.into())
            .col_expr(
                outbox::Column::SentAt,
                Some(redress_domain::hour_floor(now)).into(),
            )
            .filter(outbox::Column::IdempotencyKey.eq(key))
            .exec(self.connection())
            .await?;
        Ok(())
    }

    pub async fn emails(&self) -> Result<Vec<Email>, StoreError> {
        outbox::Entity::find()
            .order_by_asc(outbox::Column::IdempotencyKey)
            .all(self.connection())
            .await?
            .into_iter()
            .map(email)
            .collect()
    }
}

pub(crate) async fn insert_email<C: ConnectionTrait>(
    db: &C,
    email: &NewEmail,
    now: i64,
) -> Result<bool, StoreError> {
    let rows = outbox::Entity::insert(outbox::ActiveModel {
        id: Set(uuid::Uuid::new_v4().to_string()),
        idempotency_key: Set(email.idempotency_key.clone()),
        recipient: Set(email.recipient.clone()),
        notice: Set(email.notice.clone()),
        state: Set(PENDING.into()),
        message_id: Set(email.message_id.clone()),
        created_at: Set(redress_domain::hour_floor(now)),
        sent_at: Set(None),
    })
    .on_conflict(
        OnConflict::column(outbox::Column::IdempotencyKey)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(rows > 0)
}
