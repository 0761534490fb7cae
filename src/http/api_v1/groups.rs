//! `/api/v1/component-groups`: ordered groups of components.

use super::*;
use crate::domain::model::ComponentGroup;
use crate::domain::ComponentGroupId;
use crate::http::auth::Principal;
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::http::AppState;
use crate::store::{GroupPatch, NewGroup};
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateGroup {
    pub name: String,
    pub description: Option<String>,
    /// Appended after the last group when absent.
    pub position: Option<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateGroup {
    pub name: Option<String>,
    /// Null clears it.
    #[serde(default, deserialize_with = "double_option")]
    pub description: Option<Option<String>>,
    pub position: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/component-groups", tag = "component-groups", params(ListQuery),
    responses((status = 200, description = "Groups in display order", body = Paged<ComponentGroup>)))]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> ApiResult<Json<Paged<ComponentGroup>>> {
    Ok(Json(state.store.list_groups(query.page()?).await?.into()))
}

#[utoipa::path(post, path = "/api/v1/component-groups", tag = "component-groups", request_body = CreateGroup,
    responses((status = 201, description = "Created", body = ComponentGroup)))]
pub async fn create(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    ApiJson(input): ApiJson<CreateGroup>,
) -> ApiResult<(StatusCode, Json<ComponentGroup>)> {
    let input = NewGroup {
        name: valid_name("name", input.name)?,
        description: valid_description(input.description)?,
        position: valid_position(input.position)?,
    };
    let group = state.store.create_group(input, &who.actor()).await?;
    Ok((StatusCode::CREATED, Json(group)))
}

#[utoipa::path(get, path = "/api/v1/component-groups/{id}", tag = "component-groups",
    params(("id" = String, Path, description = "Group id")),
    responses((status = 200, description = "The group", body = ComponentGroup)))]
pub async fn get(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<ComponentGroupId>,
) -> ApiResult<Json<ComponentGroup>> {
    Ok(Json(state.store.get_group(id).await?))
}

#[utoipa::path(patch, path = "/api/v1/component-groups/{id}", tag = "component-groups", request_body = UpdateGroup,
    params(("id" = String, Path, description = "Group id")),
    responses((status = 200, description = "Updated", body = ComponentGroup)))]
pub async fn update(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    ApiPath(id): ApiPath<ComponentGroupId>,
    ApiJson(input): ApiJson<UpdateGroup>,
) -> ApiResult<Json<ComponentGroup>> {
    let patch = GroupPatch {
        name: input.name.map(|n| valid_name("name", n)).transpose()?,
        description: input.description.map(valid_description).transpose()?,
        position: valid_position(input.position)?,
    };
    Ok(Json(
        state.store.update_group(id, patch, &who.actor()).await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/component-groups/{id}", tag = "component-groups",
    params(("id" = String, Path, description = "Group id")),
    responses((status = 204, description = "Deleted; its components are now ungrouped")))]
pub async fn delete(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    ApiPath(id): ApiPath<ComponentGroupId>,
) -> ApiResult<StatusCode> {
    state.store.delete_group(id, &who.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}
