//! Slack's status API, version 2.0.0: the `current` endpoint, which lists every active
//! incident, outage, notice and maintenance.
//!
//! # Endpoint
//!
//! `<page>/api/v2.0.0/current` (`https://slack-status.com/api/v2.0.0/current`, also served by
//! `status.slack.com`).
//!
//! # Shape
//!
//! `{"status": "ok" | "active", "date_created", "date_updated", "active_incidents": [{"id",
//! "date_created", "date_updated", "title", "type", "status", "url", "services": [..], "notes":
//! [{"date_created", "body"}]}]}`. A document is Slack's when it has a string `status` and an
//! `active_incidents` array; anything else is [`ParseError::NotThisFormat`]. Ids come as numbers
//! or strings and are kept as strings.
//!
//! # Mapping
//!
//! | Slack `type` | Pharos |
//! |--------------|--------|
//! | `outage`     | incident, impact `major`; its services `major_outage` |
//! | `incident`   | incident, impact `minor`; its services `partial_outage` |
//! | `notice`     | incident, impact `none`; its services `degraded_performance` |
//! | `maintenance` | a maintenance; its services `under_maintenance` while it is active |
//! | anything else | incident, impact `minor` (noted); its services `degraded_performance` |
//!
//! | Slack `status` | incident | maintenance |
//! |----------------|----------|-------------|
//! | `active`       | investigating (Slack does not say which stage) | in_progress |
//! | `resolved`     | resolved | completed |
//! | `scheduled`    | investigating (noted) | scheduled |
//! | `completed`, `cancelled` | resolved | completed |
//! | anything else  | investigating (noted) | scheduled (noted) |
//!
//! The top-level `status` ("ok" or "active") is a roll-up of the list and is not mapped; another
//! value is noted.
//!
//! Components: Slack's service list is fixed and documented (Login/SSO, Messaging,
//! Notifications, Search, Workspace/Org Administration, Canvases, Connectivity, Files, Huddles,
//! Apps/Integrations/APIs, Workflows, Posts/Files). Each is listed, keyed by its name, as
//! `operational` unless an open record names it, then with the worst status its records give
//! (table above); a service named by a record but not in the list is added after them. So
//! `coverage.components` is set, and so are `open_incidents` and `open_maintenances`: this
//! endpoint lists every active record.
//!
//! Times carry offsets (`2020-07-30T15:12:34-07:00`). A record starts at its `date_created`, else
//! its first note; a closed record ends at its `date_updated`. Notes become updates, oldest first;
//! every note carries the record's status at the time of the document (Slack gives notes no status
//! of their own), except that for a closed record only the last note is the closing one and the
//! earlier ones are the open status. A maintenance's window is not given: `scheduled_for` is its
//! `date_created` and `scheduled_until` its end when completed. `url` is the record's `url`.
//!
//! # What the format cannot tell us
//!
//! Stages of an incident (identified, monitoring), per-service severity (all services of a
//! record share its type), maintenance windows, and history (see `api/v2.0.0/history`).

use super::text::scalar_text as scalar;
use super::text::{self, html_to_text, parse_time};
use super::{at_path, Adapter, AdapterKind, Document, ParseError};
use crate::domain::status::{ComponentStatus, IncidentImpact, IncidentStatus, MaintenanceStatus};
use crate::domain::time::Timestamp;
use crate::vendor::model::{
    VendorComponent, VendorIncident, VendorMaintenance, VendorMaintenanceUpdate, VendorSnapshot,
    VendorUpdate,
};
use serde::Deserialize;
use url::Url;

const FORMAT: &str = "Slack status";

/// Slack's documented services, in the order its status page shows them.
const SERVICES: &[&str] = &[
    "Login/SSO",
    "Messaging",
    "Notifications",
    "Search",
    "Workspace/Org Administration",
    "Canvases",
    "Connectivity",
    "Files",
    "Huddles",
    "Apps/Integrations/APIs",
    "Workflows",
    "Posts/Files",
];

pub struct Slack;

impl Adapter for Slack {
    fn kind(&self) -> AdapterKind {
        AdapterKind::Slack
    }

    fn documents(&self, page: &Url, source: Option<&Url>) -> Vec<Url> {
        match source {
            Some(source) => vec![source.clone()],
            None => vec![at_path(page, "/api/v2.0.0/current")],
        }
    }

