//! Better Stack (Better Uptime) status pages: the public JSON:API document every page serves at
//! `<page>/index.json`. `data` is the status page (`type` `status_page`, `attributes` with
//! `company_name` and the page's `aggregate_state`); `included` holds the
//! `status_page_section`s, the `status_page_resource`s (the rows of the page), the
//! `status_report`s (incidents and maintenances) and their `status_update`s.
//!
//! `documents`: the operator's `source` when given, otherwise `<page origin>/index.json`.
//!
//! A document is this format when `data.type` is `status_page` and `data.attributes` has an
//! `aggregate_state`.
//!
//! Components: one per resource, in the document's order; `external_id` is the resource id
//! (what reports and updates refer to), `name` its `public_name`, `group` the name of its
//! section (none when the section is unnamed), `description` its `explanation`.
//!
//! | resource `status` | component status |
//! |---|---|
//! | `operational` | operational |
//! | `degraded` | degraded_performance |
//! | `downtime` | major_outage |
//! | `maintenance` | under_maintenance |
//! | `not_monitored` | operational (nothing says it is broken) |
//! | anything else | degraded_performance, noted |
//!
//! Reports: `report_type` `manual` and `automatic` are incidents, `maintenance` is a
//! maintenance; any other type is read as an incident and noted. Updates come from the report's
//! `relationships.status_updates` (or an update's own `status_report_id`), sorted oldest first;
//! bodies are the `message` text.
//!
//! An incident is `resolved` when the report's `aggregate_state` is `resolved`, its `ends_at`
//! has passed, or its latest update sets every affected resource to `resolved`; otherwise it is
//! `investigating` (Better Stack has no identified or monitoring stage). An update is `resolved`
//! when it sets every resource it names to `resolved`, and so is the last update of a resolved
//! incident; the others are `investigating`. `resolved_at` is `ends_at`, else the latest update,
//! else the fetch time. `started_at` is `starts_at`, else the earliest update. The impact comes
//! from the worst resource state the report and its updates ever set, through
//! `IncidentImpact::from_component_status` (`downtime` → critical, `degraded` → minor); a
//! report that sets none is minor while open and none once resolved. The url is
//! `<page origin>/incident/<report id>`.
//!
//! | affected-resource `status` | read as |
//! |---|---|
//! | `resolved`, `operational` | operational |
//! | `degraded` | degraded_performance |
//! | `downtime` | major_outage |
//! | `maintenance` | under_maintenance |
//! | anything else | degraded_performance, noted |
//!
//! A maintenance's status comes from the clock and `starts_at`/`ends_at`: before the start
//! `scheduled`, inside the window `in_progress`, after the end (or once the report's
//! `aggregate_state` is `resolved`) `completed`. Each update gets the status the clock gave at
//! its `published_at`, never later than the maintenance's own. Maintenances get no url: the
//! format does not say where a maintenance's page is.
//!
//! | report `aggregate_state` | meaning |
//! |---|---|
//! | `resolved` | closed (incident resolved, maintenance completed) |
//! | `operational`, `degraded`, `downtime`, `maintenance` | open |
//! | anything else | open, noted |
//!
//! Coverage: components, open incidents and open maintenances: the document is the whole page,
//! which shows every resource, every open report and every upcoming maintenance.
//!
//! What the format cannot tell us: identified and monitoring stages, a maintenance's own page,
//! and the per-day `status_history` (not mapped).

use super::text::Id;
use super::{at_path, text, Adapter, AdapterKind, Document, ParseError};
use crate::domain::status::{ComponentStatus, IncidentImpact, IncidentStatus, MaintenanceStatus};
use crate::domain::time::Timestamp;
use crate::vendor::model::{
    Coverage, VendorComponent, VendorIncident, VendorMaintenance, VendorMaintenanceUpdate,
    VendorSnapshot, VendorUpdate,
};
use serde::de::IgnoredAny;
use serde::Deserialize;
use std::collections::HashMap;
use url::Url;

const FORMAT: &str = "Better Stack";

pub struct Betterstack;

impl Adapter for Betterstack {
    fn kind(&self) -> AdapterKind {
        AdapterKind::Betterstack
    }

    fn documents(&self, page: &Url, source: Option<&Url>) -> Vec<Url> {
        match source {
            Some(source) => vec![source.clone()],
            None => vec![at_path(page, "/index.json")],
        }
    }

