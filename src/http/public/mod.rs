//! The public side: Statuspage-compatible `/api/v2` (see `http::api_v2`) and, as they land,
//! the HTML pages and feeds. Every response comes from the current [`Snapshot`]: rendered
//! once per snapshot, served with gzip or brotli when the client accepts them, a strong
//! `ETag` (304 on `If-None-Match`), a short `Cache-Control`, and CORS on machine-readable
//! documents. Nothing here queries the database.

pub mod feeds;
pub mod html;

use super::api_v2::Document;
use super::AppState;
use crate::http::extract::Headers;
use crate::snapshot::{Rendered, Snapshot};
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// Readers may reuse a public response this long; short, because status changes matter.
const CACHE_CONTROL: HeaderValue = HeaderValue::from_static("public, max-age=10");

#[derive(Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Identity,
    Gzip,
    Brotli,
}

/// The best encoding the client accepts (brotli, then gzip), ignoring those with `q=0`.
fn negotiate(headers: &HeaderMap) -> Encoding {
    let Some(accept) = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
    else {
        return Encoding::Identity;
    };
    let mut gzip = false;
    let mut brotli = false;
    for part in accept.split(',') {
        let mut pieces = part.split(';');
        let coding = pieces.next().unwrap_or("").trim();
        let refused = pieces.any(|p| {
            let p = p.trim();
            p.strip_prefix("q=")
                .and_then(|q| q.trim().parse::<f32>().ok())
                .is_some_and(|q| q <= 0.0)
        });
        if refused {
            continue;
        }
        if coding.eq_ignore_ascii_case("br") {
            brotli = true;
        } else if coding.eq_ignore_ascii_case("gzip") || coding == "*" {
            gzip = true;
        }
    }
    if brotli {
        Encoding::Brotli
    } else if gzip {
        Encoding::Gzip
    } else {
        Encoding::Identity
    }
}

fn matches(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == etag || t == "*")
}

/// Which cross-origin readers may fetch a response.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Cors {
    /// Widgets on other sites read it (`/api/v2`, feeds, badges).
    Anyone,
    SameOrigin,
}

/// Serves a rendered response with content negotiation and validators.
pub fn respond(rendered: &Rendered, headers: &HeaderMap, cors: Cors) -> Response {
    let encoding = negotiate(headers);
    let etag = &rendered.etags[match encoding {
        Encoding::Identity => 0,
        Encoding::Gzip => 1,
        Encoding::Brotli => 2,
    }];
    let not_modified = headers.contains_key(header::IF_NONE_MATCH)
        && matches(headers, std::str::from_utf8(etag).unwrap_or_default());
    let mut response = if not_modified {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let body = match encoding {
            Encoding::Identity => rendered.body.clone(),
            Encoding::Gzip => rendered.gzip.clone(),
            Encoding::Brotli => rendered.brotli.clone(),
        };
        let mut r = Response::new(Body::from(body));
        let h = r.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(rendered.content_type),
        );
        match encoding {
            Encoding::Identity => {}
            Encoding::Gzip => {
                h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            }
            Encoding::Brotli => {
                h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("br"));
            }
        }
        r
    };
    let h = response.headers_mut();
    // Shares the prebuilt bytes: no header text is built per request.
    if let Ok(value) = HeaderValue::from_maybe_shared(etag.clone()) {
        h.insert(header::ETAG, value);
    }
    h.insert(header::CACHE_CONTROL, CACHE_CONTROL);
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    if cors == Cors::Anyone {
        h.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
    }
    response
}

/// Renders a Statuspage document of a snapshot.
fn render_document(snapshot: &Snapshot, doc: Document) -> Rendered {
    Rendered::new("application/json", doc.render(&snapshot.state))
}

/// Renders the responses readers ask for most, before the snapshot is swapped in.
pub fn warm(snapshot: &Snapshot) {
    for doc in Document::ALL {
        snapshot.rendered(doc.path(), |s| Some(render_document(s, doc)));
    }
    html::warm(snapshot);
    feeds::warm(snapshot);
}

/// Serves one of the `/api/v2` documents.
pub fn serve_document(state: &AppState, doc: Document, headers: &HeaderMap) -> Response {
    let snapshot = state.snapshot.load();
    let rendered = snapshot
        .rendered(doc.path(), |s| Some(render_document(s, doc)))
        .expect("documents always render");
    respond(&rendered, headers, Cors::Anyone)
}

macro_rules! v2_handler {
    ($name:ident, $doc:expr, $path:literal, $what:literal) => {
        #[utoipa::path(get, path = $path, tag = "public", security(()),
            responses((status = 200, description = $what, content_type = "application/json"),
                      (status = 304, description = "Not modified (If-None-Match)")))]
        pub async fn $name(State(state): State<AppState>, Headers(headers): Headers) -> Response {
            serve_document(&state, $doc, &headers)
        }
    };
}

v2_handler!(summary, Document::Summary, "/api/v2/summary.json",
    "Page, components, unresolved incidents, upcoming and active maintenances, status (Statuspage v2)");
v2_handler!(
    status,
    Document::Status,
    "/api/v2/status.json",
    "Page and overall status (Statuspage v2)"
);
v2_handler!(
    components,
    Document::Components,
    "/api/v2/components.json",
    "Components and groups (Statuspage v2)"
);
v2_handler!(
    incidents,
    Document::Incidents,
    "/api/v2/incidents.json",
    "The 50 most recent incidents (Statuspage v2)"
);
v2_handler!(
    unresolved,
    Document::UnresolvedIncidents,
    "/api/v2/incidents/unresolved.json",
    "Unresolved incidents (Statuspage v2)"
);
v2_handler!(
    maintenances,
    Document::Maintenances,
    "/api/v2/scheduled-maintenances.json",
    "The 50 most recent maintenances (Statuspage v2)"
);
v2_handler!(
    upcoming,
    Document::UpcomingMaintenances,
    "/api/v2/scheduled-maintenances/upcoming.json",
    "Upcoming maintenances (Statuspage v2)"
);
v2_handler!(
    active,
    Document::ActiveMaintenances,
    "/api/v2/scheduled-maintenances/active.json",
    "Maintenances in progress or verifying (Statuspage v2)"
);

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_str(value).unwrap(),
        );
        h
    }

    #[test]
    fn negotiation_prefers_brotli_and_honours_q_zero() {
        assert!(negotiate(&HeaderMap::new()) == Encoding::Identity);
        assert!(negotiate(&accept("gzip, deflate")) == Encoding::Gzip);
        assert!(negotiate(&accept("gzip, deflate, br")) == Encoding::Brotli);
        assert!(negotiate(&accept("br;q=0, gzip")) == Encoding::Gzip);
        assert!(negotiate(&accept("identity")) == Encoding::Identity);
        assert!(negotiate(&accept("*")) == Encoding::Gzip);
    }

    #[test]
    fn each_encoding_has_its_own_validator() {
        let r = Rendered::new("text/plain", b"abc".to_vec());
        let tag = r.etag.trim_matches('"');
        assert_eq!(&r.etags[0][..], r.etag.as_bytes());
        assert_eq!(&r.etags[1][..], format!("\"{tag}-gz\"").as_bytes());
        assert_eq!(&r.etags[2][..], format!("\"{tag}-br\"").as_bytes());
        let mut h = HeaderMap::new();
        h.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_static("\"x\", W/\"abc-gz\""),
        );
        assert!(matches(&h, "\"abc-gz\""));
        assert!(!matches(&h, "\"abc\""));
    }
}
