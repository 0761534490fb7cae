//! Vendors: the followed vendors with their state (paginated over two small reads, so 2,000
//! list fast), following from the catalog by search or from a URL whose format is detected,
//! the incident drafts their dependencies prepared, and a vendor's page: components of
//! interest, current and recent incidents, dependencies, poll now, pause, delete.
//!
//! Everyone signed in sees; responders change. Creating a vendor and a dependency go through
//! the API's own functions (`api_v1::vendors::new_vendor`, `new_dependency`), so detection,
//! names, slugs and every rule are the API's.

use super::notifications::{all, field, from_api, Pairs};
use super::{html, when, Chrome, Flash};
use crate::domain::{ComponentStatus, DependencyId, VendorId};
use crate::http::admin::pages::parse_id;
use crate::http::admin::session::{see_other, CsrfForm, CurrentUser};
use crate::http::admin::AdminError;
use crate::http::api_v1::vendors::{
    new_dependency, new_vendor, valid_interest, CreateDependency, CreateVendor,
};
use crate::http::AppState;
use crate::store::{PageRequest, StoreError};
use crate::vendor::adapter::AdapterKind;
use crate::vendor::catalog;
use crate::vendor::detect::{detect, Detected};
use crate::vendor::fetch::Fetcher;
use crate::vendor::record::{check_url, RecordKind, SourceState, Vendor, VendorPatch};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use std::collections::{HashMap, HashSet};

/// Vendors per page of the list.
const PAGE: usize = 50;
/// Catalog results shown for one search.
const CATALOG_RESULTS: usize = 20;

struct VendorRow {
    id: String,
    name: String,
    slug: String,
    adapter: &'static str,
    status: String,
    problem: bool,
    open: usize,
    last_poll: String,
    error: Option<String>,
    enabled: bool,
}

struct CatalogRow {
    slug: String,
    name: String,
    category: &'static str,
    adapter: &'static str,
    followed: bool,
}

struct DraftRow {
    id: String,
    name: String,
    component: String,
    impact: &'static str,
    created: String,
}