    fn parse(&self, doc: &Document<'_>) -> Result<VendorSnapshot, ParseError> {
        check_format(doc.body)?;
        let index: Index =
            serde_json::from_slice(doc.body).map_err(|err| ParseError::BadValue {
                format: FORMAT,
                at: format!("line {} column {}", err.line(), err.column()),
                detail: err.to_string(),
            })?;
        Ok(snapshot(index, doc))
    }
}

/// The keys that make a document a Better Stack page, and nothing else, so that a document of
/// another shape is told apart from a Better Stack page with a bad value.
#[derive(Deserialize)]
struct Probe {
    data: Option<ProbeData>,
}

#[derive(Deserialize)]
struct ProbeData {
    #[serde(rename = "type")]
    kind: Option<String>,
    attributes: Option<ProbeAttributes>,
}

#[derive(Deserialize)]
struct ProbeAttributes {
    aggregate_state: Option<IgnoredAny>,
}

fn check_format(body: &[u8]) -> Result<(), ParseError> {
    let not_this = |detail: String| ParseError::NotThisFormat {
        format: FORMAT,
        detail,
    };
    let probe: Probe = serde_json::from_slice(body)
        .map_err(|err| not_this(format!("not a JSON:API status page: {err}")))?;
    let data = probe
        .data
        .ok_or_else(|| not_this("no `data` object".into()))?;
    if data.kind.as_deref() != Some("status_page") {
        return Err(not_this("`data.type` is not `status_page`".into()));
    }
    match data.attributes {
        Some(ProbeAttributes {
            aggregate_state: Some(_),
        }) => Ok(()),
        _ => Err(not_this("no `data.attributes.aggregate_state`".into())),
    }
}

#[derive(Deserialize)]
struct Index {
    data: Page,
    #[serde(default)]
    included: Option<Vec<Included>>,
}

#[derive(Deserialize)]
struct Page {
    attributes: PageAttributes,
}

#[derive(Deserialize)]
struct PageAttributes {
    #[serde(default)]
    company_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(tag = "type")]
