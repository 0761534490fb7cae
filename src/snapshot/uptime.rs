//! Daily status and uptime of a component, from its status changes. Pure: no I/O, no clock.
//!
//! A day (in the page's time zone, UTC by default) shows the worst status the component had at any moment of it, and the minutes
//! spent in each non-operational status. Uptime counts a major outage as fully down and a
//! partial outage as 30% down, as Atlassian Statuspage does; degraded performance and
//! maintenance count as up. Time before the component existed (or before its start date) is
//! "no data" and is left out of the percentage.

use crate::domain::model::{Component, ComponentStatusChange, Event};
use crate::domain::{ComponentId, ComponentStatus, Timestamp};
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// How many days the bars cover.
pub const DAYS: i64 = 90;

/// One day of one component.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DayStatus {
    pub date: NaiveDate,
    /// `None`: the component did not exist yet (no data).
    pub worst: Option<ComponentStatus>,
    pub major_minutes: u32,
    pub partial_minutes: u32,
    pub degraded_minutes: u32,
    pub maintenance_minutes: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComponentUptime {
    /// Oldest first; exactly [`DAYS`] entries, the last being today.
    pub days: Vec<DayStatus>,
    /// Percentage over the days with data; `None` when there are none.
    pub percent: Option<f64>,
}

/// The status changes the bars are computed from, per component and oldest first: the one in
/// force at the window's start (if any) and every later one.
///
/// The projector keeps it with the snapshot (in memory only) and hands it to the next build,
/// which applies the changes of the events committed since ([`StatusHistory::apply`]) instead
/// of reading 90 days of history for every component again: every row of
/// `component_status_history` is written with an event that carries it (`component.created`,
/// `component.status_changed`) at the same time, so the two agree. A build reads the store in
/// full when there is no history yet, when it is more than [`MAX_EVENTS_BEHIND`] events
/// behind, and at least every [`REREAD_EVERY`], so a mistake could not last.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatusHistory {
    /// The last event whose changes it holds (it may hold some later ones too).
    pub seq: i64,
    /// When the store was last read in full.
    pub read_at: Option<Timestamp>,
    changes: HashMap<ComponentId, Vec<ComponentStatusChange>>,
}

/// The most events a build applies; further behind, it reads the store in full.
pub const MAX_EVENTS_BEHIND: i64 = 1000;
/// How long a history read in full is kept up to date by events alone.
pub const REREAD_EVERY: Duration = Duration::hours(1);

impl StatusHistory {
    /// A history read from the store at `now`: `rows` as `Store::status_changes_window`
    /// returns them (ordered by component, then time), including every change up to `seq`.
    pub fn read(seq: i64, now: Timestamp, rows: Vec<ComponentStatusChange>) -> StatusHistory {
        let mut changes: HashMap<ComponentId, Vec<ComponentStatusChange>> = HashMap::new();
        for row in rows {
            changes.entry(row.component_id).or_default().push(row);
        }
        StatusHistory {
            seq,
            read_at: Some(now),
            changes,
        }
    }

    /// Whether a build at `now`, at log position `seq`, may go on from this history rather
    /// than read the store in full.
    pub fn usable(&self, seq: i64, now: Timestamp) -> bool {
        let Some(read_at) = self.read_at else {
            return false;
        };
        self.seq <= seq
            && seq - self.seq <= MAX_EVENTS_BEHIND
            && read_at <= now
            && now.0 - read_at.0 < REREAD_EVERY
    }

