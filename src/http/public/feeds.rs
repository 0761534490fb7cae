//! The history feeds (`/history.atom`, `/history.rss`) and the SVG badges (`/badge.svg`,
//! `/components/{id}/badge.svg`, `/components/{id}/uptime.svg`), rendered from the snapshot.
//!
//! The feeds follow what Atlassian Statuspage serves at the same paths, so feed readers and
//! chat integrations that already follow Statuspage pages read Pharos's the same way: one
//! entry per incident and per maintenance, newest first, whose content is the update timeline
//! as HTML (`<p><small>Nov 28, 14:09 UTC</small><br><strong>Investigating</strong> - ...</p>`,
//! the time in the page's zone with its abbreviation; the feeds' own dates stay UTC).
//! The badges are shields.io-style flat SVGs with a text alternative, for READMEs and
//! dashboards.
//!
//! The XML is written by hand (its shape is fixed and small), so every piece of text goes
//! through [`xml_escape`], which also drops the characters XML 1.0 cannot carry at all: names
//! and update bodies come from responders and from vendors Pharos follows, and must neither
//! break the XML nor inject markup. Update bodies are Markdown, made safe HTML by
//! [`crate::markdown`] only, then carried as escaped text, as Statuspage's feeds do. Like the
//! rest of the public side, nothing here reads the database; each response is rendered once
//! per snapshot.

use super::{respond, Cors};
use crate::domain::model::{Component, Incident, Maintenance};
use crate::domain::{ComponentId, ComponentStatus, IncidentStatus, MaintenanceStatus, Timestamp};
use crate::http::extract::Headers;
use crate::http::AppState;
use crate::snapshot::{PublicState, Rendered, Snapshot};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::SecondsFormat;
use chrono_tz::Tz;
use std::fmt::Write as _;
use uuid::Uuid;

const ATOM_PATH: &str = "/history.atom";
const RSS_PATH: &str = "/history.rss";
const BADGE_PATH: &str = "/badge.svg";

const ATOM_TYPE: &str = "application/atom+xml; charset=utf-8";
const RSS_TYPE: &str = "application/rss+xml; charset=utf-8";
const SVG_TYPE: &str = "image/svg+xml; charset=utf-8";

/// The most entries a feed carries. The snapshot keeps every incident resolved in the last
/// 90 days, which on a busy page is hundreds; readers poll feeds often and only want what is
/// new, so the feed stops at the newest ones (Statuspage's own carry 25).
const FEED_ENTRIES: usize = 50;

/// Renders the feeds and the page badge of a fresh snapshot. Per-component badges are left to
/// their first request: a large page has thousands of components and few of them have a badge
/// embedded anywhere.
pub fn warm(snapshot: &Snapshot) {
    snapshot.rendered(ATOM_PATH, |s| Some(render_atom(&s.state)));
    snapshot.rendered(RSS_PATH, |s| Some(render_rss(&s.state)));
    snapshot.rendered(BADGE_PATH, |s| Some(render_page_badge(&s.state)));
}

// ---------------------------------------------------------------------------------------------
// Handlers

/// Serves a rendered feed or badge, with the extra headers an XML or SVG document served to
/// anyone needs.
fn serve(rendered: &Rendered, headers: &HeaderMap) -> Response {
    let mut response = respond(rendered, headers, Cors::Anyone);
    let h = response.headers_mut();
    // Browsers must not guess another type, and an SVG opened directly must not run anything,
    // even if some text escaped the escaping.
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if rendered.content_type == SVG_TYPE {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
        );
    }
    response
}

/// A plain 404: a badge is embedded as an image, where a JSON error body would mean nothing.
fn unknown_component() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "no such component\n",
    )
        .into_response()
}

#[utoipa::path(get, path = "/history.atom", tag = "public", security(()),
    responses((status = 200, description = "Incident and maintenance history (Atom 1.0)",
               content_type = "application/atom+xml"),
              (status = 304, description = "Not modified (If-None-Match)")))]
