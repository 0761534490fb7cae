//! The store conformance suite: what every [`Store`] must do, written once over `&dyn Store`
//! and run against each backend (a fresh SQLite file and a fresh PostgreSQL database, see
//! `tests/store_conformance.rs`).
//!
//! Each check is a `pub async fn` taking the store and the [`ManualClock`] it was built with,
//! so a check can move wall time (maintenance windows, `updated_at`, monitoring times). A check
//! panics with a message naming what it expected; it assumes an empty, migrated database and
//! owns it for its whole run. The list of checks is
//! [`store_conformance_checks!`](crate::store_conformance_checks), which the test file expands
//! into one test per check and backend, so a failure names both backend and check.
//!
//! The checks assert behaviour through the trait only: the state a read returns, the events
//! the log holds and the errors refused writes report. They must not reach into the schema, so
//! they stay valid for any implementation of the trait.

use crate::clock::{Clock, ManualClock};
use crate::domain::model::*;
use crate::domain::*;
use crate::events::Actor;
use crate::store::*;
use chrono::Duration;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;

mod accounts;
mod incident_templates;
mod monitor_list;
mod notify;
mod page_settings;
mod rollups;
mod vendors;
pub use accounts::*;
pub use incident_templates::*;
pub use monitor_list::*;
pub use notify::*;
pub use page_settings::*;
pub use rollups::*;
pub use vendors::*;

/// Expands `$callback! { plain: [..], shared: [..] }` with the name of every check.
///
/// `plain` checks are `async fn(&dyn Store, &ManualClock)`; `shared` checks take an
/// `Arc<dyn Store>` instead, because they spawn tasks that outlive a borrow. Add a new check
/// here and it runs for every backend.
#[macro_export]
macro_rules! store_conformance_checks {
    ($callback:ident) => {
        $callback! {
            plain: [
                ping_then_close,
                groups_crud,
                groups_pagination,
                components_crud,
                components_pagination,
                status_rule_two_incidents,
                status_rule_hand_set_pin,
                status_rule_maintenance_and_outage,
                incident_lifecycle,
                incident_impact_and_source,
                incident_postmortem,
                incident_delete_releases_holds,
                incident_listing,
                history_window,
                maintenance_lifecycle,
                maintenance_refusals,
                maintenance_window_passed_entirely,
                maintenance_listing,
                event_log_flow,
                incident_events_carry_one_update,
                refused_writes_change_nothing,
                tokens,
                rollups_equal_recomputation,
                rollups_catch_up_and_recompute_late_results,
                prune_keeps_rollups,
                uptime_windows,
                recording_checks_twice_stores_them_once,
                monitor_listing_filters_and_orders,
                uptime_24h_of_a_page,
                a_batch_keeps_each_monitors_newest_result,
                reconcile_config,
                reconcile_monitors,
                vendors_crud,
                vendor_polls_round_trip,
                reconcile_vendors,
                channels_and_subscribers,
                planning_fans_out_once,
                outbox_claims_and_outcomes,
                outcomes_in_mixed_batches,
                escalation_steps,
                users_crud,
                sessions_lifecycle,
                login_lock,
                setup_token_once,
                audit_log_newest_first,
                temporary_password_signs_in_once,
                session_lists_and_counts,
                the_last_active_admin_stays,
                incident_templates_crud,
                incident_update_deletion,
                page_settings_round_trip,
            ],
            shared: [concurrent_writes, concurrent_patches, page_settings_concurrent_changes],
        }
    };
}

// ---- helpers -------------------------------------------------------------------------------

fn actor() -> Actor {
    Actor::token("conformance")
}

fn hold(component_id: ComponentId, status: ComponentStatus) -> ComponentChange {
    ComponentChange {
        component_id,
        status: Some(status),
    }
}

fn manual() -> IncidentSource {
    IncidentSource {
        kind: SourceKind::Manual,
        reference: None,
    }
}

fn new_incident(name: &str, changes: &[ComponentChange]) -> NewIncident {
    NewIncident {
        name: name.to_string(),
        status: IncidentStatus::Investigating,
        impact: None,
        body: format!("{name}: investigating"),
        components: changes.to_vec(),
        source: manual(),
        started_at: None,
    }
}

fn new_update(
    status: Option<IncidentStatus>,
    body: &str,
    changes: &[ComponentChange],
) -> NewIncidentUpdate {
    NewIncidentUpdate {
        status,
        body: body.to_string(),
        components: changes.to_vec(),
        impact: None,
    }
}

fn new_maintenance(
    name: &str,
    scheduled_for: Timestamp,
    scheduled_until: Timestamp,
    component_ids: &[ComponentId],
) -> NewMaintenance {
    NewMaintenance {
        name: name.to_string(),
        scheduled_for,
        scheduled_until,
        component_ids: component_ids.to_vec(),
        body: None,
        auto_transition: true,
    }
}

fn after(clock: &ManualClock, by: Duration) -> Timestamp {
    Timestamp::from_datetime(clock.now().0 + by)
}

async fn component(store: &dyn Store, name: &str) -> Component {
    store
        .create_component(
            NewComponent {
                name: name.to_string(),
                ..Default::default()
            },
            &actor(),
        )
        .await
        .unwrap_or_else(|e| panic!("create component {name}: {e}"))
}

async fn status_of(store: &dyn Store, id: ComponentId) -> ComponentStatus {
    store.get_component(id).await.expect("get component").status
}

/// The `(from, to)` pairs of a component's whole history.
async fn history(
    store: &dyn Store,
    id: ComponentId,
) -> Vec<(Option<ComponentStatus>, ComponentStatus)> {
    let epoch = Timestamp::parse("1970-01-01T00:00:00Z").expect("epoch");
    store
        .component_status_history(id, epoch)
        .await
        .expect("component status history")
        .into_iter()
        .map(|c| (c.from, c.to))
        .collect()
}

async fn seq(store: &dyn Store) -> i64 {
    store.last_event_seq().await.expect("last event seq")
}

/// Every event after `after`, checking the log's paging on the way.
async fn events_after(store: &dyn Store, after: i64) -> Vec<Event> {
    store
        .list_events(after, 100_000)
        .await
        .expect("list events")
}

async fn kinds_after(store: &dyn Store, after: i64) -> Vec<String> {
    events_after(store, after)
        .await
        .into_iter()
        .map(|e| e.kind)
        .collect()
}

/// Runs a write that must be refused and checks that it appended no event.
async fn refused<T: Debug>(
    store: &dyn Store,
    what: &str,
    attempt: impl Future<Output = StoreResult<T>>,
) -> StoreError {
    let before = seq(store).await;
    let err = match attempt.await {
        Ok(value) => panic!("{what}: expected an error, got {value:?}"),
        Err(err) => err,
    };
    assert_eq!(
        seq(store).await,
        before,
        "{what}: a refused write must append no events (error was {err:?})"
    );
    err
}

async fn expect_conflict<T: Debug>(
    store: &dyn Store,
    code: &str,
    what: &str,
    attempt: impl Future<Output = StoreResult<T>>,
) {
    match refused(store, what, attempt).await {
        StoreError::Conflict { code: got, .. } if got == code => {}
        other => panic!("{what}: expected Conflict `{code}`, got {other:?}"),
    }
}

async fn expect_invalid<T: Debug>(
    store: &dyn Store,
    what: &str,
    attempt: impl Future<Output = StoreResult<T>>,
) {
    match refused(store, what, attempt).await {
        StoreError::Invalid { .. } => {}
        other => panic!("{what}: expected Invalid, got {other:?}"),
    }
}

async fn expect_not_found<T: Debug>(
    store: &dyn Store,
    what: &str,
    attempt: impl Future<Output = StoreResult<T>>,
) {
    match refused(store, what, attempt).await {
        StoreError::NotFound { .. } => {}
        other => panic!("{what}: expected NotFound, got {other:?}"),
    }
}

/// Follows `next_cursor` to the end, checking that every page but the last is full.
async fn all_pages<T, F, Fut>(what: &str, limit: u32, mut fetch: F) -> Vec<T>
where
    F: FnMut(PageRequest) -> Fut,
    Fut: Future<Output = StoreResult<Page<T>>>,
{
    let mut items = Vec::new();
    let mut cursor = None;
    for _ in 0..10_000 {
        let page = fetch(PageRequest {
            limit,
            cursor: cursor.take(),
        })
        .await
        .unwrap_or_else(|e| panic!("{what}: listing a page: {e}"));
        assert!(
            page.items.len() <= limit as usize,
            "{what}: a page holds {} items, more than its limit {limit}",
            page.items.len()
        );
        let full = page.items.len() == limit as usize;
        items.extend(page.items);
        match page.next_cursor {
            Some(next) => {
                assert!(full, "{what}: a page with a next cursor must be full");
                cursor = Some(next);
            }
            None => return items,
        }
    }
    panic!("{what}: pagination never ended");
}

fn bad_cursors() -> Vec<String> {
    use base64::Engine;
    let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    vec![
        "not a cursor!".to_string(),
        b64("one\ntwo\nthree"),
        b64("not-a-number\n0189abcd-0000-7000-8000-000000000000"),
    ]
}

fn affected_map(
    update: &IncidentUpdate,
) -> BTreeMap<ComponentId, (ComponentStatus, ComponentStatus)> {
    update
        .affected_components
        .iter()
        .map(|a| (a.component_id, (a.old_status, a.new_status)))
        .collect()
}

// ---- checks --------------------------------------------------------------------------------

/// `ping` answers while the store is open; after `close` the store reports itself unavailable.
pub async fn ping_then_close(store: &dyn Store, _clock: &ManualClock) {
    store.ping().await.expect("ping on an open store");
    store.close().await;
    match store.ping().await {
        Err(StoreError::Unavailable(_)) => {}
        other => panic!("ping after close: expected Unavailable, got {other:?}"),
    }
}

/// Component groups: create (positions appended), read, update, delete (members ungrouped),
/// and NotFound for unknown ids.
pub async fn groups_crud(store: &dyn Store, clock: &ManualClock) {
    let created_at = clock.now();
    let first = store
        .create_group(
            NewGroup {
                name: "Core".into(),
                description: Some("The core services".into()),
                position: None,
            },
            &actor(),
        )
        .await
        .expect("create group");
    assert_eq!(first.name, "Core");
    assert_eq!(first.description.as_deref(), Some("The core services"));
    assert_eq!(
        first.position, 0,
        "the first group without a position gets 0"
    );
    assert_eq!(first.managed_by, ManagedBy::Api);
    assert_eq!(first.config_key, None);
    assert_eq!(first.created_at, created_at);
    assert_eq!(first.updated_at, created_at);
    assert_eq!(store.get_group(first.id).await.expect("get group"), first);

    let second = store
        .create_group(
            NewGroup {
                name: "Edge".into(),
                ..Default::default()
            },
            &actor(),
        )
        .await
        .expect("create group");
    assert_eq!(second.position, 1, "a group without a position is appended");
    let placed = store
        .create_group(
            NewGroup {
                name: "Placed".into(),
                position: Some(10),
                ..Default::default()
            },
            &actor(),
        )
        .await
        .expect("create group");
    assert_eq!(placed.position, 10, "an explicit position is kept");
    let appended = store
        .create_group(
            NewGroup {
                name: "Last".into(),
                ..Default::default()
            },
            &actor(),
        )
        .await
        .expect("create group");
    assert_eq!(appended.position, 11, "appended after the highest position");

    let listed = store
        .list_groups(PageRequest::first(50))
        .await
        .expect("list groups");
    assert_eq!(
        listed.items,
        vec![
            first.clone(),
            second.clone(),
            placed.clone(),
            appended.clone()
        ]
    );
    assert!(listed.next_cursor.is_none());

    clock.advance(Duration::minutes(5));
    let renamed = store
        .update_group(
            first.id,
            GroupPatch {
                name: Some("Core services".into()),
                ..Default::default()
            },
            &actor(),
        )
        .await
        .expect("update group name");
    assert_eq!(renamed.name, "Core services");
    assert_eq!(
        renamed.description, first.description,
        "an absent field is unchanged"
    );
    assert_eq!(renamed.position, first.position);
    assert_eq!(renamed.created_at, first.created_at);
    assert_eq!(renamed.updated_at, clock.now());
    let cleared = store
        .update_group(
            first.id,
            GroupPatch {
                description: Some(None),
                position: Some(7),
                ..Default::default()
            },
            &actor(),
        )
        .await
        .expect("clear group description");
    assert_eq!(
        cleared.description, None,
        "Some(None) clears the description"
    );
    assert_eq!(cleared.position, 7);
    assert_eq!(cleared.name, "Core services");
    assert_eq!(store.get_group(first.id).await.expect("get group"), cleared);

    // Deleting a group ungroups its components rather than deleting them.
    let member = store
        .create_component(
            NewComponent {
                name: "API".into(),
                group_id: Some(second.id),
                ..Default::default()
            },
            &actor(),
        )
        .await
        .expect("create member component");
    let before = seq(store).await;
    store
        .delete_group(second.id, &actor())
        .await
        .expect("delete group");
    assert_eq!(
        kinds_after(store, before).await,
        ["component.updated", "component_group.deleted"],
        "deleting a group announces its ungrouped members, then the deletion"
    );
    let member = store
        .get_component(member.id)
        .await
        .expect("member survives");
    assert_eq!(member.group_id, None, "the member is ungrouped");
    expect_not_found(store, "get a deleted group", store.get_group(second.id)).await;

    let unknown = ComponentGroupId::new();
    expect_not_found(store, "get an unknown group", store.get_group(unknown)).await;
    expect_not_found(
        store,
        "update an unknown group",
        store.update_group(
            unknown,
            GroupPatch {
                name: Some("x".into()),
                ..Default::default()
            },
            &actor(),
        ),
    )
    .await;
    expect_not_found(
        store,
        "delete an unknown group",
        store.delete_group(unknown, &actor()),
    )
    .await;
    expect_not_found(
        store,
        "delete a group twice",
        store.delete_group(second.id, &actor()),
    )
    .await;
}

/// `list_groups` pages by `(position, id)` with ties, without duplicates or omissions.
pub async fn groups_pagination(store: &dyn Store, _clock: &ManualClock) {
    let positions = [
        Some(5),
        Some(5),
        Some(5),
        Some(1),
        None,
        Some(1),
        Some(9),
        None,
        Some(5),
    ];
    let mut created = Vec::new();
    for (i, position) in positions.into_iter().enumerate() {
        created.push(
            store
                .create_group(
                    NewGroup {
                        name: format!("group {i}"),
                        position,
                        ..Default::default()
                    },
                    &actor(),
                )
                .await
                .expect("create group"),
        );
    }
    let mut expected = created.clone();
    expected.sort_by_key(|g| (g.position, g.id));
    for limit in [1, 2, 3, 4, 9, 10, 500] {
        let listed = all_pages("list_groups", limit, |p| store.list_groups(p)).await;
        assert_eq!(
            listed.iter().map(|g| g.id).collect::<Vec<_>>(),
            expected.iter().map(|g| g.id).collect::<Vec<_>>(),
            "list_groups with limit {limit}: every group once, ordered by (position, id)"
        );
    }
    let exact = store
        .list_groups(PageRequest::first(9))
        .await
        .expect("list groups");
    assert_eq!(exact.items.len(), 9);
    assert!(
        exact.next_cursor.is_none(),
        "a page that ends the list has no next cursor"
    );
    for cursor in bad_cursors() {
        let request = PageRequest {
            limit: 2,
            cursor: Some(cursor.clone()),
        };
        expect_invalid(
            store,
            &format!("list_groups with cursor {cursor:?}"),
            store.list_groups(request),
        )
        .await;
    }
}

