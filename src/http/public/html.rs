//! The HTML status page: `/` (current status, components with 90-day uptime bars, incidents
//! and maintenance), `/history` and its months, `/incidents/{id}`, `/embed`, the two static
//! assets they use (`/assets/pharos.css`, `/assets/pharos.js`) and the page's theme
//! (`/assets/theme.css`, the configured accent colour, rendered per snapshot so that no page
//! needs an inline style and a strict Content-Security-Policy stays possible).
//!
//! Every page is rendered on the server with askama from the current [`Snapshot`], once per
//! snapshot (the hot ones when the projector warms it, incident pages on first request), and
//! served by [`super::respond`] with compression and validators. Nothing here queries the
//! database, so the page stays fast under a spike and keeps answering while the database is
//! away (then saying "status as of ..."); only what is older than the snapshot (months of the
//! history, and their incidents) is read from the store, through `history`'s small cache.
//!
//! This module turns the snapshot into small view structs of display-ready strings (labels,
//! times in the page's zone, durations, tooltips) so the templates in `templates/` stay free
//! of logic;
//! `text` words times, statuses and durations, and `uptime_bar` builds the 90-day bars.
//! Text is escaped by askama; the only HTML inserted unescaped is [`Sanitized`], which only
//! [`crate::markdown::to_html`] produces; the configured logo and footer URLs are checked again
//! with [`crate::config::is_link_url`] before they reach an attribute. The pages work without
//! JavaScript; the script only shows times in the reader's zone (`<time datetime>` stays UTC)
//! and the uptime bars' day details on touch screens.

pub mod history;
pub mod monitors;
pub mod subscribe;
mod text;
mod uptime_bar;
pub mod vendors;

pub use text::human_duration;

use super::{respond, Cors};
use crate::config::{is_hex_colour, is_link_url, FooterLink};
use crate::domain::model::{Component, ComponentGroup, Incident, Maintenance};
use crate::domain::{ComponentId, ComponentStatus, SourceKind};
use crate::http::extract::Headers;
use crate::http::AppState;
use crate::snapshot::{PageInfo, PublicState, Rendered, Snapshot};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::Response;
use chrono::Duration;
use chrono_tz::Tz;
use std::fmt;
use std::sync::{Arc, LazyLock};
use text::{
    component_badge, day_text, impact_badge, incident_status_label, local_date,
    maintenance_status_label, Badge, When,
};
use uptime_bar::{uptime_bar, IncidentIndex, UptimeBar};

const HTML: &str = "text/html; charset=utf-8";

/// How many days of past incidents the status page lists, as Statuspage does.
const PAST_DAYS: i64 = 14;

// ---------------------------------------------------------------------------------------------
// Handlers

#[utoipa::path(get, path = "/", tag = "public", security(()),
    responses((status = 200, description = "The status page: overall status, incidents, maintenance, components with 90-day uptime", content_type = "text/html"),
              (status = 304, description = "Not modified (If-None-Match)")))]
pub async fn index(State(state): State<AppState>, Headers(headers): Headers) -> Response {
    serve_page(&state, &headers, "html:/", render_index)
}

#[utoipa::path(get, path = "/history", tag = "public", security(()),
    responses((status = 200, description = "Incident history, month by month", content_type = "text/html"),
              (status = 304, description = "Not modified (If-None-Match)")))]
pub async fn history(State(state): State<AppState>, Headers(headers): Headers) -> Response {
    serve_page(&state, &headers, "html:/history", history::render_history)
}

#[utoipa::path(get, path = "/embed", tag = "public", security(()),
    responses((status = 200, description = "A small status view to show in a frame on another site", content_type = "text/html"),
              (status = 304, description = "Not modified (If-None-Match)")))]
pub async fn embed(State(state): State<AppState>, Headers(headers): Headers) -> Response {
    serve_page(&state, &headers, "html:/embed", render_embed)
}

#[utoipa::path(get, path = "/incidents/{id}", tag = "public", security(()),
    params(("id" = String, Path, description = "The incident's short id (as in /api/v2 shortlinks) or its UUID")),
    responses((status = 200, description = "One incident: impact, times, duration, affected components, update timeline, postmortem", content_type = "text/html"),
              (status = 304, description = "Not modified (If-None-Match)"),
              (status = 404, description = "No such incident on the page", content_type = "text/html"),
              (status = 503, description = "An incident older than the page's memory, which the database cannot be asked for now; try again in a few seconds", content_type = "text/plain")))]
pub async fn incident(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Headers(headers): Headers,
) -> Response {
    let snapshot = state.snapshot.load();
    // Both spellings of the id share one cache entry, keyed by the short id; the key is only
    // ever made for an incident that exists, which keeps the cache bounded.
    let Some(short_id) = find_incident(&snapshot.state, &id).map(|i| i.short_id.clone()) else {
        // Maintenances share the incident namespace, as on Statuspage, whose shortlinks point
        // both kinds at `/incidents/{id}`.
        if let Some(short_id) = find_maintenance(&snapshot.state, &id).map(|m| m.short_id.clone()) {
            if let Some(rendered) = snapshot.rendered(&format!("html:/incidents/{short_id}"), |s| {
                render_maintenance(s, &short_id)
            }) {
                return respond(&rendered, &headers, Cors::SameOrigin);
            }
        }
        // Older than the snapshot (linked from an old month of the history): from the store.
        drop(snapshot);
        return history::old_incident(&state, id, &headers).await;
    };
    match snapshot.rendered(&format!("html:/incidents/{short_id}"), |s| {
        render_incident(s, &short_id)
    }) {
        Some(rendered) => respond(&rendered, &headers, Cors::SameOrigin),
        None => not_found(&snapshot, &headers),
    }
}

#[utoipa::path(get, path = "/assets/pharos.css", tag = "public", security(()),
    responses((status = 200, description = "The status page's stylesheet", content_type = "text/css"),
              (status = 304, description = "Not modified (If-None-Match)")))]
pub async fn stylesheet(uri: Uri, Headers(headers): Headers) -> Response {
    serve_asset(&STYLESHEET, &uri, &headers)
}

#[utoipa::path(get, path = "/assets/pharos.js", tag = "public", security(()),
    responses((status = 200, description = "The status page's small progressive script (local times, uptime details on touch)", content_type = "text/javascript"),
              (status = 304, description = "Not modified (If-None-Match)")))]
pub async fn script(uri: Uri, Headers(headers): Headers) -> Response {
    serve_asset(&SCRIPT, &uri, &headers)
}

#[utoipa::path(get, path = "/assets/theme.css", tag = "public", security(()),
    responses((status = 200, description = "The page's theme: its configured accent colour as CSS custom properties", content_type = "text/css"),
              (status = 304, description = "Not modified (If-None-Match)")))]
pub async fn theme(State(state): State<AppState>, uri: Uri, Headers(headers): Headers) -> Response {
    let snapshot = state.snapshot.load();
    serve_asset(&theme_css(&snapshot), &uri, &headers)
}

/// Renders the hot pages of a fresh snapshot; incident pages render on first request.
pub fn warm(snapshot: &Snapshot) {
    snapshot.rendered("html:/", |s| Some(render_index(s)));
    snapshot.rendered("html:/history", |s| Some(history::render_history(s)));
    snapshot.rendered("html:/embed", |s| Some(render_embed(s)));
}

