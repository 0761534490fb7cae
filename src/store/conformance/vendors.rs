//! Conformance checks of vendor storage: the vendor record's life, and polls stored as the
//! diff computed them: what the store reads back equals the state the poller holds after
//! applying its own diffs, the log holds exactly the diff's events (plus the source's state
//! changes), batched poll times write no events, and pruning removes only ended history.

use crate::clock::ManualClock;
use crate::domain::*;
use crate::events::Actor;
use crate::store::*;
use crate::vendor::adapter::AdapterKind;
use crate::vendor::diff::{apply, diff};
use crate::vendor::model::{
    Coverage, VendorComponent, VendorIncident, VendorMaintenance, VendorSnapshot, VendorUpdate,
};
use crate::vendor::record::{
    NewVendor, PollRecord, SourceState, SourceUpdate, Validators, Vendor, VendorChecked,
    VendorPatch, VendorState,
};
use chrono::Duration;
use std::collections::BTreeMap;

fn actor() -> Actor {
    Actor::token("conformance")
}

fn new_vendor(slug: &str) -> NewVendor {
    NewVendor {
        slug: slug.into(),
        name: format!("Vendor {slug}"),
        page_url: format!("https://status.{slug}.test"),
        source_url: None,
        adapter: AdapterKind::Statuspage,
        poll_interval_seconds: 120,
        components_of_interest: vec![],
        enabled: true,
        managed_by: ManagedBy::Api,
        config_key: None,
    }
}

async fn events_after(store: &dyn Store, after: i64) -> Vec<String> {
    store
        .list_events(after, 1000)
        .await
        .expect("events")
        .into_iter()
        .map(|e| e.kind)
        .collect()
}

fn at(clock: &ManualClock, minutes: i64) -> Timestamp {
    use crate::clock::Clock;
    Timestamp::from_datetime(clock.now().0 + Duration::minutes(minutes))
}

pub async fn vendors_crud(store: &dyn Store, _clock: &ManualClock) {
    let seq = store.last_event_seq().await.expect("seq");
    assert!(!store.any_vendor_enabled().await.expect("none yet"));
    let created = store
        .create_vendor(new_vendor("acme"), &actor())
        .await
        .expect("create");
    assert!(store.any_vendor_enabled().await.expect("one"));
    let off = VendorPatch {
        enabled: Some(false),
        ..Default::default()
    };
    store
        .update_vendor(created.id, off, &actor())
        .await
        .expect("disable");
    assert!(!store.any_vendor_enabled().await.expect("disabled"));
    let on = VendorPatch {
        enabled: Some(true),
        ..Default::default()
    };
    store
        .update_vendor(created.id, on, &actor())
        .await
        .expect("enable");
    assert_eq!(created.slug, "acme");
    assert_eq!(created.source_state, SourceState::Pending);
    assert!(!created.imported);
    assert_eq!(store.get_vendor(created.id).await.expect("get"), created);
    assert_eq!(
        store.get_vendor_by_slug("acme").await.expect("by slug"),
        created
    );
    match store.create_vendor(new_vendor("acme"), &actor()).await {
        Err(StoreError::Conflict { code, message }) => {
            assert_eq!(code, "already_exists");
            assert!(message.contains("acme"), "{message}");
        }
        other => panic!("duplicate slug: {other:?}"),
    }
    match store.get_vendor_by_slug("nope").await {
        Err(StoreError::NotFound { .. }) => {}
        other => panic!("missing slug: {other:?}"),
    }

    // Validators survive a patch that keeps the source, and are forgotten when it moves.
    let mut validators = BTreeMap::new();
    validators.insert(
        "https://status.acme.test/api/v2/summary.json".to_string(),
        Validators {
            etag: Some("\"v1\"".into()),
            last_modified: None,
        },
    );
    store
        .touch_vendors(&[VendorChecked {
            id: created.id,
            at: created.created_at,
            validators: validators.clone(),
        }])
        .await
        .expect("touch");
    let renamed = store
        .update_vendor(
            created.id,
            VendorPatch {
                name: Some("Acme Corp".into()),
                ..Default::default()
            },
            &actor(),
        )
        .await
        .expect("rename");
    assert_eq!(renamed.name, "Acme Corp");
    assert_eq!(renamed.validators, validators);
    assert_eq!(renamed.last_checked_at, Some(created.created_at));
    let moved = store
        .update_vendor(
            created.id,
            VendorPatch {
                page_url: Some("https://acme-status.test".into()),
                ..Default::default()
            },
            &actor(),
        )
        .await
        .expect("move");
    assert!(moved.validators.is_empty());
    // A patch that changes nothing appends nothing.
    store
        .update_vendor(created.id, VendorPatch::default(), &actor())
        .await
        .expect("no-op");

    store
        .delete_vendor(created.id, &actor())
        .await
        .expect("delete");
    match store.get_vendor(created.id).await {
        Err(StoreError::NotFound { .. }) => {}
        other => panic!("deleted vendor: {other:?}"),
    }
    match store.vendor_state(created.id).await {
        Err(StoreError::NotFound { .. }) => {}
        other => panic!("deleted vendor's state: {other:?}"),
    }
    assert_eq!(
        events_after(store, seq).await,
        vec![
            "vendor.created",
            "vendor.updated", // disabled
            "vendor.updated", // enabled
            "vendor.updated", // renamed
            "vendor.updated", // moved
            "vendor.deleted"
        ]
    );
}

