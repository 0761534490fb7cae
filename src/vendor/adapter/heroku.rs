//! Heroku's status API (`api/v4/current-status`): the colour of each system, the open
//! incidents and the scheduled maintenances, each with its updates. Pure: bytes in, snapshot
//! out.
//!
//! # Endpoint
//!
//! With no explicit source: `<page>/api/v4/current-status` (`https://status.heroku.com`).
//!
//! # Shape
//!
//! `{status: [{system, status}], incidents: [...], scheduled: [...]}`. A document is Heroku's
//! when `status` is an array of `{system, ...}` objects and `incidents` or `scheduled` is an
//! array; anything else is [`ParseError::NotThisFormat`]. Incidents and maintenances share one
//! record shape: `{id, title, created_at, updated_at, resolved, upcoming, status_dev,
//! status_prod, full_url, updates: [{id, created_at, update_type, contents, status_dev,
//! status_prod}]}`.
//!
//! # Mapping
//!
//! Values are compared case-insensitively; every fallback is recorded in `unknown_values`.
//!
//! - system colour green, yellow, red, blue → operational, degraded_performance, major_outage,
//!   under_maintenance; anything else → degraded_performance.
//! - incident `update_type` investigating and issue → investigating; identified, monitoring,
//!   resolved → the same; update → the previous update's status (investigating first);
//!   anything else → investigating.
//! - maintenance `update_type` scheduled → scheduled; maintenance → in_progress; monitoring →
//!   verifying; resolved and completed → completed; update → the previous update's status
//!   (scheduled first); anything else → scheduled.
//!
//! Every system is a component keyed by its name (Apps, Data, Tools); there are no groups.
//! Records in `scheduled` are maintenances, and so is a record in `incidents` whose updates
//! include a `scheduled` or `maintenance` one. A record is over when its `resolved` flag is set
//! or its latest update is a `resolved` one; otherwise its status is its latest update's.
//!
//! Heroku gives no impact: it is derived with [`IncidentImpact::from_component_status`] from
//! the worst colour the record and its updates show for production and development, and is
//! minor for an open incident (none for a closed one) when no colour is readable.
//!
//! # Times
//!
//! An incident starts at the earliest of `created_at` and its first update, and ends at its
//! last `resolved` update (else `updated_at`). A maintenance runs from its first `maintenance`
//! update (the work starting; else `created_at`) to its `resolved` update. Updates are sorted
//! oldest first; anything undated uses the fetch time.
//!
//! # What the format cannot tell us
//!
//! The announced maintenance window exists only in prose (the title and the `scheduled`
//! update), so an upcoming maintenance is dated by its announcement. Records name production
//! and development colours, not systems, so `component_ids` stay empty. The endpoint lists the
//! current state, so it covers components, open incidents and open maintenances.

use super::text::{self, html_to_text, parse_time};
use super::text::{json_true as flag, trimmed_scalar as scalar};
use super::{at_path, Adapter, AdapterKind, Document, ParseError};
use crate::domain::status::{ComponentStatus, IncidentImpact, IncidentStatus, MaintenanceStatus};
use crate::domain::time::Timestamp;
use crate::vendor::model::{
    VendorComponent, VendorIncident, VendorMaintenance, VendorMaintenanceUpdate, VendorSnapshot,
    VendorUpdate,
};
use serde::Deserialize;
use serde_json::Value;
use url::Url;

const FORMAT: &str = "Heroku";

pub struct Heroku;

impl Adapter for Heroku {
    fn kind(&self) -> AdapterKind {
        AdapterKind::Heroku
    }

    fn documents(&self, page: &Url, source: Option<&Url>) -> Vec<Url> {
        match source {
            Some(source) => vec![source.clone()],
            None => vec![at_path(page, "/api/v4/current-status")],
        }
    }

