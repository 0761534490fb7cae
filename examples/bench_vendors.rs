//! The vendor-polling benchmark's helper (`scripts/bench-vendors`): it plays many vendors'
//! status pages on 127.0.0.1 from the real captures in `../shared/fixtures`, edits some of
//! them while `pharos serve` polls them, creates the vendors through the management API, and
//! matches each edit to the event Pharos appended for it. Progress goes to stderr; what the
//! script reads goes to stdout as `key value` lines.
//!
//! ```text
//! bench_vendors check   --fixtures DIR
//! bench_vendors serve   --fixtures DIR --vendors N --ports P --manifest FILE [--no-validators]
//! bench_vendors create  --pharos URL --token-file FILE --manifest FILE --interval S --over S
//! bench_vendors seq     --pharos URL --token-file FILE
//! bench_vendors latency --pharos URL --token-file FILE --control URL --after SEQ --interval S
//! ```
//!
//! **The vendors** (`serve`). N vendors are dealt over a fixed mix of the fixtures' formats
//! ([`FORMATS`], weighted towards Statuspage as the real population is), each with documents
//! of its own. Statuspage with its default documents fetches `/api/v2/summary.json` and
//! `/api/v2/incidents.json` from the root of the page's host, so each such vendor has a port
//! of its own; every other vendor is served under its own path prefix (`/v0042/...`, given as
//! its `source_url`) on one of P shared ports. The poller fetches one document at a time per
//! host and port, so serving everything from one port would serialise every poll: the ports
//! stand for hosts. Every answer carries an ETag (a hash of the body) and a matching
//! `If-None-Match` gets 304, as the real pages do; `--no-validators` leaves the ETag out, so
//! that every poll reads and parses the whole body. The vendors and their URLs are written to
//! the manifest, then `ready control=http://ADDR` is printed.
//!
//! **The changes.** `POST /start?seconds=S&per_minute=F` on the control address edits F × N
//! vendors a minute for S seconds, evenly spread, each vendor at most once until all have had
//! a turn. Each edit is one Pharos must announce, chosen per format ([`Change`]): a component's
//! status flips, an open incident gets a new update, or a new incident appears. The server
//! records when the new payload was in place; `GET /changes` lists the edits with the event
//! kind each must produce, `GET /stats` the requests served.
//!
//! **`check`** runs every format's edits through the real adapters and `vendor::diff`, with no
//! server: the first read imports silently, reading the same bytes again changes nothing (what
//! a poll without validators relies on), and each edit yields its event. The script runs it
//! first, so that a format whose edits Pharos does not announce shows as such rather than as
//! missing events.
//!
//! **`create`** posts the manifest's vendors to `POST /api/v1/vendors`, spread evenly over
//! `--over` seconds, and waits until every vendor's first poll (the silent import) is done.
//! A vendor's polls keep the phase of its first one, so vendors created at the same moment are
//! polled at the same moment every interval; creating them over one interval spreads them as
//! vendors added one by one over time are (`--over 0` shows the burst instead).
//!
//! **`latency`** reads the events after SEQ from `/api/v1/events`, matches each edit to the
//! first event of its kind about its vendor (`data.slug`) at or after the edit, and prints
//! the delays. Vendor events that no edit explains (not in the transaction of a matched
//! event) are counted as unexplained.

use anyhow::{anyhow, bail, Context};
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{header, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use clap::{Parser, Subcommand};
use pharos::domain::{ManagedBy, Timestamp, VendorId};
use pharos::vendor::adapter::{AdapterKind, Document};
use pharos::vendor::diff::{apply, diff};
use pharos::vendor::model::VendorSnapshot;
use pharos::vendor::poller::{horizon, trim, within_horizon};
use pharos::vendor::record::{SourceState, Vendor, VendorState};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(
    name = "bench_vendors",
    about = "Play vendors' status pages for scripts/bench-vendors, create them in Pharos, and time Pharos's events"
)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check, with the real adapters and diff, that every format's edits produce their events.
    Check {
        /// The fixtures folder (`../shared/fixtures`).
        #[arg(long, value_name = "DIR")]
        fixtures: PathBuf,
    },
    /// Serve the vendors' pages on 127.0.0.1 until killed.
    Serve {
        #[arg(long, value_name = "DIR")]
        fixtures: PathBuf,
        /// How many vendors.
        #[arg(long, default_value_t = 2_000)]
        vendors: usize,
        /// Shared ports (hosts) for the vendors that do not need a port of their own.
        #[arg(long, default_value_t = 50)]
        ports: usize,
        /// Where to write the vendors (JSON) for `create`.
        #[arg(long, value_name = "FILE")]
        manifest: PathBuf,
        /// Send no ETag: every poll gets the whole body.
        #[arg(long)]
        no_validators: bool,
        /// Seed of the order and timing of the edits.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Create the manifest's vendors through the API and wait for their first polls.
    Create {
        /// Pharos's base URL.
        #[arg(long, value_name = "URL")]
        pharos: String,
        /// A file holding a `write` API token.
        #[arg(long, value_name = "FILE")]
        token_file: PathBuf,
        #[arg(long, value_name = "FILE")]
        manifest: PathBuf,
        /// Each vendor's poll interval.
        #[arg(long, value_name = "SECS", default_value_t = 60)]
        interval: u64,
        /// Spread the creations evenly over this many seconds (0: as fast as possible).
        #[arg(long, value_name = "SECS", default_value_t = 60)]
        over: u64,
    },
    /// Print the sequence number of the last event.
    Seq {
        #[arg(long, value_name = "URL")]
        pharos: String,
        #[arg(long, value_name = "FILE")]
        token_file: PathBuf,
    },
    /// Match the server's edits to Pharos's events and print the delays.
    Latency {
        #[arg(long, value_name = "URL")]
        pharos: String,
        #[arg(long, value_name = "FILE")]
        token_file: PathBuf,
        /// The server's control URL (`ready control=...`).
        #[arg(long, value_name = "URL")]
        control: String,
        /// Read the events after this sequence number.
        #[arg(long, value_name = "SEQ")]
        after: i64,
        /// The poll interval: the target is one interval plus one second.
        #[arg(long, value_name = "SECS", default_value_t = 60)]
        interval: u64,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Args::parse().command {
        Command::Check { fixtures } => check(&fixtures),
        Command::Serve {
            fixtures,
            vendors,
            ports,
            manifest,
            no_validators,
            seed,
        } => serve(&fixtures, vendors, ports, &manifest, !no_validators, seed).await,
        Command::Create {
            pharos,
            token_file,
            manifest,
            interval,
            over,
        } => {
            let api = Api::new(&pharos, &token_file)?;
            create(&api, &manifest, interval, over).await
        }
        Command::Seq { pharos, token_file } => {
            let api = Api::new(&pharos, &token_file)?;
            println!("seq {}", last_seq(&api).await?);
            Ok(())
        }
        Command::Latency {
            pharos,
            token_file,
            control,
            after,
            interval,
        } => {
            let api = Api::new(&pharos, &token_file)?;
            latency(&api, &control, after, interval).await
        }
    }
}

// ---- formats and their edits ------------------------------------------------------------------

/// How a format's edited document is encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Encoding {
    Json,
    /// JSON as UTF-16BE with a byte-order mark, as AWS Health serves it.
    JsonUtf16Be,
    Xml,
}

/// The edits a format's vendors get, and so the event each must produce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Change {
    /// Statuspage / incident.io summary: a component's status flips, or the first open
    /// incident gets a new update (alternately, by vendor and turn).
    StatuspageSummary,
    /// Statuspage `components.json`: a component's status flips.
    StatuspageComponents,
    /// Instatus: a new active incident.
    Instatus,
    /// Atom or RSS: a new entry at the top.
    Feed,
    /// status.io: a component's status flips (with its containers).
    Statusio,
    /// Google Cloud: a new open incident.
    Gcp,
    /// AWS Health: a new current event.
    AwsHealth,
    /// AWS legacy dashboard: a new current entry.
    AwsStatus,
    /// Azure: a new item, and a new `lastBuildDate`.
    Azure,
    /// Slack: a new active incident.
    Slack,
    /// Heroku: a system's colour flips.
    Heroku,
    /// Salesforce Trust: an instance's status flips.
    Salesforce,
    /// Better Stack: a resource's status flips.
    Betterstack,
    /// Checkly: the open incident gets a new update.
    Checkly,
}

