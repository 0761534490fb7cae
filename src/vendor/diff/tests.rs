//! The change-detection rules, poll after poll, against a state kept by [`apply`].

use super::*;
use crate::domain::{ComponentStatus, ManagedBy, VendorId};
use crate::vendor::adapter::AdapterKind;
use crate::vendor::model::{
    VendorComponent, VendorIncident, VendorMaintenance, VendorMaintenanceUpdate, VendorUpdate,
};

fn t(minutes: i64) -> Timestamp {
    Timestamp::parse("2026-07-29T12:00:00Z")
        .unwrap()
        .plus_minutes(minutes)
}

trait Plus {
    fn plus_minutes(self, m: i64) -> Timestamp;
}
impl Plus for Timestamp {
    fn plus_minutes(self, m: i64) -> Timestamp {
        Timestamp::from_datetime(self.0 + chrono::Duration::minutes(m))
    }
}

fn vendor(imported: bool) -> Vendor {
    Vendor {
        id: VendorId::new(),
        slug: "acme".into(),
        name: "Acme".into(),
        page_url: "https://status.acme.test".into(),
        source_url: None,
        adapter: AdapterKind::Statuspage,
        poll_interval_seconds: 120,
        components_of_interest: Vec::new(),
        enabled: true,
        source_state: crate::vendor::record::SourceState::Ok,
        source_error: None,
        unreachable_since: None,
        last_checked_at: None,
        imported,
        validators: Default::default(),
        managed_by: ManagedBy::Api,
        config_key: None,
        created_at: t(0),
        updated_at: t(0),
    }
}

fn component(id: &str, status: ComponentStatus) -> VendorComponent {
    VendorComponent {
        external_id: id.into(),
        name: format!("Component {id}"),
        status,
        group: None,
        description: None,
    }
}

fn update(id: Option<&str>, status: IncidentStatus, at: Timestamp) -> VendorUpdate {
    VendorUpdate {
        external_id: id.map(str::to_string),
        status,
        body: format!("{status} at {at}"),
        at,
    }
}

fn incident(id: Option<&str>, name: &str, updates: Vec<VendorUpdate>) -> VendorIncident {
    let last = updates.last().expect("an update");
    VendorIncident {
        external_id: id.map(str::to_string),
        name: name.into(),
        status: last.status,
        impact: IncidentImpact::Minor,
        started_at: updates[0].at,
        resolved_at: last.status.is_closed().then_some(last.at),
        url: id.map(|id| format!("https://status.acme.test/incidents/{id}")),
        component_ids: vec!["api".into()],
        updates,
    }
}

fn summary(components: Vec<VendorComponent>, incidents: Vec<VendorIncident>) -> VendorSnapshot {
    VendorSnapshot {
        components,
        incidents,
        coverage: Coverage {
            components: true,
            open_incidents: true,
            open_maintenances: true,
        },
        ..Default::default()
    }
}

/// Polls `snapshot` at `now`: the diff, applied to `state`; the vendor becomes imported.
fn poll(
    vendor: &mut Vendor,
    state: &mut VendorState,
    snapshot: &VendorSnapshot,
    now: Timestamp,
) -> Diff {
    let d = diff(vendor, state, snapshot, now);
    apply(state, &d);
    vendor.imported = true;
    d
}

fn kinds(d: &Diff) -> Vec<&'static str> {
    d.events.iter().map(|e| e.kind.as_str()).collect()
}

#[test]
fn the_first_poll_imports_silently_and_a_repeat_writes_nothing() {
    let mut v = vendor(false);
    let mut state = VendorState::default();
    let old = incident(
        Some("old1"),
        "Old outage",
        vec![
            update(Some("u1"), IncidentStatus::Investigating, t(-600)),
            update(Some("u2"), IncidentStatus::Resolved, t(-500)),
        ],
    );
    let open = incident(
        Some("open1"),
        "Elevated errors",
        vec![update(Some("u3"), IncidentStatus::Investigating, t(-5))],
    );
    let snapshot = summary(
        vec![
            component("api", ComponentStatus::PartialOutage),
            component("web", ComponentStatus::Operational),
        ],
        vec![old, open],
    );
    let d = poll(&mut v, &mut state, &snapshot, t(0));
    assert_eq!(kinds(&d), vec!["vendor.imported"]);
    assert_eq!(d.components.len(), 2);
    assert_eq!(d.records.len(), 2);
    assert_eq!(state.incidents.len(), 2);
    assert_eq!(d.events[0].data["incidents"], 2);

    for minute in 1..4 {
        let again = poll(&mut v, &mut state, &snapshot, t(minute));
        assert!(again.is_empty(), "repeat poll wrote {again:?}");
    }
}

