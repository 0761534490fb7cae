//! Monitors: the list (paginated, filtered and sorted in the store, so it stays fast with tens
//! of thousands), a monitor's detail (state, why, uptime, latency chart, last results), the
//! create and edit form with its kind-specific fields, pause/resume, delete, and test-run
//! now (one check with the form's or the stored settings, nothing stored).
//!
//! Validation is the API's (`api_v1::monitors`, `monitor::model`, each check kind's
//! `validate`); a form with problems comes back as a 422 page with what was typed.
//!
//! Who may do what, as with the API's `write` scope split by weight: viewers look;
//! responders pause, resume and test-run stored monitors (what an incident needs); creating,
//! editing, deleting and test-running unsaved settings (which sends a request anywhere the
//! form says) are operator settings and need an admin.

use super::{html, when, Chrome, Flash};
use crate::domain::{
    ComponentGroupId, ComponentId, ComponentStatus, ManagedBy, MonitorId, Timestamp,
};
use crate::http::admin::pages::parse_id;
use crate::http::admin::session::{see_other, CsrfForm, CurrentUser};
use crate::http::admin::AdminError;
use crate::http::api_v1::monitors::{
    component_problems, push_secret, valid_tags, DEFAULT_INTERVAL, DEFAULT_TIMEOUT_MS,
};
use crate::http::api_v1::{valid_description, valid_name};
use crate::http::AppState;
use crate::monitor::evaluate::{Health, MOfK, Memory, Policy, Transition};
use crate::monitor::model::{
    validate_common, Check, CheckRecord, Monitor, MonitorComponent, MonitorPatch, NewMonitor,
};
use crate::monitor::probe::ProbeReport;
use crate::store::{MonitorQuery, MonitorStateFilter, PageRequest, Store, StoreResult};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine;
use serde::Deserialize;
use std::collections::BTreeMap;

/// Monitors per page of the list.
pub const PER_PAGE: u32 = 50;
/// The kinds of check, in the order the form offers them.
pub const KINDS: [&str; 6] = ["http", "tcp", "dns", "tls", "icmp", "push"];
/// Results shown on a monitor's page.
const RESULTS_SHOWN: u32 = 20;
/// The latency chart's span and resolution, as on the public monitor page.
const CHART_HOURS: i64 = 24;
const CHART_BUCKETS: usize = 96;

// ---- the list ----------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
pub struct ListParams {
    #[serde(default)]
    state: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    page: Option<String>,
}

struct ListRow {
    id: String,
    name: String,
    state: &'static str,
    flapping: bool,
    kind: &'static str,
    target: String,
    last_checked: String,
    uptime: String,
    message: String,
    config: bool,
}

#[derive(Template)]
#[template(path = "admin/monitors/list.html")]
struct ListPage {
    chrome: Chrome,
    rows: Vec<ListRow>,
    total: u64,
    page: u64,
    pages: u64,
    state: String,
    kind: String,
    q: String,
    states: Vec<&'static str>,
    kinds: Vec<&'static str>,
    prev: Option<String>,
    next: Option<String>,
    can_admin: bool,
}

/// The state a list shows: paused, or the health.
fn state_of(paused: bool, health: Health) -> &'static str {
    if paused {
        "paused"
    } else {
        health.as_str()
    }
}

/// What a check probes, in one line: the URL for HTTP, `host:port`, the name looked up.
pub fn target_of(check: &Check) -> String {
    match check {
        Check::Http(c) => format!("{} {}", c.method, c.url),
        Check::Tcp(c) => format!("{}:{}", c.host, c.port),
        Check::Dns(c) => format!(
            "{} {}{}",
            c.record_type.as_str(),
            c.name,
            c.resolver
                .as_ref()
                .map(|r| format!(" @{r}"))
                .unwrap_or_default()
        ),
        Check::Tls(c) => format!("{}:{}", c.host, c.port),
        Check::Icmp(c) => c.host.clone(),
        Check::Push(c) => format!("heartbeat (grace {} s)", c.grace_seconds),
    }
}

fn percent(value: Option<f64>) -> String {
    match value {
        Some(p) if p >= 99.995 => "100%".into(),
        Some(p) => format!("{p:.2}%"),
        None => "no checks".into(),
    }
}

fn list_link(state: &str, kind: &str, q: &str, page: u64) -> String {
    let mut url = url::form_urlencoded::Serializer::new(String::new());
    if !state.is_empty() {
        url.append_pair("state", state);
    }
    if !kind.is_empty() {
        url.append_pair("kind", kind);
    }
    if !q.is_empty() {
        url.append_pair("q", q);
    }
    if page > 1 {
        url.append_pair("page", &page.to_string());
    }
    let query = url.finish();
    if query.is_empty() {
        "/admin/monitors".into()
    } else {
        format!("/admin/monitors?{query}")
    }
}

#[utoipa::path(get, path = "/admin/monitors", tag = "admin", security(()),
    params(("state" = Option<String>, Query, description = "down, degraded, up, pending, paused or flapping"),
           ("kind" = Option<String>, Query, description = "http, tcp, dns, tls, icmp or push"),
           ("q" = Option<String>, Query, description = "Text in the name or a tag"),
           ("page" = Option<u64>, Query, description = "Page number, from 1")),
    responses((status = 200, description = "Monitors, worst state first, 50 per page", content_type = "text/html"),
              (status = 303, description = "Not signed in: to the sign-in form")))]
pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: Flash,
    Query(params): Query<ListParams>,
) -> Result<Response, AdminError> {
    let filter = MonitorStateFilter::ALL
        .into_iter()
        .find(|s| s.as_str() == params.state);
    let kind = KINDS.iter().find(|k| **k == params.kind).copied();
    let q: String = params.q.trim().chars().take(100).collect();
    let page = params
        .page
        .as_deref()
        .and_then(|p| p.parse::<u64>().ok())
        .unwrap_or(1)
        .clamp(1, 1_000_000);
    let listing = state
        .store
        .monitor_listing(&MonitorQuery {
            state: filter,
            kind: kind.map(str::to_string),
            search: (!q.is_empty()).then(|| q.clone()),
            offset: (page - 1) * u64::from(PER_PAGE),
            limit: PER_PAGE,
        })
        .await?;
    let ids: Vec<MonitorId> = listing.items.iter().map(|m| m.id).collect();
    let uptime = state.store.uptime_24h(&ids, state.clock.now()).await?;
    let rows = listing
        .items
        .into_iter()
        .map(|m| ListRow {
            id: m.id.to_string(),
            state: state_of(m.paused, m.health),
            flapping: m.flapping && !m.paused,
            kind: m.check.kind(),
            target: target_of(&m.check),
            last_checked: m
                .last_checked_at
                .as_ref()
                .map(when)
                .unwrap_or_else(|| "never".into()),
            uptime: percent(uptime.get(&m.id).copied()),
            message: m.last_message.unwrap_or_default(),
            config: m.managed_by == ManagedBy::Config,
            name: m.name,
        })
        .collect();
    let pages = listing.total.div_ceil(u64::from(PER_PAGE)).max(1);
    let state_key = filter.map(|f| f.as_str()).unwrap_or("").to_string();
    let kind_key = kind.unwrap_or("").to_string();
    Ok(html(
        StatusCode::OK,
        &ListPage {
            chrome: Chrome::new(&state, &user, "Monitors", "monitors", flash),
            rows,
            total: listing.total,
            page,
            pages,
            prev: (page > 1).then(|| list_link(&state_key, &kind_key, &q, page - 1)),
            next: (page < pages).then(|| list_link(&state_key, &kind_key, &q, page + 1)),
            state: state_key,
            kind: kind_key,
            q,
            states: MonitorStateFilter::ALL.iter().map(|s| s.as_str()).collect(),
            kinds: KINDS.to_vec(),
            can_admin: user.user.role.is_admin(),
        },
    ))
}

// ---- the detail page ---------------------------------------------------------------------

struct ResultRow {
    at: String,
    outcome: &'static str,
    status_code: String,
    latency: String,
    error: String,
    message: String,
}

struct Linked {
    name: String,
    down_status: &'static str,
}

/// What a test-run saw, for the page.
pub struct TestResult {
    pub outcome: &'static str,
    pub status_code: String,
    pub timings: String,
    pub error: String,
    pub message: String,
}

impl TestResult {
    fn of(report: &ProbeReport) -> TestResult {
        let t = &report.timings;
        let mut timings = Vec::new();
        for (label, value) in [
            ("DNS", t.dns_ms),
            ("connect", t.connect_ms),
            ("TLS", t.tls_ms),
            ("first byte", t.first_byte_ms),
        ] {
            if let Some(v) = value {
                timings.push(format!("{label} {v:.1} ms"));
            }
        }
        timings.push(format!("total {:.1} ms", t.total_ms));
        TestResult {
            outcome: report.outcome.as_str(),
            status_code: report
                .status_code
                .map(|c| c.to_string())
                .unwrap_or_else(|| "none".into()),
            timings: timings.join(", "),
            error: report
                .error
                .map(|e| e.as_str().to_string())
                .unwrap_or_else(|| "none".into()),
            message: report.message.clone(),
        }
    }
}

