//! `/api/v1/channels`, `/api/v1/subscribers`, `/api/v1/deliveries`,
//! `/api/v1/escalation-policies`, `/api/v1/escalations` and `/api/v1/notifications/status`:
//! where notifications go, who follows the page, the outbox with its dead letters, on-call
//! escalation, and the pipeline's health (see `crate::notify`). Channel secrets are
//! never shown back: responses carry them masked.

use super::*;
use crate::domain::{
    ChannelId, ComponentId, EscalationId, EscalationPolicyId, MonitorId, SubscriberId, VendorId,
};
use crate::http::auth::Principal;
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::http::AppState;
use crate::notify::alarm::AlarmState;
use crate::notify::channel::{Receipt, Target};
use crate::notify::escalation::{
    validate_policy, Escalation, EscalationPolicy, EscalationState, EscalationStep, NewPolicy,
    PolicyPatch,
};
use crate::notify::record::{
    validate_channel, validate_subscriber, Channel, ChannelPatch, Delivery, DeliveryState,
    NewChannel, NewSubscriber, OutboxStats, Subscriber, SubscriberKind, SubscriberOrigin,
    SubscriberPatch, DEFAULT_CHANNEL_EVENTS, DEFAULT_CONCURRENCY, DEFAULT_RATE_PER_MINUTE,
};
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateChannel {
    pub name: String,
    /// Where messages go: `{"type": "slack", "url": "..."}`; types: email, webhook, slack,
    /// discord, teams, mattermost, google_chat, telegram, ntfy, pager_duty, opsgenie.
    #[schema(value_type = Object)]
    pub target: Target,
    /// Event kinds or prefixes with `*` (default incidents, maintenance, monitor state
    /// changes and vendor incidents).
    pub events: Option<Vec<String>>,
    /// Component and vendor ids to follow (default all).
    #[serde(default)]
    pub subjects: Vec<String>,
    pub enabled: Option<bool>,
    /// Sends per minute at most (default 60).
    pub rate_per_minute: Option<u32>,
    /// Sends at once at most (default 4).
    pub concurrency: Option<u32>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateChannel {
    pub name: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub target: Option<Target>,
    pub events: Option<Vec<String>>,
    pub subjects: Option<Vec<String>>,
    pub enabled: Option<bool>,
    pub rate_per_minute: Option<u32>,
    pub concurrency: Option<u32>,
}

/// The answer to "send test".
#[derive(Debug, Serialize, ToSchema)]
pub struct TestResult {
    pub sent: bool,
    /// The receiver's status (HTTP or SMTP code), when it answered.
    pub status: Option<u16>,
    /// The start of the receiver's answer, or what went wrong.
    pub detail: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSubscriber {
    /// `email` or `webhook`.
    pub kind: SubscriberKind,
    /// The email address or webhook URL.
    pub address: String,
    /// Component (and vendor) ids to follow; empty or absent follows every component.
    #[serde(default)]
    pub component_ids: Vec<String>,
    /// Maintenance notices too (default true).
    pub maintenance: Option<bool>,
    /// Every component status change too (default false).
    pub component_changes: Option<bool>,
    /// Send the double opt-in mail and wait for its link instead of confirming at once
    /// (email only; default false).
    pub require_confirmation: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateSubscriber {
    pub component_ids: Option<Vec<String>>,
    pub maintenance: Option<bool>,
    pub component_changes: Option<bool>,
}

/// A created webhook subscriber carries its signing secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedSubscriber {
    #[serde(flatten)]
    pub subscriber: Subscriber,
    /// Webhook subscribers: the HMAC secret of the `Pharos-Signature` header. Shown once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeliveriesQuery {
    /// `pending`, `sent`, `dead` or `cancelled` (default all).
    pub state: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// The pipeline at a glance.
#[derive(Debug, Serialize, ToSchema)]
pub struct PipelineStatus {
    pub enabled: bool,
    pub outbox: OutboxStats,
    /// The last event in the log; `outbox.planned_seq` catches up with it.
    pub last_event_seq: i64,
    pub alarm: AlarmState,
    /// Whether an out-of-band alarm target is configured (`[notifications.alarm]`).
    pub alarm_target_configured: bool,
}

fn invalid(message: String) -> ApiError {
    ApiError::validation(message)
}

pub(crate) fn check_events(events: &[String]) -> ApiResult<()> {
    for e in events {
        reject_nul("events", e)?;
    }
    Ok(())
}

// ---- channels -------------------------------------------------------------------------------

#[utoipa::path(get, path = "/api/v1/channels", tag = "notifications",
    responses((status = 200, description = "Every channel, by name; secrets masked", body = Paged<Channel>)))]
pub async fn list_channels(State(state): State<AppState>) -> ApiResult<Json<Paged<Channel>>> {
    let channels = state.store.list_channels().await?;
    Ok(Json(Paged {
        data: channels.into_iter().map(Channel::redacted).collect(),
        next_cursor: None,
    }))
}

#[utoipa::path(post, path = "/api/v1/channels", tag = "notifications", request_body = CreateChannel,
    responses((status = 201, description = "Created; it gets the events planned from now on", body = Channel)))]
