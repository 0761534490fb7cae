//! Conformance checks of notification storage: channels and subscribers with their events
//! (which never carry secrets or addresses), planning that fans each event out once to
//! exactly the recipients that want it, and the outbox's claims, leases and outcomes.

use crate::clock::{Clock, ManualClock};
use crate::domain::*;
use crate::events::Actor;
use crate::notify::channel::Target;
use crate::notify::record::{
    ChannelPatch, DeliveryState, Lane, NewChannel, NewSubscriber, Outcome, Purpose, RecipientKind,
    SubscriberKind, SubscriberOrigin, SubscriberPatch,
};
use crate::store::*;
use chrono::Duration;
use std::collections::BTreeSet;

fn actor() -> Actor {
    Actor::token("conformance")
}

fn webhook_channel(name: &str, events: &[&str], subjects: Vec<String>) -> NewChannel {
    NewChannel {
        name: name.into(),
        target: Target::Webhook {
            url: format!("https://hooks.example/{name}"),
            secret: Some("s3cret-signing-key".into()),
            headers: Default::default(),
        },
        events: events.iter().map(|s| s.to_string()).collect(),
        subjects,
        enabled: true,
        rate_per_minute: 60,
        concurrency: 4,
    }
}

fn email_subscriber(address: &str, subjects: Vec<String>, confirmed: bool) -> NewSubscriber {
    NewSubscriber {
        kind: SubscriberKind::Email,
        address: address.into(),
        subjects,
        maintenance: true,
        component_changes: false,
        confirmed,
        origin: if confirmed {
            SubscriberOrigin::Api
        } else {
            SubscriberOrigin::Page
        },
        secret: None,
    }
}

async fn component(store: &dyn Store, name: &str) -> Component {
    store
        .create_component(
            NewComponent {
                name: name.into(),
                ..NewComponent::default()
            },
            &actor(),
        )
        .await
        .expect("component")
}

fn open_incident(name: &str, component: ComponentId) -> NewIncident {
    NewIncident {
        name: name.into(),
        status: IncidentStatus::Investigating,
        impact: None,
        body: format!("{name}: investigating"),
        components: vec![ComponentChange {
            component_id: component,
            status: Some(ComponentStatus::MajorOutage),
        }],
        source: IncidentSource {
            kind: SourceKind::Manual,
            reference: None,
        },
        started_at: None,
    }
}

/// Every delivery as (recipient, purpose, state), in key order.
async fn deliveries(store: &dyn Store) -> Vec<(String, Purpose, DeliveryState)> {
    let mut all = Vec::new();
    let mut page = PageRequest::first(500);
    loop {
        let got = store
            .list_deliveries(None, page.clone())
            .await
            .expect("deliveries");
        all.extend(
            got.items
                .into_iter()
                .map(|d| (d.recipient_id, d.purpose, d.state)),
        );
        match got.next_cursor {
            Some(c) => page.cursor = Some(c),
            None => break,
        }
    }
    all.sort_by(|a, b| a.0.cmp(&b.0));
    all
}

