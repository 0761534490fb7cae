//! Checkly status pages: the public unresolved-incidents endpoint of a page,
//! `<page>/api/status-page/<slug>/unresolved-incidents` (for Mistral AI,
//! `https://status.mistral.ai/api/status-page/mistral-ai/unresolved-incidents`). The document
//! is `{"incidents": [...]}`; each incident has `id`, `name`, `severity`, `lastUpdateStatus`,
//! `created_at`/`updated_at`, the affected `services` (`id`, `name`) and `incidentUpdates`
//! (`id`, `status`, `description`, `publicIncidentUpdateDate`, `created_at`).
//!
//! `documents`: the operator's `source` when given. Otherwise the page URL itself: the slug is
//! the page's name inside Checkly and is not part of its public URL in general, so the catalog
//! or the operator gives the API URL as the page or as the source.
//!
//! A document is this format when it is an object with an `incidents` array whose every
//! element has a `severity` and a `lastUpdateStatus` or `incidentUpdates`. A quiet page is
//! `{"incidents": []}`: an empty list is accepted only when `incidents` is the object's only
//! key, so the empty incident lists of other formats (Statuspage, Heroku) are not taken.
//!
//! | `severity` | impact | status of the affected services |
//! |---|---|---|
//! | `MINOR` ("most users unaffected") | minor | degraded_performance |
//! | `MEDIUM` ("some users affected") | major | partial_outage |
//! | `MAJOR` ("many users affected") | major | partial_outage |
//! | `CRITICAL` ("all users affected") | critical | major_outage |
//! | anything else | minor, noted | degraded_performance |
//!
//! Checkly has four levels and Pharos three above none, so the middle two share `major`; the
//! service status is the one `IncidentImpact::from_component_status` maps back to the impact.
//! A missing severity is minor.
//!
//! | update `status` / `lastUpdateStatus` | incident status |
//! |---|---|
//! | `INVESTIGATING` | investigating |
//! | `IDENTIFIED` | identified |
//! | `MONITORING` | monitoring |
//! | `RESOLVED` | resolved |
//! | `MAINTENANCE` | the record is a maintenance, `in_progress` (see below) |
//! | anything else | investigating, noted |
//!
//! The incident's status is `lastUpdateStatus`, else the latest update's. A record whose status
//! is `MAINTENANCE` is emitted as a maintenance in progress (its services under_maintenance,
//! updates `in_progress`, or `completed` for a `RESOLVED` one), since Checkly pages announce
//! maintenance through the same records. `started_at` is `created_at`, else the earliest
//! update; `resolved_at` (for a `RESOLVED` record, which this endpoint should not list) is the
//! latest update's time, else `updated_at`. Updates are oldest first by
//! `publicIncidentUpdateDate` (else `created_at`), bodies are the `description` text.
//!
//! Components: the affected services only (`external_id` the service id, else its name), with
//! the worst status the listed incidents give them; services with no open incident are not
//! in this document, so `coverage.components` is false. Coverage: `open_incidents` and
//! `open_maintenances`, as the endpoint lists every unresolved record of the page.
//!
//! What the format cannot tell us: the page's name, its other services, incident page urls (the
//! path of an incident page is not documented), and resolved history.

use super::text::{non_empty, Id};
use super::{text, Adapter, AdapterKind, Document, ParseError};
use crate::domain::status::{ComponentStatus, IncidentImpact, IncidentStatus, MaintenanceStatus};
use crate::domain::time::Timestamp;
use crate::vendor::model::{
    Coverage, VendorComponent, VendorIncident, VendorMaintenance, VendorMaintenanceUpdate,
    VendorSnapshot, VendorUpdate,
};
use serde::de::IgnoredAny;
use serde::Deserialize;
use std::collections::BTreeMap;
use url::Url;

const FORMAT: &str = "Checkly";

pub struct Checkly;

impl Adapter for Checkly {
    fn kind(&self) -> AdapterKind {
        AdapterKind::Checkly
    }

    fn documents(&self, page: &Url, source: Option<&Url>) -> Vec<Url> {
        vec![source.unwrap_or(page).clone()]
    }

