//! The latency chart of a monitor: a small server-rendered SVG of its check latencies over a
//! time range, in equal buckets (mean as a line, maximum as a lighter band), with failed
//! checks marked along the bottom. Pure: results and times in, SVG text out. The SVG has a
//! `<title>` and `<desc>` that say in words what it shows, for assistive technology.

use super::model::CheckRecord;
use super::probe::Outcome;
use crate::domain::Timestamp;
use std::fmt::Write;

const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 160.0;
/// Room on the left for the axis labels and at the bottom for failure marks.
const LEFT: f64 = 44.0;
const BOTTOM: f64 = 14.0;
const TOP: f64 = 8.0;

/// One bucket of the chart.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    pub checks: u32,
    pub failures: u32,
    pub mean_ms: Option<f64>,
    pub max_ms: Option<f64>,
}

/// Sorts `results` into `buckets` equal spans of `[from, to)`; results outside are ignored.
/// Latency counts only the checks that got an answer (up or degraded): a timeout's latency is
/// the timeout, which says nothing about the target's speed.
pub fn bucketize(
    results: &[CheckRecord],
    from: Timestamp,
    to: Timestamp,
    buckets: usize,
) -> Vec<Bucket> {
    let buckets = buckets.max(1);
    let span = (to.0 - from.0).num_milliseconds().max(1) as f64;
    let mut sums = vec![(0u32, 0u32, 0.0f64, 0u32, f64::MIN); buckets];
    for r in results {
        if r.at < from || r.at >= to {
            continue;
        }
        let offset = (r.at.0 - from.0).num_milliseconds() as f64;
        let i = ((offset / span) * buckets as f64).floor() as usize;
        let b = &mut sums[i.min(buckets - 1)];
        b.0 += 1;
        if r.outcome == Outcome::Down {
            b.1 += 1;
        } else if r.latency_ms.is_finite() {
            b.2 += r.latency_ms;
            b.3 += 1;
            b.4 = b.4.max(r.latency_ms);
        }
    }
    sums.into_iter()
        .map(|(checks, failures, sum, answered, max)| Bucket {
            checks,
            failures,
            mean_ms: (answered > 0).then(|| sum / answered as f64),
            max_ms: (answered > 0).then_some(max),
        })
        .collect()
}