    /// Applies the status change an event records, if any: a component's creation (its first
    /// status), a change of its status, its deletion. A change already held (read from the
    /// store after its event was committed) is not added twice.
    pub fn apply(&mut self, event: &Event) {
        let Some(id) = event
            .subject_id
            .as_deref()
            .and_then(|s| s.parse::<ComponentId>().ok())
        else {
            return;
        };
        let status = |key: &str, data: &serde_json::Value| {
            data.get(key)
                .and_then(|v| serde_json::from_value::<ComponentStatus>(v.clone()).ok())
        };
        let change = match event.kind.as_str() {
            "component.created" => status("status", &event.data).map(|to| (None, to)),
            "component.status_changed" => {
                status("to", &event.data).map(|to| (status("from", &event.data), to))
            }
            "component.deleted" => {
                self.changes.remove(&id);
                None
            }
            _ => None,
        };
        let Some((from, to)) = change else {
            return;
        };
        let change = ComponentStatusChange {
            component_id: id,
            from,
            to,
            at: event.at,
        };
        let list = self.changes.entry(id).or_default();
        // Time order, as the store reads them; commits may come slightly out of it.
        let at = list.partition_point(|c| c.at <= change.at);
        if list[..at]
            .iter()
            .rev()
            .take_while(|c| c.at == change.at)
            .any(|c| *c == change)
        {
            return;
        }
        list.insert(at, change);
    }

    /// Forgets what no window from `start` on needs: each component's changes before the one
    /// in force at `start`.
    pub fn trim(&mut self, start: Timestamp) {
        for list in self.changes.values_mut() {
            let in_force = list.partition_point(|c| c.at < start);
            if in_force > 1 {
                list.drain(..in_force - 1);
            }
        }
    }

    /// A component's changes, oldest first.
    pub fn of(&self, id: ComponentId) -> &[ComponentStatusChange] {
        self.changes.get(&id).map(Vec::as_slice).unwrap_or(&[])
    }