#[derive(Template)]
#[template(path = "admin/monitors/detail.html")]
struct DetailPage {
    chrome: Chrome,
    id: String,
    name: String,
    description: String,
    state: &'static str,
    flapping: bool,
    since: String,
    kind: &'static str,
    target: String,
    interval: u64,
    timeout: u64,
    thresholds: String,
    tags: String,
    auto_incidents: bool,
    paused: bool,
    config_key: Option<String>,
    why: Option<String>,
    evidence: Vec<ResultRow>,
    last_message: String,
    uptime: Vec<(&'static str, String)>,
    chart: String,
    chart_alt: String,
    results: Vec<ResultRow>,
    linked: Vec<Linked>,
    incident: Option<String>,
    test: Option<TestResult>,
    push_url: Option<String>,
    can_respond: bool,
    can_admin: bool,
}

fn result_row(r: &CheckRecord) -> ResultRow {
    ResultRow {
        at: r.at.0.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        outcome: r.outcome.as_str(),
        status_code: r.status_code.map(|c| c.to_string()).unwrap_or_default(),
        latency: format!("{:.0} ms", r.latency_ms),
        error: r.error.map(|e| e.as_str().to_string()).unwrap_or_default(),
        message: r.message.clone(),
    }
}

fn thresholds(policy: &Policy) -> String {
    let mut text = format!("down after {} failures in a row", policy.down_after);
    if let Some(MOfK { failures, of_last }) = policy.down_of_last {
        text.push_str(&format!(" or {failures} of the last {of_last}"));
    }
    text.push_str(&format!("; up after {} successes", policy.up_after));
    text
}

/// Every component, in pages of the largest size the store serves.
async fn all_components(store: &dyn Store) -> StoreResult<Vec<crate::domain::model::Component>> {
    let mut all = Vec::new();
    let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
    loop {
        let got = store.list_components(page.clone()).await?;
        all.extend(got.items);
        match got.next_cursor {
            Some(cursor) => page.cursor = Some(cursor),
            None => return Ok(all),
        }
    }
}

/// Every group, in pages of the largest size the store serves.
async fn all_groups(store: &dyn Store) -> StoreResult<Vec<crate::domain::model::ComponentGroup>> {
    let mut all = Vec::new();
    let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
    loop {
        let got = store.list_groups(page.clone()).await?;
        all.extend(got.items);
        match got.next_cursor {
            Some(cursor) => page.cursor = Some(cursor),
            None => return Ok(all),
        }
    }
}

async fn detail_page(
    state: &AppState,
    user: &CurrentUser,
    flash: Flash,
    id: MonitorId,
    test: Option<TestResult>,
    push_url: Option<String>,
) -> Result<Response, AdminError> {
    let monitor = state.store.get_monitor(id).await?;
    let now = state.clock.now();
    let uptime = state.store.monitor_uptime(id, now).await?;
    let from = Timestamp::from_datetime(now.0 - chrono::Duration::hours(CHART_HOURS));
    // Enough results for the chart's day at this monitor's interval, bounded.
    let wanted = (CHART_HOURS as u64 * 3600 / monitor.interval_seconds.max(1) + 10).min(20_000);
    let results = state.store.recent_checks(id, wanted as u32).await?;
    let buckets = crate::monitor::chart::bucketize(&results, from, now, CHART_BUCKETS);
    let svg = crate::monitor::chart::latency_svg(&monitor.name, &buckets, from, now);
    let chart = format!(
        "data:image/svg+xml;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(svg)
    );
    let checks: u32 = buckets.iter().map(|b| b.checks).sum();
    let failures: u32 = buckets.iter().map(|b| b.failures).sum();
    let chart_alt =
        format!("Latency over the last {CHART_HOURS} hours: {checks} checks, {failures} failed.");
    let transition: Option<Transition> = state.store.last_transition(id).await?;
    let (why, evidence) = match transition {
        Some(t) => (
            Some(t.summary()),
            t.evidence
                .iter()
                .map(|o| ResultRow {
                    at: o.at.0.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
                    outcome: o.outcome.as_str(),
                    status_code: String::new(),
                    latency: String::new(),
                    error: o.error.map(|e| e.as_str().to_string()).unwrap_or_default(),
                    message: o.message.clone(),
                })
                .collect(),
        ),
        None => (None, Vec::new()),
    };
    let mut linked = Vec::new();
    for c in &monitor.components {
        let name = match state.store.get_component(c.component_id).await {
            Ok(component) => component.name,
            Err(_) => c.component_id.to_string(),
        };
        linked.push(Linked {
            name,
            down_status: c.down_status.as_str(),
        });
    }
    Ok(html(
        StatusCode::OK,
        &DetailPage {
            chrome: Chrome::new(state, user, monitor.name.clone(), "monitors", flash),
            id: monitor.id.to_string(),
            description: monitor.description.clone().unwrap_or_default(),
            state: state_of(monitor.paused, monitor.health),
            flapping: monitor.flapping,
            since: when(&monitor.health_since),
            kind: monitor.check.kind(),
            target: target_of(&monitor.check),
            interval: monitor.interval_seconds,
            timeout: monitor.timeout_ms,
            thresholds: thresholds(&monitor.policy),
            tags: monitor.tags.join(", "),
            auto_incidents: monitor.auto_incidents,
            paused: monitor.paused,
            config_key: (monitor.managed_by == ManagedBy::Config)
                .then(|| monitor.config_key.clone().unwrap_or_default()),
            why,
            evidence,
            last_message: monitor.last_message.clone().unwrap_or_default(),
            uptime: vec![
                ("24 hours", percent(uptime.h24)),
                ("7 days", percent(uptime.d7)),
                ("30 days", percent(uptime.d30)),
                ("90 days", percent(uptime.d90)),
                ("1 year", percent(uptime.y1)),
            ],
            chart,
            chart_alt,
            results: results
                .iter()
                .take(RESULTS_SHOWN as usize)
                .map(result_row)
                .collect(),
            linked,
            incident: monitor.incident_id.map(|i| i.to_string()),
            test,
            push_url,
            can_respond: user.user.role.can_respond(),
            can_admin: user.user.role.is_admin(),
            name: monitor.name,
        },
    ))
}

#[utoipa::path(get, path = "/admin/monitors/{id}", tag = "admin", security(()),
    params(("id" = String, Path, description = "Monitor id")),
    responses((status = 200, description = "A monitor: state, why, uptime, latency, results", content_type = "text/html"),
              (status = 404, description = "No such monitor", content_type = "text/html")))]
pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: Flash,
    Path(id): Path<String>,
) -> Result<Response, AdminError> {
    detail_page(&state, &user, flash, parse_id("monitor", &id)?, None, None).await
}

// ---- the form ----------------------------------------------------------------------------

/// What the form holds, as typed: shown again with the problems when it does not validate.
#[derive(Debug, Clone, Default)]
pub struct MonitorForm {
    pub kind: String,
    pub name: String,
    pub description: String,
    pub interval_seconds: String,
    pub timeout_ms: String,
    pub down_after: String,
    pub m_failures: String,
    pub m_of_last: String,
    pub up_after: String,
    pub tags: String,
    pub auto_incidents: bool,
    pub paused: bool,
    // http
    pub url: String,
    pub method: String,
    pub expected_status: String,
    pub assertions: String,
    pub headers: String,
    pub request_body: String,
    pub degraded_after_ms: String,
    pub max_redirects: String,
    pub verify_tls: bool,
    // tcp
    pub tcp_host: String,
    pub tcp_port: String,
    pub tcp_send: String,
    pub tcp_expect: String,
    // dns
    pub dns_name: String,
    pub dns_type: String,
    pub dns_expected: String,
    pub dns_resolver: String,
    pub dns_port: String,
    // tls
    pub tls_host: String,
    pub tls_port: String,
    pub tls_server_name: String,
    pub tls_degraded_days: String,
    pub tls_down_days: String,
    // icmp
    pub icmp_host: String,
    pub icmp_count: String,
    pub icmp_loss: String,
    pub icmp_rtt: String,
    // push
    pub grace_seconds: String,
    /// Component id → the status set while down (only the driven ones).
    pub components: BTreeMap<String, String>,
    /// Settings the form does not show, kept from the stored check (a TLS check's CA).
    kept_ca_pem: Option<String>,
}

