//! The responder's incident screens: the list (open first, then resolved, paged), opening
//! one in one screen (optionally from an incident template), and the incident's page, where an
//! update is two taps from a phone (a status tile, "Post update"), with a Markdown preview,
//! resolving, name and impact, editing or deleting an update, the postmortem (draft, publish)
//! and, for admins, deleting the incident behind a confirmation step.
//!
//! Every change validates with the API's own rules (`api_v1::valid_name`, `valid_body`,
//! `component_changes`) and is one store call with the user's actor. A form that does not
//! validate comes back as a 422 page that keeps what was typed and says what is wrong.
//! Markdown is rendered only by [`crate::markdown::to_html`], the public page's sanitiser; the
//! preview works without JavaScript (a "Preview" submit button re-renders the form) and, with
//! `assets/admin-incidents.js`, live through `POST /admin/preview`.

use super::{html, when, Chrome, Flash};
use crate::domain::ids::IncidentTemplateId;
use crate::domain::model::Incident;
use crate::domain::{
    ComponentId, ComponentStatus, IncidentId, IncidentImpact, IncidentStatus, SourceKind,
};
use crate::http::admin::pages::parse_id;
use crate::http::admin::session::{see_other, CsrfForm, CurrentUser};
use crate::http::admin::AdminError;
use crate::http::api_v1::{component_changes, valid_body, valid_name};
use crate::http::error::ApiError;
use crate::http::public::html::human_duration;
use crate::http::public::Cors;
use crate::http::AppState;
use crate::snapshot::{PublicState, Rendered};
use crate::store::{
    ComponentChange, IncidentFilter, IncidentPatch, NewIncident, NewIncidentUpdate, PageRequest,
    PostmortemInput, StoreError,
};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::LazyLock;

/// Resolved incidents per page of the list.
const RESOLVED_PER_PAGE: u32 = 25;
/// Open incidents shown at the top of the list (more would be a page nobody can act on).
const OPEN_SHOWN: u32 = 200;

// ---- shared display values -------------------------------------------------------------

/// HTML from [`crate::markdown::to_html`], the only value these templates insert unescaped
/// (always in a field named `*_html`).
pub struct Sanitized(String);

impl Sanitized {
    pub fn from_markdown(markdown: &str) -> Sanitized {
        Sanitized(crate::markdown::to_html(markdown))
    }
}

impl fmt::Display for Sanitized {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// (value, label) of the incident statuses an update may set, with the message used when
/// the responder leaves the text empty.
pub const UPDATE_STATUSES: &[(&str, &str, &str)] = &[
    (
        "investigating",
        "Investigating",
        "We are investigating this issue.",
    ),
    (
        "identified",
        "Identified",
        "The cause has been identified and a fix is being worked on.",
    ),
    (
        "monitoring",
        "Monitoring",
        "A fix has been implemented and we are monitoring the results.",
    ),
    ("resolved", "Resolved", "This incident has been resolved."),
];

/// (value, label) of the statuses an incident may be opened with.
const UPDATE_STATUSES_OPEN: [(&str, &str); 3] = [
    ("investigating", "Investigating"),
    ("identified", "Identified"),
    ("monitoring", "Monitoring"),
];

/// (value, label) of impacts; "" lets the store derive it from the component statuses.
pub const IMPACTS: &[(&str, &str)] = &[
    ("none", "None"),
    ("minor", "Minor"),
    ("major", "Major"),
    ("critical", "Critical"),
];

/// (value, label) of component statuses.
pub const COMPONENT_STATUSES: &[(&str, &str)] = &[
    ("major_outage", "Major outage"),
    ("partial_outage", "Partial outage"),
    ("degraded_performance", "Degraded performance"),
    ("under_maintenance", "Under maintenance"),
    ("operational", "Operational"),
];

pub fn status_label(status: IncidentStatus) -> &'static str {
    match status {
        IncidentStatus::Investigating => "Investigating",
        IncidentStatus::Identified => "Identified",
        IncidentStatus::Monitoring => "Monitoring",
        IncidentStatus::Resolved => "Resolved",
        IncidentStatus::Postmortem => "Postmortem",
    }
}

pub fn impact_label(impact: IncidentImpact) -> &'static str {
    match impact {
        IncidentImpact::None => "No impact",
        IncidentImpact::Minor => "Minor",
        IncidentImpact::Major => "Major",
        IncidentImpact::Critical => "Critical",
    }
}

pub fn component_status_label(status: ComponentStatus) -> &'static str {
    COMPONENT_STATUSES
        .iter()
        .find(|(v, _)| *v == status.as_str())
        .map(|(_, l)| *l)
        .unwrap_or("Unknown")
}

fn default_message(status: &str) -> &'static str {
    UPDATE_STATUSES
        .iter()
        .find(|(v, _, _)| *v == status)
        .map(|(_, _, m)| *m)
        .unwrap_or("We are investigating this issue.")
}

