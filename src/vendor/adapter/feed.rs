//! Atom and RSS feeds: a Statuspage page's incident history ([`StatuspageFeed`]) and any other
//! vendor feed ([`Feed`]). Both read the bytes with feed-rs (Atom, RSS 0.9x/1.0/2.0); a JSON
//! Feed, HTML or anything else is [`ParseError::NotThisFormat`]. The shared reading helpers
//! here ([`read_feed`], [`says_resolved`], [`text_id`]) are also used by the Azure adapter.
//!
//! # Statuspage history feed
//!
//! Endpoint: `<page>/history.atom` (`<page>/history.rss` is the same content as RSS 2.0 and
//! reads the same way). One entry is one incident or maintenance; its `link` is
//! `<page>/incidents/<code>` and its HTML content holds the whole timeline, newest first, as
//! blocks of
//!
//! ```text
//! <p><small>Feb <var data-var='date'> 4</var>, <var data-var='time'>10:02</var> UTC</small>
//! <br><strong>Resolved</strong> - This incident has been resolved.</p>
//! ```
//!
//! (older pages write the date without `<var>` markup: `Jan  1, 09:09 PST`).
//!
//! **Recognition.** A feed is a Statuspage history feed when more than half of its entries have
//! an `/incidents/<code>` link or a timeline, and at least one entry has a timeline block whose
//! date is readable. A feed with no entries is accepted only when its title ends with
//! "Incident History" (Statuspage's fixed title) or its Atom id ends with `/history`. Azure's
//! feed, blog feeds and other vendors' feeds have neither, so they are rejected.
//!
//! **Mapping.** The `<strong>` label of each block is the update's status:
//!
//! | Statuspage label | Pharos |
//! |------------------|--------|
//! | Investigating, Identified, Monitoring, Resolved, Postmortem | the same [`IncidentStatus`] |
//! | Scheduled, In progress, Verifying, Completed | the same [`MaintenanceStatus`]; the entry is a maintenance |
//! | Update | the previous update's status (investigating, or scheduled for a maintenance, when first) |
//! | anything else | investigating (scheduled for a maintenance), noted |
//!
//! An entry is a maintenance when its labels include a maintenance status and no incident status.
//! The record's status is its latest update's. An incident's `resolved_at` is its latest
//! Resolved update when it ends closed (else its first Postmortem update); `started_at` is its
//! earliest update. A maintenance's `scheduled_for` is its first In progress update, else its
//! earliest update (the announcement); `scheduled_until` is the Completed update's time.
//! `external_id` is the `<code>` of the entry link, the same id the Statuspage JSON API uses,
//! so a feed and a JSON document of one page de-duplicate; without such a link it is the entry
//! id. `url` is the entry link. An entry whose content has no readable timeline keeps one
//! update with the whole text at the entry's date, resolved only by the rule of [`Feed`].
//!
//! **Times.** A block's date has no year: it takes the year (of the entry's published date, the
//! year before or the year after) that puts it closest to that date, so a December update of
//! an entry published in January lands in the previous year. The zone label is read from a
//! table (UTC, GMT, PST, PDT, EST, CET, ...; numeric offsets too). Statuspage pages of 2013–2014
//! labelled every time with the page's standard-time abbreviation, also in summer (Parse writes
//! `Oct 28, 14:48 PST` for an entry published `14:48:00 -0700`), while the entry's own date
//! carries the true offset. So, for a zone with daylight saving, when no block falls within the
//! minute of the entry's published or updated date but does after moving the offset by one hour,
//! that hour is applied to the whole entry. An unknown zone label takes the quarter-hour offset
//! that makes a block meet the entry's date, else UTC (noted). A block whose date cannot be read
//! is dated with the entry.
//!
//! **What it cannot tell us.** A feed says nothing of impact: incidents are `minor` (documented
//! default, not derived). It names no components, carries no update ids (updates match the JSON
//! API's by time and status), times only to the minute, no maintenance window (only the
//! updates' times), and lists only recent history, so it sets no [`Coverage`] and ends nothing.
//!
//! # Any other feed
//!
//! Endpoint: the page URL itself, which is the feed. One entry is one incident: `external_id`
//! is the entry id (Atom `id`, RSS `guid`), else its link; `name` the title; `started_at` the
//! published date, else the updated date, else the fetch time; `url` the entry link. It has one
//! update, the content (else the summary) as text, dated with the entry's updated date, whose
//! `external_id` is a hash of the text so that an edited entry becomes a new update. Impact is
//! `minor`. The status is `investigating` unless [`says_resolved`]: the title or the text opens
//! with the word "Resolved" or "Mitigated" (optionally in brackets: `[Resolved] ...`,
//! `Resolved: ...`, `Mitigated - ...`); then `resolved`, resolved at the update's time. Words
//! further into the text are ignored ("we will update when this has been resolved" must not
//! close an incident). A feed lists no components and is history, so it sets no coverage.
//!
//! [`Coverage`]: crate::vendor::model::Coverage

use super::text::{self, html_to_text};
use super::{at_path, Adapter, AdapterKind, Document, ParseError};
use crate::domain::status::{IncidentImpact, IncidentStatus, MaintenanceStatus};
use crate::domain::time::Timestamp;
use crate::vendor::model::{
    VendorIncident, VendorMaintenance, VendorMaintenanceUpdate, VendorSnapshot, VendorUpdate,
};
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Timelike, Utc};
use feed_rs::model::{Entry, FeedType, Text};
use regex::Regex;
use std::sync::LazyLock;
use url::Url;

/// A Statuspage page's `history.atom` / `history.rss`.
pub struct StatuspageFeed;

impl Adapter for StatuspageFeed {
    fn kind(&self) -> AdapterKind {
        AdapterKind::StatuspageFeed
    }

    fn documents(&self, page: &Url, source: Option<&Url>) -> Vec<Url> {
        match source {
            Some(source) => vec![source.clone()],
            None => vec![at_path(page, "/history.atom")],
        }
    }

    fn parse(&self, doc: &Document<'_>) -> Result<VendorSnapshot, ParseError> {
        parse_statuspage_feed(doc)
    }
}

/// Any Atom or RSS feed: one entry per incident.
pub struct Feed;

impl Adapter for Feed {
    fn kind(&self) -> AdapterKind {
        AdapterKind::Feed
    }

    fn documents(&self, page: &Url, source: Option<&Url>) -> Vec<Url> {
        vec![source.unwrap_or(page).clone()]
    }

    fn parse(&self, doc: &Document<'_>) -> Result<VendorSnapshot, ParseError> {
        parse_generic_feed(doc)
    }
}

// ---- shared feed reading ----

