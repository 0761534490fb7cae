//! status.io's public status API: `GET https://api.status.io/1.0/status/{page id}` (also
//! served as `status-api.hostedstatus.com/1.0/status/{page id}`), one JSON document with the
//! page's components, open incidents and open maintenances.
//!
//! ## Endpoint
//!
//! The API needs the page id (24 hex digits), which a status page's own address (such as
//! `status.gitlab.com`) does not contain. [`Statusio::documents`] therefore returns the
//! operator's `source` when given, else the page URL itself: the operator or the catalog
//! gives the API URL, as the page URL or as the source.
//!
//! ## Shape
//!
//! `result.status_overall {status, status_code}`, `result.status` (the components: `id`,
//! `name`, `status`, `status_code`, `containers [{id, name, status, status_code}]`),
//! `result.incidents` and `result.maintenance {active, upcoming}`; an incident or a
//! maintenance has `_id`, `name`, `datetime_open` (maintenances also
//! `datetime_planned_start`/`_end`), `messages [{details, state, status, datetime}]`,
//! `components_affected [{_id, name}]` and `containers_affected [{_id, name}]`. A document
//! is status.io's when it has a `result` object with a `status_overall` object and a
//! `status` list; everything else is optional.
//!
//! ## Mapping
//!
//! Component status, by `status_code`, else by the `status` text when the code is missing
//! or not one of these:
//!
//! | status.io                         | Pharos                 |
//! |-----------------------------------|------------------------|
//! | 100 Operational                   | operational            |
//! | 200 Planned Maintenance           | under_maintenance      |
//! | 300 Degraded Performance          | degraded_performance   |
//! | 400 Partial Service Disruption    | partial_outage         |
//! | 500 Service Disruption            | major_outage           |
//! | 600 Security Event / Security Issue | degraded_performance |
//! | anything else                     | degraded_performance (noted) |
//!
//! A security event says nothing about availability (GitLab used it while a feature was
//! switched off), but the vendor does flag the component, so it shows as degraded rather
//! than operational.
//!
//! Containers are where a component runs (a cloud, a region). A component's status is the
//! worst of its own and its containers'. When a component runs in two or more containers,
//! each container is also listed as a component of its own, named after the container,
//! grouped under the component's name, with the id `{component id}-{container id}` (the form
//! status.io's API uses for a component in one container): someone whose workload runs in
//! one region can follow just that one, which answers "is it us or them?" better than the
//! rolled-up status alone. With a single container (GitLab's and Docker's pages) the
//! container adds nothing and is not listed.
//!
//! Incident status, from the `state` of the latest message (status.io's own API clients
//! name these values): 100 investigating, 200 identified, 300 monitoring; anything else
//! investigating (noted). This endpoint lists open incidents only (a resolved incident
//! leaves it), so nothing here is resolved.
//!
//! Incident impact: `IncidentImpact::from_component_status` of the worst status a message
//! set (a message's `status` is the component status code it set), else of the worst
//! current status of the affected components, else minor (it is open). So a 400 incident is
//! major and a security event minor.
//!
//! Maintenance status: in the `active` list in_progress, in `upcoming` scheduled. A message
//! of an active maintenance posted before the planned start is `scheduled`, after it
//! `in_progress`.
//!
//! Ids: `_id` where given; without one, an incident is `{name}@{datetime_open}` and a
//! maintenance `{name}@{datetime_planned_start}` (else its `datetime_open`). The incident
//! and maintenance pages are `https://status.io/pages/incident/{page id}/{id}` and
//! `https://status.io/pages/maintenance/{page id}/{id}` (the form status.io's own feeds and
//! webhooks link to), built when the document's URL ends in `/status/{page id}`.
//!
//! ## What the format cannot tell us
//!
//! The page's name, resolved incidents and completed maintenances (they leave this
//! endpoint), which container an affected component was affected in (incidents list
//! components and containers separately, so a multi-container component's affected
//! containers are taken to be those of `containers_affected` it runs in), and message ids.
//!
//! Coverage: components, open incidents and open maintenances, all complete.

