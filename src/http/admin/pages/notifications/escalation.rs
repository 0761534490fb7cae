//! Escalation: policies (steps of channels with a wait in minutes, repeated N more rounds,
//! covering components, monitors and vendors) created, edited and deleted by admins, and the
//! escalations running now, which any responder can acknowledge. Validation is the API's
//! (`validate_policy`, the store's checks that the subjects exist and are covered once).
//!
//! A step's channels are ticked by name among the existing channels (the boxes carry their
//! ids; an id that names no channel, say one deleted meanwhile, is refused with a message).
//! The form offers [`MAX_STEPS`] steps without JavaScript: the first few open, the rest
//! inside a `<details>` that opens by itself when they are in use.

use super::{all, field, from_api, lines, Pairs};
use crate::domain::{ComponentId, EscalationId, MonitorId, VendorId};
use crate::http::admin::pages::parse_id;
use crate::http::admin::pages::{html, when, Chrome, Flash};
use crate::http::admin::session::{see_other, CsrfForm, CurrentUser};
use crate::http::admin::AdminError;
use crate::http::api_v1::valid_name;
use crate::http::AppState;
use crate::notify::escalation::{
    validate_policy, EscalationPolicy, EscalationState, EscalationStep, NewPolicy, PolicyPatch,
    MAX_STEPS,
};
use crate::notify::record::Channel;
use crate::store::StoreError;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use std::collections::HashMap;

/// Step rows the form offers, as many as a policy may have (empty rows are left out).
const STEP_ROWS: usize = MAX_STEPS;
/// Step rows shown open at least; the others wait inside "More steps".
const OPEN_STEPS: usize = 3;

struct ChannelChoice {
    id: String,
    name: String,
    checked: bool,
}

struct StepView {
    n: usize,
    channels: Vec<ChannelChoice>,
    wait_minutes: String,
}

/// The policy form, as stored or as typed.
struct PolicyView {
    id: Option<String>,
    name: String,
    repeat: String,
    steps: Vec<StepView>,
    /// Rows shown open: [`OPEN_STEPS`], or one more than the last row in use.
    open_steps: usize,
    components: String,
    monitors: String,
    vendors: String,
}

impl PolicyView {
    fn blank(channels: &[Channel]) -> PolicyView {
        PolicyView::build(None, "", "0", &[], channels, "", "", "")
    }

    #[allow(clippy::too_many_arguments)]
    fn build(
        id: Option<String>,
        name: &str,
        repeat: &str,
        steps: &[(Vec<String>, String)],
        channels: &[Channel],
        components: &str,
        monitors: &str,
        vendors: &str,
    ) -> PolicyView {
        let in_use = steps
            .iter()
            .rposition(|(chosen, wait)| !chosen.is_empty() || !wait.trim().is_empty())
            .map_or(0, |last| last + 1);
        PolicyView {
            id,
            name: name.to_string(),
            repeat: repeat.to_string(),
            open_steps: (in_use + 1).clamp(OPEN_STEPS, STEP_ROWS.max(steps.len())),
            steps: (0..STEP_ROWS.max(steps.len()))
                .map(|i| {
                    let (chosen, wait) = steps.get(i).cloned().unwrap_or_default();
                    StepView {
                        n: i + 1,
                        channels: channels
                            .iter()
                            .map(|c| ChannelChoice {
                                id: c.id.to_string(),
                                name: c.name.clone(),
                                checked: chosen.contains(&c.id.to_string()),
                            })
                            .collect(),
                        wait_minutes: wait,
                    }
                })
                .collect(),
            components: components.to_string(),
            monitors: monitors.to_string(),
            vendors: vendors.to_string(),
        }
    }

    fn of(p: &EscalationPolicy, channels: &[Channel]) -> PolicyView {
        let steps: Vec<(Vec<String>, String)> = p
            .steps
            .iter()
            .map(|s| {
                (
                    s.channel_ids.iter().map(|c| c.to_string()).collect(),
                    minutes(s.wait_seconds),
                )
            })
            .collect();
        let join = |ids: Vec<String>| ids.join("\n");
        PolicyView::build(
            Some(p.id.to_string()),
            &p.name,
            &p.repeat.to_string(),
            &steps,
            channels,
            &join(p.components.iter().map(|c| c.to_string()).collect()),
            &join(p.monitors.iter().map(|c| c.to_string()).collect()),
            &join(p.vendors.iter().map(|c| c.to_string()).collect()),
        )
    }