pub async fn channels_and_subscribers(store: &dyn Store, _clock: &ManualClock) {
    let seq = store.last_event_seq().await.expect("seq");
    let channel = store
        .create_channel(webhook_channel("ops", &["incident.*"], vec![]), &actor())
        .await
        .expect("create channel");
    assert_eq!(store.get_channel(channel.id).await.expect("get"), channel);
    let twin = store
        .create_channel(webhook_channel("ops", &["incident.*"], vec![]), &actor())
        .await;
    assert!(
        matches!(
            twin,
            Err(StoreError::Conflict {
                code: "channel_exists",
                ..
            })
        ),
        "{twin:?}"
    );
    let patched = store
        .update_channel(
            channel.id,
            ChannelPatch {
                enabled: Some(false),
                concurrency: Some(2),
                ..ChannelPatch::default()
            },
            &actor(),
        )
        .await
        .expect("patch");
    assert!(!patched.enabled);
    assert_eq!(patched.concurrency, 2);
    assert_eq!(patched.target, channel.target, "secrets are kept");
    let bad = store
        .update_channel(
            channel.id,
            ChannelPatch {
                events: Some(vec!["no.such_kind".into()]),
                ..ChannelPatch::default()
            },
            &actor(),
        )
        .await;
    assert!(matches!(bad, Err(StoreError::Invalid { .. })), "{bad:?}");

    let c1 = component(store, "API").await;
    let subscriber = store
        .create_subscriber(
            email_subscriber("Reader@Example.com", vec![c1.id.to_string()], false),
            &actor(),
        )
        .await
        .expect("subscribe");
    assert_eq!(subscriber.subjects, [c1.id.to_string()]);
    assert_eq!(subscriber.confirmed_at, None);
    let again = store
        .create_subscriber(
            email_subscriber("reader@example.COM ", vec![], true),
            &actor(),
        )
        .await;
    assert!(
        matches!(
            again,
            Err(StoreError::Conflict {
                code: "subscriber_exists",
                ..
            })
        ),
        "one subscription per address, whatever its case: {again:?}"
    );
    let found = store
        .find_subscriber(&crate::notify::record::address_key(
            SubscriberKind::Email,
            "READER@example.com",
        ))
        .await
        .expect("find")
        .expect("found");
    assert_eq!(found.id, subscriber.id);
    let confirmed = store
        .confirm_subscriber(subscriber.id, &actor())
        .await
        .expect("confirm");
    assert!(confirmed.confirmed_at.is_some());
    let twice = store
        .confirm_subscriber(subscriber.id, &actor())
        .await
        .expect("confirm twice");
    assert_eq!(twice.confirmed_at, confirmed.confirmed_at);
    let everything = store
        .update_subscriber(
            subscriber.id,
            SubscriberPatch {
                subjects: Some(vec![]),
                maintenance: Some(false),
                ..SubscriberPatch::default()
            },
            &actor(),
        )
        .await
        .expect("update subscriber");
    assert!(everything.subjects.is_empty());
    assert!(!everything.maintenance);
    let targets = store
        .subscriber_targets(&[subscriber.id, SubscriberId::new()])
        .await
        .expect("targets");
    assert_eq!(targets.len(), 1);
    assert_eq!(targets[0].address, "Reader@Example.com");
    assert!(targets[0].confirmed);

    let page = store
        .list_subscribers(PageRequest::first(10))
        .await
        .expect("list");
    assert_eq!(page.items.len(), 1);

    // The log: what happened, without secrets or addresses.
    let events = store.list_events(seq, 100).await.expect("events");
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e.kind.as_str())
        .filter(|k| k.starts_with("channel.") || k.starts_with("subscriber."))
        .collect();
    assert_eq!(
        kinds,
        [
            "channel.created",
            "channel.updated",
            "subscriber.created",
            "subscriber.confirmed",
            "subscriber.updated"
        ]
    );
    for e in &events {
        let text = e.data.to_string().to_lowercase();
        assert!(!text.contains("s3cret"), "{}: {text}", e.kind);
        assert!(!text.contains("reader@example.com"), "{}: {text}", e.kind);
    }

    store
        .delete_subscriber(subscriber.id, &actor())
        .await
        .expect("unsubscribe");
    assert!(matches!(
        store.get_subscriber(subscriber.id).await,
        Err(StoreError::NotFound { .. })
    ));
    store
        .delete_channel(channel.id, &actor())
        .await
        .expect("delete channel");
    assert!(store.list_channels().await.expect("list").is_empty());
}

