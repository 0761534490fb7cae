//! The contract every admin screen builds on: [`CurrentUser`] (who is signed in, from the
//! `pharos_session` cookie and the `sessions` table), [`CsrfForm`] (a form post whose CSRF
//! token and Origin are checked) and [`AdminError`] (an HTML error page).
//!
//! Sessions live in the database: a cookie holds 256 random bits, the table holds their
//! SHA-256, so sessions survive restarts and work across processes sharing PostgreSQL. A
//! session ends at its absolute expiry (`[admin] session_max_days`) or after
//! `session_idle_minutes` unused; `last_seen_at` is written at most once a minute. A database
//! that cannot be reached answers 503: never a silent sign-out.
//!
//! A user whose password an admin reset must choose a new one first: [`CurrentUser`] then
//! admits only [`PASSWORD_CHANGE_PATH`] and signing out (a 303 there for pages, 403 for forms).
//!
//! Forms before sign-in (sign-in, set-up, the TOTP step) cannot use a session's token; they
//! use [`PreLogin`], a double-submit token in the `pharos_csrf` cookie, with the same Origin
//! check.

use super::pages::render_error;
use crate::account::{hash_secret, StoredUser, User};
use crate::events::Actor;
use crate::http::AppState;
use crate::store::StoreError;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use std::net::IpAddr;
use subtle::ConstantTimeEq;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "pharos_session";
/// The double-submit cookie of forms shown before sign-in.
pub const PRELOGIN_COOKIE: &str = "pharos_csrf";
/// The largest form body accepted, in bytes.
pub const FORM_LIMIT: usize = 64 * 1024;

/// The signed-in user of an admin request. Extracting it from a request without a valid
/// session redirects (303) to /admin/login?next=<path> for GET, and answers 403 otherwise.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub user: User,
    /// The session's id (the SHA-256 of the cookie), for signing this session out.
    pub session_id: String,
    /// The token every form of this session carries as `<input name="csrf">`.
    pub csrf: String,
}

impl CurrentUser {
    /// The actor recorded on every event this user causes: `user:<email>`.
    pub fn actor(&self) -> Actor {
        Actor::user(&self.user.email)
    }

    /// Refuses viewers (403 page).
    pub fn require_responder(&self) -> Result<(), AdminError> {
        if self.user.role.can_respond() {
            Ok(())
        } else {
            Err(AdminError::forbidden(
                "viewers can look but not change anything; ask an admin for the responder role",
            ))
        }
    }

    /// Refuses everyone but admins (403 page).
    pub fn require_admin(&self) -> Result<(), AdminError> {
        if self.user.role.is_admin() {
            Ok(())
        } else {
            Err(AdminError::forbidden("only admins may do this"))
        }
    }
}

/// An HTML error page response with a clear message: what is wrong and what to do.
#[derive(Debug, Clone)]
pub struct AdminError {
    pub status: StatusCode,
    pub message: String,
}

impl AdminError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        AdminError {
            status,
            message: message.into(),
        }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, message)
    }
    pub fn unprocessable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, message)
    }
    pub fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the database is unreachable right now, so this page cannot be shown and nothing was changed. \
             Pharos reconnects by itself as soon as the database is back: you are still signed in, \
             and reloading in a few seconds (or sending the form again) will work then.",
        )
    }
}

impl From<StoreError> for AdminError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound { .. } => AdminError::not_found(err.to_string()),
            StoreError::Conflict { message, .. } => AdminError::conflict(message),
            StoreError::Invalid { message } => AdminError::unprocessable(message),
            StoreError::Unavailable(cause) => {
                tracing::warn!(error = %cause, "admin request: database unavailable");
                AdminError::unavailable()
            }
            StoreError::Internal(cause) => {
                tracing::error!(error = %cause, "admin request failed");
                AdminError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "something went wrong on the server; it has been logged",
                )
            }
        }
    }
}

/// How long a 503 page tells clients to wait before asking again, in seconds.
const UNAVAILABLE_RETRY_SECONDS: u32 = 5;

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let mut response = render_error(self.status, &self.message);
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(UNAVAILABLE_RETRY_SECONDS),
            );
        }
        response
    }
}

/// The value of cookie `name` in the request, if any.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// A `Set-Cookie` value with the flags every Pharos cookie has: HttpOnly, `Secure` when the
/// settings ask for it. `max_age` none: a cookie for this browser session only.
pub fn set_cookie(
    state: &AppState,
    name: &str,
    value: &str,
    path: &str,
    same_site: &str,
    max_age: Option<u64>,
) -> HeaderValue {
    let mut text = format!("{name}={value}; Path={path}; HttpOnly; SameSite={same_site}");
    if let Some(age) = max_age {
        text.push_str(&format!("; Max-Age={age}"));
    }
    if state.admin.secure_cookies {
        text.push_str("; Secure");
    }
    HeaderValue::from_str(&text).expect("cookie values are base64url")
}

