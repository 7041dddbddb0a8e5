use serde::{Deserialize, Serialize};

/// Kinds of background job. The names are stored in the job queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// Open a new case with the triage key, score, route and hand it over.
    TriageCase,
}

impl JobKind {
    pub const ALL: [Self; 1] = [Self::TriageCase];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::TriageCase => "triage_case",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}