/// Components: create with defaults and with every field, read, update each field, hand-set
/// status without holds, delete, Invalid for an unknown group and NotFound for unknown ids.
pub async fn components_crud(store: &dyn Store, clock: &ManualClock) {
    let group = store
        .create_group(
            NewGroup {
                name: "Core".into(),
                ..Default::default()
            },
            &actor(),
        )
        .await
        .expect("create group");
    let plain = component(store, "API").await;
    assert_eq!(plain.name, "API");
    assert_eq!(plain.description, None);
    assert_eq!(plain.group_id, None);
    assert_eq!(plain.position, 0);
    assert_eq!(
        plain.status,
        ComponentStatus::Operational,
        "a new component is operational"
    );
    assert_eq!(plain.base_status, ComponentStatus::Operational);
    assert!(!plain.status_pinned);
    assert!(plain.showcase, "showcase defaults to true");
    assert!(!plain.only_show_if_degraded);
    assert_eq!(plain.start_date, None);
    assert_eq!(plain.managed_by, ManagedBy::Api);
    assert_eq!(plain.config_key, None);
    assert_eq!(plain.created_at, clock.now());
    assert_eq!(
        store.get_component(plain.id).await.expect("get component"),
        plain
    );

    let full = store
        .create_component(
            NewComponent {
                name: "Web".into(),
                description: Some("The website".into()),
                group_id: Some(group.id),
                position: None,
                status: Some(ComponentStatus::DegradedPerformance),
                showcase: Some(false),
                only_show_if_degraded: Some(true),
                start_date: Some("2026-01-01".into()),
            },
            &actor(),
        )
        .await
        .expect("create component with every field");
    assert_eq!(full.description.as_deref(), Some("The website"));
    assert_eq!(full.group_id, Some(group.id));
    assert_eq!(
        full.position, 1,
        "a component without a position is appended"
    );
    assert_eq!(full.status, ComponentStatus::DegradedPerformance);
    assert_eq!(full.base_status, ComponentStatus::DegradedPerformance);
    assert!(!full.showcase);
    assert!(full.only_show_if_degraded);
    assert_eq!(full.start_date.as_deref(), Some("2026-01-01"));
    assert_eq!(
        history(store, full.id).await,
        [(None, ComponentStatus::DegradedPerformance)],
        "creation records the initial status"
    );

    expect_invalid(
        store,
        "create a component in an unknown group",
        store.create_component(
            NewComponent {
                name: "Orphan".into(),
                group_id: Some(ComponentGroupId::new()),
                ..Default::default()
            },
            &actor(),
        ),
    )
    .await;
    expect_invalid(
        store,
        "move a component to an unknown group",
        store.update_component(
            plain.id,
            ComponentPatch {
                group_id: Some(Some(ComponentGroupId::new())),
                ..Default::default()
            },
            &actor(),
        ),
    )
    .await;

    clock.advance(Duration::minutes(1));
    let updated = store
        .update_component(
            full.id,
            ComponentPatch {
                name: Some("Website".into()),
                description: Some(None),
                group_id: Some(None),
                position: Some(42),
                showcase: Some(true),
                only_show_if_degraded: Some(false),
                start_date: Some(None),
                ..Default::default()
            },
            &actor(),
        )
        .await
        .expect("update component");
    assert_eq!(updated.name, "Website");
    assert_eq!(updated.description, None);
    assert_eq!(updated.group_id, None);
    assert_eq!(updated.position, 42);
    assert!(updated.showcase);
    assert!(!updated.only_show_if_degraded);
    assert_eq!(updated.start_date, None);
    assert_eq!(
        updated.status,
        ComponentStatus::DegradedPerformance,
        "status untouched without `status`"
    );
    assert_eq!(updated.created_at, full.created_at);
    assert_eq!(updated.updated_at, clock.now());
    let regrouped = store
        .update_component(
            plain.id,
            ComponentPatch {
                group_id: Some(Some(group.id)),
                ..Default::default()
            },
            &actor(),
        )
        .await
        .expect("move component into a group");
    assert_eq!(regrouped.group_id, Some(group.id));
    assert_eq!(regrouped.name, "API");

    // A hand-set status with nothing holding the component simply becomes its status.
    let before = seq(store).await;
    let set = store
        .update_component(
            plain.id,
            ComponentPatch {
                status: Some(ComponentStatus::PartialOutage),
                ..Default::default()
            },
            &actor(),
        )
        .await
        .expect("hand-set status");
    assert_eq!(set.status, ComponentStatus::PartialOutage);
    assert_eq!(set.base_status, ComponentStatus::PartialOutage);
    assert!(!set.status_pinned, "no holds, so nothing to pin against");
    assert_eq!(
        kinds_after(store, before).await,
        ["component.updated", "component.status_changed"]
    );
    assert_eq!(
        history(store, plain.id).await,
        [
            (None, ComponentStatus::Operational),
            (
                Some(ComponentStatus::Operational),
                ComponentStatus::PartialOutage
            )
        ]
    );
    let same = store
        .update_component(
            plain.id,
            ComponentPatch {
                status: Some(ComponentStatus::PartialOutage),
                ..Default::default()
            },
            &actor(),
        )
        .await
        .expect("hand-set the same status");
    assert_eq!(same.status, ComponentStatus::PartialOutage);
    assert_eq!(
        history(store, plain.id).await.len(),
        2,
        "setting the same status is not a change"
    );

    clock.advance(Duration::minutes(1));
    let since = clock.now();
    store
        .update_component(
            plain.id,
            ComponentPatch {
                status: Some(ComponentStatus::Operational),
                ..Default::default()
            },
            &actor(),
        )
        .await
        .expect("hand-set operational");
    let recent = store
        .component_status_history(plain.id, since)
        .await
        .expect("history since");
    assert_eq!(recent.len(), 1, "history honours `since`: {recent:?}");
    assert_eq!(recent[0].component_id, plain.id);
    assert_eq!(recent[0].from, Some(ComponentStatus::PartialOutage));
    assert_eq!(recent[0].to, ComponentStatus::Operational);
    assert_eq!(recent[0].at, clock.now());

    let before = seq(store).await;
    store
        .delete_component(full.id, &actor())
        .await
        .expect("delete component");
    let events = events_after(store, before).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, "component.deleted");
    assert_eq!(events[0].subject_id, Some(full.id.to_string()));
    assert_eq!(
        events[0].data["name"], "Website",
        "a deletion carries the resource as it was"
    );
    expect_not_found(
        store,
        "get a deleted component",
        store.get_component(full.id),
    )
    .await;
    expect_not_found(
        store,
        "history of a deleted component",
        store.component_status_history(full.id, since),
    )
    .await;

    let unknown = ComponentId::new();
    expect_not_found(
        store,
        "get an unknown component",
        store.get_component(unknown),
    )
    .await;
    expect_not_found(
        store,
        "update an unknown component",
        store.update_component(
            unknown,
            ComponentPatch {
                name: Some("x".into()),
                ..Default::default()
            },
            &actor(),
        ),
    )
    .await;
    expect_not_found(
        store,
        "delete an unknown component",
        store.delete_component(unknown, &actor()),
    )
    .await;
    expect_not_found(
        store,
        "history of an unknown component",
        store.component_status_history(unknown, since),
    )
    .await;
}

/// `list_components` pages by `(position, id)` with ties, without duplicates or omissions.
pub async fn components_pagination(store: &dyn Store, _clock: &ManualClock) {
    let positions = [
        None,
        Some(3),
        Some(3),
        None,
        Some(0),
        Some(3),
        Some(0),
        None,
        Some(100),
        Some(3),
        None,
    ];
    let mut created = Vec::new();
    for (i, position) in positions.into_iter().enumerate() {
        created.push(
            store
                .create_component(
                    NewComponent {
                        name: format!("component {i}"),
                        position,
                        ..Default::default()
                    },
                    &actor(),
                )
                .await
                .expect("create component"),
        );
    }
    assert_eq!(created[0].position, 0);
    assert_eq!(
        created[3].position, 4,
        "appended after the highest position (3)"
    );
    assert_eq!(
        created[10].position, 101,
        "appended after the highest position (100)"
    );
    let mut expected = created.clone();
    expected.sort_by_key(|c| (c.position, c.id));
    for limit in [1, 2, 3, 5, 11, 12] {
        let listed = all_pages("list_components", limit, |p| store.list_components(p)).await;
        assert_eq!(
            listed, expected,
            "list_components with limit {limit}: every component once, in order"
        );
    }
    for cursor in bad_cursors() {
        let request = PageRequest {
            limit: 2,
            cursor: Some(cursor.clone()),
        };
        expect_invalid(
            store,
            &format!("list_components with cursor {cursor:?}"),
            store.list_components(request),
        )
        .await;
    }
}

/// Two incidents over shared components: the worst hold shows, resolving one restores what
/// the other holds, resolving both restores the hand-set status, and history records each step.
pub async fn status_rule_two_incidents(store: &dyn Store, clock: &ManualClock) {
    use ComponentStatus::{DegradedPerformance, MajorOutage, Operational, PartialOutage};
    let api = component(store, "API").await;
    let web = component(store, "Web").await;
    // A hand-set base status, so "restored" is distinguishable from "operational".
    store
        .update_component(
            api.id,
            ComponentPatch {
                status: Some(DegradedPerformance),
                ..Default::default()
            },
            &actor(),
        )
        .await
        .expect("hand-set api degraded");

    clock.advance(Duration::minutes(1));
    let first = store
        .create_incident(
            new_incident(
                "first",
                &[hold(api.id, MajorOutage), hold(web.id, PartialOutage)],
            ),
            &actor(),
        )
        .await
        .expect("open first incident");
    assert_eq!(status_of(store, api.id).await, MajorOutage);
    assert_eq!(status_of(store, web.id).await, PartialOutage);
    assert_eq!(
        first
            .components
            .iter()
            .map(|c| (c.component_id, c.status))
            .collect::<BTreeMap<_, _>>(),
        BTreeMap::from([(api.id, Some(MajorOutage)), (web.id, Some(PartialOutage))]),
        "the incident records the status it holds for each component"
    );
    assert_eq!(
        affected_map(&first.updates[0]),
        BTreeMap::from([
            (api.id, (DegradedPerformance, MajorOutage)),
            (web.id, (Operational, PartialOutage))
        ])
    );

    clock.advance(Duration::minutes(1));
    let second = store
        .create_incident(
            new_incident("second", &[hold(api.id, PartialOutage)]),
            &actor(),
        )
        .await
        .expect("open second incident");
    assert_eq!(
        status_of(store, api.id).await,
        MajorOutage,
        "the worst hold wins"
    );
    assert_eq!(
        affected_map(&second.updates[0]),
        BTreeMap::from([(api.id, (MajorOutage, MajorOutage))]),
        "a named component is listed even when its status does not move"
    );

    clock.advance(Duration::minutes(1));
    let resolved = store
        .resolve_incident(first.id, None, &actor())
        .await
        .expect("resolve first");
    assert_eq!(
        status_of(store, api.id).await,
        PartialOutage,
        "what the second incident holds"
    );
    assert_eq!(
        status_of(store, web.id).await,
        Operational,
        "no holds left: the hand-set status"
    );
    assert_eq!(
        affected_map(&resolved.updates[0]),
        BTreeMap::from([
            (api.id, (MajorOutage, PartialOutage)),
            (web.id, (PartialOutage, Operational))
        ]),
        "a resolution lists the components it changed"
    );

    clock.advance(Duration::minutes(1));
    store
        .resolve_incident(second.id, None, &actor())
        .await
        .expect("resolve second");
    let api_now = store.get_component(api.id).await.expect("get api");
    assert_eq!(
        api_now.status, DegradedPerformance,
        "back to the hand-set status"
    );
    assert_eq!(api_now.base_status, DegradedPerformance);
    assert!(!api_now.status_pinned);

    assert_eq!(
        history(store, api.id).await,
        [
            (None, Operational),
            (Some(Operational), DegradedPerformance),
            (Some(DegradedPerformance), MajorOutage),
            (Some(MajorOutage), PartialOutage),
            (Some(PartialOutage), DegradedPerformance),
        ],
        "api history: every change, in order"
    );
    assert_eq!(
        history(store, web.id).await,
        [
            (None, Operational),
            (Some(Operational), PartialOutage),
            (Some(PartialOutage), Operational)
        ]
    );
    let times: Vec<Timestamp> = store
        .component_status_history(api.id, api.created_at)
        .await
        .expect("history")
        .iter()
        .map(|c| c.at)
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "history times never go back: {times:?}"
    );

    // An incident saying "operational" does not hide another incident's outage.
    let outage = store
        .create_incident(
            new_incident("outage", &[hold(web.id, PartialOutage)]),
            &actor(),
        )
        .await
        .expect("open outage");
    let fine = store
        .create_incident(new_incident("fine", &[hold(web.id, Operational)]), &actor())
        .await
        .expect("open incident holding operational");
    assert_eq!(status_of(store, web.id).await, PartialOutage);
    store
        .resolve_incident(outage.id, None, &actor())
        .await
        .expect("resolve outage");
    assert_eq!(status_of(store, web.id).await, Operational);
    store
        .resolve_incident(fine.id, None, &actor())
        .await
        .expect("resolve fine");
    assert_eq!(status_of(store, web.id).await, Operational);
}

/// A status set by hand while incidents hold another one pins: it wins until an update names
/// the component with a status, and lapses once the last hold is gone.
pub async fn status_rule_hand_set_pin(store: &dyn Store, clock: &ManualClock) {
    use ComponentStatus::{DegradedPerformance, MajorOutage, Operational, PartialOutage};
    let api = component(store, "API").await;
    let web = component(store, "Web").await;
    let incident = store
        .create_incident(
            new_incident("outage", &[hold(api.id, MajorOutage)]),
            &actor(),
        )
        .await
        .expect("open incident");
    assert_eq!(status_of(store, api.id).await, MajorOutage);

    clock.advance(Duration::minutes(1));
    let pinned = store
        .update_component(
            api.id,
            ComponentPatch {
                status: Some(Operational),
                ..Default::default()
            },
            &actor(),
        )
        .await
        .expect("hand-set operational while held");
    assert_eq!(
        pinned.status, Operational,
        "the hand-set status wins over the hold"
    );
    assert_eq!(pinned.base_status, Operational);
    assert!(pinned.status_pinned, "set while held: pinned");

    // Updates that do not name the component (or name it without a status) leave the pin.
    store
        .post_incident_update(
            incident.id,
            new_update(Some(IncidentStatus::Identified), "found it", &[]),
            &actor(),
        )
        .await
        .expect("post update without components");
    store
        .post_incident_update(
            incident.id,
            new_update(None, "web too", &[hold(web.id, DegradedPerformance)]),
            &actor(),
        )
        .await
        .expect("post update naming another component");
    let affected_only = ComponentChange {
        component_id: api.id,
        status: None,
    };
    let still = store
        .post_incident_update(
            incident.id,
            new_update(None, "still affected", &[affected_only]),
            &actor(),
        )
        .await
        .expect("post update naming api without a status");
    assert_eq!(
        still
            .components
            .iter()
            .find(|c| c.component_id == api.id)
            .map(|c| c.status),
        Some(Some(MajorOutage)),
        "naming a component without a status keeps the status the incident holds"
    );
    let api_now = store.get_component(api.id).await.expect("get api");
    assert_eq!(api_now.status, Operational, "still pinned");
    assert!(api_now.status_pinned);
    assert_eq!(status_of(store, web.id).await, DegradedPerformance);

    // An update naming the component with a status ends the pin.
    clock.advance(Duration::minutes(1));
    let named = store
        .post_incident_update(
            incident.id,
            new_update(None, "partial now", &[hold(api.id, PartialOutage)]),
            &actor(),
        )
        .await
        .expect("post update naming api");
    let api_now = store.get_component(api.id).await.expect("get api");
    assert_eq!(
        api_now.status, PartialOutage,
        "the update's status applies again"
    );
    assert!(!api_now.status_pinned, "naming the component ends the pin");
    assert_eq!(
        affected_map(&named.updates[0]),
        BTreeMap::from([(api.id, (Operational, PartialOutage))])
    );

    // Pin again, then resolve: with no holds left the pin lapses and the hand-set status stays.
    clock.advance(Duration::minutes(1));
    let repinned = store
        .update_component(
            api.id,
            ComponentPatch {
                status: Some(DegradedPerformance),
                ..Default::default()
            },
            &actor(),
        )
        .await
        .expect("hand-set degraded while held");
    assert_eq!(repinned.status, DegradedPerformance);
    assert!(repinned.status_pinned);
    clock.advance(Duration::minutes(1));
    store
        .resolve_incident(incident.id, None, &actor())
        .await
        .expect("resolve");
    let api_now = store.get_component(api.id).await.expect("get api");
    assert_eq!(api_now.status, DegradedPerformance);
    assert!(!api_now.status_pinned, "the pin lapses with the last hold");
    assert_eq!(status_of(store, web.id).await, Operational);
    assert_eq!(
        history(store, api.id).await,
        [
            (None, Operational),
            (Some(Operational), MajorOutage),
            (Some(MajorOutage), Operational),
            (Some(Operational), PartialOutage),
            (Some(PartialOutage), DegradedPerformance),
        ]
    );

    // Hand-setting a status with no holds never pins, even right after a pin lapsed.
    let later = store
        .update_component(
            api.id,
            ComponentPatch {
                status: Some(Operational),
                ..Default::default()
            },
            &actor(),
        )
        .await
        .expect("hand-set operational");
    assert!(!later.status_pinned);
    let again = store
        .create_incident(
            new_incident("again", &[hold(api.id, MajorOutage)]),
            &actor(),
        )
        .await
        .expect("open another incident");
    assert_eq!(
        status_of(store, api.id).await,
        MajorOutage,
        "a lapsed pin does not hide a new hold"
    );
    store
        .resolve_incident(again.id, None, &actor())
        .await
        .expect("resolve");
}