impl MonitorForm {
    /// The form of a new monitor: the API's defaults.
    fn blank() -> MonitorForm {
        let policy = Policy::default();
        MonitorForm {
            kind: "http".into(),
            interval_seconds: DEFAULT_INTERVAL.to_string(),
            timeout_ms: DEFAULT_TIMEOUT_MS
                .min(DEFAULT_INTERVAL * 1000 / 2)
                .to_string(),
            down_after: policy.down_after.to_string(),
            up_after: policy.up_after.to_string(),
            auto_incidents: true,
            method: "GET".into(),
            max_redirects: "10".into(),
            verify_tls: true,
            dns_type: "A".into(),
            tls_port: "443".into(),
            tls_degraded_days: "14".into(),
            tls_down_days: "3".into(),
            icmp_count: "3".into(),
            grace_seconds: "30".into(),
            ..MonitorForm::default()
        }
    }

    /// The form showing a stored monitor.
    fn of(m: &Monitor) -> MonitorForm {
        let mut f = MonitorForm::blank();
        f.kind = m.check.kind().into();
        f.name = m.name.clone();
        f.description = m.description.clone().unwrap_or_default();
        f.interval_seconds = m.interval_seconds.to_string();
        f.timeout_ms = m.timeout_ms.to_string();
        f.down_after = m.policy.down_after.to_string();
        if let Some(r) = m.policy.down_of_last {
            f.m_failures = r.failures.to_string();
            f.m_of_last = r.of_last.to_string();
        }
        f.up_after = m.policy.up_after.to_string();
        f.tags = m.tags.join(", ");
        f.auto_incidents = m.auto_incidents;
        f.paused = m.paused;
        match &m.check {
            Check::Http(c) => {
                f.url = c.url.clone();
                f.method = c.method.clone();
                f.expected_status = c.expected_status.join(", ");
                f.assertions = c
                    .assertions
                    .iter()
                    .map(assertion_line)
                    .collect::<Vec<_>>()
                    .join("\n");
                f.headers = c
                    .headers
                    .iter()
                    .map(|(k, v)| format!("{k}: {v}"))
                    .collect::<Vec<_>>()
                    .join("\n");
                f.request_body = c.body.clone().unwrap_or_default();
                f.degraded_after_ms = c
                    .degraded_after_ms
                    .map(|v| v.to_string())
                    .unwrap_or_default();
                f.max_redirects = c.max_redirects.to_string();
                f.verify_tls = c.verify_tls;
            }
            Check::Tcp(c) => {
                f.tcp_host = c.host.clone();
                f.tcp_port = c.port.to_string();
                f.tcp_send = c.send.clone().unwrap_or_default();
                f.tcp_expect = c.expect.clone().unwrap_or_default();
            }
            Check::Dns(c) => {
                f.dns_name = c.name.clone();
                f.dns_type = c.record_type.as_str().into();
                f.dns_expected = c.expected.join(", ");
                f.dns_resolver = c.resolver.clone().unwrap_or_default();
                f.dns_port = c.port.map(|p| p.to_string()).unwrap_or_default();
            }
            Check::Tls(c) => {
                f.tls_host = c.host.clone();
                f.tls_port = c.port.to_string();
                f.tls_server_name = c.server_name.clone().unwrap_or_default();
                f.tls_degraded_days = c.degraded_days.to_string();
                f.tls_down_days = c.down_days.to_string();
                f.kept_ca_pem = c.ca_pem.clone();
            }
            Check::Icmp(c) => {
                f.icmp_host = c.host.clone();
                f.icmp_count = c.count.to_string();
                f.icmp_loss = c
                    .degraded_loss_percent
                    .map(|v| v.to_string())
                    .unwrap_or_default();
                f.icmp_rtt = c.degraded_rtt_ms.map(|v| v.to_string()).unwrap_or_default();
            }
            Check::Push(c) => f.grace_seconds = c.grace_seconds.to_string(),
        }
        f.components = m
            .components
            .iter()
            .map(|c| {
                (
                    c.component_id.to_string(),
                    c.down_status.as_str().to_string(),
                )
            })
            .collect();
        f
    }

    /// Reads the posted fields (checkboxes are present only when ticked).
    fn from_pairs(pairs: &[(String, String)]) -> MonitorForm {
        let mut f = MonitorForm::default();
        for (key, value) in pairs {
            let v = value.clone();
            match key.as_str() {
                "kind" => f.kind = v,
                "name" => f.name = v,
                "description" => f.description = v,
                "interval_seconds" => f.interval_seconds = v,
                "timeout_ms" => f.timeout_ms = v,
                "down_after" => f.down_after = v,
                "m_failures" => f.m_failures = v,
                "m_of_last" => f.m_of_last = v,
                "up_after" => f.up_after = v,
                "tags" => f.tags = v,
                "auto_incidents" => f.auto_incidents = true,
                "paused" => f.paused = true,
                "url" => f.url = v,
                "method" => f.method = v,
                "expected_status" => f.expected_status = v,
                "assertions" => f.assertions = v,
                "headers" => f.headers = v,
                "request_body" => f.request_body = v,
                "degraded_after_ms" => f.degraded_after_ms = v,
                "max_redirects" => f.max_redirects = v,
                "verify_tls" => f.verify_tls = true,
                "tcp_host" => f.tcp_host = v,
                "tcp_port" => f.tcp_port = v,
                "tcp_send" => f.tcp_send = v,
                "tcp_expect" => f.tcp_expect = v,
                "dns_name" => f.dns_name = v,
                "dns_type" => f.dns_type = v,
                "dns_expected" => f.dns_expected = v,
                "dns_resolver" => f.dns_resolver = v,
                "dns_port" => f.dns_port = v,
                "tls_host" => f.tls_host = v,
                "tls_port" => f.tls_port = v,
                "tls_server_name" => f.tls_server_name = v,
                "tls_degraded_days" => f.tls_degraded_days = v,
                "tls_down_days" => f.tls_down_days = v,
                "icmp_host" => f.icmp_host = v,
                "icmp_count" => f.icmp_count = v,
                "icmp_loss" => f.icmp_loss = v,
                "icmp_rtt" => f.icmp_rtt = v,
                "grace_seconds" => f.grace_seconds = v,
                other => {
                    if let Some(id) = other.strip_prefix("component.") {
                        if !v.is_empty() {
                            f.components.insert(id.to_string(), v);
                        }
                    }
                }
            }
        }
        f
    }

