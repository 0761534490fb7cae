//! Subscribing from the status page, and acknowledging escalations, without an account: `/subscribe` (a form: an email
//! address with double opt-in, or a webhook URL; the components to follow and, when vendor
//! pages are public (`[vendors] public`), the followed vendors whose news to receive;
//! maintenance notices or not), `/subscribe/confirm?token=` (the link in the confirmation mail) and
//! `/unsubscribe?token=` (the signed link in every message; a GET shows a button, a POST
//! unsubscribes, which is also RFC 8058's one-click), and `/acknowledge?token=` (the signed
//! link in an escalation's messages; a GET shows a button, a POST acknowledges).
//!
//! Safety: the form carries a signed, time-limited token that must match its cookie
//! (double submit), so another site cannot post it; requests are limited per client and per
//! address; the page says the same thing whether or not an address was already subscribed, so
//! it does not reveal who follows the page; anonymous webhooks may not point at private
//! addresses (unless `[notifications] allow_private_targets`). Addresses never reach logs.

use super::{render, Layout};
use crate::events::Actor;
use crate::http::public::{respond, Cors};
use crate::http::AppState;
use crate::notify::links::{LinkPurpose, Links};
use crate::notify::record::{
    address_key, validate_subscriber, NewSubscriber, SubscriberKind, SubscriberOrigin,
};
use crate::snapshot::Snapshot;
use crate::store::StoreError;
use askama::Template;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The form's cookie (its value must equal the form's hidden `form_token`).
const COOKIE: &str = "pharos_form";
/// How long a form stays valid.
const FORM_TTL: Duration = Duration::from_secs(2 * 3600);
/// Subscription requests per client address, and per subscriber address, per hour.
const PER_CLIENT: usize = 10;
const PER_ADDRESS: usize = 3;
const WINDOW: Duration = Duration::from_secs(3600);
/// Remembered keys at most, so a flood cannot grow memory without bound.
const MAX_TRACKED: usize = 100_000;

