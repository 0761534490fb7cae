//! The event log's vocabulary. Every change the store makes appends one or more events in the
//! same transaction; notifications, feeds and the public snapshot are derived from them, so
//! nothing is announced that was not stored and nothing stored goes unannounced.
//!
//! An event carries the resource as it is after the change (or as it was, for a deletion),
//! so a consumer never has to read the current state to understand the event. Incident events
//! carry the incident with `updates` holding only the update the event is about (the one
//! posted or edited; none for `incident.updated`, postmortems and deletion), so an event's
//! size does not grow with the incident's timeline.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Who caused a change. Recorded on every event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor(String);

impl Actor {
    /// A change made through the management API with the named token.
    pub fn token(name: &str) -> Self {
        Actor(format!("token:{name}"))
    }
    /// A change made by the command line on this machine (`pharos token create`, ...).
    pub fn cli() -> Self {
        Actor("cli".into())
    }
    /// A change made by reconciling the configuration file at start.
    pub fn config() -> Self {
        Actor("config".into())
    }
    /// A change an anonymous reader made from the status page (subscribing, confirming,
    /// unsubscribing through a signed link).
    pub fn reader() -> Self {
        Actor("reader".into())
    }
    /// An acknowledgement through the signed link in an escalation message.
    pub fn acknowledge_link() -> Self {
        Actor("link".into())
    }
    /// A change a signed-in user made through the web UI.
    pub fn user(email: &str) -> Self {
        Actor(format!("user:{email}"))
    }
    /// A change Pharos made on its own (a maintenance window opening, a monitor deciding).
    pub fn system() -> Self {
        Actor("pharos".into())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

macro_rules! event_kinds {
    ($($variant:ident => $text:literal),+ $(,)?) => {
        /// Every kind of event Pharos appends. The dotted names are part of the public
        /// interface (`/api/v1/events`) and must not be renamed.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum EventKind {
            $($variant),+
        }

        impl EventKind {
            pub const ALL: &'static [EventKind] = &[$(EventKind::$variant),+];
            pub fn as_str(&self) -> &'static str {
                match self {
                    $(EventKind::$variant => $text),+
                }
            }
        }
    };
}

event_kinds! {
    ComponentGroupCreated => "component_group.created",
    ComponentGroupUpdated => "component_group.updated",
    ComponentGroupDeleted => "component_group.deleted",
    ComponentCreated => "component.created",
    ComponentUpdated => "component.updated",
    ComponentDeleted => "component.deleted",
    ComponentStatusChanged => "component.status_changed",
    IncidentOpened => "incident.opened",
    IncidentUpdated => "incident.updated",
    IncidentUpdatePosted => "incident.update_posted",
    IncidentUpdateEdited => "incident.update_edited",
    IncidentUpdateDeleted => "incident.update_deleted",
    IncidentResolved => "incident.resolved",
    IncidentPostmortemPublished => "incident.postmortem_published",
    IncidentPostmortemSaved => "incident.postmortem_saved",
    IncidentDeleted => "incident.deleted",
    MaintenanceScheduled => "maintenance.scheduled",
    MaintenanceUpdated => "maintenance.updated",
    MaintenanceStarted => "maintenance.started",
    MaintenanceCompleted => "maintenance.completed",
    MaintenanceCancelled => "maintenance.cancelled",
    TokenCreated => "token.created",
    TokenRevoked => "token.revoked",
    MonitorCreated => "monitor.created",
    MonitorUpdated => "monitor.updated",
    MonitorDeleted => "monitor.deleted",
    MonitorStateChanged => "monitor.state_changed",
    VendorCreated => "vendor.created",
    VendorUpdated => "vendor.updated",
    VendorDeleted => "vendor.deleted",
    VendorImported => "vendor.imported",
    VendorSourceUnreachable => "vendor.source_unreachable",
    VendorSourceRecovered => "vendor.source_recovered",
    VendorComponentsChanged => "vendor.components_changed",
    VendorComponentStatusChanged => "vendor.component_status_changed",
    VendorIncidentOpened => "vendor.incident_opened",
    VendorIncidentUpdatePosted => "vendor.incident_update_posted",
    VendorIncidentUpdated => "vendor.incident_updated",
    VendorIncidentResolved => "vendor.incident_resolved",
    VendorMaintenanceScheduled => "vendor.maintenance_scheduled",
    VendorMaintenanceUpdated => "vendor.maintenance_updated",
    VendorMaintenanceStarted => "vendor.maintenance_started",
    VendorMaintenanceCompleted => "vendor.maintenance_completed",
    VendorDependencyCreated => "vendor.dependency_created",
    VendorDependencyDeleted => "vendor.dependency_deleted",
    IncidentDraftCreated => "incident_draft.created",
    IncidentDraftPublished => "incident_draft.published",
    IncidentDraftDismissed => "incident_draft.dismissed",
    ChannelCreated => "channel.created",
    ChannelUpdated => "channel.updated",
    ChannelDeleted => "channel.deleted",
    SubscriberCreated => "subscriber.created",
    SubscriberConfirmed => "subscriber.confirmed",
    SubscriberUpdated => "subscriber.updated",
    SubscriberDeleted => "subscriber.deleted",
    DeliveryRetried => "delivery.retried",
    EscalationPolicyCreated => "escalation_policy.created",
    EscalationPolicyUpdated => "escalation_policy.updated",
    EscalationPolicyDeleted => "escalation_policy.deleted",
    EscalationStarted => "escalation.started",
    EscalationEscalated => "escalation.escalated",
    EscalationAcknowledged => "escalation.acknowledged",
    EscalationResolved => "escalation.resolved",
    EscalationExhausted => "escalation.exhausted",
    UserCreated => "user.created",
    UserUpdated => "user.updated",
    UserDeleted => "user.deleted",
    UserSignedIn => "user.signed_in",
    UserSignedOut => "user.signed_out",
    UserPasswordChanged => "user.password_changed",
    IncidentTemplateCreated => "incident_template.created",
    IncidentTemplateUpdated => "incident_template.updated",
    IncidentTemplateDeleted => "incident_template.deleted",
    PageSettingsChanged => "page.settings_changed",
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
