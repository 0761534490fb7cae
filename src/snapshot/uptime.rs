//! Daily status and uptime of a component, from its status changes. Pure: no I/O, no clock.
//!
//! A day (in the page's time zone, UTC by default) shows the worst status the component had at any moment of it, and the minutes
//! spent in each non-operational status. Uptime counts a major outage as fully down and a
//! partial outage as 30% down, as Atlassian Statuspage does; degraded performance and
//! maintenance count as up. Time before the component existed (or before its start date) is
//! "no data" and is left out of the percentage.

use crate::domain::model::ComponentStatusChange;
use crate::domain::{ComponentStatus, Timestamp};
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

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

/// Computes a component's bars, one per day of the zone `tz` (days of 23 or 25 hours where
/// daylight saving time changes). `changes` are its changes in time order: the one in force at
/// the window's start (if any) and every later one. `start_date` hides earlier days.
pub fn compute(
    changes: &[ComponentStatusChange],
    start_date: Option<NaiveDate>,
    now: Timestamp,
    tz: Tz,
) -> ComponentUptime {
    let today = now.0.with_timezone(&tz).date_naive();
    let first_day = today - Duration::days(DAYS - 1);
    let mut days = Vec::with_capacity(DAYS as usize);
    let mut counted = 0.0_f64;
    let mut down = 0.0_f64;
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
        let visible_from = match start_date {
            Some(d) if d > date => {
                days.push(day);
                continue;
            }
            Some(d) if d == date => day_start,
            _ => day_start,
        };
        for (status, from, to) in intervals(changes, visible_from, day_end) {
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
