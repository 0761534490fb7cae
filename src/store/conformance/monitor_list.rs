//! Conformance checks of the admin monitor list's queries: [`Store::monitor_listing`] filters
//! by state, kind and text (name or tag, any case, `%` and `_` taken literally), orders
//! running monitors by health (down first) and paused ones last, pages with a total;
//! [`Store::uptime_24h`] agrees with the raw results before and after they are rolled up;
//! [`Store::record_checks`] leaves each monitor its newest result of a batch, whatever the order;
//! [`Store::last_transition`] returns the newest verdict's evidence.

use crate::clock::{Clock, ManualClock};
use crate::domain::*;
use crate::events::Actor;
use crate::monitor::evaluate::{Health, Memory, Observation, Policy, Rule, Transition};
use crate::monitor::model::{Check, CheckRecord, NewMonitor};
use crate::monitor::probe::{ErrorClass, Outcome, ProbeReport, Timings};
use crate::store::*;
use chrono::Duration;

fn ts(text: &str) -> Timestamp {
    Timestamp::parse(text).unwrap_or_else(|| panic!("not a time: {text}"))
}

async fn monitor(
    store: &dyn Store,
    name: &str,
    kind: &str,
    tags: &[&str],
    paused: bool,
) -> MonitorId {
    let check: Check = serde_json::from_value(match kind {
        "tcp" => serde_json::json!({ "kind": "tcp", "host": "127.0.0.1", "port": 9 }),
        _ => serde_json::json!({ "kind": "http", "url": "http://127.0.0.1:9/" }),
    })
    .expect("check");
    store
        .create_monitor(
            NewMonitor {
                name: name.into(),
                description: None,
                check,
                interval_seconds: 60,
                timeout_ms: 1_000,
                policy: Policy::default(),
                components: vec![],
                tags: tags.iter().map(|t| t.to_string()).collect(),
                paused,
                auto_incidents: false,
                push_token_hash: None,
                managed_by: ManagedBy::Api,
                config_key: None,
            },
            &Actor::token("conformance"),
        )
        .await
        .unwrap_or_else(|e| panic!("create monitor {name}: {e}"))
        .id
}

async fn make(store: &dyn Store, id: MonitorId, to: Health, flapping: bool, at: Timestamp) {
    let outcome = match to {
        Health::Down => Outcome::Down,
        Health::Degraded => Outcome::Degraded,
        _ => Outcome::Up,
    };
    let evidence = vec![Observation::new(
        at,
        outcome,
        (outcome == Outcome::Down).then_some(ErrorClass::Connect),
        format!("seen {}", outcome.as_str()),
    )];
    let transition = Transition {
        from: Health::Pending,
        to,
        at,
        flapping,
        flapping_started: flapping,
        flapping_ended: false,
        rule: Rule::Consecutive { count: 1 },
        evidence: evidence.clone(),
        first_failure_at: None,
    };
    let memory = Memory {
        health: to,
        health_since: Some(at),
        flapping,
        recent: evidence.into_iter().collect(),
        ..Memory::default()
    };
    store
        .apply_transition(id, &transition, &memory)
        .await
        .expect("apply transition");
}

async fn names(store: &dyn Store, query: MonitorQuery) -> (Vec<String>, u64) {
    let listing = store.monitor_listing(&query).await.expect("listing");
    (
        listing.items.into_iter().map(|m| m.name).collect(),
        listing.total,
    )
}

fn query(limit: u32) -> MonitorQuery {
    MonitorQuery {
        limit,
        ..MonitorQuery::default()
    }
}

