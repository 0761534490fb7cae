//! The 90-day uptime bars of the status page: one cell per day of the page's time zone, coloured by the worst status
//! the component had that day, with a tooltip and accessible name giving the date, the status,
//! the minutes spent in each non-operational status and the incidents that touched the
//! component that day. Pure: built from the snapshot only.

use super::incident_component_ids;
use super::text::{component_badge, day_text, human_duration, uptime_text};
use crate::domain::model::{Component, Incident};
use crate::domain::{ComponentId, ComponentStatus, Timestamp};
use crate::snapshot::uptime::{DayStatus, DAYS};
use crate::snapshot::PublicState;
use chrono::{Duration, NaiveDate};
use std::collections::HashMap;

/// One component's bar, ready for `component.html`.
pub(super) struct UptimeBar {
    /// Names the bar for assistive technology: "API: uptime over the last 90 days".
    pub(super) label: String,
    pub(super) cells: Vec<Cell>,
    pub(super) uptime: String,
    /// "2 days with outages", summarising what the colours say.
    pub(super) summary: String,
}

/// One day of an uptime bar: an SVG `<rect>` with a `<title>` that names it.
pub(super) struct Cell {
    pub(super) x: i64,
    pub(super) class: &'static str,
    pub(super) title: String,
}

/// The incidents that touched each component, for the uptime bars' day details.
pub(super) struct IncidentIndex<'a> {
    by_component: HashMap<ComponentId, Vec<&'a Incident>>,
    now: Timestamp,
    tz: chrono_tz::Tz,
}

impl<'a> IncidentIndex<'a> {
    pub(super) fn new(state: &'a PublicState) -> IncidentIndex<'a> {
        let mut by_component: HashMap<ComponentId, Vec<&Incident>> = HashMap::new();
        for incident in &state.incidents {
            for id in incident_component_ids(incident) {
                by_component.entry(id).or_default().push(incident);
            }
        }
        IncidentIndex {
            by_component,
            now: state.built_at,
            tz: state.page.tz(),
        }
    }

    /// Names of the incidents on `component` whose span overlaps `date` (a day of the page's
    /// zone), oldest first.
    pub(super) fn on_day(&self, component: ComponentId, date: NaiveDate) -> Vec<&'a str> {
        let Some(incidents) = self.by_component.get(&component) else {
            return Vec::new();
        };
        let mut names: Vec<(Timestamp, &str)> = incidents
            .iter()
            .filter(|i| {
                let end = i.resolved_at.unwrap_or(self.now);
                let local = |t: Timestamp| t.0.with_timezone(&self.tz).date_naive();
                local(i.started_at) <= date && local(end) >= date
            })
            .map(|i| (i.started_at, i.name.as_str()))
            .collect();
        names.sort();
        names.into_iter().map(|(_, name)| name).collect()
    }
}

/// One day's cell every this many SVG units: 3 wide and a gap of 2 (Statuspage's proportions),
/// 448 units for 90 days, as `component.html`'s `viewBox` says. The SVG stretches to the width
/// available, so the bar shrinks on a phone instead of scrolling.
const CELL_STEP: i64 = 5;