    fn parse(&self, doc: &Document<'_>) -> Result<VendorSnapshot, ParseError> {
        check_format(doc.body)?;
        let unresolved: Unresolved =
            serde_json::from_slice(doc.body).map_err(|err| ParseError::BadValue {
                format: FORMAT,
                at: format!("line {} column {}", err.line(), err.column()),
                detail: err.to_string(),
            })?;
        Ok(snapshot(unresolved.incidents, doc.fetched_at))
    }
}

/// The keys that make a document a Checkly incident list, and nothing else, so that a document
/// of another shape is told apart from a Checkly list with a bad value.
#[derive(Deserialize)]
struct Probe {
    incidents: Option<Vec<ProbeIncident>>,
    #[serde(flatten)]
    others: BTreeMap<String, IgnoredAny>,
}

#[derive(Deserialize)]
struct ProbeIncident {
    severity: Option<IgnoredAny>,
    #[serde(rename = "lastUpdateStatus")]
    last_update_status: Option<IgnoredAny>,
    #[serde(rename = "incidentUpdates")]
    incident_updates: Option<IgnoredAny>,
}

fn check_format(body: &[u8]) -> Result<(), ParseError> {
    let not_this = |detail: String| ParseError::NotThisFormat {
        format: FORMAT,
        detail,
    };
    let probe: Probe = serde_json::from_slice(body)
        .map_err(|err| not_this(format!("not a JSON object with an incident list: {err}")))?;
    let incidents = probe
        .incidents
        .ok_or_else(|| not_this("no `incidents` array".into()))?;
    if incidents.is_empty() && !probe.others.is_empty() {
        return Err(not_this(
            "an empty `incidents` beside other keys is another format's".into(),
        ));
    }
    for (i, incident) in incidents.iter().enumerate() {
        if incident.severity.is_none()
            || (incident.last_update_status.is_none() && incident.incident_updates.is_none())
        {
            return Err(not_this(format!(
                "incident {i} has no `severity` and `lastUpdateStatus`"
            )));
        }
    }
    Ok(())
}

#[derive(Deserialize)]
struct Unresolved {
    incidents: Vec<Incident>,
}

#[derive(Deserialize)]
struct Incident {
    #[serde(default)]
    id: Option<Id>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    severity: Option<String>,
    #[serde(rename = "lastUpdateStatus", default)]
    last_update_status: Option<String>,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    updated_at: Option<String>,
    #[serde(default)]
    services: Option<Vec<Service>>,
    #[serde(rename = "incidentUpdates", default)]
    incident_updates: Option<Vec<Update>>,
}

#[derive(Deserialize)]
struct Service {
    #[serde(default)]
    id: Option<Id>,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
struct Update {
    #[serde(default)]
    id: Option<Id>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(rename = "publicIncidentUpdateDate", default)]
    public_date: Option<String>,
    #[serde(default)]
    created_at: Option<String>,
}

/// What a Checkly update or record status says.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    Incident(IncidentStatus),
    Maintenance,
}

fn stage(notes: &mut Vec<String>, status: &str) -> Stage {
    match status {
        "INVESTIGATING" => Stage::Incident(IncidentStatus::Investigating),
        "IDENTIFIED" => Stage::Incident(IncidentStatus::Identified),
        "MONITORING" => Stage::Incident(IncidentStatus::Monitoring),
        "RESOLVED" => Stage::Incident(IncidentStatus::Resolved),
        "MAINTENANCE" => Stage::Maintenance,
        other => Stage::Incident(text::unknown(
            notes,
            "incident status",
            other,
            IncidentStatus::Investigating,
        )),
    }
}

fn severity(notes: &mut Vec<String>, severity: Option<&str>) -> IncidentImpact {
    match severity {
        None | Some("MINOR") => IncidentImpact::Minor,
        Some("MEDIUM") | Some("MAJOR") => IncidentImpact::Major,
        Some("CRITICAL") => IncidentImpact::Critical,
        Some(other) => text::unknown(notes, "incident severity", other, IncidentImpact::Minor),
    }
}

/// The component status whose derived impact is `impact`.
fn service_status(impact: IncidentImpact) -> ComponentStatus {
    match impact {
        IncidentImpact::None => ComponentStatus::Operational,
        IncidentImpact::Minor => ComponentStatus::DegradedPerformance,
        IncidentImpact::Major => ComponentStatus::PartialOutage,
        IncidentImpact::Critical => ComponentStatus::MajorOutage,
    }
}