const COMPONENT_STATUS_CHANGED: &str = "vendor.component_status_changed";
const INCIDENT_OPENED: &str = "vendor.incident_opened";
const UPDATE_POSTED: &str = "vendor.incident_update_posted";

/// One format of the mix.
struct Format {
    label: &'static str,
    adapter: AdapterKind,
    /// Captures the edited document is taken from, dealt in turn to the format's vendors.
    fixtures: &'static [&'static str],
    /// Where the edited document is served (under the vendor's prefix on a shared port).
    path: &'static str,
    /// A second document, served unchanged: Statuspage's `incidents.json`.
    extra: Option<(&'static str, &'static str)>,
    /// The adapter derives its documents from the host's root: a port of its own.
    own_port: bool,
    encoding: Encoding,
    change: Change,
    /// Vendors of this format in every 40.
    weight: usize,
}

/// The summaries served beside `github-incidents.json`. Not GitHub's 2026-07-24 summary: its
/// open incident is resolved, with more updates, in that later `incidents.json`, and the
/// richer record wins the merge, so an update added to the summary would never show (the real
/// page serves both documents from one state).
const STATUSPAGE_SUMMARIES: &[&str] = &[
    "statuspage/github-summary-all-operational.json",
    "statuspage/github-summary-packages-incident.json",
    "statuspage/twilio-summary-groups-incidents.json",
    "statuspage/anthropic-summary-critical.json",
    "statuspage/bitbucket-summary-monitoring-impact-none.json",
    "statuspage/cloudamqp-summary-maintenance-in-progress.json",
    "statuspage/github-summary-2020-05-22-investigating.json",
];

const STATUSPAGE_COMPONENTS: &[&str] = &[
    "statuspage/box-components-groups-degraded.json",
    "statuspage/cisco-urgentnotices-components-groups.json",
    "statuspage/ciscokinetic-components-degraded.json",
    "statuspage/coinbase-components-partial-outage-maintenance.json",
    "statuspage/digitalocean-components-groups.json",
    "statuspage/dropbox-components-flat.json",
    "statuspage/github-components-operational.json",
    "statuspage/lastpass-components-all-degraded.json",
    "statuspage/linode-components-groups-operational.json",
    "statuspage/newrelic-components-groups.json",
    "statuspage/reddit-components-groups.json",
    "statuspage/twilio-components-groups-degraded.json",
];

/// The mix: 40 % Statuspage-shaped JSON, a fifth feeds, the rest one or two in 40 each.
const FORMATS: &[Format] = &[
    Format {
        label: "statuspage (summary + incidents)",
        adapter: AdapterKind::Statuspage,
        fixtures: STATUSPAGE_SUMMARIES,
        path: "/api/v2/summary.json",
        extra: Some(("statuspage/github-incidents.json", "/api/v2/incidents.json")),
        own_port: true,
        encoding: Encoding::Json,
        change: Change::StatuspageSummary,
        weight: 10,
    },
    Format {
        label: "statuspage (components.json)",
        adapter: AdapterKind::Statuspage,
        fixtures: STATUSPAGE_COMPONENTS,
        path: "/api/v2/components.json",
        extra: None,
        own_port: false,
        encoding: Encoding::Json,
        change: Change::StatuspageComponents,
        weight: 5,
    },
    Format {
        label: "incident.io",
        adapter: AdapterKind::Incidentio,
        fixtures: &["incidentio/openai-summary-compat-minor.json"],
        path: "/api/v2/summary.json",
        extra: None,
        own_port: false,
        encoding: Encoding::Json,
        change: Change::StatuspageSummary,
        weight: 3,
    },
    Format {
        label: "instatus",
        adapter: AdapterKind::Instatus,
        fixtures: &["instatus/perplexity-summary-major.json"],
        path: "/summary.json",
        extra: None,
        own_port: false,
        encoding: Encoding::Json,
        change: Change::Instatus,
        weight: 2,
    },
    Format {
        label: "statuspage atom feed",
        adapter: AdapterKind::StatuspageFeed,
        fixtures: &[
            "atom/claude-history.atom",
            "atom/github-history.atom",
            "atom/travisci-history.atom",
        ],
        path: "/history.atom",
        extra: None,
        own_port: false,
        encoding: Encoding::Xml,
        change: Change::Feed,
        weight: 3,
    },
    Format {
        label: "statuspage rss feed",
        adapter: AdapterKind::StatuspageFeed,
        fixtures: &["rss/github-history.rss", "rss/parse-history.rss"],
        path: "/history.rss",
        extra: None,
        own_port: false,
        encoding: Encoding::Xml,
        change: Change::Feed,
        weight: 2,
    },
    Format {
        label: "generic feed",
        adapter: AdapterKind::Feed,
        fixtures: &["rss/parse-history.rss", "atom/travisci-history.atom"],
        path: "/feed",
        extra: None,
        own_port: false,
        encoding: Encoding::Xml,
        change: Change::Feed,
        weight: 1,
    },
    Format {
        label: "status.io",
        adapter: AdapterKind::Statusio,
        fixtures: &[
            "statusio/docker-status-partial-disruption.json",
            "statusio/gitlab-status-planned-maintenance.json",
            "statusio/gitlab-status-security-issue.json",
        ],
        path: "/1.0/status/533c6539221ae15e3f000031",
        extra: None,
        own_port: false,
        encoding: Encoding::Json,
        change: Change::Statusio,
        weight: 2,
    },
    Format {
        label: "google cloud",
        adapter: AdapterKind::Gcp,
        fixtures: &["gcp/incidents.json"],
        path: "/incidents.json",
        extra: None,
        own_port: false,
        encoding: Encoding::Json,
        change: Change::Gcp,
        weight: 2,
    },
    Format {
        label: "aws health",
        adapter: AdapterKind::AwsHealth,
        fixtures: &["aws/health-currentevents-utf16be-bom.json"],
        path: "/public/currentevents",
        extra: None,
        own_port: false,
        encoding: Encoding::JsonUtf16Be,
        change: Change::AwsHealth,
        weight: 1,
    },
    Format {
        label: "aws legacy dashboard",
        adapter: AdapterKind::AwsStatus,
        fixtures: &["aws/status-data.json"],
        path: "/data.json",
        extra: None,
        own_port: false,
        encoding: Encoding::Json,
        change: Change::AwsStatus,
        weight: 1,
    },
    Format {
        label: "azure",
        adapter: AdapterKind::Azure,
        fixtures: &[
            "azure/status-feed-empty.rss",
            "azure/status-feed-westus-early.rss",
            "azure/status-feed-westus-later.rss",
        ],
        path: "/en-us/status/feed/",
        extra: None,
        own_port: false,
        encoding: Encoding::Xml,
        change: Change::Azure,
        weight: 2,
    },
    Format {
        label: "slack",
        adapter: AdapterKind::Slack,
        fixtures: &["slack/current-active-incidents.json"],
        path: "/api/v2.0.0/current",
        extra: None,
        own_port: false,
        encoding: Encoding::Json,
        change: Change::Slack,
        weight: 1,
    },
    Format {
        label: "heroku",
        adapter: AdapterKind::Heroku,
        fixtures: &["heroku/current-status-maintenance.json"],
        path: "/api/v4/current-status",
        extra: None,
        own_port: false,
        encoding: Encoding::Json,
        change: Change::Heroku,
        weight: 1,
    },
    Format {
        label: "salesforce",
        adapter: AdapterKind::Salesforce,
        fixtures: &["salesforce/trust-instances-status.json"],
        path: "/v1/instances/status/preview",
        extra: None,
        own_port: false,
        encoding: Encoding::Json,
        change: Change::Salesforce,
        weight: 1,
    },
    Format {
        label: "better stack",
        adapter: AdapterKind::Betterstack,
        fixtures: &["betterstack/huggingface-index-downtime.json"],
        path: "/index.json",
        extra: None,
        own_port: false,
        encoding: Encoding::Json,
        change: Change::Betterstack,
        weight: 2,
    },
    Format {
        label: "checkly",
        adapter: AdapterKind::Checkly,
        fixtures: &["checkly/mistral-unresolved-incidents.json"],
        path: "/api/status-page/mistral-ai/unresolved-incidents",
        extra: None,
        own_port: false,
        encoding: Encoding::Json,
        change: Change::Checkly,
        weight: 1,
    },
];

