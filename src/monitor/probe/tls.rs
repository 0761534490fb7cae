//! TLS certificate probe: connects to a host, completes a TLS handshake, and judges the
//! certificate the server presents: whether its chain is trusted, whether it names the host,
//! and how many days it has left.
//!
//! The handshake accepts any certificate (the verifier only checks the handshake signatures),
//! so an invalid certificate still gets inspected; the chain is then validated separately
//! against the webpki roots plus the check's own `ca_pem`, which lets the report say exactly
//! what is wrong. It never reads the clock: the caller passes `now`, which is also the time
//! the chain is validated at. It never sends application data.

use super::resolve;
use super::{millis, AcceptAnyCertificate, ErrorClass, Outcome, ProbeReport, Timings};
use chrono::{DateTime, Utc};
use rustls::client::danger::ServerCertVerifier;
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, RootCertStore};
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use utoipa::ToSchema;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;

const SECONDS_PER_DAY: i64 = 86_400;

fn default_port() -> u16 {
    443
}

fn default_degraded_days() -> u32 {
    14
}

fn default_down_days() -> u32 {
    3
}

/// The settings of a TLS certificate check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TlsCheck {
    /// The host to connect to: a name or an IP address.
    pub host: String,
    /// The port; 443 when absent.
    #[serde(default = "default_port")]
    pub port: u16,
    /// The name sent as SNI and that the certificate must be valid for; `host` when absent
    /// (useful when connecting to an address or a specific backend).
    #[serde(default)]
    pub server_name: Option<String>,
    /// Degraded when the certificate has this many days left or fewer; 14 when absent.
    #[serde(default = "default_degraded_days")]
    pub degraded_days: u32,
    /// Down when the certificate has this many days left or fewer; 3 when absent. Must be
    /// less than `degraded_days`.
    #[serde(default = "default_down_days")]
    pub down_days: u32,
    /// Extra trusted root certificates in PEM, for servers with a private CA.
    #[serde(default)]
    pub ca_pem: Option<String>,
}

