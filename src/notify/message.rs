//! One event into one message, rendered as text, Markdown and HTML. Pure: no I/O, no clock.
//!
//! Each event kind people are told about has one template here ([`render`]), written once as
//! a [`Draft`]: a title, a heading, facts ("Status: Investigating · Impact: Major impact"),
//! the affected components with their statuses, the latest update's body and the link to the
//! page about the subject. The draft is then written out three ways: plain text, Markdown, and
//! HTML made from that Markdown by [`crate::markdown::to_html`], so update bodies (Markdown
//! written by people, possibly hostile) come out sanitised. Names that are not Markdown
//! (incident names, vendor bodies, which are plain text) are escaped before they enter the
//! Markdown.
//!
//! Messages keep their bodies whole; the channels cut them to what each service accepts.
//! Besides events there are two messages that are not about events: [`test_message`] ("send
//! test") and [`confirmation`] (double opt-in for email subscribers).

use crate::domain::model::Event;
use crate::domain::time::Timestamp;
use crate::domain::{ComponentStatus, IncidentImpact, IncidentStatus, MaintenanceStatus};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// What a message needs to know about the page it speaks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PageContext {
    /// The page's name (`[page] name`).
    pub name: String,
    /// The public base URL (`[page] url`), without a trailing slash.
    pub url: String,
}

/// The page the notifications speak for, with its name read when a message is made: the
/// name can change while the process runs (`/admin/settings`, `PATCH /api/v1/page`), the
/// address cannot (it is the configuration's).
#[derive(Clone)]
pub struct LivePage {
    name: Arc<dyn Fn() -> String + Send + Sync>,
    /// The public base URL (`[page] url`), without a trailing slash.
    pub url: String,
}

impl LivePage {
    /// A page whose name is read from `name` each time a message is made (the process gives
    /// the name of its current snapshot).
    pub fn new(name: impl Fn() -> String + Send + Sync + 'static, url: String) -> LivePage {
        LivePage {
            name: Arc::new(name),
            url,
        }
    }

    /// The page's name now.
    pub fn name(&self) -> String {
        (self.name)()
    }

    /// The page as it is now, for rendering.
    pub fn now(&self) -> PageContext {
        PageContext {
            name: self.name(),
            url: self.url.clone(),
        }
    }
}

/// A page whose name never changes (tests, tools).
impl From<PageContext> for LivePage {
    fn from(page: PageContext) -> LivePage {
        let PageContext { name, url } = page;
        LivePage::new(move || name.clone(), url)
    }
}

impl std::fmt::Debug for LivePage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LivePage")
            .field("name", &self.name())
            .field("url", &self.url)
            .finish()
    }
}

/// How bad the news is; chat colours, ntfy priorities and paging severities follow it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Minor,
    Major,
    Critical,
    Resolved,
}

impl Severity {
    pub fn as_str(&self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Minor => "minor",
            Severity::Major => "major",
            Severity::Critical => "critical",
            Severity::Resolved => "resolved",
        }
    }

    /// The severity an incident's impact implies while it is open.
    pub fn from_impact(impact: IncidentImpact) -> Severity {
        match impact {
            IncidentImpact::None => Severity::Info,
            IncidentImpact::Minor => Severity::Minor,
            IncidentImpact::Major => Severity::Major,
            IncidentImpact::Critical => Severity::Critical,
        }
    }

    /// The severity of a component being in `status`.
    pub fn from_component_status(status: ComponentStatus) -> Severity {
        match status {
            ComponentStatus::Operational => Severity::Resolved,
            ComponentStatus::UnderMaintenance => Severity::Info,
            ComponentStatus::DegradedPerformance => Severity::Minor,
            ComponentStatus::PartialOutage => Severity::Major,
            ComponentStatus::MajorOutage => Severity::Critical,
        }
    }
}

/// An event rendered for people.
#[derive(Debug, Clone)]
pub struct Message {
    pub event_seq: i64,
    pub event_kind: String,
    pub at: Timestamp,
    /// One line, at most [`TITLE_MAX_CHARS`] characters: `[Page] New incident: Name`.
    pub title: String,
    /// Plain text body.
    pub text: String,
    /// Markdown body.
    pub markdown: String,
    /// Sanitised HTML fragment.
    pub html: String,
    /// Absolute URL of the page about the subject, when there is one.
    pub link: Option<String>,
    pub severity: Severity,
    /// Stable key of what the message is about (`incident:<id>`, `monitor:<id>`, ...): the
    /// PagerDuty dedup key and Opsgenie alias.
    pub subject_key: String,
    /// The event ends its subject (incident resolved, monitor up, maintenance completed).
    pub resolves: bool,
    /// The event as `/api/v1/events` shows it (the webhook body carries it).
    pub event: serde_json::Value,
}

impl Message {
    /// What the message is about, from its title: `[Page] New incident: Name` gives `Name`,
    /// `[Page] Notifications are failing` gives `Notifications are failing`. Chat cards show
    /// it under the title.
    pub fn subject_name(&self) -> &str {
        let title = self.title.trim();
        let rest = match (title.starts_with('['), title.find("] ")) {
            (true, Some(end)) => &title[end + 2..],
            _ => title,
        };
        match rest.split_once(": ") {
            Some((_, name)) if !name.trim().is_empty() => name.trim(),
            _ => rest,
        }
    }
}

/// An event that cannot be rendered (its data is not what its kind promises).
#[derive(Debug, Clone, thiserror::Error)]
#[error("cannot render {kind} event {seq}: {reason}")]
pub struct RenderError {
    pub kind: String,
    pub seq: i64,
    pub reason: String,
}

/// The longest title, in characters; longer names are cut with "…".
pub const TITLE_MAX_CHARS: usize = 150;

/// The event kinds [`render`] knows; every other kind is a [`RenderError`].
pub const RENDERED_KINDS: &[&str] = &[
    "incident.opened",
    "incident.update_posted",
    "incident.updated",
    "incident.resolved",
    "incident.postmortem_published",
    "maintenance.scheduled",
    "maintenance.started",
    "maintenance.completed",
    "maintenance.cancelled",
    "component.status_changed",
    "monitor.state_changed",
    "vendor.incident_opened",
    "vendor.incident_update_posted",
    "vendor.incident_resolved",
    "vendor.component_status_changed",
    "vendor.maintenance_scheduled",
    "vendor.maintenance_started",
    "vendor.maintenance_completed",
    "vendor.source_unreachable",
    "vendor.source_recovered",
];

/// The `event_kind` of [`test_message`].
pub const TEST_KIND: &str = "notification.test";
/// The `event_kind` of [`confirmation`].
pub const CONFIRMATION_KIND: &str = "subscriber.confirmation";