/// An active maintenance holds `under_maintenance`; an outage wins over it; the window's end
/// restores the components, and history shows each change.
pub async fn status_rule_maintenance_and_outage(store: &dyn Store, clock: &ManualClock) {
    use ComponentStatus::{MajorOutage, Operational, UnderMaintenance};
    let api = component(store, "API").await;
    let web = component(store, "Web").await;
    let start = after(clock, Duration::hours(1));
    let end = after(clock, Duration::hours(3));
    let window = store
        .create_maintenance(
            new_maintenance("upgrade", start, end, &[api.id, web.id]),
            &actor(),
        )
        .await
        .expect("schedule maintenance");
    assert_eq!(window.status, MaintenanceStatus::Scheduled);
    assert_eq!(
        store
            .advance_maintenances(clock.now())
            .await
            .expect("advance"),
        0,
        "nothing is due yet"
    );
    assert_eq!(
        status_of(store, api.id).await,
        Operational,
        "a scheduled window holds nothing"
    );

    clock.set(start);
    assert_eq!(
        store
            .advance_maintenances(clock.now())
            .await
            .expect("advance"),
        1
    );
    assert_eq!(status_of(store, api.id).await, UnderMaintenance);
    assert_eq!(status_of(store, web.id).await, UnderMaintenance);

    clock.advance(Duration::minutes(10));
    let incident = store
        .create_incident(
            new_incident("outage during maintenance", &[hold(api.id, MajorOutage)]),
            &actor(),
        )
        .await
        .expect("open incident");
    assert_eq!(
        status_of(store, api.id).await,
        MajorOutage,
        "an outage wins over maintenance"
    );
    assert_eq!(status_of(store, web.id).await, UnderMaintenance);
    clock.advance(Duration::minutes(10));
    store
        .resolve_incident(incident.id, None, &actor())
        .await
        .expect("resolve");
    assert_eq!(
        status_of(store, api.id).await,
        UnderMaintenance,
        "the maintenance still holds"
    );

    // A hand-set status while the maintenance holds pins too.
    let pinned = store
        .update_component(
            web.id,
            ComponentPatch {
                status: Some(Operational),
                ..Default::default()
            },
            &actor(),
        )
        .await
        .expect("hand-set web during maintenance");
    assert_eq!(pinned.status, Operational);
    assert!(pinned.status_pinned);

    clock.set(end);
    assert_eq!(
        store
            .advance_maintenances(clock.now())
            .await
            .expect("advance"),
        1
    );
    assert_eq!(
        status_of(store, api.id).await,
        Operational,
        "the window's end restores"
    );
    let web_now = store.get_component(web.id).await.expect("get web");
    assert_eq!(web_now.status, Operational);
    assert!(!web_now.status_pinned, "the pin lapses with the window");
    assert_eq!(
        store
            .advance_maintenances(clock.now())
            .await
            .expect("advance"),
        0,
        "nothing left to do"
    );
    assert_eq!(
        history(store, api.id).await,
        [
            (None, Operational),
            (Some(Operational), UnderMaintenance),
            (Some(UnderMaintenance), MajorOutage),
            (Some(MajorOutage), UnderMaintenance),
            (Some(UnderMaintenance), Operational),
        ]
    );
    assert_eq!(
        history(store, web.id).await,
        [
            (None, Operational),
            (Some(Operational), UnderMaintenance),
            (Some(UnderMaintenance), Operational)
        ]
    );
}

/// An incident's life: open, updates (newest first, with affected components), monitoring
/// time set once, edits, renaming, resolution, and the refusals after it.
pub async fn incident_lifecycle(store: &dyn Store, clock: &ManualClock) {
    use ComponentStatus::{MajorOutage, Operational, PartialOutage};
    let api = component(store, "API").await;
    let opened_at = clock.now();
    let incident = store
        .create_incident(
            new_incident("API down", &[hold(api.id, MajorOutage)]),
            &actor(),
        )
        .await
        .expect("open incident");
    assert_eq!(incident.name, "API down");
    assert_eq!(incident.status, IncidentStatus::Investigating);
    assert_eq!(
        incident.impact,
        IncidentImpact::Critical,
        "major_outage derives critical"
    );
    assert_eq!(incident.source, manual());
    assert_eq!(incident.started_at, opened_at, "started now when not given");
    assert_eq!(incident.created_at, opened_at);
    assert_eq!(incident.monitoring_at, None);
    assert_eq!(incident.resolved_at, None);
    assert_eq!(incident.postmortem, None);
    assert_eq!(incident.short_id.len(), 12, "short ids have 12 characters");
    assert_eq!(incident.updates.len(), 1, "opening posts the first update");
    let opening = &incident.updates[0];
    assert_eq!(opening.status, IncidentStatus::Investigating);
    assert_eq!(opening.body, "API down: investigating");
    assert_eq!(opening.edit_count, 0);
    assert_eq!(opening.created_at, opened_at);
    assert_eq!(
        opening.affected_components,
        [AffectedComponent {
            component_id: api.id,
            name: "API".into(),
            old_status: Operational,
            new_status: MajorOutage
        }]
    );
    assert_eq!(
        store.get_incident(incident.id).await.expect("get incident"),
        incident
    );
    assert_eq!(
        store
            .get_incident_by_short_id(&incident.short_id)
            .await
            .expect("get by short id"),
        incident
    );
    expect_not_found(
        store,
        "unknown short id",
        store.get_incident_by_short_id("zzzzzzzzzzzz"),
    )
    .await;
    expect_not_found(
        store,
        "unknown incident",
        store.get_incident(IncidentId::new()),
    )
    .await;

    clock.advance(Duration::minutes(5));
    let identified = store
        .post_incident_update(
            incident.id,
            new_update(
                Some(IncidentStatus::Identified),
                "a bad deploy",
                &[hold(api.id, PartialOutage)],
            ),
            &actor(),
        )
        .await
        .expect("post identified");
    assert_eq!(identified.status, IncidentStatus::Identified);
    assert_eq!(identified.updated_at, clock.now());
    assert_eq!(identified.updates.len(), 2);
    assert_eq!(
        identified.updates[0].body, "a bad deploy",
        "updates are newest first"
    );
    assert_eq!(identified.updates[1].body, "API down: investigating");
    assert_eq!(
        identified.updates[0].affected_components[0].old_status,
        MajorOutage
    );
    assert_eq!(
        identified.updates[0].affected_components[0].new_status,
        PartialOutage
    );
    assert_eq!(status_of(store, api.id).await, PartialOutage);

    clock.advance(Duration::minutes(5));
    let monitoring_at = clock.now();
    let monitoring = store
        .post_incident_update(
            incident.id,
            new_update(Some(IncidentStatus::Monitoring), "fix deployed", &[]),
            &actor(),
        )
        .await
        .expect("post monitoring");
    assert_eq!(monitoring.status, IncidentStatus::Monitoring);
    assert_eq!(monitoring.monitoring_at, Some(monitoring_at));
    assert!(
        monitoring.updates[0].affected_components.is_empty(),
        "no components named"
    );
    clock.advance(Duration::minutes(5));
    let status_kept = store
        .post_incident_update(
            incident.id,
            new_update(None, "still watching", &[]),
            &actor(),
        )
        .await
        .expect("post update without a status");
    assert_eq!(
        status_kept.status,
        IncidentStatus::Monitoring,
        "no status: unchanged"
    );
    assert_eq!(status_kept.updates[0].status, IncidentStatus::Monitoring);
    store
        .post_incident_update(
            incident.id,
            new_update(Some(IncidentStatus::Identified), "relapse", &[]),
            &actor(),
        )
        .await
        .expect("back to identified");
    clock.advance(Duration::minutes(5));
    let again = store
        .post_incident_update(
            incident.id,
            new_update(Some(IncidentStatus::Monitoring), "fixed again", &[]),
            &actor(),
        )
        .await
        .expect("monitoring again");
    assert_eq!(
        again.monitoring_at,
        Some(monitoring_at),
        "monitoring_at is set once"
    );
    assert_eq!(again.updates.len(), 6);
    let created: Vec<Timestamp> = again.updates.iter().map(|u| u.created_at).collect();
    assert!(
        created.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {created:?}"
    );

    expect_invalid(
        store,
        "an update cannot set postmortem",
        store.post_incident_update(
            incident.id,
            new_update(Some(IncidentStatus::Postmortem), "no", &[]),
            &actor(),
        ),
    )
    .await;
    expect_invalid(
        store,
        "an update naming an unknown component",
        store.post_incident_update(
            incident.id,
            new_update(None, "who?", &[hold(ComponentId::new(), MajorOutage)]),
            &actor(),
        ),
    )
    .await;
    expect_not_found(
        store,
        "an update to an unknown incident",
        store.post_incident_update(IncidentId::new(), new_update(None, "?", &[]), &actor()),
    )
    .await;

    // Editing keeps the update's place and time, changes its body and counts the edits.
    clock.advance(Duration::minutes(1));
    let first_update = again.updates.last().expect("first update").clone();
    let edited = store
        .edit_incident_update(
            incident.id,
            first_update.id,
            "API is down (edited)".into(),
            &actor(),
        )
        .await
        .expect("edit update");
    let edited_update = edited
        .updates
        .iter()
        .find(|u| u.id == first_update.id)
        .expect("edited update");
    assert_eq!(edited_update.body, "API is down (edited)");
    assert_eq!(edited_update.edit_count, 1);
    assert_eq!(edited_update.created_at, first_update.created_at);
    assert_eq!(edited_update.updated_at, clock.now());
    assert_eq!(
        edited_update.affected_components,
        first_update.affected_components
    );
    assert_eq!(
        edited.updates.last().map(|u| u.id),
        Some(first_update.id),
        "an edit does not reorder"
    );
    let edited = store
        .edit_incident_update(
            incident.id,
            first_update.id,
            "API was down".into(),
            &actor(),
        )
        .await
        .expect("edit update again");
    let edited_update = edited
        .updates
        .iter()
        .find(|u| u.id == first_update.id)
        .expect("edited update");
    assert_eq!(edited_update.edit_count, 2);
    assert_eq!(edited_update.body, "API was down");
    expect_not_found(
        store,
        "edit an unknown update",
        store.edit_incident_update(incident.id, IncidentUpdateId::new(), "x".into(), &actor()),
    )
    .await;
    let other = store
        .create_incident(new_incident("other", &[]), &actor())
        .await
        .expect("open other incident");
    expect_not_found(
        store,
        "edit another incident's update",
        store.edit_incident_update(incident.id, other.updates[0].id, "x".into(), &actor()),
    )
    .await;

    let renamed = store
        .update_incident(
            incident.id,
            IncidentPatch {
                name: Some("API outage".into()),
                impact: Some(IncidentImpact::Major),
            },
            &actor(),
        )
        .await
        .expect("update incident");
    assert_eq!(renamed.name, "API outage");
    assert_eq!(renamed.impact, IncidentImpact::Major);
    assert_eq!(
        renamed.status,
        IncidentStatus::Monitoring,
        "renaming keeps the status"
    );
    assert_eq!(renamed.updates.len(), 6, "renaming posts no update");
    let impact_only = store
        .update_incident(
            incident.id,
            IncidentPatch {
                impact: Some(IncidentImpact::Minor),
                ..Default::default()
            },
            &actor(),
        )
        .await
        .expect("update impact");
    assert_eq!(
        impact_only.name, "API outage",
        "an absent name is unchanged"
    );
    assert_eq!(impact_only.impact, IncidentImpact::Minor);
    let via_update = store
        .post_incident_update(
            incident.id,
            NewIncidentUpdate {
                impact: Some(IncidentImpact::Critical),
                ..new_update(None, "worse", &[])
            },
            &actor(),
        )
        .await
        .expect("update with impact");
    assert_eq!(
        via_update.impact,
        IncidentImpact::Critical,
        "an update may change the impact"
    );
    expect_not_found(
        store,
        "update an unknown incident",
        store.update_incident(IncidentId::new(), IncidentPatch::default(), &actor()),
    )
    .await;

    clock.advance(Duration::minutes(5));
    let resolved = store
        .resolve_incident(incident.id, Some("All good.".into()), &actor())
        .await
        .expect("resolve");
    assert_eq!(resolved.status, IncidentStatus::Resolved);
    assert_eq!(resolved.resolved_at, Some(clock.now()));
    assert_eq!(resolved.updates[0].status, IncidentStatus::Resolved);
    assert_eq!(resolved.updates[0].body, "All good.");
    assert_eq!(
        affected_map(&resolved.updates[0]),
        BTreeMap::from([(api.id, (PartialOutage, Operational))])
    );
    assert_eq!(status_of(store, api.id).await, Operational);

    clock.advance(Duration::minutes(1));
    expect_conflict(
        store,
        "already_resolved",
        "resolve twice",
        store.resolve_incident(incident.id, None, &actor()),
    )
    .await;
    expect_conflict(
        store,
        "incident_resolved",
        "update a resolved incident",
        store.post_incident_update(
            incident.id,
            new_update(None, "late", &[hold(api.id, MajorOutage)]),
            &actor(),
        ),
    )
    .await;
    assert_eq!(
        store.get_incident(incident.id).await.expect("get"),
        resolved,
        "refusals change nothing"
    );
    assert_eq!(status_of(store, api.id).await, Operational);
    expect_not_found(
        store,
        "resolve an unknown incident",
        store.resolve_incident(IncidentId::new(), None, &actor()),
    )
    .await;

    // Resolving through an update works like resolve_incident, with the default body only there.
    let via_status = store
        .post_incident_update(
            other.id,
            new_update(Some(IncidentStatus::Resolved), "done", &[]),
            &actor(),
        )
        .await
        .expect("resolve through an update");
    assert_eq!(via_status.status, IncidentStatus::Resolved);
    assert_eq!(via_status.resolved_at, Some(clock.now()));
    let third = store
        .create_incident(new_incident("third", &[]), &actor())
        .await
        .expect("open");
    let default_body = store
        .resolve_incident(third.id, None, &actor())
        .await
        .expect("resolve");
    assert!(
        !default_body.updates[0].body.is_empty(),
        "a resolution without a body gets a default one"
    );
}