/// Requests per key within a sliding window.
#[derive(Debug, Default)]
pub struct SubscribeLimits {
    seen: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl SubscribeLimits {
    /// Counts a request under `key`; false when it is over `max` within the window.
    fn allow(&self, key: String, max: usize) -> bool {
        let now = Instant::now();
        let mut seen = self.seen.lock().expect("limits lock");
        if seen.len() >= MAX_TRACKED {
            seen.retain(|_, times| times.back().is_some_and(|t| now - *t < WINDOW));
        }
        let times = seen.entry(key).or_default();
        while times.front().is_some_and(|t| now - *t >= WINDOW) {
            times.pop_front();
        }
        if times.len() >= max {
            return false;
        }
        times.push_back(now);
        true
    }
}

#[derive(Template)]
#[template(path = "subscribe.html", whitespace = "minimize")]
struct SubscribePage {
    layout: Layout,
    form_token: String,
    components: Vec<(String, String)>,
    /// The followed vendors a reader may choose, when vendor pages are public.
    vendors: Vec<(String, String)>,
    error: Option<String>,
    email: String,
    webhook_url: String,
}

#[derive(Template)]
#[template(path = "subscribe_done.html", whitespace = "minimize")]
struct DonePage {
    layout: Layout,
    heading: String,
    lines: Vec<String>,
    /// A button that posts back to this URL (the unsubscribe confirmation).
    confirm_action: Option<String>,
}

fn page(snapshot: &Snapshot, title: &str, path: &str) -> Layout {
    Layout::new(
        snapshot,
        format!("{title} · {}", snapshot.state.page.name),
        path,
        "",
    )
}

fn html(status: StatusCode, template: &impl Template, extra: Option<HeaderValue>) -> Response {
    let rendered = render(template);
    let mut response = respond(&rendered, &HeaderMap::new(), Cors::SameOrigin);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.remove(header::ETAG);
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(cookie) = extra {
        headers.insert(header::SET_COOKIE, cookie);
    }
    response
}

fn done(
    state: &AppState,
    status: StatusCode,
    heading: &str,
    lines: &[&str],
    confirm_action: Option<String>,
) -> Response {
    let snapshot = state.snapshot.load();
    html(
        status,
        &DonePage {
            layout: page(&snapshot, heading, "/subscribe"),
            heading: heading.into(),
            lines: lines.iter().map(|l| l.to_string()).collect(),
            confirm_action,
        },
        None,
    )
}

fn unavailable(state: &AppState) -> Response {
    done(
        state,
        StatusCode::SERVICE_UNAVAILABLE,
        "Subscriptions are unavailable",
        &["Subscribing is not possible right now. Please try again later."],
        None,
    )
}

fn links(state: &AppState) -> Option<Links> {
    state.notifications.as_ref().and_then(|n| n.links())
}

/// A fresh form token: `<issued-at>-<nonce>.<signature>`.
fn form_token(links: &Links) -> String {
    let nonce: u64 = rand::random();
    let issued = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    links.token(LinkPurpose::Form, &format!("{issued}-{nonce:x}"))
}

fn form_token_valid(links: &Links, token: &str) -> bool {
    let Some(id) = links.verify(LinkPurpose::Form, token) else {
        return false;
    };
    let issued: u64 = id
        .split('-')
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    now.saturating_sub(issued) <= FORM_TTL.as_secs()
}

fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// The vendors a reader may follow, as (id, name): the enabled ones, when vendor pages are
/// public; none when they are not or the store cannot be read.
async fn public_vendors(state: &AppState) -> Vec<(String, String)> {
    if !state.vendors_public {
        return Vec::new();
    }
    match state.store.all_vendors().await {
        Ok(vendors) => vendors
            .into_iter()
            .filter(|v| v.enabled)
            .map(|v| (v.id.to_string(), v.name))
            .collect(),
        Err(err) => {
            tracing::warn!(error = %err, "cannot read the vendors for the subscribe form");
            Vec::new()
        }
    }
}

async fn form(
    state: &AppState,
    links: &Links,
    status: StatusCode,
    error: Option<String>,
    email: String,
    webhook_url: String,
) -> Response {
    let snapshot = state.snapshot.load();
    let token = form_token(links);
    let components = snapshot
        .state
        .components
        .iter()
        .map(|c| (c.id.to_string(), c.name.clone()))
        .collect();
    let vendors = public_vendors(state).await;
    let secure = if state.page.url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let cookie = HeaderValue::from_str(&format!(
        "{COOKIE}={token}; Path=/subscribe; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        FORM_TTL.as_secs()
    ))
    .ok();
    html(
        status,
        &SubscribePage {
            layout: page(&snapshot, "Subscribe to updates", "/subscribe"),
            form_token: token,
            components,
            vendors,
            error,
            email,
            webhook_url,
        },
        cookie,
    )
}

#[utoipa::path(get, path = "/subscribe", tag = "public", security(()),
    responses((status = 200, description = "The subscribe form: email (double opt-in) or webhook, components, maintenance notices", content_type = "text/html")))]
pub async fn subscribe_form(State(state): State<AppState>) -> Response {
    match links(&state) {
        Some(links) => {
            form(
                &state,
                &links,
                StatusCode::OK,
                None,
                String::new(),
                String::new(),
            )
            .await
        }
        None => unavailable(&state),
    }
}

#[utoipa::path(post, path = "/subscribe", tag = "public", security(()),
    request_body(content = String, content_type = "application/x-www-form-urlencoded",
        description = "kind=email|webhook, email, webhook_url, component (repeated), maintenance=on, form_token"),
    responses((status = 200, description = "Accepted: a confirmation mail is on its way (email) or the webhook is subscribed", content_type = "text/html"),
              (status = 400, description = "The form has a mistake; shown again with what to fix", content_type = "text/html"),
              (status = 403, description = "The form is stale or was not posted from this site", content_type = "text/html"),
              (status = 429, description = "Too many subscription requests", content_type = "text/html")))]
