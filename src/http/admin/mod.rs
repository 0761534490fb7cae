//! The web UI for responders and operators, under `/admin`: server-rendered askama pages
//! (`templates/admin/`) over the same store as the API.
//!
//! - [`session`]: the contract the screens build on: [`CurrentUser`], [`CsrfForm`],
//!   [`AdminError`], and the cookies.
//! - [`pages`]: the screens, one module each (`auth.rs`: sign-in, the TOTP step, sign-out and
//!   the first admin's set-up; `account.rs`, `users.rs`, `tokens.rs`, `audit.rs`,
//!   `dashboard.rs`), and the frame they share ([`pages::Chrome`]).
//! - [`headers`]: the security headers of every HTML response, public pages included.
//! - [`limits`]: the per-client limit on failed sign-ins (the per-account lock is stored).
//!
//! Every state-changing request is a POST through [`CsrfForm`] (or [`session::PreLogin`]
//! before sign-in) answered with a 303 redirect, and every change is one store call with the
//! user's [`crate::events::Actor`], so it is an event in the audit log.

pub mod headers;
pub mod limits;
pub mod pages;
pub mod session;

pub use session::{AdminError, CsrfForm, CurrentUser};

use crate::clock::Clock;
use crate::config::AdminSettings;
use crate::http::public::Cors;
use crate::snapshot::Rendered;
use crate::store::{Store, StoreResult};
use axum::http::{header, HeaderMap, HeaderValue, Uri};
use axum::response::Response;
use std::sync::LazyLock;

/// What the admin side keeps between requests.
#[derive(Debug)]
pub struct AdminState {
    pub settings: AdminSettings,
    /// Whether cookies carry `Secure` (the settings applied to the page's URL).
    pub secure_cookies: bool,
    pub login_limiter: limits::LoginLimiter,
}

impl AdminState {
    pub fn new(settings: &AdminSettings, page_url: &str) -> AdminState {
        AdminState {
            settings: settings.clone(),
            secure_cookies: settings.secure_for(page_url),
            login_limiter: limits::LoginLimiter::default(),
        }
    }
}

impl Default for AdminState {
    fn default() -> Self {
        AdminState::new(&AdminSettings::default(), "http://localhost")
    }
}

/// How long the first admin's set-up link stays valid.
pub const SETUP_VALID_HOURS: i64 = 24;

/// When there is no user yet: makes a one-time set-up token (replacing an earlier one) and
/// logs the link that creates the first admin. Returns whether it did.
pub async fn announce_setup_link(
    store: &dyn Store,
    clock: &dyn Clock,
    page_url: &str,
) -> StoreResult<bool> {
    if store.count_users().await? > 0 {
        return Ok(false);
    }
    let token = crate::account::random_token();
    let expires = crate::domain::Timestamp::from_datetime(
        clock.now().0 + chrono::Duration::hours(SETUP_VALID_HOURS),
    );
    store
        .create_setup_token(&crate::account::hash_secret(&token), expires)
        .await?;
    // The link is the credential, shown once to whoever runs the server; it is spent at use
    // and useless once any account exists.
    tracing::info!(
        "no admin account yet: open {}/admin/setup?token={token} to create one (valid {SETUP_VALID_HOURS} h)",
        page_url.trim_end_matches('/')
    );
    Ok(true)
}

static STYLESHEET: LazyLock<Rendered> = LazyLock::new(|| {
    Rendered::new(
        "text/css; charset=utf-8",
        include_bytes!("../../../assets/admin.css").to_vec(),
    )
});

/// The stylesheet's URL, versioned by its content so it can be cached for a year.
pub fn stylesheet_url() -> String {
    let version = STYLESHEET.etag.trim_matches('"').get(..10).unwrap_or("0");
    format!("/assets/admin.css?v={version}")
}

#[utoipa::path(get, path = "/assets/admin.css", tag = "admin", security(()),
    responses((status = 200, description = "The admin UI's stylesheet", content_type = "text/css"),
              (status = 304, description = "Not modified (If-None-Match)")))]
pub async fn stylesheet(uri: Uri, headers: HeaderMap) -> Response {
    let mut response = crate::http::public::respond(&STYLESHEET, &headers, Cors::SameOrigin);
    // Only the versioned URL is immutable, as for the public assets.
    if Some(uri.path_and_query().map(|p| p.as_str()).unwrap_or(""))
        == Some(stylesheet_url().as_str())
    {
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=31536000, immutable"),
        );
    }
    response
}
