//! The HTTP(S) probe: one request (and the redirects it leads to) against a URL, judged by
//! its status code, assertions on its body and its latency.
//!
//! It is built on hyper's low-level HTTP/1.1 client over a connection it makes itself, so it
//! can time each phase: DNS lookup, TCP connect, TLS handshake, the wait for the response
//! head, and the whole check. It must not follow more redirects than the check allows, read
//! more than [`BODY_LIMIT`] bytes of a body, or outlive its timeout; it never panics, whatever
//! the check or the server says.
//!
//! Timings across a redirect chain: each phase's figure is the sum over all the hops (two
//! lookups of 3 ms give `dns_ms = 6`), `first_byte_ms` sums each hop's wait from sending the
//! request to receiving the response head, and `total_ms` is the wall time of the whole
//! check, from the first lookup to the last byte of the final body read.

use super::tcp::{add_phase, connect_in_order};
use super::{millis, resolve, AcceptAnyCertificate, ErrorClass, Outcome, ProbeReport, Timings};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, RootCertStore};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::TlsConnector;
use url::{Position, Url};
use utoipa::ToSchema;

/// The most of a response body the probe reads; assertions look at this prefix only.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// The most redirects a check may allow; a longer chain is a misconfiguration anyway.
pub const MAX_REDIRECTS_LIMIT: u32 = 30;

/// Sent unless the check sets its own `User-Agent`, so a site's operators can tell the
/// probe's requests from visitors'.
const USER_AGENT: &str = concat!("Pharos/", env!("CARGO_PKG_VERSION"), " (uptime monitor)");

/// An HTTP(S) check.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HttpCheck {
    /// An `http` or `https` URL.
    pub url: String,
    /// The request method: `GET` (the default), `HEAD`, `POST`, `PUT`...
    #[serde(default = "default_method")]
    pub method: String,
    /// Extra request headers. `Host` and `User-Agent` replace the probe's own;
    /// `Content-Length`, `Transfer-Encoding` and `Connection` are the probe's to set.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// A request body, sent with a `Content-Length`.
    #[serde(default)]
    pub body: Option<String>,
    /// Acceptable status codes: `"200"`, `"201-204"`, `"3xx"`; none means 200-299.
    #[serde(default)]
    pub expected_status: Vec<String>,
    /// Checks of the body, in order; the first that fails is reported.
    #[serde(default)]
    pub assertions: Vec<Assertion>,
    /// A check that passes but takes longer than this, in total, is `degraded`.
    #[serde(default)]
    pub degraded_after_ms: Option<u64>,
    /// How many redirects (301, 302, 303, 307, 308) to follow; 0 makes the redirect itself
    /// the answer, judged by `expected_status`.
    #[serde(default = "default_max_redirects")]
    pub max_redirects: u32,
    /// Whether the server's certificate must be valid for the host. When false the TLS
    /// handshake still happens, but any certificate is accepted.
    #[serde(default = "default_verify_tls")]
    pub verify_tls: bool,
}

fn default_method() -> String {
    "GET".to_string()
}

fn default_max_redirects() -> u32 {
    10
}

fn default_verify_tls() -> bool {
    true
}

impl HttpCheck {
    /// A `GET` of `url` with every other setting at its default.
    pub fn get(url: impl Into<String>) -> HttpCheck {
        HttpCheck {
            url: url.into(),
            method: default_method(),
            headers: BTreeMap::new(),
            body: None,
            expected_status: Vec::new(),
            assertions: Vec::new(),
            degraded_after_ms: None,
            max_redirects: default_max_redirects(),
            verify_tls: default_verify_tls(),
        }
    }

    /// Every problem with the settings, each naming its field and what is expected.
    pub fn validate(&self) -> Result<(), Vec<String>> {
        Plan::new(self).map(|_| ())
    }
}

/// A check of the response body. Text assertions see the body decoded as UTF-8, with
/// invalid bytes replaced.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Assertion {
    /// The body contains this text.
    BodyContains { value: String },
    /// The body does not contain this text (an error banner, "maintenance").
    BodyNotContains { value: String },
    /// The body matches this regular expression (Rust `regex` syntax).
    BodyMatches { pattern: String },
    /// The body is JSON and the value at this JSON pointer (RFC 6901, e.g. `/status` or
    /// `/checks/0/ok`) equals `equals`.
    JsonPointer {
        pointer: String,
        #[schema(value_type = Object)]
        equals: serde_json::Value,
    },
}

/// An inclusive range of status codes, parsed from `"200"`, `"200-204"` or `"2xx"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatusRange {
    pub low: u16,
    pub high: u16,
}

impl StatusRange {
    /// The range 200-299 used when a check lists none.
    pub const SUCCESS: StatusRange = StatusRange {
        low: 200,
        high: 299,
    };

    /// Parses one entry of `expected_status`, or says what is wrong with it.
    pub fn parse(text: &str) -> Result<StatusRange, String> {
        let trimmed = text.trim();
        let code = |part: &str| -> Result<u16, String> {
            match part.trim().parse::<u16>() {
                Ok(code) if (100..=599).contains(&code) => Ok(code),
                _ => Err(format!(
                    "{text:?} is not a status code from 100 to 599, a range like \"200-204\" or a class like \"2xx\""
                )),
            }
        };
        let lower = trimmed.to_ascii_lowercase();
        if let Some(class) = lower.strip_suffix("xx") {
            let digit = code(&format!("{class}00"))?;
            return Ok(StatusRange {
                low: digit,
                high: digit + 99,
            });
        }
        match trimmed.split_once('-') {
            Some((low, high)) => {
                let (low, high) = (code(low)?, code(high)?);
                if low > high {
                    return Err(format!("{text:?} is a range whose start is above its end"));
                }
                Ok(StatusRange { low, high })
            }
            None => code(trimmed).map(|code| StatusRange {
                low: code,
                high: code,
            }),
        }
    }

    pub fn contains(&self, code: u16) -> bool {
        (self.low..=self.high).contains(&code)
    }
}

impl fmt::Display for StatusRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.low == self.high {
            write!(f, "{}", self.low)
        } else {
            write!(f, "{}-{}", self.low, self.high)
        }
    }
}

/// A body assertion ready to run: its regular expression compiled.
#[derive(Debug)]
enum Check {
    Contains(String),
    NotContains(String),
    Matches(regex::Regex),
    Pointer {
        pointer: String,
        equals: serde_json::Value,
    },
}

/// A validated check: what [`probe`] runs.
#[derive(Debug)]
struct Plan {
    url: Url,
    method: Method,
    headers: HeaderMap,
    body: Option<Bytes>,
    expected: Vec<StatusRange>,
    checks: Vec<Check>,
    degraded_after_ms: Option<u64>,
    max_redirects: u32,
    verify_tls: bool,
}

