//! On-call escalation: a policy is a list of steps (notify these channels, then wait); when
//! an incident opens on a component the policy covers (or a covered monitor goes down, or a
//! covered vendor opens an incident) the first step's channels are notified, and each time a
//! step's wait ends without an acknowledgement the next step's are, round after round, up to
//! `repeat` extra rounds. An acknowledgement (the signed link in every step's message, or the
//! API) or the subject's recovery stops it.
//!
//! This module holds the records and the pure rules; the store starts escalations in the
//! planner's transaction (so they follow the event log like every delivery), and the worker
//! advances due ones (`Store::advance_escalations`).

use crate::domain::model::Event;
use crate::domain::status::string_enum;
use crate::domain::{
    ChannelId, ComponentId, EscalationId, EscalationPolicyId, MonitorId, Timestamp, VendorId,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub const MAX_STEPS: usize = 10;
pub const MAX_REPEAT: u32 = 10;
/// A step waits at least this long (and at most a day) before the next one.
pub const MIN_WAIT_SECONDS: u32 = 10;
pub const MAX_WAIT_SECONDS: u32 = 86_400;

/// One step: notify these channels, then wait this long for an acknowledgement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EscalationStep {
    #[schema(value_type = Vec<String>)]
    pub channel_ids: Vec<ChannelId>,
    pub wait_seconds: u32,
}

/// A policy and what it covers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EscalationPolicy {
    #[schema(value_type = String, format = Uuid)]
    pub id: EscalationPolicyId,
    pub name: String,
    pub steps: Vec<EscalationStep>,
    /// Extra rounds through the steps after the first (0: once).
    pub repeat: u32,
    /// Components whose incidents it escalates.
    #[schema(value_type = Vec<String>)]
    pub components: Vec<ComponentId>,
    /// Monitors whose going down it escalates.
    #[schema(value_type = Vec<String>)]
    pub monitors: Vec<MonitorId>,
    /// Vendors whose incidents it escalates.
    #[schema(value_type = Vec<String>)]
    pub vendors: Vec<VendorId>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

/// A policy to create (or a policy's new content).
#[derive(Clone, Debug, Default)]
pub struct NewPolicy {
    pub name: String,
    pub steps: Vec<EscalationStep>,
    pub repeat: u32,
    pub components: Vec<ComponentId>,
    pub monitors: Vec<MonitorId>,
    pub vendors: Vec<VendorId>,
}

/// Changes to a policy; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct PolicyPatch {
    pub name: Option<String>,
    pub steps: Option<Vec<EscalationStep>>,
    pub repeat: Option<u32>,
    pub components: Option<Vec<ComponentId>>,
    pub monitors: Option<Vec<MonitorId>>,
    pub vendors: Option<Vec<VendorId>>,
}

/// Checks a policy; the message says what is wrong and what to do.
pub fn validate_policy(p: &NewPolicy) -> Result<(), String> {
    let name = p.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err("name: must be 1 to 100 characters".into());
    }
    if p.steps.is_empty() || p.steps.len() > MAX_STEPS {
        return Err(format!(
            "steps: give 1 to {MAX_STEPS} steps, each {{\"channel_ids\": [...], \"wait_seconds\": N}}"
        ));
    }
    for (i, step) in p.steps.iter().enumerate() {
        if step.channel_ids.is_empty() || step.channel_ids.len() > 20 {
            return Err(format!("steps[{i}].channel_ids: name 1 to 20 channels"));
        }
        if !(MIN_WAIT_SECONDS..=MAX_WAIT_SECONDS).contains(&step.wait_seconds) {
            return Err(format!(
                "steps[{i}].wait_seconds: must be {MIN_WAIT_SECONDS} to {MAX_WAIT_SECONDS}"
            ));
        }
    }
    if p.repeat > MAX_REPEAT {
        return Err(format!("repeat: must be 0 to {MAX_REPEAT}"));
    }
    Ok(())
}

string_enum!(
    /// Where an escalation stands: `active` (notifying step after step), `acknowledged`
    /// (someone took it), `resolved` (the subject recovered first), `exhausted` (every step of
    /// every round ran without an acknowledgement).
    EscalationState, "escalation state", {
        Active => "active",
        Acknowledged => "acknowledged",
        Resolved => "resolved",
        Exhausted => "exhausted",
    }
);

/// One escalation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Escalation {
    #[schema(value_type = String, format = Uuid)]
    pub id: EscalationId,
    #[schema(value_type = String, format = Uuid)]
    pub policy_id: EscalationPolicyId,
    /// `incident:<id>`, `monitor:<id>` or `vendor_incident:<id>`.
    pub subject_key: String,
    /// The event that started it.
    pub event_seq: i64,
    pub state: EscalationState,
    /// The current step (0-based) and round (0-based).
    pub step: u32,
    pub round: u32,
    /// When the current step's wait ends.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub acknowledged_at: Option<Timestamp>,
    pub acknowledged_by: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub ended_at: Option<Timestamp>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

/// The step after the current one's wait ended unacknowledged: the next step, the first step
/// of the next round, or `None` when the policy is exhausted.
pub fn next_position(step: u32, round: u32, steps: usize, repeat: u32) -> Option<(u32, u32)> {
    if (step as usize) + 1 < steps {
        Some((step + 1, round))
    } else if round < repeat {
        Some((0, round + 1))
    } else {
        None
    }
}

/// What kind of thing a policy covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetKind {
    Component,
    Monitor,
    Vendor,
}

impl TargetKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            TargetKind::Component => "component",
            TargetKind::Monitor => "monitor",
            TargetKind::Vendor => "vendor",
        }
    }
}

