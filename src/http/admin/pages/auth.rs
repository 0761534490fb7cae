//! Signing in and out, and creating the first admin.
//!
//! Sign-in: email and password, then a TOTP code when the account has one. A wrong password
//! counts against the client address (in memory, [`crate::http::admin::limits`]) and the
//! account (stored: the 10th failure in a row locks it for 15 minutes, refusing even the right
//! password, in every process). An unknown email costs the same argon2 work as a known one.
//! Between the password and the code, the browser holds a signed, 5-minute `pharos_login`
//! cookie naming the user; no session exists until the code is right. A code counts once: its
//! step must be later than the last one stored for the user (`Store::claim_totp_step`), and a
//! code used already counts as a wrong one. Every 429 carries `Retry-After`. A new session always
//! gets a new id (the old cookie's session is deleted).

use super::{html, Chrome, Flash};
use crate::account::{self, password, totp, NewSession, NewUser, Role, SessionSecret, User};
use crate::domain::ids::UserId;
use crate::http::admin::session::{
    clear_session_cookie, prelogin_token, see_other, session_cookie, set_cookie, CsrfForm,
    PreLogin, RequestContext,
};
use crate::http::admin::AdminError;
use crate::http::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

/// The cookie of a sign-in waiting for its TOTP code.
pub const PENDING_COOKIE: &str = "pharos_login";
/// How long the TOTP step may take.
const PENDING_SECONDS: i64 = 300;

/// Only a path of the admin UI: never another site (`//evil`, `/\evil`).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if (n == "/admin" || n.starts_with("/admin/") || n.starts_with("/admin?"))
                && !n.contains("//")
                && !n.contains('\\') =>
        {
            n.to_string()
        }
        _ => "/admin".into(),
    }
}

#[derive(Template)]
#[template(path = "admin/login.html")]
struct LoginPage {
    chrome: Chrome,
    email: String,
    next: String,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

fn login_page(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    email: String,
    next: String,
    error: Option<String>,
    flash: Flash,
) -> Response {
    let (csrf, cookie) = prelogin_token(state, headers);
    let mut chrome = Chrome::anonymous(&state.page_name(), "Sign in", csrf);
    chrome.flash = flash.0;
    let mut r = html(
        status,
        &LoginPage {
            chrome,
            email,
            next,
            error,
        },
    );
    if let Some(c) = cookie {
        r.headers_mut().append(header::SET_COOKIE, c);
    }
    r
}

#[utoipa::path(get, path = "/admin/login", tag = "admin", security(()),
    responses((status = 200, description = "The sign-in form", content_type = "text/html")))]
pub async fn login_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LoginQuery>,
    flash: Flash,
) -> Response {
    let next = safe_next(q.next.as_deref());
    login_page(
        &state,
        &headers,
        StatusCode::OK,
        String::new(),
        next,
        None,
        flash,
    )
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

const WRONG: &str = "wrong email or password; check both and try again";

/// A 429 page with the `Retry-After` (seconds) that says when asking again can work, for
/// scripts and proxies; the page says the same in words.
fn retry_after(mut response: Response, seconds: u64) -> Response {
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
    response
}

/// Seconds until the account's lock ends (at least one).
fn lock_seconds(user: &User, now: crate::domain::Timestamp) -> u64 {
    user.locked_until
        .map(|until| (until.0 - now.0).num_seconds())
        .unwrap_or(60)
        .max(1) as u64
}

fn locked_message(user: &User, now: crate::domain::Timestamp) -> String {
    let minutes = user
        .locked_until
        .map(|u| ((u.0 - now.0).num_seconds() + 59) / 60)
        .unwrap_or(15)
        .max(1);
    format!(
        "this account is locked after {} wrong passwords in a row; try again in {minutes} minute{} (or ask an admin to reset the password)",
        account::LOCK_AFTER_FAILURES,
        if minutes == 1 { "" } else { "s" }
    )
}

#[utoipa::path(post, path = "/admin/login", tag = "admin", security(()),
    responses((status = 303, description = "Signed in (or on to the TOTP step): a session cookie and a redirect"),
              (status = 403, description = "The form's security token or origin is wrong", content_type = "text/html"),
              (status = 422, description = "Wrong email or password", content_type = "text/html"),
              (status = 429, description = "Too many failed sign-ins from this address, or the account is locked (with Retry-After)", content_type = "text/html"),
              (status = 503, description = "The database cannot be reached", content_type = "text/html")))]
pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    PreLogin(ctx, form): PreLogin<LoginForm>,
) -> Response {
    let next = safe_next(form.next.as_deref());
    let again = |status: StatusCode, message: String| {
        login_page(
            &state,
            &headers,
            status,
            form.email.clone(),
            next.clone(),
            Some(message),
            Flash::default(),
        )
    };
    if let Some(wait) = state.admin.login_limiter.blocked(ctx.ip) {
        let minutes = wait.as_secs().div_ceil(60).max(1);
        return retry_after(
            again(
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "too many failed sign-ins from your address; try again in {minutes} minute{}",
                    if minutes == 1 { "" } else { "s" }
                ),
            ),
            wait.as_secs().max(1),
        );
    }
    let stored = match state.store.find_user_by_email(&form.email).await {
        Ok(s) => s,
        Err(err) => return AdminError::from(err).into_response(),
    };
    let Some(stored) = stored else {
        password::verify_dummy(&form.password).await;
        state.admin.login_limiter.failed(ctx.ip);
        return again(StatusCode::UNPROCESSABLE_ENTITY, WRONG.into());
    };
    let now = state.clock.now();
    if stored.user.locked_at(now) {
        return retry_after(
            again(
                StatusCode::TOO_MANY_REQUESTS,
                locked_message(&stored.user, now),
            ),
            lock_seconds(&stored.user, now),
        );
    }
    if !password::verify(&form.password, &stored.password_hash).await {
        state.admin.login_limiter.failed(ctx.ip);
        return match state.store.record_failed_login(stored.user.id).await {
            Ok(user) if user.locked_at(now) => retry_after(
                again(StatusCode::TOO_MANY_REQUESTS, locked_message(&user, now)),
                lock_seconds(&user, now),
            ),
            Ok(_) => again(StatusCode::UNPROCESSABLE_ENTITY, WRONG.into()),
            Err(err) => AdminError::from(err).into_response(),
        };
    }
    if stored.user.disabled {
        return again(
            StatusCode::FORBIDDEN,
            "this account is disabled; ask an admin to enable it".into(),
        );
    }
    if stored.totp_secret.is_some() {
        let token =
            match pending_token(&state, &stored.user, now.0.timestamp() + PENDING_SECONDS).await {
                Ok(t) => t,
                Err(err) => return err.into_response(),
            };
        let mut r = see_other(&format!(
            "/admin/login/totp?next={}",
            url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
        ));
        r.headers_mut().append(
            header::SET_COOKIE,
            set_cookie(
                &state,
                PENDING_COOKIE,
                &token,
                "/admin",
                "Strict",
                Some(PENDING_SECONDS as u64),
            ),
        );
        return r;
    }
    match start_session(&state, &stored.user, &ctx, &next).await {
        Ok(r) => r,
        Err(err) => err.into_response(),
    }
}

/// Signs `user` in: a new session (rotating away the browser's old one), its cookie, and a
/// redirect to `next`. Ended sessions are pruned on the way, so the table stays small.
pub async fn start_session(
    state: &AppState,
    user: &User,
    ctx: &RequestContext,
    next: &str,
) -> Result<Response, AdminError> {
    let secret = SessionSecret::generate();
    let now = state.clock.now();
    let max = chrono::Duration::from_std(state.admin.settings.session_max)
        .unwrap_or(chrono::Duration::days(14));
    let session = NewSession {
        id: secret.id.clone(),
        csrf: account::random_token(),
        expires_at: crate::domain::Timestamp::from_datetime(now.0 + max),
        user_agent: ctx.user_agent.clone(),
        client_ip: ctx.ip.map(|ip| ip.to_string()),
    };
    state
        .store
        .create_session(user.id, session, ctx.old_session.as_deref())
        .await?;
    let idle = chrono::Duration::from_std(state.admin.settings.session_idle)
        .unwrap_or(chrono::Duration::hours(12));
    if let Err(err) = state
        .store
        .prune_sessions(crate::domain::Timestamp::from_datetime(now.0 - idle))
        .await
    {
        tracing::warn!(error = %err, "could not prune ended sessions");
    }
    let mut r = see_other(next);
    r.headers_mut()
        .append(header::SET_COOKIE, session_cookie(state, &secret.cookie));
    if ctx.pending.is_some() {
        r.headers_mut().append(
            header::SET_COOKIE,
            set_cookie(state, PENDING_COOKIE, "", "/admin", "Strict", Some(0)),
        );
    }
    Ok(r)
}