pub async fn atom(State(state): State<AppState>, Headers(headers): Headers) -> Response {
    let snapshot = state.snapshot.load();
    let rendered = snapshot
        .rendered(ATOM_PATH, |s| Some(render_atom(&s.state)))
        .expect("the feed always renders");
    serve(&rendered, &headers)
}

#[utoipa::path(get, path = "/history.rss", tag = "public", security(()),
    responses((status = 200, description = "Incident and maintenance history (RSS 2.0)",
               content_type = "application/rss+xml"),
              (status = 304, description = "Not modified (If-None-Match)")))]
pub async fn rss(State(state): State<AppState>, Headers(headers): Headers) -> Response {
    let snapshot = state.snapshot.load();
    let rendered = snapshot
        .rendered(RSS_PATH, |s| Some(render_rss(&s.state)))
        .expect("the feed always renders");
    serve(&rendered, &headers)
}

#[utoipa::path(get, path = "/badge.svg", tag = "public", security(()),
    responses((status = 200, description = "The page's overall status as a badge",
               content_type = "image/svg+xml"),
              (status = 304, description = "Not modified (If-None-Match)")))]
pub async fn page_badge(State(state): State<AppState>, Headers(headers): Headers) -> Response {
    let snapshot = state.snapshot.load();
    let rendered = snapshot
        .rendered(BADGE_PATH, |s| Some(render_page_badge(&s.state)))
        .expect("the page badge always renders");
    serve(&rendered, &headers)
}

/// Which badge of a component.
#[derive(Clone, Copy)]
enum ComponentBadge {
    Status,
    Uptime,
}

fn serve_component_badge(
    state: &AppState,
    id: &str,
    kind: ComponentBadge,
    headers: &HeaderMap,
) -> Response {
    let Ok(id) = id.parse::<ComponentId>() else {
        return unknown_component();
    };
    // Keyed by the canonical id, so spellings of one id share a cache entry, and an unknown
    // id caches nothing (the renderer says `None`).
    let key = match kind {
        ComponentBadge::Status => format!("/components/{id}/badge.svg"),
        ComponentBadge::Uptime => format!("/components/{id}/uptime.svg"),
    };
    let snapshot = state.snapshot.load();
    let rendered = snapshot.rendered(&key, |s| {
        let component = s.state.component(id)?;
        Some(match kind {
            ComponentBadge::Status => render_component_badge(component),
            ComponentBadge::Uptime => render_uptime_badge(&s.state, component),
        })
    });
    match rendered {
        Some(rendered) => serve(&rendered, headers),
        None => unknown_component(),
    }
}

#[utoipa::path(get, path = "/components/{id}/badge.svg", tag = "public", security(()),
    params(("id" = String, Path, description = "Component id")),
    responses((status = 200, description = "The component's status as a badge",
               content_type = "image/svg+xml"),
              (status = 304, description = "Not modified (If-None-Match)"),
              (status = 404, description = "No such component (plain text)",
               content_type = "text/plain")))]
pub async fn component_badge(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Headers(headers): Headers,
) -> Response {
    serve_component_badge(&state, &id, ComponentBadge::Status, &headers)
}

#[utoipa::path(get, path = "/components/{id}/uptime.svg", tag = "public", security(()),
    params(("id" = String, Path, description = "Component id")),
    responses((status = 200, description = "The component's uptime over 90 days as a badge",
               content_type = "image/svg+xml"),
              (status = 304, description = "Not modified (If-None-Match)"),
              (status = 404, description = "No such component (plain text)",
               content_type = "text/plain")))]
pub async fn uptime_badge(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Headers(headers): Headers,
) -> Response {
    serve_component_badge(&state, &id, ComponentBadge::Uptime, &headers)
}

// ---------------------------------------------------------------------------------------------
// XML text

/// Escapes text for XML element content and attribute values (both quote kinds), and drops the
/// characters XML 1.0 forbids even as references (C0 controls other than tab, newline and
/// carriage return, and U+FFFE / U+FFFF): a single one makes a strict reader reject the whole
/// feed.
pub fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 => {}
            '\u{FFFE}' | '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// Atom's time form (RFC 3339, whole seconds).