pub async fn subscribe(
    State(state): State<AppState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(links) = links(&state) else {
        return unavailable(&state);
    };
    let mut kind = String::from("email");
    let mut email = String::new();
    let mut webhook_url = String::new();
    let mut token = String::new();
    let mut components = Vec::new();
    let mut vendors = Vec::new();
    let mut maintenance = false;
    for (key, value) in url::form_urlencoded::parse(&body) {
        match key.as_ref() {
            "kind" => kind = value.into_owned(),
            "email" => email = value.trim().to_string(),
            "webhook_url" => webhook_url = value.trim().to_string(),
            "form_token" => token = value.into_owned(),
            "component" => components.push(value.into_owned()),
            "vendor" => vendors.push(value.into_owned()),
            "maintenance" => maintenance = true,
            _ => {}
        }
    }
    let cookie = cookie_value(&headers, COOKIE);
    if !form_token_valid(&links, &token) || cookie.as_deref() != Some(token.as_str()) {
        return done(
            &state,
            StatusCode::FORBIDDEN,
            "This form has expired",
            &["Please open the subscribe page again and resend the form."],
            None,
        );
    }
    let client_ip: IpAddr = state.trusted_proxies.client(client.ip(), &headers);
    if !state
        .subscribe_limits
        .allow(format!("client:{client_ip}"), PER_CLIENT)
    {
        return done(
            &state,
            StatusCode::TOO_MANY_REQUESTS,
            "Too many requests",
            &["Too many subscription requests came from your network. Please try again in an hour."],
            None,
        );
    }
    let (kind, address) = match kind.as_str() {
        "webhook" => (SubscriberKind::Webhook, webhook_url.clone()),
        _ => (SubscriberKind::Email, email.clone()),
    };
    let known: std::collections::BTreeSet<String> = state
        .snapshot
        .load()
        .state
        .components
        .iter()
        .map(|c| c.id.to_string())
        .collect();
    // Ids the page does not show yet (a component created a moment ago) are checked with
    // the store; anything else is dropped.
    let mut chosen = Vec::new();
    for id in components.into_iter().take(500) {
        let exists = known.contains(&id)
            || match id.parse() {
                Ok(cid) => state.store.get_component(cid).await.is_ok(),
                Err(_) => false,
            };
        if exists && !chosen.contains(&id) {
            chosen.push(id);
        }
    }
    // Vendors only from those the form offers (public and enabled). A reader who chose
    // vendors but no component still follows every component, as "none" means on the form.
    if !vendors.is_empty() {
        let offered = public_vendors(&state).await;
        let vendors: Vec<String> = offered
            .into_iter()
            .map(|(id, _)| id)
            .filter(|id| vendors.contains(id))
            .collect();
        if !vendors.is_empty() && chosen.is_empty() {
            // Every component from the store: the page's snapshot may not show the newest yet.
            match state
                .store
                .list_components(crate::store::PageRequest::first(400))
                .await
            {
                Ok(page) => chosen.extend(page.items.into_iter().map(|c| c.id.to_string())),
                Err(_) => chosen.extend(known.iter().cloned()),
            }
        }
        for id in vendors {
            if !chosen.contains(&id) {
                chosen.push(id);
            }
        }
    }
    let components = chosen;
    let secret =
        (kind == SubscriberKind::Webhook).then(crate::http::api_v1::notifications::new_secret);
    let new = NewSubscriber {
        kind,
        address: address.clone(),
        subjects: components,
        maintenance,
        component_changes: false,
        confirmed: kind == SubscriberKind::Webhook,
        origin: SubscriberOrigin::Page,
        secret: secret.clone(),
    };
    if let Err(problem) = validate_subscriber(&new) {
        let message = match kind {
            SubscriberKind::Email => format!("Please enter a valid email address ({problem})."),
            SubscriberKind::Webhook => format!("Please enter a valid http(s) URL ({problem})."),
        };
        return form(
            &state,
            &links,
            StatusCode::BAD_REQUEST,
            Some(message),
            email,
            webhook_url,
        )
        .await;
    }
    let private_allowed = state
        .notifications
        .as_ref()
        .is_some_and(|n| n.allow_private_targets());
    if kind == SubscriberKind::Webhook
        && !private_allowed
        && crate::notify::channel::is_private_url(&address)
    {
        return form(
            &state,
            &links,
            StatusCode::BAD_REQUEST,
            Some("Webhook URLs must be public addresses.".into()),
            email,
            webhook_url,
        )
        .await;
    }
    if !state
        .subscribe_limits
        .allow(address_key(kind, &address), PER_ADDRESS)
    {
        return done(
            &state,
            StatusCode::TOO_MANY_REQUESTS,
            "Too many requests",
            &["This address was sent too many requests. Please try again in an hour."],
            None,
        );
    }
    match state.store.create_subscriber(new, &Actor::reader()).await {
        // Already subscribed: the same answer, so the page does not reveal who follows it.
        Ok(_) | Err(StoreError::Conflict { .. }) => {}
        Err(StoreError::Unavailable(_)) => return unavailable(&state),
        Err(err) => {
            tracing::error!(error = %err, "cannot store a subscription from the page");
            return unavailable(&state);
        }
    }
    match kind {
        SubscriberKind::Email => done(
            &state,
            StatusCode::OK,
            "Check your inbox",
            &[
                "We have sent a confirmation link to the address you entered.",
                "Open it to start receiving updates. If no mail arrives, check your spam folder.",
            ],
            None,
        ),
        SubscriberKind::Webhook => {
            let mut lines =
                vec!["Your webhook is subscribed. Each notification is a JSON POST.".to_string()];
            if let Some(secret) = secret {
                lines.push(format!(
                    "Verify the Pharos-Signature header with this secret (shown once): {secret}"
                ));
            }
            let snapshot = state.snapshot.load();
            html(
                StatusCode::OK,
                &DonePage {
                    layout: page(&snapshot, "Subscribed", "/subscribe"),
                    heading: "Subscribed".into(),
                    lines,
                    confirm_action: None,
                },
                None,
            )
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct TokenQuery {
    token: Option<String>,
}

fn bad_link(state: &AppState) -> Response {
    done(
        state,
        StatusCode::BAD_REQUEST,
        "This link is not valid",
        &["The link may be incomplete or altered. Copy the whole link from the message, or subscribe again."],
        None,
    )
}

/// A page asking to confirm a signed link's action with a button that posts back to it: a GET
/// never acts, so mail scanners that follow links change nothing.
fn button_page(
    state: &AppState,
    token: Option<String>,
    purpose: LinkPurpose,
    path: &str,
    heading: &str,
    line: &str,
) -> Response {
    let Some(links) = links(state) else {
        return unavailable(state);
    };
    let Some(token) = token.filter(|t| links.verify(purpose, t).is_some()) else {
        return bad_link(state);
    };
    done(
        state,
        StatusCode::OK,
        heading,
        &[line],
        Some(format!(
            "{path}?token={}",
            url::form_urlencoded::byte_serialize(token.as_bytes()).collect::<String>()
        )),
    )
}

/// The id a genuine link for `purpose` was made for, or the page to answer instead.
fn link_id<T: std::str::FromStr>(
    state: &AppState,
    token: Option<&str>,
    purpose: LinkPurpose,
) -> Result<T, Box<Response>> {
    let Some(links) = links(state) else {
        return Err(Box::new(unavailable(state)));
    };
    token
        .and_then(|t| links.verify(purpose, t))
        .and_then(|id| id.parse().ok())
        .ok_or_else(|| Box::new(bad_link(state)))
}

#[utoipa::path(get, path = "/subscribe/confirm", tag = "public", security(()),
    params(("token" = String, Query, description = "The signed token from the confirmation mail")),
    responses((status = 200, description = "Subscription confirmed", content_type = "text/html"),
              (status = 400, description = "The link is not valid", content_type = "text/html")))]
pub async fn confirm(State(state): State<AppState>, Query(query): Query<TokenQuery>) -> Response {
    let id = match link_id(&state, query.token.as_deref(), LinkPurpose::Confirm) {
        Ok(id) => id,
        Err(page) => return *page,
    };
    match state.store.confirm_subscriber(id, &Actor::reader()).await {
        Ok(_) => done(
            &state,
            StatusCode::OK,
            "Subscription confirmed",
            &["You will receive updates by email. Every message has a link to unsubscribe."],
            None,
        ),
        Err(StoreError::NotFound { .. }) => bad_link(&state),
        Err(_) => unavailable(&state),
    }
}

#[utoipa::path(get, path = "/unsubscribe", tag = "public", security(()),
    params(("token" = String, Query, description = "The signed token from a message")),
    responses((status = 200, description = "A button to confirm unsubscribing (a GET changes nothing, so link scanners cannot unsubscribe anyone)", content_type = "text/html"),
              (status = 400, description = "The link is not valid", content_type = "text/html")))]
