//! A case's life (docs/DESIGN.md; ISO 37002 receive → assess → address → conclude; EU
//! Directive 2019/1937 Art. 9): which step may follow which, what a conclusion can be,
//! which deadline applies in each state, and what is written into a case's thread or
//! notes along the way.

use crate::names::named_enum;
use crate::{CaseState, SealedTo};

named_enum! {
    /// What an assessment found.
    pub enum Assessment {
        /// Within the mechanism's scope, with enough to investigate.
        Admissible = "admissible",
        /// The reporter is asked for more before it can be assessed further.
        NeedsInformation = "needs_information",
        /// Not misuse of the vendor's products.
        OutOfScope = "out_of_scope",
    }
}

named_enum! {
    /// How a case was concluded: what the vendor published it could find.
    pub enum Outcome {
        InsufficientInformation = "insufficient_information",
        Unrelated = "unrelated",
        NotSubstantiated = "not_substantiated",
        MitigationRequired = "mitigation_required",
        CustomerSuspended = "customer_suspended",
        CustomerTerminated = "customer_terminated",
        ReferredToAuthorities = "referred_to_authorities",
    }
}

impl Outcome {
    /// Whether this outcome acts on a customer, who must then be named.
    pub fn acts_on_customer(self) -> bool {
        matches!(
            self,
            Self::MitigationRequired | Self::CustomerSuspended | Self::CustomerTerminated
        )
    }
}

/// A step of a case's life, as an investigator takes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Acknowledge,
    Assess(Assessment),
    Investigate,
    Conclude(Outcome),
    GiveFeedback,
    Close,
    Reopen,
}

impl Step {
    /// The name of the step, as the portal's forms and the audit log say it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Acknowledge => "acknowledge",
            Self::Assess(_) => "assess",
            Self::Investigate => "investigate",
            Self::Conclude(_) => "conclude",
            Self::GiveFeedback => "give_feedback",
            Self::Close => "close",
            Self::Reopen => "reopen",
        }
    }
}

/// A step that does not follow from where the case is. Names both, nothing else.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("a case that is {state} cannot {step} now")]
pub struct IllegalStep {
    pub state: CaseState,
    pub step: &'static str,
}

impl CaseState {
    /// The state `step` leads to from this one, given the case's last assessment.
    ///
    /// `received → acknowledged → assessed → investigating → concluded →
    /// feedback_given → closed`; an assessment may be made again while assessed (the
    /// reporter sent what was asked for); a case assessed as not admissible is
    /// concluded without an investigation; a concluded, answered or closed case may be
    /// reopened, and is then investigated again.
    pub fn after(self, step: Step, assessment: Option<Assessment>) -> Result<CaseState, IllegalStep> {
        use CaseState::*;
        let next = match (self, step) {
            (Received, Step::Acknowledge) => Some(Acknowledged),
            (Acknowledged | Assessed, Step::Assess(_)) => Some(Assessed),
            (Assessed, Step::Investigate) if assessment == Some(Assessment::Admissible) => {
                Some(Investigating)
            }
            (Investigating, Step::Conclude(_)) => Some(Concluded),
            (Assessed, Step::Conclude(_)) if assessment != Some(Assessment::Admissible) => Some(Concluded),
            (Concluded, Step::GiveFeedback) => Some(FeedbackGiven),
            (FeedbackGiven, Step::Close) => Some(Closed),
            (Concluded | FeedbackGiven | Closed, Step::Reopen) => Some(Investigating),
            _ => None,
        };
        next.ok_or(IllegalStep {
            state: self,
            step: step.name(),
        })
    }

    /// The deadline that applies in this state: acknowledging a received case;
    /// feedback, from the acknowledgement until it is given.
    pub fn deadline(self) -> Option<Deadline> {
        match self {
            Self::Received => Some(Deadline::Acknowledgement),
            Self::Acknowledged | Self::Assessed | Self::Investigating | Self::Concluded => {
                Some(Deadline::Feedback)
            }
            Self::FeedbackGiven | Self::Closed | Self::Purged => None,
        }
    }
}

named_enum! {
    /// A deadline a case can be held to.
    pub enum Deadline {
        /// Acknowledge the reporter within `ack_days` (7) of receipt.
        Acknowledgement = "acknowledgement",
        /// Give the reporter feedback within `feedback_days` (90) of the acknowledgement.
        Feedback = "feedback",
    }
}

named_enum! {
    /// What an entry of a case's conversation or notes is. Those in the reporter's
    /// thread are sealed to the thread key (the reporter reads them, never their
    /// author); the others to the case key only.
    pub enum EntryKind {
        /// An investigator's message to the reporter.
        Reply = "reply",
        /// The acknowledgement of receipt sent to the reporter.
        Acknowledgement = "acknowledgement",
        /// An assessment and its reason, as the reporter reads it.
        Assessment = "assessment",
        /// The feedback given to the reporter.
        Feedback = "feedback",
        /// A message (and files) the reporter sent after the report, in a follow-up.
        ReporterMessage = "reporter_message",
        /// An internal note.
        Note = "note",
        /// The internal finding a conclusion records.
        Finding = "finding",
        /// Why a case was reopened (internal).
        Reopening = "reopening",
        /// Why someone left a case for a conflict of interest (internal).
        Recusal = "recusal",
        /// Who the reporter is, shared by them later from the follow-up door (ADR 0029):
        /// sealed to the case key only, so that their own receipt never reads it back,
        /// and opened in the portal on its own audited page.
        IdentityDisclosure = "identity_disclosure",
    }
}