impl Plan {
    /// Parses every setting, collecting each problem rather than stopping at the first.
    fn new(check: &HttpCheck) -> Result<Plan, Vec<String>> {
        let mut problems = Vec::new();

        let url = match Url::parse(check.url.trim()) {
            Ok(url) => {
                if let Err(problem) = usable_url(&url) {
                    problems.push(format!("url: {problem}"));
                }
                if !url.username().is_empty() || url.password().is_some() {
                    // Credentials in a URL end up on pages and in logs; a header is explicit.
                    problems.push(
                        "url: must not contain credentials; send them in an Authorization header"
                            .to_string(),
                    );
                }
                Some(url)
            }
            Err(err) => {
                problems.push(format!(
                    "url: expected an absolute http:// or https:// URL, got {:?} ({err})",
                    check.url
                ));
                None
            }
        };

        let method_text = check.method.trim().to_ascii_uppercase();
        let method = match Method::from_bytes(method_text.as_bytes()) {
            Ok(method) if method == Method::CONNECT => {
                problems.push("method: CONNECT opens a tunnel and cannot be checked".to_string());
                None
            }
            Ok(method) if !method_text.is_empty() => Some(method),
            _ => {
                problems.push(format!(
                    "method: expected an HTTP method such as GET, HEAD or POST, got {:?}",
                    check.method
                ));
                None
            }
        };

        let mut headers = HeaderMap::new();
        for (name, value) in &check.headers {
            let parsed_name = match HeaderName::from_bytes(name.trim().as_bytes()) {
                Ok(parsed) => parsed,
                Err(_) => {
                    problems.push(format!(
                        "headers: {name:?} is not a valid header name (letters, digits and !#$%&'*+-.^_`|~ only)"
                    ));
                    continue;
                }
            };
            if [
                header::CONTENT_LENGTH,
                header::TRANSFER_ENCODING,
                header::CONNECTION,
            ]
            .contains(&parsed_name)
            {
                problems.push(format!(
                    "headers: {name} is set by the probe itself and cannot be configured"
                ));
                continue;
            }
            match HeaderValue::from_str(value) {
                Ok(parsed_value) => {
                    headers.insert(parsed_name, parsed_value);
                }
                Err(_) => problems.push(format!(
                    "headers: the value of {name} must be visible ASCII text without line breaks"
                )),
            }
        }

        let mut expected = Vec::new();
        for entry in &check.expected_status {
            match StatusRange::parse(entry) {
                Ok(range) => expected.push(range),
                Err(problem) => problems.push(format!("expected_status: {problem}")),
            }
        }
        if expected.is_empty() {
            expected.push(StatusRange::SUCCESS);
        }

        let mut checks = Vec::new();
        for (index, assertion) in check.assertions.iter().enumerate() {
            let field = format!("assertions[{index}]");
            match assertion {
                Assertion::BodyContains { value } | Assertion::BodyNotContains { value }
                    if value.is_empty() =>
                {
                    problems.push(format!("{field}.value: expected some text to look for"));
                }
                Assertion::BodyContains { value } => checks.push(Check::Contains(value.clone())),
                Assertion::BodyNotContains { value } => {
                    checks.push(Check::NotContains(value.clone()))
                }
                Assertion::BodyMatches { pattern } => match regex::Regex::new(pattern) {
                    Ok(regex) => checks.push(Check::Matches(regex)),
                    Err(err) => problems.push(format!(
                        "{field}.pattern: {pattern:?} is not a valid regular expression: {}",
                        one_line(&err.to_string())
                    )),
                },
                Assertion::JsonPointer { pointer, equals } => {
                    if pointer.is_empty() || pointer.starts_with('/') {
                        checks.push(Check::Pointer {
                            pointer: pointer.clone(),
                            equals: equals.clone(),
                        });
                    } else {
                        problems.push(format!(
                            "{field}.pointer: expected a JSON pointer starting with '/' (like \"/status\"), got {pointer:?}"
                        ));
                    }
                }
            }
        }

        if check.degraded_after_ms == Some(0) {
            problems.push(
                "degraded_after_ms: expected at least 1, or leave it out to never degrade"
                    .to_string(),
            );
        }
        if check.max_redirects > MAX_REDIRECTS_LIMIT {
            problems.push(format!(
                "max_redirects: expected at most {MAX_REDIRECTS_LIMIT}, got {}",
                check.max_redirects
            ));
        }

        match (url, method) {
            (Some(url), Some(method)) if problems.is_empty() => Ok(Plan {
                url,
                method,
                headers,
                body: check.body.clone().map(Bytes::from),
                expected,
                checks,
                degraded_after_ms: check.degraded_after_ms,
                max_redirects: check.max_redirects,
                verify_tls: check.verify_tls,
            }),
            _ => Err(problems),
        }
    }

    /// The expected statuses as people write them: "200-299" or "200, 301-302".
    fn expected_text(&self) -> String {
        self.expected
            .iter()
            .map(StatusRange::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Whether a URL is one the probe can request: http or https, with a host.
fn usable_url(url: &Url) -> Result<(), String> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "expected an http:// or https:// URL, got the scheme {:?}",
            url.scheme()
        ));
    }
    if url.host().is_none() {
        return Err("the URL has no host".to_string());
    }
    Ok(())
}

/// Why the check failed: the class and a line for people.
#[derive(Debug)]
struct Failure {
    class: ErrorClass,
    message: String,
}

impl Failure {
    fn new(class: ErrorClass, message: impl Into<String>) -> Failure {
        Failure {
            class,
            message: message.into(),
        }
    }
}

/// What the check was doing, so a timeout can say which step did not finish.
#[derive(Debug, Default)]
enum Phase {
    #[default]
    Starting,
    Resolving(String),
    Connecting(String),
    Handshaking(String),
    AwaitingHead,
    ReadingBody,
}

/// What the check has seen so far. It lives outside the timed future, so when the timeout
/// drops that future the report can still give the finished phases.
#[derive(Debug, Default)]
struct Progress {
    phase: Phase,
    timings: Timings,
    status: Option<u16>,
    redirects: u32,
    address: Option<SocketAddr>,
}

/// The final response of a check.
#[derive(Debug)]
struct Answer {
    status: StatusCode,
    /// The reason phrase the server sent, when it differs from the standard one.
    reason: Option<String>,
    location: Option<String>,
    body: Vec<u8>,
    /// Whether the body was longer than [`BODY_LIMIT`] and only its start was read.
    truncated: bool,
    url: Url,
}

impl Answer {
    /// "HTTP 404 Not Found", with the server's own reason phrase if it sent another.
    fn status_line(&self) -> String {
        let reason = self
            .reason
            .as_deref()
            .or_else(|| self.status.canonical_reason())
            .unwrap_or_default();
        format!("HTTP {} {reason}", self.status.as_u16())
            .trim_end()
            .to_string()
    }
}

/// Runs one HTTP(S) check, bounded by `timeout`.
pub async fn probe(check: &HttpCheck, timeout: Duration) -> ProbeReport {
    let started = Instant::now();
    let plan = match Plan::new(check) {
        Ok(plan) => plan,
        Err(problems) => {
            return ProbeReport::down(
                ErrorClass::Config,
                format!("invalid HTTP check: {}", problems.join("; ")),
                Timings {
                    total_ms: millis(started.elapsed()),
                    ..Timings::default()
                },
            )
        }
    };
    let mut progress = Progress::default();
    let deadline = started.checked_add(timeout);
    let result = tokio::time::timeout(timeout, run(&plan, deadline, &mut progress)).await;
    let total = started.elapsed();
    let mut timings = std::mem::take(&mut progress.timings);
    timings.total_ms = millis(total);

    let mut report = match result {
        Ok(Ok(answer)) => {
            let mut report = judge(&plan, &answer, timings);
            if progress.redirects > 0 {
                report
                    .details
                    .insert("final_url".to_string(), answer.url.to_string().into());
            }
            report
                .details
                .insert("body_bytes".to_string(), answer.body.len().into());
            if answer.truncated {
                report
                    .details
                    .insert("body_truncated".to_string(), true.into());
            }
            report
        }
        Ok(Err(failure)) => ProbeReport::down(failure.class, failure.message, timings),
        Err(_) => timed_out(&progress, timeout, timings),
    };
    report.status_code = progress.status;
    if progress.redirects > 0 {
        report
            .details
            .insert("redirects".to_string(), progress.redirects.into());
    }
    if let Some(address) = progress.address {
        report
            .details
            .insert("address".to_string(), address.to_string().into());
    }
    report
}

