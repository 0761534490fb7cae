//! Google Cloud's status feed: `GET https://status.cloud.google.com/incidents.json`, a JSON
//! list of incidents, newest first, open and resolved, going back a long way.
//! [`Gcp::documents`] returns the operator's `source` when given, else `/incidents.json` on
//! the status page's host.
//!
//! ## Shape
//!
//! Each incident has `id`, `number`, `begin`, `created`, `end` (set once it is over),
//! `modified`, `external_desc` (the title), `updates [{created, modified, when, text,
//! status, affected_locations}]` (newest first), `most_recent_update`, `status_impact`,
//! `severity`, `service_key`/`service_name`, `affected_products [{title, id}]`,
//! `currently_affected_locations`, `previously_affected_locations` and `uri`. A document is
//! Google Cloud's when it is a non-empty list whose entries all have an `id` and an
//! `external_desc` (an empty list is accepted only from a URL ending in `/incidents.json`:
//! Google's real feed is never empty, and other formats serve lists too).
//!
//! ## Mapping
//!
//! Impact, and the status of the products an open incident affects, from `status_impact`,
//! the level Google shows on the page (the same table `IncidentImpact::from_component_status`
//! uses, so the two agree):
//!
//! | status_impact         | component status     | impact   |
//! |-----------------------|----------------------|----------|
//! | SERVICE_INFORMATION   | degraded_performance | minor    |
//! | SERVICE_DISRUPTION    | partial_outage       | major    |
//! | SERVICE_OUTAGE        | major_outage         | critical |
//!
//! `severity` (low, medium, high) maps the same way (low minor, medium major, high
//! critical); when both are given the worse wins (in practice they always agree:
//! low/information, medium/disruption, high/outage). An unrecognised value is noted; with
//! neither known (or neither given) the impact is minor. An
//! informational incident is still minor, not none: Google posts it for a real, if limited,
//! effect ("lower throughput from the Read API").
//!
//! Update status: `AVAILABLE` is resolved; `SERVICE_INFORMATION`, `SERVICE_DISRUPTION` and
//! `SERVICE_OUTAGE` are impact levels, not stages of work, so an open update is
//! investigating (Google's format has no identified or monitoring stage); anything else is
//! investigating, or resolved once the incident has ended (noted). The incident is resolved
//! when `end` is set (resolved at `end`), or when its latest update is `AVAILABLE` (resolved
//! at that update); otherwise its status is its latest update's.
//!
//! Times: `started_at` is `begin`, else `created`, else the earliest update; an update is at
//! `when`, else `created`, else `modified`. Bodies are Google's Markdown-like text, kept as
//! text (trimmed, Windows line ends made plain).
//!
//! Ids and links: `id` is the external id; the page is `https://status.cloud.google.com/` +
//! `uri` (an absolute `uri` is used as is; without one, `incidents/{id}`).
//!
//! Components: `affected_products` ids are the incident's `component_ids`. Every product
//! the feed mentions is listed as a component (id, title), `operational` unless an open
//! incident affects it, then the worst status of those incidents. Listing resolved
//! incidents' products too means a product is seen again, operational, after its incident
//! closes, instead of keeping its outage status. The feed names only products that had
//! incidents, so `coverage.components` is false.
//!
//! Coverage: `open_incidents` is true. `incidents.json` is the complete recent list that
//! the status page itself renders, so an open incident missing from it is no longer open.
//!
//! ## What the format cannot tell us
//!
//! Google's full product list; which locations an incident affects, in the model (the
//! `affected_locations` of updates and `currently_affected_locations` have no place in a
//! [`VendorSnapshot`]; update texts usually name them); update ids; scheduled maintenance
//! (Google does not publish it here); the page's name.

use super::text::{non_empty, scalar_text as lenient_text};
use super::{text, Adapter, AdapterKind, Document, ParseError};
use crate::domain::status::{ComponentStatus, IncidentImpact, IncidentStatus};
use crate::vendor::model::{
    Coverage, VendorComponent, VendorIncident, VendorSnapshot, VendorUpdate,
};
use serde::Deserialize;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use url::Url;

const FORMAT: &str = "Google Cloud";
const STATUS_PAGE: &str = "https://status.cloud.google.com/";

pub struct Gcp;

