//! Change detection: what one poll of a vendor changes in what Pharos stored, as row writes
//! and events. Pure: the stored state, the fetched snapshot and the time in; writes out.
//! A poll that changes nothing yields an empty [`Diff`], and the poller then writes nothing.
//!
//! ## Matching (de-duplication)
//!
//! A fetched incident or maintenance is the stored record that, in this order:
//!
//! 1. has the same kind and the same external id (the vendor's own id; adapters reduce the
//!    JSON id and the feed entry link of a Statuspage page to the same id), so an edited
//!    title stays one record;
//! 2. has the same kind and the same fingerprint: the normalised name (lower case, letters
//!    and digits only, single spaces) and the start time to the minute;
//! 3. when one of the two has no external id: has the same kind and normalised name and
//!    started within 15 minutes of it (feeds and JSON date the start slightly differently).
//!
//! Records that match each other *within one payload* are first merged into one (the one
//! with more updates wins, updates are united), so an incident listed twice is stored once.
//! Updates match by external id, else by time (within a minute) and status.
//!
//! ## What absence means
//!
//! Only a source that lists something completely (see [`Coverage`]) can end it by leaving
//! it out: a component missing from a complete listing is marked removed; an open incident
//! missing from a listing of all open incidents is resolved at the poll's time; a
//! maintenance missing from a listing of all open maintenances is completed. A history
//! list or a feed ends nothing. A source that lists every open incident but components only
//! as they are named by those incidents (AWS, Azure, Google Cloud, Checkly) shows a
//! component it no longer names as operational again.
//!
//! ## The first poll
//!
//! The first successful poll of a vendor imports what it sees silently: rows are written
//! and one `vendor.imported` event is appended, but no "incident opened" or "status changed"
//! events for what already existed.

use super::model::{Coverage, VendorSnapshot};
use super::record::{
    RecordKind, RecordStatus, Vendor, VendorComponentRecord, VendorIncidentRecord, VendorState,
    VendorUpdateRecord,
};
use crate::domain::{
    ComponentStatus, IncidentImpact, IncidentStatus, MaintenanceStatus, Timestamp,
    VendorComponentId, VendorIncidentId,
};
use crate::events::EventKind;
use serde_json::json;

/// How far apart two starts may be for records without a shared id to be one.
const START_TOLERANCE_SECS: i64 = 15 * 60;
/// How far apart two updates' times may be for updates without ids to be one.
const UPDATE_TOLERANCE_SECS: i64 = 60;

/// The writes and events one poll produces.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Diff {
    /// Components to insert (new id) or update (existing id), whole rows.
    pub components: Vec<ComponentWrite>,
    pub records: Vec<RecordWrite>,
    pub events: Vec<VendorEvent>,
}

