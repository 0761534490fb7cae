//! The records Pharos stores, as the rest of the program sees them. The management API
//! (`/api/v1`) serialises these directly, since they are Pharos's own vocabulary; the
//! Statuspage-compatible shapes are separate types in `http`.

use super::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ComponentGroup {
    #[schema(value_type = String, format = Uuid)]
    pub id: ComponentGroupId,
    pub name: String,
    pub description: Option<String>,
    pub position: i64,
    pub managed_by: ManagedBy,
    /// The key under which the configuration file declares it, when `managed_by` is `config`.
    pub config_key: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Component {
    #[schema(value_type = String, format = Uuid)]
    pub id: ComponentId,
    pub name: String,
    pub description: Option<String>,
    #[schema(value_type = Option<String>, format = Uuid)]
    pub group_id: Option<ComponentGroupId>,
    pub position: i64,
    /// The status shown now, by the rule in `domain::rules`.
    pub status: ComponentStatus,
    /// The status last set by hand; shown when no incident or maintenance holds one.
    pub base_status: ComponentStatus,
    /// True when the hand-set status was set while incidents held another one and wins over them.
    pub status_pinned: bool,
    pub showcase: bool,
    pub only_show_if_degraded: bool,
    /// `YYYY-MM-DD`; uptime is counted from this day.
    pub start_date: Option<String>,
    pub managed_by: ManagedBy,
    pub config_key: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

/// One recorded change of a component's status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ComponentStatusChange {
    #[schema(value_type = String, format = Uuid)]
    pub component_id: ComponentId,
    pub from: Option<ComponentStatus>,
    pub to: ComponentStatus,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
}

/// Where an incident came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IncidentSource {
    pub kind: SourceKind,
    /// The monitor id, vendor incident reference or similar; none for manual incidents.
    #[serde(rename = "ref")]
    pub reference: Option<String>,
}

/// A component an incident affects, and the status the incident holds for it (if any).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IncidentComponent {
    #[schema(value_type = String, format = Uuid)]
    pub component_id: ComponentId,
    pub status: Option<ComponentStatus>,
}

/// A component's status as an update changed it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AffectedComponent {
    #[schema(value_type = String, format = Uuid)]
    pub component_id: ComponentId,
    pub name: String,
    pub old_status: ComponentStatus,
    pub new_status: ComponentStatus,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IncidentUpdate {
    #[schema(value_type = String, format = Uuid)]
    pub id: IncidentUpdateId,
    pub status: IncidentStatus,
    /// Markdown.
    pub body: String,
    pub affected_components: Vec<AffectedComponent>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    /// How many times the update was edited after posting.
    pub edit_count: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Postmortem {
    /// Markdown.
    pub body: String,
    /// Set once published; a draft has none.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub published_at: Option<Timestamp>,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Incident {
    #[schema(value_type = String, format = Uuid)]
    pub id: IncidentId,
    /// Short id for links (`/incidents/{short_id}`).
    pub short_id: String,
    pub name: String,
    pub status: IncidentStatus,
    pub impact: IncidentImpact,
    pub source: IncidentSource,
    #[schema(value_type = String, format = DateTime)]
    pub started_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub monitoring_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub resolved_at: Option<Timestamp>,
    pub components: Vec<IncidentComponent>,
    /// Newest first, as status pages show them.
    pub updates: Vec<IncidentUpdate>,
    pub postmortem: Option<Postmortem>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MaintenanceUpdate {
    #[schema(value_type = String, format = Uuid)]
    pub id: IncidentUpdateId,
    pub status: MaintenanceStatus,
    pub body: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Maintenance {
    #[schema(value_type = String, format = Uuid)]
    pub id: MaintenanceId,
    pub short_id: String,
    pub name: String,
    pub status: MaintenanceStatus,
    #[schema(value_type = String, format = DateTime)]
    pub scheduled_for: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub scheduled_until: Timestamp,
    /// Start and complete on their own at the window's edges.
    pub auto_transition: bool,
    #[schema(value_type = Vec<String>)]
    pub component_ids: Vec<ComponentId>,
    /// Newest first.
    pub updates: Vec<MaintenanceUpdate>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub started_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub completed_at: Option<Timestamp>,
    /// Set when the window was called off; a cancelled maintenance is `completed`.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub cancelled_at: Option<Timestamp>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ApiToken {
    #[schema(value_type = String)]
    pub id: TokenId,
    pub name: String,
    pub scope: TokenScope,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_used_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub revoked_at: Option<Timestamp>,
}

/// One entry of the append-only event log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Event {
    /// Gapless, increasing; a reader that asks for `after=seq` never misses a late commit.
    pub seq: i64,
    /// Dotted kind, e.g. `incident.opened`.
    pub kind: String,
    /// The id of the resource the event is about.
    pub subject_id: Option<String>,
    /// Who caused it: `token:NAME`, `cli`, `config`, `pharos`.
    pub actor: String,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    /// The resource as it is after the change (or before, for deletions).
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}
