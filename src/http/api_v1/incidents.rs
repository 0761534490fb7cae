//! `/api/v1/incidents`: open, update, resolve, postmortem, delete.

use super::*;
use crate::domain::model::{Incident, IncidentSource};
use crate::domain::{
    IncidentId, IncidentImpact, IncidentStatus, IncidentUpdateId, SourceKind, Timestamp,
};
use crate::http::auth::Principal;
use crate::http::extract::{ApiJson, ApiPath, ApiQuery, OptionalJson};
use crate::http::AppState;
use crate::store::{
    IncidentFilter, IncidentPatch, NewIncident, NewIncidentUpdate, PostmortemInput,
};
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateIncident {
    pub name: String,
    /// Defaults to `investigating`.
    pub status: Option<IncidentStatus>,
    /// Derived from the worst component status set when absent
    /// (major_outage: critical, partial_outage: major, degraded_performance: minor).
    pub impact: Option<IncidentImpact>,
    /// The first update's text (Markdown).
    pub body: String,
    /// Statuses this incident sets on components: `{"<component id>": "major_outage"}`.
    pub components: Option<BTreeMap<String, ComponentStatus>>,
    /// Components affected without changing their status.
    #[schema(value_type = Option<Vec<String>>)]
    pub component_ids: Option<Vec<ComponentId>>,
    /// When the problem began, if before now (RFC 3339).
    pub started_at: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUpdate {
    /// Unchanged when absent. `resolved` resolves the incident.
    pub status: Option<IncidentStatus>,
    pub body: String,
    pub components: Option<BTreeMap<String, ComponentStatus>>,
    #[schema(value_type = Option<Vec<String>>)]
    pub component_ids: Option<Vec<ComponentId>>,
    pub impact: Option<IncidentImpact>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditUpdate {
    /// The corrected text; the previous one is kept in the edit history.
    pub body: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateIncident {
    pub name: Option<String>,
    pub impact: Option<IncidentImpact>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveIncident {
    /// The final update's text; a standard sentence when absent.
    pub body: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutPostmortem {
    pub body: String,
    /// Publish now (default) or save a draft. Publishing needs a resolved incident.
    pub publish: Option<bool>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct IncidentListQuery {
    pub limit: Option<u32>,
    pub cursor: Option<String>,
    /// `open` or `resolved`; all when absent.
    pub state: Option<String>,
}

#[derive(Deserialize)]
pub struct UpdatePath {
    pub id: IncidentId,
    pub update_id: IncidentUpdateId,
}

#[utoipa::path(get, path = "/api/v1/incidents", tag = "incidents", params(IncidentListQuery),
    responses((status = 200, description = "Incidents, newest first", body = Paged<Incident>)))]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<IncidentListQuery>,
) -> ApiResult<Json<Paged<Incident>>> {
    let open = match query.state.as_deref() {
        None => None,
        Some("open") => Some(true),
        Some("resolved") => Some(false),
        Some(other) => {
            return Err(ApiError::bad_request(
                "invalid_query",
                format!("`state` must be `open` or `resolved`, not `{other}`"),
            ))
        }
    };
    let page = ListQuery {
        limit: query.limit,
        cursor: query.cursor,
    }
    .page()?;
    Ok(Json(
        state
            .store
            .list_incidents(IncidentFilter { open }, page)
            .await?
            .into(),
    ))
}

#[utoipa::path(post, path = "/api/v1/incidents", tag = "incidents", request_body = CreateIncident,
    responses((status = 201, description = "Opened, with its first update", body = Incident)))]
pub async fn create(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    ApiJson(input): ApiJson<CreateIncident>,
) -> ApiResult<(StatusCode, Json<Incident>)> {
    let started_at = match input.started_at {
        Some(text) => {
            let t = Timestamp::parse(&text).ok_or_else(|| {
                ApiError::validation(format!(
                    "`started_at` must be an RFC 3339 time, not `{text}`"
                ))
            })?;
            if t > state.clock.now() {
                return Err(ApiError::validation(
                    "`started_at` must not be in the future",
                ));
            }
            Some(t)
        }
        None => None,
    };
    let input = NewIncident {
        name: valid_name("name", input.name)?,
        status: input.status.unwrap_or(IncidentStatus::Investigating),
        impact: input.impact,
        body: valid_body("body", input.body)?,
        components: component_changes(input.components, input.component_ids)?,
        source: IncidentSource {
            kind: SourceKind::Manual,
            reference: None,
        },
        started_at,
    };
    let incident = state.store.create_incident(input, &who.actor()).await?;
    Ok((StatusCode::CREATED, Json(incident)))
}

#[utoipa::path(get, path = "/api/v1/incidents/{id}", tag = "incidents",
    params(("id" = String, Path, description = "Incident id")),
    responses((status = 200, description = "The incident with its timeline", body = Incident)))]