    fn parse(&self, doc: &Document<'_>) -> Result<VendorSnapshot, ParseError> {
        let body = doc.body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(doc.body);
        let value: Value =
            serde_json::from_slice(body).map_err(|err| not_this(format!("not JSON: {err}")))?;
        check_shape(&value).map_err(|detail| not_this(detail.to_string()))?;
        let current: CurrentStatus =
            serde_json::from_value(value).map_err(|err| ParseError::BadValue {
                format: FORMAT,
                at: "document".to_string(),
                detail: err.to_string(),
            })?;

        let mut snapshot = VendorSnapshot::default();
        snapshot.coverage.components = true;
        snapshot.coverage.open_incidents = true;
        snapshot.coverage.open_maintenances = true;
        for system in current.status {
            let Some(name) = system.system else {
                continue;
            };
            let colour = system.status.as_deref().unwrap_or("");
            let status = colour_status(colour).unwrap_or_else(|| {
                text::unknown(
                    &mut snapshot.unknown_values,
                    "component status",
                    colour,
                    ComponentStatus::DegradedPerformance,
                )
            });
            snapshot.components.push(VendorComponent {
                external_id: name.clone(),
                name,
                status,
                group: None,
                description: None,
            });
        }

        let records = current
            .incidents
            .unwrap_or_default()
            .into_iter()
            .map(|record| (record, false))
            .chain(
                current
                    .scheduled
                    .unwrap_or_default()
                    .into_iter()
                    .map(|record| (record, true)),
            );
        for (record, listed_as_maintenance) in records {
            if listed_as_maintenance || is_maintenance(&record) {
                let maintenance = maintenance(record, doc, &mut snapshot.unknown_values);
                snapshot.maintenances.push(maintenance);
            } else {
                let incident = incident(record, doc, &mut snapshot.unknown_values);
                snapshot.incidents.push(incident);
            }
        }
        Ok(snapshot)
    }
}

#[derive(Deserialize)]
struct CurrentStatus {
    status: Vec<RawSystem>,
    #[serde(default)]
    incidents: Option<Vec<RawRecord>>,
    #[serde(default)]
    scheduled: Option<Vec<RawRecord>>,
}

#[derive(Deserialize)]
struct RawSystem {
    #[serde(default, deserialize_with = "scalar")]
    system: Option<String>,
    #[serde(default, deserialize_with = "scalar")]
    status: Option<String>,
}

#[derive(Deserialize)]
struct RawRecord {
    #[serde(default, deserialize_with = "scalar")]
    id: Option<String>,
    #[serde(default, deserialize_with = "scalar")]
    title: Option<String>,
    #[serde(default, deserialize_with = "scalar")]
    created_at: Option<String>,
    #[serde(default, deserialize_with = "scalar")]
    updated_at: Option<String>,
    #[serde(default, deserialize_with = "flag")]
    resolved: bool,
    #[serde(default, deserialize_with = "scalar")]
    status_dev: Option<String>,
    #[serde(default, deserialize_with = "scalar")]
    status_prod: Option<String>,
    #[serde(default, deserialize_with = "scalar")]
    full_url: Option<String>,
    #[serde(default)]
    updates: Option<Vec<RawUpdate>>,
}

#[derive(Deserialize)]
struct RawUpdate {
    #[serde(default, deserialize_with = "scalar")]
    id: Option<String>,
    #[serde(default, deserialize_with = "scalar")]
    created_at: Option<String>,
    #[serde(default, deserialize_with = "scalar")]
    updated_at: Option<String>,
    #[serde(default, deserialize_with = "scalar")]
    update_type: Option<String>,
    #[serde(default, deserialize_with = "scalar")]
    contents: Option<String>,
    #[serde(default, deserialize_with = "scalar")]
    status_dev: Option<String>,
    #[serde(default, deserialize_with = "scalar")]
    status_prod: Option<String>,
}

/// An update with its time read, before its type is mapped.
struct Step {
    id: Option<String>,
    kind: String,
    body: String,
    at: Timestamp,
}

fn not_this(detail: String) -> ParseError {
    ParseError::NotThisFormat {
        format: FORMAT,
        detail,
    }
}

