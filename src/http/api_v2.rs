//! The Statuspage-compatible public API (`/api/v2/*.json`): the same paths, field names, JSON
//! types and null rules as Atlassian Statuspage v2, so existing widgets and aggregators read a
//! Pharos page as if it were a Statuspage page. Shapes are built here from the public snapshot;
//! domain types never reach this JSON directly, so a refactor cannot change the format.
//! Pharos-only data is added as extra fields (`source`), never by changing an existing one.

use crate::domain::model::{Component, ComponentGroup, Incident, Maintenance};
use crate::domain::{ComponentId, ComponentStatus, Timestamp};
use crate::snapshot::PublicState;
use chrono::SecondsFormat;
use serde::Serialize;
use serde_json::{json, Value};

/// Statuspage's time form: milliseconds and an offset.
fn time(t: &Timestamp) -> String {
    t.0.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn opt_time(t: &Option<Timestamp>) -> Value {
    t.as_ref()
        .map(|t| Value::String(time(t)))
        .unwrap_or(Value::Null)
}

#[derive(Serialize)]
struct PageJson<'a> {
    id: &'a str,
    name: &'a str,
    url: &'a str,
    time_zone: &'a str,
    updated_at: String,
}

fn page(state: &PublicState) -> PageJson<'_> {
    PageJson {
        id: &state.page.id,
        name: &state.page.name,
        url: &state.page.url,
        time_zone: &state.page.time_zone,
        updated_at: time(&state.last_change()),
    }
}

fn component(state: &PublicState, c: &Component) -> Value {
    let mut value = json!({
        "id": c.id.to_string(),
        "name": c.name,
        "status": c.status,
        "created_at": time(&c.created_at),
        "updated_at": time(&c.updated_at),
        "position": c.position,
        "description": c.description,
        "showcase": c.showcase,
        "start_date": c.start_date,
        "group_id": c.group_id.map(|g| g.to_string()),
        "page_id": state.page.id,
        "group": false,
        "only_show_if_degraded": c.only_show_if_degraded,
    });
    // Pharos-only: when a monitor last checked the component. Only monitored components carry
    // it, so a page without monitors has exactly Statuspage's shape.
    if let Some(checks) = state.checks.get(&c.id) {
        value["last_checked_at"] = match &checks.last_checked_at {
            Some(at) => json!(time(at)),
            None => Value::Null,
        };
    }
    // Pharos-only: the vendor dependencies that are degraded or worse now. Only components
    // with such a problem carry it.
    if let Some(problems) = state.upstream.get(&c.id) {
        value["upstream"] = problems
            .iter()
            .map(|p| {
                json!({
                    "vendor": p.vendor_name,
                    "vendor_slug": p.vendor_slug,
                    "component": p.vendor_component,
                    "status": p.status.as_str(),
                })
            })
            .collect();
    }
    value
}

fn group(state: &PublicState, g: &ComponentGroup) -> Value {
    let members: Vec<String> = state
        .components
        .iter()
        .filter(|c| c.group_id == Some(g.id))
        .map(|c| c.id.to_string())
        .collect();
    json!({
        "id": g.id.to_string(),
        "name": g.name,
        "status": state.group_status(g),
        "created_at": time(&g.created_at),
        "updated_at": time(&g.updated_at),
        "position": g.position,
        "description": g.description,
        "showcase": false,
        "start_date": null,
        "group_id": null,
        "page_id": state.page.id,
        "group": true,
        "only_show_if_degraded": false,
        "components": members,
    })
}

