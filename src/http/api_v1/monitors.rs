//! `/api/v1/monitors`: checks that run on their own schedule and drive component status and
//! incidents (see `crate::monitor`), and `/api/v1/push/{token}`, the URL a job calls to say
//! it is alive. Changes take effect at once: the scheduler follows the event log.

use super::*;
use crate::domain::{ManagedBy, MonitorId};
use crate::http::auth::Principal;
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::http::AppState;
use crate::monitor::evaluate::Policy;
use crate::monitor::model::{
    is_down_status, validate_common, Check, CheckRecord, Monitor, MonitorComponent, MonitorPatch,
    NewMonitor, DOWN_STATUSES,
};
use crate::monitor::probe::{ErrorClass, Outcome, ProbeReport, Timings};
use crate::monitor::rollup::{Period, Rollup, Uptime};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};

/// Default interval between checks.
pub const DEFAULT_INTERVAL: u64 = 60;
/// Default timeout: 10 s, or less when the interval is shorter.
pub const DEFAULT_TIMEOUT_MS: u64 = 10_000;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateMonitor {
    pub name: String,
    pub description: Option<String>,
    /// What to check: `{"kind": "http", "url": "https://..."}`, `tcp`, `dns`, `tls`, `icmp`
    /// or `push`.
    pub check: Check,
    /// Seconds between checks, 10 to 86400 (default 60). For push monitors: how often the
    /// job calls.
    pub interval_seconds: Option<u64>,
    /// Milliseconds a check may take, at most the interval (default 10000).
    pub timeout_ms: Option<u64>,
    /// Confirmation thresholds, hysteresis and flapping (defaults: down after 3 failures, up
    /// after 2 successes).
    pub policy: Option<Policy>,
    /// Components this monitor drives, with the status to set when it is down.
    #[serde(default)]
    pub components: Vec<MonitorComponent>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub paused: bool,
    /// Open incidents on a confirmed outage (default true); false sets status only.
    pub auto_incidents: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMonitor {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub description: Option<Option<String>>,
    /// Replaces the check; its kind may not change (delete and create instead).
    pub check: Option<Check>,
    pub interval_seconds: Option<u64>,
    pub timeout_ms: Option<u64>,
    pub policy: Option<Policy>,
    pub components: Option<Vec<MonitorComponent>>,
    pub tags: Option<Vec<String>>,
    /// Pausing stops the checks and releases the monitor's hold on its components.
    pub paused: Option<bool>,
    pub auto_incidents: Option<bool>,
}

/// A created monitor; push monitors also get their secret URL, shown only this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedMonitor {
    #[serde(flatten)]
    pub monitor: Monitor,
    /// Push monitors: the path a job calls (`GET` or `POST`, optionally
    /// `?status=down&msg=...`). Shown once; only a hash is stored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub push_url: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ChecksQuery {
    /// How many results, newest first, 1 to 1000 (default 100).
    pub limit: Option<u32>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PushQuery {
    /// `up` (default) or `down`.
    pub status: Option<String>,
    /// A short message shown with the result.
    pub msg: Option<String>,
    /// How long the job took, in milliseconds.
    pub ping: Option<f64>,
}

/// Every problem with the statuses a monitor sets: only outage statuses make sense.
pub fn component_problems(components: &[MonitorComponent]) -> Vec<String> {
    components
        .iter()
        .filter(|c| !is_down_status(c.down_status))
        .map(|c| {
            format!(
                "components: `down_status` of `{}` is `{}`; use {DOWN_STATUSES}",
                c.component_id, c.down_status
            )
        })
        .collect()
}

fn invalid(problems: Vec<String>) -> ApiError {
    ApiError::validation(problems.join("; "))
}

pub fn valid_tags(tags: Vec<String>) -> ApiResult<Vec<String>> {
    if tags.len() > 50 {
        return Err(ApiError::validation("`tags`: at most 50 tags"));
    }
    tags.into_iter()
        .map(|t| {
            let t = t.trim().to_string();
            if t.is_empty() || t.chars().count() > 64 {
                Err(ApiError::validation(
                    "`tags`: each tag is 1 to 64 characters",
                ))
            } else {
                Ok(t)
            }
        })
        .collect()
}

#[utoipa::path(get, path = "/api/v1/monitors", tag = "monitors", params(ListQuery),
    responses((status = 200, description = "Monitors", body = Paged<Monitor>)))]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> ApiResult<Json<Paged<Monitor>>> {
    Ok(Json(state.store.list_monitors(query.page()?).await?.into()))
}