/// `user.exp.mac`: names the user whose password was right, until `exp` (Unix seconds). The
/// MAC covers the time the password was last changed, so a reset voids pending sign-ins.
async fn pending_token(state: &AppState, user: &User, exp: i64) -> Result<String, AdminError> {
    let mac = pending_mac(state, user.id, exp, user).await?;
    Ok(format!("{}.{exp}.{mac}", user.id.0.simple()))
}

async fn pending_mac(
    state: &AppState,
    id: UserId,
    exp: i64,
    user: &User,
) -> Result<String, AdminError> {
    let key = state.store.secret("admin-login").await?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes any key");
    mac.update(
        format!(
            "{}.{exp}.{}",
            id.0.simple(),
            user.password_changed_at.to_db()
        )
        .as_bytes(),
    );
    Ok(hex::encode(mac.finalize().into_bytes()))
}

/// The user a valid pending cookie names.
async fn pending_user(state: &AppState, ctx: &RequestContext) -> Result<Option<User>, AdminError> {
    let Some(token) = ctx.pending.as_deref() else {
        return Ok(None);
    };
    let mut parts = token.splitn(3, '.');
    let (Some(id), Some(exp), Some(mac)) = (parts.next(), parts.next(), parts.next()) else {
        return Ok(None);
    };
    let (Ok(id), Ok(exp)) = (uuid::Uuid::try_parse(id), exp.parse::<i64>()) else {
        return Ok(None);
    };
    if exp < state.clock.now().0.timestamp() {
        return Ok(None);
    }
    let user = match state.store.get_user(UserId(id)).await {
        Ok(u) => u,
        Err(crate::store::StoreError::NotFound { .. }) => return Ok(None),
        Err(err) => return Err(err.into()),
    };
    let expected = pending_mac(state, UserId(id), exp, &user).await?;
    use subtle::ConstantTimeEq;
    Ok(bool::from(expected.as_bytes().ct_eq(mac.as_bytes())).then_some(user))
}

#[derive(Template)]
#[template(path = "admin/login_totp.html")]
struct TotpPage {
    chrome: Chrome,
    next: String,
    error: Option<String>,
}

fn totp_page(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    next: String,
    error: Option<String>,
) -> Response {
    let (csrf, cookie) = prelogin_token(state, headers);
    let chrome = Chrome::anonymous(&state.page_name(), "Sign-in code", csrf);
    let mut r = html(
        status,
        &TotpPage {
            chrome,
            next,
            error,
        },
    );
    if let Some(c) = cookie {
        r.headers_mut().append(header::SET_COOKIE, c);
    }
    r
}

#[utoipa::path(get, path = "/admin/login/totp", tag = "admin", security(()),
    responses((status = 200, description = "The second sign-in step: the authenticator app's code", content_type = "text/html"),
              (status = 303, description = "No sign-in is waiting for a code: back to the sign-in form")))]
pub async fn totp_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    ctx: RequestContext,
    Query(q): Query<LoginQuery>,
) -> Response {
    match pending_user(&state, &ctx).await {
        Ok(Some(_)) => totp_page(
            &state,
            &headers,
            StatusCode::OK,
            safe_next(q.next.as_deref()),
            None,
        ),
        Ok(None) => see_other("/admin/login"),
        Err(err) => err.into_response(),
    }
}

#[derive(Deserialize)]
pub struct TotpForm {
    #[serde(default)]
    code: String,
    next: Option<String>,
}

#[utoipa::path(post, path = "/admin/login/totp", tag = "admin", security(()),
    responses((status = 303, description = "Signed in: a session cookie and a redirect"),
              (status = 403, description = "The form's security token or origin is wrong", content_type = "text/html"),
              (status = 422, description = "Wrong code, or a code used already", content_type = "text/html"),
              (status = 429, description = "The account is locked, or too many failed sign-ins from this address (with Retry-After)", content_type = "text/html")))]