    fn parse(&self, doc: &Document<'_>) -> Result<VendorSnapshot, ParseError> {
        let current: Current =
            serde_json::from_slice(doc.body).map_err(|err| ParseError::NotThisFormat {
                format: FORMAT,
                detail: text::truncate(&err.to_string(), 200).to_string(),
            })?;
        Ok(snapshot(current, doc.fetched_at))
    }
}

#[derive(Deserialize)]
struct Current {
    /// Required, and a string: what tells this document from other formats' `status` objects.
    status: String,
    /// Required: Slack's defining key, present (empty) even when all is well.
    active_incidents: Vec<RawIncident>,
}

#[derive(Deserialize)]
struct RawIncident {
    #[serde(default, deserialize_with = "scalar")]
    id: Option<String>,
    #[serde(default, deserialize_with = "scalar")]
    date_created: Option<String>,
    #[serde(default, deserialize_with = "scalar")]
    date_updated: Option<String>,
    #[serde(default, deserialize_with = "scalar")]
    title: Option<String>,
    #[serde(default, rename = "type", deserialize_with = "scalar")]
    kind: Option<String>,
    #[serde(default, deserialize_with = "scalar")]
    status: Option<String>,
    #[serde(default, deserialize_with = "scalar")]
    url: Option<String>,
    #[serde(default)]
    services: Option<Vec<Option<String>>>,
    #[serde(default)]
    notes: Option<Vec<RawNote>>,
}

#[derive(Deserialize)]
struct RawNote {
    #[serde(default, deserialize_with = "scalar")]
    date_created: Option<String>,
    #[serde(default, deserialize_with = "scalar")]
    body: Option<String>,
}

/// What a record's `type` means for Pharos.
enum Kind {
    Incident {
        impact: IncidentImpact,
        component: ComponentStatus,
    },
    Maintenance,
}

fn kind(value: Option<&str>, notes: &mut Vec<String>) -> Kind {
    let incident = |impact, component| Kind::Incident { impact, component };
    match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        Some("outage") => incident(IncidentImpact::Major, ComponentStatus::MajorOutage),
        Some("incident") => incident(IncidentImpact::Minor, ComponentStatus::PartialOutage),
        Some("notice") => incident(IncidentImpact::None, ComponentStatus::DegradedPerformance),
        Some("maintenance") => Kind::Maintenance,
        other => {
            let impact = text::unknown(
                notes,
                "incident type",
                other.unwrap_or("(missing)"),
                IncidentImpact::Minor,
            );
            incident(impact, ComponentStatus::DegradedPerformance)
        }
    }
}

