//! Conformance checks of monitor history: roll-ups equal a recomputation from the raw results
//! they came from, rolling up twice changes nothing, a backlog (Pharos stopped for a day) is
//! caught up, results stored late recompute their hours, pruning deletes only old raw results
//! whose hours are rolled up, and the uptime windows agree with the raw results whichever
//! mix of raw results and roll-ups they are read from.
//!
//! The expected figures are computed here from the inputs, not from the store, with the
//! definitions the schema documents: nearest-rank percentiles per hour over the checks that
//! answered; per day, exact counts, p50 the answered-weighted mean of the hourly p50s and p95
//! the largest hourly p95. Times are explicit (results carry their own); the clock only
//! stamps the writes.

use crate::clock::ManualClock;
use crate::domain::*;
use crate::events::Actor;
use crate::monitor::evaluate::{Memory, Policy};
use crate::monitor::model::{Check, CheckRecord, NewMonitor};
use crate::monitor::probe::{ErrorClass, Outcome, ProbeReport, Timings};
use crate::monitor::rollup::{uptime_percent, Figures, Period, Rollup, Uptime};
use crate::store::*;
use chrono::Duration;
use std::collections::BTreeMap;

// ---- helpers -------------------------------------------------------------------------------

fn ts(text: &str) -> Timestamp {
    Timestamp::parse(text).unwrap_or_else(|| panic!("not a time: {text}"))
}

fn plus(at: Timestamp, by: Duration) -> Timestamp {
    Timestamp::from_datetime(at.0 + by)
}

async fn monitor(store: &dyn Store, name: &str) -> MonitorId {
    let check: Check = serde_json::from_value(
        serde_json::json!({ "kind": "tcp", "host": "127.0.0.1", "port": 9 }),
    )
    .expect("tcp check");
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
                tags: vec![],
                paused: false,
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

/// One input: a monitor's result at a time, with its outcome and latency in microseconds.
#[derive(Clone, Copy, Debug)]
struct Input {
    monitor: MonitorId,
    at: Timestamp,
    outcome: Outcome,
    latency_us: u64,
}

fn recorded(input: &Input) -> RecordedCheck {
    let timings = Timings {
        total_ms: input.latency_us as f64 / 1000.0,
        ..Timings::default()
    };
    let mut report = match input.outcome {
        Outcome::Down => ProbeReport::down(ErrorClass::Connect, "refused", timings),
        _ => ProbeReport::up("ok", timings),
    };
    report.outcome = input.outcome;
    RecordedCheck {
        record: CheckRecord::new(input.monitor, input.at, report),
        memory: Memory::default(),
    }
}

async fn record(store: &dyn Store, inputs: &[Input]) {
    for batch in inputs.chunks(500) {
        let batch: Vec<RecordedCheck> = batch.iter().map(recorded).collect();
        store.record_checks(&batch).await.expect("record checks");
    }
}

/// A spread of outcomes and latencies that a wrong percentile or count would not survive.
fn outcome_of(i: u64) -> Outcome {
    if i % 7 == 3 {
        Outcome::Down
    } else if i % 5 == 1 {
        Outcome::Degraded
    } else {
        Outcome::Up
    }
}

fn latency_of(i: u64) -> u64 {
    1_000 + (i * 7_919 + 13) % 48_611
}

/// `count` results of `monitor`, `every` apart from `from`, numbered from `seed`.
fn series(
    monitor: MonitorId,
    from: Timestamp,
    every: Duration,
    count: u64,
    seed: u64,
) -> Vec<Input> {
    (0..count)
        .map(|k| {
            let i = seed + k;
            Input {
                monitor,
                at: plus(from, every * k as i32),
                outcome: outcome_of(i),
                latency_us: latency_of(i),
            }
        })
        .collect()
}

/// The smallest value with at least `pct` percent of the sorted values at or below it.
fn percentile(sorted: &[u64], pct: usize) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((sorted.len() * pct) as f64 / 100.0).ceil() as usize;
    Some(sorted[rank.max(1) - 1])
}

fn hour_start(at: Timestamp) -> Timestamp {
    ts(&format!("{}:00:00Z", &at.to_db()[..13]))
}

