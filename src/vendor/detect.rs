//! Auto-detection: given only a status page URL, find the adapter that reads it.
//!
//! In order:
//! 1. **Known hosts** whose format is fixed (AWS, Azure, Google Cloud, Slack, Heroku,
//!    Salesforce, status.io's API) are answered without a request.
//! 2. **The URL itself** is fetched; if an adapter parses the body (tried most specific
//!    first, the generic feed last), that is the answer. The URL becomes the vendor's
//!    `source_url` unless the adapter would derive it from the page anyway.
//! 3. **An HTML page** is probed at the well-known API paths (`/api/v2/summary.json`,
//!    `/index.json`, `/api/v4/current-status`, `/api/v2.0.0/current`), then at the feeds it
//!    links (`<link rel="alternate" type="application/atom+xml" ...>`), then `/history.atom`.
//!
//! A Statuspage-shaped summary whose ids are ULIDs (26 characters of Crockford base 32) is
//! incident.io's compatible API; Atlassian's ids are 12 lower-case characters.

use super::adapter::{AdapterKind, Document};
use super::fetch::{Fetched, Fetcher};
use super::model::VendorSnapshot;
use super::record::Validators;
use crate::domain::Timestamp;
use regex::Regex;
use serde::Serialize;
use std::sync::LazyLock;
use url::Url;

/// Adapters tried on a fetched body, most specific first.
pub const DETECTION_ORDER: &[AdapterKind] = &[
    AdapterKind::AwsHealth,
    AdapterKind::AwsStatus,
    AdapterKind::Statusio,
    AdapterKind::Gcp,
    AdapterKind::Slack,
    AdapterKind::Heroku,
    AdapterKind::Salesforce,
    AdapterKind::Betterstack,
    AdapterKind::Checkly,
    AdapterKind::Instatus,
    AdapterKind::Statuspage,
    AdapterKind::Azure,
    AdapterKind::StatuspageFeed,
    AdapterKind::Feed,
];

/// What detection found.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Detected {
    pub adapter: AdapterKind,
    /// The endpoint to fetch, when the adapter cannot derive it from the page URL.
    pub source_url: Option<String>,
    /// The page's own name, when the source says it.
    pub page_name: Option<String>,
}

/// The adapter for a host whose format is fixed, without a request.
pub fn known_host(url: &Url) -> Option<AdapterKind> {
    let host = url.host_str()?.to_ascii_lowercase();
    let kind = match host.as_str() {
        "health.aws.amazon.com" => AdapterKind::AwsHealth,
        "status.aws.amazon.com" => AdapterKind::AwsStatus,
        "azure.status.microsoft" | "status.azure.com" | "rssfeed.azure.status.microsoft" => {
            AdapterKind::Azure
        }
        "status.cloud.google.com" => AdapterKind::Gcp,
        "status.slack.com" | "slack-status.com" => AdapterKind::Slack,
        "status.heroku.com" => AdapterKind::Heroku,
        "status.salesforce.com" | "api.status.salesforce.com" | "trust.salesforce.com" => {
            AdapterKind::Salesforce
        }
        "api.status.io" => AdapterKind::Statusio,
        _ => return None,
    };
    Some(kind)
}

/// The first adapter in [`DETECTION_ORDER`] (restricted to `only` when given) that parses
/// the document.
pub fn sniff(
    doc: &Document<'_>,
    only: Option<&[AdapterKind]>,
) -> Option<(AdapterKind, VendorSnapshot)> {
    DETECTION_ORDER
        .iter()
        .filter(|k| only.is_none_or(|only| only.contains(k)))
        .find_map(|k| k.adapter().parse(doc).ok().map(|s| (*k, s)))
        .map(|(kind, snapshot)| {
            if kind == AdapterKind::Statuspage && looks_like_incidentio(&snapshot) {
                (AdapterKind::Incidentio, snapshot)
            } else {
                (kind, snapshot)
            }
        })
}

fn is_ulid(id: &str) -> bool {
    id.len() == 26
        && id
            .chars()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
}

fn looks_like_incidentio(snapshot: &VendorSnapshot) -> bool {
    let mut ids = snapshot
        .components
        .iter()
        .map(|c| c.external_id.as_str())
        .chain(
            snapshot
                .incidents
                .iter()
                .filter_map(|i| i.external_id.as_deref()),
        )
        .peekable();
    ids.peek().is_some() && ids.all(is_ulid)
}

