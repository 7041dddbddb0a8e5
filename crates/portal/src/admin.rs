//! The admin pages: people (list, invite, disable, re-enable, change role, reset the
//! authenticator, unlock after failed logins). Admins see no case content: nothing
//! here opens a case. Every change is written with its audit entry.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use redress_crypto::login_guard_key;
use redress_domain::{AccountId, AccountState, AuditAction, Role};
use redress_store::{Account, Routing};
use serde::Deserialize;

use crate::PortalState;
use crate::access::{Viewer, see_other};
use crate::forms::{self, Answer, Failure, answer, kept_value};
use crate::invitations::{InviteError, InviteRequest, invite as make_invitation};
use crate::layout::{Chrome, day, moment, page};

const LINK_COOKIE: &str = "redress_portal_link";
const LINK_PURPOSE: &str = "invitation-link";
const LINK_TTL_SECS: i64 = 600;

/// A person as the admin pages list them.
#[derive(Debug)]
pub struct UserRow {
    pub id: String,
    pub email: String,
    pub role: String,
    pub state: String,
    pub active: bool,
    pub enrolled: bool,
    pub locked: bool,
    pub last_login: String,
}

#[derive(Debug)]
pub struct InvitationRow {
    pub email: String,
    pub role: String,
    pub expires: String,
}

/// A role to choose, and whether it is chosen.
#[derive(Debug)]
pub struct RoleChoice {
    pub value: &'static str,
    pub label: String,
    pub selected: bool,
}

/// A role and, for an investigator, routing: as typed into the invitation form and
/// into a person's role form alike.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct RoleFields {
    pub role: String,
    pub teams: String,
    pub capacity: String,
}

impl RoleFields {
    /// What was kept of a form posted after its session ended, else `or`.
    fn kept_or(kept: &[(String, String)], or: RoleFields) -> Self {
        Self {
            role: kept_value(kept, "role").unwrap_or(or.role),
            teams: kept_value(kept, "teams").unwrap_or(or.teams),
            capacity: kept_value(kept, "capacity").unwrap_or(or.capacity),
        }
    }

    /// The fields as the form shows them (`role_fields.html`).
    fn view(self, state: &PortalState, teams_hint: String) -> RoleFieldsView {
        RoleFieldsView {
            roles: Role::ALL
                .iter()
                .map(|r| RoleChoice {
                    value: r.as_str(),
                    label: state.messages.get(&format!("role.{r}")).into_owned(),
                    selected: r.as_str() == self.role,
                })
                .collect(),
            teams: self.teams,
            capacity: self.capacity,
            teams_hint,
        }
    }
}

/// The role, teams and capacity fields of a form, filled in.
#[derive(Debug)]
pub struct RoleFieldsView {
    pub roles: Vec<RoleChoice>,
    pub teams: String,
    pub capacity: String,
    pub teams_hint: String,
}

page!(AdminPage {
    users: Vec<UserRow>,
    invitations: Vec<InvitationRow>,
    email: String,
    fields: RoleFieldsView,
    errors: Vec<String>,
    link: Option<String>,
}, "admin.html");

page!(UserPage {
    user: UserRow,
    is_self: bool,
    fields: RoleFieldsView,
    errors: Vec<String>,
    notice: Option<String>,
}, "user.html");

async fn user_row(state: &PortalState, a: &Account) -> Result<UserRow, Failure> {
    let t = &state.messages;
    Ok(UserRow {
        id: a.id.to_string(),
        email: a.email.clone(),
        role: t.get(&format!("role.{}", a.role)).into_owned(),
        state: t.get(&format!("account_state.{}", a.state)).into_owned(),
        active: a.state == AccountState::Active,
        enrolled: a.enrolled(),
        locked: state.store.login_guard(&login_guard_key(&a.email)).await?.locked,
        last_login: a
            .last_login_day
            .map_or_else(|| t.get("admin.never").into_owned(), day),
    })
}

