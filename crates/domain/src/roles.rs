use crate::names::named_enum;

named_enum! {
    /// What a portal account may do (`../shared/DESIGN.md`, "The portal").
    pub enum Role {
        /// The cases assigned to them.
        Investigator = "investigator",
        /// People, settings and keys; no case content unless also assigned.
        Admin = "admin",
        /// The audit log and statistics; no case content.
        Auditor = "auditor",
    }
}

named_enum! {
    /// Whether a portal account may log in.
    pub enum AccountState {
        Active = "active",
        /// Turned off by an admin: no login, no session, no new cases.
        Disabled = "disabled",
        /// Its password and authenticator are lost (`redress keys recover-investigator`):
        /// no login, no session, no new cases, until a recovery link sets it up anew.
        Recovering = "recovering",
    }
}

named_enum! {
    /// How far a portal session reaches.
    pub enum SessionStage {
        /// The password was right but the account has no authenticator yet (first
        /// setup, or after an admin's reset): only enrolment and logout.
        Enrolling = "enrolling",
        /// Password and second factor checked.
        Full = "full",
    }
}

/// A staff member's email address, as accounts, invitations and investigators store
/// it: trimmed and in lower case, so that a person typing it differently is still the
/// same person. Checked for shape only; whether mail arrives is the mail server's
/// business.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EmailAddress(String);

/// Not an email address. The text is not repeated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not an email address (name@domain, at most 254 characters, no spaces)")]
pub struct EmailError;

impl EmailAddress {
    pub fn parse(typed: &str) -> Result<Self, EmailError> {
        let email = typed.trim().to_lowercase();
        let shaped = email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty() && !domain.contains('@'));
        if !shaped || email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(EmailError);
        }
        Ok(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_kept_in_one_form_and_nonsense_is_refused() {
        let a = EmailAddress::parse("  Ana@Example.ORG ").unwrap();
        assert_eq!(a.as_str(), "ana@example.org");
        assert_eq!(EmailAddress::parse("ana@example.org"), Ok(a));
        for bad in [
            "",
            "ana",
            "@example.org",
            "ana@",
            "a b@example.org",
            "a@b@c",
            "ana@exa\nmple.org",
        ] {
            assert_eq!(EmailAddress::parse(bad), Err(EmailError), "{bad:?}");
        }
        assert!(EmailAddress::parse(&format!("{}@example.org", "a".repeat(250))).is_err());
    }
}
