//! The vendor pages: `/vendors` (followed vendors, their status, when last checked),
//! `/vendors/{slug}` (components; incidents and maintenances of the last 30 days),
//! `/vendors/{slug}/incidents/{id}` (one incident: impact, status, started, resolved,
//! duration, "Detected by Pharos" with the first-seen time, the vendor's source, affected
//! components and the whole timeline) and `/vendors/{slug}/history.atom`.
//!
//! Unlike the status page, these are read from the database, but at most once per
//! [`FRESH_FOR`] per page: a rendered page is kept and served to everyone meanwhile, so a
//! spike of readers costs one read per page every few seconds. While the database is away the
//! last rendering is served as it is. With `[vendors] public = false` every vendor page is a
//! 404 (the admin UI, when it exists, shows them to signed-in users).
//!
//! Vendor texts are plain text (adapters turn HTML into text) and are escaped by askama.

use super::text::{
    component_badge, impact_badge, incident_status_label, maintenance_status_label, Badge, When,
};
use super::{not_found, render, web_link, Layout};
use crate::domain::{ComponentStatus, Timestamp};
use crate::http::extract::Headers;
use crate::http::public::feeds::xml_escape;
use crate::http::public::{respond, Cors};
use crate::http::AppState;
use crate::snapshot::{Rendered, Snapshot};
use crate::store::StoreError;
use crate::vendor::record::{
    RecordKind, RecordStatus, SourceState, Vendor, VendorIncidentRecord, VendorState,
};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Duration;
use chrono_tz::Tz;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// How long a rendered vendor page is served before it is read again.
pub const FRESH_FOR: std::time::Duration = std::time::Duration::from_secs(5);
/// Pages kept at most; beyond, the cache starts over.
const MAX_PAGES: usize = 10_000;
/// How far back `/vendors/{slug}` lists incidents.
const LIST_DAYS: i64 = 30;

/// A rendering (None: the page does not exist) and when it was made.
type Kept = (Instant, Option<Arc<Rendered>>);

/// Rendered vendor pages by path, with when they were rendered.
#[derive(Default)]
pub struct VendorPages {
    pages: Mutex<HashMap<String, Kept>>,
}

impl VendorPages {
    fn fresh(&self, key: &str) -> Option<Option<Arc<Rendered>>> {
        let pages = self.pages.lock().expect("vendor pages lock");
        pages
            .get(key)
            .filter(|(at, _)| at.elapsed() < FRESH_FOR)
            .map(|(_, r)| r.clone())
    }

    fn last(&self, key: &str) -> Option<Option<Arc<Rendered>>> {
        let pages = self.pages.lock().expect("vendor pages lock");
        pages.get(key).map(|(_, r)| r.clone())
    }

    fn keep(&self, key: &str, rendered: Option<Arc<Rendered>>) {
        let mut pages = self.pages.lock().expect("vendor pages lock");
        if pages.len() >= MAX_PAGES && !pages.contains_key(key) {
            pages.clear();
        }
        pages.insert(key.to_string(), (Instant::now(), rendered));
    }
}

/// Serves the page at `key`: fresh from the cache, else rendered by `make` (None: 404), else
/// (the database away) the last rendering.
async fn serve<F, Fut>(
    state: &AppState,
    headers: &HeaderMap,
    key: &str,
    slug: Option<&str>,
    cors: Cors,
    make: F,
) -> Response
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<Option<Rendered>, StoreError>>,
{
    let snapshot = state.snapshot.load();
    // Only a possible slug reaches the cache, so a flood of made-up paths cannot fill it.
    if !state.vendors_public || !slug.is_none_or(possible_slug) {
        return not_found(&snapshot, headers);
    }
    let cached = match state.vendor_pages.fresh(key) {
        Some(cached) => cached,
        None => match make().await {
            Ok(rendered) => {
                let rendered = rendered.map(Arc::new);
                state.vendor_pages.keep(key, rendered.clone());
                rendered
            }
            Err(err) => match state.vendor_pages.last(key) {
                Some(last) => last,
                None => {
                    tracing::warn!(error = %err, page = key, "cannot read a vendor page");
                    return (
                        StatusCode::SERVICE_UNAVAILABLE,
                        [("retry-after", "5")],
                        "This page cannot be read right now; try again in a few seconds.",
                    )
                        .into_response();
                }
            },
        },
    };
    match cached {
        Some(rendered) => respond(&rendered, headers, cors),
        None => not_found(&snapshot, headers),
    }
}