/// `GET /admin`: people, pending invitations, and the invitation form.
pub async fn show(req: HttpRequest, state: web::Data<PortalState>, viewer: Viewer) -> HttpResponse {
    let (kept, forget) = forms::take_kept(&state, &req, "/admin").await;
    let email = kept_value(&kept, "email").unwrap_or_default();
    let fields = RoleFields::kept_or(
        &kept,
        RoleFields {
            role: Role::Investigator.as_str().to_owned(),
            ..RoleFields::default()
        },
    );
    let link = req
        .cookie(&state.cookie_name(LINK_COOKIE))
        .and_then(|c| state.flash.open(LINK_PURPOSE, c.value(), state.now()).ok())
        .and_then(|plain| String::from_utf8(plain.to_vec()).ok());
    let mut cookies = vec![forget];
    if link.is_some() {
        cookies.push(Some(state.cookie_removal(LINK_COOKIE)));
    }
    answer(
        &state,
        admin_page(
            &req,
            &state,
            &viewer,
            StatusCode::OK,
            (email, fields),
            Vec::new(),
            link,
            cookies,
        )
        .await,
    )
}

#[allow(clippy::too_many_arguments)]
async fn admin_page(
    req: &HttpRequest,
    state: &PortalState,
    viewer: &Viewer,
    status: StatusCode,
    (email, fields): (String, RoleFields),
    errors: Vec<String>,
    link: Option<String>,
    cookies: Vec<Option<actix_web::cookie::Cookie<'static>>>,
) -> Answer {
    let t = &state.messages;
    let mut users = Vec::new();
    for a in state.store.accounts().await? {
        users.push(user_row(state, &a).await?);
    }
    let invitations = state
        .store
        .pending_invitations(state.now())
        .await?
        .into_iter()
        .map(|i| InvitationRow {
            role: t.get(&format!("role.{}", i.role)).into_owned(),
            expires: moment(i.expires_at),
            email: i.email,
        })
        .collect();
    let s = &state.settings;
    let routing_hint = t.fill(
        "admin.routing_hint",
        &[
            ("teams", &s.routed_teams.join(", ")),
            ("fallback", &s.fallback_team),
        ],
    );
    let mut chrome = Chrome::new(state, req, Some(viewer), "admin.title");
    for c in cookies {
        chrome.with_cookie(c);
    }
    let page = AdminPage {
        chrome,
        users,
        invitations,
        email,
        fields: fields.view(state, routing_hint),
        errors,
        link,
    };
    Ok(page.chrome.respond(status, &page))
}

#[derive(Deserialize)]
struct InviteForm {
    #[serde(default)]
    email: String,
    #[serde(flatten)]
    fields: RoleFields,
}

/// `POST /admin`: an invitation. Its link is shown once, on the page this redirects to.
pub async fn invite(
    req: HttpRequest,
    state: web::Data<PortalState>,
    viewer: Viewer,
    body: web::Bytes,
) -> HttpResponse {
    answer(&state, invite_inner(&req, &state, &viewer, &body).await)
}

async fn invite_inner(req: &HttpRequest, state: &PortalState, viewer: &Viewer, body: &[u8]) -> Answer {
    let form = match forms::posted::<InviteForm>(state, req, body, "/admin") {
        forms::Posted::Form(f) => f,
        forms::Posted::Refused(answer) => return Ok(answer),
    };
    let typed = (form.email.clone(), form.fields.clone());
    let now = state.now();
    let made = match invite_request(state, form) {
        Ok(request) => make_invitation(&state.store, &request, &viewer.actor(), now).await,
        Err(e) => Err(e),
    };
    let invited = match made {
        Ok(invited) => invited,
        Err(e) => {
            let Some(key) = e.message_key() else {
                return Err(e.into());
            };
            let errors = vec![state.messages.get(key).into_owned()];
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            return admin_page(req, state, viewer, status, typed, errors, None, Vec::new()).await;
        }
    };
    let link = invited.link(&state.settings.link_base);
    let sealed = state
        .flash
        .seal(LINK_PURPOSE, link.as_bytes(), now + LINK_TTL_SECS)
        .map_err(|_| Failure::Internal("sealing an invitation link"))?;
    let mut c = state.cookie(LINK_COOKIE, sealed);
    c.set_max_age(actix_web::cookie::time::Duration::seconds(LINK_TTL_SECS));
    let mut res = see_other("/admin");
    let _ = res.add_cookie(&c);
    Ok(res)
}

