//! The monitor records Pharos stores and the management API serves: what to check and how
//! often, the components it drives, its thresholds, and its current verdict. Check results
//! are [`CheckRecord`]s, each saying where the check ran.

use super::evaluate::{Health, Memory, Policy};
use super::probe::{
    dns::DnsCheck, http::HttpCheck, icmp::IcmpCheck, tcp::TcpCheck, tls::TlsCheck, ErrorClass,
    Outcome, ProbeReport,
};
use crate::domain::{ComponentId, ComponentStatus, IncidentId, ManagedBy, MonitorId, Timestamp};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use utoipa::ToSchema;

/// Where checks run when no remote location is involved: the Pharos process itself.
pub const LOCAL: &str = "local";

/// The shortest interval between checks of one monitor.
pub const MIN_INTERVAL_SECS: u64 = 10;
/// The longest: one day.
pub const MAX_INTERVAL_SECS: u64 = 86_400;

/// What a push monitor waits for: a job calling its secret URL at least once per interval.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PushCheck {
    /// Seconds of lateness tolerated after the interval before the monitor counts a miss.
    #[serde(default = "default_grace")]
    pub grace_seconds: u64,
}

fn default_grace() -> u64 {
    30
}

/// The kind of check and its settings, as `{"kind": "http", "url": ...}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Check {
    Http(HttpCheck),
    Tcp(TcpCheck),
    Dns(DnsCheck),
    Tls(TlsCheck),
    Icmp(IcmpCheck),
    Push(PushCheck),
}

impl Check {
    pub fn kind(&self) -> &'static str {
        match self {
            Check::Http(_) => "http",
            Check::Tcp(_) => "tcp",
            Check::Dns(_) => "dns",
            Check::Tls(_) => "tls",
            Check::Icmp(_) => "icmp",
            Check::Push(_) => "push",
        }
    }

    /// Every problem with the settings, each naming its field.
    pub fn validate(&self) -> Result<(), Vec<String>> {
        match self {
            Check::Http(c) => c.validate(),
            Check::Tcp(c) => c.validate(),
            Check::Dns(c) => c.validate(),
            Check::Tls(c) => c.validate(),
            Check::Icmp(c) => c.validate(),
            Check::Push(c) => {
                if c.grace_seconds > MAX_INTERVAL_SECS {
                    Err(vec![format!(
                        "check.grace_seconds: {} is more than a day ({MAX_INTERVAL_SECS})",
                        c.grace_seconds
                    )])
                } else {
                    Ok(())
                }
            }
        }
    }
}

/// A component a monitor drives, and the status it sets there when the monitor is down.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MonitorComponent {
    #[schema(value_type = String, format = Uuid)]
    pub component_id: ComponentId,
    /// Set while the monitor is down; `degraded_performance` while it is degraded.
    #[serde(default = "default_down_status")]
    pub down_status: ComponentStatus,
}

fn default_down_status() -> ComponentStatus {
    super::evaluate::DEFAULT_DOWN_STATUS
}

/// The statuses a monitor may set when down: only outage statuses make sense.
pub const DOWN_STATUSES: &str = "degraded_performance, partial_outage or major_outage";

pub fn is_down_status(status: ComponentStatus) -> bool {
    use ComponentStatus::*;
    matches!(status, DegradedPerformance | PartialOutage | MajorOutage)
}

/// A monitor as stored and served.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Monitor {
    #[schema(value_type = String, format = Uuid)]
    pub id: MonitorId,
    pub name: String,
    pub description: Option<String>,
    pub check: Check,
    pub interval_seconds: u64,
    pub timeout_ms: u64,
    pub policy: Policy,
    pub components: Vec<MonitorComponent>,
    pub tags: Vec<String>,
    /// A paused monitor runs no checks; pausing resets its verdict to `pending`, releasing its
    /// hold on its components.
    pub paused: bool,
    /// False: the monitor sets component status only and never opens incidents.
    pub auto_incidents: bool,
    pub health: Health,
    #[schema(value_type = String, format = DateTime)]
    pub health_since: Timestamp,
    pub flapping: bool,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_checked_at: Option<Timestamp>,
    pub last_outcome: Option<Outcome>,
    pub last_message: Option<String>,
    /// The open incident this monitor opened or joined.
    #[schema(value_type = Option<String>, format = Uuid)]
    pub incident_id: Option<IncidentId>,
    pub managed_by: ManagedBy,
    pub config_key: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    /// The recent results the thresholds look at; internal, not served.
    #[serde(skip)]
    #[schema(ignore)]
    pub memory: Memory,
}

