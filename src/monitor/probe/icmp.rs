//! ICMP probe: sends a few echo requests (pings) to a host over IPv4 or IPv6 and reports
//! packet loss and round-trip times.
//!
//! It owns the check's settings ([`IcmpCheck`]) and the judgement of loss and latency. It
//! opens an unprivileged datagram ICMP socket when the system allows one, and a raw socket
//! otherwise (both through `surge-ping`); when neither is permitted it says so as a
//! `permission` failure rather than as an unreachable host.

use super::resolve;
use super::{millis, ErrorClass, Outcome, ProbeReport, Timings};
use serde::{Deserialize, Serialize};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};
use surge_ping::{Client, Config, PingIdentifier, PingSequence, SurgeError, ICMP};
use tokio::task::JoinSet;
use utoipa::ToSchema;

/// The most echo requests one check may send.
const MAX_COUNT: u32 = 10;

/// The longest gap between two echo requests.
const MAX_SPACING: Duration = Duration::from_millis(200);

/// The payload of each echo request: 56 bytes, as `ping` sends by default.
const PAYLOAD: [u8; 56] = [0; 56];

/// What to tell an operator when the system permits no ICMP socket.
const PERMISSION_HELP: &str = "ICMP needs raw sockets (CAP_NET_RAW) or \
    net.ipv4.ping_group_range covering this user's group";

fn default_count() -> u32 {
    3
}

/// The settings of an ICMP (ping) check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct IcmpCheck {
    /// The host to ping: a name or an IP address (IPv4 or IPv6).
    pub host: String,
    /// How many echo requests to send, 1 to 10; 3 when absent.
    #[serde(default = "default_count")]
    pub count: u32,
    /// Degraded when more than this percentage of the echo requests go unanswered. Without
    /// it, partial loss alone does not degrade the check (losing every request is down).
    #[serde(default)]
    pub degraded_loss_percent: Option<u32>,
    /// Degraded when the average round trip takes longer than this many milliseconds.
    #[serde(default)]
    pub degraded_rtt_ms: Option<u64>,
}

