//! Components and groups: the page's components in their groups with their status; setting a
//! status by hand; creating, editing and deleting components (with a confirmation step);
//! creating, renaming and deleting groups; moving components within their group and groups
//! on the page up and down (forms; no script needed).
//!
//! Validation is the API's (`api_v1::{valid_name, valid_description, valid_date}`); the
//! store refuses what it refuses for the API (deleting config-managed records, unknown
//! groups). A form with problems comes back as a 422 page with what was typed.
//!
//! Who may do what: viewers look; responders set a component's status by hand (what an
//! incident needs, as `pharos component set` does with a `write` token); everything else
//! changes the page's structure and needs an admin.
//!
//! Config-managed components and groups (declared in the configuration file) show their
//! file-owned fields read only: the file would put them back at the next start. Their status
//! may still be set by hand.

use super::{html, Chrome, Flash};
use crate::domain::model::{Component, ComponentGroup};
use crate::domain::{ComponentGroupId, ComponentId, ComponentStatus, ManagedBy};
use crate::http::admin::pages::parse_id;
use crate::http::admin::session::{see_other, CsrfForm, CurrentUser};
use crate::http::admin::AdminError;
use crate::http::api_v1::{valid_date, valid_description, valid_name};
use crate::http::AppState;
use crate::store::{
    ComponentPatch, GroupPatch, NewComponent, NewGroup, PageRequest, Store, StoreResult,
};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

/// Every component, in display order (pages of the largest size the store serves).
async fn all_components(store: &dyn Store) -> StoreResult<Vec<Component>> {
    let mut all = Vec::new();
    let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
    loop {
        let got = store.list_components(page.clone()).await?;
        all.extend(got.items);
        match got.next_cursor {
            Some(cursor) => page.cursor = Some(cursor),
            None => return Ok(all),
        }
    }
}

/// Every group, in display order.
async fn all_groups(store: &dyn Store) -> StoreResult<Vec<ComponentGroup>> {
    let mut all = Vec::new();
    let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
    loop {
        let got = store.list_groups(page.clone()).await?;
        all.extend(got.items);
        match got.next_cursor {
            Some(cursor) => page.cursor = Some(cursor),
            None => return Ok(all),
        }
    }
}

fn statuses() -> Vec<&'static str> {
    ComponentStatus::ALL.iter().map(|s| s.as_str()).collect()
}

// ---- the list ----------------------------------------------------------------------------

struct Row {
    id: String,
    name: String,
    status: &'static str,
    pinned: bool,
    hidden: bool,
    only_if_degraded: bool,
    config: bool,
    first: bool,
    last: bool,
}

struct GroupView {
    /// None: the components in no group.
    id: Option<String>,
    name: String,
    description: String,
    config: bool,
    first: bool,
    last: bool,
    rows: Vec<Row>,
}

#[derive(Template)]
#[template(path = "admin/components/list.html")]
struct ListPage {
    chrome: Chrome,
    groups: Vec<GroupView>,
    statuses: Vec<&'static str>,
    can_respond: bool,
    can_admin: bool,
    /// A new group's form sent back with its problem.
    group_problem: Option<String>,
    group_name: String,
    group_description: String,
}

async fn list_page(
    state: &AppState,
    user: &CurrentUser,
    flash: Flash,
    status: StatusCode,
    group_problem: Option<String>,
    group_name: String,
    group_description: String,
) -> Result<Response, AdminError> {
    let groups = all_groups(state.store.as_ref()).await?;
    let components = all_components(state.store.as_ref()).await?;
    let rows_of = |group: Option<ComponentGroupId>| -> Vec<Row> {
        let members: Vec<&Component> = components.iter().filter(|c| c.group_id == group).collect();
        let n = members.len();
        members
            .into_iter()
            .enumerate()
            .map(|(i, c)| Row {
                id: c.id.to_string(),
                name: c.name.clone(),
                status: c.status.as_str(),
                pinned: c.status_pinned,
                hidden: !c.showcase,
                only_if_degraded: c.only_show_if_degraded,
                config: c.managed_by == ManagedBy::Config,
                first: i == 0,
                last: i + 1 == n,
            })
            .collect()
    };
    let n = groups.len();
    let mut views: Vec<GroupView> = groups
        .iter()
        .enumerate()
        .map(|(i, g)| GroupView {
            id: Some(g.id.to_string()),
            name: g.name.clone(),
            description: g.description.clone().unwrap_or_default(),
            config: g.managed_by == ManagedBy::Config,
            first: i == 0,
            last: i + 1 == n,
            rows: rows_of(Some(g.id)),
        })
        .collect();
    let ungrouped = rows_of(None);
    if !ungrouped.is_empty() || views.is_empty() {
        views.push(GroupView {
            id: None,
            name: "Not in a group".into(),
            description: String::new(),
            config: false,
            first: true,
            last: true,
            rows: ungrouped,
        });
    }
    Ok(html(
        status,
        &ListPage {
            chrome: Chrome::new(state, user, "Components", "components", flash),
            groups: views,
            statuses: statuses(),
            can_respond: user.user.role.can_respond(),
            can_admin: user.user.role.is_admin(),
            group_problem,
            group_name,
            group_description,
        },
    ))
}