/// The "follow a URL" form, as typed or as detected.
#[derive(Default)]
struct FollowForm {
    url: String,
    name: String,
    slug: String,
    adapter: String,
    source_url: String,
    interval: String,
    /// What detection found, said in words.
    detected: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/vendors/index.html")]
struct VendorsPage {
    chrome: Chrome,
    can_change: bool,
    rows: Vec<VendorRow>,
    total: usize,
    page: usize,
    pages: usize,
    catalog_query: String,
    catalog: Vec<CatalogRow>,
    drafts: Vec<DraftRow>,
    follow: FollowForm,
    adapters: Vec<&'static str>,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct ListParams {
    #[serde(default)]
    page: Option<usize>,
    #[serde(default)]
    catalog: String,
}

/// How a vendor stands, in words: its source's state, else its worst followed component.
fn standing(v: &Vendor, worst: Option<ComponentStatus>) -> (String, bool) {
    match v.source_state {
        SourceState::Pending => ("not polled yet".into(), false),
        SourceState::Unreachable => ("source unreachable".into(), true),
        SourceState::Ok => match worst {
            Some(s) if s != ComponentStatus::Operational => (s.as_str().replace('_', " "), true),
            _ => ("operational".into(), false),
        },
    }
}

#[allow(clippy::too_many_arguments)]
async fn list_page(
    state: &AppState,
    user: &CurrentUser,
    status: StatusCode,
    flash: Flash,
    params: ListParams,
    follow: FollowForm,
    error: Option<String>,
) -> Result<Response, AdminError> {
    let vendors = state.store.all_vendors().await?;
    let problems = state.store.vendor_problems().await?;
    let total = vendors.len();
    let pages = total.div_ceil(PAGE).max(1);
    let page = params.page.unwrap_or(1).clamp(1, pages);
    let shown: Vec<&Vendor> = vendors.iter().skip((page - 1) * PAGE).take(PAGE).collect();
    let ids: HashSet<VendorId> = shown.iter().map(|v| v.id).collect();
    let mut worst: HashMap<VendorId, ComponentStatus> = HashMap::new();
    let by_id: HashMap<VendorId, &Vendor> = shown.iter().map(|v| (v.id, *v)).collect();
    for (vid, external, _, s) in &problems.components {
        if let Some(v) = by_id.get(vid) {
            if v.follows(external) {
                let w = worst.entry(*vid).or_insert(ComponentStatus::Operational);
                if s.severity() > w.severity() {
                    *w = *s;
                }
            }
        }
    }
    let mut open: HashMap<VendorId, usize> = HashMap::new();
    for (vid, kind, _, _) in &problems.open {
        if ids.contains(vid) && *kind == RecordKind::Incident {
            *open.entry(*vid).or_default() += 1;
        }
    }
    let now = state.clock.now();
    let rows = shown
        .iter()
        .map(|v| {
            let (status, problem) = standing(v, worst.get(&v.id).copied());
            VendorRow {
                id: v.id.to_string(),
                name: v.name.clone(),
                slug: v.slug.clone(),
                adapter: v.adapter.as_str(),
                status,
                problem,
                open: open.get(&v.id).copied().unwrap_or(0),
                last_poll: v
                    .last_checked_at
                    .as_ref()
                    .map(|t| format!("{} ago", super::notifications::age(&now, t)))
                    .unwrap_or_else(|| "never".into()),
                error: v.source_error.clone(),
                enabled: v.enabled,
            }
        })
        .collect();
    let followed: HashSet<&str> = vendors.iter().map(|v| v.slug.as_str()).collect();
    let catalog_query = params.catalog.trim().chars().take(100).collect::<String>();
    let catalog = catalog::search(&catalog_query)
        .into_iter()
        .take(CATALOG_RESULTS)
        .map(|e| CatalogRow {
            followed: followed.contains(e.slug.as_str()),
            slug: e.slug.clone(),
            name: e.name.clone(),
            category: e.category.as_str(),
            adapter: e.adapter.as_str(),
        })
        .collect();
    let drafts = state.store.incident_drafts().await?;
    let mut component_names = HashMap::new();
    for d in &drafts {
        if let std::collections::hash_map::Entry::Vacant(e) = component_names.entry(d.component_id)
        {
            let name = match state.store.get_component(d.component_id).await {
                Ok(c) => c.name,
                Err(_) => d.component_id.to_string(),
            };
            e.insert(name);
        }
    }
    let drafts = drafts
        .into_iter()
        .map(|d| DraftRow {
            id: d.id.to_string(),
            component: component_names
                .get(&d.component_id)
                .cloned()
                .unwrap_or_default(),
            name: d.name,
            impact: d.impact.as_str(),
            created: when(&d.created_at),
        })
        .collect();
    Ok(html(
        status,
        &VendorsPage {
            chrome: Chrome::new(state, user, "Vendors", "vendors", flash),
            can_change: user.user.role.can_respond(),
            rows,
            total,
            page,
            pages,
            catalog_query,
            catalog,
            drafts,
            follow,
            adapters: AdapterKind::ALL.iter().map(|a| a.as_str()).collect(),
            error,
        },
    ))
}

#[utoipa::path(get, path = "/admin/vendors", tag = "admin", security(()),
    params(("page" = Option<usize>, Query, description = "The page of the list, 50 vendors each"),
           ("catalog" = Option<String>, Query, description = "Search the catalog by name, slug or category")),
    responses((status = 200, description = "Followed vendors with their state, the catalog search and incident drafts", content_type = "text/html"),
              (status = 303, description = "Not signed in: to the sign-in form")))]
pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: Flash,
    Query(params): Query<ListParams>,
) -> Result<Response, AdminError> {
    list_page(
        &state,
        &user,
        StatusCode::OK,
        flash,
        params,
        FollowForm::default(),
        None,
    )
    .await
}

