//! The signed-in user's own account: change the password (the old one first), turn the TOTP
//! second factor on (the secret shown as text and as an `otpauth://` URI, confirmed with a
//! code) or off (with the password), the sessions where the user is signed in (each can be
//! ended) and sign out everywhere.
//!
//! After an admin reset the password (`must_change_password`), the session gate
//! (`session.rs`) lets the user reach only `/admin/account/password`: there the page asks for
//! the new password alone (the temporary one was just typed to sign in) and refuses to keep
//! the temporary one.

use super::{html, when, Chrome, Flash};
use crate::account::{describe_user_agent, password, totp, UserPatch};
use crate::http::admin::session::{clear_session_cookie, see_other, CsrfForm, CurrentUser};
use crate::http::admin::AdminError;
use crate::http::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::Response;
use serde::Deserialize;

/// Characters of a session's id that name it in the "end this session" form. The id is the
/// SHA-256 of the cookie (it signs nobody in); a prefix is enough among one user's sessions.
const HANDLE_CHARS: usize = 16;

/// One place the user is signed in.
struct SessionRow {
    handle: String,
    created: String,
    last_used: String,
    /// "Firefox on Linux".
    client: String,
    /// The whole user agent, as stored (at most 200 characters).
    agent: String,
    ip: Option<String>,
    current: bool,
}

#[derive(Template)]
#[template(path = "admin/account.html")]
struct AccountPage {
    chrome: Chrome,
    email: String,
    role: &'static str,
    totp_enabled: bool,
    /// TOTP enrolment in progress: the secret and its URI.
    enrol: Option<(String, String)>,
    error: Option<String>,
    /// The password was reset by an admin: only the form that chooses a new one is shown.
    forced: bool,
    /// Live sessions, newest first (empty on the forced page).
    sessions: Vec<SessionRow>,
}

/// The user's live sessions (not expired, not idle past the limit), newest first.
async fn sessions(state: &AppState, user: &CurrentUser) -> Result<Vec<SessionRow>, AdminError> {
    let now = state.clock.now();
    let idle = chrono::Duration::from_std(state.admin.settings.session_idle)
        .unwrap_or(chrono::Duration::hours(12));
    Ok(state
        .store
        .list_user_sessions(user.user.id)
        .await?
        .into_iter()
        .filter(|s| s.expires_at > now && s.last_seen_at.0 + idle > now.0)
        .map(|s| SessionRow {
            handle: s.id.chars().take(HANDLE_CHARS).collect(),
            created: when(&s.created_at),
            last_used: when(&s.last_seen_at),
            client: describe_user_agent(s.user_agent.as_deref().unwrap_or("")),
            agent: s.user_agent.unwrap_or_default(),
            ip: s.client_ip,
            current: s.id == user.session_id,
        })
        .collect())
}

async fn page(
    state: &AppState,
    user: &CurrentUser,
    status: StatusCode,
    flash: Flash,
    enrol: Option<(String, String)>,
    error: Option<String>,
) -> Result<Response, AdminError> {
    let forced = user.user.must_change_password;
    let sessions = if forced {
        Vec::new()
    } else {
        sessions(state, user).await?
    };
    let title = if forced {
        "Choose a new password"
    } else {
        "Your account"
    };
    Ok(html(
        status,
        &AccountPage {
            chrome: Chrome::new(state, user, title, "account", flash),
            email: user.user.email.clone(),
            role: user.user.role.as_str(),
            totp_enabled: user.user.totp_enabled,
            enrol,
            error,
            forced,
            sessions,
        },
    ))
}

#[utoipa::path(get, path = "/admin/account", tag = "admin", security(()),
    responses((status = 200, description = "Your account: password, two-factor sign-in, sessions", content_type = "text/html"),
              (status = 303, description = "Not signed in: to the sign-in form")))]
pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: Flash,
) -> Result<Response, AdminError> {
    page(&state, &user, StatusCode::OK, flash, None, None).await
}