/// The report for a check whose timeout passed, saying which step was in progress.
fn timed_out(progress: &Progress, timeout: Duration, timings: Timings) -> ProbeReport {
    let limit = timeout.as_millis();
    let mut report = ProbeReport::timed_out(timeout);
    report.timings = timings;
    report.message = match &progress.phase {
        Phase::Starting => format!("no answer within {limit} ms"),
        Phase::Resolving(host) => format!("{host} did not resolve within {limit} ms"),
        Phase::Connecting(target) => format!("no connection to {target} within {limit} ms"),
        Phase::Handshaking(host) => {
            format!("TLS handshake with {host} not finished within {limit} ms")
        }
        Phase::AwaitingHead => format!("no response headers within {limit} ms"),
        Phase::ReadingBody => format!(
            "HTTP {} received, but not the whole body within {limit} ms",
            progress.status.unwrap_or_default()
        ),
    };
    if progress.redirects > 0 {
        report.message.push_str(&format!(
            " (after {} redirect{})",
            progress.redirects,
            plural(progress.redirects)
        ));
    }
    report
}

/// Judges the final answer: status, then assertions in order, then latency.
fn judge(plan: &Plan, answer: &Answer, timings: Timings) -> ProbeReport {
    let status_line = answer.status_line();
    let code = answer.status.as_u16();
    if !plan.expected.iter().any(|range| range.contains(code)) {
        return ProbeReport::down(
            ErrorClass::Status,
            format!("{status_line}, expected {}", plan.expected_text()),
            timings,
        );
    }

    let text = String::from_utf8_lossy(&answer.body);
    for check in &plan.checks {
        if let Err(problem) = assert_body(check, &text, answer) {
            return ProbeReport::down(ErrorClass::Assertion, problem, timings);
        }
    }

    let total = timings.total_ms.round();
    match plan.degraded_after_ms {
        Some(limit) if timings.total_ms > limit as f64 => ProbeReport {
            outcome: Outcome::Degraded,
            message: format!("slow: {total} ms > {limit} ms ({status_line})"),
            ..ProbeReport::up("", timings)
        },
        _ => ProbeReport::up(format!("{status_line} in {total} ms"), timings),
    }
}

/// Runs one assertion against the body, or says what was seen instead.
fn assert_body(check: &Check, text: &str, answer: &Answer) -> Result<(), String> {
    let scope = if answer.truncated {
        format!(
            " (only the first {} MiB was read)",
            BODY_LIMIT / (1024 * 1024)
        )
    } else {
        String::new()
    };
    match check {
        Check::Contains(value) => {
            if text.contains(value.as_str()) {
                Ok(())
            } else {
                Err(format!(
                    "body does not contain {value:?}{scope}; it starts with {}",
                    snippet(text)
                ))
            }
        }
        Check::NotContains(value) => match text.find(value.as_str()) {
            None => Ok(()),
            Some(at) => Err(format!(
                "body contains {value:?} at byte {at}: {}",
                snippet(&text[at..])
            )),
        },
        Check::Matches(regex) => {
            if regex.is_match(text) {
                Ok(())
            } else {
                Err(format!(
                    "body does not match /{}/{scope}; it starts with {}",
                    regex.as_str(),
                    snippet(text)
                ))
            }
        }
        Check::Pointer { pointer, equals } => {
            if answer.truncated {
                return Err(format!(
                    "body is larger than {} MiB, too large to check {pointer:?} as JSON",
                    BODY_LIMIT / (1024 * 1024)
                ));
            }
            let document: serde_json::Value = serde_json::from_slice(&answer.body)
                .map_err(|err| {
                    format!(
                        "body is not valid JSON ({err}), so {pointer:?} cannot be checked; it starts with {}",
                        snippet(text)
                    )
                })?;
            match document.pointer(pointer) {
                None => Err(format!("JSON body has no value at {pointer:?}")),
                Some(found) if json_equal(found, equals) => Ok(()),
                Some(found) => Err(format!(
                    "JSON value at {pointer:?} is {}, expected {}",
                    short_json(found),
                    short_json(equals)
                )),
            }
        }
    }
}

/// JSON equality where numbers compare by value, so `1` equals `1.0`.
fn json_equal(found: &serde_json::Value, expected: &serde_json::Value) -> bool {
    match (found, expected) {
        (serde_json::Value::Number(a), serde_json::Value::Number(b))
            if a.is_f64() || b.is_f64() =>
        {
            a.as_f64() == b.as_f64()
        }
        _ => found == expected,
    }
}

/// A JSON value for a message, cut short if long.
fn short_json(value: &serde_json::Value) -> String {
    const SHOWN: usize = 80;
    let text = value.to_string();
    if text.chars().count() > SHOWN {
        format!("{}...", text.chars().take(SHOWN).collect::<String>())
    } else {
        text
    }
}

/// The start of a body, quoted, with runs of white space folded so it fits on one line.
fn snippet(text: &str) -> String {
    const SHOWN: usize = 60;
    let folded = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if folded.is_empty() {
        return "nothing (an empty body)".to_string();
    }
    let shown: String = folded.chars().take(SHOWN).collect();
    if folded.chars().count() > SHOWN {
        format!("{shown:?}...")
    } else {
        format!("{shown:?}")
    }
}

/// A multi-line error text (the regex crate's) on one line.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn plural(count: u32) -> &'static str {
    if count == 1 {
        ""
    } else {
        "s"
    }
}

/// The status codes the probe follows, with `Location`.
fn is_redirect(status: StatusCode) -> bool {
    matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308)
}

/// The request and the redirects it leads to; returns the final answer.
async fn run(
    plan: &Plan,
    deadline: Option<Instant>,
    progress: &mut Progress,
) -> Result<Answer, Failure> {
    let mut url = plan.url.clone();
    let mut method = plan.method.clone();
    let mut headers = plan.headers.clone();
    let mut body = plan.body.clone();
    let mut visited = vec![url.clone()];
    let mut loop_at: Option<Url> = None;
    let follow = plan.max_redirects > 0;

    loop {
        let request = build_request(&url, &method, &headers, body.clone())?;
        let answer = exchange(&url, request, plan.verify_tls, follow, deadline, progress).await?;
        let location = match &answer.location {
            Some(location) if follow && is_redirect(answer.status) => location,
            // A 3xx without a Location cannot be followed: it is the answer.
            _ => return Ok(answer),
        };

        let status_line = answer.status_line();
        let next = url.join(location).map_err(|err| {
            Failure::new(
                ErrorClass::Protocol,
                format!("{status_line} redirect to an invalid Location {location:?}: {err}"),
            )
        })?;
        usable_url(&next).map_err(|problem| {
            Failure::new(
                ErrorClass::Protocol,
                format!("{status_line} redirect to {next} cannot be followed: {problem}"),
            )
        })?;
        if visited.contains(&next) && loop_at.is_none() {
            loop_at = Some(next.clone());
        }
        if progress.redirects >= plan.max_redirects {
            let mut message = format!(
                "more than {} redirect{} (the last, {status_line}, to {next})",
                plan.max_redirects,
                plural(plan.max_redirects)
            );
            if let Some(loop_at) = &loop_at {
                message.push_str(&format!("; a redirect loop: {loop_at} came up twice"));
            }
            return Err(Failure::new(ErrorClass::Protocol, message));
        }
        progress.redirects += 1;

        // As browsers do, a 303 turns the request into a GET without a body; 301, 302, 307
        // and 308 repeat the request as it was.
        if answer.status == StatusCode::SEE_OTHER && method != Method::HEAD {
            method = Method::GET;
            body = None;
            headers.remove(header::CONTENT_TYPE);
        }
        if next.origin() != url.origin() {
            // Credentials and a configured Host belong to the origin they were set for; they
            // must not leak to wherever a redirect points.
            for name in [
                header::AUTHORIZATION,
                header::PROXY_AUTHORIZATION,
                header::COOKIE,
                header::HOST,
            ] {
                headers.remove(name);
            }
        }
        visited.push(next.clone());
        url = next;
    }
}