/// Impact derived from the worst status set when absent, an explicit impact kept, the source
/// and start time kept, and incidents opened already resolved holding nothing.
pub async fn incident_impact_and_source(store: &dyn Store, clock: &ManualClock) {
    use ComponentStatus::{
        DegradedPerformance, MajorOutage, Operational, PartialOutage, UnderMaintenance,
    };
    let api = component(store, "API").await;
    let web = component(store, "Web").await;
    let cases: [(&[ComponentChange], IncidentImpact); 6] = [
        (
            &[hold(api.id, MajorOutage), hold(web.id, DegradedPerformance)],
            IncidentImpact::Critical,
        ),
        (
            &[
                hold(api.id, PartialOutage),
                hold(web.id, DegradedPerformance),
            ],
            IncidentImpact::Major,
        ),
        (&[hold(api.id, DegradedPerformance)], IncidentImpact::Minor),
        (&[hold(api.id, Operational)], IncidentImpact::None),
        (&[hold(api.id, UnderMaintenance)], IncidentImpact::None),
        (&[], IncidentImpact::None),
    ];
    for (changes, impact) in cases {
        let incident = store
            .create_incident(new_incident("derived", changes), &actor())
            .await
            .expect("open incident");
        assert_eq!(incident.impact, impact, "impact derived from {changes:?}");
        store
            .delete_incident(incident.id, &actor())
            .await
            .expect("delete");
    }
    let explicit = store
        .create_incident(
            NewIncident {
                impact: Some(IncidentImpact::Minor),
                ..new_incident("explicit", &[hold(api.id, MajorOutage)])
            },
            &actor(),
        )
        .await
        .expect("open with explicit impact");
    assert_eq!(
        explicit.impact,
        IncidentImpact::Minor,
        "an explicit impact wins"
    );
    store
        .delete_incident(explicit.id, &actor())
        .await
        .expect("delete");

    let began = Timestamp::from_datetime(clock.now().0 - Duration::minutes(7));
    let detected = store
        .create_incident(
            NewIncident {
                source: IncidentSource {
                    kind: SourceKind::Monitor,
                    reference: Some("monitor-42".into()),
                },
                started_at: Some(began),
                status: IncidentStatus::Identified,
                ..new_incident("detected", &[hold(web.id, PartialOutage)])
            },
            &actor(),
        )
        .await
        .expect("open from a monitor");
    assert_eq!(detected.source.kind, SourceKind::Monitor);
    assert_eq!(detected.source.reference.as_deref(), Some("monitor-42"));
    assert_eq!(detected.started_at, began, "a given start time is kept");
    assert_eq!(detected.created_at, clock.now());
    assert_eq!(detected.status, IncidentStatus::Identified);
    let monitoring = store
        .create_incident(
            NewIncident {
                status: IncidentStatus::Monitoring,
                ..new_incident("monitoring", &[])
            },
            &actor(),
        )
        .await
        .expect("open in monitoring");
    assert_eq!(
        monitoring.monitoring_at,
        Some(clock.now()),
        "opened in monitoring: monitoring_at set"
    );

    // A retrospective incident, opened resolved, records history but holds nothing.
    let retro = store
        .create_incident(
            NewIncident {
                status: IncidentStatus::Resolved,
                ..new_incident("yesterday", &[hold(api.id, MajorOutage)])
            },
            &actor(),
        )
        .await
        .expect("open resolved");
    assert_eq!(retro.resolved_at, Some(clock.now()));
    assert_eq!(
        status_of(store, api.id).await,
        Operational,
        "a resolved incident holds nothing"
    );

    expect_invalid(
        store,
        "open in postmortem",
        store.create_incident(
            NewIncident {
                status: IncidentStatus::Postmortem,
                ..new_incident("pm", &[])
            },
            &actor(),
        ),
    )
    .await;
    expect_invalid(
        store,
        "open naming an unknown component",
        store.create_incident(
            new_incident("ghost", &[hold(ComponentId::new(), MajorOutage)]),
            &actor(),
        ),
    )
    .await;
    assert_eq!(status_of(store, web.id).await, PartialOutage);
}

/// Postmortems: a draft on an open incident, no publishing before resolution, publishing after
/// it (status `postmortem`, publication time kept on later edits).
pub async fn incident_postmortem(store: &dyn Store, clock: &ManualClock) {
    let incident = store
        .create_incident(new_incident("db", &[]), &actor())
        .await
        .expect("open");
    expect_conflict(
        store,
        "incident_open",
        "publish a postmortem on an open incident",
        store.set_postmortem(
            incident.id,
            PostmortemInput {
                body: "too soon".into(),
                publish: true,
            },
            &actor(),
        ),
    )
    .await;
    assert_eq!(
        store
            .get_incident(incident.id)
            .await
            .expect("get")
            .postmortem,
        None
    );

    clock.advance(Duration::minutes(1));
    let draft = store
        .set_postmortem(
            incident.id,
            PostmortemInput {
                body: "draft".into(),
                publish: false,
            },
            &actor(),
        )
        .await
        .expect("save a draft on an open incident");
    let postmortem = draft.postmortem.clone().expect("postmortem saved");
    assert_eq!(postmortem.body, "draft");
    assert_eq!(postmortem.published_at, None, "a draft is not published");
    assert_eq!(postmortem.updated_at, clock.now());
    assert_eq!(
        draft.status,
        IncidentStatus::Investigating,
        "a draft does not change the status"
    );

    clock.advance(Duration::minutes(1));
    store
        .resolve_incident(incident.id, None, &actor())
        .await
        .expect("resolve");
    clock.advance(Duration::minutes(1));
    let published_at = clock.now();
    let published = store
        .set_postmortem(
            incident.id,
            PostmortemInput {
                body: "what happened".into(),
                publish: true,
            },
            &actor(),
        )
        .await
        .expect("publish");
    assert_eq!(published.status, IncidentStatus::Postmortem);
    let postmortem = published.postmortem.clone().expect("postmortem");
    assert_eq!(postmortem.body, "what happened");
    assert_eq!(postmortem.published_at, Some(published_at));
    assert!(published.resolved_at.is_some(), "still resolved");

    clock.advance(Duration::minutes(1));
    let revised = store
        .set_postmortem(
            incident.id,
            PostmortemInput {
                body: "what happened, revised".into(),
                publish: true,
            },
            &actor(),
        )
        .await
        .expect("publish a revision");
    let postmortem = revised.postmortem.clone().expect("postmortem");
    assert_eq!(postmortem.body, "what happened, revised");
    assert_eq!(
        postmortem.published_at,
        Some(published_at),
        "the first publication time is kept"
    );
    assert_eq!(postmortem.updated_at, clock.now());
    assert_eq!(store.get_incident(incident.id).await.expect("get"), revised);

    expect_conflict(
        store,
        "already_resolved",
        "resolve an incident in postmortem",
        store.resolve_incident(incident.id, None, &actor()),
    )
    .await;
    expect_conflict(
        store,
        "incident_resolved",
        "update an incident in postmortem",
        store.post_incident_update(incident.id, new_update(None, "late", &[]), &actor()),
    )
    .await;
    expect_not_found(
        store,
        "postmortem of an unknown incident",
        store.set_postmortem(
            IncidentId::new(),
            PostmortemInput {
                body: "x".into(),
                publish: false,
            },
            &actor(),
        ),
    )
    .await;
    let listed = store
        .list_incidents(IncidentFilter { open: Some(false) }, PageRequest::first(10))
        .await
        .expect("list closed");
    assert_eq!(
        listed.items,
        vec![revised],
        "an incident in postmortem is closed"
    );
}

/// Deleting an incident releases its holds and announces both.
pub async fn incident_delete_releases_holds(store: &dyn Store, clock: &ManualClock) {
    use ComponentStatus::{DegradedPerformance, MajorOutage, Operational};
    let api = component(store, "API").await;
    let web = component(store, "Web").await;
    let keep = store
        .create_incident(
            new_incident("keep", &[hold(web.id, DegradedPerformance)]),
            &actor(),
        )
        .await
        .expect("open");
    let incident = store
        .create_incident(
            new_incident(
                "mistake",
                &[hold(api.id, MajorOutage), hold(web.id, MajorOutage)],
            ),
            &actor(),
        )
        .await
        .expect("open");
    assert_eq!(status_of(store, api.id).await, MajorOutage);
    clock.advance(Duration::minutes(1));
    let before = seq(store).await;
    store
        .delete_incident(incident.id, &actor())
        .await
        .expect("delete incident");
    let events = events_after(store, before).await;
    assert_eq!(
        events.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(),
        [
            "incident.deleted",
            "component.status_changed",
            "component.status_changed"
        ]
    );
    assert_eq!(events[0].subject_id, Some(incident.id.to_string()));
    assert_eq!(
        status_of(store, api.id).await,
        Operational,
        "the deleted incident's hold is gone"
    );
    assert_eq!(
        status_of(store, web.id).await,
        DegradedPerformance,
        "other holds stay"
    );
    expect_not_found(
        store,
        "get a deleted incident",
        store.get_incident(incident.id),
    )
    .await;
    expect_not_found(
        store,
        "get a deleted incident by short id",
        store.get_incident_by_short_id(&incident.short_id),
    )
    .await;
    expect_not_found(
        store,
        "delete twice",
        store.delete_incident(incident.id, &actor()),
    )
    .await;
    let listed = store
        .list_incidents(IncidentFilter::default(), PageRequest::first(10))
        .await
        .expect("list");
    assert_eq!(
        listed.items.iter().map(|i| i.id).collect::<Vec<_>>(),
        [keep.id]
    );

    store
        .resolve_incident(keep.id, None, &actor())
        .await
        .expect("resolve");
    store
        .delete_incident(keep.id, &actor())
        .await
        .expect("delete a resolved incident");
    assert_eq!(status_of(store, web.id).await, Operational);
}

/// `list_incidents`: newest first, the open filter, pagination without duplicates or omissions,
/// and the same incidents as `get_incident` returns.
pub async fn incident_listing(store: &dyn Store, clock: &ManualClock) {
    let api = component(store, "API").await;
    let mut created = Vec::new();
    for i in 0..7 {
        clock.advance(Duration::minutes(1));
        let changes = [hold(api.id, ComponentStatus::PartialOutage)];
        let incident = store
            .create_incident(
                new_incident(
                    &format!("incident {i}"),
                    if i % 2 == 0 { &changes } else { &[] },
                ),
                &actor(),
            )
            .await
            .expect("open");
        created.push(incident.id);
    }
    for id in [created[1], created[4], created[5]] {
        store
            .resolve_incident(id, None, &actor())
            .await
            .expect("resolve");
    }
    let newest_first: Vec<IncidentId> = created.iter().rev().copied().collect();
    let open: Vec<IncidentId> = newest_first
        .iter()
        .filter(|id| ![created[1], created[4], created[5]].contains(id))
        .copied()
        .collect();
    let closed: Vec<IncidentId> = newest_first
        .iter()
        .filter(|id| !open.contains(id))
        .copied()
        .collect();
    for limit in [1, 2, 3, 7, 8] {
        for (filter, expected) in [
            (None, &newest_first),
            (Some(true), &open),
            (Some(false), &closed),
        ] {
            let listed = all_pages("list_incidents", limit, |p| {
                store.list_incidents(IncidentFilter { open: filter }, p)
            })
            .await;
            assert_eq!(
                listed.iter().map(|i| i.id).collect::<Vec<_>>(),
                *expected,
                "list_incidents(open: {filter:?}, limit {limit}): newest first, each once"
            );
            for incident in &listed {
                assert_eq!(
                    incident,
                    &store.get_incident(incident.id).await.expect("get"),
                    "a listed incident is complete (components and updates)"
                );
            }
        }
    }
    for cursor in ["not a cursor!".to_string(), bad_cursors()[1].clone()] {
        let request = PageRequest {
            limit: 2,
            cursor: Some(cursor.clone()),
        };
        expect_invalid(
            store,
            &format!("list_incidents with cursor {cursor:?}"),
            store.list_incidents(IncidentFilter::default(), request),
        )
        .await;
    }
}

/// The history pages' read: incidents by when they started and maintenances by when they were
/// scheduled to begin, within a window (its start included, its end not), latest first,
/// complete, at most `limit` of each, and where the whole history begins.
pub async fn history_window(store: &dyn Store, clock: &ManualClock) {
    let at = |text: &str| Timestamp::parse(text).expect("a time");
    let (from, until) = (at("2026-03-01T00:00:00Z"), at("2026-04-01T00:00:00Z"));
    assert_eq!(
        store.history_window(from, until, 10).await.expect("read"),
        HistoryWindow::default(),
        "an empty page has no history and no beginning"
    );

    let api = component(store, "API").await;
    clock.set(at("2026-02-01T00:00:00Z"));
    let mut windows = BTreeMap::new();
    for (name, start) in [
        ("before", "2026-02-28T23:00:00Z"),
        ("early", "2026-03-10T08:00:00Z"),
        ("late", "2026-03-31T23:00:00Z"),
        ("after", "2026-04-01T00:00:00Z"),
    ] {
        let m = store
            .create_maintenance(
                new_maintenance(name, at(start), after(clock, Duration::days(70)), &[api.id]),
                &actor(),
            )
            .await
            .expect("schedule");
        windows.insert(name, m.id);
    }
    let mut incidents = BTreeMap::new();
    for (name, opened, started) in [
        ("february", "2026-02-28T23:59:59Z", None),
        ("first", "2026-03-01T00:00:00Z", None),
        ("middle", "2026-03-15T12:00:00Z", None),
        ("last", "2026-03-31T23:59:59Z", None),
        ("april", "2026-04-01T00:00:00Z", None),
        // Opened in April about a problem that began in March: it belongs to March.
        (
            "backdated",
            "2026-04-10T00:00:00Z",
            Some("2026-03-20T00:00:00Z"),
        ),
    ] {
        clock.set(at(opened));
        let mut input = new_incident(name, &[hold(api.id, ComponentStatus::PartialOutage)]);
        input.started_at = started.map(at);
        let incident = store.create_incident(input, &actor()).await.expect("open");
        incidents.insert(name, incident.id);
    }
    clock.set(at("2026-05-01T00:00:00Z"));
    for id in incidents.values() {
        store
            .resolve_incident(*id, Some("Fixed.".into()), &actor())
            .await
            .expect("resolve");
    }

    let march = store.history_window(from, until, 10).await.expect("read");
    assert_eq!(
        march.incidents.iter().map(|i| i.id).collect::<Vec<_>>(),
        ["last", "backdated", "middle", "first"].map(|n| incidents[n]),
        "incidents that started in March, latest first"
    );
    for incident in &march.incidents {
        assert_eq!(
            incident,
            &store.get_incident(incident.id).await.expect("get"),
            "a listed incident is complete (components and updates)"
        );
    }
    assert_eq!(
        march.maintenances.iter().map(|m| m.id).collect::<Vec<_>>(),
        [windows["late"], windows["early"]],
        "maintenances scheduled to begin in March, latest first"
    );
    for m in &march.maintenances {
        assert_eq!(
            m,
            &store.get_maintenance(m.id).await.expect("get"),
            "a listed maintenance is complete"
        );
    }
    assert_eq!(
        march.earliest,
        Some(at("2026-02-28T23:00:00Z")),
        "the history begins with the earliest maintenance or incident"
    );

    let limited = store.history_window(from, until, 1).await.expect("read");
    assert_eq!(limited.incidents.len(), 1, "at most `limit` incidents");
    assert_eq!(limited.incidents[0].id, incidents["last"]);
    assert_eq!(
        limited.maintenances.len(),
        1,
        "at most `limit` maintenances"
    );
    assert_eq!(limited.maintenances[0].id, windows["late"]);

    let quiet = store
        .history_window(at("2025-01-01T00:00:00Z"), at("2025-02-01T00:00:00Z"), 10)
        .await
        .expect("read");
    assert!(quiet.incidents.is_empty() && quiet.maintenances.is_empty());
    assert_eq!(
        quiet.earliest, march.earliest,
        "a quiet month still knows the beginning"
    );
}

