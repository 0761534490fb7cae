//! The dashboard: overall status (from the public snapshot, as the page shows it), open
//! incidents, monitors down or degraded, vendors with problems and the notification
//! pipeline's health (outbox figures), as simple lists with links to their screens.

use super::{html, when, Chrome, Flash};
use crate::domain::IncidentStatus;
use crate::http::admin::session::CurrentUser;
use crate::http::admin::AdminError;
use crate::http::AppState;
use crate::store::{MonitorQuery, MonitorStateFilter};
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use std::collections::BTreeMap;

/// Monitors of each failing state listed by name; the rest are counted with a link.
const DASHBOARD_MONITORS: u32 = 25;

struct Item {
    href: String,
    label: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "admin/dashboard.html")]
struct DashboardPage {
    chrome: Chrome,
    overall: &'static str,
    indicator: &'static str,
    stale: bool,
    incidents: Vec<Item>,
    monitors: Vec<Item>,
    vendors: Vec<Item>,
    /// None when the outbox figures could not be read.
    outbox: Option<(u64, u64, u64, String)>,
    can_respond: bool,
}

#[utoipa::path(get, path = "/admin", tag = "admin", security(()),
    responses((status = 200, description = "The admin dashboard", content_type = "text/html"),
              (status = 303, description = "Not signed in: to the sign-in form")))]
pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: Flash,
) -> Result<Response, AdminError> {
    let snapshot = state.snapshot.load();
    let public = &snapshot.state;
    let overall = public.overall();
    let incidents = public
        .incidents
        .iter()
        .filter(|i| i.status != IncidentStatus::Resolved)
        .map(|i| Item {
            href: format!("/admin/incidents/{}", i.id),
            label: i.name.clone(),
            detail: format!(
                "{} · {} · since {}",
                i.impact.as_str(),
                i.status.as_str(),
                when(&i.started_at)
            ),
        })
        .collect();
    // Down first, then degraded, a page of each read by the store (with 10,000 monitors,
    // loading them all took most of this page's time); the rest behind a link to the list.
    let mut monitors = Vec::new();
    for filter in [MonitorStateFilter::Down, MonitorStateFilter::Degraded] {
        let listing = state
            .store
            .monitor_listing(&MonitorQuery {
                state: Some(filter),
                limit: DASHBOARD_MONITORS,
                ..MonitorQuery::default()
            })
            .await?;
        let shown = listing.items.len() as u64;
        monitors.extend(listing.items.into_iter().map(|m| Item {
            href: format!("/admin/monitors/{}", m.id),
            detail: format!("{} since {}", m.health.as_str(), when(&m.health_since)),
            label: m.name,
        }));
        if listing.total > shown {
            monitors.push(Item {
                href: format!("/admin/monitors?state={}", filter.as_str()),
                label: format!("all {} {} monitors", listing.total, filter.as_str()),
                detail: format!("{} more not shown here", listing.total - shown),
            });
        }
    }
    let problems = state.store.vendor_problems().await?;
    // Only the vendors with problems are named: reading all 2,000 vendors for their names
    // took more time than the rest of the page.
    let ids: std::collections::BTreeSet<_> = problems
        .components
        .iter()
        .map(|p| p.0)
        .chain(problems.open.iter().map(|p| p.0))
        .collect();
    let mut names: BTreeMap<_, _> = BTreeMap::new();
    for id in ids {
        if let Ok(v) = state.store.get_vendor(id).await {
            names.insert(v.id, (v.name, v.slug));
        }
    }
    let mut per_vendor: BTreeMap<_, Vec<String>> = BTreeMap::new();
    for (vendor, _, name, status) in problems.components {
        per_vendor
            .entry(vendor)
            .or_default()
            .push(format!("{name}: {}", status.as_str()));
    }
    for (vendor, kind, name, impact) in problems.open {
        per_vendor.entry(vendor).or_default().push(format!(
            "{} {name} ({})",
            kind.as_str(),
            impact.as_str()
        ));
    }
    let vendors = per_vendor
        .into_iter()
        .filter_map(|(id, details)| {
            let (name, slug) = names.get(&id)?;
            Some(Item {
                href: format!("/admin/vendors/{slug}"),
                label: name.clone(),
                detail: details.join("; "),
            })
        })
        .collect();
    let outbox = match state.store.outbox_stats().await {
        Ok(s) => Some((
            s.pending,
            s.due,
            s.dead,
            s.oldest_due_at
                .as_ref()
                .map(when)
                .unwrap_or_else(|| "none".into()),
        )),
        Err(err) => {
            tracing::warn!(error = %err, "dashboard: outbox figures unavailable");
            None
        }
    };
    Ok(html(
        StatusCode::OK,
        &DashboardPage {
            chrome: Chrome::new(&state, &user, "Dashboard", "dashboard", flash),
            overall: overall.description,
            indicator: overall.indicator,
            stale: snapshot.stale_since.is_some(),
            incidents,
            monitors,
            vendors,
            outbox,
            can_respond: user.user.role.can_respond(),
        },
    ))
}
