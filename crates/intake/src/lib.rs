//! The public door: the report form, the receipt page and the JSON intake API.
//!
//! This crate holds public keys only. It must never be given an identity that opens a
//! stored report, never store or log a client address, user agent or forwarded-for
//! header, and never write plaintext of a report to disk.

mod admission;
mod api;
mod evidence;
mod form;
mod openapi;
mod pages;
mod state;
mod submission;

use actix_web::dev::HttpServiceFactory;
use actix_web::http::{Method, StatusCode, header};
use actix_web::{FromRequest, Handler, HttpRequest, HttpResponse, Responder, ResponseError, web};

pub use admission::{GateSizes, UploadGate};
pub use state::{IntakeKeys, IntakeLimits, IntakeState, LEASE_SECS};

/// The intake's own messages, by language; `Messages::layered` adds the shared ones.
const MESSAGES: &[(&str, &str)] = &[("en", include_str!("../locales/en.toml"))];

/// The intake's message catalogue for `lang`.
pub fn messages(lang: &str) -> Result<redress_web::Messages, redress_web::MessagesError> {
    redress_web::Messages::layered(lang, MESSAGES)
}

/// Registers every intake route (and nothing else) on a service config. This is the
/// intake's one route table: each path with the methods it serves. A GET route answers
/// HEAD too, and any other method on a known path is a 405 naming the methods it allows.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(Endpoint::new("/").get(pages::index))
        .service(Endpoint::new("/report").get(form::show).post(form::submit))
        .service(Endpoint::new("/receipt").get(form::receipt))
        .service(Endpoint::new(redress_web::STYLESHEET_PATH).get(redress_web::stylesheet))
        .service(Endpoint::new("/api/v1/reports").post(api::submit))
        .service(Endpoint::new("/api/v1/questionnaire").get(api::questionnaire))
        .service(Endpoint::new("/api/v1/openapi.json").get(api::openapi));
}

/// One path of the route table and the methods it serves.
struct Endpoint {
    resource: actix_web::Resource,
    allow: Vec<Method>,
}

impl Endpoint {
    fn new(path: &'static str) -> Self {
        Self {
            resource: web::resource(path),
            allow: Vec::new(),
        }
    }

    /// Serves GET, and HEAD with the same handler: actix-http sends a HEAD response's
    /// headers (Content-Length included) and drops its body.
    fn get<F, Args>(mut self, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.resource = self
            .resource
            .route(web::get().to(handler.clone()))
            .route(web::head().to(handler));
        self.allow.extend([Method::GET, Method::HEAD]);
        self
    }

    fn post<F, Args>(mut self, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.resource = self.resource.route(web::post().to(handler));
        self.allow.push(Method::POST);
        self
    }
}

impl HttpServiceFactory for Endpoint {
    fn register(self, config: &mut actix_web::dev::AppService) {
        let allow: Vec<String> = self.allow.iter().map(ToString::to_string).collect();
        // Made once per route at start-up: method names are header tokens, so the
        // value is valid by construction.
        let allow: &'static str = Box::leak(allow.join(", ").into_boxed_str());
        let allow = header::HeaderValue::from_static(allow);
        let resource =
            self.resource
                .default_service(web::to(move |req: HttpRequest, state: web::Data<IntakeState>| {
                    let allow = allow.clone();
                    async move {
                        let mut res = refusal(&req, &state, Refusal::MethodNotAllowed);
                        res.headers_mut().insert(header::ALLOW, allow);
                        res
                    }
                }));
        resource.register(config);
    }
}

#[derive(Clone, Copy)]
enum Refusal {
    NotFound,
    MethodNotAllowed,
}

/// The response for a path the intake does not serve: JSON under `/api/`, a page
/// elsewhere.
pub async fn not_found(req: HttpRequest, state: web::Data<IntakeState>) -> HttpResponse {
    refusal(&req, &state, Refusal::NotFound)
}

fn refusal(req: &HttpRequest, state: &IntakeState, refusal: Refusal) -> HttpResponse {
    let (status, code, title, msg) = match refusal {
        Refusal::MethodNotAllowed => (
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "error.method_title",
            "error.method",
        ),
        Refusal::NotFound => (
            StatusCode::NOT_FOUND,
            "not_found",
            "error.not_found_title",
            "error.not_found",
        ),
    };
    let t = &state.messages;
    if req.path().starts_with("/api/") {
        redress_web::ApiError::new(status, code, t.get(msg)).error_response()
    } else {
        redress_web::PageError::new(status, t, &state.service_name, t.get(title), t.get(msg)).error_response()
    }
}
