//! The HTML status page (`/`, `/history`, `/incidents/{id}`, `/embed`), rendered on the server
//! from the snapshot with askama. (Being built.)

use crate::snapshot::Snapshot;

/// Renders the hot pages of a fresh snapshot.
pub fn warm(_snapshot: &Snapshot) {}
