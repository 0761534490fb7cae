//! Amazon Web Services, in its two public formats.
//!
//! # AWS Health: `currentevents` ([`AwsHealth`])
//!
//! `GET https://health.aws.amazon.com/public/currentevents`: the events open on the public
//! AWS Health Dashboard. [`AwsHealth::documents`] returns the operator's `source` when
//! given, else `/public/currentevents` on the status page's host.
//!
//! AWS serves it as UTF-16 (big-endian in practice) with a byte-order mark. The text is
//! decoded by its byte-order mark (UTF-8, UTF-16BE, UTF-16LE); without one, by RFC 4627's
//! rule that JSON text starts with an ASCII character (a zero byte first or second means
//! UTF-16); else as UTF-8. UTF-16 with an odd number of bytes or a lone surrogate is not
//! read.
//!
//! Shape: a list of events with `arn`, `date` (epoch seconds, as a string), `region_name`
//! ("UAE"), `status`, `service`, `service_name`, `summary`, `event_log [{summary, message,
//! status, timestamp}]` (epoch seconds) and `impacted_services {key: {service_name,
//! current, max}}` (keys such as `rds-me-central-1`; global services have no region
//! suffix). A document is AWS Health's when it is a list whose entries all have an `arn`.
//! An empty list (a quiet day) is accepted only when it came as UTF-16 or from a URL ending
//! in `/currentevents`, since other formats serve lists too.
//!
//! Status codes (strings or numbers), as the dashboard's legend and the projects that read
//! this endpoint use them:
//!
//! | code | meaning              | component status     | impact   |
//! |------|----------------------|----------------------|----------|
//! | 0    | operating normally   | operational          | none     |
//! | 1    | informational        | degraded_performance | minor    |
//! | 2    | degradation          | partial_outage       | major    |
//! | 3    | disruption           | major_outage         | critical |
//! | else | (noted)              | degraded_performance | minor    |
//!
//! Informational maps to degraded, not operational: AWS opens real problems at that level
//! ("We are investigating issues with AWS services in the ME-CENTRAL-1 Region") before
//! raising them.
//!
//! - An event is one incident, its external id the `arn`, named `{service_name}
//!   ({region_name}): {summary}`. It is open unless its `status` is 0, then resolved at its
//!   latest log entry. AWS gives no workflow stage, so an open event is investigating; a
//!   log entry with status 0 is a resolved update, any other investigating.
//! - Impact is the worst code the event and its log ever gave (the peak, as Statuspage
//!   keeps it), via the table; no known code: minor.
//! - `started_at` is `date`, else the earliest log entry. Updates are the log entries,
//!   oldest first.
//! - Each impacted service is a component: id the service key, name its `service_name`,
//!   group the region code when the key ends in one (so "Amazon Relational Database
//!   Service" in `me-central-1` can be followed on its own), status from `current`. A
//!   service in several events takes the worst. An event without `impacted_services` lists
//!   its own `service`, with the event's status. Components are ordered global first, then
//!   by region and name.
//!
//! Coverage: `open_incidents` (the endpoint is the list of current events). Not
//! components: only services touched by a current event are listed, so a service drops
//! out of the list when its event does, keeping the status it had last.
//!
//! Cannot tell us: a link to the event (the dashboard has no documented per-event URL),
//! update ids, when an event that left the list ended, the list of all services, and
//! maintenance. Nor, always, a service's region: AWS keys some regional services without
//! their region (`amplify`, `grafana` in the UAE event, beside `amplify-me-south-1` in the
//! Bahrain one), and those are listed ungrouped, like the truly global `route53`.
//!
//! # Legacy Service Health Dashboard: `data.json` ([`AwsStatus`])
//!
//! `GET https://status.aws.amazon.com/data.json`, the retired dashboard's data.
//! [`AwsStatus::documents`] returns the operator's `source` when given, else `/data.json`
//! on the status page's host.
//!
//! Shape: `{current: [...], archive: [...]}`, both required; an entry has `service`
//! (`ec2-us-east-1`), `service_name` ("Amazon Elastic Compute Cloud (N. Virginia)"),
//! `summary` (prefixed `[RESOLVED]` in the archive), `date` (epoch seconds, as a string),
//! `status` (the codes of the table above) and `description`, HTML with one
//! `<div><span class="yellowfg">12:53 PM PDT</span>&nbsp;text</div>` per update (the time
//! carries a `Mon D, ` date when the day changes).
//!
//! - `current` entries are open incidents (investigating); `archive` entries are resolved
//!   history: the last update resolved, resolved at its time.
//! - External id `{service}@{date}` (the format has no ids; an event keeps both when it
//!   moves to the archive). Name `{service_name}: {summary}` without the `[RESOLVED]`
//!   prefix, so it stays the same when the event is archived.
//! - Impact from `status` by the table (0 none), unknown minor (noted).
//! - Updates: one per `<div>`, its time rebuilt from the event's `date` (the first entry's
//!   day, in the zone the entry names: PDT, PST or UTC) and the entry's own time and date;
//!   an entry without a date is on the previous entry's day. When the description does not
//!   read that way, it is one update at `date` with the whole text, and an archived event
//!   then has no resolution time.
//! - Components: every service the document names, `operational` unless a current entry
//!   affects it (then the worst, by the table); its external id the `service` key.
//!
//! Coverage: `open_incidents` (`current` is every open event). Not components: only
//! services with events in the last year are named.
//!
//! Cannot tell us: links, update ids, incident stages, the full service list, maintenance.

use super::text::{non_empty, scalar_text as lenient_text};
use super::{text, Adapter, AdapterKind, Document, ParseError};
use crate::domain::status::{ComponentStatus, IncidentImpact, IncidentStatus};
use crate::domain::time::Timestamp;
use crate::vendor::model::{
    Coverage, VendorComponent, VendorIncident, VendorSnapshot, VendorUpdate,
};
use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, TimeZone, Utc};
use regex::Regex;
use serde::Deserialize;
use serde_json::Value;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::LazyLock;
use url::Url;

