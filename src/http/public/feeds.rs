//! The history feeds (`/history.atom`, `/history.rss`) and the SVG status badges, rendered
//! from the snapshot. (Being built.)

use crate::snapshot::Snapshot;

/// Renders the feeds and badges of a fresh snapshot.
pub fn warm(_snapshot: &Snapshot) {}