/// A form's fields as posted: repeated keys (`component`) are kept in order.
pub struct Fields(pub Vec<(String, String)>);

impl Fields {
    pub fn get(&self, key: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }
    /// `status.<component id>` fields: the status each component is to get ("" for none).
    pub fn component_statuses(&self) -> BTreeMap<String, String> {
        self.0
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix("status.")?.to_string(), v.clone())))
            .collect()
    }
}

/// A validation failure: the API's message, for the form's error line.
pub fn invalid(err: ApiError) -> String {
    err.message.replace('`', "")
}

/// Store refusals the responder can fix on the form (a 422 or 409 page that keeps the
/// input); anything else is an error page.
pub fn refusal(err: StoreError) -> Result<(StatusCode, String), AdminError> {
    match err {
        StoreError::Invalid { message } => {
            Ok((StatusCode::UNPROCESSABLE_ENTITY, message.replace('`', "")))
        }
        StoreError::Conflict { message, .. } => {
            Ok((StatusCode::CONFLICT, message.replace('`', "")))
        }
        other => Err(other.into()),
    }
}

/// One option of a select.
pub struct Opt {
    pub value: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

pub fn options(list: &[(&'static str, &'static str)], selected: &str) -> Vec<Opt> {
    list.iter()
        .map(|(value, label)| Opt {
            value,
            label,
            selected: *value == selected,
        })
        .collect()
}

/// A status tile of the update form, with the message used when the text is left empty.
pub struct StatusOpt {
    pub value: &'static str,
    pub label: &'static str,
    pub default: &'static str,
    pub selected: bool,
}

/// One component on a form: checked (affected) or not, and the status chosen for it.
pub struct Pick {
    pub id: String,
    pub name: String,
    /// "Operational", its status now.
    pub now: &'static str,
    pub checked: bool,
    /// The statuses it may be given, the chosen one selected (none: keep its status).
    pub options: Vec<Opt>,
}

/// The components of one group (or the ungrouped ones), in page order.
pub struct PickGroup {
    pub name: Option<String>,
    pub picks: Vec<Pick>,
}

/// Every component grouped as on the page; `chosen` maps ids to the status picked ("" for
/// affected, status unchanged); `default_status` is preselected for the others.
pub fn pick_groups(
    state: &PublicState,
    chosen: &BTreeMap<String, String>,
    default_status: &str,
    filter: impl Fn(ComponentId) -> bool,
) -> Vec<PickGroup> {
    let mut groups: Vec<PickGroup> = Vec::new();
    let mut index: BTreeMap<Option<String>, usize> = BTreeMap::new();
    for c in state.components.iter().filter(|c| filter(c.id)) {
        let key = c.group_id.map(|g| g.to_string());
        let at = *index.entry(key).or_insert_with(|| {
            groups.push(PickGroup {
                name: state.group_name(c).map(str::to_string),
                picks: Vec::new(),
            });
            groups.len() - 1
        });
        let id = c.id.to_string();
        let picked = chosen.get(&id);
        groups[at].picks.push(Pick {
            now: component_status_label(c.status),
            checked: picked.is_some(),
            options: options(
                COMPONENT_STATUSES,
                picked.map(String::as_str).unwrap_or(default_status),
            ),
            name: c.name.clone(),
            id,
        });
    }
    groups
}

fn components_field(
    fields: &Fields,
    checked: impl IntoIterator<Item = String>,
) -> Result<Vec<ComponentChange>, String> {
    let statuses = fields.component_statuses();
    let mut with_status = BTreeMap::new();
    let mut without = Vec::new();
    for id in checked {
        let parsed: ComponentId = id
            .parse()
            .map_err(|_| format!("components: {id} is not a component id"))?;
        match statuses.get(&id).map(String::as_str).unwrap_or("") {
            "" => without.push(parsed),
            s => {
                let status: ComponentStatus = s
                    .parse()
                    .map_err(|_| format!("components: {s} is not a component status"))?;
                with_status.insert(id.clone(), status);
            }
        }
    }
    component_changes(Some(with_status), Some(without)).map_err(invalid)
}

/// The admin page of an incident.
fn incident_href(id: IncidentId) -> String {
    format!("/admin/incidents/{id}")
}

fn component_names(state: &PublicState) -> BTreeMap<ComponentId, &str> {
    state
        .components
        .iter()
        .map(|c| (c.id, c.name.as_str()))
        .collect()
}

fn affected_names(names: &BTreeMap<ComponentId, &str>, incident: &Incident) -> String {
    let list: Vec<&str> = incident
        .components
        .iter()
        .map(|c| names.get(&c.component_id).copied().unwrap_or("(deleted)"))
        .collect();
    if list.is_empty() {
        "none".into()
    } else {
        list.join(", ")
    }
}

// ---- the list ----------------------------------------------------------------------------

struct Row {
    href: String,
    name: String,
    impact: &'static str,
    impact_class: &'static str,
    status: &'static str,
    affected: String,
    started: String,
    duration: String,
}

#[derive(Template)]
#[template(path = "admin/incidents/list.html")]
struct ListPage {
    chrome: Chrome,
    can_respond: bool,
    first_page: bool,
    open: Vec<Row>,
    resolved: Vec<Row>,
    next: Option<String>,
}

#[derive(Deserialize)]
pub struct ListParams {
    cursor: Option<String>,
}

fn row(names: &BTreeMap<ComponentId, &str>, i: &Incident, now: crate::domain::Timestamp) -> Row {
    let end = i.resolved_at.unwrap_or(now);
    Row {
        href: incident_href(i.id),
        name: i.name.clone(),
        impact: impact_label(i.impact),
        impact_class: i.impact.as_str(),
        status: status_label(i.status),
        affected: affected_names(names, i),
        started: when(&i.started_at),
        duration: human_duration(end.0 - i.started_at.0),
    }
}

#[utoipa::path(get, path = "/admin/incidents", tag = "admin", security(()),
    params(("cursor" = Option<String>, Query, description = "The next page of resolved incidents")),
    responses((status = 200, description = "Open incidents, then resolved ones (paged)", content_type = "text/html"),
              (status = 303, description = "Not signed in: to the sign-in form")))]
pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: Flash,
    Query(params): Query<ListParams>,
) -> Result<Response, AdminError> {
    let snapshot = state.snapshot.load();
    let names = component_names(&snapshot.state);
    let now = state.clock.now();
    let first_page = params.cursor.is_none();
    let open = if first_page {
        state
            .store
            .list_incidents(
                IncidentFilter { open: Some(true) },
                PageRequest::first(OPEN_SHOWN),
            )
            .await?
            .items
    } else {
        Vec::new()
    };
    let resolved = state
        .store
        .list_incidents(
            IncidentFilter { open: Some(false) },
            PageRequest {
                limit: RESOLVED_PER_PAGE,
                cursor: params.cursor,
            },
        )
        .await?;
    let next = resolved.next_cursor.map(|c| {
        let c: String = url::form_urlencoded::byte_serialize(c.as_bytes()).collect();
        format!("/admin/incidents?cursor={c}")
    });
    Ok(html(
        StatusCode::OK,
        &ListPage {
            chrome: Chrome::new(&state, &user, "Incidents", "incidents", flash),
            can_respond: user.user.role.can_respond(),
            first_page,
            open: open.iter().map(|i| row(&names, i, now)).collect(),
            resolved: resolved.items.iter().map(|i| row(&names, i, now)).collect(),
            next,
        },
    ))
}

// ---- opening one -----------------------------------------------------------------------

pub struct TemplateOpt {
    value: String,
    label: String,
    selected: bool,
}

#[derive(Template)]
#[template(path = "admin/incidents/new.html")]
struct NewPage {
    chrome: Chrome,
    error: Option<String>,
    templates: Vec<TemplateOpt>,
    template: String,
    name: String,
    impacts: Vec<Opt>,
    statuses: Vec<Opt>,
    body: String,
    groups: Vec<PickGroup>,
    preview_html: Option<Sanitized>,
    script: String,
}

/// What the form holds: typed, from a template, or empty.
struct NewValues {
    template: String,
    name: String,
    impact: String,
    status: String,
    body: String,
    /// Checked components and the status chosen for each ("" to keep).
    components: BTreeMap<String, String>,
}

async fn new_page(
    state: &AppState,
    user: &CurrentUser,
    values: NewValues,
    error: Option<(StatusCode, String)>,
    preview: bool,
) -> Result<Response, AdminError> {
    let snapshot = state.snapshot.load();
    let templates = state
        .store
        .list_incident_templates()
        .await?
        .into_iter()
        .map(|t| TemplateOpt {
            selected: t.id.to_string() == values.template,
            value: t.id.to_string(),
            label: t.name,
        })
        .collect();
    let (status, error) = match error {
        Some((s, e)) => (s, Some(e)),
        None => (StatusCode::OK, None),
    };
    let page = NewPage {
        chrome: Chrome::new(
            state,
            user,
            "Open an incident",
            "incidents",
            Flash::default(),
        ),
        error,
        templates,
        groups: pick_groups(&snapshot.state, &values.components, "major_outage", |_| {
            true
        }),
        preview_html: preview.then(|| Sanitized::from_markdown(&values.body)),
        impacts: options(IMPACTS, &values.impact),
        statuses: options(&UPDATE_STATUSES_OPEN, &values.status),
        template: values.template,
        name: values.name,
        body: values.body,
        script: script_url(),
    };
    Ok(html(status, &page))
}

#[derive(Deserialize)]
pub struct NewParams {
    template: Option<String>,
}

