//! Security headers of every HTML response, the public pages' and the admin UI's: a strict
//! Content-Security-Policy (no inline scripts or styles anywhere), no framing, no MIME
//! sniffing, no referrer to other sites. `/embed` is the exception that must be framed by
//! other sites, so it allows any frame ancestor and has no `X-Frame-Options`. Every `/admin`
//! response is `Cache-Control: no-store`, so a shared computer's cache keeps nothing.

use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
const CSP_EMBED: &str =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors *";

/// Whether a path is the admin UI's.
fn is_admin(path: &str) -> bool {
    path == "/admin" || path.starts_with("/admin/")
}

/// The middleware: adds the headers after the handler answered.
pub async fn security_headers(req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let (admin, embed) = (is_admin(path), path == "/embed");
    let mut response = next.run(req).await;
    let html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let h = response.headers_mut();
    if admin {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if html {
        if embed {
            h.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CSP_EMBED),
            );
        } else {
            h.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CSP),
            );
            h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        }
        h.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        );
    }
    response
}