impl TlsCheck {
    /// Every problem with the settings, each as a sentence.
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let mut errors = Vec::new();
        if bare_host(&self.host).is_empty() {
            errors.push("host must not be empty".to_string());
        }
        if self.port == 0 {
            errors.push("port must be between 1 and 65535".to_string());
        }
        if let Some(name) = &self.server_name {
            if let Err(err) = server_name(name) {
                errors.push(err);
            }
        } else if !bare_host(&self.host).is_empty() {
            if let Err(err) = server_name(&self.host) {
                errors.push(err);
            }
        }
        if self.down_days >= self.degraded_days {
            errors.push(format!(
                "down_days ({}) must be less than degraded_days ({})",
                self.down_days, self.degraded_days
            ));
        }
        if let Some(pem) = &self.ca_pem {
            if let Err(err) = extra_roots(pem) {
                errors.push(err);
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// The name the certificate must be valid for.
    fn expected_name(&self) -> &str {
        self.server_name.as_deref().unwrap_or(&self.host)
    }
}

/// Runs one TLS certificate check. `now` is the time the certificate is judged at.
pub async fn probe(check: &TlsCheck, timeout: Duration, now: DateTime<Utc>) -> ProbeReport {
    let started = Instant::now();
    let deadline = tokio::time::Instant::now() + timeout;
    let mut timings = Timings::default();
    let target = format!("{}:{}", bare_host(&check.host), check.port);

    let prepared = check.validate().and_then(|()| {
        let name = server_name(check.expected_name()).map_err(|err| vec![err])?;
        let roots = trusted_roots(check.ca_pem.as_deref()).map_err(|err| vec![err])?;
        Ok((name, roots))
    });
    let (name, roots) = match prepared {
        Ok(prepared) => prepared,
        Err(errors) => {
            return ProbeReport::down(
                ErrorClass::Config,
                format!("the TLS check cannot run: {}", errors.join("; ")),
                timings,
            )
        }
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());

    let is_literal = bare_host(&check.host).parse::<IpAddr>().is_ok();
    let phase = Instant::now();
    let lookup = tokio::time::timeout_at(deadline, resolve::lookup(&check.host, check.port)).await;
    if !is_literal {
        timings.dns_ms = Some(millis(phase.elapsed()));
    }
    let addrs = match lookup {
        Ok(Ok(addrs)) => addrs,
        Ok(Err(err)) => {
            return ProbeReport::down(ErrorClass::Dns, err, finish(timings, started));
        }
        Err(_) => {
            return timed_out(
                format!("{target} did not resolve"),
                timeout,
                timings,
                started,
            )
        }
    };

    let phase = Instant::now();
    let (stream, addr) = match connect(&addrs, deadline).await {
        Ok(connected) => connected,
        Err(ConnectError::TimedOut) => {
            return timed_out(
                format!("no connection to {target}"),
                timeout,
                timings,
                started,
            )
        }
        Err(ConnectError::Failed(err)) => {
            return ProbeReport::down(
                ErrorClass::Connect,
                format!("could not connect to {target}: {err}"),
                finish(timings, started),
            )
        }
    };
    timings.connect_ms = Some(millis(phase.elapsed()));

    let phase = Instant::now();
    let connector = match handshake_config(provider.clone()) {
        Ok(config) => TlsConnector::from(Arc::new(config)),
        Err(err) => {
            return ProbeReport::down(
                ErrorClass::Tls,
                format!("could not set up TLS: {err}"),
                finish(timings, started),
            )
        }
    };
    let handshake =
        tokio::time::timeout_at(deadline, connector.connect(name.clone(), stream)).await;
    let mut tls = match handshake {
        Ok(Ok(tls)) => tls,
        Ok(Err(err)) => {
            return ProbeReport::down(
                ErrorClass::Tls,
                format!("TLS handshake with {target} ({addr}) failed: {err}"),
                finish(timings, started),
            )
        }
        Err(_) => {
            return timed_out(
                format!("no TLS handshake with {target} ({addr})"),
                timeout,
                timings,
                started,
            )
        }
    };
    timings.tls_ms = Some(millis(phase.elapsed()));
    let chain: Vec<CertificateDer<'static>> = tls
        .get_ref()
        .1
        .peer_certificates()
        .map(|certs| certs.iter().map(|cert| cert.clone().into_owned()).collect())
        .unwrap_or_default();
    // Close politely so the server does not log an aborted connection; its answer does not
    // matter, and the deadline bounds the wait.
    let _ = tokio::time::timeout_at(deadline, tls.shutdown()).await;

    assess(
        check,
        &chain,
        &name,
        roots,
        provider,
        now,
        finish(timings, started),
    )
}

/// Judges a presented chain (leaf first) at `now`: trust, name, validity, then days left.
fn assess(
    check: &TlsCheck,
    chain: &[CertificateDer<'static>],
    name: &ServerName<'static>,
    roots: RootCertStore,
    provider: Arc<CryptoProvider>,
    now: DateTime<Utc>,
    timings: Timings,
) -> ProbeReport {
    let Some((leaf_der, intermediates)) = chain.split_first() else {
        return ProbeReport::down(ErrorClass::Tls, "the server sent no certificate", timings);
    };
    let leaf = match x509_parser::parse_x509_certificate(leaf_der) {
        Ok((_, leaf)) => leaf,
        Err(err) => {
            return ProbeReport::down(
                ErrorClass::Tls,
                format!("the server's certificate cannot be read: {err}"),
                timings,
            )
        }
    };
    let facts = LeafFacts::new(&leaf, now);

    let verifier =
        match WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider).build() {
            Ok(verifier) => verifier,
            Err(err) => {
                let report = ProbeReport::down(
                    ErrorClass::Tls,
                    format!("could not set up certificate validation: {err}"),
                    timings,
                );
                return facts.annotate(report);
            }
        };
    let at = UnixTime::since_unix_epoch(Duration::from_secs(
        u64::try_from(now.timestamp()).unwrap_or(0),
    ));
    if let Err(err) = verifier.verify_server_cert(leaf_der, intermediates, name, &[], at) {
        let report = ProbeReport::down(ErrorClass::Tls, invalid_message(&err, &facts), timings);
        return facts.annotate(report);
    }

    let days = facts.days_to_expiry;
    let until = facts.not_after_text();
    let report = if days <= i64::from(check.down_days) {
        ProbeReport::down(
            ErrorClass::Certificate,
            format!("certificate expires {} (on {until})", in_days(days)),
            timings,
        )
    } else if days <= i64::from(check.degraded_days) {
        ProbeReport {
            outcome: Outcome::Degraded,
            error: Some(ErrorClass::Certificate),
            ..ProbeReport::up(
                format!("certificate expires {} (on {until})", in_days(days)),
                timings,
            )
        }
    } else {
        ProbeReport::up(
            format!("certificate valid for {days} more days (until {until})"),
            timings,
        )
    };
    facts.annotate(report)
}

/// "in 5 days", "in 1 day", "in less than a day".
fn in_days(days: i64) -> String {
    match days {
        i64::MIN..=0 => "in less than a day".to_string(),
        1 => "in 1 day".to_string(),
        _ => format!("in {days} days"),
    }
}

/// A sentence saying why the chain did not validate.
fn invalid_message(err: &rustls::Error, leaf: &LeafFacts) -> String {
    let rustls::Error::InvalidCertificate(cert_err) = err else {
        return format!("certificate is invalid: {err}");
    };
    match cert_err {
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            if leaf.seconds_left <= 0 {
                // Whole days since the expiry, rounded down.
                let ago = match leaf.seconds_left.saturating_neg() / SECONDS_PER_DAY {
                    0 => "less than a day ago".to_string(),
                    1 => "1 day ago".to_string(),
                    days => format!("{days} days ago"),
                };
                format!("certificate expired on {} ({ago})", leaf.not_after_text())
            } else {
                // The leaf is in date, so an intermediate of the chain is the expired one.
                "a certificate in the chain has expired (the server's own certificate is still \
                 in date)"
                    .to_string()
            }
        }
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            match leaf.not_before {
                Some(not_before) if leaf.not_yet_valid => format!(
                    "certificate is not valid yet: it starts on {}",
                    not_before.to_rfc3339()
                ),
                _ => "a certificate in the chain is not valid yet".to_string(),
            }
        }
        CertificateError::UnknownIssuer => format!(
            "certificate is not trusted: its issuer \"{}\" does not lead to a trusted root \
             (self-signed or from a private CA? add the CA as ca_pem)",
            leaf.issuer
        ),
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            let expected = match cert_err {
                CertificateError::NotValidForNameContext { expected, .. } => {
                    server_name_text(expected)
                }
                _ => String::new(),
            };
            let names = if leaf.names.is_empty() {
                "it names no hosts".to_string()
            } else {
                format!("it is valid for {}", leaf.names.join(", "))
            };
            if expected.is_empty() {
                format!("certificate hostname mismatch: {names}")
            } else {
                format!("certificate hostname mismatch: not valid for {expected}; {names}")
            }
        }
        CertificateError::BadSignature => "certificate chain has a bad signature".to_string(),
        CertificateError::Revoked => "certificate has been revoked".to_string(),
        CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
            "certificate is not meant for TLS servers (extended key usage)".to_string()
        }
        other => format!("certificate is invalid: {other}"),
    }
}