/// A maintenance's life through `update_maintenance`: edits, starting by hand, verifying,
/// completing, changing components while active, and cancelling.
pub async fn maintenance_lifecycle(store: &dyn Store, clock: &ManualClock) {
    use ComponentStatus::{Operational, UnderMaintenance};
    let api = component(store, "API").await;
    let web = component(store, "Web").await;
    let db = component(store, "DB").await;
    let scheduled_for = after(clock, Duration::hours(2));
    let scheduled_until = after(clock, Duration::hours(4));
    let created = store
        .create_maintenance(
            NewMaintenance {
                body: Some("We will upgrade the database.".into()),
                ..new_maintenance("upgrade", scheduled_for, scheduled_until, &[api.id, web.id])
            },
            &actor(),
        )
        .await
        .expect("schedule");
    assert_eq!(created.name, "upgrade");
    assert_eq!(created.status, MaintenanceStatus::Scheduled);
    assert_eq!(created.scheduled_for, scheduled_for);
    assert_eq!(created.scheduled_until, scheduled_until);
    assert!(created.auto_transition);
    assert_eq!(
        created
            .component_ids
            .iter()
            .copied()
            .collect::<BTreeSet<_>>(),
        BTreeSet::from([api.id, web.id])
    );
    assert_eq!(created.updates.len(), 1);
    assert_eq!(created.updates[0].status, MaintenanceStatus::Scheduled);
    assert_eq!(created.updates[0].body, "We will upgrade the database.");
    assert_eq!(created.started_at, None);
    assert_eq!(created.completed_at, None);
    assert_eq!(created.cancelled_at, None);
    assert_eq!(created.short_id.len(), 12);
    assert_eq!(
        store.get_maintenance(created.id).await.expect("get"),
        created
    );

    clock.advance(Duration::minutes(1));
    let later_until = after(clock, Duration::hours(5));
    let edited = store
        .update_maintenance(
            created.id,
            MaintenancePatch {
                name: Some("database upgrade".into()),
                scheduled_until: Some(later_until),
                body: Some("Extended by an hour.".into()),
                ..Default::default()
            },
            &actor(),
        )
        .await
        .expect("edit");
    assert_eq!(edited.name, "database upgrade");
    assert_eq!(edited.scheduled_until, later_until);
    assert_eq!(
        edited.scheduled_for, scheduled_for,
        "absent fields are unchanged"
    );
    assert_eq!(edited.status, MaintenanceStatus::Scheduled);
    assert_eq!(edited.updates.len(), 2);
    assert_eq!(
        edited.updates[0].body, "Extended by an hour.",
        "updates are newest first"
    );

    // Starting early by hand.
    clock.advance(Duration::minutes(1));
    let before = seq(store).await;
    let started = store
        .update_maintenance(
            created.id,
            MaintenancePatch {
                status: Some(MaintenanceStatus::InProgress),
                ..Default::default()
            },
            &actor(),
        )
        .await
        .expect("start by hand");
    assert_eq!(started.status, MaintenanceStatus::InProgress);
    assert_eq!(started.started_at, Some(clock.now()));
    assert_eq!(
        kinds_after(store, before).await,
        [
            "maintenance.started",
            "component.status_changed",
            "component.status_changed"
        ]
    );
    assert_eq!(status_of(store, api.id).await, UnderMaintenance);
    assert_eq!(status_of(store, web.id).await, UnderMaintenance);

    // Changing the components of an active window moves the holds.
    let moved = store
        .update_maintenance(
            created.id,
            MaintenancePatch {
                component_ids: Some(vec![web.id, db.id]),
                ..Default::default()
            },
            &actor(),
        )
        .await
        .expect("change components");
    assert_eq!(
        moved.component_ids.iter().copied().collect::<BTreeSet<_>>(),
        BTreeSet::from([web.id, db.id])
    );
    assert_eq!(
        status_of(store, api.id).await,
        Operational,
        "removed from the window: released"
    );
    assert_eq!(status_of(store, web.id).await, UnderMaintenance);
    assert_eq!(
        status_of(store, db.id).await,
        UnderMaintenance,
        "added to the window: held"
    );

    let verifying = store
        .update_maintenance(
            created.id,
            MaintenancePatch {
                status: Some(MaintenanceStatus::Verifying),
                ..Default::default()
            },
            &actor(),
        )
        .await
        .expect("verify");
    assert_eq!(verifying.status, MaintenanceStatus::Verifying);
    assert_eq!(
        verifying.started_at, started.started_at,
        "started_at is set once"
    );
    assert_eq!(
        status_of(store, db.id).await,
        UnderMaintenance,
        "verifying still holds"
    );

    clock.advance(Duration::minutes(1));
    let before = seq(store).await;
    let completed = store
        .update_maintenance(
            created.id,
            MaintenancePatch {
                status: Some(MaintenanceStatus::Completed),
                ..Default::default()
            },
            &actor(),
        )
        .await
        .expect("complete by hand");
    assert_eq!(completed.status, MaintenanceStatus::Completed);
    assert_eq!(completed.completed_at, Some(clock.now()));
    assert_eq!(completed.cancelled_at, None);
    assert_eq!(
        kinds_after(store, before).await,
        [
            "maintenance.completed",
            "component.status_changed",
            "component.status_changed"
        ]
    );
    assert_eq!(status_of(store, web.id).await, Operational);
    assert_eq!(status_of(store, db.id).await, Operational);
    let statuses: Vec<MaintenanceStatus> = completed.updates.iter().map(|u| u.status).collect();
    assert_eq!(
        statuses,
        [
            MaintenanceStatus::Completed,
            MaintenanceStatus::Verifying,
            MaintenanceStatus::InProgress,
            MaintenanceStatus::Scheduled,
            MaintenanceStatus::Scheduled,
        ],
        "each transition posts an update, newest first"
    );

    // Cancelling an active window restores its components; cancelling a scheduled one too.
    clock.advance(Duration::minutes(1));
    let running = store
        .create_maintenance(
            new_maintenance(
                "already begun",
                after(clock, -Duration::minutes(5)),
                after(clock, Duration::hours(1)),
                &[api.id],
            ),
            &actor(),
        )
        .await
        .expect("schedule a window that has begun");
    assert_eq!(
        running.status,
        MaintenanceStatus::InProgress,
        "a window that has begun starts at once"
    );
    assert_eq!(status_of(store, api.id).await, UnderMaintenance);
    clock.advance(Duration::minutes(1));
    let before = seq(store).await;
    let cancelled = store
        .cancel_maintenance(running.id, &actor())
        .await
        .expect("cancel");
    assert_eq!(
        cancelled.status,
        MaintenanceStatus::Completed,
        "a cancelled window is completed"
    );
    assert_eq!(cancelled.cancelled_at, Some(clock.now()));
    assert_eq!(cancelled.completed_at, Some(clock.now()));
    assert_eq!(
        kinds_after(store, before).await,
        ["maintenance.cancelled", "component.status_changed"]
    );
    assert_eq!(status_of(store, api.id).await, Operational);

    let future = store
        .create_maintenance(
            new_maintenance(
                "later",
                after(clock, Duration::days(1)),
                after(clock, Duration::days(2)),
                &[api.id],
            ),
            &actor(),
        )
        .await
        .expect("schedule");
    let cancelled = store
        .cancel_maintenance(future.id, &actor())
        .await
        .expect("cancel a scheduled window");
    assert_eq!(cancelled.status, MaintenanceStatus::Completed);
    assert_eq!(cancelled.cancelled_at, Some(clock.now()));
    clock.set(after(clock, Duration::days(3)));
    assert_eq!(
        store
            .advance_maintenances(clock.now())
            .await
            .expect("advance"),
        0,
        "a cancelled window stays done"
    );
    assert_eq!(status_of(store, api.id).await, Operational);

    // Without auto_transition, the window only moves by hand.
    let manual_window = store
        .create_maintenance(
            NewMaintenance {
                auto_transition: false,
                ..new_maintenance(
                    "by hand",
                    after(clock, Duration::minutes(1)),
                    after(clock, Duration::minutes(2)),
                    &[api.id],
                )
            },
            &actor(),
        )
        .await
        .expect("schedule");
    assert!(!manual_window.auto_transition);
    clock.advance(Duration::minutes(3));
    assert_eq!(
        store
            .advance_maintenances(clock.now())
            .await
            .expect("advance"),
        0
    );
    assert_eq!(
        store
            .get_maintenance(manual_window.id)
            .await
            .expect("get")
            .status,
        MaintenanceStatus::Scheduled
    );
}

/// What `update_maintenance`, `create_maintenance` and `cancel_maintenance` refuse, without
/// changing anything.
pub async fn maintenance_refusals(store: &dyn Store, clock: &ManualClock) {
    let api = component(store, "API").await;
    let start = after(clock, Duration::hours(1));
    let end = after(clock, Duration::hours(2));
    expect_invalid(
        store,
        "create a window that ends before it starts",
        store.create_maintenance(
            new_maintenance("backwards", end, start, &[api.id]),
            &actor(),
        ),
    )
    .await;
    expect_invalid(
        store,
        "create an empty window",
        store.create_maintenance(new_maintenance("empty", start, start, &[api.id]), &actor()),
    )
    .await;
    expect_invalid(
        store,
        "create a window over an unknown component",
        store.create_maintenance(
            new_maintenance("ghost", start, end, &[ComponentId::new()]),
            &actor(),
        ),
    )
    .await;
    let listed = store
        .list_maintenances(PageRequest::first(10))
        .await
        .expect("list");
    assert!(
        listed.items.is_empty(),
        "refused creations store nothing: {:?}",
        listed.items
    );

    let window = store
        .create_maintenance(new_maintenance("upgrade", start, end, &[api.id]), &actor())
        .await
        .expect("schedule");
    expect_invalid(
        store,
        "move the end before the start",
        store.update_maintenance(
            window.id,
            MaintenancePatch {
                scheduled_until: Some(start),
                ..Default::default()
            },
            &actor(),
        ),
    )
    .await;
    expect_invalid(
        store,
        "move the start after the end",
        store.update_maintenance(
            window.id,
            MaintenancePatch {
                scheduled_for: Some(after(clock, Duration::hours(3))),
                ..Default::default()
            },
            &actor(),
        ),
    )
    .await;
    expect_invalid(
        store,
        "name an unknown component",
        store.update_maintenance(
            window.id,
            MaintenancePatch {
                component_ids: Some(vec![ComponentId::new()]),
                ..Default::default()
            },
            &actor(),
        ),
    )
    .await;

    let started = store
        .update_maintenance(
            window.id,
            MaintenancePatch {
                status: Some(MaintenanceStatus::InProgress),
                ..Default::default()
            },
            &actor(),
        )
        .await
        .expect("start");
    clock.advance(Duration::minutes(1));
    expect_conflict(
        store,
        "invalid_transition",
        "go back to scheduled",
        store.update_maintenance(
            window.id,
            MaintenancePatch {
                name: Some("renamed in a refused patch".into()),
                component_ids: Some(vec![]),
                status: Some(MaintenanceStatus::Scheduled),
                ..Default::default()
            },
            &actor(),
        ),
    )
    .await;
    assert_eq!(
        store.get_maintenance(window.id).await.expect("get"),
        started,
        "a refused patch changes nothing"
    );
    assert_eq!(
        status_of(store, api.id).await,
        ComponentStatus::UnderMaintenance
    );

    store
        .update_maintenance(
            window.id,
            MaintenancePatch {
                status: Some(MaintenanceStatus::Completed),
                ..Default::default()
            },
            &actor(),
        )
        .await
        .expect("complete");
    let completed = store.get_maintenance(window.id).await.expect("get");
    expect_conflict(
        store,
        "maintenance_completed",
        "edit a completed window",
        store.update_maintenance(
            window.id,
            MaintenancePatch {
                name: Some("again".into()),
                ..Default::default()
            },
            &actor(),
        ),
    )
    .await;
    expect_conflict(
        store,
        "maintenance_completed",
        "cancel a completed window",
        store.cancel_maintenance(window.id, &actor()),
    )
    .await;
    assert_eq!(
        store.get_maintenance(window.id).await.expect("get"),
        completed
    );

    let unknown = MaintenanceId::new();
    expect_not_found(
        store,
        "get an unknown maintenance",
        store.get_maintenance(unknown),
    )
    .await;
    expect_not_found(
        store,
        "update an unknown maintenance",
        store.update_maintenance(unknown, MaintenancePatch::default(), &actor()),
    )
    .await;
    expect_not_found(
        store,
        "cancel an unknown maintenance",
        store.cancel_maintenance(unknown, &actor()),
    )
    .await;
}

/// A window that passed entirely while nothing advanced records both its start and its end.
pub async fn maintenance_window_passed_entirely(store: &dyn Store, clock: &ManualClock) {
    use ComponentStatus::{Operational, UnderMaintenance};
    let api = component(store, "API").await;
    let window = store
        .create_maintenance(
            new_maintenance(
                "overnight",
                after(clock, Duration::hours(1)),
                after(clock, Duration::hours(2)),
                &[api.id],
            ),
            &actor(),
        )
        .await
        .expect("schedule");
    clock.advance(Duration::hours(5));
    let before = seq(store).await;
    assert_eq!(
        store
            .advance_maintenances(clock.now())
            .await
            .expect("advance"),
        1
    );
    let events = events_after(store, before).await;
    assert_eq!(
        events.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(),
        [
            "maintenance.started",
            "maintenance.completed",
            "component.status_changed",
            "component.status_changed"
        ]
    );
    assert!(
        events.iter().all(|e| e.actor == "pharos"),
        "advancing is Pharos's own doing: {events:?}"
    );
    assert_eq!(events[0].subject_id, Some(window.id.to_string()));
    assert_eq!(events[1].subject_id, Some(window.id.to_string()));
    let done = store.get_maintenance(window.id).await.expect("get");
    assert_eq!(done.status, MaintenanceStatus::Completed);
    assert_eq!(done.started_at, Some(clock.now()));
    assert_eq!(done.completed_at, Some(clock.now()));
    assert_eq!(done.cancelled_at, None);
    assert_eq!(
        done.updates.iter().map(|u| u.status).collect::<Vec<_>>(),
        [
            MaintenanceStatus::Completed,
            MaintenanceStatus::InProgress,
            MaintenanceStatus::Scheduled
        ]
    );
    assert_eq!(status_of(store, api.id).await, Operational);
    assert_eq!(
        history(store, api.id).await,
        [
            (None, Operational),
            (Some(Operational), UnderMaintenance),
            (Some(UnderMaintenance), Operational)
        ]
    );
    assert_eq!(
        store
            .advance_maintenances(clock.now())
            .await
            .expect("advance"),
        0
    );

    // Created after its window has passed: it starts and ends at once.
    let past = store
        .create_maintenance(
            new_maintenance(
                "forgotten",
                after(clock, -Duration::hours(3)),
                after(clock, -Duration::hours(2)),
                &[api.id],
            ),
            &actor(),
        )
        .await
        .expect("schedule a past window");
    assert_eq!(past.status, MaintenanceStatus::Completed);
    assert!(past.started_at.is_some());
    assert_eq!(status_of(store, api.id).await, Operational);
}