pub async fn create_channel(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    ApiJson(input): ApiJson<CreateChannel>,
) -> ApiResult<(StatusCode, Json<Channel>)> {
    let events = input.events.unwrap_or_else(|| {
        DEFAULT_CHANNEL_EVENTS
            .iter()
            .map(|s| s.to_string())
            .collect()
    });
    check_events(&events)?;
    let new = NewChannel {
        name: valid_name("name", input.name)?,
        target: input.target,
        events,
        subjects: input.subjects,
        enabled: input.enabled.unwrap_or(true),
        rate_per_minute: input.rate_per_minute.unwrap_or(DEFAULT_RATE_PER_MINUTE),
        concurrency: input.concurrency.unwrap_or(DEFAULT_CONCURRENCY),
    };
    validate_channel(&new).map_err(invalid)?;
    let channel = state.store.create_channel(new, &who.actor()).await?;
    Ok((StatusCode::CREATED, Json(channel.redacted())))
}

#[utoipa::path(get, path = "/api/v1/channels/{id}", tag = "notifications",
    params(("id" = String, Path, description = "Channel id")),
    responses((status = 200, description = "The channel; secrets masked", body = Channel)))]
pub async fn get_channel(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<ChannelId>,
) -> ApiResult<Json<Channel>> {
    Ok(Json(state.store.get_channel(id).await?.redacted()))
}

#[utoipa::path(patch, path = "/api/v1/channels/{id}", tag = "notifications", request_body = UpdateChannel,
    params(("id" = String, Path, description = "Channel id")),
    responses((status = 200, description = "Updated; takes effect at once", body = Channel)))]
pub async fn update_channel(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    ApiPath(id): ApiPath<ChannelId>,
    ApiJson(input): ApiJson<UpdateChannel>,
) -> ApiResult<Json<Channel>> {
    if let Some(events) = &input.events {
        check_events(events)?;
    }
    let patch = ChannelPatch {
        name: input.name.map(|n| valid_name("name", n)).transpose()?,
        target: input.target,
        events: input.events,
        subjects: input.subjects,
        enabled: input.enabled,
        rate_per_minute: input.rate_per_minute,
        concurrency: input.concurrency,
    };
    let channel = state.store.update_channel(id, patch, &who.actor()).await?;
    Ok(Json(channel.redacted()))
}

#[utoipa::path(delete, path = "/api/v1/channels/{id}", tag = "notifications",
    params(("id" = String, Path, description = "Channel id")),
    responses((status = 204, description = "Deleted; its pending deliveries are cancelled")))]
pub async fn delete_channel(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    ApiPath(id): ApiPath<ChannelId>,
) -> ApiResult<StatusCode> {
    state.store.delete_channel(id, &who.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/channels/{id}/test", tag = "notifications",
    params(("id" = String, Path, description = "Channel id")),
    responses((status = 200, description = "Sent a test message now (outside the outbox); `sent` says whether the receiver took it", body = TestResult)))]
pub async fn test_channel(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<ChannelId>,
) -> ApiResult<Json<TestResult>> {
    let channel = state.store.get_channel(id).await?;
    let Some(notifications) = &state.notifications else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "notifications_disabled",
            "notifications are turned off (`[notifications] enabled = false`)",
        ));
    };
    let result = notifications
        .send_test(&channel.target, state.clock.now())
        .await;
    Ok(Json(match result {
        Ok(Receipt { status, response }) => TestResult {
            sent: true,
            status,
            detail: response,
        },
        Err(err) => TestResult {
            sent: false,
            status: err.status,
            detail: err.message,
        },
    }))
}