fn server_name_text(name: &ServerName<'_>) -> String {
    match name {
        ServerName::DnsName(dns) => dns.as_ref().to_string(),
        ServerName::IpAddress(ip) => IpAddr::from(*ip).to_string(),
        other => format!("{other:?}"),
    }
}

/// What the report says about the server's own certificate.
struct LeafFacts {
    not_before: Option<DateTime<Utc>>,
    not_after: Option<DateTime<Utc>>,
    /// Whole days left, rounded down; negative once expired.
    days_to_expiry: i64,
    seconds_left: i64,
    not_yet_valid: bool,
    issuer: String,
    subject: String,
    /// DNS names and addresses from the subject alternative names.
    names: Vec<String>,
}

impl LeafFacts {
    fn new(leaf: &X509Certificate<'_>, now: DateTime<Utc>) -> LeafFacts {
        let validity = leaf.validity();
        let not_after_ts = validity.not_after.timestamp();
        let not_before_ts = validity.not_before.timestamp();
        let seconds_left = not_after_ts.saturating_sub(now.timestamp());
        let names = match leaf.subject_alternative_name() {
            Ok(Some(san)) => san
                .value
                .general_names
                .iter()
                .filter_map(|general| match general {
                    GeneralName::DNSName(dns) => Some((*dns).to_string()),
                    GeneralName::IPAddress(bytes) => ip_from_bytes(bytes).map(|ip| ip.to_string()),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        LeafFacts {
            not_before: DateTime::from_timestamp(not_before_ts, 0),
            not_after: DateTime::from_timestamp(not_after_ts, 0),
            days_to_expiry: seconds_left.div_euclid(SECONDS_PER_DAY),
            seconds_left,
            not_yet_valid: now.timestamp() < not_before_ts,
            issuer: leaf.issuer().to_string(),
            subject: leaf.subject().to_string(),
            names,
        }
    }

    fn not_after_text(&self) -> String {
        match self.not_after {
            Some(at) => at.to_rfc3339(),
            None => "an unreadable date".to_string(),
        }
    }

    fn annotate(&self, mut report: ProbeReport) -> ProbeReport {
        report.details.insert(
            "days_to_expiry".to_string(),
            serde_json::Value::from(self.days_to_expiry),
        );
        if let Some(not_after) = self.not_after {
            report.details.insert(
                "not_after".to_string(),
                serde_json::Value::from(not_after.to_rfc3339()),
            );
        }
        if let Some(not_before) = self.not_before {
            report.details.insert(
                "not_before".to_string(),
                serde_json::Value::from(not_before.to_rfc3339()),
            );
        }
        report.details.insert(
            "issuer".to_string(),
            serde_json::Value::from(self.issuer.clone()),
        );
        report.details.insert(
            "subject".to_string(),
            serde_json::Value::from(self.subject.clone()),
        );
        report
    }
}

fn ip_from_bytes(bytes: &[u8]) -> Option<IpAddr> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes).ok().map(IpAddr::from),
        16 => <[u8; 16]>::try_from(bytes).ok().map(IpAddr::from),
        _ => None,
    }
}

