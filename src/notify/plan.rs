//! Which events are news, and for whom: the pure half of the planner. The store applies it
//! to channels and subscribers in the transaction that advances the planner's cursor
//! (`Store::plan_notifications`).

use crate::domain::model::Event;
use serde_json::Value;

/// What an event is about, for choosing recipients.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Topic {
    /// Incident news every subscriber of its components gets.
    Incident,
    /// Maintenance news for subscribers who asked for it.
    Maintenance,
    /// A component's status changed (subscribers who asked for every change).
    ComponentStatus,
    /// A vendor's news (subscribers who chose that vendor).
    Vendor,
    /// Operator news only channels get (monitors, internal incident changes).
    Operator,
}

/// The recipients' filter for one event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Audience {
    pub topic: Topic,
    /// The component ids (or the vendor id) the event is about; a recipient that follows only
    /// some subjects gets the event when one of these is among them.
    pub subjects: Vec<String>,
    /// Subscribers get it too (within their preferences), not only channels.
    pub subscribers: bool,
}

/// The audience of an event, or `None` when nobody is told about it.
pub fn audience(event: &Event) -> Option<Audience> {
    let data = &event.data;
    let (topic, subjects, subscribers) = match event.kind.as_str() {
        "incident.opened"
        | "incident.update_posted"
        | "incident.resolved"
        | "incident.postmortem_published" => (Topic::Incident, incident_components(data), true),
        // A change of name or impact without an update: the team wants it, readers get the
        // next update.
        "incident.updated" => (Topic::Operator, incident_components(data), false),
        "maintenance.scheduled"
        | "maintenance.started"
        | "maintenance.completed"
        | "maintenance.cancelled" => (Topic::Maintenance, strings(&data["component_ids"]), true),
        "component.status_changed" => (
            Topic::ComponentStatus,
            event.subject_id.iter().cloned().collect(),
            true,
        ),
        "monitor.state_changed" => {
            if !monitor_change_is_news(data) {
                return None;
            }
            let components = data["monitor"]["components"]
                .as_array()
                .map(|cs| {
                    cs.iter()
                        .filter_map(|c| c["component_id"].as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            (Topic::Operator, components, false)
        }
        "vendor.incident_opened"
        | "vendor.incident_update_posted"
        | "vendor.incident_resolved"
        | "vendor.component_status_changed"
        | "vendor.maintenance_scheduled"
        | "vendor.maintenance_started"
        | "vendor.maintenance_completed"
        | "vendor.source_unreachable"
        | "vendor.source_recovered" => {
            let vendor = data["vendor_id"]
                .as_str()
                .map(str::to_string)
                .or_else(|| event.subject_id.clone())?;
            // Vendor maintenance and the source's own health interest the team only.
            let readers = matches!(
                event.kind.as_str(),
                "vendor.incident_opened"
                    | "vendor.incident_update_posted"
                    | "vendor.incident_resolved"
            );
            (Topic::Vendor, vec![vendor], readers)
        }
        _ => return None,
    };
    Some(Audience {
        topic,
        subjects,
        subscribers,
    })
}

/// A monitor going down, degraded, flapping or back up is news; leaving `pending` for `up`
/// (a new or resumed monitor's first verdict) and pausing are not.
fn monitor_change_is_news(data: &Value) -> bool {
    let from = data["transition"]["from"].as_str().unwrap_or("");
    let to = data["transition"]["to"].as_str().unwrap_or("");
    let flapping_changed = data["transition"]["flapping_started"].as_bool() == Some(true)
        || data["transition"]["flapping_ended"].as_bool() == Some(true);
    match (from, to) {
        (_, "down" | "degraded") => true,
        ("down" | "degraded", "up") => true,
        _ => flapping_changed,
    }
}

fn incident_components(data: &Value) -> Vec<String> {
    data["components"]
        .as_array()
        .map(|cs| {
            cs.iter()
                .filter_map(|c| c["component_id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|xs| {
            xs.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether a channel following `followed` (empty: everything) wants news about the
/// audience's subjects. (Subscribers are chosen in SQL by the same rule, except that vendor
/// news needs the vendor chosen by id: following "everything" means the page's components.)
pub fn follows(followed: &[String], audience: &Audience) -> bool {
    followed.is_empty() || audience.subjects.iter().any(|s| followed.contains(s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Timestamp;
    use serde_json::json;

    fn event(kind: &str, subject: Option<&str>, data: Value) -> Event {
        Event {
            seq: 1,
            kind: kind.into(),
            subject_id: subject.map(str::to_string),
            actor: "pharos".into(),
            at: Timestamp::parse("2026-11-28T12:00:00Z").unwrap(),
            data,
        }
    }

    #[test]
    fn incidents_reach_subscribers_of_their_components() {
        let e = event(
            "incident.opened",
            Some("i1"),
            json!({"components": [{"component_id": "c1", "status": "major_outage"}, {"component_id": "c2"}]}),
        );
        let a = audience(&e).unwrap();
        assert_eq!(a.topic, Topic::Incident);
        assert!(a.subscribers);
        assert_eq!(a.subjects, ["c1", "c2"]);
        assert!(follows(&[], &a));
        assert!(follows(&["c2".into()], &a));
        assert!(!follows(&["c3".into()], &a));
    }

    #[test]
    fn internal_kinds_are_not_news() {
        for kind in [
            "incident.update_edited",
            "incident.postmortem_saved",
            "incident.deleted",
            "component.created",
            "token.created",
            "vendor.imported",
            "incident_draft.created",
        ] {
            assert_eq!(audience(&event(kind, None, json!({}))), None, "{kind}");
        }
    }

    #[test]
    fn monitor_news_is_a_real_change_of_health() {
        let change = |from: &str, to: &str| {
            event(
                "monitor.state_changed",
                Some("m1"),
                json!({"monitor": {"components": [{"component_id": "c1"}]},
                       "transition": {"from": from, "to": to, "flapping_started": false, "flapping_ended": false}}),
            )
        };
        assert!(audience(&change("up", "down")).is_some());
        assert!(audience(&change("down", "up")).is_some());
        assert!(audience(&change("up", "degraded")).is_some());
        assert_eq!(audience(&change("pending", "up")), None);
        assert_eq!(audience(&change("up", "pending")), None);
        let a = audience(&change("up", "down")).unwrap();
        assert!(!a.subscribers);
        assert_eq!(a.subjects, ["c1"]);
    }

    #[test]
    fn vendor_news_is_about_the_vendor() {
        let e = event(
            "vendor.incident_opened",
            Some("vi1"),
            json!({"vendor_id": "v1", "name": "API errors"}),
        );
        let a = audience(&e).unwrap();
        assert_eq!(a.topic, Topic::Vendor);
        assert!(follows(&[], &a));
        assert!(follows(&["v1".into()], &a));
        assert!(!follows(&["c1".into()], &a));
        let unreachable = event("vendor.source_unreachable", Some("v1"), json!({}));
        let a = audience(&unreachable).unwrap();
        assert_eq!(a.subjects, ["v1"]);
        assert!(!a.subscribers);
    }
}