/// `list_maintenances`: soonest first, paged without duplicates or omissions.
pub async fn maintenance_listing(store: &dyn Store, clock: &ManualClock) {
    let api = component(store, "API").await;
    let offsets = [5, 1, 3, 3, 8, 1, 2, 3];
    let mut created = Vec::new();
    for (i, hours) in offsets.into_iter().enumerate() {
        let start = after(clock, Duration::hours(hours));
        let end = after(clock, Duration::hours(hours + 1));
        created.push(
            store
                .create_maintenance(
                    new_maintenance(&format!("window {i}"), start, end, &[api.id]),
                    &actor(),
                )
                .await
                .expect("schedule"),
        );
    }
    let mut expected = created.clone();
    expected.sort_by_key(|m| (m.scheduled_for, m.id));
    for limit in [1, 2, 3, 8, 9] {
        let listed = all_pages("list_maintenances", limit, |p| store.list_maintenances(p)).await;
        assert_eq!(
            listed, expected,
            "list_maintenances with limit {limit}: soonest first, each once"
        );
    }
    for cursor in bad_cursors().into_iter().take(2) {
        let request = PageRequest {
            limit: 2,
            cursor: Some(cursor.clone()),
        };
        expect_invalid(
            store,
            &format!("list_maintenances with cursor {cursor:?}"),
            store.list_maintenances(request),
        )
        .await;
    }
}

/// The event log over a whole flow: gapless sequence numbers from 1, each write's kinds in
/// order (the change before its consequences), actor, time, subject and data, and paging.
pub async fn event_log_flow(store: &dyn Store, clock: &ManualClock) {
    assert_eq!(seq(store).await, 0, "a fresh store has an empty log");
    assert!(events_after(store, 0).await.is_empty());
    let mut expected: Vec<(&str, &str)> = Vec::new();
    const API: &str = "token:conformance";

    let group = store
        .create_group(
            NewGroup {
                name: "Core".into(),
                ..Default::default()
            },
            &actor(),
        )
        .await
        .expect("create group");
    expected.push(("component_group.created", API));
    let created = store
        .create_component(
            NewComponent {
                name: "API".into(),
                group_id: Some(group.id),
                ..Default::default()
            },
            &actor(),
        )
        .await
        .expect("create component");
    expected.push(("component.created", API));
    let first_events = events_after(store, 0).await;
    assert_eq!(
        first_events[0].data,
        serde_json::to_value(&group).expect("json"),
        "an event carries the resource"
    );
    assert_eq!(
        first_events[1].data,
        serde_json::to_value(&created).expect("json")
    );
    assert_eq!(first_events[0].subject_id, Some(group.id.to_string()));
    assert_eq!(first_events[0].actor, "token:conformance");
    assert_eq!(first_events[0].at, clock.now());

    clock.advance(Duration::minutes(1));
    let incident = store
        .create_incident(
            new_incident("outage", &[hold(created.id, ComponentStatus::MajorOutage)]),
            &actor(),
        )
        .await
        .expect("open");
    expected.extend([("incident.opened", API), ("component.status_changed", API)]);
    clock.advance(Duration::minutes(1));
    let updated = store
        .post_incident_update(
            incident.id,
            new_update(Some(IncidentStatus::Identified), "found", &[]),
            &actor(),
        )
        .await
        .expect("update");
    expected.push(("incident.update_posted", API));
    store
        .edit_incident_update(
            incident.id,
            updated.updates[0].id,
            "found it".into(),
            &actor(),
        )
        .await
        .expect("edit");
    expected.push(("incident.update_edited", API));
    store
        .update_incident(
            incident.id,
            IncidentPatch {
                name: Some("API outage".into()),
                ..Default::default()
            },
            &actor(),
        )
        .await
        .expect("rename");
    expected.push(("incident.updated", API));
    store
        .set_postmortem(
            incident.id,
            PostmortemInput {
                body: "draft".into(),
                publish: false,
            },
            &actor(),
        )
        .await
        .expect("draft");
    expected.push(("incident.postmortem_saved", API));
    clock.advance(Duration::minutes(1));
    store
        .resolve_incident(incident.id, None, &actor())
        .await
        .expect("resolve");
    expected.extend([
        ("incident.resolved", API),
        ("component.status_changed", API),
    ]);
    store
        .set_postmortem(
            incident.id,
            PostmortemInput {
                body: "final".into(),
                publish: true,
            },
            &actor(),
        )
        .await
        .expect("publish");
    expected.push(("incident.postmortem_published", API));
    store
        .create_token(
            TokenId::new(),
            "deploy",
            TokenScope::Write,
            "hash",
            &Actor::cli(),
        )
        .await
        .expect("create token");
    expected.push(("token.created", "cli"));
    store
        .revoke_token("deploy", &Actor::cli())
        .await
        .expect("revoke token");
    expected.push(("token.revoked", "cli"));
    let window = store
        .create_maintenance(
            new_maintenance(
                "upgrade",
                after(clock, Duration::hours(1)),
                after(clock, Duration::hours(2)),
                &[created.id],
            ),
            &actor(),
        )
        .await
        .expect("schedule");
    expected.push(("maintenance.scheduled", API));
    store
        .update_maintenance(
            window.id,
            MaintenancePatch {
                body: Some("reminder".into()),
                ..Default::default()
            },
            &actor(),
        )
        .await
        .expect("post maintenance update");
    expected.push(("maintenance.updated", API));
    clock.advance(Duration::hours(1));
    store
        .advance_maintenances(clock.now())
        .await
        .expect("advance");
    // Pharos starts the window on its own; the status change carries its cause's actor.
    expected.extend([
        ("maintenance.started", "pharos"),
        ("component.status_changed", "pharos"),
    ]);
    store
        .cancel_maintenance(window.id, &actor())
        .await
        .expect("cancel");
    expected.extend([
        ("maintenance.cancelled", API),
        ("component.status_changed", API),
    ]);
    store
        .update_component(
            created.id,
            ComponentPatch {
                status: Some(ComponentStatus::DegradedPerformance),
                ..Default::default()
            },
            &actor(),
        )
        .await
        .expect("hand-set");
    expected.extend([
        ("component.updated", API),
        ("component.status_changed", API),
    ]);
    store
        .update_group(
            group.id,
            GroupPatch {
                name: Some("Core!".into()),
                ..Default::default()
            },
            &actor(),
        )
        .await
        .expect("rename group");
    expected.push(("component_group.updated", API));
    store
        .delete_component(created.id, &actor())
        .await
        .expect("delete component");
    expected.push(("component.deleted", API));
    store
        .delete_group(group.id, &actor())
        .await
        .expect("delete group");
    expected.push(("component_group.deleted", API));
    let report = store
        .reconcile_config(
            &[DeclaredGroup {
                key: "core".into(),
                name: "Core".into(),
                description: None,
                position: 0,
            }],
            &[],
            &[],
            &Actor::config(),
        )
        .await
        .expect("reconcile");
    assert_eq!(report.created, 1);
    expected.push(("component_group.created", "config"));

    let events = events_after(store, 0).await;
    let n = events.len() as i64;
    assert_eq!(
        events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (1..=n).collect::<Vec<_>>(),
        "sequence numbers are gapless from 1"
    );
    assert_eq!(
        seq(store).await,
        n,
        "last_event_seq is the last appended seq"
    );
    assert_eq!(
        events
            .iter()
            .map(|e| (e.kind.as_str(), e.actor.as_str()))
            .collect::<Vec<_>>(),
        expected,
        "each write's events in order, the change before its consequences, with its actor"
    );
    assert!(
        events.windows(2).all(|w| w[0].at <= w[1].at),
        "event times never go back"
    );
    for event in &events {
        assert!(
            event.subject_id.is_some(),
            "event {} names its subject",
            event.seq
        );
        assert!(event.data.is_object(), "event {} carries data", event.seq);
    }
    let changed = events
        .iter()
        .find(|e| e.kind == "component.status_changed")
        .expect("a status change");
    assert_eq!(changed.subject_id, Some(created.id.to_string()));
    assert_eq!(changed.data["from"], "operational");
    assert_eq!(changed.data["to"], "major_outage");
    let opened = events
        .iter()
        .find(|e| e.kind == "incident.opened")
        .expect("opened");
    assert_eq!(opened.subject_id, Some(incident.id.to_string()));
    assert_eq!(opened.data["id"], incident.id.to_string());

    // Paging through the log gives the same events.
    for limit in [1, 2, 3, 7] {
        let mut paged = Vec::new();
        let mut cursor = 0;
        loop {
            let page = store.list_events(cursor, limit).await.expect("list events");
            assert!(page.len() <= limit as usize);
            match page.last() {
                Some(last) => cursor = last.seq,
                None => break,
            }
            paged.extend(page);
        }
        assert_eq!(paged, events, "paging with limit {limit}");
    }
    assert!(
        store.list_events(n, 10).await.expect("list").is_empty(),
        "nothing after the last seq"
    );
    assert_eq!(
        store.list_events(n - 2, 10).await.expect("list"),
        events[events.len() - 2..].to_vec()
    );
}