/// The content type a capture is served with, from its name.
fn content_type(fixture: &str) -> &'static str {
    if fixture.ends_with(".atom") {
        "application/atom+xml; charset=utf-8"
    } else if fixture.ends_with(".rss") {
        "application/rss+xml; charset=utf-8"
    } else {
        "application/json; charset=utf-8"
    }
}

/// What an edit needs to know: which vendor, its how-manyth edit, and the time.
struct EditContext {
    vendor: usize,
    turn: usize,
    now: DateTime<Utc>,
}

impl EditContext {
    fn code(&self) -> String {
        format!("bench{:04}x{}", self.vendor, self.turn)
    }
    /// `2026-11-28T21:30:00.123Z`
    fn iso(&self) -> String {
        self.now.to_rfc3339_opts(SecondsFormat::Millis, true)
    }
    /// `2026-11-28T21:30:00+00:00`
    fn iso_offset(&self) -> String {
        self.now.to_rfc3339_opts(SecondsFormat::Secs, false)
    }
    /// Spreads the components edited over a document's list.
    fn pick(&self, len: usize) -> usize {
        (self.vendor * 7 + self.turn * 3) % len.max(1)
    }
}

/// `body` with one edit of `change`, and the event kind the edit must produce.
fn edit(
    change: Change,
    encoding: Encoding,
    body: &[u8],
    ctx: &EditContext,
) -> anyhow::Result<(Vec<u8>, &'static str)> {
    if encoding == Encoding::Xml {
        let mut text = String::from_utf8(body.to_vec()).context("the feed is not UTF-8")?;
        let kind = match change {
            Change::Feed => feed_entry(&mut text, ctx)?,
            Change::Azure => azure_item(&mut text, ctx)?,
            other => bail!("{other:?} does not edit XML"),
        };
        return Ok((text.into_bytes(), kind));
    }
    let mut value: Value = match encoding {
        Encoding::JsonUtf16Be => serde_json::from_str(&decode_utf16be(body)?),
        _ => serde_json::from_slice(body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body)),
    }
    .context("the document is not JSON")?;
    let kind = match change {
        Change::StatuspageSummary => {
            let incident_first = (ctx.vendor + ctx.turn) % 2 == 1;
            match incident_first {
                true => match statuspage_update(&mut value, ctx)? {
                    Some(kind) => kind,
                    None => statuspage_flip(&mut value, ctx)?,
                },
                false => statuspage_flip(&mut value, ctx)?,
            }
        }
        Change::StatuspageComponents => statuspage_flip(&mut value, ctx)?,
        Change::Instatus => instatus_incident(&mut value, ctx)?,
        Change::Statusio => statusio_flip(&mut value, ctx)?,
        Change::Gcp => gcp_incident(&mut value, ctx)?,
        Change::AwsHealth => aws_health_event(&mut value, ctx)?,
        Change::AwsStatus => aws_status_entry(&mut value, ctx)?,
        Change::Slack => slack_incident(&mut value, ctx)?,
        Change::Heroku => heroku_flip(&mut value, ctx)?,
        Change::Salesforce => salesforce_flip(&mut value, ctx)?,
        Change::Betterstack => betterstack_flip(&mut value, ctx)?,
        Change::Checkly => checkly_update(&mut value, ctx)?,
        Change::Feed | Change::Azure => bail!("{change:?} edits XML"),
    };
    let text = serde_json::to_string(&value)?;
    let bytes = match encoding {
        Encoding::JsonUtf16Be => encode_utf16be(&text),
        _ => text.into_bytes(),
    };
    Ok((bytes, kind))
}

fn decode_utf16be(body: &[u8]) -> anyhow::Result<String> {
    let body = body.strip_prefix(b"\xFE\xFF").unwrap_or(body);
    if body.len() % 2 != 0 {
        bail!("odd number of bytes for UTF-16");
    }
    let units: Vec<u16> = body
        .chunks_exact(2)
        .map(|p| u16::from_be_bytes([p[0], p[1]]))
        .collect();
    String::from_utf16(&units).context("not UTF-16")
}

fn encode_utf16be(text: &str) -> Vec<u8> {
    let mut out = vec![0xFE, 0xFF];
    for unit in text.encode_utf16() {
        out.extend_from_slice(&unit.to_be_bytes());
    }
    out
}

fn array_at<'a>(value: &'a mut Value, key: &str) -> anyhow::Result<&'a mut Vec<Value>> {
    let map = value.as_object_mut().context("not a JSON object")?;
    map.entry(key.to_string())
        .or_insert_with(|| json!([]))
        .as_array_mut()
        .with_context(|| format!("`{key}` is not a list"))
}

fn statuspage_flip(value: &mut Value, ctx: &EditContext) -> anyhow::Result<&'static str> {
    let components = array_at(value, "components")?;
    let members: Vec<usize> = (0..components.len())
        .filter(|&i| components[i]["group"] != json!(true))
        .collect();
    if members.is_empty() {
        bail!("no component to flip");
    }
    let component = &mut components[members[ctx.pick(members.len())]];
    let next = match component["status"].as_str() {
        Some("operational") => "degraded_performance",
        _ => "operational",
    };
    component["status"] = json!(next);
    component["updated_at"] = json!(ctx.iso());
    Ok(COMPONENT_STATUS_CHANGED)
}

/// A new update on the first open incident, with the incident's status; none without one.
fn statuspage_update(value: &mut Value, ctx: &EditContext) -> anyhow::Result<Option<&'static str>> {
    let Some(incident) = value
        .get_mut("incidents")
        .and_then(Value::as_array_mut)
        .and_then(|list| list.first_mut())
    else {
        return Ok(None);
    };
    let status = incident["status"]
        .as_str()
        .unwrap_or("investigating")
        .to_string();
    let update = json!({
        "id": ctx.code(),
        "status": status,
        "body": format!("We are continuing to work on a fix for this issue (update {}).", ctx.turn + 1),
        "incident_id": incident["id"],
        "created_at": ctx.iso(),
        "updated_at": ctx.iso(),
        "display_at": ctx.iso(),
        "affected_components": null,
    });
    incident["updated_at"] = json!(ctx.iso());
    array_at(incident, "incident_updates")?.insert(0, update);
    Ok(Some(UPDATE_POSTED))
}

fn instatus_incident(value: &mut Value, ctx: &EditContext) -> anyhow::Result<&'static str> {
    let code = ctx.code();
    array_at(value, "activeIncidents")?.insert(
        0,
        json!({
            "id": code,
            "name": format!("Elevated error rates ({code})"),
            "started": ctx.iso(),
            "status": "INVESTIGATING",
            "impact": "PARTIALOUTAGE",
            "url": format!("https://status.bench.invalid/{code}"),
            "updatedAt": ctx.iso(),
        }),
    );
    Ok(INCIDENT_OPENED)
}