impl Adapter for Gcp {
    fn kind(&self) -> AdapterKind {
        AdapterKind::Gcp
    }

    fn documents(&self, page: &Url, source: Option<&Url>) -> Vec<Url> {
        match source {
            Some(source) => vec![source.clone()],
            None => vec![super::at_path(page, "/incidents.json")],
        }
    }

    fn parse(&self, doc: &Document<'_>) -> Result<VendorSnapshot, ParseError> {
        parse(doc)
    }
}

#[derive(Deserialize)]
struct RawIncident {
    #[serde(default, deserialize_with = "lenient_text")]
    id: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    begin: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    created: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    end: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    external_desc: Option<String>,
    #[serde(default)]
    updates: Option<Vec<RawUpdate>>,
    #[serde(default, deserialize_with = "lenient_text")]
    status_impact: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    severity: Option<String>,
    #[serde(default)]
    affected_products: Option<Vec<RawProduct>>,
    #[serde(default, deserialize_with = "lenient_text")]
    uri: Option<String>,
}

#[derive(Deserialize)]
struct RawUpdate {
    #[serde(default, deserialize_with = "lenient_text")]
    created: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    modified: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    when: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    text: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    status: Option<String>,
}

#[derive(Deserialize)]
struct RawProduct {
    #[serde(default, deserialize_with = "lenient_text")]
    id: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    title: Option<String>,
}

fn not_this(detail: impl Into<String>) -> ParseError {
    ParseError::NotThisFormat {
        format: FORMAT,
        detail: detail.into(),
    }
}

fn parse(doc: &Document<'_>) -> Result<VendorSnapshot, ParseError> {
    let body = doc.body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(doc.body);
    let value: Value =
        serde_json::from_slice(body).map_err(|e| not_this(format!("not JSON: {e}")))?;
    let Some(entries) = value.as_array() else {
        return Err(not_this("not a list of incidents"));
    };
    if entries.is_empty() && !doc.url.path().ends_with("/incidents.json") {
        return Err(not_this("an empty list, not from an incidents.json URL"));
    }
    if let Some(i) = entries
        .iter()
        .position(|e| e.get("id").is_none() || e.get("external_desc").is_none())
    {
        return Err(not_this(format!(
            "entry {i} has no `id` and `external_desc`"
        )));
    }
    let raw: Vec<RawIncident> =
        serde_json::from_value(value).map_err(|e| ParseError::BadValue {
            format: FORMAT,
            at: "incidents".into(),
            detail: e.to_string(),
        })?;

    let mut snapshot = VendorSnapshot {
        coverage: Coverage {
            components: false,
            open_incidents: true,
            open_maintenances: false,
        },
        ..VendorSnapshot::default()
    };
    // Products in first-mentioned order, with the statuses open incidents give them.
    let mut products: Vec<(VendorComponent, Vec<ComponentStatus>)> = Vec::new();
    let mut positions: HashMap<String, usize> = HashMap::new();
    for entry in raw {
        let (incident, affected, level) = incident(entry, doc, &mut snapshot.unknown_values);
        for (id, title) in affected {
            let index = match positions.get(&id) {
                Some(index) => *index,
                None => {
                    positions.insert(id.clone(), products.len());
                    products.push((
                        VendorComponent {
                            external_id: id,
                            name: title,
                            status: ComponentStatus::Operational,
                            group: None,
                            description: None,
                        },
                        Vec::new(),
                    ));
                    products.len() - 1
                }
            };
            if !incident.status.is_closed() {
                if let Some((_, statuses)) = products.get_mut(index) {
                    statuses.push(level);
                }
            }
        }
        snapshot.incidents.push(incident);
    }
    snapshot.components = products
        .into_iter()
        .map(|(mut component, statuses)| {
            if let Some(worst) = ComponentStatus::worst(statuses) {
                component.status = worst;
            }
            component
        })
        .collect();
    Ok(snapshot)
}

fn level_from_impact(value: &str) -> Option<ComponentStatus> {
    match value.trim().to_ascii_uppercase().as_str() {
        "SERVICE_INFORMATION" => Some(ComponentStatus::DegradedPerformance),
        "SERVICE_DISRUPTION" => Some(ComponentStatus::PartialOutage),
        "SERVICE_OUTAGE" => Some(ComponentStatus::MajorOutage),
        _ => None,
    }
}