pub async fn monitor_listing_filters_and_orders(store: &dyn Store, clock: &ManualClock) {
    let now = clock.now();
    let up = monitor(store, "b up", "http", &["Team-A"], false).await;
    let down = monitor(store, "z down", "tcp", &["team-b"], false).await;
    let degraded = monitor(store, "y degraded", "http", &["team-b"], false).await;
    let flapping = monitor(store, "c flapping", "http", &[], false).await;
    monitor(store, "a paused", "tcp", &["team-a"], true).await;
    monitor(store, "d pending 100%_sure", "http", &[], false).await;
    make(store, up, Health::Up, false, now).await;
    make(store, down, Health::Down, false, now).await;
    make(store, degraded, Health::Degraded, false, now).await;
    make(store, flapping, Health::Up, true, now).await;

    let (all, total) = names(store, query(50)).await;
    assert_eq!(total, 6);
    assert_eq!(
        all,
        [
            "z down",
            "y degraded",
            "d pending 100%_sure",
            "b up",
            "c flapping",
            "a paused"
        ],
        "down, degraded, pending, up by name; paused last"
    );
    // Pages: offset and limit, the total of the whole match.
    let (page, total) = names(
        store,
        MonitorQuery {
            offset: 2,
            limit: 2,
            ..MonitorQuery::default()
        },
    )
    .await;
    assert_eq!(
        (page, total),
        (
            vec!["d pending 100%_sure".to_string(), "b up".to_string()],
            6
        )
    );

    // Past the end: no row, the total still told.
    let (page, total) = names(
        store,
        MonitorQuery {
            offset: 10,
            limit: 2,
            ..MonitorQuery::default()
        },
    )
    .await;
    assert!(page.is_empty());
    assert_eq!(total, 6);

    for (state, expected) in [
        (MonitorStateFilter::Down, vec!["z down"]),
        (MonitorStateFilter::Degraded, vec!["y degraded"]),
        (MonitorStateFilter::Up, vec!["b up", "c flapping"]),
        (MonitorStateFilter::Pending, vec!["d pending 100%_sure"]),
        (MonitorStateFilter::Paused, vec!["a paused"]),
        (MonitorStateFilter::Flapping, vec!["c flapping"]),
    ] {
        let (got, total) = names(
            store,
            MonitorQuery {
                state: Some(state),
                limit: 50,
                ..MonitorQuery::default()
            },
        )
        .await;
        assert_eq!(got, expected, "{}", state.as_str());
        assert_eq!(total, expected.len() as u64);
    }
    let (tcp, _) = names(
        store,
        MonitorQuery {
            kind: Some("tcp".into()),
            limit: 50,
            ..MonitorQuery::default()
        },
    )
    .await;
    assert_eq!(tcp, ["z down", "a paused"]);
    // Text: the name or a tag, whatever the (ASCII) case; `%` and `_` are literal.
    for (text, expected) in [
        ("TEAM-A", vec!["b up", "a paused"]),
        ("Degr", vec!["y degraded"]),
        ("100%_", vec!["d pending 100%_sure"]),
        ("%", vec!["d pending 100%_sure"]),
        ("_", vec!["d pending 100%_sure"]),
        ("nothing", vec![]),
    ] {
        let (got, total) = names(
            store,
            MonitorQuery {
                search: Some(text.into()),
                limit: 50,
                ..MonitorQuery::default()
            },
        )
        .await;
        assert_eq!(got, expected, "search {text:?}");
        assert_eq!(total, expected.len() as u64);
    }
    // Filters combine.
    let (got, _) = names(
        store,
        MonitorQuery {
            state: Some(MonitorStateFilter::Down),
            kind: Some("http".into()),
            limit: 50,
            ..MonitorQuery::default()
        },
    )
    .await;
    assert!(got.is_empty());

    // The row carries what the list shows.
    let row = store
        .monitor_listing(&MonitorQuery {
            state: Some(MonitorStateFilter::Down),
            limit: 1,
            ..MonitorQuery::default()
        })
        .await
        .expect("listing")
        .items
        .remove(0);
    assert_eq!(row.id, down);
    assert_eq!(row.check.kind(), "tcp");
    assert_eq!(row.tags, ["team-b"]);
    assert_eq!(row.health, Health::Down);
    assert!(!row.paused && !row.flapping);

    // The last transition, with its evidence; none for a monitor without a verdict.
    let t = store
        .last_transition(down)
        .await
        .expect("transition")
        .expect("one");
    assert_eq!(t.to, Health::Down);
    assert_eq!(t.evidence[0].message, "seen down");
    let pending = store
        .monitor_listing(&MonitorQuery {
            state: Some(MonitorStateFilter::Pending),
            limit: 1,
            ..MonitorQuery::default()
        })
        .await
        .expect("listing")
        .items
        .remove(0);
    assert_eq!(store.last_transition(pending.id).await.expect("none"), None);
}