const HEALTH: &str = "AWS Health";
const LEGACY: &str = "AWS Service Health Dashboard";

pub struct AwsHealth;

impl Adapter for AwsHealth {
    fn kind(&self) -> AdapterKind {
        AdapterKind::AwsHealth
    }

    fn documents(&self, page: &Url, source: Option<&Url>) -> Vec<Url> {
        match source {
            Some(source) => vec![source.clone()],
            None => vec![super::at_path(page, "/public/currentevents")],
        }
    }

    fn parse(&self, doc: &Document<'_>) -> Result<VendorSnapshot, ParseError> {
        parse_health(doc)
    }
}

pub struct AwsStatus;

impl Adapter for AwsStatus {
    fn kind(&self) -> AdapterKind {
        AdapterKind::AwsStatus
    }

    fn documents(&self, page: &Url, source: Option<&Url>) -> Vec<Url> {
        match source {
            Some(source) => vec![source.clone()],
            None => vec![super::at_path(page, "/data.json")],
        }
    }

    fn parse(&self, doc: &Document<'_>) -> Result<VendorSnapshot, ParseError> {
        parse_legacy(doc)
    }
}

// ---------------------------------------------------------------------------------------
// Text decoding.

/// How a document's bytes were encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Encoding {
    Utf8,
    Utf16Be,
    Utf16Le,
}

/// Why bytes are not text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
enum DecodeError {
    #[error("UTF-16 text with an odd number of bytes")]
    OddLength,
    #[error("UTF-16 text with a lone surrogate")]
    LoneSurrogate,
    #[error("not UTF-8 text: {0}")]
    NotUtf8(std::str::Utf8Error),
}

/// The text of `body`, by byte-order mark first, then by where the zero bytes of an ASCII
/// start fall (RFC 4627), else UTF-8. Total: any bytes give text or an error.
fn decode(body: &[u8]) -> Result<(Cow<'_, str>, Encoding), DecodeError> {
    if let Some(rest) = body.strip_prefix(b"\xEF\xBB\xBF") {
        return utf8(rest);
    }
    if let Some(rest) = body.strip_prefix(b"\xFE\xFF") {
        return utf16(rest, u16::from_be_bytes).map(|s| (Cow::Owned(s), Encoding::Utf16Be));
    }
    if let Some(rest) = body.strip_prefix(b"\xFF\xFE") {
        return utf16(rest, u16::from_le_bytes).map(|s| (Cow::Owned(s), Encoding::Utf16Le));
    }
    match body {
        [0, b, ..] if *b != 0 => {
            utf16(body, u16::from_be_bytes).map(|s| (Cow::Owned(s), Encoding::Utf16Be))
        }
        [a, 0, ..] if *a != 0 => {
            utf16(body, u16::from_le_bytes).map(|s| (Cow::Owned(s), Encoding::Utf16Le))
        }
        _ => utf8(body),
    }
}

fn utf8(body: &[u8]) -> Result<(Cow<'_, str>, Encoding), DecodeError> {
    std::str::from_utf8(body)
        .map(|s| (Cow::Borrowed(s), Encoding::Utf8))
        .map_err(DecodeError::NotUtf8)
}

fn utf16(body: &[u8], unit: fn([u8; 2]) -> u16) -> Result<String, DecodeError> {
    if body.len() % 2 != 0 {
        return Err(DecodeError::OddLength);
    }
    let units: Vec<u16> = body
        .iter()
        .step_by(2)
        .zip(body.iter().skip(1).step_by(2))
        .map(|(first, second)| unit([*first, *second]))
        .collect();
    String::from_utf16(&units).map_err(|_| DecodeError::LoneSurrogate)
}

// ---------------------------------------------------------------------------------------
// Shared helpers.

fn not_this(format: &'static str, detail: impl Into<String>) -> ParseError {
    ParseError::NotThisFormat {
        format,
        detail: detail.into(),
    }
}

/// Decode and parse a document, as `format`.
fn json(format: &'static str, doc: &Document<'_>) -> Result<(Value, Encoding), ParseError> {
    let (text, encoding) = decode(doc.body).map_err(|e| not_this(format, e.to_string()))?;
    let value =
        serde_json::from_str(&text).map_err(|e| not_this(format, format!("not JSON: {e}")))?;
    Ok((value, encoding))
}

/// The component status an AWS status code stands for.
fn level(code: &str) -> Option<ComponentStatus> {
    match code.trim() {
        "0" => Some(ComponentStatus::Operational),
        "1" => Some(ComponentStatus::DegradedPerformance),
        "2" => Some(ComponentStatus::PartialOutage),
        "3" => Some(ComponentStatus::MajorOutage),
        _ => None,
    }
}

/// `level`, with an unknown code noted and taken as degraded.
fn level_or_noted(code: Option<&str>, what: &str, notes: &mut Vec<String>) -> ComponentStatus {
    let code = non_empty(code);
    match code.and_then(level) {
        Some(status) => status,
        None => text::unknown(
            notes,
            what,
            code.unwrap_or("(missing)"),
            ComponentStatus::DegradedPerformance,
        ),
    }
}

/// Components in first-listed order, each listed once.
#[derive(Default)]
struct Components {
    list: Vec<VendorComponent>,
    positions: HashMap<String, usize>,
}