/// The document as an Atom or RSS feed. Anything that does not start with an XML tag (JSON,
/// including a JSON Feed, which feed-rs would otherwise accept), or whose root is not a feed
/// (HTML), is not this format.
pub(super) fn read_feed(
    doc: &Document<'_>,
    format: &'static str,
) -> Result<feed_rs::model::Feed, ParseError> {
    // Skip byte-order marks (UTF-8, and the NULs of UTF-16) and whitespace before the first tag.
    let first = doc
        .body
        .iter()
        .find(|b| !matches!(b, 0 | 0xEF | 0xBB | 0xBF | 0xFE | 0xFF) && !b.is_ascii_whitespace());
    if first != Some(&b'<') {
        return Err(ParseError::NotThisFormat {
            format,
            detail: "not XML".into(),
        });
    }
    // Ids feed-rs would invent for entries without one (hashes, random UUIDs) are left empty,
    // so that only the source's own ids become external ids.
    let parser = feed_rs::parser::Builder::new()
        .id_generator(|_, _, _| String::new())
        .build();
    let feed = parser
        .parse(doc.body)
        .map_err(|err| ParseError::NotThisFormat {
            format,
            detail: format!(
                "not an Atom or RSS feed: {}",
                text::truncate(&err.to_string(), 200)
            ),
        })?;
    match feed.feed_type {
        FeedType::Atom | FeedType::RSS0 | FeedType::RSS1 | FeedType::RSS2 => Ok(feed),
        FeedType::JSON => Err(ParseError::NotThisFormat {
            format,
            detail: "a JSON Feed, not Atom or RSS".into(),
        }),
    }
}

/// Whether a title or text says, in its first word, that the incident is over: "Resolved" or
/// "Mitigated", alone or followed by punctuation or more words, optionally in brackets.
pub(super) fn says_resolved(title: &str, body: &str) -> bool {
    [title, body].into_iter().any(|s| {
        let s = s.trim_start().trim_start_matches(['[', '(']).trim_start();
        let word = s.split(|c: char| !c.is_alphabetic()).next().unwrap_or("");
        word.eq_ignore_ascii_case("resolved") || word.eq_ignore_ascii_case("mitigated")
    })
}

/// A stable id for a piece of text (FNV-1a, 64 bits): an update without an id of its own keeps
/// the same id across polls while its text is unchanged and gets a new one when it is edited.
pub(super) fn text_id(text: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("text:{hash:016x}")
}

/// A feed-rs date as a Pharos timestamp.
pub(super) fn timestamp(dt: DateTime<Utc>) -> Timestamp {
    Timestamp::from_datetime(dt)
}

/// Plain text of a feed text construct (title, summary), `None` when empty.
pub(super) fn plain(text: Option<&Text>) -> Option<String> {
    let text = text?;
    let plain = if text.content_type.to_string().contains("html") {
        html_to_text(&text.content)
    } else {
        text.content.trim().to_string()
    };
    (!plain.is_empty()).then_some(plain)
}

/// The entry's HTML (or text) body: its content, else its summary (RSS `description`).
fn entry_html(entry: &Entry) -> Option<&str> {
    entry
        .content
        .as_ref()
        .and_then(|c| c.body.as_deref())
        .filter(|b| !b.trim().is_empty())
        .or_else(|| entry.summary.as_ref().map(|s| s.content.as_str()))
}

/// The entry's page: its alternate link, else its first link.
pub(super) fn entry_link(entry: &Entry) -> Option<&str> {
    entry
        .links
        .iter()
        .find(|l| matches!(l.rel.as_deref(), None | Some("alternate")))
        .or_else(|| entry.links.first())
        .map(|l| l.href.trim())
        .filter(|href| !href.is_empty())
}

