//! The vocabulary of Pharos as types: statuses, impacts, identifiers and the rules that
//! combine them. Nothing here performs I/O; the store and the HTTP layer map these types to
//! rows and to JSON.

pub mod ids;
pub mod model;
pub mod rules;
pub mod status;
pub mod time;

pub use ids::{
    ChannelId, ComponentGroupId, ComponentId, DependencyId, EscalationId, EscalationPolicyId,
    IncidentId, IncidentUpdateId, MaintenanceId, MonitorId, SubscriberId, TokenId,
    VendorComponentId, VendorId, VendorIncidentId,
};
pub use status::{
    ComponentStatus, EnumParseError, IncidentImpact, IncidentStatus, MaintenanceStatus, ManagedBy,
    SourceKind, TokenScope,
};
pub use time::Timestamp;
