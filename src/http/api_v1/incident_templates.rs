//! `/api/v1/incident-templates`: the templates the web UI's "open an incident" form starts
//! from (name, the incident's title, impact, status, first message, components). The web UI
//! (`http/admin/pages/incident_templates.rs`) validates with [`template_input`] too.

use super::*;
use crate::domain::ids::IncidentTemplateId;
use crate::domain::{IncidentImpact, IncidentStatus};
use crate::http::auth::Principal;
use crate::http::extract::{ApiJson, ApiPath};
use crate::http::AppState;
use crate::store::{IncidentTemplate, IncidentTemplateInput, TemplateComponent};
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTemplate {
    /// What the template is called in lists (unique).
    pub name: String,
    /// The incident name it proposes.
    pub title: String,
    /// Derived from the component statuses when absent, as for an incident.
    pub impact: Option<IncidentImpact>,
    /// `investigating` (default), `identified` or `monitoring`.
    pub status: Option<IncidentStatus>,
    /// The first update's Markdown.
    pub body: String,
    /// Statuses the incident would set: `{"<component id>": "major_outage"}`.
    pub components: Option<BTreeMap<String, ComponentStatus>>,
    /// Components affected without changing their status.
    #[schema(value_type = Option<Vec<String>>)]
    pub component_ids: Option<Vec<ComponentId>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTemplate {
    pub name: Option<String>,
    pub title: Option<String>,
    /// null: derived from the component statuses.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<IncidentImpact>)]
    pub impact: Option<Option<IncidentImpact>>,
    pub status: Option<IncidentStatus>,
    pub body: Option<String>,
    /// With `component_ids`, replaces the template's components.
    pub components: Option<BTreeMap<String, ComponentStatus>>,
    #[schema(value_type = Option<Vec<String>>)]
    pub component_ids: Option<Vec<ComponentId>>,
}

/// A template's fields, checked by the rules of incidents (`valid_name`, `valid_body`,
/// `component_changes`) plus one of its own: a template opens an incident, so its status is
/// not a closing one.
pub fn template_input(
    name: String,
    title: String,
    impact: Option<IncidentImpact>,
    status: IncidentStatus,
    body: String,
    components: Vec<TemplateComponent>,
) -> ApiResult<IncidentTemplateInput> {
    if status.is_closed() {
        return Err(ApiError::validation(
            "`status` must be investigating, identified or monitoring",
        ));
    }
    Ok(IncidentTemplateInput {
        name: valid_name("name", name)?,
        title: valid_name("title", title)?,
        impact,
        status,
        body: valid_body("body", body)?,
        components,
    })
}

fn template_components(
    components: Option<BTreeMap<String, ComponentStatus>>,
    component_ids: Option<Vec<ComponentId>>,
) -> ApiResult<Vec<TemplateComponent>> {
    Ok(component_changes(components, component_ids)?
        .into_iter()
        .map(|c| TemplateComponent {
            component_id: c.component_id,
            status: c.status,
        })
        .collect())
}

#[utoipa::path(get, path = "/api/v1/incident-templates", tag = "incident-templates",
    responses((status = 200, description = "Every incident template, by name", body = Vec<IncidentTemplate>)))]
pub async fn list(State(state): State<AppState>) -> ApiResult<Json<Vec<IncidentTemplate>>> {
    Ok(Json(state.store.list_incident_templates().await?))
}

#[utoipa::path(post, path = "/api/v1/incident-templates", tag = "incident-templates", request_body = CreateTemplate,
    responses((status = 201, description = "Created", body = IncidentTemplate),
              (status = 409, description = "A template has that name (`template_name_taken`)")))]
pub async fn create(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    ApiJson(input): ApiJson<CreateTemplate>,
) -> ApiResult<(StatusCode, Json<IncidentTemplate>)> {
    let input = template_input(
        input.name,
        input.title,
        input.impact,
        input.status.unwrap_or(IncidentStatus::Investigating),
        input.body,
        template_components(input.components, input.component_ids)?,
    )?;
    let template = state
        .store
        .create_incident_template(input, &who.actor())
        .await?;
    Ok((StatusCode::CREATED, Json(template)))
}

#[utoipa::path(get, path = "/api/v1/incident-templates/{id}", tag = "incident-templates",
    params(("id" = String, Path, description = "Template id")),
    responses((status = 200, description = "The template", body = IncidentTemplate)))]
pub async fn get(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<IncidentTemplateId>,
) -> ApiResult<Json<IncidentTemplate>> {
    Ok(Json(state.store.get_incident_template(id).await?))
}

#[utoipa::path(patch, path = "/api/v1/incident-templates/{id}", tag = "incident-templates", request_body = UpdateTemplate,
    params(("id" = String, Path, description = "Template id")),
    responses((status = 200, description = "Updated", body = IncidentTemplate)))]
pub async fn update(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    ApiPath(id): ApiPath<IncidentTemplateId>,
    ApiJson(patch): ApiJson<UpdateTemplate>,
) -> ApiResult<Json<IncidentTemplate>> {
    let current = state.store.get_incident_template(id).await?;
    let components = if patch.components.is_some() || patch.component_ids.is_some() {
        template_components(patch.components, patch.component_ids)?
    } else {
        current.components
    };
    let input = template_input(
        patch.name.unwrap_or(current.name),
        patch.title.unwrap_or(current.title),
        patch.impact.unwrap_or(current.impact),
        patch.status.unwrap_or(current.status),
        patch.body.unwrap_or(current.body),
        components,
    )?;
    Ok(Json(
        state
            .store
            .update_incident_template(id, input, &who.actor())
            .await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/incident-templates/{id}", tag = "incident-templates",
    params(("id" = String, Path, description = "Template id")),
    responses((status = 204, description = "Deleted")))]
pub async fn delete(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    ApiPath(id): ApiPath<IncidentTemplateId>,
) -> ApiResult<StatusCode> {
    state
        .store
        .delete_incident_template(id, &who.actor())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