fn time(s: Option<&str>) -> Option<Timestamp> {
    s.and_then(text::parse_time)
}

/// One update, read.
struct Read {
    id: Option<String>,
    stage: Option<Stage>,
    body: String,
    at: Option<Timestamp>,
}

fn snapshot(incidents: Vec<Incident>, now: Timestamp) -> VendorSnapshot {
    let mut snapshot = VendorSnapshot {
        coverage: Coverage {
            components: false,
            open_incidents: true,
            open_maintenances: true,
        },
        ..VendorSnapshot::default()
    };
    let notes = &mut snapshot.unknown_values;

    for incident in incidents {
        let impact = severity(notes, incident.severity.as_deref());
        let mut updates: Vec<Read> = incident
            .incident_updates
            .unwrap_or_default()
            .into_iter()
            .map(|update| Read {
                id: update.id.map(|id| id.0),
                stage: update.status.as_deref().map(|s| stage(notes, s)),
                body: text::html_to_text(update.description.as_deref().unwrap_or_default()),
                at: time(update.public_date.as_deref())
                    .or_else(|| time(update.created_at.as_deref())),
            })
            .collect();
        updates.sort_by_key(|update| update.at);

        let current = match incident.last_update_status.as_deref() {
            Some(status) => stage(notes, status),
            None => updates
                .iter()
                .rev()
                .find_map(|update| update.stage)
                .unwrap_or(Stage::Incident(IncidentStatus::Investigating)),
        };
        let started_at = time(incident.created_at.as_deref())
            .or_else(|| updates.iter().filter_map(|u| u.at).min())
            .unwrap_or(now);
        let ended_at = || {
            updates
                .iter()
                .filter_map(|u| u.at)
                .max()
                .or_else(|| time(incident.updated_at.as_deref()))
                .unwrap_or(now)
        };

        let mut component_ids = Vec::new();
        for service in incident.services.unwrap_or_default() {
            let name = non_empty(service.name.as_deref()).map(str::to_string);
            let Some(external_id) = service.id.map(|id| id.0).or_else(|| name.clone()) else {
                continue;
            };
            let status = match current {
                Stage::Maintenance => ComponentStatus::UnderMaintenance,
                Stage::Incident(status) if status.is_closed() => ComponentStatus::Operational,
                Stage::Incident(_) => service_status(impact),
            };
            merge_component(&mut snapshot.components, &external_id, name, status);
            if !component_ids.contains(&external_id) {
                component_ids.push(external_id);
            }
        }

        let external_id = incident.id.map(|id| id.0);
        let name = non_empty(incident.name.as_deref())
            .map(str::to_string)
            .unwrap_or_else(|| match &external_id {
                Some(id) => format!("Checkly incident {id}"),
                None => "Checkly incident".to_string(),
            });

        match current {
            Stage::Maintenance => {
                let updates = updates
                    .into_iter()
                    .map(|update| VendorMaintenanceUpdate {
                        external_id: update.id,
                        status: match update.stage {
                            Some(Stage::Incident(status)) if status.is_closed() => {
                                MaintenanceStatus::Completed
                            }
                            _ => MaintenanceStatus::InProgress,
                        },
                        body: update.body,
                        at: update.at.unwrap_or(started_at),
                    })
                    .collect();
                snapshot.maintenances.push(VendorMaintenance {
                    external_id,
                    name,
                    status: MaintenanceStatus::InProgress,
                    scheduled_for: started_at,
                    scheduled_until: None,
                    url: None,
                    component_ids,
                    updates,
                });
            }
            Stage::Incident(status) => {
                let resolved_at = status.is_closed().then(ended_at);
                let updates = updates
                    .into_iter()
                    .map(|update| VendorUpdate {
                        external_id: update.id,
                        status: match update.stage {
                            Some(Stage::Incident(status)) => status,
                            // A maintenance-stage update inside an incident: the work is
                            // known and under way.
                            Some(Stage::Maintenance) => IncidentStatus::Identified,
                            None => IncidentStatus::Investigating,
                        },
                        body: update.body,
                        at: update.at.unwrap_or(started_at),
                    })
                    .collect();
                snapshot.incidents.push(VendorIncident {
                    external_id,
                    name,
                    status,
                    impact,
                    started_at,
                    resolved_at,
                    url: None,
                    component_ids,
                    updates,
                });
            }
        }
    }
    snapshot
}

