//! A door's route table: each path with the methods it serves, and the refusals for
//! everything else, written once for every door.

use actix_web::dev::HttpServiceFactory;
use actix_web::http::{Method, StatusCode, header};
use actix_web::{FromRequest, Handler, HttpRequest, HttpResponse, Responder, ResponseError, web};

use crate::{ApiError, Messages, PageError};

/// What a door's refusal pages are written with. Every door puts one in its app data.
#[derive(Clone, Debug)]
pub struct DoorText {
    pub service_name: String,
    pub messages: Messages,
}

/// One path of a route table and the methods it serves. A GET route answers HEAD too,
/// and any other method on the path is a 405 naming the methods it allows.
pub struct Endpoint {
    path: &'static str,
    resource: actix_web::Resource,
    allow: Vec<Method>,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("path", &self.path)
            .field("allow", &self.allow)
            .finish_non_exhaustive()
    }
}

impl Endpoint {
    pub fn new(path: &'static str) -> Self {
        Self {
            path,
            resource: web::resource(path),
            allow: Vec::new(),
        }
    }

    /// The path pattern, as actix-web matches it (`/cases/{case_ref}`).
    pub fn path(&self) -> &'static str {
        self.path
    }

    /// The methods it serves.
    pub fn methods(&self) -> &[Method] {
        &self.allow
    }

    /// Serves GET, and HEAD with the same handler: actix-http sends a HEAD response's
    /// headers (Content-Length included) and drops its body.
    pub fn get<F, Args>(mut self, handler: F) -> Self
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

    pub fn post<F, Args>(mut self, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.resource = self.resource.route(web::post().to(handler));
        self.allow.push(Method::POST);
        self
    }

    pub fn delete<F, Args>(mut self, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.resource = self.resource.route(web::delete().to(handler));
        self.allow.push(Method::DELETE);
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
        let resource = self.resource.default_service(web::to(move |req: HttpRequest| {
            let allow = allow.clone();
            async move {
                let mut res = refusal(&req, Refusal::MethodNotAllowed);
                res.headers_mut().insert(header::ALLOW, allow);
                res
            }
        }));
        resource.register(config);
    }
}

/// Why a request was turned away before reaching a handler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    NotFound,
    MethodNotAllowed,
}

/// The response for a path the door does not serve.
pub async fn not_found(req: HttpRequest) -> HttpResponse {
    refusal(&req, Refusal::NotFound)
}

/// A refusal in the door's words: JSON under `/api/`, a page elsewhere.
pub fn refusal(req: &HttpRequest, refusal: Refusal) -> HttpResponse {
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
    let Some(door) = req.app_data::<web::Data<DoorText>>() else {
        // A door built without its text is a bug: say the status, and count it.
        redress_logging::count("web", "door_without_text");
        return HttpResponse::build(status).finish();
    };
    let t = &door.messages;
    if req.path().starts_with("/api/") {
        ApiError::new(status, code, t.get(msg)).error_response()
    } else {
        PageError::new(status, t, &door.service_name, t.get(title), t.get(msg)).error_response()
    }
}
