//! What a notification can say: a closed set of notices with fixed English wording, whose only
//! variable parts are a validated case reference, a date and the portal link.

use redress_domain::CaseRef;
use serde::{Deserialize, Serialize};
use time::Date;

time::serde::format_description!(ymd, Date, "[year]-[month]-[day]");

/// The only things an email can say. Serialisable (tagged by `kind`, dates as `YYYY-MM-DD`)
/// so an outbox can store it; deserialising validates the case reference again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Notice {
    CaseAssigned {
        case_ref: CaseRef,
    },
    AcknowledgementDueSoon {
        case_ref: CaseRef,
        #[serde(with = "ymd")]
        due_date: Date,
    },
    AcknowledgementOverdue {
        case_ref: CaseRef,
        #[serde(with = "ymd")]
        due_date: Date,
    },
    FeedbackDueSoon {
        case_ref: CaseRef,
        #[serde(with = "ymd")]
        due_date: Date,
    },
    FeedbackOverdue {
        case_ref: CaseRef,
        #[serde(with = "ymd")]
        due_date: Date,
    },
    /// The reporter came back and sent a message or files.
    ReporterWrote {
        case_ref: CaseRef,
    },
}

impl Notice {
    pub fn case_ref(&self) -> &CaseRef {
        match self {
            Self::CaseAssigned { case_ref }
            | Self::ReporterWrote { case_ref }
            | Self::AcknowledgementDueSoon { case_ref, .. }
            | Self::AcknowledgementOverdue { case_ref, .. }
            | Self::FeedbackDueSoon { case_ref, .. }
            | Self::FeedbackOverdue { case_ref, .. } => case_ref,
        }
    }

    pub fn due_date(&self) -> Option<Date> {
        match self {
            Self::CaseAssigned { .. } | Self::ReporterWrote { .. } => None,
            Self::AcknowledgementDueSoon { due_date, .. }
            | Self::AcknowledgementOverdue { due_date, .. }
            | Self::FeedbackDueSoon { due_date, .. }
            | Self::FeedbackOverdue { due_date, .. } => Some(*due_date),
        }
    }
}

/// A rendered notice: a subject line and a plain-text body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
}

/// The wording of one notice. `{case_ref}` and `{due_date}` are filled in by [`render`].
struct Wording {
    subject: &'static str,
    says: &'static str,
}

fn wording(notice: &Notice) -> Wording {
    match notice {
        Notice::CaseAssigned { .. } => Wording {
            subject: "Case {case_ref} has been assigned to you",
            says: "Case {case_ref} has been assigned to you and needs your attention.",
        },
        Notice::ReporterWrote { .. } => Wording {
            subject: "Case {case_ref}: the reporter sent something new",
            says: "Case {case_ref}: the reporter came back and sent something new.",
        },
        Notice::AcknowledgementDueSoon { .. } => Wording {
            subject: "Case {case_ref}: acknowledgement due by {due_date}",
            says: "Case {case_ref}: the reporter must be sent an acknowledgement\nby {due_date}.",
        },
        Notice::AcknowledgementOverdue { .. } => Wording {
            subject: "Case {case_ref}: acknowledgement overdue since {due_date}",
            says: "Case {case_ref}: the acknowledgement to the reporter was due\non {due_date}.",
        },
        Notice::FeedbackDueSoon { .. } => Wording {
            subject: "Case {case_ref}: feedback due by {due_date}",
            says: "Case {case_ref}: the reporter must be given feedback by {due_date}.",
        },
        Notice::FeedbackOverdue { .. } => Wording {
            subject: "Case {case_ref}: feedback overdue since {due_date}",
            says: "Case {case_ref}: feedback to the reporter was due on {due_date}.",
        },
    }
}

/// Lines stay within 76 characters (with a short portal URL), so the body goes out as
/// readable 7bit text rather than quoted-printable.
const BODY: &str = "{says}\n\
\n\
Open the case in the portal:\n\
{link}\n\
\n\
This automatic notice deliberately says nothing more about the case.\n\
Sign in to the portal to read it.\n";

/// Renders `notice` in its fixed English wording, linking to
/// `portal_base_url + "/cases/" + case_ref`.
pub fn render(notice: &Notice, portal_base_url: &str) -> Rendered {
    let case_ref = notice.case_ref().as_str();
    let due_date = notice.due_date().map(iso_date).unwrap_or_default();
    let link = format!("{}/cases/{case_ref}", portal_base_url.trim_end_matches('/'));
    let values = [("case_ref", case_ref), ("due_date", due_date.as_str())];
    let wording = wording(notice);
    let says = fill(wording.says, &values);
    Rendered {
        subject: fill(wording.subject, &values),
        text: fill(BODY, &[("says", says.as_str()), ("link", link.as_str())]),
    }
}