/// Creates the vendor through the API's rules; a refusal is the list again with the message
/// and the form as typed.
async fn follow_with(
    state: &AppState,
    user: &CurrentUser,
    input: CreateVendor,
    typed: FollowForm,
) -> Result<Response, AdminError> {
    let refused = match new_vendor(state, input).await {
        Ok(new) => match state.store.create_vendor(new, &user.actor()).await {
            Ok(vendor) => {
                return Ok(see_other(&format!(
                    "/admin/vendors/{}?done=vendor_followed",
                    vendor.id
                )))
            }
            Err(err @ (StoreError::Conflict { .. } | StoreError::Invalid { .. })) => {
                AdminError::from(err)
            }
            Err(err) => return Err(err.into()),
        },
        Err(err) => from_api(err),
    };
    list_page(
        state,
        user,
        refused.status,
        Flash::default(),
        ListParams::default(),
        typed,
        Some(refused.message),
    )
    .await
}

#[utoipa::path(post, path = "/admin/vendors/follow", tag = "admin", security(()),
    responses((status = 303, description = "Followed from the catalog: to the vendor's page"),
              (status = 403, description = "A viewer, or the form's security token is wrong", content_type = "text/html"),
              (status = 409, description = "Already followed (the slug is taken)", content_type = "text/html"),
              (status = 422, description = "Not in the catalog", content_type = "text/html")))]
pub async fn follow_catalog(
    State(state): State<AppState>,
    CsrfForm(user, pairs): CsrfForm<Pairs>,
) -> Result<Response, AdminError> {
    user.require_responder()?;
    let slug = field(&pairs, "slug").trim();
    let Some(entry) = catalog::find(slug) else {
        return Err(AdminError::unprocessable(format!(
            "`{}` is not in the catalog; search it again, or follow the vendor by its status page URL",
            slug.chars().take(64).collect::<String>()
        )));
    };
    let input = CreateVendor {
        name: Some(entry.name.clone()),
        slug: Some(entry.slug.clone()),
        page_url: entry.page_url.clone(),
        source_url: entry.source_url.clone(),
        adapter: Some(entry.adapter),
        poll_interval_seconds: None,
        components_of_interest: Vec::new(),
        enabled: None,
    };
    follow_with(&state, &user, input, FollowForm::default()).await
}

fn typed_follow(pairs: &Pairs) -> FollowForm {
    FollowForm {
        url: field(pairs, "page_url").to_string(),
        name: field(pairs, "name").to_string(),
        slug: field(pairs, "slug").to_string(),
        adapter: field(pairs, "adapter").to_string(),
        source_url: field(pairs, "source_url").to_string(),
        interval: field(pairs, "poll_interval_seconds").to_string(),
        detected: None,
    }
}

#[utoipa::path(post, path = "/admin/vendors/detect", tag = "admin", security(()),
    responses((status = 200, description = "The format detected at the URL, with the form to follow it", content_type = "text/html"),
              (status = 403, description = "A viewer, or the form's security token is wrong", content_type = "text/html"),
              (status = 422, description = "Not a URL, or no known format answers there", content_type = "text/html")))]
pub async fn detect_url(
    State(state): State<AppState>,
    CsrfForm(user, pairs): CsrfForm<Pairs>,
) -> Result<Response, AdminError> {
    user.require_responder()?;
    let mut form = typed_follow(&pairs);
    form.url = form.url.trim().to_string();
    // The API's detect endpoint: the same URL check and the same detection.
    let detected = match check_url(&form.url) {
        Err(problem) => Err(format!("`page_url`: {problem}")),
        Ok(url) => detect(&Fetcher::default(), &url, state.clock.now()).await,
    };
    match detected {
        Ok(Detected {
            adapter,
            source_url,
            page_name,
        }) => {
            form.detected = Some(format!(
                "Detected: {}{}",
                adapter.as_str(),
                page_name
                    .as_deref()
                    .map(|n| format!(", the page calls itself “{n}”"))
                    .unwrap_or_default()
            ));
            form.adapter = adapter.as_str().to_string();
            form.source_url = source_url.unwrap_or_default();
            if form.name.is_empty() {
                form.name = page_name.unwrap_or_default();
            }
            list_page(
                &state,
                &user,
                StatusCode::OK,
                Flash::default(),
                ListParams::default(),
                form,
                None,
            )
            .await
        }
        Err(message) => {
            list_page(
                &state,
                &user,
                StatusCode::UNPROCESSABLE_ENTITY,
                Flash::default(),
                ListParams::default(),
                form,
                Some(message),
            )
            .await
        }
    }
}

