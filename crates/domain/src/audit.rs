use crate::names::named_enum;

named_enum! {
    /// What an audit entry records. The names are stored, and hashed into the chain:
    /// a name, once used, never changes.
    pub enum AuditAction {
        /// An invitation was issued (target: the invited account).
        Invitation = "invitation",
        /// An account finished its setup.
        Setup = "setup",
        Login = "login",
        FailedLogin = "failed_login",
        /// An account was locked after too many failed logins.
        Lockout = "lockout",
        Unlock = "unlock",
        Logout = "logout",
        RoleChange = "role_change",
        Disable = "disable",
        Enable = "enable",
        TotpReset = "totp_reset",
    }
}
