//! The audit log (admin only): the event log newest first, 50 a page, with who caused each
//! event, filtered by actor and by kind (a kind ending in `.` is a prefix: `incident.`).

use super::{html, when, Chrome, Flash};
use crate::http::admin::session::CurrentUser;
use crate::http::admin::AdminError;
use crate::http::AppState;
use crate::store::AuditFilter;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

const PAGE: u32 = 50;

struct Row {
    seq: i64,
    at: String,
    actor: String,
    kind: String,
    subject: String,
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    chrome: Chrome,
    events: Vec<Row>,
    actor: String,
    kind: String,
    /// The query string of the next (older) page.
    older: Option<String>,
}

#[derive(Deserialize)]
pub struct AuditQuery {
    actor: Option<String>,
    kind: Option<String>,
    before: Option<i64>,
}

/// A short label for what an event is about: the name in its data, else the subject id. A
/// user (name and email, as recorded when the event was written) reads "Name (email)", so a
/// deleted user's entries still say who it was.
fn subject(data: &serde_json::Value, id: Option<&str>) -> String {
    let user = if data["email"].is_string() {
        data
    } else {
        &data["user"]
    };
    if let (Some(name), Some(email)) = (user["name"].as_str(), user["email"].as_str()) {
        return format!("{name} ({email})");
    }
    let named = ["name", "email"]
        .iter()
        .find_map(|k| data[k].as_str())
        .or_else(|| data["user"]["email"].as_str())
        .or_else(|| data["incident"]["name"].as_str());
    named
        .map(str::to_string)
        .or_else(|| id.map(str::to_string))
        .unwrap_or_default()
}

#[utoipa::path(get, path = "/admin/audit", tag = "admin", security(()),
    params(("actor" = Option<String>, Query, description = "Only events by this actor, such as user:ops@example.com"),
           ("kind" = Option<String>, Query, description = "Only events of this kind, or kinds starting with it when it ends in a dot"),
           ("before" = Option<i64>, Query, description = "Only events before this sequence number (the next page)")),
    responses((status = 200, description = "The event log, newest first, with the actor of each event (admins only)", content_type = "text/html"),
              (status = 303, description = "Not signed in: to the sign-in form"),
              (status = 403, description = "Not an admin", content_type = "text/html")))]
pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: Flash,
    Query(q): Query<AuditQuery>,
) -> Result<Response, AdminError> {
    user.require_admin()?;
    let clean = |v: Option<String>| {
        v.map(|s| s.trim().chars().take(300).collect::<String>())
            .filter(|s| !s.is_empty())
    };
    let actor = clean(q.actor);
    let kind = clean(q.kind);
    let events = state
        .store
        .audit_log(
            AuditFilter {
                actor: actor.clone(),
                kind: kind.clone(),
                before_seq: q.before,
            },
            // One more than shown: whether older events exist, so a log of exactly 50 (or 100)
            // matching events offers no link to an empty page.
            PAGE + 1,
        )
        .await?;
    let more = events.len() > PAGE as usize;
    let events: Vec<_> = events.into_iter().take(PAGE as usize).collect();
    let older = more.then(|| {
        let last = events.last().map(|e| e.seq).unwrap_or(0);
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        if let Some(a) = &actor {
            query.append_pair("actor", a);
        }
        if let Some(k) = &kind {
            query.append_pair("kind", k);
        }
        query.append_pair("before", &last.to_string());
        query.finish()
    });
    let events = events
        .into_iter()
        .map(|e| Row {
            seq: e.seq,
            at: when(&e.at),
            subject: subject(&e.data, e.subject_id.as_deref()),
            actor: e.actor,
            kind: e.kind,
        })
        .collect();
    Ok(html(
        StatusCode::OK,
        &AuditPage {
            chrome: Chrome::new(&state, &user, "Audit log", "audit", flash),
            events,
            actor: actor.unwrap_or_default(),
            kind: kind.unwrap_or_default(),
            older,
        },
    ))
}
