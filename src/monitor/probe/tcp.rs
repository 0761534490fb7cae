//! The TCP probe: can a connection be made to a host and port, and, optionally, does the
//! service answer a line with the expected text (an SSH banner, an SMTP greeting, a Redis
//! `PONG`). It also owns `connect_in_order`, the connection step the HTTP probe shares.
//!
//! It must not keep a connection open past its report, and it reads at most
//! [`REPLY_LIMIT`] bytes of a reply, so a chatty service cannot make it buffer without end.

use super::{millis, resolve, ErrorClass, ProbeReport, Timings};
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use utoipa::ToSchema;

/// The most of a reply the probe reads while looking for the expected text.
pub const REPLY_LIMIT: usize = 64 * 1024;

/// A TCP check: connect to `host:port`, optionally send a line and look for a text in the
/// reply.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TcpCheck {
    /// A host name or an IP address (an IPv6 address with or without brackets).
    pub host: String,
    pub port: u16,
    /// A line to send once connected. A CRLF is added unless it already ends with a newline,
    /// as line-based protocols (SMTP, Redis, memcached) expect.
    #[serde(default)]
    pub send: Option<String>,
    /// A text the reply must contain; the probe reads until it appears, the peer closes the
    /// connection, [`REPLY_LIMIT`] bytes arrived or the timeout passes.
    #[serde(default)]
    pub expect: Option<String>,
}

impl TcpCheck {
    /// Every problem with the settings, each naming its field and what is expected.
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        if let Err(problem) = validate_host(&self.host) {
            problems.push(problem);
        }
        if self.port == 0 {
            problems.push("port: expected a port from 1 to 65535, got 0".to_string());
        }
        for (field, text) in [("send", &self.send), ("expect", &self.expect)] {
            match text {
                Some(text) if text.is_empty() => problems.push(format!(
                    "{field}: expected some text, or leave the field out"
                )),
                Some(text) if text.len() > REPLY_LIMIT => problems.push(format!(
                    "{field}: expected at most {REPLY_LIMIT} bytes, got {}",
                    text.len()
                )),
                _ => {}
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

/// Whether `host` names something one can connect to: an IP address or a DNS name.
fn validate_host(host: &str) -> Result<(), String> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if host.trim().is_empty() {
        return Err("host: expected a host name or IP address, got an empty text".to_string());
    }
    if host.contains("://") {
        return Err(format!(
            "host: expected a host name or IP address, not a URL ({host:?})"
        ));
    }
    if bare.parse::<IpAddr>().is_ok() {
        return Ok(());
    }
    if host.contains(':') {
        return Err(format!(
            "host: expected a host name or IP address without a port ({host:?}); the port goes in `port`"
        ));
    }
    // A single trailing dot (a fully qualified name) is allowed; empty labels are not.
    let name = host.strip_suffix('.').unwrap_or(host);
    let name_is_valid = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        });
    if name_is_valid {
        Ok(())
    } else {
        Err(format!(
            "host: expected a host name (letters, digits, '-', '.') or an IP address, got {host:?}"
        ))
    }
}

