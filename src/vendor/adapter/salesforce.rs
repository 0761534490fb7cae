//! Salesforce Trust: the public Trust Status API's instance list,
//! `GET https://api.status.salesforce.com/v1/instances/status/preview`. The document is a JSON
//! array with one object per instance (`key` such as `NA137`, `location`, `environment`,
//! `releaseVersion`, `isActive`, `status`), each carrying the `Incidents` and `Maintenances`
//! that touch it (plus `Products` and `Tags`, which Pharos does not use).
//!
//! `documents`: the operator's `source` when given; otherwise, for a page on
//! `status.salesforce.com`, `https://api.status.salesforce.com/v1/instances/status/preview`, and
//! for any other page (a mirror or a test server) `<page origin>/v1/instances/status/preview`.
//!
//! A document is this format when it is a non-empty array whose every element is an object with
//! `key`, `status` and at least one of `location`, `environment` or `Incidents`. An empty array
//! is rejected: it has nothing that makes it a Trust document, and the real endpoint is never
//! empty.
//!
//! Components: one per instance, in the document's order; `external_id` and `name` are the
//! instance key, `group` is the `location` (`NA`, `EMEA`, `APAC`: the Trust site groups
//! instances by region, and the environment is a property of an instance rather than a place),
//! and `description` says the environment, the release and whether the instance is inactive.
//!
//! | instance `status` | component status |
//! |---|---|
//! | `OK` | operational |
//! | `INFORMATIONAL_CORE`, `INFORMATIONAL_NONCORE` | operational (a notice, no impact) |
//! | `MAINTENANCE_CORE`, `MAINTENANCE_NONCORE` | under_maintenance |
//! | `MINOR_INCIDENT_CORE`, `MINOR_INCIDENT_NONCORE` | degraded_performance (Trust's "performance degradation") |
//! | `MAJOR_INCIDENT_CORE` | major_outage (Trust's "service disruption" of the core service) |
//! | `MAJOR_INCIDENT_NONCORE` | partial_outage (a disruption of a non-core service; the core is up) |
//! | anything else | degraded_performance, noted |
//!
//! Incidents: an incident that touches several instances is listed under each; it is emitted
//! once per `id`, with every instance it was listed under (and its own `instanceKeys`) as
//! `component_ids`. Trust incidents have no title, so the name is built from the first impact's
//! `type` and the instances (`Performance degradation asynchronous processing subset on NA137`).
//! An incident is resolved when it has impacts and every `IncidentImpacts[].endTime` has
//! passed (`resolved_at` is the latest of them); otherwise it is open and `investigating`: Trust
//! has no identified or monitoring stage. `started_at` is the earliest impact `startTime`, else
//! `createdAt`, else the earliest event. Updates are the `IncidentEvents`, oldest first, all
//! `investigating` except the last of a resolved incident, which is `resolved`. The url is
//! `https://status.salesforce.com/incidents/<id>`.
//!
//! | `IncidentImpacts[].severity` (worst wins) | impact |
//! |---|---|
//! | `minor` | minor |
//! | `major` | major |
//! | anything else | minor, noted |
//! | no impacts | from the worst status of the affected instances, else minor while open and none once resolved |
//!
//! Maintenances: de-duplicated by `id` like incidents; `scheduled_for`/`scheduled_until` are
//! `plannedStartTime`/`plannedEndTime`. Trust gives no lifecycle status, so it comes from the
//! clock: before the start `scheduled`, between start and end (or while a `MaintenanceImpacts`
//! entry is open) `in_progress`, after the end `completed`; `message.eventStatus` `canceled`
//! (or `cancelled`) is `completed`, `confirmed` and `tentative` keep the clock's answer, and
//! any other value is noted. Each `MaintenanceEvents` entry gets the status the clock gave at
//! its time, never later than the maintenance's own. The url is
//! `https://status.salesforce.com/maintenances/<id>`.
//!
//! Coverage: `components` and `open_incidents`, as the endpoint lists every instance and the
//! incidents on each. (The fixture is truncated to its first 289 of 1528 instances; the live
//! endpoint lists them all.) Not `open_maintenances`: the preview shows the maintenances near
//! in time, not every one scheduled.
//!
//! What the format cannot tell us: incident titles, identified/monitoring stages, which
//! products (as opposed to instances) an incident touches in Pharos's terms (`serviceKeys` and
//! `Products` are not mapped), and the `message.rootCause` / `actionPlan` texts, which are
//! not updates.