/// The session cookie for a new session.
pub fn session_cookie(state: &AppState, secret: &str) -> HeaderValue {
    let age = state.admin.settings.session_max.as_secs();
    set_cookie(state, SESSION_COOKIE, secret, "/", "Lax", Some(age))
}

/// A header that removes the session cookie.
pub fn clear_session_cookie(state: &AppState) -> HeaderValue {
    set_cookie(state, SESSION_COOKIE, "", "/", "Lax", Some(0))
}

/// Looks the request's session up. `Ok(None)`: no session, or an ended one.
async fn authenticate(parts: &Parts, state: &AppState) -> Result<Option<CurrentUser>, AdminError> {
    let Some(secret) = cookie(&parts.headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    if !state.db_ready.load(std::sync::atomic::Ordering::SeqCst) {
        return Err(AdminError::unavailable());
    }
    let id = hash_secret(secret);
    let Some((session, stored)) = state.store.find_session(&id).await? else {
        return Ok(None);
    };
    let now = state.clock.now();
    let idle = chrono::Duration::from_std(state.admin.settings.session_idle)
        .unwrap_or(chrono::Duration::hours(12));
    let StoredUser { user, .. } = stored;
    if session.expires_at <= now || session.last_seen_at.0 + idle <= now.0 || user.disabled {
        return Ok(None);
    }
    if now.0 - session.last_seen_at.0 >= chrono::Duration::minutes(1) {
        // Bookkeeping: a failure here must not turn a valid request away.
        if let Err(err) = state.store.touch_session(&id, now).await {
            tracing::warn!(error = %err, "could not record a session's use");
        }
    }
    Ok(Some(CurrentUser {
        user,
        session_id: session.id,
        csrf: session.csrf,
    }))
}

/// Where to send someone who must sign in first: back here afterwards.
fn login_redirect(parts: &Parts) -> Response {
    let next = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/admin");
    let next: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
    see_other(&format!("/admin/login?next={next}"))
}

/// A 303 redirect, the answer to every successful form post.
pub fn see_other(location: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        if let Some(user) = parts.extensions.get::<CurrentUser>() {
            return Ok(user.clone());
        }
        match authenticate(parts, state).await {
            Ok(Some(user)) if user.user.must_change_password && !password_change_path(parts) => {
                Err(must_change_password(parts))
            }
            Ok(Some(user)) => {
                parts.extensions.insert(user.clone());
                Ok(user)
            }
            Ok(None) if parts.method == Method::GET || parts.method == Method::HEAD => {
                Err(login_redirect(parts))
            }
            Ok(None) => Err(AdminError::forbidden(
                "you are not signed in (or your session ended); sign in again at /admin/login and repeat the change",
            )
            .into_response()),
            Err(err) => Err(err.into_response()),
        }
    }
}

/// Where a user whose password was reset by an admin may go before choosing a new one:
/// the form that chooses it and signing out. Everything else waits (see
/// [`must_change_password`]).
pub const PASSWORD_CHANGE_PATH: &str = "/admin/account/password";

fn password_change_path(parts: &Parts) -> bool {
    matches!(
        parts.uri.path(),
        PASSWORD_CHANGE_PATH | "/admin/logout" | "/admin/logout-everywhere"
    )
}

/// The forced password change gate: a page asked for goes to the form (303), a change is
/// refused (403) until a new password is chosen.
fn must_change_password(parts: &Parts) -> Response {
    if parts.method == Method::GET || parts.method == Method::HEAD {
        return see_other(PASSWORD_CHANGE_PATH);
    }
    AdminError::forbidden(
        "your password was reset by an admin: choose a new one at /admin/account/password first, then repeat the change",
    )
    .into_response()
}