// ---- subscribers ----------------------------------------------------------------------------

#[utoipa::path(get, path = "/api/v1/subscribers", tag = "notifications",
    params(ListQuery),
    responses((status = 200, description = "Subscribers, oldest first", body = Paged<Subscriber>)))]
pub async fn list_subscribers(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> ApiResult<Json<Paged<Subscriber>>> {
    Ok(Json(
        state.store.list_subscribers(query.page()?).await?.into(),
    ))
}

#[utoipa::path(post, path = "/api/v1/subscribers", tag = "notifications", request_body = CreateSubscriber,
    responses((status = 201, description = "Created (confirmed at once unless `require_confirmation`); webhook subscribers get their signing secret, shown once", body = CreatedSubscriber)))]
pub async fn create_subscriber(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    ApiJson(input): ApiJson<CreateSubscriber>,
) -> ApiResult<(StatusCode, Json<CreatedSubscriber>)> {
    reject_nul("address", &input.address)?;
    let confirm_by_mail = input.require_confirmation.unwrap_or(false);
    if confirm_by_mail && input.kind != SubscriberKind::Email {
        return Err(ApiError::validation(
            "`require_confirmation` applies to email subscribers only",
        ));
    }
    let secret = (input.kind == SubscriberKind::Webhook).then(new_secret);
    let new = NewSubscriber {
        kind: input.kind,
        address: input.address.trim().to_string(),
        subjects: input.component_ids,
        maintenance: input.maintenance.unwrap_or(true),
        component_changes: input.component_changes.unwrap_or(false),
        confirmed: !confirm_by_mail,
        origin: SubscriberOrigin::Api,
        secret: secret.clone(),
    };
    validate_subscriber(&new).map_err(invalid)?;
    let subscriber = state.store.create_subscriber(new, &who.actor()).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedSubscriber { subscriber, secret }),
    ))
}

/// A webhook subscriber's signing secret: 256 random bits, hex.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::Rng::fill(&mut rand::rng(), &mut bytes[..]);
    hex::encode(bytes)
}

#[utoipa::path(get, path = "/api/v1/subscribers/{id}", tag = "notifications",
    params(("id" = String, Path, description = "Subscriber id")),
    responses((status = 200, description = "The subscriber", body = Subscriber)))]
pub async fn get_subscriber(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<SubscriberId>,
) -> ApiResult<Json<Subscriber>> {
    Ok(Json(state.store.get_subscriber(id).await?))
}

#[utoipa::path(patch, path = "/api/v1/subscribers/{id}", tag = "notifications", request_body = UpdateSubscriber,
    params(("id" = String, Path, description = "Subscriber id")),
    responses((status = 200, description = "Preferences updated", body = Subscriber)))]
pub async fn update_subscriber(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    ApiPath(id): ApiPath<SubscriberId>,
    ApiJson(input): ApiJson<UpdateSubscriber>,
) -> ApiResult<Json<Subscriber>> {
    if let Some(ids) = &input.component_ids {
        for s in ids {
            if s.parse::<uuid::Uuid>().is_err() {
                return Err(ApiError::validation(format!(
                    "component_ids: `{s}` is not a component or vendor id (a UUID)"
                )));
            }
        }
    }
    let patch = SubscriberPatch {
        subjects: input.component_ids,
        maintenance: input.maintenance,
        component_changes: input.component_changes,
    };
    Ok(Json(
        state
            .store
            .update_subscriber(id, patch, &who.actor())
            .await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/subscribers/{id}", tag = "notifications",
    params(("id" = String, Path, description = "Subscriber id")),
    responses((status = 204, description = "Unsubscribed; pending deliveries are cancelled")))]
pub async fn delete_subscriber(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    ApiPath(id): ApiPath<SubscriberId>,
) -> ApiResult<StatusCode> {
    state.store.delete_subscriber(id, &who.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- deliveries -----------------------------------------------------------------------------

#[utoipa::path(get, path = "/api/v1/deliveries", tag = "notifications",
    params(DeliveriesQuery),
    responses((status = 200, description = "Deliveries, newest first; `state=dead` lists the dead letters with their last error", body = Paged<Delivery>)))]
pub async fn list_deliveries(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<DeliveriesQuery>,
) -> ApiResult<Json<Paged<Delivery>>> {
    let filter = match query.state.as_deref() {
        None => None,
        Some(s) => Some(s.parse::<DeliveryState>().map_err(|_| {
            ApiError::bad_request(
                "invalid_query",
                format!("`state` must be pending, sent, dead or cancelled, not `{s}`"),
            )
        })?),
    };
    let page = ListQuery {
        limit: query.limit,
        cursor: query.cursor,
    }
    .page()?;
    Ok(Json(
        state.store.list_deliveries(filter, page).await?.into(),
    ))
}

#[utoipa::path(get, path = "/api/v1/deliveries/{key}", tag = "notifications",
    params(("key" = String, Path, description = "Delivery key (its idempotency key)")),
    responses((status = 200, description = "The delivery with its last error and the receiver's answer", body = Delivery)))]
