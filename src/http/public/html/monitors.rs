//! The public page of one monitor, `/monitors/{id}`: its name and kind, its state in words,
//! when it last checked, its uptime over 24 hours, 7, 30 and 90 days and a year, a latency
//! chart of the last 24 hours (`/monitors/{id}/latency.svg`, server-rendered) and its latest
//! results (time, outcome, latency, error class). The status page links it from every
//! component the monitor drives.
//!
//! It must not leak what the monitor checks: a public page shows neither the target (URL,
//! host, port, resolver, expected values, headers) nor the results' messages, which name
//! addresses; only the kind of check, the outcomes and their error classes. A monitor that
//! drives no component has no page (404): it was not made for readers.
//!
//! Like the vendor pages, these are read from the database, at most once per [`FRESH_FOR`]
//! per monitor (one read renders the page and its chart), kept and served to everyone
//! meanwhile, and the last rendering is served as it is while the database is away. Only
//! well-formed ids reach the cache or the database.

use super::text::{uptime_text, Badge, When};
use super::{not_found, render, Layout};
use crate::domain::{MonitorId, Timestamp};
use crate::http::extract::Headers;
use crate::http::public::{respond, Cors};
use crate::http::AppState;
use crate::monitor::chart;
use crate::monitor::evaluate::Health;
use crate::monitor::model::{CheckRecord, Monitor};
use crate::monitor::probe::{ErrorClass, Outcome};
use crate::monitor::rollup::Uptime;
use crate::snapshot::{Rendered, Snapshot};
use crate::store::{Store, StoreError};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Instant;

/// How long a rendered monitor page is served before it is read again.
pub const FRESH_FOR: std::time::Duration = std::time::Duration::from_secs(5);
/// Monitors kept at most; beyond, the cache starts over.
const MAX_PAGES: usize = 10_000;
/// How many of the latest results the page lists.
const RESULTS_SHOWN: usize = 20;
/// The chart's span and its buckets (15 minutes each).
const CHART_HOURS: i64 = 24;
const CHART_BUCKETS: usize = 96;
/// The most results read for the chart: a day at the shortest interval (10 s) is 8,640.
const CHART_MAX_RESULTS: u32 = 9_000;

/// A monitor's page and chart, rendered from one read.
struct Rendering {
    page: Rendered,
    chart: Rendered,
}

/// A rendering (None: the monitor has no page) and when it was made.
type Kept = (Instant, Option<Arc<Rendering>>);

/// Rendered monitor pages by monitor id, with when they were rendered.
///
/// One per process rather than per app: monitor ids are UUIDv7s, unique across databases, so
/// two apps in one process (the tests) never see each other's pages; a second app on the same
/// database may serve the first one's rendering for at most [`FRESH_FOR`].
static PAGES: LazyLock<Mutex<HashMap<MonitorId, Kept>>> = LazyLock::new(Default::default);

fn fresh(id: MonitorId) -> Option<Option<Arc<Rendering>>> {
    let pages = PAGES.lock().expect("monitor pages lock");
    pages
        .get(&id)
        .filter(|(at, _)| at.elapsed() < FRESH_FOR)
        .map(|(_, r)| r.clone())
}

fn last(id: MonitorId) -> Option<Option<Arc<Rendering>>> {
    let pages = PAGES.lock().expect("monitor pages lock");
    pages.get(&id).map(|(_, r)| r.clone())
}

fn keep(id: MonitorId, rendering: Option<Arc<Rendering>>) {
    let mut pages = PAGES.lock().expect("monitor pages lock");
    if pages.len() >= MAX_PAGES && !pages.contains_key(&id) {
        pages.clear();
    }
    pages.insert(id, (Instant::now(), rendering));
}

/// Which of the two responses of a monitor a request wants.
#[derive(Clone, Copy)]
enum Part {
    Page,
    Chart,
}

/// Serves a monitor's page or chart: fresh from the cache, else read and rendered, else
/// (the database away) the last rendering.
async fn serve(state: &AppState, headers: &HeaderMap, id: &str, part: Part) -> Response {
    let snapshot = state.snapshot.load_full();
    // Only a well-formed id reaches the cache, so a flood of made-up paths cannot fill it.
    let Ok(id) = id.parse::<MonitorId>() else {
        return not_found(&snapshot, headers);
    };
    let rendering = match fresh(id) {
        Some(kept) => kept,
        None => match load(state, &snapshot, id).await {
            Ok(rendering) => {
                let rendering = rendering.map(Arc::new);
                keep(id, rendering.clone());
                rendering
            }
            Err(err) => match last(id) {
                Some(kept) => kept,
                None => {
                    tracing::warn!(error = %err, monitor.id = %id, "cannot read a monitor page");
                    return (
                        StatusCode::SERVICE_UNAVAILABLE,
                        [("retry-after", "5")],
                        "This page cannot be read right now; try again in a few seconds.",
                    )
                        .into_response();
                }
            },
        },
    };
    match (rendering, part) {
        (Some(r), Part::Page) => respond(&r.page, headers, Cors::SameOrigin),
        (Some(r), Part::Chart) => respond(&r.chart, headers, Cors::SameOrigin),
        (None, _) => not_found(&snapshot, headers),
    }
}