fn atom_time(t: &Timestamp) -> String {
    t.0.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// RSS's time form (RFC 822 as RFC 2822 writes it).
fn rss_time(t: &Timestamp) -> String {
    t.0.format("%a, %d %b %Y %H:%M:%S +0000").to_string()
}

/// The time of a timeline entry, as Statuspage writes it in its feeds: `Nov 28, 14:09 UTC`, in
/// the page's zone (`Nov 28, 09:09 EST`).
fn timeline_time(t: &Timestamp, tz: Tz) -> String {
    t.0.with_timezone(&tz)
        .format("%b %-d, %H:%M %Z")
        .to_string()
}

// ---------------------------------------------------------------------------------------------
// Feed entries

/// One feed entry, format-neutral.
struct Entry<'a> {
    /// The incident's or maintenance's UUID: unlike the page URL it never changes, so feed
    /// readers never show an entry twice after the operator moves the page.
    id: Uuid,
    title: &'a str,
    link: String,
    published: Timestamp,
    updated: Timestamp,
    /// HTML, not yet escaped for XML.
    content: String,
}

/// One timeline paragraph: `<p><small>TIME</small><br><strong>LABEL</strong> - BODY</p>`, as
/// Statuspage writes it. The body is Markdown written by responders and vendors, rendered to
/// sanitised HTML by [`crate::markdown::to_html`]; when it starts with a paragraph, the time and
/// label open that paragraph, so the entry stays one `<p>` like Statuspage's and never nests
/// paragraphs. Other blocks (a list, a table) follow the label's own paragraph.
fn timeline_entry(out: &mut String, at: &Timestamp, tz: Tz, label: &str, body: &str) {
    let body = crate::markdown::to_html(body);
    let body = body.trim();
    let _ = write!(
        out,
        "<p><small>{}</small><br><strong>{}</strong>",
        timeline_time(at, tz),
        html_escape(label)
    );
    match body.strip_prefix("<p>") {
        Some(rest) => {
            out.push_str(" - ");
            out.push_str(rest);
        }
        None => {
            out.push_str("</p>");
            out.push_str(body);
        }
    }
}

/// Escapes text for HTML (the feed content is HTML before it is XML).
fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn incident_label(status: IncidentStatus) -> &'static str {
    match status {
        IncidentStatus::Investigating => "Investigating",
        IncidentStatus::Identified => "Identified",
        IncidentStatus::Monitoring => "Monitoring",
        IncidentStatus::Resolved => "Resolved",
        IncidentStatus::Postmortem => "Postmortem",
    }
}

fn maintenance_label(status: MaintenanceStatus) -> &'static str {
    match status {
        MaintenanceStatus::Scheduled => "Scheduled",
        MaintenanceStatus::InProgress => "In progress",
        MaintenanceStatus::Verifying => "Verifying",
        MaintenanceStatus::Completed => "Completed",
    }
}

fn incident_entry<'a>(state: &PublicState, incident: &'a Incident) -> Entry<'a> {
    let tz = state.page.tz();
    let mut content = String::new();
    // Newest first, as the page shows it; a published postmortem comes last in time.
    if let Some(postmortem) = &incident.postmortem {
        if let Some(published) = &postmortem.published_at {
            timeline_entry(&mut content, published, tz, "Postmortem", &postmortem.body);
        }
    }
    for update in &incident.updates {
        timeline_entry(
            &mut content,
            &update.created_at,
            tz,
            incident_label(update.status),
            &update.body,
        );
    }
    Entry {
        id: incident.id.0,
        title: &incident.name,
        link: format!("{}/incidents/{}", state.page.url, incident.short_id),
        published: incident.started_at,
        updated: incident.updated_at,
        content,
    }
}

