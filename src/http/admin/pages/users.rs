//! Users (admin only): the list, creating a user (its one-time password shown once), changing
//! a role, disabling (which signs the user out everywhere) and resetting a password. An admin
//! cannot demote or disable themself, so the last admin cannot lock everyone out by mistake.

use super::{html, when, Chrome, Flash};
use crate::account::{password, NewUser, Role, User, UserPatch};
use crate::domain::ids::UserId;
use crate::http::admin::pages::parse_id;
use crate::http::admin::session::{see_other, CsrfForm, CurrentUser};
use crate::http::admin::AdminError;
use crate::http::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

struct Row {
    id: String,
    email: String,
    name: String,
    role: &'static str,
    state: &'static str,
    disabled: bool,
    totp: bool,
    created: String,
    is_me: bool,
}

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersPage {
    chrome: Chrome,
    users: Vec<Row>,
    roles: [&'static str; 3],
    /// (email, password) just set, shown once.
    issued: Option<(String, String)>,
    error: Option<String>,
}

async fn page(
    state: &AppState,
    user: &CurrentUser,
    status: StatusCode,
    flash: Flash,
    issued: Option<(String, String)>,
    error: Option<String>,
) -> Result<Response, AdminError> {
    let now = state.clock.now();
    let users = state
        .store
        .list_users()
        .await?
        .into_iter()
        .map(|u: User| Row {
            id: u.id.to_string(),
            state: if u.disabled {
                "disabled"
            } else if u.locked_at(now) {
                "locked"
            } else {
                "active"
            },
            disabled: u.disabled,
            totp: u.totp_enabled,
            created: when(&u.created_at),
            is_me: u.id == user.user.id,
            role: u.role.as_str(),
            email: u.email,
            name: u.name,
        })
        .collect();
    Ok(html(
        status,
        &UsersPage {
            chrome: Chrome::new(state, user, "Users", "users", flash),
            users,
            roles: Role::ALL.map(|r| r.as_str()),
            issued,
            error,
        },
    ))
}

#[utoipa::path(get, path = "/admin/users", tag = "admin", security(()),
    responses((status = 200, description = "Users and their roles (admins only)", content_type = "text/html"),
              (status = 303, description = "Not signed in: to the sign-in form"),
              (status = 403, description = "Not an admin", content_type = "text/html")))]
pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: Flash,
) -> Result<Response, AdminError> {
    user.require_admin()?;
    page(&state, &user, StatusCode::OK, flash, None, None).await
}

#[derive(Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
}

#[utoipa::path(post, path = "/admin/users", tag = "admin", security(()),
    responses((status = 200, description = "The user is created; its one-time password is shown once", content_type = "text/html"),
              (status = 403, description = "Not an admin, or the form's security token is wrong", content_type = "text/html"),
              (status = 409, description = "The email is taken", content_type = "text/html"),
              (status = 422, description = "A field is not valid", content_type = "text/html")))]
pub async fn create(
    State(state): State<AppState>,
    CsrfForm(user, form): CsrfForm<CreateForm>,
) -> Result<Response, AdminError> {
    user.require_admin()?;
    let role: Role = form.role.parse().map_err(AdminError::unprocessable)?;
    let email = crate::account::normalize_email(&form.email).map_err(AdminError::unprocessable)?;
    let secret = password::generate();
    let hash = password::hash(&secret)
        .await
        .map_err(|e| AdminError::new(StatusCode::INTERNAL_SERVER_ERROR, e))?;
    let input = NewUser {
        name: if form.name.trim().is_empty() {
            email.split('@').next().unwrap_or("").to_string()
        } else {
            form.name
        },
        email,
        role,
        password_hash: hash,
    };
    let created = state.store.create_user(input, &user.actor()).await?;
    page(
        &state,
        &user,
        StatusCode::OK,
        Flash::default(),
        Some((created.email, secret)),
        None,
    )
    .await
}

fn not_yourself(user: &CurrentUser, id: UserId, what: &str) -> Result<(), AdminError> {
    if user.user.id == id {
        return Err(AdminError::conflict(format!(
            "you cannot {what} yourself; ask another admin"
        )));
    }
    Ok(())
}

#[derive(Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    role: String,
}

#[utoipa::path(post, path = "/admin/users/{id}/role", tag = "admin", security(()),
    params(("id" = String, Path, description = "The user's id")),
    responses((status = 303, description = "The role is changed"),
              (status = 403, description = "Not an admin, or the form's security token is wrong", content_type = "text/html"),
              (status = 404, description = "No such user", content_type = "text/html"),
              (status = 409, description = "Your own role", content_type = "text/html")))]
pub async fn set_role(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(user, form): CsrfForm<RoleForm>,
) -> Result<Response, AdminError> {
    user.require_admin()?;
    let id = parse_id("user", &id)?;
    let role: Role = form.role.parse().map_err(AdminError::unprocessable)?;
    not_yourself(&user, id, "change the role of")?;
    let patch = UserPatch {
        role: Some(role),
        ..Default::default()
    };
    state.store.update_user(id, patch, &user.actor()).await?;
    Ok(see_other("/admin/users?done=user_updated"))
}

#[derive(Deserialize)]
pub struct DisableForm {
    #[serde(default)]
    disabled: String,
}

#[utoipa::path(post, path = "/admin/users/{id}/disable", tag = "admin", security(()),
    params(("id" = String, Path, description = "The user's id")),
    responses((status = 303, description = "The user is disabled (and signed out everywhere) or enabled"),
              (status = 403, description = "Not an admin, or the form's security token is wrong", content_type = "text/html"),
              (status = 404, description = "No such user", content_type = "text/html"),
              (status = 409, description = "Yourself", content_type = "text/html")))]
pub async fn set_disabled(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(user, form): CsrfForm<DisableForm>,
) -> Result<Response, AdminError> {
    user.require_admin()?;
    let id = parse_id("user", &id)?;
    not_yourself(&user, id, "disable")?;
    let patch = UserPatch {
        disabled: Some(form.disabled == "true"),
        ..Default::default()
    };
    state.store.update_user(id, patch, &user.actor()).await?;
    Ok(see_other("/admin/users?done=user_updated"))
}

#[derive(Deserialize)]
pub struct Empty {}

#[utoipa::path(post, path = "/admin/users/{id}/reset-password", tag = "admin", security(()),
    params(("id" = String, Path, description = "The user's id")),
    responses((status = 200, description = "A new one-time password, shown once; the user is signed out everywhere", content_type = "text/html"),
              (status = 403, description = "Not an admin, or the form's security token is wrong", content_type = "text/html"),
              (status = 404, description = "No such user", content_type = "text/html")))]
pub async fn reset_password(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(user, _): CsrfForm<Empty>,
) -> Result<Response, AdminError> {
    user.require_admin()?;
    let id = parse_id("user", &id)?;
    let secret = password::generate();
    let hash = password::hash(&secret)
        .await
        .map_err(|e| AdminError::new(StatusCode::INTERNAL_SERVER_ERROR, e))?;
    let keep = (id == user.user.id).then_some(user.session_id.as_str());
    let changed = state
        .store
        .set_password(id, &hash, keep, &user.actor())
        .await?;
    page(
        &state,
        &user,
        StatusCode::OK,
        Flash::default(),
        Some((changed.email, secret)),
        None,
    )
    .await
}
