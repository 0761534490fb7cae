//! DNS probe: asks a resolver (the system's, or a server the check names) for one record set
//! of one name, and checks the answers against the values the check expects.
//!
//! It owns the check's settings ([`DnsCheck`]), how answers are written for people and how
//! expected values are compared with them. It must not cache anything between checks: every
//! probe builds a fresh resolver, so each check sees what the server says now. It asks over
//! UDP; retrying a truncated answer over TCP is left to hickory.

use super::{millis, ErrorClass, ProbeReport, Timings};
use hickory_resolver::config::{NameServerConfigGroup, ResolveHosts, ResolverConfig, ResolverOpts};
use hickory_resolver::lookup::Lookup;
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{Name, RData, RecordType};
use hickory_resolver::proto::ProtoErrorKind;
use hickory_resolver::{ResolveError, TokioResolver};
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};
use utoipa::ToSchema;

/// The port DNS servers listen on when the check names none.
const DEFAULT_PORT: u16 = 53;

/// The record types a DNS check can ask for. Written in upper case, as DNS tools do; the
/// lower-case spelling is accepted too.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum DnsRecordType {
    /// An IPv4 address.
    #[default]
    #[serde(alias = "a")]
    A,
    /// An IPv6 address.
    #[serde(alias = "aaaa")]
    Aaaa,
    /// An alias to another name.
    #[serde(alias = "cname")]
    Cname,
    /// A mail exchanger with its preference.
    #[serde(alias = "mx")]
    Mx,
    /// Free text (SPF, domain verification tokens...).
    #[serde(alias = "txt")]
    Txt,
    /// A name server of the zone.
    #[serde(alias = "ns")]
    Ns,
}

impl DnsRecordType {
    pub fn as_str(&self) -> &'static str {
        match self {
            DnsRecordType::A => "A",
            DnsRecordType::Aaaa => "AAAA",
            DnsRecordType::Cname => "CNAME",
            DnsRecordType::Mx => "MX",
            DnsRecordType::Txt => "TXT",
            DnsRecordType::Ns => "NS",
        }
    }

    fn record_type(self) -> RecordType {
        match self {
            DnsRecordType::A => RecordType::A,
            DnsRecordType::Aaaa => RecordType::AAAA,
            DnsRecordType::Cname => RecordType::CNAME,
            DnsRecordType::Mx => RecordType::MX,
            DnsRecordType::Txt => RecordType::TXT,
            DnsRecordType::Ns => RecordType::NS,
        }
    }
}

/// The settings of a DNS check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DnsCheck {
    /// The name to look up, e.g. `example.com`. It is always taken as fully qualified: no
    /// search domain of the machine running Pharos is ever appended.
    pub name: String,
    /// The record type to ask for; `A` when absent.
    #[serde(default)]
    pub record_type: DnsRecordType,
    /// Values that must all be among the answers. Names (CNAME, NS, MX) compare without
    /// regard to case or a trailing dot; addresses compare as addresses; an MX value is
    /// `"10 mail.example.com"` or just the exchange `"mail.example.com"`; TXT compares exactly.
    #[serde(default)]
    pub expected: Vec<String>,
    /// The IP address of the server to ask; the system's resolvers when absent.
    #[serde(default)]
    pub resolver: Option<String>,
    /// The server's port; 53 when absent.
    #[serde(default)]
    pub port: Option<u16>,
}

