//! The periodic deadline job: acknowledge within 7 days of receipt, feedback within 3
//! months of acknowledgement (EU 2019/1937 Art. 9). Cases near or past a deadline are
//! flagged, and their assignees get one reminder per change of flag.

use redress_domain::CaseState;
use redress_store::StoredCase;

use crate::email::{OutboxNotice, outgoing};
use crate::{JobError, Worker};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Which {
    Acknowledgement,
    Feedback,
}

/// The deadline that applies to a case now, if any.
fn deadline(case: &StoredCase) -> Option<(Which, i64)> {
    match case.state {
        CaseState::Received => case.ack_due.map(|d| (Which::Acknowledgement, d)),
        CaseState::Acknowledged | CaseState::Assessed | CaseState::Investigating | CaseState::Concluded => {
            case.feedback_due.map(|d| (Which::Feedback, d))
        }
        CaseState::FeedbackGiven | CaseState::Closed | CaseState::Purged => None,
    }
}

/// `ok`, `due_soon` or `overdue`.
pub fn flag(due: i64, now: i64, due_soon_secs: i64) -> &'static str {
    if now > due {
        "overdue"
    } else if now >= due - due_soon_secs {
        "due_soon"
    } else {
        "ok"
    }
}

pub(crate) async fn scan(worker: &Worker) -> Result<(), JobError> {
    let now = worker.now();
    let soon = worker.rules.deadlines.due_soon_days * 86_400;
    for case in worker.store.open_triaged_cases().await? {
        let (which, new_flag) = match deadline(&case) {
            Some((which, due)) => (Some((which, due)), flag(due, now, soon)),
            None => (None, "ok"),
        };
        if new_flag == case.deadline_flag {
            continue;
        }
        if let Some((which, due)) = which
            && new_flag != "ok"
        {
            let case_ref = case.case_ref.to_string();
            let notice = match (which, new_flag) {
                (Which::Acknowledgement, "due_soon") => {
                    OutboxNotice::AcknowledgementDueSoon { case_ref, due }
                }
                (Which::Acknowledgement, _) => OutboxNotice::AcknowledgementOverdue { case_ref, due },
                (Which::Feedback, "due_soon") => OutboxNotice::FeedbackDueSoon { case_ref, due },
                (Which::Feedback, _) => OutboxNotice::FeedbackOverdue { case_ref, due },
            };
            for person in worker.store.assignees(case.id).await? {
                let key = format!("reminder:{which:?}:{new_flag}:{due}:{}:{}", case.id, person.id);
                let (email, job) = outgoing(worker, &key, &person.email, &notice, now);
                worker.store.queue_email(&email, &job, now).await?;
            }
        }
        worker.store.set_deadline_flag(case.id, new_flag).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::flag;

    #[test]
    fn flags_follow_the_clock() {
        let day = 86_400;
        assert_eq!(flag(10 * day, 7 * day, 2 * day), "ok");
        assert_eq!(flag(10 * day, 8 * day, 2 * day), "due_soon");
        assert_eq!(flag(10 * day, 10 * day, 2 * day), "due_soon");
        assert_eq!(flag(10 * day, 10 * day + 1, 2 * day), "overdue");
    }
}