pub async fn planning_fans_out_once(store: &dyn Store, clock: &ManualClock) {
    let c1 = component(store, "API").await;
    let c2 = component(store, "Web").await;
    let all = store
        .create_channel(webhook_channel("all", &["incident.*"], vec![]), &actor())
        .await
        .expect("channel");
    let web_only = store
        .create_channel(
            webhook_channel("web-only", &["incident.*"], vec![c2.id.to_string()]),
            &actor(),
        )
        .await
        .expect("channel");
    let monitors_only = store
        .create_channel(
            webhook_channel("monitors", &["monitor.state_changed"], vec![]),
            &actor(),
        )
        .await
        .expect("channel");
    let sub = |address: &str, subjects: Vec<String>, confirmed: bool| {
        email_subscriber(address, subjects, confirmed)
    };
    let everyone = store
        .create_subscriber(sub("all@example.com", vec![], true), &actor())
        .await
        .expect("s");
    let api_fan = store
        .create_subscriber(
            sub("api@example.com", vec![c1.id.to_string()], true),
            &actor(),
        )
        .await
        .expect("s");
    let web_fan = store
        .create_subscriber(
            sub("web@example.com", vec![c2.id.to_string()], true),
            &actor(),
        )
        .await
        .expect("s");
    let waiting = store
        .create_subscriber(sub("new@example.com", vec![], false), &actor())
        .await
        .expect("s");
    let mut no_maintenance = sub("quiet@example.com", vec![], true);
    no_maintenance.maintenance = false;
    let quiet = store
        .create_subscriber(no_maintenance, &actor())
        .await
        .expect("s");

    // Everything so far: only the unconfirmed subscriber's confirmation mail.
    let first = store.plan_notifications(1000).await.expect("plan");
    assert_eq!(first.deliveries, 1);
    assert_eq!(first.last_seq, store.last_event_seq().await.expect("seq"));
    assert_eq!(
        deliveries(store).await,
        [(
            waiting.id.to_string(),
            Purpose::Confirm,
            DeliveryState::Pending
        )]
    );

    // An incident on the API: the all-channel, and every confirmed subscriber of the API.
    store
        .create_incident(open_incident("API errors", c1.id), &actor())
        .await
        .expect("incident");
    let report = store.plan_notifications(1000).await.expect("plan");
    assert!(
        report.events >= 2,
        "incident.opened and component.status_changed"
    );
    let got: BTreeSet<String> = deliveries(store)
        .await
        .into_iter()
        .filter(|(_, purpose, _)| *purpose == Purpose::Notify)
        .map(|(r, _, _)| r)
        .collect();
    let want: BTreeSet<String> = [
        all.id.to_string(),
        everyone.id.to_string(),
        api_fan.id.to_string(),
        quiet.id.to_string(),
    ]
    .into_iter()
    .collect();
    assert_eq!(got, want);
    assert!(!got.contains(&web_only.id.to_string()));
    assert!(!got.contains(&monitors_only.id.to_string()));
    assert!(!got.contains(&web_fan.id.to_string()));
    assert!(!got.contains(&waiting.id.to_string()), "unconfirmed");
    assert_eq!(report.deliveries, 4);

    // Planned once: nothing more however often it runs.
    let again = store.plan_notifications(1000).await.expect("plan again");
    assert_eq!((again.events, again.deliveries), (0, 0));

    // A maintenance on the web: the web channel does not want maintenance kinds; the
    // subscribers who want maintenance and follow the web (or everything) do.
    let start = Timestamp::from_datetime(clock.now().0 + Duration::hours(2));
    store
        .create_maintenance(
            NewMaintenance {
                name: "Database upgrade".into(),
                body: Some("We upgrade the database.".into()),
                scheduled_for: start,
                scheduled_until: Timestamp::from_datetime(start.0 + Duration::hours(1)),
                auto_transition: true,
                component_ids: vec![c2.id],
            },
            &actor(),
        )
        .await
        .expect("maintenance");
    let report = store.plan_notifications(1000).await.expect("plan");
    assert_eq!(
        report.deliveries, 2,
        "everyone and the web fan; quiet wants no maintenance"
    );
    let stats = store.outbox_stats().await.expect("stats");
    assert_eq!(stats.pending, 7);
    assert_eq!(
        stats.planned_seq,
        store.last_event_seq().await.expect("seq")
    );
}

