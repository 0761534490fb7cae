//! `/api/v1/vendors`: followed third-party status pages (see `crate::vendor`). A vendor is
//! addressed by its id or its slug. Creating one without an adapter auto-detects it from the
//! page URL; the poller follows the event log, so changes take effect at once.

use super::*;
use crate::domain::{ManagedBy, VendorId};
use crate::http::auth::Principal;
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::http::AppState;
use crate::vendor::adapter::AdapterKind;
use crate::vendor::detect::{detect, Detected};
use crate::vendor::fetch::Fetcher;
use crate::vendor::poller::PollSummary;
use crate::vendor::record::{
    check_url, slugify, validate_vendor, NewVendor, RecordKind, Vendor, VendorComponentRecord,
    VendorIncidentRecord, VendorPatch, DEFAULT_POLL_SECS,
};
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateVendor {
    /// Defaults to the name the source gives, else the page's host.
    pub name: Option<String>,
    /// Lower-case letters, digits and hyphens; defaults to one made from the name.
    pub slug: Option<String>,
    /// The vendor's status page.
    pub page_url: String,
    /// The endpoint to fetch when the adapter cannot derive it from the page (status.io,
    /// Checkly), or to pin one.
    pub source_url: Option<String>,
    /// The source format; detected from the page when absent.
    pub adapter: Option<AdapterKind>,
    /// Seconds between polls, 30 to 86400 (default 120).
    pub poll_interval_seconds: Option<u64>,
    /// External ids of the vendor components that matter (default all).
    #[serde(default)]
    pub components_of_interest: Vec<String>,
    pub enabled: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateVendor {
    pub name: Option<String>,
    pub page_url: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub source_url: Option<Option<String>>,
    pub adapter: Option<AdapterKind>,
    pub poll_interval_seconds: Option<u64>,
    pub components_of_interest: Option<Vec<String>>,
    pub enabled: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DetectRequest {
    pub url: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct IncidentsQuery {
    /// `incident` or `maintenance` (default both).
    pub kind: Option<String>,
    /// How many, newest first, 1 to 500 (default 50).
    pub limit: Option<u32>,
}

/// The vendor named by an id or a slug.
async fn find(state: &AppState, key: &str) -> ApiResult<Vendor> {
    let by_id = key.parse::<uuid::Uuid>().ok().map(VendorId);
    let found = match by_id {
        Some(id) => state.store.get_vendor(id).await,
        None => state.store.get_vendor_by_slug(key).await,
    };
    match found {
        Err(crate::store::StoreError::NotFound { .. }) => Err(ApiError::not_found(format!(
            "no vendor has the id or slug `{}`",
            crate::vendor::adapter::text::truncate(key, 80)
        ))),
        other => Ok(other?),
    }
}

fn invalid(problems: Vec<String>) -> ApiError {
    ApiError::validation(problems.join("; "))
}

pub(crate) fn valid_interest(ids: Vec<String>) -> ApiResult<Vec<String>> {
    if ids.len() > 1000 {
        return Err(ApiError::validation(
            "`components_of_interest`: at most 1000 ids",
        ));
    }
    ids.into_iter()
        .map(|id| {
            let id = id.trim().to_string();
            if id.is_empty() || id.chars().count() > 255 {
                Err(ApiError::validation(
                    "`components_of_interest`: each id is 1 to 255 characters",
                ))
            } else {
                Ok(id)
            }
        })
        .collect()
}

#[utoipa::path(get, path = "/api/v1/vendors", tag = "vendors",
    responses((status = 200, description = "Every followed vendor, by slug", body = Paged<Vendor>)))]
pub async fn list(State(state): State<AppState>) -> ApiResult<Json<Paged<Vendor>>> {
    Ok(Json(Paged {
        data: state.store.all_vendors().await?,
        next_cursor: None,
    }))
}

#[utoipa::path(post, path = "/api/v1/vendors", tag = "vendors", request_body = CreateVendor,
    responses((status = 201, description = "Created; the first poll imports its recent history silently", body = Vendor)))]
