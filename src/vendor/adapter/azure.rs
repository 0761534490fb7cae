//! Azure's status RSS feed: the incidents currently posted on the public Azure status page.
//!
//! # Endpoint
//!
//! `https://rssfeed.azure.status.microsoft/en-us/status/feed/`. With no explicit source, the
//! page URL is used as it is when it already looks like a feed (its host starts with `rssfeed.`
//! or its path ends in `/feed`, `/feed/`, `.rss` or `.xml`), else `<page>/en-us/status/feed/`.
//!
//! # Recognition
//!
//! An RSS feed whose channel title is "Azure Status" (any case), or whose channel link is on
//! `azure.status.microsoft`, `status.azure.com` or one of Azure's `azurestatus*.azurewebsites.net`
//! origins (the fixtures' channel links). Other feeds are [`ParseError::NotThisFormat`].
//!
//! # Mapping
//!
//! Each `<item>` is one active incident:
//!
//! | Azure | Pharos |
//! |-------|--------|
//! | `guid` (stable across updates of one incident) | `external_id` (else the title) |
//! | `title`, `description` (HTML) | `name`, the text of the one update |
//! | `pubDate` (first publication; a bare `Z` zone) | `started_at` |
//! | `category`s (affected services and regions) | `component_ids`, and one component each |
//! | presence in the feed | status `investigating`; `resolved` only when the title or text opens with "Resolved"/"Mitigated" (the rule of the generic feed adapter) |
//!
//! The feed carries no impact and no status. Being listed on Azure's public status page means a
//! broad outage (narrower ones go to Service Health only), so every category of an open item is
//! a component in `partial_outage`, and the impact follows from it
//! ([`IncidentImpact::from_component_status`], `major`); an item without categories is `minor`.
//! A category seen only on items that say they are resolved is `operational`.
//!
//! The update is dated with the channel's `lastBuildDate` (when this text was seen; `pubDate` does
//! not move when Azure edits the text) and its `external_id` is a hash of its text, so each poll
//! that finds a new text adds one update and a poll that finds the same text adds none. The
//! item `link` is only the status page (the same for every item), so `url` is set only when an
//! item's link differs from the channel's.
//!
//! # Coverage
//!
//! The feed lists every active incident, so `open_incidents` is set: an empty channel means no
//! incident, and an incident missing later has ended. It does not list healthy services, so not
//! `components`; nor planned maintenance, so not `open_maintenances`.
//!
//! # What the format cannot tell us
//!
//! Which categories are services and which are regions ("West US" is a category like "App
//! Service"); the severity per service; update history (only the current text); when an incident
//! ended (it just disappears); and, since components are only ever seen while affected, that a
//! service has recovered: the feed never lists a component as operational again.

use super::feed::{entry_link, plain, read_feed, says_resolved, text_id, timestamp};
use super::text::html_to_text;
use super::{at_path, Adapter, AdapterKind, Document, ParseError};
use crate::domain::status::{ComponentStatus, IncidentImpact, IncidentStatus};
use crate::vendor::model::{VendorComponent, VendorIncident, VendorSnapshot, VendorUpdate};
use url::Url;

const FORMAT: &str = "Azure status feed";

pub struct Azure;

impl Adapter for Azure {
    fn kind(&self) -> AdapterKind {
        AdapterKind::Azure
    }

    fn documents(&self, page: &Url, source: Option<&Url>) -> Vec<Url> {
        if let Some(source) = source {
            return vec![source.clone()];
        }
        let path = page.path().trim_end_matches('/');
        let looks_like_feed = page.host_str().is_some_and(|h| h.starts_with("rssfeed."))
            || path.ends_with("/feed")
            || path.ends_with(".rss")
            || path.ends_with(".xml");
        if looks_like_feed {
            vec![page.clone()]
        } else {
            vec![at_path(page, "/en-us/status/feed/")]
        }
    }