/// HTML as it sits inside an XML element.
fn escape_xml(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Inserts `block` before the first `first` tag, else before `end`.
fn insert_before(text: &mut String, first: &str, end: &str, block: &str) -> anyhow::Result<()> {
    let at = text
        .find(first)
        .or_else(|| text.find(end))
        .with_context(|| format!("neither {first} nor {end} in the feed"))?;
    // Keep the indentation of the line the block goes before.
    let line_start = text[..at].rfind('\n').map(|i| i + 1).unwrap_or(at);
    let at = if text[line_start..at].trim().is_empty() {
        line_start
    } else {
        at
    };
    text.insert_str(at, block);
    Ok(())
}

/// A new incident at the top of a Statuspage history feed (or any feed): one Investigating
/// block dated now, linked as `/incidents/<code>`.
fn feed_entry(text: &mut String, ctx: &EditContext) -> anyhow::Result<&'static str> {
    let code = ctx.code();
    let title = format!("Elevated error rates ({code})");
    let link = format!("https://status.bench.invalid/incidents/{code}");
    let stamp = ctx
        .now
        .format("%b <var data-var='date'>%e</var>, <var data-var='time'>%H:%M</var> UTC");
    let content = escape_xml(&format!(
        "<p><small>{stamp}</small><br><strong>Investigating</strong> - We are investigating elevated error rates.</p>"
    ));
    if text.contains("<feed") {
        let entry = format!(
            "  <entry>\n    <id>tag:status.bench.invalid,2005:Incident/{code}</id>\n    <published>{iso}</published>\n    <updated>{iso}</updated>\n    <link rel=\"alternate\" type=\"text/html\" href=\"{link}\"/>\n    <title>{title}</title>\n    <content type=\"html\">{content}</content>\n  </entry>\n",
            iso = ctx.now.to_rfc3339_opts(SecondsFormat::Secs, true),
        );
        insert_before(text, "<entry", "</feed>", &entry)?;
    } else {
        let item = format!(
            "    <item>\n      <title>{title}</title>\n      <description>{content}</description>\n      <pubDate>{date}</pubDate>\n      <link>{link}</link>\n      <guid>{link}</guid>\n    </item>\n",
            date = ctx.now.to_rfc2822(),
        );
        insert_before(text, "<item", "</channel>", &item)?;
    }
    Ok(INCIDENT_OPENED)
}

/// A new Azure item (with two categories) and the channel's `lastBuildDate` moved to now.
fn azure_item(text: &mut String, ctx: &EditContext) -> anyhow::Result<&'static str> {
    let code = ctx.code();
    let date = ctx.now.format("%a, %d %b %Y %H:%M:%S Z").to_string();
    let description = escape_xml(&format!(
        "<p>Starting at {} UTC, we began investigating connectivity issues affecting Bench Service {} in West Europe.</p>",
        ctx.now.format("%H:%M"),
        ctx.turn % 5
    ));
    let item = format!(
        "    <item>\n      <guid\n        isPermaLink=\"false\">{code}</guid>\n      <link>https://azure.status.microsoft/en-us/status/</link>\n      <category>Bench Service {service}</category>\n      <category>West Europe</category>\n      <title>Connectivity issues in West Europe ({code})</title>\n      <description>{description}</description>\n      <pubDate>{date}</pubDate>\n    </item>\n",
        service = ctx.turn % 5,
    );
    insert_before(text, "<item", "</channel>", &item)?;
    if let (Some(start), Some(end)) = (text.find("<lastBuildDate>"), text.find("</lastBuildDate>"))
    {
        text.replace_range(start + "<lastBuildDate>".len()..end, &date);
    }
    Ok(INCIDENT_OPENED)
}

fn statusio_flip(value: &mut Value, ctx: &EditContext) -> anyhow::Result<&'static str> {
    let components = value["result"]["status"]
        .as_array_mut()
        .context("no `result.status` list")?;
    if components.is_empty() {
        bail!("no component to flip");
    }
    let i = ctx.pick(components.len());
    let component = &mut components[i];
    let (code, text) = match component["status_code"].as_i64() {
        Some(100) => (300, "Degraded Performance"),
        _ => (100, "Operational"),
    };
    component["status_code"] = json!(code);
    component["status"] = json!(text);
    component["updated"] = json!(ctx.iso());
    if let Some(containers) = component["containers"].as_array_mut() {
        for container in containers {
            container["status_code"] = json!(code);
            container["status"] = json!(text);
        }
    }
    Ok(COMPONENT_STATUS_CHANGED)
}

fn gcp_incident(value: &mut Value, ctx: &EditContext) -> anyhow::Result<&'static str> {
    let code = ctx.code();
    let at = ctx.iso_offset();
    let update = json!({
        "created": at, "modified": at, "when": at,
        "text": "We are investigating elevated latency for Bench Product.",
        "status": "SERVICE_DISRUPTION",
        "affected_locations": [{"title": "Belgium (europe-west1)", "id": "europe-west1"}],
    });
    value
        .as_array_mut()
        .context("not a list")?
        .insert(
            0,
            json!({
                "id": code,
                "number": format!("{}", 9_000_000 + ctx.vendor * 100 + ctx.turn),
                "begin": at, "created": at, "modified": at,
                "external_desc": format!("[Bench Product] Elevated latency ({code})"),
                "updates": [update.clone()],
                "most_recent_update": update,
                "status_impact": "SERVICE_DISRUPTION",
                "severity": "medium",
                "service_key": "benchproduct",
                "service_name": "Bench Product",
                "affected_products": [{"title": "Bench Product", "id": "benchproduct"}],
                "currently_affected_locations": [{"title": "Belgium (europe-west1)", "id": "europe-west1"}],
                "previously_affected_locations": [],
                "uri": format!("incidents/{code}"),
            }),
        );
    Ok(INCIDENT_OPENED)
}

fn aws_health_event(value: &mut Value, ctx: &EditContext) -> anyhow::Result<&'static str> {
    let code = ctx.code();
    let epoch = ctx.now.timestamp();
    value.as_array_mut().context("not a list")?.insert(
        0,
        json!({
            "date": epoch.to_string(),
            "arn": format!("arn:aws:health:us-east-1::event/EC2/AWS_EC2_OPERATIONAL_ISSUE/AWS_EC2_OPERATIONAL_ISSUE_{code}"),
            "region_name": "N. Virginia",
            "status": "1",
            "service": "ec2-us-east-1",
            "service_name": "Amazon Elastic Compute Cloud",
            "summary": "Increased API Error Rates",
            "event_log": [{
                "summary": "Increased API Error Rates",
                "message": format!("We are investigating increased API error rates in the US-EAST-1 Region ({code})."),
                "status": 1,
                "timestamp": epoch,
            }],
            "impacted_services": {
                "ec2-us-east-1": {"service_name": "Amazon Elastic Compute Cloud", "current": "1", "max": "1"}
            },
        }),
    );
    Ok(INCIDENT_OPENED)
}

fn aws_status_entry(value: &mut Value, ctx: &EditContext) -> anyhow::Result<&'static str> {
    let code = ctx.code();
    let current = array_at(value, "current")?;
    current.insert(
        0,
        json!({
            "service_name": "Amazon Elastic Compute Cloud (N. Virginia)",
            "summary": format!("Increased API Error Rates ({code})"),
            "date": ctx.now.timestamp().to_string(),
            "status": "1",
            "details": "",
            "description": format!(
                "<div><span class=\"yellowfg\">{} UTC</span>&nbsp;We are investigating increased API error rates in the US-EAST-1 Region.</div>",
                ctx.now.format("%-I:%M %p")
            ),
            "service": "ec2-us-east-1",
        }),
    );
    Ok(INCIDENT_OPENED)
}