    /// The status this component gets while the monitor is down, or "" when not driven.
    fn driven(&self, component: &str) -> &str {
        self.components
            .get(component)
            .map(String::as_str)
            .unwrap_or("")
    }
}

/// An assertion as one line of the form's text area.
fn assertion_line(a: &crate::monitor::probe::http::Assertion) -> String {
    use crate::monitor::probe::http::Assertion::*;
    match a {
        BodyContains { value } => format!("contains: {value}"),
        BodyNotContains { value } => format!("not contains: {value}"),
        BodyMatches { pattern } => format!("matches: {pattern}"),
        JsonPointer { pointer, equals } => format!("json {pointer} = {equals}"),
    }
}

/// Parses one line of the assertions text area into the API's JSON form.
fn assertion_json(line: &str) -> Result<serde_json::Value, String> {
    use serde_json::json;
    if let Some(v) = line.strip_prefix("not contains:") {
        return Ok(json!({"type": "body_not_contains", "value": v.trim()}));
    }
    if let Some(v) = line.strip_prefix("contains:") {
        return Ok(json!({"type": "body_contains", "value": v.trim()}));
    }
    if let Some(v) = line.strip_prefix("matches:") {
        return Ok(json!({"type": "body_matches", "pattern": v.trim()}));
    }
    if let Some(rest) = line.strip_prefix("json ") {
        if let Some((pointer, value)) = rest.split_once(" = ") {
            let equals: serde_json::Value = serde_json::from_str(value.trim()).map_err(|_| {
                format!(
                    "assertions: in `{line}`, the value after `=` must be JSON (\"text\", 1, true)"
                )
            })?;
            return Ok(
                json!({"type": "json_pointer", "pointer": pointer.trim(), "equals": equals}),
            );
        }
    }
    Err(format!(
        "assertions: `{line}` is not one of `contains: TEXT`, `not contains: TEXT`, `matches: REGEX`, `json /POINTER = JSON`"
    ))
}

