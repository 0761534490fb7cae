//! Display text for the HTML pages: times in Statuspage's form in the page's zone, status and impact labels
//! with their colour classes and glyphs, durations ("92 min", "3h 12m", "8d 5h") and uptime
//! percentages. Pure: no I/O, no clock.

use crate::domain::{
    ComponentStatus, IncidentImpact, IncidentStatus, MaintenanceStatus, Timestamp,
};
use chrono::{Duration, NaiveDate};
use chrono_tz::Tz;

/// A point in time as the pages show it: text in the page's zone with the zone's abbreviation
/// ("Nov 28, 2026 - 09:09 EST", Statuspage's form; "... UTC" by default) in a `<time>` element
/// whose machine-readable value stays UTC, for the script to convert to the reader's zone.
pub(super) struct When {
    pub(super) iso: String,
    pub(super) text: String,
    /// "09:09 EST".
    pub(super) clock: String,
}

impl When {
    pub(super) fn new(t: Timestamp, tz: Tz) -> When {
        let local = t.0.with_timezone(&tz);
        When {
            iso: t.0.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            text: local.format("%b %d, %Y - %H:%M %Z").to_string(),
            clock: local.format("%H:%M %Z").to_string(),
        }
    }
}

/// The calendar date of `t` in the page's zone: what "today" and a month mean on the page.
pub(super) fn local_date(t: Timestamp, tz: Tz) -> NaiveDate {
    t.0.with_timezone(&tz).date_naive()
}

/// A status, impact or incident state as a label, a CSS class that colours it, and a glyph, so
/// colour is never the only signal.
pub(super) struct Badge {
    pub(super) label: &'static str,
    pub(super) class: &'static str,
    pub(super) glyph: &'static str,
}

pub(super) fn component_badge(status: ComponentStatus) -> Badge {
    let (label, class, glyph) = match status {
        ComponentStatus::Operational => ("Operational", "s-ok", "✓"),
        ComponentStatus::DegradedPerformance => ("Degraded performance", "s-degraded", "!"),
        ComponentStatus::PartialOutage => ("Partial outage", "s-partial", "!"),
        ComponentStatus::MajorOutage => ("Major outage", "s-major", "✕"),
        ComponentStatus::UnderMaintenance => ("Under maintenance", "s-maint", "⚙"),
    };
    Badge {
        label,
        class,
        glyph,
    }
}

pub(super) fn impact_badge(impact: IncidentImpact) -> Badge {
    let (label, class, glyph) = match impact {
        IncidentImpact::None => ("No impact", "i-none", "i"),
        IncidentImpact::Minor => ("Minor impact", "i-minor", "!"),
        IncidentImpact::Major => ("Major impact", "i-major", "!"),
        IncidentImpact::Critical => ("Critical impact", "i-critical", "✕"),
    };
    Badge {
        label,
        class,
        glyph,
    }
}

pub(super) fn incident_status_label(status: IncidentStatus) -> &'static str {
    match status {
        IncidentStatus::Investigating => "Investigating",
        IncidentStatus::Identified => "Identified",
        IncidentStatus::Monitoring => "Monitoring",
        IncidentStatus::Resolved => "Resolved",
        IncidentStatus::Postmortem => "Postmortem",
    }
}

pub(super) fn maintenance_status_label(status: MaintenanceStatus) -> &'static str {
    match status {
        MaintenanceStatus::Scheduled => "Scheduled",
        MaintenanceStatus::InProgress => "In progress",
        MaintenanceStatus::Verifying => "Verifying",
        MaintenanceStatus::Completed => "Completed",
    }
}

/// A length of time as readers skim it: "45 min" and "92 min" below two hours (as vendors
/// write outage lengths), then "3h 12m", then "8d 5h". Rounded down, so an outage is never
/// reported longer than it was; under a minute reads "under 1 min".
pub fn human_duration(duration: Duration) -> String {
    let minutes = duration.num_minutes().max(0);
    if minutes < 1 {
        return "under 1 min".into();
    }
    if minutes < 120 {
        return format!("{minutes} min");
    }
    let (days, hours, mins) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
    match (days, hours, mins) {
        (0, h, 0) => format!("{h}h"),
        (0, h, m) => format!("{h}h {m}m"),
        (d, 0, _) => format!("{d}d"),
        (d, h, _) => format!("{d}d {h}h"),
    }
}

/// How long ago a check ran, as monitoring pages say it: "just now", "1 minute ago",
/// "12 minutes ago", "3 hours ago", "2 days ago". Rounded down.
pub(super) fn ago_text(elapsed: Duration) -> String {
    let minutes = elapsed.num_minutes();
    let plural = |n: i64, unit: &str| {
        if n == 1 {
            format!("1 {unit} ago")
        } else {
            format!("{n} {unit}s ago")
        }
    };
    match minutes {
        m if m < 1 => "just now".into(),
        m if m < 60 => plural(m, "minute"),
        m if m < 48 * 60 => plural(m / 60, "hour"),
        m => plural(m / 1440, "day"),
    }
}