pub async fn totp_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    PreLogin(ctx, form): PreLogin<TotpForm>,
) -> Response {
    let next = safe_next(form.next.as_deref());
    // Wrong codes count against the address like wrong passwords: the code step must not be
    // a way around the per-client limit.
    if let Some(wait) = state.admin.login_limiter.blocked(ctx.ip) {
        let minutes = wait.as_secs().div_ceil(60).max(1);
        return retry_after(
            totp_page(
                &state,
                &headers,
                StatusCode::TOO_MANY_REQUESTS,
                next,
                Some(format!(
                    "too many failed sign-ins from your address; try again in {minutes} minute{}",
                    if minutes == 1 { "" } else { "s" }
                )),
            ),
            wait.as_secs().max(1),
        );
    }
    let user = match pending_user(&state, &ctx).await {
        Ok(Some(u)) => u,
        Ok(None) => return see_other("/admin/login"),
        Err(err) => return err.into_response(),
    };
    let now = state.clock.now();
    if user.locked_at(now) {
        return retry_after(
            totp_page(
                &state,
                &headers,
                StatusCode::TOO_MANY_REQUESTS,
                next,
                Some(locked_message(&user, now)),
            ),
            lock_seconds(&user, now),
        );
    }
    let stored = match state.store.find_user_by_email(&user.email).await {
        Ok(Some(s)) => s,
        Ok(None) => return see_other("/admin/login"),
        Err(err) => return AdminError::from(err).into_response(),
    };
    let step = stored
        .totp_secret
        .as_deref()
        .and_then(|secret| totp::verify_step(secret, &form.code, now.0.timestamp()));
    // A right code counts once: its step must be later than the last one used, so a code
    // read over a shoulder or replayed from a captured request signs nobody in.
    let used_before = match step {
        Some(step) => match state.store.claim_totp_step(user.id, step).await {
            Ok(claimed) => !claimed,
            Err(err) => return AdminError::from(err).into_response(),
        },
        None => false,
    };
    if step.is_none() || used_before {
        state.admin.login_limiter.failed(ctx.ip);
        return match state.store.record_failed_login(user.id).await {
            Ok(u) if u.locked_at(now) => retry_after(
                totp_page(
                    &state,
                    &headers,
                    StatusCode::TOO_MANY_REQUESTS,
                    next,
                    Some(locked_message(&u, now)),
                ),
                lock_seconds(&u, now),
            ),
            Ok(_) if used_before => totp_page(
                &state,
                &headers,
                StatusCode::UNPROCESSABLE_ENTITY,
                next,
                Some(
                    "this code was used already; wait for your authenticator app to show the next one and enter that"
                        .into(),
                ),
            ),
            Ok(_) => totp_page(
                &state,
                &headers,
                StatusCode::UNPROCESSABLE_ENTITY,
                next,
                Some("wrong code; enter the 6 digits your authenticator app shows now".into()),
            ),
            Err(err) => AdminError::from(err).into_response(),
        };
    }
    match start_session(&state, &stored.user, &ctx, &next).await {
        Ok(r) => r,
        Err(err) => err.into_response(),
    }
}

#[derive(Deserialize)]
pub struct Empty {}

#[utoipa::path(post, path = "/admin/logout", tag = "admin", security(()),
    responses((status = 303, description = "Signed out: the session is deleted and the cookie cleared"),
              (status = 403, description = "Not signed in, or the form's security token is wrong", content_type = "text/html")))]
pub async fn logout(
    State(state): State<AppState>,
    CsrfForm(user, _): CsrfForm<Empty>,
) -> Result<Response, AdminError> {
    state
        .store
        .delete_session(&user.session_id, &user.actor())
        .await?;
    let mut r = see_other("/admin/login?done=signed_out");
    r.headers_mut()
        .append(header::SET_COOKIE, clear_session_cookie(&state));
    Ok(r)
}

#[utoipa::path(post, path = "/admin/logout-everywhere", tag = "admin", security(()),
    responses((status = 303, description = "Every session of the user is deleted, this one included"),
              (status = 403, description = "Not signed in, or the form's security token is wrong", content_type = "text/html")))]
pub async fn logout_everywhere(
    State(state): State<AppState>,
    CsrfForm(user, _): CsrfForm<Empty>,
) -> Result<Response, AdminError> {
    state
        .store
        .delete_user_sessions(user.user.id, None, &user.actor())
        .await?;
    let mut r = see_other("/admin/login?done=signed_out_everywhere");
    r.headers_mut()
        .append(header::SET_COOKIE, clear_session_cookie(&state));
    Ok(r)
}