/// Refuses a request whose `Origin` (when sent) is not this site: the page's configured
/// address, or the host the request was sent to.
pub fn check_origin(headers: &HeaderMap, state: &AppState) -> Result<(), AdminError> {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let refused = || {
        AdminError::forbidden(
            "this form was sent from another site; open the page on this site and try again",
        )
    };
    let origin = origin.to_str().map_err(|_| refused())?;
    let page_origin = url::Url::parse(&state.page.url)
        .ok()
        .map(|u| u.origin().ascii_serialization());
    if page_origin.as_deref() == Some(origin) {
        return Ok(());
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let authority = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    match authority {
        Some(a) if !host.is_empty() && a.eq_ignore_ascii_case(host) => Ok(()),
        _ => Err(refused()),
    }
}

/// Reads a urlencoded form body (at most [`FORM_LIMIT`] bytes) into its `csrf` field and `T`.
async fn read_form<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: axum::body::Body,
) -> Result<(Option<String>, T), AdminError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type.starts_with("application/x-www-form-urlencoded") {
        return Err(AdminError::bad_request(
            "send the form as application/x-www-form-urlencoded (submit it from the page)",
        ));
    }
    let bytes = axum::body::to_bytes(body, FORM_LIMIT).await.map_err(|_| {
        AdminError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the form is larger than {} KiB; shorten it",
                FORM_LIMIT / 1024
            ),
        )
    })?;
    #[derive(serde::Deserialize)]
    struct Token {
        csrf: Option<String>,
    }
    let token = serde_urlencoded::from_bytes::<Token>(&bytes)
        .ok()
        .and_then(|t| t.csrf);
    let value = serde_urlencoded::from_bytes::<T>(&bytes)
        .map_err(|e| AdminError::unprocessable(format!("the form is not complete: {e}")))?;
    Ok((token, value))
}

fn same_token(presented: Option<&str>, expected: &str) -> bool {
    match presented {
        Some(p) if !expected.is_empty() => bool::from(p.as_bytes().ct_eq(expected.as_bytes())),
        _ => false,
    }
}

fn csrf_refused() -> AdminError {
    AdminError::forbidden(
        "this form has expired or did not come from this site (its security token does not match); reload the page and try again",
    )
}

/// An `application/x-www-form-urlencoded` body whose `csrf` field must equal the session's
/// token (constant-time) and whose Origin (when sent) must be this site; else 403.
pub struct CsrfForm<T>(pub CurrentUser, pub T);

impl<T: DeserializeOwned + Send> FromRequest<AppState> for CsrfForm<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let user = CurrentUser::from_request_parts(&mut parts, state).await?;
        check_origin(&parts.headers, state).map_err(IntoResponse::into_response)?;
        let (token, value) = read_form::<T>(&parts.headers, body)
            .await
            .map_err(IntoResponse::into_response)?;
        if !same_token(token.as_deref(), &user.csrf) {
            return Err(csrf_refused().into_response());
        }
        Ok(CsrfForm(user, value))
    }
}

/// Who is asking, for forms before sign-in: the address (for the per-client limit), the user
/// agent and the cookies of an earlier session and of a half-done sign-in.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
    /// The SHA-256 of the session cookie the browser still sends, to rotate it away.
    pub old_session: Option<String>,
    /// The `pharos_login` cookie (a signed pending TOTP step).
    pub pending: Option<String>,
}

impl RequestContext {
    fn of(parts: &Parts, state: &AppState) -> RequestContext {
        RequestContext {
            ip: state.client_ip(&parts.extensions, &parts.headers),
            user_agent: parts
                .headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(crate::account::truncate_user_agent),
            old_session: cookie(&parts.headers, SESSION_COOKIE).map(hash_secret),
            pending: cookie(&parts.headers, super::pages::auth::PENDING_COOKIE).map(str::to_string),
        }
    }
}

impl FromRequestParts<AppState> for RequestContext {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(RequestContext::of(parts, state))
    }
}

/// A form posted before sign-in: its `csrf` field must equal the `pharos_csrf` cookie set
/// when the form was shown, and its Origin (when sent) must be this site; else 403.
pub struct PreLogin<T>(pub RequestContext, pub T);

impl<T: DeserializeOwned + Send> FromRequest<AppState> for PreLogin<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let (parts, body) = req.into_parts();
        check_origin(&parts.headers, state).map_err(IntoResponse::into_response)?;
        let (token, value) = read_form::<T>(&parts.headers, body)
            .await
            .map_err(IntoResponse::into_response)?;
        let expected = cookie(&parts.headers, PRELOGIN_COOKIE).unwrap_or("");
        if !same_token(token.as_deref(), expected) {
            return Err(csrf_refused().into_response());
        }
        Ok(PreLogin(RequestContext::of(&parts, state), value))
    }
}

/// The double-submit token for a form shown before sign-in: the browser's, or a new one with
/// the header that sets it.
pub fn prelogin_token(state: &AppState, headers: &HeaderMap) -> (String, Option<HeaderValue>) {
    match cookie(headers, PRELOGIN_COOKIE) {
        Some(t) if t.len() == 43 => (t.to_string(), None),
        _ => {
            let token = crate::account::random_token();
            let header = set_cookie(state, PRELOGIN_COOKIE, &token, "/admin", "Strict", None);
            (token, Some(header))
        }
    }
}