impl Monitor {
    pub fn interval(&self) -> Duration {
        Duration::from_secs(self.interval_seconds)
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }
}

/// A monitor as the public side names it: its id (for its page) and name, nothing of what it
/// checks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonitorRef {
    pub id: MonitorId,
    pub name: String,
}

/// What creating a monitor takes.
#[derive(Clone, Debug, PartialEq)]
pub struct NewMonitor {
    pub name: String,
    pub description: Option<String>,
    pub check: Check,
    pub interval_seconds: u64,
    pub timeout_ms: u64,
    pub policy: Policy,
    pub components: Vec<MonitorComponent>,
    pub tags: Vec<String>,
    pub paused: bool,
    pub auto_incidents: bool,
    /// SHA-256 (hex) of a push monitor's secret; none for other kinds.
    pub push_token_hash: Option<String>,
    pub managed_by: ManagedBy,
    pub config_key: Option<String>,
}

/// A partial change; `None` keeps the current value.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MonitorPatch {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub check: Option<Check>,
    pub interval_seconds: Option<u64>,
    pub timeout_ms: Option<u64>,
    pub policy: Option<Policy>,
    pub components: Option<Vec<MonitorComponent>>,
    pub tags: Option<Vec<String>>,
    pub paused: Option<bool>,
    pub auto_incidents: Option<bool>,
}

/// Checks the settings every monitor shares; every problem, each naming its field.
pub fn validate_common(
    name: &str,
    interval_seconds: u64,
    timeout_ms: u64,
    policy: &Policy,
) -> Vec<String> {
    let mut problems = Vec::new();
    if name.trim().is_empty() {
        problems.push("name: must not be empty".to_string());
    } else if name.chars().count() > 200 {
        problems.push("name: at most 200 characters".to_string());
    }
    if !(MIN_INTERVAL_SECS..=MAX_INTERVAL_SECS).contains(&interval_seconds) {
        problems.push(format!(
            "interval_seconds: {interval_seconds} is outside {MIN_INTERVAL_SECS}..={MAX_INTERVAL_SECS}"
        ));
    }
    if timeout_ms < 100 {
        problems.push(format!("timeout_ms: {timeout_ms} is below 100"));
    } else if timeout_ms > interval_seconds.saturating_mul(1000) {
        problems.push(format!(
            "timeout_ms: {timeout_ms} is longer than the interval ({interval_seconds} s); a check must end before the next one is due"
        ));
    }
    if let Err(problem) = policy.validate() {
        problems.push(format!("policy: {problem}"));
    }
    problems
}

/// One check's result, as stored in `check_results`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CheckRecord {
    #[schema(value_type = String, format = Uuid)]
    pub monitor_id: MonitorId,
    /// When the check started.
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    /// Where it ran: `local` for this process.
    pub location: String,
    pub outcome: Outcome,
    pub error: Option<ErrorClass>,
    pub message: String,
    pub status_code: Option<u16>,
    pub latency_ms: f64,
    /// Timings and kind-specific figures.
    pub report: ProbeReport,
}

impl CheckRecord {
    pub fn new(monitor_id: MonitorId, at: Timestamp, report: ProbeReport) -> CheckRecord {
        CheckRecord {
            monitor_id,
            at,
            location: LOCAL.to_string(),
            outcome: report.outcome,
            error: report.error,
            message: report.message.clone(),
            status_code: report.status_code,
            latency_ms: report.timings.total_ms,
            report,
        }
    }
}

super::probe::from_str_by_as_str!(
    Health,
    "monitor health",
    [Health::Pending, Health::Up, Health::Degraded, Health::Down]
);