/// Renders an event.
pub fn render(event: &Event, page: &PageContext) -> Result<Message, RenderError> {
    let fail = |reason: String| RenderError {
        kind: event.kind.clone(),
        seq: event.seq,
        reason,
    };
    let draft = match event.kind.as_str() {
        "incident.opened"
        | "incident.update_posted"
        | "incident.updated"
        | "incident.resolved"
        | "incident.postmortem_published" => incident(event, page),
        "maintenance.scheduled"
        | "maintenance.started"
        | "maintenance.completed"
        | "maintenance.cancelled" => maintenance(event, page),
        "component.status_changed" => component(event, page),
        "monitor.state_changed" => monitor(event, page),
        "vendor.incident_opened"
        | "vendor.incident_update_posted"
        | "vendor.incident_resolved"
        | "vendor.maintenance_scheduled"
        | "vendor.maintenance_started"
        | "vendor.maintenance_completed" => vendor_record(event, page),
        "vendor.component_status_changed" => vendor_component(event, page),
        "vendor.source_unreachable" | "vendor.source_recovered" => vendor_source(event, page),
        other => {
            return Err(fail(format!(
                "`{other}` events are not sent as notifications"
            )))
        }
    }
    .map_err(|err| fail(err.to_string()))?;
    let event_json = serde_json::to_value(event).map_err(|err| fail(err.to_string()))?;
    Ok(draft.finish(event.seq, &event.kind, event.at, event_json))
}

/// A message to check that a channel works ("send test").
pub fn test_message(page: &PageContext, now: Timestamp) -> Message {
    let draft = Draft {
        title: format!("[{}] Test notification", one_line(&page.name)),
        heading: "Test notification".into(),
        facts: Vec::new(),
        components: Vec::new(),
        body: Some(Body::Plain(format!(
            "This is a test notification from {}. If you can read it, this channel works. \
             Nothing is wrong.",
            page.name
        ))),
        link: Some((
            format!("View {}", page.name),
            format!("{}/", page.url.trim_end_matches('/')),
        )),
        severity: Severity::Info,
        subject_key: format!("test:{}", now.0.timestamp_micros()),
        resolves: false,
    };
    let event = synthetic_event(TEST_KIND, now);
    draft.finish(0, TEST_KIND, now, event)
}

/// The double opt-in message for an email subscriber: one link that confirms.
pub fn confirmation(page: &PageContext, confirm_url: &str, now: Timestamp) -> Message {
    let name = one_line(&page.name);
    let draft = Draft {
        title: cap_title(format!("Confirm your subscription to {name}")),
        heading: format!("Confirm your subscription to {name}"),
        facts: Vec::new(),
        components: Vec::new(),
        body: Some(Body::Plain(format!(
            "Someone, hopefully you, asked to receive status updates from {name} at this \
             address. Open the link below to confirm. If it was not you, ignore this message: \
             nothing will be sent until the subscription is confirmed."
        ))),
        link: Some(("Confirm the subscription".into(), confirm_url.to_string())),
        severity: Severity::Info,
        subject_key: format!("confirmation:{}", now.0.timestamp_micros()),
        resolves: false,
    };
    let event = synthetic_event(CONFIRMATION_KIND, now);
    draft.finish(0, CONFIRMATION_KIND, now, event)
}

/// An event-shaped object for messages that are not about an event, so receivers that read
/// `event.kind` need no special case.
fn synthetic_event(kind: &str, now: Timestamp) -> serde_json::Value {
    serde_json::json!({
        "seq": 0,
        "kind": kind,
        "subject_id": null,
        "actor": "pharos",
        "at": now,
        "data": {},
    })
}

// ---- labels -------------------------------------------------------------------------------

pub fn component_status_label(status: ComponentStatus) -> &'static str {
    match status {
        ComponentStatus::Operational => "Operational",
        ComponentStatus::DegradedPerformance => "Degraded performance",
        ComponentStatus::PartialOutage => "Partial outage",
        ComponentStatus::MajorOutage => "Major outage",
        ComponentStatus::UnderMaintenance => "Under maintenance",
    }
}

pub fn incident_status_label(status: IncidentStatus) -> &'static str {
    match status {
        IncidentStatus::Investigating => "Investigating",
        IncidentStatus::Identified => "Identified",
        IncidentStatus::Monitoring => "Monitoring",
        IncidentStatus::Resolved => "Resolved",
        IncidentStatus::Postmortem => "Postmortem",
    }
}

pub fn impact_label(impact: IncidentImpact) -> &'static str {
    match impact {
        IncidentImpact::None => "No impact",
        IncidentImpact::Minor => "Minor impact",
        IncidentImpact::Major => "Major impact",
        IncidentImpact::Critical => "Critical impact",
    }
}

pub fn maintenance_status_label(status: MaintenanceStatus) -> &'static str {
    match status {
        MaintenanceStatus::Scheduled => "Scheduled",
        MaintenanceStatus::InProgress => "In progress",
        MaintenanceStatus::Verifying => "Verifying",
        MaintenanceStatus::Completed => "Completed",
    }
}

/// A vendor record's status (an incident or maintenance status as text) in words.
fn vendor_status_label(status: &str) -> String {
    if let Ok(s) = status.parse::<IncidentStatus>() {
        return incident_status_label(s).into();
    }
    if let Ok(s) = status.parse::<MaintenanceStatus>() {
        return maintenance_status_label(s).into();
    }
    let mut words = status.replace('_', " ");
    if let Some(first) = words.get(..1) {
        let upper = first.to_uppercase();
        words.replace_range(..1, &upper);
    }
    words
}

fn when(t: Timestamp) -> String {
    t.0.format("%b %d, %Y %H:%M UTC").to_string()
}

// ---- the draft every template fills -------------------------------------------------------

/// An update's body: Markdown (written in Pharos) or plain text (vendors, Pharos's own words).
enum Body {
    Markdown(String),
    Plain(String),
}