impl EntryKind {
    /// Which of the case's keys the entry is sealed to.
    pub fn sealed_to(self) -> SealedTo {
        match self {
            Self::Reply
            | Self::Acknowledgement
            | Self::Assessment
            | Self::Feedback
            | Self::ReporterMessage => SealedTo::Thread,
            Self::Note | Self::Finding | Self::Reopening | Self::Recusal | Self::IdentityDisclosure => {
                SealedTo::Case
            }
        }
    }

    /// Written by investigators for the reporter to read: what the reporter may mark
    /// as read.
    pub fn is_to_reporter(self) -> bool {
        self.sealed_to() == SealedTo::Thread && self != Self::ReporterMessage
    }
}

/// The text of an entry (a reply, a note, a reason): trimmed, line ends `\n`, no
/// control characters but new lines and tabs, 1 to [`EntryText::MAX_CHARS`] characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryText(String);

/// Why a text was refused. The text is not repeated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EntryTextError {
    #[error("the text is empty")]
    Empty,
    #[error("the text is longer than {} characters", EntryText::MAX_CHARS)]
    TooLong,
    #[error("the text holds control characters")]
    Control,
}

impl EntryText {
    pub const MAX_CHARS: usize = 20_000;

    pub fn parse(typed: &str) -> Result<Self, EntryTextError> {
        let text = typed.replace("\r\n", "\n").trim().to_owned();
        if text.is_empty() {
            return Err(EntryTextError::Empty);
        }
        if text.chars().count() > Self::MAX_CHARS {
            return Err(EntryTextError::TooLong);
        }
        if text.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
            return Err(EntryTextError::Control);
        }
        Ok(Self(text))
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CaseState::*;

    #[test]
    fn a_case_goes_from_receipt_to_closing_and_back_by_the_allowed_steps_only() {
        let admissible = Some(Assessment::Admissible);
        let mut state = Received;
        for (step, assessment, next) in [
            (Step::Acknowledge, None, Acknowledged),
            (Step::Assess(Assessment::NeedsInformation), None, Assessed),
            (
                Step::Assess(Assessment::Admissible),
                Some(Assessment::NeedsInformation),
                Assessed,
            ),
            (Step::Investigate, admissible, Investigating),
            (Step::Conclude(Outcome::CustomerSuspended), admissible, Concluded),
            (Step::GiveFeedback, admissible, FeedbackGiven),
            (Step::Close, admissible, Closed),
            (Step::Reopen, admissible, Investigating),
        ] {
            state = state.after(step, assessment).unwrap();
            assert_eq!(state, next, "{step:?}");
        }
        // Out of scope: concluded without an investigation.
        assert_eq!(
            Assessed.after(Step::Conclude(Outcome::Unrelated), Some(Assessment::OutOfScope)),
            Ok(Concluded)
        );
        for (from, step, assessment) in [
            (Received, Step::Assess(Assessment::Admissible), None),
            (Received, Step::Close, None),
            (Acknowledged, Step::Investigate, None),
            (Assessed, Step::Investigate, Some(Assessment::OutOfScope)),
            (Assessed, Step::Conclude(Outcome::Unrelated), admissible),
            (Investigating, Step::Close, admissible),
            (Concluded, Step::Close, admissible),
            (Closed, Step::Acknowledge, admissible),
            (Purged, Step::Reopen, admissible),
        ] {
            let refused = from.after(step, assessment).unwrap_err();
            assert_eq!(refused.state, from);
            assert_eq!(refused.step, step.name());
        }
        assert_eq!(
            Concluded.after(Step::Close, admissible).unwrap_err().to_string(),
            "a case that is concluded cannot close now"
        );
    }

    #[test]
    fn entry_texts_are_trimmed_bounded_and_plain() {
        assert_eq!(
            EntryText::parse("  Thank you.\r\nWe are on it.\n ")
                .unwrap()
                .into_string(),
            "Thank you.\nWe are on it."
        );
        assert_eq!(EntryText::parse(" \n "), Err(EntryTextError::Empty));
        assert_eq!(EntryText::parse("a\u{0}b"), Err(EntryTextError::Control));
        assert_eq!(
            EntryText::parse(&"x".repeat(EntryText::MAX_CHARS + 1)),
            Err(EntryTextError::TooLong)
        );
        assert!(EntryText::parse(&"é".repeat(EntryText::MAX_CHARS)).is_ok());
    }

    #[test]
    fn deadlines_follow_the_state_and_entries_their_reader() {
        assert_eq!(Received.deadline(), Some(Deadline::Acknowledgement));
        assert_eq!(Investigating.deadline(), Some(Deadline::Feedback));
        assert_eq!(FeedbackGiven.deadline(), None);
        for kind in EntryKind::ALL {
            let to_reporter = matches!(
                kind,
                EntryKind::Reply | EntryKind::Acknowledgement | EntryKind::Assessment | EntryKind::Feedback
            );
            let in_thread = to_reporter || *kind == EntryKind::ReporterMessage;
            assert_eq!(kind.sealed_to() == SealedTo::Thread, in_thread, "{kind}");
            assert_eq!(kind.is_to_reporter(), to_reporter, "{kind}");
        }
        assert!(Outcome::CustomerTerminated.acts_on_customer());
        assert!(!Outcome::ReferredToAuthorities.acts_on_customer());
    }
}