#[utoipa::path(get, path = "/admin/incidents/new", tag = "admin", security(()),
    params(("template" = Option<String>, Query, description = "An incident template's id: its fields prefill the form")),
    responses((status = 200, description = "The form that opens an incident", content_type = "text/html"),
              (status = 303, description = "Not signed in: to the sign-in form"),
              (status = 403, description = "A viewer", content_type = "text/html"),
              (status = 404, description = "No such template", content_type = "text/html")))]
pub async fn new_form(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(params): Query<NewParams>,
) -> Result<Response, AdminError> {
    user.require_responder()?;
    let mut values = NewValues {
        template: String::new(),
        name: String::new(),
        impact: String::new(),
        status: "investigating".into(),
        body: String::new(),
        components: BTreeMap::new(),
    };
    if let Some(id) = params.template.filter(|t| !t.is_empty()) {
        let id: IncidentTemplateId = id
            .parse()
            .map_err(|_| AdminError::not_found("there is no such incident template"))?;
        let t = state.store.get_incident_template(id).await?;
        let snapshot = state.snapshot.load();
        let existing = component_names(&snapshot.state);
        values = NewValues {
            template: t.id.to_string(),
            name: t.title,
            impact: t.impact.map(|i| i.as_str().to_string()).unwrap_or_default(),
            status: t.status.as_str().to_string(),
            body: t.body,
            components: t
                .components
                .iter()
                .filter(|c| existing.contains_key(&c.component_id))
                .map(|c| {
                    (
                        c.component_id.to_string(),
                        c.status.map(|s| s.as_str().to_string()).unwrap_or_default(),
                    )
                })
                .collect(),
        };
    }
    new_page(&state, &user, values, None, false).await
}

#[utoipa::path(post, path = "/admin/incidents", tag = "admin", security(()),
    responses((status = 303, description = "Opened: to the incident's page"),
              (status = 200, description = "The form again with a preview of the message", content_type = "text/html"),
              (status = 403, description = "A viewer, or the form's security token is wrong", content_type = "text/html"),
              (status = 422, description = "A field is not valid: the form again, as typed, saying what is wrong", content_type = "text/html")))]