/// Components as Statuspage lists them: each group, then its components, with ungrouped
/// components in position order among the groups.
pub fn components(state: &PublicState) -> Vec<Value> {
    enum Entry<'a> {
        Group(&'a ComponentGroup),
        Loose(&'a Component),
    }
    let mut top: Vec<(i64, Entry)> = state
        .groups
        .iter()
        .map(|g| (g.position, Entry::Group(g)))
        .chain(
            state
                .components
                .iter()
                .filter(|c| c.group_id.is_none())
                .map(|c| (c.position, Entry::Loose(c))),
        )
        .collect();
    top.sort_by_key(|(position, _)| *position);
    let mut out = Vec::with_capacity(state.groups.len() + state.components.len());
    for (_, entry) in top {
        match entry {
            Entry::Group(g) => {
                out.push(group(state, g));
                out.extend(
                    state
                        .components
                        .iter()
                        .filter(|c| c.group_id == Some(g.id))
                        .map(|c| component(state, c)),
                );
            }
            Entry::Loose(c) => out.push(component(state, c)),
        }
    }
    out
}

fn affected_name(state: &PublicState, id: ComponentId, fallback: &str) -> String {
    // Statuspage names a grouped component "GROUP - Component" in affected_components.
    match state.component(id) {
        Some(c) => match state.group_name(c) {
            Some(g) => format!("{g} - {}", c.name),
            None => c.name.clone(),
        },
        None => fallback.to_string(),
    }
}

fn incident_components(state: &PublicState, ids: impl Iterator<Item = ComponentId>) -> Vec<Value> {
    ids.filter_map(|id| state.component(id))
        .map(|c| component(state, c))
        .collect()
}

fn shortlink(state: &PublicState, path: &str) -> String {
    format!("{}/{path}", state.page.url)
}

pub fn incident(state: &PublicState, i: &Incident) -> Value {
    let id = i.short_id.clone();
    let updates: Vec<Value> = i
        .updates
        .iter()
        .map(|u| {
            let affected: Value = if u.affected_components.is_empty() {
                Value::Null
            } else {
                u.affected_components
                    .iter()
                    .map(|a| {
                        json!({
                            "code": a.component_id.to_string(),
                            "name": affected_name(state, a.component_id, &a.name),
                            "old_status": a.old_status,
                            "new_status": a.new_status,
                        })
                    })
                    .collect()
            };
            json!({
                "id": u.id.to_string(),
                "status": u.status,
                "body": u.body,
                "incident_id": id,
                "created_at": time(&u.created_at),
                "updated_at": time(&u.updated_at),
                "display_at": time(&u.created_at),
                "affected_components": affected,
                "deliver_notifications": true,
                "custom_tweet": null,
                "tweet_id": null,
            })
        })
        .collect();
    json!({
        "id": id,
        "name": i.name,
        "status": i.status,
        "created_at": time(&i.created_at),
        "updated_at": time(&i.updated_at),
        "monitoring_at": opt_time(&i.monitoring_at),
        "resolved_at": opt_time(&i.resolved_at),
        "impact": i.impact,
        "shortlink": shortlink(state, &format!("incidents/{}", i.short_id)),
        "started_at": time(&i.started_at),
        "page_id": state.page.id,
        "incident_updates": updates,
        "components": incident_components(state, i.components.iter().map(|c| c.component_id)),
        "reminder_intervals": null,
        "source": {"kind": i.source.kind, "ref": i.source.reference},
    })
}

pub fn maintenance(state: &PublicState, m: &Maintenance) -> Value {
    let id = m.short_id.clone();
    let updates: Vec<Value> = m
        .updates
        .iter()
        .map(|u| {
            json!({
                "id": u.id.to_string(),
                "status": u.status,
                "body": u.body,
                "incident_id": id,
                "created_at": time(&u.created_at),
                "updated_at": time(&u.created_at),
                "display_at": time(&u.created_at),
                "affected_components": m.component_ids.iter().filter_map(|c| state.component(*c)).map(|c| json!({
                    "code": c.id.to_string(),
                    "name": affected_name(state, c.id, &c.name),
                    "old_status": ComponentStatus::Operational,
                    "new_status": if u.status.is_active() { ComponentStatus::UnderMaintenance } else { ComponentStatus::Operational },
                })).collect::<Vec<_>>(),
                "deliver_notifications": true,
                "custom_tweet": null,
                "tweet_id": null,
            })
        })
        .collect();
    json!({
        "id": id,
        "name": m.name,
        "status": m.status,
        "created_at": time(&m.created_at),
        "updated_at": time(&m.updated_at),
        "monitoring_at": null,
        "resolved_at": opt_time(&m.completed_at),
        "impact": "maintenance",
        // Statuspage links a maintenance under /incidents/ like an incident, as the feeds do.
        "shortlink": shortlink(state, &format!("incidents/{}", m.short_id)),
        "started_at": time(&m.started_at.unwrap_or(m.created_at)),
        "page_id": state.page.id,
        "incident_updates": updates,
        "components": incident_components(state, m.component_ids.iter().copied()),
        "scheduled_for": time(&m.scheduled_for),
        "scheduled_until": time(&m.scheduled_until),
    })
}

fn status(state: &PublicState) -> Value {
    let o = state.overall();
    json!({ "indicator": o.indicator, "description": o.description })
}

/// The documents of `/api/v2`, by path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Document {
    Summary,
    Status,
    Components,
    Incidents,
    UnresolvedIncidents,
    Maintenances,
    UpcomingMaintenances,
    ActiveMaintenances,
}