fn maintenance_entry<'a>(state: &PublicState, maintenance: &'a Maintenance) -> Entry<'a> {
    let tz = state.page.tz();
    let mut content = String::new();
    for update in &maintenance.updates {
        timeline_entry(
            &mut content,
            &update.created_at,
            tz,
            maintenance_label(update.status),
            &update.body,
        );
    }
    // The window itself, which the updates need not repeat, with its year: a window may be
    // announced long before it opens.
    let window = |t: &Timestamp| {
        t.0.with_timezone(&tz)
            .format("%b %-d, %Y %H:%M %Z")
            .to_string()
    };
    let _ = write!(
        content,
        "<p><small>Scheduled for {} to {}</small></p>",
        window(&maintenance.scheduled_for),
        window(&maintenance.scheduled_until)
    );
    Entry {
        id: maintenance.id.0,
        title: &maintenance.name,
        // Statuspage shows maintenances under /incidents/ too.
        link: format!("{}/incidents/{}", state.page.url, maintenance.short_id),
        published: maintenance.created_at,
        updated: maintenance.updated_at,
        content,
    }
}

/// Every incident and maintenance of the snapshot, newest first, at most [`FEED_ENTRIES`].
fn entries(state: &PublicState) -> Vec<Entry<'_>> {
    let mut entries: Vec<Entry> = state
        .incidents
        .iter()
        .map(|i| incident_entry(state, i))
        .chain(
            state
                .maintenances
                .iter()
                .map(|m| maintenance_entry(state, m)),
        )
        .collect();
    // The id breaks ties, so the order (and the ETag) does not depend on the snapshot's.
    entries.sort_by(|a, b| b.published.cmp(&a.published).then(b.id.cmp(&a.id)));
    entries.truncate(FEED_ENTRIES);
    entries
}

/// The feed's own time: its newest change, so an unchanged history keeps its bytes (and its
/// ETag) when the snapshot is rebuilt for other reasons.
fn feed_updated(state: &PublicState, entries: &[Entry]) -> Timestamp {
    entries
        .iter()
        .map(|e| e.updated)
        .max()
        .unwrap_or(state.built_at)
}

fn feed_title(state: &PublicState) -> String {
    format!("{} - Incident History", state.page.name)
}

fn render_atom(state: &PublicState) -> Rendered {
    let entries = entries(state);
    let url = xml_escape(&state.page.url);
    let mut out = String::with_capacity(1024 + entries.len() * 1024);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str("<feed xml:lang=\"en\" xmlns=\"http://www.w3.org/2005/Atom\">\n");
    let _ = writeln!(out, "  <id>{url}/history</id>");
    let _ = writeln!(
        out,
        "  <link rel=\"alternate\" type=\"text/html\" href=\"{url}\"/>"
    );
    let _ = writeln!(
        out,
        "  <link rel=\"self\" type=\"application/atom+xml\" href=\"{url}{ATOM_PATH}\"/>"
    );
    let _ = writeln!(out, "  <title>{}</title>", xml_escape(&feed_title(state)));
    let _ = writeln!(
        out,
        "  <updated>{}</updated>",
        atom_time(&feed_updated(state, &entries))
    );
    let _ = writeln!(
        out,
        "  <author>\n    <name>{}</name>\n  </author>",
        xml_escape(&state.page.name)
    );
    for e in &entries {
        out.push_str("  <entry>\n");
        let _ = writeln!(out, "    <id>urn:uuid:{}</id>", e.id);
        let _ = writeln!(
            out,
            "    <published>{}</published>",
            atom_time(&e.published)
        );
        let _ = writeln!(out, "    <updated>{}</updated>", atom_time(&e.updated));
        let _ = writeln!(
            out,
            "    <link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>",
            xml_escape(&e.link)
        );
        let _ = writeln!(out, "    <title>{}</title>", xml_escape(e.title));
        let _ = writeln!(
            out,
            "    <content type=\"html\">{}</content>",
            xml_escape(&e.content)
        );
        out.push_str("  </entry>\n");
    }
    out.push_str("</feed>\n");
    Rendered::new(ATOM_TYPE, out.into_bytes())
}