pub async fn create(
    State(state): State<AppState>,
    CsrfForm(user, form): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AdminError> {
    user.require_responder()?;
    let fields = Fields(form);
    let statuses = fields.component_statuses();
    let checked: Vec<String> = fields
        .all("component")
        .into_iter()
        .map(str::to_string)
        .collect();
    let values = NewValues {
        template: fields.get("template").to_string(),
        name: fields.get("name").to_string(),
        impact: fields.get("impact").to_string(),
        status: fields.get("status").to_string(),
        body: fields.get("body").to_string(),
        components: checked
            .iter()
            .map(|id| (id.clone(), statuses.get(id).cloned().unwrap_or_default()))
            .collect(),
    };
    if fields.get("action") == "preview" {
        return new_page(&state, &user, values, None, true).await;
    }
    let parsed = (|| {
        let name = valid_name("name", values.name.clone()).map_err(invalid)?;
        let status = match values.status.as_str() {
            "" => IncidentStatus::Investigating,
            s => s
                .parse::<IncidentStatus>()
                .ok()
                .filter(|s| !s.is_closed())
                .ok_or("status: choose investigating, identified or monitoring")?,
        };
        let impact = match values.impact.as_str() {
            "" => None,
            s => Some(
                s.parse::<IncidentImpact>()
                    .map_err(|_| "impact: choose none, minor, major or critical")?,
            ),
        };
        let body = if values.body.trim().is_empty() {
            default_message(status.as_str()).to_string()
        } else {
            valid_body("message", values.body.clone()).map_err(invalid)?
        };
        let components = components_field(&fields, checked.iter().cloned())?;
        Ok::<_, String>(NewIncident {
            name,
            status,
            impact,
            body,
            components,
            source: crate::domain::model::IncidentSource {
                kind: SourceKind::Manual,
                reference: None,
            },
            started_at: None,
        })
    })();
    let input = match parsed {
        Ok(input) => input,
        Err(message) => {
            let e = Some((StatusCode::UNPROCESSABLE_ENTITY, message));
            return new_page(&state, &user, values, e, false).await;
        }
    };
    match state.store.create_incident(input, &user.actor()).await {
        Ok(incident) => Ok(see_other(&format!(
            "{}?done=incident_opened",
            incident_href(incident.id)
        ))),
        Err(err) => {
            let e = refusal(err)?;
            new_page(&state, &user, values, Some(e), false).await
        }
    }
}

// ---- the incident's page -----------------------------------------------------------------

struct UpdateRow {
    id: String,
    label: &'static str,
    resolved: bool,
    body: String,
    body_html: Sanitized,
    when: String,
    changes: Vec<String>,
    edited: bool,
}

/// What the forms of the page hold when it is shown again (after a preview or a refusal).
#[derive(Default)]
struct Typed {
    status: Option<String>,
    body: String,
    components: BTreeMap<String, String>,
    preview: bool,
    postmortem: Option<String>,
    postmortem_preview: bool,
    error: Option<(StatusCode, String)>,
}

#[derive(Template)]
#[template(path = "admin/incidents/show.html")]
struct ShowPage {
    chrome: Chrome,
    can_respond: bool,
    is_admin: bool,
    id: String,
    public_href: String,
    name: String,
    impact: String,
    impact_label: &'static str,
    status: &'static str,
    open: bool,
    started: String,
    resolved: Option<String>,
    duration: String,
    source: String,
    affected: String,
    timeline: Vec<UpdateRow>,
    impacts: Vec<Opt>,
    /// The update form.
    status_opts: Vec<StatusOpt>,
    body: String,
    own: Vec<PickGroup>,
    others: Vec<PickGroup>,
    preview_html: Option<Sanitized>,
    /// The postmortem form.
    postmortem: String,
    postmortem_state: &'static str,
    postmortem_html: Option<Sanitized>,
    error: Option<String>,
    script: String,
}

fn show_page(
    state: &AppState,
    user: &CurrentUser,
    incident: &Incident,
    flash: Flash,
    typed: Typed,
) -> Response {
    let snapshot = state.snapshot.load();
    let public = &snapshot.state;
    let names = component_names(public);
    let now = state.clock.now();
    let end = incident.resolved_at.unwrap_or(now);
    let timeline = incident
        .updates
        .iter()
        .enumerate()
        .map(|(i, u)| {
            let repeat = incident
                .updates
                .get(i + 1)
                .is_some_and(|older| older.status == u.status);
            UpdateRow {
                id: u.id.to_string(),
                label: if repeat {
                    "Update"
                } else {
                    status_label(u.status)
                },
                resolved: u.status.is_closed(),
                body: u.body.clone(),
                body_html: Sanitized::from_markdown(&u.body),
                when: when(&u.created_at),
                changes: u
                    .affected_components
                    .iter()
                    .filter(|a| a.old_status != a.new_status)
                    .map(|a| {
                        format!(
                            "{}: {} → {}",
                            a.name,
                            component_status_label(a.old_status),
                            component_status_label(a.new_status)
                        )
                    })
                    .collect(),
                edited: u.edit_count > 0,
            }
        })
        .collect();
    let held: Vec<ComponentId> = incident.components.iter().map(|c| c.component_id).collect();
    let source = match incident.source.kind {
        SourceKind::Manual => "Opened by hand".to_string(),
        SourceKind::Monitor => "Detected by Pharos (a monitor)".to_string(),
        SourceKind::Vendor => match &incident.source.reference {
            Some(r) => format!("From a vendor's status page: {r}"),
            None => "From a vendor's status page".to_string(),
        },
    };
    let (pm_state, pm_body) = match &incident.postmortem {
        None => ("none", String::new()),
        Some(pm) if pm.published_at.is_some() => ("published", pm.body.clone()),
        Some(pm) => ("draft", pm.body.clone()),
    };
    let postmortem = typed.postmortem.unwrap_or(pm_body);
    let (status, error) = match typed.error {
        Some((s, e)) => (s, Some(e)),
        None => (StatusCode::OK, None),
    };
    let page = ShowPage {
        chrome: Chrome::new(state, user, incident.name.clone(), "incidents", flash),
        can_respond: user.user.role.can_respond(),
        is_admin: user.user.role.is_admin(),
        id: incident.id.to_string(),
        public_href: format!("/incidents/{}", incident.short_id),
        name: incident.name.clone(),
        impact: incident.impact.as_str().to_string(),
        impact_label: impact_label(incident.impact),
        status: status_label(incident.status),
        open: !incident.status.is_closed(),
        started: when(&incident.started_at),
        resolved: incident.resolved_at.as_ref().map(when),
        duration: human_duration(end.0 - incident.started_at.0),
        source,
        affected: affected_names(&names, incident),
        timeline,
        impacts: options(IMPACTS, incident.impact.as_str()),
        status_opts: {
            let chosen = typed
                .status
                .unwrap_or_else(|| incident.status.as_str().to_string());
            UPDATE_STATUSES
                .iter()
                .map(|(value, label, default)| StatusOpt {
                    value,
                    label,
                    default,
                    selected: *value == chosen,
                })
                .collect()
        },
        preview_html: typed.preview.then(|| Sanitized::from_markdown(&typed.body)),
        body: typed.body,
        own: pick_groups(public, &typed.components, "", |c| held.contains(&c)),
        others: pick_groups(public, &typed.components, "", |c| !held.contains(&c)),
        postmortem_html: typed
            .postmortem_preview
            .then(|| Sanitized::from_markdown(&postmortem)),
        postmortem,
        postmortem_state: pm_state,
        error,
        script: script_url(),
    };
    html(status, &page)
}

#[utoipa::path(get, path = "/admin/incidents/{id}", tag = "admin", security(()),
    params(("id" = String, Path, description = "Incident id")),
    responses((status = 200, description = "The incident, its timeline and the responder's forms", content_type = "text/html"),
              (status = 303, description = "Not signed in: to the sign-in form"),
              (status = 404, description = "No such incident", content_type = "text/html")))]
pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: Flash,
    Path(id): Path<String>,
) -> Result<Response, AdminError> {
    let incident = state.store.get_incident(parse_id("incident", &id)?).await?;
    Ok(show_page(&state, &user, &incident, flash, Typed::default()))
}

/// Shows the incident's page again with what was typed and why it was refused.
async fn again(
    state: &AppState,
    user: &CurrentUser,
    id: IncidentId,
    typed: Typed,
) -> Result<Response, AdminError> {
    let incident = state.store.get_incident(id).await?;
    Ok(show_page(state, user, &incident, Flash::default(), typed))
}

#[utoipa::path(post, path = "/admin/incidents/{id}/updates", tag = "admin", security(()),
    params(("id" = String, Path, description = "Incident id")),
    responses((status = 303, description = "Posted: back to the incident"),
              (status = 200, description = "The page again with a preview of the message", content_type = "text/html"),
              (status = 403, description = "A viewer, or the form's security token is wrong", content_type = "text/html"),
              (status = 409, description = "The incident is resolved", content_type = "text/html"),
              (status = 422, description = "A field is not valid: the form again, as typed", content_type = "text/html")))]
pub async fn post_update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(user, form): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AdminError> {
    user.require_responder()?;
    let id = parse_id("incident", &id)?;
    let fields = Fields(form);
    let chosen: BTreeMap<String, String> = fields
        .component_statuses()
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .collect();
    let mut typed = Typed {
        status: Some(fields.get("status").to_string()),
        body: fields.get("body").to_string(),
        components: chosen.clone(),
        ..Typed::default()
    };
    if fields.get("action") == "preview" {
        typed.preview = true;
        return again(&state, &user, id, typed).await;
    }
    let parsed = (|| {
        let status: IncidentStatus = fields
            .get("status")
            .parse()
            .ok()
            .filter(|s| *s != IncidentStatus::Postmortem)
            .ok_or("status: choose investigating, identified, monitoring or resolved")?;
        let body = if typed.body.trim().is_empty() {
            default_message(status.as_str()).to_string()
        } else {
            valid_body("message", typed.body.clone()).map_err(invalid)?
        };
        let components = components_field(&fields, chosen.keys().cloned())?;
        Ok::<_, String>(NewIncidentUpdate {
            status: Some(status),
            body,
            components,
            impact: None,
        })
    })();
    let input = match parsed {
        Ok(input) => input,
        Err(message) => {
            typed.error = Some((StatusCode::UNPROCESSABLE_ENTITY, message));
            return again(&state, &user, id, typed).await;
        }
    };
    let resolving = input.status == Some(IncidentStatus::Resolved);
    match state
        .store
        .post_incident_update(id, input, &user.actor())
        .await
    {
        Ok(_) => Ok(see_other(&format!(
            "{}?done={}",
            incident_href(id),
            if resolving {
                "incident_resolved"
            } else {
                "update_posted"
            }
        ))),
        Err(err) => {
            typed.error = Some(refusal(err)?);
            again(&state, &user, id, typed).await
        }
    }
}

#[derive(Deserialize)]
pub struct ResolveForm {
    #[serde(default)]
    body: String,
}

#[utoipa::path(post, path = "/admin/incidents/{id}/resolve", tag = "admin", security(()),
    params(("id" = String, Path, description = "Incident id")),
    responses((status = 303, description = "Resolved: back to the incident"),
              (status = 403, description = "A viewer, or the form's security token is wrong", content_type = "text/html"),
              (status = 409, description = "Already resolved", content_type = "text/html")))]
pub async fn resolve(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(user, form): CsrfForm<ResolveForm>,
) -> Result<Response, AdminError> {
    user.require_responder()?;
    let id = parse_id("incident", &id)?;
    let body = match form.body.trim() {
        "" => None,
        _ => match valid_body("message", form.body.clone()) {
            Ok(b) => Some(b),
            Err(e) => {
                let typed = Typed {
                    error: Some((StatusCode::UNPROCESSABLE_ENTITY, invalid(e))),
                    ..Typed::default()
                };
                return again(&state, &user, id, typed).await;
            }
        },
    };
    match state.store.resolve_incident(id, body, &user.actor()).await {
        Ok(_) => Ok(see_other(&format!(
            "{}?done=incident_resolved",
            incident_href(id)
        ))),
        Err(err) => {
            let typed = Typed {
                error: Some(refusal(err)?),
                ..Typed::default()
            };
            again(&state, &user, id, typed).await
        }
    }
}

