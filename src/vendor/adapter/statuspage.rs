//! Atlassian Statuspage v2 JSON, and incident.io's Statuspage-compatible summary. One parser
//! reads every v2 document shape and tells them apart by their keys; it does no I/O.
//!
//! # Endpoints
//!
//! With no explicit source, [`Statuspage`] fetches `<page>/api/v2/summary.json` (components,
//! unresolved incidents, upcoming and active maintenances) and then `<page>/api/v2/incidents.json`
//! (the 50 most recent incidents, so a first import has history). [`Incidentio`] fetches only
//! `<page>/api/v2/summary.json`: that is the one compatibility endpoint incident.io is known to
//! serve. An operator may point either at any other v2 document instead.
//!
//! # Shapes
//!
//! Every document has a `page` object (`{id, name, url, ...}`). Then, by its other keys:
//!
//! - `status`, `components`, `incidents` (and `scheduled_maintenances`): `summary.json`.
//!   Coverage: components, open incidents, and open maintenances when `scheduled_maintenances`
//!   is present (incident.io leaves it out).
//! - `status` alone: `status.json`, an empty snapshot with the page name; no coverage.
//! - `components`: `components.json`. Coverage: components.
//! - `incidents`: `incidents.json` (no coverage) or `incidents/unresolved.json` (coverage of open
//!   incidents, decided by the path the document was fetched from).
//! - `scheduled_maintenances`: `scheduled-maintenances.json`, `.../upcoming.json`,
//!   `.../active.json`; no coverage, as the upcoming and active lists are not certain to be
//!   complete.
//! - `incident`: `incidents/<id>.json`; no coverage.
//!
//! A document without a `page` object, with a `status` that is not an `{indicator, ...}` object,
//! with a `page.status` string (Instatus's summary), or with none of the keys above is
//! [`ParseError::NotThisFormat`]. A document of the right shape with a value of the wrong type
//! (a component that is not an object, say) is [`ParseError::BadValue`]; ids, names and times
//! are read leniently (strings, numbers, null).
//!
//! # Mapping
//!
//! Statuspage's vocabulary is Pharos's, so documented values map one to one:
//!
//! - component `status` operational, degraded_performance, partial_outage, major_outage,
//!   under_maintenance → the same [`ComponentStatus`]; anything else → degraded_performance.
//! - incident `status` investigating, identified, monitoring, resolved, postmortem → the same
//!   [`IncidentStatus`]; anything else → investigating, or resolved when `resolved_at` is set.
//! - `impact` none, minor, major, critical → the same [`IncidentImpact`]; `maintenance` makes
//!   the record a maintenance; anything else → minor.
//! - maintenance `status` scheduled, in_progress, verifying, completed → the same
//!   [`MaintenanceStatus`]; anything else → scheduled, or completed when `resolved_at` is set.
//!
//! Every fallback is recorded in `unknown_values`.
//!
//! A record is a maintenance when it comes from a `scheduled_maintenances` array, or its impact
//! is `maintenance`, or it has a `scheduled_for` time, or its status is a maintenance status.
//! Update statuses use the same tables as their record; an update without a status keeps the
//! previous one.
//!
//! Group headers (`group: true`) are not components; a child names its group through `group_id`
//! (or by being listed in a header's `components`) and carries the group's name. A component
//! without an id is keyed by its name, prefixed with `<group>/` when the name repeats.
//!
//! When `impact` is missing it is derived with [`IncidentImpact::from_component_status`] from the
//! worst status among the incident's components and its updates' `affected_components`; with no
//! component information at all it is minor for an open incident and none for a closed one.
//!
//! # Times
//!
//! - An incident's `started_at` is the earliest of `started_at`, `created_at` and its first
//!   update (else `resolved_at`, else `updated_at`). Statuspage stamps a backfilled incident's
//!   `started_at` with the time it was typed in while `created_at` and the updates'
//!   `display_at` carry the real time (GitHub's incident `594m87r8sw13` happened at 11:00 but
//!   has `started_at` 15:56), and an imported legacy incident carries the real time in
//!   `started_at` while its updates were created years later (GitHub's 2010 incident
//!   `0lj0pn2vkw9x`, updates created in 2018 with `display_at` 2010); the earliest of the three
//!   is right in both cases.
//! - `resolved_at` is set only for a closed status: `resolved_at`, else the last closing
//!   update, else `updated_at`; never earlier than the start.
//! - An update's time is `display_at` (what the page shows, and the real time of backfilled
//!   updates), else `created_at`, else `updated_at`.
//! - A maintenance window is `scheduled_for` (else `started_at`, `created_at`, the first update)
//!   to `scheduled_until`.
//! - Anything with no readable time uses the fetch time. Updates are sorted oldest first.
//!
//! The incident `url` is the `shortlink`, else `<page.url>/incidents/<id>` (which is also where
//! incident.io serves an incident). `component_ids` are the ids of the record's `components`,
//! or, when that list is missing or empty, the `affected_components` codes of its updates.
//!
//! # What the format cannot tell us
//!
//! The page-wide `status.indicator` is not mapped: it is a roll-up of the components and
//! incidents, and an incident must never be inferred from it. `incidents.json` holds only the
//! latest 50 incidents, so its silence about an incident means nothing. Per-update
//! `affected_components` entries are often `old_status` = `new_status` snapshots (or null), so
//! a component's status over the course of an incident is not reconstructed; only which
//! components were affected is kept.

use super::text::{self, html_to_text, parse_time};
use super::text::{json_true as flag, trimmed_scalar as scalar, trimmed_scalar_of as scalar_of};
use super::{at_path, Adapter, AdapterKind, Document, ParseError};
use crate::domain::status::{ComponentStatus, IncidentImpact, IncidentStatus, MaintenanceStatus};
use crate::domain::time::Timestamp;
use crate::vendor::model::{
    VendorComponent, VendorIncident, VendorMaintenance, VendorMaintenanceUpdate, VendorSnapshot,
    VendorUpdate,
};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use std::collections::HashMap;
use url::Url;

/// Atlassian Statuspage v2 JSON and the look-alikes that serve the same shapes.
pub struct Statuspage;

impl Adapter for Statuspage {
    fn kind(&self) -> AdapterKind {
        AdapterKind::Statuspage
    }

    fn documents(&self, page: &Url, source: Option<&Url>) -> Vec<Url> {
        match source {
            Some(source) => vec![source.clone()],
            None => vec![
                at_path(page, "/api/v2/summary.json"),
                at_path(page, "/api/v2/incidents.json"),
            ],
        }
    }

    fn parse(&self, doc: &Document<'_>) -> Result<VendorSnapshot, ParseError> {
        parse(doc, "Statuspage")
    }
}

/// incident.io's Statuspage-compatible summary: the same parser, fewer documents.
pub struct Incidentio;

impl Adapter for Incidentio {
    fn kind(&self) -> AdapterKind {
        AdapterKind::Incidentio
    }