impl Document {
    pub const ALL: [Document; 8] = [
        Document::Summary,
        Document::Status,
        Document::Components,
        Document::Incidents,
        Document::UnresolvedIncidents,
        Document::Maintenances,
        Document::UpcomingMaintenances,
        Document::ActiveMaintenances,
    ];

    pub fn path(&self) -> &'static str {
        match self {
            Document::Summary => "/api/v2/summary.json",
            Document::Status => "/api/v2/status.json",
            Document::Components => "/api/v2/components.json",
            Document::Incidents => "/api/v2/incidents.json",
            Document::UnresolvedIncidents => "/api/v2/incidents/unresolved.json",
            Document::Maintenances => "/api/v2/scheduled-maintenances.json",
            Document::UpcomingMaintenances => "/api/v2/scheduled-maintenances/upcoming.json",
            Document::ActiveMaintenances => "/api/v2/scheduled-maintenances/active.json",
        }
    }

    pub fn render(&self, state: &PublicState) -> Vec<u8> {
        let page = page(state);
        let incidents = |only_open: bool| -> Vec<Value> {
            state
                .incidents
                .iter()
                .filter(|i| !only_open || i.resolved_at.is_none())
                .take(if only_open { usize::MAX } else { 50 })
                .map(|i| incident(state, i))
                .collect()
        };
        let maintenances = |filter: &dyn Fn(&Maintenance) -> bool| -> Vec<Value> {
            let mut list: Vec<&Maintenance> =
                state.maintenances.iter().filter(|m| filter(m)).collect();
            // Statuspage lists the newest first.
            list.sort_by_key(|m| std::cmp::Reverse(m.scheduled_for));
            list.into_iter()
                .take(50)
                .map(|m| maintenance(state, m))
                .collect()
        };
        let value = match self {
            Document::Summary => json!({
                "page": page,
                "components": components(state),
                "incidents": incidents(true),
                "scheduled_maintenances": maintenances(&|m| m.status != crate::domain::MaintenanceStatus::Completed),
                "status": status(state),
            }),
            Document::Status => json!({ "page": page, "status": status(state) }),
            Document::Components => json!({ "page": page, "components": components(state) }),
            Document::Incidents => json!({ "page": page, "incidents": incidents(false) }),
            Document::UnresolvedIncidents => json!({ "page": page, "incidents": incidents(true) }),
            Document::Maintenances => {
                json!({ "page": page, "scheduled_maintenances": maintenances(&|_| true) })
            }
            Document::UpcomingMaintenances => json!({
                "page": page,
                "scheduled_maintenances": maintenances(&|m| m.status == crate::domain::MaintenanceStatus::Scheduled),
            }),
            Document::ActiveMaintenances => json!({
                "page": page,
                "scheduled_maintenances": maintenances(&|m| m.status.is_active()),
            }),
        };
        serde_json::to_vec(&value).expect("JSON values serialise")
    }
}