fn day_start(at: Timestamp) -> Timestamp {
    ts(&format!("{}T00:00:00Z", &at.to_db()[..10]))
}

/// The hour figures of `monitor`'s inputs in `[from, until)`, recomputed.
fn expected_hours(
    inputs: &[Input],
    monitor: MonitorId,
    from: Timestamp,
    until: Timestamp,
) -> BTreeMap<Timestamp, Figures> {
    let mut by_hour: BTreeMap<Timestamp, Vec<&Input>> = BTreeMap::new();
    for input in inputs
        .iter()
        .filter(|i| i.monitor == monitor && i.at >= from && i.at < until)
    {
        by_hour.entry(hour_start(input.at)).or_default().push(input);
    }
    by_hour
        .into_iter()
        .map(|(hour, results)| {
            let count = |o: Outcome| results.iter().filter(|r| r.outcome == o).count() as u64;
            let mut answered: Vec<u64> = results
                .iter()
                .filter(|r| r.outcome != Outcome::Down)
                .map(|r| r.latency_us)
                .collect();
            answered.sort();
            let figures = Figures {
                checks: results.len() as u64,
                up: count(Outcome::Up),
                degraded: count(Outcome::Degraded),
                down: count(Outcome::Down),
                answered: answered.len() as u64,
                latency_sum_us: answered.iter().sum(),
                p50_us: percentile(&answered, 50),
                p95_us: percentile(&answered, 95),
                max_us: answered.last().copied(),
            };
            (hour, figures)
        })
        .collect()
}

/// Days from expected hours: exact counts, weighted-mean p50, largest p95.
fn expected_days(hours: &BTreeMap<Timestamp, Figures>) -> BTreeMap<Timestamp, Figures> {
    let mut days: BTreeMap<Timestamp, Vec<&Figures>> = BTreeMap::new();
    for (hour, figures) in hours {
        days.entry(day_start(*hour)).or_default().push(figures);
    }
    days.into_iter()
        .map(|(day, hours)| {
            let sum = |f: fn(&Figures) -> u64| hours.iter().map(|h| f(h)).sum::<u64>();
            let answered = sum(|h| h.answered);
            let weighted: u64 = hours
                .iter()
                .map(|h| h.p50_us.unwrap_or(0) * h.answered)
                .sum();
            let figures = Figures {
                checks: sum(|h| h.checks),
                up: sum(|h| h.up),
                degraded: sum(|h| h.degraded),
                down: sum(|h| h.down),
                answered,
                latency_sum_us: sum(|h| h.latency_sum_us),
                p50_us: (answered > 0).then(|| (weighted as f64 / answered as f64).round() as u64),
                p95_us: hours.iter().filter_map(|h| h.p95_us).max(),
                max_us: hours.iter().filter_map(|h| h.max_us).max(),
            };
            (day, figures)
        })
        .collect()
}

fn as_rollups(
    monitor: MonitorId,
    period: Period,
    figures: &BTreeMap<Timestamp, Figures>,
) -> Vec<Rollup> {
    figures
        .iter()
        .map(|(start, f)| Rollup::new(monitor, period, *start, f))
        .collect()
}

async fn rollups(store: &dyn Store, monitor: MonitorId, period: Period) -> Vec<Rollup> {
    store
        .monitor_rollups(monitor, period, ts("2000-01-01T00:00:00Z"))
        .await
        .expect("monitor rollups")
}

/// Asserts that the stored roll-ups of `monitor` are the recomputation of its inputs in
/// `[from, until)`.
async fn assert_recomputed(
    store: &dyn Store,
    inputs: &[Input],
    monitor: MonitorId,
    from: Timestamp,
    until: Timestamp,
    what: &str,
) {
    let hours = expected_hours(inputs, monitor, from, until);
    assert_eq!(
        rollups(store, monitor, Period::Hour).await,
        as_rollups(monitor, Period::Hour, &hours),
        "{what}: hour roll-ups"
    );
    assert_eq!(
        rollups(store, monitor, Period::Day).await,
        as_rollups(monitor, Period::Day, &expected_days(&hours)),
        "{what}: day roll-ups"
    );
}

async fn raw_count(store: &dyn Store, monitor: MonitorId) -> usize {
    store
        .recent_checks(monitor, 100_000)
        .await
        .expect("recent checks")
        .len()
}