fn when(t: Timestamp, tz: Tz) -> When {
    When::new(t, tz)
}

/// The worst status among the components the operator follows.
fn worst(
    vendor: &Vendor,
    statuses: impl Iterator<Item = (String, ComponentStatus)>,
) -> ComponentStatus {
    ComponentStatus::worst(
        statuses
            .filter(|(id, _)| vendor.follows(id))
            .map(|(_, s)| s),
    )
    .unwrap_or(ComponentStatus::Operational)
}

/// "source unreachable since 14:05" and the last check, as every vendor view shows them.
struct SourceView {
    unreachable_since: Option<When>,
    error: Option<String>,
    checked: Option<When>,
    pending: bool,
}

fn source_view(vendor: &Vendor, tz: Tz) -> SourceView {
    SourceView {
        unreachable_since: (vendor.source_state == SourceState::Unreachable)
            .then_some(vendor.unreachable_since)
            .flatten()
            .map(|t| when(t, tz)),
        error: vendor.source_error.clone(),
        checked: vendor.last_checked_at.map(|t| when(t, tz)),
        pending: vendor.source_state == SourceState::Pending,
    }
}

// ---------------------------------------------------------------------------------------------
// `/vendors`

#[derive(Template)]
#[template(path = "vendors.html", whitespace = "minimize")]
struct VendorsPage {
    layout: Layout,
    vendors: Vec<VendorRow>,
}

struct VendorRow {
    href: String,
    name: String,
    status: Badge,
    source: SourceView,
    /// "API: Partial outage".
    problems: Vec<String>,
    /// Names of open incidents and maintenances in progress.
    open: Vec<String>,
}

#[utoipa::path(get, path = "/vendors", tag = "public", security(()),
    responses((status = 200, description = "Followed vendors: their status and when they were last checked", content_type = "text/html"),
              (status = 404, description = "Vendor pages are not public on this installation")))]
pub async fn list(State(state): State<AppState>, Headers(headers): Headers) -> Response {
    let store = state.store.clone();
    let snapshot = state.snapshot.load_full();
    serve(
        &state,
        &headers,
        "vendors",
        None,
        Cors::SameOrigin,
        || async move {
            let vendors = store.all_vendors().await?;
            let problems = store.vendor_problems().await?;
            Ok(Some(render_list(&snapshot, &vendors, &problems)))
        },
    )
    .await
}

fn render_list(
    snapshot: &Snapshot,
    vendors: &[Vendor],
    problems: &crate::vendor::record::VendorProblems,
) -> Rendered {
    let tz = snapshot.state.page.tz();
    let rows = vendors
        .iter()
        .filter(|v| v.enabled)
        .map(|v| {
            let components: Vec<_> = problems
                .components
                .iter()
                .filter(|(id, ext, _, _)| *id == v.id && v.follows(ext))
                .collect();
            let status = worst(v, components.iter().map(|(_, ext, _, s)| (ext.clone(), *s)));
            VendorRow {
                href: format!("/vendors/{}", v.slug),
                name: v.name.clone(),
                status: component_badge(status),
                source: source_view(v, tz),
                problems: components
                    .iter()
                    .take(5)
                    .map(|(_, _, name, s)| format!("{name}: {}", component_badge(*s).label))
                    .collect(),
                open: problems
                    .open
                    .iter()
                    .filter(|(id, kind, _, _)| *id == v.id && *kind == RecordKind::Incident)
                    .take(3)
                    .map(|(_, _, name, _)| name.clone())
                    .collect(),
            }
        })
        .collect();
    render(&VendorsPage {
        layout: Layout::new(
            snapshot,
            format!("Vendors · {}", snapshot.state.page.name),
            "/vendors",
            "vendors",
        ),
        vendors: rows,
    })
}

// ---------------------------------------------------------------------------------------------
// `/vendors/{slug}`

#[derive(Template)]
#[template(path = "vendor.html", whitespace = "minimize")]
struct VendorPage {
    layout: Layout,
    name: String,
    slug: String,
    page_url: Option<String>,
    status: Badge,
    source: SourceView,
    groups: Vec<GroupView>,
    incidents: Vec<IncidentRow>,
    maintenances: Vec<IncidentRow>,
}

struct GroupView {
    name: Option<String>,
    components: Vec<(String, Badge)>,
}

struct IncidentRow {
    href: String,
    name: String,
    /// The latest update, shortened.
    description: String,
    status: &'static str,
    closed: bool,
    impact: Badge,
    started: When,
    duration: String,
}

