//! Users (admin only): the list (with each user's live sessions), creating a user (its
//! one-time password shown once), changing a role, deactivating (which signs the user out
//! everywhere at once) and reactivating, deleting (after a confirmation) and resetting a
//! password (a temporary one, shown once, that must be replaced at the next sign-in).
//!
//! An admin cannot change the role of, deactivate or delete themself (checked here), and no
//! change may leave users without an active admin (checked by the store, in the writing
//! transaction, so two admins demoting each other at once cannot both succeed). A role change
//! or deactivation takes effect on the user's next request: every request reads the user
//! with its session. Deleting a user keeps the audit log as it was: events name their actor as
//! `user:<email>` and carry the user as recorded, not a reference to the row.
//!
//! API tokens are not per user (they belong to the installation; `api_tokens` has no owner),
//! so deactivating or deleting the admin who created one does not revoke it: the tokens page
//! shows who created each one, for revoking by hand.

use super::{html, when, Chrome, Flash};
use crate::account::{password, NewUser, Role, User, UserPatch};
use crate::domain::ids::UserId;
use crate::http::admin::pages::parse_id;
use crate::http::admin::session::{see_other, CsrfForm, CurrentUser};
use crate::http::admin::AdminError;
use crate::http::AppState;
use crate::store::StoreError;
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
    /// Live sessions (signed-in browsers).
    sessions: u64,
    /// Waiting to replace a temporary password.
    must_change: bool,
    /// `actor=user:<email>`, url-encoded: the user's entries in the audit log.
    audit_query: String,
}

/// A user about to be deleted: the confirmation box.
struct Doomed {
    id: String,
    email: String,
    name: String,
}

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersPage {
    chrome: Chrome,
    users: Vec<Row>,
    roles: [&'static str; 3],
    /// (email, password, whether it is a reset's temporary one) just set, shown once.
    issued: Option<(String, String, bool)>,
    error: Option<String>,
    /// Deleting this user waits for the confirmation.
    confirm_delete: Option<Doomed>,
}

/// What the page shows besides the list.
#[derive(Default)]
struct Extra {
    issued: Option<(String, String, bool)>,
    error: Option<String>,
    confirm_delete: Option<Doomed>,
}

async fn page(
    state: &AppState,
    user: &CurrentUser,
    status: StatusCode,
    flash: Flash,
    extra: Extra,
) -> Result<Response, AdminError> {
    let now = state.clock.now();
    let idle = chrono::Duration::from_std(state.admin.settings.session_idle)
        .unwrap_or(chrono::Duration::hours(12));
    let counts: std::collections::HashMap<UserId, u64> = state
        .store
        .session_counts(crate::domain::Timestamp::from_datetime(now.0 - idle))
        .await?
        .into_iter()
        .collect();
    let users = state
        .store
        .list_users()
        .await?
        .into_iter()
        .map(|u: User| Row {
            id: u.id.to_string(),
            state: if u.disabled {
                "deactivated"
            } else if u.locked_at(now) {
                "locked"
            } else {
                "active"
            },
            sessions: counts.get(&u.id).copied().unwrap_or(0),
            must_change: u.must_change_password,
            audit_query: url::form_urlencoded::Serializer::new(String::new())
                .append_pair("actor", crate::events::Actor::user(&u.email).as_str())
                .finish(),
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
            issued: extra.issued,
            error: extra.error,
            confirm_delete: extra.confirm_delete,
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
    page(&state, &user, StatusCode::OK, flash, Extra::default()).await
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
        // The admin has seen it: the user chooses their own at the first sign-in.
        must_change_password: true,
    };
    let created = state.store.create_user(input, &user.actor()).await?;
    page(
        &state,
        &user,
        StatusCode::OK,
        Flash::default(),
        Extra {
            issued: Some((created.email, secret, false)),
            ..Extra::default()
        },
    )
    .await
}

/// A refusal the users page explains itself (the last admin, a taken email): the list again,
/// with the message, at the error's status. Anything else is the error page.
async fn refused(
    state: &AppState,
    user: &CurrentUser,
    err: StoreError,
) -> Result<Response, AdminError> {
    match err {
        StoreError::Conflict { message, .. } => {
            page(
                state,
                user,
                StatusCode::CONFLICT,
                Flash::default(),
                Extra {
                    error: Some(message),
                    ..Extra::default()
                },
            )
            .await
        }
        other => Err(other.into()),
    }
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
    match state.store.update_user(id, patch, &user.actor()).await {
        Ok(_) => Ok(see_other("/admin/users?done=user_updated")),
        Err(err) => refused(&state, &user, err).await,
    }
}

#[derive(Deserialize)]
pub struct DisableForm {
    #[serde(default)]
    disabled: String,
}

#[utoipa::path(post, path = "/admin/users/{id}/disable", tag = "admin", security(()),
    params(("id" = String, Path, description = "The user's id")),
    responses((status = 303, description = "The user is deactivated (and signed out everywhere at once) or reactivated"),
              (status = 403, description = "Not an admin, or the form's security token is wrong", content_type = "text/html"),
              (status = 404, description = "No such user", content_type = "text/html"),
              (status = 409, description = "Yourself, or the last active admin", content_type = "text/html")))]
