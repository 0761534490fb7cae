//! Operations endpoints: `/healthz` (the process answers), `/readyz` (the database answers),
//! `/metrics` (Prometheus text), and the middleware that counts and times every request.

use super::error::ApiError;
use super::{status_json, AppState};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use metrics::{Counter, Histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::sync::{LazyLock, OnceLock, RwLock};
use std::time::{Duration, Instant};

static RECORDER: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process-wide Prometheus recorder, installed on first use. Several apps in one process
/// (tests) share it.
pub fn metrics_handle() -> PrometheusHandle {
    RECORDER
        .get_or_init(|| {
            let handle = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("pharos_http_request_duration_seconds".into()),
                    &[
                        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                        10.0,
                    ],
                )
                .expect("buckets are not empty")
                .install_recorder()
                .expect("no other metrics recorder is installed");
            describe();
            // Without upkeep, histogram samples pile up until someone scrapes /metrics: memory
            // grew about 20 bytes per request under load with no scraper. Drain them often.
            let upkeep = handle.clone();
            std::thread::Builder::new()
                .name("metrics-upkeep".into())
                .spawn(move || loop {
                    std::thread::sleep(std::time::Duration::from_secs(5));
                    upkeep.run_upkeep();
                })
                .expect("spawn the metrics upkeep thread");
            handle
        })
        .clone()
}

fn describe() {
    metrics::describe_counter!(
        "pharos_http_requests_total",
        "HTTP requests by route, method and status"
    );
    metrics::describe_histogram!(
        "pharos_http_request_duration_seconds",
        metrics::Unit::Seconds,
        "HTTP request latency by route"
    );
    metrics::describe_counter!(
        "pharos_http_auth_failures_total",
        "Failed API authentications"
    );
    metrics::describe_counter!(
        "pharos_events_appended_total",
        "Events appended to the event log"
    );
    metrics::describe_counter!(
        "pharos_monitor_checks_total",
        "Monitor checks run, by outcome"
    );
    metrics::describe_histogram!(
        "pharos_monitor_schedule_lag_seconds",
        metrics::Unit::Seconds,
        "How late checks start against their due time, including any wait for a free check slot"
    );
    metrics::describe_gauge!(
        "pharos_monitor_schedule_lag_max_seconds",
        "The largest scheduling lag since start"
    );
    metrics::describe_counter!(
        "pharos_monitor_checks_skipped_total",
        "Check turns skipped: the previous check of the monitor still ran, or the process stalled"
    );
    metrics::describe_gauge!(
        "pharos_monitor_results_buffered",
        "Check results and verdicts waiting to be written"
    );
    metrics::describe_counter!(
        "pharos_monitor_results_dropped_total",
        "Check results lost: no room in memory or on disk"
    );
    metrics::describe_counter!(
        "pharos_vendor_polls_total",
        "Vendor polls by outcome: unchanged (nothing written), changed, failed"
    );
    metrics::describe_counter!(
        "pharos_vendor_writes_total",
        "Vendor write transactions by kind: poll (a poll's changes or source state), touch (batched poll times)"
    );
    metrics::describe_gauge!(
        "pharos_db_pool_connections",
        "Database pool connections by state"
    );
    metrics::describe_gauge!(
        "pharos_memory_heap_in_use_bytes",
        metrics::Unit::Bytes,
        "Heap bytes the process uses (glibc; read at each scrape): growth here is live data"
    );
    metrics::describe_gauge!(
        "pharos_memory_heap_free_bytes",
        metrics::Unit::Bytes,
        "Heap bytes the allocator holds free and has not returned to the system"
    );
}

#[utoipa::path(get, path = "/healthz", tag = "operations", security(()),
    responses((status = 200, description = "The process is alive: `{\"status\":\"ok\"}`")))]
pub async fn healthz() -> impl IntoResponse {
    status_json("ok")
}

#[utoipa::path(get, path = "/readyz", tag = "operations", security(()),
    responses((status = 200, description = "The database answers: `{\"status\":\"ready\"}`"),
              (status = 503, description = "The database does not answer", body = super::error::ErrorBody)))]
pub async fn readyz(State(state): State<AppState>) -> Response {
    if !state.db_ready.load(std::sync::atomic::Ordering::SeqCst) {
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "database_unavailable",
            "the database has not been reached since start; serving the last known status",
        )
        .into_response();
    }
    match tokio::time::timeout(Duration::from_secs(2), state.store.ping()).await {
        Ok(Ok(())) => status_json("ready").into_response(),
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "readiness check failed");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "database_unavailable",
                "the database does not answer",
            )
            .into_response()
        }
        Err(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "database_unavailable",
            "the database did not answer within 2 s",
        )
        .into_response(),
    }
}