#[utoipa::path(get, path = "/vendors/{slug}", tag = "public", security(()),
    params(("slug" = String, Path, description = "The vendor's slug")),
    responses((status = 200, description = "A vendor's components and its incidents of the last 30 days", content_type = "text/html"),
              (status = 404, description = "No such vendor, or vendor pages are not public")))]
pub async fn vendor(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Headers(headers): Headers,
) -> Response {
    let store = state.store.clone();
    let snapshot = state.snapshot.load_full();
    let key = format!("vendor:{slug}");
    serve(
        &state,
        &headers,
        &key,
        Some(&slug.clone()),
        Cors::SameOrigin,
        || async move {
            let Some((vendor, vstate)) = load(&*store, &slug).await? else {
                return Ok(None);
            };
            Ok(Some(render_vendor(&snapshot, &vendor, &vstate)))
        },
    )
    .await
}

/// Whether `slug` could name a vendor (the rule of `record::validate_vendor`).
fn possible_slug(slug: &str) -> bool {
    !slug.is_empty()
        && slug.len() <= 64
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The vendor and its stored state; None when there is no such (enabled) vendor.
async fn load(
    store: &dyn crate::store::Store,
    slug: &str,
) -> Result<Option<(Vendor, VendorState)>, StoreError> {
    let vendor = match store.get_vendor_by_slug(slug).await {
        Ok(v) if v.enabled => v,
        Ok(_) | Err(StoreError::NotFound { .. }) => return Ok(None),
        Err(err) => return Err(err),
    };
    let state = store.vendor_state(vendor.id).await?;
    Ok(Some((vendor, state)))
}

fn status_label(status: RecordStatus) -> &'static str {
    match status {
        RecordStatus::Incident(s) => incident_status_label(s),
        RecordStatus::Maintenance(s) => maintenance_status_label(s),
    }
}

fn record_badge(r: &VendorIncidentRecord) -> Badge {
    match r.kind {
        RecordKind::Incident => impact_badge(r.impact),
        RecordKind::Maintenance => Badge {
            label: "Maintenance",
            class: "b-maint",
            glyph: "⚙",
        },
    }
}

fn duration_text(r: &VendorIncidentRecord, now: Timestamp) -> String {
    let end = r.resolved_at.unwrap_or(now);
    let text = super::human_duration(end.0 - r.started_at.0);
    if r.resolved_at.is_none() {
        format!("{text} so far")
    } else {
        text
    }
}

fn render_vendor(snapshot: &Snapshot, vendor: &Vendor, state: &VendorState) -> Rendered {
    let tz = snapshot.state.page.tz();
    let now = snapshot
        .state
        .built_at
        .max(vendor.last_checked_at.unwrap_or(snapshot.state.built_at));
    let mut groups: Vec<GroupView> = Vec::new();
    for c in state
        .components
        .iter()
        .filter(|c| c.removed_at.is_none() && vendor.follows(&c.external_id))
    {
        let row = (c.name.clone(), component_badge(c.status));
        match groups.iter_mut().find(|g| g.name == c.group) {
            Some(g) => g.components.push(row),
            None => groups.push(GroupView {
                name: c.group.clone(),
                components: vec![row],
            }),
        }
    }
    let since = Timestamp::from_datetime(now.0 - Duration::days(LIST_DAYS));
    let row = |r: &VendorIncidentRecord| IncidentRow {
        href: format!("/vendors/{}/incidents/{}", vendor.slug, r.id),
        name: r.name.clone(),
        description: r
            .updates
            .last()
            .map(|u| shorten(&u.body, 280))
            .unwrap_or_default(),
        status: status_label(r.status),
        closed: r.status.is_closed(),
        impact: record_badge(r),
        started: when(r.started_at, tz),
        duration: duration_text(r, now),
    };
    let incidents = state
        .incidents
        .iter()
        .filter(|r| r.kind == RecordKind::Incident)
        .filter(|r| {
            !r.status.is_closed()
                || r.started_at >= since
                || r.resolved_at.is_some_and(|t| t >= since)
        })
        .map(row)
        .collect();
    let maintenances = state
        .incidents
        .iter()
        .filter(|r| r.kind == RecordKind::Maintenance)
        .filter(|r| !r.status.is_closed() || r.started_at >= since)
        .map(row)
        .collect();
    let status = worst(
        vendor,
        state
            .components
            .iter()
            .filter(|c| c.removed_at.is_none())
            .map(|c| (c.external_id.clone(), c.status)),
    );
    render(&VendorPage {
        layout: Layout::new(
            snapshot,
            format!("{} status · {}", vendor.name, snapshot.state.page.name),
            &format!("/vendors/{}", vendor.slug),
            "vendors",
        ),
        name: vendor.name.clone(),
        slug: vendor.slug.clone(),
        page_url: web_link(&vendor.page_url),
        status: component_badge(status),
        source: source_view(vendor, tz),
        groups,
        incidents,
        maintenances,
    })
}