struct Draft {
    title: String,
    /// The first line of the body: what the message is about.
    heading: String,
    facts: Vec<(&'static str, String)>,
    /// Affected components: name and status in words.
    components: Vec<(String, &'static str)>,
    body: Option<Body>,
    /// Label and absolute URL.
    link: Option<(String, String)>,
    severity: Severity,
    subject_key: String,
    resolves: bool,
}

impl Draft {
    fn finish(self, seq: i64, kind: &str, at: Timestamp, event: serde_json::Value) -> Message {
        let text = self.text();
        let markdown = self.markdown();
        let html = crate::markdown::to_html(&markdown);
        Message {
            event_seq: seq,
            event_kind: kind.to_string(),
            at,
            title: cap_title(self.title),
            text,
            markdown,
            html,
            link: self.link.map(|(_, url)| url),
            severity: self.severity,
            subject_key: self.subject_key,
            resolves: self.resolves,
            event,
        }
    }

    fn facts_line(&self) -> Option<String> {
        (!self.facts.is_empty()).then(|| {
            self.facts
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect::<Vec<_>>()
                .join(" · ")
        })
    }

    fn components_line(&self) -> Option<String> {
        (!self.components.is_empty()).then(|| {
            let list = self
                .components
                .iter()
                .map(|(name, status)| format!("{name} ({status})"))
                .collect::<Vec<_>>()
                .join(", ");
            format!("Affected components: {list}")
        })
    }

    fn text(&self) -> String {
        let mut head = vec![one_line(&self.heading)];
        head.extend(self.facts_line());
        head.extend(self.components_line());
        let mut blocks = vec![head.join("\n")];
        match &self.body {
            Some(Body::Markdown(md)) => blocks.push(markdown_to_text(md)),
            Some(Body::Plain(text)) => blocks.push(text.trim().to_string()),
            None => {}
        }
        if let Some((label, url)) = &self.link {
            blocks.push(format!("{label}: {url}"));
        }
        blocks.retain(|b| !b.is_empty());
        blocks.join("\n\n")
    }

    fn markdown(&self) -> String {
        let mut head = vec![format!("**{}**", md_escape(&one_line(&self.heading)))];
        head.extend(self.facts_line().map(|l| md_escape(&l)));
        head.extend(self.components_line().map(|l| md_escape(&l)));
        let mut blocks = vec![head.join("\n")];
        match &self.body {
            Some(Body::Markdown(md)) => blocks.push(md.trim().to_string()),
            Some(Body::Plain(text)) => blocks.push(md_escape(text.trim())),
            None => {}
        }
        if let Some((label, url)) = &self.link {
            blocks.push(format!("[{}]({})", md_escape(label), md_url(url)));
        }
        blocks.retain(|b| !b.is_empty());
        blocks.join("\n\n")
    }
}

/// A title cut to [`TITLE_MAX_CHARS`] on one line.
fn cap_title(title: String) -> String {
    let title = one_line(&title);
    match title.char_indices().nth(TITLE_MAX_CHARS - 1) {
        Some((cut, _)) => format!("{}…", title[..cut].trim_end()),
        None => title,
    }
}

/// Line breaks and control characters folded into single spaces.
fn one_line(text: &str) -> String {
    text.split(|c: char| c.is_control() || c.is_whitespace())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Escapes text so Markdown shows it as written: no emphasis, links, HTML, lists or headings.
fn md_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        // Leading spaces would make a code block; the text is a paragraph.
        let line = line.trim_start();
        // Block markers only mean something at the start of a line.
        if line.starts_with(['#', '+', '-', '=']) {
            out.push('\\');
        }
        let mut digits = true;
        for c in line.chars() {
            match c {
                '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '~' | '&' => {
                    out.push('\\');
                    out.push(c);
                }
                // "1. " at the start of a line would start a list.
                '.' | ')' if digits => {
                    out.push('\\');
                    out.push(c);
                }
                _ => out.push(c),
            }
            digits = digits && c.is_ascii_digit();
        }
    }
    out
}

/// A URL safe inside `[label](...)`.
fn md_url(url: &str) -> String {
    url.replace(' ', "%20")
        .replace('(', "%28")
        .replace(')', "%29")
        .replace('<', "%3C")
        .replace('>', "%3E")
}

/// Markdown as plain text: emphasis dropped, links as "text (url)", lists with dashes, raw
/// HTML left out.
pub fn markdown_to_text(markdown: &str) -> String {
    use pulldown_cmark::{Event as Md, Options, Parser, Tag, TagEnd};
    let mut out = String::with_capacity(markdown.len());
    let mut links: Vec<String> = Vec::new();
    let mut lists: Vec<Option<u64>> = Vec::new();
    let block_end = |out: &mut String| {
        while out.ends_with(' ') {
            out.pop();
        }
        if !out.is_empty() && !out.ends_with("\n\n") {
            out.push_str(if out.ends_with('\n') { "\n" } else { "\n\n" });
        }
    };
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    for event in Parser::new_ext(markdown, options) {
        match event {
            Md::Text(t) | Md::Code(t) => out.push_str(&t),
            Md::SoftBreak | Md::HardBreak => out.push('\n'),
            Md::Start(Tag::List(start)) => {
                if !out.is_empty() && !out.ends_with('\n') {
                    out.push('\n');
                }
                lists.push(start);
            }
            Md::End(TagEnd::List(_)) => {
                lists.pop();
                if lists.is_empty() {
                    block_end(&mut out);
                }
            }
            Md::Start(Tag::Item) => {
                if !out.is_empty() && !out.ends_with('\n') {
                    out.push('\n');
                }
                let depth = lists.len().saturating_sub(1);
                out.push_str(&"  ".repeat(depth));
                match lists.last_mut() {
                    Some(Some(n)) => {
                        out.push_str(&format!("{n}. "));
                        *n += 1;
                    }
                    _ => out.push_str("- "),
                }
            }
            Md::End(TagEnd::Item) if !out.ends_with('\n') => out.push('\n'),
            Md::Start(Tag::Link { dest_url, .. }) => links.push(dest_url.to_string()),
            Md::End(TagEnd::Link) => {
                if let Some(url) = links.pop() {
                    if !url.is_empty() && !out.ends_with(url.as_str()) {
                        out.push_str(&format!(" ({url})"));
                    }
                }
            }
            Md::End(TagEnd::TableCell) => out.push_str(" | "),
            Md::End(TagEnd::TableRow) | Md::End(TagEnd::TableHead) => {
                while out.ends_with(" | ") {
                    out.truncate(out.len() - 3);
                }
                out.push('\n');
            }
            Md::End(
                TagEnd::Paragraph
                | TagEnd::Heading(_)
                | TagEnd::CodeBlock
                | TagEnd::BlockQuote(_)
                | TagEnd::Table,
            ) => {
                if lists.is_empty() {
                    block_end(&mut out);
                } else if !out.ends_with('\n') {
                    out.push('\n');
                }
            }
            Md::Rule => {
                block_end(&mut out);
                out.push_str("---\n\n");
            }
            _ => {}
        }
    }
    out.trim().to_string()
}

// ---- the events' data, as far as messages need it -----------------------------------------

