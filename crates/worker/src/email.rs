//! Content-free email: outbox rows name a case reference and at most a date; the send
//! job turns one row into one message.

use redress_domain::JobKind;
use redress_store::{NewEmail, NewJob};
use serde::{Deserialize, Serialize};

use crate::{JobError, Worker};

/// What an outbox row says, as stored. Nothing else can be said.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum OutboxNotice {
    CaseAssigned { case_ref: String },
    AcknowledgementDueSoon { case_ref: String, due: i64 },
    AcknowledgementOverdue { case_ref: String, due: i64 },
    FeedbackDueSoon { case_ref: String, due: i64 },
    FeedbackOverdue { case_ref: String, due: i64 },
}

fn date_of(unix: i64) -> Result<redress_mail::Date, JobError> {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .map(|t| t.date())
        .map_err(|_| JobError::BadJob("due date out of range".into()))
}

impl OutboxNotice {
    fn to_mail(&self) -> Result<redress_mail::Notice, JobError> {
        use redress_mail::{CaseRef, Notice};
        let r = |s: &str| CaseRef::parse(s).map_err(|_| JobError::BadJob("outbox case reference".into()));
        Ok(match self {
            Self::CaseAssigned { case_ref } => Notice::CaseAssigned {
                case_ref: r(case_ref)?,
            },
            Self::AcknowledgementDueSoon { case_ref, due } => Notice::AcknowledgementDueSoon {
                case_ref: r(case_ref)?,
                due_date: date_of(*due)?,
            },
            Self::AcknowledgementOverdue { case_ref, due } => Notice::AcknowledgementOverdue {
                case_ref: r(case_ref)?,
                due_date: date_of(*due)?,
            },
            Self::FeedbackDueSoon { case_ref, due } => Notice::FeedbackDueSoon {
                case_ref: r(case_ref)?,
                due_date: date_of(*due)?,
            },
            Self::FeedbackOverdue { case_ref, due } => Notice::FeedbackOverdue {
                case_ref: r(case_ref)?,
                due_date: date_of(*due)?,
            },
        })
    }
}

/// An outbox row and the job that sends it, under one idempotency key: the same key
/// queued twice is one email.
pub(crate) fn outgoing(
    worker: &Worker,
    key: &str,
    recipient: &str,
    notice: &OutboxNotice,
    now: i64,
) -> (NewEmail, NewJob) {
    let email = NewEmail {
        idempotency_key: key.to_owned(),
        recipient: recipient.to_owned(),
        notice: serde_json::to_string(notice).unwrap_or_default(),
        message_id: format!("<{}@{}>", uuid::Uuid::new_v4(), worker.settings.message_id_domain),
    };
    let kind = JobKind::SendEmail.as_str();
    let job = NewJob {
        kind: kind.to_owned(),
        idempotency_key: format!("{kind}:{key}"),
        payload: serde_json::json!({ "email": key }).to_string(),
        run_at: now,
        max_attempts: 10,
    };
    (email, job)
}

#[derive(Deserialize)]
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
    if row.state == "sent" {
        return Ok(());
    }
    let Some(mailer) = &worker.mailer else {
        // Kept visible: retried with backoff, then a dead job an admin can retry once
        // mail.smtp_url is set.
        return Err(JobError::Email("email is not configured (mail.smtp_url)".into()));
    };
    let notice: OutboxNotice =
        serde_json::from_str(&row.notice).map_err(|e| JobError::BadJob(e.to_string()))?;
    match mailer
        .send_with_id(&row.recipient, &notice.to_mail()?, &row.message_id)
        .await
    {
        Ok(_) => {
            worker.store.mark_email_sent(&row.id, worker.now()).await?;
            Ok(())
        }
        Err(redress_mail::SendError::Permanent(e)) => Err(JobError::EmailRefused(e)),
        Err(redress_mail::SendError::Transient(e)) => Err(JobError::Email(e)),
    }
}