/// The request for `url`, with the probe's headers added to the check's.
fn build_request(
    url: &Url,
    method: &Method,
    headers: &HeaderMap,
    body: Option<Bytes>,
) -> Result<Request<Full<Bytes>>, Failure> {
    let target = &url[Position::BeforePath..Position::AfterQuery];
    let target = if target.is_empty() { "/" } else { target };
    let mut request = Request::builder()
        .method(method.clone())
        .uri(target)
        .body(Full::new(body.clone().unwrap_or_default()))
        .map_err(|err| {
            Failure::new(
                ErrorClass::Config,
                format!("cannot request {url}: the path is not valid in a request ({err})"),
            )
        })?;
    *request.headers_mut() = headers.clone();
    let request_headers = request.headers_mut();
    if !request_headers.contains_key(header::HOST) {
        let host = url.host_str().unwrap_or_default();
        let host = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        };
        let value = HeaderValue::from_str(&host).map_err(|_| {
            Failure::new(
                ErrorClass::Config,
                format!("cannot request {url}: the host {host:?} cannot be sent as a header"),
            )
        })?;
        request_headers.insert(header::HOST, value);
    }
    if !request_headers.contains_key(header::USER_AGENT) {
        request_headers.insert(header::USER_AGENT, HeaderValue::from_static(USER_AGENT));
    }
    // One request per connection: the probe measures a fresh connection every time.
    request_headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    if let Some(body) = &body {
        request_headers.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    }
    Ok(request)
}

/// One hop: resolve, connect, TLS if https, send the request, read the answer. The body is
/// not read when the answer is a redirect that will be followed.
async fn exchange(
    url: &Url,
    request: Request<Full<Bytes>>,
    verify_tls: bool,
    follow: bool,
    deadline: Option<Instant>,
    progress: &mut Progress,
) -> Result<Answer, Failure> {
    // A status seen on an earlier hop says nothing about this one.
    progress.status = None;
    let port = url.port_or_known_default().unwrap_or(80);
    let host = url
        .host()
        .ok_or_else(|| Failure::new(ErrorClass::Config, format!("{url} has no host")))?;
    let (addrs, ip) = match host {
        url::Host::Domain(name) => {
            progress.phase = Phase::Resolving(name.to_string());
            let lookup_started = Instant::now();
            let addrs = resolve::lookup(name, port).await;
            add_phase(&mut progress.timings.dns_ms, lookup_started.elapsed());
            (
                addrs.map_err(|message| Failure::new(ErrorClass::Dns, message))?,
                None,
            )
        }
        url::Host::Ipv4(ip) => (vec![SocketAddr::new(ip.into(), port)], Some(IpAddr::V4(ip))),
        url::Host::Ipv6(ip) => (vec![SocketAddr::new(ip.into(), port)], Some(IpAddr::V6(ip))),
    };
    let host_text = url.host_str().unwrap_or_default().to_string();
    let target = format!("{host_text}:{port}");

    progress.phase = Phase::Connecting(target.clone());
    let connect_started = Instant::now();
    let (stream, address) = connect_in_order(&target, &addrs, deadline)
        .await
        .map_err(|message| Failure::new(ErrorClass::Connect, message))?;
    add_phase(&mut progress.timings.connect_ms, connect_started.elapsed());
    progress.address = Some(address);

    if url.scheme() != "https" {
        return http_exchange(stream, request, url, follow, progress).await;
    }

    progress.phase = Phase::Handshaking(host_text.clone());
    let handshake_started = Instant::now();
    let config =
        tls_config(verify_tls).map_err(|message| Failure::new(ErrorClass::Tls, message))?;
    let server_name = match ip {
        Some(ip) => ServerName::from(ip),
        None => ServerName::try_from(host_text.clone()).map_err(|err| {
            Failure::new(
                ErrorClass::Tls,
                format!("{host_text:?} cannot be used as a TLS server name: {err}"),
            )
        })?,
    };
    let stream = TlsConnector::from(config)
        .connect(server_name, stream)
        .await
        .map_err(|err| {
            Failure::new(
                ErrorClass::Tls,
                format!("TLS handshake with {host_text} failed: {err}"),
            )
        })?;
    add_phase(&mut progress.timings.tls_ms, handshake_started.elapsed());
    http_exchange(stream, request, url, follow, progress).await
}

/// Sends the request over an open connection and reads the answer.
///
/// hyper's connection future does the reading and writing; it is polled here, beside the
/// request, rather than spawned, so nothing outlives the check when its timeout drops it.
async fn http_exchange<IO>(
    io: IO,
    request: Request<Full<Bytes>>,
    url: &Url,
    follow: bool,
    progress: &mut Progress,
) -> Result<Answer, Failure>
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::Builder::new()
        // Some embedded servers and old appliances only recognise canonical header case.
        .title_case_headers(true)
        .handshake::<_, Full<Bytes>>(TokioIo::new(io))
        .await
        .map_err(|err| {
            Failure::new(
                ErrorClass::Protocol,
                format!("HTTP setup failed: {}", error_chain(&err)),
            )
        })?;
    let method_is_head = request.method() == Method::HEAD;

    let work = async {
        progress.phase = Phase::AwaitingHead;
        let sent = Instant::now();
        let response = sender
            .send_request(request)
            .await
            .map_err(|err| (Stage::Head, err))?;
        add_phase(&mut progress.timings.first_byte_ms, sent.elapsed());
        let status = response.status();
        progress.status = Some(status.as_u16());
        let reason = response
            .extensions()
            .get::<hyper::ext::ReasonPhrase>()
            // A reason phrase is free text; a long one would drown the report's message.
            .map(|reason| {
                String::from_utf8_lossy(reason.as_bytes())
                    .chars()
                    .take(60)
                    .collect()
            });
        let location = response
            .headers()
            .get(header::LOCATION)
            .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
        let mut answer = Answer {
            status,
            reason,
            location,
            body: Vec::new(),
            truncated: false,
            url: url.clone(),
        };
        if (follow && is_redirect(status) && answer.location.is_some()) || method_is_head {
            return Ok(answer);
        }

        progress.phase = Phase::ReadingBody;
        let mut body = response.into_body();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|err| (Stage::Body(answer.body.len()), err))?;
            let Ok(data) = frame.into_data() else {
                continue;
            };
            let room = BODY_LIMIT - answer.body.len();
            if data.len() > room {
                answer.body.extend_from_slice(&data[..room]);
                answer.truncated = true;
                break;
            }
            answer.body.extend_from_slice(&data);
        }
        Ok(answer)
    };

    let mut connection = std::pin::pin!(connection);
    let mut work = std::pin::pin!(work);
    let mut connection_error = None;
    let mut connection_done = false;
    let result = loop {
        tokio::select! {
            result = &mut work => break result,
            outcome = &mut connection, if !connection_done => {
                connection_done = true;
                connection_error = outcome.err();
            }
        }
    };
    result.map_err(|(stage, err)| {
        // When the connection fails on its own, the request only learns that it was
        // cancelled; the connection's error says what happened.
        let err = match connection_error {
            Some(connection_err) if err.is_canceled() => connection_err,
            _ => err,
        };
        classify(stage, &err)
    })
}