/// Views of the event payloads: only the fields a message needs, so an event written by an
/// older version (without a newer field) still renders.
#[derive(Deserialize)]
struct IncidentData {
    id: String,
    short_id: String,
    name: String,
    status: IncidentStatus,
    impact: IncidentImpact,
    #[serde(default)]
    updates: Vec<IncidentUpdateData>,
    #[serde(default)]
    postmortem: Option<PostmortemData>,
}

#[derive(Deserialize)]
struct IncidentUpdateData {
    status: IncidentStatus,
    body: String,
    #[serde(default)]
    affected_components: Vec<AffectedData>,
    created_at: Timestamp,
}

#[derive(Deserialize)]
struct AffectedData {
    name: String,
    new_status: ComponentStatus,
}

#[derive(Deserialize)]
struct PostmortemData {
    body: String,
}

#[derive(Deserialize)]
struct MaintenanceData {
    id: String,
    short_id: String,
    name: String,
    status: MaintenanceStatus,
    scheduled_for: Timestamp,
    scheduled_until: Timestamp,
    #[serde(default)]
    component_ids: Vec<String>,
    #[serde(default)]
    updates: Vec<MaintenanceUpdateData>,
}

#[derive(Deserialize)]
struct MaintenanceUpdateData {
    body: String,
}

#[derive(Deserialize)]
struct ComponentChangeData {
    from: Option<ComponentStatus>,
    to: ComponentStatus,
    component: NamedData,
}

#[derive(Deserialize)]
struct NamedData {
    id: String,
    name: String,
}

#[derive(Deserialize)]
struct MonitorChangeData {
    monitor: NamedData,
    transition: TransitionData,
}

#[derive(Deserialize)]
struct TransitionData {
    from: crate::monitor::evaluate::Health,
    to: crate::monitor::evaluate::Health,
    #[serde(default)]
    flapping_started: bool,
    #[serde(default)]
    flapping_ended: bool,
}

#[derive(Deserialize)]
struct VendorRecordData {
    slug: String,
    vendor_incident_id: String,
    name: String,
    status: String,
    impact: IncidentImpact,
    /// The vendor's own page about the record.
    #[serde(default)]
    url: Option<String>,
    /// `vendor.incident_opened`: the first update's body.
    #[serde(default)]
    body: Option<String>,
    /// `vendor.incident_update_posted`.
    #[serde(default)]
    update: Option<VendorUpdateData>,
    #[serde(default)]
    scheduled_for: Option<Timestamp>,
    #[serde(default)]
    scheduled_until: Option<Timestamp>,
    /// The end was inferred from the vendor no longer listing the record.
    #[serde(default)]
    inferred: bool,
}

#[derive(Deserialize)]
struct VendorUpdateData {
    status: String,
    body: String,
}

#[derive(Deserialize)]
struct VendorComponentData {
    slug: String,
    component_id: String,
    name: String,
    old_status: ComponentStatus,
    new_status: ComponentStatus,
}

#[derive(Deserialize)]
struct VendorSourceData {
    vendor_id: String,
    slug: String,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    unreachable_since: Option<Timestamp>,
}

fn data<T: serde::de::DeserializeOwned>(event: &Event) -> Result<T, serde_json::Error> {
    T::deserialize(&event.data)
}

fn base(page: &PageContext) -> &str {
    page.url.trim_end_matches('/')
}

// ---- the templates ------------------------------------------------------------------------

fn incident(event: &Event, page: &PageContext) -> Result<Draft, serde_json::Error> {
    let i: IncidentData = data(event)?;
    let p = one_line(&page.name);
    let name = one_line(&i.name);
    let update = i.updates.first();
    let status = update.map(|u| u.status).unwrap_or(i.status);
    let (title, severity, resolves) = match event.kind.as_str() {
        "incident.opened" => (
            format!("[{p}] New incident: {name}"),
            Severity::from_impact(i.impact),
            false,
        ),
        "incident.resolved" => (format!("[{p}] Resolved: {name}"), Severity::Resolved, true),
        "incident.postmortem_published" => {
            (format!("[{p}] Postmortem: {name}"), Severity::Info, false)
        }
        "incident.updated" => (
            format!("[{p}] Incident updated: {name}"),
            if i.status.is_closed() {
                Severity::Info
            } else {
                Severity::from_impact(i.impact)
            },
            false,
        ),
        _ => (
            format!("[{p}] {}: {name}", incident_status_label(status)),
            if status.is_closed() {
                Severity::Resolved
            } else {
                Severity::from_impact(i.impact)
            },
            status.is_closed(),
        ),
    };
    let mut facts = vec![
        ("Status", incident_status_label(i.status).to_string()),
        ("Impact", impact_label(i.impact).to_string()),
    ];
    if let Some(u) = update {
        facts.push(("Posted", when(u.created_at)));
    }
    let components = update
        .map(|u| {
            u.affected_components
                .iter()
                .map(|c| (one_line(&c.name), component_status_label(c.new_status)))
                .collect()
        })
        .unwrap_or_default();
    let body = match event.kind.as_str() {
        "incident.postmortem_published" => i.postmortem.map(|p| Body::Markdown(p.body)),
        "incident.updated" => Some(Body::Plain(format!(
            "The incident's details were changed; it now reads \"{name}\" with {} ({}).",
            impact_label(i.impact).to_lowercase(),
            incident_status_label(i.status).to_lowercase()
        ))),
        _ => update.map(|u| Body::Markdown(u.body.clone())),
    };
    Ok(Draft {
        title,
        heading: name,
        facts,
        components,
        body,
        link: Some((
            format!("View the incident on {p}"),
            format!("{}/incidents/{}", base(page), i.short_id),
        )),
        severity,
        subject_key: format!("incident:{}", i.id),
        resolves,
    })
}