/// Comma- or line-separated values, trimmed, empty ones dropped.
fn list_of(text: &str) -> Vec<String> {
    text.split([',', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// A number field: `Ok(None)` when empty.
fn number<T: std::str::FromStr>(field: &str, text: &str, problems: &mut Vec<String>) -> Option<T> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    match text.parse() {
        Ok(v) => Some(v),
        Err(_) => {
            problems.push(format!("{field}: `{text}` is not a whole number"));
            None
        }
    }
}

fn opt_text(text: &str) -> Option<String> {
    let t = text.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// The check the form describes, as the API's JSON would give it (so the same defaults and
/// the same `validate` apply).
fn check_of(f: &MonitorForm, problems: &mut Vec<String>) -> Option<Check> {
    use serde_json::{json, Value};
    let value = match f.kind.as_str() {
        "http" => {
            let mut assertions = Vec::new();
            for line in f
                .assertions
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
            {
                match assertion_json(line) {
                    Ok(a) => assertions.push(a),
                    Err(p) => problems.push(p),
                }
            }
            let mut headers = serde_json::Map::new();
            for line in f.headers.lines().map(str::trim).filter(|l| !l.is_empty()) {
                match line.split_once(':') {
                    Some((k, v)) => {
                        headers.insert(k.trim().to_string(), Value::String(v.trim().to_string()));
                    }
                    None => problems.push(format!("headers: `{line}` is not `Name: value`")),
                }
            }
            let mut v = json!({
                "kind": "http",
                "url": f.url.trim(),
                "method": if f.method.trim().is_empty() { "GET".to_string() } else { f.method.trim().to_ascii_uppercase() },
                "expected_status": list_of(&f.expected_status),
                "assertions": assertions,
                "headers": headers,
                "verify_tls": f.verify_tls,
            });
            if !f.request_body.is_empty() {
                v["body"] = json!(f.request_body);
            }
            if let Some(ms) = number::<u64>("degraded_after_ms", &f.degraded_after_ms, problems) {
                v["degraded_after_ms"] = json!(ms);
            }
            if let Some(n) = number::<u32>("max_redirects", &f.max_redirects, problems) {
                v["max_redirects"] = json!(n);
            }
            v
        }
        "tcp" => {
            let port = number::<u16>("port", &f.tcp_port, problems);
            if port.is_none() && f.tcp_port.trim().is_empty() {
                problems.push("port: give the port to connect to (1 to 65535)".into());
            }
            json!({"kind": "tcp", "host": f.tcp_host.trim(), "port": port.unwrap_or(0),
                   "send": opt_text(&f.tcp_send), "expect": opt_text(&f.tcp_expect)})
        }
        "dns" => {
            let mut v = json!({"kind": "dns", "name": f.dns_name.trim(),
                "record_type": if f.dns_type.trim().is_empty() { "A" } else { f.dns_type.trim() },
                "expected": list_of(&f.dns_expected), "resolver": opt_text(&f.dns_resolver)});
            if let Some(p) = number::<u16>("dns port", &f.dns_port, problems) {
                v["port"] = json!(p);
            }
            v
        }
        "tls" => {
            let mut v = json!({"kind": "tls", "host": f.tls_host.trim(),
                "server_name": opt_text(&f.tls_server_name), "ca_pem": f.kept_ca_pem});
            if let Some(p) = number::<u16>("port", &f.tls_port, problems) {
                v["port"] = json!(p);
            }
            if let Some(d) = number::<u32>("degraded_days", &f.tls_degraded_days, problems) {
                v["degraded_days"] = json!(d);
            }
            if let Some(d) = number::<u32>("down_days", &f.tls_down_days, problems) {
                v["down_days"] = json!(d);
            }
            v
        }
        "icmp" => {
            let mut v = json!({"kind": "icmp", "host": f.icmp_host.trim()});
            if let Some(c) = number::<u32>("count", &f.icmp_count, problems) {
                v["count"] = json!(c);
            }
            if let Some(p) = number::<u32>("degraded_loss_percent", &f.icmp_loss, problems) {
                v["degraded_loss_percent"] = json!(p);
            }
            if let Some(r) = number::<u64>("degraded_rtt_ms", &f.icmp_rtt, problems) {
                v["degraded_rtt_ms"] = json!(r);
            }
            v
        }
        "push" => {
            let mut v = json!({"kind": "push"});
            if let Some(g) = number::<u64>("grace_seconds", &f.grace_seconds, problems) {
                v["grace_seconds"] = json!(g);
            }
            v
        }
        other => {
            problems.push(format!(
                "kind: `{other}` is not one of {}",
                KINDS.join(", ")
            ));
            return None;
        }
    };
    match serde_json::from_value::<Check>(value) {
        Ok(check) => {
            if let Err(more) = check.validate() {
                problems.extend(more.into_iter().map(|p| format!("check: {p}")));
            }
            Some(check)
        }
        Err(err) => {
            problems.push(format!("check: {err}"));
            None
        }
    }
}

/// Everything a valid form gives, validated by the API's rules; or every problem.
struct Valid {
    name: String,
    description: Option<String>,
    check: Check,
    interval: u64,
    timeout: u64,
    policy: Policy,
    components: Vec<MonitorComponent>,
    tags: Vec<String>,
}

fn validate(f: &MonitorForm) -> Result<Valid, Vec<String>> {
    let mut problems = Vec::new();
    let interval = number::<u64>("interval_seconds", &f.interval_seconds, &mut problems)
        .unwrap_or(DEFAULT_INTERVAL);
    let timeout = number::<u64>("timeout_ms", &f.timeout_ms, &mut problems)
        .unwrap_or_else(|| DEFAULT_TIMEOUT_MS.min(interval.saturating_mul(1000) / 2));
    let defaults = Policy::default();
    let mut policy = Policy {
        down_after: number("down_after", &f.down_after, &mut problems)
            .unwrap_or(defaults.down_after),
        up_after: number("up_after", &f.up_after, &mut problems).unwrap_or(defaults.up_after),
        ..defaults
    };
    let m = number::<u32>("down_of_last.failures (M)", &f.m_failures, &mut problems);
    let k = number::<u32>("down_of_last.of_last (K)", &f.m_of_last, &mut problems);
    match (m, k) {
        (Some(failures), Some(of_last)) => policy.down_of_last = Some(MOfK { failures, of_last }),
        (None, None) => {}
        _ => problems.push(
            "policy: give both M and K for \"M failures among the last K\", or neither".into(),
        ),
    }
    problems.extend(validate_common(&f.name, interval, timeout, &policy));
    let mut components = Vec::new();
    for (id, status) in &f.components {
        let Ok(component_id) = id.parse::<ComponentId>() else {
            problems.push(format!("components: `{id}` is not a component id"));
            continue;
        };
        match status.parse::<ComponentStatus>() {
            Ok(down_status) => components.push(MonitorComponent {
                component_id,
                down_status,
            }),
            Err(err) => problems.push(format!("components: {err}")),
        }
    }
    problems.extend(component_problems(&components));
    let check = check_of(f, &mut problems);
    let name = valid_name("name", f.name.clone());
    let description = valid_description(opt_text(&f.description).map(|_| f.description.clone()));
    let tags = valid_tags(list_of(&f.tags));
    if let Err(err) = &name {
        // `validate_common` already said what is wrong with an empty or long name.
        if !problems.iter().any(|p| p.starts_with("name:")) {
            problems.push(err.message.clone());
        }
    }
    for err in [description.as_ref().err(), tags.as_ref().err()]
        .into_iter()
        .flatten()
    {
        problems.push(err.message.clone());
    }
    match (check, name, description, tags) {
        (Some(check), Ok(name), Ok(description), Ok(tags)) if problems.is_empty() => Ok(Valid {
            name,
            description,
            check,
            interval,
            timeout,
            policy,
            components,
            tags,
        }),
        _ => Err(problems),
    }
}

struct ComponentChoice {
    id: String,
    name: String,
    group: String,
    driven: String,
}

#[derive(Template)]
#[template(path = "admin/monitors/form.html")]
struct FormPage {
    chrome: Chrome,
    /// None: a new monitor.
    id: Option<String>,
    form: MonitorForm,
    problems: Vec<String>,
    kinds: Vec<&'static str>,
    record_types: Vec<&'static str>,
    down_statuses: Vec<&'static str>,
    components: Vec<ComponentChoice>,
    config_key: Option<String>,
    test: Option<TestResult>,
}

#[allow(clippy::too_many_arguments)]
async fn form_page(
    state: &AppState,
    user: &CurrentUser,
    status: StatusCode,
    id: Option<MonitorId>,
    config_key: Option<String>,
    form: MonitorForm,
    problems: Vec<String>,
    test: Option<TestResult>,
) -> Result<Response, AdminError> {
    let groups: BTreeMap<ComponentGroupId, String> = all_groups(state.store.as_ref())
        .await?
        .into_iter()
        .map(|g| (g.id, g.name))
        .collect();
    let components = all_components(state.store.as_ref())
        .await?
        .into_iter()
        .map(|c| ComponentChoice {
            driven: form.driven(&c.id.to_string()).to_string(),
            id: c.id.to_string(),
            group: c
                .group_id
                .and_then(|g| groups.get(&g).cloned())
                .unwrap_or_default(),
            name: c.name,
        })
        .collect();
    let title = match &id {
        Some(_) => format!("Edit {}", form.name),
        None => "New monitor".to_string(),
    };
    Ok(html(
        status,
        &FormPage {
            chrome: Chrome::new(state, user, title, "monitors", Flash::default()),
            id: id.map(|i| i.to_string()),
            form,
            problems,
            kinds: KINDS.to_vec(),
            record_types: vec!["A", "AAAA", "CNAME", "MX", "TXT", "NS"],
            down_statuses: vec!["degraded_performance", "partial_outage", "major_outage"],
            components,
            config_key,
            test,
        },
    ))
}

#[utoipa::path(get, path = "/admin/monitors/new", tag = "admin", security(()),
    responses((status = 200, description = "The form of a new monitor (admins)", content_type = "text/html"),
              (status = 403, description = "Not an admin", content_type = "text/html")))]
pub async fn new_form(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, AdminError> {
    user.require_admin()?;
    form_page(
        &state,
        &user,
        StatusCode::OK,
        None,
        None,
        MonitorForm::blank(),
        Vec::new(),
        None,
    )
    .await
}

#[utoipa::path(post, path = "/admin/monitors", tag = "admin", security(()),
    responses((status = 303, description = "Created: to its page"),
              (status = 200, description = "A push monitor is created: its URL shown once", content_type = "text/html"),
              (status = 403, description = "Not an admin, or the form's security token is wrong", content_type = "text/html"),
              (status = 422, description = "The form has problems: shown with what was typed", content_type = "text/html")))]