use super::text::{non_empty, scalar_text as lenient_text};
use super::{text, Adapter, AdapterKind, Document, ParseError};
use crate::domain::status::{ComponentStatus, IncidentImpact, IncidentStatus, MaintenanceStatus};
use crate::domain::time::Timestamp;
use crate::vendor::model::{
    Coverage, VendorComponent, VendorIncident, VendorMaintenance, VendorMaintenanceUpdate,
    VendorSnapshot, VendorUpdate,
};
use serde::Deserialize;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use url::Url;

const FORMAT: &str = "status.io";

pub struct Statusio;

impl Adapter for Statusio {
    fn kind(&self) -> AdapterKind {
        AdapterKind::Statusio
    }

    fn documents(&self, page: &Url, source: Option<&Url>) -> Vec<Url> {
        vec![source.unwrap_or(page).clone()]
    }

    fn parse(&self, doc: &Document<'_>) -> Result<VendorSnapshot, ParseError> {
        parse(doc)
    }
}

#[derive(Deserialize)]
struct Envelope {
    result: RawResult,
}

#[derive(Deserialize)]
struct RawResult {
    #[serde(default)]
    status: Option<Vec<RawComponent>>,
    #[serde(default)]
    incidents: Option<Vec<RawEvent>>,
    #[serde(default)]
    maintenance: Option<RawMaintenanceLists>,
}

#[derive(Deserialize)]
struct RawComponent {
    #[serde(default, deserialize_with = "lenient_text")]
    id: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    name: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    status: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    status_code: Option<String>,
    #[serde(default)]
    containers: Option<Vec<RawContainer>>,
}

#[derive(Deserialize)]
struct RawContainer {
    #[serde(default, deserialize_with = "lenient_text")]
    id: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    name: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    status: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    status_code: Option<String>,
}

#[derive(Deserialize)]
struct RawMaintenanceLists {
    #[serde(default)]
    active: Option<Vec<RawEvent>>,
    #[serde(default)]
    upcoming: Option<Vec<RawEvent>>,
}

/// An incident or a maintenance: status.io gives both the same shape.
#[derive(Deserialize)]
struct RawEvent {
    #[serde(default, rename = "_id", deserialize_with = "lenient_text")]
    id: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    name: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    datetime_open: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    datetime_planned_start: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    datetime_planned_end: Option<String>,
    #[serde(default)]
    messages: Option<Vec<RawMessage>>,
    #[serde(default)]
    components_affected: Option<Vec<RawRef>>,
    #[serde(default)]
    containers_affected: Option<Vec<RawRef>>,
}

#[derive(Deserialize)]
struct RawMessage {
    #[serde(default, rename = "_id", deserialize_with = "lenient_text")]
    id: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    details: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    state: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    status: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    datetime: Option<String>,
}

#[derive(Deserialize)]
struct RawRef {
    #[serde(default, rename = "_id", deserialize_with = "lenient_text")]
    id: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    name: Option<String>,
}

fn not_this(detail: impl Into<String>) -> ParseError {
    ParseError::NotThisFormat {
        format: FORMAT,
        detail: detail.into(),
    }
}

/// Listed components by external id, with what incidents need to know of them.
type Listing = HashMap<String, Listed>;

/// A component as listed: its rolled-up status and its containers.
struct Listed {
    status: ComponentStatus,
    /// `(container id or name, external id of the container's own component)`, only for
    /// components that run in two or more containers.
    children: Vec<(String, String)>,
}