fn maintenance(event: &Event, page: &PageContext) -> Result<Draft, serde_json::Error> {
    let m: MaintenanceData = data(event)?;
    let p = one_line(&page.name);
    let name = one_line(&m.name);
    let (what, severity, resolves) = match event.kind.as_str() {
        "maintenance.scheduled" => ("Maintenance scheduled", Severity::Info, false),
        "maintenance.started" => ("Maintenance in progress", Severity::Info, false),
        "maintenance.cancelled" => ("Maintenance cancelled", Severity::Resolved, true),
        _ => ("Maintenance completed", Severity::Resolved, true),
    };
    let window = if m.scheduled_for.0.date_naive() == m.scheduled_until.0.date_naive() {
        format!(
            "{} – {}",
            when(m.scheduled_for).trim_end_matches(" UTC"),
            m.scheduled_until.0.format("%H:%M UTC")
        )
    } else {
        format!("{} – {}", when(m.scheduled_for), when(m.scheduled_until))
    };
    let mut facts = vec![
        ("Status", maintenance_status_label(m.status).to_string()),
        ("Window", window),
    ];
    if !m.component_ids.is_empty() {
        let n = m.component_ids.len();
        facts.push((
            "Components",
            format!("{n} component{}", if n == 1 { "" } else { "s" }),
        ));
    }
    Ok(Draft {
        title: format!("[{p}] {what}: {name}"),
        heading: name,
        facts,
        components: Vec::new(),
        body: m.updates.first().map(|u| Body::Markdown(u.body.clone())),
        link: Some((
            format!("View the maintenance on {p}"),
            format!("{}/incidents/{}", base(page), m.short_id),
        )),
        severity,
        subject_key: format!("maintenance:{}", m.id),
        resolves,
    })
}

fn component(event: &Event, page: &PageContext) -> Result<Draft, serde_json::Error> {
    let c: ComponentChangeData = data(event)?;
    let p = one_line(&page.name);
    let name = one_line(&c.component.name);
    let to = component_status_label(c.to);
    let sentence = match c.from {
        Some(from) => format!(
            "{name} changed from {} to {}.",
            component_status_label(from).to_lowercase(),
            to.to_lowercase()
        ),
        None => format!("{name} is {}.", to.to_lowercase()),
    };
    Ok(Draft {
        title: format!("[{p}] {to}: {name}"),
        heading: name.clone(),
        facts: vec![("Status", to.to_string())],
        components: Vec::new(),
        body: Some(Body::Plain(sentence)),
        link: Some((format!("View {p}"), format!("{}/", base(page)))),
        severity: Severity::from_component_status(c.to),
        subject_key: format!("component:{}", c.component.id),
        resolves: c.to == ComponentStatus::Operational,
    })
}

fn monitor(event: &Event, page: &PageContext) -> Result<Draft, serde_json::Error> {
    use crate::monitor::evaluate::{Health, Transition};
    let m: MonitorChangeData = data(event)?;
    let p = one_line(&page.name);
    let name = one_line(&m.monitor.name);
    let t = &m.transition;
    let what = if t.from == t.to && t.flapping_started {
        "Monitor flapping".to_string()
    } else if t.from == t.to && t.flapping_ended {
        "Monitor stopped flapping".to_string()
    } else {
        match t.to {
            Health::Down => "Monitor down".into(),
            Health::Degraded => "Monitor degraded".into(),
            Health::Up if t.from.is_failing() => "Monitor recovered".into(),
            Health::Up => "Monitor up".into(),
            Health::Pending => "Monitor pending".into(),
        }
    };
    let severity = match t.to {
        Health::Down => Severity::Critical,
        Health::Degraded => Severity::Minor,
        Health::Up if t.from.is_failing() => Severity::Resolved,
        Health::Up | Health::Pending => Severity::Info,
    };
    // The full transition says which rule decided and what the last check saw; an event
    // from another version may not parse as one, and then the change alone is told.
    let summary = event
        .data
        .get("transition")
        .and_then(|v| Transition::deserialize(v).ok())
        .map(|t| t.summary())
        .unwrap_or_else(|| format!("{} -> {}", t.from, t.to));
    Ok(Draft {
        title: format!("[{p}] {what}: {name}"),
        heading: name,
        facts: vec![("Health", t.to.as_str().to_string())],
        components: Vec::new(),
        body: Some(Body::Plain(format!("Detected by Pharos: {summary}"))),
        // Monitors have no public page.
        link: None,
        severity,
        subject_key: format!("monitor:{}", m.monitor.id),
        resolves: t.to == Health::Up,
    })
}

fn vendor_record(event: &Event, page: &PageContext) -> Result<Draft, serde_json::Error> {
    let r: VendorRecordData = data(event)?;
    let p = one_line(&page.name);
    let vendor = one_line(&r.slug);
    let name = one_line(&r.name);
    let status = vendor_status_label(&r.status);
    let (what, severity, resolves) = match event.kind.as_str() {
        "vendor.incident_opened" => (
            format!("{vendor} incident"),
            Severity::from_impact(r.impact),
            false,
        ),
        "vendor.incident_update_posted" => {
            let update_status = r
                .update
                .as_ref()
                .map(|u| vendor_status_label(&u.status))
                .unwrap_or_else(|| status.clone());
            let closed = r
                .status
                .parse::<IncidentStatus>()
                .is_ok_and(|s| s.is_closed());
            (
                format!("{vendor} {}", update_status.to_lowercase()),
                if closed {
                    Severity::Resolved
                } else {
                    Severity::from_impact(r.impact)
                },
                false,
            )
        }
        "vendor.incident_resolved" => (
            format!("{vendor} incident resolved"),
            Severity::Resolved,
            true,
        ),
        "vendor.maintenance_scheduled" => (
            format!("{vendor} maintenance scheduled"),
            Severity::Info,
            false,
        ),
        "vendor.maintenance_started" => (
            format!("{vendor} maintenance in progress"),
            Severity::Info,
            false,
        ),
        _ => (
            format!("{vendor} maintenance completed"),
            Severity::Resolved,
            true,
        ),
    };
    let maintenance = event.kind.contains("maintenance");
    let mut facts = vec![("Vendor", vendor.clone()), ("Status", status)];
    if !maintenance {
        facts.push(("Impact", impact_label(r.impact).to_string()));
    }
    if let (Some(from), Some(until)) = (r.scheduled_for, r.scheduled_until) {
        facts.push(("Window", format!("{} – {}", when(from), when(until))));
    }
    let mut body = match (&r.update, &r.body) {
        (Some(u), _) => u.body.clone(),
        (None, Some(b)) => b.clone(),
        (None, None) => String::new(),
    };
    if r.inferred {
        body = format!(
            "{vendor} no longer lists this {} as open.",
            if maintenance {
                "maintenance"
            } else {
                "incident"
            }
        );
    }
    if let Some(url) = r.url.as_deref().filter(|u| is_web_url(u)) {
        if !body.is_empty() {
            body.push_str("\n\n");
        }
        body.push_str(&format!("Source: {url}"));
    }
    Ok(Draft {
        title: format!("[{p}] {what}: {name}"),
        heading: format!("{vendor}: {name}"),
        facts,
        components: Vec::new(),
        body: (!body.is_empty()).then_some(Body::Plain(body)),
        link: Some((
            format!("View on {p}"),
            format!(
                "{}/vendors/{}/incidents/{}",
                base(page),
                r.slug,
                r.vendor_incident_id
            ),
        )),
        severity,
        subject_key: format!("vendor_incident:{}", r.vendor_incident_id),
        resolves,
    })
}