#[derive(Deserialize)]
pub struct DetailsForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    impact: String,
}

#[utoipa::path(post, path = "/admin/incidents/{id}/details", tag = "admin", security(()),
    params(("id" = String, Path, description = "Incident id")),
    responses((status = 303, description = "Name and impact changed: back to the incident"),
              (status = 403, description = "A viewer, or the form's security token is wrong", content_type = "text/html"),
              (status = 422, description = "A field is not valid", content_type = "text/html")))]
pub async fn details(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(user, form): CsrfForm<DetailsForm>,
) -> Result<Response, AdminError> {
    user.require_responder()?;
    let id = parse_id("incident", &id)?;
    let patch = (|| {
        Ok::<_, String>(IncidentPatch {
            name: Some(valid_name("name", form.name.clone()).map_err(invalid)?),
            impact: Some(
                form.impact
                    .parse::<IncidentImpact>()
                    .map_err(|_| "impact: choose none, minor, major or critical")?,
            ),
        })
    })();
    let result = match patch {
        Ok(patch) => state
            .store
            .update_incident(id, patch, &user.actor())
            .await
            .map_err(refusal),
        Err(message) => Err(Ok((StatusCode::UNPROCESSABLE_ENTITY, message))),
    };
    match result {
        Ok(_) => Ok(see_other(&format!(
            "{}?done=incident_changed",
            incident_href(id)
        ))),
        Err(refused) => {
            let typed = Typed {
                error: Some(refused?),
                ..Typed::default()
            };
            again(&state, &user, id, typed).await
        }
    }
}

#[derive(Deserialize)]
pub struct UpdatePath {
    id: String,
    update_id: String,
}

#[derive(Deserialize)]
pub struct EditForm {
    #[serde(default)]
    body: String,
}

#[utoipa::path(post, path = "/admin/incidents/{id}/updates/{update_id}/edit", tag = "admin", security(()),
    params(("id" = String, Path, description = "Incident id"), ("update_id" = String, Path, description = "Update id")),
    responses((status = 303, description = "Edited (the previous text is kept): back to the incident"),
              (status = 403, description = "A viewer, or the form's security token is wrong", content_type = "text/html"),
              (status = 422, description = "The text is not valid", content_type = "text/html")))]
pub async fn edit_update(
    State(state): State<AppState>,
    Path(path): Path<UpdatePath>,
    CsrfForm(user, form): CsrfForm<EditForm>,
) -> Result<Response, AdminError> {
    user.require_responder()?;
    let id = parse_id("incident", &path.id)?;
    let update_id = parse_id("update", &path.update_id)?;
    let result = match valid_body("message", form.body) {
        Ok(body) => state
            .store
            .edit_incident_update(id, update_id, body, &user.actor())
            .await
            .map_err(refusal),
        Err(e) => Err(Ok((StatusCode::UNPROCESSABLE_ENTITY, invalid(e)))),
    };
    match result {
        Ok(_) => Ok(see_other(&format!(
            "{}?done=update_edited",
            incident_href(id)
        ))),
        Err(refused) => {
            let typed = Typed {
                error: Some(refused?),
                ..Typed::default()
            };
            again(&state, &user, id, typed).await
        }
    }
}

#[utoipa::path(post, path = "/admin/incidents/{id}/updates/{update_id}/delete", tag = "admin", security(()),
    params(("id" = String, Path, description = "Incident id"), ("update_id" = String, Path, description = "Update id")),
    responses((status = 303, description = "Deleted: back to the incident"),
              (status = 403, description = "A viewer, or the form's security token is wrong", content_type = "text/html"),
              (status = 409, description = "The incident's only update", content_type = "text/html")))]
pub async fn delete_update(
    State(state): State<AppState>,
    Path(path): Path<UpdatePath>,
    CsrfForm(user, _form): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AdminError> {
    user.require_responder()?;
    let id = parse_id("incident", &path.id)?;
    let update_id = parse_id("update", &path.update_id)?;
    match state
        .store
        .delete_incident_update(id, update_id, &user.actor())
        .await
    {
        Ok(_) => Ok(see_other(&format!(
            "{}?done=update_deleted",
            incident_href(id)
        ))),
        Err(err) => {
            let typed = Typed {
                error: Some(refusal(err)?),
                ..Typed::default()
            };
            again(&state, &user, id, typed).await
        }
    }
}

#[derive(Deserialize)]
pub struct PostmortemForm {
    #[serde(default)]
    body: String,
    #[serde(default)]
    action: String,
}

#[utoipa::path(post, path = "/admin/incidents/{id}/postmortem", tag = "admin", security(()),
    params(("id" = String, Path, description = "Incident id")),
    responses((status = 303, description = "Saved as a draft or published: back to the incident"),
              (status = 200, description = "The page again with a preview of the postmortem", content_type = "text/html"),
              (status = 403, description = "A viewer, or the form's security token is wrong", content_type = "text/html"),
              (status = 409, description = "Publishing an incident still open", content_type = "text/html"),
              (status = 422, description = "The text is not valid", content_type = "text/html")))]