fn parse(doc: &Document<'_>) -> Result<VendorSnapshot, ParseError> {
    let body = doc.body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(doc.body);
    let value: Value =
        serde_json::from_slice(body).map_err(|e| not_this(format!("not JSON: {e}")))?;
    let result = value
        .get("result")
        .filter(|r| r.is_object())
        .ok_or_else(|| not_this("no `result` object"))?;
    if !result.get("status_overall").is_some_and(Value::is_object) {
        return Err(not_this("no `result.status_overall` object"));
    }
    if !result.get("status").is_some_and(Value::is_array) {
        return Err(not_this("no `result.status` component list"));
    }
    let envelope: Envelope = serde_json::from_value(value).map_err(|e| ParseError::BadValue {
        format: FORMAT,
        at: "result".into(),
        detail: e.to_string(),
    })?;
    let raw = envelope.result;
    let page_id = page_id(doc.url);

    let mut snapshot = VendorSnapshot {
        coverage: Coverage {
            components: true,
            open_incidents: true,
            open_maintenances: true,
        },
        ..VendorSnapshot::default()
    };

    let mut listed = Listing::new();
    for component in raw.status.unwrap_or_default() {
        let Some(name) = non_empty(component.name.as_deref())
            .or(non_empty(component.id.as_deref()))
            .map(str::to_string)
        else {
            continue;
        };
        let external_id = non_empty(component.id.as_deref())
            .unwrap_or(&name)
            .to_string();
        let own = component_status(
            component.status_code.as_deref(),
            component.status.as_deref(),
            &mut snapshot.unknown_values,
        );
        let containers = component.containers.unwrap_or_default();
        let mut statuses = vec![own];
        let mut children: Vec<(String, VendorComponent)> = Vec::new();
        for container in &containers {
            let status = component_status(
                container.status_code.as_deref(),
                container.status.as_deref(),
                &mut snapshot.unknown_values,
            );
            statuses.push(status);
            if containers.len() < 2 {
                continue;
            }
            let Some(key) =
                non_empty(container.id.as_deref()).or(non_empty(container.name.as_deref()))
            else {
                continue;
            };
            let label = non_empty(container.name.as_deref()).unwrap_or(key);
            children.push((
                key.to_string(),
                VendorComponent {
                    external_id: format!("{external_id}-{key}"),
                    name: label.to_string(),
                    status,
                    group: Some(name.clone()),
                    description: None,
                },
            ));
        }
        let status = ComponentStatus::worst(statuses).unwrap_or(own);
        listed.entry(external_id.clone()).or_insert(Listed {
            status,
            children: children
                .iter()
                .map(|(key, child)| (key.clone(), child.external_id.clone()))
                .collect(),
        });
        snapshot.components.push(VendorComponent {
            external_id,
            name,
            status,
            group: None,
            description: None,
        });
        snapshot
            .components
            .extend(children.into_iter().map(|(_, child)| child));
    }

    for event in raw.incidents.unwrap_or_default() {
        let incident = incident(event, doc, page_id.as_deref(), &listed, &mut snapshot);
        snapshot.incidents.push(incident);
    }
    let lists = raw.maintenance;
    let (active, upcoming) = match lists {
        Some(l) => (l.active.unwrap_or_default(), l.upcoming.unwrap_or_default()),
        None => (Vec::new(), Vec::new()),
    };
    for (event, status) in active
        .into_iter()
        .map(|e| (e, MaintenanceStatus::InProgress))
        .chain(
            upcoming
                .into_iter()
                .map(|e| (e, MaintenanceStatus::Scheduled)),
        )
    {
        let maintenance = maintenance(event, status, doc, page_id.as_deref(), &listed);
        snapshot.maintenances.push(maintenance);
    }
    Ok(snapshot)
}

/// The page id of an API URL ending in `/status/{page id}`.
fn page_id(url: &Url) -> Option<String> {
    let segments: Vec<&str> = url.path_segments()?.filter(|s| !s.is_empty()).collect();
    match segments.as_slice() {
        [.., "status", id] if id.chars().all(|c| c.is_ascii_alphanumeric()) => {
            Some((*id).to_string())
        }
        _ => None,
    }
}

fn status_from_code(code: i64) -> Option<ComponentStatus> {
    match code {
        100 => Some(ComponentStatus::Operational),
        200 => Some(ComponentStatus::UnderMaintenance),
        300 => Some(ComponentStatus::DegradedPerformance),
        400 => Some(ComponentStatus::PartialOutage),
        500 => Some(ComponentStatus::MajorOutage),
        600 => Some(ComponentStatus::DegradedPerformance),
        _ => None,
    }
}