pub async fn uptime_24h_of_a_page(store: &dyn Store, _clock: &ManualClock) {
    let a = monitor(store, "a", "http", &[], false).await;
    let b = monitor(store, "b", "http", &[], false).await;
    let quiet = monitor(store, "quiet", "http", &[], false).await;
    let now = ts("2026-03-02T09:30:00Z");
    // A result at :10 and :40 of every hour for two days; every fifth fails (b: every other).
    let mut inputs = Vec::new();
    let mut at = ts("2026-02-28T09:10:00Z");
    let mut i = 0u32;
    while at <= now {
        for (id, every) in [(a, 5), (b, 2)] {
            let timings = Timings {
                total_ms: 10.0,
                ..Timings::default()
            };
            let report = if i % every == 0 {
                ProbeReport::down(ErrorClass::Connect, "refused", timings)
            } else {
                ProbeReport::up("ok", timings)
            };
            inputs.push(RecordedCheck {
                record: CheckRecord::new(id, at, report),
                memory: Memory::default(),
            });
        }
        i += 1;
        at = Timestamp::from_datetime(at.0 + Duration::minutes(30));
    }
    store.record_checks(&inputs).await.expect("record");
    let expected = |id: MonitorId, from: Timestamp| {
        let window: Vec<_> = inputs
            .iter()
            .filter(|r| r.record.monitor_id == id && r.record.at >= from && r.record.at <= now)
            .collect();
        let passed = window
            .iter()
            .filter(|r| r.record.outcome != Outcome::Down)
            .count();
        crate::monitor::rollup::uptime_percent(passed as u64, window.len() as u64).expect("checks")
    };
    let close = |got: f64, want: f64| (got - want).abs() < 1e-9;

    // Raw results only: the 24 hours before now exactly.
    let day_before = Timestamp::from_datetime(now.0 - Duration::hours(24));
    let got = store.uptime_24h(&[a, b, quiet], now).await.expect("uptime");
    assert!(!got.contains_key(&quiet), "no checks, no figure");
    assert!(close(got[&a], expected(a, day_before)), "{got:?}");
    assert!(close(got[&b], expected(b, day_before)), "{got:?}");

    // Rolled up to 09:00: whole hours from the first one inside the window, raw after.
    store
        .roll_up(ts("2026-03-02T09:00:00Z"))
        .await
        .expect("roll up");
    let first_hour = ts("2026-03-01T10:00:00Z");
    let got = store.uptime_24h(&[a, b], now).await.expect("uptime");
    assert!(close(got[&a], expected(a, first_hour)), "{got:?}");
    assert!(close(got[&b], expected(b, first_hour)), "{got:?}");
    assert!(store.uptime_24h(&[], now).await.expect("empty").is_empty());
}

/// A batch with several results per monitor, out of order: each monitor keeps its newest
/// result's time, outcome, message and memory (not the batch's last), every result is stored,
/// and a later batch with an older result stores it without moving the monitor back.
pub async fn a_batch_keeps_each_monitors_newest_result(store: &dyn Store, _clock: &ManualClock) {
    let a = monitor(store, "a", "http", &[], false).await;
    let b = monitor(store, "b", "tcp", &[], false).await;
    let timings = Timings {
        total_ms: 10.0,
        ..Timings::default()
    };
    let item = |id: MonitorId, at: &str, up: bool, message: &str| {
        let report = if up {
            ProbeReport::up(message, timings.clone())
        } else {
            ProbeReport::down(ErrorClass::Connect, message, timings.clone())
        };
        RecordedCheck {
            record: CheckRecord::new(id, ts(at), report),
            // A memory that says which result it followed.
            memory: Memory {
                health_since: Some(ts(at)),
                ..Memory::default()
            },
        }
    };
    store
        .record_checks(&[
            item(a, "2026-03-02T10:00:00Z", true, "a first"),
            item(b, "2026-03-02T10:05:00Z", false, "b only"),
            item(a, "2026-03-02T10:20:00Z", false, "a newest"),
            item(a, "2026-03-02T10:10:00Z", true, "a older, sent last"),
        ])
        .await
        .expect("record");
    let got = store.get_monitor(a).await.expect("a");
    assert_eq!(got.last_checked_at, Some(ts("2026-03-02T10:20:00Z")));
    assert_eq!(got.last_outcome, Some(Outcome::Down));
    assert_eq!(got.last_message.as_deref(), Some("a newest"));
    assert_eq!(got.memory.health_since, Some(ts("2026-03-02T10:20:00Z")));
    let got = store.get_monitor(b).await.expect("b");
    assert_eq!(got.last_checked_at, Some(ts("2026-03-02T10:05:00Z")));
    assert_eq!(got.last_message.as_deref(), Some("b only"));
    let stored: Vec<String> = store
        .recent_checks(a, 10)
        .await
        .expect("results")
        .into_iter()
        .map(|r| r.message)
        .collect();
    assert_eq!(stored, ["a newest", "a older, sent last", "a first"]);

    store
        .record_checks(&[item(a, "2026-03-02T10:15:00Z", true, "a late")])
        .await
        .expect("record late");
    let got = store.get_monitor(a).await.expect("a");
    assert_eq!(got.last_message.as_deref(), Some("a newest"));
    assert_eq!(got.memory.health_since, Some(ts("2026-03-02T10:20:00Z")));
    assert_eq!(store.recent_checks(a, 10).await.expect("results").len(), 4);
}