fn slack_incident(value: &mut Value, ctx: &EditContext) -> anyhow::Result<&'static str> {
    let code = ctx.code();
    let at = ctx.iso_offset();
    value["status"] = json!("active");
    value["date_updated"] = json!(at);
    array_at(value, "active_incidents")?.insert(
        0,
        json!({
            "id": 900_000 + ctx.vendor * 100 + ctx.turn,
            "date_created": at,
            "date_updated": at,
            "title": format!("Some users may have trouble loading messages ({code})"),
            "type": "incident",
            "status": "active",
            "url": format!("https://status.slack.com/bench/{code}"),
            "services": ["Messaging"],
            "notes": [{"date_created": at, "body": "We're investigating reports of messages failing to load."}],
        }),
    );
    Ok(INCIDENT_OPENED)
}

fn heroku_flip(value: &mut Value, ctx: &EditContext) -> anyhow::Result<&'static str> {
    let systems = array_at(value, "status")?;
    if systems.is_empty() {
        bail!("no system to flip");
    }
    let i = ctx.pick(systems.len());
    let next = match systems[i]["status"].as_str() {
        Some("green") => "yellow",
        _ => "green",
    };
    systems[i]["status"] = json!(next);
    Ok(COMPONENT_STATUS_CHANGED)
}

fn salesforce_flip(value: &mut Value, ctx: &EditContext) -> anyhow::Result<&'static str> {
    let instances = value.as_array_mut().context("not a list")?;
    if instances.is_empty() {
        bail!("no instance to flip");
    }
    let i = ctx.pick(instances.len());
    let next = match instances[i]["status"].as_str() {
        Some("OK") => "MINOR_INCIDENT_CORE",
        _ => "OK",
    };
    instances[i]["status"] = json!(next);
    Ok(COMPONENT_STATUS_CHANGED)
}

fn betterstack_flip(value: &mut Value, ctx: &EditContext) -> anyhow::Result<&'static str> {
    let included = array_at(value, "included")?;
    let resources: Vec<usize> = (0..included.len())
        .filter(|&i| included[i]["type"] == "status_page_resource")
        .collect();
    if resources.is_empty() {
        bail!("no resource to flip");
    }
    let attributes = &mut included[resources[ctx.pick(resources.len())]]["attributes"];
    let next = match attributes["status"].as_str() {
        Some("operational") => "degraded",
        _ => "operational",
    };
    attributes["status"] = json!(next);
    Ok(COMPONENT_STATUS_CHANGED)
}

fn checkly_update(value: &mut Value, ctx: &EditContext) -> anyhow::Result<&'static str> {
    let code = ctx.code();
    let incidents = array_at(value, "incidents")?;
    let Some(incident) = incidents.first_mut() else {
        incidents.push(json!({
            "id": code, "name": format!("API degraded ({code})"), "severity": "MEDIUM",
            "created_at": ctx.iso(), "updated_at": ctx.iso(), "lastUpdateStatus": "INVESTIGATING",
            "services": [],
            "incidentUpdates": [{"id": format!("{code}-u"), "status": "INVESTIGATING",
                "description": "We are investigating.", "publicIncidentUpdateDate": ctx.iso(),
                "created_at": ctx.iso()}],
        }));
        return Ok(INCIDENT_OPENED);
    };
    let status = incident["lastUpdateStatus"]
        .as_str()
        .unwrap_or("INVESTIGATING")
        .to_string();
    incident["updated_at"] = json!(ctx.iso());
    array_at(incident, "incidentUpdates")?.push(json!({
        "id": code,
        "status": status,
        "description": format!("We are still investigating (update {}).", ctx.turn + 1),
        "publicIncidentUpdateDate": ctx.iso(),
        "created_at": ctx.iso(),
        "notifySubscribers": true,
    }));
    Ok(UPDATE_POSTED)
}

// ---- check: the edits through the real adapters and diff ---------------------------------------

fn read_fixture(dir: &Path, name: &str) -> anyhow::Result<Bytes> {
    let path = dir.join(name);
    Ok(Bytes::from(
        std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?,
    ))
}

/// Parses a vendor's documents as the poller does, merged in order.
fn read_documents(
    format: &Format,
    docs: &[(url::Url, Bytes)],
    now: Timestamp,
) -> anyhow::Result<VendorSnapshot> {
    let adapter = format.adapter.adapter();
    let mut merged: Option<VendorSnapshot> = None;
    for (url, body) in docs {
        let doc = Document {
            url,
            content_type: Some(content_type(url.path())),
            body,
            fetched_at: now,
        };
        let snapshot = adapter
            .parse(&doc)
            .map_err(|e| anyhow!("cannot read {url}: {e}"))?;
        merged = Some(match merged {
            Some(m) => m.merge(snapshot),
            None => snapshot,
        });
    }
    let mut snapshot = merged.unwrap_or_default();
    within_horizon(&mut snapshot, horizon(now));
    Ok(snapshot)
}

/// One poll: the diff's event kinds, applied to `state`.
fn poll_once(
    vendor: &mut Vendor,
    state: &mut VendorState,
    snapshot: &VendorSnapshot,
    now: Timestamp,
) -> Vec<String> {
    let changes = diff(vendor, state, snapshot, now);
    apply(state, &changes);
    trim(state, horizon(now));
    vendor.imported = true;
    changes
        .events
        .iter()
        .map(|e| e.kind.as_str().to_string())
        .collect()
}

/// Imports, re-reads, then edits `turns` times; each edit must yield its event, and each
/// re-read of unchanged bytes nothing.
fn check_one(
    format: &Format,
    fixture: &str,
    dir: &Path,
    vendor_index: usize,
) -> anyhow::Result<Vec<String>> {
    let base = url::Url::parse("http://127.0.0.1:9/").expect("URL");
    let edited_url = if format.own_port {
        base.join(format.path)?
    } else {
        base.join(&format!("/v{vendor_index:04}{}", format.path))?
    };
    let mut docs = vec![(edited_url, read_fixture(dir, fixture)?)];
    if let Some((extra, path)) = format.extra {
        docs.push((base.join(path)?, read_fixture(dir, extra)?));
    }
    let start = Utc::now();
    let ts = Timestamp::from_datetime(start);
    let mut vendor = Vendor {
        id: VendorId::new(),
        slug: format!("v{vendor_index:04}"),
        name: format.label.to_string(),
        page_url: base.to_string(),
        source_url: None,
        adapter: format.adapter,
        poll_interval_seconds: 60,
        components_of_interest: Vec::new(),
        enabled: true,
        source_state: SourceState::Ok,
        source_error: None,
        unreachable_since: None,
        last_checked_at: None,
        imported: false,
        validators: BTreeMap::new(),
        managed_by: ManagedBy::Api,
        config_key: None,
        created_at: ts,
        updated_at: ts,
    };
    let mut state = VendorState::default();
    let mut seen = Vec::new();
    let mut minute = 0i64;
    let at = |minute: i64| Timestamp::from_datetime(start + chrono::Duration::minutes(minute));
    let first = poll_once(
        &mut vendor,
        &mut state,
        &read_documents(format, &docs, at(0))?,
        at(0),
    );
    if first != ["vendor.imported"] {
        bail!("the first poll gave {first:?}, not one vendor.imported");
    }
    for turn in 0..4 {
        minute += 1;
        let again = poll_once(
            &mut vendor,
            &mut state,
            &read_documents(format, &docs, at(minute))?,
            at(minute),
        );
        if !again.is_empty() {
            bail!("re-reading unchanged bytes a minute later gave {again:?}");
        }
        minute += 1;
        let ctx = EditContext {
            vendor: vendor_index,
            turn,
            now: at(minute).0,
        };
        let (body, expected) = edit(format.change, format.encoding, &docs[0].1, &ctx)?;
        docs[0].1 = Bytes::from(body);
        let kinds = poll_once(
            &mut vendor,
            &mut state,
            &read_documents(format, &docs, at(minute))?,
            at(minute),
        );
        if !kinds.iter().any(|k| k == expected) {
            bail!("edit {turn} should give {expected}, gave {kinds:?}");
        }
        seen.extend(kinds);
    }
    seen.sort();
    seen.dedup();
    Ok(seen)
}

