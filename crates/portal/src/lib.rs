//! The portal: the door of investigators, admins and auditors (ADR 0021, ADR 0022).
//!
//! Accounts come from one-time invitations; each holds an X25519 identity stored only
//! sealed to a key its password derives, and logs in with the password and an
//! authenticator code. Sessions are database rows found by a key that only the
//! browser's cookie holds, and the unlocked identity a session keeps is sealed to that
//! key. Who may reach which route is decided in one place ([`access`]), from the route
//! table below; every person's action is written to the hash-chained audit log in the
//! transaction that does it.
//!
//! This crate must never store a password, an unlocked identity or an authenticator
//! secret in the clear, never log or store an IP address or user agent, and never
//! serve an intake route.

pub mod access;
mod account;
mod admin;
mod audit_log;
mod cases;
mod content;
mod customers;
pub mod export;
mod forms;
mod identity;
mod invitations;
mod keys;
mod layout;
mod list;
mod login;
mod marks;
mod own_key;
mod people;
mod qr;
mod search;
mod session;
mod setup;
mod state;
mod statistics;
mod steps;

use actix_web::web;
use redress_domain::Role;
use redress_web::Endpoint;

pub use access::Access;
pub use forms::{CSRF_COOKIE, FORM_LIMIT};
pub use invitations::{InviteError, InviteRequest, Invited, MAX_VALID_HOURS, invite};
pub use login::unlock;
pub use session::SESSION_COOKIE;
pub use state::{PortalParts, PortalSettings, PortalState};

/// The portal's own messages, by language; `Messages::layered` adds the shared ones.
const MESSAGES: &[(&str, &str)] = &[("en", include_str!("../locales/en.toml"))];

/// The portal's message catalogue for `lang`.
pub fn messages(lang: &str) -> Result<redress_web::Messages, redress_web::MessagesError> {
    redress_web::Messages::layered(lang, MESSAGES)
}

const STAFF: &[Role] = &[Role::Investigator, Role::Admin];
const ADMINS: &[Role] = &[Role::Admin];
const AUDIT_READERS: &[Role] = &[Role::Auditor, Role::Admin];

/// The portal's one route table: each path, the methods it serves, and who may reach
/// it. A route cannot be added without its rule, and [`access::enforce`] applies the
/// rule before any handler runs.
pub fn endpoints() -> Vec<(Access, Endpoint)> {
    vec![
        (Access::Public, Endpoint::new("/").get(login::landing)),
        (
            Access::Public,
            Endpoint::new("/static/style.css").get(redress_web::stylesheet),
        ),
        (
            Access::Public,
            Endpoint::new("/login").get(login::show).post(login::submit),
        ),
        (
            Access::Session,
            Endpoint::new("/logout")
                .get(login::confirm_logout)
                .post(login::logout),
        ),
        (
            Access::Public,
            Endpoint::new("/setup/{token}")
                .get(setup::show)
                .post(setup::submit),
        ),
        (
            Access::Session,
            Endpoint::new("/enrol").get(setup::show_enrol).post(setup::enrol),
        ),
        (
            Access::Roles(Role::ALL),
            Endpoint::new("/enrol/codes").get(setup::codes),
        ),
        (
            Access::Roles(Role::ALL),
            Endpoint::new("/account").get(account::show).post(account::submit),
        ),
        (
            Access::Roles(STAFF),
            Endpoint::new("/account/key")
                .get(own_key::show)
                .post(own_key::submit),
        ),
        (Access::Roles(STAFF), Endpoint::new("/cases").get(list::show)),
        (
            Access::Roles(STAFF),
            Endpoint::new("/search").get(search::show).post(search::submit),
        ),
        (
            Access::Roles(STAFF),
            Endpoint::new("/cases/{case_ref}")
                .get(cases::show)
                .post(steps::submit),
        ),
        (
            Access::Roles(STAFF),
            Endpoint::new("/cases/{case_ref}/files/{object}").get(cases::download),
        ),
        (
            Access::Roles(STAFF),
            Endpoint::new("/cases/{case_ref}/identity").get(identity::show),
        ),
        (
            Access::Roles(STAFF),
            Endpoint::new("/cases/{case_ref}/people").post(people::submit),
        ),
        (
            Access::Roles(STAFF),
            Endpoint::new("/cases/{case_ref}/marks").post(marks::submit),
        ),
        (
            Access::Roles(STAFF),
            Endpoint::new("/cases/{case_ref}/export")
                .get(export::show)
                .post(export::submit),
        ),
        (
            Access::Roles(ADMINS),
            Endpoint::new("/admin").get(admin::show).post(admin::invite),
        ),
        (
            Access::Roles(ADMINS),
            Endpoint::new("/admin/users/{id}")
                .get(admin::user)
                .post(admin::change_user),
        ),
        (
            Access::Roles(ADMINS),
            Endpoint::new("/admin/keys").get(keys::show).post(keys::start),
        ),
        (
            Access::Roles(ADMINS),
            Endpoint::new("/admin/keys/rotations/{rotation}").get(keys::rotation),
        ),
        (
            Access::Roles(AUDIT_READERS),
            Endpoint::new("/audit").get(audit_log::show),
        ),
        (
            Access::Roles(AUDIT_READERS),
            Endpoint::new("/statistics").get(statistics::show),
        ),
        (
            Access::Roles(AUDIT_READERS),
            Endpoint::new("/statistics.csv").get(statistics::csv),
        ),
        (
            Access::Roles(Role::ALL),
            Endpoint::new("/customers").get(customers::list),
        ),
        (
            Access::Roles(Role::ALL),
            Endpoint::new("/customers/{customer}").get(customers::show),
        ),
        (
            Access::Roles(ADMINS),
            Endpoint::new("/admin/customers")
                .get(customers::new_form)
                .post(customers::add),
        ),
        (
            Access::Roles(ADMINS),
            Endpoint::new("/admin/customers/{customer}")
                .get(customers::edit_form)
                .post(customers::change),
        ),
    ]
}