fn optional(text: &str) -> Option<String> {
    let t = text.trim();
    (!t.is_empty()).then(|| t.to_string())
}

#[utoipa::path(post, path = "/admin/vendors", tag = "admin", security(()),
    responses((status = 303, description = "Followed: to the vendor's page"),
              (status = 403, description = "A viewer, or the form's security token is wrong", content_type = "text/html"),
              (status = 409, description = "The slug is taken", content_type = "text/html"),
              (status = 422, description = "A field is not valid: the list again with the message and the form as typed", content_type = "text/html")))]
pub async fn follow_url(
    State(state): State<AppState>,
    CsrfForm(user, pairs): CsrfForm<Pairs>,
) -> Result<Response, AdminError> {
    user.require_responder()?;
    let typed = typed_follow(&pairs);
    let adapter = match optional(&typed.adapter) {
        None => None,
        Some(a) => match a.parse::<AdapterKind>() {
            Ok(kind) => Some(kind),
            Err(_) => {
                return list_page(
                    &state,
                    &user,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    Flash::default(),
                    ListParams::default(),
                    typed,
                    Some(format!("`adapter`: `{}` is not a known format; choose one from the list or leave it empty to detect it", a.chars().take(40).collect::<String>())),
                )
                .await
            }
        },
    };
    let interval = match optional(&typed.interval) {
        None => None,
        Some(i) => match i.parse::<u64>() {
            Ok(n) => Some(n),
            Err(_) => {
                return list_page(
                    &state,
                    &user,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    Flash::default(),
                    ListParams::default(),
                    typed,
                    Some(format!(
                        "`poll_interval_seconds`: `{}` is not a whole number of seconds",
                        i.chars().take(40).collect::<String>()
                    )),
                )
                .await
            }
        },
    };
    let input = CreateVendor {
        name: optional(&typed.name),
        slug: optional(&typed.slug),
        page_url: typed.url.trim().to_string(),
        source_url: optional(&typed.source_url),
        adapter,
        poll_interval_seconds: interval,
        components_of_interest: Vec::new(),
        enabled: None,
    };
    follow_with(&state, &user, input, typed).await
}

// ---- one vendor ------------------------------------------------------------------------------

/// The vendor named by an id or a slug.
async fn find(state: &AppState, key: &str) -> Result<Vendor, AdminError> {
    let found = match key.parse::<VendorId>() {
        Ok(id) => state.store.get_vendor(id).await,
        Err(_) => state.store.get_vendor_by_slug(key).await,
    };
    match found {
        Err(StoreError::NotFound { .. }) => Err(AdminError::not_found(format!(
            "no vendor has the id or slug `{}`",
            key.chars().take(80).collect::<String>()
        ))),
        other => Ok(other?),
    }
}

struct ComponentRow {
    external_id: String,
    name: String,
    group: Option<String>,
    status: &'static str,
    problem: bool,
    interest: bool,
    removed: bool,
}

struct IncidentRow {
    name: String,
    kind: &'static str,
    status: &'static str,
    impact: &'static str,
    started: String,
    ended: Option<String>,
    url: Option<String>,
    latest: Option<String>,
}

struct DependencyRow {
    id: String,
    component: String,
    on: String,
    set_status: String,
    draft: bool,
}

struct Choice {
    value: String,
    label: String,
}

