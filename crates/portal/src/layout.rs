//! What every portal page carries: the layout's text, the navigation of the viewer's
//! role, when their session ends, and a CSRF token for its forms (the logout button
//! included).

use actix_web::cookie::Cookie;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use redress_domain::Role;
use redress_web::Messages;

use crate::PortalState;
use crate::access::Viewer;

/// One link of the navigation.
#[derive(Debug)]
pub struct NavItem {
    pub href: &'static str,
    pub label: String,
    pub current: bool,
}

/// The signed-in part of the layout.
#[derive(Debug)]
pub struct SignedIn {
    pub email: String,
    /// "Your session ends at 14:05 UTC…", from the catalogue.
    pub ends: String,
}

/// The layout's data; every page struct dereferences to one, so the shared templates
/// find `lang`, `title` and the rest on the page itself.
#[derive(Debug)]
pub struct Chrome {
    pub lang: String,
    pub dir: &'static str,
    pub service_name: String,
    pub title: String,
    pub t: Messages,
    pub nav: Vec<NavItem>,
    pub signed_in: Option<SignedIn>,
    pub csrf: String,
    csrf_cookie: Cookie<'static>,
    /// Other cookies the page sets or removes.
    cookies: Vec<Cookie<'static>>,
}

impl Chrome {
    /// The layout of a page titled by catalogue key `title`, for `viewer` (if signed in)
    /// on `path`.
    pub fn new(state: &PortalState, req: &HttpRequest, viewer: Option<&Viewer>, title: &str) -> Self {
        let t = state.messages.clone();
        let (csrf, csrf_cookie) = crate::forms::issue_csrf(state, req, viewer.is_some());
        let path = req.path();
        let nav = match viewer {
            Some(v) if v.stage() == redress_domain::SessionStage::Full => nav(&t, v.role(), path),
            _ => Vec::new(),
        };
        let signed_in = viewer.map(|v| SignedIn {
            email: v.account.email.clone(),
            ends: t.fill(
                "layout.session_ends",
                &[
                    ("time", &clock_time(v.ends_at)),
                    ("idle", &(state.settings.session_idle_secs / 60).to_string()),
                ],
            ),
        });
        Self {
            lang: t.lang().to_owned(),
            dir: t.dir(),
            service_name: state.service_name.clone(),
            title: t.get(title).into_owned(),
            t,
            nav,
            signed_in,
            csrf,
            csrf_cookie,
            cookies: Vec::new(),
        }
    }

    /// Sets (or removes) another cookie with the page.
    pub fn with_cookie(&mut self, cookie: Option<Cookie<'static>>) {
        self.cookies.extend(cookie);
    }

    /// The page, rendered with its cookies.
    pub fn respond(&self, status: StatusCode, page: &impl askama::Template) -> HttpResponse {
        let mut res = redress_web::html(status, page);
        for c in std::iter::once(&self.csrf_cookie).chain(&self.cookies) {
            let _ = res.add_cookie(c);
        }
        res
    }
}

fn nav(t: &Messages, role: Role, path: &str) -> Vec<NavItem> {
    let mut items: Vec<(&'static str, &str)> = Vec::new();
    if matches!(role, Role::Investigator | Role::Admin) {
        items.push(("/cases", "nav.cases"));
        items.push(("/search", "nav.search"));
    }
    if role == Role::Admin {
        items.push(("/admin", "nav.admin"));
        items.push(("/admin/keys", "nav.keys"));
    }
    if matches!(role, Role::Auditor | Role::Admin) {
        items.push(("/audit", "nav.audit"));
        items.push(("/statistics", "nav.statistics"));
    }
    items.push(("/customers", "nav.customers"));
    items.push(("/account", "nav.account"));
    // The register's admin pages belong to the register, not to the people pages.
    let section = path
        .strip_prefix("/admin")
        .filter(|rest| rest.starts_with("/customers"))
        .unwrap_or(path);
    // The deepest item that holds the page is the current one: the key pages are under
    // the people pages' path, but not theirs.
    let holds = |href: &str| section == href || section.starts_with(&format!("{href}/"));
    let current = items
        .iter()
        .map(|(href, _)| *href)
        .filter(|href| holds(href))
        .max_by_key(|href| href.len());
    items
        .into_iter()
        .map(|(href, key)| NavItem {
            href,
            label: t.get(key).into_owned(),
            current: Some(href) == current,
        })
        .collect()
}

pub use redress_web::{clock_time, day};

/// `2026-12-07 14:05:09 UTC` for a Unix time.
pub fn moment(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix).map_or_else(
        |_| "?".to_owned(),
        |t| {
            format!(
                "{} {:02}:{:02}:{:02} UTC",
                day(unix),
                t.hour(),
                t.minute(),
                t.second()
            )
        },
    )
}

/// Declares a page struct that dereferences to its [`Chrome`].
macro_rules! page {
    ($(#[$meta:meta])* $name:ident { $($(#[$fmeta:meta])* $field:ident : $ty:ty),* $(,)? }, $template:literal) => {
        $(#[$meta])*
        #[derive(askama::Template)]
        #[template(path = $template)]
        pub struct $name {
            pub chrome: $crate::layout::Chrome,
            $($(#[$fmeta])* pub $field: $ty),*
        }

        impl std::ops::Deref for $name {
            type Target = $crate::layout::Chrome;
            fn deref(&self) -> &$crate::layout::Chrome {
                &self.chrome
            }
        }
    };
}
pub(crate) use page;