#[utoipa::path(get, path = "/admin/components", tag = "admin", security(()),
    responses((status = 200, description = "Components in their groups, with their status", content_type = "text/html"),
              (status = 303, description = "Not signed in: to the sign-in form")))]
pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: Flash,
) -> Result<Response, AdminError> {
    list_page(
        &state,
        &user,
        flash,
        StatusCode::OK,
        None,
        String::new(),
        String::new(),
    )
    .await
}

// ---- status by hand ----------------------------------------------------------------------

#[derive(Deserialize)]
pub struct StatusForm {
    #[serde(default)]
    status: String,
}

#[utoipa::path(post, path = "/admin/components/{id}/status", tag = "admin", security(()),
    params(("id" = String, Path, description = "Component id")),
    responses((status = 303, description = "The status is set"),
              (status = 403, description = "A viewer, or the form's security token is wrong", content_type = "text/html"),
              (status = 422, description = "Not a status", content_type = "text/html")))]
pub async fn set_status(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(user, form): CsrfForm<StatusForm>,
) -> Result<Response, AdminError> {
    user.require_responder()?;
    let id: ComponentId = parse_id("component", &id)?;
    let status: ComponentStatus = form.status.parse().map_err(|_| {
        AdminError::unprocessable(format!("status: choose one of {}", statuses().join(", ")))
    })?;
    let patch = ComponentPatch {
        status: Some(status),
        ..ComponentPatch::default()
    };
    state
        .store
        .update_component(id, patch, &user.actor())
        .await?;
    Ok(see_other("/admin/components?done=component_status_set"))
}

// ---- create and edit ---------------------------------------------------------------------

/// The component form, as typed.
#[derive(Debug, Default, Deserialize)]
pub struct ComponentForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    group_id: String,
    #[serde(default)]
    showcase: Option<String>,
    #[serde(default)]
    only_show_if_degraded: Option<String>,
    #[serde(default)]
    start_date: String,
    /// New components only.
    #[serde(default)]
    status: String,
}

struct GroupChoice {
    id: String,
    name: String,
}

#[derive(Template)]
#[template(path = "admin/components/form.html")]
struct FormPage {
    chrome: Chrome,
    /// None: a new component.
    id: Option<String>,
    config_key: Option<String>,
    name: String,
    description: String,
    group_id: String,
    showcase: bool,
    only_show_if_degraded: bool,
    start_date: String,
    status: String,
    groups: Vec<GroupChoice>,
    statuses: Vec<&'static str>,
    problems: Vec<String>,
}

#[allow(clippy::too_many_arguments)]
async fn form_page(
    state: &AppState,
    user: &CurrentUser,
    status: StatusCode,
    id: Option<ComponentId>,
    config_key: Option<String>,
    form: ComponentForm,
    problems: Vec<String>,
) -> Result<Response, AdminError> {
    let groups = all_groups(state.store.as_ref())
        .await?
        .into_iter()
        .map(|g| GroupChoice {
            id: g.id.to_string(),
            name: g.name,
        })
        .collect();
    let title = if id.is_some() {
        format!("Edit {}", form.name)
    } else {
        "New component".to_string()
    };
    Ok(html(
        status,
        &FormPage {
            chrome: Chrome::new(state, user, title, "components", Flash::default()),
            id: id.map(|i| i.to_string()),
            config_key,
            name: form.name,
            description: form.description,
            group_id: form.group_id,
            showcase: form.showcase.is_some(),
            only_show_if_degraded: form.only_show_if_degraded.is_some(),
            start_date: form.start_date,
            status: if form.status.is_empty() {
                "operational".into()
            } else {
                form.status
            },
            groups,
            statuses: statuses(),
            problems,
        },
    ))
}