pub async fn create(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    ApiJson(input): ApiJson<CreateVendor>,
) -> ApiResult<(StatusCode, Json<Vendor>)> {
    let new = new_vendor(&state, input).await?;
    let vendor = state.store.create_vendor(new, &who.actor()).await?;
    Ok((StatusCode::CREATED, Json(vendor)))
}

/// A vendor to create from the request, validated, its adapter detected when not given
/// (shared with the admin UI's "follow").
pub(crate) async fn new_vendor(state: &AppState, input: CreateVendor) -> ApiResult<NewVendor> {
    let page =
        check_url(&input.page_url).map_err(|p| ApiError::validation(format!("`page_url`: {p}")))?;
    let (adapter, source_url, page_name) = match input.adapter {
        Some(adapter) => (adapter, input.source_url, None),
        None => {
            let probe = match &input.source_url {
                Some(s) => {
                    check_url(s).map_err(|p| ApiError::validation(format!("`source_url`: {p}")))?
                }
                None => page.clone(),
            };
            let Detected {
                adapter,
                source_url,
                page_name,
            } = detect(&Fetcher::default(), &probe, state.clock.now())
                .await
                .map_err(|e| {
                    ApiError::validation(format!(
                        "`adapter` was not given and could not be detected: {e}"
                    ))
                })?;
            (adapter, input.source_url.or(source_url), page_name)
        }
    };
    let name = input
        .name
        .or(page_name)
        .unwrap_or_else(|| page.host_str().unwrap_or("vendor").to_string());
    let name = valid_name("name", name)?;
    let slug = input.slug.unwrap_or_else(|| slugify(&name));
    let interval = input.poll_interval_seconds.unwrap_or(DEFAULT_POLL_SECS);
    let problems = validate_vendor(&slug, &input.page_url, source_url.as_deref(), interval);
    if !problems.is_empty() {
        return Err(invalid(problems));
    }
    let new = NewVendor {
        slug,
        name,
        page_url: input.page_url,
        source_url,
        adapter,
        poll_interval_seconds: interval,
        components_of_interest: valid_interest(input.components_of_interest)?,
        enabled: input.enabled.unwrap_or(true),
        managed_by: ManagedBy::Api,
        config_key: None,
    };
    Ok(new)
}

#[utoipa::path(post, path = "/api/v1/vendors/detect", tag = "vendors", request_body = DetectRequest,
    responses((status = 200, description = "The adapter that reads this URL", body = Detected)))]
pub async fn detect_adapter(
    State(state): State<AppState>,
    ApiJson(input): ApiJson<DetectRequest>,
) -> ApiResult<Json<Detected>> {
    let url = check_url(&input.url).map_err(|p| ApiError::validation(format!("`url`: {p}")))?;
    detect(&Fetcher::default(), &url, state.clock.now())
        .await
        .map(Json)
        .map_err(ApiError::validation)
}

#[utoipa::path(get, path = "/api/v1/vendors/{vendor}", tag = "vendors",
    params(("vendor" = String, Path, description = "Vendor id or slug")),
    responses((status = 200, description = "The vendor and its source's state", body = Vendor)))]
pub async fn get(
    State(state): State<AppState>,
    ApiPath(key): ApiPath<String>,
) -> ApiResult<Json<Vendor>> {
    Ok(Json(find(&state, &key).await?))
}

#[utoipa::path(patch, path = "/api/v1/vendors/{vendor}", tag = "vendors", request_body = UpdateVendor,
    params(("vendor" = String, Path, description = "Vendor id or slug")),
    responses((status = 200, description = "Updated; takes effect at once", body = Vendor)))]
