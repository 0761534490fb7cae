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
    /// maintenances: records with the same external id are merged: their updates united,
    /// their other fields from the one whose latest update is newest; records without a
    /// shared id are appended. Coverage is the union: each document is complete for what it
    /// claims.
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
                    let updates = union(&existing.updates, &incident.updates, |u| {
                        (u.external_id.clone(), u.at)
                    });
                    if newer(&incident.updates, &existing.updates, |u| u.at) {
                        *existing = incident;
                    }
                    existing.updates = updates;
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
                    let updates = union(&existing.updates, &maintenance.updates, |u| {
                        (u.external_id.clone(), u.at)
                    });
                    if newer(&maintenance.updates, &existing.updates, |u| u.at) {
                        *existing = maintenance;
                    }
                    existing.updates = updates;
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

/// Every update of `a` and `b` once (the same id, or no id and the same time), oldest first.
fn union<T: Clone>(a: &[T], b: &[T], key: impl Fn(&T) -> (Option<String>, Timestamp)) -> Vec<T> {
    let mut out: Vec<T> = a.to_vec();
    for u in b {
        let (id, at) = key(u);
        let known = out.iter().any(|o| {
            let (oid, oat) = key(o);
            match (&id, &oid) {
                (Some(x), Some(y)) => x == y,
                _ => oat == at,
            }
        });
        if !known {
            out.push(u.clone());
        }
    }
    out.sort_by_key(|u| key(u).1);
    out
}

/// Whether `a`'s latest update is later than `b`'s (or as late, with more updates): the
/// record whose fields (status, impact, resolution) are current.
fn newer<T>(a: &[T], b: &[T], at: impl Fn(&T) -> Timestamp) -> bool {
    let (la, lb) = (a.iter().map(&at).max(), b.iter().map(&at).max());
    la > lb || (la == lb && a.len() > b.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(minute: u32) -> Timestamp {
        Timestamp::parse(&format!("2026-07-24T19:{minute:02}:00Z")).unwrap()
    }

    fn incident(status: IncidentStatus, updates: &[(&str, IncidentStatus, u32)]) -> VendorIncident {
        VendorIncident {
            external_id: Some("inc".into()),
            name: "Errors".into(),
            status,
            impact: IncidentImpact::Minor,
            started_at: t(0),
            resolved_at: None,
            url: None,
            component_ids: vec![],
            updates: updates
                .iter()
                .map(|(id, status, minute)| VendorUpdate {
                    external_id: Some(id.to_string()),
                    status: *status,
                    body: id.to_string(),
                    at: t(*minute),
                })
                .collect(),
        }
    }

    #[test]
    fn merged_documents_unite_updates_and_take_the_newest_fields() {
        use IncidentStatus::*;
        // The history has more updates, the summary the latest one.
        let summary = VendorSnapshot {
            incidents: vec![incident(
                Identified,
                &[("u1", Investigating, 1), ("u4", Identified, 9)],
            )],
            ..Default::default()
        };
        let history = VendorSnapshot {
            incidents: vec![incident(
                Investigating,
                &[
                    ("u1", Investigating, 1),
                    ("u2", Investigating, 3),
                    ("u3", Investigating, 5),
                ],
            )],
            ..Default::default()
        };
        let merged = summary.merge(history);
        assert_eq!(merged.incidents.len(), 1);
        let i = &merged.incidents[0];
        assert_eq!(i.status, Identified);
        let ids: Vec<_> = i
            .updates
            .iter()
            .map(|u| u.external_id.clone().unwrap())
            .collect();
        assert_eq!(ids, ["u1", "u2", "u3", "u4"]);
    }
}