    fn typed(id: Option<String>, pairs: &Pairs, channels: &[Channel]) -> PolicyView {
        let steps: Vec<(Vec<String>, String)> = (1..=STEP_ROWS)
            .map(|n| {
                (
                    all(pairs, &format!("step{n}_channel")),
                    field(pairs, &format!("step{n}_wait")).to_string(),
                )
            })
            .collect();
        PolicyView::build(
            id,
            field(pairs, "name"),
            field(pairs, "repeat"),
            &steps,
            channels,
            field(pairs, "components"),
            field(pairs, "monitors"),
            field(pairs, "vendors"),
        )
    }
}

/// Whole minutes when the wait is a multiple of a minute, else a decimal.
fn minutes(seconds: u32) -> String {
    if seconds % 60 == 0 {
        (seconds / 60).to_string()
    } else {
        format!("{:.2}", f64::from(seconds) / 60.0)
    }
}

struct PolicyRow {
    id: String,
    name: String,
    steps: Vec<String>,
    repeat: u32,
    covers: String,
}

struct EscalationRow {
    id: String,
    policy: String,
    subject: String,
    state: &'static str,
    position: String,
    started: String,
    acknowledged: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/notifications/escalation.html")]
struct EscalationPage {
    chrome: Chrome,
    can_edit: bool,
    can_acknowledge: bool,
    policies: Vec<PolicyRow>,
    open: Vec<EscalationRow>,
    recent: Vec<EscalationRow>,
    form: PolicyView,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/notifications/policy.html")]
struct PolicyPage {
    chrome: Chrome,
    form: PolicyView,
    error: Option<String>,
}

async fn page(
    state: &AppState,
    user: &CurrentUser,
    status: StatusCode,
    flash: Flash,
    form: Option<PolicyView>,
    error: Option<String>,
) -> Result<Response, AdminError> {
    let channels = state.store.list_channels().await?;
    let names: HashMap<String, String> = channels
        .iter()
        .map(|c| (c.id.to_string(), c.name.clone()))
        .collect();
    let channel_name = |id: &str| names.get(id).cloned().unwrap_or_else(|| id.to_string());
    let policies = state.store.list_policies().await?;
    let policy_names: HashMap<String, String> = policies
        .iter()
        .map(|p| (p.id.to_string(), p.name.clone()))
        .collect();
    let rows = policies
        .iter()
        .map(|p| PolicyRow {
            id: p.id.to_string(),
            name: p.name.clone(),
            steps: p
                .steps
                .iter()
                .map(|s| {
                    format!(
                        "{} then wait {} min",
                        s.channel_ids
                            .iter()
                            .map(|c| channel_name(&c.to_string()))
                            .collect::<Vec<_>>()
                            .join(" + "),
                        minutes(s.wait_seconds)
                    )
                })
                .collect(),
            repeat: p.repeat,
            covers: format!(
                "{} components, {} monitors, {} vendors",
                p.components.len(),
                p.monitors.len(),
                p.vendors.len()
            ),
        })
        .collect();
    let escalation_row = |e: crate::notify::escalation::Escalation| EscalationRow {
        id: e.id.to_string(),
        policy: policy_names
            .get(&e.policy_id.to_string())
            .cloned()
            .unwrap_or_else(|| "(deleted policy)".into()),
        subject: e.subject_key,
        state: e.state.as_str(),
        position: format!("step {} of round {}", e.step + 1, e.round + 1),
        started: when(&e.created_at),
        acknowledged: e.acknowledged_by.map(|by| {
            format!(
                "{by}, {}",
                e.acknowledged_at.as_ref().map(when).unwrap_or_default()
            )
        }),
    };
    let open = state
        .store
        .list_escalations(Some(EscalationState::Active), 200)
        .await?
        .into_iter()
        .map(escalation_row)
        .collect();
    let recent = state
        .store
        .list_escalations(None, 20)
        .await?
        .into_iter()
        .filter(|e| e.state != EscalationState::Active)
        .map(escalation_row)
        .collect();
    Ok(html(
        status,
        &EscalationPage {
            // Its own navigation key: every role has the "Escalation" link (base.html), only
            // admins the "Notifications" one.
            chrome: Chrome::new(state, user, "Escalation", "escalation", flash),
            can_edit: user.user.role.is_admin(),
            can_acknowledge: user.user.role.can_respond(),
            policies: rows,
            open,
            recent,
            form: form.unwrap_or_else(|| PolicyView::blank(&channels)),
            error,
        },
    ))
}

#[utoipa::path(get, path = "/admin/notifications/escalation", tag = "admin", security(()),
    responses((status = 200, description = "Escalation policies and the escalations running now", content_type = "text/html"),
              (status = 303, description = "Not signed in: to the sign-in form")))]
pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: Flash,
) -> Result<Response, AdminError> {
    page(&state, &user, StatusCode::OK, flash, None, None).await
}