pub async fn update(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    ApiPath(key): ApiPath<String>,
    ApiJson(input): ApiJson<UpdateVendor>,
) -> ApiResult<Json<Vendor>> {
    let current = find(&state, &key).await?;
    let page_url = input.page_url.clone().unwrap_or(current.page_url.clone());
    let source_url = input
        .source_url
        .clone()
        .unwrap_or(current.source_url.clone());
    let interval = input
        .poll_interval_seconds
        .unwrap_or(current.poll_interval_seconds);
    let problems = validate_vendor(&current.slug, &page_url, source_url.as_deref(), interval);
    if !problems.is_empty() {
        return Err(invalid(problems));
    }
    let patch = VendorPatch {
        name: input.name.map(|n| valid_name("name", n)).transpose()?,
        page_url: input.page_url,
        source_url: input.source_url,
        adapter: input.adapter,
        poll_interval_seconds: input.poll_interval_seconds,
        components_of_interest: input
            .components_of_interest
            .map(valid_interest)
            .transpose()?,
        enabled: input.enabled,
    };
    Ok(Json(
        state
            .store
            .update_vendor(current.id, patch, &who.actor())
            .await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/vendors/{vendor}", tag = "vendors",
    params(("vendor" = String, Path, description = "Vendor id or slug")),
    responses((status = 204, description = "Deleted with everything seen on its page")))]
pub async fn delete(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    ApiPath(key): ApiPath<String>,
) -> ApiResult<StatusCode> {
    let vendor = find(&state, &key).await?;
    state.store.delete_vendor(vendor.id, &who.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/vendors/{vendor}/poll", tag = "vendors",
    params(("vendor" = String, Path, description = "Vendor id or slug")),
    responses((status = 200, description = "Polled now; what the poll found", body = PollSummary)))]
pub async fn poll_now(
    State(state): State<AppState>,
    ApiPath(key): ApiPath<String>,
) -> ApiResult<Json<PollSummary>> {
    let vendor = find(&state, &key).await?;
    let Some(poller) = &state.vendors else {
        return Err(ApiError::unavailable());
    };
    // A vendor created a moment ago may not have reached the poller yet: it follows the
    // event log every couple of seconds at most.
    let mut last = String::new();
    for _ in 0..30 {
        match poller.poll_now(vendor.id).await {
            Ok(summary) => return Ok(Json(summary)),
            Err(e) => last = e,
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    Err(ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "poller_unavailable",
        last,
    ))
}

#[utoipa::path(get, path = "/api/v1/vendors/{vendor}/components", tag = "vendors",
    params(("vendor" = String, Path, description = "Vendor id or slug")),
    responses((status = 200, description = "The vendor's components in its order (removed ones have `removed_at`)", body = Vec<VendorComponentRecord>)))]
pub async fn components(
    State(state): State<AppState>,
    ApiPath(key): ApiPath<String>,
) -> ApiResult<Json<Vec<VendorComponentRecord>>> {
    let vendor = find(&state, &key).await?;
    Ok(Json(state.store.vendor_state(vendor.id).await?.components))
}

#[utoipa::path(get, path = "/api/v1/vendors/{vendor}/incidents", tag = "vendors",
    params(("vendor" = String, Path, description = "Vendor id or slug"), IncidentsQuery),
    responses((status = 200, description = "The vendor's incidents and maintenances, newest first, with their updates", body = Vec<VendorIncidentRecord>)))]
pub async fn incidents(
    State(state): State<AppState>,
    ApiPath(key): ApiPath<String>,
    ApiQuery(query): ApiQuery<IncidentsQuery>,
) -> ApiResult<Json<Vec<VendorIncidentRecord>>> {
    let kind = match query.kind.as_deref() {
        None => None,
        Some("incident") => Some(RecordKind::Incident),
        Some("maintenance") => Some(RecordKind::Maintenance),
        Some(other) => {
            return Err(ApiError::bad_request(
                "invalid_query",
                format!("`kind` must be `incident` or `maintenance`, not `{other}`"),
            ))
        }
    };
    let limit = query.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("`limit` must be 1 to 500, not {limit}"),
        ));
    }
    let vendor = find(&state, &key).await?;
    let records = state
        .store
        .vendor_state(vendor.id)
        .await?
        .incidents
        .into_iter()
        .filter(|r| kind.is_none_or(|k| r.kind == k))
        .take(limit as usize)
        .collect();
    Ok(Json(records))
}