fn summary(
    api: ComponentStatus,
    incidents: Vec<VendorIncident>,
    maintenances: Vec<VendorMaintenance>,
) -> VendorSnapshot {
    VendorSnapshot {
        page_name: Some("Acme".into()),
        components: vec![
            VendorComponent {
                external_id: "api".into(),
                name: "API".into(),
                status: api,
                group: Some("Core".into()),
                description: Some("The REST API".into()),
            },
            VendorComponent {
                external_id: "web".into(),
                name: "Website".into(),
                status: ComponentStatus::Operational,
                group: None,
                description: None,
            },
        ],
        incidents,
        maintenances,
        coverage: Coverage {
            components: true,
            open_incidents: true,
            open_maintenances: true,
        },
        unknown_values: vec![],
    }
}

fn incident(updates: &[(IncidentStatus, Timestamp)]) -> VendorIncident {
    VendorIncident {
        external_id: Some("inc1".into()),
        name: "Elevated API errors".into(),
        status: updates.last().expect("updates").0,
        impact: IncidentImpact::Major,
        started_at: updates[0].1,
        resolved_at: None,
        url: Some("https://status.acme.test/incidents/inc1".into()),
        component_ids: vec!["api".into()],
        updates: updates
            .iter()
            .enumerate()
            .map(|(i, (status, at))| VendorUpdate {
                external_id: Some(format!("u{i}")),
                status: *status,
                body: format!("Update {i}: {status} — with “quotes” and ünïcode"),
                at: *at,
            })
            .collect(),
    }
}

/// Diffs, stores and applies one poll; returns the events the store appended.
async fn poll(
    store: &dyn Store,
    vendor: &mut Vendor,
    state: &mut VendorState,
    snapshot: &VendorSnapshot,
    now: Timestamp,
) -> Vec<String> {
    let seq = store.last_event_seq().await.expect("seq");
    let d = diff(vendor, state, snapshot, now);
    let expected: Vec<String> = d
        .events
        .iter()
        .map(|e| e.kind.as_str().to_string())
        .collect();
    store
        .record_vendor_poll(
            vendor.id,
            &PollRecord {
                diff: d.clone(),
                source: SourceUpdate {
                    state: SourceState::Ok,
                    error: None,
                    unreachable_since: None,
                },
                imported: true,
                checked_at: now,
                validators: BTreeMap::new(),
            },
        )
        .await
        .expect("record poll");
    apply(state, &d);
    vendor.imported = true;
    let stored = store.vendor_state(vendor.id).await.expect("state");
    assert_eq!(&stored, state, "stored state differs from the applied diff");
    let events = events_after(store, seq).await;
    assert_eq!(events, expected);
    events
}