#[derive(Template)]
#[template(path = "admin/vendors/show.html")]
struct VendorPage {
    chrome: Chrome,
    can_change: bool,
    id: String,
    name: String,
    slug: String,
    page_url: String,
    source_url: Option<String>,
    adapter: &'static str,
    interval: u64,
    enabled: bool,
    status: String,
    problem: bool,
    source_error: Option<String>,
    last_poll: String,
    follows_all: bool,
    components: Vec<ComponentRow>,
    current: Vec<IncidentRow>,
    recent: Vec<IncidentRow>,
    dependencies: Vec<DependencyRow>,
    our_components: Vec<Choice>,
    statuses: [&'static str; 3],
    error: Option<String>,
    /// The dependency form as typed (after an error).
    dep_component: String,
    dep_vendor_component: String,
    dep_set_status: String,
    dep_draft: bool,
}

/// Every component of ours, for the dependency form (1,000 is a long select, still small).
async fn our_components(state: &AppState) -> Result<Vec<Choice>, AdminError> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = state
            .store
            .list_components(PageRequest {
                limit: PageRequest::MAX_LIMIT,
                cursor,
            })
            .await?;
        out.extend(page.items.into_iter().map(|c| Choice {
            value: c.id.to_string(),
            label: c.name,
        }));
        match page.next_cursor {
            Some(next) if out.len() < 5_000 => cursor = Some(next),
            _ => break,
        }
    }
    Ok(out)
}

fn incident_row(r: crate::vendor::record::VendorIncidentRecord) -> IncidentRow {
    IncidentRow {
        kind: r.kind.as_str(),
        status: r.status.as_str(),
        impact: r.impact.as_str(),
        started: when(&r.started_at),
        ended: r.resolved_at.as_ref().map(when),
        latest: r.updates.last().map(|u| {
            let body: String = u.body.chars().take(300).collect();
            body
        }),
        url: r.url,
        name: r.name,
    }
}

async fn vendor_page(
    state: &AppState,
    user: &CurrentUser,
    status: StatusCode,
    flash: Flash,
    key: &str,
    error: Option<String>,
    typed: Option<&Pairs>,
) -> Result<Response, AdminError> {
    let vendor = find(state, key).await?;
    let vs = state.store.vendor_state(vendor.id).await?;
    let worst = ComponentStatus::worst(
        vs.components
            .iter()
            .filter(|c| c.removed_at.is_none() && vendor.follows(&c.external_id))
            .map(|c| c.status),
    );
    let (standing_text, problem) = standing(&vendor, worst);
    let component_names: HashMap<String, String> = vs
        .components
        .iter()
        .map(|c| (c.external_id.clone(), c.name.clone()))
        .collect();
    let components = vs
        .components
        .iter()
        .map(|c| ComponentRow {
            external_id: c.external_id.clone(),
            name: c.name.clone(),
            group: c.group.clone(),
            status: c.status.as_str(),
            problem: c.status.severity() >= ComponentStatus::DegradedPerformance.severity(),
            interest: vendor.components_of_interest.contains(&c.external_id),
            removed: c.removed_at.is_some(),
        })
        .collect();
    let (open, closed): (Vec<_>, Vec<_>) = vs
        .incidents
        .into_iter()
        .partition(|r| !r.status.is_closed());
    let ours = our_components(state).await?;
    let names: HashMap<&str, &str> = ours
        .iter()
        .map(|c| (c.value.as_str(), c.label.as_str()))
        .collect();
    let dependencies = state
        .store
        .dependencies(Some(vendor.id))
        .await?
        .into_iter()
        .map(|d| DependencyRow {
            id: d.id.to_string(),
            component: names
                .get(d.component_id.to_string().as_str())
                .map(|s| s.to_string())
                .unwrap_or_else(|| d.component_id.to_string()),
            on: match &d.vendor_component {
                None => "the whole vendor".into(),
                Some(ext) => component_names.get(ext).cloned().unwrap_or(ext.clone()),
            },
            set_status: d
                .set_status
                .map(|s| format!("takes {}", s.as_str().replace('_', " ")))
                .unwrap_or_else(|| "shows “Upstream” only".into()),
            draft: d.draft_incident,
        })
        .collect();
    let now = state.clock.now();
    let get = |k: &str| typed.map(|p| field(p, k).to_string()).unwrap_or_default();
    Ok(html(
        status,
        &VendorPage {
            chrome: Chrome::new(state, user, vendor.name.clone(), "vendors", flash),
            can_change: user.user.role.can_respond(),
            id: vendor.id.to_string(),
            slug: vendor.slug.clone(),
            page_url: vendor.page_url.clone(),
            source_url: vendor.source_url.clone(),
            adapter: vendor.adapter.as_str(),
            interval: vendor.poll_interval_seconds,
            enabled: vendor.enabled,
            status: standing_text,
            problem,
            source_error: vendor.source_error.clone(),
            last_poll: vendor
                .last_checked_at
                .as_ref()
                .map(|t| format!("{} ago ({})", super::notifications::age(&now, t), when(t)))
                .unwrap_or_else(|| "never".into()),
            follows_all: vendor.components_of_interest.is_empty(),
            components,
            current: open.into_iter().map(incident_row).collect(),
            recent: closed.into_iter().take(10).map(incident_row).collect(),
            dependencies,
            our_components: ours,
            statuses: ["degraded_performance", "partial_outage", "major_outage"],
            error,
            dep_component: get("component_id"),
            dep_vendor_component: get("vendor_component"),
            dep_set_status: get("set_status"),
            dep_draft: get("draft_incident") == "true",
            name: vendor.name,
        },
    ))
}

