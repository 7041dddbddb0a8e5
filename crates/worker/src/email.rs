//! Content-free email: an outbox row holds one of the mail crate's notices (a case
//! reference and at most a date); the send job turns one row into one message.

use redress_mail::Notice;
use redress_store::{NewEmail, NewJob};

use crate::{JobError, Worker};

/// The day a deadline falls on, as a notice states it.
pub(crate) fn date_of(unix: i64) -> Result<redress_mail::Date, JobError> {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .map(|t| t.date())
        .map_err(|_| JobError::BadJob("due date out of range".into()))
}

/// An outbox row and the job that sends it, under one idempotency key: the same key
/// queued twice is one email.
pub(crate) fn outgoing(
    worker: &Worker,
    key: &str,
    recipient: &str,
    notice: &Notice,
    now: i64,
) -> Result<(NewEmail, NewJob), JobError> {
    let notice = serde_json::to_string(notice).map_err(|e| JobError::BadJob(e.to_string()))?;
    Ok(NewEmail::with_job(
        key,
        recipient,
        notice,
        &worker.settings.message_id_domain,
        now,
    ))
}

#[derive(serde::Deserialize)]
struct Payload {
    email: String,
}

/// Sends one outbox row. A row already sent is not sent again; a resend after a crash
/// between the server's acceptance and our bookkeeping carries the same Message-ID, so
/// mail clients show it once.
pub(crate) async fn send(worker: &Worker, job: &redress_store::Job) -> Result<(), JobError> {
    let payload: Payload = serde_json::from_str(&job.payload).map_err(|e| JobError::BadJob(e.to_string()))?;
    let Some(row) = worker.store.email_by_key(&payload.email).await? else {
        return Err(JobError::BadJob("no such outbox row".into()));
    };
    if row.sent {
        return Ok(());
    }
    let Some(mailer) = &worker.mailer else {
        return Err(JobError::MailNotConfigured);
    };
    let notice: Notice = serde_json::from_str(&row.notice)
        .map_err(|_| JobError::BadJob("the outbox notice does not parse".into()))?;
    match mailer
        .send_with_id(&row.recipient, &notice, &row.message_id)
        .await
    {
        Ok(_) => {
            worker
                .store
                .mark_email_sent(&row.idempotency_key, worker.now())
                .await?;
            Ok(())
        }
        Err(redress_mail::SendError::Permanent(e)) => Err(JobError::EmailRefused(e)),
        Err(redress_mail::SendError::Transient(e)) => Err(JobError::Email(e)),
    }
}