pub async fn set_disabled(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(user, form): CsrfForm<DisableForm>,
) -> Result<Response, AdminError> {
    user.require_admin()?;
    let id = parse_id("user", &id)?;
    let deactivate = form.disabled == "true";
    not_yourself(
        &user,
        id,
        if deactivate {
            "deactivate"
        } else {
            "reactivate"
        },
    )?;
    let patch = UserPatch {
        disabled: Some(deactivate),
        ..Default::default()
    };
    match state.store.update_user(id, patch, &user.actor()).await {
        Ok(_) if deactivate => Ok(see_other("/admin/users?done=user_deactivated")),
        Ok(_) => Ok(see_other("/admin/users?done=user_reactivated")),
        Err(err) => refused(&state, &user, err).await,
    }
}

#[derive(Deserialize)]
pub struct DeleteForm {
    #[serde(default)]
    confirm: String,
}

#[utoipa::path(post, path = "/admin/users/{id}/delete", tag = "admin", security(()),
    params(("id" = String, Path, description = "The user's id")),
    responses((status = 200, description = "Without `confirm=yes`: the list with a box asking to confirm", content_type = "text/html"),
              (status = 303, description = "The user is deleted with its sessions; the audit log keeps its entries"),
              (status = 403, description = "Not an admin, or the form's security token is wrong", content_type = "text/html"),
              (status = 404, description = "No such user", content_type = "text/html"),
              (status = 409, description = "Yourself, or the last active admin", content_type = "text/html")))]
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(user, form): CsrfForm<DeleteForm>,
) -> Result<Response, AdminError> {
    user.require_admin()?;
    let id: UserId = parse_id("user", &id)?;
    not_yourself(&user, id, "delete")?;
    if form.confirm != "yes" {
        // A second step without JavaScript: the list again, with a box that confirms.
        let doomed = state.store.get_user(id).await?;
        return page(
            &state,
            &user,
            StatusCode::OK,
            Flash::default(),
            Extra {
                confirm_delete: Some(Doomed {
                    id: doomed.id.to_string(),
                    email: doomed.email,
                    name: doomed.name,
                }),
                ..Extra::default()
            },
        )
        .await;
    }
    match state.store.delete_user(id, &user.actor()).await {
        Ok(()) => Ok(see_other("/admin/users?done=user_deleted")),
        Err(err) => refused(&state, &user, err).await,
    }
}

#[derive(Deserialize)]
pub struct Empty {}

#[utoipa::path(post, path = "/admin/users/{id}/reset-password", tag = "admin", security(()),
    params(("id" = String, Path, description = "The user's id")),
    responses((status = 200, description = "A temporary password, shown once: it signs in once, and the user must then choose a new one; the user is signed out everywhere", content_type = "text/html"),
              (status = 403, description = "Not an admin, or the form's security token is wrong", content_type = "text/html"),
              (status = 404, description = "No such user", content_type = "text/html"),
              (status = 409, description = "Yourself: change your own password under Account", content_type = "text/html")))]
pub async fn reset_password(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(user, _): CsrfForm<Empty>,
) -> Result<Response, AdminError> {
    user.require_admin()?;
    let id = parse_id("user", &id)?;
    if id == user.user.id {
        return Err(AdminError::conflict(
            "you cannot reset your own password here; change it under Account (it asks for the current one)",
        ));
    }
    let secret = password::generate();
    let hash = password::hash(&secret)
        .await
        .map_err(|e| AdminError::new(StatusCode::INTERNAL_SERVER_ERROR, e))?;
    let changed = state.store.reset_password(id, &hash, &user.actor()).await?;
    page(
        &state,
        &user,
        StatusCode::OK,
        Flash::default(),
        Extra {
            issued: Some((changed.email, secret, true)),
            ..Extra::default()
        },
    )
    .await
}