impl DnsCheck {
    /// Every problem with the settings, each as a sentence.
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let mut errors = Vec::new();
        if let Err(err) = query_name(&self.name) {
            errors.push(err);
        }
        if let Some(resolver) = &self.resolver {
            if let Err(err) = resolver_ip(resolver) {
                errors.push(err);
            }
        }
        if self.port == Some(0) {
            errors.push("port must be between 1 and 65535".to_string());
        }
        if self.port.is_some() && self.resolver.is_none() {
            errors.push(
                "port applies only with resolver: the system's resolvers use their own ports"
                    .to_string(),
            );
        }
        for value in &self.expected {
            if let Err(err) = Expected::parse(self.record_type, value) {
                errors.push(err);
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// The name as people write it: no trailing dot, no surrounding space.
    fn display_name(&self) -> &str {
        let name = self.name.trim();
        name.strip_suffix('.').unwrap_or(name)
    }
}

/// Runs one DNS check: asks for the record set and compares it with the expected values.
pub async fn probe(check: &DnsCheck, timeout: Duration) -> ProbeReport {
    let started = Instant::now();
    let plan = match Plan::new(check) {
        Ok(plan) => plan,
        Err(errors) => {
            return ProbeReport::down(
                ErrorClass::Config,
                format!("the DNS check cannot run: {}", errors.join("; ")),
                Timings::default(),
            )
        }
    };
    let (resolver, server) = match build_resolver(plan.server, timeout) {
        Ok(built) => built,
        Err(err) => {
            return ProbeReport::down(
                ErrorClass::Dns,
                format!("could not read the system's resolver configuration: {err}"),
                timings(started),
            )
        }
    };
    let rtype = check.record_type;
    let answer = tokio::time::timeout(
        timeout,
        resolver.lookup(plan.name.clone(), rtype.record_type()),
    )
    .await;
    let timings = timings(started);
    match answer {
        Err(_) => ProbeReport::down(
            ErrorClass::Timeout,
            format!(
                "no answer from {server} for {} {} within {} ms",
                rtype.as_str(),
                check.display_name(),
                timeout.as_millis()
            ),
            timings,
        ),
        Ok(Err(err)) => failure_report(check, &server, &err, timeout, timings),
        Ok(Ok(lookup)) => answer_report(check, &plan, &lookup, timings),
    }
}

/// What a probe needs from the settings, parsed once.
struct Plan {
    name: Name,
    /// The server the check names; `None` for the system's.
    server: Option<SocketAddr>,
    expected: Vec<(String, Expected)>,
}

impl Plan {
    fn new(check: &DnsCheck) -> Result<Plan, Vec<String>> {
        check.validate()?;
        let name = query_name(&check.name).map_err(|err| vec![err])?;
        let server = match &check.resolver {
            Some(resolver) => {
                let ip = resolver_ip(resolver).map_err(|err| vec![err])?;
                Some(SocketAddr::new(ip, check.port.unwrap_or(DEFAULT_PORT)))
            }
            None => None,
        };
        let expected = check
            .expected
            .iter()
            .map(|value| {
                Expected::parse(check.record_type, value).map(|parsed| (value.clone(), parsed))
            })
            .collect::<Result<Vec<_>, String>>()
            .map_err(|err| vec![err])?;
        Ok(Plan {
            name,
            server,
            expected,
        })
    }
}

/// The name to ask for, fully qualified so no search domain is appended.
fn query_name(name: &str) -> Result<Name, String> {
    let trimmed = name.trim();
    if trimmed.is_empty() {
        return Err("name must not be empty".to_string());
    }
    let mut parsed = Name::from_utf8(trimmed)
        .map_err(|err| format!("name \"{trimmed}\" is not a valid DNS name: {err}"))?;
    parsed.set_fqdn(true);
    Ok(parsed)
}

fn resolver_ip(resolver: &str) -> Result<IpAddr, String> {
    let bare = resolver
        .trim()
        .trim_start_matches('[')
        .trim_end_matches(']');
    bare.parse::<IpAddr>().map_err(|_| {
        format!("resolver must be an IP address such as 192.0.2.53, not \"{resolver}\"")
    })
}

/// A fresh resolver for one check, and how to name the server it asks in messages.
/// Fails only when the system's resolver configuration cannot be read.
fn build_resolver(
    server: Option<SocketAddr>,
    timeout: Duration,
) -> Result<(TokioResolver, String), ResolveError> {
    let mut builder = match server {
        Some(addr) => {
            // `from_ips_clear` registers UDP and TCP for the server: queries go over UDP, and
            // hickory retries over TCP only when an answer comes back truncated.
            let servers = NameServerConfigGroup::from_ips_clear(&[addr.ip()], addr.port(), true);
            let config = ResolverConfig::from_parts(None, vec![], servers);
            TokioResolver::builder_with_config(config, TokioConnectionProvider::default())
        }
        None => TokioResolver::builder_tokio()?,
    };
    let options: &mut ResolverOpts = builder.options_mut();
    // Two tries, each with half the time, so one lost UDP datagram does not fail the check,
    // and both fit in the check's timeout.
    options.timeout = (timeout / 2).max(Duration::from_millis(1));
    options.attempts = 1;
    // A DNS check is about what DNS says, not about /etc/hosts on this machine.
    options.use_hosts_file = ResolveHosts::Never;
    // EDNS lets larger answers (long TXT sets) come back over UDP.
    options.edns0 = true;
    let resolver = builder.build();
    let server = match server {
        Some(addr) => addr.to_string(),
        None => describe_system_servers(&resolver),
    };
    Ok((resolver, server))
}

/// The system's servers for messages: "the system resolver (127.0.0.53:53)".
fn describe_system_servers(resolver: &TokioResolver) -> String {
    let mut addrs: Vec<SocketAddr> = Vec::new();
    for server in resolver.config().name_servers() {
        if !addrs.contains(&server.socket_addr) {
            addrs.push(server.socket_addr);
        }
    }
    if addrs.is_empty() {
        return "the system resolver (no servers configured)".to_string();
    }
    let list = addrs
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    format!("the system resolver ({list})")
}

fn timings(started: Instant) -> Timings {
    let elapsed = millis(started.elapsed());
    Timings {
        dns_ms: Some(elapsed),
        total_ms: elapsed,
        ..Timings::default()
    }
}

/// The report for a lookup that produced no answer.
fn failure_report(
    check: &DnsCheck,
    server: &str,
    err: &ResolveError,
    timeout: Duration,
    timings: Timings,
) -> ProbeReport {
    let name = check.display_name();
    let rtype = check.record_type.as_str();
    let Some(proto) = err.proto() else {
        return ProbeReport::down(
            ErrorClass::Dns,
            format!("looking up {rtype} {name} failed: {err}"),
            timings,
        );
    };
    let message = match proto.kind() {
        ProtoErrorKind::NoRecordsFound { response_code, .. } => match *response_code {
            ResponseCode::NXDomain => {
                format!("{name} does not exist (NXDOMAIN from {server})")
            }
            ResponseCode::NoError => format!("{name} has no {rtype} records ({server})"),
            ResponseCode::ServFail => {
                format!("{server} failed to answer for {rtype} {name} (SERVFAIL)")
            }
            ResponseCode::Refused => {
                format!("{server} refused to answer for {rtype} {name} (REFUSED)")
            }
            code => format!(
                "{server} answered {rtype} {name} with an error: {code} ({})",
                u16::from(code)
            ),
        },
        ProtoErrorKind::Timeout => {
            return ProbeReport::down(
                ErrorClass::Timeout,
                format!(
                    "no answer from {server} for {rtype} {name} within {} ms",
                    timeout.as_millis()
                ),
                timings,
            )
        }
        ProtoErrorKind::Io(io) => format!("could not reach {server}: {io}"),
        ProtoErrorKind::NoConnections => {
            format!("no DNS server to ask for {rtype} {name}: {server} is unusable")
        }
        _ => format!("looking up {rtype} {name} at {server} failed: {err}"),
    };
    ProbeReport::down(ErrorClass::Dns, message, timings)
}

/// The report for a lookup that answered: the records, then the expected values.
fn answer_report(check: &DnsCheck, plan: &Plan, lookup: &Lookup, timings: Timings) -> ProbeReport {
    let name = check.display_name();
    let rtype = check.record_type;
    // An A question for an alias also returns the CNAME chain; only records of the asked
    // type are the answer.
    let answers: Vec<Answer> = lookup
        .record_iter()
        .filter(|record| record.record_type() == rtype.record_type())
        .filter_map(|record| Answer::from_rdata(record.data()))
        .collect();
    let records: Vec<String> = answers.iter().map(|answer| answer.text.clone()).collect();
    if answers.is_empty() {
        return ProbeReport::down(
            ErrorClass::Dns,
            format!("{name} has no {} records", rtype.as_str()),
            timings,
        );
    }
    let missing: Vec<&str> = plan
        .expected
        .iter()
        .filter(|(_, expected)| !answers.iter().any(|answer| expected.matches(answer)))
        .map(|(written, _)| written.as_str())
        .collect();
    let mut report = if missing.is_empty() {
        ProbeReport::up(
            format!("{} {name}: {}", rtype.as_str(), records.join(", ")),
            timings,
        )
    } else {
        ProbeReport::down(
            ErrorClass::Assertion,
            format!(
                "{} {name} is missing the expected {}; found: {}",
                rtype.as_str(),
                missing.join(", "),
                records.join(", ")
            ),
            timings,
        )
    };
    report.details.insert(
        "records".to_string(),
        serde_json::Value::Array(records.into_iter().map(serde_json::Value::String).collect()),
    );
    report
}

/// One answer record: how people read it, and what it compares by.
struct Answer {
    text: String,
    value: AnswerValue,
}

enum AnswerValue {
    Ip(IpAddr),
    Name(String),
    Mx { preference: u16, exchange: String },
    Text(String),
}

impl Answer {
    fn from_rdata(data: &RData) -> Option<Answer> {
        let answer = match data {
            RData::A(a) => Answer {
                text: a.0.to_string(),
                value: AnswerValue::Ip(IpAddr::V4(a.0)),
            },
            RData::AAAA(aaaa) => Answer {
                text: aaaa.0.to_string(),
                value: AnswerValue::Ip(IpAddr::V6(aaaa.0)),
            },
            RData::CNAME(cname) => Answer::name(&cname.0),
            RData::NS(ns) => Answer::name(&ns.0),
            RData::MX(mx) => Answer {
                text: format!("{} {}", mx.preference(), readable_name(mx.exchange())),
                value: AnswerValue::Mx {
                    preference: mx.preference(),
                    exchange: comparable_name(mx.exchange()),
                },
            },
            RData::TXT(txt) => {
                // A TXT record is a list of strings that readers concatenate (SPF does).
                let text: String = txt
                    .txt_data()
                    .iter()
                    .map(|part| String::from_utf8_lossy(part))
                    .collect();
                Answer {
                    text: text.clone(),
                    value: AnswerValue::Text(text),
                }
            }
            _ => return None,
        };
        Some(answer)
    }

    fn name(name: &Name) -> Answer {
        Answer {
            text: readable_name(name),
            value: AnswerValue::Name(comparable_name(name)),
        }
    }
}

/// A name for people: Unicode labels, no trailing dot.
fn readable_name(name: &Name) -> String {
    let text = name.to_utf8();
    match text.strip_suffix('.') {
        Some(stripped) if !stripped.is_empty() => stripped.to_string(),
        _ => text,
    }
}

/// A name for comparing: ASCII (punycode) labels, lower case, no trailing dot.
fn comparable_name(name: &Name) -> String {
    let text = name.to_ascii().to_ascii_lowercase();
    match text.strip_suffix('.') {
        Some(stripped) => stripped.to_string(),
        None => text,
    }
}

/// An expected value, parsed for its record type.
#[derive(Debug, PartialEq)]
enum Expected {
    Ip(IpAddr),
    Name(String),
    Mx {
        preference: Option<u16>,
        exchange: String,
    },
    Text(String),
}

impl Expected {
    fn parse(rtype: DnsRecordType, value: &str) -> Result<Expected, String> {
        let trimmed = value.trim();
        let what = rtype.as_str();
        match rtype {
            DnsRecordType::A => trimmed
                .parse::<Ipv4Addr>()
                .map(|ip| Expected::Ip(IpAddr::V4(ip)))
                .map_err(|_| {
                    format!("expected A value \"{value}\" is not an IPv4 address such as 192.0.2.1")
                }),
            DnsRecordType::Aaaa => trimmed
                .parse::<Ipv6Addr>()
                .map(|ip| Expected::Ip(IpAddr::V6(ip)))
                .map_err(|_| {
                    format!(
                        "expected AAAA value \"{value}\" is not an IPv6 address such as 2001:db8::1"
                    )
                }),
            DnsRecordType::Cname | DnsRecordType::Ns => {
                expected_name(trimmed, what, value).map(Expected::Name)
            }
            DnsRecordType::Mx => {
                let (preference, exchange) = match trimmed.split_once(char::is_whitespace) {
                    Some((first, rest)) => {
                        let preference = first.parse::<u16>().map_err(|_| {
                            format!(
                                "expected MX value \"{value}\" must be \"10 mail.example.com\" \
                                 or just \"mail.example.com\""
                            )
                        })?;
                        (Some(preference), rest.trim())
                    }
                    None => (None, trimmed),
                };
                let exchange = expected_name(exchange, what, value)?;
                Ok(Expected::Mx {
                    preference,
                    exchange,
                })
            }
            // TXT content is compared exactly, spaces included.
            DnsRecordType::Txt => Ok(Expected::Text(value.to_string())),
        }
    }

    fn matches(&self, answer: &Answer) -> bool {
        match (self, &answer.value) {
            (Expected::Ip(want), AnswerValue::Ip(got)) => want == got,
            (Expected::Name(want), AnswerValue::Name(got)) => want == got,
            (
                Expected::Mx {
                    preference,
                    exchange,
                },
                AnswerValue::Mx {
                    preference: got_preference,
                    exchange: got_exchange,
                },
            ) => exchange == got_exchange && preference.is_none_or(|want| want == *got_preference),
            (Expected::Text(want), AnswerValue::Text(got)) => want == got,
            _ => false,
        }
    }
}

/// An expected name in comparable form, or why it is not a name.
fn expected_name(name: &str, what: &str, written: &str) -> Result<String, String> {
    if name.is_empty() {
        return Err(format!("expected {what} value must not be empty"));
    }
    Name::from_utf8(name)
        .map(|parsed| comparable_name(&parsed))
        .map_err(|err| format!("expected {what} value \"{written}\" is not a valid name: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::probe::Outcome;
    use hickory_server::authority::{Catalog, ZoneType};
    use hickory_server::proto::rr::rdata::{A, AAAA, CNAME, MX, NS, SOA, TXT};
    use hickory_server::proto::rr::{LowerName, Name as ZoneName, RData as ZoneData, Record};
    use hickory_server::store::in_memory::InMemoryAuthority;
    use hickory_server::ServerFuture;
    use std::sync::Arc;
    use tokio::net::UdpSocket;

    /// One change to a valid check, for the validation tables.
    type Change = fn(&mut DnsCheck);

    const TIMEOUT: Duration = Duration::from_secs(5);

    fn zone_name(name: &str) -> ZoneName {
        ZoneName::from_ascii(name).expect("test zone names are valid")
    }

    /// A real DNS server on 127.0.0.1 (UDP) serving `pharos.test.`; it answers for as long
    /// as the returned server is alive.
    async fn start_server() -> (ServerFuture<Catalog>, SocketAddr) {
        let origin = zone_name("pharos.test.");
        let mut authority = InMemoryAuthority::empty(origin.clone(), ZoneType::Primary, false);
        let records = [
            (
                "pharos.test.",
                ZoneData::SOA(SOA::new(
                    zone_name("ns1.pharos.test."),
                    zone_name("admin.pharos.test."),
                    1,
                    3600,
                    600,
                    86400,
                    60,
                )),
            ),
            ("www.pharos.test.", ZoneData::A(A::new(192, 0, 2, 10))),
            ("www.pharos.test.", ZoneData::A(A::new(192, 0, 2, 11))),
            (
                "www.pharos.test.",
                ZoneData::AAAA(AAAA("2001:db8::10".parse().expect("valid address"))),
            ),
            (
                "alias.pharos.test.",
                ZoneData::CNAME(CNAME(zone_name("www.pharos.test."))),
            ),
            (
                "pharos.test.",
                ZoneData::MX(MX::new(10, zone_name("mail.pharos.test."))),
            ),
            (
                "pharos.test.",
                ZoneData::MX(MX::new(20, zone_name("backup.pharos.test."))),
            ),
            (
                "pharos.test.",
                ZoneData::TXT(TXT::new(vec!["v=spf1 -all".to_string()])),
            ),
            (
                "pharos.test.",
                ZoneData::NS(NS(zone_name("ns1.pharos.test."))),
            ),
        ];
        for (name, data) in records {
            let inserted = authority.upsert_mut(Record::from_rdata(zone_name(name), 300, data), 1);
            assert!(inserted, "record for {name} was not inserted");
        }
        let mut catalog = Catalog::new();
        catalog.upsert(LowerName::new(&origin), vec![Arc::new(authority)]);
        let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind udp");
        let addr = socket.local_addr().expect("local addr");
        let mut server = ServerFuture::new(catalog);
        server.register_socket(socket);
        (server, addr)
    }

    fn check(addr: SocketAddr, name: &str, record_type: DnsRecordType) -> DnsCheck {
        DnsCheck {
            name: name.to_string(),
            record_type,
            expected: vec![],
            resolver: Some(addr.ip().to_string()),
            port: Some(addr.port()),
        }
    }

    fn records(report: &ProbeReport) -> Vec<String> {
        let mut records: Vec<String> = report.details["records"]
            .as_array()
            .expect("records is an array")
            .iter()
            .map(|value| value.as_str().expect("records are strings").to_string())
            .collect();
        records.sort();
        records
    }

    #[tokio::test]
    async fn every_record_type_is_answered_and_reported() {
        let (_server, addr) = start_server().await;
        let cases = [
            (
                "www.pharos.test",
                DnsRecordType::A,
                vec!["192.0.2.10", "192.0.2.11"],
            ),
            ("www.pharos.test", DnsRecordType::Aaaa, vec!["2001:db8::10"]),
            (
                "alias.pharos.test",
                DnsRecordType::Cname,
                vec!["www.pharos.test"],
            ),
            (
                "pharos.test",
                DnsRecordType::Mx,
                vec!["10 mail.pharos.test", "20 backup.pharos.test"],
            ),
            ("pharos.test", DnsRecordType::Txt, vec!["v=spf1 -all"]),
            ("pharos.test", DnsRecordType::Ns, vec!["ns1.pharos.test"]),
        ];
        for (name, record_type, want) in cases {
            let report = probe(&check(addr, name, record_type), TIMEOUT).await;
            assert_eq!(
                report.outcome,
                Outcome::Up,
                "{name} {record_type:?}: {report:?}"
            );
            assert_eq!(report.error, None);
            assert_eq!(records(&report), want, "{name} {record_type:?}");
            assert!(
                report
                    .message
                    .starts_with(&format!("{} {name}: ", record_type.as_str())),
                "{}",
                report.message
            );
            assert!(report.timings.dns_ms.is_some());
        }
    }

    #[tokio::test]
    async fn an_a_question_for_an_alias_reports_only_addresses() {
        let (_server, addr) = start_server().await;
        let report = probe(
            &check(addr, "alias.pharos.test.", DnsRecordType::A),
            TIMEOUT,
        )
        .await;
        assert_eq!(report.outcome, Outcome::Up, "{report:?}");
        assert_eq!(records(&report), vec!["192.0.2.10", "192.0.2.11"]);
        assert_eq!(
            report.message.split(':').next(),
            Some("A alias.pharos.test")
        );
    }

    #[tokio::test]
    async fn expected_values_that_are_present_pass() {
        let (_server, addr) = start_server().await;
        let cases = [
            (
                "www.pharos.test",
                DnsRecordType::A,
                vec!["192.0.2.11", " 192.0.2.10"],
            ),
            (
                "www.pharos.test",
                DnsRecordType::Aaaa,
                vec!["2001:DB8:0::10"],
            ),
            (
                "alias.pharos.test",
                DnsRecordType::Cname,
                vec!["WWW.Pharos.Test."],
            ),
            (
                "pharos.test",
                DnsRecordType::Mx,
                vec!["10 mail.pharos.test", "backup.pharos.test."],
            ),
            ("pharos.test", DnsRecordType::Txt, vec!["v=spf1 -all"]),
            ("pharos.test", DnsRecordType::Ns, vec!["NS1.pharos.test"]),
        ];
        for (name, record_type, expected) in cases {
            let mut check = check(addr, name, record_type);
            check.expected = expected.iter().map(ToString::to_string).collect();
            assert_eq!(check.validate(), Ok(()));
            let report = probe(&check, TIMEOUT).await;
            assert_eq!(
                report.outcome,
                Outcome::Up,
                "{name} {record_type:?}: {report:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_missing_expected_value_is_an_assertion_failure_naming_it() {
        let (_server, addr) = start_server().await;
        let cases = [
            ("www.pharos.test", DnsRecordType::A, "192.0.2.99"),
            ("pharos.test", DnsRecordType::Mx, "30 mail.pharos.test"),
            ("pharos.test", DnsRecordType::Txt, "V=SPF1 -ALL"),
            (
                "alias.pharos.test",
                DnsRecordType::Cname,
                "elsewhere.pharos.test",
            ),
        ];
        for (name, record_type, missing) in cases {
            let mut check = check(addr, name, record_type);
            check.expected = vec![missing.to_string()];
            let report = probe(&check, TIMEOUT).await;
            assert_eq!(report.outcome, Outcome::Down, "{name}: {report:?}");
            assert_eq!(report.error, Some(ErrorClass::Assertion));
            assert!(report.message.contains(missing), "{}", report.message);
            assert!(report.message.contains("found: "), "{}", report.message);
            assert!(!records(&report).is_empty(), "the answers are kept");
        }
    }

    #[tokio::test]
    async fn an_unknown_name_is_nxdomain() {
        let (_server, addr) = start_server().await;
        let report = probe(
            &check(addr, "missing.pharos.test", DnsRecordType::A),
            TIMEOUT,
        )
        .await;
        assert_eq!(report.outcome, Outcome::Down);
        assert_eq!(report.error, Some(ErrorClass::Dns));
        assert!(
            report
                .message
                .contains("missing.pharos.test does not exist (NXDOMAIN"),
            "{}",
            report.message
        );
    }

    #[tokio::test]
    async fn a_name_without_records_of_the_type_is_a_dns_failure() {
        let (_server, addr) = start_server().await;
        let report = probe(&check(addr, "www.pharos.test", DnsRecordType::Mx), TIMEOUT).await;
        assert_eq!(report.outcome, Outcome::Down);
        assert_eq!(report.error, Some(ErrorClass::Dns));
        assert!(
            report.message.contains("www.pharos.test has no MX records"),
            "{}",
            report.message
        );
    }

    #[tokio::test]
    async fn a_server_refusing_the_question_is_a_dns_failure() {
        let (_server, addr) = start_server().await;
        // The server is authoritative for pharos.test only, so it refuses other zones.
        let report = probe(&check(addr, "example.org", DnsRecordType::A), TIMEOUT).await;
        assert_eq!(report.outcome, Outcome::Down);
        assert_eq!(report.error, Some(ErrorClass::Dns));
        assert!(report.message.contains("REFUSED"), "{}", report.message);
        assert!(
            report.message.contains(&addr.to_string()),
            "{}",
            report.message
        );
    }

    #[tokio::test]
    async fn a_resolver_port_with_nothing_listening_fails_within_the_timeout() {
        let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind udp");
        let addr = socket.local_addr().expect("local addr");
        drop(socket);
        let timeout = Duration::from_millis(600);
        let report = probe(&check(addr, "www.pharos.test", DnsRecordType::A), timeout).await;
        assert_eq!(report.outcome, Outcome::Down);
        assert!(
            matches!(report.error, Some(ErrorClass::Timeout | ErrorClass::Dns)),
            "{report:?}"
        );
        assert!(
            report.message.contains(&addr.to_string()),
            "{}",
            report.message
        );
    }

    #[tokio::test]
    async fn invalid_settings_are_reported_as_config_without_asking() {
        let check = DnsCheck {
            name: " ".to_string(),
            record_type: DnsRecordType::A,
            expected: vec![],
            resolver: None,
            port: None,
        };
        let report = probe(&check, TIMEOUT).await;
        assert_eq!(report.outcome, Outcome::Down);
        assert_eq!(report.error, Some(ErrorClass::Config));
        assert!(
            report.message.contains("name must not be empty"),
            "{}",
            report.message
        );
    }

    #[test]
    fn validate_names_each_problem() {
        let base = DnsCheck {
            name: "example.com".to_string(),
            record_type: DnsRecordType::A,
            expected: vec![],
            resolver: Some("192.0.2.53".to_string()),
            port: Some(5353),
        };
        assert_eq!(base.validate(), Ok(()));
        let with = |change: Change| {
            let mut check = base.clone();
            change(&mut check);
            check.validate()
        };
        let cases: Vec<(&str, Change, Option<&str>)> = vec![
            (
                "ipv6 resolver",
                |c| c.resolver = Some("[2001:db8::53]".into()),
                None,
            ),
            (
                "empty name",
                |c| c.name = String::new(),
                Some("name must not be empty"),
            ),
            (
                "label too long",
                |c| c.name = format!("{}.com", "a".repeat(64)),
                Some("is not a valid DNS name"),
            ),
            (
                "resolver by name",
                |c| c.resolver = Some("dns.google".into()),
                Some("resolver must be an IP address"),
            ),
            (
                "port zero",
                |c| c.port = Some(0),
                Some("port must be between"),
            ),
            (
                "port without resolver",
                |c| c.resolver = None,
                Some("port applies only with resolver"),
            ),
            (
                "A value not an address",
                |c| c.expected = vec!["www.example.com".into()],
                Some("is not an IPv4 address"),
            ),
            (
                "AAAA value is IPv4",
                |c| {
                    c.record_type = DnsRecordType::Aaaa;
                    c.expected = vec!["192.0.2.1".into()];
                },
                Some("is not an IPv6 address"),
            ),
            (
                "MX preference not a number",
                |c| {
                    c.record_type = DnsRecordType::Mx;
                    c.expected = vec!["ten mail.example.com".into()];
                },
                Some("must be \"10 mail.example.com\""),
            ),
            (
                "MX exchange only",
                |c| {
                    c.record_type = DnsRecordType::Mx;
                    c.expected = vec!["mail.example.com".into()];
                },
                None,
            ),
            (
                "empty CNAME value",
                |c| {
                    c.record_type = DnsRecordType::Cname;
                    c.expected = vec!["".into()];
                },
                Some("expected CNAME value must not be empty"),
            ),
            (
                "any TXT value",
                |c| {
                    c.record_type = DnsRecordType::Txt;
                    c.expected = vec!["anything at all".into()];
                },
                None,
            ),
        ];
        for (label, change, want) in cases {
            let result = with(change);
            match want {
                None => assert_eq!(result, Ok(()), "{label}"),
                Some(want) => {
                    let errors = result.expect_err(label);
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
        let check: DnsCheck =
            serde_json::from_str(r#"{"name": "example.com"}"#).expect("minimal check");
        assert_eq!(check.record_type, DnsRecordType::A);
        assert!(check.expected.is_empty());
        assert_eq!(check.resolver, None);
        assert_eq!(check.port, None);
        for (written, want) in [
            ("\"AAAA\"", DnsRecordType::Aaaa),
            ("\"mx\"", DnsRecordType::Mx),
            ("\"TXT\"", DnsRecordType::Txt),
        ] {
            let parsed: DnsRecordType = serde_json::from_str(written).expect(written);
            assert_eq!(parsed, want);
        }
        assert_eq!(
            serde_json::to_string(&DnsRecordType::Cname).expect("serialize"),
            "\"CNAME\""
        );
        assert!(serde_json::from_str::<DnsRecordType>("\"SRV\"").is_err());
    }
}