/// Connects to the first address of `target` that accepts, trying them in the resolver's
/// order.
///
/// Each attempt but the last gets an equal share of the time left before `deadline`, so one
/// unreachable address (an IPv6 route that drops packets) cannot use up the whole check while
/// another address would answer. Returns the stream and the address it reached, or a message
/// ("could not connect to db.example:5432 (10.0.0.5:5432): connection refused") naming each
/// address tried with its error.
pub(super) async fn connect_in_order(
    target: &str,
    addrs: &[SocketAddr],
    deadline: Option<Instant>,
) -> Result<(TcpStream, SocketAddr), String> {
    let mut failures = Vec::new();
    for (index, addr) in addrs.iter().enumerate() {
        let remaining_addrs = u32::try_from(addrs.len() - index).unwrap_or(u32::MAX);
        // The last address is bounded by the caller's timeout alone, so that running out of
        // time there is reported as a timeout, not as a failed connection.
        let budget = deadline
            .filter(|_| remaining_addrs > 1)
            .map(|deadline| deadline.saturating_duration_since(Instant::now()) / remaining_addrs);
        let attempt = TcpStream::connect(addr);
        let result = match budget {
            Some(budget) => match tokio::time::timeout(budget, attempt).await {
                Ok(result) => result,
                Err(_) => {
                    failures.push((*addr, format!("no answer within {} ms", budget.as_millis())));
                    continue;
                }
            },
            None => attempt.await,
        };
        match result {
            Ok(stream) => {
                // Probes write a request at once and wait; Nagle's delay would only add latency.
                let _ = stream.set_nodelay(true);
                return Ok((stream, *addr));
            }
            Err(err) => failures.push((*addr, io_error_text(&err))),
        }
    }
    Err(match failures.as_slice() {
        [] => format!("could not connect to {target}: it has no address"),
        [(addr, error)] if addr.to_string() == target => {
            format!("could not connect to {target}: {error}")
        }
        [(addr, error)] => format!("could not connect to {target} ({addr}): {error}"),
        _ => {
            let each: Vec<String> = failures
                .iter()
                .map(|(addr, error)| format!("{addr}: {error}"))
                .collect();
            format!("could not connect to {target}: {}", each.join("; "))
        }
    })
}

/// An I/O error as a short lower-case phrase: the common network failures by name, without
/// the operating system's error number.
pub(super) fn io_error_text(err: &std::io::Error) -> String {
    use std::io::ErrorKind;
    let phrase = match err.kind() {
        ErrorKind::ConnectionRefused => "connection refused",
        ErrorKind::ConnectionReset => "connection reset by the peer",
        ErrorKind::ConnectionAborted => "connection aborted",
        ErrorKind::BrokenPipe => "connection closed by the peer (broken pipe)",
        ErrorKind::TimedOut => "timed out",
        ErrorKind::HostUnreachable => "host unreachable",
        ErrorKind::NetworkUnreachable => "network unreachable",
        ErrorKind::AddrNotAvailable => "address not available",
        ErrorKind::PermissionDenied => "permission denied",
        _ => return err.to_string(),
    };
    phrase.to_string()
}

/// Adds a phase's duration to its slot in [`Timings`]; phases that repeat (the hops of an
/// HTTP redirect chain) are summed.
pub(super) fn add_phase(slot: &mut Option<f64>, duration: Duration) {
    *slot = Some(slot.unwrap_or(0.0) + millis(duration));
}

/// What the probe was doing, so a timeout can say which step did not finish.
#[derive(Default)]
enum Phase {
    #[default]
    Starting,
    Resolving,
    Connecting,
    Sending,
    Reading,
}

/// What the probe has seen so far; it outlives the probe's future so a timeout can still
/// report the phases that finished.
#[derive(Default)]
struct Progress {
    phase: Phase,
    timings: Timings,
    address: Option<SocketAddr>,
    reply: Vec<u8>,
}

/// Runs one TCP check, bounded by `timeout`.
pub async fn probe(check: &TcpCheck, timeout: Duration) -> ProbeReport {
    let started = Instant::now();
    if let Err(problems) = check.validate() {
        return ProbeReport::down(
            ErrorClass::Config,
            format!("invalid TCP check: {}", problems.join("; ")),
            Timings {
                total_ms: millis(started.elapsed()),
                ..Timings::default()
            },
        );
    }
    let mut progress = Progress::default();
    let deadline = started.checked_add(timeout);
    let result = tokio::time::timeout(timeout, run(check, deadline, &mut progress)).await;
    let total = started.elapsed();
    let mut timings = std::mem::take(&mut progress.timings);
    timings.total_ms = millis(total);
    let mut report = match result {
        Ok(Ok(message)) => ProbeReport::up(message, timings),
        Ok(Err((class, message))) => ProbeReport::down(class, message, timings),
        Err(_) => timed_out(check, &progress, timeout, timings),
    };
    if let Some(address) = progress.address {
        report
            .details
            .insert("address".to_string(), address.to_string().into());
    }
    report
}

