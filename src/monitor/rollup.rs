//! Monitor history: raw check results rolled up per hour and per day, and the task that keeps
//! the roll-ups current and prunes the raw results once they are rolled up.
//!
//! The arithmetic is here and pure ([`Figures::from_results`] for an hour,
//! [`Figures::from_hours`] for a day), so the store only reads rows and writes figures. Counts
//! and latency sums add up exactly; percentiles do not, so a day's are derived from its
//! hours: its p50 is the mean of the hours' p50s weighted by how many checks answered in each,
//! and its p95 the largest of the hours' p95s, an upper bound that never hides a slow hour.
//! Latency covers the checks that answered (up or degraded): a failed check's duration is
//! the time to fail (a timeout, a refused connection), which says nothing about the service's
//! speed.
//!
//! The task ([`run`]) must not decide what is complete: [`Store::roll_up`] finds the hours
//! that have no roll-up yet or received results after theirs was written, so a restart, a
//! long outage or a batch of results written late all converge to the same roll-ups.

use super::probe::Outcome;
use crate::clock::Clock;
use crate::domain::{MonitorId, Timestamp};
use crate::store::Store;
use chrono::DateTime;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use utoipa::ToSchema;

/// How long raw results are kept when the configuration does not say.
pub const DEFAULT_RAW_RETENTION: Duration = Duration::from_secs(14 * 86_400);
/// How often the task looks for hours to roll up and results to prune.
const EVERY: Duration = Duration::from_secs(300);
/// After a failure (the database away), the next attempt comes sooner.
const RETRY: Duration = Duration::from_secs(30);
/// An hour is rolled up this long after it ends, so that the results of checks still running
/// at its end (they count where they started) and the writer's last batch are in. A result
/// that comes later still counts: its hour is recomputed.
pub const SETTLE: Duration = Duration::from_secs(120);

/// The length of a roll-up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    Hour,
    Day,
}

impl Period {
    pub fn as_str(&self) -> &'static str {
        match self {
            Period::Hour => "hour",
            Period::Day => "day",
        }
    }

    fn micros(&self) -> i64 {
        match self {
            Period::Hour => 3_600_000_000,
            Period::Day => 86_400_000_000,
        }
    }

    /// The start of the period holding `at` (days start at midnight UTC).
    pub fn floor(&self, at: Timestamp) -> Timestamp {
        let micros = at.0.timestamp_micros();
        from_micros(micros.div_euclid(self.micros()) * self.micros())
    }

    /// `at` when it starts a period, else the start of the next one.
    pub fn ceil(&self, at: Timestamp) -> Timestamp {
        let floor = self.floor(at);
        if floor == at {
            at
        } else {
            self.next(floor)
        }
    }

    /// The start of the period after the one starting at `start`.
    pub fn next(&self, start: Timestamp) -> Timestamp {
        from_micros(start.0.timestamp_micros() + self.micros())
    }
}

fn from_micros(micros: i64) -> Timestamp {
    Timestamp(DateTime::from_timestamp_micros(micros).expect("a time within chrono's range"))
}

super::probe::from_str_by_as_str!(Period, "roll-up period", [Period::Hour, Period::Day]);

/// The figures of one period, as stored: exact counts and latency sum, and percentiles.
/// Latencies are in microseconds and cover the `answered` checks only.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Figures {
    pub checks: u64,
    pub up: u64,
    pub degraded: u64,
    pub down: u64,
    /// Checks that answered (up or degraded).
    pub answered: u64,
    pub latency_sum_us: u64,
    pub p50_us: Option<u64>,
    pub p95_us: Option<u64>,
    pub max_us: Option<u64>,
}

/// The nearest-rank percentile of sorted values: the smallest value with at least `pct`
/// percent of the values at or below it.
pub fn nearest_rank(sorted: &[u64], pct: u64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let n = sorted.len() as u64;
    let rank = (n * pct).div_ceil(100).max(1);
    sorted.get(rank as usize - 1).copied()
}

/// Percent of `passed` among `checks`; none without checks.
pub fn uptime_percent(passed: u64, checks: u64) -> Option<f64> {
    (checks > 0).then(|| passed as f64 * 100.0 / checks as f64)
}