pub async fn get_delivery(
    State(state): State<AppState>,
    ApiPath(key): ApiPath<String>,
) -> ApiResult<Json<Delivery>> {
    Ok(Json(state.store.get_delivery(&key).await?))
}

#[utoipa::path(post, path = "/api/v1/deliveries/{key}/retry", tag = "notifications",
    params(("key" = String, Path, description = "Delivery key")),
    responses((status = 200, description = "A dead or cancelled delivery queued again, due now", body = Delivery)))]
pub async fn retry_delivery(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    ApiPath(key): ApiPath<String>,
) -> ApiResult<Json<Delivery>> {
    let delivery = state.store.retry_delivery(&key, &who.actor()).await?;
    if let Some(n) = &state.notifications {
        n.wake();
    }
    Ok(Json(delivery))
}

#[utoipa::path(get, path = "/api/v1/notifications/status", tag = "notifications",
    responses((status = 200, description = "The pipeline: outbox figures, planning progress and the alarm", body = PipelineStatus)))]
pub async fn status(State(state): State<AppState>) -> ApiResult<Json<PipelineStatus>> {
    let outbox = state.store.outbox_stats().await?;
    let last_event_seq = state.store.last_event_seq().await?;
    let (enabled, alarm, alarm_target_configured) = match &state.notifications {
        Some(n) => (true, n.alarm(), n.alarm_target_configured()),
        None => (false, AlarmState::default(), false),
    };
    Ok(Json(PipelineStatus {
        enabled,
        outbox,
        last_event_seq,
        alarm,
        alarm_target_configured,
    }))
}

// ---- escalation -----------------------------------------------------------------------------

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePolicy {
    pub name: String,
    /// Steps in order: `{"channel_ids": [...], "wait_seconds": 300}`.
    pub steps: Vec<EscalationStep>,
    /// Extra rounds through the steps after the first (default 0).
    pub repeat: Option<u32>,
    /// Components whose incidents it escalates.
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub components: Vec<ComponentId>,
    /// Monitors whose going down it escalates.
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub monitors: Vec<MonitorId>,
    /// Vendors whose incidents it escalates.
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub vendors: Vec<VendorId>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePolicy {
    pub name: Option<String>,
    pub steps: Option<Vec<EscalationStep>>,
    pub repeat: Option<u32>,
    #[schema(value_type = Option<Vec<String>>)]
    pub components: Option<Vec<ComponentId>>,
    #[schema(value_type = Option<Vec<String>>)]
    pub monitors: Option<Vec<MonitorId>>,
    #[schema(value_type = Option<Vec<String>>)]
    pub vendors: Option<Vec<VendorId>>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EscalationsQuery {
    /// `active`, `acknowledged`, `resolved` or `exhausted` (default all).
    pub state: Option<String>,
    /// How many, newest first, 1 to 500 (default 50).
    pub limit: Option<u32>,
}

#[utoipa::path(get, path = "/api/v1/escalation-policies", tag = "notifications",
    responses((status = 200, description = "Every escalation policy, by name", body = Paged<EscalationPolicy>)))]
pub async fn list_policies(
    State(state): State<AppState>,
) -> ApiResult<Json<Paged<EscalationPolicy>>> {
    Ok(Json(Paged {
        data: state.store.list_policies().await?,
        next_cursor: None,
    }))
}