fn serve_page(
    state: &AppState,
    headers: &HeaderMap,
    key: &str,
    render: fn(&Snapshot) -> Rendered,
) -> Response {
    let snapshot = state.snapshot.load();
    let rendered = snapshot
        .rendered(key, |s| Some(render(s)))
        .expect("pages always render");
    respond(&rendered, headers, Cors::SameOrigin)
}

/// The 404 page, rendered once per snapshot like the others (a flood of bad links costs no
/// rendering), served without validators: a 304 for a missing page would mean nothing.
fn not_found(snapshot: &Snapshot, headers: &HeaderMap) -> Response {
    let rendered = snapshot
        .rendered("html:404", |s| Some(render_not_found(s)))
        .expect("the 404 page always renders");
    let mut negotiation = HeaderMap::new();
    if let Some(accept) = headers.get(header::ACCEPT_ENCODING) {
        negotiation.insert(header::ACCEPT_ENCODING, accept.clone());
    }
    let mut response = respond(&rendered, &negotiation, Cors::SameOrigin);
    *response.status_mut() = StatusCode::NOT_FOUND;
    response.headers_mut().remove(header::ETAG);
    response
}

// ---------------------------------------------------------------------------------------------
// Static assets

static STYLESHEET: LazyLock<Rendered> = LazyLock::new(|| {
    Rendered::new(
        "text/css; charset=utf-8",
        include_bytes!("../../../assets/pharos.css").to_vec(),
    )
});

static SCRIPT: LazyLock<Rendered> = LazyLock::new(|| {
    Rendered::new(
        "text/javascript; charset=utf-8",
        include_bytes!("../../../assets/pharos.js").to_vec(),
    )
});

/// A short version of an asset's content, put in its URL so a new release is fetched at once
/// while an unchanged asset can be cached for a year.
fn version(asset: &Rendered) -> &str {
    asset.etag.trim_matches('"').get(..10).unwrap_or("0")
}

fn asset_url(path: &str, asset: &Rendered) -> String {
    format!("{path}?v={}", version(asset))
}

const THEME_PATH: &str = "/assets/theme.css";

/// The theme of a snapshot, rendered once per snapshot like the pages. Its URL is versioned by
/// its content as the static assets are, so a new accent colour is fetched at once.
fn theme_css(snapshot: &Snapshot) -> Arc<Rendered> {
    snapshot
        .rendered(THEME_PATH, |s| Some(render_theme(&s.state.page)))
        .expect("the theme always renders")
}

/// The page background of each scheme in `assets/pharos.css`, to judge the accent against.
const LIGHT_BACKGROUND: &str = "#ffffff";
const DARK_BACKGROUND: &str = "#0f1318";

/// The CSS of the page's accent colour: `--accent` for the header's accents, and
/// `--accent-text` (the link colour) only in the schemes where the colour keeps the 4.5:1
/// contrast text needs against the page background; elsewhere the stylesheet's own link
/// colour stays. Only a value that passes [`is_hex_colour`] is written, so nothing from the
/// snapshot file can inject CSS.
fn render_theme(page: &PageInfo) -> Rendered {
    let mut css = String::from(
        "/* Pharos theme (served at /assets/theme.css): the accent colour set by page.accent_color. */\n",
    );
    if let Some(accent) = page.accent_color.as_deref().filter(|c| is_hex_colour(c)) {
        let accent = accent.to_ascii_lowercase();
        let light = contrast(&accent, LIGHT_BACKGROUND) >= 4.5;
        let dark = contrast(&accent, DARK_BACKGROUND) >= 4.5;
        css.push_str(&format!(":root{{--accent:{accent}}}\n"));
        if light {
            css.push_str(&format!(":root{{--accent-text:{accent}}}\n"));
        }
        // `initial` makes the property invalid, so `var(--accent-text, ...)` falls back.
        match (light, dark) {
            (true, false) => {
                css.push_str("@media (prefers-color-scheme: dark){:root{--accent-text:initial}}\n")
            }
            (false, true) => css.push_str(&format!(
                "@media (prefers-color-scheme: dark){{:root{{--accent-text:{accent}}}}}\n"
            )),
            _ => {}
        }
    }
    Rendered::new("text/css; charset=utf-8", css.into_bytes())
}

/// WCAG's contrast ratio of two `#rrggbb` colours.
fn contrast(a: &str, b: &str) -> f64 {
    fn luminance(hex: &str) -> f64 {
        let channel = |i: usize| {
            let c = f64::from(u8::from_str_radix(&hex[i..i + 2], 16).unwrap_or(0)) / 255.0;
            if c <= 0.03928 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5)
    }
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

fn serve_asset(asset: &Rendered, uri: &Uri, headers: &HeaderMap) -> Response {
    let mut response = respond(asset, headers, Cors::SameOrigin);
    // Only the versioned URL is immutable; a bare one (an old page, a curious reader) keeps
    // the short default so it never sticks to an old release.
    let versioned = uri.query() == Some(&format!("v={}", version(asset)));
    if versioned {
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=31536000, immutable"),
        );
    }
    response
}

// ---------------------------------------------------------------------------------------------
// Display values shared by the templates

/// HTML produced by [`crate::markdown::to_html`], sanitised. The only value the templates
/// insert with `|safe` (a unit test checks that every `|safe` is on a `*_html` field of this
/// type).
pub struct Sanitized(String);

impl Sanitized {
    fn from_markdown(markdown: &str) -> Sanitized {
        Sanitized(crate::markdown::to_html(markdown))
    }
}

