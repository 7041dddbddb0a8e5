use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use askama::Template;
use serde::Serialize;

/// An error of the JSON API: `{"error": {"code", "message", "field"}}` with a 4xx (or,
/// for overload, 503) status.
#[derive(Debug, Serialize)]
pub struct ApiError {
    #[serde(skip)]
    status: StatusCode,
    code: &'static str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<String>,
    /// Seconds to wait before asking again (`Retry-After`), for a 429.
    #[serde(skip)]
    retry_after: Option<i64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
            retry_after: None,
        }
    }

    /// Asks the client to wait `secs` seconds (at least one) before asking again.
    pub fn retry_after(mut self, secs: i64) -> Self {
        self.retry_after = Some(secs.max(1));
        self
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        #[derive(Serialize)]
        struct Body<'a> {
            error: &'a ApiError,
        }
        let mut res = HttpResponse::build(self.status).json(Body { error: self });
        match self.retry_after {
            Some(secs) => {
                res.headers_mut()
                    .insert(actix_web::http::header::RETRY_AFTER, secs.into());
            }
            None => crate::retry_after_if_unavailable(&mut res),
        }
        res
    }
}

/// An error shown as a plain page in the site's layout.
#[derive(Debug, Template)]
#[template(path = "error.html")]
pub struct PageError {
    #[template(skip)]
    status: StatusCode,
    pub lang: String,
    /// `ltr` or `rtl`, from the language.
    pub dir: &'static str,
    pub service_name: String,
    pub title: String,
    pub message: String,
    /// A link back (href, label), e.g. to the form.
    pub back: Option<(String, String)>,
}

impl PageError {
    pub fn new(
        status: StatusCode,
        t: &crate::Messages,
        service_name: &str,
        title: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            status,
            lang: t.lang().to_owned(),
            dir: t.dir(),
            service_name: service_name.to_owned(),
            title: title.into(),
            message: message.into(),
            back: None,
        }
    }

    pub fn with_back(mut self, href: &str, label: impl Into<String>) -> Self {
        self.back = Some((href.to_owned(), label.into()));
        self
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let body = self.render().unwrap_or_else(|_| self.message.clone());
        let mut res = HttpResponse::build(self.status)
            .content_type("text/html; charset=utf-8")
            .body(body);
        crate::retry_after_if_unavailable(&mut res);
        res
    }
}
