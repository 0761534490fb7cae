//! The admin screens, one module each, and what they share: [`Chrome`] (the frame of
//! `templates/admin/base.html`: title, navigation for the user's role, the CSRF token of the
//! sign-out form, the message after a redirect) and [`html`] to answer with a template.
//!
//! A screen added by another module builds a `Chrome` with [`Chrome::new`], puts it in its
//! template struct as `chrome`, and extends `admin/base.html`; its forms carry
//! `<input type="hidden" name="csrf" value="{{ chrome.csrf }}">`.

pub mod account;
pub mod audit;
pub mod auth;
pub mod components;
pub mod dashboard;
pub mod incident_templates;
pub mod incidents;
pub mod maintenances;
pub mod monitors;
pub mod notifications;
pub mod settings;
pub mod tokens;
pub mod users;
pub mod vendors;

use super::session::CurrentUser;
use crate::http::AppState;
use askama::Template;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// One link of the navigation.
pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

/// The frame every admin page shares.
pub struct Chrome {
    pub title: String,
    pub page_name: String,
    pub stylesheet: String,
    /// The session's CSRF token, for every form of the page (empty before sign-in).
    pub csrf: String,
    pub signed_in: bool,
    pub user_name: String,
    pub nav: Vec<NavItem>,
    /// A message about what the last form did (after its 303 redirect).
    pub flash: Option<&'static str>,
}

/// The screens in the navigation: (key, path, label, who may use it). Screens not built yet
/// point at the paths their modules will fill.
const NAV: &[(&str, &str, &str, Access)] = &[
    ("dashboard", "/admin", "Dashboard", Access::Everyone),
    (
        "incidents",
        "/admin/incidents",
        "Incidents",
        Access::Everyone,
    ),
    (
        "components",
        "/admin/components",
        "Components",
        Access::Everyone,
    ),
    (
        "maintenances",
        "/admin/maintenances",
        "Maintenances",
        Access::Everyone,
    ),
    ("monitors", "/admin/monitors", "Monitors", Access::Everyone),
    ("vendors", "/admin/vendors", "Vendors", Access::Everyone),
    (
        "notifications",
        "/admin/notifications",
        "Notifications",
        Access::Admin,
    ),
    ("users", "/admin/users", "Users", Access::Admin),
    ("tokens", "/admin/tokens", "Tokens", Access::Admin),
    ("audit", "/admin/audit", "Audit", Access::Admin),
    ("settings", "/admin/settings", "Settings", Access::Admin),
    ("account", "/admin/account", "Account", Access::Everyone),
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Access {
    Everyone,
    Admin,
}

impl Chrome {
    /// The frame of a page for a signed-in user; `current` is the navigation key of the
    /// screen (`dashboard`, `incidents`, `components`, `maintenances`, `monitors`, `vendors`,
    /// `notifications`, `users`, `tokens`, `audit`, `settings`, `account`).
    pub fn new(
        state: &AppState,
        user: &CurrentUser,
        title: impl Into<String>,
        current: &str,
        flash: Flash,
    ) -> Chrome {
        let admin = user.user.role.is_admin();
        Chrome {
            title: title.into(),
            page_name: state.page_name(),
            stylesheet: super::stylesheet_url(),
            csrf: user.csrf.clone(),
            signed_in: true,
            user_name: user.user.name.clone(),
            nav: NAV
                .iter()
                .filter(|(_, _, _, access)| admin || *access == Access::Everyone)
                .map(|(key, href, label, _)| NavItem {
                    href,
                    label,
                    current: *key == current,
                })
                .collect(),
            flash: flash.0,
        }
    }

    /// The frame of a page shown before sign-in (no navigation); `csrf` is the pre-login
    /// token of its form.
    pub fn anonymous(page_name: &str, title: impl Into<String>, csrf: String) -> Chrome {
        Chrome {
            title: title.into(),
            page_name: page_name.to_string(),
            stylesheet: super::stylesheet_url(),
            csrf,
            signed_in: false,
            user_name: String::new(),
            nav: Vec::new(),
            flash: None,
        }
    }
}

/// The message after a redirect, from `?done=KEY`: only fixed texts, so a crafted link cannot
/// put words on the page.
#[derive(Debug, Clone, Copy, Default)]
pub struct Flash(pub Option<&'static str>);

const FLASHES: &[(&str, &str)] = &[
    ("signed_out", "You are signed out."),
    (
        "signed_out_everywhere",
        "You are signed out on every device.",
    ),
    (
        "password_changed",
        "Your password is changed; your other sessions are signed out.",
    ),
    (
        "totp_enabled",
        "Two-factor sign-in is on: from now on you will be asked for a code.",
    ),
    ("totp_disabled", "Two-factor sign-in is off."),
    ("others_signed_out", "Your other sessions are signed out."),
    ("user_updated", "The user is updated."),
    ("user_deleted", "The user is deleted."),
    // Accounts (users.rs, account.rs):
    (
        "user_deactivated",
        "The user is deactivated and signed out everywhere; they cannot sign in until reactivated.",
    ),
    (
        "user_reactivated",
        "The user is reactivated and may sign in again.",
    ),
    (
        "session_ended",
        "The session is ended: that browser is signed out.",
    ),
    (
        "token_revoked",
        "The token is revoked; it stops working at once.",
    ),
    // Monitors (monitors.rs):
    (
        "monitor_created",
        "The monitor is created; its checks start at once.",
    ),
    (
        "monitor_saved",
        "The monitor is saved; the change takes effect at once.",
    ),
    (
        "monitor_paused",
        "The monitor is paused; its hold on its components is released.",
    ),
    (
        "monitor_resumed",
        "The monitor is resumed; its checks start again.",
    ),
    (
        "monitor_deleted",
        "The monitor is deleted with its results.",
    ),
    // Components and groups (components.rs):
    ("component_created", "The component is created."),
    ("component_saved", "The component is saved."),
    (
        "component_status_set",
        "The status is set; it shows on the page at once.",
    ),
    ("component_moved", "The component is moved."),
    ("component_deleted", "The component is deleted."),
    ("group_created", "The group is created, last on the page."),
    ("group_saved", "The group is renamed."),
    ("group_moved", "The group is moved."),
    (
        "group_deleted",
        "The group is deleted; its components are in no group now.",
    ),
    // Notifications and vendors (pages/notifications/, pages/vendors.rs).
    ("channel_created", "The channel is created."),
    ("channel_updated", "The channel is saved."),
    ("channel_enabled", "The channel is enabled."),
    (
        "channel_disabled",
        "The channel is disabled: it gets nothing until enabled.",
    ),
    (
        "channel_deleted",
        "The channel is deleted; its pending deliveries are cancelled.",
    ),
    ("subscriber_confirmed", "The subscriber is confirmed."),
    ("subscriber_deleted", "The subscriber is deleted."),
    ("delivery_retried", "The delivery is queued again, due now."),
    ("policy_created", "The escalation policy is created."),
    ("policy_updated", "The escalation policy is saved."),
    (
        "policy_deleted",
        "The escalation policy is deleted; its escalations end.",
    ),
    (
        "escalation_acknowledged",
        "The escalation is acknowledged: no further steps.",
    ),
    (
        "vendor_followed",
        "The vendor is followed; its first poll imports its history silently.",
    ),
    (
        "vendor_paused",
        "The vendor is paused: it is not polled until resumed.",
    ),
    ("vendor_resumed", "The vendor is resumed."),
    (
        "vendor_deleted",
        "The vendor is deleted with everything seen on its page.",
    ),
    ("vendor_polled", "The vendor was polled just now."),
    ("interest_saved", "The components of interest are saved."),
    ("dependency_added", "The dependency is added."),
    ("dependency_removed", "The dependency is removed."),
    (
        "draft_published",
        "The draft is published as an open incident.",
    ),
    ("draft_dismissed", "The draft is dismissed."),
    // Incidents, templates and maintenances (incidents.rs, incident_templates.rs,
    // maintenances.rs).
    (
        "incident_opened",
        "The incident is open and on the public page.",
    ),
    ("update_posted", "The update is posted."),
    ("incident_resolved", "The incident is resolved."),
    ("incident_changed", "The name and impact are saved."),
    ("update_edited", "The update's text is changed."),
    ("update_deleted", "The update is deleted."),
    ("postmortem_saved", "The postmortem draft is saved."),
    ("postmortem_published", "The postmortem is published."),
    ("incident_deleted", "The incident is deleted."),
    ("template_saved", "The template is saved."),
    ("template_deleted", "The template is deleted."),
    ("maintenance_scheduled", "The maintenance is scheduled."),
    ("maintenance_saved", "The maintenance is saved."),
    ("maintenance_cancelled", "The maintenance is cancelled."),
    // Page settings (settings.rs).
    (
        "settings_saved",
        "The page settings are saved; the public page shows them within seconds.",
    ),
];

impl<S: Send + Sync> FromRequestParts<S> for Flash {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let key = parts.uri.query().and_then(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == "done")
                .map(|(_, v)| v.into_owned())
        });
        Ok(Flash(key.and_then(|k| {
            FLASHES.iter().find(|(f, _)| *f == k).map(|(_, text)| *text)
        })))
    }
}