fn render_rss(state: &PublicState) -> Rendered {
    let entries = entries(state);
    let url = xml_escape(&state.page.url);
    let mut out = String::with_capacity(1024 + entries.len() * 1024);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str("<rss version=\"2.0\" xmlns:atom=\"http://www.w3.org/2005/Atom\">\n");
    out.push_str("  <channel>\n");
    let _ = writeln!(out, "    <title>{}</title>", xml_escape(&feed_title(state)));
    let _ = writeln!(out, "    <link>{url}</link>");
    let _ = writeln!(
        out,
        "    <description>{}</description>",
        xml_escape(&format!(
            "Incidents and maintenances of {}",
            state.page.name
        ))
    );
    // RSS has no self link of its own; validators ask for Atom's.
    let _ = writeln!(
        out,
        "    <atom:link href=\"{url}{RSS_PATH}\" rel=\"self\" type=\"application/rss+xml\"/>"
    );
    let _ = writeln!(
        out,
        "    <pubDate>{}</pubDate>",
        rss_time(&feed_updated(state, &entries))
    );
    for e in &entries {
        out.push_str("    <item>\n");
        let _ = writeln!(out, "      <title>{}</title>", xml_escape(e.title));
        let _ = writeln!(
            out,
            "      <description>{}</description>",
            xml_escape(&e.content)
        );
        let _ = writeln!(out, "      <pubDate>{}</pubDate>", rss_time(&e.published));
        let _ = writeln!(out, "      <link>{}</link>", xml_escape(&e.link));
        let _ = writeln!(
            out,
            "      <guid isPermaLink=\"false\">urn:uuid:{}</guid>",
            e.id
        );
        out.push_str("    </item>\n");
    }
    out.push_str("  </channel>\n</rss>\n");
    Rendered::new(RSS_TYPE, out.into_bytes())
}

// ---------------------------------------------------------------------------------------------
// Badges

/// Badge colours. Darker than shields.io's, so the white 11 px text keeps a WCAG AA contrast
/// (4.5:1) on every one of them; a unit test checks it.
mod colour {
    pub const LABEL: &str = "#555";
    pub const GOOD: &str = "#1a7f37";
    pub const FAIR: &str = "#4d7c0f";
    pub const MINOR: &str = "#9a6700";
    pub const MAJOR: &str = "#b54708";
    pub const CRITICAL: &str = "#b42318";
    pub const MAINTENANCE: &str = "#175cd3";
    pub const UNKNOWN: &str = "#6b6b6b";
    #[cfg(test)]
    pub const ALL: &[&str] = &[
        LABEL,
        GOOD,
        FAIR,
        MINOR,
        MAJOR,
        CRITICAL,
        MAINTENANCE,
        UNKNOWN,
    ];
}

fn indicator_colour(indicator: &str) -> &'static str {
    match indicator {
        "none" => colour::GOOD,
        "minor" => colour::MINOR,
        "major" => colour::MAJOR,
        "critical" => colour::CRITICAL,
        "maintenance" => colour::MAINTENANCE,
        _ => colour::UNKNOWN,
    }
}

fn status_colour(status: ComponentStatus) -> &'static str {
    match status {
        ComponentStatus::Operational => colour::GOOD,
        ComponentStatus::DegradedPerformance => colour::MINOR,
        ComponentStatus::PartialOutage => colour::MAJOR,
        ComponentStatus::MajorOutage => colour::CRITICAL,
        ComponentStatus::UnderMaintenance => colour::MAINTENANCE,
    }
}

fn status_words(status: ComponentStatus) -> &'static str {
    match status {
        ComponentStatus::Operational => "operational",
        ComponentStatus::DegradedPerformance => "degraded performance",
        ComponentStatus::PartialOutage => "partial outage",
        ComponentStatus::MajorOutage => "major outage",
        ComponentStatus::UnderMaintenance => "under maintenance",
    }
}