#[utoipa::path(get, path = "/api/v1/vendors/{vendor}/incidents/{id}", tag = "vendors",
    params(("vendor" = String, Path, description = "Vendor id or slug"),
           ("id" = String, Path, description = "Vendor incident id (Pharos's) or the vendor's own id")),
    responses((status = 200, description = "One incident or maintenance with its timeline", body = VendorIncidentRecord)))]
pub async fn incident(
    State(state): State<AppState>,
    ApiPath((key, id)): ApiPath<(String, String)>,
) -> ApiResult<Json<VendorIncidentRecord>> {
    let vendor = find(&state, &key).await?;
    state
        .store
        .vendor_state(vendor.id)
        .await?
        .incidents
        .into_iter()
        .find(|r| r.id.to_string() == id || r.external_id.as_deref() == Some(id.as_str()))
        .map(Json)
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "vendor `{}` has no incident `{}`",
                vendor.slug,
                crate::vendor::adapter::text::truncate(&id, 80)
            ))
        })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateDependency {
    /// Your component that depends on the vendor.
    #[schema(value_type = String, format = Uuid)]
    pub component_id: crate::domain::ComponentId,
    /// The vendor component it depends on: its external id or its name. Absent: the whole
    /// vendor (any of the components it follows).
    pub vendor_component: Option<String>,
    /// The status your component takes while the dependency is degraded or worse:
    /// `degraded_performance`, `partial_outage` or `major_outage`. Absent: the page only shows
    /// "Upstream: ...".
    pub set_status: Option<crate::domain::ComponentStatus>,
    /// Prepare an incident draft when the upstream goes bad, for a responder to publish with
    /// one call (`POST /api/v1/incident-drafts/{id}/publish`). Default false.
    #[serde(default)]
    pub draft_incident: bool,
}

#[utoipa::path(get, path = "/api/v1/vendors/{vendor}/dependencies", tag = "vendors",
    params(("vendor" = String, Path, description = "Vendor id or slug")),
    responses((status = 200, description = "Your components that depend on this vendor", body = Vec<crate::vendor::record::Dependency>)))]
pub async fn dependencies(
    State(state): State<AppState>,
    ApiPath(key): ApiPath<String>,
) -> ApiResult<Json<Vec<crate::vendor::record::Dependency>>> {
    let vendor = find(&state, &key).await?;
    Ok(Json(state.store.dependencies(Some(vendor.id)).await?))
}

#[utoipa::path(post, path = "/api/v1/vendors/{vendor}/dependencies", tag = "vendors", request_body = CreateDependency,
    params(("vendor" = String, Path, description = "Vendor id or slug")),
    responses((status = 201, description = "Created; the component's status follows at once when `set_status` is given", body = crate::vendor::record::Dependency)))]
pub async fn create_dependency(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    ApiPath(key): ApiPath<String>,
    ApiJson(input): ApiJson<CreateDependency>,
) -> ApiResult<(StatusCode, Json<crate::vendor::record::Dependency>)> {
    let vendor = find(&state, &key).await?;
    let new = new_dependency(&state, &vendor, input).await?;
    let dependency = state.store.create_dependency(new, &who.actor()).await?;
    Ok((StatusCode::CREATED, Json(dependency)))
}

