//! The incident history: `/history` (every month the snapshot holds in full, from the current
//! one back, then a link to older months) and `/history/{YYYY-MM}` (one month: its incidents
//! and maintenances, with links to the months before and after). Months are the page's: they
//! begin at midnight in its time zone.
//!
//! The snapshot holds every incident that started in the uptime bars' 90 days, so those months
//! are rendered from it like every other page, once per snapshot. Older months are read from
//! the store ([`crate::store::Store::history_window`]) through [`HistoryPages`]: at most once
//! per [`FRESH_FOR`] per month and one read at a time, so a spike of readers costs one query
//! per month every few seconds; the last rendering is kept and served while the database is
//! away. Only months that can exist (January 1970 to the current month) get that far, so the
//! cache stays small. Incidents linked from an old month are no longer in the snapshot either:
//! [`old_incident`] opens them the same way.
//!
//! Nothing here writes, and no request waits on the database for longer than one read.

use super::text::{impact_badge, incident_status_label, local_date, maintenance_status_label};
use super::text::{Badge, When};
use super::{
    affected_summary, human_duration, incident_component_ids, incident_href, not_found, render,
    render_incident_page, render_maintenance_page, Layout,
};
use crate::domain::model::{Incident, Maintenance};
use crate::domain::{IncidentId, MaintenanceId, MaintenanceStatus, Timestamp};
use crate::http::extract::Headers;
use crate::http::public::{respond, Cors};
use crate::http::AppState;
use crate::snapshot::build::{RECENT_INCIDENTS, RECENT_MAINTENANCES};
use crate::snapshot::uptime::{midnight, DAYS};
use crate::snapshot::{PublicState, Rendered, Snapshot};
use crate::store::{HistoryWindow, StoreError};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{Datelike, NaiveDate};
use chrono_tz::Tz;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a rendering read from the store is served before it is read again.
pub const FRESH_FOR: Duration = Duration::from_secs(5);
/// Renderings kept at most; beyond, the cache starts over. Months alone stay far below (one
/// per month since 1970); old incident pages could add more.
const MAX_PAGES: usize = 10_000;
/// Incidents, and maintenances, listed at most on one month's page.
const MONTH_LIMIT: u32 = 500;
/// The first month a page can be asked for.
const FIRST_MONTH: Month = Month {
    year: 1970,
    month: 1,
};

// ---------------------------------------------------------------------------------------------
// Months

/// A calendar month of the page's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Month {
    year: i32,
    /// 1 to 12.
    month: u32,
}

impl Month {
    fn of(t: Timestamp, tz: Tz) -> Month {
        let date = local_date(t, tz);
        Month {
            year: date.year(),
            month: date.month(),
        }
    }

    /// `2026-11`, the form of its URL; nothing else (no sign, no spaces, a two-digit month).
    fn parse(text: &str) -> Option<Month> {
        let (year, month) = text.split_once('-')?;
        let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(year, 4) || !digits(month, 2) {
            return None;
        }
        let month = Month {
            year: year.parse().ok()?,
            month: month.parse().ok()?,
        };
        ((1..=12).contains(&month.month) && month >= FIRST_MONTH).then_some(month)
    }

    fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).expect("a valid month")
    }

    /// Its first moment: midnight of its first day in the page's zone.
    fn start(self, tz: Tz) -> Timestamp {
        Timestamp::from_datetime(midnight(self.first_day(), tz))
    }

    fn next(self) -> Month {
        if self.month == 12 {
            Month {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Month {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    fn previous(self) -> Month {
        if self.month == 1 {
            Month {
                year: self.year - 1,
                month: 12,
            }
        } else {
            Month {
                year: self.year,
                month: self.month - 1,
            }
        }
    }

    /// "November 2026".
    fn name(self) -> String {
        self.first_day().format("%B %Y").to_string()
    }

    /// "November".
    fn name_only(self) -> String {
        self.first_day().format("%B").to_string()
    }

    fn href(self) -> String {
        format!("/history/{:04}-{:02}", self.year, self.month)
    }

    fn link(self) -> MonthLink {
        MonthLink {
            href: self.href(),
            title: self.name(),
        }
    }
}

/// The oldest month the snapshot holds in full: the build keeps every incident resolved in
/// the uptime bars' window (see `snapshot::build`), so every incident that started in it.
fn first_full_month(state: &PublicState) -> Month {
    let tz = state.page.tz();
    let window_start = Timestamp::from_datetime(midnight(
        local_date(state.built_at, tz) - chrono::Duration::days(DAYS - 1),
        tz,
    ));
    let month = Month::of(window_start, tz);
    if month.start(tz) >= window_start {
        month
    } else {
        month.next()
    }
}

/// Where the page's history begins, as far as a page knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Beginning {
    /// The snapshot may not hold all of it.
    Unknown,
    /// Nothing was ever recorded.
    Nothing,
    /// The month of the earliest incident or maintenance.
    In(Month),
}

impl Beginning {
    fn from_earliest(earliest: Option<Timestamp>, tz: Tz) -> Beginning {
        earliest.map_or(Beginning::Nothing, |t| Beginning::In(Month::of(t, tz)))
    }

    /// What the snapshot tells: all of it while the build kept fewer resolved incidents and
    /// completed maintenances than it keeps at least, as it then kept every one.
    fn of_snapshot(state: &PublicState) -> Beginning {
        let resolved = state
            .incidents
            .iter()
            .filter(|i| i.resolved_at.is_some())
            .count();
        let completed = state
            .maintenances
            .iter()
            .filter(|m| m.status == MaintenanceStatus::Completed)
            .count();
        if resolved >= RECENT_INCIDENTS || completed >= RECENT_MAINTENANCES {
            return Beginning::Unknown;
        }
        let earliest = state
            .incidents
            .iter()
            .map(|i| i.started_at)
            .chain(state.maintenances.iter().map(|m| m.scheduled_for))
            .min();
        Beginning::from_earliest(earliest, state.page.tz())
    }

    /// Whether anything may have happened in `month` or before.
    fn may_reach(self, month: Month) -> bool {
        match self {
            Beginning::Unknown => true,
            Beginning::Nothing => false,
            Beginning::In(first) => first <= month,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// What the templates show

struct MonthLink {
    href: String,
    title: String,
}

struct HistoryItem {
    name: String,
    href: String,
    impact: Badge,
    status: &'static str,
    started: When,
    resolved: Option<When>,
    duration: String,
    affected: Vec<String>,
}

struct MaintenanceItem {
    name: String,
    href: String,
    status: &'static str,
    from: When,
    until: When,
    affected: Vec<String>,
}

/// One month, or on `/history` a run of months without anything (then both lists are empty).
struct MonthView {
    /// "November 2026", or "September – October 2026" for a quiet run.
    title: String,
    incidents: Vec<HistoryItem>,
    maintenances: Vec<MaintenanceItem>,
}

fn history_item(state: &PublicState, i: &Incident) -> HistoryItem {
    let tz = state.page.tz();
    let end = i.resolved_at.unwrap_or(state.built_at);
    HistoryItem {
        name: i.name.clone(),
        href: incident_href(i),
        impact: impact_badge(i.impact),
        status: incident_status_label(i.status),
        started: When::new(i.started_at, tz),
        resolved: i.resolved_at.map(|t| When::new(t, tz)),
        duration: human_duration(end.0 - i.started_at.0),
        affected: affected_summary(state, &incident_component_ids(i)),
    }
}

fn maintenance_item(state: &PublicState, m: &Maintenance) -> MaintenanceItem {
    let tz = state.page.tz();
    MaintenanceItem {
        name: m.name.clone(),
        // By UUID: [`old_incident`] finds an old maintenance by it.
        href: format!("/incidents/{}", m.id),
        status: maintenance_status_label(m.status),
        from: When::new(m.started_at.unwrap_or(m.scheduled_for), tz),
        until: When::new(m.completed_at.unwrap_or(m.scheduled_until), tz),
        affected: affected_summary(state, &m.component_ids),
    }
}

/// The incidents and the maintenances of `month` the snapshot holds; maintenances only once
/// their window has begun (the status page lists upcoming ones).
fn month_items(state: &PublicState, month: Month) -> (Vec<HistoryItem>, Vec<MaintenanceItem>) {
    let tz = state.page.tz();
    let incidents = state
        .incidents
        .iter()
        .filter(|i| Month::of(i.started_at, tz) == month)
        .map(|i| history_item(state, i))
        .collect();
    let mut maintenances: Vec<&Maintenance> = state
        .maintenances
        .iter()
        .filter(|m| Month::of(m.scheduled_for, tz) == month && m.scheduled_for <= state.built_at)
        .collect();
    maintenances.sort_by_key(|m| std::cmp::Reverse(m.scheduled_for));
    let maintenances = maintenances
        .into_iter()
        .map(|m| maintenance_item(state, m))
        .collect();
    (incidents, maintenances)
}

// ---------------------------------------------------------------------------------------------
// `/history`

#[derive(Template)]
#[template(path = "history.html", whitespace = "minimize")]
struct HistoryPage {
    layout: Layout,
    months: Vec<MonthView>,
    /// The month before those shown, when anything may have happened then or before.
    older: Option<MonthLink>,
}

pub(super) fn render_history(snapshot: &Snapshot) -> Rendered {
    let state = &snapshot.state;
    let first = first_full_month(state);
    let page = HistoryPage {
        layout: Layout::new(
            snapshot,
            format!("Incident history · {}", state.page.name),
            "/history",
            "history",
        ),
        months: months(state),
        older: Beginning::of_snapshot(state)
            .may_reach(first.previous())
            .then(|| first.previous().link()),
    };
    render(&page)
}

/// Month by month, newest first, from this month back to the oldest the snapshot holds in
/// full; a run of months without incidents or maintenance is one entry.
fn months(state: &PublicState) -> Vec<MonthView> {
    let tz = state.page.tz();
    let first = first_full_month(state);
    let mut month = Month::of(state.built_at, tz);
    let mut out = Vec::new();
    let mut quiet: Vec<Month> = Vec::new();
    while month >= first {
        let (incidents, maintenances) = month_items(state, month);
        if incidents.is_empty() && maintenances.is_empty() {
            quiet.push(month);
        } else {
            flush_quiet(&mut out, &mut quiet);
            out.push(MonthView {
                title: month.name(),
                incidents,
                maintenances,
            });
        }
        month = month.previous();
    }
    flush_quiet(&mut out, &mut quiet);
    out
}

fn flush_quiet(out: &mut Vec<MonthView>, quiet: &mut Vec<Month>) {
    let (Some(&newest), Some(&oldest)) = (quiet.first(), quiet.last()) else {
        return;
    };
    let title = if newest == oldest {
        newest.name()
    } else if newest.year == oldest.year {
        format!("{} – {}", oldest.name_only(), newest.name())
    } else {
        format!("{} – {}", oldest.name(), newest.name())
    };
    out.push(MonthView {
        title,
        incidents: Vec::new(),
        maintenances: Vec::new(),
    });
    quiet.clear();
}

// ---------------------------------------------------------------------------------------------
// `/history/{month}`

#[derive(Template)]
#[template(path = "history_month.html", whitespace = "minimize")]
struct MonthPage {
    layout: Layout,
    /// "November 2026".
    title: String,
    incidents: Vec<HistoryItem>,
    maintenances: Vec<MaintenanceItem>,
    /// Said when the month has neither incidents nor maintenance.
    empty: Option<String>,
    /// The month the history begins in, when this one is before it.
    beginning: Option<MonthLink>,
    /// More than a page lists happened this month.
    truncated: bool,
    newer: Option<MonthLink>,
    older: Option<MonthLink>,
}

#[utoipa::path(get, path = "/history/{month}", tag = "public", security(()),
    params(("month" = String, Path, description = "The month, `YYYY-MM`, in the page's time zone (`2026-11`)")),
    responses((status = 200, description = "One month of history: its incidents and maintenances, with links to the months before and after", content_type = "text/html"),
              (status = 304, description = "Not modified (If-None-Match)"),
              (status = 404, description = "Not a month of the history: malformed, before 1970 or in the future", content_type = "text/html"),
              (status = 503, description = "An old month the database cannot be asked for now and that was not read before; try again in a few seconds", content_type = "text/plain")))]
pub async fn month(
    State(state): State<AppState>,
    Path(month): Path<String>,
    Headers(headers): Headers,
) -> Response {
    let snapshot = state.snapshot.load_full();
    let tz = snapshot.state.page.tz();
    let current = Month::of(state.clock.now(), tz).max(Month::of(snapshot.state.built_at, tz));
    let Some(month) = Month::parse(&month).filter(|m| *m <= current) else {
        return not_found(&snapshot, &headers);
    };
    let key = format!("html:{}", month.href());
    if month >= first_full_month(&snapshot.state) {
        let rendered = snapshot
            .rendered(&key, |s| Some(render_recent_month(s, month)))
            .expect("month pages always render");
        return respond(&rendered, &headers, Cors::SameOrigin);
    }
    let store = state.store.clone();
    let (from, until) = (month.start(tz), month.next().start(tz));
    let read = state
        .history_pages
        .get(&key, || async move {
            let window = store.history_window(from, until, MONTH_LIMIT).await?;
            Ok(Some(render_stored_month(&snapshot, month, &window)))
        })
        .await;
    serve(&state, read, &headers)
}

/// A month the snapshot holds in full.
fn render_recent_month(snapshot: &Snapshot, month: Month) -> Rendered {
    let (incidents, maintenances) = month_items(&snapshot.state, month);
    let beginning = Beginning::of_snapshot(&snapshot.state);
    month_page(snapshot, month, incidents, maintenances, beginning, false)
}

/// An older month, as the store returned it.
fn render_stored_month(snapshot: &Snapshot, month: Month, window: &HistoryWindow) -> Rendered {
    let state = &snapshot.state;
    let tz = state.page.tz();
    let incidents = window
        .incidents
        .iter()
        .map(|i| history_item(state, i))
        .collect();
    let maintenances = window
        .maintenances
        .iter()
        .map(|m| maintenance_item(state, m))
        .collect();
    let truncated = window.incidents.len() >= MONTH_LIMIT as usize
        || window.maintenances.len() >= MONTH_LIMIT as usize;
    let beginning = Beginning::from_earliest(window.earliest, tz);
    month_page(
        snapshot,
        month,
        incidents,
        maintenances,
        beginning,
        truncated,
    )
}

fn month_page(
    snapshot: &Snapshot,
    month: Month,
    incidents: Vec<HistoryItem>,
    maintenances: Vec<MaintenanceItem>,
    beginning: Beginning,
    truncated: bool,
) -> Rendered {
    let state = &snapshot.state;
    let current = Month::of(state.built_at, state.page.tz());
    let quiet = incidents.is_empty() && maintenances.is_empty();
    let (empty, begins) = match beginning {
        _ if !quiet => (None, None),
        Beginning::Nothing => (
            Some("No incidents or maintenance have been reported on this page yet.".to_string()),
            None,
        ),
        Beginning::In(first) if month < first => (
            Some(format!(
                "Nothing was reported in {}: the history of this page begins in {}.",
                month.name(),
                first.name()
            )),
            Some(first.link()),
        ),
        _ => (
            Some(format!(
                "No incidents or maintenance were reported in {}.",
                month.name()
            )),
            None,
        ),
    };
    let older = month.previous();
    render(&MonthPage {
        layout: Layout::new(
            snapshot,
            format!("{} · Incident history · {}", month.name(), state.page.name),
            &month.href(),
            "history",
        ),
        title: month.name(),
        incidents,
        maintenances,
        empty,
        beginning: begins,
        truncated,
        newer: (month < current).then(|| month.next().link()),
        older: (older >= FIRST_MONTH && beginning.may_reach(older)).then(|| older.link()),
    })
}

// ---------------------------------------------------------------------------------------------
// Old incidents

/// `/incidents/{id}` for an incident or maintenance the snapshot no longer holds (linked from
/// an old month): read from the store like an old month. `id` is a short id or a UUID;
/// anything else is a 404 without a query.
pub(super) async fn old_incident(state: &AppState, id: String, headers: &HeaderMap) -> Response {
    let snapshot = state.snapshot.load_full();
    if !possible_id(&id) {
        return not_found(&snapshot, headers);
    }
    let store = state.store.clone();
    let key = format!("html:/incidents/{id}");
    let read = state
        .history_pages
        .get(&key, || async move {
            let absent = |err: &StoreError| matches!(err, StoreError::NotFound { .. });
            let Ok(uuid) = uuid::Uuid::parse_str(&id) else {
                return match store.get_incident_by_short_id(&id).await {
                    Ok(incident) => Ok(Some(render_incident_page(&snapshot, &incident))),
                    Err(err) if absent(&err) => Ok(None),
                    Err(err) => Err(err),
                };
            };
            match store.get_incident(IncidentId(uuid)).await {
                Ok(incident) => return Ok(Some(render_incident_page(&snapshot, &incident))),
                Err(err) if absent(&err) => {}
                Err(err) => return Err(err),
            }
            match store.get_maintenance(MaintenanceId(uuid)).await {
                Ok(m) => Ok(Some(render_maintenance_page(&snapshot, &m))),
                Err(err) if absent(&err) => Ok(None),
                Err(err) => Err(err),
            }
        })
        .await;
    serve(state, read, headers)
}

/// A short id (12 of `0-9a-z`, see `domain::ids::new_short_id`) or a UUID.
fn possible_id(id: &str) -> bool {
    let short = id.len() == 12
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase());
    short || uuid::Uuid::parse_str(id).is_ok()
}

// ---------------------------------------------------------------------------------------------
// The cache of what is read from the store

/// A rendering (None: the page does not exist) and when it was made.
type Kept = (Instant, Option<Arc<Rendered>>);

/// Pages read from the store (old months, old incidents), by key, with when they were read.
#[derive(Default)]
pub struct HistoryPages {
    pages: Mutex<HashMap<String, Kept>>,
    /// One read at a time: while a page is read, its readers are served its last rendering
    /// or wait for that read, rather than each asking the database.
    reading: tokio::sync::Mutex<()>,
    /// When a read last failed: for [`FRESH_FOR`] after, a page never read before answers
    /// 503 at once instead of queueing for a database that is away.
    failed: Mutex<Option<Instant>>,
}

impl HistoryPages {
    fn kept(&self, key: &str, fresh: bool) -> Option<Option<Arc<Rendered>>> {
        let pages = self.pages.lock().expect("history pages lock");
        pages
            .get(key)
            .filter(|(at, _)| !fresh || at.elapsed() < FRESH_FOR)
            .map(|(_, rendered)| rendered.clone())
    }

    fn keep(&self, key: &str, rendered: Option<Arc<Rendered>>) {
        let mut pages = self.pages.lock().expect("history pages lock");
        if pages.len() >= MAX_PAGES && !pages.contains_key(key) {
            pages.clear();
        }
        pages.insert(key.to_string(), (Instant::now(), rendered));
    }

    fn failed_lately(&self) -> bool {
        let failed = self.failed.lock().expect("history failure lock");
        failed.is_some_and(|at| at.elapsed() < FRESH_FOR)
    }

    /// The page at `key`: fresh from the cache, else read by `read` (None: a 404), else
    /// (the database away) the last rendering.
    async fn get<F, Fut>(&self, key: &str, read: F) -> Result<Option<Arc<Rendered>>, StoreError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Option<Rendered>, StoreError>>,
    {
        if let Some(fresh) = self.kept(key, true) {
            return Ok(fresh);
        }
        let last = self.kept(key, false);
        if last.is_some() && self.failed_lately() {
            return Ok(last.flatten());
        }
        let _reading = match (self.reading.try_lock(), last) {
            (Ok(guard), _) => guard,
            (Err(_), Some(last)) => return Ok(last),
            (Err(_), None) if self.failed_lately() => {
                return Err(StoreError::Unavailable("the last read failed".into()))
            }
            (Err(_), None) => self.reading.lock().await,
        };
        // The read this one waited for may have been of the same page.
        if let Some(fresh) = self.kept(key, true) {
            return Ok(fresh);
        }
        match read().await {
            Ok(rendered) => {
                let rendered = rendered.map(Arc::new);
                self.keep(key, rendered.clone());
                Ok(rendered)
            }
            Err(err) => {
                *self.failed.lock().expect("history failure lock") = Some(Instant::now());
                match self.kept(key, false) {
                    Some(last) => Ok(last),
                    None => Err(err),
                }
            }
        }
    }
}

fn serve(
    state: &AppState,
    read: Result<Option<Arc<Rendered>>, StoreError>,
    headers: &HeaderMap,
) -> Response {
    match read {
        Ok(Some(rendered)) => respond(&rendered, headers, Cors::SameOrigin),
        Ok(None) => not_found(&state.snapshot.load(), headers),
        Err(err) => {
            tracing::warn!(error = %err, "cannot read an old history page");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [("retry-after", "5")],
                "This page cannot be read right now; try again in a few seconds.",
            )
                .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(year: i32, month: u32) -> Month {
        Month { year, month }
    }

    #[test]
    fn only_real_months_of_the_url_form_parse() {
        assert_eq!(Month::parse("2026-11"), Some(m(2026, 11)));
        assert_eq!(Month::parse("1970-01"), Some(FIRST_MONTH));
        for bad in [
            "",
            "2026",
            "2026-1",
            "2026-13",
            "2026-00",
            "1969-12",
            "+2026-11",
            "2026-11-01",
            "20261-01",
            "2026_11",
            "２０２６-11",
            "2026-1a",
            " 2026-11",
        ] {
            assert_eq!(Month::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn months_step_across_years() {
        assert_eq!(m(2026, 12).next(), m(2027, 1));
        assert_eq!(m(2027, 1).previous(), m(2026, 12));
        assert_eq!(m(2026, 3).href(), "/history/2026-03");
        assert_eq!(m(2026, 3).name(), "March 2026");
    }

    #[test]
    fn months_begin_at_midnight_in_the_page_zone() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        assert_eq!(
            m(2026, 11).start(berlin).to_db(),
            "2026-10-31T23:00:00.000000Z"
        );
        let late = Timestamp::parse("2026-10-31T23:30:00Z").unwrap();
        assert_eq!(Month::of(late, berlin), m(2026, 11));
        assert_eq!(Month::of(late, Tz::UTC), m(2026, 10));
    }

    #[test]
    fn possible_ids_are_short_ids_and_uuids() {
        assert!(possible_id("abc123def456"));
        assert!(possible_id("0190b6f2-0000-7000-8000-000000000000"));
        assert!(!possible_id("nosuchincident"));
        assert!(!possible_id("ABC123DEF456"));
        assert!(!possible_id("<script>"));
    }
}
