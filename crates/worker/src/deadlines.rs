//! The periodic deadline job: acknowledge within 7 days of receipt, feedback within 3
//! months of acknowledgement (EU 2019/1937 Art. 9). Cases near or past a deadline are
//! flagged, and their assignees get one reminder per change of flag.

use redress_domain::{Deadline, DeadlineFlag};
use redress_mail::Notice;
use redress_store::StoredCase;

use crate::email::{date_of, outgoing};
use crate::{JobError, Worker};

/// The deadline that applies to a case now, and when it falls due, if any.
fn deadline(case: &StoredCase) -> Option<(Deadline, i64)> {
    let which = case.state.deadline()?;
    let due = match which {
        Deadline::Acknowledgement => case.ack_due,
        Deadline::Feedback => case.feedback_due,
    }?;
    Some((which, due))
}

/// The reminder for a deadline that became due soon or overdue.
fn reminder(
    case: &StoredCase,
    which: Deadline,
    flag: DeadlineFlag,
    due: i64,
) -> Result<Option<Notice>, JobError> {
    let case_ref = case.case_ref.clone();
    let due_date = date_of(due)?;
    Ok(match (which, flag) {
        (_, DeadlineFlag::Ok) => None,
        (Deadline::Acknowledgement, DeadlineFlag::DueSoon) => {
            Some(Notice::AcknowledgementDueSoon { case_ref, due_date })
        }
        (Deadline::Acknowledgement, DeadlineFlag::Overdue) => {
            Some(Notice::AcknowledgementOverdue { case_ref, due_date })
        }
        (Deadline::Feedback, DeadlineFlag::DueSoon) => Some(Notice::FeedbackDueSoon { case_ref, due_date }),
        (Deadline::Feedback, DeadlineFlag::Overdue) => Some(Notice::FeedbackOverdue { case_ref, due_date }),
    })
}

pub(crate) async fn scan(worker: &Worker) -> Result<(), JobError> {
    let now = worker.now();
    let soon = worker.rules.deadlines.due_soon_days * 86_400;
    for case in worker.store.open_triaged_cases().await? {
        let applies = deadline(&case);
        let new_flag = applies.map_or(DeadlineFlag::Ok, |(_, due)| DeadlineFlag::of(due, now, soon));
        if new_flag == case.deadline_flag {
            continue;
        }
        if let Some((which, due)) = applies
            && let Some(notice) = reminder(&case, which, new_flag, due)?
        {
            for person in worker.store.assignees(case.id).await? {
                let key = format!(
                    "reminder:{}:{new_flag}:{due}:{}:{}",
                    which.as_str(),
                    case.id,
                    person.id
                );
                let (email, job) = outgoing(worker, &key, &person.email, &notice, now)?;
                worker.store.queue_email(&email, &job, now).await?;
            }
        }
        worker.store.set_deadline_flag(case.id, new_flag).await?;
    }
    Ok(())
}