impl Figures {
    /// An hour's figures from its results (outcome, latency in microseconds), in any order.
    pub fn from_results(results: impl IntoIterator<Item = (Outcome, u64)>) -> Figures {
        let mut figures = Figures::default();
        let mut latencies = Vec::new();
        for (outcome, latency_us) in results {
            figures.checks += 1;
            match outcome {
                Outcome::Up => figures.up += 1,
                Outcome::Degraded => figures.degraded += 1,
                Outcome::Down => {
                    figures.down += 1;
                    continue;
                }
            }
            latencies.push(latency_us);
        }
        latencies.sort_unstable();
        figures.answered = latencies.len() as u64;
        figures.latency_sum_us = latencies.iter().sum();
        figures.p50_us = nearest_rank(&latencies, 50);
        figures.p95_us = nearest_rank(&latencies, 95);
        figures.max_us = latencies.last().copied();
        figures
    }

    /// A day's figures from its hours. Counts, sums and the maximum are exact; p50 is the
    /// answered-weighted mean of the hours' p50s (rounded to the microsecond) and p95 the
    /// largest hourly p95: the raw results a day would need are pruned long before the day's
    /// roll-up stops mattering.
    pub fn from_hours<'a>(hours: impl IntoIterator<Item = &'a Figures>) -> Figures {
        let mut day = Figures::default();
        let mut weighted_p50: u128 = 0;
        for hour in hours {
            day.checks += hour.checks;
            day.up += hour.up;
            day.degraded += hour.degraded;
            day.down += hour.down;
            day.answered += hour.answered;
            day.latency_sum_us += hour.latency_sum_us;
            if let Some(p50) = hour.p50_us {
                weighted_p50 += u128::from(p50) * u128::from(hour.answered);
            }
            day.p95_us = day.p95_us.max(hour.p95_us);
            day.max_us = day.max_us.max(hour.max_us);
        }
        if day.answered > 0 {
            let n = u128::from(day.answered);
            day.p50_us = Some(((weighted_p50 + n / 2) / n) as u64);
        }
        day
    }

    pub fn uptime_percent(&self) -> Option<f64> {
        uptime_percent(self.up + self.degraded, self.checks)
    }
}

/// One hour or day of a monitor's checks, as served.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Rollup {
    #[schema(value_type = String, format = Uuid)]
    pub monitor_id: MonitorId,
    pub period: Period,
    #[schema(value_type = String, format = DateTime)]
    pub period_start: Timestamp,
    pub checks: u64,
    pub up: u64,
    pub degraded: u64,
    pub down: u64,
    /// Percent of checks that passed (up or degraded); null without checks.
    pub uptime_percent: Option<f64>,
    /// Checks that answered (up or degraded); the latency figures cover these.
    pub answered: u64,
    pub latency_mean_ms: Option<f64>,
    /// Exact for an hour; for a day, the mean of its hours' p50s weighted by `answered`.
    pub latency_p50_ms: Option<f64>,
    /// Exact for an hour; for a day, the largest of its hours' p95s.
    pub latency_p95_ms: Option<f64>,
    pub latency_max_ms: Option<f64>,
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

impl Rollup {
    pub fn new(
        monitor_id: MonitorId,
        period: Period,
        period_start: Timestamp,
        f: &Figures,
    ) -> Rollup {
        Rollup {
            monitor_id,
            period,
            period_start,
            checks: f.checks,
            up: f.up,
            degraded: f.degraded,
            down: f.down,
            uptime_percent: f.uptime_percent(),
            answered: f.answered,
            latency_mean_ms: (f.answered > 0)
                .then(|| f.latency_sum_us as f64 / f.answered as f64 / 1000.0),
            latency_p50_ms: f.p50_us.map(ms),
            latency_p95_ms: f.p95_us.map(ms),
            latency_max_ms: f.max_us.map(ms),
        }
    }
}

