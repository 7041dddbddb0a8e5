//! Pieces shared by Redress's web doors: the route table and its refusals, the
//! security-headers middleware, CSRF tokens that work without JavaScript, one-time sealed cookies, the message catalogue, the error
//! responses (HTML page or JSON) and the stylesheet.
//!
//! Nothing here may log or store a client address, a user agent or a forwarded-for value.

mod assets;
mod csrf;
mod dates;
mod errors;
mod flash;
mod headers;
mod i18n;
mod page;
mod routes;
mod secrets;

pub use assets::{STYLESHEET_PATH, stylesheet};
pub use csrf::{CSRF_COOKIE, CSRF_FIELD, CsrfCheck, CsrfKeys, CsrfToken};
pub use dates::{clock_time, day};
pub use errors::{ApiError, PageError};
pub use flash::{FlashError, FlashSealer};
pub use headers::security_headers;
pub use i18n::{Messages, MessagesError, text_direction};
pub use page::{cookie, html};
pub use routes::{DoorText, Endpoint, Refusal, not_found, refusal};
pub use secrets::WebSecrets;

/// A 503 (busy, disk low, database away) tells the client when to try again: a
/// little after the door's next admission sample.
pub fn retry_after_if_unavailable(res: &mut actix_web::HttpResponse) {
    use actix_web::http::{StatusCode, header};
    if res.status() == StatusCode::SERVICE_UNAVAILABLE {
        res.headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("120"));
    }
}

/// Derives a purpose-bound 32-byte key from a door's web secret, so that one stored
/// secret serves CSRF and sealed cookies without one use weakening the other.
pub fn derive_key(web_secret: &[u8], purpose: &str) -> [u8; 32] {
    redress_crypto::hmac_sha256(web_secret, &[b"redress/web/", purpose.as_bytes()])
}