/// The host without the brackets of an IPv6 literal.
fn bare_host(host: &str) -> &str {
    host.trim().trim_start_matches('[').trim_end_matches(']')
}

fn server_name(name: &str) -> Result<ServerName<'static>, String> {
    let bare = bare_host(name);
    if bare.is_empty() {
        return Err("server_name must not be empty".to_string());
    }
    ServerName::try_from(bare.to_string())
        .map_err(|_| format!("\"{bare}\" is not a valid host name or IP address for TLS"))
}

/// The certificates of `ca_pem`, or why they cannot be used as roots.
fn extra_roots(pem: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| format!("ca_pem is not valid PEM: {err}"))?;
    if certs.is_empty() {
        return Err(
            "ca_pem holds no certificate (expected -----BEGIN CERTIFICATE-----)".to_string(),
        );
    }
    let mut store = RootCertStore::empty();
    for (index, cert) in certs.iter().enumerate() {
        store.add(cert.clone()).map_err(|err| {
            format!(
                "ca_pem certificate {} cannot be a trusted root: {err}",
                index + 1
            )
        })?;
    }
    Ok(certs)
}

/// The webpki roots, plus the check's own.
fn trusted_roots(ca_pem: Option<&str>) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(pem) = ca_pem {
        for cert in extra_roots(pem)? {
            roots
                .add(cert)
                .map_err(|err| format!("ca_pem cannot be a trusted root: {err}"))?;
        }
    }
    Ok(roots)
}

/// A client configuration whose handshake accepts any certificate, so the chain can be
/// judged afterwards with a precise reason.
fn handshake_config(provider: Arc<CryptoProvider>) -> Result<ClientConfig, rustls::Error> {
    let verifier = Arc::new(AcceptAnyCertificate::new(&provider));
    Ok(ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth())
}

enum ConnectError {
    TimedOut,
    Failed(String),
}

/// Connects to the first address that accepts, in order, within the deadline.
async fn connect(
    addrs: &[SocketAddr],
    deadline: tokio::time::Instant,
) -> Result<(TcpStream, SocketAddr), ConnectError> {
    let mut failures = Vec::new();
    for addr in addrs {
        match tokio::time::timeout_at(deadline, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => return Ok((stream, *addr)),
            Ok(Err(err)) => failures.push(format!("{addr}: {err}")),
            Err(_) => return Err(ConnectError::TimedOut),
        }
    }
    Err(ConnectError::Failed(failures.join("; ")))
}

