//! The public door: the report form, the receipt page, the JSON intake API, and the
//! reporter's way back with the receipt (`followup`).
//!
//! This crate holds public keys only. It must never be given an identity that opens a
//! stored report, never store or log a client address, user agent or forwarded-for
//! header, and never write plaintext of a report to disk.

mod admission;
mod api;
mod evidence;
mod followup;
mod form;
mod openapi;
mod pages;
mod state;
mod submission;

use actix_web::web;
use redress_web::Endpoint;

pub use admission::{GateSizes, UploadGate};
pub use followup::LookupBudget;
pub use state::{IntakeKeys, IntakeLimits, IntakeState, KEY_RELOAD_SECS, KeyWatch, LEASE_SECS, LoadKeys};

/// The intake's own messages, by language; `Messages::layered` adds the shared ones.
const MESSAGES: &[(&str, &str)] = &[("en", include_str!("../locales/en.toml"))];

/// The intake's message catalogue for `lang`.
pub fn messages(lang: &str) -> Result<redress_web::Messages, redress_web::MessagesError> {
    redress_web::Messages::layered(lang, MESSAGES)
}

/// The intake's one route table: each path with the methods it serves (`Endpoint`: a
/// GET route answers HEAD too, another method is a 405 naming those it allows).
pub fn endpoints() -> Vec<Endpoint> {
    vec![
        Endpoint::new("/").get(pages::index),
        Endpoint::new("/report").get(form::show).post(form::submit),
        Endpoint::new("/receipt").get(form::receipt),
        Endpoint::new("/followup")
            .get(followup::show)
            .post(followup::lookup),
        Endpoint::new("/followup/case").get(followup::case),
        Endpoint::new("/followup/messages").post(followup::send),
        Endpoint::new("/followup/read").post(followup::read),
        Endpoint::new("/followup/logout").post(followup::logout),
        Endpoint::new("/followup/receipt")
            .get(followup::receipt::show)
            .post(followup::receipt::replace),
        Endpoint::new("/followup/receipt/new").get(followup::receipt::shown),
        Endpoint::new("/followup/identity")
            .get(followup::identity::show)
            .post(followup::identity::share),
        Endpoint::new(redress_web::STYLESHEET_PATH).get(redress_web::stylesheet),
        Endpoint::new("/api/v1/reports").post(api::submit),
        Endpoint::new("/api/v1/questionnaire").get(api::questionnaire),
        Endpoint::new("/api/v1/openapi.json").get(api::openapi),
        Endpoint::new("/api/v1/followup/session")
            .post(followup::api_open)
            .delete(followup::api_logout),
        Endpoint::new("/api/v1/followup/case").get(followup::api_case),
        Endpoint::new("/api/v1/followup/messages").post(followup::api_send),
        Endpoint::new("/api/v1/followup/messages/{seq}/read").post(followup::api_read),
    ]
}

/// Registers every intake route, and nothing else, on a service config.
pub fn routes(cfg: &mut web::ServiceConfig) {
    for endpoint in endpoints() {
        cfg.service(endpoint);
    }
}