#[utoipa::path(get, path = "/admin/vendors/{vendor}", tag = "admin", security(()),
    params(("vendor" = String, Path, description = "Vendor id or slug")),
    responses((status = 200, description = "The vendor: state, components of interest, incidents, dependencies", content_type = "text/html"),
              (status = 303, description = "Not signed in: to the sign-in form"),
              (status = 404, description = "No such vendor", content_type = "text/html")))]
pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: Flash,
    Path(key): Path<String>,
) -> Result<Response, AdminError> {
    vendor_page(&state, &user, StatusCode::OK, flash, &key, None, None).await
}

#[utoipa::path(post, path = "/admin/vendors/{vendor}/interest", tag = "admin", security(()),
    params(("vendor" = String, Path, description = "Vendor id or slug")),
    responses((status = 303, description = "The components of interest are saved (none ticked: all)"),
              (status = 403, description = "A viewer, or the form's security token is wrong", content_type = "text/html"),
              (status = 404, description = "No such vendor", content_type = "text/html"),
              (status = 422, description = "Too many or bad ids", content_type = "text/html")))]
pub async fn set_interest(
    State(state): State<AppState>,
    Path(key): Path<String>,
    CsrfForm(user, pairs): CsrfForm<Pairs>,
) -> Result<Response, AdminError> {
    user.require_responder()?;
    let vendor = find(&state, &key).await?;
    let ids = valid_interest(all(&pairs, "interest")).map_err(from_api)?;
    let patch = VendorPatch {
        components_of_interest: Some(ids),
        ..Default::default()
    };
    state
        .store
        .update_vendor(vendor.id, patch, &user.actor())
        .await?;
    Ok(see_other(&format!(
        "/admin/vendors/{}?done=interest_saved",
        vendor.id
    )))
}

#[utoipa::path(post, path = "/admin/vendors/{vendor}/dependencies", tag = "admin", security(()),
    params(("vendor" = String, Path, description = "Vendor id or slug")),
    responses((status = 303, description = "The dependency is added"),
              (status = 403, description = "A viewer, or the form's security token is wrong", content_type = "text/html"),
              (status = 404, description = "No such vendor", content_type = "text/html"),
              (status = 409, description = "The same dependency exists", content_type = "text/html"),
              (status = 422, description = "A field is not valid: the page again with the message and the form as typed", content_type = "text/html")))]