    /// How many changes it holds.
    pub fn len(&self) -> usize {
        self.changes.values().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Every component's bars, from their status history, over one window shared by all.
pub fn bars(
    components: &[Component],
    history: &StatusHistory,
    now: Timestamp,
    tz: Tz,
) -> BTreeMap<ComponentId, ComponentUptime> {
    let window = Window::new(now, tz);
    components
        .iter()
        .map(|c| {
            let start = c
                .start_date
                .as_deref()
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
            (c.id, compute_in(&window, history.of(c.id), start))
        })
        .collect()
}

/// The days of the window in the zone `tz`, oldest first: each date with the instant it
/// begins and the instant it ends (now, for today). Computed once per build and shared by
/// every component: the zone arithmetic is most of the work otherwise.
#[derive(Debug, Clone)]
pub struct Window {
    days: Vec<(NaiveDate, DateTime<Utc>, DateTime<Utc>)>,
}

impl Window {
    /// When the window of a build at `now` begins: the page's midnight, [`DAYS`] - 1 days
    /// before today.
    pub fn start(now: Timestamp, tz: Tz) -> Timestamp {
        let today = now.0.with_timezone(&tz).date_naive();
        Timestamp::from_datetime(midnight(today - Duration::days(DAYS - 1), tz))
    }

    pub fn new(now: Timestamp, tz: Tz) -> Window {
        let today = now.0.with_timezone(&tz).date_naive();
        let first_day = today - Duration::days(DAYS - 1);
        let mut days = Vec::with_capacity(DAYS as usize);
        let mut begins = midnight(first_day, tz);
        for offset in 0..DAYS {
            let date = first_day + Duration::days(offset);
            let next = midnight(date + Duration::days(1), tz);
            days.push((date, begins, next.min(now.0)));
            begins = next;
        }
        Window { days }
    }
}

/// Computes a component's bars, one per day of the zone `tz` (days of 23 or 25 hours where
/// daylight saving time changes). `changes` are its changes in time order: the one in force at
/// the window's start (if any) and every later one. `start_date` hides earlier days.
pub fn compute(
    changes: &[ComponentStatusChange],
    start_date: Option<NaiveDate>,
    now: Timestamp,
    tz: Tz,
) -> ComponentUptime {
    compute_in(&Window::new(now, tz), changes, start_date)
}

/// [`compute`] over a window made once for many components. One pass over the changes: a
/// change matters to a day when it begins before the day ends and the next one begins after
/// the day begins, and days only move forward.
pub fn compute_in(
    window: &Window,
    changes: &[ComponentStatusChange],
    start_date: Option<NaiveDate>,
) -> ComponentUptime {
    let mut days = Vec::with_capacity(window.days.len());
    let mut counted = 0.0_f64;
    let mut down = 0.0_f64;
    // The first change still in force at or after the current day's start.
    let mut first = 0;
    for &(date, day_start, day_end) in &window.days {
        let mut day = DayStatus {
            date,
            worst: None,
            major_minutes: 0,
            partial_minutes: 0,
            degraded_minutes: 0,
            maintenance_minutes: 0,
        };
        if start_date.is_some_and(|d| d > date) {
            days.push(day);
            continue;
        }
        let ends = |i: usize| changes.get(i + 1).map(|next| next.at.0);
        while first < changes.len() && ends(first).is_some_and(|end| end <= day_start) {
            first += 1;
        }
        for (i, change) in changes.iter().enumerate().skip(first) {
            if change.at.0 >= day_end {
                break;
            }
            let from = change.at.0.max(day_start);
            let to = ends(i).unwrap_or(day_end).min(day_end);
            if to <= from {
                continue;
            }
            let status = change.to;
            let millis = (to - from).num_milliseconds().max(0);
            let minutes = ((millis + 59_999) / 60_000) as u32;
            match status {
                ComponentStatus::MajorOutage => day.major_minutes += minutes,
                ComponentStatus::PartialOutage => day.partial_minutes += minutes,
                ComponentStatus::DegradedPerformance => day.degraded_minutes += minutes,
                ComponentStatus::UnderMaintenance => day.maintenance_minutes += minutes,
                ComponentStatus::Operational => {}
            }
            if day.worst.is_none_or(|w| status.severity() > w.severity()) {
                day.worst = Some(status);
            }
            // Milliseconds, so a component created a moment ago already has data.
            counted += millis as f64;
            down += match status {
                ComponentStatus::MajorOutage => millis as f64,
                ComponentStatus::PartialOutage => millis as f64 * 0.3,
                _ => 0.0,
            };
        }
        days.push(day);
    }
    let percent = (counted > 0.0).then(|| 100.0 * (counted - down) / counted);
    ComponentUptime { days, percent }
}

/// The instant a day begins in `tz`. Where a zone skips midnight (a daylight saving change at
/// 00:00), the day begins at the first instant that exists.
pub fn midnight(date: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let naive = date.and_hms_opt(0, 0, 0).expect("midnight");
    match tz.from_local_datetime(&naive).earliest() {
        Some(t) => t.with_timezone(&Utc),
        None => (1..=3)
            .find_map(|h| {
                tz.from_local_datetime(&(naive + Duration::hours(h)))
                    .earliest()
            })
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|| naive.and_utc()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ComponentId;
    use ComponentStatus::*;

    fn ts(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    fn change(at: &str, to: ComponentStatus) -> ComponentStatusChange {
        ComponentStatusChange {
            component_id: ComponentId(uuid::Uuid::nil()),
            from: None,
            to,
            at: ts(at),
        }
    }

    /// The computation as it was first written (per day: every change, zone arithmetic
    /// again), kept as the reference the one-pass version must agree with.
    fn reference(
        changes: &[ComponentStatusChange],
        start_date: Option<NaiveDate>,
        now: Timestamp,
        tz: Tz,
    ) -> ComponentUptime {
        let today = now.0.with_timezone(&tz).date_naive();
        let first_day = today - Duration::days(DAYS - 1);
        let mut days = Vec::new();
        let (mut counted, mut down) = (0.0_f64, 0.0_f64);
        for offset in 0..DAYS {
            let date = first_day + Duration::days(offset);
            let day_start = midnight(date, tz);
            let day_end = midnight(date + Duration::days(1), tz).min(now.0);
            let mut day = DayStatus {
                date,
                worst: None,
                major_minutes: 0,
                partial_minutes: 0,
                degraded_minutes: 0,
                maintenance_minutes: 0,
            };
            if start_date.is_some_and(|d| d > date) {
                days.push(day);
                continue;
            }
            for (status, from, to) in intervals(changes, day_start, day_end) {
                let millis = (to - from).num_milliseconds().max(0);
                let minutes = ((millis + 59_999) / 60_000) as u32;
                match status {
                    MajorOutage => day.major_minutes += minutes,
                    PartialOutage => day.partial_minutes += minutes,
                    DegradedPerformance => day.degraded_minutes += minutes,
                    UnderMaintenance => day.maintenance_minutes += minutes,
                    Operational => {}
                }
                if day.worst.is_none_or(|w| status.severity() > w.severity()) {
                    day.worst = Some(status);
                }
                counted += millis as f64;
                down += match status {
                    MajorOutage => millis as f64,
                    PartialOutage => millis as f64 * 0.3,
                    _ => 0.0,
                };
            }
            days.push(day);
        }
        let percent = (counted > 0.0).then(|| 100.0 * (counted - down) / counted);
        ComponentUptime { days, percent }
    }

    /// The statuses in force during `[from, to)`, as (status, start, end) pieces. Time before the
    /// first change is absent: the component did not exist.
    fn intervals(
        changes: &[ComponentStatusChange],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Vec<(ComponentStatus, DateTime<Utc>, DateTime<Utc>)> {
        let mut pieces = Vec::new();
        if from >= to {
            return pieces;
        }
        for (i, change) in changes.iter().enumerate() {
            let start = change.at.0.max(from);
            let end = changes
                .get(i + 1)
                .map(|next| next.at.0)
                .unwrap_or(to)
                .min(to);
            if end > start {
                pieces.push((change.to, start, end));
            }
        }
        pieces
    }

    #[test]
    fn the_one_pass_computation_agrees_with_the_reference() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let statuses = [
            Operational,
            DegradedPerformance,
            PartialOutage,
            MajorOutage,
            UnderMaintenance,
        ];
        let now = ts("2026-11-28T12:34:56.789Z");
        for (round, tz) in [
            chrono_tz::UTC,
            chrono_tz::America::New_York,
            chrono_tz::Asia::Kolkata,
        ]
        .into_iter()
        .cycle()
        .take(300)
        .enumerate()
        {
            // From none to many changes, some at the same instant, some before the window,
            // some on day boundaries, one perhaps in the future.
            let count = rng.random_range(0..(1 + round % 60));
            let mut at = now.0 - Duration::days(rng.random_range(0..130));
            let mut changes = Vec::new();
            for _ in 0..count {
                changes.push(ComponentStatusChange {
                    component_id: ComponentId(uuid::Uuid::nil()),
                    from: None,
                    to: statuses[rng.random_range(0..statuses.len())],
                    at: Timestamp::from_datetime(at),
                });
                at += match rng.random_range(0..4) {
                    0 => Duration::zero(),
                    1 => Duration::minutes(rng.random_range(1..90)),
                    2 => Duration::hours(24),
                    _ => Duration::hours(rng.random_range(1..100)),
                };
            }
            let start = (round % 7 == 3)
                .then(|| now.0.date_naive() - Duration::days(rng.random_range(0..100)));
            assert_eq!(
                compute(&changes, start, now, tz),
                reference(&changes, start, now, tz),
                "round {round} in {tz}"
            );
        }
    }

    fn event(seq: i64, kind: &str, id: ComponentId, at: &str, data: serde_json::Value) -> Event {
        Event {
            seq,
            kind: kind.into(),
            subject_id: Some(id.to_string()),
            actor: "pharos".into(),
            at: ts(at),
            data,
        }
    }

    #[test]
    fn a_history_follows_the_events_as_a_read_would_see_them() {
        let a = ComponentId(uuid::Uuid::now_v7());
        let b = ComponentId(uuid::Uuid::now_v7());
        let read_at = ts("2026-11-28T12:00:00Z");
        // Read from the store: `a` since long ago; `b` does not exist yet.
        let mut history = StatusHistory::read(
            10,
            read_at,
            vec![ComponentStatusChange {
                component_id: a,
                from: None,
                to: Operational,
                at: ts("2026-01-01T00:00:00Z"),
            }],
        );
        assert!(history.usable(10, read_at));
        assert!(history.usable(10 + MAX_EVENTS_BEHIND, ts("2026-11-28T12:59:00Z")));
        assert!(
            !history.usable(11 + MAX_EVENTS_BEHIND, read_at),
            "too far behind"
        );
        assert!(!history.usable(9, read_at), "ahead of the log");
        assert!(
            !history.usable(10, ts("2026-11-28T13:00:00Z")),
            "an hour old"
        );
        assert!(!StatusHistory::default().usable(0, read_at), "never read");

        let changed = event(
            11,
            "component.status_changed",
            a,
            "2026-11-28T12:01:00Z",
            serde_json::json!({ "from": "operational", "to": "major_outage", "component": {} }),
        );
        history.apply(&changed);
        // The same change again (read from the store after its event committed): no double.
        history.apply(&changed);
        history.apply(&event(
            12,
            "component.created",
            b,
            "2026-11-28T12:02:00Z",
            serde_json::json!({ "id": b.to_string(), "status": "partial_outage" }),
        ));
        history.apply(&event(
            13,
            "incident.opened",
            a,
            "2026-11-28T12:03:00Z",
            serde_json::json!({}),
        ));
        assert_eq!(history.len(), 3);
        assert_eq!(
            history.of(a).iter().map(|c| c.to).collect::<Vec<_>>(),
            vec![Operational, MajorOutage]
        );
        assert_eq!(history.of(b)[0].from, None);
        assert_eq!(history.of(b)[0].to, PartialOutage);

        // A commit that took its time lands in time order.
        history.apply(&event(
            14,
            "component.status_changed",
            a,
            "2026-11-28T12:00:30Z",
            serde_json::json!({ "from": "operational", "to": "degraded_performance" }),
        ));
        assert_eq!(
            history.of(a).iter().map(|c| c.to).collect::<Vec<_>>(),
            vec![Operational, DegradedPerformance, MajorOutage]
        );

        // Trimming keeps the change in force at the start, and what follows.
        history.trim(ts("2026-11-28T12:00:45Z"));
        assert_eq!(
            history.of(a).iter().map(|c| c.to).collect::<Vec<_>>(),
            vec![DegradedPerformance, MajorOutage]
        );
        history.apply(&event(
            15,
            "component.deleted",
            b,
            "2026-11-28T12:05:00Z",
            serde_json::json!({}),
        ));
        assert!(history.of(b).is_empty());
    }

    #[test]
    fn ninety_days_oldest_first_with_no_data_before_creation() {
        let now = ts("2026-11-28T12:00:00Z");
        let up = compute(
            &[change("2026-11-27T00:00:00Z", Operational)],
            None,
            now,
            chrono_tz::UTC,
        );
        assert_eq!(up.days.len(), 90);
        assert_eq!(up.days[89].date.to_string(), "2026-11-28");
        assert_eq!(up.days[0].date.to_string(), "2026-08-31");
        assert_eq!(up.days[87].worst, None, "before the component existed");
        assert_eq!(up.days[88].worst, Some(Operational));
        assert_eq!(up.percent, Some(100.0));
    }

    #[test]
    fn days_follow_the_page_time_zone() {
        // 03:00 to 04:00 UTC on Nov 28 is 22:00 to 23:00 on Nov 27 in New York.
        let now = ts("2026-11-28T12:00:00Z");
        let changes = [
            change("2026-01-01T00:00:00Z", Operational),
            change("2026-11-28T03:00:00Z", MajorOutage),
            change("2026-11-28T04:00:00Z", Operational),
        ];
        let utc = compute(&changes, None, now, chrono_tz::UTC);
        assert_eq!(utc.days[89].date.to_string(), "2026-11-28");
        assert_eq!(utc.days[89].major_minutes, 60);
        assert_eq!(utc.days[88].major_minutes, 0);
        let ny = compute(&changes, None, now, chrono_tz::America::New_York);
        assert_eq!(ny.days[89].date.to_string(), "2026-11-28");
        assert_eq!(ny.days[89].major_minutes, 0);
        assert_eq!(ny.days[88].date.to_string(), "2026-11-27");
        assert_eq!(ny.days[88].major_minutes, 60);
        assert_eq!(ny.days[88].worst, Some(MajorOutage));
        // Nov 1, 2026 is 25 hours long in New York (clocks go back); its day ends at 05:00 UTC
        // on Nov 2.
        assert_eq!(
            midnight(
                NaiveDate::from_ymd_opt(2026, 11, 2).unwrap(),
                chrono_tz::America::New_York
            ) - midnight(
                NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
                chrono_tz::America::New_York
            ),
            Duration::hours(25)
        );
    }

    #[test]
    fn a_day_shows_its_worst_status_and_minutes() {
        let now = ts("2026-11-28T12:00:00Z");
        let changes = [
            change("2026-01-01T00:00:00Z", Operational),
            change("2026-11-26T10:00:00Z", DegradedPerformance),
            change("2026-11-26T10:30:00Z", MajorOutage),
            change("2026-11-26T11:00:00Z", Operational),
        ];
        let up = compute(&changes, None, now, chrono_tz::UTC);
        let day = &up.days[87];
        assert_eq!(day.date.to_string(), "2026-11-26");
        assert_eq!(day.worst, Some(MajorOutage));
        assert_eq!(day.major_minutes, 30);
        assert_eq!(day.degraded_minutes, 30);
        assert_eq!(up.days[88].worst, Some(Operational));
        let expected = 100.0 * (1.0 - 1800.0 / (89.5 * 86400.0));
        assert!(
            (up.percent.unwrap() - expected).abs() < 1e-6,
            "{:?}",
            up.percent
        );
    }

    #[test]
    fn partial_outage_counts_as_thirty_percent_down() {
        let now = ts("2026-11-28T00:00:00Z");
        let changes = [
            change("2026-11-27T00:00:00Z", PartialOutage),
            change("2026-11-27T12:00:00Z", Operational),
        ];
        let up = compute(&changes, None, now, chrono_tz::UTC);
        assert!(
            (up.percent.unwrap() - 85.0).abs() < 1e-9,
            "{:?}",
            up.percent
        );
        assert_eq!(up.days[89].worst, None, "today has not begun to count");
    }

    #[test]
    fn a_component_created_a_moment_ago_has_data() {
        let now = ts("2026-11-28T12:00:00.250Z");
        let up = compute(
            &[change("2026-11-28T12:00:00Z", Operational)],
            None,
            now,
            chrono_tz::UTC,
        );
        assert_eq!(up.percent, Some(100.0));
        assert_eq!(up.days[89].worst, Some(Operational));
    }

    #[test]
    fn a_start_date_hides_earlier_days() {
        let now = ts("2026-11-28T12:00:00Z");
        let changes = [
            change("2026-01-01T00:00:00Z", MajorOutage),
            change("2026-11-27T00:00:00Z", Operational),
        ];
        let up = compute(
            &changes,
            NaiveDate::from_ymd_opt(2026, 11, 27),
            now,
            chrono_tz::UTC,
        );
        assert_eq!(up.days[87].worst, None);
        assert_eq!(up.days[88].worst, Some(Operational));
        assert_eq!(up.percent, Some(100.0));
    }
}