/// Where in the exchange an error happened.
#[derive(Clone, Copy, Debug)]
enum Stage {
    Head,
    /// Reading the body, after this many bytes.
    Body(usize),
}

/// The class and message of an HTTP-level error.
fn classify(stage: Stage, err: &hyper::Error) -> Failure {
    let detail = error_chain(err);
    if err.is_parse() || err.is_parse_status() || err.is_parse_too_large() {
        return Failure::new(
            ErrorClass::Protocol,
            format!("malformed HTTP response: {detail}"),
        );
    }
    let io_error = std::error::Error::source(err)
        .and_then(|source| source.downcast_ref::<std::io::Error>())
        .is_some();
    match stage {
        Stage::Head if err.is_incomplete_message() => Failure::new(
            ErrorClass::Protocol,
            "the server closed the connection without sending a response",
        ),
        Stage::Head if io_error => Failure::new(
            ErrorClass::Connect,
            format!("connection lost while waiting for the response: {detail}"),
        ),
        Stage::Head => Failure::new(ErrorClass::Protocol, format!("no valid response: {detail}")),
        Stage::Body(read) => Failure::new(
            ErrorClass::Protocol,
            format!("the body broke off after {read} bytes: {detail}"),
        ),
    }
}

/// An error and its sources on one line, without repeating a source's own text.
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![err.to_string()];
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if parts.last() != Some(&text) {
            parts.push(text);
        }
        source = cause.source();
    }
    parts.join(": ")
}

/// The TLS client settings, built once per process for each `verify_tls` value.
fn tls_config(verify: bool) -> Result<Arc<ClientConfig>, String> {
    static VERIFYING: OnceLock<Result<Arc<ClientConfig>, String>> = OnceLock::new();
    static ACCEPTING_ANY: OnceLock<Result<Arc<ClientConfig>, String>> = OnceLock::new();
    let cell = if verify { &VERIFYING } else { &ACCEPTING_ANY };
    cell.get_or_init(|| build_tls_config(verify)).clone()
}

