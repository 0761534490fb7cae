//! The signed-in user's own account: change the password (the old one first), turn the TOTP
//! second factor on (the secret shown as text and as an `otpauth://` URI, confirmed with a
//! code) or off (with the password), and sign out everywhere.

use super::{html, Chrome, Flash};
use crate::account::{password, totp, UserPatch};
use crate::http::admin::session::{see_other, CsrfForm, CurrentUser};
use crate::http::admin::AdminError;
use crate::http::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

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
}

fn page(
    state: &AppState,
    user: &CurrentUser,
    status: StatusCode,
    flash: Flash,
    enrol: Option<(String, String)>,
    error: Option<String>,
) -> Response {
    html(
        status,
        &AccountPage {
            chrome: Chrome::new(state, user, "Your account", "account", flash),
            email: user.user.email.clone(),
            role: user.user.role.as_str(),
            totp_enabled: user.user.totp_enabled,
            enrol,
            error,
        },
    )
}

#[utoipa::path(get, path = "/admin/account", tag = "admin", security(()),
    responses((status = 200, description = "Your account: password, two-factor sign-in, sessions", content_type = "text/html"),
              (status = 303, description = "Not signed in: to the sign-in form")))]
pub async fn show(State(state): State<AppState>, user: CurrentUser, flash: Flash) -> Response {
    page(&state, &user, StatusCode::OK, flash, None, None)
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
    let refuse = |message: &str| {
        Ok(page(
            &state,
            &user,
            StatusCode::UNPROCESSABLE_ENTITY,
            Flash::default(),
            None,
            Some(message.to_string()),
        ))
    };
    if !is_password(&state, &user, &form.current).await? {
        return refuse("the current password is wrong; type the one you signed in with");
    }
    if let Err(e) = password::validate(&form.new) {
        return refuse(&e);
    }
    if form.new != form.new2 {
        return refuse("the two new passwords differ; type the same one twice");
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
) -> Response {
    let secret = totp::generate_secret();
    let uri = totp::otpauth_uri(&secret, &state.page.name, &user.user.email);
    page(
        &state,
        &user,
        StatusCode::OK,
        Flash::default(),
        Some((secret, uri)),
        None,
    )
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
    if !totp::verify(&secret, &form.code, now) {
        let uri = totp::otpauth_uri(&secret, &state.page.name, &user.user.email);
        return Ok(page(
            &state,
            &user,
            StatusCode::UNPROCESSABLE_ENTITY,
            Flash::default(),
            Some((secret, uri)),
            Some(
                "the code does not match; check the app's clock and enter the code it shows now"
                    .into(),
            ),
        ));
    }
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
        return Ok(page(
            &state,
            &user,
            StatusCode::UNPROCESSABLE_ENTITY,
            Flash::default(),
            None,
            Some("the password is wrong; two-factor sign-in stays on".into()),
        ));
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
