//! The vendor records Pharos stores and the management API serves: the followed vendor with
//! its source's state, and its components, incidents and maintenances as last seen.
//!
//! Incidents and maintenances share one record ([`VendorIncidentRecord`], told apart by
//! [`RecordKind`]) because they are matched, de-duplicated and diffed by the same rules.

use super::adapter::AdapterKind;
use crate::domain::{
    ComponentStatus, IncidentImpact, IncidentStatus, MaintenanceStatus, ManagedBy, Timestamp,
    VendorComponentId, VendorId, VendorIncidentId,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// The shortest poll interval: vendors' pages are someone else's servers.
pub const MIN_POLL_SECS: u64 = 30;
pub const DEFAULT_POLL_SECS: u64 = 120;
pub const MAX_POLL_SECS: u64 = 86_400;

/// Whether the vendor's source could be read on the last poll.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SourceState {
    /// Not polled yet.
    Pending,
    Ok,
    /// The last poll failed to fetch or parse; the vendor keeps its last known data and is
    /// never reported as an outage of the vendor for this.
    Unreachable,
}

impl SourceState {
    pub fn as_str(&self) -> &'static str {
        match self {
            SourceState::Pending => "pending",
            SourceState::Ok => "ok",
            SourceState::Unreachable => "unreachable",
        }
    }
}

impl std::str::FromStr for SourceState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "pending" => Ok(SourceState::Pending),
            "ok" => Ok(SourceState::Ok),
            "unreachable" => Ok(SourceState::Unreachable),
            other => Err(format!("unknown source state `{other}`")),
        }
    }
}

/// HTTP validators of one fetched document, for conditional GETs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// A followed vendor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Vendor {
    #[schema(value_type = String, format = Uuid)]
    pub id: VendorId,
    pub slug: String,
    pub name: String,
    /// The vendor's status page, for people.
    pub page_url: String,
    /// The endpoint to fetch when it is not derived from `page_url` (status.io, Checkly).
    pub source_url: Option<String>,
    pub adapter: AdapterKind,
    pub poll_interval_seconds: u64,
    /// External ids of the vendor components that matter; empty means all.
    pub components_of_interest: Vec<String>,
    pub enabled: bool,
    pub source_state: SourceState,
    /// Why the last poll failed.
    pub source_error: Option<String>,
    /// When the source became unreachable (the first failed poll of the current run).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub unreachable_since: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_checked_at: Option<Timestamp>,
    /// Whether the first poll's silent import of history has happened.
    pub imported: bool,
    #[serde(skip)]
    #[schema(ignore)]
    pub validators: BTreeMap<String, Validators>,
    pub managed_by: ManagedBy,
    pub config_key: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

impl Vendor {
    /// Whether a vendor component (by external id) is one the operator follows.
    pub fn follows(&self, external_id: &str) -> bool {
        self.components_of_interest.is_empty()
            || self.components_of_interest.iter().any(|c| c == external_id)
    }
}

/// A vendor to create, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct NewVendor {
    pub slug: String,
    pub name: String,
    pub page_url: String,
    pub source_url: Option<String>,
    pub adapter: AdapterKind,
    pub poll_interval_seconds: u64,
    pub components_of_interest: Vec<String>,
    pub enabled: bool,
    pub managed_by: ManagedBy,
    pub config_key: Option<String>,
}

/// A partial change; `None` keeps the current value.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct VendorPatch {
    pub name: Option<String>,
    pub page_url: Option<String>,
    pub source_url: Option<Option<String>>,
    pub adapter: Option<AdapterKind>,
    pub poll_interval_seconds: Option<u64>,
    pub components_of_interest: Option<Vec<String>>,
    pub enabled: Option<bool>,
}

/// A vendor's component as last seen.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct VendorComponentRecord {
    #[schema(value_type = String, format = Uuid)]
    pub id: VendorComponentId,
    pub external_id: String,
    pub name: String,
    pub group: Option<String>,
    pub description: Option<String>,
    pub status: ComponentStatus,
    /// The vendor's order.
    pub position: i64,
    /// Set when a complete listing no longer has it.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub removed_at: Option<Timestamp>,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

/// Incident or maintenance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    Incident,
    Maintenance,
}