fn non_empty(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

// ---- generic feed ----

fn parse_generic_feed(doc: &Document<'_>) -> Result<VendorSnapshot, ParseError> {
    let feed = read_feed(doc, "feed")?;
    let mut snapshot = VendorSnapshot {
        page_name: plain(feed.title.as_ref()),
        ..VendorSnapshot::default()
    };
    for entry in &feed.entries {
        let link = entry_link(entry);
        let body = entry_html(entry).map(html_to_text).unwrap_or_default();
        let name = plain(entry.title.as_ref())
            .or_else(|| non_empty(text::truncate(body.lines().next().unwrap_or(""), 120)))
            .unwrap_or_else(|| "Untitled entry".to_string());
        let started_at = entry
            .published
            .or(entry.updated)
            .map(timestamp)
            .unwrap_or(doc.fetched_at);
        let at = entry
            .updated
            .or(entry.published)
            .map(timestamp)
            .unwrap_or(doc.fetched_at)
            .max(started_at);
        let status = if says_resolved(&name, &body) {
            IncidentStatus::Resolved
        } else {
            IncidentStatus::Investigating
        };
        snapshot.incidents.push(VendorIncident {
            external_id: non_empty(&entry.id).or_else(|| link.map(str::to_string)),
            name,
            status,
            impact: IncidentImpact::Minor,
            started_at,
            resolved_at: status.is_closed().then_some(at),
            url: link.map(str::to_string),
            component_ids: Vec::new(),
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

// ---- Statuspage history feed ----

const STATUSPAGE_FORMAT: &str = "Statuspage feed";

fn parse_statuspage_feed(doc: &Document<'_>) -> Result<VendorSnapshot, ParseError> {
    let feed = read_feed(doc, STATUSPAGE_FORMAT)?;
    let title = plain(feed.title.as_ref()).unwrap_or_default();

    let parsed: Vec<(&Entry, Vec<Block>)> = feed
        .entries
        .iter()
        .map(|entry| (entry, timeline(entry_html(entry).unwrap_or(""))))
        .collect();
    if parsed.is_empty() {
        let history = title.to_ascii_lowercase().ends_with("incident history")
            || feed.id.trim_end_matches('/').ends_with("/history");
        if !history {
            return Err(ParseError::NotThisFormat {
                format: STATUSPAGE_FORMAT,
                detail: "an empty feed that is not a Statuspage incident history".into(),
            });
        }
    } else {
        let statuspage_like = parsed
            .iter()
            .filter(|(entry, blocks)| {
                !blocks.is_empty() || entry_link(entry).and_then(incident_code).is_some()
            })
            .count();
        let dated = parsed
            .iter()
            .any(|(_, blocks)| blocks.iter().any(|b| b.stamp.is_some()));
        if statuspage_like * 2 <= parsed.len() || !dated {
            return Err(ParseError::NotThisFormat {
                format: STATUSPAGE_FORMAT,
                detail: "entries have no /incidents/ links or <small>date</small> <strong>status</strong> timelines".into(),
            });
        }
    }

    let mut snapshot = VendorSnapshot {
        page_name: page_name(&title),
        ..VendorSnapshot::default()
    };
    for (entry, blocks) in parsed {
        statuspage_entry(entry, blocks, doc.fetched_at, &mut snapshot);
    }
    Ok(snapshot)
}

/// `Claude Status - Incident History` → `Claude`, the page name the JSON API gives.
fn page_name(title: &str) -> Option<String> {
    let name = title.trim();
    let name = name
        .strip_suffix("Incident History")
        .unwrap_or(name)
        .trim_end();
    let name = name.strip_suffix('-').unwrap_or(name).trim_end();
    let name = name.strip_suffix(" Status").unwrap_or(name).trim();
    non_empty(name)
}

/// The `<code>` of a `.../incidents/<code>` link.
fn incident_code(link: &str) -> Option<String> {
    let url = Url::parse(link).ok()?;
    let mut segments = url.path_segments()?;
    segments.find(|s| *s == "incidents")?;
    segments.next().and_then(non_empty)
}

/// One `<small>date</small><strong>label</strong> body` block of a timeline.
struct Block {
    stamp: Option<Stamp>,
    /// The date as written, for the note when it cannot be read.
    raw_stamp: String,
    label: String,
    body: String,
}

/// A block's date as written: no year (usually), a time to the minute, a zone label.
struct Stamp {
    year: Option<i32>,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    zone: Zone,
}

#[derive(Clone, Debug, PartialEq)]
enum Zone {
    Utc,
    /// Seconds east of UTC; `daylight` when the zone's region observes daylight saving, which is
    /// when the one-hour correction described in the module doc may apply.
    Fixed {
        offset: i64,
        daylight: bool,
    },
    Unknown(String),
}

/// The blocks of a Statuspage timeline, in document order (newest first).
fn timeline(html: &str) -> Vec<Block> {
    static HEADER: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"(?is)<small\b[^>]*>(.*?)</small\s*>\s*(?:<br\s*/?>\s*)*<strong\b[^>]*>(.*?)</strong\s*>",
        )
        .unwrap()
    });
    let headers: Vec<regex::Captures<'_>> = HEADER.captures_iter(html).collect();
    let mut blocks = Vec::with_capacity(headers.len());
    for (i, caps) in headers.iter().enumerate() {
        let (Some(whole), Some(small), Some(strong)) = (caps.get(0), caps.get(1), caps.get(2))
        else {
            continue;
        };
        let end = headers
            .get(i + 1)
            .and_then(|next| next.get(0))
            .map_or(html.len(), |m| m.start());
        let body = html_to_text(html.get(whole.end()..end).unwrap_or(""));
        let body = body
            .strip_prefix(['-', '–', '—'])
            .unwrap_or(&body)
            .trim()
            .to_string();
        let raw_stamp = html_to_text(small.as_str());
        blocks.push(Block {
            stamp: parse_stamp(&raw_stamp),
            raw_stamp,
            label: html_to_text(strong.as_str()),
            body,
        });
    }
    blocks
}

/// `Feb 4, 10:02 UTC`, `Jan 1, 09:09 PST`, `Dec 29, 2013, 9:57 PM PST`, `Mar 3, 10:00 +0100`.
fn parse_stamp(s: &str) -> Option<Stamp> {
    static STAMP: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"(?i)^([a-z]{3})[a-z]*\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(?:(\d{4}),?\s+)?(?:-\s*)?(\d{1,2}):(\d{2})(?:\s*([ap])\.?m\.?)?(?:\s+([a-z][a-z0-9:+\-]*|[+\-]\d{1,2}(?::?\d{2})?))?\s*$",
        )
        .unwrap()
    });
    let caps = STAMP.captures(s.trim())?;
    let month = match caps.get(1)?.as_str().to_ascii_lowercase().as_str() {
        "jan" => 1,
        "feb" => 2,
        "mar" => 3,
        "apr" => 4,
        "may" => 5,
        "jun" => 6,
        "jul" => 7,
        "aug" => 8,
        "sep" => 9,
        "oct" => 10,
        "nov" => 11,
        "dec" => 12,
        _ => return None,
    };
    let day = caps.get(2)?.as_str().parse().ok()?;
    let year = match caps.get(3) {
        Some(y) => Some(y.as_str().parse().ok()?),
        None => None,
    };
    let mut hour: u32 = caps.get(4)?.as_str().parse().ok()?;
    let minute = caps.get(5)?.as_str().parse().ok()?;
    match caps.get(6).map(|m| m.as_str().to_ascii_lowercase()) {
        Some(ref p) if p == "p" && hour < 12 => hour += 12,
        Some(ref a) if a == "a" && hour == 12 => hour = 0,
        _ => {}
    }
    let zone = caps.get(7).map_or(Zone::Utc, |z| zone(z.as_str()));
    Some(Stamp {
        year,
        month,
        day,
        hour,
        minute,
        zone,
    })
}

/// A zone label as an offset.
fn zone(label: &str) -> Zone {
    let upper = label.trim().to_ascii_uppercase();
    let hours = |h: i64, daylight| Zone::Fixed {
        offset: h * 3600,
        daylight,
    };
    match upper.as_str() {
        "UTC" | "GMT" | "UT" | "Z" => Zone::Utc,
        "PST" => hours(-8, true),
        "PDT" | "MST" => hours(-7, true),
        "MDT" | "CST" => hours(-6, true),
        "CDT" | "EST" => hours(-5, true),
        "EDT" => hours(-4, true),
        "AKST" => hours(-9, true),
        "AKDT" => hours(-8, true),
        "HST" => hours(-10, false),
        "WET" => hours(0, true),
        "BST" | "CET" | "WEST" => hours(1, true),
        "CEST" | "EET" => hours(2, true),
        "EEST" => hours(3, true),
        "SGT" | "AWST" | "HKT" => hours(8, false),
        "JST" | "KST" => hours(9, false),
        "AEST" => hours(10, true),
        "AEDT" => hours(11, true),
        "NZST" => hours(12, true),
        "NZDT" => hours(13, true),
        _ => numeric_zone(&upper).unwrap_or_else(|| Zone::Unknown(label.trim().to_string())),
    }
}

