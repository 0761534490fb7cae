//! `/api/v1/components`: the things that have a status.

use super::*;
use crate::domain::model::{Component, ComponentStatusChange};
use crate::domain::{ComponentGroupId, ComponentId, Timestamp};
use crate::http::auth::Principal;
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::http::AppState;
use crate::store::{ComponentPatch, NewComponent};
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateComponent {
    pub name: String,
    pub description: Option<String>,
    #[schema(value_type = Option<String>, format = Uuid)]
    pub group_id: Option<ComponentGroupId>,
    pub position: Option<i64>,
    /// Defaults to `operational`.
    pub status: Option<ComponentStatus>,
    /// Show on the page (default true).
    pub showcase: Option<bool>,
    pub only_show_if_degraded: Option<bool>,
    /// `YYYY-MM-DD`.
    pub start_date: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateComponent {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub description: Option<Option<String>>,
    /// Null removes it from its group.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, format = Uuid)]
    pub group_id: Option<Option<ComponentGroupId>>,
    pub position: Option<i64>,
    /// Sets the status by hand; while incidents hold another status, the hand-set one wins
    /// until an incident update names this component again.
    pub status: Option<ComponentStatus>,
    pub showcase: Option<bool>,
    pub only_show_if_degraded: Option<bool>,
    #[serde(default, deserialize_with = "double_option")]
    pub start_date: Option<Option<String>>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// RFC 3339 time; default 90 days ago.
    pub since: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/components", tag = "components", params(ListQuery),
    responses((status = 200, description = "Components in display order", body = Paged<Component>)))]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> ApiResult<Json<Paged<Component>>> {
    Ok(Json(
        state.store.list_components(query.page()?).await?.into(),
    ))
}

#[utoipa::path(post, path = "/api/v1/components", tag = "components", request_body = CreateComponent,
    responses((status = 201, description = "Created", body = Component)))]
pub async fn create(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    ApiJson(input): ApiJson<CreateComponent>,
) -> ApiResult<(StatusCode, Json<Component>)> {
    let input = NewComponent {
        name: valid_name("name", input.name)?,
        description: valid_description(input.description)?,
        group_id: input.group_id,
        position: valid_position(input.position)?,
        status: input.status,
        showcase: input.showcase,
        only_show_if_degraded: input.only_show_if_degraded,
        start_date: valid_date(input.start_date)?,
    };
    let component = state.store.create_component(input, &who.actor()).await?;
    Ok((StatusCode::CREATED, Json(component)))
}

#[utoipa::path(get, path = "/api/v1/components/{id}", tag = "components",
    params(("id" = String, Path, description = "Component id")),
    responses((status = 200, description = "The component", body = Component)))]
pub async fn get(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<ComponentId>,
) -> ApiResult<Json<Component>> {
    Ok(Json(state.store.get_component(id).await?))
}

#[utoipa::path(patch, path = "/api/v1/components/{id}", tag = "components", request_body = UpdateComponent,
    params(("id" = String, Path, description = "Component id")),
    responses((status = 200, description = "Updated", body = Component)))]
pub async fn update(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    ApiPath(id): ApiPath<ComponentId>,
    ApiJson(input): ApiJson<UpdateComponent>,
) -> ApiResult<Json<Component>> {
    let patch = ComponentPatch {
        name: input.name.map(|n| valid_name("name", n)).transpose()?,
        description: input.description.map(valid_description).transpose()?,
        group_id: input.group_id,
        position: valid_position(input.position)?,
        status: input.status,
        showcase: input.showcase,
        only_show_if_degraded: input.only_show_if_degraded,
        start_date: input.start_date.map(valid_date).transpose()?,
    };
    Ok(Json(
        state
            .store
            .update_component(id, patch, &who.actor())
            .await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/components/{id}", tag = "components",
    params(("id" = String, Path, description = "Component id")),
    responses((status = 204, description = "Deleted")))]
pub async fn delete(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    ApiPath(id): ApiPath<ComponentId>,
) -> ApiResult<StatusCode> {
    state.store.delete_component(id, &who.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/components/{id}/history", tag = "components",
    params(("id" = String, Path, description = "Component id"), HistoryQuery),
    responses((status = 200, description = "Status changes, oldest first", body = Vec<ComponentStatusChange>)))]
pub async fn history(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<ComponentId>,
    ApiQuery(query): ApiQuery<HistoryQuery>,
) -> ApiResult<Json<Vec<ComponentStatusChange>>> {
    let since = match query.since {
        Some(text) => Timestamp::parse(&text).ok_or_else(|| {
            ApiError::bad_request(
                "invalid_query",
                format!("`since` must be an RFC 3339 time, not `{text}`"),
            )
        })?,
        None => Timestamp::from_datetime(state.clock.now().0 - chrono::Duration::days(90)),
    };
    Ok(Json(state.store.component_status_history(id, since).await?))
}