// ---- checks --------------------------------------------------------------------------------

/// A batch stored twice (the writer retrying after its commit went through but the answer
/// was lost, or results kept on disk that were also written) is stored once.
pub async fn recording_checks_twice_stores_them_once(store: &dyn Store, _clock: &ManualClock) {
    let id = monitor(store, "retried batch").await;
    let inputs = series(id, ts("2026-03-02T10:00:00Z"), Duration::seconds(30), 6, 0);
    record(store, &inputs).await;
    record(store, &inputs[2..]).await;
    assert_eq!(raw_count(store, id).await, 6, "each result once");
    // A result at a new time in the same batch as repeated ones is still stored.
    let mut more = inputs[4..].to_vec();
    more.extend(series(
        id,
        ts("2026-03-02T10:03:00Z"),
        Duration::seconds(30),
        1,
        9,
    ));
    record(store, &more).await;
    assert_eq!(raw_count(store, id).await, 7);
}

/// Results over two days, with an hour without any and an hour where every check failed,
/// roll up into hours and days equal to a recomputation from the same inputs; rolling up
/// again changes nothing; the hour still in progress waits; other monitors stay apart.
pub async fn rollups_equal_recomputation(store: &dyn Store, _clock: &ManualClock) {
    let a = monitor(store, "api").await;
    let b = monitor(store, "web").await;
    let mut inputs = Vec::new();
    // Sunday 21:00 to Monday 03:55, every 5 minutes, except Monday 01:00-02:00.
    for (k, input) in series(a, ts("2026-03-01T21:00:00Z"), Duration::minutes(5), 84, 0)
        .into_iter()
        .enumerate()
    {
        if input.at.to_db().starts_with("2026-03-02T01") {
            continue;
        }
        let mut input = input;
        if input.at.to_db().starts_with("2026-03-01T23") {
            // A whole hour down: counted, but no latency figures.
            input.outcome = Outcome::Down;
        }
        // Results are not always stored in order within a batch.
        if k % 11 == 5 {
            inputs.insert(inputs.len().saturating_sub(3), input);
        } else {
            inputs.push(input);
        }
    }
    inputs.extend(series(
        b,
        ts("2026-03-01T22:30:00Z"),
        Duration::minutes(20),
        12,
        1_000,
    ));
    record(store, &inputs).await;

    let first = store
        .roll_up(ts("2026-03-02T03:30:00Z"))
        .await
        .expect("roll up");
    let start = ts("2026-03-01T00:00:00Z");
    let until = ts("2026-03-02T03:00:00Z");
    assert_recomputed(store, &inputs, a, start, until, "first roll-up of api").await;
    assert_recomputed(store, &inputs, b, start, until, "first roll-up of web").await;
    let hours_a = expected_hours(&inputs, a, start, until);
    let hours_b = expected_hours(&inputs, b, start, until);
    assert_eq!(hours_a.len(), 5, "21, 22, 23, 00 and 02 h: {hours_a:?}");
    assert_eq!(
        first,
        crate::monitor::rollup::RollupReport {
            monitors: 2,
            hours: (hours_a.len() + hours_b.len()) as u64,
            days: 4,
        }
    );
    // The all-down hour: counted, 0 % up, no latency.
    let down_hour = rollups(store, a, Period::Hour)
        .await
        .into_iter()
        .find(|r| r.period_start == ts("2026-03-01T23:00:00Z"))
        .expect("the 23 h roll-up");
    assert_eq!((down_hour.checks, down_hour.down), (12, 12));
    assert_eq!(down_hour.uptime_percent, Some(0.0));
    assert_eq!(down_hour.latency_p50_ms, None);
    // The day counts agree with the raw inputs directly, not only through the hours.
    let sunday: Vec<&Input> = inputs
        .iter()
        .filter(|i| i.monitor == a && i.at < ts("2026-03-02T00:00:00Z"))
        .collect();
    let days = rollups(store, a, Period::Day).await;
    assert_eq!(days[0].checks, sunday.len() as u64);
    assert_eq!(
        days[0].down,
        sunday.iter().filter(|i| i.outcome == Outcome::Down).count() as u64
    );

    // Again with the same bound: nothing to do, nothing changes.
    let before = (
        rollups(store, a, Period::Hour).await,
        rollups(store, a, Period::Day).await,
    );
    let again = store
        .roll_up(ts("2026-03-02T03:30:00Z"))
        .await
        .expect("roll up again");
    assert_eq!(again, Default::default(), "a second roll-up writes nothing");
    assert_eq!(
        (
            rollups(store, a, Period::Hour).await,
            rollups(store, a, Period::Day).await
        ),
        before
    );

    // The next hour completes: it and Monday are (re)computed.
    let next = store
        .roll_up(ts("2026-03-02T04:00:00Z"))
        .await
        .expect("roll up the next hour");
    assert_eq!((next.monitors, next.hours, next.days), (1, 1, 1));
    let until = ts("2026-03-02T04:00:00Z");
    assert_recomputed(store, &inputs, a, start, until, "after 03 h").await;

    // Every monitor's days at once, by monitor then time.
    let all = store
        .rollups_since(Period::Day, ts("2026-03-01T12:00:00Z"))
        .await
        .expect("rollups since");
    let mut expected = [
        (
            a,
            as_rollups(
                a,
                Period::Day,
                &expected_days(&expected_hours(&inputs, a, start, until)),
            ),
        ),
        (
            b,
            as_rollups(
                b,
                Period::Day,
                &expected_days(&expected_hours(&inputs, b, start, until)),
            ),
        ),
    ];
    expected.sort_by_key(|(id, _)| id.to_string());
    let expected: Vec<Rollup> = expected.into_iter().flat_map(|(_, r)| r).collect();
    assert_eq!(all, expected);
    // `since` selects the periods holding it and after.
    let from_monday = store
        .monitor_rollups(a, Period::Hour, ts("2026-03-02T00:30:00Z"))
        .await
        .expect("hours since");
    assert_eq!(
        from_monday
            .iter()
            .map(|r| r.period_start.to_db())
            .collect::<Vec<_>>(),
        [
            "2026-03-02T00:00:00.000000Z",
            "2026-03-02T02:00:00.000000Z",
            "2026-03-02T03:00:00.000000Z"
        ]
    );
}