/// `+0100`, `-07:00`, `UTC+1`, `GMT-05:30`.
fn numeric_zone(upper: &str) -> Option<Zone> {
    let s = upper
        .strip_prefix("UTC")
        .or_else(|| upper.strip_prefix("GMT"))
        .unwrap_or(upper);
    let (sign, digits) = match s.strip_prefix('+') {
        Some(rest) => (1, rest),
        None => (-1, s.strip_prefix('-')?),
    };
    let digits = digits.replace(':', "");
    if digits.is_empty() || digits.len() > 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m) = if digits.len() <= 2 {
        (digits.parse::<i64>().ok()?, 0)
    } else {
        let split = digits.len() - 2;
        (
            digits.get(..split)?.parse::<i64>().ok()?,
            digits.get(split..)?.parse::<i64>().ok()?,
        )
    };
    if h > 14 || m > 59 {
        return None;
    }
    Some(Zone::Fixed {
        offset: sign * (h * 3600 + m * 60),
        daylight: false,
    })
}

/// The local date and time of a stamp, its missing year chosen closest to `reference`.
fn local_time(stamp: &Stamp, reference: NaiveDateTime) -> Option<NaiveDateTime> {
    let time = NaiveTime::from_hms_opt(stamp.hour, stamp.minute, 0)?;
    let years = match stamp.year {
        Some(year) => vec![year],
        None => {
            let year = reference.year();
            vec![year - 1, year, year + 1]
        }
    };
    years
        .into_iter()
        .filter_map(|y| NaiveDate::from_ymd_opt(y, stamp.month, stamp.day))
        .map(|date| date.and_time(time))
        .min_by_key(|dt| (*dt - reference).num_seconds().abs())
}

/// `local` at `offset` seconds east of UTC.
fn to_utc(local: NaiveDateTime, offset: i64) -> Option<Timestamp> {
    let utc = local.checked_sub_signed(TimeDelta::try_seconds(offset)?)?;
    Some(Timestamp::from_datetime(utc.and_utc()))
}

/// Whether a block written at `at` (to the minute) is the moment `anchor` (to the second).
fn same_minute(at: Timestamp, anchor: Timestamp) -> bool {
    let diff = (anchor.0 - at.0).num_seconds();
    (0..60).contains(&diff)
}

/// The UTC time of each block (see "Times" in the module doc); `None` where unreadable.
fn block_times(
    blocks: &[Block],
    anchors: &[Timestamp],
    reference: Timestamp,
    notes: &mut Vec<String>,
) -> Vec<Option<Timestamp>> {
    let reference = reference.0.naive_utc();
    let locals: Vec<Option<(NaiveDateTime, &Zone)>> = blocks
        .iter()
        .map(|b| {
            let stamp = b.stamp.as_ref()?;
            Some((local_time(stamp, reference)?, &stamp.zone))
        })
        .collect();

    // The one-hour correction for zones labelled without their daylight-saving variant.
    let meets_anchor = |shift: i64| {
        locals.iter().flatten().any(|(local, zone)| match zone {
            Zone::Fixed {
                offset,
                daylight: true,
            } => to_utc(*local, offset + shift)
                .is_some_and(|at| anchors.iter().any(|a| same_minute(at, *a))),
            _ => false,
        })
    };
    let has_daylight_zone = locals
        .iter()
        .flatten()
        .any(|(_, z)| matches!(z, Zone::Fixed { daylight: true, .. }));
    let shift = if !has_daylight_zone || meets_anchor(0) {
        0
    } else if meets_anchor(3600) {
        3600
    } else if meets_anchor(-3600) {
        -3600
    } else {
        0
    };

    // Unknown labels: the quarter-hour offset that makes one of their blocks meet an anchor.
    let mut calibrated: Vec<(String, i64)> = Vec::new();
    for (local, zone) in locals.iter().flatten() {
        let Zone::Unknown(label) = zone else { continue };
        if calibrated.iter().any(|(l, _)| l == label) {
            continue;
        }
        let found = anchors.iter().find_map(|anchor| {
            let floor = anchor.0.naive_utc().with_second(0)?.with_nanosecond(0)?;
            let offset = (*local - floor).num_seconds();
            (offset % 900 == 0 && offset.abs() <= 14 * 3600).then_some(offset)
        });
        if let Some(offset) = found {
            calibrated.push((label.clone(), offset));
        }
    }

    locals
        .iter()
        .map(|entry| {
            let (local, zone) = entry.as_ref()?;
            let offset = match zone {
                Zone::Utc => 0,
                Zone::Fixed { offset, daylight } => offset + if *daylight { shift } else { 0 },
                Zone::Unknown(label) => match calibrated.iter().find(|(l, _)| l == label) {
                    Some((_, offset)) => *offset,
                    None => text::unknown(notes, "feed time zone", label, 0),
                },
            };
            to_utc(*local, offset)
        })
        .collect()
}

/// What a timeline label says.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Label {
    Incident(IncidentStatus),
    Maintenance(MaintenanceStatus),
    /// Statuspage's plain "Update": the status does not change.
    Update,
    Unknown,
}

fn label(s: &str) -> Label {
    let words: Vec<String> = s
        .split(|c: char| c.is_whitespace() || c == '_' || c == '-')
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    match words.join(" ").as_str() {
        "investigating" => Label::Incident(IncidentStatus::Investigating),
        "identified" => Label::Incident(IncidentStatus::Identified),
        "monitoring" => Label::Incident(IncidentStatus::Monitoring),
        "resolved" => Label::Incident(IncidentStatus::Resolved),
        "postmortem" | "post mortem" => Label::Incident(IncidentStatus::Postmortem),
        "scheduled" => Label::Maintenance(MaintenanceStatus::Scheduled),
        "in progress" => Label::Maintenance(MaintenanceStatus::InProgress),
        "verifying" => Label::Maintenance(MaintenanceStatus::Verifying),
        "completed" => Label::Maintenance(MaintenanceStatus::Completed),
        "update" => Label::Update,
        _ => Label::Unknown,
    }
}