pub async fn create(
    State(state): State<AppState>,
    CsrfForm(user, pairs): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AdminError> {
    user.require_admin()?;
    let form = MonitorForm::from_pairs(&pairs);
    let valid = match validate(&form) {
        Ok(v) => v,
        Err(problems) => {
            return form_page(
                &state,
                &user,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                None,
                form,
                problems,
                None,
            )
            .await
        }
    };
    let push = matches!(valid.check, Check::Push(_)).then(crate::token::issue);
    let new = NewMonitor {
        name: valid.name,
        description: valid.description,
        check: valid.check,
        interval_seconds: valid.interval,
        timeout_ms: valid.timeout,
        policy: valid.policy,
        components: valid.components,
        tags: valid.tags,
        paused: form.paused,
        auto_incidents: form.auto_incidents,
        push_token_hash: push.as_ref().map(|p| p.secret_hash.clone()),
        managed_by: ManagedBy::Api,
        config_key: None,
    };
    let monitor = match state.store.create_monitor(new, &user.actor()).await {
        Ok(m) => m,
        Err(crate::store::StoreError::Invalid { message }) => {
            return form_page(
                &state,
                &user,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                None,
                form,
                vec![message],
                None,
            )
            .await
        }
        Err(err) => return Err(err.into()),
    };
    match push {
        // The secret is hashed in the store: this page is the only time it is shown.
        Some(p) => {
            let url = format!(
                "{}/api/v1/push/{}",
                state.page.url.trim_end_matches('/'),
                push_secret(&p.text)
            );
            detail_page(&state, &user, Flash::default(), monitor.id, None, Some(url)).await
        }
        None => Ok(see_other(&format!(
            "/admin/monitors/{}?done=monitor_created",
            monitor.id
        ))),
    }
}

#[utoipa::path(get, path = "/admin/monitors/{id}/edit", tag = "admin", security(()),
    params(("id" = String, Path, description = "Monitor id")),
    responses((status = 200, description = "The monitor's form (admins)", content_type = "text/html"),
              (status = 403, description = "Not an admin", content_type = "text/html")))]
pub async fn edit_form(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Response, AdminError> {
    user.require_admin()?;
    let monitor = state.store.get_monitor(parse_id("monitor", &id)?).await?;
    let key = (monitor.managed_by == ManagedBy::Config)
        .then(|| monitor.config_key.clone().unwrap_or_default());
    form_page(
        &state,
        &user,
        StatusCode::OK,
        Some(monitor.id),
        key,
        MonitorForm::of(&monitor),
        Vec::new(),
        None,
    )
    .await
}

#[utoipa::path(post, path = "/admin/monitors/{id}", tag = "admin", security(()),
    params(("id" = String, Path, description = "Monitor id")),
    responses((status = 303, description = "Saved: to its page"),
              (status = 403, description = "Not an admin, or the form's security token is wrong", content_type = "text/html"),
              (status = 409, description = "Declared in the configuration file", content_type = "text/html"),
              (status = 422, description = "The form has problems: shown with what was typed", content_type = "text/html")))]
pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(user, pairs): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AdminError> {
    user.require_admin()?;
    let current = state.store.get_monitor(parse_id("monitor", &id)?).await?;
    let mut form = MonitorForm::from_pairs(&pairs);
    // The kind cannot change (as in the API); the form does not offer it.
    form.kind = current.check.kind().to_string();
    if let Check::Tls(c) = &current.check {
        form.kept_ca_pem = c.ca_pem.clone();
    }
    let key = (current.managed_by == ManagedBy::Config)
        .then(|| current.config_key.clone().unwrap_or_default());
    let valid = match validate(&form) {
        Ok(v) => v,
        Err(problems) => {
            return form_page(
                &state,
                &user,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(current.id),
                key,
                form,
                problems,
                None,
            )
            .await
        }
    };
    let patch = MonitorPatch {
        name: Some(valid.name),
        description: Some(valid.description),
        check: Some(valid.check),
        interval_seconds: Some(valid.interval),
        timeout_ms: Some(valid.timeout),
        policy: Some(valid.policy),
        components: Some(valid.components),
        tags: Some(valid.tags),
        paused: None,
        auto_incidents: Some(form.auto_incidents),
    };
    match state
        .store
        .update_monitor(current.id, patch, &user.actor())
        .await
    {
        Ok(_) => Ok(see_other(&format!(
            "/admin/monitors/{}?done=monitor_saved",
            current.id
        ))),
        Err(
            crate::store::StoreError::Invalid { message }
            | crate::store::StoreError::Conflict { message, .. },
        ) => {
            form_page(
                &state,
                &user,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(current.id),
                key,
                form,
                vec![message],
                None,
            )
            .await
        }
        Err(err) => Err(err.into()),
    }
}

#[derive(Deserialize)]
pub struct NoFields {}

#[utoipa::path(post, path = "/admin/monitors/{id}/pause", tag = "admin", security(()),
    params(("id" = String, Path, description = "Monitor id")),
    responses((status = 303, description = "Paused: its hold on components is released"),
              (status = 403, description = "A viewer, or the form's security token is wrong", content_type = "text/html")))]