/// The keys that make a document Heroku's current status.
fn check_shape(value: &Value) -> Result<(), &'static str> {
    let Some(map) = value.as_object() else {
        return Err("not a JSON object");
    };
    let Some(systems) = map.get("status").and_then(Value::as_array) else {
        return Err("no `status` array of systems");
    };
    if !systems
        .iter()
        .all(|s| s.get("system").is_some_and(Value::is_string))
    {
        return Err("a `status` entry has no `system` name");
    }
    if map.get("incidents").is_some_and(Value::is_array)
        || map.get("scheduled").is_some_and(Value::is_array)
    {
        Ok(())
    } else {
        Err("no `incidents` or `scheduled` array")
    }
}

fn colour_status(colour: &str) -> Option<ComponentStatus> {
    match colour.to_ascii_lowercase().as_str() {
        "green" => Some(ComponentStatus::Operational),
        "yellow" => Some(ComponentStatus::DegradedPerformance),
        "red" => Some(ComponentStatus::MajorOutage),
        "blue" => Some(ComponentStatus::UnderMaintenance),
        _ => None,
    }
}

fn is_maintenance(record: &RawRecord) -> bool {
    record.updates.iter().flatten().any(|u| {
        matches!(
            u.update_type
                .as_deref()
                .map(str::to_ascii_lowercase)
                .as_deref(),
            Some("scheduled" | "maintenance")
        )
    })
}

fn incident(record: RawRecord, doc: &Document<'_>, notes: &mut Vec<String>) -> VendorIncident {
    let worst = worst_colour(&record);
    let url = record_url(&record, doc);
    let steps = steps(record.updates.unwrap_or_default(), doc.fetched_at);

    let mut updates: Vec<VendorUpdate> = Vec::with_capacity(steps.len());
    for step in steps {
        let previous = updates.last().map(|u| u.status);
        let status = match step.kind.as_str() {
            "investigating" | "issue" => IncidentStatus::Investigating,
            "identified" => IncidentStatus::Identified,
            "monitoring" => IncidentStatus::Monitoring,
            "resolved" => IncidentStatus::Resolved,
            "update" => previous.unwrap_or(IncidentStatus::Investigating),
            other => text::unknown(
                notes,
                "incident update type",
                other,
                IncidentStatus::Investigating,
            ),
        };
        updates.push(VendorUpdate {
            external_id: step.id,
            status,
            body: step.body,
            at: step.at,
        });
    }

    let latest = updates.last().map(|u| u.status);
    let status = if record.resolved {
        IncidentStatus::Resolved
    } else {
        latest.unwrap_or(IncidentStatus::Investigating)
    };
    let impact = match worst {
        Some(_) => IncidentImpact::from_component_status(worst),
        None if status.is_closed() => IncidentImpact::None,
        None => IncidentImpact::Minor,
    };
    let started_at = [time(&record.created_at), updates.first().map(|u| u.at)]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(doc.fetched_at);
    let resolved_at = status.is_closed().then(|| {
        updates
            .iter()
            .rev()
            .find(|u| u.status == IncidentStatus::Resolved)
            .map(|u| u.at)
            .or_else(|| time(&record.updated_at))
            .unwrap_or(doc.fetched_at)
            .max(started_at)
    });

    VendorIncident {
        external_id: record.id,
        name: record.title.unwrap_or_default(),
        status,
        impact,
        started_at,
        resolved_at,
        url,
        component_ids: Vec::new(),
        updates,
    }
}