fn status_from_text(text: &str) -> Option<ComponentStatus> {
    match text.trim().to_ascii_lowercase().as_str() {
        "operational" => Some(ComponentStatus::Operational),
        "planned maintenance" | "maintenance" => Some(ComponentStatus::UnderMaintenance),
        "degraded performance" => Some(ComponentStatus::DegradedPerformance),
        "partial service disruption" => Some(ComponentStatus::PartialOutage),
        "service disruption" => Some(ComponentStatus::MajorOutage),
        "security event" | "security issue" => Some(ComponentStatus::DegradedPerformance),
        _ => None,
    }
}

fn parse_code(code: Option<&str>) -> Option<i64> {
    code.and_then(|c| c.trim().parse::<i64>().ok())
}

/// A component's status by code, else by text, else the noted default.
fn component_status(
    code: Option<&str>,
    status_text: Option<&str>,
    notes: &mut Vec<String>,
) -> ComponentStatus {
    if let Some(status) = parse_code(code).and_then(status_from_code) {
        return status;
    }
    if let Some(status) = status_text.and_then(status_from_text) {
        return status;
    }
    let value = non_empty(code)
        .or(non_empty(status_text))
        .unwrap_or("(missing)");
    text::unknown(
        notes,
        "component status",
        value,
        ComponentStatus::DegradedPerformance,
    )
}

/// External ids of the listed components (and their containers' components) an event
/// names.
fn affected_ids(event: &RawEvent, listed: &Listing) -> Vec<String> {
    let containers: HashSet<&str> = event
        .containers_affected
        .iter()
        .flatten()
        .filter_map(|c| non_empty(c.id.as_deref()).or(non_empty(c.name.as_deref())))
        .collect();
    let mut ids: Vec<String> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    for component in event.components_affected.iter().flatten() {
        let key = non_empty(component.id.as_deref()).or(non_empty(component.name.as_deref()));
        let Some(key) = key else { continue };
        if seen.insert(key.to_string()) {
            ids.push(key.to_string());
        }
        if let Some(found) = listed.get(key) {
            for (container, child) in &found.children {
                if containers.contains(container.as_str()) && seen.insert(child.clone()) {
                    ids.push(child.clone());
                }
            }
        }
    }
    ids
}

/// Messages with their times, oldest first. An undated message takes `fallback`.
fn dated_messages(
    messages: Option<Vec<RawMessage>>,
    fallback: Timestamp,
) -> Vec<(Timestamp, RawMessage)> {
    let mut dated: Vec<(Timestamp, RawMessage)> = messages
        .unwrap_or_default()
        .into_iter()
        .map(|m| {
            let at = m
                .datetime
                .as_deref()
                .and_then(text::parse_time)
                .unwrap_or(fallback);
            (at, m)
        })
        .collect();
    dated.sort_by_key(|(at, _)| *at);
    dated
}

fn event_name(event: &RawEvent, what: &str) -> String {
    non_empty(event.name.as_deref())
        .map(str::to_string)
        .unwrap_or_else(|| format!("Untitled {what}"))
}

/// A message's details as plain text, with Windows line ends made plain.
fn body(message: &RawMessage) -> String {
    text::html_to_text(
        &message
            .details
            .as_deref()
            .unwrap_or_default()
            .replace("\r\n", "\n"),
    )
}