/// At most `max` characters, cut at a word, with an ellipsis.
fn shorten(text: &str, max: usize) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        return flat;
    }
    let cut: String = flat.chars().take(max).collect();
    let cut = cut.rsplit_once(' ').map(|(a, _)| a).unwrap_or(&cut);
    format!("{cut}…")
}

// ---------------------------------------------------------------------------------------------
// `/vendors/{slug}/incidents/{id}`

#[derive(Template)]
#[template(path = "vendor_incident.html", whitespace = "minimize")]
struct VendorIncidentPage {
    layout: Layout,
    vendor_name: String,
    vendor_href: String,
    maintenance: bool,
    name: String,
    impact: Badge,
    status: &'static str,
    closed: bool,
    started: When,
    resolved: Option<When>,
    scheduled_until: Option<When>,
    duration: String,
    first_seen: When,
    source_link: Option<String>,
    affected: Vec<String>,
    timeline: Vec<TimelineEntry>,
}

struct TimelineEntry {
    label: &'static str,
    body: String,
    when: When,
}

#[utoipa::path(get, path = "/vendors/{slug}/incidents/{id}", tag = "public", security(()),
    params(("slug" = String, Path, description = "The vendor's slug"),
           ("id" = String, Path, description = "The incident's id in Pharos, or the vendor's own id")),
    responses((status = 200, description = "One vendor incident or maintenance with its timeline", content_type = "text/html"),
              (status = 404, description = "No such incident, or vendor pages are not public")))]
pub async fn incident(
    State(state): State<AppState>,
    Path((slug, id)): Path<(String, String)>,
    Headers(headers): Headers,
) -> Response {
    let store = state.store.clone();
    let snapshot = state.snapshot.load_full();
    let key = format!(
        "vendor:{slug}:incident:{}",
        crate::vendor::adapter::text::truncate(&id, 100)
    );
    serve(
        &state,
        &headers,
        &key,
        Some(&slug.clone()),
        Cors::SameOrigin,
        || async move {
            let Some((vendor, vstate)) = load(&*store, &slug).await? else {
                return Ok(None);
            };
            let Some(record) = vstate
                .incidents
                .iter()
                .find(|r| r.id.to_string() == id || r.external_id.as_deref() == Some(id.as_str()))
            else {
                return Ok(None);
            };
            Ok(Some(render_incident(&snapshot, &vendor, &vstate, record)))
        },
    )
    .await
}

fn render_incident(
    snapshot: &Snapshot,
    vendor: &Vendor,
    state: &VendorState,
    r: &VendorIncidentRecord,
) -> Rendered {
    let tz = snapshot.state.page.tz();
    let now = snapshot
        .state
        .built_at
        .max(vendor.last_checked_at.unwrap_or(snapshot.state.built_at));
    let affected = r
        .component_ids
        .iter()
        .map(
            |id| match state.components.iter().find(|c| &c.external_id == id) {
                Some(c) => c.name.clone(),
                None => id.clone(),
            },
        )
        .collect();
    // Newest first; an update repeating the previous status reads "Update", as on Statuspage.
    let mut timeline = Vec::with_capacity(r.updates.len());
    let mut previous: Option<RecordStatus> = None;
    for u in &r.updates {
        let label = if previous == Some(u.status) && !u.status.is_closed() {
            "Update"
        } else {
            status_label(u.status)
        };
        previous = Some(u.status);
        timeline.push(TimelineEntry {
            label,
            body: u.body.clone(),
            when: when(u.at, tz),
        });
    }
    timeline.reverse();
    render(&VendorIncidentPage {
        layout: Layout::new(
            snapshot,
            format!(
                "{} · {} · {}",
                r.name, vendor.name, snapshot.state.page.name
            ),
            &format!("/vendors/{}/incidents/{}", vendor.slug, r.id),
            "vendors",
        ),
        vendor_name: vendor.name.clone(),
        vendor_href: format!("/vendors/{}", vendor.slug),
        maintenance: r.kind == RecordKind::Maintenance,
        name: r.name.clone(),
        impact: record_badge(r),
        status: status_label(r.status),
        closed: r.status.is_closed(),
        started: when(r.started_at, tz),
        resolved: r.resolved_at.map(|t| when(t, tz)),
        scheduled_until: r.scheduled_until.map(|t| when(t, tz)),
        duration: duration_text(r, now),
        first_seen: when(r.first_seen_at, tz),
        source_link: r.url.as_deref().and_then(web_link),
        affected,
        timeline,
    })
}

