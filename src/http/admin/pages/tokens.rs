//! API tokens (admin only): the list, creating one (its text shown once; only its hash is
//! stored, as with `pharos token create`) and revoking one.
//!
//! Tokens belong to the installation, not to a user (`api_tokens` has no owner), so they
//! outlive the account of whoever created them: deactivating or deleting that user does not
//! revoke them. The list shows who created each token (the actor of its `token.created`
//! event), so an admin can revoke a departing person's tokens by hand.

use super::{html, when, Chrome, Flash};
use crate::domain::TokenScope;
use crate::http::admin::session::{see_other, CsrfForm, CurrentUser};
use crate::http::admin::AdminError;
use crate::http::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

struct Row {
    name: String,
    /// The actor that created it (`user:ops@example.com`, `cli`), when the log still has it.
    created_by: Option<String>,
    scope: String,
    created: String,
    last_used: String,
    revoked: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/tokens.html")]
struct TokensPage {
    chrome: Chrome,
    tokens: Vec<Row>,
    /// (name, token text) just created, shown once.
    issued: Option<(String, String)>,
}

async fn page(
    state: &AppState,
    user: &CurrentUser,
    flash: Flash,
    issued: Option<(String, String)>,
) -> Result<Response, AdminError> {
    // Who created each token, from the newest 500 `token.created` events (older tokens show
    // no creator rather than costing a scan of the whole log).
    let creators: std::collections::HashMap<String, String> = state
        .store
        .audit_log(
            crate::store::AuditFilter {
                kind: Some("token.created".into()),
                ..Default::default()
            },
            500,
        )
        .await?
        .into_iter()
        .filter_map(|e| e.subject_id.map(|id| (id, e.actor)))
        .collect();
    let mut tokens: Vec<Row> = state
        .store
        .list_tokens()
        .await?
        .into_iter()
        .map(|t| Row {
            created_by: creators.get(&t.id.to_string()).cloned(),
            name: t.name,
            scope: t.scope.to_string(),
            created: when(&t.created_at),
            last_used: t
                .last_used_at
                .as_ref()
                .map(when)
                .unwrap_or_else(|| "never".into()),
            revoked: t.revoked_at.as_ref().map(when),
        })
        .collect();
    // Active tokens first, newest first within each.
    tokens.reverse();
    tokens.sort_by_key(|t| t.revoked.is_some());
    Ok(html(
        StatusCode::OK,
        &TokensPage {
            chrome: Chrome::new(state, user, "API tokens", "tokens", flash),
            tokens,
            issued,
        },
    ))
}

#[utoipa::path(get, path = "/admin/tokens", tag = "admin", security(()),
    responses((status = 200, description = "API tokens (admins only)", content_type = "text/html"),
              (status = 303, description = "Not signed in: to the sign-in form"),
              (status = 403, description = "Not an admin", content_type = "text/html")))]
pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: Flash,
) -> Result<Response, AdminError> {
    user.require_admin()?;
    page(&state, &user, flash, None).await
}

#[derive(Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    scope: String,
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

#[utoipa::path(post, path = "/admin/tokens", tag = "admin", security(()),
    responses((status = 200, description = "The token is created; its text is shown once", content_type = "text/html"),
              (status = 403, description = "Not an admin, or the form's security token is wrong", content_type = "text/html"),
              (status = 409, description = "An active token has that name", content_type = "text/html"),
              (status = 422, description = "A field is not valid", content_type = "text/html")))]
pub async fn create(
    State(state): State<AppState>,
    CsrfForm(user, form): CsrfForm<CreateForm>,
) -> Result<Response, AdminError> {
    user.require_admin()?;
    let name = form.name.trim();
    if !valid_name(name) {
        return Err(AdminError::unprocessable(
            "name: use 1 to 64 letters, digits, `.`, `_` or `-`",
        ));
    }
    let scope: TokenScope = form
        .scope
        .parse()
        .map_err(|_| AdminError::unprocessable("scope: choose read, write or admin"))?;
    let issued = crate::token::issue();
    let token = state
        .store
        .create_token(issued.id, name, scope, &issued.secret_hash, &user.actor())
        .await?;
    page(
        &state,
        &user,
        Flash::default(),
        Some((token.name, issued.text)),
    )
    .await
}

#[derive(Deserialize)]
pub struct RevokeForm {
    #[serde(default)]
    name: String,
}

#[utoipa::path(post, path = "/admin/tokens/revoke", tag = "admin", security(()),
    responses((status = 303, description = "The token is revoked"),
              (status = 403, description = "Not an admin, or the form's security token is wrong", content_type = "text/html"),
              (status = 404, description = "No active token has that name", content_type = "text/html")))]
pub async fn revoke(
    State(state): State<AppState>,
    CsrfForm(user, form): CsrfForm<RevokeForm>,
) -> Result<Response, AdminError> {
    user.require_admin()?;
    state
        .store
        .revoke_token(form.name.trim(), &user.actor())
        .await?;
    Ok(see_other("/admin/tokens?done=token_revoked"))
}