fn snapshot(current: Current, fetched_at: Timestamp) -> VendorSnapshot {
    let mut snapshot = VendorSnapshot {
        page_name: Some("Slack".to_string()),
        ..VendorSnapshot::default()
    };
    snapshot.coverage.components = true;
    snapshot.coverage.open_incidents = true;
    snapshot.coverage.open_maintenances = true;
    if !matches!(current.status.trim(), "ok" | "active") {
        text::unknown(
            &mut snapshot.unknown_values,
            "page status",
            &current.status,
            "not mapped",
        );
    }

    // Worst status per named service, in first-seen order.
    let mut affected: Vec<(String, ComponentStatus)> = Vec::new();
    for raw in current.active_incidents {
        let services: Vec<String> = raw
            .services
            .unwrap_or_default()
            .into_iter()
            .flatten()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .fold(Vec::new(), |mut acc, s| {
                if !acc.contains(&s) {
                    acc.push(s);
                }
                acc
            });
        let created = raw.date_created.as_deref().and_then(parse_time);
        let updated = raw.date_updated.as_deref().and_then(parse_time);
        let mut notes: Vec<(Timestamp, String)> = raw
            .notes
            .unwrap_or_default()
            .into_iter()
            .map(|n| {
                let at = n
                    .date_created
                    .as_deref()
                    .and_then(parse_time)
                    .or(created)
                    .unwrap_or(fetched_at);
                let body = html_to_text(&n.body.unwrap_or_default().replace("\r\n", "\n"));
                (at, body)
            })
            .collect();
        notes.sort_by_key(|(at, _)| *at);
        let started_at = created
            .or_else(|| notes.first().map(|(at, _)| *at))
            .unwrap_or(fetched_at);
        let name = raw
            .title
            .as_deref()
            .map(html_to_text)
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| "Slack incident".to_string());
        let status = raw
            .status
            .as_deref()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();

        match kind(raw.kind.as_deref(), &mut snapshot.unknown_values) {
            Kind::Maintenance => {
                let status = match status.as_str() {
                    "scheduled" => MaintenanceStatus::Scheduled,
                    "active" => MaintenanceStatus::InProgress,
                    "resolved" | "completed" | "cancelled" => MaintenanceStatus::Completed,
                    other => text::unknown(
                        &mut snapshot.unknown_values,
                        "maintenance status",
                        other,
                        MaintenanceStatus::Scheduled,
                    ),
                };
                if status.is_active() {
                    note_affected(&mut affected, &services, ComponentStatus::UnderMaintenance);
                }
                let ended_at = updated
                    .or_else(|| notes.last().map(|(at, _)| *at))
                    .unwrap_or(fetched_at)
                    .max(started_at);
                let count = notes.len();
                let updates = notes
                    .into_iter()
                    .enumerate()
                    .map(|(i, (at, body))| VendorMaintenanceUpdate {
                        external_id: None,
                        status: if status == MaintenanceStatus::Completed && i + 1 < count {
                            MaintenanceStatus::InProgress
                        } else {
                            status
                        },
                        body,
                        at,
                    })
                    .collect();
                snapshot.maintenances.push(VendorMaintenance {
                    external_id: raw.id,
                    name,
                    status,
                    scheduled_for: started_at,
                    scheduled_until: (status == MaintenanceStatus::Completed).then_some(ended_at),
                    url: raw.url,
                    component_ids: services,
                    updates,
                });
            }
            Kind::Incident { impact, component } => {
                let status = match status.as_str() {
                    "active" => IncidentStatus::Investigating,
                    "resolved" | "completed" | "cancelled" => IncidentStatus::Resolved,
                    other => text::unknown(
                        &mut snapshot.unknown_values,
                        "incident status",
                        other,
                        IncidentStatus::Investigating,
                    ),
                };
                if !status.is_closed() {
                    note_affected(&mut affected, &services, component);
                }
                let resolved_at = status.is_closed().then(|| {
                    updated
                        .or_else(|| notes.last().map(|(at, _)| *at))
                        .unwrap_or(fetched_at)
                        .max(started_at)
                });
                let count = notes.len();
                let updates = notes
                    .into_iter()
                    .enumerate()
                    .map(|(i, (at, body))| VendorUpdate {
                        external_id: None,
                        status: if status.is_closed() && i + 1 < count {
                            IncidentStatus::Investigating
                        } else {
                            status
                        },
                        body,
                        at,
                    })
                    .collect();
                snapshot.incidents.push(VendorIncident {
                    external_id: raw.id,
                    name,
                    status,
                    impact,
                    started_at,
                    resolved_at,
                    url: raw.url,
                    component_ids: services,
                    updates,
                });
            }
        }
    }

    let status_of = |name: &str| {
        affected
            .iter()
            .find(|(n, _)| n == name)
            .map_or(ComponentStatus::Operational, |(_, s)| *s)
    };
    snapshot.components = SERVICES
        .iter()
        .map(|name| component(name, status_of(name)))
        .collect();
    for (name, status) in &affected {
        if !SERVICES.contains(&name.as_str()) {
            snapshot.components.push(component(name, *status));
        }
    }
    snapshot
}

/// Raise each service's recorded status to `status` where that is worse.
fn note_affected(
    affected: &mut Vec<(String, ComponentStatus)>,
    services: &[String],
    status: ComponentStatus,
) {
    for service in services {
        match affected.iter_mut().find(|(n, _)| n == service) {
            Some((_, existing)) => {
                if status.severity() > existing.severity() {
                    *existing = status;
                }
            }
            None => affected.push((service.clone(), status)),
        }
    }
}