/// The fields of a valid form, by the API's rules; or every problem.
struct Valid {
    name: String,
    description: Option<String>,
    group_id: Option<ComponentGroupId>,
    start_date: Option<String>,
}

fn validate(form: &ComponentForm) -> Result<Valid, Vec<String>> {
    let mut problems = Vec::new();
    let name = valid_name("name", form.name.clone()).map_err(|e| problems.push(e.message));
    let description =
        valid_description(Some(form.description.clone())).map_err(|e| problems.push(e.message));
    let start = form.start_date.trim();
    let start_date = valid_date((!start.is_empty()).then(|| start.to_string()))
        .map_err(|e| problems.push(e.message));
    let group_id = match form.group_id.trim() {
        "" => Ok(None),
        g => g.parse::<ComponentGroupId>().map(Some).map_err(|_| {
            problems.push(format!(
                "group: `{g}` is not a group; choose one from the list"
            ))
        }),
    };
    match (name, description, start_date, group_id) {
        (Ok(name), Ok(description), Ok(start_date), Ok(group_id)) => Ok(Valid {
            name,
            description,
            group_id,
            start_date,
        }),
        _ => Err(problems),
    }
}

#[utoipa::path(get, path = "/admin/components/new", tag = "admin", security(()),
    responses((status = 200, description = "The form of a new component (admins)", content_type = "text/html")))]
pub async fn new_form(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, AdminError> {
    user.require_admin()?;
    let form = ComponentForm {
        showcase: Some("on".into()),
        ..ComponentForm::default()
    };
    form_page(&state, &user, StatusCode::OK, None, None, form, Vec::new()).await
}

#[utoipa::path(post, path = "/admin/components", tag = "admin", security(()),
    responses((status = 303, description = "Created"),
              (status = 403, description = "Not an admin, or the form's security token is wrong", content_type = "text/html"),
              (status = 422, description = "The form has problems: shown with what was typed", content_type = "text/html")))]
pub async fn create(
    State(state): State<AppState>,
    CsrfForm(user, form): CsrfForm<ComponentForm>,
) -> Result<Response, AdminError> {
    user.require_admin()?;
    let status = match form.status.as_str() {
        "" => None,
        s => match s.parse::<ComponentStatus>() {
            Ok(s) => Some(s),
            Err(err) => {
                let problems = vec![format!("status: {err}")];
                return form_page(
                    &state,
                    &user,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    None,
                    None,
                    form,
                    problems,
                )
                .await;
            }
        },
    };
    let valid = match validate(&form) {
        Ok(v) => v,
        Err(problems) => {
            return form_page(
                &state,
                &user,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                None,
                form,
                problems,
            )
            .await
        }
    };
    let input = NewComponent {
        name: valid.name,
        description: valid.description,
        group_id: valid.group_id,
        position: None,
        status,
        showcase: Some(form.showcase.is_some()),
        only_show_if_degraded: Some(form.only_show_if_degraded.is_some()),
        start_date: valid.start_date,
    };
    match state.store.create_component(input, &user.actor()).await {
        Ok(_) => Ok(see_other("/admin/components?done=component_created")),
        Err(crate::store::StoreError::Invalid { message }) => {
            form_page(
                &state,
                &user,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                None,
                form,
                vec![message],
            )
            .await
        }
        Err(err) => Err(err.into()),
    }
}

fn config_key_of(c: &Component) -> Option<String> {
    (c.managed_by == ManagedBy::Config).then(|| c.config_key.clone().unwrap_or_default())
}

#[utoipa::path(get, path = "/admin/components/{id}/edit", tag = "admin", security(()),
    params(("id" = String, Path, description = "Component id")),
    responses((status = 200, description = "The component's form (admins)", content_type = "text/html")))]