/// Width in tenths of a pixel of one character in 11 px Verdana, the font shields.io badges
/// are laid out for. From Verdana's advance widths, rounded; the SVG pins each text to the
/// estimated length with `textLength`, so a fallback font is stretched to fit rather than
/// overflowing its box.
fn char_width(c: char) -> u32 {
    #[rustfmt::skip]
    const ASCII: [u8; 95] = [
        39, 44, 51, 92, 70, 118, 80, 30, 50, 50, 70, 92, 40, 50, 40, 50, // space to /
        70, 70, 70, 70, 70, 70, 70, 70, 70, 70,                          // 0 to 9
        50, 50, 92, 92, 92, 60, 110,                                     // : to @
        75, 75, 77, 85, 70, 63, 85, 83, 46, 50, 77, 62, 93,              // A to M
        82, 87, 66, 87, 76, 75, 68, 81, 75, 109, 75, 68, 75,             // N to Z
        50, 50, 50, 92, 70, 70,                                          // [ to `
        66, 69, 57, 69, 66, 39, 69, 70, 30, 38, 65, 30, 107,             // a to m
        70, 67, 69, 69, 47, 57, 43, 70, 65, 89, 65, 65, 58,              // n to z
        70, 50, 70, 92,                                                  // { to ~
    ];
    match c as u32 {
        code @ 0x20..=0x7e => u32::from(ASCII[(code - 0x20) as usize]),
        // East Asian wide characters and emoji take about a full em.
        0x1100..=0x115f
        | 0x2e80..=0xa4cf
        | 0xac00..=0xd7a3
        | 0xf900..=0xfaff
        | 0xfe30..=0xfe4f
        | 0xff00..=0xff60
        | 0xffe0..=0xffe6
        | 0x1f300..=0x1faff
        | 0x20000..=0x3fffd => 110,
        // Combining marks add no width.
        0x0300..=0x036f => 0,
        _ => 70,
    }
}

/// The estimated width of a text in 11 px Verdana, in tenths of a pixel.
fn text_width(text: &str) -> u32 {
    text.chars().map(char_width).sum()
}

/// A two-part flat badge.
struct Badge<'a> {
    label: &'a str,
    message: &'a str,
    colour: &'static str,
    /// The text alternative (`<title>` and `aria-label`), which may say more than fits.
    alt: String,
}

/// Renders a badge in shields.io's "flat" style: grey label, coloured message, 20 px high,
/// text drawn at 10x and scaled down for sub-pixel placement.
fn render_badge(badge: &Badge) -> Rendered {
    const PADDING: u32 = 50; // 5 px each side, in tenths
    let label_text = text_width(badge.label);
    let message_text = text_width(badge.message);
    // Whole pixels for the boxes, so the edges stay crisp.
    let label_w = (label_text + 2 * PADDING).div_ceil(10);
    let message_w = (message_text + 2 * PADDING).div_ceil(10);
    let width = label_w + message_w;
    let label = xml_escape(badge.label);
    let message = xml_escape(badge.message);
    let alt = xml_escape(&badge.alt);
    let label_x = label_w * 5; // the centre, in tenths
    let message_x = label_w * 10 + message_w * 5;
    let font = "Verdana,Geneva,DejaVu Sans,sans-serif";
    let svg = format!(
        concat!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"20\" ",
            "role=\"img\" aria-label=\"{alt}\">",
            "<title>{alt}</title>",
            "<linearGradient id=\"s\" x2=\"0\" y2=\"100%\">",
            "<stop offset=\"0\" stop-color=\"#bbb\" stop-opacity=\".1\"/>",
            "<stop offset=\"1\" stop-opacity=\".1\"/></linearGradient>",
            "<clipPath id=\"r\"><rect width=\"{width}\" height=\"20\" rx=\"3\" fill=\"#fff\"/></clipPath>",
            "<g clip-path=\"url(#r)\">",
            "<rect width=\"{label_w}\" height=\"20\" fill=\"{label_bg}\"/>",
            "<rect x=\"{label_w}\" width=\"{message_w}\" height=\"20\" fill=\"{colour}\"/>",
            "<rect width=\"{width}\" height=\"20\" fill=\"url(#s)\"/></g>",
            "<g fill=\"#fff\" text-anchor=\"middle\" font-family=\"{font}\" ",
            "text-rendering=\"geometricPrecision\" font-size=\"110\">",
            "<text aria-hidden=\"true\" x=\"{label_x}\" y=\"150\" fill=\"#010101\" fill-opacity=\".3\" ",
            "transform=\"scale(.1)\" textLength=\"{label_text}\">{label}</text>",
            "<text aria-hidden=\"true\" x=\"{label_x}\" y=\"140\" transform=\"scale(.1)\" ",
            "textLength=\"{label_text}\">{label}</text>",
            "<text aria-hidden=\"true\" x=\"{message_x}\" y=\"150\" fill=\"#010101\" fill-opacity=\".3\" ",
            "transform=\"scale(.1)\" textLength=\"{message_text}\">{message}</text>",
            "<text aria-hidden=\"true\" x=\"{message_x}\" y=\"140\" transform=\"scale(.1)\" ",
            "textLength=\"{message_text}\">{message}</text>",
            "</g></svg>\n"
        ),
        width = width,
        alt = alt,
        label_w = label_w,
        message_w = message_w,
        label_bg = colour::LABEL,
        colour = badge.colour,
        font = font,
        label_x = label_x,
        message_x = message_x,
        label_text = label_text.max(1),
        message_text = message_text.max(1),
        label = label,
        message = message,
    );
    Rendered::new(SVG_TYPE, svg.into_bytes())
}