/// A day of results with no roll-up (Pharos stopped) is caught up in one call; results
/// stored after their hour was rolled up (a batch written late, in and out of order)
/// recompute that hour and its day; the result equals a recomputation of everything.
pub async fn rollups_catch_up_and_recompute_late_results(store: &dyn Store, _clock: &ManualClock) {
    let id = monitor(store, "api").await;
    let mut inputs = series(id, ts("2026-03-01T10:00:00Z"), Duration::minutes(10), 12, 0);
    record(store, &inputs).await;
    store
        .roll_up(ts("2026-03-01T12:00:00Z"))
        .await
        .expect("roll up");
    let start = ts("2026-03-01T00:00:00Z");
    assert_recomputed(
        store,
        &inputs,
        id,
        start,
        ts("2026-03-01T12:00:00Z"),
        "before the gap",
    )
    .await;

    // 40 hours of results with no roll-up, then one call.
    let backlog = series(
        id,
        ts("2026-03-01T12:00:00Z"),
        Duration::minutes(7),
        343,
        100,
    );
    record(store, &backlog).await;
    inputs.extend(backlog);
    let until = ts("2026-03-03T04:00:00Z");
    let report = store.roll_up(until).await.expect("catch up");
    assert_eq!(report.monitors, 1);
    assert_eq!(report.hours, 40, "12 h to 04 h two days later");
    assert_eq!(report.days, 3, "one write per day touched");
    assert_recomputed(store, &inputs, id, start, until, "after catching up").await;

    // A late batch: a result earlier than the monitor's latest (stored out of order) and
    // one later than it, both in hours already rolled up.
    let latest = inputs.iter().map(|i| i.at).max().expect("latest");
    let late = vec![
        Input {
            monitor: id,
            // Not a time of the backlog (every 7 minutes from 12:00): one check per time.
            at: ts("2026-03-01T13:04:00Z"),
            outcome: Outcome::Down,
            latency_us: 9_000_000,
        },
        Input {
            monitor: id,
            at: ts("2026-03-02T08:01:00Z"),
            outcome: Outcome::Degraded,
            latency_us: 77_777,
        },
    ];
    assert!(late.iter().all(|i| i.at < latest));
    let in_order = Input {
        monitor: id,
        at: plus(latest, Duration::seconds(30)),
        outcome: Outcome::Up,
        latency_us: 4_321,
    };
    assert!(in_order.at < until, "rolled up already: {}", in_order.at);
    record(store, &late).await;
    record(store, &[in_order]).await;
    inputs.extend(late);
    inputs.push(in_order);
    let report = store.roll_up(until).await.expect("recompute");
    assert!(report.hours > 0, "{report:?}");
    assert_recomputed(store, &inputs, id, start, until, "after the late results").await;
    assert_eq!(
        store.roll_up(until).await.expect("again"),
        Default::default(),
        "nothing left to recompute"
    );
}