use super::text::{non_empty, Id};
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

const FORMAT: &str = "Salesforce Trust";
const PREVIEW_PATH: &str = "/v1/instances/status/preview";
const TRUST_SITE: &str = "https://status.salesforce.com";

pub struct Salesforce;

impl Adapter for Salesforce {
    fn kind(&self) -> AdapterKind {
        AdapterKind::Salesforce
    }

    fn documents(&self, page: &Url, source: Option<&Url>) -> Vec<Url> {
        if let Some(source) = source {
            return vec![source.clone()];
        }
        if page.host_str() == Some("status.salesforce.com") {
            if let Ok(api) =
                Url::parse("https://api.status.salesforce.com/v1/instances/status/preview")
            {
                return vec![api];
            }
        }
        vec![at_path(page, PREVIEW_PATH)]
    }

    fn parse(&self, doc: &Document<'_>) -> Result<VendorSnapshot, ParseError> {
        check_format(doc.body)?;
        let instances: Vec<Instance> =
            serde_json::from_slice(doc.body).map_err(|err| ParseError::BadValue {
                format: FORMAT,
                at: format!("line {} column {}", err.line(), err.column()),
                detail: err.to_string(),
            })?;
        Ok(snapshot(instances, doc.fetched_at))
    }
}

/// The keys that make a document a Trust instance list, and nothing else, so that a document
/// of another shape is told apart from a Trust document with a bad value.
#[derive(Deserialize)]
struct ProbeInstance {
    key: Option<IgnoredAny>,
    status: Option<IgnoredAny>,
    location: Option<IgnoredAny>,
    environment: Option<IgnoredAny>,
    #[serde(rename = "Incidents")]
    incidents: Option<IgnoredAny>,
}

fn check_format(body: &[u8]) -> Result<(), ParseError> {
    let not_this = |detail: String| ParseError::NotThisFormat {
        format: FORMAT,
        detail,
    };
    let probe: Vec<ProbeInstance> = serde_json::from_slice(body)
        .map_err(|err| not_this(format!("not a JSON array of instances: {err}")))?;
    if probe.is_empty() {
        return Err(not_this("an empty array lists no instances".into()));
    }
    for (i, instance) in probe.iter().enumerate() {
        if instance.key.is_none() || instance.status.is_none() {
            return Err(not_this(format!("element {i} has no `key` and `status`")));
        }
        if instance.location.is_none()
            && instance.environment.is_none()
            && instance.incidents.is_none()
        {
            return Err(not_this(format!(
                "element {i} has none of `location`, `environment`, `Incidents`"
            )));
        }
    }
    Ok(())
}

#[derive(Deserialize)]
struct Instance {
    key: String,
    status: String,
    #[serde(default)]
    location: Option<String>,
    #[serde(default)]
    environment: Option<String>,
    #[serde(rename = "releaseVersion", default)]
    release_version: Option<String>,
    #[serde(rename = "isActive", default)]
    is_active: Option<bool>,
    #[serde(rename = "Incidents", default)]
    incidents: Option<Vec<Incident>>,
    #[serde(rename = "Maintenances", default)]
    maintenances: Option<Vec<Maintenance>>,
}