#[utoipa::path(post, path = "/api/v1/monitors", tag = "monitors", request_body = CreateMonitor,
    responses((status = 201, description = "Created; checks start at once", body = CreatedMonitor)))]
pub async fn create(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    ApiJson(input): ApiJson<CreateMonitor>,
) -> ApiResult<(StatusCode, Json<CreatedMonitor>)> {
    let interval = input.interval_seconds.unwrap_or(DEFAULT_INTERVAL);
    let timeout = input
        .timeout_ms
        .unwrap_or_else(|| DEFAULT_TIMEOUT_MS.min(interval.saturating_mul(1000) / 2));
    let policy = input.policy.unwrap_or_default();
    let mut problems = validate_common(&input.name, interval, timeout, &policy);
    problems.extend(component_problems(&input.components));
    if let Err(more) = input.check.validate() {
        problems.extend(more.into_iter().map(|p| format!("check: {p}")));
    }
    if !problems.is_empty() {
        return Err(invalid(problems));
    }
    let push = matches!(input.check, Check::Push(_)).then(crate::token::issue);
    let new = NewMonitor {
        name: valid_name("name", input.name)?,
        description: valid_description(input.description)?,
        check: input.check,
        interval_seconds: interval,
        timeout_ms: timeout,
        policy,
        components: input.components,
        tags: valid_tags(input.tags)?,
        paused: input.paused,
        auto_incidents: input.auto_incidents.unwrap_or(true),
        push_token_hash: push.as_ref().map(|p| p.secret_hash.clone()),
        managed_by: ManagedBy::Api,
        config_key: None,
    };
    let monitor = state.store.create_monitor(new, &who.actor()).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedMonitor {
            monitor,
            push_url: push.map(|p| format!("/api/v1/push/{}", push_secret(&p.text))),
        }),
    ))
}

/// The secret part of an issued token, used alone in push URLs (it may contain `_`).
pub fn push_secret(token_text: &str) -> &str {
    crate::token::parse(token_text)
        .map(|(_, secret)| secret)
        .unwrap_or(token_text)
}

#[utoipa::path(get, path = "/api/v1/monitors/{id}", tag = "monitors",
    params(("id" = String, Path, description = "Monitor id")),
    responses((status = 200, description = "The monitor with its current verdict", body = Monitor)))]
pub async fn get(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<MonitorId>,
) -> ApiResult<Json<Monitor>> {
    Ok(Json(state.store.get_monitor(id).await?))
}

#[utoipa::path(patch, path = "/api/v1/monitors/{id}", tag = "monitors", request_body = UpdateMonitor,
    params(("id" = String, Path, description = "Monitor id")),
    responses((status = 200, description = "Updated; takes effect at once", body = Monitor)))]
