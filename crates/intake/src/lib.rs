//! The public door: the report form, the receipt page and the JSON intake API.
//!
//! This crate holds public keys only. It must never be given an identity that opens a
//! stored report, never store or log a client address, user agent or forwarded-for
//! header, and never write plaintext of a report to disk.

mod admission;
mod api;
mod evidence;
mod form;
mod pages;
mod state;
mod submission;

use actix_web::web;

pub use admission::{GateSizes, UploadGate};
pub use state::{IntakeKeys, IntakeLimits, IntakeState};

/// The intake's own messages, by language; `Messages::layered` adds the shared ones.
const MESSAGES: &[(&str, &str)] = &[("en", include_str!("../locales/en.toml"))];

/// The intake's message catalogue for `lang`.
pub fn messages(lang: &str) -> Result<redress_web::Messages, redress_web::MessagesError> {
    redress_web::Messages::layered(lang, MESSAGES)
}

/// Registers every intake route (and nothing else) on a service config.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(pages::index))
        .route("/report", web::get().to(form::show))
        .route("/report", web::post().to(form::submit))
        .route("/receipt", web::get().to(form::receipt))
        .route(
            redress_web::STYLESHEET_PATH,
            web::get().to(redress_web::stylesheet),
        )
        .route("/api/v1/reports", web::post().to(api::submit))
        .route("/api/v1/questionnaire", web::get().to(api::questionnaire))
        .route("/api/v1/openapi.json", web::get().to(api::openapi));
}

/// The response for any path or method the intake does not serve: JSON under `/api/`,
/// a page elsewhere.
pub async fn not_found(
    req: actix_web::HttpRequest,
    state: web::Data<IntakeState>,
) -> actix_web::HttpResponse {
    use actix_web::{ResponseError, http::StatusCode};
    let known_path = matches!(
        req.path(),
        "/" | "/report" | "/receipt" | "/api/v1/reports" | "/api/v1/questionnaire" | "/api/v1/openapi.json"
    ) || req.path() == redress_web::STYLESHEET_PATH;
    let (status, code, title, msg) = if known_path {
        (
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "error.method_title",
            "error.method",
        )
    } else {
        (
            StatusCode::NOT_FOUND,
            "not_found",
            "error.not_found_title",
            "error.not_found",
        )
    };
    let t = &state.messages;
    if req.path().starts_with("/api/") {
        redress_web::ApiError::new(status, code, t.get(msg)).error_response()
    } else {
        redress_web::PageError::new(status, t, &state.service_name, t.get(title), t.get(msg)).error_response()
    }
}