    fn documents(&self, page: &Url, source: Option<&Url>) -> Vec<Url> {
        match source {
            Some(source) => vec![source.clone()],
            None => vec![at_path(page, "/api/v2/summary.json")],
        }
    }

    fn parse(&self, doc: &Document<'_>) -> Result<VendorSnapshot, ParseError> {
        parse(doc, "incident.io")
    }
}

#[derive(Deserialize)]
struct Envelope {
    page: RawPage,
    #[serde(default)]
    status: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    components: Option<Vec<RawComponent>>,
    #[serde(default)]
    incidents: Option<Vec<RawRecord>>,
    #[serde(default)]
    scheduled_maintenances: Option<Vec<RawRecord>>,
    #[serde(default)]
    incident: Option<RawRecord>,
}

#[derive(Deserialize)]
struct RawPage {
    #[serde(default, deserialize_with = "scalar")]
    name: Option<String>,
    #[serde(default, deserialize_with = "scalar")]
    url: Option<String>,
}

#[derive(Deserialize)]
struct RawComponent {
    #[serde(default, deserialize_with = "scalar")]
    id: Option<String>,
    #[serde(default, deserialize_with = "scalar")]
    name: Option<String>,
    #[serde(default, deserialize_with = "scalar")]
    status: Option<String>,
    #[serde(default, deserialize_with = "scalar")]
    description: Option<String>,
    #[serde(default, deserialize_with = "scalar")]
    group_id: Option<String>,
    #[serde(default, deserialize_with = "flag")]
    group: bool,
    /// On a group header: the ids of its children.
    #[serde(default, deserialize_with = "scalars")]
    components: Vec<String>,
}

/// An incident or a scheduled maintenance: Statuspage gives both the same shape.
#[derive(Deserialize)]
struct RawRecord {
    #[serde(default, deserialize_with = "scalar")]
    id: Option<String>,
    #[serde(default, deserialize_with = "scalar")]
    name: Option<String>,
    #[serde(default, deserialize_with = "scalar")]
    status: Option<String>,
    #[serde(default, deserialize_with = "scalar")]
    impact: Option<String>,
    #[serde(default, deserialize_with = "scalar")]
    created_at: Option<String>,
    #[serde(default, deserialize_with = "scalar")]
    started_at: Option<String>,
    #[serde(default, deserialize_with = "scalar")]
    updated_at: Option<String>,
    #[serde(default, deserialize_with = "scalar")]
    resolved_at: Option<String>,
    #[serde(default, deserialize_with = "scalar")]
    scheduled_for: Option<String>,
    #[serde(default, deserialize_with = "scalar")]
    scheduled_until: Option<String>,
    #[serde(default, deserialize_with = "scalar")]
    shortlink: Option<String>,
    #[serde(default)]
    incident_updates: Option<Vec<RawUpdate>>,
    #[serde(default)]
    components: Option<Vec<RawComponent>>,
}

#[derive(Deserialize)]
struct RawUpdate {
    #[serde(default, deserialize_with = "scalar")]
    id: Option<String>,
    #[serde(default, deserialize_with = "scalar")]
    status: Option<String>,
    #[serde(default, deserialize_with = "scalar")]
    body: Option<String>,
    #[serde(default, deserialize_with = "scalar")]
    display_at: Option<String>,
    #[serde(default, deserialize_with = "scalar")]
    created_at: Option<String>,
    #[serde(default, deserialize_with = "scalar")]
    updated_at: Option<String>,
    #[serde(default, deserialize_with = "affected")]
    affected_components: Vec<Affected>,
}

/// One entry of an update's `affected_components` (which may be null).
struct Affected {
    code: String,
    new_status: Option<String>,
}

/// What one parse needs besides the record itself.
struct Context<'a> {
    /// The page's own URL, for incident links without a shortlink.
    page_url: Option<Url>,
    doc_url: &'a Url,
    fetched_at: Timestamp,
}

/// An update with its time read, before its status is mapped.
struct Step {
    id: Option<String>,
    status: Option<String>,
    body: String,
    at: Timestamp,
}

fn parse(doc: &Document<'_>, format: &'static str) -> Result<VendorSnapshot, ParseError> {
    let body = doc.body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(doc.body);
    let value: Value = serde_json::from_slice(body).map_err(|err| ParseError::NotThisFormat {
        format,
        detail: format!("not JSON: {err}"),
    })?;
    check_shape(&value).map_err(|detail| ParseError::NotThisFormat {
        format,
        detail: detail.to_string(),
    })?;
    let envelope: Envelope = serde_json::from_value(value).map_err(|err| ParseError::BadValue {
        format,
        at: "document".to_string(),
        detail: err.to_string(),
    })?;

    let ctx = Context {
        page_url: envelope
            .page
            .url
            .as_deref()
            .and_then(|u| Url::parse(u).ok())
            .filter(|u| matches!(u.scheme(), "http" | "https")),
        doc_url: doc.url,
        fetched_at: doc.fetched_at,
    };
    let mut snapshot = VendorSnapshot {
        page_name: envelope.page.name,
        ..VendorSnapshot::default()
    };

    let is_summary =
        envelope.status.is_some() && envelope.components.is_some() && envelope.incidents.is_some();
    let lists_maintenances = envelope.scheduled_maintenances.is_some();
    if let Some(components) = envelope.components {
        snapshot.components = flatten_components(&components, &mut snapshot.unknown_values);
        snapshot.coverage.components = true;
    }
    snapshot.coverage.open_incidents = is_summary
        || ctx
            .doc_url
            .path()
            .trim_end_matches('/')
            .ends_with("/incidents/unresolved.json");
    snapshot.coverage.open_maintenances = is_summary && lists_maintenances;

    let records = envelope
        .incidents
        .unwrap_or_default()
        .into_iter()
        .chain(envelope.incident)
        .map(|record| (record, false))
        .chain(
            envelope
                .scheduled_maintenances
                .unwrap_or_default()
                .into_iter()
                .map(|record| (record, true)),
        );
    for (record, listed_as_maintenance) in records {
        if listed_as_maintenance || is_maintenance(&record) {
            let maintenance = maintenance(record, &ctx, &mut snapshot.unknown_values);
            snapshot.maintenances.push(maintenance);
        } else {
            let incident = incident(record, &ctx, &mut snapshot.unknown_values);
            snapshot.incidents.push(incident);
        }
    }
    Ok(snapshot)
}