pub async fn update(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    ApiPath(id): ApiPath<MonitorId>,
    ApiJson(input): ApiJson<UpdateMonitor>,
) -> ApiResult<Json<Monitor>> {
    let current = state.store.get_monitor(id).await?;
    if let Some(check) = &input.check {
        if check.kind() != current.check.kind() {
            return Err(ApiError::validation(format!(
                "`check.kind` cannot change from `{}` to `{}`; delete this monitor and create a new one",
                current.check.kind(),
                check.kind()
            )));
        }
    }
    let interval = input.interval_seconds.unwrap_or(current.interval_seconds);
    let timeout = input.timeout_ms.unwrap_or(current.timeout_ms);
    let policy = input
        .policy
        .clone()
        .unwrap_or_else(|| current.policy.clone());
    let name = input.name.clone().unwrap_or_else(|| current.name.clone());
    let mut problems = validate_common(&name, interval, timeout, &policy);
    if let Some(components) = &input.components {
        problems.extend(component_problems(components));
    }
    if let Some(check) = &input.check {
        if let Err(more) = check.validate() {
            problems.extend(more.into_iter().map(|p| format!("check: {p}")));
        }
    }
    if !problems.is_empty() {
        return Err(invalid(problems));
    }
    let patch = MonitorPatch {
        name: input.name.map(|n| valid_name("name", n)).transpose()?,
        description: input.description.map(valid_description).transpose()?,
        check: input.check,
        interval_seconds: input.interval_seconds,
        timeout_ms: input.timeout_ms,
        policy: input.policy,
        components: input.components,
        tags: input.tags.map(valid_tags).transpose()?,
        paused: input.paused,
        auto_incidents: input.auto_incidents,
    };
    Ok(Json(
        state.store.update_monitor(id, patch, &who.actor()).await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/monitors/{id}", tag = "monitors",
    params(("id" = String, Path, description = "Monitor id")),
    responses((status = 204, description = "Deleted with its results; its hold on components is released")))]
pub async fn delete(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    ApiPath(id): ApiPath<MonitorId>,
) -> ApiResult<StatusCode> {
    state.store.delete_monitor(id, &who.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/monitors/{id}/checks", tag = "monitors",
    params(("id" = String, Path, description = "Monitor id"), ChecksQuery),
    responses((status = 200, description = "The newest check results, newest first", body = Vec<CheckRecord>)))]
pub async fn checks(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<MonitorId>,
    ApiQuery(query): ApiQuery<ChecksQuery>,
) -> ApiResult<Json<Vec<CheckRecord>>> {
    let limit = query.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("`limit` must be 1 to 1000, not {limit}"),
        ));
    }
    state.store.get_monitor(id).await?;
    Ok(Json(state.store.recent_checks(id, limit).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ChartQuery {
    /// Hours back from now, 1 to 168 (default 24).
    pub hours: Option<u32>,
}

#[utoipa::path(get, path = "/api/v1/monitors/{id}/latency.svg", tag = "monitors",
    params(("id" = String, Path, description = "Monitor id"), ChartQuery),
    responses((status = 200, description = "Latency over the last hours as an SVG chart (mean line, maximum band, failures marked)", content_type = "image/svg+xml")))]
pub async fn latency_chart(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<MonitorId>,
    ApiQuery(query): ApiQuery<ChartQuery>,
) -> ApiResult<axum::response::Response> {
    use axum::response::IntoResponse;
    let hours = query.hours.unwrap_or(24);
    if !(1..=168).contains(&hours) {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("`hours` must be 1 to 168, not {hours}"),
        ));
    }
    let monitor = state.store.get_monitor(id).await?;
    let to = state.clock.now();
    let from =
        crate::domain::Timestamp::from_datetime(to.0 - chrono::Duration::hours(hours.into()));
    // At the shortest interval (10 s), a week is 60,480 checks: enough for any range here.
    let results = state.store.recent_checks(id, 61_000).await?;
    let buckets = crate::monitor::chart::bucketize(&results, from, to, 96);
    let svg = crate::monitor::chart::latency_svg(&monitor.name, &buckets, from, to);
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "image/svg+xml"),
            (axum::http::header::CACHE_CONTROL, "private, max-age=30"),
        ],
        svg,
    )
        .into_response())
}

#[utoipa::path(post, path = "/api/v1/push/{token}", tag = "monitors", security(()),
    params(("token" = String, Path, description = "The push monitor's secret"), PushQuery),
    responses((status = 200, description = "Heartbeat recorded"),
              (status = 404, description = "No push monitor has this secret", body = crate::http::error::ErrorBody)))]
pub async fn push(
    State(state): State<AppState>,
    Path(token): Path<String>,
    ApiQuery(query): ApiQuery<PushQuery>,
) -> ApiResult<Json<serde_json::Value>> {
    let down = match query.status.as_deref() {
        None | Some("up") => false,
        Some("down") => true,
        Some(other) => {
            return Err(ApiError::bad_request(
                "invalid_query",
                format!("`status` must be `up` or `down`, not `{other}`"),
            ))
        }
    };
    let unknown = || {
        ApiError::not_found(
            "no push monitor has this URL; copy it again from the monitor's creation answer",
        )
    };
    if token.len() > 100 {
        return Err(unknown());
    }
    let monitor = state
        .store
        .find_push_monitor(&crate::token::hash_secret(&token))
        .await?
        .ok_or_else(unknown)?;
    let message: String = query
        .msg
        .unwrap_or_else(|| {
            if down {
                "the job reported a failure".into()
            } else {
                "heartbeat received".into()
            }
        })
        .chars()
        .take(500)
        .collect();
    let timings = Timings {
        total_ms: query
            .ping
            .filter(|p| p.is_finite() && *p >= 0.0)
            .unwrap_or(0.0),
        ..Timings::default()
    };
    let report = if down {
        ProbeReport::down(ErrorClass::Reported, message, timings)
    } else {
        ProbeReport::up(message, timings)
    };
    let outcome = report.outcome;
    match &state.monitors {
        Some(monitors) => monitors.beat(monitor.id, report).await,
        None => {
            return Err(ApiError::unavailable());
        }
    }
    Ok(Json(serde_json::json!({
        "status": "ok",
        "monitor_id": monitor.id,
        "outcome": if outcome == Outcome::Down { "down" } else { "up" },
    })))
}

