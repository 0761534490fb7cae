//! `/api/v1/events`: the event log, for integrators who follow it with `after=SEQ`.

use super::*;
use crate::domain::model::Event;
use crate::http::extract::ApiQuery;
use crate::http::AppState;
use axum::extract::State;
use axum::Json;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Return events with a sequence number above this (default 0: from the start).
    pub after: Option<i64>,
    /// 1 to 1000 (default 100).
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventPage {
    pub data: Vec<Event>,
    /// Pass as `after` to continue; equal to the request's `after` when there was nothing new.
    pub next_after: i64,
}

#[utoipa::path(get, path = "/api/v1/events", tag = "events", params(EventsQuery),
    responses((status = 200, description = "Events in sequence order", body = EventPage)))]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<EventsQuery>,
) -> ApiResult<Json<EventPage>> {
    let after = query.after.unwrap_or(0);
    if after < 0 {
        return Err(ApiError::bad_request(
            "invalid_query",
            "`after` must not be negative",
        ));
    }
    let limit = query.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("`limit` must be 1 to 1000, not {limit}"),
        ));
    }
    let data = state.store.list_events(after, limit).await?;
    let next_after = data.last().map(|e| e.seq).unwrap_or(after);
    Ok(Json(EventPage { data, next_after }))
}