impl Components {
    /// Adds `component`, or raises the status of the one listed with its id.
    fn add(&mut self, component: VendorComponent) {
        match self
            .positions
            .get(&component.external_id)
            .and_then(|i| self.list.get_mut(*i))
        {
            Some(existing) => {
                if component.status.severity() > existing.status.severity() {
                    existing.status = component.status;
                }
            }
            None => {
                self.positions
                    .insert(component.external_id.clone(), self.list.len());
                self.list.push(component);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// AWS Health `currentevents`.

#[derive(Deserialize)]
struct HealthEvent {
    #[serde(default, deserialize_with = "lenient_text")]
    arn: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    date: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    region_name: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    status: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    service: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    service_name: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    summary: Option<String>,
    #[serde(default)]
    event_log: Option<Vec<HealthLog>>,
    #[serde(default)]
    impacted_services: Option<BTreeMap<String, HealthService>>,
}

#[derive(Deserialize)]
struct HealthLog {
    #[serde(default, deserialize_with = "lenient_text")]
    summary: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    message: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    status: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    timestamp: Option<String>,
}

#[derive(Deserialize)]
struct HealthService {
    #[serde(default, deserialize_with = "lenient_text")]
    service_name: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    current: Option<String>,
}

fn parse_health(doc: &Document<'_>) -> Result<VendorSnapshot, ParseError> {
    let (value, encoding) = json(HEALTH, doc)?;
    let Some(entries) = value.as_array() else {
        return Err(not_this(HEALTH, "not a list of events"));
    };
    if entries.is_empty()
        && encoding == Encoding::Utf8
        && !doc
            .url
            .path()
            .trim_end_matches('/')
            .ends_with("/currentevents")
    {
        return Err(not_this(
            HEALTH,
            "an empty UTF-8 list, not from a currentevents URL",
        ));
    }
    if let Some(i) = entries.iter().position(|e| e.get("arn").is_none()) {
        return Err(not_this(HEALTH, format!("event {i} has no `arn`")));
    }
    let events: Vec<HealthEvent> =
        serde_json::from_value(value).map_err(|e| ParseError::BadValue {
            format: HEALTH,
            at: "events".into(),
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
    let mut components = Components::default();
    for event in events {
        let incident = health_incident(event, doc, &mut components, &mut snapshot.unknown_values);
        snapshot.incidents.push(incident);
    }
    snapshot.components = components.list;
    snapshot.components.sort_by(|a, b| {
        (a.group.is_some(), &a.group, &a.name).cmp(&(b.group.is_some(), &b.group, &b.name))
    });
    Ok(snapshot)
}

/// The region code of an ARN (`arn:aws:health:me-central-1::event/...`).
fn arn_region(arn: &str) -> Option<&str> {
    arn.split(':').nth(3).filter(|r| !r.is_empty())
}

fn health_incident(
    event: HealthEvent,
    doc: &Document<'_>,
    components: &mut Components,
    notes: &mut Vec<String>,
) -> VendorIncident {
    let arn = non_empty(event.arn.as_deref()).map(str::to_string);
    let region = arn.as_deref().and_then(arn_region).map(str::to_string);

    let event_code = non_empty(event.status.as_deref());
    let event_level = event_code.and_then(level);
    if event_level.is_none() {
        text::unknown(
            notes,
            "event status",
            event_code.unwrap_or("(missing)"),
            IncidentImpact::Minor,
        );
    }
    let resolved = event_level == Some(ComponentStatus::Operational);

    let mut levels: Vec<ComponentStatus> = event_level.into_iter().collect();
    let mut updates = Vec::new();
    let mut summaries = Vec::new();
    for log in event.event_log.unwrap_or_default() {
        let code = non_empty(log.status.as_deref());
        let log_level = code.and_then(level);
        let status = match (code, log_level) {
            (_, Some(ComponentStatus::Operational)) => IncidentStatus::Resolved,
            (_, Some(_)) => IncidentStatus::Investigating,
            (code, None) => text::unknown(
                notes,
                "event log status",
                code.unwrap_or("(missing)"),
                IncidentStatus::Investigating,
            ),
        };
        levels.extend(log_level);
        let at = log.timestamp.as_deref().and_then(text::parse_time);
        if let Some(summary) = non_empty(log.summary.as_deref()) {
            summaries.push(summary.to_string());
        }
        updates.push(VendorUpdate {
            external_id: None,
            status,
            body: text::html_to_text(&log.message.unwrap_or_default().replace("\r\n", "\n")),
            at: at.unwrap_or(doc.fetched_at),
        });
    }
    updates.sort_by_key(|u| u.at);

    let impact = match ComponentStatus::worst(levels) {
        Some(worst) => IncidentImpact::from_component_status(Some(worst)),
        None => IncidentImpact::Minor,
    };
    let started_at = event
        .date
        .as_deref()
        .and_then(text::parse_time)
        .or_else(|| updates.first().map(|u| u.at))
        .unwrap_or(doc.fetched_at);
    let (status, resolved_at) = if resolved {
        let at = updates.last().map(|u| u.at).unwrap_or(doc.fetched_at);
        (IncidentStatus::Resolved, Some(at))
    } else {
        (IncidentStatus::Investigating, None)
    };

    let service_name =
        non_empty(event.service_name.as_deref()).or(non_empty(event.service.as_deref()));
    let summary = non_empty(event.summary.as_deref())
        .map(str::to_string)
        .or_else(|| summaries.pop());
    let place = match (service_name, non_empty(event.region_name.as_deref())) {
        (Some(service), Some(region)) => Some(format!("{service} ({region})")),
        (Some(service), None) => Some(service.to_string()),
        (None, Some(region)) => Some(region.to_string()),
        (None, None) => None,
    };
    let name = match (place, summary) {
        (Some(place), Some(summary)) => format!("{place}: {summary}"),
        (Some(only), None) | (None, Some(only)) => only,
        (None, None) => "Untitled event".to_string(),
    };

    let mut component_ids = Vec::new();
    let impacted = event.impacted_services.unwrap_or_default();
    if impacted.is_empty() {
        if let Some(service) = non_empty(event.service.as_deref()) {
            let status = if resolved {
                ComponentStatus::Operational
            } else {
                event_level.unwrap_or(ComponentStatus::DegradedPerformance)
            };
            component_ids.push(service.to_string());
            components.add(VendorComponent {
                external_id: service.to_string(),
                name: service_name.unwrap_or(service).to_string(),
                status,
                group: region_group(service, region.as_deref()),
                description: None,
            });
        }
    }
    for (key, service) in impacted {
        let key = key.trim();
        if key.is_empty() {
            continue;
        }
        let status = level_or_noted(service.current.as_deref(), "service status", notes);
        component_ids.push(key.to_string());
        components.add(VendorComponent {
            external_id: key.to_string(),
            name: non_empty(service.service_name.as_deref())
                .unwrap_or(key)
                .to_string(),
            status,
            group: region_group(key, region.as_deref()),
            description: None,
        });
    }

    VendorIncident {
        external_id: arn,
        name,
        status,
        impact,
        started_at,
        resolved_at,
        url: None,
        component_ids,
        updates,
    }
}

/// The region a service key (`rds-me-central-1`) is in: the event's region when the key
/// ends in it, else any AWS-looking region suffix; none for a global service (`route53`).
fn region_group(key: &str, event_region: Option<&str>) -> Option<String> {
    static REGION: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"-([a-z]{2}(?:-[a-z]+)+-\d+)$").unwrap());
    if let Some(region) = event_region {
        if key.len() > region.len() && key.ends_with(&format!("-{region}")) {
            return Some(region.to_string());
        }
    }
    REGION
        .captures(key)
        .and_then(|c| c.get(1))
        .map(|m| m.as_str().to_string())
}

// ---------------------------------------------------------------------------------------
// Legacy `data.json`.

#[derive(Deserialize)]
struct LegacyData {
    #[serde(default)]
    current: Option<Vec<LegacyEvent>>,
    #[serde(default)]
    archive: Option<Vec<LegacyEvent>>,
}

#[derive(Deserialize)]
struct LegacyEvent {
    #[serde(default, deserialize_with = "lenient_text")]
    service: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    service_name: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    summary: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    date: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    status: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    description: Option<String>,
}

fn parse_legacy(doc: &Document<'_>) -> Result<VendorSnapshot, ParseError> {
    let (value, _) = json(LEGACY, doc)?;
    for key in ["current", "archive"] {
        if !value.get(key).is_some_and(Value::is_array) {
            return Err(not_this(LEGACY, format!("no `{key}` list")));
        }
    }
    let data: LegacyData = serde_json::from_value(value).map_err(|e| ParseError::BadValue {
        format: LEGACY,
        at: "current/archive".into(),
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
    let mut components = Components::default();
    let current = data.current.unwrap_or_default();
    let archive = data.archive.unwrap_or_default();
    for (event, open) in current
        .into_iter()
        .map(|e| (e, true))
        .chain(archive.into_iter().map(|e| (e, false)))
    {
        let (incident, level, service_name) =
            legacy_incident(event, open, doc, &mut snapshot.unknown_values);
        for id in &incident.component_ids {
            components.add(VendorComponent {
                external_id: id.clone(),
                name: service_name.clone().unwrap_or_else(|| id.clone()),
                status: if open {
                    level
                } else {
                    ComponentStatus::Operational
                },
                group: None,
                description: None,
            });
        }
        snapshot.incidents.push(incident);
    }
    snapshot.components = components.list;
    Ok(snapshot)
}

/// The incident, the component status it sets while open, and its service's name.
fn legacy_incident(
    event: LegacyEvent,
    open: bool,
    doc: &Document<'_>,
    notes: &mut Vec<String>,
) -> (VendorIncident, ComponentStatus, Option<String>) {
    static RESOLVED: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(?i)^\s*\[resolved\]\s*").unwrap());

    let service = non_empty(event.service.as_deref()).map(str::to_string);
    let service_name = non_empty(event.service_name.as_deref())
        .map(str::to_string)
        .or_else(|| service.clone());
    let summary = non_empty(event.summary.as_deref())
        .map(|s| RESOLVED.replace(s, "").trim().to_string())
        .filter(|s| !s.is_empty());
    let name = match (&service_name, summary) {
        (Some(service), Some(summary)) => format!("{service}: {summary}"),
        (Some(only), None) => only.clone(),
        (None, Some(only)) => only,
        (None, None) => "Untitled event".to_string(),
    };
    let level = level_or_noted(event.status.as_deref(), "event status", notes);
    let impact = IncidentImpact::from_component_status(Some(level));

    let date = non_empty(event.date.as_deref());
    let started = date.and_then(text::parse_time);
    let started_at = started.unwrap_or(doc.fetched_at);
    let description = event.description.unwrap_or_default();
    let (mut updates, timed) = match timeline(&description, started_at) {
        Some(entries) if !entries.is_empty() => (
            entries
                .into_iter()
                .map(|(at, body)| VendorUpdate {
                    external_id: None,
                    status: IncidentStatus::Investigating,
                    body,
                    at,
                })
                .collect::<Vec<_>>(),
            true,
        ),
        _ => (
            vec![VendorUpdate {
                external_id: None,
                status: IncidentStatus::Investigating,
                body: text::html_to_text(&description),
                at: started_at,
            }],
            false,
        ),
    };
    updates.retain(|u| !u.body.is_empty());
    updates.sort_by_key(|u| u.at);
    let started_at = started
        .or_else(|| updates.first().map(|u| u.at))
        .unwrap_or(doc.fetched_at);
    let (status, resolved_at) = if open {
        (IncidentStatus::Investigating, None)
    } else {
        if let Some(last) = updates.last_mut() {
            last.status = IncidentStatus::Resolved;
        }
        let resolved_at = updates.last().filter(|_| timed).map(|u| u.at);
        (IncidentStatus::Resolved, resolved_at)
    };
    let external_id = match (&service, date) {
        (Some(service), Some(date)) => Some(format!("{service}@{date}")),
        _ => None,
    };
    let incident = VendorIncident {
        external_id,
        name,
        status,
        impact,
        started_at,
        resolved_at,
        url: None,
        component_ids: service.into_iter().collect(),
        updates,
    };
    (incident, level, service_name)
}

/// The dated entries of a legacy description, or `None` when one entry's time does not
/// read. Each entry's day is the previous entry's (the first's is `start`'s) unless it
/// names its own; the clock time is in the zone the entry names.
fn timeline(html: &str, start: Timestamp) -> Option<Vec<(Timestamp, String)>> {
    static ENTRY: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r#"(?is)<div[^>]*>\s*<span[^>]*yellowfg[^>]*>([^<]*)</span>(.*?)</div>"#)
            .unwrap()
    });
    let mut entries = Vec::new();
    let mut previous: DateTime<Utc> = start.0;
    for (i, captures) in ENTRY.captures_iter(html).enumerate() {
        let stamp = captures.get(1)?.as_str();
        let body = text::html_to_text(captures.get(2).map_or("", |m| m.as_str()));
        let at = entry_time(stamp, previous, i == 0)?;
        previous = at;
        entries.push((Timestamp::from_datetime(at), body));
    }
    Some(entries)
}

/// One entry's time: `12:53 PM PDT` or `Aug 7, 1:50 AM PDT`, relative to the previous
/// entry's time.
fn entry_time(stamp: &str, previous: DateTime<Utc>, first: bool) -> Option<DateTime<Utc>> {
    static STAMP: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"^\s*(?:([A-Za-z]{3})\s+(\d{1,2}),\s*)?(\d{1,2}):(\d{2})\s*([AaPp][Mm])\s+([A-Za-z]{2,4})\s*$",
        )
        .unwrap()
    });
    let c = STAMP.captures(stamp)?;
    let hour: u32 = c.get(3)?.as_str().parse().ok()?;
    let minute: u32 = c.get(4)?.as_str().parse().ok()?;
    if !(1..=12).contains(&hour) {
        return None;
    }
    let pm = c.get(5)?.as_str().eq_ignore_ascii_case("pm");
    let hour = hour % 12 + if pm { 12 } else { 0 };
    let offset_hours = match c.get(6)?.as_str().to_ascii_uppercase().as_str() {
        "PDT" => -7,
        "PST" => -8,
        "UTC" | "GMT" => 0,
        _ => return None,
    };
    let offset = FixedOffset::east_opt(offset_hours * 3600)?;
    let local_previous = previous.with_timezone(&offset).date_naive();
    let day = match (c.get(1), c.get(2)) {
        (Some(month), Some(day)) => {
            let month = month_number(month.as_str())?;
            let day: u32 = day.as_str().parse().ok()?;
            let year = local_previous.year();
            let this_year = NaiveDate::from_ymd_opt(year, month, day)?;
            // "Jan 2" after a December entry is in the next year.
            if this_year < local_previous - Duration::days(180) {
                NaiveDate::from_ymd_opt(year + 1, month, day)?
            } else {
                this_year
            }
        }
        _ => local_previous,
    };
    let local = day.and_hms_opt(hour, minute, 0)?;
    let mut at = offset
        .from_local_datetime(&local)
        .single()?
        .with_timezone(&Utc);
    // An undated entry that is well before the previous one is past midnight.
    if c.get(1).is_none() && !first && at < previous - Duration::hours(1) {
        at += Duration::days(1);
    }
    Some(at)
}

fn month_number(name: &str) -> Option<u32> {
    let months = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let lower = name.to_ascii_lowercase();
    months
        .iter()
        .position(|m| *m == lower)
        .and_then(|i| u32::try_from(i + 1).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEALTH_URL: &str = "https://health.aws.amazon.com/public/currentevents";
    const LEGACY_URL: &str = "https://status.aws.amazon.com/data.json";
    const UAE_ARN: &str = "arn:aws:health:me-central-1::event/MULTIPLE_SERVICES/\
        AWS_MULTIPLE_SERVICES_OPERATIONAL_ISSUE/AWS_MULTIPLE_SERVICES_OPERATIONAL_ISSUE_5E6B8_EF2498889B5";
    const BAHRAIN_ARN: &str = "arn:aws:health:me-south-1::event/MULTIPLE_SERVICES/\
        AWS_MULTIPLE_SERVICES_OPERATIONAL_ISSUE/AWS_MULTIPLE_SERVICES_OPERATIONAL_ISSUE_E6426_01AD72B4E1E";

    fn fixture(path: &str) -> Vec<u8> {
        let full = format!("{}/../shared/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
    }

    fn parse_with(
        adapter: &dyn Adapter,
        url: &str,
        body: &[u8],
    ) -> Result<VendorSnapshot, ParseError> {
        let url = Url::parse(url).unwrap();
        adapter.parse(&Document {
            url: &url,
            content_type: Some("application/json"),
            body,
            fetched_at: time("2026-08-01T15:53:55Z"),
        })
    }

    fn time(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    fn component<'a>(s: &'a VendorSnapshot, id: &str) -> &'a VendorComponent {
        s.components
            .iter()
            .find(|c| c.external_id == id)
            .unwrap_or_else(|| panic!("no component {id}"))
    }

    /// The fixture's text, re-encoded.
    fn health_text() -> String {
        let body = fixture("aws/health-currentevents-utf16be-bom.json");
        let (text, encoding) = decode(&body).unwrap();
        assert_eq!(encoding, Encoding::Utf16Be);
        text.into_owned()
    }

    fn utf16(text: &str, bom: bool, unit: fn(u16) -> [u8; 2]) -> Vec<u8> {
        let mut out = Vec::new();
        if bom {
            out.extend(unit(0xFEFF));
        }
        for u in text.encode_utf16() {
            out.extend(unit(u));
        }
        out
    }

    #[test]
    fn health_current_events() {
        let s = parse_with(
            &AwsHealth,
            HEALTH_URL,
            &fixture("aws/health-currentevents-utf16be-bom.json"),
        )
        .unwrap();
        assert_eq!(s.incidents.len(), 2);

        let uae = &s.incidents[0];
        assert_eq!(uae.external_id.as_deref(), Some(UAE_ARN));
        assert_eq!(uae.name, "Multiple services (UAE): Increased Error Rates");
        assert_eq!(uae.status, IncidentStatus::Investigating);
        assert_eq!(uae.impact, IncidentImpact::Critical);
        assert_eq!(uae.started_at, time("2026-03-01T12:51:25Z"));
        assert_eq!(uae.resolved_at, None);
        assert_eq!(uae.url, None);
        assert_eq!(uae.updates.len(), 23);
        assert_eq!(uae.updates[0].at, time("2026-03-01T12:51:25Z"));
        assert_eq!(
            uae.updates[0].body,
            "We are investigating issues with AWS services in the ME-CENTRAL-1 Region."
        );
        assert_eq!(uae.updates[22].at, time("2026-04-30T07:25:54Z"));
        assert!(uae.updates[22]
            .body
            .starts_with("We are providing an update on the ongoing service disruption."));
        assert!(uae
            .updates
            .iter()
            .all(|u| u.status == IncidentStatus::Investigating));
        assert_eq!(uae.component_ids.len(), 140);
        assert!(uae.component_ids.iter().any(|id| id == "rds-me-central-1"));

        let bahrain = &s.incidents[1];
        assert_eq!(bahrain.external_id.as_deref(), Some(BAHRAIN_ARN));
        assert_eq!(
            bahrain.name,
            "Multiple services (Bahrain): Increased Error Rates"
        );
        assert_eq!(bahrain.started_at, time("2026-03-02T05:56:27Z"));
        assert_eq!(bahrain.updates.len(), 13);
        assert_eq!(bahrain.updates[12].at, time("2026-04-30T07:07:11Z"));
        assert_eq!(bahrain.component_ids.len(), 149);

        // 140 + 149 services, five global ones in both events.
        assert_eq!(s.components.len(), 284);
        let rds = component(&s, "rds-me-central-1");
        assert_eq!(rds.name, "Amazon Relational Database Service");
        assert_eq!(rds.group.as_deref(), Some("me-central-1"));
        assert_eq!(rds.status, ComponentStatus::MajorOutage);
        let s3 = component(&s, "s3-me-south-1");
        assert_eq!(s3.group.as_deref(), Some("me-south-1"));
        assert_eq!(s3.status, ComponentStatus::MajorOutage);
        let route53 = component(&s, "route53");
        assert_eq!(route53.group, None);
        assert_eq!(route53.status, ComponentStatus::Operational);
        assert_eq!(s.components[0].group, None);
        assert_eq!(
            s.coverage,
            Coverage {
                components: false,
                open_incidents: true,
                open_maintenances: false
            }
        );
        assert!(s.unknown_values.is_empty(), "{:?}", s.unknown_values);
    }

    #[test]
    fn health_reads_every_encoding_alike() {
        let expected = parse_with(
            &AwsHealth,
            HEALTH_URL,
            &fixture("aws/health-currentevents-utf16be-bom.json"),
        )
        .unwrap();
        let text = health_text();
        let mut utf8_bom = b"\xEF\xBB\xBF".to_vec();
        utf8_bom.extend(text.as_bytes());
        for body in [
            utf16(&text, true, u16::to_le_bytes),
            utf16(&text, false, u16::to_be_bytes),
            utf16(&text, false, u16::to_le_bytes),
            utf8_bom,
            text.clone().into_bytes(),
        ] {
            assert_eq!(parse_with(&AwsHealth, HEALTH_URL, &body).unwrap(), expected);
        }
    }

    #[test]
    fn decoding_is_total() {
        assert_eq!(decode(b"\xFE\xFF\x00"), Err(DecodeError::OddLength));
        assert_eq!(decode(b"\xFF\xFE\x5B\x00\x5D"), Err(DecodeError::OddLength));
        // A high surrogate with nothing after it, and a low one alone.
        assert_eq!(decode(b"\xFE\xFF\xD8\x00"), Err(DecodeError::LoneSurrogate));
        assert_eq!(
            decode(b"\xFF\xFE\x00\xDC\x5B\x00"),
            Err(DecodeError::LoneSurrogate)
        );
        assert!(matches!(decode(b"\xC3\x28"), Err(DecodeError::NotUtf8(_))));
        assert_eq!(decode(b"").unwrap(), (Cow::Borrowed(""), Encoding::Utf8));
        assert_eq!(
            decode(b"\xFE\xFF\x00[\x00]").unwrap(),
            (Cow::Owned("[]".to_string()), Encoding::Utf16Be)
        );
        assert_eq!(decode(b"\xFF\xFE\x3D\xD8\x00\xDE").unwrap().0, "\u{1F600}");
        for body in [
            &b"\xFE\xFF\x00"[..],
            b"\xFE\xFF\xD8\x00",
            b"\x00",
            b"\xFF",
            b"\xFE",
        ] {
            assert!(parse_with(&AwsHealth, HEALTH_URL, body).is_err());
            assert!(parse_with(&AwsStatus, LEGACY_URL, body).is_err());
        }
    }

    #[test]
    fn health_resolved_and_unknown_codes() {
        let body = br#"[{"arn":"arn:aws:health:us-east-1::event/EC2/X/1","date":1700000000,
            "region_name":"N. Virginia","status":"0","service":"ec2-us-east-1",
            "service_name":"Amazon Elastic Compute Cloud","summary":"Instance launch errors",
            "event_log":[{"message":"Fixed.","status":"0","timestamp":1700003600},
                         {"message":"We are <b>investigating</b>.","status":2,"timestamp":1700000000}]},
            {"arn":"arn:aws:health:global::event/IAM/Y/2","status":"9",
             "impacted_services":{"iam":{"service_name":"AWS IAM","current":"7"}}}]"#;
        let s = parse_with(&AwsHealth, "https://example.com/events", body).unwrap();
        let ec2 = &s.incidents[0];
        assert_eq!(ec2.status, IncidentStatus::Resolved);
        assert_eq!(ec2.resolved_at, Some(time("2023-11-14T23:13:20Z")));
        assert_eq!(ec2.impact, IncidentImpact::Major);
        assert_eq!(ec2.updates[0].body, "We are investigating.");
        assert_eq!(ec2.updates[1].status, IncidentStatus::Resolved);
        assert_eq!(ec2.component_ids, vec!["ec2-us-east-1"]);
        let component = component(&s, "ec2-us-east-1");
        assert_eq!(component.status, ComponentStatus::Operational);
        assert_eq!(component.group.as_deref(), Some("us-east-1"));

        let iam = &s.incidents[1];
        assert_eq!(iam.status, IncidentStatus::Investigating);
        assert_eq!(iam.impact, IncidentImpact::Minor);
        assert_eq!(iam.started_at, time("2026-08-01T15:53:55Z"));
        assert_eq!(iam.name, "Untitled event");
        assert_eq!(
            s.unknown_values,
            vec![
                "event status \"9\" → minor".to_string(),
                "service status \"7\" → degraded_performance".to_string(),
            ]
        );
    }