/// A round upper bound for the axis: 1, 2 or 5 times a power of ten, at least `max`.
fn nice_ceiling(max: f64) -> f64 {
    if max <= 0.0 || !max.is_finite() {
        return 1.0;
    }
    let magnitude = 10f64.powf(max.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|v| *v >= max)
        .unwrap_or(10.0 * magnitude)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The chart as SVG text. `name` names the monitor in the title.
pub fn latency_svg(name: &str, buckets: &[Bucket], from: Timestamp, to: Timestamp) -> String {
    let checks: u32 = buckets.iter().map(|b| b.checks).sum();
    let failures: u32 = buckets.iter().map(|b| b.failures).sum();
    let peak = buckets
        .iter()
        .filter_map(|b| b.max_ms)
        .fold(0.0f64, f64::max);
    let answered: Vec<f64> = buckets.iter().filter_map(|b| b.mean_ms).collect();
    let overall_mean =
        (!answered.is_empty()).then(|| answered.iter().sum::<f64>() / answered.len() as f64);
    let ceiling = nice_ceiling(peak);
    let plot_w = WIDTH - LEFT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let step = plot_w / buckets.len().max(1) as f64;
    let x = |i: usize| LEFT + step * (i as f64 + 0.5);
    let y = |ms: f64| TOP + plot_h * (1.0 - (ms / ceiling).clamp(0.0, 1.0));

    let description = match overall_mean {
        Some(mean) => format!(
            "{checks} checks from {} to {}: mean latency {:.0} ms, highest {:.0} ms, {failures} failed",
            from.hhmm_utc(),
            to.hhmm_utc(),
            mean,
            peak
        ),
        None => format!(
            "{checks} checks from {} to {}, none answered",
            from.hhmm_utc(),
            to.hhmm_utc()
        ),
    };
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" \
         aria-labelledby=\"t d\" font-family=\"system-ui, sans-serif\" font-size=\"10\">\
         <title id=\"t\">{}: latency</title><desc id=\"d\">{}</desc>",
        escape(name),
        escape(&description)
    );
    // Axis: 0 and the ceiling, with light grid lines.
    for (value, label) in [
        (0.0, "0 ms".to_string()),
        (ceiling, format!("{ceiling:.0} ms")),
    ] {
        let _ = write!(
            svg,
            "<line x1=\"{LEFT}\" x2=\"{WIDTH}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#8884\"/>\
             <text x=\"{lx}\" y=\"{ty:.1}\" text-anchor=\"end\" fill=\"#888\">{label}</text>",
            y = y(value),
            lx = LEFT - 4.0,
            ty = y(value) + 3.0,
        );
    }
    // The maximum of each bucket as a light bar, the mean as a line.
    for (i, b) in buckets.iter().enumerate() {
        if let Some(max) = b.max_ms {
            let _ = write!(
                svg,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"#3b82f633\"/>",
                x(i) - step / 2.0,
                y(max),
                step,
                (TOP + plot_h - y(max)).max(0.0)
            );
        }
        if b.failures > 0 {
            let _ = write!(
                svg,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"6\" fill=\"#dc2626\"><title>{} of {} checks failed</title></rect>",
                x(i) - step / 2.0,
                HEIGHT - BOTTOM + 4.0,
                step.max(1.0),
                b.failures,
                b.checks
            );
        }
    }
    let mut path = String::new();
    let mut pen_down = false;
    for (i, b) in buckets.iter().enumerate() {
        match b.mean_ms {
            Some(mean) => {
                let _ = write!(
                    path,
                    "{}{:.1},{:.1} ",
                    if pen_down { "L" } else { "M" },
                    x(i),
                    y(mean)
                );
                pen_down = true;
            }
            // A gap in the data is a gap in the line.
            None => pen_down = false,
        }
    }
    if !path.is_empty() {
        let _ = write!(
            svg,
            "<path d=\"{}\" fill=\"none\" stroke=\"#2563eb\" stroke-width=\"1.5\"/>",
            path.trim_end()
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::MonitorId;
    use crate::monitor::probe::{ProbeReport, Timings};

    fn at(secs: i64) -> Timestamp {
        Timestamp(chrono::DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap())
    }

    fn result(secs: i64, ms: f64, up: bool) -> CheckRecord {
        let timings = Timings {
            total_ms: ms,
            ..Timings::default()
        };
        let report = if up {
            ProbeReport::up("ok", timings)
        } else {
            ProbeReport::down(crate::monitor::probe::ErrorClass::Timeout, "slow", timings)
        };
        CheckRecord::new(MonitorId(uuid::Uuid::nil()), at(secs), report)
    }

    #[test]
    fn buckets_average_answers_and_count_failures() {
        let results = [
            result(0, 10.0, true),
            result(10, 30.0, true),
            result(20, 5000.0, false),
            result(60, 50.0, true),
            result(120, 99.0, true), // outside [from, to)
        ];
        let buckets = bucketize(&results, at(0), at(120), 2);
        assert_eq!(
            buckets[0],
            Bucket {
                checks: 3,
                failures: 1,
                mean_ms: Some(20.0),
                max_ms: Some(30.0)
            }
        );
        assert_eq!(
            buckets[1],
            Bucket {
                checks: 1,
                failures: 0,
                mean_ms: Some(50.0),
                max_ms: Some(50.0)
            }
        );
    }

    #[test]
    fn the_svg_describes_itself_and_escapes_the_name() {
        let results = [
            result(0, 12.0, true),
            result(30, 48.0, true),
            result(90, 1.0, false),
        ];
        let buckets = bucketize(&results, at(0), at(120), 4);
        let svg = latency_svg("API <prod> & co", &buckets, at(0), at(120));
        assert!(svg.starts_with("<svg"));
        assert!(svg.ends_with("</svg>"));
        assert!(svg.contains("<title id=\"t\">API &lt;prod&gt; &amp; co: latency</title>"));
        assert!(svg.contains("3 checks"), "{svg}");
        assert!(svg.contains("1 failed"), "{svg}");
        assert!(
            svg.contains("50 ms"),
            "axis ceiling rounds 48 up to 50: {svg}"
        );
        assert!(svg.contains("1 of 1 checks failed"));
        assert_eq!(svg.matches("<path").count(), 1);
    }

    #[test]
    fn no_answers_draws_no_line() {
        let buckets = bucketize(&[result(0, 1.0, false)], at(0), at(60), 3);
        let svg = latency_svg("x", &buckets, at(0), at(60));
        assert!(!svg.contains("<path"));
        assert!(svg.contains("none answered"));
    }

    #[test]
    fn axis_ceilings_are_round() {
        for (max, ceiling) in [
            (0.0, 1.0),
            (0.7, 1.0),
            (12.0, 20.0),
            (48.0, 50.0),
            (101.0, 200.0),
            (5000.0, 5000.0),
        ] {
            assert_eq!(nice_ceiling(max), ceiling, "{max}");
        }
    }
}