#[utoipa::path(get, path = "/monitors/{id}", tag = "public", security(()),
    params(("id" = String, Path, description = "The monitor's id")),
    responses((status = 200, description = "One monitor: its kind, state, last check, uptime over 24 hours to a year, latency chart and latest results (never its target)", content_type = "text/html"),
              (status = 304, description = "Not modified (If-None-Match)"),
              (status = 404, description = "No such monitor, or it drives no component", content_type = "text/html")))]
pub async fn page(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Headers(headers): Headers,
) -> Response {
    serve(&state, &headers, &id, Part::Page).await
}

#[utoipa::path(get, path = "/monitors/{id}/latency.svg", tag = "public", security(()),
    params(("id" = String, Path, description = "The monitor's id")),
    responses((status = 200, description = "The monitor's latency over the last 24 hours as an SVG chart (mean line, maximum band, failures marked)", content_type = "image/svg+xml"),
              (status = 304, description = "Not modified (If-None-Match)"),
              (status = 404, description = "No such monitor, or it drives no component", content_type = "text/html")))]
pub async fn latency_chart(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Headers(headers): Headers,
) -> Response {
    serve(&state, &headers, &id, Part::Chart).await
}

/// Reads a monitor and renders its page and chart; None when it has no page.
async fn load(
    state: &AppState,
    snapshot: &Snapshot,
    id: MonitorId,
) -> Result<Option<Rendering>, StoreError> {
    let store: &dyn Store = &*state.store;
    let monitor = match store.get_monitor(id).await {
        Ok(m) if !m.components.is_empty() => m,
        Ok(_) | Err(StoreError::NotFound { .. }) => return Ok(None),
        Err(err) => return Err(err),
    };
    let now = state.clock.now();
    let uptime = store.monitor_uptime(id, now).await?;
    let per_day = 86_400 / monitor.interval_seconds.max(1);
    let wanted = u32::try_from(per_day + 10)
        .unwrap_or(CHART_MAX_RESULTS)
        .min(CHART_MAX_RESULTS);
    let results = store.recent_checks(id, wanted).await?;
    Ok(Some(render_monitor(
        snapshot, &monitor, &uptime, &results, now,
    )))
}

// ---------------------------------------------------------------------------------------------
// Rendering (pure)

#[derive(Template)]
#[template(path = "monitor.html", whitespace = "minimize")]
struct MonitorPage {
    layout: Layout,
    name: String,
    /// "HTTP check", "Heartbeat"...
    kind: &'static str,
    /// "every 30 s", "every 5 min".
    every: String,
    state: Badge,
    /// What the state means, in a sentence.
    state_text: &'static str,
    flapping: bool,
    since: When,
    checked: Option<Checked>,
    uptime: Vec<UptimeFigure>,
    chart_src: String,
    chart_alt: String,
    results: Vec<ResultRow>,
    /// The components it drives, by name.
    components: Vec<String>,
}

/// "Checked 2 minutes ago", relative to the rendering; the script says it again on load.
struct Checked {
    iso: String,
    text: String,
}

struct UptimeFigure {
    window: &'static str,
    value: String,
}

struct ResultRow {
    when: When,
    outcome: Badge,
    latency: String,
    error: String,
}

fn kind_label(monitor: &Monitor) -> &'static str {
    match monitor.check.kind() {
        "http" => "HTTP check",
        "tcp" => "TCP check",
        "dns" => "DNS check",
        "tls" => "TLS certificate check",
        "icmp" => "Ping (ICMP) check",
        "push" => "Heartbeat",
        _ => "Check",
    }
}

/// The monitor's state as a badge (label, colour, glyph) and a sentence.
fn state_view(monitor: &Monitor) -> (Badge, &'static str) {
    let badge = |label, class, glyph| Badge {
        label,
        class,
        glyph,
    };
    if monitor.paused {
        return (
            badge("Paused", "i-none", "‖"),
            "Checks are paused; this monitor holds no status on its components.",
        );
    }
    match monitor.health {
        Health::Pending => (
            badge("Pending", "i-none", "…"),
            "Not confirmed yet: too few checks have run since it started or changed.",
        ),
        Health::Up => (badge("Up", "s-ok", "✓"), "Its checks are passing."),
        Health::Degraded => (
            badge("Degraded", "s-degraded", "!"),
            "Its checks pass, but slowly or with warnings.",
        ),
        Health::Down => (
            badge("Down", "s-major", "✕"),
            "Its checks are failing: an outage has been confirmed.",
        ),
    }
}

fn outcome_badge(outcome: Outcome) -> Badge {
    let (label, class, glyph) = match outcome {
        Outcome::Up => ("Up", "s-ok", "✓"),
        Outcome::Degraded => ("Degraded", "s-degraded", "!"),
        Outcome::Down => ("Down", "s-major", "✕"),
    };
    Badge {
        label,
        class,
        glyph,
    }
}