/// The invitation the form asks for, as far as its text can say.
fn invite_request(state: &PortalState, form: InviteForm) -> Result<InviteRequest, InviteError> {
    let f = form.fields;
    let role = Role::parse(&f.role).ok_or(InviteError::Role)?;
    let capacity = match f.capacity.trim() {
        "" => None,
        n => Some(n.parse::<u32>().map_err(|_| InviteError::Capacity)?),
    };
    Ok(InviteRequest {
        email: form.email,
        role,
        teams: f.teams.split(',').map(str::to_owned).collect(),
        capacity,
        valid_hours: state.settings.invitation_hours,
    })
}

/// The account a path names, if it exists.
async fn account_of(state: &PortalState, id: &str) -> Result<Option<Account>, Failure> {
    Ok(match AccountId::parse(id) {
        Some(id) => state.store.account(id).await?,
        None => None,
    })
}

/// `GET /admin/users/{id}`.
pub async fn user(
    req: HttpRequest,
    state: web::Data<PortalState>,
    viewer: Viewer,
    id: web::Path<String>,
) -> HttpResponse {
    answer(&state, user_inner(&req, &state, &viewer, &id).await)
}

async fn user_inner(req: &HttpRequest, state: &PortalState, viewer: &Viewer, id: &str) -> Answer {
    let Some(account) = account_of(state, id).await? else {
        return Ok(redress_web::not_found(req.clone()).await);
    };
    let (kept, forget) = forms::take_kept(state, req, req.path()).await;
    let notice = crate::login::query(req, "done")
        .filter(|d| ACTIONS.contains(&d.as_str()))
        .map(|d| state.messages.get(&format!("user.done_{d}")).into_owned());
    // What routing says of the person now, unless a form of theirs was kept.
    let routing = match account.investigator_id {
        Some(id) => state
            .store
            .investigators()
            .await?
            .into_iter()
            .find(|i| i.id == id),
        None => None,
    };
    let now = RoleFields {
        role: account.role.as_str().to_owned(),
        teams: routing.as_ref().map(|r| r.teams.join(", ")).unwrap_or_default(),
        capacity: routing
            .as_ref()
            .map(|r| r.capacity.to_string())
            .unwrap_or_default(),
    };
    let fields = RoleFields::kept_or(&kept, now);
    user_page(
        req,
        state,
        viewer,
        &account,
        StatusCode::OK,
        Vec::new(),
        notice,
        fields,
        forget,
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn user_page(
    req: &HttpRequest,
    state: &PortalState,
    viewer: &Viewer,
    account: &Account,
    status: StatusCode,
    errors: Vec<String>,
    notice: Option<String>,
    fields: RoleFields,
    forget: Option<actix_web::cookie::Cookie<'static>>,
) -> Answer {
    let mut chrome = Chrome::new(state, req, Some(viewer), "user.title");
    chrome.with_cookie(forget);
    let page = UserPage {
        chrome,
        user: user_row(state, account).await?,
        is_self: account.id == viewer.id(),
        fields: fields.view(state, state.messages.get("user.teams_hint").into_owned()),
        errors,
        notice,
    };
    Ok(page.chrome.respond(status, &page))
}

/// A change an admin asked for, checked before anything is written.
enum Change {
    State(AccountState),
    Role(Role, Routing),
    ResetTotp,
}

/// What the user page's buttons do.
const ACTIONS: &[&str] = &["disable", "enable", "role", "reset_totp", "unlock"];

#[derive(Deserialize)]
struct UserForm {
    #[serde(default)]
    action: String,
    #[serde(flatten)]
    fields: RoleFields,
}

/// `POST /admin/users/{id}`: one action on the account.
pub async fn change_user(
    req: HttpRequest,
    state: web::Data<PortalState>,
    viewer: Viewer,
    id: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    answer(&state, change_inner(&req, &state, &viewer, &id, &body).await)
}

async fn change_inner(
    req: &HttpRequest,
    state: &PortalState,
    viewer: &Viewer,
    id: &str,
    body: &[u8],
) -> Answer {
    let here = req.path().to_owned();
    let form = match forms::posted::<UserForm>(state, req, body, &here) {
        forms::Posted::Form(f) => f,
        forms::Posted::Refused(answer) => return Ok(answer),
    };
    let Some(account) = account_of(state, id).await? else {
        return Ok(redress_web::not_found(req.clone()).await);
    };
    let t = &state.messages;
    let (shown, typed) = (&account, &form.fields);
    let refuse = move |key: &'static str| async move {
        let errors = vec![t.get(key).into_owned()];
        user_page(
            req,
            state,
            viewer,
            shown,
            StatusCode::UNPROCESSABLE_ENTITY,
            errors,
            None,
            typed.clone(),
            None,
        )
        .await
    };
    let changes_standing = matches!(form.action.as_str(), "disable" | "role");
    if changes_standing && account.id == viewer.id() {
        return refuse("user.not_yourself").await;
    }
    let last_admin = account.role == Role::Admin
        && account.state == AccountState::Active
        && state.store.active_accounts_with_role(Role::Admin).await? <= 1;
    // Its old password must not work again, nor its authenticator be enrolled anew:
    // its recovery link sets it up (ADR 0033).
    let recovering = account.state == AccountState::Recovering;
    let change = match form.action.as_str() {
        "disable" | "enable" | "reset_totp" if recovering => return refuse("user.recovering").await,
        "disable" if last_admin => return refuse("user.last_admin").await,
        "disable" => Change::State(AccountState::Disabled),
        "enable" => Change::State(AccountState::Active),
        "role" => {
            let Some(role) = Role::parse(&form.fields.role) else {
                return refuse("invite.bad_role").await;
            };
            if last_admin && role != Role::Admin {
                return refuse("user.last_admin").await;
            }
            let capacity = match form.fields.capacity.trim() {
                "" => 10,
                n => match n.parse::<u32>() {
                    Ok(n) if n > 0 => n,
                    _ => return refuse("invite.capacity").await,
                },
            };
            let teams = form
                .fields
                .teams
                .split(',')
                .map(|t| t.trim().to_owned())
                .filter(|t| !t.is_empty())
                .collect();
            Change::Role(
                role,
                Routing {
                    existing: None,
                    teams,
                    capacity,
                },
            )
        }
        "reset_totp" => Change::ResetTotp,
        "unlock" => {
            crate::unlock(&state.store, &account.email, &viewer.actor(), state.now()).await?;
            return Ok(see_other(&format!("{here}?done=unlock")));
        }
        _ => return refuse("user.unknown_action").await,
    };
    let tx = state.store.begin_audited().await?;
    let action = match change {
        Change::State(s) => {
            tx.set_account_state(account.id, s).await?;
            match s {
                AccountState::Disabled => AuditAction::Disable,
                // Only a recovery link sets a recovering account up (refused above).
                AccountState::Active | AccountState::Recovering => AuditAction::Enable,
            }
        }
        Change::Role(role, routing) => {
            tx.set_role(account.id, role, Some(&routing)).await?;
            AuditAction::RoleChange
        }
        Change::ResetTotp => {
            tx.reset_totp(account.id).await?;
            AuditAction::TotpReset
        }
    };
    let target = crate::session::actor(account.id);
    let actor = viewer.actor();
    let entry = redress_audit::NewEntry {
        actor: &actor,
        action,
        target: Some(&target),
        at: state.now(),
        timing: redress_audit::Timing::Exact,
    };
    redress_audit::append(&tx, &entry).await?;
    tx.commit().await?;
    Ok(see_other(&format!("{here}?done={}", form.action)))
}