    #[test]
    fn health_rejects_other_formats() {
        for other in [
            "aws/status-data.json",
            "gcp/incidents.json",
            "statusio/docker-status-partial-disruption.json",
            "statuspage/github-summary-all-operational.json",
            "salesforce/trust-instances-status.json",
            "azure/status-feed-empty.rss",
        ] {
            let err = parse_with(&AwsHealth, HEALTH_URL, &fixture(other)).unwrap_err();
            assert!(
                matches!(err, ParseError::NotThisFormat { .. }),
                "{other}: {err:?}"
            );
        }
        // A quiet day: an empty list, from AWS (UTF-16) or its URL, but not from anywhere.
        assert!(
            parse_with(&AwsHealth, "https://example.com/x", b"\xFE\xFF\x00[\x00]")
                .unwrap()
                .incidents
                .is_empty()
        );
        assert!(parse_with(&AwsHealth, HEALTH_URL, b"[]").is_ok());
        assert!(parse_with(&AwsHealth, "https://example.com/incidents", b"[]").is_err());
    }

    #[test]
    fn health_truncated_is_an_error() {
        let full = fixture("aws/health-currentevents-utf16be-bom.json");
        assert!(parse_with(&AwsHealth, HEALTH_URL, &full[..full.len() / 2]).is_err());
        assert!(parse_with(&AwsHealth, HEALTH_URL, &full[..full.len() / 2 + 1]).is_err());
        assert!(parse_with(&AwsHealth, HEALTH_URL, "[".repeat(50_000).as_bytes()).is_err());
    }