impl RecordKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            RecordKind::Incident => "incident",
            RecordKind::Maintenance => "maintenance",
        }
    }
}

impl std::str::FromStr for RecordKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "incident" => Ok(RecordKind::Incident),
            "maintenance" => Ok(RecordKind::Maintenance),
            other => Err(format!("unknown vendor record kind `{other}`")),
        }
    }
}

/// The status of a vendor record: an incident status or a maintenance status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum RecordStatus {
    Incident(IncidentStatus),
    Maintenance(MaintenanceStatus),
}

impl RecordStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            RecordStatus::Incident(s) => s.as_str(),
            RecordStatus::Maintenance(s) => s.as_str(),
        }
    }

    pub fn parse(kind: RecordKind, s: &str) -> Result<Self, String> {
        match kind {
            RecordKind::Incident => s
                .parse()
                .map(RecordStatus::Incident)
                .map_err(|e: crate::domain::EnumParseError| e.to_string()),
            RecordKind::Maintenance => s
                .parse()
                .map(RecordStatus::Maintenance)
                .map_err(|e: crate::domain::EnumParseError| e.to_string()),
        }
    }

    /// Resolved, postmortem or completed.
    pub fn is_closed(&self) -> bool {
        match self {
            RecordStatus::Incident(s) => s.is_closed(),
            RecordStatus::Maintenance(s) => *s == MaintenanceStatus::Completed,
        }
    }
}

/// A vendor's incident or maintenance as Pharos stores it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct VendorIncidentRecord {
    #[schema(value_type = String, format = Uuid)]
    pub id: VendorIncidentId,
    pub kind: RecordKind,
    pub external_id: Option<String>,
    /// Normalised name and start minute, for matching records that have no external id.
    pub fingerprint: String,
    pub name: String,
    pub status: RecordStatus,
    /// Maintenances: none.
    pub impact: IncidentImpact,
    /// Maintenances: when it is scheduled to start.
    #[schema(value_type = String, format = DateTime)]
    pub started_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub resolved_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub scheduled_until: Option<Timestamp>,
    pub url: Option<String>,
    /// External ids of the vendor components it affects.
    pub component_ids: Vec<String>,
    /// When Pharos first saw it ("Detected by Pharos").
    #[schema(value_type = String, format = DateTime)]
    pub first_seen_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    /// Oldest first.
    pub updates: Vec<VendorUpdateRecord>,
}

/// One update of a vendor record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct VendorUpdateRecord {
    pub external_id: Option<String>,
    pub status: RecordStatus,
    pub body: String,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub first_seen_at: Timestamp,
}

/// Everything stored about one vendor's page, as the poller diffs against it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct VendorState {
    pub components: Vec<VendorComponentRecord>,
    /// Incidents and maintenances, newest first.
    pub incidents: Vec<VendorIncidentRecord>,
}

/// The source's state after a poll.
#[derive(Clone, Debug, PartialEq)]
pub struct SourceUpdate {
    pub state: SourceState,
    pub error: Option<String>,
    pub unreachable_since: Option<Timestamp>,
}

/// What one poll stores: the changes it found and the source's state. Stored only when
/// something changed; the poll time and validators of unchanged polls are written in
/// batches ([`VendorChecked`]).
#[derive(Clone, Debug, PartialEq)]
pub struct PollRecord {
    pub diff: super::diff::Diff,
    pub source: SourceUpdate,
    /// True once a poll succeeded (the first one imports silently).
    pub imported: bool,
    pub checked_at: Timestamp,
    pub validators: BTreeMap<String, Validators>,
}

/// A vendor's last poll time and validators, written in batches.
#[derive(Clone, Debug, PartialEq)]
pub struct VendorChecked {
    pub id: VendorId,
    pub at: Timestamp,
    pub validators: BTreeMap<String, Validators>,
}

