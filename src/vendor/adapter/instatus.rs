//! Instatus's public summary (`{page: {name, url, status}, activeIncidents, activeMaintenances}`),
//! with Instatus's upper-case vocabulary. Pure: bytes in, snapshot out.
//!
//! # Endpoint
//!
//! With no explicit source: `<page>/api/v2/summary.json`, the path the captured Perplexity
//! summary was served from (Instatus also serves the same document at `<page>/summary.json`).
//!
//! # Shape
//!
//! A `page` object whose `status` is a string, plus either a documented page status or an
//! `activeIncidents` / `activeMaintenances` array. Statuspage documents (no `page.status`) are
//! [`ParseError::NotThisFormat`]. Instatus leaves out empty arrays, so a missing
//! `activeIncidents` means none.
//!
//! # Mapping
//!
//! Values are compared case-insensitively; every fallback is recorded in `unknown_values`.
//!
//! - incident `status` INVESTIGATING, IDENTIFIED, MONITORING, RESOLVED → investigating,
//!   identified, monitoring, resolved; anything else → investigating.
//! - incident `impact` OPERATIONAL, UNDERMAINTENANCE → none; DEGRADEDPERFORMANCE, MINOROUTAGE →
//!   minor; PARTIALOUTAGE → major; MAJOROUTAGE → critical; anything else → minor; missing →
//!   minor while open, none once resolved.
//! - maintenance `status` NOTSTARTEDYET, INPROGRESS, COMPLETED → scheduled, in_progress,
//!   completed; anything else → scheduled.
//!
//! Impact follows [`IncidentImpact::from_component_status`]: Instatus gives an incident's impact
//! in its component vocabulary (OPERATIONAL, UNDERMAINTENANCE, DEGRADEDPERFORMANCE,
//! PARTIALOUTAGE, MAJOROUTAGE, plus MINOROUTAGE on some pages), and a major outage is a
//! critical incident as Statuspage derives it. Values are compared case-insensitively.
//!
//! The page status (UP, HASISSUES, UNDERMAINTENANCE and the ALL/SOME/ONE × UNDERMAINTENANCE,
//! DEGRADEDPERFORMANCE, PARTIALOUTAGE, MINOROUTAGE, MAJOROUTAGE family) only identifies the
//! format: it is a roll-up, and an incident must never be inferred from it.
//!
//! # Times
//!
//! An incident starts at `started` (else `updatedAt`, else the fetch time); a resolved one
//! ends at `updatedAt` (else the fetch time). A maintenance runs from `start` for `duration`
//! minutes when a duration is given.
//!
//! # What the format cannot tell us
//!
//! The summary has no components (coverage.components stays false), does not say which
//! components an incident or maintenance affects, and carries no update texts, so incidents
//! have no updates. It lists every open incident (coverage.open_incidents), but is not
//! documented to list every upcoming maintenance, so maintenance coverage is not claimed.

use super::text::trimmed_scalar as scalar;
use super::text::{self, parse_time};
use super::{at_path, Adapter, AdapterKind, Document, ParseError};
use crate::domain::status::{IncidentImpact, IncidentStatus, MaintenanceStatus};
use crate::domain::time::Timestamp;
use crate::vendor::model::{VendorIncident, VendorMaintenance, VendorSnapshot};
use serde::Deserialize;
use serde_json::Value;
use url::Url;

const FORMAT: &str = "Instatus";

/// Every page status Instatus documents.
const PAGE_STATUSES: &[&str] = &[
    "UP",
    "HASISSUES",
    "UNDERMAINTENANCE",
    "ALLUNDERMAINTENANCE",
    "ALLDEGRADEDPERFORMANCE",
    "ALLPARTIALOUTAGE",
    "ALLMINOROUTAGE",
    "ALLMAJOROUTAGE",
    "SOMEUNDERMAINTENANCE",
    "SOMEDEGRADEDPERFORMANCE",
    "SOMEPARTIALOUTAGE",
    "SOMEMINOROUTAGE",
    "SOMEMAJOROUTAGE",
    "ONEUNDERMAINTENANCE",
    "ONEDEGRADEDPERFORMANCE",
    "ONEPARTIALOUTAGE",
    "ONEMINOROUTAGE",
    "ONEMAJOROUTAGE",
];