pub async fn unsubscribe_page(
    State(state): State<AppState>,
    Query(query): Query<TokenQuery>,
) -> Response {
    button_page(
        &state,
        query.token,
        LinkPurpose::Unsubscribe,
        "/unsubscribe",
        "Unsubscribe",
        "Stop receiving updates from this page?",
    )
}

#[utoipa::path(post, path = "/unsubscribe", tag = "public", security(()),
    params(("token" = String, Query, description = "The signed token from a message")),
    responses((status = 200, description = "Unsubscribed (also RFC 8058 one-click: `List-Unsubscribe=One-Click`)", content_type = "text/html"),
              (status = 400, description = "The link is not valid", content_type = "text/html")))]
pub async fn unsubscribe(
    State(state): State<AppState>,
    Query(query): Query<TokenQuery>,
) -> Response {
    let id = match link_id(&state, query.token.as_deref(), LinkPurpose::Unsubscribe) {
        Ok(id) => id,
        Err(page) => return *page,
    };
    match state.store.delete_subscriber(id, &Actor::reader()).await {
        // Unsubscribing twice is still unsubscribed.
        Ok(()) | Err(StoreError::NotFound { .. }) => done(
            &state,
            StatusCode::OK,
            "You are unsubscribed",
            &["You will not receive further updates from this page."],
            None,
        ),
        Err(_) => unavailable(&state),
    }
}