pub async fn add_dependency(
    State(state): State<AppState>,
    Path(key): Path<String>,
    CsrfForm(user, pairs): CsrfForm<Pairs>,
) -> Result<Response, AdminError> {
    user.require_responder()?;
    let vendor = find(&state, &key).await?;
    let refused = match dependency_input(&pairs) {
        Err(message) => AdminError::unprocessable(message),
        Ok(input) => match new_dependency(&state, &vendor, input).await {
            Err(err) => from_api(err),
            Ok(new) => match state.store.create_dependency(new, &user.actor()).await {
                Ok(_) => {
                    return Ok(see_other(&format!(
                        "/admin/vendors/{}?done=dependency_added",
                        vendor.id
                    )))
                }
                Err(
                    err @ (StoreError::Conflict { .. }
                    | StoreError::Invalid { .. }
                    | StoreError::NotFound { .. }),
                ) => AdminError::from(err),
                Err(err) => return Err(err.into()),
            },
        },
    };
    vendor_page(
        &state,
        &user,
        refused.status,
        Flash::default(),
        &vendor.id.to_string(),
        Some(refused.message),
        Some(&pairs),
    )
    .await
}

/// The API's request from the form's fields.
fn dependency_input(pairs: &Pairs) -> Result<CreateDependency, String> {
    let component = field(pairs, "component_id").trim();
    let component_id = component
        .parse()
        .map_err(|_| "choose your component that depends on this vendor".to_string())?;
    let set_status = match field(pairs, "set_status").trim() {
        "" => None,
        s => Some(s.parse().map_err(|_| {
            format!(
                "`set_status` `{}` is not a component status",
                s.chars().take(40).collect::<String>()
            )
        })?),
    };
    Ok(CreateDependency {
        component_id,
        vendor_component: optional(field(pairs, "vendor_component")),
        set_status,
        draft_incident: field(pairs, "draft_incident") == "true",
    })
}

#[derive(Deserialize)]
pub struct Empty {}

#[utoipa::path(post, path = "/admin/vendors/{vendor}/dependencies/{id}/delete", tag = "admin", security(()),
    params(("vendor" = String, Path, description = "Vendor id or slug"),
           ("id" = String, Path, description = "Dependency id")),
    responses((status = 303, description = "Removed; what it held on the component is released"),
              (status = 403, description = "A viewer, or the form's security token is wrong", content_type = "text/html"),
              (status = 404, description = "No such vendor or dependency", content_type = "text/html")))]
pub async fn remove_dependency(
    State(state): State<AppState>,
    Path((key, id)): Path<(String, String)>,
    CsrfForm(user, _): CsrfForm<Empty>,
) -> Result<Response, AdminError> {
    user.require_responder()?;
    let vendor = find(&state, &key).await?;
    let id: Option<DependencyId> = id.parse().ok();
    let known = state.store.dependencies(Some(vendor.id)).await?;
    let Some(id) = id.filter(|id| known.iter().any(|d| d.id == *id)) else {
        return Err(AdminError::not_found(format!(
            "vendor `{}` has no such dependency; reload the page",
            vendor.slug
        )));
    };
    state.store.delete_dependency(id, &user.actor()).await?;
    Ok(see_other(&format!(
        "/admin/vendors/{}?done=dependency_removed",
        vendor.id
    )))
}

#[utoipa::path(post, path = "/admin/vendors/{vendor}/poll", tag = "admin", security(()),
    params(("vendor" = String, Path, description = "Vendor id or slug")),
    responses((status = 303, description = "Polled now"),
              (status = 403, description = "A viewer, or the form's security token is wrong", content_type = "text/html"),
              (status = 404, description = "No such vendor", content_type = "text/html"),
              (status = 503, description = "The poller is not running", content_type = "text/html")))]