    #[test]
    fn health_documents() {
        let page = Url::parse("https://health.aws.amazon.com/health/status").unwrap();
        assert_eq!(
            AwsHealth.documents(&page, None),
            vec![Url::parse(HEALTH_URL).unwrap()]
        );
        let source = Url::parse("https://mirror.example/aws.json").unwrap();
        assert_eq!(AwsHealth.documents(&page, Some(&source)), vec![source]);
    }

    #[test]
    fn legacy_archive() {
        let s = parse_with(&AwsStatus, LEGACY_URL, &fixture("aws/status-data.json")).unwrap();
        assert_eq!(s.incidents.len(), 86);
        assert!(s
            .incidents
            .iter()
            .all(|i| i.status == IncidentStatus::Resolved));
        assert_eq!(
            s.incidents
                .iter()
                .filter(|i| i.impact == IncidentImpact::Critical)
                .count(),
            3
        );
        assert_eq!(
            s.incidents
                .iter()
                .filter(|i| i.impact == IncidentImpact::Major)
                .count(),
            11
        );
        assert_eq!(
            s.incidents.iter().map(|i| i.updates.len()).sum::<usize>(),
            352
        );

        let first = &s.incidents[0];
        assert_eq!(
            first.external_id.as_deref(),
            Some("internetconnectivity-us-east-2@1624564393")
        );
        assert_eq!(
            first.name,
            "AWS Internet Connectivity (Ohio): Internet Connectivity"
        );
        assert_eq!(first.impact, IncidentImpact::Minor);
        assert_eq!(first.started_at, time("2021-06-24T19:53:13Z"));
        assert_eq!(first.updates.len(), 1);
        assert_eq!(first.updates[0].at, time("2021-06-24T19:53:00Z"));
        assert_eq!(first.updates[0].status, IncidentStatus::Resolved);
        assert!(first.updates[0]
            .body
            .starts_with("Between 12:15 PM and 12:21 PM PDT we observed connectivity issues"));
        assert_eq!(first.resolved_at, Some(time("2021-06-24T19:53:00Z")));
        assert_eq!(first.component_ids, vec!["internetconnectivity-us-east-2"]);
        assert_eq!(first.url, None);

        let acm = &s.incidents[2];
        assert_eq!(
            acm.name,
            "AWS Certificate Manager (N. Virginia): Increased API Error Rates and Latency"
        );
        assert_eq!(acm.impact, IncidentImpact::Critical);
        assert_eq!(acm.updates.len(), 10);
        assert_eq!(acm.updates[0].status, IncidentStatus::Investigating);
        assert_eq!(acm.updates[9].at, time("2021-06-30T02:46:00Z"));

        // Entries that name their day, across midnight and five days on.
        let dynamodb = &s.incidents[10];
        assert_eq!(dynamodb.component_ids, vec!["dynamodb-us-east-1"]);
        assert_eq!(dynamodb.updates.len(), 9);
        assert_eq!(dynamodb.updates[6].at, time("2021-08-07T06:11:00Z"));
        assert_eq!(dynamodb.updates[7].at, time("2021-08-07T08:50:00Z"));
        assert_eq!(dynamodb.resolved_at, Some(time("2021-08-07T09:53:00Z")));
        let direct_connect = &s.incidents[20];
        assert_eq!(direct_connect.started_at, time("2021-09-02T00:39:00Z"));
        assert_eq!(
            direct_connect.resolved_at,
            Some(time("2021-09-07T03:25:00Z"))
        );
        let fargate = &s.incidents[52];
        assert_eq!(fargate.updates[0].at, time("2021-12-07T23:32:00Z"));
        assert_eq!(fargate.resolved_at, Some(time("2021-12-08T10:29:00Z")));

        let ec2 = component(&s, "ec2-us-east-1");
        assert_eq!(ec2.name, "Amazon Elastic Compute Cloud (N. Virginia)");
        assert_eq!(ec2.status, ComponentStatus::Operational);
        assert!(s
            .components
            .iter()
            .all(|c| c.status == ComponentStatus::Operational));
        assert_eq!(
            s.coverage,
            Coverage {
                components: false,
                open_incidents: true,
                open_maintenances: false
            }
        );
        assert!(s.unknown_values.is_empty(), "{:?}", s.unknown_values);
    }