pub async fn vendor_polls_round_trip(store: &dyn Store, clock: &ManualClock) {
    let mut vendor = store
        .create_vendor(new_vendor("poller"), &actor())
        .await
        .expect("create");
    let mut state = VendorState::default();

    let maintenance = VendorMaintenance {
        external_id: Some("mw".into()),
        name: "Database upgrade".into(),
        status: MaintenanceStatus::Scheduled,
        scheduled_for: at(clock, 600),
        scheduled_until: Some(at(clock, 660)),
        url: None,
        component_ids: vec!["web".into()],
        updates: vec![],
    };
    let events = poll(
        store,
        &mut vendor,
        &mut state,
        &summary(
            ComponentStatus::Operational,
            vec![],
            vec![maintenance.clone()],
        ),
        at(clock, 0),
    )
    .await;
    assert_eq!(events, vec!["vendor.imported"]);
    assert!(store.get_vendor(vendor.id).await.expect("get").imported);

    let events = poll(
        store,
        &mut vendor,
        &mut state,
        &summary(
            ComponentStatus::PartialOutage,
            vec![incident(&[(IncidentStatus::Investigating, at(clock, 1))])],
            vec![maintenance.clone()],
        ),
        at(clock, 2),
    )
    .await;
    assert_eq!(
        events,
        vec!["vendor.component_status_changed", "vendor.incident_opened"]
    );

    let events = poll(
        store,
        &mut vendor,
        &mut state,
        &summary(
            ComponentStatus::Operational,
            vec![incident(&[
                (IncidentStatus::Investigating, at(clock, 1)),
                (IncidentStatus::Resolved, at(clock, 9)),
            ])],
            vec![],
        ),
        at(clock, 10),
    )
    .await;
    assert_eq!(
        events,
        vec![
            "vendor.component_status_changed",
            "vendor.incident_update_posted",
            "vendor.incident_resolved",
            "vendor.maintenance_completed"
        ]
    );
    let resolved = state
        .incidents
        .iter()
        .find(|r| r.external_id.as_deref() == Some("inc1"))
        .expect("incident");
    assert_eq!(resolved.resolved_at, Some(at(clock, 9)));
    assert_eq!(resolved.first_seen_at, at(clock, 2));
    assert_eq!(resolved.updates.len(), 2);

    // The same payload again: the diff is empty, so nothing would be written at all.
    let again = summary(
        ComponentStatus::Operational,
        vec![incident(&[
            (IncidentStatus::Investigating, at(clock, 1)),
            (IncidentStatus::Resolved, at(clock, 9)),
        ])],
        vec![],
    );
    assert!(diff(&vendor, &state, &again, at(clock, 12)).is_empty());

    // The source fails: one event when it becomes unreachable, none while it stays so,
    // one when it recovers; the data stays.
    let seq = store.last_event_seq().await.expect("seq");
    for (minute, state_now) in [
        (20, SourceState::Unreachable),
        (22, SourceState::Unreachable),
        (24, SourceState::Ok),
    ] {
        let unreachable = state_now == SourceState::Unreachable;
        store
            .record_vendor_poll(
                vendor.id,
                &PollRecord {
                    diff: Default::default(),
                    source: SourceUpdate {
                        state: state_now,
                        error: unreachable.then(|| "HTTP 500 from the source".to_string()),
                        unreachable_since: unreachable.then(|| at(clock, 20)),
                    },
                    imported: true,
                    checked_at: at(clock, minute),
                    validators: BTreeMap::new(),
                },
            )
            .await
            .expect("record failure");
        let stored = store.get_vendor(vendor.id).await.expect("vendor");
        assert_eq!(stored.source_state, state_now);
        assert_eq!(stored.last_checked_at, Some(at(clock, minute)));
        if unreachable {
            assert_eq!(stored.unreachable_since, Some(at(clock, 20)));
            assert_eq!(
                stored.source_error.as_deref(),
                Some("HTTP 500 from the source")
            );
        }
    }
    assert_eq!(
        events_after(store, seq).await,
        vec!["vendor.source_unreachable", "vendor.source_recovered"]
    );
    assert_eq!(store.vendor_state(vendor.id).await.expect("state"), state);

    // Batched poll times: no events.
    let seq = store.last_event_seq().await.expect("seq");
    store
        .touch_vendors(&[VendorChecked {
            id: vendor.id,
            at: at(clock, 30),
            validators: BTreeMap::new(),
        }])
        .await
        .expect("touch");
    assert!(events_after(store, seq).await.is_empty());
    assert_eq!(
        store
            .get_vendor(vendor.id)
            .await
            .expect("vendor")
            .last_checked_at,
        Some(at(clock, 30))
    );

    // Pruning removes what ended before the cutoff, and nothing else.
    assert_eq!(
        store
            .prune_vendor_history(at(clock, 5))
            .await
            .expect("prune early"),
        0
    );
    assert_eq!(
        store
            .prune_vendor_history(at(clock, 100))
            .await
            .expect("prune"),
        2
    );
    let pruned = store.vendor_state(vendor.id).await.expect("state");
    assert!(pruned.incidents.is_empty());
    assert_eq!(pruned.components.len(), 2);
}