/// Add a service, or worsen the status of one already seen in another incident.
fn merge_component(
    components: &mut Vec<VendorComponent>,
    external_id: &str,
    name: Option<String>,
    status: ComponentStatus,
) {
    match components.iter_mut().find(|c| c.external_id == external_id) {
        Some(existing) => {
            if status.severity() > existing.status.severity() {
                existing.status = status;
            }
        }
        None => components.push(VendorComponent {
            external_id: external_id.to_string(),
            name: name.unwrap_or_else(|| external_id.to_string()),
            status,
            group: None,
            description: None,
        }),
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

    fn parse(body: &[u8]) -> Result<VendorSnapshot, ParseError> {
        let url =
            Url::parse("https://status.mistral.ai/api/status-page/mistral-ai/unresolved-incidents")
                .unwrap();
        Checkly.parse(&Document {
            url: &url,
            content_type: Some("application/json"),
            body,
            fetched_at: at("2026-07-27T15:33:02Z"),
        })
    }

    #[test]
    fn reads_the_mistral_incident() {
        let snapshot = parse(&fixture("checkly/mistral-unresolved-incidents.json")).unwrap();
        assert_eq!(snapshot.page_name, None);
        assert_eq!(
            snapshot.coverage,
            Coverage {
                components: false,
                open_incidents: true,
                open_maintenances: true
            }
        );
        assert!(
            snapshot.unknown_values.is_empty(),
            "{:?}",
            snapshot.unknown_values
        );
        assert!(snapshot.maintenances.is_empty());

        assert_eq!(
            snapshot.components,
            [VendorComponent {
                external_id: "d8e1e02e-48a4-4d97-8168-a8aabc1c51fb".into(),
                name: "Audio API".into(),
                status: ComponentStatus::PartialOutage,
                group: None,
                description: None,
            }]
        );

        assert_eq!(snapshot.incidents.len(), 1);
        let incident = &snapshot.incidents[0];
        assert_eq!(
            incident.external_id.as_deref(),
            Some("b3e1006c-c3a7-4b1b-8628-3e364b2e3c71")
        );
        assert_eq!(incident.name, "Audio API Degraded");
        assert_eq!(incident.status, IncidentStatus::Investigating);
        assert_eq!(incident.impact, IncidentImpact::Major);
        assert_eq!(incident.started_at, at("2026-07-27T14:32:53.607Z"));
        assert_eq!(incident.resolved_at, None);
        assert_eq!(incident.url, None);
        assert_eq!(
            incident.component_ids,
            ["d8e1e02e-48a4-4d97-8168-a8aabc1c51fb"]
        );
        assert_eq!(
            incident.updates,
            [VendorUpdate {
                external_id: Some("1013e42b-acb1-4026-bdf8-905de6aec21f".into()),
                status: IncidentStatus::Investigating,
                body: "Requests to the Audio API are experiencing degraded service. We are currently investigating.".into(),
                at: at("2026-07-27T14:32:53.607Z"),
            }]
        );
    }

    #[test]
    fn severities_statuses_and_maintenance_records() {
        let body = br#"{"incidents": [
          {"id": "a", "name": "Chat down", "severity": "CRITICAL", "lastUpdateStatus": "MONITORING",
           "created_at": "2026-01-01T10:00:00Z",
           "services": [{"id": "s1", "name": "Chat"}, {"name": "Embeddings"}],
           "incidentUpdates": [
             {"id": "u2", "status": "MONITORING", "description": "Fix deployed", "publicIncidentUpdateDate": "2026-01-01T11:00:00Z"},
             {"id": "u1", "status": "IDENTIFIED", "description": "<b>Found it</b>", "publicIncidentUpdateDate": "2026-01-01T10:30:00Z"}]},
          {"id": "b", "name": "Chat slow", "severity": "SEVERE", "lastUpdateStatus": "TRIAGING",
           "services": [{"id": "s1", "name": "Chat"}], "incidentUpdates": []},
          {"id": "c", "name": "Database upgrade", "severity": "MINOR", "lastUpdateStatus": "MAINTENANCE",
           "created_at": "2026-01-02T01:00:00Z", "services": [{"id": "s2", "name": "Fine-tuning"}],
           "incidentUpdates": [{"id": "u3", "status": "MAINTENANCE", "description": "Upgrading",
                                "created_at": "2026-01-02T01:00:00Z"}]}
        ]}"#;
        let snapshot = parse(body).unwrap();
        assert_eq!(
            snapshot.unknown_values,
            [
                "incident severity \"SEVERE\" → minor",
                "incident status \"TRIAGING\" → investigating"
            ]
        );

        let chat = &snapshot.incidents[0];
        assert_eq!(chat.status, IncidentStatus::Monitoring);
        assert_eq!(chat.impact, IncidentImpact::Critical);
        assert_eq!(chat.component_ids, ["s1", "Embeddings"]);
        let timeline: Vec<_> = chat
            .updates
            .iter()
            .map(|u| (u.body.as_str(), u.status))
            .collect();
        assert_eq!(
            timeline,
            [
                ("Found it", IncidentStatus::Identified),
                ("Fix deployed", IncidentStatus::Monitoring)
            ]
        );
        let slow = &snapshot.incidents[1];
        assert_eq!(slow.status, IncidentStatus::Investigating);
        assert_eq!(slow.impact, IncidentImpact::Minor);
        assert_eq!(slow.started_at, at("2026-07-27T15:33:02Z"));

        let statuses: Vec<_> = snapshot
            .components
            .iter()
            .map(|c| (c.external_id.as_str(), c.status))
            .collect();
        assert_eq!(
            statuses,
            [
                ("s1", ComponentStatus::MajorOutage),
                ("Embeddings", ComponentStatus::MajorOutage),
                ("s2", ComponentStatus::UnderMaintenance),
            ]
        );

        assert_eq!(snapshot.maintenances.len(), 1);
        let upgrade = &snapshot.maintenances[0];
        assert_eq!(upgrade.external_id.as_deref(), Some("c"));
        assert_eq!(upgrade.status, MaintenanceStatus::InProgress);
        assert_eq!(upgrade.scheduled_for, at("2026-01-02T01:00:00Z"));
        assert_eq!(upgrade.component_ids, ["s2"]);
        assert_eq!(upgrade.updates[0].body, "Upgrading");
        assert_eq!(upgrade.updates[0].status, MaintenanceStatus::InProgress);
    }

    #[test]
    fn a_quiet_page_is_an_empty_list() {
        let snapshot = parse(br#"{"incidents": []}"#).unwrap();
        assert!(snapshot.incidents.is_empty());
        assert!(snapshot.components.is_empty());
        assert!(snapshot.coverage.open_incidents);
    }

    #[test]
    fn rejects_other_formats() {
        for other in [
            "statuspage/github-summary-all-operational.json",
            "statuspage/github-incidents.json",
            "heroku/current-status-maintenance.json",
            "incidentio/openai-summary-compat-minor.json",
            "salesforce/trust-instances-status.json",
            "betterstack/huggingface-index-downtime.json",
            "atom/claude-history.atom",
        ] {
            match parse(&fixture(other)) {
                Err(ParseError::NotThisFormat { .. }) => {}
                result => panic!("{other}: {result:?}"),
            }
        }
    }

    #[test]
    fn truncated_and_mistyped_documents_fail() {
        let body = fixture("checkly/mistral-unresolved-incidents.json");
        assert!(parse(&body[..body.len() / 2]).is_err());
        let whole = body.trim_ascii_end();
        assert!(parse(&whole[..whole.len() - 1]).is_err());
        let mistyped = br#"{"incidents": [{"severity": "MINOR", "lastUpdateStatus": "INVESTIGATING", "services": "all"}]}"#;
        assert!(matches!(parse(mistyped), Err(ParseError::BadValue { .. })));
    }

    #[test]
    fn documents_are_the_given_api_url() {
        let api =
            Url::parse("https://status.mistral.ai/api/status-page/mistral-ai/unresolved-incidents")
                .unwrap();
        let page = Url::parse("https://status.mistral.ai/").unwrap();
        assert_eq!(Checkly.documents(&api, None), vec![api.clone()]);
        assert_eq!(Checkly.documents(&page, Some(&api)), vec![api.clone()]);
    }
}