pub async fn postmortem(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(user, form): CsrfForm<PostmortemForm>,
) -> Result<Response, AdminError> {
    user.require_responder()?;
    let id = parse_id("incident", &id)?;
    let mut typed = Typed {
        postmortem: Some(form.body.clone()),
        ..Typed::default()
    };
    let publish = match form.action.as_str() {
        "preview" => {
            typed.postmortem_preview = true;
            return again(&state, &user, id, typed).await;
        }
        "publish" => true,
        _ => false,
    };
    let result = match valid_body("postmortem", form.body) {
        Ok(body) => state
            .store
            .set_postmortem(id, PostmortemInput { body, publish }, &user.actor())
            .await
            .map_err(refusal),
        Err(e) => Err(Ok((StatusCode::UNPROCESSABLE_ENTITY, invalid(e)))),
    };
    match result {
        Ok(_) => Ok(see_other(&format!(
            "{}?done={}",
            incident_href(id),
            if publish {
                "postmortem_published"
            } else {
                "postmortem_saved"
            }
        ))),
        Err(refused) => {
            typed.error = Some(refused?);
            again(&state, &user, id, typed).await
        }
    }
}

#[derive(Template)]
#[template(path = "admin/incidents/delete.html")]
struct DeletePage {
    chrome: Chrome,
    id: String,
    name: String,
    updates: usize,
}

#[utoipa::path(get, path = "/admin/incidents/{id}/delete", tag = "admin", security(()),
    params(("id" = String, Path, description = "Incident id")),
    responses((status = 200, description = "Asks to confirm the deletion (admins only)", content_type = "text/html"),
              (status = 403, description = "Not an admin", content_type = "text/html")))]
pub async fn delete_form(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Response, AdminError> {
    user.require_admin()?;
    let incident = state.store.get_incident(parse_id("incident", &id)?).await?;
    Ok(html(
        StatusCode::OK,
        &DeletePage {
            chrome: Chrome::new(
                &state,
                &user,
                "Delete an incident",
                "incidents",
                Flash::default(),
            ),
            id: incident.id.to_string(),
            name: incident.name,
            updates: incident.updates.len(),
        },
    ))
}

#[utoipa::path(post, path = "/admin/incidents/{id}/delete", tag = "admin", security(()),
    params(("id" = String, Path, description = "Incident id")),
    responses((status = 303, description = "Deleted: to the list"),
              (status = 403, description = "Not an admin, or the form's security token is wrong", content_type = "text/html")))]
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(user, _form): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AdminError> {
    user.require_admin()?;
    state
        .store
        .delete_incident(parse_id("incident", &id)?, &user.actor())
        .await?;
    Ok(see_other("/admin/incidents?done=incident_deleted"))
}

// ---- the live preview and its script -----------------------------------------------------

#[derive(Deserialize)]
pub struct PreviewForm {
    #[serde(default)]
    body: String,
}

#[utoipa::path(post, path = "/admin/preview", tag = "admin", security(()),
    responses((status = 200, description = "The Markdown as the public page shows it (sanitised HTML fragment)", content_type = "text/html"),
              (status = 403, description = "A viewer, or the form's security token is wrong", content_type = "text/html")))]
pub async fn preview(CsrfForm(user, form): CsrfForm<PreviewForm>) -> Result<Response, AdminError> {
    user.require_responder()?;
    let mut r = crate::markdown::to_html(&form.body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    Ok(r)
}

static SCRIPT: LazyLock<Rendered> = LazyLock::new(|| {
    Rendered::new(
        "text/javascript; charset=utf-8",
        include_bytes!("../../../../assets/admin-incidents.js").to_vec(),
    )
});

/// The script's URL, versioned by its content so it can be cached for a year.
pub fn script_url() -> String {
    let version = SCRIPT.etag.trim_matches('"').get(..10).unwrap_or("0");
    format!("/assets/admin-incidents.js?v={version}")
}

#[utoipa::path(get, path = "/assets/admin-incidents.js", tag = "admin", security(()),
    responses((status = 200, description = "The incident screens' progressive script (status defaults, live Markdown preview)", content_type = "text/javascript"),
              (status = 304, description = "Not modified (If-None-Match)")))]
pub async fn script(uri: Uri, headers: HeaderMap) -> Response {
    let mut response = crate::http::public::respond(&SCRIPT, &headers, Cors::SameOrigin);
    if uri.path_and_query().map(|p| p.as_str()) == Some(script_url().as_str()) {
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=31536000, immutable"),
        );
    }
    response
}
