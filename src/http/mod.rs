//! HTTP: the router (every route is listed in [`router`]), the management API (`api_v1`),
//! its OpenAPI document, errors, authentication and the operations endpoints.
//!
//! Layers, outermost first: panic catching (a panic becomes a JSON 500, never a dropped
//! connection), the 1 MiB body limit, then [`AroundEveryRequest`] (request span and log
//! line, security headers, request metrics). Authentication is a route layer on `/api/v1`
//! only, so an unknown path is a plain 404 whatever the token.

pub mod admin;
pub mod api_v1;
pub mod api_v2;
pub mod auth;
pub mod client;
pub mod error;
pub mod extract;
pub mod openapi;
pub mod ops;
pub mod public;

use crate::clock::Clock;
use crate::config::PageSettings;
use crate::store::Store;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::{middleware, Json, Router};
use error::ApiError;
use std::sync::Arc;
use tower_http::catch_panic::CatchPanicLayer;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Request bodies above this are refused with 413.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// What every handler can reach: one `Arc`, so the clone axum makes for every request is one
/// atomic increment (cloning each field's `Arc` was 20 increments and as many decrements on
/// cache lines both cores share: 5 % of the CPU of a public request under load).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> AppState {
        AppState(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The parts of [`AppState`].
pub struct Shared {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub auth_limiter: Arc<auth::FailureLimiter>,
    /// The configuration's page settings: the address, and which fields the configuration
    /// sets. The page as shown now (with what the web UI stored) is the snapshot's
    /// `state.page`; see [`Shared::page_name`].
    pub page: Arc<PageSettings>,
    pub openapi: Arc<serde_json::Value>,
    /// The public snapshot every public response is served from.
    pub snapshot: Arc<crate::snapshot::SnapshotCell>,
    /// False while the database has not yet been reached and migrated (it was away at start).
    pub db_ready: Arc<std::sync::atomic::AtomicBool>,
    /// The monitor scheduler, for push heartbeats; none where no scheduler runs.
    pub monitors: Option<crate::monitor::scheduler::Monitors>,
    /// The vendor poller, for "poll now".
    pub vendors: Option<crate::vendor::poller::Vendors>,
    /// Whether `/vendors` pages are public (`[vendors] public`).
    pub vendors_public: bool,
    /// Rendered vendor pages, each read from the database at most every few seconds.
    pub vendor_pages: Arc<public::html::vendors::VendorPages>,
    /// Old months of the history and their incidents, read from the database at most every
    /// few seconds.
    pub history_pages: Arc<public::html::history::HistoryPages>,
    /// The notification engine's handle ("send test", the alarm, signed links); none when
    /// notifications are off.
    pub notifications: Option<crate::notify::worker::Notifications>,
    /// Subscription requests from the page, counted per client and per address.
    pub subscribe_limits: Arc<public::html::subscribe::SubscribeLimits>,
    /// The web UI's settings and failed sign-ins per client (`http/admin`).
    pub admin: Arc<admin::AdminState>,
    /// Whose `X-Forwarded-For` is believed ([`Shared::client_ip`]).
    pub trusted_proxies: client::TrustedProxies,
}

impl Shared {
    /// The address a request comes from: the TCP peer's, or behind a trusted reverse proxy
    /// the client it forwards for (see [`client`]). Every per-address limit and the session
    /// list use this.
    pub fn client_ip(
        &self,
        extensions: &axum::http::Extensions,
        headers: &axum::http::HeaderMap,
    ) -> Option<std::net::IpAddr> {
        self.trusted_proxies.client_of(extensions, headers)
    }

    /// The page's name as shown now: the configuration's, or the one stored from the web UI
    /// (`/admin/settings`), from the current snapshot, so a change shows without a restart.
    pub fn page_name(&self) -> String {
        self.snapshot.load().state.page.name.clone()
    }
}

/// Every route, with the OpenAPI description each handler carries. With a state, `/api/v1`
/// gets its authentication layer; without, the routes serve only to build the document.
fn routes(auth_state: Option<AppState>) -> OpenApiRouter<AppState> {
    use api_v1::*;
    let api = OpenApiRouter::with_openapi(openapi::base())
        .routes(routes!(groups::list, groups::create))
        .routes(routes!(groups::get, groups::update, groups::delete))
        .routes(routes!(components::list, components::create))
        .routes(routes!(
            components::get,
            components::update,
            components::delete
        ))
        .routes(routes!(components::history))
        .routes(routes!(incidents::list, incidents::create))
        .routes(routes!(
            incidents::get,
            incidents::update,
            incidents::delete
        ))
        .routes(routes!(incidents::post_update))
        .routes(routes!(incidents::edit_update, incidents::delete_update))
        .routes(routes!(incidents::resolve))
        .routes(routes!(incidents::put_postmortem))
        .routes(routes!(
            incident_templates::list,
            incident_templates::create
        ))
        .routes(routes!(
            incident_templates::get,
            incident_templates::update,
            incident_templates::delete
        ))
        .routes(routes!(maintenances::list, maintenances::create))
        .routes(routes!(maintenances::get, maintenances::update))
        .routes(routes!(maintenances::cancel))
        .routes(routes!(monitors::list, monitors::create))
        .routes(routes!(monitors::get, monitors::update, monitors::delete))
        .routes(routes!(monitors::checks))
        .routes(routes!(monitors::uptime))
        .routes(routes!(monitors::rollups))
        .routes(routes!(monitors::latency_chart))
        .routes(routes!(vendors::list, vendors::create))
        .routes(routes!(vendors::detect_adapter))
        .routes(routes!(vendors::get, vendors::update, vendors::delete))
        .routes(routes!(vendors::poll_now))
        .routes(routes!(vendors::components))
        .routes(routes!(vendors::incidents))
        .routes(routes!(vendors::incident))
        .routes(routes!(vendors::dependencies, vendors::create_dependency))
        .routes(routes!(vendors::delete_dependency))
        .routes(routes!(vendors::drafts))
        .routes(routes!(vendors::publish_draft))
        .routes(routes!(vendors::dismiss_draft))
        .routes(routes!(
            notifications::list_channels,
            notifications::create_channel
        ))
        .routes(routes!(
            notifications::get_channel,
            notifications::update_channel,
            notifications::delete_channel
        ))
        .routes(routes!(notifications::test_channel))
        .routes(routes!(
            notifications::list_subscribers,
            notifications::create_subscriber
        ))
        .routes(routes!(
            notifications::get_subscriber,
            notifications::update_subscriber,
            notifications::delete_subscriber
        ))
        .routes(routes!(notifications::list_deliveries))
        .routes(routes!(notifications::get_delivery))
        .routes(routes!(notifications::retry_delivery))
        .routes(routes!(notifications::status))
        .routes(routes!(
            notifications::list_policies,
            notifications::create_policy
        ))
        .routes(routes!(
            notifications::get_policy,
            notifications::update_policy,
            notifications::delete_policy
        ))
        .routes(routes!(notifications::list_escalations))
        .routes(routes!(notifications::get_escalation))
        .routes(routes!(notifications::acknowledge_escalation))
        .routes(routes!(page::get, page::update))
        .routes(routes!(events::list));
    let api = match auth_state {
        Some(state) => api.route_layer(middleware::from_fn_with_state(state, auth::require_token)),
        None => api,
    };
    // Public routes come after the layer, which applies only to the routes before it.
    api.routes(routes!(openapi::serve))
        // Push monitors' heartbeats: the secret in the URL is the credential.
        .routes(routes!(api_v1::monitors::push, api_v1::monitors::push_get))
        .routes(routes!(public::summary))
        .routes(routes!(public::status))
        .routes(routes!(public::components))
        .routes(routes!(public::incidents))
        .routes(routes!(public::unresolved))
        .routes(routes!(public::maintenances))
        .routes(routes!(public::upcoming))
        .routes(routes!(public::active))
        // HTML pages (public/html.rs):
        .routes(routes!(public::html::index))
        .routes(routes!(public::html::history))
        .routes(routes!(public::html::history::month))
        .routes(routes!(public::html::incident))
        .routes(routes!(public::html::embed))
        .routes(routes!(public::html::vendors::list))
        .routes(routes!(public::html::vendors::vendor))
        .routes(routes!(public::html::vendors::incident))
        .routes(routes!(public::html::vendors::atom))
        .routes(routes!(public::html::monitors::page))
        .routes(routes!(public::html::monitors::latency_chart))
        .routes(routes!(
            public::html::subscribe::subscribe_form,
            public::html::subscribe::subscribe
        ))
        .routes(routes!(public::html::subscribe::confirm))
        .routes(routes!(
            public::html::subscribe::acknowledge_page,
            public::html::subscribe::acknowledge
        ))
        .routes(routes!(
            public::html::subscribe::unsubscribe_page,
            public::html::subscribe::unsubscribe
        ))
        .routes(routes!(public::html::stylesheet))
        .routes(routes!(public::html::script))
        .routes(routes!(public::html::theme))
        // Feeds and badges (public/feeds.rs):
        .routes(routes!(public::feeds::atom))
        .routes(routes!(public::feeds::rss))
        .routes(routes!(public::feeds::page_badge))
        .routes(routes!(public::feeds::component_badge))
        .routes(routes!(public::feeds::uptime_badge))
        // The admin UI (http/admin/):
        .routes(routes!(admin::pages::dashboard::show))
        .routes(routes!(
            admin::pages::auth::login_form,
            admin::pages::auth::login
        ))
        .routes(routes!(
            admin::pages::auth::totp_form,
            admin::pages::auth::totp_submit
        ))
        .routes(routes!(admin::pages::auth::logout))
        .routes(routes!(admin::pages::auth::logout_everywhere))
        .routes(routes!(
            admin::pages::auth::setup_form,
            admin::pages::auth::setup
        ))
        .routes(routes!(admin::pages::account::show))
        .routes(routes!(
            admin::pages::account::password_form,
            admin::pages::account::change_password
        ))
        .routes(routes!(admin::pages::account::end_session))
        .routes(routes!(admin::pages::account::totp_start))
        .routes(routes!(admin::pages::account::totp_enable))
        .routes(routes!(admin::pages::account::totp_disable))
        .routes(routes!(
            admin::pages::users::list,
            admin::pages::users::create
        ))
        .routes(routes!(admin::pages::users::set_role))
        .routes(routes!(admin::pages::users::set_disabled))
        .routes(routes!(admin::pages::users::reset_password))
        .routes(routes!(admin::pages::users::delete))
        .routes(routes!(
            admin::pages::tokens::list,
            admin::pages::tokens::create
        ))
        .routes(routes!(admin::pages::tokens::revoke))
        .routes(routes!(admin::pages::audit::list))
        .routes(routes!(
            admin::pages::settings::show,
            admin::pages::settings::save
        ))
        // Monitors (admin/pages/monitors.rs):
        .routes(routes!(
            admin::pages::monitors::list,
            admin::pages::monitors::create
        ))
        .routes(routes!(admin::pages::monitors::new_form))
        .routes(routes!(admin::pages::monitors::test_form))
        .routes(routes!(
            admin::pages::monitors::show,
            admin::pages::monitors::update
        ))
        .routes(routes!(admin::pages::monitors::edit_form))
        .routes(routes!(admin::pages::monitors::pause))
        .routes(routes!(admin::pages::monitors::resume))
        .routes(routes!(
            admin::pages::monitors::delete_confirm,
            admin::pages::monitors::delete
        ))
        .routes(routes!(admin::pages::monitors::test_stored))
        // Components and groups (admin/pages/components.rs):
        .routes(routes!(
            admin::pages::components::list,
            admin::pages::components::create
        ))
        .routes(routes!(admin::pages::components::new_form))
        .routes(routes!(admin::pages::components::update))
        .routes(routes!(admin::pages::components::edit_form))
        .routes(routes!(admin::pages::components::set_status))
        .routes(routes!(admin::pages::components::move_component))
        .routes(routes!(
            admin::pages::components::delete_component_confirm,
            admin::pages::components::delete_component
        ))
        .routes(routes!(admin::pages::components::create_group))
        .routes(routes!(admin::pages::components::rename_group))
        .routes(routes!(admin::pages::components::move_group))
        .routes(routes!(
            admin::pages::components::delete_group_confirm,
            admin::pages::components::delete_group
        ))
        // Notifications (admin/pages/notifications/):
        .routes(routes!(admin::pages::notifications::overview))
        .routes(routes!(admin::pages::notifications::channels::new_form))
        .routes(routes!(admin::pages::notifications::channels::create))
        .routes(routes!(
            admin::pages::notifications::channels::show,
            admin::pages::notifications::channels::update
        ))
        .routes(routes!(admin::pages::notifications::channels::set_enabled))
        .routes(routes!(admin::pages::notifications::channels::delete))
        .routes(routes!(admin::pages::notifications::channels::test))
        .routes(routes!(admin::pages::notifications::outbox::subscribers))
        .routes(routes!(
            admin::pages::notifications::outbox::confirm_subscriber
        ))
        .routes(routes!(
            admin::pages::notifications::outbox::delete_subscriber
        ))
        .routes(routes!(admin::pages::notifications::outbox::deliveries))
        .routes(routes!(admin::pages::notifications::outbox::retry))
        .routes(routes!(admin::pages::notifications::escalation::show))
        .routes(routes!(
            admin::pages::notifications::escalation::create_policy
        ))
        .routes(routes!(
            admin::pages::notifications::escalation::policy,
            admin::pages::notifications::escalation::update_policy
        ))
        .routes(routes!(
            admin::pages::notifications::escalation::delete_policy
        ))
        .routes(routes!(
            admin::pages::notifications::escalation::acknowledge
        ))
        // Incidents (admin/pages/incidents.rs):
        .routes(routes!(
            admin::pages::incidents::list,
            admin::pages::incidents::create
        ))
        .routes(routes!(admin::pages::incidents::new_form))
        .routes(routes!(admin::pages::incidents::show))
        .routes(routes!(admin::pages::incidents::post_update))
        .routes(routes!(admin::pages::incidents::resolve))
        .routes(routes!(admin::pages::incidents::details))
        .routes(routes!(admin::pages::incidents::edit_update))
        .routes(routes!(admin::pages::incidents::delete_update))
        .routes(routes!(admin::pages::incidents::postmortem))
        .routes(routes!(
            admin::pages::incidents::delete_form,
            admin::pages::incidents::delete
        ))
        .routes(routes!(admin::pages::incidents::preview))
        .routes(routes!(
            admin::pages::incident_templates::list,
            admin::pages::incident_templates::create
        ))
        .routes(routes!(admin::pages::incident_templates::new_form))
        .routes(routes!(
            admin::pages::incident_templates::edit_form,
            admin::pages::incident_templates::save
        ))
        .routes(routes!(admin::pages::incident_templates::delete))
        // Maintenances (admin/pages/maintenances.rs):
        .routes(routes!(
            admin::pages::maintenances::list,
            admin::pages::maintenances::create
        ))
        .routes(routes!(admin::pages::maintenances::new_form))
        .routes(routes!(
            admin::pages::maintenances::show,
            admin::pages::maintenances::save
        ))
        .routes(routes!(admin::pages::maintenances::cancel))
        .routes(routes!(admin::pages::incidents::script))
        // Vendors (admin/pages/vendors.rs):
        .routes(routes!(
            admin::pages::vendors::list,
            admin::pages::vendors::follow_url
        ))
        .routes(routes!(admin::pages::vendors::follow_catalog))
        .routes(routes!(admin::pages::vendors::detect_url))
        .routes(routes!(admin::pages::vendors::show))
        .routes(routes!(admin::pages::vendors::set_interest))
        .routes(routes!(admin::pages::vendors::add_dependency))
        .routes(routes!(admin::pages::vendors::remove_dependency))
        .routes(routes!(admin::pages::vendors::poll_now))
        .routes(routes!(admin::pages::vendors::set_enabled))
        .routes(routes!(admin::pages::vendors::delete))
        .routes(routes!(admin::pages::vendors::publish_draft))
        .routes(routes!(admin::pages::vendors::dismiss_draft))
        .routes(routes!(admin::stylesheet))
        .routes(routes!(ops::healthz))
        .routes(routes!(ops::readyz))
        .routes(routes!(ops::metrics))
}

/// The OpenAPI document of every route, completed with the shared error responses.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    let (_, doc) = routes(None).split_for_parts();
    openapi::finish(doc)
}