fn maintenance(
    record: RawRecord,
    doc: &Document<'_>,
    notes: &mut Vec<String>,
) -> VendorMaintenance {
    let url = record_url(&record, doc);
    let steps = steps(record.updates.unwrap_or_default(), doc.fetched_at);

    let mut updates: Vec<VendorMaintenanceUpdate> = Vec::with_capacity(steps.len());
    let mut work_started = None;
    for step in steps {
        let previous = updates.last().map(|u| u.status);
        let status = match step.kind.as_str() {
            "scheduled" => MaintenanceStatus::Scheduled,
            "maintenance" => MaintenanceStatus::InProgress,
            "monitoring" => MaintenanceStatus::Verifying,
            "resolved" | "completed" => MaintenanceStatus::Completed,
            "update" => previous.unwrap_or(MaintenanceStatus::Scheduled),
            other => text::unknown(
                notes,
                "maintenance update type",
                other,
                MaintenanceStatus::Scheduled,
            ),
        };
        if status == MaintenanceStatus::InProgress && work_started.is_none() {
            work_started = Some(step.at);
        }
        updates.push(VendorMaintenanceUpdate {
            external_id: step.id,
            status,
            body: step.body,
            at: step.at,
        });
    }

    let latest = updates.last().map(|u| u.status);
    let status = if record.resolved {
        MaintenanceStatus::Completed
    } else {
        latest.unwrap_or(MaintenanceStatus::Scheduled)
    };
    let scheduled_for = work_started
        .or_else(|| time(&record.created_at))
        .or_else(|| updates.first().map(|u| u.at))
        .unwrap_or(doc.fetched_at);
    let scheduled_until = (status == MaintenanceStatus::Completed)
        .then(|| {
            updates
                .iter()
                .rev()
                .find(|u| u.status == MaintenanceStatus::Completed)
                .map(|u| u.at.max(scheduled_for))
        })
        .flatten();

    VendorMaintenance {
        external_id: record.id,
        name: record.title.unwrap_or_default(),
        status,
        scheduled_for,
        scheduled_until,
        url,
        component_ids: Vec::new(),
        updates,
    }
}

/// The record's updates, oldest first. Heroku lists them newest first; reversing before a
/// stable sort keeps the vendor's order among updates with the same time.
fn steps(raw: Vec<RawUpdate>, fetched_at: Timestamp) -> Vec<Step> {
    let mut steps: Vec<Step> = raw
        .into_iter()
        .rev()
        .map(|u| Step {
            at: time(&u.created_at)
                .or_else(|| time(&u.updated_at))
                .unwrap_or(fetched_at),
            id: u.id,
            kind: u.update_type.unwrap_or_default().to_ascii_lowercase(),
            body: u.contents.as_deref().map(body_text).unwrap_or_default(),
        })
        .collect();
    steps.sort_by_key(|s| s.at);
    steps
}

/// The worst colour the record or any of its updates shows, production or development.
fn worst_colour(record: &RawRecord) -> Option<ComponentStatus> {
    let own = [&record.status_dev, &record.status_prod];
    let from_updates = record
        .updates
        .iter()
        .flatten()
        .flat_map(|u| [&u.status_dev, &u.status_prod]);
    ComponentStatus::worst(
        own.into_iter()
            .chain(from_updates)
            .filter_map(|c| c.as_deref().and_then(colour_status)),
    )
}

/// `full_url`, else `/incidents/<id>` on the host the document came from (where Heroku's own
/// `full_url`s point).
fn record_url(record: &RawRecord, doc: &Document<'_>) -> Option<String> {
    if let Some(url) = record.full_url.as_deref() {
        if url.starts_with("https://") || url.starts_with("http://") {
            return Some(url.to_string());
        }
    }
    let id = record.id.as_deref()?;
    let mut url = at_path(doc.url, "/");
    url.path_segments_mut()
        .ok()?
        .pop_if_empty()
        .extend(["incidents", id]);
    Some(url.to_string())
}

/// Plain text from an update body: HTML becomes text, and plain text loses its CRLFs and the
/// spaces at the ends of its lines.
fn body_text(raw: &str) -> String {
    html_to_text(&raw.replace("\r\n", "\n"))
        .lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
}