#[test]
fn component_status_changes_are_events_only_for_followed_components() {
    let mut v = vendor(false);
    v.components_of_interest = vec!["api".into()];
    let mut state = VendorState::default();
    let quiet = summary(
        vec![
            component("api", ComponentStatus::Operational),
            component("web", ComponentStatus::Operational),
        ],
        vec![],
    );
    poll(&mut v, &mut state, &quiet, t(0));
    let loud = summary(
        vec![
            component("api", ComponentStatus::MajorOutage),
            component("web", ComponentStatus::DegradedPerformance),
        ],
        vec![],
    );
    let d = poll(&mut v, &mut state, &loud, t(2));
    assert_eq!(kinds(&d), vec!["vendor.component_status_changed"]);
    assert_eq!(d.events[0].data["external_id"], "api");
    assert_eq!(d.events[0].data["old_status"], "operational");
    assert_eq!(d.events[0].data["new_status"], "major_outage");
    // Both rows are stored, followed or not.
    assert_eq!(d.components.len(), 2);
    assert_eq!(
        state.components[1].status,
        ComponentStatus::DegradedPerformance
    );
}

#[test]
fn an_incident_lives_opened_updated_worse_and_resolved_with_one_event_each() {
    let mut v = vendor(false);
    let mut state = VendorState::default();
    let comps = vec![component("api", ComponentStatus::Operational)];
    poll(&mut v, &mut state, &summary(comps.clone(), vec![]), t(0));

    let u1 = update(Some("u1"), IncidentStatus::Investigating, t(1));
    let first = incident(Some("inc"), "API errors", vec![u1.clone()]);
    let d = poll(
        &mut v,
        &mut state,
        &summary(comps.clone(), vec![first.clone()]),
        t(2),
    );
    assert_eq!(kinds(&d), vec!["vendor.incident_opened"]);
    assert_eq!(state.incidents[0].first_seen_at, t(2));

    let u2 = update(Some("u2"), IncidentStatus::Identified, t(3));
    let mut second = incident(Some("inc"), "API errors", vec![u1.clone(), u2.clone()]);
    let d = poll(
        &mut v,
        &mut state,
        &summary(comps.clone(), vec![second.clone()]),
        t(4),
    );
    assert_eq!(
        kinds(&d),
        vec!["vendor.incident_update_posted", "vendor.incident_updated"]
    );
    assert_eq!(d.events[0].data["update"]["status"], "identified");

    second.impact = IncidentImpact::Critical;
    let d = poll(
        &mut v,
        &mut state,
        &summary(comps.clone(), vec![second.clone()]),
        t(5),
    );
    assert_eq!(kinds(&d), vec!["vendor.incident_updated"]);
    assert_eq!(d.events[0].data["old_impact"], "minor");
    assert_eq!(d.events[0].data["impact"], "critical");

    let u3 = update(Some("u3"), IncidentStatus::Resolved, t(6));
    let mut done = incident(Some("inc"), "API errors", vec![u1, u2, u3]);
    done.impact = IncidentImpact::Critical;
    let d = poll(
        &mut v,
        &mut state,
        &summary(comps.clone(), vec![done.clone()]),
        t(7),
    );
    assert_eq!(
        kinds(&d),
        vec!["vendor.incident_update_posted", "vendor.incident_resolved"]
    );
    let stored = &state.incidents[0];
    assert_eq!(stored.resolved_at, Some(t(6)));
    assert_eq!(stored.updates.len(), 3);
    assert_eq!(stored.first_seen_at, t(2));
    assert_eq!(state.incidents.len(), 1);
    assert!(poll(&mut v, &mut state, &summary(comps, vec![done]), t(8)).is_empty());
}