/// The keys that make a document a Statuspage v2 document, checked before any value is read.
fn check_shape(value: &Value) -> Result<(), &'static str> {
    let Some(map) = value.as_object() else {
        return Err("not a JSON object");
    };
    let Some(page) = map.get("page").and_then(Value::as_object) else {
        return Err("no `page` object");
    };
    if page.get("status").is_some_and(Value::is_string) {
        return Err("`page.status` is a string, as in an Instatus summary");
    }
    if let Some(status) = map.get("status") {
        if !status.get("indicator").is_some_and(Value::is_string) {
            return Err("`status` is not an object with an `indicator`");
        }
    }
    let has = |key: &str, kind: fn(&Value) -> bool| map.get(key).is_some_and(kind);
    if has("components", Value::is_array)
        || has("incidents", Value::is_array)
        || has("scheduled_maintenances", Value::is_array)
        || has("incident", Value::is_object)
        || map.contains_key("status")
    {
        Ok(())
    } else {
        Err("none of `status`, `components`, `incidents`, `scheduled_maintenances`, `incident`")
    }
}

/// Components in the vendor's order, without group headers, each carrying its group's name.
fn flatten_components(raw: &[RawComponent], notes: &mut Vec<String>) -> Vec<VendorComponent> {
    let mut group_names: HashMap<&str, &str> = HashMap::new();
    let mut listed_in: HashMap<&str, &str> = HashMap::new();
    for header in raw.iter().filter(|c| c.group) {
        let Some(name) = header.name.as_deref() else {
            continue;
        };
        if let Some(id) = header.id.as_deref() {
            group_names.insert(id, name);
        }
        for child in &header.components {
            listed_in.insert(child, name);
        }
    }
    let members: Vec<(&RawComponent, Option<&str>)> = raw
        .iter()
        .filter(|c| !c.group && (c.id.is_some() || c.name.is_some()))
        .map(|c| {
            let group = c
                .group_id
                .as_deref()
                .and_then(|g| group_names.get(g))
                .or_else(|| c.id.as_deref().and_then(|id| listed_in.get(id)))
                .copied();
            (c, group)
        })
        .collect();
    let mut name_counts: HashMap<&str, usize> = HashMap::new();
    for (c, _) in &members {
        if let Some(name) = c.name.as_deref() {
            *name_counts.entry(name).or_default() += 1;
        }
    }

    members
        .into_iter()
        .filter_map(|(c, group)| {
            let name = c.name.clone().or_else(|| c.id.clone())?;
            let external_id = match (&c.id, group) {
                (Some(id), _) => id.clone(),
                (None, Some(group)) if name_counts.get(name.as_str()).is_some_and(|&n| n > 1) => {
                    format!("{group}/{name}")
                }
                (None, _) => name.clone(),
            };
            Some(VendorComponent {
                external_id,
                name,
                status: component_status(c.status.as_deref(), notes),
                group: group.map(str::to_string),
                description: c
                    .description
                    .as_deref()
                    .map(html_to_text)
                    .filter(|d| !d.is_empty()),
            })
        })
        .collect()
}

fn component_status(value: Option<&str>, notes: &mut Vec<String>) -> ComponentStatus {
    let value = value.unwrap_or("");
    value.parse().unwrap_or_else(|_| {
        text::unknown(
            notes,
            "component status",
            value,
            ComponentStatus::DegradedPerformance,
        )
    })
}

fn is_maintenance(record: &RawRecord) -> bool {
    record.impact.as_deref() == Some("maintenance")
        || record.scheduled_for.is_some()
        || record
            .status
            .as_deref()
            .is_some_and(|s| s.parse::<MaintenanceStatus>().is_ok())
}

fn incident(record: RawRecord, ctx: &Context<'_>, notes: &mut Vec<String>) -> VendorIncident {
    let component_ids = component_ids(&record);
    let worst_component = worst_component_status(&record);
    let url = record_url(&record, ctx);
    let steps = steps(record.incident_updates.unwrap_or_default(), ctx.fetched_at);

    let resolved_field = time(&record.resolved_at);
    let status_text = record.status.as_deref().unwrap_or("");
    let status = status_text.parse().unwrap_or_else(|_| {
        let default = if resolved_field.is_some() {
            IncidentStatus::Resolved
        } else {
            IncidentStatus::Investigating
        };
        text::unknown(notes, "incident status", status_text, default)
    });
    let impact = match record.impact.as_deref() {
        Some(value) => value.parse().unwrap_or_else(|_| {
            text::unknown(notes, "incident impact", value, IncidentImpact::Minor)
        }),
        None => match worst_component {
            Some(_) => IncidentImpact::from_component_status(worst_component),
            None if status.is_closed() => IncidentImpact::None,
            None => IncidentImpact::Minor,
        },
    };

    let started_at = [
        time(&record.started_at),
        time(&record.created_at),
        steps.first().map(|s| s.at),
    ]
    .into_iter()
    .flatten()
    .min()
    .or(resolved_field)
    .or_else(|| time(&record.updated_at))
    .unwrap_or(ctx.fetched_at);

    let mut updates: Vec<VendorUpdate> = Vec::with_capacity(steps.len());
    for step in steps {
        let previous = updates.last().map(|u| u.status);
        let status = match step.status.as_deref() {
            None => previous.unwrap_or(IncidentStatus::Investigating),
            Some(value) => value.parse().unwrap_or_else(|_| {
                text::unknown(
                    notes,
                    "incident update status",
                    value,
                    IncidentStatus::Investigating,
                )
            }),
        };
        updates.push(VendorUpdate {
            external_id: step.id,
            status,
            body: step.body,
            at: step.at,
        });
    }

    let resolved_at = status.is_closed().then(|| {
        resolved_field
            .or_else(|| {
                updates
                    .iter()
                    .rev()
                    .find(|u| u.status.is_closed())
                    .map(|u| u.at)
            })
            .or_else(|| time(&record.updated_at))
            .or_else(|| updates.last().map(|u| u.at))
            .unwrap_or(ctx.fetched_at)
            .max(started_at)
    });

    VendorIncident {
        external_id: record.id,
        name: record.name.unwrap_or_default(),
        status,
        impact,
        started_at,
        resolved_at,
        url,
        component_ids,
        updates,
    }
}

fn maintenance(record: RawRecord, ctx: &Context<'_>, notes: &mut Vec<String>) -> VendorMaintenance {
    let component_ids = component_ids(&record);
    let url = record_url(&record, ctx);
    let steps = steps(record.incident_updates.unwrap_or_default(), ctx.fetched_at);

    let status_text = record.status.as_deref().unwrap_or("");
    let status = status_text.parse().unwrap_or_else(|_| {
        let default = if time(&record.resolved_at).is_some() {
            MaintenanceStatus::Completed
        } else {
            MaintenanceStatus::Scheduled
        };
        text::unknown(notes, "maintenance status", status_text, default)
    });
    let scheduled_for = time(&record.scheduled_for)
        .or_else(|| time(&record.started_at))
        .or_else(|| time(&record.created_at))
        .or_else(|| steps.first().map(|s| s.at))
        .unwrap_or(ctx.fetched_at);

    let mut updates: Vec<VendorMaintenanceUpdate> = Vec::with_capacity(steps.len());
    for step in steps {
        let previous = updates.last().map(|u| u.status);
        let status = match step.status.as_deref() {
            None => previous.unwrap_or(MaintenanceStatus::Scheduled),
            Some(value) => value.parse().unwrap_or_else(|_| {
                text::unknown(
                    notes,
                    "maintenance update status",
                    value,
                    MaintenanceStatus::Scheduled,
                )
            }),
        };
        updates.push(VendorMaintenanceUpdate {
            external_id: step.id,
            status,
            body: step.body,
            at: step.at,
        });
    }

    VendorMaintenance {
        external_id: record.id,
        name: record.name.unwrap_or_default(),
        status,
        scheduled_for,
        scheduled_until: time(&record.scheduled_until),
        url,
        component_ids,
        updates,
    }
}