fn time(value: &Option<String>) -> Option<Timestamp> {
    value.as_deref().and_then(parse_time)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vendor::model::Coverage;

    fn fixture(path: &str) -> Vec<u8> {
        let full = format!("{}/../shared/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&full).unwrap_or_else(|err| panic!("read {full}: {err}"))
    }

    fn fetched_at() -> Timestamp {
        Timestamp::parse("2030-01-01T00:00:00Z").unwrap()
    }

    fn parse_bytes(body: &[u8]) -> Result<VendorSnapshot, ParseError> {
        let url = Url::parse("https://status.heroku.com/api/v4/current-status").unwrap();
        Heroku.parse(&Document {
            url: &url,
            content_type: Some("application/json"),
            body,
            fetched_at: fetched_at(),
        })
    }

    fn at(s: &str) -> Timestamp {
        parse_time(s).unwrap()
    }

    #[test]
    fn current_status_with_a_finished_maintenance() {
        let s = parse_bytes(&fixture("heroku/current-status-maintenance.json")).unwrap();
        assert_eq!(s.page_name, None);
        assert_eq!(
            s.coverage,
            Coverage {
                components: true,
                open_incidents: true,
                open_maintenances: true,
            }
        );
        let components: Vec<_> = s
            .components
            .iter()
            .map(|c| (c.external_id.as_str(), c.name.as_str(), c.status))
            .collect();
        assert_eq!(
            components,
            [
                ("Apps", "Apps", ComponentStatus::Operational),
                ("Data", "Data", ComponentStatus::UnderMaintenance),
                ("Tools", "Tools", ComponentStatus::Operational),
            ]
        );
        assert!(s.components.iter().all(|c| c.group.is_none()));
        assert!(s.incidents.is_empty());
        assert!(s.unknown_values.is_empty(), "{:?}", s.unknown_values);

        assert_eq!(s.maintenances.len(), 1);
        let m = &s.maintenances[0];
        assert_eq!(m.external_id.as_deref(), Some("2120"));
        assert_eq!(
            m.name,
            "Data Service Update on Monday, November 9 at 19:00 UTC (14:00 EST)"
        );
        assert_eq!(m.status, MaintenanceStatus::Completed);
        // The work started with the first `maintenance` update and ended with `resolved`.
        assert_eq!(m.scheduled_for, at("2020-11-09T19:01:10.522Z"));
        assert_eq!(m.scheduled_until, Some(at("2020-11-09T19:47:23.669Z")));
        assert_eq!(
            m.url.as_deref(),
            Some("https://status.heroku.com/incidents/2120")
        );
        assert!(m.component_ids.is_empty());
        let updates: Vec<_> = m
            .updates
            .iter()
            .map(|u| (u.external_id.as_deref().unwrap(), u.status))
            .collect();
        assert_eq!(
            updates,
            [
                ("6685", MaintenanceStatus::Scheduled),
                ("6690", MaintenanceStatus::InProgress),
                ("6691", MaintenanceStatus::InProgress),
                ("6692", MaintenanceStatus::Completed),
            ]
        );
        assert_eq!(m.updates[0].at, at("2020-10-30T00:55:34.418Z"));
        assert_eq!(
            m.updates[1].body,
            "The scheduled service update is now underway.\n\n\
             We'll post more updates as necessary or when the service update is complete."
        );
        assert!(m.updates.iter().all(|u| !u.body.contains('\r')));
    }

    #[test]
    fn open_incident_takes_its_latest_update_type() {
        let body = r#"{
            "status": [{"system": "Apps", "status": "yellow"}, {"system": "Data", "status": "red"},
                       {"system": "Tools", "status": "purple"}],
            "incidents": [
                {"id": 1918, "title": "Connection timeouts", "created_at": "2019-10-24T18:39:30.231Z",
                 "resolved": false, "status_dev": "yellow", "status_prod": "yellow",
                 "full_url": "https://status.heroku.com/incidents/1918",
                 "updates": [
                    {"id": 6093, "created_at": "2019-10-24T19:30:00Z", "update_type": "monitoring", "contents": "Watching."},
                    {"id": 6092, "created_at": "2019-10-24T19:00:00Z", "update_type": "update", "contents": "Still on it."},
                    {"id": 6091, "created_at": "2019-10-24T18:49:47.743Z", "update_type": "issue", "contents": "Timeouts.", "status_prod": "red"},
                    {"id": 6090, "created_at": "2019-10-24T18:39:30.231Z", "update_type": "investigating", "contents": "Looking."}
                 ]},
                {"id": 7, "title": "Old", "resolved": true, "updated_at": "2019-10-20T10:00:00Z",
                 "updates": [{"id": 70, "created_at": "2019-10-20T09:00:00Z", "update_type": "wobble", "contents": "?"}]}
            ],
            "scheduled": []
        }"#;
        let s = parse_bytes(body.as_bytes()).unwrap();
        assert_eq!(s.components[0].status, ComponentStatus::DegradedPerformance);
        assert_eq!(s.components[1].status, ComponentStatus::MajorOutage);
        assert_eq!(s.components[2].status, ComponentStatus::DegradedPerformance);
        assert_eq!(s.incidents.len(), 2);
        let open = &s.incidents[0];
        assert_eq!(open.external_id.as_deref(), Some("1918"));
        assert_eq!(open.status, IncidentStatus::Monitoring);
        // Worst colour seen: red on production.
        assert_eq!(open.impact, IncidentImpact::Critical);
        assert_eq!(open.started_at, at("2019-10-24T18:39:30.231Z"));
        assert_eq!(open.resolved_at, None);
        let statuses: Vec<_> = open.updates.iter().map(|u| u.status).collect();
        assert_eq!(
            statuses,
            [
                IncidentStatus::Investigating,
                IncidentStatus::Investigating,
                IncidentStatus::Investigating,
                IncidentStatus::Monitoring,
            ]
        );
        let old = &s.incidents[1];
        assert_eq!(old.status, IncidentStatus::Resolved);
        assert_eq!(old.impact, IncidentImpact::None);
        assert_eq!(old.resolved_at, Some(at("2019-10-20T10:00:00Z")));
        assert_eq!(
            old.url.as_deref(),
            Some("https://status.heroku.com/incidents/7")
        );
        assert_eq!(
            s.unknown_values,
            [
                "component status \"purple\" → degraded_performance",
                "incident update type \"wobble\" → investigating",
            ]
        );
    }

    #[test]
    fn other_formats_are_rejected() {
        for path in [
            "statuspage/github-summary-packages-incident.json",
            "statuspage/github-status-minor.json",
            "incidentio/openai-summary-compat-minor.json",
            "instatus/perplexity-summary-major.json",
            "slack/current-active-incidents.json",
            "checkly/mistral-unresolved-incidents.json",
            "statusio/gitlab-status-planned-maintenance.json",
            "salesforce/trust-instances-status.json",
            "aws/health-currentevents-utf16be-bom.json",
            "rss/parse-history.rss",
        ] {
            let result = parse_bytes(&fixture(path));
            assert!(
                matches!(result, Err(ParseError::NotThisFormat { .. })),
                "{path}: {result:?}"
            );
        }
    }

    #[test]
    fn truncated_and_hostile_input_is_an_error() {
        let body = fixture("heroku/current-status-maintenance.json");
        assert!(parse_bytes(&body[..body.len() / 2]).is_err());
        for cut in (0..body.trim_ascii_end().len()).step_by(7) {
            assert!(parse_bytes(&body[..cut]).is_err(), "cut at {cut}");
        }
        let deep = format!("{{\"status\":[],\"incidents\":{}", "[".repeat(100_000));
        for hostile in [
            b"".as_slice(),
            b"\xc3\x28",
            br#"{"status":[{"system":"Apps"}],"incidents":[{"updates":{}}]}"#,
            br#"{"status":[{"status":"green"}],"incidents":[]}"#,
            br#"{"status":[]}"#,
            deep.as_bytes(),
        ] {
            assert!(parse_bytes(hostile).is_err());
        }
    }

    #[test]
    fn documents_come_from_the_page_or_the_source() {
        let page = Url::parse("https://status.heroku.com/").unwrap();
        assert_eq!(
            Heroku.documents(&page, None),
            [Url::parse("https://status.heroku.com/api/v4/current-status").unwrap()]
        );
        let source = Url::parse("https://mirror.example/heroku.json").unwrap();
        assert_eq!(
            Heroku.documents(&page, Some(&source)),
            std::slice::from_ref(&source)
        );
    }
}