impl fmt::Display for Sanitized {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The page's overall status, with an active maintenance shown when nothing is worse (as
/// Statuspage's status indicator does).
fn banner(state: &PublicState) -> Badge {
    let overall = state.overall();
    let (class, label, glyph) = match overall.indicator {
        "none" => ("b-ok", overall.description, "✓"),
        "minor" => ("b-minor", overall.description, "!"),
        "major" => ("b-major", overall.description, "!"),
        "critical" => ("b-critical", overall.description, "✕"),
        _ => ("b-maint", overall.description, "⚙"),
    };
    Badge {
        label,
        class,
        glyph,
    }
}

/// What every page's frame shows.
struct Layout {
    page_name: String,
    title: String,
    description: String,
    canonical: String,
    /// "14:09 UTC" (or with the date when not today) when the database is unreachable and the
    /// page shows its last known state.
    stale: Option<When>,
    stale_today: bool,
    stylesheet: String,
    script: String,
    /// The theme's versioned URL, when an accent colour is configured.
    theme: Option<String>,
    /// Shown in the header instead of the name, with the name as its text alternative.
    logo_url: Option<String>,
    footer_links: Vec<FooterLink>,
    /// The page's custom footer text (`footer_text`), as sanitised HTML.
    footer_html: Option<Sanitized>,
    /// "UTC" or "the Europe/Berlin time zone", for readers without the script.
    zone: String,
    /// Which navigation entry is the current page ("status", "history", "vendors" or "").
    current: &'static str,
    /// Whether the navigation links `/vendors`.
    vendors: bool,
}

impl Layout {
    fn new(snapshot: &Snapshot, title: String, path: &str, current: &'static str) -> Layout {
        let state = &snapshot.state;
        let tz = state.page.tz();
        let stale = snapshot.stale_since.map(|_| When::new(state.built_at, tz));
        let stale_today = snapshot
            .stale_since
            .is_some_and(|since| local_date(since, tz) == local_date(state.built_at, tz));
        let theme = state
            .page
            .accent_color
            .as_deref()
            .is_some_and(is_hex_colour)
            .then(|| asset_url(THEME_PATH, &theme_css(snapshot)));
        Layout {
            page_name: state.page.name.clone(),
            description: format!(
                "Current status, incidents and uptime of {}.",
                state.page.name
            ),
            title,
            canonical: format!("{}{path}", state.page.url),
            stale,
            stale_today,
            stylesheet: asset_url("/assets/pharos.css", &STYLESHEET),
            script: asset_url("/assets/pharos.js", &SCRIPT),
            theme,
            logo_url: state.page.logo_url.clone().filter(|u| is_link_url(u)),
            footer_links: state
                .page
                .footer_links
                .iter()
                .filter(|l| is_link_url(&l.url) && !l.label.trim().is_empty())
                .cloned()
                .collect(),
            footer_html: state
                .page
                .footer_text
                .as_deref()
                .filter(|t| !t.trim().is_empty())
                .map(Sanitized::from_markdown),
            zone: zone_name(tz),
            current,
            vendors: state.page.vendors_public && state.vendors_followed,
        }
    }
}

/// The address trimmed, when it is an http(s) link: only those reach an `href`.
fn web_link(url: &str) -> Option<String> {
    let url = url.trim();
    let lower = url.to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://")).then(|| url.to_string())
}

/// How the footer names the zone the page's times are in.
fn zone_name(tz: Tz) -> String {
    match tz.name() {
        "UTC" | "Etc/UTC" => "UTC".into(),
        name => format!("the {name} time zone"),
    }
}

/// One entry of an incident's timeline.
struct UpdateView {
    label: &'static str,
    class: &'static str,
    body_html: Sanitized,
    when: When,
    /// "API: Operational → Major outage".
    changes: Vec<String>,
    edited: bool,
    postmortem: bool,
}

/// The timeline newest first, as Statuspage shows it: an update repeating the previous
/// status reads "Update"; a published postmortem comes first. A draft is never shown.
fn timeline(incident: &Incident, tz: Tz) -> Vec<UpdateView> {
    let mut out = Vec::with_capacity(incident.updates.len() + 1);
    if let Some(pm) = &incident.postmortem {
        if let Some(published) = pm.published_at {
            out.push(UpdateView {
                label: "Postmortem",
                class: "u-postmortem",
                body_html: Sanitized::from_markdown(&pm.body),
                when: When::new(published, tz),
                changes: Vec::new(),
                edited: false,
                postmortem: true,
            });
        }
    }
    out.extend((0..incident.updates.len()).map(|i| update_view(incident, i, tz)));
    out
}

/// The `index`-th update of an incident (newest first), as the timeline shows it.
fn update_view(incident: &Incident, index: usize, tz: Tz) -> UpdateView {
    let update = &incident.updates[index];
    let repeat = incident
        .updates
        .get(index + 1)
        .is_some_and(|older| older.status == update.status);
    UpdateView {
        label: if repeat {
            "Update"
        } else {
            incident_status_label(update.status)
        },
        class: if update.status.is_closed() {
            "u-resolved"
        } else {
            "u-open"
        },
        body_html: Sanitized::from_markdown(&update.body),
        when: When::new(update.created_at, tz),
        changes: update
            .affected_components
            .iter()
            .filter(|a| a.old_status != a.new_status)
            .map(|a| {
                format!(
                    "{}: {} → {}",
                    a.name,
                    component_badge(a.old_status).label,
                    component_badge(a.new_status).label
                )
            })
            .collect(),
        edited: update.edit_count > 0,
        postmortem: false,
    }
}

/// The components an incident or maintenance affects, as Statuspage lists them: grouped ones
/// under their group ("Core (API, Website)"), in page order.
fn affected_summary(state: &PublicState, ids: &[ComponentId]) -> Vec<String> {
    let mut out = Vec::new();
    let mut seen_groups = Vec::new();
    for component in state.components.iter().filter(|c| ids.contains(&c.id)) {
        match component.group_id {
            Some(gid) if !seen_groups.contains(&gid) => {
                seen_groups.push(gid);
                let members: Vec<&str> = state
                    .components
                    .iter()
                    .filter(|c| c.group_id == Some(gid) && ids.contains(&c.id))
                    .map(|c| c.name.as_str())
                    .collect();
                let group = state.group_name(component).unwrap_or("");
                out.push(format!("{group} ({})", members.join(", ")));
            }
            Some(_) => {}
            None => out.push(component.name.clone()),
        }
    }
    out
}

fn incident_component_ids(incident: &Incident) -> Vec<ComponentId> {
    let mut ids: Vec<ComponentId> = incident.components.iter().map(|c| c.component_id).collect();
    for update in &incident.updates {
        for affected in &update.affected_components {
            if !ids.contains(&affected.component_id) {
                ids.push(affected.component_id);
            }
        }
    }
    ids
}

fn find_incident<'a>(state: &'a PublicState, id: &str) -> Option<&'a Incident> {
    state
        .incidents
        .iter()
        .find(|i| i.short_id == id)
        .or_else(|| {
            let uuid = uuid::Uuid::parse_str(id).ok()?;
            state.incidents.iter().find(|i| i.id.0 == uuid)
        })
}

fn find_maintenance<'a>(state: &'a PublicState, id: &str) -> Option<&'a Maintenance> {
    state
        .maintenances
        .iter()
        .find(|m| m.short_id == id)
        .or_else(|| {
            let uuid = uuid::Uuid::parse_str(id).ok()?;
            state.maintenances.iter().find(|m| m.id.0 == uuid)
        })
}

fn incident_href(incident: &Incident) -> String {
    format!("/incidents/{}", incident.short_id)
}

fn render(template: &impl Template) -> Rendered {
    let body = template.render().unwrap_or_else(|err| {
        // Only a failing Display implementation can get here; none of ours fail.
        tracing::error!(error = %err, "cannot render a page");
        "<!doctype html><title>Error</title><p>This page could not be rendered.</p>".into()
    });
    Rendered::new(HTML, body.into_bytes())
}

// ---------------------------------------------------------------------------------------------
// `/`

#[derive(Template)]
#[template(path = "index.html", whitespace = "minimize")]
struct IndexPage {
    layout: Layout,
    banner: Badge,
    open_incidents: Vec<IncidentCard>,
    active_maintenances: Vec<MaintenanceCard>,
    upcoming_maintenances: Vec<MaintenanceCard>,
    sections: Vec<Section>,
    past_days: Vec<PastDay>,
}

/// An open incident at the top of the page.
struct IncidentCard {
    name: String,
    href: String,
    impact: Badge,
    affected: Vec<String>,
    started: When,
    latest: Option<UpdateView>,
    /// The whole timeline, newest first, behind a disclosure.
    updates: Vec<UpdateView>,
}