    fn parse(&self, doc: &Document<'_>) -> Result<VendorSnapshot, ParseError> {
        let feed = read_feed(doc, FORMAT)?;
        if !is_azure(&feed) {
            return Err(ParseError::NotThisFormat {
                format: FORMAT,
                detail:
                    "the channel is not titled \"Azure Status\" nor linked to Azure's status page"
                        .into(),
            });
        }
        let channel_link = feed.links.first().map(|l| l.href.trim().to_string());
        let built_at = feed.updated.map(timestamp);

        let mut snapshot = VendorSnapshot {
            page_name: Some("Azure".to_string()),
            ..VendorSnapshot::default()
        };
        snapshot.coverage.open_incidents = true;

        for item in &feed.entries {
            let body = item
                .summary
                .as_ref()
                .map(|s| html_to_text(&s.content))
                .or_else(|| {
                    item.content
                        .as_ref()
                        .and_then(|c| c.body.as_deref())
                        .map(html_to_text)
                })
                .unwrap_or_default();
            let name = plain(item.title.as_ref()).unwrap_or_else(|| "Azure incident".to_string());
            let external_id = Some(item.id.trim())
                .filter(|id| !id.is_empty())
                .map_or_else(|| name.clone(), str::to_string);

            let mut component_ids: Vec<String> = Vec::new();
            for category in &item.categories {
                let term = category.term.trim();
                if !term.is_empty() && !component_ids.iter().any(|c| c == term) {
                    component_ids.push(term.to_string());
                }
            }

            let resolved = says_resolved(&name, &body);
            let status = if resolved {
                IncidentStatus::Resolved
            } else {
                IncidentStatus::Investigating
            };
            let component_status = if resolved {
                ComponentStatus::Operational
            } else {
                ComponentStatus::PartialOutage
            };
            for id in &component_ids {
                match snapshot
                    .components
                    .iter_mut()
                    .find(|c| &c.external_id == id)
                {
                    Some(existing) => {
                        if component_status.severity() > existing.status.severity() {
                            existing.status = component_status;
                        }
                    }
                    None => snapshot.components.push(VendorComponent {
                        external_id: id.clone(),
                        name: id.clone(),
                        status: component_status,
                        group: None,
                        description: None,
                    }),
                }
            }
            let impact = if component_ids.is_empty() {
                IncidentImpact::Minor
            } else {
                IncidentImpact::from_component_status(Some(ComponentStatus::PartialOutage))
            };

            let started_at = item
                .published
                .or(item.updated)
                .map(timestamp)
                .unwrap_or(doc.fetched_at);
            let at = built_at.map_or(started_at, |b| b.max(started_at));
            let url = entry_link(item)
                .filter(|link| Some(*link) != channel_link.as_deref())
                .map(str::to_string);
            snapshot.incidents.push(VendorIncident {
                external_id: Some(external_id),
                name,
                status,
                impact,
                started_at,
                resolved_at: resolved.then_some(at),
                url,
                component_ids,
                updates: vec![VendorUpdate {
                    external_id: Some(text_id(&body)),
                    status,
                    body,
                    at,
                }],
            });
        }
        Ok(snapshot)
    }
}