pub async fn outbox_claims_and_outcomes(store: &dyn Store, clock: &ManualClock) {
    let c1 = component(store, "API").await;
    let mut ids = Vec::new();
    for name in ["a", "b", "c", "d"] {
        ids.push(
            store
                .create_channel(
                    webhook_channel(name, &["incident.opened"], vec![]),
                    &actor(),
                )
                .await
                .expect("channel")
                .id,
        );
    }
    store
        .create_incident(open_incident("Outage", c1.id), &actor())
        .await
        .expect("incident");
    store.plan_notifications(1000).await.expect("plan");
    let lease = std::time::Duration::from_secs(60);

    // Lanes are claimed apart: the subscribers' lanes hold none of the channels' deliveries.
    assert!(store
        .claim_deliveries(Lane::Email, lease, 10)
        .await
        .expect("claim")
        .is_empty());
    // Claims: at most the limit, each once while leased.
    let first = store
        .claim_deliveries(Lane::Channel, lease, 3)
        .await
        .expect("claim");
    assert_eq!(first.len(), 3);
    let second = store
        .claim_deliveries(Lane::Channel, lease, 10)
        .await
        .expect("claim");
    assert_eq!(second.len(), 1);
    assert!(store
        .claim_deliveries(Lane::Channel, lease, 10)
        .await
        .expect("claim")
        .is_empty());
    let claimed: Vec<_> = first.iter().chain(&second).collect();
    let keys: BTreeSet<&str> = claimed.iter().map(|d| d.key.as_str()).collect();
    assert_eq!(keys.len(), 4);
    assert!(claimed
        .iter()
        .all(|d| d.recipient_kind == RecipientKind::Channel && d.attempts == 0));
    let events = store
        .events_by_seq(&[claimed[0].event_seq])
        .await
        .expect("event");
    assert_eq!(events[0].kind, "incident.opened");

    // Outcomes.
    let [sent, retried, dead, deferred] = [
        claimed[0].key.clone(),
        claimed[1].key.clone(),
        claimed[2].key.clone(),
        claimed[3].key.clone(),
    ];
    let later = Timestamp::from_datetime(clock.now().0 + Duration::minutes(5));
    store
        .record_deliveries(&[
            (
                sent.clone(),
                Outcome::Sent {
                    status: Some(200),
                    response: "ok".into(),
                },
            ),
            (
                retried.clone(),
                Outcome::Retry {
                    due_at: later,
                    error: "receiver answered 503".into(),
                    status: Some(503),
                },
            ),
            (
                dead.clone(),
                Outcome::Dead {
                    error: "receiver answered 400".into(),
                    status: Some(400),
                },
            ),
            (
                deferred.clone(),
                Outcome::Defer {
                    due_at: Timestamp::from_datetime(clock.now().0 + Duration::seconds(5)),
                },
            ),
        ])
        .await
        .expect("record");
    let d = store.get_delivery(&sent).await.expect("sent");
    assert_eq!(
        (d.state, d.attempts, d.last_status),
        (DeliveryState::Sent, 1, Some(200))
    );
    assert!(d.sent_at.is_some());
    let d = store.get_delivery(&retried).await.expect("retried");
    assert_eq!(
        (d.state, d.attempts, d.due_at),
        (DeliveryState::Pending, 1, later)
    );
    assert_eq!(d.last_error.as_deref(), Some("receiver answered 503"));
    let d = store.get_delivery(&deferred).await.expect("deferred");
    assert_eq!((d.state, d.attempts), (DeliveryState::Pending, 0));
    let dead_letters = store
        .list_deliveries(Some(DeliveryState::Dead), PageRequest::first(10))
        .await
        .expect("dead");
    assert_eq!(dead_letters.items.len(), 1);
    assert_eq!(dead_letters.items[0].key, dead);
    assert_eq!(
        dead_letters.items[0].last_error.as_deref(),
        Some("receiver answered 400")
    );
    let stats = store.outbox_stats().await.expect("stats");
    assert_eq!((stats.pending, stats.due, stats.dead), (2, 0, 1));

    // The deferred one is due after its 5 s, the retried one after 5 min.
    clock.advance(Duration::seconds(6));
    let again = store
        .claim_deliveries(Lane::Channel, lease, 10)
        .await
        .expect("claim");
    assert_eq!(
        again.iter().map(|d| d.key.as_str()).collect::<Vec<_>>(),
        [deferred.as_str()]
    );
    // A worker that dies holding a lease: its delivery is claimable once the lease ends, or
    // at once after a release (a sole process restarting).
    assert_eq!(store.release_deliveries().await.expect("release"), 1);
    let after_crash = store
        .claim_deliveries(Lane::Channel, lease, 10)
        .await
        .expect("claim");
    assert_eq!(after_crash.len(), 1);
    clock.advance(Duration::seconds(61));
    let lease_ended = store
        .claim_deliveries(Lane::Channel, lease, 10)
        .await
        .expect("claim");
    assert_eq!(lease_ended.len(), 1, "the lease ended");

    // A dead letter retried through the API is due now, with an event.
    let seq = store.last_event_seq().await.expect("seq");
    let retried_dead = store.retry_delivery(&dead, &actor()).await.expect("retry");
    assert_eq!(
        (retried_dead.state, retried_dead.attempts),
        (DeliveryState::Pending, 0)
    );
    let kinds: Vec<String> = store
        .list_events(seq, 10)
        .await
        .expect("events")
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds, ["delivery.retried"]);
    assert!(matches!(
        store.retry_delivery(&sent, &actor()).await,
        Err(StoreError::Conflict {
            code: "delivery_sent",
            ..
        })
    ));
    assert!(matches!(
        store.retry_delivery("no-such-key", &actor()).await,
        Err(StoreError::NotFound { .. })
    ));

    // Deleting a channel cancels what is pending for it.
    let pending_for: Vec<String> = store
        .list_deliveries(Some(DeliveryState::Pending), PageRequest::first(10))
        .await
        .expect("pending")
        .items
        .into_iter()
        .map(|d| d.recipient_id)
        .collect();
    let victim: ChannelId = pending_for[0].parse().expect("channel id");
    store
        .delete_channel(victim, &actor())
        .await
        .expect("delete channel");
    let cancelled = store
        .list_deliveries(Some(DeliveryState::Cancelled), PageRequest::first(10))
        .await
        .expect("cancelled");
    assert!(cancelled
        .items
        .iter()
        .any(|d| d.recipient_id == victim.to_string()));
    // Secrets: made once, the same ever after.
    let key = store.secret("links").await.expect("secret");
    assert_eq!(key.len(), 32);
    assert_eq!(store.secret("links").await.expect("secret again"), key);
    let _ = ids;
}