/// The record's updates, oldest first. Statuspage lists them newest first; reversing before
/// a stable sort keeps the vendor's order among updates with the same time.
fn steps(raw: Vec<RawUpdate>, fetched_at: Timestamp) -> Vec<Step> {
    let mut steps: Vec<Step> = raw
        .into_iter()
        .rev()
        .map(|u| Step {
            at: time(&u.display_at)
                .or_else(|| time(&u.created_at))
                .or_else(|| time(&u.updated_at))
                .unwrap_or(fetched_at),
            id: u.id,
            status: u.status,
            body: u.body.as_deref().map(body_text).unwrap_or_default(),
        })
        .collect();
    steps.sort_by_key(|s| s.at);
    steps
}

/// Ids of the record's components (group headers left out), else of every component its
/// updates mention, in the order they first appear.
fn component_ids(record: &RawRecord) -> Vec<String> {
    let listed: Vec<String> = record
        .components
        .iter()
        .flatten()
        .filter(|c| !c.group)
        .filter_map(|c| c.id.clone())
        .collect();
    if !listed.is_empty() {
        return listed;
    }
    let mut codes: Vec<String> = Vec::new();
    for update in record.incident_updates.iter().flatten().rev() {
        for affected in &update.affected_components {
            if !codes.contains(&affected.code) {
                codes.push(affected.code.clone());
            }
        }
    }
    codes
}

/// The worst status the record's components have, or its updates set; `None` when the record
/// says nothing about components.
fn worst_component_status(record: &RawRecord) -> Option<ComponentStatus> {
    let from_components = record
        .components
        .iter()
        .flatten()
        .filter_map(|c| c.status.as_deref());
    let from_updates = record
        .incident_updates
        .iter()
        .flatten()
        .flat_map(|u| &u.affected_components)
        .filter_map(|a| a.new_status.as_deref());
    ComponentStatus::worst(
        from_components
            .chain(from_updates)
            .filter_map(|s| s.parse().ok()),
    )
}

/// The shortlink, else `<page url>/incidents/<id>` (the page URL from the document, else the
/// origin it was fetched from).
fn record_url(record: &RawRecord, ctx: &Context<'_>) -> Option<String> {
    if let Some(link) = record.shortlink.as_deref() {
        if link.starts_with("http://") || link.starts_with("https://") {
            return Some(link.to_string());
        }
    }
    let id = record.id.as_deref()?;
    let mut url = ctx
        .page_url
        .clone()
        .unwrap_or_else(|| at_path(ctx.doc_url, "/"));
    url.set_query(None);
    url.set_fragment(None);
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

/// The scalars of an array; anything else as an empty list.
fn scalars<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    Ok(match Value::deserialize(deserializer)? {
        Value::Array(items) => items.iter().filter_map(scalar_of).collect(),
        _ => Vec::new(),
    })
}