pub async fn edit_form(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Response, AdminError> {
    user.require_admin()?;
    let c = state
        .store
        .get_component(parse_id("component", &id)?)
        .await?;
    let form = ComponentForm {
        name: c.name.clone(),
        description: c.description.clone().unwrap_or_default(),
        group_id: c.group_id.map(|g| g.to_string()).unwrap_or_default(),
        showcase: c.showcase.then(|| "on".into()),
        only_show_if_degraded: c.only_show_if_degraded.then(|| "on".into()),
        start_date: c.start_date.clone().unwrap_or_default(),
        status: c.status.as_str().into(),
    };
    form_page(
        &state,
        &user,
        StatusCode::OK,
        Some(c.id),
        config_key_of(&c),
        form,
        Vec::new(),
    )
    .await
}

#[utoipa::path(post, path = "/admin/components/{id}", tag = "admin", security(()),
    params(("id" = String, Path, description = "Component id")),
    responses((status = 303, description = "Saved"),
              (status = 403, description = "Not an admin, or the form's security token is wrong", content_type = "text/html"),
              (status = 409, description = "Declared in the configuration file", content_type = "text/html"),
              (status = 422, description = "The form has problems: shown with what was typed", content_type = "text/html")))]
pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(user, form): CsrfForm<ComponentForm>,
) -> Result<Response, AdminError> {
    user.require_admin()?;
    let current = state
        .store
        .get_component(parse_id("component", &id)?)
        .await?;
    if current.managed_by == ManagedBy::Config {
        return Err(AdminError::conflict(format!(
            "component `{}` is declared in the configuration file (key `{}`): change it there; its status can be set on the components page",
            current.name,
            current.config_key.unwrap_or_default()
        )));
    }
    let valid = match validate(&form) {
        Ok(v) => v,
        Err(problems) => {
            return form_page(
                &state,
                &user,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(current.id),
                None,
                form,
                problems,
            )
            .await
        }
    };
    let patch = ComponentPatch {
        name: Some(valid.name),
        description: Some(valid.description),
        group_id: Some(valid.group_id),
        position: None,
        status: None,
        showcase: Some(form.showcase.is_some()),
        only_show_if_degraded: Some(form.only_show_if_degraded.is_some()),
        start_date: Some(valid.start_date),
    };
    match state
        .store
        .update_component(current.id, patch, &user.actor())
        .await
    {
        Ok(_) => Ok(see_other("/admin/components?done=component_saved")),
        Err(crate::store::StoreError::Invalid { message }) => {
            form_page(
                &state,
                &user,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(current.id),
                None,
                form,
                vec![message],
            )
            .await
        }
        Err(err) => Err(err.into()),
    }
}

// ---- delete, with a confirmation step ------------------------------------------------------

#[derive(Template)]
#[template(path = "admin/components/delete.html")]
struct DeletePage {
    chrome: Chrome,
    action: String,
    what: &'static str,
    name: String,
    consequence: &'static str,
}

#[derive(Deserialize)]
pub struct NoFields {}

#[utoipa::path(get, path = "/admin/components/{id}/delete", tag = "admin", security(()),
    params(("id" = String, Path, description = "Component id")),
    responses((status = 200, description = "Asks to confirm the deletion (admins)", content_type = "text/html")))]
pub async fn delete_component_confirm(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Response, AdminError> {
    user.require_admin()?;
    let c = state
        .store
        .get_component(parse_id("component", &id)?)
        .await?;
    Ok(html(
        StatusCode::OK,
        &DeletePage {
            chrome: Chrome::new(&state, &user, "Delete component", "components", Flash::default()),
            action: format!("/admin/components/{}/delete", c.id),
            what: "component",
            name: c.name,
            consequence: "It disappears from the page with its history; incidents keep their text. Monitors stop driving it.",
        },
    ))
}

#[utoipa::path(post, path = "/admin/components/{id}/delete", tag = "admin", security(()),
    params(("id" = String, Path, description = "Component id")),
    responses((status = 303, description = "Deleted"),
              (status = 409, description = "Declared in the configuration file", content_type = "text/html")))]
pub async fn delete_component(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(user, _): CsrfForm<NoFields>,
) -> Result<Response, AdminError> {
    user.require_admin()?;
    state
        .store
        .delete_component(parse_id("component", &id)?, &user.actor())
        .await?;
    Ok(see_other("/admin/components?done=component_deleted"))
}