/// What an event means for escalations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// Start escalating `subject_key` under the policies covering these targets.
    Start {
        subject_key: String,
        targets: Vec<(TargetKind, String)>,
    },
    /// The subject recovered: stop its escalations.
    End { subject_key: String },
}

/// Incidents opening on covered components, covered monitors going down and covered vendors
/// opening incidents start escalations; their resolution (recovery) ends them. A monitor's
/// automatic incident escalates through its components' policies, the monitor's own going
/// down through the monitor's policy: attach a policy to one or the other to page once.
pub fn trigger(event: &Event) -> Option<Trigger> {
    let data = &event.data;
    let subject = event.subject_id.clone()?;
    match event.kind.as_str() {
        "incident.opened" => Some(Trigger::Start {
            subject_key: format!("incident:{subject}"),
            targets: data["components"]
                .as_array()
                .map(|cs| {
                    cs.iter()
                        .filter_map(|c| c["component_id"].as_str())
                        .map(|id| (TargetKind::Component, id.to_string()))
                        .collect()
                })
                .unwrap_or_default(),
        }),
        "incident.resolved" | "incident.deleted" => Some(Trigger::End {
            subject_key: format!("incident:{subject}"),
        }),
        "monitor.state_changed" => {
            let to = data["transition"]["to"].as_str().unwrap_or("");
            match to {
                "down" => Some(Trigger::Start {
                    subject_key: format!("monitor:{subject}"),
                    targets: vec![(TargetKind::Monitor, subject)],
                }),
                "up" | "paused" | "pending" => Some(Trigger::End {
                    subject_key: format!("monitor:{subject}"),
                }),
                _ => None,
            }
        }
        "vendor.incident_opened" => {
            let vendor = data["vendor_id"].as_str()?.to_string();
            Some(Trigger::Start {
                subject_key: format!("vendor_incident:{subject}"),
                targets: vec![(TargetKind::Vendor, vendor)],
            })
        }
        "vendor.incident_resolved" => Some(Trigger::End {
            subject_key: format!("vendor_incident:{subject}"),
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn steps_run_in_order_then_repeat_then_stop() {
        // Two steps, one extra round: (0,0) -> (1,0) -> (0,1) -> (1,1) -> exhausted.
        assert_eq!(next_position(0, 0, 2, 1), Some((1, 0)));
        assert_eq!(next_position(1, 0, 2, 1), Some((0, 1)));
        assert_eq!(next_position(0, 1, 2, 1), Some((1, 1)));
        assert_eq!(next_position(1, 1, 2, 1), None);
        // One step, no repeat: exhausted after its wait.
        assert_eq!(next_position(0, 0, 1, 0), None);
    }

    fn event(kind: &str, subject: &str, data: serde_json::Value) -> Event {
        Event {
            seq: 7,
            kind: kind.into(),
            subject_id: Some(subject.into()),
            actor: "pharos".into(),
            at: Timestamp::parse("2026-11-28T12:00:00Z").unwrap(),
            data,
        }
    }

    #[test]
    fn triggers() {
        let opened = event(
            "incident.opened",
            "i1",
            json!({"components": [{"component_id": "c1"}, {"component_id": "c2"}]}),
        );
        assert_eq!(
            trigger(&opened),
            Some(Trigger::Start {
                subject_key: "incident:i1".into(),
                targets: vec![
                    (TargetKind::Component, "c1".into()),
                    (TargetKind::Component, "c2".into())
                ]
            })
        );
        assert_eq!(
            trigger(&event("incident.resolved", "i1", json!({}))),
            Some(Trigger::End {
                subject_key: "incident:i1".into()
            })
        );
        let down = event(
            "monitor.state_changed",
            "m1",
            json!({"transition": {"from": "up", "to": "down"}}),
        );
        assert!(
            matches!(trigger(&down), Some(Trigger::Start { subject_key, .. }) if subject_key == "monitor:m1")
        );
        let degraded = event(
            "monitor.state_changed",
            "m1",
            json!({"transition": {"from": "up", "to": "degraded"}}),
        );
        assert_eq!(trigger(&degraded), None, "degraded does not page");
        let up = event(
            "monitor.state_changed",
            "m1",
            json!({"transition": {"from": "down", "to": "up"}}),
        );
        assert!(matches!(trigger(&up), Some(Trigger::End { .. })));
        let vendor = event("vendor.incident_opened", "vi1", json!({"vendor_id": "v1"}));
        assert_eq!(
            trigger(&vendor),
            Some(Trigger::Start {
                subject_key: "vendor_incident:vi1".into(),
                targets: vec![(TargetKind::Vendor, "v1".into())]
            })
        );
        assert_eq!(
            trigger(&event("incident.update_posted", "i1", json!({}))),
            None
        );
    }

    #[test]
    fn policies_are_checked() {
        let step = EscalationStep {
            channel_ids: vec![ChannelId::new()],
            wait_seconds: 300,
        };
        let good = NewPolicy {
            name: "Primary on-call".into(),
            steps: vec![step.clone()],
            ..NewPolicy::default()
        };
        assert_eq!(validate_policy(&good), Ok(()));
        let no_steps = NewPolicy {
            steps: vec![],
            ..good.clone()
        };
        assert!(validate_policy(&no_steps).unwrap_err().starts_with("steps"));
        let short_wait = NewPolicy {
            steps: vec![EscalationStep {
                wait_seconds: 1,
                ..step.clone()
            }],
            ..good.clone()
        };
        assert!(validate_policy(&short_wait)
            .unwrap_err()
            .contains("wait_seconds"));
        let no_channels = NewPolicy {
            steps: vec![EscalationStep {
                channel_ids: vec![],
                wait_seconds: 60,
            }],
            ..good
        };
        assert!(validate_policy(&no_channels)
            .unwrap_err()
            .contains("channel_ids"));
    }
}
