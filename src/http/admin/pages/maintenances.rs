//! Maintenances (`/admin/maintenances`): the list (in progress, upcoming, recently past, from
//! the public snapshot, so it costs no query), scheduling one, editing it (window, name,
//! components, automatic start and completion), posting an update with an optional move of
//! its status, and cancelling it.
//!
//! Windows are typed in the page's time zone (`[page] time_zone`) and shown with their UTC
//! equivalent. Validation is the API's: `valid_name`, `valid_body`, and the store's rule that
//! a window ends after it starts (the same check `/api/v1/maintenances` meets).

use super::incidents::{invalid, refusal, Fields};
use super::{html, when, Chrome, Flash};
use crate::domain::model::Maintenance;
use crate::domain::{ComponentId, MaintenanceStatus, Timestamp};
use crate::http::admin::pages::parse_id;
use crate::http::admin::session::{see_other, CsrfForm, CurrentUser};
use crate::http::admin::AdminError;
use crate::http::api_v1::{valid_body, valid_name};
use crate::http::AppState;
use crate::snapshot::PublicState;
use crate::store::{MaintenancePatch, NewMaintenance};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::TimeZone;
use chrono_tz::Tz;
use std::collections::BTreeSet;

/// The form's text for a time in the page's zone (`datetime-local`).
fn local_input(t: Timestamp, tz: Tz) -> String {
    t.0.with_timezone(&tz).format("%Y-%m-%dT%H:%M").to_string()
}

/// A window edge typed in the page's zone, as UTC.
fn parse_local(field: &str, text: &str, tz: Tz) -> Result<Timestamp, String> {
    let naive = chrono::NaiveDateTime::parse_from_str(text.trim(), "%Y-%m-%dT%H:%M")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(text.trim(), "%Y-%m-%dT%H:%M:%S"))
        .map_err(|_| format!("{field}: enter a date and time such as 2026-12-01T02:00"))?;
    let local = tz
        .from_local_datetime(&naive)
        .earliest()
        .ok_or_else(|| format!("{field}: {text} does not exist in {tz} (a clock change)"))?;
    Ok(Timestamp::from_datetime(local.with_timezone(&chrono::Utc)))
}

fn status_label(s: MaintenanceStatus) -> &'static str {
    match s {
        MaintenanceStatus::Scheduled => "Scheduled",
        MaintenanceStatus::InProgress => "In progress",
        MaintenanceStatus::Verifying => "Verifying",
        MaintenanceStatus::Completed => "Completed",
    }
}

struct Row {
    href: String,
    name: String,
    status: &'static str,
    window: String,
    components: String,
}

fn window(m: &Maintenance, tz: Tz) -> String {
    let local = |t: Timestamp| {
        t.0.with_timezone(&tz)
            .format("%Y-%m-%d %H:%M %Z")
            .to_string()
    };
    format!(
        "{} – {} (UTC {} – {})",
        local(m.scheduled_for),
        local(m.scheduled_until),
        when(&m.scheduled_for),
        when(&m.scheduled_until)
    )
}

fn names(state: &PublicState, ids: &[ComponentId]) -> String {
    let list: Vec<&str> = state
        .components
        .iter()
        .filter(|c| ids.contains(&c.id))
        .map(|c| c.name.as_str())
        .collect();
    if list.is_empty() {
        "no components".into()
    } else {
        list.join(", ")
    }
}

#[derive(Template)]
#[template(path = "admin/maintenances/list.html")]
struct ListPage {
    chrome: Chrome,
    can_respond: bool,
    active: Vec<Row>,
    upcoming: Vec<Row>,
    past: Vec<Row>,
}

#[utoipa::path(get, path = "/admin/maintenances", tag = "admin", security(()),
    responses((status = 200, description = "Maintenances in progress, upcoming and recently past", content_type = "text/html"),
              (status = 303, description = "Not signed in: to the sign-in form")))]
pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: Flash,
) -> Result<Response, AdminError> {
    let snapshot = state.snapshot.load();
    let public = &snapshot.state;
    let tz = public.page.tz();
    let row = |m: &Maintenance| Row {
        href: format!("/admin/maintenances/{}", m.id),
        name: m.name.clone(),
        status: if m.cancelled_at.is_some() {
            "Cancelled"
        } else {
            status_label(m.status)
        },
        window: window(m, tz),
        components: names(public, &m.component_ids),
    };
    let of = |pick: &dyn Fn(&Maintenance) -> bool| -> Vec<Row> {
        public
            .maintenances
            .iter()
            .filter(|m| pick(m))
            .map(row)
            .collect()
    };
    let mut past = of(&|m| m.status == MaintenanceStatus::Completed);
    past.reverse();
    Ok(html(
        StatusCode::OK,
        &ListPage {
            chrome: Chrome::new(&state, &user, "Maintenances", "maintenances", flash),
            can_respond: user.user.role.can_respond(),
            active: of(&|m| m.status.is_active()),
            upcoming: of(&|m| m.status == MaintenanceStatus::Scheduled),
            past,
        },
    ))
}

struct Pick {
    id: String,
    name: String,
    checked: bool,
}

