//! `/api/v1/maintenances`: scheduled maintenance windows.

use super::*;
use crate::domain::model::Maintenance;
use crate::domain::{MaintenanceId, MaintenanceStatus, Timestamp};
use crate::http::auth::Principal;
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::http::AppState;
use crate::store::{MaintenancePatch, NewMaintenance};
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateMaintenance {
    pub name: String,
    /// RFC 3339.
    pub scheduled_for: String,
    /// RFC 3339, after `scheduled_for`.
    pub scheduled_until: String,
    #[schema(value_type = Vec<String>)]
    pub component_ids: Vec<ComponentId>,
    /// The first update's text.
    pub body: Option<String>,
    /// Start and complete on their own at the window's edges (default true).
    pub auto_transition: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMaintenance {
    pub name: Option<String>,
    pub scheduled_for: Option<String>,
    pub scheduled_until: Option<String>,
    #[schema(value_type = Option<Vec<String>>)]
    pub component_ids: Option<Vec<ComponentId>>,
    pub auto_transition: Option<bool>,
    /// Move the window by hand: forward only.
    pub status: Option<MaintenanceStatus>,
    /// Posted to the maintenance's timeline.
    pub body: Option<String>,
}

fn time(field: &str, text: &str) -> ApiResult<Timestamp> {
    Timestamp::parse(text).ok_or_else(|| {
        ApiError::validation(format!(
            "`{field}` must be an RFC 3339 time such as 2026-12-01T02:00:00Z, not `{text}`"
        ))
    })
}

#[utoipa::path(get, path = "/api/v1/maintenances", tag = "maintenances", params(ListQuery),
    responses((status = 200, description = "Maintenances, soonest first", body = Paged<Maintenance>)))]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> ApiResult<Json<Paged<Maintenance>>> {
    Ok(Json(
        state.store.list_maintenances(query.page()?).await?.into(),
    ))
}

#[utoipa::path(post, path = "/api/v1/maintenances", tag = "maintenances", request_body = CreateMaintenance,
    responses((status = 201, description = "Scheduled", body = Maintenance)))]
pub async fn create(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    ApiJson(input): ApiJson<CreateMaintenance>,
) -> ApiResult<(StatusCode, Json<Maintenance>)> {
    let scheduled_for = time("scheduled_for", &input.scheduled_for)?;
    let scheduled_until = time("scheduled_until", &input.scheduled_until)?;
    if scheduled_until <= scheduled_for {
        return Err(ApiError::validation(
            "`scheduled_until` must be after `scheduled_for`",
        ));
    }
    let input = NewMaintenance {
        name: valid_name("name", input.name)?,
        scheduled_for,
        scheduled_until,
        component_ids: input.component_ids,
        body: input.body.map(|b| valid_body("body", b)).transpose()?,
        auto_transition: input.auto_transition.unwrap_or(true),
    };
    let maintenance = state.store.create_maintenance(input, &who.actor()).await?;
    Ok((StatusCode::CREATED, Json(maintenance)))
}

#[utoipa::path(get, path = "/api/v1/maintenances/{id}", tag = "maintenances",
    params(("id" = String, Path, description = "Maintenance id")),
    responses((status = 200, description = "The maintenance", body = Maintenance)))]
pub async fn get(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<MaintenanceId>,
) -> ApiResult<Json<Maintenance>> {
    Ok(Json(state.store.get_maintenance(id).await?))
}

#[utoipa::path(patch, path = "/api/v1/maintenances/{id}", tag = "maintenances", request_body = UpdateMaintenance,
    params(("id" = String, Path, description = "Maintenance id")),
    responses((status = 200, description = "Updated", body = Maintenance)))]
pub async fn update(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    ApiPath(id): ApiPath<MaintenanceId>,
    ApiJson(input): ApiJson<UpdateMaintenance>,
) -> ApiResult<Json<Maintenance>> {
    let patch = MaintenancePatch {
        name: input.name.map(|n| valid_name("name", n)).transpose()?,
        scheduled_for: input
            .scheduled_for
            .map(|t| time("scheduled_for", &t))
            .transpose()?,
        scheduled_until: input
            .scheduled_until
            .map(|t| time("scheduled_until", &t))
            .transpose()?,
        component_ids: input.component_ids,
        auto_transition: input.auto_transition,
        status: input.status,
        body: input.body.map(|b| valid_body("body", b)).transpose()?,
    };
    Ok(Json(
        state
            .store
            .update_maintenance(id, patch, &who.actor())
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/maintenances/{id}/cancel", tag = "maintenances",
    params(("id" = String, Path, description = "Maintenance id")),
    responses((status = 200, description = "Cancelled: completed now, components restored", body = Maintenance)))]
pub async fn cancel(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    ApiPath(id): ApiPath<MaintenanceId>,
) -> ApiResult<Json<Maintenance>> {
    Ok(Json(
        state.store.cancel_maintenance(id, &who.actor()).await?,
    ))
}
