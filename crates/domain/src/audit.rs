use crate::names::named_enum;

named_enum! {
    /// What an audit entry records. The names are stored, and hashed into the chain:
    /// a name, once used, never changes.
    pub enum AuditAction {
        /// An invitation was issued (target: the invitation, by a prefix of its hash).
        Invitation = "invitation",
        /// An account was made from an invitation (its password set).
        Setup = "setup",
        Login = "login",
        FailedLogin = "failed_login",
        /// An address was locked after too many failed logins.
        Lockout = "lockout",
        Unlock = "unlock",
        /// An investigator's key revoked: their wraps deleted, their account disabled.
        KeyRevoke = "key_revoke",
        /// A door's web secret rotated, the one before it still accepted (target:
        /// `secret:web` or `secret:portal`; ADR 0031).
        SecretRotate = "secret_rotate",
        /// A door's web secret replaced with none kept, every session of that door ended
        /// (`--force`; target as for `secret_rotate`).
        SecretReplace = "secret_replace",
        /// A case given new keys after a revocation, everything re-encrypted to them
        /// (ADR 0032; target: the case).
        CaseRekey = "case_rekey",
        Logout = "logout",
        RoleChange = "role_change",
        Disable = "disable",
        Enable = "enable",
        TotpReset = "totp_reset",
        /// An account confirmed its authenticator (at setup, or after a reset).
        TotpEnrolled = "totp_enrolled",
        /// A login used up one of the account's recovery codes.
        RecoveryCodeUsed = "recovery_code_used",
        PasswordChange = "password_change",
        /// Someone signed in asked for a page, case or person they may not see.
        AccessDenied = "access_denied",
        CaseView = "case_view",
        /// An evidence file or its scrubbed rendition was downloaded (target: the case
        /// and the object).
        Download = "download",
        /// The steps of a case's life (target: the case).
        Acknowledge = "acknowledge",
        Assess = "assess",
        Investigate = "investigate",
        Conclude = "conclude",
        GiveFeedback = "give_feedback",
        Close = "close",
        Reopen = "reopen",
        /// A message to the reporter, and an internal note (target: the case).
        Reply = "reply",
        Note = "note",
        /// A colleague added to a case, and a person taken off it (target: the case and
        /// the person's account).
        Assign = "assign",
        Unassign = "unassign",
        /// Someone left a case for a conflict of interest (target: the case).
        Recuse = "recuse",
        /// A case's labels changed (target: the case; which labels is sealed).
        Labels = "labels",
        /// A search over the viewer's own cases (no target: the terms are not kept).
        Search = "search",
        /// The customer register (ADR 0025; target: `customer:<id>`): a customer added,
        /// its details edited, its status changed by hand with a reason.
        CustomerAdd = "customer_add",
        CustomerEdit = "customer_edit",
        CustomerStatus = "customer_status",
        /// A customer's status changed by a concluded case's outcome (target:
        /// `customer:<id>/case:<reference>`).
        CustomerAction = "customer_action",
        /// A case was exported as a zip of its sealed objects (target: the case).
        Export = "export",
        /// Someone opened what a reporter shared about who they are (target: the case).
        IdentityView = "identity_view",
        /// A person gave their account a new identity and moved their cases' wraps to
        /// it (target: the account).
        KeyRotate = "key_rotate",
        /// An account's recovery began: its old password and authenticator stopped
        /// working and a recovery link was issued (target: the account).
        KeyRecoveryStart = "key_recovery_start",
        /// An account's cases were wrapped to the identity it was set up with anew, with
        /// the recovery identity (target: the account).
        KeyRecover = "key_recover",
        /// An admin asked on the portal for a key rotation, which a worker performs
        /// (target: `rotation:<id>`).
        KeyRotationRequest = "key_rotation_request",
    }
}