/// A dependency on `vendor` from the request, validated, its vendor component resolved by
/// external id or name (shared with the admin UI).
pub(crate) async fn new_dependency(
    state: &AppState,
    vendor: &Vendor,
    input: CreateDependency,
) -> ApiResult<crate::vendor::record::NewDependency> {
    use crate::domain::ComponentStatus;
    if let Some(status) = input.set_status {
        if !matches!(
            status,
            ComponentStatus::DegradedPerformance
                | ComponentStatus::PartialOutage
                | ComponentStatus::MajorOutage
        ) {
            return Err(ApiError::validation(format!(
                "`set_status` `{status}` cannot be held by a dependency; use degraded_performance, partial_outage or major_outage, or leave it out to only show the upstream problem"
            )));
        }
    }
    let vendor_component = match input.vendor_component.map(|c| c.trim().to_string()) {
        None => None,
        Some(c) if c.is_empty() => {
            return Err(ApiError::validation(
                "`vendor_component` is empty; leave it out to depend on the whole vendor",
            ))
        }
        Some(c) => {
            let components = state.store.vendor_state(vendor.id).await?.components;
            if components.is_empty() {
                // Not polled yet: take the id as given.
                Some(c)
            } else {
                match components
                    .iter()
                    .find(|vc| vc.external_id == c)
                    .or_else(|| {
                        components
                            .iter()
                            .find(|vc| vc.name.eq_ignore_ascii_case(&c))
                    }) {
                    Some(vc) => Some(vc.external_id.clone()),
                    None => {
                        return Err(ApiError::validation(format!(
                        "vendor `{}` has no component `{}`; see GET /api/v1/vendors/{}/components",
                        vendor.slug,
                        crate::vendor::adapter::text::truncate(&c, 80),
                        vendor.slug
                    )))
                    }
                }
            }
        }
    };
    Ok(crate::vendor::record::NewDependency {
        component_id: input.component_id,
        vendor_id: vendor.id,
        vendor_component,
        set_status: input.set_status,
        draft_incident: input.draft_incident,
    })
}

#[utoipa::path(delete, path = "/api/v1/vendors/{vendor}/dependencies/{id}", tag = "vendors",
    params(("vendor" = String, Path, description = "Vendor id or slug"),
           ("id" = String, Path, description = "Dependency id")),
    responses((status = 204, description = "Deleted; what it held on the component is released")))]
pub async fn delete_dependency(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    ApiPath((key, id)): ApiPath<(String, crate::domain::DependencyId)>,
) -> ApiResult<StatusCode> {
    let vendor = find(&state, &key).await?;
    let known = state.store.dependencies(Some(vendor.id)).await?;
    if !known.iter().any(|d| d.id == id) {
        return Err(ApiError::not_found(format!(
            "vendor `{}` has no dependency `{id}`",
            vendor.slug
        )));
    }
    state.store.delete_dependency(id, &who.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/incident-drafts", tag = "vendors",
    responses((status = 200, description = "Incident drafts prepared by vendor dependencies, waiting for a responder", body = Vec<crate::vendor::record::IncidentDraft>)))]
pub async fn drafts(
    State(state): State<AppState>,
) -> ApiResult<Json<Vec<crate::vendor::record::IncidentDraft>>> {
    Ok(Json(state.store.incident_drafts().await?))
}

#[utoipa::path(post, path = "/api/v1/incident-drafts/{id}/publish", tag = "vendors",
    params(("id" = String, Path, description = "Draft id")),
    responses((status = 201, description = "The incident the draft prepared, now open and public", body = crate::domain::model::Incident)))]
pub async fn publish_draft(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    ApiPath(id): ApiPath<uuid::Uuid>,
) -> ApiResult<(StatusCode, Json<crate::domain::model::Incident>)> {
    let incident = state.store.publish_incident_draft(id, &who.actor()).await?;
    Ok((StatusCode::CREATED, Json(incident)))
}

#[utoipa::path(delete, path = "/api/v1/incident-drafts/{id}", tag = "vendors",
    params(("id" = String, Path, description = "Draft id")),
    responses((status = 204, description = "Dismissed")))]
pub async fn dismiss_draft(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    ApiPath(id): ApiPath<uuid::Uuid>,
) -> ApiResult<StatusCode> {
    state.store.dismiss_incident_draft(id, &who.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}