impl IcmpCheck {
    /// Every problem with the settings, each as a sentence.
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let mut errors = Vec::new();
        if bare_host(&self.host).is_empty() {
            errors.push("host must not be empty".to_string());
        }
        if !(1..=MAX_COUNT).contains(&self.count) {
            errors.push(format!(
                "count must be between 1 and {MAX_COUNT}, not {}",
                self.count
            ));
        }
        if let Some(percent) = self.degraded_loss_percent {
            if percent >= 100 {
                errors.push(format!(
                    "degraded_loss_percent must be between 0 and 99, not {percent} \
                     (losing every echo request is already down)"
                ));
            }
        }
        if self.degraded_rtt_ms == Some(0) {
            errors.push("degraded_rtt_ms must be at least 1".to_string());
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// Runs one ICMP check: `count` echo requests, spaced out, all within `timeout`.
pub async fn probe(check: &IcmpCheck, timeout: Duration) -> ProbeReport {
    let started = Instant::now();
    let deadline = tokio::time::Instant::now() + timeout;
    let mut timings = Timings::default();
    if let Err(errors) = check.validate() {
        return ProbeReport::down(
            ErrorClass::Config,
            format!("the ICMP check cannot run: {}", errors.join("; ")),
            timings,
        );
    }
    let host = bare_host(&check.host);

    let is_literal = host.parse::<IpAddr>().is_ok();
    let lookup = tokio::time::timeout_at(deadline, resolve::lookup(host, 0)).await;
    if !is_literal {
        timings.dns_ms = Some(millis(started.elapsed()));
    }
    let target = match lookup {
        Ok(Ok(addrs)) => match addrs.first() {
            Some(addr) => *addr,
            None => {
                return ProbeReport::down(
                    ErrorClass::Dns,
                    format!("{host} has no address"),
                    finish(timings, started),
                )
            }
        },
        Ok(Err(err)) => return ProbeReport::down(ErrorClass::Dns, err, finish(timings, started)),
        Err(_) => {
            return ProbeReport::down(
                ErrorClass::Timeout,
                format!("{host} did not resolve within {} ms", timeout.as_millis()),
                finish(timings, started),
            )
        }
    };

    let client = match open_client(target.ip()) {
        Ok(client) => client,
        Err(err) => return socket_error_report(&err, target.ip(), finish(timings, started)),
    };
    let tally = ping_all(&client, target, check.count, deadline, timeout).await;
    judge(
        check,
        target.ip(),
        &tally,
        timeout,
        finish(timings, started),
    )
}

/// The report for an ICMP socket that could not be opened. The probe uses it for every
/// socket error, so the permission case can be tested without dropping privileges.
fn socket_error_report(err: &io::Error, ip: IpAddr, timings: Timings) -> ProbeReport {
    if err.kind() == io::ErrorKind::PermissionDenied {
        return ProbeReport::down(ErrorClass::Permission, PERMISSION_HELP, timings);
    }
    let family = if ip.is_ipv4() { "ICMP" } else { "ICMPv6" };
    ProbeReport::down(
        ErrorClass::Connect,
        format!("could not open an {family} socket to ping {ip}: {err}"),
        timings,
    )
}

/// A client on a datagram ICMP socket if permitted, else on a raw one (`surge-ping` tries
/// them in that order).
fn open_client(ip: IpAddr) -> io::Result<Client> {
    let kind = if ip.is_ipv4() { ICMP::V4 } else { ICMP::V6 };
    Client::new(&Config::builder().kind(kind).build())
}

/// What came back from one round of echo requests.
#[derive(Debug, Default)]
struct Tally {
    sent: u32,
    rtts: Vec<Duration>,
    /// The first error other than a missing reply, for the message when nothing came back.
    error: Option<String>,
}

/// The gap between two echo requests: at most 200 ms, and small enough that the last
/// request still has half the timeout to be answered.
fn spacing(count: u32, timeout: Duration) -> Duration {
    (timeout / count.max(1).saturating_mul(2)).min(MAX_SPACING)
}

/// Sends `count` echo requests, `spacing` apart, and waits for the replies until `deadline`.
async fn ping_all(
    client: &Client,
    target: SocketAddr,
    count: u32,
    deadline: tokio::time::Instant,
    timeout: Duration,
) -> Tally {
    let gap = spacing(count, timeout);
    let first_send = tokio::time::Instant::now();
    // One identifier per check, so replies to concurrent checks on raw sockets are told apart.
    let ident = PingIdentifier(rand::random::<u16>());
    let scope_id = match target {
        SocketAddr::V6(v6) => v6.scope_id(),
        SocketAddr::V4(_) => 0,
    };
    let mut pings = JoinSet::new();
    for seq in 0..count {
        let client = client.clone();
        let send_at = first_send + gap * seq;
        pings.spawn(async move {
            tokio::time::sleep_until(send_at).await;
            let mut pinger = client.pinger(target.ip(), ident).await;
            pinger.scope_id(scope_id);
            pinger.timeout(deadline.saturating_duration_since(tokio::time::Instant::now()));
            // `count` is at most 10, so the sequence number always fits.
            pinger
                .ping(
                    PingSequence(u16::try_from(seq).unwrap_or(u16::MAX)),
                    &PAYLOAD,
                )
                .await
        });
    }

    let mut tally = Tally {
        sent: count,
        ..Tally::default()
    };
    // Whatever has not come back by the deadline counts as lost; dropping the set stops it.
    let _ = tokio::time::timeout_at(deadline, async {
        while let Some(joined) = pings.join_next().await {
            match joined {
                Ok(Ok((_, rtt))) => tally.rtts.push(rtt),
                Ok(Err(SurgeError::Timeout { .. })) => {}
                Ok(Err(err)) => {
                    tally.error.get_or_insert_with(|| err.to_string());
                }
                Err(err) => {
                    tally
                        .error
                        .get_or_insert_with(|| format!("an echo request was lost: {err}"));
                }
            }
        }
    })
    .await;
    tally
}

/// Turns the tally into a report: down when nothing came back, degraded over a threshold.
fn judge(
    check: &IcmpCheck,
    ip: IpAddr,
    tally: &Tally,
    timeout: Duration,
    timings: Timings,
) -> ProbeReport {
    let received = u32::try_from(tally.rtts.len()).unwrap_or(u32::MAX);
    let lost = tally.sent.saturating_sub(received);
    let loss_percent = if tally.sent == 0 {
        0.0
    } else {
        f64::from(lost) * 100.0 / f64::from(tally.sent)
    };
    let loss_percent = (loss_percent * 10.0).round() / 10.0;

    let mut report = if received == 0 {
        match &tally.error {
            Some(err) => ProbeReport::down(
                ErrorClass::Connect,
                format!("could not ping {ip}: {err}"),
                timings,
            ),
            None => ProbeReport::down(
                ErrorClass::Timeout,
                format!(
                    "no reply to {} echo request{} to {ip} within {} ms",
                    tally.sent,
                    if tally.sent == 1 { "" } else { "s" },
                    timeout.as_millis()
                ),
                timings,
            ),
        }
    } else {
        let rtt = RttSummary::of(&tally.rtts);
        let seen = format!(
            "{received}/{} replies from {ip}, rtt min/avg/max {:.2}/{:.2}/{:.2} ms",
            tally.sent, rtt.min, rtt.avg, rtt.max
        );
        let mut over = Vec::new();
        // The loss limit, when the loss is over it.
        let loss_over = check
            .degraded_loss_percent
            .filter(|limit| loss_percent > f64::from(*limit));
        if let Some(limit) = loss_over {
            over.push(format!("{loss_percent}% loss is over {limit}%"));
        }
        if let Some(limit) = check.degraded_rtt_ms {
            // Millisecond limits are far below 2^53, so the conversion is exact.
            if rtt.avg > limit as f64 {
                over.push(format!("average rtt {:.2} ms is over {limit} ms", rtt.avg));
            }
        }
        let mut report = if over.is_empty() {
            ProbeReport::up(seen, timings)
        } else {
            // Loss has its own class; a merely slow answer has none, as for a slow HTTP
            // answer (`timeout` would say the target did not answer at all).
            ProbeReport {
                outcome: Outcome::Degraded,
                error: loss_over.map(|_| ErrorClass::PacketLoss),
                ..ProbeReport::up(format!("{seen}: {}", over.join("; ")), timings)
            }
        };
        report.details.insert("rtt_ms".to_string(), rtt.to_json());
        report
    };
    report.details.insert(
        "packet_loss_percent".to_string(),
        serde_json::Value::from(loss_percent),
    );
    report
        .details
        .insert("sent".to_string(), serde_json::Value::from(tally.sent));
    report
        .details
        .insert("received".to_string(), serde_json::Value::from(received));
    report
}

/// Round-trip times in milliseconds.
struct RttSummary {
    min: f64,
    avg: f64,
    max: f64,
}

impl RttSummary {
    fn of(rtts: &[Duration]) -> RttSummary {
        let values: Vec<f64> = rtts.iter().map(|rtt| millis(*rtt)).collect();
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = values.iter().copied().fold(0.0, f64::max);
        let avg = if values.is_empty() {
            0.0
        } else {
            values.iter().sum::<f64>() / values.len() as f64
        };
        RttSummary {
            min: if min.is_finite() { min } else { 0.0 },
            avg,
            max,
        }
    }

    fn to_json(&self) -> serde_json::Value {
        serde_json::json!({ "min": self.min, "avg": self.avg, "max": self.max })
    }
}

/// The host without the brackets of an IPv6 literal.
fn bare_host(host: &str) -> &str {
    host.trim().trim_start_matches('[').trim_end_matches(']')
}

fn finish(mut timings: Timings, started: Instant) -> Timings {
    timings.total_ms = millis(started.elapsed());
    timings
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMEOUT: Duration = Duration::from_secs(3);

    fn check(host: &str) -> IcmpCheck {
        IcmpCheck {
            host: host.to_string(),
            count: 3,
            degraded_loss_percent: None,
            degraded_rtt_ms: None,
        }
    }

    fn assert_all_answered(report: &ProbeReport, ip: &str) {
        assert_eq!(report.outcome, Outcome::Up, "{report:?}");
        assert_eq!(report.error, None);
        assert_eq!(report.details["packet_loss_percent"], 0.0);
        assert_eq!(report.details["sent"], 3);
        assert_eq!(report.details["received"], 3);
        let rtt = &report.details["rtt_ms"];
        for key in ["min", "avg", "max"] {
            assert!(rtt[key].as_f64().is_some(), "rtt_ms.{key} in {rtt}");
        }
        assert!(
            report
                .message
                .starts_with(&format!("3/3 replies from {ip}, rtt min/avg/max ")),
            "{}",
            report.message
        );
    }

    #[tokio::test]
    async fn loopback_v4_answers_every_echo_request() {
        let report = probe(&check("127.0.0.1"), TIMEOUT).await;
        assert_all_answered(&report, "127.0.0.1");
        assert_eq!(report.timings.dns_ms, None, "an address needs no lookup");
    }

    #[tokio::test]
    async fn loopback_v6_answers_every_echo_request() {
        if std::net::UdpSocket::bind("[::1]:0").is_err() {
            println!("note: skipping the IPv6 ping, this machine has no ::1");
            return;
        }
        let report = probe(&check("[::1]"), TIMEOUT).await;
        assert_all_answered(&report, "::1");
    }

    #[tokio::test]
    async fn invalid_settings_are_reported_as_config() {
        let mut check = check("127.0.0.1");
        check.count = 0;
        let report = probe(&check, TIMEOUT).await;
        assert_eq!(report.outcome, Outcome::Down);
        assert_eq!(report.error, Some(ErrorClass::Config));
        assert!(
            report.message.contains("count must be between 1 and 10"),
            "{}",
            report.message
        );
    }

    #[test]
    fn a_denied_socket_is_a_permission_failure() {
        let ip: IpAddr = "127.0.0.1".parse().expect("ip");
        let denied = io::Error::new(io::ErrorKind::PermissionDenied, "operation not permitted");
        let report = socket_error_report(&denied, ip, Timings::default());
        assert_eq!(report.outcome, Outcome::Down);
        assert_eq!(report.error, Some(ErrorClass::Permission));
        assert_eq!(
            report.message,
            "ICMP needs raw sockets (CAP_NET_RAW) or net.ipv4.ping_group_range covering this \
             user's group"
        );

        let unsupported = io::Error::from(io::ErrorKind::Unsupported);
        let report =
            socket_error_report(&unsupported, "::1".parse().expect("ip"), Timings::default());
        assert_eq!(report.error, Some(ErrorClass::Connect));
        assert!(
            report
                .message
                .starts_with("could not open an ICMPv6 socket to ping ::1: "),
            "{}",
            report.message
        );
    }

    fn tally(sent: u32, rtts_ms: &[u64]) -> Tally {
        Tally {
            sent,
            rtts: rtts_ms
                .iter()
                .map(|ms| Duration::from_millis(*ms))
                .collect(),
            error: None,
        }
    }

    #[test]
    fn loss_and_latency_are_judged_against_the_thresholds() {
        let ip: IpAddr = "192.0.2.1".parse().expect("ip");
        let with = |loss: Option<u32>, rtt: Option<u64>| IcmpCheck {
            host: ip.to_string(),
            count: 4,
            degraded_loss_percent: loss,
            degraded_rtt_ms: rtt,
        };
        // The class says why: loss has its own, a slow round trip none (as a slow HTTP
        // answer), and loss wins when both are over.
        let cases = [
            (
                "no thresholds, some loss",
                with(None, None),
                tally(4, &[10, 20]),
                Outcome::Up,
                None,
            ),
            (
                "loss over",
                with(Some(25), None),
                tally(4, &[10, 20]),
                Outcome::Degraded,
                Some(ErrorClass::PacketLoss),
            ),
            (
                "loss at the limit",
                with(Some(50), None),
                tally(4, &[10, 20]),
                Outcome::Up,
                None,
            ),
            (
                "rtt over",
                with(None, Some(12)),
                tally(4, &[10, 20, 10, 20]),
                Outcome::Degraded,
                None,
            ),
            (
                "rtt at the limit",
                with(None, Some(15)),
                tally(4, &[10, 20, 10, 20]),
                Outcome::Up,
                None,
            ),
            (
                "rtt over with loss under its limit",
                with(Some(50), Some(12)),
                tally(4, &[10, 20]),
                Outcome::Degraded,
                None,
            ),
            (
                "both over",
                with(Some(25), Some(12)),
                tally(4, &[10, 20]),
                Outcome::Degraded,
                Some(ErrorClass::PacketLoss),
            ),
        ];
        for (label, check, tally, want, class) in cases {
            let report = judge(&check, ip, &tally, TIMEOUT, Timings::default());
            assert_eq!(report.outcome, want, "{label}: {report:?}");
            assert_eq!(report.error, class, "{label}");
            if want == Outcome::Degraded {
                assert!(
                    report.message.contains(" is over "),
                    "{label}: {}",
                    report.message
                );
            }
        }

        let report = judge(
            &with(Some(25), None),
            ip,
            &tally(4, &[10, 20]),
            TIMEOUT,
            Timings::default(),
        );
        assert_eq!(report.details["packet_loss_percent"], 50.0);
        assert_eq!(report.details["rtt_ms"]["min"], 10.0);
        assert_eq!(report.details["rtt_ms"]["avg"], 15.0);
        assert_eq!(report.details["rtt_ms"]["max"], 20.0);
        assert!(
            report.message.ends_with("2/4 replies from 192.0.2.1, rtt min/avg/max 10.00/15.00/20.00 ms: 50% loss is over 25%"),
            "{}",
            report.message
        );
    }

    #[test]
    fn nothing_answered_is_down() {
        let ip: IpAddr = "192.0.2.1".parse().expect("ip");
        let report = judge(
            &check("192.0.2.1"),
            ip,
            &tally(3, &[]),
            TIMEOUT,
            Timings::default(),
        );
        assert_eq!(report.outcome, Outcome::Down);
        assert_eq!(report.error, Some(ErrorClass::Timeout));
        assert_eq!(
            report.message,
            "no reply to 3 echo requests to 192.0.2.1 within 3000 ms"
        );
        assert_eq!(report.details["packet_loss_percent"], 100.0);
        assert!(!report.details.contains_key("rtt_ms"));

        let mut failed = tally(3, &[]);
        failed.error = Some("io error: Network is unreachable (os error 101)".to_string());
        let report = judge(
            &check("192.0.2.1"),
            ip,
            &failed,
            TIMEOUT,
            Timings::default(),
        );
        assert_eq!(report.error, Some(ErrorClass::Connect));
        assert_eq!(
            report.message,
            "could not ping 192.0.2.1: io error: Network is unreachable (os error 101)"
        );
    }

    #[test]
    fn echo_requests_are_spaced_within_the_timeout() {
        assert_eq!(
            spacing(3, Duration::from_secs(5)),
            Duration::from_millis(200)
        );
        assert_eq!(
            spacing(10, Duration::from_secs(1)),
            Duration::from_millis(50)
        );
        assert_eq!(
            spacing(1, Duration::from_millis(100)),
            Duration::from_millis(50)
        );
    }

    #[test]
    fn validate_names_each_problem() {
        let cases: Vec<(&str, IcmpCheck, Option<&str>)> = vec![
            ("defaults", check("example.com"), None),
            ("ipv6", check("[2001:db8::1]"), None),
            ("empty host", check(""), Some("host must not be empty")),
            (
                "count zero",
                IcmpCheck {
                    count: 0,
                    ..check("h")
                },
                Some("count must be between 1 and 10, not 0"),
            ),
            (
                "count ten",
                IcmpCheck {
                    count: 10,
                    ..check("h")
                },
                None,
            ),
            (
                "count eleven",
                IcmpCheck {
                    count: 11,
                    ..check("h")
                },
                Some("not 11"),
            ),
            (
                "loss of 100%",
                IcmpCheck {
                    degraded_loss_percent: Some(100),
                    ..check("h")
                },
                Some("degraded_loss_percent must be between 0 and 99"),
            ),
            (
                "loss of 0%",
                IcmpCheck {
                    degraded_loss_percent: Some(0),
                    ..check("h")
                },
                None,
            ),
            (
                "rtt of 0 ms",
                IcmpCheck {
                    degraded_rtt_ms: Some(0),
                    ..check("h")
                },
                Some("degraded_rtt_ms must be at least 1"),
            ),
        ];
        for (label, check, want) in cases {
            match want {
                None => assert_eq!(check.validate(), Ok(()), "{label}"),
                Some(want) => {
                    let errors = check.validate().expect_err(label);
                    assert!(
                        errors.iter().any(|err| err.contains(want)),
                        "{label}: {errors:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn settings_read_from_json_with_defaults() {
        let check: IcmpCheck =
            serde_json::from_str(r#"{"host": "example.com"}"#).expect("minimal check");
        assert_eq!(check.count, 3);
        assert_eq!(check.degraded_loss_percent, None);
        assert_eq!(check.degraded_rtt_ms, None);
    }
}
