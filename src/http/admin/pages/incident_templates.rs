//! Incident templates (`/admin/incident-templates`): the list, creating, editing and deleting
//! one. A template prefills the "open an incident" form (`/admin/incidents/new?template=ID`).
//! Validation is the API's (`api_v1::incident_templates::template_input`); responders manage
//! templates, viewers only see them.

use super::incidents::{
    component_status_label, invalid, options, pick_groups, refusal, Fields, Opt, PickGroup, IMPACTS,
};
use super::{html, Chrome, Flash};
use crate::domain::{ComponentId, ComponentStatus, IncidentImpact, IncidentStatus};
use crate::http::admin::pages::parse_id;
use crate::http::admin::session::{see_other, CsrfForm, CurrentUser};
use crate::http::admin::AdminError;
use crate::http::api_v1::incident_templates::template_input;
use crate::http::AppState;
use crate::store::{IncidentTemplate, TemplateComponent};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use std::collections::BTreeMap;

const OPEN_STATUSES: &[(&str, &str)] = &[
    ("investigating", "Investigating"),
    ("identified", "Identified"),
    ("monitoring", "Monitoring"),
];

struct Row {
    id: String,
    name: String,
    title: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "admin/incident_templates/list.html")]
struct ListPage {
    chrome: Chrome,
    can_respond: bool,
    templates: Vec<Row>,
}

#[utoipa::path(get, path = "/admin/incident-templates", tag = "admin", security(()),
    responses((status = 200, description = "Incident templates", content_type = "text/html"),
              (status = 303, description = "Not signed in: to the sign-in form")))]
pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: Flash,
) -> Result<Response, AdminError> {
    let snapshot = state.snapshot.load();
    let names: BTreeMap<ComponentId, &str> = snapshot
        .state
        .components
        .iter()
        .map(|c| (c.id, c.name.as_str()))
        .collect();
    let templates = state
        .store
        .list_incident_templates()
        .await?
        .into_iter()
        .map(|t| {
            let components: Vec<String> = t
                .components
                .iter()
                .filter_map(|c| {
                    let name = names.get(&c.component_id)?;
                    Some(match c.status {
                        Some(s) => format!("{name}: {}", component_status_label(s)),
                        None => name.to_string(),
                    })
                })
                .collect();
            Row {
                id: t.id.to_string(),
                detail: format!(
                    "{} · impact {} · {}",
                    t.status.as_str(),
                    t.impact
                        .map(|i| i.as_str())
                        .unwrap_or("from the components"),
                    if components.is_empty() {
                        "no components".to_string()
                    } else {
                        components.join(", ")
                    }
                ),
                name: t.name,
                title: t.title,
            }
        })
        .collect();
    Ok(html(
        StatusCode::OK,
        &ListPage {
            chrome: Chrome::new(&state, &user, "Incident templates", "incidents", flash),
            can_respond: user.user.role.can_respond(),
            templates,
        },
    ))
}

#[derive(Template)]
#[template(path = "admin/incident_templates/form.html")]
struct FormPage {
    chrome: Chrome,
    /// None for a new template.
    id: Option<String>,
    error: Option<String>,
    name: String,
    title: String,
    body: String,
    impacts: Vec<Opt>,
    statuses: Vec<Opt>,
    groups: Vec<PickGroup>,
}

struct Values {
    name: String,
    title: String,
    impact: String,
    status: String,
    body: String,
    components: BTreeMap<String, String>,
}

impl Values {
    fn of(t: &IncidentTemplate) -> Values {
        Values {
            name: t.name.clone(),
            title: t.title.clone(),
            impact: t.impact.map(|i| i.as_str().to_string()).unwrap_or_default(),
            status: t.status.as_str().to_string(),
            body: t.body.clone(),
            components: t
                .components
                .iter()
                .map(|c| {
                    (
                        c.component_id.to_string(),
                        c.status.map(|s| s.as_str().to_string()).unwrap_or_default(),
                    )
                })
                .collect(),
        }
    }

    fn from_form(fields: &Fields) -> Values {
        let statuses = fields.component_statuses();
        Values {
            name: fields.get("name").to_string(),
            title: fields.get("title").to_string(),
            impact: fields.get("impact").to_string(),
            status: fields.get("status").to_string(),
            body: fields.get("body").to_string(),
            components: fields
                .all("component")
                .into_iter()
                .map(|id| {
                    (
                        id.to_string(),
                        statuses.get(id).cloned().unwrap_or_default(),
                    )
                })
                .collect(),
        }
    }

    fn parse(&self) -> Result<crate::store::IncidentTemplateInput, String> {
        let impact = match self.impact.as_str() {
            "" => None,
            s => Some(
                s.parse::<IncidentImpact>()
                    .map_err(|_| "impact: choose none, minor, major or critical")?,
            ),
        };
        let status: IncidentStatus = self
            .status
            .parse()
            .map_err(|_| "status: choose investigating, identified or monitoring")?;
        let mut components = Vec::new();
        for (id, status) in &self.components {
            let component_id: ComponentId = id
                .parse()
                .map_err(|_| format!("components: {id} is not a component id"))?;
            let status = match status.as_str() {
                "" => None,
                s => Some(
                    s.parse::<ComponentStatus>()
                        .map_err(|_| format!("components: {s} is not a component status"))?,
                ),
            };
            components.push(TemplateComponent {
                component_id,
                status,
            });
        }
        template_input(
            self.name.clone(),
            self.title.clone(),
            impact,
            status,
            self.body.clone(),
            components,
        )
        .map_err(invalid)
    }
}