#[derive(Deserialize)]
struct Incident {
    id: Id,
    #[serde(rename = "createdAt", default)]
    created_at: Option<String>,
    #[serde(rename = "IncidentImpacts", default)]
    impacts: Option<Vec<Impact>>,
    #[serde(rename = "IncidentEvents", default)]
    events: Option<Vec<Event>>,
    #[serde(rename = "instanceKeys", default)]
    instance_keys: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct Impact {
    #[serde(rename = "startTime", default)]
    start_time: Option<String>,
    #[serde(rename = "endTime", default)]
    end_time: Option<String>,
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    severity: Option<String>,
}

#[derive(Deserialize)]
struct Event {
    #[serde(default)]
    id: Option<Id>,
    #[serde(default)]
    message: Option<Loose>,
    #[serde(rename = "createdAt", default)]
    created_at: Option<String>,
    #[serde(rename = "updatedAt", default)]
    updated_at: Option<String>,
}

#[derive(Deserialize)]
struct Maintenance {
    id: Id,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    message: Option<MaintenanceMessage>,
    #[serde(rename = "plannedStartTime", default)]
    planned_start: Option<String>,
    #[serde(rename = "plannedEndTime", default)]
    planned_end: Option<String>,
    #[serde(rename = "createdAt", default)]
    created_at: Option<String>,
    #[serde(rename = "MaintenanceImpacts", default)]
    impacts: Option<Vec<Impact>>,
    #[serde(rename = "MaintenanceEvents", default)]
    events: Option<Vec<Event>>,
    #[serde(rename = "instanceKeys", default)]
    instance_keys: Option<Vec<String>>,
}

/// `message` of a maintenance: an object with `eventStatus` in the Trust API, tolerated in
/// any other shape (it only refines the status).
#[derive(Deserialize)]
#[serde(untagged)]
enum MaintenanceMessage {
    Fields {
        #[serde(rename = "eventStatus", default)]
        event_status: Option<String>,
    },
    Other(IgnoredAny),
}

/// A text value that may come in another shape, which is then ignored.
#[derive(Deserialize)]
#[serde(untagged)]
enum Loose {
    Text(String),
    Other(IgnoredAny),
}

impl Loose {
    fn text(&self) -> Option<&str> {
        match self {
            Loose::Text(s) => Some(s),
            Loose::Other(_) => None,
        }
    }
}

/// One incident or maintenance as listed under its first instance, with every instance that
/// lists it.
struct Listed<T> {
    record: T,
    instances: Vec<String>,
}

/// Records keyed by id, in order of first appearance.
struct Dedup<T> {
    order: Vec<Listed<T>>,
    index: HashMap<String, usize>,
}

impl<T> Dedup<T> {
    fn new() -> Self {
        Dedup {
            order: Vec::new(),
            index: HashMap::new(),
        }
    }