#[utoipa::path(get, path = "/acknowledge", tag = "public", security(()),
    params(("token" = String, Query, description = "The signed token from an escalation message")),
    responses((status = 200, description = "A button to acknowledge the escalation (a GET changes nothing)", content_type = "text/html"),
              (status = 400, description = "The link is not valid", content_type = "text/html")))]
pub async fn acknowledge_page(
    State(state): State<AppState>,
    Query(query): Query<TokenQuery>,
) -> Response {
    button_page(
        &state,
        query.token,
        LinkPurpose::Acknowledge,
        "/acknowledge",
        "Acknowledge",
        "Take this alert? Acknowledging stops the escalation: nobody else will be paged for it.",
    )
}

#[utoipa::path(post, path = "/acknowledge", tag = "public", security(()),
    params(("token" = String, Query, description = "The signed token from an escalation message")),
    responses((status = 200, description = "Acknowledged; the escalation stops", content_type = "text/html"),
              (status = 400, description = "The link is not valid", content_type = "text/html")))]
pub async fn acknowledge(
    State(state): State<AppState>,
    Query(query): Query<TokenQuery>,
) -> Response {
    let id = match link_id(&state, query.token.as_deref(), LinkPurpose::Acknowledge) {
        Ok(id) => id,
        Err(page) => return *page,
    };
    match state
        .store
        .acknowledge_escalation(id, &Actor::acknowledge_link())
        .await
    {
        Ok(e) if e.acknowledged_at.is_some() => done(
            &state,
            StatusCode::OK,
            "Acknowledged",
            &["The escalation has stopped. Thank you for taking it."],
            None,
        ),
        Ok(_) => done(
            &state,
            StatusCode::OK,
            "Already over",
            &["This escalation had already ended: the problem recovered or every step ran."],
            None,
        ),
        Err(StoreError::NotFound { .. }) => bad_link(&state),
        Err(_) => unavailable(&state),
    }
}