#[derive(Template)]
#[template(path = "admin/setup.html")]
struct SetupPage {
    chrome: Chrome,
    token: String,
    email: String,
    name: String,
    error: Option<String>,
    /// Set once any account exists: the page only says so.
    done: bool,
}

#[derive(Deserialize)]
pub struct SetupQuery {
    token: Option<String>,
}

fn setup_page(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    page: impl FnOnce(Chrome) -> SetupPage,
) -> Response {
    let (csrf, cookie) = prelogin_token(state, headers);
    let chrome = Chrome::anonymous(&state.page_name(), "Create the first admin", csrf);
    let mut r = html(status, &page(chrome));
    if let Some(c) = cookie {
        r.headers_mut().append(header::SET_COOKIE, c);
    }
    r
}

fn already_set_up(state: &AppState, headers: &HeaderMap) -> Response {
    setup_page(state, headers, StatusCode::CONFLICT, |chrome| SetupPage {
        chrome,
        token: String::new(),
        email: String::new(),
        name: String::new(),
        error: None,
        done: true,
    })
}

#[utoipa::path(get, path = "/admin/setup", tag = "admin", security(()),
    params(("token" = Option<String>, Query, description = "The one-time token from the link Pharos logged at start")),
    responses((status = 200, description = "The form that creates the first admin", content_type = "text/html"),
              (status = 400, description = "No token: open the link from the server's log", content_type = "text/html"),
              (status = 409, description = "An account exists already: sign in instead", content_type = "text/html")))]
pub async fn setup_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<SetupQuery>,
) -> Result<Response, AdminError> {
    if state.store.count_users().await? > 0 {
        return Ok(already_set_up(&state, &headers));
    }
    let Some(token) = q.token.filter(|t| !t.is_empty() && t.len() <= 100) else {
        return Err(AdminError::bad_request(
            "open the set-up link Pharos logged when it started (it ends in ?token=...), or create an admin with `pharos user create --admin EMAIL`",
        ));
    };
    Ok(setup_page(&state, &headers, StatusCode::OK, |chrome| {
        SetupPage {
            chrome,
            token,
            email: String::new(),
            name: String::new(),
            error: None,
            done: false,
        }
    }))
}

#[derive(Deserialize)]
pub struct SetupForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password2: String,
}

#[utoipa::path(post, path = "/admin/setup", tag = "admin", security(()),
    responses((status = 303, description = "The first admin is created and signed in"),
              (status = 403, description = "The form's security token or origin is wrong", content_type = "text/html"),
              (status = 409, description = "An account exists already", content_type = "text/html"),
              (status = 422, description = "A field is not valid, or the link is spent or expired", content_type = "text/html")))]
pub async fn setup(
    State(state): State<AppState>,
    headers: HeaderMap,
    PreLogin(ctx, form): PreLogin<SetupForm>,
) -> Result<Response, AdminError> {
    if state.store.count_users().await? > 0 {
        return Ok(already_set_up(&state, &headers));
    }
    let again = |message: String| {
        setup_page(
            &state,
            &headers,
            StatusCode::UNPROCESSABLE_ENTITY,
            |chrome| SetupPage {
                chrome,
                token: form.token.clone(),
                email: form.email.clone(),
                name: form.name.clone(),
                error: Some(message),
                done: false,
            },
        )
    };
    let checked = account::normalize_email(&form.email)
        .and_then(|_| account::validate_name(&form.name))
        .and_then(|_| password::validate(&form.password))
        .and_then(|_| {
            if form.password == form.password2 {
                Ok(())
            } else {
                Err("password: the two passwords differ; type the same one twice".into())
            }
        });
    if let Err(message) = checked {
        return Ok(again(message));
    }
    let hash = password::hash(&form.password)
        .await
        .map_err(|e| AdminError::new(StatusCode::INTERNAL_SERVER_ERROR, e))?;
    let input = NewUser {
        email: form.email.clone(),
        name: form.name.clone(),
        role: Role::Admin,
        password_hash: hash,
        must_change_password: false,
    };
    let user = match state
        .store
        .complete_setup(&account::hash_secret(&form.token), input)
        .await
    {
        Ok(u) => u,
        Err(crate::store::StoreError::Invalid { message }) => return Ok(again(message)),
        Err(crate::store::StoreError::Conflict { .. }) => {
            return Ok(already_set_up(&state, &headers))
        }
        Err(err) => return Err(err.into()),
    };
    start_session(&state, &user, &ctx, "/admin").await
}