/// The policy from the form, validated by the API's rules; channels among `channels` (the
/// existing ones), vendors by id or slug.
async fn policy_from(
    state: &AppState,
    pairs: &Pairs,
    channels: &[Channel],
) -> Result<NewPolicy, AdminError> {
    let name = valid_name("name", field(pairs, "name").to_string()).map_err(from_api)?;
    let repeat_text = field(pairs, "repeat").trim();
    let repeat = if repeat_text.is_empty() {
        0
    } else {
        repeat_text.parse::<u32>().map_err(|_| {
            AdminError::unprocessable(format!(
                "repeat: `{repeat_text}` is not a whole number of extra rounds (0 for once)"
            ))
        })?
    };
    let mut steps = Vec::new();
    for n in 1..=STEP_ROWS {
        let chosen = all(pairs, &format!("step{n}_channel"));
        let wait = field(pairs, &format!("step{n}_wait")).trim().to_string();
        if chosen.is_empty() {
            if !wait.is_empty() && wait != "0" {
                return Err(AdminError::unprocessable(format!(
                    "step {n}: a wait is set but no channel is chosen; tick its channels or clear the wait"
                )));
            }
            continue;
        }
        let minutes: f64 = if wait.is_empty() {
            0.0
        } else {
            wait.parse().map_err(|_| {
                AdminError::unprocessable(format!(
                    "step {n}: the wait `{wait}` is not a number of minutes"
                ))
            })?
        };
        if !(0.0..=10_080.0).contains(&minutes) {
            return Err(AdminError::unprocessable(format!(
                "step {n}: the wait must be 0 to 10080 minutes (a week)"
            )));
        }
        let channel_ids = chosen
            .iter()
            .map(|c| {
                channels
                    .iter()
                    .find(|known| known.id.to_string() == *c)
                    .map(|known| known.id)
                    .ok_or_else(|| {
                        AdminError::unprocessable(format!(
                            "step {n}: there is no channel `{}` (it may have been deleted meanwhile); reload the page and tick channels from the list",
                            c.chars().take(60).collect::<String>()
                        ))
                    })
            })
            .collect::<Result<_, _>>()?;
        steps.push(EscalationStep {
            channel_ids,
            wait_seconds: (minutes * 60.0).round() as u32,
        });
    }
    let components = ids::<ComponentId>(field(pairs, "components"), "components")?;
    let monitors = ids::<MonitorId>(field(pairs, "monitors"), "monitors")?;
    let mut vendors = Vec::new();
    for key in lines(field(pairs, "vendors")) {
        let id = match key.parse::<VendorId>() {
            Ok(id) => id,
            Err(_) => match state.store.get_vendor_by_slug(&key).await {
                Ok(v) => v.id,
                Err(StoreError::NotFound { .. }) => {
                    return Err(AdminError::unprocessable(format!(
                        "vendors: no vendor has the id or slug `{}`",
                        key.chars().take(80).collect::<String>()
                    )))
                }
                Err(e) => return Err(e.into()),
            },
        };
        vendors.push(id);
    }
    let new = NewPolicy {
        name,
        steps,
        repeat,
        components,
        monitors,
        vendors,
    };
    validate_policy(&new).map_err(AdminError::unprocessable)?;
    Ok(new)
}

fn ids<T: std::str::FromStr>(text: &str, what: &str) -> Result<Vec<T>, AdminError> {
    lines(text)
        .into_iter()
        .map(|s| {
            s.parse::<T>().map_err(|_| {
                AdminError::unprocessable(format!(
                    "{what}: `{}` is not an id; give one id per line",
                    s.chars().take(80).collect::<String>()
                ))
            })
        })
        .collect()
}

/// The store refuses what the form cannot know (a subject covered by another policy, a
/// channel gone): those messages are shown on the form too.
fn form_error(err: StoreError) -> Result<AdminError, AdminError> {
    match err {
        StoreError::Invalid { .. } | StoreError::Conflict { .. } | StoreError::NotFound { .. } => {
            Ok(err.into())
        }
        other => Err(other.into()),
    }
}

#[utoipa::path(post, path = "/admin/notifications/escalation/policies", tag = "admin", security(()),
    responses((status = 303, description = "Created; it escalates what opens from now on"),
              (status = 403, description = "Not an admin, or the form's security token is wrong", content_type = "text/html"),
              (status = 422, description = "A field is not valid: the form again with the message", content_type = "text/html")))]
pub async fn create_policy(
    State(state): State<AppState>,
    CsrfForm(user, pairs): CsrfForm<Pairs>,
) -> Result<Response, AdminError> {
    user.require_admin()?;
    let channels = state.store.list_channels().await?;
    let result = match policy_from(&state, &pairs, &channels).await {
        Ok(new) => match state.store.create_policy(new, &user.actor()).await {
            Ok(_) => {
                return Ok(see_other(
                    "/admin/notifications/escalation?done=policy_created",
                ))
            }
            Err(err) => form_error(err)?,
        },
        Err(err) => err,
    };
    page(
        &state,
        &user,
        result.status,
        Flash::default(),
        Some(PolicyView::typed(None, &pairs, &channels)),
        Some(result.message),
    )
    .await
}