fn check(dir: &Path) -> anyhow::Result<()> {
    let (mut ok, mut failed) = (0, 0);
    for format in FORMATS {
        for (i, fixture) in format.fixtures.iter().enumerate() {
            // Two vendor numbers, so both alternatives of the summary's edits are taken.
            for vendor_index in [i * 2, i * 2 + 1] {
                match check_one(format, fixture, dir, vendor_index) {
                    Ok(kinds) => {
                        ok += 1;
                        if vendor_index == i * 2 {
                            println!("ok {} {fixture} {}", format.label, kinds.join(","));
                        }
                    }
                    Err(err) => {
                        failed += 1;
                        println!(
                            "failed {} {fixture} {}",
                            format.label,
                            format!("{err:#}").replace('\n', " ")
                        );
                    }
                }
            }
        }
    }
    println!("check_ok {ok}");
    println!("check_failed {failed}");
    Ok(())
}

// ---- serve: the vendors' pages and their edits ------------------------------------------------

/// One document as served.
struct Doc {
    body: Bytes,
    etag: Option<String>,
    content_type: &'static str,
}

impl Doc {
    fn new(body: Bytes, content_type: &'static str, validators: bool) -> Doc {
        Doc {
            etag: validators.then(|| format!("\"{:016x}\"", fnv(&body))),
            body,
            content_type,
        }
    }
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100000001b3)
    })
}

/// One vendor as the server knows it.
struct Site {
    slug: String,
    format: &'static Format,
    fixture: &'static str,
    port: u16,
    /// Where the edited document is served on `port`.
    path: String,
    edits: usize,
}

/// A vendor as `create` posts it.
#[derive(Debug, Serialize, Deserialize)]
struct ManifestVendor {
    slug: String,
    name: String,
    adapter: String,
    page_url: String,
    source_url: Option<String>,
    format: String,
    fixture: String,
}

/// One edit, as `GET /changes` lists it.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct ChangeRecord {
    slug: String,
    format: String,
    fixture: String,
    /// The event kind the edit must produce.
    kind: String,
    /// When the new payload was in place (RFC 3339, microseconds).
    at: String,
    error: Option<String>,
}

#[derive(Default)]
struct Stats {
    requests: AtomicU64,
    not_modified: AtomicU64,
    full: AtomicU64,
    missing: AtomicU64,
    bytes: AtomicU64,
}

struct World {
    /// (port, path) → the document. A std Mutex: held for a lookup or a swap, never across
    /// an await.
    docs: Mutex<HashMap<(u16, String), Arc<Doc>>>,
    sites: Mutex<Vec<Site>>,
    log: Mutex<Vec<ChangeRecord>>,
    validators: bool,
    stats: Stats,
    started: AtomicBool,
    done: AtomicBool,
    seed: u64,
}

async fn serve(
    dir: &Path,
    vendors: usize,
    ports: usize,
    manifest: &Path,
    validators: bool,
    seed: u64,
) -> anyhow::Result<()> {
    if vendors == 0 || ports == 0 {
        bail!("--vendors and --ports must be above 0");
    }
    // Every 40 vendors take each format `weight` times, interleaved (17 is prime to 40).
    let slots: Vec<&'static Format> = FORMATS
        .iter()
        .flat_map(|f| std::iter::repeat_n(f, f.weight))
        .collect();
    let mut fixtures: HashMap<&'static str, Bytes> = HashMap::new();
    for format in FORMATS {
        for name in format
            .fixtures
            .iter()
            .copied()
            .chain(format.extra.map(|(f, _)| f))
        {
            fixtures.insert(name, read_fixture(dir, name)?);
        }
    }

    let mut shared = Vec::with_capacity(ports);
    for _ in 0..ports {
        shared.push(bind().await?);
    }
    let mut listeners: Vec<(u16, tokio::net::TcpListener)> = Vec::new();
    let mut docs: HashMap<(u16, String), Arc<Doc>> = HashMap::new();
    let mut sites = Vec::with_capacity(vendors);
    let mut entries = Vec::with_capacity(vendors);
    let mut dealt: HashMap<&'static str, usize> = HashMap::new();
    let mut shared_count = 0usize;
    // One Doc per capture, shared by the vendors that have not been edited yet.
    let mut pristine: HashMap<&'static str, Arc<Doc>> = HashMap::new();
    let mut doc_of = |name: &'static str| {
        pristine
            .entry(name)
            .or_insert_with(|| {
                Arc::new(Doc::new(
                    fixtures[name].clone(),
                    content_type(name),
                    validators,
                ))
            })
            .clone()
    };
    for i in 0..vendors {
        let format = slots[(i * 17) % slots.len()];
        let turn = dealt.entry(format.label).or_default();
        let fixture = format.fixtures[*turn % format.fixtures.len()];
        *turn += 1;
        let slug = format!("v{i:04}-{}", format.adapter.as_str().replace('_', "-"));
        let (port, path, page_url, source_url) = if format.own_port {
            let listener = bind().await?;
            let port = listener.local_addr()?.port();
            listeners.push((port, listener));
            if let Some((extra, extra_path)) = format.extra {
                docs.insert((port, extra_path.to_string()), doc_of(extra));
            }
            (
                port,
                format.path.to_string(),
                format!("http://127.0.0.1:{port}/"),
                None,
            )
        } else {
            let port = shared[shared_count % ports].local_addr()?.port();
            shared_count += 1;
            let path = format!("/v{i:04}{}", format.path);
            (
                port,
                path.clone(),
                format!("http://127.0.0.1:{port}/v{i:04}/"),
                Some(format!("http://127.0.0.1:{port}{path}")),
            )
        };
        docs.insert((port, path.clone()), doc_of(fixture));
        entries.push(ManifestVendor {
            slug: slug.clone(),
            name: format!("Bench vendor {i:04} ({})", format.label),
            adapter: format.adapter.as_str().to_string(),
            page_url,
            source_url,
            format: format.label.to_string(),
            fixture: fixture.to_string(),
        });
        sites.push(Site {
            slug,
            format,
            fixture,
            port,
            path,
            edits: 0,
        });
    }
    for listener in shared {
        listeners.push((listener.local_addr()?.port(), listener));
    }
    let world = Arc::new(World {
        docs: Mutex::new(docs),
        sites: Mutex::new(sites),
        log: Mutex::new(Vec::new()),
        validators,
        stats: Stats::default(),
        started: AtomicBool::new(false),
        done: AtomicBool::new(false),
        seed,
    });
    let hosts = listeners.len();
    for (port, listener) in listeners {
        let app = axum::Router::new()
            .fallback(page)
            .with_state((world.clone(), port));
        tokio::spawn(async move {
            if let Err(err) = axum::serve(listener, app).await {
                eprintln!("bench_vendors: port {port} stopped: {err}");
            }
        });
    }
    let control = bind().await?;
    let control_addr = control.local_addr()?;
    let app = axum::Router::new()
        .route("/start", axum::routing::post(start))
        .route("/changes", axum::routing::get(changes))
        .route("/stats", axum::routing::get(stats))
        .with_state(world.clone());
    tokio::spawn(async move {
        let _ = axum::serve(control, app).await;
    });
    std::fs::write(manifest, serde_json::to_vec_pretty(&entries)?)
        .with_context(|| format!("writing {}", manifest.display()))?;
    let own = entries.iter().filter(|e| e.source_url.is_none()).count();
    eprintln!(
        "bench_vendors: serving {vendors} vendors on {hosts} ports of 127.0.0.1 ({own} with a port of their own, {} on {ports} shared ports), {}",
        vendors - own,
        if validators { "ETag and 304" } else { "no validators" }
    );
    println!("ready control=http://{control_addr} hosts={hosts} own_ports={own}");
    std::future::pending::<()>().await;
    Ok(())
}