/// The bar of one component: exactly [`DAYS`] cells ending today (in the page's zone), whatever the snapshot
/// holds for it, each with its day's details.
pub(super) fn uptime_bar(
    state: &PublicState,
    incidents: &IncidentIndex,
    c: &Component,
) -> UptimeBar {
    let uptime = state.uptime.get(&c.id);
    let today = state
        .built_at
        .0
        .with_timezone(&state.page.tz())
        .date_naive();
    // Always exactly DAYS cells ending today, whatever the snapshot holds.
    let days: Vec<DayStatus> = (0..DAYS)
        .map(|offset| {
            let date = today - Duration::days(DAYS - 1 - offset);
            uptime
                .and_then(|u| u.days.iter().find(|d| d.date == date))
                .cloned()
                .unwrap_or(DayStatus {
                    date,
                    worst: None,
                    major_minutes: 0,
                    partial_minutes: 0,
                    degraded_minutes: 0,
                    maintenance_minutes: 0,
                })
        })
        .collect();
    let troubled = days
        .iter()
        .filter(|d| {
            matches!(
                d.worst,
                Some(ComponentStatus::MajorOutage | ComponentStatus::PartialOutage)
            )
        })
        .count();
    let degraded = days
        .iter()
        .filter(|d| d.worst == Some(ComponentStatus::DegradedPerformance))
        .count();
    let summary = match (troubled, degraded) {
        (0, 0) => "No outages in the last 90 days".to_string(),
        (t, 0) => format!("{t} {} with outages", plural(t, "day", "days")),
        (0, d) => format!("{d} {} with degraded performance", plural(d, "day", "days")),
        (t, d) => format!(
            "{t} {} with outages, {d} with degraded performance",
            plural(t, "day", "days")
        ),
    };
    let cells = days
        .iter()
        .enumerate()
        .map(|(i, day)| Cell {
            x: i as i64 * CELL_STEP,
            class: match day.worst {
                None => "d-none",
                Some(ComponentStatus::Operational) => "d-ok",
                Some(ComponentStatus::DegradedPerformance) => "d-degraded",
                Some(ComponentStatus::PartialOutage) => "d-partial",
                Some(ComponentStatus::MajorOutage) => "d-major",
                Some(ComponentStatus::UnderMaintenance) => "d-maint",
            },
            title: day_title(day, &incidents.on_day(c.id, day.date)),
        })
        .collect();
    UptimeBar {
        label: format!("{}: uptime over the last 90 days", c.name),
        cells,
        uptime: uptime_text(uptime.and_then(|u| u.percent)),
        summary,
    }
}

fn plural(n: usize, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 {
        one
    } else {
        many
    }
}

/// A day's details, as its tooltip and accessible name: "Nov 26, 2026: Major outage for
/// 30 min, Degraded performance for 30 min. Incidents: Elevated error rates."
fn day_title(day: &DayStatus, incidents: &[&str]) -> String {
    let mut text = day_text(day.date);
    let spans: Vec<String> = [
        (ComponentStatus::MajorOutage, day.major_minutes),
        (ComponentStatus::PartialOutage, day.partial_minutes),
        (ComponentStatus::DegradedPerformance, day.degraded_minutes),
        (ComponentStatus::UnderMaintenance, day.maintenance_minutes),
    ]
    .into_iter()
    .filter(|(_, minutes)| *minutes > 0)
    .map(|(status, minutes)| {
        format!(
            "{} for {}",
            component_badge(status).label,
            human_duration(Duration::minutes(minutes.into()))
        )
    })
    .collect();
    match day.worst {
        None => text.push_str(": no data."),
        Some(ComponentStatus::Operational) => text.push_str(": no downtime recorded."),
        // A status that began moments before the snapshot was built has no whole minute yet.
        Some(worst) if spans.is_empty() => {
            text.push_str(": ");
            text.push_str(component_badge(worst).label);
            text.push_str(" for under 1 min.");
        }
        Some(_) => {
            text.push_str(": ");
            text.push_str(&spans.join(", "));
            text.push('.');
        }
    }
    if !incidents.is_empty() {
        text.push_str(" Incidents: ");
        text.push_str(&incidents.join("; "));
        text.push('.');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_title_names_status_minutes_and_incidents() {
        let day = DayStatus {
            date: NaiveDate::from_ymd_opt(2026, 11, 26).unwrap(),
            worst: Some(ComponentStatus::MajorOutage),
            major_minutes: 30,
            partial_minutes: 0,
            degraded_minutes: 150,
            maintenance_minutes: 0,
        };
        assert_eq!(
            day_title(&day, &["Elevated error rates", "Slow logins"]),
            "Nov 26, 2026: Major outage for 30 min, Degraded performance for 2h 30m. \
             Incidents: Elevated error rates; Slow logins."
        );
        let quiet = DayStatus {
            worst: Some(ComponentStatus::Operational),
            major_minutes: 0,
            degraded_minutes: 0,
            ..day.clone()
        };
        assert_eq!(
            day_title(&quiet, &[]),
            "Nov 26, 2026: no downtime recorded."
        );
        let before = DayStatus {
            worst: None,
            ..quiet
        };
        assert_eq!(day_title(&before, &[]), "Nov 26, 2026: no data.");
    }
}