pub struct Instatus;

impl Adapter for Instatus {
    fn kind(&self) -> AdapterKind {
        AdapterKind::Instatus
    }

    fn documents(&self, page: &Url, source: Option<&Url>) -> Vec<Url> {
        match source {
            Some(source) => vec![source.clone()],
            None => vec![at_path(page, "/api/v2/summary.json")],
        }
    }

    fn parse(&self, doc: &Document<'_>) -> Result<VendorSnapshot, ParseError> {
        let body = doc.body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(doc.body);
        let value: Value =
            serde_json::from_slice(body).map_err(|err| not_this(format!("not JSON: {err}")))?;
        check_shape(&value).map_err(|detail| not_this(detail.to_string()))?;
        let summary: Summary =
            serde_json::from_value(value).map_err(|err| ParseError::BadValue {
                format: FORMAT,
                at: "document".to_string(),
                detail: err.to_string(),
            })?;

        let mut snapshot = VendorSnapshot {
            page_name: summary.page.name,
            ..VendorSnapshot::default()
        };
        snapshot.coverage.open_incidents = true;
        for raw in summary.active_incidents.unwrap_or_default() {
            let incident = incident(raw, doc.fetched_at, &mut snapshot.unknown_values);
            snapshot.incidents.push(incident);
        }
        for raw in summary.active_maintenances.unwrap_or_default() {
            let maintenance = maintenance(raw, doc.fetched_at, &mut snapshot.unknown_values);
            snapshot.maintenances.push(maintenance);
        }
        Ok(snapshot)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Summary {
    page: RawPage,
    #[serde(default)]
    active_incidents: Option<Vec<RawIncident>>,
    #[serde(default)]
    active_maintenances: Option<Vec<RawMaintenance>>,
}

#[derive(Deserialize)]
struct RawPage {
    #[serde(default, deserialize_with = "scalar")]
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawIncident {
    #[serde(default, deserialize_with = "scalar")]
    id: Option<String>,
    #[serde(default, deserialize_with = "scalar")]
    name: Option<String>,
    #[serde(default, deserialize_with = "scalar")]
    started: Option<String>,
    #[serde(default, deserialize_with = "scalar")]
    status: Option<String>,
    #[serde(default, deserialize_with = "scalar")]
    impact: Option<String>,
    #[serde(default, deserialize_with = "scalar")]
    url: Option<String>,
    #[serde(default, deserialize_with = "scalar")]
    updated_at: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMaintenance {
    #[serde(default, deserialize_with = "scalar")]
    id: Option<String>,
    #[serde(default, deserialize_with = "scalar")]
    name: Option<String>,
    #[serde(default, deserialize_with = "scalar")]
    start: Option<String>,
    #[serde(default, deserialize_with = "scalar")]
    status: Option<String>,
    /// Minutes, as a number or a numeric string.
    #[serde(default, deserialize_with = "scalar")]
    duration: Option<String>,
    #[serde(default, deserialize_with = "scalar")]
    url: Option<String>,
    #[serde(default, deserialize_with = "scalar")]
    updated_at: Option<String>,
}

fn not_this(detail: String) -> ParseError {
    ParseError::NotThisFormat {
        format: FORMAT,
        detail,
    }
}

/// The keys that make a document an Instatus summary.
fn check_shape(value: &Value) -> Result<(), &'static str> {
    let Some(map) = value.as_object() else {
        return Err("not a JSON object");
    };
    let Some(status) = map
        .get("page")
        .and_then(Value::as_object)
        .and_then(|page| page.get("status"))
        .and_then(Value::as_str)
    else {
        return Err("no `page.status` string");
    };
    let documented = PAGE_STATUSES.contains(&status.to_ascii_uppercase().as_str());
    let has_lists = map.get("activeIncidents").is_some_and(Value::is_array)
        || map.get("activeMaintenances").is_some_and(Value::is_array);
    if documented || has_lists {
        Ok(())
    } else {
        Err("`page.status` is not an Instatus page status and there is no `activeIncidents`")
    }
}

fn incident(raw: RawIncident, fetched_at: Timestamp, notes: &mut Vec<String>) -> VendorIncident {
    let status_text = raw.status.as_deref().unwrap_or("");
    let status = match status_text.to_ascii_uppercase().as_str() {
        "INVESTIGATING" => IncidentStatus::Investigating,
        "IDENTIFIED" => IncidentStatus::Identified,
        "MONITORING" => IncidentStatus::Monitoring,
        "RESOLVED" => IncidentStatus::Resolved,
        _ => text::unknown(
            notes,
            "incident status",
            status_text,
            IncidentStatus::Investigating,
        ),
    };
    let impact = match raw.impact.as_deref() {
        None if status.is_closed() => IncidentImpact::None,
        None => IncidentImpact::Minor,
        Some(value) => match value.to_ascii_uppercase().as_str() {
            "OPERATIONAL" | "UNDERMAINTENANCE" => IncidentImpact::None,
            "DEGRADEDPERFORMANCE" | "MINOROUTAGE" => IncidentImpact::Minor,
            "PARTIALOUTAGE" => IncidentImpact::Major,
            "MAJOROUTAGE" => IncidentImpact::Critical,
            _ => text::unknown(notes, "incident impact", value, IncidentImpact::Minor),
        },
    };
    let updated_at = time(&raw.updated_at);
    let started_at = time(&raw.started).or(updated_at).unwrap_or(fetched_at);
    let resolved_at = status
        .is_closed()
        .then(|| updated_at.unwrap_or(fetched_at).max(started_at));
    VendorIncident {
        external_id: raw.id,
        name: raw.name.unwrap_or_default(),
        status,
        impact,
        started_at,
        resolved_at,
        url: raw.url.filter(|u| is_http(u)),
        component_ids: Vec::new(),
        updates: Vec::new(),
    }
}

fn maintenance(
    raw: RawMaintenance,
    fetched_at: Timestamp,
    notes: &mut Vec<String>,
) -> VendorMaintenance {
    let status_text = raw.status.as_deref().unwrap_or("");
    let status = match status_text.to_ascii_uppercase().as_str() {
        "NOTSTARTEDYET" => MaintenanceStatus::Scheduled,
        "INPROGRESS" => MaintenanceStatus::InProgress,
        "COMPLETED" => MaintenanceStatus::Completed,
        _ => text::unknown(
            notes,
            "maintenance status",
            status_text,
            MaintenanceStatus::Scheduled,
        ),
    };
    let scheduled_for = time(&raw.start)
        .or_else(|| time(&raw.updated_at))
        .unwrap_or(fetched_at);
    let scheduled_until = raw
        .duration
        .as_deref()
        .and_then(|d| d.parse::<f64>().ok())
        .filter(|minutes| minutes.is_finite() && *minutes >= 0.0 && *minutes <= 1.0e7)
        .and_then(|minutes| {
            let delta = chrono::Duration::try_seconds((minutes * 60.0).round() as i64)?;
            scheduled_for
                .0
                .checked_add_signed(delta)
                .map(Timestamp::from_datetime)
        });
    VendorMaintenance {
        external_id: raw.id,
        name: raw.name.unwrap_or_default(),
        status,
        scheduled_for,
        scheduled_until,
        url: raw.url.filter(|u| is_http(u)),
        component_ids: Vec::new(),
        updates: Vec::new(),
    }
}

fn is_http(url: &str) -> bool {
    url.starts_with("https://") || url.starts_with("http://")
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
        let url = Url::parse("https://status.perplexity.com/api/v2/summary.json").unwrap();
        Instatus.parse(&Document {
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
    fn summary_with_a_major_outage() {
        let s = parse_bytes(&fixture("instatus/perplexity-summary-major.json")).unwrap();
        assert_eq!(s.page_name.as_deref(), Some("Perplexity"));
        assert!(s.components.is_empty());
        assert!(s.maintenances.is_empty());
        assert_eq!(
            s.coverage,
            Coverage {
                components: false,
                open_incidents: true,
                open_maintenances: false,
            }
        );
        assert!(s.unknown_values.is_empty(), "{:?}", s.unknown_values);
        assert_eq!(s.incidents.len(), 1);
        let i = &s.incidents[0];
        assert_eq!(i.external_id.as_deref(), Some("cmrxt1rlu000f0zlcv4dzmdlr"));
        assert_eq!(i.name, "Computer sandbox issues");
        assert_eq!(i.status, IncidentStatus::Monitoring);
        assert_eq!(i.impact, IncidentImpact::Critical);
        assert_eq!(i.started_at, at("2026-07-23T17:48:28.028Z"));
        assert_eq!(i.resolved_at, None);
        assert_eq!(
            i.url.as_deref(),
            Some("https://status.perplexity.com/cmrxt1rlu000f0zlcv4dzmdlr")
        );
        assert!(i.component_ids.is_empty() && i.updates.is_empty());
    }

    #[test]
    fn every_documented_value_maps() {
        let body = r#"{
            "page": {"name": "Acme", "url": "https://status.acme.test", "status": "HASISSUES"},
            "activeIncidents": [
                {"id": "a", "name": "A", "started": "2024-05-01T10:00:00Z", "status": "INVESTIGATING", "impact": "DEGRADEDPERFORMANCE"},
                {"id": "b", "name": "B", "started": "2024-05-01T10:00:00Z", "status": "IDENTIFIED", "impact": "PARTIALOUTAGE"},
                {"id": "c", "name": "C", "started": "2024-05-01T10:00:00Z", "status": "resolved", "impact": "OPERATIONAL",
                 "updatedAt": "2024-05-01T12:30:00Z"},
                {"id": "d", "name": "D", "status": "ASLEEP", "impact": "SEV0"},
                {"id": "e", "name": "E", "started": "2024-05-01T10:00:00Z", "status": "MONITORING", "impact": "MINOROUTAGE"},
                {"id": "f", "name": "F", "started": "2024-05-01T10:00:00Z", "status": "MONITORING"}
            ],
            "activeMaintenances": [
                {"id": "m1", "name": "Upgrade", "start": "2024-06-01T02:00:00.000Z", "status": "NOTSTARTEDYET",
                 "duration": 90, "url": "https://status.acme.test/maintenance/m1"},
                {"id": "m2", "name": "Move", "start": "2024-06-02T02:00:00Z", "status": "INPROGRESS", "duration": "30"},
                {"id": "m3", "name": "Done", "start": "2024-06-03T02:00:00Z", "status": "COMPLETED"},
                {"id": "m4", "name": "Odd", "start": "2024-06-04T02:00:00Z", "status": "PAUSED", "duration": -5}
            ]
        }"#;
        let s = parse_bytes(body.as_bytes()).unwrap();
        let incidents: Vec<_> = s.incidents.iter().map(|i| (i.status, i.impact)).collect();
        assert_eq!(
            incidents,
            [
                (IncidentStatus::Investigating, IncidentImpact::Minor),
                (IncidentStatus::Identified, IncidentImpact::Major),
                (IncidentStatus::Resolved, IncidentImpact::None),
                (IncidentStatus::Investigating, IncidentImpact::Minor),
                (IncidentStatus::Monitoring, IncidentImpact::Minor),
                (IncidentStatus::Monitoring, IncidentImpact::Minor),
            ]
        );
        assert_eq!(s.incidents[2].resolved_at, Some(at("2024-05-01T12:30:00Z")));
        // No time at all: the fetch time.
        assert_eq!(s.incidents[3].started_at, fetched_at());
        let maintenances: Vec<_> = s
            .maintenances
            .iter()
            .map(|m| (m.status, m.scheduled_for, m.scheduled_until))
            .collect();
        assert_eq!(
            maintenances,
            [
                (
                    MaintenanceStatus::Scheduled,
                    at("2024-06-01T02:00:00Z"),
                    Some(at("2024-06-01T03:30:00Z"))
                ),
                (
                    MaintenanceStatus::InProgress,
                    at("2024-06-02T02:00:00Z"),
                    Some(at("2024-06-02T02:30:00Z"))
                ),
                (
                    MaintenanceStatus::Completed,
                    at("2024-06-03T02:00:00Z"),
                    None
                ),
                (
                    MaintenanceStatus::Scheduled,
                    at("2024-06-04T02:00:00Z"),
                    None
                ),
            ]
        );
        assert_eq!(
            s.maintenances[0].url.as_deref(),
            Some("https://status.acme.test/maintenance/m1")
        );
        assert_eq!(
            s.unknown_values,
            [
                "incident status \"ASLEEP\" → investigating",
                "incident impact \"SEV0\" → minor",
                "maintenance status \"PAUSED\" → scheduled",
            ]
        );
    }

    #[test]
    fn quiet_page_without_lists() {
        let s = parse_bytes(br#"{"page":{"name":"Acme","url":"https://x.test","status":"UP"}}"#)
            .unwrap();
        assert_eq!(s.page_name.as_deref(), Some("Acme"));
        assert!(s.incidents.is_empty());
        assert!(s.coverage.open_incidents);
    }

    #[test]
    fn other_formats_are_rejected() {
        for path in [
            "statuspage/github-summary-packages-incident.json",
            "statuspage/github-status-minor.json",
            "statuspage/twilio-summary-groups-incidents.json",
            "statuspage/dropbox-components-flat.json",
            "incidentio/openai-summary-compat-minor.json",
            "heroku/current-status-maintenance.json",
            "slack/current-active-incidents.json",
            "checkly/mistral-unresolved-incidents.json",
            "gcp/incidents.json",
            "aws/health-currentevents-utf16be-bom.json",
            "atom/claude-history.atom",
        ] {
            let result = parse_bytes(&fixture(path));
            assert!(
                matches!(result, Err(ParseError::NotThisFormat { .. })),
                "{path}: {result:?}"
            );
        }
        // A `page.status` that is not Instatus's, with no Instatus lists.
        assert!(parse_bytes(br#"{"page":{"status":"ok"}}"#).is_err());
    }

    #[test]
    fn truncated_and_hostile_input_is_an_error() {
        let body = fixture("instatus/perplexity-summary-major.json");
        assert!(parse_bytes(&body[..body.len() / 2]).is_err());
        for cut in 0..body.trim_ascii_end().len() {
            assert!(parse_bytes(&body[..cut]).is_err(), "cut at {cut}");
        }
        let deep = format!(
            "{{\"page\":{{\"status\":\"UP\"}},\"activeIncidents\":{}",
            "[".repeat(100_000)
        );
        for hostile in [
            b"".as_slice(),
            b"\xff\xff",
            b"{\"page\":{\"status\":\"UP\"},\"activeIncidents\":[1]}",
            deep.as_bytes(),
        ] {
            assert!(parse_bytes(hostile).is_err());
        }
    }

    #[test]
    fn documents_come_from_the_page_or_the_source() {
        let page = Url::parse("https://status.perplexity.com/").unwrap();
        assert_eq!(
            Instatus.documents(&page, None),
            [Url::parse("https://status.perplexity.com/api/v2/summary.json").unwrap()]
        );
        let source = Url::parse("https://status.perplexity.com/summary.json").unwrap();
        assert_eq!(
            Instatus.documents(&page, Some(&source)),
            std::slice::from_ref(&source)
        );
    }
}
