//! The normalised shape of one vendor status page, as every adapter produces it. Adapters
//! know their source format; nothing after them does. Everything here is plain data: the
//! vendor's own ids are kept as `external_id` strings, times are UTC, statuses use Pharos's
//! vocabulary, and bodies are plain text (adapters turn HTML into text).

use crate::domain::status::{ComponentStatus, IncidentImpact, IncidentStatus, MaintenanceStatus};
use crate::domain::time::Timestamp;
use serde::{Deserialize, Serialize};

/// What one poll of a vendor saw.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct VendorSnapshot {
    /// The page's own name, when the source says it.
    pub page_name: Option<String>,
    /// Components in the vendor's order. Groups are flattened: a component keeps its
    /// group's name, and group headers themselves are not components.
    pub components: Vec<VendorComponent>,
    pub incidents: Vec<VendorIncident>,
    pub maintenances: Vec<VendorMaintenance>,
    /// What this source can be trusted to list completely, which decides what the absence
    /// of a record means.
    pub coverage: Coverage,
    /// Values the adapter did not recognise and mapped to a default, such as
    /// `incident impact "sev0" → major`. The poller logs each one once per vendor.
    pub unknown_values: Vec<String>,
}

/// What a source lists completely.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coverage {
    /// The source lists every component the vendor has: a stored component missing from
    /// it was removed by the vendor.
    pub components: bool,
    /// The source lists every incident that is still open (a summary, a "current" API):
    /// a stored open incident missing from it has been resolved by the vendor.
    pub open_incidents: bool,
    /// The source lists every maintenance that is scheduled or active.
    pub open_maintenances: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VendorComponent {
    /// The vendor's id, or the name when the source has no ids.
    pub external_id: String,
    pub name: String,
    pub status: ComponentStatus,
    /// The name of the group this component belongs to, if any.
    pub group: Option<String>,
    pub description: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VendorIncident {
    /// The vendor's id. Sources with ids in different forms (a JSON id and a feed entry
    /// link) are reduced to the same id by the adapters where the format allows.
    pub external_id: Option<String>,
    pub name: String,
    pub status: IncidentStatus,
    pub impact: IncidentImpact,
    pub started_at: Timestamp,
    pub resolved_at: Option<Timestamp>,
    /// The incident's page at the vendor ("View vendor source").
    pub url: Option<String>,
    /// External ids of the vendor components it affects.
    pub component_ids: Vec<String>,
    /// Oldest first.
    pub updates: Vec<VendorUpdate>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VendorUpdate {
    pub external_id: Option<String>,
    pub status: IncidentStatus,
    /// Plain text.
    pub body: String,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VendorMaintenance {
    pub external_id: Option<String>,
    pub name: String,
    pub status: MaintenanceStatus,
    pub scheduled_for: Timestamp,
    pub scheduled_until: Option<Timestamp>,
    pub url: Option<String>,
    pub component_ids: Vec<String>,
    /// Oldest first; the status of a maintenance update is the maintenance status then.
    pub updates: Vec<VendorMaintenanceUpdate>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VendorMaintenanceUpdate {
    pub external_id: Option<String>,
    pub status: MaintenanceStatus,
    pub body: String,
    pub at: Timestamp,
}

impl VendorSnapshot {
    /// Combine what two documents of one vendor said (a summary and a history feed, say).
    /// Components: the first document that lists components wins. Incidents and
    /// maintenances: records with the same external id are merged, the one with more
    /// updates (then the later last update) winning; records without a shared id are
    /// appended. Coverage is the union: each document is complete for what it claims.
    pub fn merge(mut self, other: VendorSnapshot) -> VendorSnapshot {
        if self.page_name.is_none() {
            self.page_name = other.page_name;
        }
        if self.components.is_empty() {
            self.components = other.components;
        }
        for incident in other.incidents {
            match incident.external_id.as_ref().and_then(|id| {
                self.incidents
                    .iter_mut()
                    .find(|i| i.external_id.as_ref() == Some(id))
            }) {
                Some(existing) => {
                    if richer(&incident.updates, &existing.updates, |u| u.at) {
                        *existing = incident;
                    }
                }
                None => self.incidents.push(incident),
            }
        }
        for maintenance in other.maintenances {
            match maintenance.external_id.as_ref().and_then(|id| {
                self.maintenances
                    .iter_mut()
                    .find(|m| m.external_id.as_ref() == Some(id))
            }) {
                Some(existing) => {
                    if richer(&maintenance.updates, &existing.updates, |u| u.at) {
                        *existing = maintenance;
                    }
                }
                None => self.maintenances.push(maintenance),
            }
        }
        self.coverage.components |= other.coverage.components;
        self.coverage.open_incidents |= other.coverage.open_incidents;
        self.coverage.open_maintenances |= other.coverage.open_maintenances;
        self.unknown_values.extend(other.unknown_values);
        self
    }
}

/// Whether `a` says more than `b`: more updates, or as many and a later last one.
fn richer<T>(a: &[T], b: &[T], at: impl Fn(&T) -> Timestamp) -> bool {
    a.len() > b.len() || (a.len() == b.len() && a.last().map(&at) > b.last().map(&at))
}