/// Pruning deletes raw results older than the bound whose hours are rolled up and current,
/// in batches, and keeps the roll-ups; results of hours not rolled up, of a monitor never
/// rolled up, or of an hour awaiting recomputation stay until they are rolled up.
pub async fn prune_keeps_rollups(store: &dyn Store, _clock: &ManualClock) {
    let id = monitor(store, "api").await;
    // Two days at one result a minute: several prune batches.
    let mut inputs = series(
        id,
        ts("2026-03-01T00:00:00Z"),
        Duration::minutes(1),
        2 * 1_440,
        0,
    );
    record(store, &inputs).await;
    let rolled = ts("2026-03-02T12:00:00Z");
    store.roll_up(rolled).await.expect("roll up");
    let start = ts("2026-03-01T00:00:00Z");
    let hours = rollups(store, id, Period::Hour).await;
    assert_eq!(hours.len(), 36);
    // Results of a monitor created after the roll-up: not rolled up, never pruned.
    let other = monitor(store, "not rolled up yet").await;
    let others = series(other, ts("2026-03-01T00:00:00Z"), Duration::hours(1), 48, 0);
    record(store, &others).await;

    // Older than a bound inside the rolled-up range: exactly the results before it go.
    let bound = ts("2026-03-01T20:30:00Z");
    let pruned = store.prune_checks(bound).await.expect("prune");
    assert_eq!(
        pruned as usize,
        inputs.iter().filter(|i| i.at < bound).count()
    );
    let kept = store.recent_checks(id, 100_000).await.expect("recent");
    assert_eq!(kept.len(), inputs.iter().filter(|i| i.at >= bound).count());
    assert_eq!(kept.last().map(|c| c.at), Some(bound));
    assert_eq!(raw_count(store, other).await, others.len());

    // A late result in a rolled-up hour: that hour waits for its recomputation, with its
    // results, while older ones go.
    let late = Input {
        monitor: id,
        at: ts("2026-03-02T10:30:30Z"),
        outcome: Outcome::Down,
        latency_us: 1,
    };
    record(store, &[late]).await;
    inputs.push(late);
    let stale = ts("2026-03-02T10:00:00Z");
    let pruned = store
        .prune_checks(ts("2027-01-01T00:00:00Z"))
        .await
        .expect("prune before the stale hour");
    assert_eq!(
        pruned as usize,
        inputs
            .iter()
            .filter(|i| i.at >= bound && i.at < stale)
            .count()
    );
    let report = store.roll_up(rolled).await.expect("recompute");
    assert_eq!(
        (report.monitors, report.hours, report.days),
        (2, 2 + 36, 1 + 2),
        "api: 10 h and 11 h, Monday; the other monitor: its first 36 hours, two days"
    );
    assert_recomputed(
        store,
        &inputs,
        id,
        start,
        rolled,
        "after pruning and recomputing",
    )
    .await;

    // A bound past everything: what is rolled up goes, the rest stays, roll-ups stay.
    let pruned = store
        .prune_checks(ts("2027-01-01T00:00:00Z"))
        .await
        .expect("prune all");
    assert_eq!(
        pruned as usize,
        inputs
            .iter()
            .filter(|i| i.at >= stale && i.at < rolled)
            .count()
            + 36
    );
    assert_eq!(
        raw_count(store, id).await,
        inputs.iter().filter(|i| i.at >= rolled).count(),
        "results of hours not rolled up are kept"
    );
    assert_eq!(raw_count(store, other).await, others.len() - 36);
    assert_recomputed(store, &others, other, start, rolled, "the other monitor").await;
    assert_recomputed(
        store,
        &inputs,
        id,
        start,
        rolled,
        "after pruning everything",
    )
    .await;
    assert_eq!(
        store
            .prune_checks(ts("2027-01-01T00:00:00Z"))
            .await
            .expect("prune again"),
        0
    );
    // Rolling up again after pruning rewrites nothing.
    assert_eq!(
        store.roll_up(rolled).await.expect("roll up again"),
        Default::default()
    );
    assert_recomputed(store, &inputs, id, start, rolled, "rolled up after pruning").await;
}