impl Diff {
    pub fn is_empty(&self) -> bool {
        self.components.is_empty() && self.records.is_empty() && self.events.is_empty()
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum ComponentWrite {
    Insert(VendorComponentRecord),
    Update(VendorComponentRecord),
}

#[derive(Clone, Debug, PartialEq)]
pub enum RecordWrite {
    /// A new record with all its updates.
    Insert(VendorIncidentRecord),
    /// New values for a stored record's fields, and the updates to append to it.
    Update {
        record: VendorIncidentRecord,
        new_updates: Vec<VendorUpdateRecord>,
    },
}

/// An event to append, about the vendor (`subject` is the vendor, component or record id).
#[derive(Clone, Debug, PartialEq)]
pub struct VendorEvent {
    pub kind: EventKind,
    pub subject: String,
    pub data: serde_json::Value,
}

/// The lower-case letters and digits of a name, single-spaced.
pub fn normalise_name(name: &str) -> String {
    name.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.to_lowercase())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The fingerprint of a record without an external id: normalised name and start minute.
pub fn fingerprint(name: &str, started_at: Timestamp) -> String {
    format!(
        "{}@{}",
        normalise_name(name),
        started_at.0.format("%Y-%m-%dT%H:%M")
    )
}

/// A fetched incident or maintenance in the stored record's terms.
#[derive(Clone, Debug)]
struct Candidate {
    kind: RecordKind,
    external_id: Option<String>,
    name: String,
    status: RecordStatus,
    impact: IncidentImpact,
    started_at: Timestamp,
    resolved_at: Option<Timestamp>,
    scheduled_until: Option<Timestamp>,
    url: Option<String>,
    component_ids: Vec<String>,
    updates: Vec<(Option<String>, RecordStatus, String, Timestamp)>,
}

impl Candidate {
    fn fingerprint(&self) -> String {
        fingerprint(&self.name, self.started_at)
    }

    fn same_as(&self, other: &Candidate) -> bool {
        self.kind == other.kind
            && match (&self.external_id, &other.external_id) {
                (Some(a), Some(b)) => a == b,
                _ => {
                    self.fingerprint() == other.fingerprint()
                        || close_in_name_and_start(
                            &self.name,
                            self.started_at,
                            &other.name,
                            other.started_at,
                        )
                }
            }
    }

    /// Unites `other` (the same record seen again in the payload) into `self`.
    fn absorb(&mut self, mut other: Candidate) {
        // The copy with more updates is kept; the other lends what it has beyond that.
        if other.updates.len() > self.updates.len() {
            std::mem::swap(self, &mut other);
        }
        for update in other.updates {
            if !self.updates.iter().any(|u| same_update(u, &update)) {
                self.updates.push(update);
            }
        }
        self.updates.sort_by_key(|u| u.3);
        if self.external_id.is_none() {
            self.external_id = other.external_id;
        }
        if self.url.is_none() {
            self.url = other.url;
        }
        for id in other.component_ids {
            if !self.component_ids.contains(&id) {
                self.component_ids.push(id);
            }
        }
    }
}

fn close_in_name_and_start(a: &str, a_start: Timestamp, b: &str, b_start: Timestamp) -> bool {
    (a_start.0 - b_start.0).num_seconds().abs() <= START_TOLERANCE_SECS
        && normalise_name(a) == normalise_name(b)
}

/// Whether two updates are one: the same id, or (when either has none) the same status
/// within [`UPDATE_TOLERANCE_SECS`].
fn updates_match(
    a: (&Option<String>, RecordStatus, Timestamp),
    b: (&Option<String>, RecordStatus, Timestamp),
) -> bool {
    match (a.0, b.0) {
        (Some(x), Some(y)) => x == y,
        _ => a.1 == b.1 && (a.2 .0 - b.2 .0).num_seconds().abs() <= UPDATE_TOLERANCE_SECS,
    }
}

fn same_update(
    a: &(Option<String>, RecordStatus, String, Timestamp),
    b: &(Option<String>, RecordStatus, String, Timestamp),
) -> bool {
    updates_match((&a.0, a.1, a.3), (&b.0, b.1, b.3))
}

fn stored_update_matches(
    stored: &VendorUpdateRecord,
    fetched: &(Option<String>, RecordStatus, String, Timestamp),
) -> bool {
    updates_match(
        (&stored.external_id, stored.status, stored.at),
        (&fetched.0, fetched.1, fetched.3),
    )
}

/// The fetched incidents and maintenances as candidates, those listed twice merged.
fn candidates(snapshot: &VendorSnapshot) -> Vec<Candidate> {
    let mut all: Vec<Candidate> = Vec::new();
    let incidents = snapshot.incidents.iter().map(|i| Candidate {
        kind: RecordKind::Incident,
        external_id: i.external_id.clone().filter(|id| !id.is_empty()),
        name: i.name.clone(),
        status: RecordStatus::Incident(i.status),
        impact: i.impact,
        started_at: i.started_at,
        resolved_at: i.resolved_at.or_else(|| {
            i.status
                .is_closed()
                .then(|| i.updates.last().map(|u| u.at))
                .flatten()
        }),
        scheduled_until: None,
        url: i.url.clone(),
        component_ids: i.component_ids.clone(),
        updates: i
            .updates
            .iter()
            .map(|u| {
                (
                    u.external_id.clone(),
                    RecordStatus::Incident(u.status),
                    u.body.clone(),
                    u.at,
                )
            })
            .collect(),
    });
    let maintenances = snapshot.maintenances.iter().map(|m| Candidate {
        kind: RecordKind::Maintenance,
        external_id: m.external_id.clone().filter(|id| !id.is_empty()),
        name: m.name.clone(),
        status: RecordStatus::Maintenance(m.status),
        impact: IncidentImpact::None,
        started_at: m.scheduled_for,
        resolved_at: (m.status == MaintenanceStatus::Completed).then(|| {
            m.updates
                .iter()
                .rev()
                .find(|u| u.status == MaintenanceStatus::Completed)
                .map(|u| u.at)
                .or(m.scheduled_until)
                .unwrap_or(m.scheduled_for)
        }),
        scheduled_until: m.scheduled_until,
        url: m.url.clone(),
        component_ids: m.component_ids.clone(),
        updates: m
            .updates
            .iter()
            .map(|u| {
                (
                    u.external_id.clone(),
                    RecordStatus::Maintenance(u.status),
                    u.body.clone(),
                    u.at,
                )
            })
            .collect(),
    });
    for mut candidate in incidents.chain(maintenances) {
        candidate.updates.sort_by_key(|u| u.3);
        match all.iter_mut().find(|c| c.same_as(&candidate)) {
            Some(existing) => existing.absorb(candidate),
            None => all.push(candidate),
        }
    }
    all
}

/// The stored record a candidate is, by the matching rules in the module doc.
fn find_stored(stored: &[VendorIncidentRecord], taken: &[bool], c: &Candidate) -> Option<usize> {
    let free = |i: &usize| !taken[*i];
    if let Some(id) = &c.external_id {
        if let Some(i) = (0..stored.len())
            .filter(free)
            .find(|&i| stored[i].kind == c.kind && stored[i].external_id.as_ref() == Some(id))
        {
            return Some(i);
        }
    }
    let print = c.fingerprint();
    if let Some(i) = (0..stored.len())
        .filter(free)
        .find(|&i| stored[i].kind == c.kind && stored[i].fingerprint == print)
    {
        return Some(i);
    }
    (0..stored.len()).filter(free).find(|&i| {
        let s = &stored[i];
        s.kind == c.kind
            && (s.external_id.is_none() || c.external_id.is_none())
            && close_in_name_and_start(&s.name, s.started_at, &c.name, c.started_at)
    })
}

/// What the poll of `vendor` that saw `fetched` at `now` changes in `state`.
pub fn diff(
    vendor: &Vendor,
    state: &VendorState,
    fetched: &VendorSnapshot,
    now: Timestamp,
) -> Diff {
    let silent = !vendor.imported;
    let mut out = Diff::default();
    diff_components(vendor, state, fetched, now, silent, &mut out);
    diff_records(vendor, state, fetched, now, silent, &mut out);
    if silent {
        out.events = vec![VendorEvent {
            kind: EventKind::VendorImported,
            subject: vendor.id.to_string(),
            data: json!({
                "vendor_id": vendor.id,
                "slug": vendor.slug,
                "components": fetched.components.len(),
                "incidents": out.records.iter().filter(|r| matches!(r, RecordWrite::Insert(x) if x.kind == RecordKind::Incident)).count(),
                "maintenances": out.records.iter().filter(|r| matches!(r, RecordWrite::Insert(x) if x.kind == RecordKind::Maintenance)).count(),
            }),
        }];
    }
    out
}

fn diff_components(
    vendor: &Vendor,
    state: &VendorState,
    fetched: &VendorSnapshot,
    now: Timestamp,
    silent: bool,
    out: &mut Diff,
) {
    let mut added = Vec::new();
    let mut changed = Vec::new();
    let mut removed = Vec::new();
    let mut seen = vec![false; state.components.len()];
    let mut fetched_ids = std::collections::HashSet::new();
    for (position, component) in fetched.components.iter().enumerate() {
        // A component listed twice counts once (the first listing).
        if !fetched_ids.insert(component.external_id.as_str()) {
            continue;
        }
        let position = position as i64;
        let found = state
            .components
            .iter()
            .position(|s| s.external_id == component.external_id);
        match found {
            None => {
                let record = VendorComponentRecord {
                    id: VendorComponentId::new(),
                    external_id: component.external_id.clone(),
                    name: component.name.clone(),
                    group: component.group.clone(),
                    description: component.description.clone(),
                    status: component.status,
                    position,
                    removed_at: None,
                    updated_at: now,
                };
                added.push(component.name.clone());
                out.components.push(ComponentWrite::Insert(record));
            }
            Some(i) => {
                seen[i] = true;
                let stored = &state.components[i];
                let mut next = stored.clone();
                next.name = component.name.clone();
                next.group = component.group.clone();
                next.description = component.description.clone();
                next.status = component.status;
                next.position = position;
                next.removed_at = None;
                if next == *stored {
                    continue;
                }
                next.updated_at = now;
                if stored.status != component.status && vendor.follows(&stored.external_id) {
                    out.events.push(VendorEvent {
                        kind: EventKind::VendorComponentStatusChanged,
                        subject: stored.id.to_string(),
                        data: json!({
                            "vendor_id": vendor.id,
                            "slug": vendor.slug,
                            "component_id": stored.id,
                            "external_id": stored.external_id,
                            "name": component.name,
                            "old_status": stored.status,
                            "new_status": component.status,
                        }),
                    });
                }
                if stored.name != next.name
                    || stored.group != next.group
                    || stored.removed_at.is_some()
                    || stored.position != next.position
                    || stored.description != next.description
                {
                    changed.push(component.name.clone());
                }
                out.components.push(ComponentWrite::Update(next));
            }
        }
    }
    // Components known only through open incidents recover when no open incident names them.
    if !fetched.coverage.components && fetched.coverage.open_incidents {
        for (i, stored) in state.components.iter().enumerate() {
            if seen[i]
                || stored.removed_at.is_some()
                || stored.status == ComponentStatus::Operational
            {
                continue;
            }
            let mut next = stored.clone();
            next.status = ComponentStatus::Operational;
            next.updated_at = now;
            if !silent && vendor.follows(&stored.external_id) {
                out.events.push(VendorEvent {
                    kind: EventKind::VendorComponentStatusChanged,
                    subject: stored.id.to_string(),
                    data: json!({
                        "vendor_id": vendor.id,
                        "slug": vendor.slug,
                        "component_id": stored.id,
                        "external_id": stored.external_id,
                        "name": stored.name,
                        "old_status": stored.status,
                        "new_status": ComponentStatus::Operational,
                    }),
                });
            }
            out.components.push(ComponentWrite::Update(next));
        }
    }
    if fetched.coverage.components {
        for (i, stored) in state.components.iter().enumerate() {
            if !seen[i] && stored.removed_at.is_none() {
                let mut next = stored.clone();
                next.removed_at = Some(now);
                next.updated_at = now;
                removed.push(stored.name.clone());
                out.components.push(ComponentWrite::Update(next));
            }
        }
    }
    if !silent && (!added.is_empty() || !changed.is_empty() || !removed.is_empty()) {
        out.events.push(VendorEvent {
            kind: EventKind::VendorComponentsChanged,
            subject: vendor.id.to_string(),
            data: json!({
                "vendor_id": vendor.id,
                "slug": vendor.slug,
                "added": added,
                "changed": changed,
                "removed": removed,
            }),
        });
    }
}

fn record_event(
    vendor: &Vendor,
    kind: EventKind,
    record: &VendorIncidentRecord,
    extra: serde_json::Value,
) -> VendorEvent {
    let mut data = json!({
        "vendor_id": vendor.id,
        "slug": vendor.slug,
        "vendor_incident_id": record.id,
        "external_id": record.external_id,
        "kind": record.kind,
        "name": record.name,
        "status": record.status,
        "impact": record.impact,
        "url": record.url,
        "component_ids": record.component_ids,
    });
    if let (Some(map), serde_json::Value::Object(more)) = (data.as_object_mut(), extra) {
        map.extend(more);
    }
    VendorEvent {
        kind,
        subject: record.id.to_string(),
        data,
    }
}

fn update_record(
    c: &(Option<String>, RecordStatus, String, Timestamp),
    now: Timestamp,
) -> VendorUpdateRecord {
    VendorUpdateRecord {
        external_id: c.0.clone(),
        status: c.1,
        body: c.2.clone(),
        at: c.3,
        first_seen_at: now,
    }
}

fn diff_records(
    vendor: &Vendor,
    state: &VendorState,
    fetched: &VendorSnapshot,
    now: Timestamp,
    silent: bool,
    out: &mut Diff,
) {
    let stored = &state.incidents;
    let mut taken = vec![false; stored.len()];
    for c in candidates(fetched) {
        match find_stored(stored, &taken, &c) {
            None => {
                let record = VendorIncidentRecord {
                    id: VendorIncidentId::new(),
                    kind: c.kind,
                    external_id: c.external_id.clone(),
                    fingerprint: c.fingerprint(),
                    name: c.name.clone(),
                    status: c.status,
                    impact: c.impact,
                    started_at: c.started_at,
                    resolved_at: c.resolved_at,
                    scheduled_until: c.scheduled_until,
                    url: c.url.clone(),
                    component_ids: c.component_ids.clone(),
                    first_seen_at: now,
                    updated_at: now,
                    updates: c.updates.iter().map(|u| update_record(u, now)).collect(),
                };
                if !silent {
                    opened_events(vendor, &record, out);
                }
                out.records.push(RecordWrite::Insert(record));
            }
            Some(i) => {
                taken[i] = true;
                let old = &stored[i];
                let new_updates: Vec<VendorUpdateRecord> = c
                    .updates
                    .iter()
                    .filter(|u| !old.updates.iter().any(|s| stored_update_matches(s, u)))
                    .map(|u| update_record(u, now))
                    .collect();
                let mut next = old.clone();
                next.name = c.name.clone();
                next.status = c.status;
                next.impact = c.impact;
                next.resolved_at = if c.status.is_closed() {
                    c.resolved_at.or(old.resolved_at).or(Some(now))
                } else {
                    None
                };
                next.scheduled_until = c.scheduled_until;
                next.url = c.url.clone().or(old.url.clone());
                next.component_ids = c.component_ids.clone();
                if c.external_id.is_some() {
                    next.external_id = c.external_id.clone();
                }
                // The start only moves earlier: a feed may date it later than the JSON did.
                next.started_at = old.started_at.min(c.started_at);
                next.updates.extend(new_updates.iter().cloned());
                if next == *old {
                    continue;
                }
                next.updated_at = now;
                if !silent {
                    changed_events(vendor, old, &next, &new_updates, out);
                }
                out.records.push(RecordWrite::Update {
                    record: next,
                    new_updates,
                });
            }
        }
    }
    end_missing(vendor, stored, &taken, fetched.coverage, now, silent, out);
}

fn opened_events(vendor: &Vendor, record: &VendorIncidentRecord, out: &mut Diff) {
    match record.kind {
        RecordKind::Incident => {
            out.events.push(record_event(
                vendor,
                EventKind::VendorIncidentOpened,
                record,
                json!({"started_at": record.started_at, "body": record.updates.last().map(|u| u.body.clone())}),
            ));
            if record.status.is_closed() {
                out.events.push(record_event(
                    vendor,
                    EventKind::VendorIncidentResolved,
                    record,
                    json!({"resolved_at": record.resolved_at}),
                ));
            }
        }
        RecordKind::Maintenance => {
            out.events.push(record_event(
                vendor,
                EventKind::VendorMaintenanceScheduled,
                record,
                json!({"scheduled_for": record.started_at, "scheduled_until": record.scheduled_until}),
            ));
            match record.status {
                RecordStatus::Maintenance(MaintenanceStatus::InProgress)
                | RecordStatus::Maintenance(MaintenanceStatus::Verifying) => {
                    out.events.push(record_event(
                        vendor,
                        EventKind::VendorMaintenanceStarted,
                        record,
                        json!({}),
                    ))
                }
                RecordStatus::Maintenance(MaintenanceStatus::Completed) => {
                    out.events.push(record_event(
                        vendor,
                        EventKind::VendorMaintenanceCompleted,
                        record,
                        json!({}),
                    ))
                }
                _ => {}
            }
        }
    }
}

fn changed_events(
    vendor: &Vendor,
    old: &VendorIncidentRecord,
    next: &VendorIncidentRecord,
    new_updates: &[VendorUpdateRecord],
    out: &mut Diff,
) {
    let incident = next.kind == RecordKind::Incident;
    for update in new_updates {
        out.events.push(record_event(
            vendor,
            if incident {
                EventKind::VendorIncidentUpdatePosted
            } else {
                EventKind::VendorMaintenanceUpdated
            },
            next,
            json!({"update": {"status": update.status, "body": update.body, "at": update.at}}),
        ));
    }
    let closed_now = next.status.is_closed() && !old.status.is_closed();
    let started_now = !incident
        && matches!(
            next.status,
            RecordStatus::Maintenance(MaintenanceStatus::InProgress | MaintenanceStatus::Verifying)
        )
        && matches!(
            old.status,
            RecordStatus::Maintenance(MaintenanceStatus::Scheduled)
        );
    // A rename that changes only case or punctuation is stored but not announced.
    let details_changed = old.impact != next.impact
        || normalise_name(&old.name) != normalise_name(&next.name)
        || (old.status != next.status && !closed_now && !started_now);
    if details_changed {
        out.events.push(record_event(
            vendor,
            if incident {
                EventKind::VendorIncidentUpdated
            } else {
                EventKind::VendorMaintenanceUpdated
            },
            next,
            json!({
                "old_name": old.name,
                "old_status": old.status,
                "old_impact": old.impact,
            }),
        ));
    }
    if started_now {
        out.events.push(record_event(
            vendor,
            EventKind::VendorMaintenanceStarted,
            next,
            json!({}),
        ));
    }
    if closed_now {
        out.events.push(record_event(
            vendor,
            if incident {
                EventKind::VendorIncidentResolved
            } else {
                EventKind::VendorMaintenanceCompleted
            },
            next,
            json!({"resolved_at": next.resolved_at}),
        ));
    }
}

/// Ends the open records a complete listing no longer has.
fn end_missing(
    vendor: &Vendor,
    stored: &[VendorIncidentRecord],
    taken: &[bool],
    coverage: Coverage,
    now: Timestamp,
    silent: bool,
    out: &mut Diff,
) {
    for (i, old) in stored.iter().enumerate() {
        if taken[i] || old.status.is_closed() {
            continue;
        }
        let (complete, closed, event, note) = match old.kind {
            RecordKind::Incident => (
                coverage.open_incidents,
                RecordStatus::Incident(IncidentStatus::Resolved),
                EventKind::VendorIncidentResolved,
                "The vendor no longer lists this incident as open.",
            ),
            RecordKind::Maintenance => (
                coverage.open_maintenances,
                RecordStatus::Maintenance(MaintenanceStatus::Completed),
                EventKind::VendorMaintenanceCompleted,
                "The vendor no longer lists this maintenance.",
            ),
        };
        if !complete {
            continue;
        }
        let update = VendorUpdateRecord {
            external_id: None,
            status: closed,
            body: note.to_string(),
            at: now,
            first_seen_at: now,
        };
        let mut next = old.clone();
        next.status = closed;
        next.resolved_at = Some(now);
        next.updated_at = now;
        next.updates.push(update.clone());
        if !silent {
            out.events.push(record_event(
                vendor,
                event,
                &next,
                json!({"resolved_at": now, "inferred": true}),
            ));
        }
        out.records.push(RecordWrite::Update {
            record: next,
            new_updates: vec![update],
        });
    }
}

/// `state` after `diff` was stored: the poller keeps each vendor's state in memory and
/// applies its own diffs once they are committed, so a poll reads nothing.
pub fn apply(state: &mut VendorState, diff: &Diff) {
    for write in &diff.components {
        match write {
            ComponentWrite::Insert(c) => state.components.push(c.clone()),
            ComponentWrite::Update(c) => {
                if let Some(s) = state.components.iter_mut().find(|s| s.id == c.id) {
                    *s = c.clone();
                }
            }
        }
    }
    state.components.sort_by_key(|c| c.position);
    for write in &diff.records {
        match write {
            RecordWrite::Insert(r) => state.incidents.push(r.clone()),
            RecordWrite::Update { record, .. } => {
                if let Some(s) = state.incidents.iter_mut().find(|s| s.id == record.id) {
                    *s = record.clone();
                }
            }
        }
    }
    state
        .incidents
        .sort_by_key(|r| std::cmp::Reverse(r.started_at));
}

#[cfg(test)]
mod tests;
