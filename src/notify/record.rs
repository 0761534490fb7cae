//! The notification records Pharos stores and the management API serves: channels,
//! subscribers and deliveries (the outbox), with the validation the API and the store share.

use super::channel::Target;
use crate::domain::status::string_enum;
use crate::domain::{ChannelId, SubscriberId, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The event kinds a channel gets when it does not say (`events` left out).
pub const DEFAULT_CHANNEL_EVENTS: &[&str] = &[
    "incident.*",
    "maintenance.*",
    "monitor.state_changed",
    "vendor.incident_*",
];
pub const DEFAULT_RATE_PER_MINUTE: u32 = 60;
pub const DEFAULT_CONCURRENCY: u32 = 4;
const MAX_RATE_PER_MINUTE: u32 = 100_000;
const MAX_CONCURRENCY: u32 = 256;
const MAX_PATTERNS: usize = 64;
const MAX_SUBJECTS: usize = 500;

/// A destination the operator configured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Channel {
    #[schema(value_type = String, format = Uuid)]
    pub id: ChannelId,
    pub name: String,
    /// Where messages go (`{"type": "slack", "url": ...}`). The API shows secrets masked.
    #[schema(value_type = Object)]
    pub target: Target,
    /// Event-kind patterns the channel wants (`incident.*`, `monitor.state_changed`).
    pub events: Vec<String>,
    /// Component and vendor ids the channel follows; empty means all.
    pub subjects: Vec<String>,
    pub enabled: bool,
    /// Sends per minute at most.
    pub rate_per_minute: u32,
    /// Sends at once at most.
    pub concurrency: u32,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

impl Channel {
    /// The channel as the API shows it: secrets masked.
    pub fn redacted(mut self) -> Channel {
        self.target = self.target.redacted();
        self
    }

    /// Whether the channel wants events of this kind.
    pub fn wants(&self, kind: &str) -> bool {
        self.enabled && self.events.iter().any(|p| pattern_matches(p, kind))
    }
}

/// `incident.*` matches every `incident.` kind, `vendor.incident_*` every kind with that
/// prefix, anything else only itself; `*` matches everything.
pub fn pattern_matches(pattern: &str, kind: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => kind.starts_with(prefix),
        None => pattern == kind,
    }
}

/// A channel to create.
#[derive(Clone, Debug)]
pub struct NewChannel {
    pub name: String,
    pub target: Target,
    pub events: Vec<String>,
    pub subjects: Vec<String>,
    pub enabled: bool,
    pub rate_per_minute: u32,
    pub concurrency: u32,
}

/// Changes to a channel; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct ChannelPatch {
    pub name: Option<String>,
    pub target: Option<Target>,
    pub events: Option<Vec<String>>,
    pub subjects: Option<Vec<String>>,
    pub enabled: Option<bool>,
    pub rate_per_minute: Option<u32>,
    pub concurrency: Option<u32>,
}

/// Checks a channel's fields; the message says what is wrong and what to do.
pub fn validate_channel(c: &NewChannel) -> Result<(), String> {
    let name = c.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err("name: must be 1 to 100 characters".into());
    }
    c.target.validate().map_err(|e| format!("target: {e}"))?;
    if c.events.is_empty() || c.events.len() > MAX_PATTERNS {
        return Err(format!(
            "events: give 1 to {MAX_PATTERNS} event kinds or patterns, such as \"incident.*\""
        ));
    }
    for p in &c.events {
        let known = crate::events::EventKind::ALL
            .iter()
            .any(|k| pattern_matches(p, k.as_str()));
        if !known {
            return Err(format!(
                "events: `{p}` matches no event kind; use names from /api/v1/events such as \"incident.opened\", or a prefix with *, such as \"incident.*\""
            ));
        }
    }
    if c.subjects.len() > MAX_SUBJECTS {
        return Err(format!("subjects: at most {MAX_SUBJECTS} ids"));
    }
    for s in &c.subjects {
        if s.parse::<uuid::Uuid>().is_err() {
            return Err(format!(
                "subjects: `{s}` is not a component or vendor id (a UUID)"
            ));
        }
    }
    if c.rate_per_minute == 0 || c.rate_per_minute > MAX_RATE_PER_MINUTE {
        return Err(format!(
            "rate_per_minute: must be 1 to {MAX_RATE_PER_MINUTE}"
        ));
    }
    if c.concurrency == 0 || c.concurrency > MAX_CONCURRENCY {
        return Err(format!("concurrency: must be 1 to {MAX_CONCURRENCY}"));
    }
    Ok(())
}

string_enum!(
    /// How a subscriber is reached.
    SubscriberKind, "subscriber kind", {
        Email => "email",
        Webhook => "webhook",
    }
);

string_enum!(
    /// Who created a subscription: the management API (trusted: confirmed at once unless it
    /// asks for a confirmation) or the subscribe form on the status page (email needs double
    /// opt-in).
    SubscriberOrigin, "subscriber origin", {
        Api => "api",
        Page => "page",
    }
);

/// Someone following the page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Subscriber {
    #[schema(value_type = String, format = Uuid)]
    pub id: SubscriberId,
    pub kind: SubscriberKind,
    /// The email address or webhook URL. Shown only to the management API.
    pub address: String,
    /// Component and vendor ids followed; empty means every component (vendors must be
    /// chosen by id).
    pub subjects: Vec<String>,
    /// Maintenance notices as well as incidents.
    pub maintenance: bool,
    /// Every component status change as well.
    pub component_changes: bool,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub confirmed_at: Option<Timestamp>,
    pub origin: SubscriberOrigin,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