/// The report for a check whose timeout passed, saying which step was in progress.
fn timed_out(
    check: &TcpCheck,
    progress: &Progress,
    timeout: Duration,
    timings: Timings,
) -> ProbeReport {
    let limit = timeout.as_millis();
    let target = target_label(&check.host, check.port);
    let mut report = ProbeReport::timed_out(timeout);
    report.timings = timings;
    report.message = match progress.phase {
        Phase::Starting => format!("no answer within {limit} ms"),
        Phase::Resolving => format!("{} did not resolve within {limit} ms", check.host),
        Phase::Connecting => format!("no connection to {target} within {limit} ms"),
        Phase::Sending => format!("could not send to {target} within {limit} ms"),
        Phase::Reading => {
            let expect = check.expect.as_deref().unwrap_or_default();
            if progress.reply.is_empty() {
                format!("no reply from {target} within {limit} ms (expected {expect:?})")
            } else {
                // Something came back, just not the expected text: that is the finding.
                report.error = Some(ErrorClass::Assertion);
                format!(
                    "reply from {target} does not contain {expect:?} within {limit} ms; got {}",
                    snippet(&progress.reply)
                )
            }
        }
    };
    report
}

/// The check itself: the up message, or the class and message of the failure.
async fn run(
    check: &TcpCheck,
    deadline: Option<Instant>,
    progress: &mut Progress,
) -> Result<String, (ErrorClass, String)> {
    let target = target_label(&check.host, check.port);
    let bare_host = check.host.trim_start_matches('[').trim_end_matches(']');
    let addrs = if let Ok(ip) = bare_host.parse::<IpAddr>() {
        vec![SocketAddr::new(ip, check.port)]
    } else {
        progress.phase = Phase::Resolving;
        let lookup_started = Instant::now();
        let addrs = resolve::lookup(bare_host, check.port).await;
        add_phase(&mut progress.timings.dns_ms, lookup_started.elapsed());
        addrs.map_err(|message| (ErrorClass::Dns, message))?
    };

    progress.phase = Phase::Connecting;
    let connect_started = Instant::now();
    let (mut stream, address) = connect_in_order(&target, &addrs, deadline)
        .await
        .map_err(|message| (ErrorClass::Connect, message))?;
    let connected_in = connect_started.elapsed();
    add_phase(&mut progress.timings.connect_ms, connected_in);
    progress.address = Some(address);

    if let Some(line) = &check.send {
        progress.phase = Phase::Sending;
        let mut bytes = line.as_bytes().to_vec();
        if !line.ends_with('\n') {
            bytes.extend_from_slice(b"\r\n");
        }
        stream.write_all(&bytes).await.map_err(|err| {
            (
                ErrorClass::Connect,
                format!("sending to {address} failed: {}", io_error_text(&err)),
            )
        })?;
        stream.flush().await.map_err(|err| {
            (
                ErrorClass::Connect,
                format!("sending to {address} failed: {}", io_error_text(&err)),
            )
        })?;
    }

    let Some(expect) = &check.expect else {
        let sent = if check.send.is_some() {
            ", line sent"
        } else {
            ""
        };
        return Ok(format!(
            "connected to {address} in {} ms{sent}",
            millis(connected_in).round()
        ));
    };

    progress.phase = Phase::Reading;
    let waiting_since = Instant::now();
    let needle = expect.as_bytes();
    let mut chunk = [0u8; 4096];
    loop {
        let room = REPLY_LIMIT - progress.reply.len();
        let read = stream
            .read(&mut chunk[..room.min(4096)])
            .await
            .map_err(|err| {
                (
                    ErrorClass::Connect,
                    format!(
                        "reading the reply from {address} failed: {}",
                        io_error_text(&err)
                    ),
                )
            })?;
        if read == 0 {
            return Err(if progress.reply.is_empty() {
                (
                    ErrorClass::Assertion,
                    format!(
                        "{address} closed the connection without a reply (expected {expect:?})"
                    ),
                )
            } else {
                (
                    ErrorClass::Assertion,
                    format!(
                        "reply from {address} does not contain {expect:?}; got {}",
                        snippet(&progress.reply)
                    ),
                )
            });
        }
        if progress.reply.is_empty() {
            add_phase(&mut progress.timings.first_byte_ms, waiting_since.elapsed());
        }
        // Only the new bytes and the tail that could start a match need searching again.
        let search_from = progress
            .reply
            .len()
            .saturating_sub(needle.len().saturating_sub(1));
        progress.reply.extend_from_slice(&chunk[..read]);
        if contains(&progress.reply[search_from..], needle) {
            return Ok(format!(
                "connected to {address}, reply contains {expect:?} after {} ms",
                millis(waiting_since.elapsed()).round()
            ));
        }
        if progress.reply.len() >= REPLY_LIMIT {
            return Err((
                ErrorClass::Assertion,
                format!(
                    "the first {} KiB of the reply from {address} do not contain {expect:?}; it starts with {}",
                    REPLY_LIMIT / 1024,
                    snippet(&progress.reply)
                ),
            ));
        }
    }
}