fn declared(slug: &str, name: &str) -> crate::vendor::record::DeclaredVendor {
    crate::vendor::record::DeclaredVendor {
        slug: slug.into(),
        name: name.into(),
        page_url: format!("https://status.{slug}.test"),
        source_url: None,
        adapter: AdapterKind::Statuspage,
        poll_interval_seconds: 120,
        components_of_interest: vec![],
        enabled: true,
    }
}

pub async fn reconcile_vendors(store: &dyn Store, _clock: &ManualClock) {
    let config = Actor::config();
    // An API vendor with a slug the file will declare: taken over.
    let api = store
        .create_vendor(new_vendor("adopted"), &actor())
        .await
        .expect("create");
    let seq = store.last_event_seq().await.expect("seq");
    let report = store
        .reconcile_vendors(
            &[
                declared("fresh", "Fresh"),
                declared("adopted", "Adopted Inc"),
            ],
            &config,
        )
        .await
        .expect("reconcile");
    assert_eq!((report.created, report.updated, report.released), (1, 1, 0));
    let fresh = store.get_vendor_by_slug("fresh").await.expect("fresh");
    assert_eq!(fresh.managed_by, ManagedBy::Config);
    assert_eq!(fresh.config_key.as_deref(), Some("fresh"));
    let adopted = store.get_vendor(api.id).await.expect("adopted");
    assert_eq!(adopted.managed_by, ManagedBy::Config);
    assert_eq!(adopted.name, "Adopted Inc");
    assert_eq!(
        events_after(store, seq).await,
        vec!["vendor.created", "vendor.updated"]
    );

    // The same declarations again: nothing.
    let seq = store.last_event_seq().await.expect("seq");
    let report = store
        .reconcile_vendors(
            &[
                declared("fresh", "Fresh"),
                declared("adopted", "Adopted Inc"),
            ],
            &config,
        )
        .await
        .expect("again");
    assert_eq!(report, ReconcileReport::default());
    assert!(events_after(store, seq).await.is_empty());

    // While declared, the API may only enable or disable it.
    match store
        .update_vendor(
            fresh.id,
            VendorPatch {
                name: Some("Renamed".into()),
                ..Default::default()
            },
            &actor(),
        )
        .await
    {
        Err(StoreError::Conflict { code, .. }) => assert_eq!(code, "managed_by_config"),
        other => panic!("renaming a declared vendor: {other:?}"),
    }
    store
        .update_vendor(
            fresh.id,
            VendorPatch {
                enabled: Some(false),
                ..Default::default()
            },
            &actor(),
        )
        .await
        .expect("disabling a declared vendor");
    match store.delete_vendor(fresh.id, &actor()).await {
        Err(StoreError::Conflict { code, .. }) => assert_eq!(code, "managed_by_config"),
        other => panic!("deleting a declared vendor: {other:?}"),
    }

    // Dropped from the file: released to the API, not deleted.
    let report = store
        .reconcile_vendors(&[declared("adopted", "Adopted Inc")], &config)
        .await
        .expect("release");
    assert_eq!(report.released, 1);
    let released = store.get_vendor(fresh.id).await.expect("still there");
    assert_eq!(released.managed_by, ManagedBy::Api);
    assert_eq!(released.config_key, None);
    store
        .delete_vendor(fresh.id, &actor())
        .await
        .expect("deletable once released");
}
