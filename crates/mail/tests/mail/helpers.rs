use std::fs;
use std::os::unix::fs::PermissionsExt;

use redress_mail::sink::SinkHandle;
use redress_mail::{CaseRef, Date, MailConfig, Notice};

pub const TO: &str = "investigator@example.net";

pub fn config(sink: &SinkHandle) -> MailConfig {
    MailConfig {
        smtp_url: sink.url(),
        credentials_file: String::new(),
        from: "Redress <redress@example.org>".into(),
        ehlo_name: "notify.redress.test".into(),
        message_id_domain: "mid.redress.test".into(),
        portal_base_url: "https://portal.example.org".into(),
        timeout_secs: 5,
    }
}

pub fn case_ref() -> CaseRef {
    CaseRef::parse_exact("RD-7K3M-Q9XA").unwrap()
}

pub fn assigned() -> Notice {
    Notice::CaseAssigned { case_ref: case_ref() }
}

pub fn every_notice() -> Vec<Notice> {
    let (case_ref, due_date) = (
        case_ref(),
        Date::from_calendar_date(2026, time::Month::March, 9).unwrap(),
    );
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

/// A credentials file with the given content and mode, in its own temporary directory.
pub fn credentials_file(content: &str, mode: u32) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("smtp-login");
    fs::write(&path, content).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
    (dir, path.to_str().unwrap().to_owned())
}

/// The machine's host name, read here in the test only.
pub fn hostname() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_owned()
}

/// Whether `text` mentions the host `name`: the full name anywhere, or (since a name as short
/// as "vm" is common) its first label as a whole word.
pub fn mentions_host(text: &str, name: &str) -> bool {
    let (text, name) = (text.to_ascii_lowercase(), name.to_ascii_lowercase());
    let first_label = name.split('.').next().unwrap_or_default();
    (name.contains('.') && text.contains(&name))
        || text
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .any(|word| word == first_label)
}

#[test]
fn mentions_host_finds_words_not_fragments() {
    assert!(mentions_host("EHLO vm\r\n", "vm"));
    assert!(mentions_host("Message-ID: <x@VM>", "vm"));
    assert!(mentions_host("EHLO box.lan", "box.lan"));
    assert!(!mentions_host("environment vms", "vm"));
}