struct MaintenanceCard {
    name: String,
    status: &'static str,
    from: When,
    until: When,
    affected: Vec<String>,
    latest_html: Option<Sanitized>,
}

/// One entry of the components list: a group with its components, or a component on its own.
struct Section {
    group: Option<GroupView>,
    component: Option<ComponentView>,
}

struct GroupView {
    name: String,
    description: Option<String>,
    status: Badge,
    components: Vec<ComponentView>,
}

struct ComponentView {
    name: String,
    description: Option<String>,
    status: Badge,
    bar: Option<UptimeBar>,
    /// Monitored components: when a monitor last checked it.
    checked: Option<Checked>,
    /// "Upstream: GitHub — Actions: Partial outage", for vendor dependencies in trouble.
    upstream: Vec<Upstream>,
}

/// One vendor dependency in trouble, linked to the vendor's page.
struct Upstream {
    href: String,
    text: String,
}

/// "Checked 2 minutes ago", relative to the snapshot; the script refreshes it on load.
struct Checked {
    iso: String,
    text: String,
    /// "by 2 monitors", when more than one.
    monitors: u32,
    /// The monitors' public pages, as (href, name).
    monitor_links: Vec<(String, String)>,
}

struct PastDay {
    date: String,
    iso: String,
    incidents: Vec<PastIncident>,
}

struct PastIncident {
    name: String,
    href: String,
    impact: Badge,
    /// The latest update; a published postmortem is linked rather than shown in full.
    latest: Option<UpdateView>,
    has_postmortem: bool,
}

fn render_index(snapshot: &Snapshot) -> Rendered {
    let state = &snapshot.state;
    let page = IndexPage {
        layout: Layout::new(snapshot, state.page.name.clone(), "/", "status"),
        banner: banner(state),
        open_incidents: state
            .unresolved_incidents()
            .map(|i| incident_card(state, i))
            .collect(),
        active_maintenances: state
            .active_maintenances()
            .map(|m| maintenance_card(state, m))
            .collect(),
        upcoming_maintenances: state
            .upcoming_maintenances()
            .map(|m| maintenance_card(state, m))
            .collect(),
        sections: sections(state),
        past_days: past_days(state),
    };
    render(&page)
}

fn incident_card(state: &PublicState, incident: &Incident) -> IncidentCard {
    let tz = state.page.tz();
    let mut updates = timeline(incident, tz);
    let latest = if updates.is_empty() {
        None
    } else {
        Some(updates.remove(0))
    };
    IncidentCard {
        name: incident.name.clone(),
        href: incident_href(incident),
        impact: impact_badge(incident.impact),
        affected: affected_summary(state, &incident_component_ids(incident)),
        started: When::new(incident.started_at, tz),
        latest,
        updates,
    }
}

fn maintenance_card(state: &PublicState, m: &Maintenance) -> MaintenanceCard {
    let tz = state.page.tz();
    MaintenanceCard {
        name: m.name.clone(),
        status: maintenance_status_label(m.status),
        from: When::new(m.scheduled_for, tz),
        until: When::new(m.scheduled_until, tz),
        affected: affected_summary(state, &m.component_ids),
        latest_html: m
            .updates
            .first()
            .filter(|u| !u.body.trim().is_empty())
            .map(|u| Sanitized::from_markdown(&u.body)),
    }
}

