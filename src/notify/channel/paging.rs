//! Paging services: PagerDuty (Events API v2) and Opsgenie (Alert API).
//!
//! Both deduplicate on the message's `subject_key` (PagerDuty's `dedup_key`, Opsgenie's
//! `alias`), so every message about one incident, monitor or vendor incident lands on one
//! alert, and a message that `resolves` its subject resolves (closes) that alert.
//!
//! Informational messages (severity `info`, nothing to resolve), such as a maintenance being
//! scheduled or a postmortem published:
//!
//! - PagerDuty: sent as a **change event** (`/v2/change/enqueue`), PagerDuty's documented
//!   channel for "informational events that do not page anyone": they show beside the
//!   service's incidents without opening one. A trigger would open an incident (and page
//!   someone), and a trigger after a resolve would re-open the subject's alert (a postmortem
//!   arrives after the incident is resolved). The test message is the exception: it
//!   triggers with severity `info`, since its purpose is to prove that paging works.
//! - Opsgenie has no such channel, so they create an alert with priority P5
//!   ("informational"), closed by the message that resolves the subject.

use super::{truncate, Envelope, Receipt, SendError, Sender};
use crate::notify::message::{Message, PageContext, Severity, TEST_KIND};
use serde_json::json;

/// PagerDuty's limit for `summary`.
const PAGERDUTY_SUMMARY_MAX: usize = 1_024;
/// The body kept in `custom_details` / `description` (both services accept far more).
const DETAILS_TEXT_MAX: usize = 10_000;
/// Opsgenie's limits: message 130, alias 512, description 15,000, source 100, entity 512.
const OPSGENIE_MESSAGE_MAX: usize = 130;
const OPSGENIE_ALIAS_MAX: usize = 512;
const OPSGENIE_SOURCE_MAX: usize = 100;

/// What a message becomes at PagerDuty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PagerDutyAction {
    Trigger,
    Resolve,
    /// A change event: recorded on the service, pages no one.
    Change,
}

pub fn pagerduty_action(message: &Message) -> PagerDutyAction {
    if message.resolves {
        PagerDutyAction::Resolve
    } else if message.severity == Severity::Info && message.event_kind != TEST_KIND {
        PagerDutyAction::Change
    } else {
        PagerDutyAction::Trigger
    }
}

/// PagerDuty's `payload.severity`.
pub fn pagerduty_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "critical",
        Severity::Major => "error",
        Severity::Minor => "warning",
        Severity::Info | Severity::Resolved => "info",
    }
}