/// `GET` on the push URL does the same as `POST`, for jobs that can only fetch a URL.
#[utoipa::path(get, path = "/api/v1/push/{token}", tag = "monitors", security(()),
    params(("token" = String, Path, description = "The push monitor's secret"), PushQuery),
    responses((status = 200, description = "Heartbeat recorded"),
              (status = 404, description = "No push monitor has this secret", body = crate::http::error::ErrorBody)))]
pub async fn push_get(
    state: State<AppState>,
    token: Path<String>,
    query: ApiQuery<PushQuery>,
) -> ApiResult<Json<serde_json::Value>> {
    push(state, token, query).await
}

/// The longest span of hour roll-ups one request returns (about three months).
const MAX_HOURS_SPAN_DAYS: i64 = 93;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RollupsQuery {
    /// `hour` or `day` (default `day`).
    #[param(inline)]
    pub period: Option<Period>,
    /// RFC 3339; the first roll-up returned is the one holding this time. Default: 48 hours
    /// ago for hours, 90 days ago for days; hours reach back at most 93 days.
    pub since: Option<String>,
}

/// A monitor's uptime over the windows ending at `as_of`.
#[derive(Debug, Serialize, ToSchema)]
pub struct MonitorUptime {
    #[schema(value_type = String, format = Uuid)]
    pub monitor_id: MonitorId,
    /// The end of every window.
    #[schema(value_type = String, format = DateTime)]
    pub as_of: crate::domain::Timestamp,
    /// Percent of checks that passed (up or degraded) in each window; null for a window
    /// without checks.
    pub uptime_percent: Uptime,
}

#[utoipa::path(get, path = "/api/v1/monitors/{id}/uptime", tag = "monitors",
    params(("id" = String, Path, description = "Monitor id")),
    responses((status = 200, description = "Uptime over 24 hours, 7, 30, 90 and 365 days", body = MonitorUptime)))]
pub async fn uptime(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<MonitorId>,
) -> ApiResult<Json<MonitorUptime>> {
    let now = state.clock.now();
    Ok(Json(MonitorUptime {
        monitor_id: id,
        as_of: now,
        uptime_percent: state.store.monitor_uptime(id, now).await?,
    }))
}

#[utoipa::path(get, path = "/api/v1/monitors/{id}/rollups", tag = "monitors",
    params(("id" = String, Path, description = "Monitor id"), RollupsQuery),
    responses((status = 200, description = "Hourly or daily figures, oldest first; a period \
        appears once it has checks and is rolled up (hours a few minutes after they end; the \
        current day covers its rolled-up hours)", body = Vec<Rollup>)))]
pub async fn rollups(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<MonitorId>,
    ApiQuery(query): ApiQuery<RollupsQuery>,
) -> ApiResult<Json<Vec<Rollup>>> {
    let period = query.period.unwrap_or(Period::Day);
    let now = state.clock.now();
    let since = match query.since {
        Some(text) => crate::domain::Timestamp::parse(&text).ok_or_else(|| {
            ApiError::bad_request(
                "invalid_query",
                format!("`since` must be an RFC 3339 time, not `{text}`"),
            )
        })?,
        None => crate::domain::Timestamp::from_datetime(
            now.0
                - match period {
                    Period::Hour => chrono::Duration::hours(48),
                    Period::Day => chrono::Duration::days(90),
                },
        ),
    };
    if period == Period::Hour && since.0 < now.0 - chrono::Duration::days(MAX_HOURS_SPAN_DAYS) {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!(
                "hour roll-ups reach back at most {MAX_HOURS_SPAN_DAYS} days; use `period=day` for longer spans"
            ),
        ));
    }
    state.store.get_monitor(id).await?;
    Ok(Json(state.store.monitor_rollups(id, period, since).await?))
}