    /// The fixture's first archived event as it stood while it was current.
    #[test]
    fn legacy_current_event_is_open() {
        let mut data: Value = serde_json::from_slice(&fixture("aws/status-data.json")).unwrap();
        let mut event = data["archive"][2].clone();
        event["summary"] = Value::from("Increased API Error Rates and Latency");
        data["current"] = Value::from(vec![event]);
        let s = parse_with(&AwsStatus, LEGACY_URL, &serde_json::to_vec(&data).unwrap()).unwrap();
        assert_eq!(s.incidents.len(), 87);
        let open = &s.incidents[0];
        assert_eq!(open.status, IncidentStatus::Investigating);
        assert_eq!(open.resolved_at, None);
        assert!(open
            .updates
            .iter()
            .all(|u| u.status == IncidentStatus::Investigating));
        // The same event in the archive has the same id and name.
        assert_eq!(open.external_id, s.incidents[3].external_id);
        assert_eq!(open.name, s.incidents[3].name);
        assert_eq!(
            component(&s, "certificatemanager-us-east-1").status,
            ComponentStatus::MajorOutage
        );
    }

    #[test]
    fn legacy_unreadable_timeline_is_one_update() {
        let body =
            br#"{"current":[],"archive":[{"service":"s3-us-east-1","service_name":"Amazon S3",
            "summary":"[RESOLVED] Slow","date":"1600000000","status":"5",
            "description":"<div><span class=\"yellowfg\">noonish</span>&nbsp;Slow.</div>"}]}"#;
        let s = parse_with(&AwsStatus, LEGACY_URL, body).unwrap();
        let incident = &s.incidents[0];
        assert_eq!(incident.name, "Amazon S3: Slow");
        assert_eq!(incident.impact, IncidentImpact::Minor);
        assert_eq!(incident.updates.len(), 1);
        assert_eq!(incident.updates[0].body, "noonish Slow.");
        assert_eq!(incident.updates[0].at, time("2020-09-13T12:26:40Z"));
        assert_eq!(incident.resolved_at, None);
        assert_eq!(
            s.unknown_values,
            vec!["event status \"5\" → degraded_performance".to_string()]
        );
    }

    #[test]
    fn legacy_rejects_other_formats_and_truncation() {
        for other in [
            "aws/health-currentevents-utf16be-bom.json",
            "gcp/incidents.json",
            "statusio/gitlab-status-security-issue.json",
            "heroku/current-status-maintenance.json",
            "statuspage/twilio-summary-groups-incidents.json",
        ] {
            let err = parse_with(&AwsStatus, LEGACY_URL, &fixture(other)).unwrap_err();
            assert!(
                matches!(err, ParseError::NotThisFormat { .. }),
                "{other}: {err:?}"
            );
        }
        let full = fixture("aws/status-data.json");
        assert!(parse_with(&AwsStatus, LEGACY_URL, &full[..full.len() / 2]).is_err());
        let wrong_type = br#"{"current":[],"archive":[{"service":[1]},3]}"#;
        assert!(matches!(
            parse_with(&AwsStatus, LEGACY_URL, wrong_type),
            Err(ParseError::BadValue { .. })
        ));
        let page = Url::parse("https://status.aws.amazon.com/").unwrap();
        assert_eq!(
            AwsStatus.documents(&page, None),
            vec![Url::parse(LEGACY_URL).unwrap()]
        );
    }

    fn parse_any(name: &str, body: &[u8]) -> Result<VendorSnapshot, ParseError> {
        if name.contains("currentevents") {
            parse_with(&AwsHealth, HEALTH_URL, body)
        } else {
            parse_with(&AwsStatus, LEGACY_URL, body)
        }
    }

    /// Every cut of the real documents fails to parse, and no corrupted byte panics.
    #[test]
    fn cut_or_corrupted_documents_never_panic() {
        for name in [
            "aws/health-currentevents-utf16be-bom.json",
            "aws/status-data.json",
        ] {
            let full = fixture(name);
            let stride = (full.len() / 200).max(1);
            for cut in (0..full.len().saturating_sub(8)).step_by(stride) {
                assert!(
                    parse_any(name, &full[..cut]).is_err(),
                    "{name} cut at {cut}"
                );
            }
            for at in (0..full.len()).step_by(stride) {
                let mut corrupted = full.clone();
                if let Some(byte) = corrupted.get_mut(at) {
                    *byte ^= 0x5a;
                }
                let _ = parse_any(name, &corrupted);
            }
        }
    }
}