/// `host:port` as people write it, with an IPv6 address in brackets.
fn target_label(host: &str, port: u16) -> String {
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V6(ip)) => format!("[{ip}]:{port}"),
        _ => format!("{host}:{port}"),
    }
}

/// Whether `needle` occurs in `haystack`.
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty()
        || haystack
            .windows(needle.len())
            .any(|window| window == needle)
}

/// The start of a reply, quoted, for a message: short enough to read in a list of checks.
fn snippet(bytes: &[u8]) -> String {
    const SHOWN: usize = 80;
    let text = String::from_utf8_lossy(bytes);
    let shown: String = text.chars().take(SHOWN).collect();
    if text.chars().count() > SHOWN {
        format!("{shown:?}...")
    } else {
        format!("{shown:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::probe::Outcome;
    use tokio::io::AsyncBufReadExt;
    use tokio::net::TcpListener;

    fn check(port: u16) -> TcpCheck {
        TcpCheck {
            host: "127.0.0.1".to_string(),
            port,
            send: None,
            expect: None,
        }
    }

    /// A server that answers each line with "echo: <line>".
    async fn echo_server() -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                tokio::spawn(async move {
                    let (reader, mut writer) = stream.into_split();
                    let mut lines = tokio::io::BufReader::new(reader).lines();
                    while let Ok(Some(line)) = lines.next_line().await {
                        if writer
                            .write_all(format!("echo: {line}\r\n").as_bytes())
                            .await
                            .is_err()
                        {
                            return;
                        }
                    }
                });
            }
        });
        port
    }

    /// A server that accepts connections and never writes; it keeps them open.
    async fn silent_server() -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                held.push(stream);
            }
        });
        port
    }

    /// A server that writes a fixed greeting and then closes the connection.
    async fn greeting_server(greeting: &'static [u8]) -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let _ = stream.write_all(greeting).await;
            }
        });
        port
    }

    async fn refused_port() -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap().port()
    }

    #[tokio::test]
    async fn connecting_alone_is_up() {
        let port = silent_server().await;
        let report = probe(&check(port), Duration::from_secs(5)).await;
        assert_eq!(report.outcome, Outcome::Up, "{report:?}");
        assert!(report.message.starts_with("connected to 127.0.0.1:"));
        assert!(report.timings.connect_ms.is_some());
        assert!(report.timings.dns_ms.is_none(), "no lookup for an IP");
        assert_eq!(report.details["address"], format!("127.0.0.1:{port}"));
    }

    #[tokio::test]
    async fn an_echoed_line_satisfies_expect() {
        let port = echo_server().await;
        let report = probe(
            &TcpCheck {
                send: Some("PING".to_string()),
                expect: Some("echo: PING".to_string()),
                ..check(port)
            },
            Duration::from_secs(5),
        )
        .await;
        assert_eq!(report.outcome, Outcome::Up, "{report:?}");
        assert!(
            report.message.contains("reply contains"),
            "{}",
            report.message
        );
        assert!(report.timings.first_byte_ms.is_some());
    }

    #[tokio::test]
    async fn a_name_is_resolved_first() {
        let port = echo_server().await;
        let report = probe(
            &TcpCheck {
                host: "localhost".to_string(),
                ..check(port)
            },
            Duration::from_secs(5),
        )
        .await;
        // `localhost` may resolve to ::1 first, where nothing listens; the probe then tries
        // the next address.
        assert_eq!(report.outcome, Outcome::Up, "{report:?}");
        assert!(report.timings.dns_ms.is_some());
    }

    #[tokio::test]
    async fn a_wrong_reply_fails_the_assertion() {
        let port = echo_server().await;
        let report = probe(
            &TcpCheck {
                send: Some("PING".to_string()),
                expect: Some("PONG".to_string()),
                ..check(port)
            },
            Duration::from_millis(300),
        )
        .await;
        assert_eq!(report.outcome, Outcome::Down);
        assert_eq!(report.error, Some(ErrorClass::Assertion), "{report:?}");
        assert!(report.message.contains("echo: PING"), "{}", report.message);
    }

    #[tokio::test]
    async fn a_closed_connection_without_the_text_fails_the_assertion() {
        let port = greeting_server(b"220 mail.example ESMTP\r\n").await;
        let report = probe(
            &TcpCheck {
                expect: Some("SSH-2.0".to_string()),
                ..check(port)
            },
            Duration::from_secs(5),
        )
        .await;
        assert_eq!(report.error, Some(ErrorClass::Assertion), "{report:?}");
        assert!(report.message.contains("ESMTP"), "{}", report.message);

        let report = probe(
            &TcpCheck {
                expect: Some("ESMTP".to_string()),
                ..check(port)
            },
            Duration::from_secs(5),
        )
        .await;
        assert_eq!(report.outcome, Outcome::Up, "{report:?}");
    }

    #[tokio::test]
    async fn silence_times_out_naming_the_reply() {
        let port = silent_server().await;
        let timeout = Duration::from_millis(300);
        let started = Instant::now();
        let report = probe(
            &TcpCheck {
                expect: Some("hello".to_string()),
                ..check(port)
            },
            timeout,
        )
        .await;
        assert!(started.elapsed() < timeout * 15);
        assert_eq!(report.error, Some(ErrorClass::Timeout), "{report:?}");
        assert!(
            report.message.starts_with("no reply from"),
            "{}",
            report.message
        );
        assert!(
            report.timings.connect_ms.is_some(),
            "finished phases are kept"
        );
    }

    #[tokio::test]
    async fn a_refused_port_is_a_connect_failure() {
        let port = refused_port().await;
        let report = probe(&check(port), Duration::from_secs(5)).await;
        assert_eq!(report.error, Some(ErrorClass::Connect), "{report:?}");
        assert!(report.message.contains("could not connect to 127.0.0.1:"));
        assert!(report.timings.connect_ms.is_none());
    }

    #[test]
    fn targets_are_labelled_as_people_write_them() {
        assert_eq!(target_label("::1", 22), "[::1]:22");
        assert_eq!(target_label("[::1]", 22), "[::1]:22");
        assert_eq!(target_label("10.0.0.1", 22), "10.0.0.1:22");
        assert_eq!(target_label("db.example", 5432), "db.example:5432");
    }

    #[test]
    fn validation_names_each_field() {
        let bad = TcpCheck {
            host: "tcp://db.example".to_string(),
            port: 0,
            send: Some(String::new()),
            expect: Some(String::new()),
        };
        let problems = bad.validate().unwrap_err();
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert!(problems[0].starts_with("host:") && problems[0].contains("not a URL"));
        assert!(problems[1].starts_with("port:"));
        assert!(problems[2].starts_with("send:"));
        assert!(problems[3].starts_with("expect:"));

        for host in ["db.example:5432", "bad host", "", "a..b", "."] {
            let problems = TcpCheck {
                host: host.to_string(),
                ..check(1)
            }
            .validate()
            .unwrap_err();
            assert!(problems[0].starts_with("host:"), "{host}: {problems:?}");
        }
        for host in [
            "db.example",
            "db.example.",
            "10.0.0.1",
            "::1",
            "[2001:db8::1]",
            "_srv.x",
        ] {
            assert!(
                TcpCheck {
                    host: host.to_string(),
                    ..check(1)
                }
                .validate()
                .is_ok(),
                "{host}"
            );
        }
    }

    #[tokio::test]
    async fn an_invalid_check_is_a_config_failure() {
        let report = probe(&check(0), Duration::from_secs(1)).await;
        assert_eq!(report.error, Some(ErrorClass::Config));
        assert!(report.message.contains("port:"), "{}", report.message);
    }
}