/// Finds the adapter for `url`, fetching what it needs.
pub async fn detect(fetcher: &Fetcher, url: &Url, now: Timestamp) -> Result<Detected, String> {
    if let Some(adapter) = known_host(url) {
        let derived = adapter.adapter().documents(url, None);
        return Ok(Detected {
            adapter,
            source_url: (!derived.contains(url)).then(|| url.to_string()),
            page_name: None,
        });
    }
    let (final_url, content_type, body) = fetch(fetcher, url).await?;
    let doc = Document {
        url: &final_url,
        content_type: content_type.as_deref(),
        body: &body,
        fetched_at: now,
    };
    if let Some((adapter, snapshot)) = sniff(&doc, None) {
        let derived = adapter.adapter().documents(url, None);
        return Ok(Detected {
            adapter,
            source_url: (!derived.contains(url)).then(|| url.to_string()),
            page_name: snapshot.page_name,
        });
    }
    let html = String::from_utf8_lossy(&body);
    if !html.to_ascii_lowercase().contains("<html") {
        return Err(format!(
            "{url} is neither a status page nor a format Pharos reads; name the adapter (one of: {})",
            AdapterKind::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ")
        ));
    }
    // Well-known API paths of the page's site.
    let probes: &[(&str, &[AdapterKind])] = &[
        (
            "/api/v2/summary.json",
            &[AdapterKind::Statuspage, AdapterKind::Instatus],
        ),
        ("/index.json", &[AdapterKind::Betterstack]),
        ("/api/v4/current-status", &[AdapterKind::Heroku]),
        ("/api/v2.0.0/current", &[AdapterKind::Slack]),
    ];
    for (path, kinds) in probes {
        let probe = super::adapter::at_path(&final_url, path);
        if let Some(found) = try_source(fetcher, &probe, kinds, now).await {
            let derived = found.adapter.adapter().documents(url, None);
            return Ok(Detected {
                source_url: (!derived.contains(&probe)).then(|| probe.to_string()),
                ..found
            });
        }
    }
    // Feeds the page links, then Statuspage's feed path.
    let mut feeds: Vec<Url> = feed_links(&html)
        .into_iter()
        .filter_map(|href| final_url.join(&href).ok())
        .collect();
    feeds.push(super::adapter::at_path(&final_url, "/history.atom"));
    for feed in feeds {
        if let Some(found) = try_source(
            fetcher,
            &feed,
            &[
                AdapterKind::Azure,
                AdapterKind::StatuspageFeed,
                AdapterKind::Feed,
            ],
            now,
        )
        .await
        {
            let derived = found.adapter.adapter().documents(url, None);
            return Ok(Detected {
                source_url: (!derived.contains(&feed)).then(|| feed.to_string()),
                ..found
            });
        }
    }
    Err(format!(
        "found no status API or feed at {url} (tried the Statuspage, Better Stack, Heroku and Slack API paths and the page's feeds); name the adapter and the source URL"
    ))
}

async fn fetch(
    fetcher: &Fetcher,
    url: &Url,
) -> Result<(Url, Option<String>, bytes::Bytes), String> {
    match fetcher.get(url, &Validators::default()).await {
        Ok(Fetched::Body {
            url,
            content_type,
            body,
            ..
        }) => Ok((url, content_type, body)),
        Ok(Fetched::NotModified) => Err(format!("{url} answered 304 to an unconditional GET")),
        Err(e) => Err(format!("cannot fetch {url}: {e}")),
    }
}

async fn try_source(
    fetcher: &Fetcher,
    url: &Url,
    kinds: &[AdapterKind],
    now: Timestamp,
) -> Option<Detected> {
    let (final_url, content_type, body) = fetch(fetcher, url).await.ok()?;
    let doc = Document {
        url: &final_url,
        content_type: content_type.as_deref(),
        body: &body,
        fetched_at: now,
    };
    sniff(&doc, Some(kinds)).map(|(adapter, snapshot)| Detected {
        adapter,
        source_url: None,
        page_name: snapshot.page_name,
    })
}

/// The `href`s of `<link>` elements announcing Atom or RSS feeds.
fn feed_links(html: &str) -> Vec<String> {
    static LINK: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?is)<link\b[^>]*>").unwrap());
    static HREF: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r#"(?is)\bhref\s*=\s*["']([^"']+)["']"#).unwrap());
    LINK.find_iter(html)
        .map(|m| m.as_str())
        .filter(|tag| {
            let lower = tag.to_ascii_lowercase();
            lower.contains("application/atom+xml") || lower.contains("application/rss+xml")
        })
        .filter_map(|tag| {
            HREF.captures(tag)
                .map(|c| html_escape::decode_html_entities(&c[1]).into_owned())
        })
        .take(5)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feed_links_are_found_in_html() {
        let html = r#"<html><head><link rel="alternate" type="application/atom+xml" href="/history.atom?x=1&amp;y=2">
            <LINK TYPE='application/rss+xml' REL='alternate' HREF='https://example.test/feed.rss'>
            <link rel="stylesheet" href="/style.css"></head></html>"#;
        assert_eq!(
            feed_links(html),
            vec!["/history.atom?x=1&y=2", "https://example.test/feed.rss"]
        );
    }

    #[test]
    fn known_hosts_need_no_request() {
        let url = Url::parse("https://health.aws.amazon.com/health/status").unwrap();
        assert_eq!(known_host(&url), Some(AdapterKind::AwsHealth));
        let url = Url::parse("https://www.githubstatus.com/").unwrap();
        assert_eq!(known_host(&url), None);
        assert!(is_ulid("01JMYB4A3J7C2K9QX0Z8N5T6VW"));
        assert!(!is_ulid("kctbh9vrtdwd"));
    }
}