fn level_from_severity(value: &str) -> Option<ComponentStatus> {
    match value.trim().to_ascii_lowercase().as_str() {
        "low" => Some(ComponentStatus::DegradedPerformance),
        "medium" => Some(ComponentStatus::PartialOutage),
        "high" => Some(ComponentStatus::MajorOutage),
        _ => None,
    }
}

/// The incident, its products as `(id, title)`, and the component status it sets while
/// open.
fn incident(
    raw: RawIncident,
    doc: &Document<'_>,
    notes: &mut Vec<String>,
) -> (VendorIncident, Vec<(String, String)>, ComponentStatus) {
    let id = non_empty(raw.id.as_deref()).map(str::to_string);
    let name = non_empty(raw.external_desc.as_deref())
        .map(str::to_string)
        .unwrap_or_else(|| "Untitled incident".to_string());

    let impact_level = non_empty(raw.status_impact.as_deref()).map(|v| (v, level_from_impact(v)));
    let severity_level = non_empty(raw.severity.as_deref()).map(|v| (v, level_from_severity(v)));
    if let Some((value, None)) = impact_level {
        text::unknown(
            notes,
            "incident status_impact",
            value,
            IncidentImpact::Minor,
        );
    }
    if let Some((value, None)) = severity_level {
        text::unknown(notes, "incident severity", value, IncidentImpact::Minor);
    }
    let known = [impact_level, severity_level]
        .into_iter()
        .flatten()
        .filter_map(|(_, level)| level);
    let (level, impact) = match ComponentStatus::worst(known) {
        Some(level) => (level, IncidentImpact::from_component_status(Some(level))),
        None => (ComponentStatus::DegradedPerformance, IncidentImpact::Minor),
    };

    let ended = raw.end.as_deref().and_then(text::parse_time);
    let begun = raw
        .begin
        .as_deref()
        .and_then(text::parse_time)
        .or_else(|| raw.created.as_deref().and_then(text::parse_time));

    let mut updates: Vec<VendorUpdate> = Vec::new();
    for update in raw.updates.unwrap_or_default() {
        let at = [&update.when, &update.created, &update.modified]
            .into_iter()
            .find_map(|t| t.as_deref().and_then(text::parse_time))
            .or(begun)
            .unwrap_or(doc.fetched_at);
        let status = match non_empty(update.status.as_deref()) {
            Some(s) if s.eq_ignore_ascii_case("AVAILABLE") => IncidentStatus::Resolved,
            Some(s) if level_from_impact(s).is_some() => IncidentStatus::Investigating,
            other => {
                let default = if ended.is_some() {
                    IncidentStatus::Resolved
                } else {
                    IncidentStatus::Investigating
                };
                text::unknown(
                    notes,
                    "update status",
                    other.unwrap_or("(missing)"),
                    default,
                )
            }
        };
        updates.push(VendorUpdate {
            external_id: None,
            status,
            body: update
                .text
                .as_deref()
                .unwrap_or_default()
                .replace("\r\n", "\n")
                .trim()
                .to_string(),
            at,
        });
    }
    updates.sort_by_key(|u| u.at);

    let started_at = begun
        .or_else(|| updates.first().map(|u| u.at))
        .unwrap_or(doc.fetched_at);
    let last = updates.last().map(|u| (u.status, u.at));
    let (status, resolved_at) = match (ended, last) {
        (Some(end), _) => (IncidentStatus::Resolved, Some(end)),
        (None, Some((IncidentStatus::Resolved, at))) => (IncidentStatus::Resolved, Some(at)),
        (None, Some((status, _))) => (status, None),
        (None, None) => (IncidentStatus::Investigating, None),
    };

    let url = match (non_empty(raw.uri.as_deref()), id.as_deref()) {
        (Some(uri), _) if uri.starts_with("https://") || uri.starts_with("http://") => {
            Some(uri.to_string())
        }
        (Some(uri), _) => Some(format!("{STATUS_PAGE}{}", uri.trim_start_matches('/'))),
        (None, Some(id)) => Some(format!("{STATUS_PAGE}incidents/{id}")),
        (None, None) => None,
    };

    let mut affected: Vec<(String, String)> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    for product in raw.affected_products.unwrap_or_default() {
        let title = non_empty(product.title.as_deref());
        let Some(key) = non_empty(product.id.as_deref()).or(title) else {
            continue;
        };
        if seen.insert(key.to_string()) {
            affected.push((key.to_string(), title.unwrap_or(key).to_string()));
        }
    }

    let incident = VendorIncident {
        external_id: id,
        name,
        status,
        impact,
        started_at,
        resolved_at,
        url,
        component_ids: affected.iter().map(|(id, _)| id.clone()).collect(),
        updates,
    };
    (incident, affected, level)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::time::Timestamp;

    const FEED: &str = "https://status.cloud.google.com/incidents.json";

    fn fixture(path: &str) -> Vec<u8> {
        let full = format!("{}/../shared/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
    }

    fn parse_at(url: &str, body: &[u8]) -> Result<VendorSnapshot, ParseError> {
        let url = Url::parse(url).unwrap();
        Gcp.parse(&Document {
            url: &url,
            content_type: Some("application/json"),
            body,
            fetched_at: time("2026-01-01T00:00:00Z"),
        })
    }

    fn time(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    fn find<'a>(s: &'a VendorSnapshot, id: &str) -> &'a VendorIncident {
        s.incidents
            .iter()
            .find(|i| i.external_id.as_deref() == Some(id))
            .unwrap_or_else(|| panic!("no incident {id}"))
    }

    #[test]
    fn the_recent_incident_list() {
        let s = parse_at(FEED, &fixture("gcp/incidents.json")).unwrap();
        assert_eq!(s.incidents.len(), 21);
        assert!(s
            .incidents
            .iter()
            .all(|i| i.status == IncidentStatus::Resolved));
        assert_eq!(
            s.incidents.iter().map(|i| i.updates.len()).sum::<usize>(),
            114
        );

        let bigquery = &s.incidents[0];
        assert_eq!(
            bigquery.external_id.as_deref(),
            Some("TaA75H7XA1DQyM2ReK2f")
        );
        assert_eq!(
            bigquery.name,
            "[Google BigQuery] Lower throughput from the Read API"
        );
        assert_eq!(bigquery.impact, IncidentImpact::Minor);
        assert_eq!(bigquery.started_at, time("2022-07-01T13:37:44Z"));
        assert_eq!(bigquery.resolved_at, Some(time("2022-07-01T19:25:45Z")));
        assert_eq!(
            bigquery.url.as_deref(),
            Some("https://status.cloud.google.com/incidents/TaA75H7XA1DQyM2ReK2f")
        );
        assert_eq!(bigquery.component_ids, vec!["9CcrhHUcFevXPSVaSxkf"]);
        let times: Vec<Timestamp> = bigquery.updates.iter().map(|u| u.at).collect();
        assert_eq!(times.first(), Some(&time("2022-07-01T14:04:53Z")));
        assert_eq!(times.last(), Some(&time("2022-07-01T19:25:45Z")));
        assert!(times.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(bigquery.updates[0].status, IncidentStatus::Investigating);
        assert!(bigquery.updates[0]
            .body
            .starts_with("Summary: [Google BigQuery] Lower throughput from the Read API\n"));
        assert_eq!(bigquery.updates[4].status, IncidentStatus::Resolved);
        assert!(bigquery.updates[4]
            .body
            .starts_with("The issue with Google BigQuery has been resolved"));

        let apigee = find(&s, "sPyYB214xAhqnoxNrrnW");
        assert_eq!(apigee.impact, IncidentImpact::Major);
        let networking = find(&s, "iAgVMxJUfE1J9et7j9KB");
        assert_eq!(networking.impact, IncidentImpact::Critical);
        assert_eq!(networking.component_ids.len(), 4);
        assert_eq!(networking.started_at, time("2022-06-16T08:11:00Z"));
        assert_eq!(networking.resolved_at, Some(time("2022-06-16T09:44:00Z")));

        assert_eq!(s.components.len(), 22);
        assert!(s
            .components
            .iter()
            .all(|c| c.status == ComponentStatus::Operational));
        assert_eq!(s.components[0].external_id, "9CcrhHUcFevXPSVaSxkf");
        assert_eq!(s.components[0].name, "Google BigQuery");
        assert_eq!(
            s.coverage,
            Coverage {
                components: false,
                open_incidents: true,
                open_maintenances: false
            }
        );
        assert!(s.maintenances.is_empty());
        assert!(s.unknown_values.is_empty(), "{:?}", s.unknown_values);
    }

    /// The fixture's first incident as it stood before it was resolved.
    #[test]
    fn an_open_incident_sets_its_products() {
        let mut feed: Value = serde_json::from_slice(&fixture("gcp/incidents.json")).unwrap();
        let first = &mut feed[0];
        first["end"] = Value::Null;
        first["status_impact"] = Value::from("SERVICE_DISRUPTION");
        first["severity"] = Value::from("urgent");
        first["updates"]
            .as_array_mut()
            .unwrap()
            .retain(|u| u["status"] != "AVAILABLE");
        let s = parse_at(FEED, &serde_json::to_vec(&feed).unwrap()).unwrap();
        let open = &s.incidents[0];
        assert_eq!(open.status, IncidentStatus::Investigating);
        assert_eq!(open.resolved_at, None);
        assert_eq!(open.impact, IncidentImpact::Major);
        assert_eq!(open.updates.len(), 4);
        let bigquery = s
            .components
            .iter()
            .find(|c| c.external_id == "9CcrhHUcFevXPSVaSxkf")
            .unwrap();
        assert_eq!(bigquery.status, ComponentStatus::PartialOutage);
        assert_eq!(
            s.components
                .iter()
                .filter(|c| c.status != ComponentStatus::Operational)
                .count(),
            1
        );
        assert_eq!(
            s.unknown_values,
            vec!["incident severity \"urgent\" → minor".to_string()]
        );
    }

    #[test]
    fn documents_default_to_incidents_json() {
        let page = Url::parse("https://status.cloud.google.com/").unwrap();
        assert_eq!(Gcp.documents(&page, None), vec![Url::parse(FEED).unwrap()]);
        let source = Url::parse("https://mirror.example/gcp.json").unwrap();
        assert_eq!(Gcp.documents(&page, Some(&source)), vec![source]);
    }

    #[test]
    fn rejects_other_formats() {
        for other in [
            "statuspage/github-incidents.json",
            "statusio/docker-status-partial-disruption.json",
            "aws/status-data.json",
            "aws/health-currentevents-utf16be-bom.json",
            "salesforce/trust-instances-status.json",
            "rss/parse-history.rss",
        ] {
            let err = parse_at(FEED, &fixture(other)).unwrap_err();
            assert!(
                matches!(err, ParseError::NotThisFormat { .. }),
                "{other}: {err:?}"
            );
        }
        assert!(parse_at("https://example.com/checkly", b"[]").is_err());
        let empty = parse_at(FEED, b"[]").unwrap();
        assert!(empty.incidents.is_empty());
    }

    #[test]
    fn truncated_and_hostile_input_is_an_error() {
        let full = fixture("gcp/incidents.json");
        assert!(parse_at(FEED, &full[..full.len() / 2]).is_err());
        assert!(parse_at(FEED, &[0xc3, 0x28]).is_err());
        assert!(parse_at(FEED, "[".repeat(100_000).as_bytes()).is_err());
        let wrong_type = br#"[{"id":"x","external_desc":"y","updates":{"a":1}}]"#;
        assert!(matches!(
            parse_at(FEED, wrong_type),
            Err(ParseError::BadValue { .. })
        ));
    }

    /// Every cut of the real documents fails to parse, and no corrupted byte panics.
    #[test]
    fn cut_or_corrupted_documents_never_panic() {
        for name in ["gcp/incidents.json"] {
            let full = fixture(name);
            let stride = (full.len() / 200).max(1);
            for cut in (0..full.len().saturating_sub(8)).step_by(stride) {
                assert!(parse_at(FEED, &full[..cut]).is_err(), "{name} cut at {cut}");
            }
            for at in (0..full.len()).step_by(stride) {
                let mut corrupted = full.clone();
                if let Some(byte) = corrupted.get_mut(at) {
                    *byte ^= 0x5a;
                }
                let _ = parse_at(FEED, &corrupted);
            }
        }
    }
}