/// One row of the route table, for documentation and for the authorization tests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteRule {
    pub path: &'static str,
    pub methods: Vec<actix_web::http::Method>,
    pub access: Access,
}

/// The route table without its handlers.
pub fn route_table() -> Vec<RouteRule> {
    endpoints()
        .into_iter()
        .map(|(access, e)| RouteRule {
            path: e.path(),
            methods: e.methods().to_vec(),
            access,
        })
        .collect()
}

/// Registers every portal route, and nothing else, on a service config.
pub fn routes(cfg: &mut web::ServiceConfig) {
    for (_, endpoint) in endpoints() {
        cfg.service(endpoint);
    }
}

/// How often sessions and kept forms that ran out are deleted.
const FORGET_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// An address's failed logins count for this long after its last one, unless it is
/// locked.
const FAILURES_COUNT_FOR_SECS: i64 = 86_400;

/// Deletes sessions past their end, kept forms nobody came back for, and old failures
/// of addresses not locked, every minute, for as long as the process runs. Any number
/// of portal processes may do it at once.
pub async fn forget_stale(state: std::sync::Arc<PortalState>) {
    loop {
        let now = state.now();
        let idle_since = now - state.settings.session_idle_secs;
        if state.store.forget_stale_sessions(now, idle_since).await.is_err()
            || state.store.forget_expired_forms(now).await.is_err()
            || state
                .store
                .forget_old_login_failures(now - FAILURES_COUNT_FOR_SECS)
                .await
                .is_err()
        {
            redress_logging::count("portal", "forget_stale_failed");
        }
        tokio::time::sleep(FORGET_EVERY).await;
    }
}

#[cfg(test)]
mod tests {
    use redress_domain::{Assessment, AuditAction, CaseState, CustomerStatus, EntryKind, Outcome};

    /// Every name the pages look up in the catalogue by a domain value is there: a
    /// missing one would show as `⟦key⟧`.
    #[test]
    fn every_domain_value_shown_has_its_words() {
        let t = crate::messages("en").unwrap();
        let mut keys: Vec<String> = Vec::new();
        keys.extend(AuditAction::ALL.iter().map(|a| format!("audit_action.{a}")));
        keys.extend(CaseState::ALL.iter().map(|s| format!("case_state.{s}")));
        keys.extend(EntryKind::ALL.iter().map(|k| format!("entry.{k}")));
        keys.extend(Assessment::ALL.iter().map(|a| format!("assessment.{a}")));
        keys.extend(Outcome::ALL.iter().map(|o| format!("outcome.{o}")));
        keys.extend(CustomerStatus::ALL.iter().map(|s| format!("customer_status.{s}")));
        for key in keys {
            assert!(!t.get(&key).starts_with('⟦'), "{key} has no words");
        }
    }
}
