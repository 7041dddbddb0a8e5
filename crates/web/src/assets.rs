use actix_web::{HttpResponse, http::header::ContentType};

/// Where the one stylesheet is served. Same origin, so `style-src 'self'` allows it.
pub const STYLESHEET_PATH: &str = "/static/style.css";

const STYLE_CSS: &str = include_str!("../static/style.css");

/// Serves the stylesheet. No validators (see the headers middleware); it is small.
pub async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType(mime_css()))
        .body(STYLE_CSS)
}

fn mime_css() -> actix_web::mime::Mime {
    actix_web::mime::TEXT_CSS_UTF_8
}