#[utoipa::path(get, path = "/admin/notifications/escalation/policies/{id}", tag = "admin", security(()),
    params(("id" = String, Path, description = "The policy's id")),
    responses((status = 200, description = "The policy's form", content_type = "text/html"),
              (status = 403, description = "Not an admin", content_type = "text/html"),
              (status = 404, description = "No such policy", content_type = "text/html")))]
pub async fn policy(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: Flash,
    Path(id): Path<String>,
) -> Result<Response, AdminError> {
    user.require_admin()?;
    let policy = state
        .store
        .get_policy(parse_id("escalation policy", &id)?)
        .await?;
    let channels = state.store.list_channels().await?;
    Ok(html(
        StatusCode::OK,
        &PolicyPage {
            chrome: Chrome::new(
                &state,
                &user,
                format!("Policy {}", policy.name),
                "notifications",
                flash,
            ),
            form: PolicyView::of(&policy, &channels),
            error: None,
        },
    ))
}

#[utoipa::path(post, path = "/admin/notifications/escalation/policies/{id}", tag = "admin", security(()),
    params(("id" = String, Path, description = "The policy's id")),
    responses((status = 303, description = "Updated; running escalations continue with the new steps"),
              (status = 403, description = "Not an admin, or the form's security token is wrong", content_type = "text/html"),
              (status = 404, description = "No such policy", content_type = "text/html"),
              (status = 422, description = "A field is not valid: the form again with the message", content_type = "text/html")))]
pub async fn update_policy(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(user, pairs): CsrfForm<Pairs>,
) -> Result<Response, AdminError> {
    user.require_admin()?;
    let id = parse_id("escalation policy", &id)?;
    state.store.get_policy(id).await?;
    let channels = state.store.list_channels().await?;
    let result = match policy_from(&state, &pairs, &channels).await {
        Ok(new) => {
            let patch = PolicyPatch {
                name: Some(new.name),
                steps: Some(new.steps),
                repeat: Some(new.repeat),
                components: Some(new.components),
                monitors: Some(new.monitors),
                vendors: Some(new.vendors),
            };
            match state.store.update_policy(id, patch, &user.actor()).await {
                Ok(_) => {
                    return Ok(see_other(&format!(
                        "/admin/notifications/escalation/policies/{id}?done=policy_updated"
                    )))
                }
                Err(err) => form_error(err)?,
            }
        }
        Err(err) => err,
    };
    Ok(html(
        result.status,
        &PolicyPage {
            chrome: Chrome::new(&state, &user, "Policy", "notifications", Flash::default()),
            form: PolicyView::typed(Some(id.to_string()), &pairs, &channels),
            error: Some(result.message),
        },
    ))
}

#[derive(Deserialize)]
pub struct Empty {}

#[utoipa::path(post, path = "/admin/notifications/escalation/policies/{id}/delete", tag = "admin", security(()),
    params(("id" = String, Path, description = "The policy's id")),
    responses((status = 303, description = "Deleted; its running escalations end"),
              (status = 403, description = "Not an admin, or the form's security token is wrong", content_type = "text/html"),
              (status = 404, description = "No such policy", content_type = "text/html")))]
pub async fn delete_policy(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(user, _): CsrfForm<Empty>,
) -> Result<Response, AdminError> {
    user.require_admin()?;
    state
        .store
        .delete_policy(parse_id("escalation policy", &id)?, &user.actor())
        .await?;
    Ok(see_other(
        "/admin/notifications/escalation?done=policy_deleted",
    ))
}

#[utoipa::path(post, path = "/admin/notifications/escalations/{id}/acknowledge", tag = "admin", security(()),
    params(("id" = String, Path, description = "The escalation's id")),
    responses((status = 303, description = "Acknowledged: no further steps"),
              (status = 403, description = "A viewer, or the form's security token is wrong", content_type = "text/html"),
              (status = 404, description = "No such escalation", content_type = "text/html")))]
pub async fn acknowledge(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(user, _): CsrfForm<Empty>,
) -> Result<Response, AdminError> {
    user.require_responder()?;
    let id: EscalationId = id.parse().map_err(|_| {
        AdminError::not_found(format!(
            "there is no escalation `{}`",
            id.chars().take(60).collect::<String>()
        ))
    })?;
    state
        .store
        .acknowledge_escalation(id, &user.actor())
        .await?;
    Ok(see_other(
        "/admin/notifications/escalation?done=escalation_acknowledged",
    ))
}
