//! Probes: one module per check kind. A probe runs one check against its target and reports
//! what it saw as a [`ProbeReport`]; it never panics and never takes longer than the timeout
//! it is given (the caller also bounds it, so a hanging target cannot stall anything else).
//!
//! Every kind's settings are a plain serde struct with `ToSchema`, stored as JSON with the
//! monitor and accepted by the management API and the configuration file.

use serde::{Deserialize, Serialize};
use std::time::Duration;
use utoipa::ToSchema;

/// What one check concluded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The target answered as expected.
    Up,
    /// It answered as expected, but slowly or close to a limit (latency threshold, a
    /// certificate near expiry, some packet loss).
    Degraded,
    /// It failed: see the error class.
    Down,
}

impl Outcome {
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Up => "up",
            Outcome::Degraded => "degraded",
            Outcome::Down => "down",
        }
    }
}

/// Why a check failed (or was degraded), in classes a reader can act on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// The name did not resolve.
    Dns,
    /// The connection was refused or could not be made.
    Connect,
    /// The TLS handshake failed or the certificate is invalid.
    Tls,
    /// No answer within the timeout.
    Timeout,
    /// An unexpected HTTP status code.
    Status,
    /// The answer did not satisfy an assertion (body, JSON value, DNS record, TCP reply).
    Assertion,
    /// The answer was not valid for its protocol.
    Protocol,
    /// The certificate is close to or past its expiry.
    Certificate,
    /// The check is not permitted here (e.g. raw sockets for ICMP).
    Permission,
    /// Some echo requests went unanswered, more than the check tolerates (ICMP `degraded`).
    PacketLoss,
    /// A push monitor got no heartbeat in time.
    Heartbeat,
    /// A push monitor's job reported a failure itself.
    Reported,
    /// The monitor's settings cannot be used (a bad URL, an unknown record type).
    Config,
}

impl ErrorClass {
    pub fn as_str(&self) -> &'static str {
        match self {
            ErrorClass::Dns => "dns",
            ErrorClass::Connect => "connect",
            ErrorClass::Tls => "tls",
            ErrorClass::Timeout => "timeout",
            ErrorClass::Status => "status",
            ErrorClass::Assertion => "assertion",
            ErrorClass::Protocol => "protocol",
            ErrorClass::Certificate => "certificate",
            ErrorClass::Permission => "permission",
            ErrorClass::PacketLoss => "packet_loss",
            ErrorClass::Heartbeat => "heartbeat",
            ErrorClass::Reported => "reported",
            ErrorClass::Config => "config",
        }
    }
}

/// Where the time of a check went, in milliseconds; absent phases did not happen (no DNS
/// lookup for an IP address, no TLS for plain HTTP, nothing after a failed connect).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Timings {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connect_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_byte_ms: Option<f64>,
    /// The whole check, start to end.
    pub total_ms: f64,
}

/// What a probe saw.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ProbeReport {
    pub outcome: Outcome,
    /// Set when the outcome is `down`; for `degraded`, when a class explains it (a certificate
    /// near expiry; none for a merely slow answer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorClass>,
    /// One line for people: what went wrong, or what was seen ("200 OK in 42 ms").
    pub message: String,
    /// The HTTP status code, for HTTP checks that got an answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u16>,
    pub timings: Timings,
    /// Kind-specific figures: `days_to_expiry`, `packet_loss_percent`, `rtt_ms`, `records`...
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    #[schema(value_type = Object)]
    pub details: serde_json::Map<String, serde_json::Value>,
}

impl ProbeReport {
    /// A successful report.
    pub fn up(message: impl Into<String>, timings: Timings) -> ProbeReport {
        ProbeReport {
            outcome: Outcome::Up,
            error: None,
            message: message.into(),
            status_code: None,
            timings,
            details: Default::default(),
        }
    }

    /// A failed report of the given class.
    pub fn down(error: ErrorClass, message: impl Into<String>, timings: Timings) -> ProbeReport {
        ProbeReport {
            outcome: Outcome::Down,
            error: Some(error),
            message: message.into(),
            status_code: None,
            timings,
            details: Default::default(),
        }
    }

    /// The report for a check that did not finish within its timeout.
    pub fn timed_out(timeout: Duration) -> ProbeReport {
        ProbeReport::down(
            ErrorClass::Timeout,
            format!("no answer within {} ms", timeout.as_millis()),
            Timings {
                total_ms: timeout.as_secs_f64() * 1000.0,
                ..Timings::default()
            },
        )
    }
}

/// Milliseconds of a duration, as reported in [`Timings`].
pub fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A TLS verifier that accepts whatever certificate chain the server presents, for HTTP checks
/// with `verify_tls = false` and for the TLS probe, which validates the chain itself after the
/// handshake so it can say precisely what is wrong. The handshake signatures are still
/// checked, so the server did prove it holds the key of the certificate it presents.
#[derive(Debug)]
pub(crate) struct AcceptAnyCertificate {
    algorithms: rustls::crypto::WebPkiSupportedAlgorithms,
}

impl AcceptAnyCertificate {
    pub(crate) fn new(provider: &rustls::crypto::CryptoProvider) -> AcceptAnyCertificate {
        AcceptAnyCertificate {
            algorithms: provider.signature_verification_algorithms,
        }
    }
}

impl rustls::client::danger::ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

pub mod dns;
pub mod http;
pub mod icmp;
pub mod resolve;
pub mod tcp;
pub mod tls;

/// Parses the `as_str` form of a closed set back, naming the allowed values when it fails.
macro_rules! from_str_by_as_str {
    ($name:ty, $kind:literal, [$($variant:expr),+ $(,)?]) => {
        impl std::str::FromStr for $name {
            type Err = crate::domain::EnumParseError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                const ALL: &[$name] = &[$($variant),+];
                ALL.iter().copied().find(|v| v.as_str() == s).ok_or_else(|| {
                    crate::domain::EnumParseError {
                        kind: $kind,
                        value: s.to_string(),
                        expected: ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", "),
                    }
                })
            }
        }
    };
}
pub(crate) use from_str_by_as_str;

from_str_by_as_str!(
    Outcome,
    "check outcome",
    [Outcome::Up, Outcome::Degraded, Outcome::Down]
);
from_str_by_as_str!(
    ErrorClass,
    "error class",
    [
        ErrorClass::Dns,
        ErrorClass::Connect,
        ErrorClass::Tls,
        ErrorClass::Timeout,
        ErrorClass::Status,
        ErrorClass::Assertion,
        ErrorClass::Protocol,
        ErrorClass::Certificate,
        ErrorClass::Permission,
        ErrorClass::PacketLoss,
        ErrorClass::Heartbeat,
        ErrorClass::Reported,
        ErrorClass::Config,
    ]
);
