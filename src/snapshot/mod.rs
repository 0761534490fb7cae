//! The public snapshot: everything the public side shows (page, groups, components, open and
//! recent incidents, maintenances, 90 days of daily status), held in memory and swapped
//! atomically, so public requests make no database query and stay fast under a spike, and keep
//! answering when the database is away.
//!
//! [`PublicState`] is the data, built from the store by [`build`] and kept current by the
//! [`projector`], which follows the event log. A [`Snapshot`] pairs a state with the responses
//! rendered from it: each response is rendered and compressed once per snapshot, on first use
//! or when the projector warms it, never per request. This module knows nothing of the formats
//! (JSON, HTML, feeds); the HTTP layer supplies the renderers.

pub mod build;
pub mod projector;
pub mod uptime;

use crate::config::FooterLink;
use crate::domain::model::{Component, ComponentGroup, Incident, Maintenance};
use crate::domain::{ComponentId, ComponentStatus, MaintenanceStatus, Timestamp};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::sync::{Arc, RwLock};
use uptime::ComponentUptime;

/// How the page presents itself. Fields added after the first release carry `serde(default)`,
/// so a `snapshot.json` written by an older version still loads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PageInfo {
    /// A stable 12-character id in the style of Statuspage's page ids.
    pub id: String,
    pub name: String,
    pub url: String,
    /// An IANA zone name; see [`PageInfo::tz`].
    pub time_zone: String,
    /// Shown in the header instead of the name (validated by the configuration).
    #[serde(default)]
    pub logo_url: Option<String>,
    /// `#rrggbb`, served in `/assets/theme.css`.
    #[serde(default)]
    pub accent_color: Option<String>,
    #[serde(default)]
    pub footer_links: Vec<FooterLink>,
    /// A short Markdown text for every page's footer (rendered sanitised by the pages).
    #[serde(default)]
    pub footer_text: Option<String>,
    /// Whether `/vendors` pages are public (`[vendors] public`): the navigation links them
    /// when vendors are followed.
    #[serde(default)]
    pub vendors_public: bool,
    /// When the settings stored from the web UI or the API (`/admin/settings`,
    /// `PATCH /api/v1/page`) last changed; none before the first change. Counts as a change
    /// of the page ([`PublicState::last_change`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<Timestamp>,
}

impl PageInfo {
    /// The page as `page` describes it: the configuration's settings, or (as the projector
    /// builds it) those merged with the stored ones (`PageSettings::merged`).
    pub fn from_settings(page: &crate::config::PageSettings) -> PageInfo {
        let digest = Sha256::digest(page.url.as_bytes());
        const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
        let id = digest
            .iter()
            .take(12)
            .map(|b| ALPHABET[(*b as usize) % ALPHABET.len()] as char)
            .collect();
        PageInfo {
            id,
            name: page.name.clone(),
            url: page.url.clone(),
            time_zone: page.time_zone.clone(),
            logo_url: page.logo_url.clone(),
            accent_color: page.accent_color.clone(),
            footer_links: page.footer_links.clone(),
            footer_text: page.footer_text.clone(),
            vendors_public: page.vendors_public,
            updated_at: None,
        }
    }

    /// The page of the configuration's settings merged with the stored ones, as the running
    /// app shows it, with when the stored ones last changed.
    pub fn from_stored(
        config: &crate::config::PageSettings,
        stored: &crate::store::StoredPageSettings,
    ) -> PageInfo {
        PageInfo {
            updated_at: stored.updated_at,
            ..PageInfo::from_settings(&config.merged(stored))
        }
    }

    /// The stored-settings view of a page shown before (a snapshot read from disk): every
    /// field as it was, so that merging it under the configuration keeps what the web UI had
    /// set while the database is away.
    pub fn as_stored(&self) -> crate::store::StoredPageSettings {
        crate::store::StoredPageSettings {
            name: Some(self.name.clone()),
            logo_url: self.logo_url.clone(),
            accent_color: self.accent_color.clone(),
            time_zone: Some(self.time_zone.clone()),
            footer_links: Some(self.footer_links.clone()),
            footer_text: self.footer_text.clone(),
            updated_at: self.updated_at,
            updated_by: None,
        }
    }

    /// The zone the pages and feeds write times in. The configuration validated the name;
    /// anything else (a snapshot file edited by hand) falls back to UTC.
    pub fn tz(&self) -> chrono_tz::Tz {
        self.time_zone.parse().unwrap_or(chrono_tz::UTC)
    }
}