#[utoipa::path(post, path = "/api/v1/escalation-policies", tag = "notifications", request_body = CreatePolicy,
    responses((status = 201, description = "Created; it escalates what opens from now on", body = EscalationPolicy)))]
pub async fn create_policy(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    ApiJson(input): ApiJson<CreatePolicy>,
) -> ApiResult<(StatusCode, Json<EscalationPolicy>)> {
    let new = NewPolicy {
        name: valid_name("name", input.name)?,
        steps: input.steps,
        repeat: input.repeat.unwrap_or(0),
        components: input.components,
        monitors: input.monitors,
        vendors: input.vendors,
    };
    validate_policy(&new).map_err(invalid)?;
    let policy = state.store.create_policy(new, &who.actor()).await?;
    Ok((StatusCode::CREATED, Json(policy)))
}

#[utoipa::path(get, path = "/api/v1/escalation-policies/{id}", tag = "notifications",
    params(("id" = String, Path, description = "Escalation policy id")),
    responses((status = 200, description = "The policy", body = EscalationPolicy)))]
pub async fn get_policy(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<EscalationPolicyId>,
) -> ApiResult<Json<EscalationPolicy>> {
    Ok(Json(state.store.get_policy(id).await?))
}

#[utoipa::path(patch, path = "/api/v1/escalation-policies/{id}", tag = "notifications", request_body = UpdatePolicy,
    params(("id" = String, Path, description = "Escalation policy id")),
    responses((status = 200, description = "Updated; running escalations continue with the new steps", body = EscalationPolicy)))]
pub async fn update_policy(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    ApiPath(id): ApiPath<EscalationPolicyId>,
    ApiJson(input): ApiJson<UpdatePolicy>,
) -> ApiResult<Json<EscalationPolicy>> {
    let patch = PolicyPatch {
        name: input.name.map(|n| valid_name("name", n)).transpose()?,
        steps: input.steps,
        repeat: input.repeat,
        components: input.components,
        monitors: input.monitors,
        vendors: input.vendors,
    };
    Ok(Json(
        state.store.update_policy(id, patch, &who.actor()).await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/escalation-policies/{id}", tag = "notifications",
    params(("id" = String, Path, description = "Escalation policy id")),
    responses((status = 204, description = "Deleted; its running escalations end")))]
pub async fn delete_policy(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    ApiPath(id): ApiPath<EscalationPolicyId>,
) -> ApiResult<StatusCode> {
    state.store.delete_policy(id, &who.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/escalations", tag = "notifications",
    params(EscalationsQuery),
    responses((status = 200, description = "Escalations, newest first", body = Paged<Escalation>)))]
pub async fn list_escalations(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<EscalationsQuery>,
) -> ApiResult<Json<Paged<Escalation>>> {
    let filter = match query.state.as_deref() {
        None => None,
        Some(s) => Some(s.parse::<EscalationState>().map_err(|_| {
            ApiError::bad_request(
                "invalid_query",
                format!("`state` must be active, acknowledged, resolved or exhausted, not `{s}`"),
            )
        })?),
    };
    let limit = query.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("`limit` must be 1 to 500, not {limit}"),
        ));
    }
    Ok(Json(Paged {
        data: state.store.list_escalations(filter, limit).await?,
        next_cursor: None,
    }))
}

#[utoipa::path(get, path = "/api/v1/escalations/{id}", tag = "notifications",
    params(("id" = String, Path, description = "Escalation id")),
    responses((status = 200, description = "The escalation: its step, round and state", body = Escalation)))]
pub async fn get_escalation(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<EscalationId>,
) -> ApiResult<Json<Escalation>> {
    Ok(Json(state.store.get_escalation(id).await?))
}

#[utoipa::path(post, path = "/api/v1/escalations/{id}/acknowledge", tag = "notifications",
    params(("id" = String, Path, description = "Escalation id")),
    responses((status = 200, description = "Acknowledged (no further steps); an escalation that already ended is returned as it is", body = Escalation)))]
pub async fn acknowledge_escalation(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    ApiPath(id): ApiPath<EscalationId>,
) -> ApiResult<Json<Escalation>> {
    Ok(Json(
        state.store.acknowledge_escalation(id, &who.actor()).await?,
    ))
}
