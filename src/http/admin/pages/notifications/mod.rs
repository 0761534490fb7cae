//! Notifications (admin only, but for acknowledging escalations): the pipeline's health and
//! the channels on the overview (`/admin/notifications`), then one module per area:
//! [`channels`] (create and edit per kind, secrets write-only, send test), [`outbox`]
//! (subscribers, deliveries and dead letters with retry) and [`escalation`] (policies and
//! open escalations with acknowledge).
//!
//! Every change goes through the store calls and the validation the API uses
//! (`crate::notify::record`, `crate::notify::escalation`, `http::api_v1::notifications`), so
//! the rules are written once. Subscriber addresses are shown on these pages, to admins, and
//! never logged.

pub mod channels;
pub mod escalation;
pub mod outbox;

use super::{html, when, Chrome, Flash};
use crate::http::admin::session::CurrentUser;
use crate::http::admin::AdminError;
use crate::http::error::ApiError;
use crate::http::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

/// A form read as its pairs, so that repeated fields (checkboxes) are all kept.
pub type Pairs = Vec<(String, String)>;

/// The first value of field `name` (empty when absent).
pub fn field<'a>(pairs: &'a Pairs, name: &str) -> &'a str {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

/// Every value of field `name`, in order.
pub fn all(pairs: &Pairs, name: &str) -> Vec<String> {
    pairs
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .collect()
}

/// The non-empty lines (or comma-separated items) of a text area, trimmed.
pub fn lines(text: &str) -> Vec<String> {
    text.split(['\n', ','])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// An API validation error as the admin page shows it (same status, same message).
pub fn from_api(err: ApiError) -> AdminError {
    AdminError::new(err.status, err.message)
}

/// "3 min ago" style age of a time, from `now`.
pub fn age(now: &crate::domain::Timestamp, then: &crate::domain::Timestamp) -> String {
    let secs = (now.0 - then.0).num_seconds().max(0);
    match secs {
        0..=89 => format!("{secs} s"),
        90..=5399 => format!("{} min", secs / 60),
        5400..=172_799 => format!("{} h", secs / 3600),
        _ => format!("{} d", secs / 86_400),
    }
}

/// The pipeline's health, as the overview shows it.
pub struct Health {
    pub enabled: bool,
    pub pending: u64,
    pub due: u64,
    pub oldest_due: Option<String>,
    pub dead: u64,
    pub planned_seq: i64,
    pub last_event_seq: i64,
    pub alarm_raised: bool,
    pub alarm_since: Option<String>,
    pub alarm_reasons: Vec<String>,
    pub alarm_target_configured: bool,
}

/// Reads the outbox figures and the alarm (the same as `/api/v1/notifications/status`).
pub async fn health(state: &AppState) -> Result<Health, AdminError> {
    let stats = state.store.outbox_stats().await?;
    let last_event_seq = state.store.last_event_seq().await?;
    let now = state.clock.now();
    let (enabled, alarm, target) = match &state.notifications {
        Some(n) => (true, n.alarm(), n.alarm_target_configured()),
        None => (false, Default::default(), false),
    };
    let alarm: crate::notify::alarm::AlarmState = alarm;
    Ok(Health {
        enabled,
        pending: stats.pending,
        due: stats.due,
        oldest_due: stats
            .oldest_due_at
            .as_ref()
            .map(|t| format!("{} ago ({})", age(&now, t), when(t))),
        dead: stats.dead,
        planned_seq: stats.planned_seq,
        last_event_seq,
        alarm_raised: alarm.raised,
        alarm_since: alarm.since.as_ref().map(when),
        alarm_reasons: alarm.reasons.iter().map(|r| r.to_string()).collect(),
        alarm_target_configured: target,
    })
}

/// One channel in the overview's table.
pub struct ChannelRow {
    pub id: String,
    pub name: String,
    pub kind: &'static str,
    pub events: String,
    pub subjects: usize,
    pub enabled: bool,
}

#[derive(Template)]
#[template(path = "admin/notifications/index.html")]
struct OverviewPage {
    chrome: Chrome,
    health: Health,
    channels: Vec<ChannelRow>,
    kinds: &'static [(&'static str, &'static str)],
}

#[utoipa::path(get, path = "/admin/notifications", tag = "admin", security(()),
    responses((status = 200, description = "The notification pipeline's health and the channels (admins only)", content_type = "text/html"),
              (status = 303, description = "Not signed in: to the sign-in form"),
              (status = 403, description = "Not an admin", content_type = "text/html")))]
pub async fn overview(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: Flash,
) -> Result<Response, AdminError> {
    user.require_admin()?;
    let health = health(&state).await?;
    let channels = state
        .store
        .list_channels()
        .await?
        .into_iter()
        .map(|c| ChannelRow {
            id: c.id.to_string(),
            kind: c.target.kind(),
            events: c.events.join(", "),
            subjects: c.subjects.len(),
            enabled: c.enabled,
            name: c.name,
        })
        .collect();
    Ok(html(
        StatusCode::OK,
        &OverviewPage {
            chrome: Chrome::new(&state, &user, "Notifications", "notifications", flash),
            health,
            channels,
            kinds: channels::KINDS,
        },
    ))
}
