//! Who may reach what: decided here, once, for every route (ADR 0022).
//!
//! Each route of [`crate::endpoints`] carries an [`Access`] rule; [`enforce`] runs
//! before any handler, finds the session, and either lets the request through (the
//! [`Viewer`] in its extensions), sends the person to log in or to finish enrolling,
//! or answers with the same 404 as a page that does not exist, writing an
//! `access_denied` audit entry. What rests on a record rather than a role (is this case
//! assigned to the viewer?) is decided by the functions below, and refused the same
//! way with [`hidden`].

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, header};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, web};
use redress_domain::{AccountId, AuditAction, CaseRef, CustomerId, Role, SessionStage};

use crate::PortalState;
use crate::forms::{self, Failure};
pub use crate::session::Viewer;

/// Who may reach a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone: the login and setup pages, the stylesheet.
    Public,
    /// Anyone with a session, finished or still enrolling its authenticator (the
    /// enrolment page, logging out).
    Session,
    /// A finished session whose account has one of these roles.
    Roles(&'static [Role]),
}

/// What [`decide`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// No session: log in first.
    LogIn,
    /// The authenticator is not enrolled yet: that first.
    Enrol,
    /// Signed in, but not for this: answered as if it did not exist.
    Hide,
}

/// The rule applied to a session (or none).
pub fn decide(access: Access, viewer: Option<&Viewer>) -> Decision {
    match (access, viewer) {
        (Access::Public, _) => Decision::Allow,
        (_, None) => Decision::LogIn,
        (Access::Session, Some(_)) => Decision::Allow,
        (Access::Roles(_), Some(v)) if v.stage() == SessionStage::Enrolling => Decision::Enrol,
        (Access::Roles(roles), Some(v)) if roles.contains(&v.role()) => Decision::Allow,
        (Access::Roles(_), Some(_)) => Decision::Hide,
    }
}

/// Whether the viewer may see a case: assigned to it, as an investigator or as an
/// admin who is also assigned. Auditors never see cases.
pub fn may_see_case(viewer: &Viewer, assigned: bool) -> bool {
    assigned && matches!(viewer.role(), Role::Investigator | Role::Admin)
}

/// The page each role starts on.
pub fn landing(role: Role) -> &'static str {
    match role {
        Role::Investigator => "/cases",
        Role::Admin => "/admin",
        Role::Auditor => "/audit",
    }
}

/// Middleware on the whole portal: applies the route's rule before its handler.
pub async fn enforce(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(state) = req.app_data::<web::Data<PortalState>>().cloned() else {
        redress_logging::count("portal", "no_state");
        return Ok(req.into_response(HttpResponse::InternalServerError().finish()));
    };
    // A path no route serves goes on to the 404 page; a route without a rule cannot be
    // built (see `endpoints`), and would be refused here all the same.
    let Some(pattern) = req.match_pattern() else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let Some(access) = state.access.get(pattern.as_str()).copied() else {
        let res = redress_web::not_found(req.request().clone()).await;
        return Ok(req.into_response(res));
    };
    let now = state.now();
    let resolved = match crate::session::resolve(&state, req.request(), now).await {
        Ok(r) => r,
        Err(e) => {
            let page = Failure::Store(e).page(&state);
            return Ok(req.into_response(page));
        }
    };
    let forget = resolved
        .ended
        .then(|| state.cookie_removal(crate::SESSION_COOKIE));
    let mut res = match decide(access, resolved.viewer.as_ref()) {
        Decision::Allow => {
            if let Some(viewer) = resolved.viewer {
                req.extensions_mut().insert(viewer);
            }
            next.call(req).await?.map_into_boxed_body()
        }
        Decision::LogIn if req.method() == Method::POST && access != Access::Public => {
            let http = req.request().clone();
            let page = forms::keep_and_log_in(&state, req).await;
            ServiceResponse::new(http, page)
        }
        Decision::LogIn => {
            let to = format!(
                "/login?{}next={}",
                if resolved.ended { "ended=1&" } else { "" },
                forms::encode(req.path())
            );
            req.into_response(see_other(&to))
        }
        Decision::Enrol => req.into_response(see_other("/enrol")),
        Decision::Hide => {
            let target = target_of(&pattern, req.request());
            let res = match resolved.viewer {
                Some(v) => hidden(&state, req.request(), &v, &target).await,
                None => redress_web::not_found(req.request().clone()).await,
            };
            req.into_response(res)
        }
    };
    if let Some(c) = forget {
        let _ = res.response_mut().add_cookie(&c);
    }
    Ok(res)
}

/// A 303 to `to`.
pub fn see_other(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to.to_owned()))
        .finish()
}

/// How the audit log names what a refused request asked for: the case, account or
/// customer of the path, or the route. (Routing has not run yet: the path is matched here.)
fn target_of(pattern: &str, req: &HttpRequest) -> String {
    let mut info = actix_web::dev::Path::new(req.path().to_owned());
    actix_web::dev::ResourceDef::new(pattern).capture_match_info(&mut info);
    if let Some(r) = info.get("case_ref").and_then(CaseRef::parse) {
        return format!("case:{r}");
    }
    if let Some(id) = info.get("id").and_then(AccountId::parse) {
        return crate::session::actor(id);
    }
    if let Some(id) = info.get("customer").and_then(CustomerId::parse) {
        return format!("customer:{id}");
    }
    format!("page:{pattern}")
}

/// The answer to a signed-in person asking for something they may not see: the very
/// 404 of a page that does not exist, and an `access_denied` entry in the audit log.
pub async fn hidden(state: &PortalState, req: &HttpRequest, viewer: &Viewer, target: &str) -> HttpResponse {
    let actor = viewer.actor();
    let entry = redress_audit::NewEntry {
        actor: &actor,
        action: AuditAction::AccessDenied,
        target: Some(target),
        at: state.now(),
        timing: redress_audit::Timing::Exact,
    };
    if let Err(e) = redress_audit::record(&state.store, &entry).await {
        return Failure::from(e).page(state);
    }
    redress_web::not_found(req.clone()).await
}

impl FromRequest for Viewer {
    type Error = actix_web::Error;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    /// The viewer [`enforce`] found. A handler asking for one on a route that lets
    /// anonymous requests through gets a 500: that is a bug in the route table.
    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        std::future::ready(
            req.extensions()
                .get::<Viewer>()
                .cloned()
                .ok_or_else(|| actix_web::error::ErrorInternalServerError("no viewer on this route")),
        )
    }
}