fn build_tls_config(verify: bool) -> Result<Arc<ClientConfig>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|err| format!("the TLS client could not be set up: {err}"))?;
    let mut config = if verify {
        let roots: RootCertStore = webpki_roots::TLS_SERVER_ROOTS.iter().cloned().collect();
        builder.with_root_certificates(roots).with_no_client_auth()
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate::new(&provider)))
            .with_no_client_auth()
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::extract::{Query, State};
    use axum::http::HeaderMap as AxumHeaders;
    use axum::response::{IntoResponse, Response};
    use axum::routing::{any, get, post};
    use axum::{Json, Router};
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicU16, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// The test server: `flip` is the status `/flip` answers with, for tests that change the
    /// server's behaviour between checks.
    struct TestServer {
        base: String,
        port: u16,
        flip: Arc<AtomicU16>,
    }

    fn redirect(status: StatusCode, location: &str) -> Response {
        (status, [(header::LOCATION, location.to_string())]).into_response()
    }

    async fn echo(method: Method, headers: AxumHeaders, body: String) -> Json<serde_json::Value> {
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|value| value.to_str().ok())
                .map(str::to_string)
        };
        Json(serde_json::json!({
            "method": method.as_str(),
            "body": body,
            "user_agent": header("user-agent"),
            "x_test": header("x-test"),
            "content_length": header("content-length"),
            "connection": header("connection"),
            "host": header("host"),
            "authorization": header("authorization"),
        }))
    }

    async fn spawn_server() -> TestServer {
        let flip = Arc::new(AtomicU16::new(200));
        let app = Router::new()
            .route("/ok", get(|| async { "hello from pharos" }))
            .route(
                "/flip",
                get(|State(flip): State<Arc<AtomicU16>>| async move {
                    let status = StatusCode::from_u16(flip.load(Ordering::SeqCst))
                        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                    (status, "flipped")
                }),
            )
            .route(
                "/fail",
                get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "boom") }),
            )
            .route(
                "/slow",
                get(|| async {
                    // The server's own slowness is the behaviour under test, not a wait.
                    tokio::time::sleep(Duration::from_millis(150)).await;
                    "slow hello"
                }),
            )
            .route("/hang", get(std::future::pending::<&'static str>))
            .route(
                "/json",
                get(|| async {
                    Json(serde_json::json!({
                        "status": "ok",
                        "version": 3,
                        "checks": [{"name": "db", "ok": true}]
                    }))
                }),
            )
            .route(
                "/big",
                get(|| async {
                    let mut body = "a".repeat(2 * BODY_LIMIT);
                    body.push_str("needle");
                    body
                }),
            )
            .route(
                "/chain/a",
                get(|| async { redirect(StatusCode::MOVED_PERMANENTLY, "/chain/b") }),
            )
            // A relative reference, resolved against /chain/b.
            .route(
                "/chain/b",
                get(|| async { redirect(StatusCode::FOUND, "c") }),
            )
            .route(
                "/chain/c",
                get(|headers: AxumHeaders| async move {
                    let host = headers
                        .get(header::HOST)
                        .and_then(|value| value.to_str().ok())
                        .unwrap_or_default()
                        .to_string();
                    redirect(StatusCode::TEMPORARY_REDIRECT, &format!("http://{host}/ok"))
                }),
            )
            .route(
                "/loop",
                get(|| async { redirect(StatusCode::FOUND, "/loop") }),
            )
            .route("/nowhere", get(|| async { StatusCode::FOUND }))
            .route(
                "/ftp",
                get(|| async { redirect(StatusCode::FOUND, "ftp://files.example/") }),
            )
            .route(
                "/go",
                get(|Query(query): Query<HashMap<String, String>>| async move {
                    redirect(
                        StatusCode::FOUND,
                        query.get("to").map(String::as_str).unwrap_or("/"),
                    )
                }),
            )
            .route(
                "/see-other",
                post(|| async { redirect(StatusCode::SEE_OTHER, "/echo") }),
            )
            .route(
                "/temporary",
                post(|| async { redirect(StatusCode::TEMPORARY_REDIRECT, "/echo") }),
            )
            .route("/echo", any(echo))
            .with_state(flip.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move { axum::serve(listener, app).await });
        TestServer {
            base: format!("http://127.0.0.1:{port}"),
            port,
            flip,
        }
    }

    /// Reads a request head from a raw connection, so a raw server answers after it.
    async fn read_head<S: AsyncRead + Unpin>(stream: &mut S) -> Vec<u8> {
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            match stream.read(&mut byte).await {
                Ok(1) => head.push(byte[0]),
                _ => break,
            }
        }
        head
    }

    /// A raw server that answers every request with `answer` and, unless `hold` is set,
    /// closes the connection.
    async fn raw_server(answer: &'static [u8], hold: bool) -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((mut stream, _)) = listener.accept().await {
                read_head(&mut stream).await;
                let _ = stream.write_all(answer).await;
                if hold {
                    held.push(stream);
                }
            }
        });
        port
    }

    /// An HTTPS server with a self-signed certificate for `localhost` and `127.0.0.1`.
    async fn tls_server() -> u16 {
        let certified = rcgen::generate_simple_self_signed(vec![
            "localhost".to_string(),
            "127.0.0.1".to_string(),
        ])
        .unwrap();
        let key =
            rustls::pki_types::PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into());
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![certified.cert.der().clone()], key)
        .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(mut stream) = acceptor.accept(stream).await else {
                        return;
                    };
                    read_head(&mut stream).await;
                    let _ = stream
                        .write_all(
                            b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\nConnection: close\r\n\r\nsecure ok",
                        )
                        .await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        port
    }

    async fn refused_port() -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap().port()
    }

    const LONG: Duration = Duration::from_secs(10);

    fn with_assertions(url: String, assertions: Vec<Assertion>) -> HttpCheck {
        HttpCheck {
            assertions,
            ..HttpCheck::get(url)
        }
    }

    fn pointer(pointer: &str, equals: serde_json::Value) -> Assertion {
        Assertion::JsonPointer {
            pointer: pointer.to_string(),
            equals,
        }
    }

    #[tokio::test]
    async fn a_200_is_up_with_its_phases_timed() {
        let server = spawn_server().await;
        let report = probe(&HttpCheck::get(format!("{}/ok", server.base)), LONG).await;
        assert_eq!(report.outcome, Outcome::Up, "{report:?}");
        assert_eq!(report.error, None);
        assert_eq!(report.status_code, Some(200));
        assert!(
            report.message.starts_with("HTTP 200 OK in "),
            "{}",
            report.message
        );
        assert!(
            report.timings.dns_ms.is_none(),
            "no lookup for an IP address"
        );
        assert!(report.timings.tls_ms.is_none(), "no TLS for http");
        assert!(report.timings.connect_ms.is_some());
        assert!(report.timings.first_byte_ms.is_some());
        assert!(report.timings.total_ms >= report.timings.first_byte_ms.unwrap_or(0.0));
        assert_eq!(
            report.details["address"],
            format!("127.0.0.1:{}", server.port)
        );
        assert_eq!(report.details["body_bytes"], "hello from pharos".len());
    }

    #[tokio::test]
    async fn the_status_follows_the_server() {
        let server = spawn_server().await;
        let check = HttpCheck::get(format!("{}/flip", server.base));
        assert_eq!(probe(&check, LONG).await.outcome, Outcome::Up);

        server.flip.store(503, Ordering::SeqCst);
        let report = probe(&check, LONG).await;
        assert_eq!(report.error, Some(ErrorClass::Status), "{report:?}");
        assert_eq!(report.status_code, Some(503));
        assert_eq!(
            report.message,
            "HTTP 503 Service Unavailable, expected 200-299"
        );

        let report = probe(
            &HttpCheck {
                expected_status: vec!["200".to_string(), "5xx".to_string()],
                ..check.clone()
            },
            LONG,
        )
        .await;
        assert_eq!(report.outcome, Outcome::Up, "{report:?}");

        server.flip.store(200, Ordering::SeqCst);
        assert_eq!(probe(&check, LONG).await.outcome, Outcome::Up);

        let report = probe(&HttpCheck::get(format!("{}/fail", server.base)), LONG).await;
        assert_eq!(
            report.message,
            "HTTP 500 Internal Server Error, expected 200-299"
        );
    }

    #[tokio::test]
    async fn a_host_name_is_resolved_and_timed() {
        let server = spawn_server().await;
        let report = probe(
            &HttpCheck::get(format!("http://localhost:{}/ok", server.port)),
            LONG,
        )
        .await;
        assert_eq!(report.outcome, Outcome::Up, "{report:?}");
        assert!(report.timings.dns_ms.is_some());
    }

    #[tokio::test]
    async fn an_unknown_name_is_a_dns_failure() {
        let report = probe(
            &HttpCheck::get("http://pharos-probe-test.invalid/"),
            Duration::from_secs(3),
        )
        .await;
        // An offline resolver may take the whole timeout to give up instead of answering.
        match report.error {
            Some(ErrorClass::Dns) => {
                assert!(report.message.contains("pharos-probe-test.invalid"))
            }
            Some(ErrorClass::Timeout) => {
                assert!(report.message.contains("did not resolve"), "{report:?}")
            }
            other => panic!("expected a DNS failure, got {other:?}: {report:?}"),
        }
    }

    #[tokio::test]
    async fn a_slow_answer_is_degraded() {
        let server = spawn_server().await;
        let check = HttpCheck {
            degraded_after_ms: Some(20),
            ..HttpCheck::get(format!("{}/slow", server.base))
        };
        let report = probe(&check, LONG).await;
        assert_eq!(report.outcome, Outcome::Degraded, "{report:?}");
        assert_eq!(report.error, None);
        assert!(report.message.starts_with("slow: "), "{}", report.message);
        assert!(
            report.message.ends_with("> 20 ms (HTTP 200 OK)"),
            "{}",
            report.message
        );

        let relaxed = HttpCheck {
            degraded_after_ms: Some(60_000),
            ..check
        };
        assert_eq!(probe(&relaxed, LONG).await.outcome, Outcome::Up);
    }

    #[tokio::test]
    async fn a_hanging_server_times_out_waiting_for_headers() {
        let server = spawn_server().await;
        let timeout = Duration::from_millis(300);
        let started = Instant::now();
        let report = probe(&HttpCheck::get(format!("{}/hang", server.base)), timeout).await;
        assert!(started.elapsed() < timeout * 15, "{:?}", started.elapsed());
        assert_eq!(report.error, Some(ErrorClass::Timeout), "{report:?}");
        assert_eq!(report.message, "no response headers within 300 ms");
        assert!(
            report.timings.connect_ms.is_some(),
            "finished phases are kept"
        );
        assert!(report.timings.first_byte_ms.is_none());
    }

    #[tokio::test]
    async fn a_body_that_never_ends_times_out_after_the_headers() {
        let port = raw_server(
            b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly a part",
            true,
        )
        .await;
        let report = probe(
            &HttpCheck::get(format!("http://127.0.0.1:{port}/")),
            Duration::from_millis(300),
        )
        .await;
        assert_eq!(report.error, Some(ErrorClass::Timeout), "{report:?}");
        assert_eq!(report.status_code, Some(200));
        assert!(
            report.message.contains("not the whole body"),
            "{}",
            report.message
        );
        assert!(report.timings.first_byte_ms.is_some());
    }

    #[tokio::test]
    async fn body_assertions_report_what_they_saw() {
        let server = spawn_server().await;
        let ok = format!("{}/ok", server.base);
        let contains = |value: &str| Assertion::BodyContains {
            value: value.to_string(),
        };

        let passing = with_assertions(
            ok.clone(),
            vec![
                contains("from pharos"),
                Assertion::BodyNotContains {
                    value: "error".to_string(),
                },
                Assertion::BodyMatches {
                    pattern: r"^hello \w+ pharos$".to_string(),
                },
            ],
        );
        let report = probe(&passing, LONG).await;
        assert_eq!(report.outcome, Outcome::Up, "{report:?}");

        let report = probe(
            &with_assertions(ok.clone(), vec![contains("goodbye")]),
            LONG,
        )
        .await;
        assert_eq!(report.error, Some(ErrorClass::Assertion));
        assert_eq!(
            report.message,
            "body does not contain \"goodbye\"; it starts with \"hello from pharos\""
        );

        let report = probe(
            &with_assertions(
                ok.clone(),
                vec![Assertion::BodyNotContains {
                    value: "pharos".to_string(),
                }],
            ),
            LONG,
        )
        .await;
        assert_eq!(
            report.message,
            "body contains \"pharos\" at byte 11: \"pharos\""
        );

        let report = probe(
            &with_assertions(
                ok,
                vec![Assertion::BodyMatches {
                    pattern: "^[0-9]+$".to_string(),
                }],
            ),
            LONG,
        )
        .await;
        assert_eq!(report.error, Some(ErrorClass::Assertion));
        assert!(report.message.starts_with("body does not match /^[0-9]+$/"));
    }

    #[tokio::test]
    async fn json_pointers_compare_values() {
        let server = spawn_server().await;
        let json = format!("{}/json", server.base);

        let passing = with_assertions(
            json.clone(),
            vec![
                pointer("/status", "ok".into()),
                // A number compares by value: 3 and 3.0 are equal.
                pointer("/version", serde_json::json!(3.0)),
                pointer("/checks/0/ok", true.into()),
            ],
        );
        let report = probe(&passing, LONG).await;
        assert_eq!(report.outcome, Outcome::Up, "{report:?}");

        let report = probe(
            &with_assertions(json.clone(), vec![pointer("/status", "degraded".into())]),
            LONG,
        )
        .await;
        assert_eq!(report.error, Some(ErrorClass::Assertion));
        assert_eq!(
            report.message,
            "JSON value at \"/status\" is \"ok\", expected \"degraded\""
        );

        let report = probe(
            &with_assertions(json, vec![pointer("/checks/1/ok", true.into())]),
            LONG,
        )
        .await;
        assert_eq!(report.message, "JSON body has no value at \"/checks/1/ok\"");

        let report = probe(
            &with_assertions(
                format!("{}/ok", server.base),
                vec![pointer("/status", "ok".into())],
            ),
            LONG,
        )
        .await;
        assert_eq!(report.error, Some(ErrorClass::Assertion));
        assert!(
            report.message.starts_with("body is not valid JSON"),
            "{}",
            report.message
        );
    }

    #[tokio::test]
    async fn only_the_first_mebibyte_is_read() {
        let server = spawn_server().await;
        let report = probe(
            &with_assertions(
                format!("{}/big", server.base),
                vec![Assertion::BodyContains {
                    value: "needle".to_string(),
                }],
            ),
            LONG,
        )
        .await;
        assert_eq!(report.error, Some(ErrorClass::Assertion), "{report:?}");
        assert!(
            report.message.contains("only the first 1 MiB was read"),
            "{}",
            report.message
        );
        assert_eq!(report.details["body_bytes"], BODY_LIMIT);
        assert_eq!(report.details["body_truncated"], true);
    }

    #[tokio::test]
    async fn a_redirect_chain_is_followed_to_its_end() {
        let server = spawn_server().await;
        let report = probe(&HttpCheck::get(format!("{}/chain/a", server.base)), LONG).await;
        assert_eq!(report.outcome, Outcome::Up, "{report:?}");
        assert_eq!(report.status_code, Some(200));
        assert_eq!(report.details["redirects"], 3);
        assert_eq!(report.details["final_url"], format!("{}/ok", server.base));

        let limited = HttpCheck {
            max_redirects: 2,
            ..HttpCheck::get(format!("{}/chain/a", server.base))
        };
        let report = probe(&limited, LONG).await;
        assert_eq!(report.error, Some(ErrorClass::Protocol), "{report:?}");
        assert!(
            report.message.starts_with("more than 2 redirects"),
            "{}",
            report.message
        );
    }

    #[tokio::test]
    async fn a_redirect_loop_is_a_protocol_failure() {
        let server = spawn_server().await;
        let report = probe(&HttpCheck::get(format!("{}/loop", server.base)), LONG).await;
        assert_eq!(report.error, Some(ErrorClass::Protocol), "{report:?}");
        assert!(
            report.message.starts_with("more than 10 redirects"),
            "{}",
            report.message
        );
        assert!(
            report.message.contains("redirect loop"),
            "{}",
            report.message
        );
    }

    #[tokio::test]
    async fn without_following_the_redirect_is_the_answer() {
        let server = spawn_server().await;
        let check = HttpCheck {
            max_redirects: 0,
            ..HttpCheck::get(format!("{}/chain/a", server.base))
        };
        let report = probe(&check, LONG).await;
        assert_eq!(report.error, Some(ErrorClass::Status), "{report:?}");
        assert_eq!(report.status_code, Some(301));
        assert_eq!(
            report.message,
            "HTTP 301 Moved Permanently, expected 200-299"
        );

        let report = probe(
            &HttpCheck {
                expected_status: vec!["3xx".to_string()],
                ..check
            },
            LONG,
        )
        .await;
        assert_eq!(report.outcome, Outcome::Up, "{report:?}");

        // A redirect without a Location cannot be followed, so it is the answer too.
        let report = probe(&HttpCheck::get(format!("{}/nowhere", server.base)), LONG).await;
        assert_eq!(report.error, Some(ErrorClass::Status), "{report:?}");
        assert_eq!(report.status_code, Some(302));
    }

    #[tokio::test]
    async fn a_redirect_to_another_scheme_is_a_protocol_failure() {
        let server = spawn_server().await;
        let report = probe(&HttpCheck::get(format!("{}/ftp", server.base)), LONG).await;
        assert_eq!(report.error, Some(ErrorClass::Protocol), "{report:?}");
        assert!(
            report.message.contains("ftp://files.example/"),
            "{}",
            report.message
        );
    }

    #[tokio::test]
    async fn a_post_sends_its_body_and_headers() {
        let server = spawn_server().await;
        let check = HttpCheck {
            method: "post".to_string(),
            headers: BTreeMap::from([("X-Test".to_string(), "yes".to_string())]),
            body: Some("ping=1".to_string()),
            assertions: vec![
                pointer("/method", "POST".into()),
                pointer("/body", "ping=1".into()),
                pointer("/x_test", "yes".into()),
                pointer("/content_length", "6".into()),
                pointer("/connection", "close".into()),
                pointer("/user_agent", USER_AGENT.into()),
                pointer("/host", format!("127.0.0.1:{}", server.port).into()),
            ],
            ..HttpCheck::get(format!("{}/echo", server.base))
        };
        let report = probe(&check, LONG).await;
        assert_eq!(report.outcome, Outcome::Up, "{report:?}");

        let own_agent = HttpCheck {
            headers: BTreeMap::from([("User-Agent".to_string(), "probe/1".to_string())]),
            assertions: vec![pointer("/user_agent", "probe/1".into())],
            ..HttpCheck::get(format!("{}/echo", server.base))
        };
        let report = probe(&own_agent, LONG).await;
        assert_eq!(report.outcome, Outcome::Up, "{report:?}");
    }

    #[tokio::test]
    async fn a_303_turns_into_a_get_and_a_307_keeps_the_post() {
        let server = spawn_server().await;
        let post = |path: &str, assertions| HttpCheck {
            method: "POST".to_string(),
            body: Some("payload".to_string()),
            assertions,
            ..HttpCheck::get(format!("{}{path}", server.base))
        };
        let report = probe(
            &post(
                "/see-other",
                vec![
                    pointer("/method", "GET".into()),
                    pointer("/body", "".into()),
                ],
            ),
            LONG,
        )
        .await;
        assert_eq!(report.outcome, Outcome::Up, "{report:?}");

        let report = probe(
            &post(
                "/temporary",
                vec![
                    pointer("/method", "POST".into()),
                    pointer("/body", "payload".into()),
                ],
            ),
            LONG,
        )
        .await;
        assert_eq!(report.outcome, Outcome::Up, "{report:?}");
    }

    #[tokio::test]
    async fn credentials_do_not_follow_a_redirect_to_another_origin() {
        let first = spawn_server().await;
        let second = spawn_server().await;
        let check = |url: String| HttpCheck {
            headers: BTreeMap::from([("Authorization".to_string(), "Bearer secret".to_string())]),
            ..HttpCheck::get(url)
        };
        let same_origin = HttpCheck {
            assertions: vec![pointer("/authorization", "Bearer secret".into())],
            ..check(format!("{}/go?to=/echo", first.base))
        };
        let report = probe(&same_origin, LONG).await;
        assert_eq!(report.outcome, Outcome::Up, "{report:?}");

        let other_origin = HttpCheck {
            assertions: vec![pointer("/authorization", serde_json::Value::Null)],
            ..check(format!("{}/go?to={}/echo", first.base, second.base))
        };
        let report = probe(&other_origin, LONG).await;
        assert_eq!(report.outcome, Outcome::Up, "{report:?}");
    }

    #[tokio::test]
    async fn https_without_verification_accepts_a_self_signed_certificate() {
        let port = tls_server().await;
        for host in ["127.0.0.1", "localhost"] {
            let check = HttpCheck {
                verify_tls: false,
                assertions: vec![Assertion::BodyContains {
                    value: "secure ok".to_string(),
                }],
                ..HttpCheck::get(format!("https://{host}:{port}/"))
            };
            let report = probe(&check, LONG).await;
            assert_eq!(report.outcome, Outcome::Up, "{host}: {report:?}");
            assert!(report.timings.tls_ms.is_some());
        }
    }

    #[tokio::test]
    async fn https_with_verification_rejects_a_self_signed_certificate() {
        let port = tls_server().await;
        let report = probe(&HttpCheck::get(format!("https://127.0.0.1:{port}/")), LONG).await;
        assert_eq!(report.error, Some(ErrorClass::Tls), "{report:?}");
        assert!(
            report
                .message
                .starts_with("TLS handshake with 127.0.0.1 failed: invalid peer certificate"),
            "{}",
            report.message
        );
        assert!(report.timings.tls_ms.is_none());
        assert!(report.status_code.is_none());
    }

    #[tokio::test]
    async fn a_refused_port_is_a_connect_failure() {
        let port = refused_port().await;
        let report = probe(&HttpCheck::get(format!("http://127.0.0.1:{port}/")), LONG).await;
        assert_eq!(report.error, Some(ErrorClass::Connect), "{report:?}");
        assert!(
            report
                .message
                .starts_with(&format!("could not connect to 127.0.0.1:{port}: ")),
            "{}",
            report.message
        );
    }

    #[tokio::test]
    async fn malformed_answers_are_protocol_failures() {
        let port = raw_server(b"SPDY/9 banana\r\n\r\n", false).await;
        let report = probe(&HttpCheck::get(format!("http://127.0.0.1:{port}/")), LONG).await;
        assert_eq!(report.error, Some(ErrorClass::Protocol), "{report:?}");
        assert!(
            report.message.starts_with("malformed HTTP response"),
            "{}",
            report.message
        );

        let port = raw_server(b"", false).await;
        let report = probe(&HttpCheck::get(format!("http://127.0.0.1:{port}/")), LONG).await;
        assert_eq!(report.error, Some(ErrorClass::Protocol), "{report:?}");
        assert_eq!(
            report.message,
            "the server closed the connection without sending a response"
        );
    }

    #[tokio::test]
    async fn the_probe_can_run_on_another_task() {
        let server = spawn_server().await;
        let check = HttpCheck::get(format!("{}/ok", server.base));
        let report = tokio::spawn(async move { probe(&check, LONG).await })
            .await
            .unwrap();
        assert_eq!(report.outcome, Outcome::Up);
    }

    #[tokio::test]
    async fn an_invalid_check_is_a_config_failure() {
        let report = probe(&HttpCheck::get("ftp://files.example/"), LONG).await;
        assert_eq!(report.error, Some(ErrorClass::Config));
        assert!(
            report.message.starts_with("invalid HTTP check: url: "),
            "{}",
            report.message
        );
    }

    #[test]
    fn status_ranges_parse() {
        let range = |low, high| StatusRange { low, high };
        assert_eq!(StatusRange::parse("200"), Ok(range(200, 200)));
        assert_eq!(StatusRange::parse(" 201-204 "), Ok(range(201, 204)));
        assert_eq!(StatusRange::parse("3xx"), Ok(range(300, 399)));
        assert_eq!(StatusRange::parse("5XX"), Ok(range(500, 599)));
        for bad in [
            "", "abc", "99", "600", "204-201", "6xx", "x", "2x", "200-", "-5",
        ] {
            assert!(StatusRange::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(range(200, 299).to_string(), "200-299");
        assert_eq!(range(404, 404).to_string(), "404");
        assert!(range(200, 299).contains(204) && !range(200, 299).contains(301));
    }

    #[test]
    fn validation_reports_every_problem_by_field() {
        let check = HttpCheck {
            url: "gopher://example.com/".to_string(),
            method: "G ET".to_string(),
            headers: BTreeMap::from([
                ("Bad Name".to_string(), "x".to_string()),
                ("X-Ok".to_string(), "line\nbreak".to_string()),
                ("Content-Length".to_string(), "5".to_string()),
            ]),
            expected_status: vec!["2xx".to_string(), "20O".to_string()],
            assertions: vec![
                Assertion::BodyMatches {
                    pattern: "(unclosed".to_string(),
                },
                pointer("status", "ok".into()),
                Assertion::BodyContains {
                    value: String::new(),
                },
            ],
            degraded_after_ms: Some(0),
            max_redirects: 1000,
            ..HttpCheck::get("")
        };
        let problems = check.validate().unwrap_err();
        let fields: Vec<&str> = problems
            .iter()
            .map(|problem| problem.split(':').next().unwrap_or_default())
            .collect();
        assert_eq!(
            fields,
            [
                "url",
                "method",
                "headers",
                "headers",
                "headers",
                "expected_status",
                "assertions[0].pattern",
                "assertions[1].pointer",
                "assertions[2].value",
                "degraded_after_ms",
                "max_redirects",
            ],
            "{problems:#?}"
        );
        assert!(problems[5].contains("\"20O\""), "{}", problems[5]);

        assert!(HttpCheck::get("not a url").validate().unwrap_err()[0].starts_with("url: "));
        assert!(HttpCheck::get("https://user:pw@example.com/")
            .validate()
            .unwrap_err()[0]
            .contains("credentials"));
        assert!(HttpCheck::get("https://example.com/health?x=1")
            .validate()
            .is_ok());
        assert!(HttpCheck::get("http://[::1]:8080/").validate().is_ok());
    }

    #[test]
    fn settings_have_defaults_and_a_stable_shape() {
        let check: HttpCheck = serde_json::from_value(serde_json::json!({
            "url": "https://example.com/",
            "assertions": [
                {"type": "body_contains", "value": "ok"},
                {"type": "json_pointer", "pointer": "/status", "equals": "ok"}
            ]
        }))
        .unwrap();
        assert_eq!(check.method, "GET");
        assert_eq!(check.max_redirects, 10);
        assert!(check.verify_tls);
        assert!(check.expected_status.is_empty());
        assert_eq!(
            check.assertions[1],
            pointer("/status", serde_json::json!("ok"))
        );
        assert!(check.validate().is_ok());
    }

    #[tokio::test]
    async fn requests_keep_the_path_and_query() {
        // A raw server that echoes the request line back as the body.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let head = read_head(&mut stream).await;
                let line = String::from_utf8_lossy(&head)
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .to_string();
                let answer = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{line}",
                    line.len()
                );
                let _ = stream.write_all(answer.as_bytes()).await;
            }
        });
        let check = with_assertions(
            format!("http://127.0.0.1:{port}/a%20b/c?x=1&y=%2F#fragment"),
            vec![Assertion::BodyContains {
                value: "GET /a%20b/c?x=1&y=%2F HTTP/1.1".to_string(),
            }],
        );
        let report = probe(&check, LONG).await;
        assert_eq!(report.outcome, Outcome::Up, "{report:?}");
    }
}