    fn add(&mut self, id: &str, record: T, instance: &str) {
        match self.index.get(id).and_then(|&i| self.order.get_mut(i)) {
            Some(listed) => push_unique(&mut listed.instances, instance),
            None => {
                self.index.insert(id.to_string(), self.order.len());
                self.order.push(Listed {
                    record,
                    instances: vec![instance.to_string()],
                });
            }
        }
    }
}

fn push_unique(list: &mut Vec<String>, value: &str) {
    if !list.iter().any(|v| v == value) {
        list.push(value.to_string());
    }
}

fn snapshot(instances: Vec<Instance>, now: Timestamp) -> VendorSnapshot {
    let mut snapshot = VendorSnapshot {
        coverage: Coverage {
            components: true,
            open_incidents: true,
            open_maintenances: false,
        },
        ..VendorSnapshot::default()
    };
    let mut incidents = Dedup::new();
    let mut maintenances = Dedup::new();
    let mut statuses: HashMap<String, ComponentStatus> = HashMap::new();

    for instance in instances {
        let status = instance_status(&mut snapshot.unknown_values, &instance.status);
        if statuses.insert(instance.key.clone(), status).is_none() {
            snapshot.components.push(VendorComponent {
                external_id: instance.key.clone(),
                name: instance.key.clone(),
                status,
                group: non_empty(instance.location.as_deref()).map(str::to_string),
                description: describe(&instance),
            });
        }
        for incident in instance.incidents.unwrap_or_default() {
            let id = incident.id.0.clone();
            incidents.add(&id, incident, &instance.key);
        }
        for maintenance in instance.maintenances.unwrap_or_default() {
            let id = maintenance.id.0.clone();
            maintenances.add(&id, maintenance, &instance.key);
        }
    }

    for listed in incidents.order {
        let incident = incident(listed, &statuses, now, &mut snapshot.unknown_values);
        snapshot.incidents.push(incident);
    }
    for listed in maintenances.order {
        let maintenance = maintenance(listed, now, &mut snapshot.unknown_values);
        snapshot.maintenances.push(maintenance);
    }
    snapshot
}

fn instance_status(notes: &mut Vec<String>, status: &str) -> ComponentStatus {
    match status {
        "OK" | "INFORMATIONAL_CORE" | "INFORMATIONAL_NONCORE" => ComponentStatus::Operational,
        "MAINTENANCE_CORE" | "MAINTENANCE_NONCORE" => ComponentStatus::UnderMaintenance,
        "MINOR_INCIDENT_CORE" | "MINOR_INCIDENT_NONCORE" => ComponentStatus::DegradedPerformance,
        "MAJOR_INCIDENT_CORE" => ComponentStatus::MajorOutage,
        "MAJOR_INCIDENT_NONCORE" => ComponentStatus::PartialOutage,
        other => text::unknown(
            notes,
            "instance status",
            other,
            ComponentStatus::DegradedPerformance,
        ),
    }
}

fn describe(instance: &Instance) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    parts.extend(non_empty(instance.environment.as_deref()));
    parts.extend(non_empty(instance.release_version.as_deref()));
    if instance.is_active == Some(false) {
        parts.push("inactive");
    }
    (!parts.is_empty()).then(|| parts.join(" · "))
}

fn time(s: Option<&str>) -> Option<Timestamp> {
    s.and_then(text::parse_time)
}

fn incident(
    listed: Listed<Incident>,
    statuses: &HashMap<String, ComponentStatus>,
    now: Timestamp,
    notes: &mut Vec<String>,
) -> VendorIncident {
    let Listed {
        record: incident,
        mut instances,
    } = listed;
    for key in incident.instance_keys.iter().flatten() {
        push_unique(&mut instances, key);
    }
    let impacts = incident.impacts.unwrap_or_default();

    // Resolved once every impact has ended; an impact without a readable end is still open.
    let ends: Vec<Option<Timestamp>> = impacts
        .iter()
        .map(|impact| time(impact.end_time.as_deref()).filter(|end| *end <= now))
        .collect();
    let resolved_at = if ends.is_empty() || ends.iter().any(Option::is_none) {
        None
    } else {
        ends.iter().flatten().max().copied()
    };

    let mut updates: Vec<VendorUpdate> = incident
        .events
        .unwrap_or_default()
        .into_iter()
        .filter_map(|event| {
            let body = text::html_to_text(event.message.as_ref().and_then(Loose::text)?);
            let at =
                time(event.created_at.as_deref()).or_else(|| time(event.updated_at.as_deref()))?;
            Some(VendorUpdate {
                external_id: event.id.map(|id| id.0),
                status: IncidentStatus::Investigating,
                body,
                at,
            })
        })
        .filter(|update| !update.body.is_empty())
        .collect();
    updates.sort_by_key(|update| update.at);
    if resolved_at.is_some() {
        if let Some(last) = updates.last_mut() {
            last.status = IncidentStatus::Resolved;
        }
    }

    let started_at = impacts
        .iter()
        .filter_map(|impact| time(impact.start_time.as_deref()))
        .min()
        .or_else(|| time(incident.created_at.as_deref()))
        .or_else(|| updates.first().map(|update| update.at))
        .unwrap_or(now);

    let severity = impacts
        .iter()
        .filter_map(|impact| impact.severity.as_deref())
        .map(|severity| match severity {
            "minor" => IncidentImpact::Minor,
            "major" => IncidentImpact::Major,
            other => text::unknown(notes, "incident severity", other, IncidentImpact::Minor),
        })
        .max_by_key(impact_rank);
    let impact = severity.unwrap_or_else(|| {
        let worst =
            ComponentStatus::worst(instances.iter().filter_map(|k| statuses.get(k).copied()));
        match IncidentImpact::from_component_status(worst) {
            IncidentImpact::None if resolved_at.is_none() => IncidentImpact::Minor,
            derived => derived,
        }
    });

    let name = match impacts.iter().find_map(|impact| impact.kind.as_deref()) {
        Some(kind) if !humanize(kind).is_empty() => {
            format!("{} on {}", humanize(kind), summarize(&instances))
        }
        _ => format!("Salesforce incident {}", incident.id.0),
    };

    VendorIncident {
        url: Some(format!("{TRUST_SITE}/incidents/{}", incident.id.0)),
        external_id: Some(incident.id.0),
        name,
        status: if resolved_at.is_some() {
            IncidentStatus::Resolved
        } else {
            IncidentStatus::Investigating
        },
        impact,
        started_at,
        resolved_at,
        component_ids: instances,
        updates,
    }
}