fn vendor_component(event: &Event, page: &PageContext) -> Result<Draft, serde_json::Error> {
    let c: VendorComponentData = data(event)?;
    let p = one_line(&page.name);
    let vendor = one_line(&c.slug);
    let name = one_line(&c.name);
    let to = component_status_label(c.new_status);
    Ok(Draft {
        title: format!("[{p}] {to} at {vendor}: {name}"),
        heading: format!("{vendor}: {name}"),
        facts: vec![("Vendor", vendor.clone()), ("Status", to.to_string())],
        components: Vec::new(),
        body: Some(Body::Plain(format!(
            "{name} at {vendor} changed from {} to {}.",
            component_status_label(c.old_status).to_lowercase(),
            to.to_lowercase()
        ))),
        link: Some((
            format!("View {vendor} on {p}"),
            format!("{}/vendors/{}", base(page), c.slug),
        )),
        severity: Severity::from_component_status(c.new_status),
        subject_key: format!("vendor_component:{}", c.component_id),
        resolves: c.new_status == ComponentStatus::Operational,
    })
}

fn vendor_source(event: &Event, page: &PageContext) -> Result<Draft, serde_json::Error> {
    let s: VendorSourceData = data(event)?;
    let p = one_line(&page.name);
    let vendor = one_line(&s.slug);
    let recovered = event.kind == "vendor.source_recovered";
    let (title, body, severity) = if recovered {
        (
            format!("[{p}] {vendor} status source reachable again"),
            format!("Pharos reads the status of {vendor} again."),
            Severity::Resolved,
        )
    } else {
        let since = s
            .unreachable_since
            .map(|t| format!(" since {}", when(t)))
            .unwrap_or_default();
        let reason = s
            .error
            .as_deref()
            .map(|e| format!(": {}", one_line(e)))
            .unwrap_or_default();
        (
            format!("[{p}] Cannot read the status of {vendor}"),
            format!(
                "Pharos cannot read the status source of {vendor}{since}{reason}. Its last \
                 known state is kept and shown; this is not an outage of {vendor}."
            ),
            Severity::Minor,
        )
    };
    Ok(Draft {
        title,
        heading: format!("{vendor} status source"),
        facts: vec![(
            "Source",
            if recovered {
                "reachable"
            } else {
                "unreachable"
            }
            .to_string(),
        )],
        components: Vec::new(),
        body: Some(Body::Plain(body)),
        link: Some((
            format!("View {vendor} on {p}"),
            format!("{}/vendors/{}", base(page), s.slug),
        )),
        severity,
        subject_key: format!("vendor:{}", s.vendor_id),
        resolves: recovered,
    })
}

