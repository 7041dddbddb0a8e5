//! Making an invitation (ADR 0021): one way, for `redress admin invite` and the admin
//! page alike. The link's token is shown once and only its hash is stored; the
//! invitation and its audit entry are written together.

use redress_crypto::new_link_token;
use redress_domain::{AuditAction, EmailAddress, Role};
use redress_store::{Invitation, Store, StoreError};
use zeroize::Zeroizing;

/// Longest an invitation may be valid: a month.
pub const MAX_VALID_HOURS: u32 = 30 * 24;

/// What to invite.
#[derive(Clone, Debug)]
pub struct InviteRequest {
    pub email: String,
    pub role: Role,
    /// For an investigator: routing teams. None given keeps those of an investigator
    /// registered earlier.
    pub teams: Vec<String>,
    /// For an investigator: open cases they can hold at once (default 10, or what they
    /// had).
    pub capacity: Option<u32>,
    pub valid_hours: u32,
}

/// Why an invitation was not made.
#[derive(Debug, thiserror::Error)]
pub enum InviteError {
    #[error("{0}")]
    Email(#[from] redress_domain::EmailError),
    #[error("choose a role: investigator, admin or auditor")]
    Role,
    #[error("this address has a portal account already: an admin can reset its authenticator instead")]
    HasAccount,
    #[error("an invitation is valid for 1 to {MAX_VALID_HOURS} hours (--valid-hours)")]
    ValidHours,
    #[error("an investigator's capacity must be at least 1 (--capacity)")]
    Capacity,
    /// Teams and capacity route cases; admins and auditors are given none.
    #[error("teams and capacity (--team, --capacity) are for investigators; an {0} is given no cases")]
    NotRouted(Role),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Audit(#[from] redress_audit::AuditError),
}

impl InviteError {
    /// The catalogue key of the message a person sees on the admin page.
    pub fn message_key(&self) -> Option<&'static str> {
        match self {
            Self::Email(_) => Some("invite.bad_email"),
            Self::HasAccount => Some("invite.has_account"),
            Self::Role => Some("invite.bad_role"),
            Self::ValidHours => Some("invite.valid_hours"),
            Self::Capacity => Some("invite.capacity"),
            Self::NotRouted(_) => Some("invite.not_routed"),
            Self::Store(_) | Self::Audit(_) => None,
        }
    }
}

/// An invitation made: its link's token (shown once), and what it was made with.
#[derive(Debug)]
pub struct Invited {
    pub token: Zeroizing<String>,
    pub invitation: Invitation,
}

impl Invited {
    /// The setup link under `base` (the portal's address).
    pub fn link(&self, base: &str) -> Zeroizing<String> {
        Zeroizing::new(format!(
            "{}/setup/{}",
            base.trim_end_matches('/'),
            self.token.as_str()
        ))
    }
}

/// Makes an invitation by `actor` (as the audit log names them), replacing any earlier
/// one for the address.
pub async fn invite(
    store: &Store,
    request: &InviteRequest,
    actor: &str,
    now: i64,
) -> Result<Invited, InviteError> {
    let email = EmailAddress::parse(&request.email)?;
    if store.account_by_email(email.as_str()).await?.is_some() {
        return Err(InviteError::HasAccount);
    }
    if !(1..=MAX_VALID_HOURS).contains(&request.valid_hours) {
        return Err(InviteError::ValidHours);
    }
    let teams: Vec<String> = request
        .teams
        .iter()
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .collect();
    let (teams, capacity) = if request.role == Role::Investigator {
        let earlier = store
            .investigators()
            .await?
            .into_iter()
            .find(|i| i.email.eq_ignore_ascii_case(email.as_str()));
        let teams = match (&earlier, teams.is_empty()) {
            (Some(i), true) => i.teams.clone(),
            _ => teams,
        };
        let capacity = request
            .capacity
            .or(earlier.as_ref().map(|i| i.capacity))
            .unwrap_or(10);
        if capacity == 0 {
            return Err(InviteError::Capacity);
        }
        (teams, capacity)
    } else {
        if !teams.is_empty() || request.capacity.is_some() {
            return Err(InviteError::NotRouted(request.role));
        }
        (Vec::new(), 0)
    };
    let (token, token_hash) = new_link_token();
    let invitation = Invitation {
        token_hash,
        email: email.to_string(),
        role: request.role,
        teams,
        capacity,
        expires_at: now + i64::from(request.valid_hours) * 3600,
    };
    let target = format!("invitation:{}", &hex::encode(token_hash)[..16]);
    let entry = redress_audit::NewEntry {
        actor,
        action: AuditAction::Invitation,
        target: Some(&target),
        at: now,
        timing: redress_audit::Timing::Exact,
    };
    let tx = store.begin_audited().await?;
    tx.add_invitation(&invitation).await?;
    redress_audit::append(&tx, &entry).await?;
    tx.commit().await?;
    Ok(Invited { token, invitation })
}
