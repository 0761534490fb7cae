//! Builds a [`PublicState`] from the store: a handful of queries, run by the projector whenever
//! the event log moves (never per request). The uptime bars come from the components' status
//! history, which the previous build hands on ([`StatusHistory`]): a build then reads only the
//! events since, not 90 days of history for every component.
//!
//! The page itself ([`PageInfo`]) is the configuration's settings merged with the ones stored
//! from the web UI ([`PageSource::Configured`]), read in the same consistent read as the rest,
//! so a `page.settings_changed` event is never ahead of the page it describes.

use super::uptime::{self, StatusHistory, Window};
use super::{PageInfo, PublicState};
use crate::config::PageSettings;
use crate::domain::Timestamp;
use crate::store::{IncidentFilter, Page, PageRequest, Store, StoreResult};
use std::collections::BTreeMap;
use std::future::Future;

/// Resolved incidents kept besides the open ones: at least this many, and all of the last
/// [`uptime::DAYS`] days (the uptime bars' tooltips name them).
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

/// Where a build takes the page from.
#[derive(Debug, Clone, Copy)]
pub enum PageSource<'a> {
    /// As given (benchmarks and tests that build from a fixed page).
    Fixed(&'a PageInfo),
    /// The configuration's settings merged with the stored ones, read with the build: what
    /// the running app shows.
    Configured(&'a PageSettings),
}

impl PageSource<'_> {
    async fn read(&self, store: &dyn Store) -> StoreResult<PageInfo> {
        match self {
            PageSource::Fixed(page) => Ok((*page).clone()),
            PageSource::Configured(settings) => Ok(PageInfo::from_stored(
                settings,
                &store.page_settings().await?,
            )),
        }
    }
}

/// Reads everything public, the status history in full. `as_of_seq` is read first, so the
/// state includes at least every event up to it (a later event may be included too; the next
/// build covers it either way).
pub async fn build(store: &dyn Store, page: PageInfo, now: Timestamp) -> StoreResult<PublicState> {
    Ok(build_from(store, page, now, None).await?.0)
}

/// The status history as of `as_of_seq`: `previous` brought up to date with the events since,
/// when it may be ([`StatusHistory::usable`]), else read from the store; trimmed to the window
/// of a build at `now`.
pub async fn status_history(
    store: &dyn Store,
    as_of_seq: i64,
    now: Timestamp,
    tz: chrono_tz::Tz,
    previous: Option<&StatusHistory>,
) -> StoreResult<StatusHistory> {
    let window_start = Window::start(now, tz);
    if let Some(previous) = previous.filter(|p| p.usable(as_of_seq, now)) {
        let mut history = previous.clone();
        while history.seq < as_of_seq {
            let events = store.list_events(history.seq, 500).await?;
            let Some(last) = events.last().map(|e| e.seq) else {
                break;
            };
            for event in events.iter().filter(|e| e.seq <= as_of_seq) {
                history.apply(event);
            }
            history.seq = last.min(as_of_seq);
        }
        if history.seq == as_of_seq {
            history.trim(window_start);
            return Ok(history);
        }
    }
    let rows = store.status_changes_window(window_start).await?;
    Ok(StatusHistory::read(as_of_seq, now, rows))
}

/// How many times a build is read again when a change was committed while it read.
const CONSISTENT_READS: u32 = 3;

/// [`build`], going on from the status history of the previous build; returns the state and
/// the history, for the next build.
///
/// A build reads with many queries, and a change committed between two of them would leave
/// the state torn (an incident without its components' new status). So the log's end is read
/// before and after: if it moved, the build is read again (a few times at most; under a
/// stream of writes the last read is kept, stamped with the earlier position, so the next
/// build follows at once). A torn state matters when it is the last one before the database
/// goes away: it would be served, and written to disk, for the whole outage.
pub async fn build_from(
    store: &dyn Store,
    page: PageInfo,
    now: Timestamp,
    previous: Option<&StatusHistory>,
) -> StoreResult<(PublicState, StatusHistory)> {
    build_with(store, PageSource::Fixed(&page), now, previous, None).await
}

/// [`build_from`] with the page from `page`. `previous_zone` is the time zone `previous` was
/// cut in (the previous state's page zone): when the page's zone changed since, the days
/// start at other instants, so the history is read again in full instead of going on from it.
pub async fn build_with(
    store: &dyn Store,
    page: PageSource<'_>,
    now: Timestamp,
    previous: Option<&StatusHistory>,
    previous_zone: Option<&str>,
) -> StoreResult<(PublicState, StatusHistory)> {
    let mut as_of_seq = store.last_event_seq().await?;
    let mut attempt = 1;
    loop {
        let built = read_at(store, page, now, previous, previous_zone, as_of_seq).await?;
        let after = store.last_event_seq().await?;
        if after == as_of_seq || attempt == CONSISTENT_READS {
            return Ok(built);
        }
        metrics::counter!("pharos_snapshot_reads_repeated_total").increment(1);
        as_of_seq = after;
        attempt += 1;
    }
}

/// One read of everything public, for a build as of `as_of_seq` (read before it).
async fn read_at(
    store: &dyn Store,
    page: PageSource<'_>,
    now: Timestamp,
    previous: Option<&StatusHistory>,
    previous_zone: Option<&str>,
    as_of_seq: i64,
) -> StoreResult<(PublicState, StatusHistory)> {
    let page = page.read(store).await?;
    let previous = previous.filter(|_| previous_zone.is_none_or(|zone| zone == page.time_zone));
    let groups = all_pages(|p| store.list_groups(p)).await?;
    let components = all_pages(|p| store.list_components(p)).await?;

    // Days are the page's days: the window starts at local midnight, 89 days before today.
    let tz = page.tz();
    let window_start = Window::start(now, tz);
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

    let history = status_history(store, as_of_seq, now, tz, previous).await?;
    let uptime = uptime::bars(&components, &history, now, tz);

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

    let state = PublicState {
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
    };
    Ok((state, history))
}
