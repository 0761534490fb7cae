//! The management API, `/api/v1`: JSON in and out, bearer-token authentication (see
//! `http::auth`), one module per resource. Handlers parse and validate input into the store's
//! input types, call the store once, and return the stored record; they hold no state.

pub mod components;
pub mod events;
pub mod groups;
pub mod incident_templates;
pub mod incidents;
pub mod maintenances;
pub mod monitors;
pub mod notifications;
pub mod page;
pub mod vendors;

use super::error::{ApiError, ApiResult};
use crate::domain::{ComponentId, ComponentStatus};
use crate::store::{ComponentChange, PageRequest};
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Paged<T: ToSchema> {
    pub data: Vec<T>,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}

impl<T: ToSchema> From<crate::store::Page<T>> for Paged<T> {
    fn from(page: crate::store::Page<T>) -> Self {
        Paged {
            data: page.items,
            next_cursor: page.next_cursor,
        }
    }
}

/// Paging parameters of every list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Items per page, 1 to 500 (default 50).
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl ListQuery {
    pub fn page(self) -> ApiResult<PageRequest> {
        let limit = self.limit.unwrap_or(PageRequest::DEFAULT_LIMIT);
        if !(1..=PageRequest::MAX_LIMIT).contains(&limit) {
            return Err(ApiError::bad_request(
                "invalid_query",
                format!(
                    "`limit` must be 1 to {}, not {limit}",
                    PageRequest::MAX_LIMIT
                ),
            ));
        }
        Ok(PageRequest {
            limit,
            cursor: self.cursor,
        })
    }
}

/// Distinguishes a field that is absent (`None`) from one set to null (`Some(None)`), for
/// PATCH bodies where null clears a value.
pub fn double_option<'de, T, D>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(de).map(Some)
}

pub const MAX_NAME: usize = 255;
pub const MAX_DESCRIPTION: usize = 2_000;
pub const MAX_BODY: usize = 100_000;

/// A required single-line name, trimmed, 1 to 255 characters.
pub fn valid_name(field: &str, value: String) -> ApiResult<String> {
    let value = value.trim().to_string();
    if value.is_empty() {
        return Err(ApiError::validation(format!("`{field}` must not be empty")));
    }
    if value.chars().count() > MAX_NAME {
        return Err(ApiError::validation(format!(
            "`{field}` is longer than {MAX_NAME} characters"
        )));
    }
    if value.chars().any(char::is_control) {
        return Err(ApiError::validation(format!(
            "`{field}` must be a single line without control characters"
        )));
    }
    Ok(value)
}

/// A Markdown text, 1 to 100,000 characters.
pub fn valid_body(field: &str, value: String) -> ApiResult<String> {
    if value.trim().is_empty() {
        return Err(ApiError::validation(format!("`{field}` must not be empty")));
    }
    reject_nul(field, &value)?;
    if value.chars().count() > MAX_BODY {
        return Err(ApiError::validation(format!(
            "`{field}` is longer than {MAX_BODY} characters"
        )));
    }
    Ok(value)
}

pub fn valid_description(value: Option<String>) -> ApiResult<Option<String>> {
    if let Some(d) = &value {
        reject_nul("description", d)?;
    }
    match value {
        Some(d) if d.chars().count() > MAX_DESCRIPTION => Err(ApiError::validation(format!(
            "`description` is longer than {MAX_DESCRIPTION} characters"
        ))),
        Some(d) if d.trim().is_empty() => Ok(None),
        other => Ok(other),
    }
}

/// PostgreSQL refuses NUL in text (and in JSON events) where SQLite stores it, so it is
/// refused here, before it can become a 500 on one backend and data on the other.
fn reject_nul(field: &str, value: &str) -> ApiResult<()> {
    if value.contains('\0') {
        return Err(ApiError::validation(format!(
            "`{field}` must not contain NUL characters"
        )));
    }
    Ok(())
}

pub fn valid_position(value: Option<i64>) -> ApiResult<Option<i64>> {
    match value {
        Some(p) if !(0..=1_000_000).contains(&p) => Err(ApiError::validation(format!(
            "`position` must be 0 to 1000000, not {p}"
        ))),
        other => Ok(other),
    }
}

pub fn valid_date(value: Option<String>) -> ApiResult<Option<String>> {
    match value {
        Some(d) if chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d").is_err() => {
            Err(ApiError::validation(format!(
                "`start_date` must be a date as YYYY-MM-DD, not `{d}`"
            )))
        }
        other => Ok(other),
    }
}

/// `components: {"<id>": "<status>"}` and `component_ids: [...]` as one list of changes.
pub fn component_changes(
    components: Option<BTreeMap<String, ComponentStatus>>,
    component_ids: Option<Vec<ComponentId>>,
) -> ApiResult<Vec<ComponentChange>> {
    let mut changes = Vec::new();
    for (key, status) in components.unwrap_or_default() {
        let component_id = key.parse::<ComponentId>().map_err(|_| {
            ApiError::validation(format!("`components`: `{key}` is not a component id"))
        })?;
        changes.push(ComponentChange {
            component_id,
            status: Some(status),
        });
    }
    for component_id in component_ids.unwrap_or_default() {
        if !changes.iter().any(|c| c.component_id == component_id) {
            changes.push(ComponentChange {
                component_id,
                status: None,
            });
        }
    }
    if changes.len() > 1_000 {
        return Err(ApiError::validation(
            "an incident may name at most 1000 components",
        ));
    }
    Ok(changes)
}