fn render_page_badge(state: &PublicState) -> Rendered {
    let overall = state.overall();
    render_badge(&Badge {
        label: "status",
        message: overall.description,
        colour: indicator_colour(overall.indicator),
        alt: format!("{}: {}", state.page.name, overall.description),
    })
}

fn render_component_badge(component: &Component) -> Rendered {
    let words = status_words(component.status);
    render_badge(&Badge {
        label: &component.name,
        message: words,
        colour: status_colour(component.status),
        alt: format!("{}: {words}", component.name),
    })
}

/// An uptime percentage as Statuspage shows it, with two decimals, rounded down so that any
/// downtime never reads as 100%.
fn percent_text(percent: f64) -> String {
    if percent >= 100.0 {
        return "100%".to_string();
    }
    let floored = (percent.max(0.0) * 100.0).floor() / 100.0;
    format!("{floored:.2}%")
}

fn uptime_colour(percent: f64) -> &'static str {
    match percent {
        p if p >= 99.9 => colour::GOOD,
        p if p >= 99.0 => colour::FAIR,
        p if p >= 95.0 => colour::MINOR,
        p if p >= 90.0 => colour::MAJOR,
        _ => colour::CRITICAL,
    }
}

fn render_uptime_badge(state: &PublicState, component: &Component) -> Rendered {
    let percent = state.uptime.get(&component.id).and_then(|u| u.percent);
    let (message, colour) = match percent {
        Some(p) => (percent_text(p), uptime_colour(p)),
        None => ("no data".to_string(), colour::UNKNOWN),
    };
    render_badge(&Badge {
        label: "uptime",
        message: &message,
        colour,
        alt: format!(
            "{} uptime over the last {} days: {message}",
            component.name,
            crate::snapshot::uptime::DAYS
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_quotes_and_forbidden_characters() {
        assert_eq!(
            xml_escape("a & b < c > d \"e\" 'f'"),
            "a &amp; b &lt; c &gt; d &quot;e&quot; &apos;f&apos;"
        );
        assert_eq!(xml_escape("tab\tnl\ncr\r"), "tab\tnl\ncr\r");
        assert_eq!(xml_escape("bell\u{7}nul\u{0}esc\u{1b}"), "bellnulesc");
        assert_eq!(xml_escape("\u{FFFE}ok\u{FFFF}"), "ok");
        assert_eq!(xml_escape("café – 東京 🚀"), "café – 東京 🚀");
        // Already-escaped text is escaped again: the feed carries HTML as text.
        assert_eq!(xml_escape("&lt;b&gt;"), "&amp;lt;b&amp;gt;");
    }

    fn timeline(body: &str) -> String {
        let mut out = String::new();
        let at = Timestamp::parse("2026-11-28T14:09:00Z").unwrap();
        timeline_entry(&mut out, &at, chrono_tz::UTC, "Investigating", body);
        out
    }

    #[test]
    fn timeline_entries_open_the_first_paragraph_of_the_body() {
        assert_eq!(
            timeline("We are **looking**."),
            "<p><small>Nov 28, 14:09 UTC</small><br><strong>Investigating</strong> - \
             We are <strong>looking</strong>.</p>"
        );
        assert_eq!(
            timeline(""),
            "<p><small>Nov 28, 14:09 UTC</small><br><strong>Investigating</strong></p>"
        );
        let list = timeline("- one\n- two");
        assert!(
            list.starts_with(
                "<p><small>Nov 28, 14:09 UTC</small><br><strong>Investigating</strong></p><ul>"
            ),
            "{list}"
        );
    }

    #[test]
    fn timeline_bodies_are_inert() {
        let html = timeline(
            "<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\n[x](javascript:alert(1))",
        );
        for bad in ["<script", "onerror", "javascript:"] {
            assert!(!html.contains(bad), "{bad} in {html}");
        }
    }

    #[test]
    fn times_use_each_format() {
        let t = Timestamp::parse("2026-11-08T04:09:52.123456Z").unwrap();
        assert_eq!(timeline_time(&t, chrono_tz::UTC), "Nov 8, 04:09 UTC");
        assert_eq!(
            timeline_time(&t, chrono_tz::America::New_York),
            "Nov 7, 23:09 EST"
        );
        assert_eq!(atom_time(&t), "2026-11-08T04:09:52Z");
        assert_eq!(rss_time(&t), "Sun, 08 Nov 2026 04:09:52 +0000");
    }

    #[test]
    fn percentages_never_round_up_to_full_uptime() {
        assert_eq!(percent_text(100.0), "100%");
        assert_eq!(percent_text(99.999), "99.99%");
        assert_eq!(percent_text(99.5), "99.50%");
        assert_eq!(percent_text(0.0), "0.00%");
    }

    #[test]
    fn text_width_is_plausible() {
        // Shields lays out "build" in 27 px and "passing" in 41 px of 11 px Verdana.
        assert!((255..=285).contains(&text_width("build")));
        assert!((395..=425).contains(&text_width("passing")));
        assert!(text_width("WWW") > text_width("iii") * 2);
        assert_eq!(text_width("e\u{301}"), text_width("e"));
        assert_eq!(text_width("東京"), 220);
    }

    /// WCAG's relative luminance of a `#rgb` or `#rrggbb` colour.
    fn luminance(hex: &str) -> f64 {
        let hex = hex.trim_start_matches('#');
        let full: String = if hex.len() == 3 {
            hex.chars().flat_map(|c| [c, c]).collect()
        } else {
            hex.to_string()
        };
        let channel = |i: usize| {
            let c = f64::from(u8::from_str_radix(&full[i..i + 2], 16).unwrap()) / 255.0;
            if c <= 0.03928 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * channel(0) + 0.7152 * channel(2) + 0.0722 * channel(4)
    }

    #[test]
    fn white_text_is_readable_on_every_colour() {
        for c in colour::ALL {
            let contrast = 1.05 / (luminance(c) + 0.05);
            assert!(contrast >= 4.5, "{c}: {contrast:.2}:1");
        }
    }

    #[test]
    fn badges_carry_a_text_alternative_and_escape_names() {
        let r = render_badge(&Badge {
            label: "A&B <x>",
            message: "major outage",
            colour: colour::CRITICAL,
            alt: "A&B <x>: major outage".into(),
        });
        let svg = std::str::from_utf8(&r.body).unwrap();
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.contains("role=\"img\""));
        assert!(svg.contains("aria-label=\"A&amp;B &lt;x&gt;: major outage\""));
        assert!(svg.contains("<title>A&amp;B &lt;x&gt;: major outage</title>"));
        assert!(!svg.contains("<x>"));
        assert_eq!(r.content_type, SVG_TYPE);
    }
}