#[test]
fn the_same_incident_twice_in_one_payload_is_stored_once_with_all_updates() {
    let mut v = vendor(true);
    let mut state = VendorState::default();
    let a = incident(
        Some("dup"),
        "Login failures",
        vec![update(Some("u1"), IncidentStatus::Investigating, t(1))],
    );
    let b = incident(
        Some("dup"),
        "Login failures",
        vec![
            update(Some("u1"), IncidentStatus::Investigating, t(1)),
            update(Some("u2"), IncidentStatus::Monitoring, t(3)),
        ],
    );
    let d = poll(&mut v, &mut state, &summary(vec![], vec![a, b]), t(4));
    assert_eq!(kinds(&d), vec!["vendor.incident_opened"]);
    assert_eq!(state.incidents.len(), 1);
    assert_eq!(state.incidents[0].updates.len(), 2);
}

#[test]
fn a_feed_copy_without_ids_joins_the_json_record_by_name_and_start() {
    let mut v = vendor(true);
    let mut state = VendorState::default();
    let json = incident(
        Some("abc123"),
        "Degraded performance for Actions",
        vec![update(Some("u1"), IncidentStatus::Investigating, t(0))],
    );
    let mut history = VendorSnapshot::default();
    history.incidents.push(json);
    poll(&mut v, &mut state, &history, t(1));

    // The feed dates the start 3 minutes later, has no ids, and has punctuation changes.
    let mut feed = incident(
        None,
        "Degraded performance for Actions.",
        vec![
            update(None, IncidentStatus::Investigating, t(0)),
            update(None, IncidentStatus::Resolved, t(30)),
        ],
    );
    feed.started_at = t(3);
    let mut feed_snapshot = VendorSnapshot::default();
    feed_snapshot.incidents.push(feed);
    let d = poll(&mut v, &mut state, &feed_snapshot, t(31));
    assert_eq!(state.incidents.len(), 1, "{:?}", state.incidents);
    assert_eq!(
        kinds(&d),
        vec!["vendor.incident_update_posted", "vendor.incident_resolved"]
    );
    assert_eq!(state.incidents[0].external_id.as_deref(), Some("abc123"));
    assert_eq!(state.incidents[0].started_at, t(0));
    assert_eq!(state.incidents[0].updates.len(), 2);
}

#[test]
fn an_edited_title_keeps_the_record() {
    let mut v = vendor(true);
    let mut state = VendorState::default();
    let u = vec![update(Some("u1"), IncidentStatus::Investigating, t(0))];
    poll(
        &mut v,
        &mut state,
        &summary(vec![], vec![incident(Some("x"), "Errors", u.clone())]),
        t(1),
    );
    let d = poll(
        &mut v,
        &mut state,
        &summary(
            vec![],
            vec![incident(Some("x"), "Elevated API error rates", u)],
        ),
        t(2),
    );
    assert_eq!(kinds(&d), vec!["vendor.incident_updated"]);
    assert_eq!(d.events[0].data["old_name"], "Errors");
    assert_eq!(state.incidents.len(), 1);
}

#[test]
fn only_a_complete_listing_ends_what_it_leaves_out() {
    let mut v = vendor(true);
    let mut state = VendorState::default();
    let open = incident(
        Some("gone"),
        "Queue delays",
        vec![update(Some("u1"), IncidentStatus::Monitoring, t(0))],
    );
    poll(
        &mut v,
        &mut state,
        &summary(
            vec![component("api", ComponentStatus::Operational)],
            vec![open],
        ),
        t(1),
    );

    // A history list without it says nothing.
    let history = VendorSnapshot::default();
    assert!(poll(&mut v, &mut state, &history, t(2)).is_empty());

    // The summary (all open incidents, all components) without it resolves it, and the
    // component it no longer lists is marked removed.
    let d = poll(&mut v, &mut state, &summary(vec![], vec![]), t(3));
    assert_eq!(
        kinds(&d),
        vec!["vendor.components_changed", "vendor.incident_resolved"]
    );
    assert_eq!(d.events[1].data["inferred"], true);
    assert_eq!(state.incidents[0].resolved_at, Some(t(3)));
    assert_eq!(state.components[0].removed_at, Some(t(3)));
    assert!(poll(&mut v, &mut state, &summary(vec![], vec![]), t(4)).is_empty());
}

