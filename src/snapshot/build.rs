//! Builds a [`PublicState`] from the store: a handful of queries, run by the projector whenever
//! the event log moves (never per request).

use super::uptime::{self, DAYS};
use super::{PageInfo, PublicState};
use crate::domain::model::ComponentStatusChange;
use crate::domain::{ComponentId, Timestamp};
use crate::store::{IncidentFilter, Page, PageRequest, Store, StoreResult};
use chrono::{Duration, NaiveDate};
use std::collections::BTreeMap;
use std::future::Future;

/// Resolved incidents kept besides the open ones: at least this many, and all of the last
/// [`DAYS`] days (the uptime bars' tooltips name them).
pub const RECENT_INCIDENTS: usize = 50;
/// Completed maintenances kept, besides every upcoming and active one.
pub const RECENT_MAINTENANCES: usize = 50;

async fn all_pages<T, F, Fut>(mut fetch: F) -> StoreResult<Vec<T>>
where
    F: FnMut(PageRequest) -> Fut,
    Fut: Future<Output = StoreResult<Page<T>>>,
{
    let mut items = Vec::new();
    let mut cursor = None;
    loop {
        let page = fetch(PageRequest {
            limit: PageRequest::MAX_LIMIT,
            cursor,
        })
        .await?;
        items.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(items),
        }
    }
}

/// Reads everything public. `as_of_seq` is read first, so the state includes at least every
/// event up to it (a later event may be included too; the next build covers it either way).
pub async fn build(store: &dyn Store, page: PageInfo, now: Timestamp) -> StoreResult<PublicState> {
    let as_of_seq = store.last_event_seq().await?;
    let groups = all_pages(|p| store.list_groups(p)).await?;
    let components = all_pages(|p| store.list_components(p)).await?;

    // Days are the page's days: the window starts at local midnight, 89 days before today.
    let tz = page.tz();
    let window_start = Timestamp::from_datetime(uptime::midnight(
        now.0.with_timezone(&tz).date_naive() - Duration::days(DAYS - 1),
        tz,
    ));
    let mut incidents =
        all_pages(|p| store.list_incidents(IncidentFilter { open: Some(true) }, p)).await?;
    let mut cursor = None;
    let mut resolved = Vec::new();
    loop {
        let page = store
            .list_incidents(
                IncidentFilter { open: Some(false) },
                PageRequest { limit: 100, cursor },
            )
            .await?;
        let mut done = page.next_cursor.is_none();
        for incident in page.items {
            let recent = incident.resolved_at.is_some_and(|r| r >= window_start);
            if resolved.len() < RECENT_INCIDENTS || recent {
                resolved.push(incident);
            } else {
                done = true;
            }
        }
        if done {
            break;
        }
        cursor = page.next_cursor;
    }
    incidents.extend(resolved);
    incidents.sort_by(|a, b| b.started_at.cmp(&a.started_at).then(b.id.cmp(&a.id)));

    let all_maintenances = all_pages(|p| store.list_maintenances(p)).await?;
    let completed: Vec<_> = all_maintenances
        .iter()
        .filter(|m| m.status == crate::domain::MaintenanceStatus::Completed)
        .map(|m| m.id)
        .collect();
    let keep_completed: Vec<_> = completed.iter().rev().take(RECENT_MAINTENANCES).collect();
    let maintenances = all_maintenances
        .into_iter()
        .filter(|m| {
            m.status != crate::domain::MaintenanceStatus::Completed
                || keep_completed.contains(&&m.id)
        })
        .collect();

    let mut changes: BTreeMap<ComponentId, Vec<ComponentStatusChange>> = BTreeMap::new();
    for change in store.status_changes_window(window_start).await? {
        changes.entry(change.component_id).or_default().push(change);
    }
    let uptime = components
        .iter()
        .map(|c| {
            let start = c
                .start_date
                .as_deref()
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
            let history = changes.get(&c.id).map(Vec::as_slice).unwrap_or(&[]);
            (c.id, uptime::compute(history, start, now, tz))
        })
        .collect();

    let checks = store
        .component_checks()
        .await?
        .into_iter()
        .map(|c| (c.component_id, c))
        .collect();

    let mut upstream: BTreeMap<_, Vec<_>> = BTreeMap::new();
    for problem in store.upstream_problems().await? {
        upstream
            .entry(problem.component_id)
            .or_default()
            .push(problem);
    }

    let depended_on = store
        .dependencies(None)
        .await?
        .into_iter()
        .map(|d| d.vendor_id)
        .collect();

    Ok(PublicState {
        page,
        built_at: now,
        as_of_seq,
        groups,
        components,
        incidents,
        maintenances,
        uptime,
        checks,
        upstream,
        depended_on,
        vendors_followed: store.any_vendor_enabled().await?,
    })
}