/// One batch with outcomes of every kind, more of one kind than a statement holds, each row
/// with values of its own, and two keys that come twice: every delivery ends as its own
/// outcome says, and a key's later outcome counts as if stored after the earlier one.
pub async fn outcomes_in_mixed_batches(store: &dyn Store, clock: &ManualClock) {
    let c1 = component(store, "API").await;
    for i in 0..230 {
        store
            .create_subscriber(
                email_subscriber(&format!("reader{i}@example.com"), vec![], true),
                &actor(),
            )
            .await
            .expect("subscriber");
    }
    store
        .create_incident(open_incident("Outage", c1.id), &actor())
        .await
        .expect("incident");
    store.plan_notifications(1000).await.expect("plan");
    let claimed = store
        .claim_deliveries(Lane::Email, std::time::Duration::from_secs(60), 500)
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 230);
    let mut keys: Vec<String> = claimed.into_iter().map(|d| d.key).collect();
    keys.sort();
    let at = |secs: usize| Timestamp::from_datetime(clock.now().0 + Duration::seconds(secs as i64));
    let mut batch: Vec<(String, Outcome)> = keys
        .iter()
        .enumerate()
        .map(|(i, key)| {
            let outcome = match i % 23 {
                0..=16 => Outcome::Sent {
                    status: (i % 5 != 0).then_some(250),
                    response: format!("250 2.0.0 queued as {i}"),
                },
                17 | 18 => Outcome::Retry {
                    due_at: at(60 + i),
                    error: format!("receiver answered 503 ({i})"),
                    status: (i % 2 == 0).then_some(503),
                },
                19 | 20 => Outcome::Dead {
                    error: format!("receiver answered 550 ({i})"),
                    status: (i % 2 == 1).then_some(550),
                },
                21 => Outcome::Defer { due_at: at(5 + i) },
                _ => Outcome::Cancelled {
                    reason: format!("the subscriber unsubscribed ({i})"),
                },
            };
            (key.clone(), outcome)
        })
        .collect();
    // Deferred, then sent in the same batch: sent. Sent, then cancelled: still sent.
    let sent_after_defer = Outcome::Sent {
        status: Some(250),
        response: "250 after all".into(),
    };
    batch.push((keys[21].clone(), sent_after_defer.clone()));
    batch.push((
        keys[0].clone(),
        Outcome::Cancelled {
            reason: "too late".into(),
        },
    ));
    store.record_deliveries(&batch).await.expect("record");

    let mut last: std::collections::BTreeMap<&str, &Outcome> = Default::default();
    for (i, (key, outcome)) in batch.iter().enumerate() {
        let cancels_a_sent = i >= keys.len() && matches!(outcome, Outcome::Cancelled { .. });
        if !cancels_a_sent {
            last.insert(key.as_str(), outcome);
        }
    }
    let (mut pending, mut dead) = (0, 0);
    for key in &keys {
        let d = store.get_delivery(key).await.expect("delivery");
        match last[key.as_str()] {
            Outcome::Sent { status, response } => {
                assert_eq!((d.state, d.attempts), (DeliveryState::Sent, 1), "{key}");
                assert_eq!(d.last_status, *status, "{key}");
                assert_eq!(d.last_response.as_deref(), Some(response.as_str()));
                assert_eq!(d.last_error, None);
                assert!(d.sent_at.is_some());
            }
            Outcome::Retry {
                due_at,
                error,
                status,
            } => {
                pending += 1;
                assert_eq!(
                    (d.state, d.attempts, d.due_at),
                    (DeliveryState::Pending, 1, *due_at)
                );
                assert_eq!(d.last_error.as_deref(), Some(error.as_str()));
                assert_eq!(d.last_status, *status, "{key}");
            }
            Outcome::Dead { error, status } => {
                dead += 1;
                assert_eq!((d.state, d.attempts), (DeliveryState::Dead, 1));
                assert_eq!(d.last_error.as_deref(), Some(error.as_str()));
                assert_eq!(d.last_status, *status, "{key}");
            }
            Outcome::Defer { due_at } => {
                pending += 1;
                assert_eq!(
                    (d.state, d.attempts, d.due_at),
                    (DeliveryState::Pending, 0, *due_at)
                );
            }
            Outcome::Cancelled { reason } => {
                assert_eq!((d.state, d.attempts), (DeliveryState::Cancelled, 0));
                assert_eq!(d.last_error.as_deref(), Some(reason.as_str()));
            }
        }
    }
    let d = store
        .get_delivery(&keys[21])
        .await
        .expect("sent after defer");
    assert_eq!(d.state, DeliveryState::Sent);
    assert_eq!(d.last_response.as_deref(), Some("250 after all"));
    assert_eq!(
        store.get_delivery(&keys[0]).await.expect("d").state,
        DeliveryState::Sent
    );
    let stats = store.outbox_stats().await.expect("stats");
    assert_eq!((stats.pending, stats.dead), (pending, dead));
    assert!(pending > 0 && dead > 0);
}