/// A subscriber to create.
#[derive(Clone, Debug)]
pub struct NewSubscriber {
    pub kind: SubscriberKind,
    pub address: String,
    pub subjects: Vec<String>,
    pub maintenance: bool,
    pub component_changes: bool,
    /// Confirmed at creation (the API) or only after the confirmation link (the page).
    pub confirmed: bool,
    pub origin: SubscriberOrigin,
    /// Webhook subscribers: the signing secret.
    pub secret: Option<String>,
}

/// What the delivery worker needs to reach a subscriber.
#[derive(Clone, Debug)]
pub struct SubscriberTarget {
    pub id: SubscriberId,
    pub kind: SubscriberKind,
    pub address: String,
    pub secret: Option<String>,
    pub confirmed: bool,
    /// A reader's webhook (from the page) may reach only public addresses.
    pub origin: SubscriberOrigin,
}

/// Changes to a subscriber's preferences.
#[derive(Clone, Debug, Default)]
pub struct SubscriberPatch {
    pub subjects: Option<Vec<String>>,
    pub maintenance: Option<bool>,
    pub component_changes: Option<bool>,
}

/// One address per kind: the key that makes a second subscription of the same address a
/// conflict.
pub fn address_key(kind: SubscriberKind, address: &str) -> String {
    format!("{}:{}", kind.as_str(), address.trim().to_lowercase())
}

/// Checks a subscriber's address and subjects.
pub fn validate_subscriber(s: &NewSubscriber) -> Result<(), String> {
    let address = s.address.trim();
    match s.kind {
        SubscriberKind::Email => Target::Email {
            to: vec![address.to_string()],
        }
        .validate()
        .map_err(|e| format!("address: {e}"))?,
        SubscriberKind::Webhook => Target::Webhook {
            url: address.to_string(),
            secret: None,
            headers: Default::default(),
        }
        .validate()
        .map_err(|e| format!("address: {e}"))?,
    }
    if s.subjects.len() > MAX_SUBJECTS {
        return Err(format!("component_ids: at most {MAX_SUBJECTS} ids"));
    }
    for id in &s.subjects {
        if id.parse::<uuid::Uuid>().is_err() {
            return Err(format!(
                "component_ids: `{id}` is not a component or vendor id (a UUID)"
            ));
        }
    }
    Ok(())
}

string_enum!(
    /// Where a delivery stands: `pending` (waiting for its due time or being sent), `sent`,
    /// `dead` (retries exhausted or a permanent failure: listed and retried through the API),
    /// `cancelled` (its recipient was deleted, unsubscribed or the escalation ended first).
    DeliveryState, "delivery state", {
        Pending => "pending",
        Sent => "sent",
        Dead => "dead",
        Cancelled => "cancelled",
    }
);

string_enum!(
    /// What a delivery is for: an event (`notify`), the double opt-in mail of a new
    /// subscriber (`confirm`), or a step of an escalation (`escalate`: the event's message with
    /// an acknowledgement link).
    Purpose, "delivery purpose", {
        Notify => "notify",
        Confirm => "confirm",
        Escalate => "escalate",
    }
);

string_enum!(
    /// Which queue sends a delivery. Each lane is claimed and bounded on its own, so a long
    /// fan-out to subscribers never queues the team's channels (or the other kind of
    /// subscriber) behind it.
    Lane, "delivery lane", {
        Channel => "channel",
        Email => "email",
        Webhook => "webhook",
    }
);

string_enum!(
    /// Who a delivery goes to.
    RecipientKind, "recipient kind", {
        Channel => "channel",
        Subscriber => "subscriber",
    }
);

/// One row of the outbox, as the API shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Delivery {
    /// Stable across retries; sent as the idempotency key.
    pub key: String,
    pub event_seq: i64,
    pub event_kind: String,
    pub recipient_kind: RecipientKind,
    pub recipient_id: String,
    pub purpose: Purpose,
    pub state: DeliveryState,
    pub attempts: u32,
    #[schema(value_type = String, format = DateTime)]
    pub due_at: Timestamp,
    pub last_error: Option<String>,
    /// The receiver's last status (HTTP or SMTP code).
    pub last_status: Option<u16>,
    /// The start of the receiver's last answer.
    pub last_response: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub sent_at: Option<Timestamp>,
}

/// A delivery a worker has claimed, with what it needs to send it.
#[derive(Clone, Debug)]
pub struct ClaimedDelivery {
    pub key: String,
    pub event_seq: i64,
    pub recipient_kind: RecipientKind,
    pub recipient_id: String,
    pub purpose: Purpose,
    /// Attempts before this one.
    pub attempts: u32,
    /// The escalation this delivery is a step of.
    pub escalation_id: Option<crate::domain::EscalationId>,
}

/// How an attempt ended, to be recorded.
#[derive(Clone, Debug)]
pub enum Outcome {
    Sent {
        status: Option<u16>,
        response: String,
    },
    /// Failed; try again at `due_at`.
    Retry {
        due_at: Timestamp,
        error: String,
        status: Option<u16>,
    },
    /// Failed for good.
    Dead { error: String, status: Option<u16> },
    /// Nobody to send to any more.
    Cancelled { reason: String },
    /// Not attempted (its channel is busy): due again at `due_at`, no attempt counted.
    Defer { due_at: Timestamp },
}

/// The outbox at a glance.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OutboxStats {
    pub pending: u64,
    /// Pending deliveries whose due time has passed.
    pub due: u64,
    /// The due time of the oldest due delivery.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub oldest_due_at: Option<Timestamp>,
    pub dead: u64,
    /// The last event the planner has planned.
    pub planned_seq: i64,
}

/// What one planning round did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PlanReport {
    pub events: usize,
    pub deliveries: u64,
    pub last_seq: i64,
}