/// A monitor's uptime over the windows ending now: percent of checks that passed (up or
/// degraded); null when the window holds no checks.
#[derive(Clone, Debug, Default, PartialEq, Serialize, ToSchema)]
pub struct Uptime {
    #[serde(rename = "24h")]
    pub h24: Option<f64>,
    #[serde(rename = "7d")]
    pub d7: Option<f64>,
    #[serde(rename = "30d")]
    pub d30: Option<f64>,
    #[serde(rename = "90d")]
    pub d90: Option<f64>,
    #[serde(rename = "1y")]
    pub y1: Option<f64>,
}

impl Uptime {
    /// The windows, in the order of the fields.
    pub const WINDOWS: [chrono::Duration; 5] = [
        chrono::Duration::hours(24),
        chrono::Duration::days(7),
        chrono::Duration::days(30),
        chrono::Duration::days(90),
        chrono::Duration::days(365),
    ];

    pub fn from_windows(percents: [Option<f64>; 5]) -> Uptime {
        let [h24, d7, d30, d90, y1] = percents;
        Uptime {
            h24,
            d7,
            d30,
            d90,
            y1,
        }
    }
}

/// What one [`Store::roll_up`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RollupReport {
    /// Monitors whose roll-ups were written.
    pub monitors: u64,
    /// Hour rows written (new or recomputed).
    pub hours: u64,
    /// Day rows written.
    pub days: u64,
}

/// Rolls up at start (catching up whatever accumulated while Pharos was stopped), then every
/// few minutes; prunes raw results older than `retention` after each successful roll-up.
/// Runs until `stop` turns true; waits for `db_ready` before the first pass.
pub async fn run(
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    db_ready: Arc<AtomicBool>,
    mut stop: watch::Receiver<bool>,
    retention: Duration,
) {
    let mut wait = Duration::ZERO;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => return,
        }
        if !db_ready.load(Ordering::SeqCst) {
            wait = Duration::from_secs(2);
            continue;
        }
        // Each roll-up chunk and prune batch is its own transaction: stopping in the middle
        // rolls back one of them and loses nothing.
        let done = tokio::select! {
            done = pass(&*store, &*clock, retention) => done,
            _ = stop.changed() => return,
        };
        wait = if done { EVERY } else { RETRY };
    }
}