pub async fn escalation_steps(store: &dyn Store, clock: &ManualClock) {
    use crate::notify::escalation::{EscalationState, EscalationStep, NewPolicy};
    let c1 = component(store, "API").await;
    let c2 = component(store, "Web").await;
    // Channels that want no ordinary events: they hear only from the escalation.
    let first = store
        .create_channel(
            webhook_channel("primary", &["maintenance.cancelled"], vec![]),
            &actor(),
        )
        .await
        .expect("channel");
    let second = store
        .create_channel(
            webhook_channel("secondary", &["maintenance.cancelled"], vec![]),
            &actor(),
        )
        .await
        .expect("channel");
    let steps = vec![
        EscalationStep {
            channel_ids: vec![first.id],
            wait_seconds: 60,
        },
        EscalationStep {
            channel_ids: vec![second.id],
            wait_seconds: 60,
        },
    ];
    let policy = store
        .create_policy(
            NewPolicy {
                name: "On-call".into(),
                steps: steps.clone(),
                repeat: 1,
                components: vec![c1.id],
                ..NewPolicy::default()
            },
            &actor(),
        )
        .await
        .expect("policy");
    assert_eq!(policy.components, [c1.id]);
    let covered = store
        .create_policy(
            NewPolicy {
                name: "Second".into(),
                steps: steps.clone(),
                components: vec![c1.id],
                ..NewPolicy::default()
            },
            &actor(),
        )
        .await;
    assert!(
        matches!(
            covered,
            Err(StoreError::Conflict {
                code: "already_covered",
                ..
            })
        ),
        "{covered:?}"
    );
    let unknown = store
        .create_policy(
            NewPolicy {
                name: "Third".into(),
                steps: vec![EscalationStep {
                    channel_ids: vec![ChannelId::new()],
                    wait_seconds: 60,
                }],
                components: vec![c2.id],
                ..NewPolicy::default()
            },
            &actor(),
        )
        .await;
    assert!(
        matches!(unknown, Err(StoreError::Invalid { .. })),
        "{unknown:?}"
    );
    assert_eq!(store.list_policies().await.expect("policies").len(), 1);

    // Escalation deliveries, in order: (channel, escalation) of each, by key.
    async fn escalation_deliveries(store: &dyn Store) -> Vec<(String, String)> {
        let mut all: Vec<(String, String)> = store
            .list_deliveries(None, PageRequest::first(500))
            .await
            .expect("deliveries")
            .items
            .into_iter()
            .filter(|d| d.purpose == Purpose::Escalate)
            .map(|d| (d.recipient_id, d.key))
            .collect();
        all.sort_by(|a, b| a.1.cmp(&b.1));
        all
    }

    // An incident on the covered component starts it: the first step's channel at once.
    let incident = store
        .create_incident(open_incident("API down", c1.id), &actor())
        .await
        .expect("incident");
    store.plan_notifications(1000).await.expect("plan");
    let active = store
        .list_escalations(Some(EscalationState::Active), 10)
        .await
        .expect("escalations");
    assert_eq!(active.len(), 1);
    let escalation = active[0].clone();
    assert_eq!(escalation.subject_key, format!("incident:{}", incident.id));
    assert_eq!((escalation.step, escalation.round), (0, 0));
    assert_eq!(escalation_deliveries(store).await.len(), 1);
    let claimed = store
        .claim_deliveries(Lane::Channel, std::time::Duration::from_secs(60), 10)
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].escalation_id, Some(escalation.id));
    assert_eq!(claimed[0].recipient_id, first.id.to_string());

    // Nothing before the wait ends; then step 2, round 2's two steps, and exhaustion.
    clock.advance(Duration::seconds(30));
    assert_eq!(store.advance_escalations().await.expect("advance"), 0);
    let mut expected = vec![first.id.to_string()];
    for (next, channel) in [(1u32, &second), (0, &first), (1, &second)] {
        clock.advance(Duration::seconds(61));
        assert_eq!(store.advance_escalations().await.expect("advance"), 1);
        let now = store.get_escalation(escalation.id).await.expect("get");
        assert_eq!(now.step, next);
        expected.push(channel.id.to_string());
        let got: Vec<String> = escalation_deliveries(store)
            .await
            .into_iter()
            .map(|(r, _)| r)
            .collect();
        let mut want = expected.clone();
        want.sort();
        let mut got_sorted = got.clone();
        got_sorted.sort();
        assert_eq!(got_sorted, want);
    }
    clock.advance(Duration::seconds(61));
    assert_eq!(store.advance_escalations().await.expect("advance"), 1);
    let exhausted = store.get_escalation(escalation.id).await.expect("get");
    assert_eq!(exhausted.state, EscalationState::Exhausted);
    assert_eq!(exhausted.next_at, None);
    clock.advance(Duration::seconds(600));
    assert_eq!(store.advance_escalations().await.expect("advance"), 0);
    assert_eq!(escalation_deliveries(store).await.len(), 4);

    // Acknowledged: no further step, its unsent step cancelled, the actor recorded.
    let second_incident = store
        .create_incident(open_incident("API slow", c1.id), &actor())
        .await
        .expect("incident");
    store.plan_notifications(1000).await.expect("plan");
    let acked_id = store
        .list_escalations(Some(EscalationState::Active), 10)
        .await
        .expect("active")[0]
        .id;
    let seq = store.last_event_seq().await.expect("seq");
    let acked = store
        .acknowledge_escalation(acked_id, &Actor::token("alice"))
        .await
        .expect("ack");
    assert_eq!(acked.state, EscalationState::Acknowledged);
    assert_eq!(acked.acknowledged_by.as_deref(), Some("token:alice"));
    let again = store
        .acknowledge_escalation(acked_id, &actor())
        .await
        .expect("ack twice");
    assert_eq!(
        again.acknowledged_by.as_deref(),
        Some("token:alice"),
        "unchanged"
    );
    let cancelled = store
        .list_deliveries(Some(DeliveryState::Cancelled), PageRequest::first(50))
        .await
        .expect("cancelled");
    assert!(cancelled
        .items
        .iter()
        .any(|d| d.purpose == Purpose::Escalate));
    clock.advance(Duration::seconds(600));
    assert_eq!(store.advance_escalations().await.expect("advance"), 0);
    let kinds: Vec<String> = store
        .list_events(seq, 10)
        .await
        .expect("events")
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds, ["escalation.acknowledged"]);
    let _ = second_incident;

    // Resolved: the incident's resolution ends its escalation in the planner.
    let third = store
        .create_incident(open_incident("API errors", c1.id), &actor())
        .await
        .expect("incident");
    store.plan_notifications(1000).await.expect("plan");
    store
        .resolve_incident(third.id, Some("Fixed.".into()), &actor())
        .await
        .expect("resolve");
    store.plan_notifications(1000).await.expect("plan");
    let ended = store
        .list_escalations(None, 10)
        .await
        .expect("all")
        .into_iter()
        .find(|e| e.subject_key == format!("incident:{}", third.id))
        .expect("the third incident's escalation");
    assert_eq!(ended.state, EscalationState::Resolved);
    assert!(store
        .list_escalations(Some(EscalationState::Active), 10)
        .await
        .expect("active")
        .is_empty());
    // An incident elsewhere starts nothing.
    store
        .create_incident(open_incident("Web slow", c2.id), &actor())
        .await
        .expect("incident");
    store.plan_notifications(1000).await.expect("plan");
    assert!(store
        .list_escalations(Some(EscalationState::Active), 10)
        .await
        .expect("active")
        .is_empty());
    // Deleting the policy: what it covered is free again.
    store
        .delete_policy(policy.id, &actor())
        .await
        .expect("delete policy");
    assert!(store.list_policies().await.expect("policies").is_empty());
}