#[utoipa::path(get, path = "/admin/groups/{id}/delete", tag = "admin", security(()),
    params(("id" = String, Path, description = "Group id")),
    responses((status = 200, description = "Asks to confirm the deletion (admins)", content_type = "text/html")))]
pub async fn delete_group_confirm(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Response, AdminError> {
    user.require_admin()?;
    let g = state.store.get_group(parse_id("group", &id)?).await?;
    Ok(html(
        StatusCode::OK,
        &DeletePage {
            chrome: Chrome::new(
                &state,
                &user,
                "Delete group",
                "components",
                Flash::default(),
            ),
            action: format!("/admin/groups/{}/delete", g.id),
            what: "group",
            name: g.name,
            consequence: "Its components stay, outside any group.",
        },
    ))
}

#[utoipa::path(post, path = "/admin/groups/{id}/delete", tag = "admin", security(()),
    params(("id" = String, Path, description = "Group id")),
    responses((status = 303, description = "Deleted; its components are now in no group"),
              (status = 409, description = "Declared in the configuration file", content_type = "text/html")))]
pub async fn delete_group(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(user, _): CsrfForm<NoFields>,
) -> Result<Response, AdminError> {
    user.require_admin()?;
    state
        .store
        .delete_group(parse_id("group", &id)?, &user.actor())
        .await?;
    Ok(see_other("/admin/components?done=group_deleted"))
}

// ---- groups --------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
pub struct GroupForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
}

#[utoipa::path(post, path = "/admin/groups", tag = "admin", security(()),
    responses((status = 303, description = "Created, last on the page"),
              (status = 422, description = "The name is not valid: the page with what was typed", content_type = "text/html")))]
pub async fn create_group(
    State(state): State<AppState>,
    CsrfForm(user, form): CsrfForm<GroupForm>,
) -> Result<Response, AdminError> {
    user.require_admin()?;
    let checked = valid_name("name", form.name.clone())
        .and_then(|name| Ok((name, valid_description(Some(form.description.clone()))?)));
    let (name, description) = match checked {
        Ok(v) => v,
        Err(err) => {
            return list_page(
                &state,
                &user,
                Flash::default(),
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(err.message),
                form.name,
                form.description,
            )
            .await
        }
    };
    state
        .store
        .create_group(
            NewGroup {
                name,
                description,
                position: None,
            },
            &user.actor(),
        )
        .await?;
    Ok(see_other("/admin/components?done=group_created"))
}

#[utoipa::path(post, path = "/admin/groups/{id}", tag = "admin", security(()),
    params(("id" = String, Path, description = "Group id")),
    responses((status = 303, description = "Renamed"),
              (status = 409, description = "Declared in the configuration file", content_type = "text/html"),
              (status = 422, description = "The name is not valid", content_type = "text/html")))]
pub async fn rename_group(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(user, form): CsrfForm<GroupForm>,
) -> Result<Response, AdminError> {
    user.require_admin()?;
    let group = state.store.get_group(parse_id("group", &id)?).await?;
    if group.managed_by == ManagedBy::Config {
        return Err(AdminError::conflict(format!(
            "group `{}` is declared in the configuration file (key `{}`): rename it there",
            group.name,
            group.config_key.unwrap_or_default()
        )));
    }
    let name = valid_name("name", form.name).map_err(|e| AdminError::unprocessable(e.message))?;
    let description = valid_description(Some(form.description))
        .map_err(|e| AdminError::unprocessable(e.message))?;
    let patch = GroupPatch {
        name: Some(name),
        description: Some(description),
        position: None,
    };
    state
        .store
        .update_group(group.id, patch, &user.actor())
        .await?;
    Ok(see_other("/admin/components?done=group_saved"))
}

// ---- moving up and down ----------------------------------------------------------------------

#[derive(Deserialize)]
pub struct MoveForm {
    #[serde(default)]
    direction: String,
}

enum Direction {
    Up,
    Down,
}