pub async fn get(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<IncidentId>,
) -> ApiResult<Json<Incident>> {
    Ok(Json(state.store.get_incident(id).await?))
}

#[utoipa::path(patch, path = "/api/v1/incidents/{id}", tag = "incidents", request_body = UpdateIncident,
    params(("id" = String, Path, description = "Incident id")),
    responses((status = 200, description = "Updated", body = Incident)))]
pub async fn update(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    ApiPath(id): ApiPath<IncidentId>,
    ApiJson(input): ApiJson<UpdateIncident>,
) -> ApiResult<Json<Incident>> {
    let patch = IncidentPatch {
        name: input.name.map(|n| valid_name("name", n)).transpose()?,
        impact: input.impact,
    };
    Ok(Json(
        state.store.update_incident(id, patch, &who.actor()).await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/incidents/{id}", tag = "incidents",
    params(("id" = String, Path, description = "Incident id")),
    responses((status = 204, description = "Deleted; the statuses it held are released")))]
pub async fn delete(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    ApiPath(id): ApiPath<IncidentId>,
) -> ApiResult<StatusCode> {
    state.store.delete_incident(id, &who.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/updates", tag = "incidents", request_body = CreateUpdate,
    params(("id" = String, Path, description = "Incident id")),
    responses((status = 201, description = "Posted; the incident as it is now", body = Incident)))]
pub async fn post_update(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    ApiPath(id): ApiPath<IncidentId>,
    ApiJson(input): ApiJson<CreateUpdate>,
) -> ApiResult<(StatusCode, Json<Incident>)> {
    let input = NewIncidentUpdate {
        status: input.status,
        body: valid_body("body", input.body)?,
        components: component_changes(input.components, input.component_ids)?,
        impact: input.impact,
    };
    let incident = state
        .store
        .post_incident_update(id, input, &who.actor())
        .await?;
    Ok((StatusCode::CREATED, Json(incident)))
}

#[utoipa::path(patch, path = "/api/v1/incidents/{id}/updates/{update_id}", tag = "incidents", request_body = EditUpdate,
    params(("id" = String, Path, description = "Incident id"), ("update_id" = String, Path, description = "Update id")),
    responses((status = 200, description = "Edited; the previous text is kept", body = Incident)))]
pub async fn edit_update(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    ApiPath(path): ApiPath<UpdatePath>,
    ApiJson(input): ApiJson<EditUpdate>,
) -> ApiResult<Json<Incident>> {
    let body = valid_body("body", input.body)?;
    Ok(Json(
        state
            .store
            .edit_incident_update(path.id, path.update_id, body, &who.actor())
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/resolve", tag = "incidents", request_body(content = Option<ResolveIncident>, description = "Optional"),
    params(("id" = String, Path, description = "Incident id")),
    responses((status = 200, description = "Resolved", body = Incident)))]
pub async fn resolve(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    ApiPath(id): ApiPath<IncidentId>,
    OptionalJson(input): OptionalJson<ResolveIncident>,
) -> ApiResult<Json<Incident>> {
    let body = input
        .and_then(|i| i.body)
        .map(|b| valid_body("body", b))
        .transpose()?;
    Ok(Json(
        state.store.resolve_incident(id, body, &who.actor()).await?,
    ))
}

#[utoipa::path(put, path = "/api/v1/incidents/{id}/postmortem", tag = "incidents", request_body = PutPostmortem,
    params(("id" = String, Path, description = "Incident id")),
    responses((status = 200, description = "Saved or published", body = Incident)))]
pub async fn put_postmortem(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    ApiPath(id): ApiPath<IncidentId>,
    ApiJson(input): ApiJson<PutPostmortem>,
) -> ApiResult<Json<Incident>> {
    let input = PostmortemInput {
        body: valid_body("body", input.body)?,
        publish: input.publish.unwrap_or(true),
    };
    Ok(Json(
        state.store.set_postmortem(id, input, &who.actor()).await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/incidents/{id}/updates/{update_id}", tag = "incidents",
    params(("id" = String, Path, description = "Incident id"), ("update_id" = String, Path, description = "Update id")),
    responses((status = 200, description = "Deleted; the incident as it is now (its status and component statuses are unchanged)", body = Incident),
              (status = 409, description = "The incident's only update (`only_update`)")))]
pub async fn delete_update(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    ApiPath(path): ApiPath<UpdatePath>,
) -> ApiResult<Json<Incident>> {
    Ok(Json(
        state
            .store
            .delete_incident_update(path.id, path.update_id, &who.actor())
            .await?,
    ))
}