// ---------------------------------------------------------------------------------------------
// `/vendors/{slug}/history.atom`

#[utoipa::path(get, path = "/vendors/{slug}/history.atom", tag = "public", security(()),
    params(("slug" = String, Path, description = "The vendor's slug")),
    responses((status = 200, description = "The vendor's incidents and maintenances as an Atom feed, newest first", content_type = "application/atom+xml"),
              (status = 404, description = "No such vendor, or vendor pages are not public")))]
pub async fn atom(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Headers(headers): Headers,
) -> Response {
    let store = state.store.clone();
    let snapshot = state.snapshot.load_full();
    let key = format!("vendor:{slug}:atom");
    serve(
        &state,
        &headers,
        &key,
        Some(&slug.clone()),
        Cors::Anyone,
        || async move {
            let Some((vendor, vstate)) = load(&*store, &slug).await? else {
                return Ok(None);
            };
            Ok(Some(render_atom(&snapshot, &vendor, &vstate)))
        },
    )
    .await
}

fn render_atom(snapshot: &Snapshot, vendor: &Vendor, state: &VendorState) -> Rendered {
    use std::fmt::Write as _;
    let base = &snapshot.state.page.url;
    let feed_url = format!("{base}/vendors/{}/history.atom", vendor.slug);
    let atom_time = |t: Timestamp| t.0.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let updated = state
        .incidents
        .iter()
        .map(|r| r.updated_at)
        .max()
        .unwrap_or(vendor.created_at);
    let mut out = String::new();
    let _ = write!(
        out,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feed xml:lang=\"en\" xmlns=\"http://www.w3.org/2005/Atom\">\n\
         <id>{id}</id>\n<link rel=\"alternate\" type=\"text/html\" href=\"{page}\"/>\n\
         <link rel=\"self\" type=\"application/atom+xml\" href=\"{id}\"/>\n\
         <title>{title}</title>\n<updated>{updated}</updated>\n<author><name>{author}</name></author>\n",
        id = xml_escape(&feed_url),
        page = xml_escape(&format!("{base}/vendors/{}", vendor.slug)),
        title = xml_escape(&format!("{} status history (followed by {})", vendor.name, snapshot.state.page.name)),
        updated = atom_time(updated),
        author = xml_escape(&snapshot.state.page.name),
    );
    let tz = snapshot.state.page.tz();
    for r in state.incidents.iter().take(50) {
        let href = format!("{base}/vendors/{}/incidents/{}", vendor.slug, r.id);
        let mut content = String::new();
        for u in r.updates.iter().rev() {
            let stamp = u.at.0.with_timezone(&tz).format("%b %-d, %H:%M %Z");
            let _ = write!(
                content,
                "<p><small>{}</small><br><strong>{}</strong> - {}</p>",
                xml_escape(&stamp.to_string()),
                status_label(u.status),
                xml_escape(&u.body).replace('\n', "<br>")
            );
        }
        let _ = write!(
            out,
            "<entry>\n<id>{id}</id>\n<published>{published}</published>\n<updated>{updated}</updated>\n\
             <link rel=\"alternate\" type=\"text/html\" href=\"{id}\"/>\n<title>{title}</title>\n\
             <content type=\"html\">{content}</content>\n</entry>\n",
            id = xml_escape(&href),
            published = atom_time(r.started_at),
            updated = atom_time(r.updated_at),
            title = xml_escape(&r.name),
            content = xml_escape(&content),
        );
    }
    out.push_str("</feed>\n");
    Rendered::new("application/atom+xml; charset=utf-8", out.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::possible_slug;

    #[test]
    fn only_possible_slugs_reach_the_page_cache() {
        assert!(possible_slug("github"));
        assert!(possible_slug("aws-health-2"));
        assert!(!possible_slug(""));
        assert!(!possible_slug("Not_A_Slug"));
        assert!(!possible_slug("a/b"));
        assert!(!possible_slug(&"a".repeat(65)));
        assert!(possible_slug(&"a".repeat(64)));
    }
}