#[test]
fn a_maintenance_is_scheduled_started_and_completed() {
    let mut v = vendor(true);
    let mut state = VendorState::default();
    let window =
        |status: MaintenanceStatus, updates: Vec<VendorMaintenanceUpdate>| VendorMaintenance {
            external_id: Some("mw1".into()),
            name: "Database upgrade".into(),
            status,
            scheduled_for: t(60),
            scheduled_until: Some(t(120)),
            url: None,
            component_ids: vec!["db".into()],
            updates,
        };
    let mu = |id: &str, status: MaintenanceStatus, at: Timestamp| VendorMaintenanceUpdate {
        external_id: Some(id.into()),
        status,
        body: format!("{status}"),
        at,
    };
    let mut snap = summary(vec![], vec![]);
    snap.maintenances = vec![window(
        MaintenanceStatus::Scheduled,
        vec![mu("m1", MaintenanceStatus::Scheduled, t(0))],
    )];
    let d = poll(&mut v, &mut state, &snap, t(1));
    assert_eq!(kinds(&d), vec!["vendor.maintenance_scheduled"]);

    snap.maintenances = vec![window(
        MaintenanceStatus::InProgress,
        vec![
            mu("m1", MaintenanceStatus::Scheduled, t(0)),
            mu("m2", MaintenanceStatus::InProgress, t(60)),
        ],
    )];
    let d = poll(&mut v, &mut state, &snap, t(61));
    assert_eq!(
        kinds(&d),
        vec!["vendor.maintenance_updated", "vendor.maintenance_started"]
    );

    snap.maintenances = vec![window(
        MaintenanceStatus::Completed,
        vec![
            mu("m1", MaintenanceStatus::Scheduled, t(0)),
            mu("m2", MaintenanceStatus::InProgress, t(60)),
            mu("m3", MaintenanceStatus::Completed, t(110)),
        ],
    )];
    let d = poll(&mut v, &mut state, &snap, t(111));
    assert_eq!(
        kinds(&d),
        vec!["vendor.maintenance_updated", "vendor.maintenance_completed"]
    );
    assert_eq!(state.incidents[0].resolved_at, Some(t(110)));
    assert_eq!(state.incidents[0].impact, IncidentImpact::None);
}

#[test]
fn names_normalise_to_words() {
    assert_eq!(normalise_name("  API — Errors!!  (EU) "), "api errors eu");
    assert_eq!(
        fingerprint("Errors", t(0)),
        "errors@2026-07-29T12:00".to_string()
    );
}

#[test]
fn components_known_only_through_incidents_recover_when_no_incident_names_them() {
    let mut v = vendor(true);
    let mut state = VendorState::default();
    let current =
        |components: Vec<VendorComponent>, incidents: Vec<VendorIncident>| VendorSnapshot {
            components,
            incidents,
            coverage: Coverage {
                components: false,
                open_incidents: true,
                open_maintenances: false,
            },
            ..Default::default()
        };
    let open = incident(
        Some("az1"),
        "Networking issues in West US",
        vec![update(None, IncidentStatus::Investigating, t(0))],
    );
    let d = poll(
        &mut v,
        &mut state,
        &current(
            vec![component("west-us", ComponentStatus::PartialOutage)],
            vec![open],
        ),
        t(1),
    );
    assert_eq!(
        kinds(&d),
        vec!["vendor.components_changed", "vendor.incident_opened"]
    );
    let d = poll(&mut v, &mut state, &current(vec![], vec![]), t(30));
    assert_eq!(
        kinds(&d),
        vec![
            "vendor.component_status_changed",
            "vendor.incident_resolved"
        ]
    );
    assert_eq!(state.components[0].status, ComponentStatus::Operational);
    assert_eq!(state.components[0].removed_at, None);
    assert!(poll(&mut v, &mut state, &current(vec![], vec![]), t(31)).is_empty());
}