#[utoipa::path(get, path = "/admin/account/password", tag = "admin", security(()),
    responses((status = 200, description = "After an admin reset your password: the form that chooses a new one (the only page until then)", content_type = "text/html"),
              (status = 303, description = "Not signed in: to the sign-in form; no reset pending: to your account")))]
pub async fn password_form(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: Flash,
) -> Result<Response, AdminError> {
    if !user.user.must_change_password {
        return Ok(see_other("/admin/account"));
    }
    page(&state, &user, StatusCode::OK, flash, None, None).await
}
#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    new2: String,
}

/// Whether `candidate` is the user's password (argon2 off the runtime).
async fn is_password(
    state: &AppState,
    user: &CurrentUser,
    candidate: &str,
) -> Result<bool, AdminError> {
    let stored = state
        .store
        .find_user_by_email(&user.user.email)
        .await?
        .ok_or_else(|| AdminError::not_found("your account no longer exists"))?;
    Ok(password::verify(candidate, &stored.password_hash).await)
}

#[utoipa::path(post, path = "/admin/account/password", tag = "admin", security(()),
    responses((status = 303, description = "Password changed; other sessions signed out"),
              (status = 403, description = "Not signed in, or the form's security token is wrong", content_type = "text/html"),
              (status = 422, description = "Wrong current password, or the new one breaks the rules", content_type = "text/html")))]
pub async fn change_password(
    State(state): State<AppState>,
    CsrfForm(user, form): CsrfForm<PasswordForm>,
) -> Result<Response, AdminError> {
    let refuse = |message: String| {
        page(
            &state,
            &user,
            StatusCode::UNPROCESSABLE_ENTITY,
            Flash::default(),
            None,
            Some(message),
        )
    };
    // After a reset the session itself proves the temporary password was typed just now (it
    // signs in once), so it is not asked again.
    let forced = user.user.must_change_password;
    if !forced && !is_password(&state, &user, &form.current).await? {
        return refuse("the current password is wrong; type the one you signed in with".into())
            .await;
    }
    if let Err(e) = password::validate(&form.new) {
        return refuse(e).await;
    }
    if form.new != form.new2 {
        return refuse("the two new passwords differ; type the same one twice".into()).await;
    }
    if forced && is_password(&state, &user, &form.new).await? {
        return refuse(
            "that is the temporary password an admin gave you; choose a new one of your own".into(),
        )
        .await;
    }
    let hash = password::hash(&form.new)
        .await
        .map_err(|e| AdminError::new(StatusCode::INTERNAL_SERVER_ERROR, e))?;
    state
        .store
        .set_password(user.user.id, &hash, Some(&user.session_id), &user.actor())
        .await?;
    Ok(see_other("/admin/account?done=password_changed"))
}

#[derive(Deserialize)]
pub struct Empty {}

#[utoipa::path(post, path = "/admin/account/totp/start", tag = "admin", security(()),
    responses((status = 200, description = "A new TOTP secret to add to an authenticator app, and the form to confirm it", content_type = "text/html"),
              (status = 403, description = "Not signed in, or the form's security token is wrong", content_type = "text/html")))]
pub async fn totp_start(
    State(state): State<AppState>,
    CsrfForm(user, _): CsrfForm<Empty>,
) -> Result<Response, AdminError> {
    let secret = totp::generate_secret();
    let uri = totp::otpauth_uri(&secret, &state.page_name(), &user.user.email);
    page(
        &state,
        &user,
        StatusCode::OK,
        Flash::default(),
        Some((secret, uri)),
        None,
    )
    .await
}

#[derive(Deserialize)]
pub struct EnableForm {
    #[serde(default)]
    secret: String,
    #[serde(default)]
    code: String,
}

#[utoipa::path(post, path = "/admin/account/totp/enable", tag = "admin", security(()),
    responses((status = 303, description = "Two-factor sign-in is on"),
              (status = 403, description = "Not signed in, or the form's security token is wrong", content_type = "text/html"),
              (status = 422, description = "The code does not match the secret", content_type = "text/html")))]