/// Every route Pharos serves. All are registered through [`routes`], so each one is in the
/// OpenAPI document.
pub fn router(state: AppState) -> Router {
    let (router, _) = routes(Some(state.clone())).split_for_parts();
    router
        .fallback(route_not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(tower::layer::layer_fn(|inner| AroundEveryRequest { inner }))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(CatchPanicLayer::custom(
            |_panic: Box<dyn std::any::Any + Send>| {
                tracing::error!("a request handler panicked");
                ApiError::internal().into_response()
            },
        ))
        .with_state(state)
}

/// What every request needs around its handler, as one layer: a `request` span (at DEBUG, so
/// free unless enabled) with a log line per answer (DEBUG; server errors at WARN or ERROR),
/// the security headers of HTML answers ([`admin::headers::SecurityHeaders`]) and the request
/// metrics ([`ops::RequestMetrics`]). A hand-written service rather than
/// `middleware::from_fn`, which boxes every request's future and clones the boxed inner
/// service per request: on the public hot path that and tower-http's trace layer cost about
/// a sixth of a small response's CPU time.
#[derive(Clone)]
struct AroundEveryRequest<S> {
    inner: S,
}

impl<S> tower::Service<axum::extract::Request> for AroundEveryRequest<S>
where
    S: tower::Service<axum::extract::Request, Response = axum::response::Response>,
{
    type Response = axum::response::Response;
    type Error = S::Error;
    type Future = AroundEveryRequestFuture<S::Future>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: axum::extract::Request) -> Self::Future {
        let span = tracing::debug_span!("request", method = %req.method(), uri = %req.uri());
        let headers = admin::headers::SecurityHeaders::for_path(req.uri().path());
        let metrics = ops::RequestMetrics::start(&req);
        let inner = {
            let _entered = span.enter();
            self.inner.call(req)
        };
        AroundEveryRequestFuture {
            inner,
            span,
            after: Some((headers, metrics)),
        }
    }
}

pin_project_lite::pin_project! {
    struct AroundEveryRequestFuture<F> {
        #[pin]
        inner: F,
        span: tracing::Span,
        after: Option<(admin::headers::SecurityHeaders, ops::RequestMetrics)>,
    }
}

impl<F, E> std::future::Future for AroundEveryRequestFuture<F>
where
    F: std::future::Future<Output = Result<axum::response::Response, E>>,
{
    type Output = F::Output;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        let this = self.project();
        let _entered = this.span.enter();
        let mut response = std::task::ready!(this.inner.poll(cx))?;
        if let Some((headers, metrics)) = this.after.take() {
            headers.apply(&mut response);
            metrics.finish(&response);
        }
        std::task::Poll::Ready(Ok(response))
    }
}

async fn route_not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "route_not_found",
        "there is no such endpoint; the management API is described at /api/v1/openapi.json",
    )
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not accept that method; see /api/v1/openapi.json",
    )
}

/// `{"status": "..."}`, for the operations endpoints.
pub(crate) fn status_json(status: &str) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": status }))
}