fn finish(mut timings: Timings, started: Instant) -> Timings {
    timings.total_ms = millis(started.elapsed());
    timings
}

fn timed_out(what: String, timeout: Duration, timings: Timings, started: Instant) -> ProbeReport {
    ProbeReport::down(
        ErrorClass::Timeout,
        format!("{what} within {} ms", timeout.as_millis()),
        finish(timings, started),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{
        date_time_ymd, BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair,
        KeyUsagePurpose,
    };
    use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
    use rustls::ServerConfig;
    use tokio::io::AsyncReadExt;
    use tokio::net::TcpListener;
    use tokio_rustls::TlsAcceptor;

    /// One change to a valid check, for the validation tables.
    type Change = fn(&mut TlsCheck);

    const TIMEOUT: Duration = Duration::from_secs(5);

    /// The instant the tests judge certificates at.
    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2030-01-01T00:00:00Z")
            .expect("valid instant")
            .with_timezone(&Utc)
    }

    fn test_ca() -> CertifiedIssuer<'static, KeyPair> {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
        params
            .distinguished_name
            .push(DnType::CommonName, "Pharos Test CA");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        params.not_before = date_time_ymd(2029, 1, 1);
        params.not_after = date_time_ymd(2031, 1, 1);
        CertifiedIssuer::self_signed(params, KeyPair::generate().expect("ca key")).expect("ca")
    }

    /// A certificate for `localhost` signed by `ca`, valid between the two dates.
    fn leaf(
        ca: &CertifiedIssuer<'static, KeyPair>,
        not_before: (i32, u8, u8),
        not_after: (i32, u8, u8),
    ) -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
        let mut params =
            CertificateParams::new(vec!["localhost".to_string()]).expect("leaf params");
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        params.not_before = date_time_ymd(not_before.0, not_before.1, not_before.2);
        params.not_after = date_time_ymd(not_after.0, not_after.1, not_after.2);
        let key = KeyPair::generate().expect("leaf key");
        let cert = params.signed_by(&key, ca).expect("leaf");
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        (cert.der().clone(), key)
    }

    /// A TLS server on 127.0.0.1 presenting `cert`, for as long as the test runs.
    async fn serve_tls(cert: CertificateDer<'static>, key: PrivateKeyDer<'static>) -> SocketAddr {
        let config =
            ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .expect("protocol versions")
                .with_no_client_auth()
                .with_single_cert(vec![cert], key)
                .expect("server certificate");
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    if let Ok(mut tls) = acceptor.accept(stream).await {
                        // Hold the connection until the client closes it.
                        let mut buf = [0u8; 16];
                        let _ = tls.read(&mut buf).await;
                    }
                });
            }
        });
        addr
    }

    /// A server for `localhost` with five days left at [`now`], and the CA's PEM.
    async fn five_day_server() -> (SocketAddr, String) {
        let ca = test_ca();
        let (cert, key) = leaf(&ca, (2030, 1, 1), (2030, 1, 6));
        (serve_tls(cert, key).await, ca.pem())
    }

    fn check(addr: SocketAddr, ca_pem: Option<String>) -> TlsCheck {
        TlsCheck {
            host: addr.ip().to_string(),
            port: addr.port(),
            server_name: Some("localhost".to_string()),
            degraded_days: 14,
            down_days: 3,
            ca_pem,
        }
    }

    #[tokio::test]
    async fn five_days_left_is_degraded_at_fourteen_days() {
        let (addr, ca_pem) = five_day_server().await;
        let report = probe(&check(addr, Some(ca_pem)), TIMEOUT, now()).await;
        assert_eq!(report.outcome, Outcome::Degraded, "{report:?}");
        assert_eq!(report.error, Some(ErrorClass::Certificate));
        assert_eq!(
            report.message,
            "certificate expires in 5 days (on 2030-01-06T00:00:00+00:00)"
        );
        assert_eq!(report.details["days_to_expiry"], 5);
        assert_eq!(report.details["not_after"], "2030-01-06T00:00:00+00:00");
        assert_eq!(report.details["subject"], "CN=localhost");
        assert_eq!(report.details["issuer"], "CN=Pharos Test CA");
        assert!(report.timings.connect_ms.is_some());
        assert!(report.timings.tls_ms.is_some());
        assert_eq!(report.timings.dns_ms, None, "an address needs no lookup");
    }

    #[tokio::test]
    async fn five_days_left_is_down_at_seven_days() {
        let (addr, ca_pem) = five_day_server().await;
        let mut check = check(addr, Some(ca_pem));
        check.down_days = 7;
        let report = probe(&check, TIMEOUT, now()).await;
        assert_eq!(report.outcome, Outcome::Down, "{report:?}");
        assert_eq!(report.error, Some(ErrorClass::Certificate));
        assert!(
            report.message.contains("expires in 5 days"),
            "{}",
            report.message
        );
    }

    #[tokio::test]
    async fn five_days_left_is_up_with_lower_thresholds() {
        let (addr, ca_pem) = five_day_server().await;
        let mut check = check(addr, Some(ca_pem));
        check.degraded_days = 3;
        check.down_days = 1;
        let report = probe(&check, TIMEOUT, now()).await;
        assert_eq!(report.outcome, Outcome::Up, "{report:?}");
        assert_eq!(report.error, None);
        assert_eq!(
            report.message,
            "certificate valid for 5 more days (until 2030-01-06T00:00:00+00:00)"
        );
    }

    #[tokio::test]
    async fn the_host_name_is_the_server_name_by_default() {
        let (addr, ca_pem) = five_day_server().await;
        let mut check = check(addr, Some(ca_pem));
        // `localhost` may resolve to ::1 first, where nothing listens; the probe moves on.
        check.host = "localhost".to_string();
        check.server_name = None;
        check.degraded_days = 3;
        check.down_days = 1;
        let report = probe(&check, TIMEOUT, now()).await;
        assert_eq!(report.outcome, Outcome::Up, "{report:?}");
        assert!(report.timings.dns_ms.is_some());
    }

    #[tokio::test]
    async fn a_wrong_server_name_is_a_hostname_mismatch() {
        let (addr, ca_pem) = five_day_server().await;
        let mut check = check(addr, Some(ca_pem));
        check.server_name = Some("status.example.com".to_string());
        let report = probe(&check, TIMEOUT, now()).await;
        assert_eq!(report.outcome, Outcome::Down, "{report:?}");
        assert_eq!(report.error, Some(ErrorClass::Tls));
        assert_eq!(
            report.message,
            "certificate hostname mismatch: not valid for status.example.com; it is valid for \
             localhost"
        );
        assert_eq!(
            report.details["days_to_expiry"], 5,
            "the facts are still reported"
        );
    }

    #[tokio::test]
    async fn a_private_ca_without_ca_pem_is_untrusted() {
        let (addr, _) = five_day_server().await;
        let report = probe(&check(addr, None), TIMEOUT, now()).await;
        assert_eq!(report.outcome, Outcome::Down, "{report:?}");
        assert_eq!(report.error, Some(ErrorClass::Tls));
        assert!(
            report
                .message
                .starts_with("certificate is not trusted: its issuer \"CN=Pharos Test CA\""),
            "{}",
            report.message
        );
    }

    #[tokio::test]
    async fn an_expired_leaf_is_reported_as_expired() {
        let ca = test_ca();
        let (cert, key) = leaf(&ca, (2029, 12, 1), (2029, 12, 10));
        let addr = serve_tls(cert, key).await;
        let report = probe(&check(addr, Some(ca.pem())), TIMEOUT, now()).await;
        assert_eq!(report.outcome, Outcome::Down, "{report:?}");
        assert_eq!(report.error, Some(ErrorClass::Tls));
        assert_eq!(
            report.message,
            "certificate expired on 2029-12-10T00:00:00+00:00 (22 days ago)"
        );
        assert_eq!(report.details["days_to_expiry"], -22);
    }

    #[tokio::test]
    async fn a_leaf_not_valid_yet_is_reported_as_such() {
        let ca = test_ca();
        let (cert, key) = leaf(&ca, (2030, 2, 1), (2030, 6, 1));
        let addr = serve_tls(cert, key).await;
        let report = probe(&check(addr, Some(ca.pem())), TIMEOUT, now()).await;
        assert_eq!(report.outcome, Outcome::Down, "{report:?}");
        assert_eq!(report.error, Some(ErrorClass::Tls));
        assert_eq!(
            report.message,
            "certificate is not valid yet: it starts on 2030-02-01T00:00:00+00:00"
        );
    }

    #[tokio::test]
    async fn a_server_that_does_not_speak_tls_fails_the_handshake() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let _ = stream
                    .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                    .await;
                let _ = stream.shutdown().await;
            }
        });
        let report = probe(&check(addr, None), TIMEOUT, now()).await;
        assert_eq!(report.outcome, Outcome::Down, "{report:?}");
        assert_eq!(report.error, Some(ErrorClass::Tls));
        assert!(
            report
                .message
                .starts_with(&format!("TLS handshake with {addr} ({addr}) failed")),
            "{}",
            report.message
        );
    }

    #[tokio::test]
    async fn a_closed_port_is_a_connect_failure() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        drop(listener);
        let report = probe(&check(addr, None), TIMEOUT, now()).await;
        assert_eq!(report.outcome, Outcome::Down, "{report:?}");
        assert_eq!(report.error, Some(ErrorClass::Connect));
        assert!(
            report
                .message
                .starts_with(&format!("could not connect to {addr}")),
            "{}",
            report.message
        );
    }

    #[tokio::test]
    async fn invalid_settings_are_reported_as_config() {
        let mut check = check("127.0.0.1:443".parse().expect("addr"), None);
        check.down_days = 20;
        let report = probe(&check, TIMEOUT, now()).await;
        assert_eq!(report.outcome, Outcome::Down);
        assert_eq!(report.error, Some(ErrorClass::Config));
        assert!(
            report
                .message
                .contains("down_days (20) must be less than degraded_days (14)"),
            "{}",
            report.message
        );
    }

    #[test]
    fn validate_names_each_problem() {
        let ca = test_ca();
        let base = TlsCheck {
            host: "status.example.com".to_string(),
            port: 443,
            server_name: None,
            degraded_days: 14,
            down_days: 3,
            ca_pem: Some(ca.pem()),
        };
        assert_eq!(base.validate(), Ok(()));
        let cases: Vec<(&str, Change, Option<&str>)> = vec![
            ("ipv6 host", |c| c.host = "[2001:db8::1]".into(), None),
            (
                "empty host",
                |c| c.host = " ".into(),
                Some("host must not be empty"),
            ),
            ("port zero", |c| c.port = 0, Some("port must be between")),
            (
                "bad server name",
                |c| c.server_name = Some("not a name!".into()),
                Some("is not a valid host name or IP address"),
            ),
            (
                "equal thresholds",
                |c| c.down_days = 14,
                Some("down_days (14) must be less than degraded_days (14)"),
            ),
            (
                "no certificate in ca_pem",
                |c| c.ca_pem = Some("hello".into()),
                Some("ca_pem holds no certificate"),
            ),
            (
                "broken PEM",
                |c| {
                    c.ca_pem = Some("-----BEGIN CERTIFICATE-----\n!!!\n".into());
                },
                Some("ca_pem is not valid PEM"),
            ),
            (
                "a PEM block that is no certificate",
                |c| {
                    c.ca_pem = Some(
                        "-----BEGIN CERTIFICATE-----\naGVsbG8=\n-----END CERTIFICATE-----\n".into(),
                    );
                },
                Some("ca_pem certificate 1 cannot be a trusted root"),
            ),
        ];
        for (label, change, want) in cases {
            let mut check = base.clone();
            change(&mut check);
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
        let check: TlsCheck =
            serde_json::from_str(r#"{"host": "example.com"}"#).expect("minimal check");
        assert_eq!(check.port, 443);
        assert_eq!(check.server_name, None);
        assert_eq!(check.degraded_days, 14);
        assert_eq!(check.down_days, 3);
        assert_eq!(check.ca_pem, None);
        assert_eq!(check.validate(), Ok(()));
    }

    #[test]
    fn an_empty_chain_is_a_tls_failure() {
        let check = check("127.0.0.1:443".parse().expect("addr"), None);
        let name = server_name("localhost").expect("name");
        let roots = trusted_roots(None).expect("roots");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let report = assess(
            &check,
            &[],
            &name,
            roots,
            provider,
            now(),
            Timings::default(),
        );
        assert_eq!(report.error, Some(ErrorClass::Tls));
        assert_eq!(report.message, "the server sent no certificate");
    }
}