async fn bind() -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("binding 127.0.0.1:0")
}

async fn page(State((world, port)): State<(Arc<World>, u16)>, req: Request<Body>) -> Response {
    let stats = &world.stats;
    stats.requests.fetch_add(1, Ordering::Relaxed);
    let doc = world
        .docs
        .lock()
        .expect("docs lock")
        .get(&(port, req.uri().path().to_string()))
        .cloned();
    let Some(doc) = doc else {
        stats.missing.fetch_add(1, Ordering::Relaxed);
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    let mut response = Response::builder().header(header::CONTENT_TYPE, doc.content_type);
    if let Some(etag) = &doc.etag {
        response = response.header(header::ETAG, etag);
        let matches = req
            .headers()
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            == Some(etag.as_str());
        if matches {
            stats.not_modified.fetch_add(1, Ordering::Relaxed);
            return response
                .status(StatusCode::NOT_MODIFIED)
                .body(Body::empty())
                .expect("response");
        }
    }
    stats.full.fetch_add(1, Ordering::Relaxed);
    stats
        .bytes
        .fetch_add(doc.body.len() as u64, Ordering::Relaxed);
    response
        .body(Body::from(doc.body.clone()))
        .expect("response")
}

#[derive(Deserialize)]
struct StartQuery {
    seconds: u64,
    /// The share of the vendors edited per minute (0.1: 10 %).
    per_minute: f64,
}

async fn start(
    State(world): State<Arc<World>>,
    Query(q): Query<StartQuery>,
) -> (StatusCode, Json<Value>) {
    if world.started.swap(true, Ordering::SeqCst) {
        return (
            StatusCode::CONFLICT,
            Json(json!({"error": "already started"})),
        );
    }
    let vendors = world.sites.lock().expect("sites lock").len();
    let total = (vendors as f64 * q.per_minute * q.seconds as f64 / 60.0).round() as usize;
    let mut rng = rand::rngs::StdRng::seed_from_u64(world.seed);
    let mut order: Vec<usize> = (0..vendors).collect();
    order.shuffle(&mut rng);
    // Evenly spaced with jitter: change j falls in the j-th of `total` equal slots.
    let slot = q.seconds as f64 / total.max(1) as f64;
    let plan: Vec<(Duration, usize)> = (0..total)
        .map(|j| {
            let offset = (j as f64 + rng.random::<f64>()) * slot;
            (Duration::from_secs_f64(offset), order[j % vendors])
        })
        .collect();
    let task_world = world.clone();
    tokio::spawn(async move {
        let begin = tokio::time::Instant::now();
        for (offset, vendor) in plan {
            tokio::time::sleep_until(begin + offset).await;
            let record = change_vendor(&task_world, vendor);
            task_world.log.lock().expect("log lock").push(record);
        }
        task_world.done.store(true, Ordering::SeqCst);
        eprintln!("bench_vendors: edits done");
    });
    eprintln!(
        "bench_vendors: editing {total} vendors over {} s ({:.1} % of {vendors} a minute)",
        q.seconds,
        q.per_minute * 100.0
    );
    (StatusCode::OK, Json(json!({"changes": total})))
}

/// Edits one vendor's document now and says what was done.
fn change_vendor(world: &World, vendor: usize) -> ChangeRecord {
    let (format, fixture, slug, port, path, turn) = {
        let mut sites = world.sites.lock().expect("sites lock");
        let site = &mut sites[vendor];
        site.edits += 1;
        (
            site.format,
            site.fixture,
            site.slug.clone(),
            site.port,
            site.path.clone(),
            site.edits - 1,
        )
    };
    let key = (port, path);
    let current = world.docs.lock().expect("docs lock").get(&key).cloned();
    let ctx = EditContext {
        vendor,
        turn,
        now: Utc::now(),
    };
    let edited = current
        .ok_or_else(|| anyhow!("no document at {}", key.1))
        .and_then(|doc| edit(format.change, format.encoding, &doc.body, &ctx));
    let (kind, error) = match edited {
        Ok((body, kind)) => {
            let doc = Doc::new(Bytes::from(body), content_type(fixture), world.validators);
            world
                .docs
                .lock()
                .expect("docs lock")
                .insert(key, Arc::new(doc));
            (kind.to_string(), None)
        }
        Err(err) => ("error".to_string(), Some(format!("{err:#}"))),
    };
    ChangeRecord {
        slug,
        format: format.label.to_string(),
        fixture: fixture.to_string(),
        kind,
        // After the swap: a poll from now on gets the new payload.
        at: Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true),
        error,
    }
}

async fn changes(State(world): State<Arc<World>>) -> Json<Value> {
    let log = world.log.lock().expect("log lock").clone();
    Json(json!({"done": world.done.load(Ordering::SeqCst), "changes": log}))
}

async fn stats(State(world): State<Arc<World>>) -> Json<Value> {
    let s = &world.stats;
    Json(json!({
        "requests": s.requests.load(Ordering::Relaxed),
        "not_modified": s.not_modified.load(Ordering::Relaxed),
        "full": s.full.load(Ordering::Relaxed),
        "missing": s.missing.load(Ordering::Relaxed),
        "bytes": s.bytes.load(Ordering::Relaxed),
    }))
}

// ---- the API side: create, seq, latency ---------------------------------------------------------

struct Api {
    client: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    fn new(base: &str, token_file: &Path) -> anyhow::Result<Api> {
        let token = std::fs::read_to_string(token_file)
            .with_context(|| format!("reading {}", token_file.display()))?
            .trim()
            .to_string();
        Ok(Api {
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()?,
            base: base.trim_end_matches('/').to_string(),
            token,
        })
    }

    async fn get(&self, path: &str) -> anyhow::Result<Value> {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .with_context(|| format!("GET {path}"))?;
        let status = response.status();
        let body = response.text().await?;
        if !status.is_success() {
            bail!("GET {path}: {status} {body}");
        }
        serde_json::from_str(&body).with_context(|| format!("GET {path}: not JSON"))
    }
}