struct StatusOpt {
    value: &'static str,
    label: &'static str,
    selected: bool,
}

struct UpdateRow {
    status: &'static str,
    body: String,
    when: String,
}

#[derive(Template)]
#[template(path = "admin/maintenances/form.html")]
struct FormPage {
    chrome: Chrome,
    can_respond: bool,
    /// None when scheduling a new one.
    id: Option<String>,
    status: &'static str,
    editable: bool,
    error: Option<String>,
    zone: String,
    name: String,
    starts: String,
    ends: String,
    utc: Option<String>,
    auto: bool,
    body: String,
    picks: Vec<Pick>,
    moves: Vec<StatusOpt>,
    updates: Vec<UpdateRow>,
}

struct Values {
    name: String,
    starts: String,
    ends: String,
    auto: bool,
    body: String,
    move_to: String,
    components: BTreeSet<String>,
}

impl Values {
    fn from_form(f: &Fields) -> Values {
        Values {
            name: f.get("name").to_string(),
            starts: f.get("starts").to_string(),
            ends: f.get("ends").to_string(),
            auto: f.get("auto") == "1",
            body: f.get("body").to_string(),
            move_to: f.get("move_to").to_string(),
            components: f.all("component").into_iter().map(str::to_string).collect(),
        }
    }

    fn of(m: &Maintenance, tz: Tz) -> Values {
        Values {
            name: m.name.clone(),
            starts: local_input(m.scheduled_for, tz),
            ends: local_input(m.scheduled_until, tz),
            auto: m.auto_transition,
            body: String::new(),
            move_to: String::new(),
            components: m.component_ids.iter().map(|c| c.to_string()).collect(),
        }
    }

    fn component_ids(&self) -> Result<Vec<ComponentId>, String> {
        self.components
            .iter()
            .map(|id| {
                id.parse()
                    .map_err(|_| format!("components: {id} is not a component id"))
            })
            .collect()
    }
}

fn form_page(
    state: &AppState,
    user: &CurrentUser,
    existing: Option<&Maintenance>,
    values: Values,
    error: Option<(StatusCode, String)>,
    flash: Flash,
) -> Response {
    let snapshot = state.snapshot.load();
    let public = &snapshot.state;
    let tz = public.page.tz();
    let (code, error) = match error {
        Some((s, e)) => (s, Some(e)),
        None => (StatusCode::OK, None),
    };
    let current = existing.map(|m| m.status);
    let order = |s: MaintenanceStatus| MaintenanceStatus::ALL.iter().position(|x| *x == s);
    let moves = MaintenanceStatus::ALL
        .iter()
        .filter(|s| current.is_some_and(|c| order(**s) > order(c)))
        .map(|s| StatusOpt {
            value: s.as_str(),
            label: status_label(*s),
            selected: values.move_to == s.as_str(),
        })
        .collect();
    let title = match existing {
        Some(m) => m.name.clone(),
        None => "Schedule a maintenance".to_string(),
    };
    html(
        code,
        &FormPage {
            chrome: Chrome::new(state, user, title, "maintenances", flash),
            can_respond: user.user.role.can_respond(),
            id: existing.map(|m| m.id.to_string()),
            status: existing
                .map(|m| {
                    if m.cancelled_at.is_some() {
                        "Cancelled"
                    } else {
                        status_label(m.status)
                    }
                })
                .unwrap_or("New"),
            editable: current != Some(MaintenanceStatus::Completed),
            error,
            zone: tz.name().to_string(),
            utc: existing.map(|m| window(m, tz)),
            picks: public
                .components
                .iter()
                .map(|c| Pick {
                    id: c.id.to_string(),
                    name: c.name.clone(),
                    checked: values.components.contains(&c.id.to_string()),
                })
                .collect(),
            moves,
            updates: existing
                .map(|m| {
                    m.updates
                        .iter()
                        .map(|u| UpdateRow {
                            status: status_label(u.status),
                            body: u.body.clone(),
                            when: when(&u.created_at),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            name: values.name,
            starts: values.starts,
            ends: values.ends,
            auto: values.auto,
            body: values.body,
        },
    )
}

#[utoipa::path(get, path = "/admin/maintenances/new", tag = "admin", security(()),
    responses((status = 200, description = "The form that schedules a maintenance", content_type = "text/html"),
              (status = 403, description = "A viewer", content_type = "text/html")))]
pub async fn new_form(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, AdminError> {
    user.require_responder()?;
    let values = Values {
        name: String::new(),
        starts: String::new(),
        ends: String::new(),
        auto: true,
        body: String::new(),
        move_to: String::new(),
        components: BTreeSet::new(),
    };
    Ok(form_page(
        &state,
        &user,
        None,
        values,
        None,
        Flash::default(),
    ))
}

#[utoipa::path(post, path = "/admin/maintenances", tag = "admin", security(()),
    responses((status = 303, description = "Scheduled: to its page"),
              (status = 403, description = "A viewer, or the form's security token is wrong", content_type = "text/html"),
              (status = 422, description = "A field is not valid (an end before the start): the form again, as typed", content_type = "text/html")))]
pub async fn create(
    State(state): State<AppState>,
    CsrfForm(user, form): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AdminError> {
    user.require_responder()?;
    let values = Values::from_form(&Fields(form));
    let tz = state.snapshot.load().state.page.tz();
    let parsed = (|| {
        Ok::<_, String>(NewMaintenance {
            name: valid_name("name", values.name.clone()).map_err(invalid)?,
            scheduled_for: parse_local("start", &values.starts, tz)?,
            scheduled_until: parse_local("end", &values.ends, tz)?,
            component_ids: values.component_ids()?,
            body: match values.body.trim() {
                "" => None,
                _ => Some(valid_body("message", values.body.clone()).map_err(invalid)?),
            },
            auto_transition: values.auto,
        })
    })();
    let result = match parsed {
        Ok(input) => state
            .store
            .create_maintenance(input, &user.actor())
            .await
            .map_err(refusal),
        Err(message) => Err(Ok((StatusCode::UNPROCESSABLE_ENTITY, message))),
    };
    match result {
        Ok(m) => Ok(see_other(&format!(
            "/admin/maintenances/{}?done=maintenance_scheduled",
            m.id
        ))),
        Err(refused) => Ok(form_page(
            &state,
            &user,
            None,
            values,
            Some(end_first(refused?)),
            Flash::default(),
        )),
    }
}

/// The store's wording of "ends before it starts", in the form's terms.
fn end_first((code, message): (StatusCode, String)) -> (StatusCode, String) {
    if message.contains("scheduled_until must be after scheduled_for") {
        (code, "end: the window must end after it starts".into())
    } else {
        (code, message)
    }
}

#[utoipa::path(get, path = "/admin/maintenances/{id}", tag = "admin", security(()),
    params(("id" = String, Path, description = "Maintenance id")),
    responses((status = 200, description = "The maintenance, its timeline and its forms", content_type = "text/html"),
              (status = 404, description = "No such maintenance", content_type = "text/html")))]
pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: Flash,
    Path(id): Path<String>,
) -> Result<Response, AdminError> {
    let m = state
        .store
        .get_maintenance(parse_id("maintenance", &id)?)
        .await?;
    let tz = state.snapshot.load().state.page.tz();
    Ok(form_page(
        &state,
        &user,
        Some(&m),
        Values::of(&m, tz),
        None,
        flash,
    ))
}

#[utoipa::path(post, path = "/admin/maintenances/{id}", tag = "admin", security(()),
    params(("id" = String, Path, description = "Maintenance id")),
    responses((status = 303, description = "Saved: back to its page"),
              (status = 403, description = "A viewer, or the form's security token is wrong", content_type = "text/html"),
              (status = 409, description = "Completed, or a status that would go back", content_type = "text/html"),
              (status = 422, description = "A field is not valid: the form again, as typed", content_type = "text/html")))]
pub async fn save(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(user, form): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AdminError> {
    user.require_responder()?;
    let id = parse_id("maintenance", &id)?;
    let values = Values::from_form(&Fields(form));
    let tz = state.snapshot.load().state.page.tz();
    let parsed = (|| {
        Ok::<_, String>(MaintenancePatch {
            name: Some(valid_name("name", values.name.clone()).map_err(invalid)?),
            scheduled_for: Some(parse_local("start", &values.starts, tz)?),
            scheduled_until: Some(parse_local("end", &values.ends, tz)?),
            component_ids: Some(values.component_ids()?),
            auto_transition: Some(values.auto),
            status: match values.move_to.as_str() {
                "" => None,
                s => Some(
                    s.parse::<MaintenanceStatus>()
                        .map_err(|_| "status: choose one of the statuses offered")?,
                ),
            },
            body: match values.body.trim() {
                "" => None,
                _ => Some(valid_body("message", values.body.clone()).map_err(invalid)?),
            },
        })
    })();
    let result = match parsed {
        Ok(patch) => state
            .store
            .update_maintenance(id, patch, &user.actor())
            .await
            .map_err(refusal),
        Err(message) => Err(Ok((StatusCode::UNPROCESSABLE_ENTITY, message))),
    };
    match result {
        Ok(_) => Ok(see_other(&format!(
            "/admin/maintenances/{id}?done=maintenance_saved"
        ))),
        Err(refused) => {
            let m = state.store.get_maintenance(id).await?;
            Ok(form_page(
                &state,
                &user,
                Some(&m),
                values,
                Some(end_first(refused?)),
                Flash::default(),
            ))
        }
    }
}

#[utoipa::path(post, path = "/admin/maintenances/{id}/cancel", tag = "admin", security(()),
    params(("id" = String, Path, description = "Maintenance id")),
    responses((status = 303, description = "Cancelled: back to its page"),
              (status = 403, description = "A viewer, or the form's security token is wrong", content_type = "text/html"),
              (status = 409, description = "Already completed", content_type = "text/html")))]
pub async fn cancel(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(user, _form): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AdminError> {
    user.require_responder()?;
    let id = parse_id("maintenance", &id)?;
    state.store.cancel_maintenance(id, &user.actor()).await?;
    Ok(see_other(&format!(
        "/admin/maintenances/{id}?done=maintenance_cancelled"
    )))
}