/// One roll-up and prune; false when the store failed.
async fn pass(store: &dyn Store, clock: &dyn Clock, retention: Duration) -> bool {
    let now = clock.now();
    let settle = chrono::Duration::from_std(SETTLE).expect("a short duration");
    match store
        .roll_up(Timestamp::from_datetime(now.0 - settle))
        .await
    {
        Ok(report) => {
            metrics::counter!("pharos_monitor_rollups_total").increment(report.hours);
            if report.hours > 0 {
                tracing::info!(
                    monitors = report.monitors,
                    hours = report.hours,
                    days = report.days,
                    "rolled up check results"
                );
            }
        }
        Err(err) => {
            tracing::warn!(error = %err, "cannot roll up check results; retrying");
            return false;
        }
    }
    let retention = chrono::Duration::from_std(retention).unwrap_or(chrono::Duration::MAX);
    let Some(cutoff) = now.0.checked_sub_signed(retention) else {
        return true;
    };
    match store.prune_checks(Timestamp::from_datetime(cutoff)).await {
        Ok(pruned) => {
            metrics::counter!("pharos_monitor_results_pruned_total").increment(pruned);
            if pruned > 0 {
                tracing::info!(pruned, "pruned raw check results");
            }
            true
        }
        Err(err) => {
            tracing::warn!(error = %err, "cannot prune check results; retrying");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        Timestamp::parse(s).expect("time")
    }

    #[test]
    fn periods_floor_and_ceil_in_utc() {
        let at = ts("2026-03-02T09:37:12.5Z");
        assert_eq!(Period::Hour.floor(at), ts("2026-03-02T09:00:00Z"));
        assert_eq!(Period::Hour.ceil(at), ts("2026-03-02T10:00:00Z"));
        assert_eq!(Period::Day.floor(at), ts("2026-03-02T00:00:00Z"));
        assert_eq!(Period::Day.ceil(at), ts("2026-03-03T00:00:00Z"));
        let hour = ts("2026-03-02T09:00:00Z");
        assert_eq!(Period::Hour.ceil(hour), hour);
        assert_eq!(Period::Hour.next(hour), ts("2026-03-02T10:00:00Z"));
        assert_eq!(
            Period::Day.next(ts("2026-02-28T00:00:00Z")),
            ts("2026-03-01T00:00:00Z")
        );
        assert_eq!("day".parse::<Period>().ok(), Some(Period::Day));
        assert!("week".parse::<Period>().is_err());
    }

    #[test]
    fn nearest_rank_percentiles() {
        assert_eq!(nearest_rank(&[], 50), None);
        assert_eq!(nearest_rank(&[7], 50), Some(7));
        assert_eq!(nearest_rank(&[7], 95), Some(7));
        assert_eq!(nearest_rank(&[1, 2, 3, 4], 50), Some(2));
        assert_eq!(nearest_rank(&[1, 2, 3, 4], 95), Some(4));
        let hundred: Vec<u64> = (1..=100).collect();
        assert_eq!(nearest_rank(&hundred, 50), Some(50));
        assert_eq!(nearest_rank(&hundred, 95), Some(95));
        let twenty: Vec<u64> = (1..=20).collect();
        assert_eq!(nearest_rank(&twenty, 95), Some(19));
    }

    #[test]
    fn an_hour_counts_outcomes_and_times_the_answers_only() {
        let f = Figures::from_results([
            (Outcome::Up, 300),
            (Outcome::Down, 10_000_000),
            (Outcome::Up, 100),
            (Outcome::Degraded, 900),
            (Outcome::Up, 200),
        ]);
        assert_eq!(
            f,
            Figures {
                checks: 5,
                up: 3,
                degraded: 1,
                down: 1,
                answered: 4,
                latency_sum_us: 1_500,
                p50_us: Some(200),
                p95_us: Some(900),
                max_us: Some(900),
            }
        );
        assert_eq!(f.uptime_percent(), Some(80.0));
        let all_down = Figures::from_results([(Outcome::Down, 5), (Outcome::Down, 6)]);
        assert_eq!(all_down.answered, 0);
        assert_eq!((all_down.p50_us, all_down.max_us), (None, None));
        assert_eq!(all_down.uptime_percent(), Some(0.0));
        assert_eq!(Figures::from_results([]).uptime_percent(), None);
    }

    #[test]
    fn a_day_adds_counts_and_approximates_percentiles_from_hours() {
        let a = Figures::from_results([(Outcome::Up, 100), (Outcome::Up, 300)]);
        let b = Figures::from_results([
            (Outcome::Up, 1_000),
            (Outcome::Degraded, 2_000),
            (Outcome::Up, 3_000),
            (Outcome::Up, 4_000),
        ]);
        let c = Figures::from_results([(Outcome::Down, 50)]);
        let day = Figures::from_hours([&a, &b, &c]);
        assert_eq!((day.checks, day.up, day.degraded, day.down), (7, 5, 1, 1));
        assert_eq!(day.answered, 6);
        assert_eq!(day.latency_sum_us, 10_400);
        // p50s 100 (2 answered) and 2000 (4 answered): (200 + 8000) / 6 = 1366.67.
        assert_eq!(day.p50_us, Some(1_367));
        assert_eq!(day.p95_us, Some(4_000));
        assert_eq!(day.max_us, Some(4_000));
        assert_eq!(Figures::from_hours([&c]).p50_us, None);
        assert_eq!(Figures::from_hours([]), Figures::default());
    }

    #[test]
    fn a_rollup_serves_milliseconds() {
        let id: MonitorId = "0190a0a0-0000-7000-8000-000000000000".parse().expect("id");
        let f = Figures::from_results([(Outcome::Up, 1_500), (Outcome::Up, 2_500)]);
        let r = Rollup::new(id, Period::Hour, ts("2026-03-02T09:00:00Z"), &f);
        assert_eq!(r.latency_mean_ms, Some(2.0));
        assert_eq!(r.latency_p50_ms, Some(1.5));
        assert_eq!(r.latency_max_ms, Some(2.5));
        assert_eq!(r.uptime_percent, Some(100.0));
        let json = serde_json::to_value(Uptime::from_windows([Some(99.5), None, None, None, None]))
            .expect("json");
        assert_eq!(json["24h"], 99.5);
        assert!(json["1y"].is_null());
    }
}