/// Everything public, at one point of the event log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublicState {
    pub page: PageInfo,
    pub built_at: Timestamp,
    /// The last event this state includes; -1 before the first build.
    pub as_of_seq: i64,
    /// In display order.
    pub groups: Vec<ComponentGroup>,
    /// In display order.
    pub components: Vec<Component>,
    /// Open incidents and the most recent resolved ones, newest first.
    pub incidents: Vec<Incident>,
    /// Every maintenance that is upcoming, active, or recently completed, soonest first.
    pub maintenances: Vec<Maintenance>,
    pub uptime: BTreeMap<ComponentId, ComponentUptime>,
    /// Monitored components: how many monitors drive each, and when one last checked it.
    /// Absent from snapshots written before monitoring existed.
    #[serde(default)]
    pub checks: BTreeMap<ComponentId, crate::store::ComponentChecks>,
    /// Components whose vendor dependencies are degraded or worse now, by component.
    /// Absent from snapshots written before vendor tracking existed.
    #[serde(default)]
    pub upstream: BTreeMap<ComponentId, Vec<crate::vendor::record::UpstreamProblem>>,
    /// Vendors some component depends on: only their events can change this state (see
    /// `projector`).
    #[serde(default)]
    pub depended_on: std::collections::BTreeSet<crate::domain::VendorId>,
    /// Whether any vendor is followed (and enabled), for the navigation.
    #[serde(default)]
    pub vendors_followed: bool,
}

/// The page's overall status, by Statuspage's rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overall {
    /// `none`, `minor`, `major`, `critical` or `maintenance`.
    pub indicator: &'static str,
    pub description: &'static str,
}

impl PublicState {
    /// A state with nothing in it, shown until the first build.
    pub fn empty(page: PageInfo, now: Timestamp) -> PublicState {
        PublicState {
            page,
            built_at: now,
            as_of_seq: -1,
            groups: Vec::new(),
            components: Vec::new(),
            incidents: Vec::new(),
            maintenances: Vec::new(),
            uptime: BTreeMap::new(),
            checks: BTreeMap::new(),
            upstream: BTreeMap::new(),
            depended_on: Default::default(),
            vendors_followed: false,
        }
    }

    /// The overall indicator and description, computed from component statuses as Atlassian
    /// Statuspage does: any major outage is `major` ("Partial System Outage"), or `critical`
    /// ("Major System Outage") when every component is down; partial outages are `minor`
    /// ("Minor Service Outage"), `major` when all components have one; degraded performance is
    /// `minor` ("Partially Degraded Service", or "Degraded System Service" when all are);
    /// maintenance with nothing worse is `maintenance`, and so is an active maintenance window
    /// while nothing is wrong (even one over no component). Incidents without component impact
    /// do not change it (a real Statuspage page shows an open `impact: none` incident under
    /// "All Systems Operational"). `status.json`, the banner and the badges all show this.
    pub fn overall(&self) -> Overall {
        let overall = overall_of(self.components.iter().map(|c| c.status));
        if overall.indicator == "none" && self.active_maintenances().next().is_some() {
            return Overall {
                indicator: "maintenance",
                description: "Service Under Maintenance",
            };
        }
        overall
    }

    /// When anything public last changed: the newest `updated_at` of what the page shows
    /// (the stored page settings included: a new name or logo is a change of the page, as
    /// Statuspage's `page.updated_at` counts it), or the build time of an empty page. Unlike
    /// `built_at`, it stays put across the periodic rebuilds, so documents that show it keep
    /// their validators.
    pub fn last_change(&self) -> Timestamp {
        self.page
            .updated_at
            .into_iter()
            .chain(self.groups.iter().map(|g| g.updated_at))
            .chain(self.components.iter().map(|c| c.updated_at))
            .chain(self.incidents.iter().map(|i| i.updated_at))
            .chain(self.maintenances.iter().map(|m| m.updated_at))
            .max()
            .unwrap_or(self.built_at)
    }

    /// A group's status: the worst of its components.
    pub fn group_status(&self, group: &ComponentGroup) -> ComponentStatus {
        ComponentStatus::worst(
            self.components
                .iter()
                .filter(|c| c.group_id == Some(group.id))
                .map(|c| c.status),
        )
        .unwrap_or(ComponentStatus::Operational)
    }

    pub fn unresolved_incidents(&self) -> impl Iterator<Item = &Incident> {
        self.incidents.iter().filter(|i| i.resolved_at.is_none())
    }

    pub fn upcoming_maintenances(&self) -> impl Iterator<Item = &Maintenance> {
        self.maintenances
            .iter()
            .filter(|m| m.status == MaintenanceStatus::Scheduled)
    }

    pub fn active_maintenances(&self) -> impl Iterator<Item = &Maintenance> {
        self.maintenances.iter().filter(|m| m.status.is_active())
    }