/// An update's `affected_components`: entries without a code are skipped, null is empty.
fn affected<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Affected>, D::Error> {
    let Value::Array(items) = Value::deserialize(deserializer)? else {
        return Ok(Vec::new());
    };
    Ok(items
        .iter()
        .filter_map(|item| {
            Some(Affected {
                code: scalar_of(item.get("code")?)?,
                new_status: item.get("new_status").and_then(scalar_of),
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(path: &str) -> Vec<u8> {
        let full = format!("{}/../shared/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&full).unwrap_or_else(|err| panic!("read {full}: {err}"))
    }

    fn fetched_at() -> Timestamp {
        Timestamp::parse("2030-01-01T00:00:00Z").unwrap()
    }

    fn parse_bytes(
        adapter: &dyn Adapter,
        body: &[u8],
        url: &str,
    ) -> Result<VendorSnapshot, ParseError> {
        let url = Url::parse(url).unwrap();
        adapter.parse(&Document {
            url: &url,
            content_type: Some("application/json"),
            body,
            fetched_at: fetched_at(),
        })
    }

    /// A fixture parsed as if fetched from `https://status.example.com/api/v2/<name>`.
    fn parse_fixture(path: &str) -> VendorSnapshot {
        let name = path.rsplit('/').next().unwrap();
        parse_bytes(
            &Statuspage,
            &fixture(path),
            &format!("https://status.example.com/api/v2/{name}"),
        )
        .unwrap_or_else(|err| panic!("{path}: {err}"))
    }

    fn at(s: &str) -> Timestamp {
        parse_time(s).unwrap()
    }

    fn find<'a>(snapshot: &'a VendorSnapshot, id: &str) -> &'a VendorComponent {
        snapshot
            .components
            .iter()
            .find(|c| c.external_id == id)
            .unwrap_or_else(|| panic!("no component {id}"))
    }

    #[test]
    fn summary_with_an_investigating_incident_and_null_affected_components() {
        let s = parse_fixture("statuspage/github-summary-packages-incident.json");
        assert_eq!(s.page_name.as_deref(), Some("GitHub"));
        assert_eq!(s.components.len(), 11);
        assert_eq!(find(&s, "st3j38cctv9l").name, "Packages");
        assert_eq!(
            find(&s, "st3j38cctv9l").status,
            ComponentStatus::PartialOutage
        );
        assert_eq!(
            find(&s, "vg70hn9s2tyj").status,
            ComponentStatus::Operational
        );
        assert!(s.components.iter().all(|c| c.group.is_none()));
        assert_eq!(
            s.coverage,
            crate::vendor::model::Coverage {
                components: true,
                open_incidents: true,
                open_maintenances: true,
            }
        );
        assert!(s.maintenances.is_empty());
        assert!(s.unknown_values.is_empty(), "{:?}", s.unknown_values);

        assert_eq!(s.incidents.len(), 1);
        let i = &s.incidents[0];
        assert_eq!(i.external_id.as_deref(), Some("ljwdk6qml8z8"));
        assert_eq!(i.name, "Incident with Packages and Pages");
        assert_eq!(i.status, IncidentStatus::Investigating);
        assert_eq!(i.impact, IncidentImpact::Major);
        assert_eq!(i.started_at, at("2022-11-25T14:39:09.542Z"));
        assert_eq!(i.resolved_at, None);
        assert_eq!(i.url.as_deref(), Some("https://stspg.io/33vh8r7z43kh"));
        assert_eq!(i.component_ids, ["st3j38cctv9l", "vg70hn9s2tyj"]);
        assert_eq!(i.updates.len(), 7);
        let ids: Vec<_> = i
            .updates
            .iter()
            .map(|u| u.external_id.as_deref().unwrap())
            .collect();
        assert_eq!(
            ids,
            [
                "n1dr3fb22655",
                "y0x9rc7hvp1s",
                "5r7154l5bkg7",
                "3956pfljsss1",
                "8bccy289xckg",
                "8fnd7wsp5v36",
                "k0x2s8g2plxb"
            ]
        );
        assert_eq!(i.updates[0].at, at("2022-11-25T14:39:09.577Z"));
        assert_eq!(
            i.updates[0].body,
            "We are investigating reports of degraded performance for Packages."
        );
        assert_eq!(i.updates[4].body, "Pages is operating normally.");
        assert!(i
            .updates
            .iter()
            .all(|u| u.status == IncidentStatus::Investigating));
    }

    #[test]
    fn summary_with_groups_open_incidents_and_upcoming_maintenances() {
        let s = parse_fixture("statuspage/twilio-summary-groups-incidents.json");
        assert_eq!(s.page_name.as_deref(), Some("Twilio"));
        // 73 entries, of which 8 are group headers.
        assert_eq!(s.components.len(), 65);
        assert!(!s.components.iter().any(|c| c.name == "CARRIER NETWORK"));
        assert_eq!(
            s.components.iter().filter(|c| c.group.is_some()).count(),
            57
        );
        let mms = find(&s, "d1j2nx64rpq3");
        assert_eq!(mms.name, "MMS");
        assert_eq!(mms.group.as_deref(), Some("PROGRAMMABLE MESSAGING"));
        assert_eq!(mms.status, ComponentStatus::DegradedPerformance);
        assert_eq!(
            find(&s, "kqr83rygcwwf").group.as_deref(),
            Some("CARRIER NETWORK")
        );
        assert_eq!(
            s.components
                .iter()
                .filter(|c| c.status == ComponentStatus::DegradedPerformance)
                .count(),
            4
        );
        assert!(s.coverage.components && s.coverage.open_incidents && s.coverage.open_maintenances);

        assert_eq!(s.incidents.len(), 2);
        let first = &s.incidents[0];
        assert_eq!(first.external_id.as_deref(), Some("4dtnnnnxnhn9"));
        assert_eq!(first.status, IncidentStatus::Investigating);
        assert_eq!(first.impact, IncidentImpact::Minor);
        assert_eq!(first.component_ids, ["kqr83rygcwwf"]);
        assert_eq!(first.updates.len(), 2);
        // -07:00 offsets become UTC.
        assert_eq!(first.started_at, at("2020-06-16T20:27:41.521Z"));
        let second = &s.incidents[1];
        assert_eq!(second.external_id.as_deref(), Some("r0f0vdz8vrgm"));
        assert_eq!(second.status, IncidentStatus::Monitoring);
        assert_eq!(second.updates.len(), 5);
        assert_eq!(second.updates[4].status, IncidentStatus::Monitoring);
        assert_eq!(second.updates[4].at, at("2020-06-16T19:09:47.174Z"));
        assert_eq!(
            second.component_ids,
            [
                "yvvy3vlp4djf",
                "d1j2nx64rpq3",
                "h0fl7prwfhvm",
                "39mb8cmw8y2v"
            ]
        );
        assert_eq!(second.url.as_deref(), Some("http://stspg.io/xwv6rz0r1yll"));

        assert_eq!(s.maintenances.len(), 9);
        assert!(s
            .maintenances
            .iter()
            .all(|m| m.status == MaintenanceStatus::Scheduled && m.updates.len() == 1));
        let m = &s.maintenances[0];
        assert_eq!(m.external_id.as_deref(), Some("9szb6ydlg10w"));
        assert_eq!(m.name, "[Scheduled] SMS Carrier Maintenance - Tele2 Russia");
        assert_eq!(m.scheduled_for, at("2020-06-16T23:00:00Z"));
        assert_eq!(m.scheduled_until, Some(at("2020-06-17T03:00:00Z")));
        assert_eq!(m.url.as_deref(), Some("http://stspg.io/rn0vdmd9brxy"));
        assert_eq!(m.component_ids, ["llgdln3dcs6p"]);
        assert_eq!(m.updates[0].status, MaintenanceStatus::Scheduled);
        assert_eq!(m.updates[0].external_id.as_deref(), Some("16rg2vp3d0m8"));
        let last = &s.maintenances[8];
        assert_eq!(last.external_id.as_deref(), Some("ydfdcy8jc70d"));
        assert_eq!(last.scheduled_for, at("2020-07-02T04:00:00Z"));
        assert_eq!(last.scheduled_until, Some(at("2020-07-02T07:00:00Z")));
        assert_eq!(last.component_ids, ["32f2bm54nkvv"]);
        assert!(s.unknown_values.is_empty(), "{:?}", s.unknown_values);
    }

    #[test]
    fn resolved_incident_keeps_every_update_in_order() {
        let s = parse_fixture("statuspage/github-incident-pr3498h3qkfy-resolved.json");
        assert_eq!(s.coverage, Default::default());
        assert!(s.components.is_empty());
        assert_eq!(s.incidents.len(), 1);
        let i = &s.incidents[0];
        assert_eq!(i.external_id.as_deref(), Some("pr3498h3qkfy"));
        assert_eq!(i.status, IncidentStatus::Resolved);
        assert_eq!(i.impact, IncidentImpact::Minor);
        assert_eq!(i.started_at, at("2023-05-10T13:00:31.110Z"));
        assert_eq!(i.resolved_at, Some(at("2023-05-11T00:34:42.304Z")));
        assert_eq!(i.component_ids.len(), 6);
        assert_eq!(i.component_ids[0], "8l4ygp009s5s");
        assert_eq!(i.updates.len(), 21);
        assert!(i.updates.windows(2).all(|w| w[0].at < w[1].at));
        let first = &i.updates[0];
        assert_eq!(first.external_id.as_deref(), Some("gg5npq6vwshj"));
        assert_eq!(first.at, at("2023-05-10T13:00:31.173Z"));
        assert_eq!(
            first.body,
            "We are investigating reports of degraded performance for Actions."
        );
        let last = i.updates.last().unwrap();
        assert_eq!(last.external_id.as_deref(), Some("wkdh7t4dd107"));
        assert_eq!(last.status, IncidentStatus::Resolved);
        assert_eq!(last.body, "This incident has been resolved.");
        assert!(i.updates[..20]
            .iter()
            .all(|u| u.status == IncidentStatus::Investigating));
    }

    #[test]
    fn legacy_incident_uses_display_times() {
        let s = parse_fixture("statuspage/github-incident-0lj0pn2vkw9x-legacy-2010.json");
        let i = &s.incidents[0];
        assert_eq!(i.started_at, at("2010-03-04T00:29:00Z"));
        assert_eq!(i.resolved_at, Some(at("2010-03-04T00:29:00Z")));
        assert_eq!(i.url.as_deref(), Some("http://stspg.io/63ceb7a27"));
        assert_eq!(i.component_ids, ["kr09ddfgbfsf"]);
        assert_eq!(i.updates.len(), 1);
        // display_at (2010), not created_at (2018).
        assert_eq!(i.updates[0].at, at("2010-03-04T00:29:00Z"));
        assert_eq!(i.updates[0].status, IncidentStatus::Resolved);
        assert!(
            i.updates[0].body.starts_with(
                "- 2010-03-04 00:29:00 - We're investigating why users are getting \"No such file"
            ),
            "{}",
            i.updates[0].body
        );
        assert!(!i.updates[0].body.contains('<'));
    }

    #[test]
    fn incident_history_claims_no_coverage_and_dates_backfills_by_their_real_time() {
        let s = parse_fixture("statuspage/github-incidents.json");
        assert_eq!(s.coverage, Default::default());
        assert_eq!(s.incidents.len(), 44);
        assert!(s.maintenances.is_empty());
        assert_eq!(
            s.incidents.iter().map(|i| i.updates.len()).sum::<usize>(),
            242
        );
        assert!(s
            .incidents
            .iter()
            .all(|i| i.status == IncidentStatus::Resolved
                && i.resolved_at.is_some_and(|r| r >= i.started_at)));
        let count = |impact| s.incidents.iter().filter(|i| i.impact == impact).count();
        assert_eq!(count(IncidentImpact::Minor), 22);
        assert_eq!(count(IncidentImpact::Major), 10);
        assert_eq!(count(IncidentImpact::Critical), 9);
        assert_eq!(count(IncidentImpact::None), 3);
        // Backfilled: started_at says when it was typed in (15:56), created_at and the
        // update's display_at say when it happened.
        let backfilled = s
            .incidents
            .iter()
            .find(|i| i.external_id.as_deref() == Some("594m87r8sw13"))
            .unwrap();
        assert_eq!(backfilled.started_at, at("2026-07-24T11:00:00Z"));
        assert_eq!(backfilled.resolved_at, Some(at("2026-07-24T11:00:00Z")));
        assert_eq!(backfilled.updates[0].at, at("2026-07-24T11:00:00Z"));
        assert!(s.incidents.iter().any(|i| i.component_ids.is_empty()));
    }

    #[test]
    fn unresolved_endpoint_covers_open_incidents() {
        let mut value: Value =
            serde_json::from_slice(&fixture("statuspage/github-summary-packages-incident.json"))
                .unwrap();
        let map = value.as_object_mut().unwrap();
        for key in ["status", "components", "scheduled_maintenances"] {
            map.remove(key);
        }
        let body = serde_json::to_vec(&value).unwrap();
        let unresolved = parse_bytes(
            &Statuspage,
            &body,
            "https://www.githubstatus.com/api/v2/incidents/unresolved.json",
        )
        .unwrap();
        assert!(unresolved.coverage.open_incidents);
        assert!(!unresolved.coverage.components && !unresolved.coverage.open_maintenances);
        assert_eq!(unresolved.incidents.len(), 1);
        let recent = parse_bytes(
            &Statuspage,
            &body,
            "https://www.githubstatus.com/api/v2/incidents.json",
        )
        .unwrap();
        assert!(!recent.coverage.open_incidents);
    }

    #[test]
    fn completed_maintenances_keep_their_timeline() {
        let s = parse_fixture("statuspage/anthropic-scheduled-maintenances-completed.json");
        assert_eq!(s.page_name.as_deref(), Some("Claude"));
        assert_eq!(s.coverage, Default::default());
        assert!(s.incidents.is_empty());
        assert_eq!(s.maintenances.len(), 2);
        let m = &s.maintenances[0];
        assert_eq!(m.external_id.as_deref(), Some("x017628t2rl5"));
        assert_eq!(m.name, "Upgrades to Connector Auth Storage");
        assert_eq!(m.status, MaintenanceStatus::Completed);
        assert_eq!(m.scheduled_for, at("2025-08-29T01:25:00Z"));
        assert_eq!(m.scheduled_until, Some(at("2025-08-29T02:40:00Z")));
        assert_eq!(m.url.as_deref(), Some("https://stspg.io/kzxt8ykxyx3j"));
        assert_eq!(m.component_ids, ["rwppv331jlwc"]);
        let statuses: Vec<_> = m.updates.iter().map(|u| u.status).collect();
        assert_eq!(
            statuses,
            [
                MaintenanceStatus::Scheduled,
                MaintenanceStatus::InProgress,
                MaintenanceStatus::Verifying,
                MaintenanceStatus::Completed
            ]
        );
        assert_eq!(m.updates[3].at, at("2025-08-29T02:40:21.277Z"));
        assert_eq!(
            s.maintenances[1].external_id.as_deref(),
            Some("16z0qdmy3qv2")
        );
        assert_eq!(s.maintenances[1].component_ids.len(), 2);
        assert_eq!(s.maintenances[1].status, MaintenanceStatus::Completed);
        assert_eq!(s.maintenances[1].updates.len(), 4);
    }

    #[test]
    fn summary_with_a_maintenance_in_progress() {
        let s = parse_fixture("statuspage/cloudamqp-summary-maintenance-in-progress.json");
        assert_eq!(s.components.len(), 23);
        assert_eq!(
            find(&s, "m9jl6sdbs4vb").status,
            ComponentStatus::UnderMaintenance
        );
        assert!(s.incidents.is_empty());
        assert_eq!(s.maintenances.len(), 1);
        let m = &s.maintenances[0];
        assert_eq!(
            m.name,
            "Upgrade of shared servers \u{201c}jellyfish\u{201d}, \u{201c}wildboar\u{201d}, and \u{201c}reindeer\u{201d}"
        );
        assert_eq!(m.status, MaintenanceStatus::InProgress);
        assert_eq!(m.scheduled_for, at("2020-07-16T21:00:00Z"));
        assert_eq!(m.scheduled_until, Some(at("2020-07-16T23:00:00Z")));
        assert_eq!(m.updates.len(), 2);
        assert_eq!(m.updates[0].status, MaintenanceStatus::Scheduled);
        assert_eq!(m.updates[1].status, MaintenanceStatus::InProgress);
        assert!(s.coverage.open_maintenances && s.coverage.open_incidents);
    }

    #[test]
    fn incident_with_impact_none_while_the_page_is_green() {
        let s = parse_fixture("statuspage/bitbucket-summary-monitoring-impact-none.json");
        assert_eq!(s.incidents.len(), 1);
        let i = &s.incidents[0];
        assert_eq!(i.status, IncidentStatus::Monitoring);
        assert_eq!(i.impact, IncidentImpact::None);
        assert_eq!(i.component_ids.len(), 13);
        assert!(s
            .components
            .iter()
            .all(|c| c.status == ComponentStatus::Operational));
    }

    #[test]
    fn component_lists_flatten_groups() {
        let box_ = parse_fixture("statuspage/box-components-groups-degraded.json");
        assert_eq!(box_.components.len(), 45);
        assert_eq!(
            box_.coverage,
            crate::vendor::model::Coverage {
                components: true,
                open_incidents: false,
                open_maintenances: false,
            }
        );
        let admin = find(&box_, "mbtpbpfcg6vg");
        assert_eq!(admin.name, "Admin Console & Functionality");
        assert_eq!(admin.group.as_deref(), Some("Box Web Application"));
        assert_eq!(admin.status, ComponentStatus::DegradedPerformance);
        assert!(!box_
            .components
            .iter()
            .any(|c| c.external_id == "l6vzpnn62cgq"));
        assert_eq!(
            box_.components.iter().filter(|c| c.group.is_some()).count(),
            41
        );

        let coinbase =
            parse_fixture("statuspage/coinbase-components-partial-outage-maintenance.json");
        assert_eq!(coinbase.components.len(), 136);
        let count = |status| {
            coinbase
                .components
                .iter()
                .filter(|c| c.status == status)
                .count()
        };
        assert_eq!(count(ComponentStatus::PartialOutage), 2);
        assert_eq!(count(ComponentStatus::UnderMaintenance), 1);
        assert_eq!(
            find(&coinbase, "fj9b58pwqrd8").group.as_deref(),
            Some("Digital Currencies")
        );

        let cisco = parse_fixture("statuspage/cisco-urgentnotices-components-groups.json");
        assert_eq!(
            cisco.page_name.as_deref(),
            Some("Security:  Urgent Notices")
        );
        assert_eq!(cisco.components.len(), 17);
        assert_eq!(
            cisco
                .components
                .iter()
                .filter(|c| c.group.is_some())
                .count(),
            15
        );

        for (path, count) in [
            ("statuspage/ciscokinetic-components-degraded.json", 12),
            ("statuspage/digitalocean-components-groups.json", 35),
            ("statuspage/dropbox-components-flat.json", 7),
            ("statuspage/github-components-operational.json", 10),
            ("statuspage/github-components-partial-outage.json", 10),
            ("statuspage/lastpass-components-all-degraded.json", 3),
            ("statuspage/linode-components-groups-operational.json", 62),
            ("statuspage/newrelic-components-groups.json", 69),
            ("statuspage/reddit-components-groups.json", 45),
            ("statuspage/twilio-components-groups-degraded.json", 75),
        ] {
            let s = parse_fixture(path);
            assert_eq!(s.components.len(), count, "{path}");
            assert!(
                s.coverage.components && !s.coverage.open_incidents,
                "{path}"
            );
            assert!(
                s.unknown_values.is_empty(),
                "{path}: {:?}",
                s.unknown_values
            );
        }
        let github = parse_fixture("statuspage/github-components-partial-outage.json");
        let broken: Vec<_> = github
            .components
            .iter()
            .filter(|c| c.status != ComponentStatus::Operational)
            .map(|c| c.status)
            .collect();
        assert_eq!(broken, [ComponentStatus::PartialOutage]);
        assert!(github
            .components
            .iter()
            .any(|c| c.name == "Visit www.githubstatus.com for more information"));
    }

    #[test]
    fn status_document_is_an_empty_snapshot() {
        let s = parse_fixture("statuspage/github-status-minor.json");
        assert_eq!(s.page_name.as_deref(), Some("GitHub"));
        assert!(s.components.is_empty() && s.incidents.is_empty() && s.maintenances.is_empty());
        assert_eq!(s.coverage, Default::default());
    }

    #[test]
    fn every_statuspage_fixture_parses_without_unknown_values() {
        let dir = format!(
            "{}/../shared/fixtures/statuspage",
            env!("CARGO_MANIFEST_DIR")
        );
        let mut count = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_str().unwrap().to_string();
            let s = parse_fixture(&format!("statuspage/{name}"));
            assert!(
                s.unknown_values.is_empty(),
                "{name}: {:?}",
                s.unknown_values
            );
            count += 1;
        }
        assert_eq!(count, 27);
    }

    #[test]
    fn incidentio_summary_compat() {
        let body = fixture("incidentio/openai-summary-compat-minor.json");
        for adapter in [&Statuspage as &dyn Adapter, &Incidentio] {
            let s = parse_bytes(
                adapter,
                &body,
                "https://status.openai.com/api/v2/summary.json",
            )
            .unwrap();
            assert_eq!(s.page_name.as_deref(), Some("OpenAI"));
            assert_eq!(s.components.len(), 25);
            let logins: Vec<_> = s
                .components
                .iter()
                .filter(|c| c.name == "Login")
                .map(|c| c.external_id.as_str())
                .collect();
            assert_eq!(
                logins,
                ["01JSM5RTJWHRWDTS6Q604VEW3B", "01JMXBNJXG1S2D9V65P1ZZTD94"]
            );
            assert!(s
                .components
                .iter()
                .all(|c| c.status == ComponentStatus::Operational));
            // No scheduled_maintenances key: maintenances are not covered.
            assert!(s.coverage.components && s.coverage.open_incidents);
            assert!(!s.coverage.open_maintenances);
            assert_eq!(s.incidents.len(), 1);
            let i = &s.incidents[0];
            assert_eq!(i.external_id.as_deref(), Some("01KY54SWGRK806N6TJ495MYPDD"));
            assert_eq!(i.status, IncidentStatus::Investigating);
            assert_eq!(i.impact, IncidentImpact::Minor);
            assert_eq!(i.started_at, at("2026-07-22T14:48:46Z"));
            assert_eq!(
                i.url.as_deref(),
                Some("https://status.openai.com/incidents/01KY54SWGRK806N6TJ495MYPDD")
            );
            assert!(i.component_ids.is_empty());
            assert_eq!(i.updates.len(), 1);
            assert_eq!(
                i.updates[0].external_id.as_deref(),
                Some("01KY54SWGR43Q7BTSK3CSKW85P")
            );
            assert_eq!(
                i.updates[0].body,
                "We are investigating the issue for the listed services."
            );
        }
    }

    #[test]
    fn other_formats_are_rejected() {
        for path in [
            "instatus/perplexity-summary-major.json",
            "heroku/current-status-maintenance.json",
            "checkly/mistral-unresolved-incidents.json",
            "slack/current-active-incidents.json",
            "betterstack/huggingface-index-downtime.json",
            "statusio/docker-status-partial-disruption.json",
            "gcp/incidents.json",
            "aws/status-data.json",
            "aws/health-currentevents-utf16be-bom.json",
            "atom/github-history.atom",
            "rss/github-history.rss",
        ] {
            for adapter in [&Statuspage as &dyn Adapter, &Incidentio] {
                let result = parse_bytes(
                    adapter,
                    &fixture(path),
                    "https://status.example.com/api/v2/summary.json",
                );
                assert!(
                    matches!(result, Err(ParseError::NotThisFormat { .. })),
                    "{path}: {result:?}"
                );
            }
        }
    }

    #[test]
    fn truncated_documents_are_errors_and_never_panic() {
        for path in [
            "statuspage/twilio-summary-groups-incidents.json",
            "statuspage/github-incident-pr3498h3qkfy-resolved.json",
            "statuspage/box-components-groups-degraded.json",
            "incidentio/openai-summary-compat-minor.json",
        ] {
            let body = fixture(path);
            let half = &body[..body.len() / 2];
            assert!(
                parse_bytes(&Statuspage, half, "https://status.example.com/").is_err(),
                "{path}"
            );
            let content = body.trim_ascii_end().len();
            for cut in (0..content).step_by(211) {
                assert!(
                    parse_bytes(&Statuspage, &body[..cut], "https://status.example.com/").is_err(),
                    "{path} cut at {cut}"
                );
            }
        }
    }

    #[test]
    fn hostile_input_is_an_error() {
        let deep = "[".repeat(100_000);
        let deep_in_page = format!(
            "{{\"page\":{{}},\"components\":[{}",
            "{\"a\":".repeat(50_000)
        );
        let huge = format!(
            "{{\"page\":{{\"name\":\"{}\"}},\"incidents\":[{{\"id\":1,\"name\":\"{}\"}}]}}",
            "x".repeat(1_000_000),
            "y".repeat(1_000_000)
        );
        for body in [
            b"".as_slice(),
            b"null",
            b"[]",
            b"\xff\xfe{\"page\":{}}",
            b"{\"page\":{\"name\":\"\xff\"},\"components\":[]}",
            b"{\"page\":[],\"components\":[]}",
            b"{\"page\":{},\"status\":\"UP\"}",
            b"{\"page\":{}}",
            deep.as_bytes(),
            deep_in_page.as_bytes(),
        ] {
            assert!(parse_bytes(&Statuspage, body, "https://s.example.com/").is_err());
        }
        let s = parse_bytes(&Statuspage, huge.as_bytes(), "https://s.example.com/").unwrap();
        assert_eq!(s.incidents[0].external_id.as_deref(), Some("1"));
        assert_eq!(
            s.incidents[0].url.as_deref(),
            Some("https://s.example.com/incidents/1")
        );
    }

    #[test]
    fn wrong_value_types_are_bad_values() {
        for body in [
            r#"{"page":{},"components":[1,2]}"#,
            r#"{"page":{},"incidents":[{"incident_updates":"x"}]}"#,
        ] {
            let result = parse_bytes(&Statuspage, body.as_bytes(), "https://s.example.com/");
            assert!(
                matches!(result, Err(ParseError::BadValue { .. })),
                "{body}: {result:?}"
            );
        }
    }

    #[test]
    fn unknown_values_fall_back_and_are_noted() {
        let body = r#"{
            "page": {"name": "Acme", "url": "https://status.acme.test/"},
            "components": [
                {"id": "g", "name": "Region", "group": true, "components": ["a"]},
                {"name": "API", "status": "on_fire", "group_id": "g"},
                {"name": "API", "status": "operational"}
            ],
            "incidents": [
                {"id": "i1", "name": "One", "status": "sleeping", "impact": "sev0",
                 "incident_updates": [{"id": "u1", "status": "pondering", "body": "<p>x &amp; y</p>",
                                       "created_at": "2024-01-01T10:00:00Z"}]},
                {"id": "i2", "name": "Two", "status": "done", "resolved_at": "2024-01-02T00:00:00Z",
                 "components": [{"id": "c", "status": "partial_outage"}]},
                {"id": "m1", "name": "Window", "status": "cancelled", "impact": "maintenance"}
            ]
        }"#;
        let s = parse_bytes(&Statuspage, body.as_bytes(), "https://status.acme.test/x").unwrap();
        let ids: Vec<_> = s
            .components
            .iter()
            .map(|c| c.external_id.as_str())
            .collect();
        assert_eq!(ids, ["Region/API", "API"]);
        assert_eq!(s.components[0].group.as_deref(), Some("Region"));
        assert_eq!(s.components[0].status, ComponentStatus::DegradedPerformance);
        assert_eq!(s.incidents.len(), 2);
        let one = &s.incidents[0];
        assert_eq!(one.status, IncidentStatus::Investigating);
        assert_eq!(one.impact, IncidentImpact::Minor);
        assert_eq!(
            one.url.as_deref(),
            Some("https://status.acme.test/incidents/i1")
        );
        assert_eq!(one.updates[0].status, IncidentStatus::Investigating);
        assert_eq!(one.updates[0].body, "x & y");
        assert_eq!(one.started_at, at("2024-01-01T10:00:00Z"));
        let two = &s.incidents[1];
        assert_eq!(two.status, IncidentStatus::Resolved);
        assert_eq!(two.resolved_at, Some(at("2024-01-02T00:00:00Z")));
        // No impact given: derived from the worst component status.
        assert_eq!(two.impact, IncidentImpact::Major);
        // No start time at all: the end is the best guess, not the fetch time.
        assert_eq!(two.started_at, at("2024-01-02T00:00:00Z"));
        assert_eq!(s.maintenances.len(), 1);
        assert_eq!(s.maintenances[0].status, MaintenanceStatus::Scheduled);
        assert_eq!(s.maintenances[0].scheduled_for, fetched_at());
        assert_eq!(
            s.unknown_values,
            [
                "component status \"on_fire\" → degraded_performance",
                "incident status \"sleeping\" → investigating",
                "incident impact \"sev0\" → minor",
                "incident update status \"pondering\" → investigating",
                "incident status \"done\" → resolved",
                "maintenance status \"cancelled\" → scheduled",
            ]
        );
    }

    #[test]
    fn documents_come_from_the_page_or_the_source() {
        let page = Url::parse("https://www.githubstatus.com/some/path").unwrap();
        let urls = |adapter: &dyn Adapter, source: Option<&Url>| -> Vec<String> {
            adapter
                .documents(&page, source)
                .iter()
                .map(Url::to_string)
                .collect()
        };
        assert_eq!(
            urls(&Statuspage, None),
            [
                "https://www.githubstatus.com/api/v2/summary.json",
                "https://www.githubstatus.com/api/v2/incidents.json"
            ]
        );
        assert_eq!(
            urls(&Incidentio, None),
            ["https://www.githubstatus.com/api/v2/summary.json"]
        );
        let source = Url::parse("https://www.githubstatus.com/api/v2/components.json").unwrap();
        assert_eq!(urls(&Statuspage, Some(&source)), [source.to_string()]);
        assert_eq!(urls(&Incidentio, Some(&source)), [source.to_string()]);
        assert_eq!(Statuspage.kind(), AdapterKind::Statuspage);
        assert_eq!(Incidentio.kind(), AdapterKind::Incidentio);
    }
}
