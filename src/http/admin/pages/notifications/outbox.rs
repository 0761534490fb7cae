//! Subscribers (paginated, searched by address, confirmed or deleted) and deliveries by
//! state with their last error, where a dead letter is retried. Addresses are on the page,
//! for admins; nothing here logs one.

use super::{field, Pairs};
use crate::http::admin::pages::parse_id;
use crate::http::admin::pages::{html, when, Chrome, Flash};
use crate::http::admin::session::{see_other, CsrfForm, CurrentUser};
use crate::http::admin::AdminError;
use crate::http::AppState;
use crate::notify::record::{address_key, DeliveryState, RecipientKind, SubscriberKind};
use crate::store::PageRequest;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use std::collections::HashMap;

/// Rows per page of the lists here.
const PAGE: u32 = 50;

struct SubscriberRow {
    id: String,
    kind: &'static str,
    address: String,
    state: &'static str,
    confirmed: bool,
    follows: String,
    origin: &'static str,
    created: String,
}

#[derive(Template)]
#[template(path = "admin/notifications/subscribers.html")]
struct SubscribersPage {
    chrome: Chrome,
    rows: Vec<SubscriberRow>,
    query: String,
    next: Option<String>,
    searched: bool,
}

#[derive(Deserialize)]
pub struct ListParams {
    #[serde(default)]
    q: String,
    #[serde(default)]
    cursor: Option<String>,
    #[serde(default)]
    state: Option<String>,
}

fn row(s: crate::notify::record::Subscriber) -> SubscriberRow {
    SubscriberRow {
        id: s.id.to_string(),
        kind: s.kind.as_str(),
        state: if s.confirmed_at.is_some() {
            "confirmed"
        } else {
            "waiting for confirmation"
        },
        confirmed: s.confirmed_at.is_some(),
        follows: if s.subjects.is_empty() {
            "every component".into()
        } else {
            format!("{} subjects", s.subjects.len())
        },
        origin: s.origin.as_str(),
        created: when(&s.created_at),
        address: s.address,
    }
}

#[utoipa::path(get, path = "/admin/notifications/subscribers", tag = "admin", security(()),
    params(("q" = Option<String>, Query, description = "An exact address to find"),
           ("cursor" = Option<String>, Query, description = "The next page's cursor")),
    responses((status = 200, description = "Subscribers, oldest first, 50 a page (admins only)", content_type = "text/html"),
              (status = 403, description = "Not an admin", content_type = "text/html")))]
pub async fn subscribers(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: Flash,
    Query(params): Query<ListParams>,
) -> Result<Response, AdminError> {
    user.require_admin()?;
    let query = params.q.trim().to_string();
    let (rows, next) = if query.is_empty() {
        let page = state
            .store
            .list_subscribers(PageRequest {
                limit: PAGE,
                cursor: params.cursor,
            })
            .await?;
        (page.items.into_iter().map(row).collect(), page.next_cursor)
    } else {
        // The address is the subscription's key (one per kind), so the search is an index
        // lookup whatever the number of subscribers.
        let mut rows = Vec::new();
        for kind in [SubscriberKind::Email, SubscriberKind::Webhook] {
            if let Some(s) = state
                .store
                .find_subscriber(&address_key(kind, &query))
                .await?
            {
                rows.push(row(s));
            }
        }
        (rows, None)
    };
    Ok(html(
        StatusCode::OK,
        &SubscribersPage {
            chrome: Chrome::new(&state, &user, "Subscribers", "notifications", flash),
            rows,
            searched: !query.is_empty(),
            query,
            next,
        },
    ))
}

#[derive(Deserialize)]
pub struct Empty {}

#[utoipa::path(post, path = "/admin/notifications/subscribers/{id}/confirm", tag = "admin", security(()),
    params(("id" = String, Path, description = "The subscriber's id")),
    responses((status = 303, description = "Confirmed: it gets notifications from now on"),
              (status = 403, description = "Not an admin, or the form's security token is wrong", content_type = "text/html"),
              (status = 404, description = "No such subscriber", content_type = "text/html")))]
pub async fn confirm_subscriber(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(user, _): CsrfForm<Empty>,
) -> Result<Response, AdminError> {
    user.require_admin()?;
    state
        .store
        .confirm_subscriber(parse_id("subscriber", &id)?, &user.actor())
        .await?;
    Ok(see_other(
        "/admin/notifications/subscribers?done=subscriber_confirmed",
    ))
}

#[utoipa::path(post, path = "/admin/notifications/subscribers/{id}/delete", tag = "admin", security(()),
    params(("id" = String, Path, description = "The subscriber's id")),
    responses((status = 303, description = "Unsubscribed; pending deliveries are cancelled"),
              (status = 403, description = "Not an admin, or the form's security token is wrong", content_type = "text/html"),
              (status = 404, description = "No such subscriber", content_type = "text/html")))]