fn form_page(
    state: &AppState,
    user: &CurrentUser,
    id: Option<String>,
    values: Values,
    error: Option<(StatusCode, String)>,
) -> Response {
    let snapshot = state.snapshot.load();
    let (status, error) = match error {
        Some((s, e)) => (s, Some(e)),
        None => (StatusCode::OK, None),
    };
    let title = if id.is_some() {
        "Edit an incident template"
    } else {
        "New incident template"
    };
    html(
        status,
        &FormPage {
            chrome: Chrome::new(state, user, title, "incidents", Flash::default()),
            id,
            error,
            impacts: options(IMPACTS, &values.impact),
            statuses: options(OPEN_STATUSES, &values.status),
            groups: pick_groups(&snapshot.state, &values.components, "major_outage", |_| {
                true
            }),
            name: values.name,
            title: values.title,
            body: values.body,
        },
    )
}

#[utoipa::path(get, path = "/admin/incident-templates/new", tag = "admin", security(()),
    responses((status = 200, description = "The form for a new template", content_type = "text/html"),
              (status = 403, description = "A viewer", content_type = "text/html")))]
pub async fn new_form(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, AdminError> {
    user.require_responder()?;
    let values = Values {
        name: String::new(),
        title: String::new(),
        impact: String::new(),
        status: "investigating".into(),
        body: String::new(),
        components: BTreeMap::new(),
    };
    Ok(form_page(&state, &user, None, values, None))
}

#[utoipa::path(post, path = "/admin/incident-templates", tag = "admin", security(()),
    responses((status = 303, description = "Created: to the list"),
              (status = 403, description = "A viewer, or the form's security token is wrong", content_type = "text/html"),
              (status = 409, description = "A template has that name", content_type = "text/html"),
              (status = 422, description = "A field is not valid: the form again, as typed", content_type = "text/html")))]
pub async fn create(
    State(state): State<AppState>,
    CsrfForm(user, form): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AdminError> {
    user.require_responder()?;
    let values = Values::from_form(&Fields(form));
    let result = match values.parse() {
        Ok(input) => state
            .store
            .create_incident_template(input, &user.actor())
            .await
            .map_err(refusal),
        Err(message) => Err(Ok((StatusCode::UNPROCESSABLE_ENTITY, message))),
    };
    match result {
        Ok(_) => Ok(see_other("/admin/incident-templates?done=template_saved")),
        Err(refused) => Ok(form_page(&state, &user, None, values, Some(refused?))),
    }
}

#[utoipa::path(get, path = "/admin/incident-templates/{id}", tag = "admin", security(()),
    params(("id" = String, Path, description = "Template id")),
    responses((status = 200, description = "The template's form", content_type = "text/html"),
              (status = 403, description = "A viewer", content_type = "text/html"),
              (status = 404, description = "No such template", content_type = "text/html")))]
pub async fn edit_form(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Response, AdminError> {
    user.require_responder()?;
    let template = state
        .store
        .get_incident_template(parse_id("incident template", &id)?)
        .await?;
    Ok(form_page(
        &state,
        &user,
        Some(template.id.to_string()),
        Values::of(&template),
        None,
    ))
}

#[utoipa::path(post, path = "/admin/incident-templates/{id}", tag = "admin", security(()),
    params(("id" = String, Path, description = "Template id")),
    responses((status = 303, description = "Saved: to the list"),
              (status = 403, description = "A viewer, or the form's security token is wrong", content_type = "text/html"),
              (status = 422, description = "A field is not valid: the form again, as typed", content_type = "text/html")))]
pub async fn save(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(user, form): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AdminError> {
    user.require_responder()?;
    let id = parse_id("incident template", &id)?;
    let values = Values::from_form(&Fields(form));
    let result = match values.parse() {
        Ok(input) => state
            .store
            .update_incident_template(id, input, &user.actor())
            .await
            .map_err(refusal),
        Err(message) => Err(Ok((StatusCode::UNPROCESSABLE_ENTITY, message))),
    };
    match result {
        Ok(_) => Ok(see_other("/admin/incident-templates?done=template_saved")),
        Err(refused) => Ok(form_page(
            &state,
            &user,
            Some(id.to_string()),
            values,
            Some(refused?),
        )),
    }
}

#[utoipa::path(post, path = "/admin/incident-templates/{id}/delete", tag = "admin", security(()),
    params(("id" = String, Path, description = "Template id")),
    responses((status = 303, description = "Deleted: to the list"),
              (status = 403, description = "A viewer, or the form's security token is wrong", content_type = "text/html")))]
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(user, _form): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AdminError> {
    user.require_responder()?;
    state
        .store
        .delete_incident_template(parse_id("incident template", &id)?, &user.actor())
        .await?;
    Ok(see_other("/admin/incident-templates?done=template_deleted"))
}