fn direction(form: &MoveForm) -> Result<Direction, AdminError> {
    match form.direction.as_str() {
        "up" => Ok(Direction::Up),
        "down" => Ok(Direction::Down),
        other => Err(AdminError::unprocessable(format!(
            "direction: `{other}` is neither `up` nor `down`"
        ))),
    }
}

/// The positions that exchange `moving` (at `index` of `order`) with its neighbour: a list
/// of (index, new position), one change when the neighbour shares its position (then the
/// order is decided by id, and one step apart is enough).
fn swap(order: &[i64], index: usize, dir: &Direction) -> Vec<(usize, i64)> {
    let other = match dir {
        Direction::Up if index > 0 => index - 1,
        Direction::Down if index + 1 < order.len() => index + 1,
        _ => return Vec::new(),
    };
    let (mine, theirs) = (order[index], order[other]);
    if mine != theirs {
        return vec![(index, theirs), (other, mine)];
    }
    match dir {
        Direction::Up if theirs > 0 => vec![(index, theirs - 1)],
        Direction::Up => vec![(other, mine + 1)],
        Direction::Down => vec![(index, theirs + 1)],
    }
}

#[utoipa::path(post, path = "/admin/components/{id}/move", tag = "admin", security(()),
    params(("id" = String, Path, description = "Component id")),
    responses((status = 303, description = "Moved one place up or down within its group")))]
pub async fn move_component(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(user, form): CsrfForm<MoveForm>,
) -> Result<Response, AdminError> {
    user.require_admin()?;
    let dir = direction(&form)?;
    let id: ComponentId = parse_id("component", &id)?;
    let current = state.store.get_component(id).await?;
    let siblings: Vec<Component> = all_components(state.store.as_ref())
        .await?
        .into_iter()
        .filter(|c| c.group_id == current.group_id)
        .collect();
    let index = siblings
        .iter()
        .position(|c| c.id == id)
        .ok_or_else(|| AdminError::not_found("the component is gone"))?;
    let order: Vec<i64> = siblings.iter().map(|c| c.position).collect();
    for (i, position) in swap(&order, index, &dir) {
        let patch = ComponentPatch {
            position: Some(position),
            ..ComponentPatch::default()
        };
        state
            .store
            .update_component(siblings[i].id, patch, &user.actor())
            .await?;
    }
    Ok(see_other(&format!(
        "/admin/components?done=component_moved#c-{id}"
    )))
}

#[utoipa::path(post, path = "/admin/groups/{id}/move", tag = "admin", security(()),
    params(("id" = String, Path, description = "Group id")),
    responses((status = 303, description = "Moved one place up or down on the page")))]
pub async fn move_group(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(user, form): CsrfForm<MoveForm>,
) -> Result<Response, AdminError> {
    user.require_admin()?;
    let dir = direction(&form)?;
    let id: ComponentGroupId = parse_id("group", &id)?;
    let groups = all_groups(state.store.as_ref()).await?;
    let index = groups
        .iter()
        .position(|g| g.id == id)
        .ok_or_else(|| AdminError::not_found(format!("no group has the id `{id}`")))?;
    let order: Vec<i64> = groups.iter().map(|g| g.position).collect();
    for (i, position) in swap(&order, index, &dir) {
        let patch = GroupPatch {
            position: Some(position),
            ..GroupPatch::default()
        };
        state
            .store
            .update_group(groups[i].id, patch, &user.actor())
            .await?;
    }
    Ok(see_other(&format!(
        "/admin/components?done=group_moved#g-{id}"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swapping_exchanges_distinct_positions() {
        assert_eq!(swap(&[0, 5, 9], 1, &Direction::Up), vec![(1, 0), (0, 5)]);
        assert_eq!(swap(&[0, 5, 9], 1, &Direction::Down), vec![(1, 9), (2, 5)]);
        assert!(swap(&[0, 5, 9], 0, &Direction::Up).is_empty());
        assert!(swap(&[0, 5, 9], 2, &Direction::Down).is_empty());
    }

    #[test]
    fn swapping_equal_positions_moves_one_step() {
        assert_eq!(swap(&[3, 3], 1, &Direction::Up), vec![(1, 2)]);
        assert_eq!(swap(&[0, 0], 1, &Direction::Up), vec![(0, 1)]);
        assert_eq!(swap(&[3, 3], 0, &Direction::Down), vec![(0, 4)]);
    }
}