async fn create(api: &Api, manifest: &Path, interval: u64, over: u64) -> anyhow::Result<()> {
    let vendors: Vec<ManifestVendor> = serde_json::from_slice(
        &std::fs::read(manifest).with_context(|| format!("reading {}", manifest.display()))?,
    )?;
    let n = vendors.len();
    let began = tokio::time::Instant::now();
    let permits = Arc::new(tokio::sync::Semaphore::new(16));
    let mut tasks = tokio::task::JoinSet::new();
    let mut errors: Vec<String> = Vec::new();
    for (i, v) in vendors.into_iter().enumerate() {
        if over > 0 {
            tokio::time::sleep_until(
                began + Duration::from_secs(over).mul_f64(i as f64 / n as f64),
            )
            .await;
        }
        let permit = permits.clone().acquire_owned().await?;
        let (client, url, token) = (
            api.client.clone(),
            format!("{}/api/v1/vendors", api.base),
            api.token.clone(),
        );
        tasks.spawn(async move {
            let _permit = permit;
            let mut body = json!({
                "name": v.name, "slug": v.slug, "page_url": v.page_url,
                "adapter": v.adapter, "poll_interval_seconds": interval,
            });
            if let Some(source) = &v.source_url {
                body["source_url"] = json!(source);
            }
            let response = client
                .post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .map_err(|e| format!("{}: {e}", v.slug))?;
            if response.status() != reqwest::StatusCode::CREATED {
                let status = response.status();
                return Err(format!(
                    "{}: {status} {}",
                    v.slug,
                    response.text().await.unwrap_or_default()
                ));
            }
            Ok(())
        });
        while let Some(done) = tasks.try_join_next() {
            if let Err(e) = done? {
                errors.push(e);
            }
        }
        if (i + 1) % 500 == 0 {
            eprintln!("bench_vendors: {} vendors created", i + 1);
        }
    }
    while let Some(done) = tasks.join_next().await {
        if let Err(e) = done? {
            errors.push(e);
        }
    }
    let took = began.elapsed().as_secs_f64();
    if let Some(first) = errors.first() {
        bail!(
            "{} of {n} vendors were not created, e.g. {first}",
            errors.len()
        );
    }
    eprintln!("bench_vendors: created {n} vendors in {took:.1} s; waiting for their first polls");
    println!("created {n}");
    println!("create_seconds {took:.2}");

    // The first round: every vendor polled once (imported) or found unreachable.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(interval + 60);
    let (imported, unreachable, example) = loop {
        let list = api.get("/api/v1/vendors").await?;
        let data = list["data"].as_array().cloned().unwrap_or_default();
        let imported = data.iter().filter(|v| v["imported"] == true).count();
        let failing: Vec<&Value> = data
            .iter()
            .filter(|v| v["source_state"] == "unreachable")
            .collect();
        let example = failing
            .first()
            .map(|v| {
                format!(
                    "{}: {}",
                    v["slug"].as_str().unwrap_or("?"),
                    v["source_error"].as_str().unwrap_or("?")
                )
            })
            .unwrap_or_default();
        if imported + failing.len() >= n || tokio::time::Instant::now() >= deadline {
            break (imported, failing.len(), example);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    let waited = began.elapsed().as_secs_f64() - took;
    eprintln!(
        "bench_vendors: {imported} of {n} vendors imported, {unreachable} unreachable, {waited:.1} s after the last creation"
    );
    println!("imported {imported}");
    println!("unreachable {unreachable}");
    println!("import_wait_seconds {waited:.2}");
    if !example.is_empty() {
        println!("unreachable_example {}", example.replace('\n', " "));
    }
    Ok(())
}

/// All events after `after`, in order.
async fn events_after(api: &Api, mut after: i64) -> anyhow::Result<Vec<Value>> {
    let mut all = Vec::new();
    loop {
        let page = api
            .get(&format!("/api/v1/events?after={after}&limit=1000"))
            .await?;
        let data = page["data"].as_array().cloned().unwrap_or_default();
        if data.is_empty() {
            return Ok(all);
        }
        after = page["next_after"]
            .as_i64()
            .context("no `next_after` in the events page")?;
        all.extend(data);
    }
}

async fn last_seq(api: &Api) -> anyhow::Result<i64> {
    Ok(events_after(api, 0)
        .await?
        .last()
        .and_then(|e| e["seq"].as_i64())
        .unwrap_or(0))
}

/// The value at quantile `q` of sorted values (nearest rank).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

struct Event {
    kind: String,
    slug: String,
    at: DateTime<Utc>,
}

async fn latency(api: &Api, control: &str, after: i64, interval: u64) -> anyhow::Result<()> {
    let listed: Value = reqwest::get(format!("{}/changes", control.trim_end_matches('/')))
        .await
        .context("GET /changes")?
        .json()
        .await?;
    let changes: Vec<ChangeRecord> =
        serde_json::from_value(listed["changes"].clone()).context("reading the changes")?;
    let events: Vec<Event> = events_after(api, after)
        .await?
        .into_iter()
        .filter_map(|e| {
            Some(Event {
                kind: e["kind"].as_str()?.to_string(),
                slug: e["data"]["slug"].as_str().unwrap_or("").to_string(),
                at: parse_time(e["at"].as_str()?)?,
            })
        })
        .filter(|e| e.kind.starts_with("vendor."))
        .collect();
    let mut by_key: HashMap<(&str, &str), Vec<usize>> = HashMap::new();
    for (i, e) in events.iter().enumerate() {
        by_key
            .entry((e.slug.as_str(), e.kind.as_str()))
            .or_default()
            .push(i);
    }
    let mut used = vec![false; events.len()];
    let mut delays = Vec::new();
    let mut per_format: BTreeMap<&str, (usize, Vec<f64>)> = BTreeMap::new();
    let mut unmatched = Vec::new();
    let mut errors = Vec::new();
    let mut ordered: Vec<&ChangeRecord> = changes.iter().collect();
    ordered.sort_by(|a, b| a.at.cmp(&b.at));
    for change in ordered {
        let entry = per_format.entry(change.format.as_str()).or_default();
        entry.0 += 1;
        if let Some(err) = &change.error {
            errors.push(format!("{} {}: {err}", change.slug, change.fixture));
            continue;
        }
        let Some(at) = parse_time(&change.at) else {
            continue;
        };
        let found = by_key
            .get(&(change.slug.as_str(), change.kind.as_str()))
            .and_then(|list| {
                list.iter()
                    .copied()
                    .find(|&i| !used[i] && events[i].at >= at)
            });
        match found {
            Some(i) => {
                used[i] = true;
                let delay = (events[i].at - at).num_microseconds().unwrap_or(i64::MAX) as f64 / 1e6;
                delays.push(delay);
                entry.1.push(delay);
            }
            None => unmatched.push(format!(
                "{} {} {} {}",
                change.slug, change.kind, change.at, change.fixture
            )),
        }
    }
    // Events in the transaction of a matched event (same vendor, same time) come with the
    // edit; the rest of the vendor events are unexplained.
    let explained: std::collections::HashSet<(&str, DateTime<Utc>)> = events
        .iter()
        .zip(&used)
        .filter(|(_, u)| **u)
        .map(|(e, _)| (e.slug.as_str(), e.at))
        .collect();
    let mut unexplained: BTreeMap<&str, (usize, String)> = BTreeMap::new();
    let mut companions: BTreeMap<&str, usize> = BTreeMap::new();
    for (e, u) in events.iter().zip(&used) {
        if *u
            || matches!(
                e.kind.as_str(),
                "vendor.created" | "vendor.updated" | "vendor.deleted"
            )
        {
            continue;
        }
        if explained.contains(&(e.slug.as_str(), e.at)) {
            *companions.entry(e.kind.as_str()).or_default() += 1;
        } else {
            let entry = unexplained.entry(e.kind.as_str()).or_default();
            entry.0 += 1;
            if entry.1.is_empty() {
                entry.1 = format!("{} at {}", e.slug, e.at.to_rfc3339());
            }
        }
    }
    let target = interval as f64 + 1.0;
    delays.sort_by(f64::total_cmp);
    println!("changes {}", changes.len());
    println!("edit_errors {}", errors.len());
    if let Some(e) = errors.first() {
        println!("edit_error_example {}", e.replace('\n', " "));
    }
    println!("matched {}", delays.len());
    println!("vendor_events {}", events.len());
    println!(
        "latency_s {:.3} {:.3} {:.3} {:.3}",
        quantile(&delays, 0.5),
        quantile(&delays, 0.95),
        delays.last().copied().unwrap_or(f64::NAN),
        delays.iter().sum::<f64>() / delays.len().max(1) as f64
    );
    println!(
        "within_target {}",
        delays.iter().filter(|&&d| d <= target).count()
    );
    for (format, (n, mut d)) in per_format {
        d.sort_by(f64::total_cmp);
        println!(
            "format {} {} {:.3} {:.3} {}",
            n,
            d.len(),
            quantile(&d, 0.5),
            d.last().copied().unwrap_or(f64::NAN),
            format
        );
    }
    for line in unmatched.iter().take(5) {
        println!("unmatched {line}");
    }
    for (kind, n) in companions {
        println!("companion {kind} {n}");
    }
    for (kind, (n, example)) in unexplained {
        println!("unexplained {kind} {n} {example}");
    }
    Ok(())
}