/// The host of the page's URL: the `source` PagerDuty and Opsgenie show.
fn source(page: &PageContext) -> String {
    url::Url::parse(&page.url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_else(|| page.name.clone())
}

fn links(message: &Message, envelope: &Envelope, page: &PageContext) -> Vec<serde_json::Value> {
    let mut links = Vec::new();
    if let Some(link) = &message.link {
        links.push(json!({ "href": link, "text": format!("View on {}", page.name) }));
    }
    if let Some(ack) = &envelope.ack_url {
        links.push(json!({ "href": ack, "text": "Acknowledge in Pharos" }));
    }
    links
}

fn details(message: &Message, envelope: &Envelope, page: &PageContext) -> serde_json::Value {
    let mut details = json!({
        "text": truncate(&message.text, DETAILS_TEXT_MAX),
        "event_kind": message.event_kind,
        "severity": message.severity,
        "page": page.name,
    });
    if let Some(link) = &message.link {
        details["link"] = json!(link);
    }
    if let Some(ack) = &envelope.ack_url {
        details["ack_url"] = json!(ack);
    }
    details
}

/// The body PagerDuty gets for `message`, and the path it goes to.
pub fn pagerduty_body(
    routing_key: &str,
    message: &Message,
    envelope: &Envelope,
    page: &PageContext,
) -> (&'static str, serde_json::Value) {
    let timestamp = message
        .at
        .0
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    match pagerduty_action(message) {
        PagerDutyAction::Resolve => (
            "/v2/enqueue",
            json!({
                "routing_key": routing_key,
                "event_action": "resolve",
                "dedup_key": message.subject_key,
            }),
        ),
        PagerDutyAction::Change => (
            "/v2/change/enqueue",
            json!({
                "routing_key": routing_key,
                "payload": {
                    "summary": truncate(&message.title, PAGERDUTY_SUMMARY_MAX),
                    "timestamp": timestamp,
                    "source": source(page),
                    "custom_details": details(message, envelope, page),
                },
                "links": links(message, envelope, page),
            }),
        ),
        PagerDutyAction::Trigger => (
            "/v2/enqueue",
            json!({
                "routing_key": routing_key,
                "event_action": "trigger",
                "dedup_key": message.subject_key,
                "payload": {
                    "summary": truncate(&message.title, PAGERDUTY_SUMMARY_MAX),
                    "source": source(page),
                    "severity": pagerduty_severity(message.severity),
                    "timestamp": timestamp,
                    "class": message.event_kind,
                    "component": truncate(message.subject_name(), 255),
                    "custom_details": details(message, envelope, page),
                },
                "links": links(message, envelope, page),
                "client": "Pharos",
                "client_url": page.url,
            }),
        ),
    }
}

pub(super) async fn pagerduty(
    sender: &Sender,
    routing_key: &str,
    api_url: Option<&str>,
    message: &Message,
    envelope: &Envelope,
) -> Result<Receipt, SendError> {
    let api = api_url
        .unwrap_or("https://events.pagerduty.com")
        .trim_end_matches('/');
    let (path, body) = pagerduty_body(routing_key, message, envelope, &sender.page());
    sender
        .post(sender.http.post(format!("{api}{path}")).json(&body))
        .await
}

/// Opsgenie's priority: P1 (critical) to P5 (informational).
pub fn opsgenie_priority(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "P1",
        Severity::Major => "P2",
        Severity::Minor => "P3",
        Severity::Info | Severity::Resolved => "P5",
    }
}

pub(super) async fn opsgenie(
    sender: &Sender,
    api_key: &str,
    api_url: Option<&str>,
    message: &Message,
    envelope: &Envelope,
) -> Result<Receipt, SendError> {
    let api = api_url
        .unwrap_or("https://api.opsgenie.com")
        .trim_end_matches('/');
    let mut url = url::Url::parse(&format!("{api}/v2/alerts"))
        .map_err(|_| SendError::permanent("the Opsgenie API address is not a URL"))?;
    let alias = truncate(&message.subject_key, OPSGENIE_ALIAS_MAX);
    let source = truncate(
        &format!("Pharos: {}", sender.page.name()),
        OPSGENIE_SOURCE_MAX,
    );
    let body = if message.resolves {
        url.path_segments_mut()
            .map_err(|_| SendError::permanent("the Opsgenie API address is not a URL"))?
            .push(&alias)
            .push("close");
        url.query_pairs_mut().append_pair("identifierType", "alias");
        json!({
            "source": source,
            "user": "Pharos",
            "note": truncate(&message.title, 25_000),
        })
    } else {
        let mut details = serde_json::Map::new();
        details.insert("event_kind".into(), json!(message.event_kind));
        if let Some(link) = &message.link {
            details.insert("link".into(), json!(link));
        }
        if let Some(ack) = &envelope.ack_url {
            details.insert("ack_url".into(), json!(ack));
        }
        json!({
            "message": truncate(&message.title, OPSGENIE_MESSAGE_MAX),
            "alias": alias,
            "description": truncate(&message.text, DETAILS_TEXT_MAX),
            "priority": opsgenie_priority(message.severity),
            "source": source,
            "entity": truncate(message.subject_name(), 512),
            "tags": ["pharos", message.severity.as_str()],
            "details": details,
        })
    };
    sender
        .post(
            sender
                .http
                .post(url)
                .header(
                    reqwest::header::AUTHORIZATION,
                    format!("GenieKey {api_key}"),
                )
                .json(&body),
        )
        .await
}