pub async fn totp_enable(
    State(state): State<AppState>,
    CsrfForm(user, form): CsrfForm<EnableForm>,
) -> Result<Response, AdminError> {
    let now = state.clock.now().0.timestamp();
    let secret = form.secret.trim().to_ascii_uppercase();
    if secret.len() != 32 || totp::code_at(&secret, now).is_none() {
        return Err(AdminError::unprocessable(
            "the secret is not one this page made; start again",
        ));
    }
    let Some(step) = totp::verify_step(&secret, &form.code, now) else {
        let uri = totp::otpauth_uri(&secret, &state.page_name(), &user.user.email);
        return page(
            &state,
            &user,
            StatusCode::UNPROCESSABLE_ENTITY,
            Flash::default(),
            Some((secret, uri)),
            Some(
                "the code does not match; check the app's clock and enter the code it shows now"
                    .into(),
            ),
        )
        .await;
    };
    state
        .store
        .update_user(
            user.user.id,
            UserPatch {
                totp_secret: Some(Some(secret)),
                ..Default::default()
            },
            &user.actor(),
        )
        .await?;
    // The code that turned TOTP on was typed here, so it counts as used: it cannot sign in
    // (in this or another browser) within its 30 seconds. The new secret starts with no step
    // recorded (`update_user` forgets the old one's), so this claim always wins.
    state.store.claim_totp_step(user.user.id, step).await?;
    Ok(see_other("/admin/account?done=totp_enabled"))
}

#[derive(Deserialize)]
pub struct DisableForm {
    #[serde(default)]
    password: String,
}

#[utoipa::path(post, path = "/admin/account/totp/disable", tag = "admin", security(()),
    responses((status = 303, description = "Two-factor sign-in is off"),
              (status = 403, description = "Not signed in, or the form's security token is wrong", content_type = "text/html"),
              (status = 422, description = "Wrong password", content_type = "text/html")))]
pub async fn totp_disable(
    State(state): State<AppState>,
    CsrfForm(user, form): CsrfForm<DisableForm>,
) -> Result<Response, AdminError> {
    if !is_password(&state, &user, &form.password).await? {
        return page(
            &state,
            &user,
            StatusCode::UNPROCESSABLE_ENTITY,
            Flash::default(),
            None,
            Some("the password is wrong; two-factor sign-in stays on".into()),
        )
        .await;
    }
    state
        .store
        .update_user(
            user.user.id,
            UserPatch {
                totp_secret: Some(None),
                ..Default::default()
            },
            &user.actor(),
        )
        .await?;
    Ok(see_other("/admin/account?done=totp_disabled"))
}

#[derive(Deserialize)]
pub struct EndSessionForm {
    #[serde(default)]
    session: String,
}

#[utoipa::path(post, path = "/admin/account/sessions/end", tag = "admin", security(()),
    responses((status = 303, description = "The session is ended: that browser is signed out at once (this one: to the sign-in form)"),
              (status = 403, description = "Not signed in, or the form's security token is wrong", content_type = "text/html"),
              (status = 404, description = "None of your sessions has that handle (already ended)", content_type = "text/html")))]
pub async fn end_session(
    State(state): State<AppState>,
    CsrfForm(user, form): CsrfForm<EndSessionForm>,
) -> Result<Response, AdminError> {
    let handle = form.session.trim();
    let gone = || {
        AdminError::not_found(
            "that session is not one of yours, or it has already ended; reload your account page",
        )
    };
    if handle.len() != HANDLE_CHARS {
        return Err(gone());
    }
    // Only the user's own sessions are searched, so a handle cannot reach anyone else's.
    let session = state
        .store
        .list_user_sessions(user.user.id)
        .await?
        .into_iter()
        .find(|s| s.id.starts_with(handle))
        .ok_or_else(gone)?;
    state
        .store
        .delete_session(&session.id, &user.actor())
        .await?;
    if session.id == user.session_id {
        let mut r = see_other("/admin/login?done=signed_out");
        r.headers_mut()
            .append(header::SET_COOKIE, clear_session_cookie(&state));
        return Ok(r);
    }
    Ok(see_other("/admin/account?done=session_ended"))
}