    pub fn component(&self, id: ComponentId) -> Option<&Component> {
        self.components.iter().find(|c| c.id == id)
    }

    pub fn group_name(&self, component: &Component) -> Option<&str> {
        let gid = component.group_id?;
        self.groups
            .iter()
            .find(|g| g.id == gid)
            .map(|g| g.name.as_str())
    }
}

/// The overall status of a set of component statuses (see [`PublicState::overall`]).
pub fn overall_of(statuses: impl IntoIterator<Item = ComponentStatus>) -> Overall {
    use ComponentStatus::*;
    let statuses: Vec<ComponentStatus> = statuses.into_iter().collect();
    let count = |s: ComponentStatus| statuses.iter().filter(|x| **x == s).count();
    let all = statuses.len();
    let (major, partial, degraded, maintenance) = (
        count(MajorOutage),
        count(PartialOutage),
        count(DegradedPerformance),
        count(UnderMaintenance),
    );
    let o = |indicator, description| Overall {
        indicator,
        description,
    };
    if major > 0 {
        if major == all {
            o("critical", "Major System Outage")
        } else {
            o("major", "Partial System Outage")
        }
    } else if partial > 0 {
        if partial == all {
            o("major", "Partial System Outage")
        } else {
            o("minor", "Minor Service Outage")
        }
    } else if degraded > 0 {
        if degraded == all {
            o("minor", "Degraded System Service")
        } else {
            o("minor", "Partially Degraded Service")
        }
    } else if maintenance > 0 {
        o("maintenance", "Service Under Maintenance")
    } else {
        o("none", "All Systems Operational")
    }
}

/// One public response, rendered once: the body, its compressed forms and its validator.
#[derive(Debug)]
pub struct Rendered {
    pub content_type: &'static str,
    pub body: Bytes,
    pub gzip: Bytes,
    pub brotli: Bytes,
    /// A strong validator of `body`; compressed forms append `-gz` / `-br` inside the quotes.
    pub etag: String,
    /// The validators of the plain, gzip and brotli forms, made once so that serving a
    /// response builds no header text (`Bytes`, so a header value shares them).
    pub etags: [Bytes; 3],
}

impl Rendered {
    pub fn new(content_type: &'static str, body: Vec<u8>) -> Rendered {
        let digest = Sha256::digest(&body);
        let etag = format!("\"{}\"", hex::encode(&digest[..12]));
        let gzip = {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
            enc.write_all(&body).expect("writing to memory");
            enc.finish().expect("writing to memory")
        };
        let brotli = {
            let mut out = Vec::new();
            let params = brotli::enc::BrotliEncoderParams {
                quality: 9,
                lgwin: 22,
                ..Default::default()
            };
            brotli::BrotliCompress(&mut &body[..], &mut out, &params).expect("writing to memory");
            out
        };
        Rendered {
            content_type,
            body: Bytes::from(body),
            gzip: Bytes::from(gzip),
            brotli: Bytes::from(brotli),
            etags: [
                Bytes::from(etag.clone()),
                Bytes::from(format!("{}-gz\"", &etag[..etag.len() - 1])),
                Bytes::from(format!("{}-br\"", &etag[..etag.len() - 1])),
            ],
            etag,
        }
    }
}

/// A state and the responses rendered from it.
pub struct Snapshot {
    pub state: Arc<PublicState>,
    /// Set when the database could not be reached: the page says "status as of ...".
    pub stale_since: Option<Timestamp>,
    /// The status history the state's uptime bars were computed from, handed to the next
    /// build so it reads only the events since (see [`uptime::StatusHistory`]); none for a
    /// state loaded from disk.
    pub history: Option<Arc<uptime::StatusHistory>>,
    // A std RwLock: held only for a map lookup or insert, never across an await. After the
    // projector warms the hot responses, requests only take the read lock.
    rendered: RwLock<HashMap<String, Arc<Rendered>>>,
}

impl Snapshot {
    pub fn new(state: Arc<PublicState>, stale_since: Option<Timestamp>) -> Snapshot {
        Snapshot {
            state,
            stale_since,
            history: None,
            rendered: RwLock::new(HashMap::new()),
        }
    }

    /// The snapshot with the status history its bars were computed from.
    pub fn with_history(mut self, history: Option<Arc<uptime::StatusHistory>>) -> Snapshot {
        self.history = history;
        self
    }