/// Whether a feed is Azure's status feed (see "Recognition" in the module doc).
fn is_azure(feed: &feed_rs::model::Feed) -> bool {
    let titled = plain(feed.title.as_ref()).is_some_and(|t| t.eq_ignore_ascii_case("azure status"));
    let linked = feed.links.iter().any(|link| {
        Url::parse(link.href.trim())
            .ok()
            .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
            .is_some_and(|host| {
                host == "azure.status.microsoft"
                    || host.ends_with(".azure.status.microsoft")
                    || host == "status.azure.com"
                    || (host.starts_with("azurestatus") && host.ends_with(".azurewebsites.net"))
            })
    });
    titled || linked
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::time::Timestamp;

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!("{}/../shared/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|err| panic!("{path}: {err}"))
    }

    fn ts(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    fn parse_bytes(body: &[u8]) -> Result<VendorSnapshot, ParseError> {
        let url = Url::parse("http://127.0.0.1:9/en-us/status/feed/").unwrap();
        Azure.parse(&Document {
            url: &url,
            content_type: Some("application/rss+xml"),
            body,
            fetched_at: ts("2030-01-01T00:00:00Z"),
        })
    }

    fn parse(name: &str) -> VendorSnapshot {
        parse_bytes(&fixture(name)).unwrap_or_else(|err| panic!("{name}: {err}"))
    }

    #[test]
    fn an_active_incident_with_its_categories() {
        let s = parse("azure/status-feed-westus-early.rss");
        assert_eq!(s.page_name.as_deref(), Some("Azure"));
        assert!(s.coverage.open_incidents);
        assert!(!s.coverage.components);
        assert!(!s.coverage.open_maintenances);
        assert_eq!(s.unknown_values, Vec::<String>::new());
        assert_eq!(s.incidents.len(), 1);
        let incident = &s.incidents[0];
        assert_eq!(
            incident.external_id.as_deref(),
            Some("issues-connecting-to-resources-in-west-us")
        );
        assert_eq!(incident.name, "Issues connecting to resources in West US");
        assert_eq!(incident.status, IncidentStatus::Investigating);
        assert_eq!(incident.impact, IncidentImpact::Major);
        assert_eq!(incident.started_at, ts("2026-07-23T16:29:09Z"));
        assert_eq!(incident.resolved_at, None);
        // The item link is the status page itself, the same as the channel's.
        assert_eq!(incident.url, None);
        assert_eq!(
            incident.component_ids,
            ["Network Infrastructure", "West US"]
        );
        assert_eq!(incident.updates.len(), 1);
        let update = &incident.updates[0];
        assert_eq!(update.at, ts("2026-07-23T16:49:55Z"));
        assert!(update
            .body
            .starts_with("Starting at 14:44 UTC on 23 July, 2026, we began investigating"));
        assert!(update
            .body
            .contains("downstream impact.\n\nOur investigation"));

        assert_eq!(
            s.components
                .iter()
                .map(|c| (c.external_id.as_str(), c.name.as_str(), c.status))
                .collect::<Vec<_>>(),
            [
                (
                    "Network Infrastructure",
                    "Network Infrastructure",
                    ComponentStatus::PartialOutage
                ),
                ("West US", "West US", ComponentStatus::PartialOutage),
            ]
        );
    }

    #[test]
    fn the_later_capture_is_the_same_incident_with_more_services() {
        let early = parse("azure/status-feed-westus-early.rss");
        let later = parse("azure/status-feed-westus-later.rss");
        let (early, later) = (&early.incidents[0], &later.incidents[0]);
        assert_eq!(early.external_id, later.external_id);
        assert_eq!(early.started_at, later.started_at);
        assert_eq!(later.component_ids.len(), 15);
        assert!(early
            .component_ids
            .iter()
            .all(|c| later.component_ids.contains(c)));
        assert!(later.component_ids.iter().any(|c| c == "App Service"));
        // The edited text is a new update: a later time and another id.
        assert_eq!(later.updates[0].at, ts("2026-07-23T18:12:58Z"));
        assert_ne!(early.updates[0].external_id, later.updates[0].external_id);
        assert!(later.updates[0]
            .body
            .contains("Current Status:\n\nWe may have identified"));
    }

    #[test]
    fn an_empty_feed_means_no_open_incident() {
        let s = parse("azure/status-feed-empty.rss");
        assert!(s.incidents.is_empty());
        assert!(s.components.is_empty());
        assert!(s.coverage.open_incidents);
    }

    #[test]
    fn other_documents_are_rejected() {
        for name in [
            "rss/github-history.rss",
            "atom/claude-history.atom",
            "slack/current-active-incidents.json",
            "statuspage/github-summary-all-operational.json",
        ] {
            let err = parse_bytes(&fixture(name)).unwrap_err();
            assert!(
                matches!(err, ParseError::NotThisFormat { .. }),
                "{name}: {err:?}"
            );
        }
        assert!(parse_bytes(b"<!DOCTYPE html><html><body>Azure Status</body></html>").is_err());
        let later = fixture("azure/status-feed-westus-later.rss");
        assert!(parse_bytes(&later[..later.len() / 2]).is_err());
        assert!(parse_bytes(&[0x80, 0x81, 0xfe]).is_err());
    }

    #[test]
    fn a_mitigated_item_closes_and_frees_its_services() {
        let rss = br#"<rss version="2.0"><channel><title>Azure Status</title>
            <link>https://azure.status.microsoft/en-us/status/</link>
            <item><guid isPermaLink="false">a</guid><title>Mitigated - Storage in East US</title>
              <category>Storage</category><description>Resolved.</description>
              <pubDate>Thu, 23 Jul 2026 16:29:09 Z</pubDate></item>
            </channel></rss>"#;
        let s = parse_bytes(rss).unwrap();
        assert_eq!(s.incidents[0].status, IncidentStatus::Resolved);
        assert_eq!(s.incidents[0].resolved_at, Some(ts("2026-07-23T16:29:09Z")));
        assert_eq!(s.components[0].status, ComponentStatus::Operational);
    }

    #[test]
    fn documents_find_the_feed() {
        let feed =
            || Url::parse("https://rssfeed.azure.status.microsoft/en-us/status/feed/").unwrap();
        assert_eq!(Azure.documents(&feed(), None), [feed()]);
        let page = Url::parse("https://azure.status.microsoft/en-us/status").unwrap();
        assert_eq!(
            Azure.documents(&page, None),
            [Url::parse("https://azure.status.microsoft/en-us/status/feed/").unwrap()]
        );
        assert_eq!(Azure.documents(&page, Some(&feed())), [feed()]);
    }
}