/// "99.95 % uptime" (rounded down, so a day with downtime never shows as 100 %), or "no data".
pub(super) fn uptime_text(percent: Option<f64>) -> String {
    match percent {
        None => "no data".into(),
        Some(p) if p >= 100.0 => "100.0 % uptime".into(),
        Some(p) => format!("{:.2} % uptime", (p * 100.0).floor() / 100.0),
    }
}

pub(super) fn day_text(date: NaiveDate) -> String {
    date.format("%b %d, %Y").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ago_reads_like_a_person_would_say_it() {
        for (secs, text) in [
            (0, "just now"),
            (59, "just now"),
            (60, "1 minute ago"),
            (150, "2 minutes ago"),
            (3599, "59 minutes ago"),
            (3600, "1 hour ago"),
            (47 * 3600, "47 hours ago"),
            (3 * 86400, "3 days ago"),
        ] {
            assert_eq!(ago_text(Duration::seconds(secs)), text, "{secs} s");
        }
    }

    #[test]
    fn durations_read_as_people_write_them() {
        let cases = [
            (Duration::seconds(0), "under 1 min"),
            (Duration::seconds(59), "under 1 min"),
            (Duration::minutes(1), "1 min"),
            (Duration::minutes(45), "45 min"),
            (Duration::minutes(92), "92 min"),
            (Duration::minutes(119), "119 min"),
            (Duration::minutes(120), "2h"),
            (Duration::minutes(192), "3h 12m"),
            (Duration::minutes(23 * 60 + 59), "23h 59m"),
            (Duration::hours(24), "1d"),
            (Duration::minutes(8 * 1440 + 5 * 60 + 22), "8d 5h"),
            (Duration::days(30) + Duration::minutes(59), "30d"),
            (Duration::minutes(-5), "under 1 min"),
        ];
        for (duration, expected) in cases {
            assert_eq!(human_duration(duration), expected, "{duration:?}");
        }
    }

    #[test]
    fn the_kalix_outage_lasted_8d_5h() {
        // The Pingoru page for Kalix EMR: Mar 22, 2021 07:22 PM to Mar 31, 2021 12:44 AM UTC.
        let started = Timestamp::parse("2021-03-22T19:22:00Z").unwrap();
        let resolved = Timestamp::parse("2021-03-31T00:44:00Z").unwrap();
        assert_eq!(human_duration(resolved.0 - started.0), "8d 5h");
    }

    #[test]
    fn uptime_never_rounds_up_to_a_perfect_score() {
        assert_eq!(uptime_text(None), "no data");
        assert_eq!(uptime_text(Some(100.0)), "100.0 % uptime");
        assert_eq!(uptime_text(Some(99.999)), "99.99 % uptime");
        assert_eq!(uptime_text(Some(99.95)), "99.95 % uptime");
        assert_eq!(uptime_text(Some(87.5)), "87.50 % uptime");
    }

    #[test]
    fn times_use_statuspage_form_in_utc() {
        let when = When::new(
            Timestamp::parse("2026-11-28T14:09:52.123Z").unwrap(),
            chrono_tz::UTC,
        );
        assert_eq!(when.text, "Nov 28, 2026 - 14:09 UTC");
        assert_eq!(when.iso, "2026-11-28T14:09:52Z");
        assert_eq!(when.clock, "14:09 UTC");
    }

    #[test]
    fn times_show_the_page_zone_and_its_abbreviation_but_stay_utc_for_machines() {
        let t = Timestamp::parse("2026-11-28T14:09:52Z").unwrap();
        let when = When::new(t, chrono_tz::America::New_York);
        assert_eq!(when.text, "Nov 28, 2026 - 09:09 EST");
        assert_eq!(when.clock, "09:09 EST");
        assert_eq!(when.iso, "2026-11-28T14:09:52Z");
        // Summer time has its own abbreviation.
        let summer = Timestamp::parse("2026-07-01T12:00:00Z").unwrap();
        assert_eq!(
            When::new(summer, chrono_tz::Europe::Berlin).text,
            "Jul 01, 2026 - 14:00 CEST"
        );
        // The date moves with the zone.
        let late = Timestamp::parse("2026-11-28T03:00:00Z").unwrap();
        assert_eq!(
            local_date(late, chrono_tz::America::Los_Angeles),
            NaiveDate::from_ymd_opt(2026, 11, 27).unwrap()
        );
        assert_eq!(
            When::new(late, chrono_tz::America::Los_Angeles).text,
            "Nov 27, 2026 - 19:00 PST"
        );
    }
}