/// A refused write leaves both the state and the log as they were.
/// An incident event carries the incident and only the update it is about, so the log does
/// not grow with the square of a long incident's timeline.
pub async fn incident_events_carry_one_update(store: &dyn Store, _clock: &ManualClock) {
    let api = component(store, "API").await;
    let incident = store
        .create_incident(
            new_incident(
                "Long incident",
                &[hold(api.id, ComponentStatus::PartialOutage)],
            ),
            &actor(),
        )
        .await
        .expect("open");
    let start = seq(store).await;
    for i in 0..30 {
        store
            .post_incident_update(
                incident.id,
                new_update(None, &format!("update {i}"), &[]),
                &actor(),
            )
            .await
            .expect("post update");
    }
    let latest = store.get_incident(incident.id).await.expect("get");
    assert_eq!(latest.updates.len(), 31, "every update is stored");
    let edited = latest.updates[5].id;
    store
        .edit_incident_update(incident.id, edited, "corrected".into(), &actor())
        .await
        .expect("edit");
    let resolved = store
        .resolve_incident(incident.id, None, &actor())
        .await
        .expect("resolve");
    let events = events_after(store, start).await;
    let posted: Vec<&Event> = events
        .iter()
        .filter(|e| e.kind == "incident.update_posted")
        .collect();
    assert_eq!(posted.len(), 30);
    for (i, event) in posted.iter().enumerate() {
        let updates = event.data["updates"].as_array().expect("updates");
        assert_eq!(updates.len(), 1, "event {} carries one update", event.seq);
        assert_eq!(updates[0]["body"], format!("update {i}"));
        assert_eq!(event.data["id"], incident.id.to_string());
    }
    let edit = events
        .iter()
        .find(|e| e.kind == "incident.update_edited")
        .expect("edit event");
    assert_eq!(edit.data["updates"][0]["id"], edited.to_string());
    assert_eq!(edit.data["updates"][0]["body"], "corrected");
    let resolution = events
        .iter()
        .find(|e| e.kind == "incident.resolved")
        .expect("resolve event");
    assert_eq!(resolution.data["updates"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        resolution.data["updates"][0]["id"],
        resolved.updates[0].id.to_string()
    );
    assert_eq!(resolution.data["status"], "resolved");
}

pub async fn refused_writes_change_nothing(store: &dyn Store, _clock: &ManualClock) {
    let api = component(store, "API").await;
    let incident = store
        .create_incident(
            new_incident("outage", &[hold(api.id, ComponentStatus::MajorOutage)]),
            &actor(),
        )
        .await
        .expect("open");
    let group = store
        .create_group(
            NewGroup {
                name: "G".into(),
                ..Default::default()
            },
            &actor(),
        )
        .await
        .expect("group");
    let events = events_after(store, 0).await;
    let component_before = store.get_component(api.id).await.expect("get");
    let incident_before = store.get_incident(incident.id).await.expect("get");

    // Each of these fails part-way through its transaction, after writing something.
    expect_invalid(
        store,
        "an update naming a known and an unknown component",
        store.post_incident_update(
            incident.id,
            new_update(
                Some(IncidentStatus::Identified),
                "half",
                &[
                    hold(api.id, ComponentStatus::Operational),
                    hold(ComponentId::new(), ComponentStatus::MajorOutage),
                ],
            ),
            &actor(),
        ),
    )
    .await;
    expect_conflict(
        store,
        "incident_open",
        "publish before resolving",
        store.set_postmortem(
            incident.id,
            PostmortemInput {
                body: "x".into(),
                publish: true,
            },
            &actor(),
        ),
    )
    .await;
    expect_invalid(
        store,
        "move a component to an unknown group while changing its status",
        store.update_component(
            api.id,
            ComponentPatch {
                status: Some(ComponentStatus::Operational),
                group_id: Some(Some(ComponentGroupId::new())),
                name: Some("renamed".into()),
                ..Default::default()
            },
            &actor(),
        ),
    )
    .await;
    expect_invalid(
        store,
        "open an incident naming a known and an unknown component",
        store.create_incident(
            new_incident(
                "half",
                &[
                    hold(api.id, ComponentStatus::DegradedPerformance),
                    hold(ComponentId::new(), ComponentStatus::MajorOutage),
                ],
            ),
            &actor(),
        ),
    )
    .await;
    expect_invalid(
        store,
        "reconcile with an unknown group key",
        store.reconcile_config(
            &[DeclaredGroup {
                key: "g".into(),
                name: "G".into(),
                description: None,
                position: 0,
            }],
            &[DeclaredComponent {
                key: "c".into(),
                name: "C".into(),
                description: None,
                group_key: Some("missing".into()),
                position: 0,
                showcase: true,
                only_show_if_degraded: false,
                start_date: None,
            }],
            &[],
            &Actor::config(),
        ),
    )
    .await;

    assert_eq!(events_after(store, 0).await, events, "the log is unchanged");
    assert_eq!(
        store.get_component(api.id).await.expect("get"),
        component_before
    );
    assert_eq!(
        store.get_incident(incident.id).await.expect("get"),
        incident_before
    );
    let groups = store
        .list_groups(PageRequest::first(10))
        .await
        .expect("list groups");
    assert_eq!(
        groups.items,
        vec![group],
        "a refused reconcile creates nothing"
    );
    let incidents = store
        .list_incidents(IncidentFilter::default(), PageRequest::first(10))
        .await
        .expect("list");
    assert_eq!(incidents.items.len(), 1, "a refused open creates nothing");
    assert_eq!(
        history(store, api.id).await.len(),
        2,
        "no history from refused writes"
    );
}

/// API tokens: create, list, find (with hash), duplicate names, revoke, reuse and touch.
pub async fn tokens(store: &dyn Store, clock: &ManualClock) {
    let first_id = TokenId::new();
    let first = store
        .create_token(
            first_id,
            "deploy",
            TokenScope::Write,
            "hash-1",
            &Actor::cli(),
        )
        .await
        .expect("create token");
    assert_eq!(first.id, first_id);
    assert_eq!(first.name, "deploy");
    assert_eq!(first.scope, TokenScope::Write);
    assert_eq!(first.created_at, clock.now());
    assert_eq!(first.last_used_at, None);
    assert_eq!(first.revoked_at, None);
    clock.advance(Duration::seconds(1));
    let admin = store
        .create_token(
            TokenId::new(),
            "admin",
            TokenScope::Admin,
            "hash-2",
            &Actor::cli(),
        )
        .await
        .expect("create token");
    assert_eq!(
        store.list_tokens().await.expect("list"),
        vec![first.clone(), admin.clone()],
        "oldest first"
    );

    let found = store
        .find_token(first_id)
        .await
        .expect("find")
        .expect("an active token is found");
    assert_eq!(found.token, first);
    assert_eq!(found.secret_hash, "hash-1");
    assert!(
        store
            .find_token(TokenId::new())
            .await
            .expect("find")
            .is_none(),
        "unknown id"
    );
    expect_conflict(
        store,
        "already_exists",
        "a second active token with the same name",
        store.create_token(
            TokenId::new(),
            "deploy",
            TokenScope::Read,
            "hash-3",
            &Actor::cli(),
        ),
    )
    .await;
    assert_eq!(store.list_tokens().await.expect("list").len(), 2);

    clock.advance(Duration::seconds(1));
    let used_at = clock.now();
    store.touch_token(first_id, used_at).await.expect("touch");
    let touched = store
        .find_token(first_id)
        .await
        .expect("find")
        .expect("found");
    assert_eq!(touched.token.last_used_at, Some(used_at));
    let later = after(clock, Duration::minutes(1));
    store
        .touch_token(first_id, later)
        .await
        .expect("touch again");
    assert_eq!(
        store
            .find_token(first_id)
            .await
            .expect("find")
            .expect("found")
            .token
            .last_used_at,
        Some(later)
    );
    store
        .touch_token(TokenId::new(), later)
        .await
        .expect("touching an unknown token is harmless");

    clock.advance(Duration::seconds(1));
    let revoked = store
        .revoke_token("deploy", &Actor::cli())
        .await
        .expect("revoke");
    assert_eq!(revoked.id, first_id);
    assert_eq!(revoked.revoked_at, Some(clock.now()));
    assert_eq!(revoked.last_used_at, Some(later));
    assert!(
        store.find_token(first_id).await.expect("find").is_none(),
        "a revoked token is not found"
    );
    expect_not_found(
        store,
        "revoke twice",
        store.revoke_token("deploy", &Actor::cli()),
    )
    .await;
    expect_not_found(
        store,
        "revoke an unknown name",
        store.revoke_token("nobody", &Actor::cli()),
    )
    .await;

    let reused_id = TokenId::new();
    let reused = store
        .create_token(
            reused_id,
            "deploy",
            TokenScope::Read,
            "hash-4",
            &Actor::cli(),
        )
        .await
        .expect("a revoked token's name can be reused");
    assert_eq!(reused.scope, TokenScope::Read);
    assert_eq!(
        store
            .find_token(reused_id)
            .await
            .expect("find")
            .expect("found")
            .secret_hash,
        "hash-4"
    );
    let listed = store.list_tokens().await.expect("list");
    assert_eq!(listed.len(), 3, "revoked tokens stay listed");
    assert_eq!(listed[0].revoked_at, Some(clock.now()));
    assert_eq!(listed[2], reused);

    let events = events_after(store, 0).await;
    assert_eq!(
        events.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(),
        [
            "token.created",
            "token.created",
            "token.revoked",
            "token.created"
        ],
        "touching a token is not an event"
    );
    for event in &events {
        let text = event.data.to_string();
        assert!(
            !text.contains("hash-"),
            "an event must never carry a token's hash: {text}"
        );
    }
}

/// Configuration as code: declared groups and components are created once, updated when
/// changed, released when removed, protected from deletion, and an unknown group key refused.
pub async fn reconcile_config(store: &dyn Store, clock: &ManualClock) {
    let group = |key: &str, name: &str, position: i64| DeclaredGroup {
        key: key.into(),
        name: name.into(),
        description: Some(format!("{name} services")),
        position,
    };
    let declared =
        |key: &str, name: &str, group_key: Option<&str>, position: i64| DeclaredComponent {
            key: key.into(),
            name: name.into(),
            description: None,
            group_key: group_key.map(str::to_string),
            position,
            showcase: true,
            only_show_if_degraded: false,
            start_date: Some("2026-01-01".into()),
        };
    let by_hand = component(store, "By hand").await;
    let groups = vec![group("core", "Core", 0), group("edge", "Edge", 1)];
    let components = vec![
        declared("api", "API", Some("core"), 0),
        declared("web", "Web", Some("edge"), 1),
        declared("status", "Status", None, 2),
    ];
    let report = store
        .reconcile_config(&groups, &components, &[], &Actor::config())
        .await
        .expect("reconcile");
    assert_eq!(
        report,
        ReconcileReport {
            created: 5,
            updated: 0,
            released: 0
        }
    );

    let all_groups = store
        .list_groups(PageRequest::first(50))
        .await
        .expect("list groups")
        .items;
    let core = all_groups
        .iter()
        .find(|g| g.config_key.as_deref() == Some("core"))
        .expect("core group")
        .clone();
    assert_eq!(core.name, "Core");
    assert_eq!(core.description.as_deref(), Some("Core services"));
    assert_eq!(core.managed_by, ManagedBy::Config);
    assert_eq!(core.position, 0);
    let all = store
        .list_components(PageRequest::first(50))
        .await
        .expect("list components")
        .items;
    assert_eq!(all.len(), 4);
    let api = all
        .iter()
        .find(|c| c.config_key.as_deref() == Some("api"))
        .expect("api")
        .clone();
    assert_eq!(api.name, "API");
    assert_eq!(api.managed_by, ManagedBy::Config);
    assert_eq!(api.group_id, Some(core.id));
    assert_eq!(api.status, ComponentStatus::Operational);
    assert_eq!(api.start_date.as_deref(), Some("2026-01-01"));
    let status = all
        .iter()
        .find(|c| c.config_key.as_deref() == Some("status"))
        .expect("status")
        .clone();
    assert_eq!(status.group_id, None);
    assert_eq!(status.position, 2);
    let untouched = store.get_component(by_hand.id).await.expect("get");
    assert_eq!(
        untouched, by_hand,
        "undeclared API components are left alone"
    );
    let events = events_after(store, 1).await;
    assert_eq!(events.len(), 5);
    assert!(events.iter().all(|e| e.actor == "config"), "{events:?}");

    // The same declarations again change nothing and announce nothing.
    clock.advance(Duration::minutes(1));
    let before = seq(store).await;
    let report = store
        .reconcile_config(&groups, &components, &[], &Actor::config())
        .await
        .expect("reconcile again");
    assert_eq!(
        report,
        ReconcileReport::default(),
        "a second identical run changes nothing"
    );
    assert_eq!(seq(store).await, before, "and appends nothing");

    // A hand-set status is not configuration: reconciling keeps it.
    store
        .update_component(
            api.id,
            ComponentPatch {
                status: Some(ComponentStatus::PartialOutage),
                ..Default::default()
            },
            &actor(),
        )
        .await
        .expect("hand-set a config-managed component");
    let report = store
        .reconcile_config(&groups, &components, &[], &Actor::config())
        .await
        .expect("reconcile");
    assert_eq!(report, ReconcileReport::default());
    assert_eq!(
        status_of(store, api.id).await,
        ComponentStatus::PartialOutage
    );

    expect_conflict(
        store,
        "managed_by_config",
        "delete a config-managed component",
        store.delete_component(api.id, &actor()),
    )
    .await;
    expect_conflict(
        store,
        "managed_by_config",
        "delete a config-managed group",
        store.delete_group(core.id, &actor()),
    )
    .await;

    // A changed declaration updates in place; a removed one is released to the API.
    clock.advance(Duration::minutes(1));
    let groups = vec![group("core", "Core platform", 0)];
    let components = vec![
        declared("api", "Public API", Some("core"), 0),
        declared("status", "Status", None, 2),
    ];
    let report = store
        .reconcile_config(&groups, &components, &[], &Actor::config())
        .await
        .expect("reconcile changes");
    assert_eq!(
        report,
        ReconcileReport {
            created: 0,
            updated: 2,
            released: 2
        }
    );
    let api_now = store.get_component(api.id).await.expect("get api");
    assert_eq!(api_now.name, "Public API");
    assert_eq!(
        api_now.id, api.id,
        "updated in place, keeping its id and history"
    );
    assert_eq!(api_now.updated_at, clock.now());
    assert_eq!(
        store.get_group(core.id).await.expect("get core").name,
        "Core platform"
    );
    let web = all
        .iter()
        .find(|c| c.config_key.as_deref() == Some("web"))
        .expect("web");
    let web_now = store
        .get_component(web.id)
        .await
        .expect("a released component is kept");
    assert_eq!(web_now.managed_by, ManagedBy::Api);
    assert_eq!(web_now.config_key, None);
    let edge = all_groups
        .iter()
        .find(|g| g.config_key.as_deref() == Some("edge"))
        .expect("edge");
    let edge_now = store
        .get_group(edge.id)
        .await
        .expect("a released group is kept");
    assert_eq!(edge_now.managed_by, ManagedBy::Api);
    assert_eq!(edge_now.config_key, None);
    store
        .delete_component(web.id, &actor())
        .await
        .expect("a released component can be deleted");
    store
        .delete_group(edge.id, &actor())
        .await
        .expect("a released group can be deleted");

    expect_invalid(
        store,
        "a component naming an undeclared group",
        store.reconcile_config(
            &groups,
            &[declared("api", "API", Some("nope"), 0)],
            &[],
            &Actor::config(),
        ),
    )
    .await;
    assert_eq!(
        store.get_component(api.id).await.expect("get").name,
        "Public API",
        "refused: nothing changed"
    );
    let report = store
        .reconcile_config(&groups, &components, &[], &Actor::config())
        .await
        .expect("reconcile");
    assert_eq!(report, ReconcileReport::default());
}

/// Monitors as code: declared monitors are created with their component keys resolved,
/// updated in place when their declaration changes, left alone (no event) when it does not,
/// released to the API when removed, and protected from the API meanwhile except for pausing.
pub async fn reconcile_monitors(store: &dyn Store, clock: &ManualClock) {
    use crate::monitor::evaluate::Policy;
    use crate::monitor::model::{Check, MonitorComponent, MonitorPatch, NewMonitor, PushCheck};
    use crate::monitor::probe::{http::HttpCheck, tcp::TcpCheck};
    let component = |key: &str, name: &str| DeclaredComponent {
        key: key.into(),
        name: name.into(),
        description: None,
        group_key: None,
        position: 0,
        showcase: true,
        only_show_if_degraded: false,
        start_date: None,
    };
    let drives = |key: &str, down_status| DeclaredMonitorComponent {
        component_key: key.into(),
        down_status,
    };
    let http = |key: &str, name: &str, components: Vec<DeclaredMonitorComponent>| DeclaredMonitor {
        key: key.into(),
        name: name.into(),
        description: Some("The public health endpoint".into()),
        check: Check::Http(HttpCheck::get("https://api.example.com/health")),
        interval_seconds: 30,
        timeout_ms: 5_000,
        policy: Policy::default(),
        components,
        tags: vec!["prod".into()],
        paused: None,
        auto_incidents: true,
    };
    let components = vec![component("api", "API"), component("web", "Web")];
    let api_health = http(
        "api-health",
        "API health",
        vec![
            drives("web", ComponentStatus::PartialOutage),
            drives("api", ComponentStatus::MajorOutage),
        ],
    );
    let db = DeclaredMonitor {
        key: "db".into(),
        name: "Database".into(),
        description: None,
        check: Check::Tcp(TcpCheck {
            host: "db.internal".into(),
            port: 5432,
            send: None,
            expect: None,
        }),
        interval_seconds: 60,
        timeout_ms: 10_000,
        policy: Policy {
            down_after: 5,
            ..Policy::default()
        },
        components: vec![drives("api", ComponentStatus::DegradedPerformance)],
        tags: Vec::new(),
        paused: Some(true),
        auto_incidents: false,
    };
    let by_hand = store
        .create_monitor(
            NewMonitor {
                name: "By hand".into(),
                description: None,
                check: Check::Http(HttpCheck::get("https://example.com")),
                interval_seconds: 60,
                timeout_ms: 10_000,
                policy: Policy::default(),
                components: Vec::new(),
                tags: Vec::new(),
                paused: false,
                auto_incidents: true,
                push_token_hash: None,
                managed_by: ManagedBy::Api,
                config_key: None,
            },
            &actor(),
        )
        .await
        .expect("create a monitor through the API");

    let monitors = vec![api_health.clone(), db.clone()];
    let start = seq(store).await;
    let report = store
        .reconcile_config(&[], &components, &monitors, &Actor::config())
        .await
        .expect("reconcile");
    assert_eq!(
        report,
        ReconcileReport {
            created: 4,
            updated: 0,
            released: 0
        },
        "two components and two monitors"
    );
    let all_components = store
        .list_components(PageRequest::first(50))
        .await
        .expect("list components")
        .items;
    let id_of = |key: &str| {
        all_components
            .iter()
            .find(|c| c.config_key.as_deref() == Some(key))
            .unwrap_or_else(|| panic!("component {key}"))
            .id
    };
    let (api, web) = (id_of("api"), id_of("web"));
    let listed = store
        .list_monitors(PageRequest::first(50))
        .await
        .expect("list monitors")
        .items;
    assert_eq!(listed.len(), 3);
    let find = |key: &str| {
        listed
            .iter()
            .find(|m| m.config_key.as_deref() == Some(key))
            .unwrap_or_else(|| panic!("monitor {key} in {listed:?}"))
            .clone()
    };
    let health = find("api-health");
    assert_eq!(health.name, "API health");
    assert_eq!(health.managed_by, ManagedBy::Config);
    assert_eq!(health.interval_seconds, 30);
    assert_eq!(health.timeout_ms, 5_000);
    assert_eq!(health.tags, ["prod"]);
    assert_eq!(
        health.description.as_deref(),
        Some("The public health endpoint")
    );
    assert!(!health.paused, "no `paused` in the file: created running");
    let mut expected = vec![
        MonitorComponent {
            component_id: api,
            down_status: ComponentStatus::MajorOutage,
        },
        MonitorComponent {
            component_id: web,
            down_status: ComponentStatus::PartialOutage,
        },
    ];
    expected.sort_by_key(|c| c.component_id);
    assert_eq!(
        health.components, expected,
        "component keys resolved to ids"
    );
    let database = find("db");
    assert!(database.paused);
    assert!(!database.auto_incidents);
    assert_eq!(database.policy.down_after, 5);
    assert_eq!(
        database.components,
        [MonitorComponent {
            component_id: api,
            down_status: ComponentStatus::DegradedPerformance,
        }]
    );
    assert_eq!(
        store.get_monitor(by_hand.id).await.expect("get"),
        by_hand,
        "monitors made through the API are left alone"
    );
    let events = events_after(store, start).await;
    let created: Vec<&Event> = events
        .iter()
        .filter(|e| e.kind == "monitor.created")
        .collect();
    assert_eq!(created.len(), 2, "{events:?}");
    assert!(events.iter().all(|e| e.actor == "config"), "{events:?}");
    let health_id = health.id.to_string();
    assert!(
        created
            .iter()
            .any(|e| e.subject_id.as_deref() == Some(health_id.as_str())
                && e.data["config_key"] == "api-health"),
        "{created:?}"
    );

    // The same declarations again change nothing and announce nothing, whatever the order of
    // a monitor's components.
    clock.advance(Duration::minutes(1));
    let before = seq(store).await;
    let report = store
        .reconcile_config(&[], &components, &monitors, &Actor::config())
        .await
        .expect("reconcile again");
    assert_eq!(report, ReconcileReport::default());
    assert_eq!(seq(store).await, before, "and appends nothing");

    // Through the API, a declared monitor can only be paused and resumed.
    expect_conflict(
        store,
        "managed_by_config",
        "rename a config-managed monitor",
        store.update_monitor(
            health.id,
            MonitorPatch {
                name: Some("Renamed".into()),
                paused: Some(true),
                ..Default::default()
            },
            &actor(),
        ),
    )
    .await;
    expect_conflict(
        store,
        "managed_by_config",
        "delete a config-managed monitor",
        store.delete_monitor(health.id, &actor()),
    )
    .await;
    let paused = store
        .update_monitor(
            health.id,
            MonitorPatch {
                paused: Some(true),
                // Unchanged values are not changes.
                name: Some("API health".into()),
                ..Default::default()
            },
            &actor(),
        )
        .await
        .expect("pause a config-managed monitor");
    assert!(paused.paused);
    store
        .update_monitor(
            database.id,
            MonitorPatch {
                paused: Some(false),
                ..Default::default()
            },
            &actor(),
        )
        .await
        .expect("resume a config-managed monitor");
    // Where the file says nothing about pausing, the operator's choice stays; where it does,
    // the file wins at the next start.
    let report = store
        .reconcile_config(&[], &components, &monitors, &Actor::config())
        .await
        .expect("reconcile after pausing");
    assert_eq!(
        report,
        ReconcileReport {
            created: 0,
            updated: 1,
            released: 0
        }
    );
    assert!(store.get_monitor(health.id).await.expect("get").paused);
    assert!(store.get_monitor(database.id).await.expect("get").paused);

    // A changed declaration updates in place; a removed one is released to the API.
    clock.advance(Duration::minutes(1));
    let before = seq(store).await;
    let mut changed = http(
        "api-health",
        "Public API health",
        vec![drives("api", ComponentStatus::PartialOutage)],
    );
    changed.check = Check::Http(HttpCheck::get("https://api.example.com/healthz"));
    changed.interval_seconds = 20;
    let report = store
        .reconcile_config(&[], &components, &[changed.clone()], &Actor::config())
        .await
        .expect("reconcile changes");
    assert_eq!(
        report,
        ReconcileReport {
            created: 0,
            updated: 1,
            released: 1
        }
    );
    let health_now = store.get_monitor(health.id).await.expect("get api-health");
    assert_eq!(health_now.name, "Public API health");
    assert_eq!(health_now.check, changed.check);
    assert_eq!(health_now.interval_seconds, 20);
    assert_eq!(
        health_now.components,
        [MonitorComponent {
            component_id: api,
            down_status: ComponentStatus::PartialOutage,
        }]
    );
    assert_eq!(health_now.updated_at, clock.now());
    assert_eq!(health_now.managed_by, ManagedBy::Config);
    let released = store
        .get_monitor(database.id)
        .await
        .expect("a released monitor is kept");
    assert_eq!(released.managed_by, ManagedBy::Api);
    assert_eq!(released.config_key, None);
    assert_eq!(
        kinds_after(store, before).await,
        ["monitor.updated", "monitor.updated"],
        "one update and one release"
    );
    store
        .update_monitor(
            released.id,
            MonitorPatch {
                name: Some("Database (by hand now)".into()),
                ..Default::default()
            },
            &actor(),
        )
        .await
        .expect("a released monitor can be changed through the API");
    store
        .delete_monitor(released.id, &actor())
        .await
        .expect("a released monitor can be deleted");

    // Refused declarations change nothing.
    let mut unknown = changed.clone();
    unknown.name = "Renamed".into();
    unknown.components = vec![drives("nope", ComponentStatus::MajorOutage)];
    expect_invalid(
        store,
        "a monitor naming an undeclared component",
        store.reconcile_config(&[], &components, &[unknown], &Actor::config()),
    )
    .await;
    let mut push = changed.clone();
    push.check = Check::Push(PushCheck { grace_seconds: 30 });
    expect_invalid(
        store,
        "a declared push monitor",
        store.reconcile_config(&[], &components, &[push], &Actor::config()),
    )
    .await;
    assert_eq!(
        store.get_monitor(health.id).await.expect("get").name,
        "Public API health",
        "refused: nothing changed"
    );
    let report = store
        .reconcile_config(&[], &components, &[changed], &Actor::config())
        .await
        .expect("reconcile");
    assert_eq!(report, ReconcileReport::default());
}

/// Many writers at once: 32 tasks open, update and resolve incidents over shared components
/// (naming them in opposite orders) while others race for one token name and stamp a token's
/// last use. Every write must
/// succeed (a deadlock or serialization failure is a store bug, not bad luck), the log must
/// stay gapless, and every status change must be both in history and in the log, chained.
pub async fn concurrent_writes(store: Arc<dyn Store>, clock: &ManualClock) {
    use ComponentStatus::{DegradedPerformance, MajorOutage, Operational, PartialOutage};
    const TASKS: usize = 32;
    let mut components = Vec::new();
    for i in 0..4 {
        components.push(component(store.as_ref(), &format!("shared {i}")).await.id);
    }
    let reader = TokenId::new();
    store
        .create_token(reader, "reader", TokenScope::Read, "hash", &Actor::cli())
        .await
        .expect("create token");
    clock.advance(Duration::seconds(1));
    let since = clock.now();
    let before = seq(store.as_ref()).await;

    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..TASKS {
        let store = store.clone();
        // Pairs of tasks share a pair of components and name them in opposite orders.
        let pair = (components[(i / 2) % 4], components[(i / 2 + 1) % 4]);
        let (first, second) = if i % 2 == 0 { pair } else { (pair.1, pair.0) };
        tasks.spawn(async move {
            let who = Actor::token(&format!("task-{i}"));
            let step = |what: &'static str| move |e: StoreError| format!("task {i}: {what}: {e:?}");
            let incident = store
                .create_incident(
                    new_incident(
                        &format!("task {i}"),
                        &[hold(first, MajorOutage), hold(second, PartialOutage)],
                    ),
                    &who,
                )
                .await
                .map_err(step("open"))?;
            store
                .post_incident_update(
                    incident.id,
                    new_update(
                        Some(IncidentStatus::Identified),
                        "identified",
                        &[hold(second, MajorOutage), hold(first, DegradedPerformance)],
                    ),
                    &who,
                )
                .await
                .map_err(step("update"))?;
            if i % 3 == 0 {
                store
                    .update_component(
                        first,
                        ComponentPatch {
                            status: Some(DegradedPerformance),
                            ..Default::default()
                        },
                        &who,
                    )
                    .await
                    .map_err(step("hand-set"))?;
            }
            store
                .post_incident_update(
                    incident.id,
                    new_update(
                        Some(IncidentStatus::Monitoring),
                        "monitoring",
                        &[hold(first, Operational)],
                    ),
                    &who,
                )
                .await
                .map_err(step("monitoring"))?;
            if i % 2 == 0 {
                store
                    .resolve_incident(incident.id, None, &who)
                    .await
                    .map_err(step("resolve"))?;
            } else {
                // Resolving through an update that names one component recomputes both.
                store
                    .post_incident_update(
                        incident.id,
                        new_update(
                            Some(IncidentStatus::Resolved),
                            "resolved",
                            &[hold(second, Operational)],
                        ),
                        &who,
                    )
                    .await
                    .map_err(step("resolve by update"))?;
            }
            Ok::<_, String>(false)
        });
    }
    // Meanwhile, several callers race to create the same token name: exactly one wins.
    for i in 0..8 {
        let store = store.clone();
        tasks.spawn(async move {
            match store
                .create_token(
                    TokenId::new(),
                    "race",
                    TokenScope::Read,
                    "hash",
                    &Actor::cli(),
                )
                .await
            {
                Ok(_) => Ok(true),
                Err(StoreError::Conflict {
                    code: "already_exists",
                    ..
                }) => Ok(false),
                Err(e) => Err(format!("token racer {i}: {e:?}")),
            }
        });
    }
    // And API requests keep stamping their token's last use, which is not a write transaction.
    for i in 0..4 {
        let store = store.clone();
        let at = clock.now();
        tasks.spawn(async move {
            for _ in 0..25 {
                store
                    .touch_token(reader, at)
                    .await
                    .map_err(|e| format!("toucher {i}: {e:?}"))?;
                tokio::task::yield_now().await;
            }
            Ok(false)
        });
    }
    let mut failures = Vec::new();
    let mut token_winners = 0;
    while let Some(joined) = tasks.join_next().await {
        match joined.expect("task panicked") {
            Ok(won) => token_winners += won as usize,
            Err(failure) => failures.push(failure),
        }
    }
    assert!(
        failures.is_empty(),
        "concurrent writes failed:\n{}",
        failures.join("\n")
    );
    assert_eq!(token_winners, 1, "exactly one racer creates the token");

    let store = store.as_ref();
    let all = events_after(store, 0).await;
    let n = all.len() as i64;
    assert_eq!(
        all.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (1..=n).collect::<Vec<_>>(),
        "gapless seqs"
    );
    assert_eq!(seq(store).await, n);
    let events = &all[before as usize..];
    let count = |kind: &str| events.iter().filter(|e| e.kind == kind).count();
    assert_eq!(count("incident.opened"), TASKS);
    assert_eq!(count("incident.update_posted"), 2 * TASKS);
    assert_eq!(count("incident.resolved"), TASKS);
    assert_eq!(
        count("component.updated"),
        (0..TASKS).filter(|i| i % 3 == 0).count()
    );
    assert_eq!(count("token.created"), 1);
    let mut history_rows = 0;
    for id in &components {
        let rows = store
            .component_status_history(*id, since)
            .await
            .expect("history");
        history_rows += rows.len();
        // Each change starts where the previous one ended, in history and in the log.
        for pair in rows.windows(2) {
            assert_eq!(
                pair[1].from,
                Some(pair[0].to),
                "history of {id} is a chain: {rows:?}"
            );
        }
        let logged: Vec<(ComponentStatus, ComponentStatus)> = events
            .iter()
            .filter(|e| {
                e.kind == "component.status_changed" && e.subject_id == Some(id.to_string())
            })
            .map(|e| {
                (
                    serde_json::from_value(e.data["from"].clone()).expect("from"),
                    serde_json::from_value(e.data["to"].clone()).expect("to"),
                )
            })
            .collect();
        assert_eq!(
            logged,
            rows.iter()
                .map(|r| (r.from.expect("from"), r.to))
                .collect::<Vec<_>>(),
            "the log announces exactly the history of {id}, in order"
        );
        let now = store.get_component(*id).await.expect("get");
        assert_eq!(
            now.status, now.base_status,
            "with every incident resolved, {id} shows its hand-set status"
        );
        assert!(!now.status_pinned);
        assert_eq!(rows.last().map(|r| r.to).unwrap_or(Operational), now.status);
    }
    assert_eq!(count("component.status_changed"), history_rows);
    assert_eq!(
        events.len(),
        count("incident.opened")
            + count("incident.update_posted")
            + count("incident.resolved")
            + count("component.updated")
            + count("token.created")
            + history_rows,
        "no other events"
    );
    let open = store
        .list_incidents(IncidentFilter { open: Some(true) }, PageRequest::first(100))
        .await
        .expect("list open");
    assert!(open.items.is_empty(), "every incident is resolved");
    let listed = all_pages("list_incidents", 10, |p| {
        store.list_incidents(IncidentFilter::default(), p)
    })
    .await;
    assert_eq!(listed.len(), TASKS);
}

/// Concurrent patches of different fields of one component and one group must all land: a
/// patch that reads the row before locking it would write the other fields back as it read
/// them, losing the concurrent changes.
pub async fn concurrent_patches(store: Arc<dyn Store>, _clock: &ManualClock) {
    let target = store
        .create_group(
            NewGroup {
                name: "target group".into(),
                ..Default::default()
            },
            &actor(),
        )
        .await
        .expect("create group");
    let home = store
        .create_group(
            NewGroup {
                name: "home".into(),
                ..Default::default()
            },
            &actor(),
        )
        .await
        .expect("create group");
    let id = component(store.as_ref(), "target").await.id;
    for round in 0..8_i64 {
        let patches = vec![
            ComponentPatch {
                name: Some(format!("name {round}")),
                ..Default::default()
            },
            ComponentPatch {
                description: Some(Some(format!("description {round}"))),
                ..Default::default()
            },
            ComponentPatch {
                position: Some(round),
                ..Default::default()
            },
            ComponentPatch {
                showcase: Some(round % 2 == 0),
                ..Default::default()
            },
            ComponentPatch {
                only_show_if_degraded: Some(round % 2 == 1),
                ..Default::default()
            },
            ComponentPatch {
                start_date: Some(Some(format!("2026-01-0{}", round + 1))),
                ..Default::default()
            },
            ComponentPatch {
                group_id: Some(if round % 2 == 0 { Some(home.id) } else { None }),
                ..Default::default()
            },
            ComponentPatch {
                status: Some(if round % 2 == 0 {
                    ComponentStatus::DegradedPerformance
                } else {
                    ComponentStatus::PartialOutage
                }),
                ..Default::default()
            },
        ];
        let group_patches = vec![
            GroupPatch {
                name: Some(format!("group {round}")),
                ..Default::default()
            },
            GroupPatch {
                description: Some(Some(format!("group description {round}"))),
                ..Default::default()
            },
            GroupPatch {
                position: Some(100 + round),
                ..Default::default()
            },
        ];
        let mut tasks = tokio::task::JoinSet::new();
        for patch in patches {
            let store = store.clone();
            tasks.spawn(async move {
                store
                    .update_component(id, patch, &actor())
                    .await
                    .map(|_| ())
            });
        }
        for patch in group_patches {
            let store = store.clone();
            tasks.spawn(async move {
                store
                    .update_group(target.id, patch, &actor())
                    .await
                    .map(|_| ())
            });
        }
        while let Some(joined) = tasks.join_next().await {
            joined
                .expect("task panicked")
                .unwrap_or_else(|e| panic!("round {round}: a concurrent patch failed: {e:?}"));
        }
        let now = store.get_component(id).await.expect("get component");
        let expected_status = if round % 2 == 0 {
            ComponentStatus::DegradedPerformance
        } else {
            ComponentStatus::PartialOutage
        };
        assert_eq!(
            now.name,
            format!("name {round}"),
            "round {round}: lost the name: {now:?}"
        );
        assert_eq!(
            now.description,
            Some(format!("description {round}")),
            "round {round}: {now:?}"
        );
        assert_eq!(
            now.position, round,
            "round {round}: lost the position: {now:?}"
        );
        assert_eq!(
            now.showcase,
            round % 2 == 0,
            "round {round}: lost showcase: {now:?}"
        );
        assert_eq!(
            now.only_show_if_degraded,
            round % 2 == 1,
            "round {round}: {now:?}"
        );
        assert_eq!(
            now.start_date,
            Some(format!("2026-01-0{}", round + 1)),
            "round {round}: {now:?}"
        );
        assert_eq!(
            now.group_id,
            (round % 2 == 0).then_some(home.id),
            "round {round}: lost the group: {now:?}"
        );
        assert_eq!(
            now.base_status, expected_status,
            "round {round}: lost the hand-set status: {now:?}"
        );
        assert_eq!(now.status, expected_status, "round {round}: {now:?}");
        let group = store.get_group(target.id).await.expect("get group");
        assert_eq!(
            group.name,
            format!("group {round}"),
            "round {round}: {group:?}"
        );
        assert_eq!(
            group.description,
            Some(format!("group description {round}")),
            "round {round}: {group:?}"
        );
        assert_eq!(group.position, 100 + round, "round {round}: {group:?}");
    }
}