pub async fn pause(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(user, _): CsrfForm<NoFields>,
) -> Result<Response, AdminError> {
    set_paused(state, id, user, true).await
}

#[utoipa::path(post, path = "/admin/monitors/{id}/resume", tag = "admin", security(()),
    params(("id" = String, Path, description = "Monitor id")),
    responses((status = 303, description = "Resumed: checks start again"),
              (status = 403, description = "A viewer, or the form's security token is wrong", content_type = "text/html")))]
pub async fn resume(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(user, _): CsrfForm<NoFields>,
) -> Result<Response, AdminError> {
    set_paused(state, id, user, false).await
}

async fn set_paused(
    state: AppState,
    id: String,
    user: CurrentUser,
    paused: bool,
) -> Result<Response, AdminError> {
    user.require_responder()?;
    let id = parse_id("monitor", &id)?;
    let patch = MonitorPatch {
        paused: Some(paused),
        ..MonitorPatch::default()
    };
    state.store.update_monitor(id, patch, &user.actor()).await?;
    let done = if paused {
        "monitor_paused"
    } else {
        "monitor_resumed"
    };
    Ok(see_other(&format!("/admin/monitors/{id}?done={done}")))
}

#[derive(Template)]
#[template(path = "admin/monitors/delete.html")]
struct DeletePage {
    chrome: Chrome,
    id: String,
    name: String,
}

#[utoipa::path(get, path = "/admin/monitors/{id}/delete", tag = "admin", security(()),
    params(("id" = String, Path, description = "Monitor id")),
    responses((status = 200, description = "Asks to confirm the deletion (admins)", content_type = "text/html")))]
pub async fn delete_confirm(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Response, AdminError> {
    user.require_admin()?;
    let monitor = state.store.get_monitor(parse_id("monitor", &id)?).await?;
    Ok(html(
        StatusCode::OK,
        &DeletePage {
            chrome: Chrome::new(
                &state,
                &user,
                "Delete monitor",
                "monitors",
                Flash::default(),
            ),
            id: monitor.id.to_string(),
            name: monitor.name,
        },
    ))
}

#[utoipa::path(post, path = "/admin/monitors/{id}/delete", tag = "admin", security(()),
    params(("id" = String, Path, description = "Monitor id")),
    responses((status = 303, description = "Deleted with its results"),
              (status = 409, description = "Declared in the configuration file", content_type = "text/html")))]
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(user, _): CsrfForm<NoFields>,
) -> Result<Response, AdminError> {
    user.require_admin()?;
    state
        .store
        .delete_monitor(parse_id("monitor", &id)?, &user.actor())
        .await?;
    Ok(see_other("/admin/monitors?done=monitor_deleted"))
}

/// A monitor to run once from validated settings; nothing of it is stored.
fn transient(valid: Valid, now: Timestamp) -> Monitor {
    Monitor {
        id: MonitorId::new(),
        name: valid.name,
        description: valid.description,
        check: valid.check,
        interval_seconds: valid.interval,
        timeout_ms: valid.timeout,
        policy: valid.policy,
        components: Vec::new(),
        tags: valid.tags,
        paused: false,
        auto_incidents: false,
        health: Health::Pending,
        health_since: now,
        flapping: false,
        last_checked_at: None,
        last_outcome: None,
        last_message: None,
        incident_id: None,
        managed_by: ManagedBy::Api,
        config_key: None,
        created_at: now,
        updated_at: now,
        memory: Memory::default(),
    }
}

#[utoipa::path(post, path = "/admin/monitors/test", tag = "admin", security(()),
    responses((status = 200, description = "The form again with the result of one check of its settings (nothing stored)", content_type = "text/html"),
              (status = 403, description = "Not an admin, or the form's security token is wrong", content_type = "text/html"),
              (status = 422, description = "The form has problems", content_type = "text/html")))]
pub async fn test_form(
    State(state): State<AppState>,
    CsrfForm(user, pairs): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AdminError> {
    user.require_admin()?;
    let mut form = MonitorForm::from_pairs(&pairs);
    // From an edit form: the stored monitor's kind and the settings the form does not show.
    let id = pairs
        .iter()
        .find(|(k, _)| k == "monitor_id")
        .and_then(|(_, v)| v.parse::<MonitorId>().ok());
    let mut key = None;
    if let Some(id) = id {
        let current = state.store.get_monitor(id).await?;
        form.kind = current.check.kind().to_string();
        if let Check::Tls(c) = &current.check {
            form.kept_ca_pem = c.ca_pem.clone();
        }
        key = (current.managed_by == ManagedBy::Config)
            .then(|| current.config_key.clone().unwrap_or_default());
    }
    let (status, problems, test) = match validate(&form) {
        Err(problems) => (StatusCode::UNPROCESSABLE_ENTITY, problems, None),
        Ok(valid) => {
            let now = state.clock.now();
            let report = crate::monitor::scheduler::run_check(&transient(valid, now), now).await;
            (StatusCode::OK, Vec::new(), Some(TestResult::of(&report)))
        }
    };
    form_page(&state, &user, status, id, key, form, problems, test).await
}

#[utoipa::path(post, path = "/admin/monitors/{id}/test", tag = "admin", security(()),
    params(("id" = String, Path, description = "Monitor id")),
    responses((status = 200, description = "The monitor's page with the result of one check now (nothing stored)", content_type = "text/html"),
              (status = 403, description = "A viewer, or the form's security token is wrong", content_type = "text/html")))]
pub async fn test_stored(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(user, _): CsrfForm<NoFields>,
) -> Result<Response, AdminError> {
    user.require_responder()?;
    let id = parse_id("monitor", &id)?;
    let monitor = state.store.get_monitor(id).await?;
    let report = crate::monitor::scheduler::run_check(&monitor, state.clock.now()).await;
    detail_page(
        &state,
        &user,
        Flash::default(),
        id,
        Some(TestResult::of(&report)),
        None,
    )
    .await
}