enum Included {
    #[serde(rename = "status_page_section")]
    Section {
        id: Id,
        attributes: SectionAttributes,
    },
    #[serde(rename = "status_page_resource")]
    Resource {
        id: Id,
        attributes: ResourceAttributes,
    },
    #[serde(rename = "status_report")]
    Report {
        id: Id,
        attributes: ReportAttributes,
        #[serde(default)]
        relationships: Option<ReportRelationships>,
    },
    #[serde(rename = "status_update")]
    Update {
        id: Id,
        attributes: UpdateAttributes,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct SectionAttributes {
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
struct ResourceAttributes {
    #[serde(default)]
    status_page_section_id: Option<Id>,
    #[serde(default)]
    public_name: Option<String>,
    #[serde(default)]
    explanation: Option<String>,
    #[serde(default)]
    status: Option<String>,
}

#[derive(Deserialize)]
struct ReportAttributes {
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    report_type: Option<String>,
    #[serde(default)]
    starts_at: Option<String>,
    #[serde(default)]
    ends_at: Option<String>,
    #[serde(default)]
    affected_resources: Option<Vec<Affected>>,
    #[serde(default)]
    aggregate_state: Option<String>,
}

#[derive(Deserialize)]
struct ReportRelationships {
    #[serde(default)]
    status_updates: Option<RelationshipList>,
}

#[derive(Deserialize)]
struct RelationshipList {
    #[serde(default)]
    data: Option<Vec<Reference>>,
}

#[derive(Deserialize)]
struct Reference {
    id: Id,
}

#[derive(Deserialize)]
struct UpdateAttributes {
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    published_at: Option<String>,
    #[serde(default)]
    affected_resources: Option<Vec<Affected>>,
    #[serde(default)]
    status_report_id: Option<Id>,
}

#[derive(Deserialize)]
struct Affected {
    #[serde(default)]
    status_page_resource_id: Option<Id>,
    #[serde(default)]
    status: Option<String>,
}

struct Report {
    id: String,
    attributes: ReportAttributes,
    update_ids: Vec<String>,
}

/// A status update, read.
struct Update {
    id: String,
    body: String,
    at: Option<Timestamp>,
    /// The states it sets, as component statuses, with whether each was `resolved`.
    states: Vec<(ComponentStatus, bool)>,
    resource_ids: Vec<String>,
}

fn snapshot(index: Index, doc: &Document<'_>) -> VendorSnapshot {
    let now = doc.fetched_at;
    let mut snapshot = VendorSnapshot {
        page_name: index
            .data
            .attributes
            .company_name
            .as_deref()
            .and_then(non_empty)
            .map(str::to_string),
        coverage: Coverage {
            components: true,
            open_incidents: true,
            open_maintenances: true,
        },
        ..VendorSnapshot::default()
    };
    let notes = &mut snapshot.unknown_values;

    let mut sections: HashMap<String, Option<String>> = HashMap::new();
    let mut resources: Vec<(Id, ResourceAttributes)> = Vec::new();
    let mut reports: Vec<Report> = Vec::new();
    let mut updates: HashMap<String, Update> = HashMap::new();
    let mut update_owner: Vec<(String, String)> = Vec::new();

    for item in index.included.unwrap_or_default() {
        match item {
            Included::Section { id, attributes } => {
                let name = attributes
                    .name
                    .as_deref()
                    .and_then(non_empty)
                    .map(str::to_string);
                sections.insert(id.0, name);
            }
            Included::Resource { id, attributes } => resources.push((id, attributes)),
            Included::Report {
                id,
                attributes,
                relationships,
            } => {
                let update_ids = relationships
                    .and_then(|r| r.status_updates)
                    .and_then(|list| list.data)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|reference| reference.id.0)
                    .collect();
                reports.push(Report {
                    id: id.0,
                    attributes,
                    update_ids,
                });
            }
            Included::Update { id, attributes } => {
                if let Some(report) = &attributes.status_report_id {
                    update_owner.push((report.0.clone(), id.0.clone()));
                }
                let affected = attributes.affected_resources.unwrap_or_default();
                let update = Update {
                    id: id.0.clone(),
                    body: text::html_to_text(attributes.message.as_deref().unwrap_or_default()),
                    at: attributes
                        .published_at
                        .as_deref()
                        .and_then(text::parse_time),
                    states: affected_states(notes, &affected),
                    resource_ids: affected_ids(&affected),
                };
                updates.insert(id.0, update);
            }
            Included::Other => {}
        }
    }

    for (id, resource) in resources {
        let status = match resource.status.as_deref() {
            Some("operational") | Some("not_monitored") | None => ComponentStatus::Operational,
            Some("degraded") => ComponentStatus::DegradedPerformance,
            Some("downtime") => ComponentStatus::MajorOutage,
            Some("maintenance") => ComponentStatus::UnderMaintenance,
            Some(other) => text::unknown(
                notes,
                "resource status",
                other,
                ComponentStatus::DegradedPerformance,
            ),
        };
        let group = resource
            .status_page_section_id
            .and_then(|section| sections.get(&section.0).cloned().flatten());
        snapshot.components.push(VendorComponent {
            name: resource
                .public_name
                .as_deref()
                .and_then(non_empty)
                .unwrap_or(&id.0)
                .to_string(),
            external_id: id.0,
            status,
            group,
            description: resource
                .explanation
                .as_deref()
                .and_then(non_empty)
                .map(str::to_string),
        });
    }

    for mut report in reports {
        for (owner, update) in &update_owner {
            if *owner == report.id && !report.update_ids.contains(update) {
                report.update_ids.push(update.clone());
            }
        }
        let mut own: Vec<Update> = report
            .update_ids
            .iter()
            .filter_map(|id| updates.remove(id))
            .collect();
        own.sort_by_key(|update| update.at);

        match report.attributes.report_type.as_deref() {
            Some("maintenance") => {
                let maintenance = maintenance(report, own, now);
                snapshot.maintenances.push(maintenance);
            }
            kind => {
                if let Some(other) = kind.filter(|k| !matches!(*k, "manual" | "automatic")) {
                    text::unknown(notes, "status report type", other, "incident");
                }
                let incident = incident(report, own, doc, notes);
                snapshot.incidents.push(incident);
            }
        }
    }
    snapshot
}

fn non_empty(s: &str) -> Option<&str> {
    let s = s.trim();
    (!s.is_empty()).then_some(s)
}

/// The state an affected-resource entry sets, and whether it is `resolved`.
fn affected_state(notes: &mut Vec<String>, status: &str) -> (ComponentStatus, bool) {
    match status {
        "resolved" => (ComponentStatus::Operational, true),
        "operational" => (ComponentStatus::Operational, false),
        "degraded" => (ComponentStatus::DegradedPerformance, false),
        "downtime" => (ComponentStatus::MajorOutage, false),
        "maintenance" => (ComponentStatus::UnderMaintenance, false),
        other => (
            text::unknown(
                notes,
                "affected resource status",
                other,
                ComponentStatus::DegradedPerformance,
            ),
            false,
        ),
    }
}

fn affected_states(notes: &mut Vec<String>, affected: &[Affected]) -> Vec<(ComponentStatus, bool)> {
    affected
        .iter()
        .filter_map(|a| a.status.as_deref())
        .map(|status| affected_state(notes, status))
        .collect()
}

fn affected_ids(affected: &[Affected]) -> Vec<String> {
    affected
        .iter()
        .filter_map(|a| a.status_page_resource_id.as_ref())
        .map(|id| id.0.clone())
        .collect()
}

fn all_resolved(states: &[(ComponentStatus, bool)]) -> bool {
    !states.is_empty() && states.iter().all(|(_, resolved)| *resolved)
}

/// Whether the report's `aggregate_state` says it is closed.
fn closed_state(notes: &mut Vec<String>, state: Option<&str>) -> bool {
    match state {
        Some("resolved") => true,
        None | Some("operational" | "degraded" | "downtime" | "maintenance") => false,
        Some(other) => {
            text::unknown(notes, "status report state", other, "open");
            false
        }
    }
}

fn component_ids(report: &Report, updates: &[Update]) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    let own = affected_ids(
        report
            .attributes
            .affected_resources
            .as_deref()
            .unwrap_or_default(),
    );
    for id in own
        .iter()
        .chain(updates.iter().flat_map(|u| u.resource_ids.iter()))
    {
        if !ids.contains(id) {
            ids.push(id.clone());
        }
    }
    ids
}

fn incident(
    report: Report,
    updates: Vec<Update>,
    doc: &Document<'_>,
    notes: &mut Vec<String>,
) -> VendorIncident {
    let now = doc.fetched_at;
    let attributes = &report.attributes;
    let ends_at = attributes.ends_at.as_deref().and_then(text::parse_time);
    let resolved = closed_state(notes, attributes.aggregate_state.as_deref())
        || ends_at.is_some_and(|end| end <= now)
        || updates.last().is_some_and(|u| all_resolved(&u.states));

    let report_states = affected_states(
        notes,
        attributes.affected_resources.as_deref().unwrap_or_default(),
    );
    let worst = ComponentStatus::worst(
        report_states
            .iter()
            .chain(updates.iter().flat_map(|u| u.states.iter()))
            .map(|(status, _)| *status),
    );
    let impact = match IncidentImpact::from_component_status(worst) {
        IncidentImpact::None if !resolved => IncidentImpact::Minor,
        impact => impact,
    };

    let started_at = attributes
        .starts_at
        .as_deref()
        .and_then(text::parse_time)
        .or_else(|| updates.iter().filter_map(|u| u.at).min())
        .unwrap_or(now);
    let resolved_at = resolved.then(|| {
        ends_at
            .or_else(|| updates.iter().filter_map(|u| u.at).max())
            .unwrap_or(now)
    });

    let component_ids = component_ids(&report, &updates);
    let count = updates.len();
    let updates = updates
        .into_iter()
        .enumerate()
        .map(|(i, update)| VendorUpdate {
            status: if all_resolved(&update.states) || (resolved && i + 1 == count) {
                IncidentStatus::Resolved
            } else {
                IncidentStatus::Investigating
            },
            external_id: Some(update.id),
            at: update.at.unwrap_or(started_at),
            body: update.body,
        })
        .collect();

    VendorIncident {
        name: attributes
            .title
            .as_deref()
            .and_then(non_empty)
            .map(str::to_string)
            .unwrap_or_else(|| format!("Status report {}", report.id)),
        status: if resolved {
            IncidentStatus::Resolved
        } else {
            IncidentStatus::Investigating
        },
        impact,
        started_at,
        resolved_at,
        url: Some(at_path(doc.url, &format!("/incident/{}", report.id)).to_string()),
        component_ids,
        updates,
        external_id: Some(report.id),
    }
}

fn maintenance_rank(status: MaintenanceStatus) -> u8 {
    match status {
        MaintenanceStatus::Scheduled => 0,
        MaintenanceStatus::InProgress => 1,
        MaintenanceStatus::Verifying => 2,
        MaintenanceStatus::Completed => 3,
    }
}

/// Where a window stands at `at`, by the clock alone.
fn by_clock(at: Timestamp, start: Timestamp, end: Option<Timestamp>) -> MaintenanceStatus {
    if at < start {
        MaintenanceStatus::Scheduled
    } else if end.is_some_and(|end| at >= end) {
        MaintenanceStatus::Completed
    } else {
        MaintenanceStatus::InProgress
    }
}

fn maintenance(report: Report, updates: Vec<Update>, now: Timestamp) -> VendorMaintenance {
    let attributes = &report.attributes;
    let scheduled_for = attributes
        .starts_at
        .as_deref()
        .and_then(text::parse_time)
        .or_else(|| updates.iter().filter_map(|u| u.at).min())
        .unwrap_or(now);
    let scheduled_until = attributes.ends_at.as_deref().and_then(text::parse_time);
    // A maintenance report's state is `maintenance` while open and `resolved` once over;
    // other open states are not noted here, as the clock decides.
    let status = if attributes.aggregate_state.as_deref() == Some("resolved") {
        MaintenanceStatus::Completed
    } else {
        by_clock(now, scheduled_for, scheduled_until)
    };

    let component_ids = component_ids(&report, &updates);
    let updates = updates
        .into_iter()
        .map(|update| {
            let at = update.at.unwrap_or(scheduled_for);
            let mut then = by_clock(at, scheduled_for, scheduled_until);
            if all_resolved(&update.states) {
                then = MaintenanceStatus::Completed;
            }
            VendorMaintenanceUpdate {
                external_id: Some(update.id),
                status: if maintenance_rank(then) > maintenance_rank(status) {
                    status
                } else {
                    then
                },
                body: update.body,
                at,
            }
        })
        .collect();

    VendorMaintenance {
        name: attributes
            .title
            .as_deref()
            .and_then(non_empty)
            .map(str::to_string)
            .unwrap_or_else(|| format!("Maintenance {}", report.id)),
        status,
        scheduled_for,
        scheduled_until,
        url: None,
        component_ids,
        updates,
        external_id: Some(report.id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(path: &str) -> Vec<u8> {
        let full = format!("{}/../shared/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&full).unwrap_or_else(|err| panic!("{full}: {err}"))
    }

    fn at(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    fn parse_at(body: &[u8], fetched_at: &str) -> Result<VendorSnapshot, ParseError> {
        let url = Url::parse("https://status.huggingface.co/index.json").unwrap();
        Betterstack.parse(&Document {
            url: &url,
            content_type: Some("application/json"),
            body,
            fetched_at: at(fetched_at),
        })
    }

    /// The capture's time (the page's `updated_at` is 13:15:53Z that day).
    const CAPTURED: &str = "2026-07-19T14:42:50Z";

    fn parse(body: &[u8]) -> Result<VendorSnapshot, ParseError> {
        parse_at(body, CAPTURED)
    }

    #[test]
    fn reads_the_hugging_face_page() {
        let snapshot = parse(&fixture("betterstack/huggingface-index-downtime.json")).unwrap();
        assert_eq!(snapshot.page_name.as_deref(), Some("Hugging Face"));
        assert_eq!(
            snapshot.coverage,
            Coverage {
                components: true,
                open_incidents: true,
                open_maintenances: true
            }
        );
        assert!(
            snapshot.unknown_values.is_empty(),
            "{:?}",
            snapshot.unknown_values
        );

        let components: Vec<(&str, &str, Option<&str>, ComponentStatus)> = snapshot
            .components
            .iter()
            .map(|c| {
                (
                    c.external_id.as_str(),
                    c.name.as_str(),
                    c.group.as_deref(),
                    c.status,
                )
            })
            .collect();
        use ComponentStatus::{MajorOutage, Operational};
        assert_eq!(
            components,
            [
                (
                    "84641",
                    "Huggingface Hub",
                    Some("Current status by service"),
                    Operational
                ),
                (
                    "84642",
                    "Git Hosting and Serving",
                    Some("Current status by service"),
                    Operational
                ),
                (
                    "8379104",
                    "Inference Endpoints UI",
                    Some("Inference Endpoints"),
                    Operational
                ),
                (
                    "8379105",
                    "Inference Endpoints API",
                    Some("Inference Endpoints"),
                    Operational
                ),
                ("306621", "Spaces Proxy", Some("Spaces"), MajorOutage),
                ("8810148", "AWS CDN", Some("CDN"), Operational),
                ("8810143", "Google cloud CDN", Some("CDN"), Operational),
                ("8951453", "Jobs", Some("Jobs"), Operational),
            ]
        );
        assert_eq!(
            snapshot.components[0].description.as_deref(),
            Some("huggingface.co")
        );
        assert_eq!(snapshot.components[2].description, None);

        let ids: Vec<_> = snapshot
            .incidents
            .iter()
            .map(|i| i.external_id.as_deref().unwrap())
            .collect();
        assert_eq!(ids, ["919822", "939240", "965809"]);
        assert!(snapshot
            .incidents
            .iter()
            .all(|i| i.status == IncidentStatus::Resolved));

        let slowness = &snapshot.incidents[0];
        assert_eq!(slowness.name, "Data serving slowness in Asia region");
        assert_eq!(slowness.impact, IncidentImpact::Minor);
        assert_eq!(slowness.started_at, at("2026-06-10T07:00:00Z"));
        assert_eq!(slowness.resolved_at, Some(at("2026-06-10T10:50:00Z")));
        assert_eq!(slowness.component_ids, ["8810148"]);
        assert_eq!(
            slowness.url.as_deref(),
            Some("https://status.huggingface.co/incident/919822")
        );

        // The document lists this report's updates out of order.
        let hub = &snapshot.incidents[2];
        assert_eq!(hub.name, "Hub unavailable");
        assert_eq!(hub.impact, IncidentImpact::Critical);
        assert_eq!(hub.component_ids, ["84641", "84642", "8379104"]);
        let timeline: Vec<_> = hub
            .updates
            .iter()
            .map(|u| (u.external_id.as_deref().unwrap(), u.status, u.at))
            .collect();
        assert_eq!(
            timeline,
            [
                (
                    "5410504",
                    IncidentStatus::Investigating,
                    at("2026-07-16T08:30:00Z")
                ),
                (
                    "5410587",
                    IncidentStatus::Investigating,
                    at("2026-07-16T08:43:00Z")
                ),
                (
                    "5410962",
                    IncidentStatus::Resolved,
                    at("2026-07-16T10:07:00Z")
                ),
            ]
        );
        assert_eq!(
            hub.updates[1].body,
            "We are mitigating the issue, and services are coming back up."
        );
        assert_eq!(hub.resolved_at, Some(at("2026-07-16T10:07:00Z")));

        assert_eq!(snapshot.maintenances.len(), 2);
        let jobs = &snapshot.maintenances[0];
        assert_eq!(jobs.external_id.as_deref(), Some("946090"));
        assert_eq!(jobs.name, "Scheduled maintenance: Jobs");
        assert_eq!(jobs.status, MaintenanceStatus::Completed);
        assert_eq!(jobs.scheduled_for, at("2026-07-08T07:00:36Z"));
        assert_eq!(jobs.scheduled_until, Some(at("2026-07-08T08:00:36Z")));
        assert_eq!(jobs.component_ids, ["8951453"]);
        let statuses: Vec<_> = jobs.updates.iter().map(|u| u.status).collect();
        assert_eq!(
            statuses,
            [MaintenanceStatus::InProgress, MaintenanceStatus::Completed]
        );
        assert_eq!(jobs.updates[1].body, "Maintenance ended");

        let endpoints = &snapshot.maintenances[1];
        assert_eq!(endpoints.external_id.as_deref(), Some("961899"));
        assert_eq!(endpoints.status, MaintenanceStatus::Scheduled);
        assert_eq!(endpoints.component_ids, ["8379104", "8379105"]);
        assert_eq!(endpoints.updates.len(), 1);
        assert_eq!(endpoints.updates[0].status, MaintenanceStatus::Scheduled);
        assert_eq!(endpoints.url, None);
    }

    #[test]
    fn the_upcoming_maintenance_follows_the_clock() {
        let body = fixture("betterstack/huggingface-index-downtime.json");
        let during = parse_at(&body, "2026-07-22T07:30:00Z").unwrap();
        assert_eq!(during.maintenances[1].status, MaintenanceStatus::InProgress);
        assert_eq!(
            during.maintenances[1].updates[0].status,
            MaintenanceStatus::InProgress
        );
        let after = parse_at(&body, "2026-07-22T09:00:00Z").unwrap();
        assert_eq!(after.maintenances[1].status, MaintenanceStatus::Completed);
    }

    #[test]
    fn an_open_report_and_unknown_values() {
        let body = br#"{"data": {"id": "1", "type": "status_page",
            "attributes": {"company_name": "Acme", "aggregate_state": "degraded"}},
          "included": [
            {"id": "10", "type": "status_page_section", "attributes": {"name": ""}},
            {"id": "20", "type": "status_page_resource",
             "attributes": {"status_page_section_id": 10, "public_name": "API", "status": "smoldering"}},
            {"id": "30", "type": "status_report",
             "attributes": {"title": "API slow", "report_type": "automatic", "starts_at": "2026-01-01T10:00:00Z",
                            "ends_at": null, "aggregate_state": "degraded",
                            "affected_resources": [{"status_page_resource_id": "20", "status": "degraded"}]}},
            {"id": "40", "type": "status_update",
             "attributes": {"message": "<p>Looking into it</p>", "published_at": "2026-01-01T10:05:00Z",
                            "status_report_id": 30,
                            "affected_resources": [{"status_page_resource_id": 20, "status": "degraded"}]}},
            {"id": "50", "type": "something_else", "attributes": {}}
          ]}"#;
        let snapshot = parse_at(body, "2026-01-01T11:00:00Z").unwrap();
        assert_eq!(
            snapshot.unknown_values,
            ["resource status \"smoldering\" → degraded_performance"]
        );
        assert_eq!(snapshot.components[0].group, None);
        let incident = &snapshot.incidents[0];
        assert_eq!(incident.status, IncidentStatus::Investigating);
        assert_eq!(incident.resolved_at, None);
        assert_eq!(incident.impact, IncidentImpact::Minor);
        assert_eq!(incident.component_ids, ["20"]);
        assert_eq!(incident.updates.len(), 1);
        assert_eq!(incident.updates[0].body, "Looking into it");
        assert_eq!(incident.updates[0].status, IncidentStatus::Investigating);
    }

    #[test]
    fn rejects_other_formats() {
        for other in [
            "statuspage/github-summary-all-operational.json",
            "salesforce/trust-instances-status.json",
            "checkly/mistral-unresolved-incidents.json",
            "statusio/docker-status-partial-disruption.json",
            "rss/github-history.rss",
        ] {
            match parse(&fixture(other)) {
                Err(ParseError::NotThisFormat { .. }) => {}
                result => panic!("{other}: {result:?}"),
            }
        }
        // JSON:API, but not a status page.
        let other_api =
            br#"{"data": {"id": "1", "type": "incident", "attributes": {}}, "included": []}"#;
        assert!(matches!(
            parse(other_api),
            Err(ParseError::NotThisFormat { .. })
        ));
    }

    #[test]
    fn truncated_and_mistyped_documents_fail() {
        let body = fixture("betterstack/huggingface-index-downtime.json");
        assert!(parse(&body[..body.len() / 2]).is_err());
        let whole = body.trim_ascii_end();
        assert!(parse(&whole[..whole.len() - 1]).is_err());
        let mistyped = br#"{"data": {"type": "status_page", "attributes": {"aggregate_state": "operational"}},
                            "included": [{"id": "1", "type": "status_report", "attributes": {"title": 5}}]}"#;
        assert!(matches!(parse(mistyped), Err(ParseError::BadValue { .. })));
    }

    #[test]
    fn documents_are_the_index() {
        let page = Url::parse("https://status.huggingface.co/").unwrap();
        assert_eq!(
            Betterstack.documents(&page, None),
            [Url::parse("https://status.huggingface.co/index.json").unwrap()]
        );
        let source = Url::parse("https://example.test/custom.json").unwrap();
        assert_eq!(
            Betterstack.documents(&page, Some(&source)),
            vec![source.clone()]
        );
    }
}