fn is_web_url(url: &str) -> bool {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    lower.starts_with("https://") || lower.starts_with("http://")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn page() -> PageContext {
        PageContext {
            name: "Acme Status".into(),
            url: "https://status.acme.test".into(),
        }
    }

    fn at() -> Timestamp {
        Timestamp::parse("2026-11-28T14:05:00Z").unwrap()
    }

    fn event(kind: &str, data: Value) -> Event {
        Event {
            seq: 42,
            kind: kind.into(),
            subject_id: Some("0193a1b2-0000-7000-8000-000000000001".into()),
            actor: "token:writer".into(),
            at: at(),
            data,
        }
    }

    const INCIDENT_ID: &str = "0193a1b2-0000-7000-8000-000000000001";
    const API_ID: &str = "0193a1b2-0000-7000-8000-0000000000a1";

    fn incident(status: &str, body: Option<&str>) -> Value {
        let updates = match body {
            Some(body) => json!([{
                "id": "0193a1b2-0000-7000-8000-0000000000u1",
                "status": status,
                "body": body,
                "affected_components": [{
                    "component_id": API_ID,
                    "name": "API",
                    "old_status": "operational",
                    "new_status": if status == "resolved" { "operational" } else { "major_outage" },
                }],
                "created_at": "2026-11-28T14:05:00.000000Z",
                "updated_at": "2026-11-28T14:05:00.000000Z",
                "edit_count": 0,
            }]),
            None => json!([]),
        };
        json!({
            "id": INCIDENT_ID,
            "short_id": "k3x9p2m7q1zt",
            "name": "Elevated API errors",
            "status": status,
            "impact": "critical",
            "source": {"kind": "manual", "ref": null},
            "started_at": "2026-11-28T14:00:00.000000Z",
            "monitoring_at": null,
            "resolved_at": null,
            "components": [{"component_id": API_ID, "status": "major_outage"}],
            "updates": updates,
            "postmortem": {"body": "## What happened\n\nA bad deploy.", "published_at": "2026-11-29T10:00:00.000000Z", "updated_at": "2026-11-29T10:00:00.000000Z"},
            "created_at": "2026-11-28T14:00:00.000000Z",
            "updated_at": "2026-11-28T14:05:00.000000Z",
        })
    }

    fn maintenance(status: &str) -> Value {
        json!({
            "id": "0193a1b2-0000-7000-8000-0000000000m1",
            "short_id": "m4int3n4nce1",
            "name": "Database upgrade",
            "status": status,
            "scheduled_for": "2026-12-03T02:00:00.000000Z",
            "scheduled_until": "2026-12-03T04:00:00.000000Z",
            "auto_transition": true,
            "component_ids": [API_ID],
            "updates": [{"id": "0193a1b2-0000-7000-8000-0000000000m2", "status": status, "body": "We are upgrading the **database**.", "created_at": "2026-11-28T14:05:00.000000Z"}],
            "started_at": null,
            "completed_at": null,
            "cancelled_at": null,
            "created_at": "2026-11-28T14:05:00.000000Z",
            "updated_at": "2026-11-28T14:05:00.000000Z",
        })
    }

    fn vendor_record(kind: &str, status: &str, extra: Value) -> Value {
        let mut data = json!({
            "vendor_id": "0193a1b2-0000-7000-8000-0000000000v1",
            "slug": "stripe",
            "vendor_incident_id": "0193a1b2-0000-7000-8000-0000000000v2",
            "external_id": "abc123",
            "kind": kind,
            "name": "Card payments failing",
            "status": status,
            "impact": "major",
            "url": "https://status.stripe.com/incidents/abc123",
            "component_ids": [],
        });
        data.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        data
    }

    fn monitor(from: &str, to: &str) -> Value {
        json!({
            "monitor": {"id": "0193a1b2-0000-7000-8000-0000000000c1", "name": "API health", "health": to},
            "transition": {
                "from": from,
                "to": to,
                "at": "2026-11-28T14:05:00.000000Z",
                "flapping": false,
                "flapping_started": false,
                "flapping_ended": false,
                "rule": {"rule": "consecutive", "count": 3},
                "evidence": [{"at": "2026-11-28T14:05:00.000000Z", "outcome": "down", "error": "timeout", "message": "no answer within 10 s"}],
                "first_failure_at": "2026-11-28T14:03:00.000000Z",
            },
        })
    }

    /// Every kind the notifications are about, each with a payload shaped like the store's.
    fn every_kind() -> Vec<Event> {
        let source = json!({
            "vendor_id": "0193a1b2-0000-7000-8000-0000000000v1",
            "slug": "stripe",
            "error": "HTTP 503 from the source",
            "unreachable_since": "2026-11-28T13:00:00.000000Z",
        });
        vec![
            event(
                "incident.opened",
                incident(
                    "investigating",
                    Some("We are looking into **errors** on the API."),
                ),
            ),
            event(
                "incident.update_posted",
                incident("identified", Some("A bad deploy; rolling back.")),
            ),
            event("incident.updated", incident("identified", None)),
            event(
                "incident.resolved",
                incident("resolved", Some("This incident has been resolved.")),
            ),
            event(
                "incident.postmortem_published",
                incident("postmortem", None),
            ),
            event("maintenance.scheduled", maintenance("scheduled")),
            event("maintenance.started", maintenance("in_progress")),
            event("maintenance.completed", maintenance("completed")),
            event("maintenance.cancelled", maintenance("completed")),
            event(
                "component.status_changed",
                json!({"from": "operational", "to": "partial_outage", "component": {"id": API_ID, "name": "API", "status": "partial_outage"}}),
            ),
            event("monitor.state_changed", monitor("up", "down")),
            event(
                "vendor.incident_opened",
                vendor_record(
                    "incident",
                    "investigating",
                    json!({"started_at": "2026-11-28T13:50:00.000000Z", "body": "We are investigating failed card payments."}),
                ),
            ),
            event(
                "vendor.incident_update_posted",
                vendor_record(
                    "incident",
                    "identified",
                    json!({"update": {"status": "identified", "body": "The issue has been identified.", "at": "2026-11-28T14:00:00.000000Z"}}),
                ),
            ),
            event(
                "vendor.incident_resolved",
                vendor_record(
                    "incident",
                    "resolved",
                    json!({"resolved_at": "2026-11-28T15:00:00.000000Z"}),
                ),
            ),
            event(
                "vendor.component_status_changed",
                json!({"vendor_id": "0193a1b2-0000-7000-8000-0000000000v1", "slug": "stripe", "component_id": "0193a1b2-0000-7000-8000-0000000000v3", "external_id": "cmp1", "name": "Card payments", "old_status": "operational", "new_status": "major_outage"}),
            ),
            event(
                "vendor.maintenance_scheduled",
                vendor_record(
                    "maintenance",
                    "scheduled",
                    json!({"scheduled_for": "2026-12-01T01:00:00.000000Z", "scheduled_until": "2026-12-01T02:00:00.000000Z"}),
                ),
            ),
            event(
                "vendor.maintenance_started",
                vendor_record("maintenance", "in_progress", json!({})),
            ),
            event(
                "vendor.maintenance_completed",
                vendor_record(
                    "maintenance",
                    "completed",
                    json!({"resolved_at": "2026-12-01T02:00:00.000000Z"}),
                ),
            ),
            event("vendor.source_unreachable", source.clone()),
            event("vendor.source_recovered", source),
        ]
    }

    #[test]
    fn every_listed_kind_renders_from_a_realistic_payload() {
        let events = every_kind();
        assert_eq!(events.len(), RENDERED_KINDS.len());
        for e in &events {
            let m = render(e, &page()).unwrap_or_else(|err| panic!("{err}"));
            assert_eq!(m.event_kind, e.kind);
            assert_eq!(m.event_seq, 42);
            assert!(
                !m.title.contains('\n') && m.title.chars().count() <= TITLE_MAX_CHARS,
                "{}",
                m.title
            );
            assert!(m.title.starts_with("[Acme Status] "), "{}", m.title);
            assert!(!m.text.is_empty() && !m.markdown.is_empty() && !m.html.is_empty());
            assert_eq!(m.event["kind"], e.kind.as_str());
            assert_eq!(m.event["seq"], 42);
            if let Some(link) = &m.link {
                assert!(link.starts_with("https://status.acme.test/"), "{link}");
                assert!(m.text.contains(link.as_str()), "{}: {}", e.kind, m.text);
            }
        }
    }

    #[test]
    fn incidents_say_status_impact_components_body_and_link() {
        let m = render(
            &event(
                "incident.opened",
                incident(
                    "investigating",
                    Some("We are looking into **errors** on the API."),
                ),
            ),
            &page(),
        )
        .unwrap();
        assert_eq!(m.title, "[Acme Status] New incident: Elevated API errors");
        assert_eq!(m.subject_name(), "Elevated API errors");
        assert_eq!(m.severity, Severity::Critical);
        assert_eq!(m.subject_key, format!("incident:{INCIDENT_ID}"));
        assert!(!m.resolves);
        assert_eq!(
            m.link.as_deref(),
            Some("https://status.acme.test/incidents/k3x9p2m7q1zt")
        );
        for part in [
            "Investigating",
            "Critical impact",
            "API (Major outage)",
            "We are looking into errors on the API.",
            "Acme Status",
        ] {
            assert!(m.text.contains(part), "{part:?} not in {}", m.text);
        }
        assert!(m.markdown.contains("**errors**"));
        assert!(m.html.contains("<strong>errors</strong>"), "{}", m.html);
        assert!(m
            .html
            .contains("href=\"https://status.acme.test/incidents/k3x9p2m7q1zt\""));

        let resolved = render(
            &event("incident.resolved", incident("resolved", Some("Fixed."))),
            &page(),
        )
        .unwrap();
        assert_eq!(
            resolved.title,
            "[Acme Status] Resolved: Elevated API errors"
        );
        assert_eq!(resolved.severity, Severity::Resolved);
        assert!(resolved.resolves);
        assert!(resolved.text.contains("API (Operational)"));

        let postmortem = render(
            &event(
                "incident.postmortem_published",
                incident("postmortem", None),
            ),
            &page(),
        )
        .unwrap();
        assert!(!postmortem.resolves);
        assert_eq!(postmortem.severity, Severity::Info);
        assert!(postmortem.text.contains("What happened"));
    }

    #[test]
    fn subjects_severities_and_ends() {
        let rendered: Vec<Message> = every_kind()
            .iter()
            .map(|e| render(e, &page()).unwrap())
            .collect();
        let by_kind = |k: &str| rendered.iter().find(|m| m.event_kind == k).unwrap();
        let m = by_kind("maintenance.scheduled");
        assert_eq!(
            m.subject_key,
            "maintenance:0193a1b2-0000-7000-8000-0000000000m1"
        );
        assert_eq!(
            m.link.as_deref(),
            Some("https://status.acme.test/incidents/m4int3n4nce1")
        );
        assert!(
            m.text.contains("Dec 03, 2026 02:00 – 04:00 UTC"),
            "{}",
            m.text
        );
        assert!(by_kind("maintenance.completed").resolves);
        assert!(by_kind("maintenance.cancelled").resolves);
        let c = by_kind("component.status_changed");
        assert_eq!(c.title, "[Acme Status] Partial outage: API");
        assert_eq!(c.severity, Severity::Major);
        assert_eq!(c.subject_key, format!("component:{API_ID}"));
        let mon = by_kind("monitor.state_changed");
        assert_eq!(mon.title, "[Acme Status] Monitor down: API health");
        assert_eq!(mon.severity, Severity::Critical);
        assert_eq!(
            mon.subject_key,
            "monitor:0193a1b2-0000-7000-8000-0000000000c1"
        );
        assert!(mon.text.contains("no answer within 10 s"), "{}", mon.text);
        let v = by_kind("vendor.incident_opened");
        assert_eq!(
            v.subject_key,
            "vendor_incident:0193a1b2-0000-7000-8000-0000000000v2"
        );
        assert_eq!(
            v.link.as_deref(),
            Some("https://status.acme.test/vendors/stripe/incidents/0193a1b2-0000-7000-8000-0000000000v2")
        );
        assert_eq!(v.severity, Severity::Major);
        assert!(v
            .text
            .contains("We are investigating failed card payments."));
        assert!(by_kind("vendor.incident_resolved").resolves);
        assert!(by_kind("vendor.maintenance_completed").resolves);
        assert!(by_kind("vendor.source_recovered").resolves);
        assert!(by_kind("vendor.source_unreachable")
            .text
            .contains("HTTP 503 from the source"));
        let up = render(
            &event("monitor.state_changed", monitor("down", "up")),
            &page(),
        )
        .unwrap();
        assert!(up.resolves);
        assert_eq!(up.severity, Severity::Resolved);
        assert_eq!(up.title, "[Acme Status] Monitor recovered: API health");
    }

    #[test]
    fn other_kinds_and_bad_payloads_are_render_errors() {
        let err = render(&event("token.created", json!({})), &page()).unwrap_err();
        assert!(err.to_string().contains("token.created"), "{err}");
        let err = render(&event("incident.opened", json!({"name": 3})), &page()).unwrap_err();
        assert_eq!(err.seq, 42);
        assert_eq!(err.kind, "incident.opened");
    }

    #[test]
    fn a_hostile_body_and_name_are_inert_in_html() {
        let mut data = incident(
            "investigating",
            Some("<script>alert(1)</script><img src=x onerror=alert(2)> [click](javascript:alert(3)) <iframe src=https://evil.test></iframe>"),
        );
        data["name"] = json!("<b onmouseover=alert(4)>Boom</b> **bold** [x](javascript:alert(5))");
        let m = render(&event("incident.opened", data), &page()).unwrap();
        // Inside tags: no scripts, frames, images without http, handlers or script URLs.
        // (As text, the name's characters may all appear, escaped.)
        let html = m.html.to_ascii_lowercase();
        for tag in html
            .split('<')
            .skip(1)
            .map(|t| t.split('>').next().unwrap_or(""))
        {
            for bad in [
                "script",
                "iframe",
                "onerror",
                "onmouseover",
                "javascript:",
                "src=\"x\"",
            ] {
                assert!(!tag.contains(bad), "<{tag}> in {}", m.html);
            }
        }
        assert!(
            m.html.contains("&lt;b onmouseover"),
            "the name is shown as text: {}",
            m.html
        );
        assert!(!m.title.contains('\n'));
        assert!(!m.text.contains("<script>"), "{}", m.text);
    }

    #[test]
    fn titles_are_one_short_line() {
        let mut data = incident("investigating", Some("x"));
        data["name"] = json!(format!("Line one\nline two {}", "very long ".repeat(50)));
        let m = render(&event("incident.opened", data), &page()).unwrap();
        assert!(!m.title.contains('\n'));
        assert_eq!(m.title.chars().count(), TITLE_MAX_CHARS);
        assert!(m.title.ends_with('…'));
    }

    #[test]
    fn test_and_confirmation_messages() {
        let t = test_message(&page(), at());
        assert_eq!(t.event_kind, TEST_KIND);
        assert_eq!(t.event["kind"], TEST_KIND);
        assert_eq!(t.severity, Severity::Info);
        assert!(t.text.contains("Acme Status"));
        let c = confirmation(
            &page(),
            "https://status.acme.test/subscriptions/confirm?token=abc",
            at(),
        );
        assert_eq!(c.title, "Confirm your subscription to Acme Status");
        assert_eq!(
            c.link.as_deref(),
            Some("https://status.acme.test/subscriptions/confirm?token=abc")
        );
        assert!(c
            .text
            .contains("https://status.acme.test/subscriptions/confirm?token=abc"));
        assert!(
            c.html
                .contains("href=\"https://status.acme.test/subscriptions/confirm?token=abc\""),
            "{}",
            c.html
        );
    }

    #[test]
    fn markdown_becomes_readable_text() {
        let text = markdown_to_text(
            "## Update\n\nWe **rolled back** the [deploy](https://x.test/d).\n\n- one\n- two\n\n1. first\n2. second\n\n<script>x()</script>",
        );
        assert_eq!(
            text,
            "Update\n\nWe rolled back the deploy (https://x.test/d).\n\n- one\n- two\n\n1. first\n2. second"
        );
    }

    #[test]
    fn escaping_keeps_plain_text_as_written() {
        for plain in [
            "# not a heading",
            "1. not a list",
            "*not* _emphasis_ [no](link) <b>",
            "- dash",
            "a\\b",
        ] {
            let html = crate::markdown::to_html(&md_escape(plain));
            let shown = html
                .replace("<p>", "")
                .replace("</p>", "")
                .trim()
                .to_string();
            assert_eq!(html_escape::decode_html_entities(&shown), plain, "{html}");
        }
    }
}