#[utoipa::path(get, path = "/metrics", tag = "operations", security(()),
    responses((status = 200, description = "Prometheus text exposition format", content_type = "text/plain")))]
pub async fn metrics(State(state): State<AppState>) -> Response {
    if let Some((size, idle)) = state.store.pool_stats() {
        metrics::gauge!("pharos_db_pool_connections", "state" => "idle").set(idle as f64);
        metrics::gauge!("pharos_db_pool_connections", "state" => "in_use")
            .set(size.saturating_sub(idle as u32) as f64);
    }
    if let Some((in_use, free)) = crate::memory::heap_bytes() {
        metrics::gauge!("pharos_memory_heap_in_use_bytes").set(in_use as f64);
        metrics::gauge!("pharos_memory_heap_free_bytes").set(free as f64);
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        metrics_handle().render(),
    )
        .into_response()
}

/// Counts and times every request by its route template (never the raw path, whose ids would
/// make the label set unbounded), its method (standard ones by name, any other as `other`,
/// for the same reason) and its status. Started before the handler, finished after it.
pub struct RequestMetrics {
    route: &'static str,
    method: &'static str,
    started: Instant,
}

impl RequestMetrics {
    pub fn start(req: &Request) -> RequestMetrics {
        RequestMetrics {
            route: req
                .extensions()
                .get::<MatchedPath>()
                .map_or("unmatched", |p| intern_route(p.as_str())),
            method: method_label(req.method()),
            started: Instant::now(),
        }
    }

    /// Counts the answer and logs it (DEBUG; server errors other than 503 at ERROR). The metric handles are looked up once per thread and label set:
    /// `metrics::counter!` with labels builds a key, hashes it and takes the registry's lock
    /// on every call, shared by every core.
    pub fn finish(self, response: &Response) {
        type Handles = HashMap<(&'static str, &'static str, &'static str), (Counter, Histogram)>;
        thread_local! {
            static HANDLES: RefCell<Handles> = RefCell::default();
        }
        let status = status_label(response.status());
        let elapsed = self.started.elapsed().as_secs_f64();
        let (route, method, ms) = (self.route, self.method, elapsed * 1000.0);
        // 503 is what every write answers while the database is away, and what /readyz
        // answers to each probe then: expected, and reported once by the outage itself.
        if response.status().is_server_error()
            && response.status() != StatusCode::SERVICE_UNAVAILABLE
        {
            tracing::error!(method, route, status, ms, "request failed");
        } else {
            tracing::debug!(method, route, status, ms, "request answered");
        }
        HANDLES.with_borrow_mut(|handles| {
            let (count, time) = handles
                .entry((self.route, self.method, status))
                .or_insert_with(|| {
                    (
                        metrics::counter!("pharos_http_requests_total", "route" => self.route, "method" => self.method, "status" => status),
                        metrics::histogram!("pharos_http_request_duration_seconds", "route" => self.route),
                    )
                });
            count.increment(1);
            time.record(elapsed);
        });
    }
}

/// The one `&'static str` of a route template. Each thread keeps the ones it has seen, so a
/// request takes no lock shared by the cores (a read lock still writes its counter).
fn intern_route(route: &str) -> &'static str {
    thread_local! {
        static SEEN: RefCell<HashSet<&'static str>> = RefCell::default();
    }
    if let Some(known) = SEEN.with_borrow(|seen| seen.get(route).copied()) {
        return known;
    }
    let known = intern_route_shared(route);
    SEEN.with_borrow_mut(|seen| seen.insert(known));
    known
}

fn intern_route_shared(route: &str) -> &'static str {
    static ROUTES: LazyLock<RwLock<HashSet<&'static str>>> = LazyLock::new(RwLock::default);
    if let Some(known) = ROUTES.read().expect("route names").get(route) {
        return known;
    }
    let mut routes = ROUTES.write().expect("route names");
    match routes.get(route) {
        Some(known) => known,
        None => {
            // Route templates are the router's, a few hundred at most: leaking each once is
            // bounded.
            let leaked: &'static str = Box::leak(route.to_owned().into_boxed_str());
            routes.insert(leaked);
            leaked
        }
    }
}

fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// A status code as text, from a table made once.
fn status_label(status: StatusCode) -> &'static str {
    static CODES: LazyLock<Vec<String>> =
        LazyLock::new(|| (100..1000u16).map(|c| c.to_string()).collect());
    // StatusCode is always 100 to 999.
    &CODES[usize::from(status.as_u16().clamp(100, 999) - 100)]
}