/// One entry of a Statuspage history feed as an incident or a maintenance.
fn statuspage_entry(
    entry: &Entry,
    blocks: Vec<Block>,
    fetched_at: Timestamp,
    snapshot: &mut VendorSnapshot,
) {
    let link = entry_link(entry);
    let external_id = link
        .and_then(incident_code)
        .or_else(|| non_empty(&entry.id))
        .or_else(|| link.map(str::to_string));
    let name = plain(entry.title.as_ref()).unwrap_or_else(|| "Untitled incident".to_string());
    let url = link.map(str::to_string);
    let anchors: Vec<Timestamp> = [entry.published, entry.updated]
        .into_iter()
        .flatten()
        .map(timestamp)
        .collect();
    let entry_time = anchors.first().copied().unwrap_or(fetched_at);

    if blocks.is_empty() {
        // No readable timeline: the whole text as one update at the entry's date.
        let body = entry_html(entry).map(html_to_text).unwrap_or_default();
        let status = if says_resolved(&name, &body) {
            IncidentStatus::Resolved
        } else {
            IncidentStatus::Investigating
        };
        snapshot.incidents.push(VendorIncident {
            external_id,
            name,
            status,
            impact: IncidentImpact::Minor,
            started_at: entry_time,
            resolved_at: status.is_closed().then_some(entry_time),
            url,
            component_ids: Vec::new(),
            updates: vec![VendorUpdate {
                external_id: None,
                status,
                body,
                at: entry_time,
            }],
        });
        return;
    }

    let times = block_times(&blocks, &anchors, entry_time, &mut snapshot.unknown_values);
    // Oldest first: the document lists the newest first; a stable sort by time then keeps
    // same-minute updates in the order they were posted.
    let mut timeline: Vec<(Timestamp, Label, Block)> = blocks
        .into_iter()
        .zip(times)
        .rev()
        .map(|(block, at)| {
            let at = at.unwrap_or_else(|| {
                text::unknown(
                    &mut snapshot.unknown_values,
                    "feed update date",
                    &block.raw_stamp,
                    "the entry's date",
                );
                entry_time
            });
            (at, label(&block.label), block)
        })
        .collect();
    timeline.sort_by_key(|(at, _, _)| *at);

    let has_incident_label = timeline
        .iter()
        .any(|(_, l, _)| matches!(l, Label::Incident(_)));
    let has_maintenance_label = timeline
        .iter()
        .any(|(_, l, _)| matches!(l, Label::Maintenance(_)));

    if has_maintenance_label && !has_incident_label {
        let mut updates: Vec<VendorMaintenanceUpdate> = Vec::with_capacity(timeline.len());
        for (at, label, block) in timeline {
            let previous = updates.last().map(|u| u.status);
            let status = match label {
                Label::Maintenance(status) => status,
                Label::Update => previous.unwrap_or(MaintenanceStatus::Scheduled),
                Label::Incident(_) | Label::Unknown => text::unknown(
                    &mut snapshot.unknown_values,
                    "maintenance status",
                    &block.label,
                    MaintenanceStatus::Scheduled,
                ),
            };
            updates.push(VendorMaintenanceUpdate {
                external_id: None,
                status,
                body: block.body,
                at,
            });
        }
        let status = updates
            .last()
            .map_or(MaintenanceStatus::Scheduled, |u| u.status);
        let scheduled_for = updates
            .iter()
            .find(|u| u.status == MaintenanceStatus::InProgress)
            .or(updates.first())
            .map_or(entry_time, |u| u.at);
        let scheduled_until = (status == MaintenanceStatus::Completed)
            .then(|| {
                updates
                    .iter()
                    .rev()
                    .find(|u| u.status == MaintenanceStatus::Completed)
                    .map(|u| u.at)
            })
            .flatten();
        snapshot.maintenances.push(VendorMaintenance {
            external_id,
            name,
            status,
            scheduled_for,
            scheduled_until,
            url,
            component_ids: Vec::new(),
            updates,
        });
        return;
    }

    let mut updates: Vec<VendorUpdate> = Vec::with_capacity(timeline.len());
    for (at, label, block) in timeline {
        let previous = updates.last().map(|u| u.status);
        let status = match label {
            Label::Incident(status) => status,
            Label::Update => previous.unwrap_or(IncidentStatus::Investigating),
            Label::Maintenance(_) | Label::Unknown => text::unknown(
                &mut snapshot.unknown_values,
                "incident status",
                &block.label,
                IncidentStatus::Investigating,
            ),
        };
        updates.push(VendorUpdate {
            external_id: None,
            status,
            body: block.body,
            at,
        });
    }
    let status = updates
        .last()
        .map_or(IncidentStatus::Investigating, |u| u.status);
    let resolved_at = if status.is_closed() {
        updates
            .iter()
            .rev()
            .find(|u| u.status == IncidentStatus::Resolved)
            .or_else(|| {
                updates
                    .iter()
                    .find(|u| u.status == IncidentStatus::Postmortem)
            })
            .map(|u| u.at)
    } else {
        None
    };
    let started_at = updates.first().map_or(entry_time, |u| u.at);
    snapshot.incidents.push(VendorIncident {
        external_id,
        name,
        status,
        impact: IncidentImpact::Minor,
        started_at,
        resolved_at,
        url,
        component_ids: Vec::new(),
        updates,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!("{}/../shared/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|err| panic!("{path}: {err}"))
    }

    fn ts(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    fn fetched_at() -> Timestamp {
        ts("2030-01-01T00:00:00Z")
    }

    fn parse_bytes(adapter: &dyn Adapter, body: &[u8]) -> Result<VendorSnapshot, ParseError> {
        let url = Url::parse("http://127.0.0.1:9/feed").unwrap();
        adapter.parse(&Document {
            url: &url,
            content_type: None,
            body,
            fetched_at: fetched_at(),
        })
    }

    fn parse(adapter: &dyn Adapter, name: &str) -> VendorSnapshot {
        parse_bytes(adapter, &fixture(name)).unwrap_or_else(|err| panic!("{name}: {err}"))
    }

    fn incident<'a>(snapshot: &'a VendorSnapshot, id: &str) -> &'a VendorIncident {
        snapshot
            .incidents
            .iter()
            .find(|i| i.external_id.as_deref() == Some(id))
            .unwrap_or_else(|| panic!("no incident {id}"))
    }

    fn statuses(incident: &VendorIncident) -> Vec<IncidentStatus> {
        incident.updates.iter().map(|u| u.status).collect()
    }

    #[test]
    fn claude_history_atom_gives_incidents_with_their_timelines() {
        let s = parse(&StatuspageFeed, "atom/claude-history.atom");
        assert_eq!(s.page_name.as_deref(), Some("Claude"));
        assert_eq!(s.incidents.len(), 25);
        assert!(s.maintenances.is_empty());
        assert!(s.components.is_empty());
        assert_eq!(s.coverage, Default::default());
        assert_eq!(s.unknown_values, Vec::<String>::new());

        let first = &s.incidents[0];
        assert_eq!(first.external_id.as_deref(), Some("pvbysfjjrf8m"));
        assert_eq!(first.name, "Elevated errors on Claude models");
        assert_eq!(
            first.url.as_deref(),
            Some("https://status.claude.com/incidents/pvbysfjjrf8m")
        );
        assert_eq!(first.status, IncidentStatus::Resolved);
        assert_eq!(first.impact, IncidentImpact::Minor);
        assert_eq!(
            statuses(first),
            [
                IncidentStatus::Investigating,
                IncidentStatus::Identified,
                IncidentStatus::Resolved
            ]
        );
        assert_eq!(first.started_at, ts("2026-02-04T16:39:00Z"));
        assert_eq!(first.resolved_at, Some(ts("2026-02-04T17:06:00Z")));
        assert_eq!(
            first.updates[0].body,
            "We are currently investigating this issue."
        );
        assert!(first.updates[2]
            .body
            .starts_with("The outage between 16:20 UTC / 8:20 PT"));

        // "Update" keeps the status before it; a re-identified issue goes back to identified.
        let reopened = incident(&s, "vcsmyx922y7z");
        assert_eq!(reopened.updates.len(), 7);
        assert_eq!(
            statuses(reopened),
            [
                IncidentStatus::Investigating,
                IncidentStatus::Investigating,
                IncidentStatus::Identified,
                IncidentStatus::Monitoring,
                IncidentStatus::Identified,
                IncidentStatus::Monitoring,
                IncidentStatus::Resolved
            ]
        );
        assert_eq!(
            reopened.updates[1].body,
            "Sonnet 4.5 is also throwing errors."
        );
        assert_eq!(reopened.updates[1].at, ts("2026-02-04T10:18:00Z"));
        assert!(reopened.updates[6]
            .body
            .contains("fully resolved. The timelines are:\n\n* 02:00 PT"));
    }

    #[test]
    fn github_atom_and_rss_give_the_same_incidents() {
        let atom = parse(&StatuspageFeed, "atom/github-history.atom");
        let rss = parse(&StatuspageFeed, "rss/github-history.rss");
        assert_eq!(atom.incidents.len(), 25);
        assert_eq!(rss.incidents.len(), 25);
        assert_eq!(atom.page_name.as_deref(), Some("GitHub"));
        assert_eq!(rss.page_name.as_deref(), Some("GitHub"));
        for (a, r) in atom.incidents.iter().zip(&rss.incidents) {
            assert_eq!(a.external_id, r.external_id);
            assert_eq!(a.name, r.name);
            assert_eq!(a.updates.len(), r.updates.len(), "{:?}", a.external_id);
            assert_eq!(a.updates, r.updates);
            assert_eq!((a.started_at, a.resolved_at), (r.started_at, r.resolved_at));
            assert_eq!(a.url, r.url);
        }

        let actions = incident(&atom, "f314nlctbfs5");
        assert_eq!(actions.name, "Delays in UI updates for Actions Runs");
        assert_eq!(actions.updates.len(), 4);
        assert_eq!(actions.started_at, ts("2026-02-03T16:10:00Z"));
        assert_eq!(actions.resolved_at, Some(ts("2026-02-03T19:28:00Z")));
        // A multi-paragraph post-incident summary keeps its paragraphs as plain text.
        let summary = &actions.updates[3].body;
        assert!(summary.starts_with("On February 3, 2026, between 14:00 UTC"));
        assert!(summary
            .contains("up to 11 minutes, with a median delay of 6 minutes.\n\nThe issue stemmed"));
        assert!(!summary.contains('<'));
        // "Update" entries after "Investigating" stay investigating until resolved.
        assert_eq!(
            statuses(actions),
            [
                IncidentStatus::Investigating,
                IncidentStatus::Investigating,
                IncidentStatus::Investigating,
                IncidentStatus::Resolved
            ]
        );
    }

    #[test]
    fn parse_2014_rss_has_a_postmortem_and_pacific_times() {
        let s = parse(&StatuspageFeed, "rss/parse-history.rss");
        assert_eq!(s.page_name.as_deref(), Some("Parse"));
        assert_eq!(s.incidents.len(), 17);
        assert_eq!(s.unknown_values, Vec::<String>::new());

        let postmortem = incident(&s, "p9hy357zjvb3");
        assert_eq!(postmortem.name, "Elevated error rates and latency");
        assert_eq!(postmortem.status, IncidentStatus::Postmortem);
        assert_eq!(
            statuses(postmortem),
            [
                IncidentStatus::Investigating,
                IncidentStatus::Resolved,
                IncidentStatus::Postmortem
            ]
        );
        // "Dec 24, 08:58 PST" and the postmortem two days later.
        assert_eq!(postmortem.started_at, ts("2013-12-24T16:58:00Z"));
        assert_eq!(postmortem.resolved_at, Some(ts("2013-12-24T19:21:00Z")));
        assert_eq!(postmortem.updates[2].at, ts("2013-12-26T18:22:00Z"));
        assert!(postmortem.updates[2]
            .body
            .starts_with("# Summary of the December 24 Parse Service Disruption\n\n"));

        // "Jan 1, 09:09 PST" on an entry published in 2014.
        let new_year = incident(&s, "lzf7mjchpy20");
        assert_eq!(new_year.started_at, ts("2014-01-01T16:17:00Z"));
        assert_eq!(new_year.resolved_at, Some(ts("2014-01-01T17:09:00Z")));

        // Written "Oct 28, 14:48 PST" but published "14:48:00 -0700": the page labelled
        // summer times with the standard abbreviation, and the entry date corrects it.
        let summer = incident(&s, "gtdv7rgyn76g");
        assert_eq!(summer.resolved_at, Some(ts("2013-10-28T21:48:00Z")));
        assert_eq!(summer.started_at, ts("2013-10-28T21:43:00Z"));
        // "Update" after "Identified" stays identified.
        assert_eq!(
            statuses(incident(&s, "x7yb1mmd4721")),
            [
                IncidentStatus::Identified,
                IncidentStatus::Identified,
                IncidentStatus::Resolved
            ]
        );
    }

    #[test]
    fn travis_maintenance_entries_become_maintenances() {
        let s = parse(&StatuspageFeed, "atom/travisci-history.atom");
        assert_eq!(s.page_name.as_deref(), Some("Travis CI"));
        assert_eq!(s.incidents.len(), 23);
        assert_eq!(s.maintenances.len(), 2);

        let network = &s.maintenances[0];
        assert_eq!(network.external_id.as_deref(), Some("m80nxj972zn5"));
        assert_eq!(network.name, "Network maintenance on Mac infrastructure");
        assert_eq!(
            network.url.as_deref(),
            Some("https://www.traviscistatus.com/incidents/m80nxj972zn5")
        );
        assert_eq!(
            network.updates.iter().map(|u| u.status).collect::<Vec<_>>(),
            [
                MaintenanceStatus::Scheduled,
                MaintenanceStatus::InProgress,
                MaintenanceStatus::Completed
            ]
        );
        assert_eq!(network.status, MaintenanceStatus::Completed);
        assert_eq!(network.updates[0].at, ts("2016-06-28T02:08:00Z"));
        assert_eq!(network.scheduled_for, ts("2016-06-30T10:00:00Z"));
        assert_eq!(network.scheduled_until, Some(ts("2016-06-30T10:47:00Z")));

        // An "Update" during a maintenance keeps it in progress.
        let database = &s.maintenances[1];
        assert_eq!(database.external_id.as_deref(), Some("wwcfkg02fzj5"));
        assert_eq!(
            database
                .updates
                .iter()
                .map(|u| u.status)
                .collect::<Vec<_>>(),
            [
                MaintenanceStatus::Scheduled,
                MaintenanceStatus::InProgress,
                MaintenanceStatus::InProgress,
                MaintenanceStatus::Completed
            ]
        );

        // A maintenance named so but run as an incident stays an incident.
        let named_maintenance = incident(&s, "lpd5d1gl62jp");
        assert_eq!(named_maintenance.status, IncidentStatus::Resolved);
        let long = incident(&s, "rqb906yypnk0");
        assert_eq!(long.updates.len(), 16);
        assert_eq!(long.started_at, ts("2016-06-29T13:00:00Z"));
    }

    /// A Statuspage-shaped Atom feed around the given entries.
    fn statuspage_atom(entries: &str) -> String {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<feed xml:lang="en-US" xmlns="http://www.w3.org/2005/Atom">
  <id>tag:status.example.com,2005:/history</id>
  <title>Example Status - Incident History</title>
  <updated>2014-01-02T00:00:00Z</updated>
  {entries}
</feed>"#
        )
    }

    fn atom_entry(code: &str, published: &str, content: &str) -> String {
        format!(
            r#"<entry>
    <id>tag:status.example.com,2005:Incident/{code}</id>
    <published>{published}</published>
    <updated>{published}</updated>
    <link rel="alternate" type="text/html" href="https://status.example.com/incidents/{code}"/>
    <title>Incident {code}</title>
    <content type="html">{}</content>
  </entry>"#,
            html_escape::encode_text(content)
        )
    }

    #[test]
    fn dates_without_a_year_take_the_year_closest_to_the_entry() {
        let feed = statuspage_atom(&[
            // Published in January, started in December.
            atom_entry(
                "newyear",
                "2014-01-01T00:10:00Z",
                "<p><small>Jan  1, 00:10 UTC</small><br><strong>Resolved</strong> - Fixed.</p>\
                 <p><small>Dec 31, 23:50 UTC</small><br><strong>Investigating</strong> - Looking.</p>",
            ),
            // Published in December, postmortem in January.
            atom_entry(
                "yearend",
                "2013-12-30T10:00:00Z",
                "<p><small>Jan <var data-var='date'> 3</var>, <var data-var='time'>09:00</var> UTC</small><br><strong>Postmortem</strong> - Why.</p>\
                 <p><small>Dec <var data-var='date'>30</var>, <var data-var='time'>10:00</var> UTC</small><br><strong>Resolved</strong> - Done.</p>",
            ),
            // A 12-hour clock and an explicit year.
            atom_entry(
                "clock",
                "2013-06-01T21:30:00Z",
                "<p><small>Jun 1, 2013, 2:30 PM PDT</small><br><strong>Resolved</strong> - Done.</p>",
            ),
            // No timeline at all: one update with the whole text, at the entry's date.
            atom_entry("plain", "2013-05-01T08:00:00Z", "<p>Something happened.</p>"),
        ]
        .join("\n"));
        let s = parse_bytes(&StatuspageFeed, feed.as_bytes()).unwrap();
        assert_eq!(s.page_name.as_deref(), Some("Example"));

        let newyear = incident(&s, "newyear");
        assert_eq!(newyear.started_at, ts("2013-12-31T23:50:00Z"));
        assert_eq!(newyear.resolved_at, Some(ts("2014-01-01T00:10:00Z")));

        let yearend = incident(&s, "yearend");
        assert_eq!(yearend.status, IncidentStatus::Postmortem);
        assert_eq!(yearend.updates[1].at, ts("2014-01-03T09:00:00Z"));
        assert_eq!(yearend.resolved_at, Some(ts("2013-12-30T10:00:00Z")));

        assert_eq!(incident(&s, "clock").started_at, ts("2013-06-01T21:30:00Z"));

        let plain = incident(&s, "plain");
        assert_eq!(plain.updates.len(), 1);
        assert_eq!(plain.updates[0].body, "Something happened.");
        assert_eq!(plain.updates[0].at, ts("2013-05-01T08:00:00Z"));
        assert_eq!(plain.status, IncidentStatus::Investigating);
    }

    #[test]
    fn unknown_labels_and_zones_are_noted() {
        let feed = statuspage_atom(
            &[
                atom_entry(
                    "odd",
                    "2013-05-01T10:00:20Z",
                    "<p><small>May 1, 12:00 XYZ</small><br><strong>Escalated</strong> - Hmm.</p>\
                     <p><small>May 1, 11:40 XYZ</small><br><strong>Investigating</strong> - Looking.</p>",
                ),
                atom_entry(
                    "odder",
                    "2013-05-01T10:07:30Z",
                    "<p><small>May 1, 09:00 QQQ</small><br><strong>Investigating</strong> - Looking.</p>",
                ),
            ]
            .join("\n"),
        );
        let s = parse_bytes(&StatuspageFeed, feed.as_bytes()).unwrap();
        // XYZ is calibrated against the published date: UTC+2.
        let odd = incident(&s, "odd");
        assert_eq!(odd.updates[0].at, ts("2013-05-01T09:40:00Z"));
        assert_eq!(odd.updates[1].at, ts("2013-05-01T10:00:00Z"));
        assert_eq!(odd.updates[1].status, IncidentStatus::Investigating);
        // QQQ meets the published date on no quarter hour: read as UTC, and noted.
        assert_eq!(incident(&s, "odder").started_at, ts("2013-05-01T09:00:00Z"));
        assert_eq!(
            s.unknown_values,
            [
                "incident status \"Escalated\" → investigating".to_string(),
                "feed time zone \"QQQ\" → 0".to_string(),
            ]
        );
    }

    #[test]
    fn statuspage_feed_rejects_other_documents() {
        for name in [
            "azure/status-feed-westus-later.rss",
            "azure/status-feed-empty.rss",
            "statuspage/github-summary-all-operational.json",
            "slack/current-active-incidents.json",
        ] {
            let err = parse_bytes(&StatuspageFeed, &fixture(name)).unwrap_err();
            assert!(
                matches!(err, ParseError::NotThisFormat { .. }),
                "{name}: {err:?}"
            );
        }
        let html =
            b"<!DOCTYPE html><html><head><title>Status</title></head><body><p>ok</p></body></html>";
        assert!(parse_bytes(&StatuspageFeed, html).is_err());
        // A feed of blog posts is not a Statuspage history.
        let blog = br#"<rss version="2.0"><channel><title>Blog</title><link>https://blog.example.com/</link>
            <item><title>Hello</title><link>https://blog.example.com/hello</link><description>&lt;p&gt;Hi&lt;/p&gt;</description></item>
            </channel></rss>"#;
        assert!(parse_bytes(&StatuspageFeed, blog).is_err());
    }

    #[test]
    fn an_empty_statuspage_history_is_recognised_by_its_title() {
        let s = parse_bytes(&StatuspageFeed, statuspage_atom("").as_bytes()).unwrap();
        assert!(s.incidents.is_empty());
        assert_eq!(s.page_name.as_deref(), Some("Example"));
    }

    #[test]
    fn truncated_or_garbage_input_is_an_error() {
        for name in [
            "atom/claude-history.atom",
            "rss/parse-history.rss",
            "atom/travisci-history.atom",
        ] {
            let body = fixture(name);
            for adapter in [&StatuspageFeed as &dyn Adapter, &Feed] {
                assert!(
                    parse_bytes(adapter, &body[..body.len() / 2]).is_err(),
                    "{name}"
                );
                assert!(parse_bytes(adapter, &body[..100]).is_err(), "{name}");
            }
        }
        for adapter in [&StatuspageFeed as &dyn Adapter, &Feed] {
            assert!(parse_bytes(adapter, b"").is_err());
            assert!(parse_bytes(adapter, &[0xff, 0xfe, 0x80, 0x00, 0x3c, 0x9f]).is_err());
            let deep = format!(
                "<rss version=\"2.0\"><channel>{}{}</channel></rss>",
                "<a>".repeat(100_000),
                "</a>".repeat(100_000)
            );
            assert!(parse_bytes(adapter, deep.as_bytes()).is_err());
        }
    }

    #[test]
    fn generic_feed_takes_one_incident_per_entry() {
        let s = parse(&Feed, "atom/github-history.atom");
        assert_eq!(
            s.page_name.as_deref(),
            Some("GitHub Status - Incident History")
        );
        assert_eq!(s.incidents.len(), 25);
        assert_eq!(s.coverage, Default::default());
        let first = &s.incidents[0];
        assert_eq!(
            first.external_id.as_deref(),
            Some("tag:www.githubstatus.com,2005:Incident/28343178")
        );
        assert_eq!(first.name, "Delays in UI updates for Actions Runs");
        assert_eq!(first.started_at, ts("2026-02-03T19:28:45Z"));
        assert_eq!(first.updates.len(), 1);
        assert_eq!(first.updates[0].at, ts("2026-02-05T00:24:13Z"));
        assert!(first.updates[0]
            .body
            .starts_with("Feb 3, 19:28 UTC\nResolved - On February 3"));
        // The text does not open with "Resolved": the conservative rule keeps it open.
        assert_eq!(first.status, IncidentStatus::Investigating);
        assert_eq!(first.impact, IncidentImpact::Minor);
        assert_eq!(
            first.url.as_deref(),
            Some("https://www.githubstatus.com/incidents/f314nlctbfs5")
        );

        let azure = parse(&Feed, "azure/status-feed-westus-early.rss");
        assert_eq!(azure.incidents.len(), 1);
        assert_eq!(
            azure.incidents[0].external_id.as_deref(),
            Some("issues-connecting-to-resources-in-west-us")
        );
        assert_eq!(azure.incidents[0].started_at, ts("2026-07-23T16:29:09Z"));
    }

    #[test]
    fn generic_feed_closes_only_on_an_opening_resolved_word() {
        let rss = br#"<?xml version="1.0"?><rss version="2.0"><channel><title>Vendor</title>
            <item><guid>a</guid><title>[Resolved] Login errors</title><description>Fixed.</description>
              <pubDate>Thu, 23 Jul 2026 16:29:09 +0000</pubDate></item>
            <item><guid>b</guid><title>API latency</title><description>Mitigated: traffic moved.</description>
              <pubDate>Thu, 23 Jul 2026 17:00:00 +0000</pubDate></item>
            <item><guid>c</guid><title>Push delays</title>
              <description>We will update when these issues have been resolved.</description></item>
            <item><title>No guid</title><link>https://vendor.example.com/i/4</link></item>
            </channel></rss>"#;
        let s = parse_bytes(&Feed, rss).unwrap();
        let status = |id: &str| incident(&s, id).status;
        assert_eq!(status("a"), IncidentStatus::Resolved);
        assert_eq!(
            incident(&s, "a").resolved_at,
            Some(ts("2026-07-23T16:29:09Z"))
        );
        assert_eq!(status("b"), IncidentStatus::Resolved);
        assert_eq!(status("c"), IncidentStatus::Investigating);
        // No date: the fetch time. No guid: the link.
        assert_eq!(incident(&s, "c").started_at, fetched_at());
        assert_eq!(
            status("https://vendor.example.com/i/4"),
            IncidentStatus::Investigating
        );
    }

    #[test]
    fn generic_feed_rejects_json_and_html() {
        for name in [
            "slack/current-active-incidents.json",
            "statuspage/github-summary-all-operational.json",
            "checkly/mistral-unresolved-incidents.json",
        ] {
            let err = parse_bytes(&Feed, &fixture(name)).unwrap_err();
            assert!(
                matches!(err, ParseError::NotThisFormat { .. }),
                "{name}: {err:?}"
            );
        }
        let json_feed = br#"{"version":"https://jsonfeed.org/version/1.1","title":"x","items":[{"id":"1","content_text":"hi"}]}"#;
        assert!(parse_bytes(&Feed, json_feed).is_err());
        let html =
            b"<!DOCTYPE html>\n<html><head><title>Status</title></head><body>ok</body></html>";
        assert!(parse_bytes(&Feed, html).is_err());
    }

    #[test]
    fn documents_derive_the_feed_url() {
        let page = Url::parse("https://status.claude.com/").unwrap();
        let rss = || Url::parse("https://status.claude.com/history.rss").unwrap();
        assert_eq!(
            StatuspageFeed.documents(&page, None),
            [Url::parse("https://status.claude.com/history.atom").unwrap()]
        );
        assert_eq!(StatuspageFeed.documents(&page, Some(&rss())), [rss()]);
        assert_eq!(Feed.documents(&rss(), None), [rss()]);
        assert_eq!(Feed.documents(&page, Some(&rss())), [rss()]);
    }

    #[test]
    fn resolution_words_and_text_ids() {
        assert!(says_resolved("Resolved: login errors", ""));
        assert!(says_resolved("", "  [Mitigated] - traffic moved"));
        assert!(!says_resolved(
            "Resolving login errors",
            "We have resolved it"
        ));
        assert_eq!(text_id("a"), text_id("a"));
        assert_ne!(text_id("a"), text_id("b"));
    }
}