fn incident(
    event: RawEvent,
    doc: &Document<'_>,
    page_id: Option<&str>,
    listed: &Listing,
    snapshot: &mut VendorSnapshot,
) -> VendorIncident {
    let name = event_name(&event, "incident");
    let opened = event.datetime_open.as_deref().and_then(text::parse_time);
    let id = non_empty(event.id.as_deref()).map(str::to_string);
    let external_id = id.clone().or_else(|| {
        non_empty(event.datetime_open.as_deref())
            .map(|open| format!("{name}@{open}"))
            .or_else(|| Some(name.clone()))
    });
    let component_ids = affected_ids(&event, listed);
    let messages = dated_messages(event.messages, opened.unwrap_or(doc.fetched_at));
    let started_at = opened
        .or_else(|| messages.first().map(|(at, _)| *at))
        .unwrap_or(doc.fetched_at);

    let mut set_statuses = Vec::new();
    let mut updates = Vec::new();
    for (at, message) in &messages {
        let status = match parse_code(message.state.as_deref()) {
            Some(100) => IncidentStatus::Investigating,
            Some(200) => IncidentStatus::Identified,
            Some(300) => IncidentStatus::Monitoring,
            _ => text::unknown(
                &mut snapshot.unknown_values,
                "incident state",
                non_empty(message.state.as_deref()).unwrap_or("(missing)"),
                IncidentStatus::Investigating,
            ),
        };
        if let Some(code) = non_empty(message.status.as_deref()) {
            let set = parse_code(Some(code))
                .and_then(status_from_code)
                .unwrap_or_else(|| {
                    text::unknown(
                        &mut snapshot.unknown_values,
                        "incident message status",
                        code,
                        ComponentStatus::DegradedPerformance,
                    )
                });
            set_statuses.push(set);
        }
        updates.push(VendorUpdate {
            external_id: non_empty(message.id.as_deref()).map(str::to_string),
            status,
            body: body(message),
            at: *at,
        });
    }
    let status = updates
        .last()
        .map(|u| u.status)
        .unwrap_or(IncidentStatus::Investigating);
    let impact = match ComponentStatus::worst(set_statuses) {
        Some(worst) => IncidentImpact::from_component_status(Some(worst)),
        None => {
            let current = ComponentStatus::worst(
                component_ids
                    .iter()
                    .filter_map(|id| listed.get(id))
                    .map(|l| l.status),
            );
            match current {
                Some(worst) => IncidentImpact::from_component_status(Some(worst)),
                None => IncidentImpact::Minor,
            }
        }
    };
    let url = match (page_id, id.as_deref()) {
        (Some(page), Some(id)) => Some(format!("https://status.io/pages/incident/{page}/{id}")),
        _ => None,
    };
    VendorIncident {
        external_id,
        name,
        status,
        impact,
        started_at,
        resolved_at: None,
        url,
        component_ids,
        updates,
    }
}