pub async fn delete_subscriber(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(user, _): CsrfForm<Empty>,
) -> Result<Response, AdminError> {
    user.require_admin()?;
    state
        .store
        .delete_subscriber(parse_id("subscriber", &id)?, &user.actor())
        .await?;
    Ok(see_other(
        "/admin/notifications/subscribers?done=subscriber_deleted",
    ))
}

struct DeliveryRow {
    key: String,
    event: String,
    recipient: String,
    purpose: &'static str,
    state: &'static str,
    attempts: u32,
    last_error: Option<String>,
    last_status: Option<u16>,
    updated: String,
    retryable: bool,
}

#[derive(Template)]
#[template(path = "admin/notifications/deliveries.html")]
struct DeliveriesPage {
    chrome: Chrome,
    rows: Vec<DeliveryRow>,
    state: String,
    states: [&'static str; 4],
    next: Option<String>,
}

#[utoipa::path(get, path = "/admin/notifications/deliveries", tag = "admin", security(()),
    params(("state" = Option<String>, Query, description = "pending, sent, dead (the default) or cancelled; `all` for every state"),
           ("cursor" = Option<String>, Query, description = "The next page's cursor")),
    responses((status = 200, description = "Deliveries, newest first, with their last error; dead letters can be retried", content_type = "text/html"),
              (status = 403, description = "Not an admin", content_type = "text/html"),
              (status = 422, description = "Unknown state", content_type = "text/html")))]
pub async fn deliveries(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: Flash,
    Query(params): Query<ListParams>,
) -> Result<Response, AdminError> {
    user.require_admin()?;
    let chosen = params.state.unwrap_or_else(|| "dead".into());
    let filter = match chosen.as_str() {
        "all" | "" => None,
        s => Some(s.parse::<DeliveryState>().map_err(|_| {
            AdminError::unprocessable(format!(
                "`state` must be pending, sent, dead, cancelled or all, not `{}`",
                s.chars().take(40).collect::<String>()
            ))
        })?),
    };
    let page = state
        .store
        .list_deliveries(
            filter,
            PageRequest {
                limit: PAGE,
                cursor: params.cursor,
            },
        )
        .await?;
    // Channels by name; subscribers are named by kind only (their address is on their page).
    let channels: HashMap<String, String> = state
        .store
        .list_channels()
        .await?
        .into_iter()
        .map(|c| (c.id.to_string(), c.name))
        .collect();
    let rows = page
        .items
        .into_iter()
        .map(|d| DeliveryRow {
            recipient: match d.recipient_kind {
                RecipientKind::Channel => format!(
                    "channel {}",
                    channels
                        .get(&d.recipient_id)
                        .cloned()
                        .unwrap_or_else(|| "(deleted)".into())
                ),
                RecipientKind::Subscriber => "a subscriber".into(),
            },
            event: format!("{} (event {})", d.event_kind, d.event_seq),
            purpose: d.purpose.as_str(),
            retryable: matches!(d.state, DeliveryState::Dead | DeliveryState::Cancelled),
            state: d.state.as_str(),
            attempts: d.attempts,
            last_error: d.last_error,
            last_status: d.last_status,
            updated: when(&d.updated_at),
            key: d.key,
        })
        .collect();
    Ok(html(
        StatusCode::OK,
        &DeliveriesPage {
            chrome: Chrome::new(&state, &user, "Deliveries", "notifications", flash),
            rows,
            state: chosen,
            states: ["dead", "pending", "sent", "cancelled"],
            next: page.next_cursor,
        },
    ))
}

#[utoipa::path(post, path = "/admin/notifications/deliveries/retry", tag = "admin", security(()),
    responses((status = 303, description = "The dead (or cancelled) delivery is queued again, due now"),
              (status = 403, description = "Not an admin, or the form's security token is wrong", content_type = "text/html"),
              (status = 404, description = "No such delivery", content_type = "text/html"),
              (status = 409, description = "Not dead or cancelled", content_type = "text/html")))]
pub async fn retry(
    State(state): State<AppState>,
    CsrfForm(user, pairs): CsrfForm<Pairs>,
) -> Result<Response, AdminError> {
    user.require_admin()?;
    let key = field(&pairs, "key").trim();
    if key.is_empty() || key.len() > 200 {
        return Err(AdminError::unprocessable(
            "say which delivery to retry (its key); use the Retry button of the list",
        ));
    }
    state.store.retry_delivery(key, &user.actor()).await?;
    if let Some(n) = &state.notifications {
        n.wake();
    }
    Ok(see_other(
        "/admin/notifications/deliveries?state=all&done=delivery_retried",
    ))
}
