//! Adapters: one module per source format, each a pure function from fetched bytes to a
//! [`VendorSnapshot`]. No adapter does I/O; the poller fetches the documents an adapter asks
//! for and hands each one to [`Adapter::parse`].
//!
//! Parsers are total: any input, however malformed, truncated, huge or hostile, gives a
//! [`ParseError`], never a panic. A parser also rejects documents of the other formats
//! (each requires the keys that make its format what it is), which is what auto-detection
//! relies on.

use super::model::VendorSnapshot;
use crate::domain::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use url::Url;

pub mod aws;
pub mod azure;
pub mod betterstack;
pub mod checkly;
pub mod feed;
pub mod gcp;
pub mod heroku;
pub mod instatus;
pub mod salesforce;
pub mod slack;
pub mod statusio;
pub mod statuspage;
pub mod text;

/// One fetched document.
#[derive(Clone, Copy, Debug)]
pub struct Document<'a> {
    /// Where it was fetched from (after redirects).
    pub url: &'a Url,
    pub content_type: Option<&'a str>,
    pub body: &'a [u8],
    /// When it was fetched: the default time for records the source does not date.
    pub fetched_at: Timestamp,
}

/// Why a document could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Not this format at all (wrong syntax, or missing the keys that define it).
    #[error("not a {format} document: {detail}")]
    NotThisFormat {
        format: &'static str,
        detail: String,
    },
    /// This format, but a required value is missing or unreadable.
    #[error("{format} document has a bad value at {at}: {detail}")]
    BadValue {
        format: &'static str,
        at: String,
        detail: String,
    },
}

/// A source format Pharos can read. The names are stored and accepted by the API and the
/// configuration (`adapter = "statuspage"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AdapterKind {
    /// Atlassian Statuspage v2 JSON (`/api/v2/summary.json`, `incidents.json`,
    /// `scheduled-maintenances.json`, `components.json`, `incidents/{id}.json`) and the
    /// look-alikes that serve the same shapes.
    Statuspage,
    /// incident.io's Statuspage-compatible `/api/v2/summary.json`.
    Incidentio,
    /// Instatus's `/summary.json` (upper-case statuses).
    Instatus,
    /// A Statuspage page's `history.atom` / `history.rss`.
    StatuspageFeed,
    /// Any other Atom or RSS feed: one entry per incident.
    Feed,
    /// status.io's public `api.status.io/1.0/status/{page id}`.
    Statusio,
    /// Google Cloud's `incidents.json`.
    Gcp,
    /// AWS Health's public `currentevents` (UTF-16 with a byte-order mark).
    AwsHealth,
    /// The legacy AWS Service Health Dashboard `data.json`.
    AwsStatus,
    /// Azure's status RSS feed.
    Azure,
    /// Slack's `api/v2.0.0/current`.
    Slack,
    /// Heroku's `api/v4/current-status`.
    Heroku,
    /// Salesforce Trust's instances status.
    Salesforce,
    /// Better Stack's status page `index.json`.
    Betterstack,
    /// Checkly's status page unresolved-incidents API.
    Checkly,
}

impl AdapterKind {
    pub const ALL: &'static [AdapterKind] = &[
        AdapterKind::Statuspage,
        AdapterKind::Incidentio,
        AdapterKind::Instatus,
        AdapterKind::StatuspageFeed,
        AdapterKind::Feed,
        AdapterKind::Statusio,
        AdapterKind::Gcp,
        AdapterKind::AwsHealth,
        AdapterKind::AwsStatus,
        AdapterKind::Azure,
        AdapterKind::Slack,
        AdapterKind::Heroku,
        AdapterKind::Salesforce,
        AdapterKind::Betterstack,
        AdapterKind::Checkly,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            AdapterKind::Statuspage => "statuspage",
            AdapterKind::Incidentio => "incidentio",
            AdapterKind::Instatus => "instatus",
            AdapterKind::StatuspageFeed => "statuspage_feed",
            AdapterKind::Feed => "feed",
            AdapterKind::Statusio => "statusio",
            AdapterKind::Gcp => "gcp",
            AdapterKind::AwsHealth => "aws_health",
            AdapterKind::AwsStatus => "aws_status",
            AdapterKind::Azure => "azure",
            AdapterKind::Slack => "slack",
            AdapterKind::Heroku => "heroku",
            AdapterKind::Salesforce => "salesforce",
            AdapterKind::Betterstack => "betterstack",
            AdapterKind::Checkly => "checkly",
        }
    }

    /// The adapter that reads this format.
    pub fn adapter(&self) -> &'static dyn Adapter {
        match self {
            AdapterKind::Statuspage => &statuspage::Statuspage,
            AdapterKind::Incidentio => &statuspage::Incidentio,
            AdapterKind::Instatus => &instatus::Instatus,
            AdapterKind::StatuspageFeed => &feed::StatuspageFeed,
            AdapterKind::Feed => &feed::Feed,
            AdapterKind::Statusio => &statusio::Statusio,
            AdapterKind::Gcp => &gcp::Gcp,
            AdapterKind::AwsHealth => &aws::AwsHealth,
            AdapterKind::AwsStatus => &aws::AwsStatus,
            AdapterKind::Azure => &azure::Azure,
            AdapterKind::Slack => &slack::Slack,
            AdapterKind::Heroku => &heroku::Heroku,
            AdapterKind::Salesforce => &salesforce::Salesforce,
            AdapterKind::Betterstack => &betterstack::Betterstack,
            AdapterKind::Checkly => &checkly::Checkly,
        }
    }
}

impl fmt::Display for AdapterKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AdapterKind {
    type Err = crate::domain::status::EnumParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AdapterKind::ALL
            .iter()
            .copied()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| crate::domain::status::EnumParseError {
                kind: "vendor adapter",
                value: s.to_string(),
                expected: AdapterKind::ALL
                    .iter()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

/// One source format.
pub trait Adapter: Send + Sync {
    fn kind(&self) -> AdapterKind;

    /// The documents to fetch on every poll of a vendor whose status page is `page`, or
    /// whose source URL an operator gave explicitly as `source` (then usually just that).
    /// Their snapshots are merged in this order with [`VendorSnapshot::merge`].
    fn documents(&self, page: &Url, source: Option<&Url>) -> Vec<Url>;

    /// Read one fetched document.
    fn parse(&self, doc: &Document<'_>) -> Result<VendorSnapshot, ParseError>;
}

/// `base` joined with an absolute path, keeping only scheme, host and port of `base`.
/// Falls back to `base` itself when the join is impossible (it never is for http URLs).
pub fn at_path(base: &Url, path: &str) -> Url {
    base.join(path).unwrap_or_else(|_| base.clone())
}