/// A path's id, or the 404 page saying there is no such `what` (the id cut to 60 characters).
pub fn parse_id<T: std::str::FromStr>(what: &str, id: &str) -> Result<T, super::AdminError> {
    id.parse().map_err(|_| {
        super::AdminError::not_found(format!(
            "there is no {what} `{}`",
            id.chars().take(60).collect::<String>()
        ))
    })
}

/// Renders a template as an HTML response with `status`.
pub fn html(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(body) => {
            let mut r = (status, body).into_response();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            r
        }
        Err(err) => {
            tracing::error!(error = %err, "an admin template did not render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the page could not be rendered",
            )
                .into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "admin/error.html")]
struct ErrorPage<'a> {
    chrome: Chrome,
    status: u16,
    reason: &'a str,
    message: &'a str,
}

/// The error page of [`super::AdminError`].
pub fn render_error(status: StatusCode, message: &str) -> Response {
    let chrome = Chrome {
        title: status.canonical_reason().unwrap_or("Error").to_string(),
        page_name: "Pharos".into(),
        stylesheet: super::stylesheet_url(),
        csrf: String::new(),
        signed_in: false,
        user_name: String::new(),
        nav: Vec::new(),
        flash: None,
    };
    html(
        status,
        &ErrorPage {
            chrome,
            status: status.as_u16(),
            reason: status.canonical_reason().unwrap_or("Error"),
            message,
        },
    )
}

/// A time as the admin pages write it: `2026-03-02 09:00 UTC`.
pub fn when(t: &crate::domain::Timestamp) -> String {
    t.0.format("%Y-%m-%d %H:%M UTC").to_string()
}