fn iso_date(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// Replaces each `{name}` in one pass, so a filled-in value is never scanned again. An
/// unknown name is left as it is, for the tests to find.
fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let Some(len) = rest[open..].find('}') else { break };
        let name = &rest[open + 1..open + len];
        out.push_str(&rest[..open]);
        match values.iter().find(|(n, _)| *n == name) {
            Some((_, value)) => out.push_str(value),
            None => out.push_str(&rest[open..=open + len]),
        }
        rest = &rest[open + len + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use redress_domain::CaseRefError;
    use time::macros::date;

    use super::*;

    fn r(s: &str) -> CaseRef {
        CaseRef::parse_exact(s).unwrap()
    }

    pub(crate) fn every_notice() -> Vec<Notice> {
        let case_ref = r("RD-7K3M-Q9XA");
        let due_date = date!(2026 - 03 - 09);
        vec![
            Notice::CaseAssigned {
                case_ref: case_ref.clone(),
            },
            Notice::AcknowledgementDueSoon {
                case_ref: case_ref.clone(),
                due_date,
            },
            Notice::AcknowledgementOverdue {
                case_ref: case_ref.clone(),
                due_date,
            },
            Notice::FeedbackDueSoon {
                case_ref: case_ref.clone(),
                due_date,
            },
            Notice::FeedbackOverdue { case_ref, due_date },
        ]
    }

    #[test]
    fn case_ref_accepts_only_the_exact_form() {
        assert_eq!(r("RD-7K3M-Q9XA").as_str(), "RD-7K3M-Q9XA");
        assert_eq!(r("RD-0000-ZZZZ").to_string(), "RD-0000-ZZZZ");
        for bad in [
            "",
            "RD-",
            "RD-AAAA-AAAA\r\nBcc: x@example.org",
            "RD-AAAA-AAAA\n",
            " RD-AAAA-AAAA",
            "RD-AAAA-AAAA ",
            "rd-aaaa-aaaa",
            "RD-aaaa-AAAA",
            "RD-IIII-0000",
            "RD-LLLL-0000",
            "RD-OOOO-0000",
            "RD-UUUU-0000",
            "RD-AAA-AAAAA",
            "RD-AAAAA-AAA",
            "RD-AAAA-AAAA-AAAA",
            "RD-AAAA_AAAA",
            "XX-AAAA-AAAA",
            "RD-ÄAAA-AAAA",
            "Ministry of X",
        ] {
            assert_eq!(CaseRef::parse_exact(bad), Err(CaseRefError), "{bad:?}");
        }
    }

    #[test]
    fn case_ref_error_does_not_repeat_the_input() {
        let err = "Ministry of X".parse::<CaseRef>().unwrap_err();
        assert!(!err.to_string().contains("Ministry"));
    }

    #[test]
    fn every_notice_renders_without_placeholders() {
        for notice in every_notice() {
            let out = render(&notice, "https://portal.example.org/");
            let all = format!("{}\n{}", out.subject, out.text);
            assert!(!all.contains(['{', '}']), "{all}");
            assert!(out.subject.contains("RD-7K3M-Q9XA"), "{}", out.subject);
            assert!(
                out.text
                    .contains("https://portal.example.org/cases/RD-7K3M-Q9XA\n"),
                "{}",
                out.text
            );
            assert!(all.is_ascii());
            assert!(!out.subject.contains(['\r', '\n']));
            assert!(out.text.lines().all(|l| l.len() <= 76), "{}", out.text);
            if notice.due_date().is_some() {
                assert!(out.subject.contains("2026-03-09"), "{}", out.subject);
                assert!(out.text.contains("2026-03-09"), "{}", out.text);
            }
        }
    }

    #[test]
    fn notices_read_differently() {
        let subjects: std::collections::HashSet<String> = every_notice()
            .iter()
            .map(|n| render(n, "https://p.example").subject)
            .collect();
        assert_eq!(subjects.len(), 5);
    }

    #[test]
    fn case_assigned_reads_as_expected() {
        let out = render(&every_notice()[0], "https://portal.example.org");
        assert_eq!(out.subject, "Case RD-7K3M-Q9XA has been assigned to you");
        assert_eq!(
            out.text,
            "Case RD-7K3M-Q9XA has been assigned to you and needs your attention.\n\
             \n\
             Open the case in the portal:\n\
             https://portal.example.org/cases/RD-7K3M-Q9XA\n\
             \n\
             This automatic notice deliberately says nothing more about the case.\n\
             Sign in to the portal to read it.\n"
        );
    }

    #[test]
    fn fill_is_one_pass_and_keeps_unknown_names() {
        assert_eq!(fill("a {x} b", &[("x", "{x}{y}")]), "a {x}{y} b");
        assert_eq!(fill("{nope} {x", &[("x", "1")]), "{nope} {x");
        assert_eq!(fill("{x}{x}", &[("x", "1")]), "11");
    }

    #[test]
    fn notices_round_trip_through_json_and_revalidate() {
        for notice in every_notice() {
            let json = serde_json::to_string(&notice).unwrap();
            assert_eq!(serde_json::from_str::<Notice>(&json).unwrap(), notice);
        }
        let json = serde_json::to_string(&every_notice()[1]).unwrap();
        assert_eq!(
            json,
            r#"{"kind":"acknowledgement_due_soon","case_ref":"RD-7K3M-Q9XA","due_date":"2026-03-09"}"#
        );
        let smuggled = r#"{"kind":"case_assigned","case_ref":"RD-AAAA-AAAA\r\nBcc: x@example.org"}"#;
        assert!(serde_json::from_str::<Notice>(smuggled).is_err());
    }
}