fn impact_rank(impact: &IncidentImpact) -> u8 {
    match impact {
        IncidentImpact::None => 0,
        IncidentImpact::Minor => 1,
        IncidentImpact::Major => 2,
        IncidentImpact::Critical => 3,
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

fn maintenance(
    listed: Listed<Maintenance>,
    now: Timestamp,
    notes: &mut Vec<String>,
) -> VendorMaintenance {
    let Listed {
        record: maintenance,
        mut instances,
    } = listed;
    for key in maintenance.instance_keys.iter().flatten() {
        push_unique(&mut instances, key);
    }
    let impacts = maintenance.impacts.unwrap_or_default();
    let mut events: Vec<(Option<String>, String, Timestamp)> = maintenance
        .events
        .unwrap_or_default()
        .into_iter()
        .filter_map(|event| {
            let body = text::html_to_text(event.message.as_ref().and_then(Loose::text)?);
            let at =
                time(event.created_at.as_deref()).or_else(|| time(event.updated_at.as_deref()))?;
            (!body.is_empty()).then(|| (event.id.map(|id| id.0), body, at))
        })
        .collect();
    events.sort_by_key(|(_, _, at)| *at);

    let scheduled_for = time(maintenance.planned_start.as_deref())
        .or_else(|| {
            impacts
                .iter()
                .filter_map(|impact| time(impact.start_time.as_deref()))
                .min()
        })
        .or_else(|| time(maintenance.created_at.as_deref()))
        .or_else(|| events.first().map(|(_, _, at)| *at))
        .unwrap_or(now);
    let scheduled_until = time(maintenance.planned_end.as_deref());

    let impact_open = impacts.iter().any(|impact| {
        time(impact.start_time.as_deref()).is_some_and(|start| start <= now)
            && time(impact.end_time.as_deref()).is_none_or(|end| end > now)
    });
    let clock = if impact_open {
        MaintenanceStatus::InProgress
    } else {
        by_clock(now, scheduled_for, scheduled_until)
    };
    let event_status = match &maintenance.message {
        Some(MaintenanceMessage::Fields { event_status }) => event_status.as_deref(),
        _ => None,
    };
    let status = match event_status {
        None | Some("confirmed") | Some("tentative") => clock,
        Some("canceled") | Some("cancelled") => MaintenanceStatus::Completed,
        Some(other) => text::unknown(notes, "maintenance eventStatus", other, clock),
    };

    let updates = events
        .into_iter()
        .map(|(external_id, body, at)| {
            let then = by_clock(at, scheduled_for, scheduled_until);
            VendorMaintenanceUpdate {
                external_id,
                status: if maintenance_rank(then) > maintenance_rank(status) {
                    status
                } else {
                    then
                },
                body,
                at,
            }
        })
        .collect();

    VendorMaintenance {
        url: Some(format!("{TRUST_SITE}/maintenances/{}", maintenance.id.0)),
        name: non_empty(maintenance.name.as_deref())
            .map(str::to_string)
            .unwrap_or_else(|| format!("Salesforce maintenance {}", maintenance.id.0)),
        external_id: Some(maintenance.id.0),
        status,
        scheduled_for,
        scheduled_until,
        component_ids: instances,
        updates,
    }
}

/// `performanceDegradationAsynchronousProcessingSubset` as
/// `Performance degradation asynchronous processing subset`.
fn humanize(camel: &str) -> String {
    let mut out = String::new();
    for c in camel.trim().chars() {
        if c == '_' || c == '-' {
            out.push(' ');
        } else if c.is_uppercase() {
            if !out.is_empty() && !out.ends_with(' ') {
                out.push(' ');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    let mut chars = out.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => out,
    }
}

/// `NA1`, `NA1, NA2`, or `NA1, NA2, NA3 and 4 more`.
fn summarize(instances: &[String]) -> String {
    const SHOWN: usize = 3;
    let shown: Vec<&str> = instances.iter().take(SHOWN).map(String::as_str).collect();
    let rest = instances.len().saturating_sub(SHOWN);
    match (shown.is_empty(), rest) {
        (true, _) => "no instance".to_string(),
        (false, 0) => shown.join(", "),
        (false, rest) => format!("{} and {rest} more", shown.join(", ")),
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

    fn parse_at(body: &[u8], url: &str, fetched_at: &str) -> Result<VendorSnapshot, ParseError> {
        let url = Url::parse(url).unwrap();
        Salesforce.parse(&Document {
            url: &url,
            content_type: Some("application/json"),
            body,
            fetched_at: at(fetched_at),
        })
    }

    fn parse(body: &[u8]) -> Result<VendorSnapshot, ParseError> {
        parse_at(
            body,
            "https://api.status.salesforce.com/v1/instances/status/preview",
            "2020-07-29T20:00:00Z",
        )
    }

    #[test]
    fn reads_the_trust_instance_list() {
        let snapshot = parse(&fixture("salesforce/trust-instances-status.json")).unwrap();
        assert_eq!(snapshot.page_name, None);
        assert_eq!(snapshot.components.len(), 289);
        assert_eq!(
            snapshot.coverage,
            Coverage {
                components: true,
                open_incidents: true,
                open_maintenances: false
            }
        );
        assert!(
            snapshot.unknown_values.is_empty(),
            "{:?}",
            snapshot.unknown_values
        );

        let first = &snapshot.components[0];
        assert_eq!(first.external_id, "POD5");
        assert_eq!(first.group.as_deref(), Some("NA"));
        assert_eq!(first.description.as_deref(), Some("production · inactive"));
        assert_eq!(first.status, ComponentStatus::Operational);

        let na137 = snapshot
            .components
            .iter()
            .find(|c| c.external_id == "NA137")
            .unwrap();
        assert_eq!(na137.status, ComponentStatus::DegradedPerformance);
        assert_eq!(
            na137.description.as_deref(),
            Some("production · Summer '20 Patch 14.5")
        );
        let not_operational = snapshot
            .components
            .iter()
            .filter(|c| c.status != ComponentStatus::Operational)
            .count();
        assert_eq!(not_operational, 1);
        let groups: std::collections::BTreeSet<_> = snapshot
            .components
            .iter()
            .filter_map(|c| c.group.as_deref())
            .collect();
        assert_eq!(
            groups.into_iter().collect::<Vec<_>>(),
            ["APAC", "EMEA", "NA"]
        );

        assert_eq!(snapshot.incidents.len(), 1);
        let incident = &snapshot.incidents[0];
        assert_eq!(incident.external_id.as_deref(), Some("5968"));
        assert_eq!(
            incident.name,
            "Performance degradation asynchronous processing subset on NA137"
        );
        assert_eq!(incident.status, IncidentStatus::Investigating);
        assert_eq!(incident.impact, IncidentImpact::Minor);
        assert_eq!(incident.started_at, at("2020-07-29T16:08:00Z"));
        assert_eq!(incident.resolved_at, None);
        assert_eq!(incident.component_ids, ["NA137"]);
        assert!(incident.updates.is_empty());
        assert_eq!(
            incident.url.as_deref(),
            Some("https://status.salesforce.com/incidents/5968")
        );
        assert!(snapshot.maintenances.is_empty());
    }

    /// One incident under two instances, with events, an ended impact and a maintenance: the
    /// fixture's own incident, reshaped the way the API lists multi-instance incidents.
    #[test]
    fn merges_an_incident_listed_under_several_instances() {
        let body = br#"[
          {"key": "NA1", "location": "NA", "environment": "production", "status": "MAJOR_INCIDENT_CORE",
           "Incidents": [{"id": 77, "createdAt": "2023-04-02T03:39:01.680Z",
             "IncidentImpacts": [{"startTime": "2023-04-02T02:38:00.000Z", "endTime": "2023-04-02T04:06:00.000Z",
                                  "type": "serviceDisruption", "severity": "major"}],
             "IncidentEvents": [
               {"id": 9202, "type": "update", "message": "Resolved as of 04:06 UTC.", "createdAt": "2023-04-02T04:19:33.808Z"},
               {"id": 9201, "type": "update", "message": "<p>Investigating.</p>", "createdAt": "2023-04-02T03:47:10.212Z"}],
             "instanceKeys": ["NA1", "NA3"]}],
           "Maintenances": [{"id": 636660, "name": "23.4 B2C GA", "message": {"eventStatus": "confirmed"},
             "plannedStartTime": "2023-04-04T06:00:00.000Z", "plannedEndTime": "2023-04-04T11:00:00.000Z",
             "MaintenanceEvents": [{"id": 1, "type": "scheduled", "message": "This maintenance is scheduled.",
                                     "createdAt": "2023-03-27T11:21:29.793Z"}],
             "instanceKeys": ["NA1"]}]},
          {"key": "NA2", "location": "NA", "status": "SOMETHING_NEW",
           "Incidents": [{"id": "77", "IncidentImpacts": [], "IncidentEvents": []}]}
        ]"#;
        let snapshot = parse_at(
            body,
            "https://api.status.salesforce.com/v1/instances/status/preview",
            "2023-04-03T00:00:00Z",
        )
        .unwrap();
        assert_eq!(
            snapshot.unknown_values,
            ["instance status \"SOMETHING_NEW\" → degraded_performance"]
        );
        assert_eq!(snapshot.components[0].status, ComponentStatus::MajorOutage);
        assert_eq!(
            snapshot.components[1].status,
            ComponentStatus::DegradedPerformance
        );

        assert_eq!(snapshot.incidents.len(), 1);
        let incident = &snapshot.incidents[0];
        assert_eq!(incident.component_ids, ["NA1", "NA2", "NA3"]);
        assert_eq!(incident.name, "Service disruption on NA1, NA2, NA3");
        assert_eq!(incident.status, IncidentStatus::Resolved);
        assert_eq!(incident.impact, IncidentImpact::Major);
        assert_eq!(incident.resolved_at, Some(at("2023-04-02T04:06:00Z")));
        let bodies: Vec<_> = incident.updates.iter().map(|u| u.body.as_str()).collect();
        assert_eq!(bodies, ["Investigating.", "Resolved as of 04:06 UTC."]);
        assert_eq!(incident.updates[0].status, IncidentStatus::Investigating);
        assert_eq!(incident.updates[1].status, IncidentStatus::Resolved);
        assert_eq!(incident.updates[1].external_id.as_deref(), Some("9202"));

        let maintenance = &snapshot.maintenances[0];
        assert_eq!(maintenance.external_id.as_deref(), Some("636660"));
        assert_eq!(maintenance.status, MaintenanceStatus::Scheduled);
        assert_eq!(maintenance.scheduled_for, at("2023-04-04T06:00:00Z"));
        assert_eq!(
            maintenance.scheduled_until,
            Some(at("2023-04-04T11:00:00Z"))
        );
        assert_eq!(maintenance.updates[0].status, MaintenanceStatus::Scheduled);
        assert_eq!(
            maintenance.url.as_deref(),
            Some("https://status.salesforce.com/maintenances/636660")
        );

        // The same document during the window, and after it.
        let during = parse_at(body, "https://example.test/x", "2023-04-04T07:00:00Z").unwrap();
        assert_eq!(during.maintenances[0].status, MaintenanceStatus::InProgress);
        let after = parse_at(body, "https://example.test/x", "2023-04-05T00:00:00Z").unwrap();
        assert_eq!(after.maintenances[0].status, MaintenanceStatus::Completed);
    }

    #[test]
    fn an_open_incident_without_impacts_takes_its_impact_from_the_instances() {
        let body = br#"[{"key": "EU9", "location": "EMEA", "status": "MAJOR_INCIDENT_NONCORE",
                         "Incidents": [{"id": 5, "createdAt": "2024-01-01T00:00:00Z"}]}]"#;
        let snapshot = parse(body).unwrap();
        assert_eq!(
            snapshot.components[0].status,
            ComponentStatus::PartialOutage
        );
        let incident = &snapshot.incidents[0];
        assert_eq!(incident.impact, IncidentImpact::Major);
        assert_eq!(incident.status, IncidentStatus::Investigating);
        assert_eq!(incident.name, "Salesforce incident 5");
        assert_eq!(incident.started_at, at("2024-01-01T00:00:00Z"));
    }

    #[test]
    fn rejects_other_formats() {
        for other in [
            "statuspage/github-summary-all-operational.json",
            "gcp/incidents.json",
            "checkly/mistral-unresolved-incidents.json",
            "aws/health-currentevents-utf16be-bom.json",
            "atom/github-history.atom",
        ] {
            match parse(&fixture(other)) {
                Err(ParseError::NotThisFormat { .. }) => {}
                result => panic!("{other}: {result:?}"),
            }
        }
        assert!(matches!(
            parse(b"[]"),
            Err(ParseError::NotThisFormat { .. })
        ));
    }

    #[test]
    fn truncated_and_mistyped_documents_fail() {
        let body = fixture("salesforce/trust-instances-status.json");
        assert!(parse(&body[..body.len() / 2]).is_err());
        let whole = body.trim_ascii_end();
        assert!(parse(&whole[..whole.len() - 1]).is_err());
        let mistyped = br#"[{"key": "NA1", "status": "OK", "location": "NA", "Incidents": 7}]"#;
        assert!(matches!(parse(mistyped), Err(ParseError::BadValue { .. })));
    }

    #[test]
    fn documents_follow_the_page() {
        let trust = Url::parse("https://status.salesforce.com/").unwrap();
        assert_eq!(
            Salesforce.documents(&trust, None),
            [
                Url::parse("https://api.status.salesforce.com/v1/instances/status/preview")
                    .unwrap()
            ]
        );
        let mirror = Url::parse("http://127.0.0.1:8080/trust/").unwrap();
        assert_eq!(
            Salesforce.documents(&mirror, None),
            [Url::parse("http://127.0.0.1:8080/v1/instances/status/preview").unwrap()]
        );
        let source =
            Url::parse("https://api.status.salesforce.com/v1/instances/NA1/status").unwrap();
        assert_eq!(
            Salesforce.documents(&trust, Some(&source)),
            vec![source.clone()]
        );
    }
}