fn maintenance(
    event: RawEvent,
    status: MaintenanceStatus,
    doc: &Document<'_>,
    page_id: Option<&str>,
    listed: &Listing,
) -> VendorMaintenance {
    let name = event_name(&event, "maintenance");
    let opened = event.datetime_open.as_deref().and_then(text::parse_time);
    let planned_start = event
        .datetime_planned_start
        .as_deref()
        .and_then(text::parse_time);
    let planned_end = event
        .datetime_planned_end
        .as_deref()
        .and_then(text::parse_time);
    let id = non_empty(event.id.as_deref()).map(str::to_string);
    let external_id = id.clone().or_else(|| {
        non_empty(event.datetime_planned_start.as_deref())
            .or(non_empty(event.datetime_open.as_deref()))
            .map(|at| format!("{name}@{at}"))
            .or_else(|| Some(name.clone()))
    });
    let component_ids = affected_ids(&event, listed);
    let messages = dated_messages(
        event.messages,
        opened.or(planned_start).unwrap_or(doc.fetched_at),
    );
    let scheduled_for = planned_start
        .or(opened)
        .or_else(|| messages.first().map(|(at, _)| *at))
        .unwrap_or(doc.fetched_at);
    let updates = messages
        .iter()
        .map(|(at, message)| VendorMaintenanceUpdate {
            external_id: non_empty(message.id.as_deref()).map(str::to_string),
            status: match status {
                MaintenanceStatus::InProgress if *at < scheduled_for => {
                    MaintenanceStatus::Scheduled
                }
                other => other,
            },
            body: body(message),
            at: *at,
        })
        .collect();
    let url = match (page_id, id.as_deref()) {
        (Some(page), Some(id)) => Some(format!("https://status.io/pages/maintenance/{page}/{id}")),
        _ => None,
    };
    VendorMaintenance {
        external_id,
        name,
        status,
        scheduled_for,
        scheduled_until: planned_end,
        url,
        component_ids,
        updates,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOCKER: &str = "https://api.status.io/1.0/status/533c6539221ae15e3f000031";
    const GITLAB: &str = "https://api.status.io/1.0/status/5b36dc6502d06804c08349f7";

    fn fixture(path: &str) -> Vec<u8> {
        let full = format!("{}/../shared/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
    }

    fn fetched_at() -> Timestamp {
        Timestamp::parse("2026-01-01T00:00:00Z").unwrap()
    }

    fn parse_at(url: &str, body: &[u8]) -> Result<VendorSnapshot, ParseError> {
        let url = Url::parse(url).unwrap();
        Statusio.parse(&Document {
            url: &url,
            content_type: Some("application/json"),
            body,
            fetched_at: fetched_at(),
        })
    }

    fn time(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    fn component<'a>(snapshot: &'a VendorSnapshot, name: &str) -> &'a VendorComponent {
        snapshot
            .components
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no component {name}"))
    }

    #[test]
    fn docker_partial_disruption() {
        let s = parse_at(
            DOCKER,
            &fixture("statusio/docker-status-partial-disruption.json"),
        )
        .unwrap();
        assert_eq!(s.components.len(), 8);
        let builds = component(&s, "Docker Hub Automated Builds");
        assert_eq!(builds.external_id, "5342bc9420974b775d000008");
        assert_eq!(builds.status, ComponentStatus::PartialOutage);
        assert_eq!(builds.group, None);
        assert_eq!(
            s.components
                .iter()
                .filter(|c| c.status == ComponentStatus::Operational)
                .count(),
            7
        );
        assert_eq!(s.incidents.len(), 1);
        let incident = &s.incidents[0];
        assert_eq!(
            incident.external_id.as_deref(),
            Some("5f108cc06e9c9104c0553a46")
        );
        assert_eq!(incident.name, "Docker Hub automated builds issue");
        assert_eq!(incident.status, IncidentStatus::Investigating);
        assert_eq!(incident.impact, IncidentImpact::Major);
        assert_eq!(incident.started_at, time("2020-07-16T17:22:08.325Z"));
        assert_eq!(incident.resolved_at, None);
        assert_eq!(
            incident.url.as_deref(),
            Some("https://status.io/pages/incident/533c6539221ae15e3f000031/5f108cc06e9c9104c0553a46")
        );
        assert_eq!(incident.component_ids, vec!["5342bc9420974b775d000008"]);
        assert_eq!(incident.updates.len(), 1);
        assert_eq!(incident.updates[0].at, time("2020-07-16T17:22:08.369Z"));
        assert!(incident.updates[0]
            .body
            .starts_with("We are investigating reports of automated builds"));
        assert!(s.maintenances.is_empty());
        assert_eq!(
            s.coverage,
            Coverage {
                components: true,
                open_incidents: true,
                open_maintenances: true
            }
        );
        assert!(s.unknown_values.is_empty(), "{:?}", s.unknown_values);
        assert_eq!(s.page_name, None);
    }

    #[test]
    fn gitlab_security_issue_is_degraded_and_a_minor_incident() {
        let s = parse_at(
            GITLAB,
            &fixture("statusio/gitlab-status-security-issue.json"),
        )
        .unwrap();
        assert_eq!(s.components.len(), 13);
        let flagged: Vec<&str> = s
            .components
            .iter()
            .filter(|c| c.status == ComponentStatus::DegradedPerformance)
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(
            flagged,
            vec!["Website", "API", "Git (ssh and https)", "Registry", "CI/CD"]
        );
        assert_eq!(component(&s, "Pages").status, ComponentStatus::Operational);
        let incident = &s.incidents[0];
        assert_eq!(
            incident.name,
            "https://gitlab.com/gitlab-com/gl-infra/production/issues/1635"
        );
        assert_eq!(incident.status, IncidentStatus::Identified);
        assert_eq!(incident.impact, IncidentImpact::Minor);
        assert_eq!(incident.component_ids.len(), 5);
        assert_eq!(incident.component_ids[0], "5b36dc6502d06804c0834a07");
        assert_eq!(incident.updates.len(), 2);
        assert_eq!(incident.updates[0].at, time("2020-02-07T15:51:25.269Z"));
        assert_eq!(incident.updates[1].at, time("2020-02-09T18:42:33.493Z"));
        assert!(incident.updates[1]
            .body
            .starts_with("We are continuing to develop and test a fix"));
        assert!(s.unknown_values.is_empty(), "{:?}", s.unknown_values);
    }

    #[test]
    fn gitlab_planned_maintenance() {
        let s = parse_at(
            GITLAB,
            &fixture("statusio/gitlab-status-planned-maintenance.json"),
        )
        .unwrap();
        assert_eq!(s.components.len(), 15);
        let dashboards = component(&s, "dashboards.gitlab.com");
        assert_eq!(dashboards.status, ComponentStatus::UnderMaintenance);
        assert_eq!(dashboards.external_id, "5f4e8819413cdd04b6882c94");

        assert_eq!(s.maintenances.len(), 1);
        let m = &s.maintenances[0];
        assert_eq!(m.external_id.as_deref(), Some("5f4e8b7f2250a004bc3453da"));
        assert_eq!(m.name, "Maintenance on dashboards.gitlab.com");
        assert_eq!(m.status, MaintenanceStatus::InProgress);
        assert_eq!(m.scheduled_for, time("2020-09-02T17:55:00Z"));
        assert_eq!(m.scheduled_until, Some(time("2020-09-07T17:55:00Z")));
        assert_eq!(m.component_ids, vec!["5f4e8819413cdd04b6882c94"]);
        assert_eq!(
            m.url.as_deref(),
            Some("https://status.io/pages/maintenance/5b36dc6502d06804c08349f7/5f4e8b7f2250a004bc3453da")
        );
        let statuses: Vec<MaintenanceStatus> = m.updates.iter().map(|u| u.status).collect();
        assert_eq!(
            statuses,
            vec![MaintenanceStatus::Scheduled, MaintenanceStatus::InProgress]
        );
        assert_eq!(
            m.updates[1].body,
            "We are currently performing maintenance on dashboards.gitlab.com.\n\nThe public \
             dashboards will be unavailable during this time.\n\nAll other systems are \
             operational."
        );

        let incident = &s.incidents[0];
        assert_eq!(incident.name, "500 Error - User Notification Settings");
        assert_eq!(incident.status, IncidentStatus::Identified);
        assert_eq!(incident.impact, IncidentImpact::Major);
        assert_eq!(incident.started_at, time("2020-09-04T21:56:00Z"));
        assert_eq!(incident.updates.len(), 2);
    }

    #[test]
    fn containers_roll_up_and_are_listed_when_there_are_several() {
        let body = br#"{"result":{"status_overall":{"status":"Degraded Performance","status_code":300},
            "status":[{"id":"c1","name":"Database","status":"Operational","status_code":100,
              "containers":[{"id":"k1","name":"US East","status":"Operational","status_code":100},
                            {"id":"k2","name":"EU West","status":"Service Disruption","status_code":500}]},
              {"id":"c2","name":"API","status":"Degraded Performance"},
              {"id":"c3","name":"Web","status":"Sideways","status_code":700}],
            "incidents":[{"name":"EU database down","datetime_open":"2024-05-01T10:00:00Z",
              "messages":[{"details":"<p>Down &amp; out</p>","state":400,"status":500,
                           "datetime":"2024-05-01T10:01:00Z"}],
              "components_affected":[{"_id":"c1","name":"Database"}],
              "containers_affected":[{"_id":"k2","name":"EU West"}]}],
            "maintenance":{"active":[],"upcoming":[{"_id":"m1","name":"Upgrade",
              "datetime_planned_start":"2024-06-01T00:00:00Z","messages":[]}]}}}"#;
        let s = parse_at("https://example.com/custom", body).unwrap();
        let names: Vec<(&str, Option<&str>, ComponentStatus)> = s
            .components
            .iter()
            .map(|c| (c.external_id.as_str(), c.group.as_deref(), c.status))
            .collect();
        assert_eq!(
            names,
            vec![
                ("c1", None, ComponentStatus::MajorOutage),
                ("c1-k1", Some("Database"), ComponentStatus::Operational),
                ("c1-k2", Some("Database"), ComponentStatus::MajorOutage),
                ("c2", None, ComponentStatus::DegradedPerformance),
                ("c3", None, ComponentStatus::DegradedPerformance),
            ]
        );
        assert_eq!(component(&s, "US East").group.as_deref(), Some("Database"));
        let incident = &s.incidents[0];
        assert_eq!(
            incident.external_id.as_deref(),
            Some("EU database down@2024-05-01T10:00:00Z")
        );
        assert_eq!(incident.url, None);
        assert_eq!(incident.component_ids, vec!["c1", "c1-k2"]);
        assert_eq!(incident.impact, IncidentImpact::Critical);
        assert_eq!(incident.status, IncidentStatus::Investigating);
        assert_eq!(incident.updates[0].body, "Down & out");
        assert_eq!(
            s.unknown_values,
            vec![
                "component status \"700\" → degraded_performance".to_string(),
                "incident state \"400\" → investigating".to_string(),
            ]
        );
        let m = &s.maintenances[0];
        assert_eq!(m.status, MaintenanceStatus::Scheduled);
        assert_eq!(m.scheduled_for, time("2024-06-01T00:00:00Z"));
        assert!(m.updates.is_empty());
    }

    #[test]
    fn documents_are_the_source_or_the_page() {
        let page = Url::parse(GITLAB).unwrap();
        let source = Url::parse(DOCKER).unwrap();
        assert_eq!(Statusio.documents(&page, None), vec![page.clone()]);
        assert_eq!(Statusio.documents(&page, Some(&source)), vec![source]);
    }

    #[test]
    fn rejects_other_formats() {
        for other in [
            "statuspage/github-summary-2026-07-24-critical.json",
            "gcp/incidents.json",
            "aws/status-data.json",
            "slack/current-active-incidents.json",
            "atom/github-history.atom",
        ] {
            let err = parse_at(DOCKER, &fixture(other)).unwrap_err();
            assert!(
                matches!(err, ParseError::NotThisFormat { .. }),
                "{other}: {err:?}"
            );
        }
    }

    #[test]
    fn truncated_and_hostile_input_is_an_error() {
        let full = fixture("statusio/gitlab-status-planned-maintenance.json");
        assert!(parse_at(GITLAB, &full[..full.len() / 2]).is_err());
        assert!(parse_at(GITLAB, b"").is_err());
        assert!(parse_at(GITLAB, &[0xff, 0xfe, 0x00, 0x7b]).is_err());
        let deep = "[".repeat(100_000);
        assert!(parse_at(GITLAB, deep.as_bytes()).is_err());
        let wrong_type = br#"{"result":{"status_overall":{},"status":[{"containers":{}}]}}"#;
        assert!(matches!(
            parse_at(GITLAB, wrong_type),
            Err(ParseError::BadValue { .. })
        ));
    }

    /// Every cut of the real documents fails to parse, and no corrupted byte panics.
    #[test]
    fn cut_or_corrupted_documents_never_panic() {
        for name in [
            "statusio/docker-status-partial-disruption.json",
            "statusio/gitlab-status-planned-maintenance.json",
            "statusio/gitlab-status-security-issue.json",
        ] {
            let full = fixture(name);
            let stride = (full.len() / 200).max(1);
            for cut in (0..full.len().saturating_sub(8)).step_by(stride) {
                assert!(
                    parse_at(GITLAB, &full[..cut]).is_err(),
                    "{name} cut at {cut}"
                );
            }
            for at in (0..full.len()).step_by(stride) {
                let mut corrupted = full.clone();
                if let Some(byte) = corrupted.get_mut(at) {
                    *byte ^= 0x5a;
                }
                let _ = parse_at(GITLAB, &corrupted);
            }
        }
    }
}
