//! Rendering a page and setting a cookie, the one way every door does it.

use actix_web::HttpResponse;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::StatusCode;
use askama::Template;

/// Renders `page` as an HTML response. A template that fails to render is a bug: it is
/// counted for the hourly log (its error names the template, never request data) and
/// answered with a bare 500.
pub fn html(status: StatusCode, page: &impl Template) -> HttpResponse {
    match page.render() {
        Ok(body) => HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .body(body),
        Err(e) => {
            redress_logging::note("web", "template_failed", e.to_string());
            HttpResponse::InternalServerError().finish()
        }
    }
}

/// A cookie as every door sets them: script cannot read it (`HttpOnly`), other sites
/// never send it (`SameSite=Strict`), and `Secure` when the door is served over HTTPS.
pub fn cookie<'c>(name: &'c str, value: String, path: &'c str, secure: bool) -> Cookie<'c> {
    Cookie::build(name, value)
        .path(path)
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .finish()
}