fn component(name: &str, status: ComponentStatus) -> VendorComponent {
    VendorComponent {
        external_id: name.to_string(),
        name: name.to_string(),
        status,
        group: None,
        description: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!("{}/../shared/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|err| panic!("{path}: {err}"))
    }

    fn ts(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    fn parse_bytes(body: &[u8]) -> Result<VendorSnapshot, ParseError> {
        let url = Url::parse("http://127.0.0.1:9/api/v2.0.0/current").unwrap();
        Slack.parse(&Document {
            url: &url,
            content_type: Some("application/json"),
            body,
            fetched_at: ts("2030-01-01T00:00:00Z"),
        })
    }

    fn status_of(s: &VendorSnapshot, name: &str) -> ComponentStatus {
        s.components
            .iter()
            .find(|c| c.external_id == name)
            .unwrap_or_else(|| panic!("no component {name}"))
            .status
    }

    #[test]
    fn active_incidents_and_their_services() {
        let s = parse_bytes(&fixture("slack/current-active-incidents.json")).unwrap();
        assert_eq!(s.page_name.as_deref(), Some("Slack"));
        assert!(s.coverage.components && s.coverage.open_incidents && s.coverage.open_maintenances);
        assert_eq!(s.unknown_values, Vec::<String>::new());
        assert!(s.maintenances.is_empty());
        assert_eq!(s.incidents.len(), 2);

        let first = &s.incidents[0];
        assert_eq!(first.external_id.as_deref(), Some("878"));
        assert_eq!(
            first.name,
            "We are investigating an issue with notification settings"
        );
        assert_eq!(first.status, IncidentStatus::Investigating);
        assert_eq!(first.impact, IncidentImpact::Minor);
        assert_eq!(first.started_at, ts("2020-07-30T22:12:34Z"));
        assert_eq!(first.resolved_at, None);
        assert_eq!(
            first.url.as_deref(),
            Some("https://status.slack.com/2020-07/ea58a170d343b2ad")
        );
        assert_eq!(first.component_ids, ["Notifications"]);
        assert_eq!(first.updates.len(), 1);
        assert_eq!(first.updates[0].at, ts("2020-07-30T22:12:34Z"));
        assert!(first.updates[0]
            .body
            .starts_with("Some users might notice that their notifications settings"));

        let second = &s.incidents[1];
        assert_eq!(second.external_id.as_deref(), Some("879"));
        assert_eq!(second.component_ids, ["Apps/Integrations/APIs"]);
        assert_eq!(second.started_at, ts("2020-07-24T17:45:08Z"));

        assert_eq!(s.components.len(), SERVICES.len());
        assert_eq!(
            status_of(&s, "Notifications"),
            ComponentStatus::PartialOutage
        );
        assert_eq!(
            status_of(&s, "Apps/Integrations/APIs"),
            ComponentStatus::PartialOutage
        );
        assert_eq!(status_of(&s, "Messaging"), ComponentStatus::Operational);
        assert_eq!(s.components[0].name, "Login/SSO");
    }

    #[test]
    fn all_well_lists_every_service_operational() {
        let ok = br#"{"status":"ok","active_incidents": [],"date_created":"2018-09-07T18:34:15-07:00","date_updated":"2018-09-07T18:34:15-07:00"}"#;
        let s = parse_bytes(ok).unwrap();
        assert!(s.incidents.is_empty());
        assert_eq!(s.components.len(), 12);
        assert!(s
            .components
            .iter()
            .all(|c| c.status == ComponentStatus::Operational));
        assert!(s.coverage.open_incidents);
    }

    #[test]
    fn types_map_to_impact_maintenance_and_service_status() {
        let doc = br#"{"status":"active","active_incidents":[
            {"id":"1","date_created":"2024-01-01T10:00:00-08:00","date_updated":"2024-01-01T11:00:00-08:00",
             "title":"Messages fail to send","type":"outage","status":"active",
             "services":["Messaging","Connections"],
             "notes":[{"date_created":"2024-01-01T10:30:00-08:00","body":"Still looking."},
                      {"date_created":"2024-01-01T10:00:00-08:00","body":"Looking.\r\nMore soon."}]},
            {"id":2,"date_created":"2024-01-01T09:00:00-08:00","title":"Search is slow","type":"notice",
             "status":"resolved","date_updated":"2024-01-01T09:30:00-08:00","services":["Search"],
             "notes":[{"date_created":"2024-01-01T09:00:00-08:00","body":"Slow."},
                      {"date_created":"2024-01-01T09:30:00-08:00","body":"Fine now."}]},
            {"id":3,"date_created":"2024-01-02T01:00:00Z","title":"Huddles upgrade","type":"maintenance",
             "status":"active","services":["Huddles"],"notes":[]},
            {"id":4,"date_created":"2024-01-02T01:00:00Z","title":"Odd","type":"hiccup",
             "status":"brewing","services":["Files"]}
        ]}"#;
        let s = parse_bytes(doc).unwrap();
        assert_eq!(s.incidents.len(), 3);
        let outage = &s.incidents[0];
        assert_eq!(outage.impact, IncidentImpact::Major);
        assert_eq!(outage.updates.len(), 2);
        assert_eq!(outage.updates[0].body, "Looking.\nMore soon.");
        assert_eq!(outage.updates[0].at, ts("2024-01-01T18:00:00Z"));

        let notice = &s.incidents[1];
        assert_eq!(notice.external_id.as_deref(), Some("2"));
        assert_eq!(notice.impact, IncidentImpact::None);
        assert_eq!(notice.status, IncidentStatus::Resolved);
        assert_eq!(notice.resolved_at, Some(ts("2024-01-01T17:30:00Z")));
        assert_eq!(
            notice.updates.iter().map(|u| u.status).collect::<Vec<_>>(),
            [IncidentStatus::Investigating, IncidentStatus::Resolved]
        );

        let odd = &s.incidents[2];
        assert_eq!(odd.impact, IncidentImpact::Minor);
        assert_eq!(odd.status, IncidentStatus::Investigating);
        assert_eq!(
            s.unknown_values,
            [
                "incident type \"hiccup\" → minor".to_string(),
                "incident status \"brewing\" → investigating".to_string()
            ]
        );

        assert_eq!(s.maintenances.len(), 1);
        let maintenance = &s.maintenances[0];
        assert_eq!(maintenance.status, MaintenanceStatus::InProgress);
        assert_eq!(maintenance.scheduled_for, ts("2024-01-02T01:00:00Z"));
        assert_eq!(maintenance.component_ids, ["Huddles"]);

        assert_eq!(status_of(&s, "Messaging"), ComponentStatus::MajorOutage);
        assert_eq!(status_of(&s, "Search"), ComponentStatus::Operational);
        assert_eq!(status_of(&s, "Huddles"), ComponentStatus::UnderMaintenance);
        assert_eq!(status_of(&s, "Files"), ComponentStatus::DegradedPerformance);
        // A service outside the documented list is added after it.
        assert_eq!(s.components.len(), 13);
        assert_eq!(s.components[12].name, "Connections");
        assert_eq!(s.components[12].status, ComponentStatus::MajorOutage);
    }

    #[test]
    fn other_documents_are_rejected() {
        for name in [
            "statuspage/github-summary-all-operational.json",
            "heroku/current-status-maintenance.json",
            "checkly/mistral-unresolved-incidents.json",
            "azure/status-feed-westus-early.rss",
            "atom/claude-history.atom",
        ] {
            let err = parse_bytes(&fixture(name)).unwrap_err();
            assert!(
                matches!(err, ParseError::NotThisFormat { .. }),
                "{name}: {err:?}"
            );
        }
        assert!(parse_bytes(b"<!DOCTYPE html><html><body>Slack</body></html>").is_err());
        assert!(parse_bytes(br#"{"status":"ok"}"#).is_err());
        let body = fixture("slack/current-active-incidents.json");
        assert!(parse_bytes(&body[..body.len() / 2]).is_err());
        assert!(parse_bytes(&[0xff, 0xfe, 0x7b]).is_err());
        let deep = format!(
            r#"{{"status":"active","active_incidents":[{}]}}"#,
            "[".repeat(100_000)
        );
        assert!(parse_bytes(deep.as_bytes()).is_err());
    }

    #[test]
    fn documents_use_the_current_endpoint() {
        let page = Url::parse("https://slack-status.com/").unwrap();
        assert_eq!(
            Slack.documents(&page, None),
            [Url::parse("https://slack-status.com/api/v2.0.0/current").unwrap()]
        );
        let source = Url::parse("https://status.slack.com/api/v2.0.0/current").unwrap();
        assert_eq!(Slack.documents(&page, Some(&source)), [source]);
    }
}