    /// The response under `key`, rendering it with `render` the first time. `None` when the
    /// renderer says the key names nothing (an unknown incident).
    pub fn rendered(
        &self,
        key: &str,
        render: impl FnOnce(&Snapshot) -> Option<Rendered>,
    ) -> Option<Arc<Rendered>> {
        if let Some(hit) = self.rendered.read().expect("render cache").get(key) {
            return Some(hit.clone());
        }
        let fresh = Arc::new(render(self)?);
        let mut cache = self.rendered.write().expect("render cache");
        // Bound the cache: keys come from URLs of incidents that exist, but stay careful.
        if cache.len() > 10_000 {
            cache.clear();
        }
        Some(cache.entry(key.to_string()).or_insert(fresh).clone())
    }
}

/// The current snapshot, swapped atomically by the projector and read lock-free by requests.
pub type SnapshotCell = arc_swap::ArcSwap<Snapshot>;

#[cfg(test)]
mod tests {
    use super::*;
    use ComponentStatus::*;

    #[test]
    fn overall_status_follows_statuspage_rules() {
        let cases: &[(&[ComponentStatus], &str, &str)] = &[
            (&[], "none", "All Systems Operational"),
            (
                &[Operational, Operational],
                "none",
                "All Systems Operational",
            ),
            (
                &[Operational, UnderMaintenance],
                "maintenance",
                "Service Under Maintenance",
            ),
            (
                &[Operational, DegradedPerformance],
                "minor",
                "Partially Degraded Service",
            ),
            (
                &[DegradedPerformance, DegradedPerformance],
                "minor",
                "Degraded System Service",
            ),
            (
                &[Operational, PartialOutage, DegradedPerformance],
                "minor",
                "Minor Service Outage",
            ),
            (
                &[PartialOutage, PartialOutage],
                "major",
                "Partial System Outage",
            ),
            (
                &[Operational, MajorOutage],
                "major",
                "Partial System Outage",
            ),
            (
                &[MajorOutage, UnderMaintenance, PartialOutage],
                "major",
                "Partial System Outage",
            ),
            (
                &[MajorOutage, MajorOutage],
                "critical",
                "Major System Outage",
            ),
            (
                &[UnderMaintenance, PartialOutage],
                "minor",
                "Minor Service Outage",
            ),
        ];
        for (statuses, indicator, description) in cases {
            let o = overall_of(statuses.iter().copied());
            assert_eq!(
                (o.indicator, o.description),
                (*indicator, *description),
                "{statuses:?}"
            );
        }
    }

    #[test]
    fn a_change_of_the_stored_settings_is_a_change_of_the_page() {
        let old =
            r#"{"id":"abc","name":"Acme","url":"https://status.example.com","time_zone":"UTC"}"#;
        let page: PageInfo = serde_json::from_str(old).unwrap();
        assert_eq!(page.updated_at, None, "absent from older snapshot files");
        let built = Timestamp::parse("2024-05-01T12:00:00Z").unwrap();
        let empty = PublicState::empty(page.clone(), built);
        assert_eq!(empty.last_change(), built);
        let changed = Timestamp::parse("2024-04-01T08:00:00Z").unwrap();
        let renamed = PublicState::empty(
            PageInfo {
                updated_at: Some(changed),
                ..page
            },
            built,
        );
        assert_eq!(renamed.last_change(), changed);
        let json = serde_json::to_string(&renamed.page).unwrap();
        let back: PageInfo = serde_json::from_str(&json).unwrap();
        assert_eq!(back.updated_at, Some(changed), "kept in the snapshot file");
    }

    #[test]
    fn page_info_from_an_older_snapshot_file_still_loads() {
        let old =
            r#"{"id":"abc","name":"Acme","url":"https://status.example.com","time_zone":"UTC"}"#;
        let page: PageInfo = serde_json::from_str(old).unwrap();
        assert_eq!(page.name, "Acme");
        assert!(page.logo_url.is_none() && page.accent_color.is_none());
        assert!(page.footer_links.is_empty());
        assert_eq!(page.tz(), chrono_tz::UTC);
        let zoned = PageInfo {
            time_zone: "America/New_York".into(),
            ..page.clone()
        };
        assert_eq!(zoned.tz(), chrono_tz::America::New_York);
        let bad = PageInfo {
            time_zone: "Nowhere/Special".into(),
            ..page
        };
        assert_eq!(bad.tz(), chrono_tz::UTC);
    }

    #[test]
    fn rendered_bodies_decompress_to_the_original() {
        use std::io::Read;
        let body = "{\"hello\":\"world\"}".repeat(100).into_bytes();
        let r = Rendered::new("application/json", body.clone());
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&r.gzip[..])
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, body);
        let mut out = Vec::new();
        brotli::BrotliDecompress(&mut &r.brotli[..], &mut out).unwrap();
        assert_eq!(out, body);
        assert!(r.gzip.len() < body.len() && r.brotli.len() < body.len());
        assert_eq!(r.etag.len(), 26);
    }
}