/// Groups and ungrouped components in position order (as `/api/v2/components.json` lists
/// them). A component marked "only show if degraded" is left out while operational, and a
/// group left with nothing to show is left out too.
fn sections(state: &PublicState) -> Vec<Section> {
    enum Entry<'a> {
        Group(&'a ComponentGroup),
        Loose(&'a Component),
    }
    let visible =
        |c: &Component| !(c.only_show_if_degraded && c.status == ComponentStatus::Operational);
    let incidents = IncidentIndex::new(state);
    let mut top: Vec<(i64, Entry)> = state
        .groups
        .iter()
        .map(|g| (g.position, Entry::Group(g)))
        .chain(
            state
                .components
                .iter()
                .filter(|c| c.group_id.is_none())
                .map(|c| (c.position, Entry::Loose(c))),
        )
        .collect();
    top.sort_by_key(|(position, _)| *position);
    top.into_iter()
        .filter_map(|(_, entry)| match entry {
            Entry::Group(g) => {
                let components: Vec<ComponentView> = state
                    .components
                    .iter()
                    .filter(|c| c.group_id == Some(g.id) && visible(c))
                    .map(|c| component_view(state, &incidents, c))
                    .collect();
                (!components.is_empty()).then(|| Section {
                    group: Some(GroupView {
                        name: g.name.clone(),
                        description: g.description.clone().filter(|d| !d.trim().is_empty()),
                        status: component_badge(state.group_status(g)),
                        components,
                    }),
                    component: None,
                })
            }
            Entry::Loose(c) => visible(c).then(|| Section {
                group: None,
                component: Some(component_view(state, &incidents, c)),
            }),
        })
        .collect()
}

fn component_view(state: &PublicState, incidents: &IncidentIndex, c: &Component) -> ComponentView {
    ComponentView {
        name: c.name.clone(),
        description: c.description.clone().filter(|d| !d.trim().is_empty()),
        status: component_badge(c.status),
        // Statuspage's `showcase` is the switch for showing a component's uptime.
        bar: c.showcase.then(|| uptime_bar(state, incidents, c)),
        checked: state.checks.get(&c.id).map(|checks| Checked {
            iso: checks
                .last_checked_at
                .map(|at| at.to_db())
                .unwrap_or_default(),
            text: match checks.last_checked_at {
                Some(at) => format!("Checked {}", text::ago_text(state.built_at.0 - at.0)),
                None => "Not checked yet".into(),
            },
            monitors: checks.monitors,
            monitor_links: checks
                .monitor_refs
                .iter()
                .map(|m| (format!("/monitors/{}", m.id), m.name.clone()))
                .collect(),
        }),
        upstream: state
            .upstream
            .get(&c.id)
            .map(|problems| {
                problems
                    .iter()
                    .map(|p| Upstream {
                        href: format!("/vendors/{}", p.vendor_slug),
                        text: format!(
                            "{} — {}: {}",
                            p.vendor_name,
                            p.vendor_component,
                            component_badge(p.status).label
                        ),
                    })
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// The last [`PAST_DAYS`] days (in the page's zone), newest first, each with the incidents that
/// began on it.
fn past_days(state: &PublicState) -> Vec<PastDay> {
    let tz = state.page.tz();
    let today = local_date(state.built_at, tz);
    (0..PAST_DAYS)
        .map(|back| {
            let date = today - Duration::days(back);
            PastDay {
                date: day_text(date),
                iso: date.format("%Y-%m-%d").to_string(),
                incidents: state
                    .incidents
                    .iter()
                    .filter(|i| local_date(i.started_at, tz) == date)
                    .map(|i| PastIncident {
                        name: i.name.clone(),
                        href: incident_href(i),
                        impact: impact_badge(i.impact),
                        latest: (!i.updates.is_empty()).then(|| update_view(i, 0, tz)),
                        has_postmortem: i
                            .postmortem
                            .as_ref()
                            .is_some_and(|p| p.published_at.is_some()),
                    })
                    .collect(),
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// `/incidents/{id}`

#[derive(Template)]
#[template(path = "incident.html", whitespace = "minimize")]
struct IncidentPage {
    layout: Layout,
    name: String,
    impact: Badge,
    status: &'static str,
    resolved_state: bool,
    started: When,
    resolved: Option<When>,
    duration: String,
    source: SourceView,
    affected: Vec<String>,
    timeline: Vec<UpdateView>,
}

/// Where the incident came from, as the page words it.
struct SourceView {
    kind: &'static str,
    /// For a monitor: when it detected the problem.
    detected: Option<When>,
    /// For a vendor: its own page about the incident, when the reference is a web address.
    link: Option<String>,
}

fn render_incident(snapshot: &Snapshot, short_id: &str) -> Option<Rendered> {
    let incident = snapshot
        .state
        .incidents
        .iter()
        .find(|i| i.short_id == short_id)?;
    Some(render_incident_page(snapshot, incident))
}

/// The page of `incident`, from the snapshot or (an old one) from the store.
fn render_incident_page(snapshot: &Snapshot, incident: &Incident) -> Rendered {
    let state = &snapshot.state;
    let tz = state.page.tz();
    let end = incident.resolved_at.unwrap_or(state.built_at);
    let source = match incident.source.kind {
        SourceKind::Monitor => SourceView {
            kind: "monitor",
            detected: Some(When::new(incident.started_at, tz)),
            link: None,
        },
        SourceKind::Vendor => SourceView {
            kind: "vendor",
            detected: None,
            link: incident.source.reference.as_deref().and_then(web_link),
        },
        SourceKind::Manual => SourceView {
            kind: "manual",
            detected: None,
            link: None,
        },
    };
    let page = IncidentPage {
        layout: Layout::new(
            snapshot,
            format!("{} · {}", incident.name, state.page.name),
            &incident_href(incident),
            "",
        ),
        name: incident.name.clone(),
        impact: impact_badge(incident.impact),
        status: incident_status_label(incident.status),
        resolved_state: incident.status.is_closed(),
        started: When::new(incident.started_at, tz),
        resolved: incident.resolved_at.map(|t| When::new(t, tz)),
        duration: human_duration(end.0 - incident.started_at.0),
        source,
        affected: affected_summary(state, &incident_component_ids(incident)),
        timeline: timeline(incident, tz),
    };
    render(&page)
}

/// A maintenance on the incident page's layout: its window, components and timeline.
fn render_maintenance(snapshot: &Snapshot, short_id: &str) -> Option<Rendered> {
    let m = snapshot
        .state
        .maintenances
        .iter()
        .find(|m| m.short_id == short_id)?;
    Some(render_maintenance_page(snapshot, m))
}

/// The page of maintenance `m`, from the snapshot or (an old one) from the store.
fn render_maintenance_page(snapshot: &Snapshot, m: &Maintenance) -> Rendered {
    let state = &snapshot.state;
    let tz = state.page.tz();
    let completed = m.status == crate::domain::MaintenanceStatus::Completed;
    let page = IncidentPage {
        layout: Layout::new(
            snapshot,
            format!("{} · {}", m.name, state.page.name),
            &format!("/incidents/{}", m.short_id),
            "",
        ),
        name: m.name.clone(),
        impact: Badge {
            label: "Maintenance",
            class: "b-maint",
            glyph: "⚙",
        },
        status: maintenance_status_label(m.status),
        resolved_state: completed,
        started: When::new(m.started_at.unwrap_or(m.scheduled_for), tz),
        resolved: m.completed_at.map(|t| When::new(t, tz)),
        duration: human_duration(
            m.completed_at.unwrap_or(m.scheduled_until).0
                - m.started_at.unwrap_or(m.scheduled_for).0,
        ),
        source: SourceView {
            kind: "manual",
            detected: None,
            link: None,
        },
        affected: affected_summary(state, &m.component_ids),
        timeline: m
            .updates
            .iter()
            .map(|u| UpdateView {
                label: maintenance_status_label(u.status),
                class: if u.status == crate::domain::MaintenanceStatus::Completed {
                    "u-resolved"
                } else {
                    "u-open"
                },
                body_html: Sanitized::from_markdown(&u.body),
                when: When::new(u.created_at, tz),
                changes: Vec::new(),
                edited: false,
                postmortem: false,
            })
            .collect(),
    };
    render(&page)
}

#[derive(Template)]
#[template(path = "not_found.html", whitespace = "minimize")]
struct NotFoundPage {
    layout: Layout,
}

fn render_not_found(snapshot: &Snapshot) -> Rendered {
    let title = format!("Not found · {}", snapshot.state.page.name);
    render(&NotFoundPage {
        layout: Layout::new(snapshot, title, "/", ""),
    })
}

// ---------------------------------------------------------------------------------------------
// `/embed`

#[derive(Template)]
#[template(path = "embed.html", whitespace = "minimize")]
struct EmbedPage {
    layout: Layout,
    banner: Badge,
    page_url: String,
    open_incidents: Vec<EmbedItem>,
    maintenances: Vec<EmbedItem>,
}

struct EmbedItem {
    name: String,
    href: String,
    class: &'static str,
}

fn render_embed(snapshot: &Snapshot) -> Rendered {
    let state = &snapshot.state;
    let page = EmbedPage {
        layout: Layout::new(snapshot, state.page.name.clone(), "/embed", ""),
        banner: banner(state),
        // Links leave the frame for the full page, so they must be absolute.
        page_url: format!("{}/", state.page.url),
        open_incidents: state
            .unresolved_incidents()
            .map(|i| EmbedItem {
                name: i.name.clone(),
                href: format!("{}{}", state.page.url, incident_href(i)),
                class: impact_badge(i.impact).class,
            })
            .collect(),
        maintenances: state
            .active_maintenances()
            .map(|m| EmbedItem {
                name: m.name.clone(),
                href: format!("{}/", state.page.url),
                class: "i-maint",
            })
            .collect(),
    };
    render(&page)
}

#[cfg(test)]
mod tests {
    use super::text::uptime_text;
    use super::*;
    use crate::domain::{IncidentImpact, IncidentStatus, Timestamp};

    mod fixture {
        //! Hand-built snapshots, for what the management API cannot set up (monitor and vendor
        //! sources, a stale snapshot, history spanning months).
        use super::*;
        use crate::domain::model::{IncidentComponent, IncidentSource, IncidentUpdate, Postmortem};
        use crate::domain::{ComponentGroupId, IncidentId, IncidentUpdateId, ManagedBy};
        use crate::snapshot::uptime::{self, ComponentUptime};
        use crate::snapshot::PageInfo;
        use std::sync::Arc;

        pub fn ts(s: &str) -> Timestamp {
            Timestamp::parse(s).unwrap()
        }

        pub fn state(now: &str) -> PublicState {
            PublicState::empty(
                PageInfo {
                    id: "abc".into(),
                    name: "Acme Status".into(),
                    url: "https://status.example.com".into(),
                    time_zone: "UTC".into(),
                    logo_url: None,
                    accent_color: None,
                    footer_links: Vec::new(),
                    footer_text: None,
                    vendors_public: true,
                    updated_at: None,
                },
                ts(now),
            )
        }

        pub fn group(state: &mut PublicState, name: &str) -> ComponentGroupId {
            let id = ComponentGroupId::new();
            state.groups.push(ComponentGroup {
                id,
                name: name.into(),
                description: None,
                position: state.groups.len() as i64,
                managed_by: ManagedBy::Api,
                config_key: None,
                created_at: state.built_at,
                updated_at: state.built_at,
            });
            id
        }

        pub fn component(
            state: &mut PublicState,
            name: &str,
            group: Option<ComponentGroupId>,
            status: ComponentStatus,
            uptime: ComponentUptime,
        ) -> ComponentId {
            let id = ComponentId::new();
            state.components.push(Component {
                id,
                name: name.into(),
                description: None,
                group_id: group,
                position: state.components.len() as i64,
                status,
                base_status: status,
                status_pinned: false,
                showcase: true,
                only_show_if_degraded: false,
                start_date: None,
                managed_by: ManagedBy::Api,
                config_key: None,
                created_at: state.built_at,
                updated_at: state.built_at,
            });
            state.uptime.insert(id, uptime);
            id
        }

        /// 90 days of history from the real computation: operational since `since`, with the
        /// given outages.
        pub fn uptime_history(
            since: &str,
            changes: &[(&str, ComponentStatus)],
            now: &str,
        ) -> ComponentUptime {
            let mut all = vec![crate::domain::model::ComponentStatusChange {
                component_id: ComponentId::new(),
                from: None,
                to: ComponentStatus::Operational,
                at: ts(since),
            }];
            all.extend(changes.iter().map(|(at, to)| {
                crate::domain::model::ComponentStatusChange {
                    component_id: ComponentId::new(),
                    from: None,
                    to: *to,
                    at: ts(at),
                }
            }));
            uptime::compute(&all, None, ts(now), chrono_tz::UTC)
        }

        pub fn make_incident(
            name: &str,
            started: &str,
            resolved: Option<&str>,
            components: &[ComponentId],
            source: IncidentSource,
            updates: &[(IncidentStatus, &str, &str)],
        ) -> Incident {
            Incident {
                id: IncidentId::new(),
                short_id: name.to_ascii_lowercase().replace(' ', ""),
                name: name.into(),
                status: if resolved.is_some() {
                    IncidentStatus::Resolved
                } else {
                    IncidentStatus::Investigating
                },
                impact: IncidentImpact::Critical,
                source,
                started_at: ts(started),
                monitoring_at: None,
                resolved_at: resolved.map(ts),
                components: components
                    .iter()
                    .map(|c| IncidentComponent {
                        component_id: *c,
                        status: Some(ComponentStatus::MajorOutage),
                    })
                    .collect(),
                // Newest first, as the store returns them.
                updates: updates
                    .iter()
                    .rev()
                    .map(|(status, body, at)| IncidentUpdate {
                        id: IncidentUpdateId::new(),
                        status: *status,
                        body: body.to_string(),
                        affected_components: Vec::new(),
                        created_at: ts(at),
                        updated_at: ts(at),
                        edit_count: 0,
                    })
                    .collect(),
                postmortem: None,
                created_at: ts(started),
                updated_at: ts(started),
            }
        }

        pub fn manual() -> IncidentSource {
            IncidentSource {
                kind: SourceKind::Manual,
                reference: None,
            }
        }

        pub fn source(kind: SourceKind, reference: Option<&str>) -> IncidentSource {
            IncidentSource {
                kind,
                reference: reference.map(str::to_string),
            }
        }

        pub fn draft(body: &str, at: &str) -> Option<Postmortem> {
            Some(Postmortem {
                body: body.into(),
                published_at: None,
                updated_at: ts(at),
            })
        }

        pub fn snapshot(state: PublicState, stale_since: Option<&str>) -> Snapshot {
            Snapshot::new(Arc::new(state), stale_since.map(ts))
        }

        pub fn text(rendered: &Rendered) -> String {
            String::from_utf8(rendered.body.to_vec()).unwrap()
        }
    }

    use fixture::*;

    #[test]
    fn the_status_page_shows_bars_uptime_and_hides_quiet_optional_components() {
        let now = "2026-11-28T12:00:00Z";
        let mut state = state(now);
        let core = group(&mut state, "Core");
        let outage = uptime_history(
            "2026-01-01T00:00:00Z",
            &[
                ("2026-11-26T10:00:00Z", ComponentStatus::MajorOutage),
                ("2026-11-26T10:30:00Z", ComponentStatus::Operational),
            ],
            now,
        );
        let api = component(
            &mut state,
            "API",
            Some(core),
            ComponentStatus::Operational,
            outage,
        );
        let quiet = uptime_history("2026-11-27T00:00:00Z", &[], now);
        component(
            &mut state,
            "Cache",
            None,
            ComponentStatus::Operational,
            quiet.clone(),
        );
        state.components[1].only_show_if_degraded = true;
        component(
            &mut state,
            "Search",
            None,
            ComponentStatus::DegradedPerformance,
            quiet,
        );
        state.components[2].only_show_if_degraded = true;
        state.incidents.push(make_incident(
            "Outage",
            "2026-11-26T10:00:00Z",
            Some("2026-11-26T10:30:00Z"),
            &[api],
            manual(),
            &[(
                IncidentStatus::Investigating,
                "Looking.",
                "2026-11-26T10:00:00Z",
            )],
        ));
        let html = text(&render_index(&snapshot(state, None)));

        assert!(
            !html.contains("Cache"),
            "operational and only shown if degraded"
        );
        assert!(html.contains("Search"), "degraded, so shown");
        assert!(html.contains("Partially Degraded Service"), "{html}");
        assert!(!html.contains("Status as of"), "a fresh snapshot");
        assert_eq!(html.matches("<svg class=\"bar\"").count(), 2);
        assert_eq!(html.matches("<rect ").count(), 180);
        let expected = 100.0 * (1.0 - 1800.0 / (89.5 * 86400.0));
        assert!(html.contains(&uptime_text(Some(expected))), "{html}");
        assert!(html.contains("99.97 % uptime"), "{html}");
        assert!(html.contains("100.0 % uptime"), "{html}");
        assert!(
            html.contains(
                "<title>Nov 26, 2026: Major outage for 30 min. Incidents: Outage.</title>"
            ),
            "{html}"
        );
        assert!(html.contains("<title>Aug 31, 2026: no downtime recorded.</title>"));
        assert!(
            html.contains("<title>Nov 26, 2026: no data.</title>"),
            "{html}"
        );
        // The past incidents list the outage on its day and say the other days were quiet.
        assert_eq!(html.matches("No incidents reported.").count(), 13);
        let day = html.find("Nov 26, 2026</time></h3>").unwrap();
        assert!(html[day..].find("Outage").unwrap() < html[day..].find("Nov 25, 2026").unwrap());
    }

    #[test]
    fn maintenance_in_progress_shows_in_the_banner_and_upcoming_below() {
        use crate::domain::model::{Maintenance, MaintenanceUpdate};
        use crate::domain::{MaintenanceId, MaintenanceStatus};
        let now = "2026-11-28T12:00:00Z";
        let mut state = state(now);
        let db = component(
            &mut state,
            "Database",
            None,
            ComponentStatus::Operational,
            uptime_history("2026-11-01T00:00:00Z", &[], now),
        );
        let window = |name: &str, status, from: &str, until: &str| Maintenance {
            id: MaintenanceId::new(),
            short_id: name.to_ascii_lowercase(),
            name: name.into(),
            status,
            scheduled_for: ts(from),
            scheduled_until: ts(until),
            auto_transition: true,
            component_ids: vec![db],
            updates: vec![MaintenanceUpdate {
                id: crate::domain::IncidentUpdateId::new(),
                status,
                body: format!("{name} of the **primary**."),
                created_at: ts(from),
            }],
            started_at: None,
            completed_at: None,
            cancelled_at: None,
            created_at: ts(from),
            updated_at: ts(from),
        };
        state.maintenances.push(window(
            "Upgrade",
            MaintenanceStatus::InProgress,
            "2026-11-28T11:00:00Z",
            "2026-11-28T13:00:00Z",
        ));
        state.maintenances.push(window(
            "Failover",
            MaintenanceStatus::Scheduled,
            "2026-12-02T11:00:00Z",
            "2026-12-02T13:00:00Z",
        ));
        let html = text(&render_index(&snapshot(state, None)));
        assert!(html.contains("Service Under Maintenance"), "{html}");
        assert!(html.contains("class=\"banner b-maint\""), "{html}");
        let upgrade = html.find("<h3>Upgrade</h3>").unwrap();
        let failover = html.find("<h3>Failover</h3>").unwrap();
        assert!(upgrade < failover, "in progress before upcoming");
        assert!(html[upgrade..failover].contains("In progress"));
        assert!(html[failover..].contains("Scheduled"));
        assert!(html.contains("Upgrade of the <strong>primary</strong>."));
        assert!(
            html.contains(">Dec 02, 2026 - 11:00 UTC</time> to <time"),
            "{html}"
        );
        assert!(html.contains("Affects: Database"));
        let embed = text(&render_embed(&snapshot(
            {
                let mut s = fixture::state(now);
                s.maintenances.push(window(
                    "Upgrade",
                    MaintenanceStatus::InProgress,
                    "2026-11-28T11:00:00Z",
                    "2026-11-28T13:00:00Z",
                ));
                s
            },
            None,
        )));
        assert!(embed.contains("Maintenance: Upgrade"), "{embed}");
    }

    #[test]
    fn a_stale_snapshot_says_as_of_when() {
        let mut state = state("2026-11-28T14:09:30Z");
        component(
            &mut state,
            "API",
            None,
            ComponentStatus::Operational,
            uptime_history("2026-11-01T00:00:00Z", &[], "2026-11-28T14:09:30Z"),
        );
        let html = text(&render_index(&snapshot(
            state.clone(),
            Some("2026-11-28T14:15:00Z"),
        )));
        assert!(
            html.contains("Status as of <time datetime=\"2026-11-28T14:09:30Z\" data-local=\"time\">14:09 UTC</time>."),
            "{html}"
        );
        // Stale since another day: the date is part of it.
        let html = text(&render_index(&snapshot(
            state,
            Some("2026-11-30T08:00:00Z"),
        )));
        assert!(html.contains(">Nov 28, 2026 - 14:09 UTC</time>."), "{html}");
        let embed = text(&render_embed(&snapshot(
            fixture::state("2026-11-28T14:09:30Z"),
            Some("2026-11-28T14:15:00Z"),
        )));
        assert!(embed.contains("as of Nov 28, 2026 - 14:09 UTC"), "{embed}");
    }

    #[test]
    fn the_incident_page_says_where_an_incident_came_from() {
        let now = "2026-03-31T12:00:00Z";
        let mut kalix = make_incident(
            "API Down",
            "2021-03-22T19:22:00Z",
            Some("2021-03-31T00:44:00Z"),
            &[],
            source(
                SourceKind::Monitor,
                Some("0190b6f2-0000-7000-8000-000000000000"),
            ),
            &[
                (
                    IncidentStatus::Investigating,
                    "The API is down.",
                    "2021-03-22T19:22:00Z",
                ),
                (
                    IncidentStatus::Investigating,
                    "Still looking.",
                    "2021-03-22T19:23:00Z",
                ),
                (IncidentStatus::Resolved, "Stable.", "2021-03-31T00:44:00Z"),
            ],
        );
        kalix.postmortem = draft("Secret draft", "2021-04-01T00:00:00Z");
        let mut state = state(now);
        state.incidents.push(kalix.clone());
        let vendor = |reference| {
            let mut i = kalix.clone();
            i.short_id = "vendor".into();
            i.source = source(SourceKind::Vendor, reference);
            i
        };
        state
            .incidents
            .push(vendor(Some("https://status.vendor.example/incidents/x1")));
        let snapshot = snapshot(state, None);

        let html = text(&render_incident(&snapshot, "apidown").unwrap());
        assert!(
            html.contains("Detected by Pharos at <time datetime=\"2021-03-22T19:22:00Z\" data-local=\"time\">19:22 UTC</time>"),
            "{html}"
        );
        assert!(html.contains("<dd>8d 5h</dd>"), "{html}");
        assert!(html.contains(">Mar 22, 2021 - 19:22 UTC</time>"), "{html}");
        assert!(html.contains(">Mar 31, 2021 - 00:44 UTC</time>"), "{html}");
        assert!(
            !html.contains("Secret draft"),
            "a draft postmortem stays private"
        );
        let labels: Vec<usize> = [
            "<strong>Resolved</strong>",
            "<strong>Update</strong>",
            "<strong>Investigating</strong>",
        ]
        .iter()
        .map(|l| html.find(l).unwrap_or_else(|| panic!("{l}: {html}")))
        .collect();
        assert!(labels.windows(2).all(|w| w[0] < w[1]), "{labels:?}");

        let html = text(&render_incident(&snapshot, "vendor").unwrap());
        assert!(
            html.contains("Reported by the vendor — <a href=\"https://status.vendor.example/incidents/x1\" rel=\"noopener noreferrer nofollow\">view vendor source</a>"),
            "{html}"
        );

        // A vendor reference that is not a web address is not linked.
        let mut state = fixture::state(now);
        state.incidents.push(vendor(Some("javascript:alert(1)")));
        let html = text(&render_incident(&fixture::snapshot(state, None), "vendor").unwrap());
        assert!(html.contains("Reported by the vendor"), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
        assert!(render_incident(&fixture::snapshot(fixture::state(now), None), "vendor").is_none());
    }

    #[test]
    fn history_shows_the_months_the_snapshot_holds_in_full_and_links_older_ones() {
        // Built on November 28th: the snapshot holds every incident since August 31st, so
        // September to November in full; August and before have their own pages.
        let now = "2026-11-28T12:00:00Z";
        let mut state = state(now);
        for (name, started) in [
            ("November one", "2026-11-02T10:00:00Z"),
            ("August one", "2026-08-15T10:00:00Z"),
            ("Last year", "2025-12-31T23:00:00Z"),
        ] {
            state.incidents.push(make_incident(
                name,
                started,
                Some("2026-08-20T11:00:00Z").filter(|_| name != "November one"),
                &[],
                manual(),
                &[(IncidentStatus::Investigating, "Looking.", started)],
            ));
        }
        let html = text(&history::render_history(&snapshot(state.clone(), None)));
        assert!(html.contains("<h2>November 2026</h2>"), "{html}");
        assert!(html.contains("ongoing, 26d 2h so far"), "{html}");
        assert!(html.contains("<h2>September – October 2026</h2>"), "{html}");
        assert!(!html.contains("August one"), "{html}");
        assert!(!html.contains("<h2>August 2026</h2>"), "{html}");
        assert!(
            html.contains("<a href=\"/history/2026-08\" rel=\"prev\">Earlier: August 2026</a>"),
            "{html}"
        );

        // With nothing before September (and the snapshot holding everything), no link.
        state.incidents.retain(|i| i.name == "November one");
        let html = text(&history::render_history(&snapshot(state, None)));
        assert!(!html.contains("/history/2026-08"), "{html}");
    }

    #[test]
    fn the_theme_sets_the_accent_and_keeps_links_readable() {
        let page = |accent: Option<&str>| {
            let mut page = fixture::state("2026-11-28T12:00:00Z").page;
            page.accent_color = accent.map(str::to_string);
            text(&render_theme(&page))
        };
        // Dark enough for the light scheme only: links take it there, not on the dark page.
        let navy = page(Some("#0b3d91"));
        assert!(navy.contains(":root{--accent:#0b3d91}"), "{navy}");
        assert!(navy.contains(":root{--accent-text:#0b3d91}"), "{navy}");
        assert!(
            navy.contains("@media (prefers-color-scheme: dark){:root{--accent-text:initial}}"),
            "{navy}"
        );
        // Light enough for the dark scheme only.
        let yellow = page(Some("#FFD700"));
        assert!(yellow.contains(":root{--accent:#ffd700}"), "{yellow}");
        assert!(
            !yellow.contains(":root{--accent-text:#ffd700}\n"),
            "{yellow}"
        );
        assert!(
            yellow.contains("@media (prefers-color-scheme: dark){:root{--accent-text:#ffd700}}"),
            "{yellow}"
        );
        // Mid-grey passes neither: only the header accent.
        let grey = page(Some("#777777"));
        assert!(grey.contains(":root{--accent:#777777}"), "{grey}");
        assert!(!grey.contains("--accent-text"), "{grey}");
        // No colour, or one that is not a colour (a hand-edited snapshot file): no rules.
        for css in [page(None), page(Some("red;}body{display:none"))] {
            assert!(!css.contains(":root"), "{css}");
        }
        assert!((contrast("#000000", "#ffffff") - 21.0).abs() < 0.01);
    }

    #[test]
    fn the_frame_shows_the_logo_footer_links_theme_and_zone() {
        let now = "2026-11-28T03:30:00Z";
        let mut state = state(now);
        state.page.name = "Acme & Co".into();
        state.page.time_zone = "America/Los_Angeles".into();
        state.page.logo_url = Some("/static/logo.svg?a=1&b=2".into());
        state.page.accent_color = Some("#0b3d91".into());
        state.page.footer_links = vec![
            FooterLink {
                label: "Terms <& \"Privacy\">".into(),
                url: "https://www.example.com/legal?x=1&y=2".into(),
            },
            // Refused when rendering too, should a snapshot file carry it.
            FooterLink {
                label: "Evil".into(),
                url: "javascript:alert(1)".into(),
            },
        ];
        // 03:00 UTC on Nov 28 is 19:00 on Nov 27 in Los Angeles.
        state.incidents.push(make_incident(
            "Late outage",
            "2026-11-28T03:00:00Z",
            None,
            &[],
            manual(),
            &[(
                IncidentStatus::Investigating,
                "Looking.",
                "2026-11-28T03:00:00Z",
            )],
        ));
        let snapshot = snapshot(state, None);
        let html = text(&render_index(&snapshot));
        assert!(
            html.contains(
                "<img class=\"logo\" src=\"/static/logo.svg?a=1&#38;b=2\" alt=\"Acme &#38; Co\">"
            ),
            "{html}"
        );
        assert!(
            html.contains("<a href=\"https://www.example.com/legal?x=1&#38;y=2\">Terms &#60;&#38; &#34;Privacy&#34;&#62;</a>"),
            "{html}"
        );
        assert!(!html.contains("javascript:"), "{html}");
        let theme = format!("/assets/theme.css?v={}", version(&theme_css(&snapshot)));
        assert!(
            html.contains(&format!("<link rel=\"stylesheet\" href=\"{theme}\">")),
            "{html}"
        );
        assert!(!html.contains("<style"), "no inline style");
        assert!(!html.contains("style=\""), "no inline style");
        assert!(
            html.contains("Times are shown in the America/Los_Angeles time zone."),
            "{html}"
        );
        assert!(html.contains(">Nov 27, 2026 - 19:00 PST</time>"), "{html}");
        assert!(
            html.contains("datetime=\"2026-11-28T03:00:00Z\""),
            "machine times stay UTC"
        );
        // Today is Nov 27 in Los Angeles, and the incident is listed under it.
        let today = html
            .find("<time datetime=\"2026-11-27\">Nov 27, 2026</time>")
            .expect("Nov 27 is today");
        let day = &html[today..html[today..].find("</div>").unwrap() + today];
        assert!(day.contains(">Late outage</a>"), "{day}");
        assert!(
            !html.contains("datetime=\"2026-11-28\""),
            "Nov 28 has not begun there"
        );

        // The embed takes the theme too; without branding, none of it shows.
        let embed = text(&render_embed(&snapshot));
        assert!(embed.contains(&theme), "{embed}");
        let plain = text(&render_index(&fixture::snapshot(fixture::state(now), None)));
        for absent in ["theme.css", "class=\"logo\"", "footer-links"] {
            assert!(!plain.contains(absent), "{absent}: {plain}");
        }
        assert!(plain.contains("Times are shown in UTC."));
        assert!(plain.contains("<a class=\"brand\" href=\"/\">Acme Status</a>"));
    }

    /// The templates insert unescaped HTML only from [`Sanitized`] fields, which are all named
    /// `*_html`; anything else marked `|safe` would be a hole.
    #[test]
    fn only_sanitised_markdown_is_inserted_unescaped() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/templates");
        let mut checked = 0;
        // The templates and those of their subfolders (`admin/`).
        let mut paths: Vec<std::path::PathBuf> = Vec::new();
        let mut folders = vec![std::path::PathBuf::from(dir)];
        while let Some(folder) = folders.pop() {
            for entry in std::fs::read_dir(folder).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    folders.push(path);
                } else {
                    paths.push(path);
                }
            }
        }
        for path in paths {
            let text = std::fs::read_to_string(&path).unwrap();
            for (at, _) in text.match_indices("|safe") {
                let before = &text[..at];
                let expr = before
                    .rsplit(|c: char| c == '{' || c.is_whitespace())
                    .next()
                    .unwrap_or("");
                assert!(
                    expr.ends_with("_html"),
                    "{}: `{expr}|safe` is not sanitised Markdown",
                    path.display()
                );
                checked += 1;
            }
            assert!(!text.contains("|escape(\"none\")"), "{}", path.display());
        }
        assert!(checked > 0, "the templates show Markdown somewhere");
    }
}