/// Every problem with a vendor's settings, each naming its field.
pub fn validate_vendor(
    slug: &str,
    page_url: &str,
    source_url: Option<&str>,
    poll_interval_seconds: u64,
) -> Vec<String> {
    let mut problems = Vec::new();
    let slug_ok = !slug.is_empty()
        && slug.len() <= 64
        && slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !slug.starts_with('-')
        && !slug.ends_with('-');
    if !slug_ok {
        problems.push(format!(
            "`slug` `{slug}` must be 1 to 64 lower-case letters, digits and inner hyphens, such as `github` or `aws-health`"
        ));
    }
    for (field, value) in [("page_url", Some(page_url)), ("source_url", source_url)] {
        if let Some(value) = value {
            if let Err(problem) = check_url(value) {
                problems.push(format!("`{field}`: {problem}"));
            }
        }
    }
    if !(MIN_POLL_SECS..=MAX_POLL_SECS).contains(&poll_interval_seconds) {
        problems.push(format!(
            "`poll_interval_seconds` must be {MIN_POLL_SECS} to {MAX_POLL_SECS} (a vendor's page is someone else's server), not {poll_interval_seconds}"
        ));
    }
    problems
}

/// An absolute http(s) URL with a host.
pub fn check_url(value: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(value).map_err(|e| format!("`{value}` is not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!(
            "`{value}` must be an http:// or https:// URL with a host"
        ));
    }
    Ok(url)
}

/// A slug made from a name: `Amazon Web Services` → `amazon-web-services`.
pub fn slugify(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-');
    slug.chars()
        .take(64)
        .collect::<String>()
        .trim_end_matches('-')
        .to_string()
}

/// What the `/vendors` list needs of every vendor's page, in two small reads: the
/// components that are not operational, and the open incidents and maintenances.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct VendorProblems {
    /// (vendor, component external id, component name, status), components not removed.
    pub components: Vec<(VendorId, String, String, ComponentStatus)>,
    /// (vendor, kind, name, impact) of records that are open: not resolved, not completed.
    pub open: Vec<(VendorId, RecordKind, String, IncidentImpact)>,
}

/// One of your components depending on a vendor or on one of its components.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Dependency {
    #[schema(value_type = String, format = Uuid)]
    pub id: crate::domain::DependencyId,
    #[schema(value_type = String, format = Uuid)]
    pub component_id: crate::domain::ComponentId,
    #[schema(value_type = String, format = Uuid)]
    pub vendor_id: VendorId,
    /// The vendor component's external id; none: the whole vendor.
    pub vendor_component: Option<String>,
    /// The status your component takes while the dependency is degraded or worse; none: it
    /// is only shown as "Upstream: ...".
    pub set_status: Option<ComponentStatus>,
    /// Whether the upstream going bad prepares an incident draft.
    pub draft_incident: bool,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

/// A dependency to create, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct NewDependency {
    pub component_id: crate::domain::ComponentId,
    pub vendor_id: VendorId,
    pub vendor_component: Option<String>,
    pub set_status: Option<ComponentStatus>,
    pub draft_incident: bool,
}

/// A dependency whose upstream is degraded or worse now, for the page: "Upstream: GitHub —
/// Actions: Partial outage".
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UpstreamProblem {
    pub component_id: crate::domain::ComponentId,
    pub vendor_id: VendorId,
    pub vendor_slug: String,
    pub vendor_name: String,
    /// The vendor component that is not operational.
    pub vendor_component: String,
    pub status: ComponentStatus,
}

/// A vendor declared in the configuration file (`[[vendors.follow]]`), validated; `slug` is
/// its key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeclaredVendor {
    pub slug: String,
    pub name: String,
    pub page_url: String,
    pub source_url: Option<String>,
    pub adapter: AdapterKind,
    pub poll_interval_seconds: u64,
    pub components_of_interest: Vec<String>,
    pub enabled: bool,
}

/// An incident prepared from a dependency whose upstream went bad, waiting for a responder.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IncidentDraft {
    #[schema(value_type = String, format = Uuid)]
    pub id: uuid::Uuid,
    #[schema(value_type = String, format = Uuid)]
    pub dependency_id: crate::domain::DependencyId,
    #[schema(value_type = String, format = Uuid)]
    pub component_id: crate::domain::ComponentId,
    pub name: String,
    pub body: String,
    pub impact: IncidentImpact,
    /// The status publishing sets on the component (the dependency's `set_status`).
    pub set_status: Option<ComponentStatus>,
    /// The vendor incident's page, or the vendor's page.
    pub reference: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}
