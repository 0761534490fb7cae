//! Security headers of every HTML response, the public pages' and the admin UI's: a strict
//! Content-Security-Policy (no inline scripts or styles anywhere), no framing, no MIME
//! sniffing, no referrer to other sites. `/embed` is the exception that must be framed by
//! other sites, so it allows any frame ancestor and has no `X-Frame-Options`. Every `/admin`
//! response is `Cache-Control: no-store`, so a shared computer's cache keeps nothing.

use axum::http::{header, HeaderValue};
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

/// What a request's path says about the headers its response gets. Taken before the handler
/// runs (the request is consumed by it), applied after.
#[derive(Debug, Clone, Copy)]
pub struct SecurityHeaders {
    admin: bool,
    embed: bool,
}

impl SecurityHeaders {
    pub fn for_path(path: &str) -> SecurityHeaders {
        SecurityHeaders {
            admin: is_admin(path),
            embed: path == "/embed",
        }
    }

    /// Adds the headers to the handler's answer.
    pub fn apply(self, response: &mut Response) {
        let html = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/html"));
        let h = response.headers_mut();
        if self.admin {
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        if html {
            if self.embed {
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
    }
}