/// Uptime over 24 h, 7, 30, 90 and 365 days equals the share of passing results among the
/// raw inputs in each window, read from raw results only, from roll-ups plus the current
/// hour, and after the raw results behind the roll-ups are pruned; none without checks.
pub async fn uptime_windows(store: &dyn Store, _clock: &ManualClock) {
    let id = monitor(store, "api").await;
    let now = ts("2026-03-02T09:30:00Z");
    // A result every 6 hours for 400 days (never in the first partial hour of a window, so
    // the figures stay exact once raw results are pruned), then one a minute for two hours.
    let mut inputs = series(
        id,
        ts("2025-01-26T00:10:00Z"),
        Duration::hours(6),
        400 * 4,
        0,
    );
    inputs.retain(|i| i.at < ts("2026-03-02T07:30:00Z"));
    inputs.extend(series(
        id,
        ts("2026-03-02T07:30:00Z"),
        Duration::minutes(1),
        120,
        7,
    ));
    assert!(inputs.iter().all(|i| i.at <= now));
    record(store, &inputs).await;

    let expected = Uptime::from_windows(Uptime::WINDOWS.map(|length| {
        let start = Timestamp::from_datetime(now.0 - length);
        let window: Vec<&Input> = inputs
            .iter()
            .filter(|i| i.at >= start && i.at <= now)
            .collect();
        let passed = window.iter().filter(|i| i.outcome != Outcome::Down).count();
        uptime_percent(passed as u64, window.len() as u64)
    }));
    assert!(expected.y1 != expected.h24, "windows differ: {expected:?}");
    assert_eq!(
        store.monitor_uptime(id, now).await.expect("uptime"),
        expected,
        "from raw results only"
    );
    store
        .roll_up(ts("2026-03-02T09:28:00Z"))
        .await
        .expect("roll up");
    assert_eq!(
        store.monitor_uptime(id, now).await.expect("uptime"),
        expected,
        "from roll-ups and the current hour"
    );
    let pruned = store
        .prune_checks(Timestamp::from_datetime(now.0 - Duration::days(14)))
        .await
        .expect("prune");
    assert!(pruned > 1_000, "{pruned}");
    assert_eq!(
        store.monitor_uptime(id, now).await.expect("uptime"),
        expected,
        "after pruning"
    );
    // A late failure in a rolled-up hour counts before the next roll-up.
    let late = Input {
        monitor: id,
        at: ts("2026-03-02T08:15:30Z"),
        outcome: Outcome::Down,
        latency_us: 1,
    };
    record(store, &[late]).await;
    let with_late = store.monitor_uptime(id, now).await.expect("uptime");
    assert!(
        with_late.h24 < expected.h24,
        "{with_late:?} vs {expected:?}"
    );
    store
        .roll_up(ts("2026-03-02T09:28:00Z"))
        .await
        .expect("roll up");
    assert_eq!(
        store.monitor_uptime(id, now).await.expect("uptime"),
        with_late
    );

    let idle = monitor(store, "idle").await;
    assert_eq!(
        store.monitor_uptime(idle, now).await.expect("uptime"),
        Uptime::default()
    );
    let missing: MonitorId = "0190a0a0-0000-7000-8000-000000000000".parse().expect("id");
    assert!(matches!(
        store.monitor_uptime(missing, now).await,
        Err(StoreError::NotFound { .. })
    ));
}