pub async fn poll_now(
    State(state): State<AppState>,
    Path(key): Path<String>,
    CsrfForm(user, _): CsrfForm<Empty>,
) -> Result<Response, AdminError> {
    user.require_responder()?;
    let vendor = find(&state, &key).await?;
    let Some(poller) = &state.vendors else {
        return Err(AdminError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the vendor poller is not running in this process; try again in a moment",
        ));
    };
    // As the API: a vendor followed a moment ago reaches the poller through the event log.
    let mut last = String::new();
    for _ in 0..30 {
        match poller.poll_now(vendor.id).await {
            Ok(_) => {
                return Ok(see_other(&format!(
                    "/admin/vendors/{}?done=vendor_polled",
                    vendor.id
                )))
            }
            Err(e) => last = e,
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    Err(AdminError::new(StatusCode::SERVICE_UNAVAILABLE, last))
}

#[utoipa::path(post, path = "/admin/vendors/{vendor}/enabled", tag = "admin", security(()),
    params(("vendor" = String, Path, description = "Vendor id or slug")),
    responses((status = 303, description = "Paused or resumed"),
              (status = 403, description = "A viewer, or the form's security token is wrong", content_type = "text/html"),
              (status = 404, description = "No such vendor", content_type = "text/html")))]
pub async fn set_enabled(
    State(state): State<AppState>,
    Path(key): Path<String>,
    CsrfForm(user, pairs): CsrfForm<Pairs>,
) -> Result<Response, AdminError> {
    user.require_responder()?;
    let vendor = find(&state, &key).await?;
    let enabled = field(&pairs, "enabled") == "true";
    let patch = VendorPatch {
        enabled: Some(enabled),
        ..Default::default()
    };
    state
        .store
        .update_vendor(vendor.id, patch, &user.actor())
        .await?;
    let done = if enabled {
        "vendor_resumed"
    } else {
        "vendor_paused"
    };
    Ok(see_other(&format!(
        "/admin/vendors/{}?done={done}",
        vendor.id
    )))
}

#[utoipa::path(post, path = "/admin/vendors/{vendor}/delete", tag = "admin", security(()),
    params(("vendor" = String, Path, description = "Vendor id or slug")),
    responses((status = 303, description = "Deleted with everything seen on its page"),
              (status = 403, description = "A viewer, or the form's security token is wrong", content_type = "text/html"),
              (status = 404, description = "No such vendor", content_type = "text/html"),
              (status = 409, description = "Declared in the configuration file", content_type = "text/html")))]
pub async fn delete(
    State(state): State<AppState>,
    Path(key): Path<String>,
    CsrfForm(user, _): CsrfForm<Empty>,
) -> Result<Response, AdminError> {
    user.require_responder()?;
    let vendor = find(&state, &key).await?;
    state.store.delete_vendor(vendor.id, &user.actor()).await?;
    Ok(see_other("/admin/vendors?done=vendor_deleted"))
}

#[utoipa::path(post, path = "/admin/vendors/drafts/{id}/publish", tag = "admin", security(()),
    params(("id" = String, Path, description = "Draft id")),
    responses((status = 303, description = "Published: the incident is open and public"),
              (status = 403, description = "A viewer, or the form's security token is wrong", content_type = "text/html"),
              (status = 404, description = "No such draft", content_type = "text/html")))]
pub async fn publish_draft(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(user, _): CsrfForm<Empty>,
) -> Result<Response, AdminError> {
    user.require_responder()?;
    state
        .store
        .publish_incident_draft(parse_id("incident draft", &id)?, &user.actor())
        .await?;
    Ok(see_other("/admin/vendors?done=draft_published"))
}

#[utoipa::path(post, path = "/admin/vendors/drafts/{id}/dismiss", tag = "admin", security(()),
    params(("id" = String, Path, description = "Draft id")),
    responses((status = 303, description = "Dismissed"),
              (status = 403, description = "A viewer, or the form's security token is wrong", content_type = "text/html"),
              (status = 404, description = "No such draft", content_type = "text/html")))]
pub async fn dismiss_draft(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(user, _): CsrfForm<Empty>,
) -> Result<Response, AdminError> {
    user.require_responder()?;
    state
        .store
        .dismiss_incident_draft(parse_id("incident draft", &id)?, &user.actor())
        .await?;
    Ok(see_other("/admin/vendors?done=draft_dismissed"))
}