/// An error class in words; the class only, never the check's message (it names addresses).
fn error_text(class: ErrorClass) -> &'static str {
    match class {
        ErrorClass::Dns => "Name did not resolve",
        ErrorClass::Connect => "Connection failed",
        ErrorClass::Tls => "TLS failed",
        ErrorClass::Timeout => "Timed out",
        ErrorClass::Status => "Unexpected status",
        ErrorClass::Assertion => "Unexpected answer",
        ErrorClass::Protocol => "Invalid answer",
        ErrorClass::Certificate => "Certificate expiring",
        ErrorClass::Permission => "Not permitted",
        ErrorClass::PacketLoss => "Packet loss",
        ErrorClass::Heartbeat => "Heartbeat missed",
        ErrorClass::Reported => "Failure reported",
        ErrorClass::Config => "Settings unusable",
    }
}

fn result_row(r: &CheckRecord, tz: chrono_tz::Tz) -> ResultRow {
    let answered = r.outcome != Outcome::Down && r.latency_ms.is_finite();
    let mut error = r.error.map(error_text).unwrap_or_default().to_string();
    if let (Some(ErrorClass::Status), Some(code)) = (r.error, r.status_code) {
        error = format!("{error} ({code})");
    }
    ResultRow {
        when: When::new(r.at, tz),
        outcome: outcome_badge(r.outcome),
        latency: if answered {
            format!("{:.0} ms", r.latency_ms)
        } else {
            "–".into()
        },
        error,
    }
}

fn every_text(seconds: u64) -> String {
    match seconds {
        s if s % 3600 == 0 => format!("every {} h", s / 3600),
        s if s % 60 == 0 => format!("every {} min", s / 60),
        s => format!("every {s} s"),
    }
}

fn uptime_figures(uptime: &Uptime) -> Vec<UptimeFigure> {
    let value = |p: Option<f64>| match p {
        None => "No checks".to_string(),
        Some(_) => uptime_text(p).trim_end_matches(" uptime").to_string(),
    };
    vec![
        UptimeFigure {
            window: "24 hours",
            value: value(uptime.h24),
        },
        UptimeFigure {
            window: "7 days",
            value: value(uptime.d7),
        },
        UptimeFigure {
            window: "30 days",
            value: value(uptime.d30),
        },
        UptimeFigure {
            window: "90 days",
            value: value(uptime.d90),
        },
        UptimeFigure {
            window: "1 year",
            value: value(uptime.y1),
        },
    ]
}

fn render_monitor(
    snapshot: &Snapshot,
    monitor: &Monitor,
    uptime: &Uptime,
    results: &[CheckRecord],
    now: Timestamp,
) -> Rendering {
    let tz = snapshot.state.page.tz();
    let from = Timestamp::from_datetime(now.0 - chrono::Duration::hours(CHART_HOURS));
    let buckets = chart::bucketize(results, from, now, CHART_BUCKETS);
    let svg = chart::latency_svg(&monitor.name, &buckets, from, now);
    let checks: u32 = buckets.iter().map(|b| b.checks).sum();
    let failures: u32 = buckets.iter().map(|b| b.failures).sum();
    let means: Vec<f64> = buckets.iter().filter_map(|b| b.mean_ms).collect();
    let chart_alt = if means.is_empty() {
        format!("Latency chart of the last 24 hours: {checks} checks, none answered.")
    } else {
        let mean = means.iter().sum::<f64>() / means.len() as f64;
        let peak = buckets
            .iter()
            .filter_map(|b| b.max_ms)
            .fold(0.0f64, f64::max);
        format!(
            "Latency chart of the last 24 hours: {checks} checks, mean latency {mean:.0} ms, highest {peak:.0} ms, {failures} failed."
        )
    };
    let (state, state_text) = state_view(monitor);
    let path = format!("/monitors/{}", monitor.id);
    let page = render(&MonitorPage {
        layout: Layout::new(
            snapshot,
            format!("{} · {}", monitor.name, snapshot.state.page.name),
            &path,
            "",
        ),
        name: monitor.name.clone(),
        kind: kind_label(monitor),
        every: every_text(monitor.interval_seconds),
        state,
        state_text,
        flapping: monitor.flapping && !monitor.paused,
        since: When::new(monitor.health_since, tz),
        checked: monitor.last_checked_at.map(|at| Checked {
            iso: When::new(at, tz).iso,
            text: format!("Checked {}", super::text::ago_text(now.0 - at.0)),
        }),
        uptime: uptime_figures(uptime),
        chart_src: format!("{path}/latency.svg"),
        chart_alt,
        results: results
            .iter()
            .take(RESULTS_SHOWN)
            .map(|r| result_row(r, tz))
            .collect(),
        components: monitor
            .components
            .iter()
            .filter_map(|c| snapshot.state.component(c.component_id))
            .map(|c| c.name.clone())
            .collect(),
    });
    Rendering {
        page,
        chart: Rendered::new("image/svg+xml", svg.into_bytes()),
    }
}
