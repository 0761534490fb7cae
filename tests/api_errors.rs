//! Bad requests to the management API, on both backends: one table of malformed, invalid,
//! unauthorised and impossible requests, each with the exact status and `error.code` it must
//! get. Every answer must be the JSON error shape with a useful message (never a 500, never
//! internals), and none of them may change anything: the lists and the event log are compared
//! byte for byte before and after the whole table.
//!
//! A second test checks that failed authentication is rate-limited per client address.

mod common;

use common::app::TestApp;
use pharos::domain::TokenScope;
use pharos::events::Actor;
use pharos::store::{DeclaredComponent, Store};
use reqwest::header::{HeaderMap, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Which credentials a request carries.
#[derive(Debug, Clone, Copy)]
enum Auth {
    /// The harness's `write` token.
    Write,
    /// The harness's `read` token.
    Read,
    /// No `Authorization` header at all.
    Missing,
    /// A well-formed token whose id exists but whose secret is wrong.
    WrongSecret,
    /// A token that was valid and has been revoked.
    Revoked,
    /// This exact `Authorization` header value.
    Header(&'static str),
}

/// The request body. Text may hold placeholders such as `{api}`, replaced by seeded ids.
#[derive(Debug, Clone)]
enum Body {
    Empty,
    /// Sent with `Content-Type: application/json`.
    Json(String),
    /// Sent with this content type.
    Typed(&'static str, String),
    /// Sent without a content type.
    Untyped(String),
}

struct Case {
    what: &'static str,
    method: Method,
    /// With placeholders for the seeded ids (see [`Seeded::fill`]).
    path: &'static str,
    auth: Auth,
    body: Body,
    status: u16,
    code: &'static str,
}

fn json_body(text: &str) -> Body {
    Body::Json(text.to_string())
}

#[allow(clippy::too_many_arguments)]
fn case(
    what: &'static str,
    method: Method,
    path: &'static str,
    auth: Auth,
    body: Body,
    status: u16,
    code: &'static str,
) -> Case {
    Case {
        what,
        method,
        path,
        auth,
        body,
        status,
        code,
    }
}

/// The table. Placeholders: `{group}`, `{api}`, `{web}` (components), `{managed}` (a
/// config-managed component), `{open}` / `{open_update}` (an open incident and its newest
/// update), `{resolved}` / `{resolved_update}`, `{deleted}` (a deleted incident), `{maint}` (an
/// in-progress maintenance), `{cancelled}` (a cancelled one), `{random}` (an unknown UUID).
#[rustfmt::skip]
fn cases() -> Vec<Case> {
    use Auth::*;
    use Method as M;
    let long_name = "n".repeat(300);
    let oversized = format!(
        r#"{{"name":"{}"}}"#,
        "a".repeat(pharos::http::BODY_LIMIT)
    );
    vec![
        // ---- malformed JSON: 400 malformed_json
        case("truncated JSON", M::POST, "/api/v1/components", Write,
            json_body(r#"{"name": "x","#), 400, "malformed_json"),
        case("not JSON at all", M::POST, "/api/v1/incidents", Write,
            json_body("name=x&body=y"), 400, "malformed_json"),
        case("empty body declared as JSON", M::POST, "/api/v1/component-groups", Write,
            json_body(""), 400, "malformed_json"),
        case("trailing garbage after the JSON", M::PATCH, "/api/v1/incidents/{open}", Write,
            json_body(r#"{"name": "x"}}"#), 400, "malformed_json"),
        case("single-quoted JSON", M::POST, "/api/v1/incidents/{open}/updates", Write,
            json_body("{'body': 'x'}"), 400, "malformed_json"),
        // ---- wrong JSON types: 422 validation_failed
        case("name is a number", M::POST, "/api/v1/components", Write,
            json_body(r#"{"name": 42}"#), 422, "validation_failed"),
        case("position is a string", M::POST, "/api/v1/component-groups", Write,
            json_body(r#"{"name": "G", "position": "first"}"#), 422, "validation_failed"),
        case("showcase is a string", M::PATCH, "/api/v1/components/{api}", Write,
            json_body(r#"{"showcase": "yes"}"#), 422, "validation_failed"),
        case("component_ids is a string", M::POST, "/api/v1/incidents", Write,
            json_body(r#"{"name": "x", "body": "y", "component_ids": "{api}"}"#), 422, "validation_failed"),
        case("body is an array", M::POST, "/api/v1/components", Write,
            json_body("[]"), 422, "validation_failed"),
        case("position is negative", M::POST, "/api/v1/component-groups", Write,
            json_body(r#"{"name": "G", "position": -1}"#), 422, "validation_failed"),
        // ---- unknown fields: 422
        case("unknown field on create", M::POST, "/api/v1/components", Write,
            json_body(r#"{"name": "x", "colour": "red"}"#), 422, "validation_failed"),
        case("unknown field on patch", M::PATCH, "/api/v1/incidents/{open}", Write,
            json_body(r#"{"severity": "high"}"#), 422, "validation_failed"),
        case("unknown field on a maintenance", M::POST, "/api/v1/maintenances", Write,
            json_body(r#"{"name": "m", "scheduled_for": "2099-01-01T00:00:00Z",
                "scheduled_until": "2099-01-01T01:00:00Z", "component_ids": [], "window": 1}"#),
            422, "validation_failed"),
        // ---- unknown enum values: 422
        case("component status `down`", M::POST, "/api/v1/components", Write,
            json_body(r#"{"name": "x", "status": "down"}"#), 422, "validation_failed"),
        case("impact `huge`", M::POST, "/api/v1/incidents", Write,
            json_body(r#"{"name": "x", "body": "y", "impact": "huge"}"#), 422, "validation_failed"),
        case("incident status `fixed`", M::POST, "/api/v1/incidents/{open}/updates", Write,
            json_body(r#"{"status": "fixed", "body": "y"}"#), 422, "validation_failed"),
        case("status `broken` in the components map", M::POST, "/api/v1/incidents", Write,
            json_body(r#"{"name": "x", "body": "y", "components": {"{api}": "broken"}}"#),
            422, "validation_failed"),
        case("maintenance status `paused`", M::PATCH, "/api/v1/maintenances/{maint}", Write,
            json_body(r#"{"status": "paused"}"#), 422, "validation_failed"),
        // ---- missing required fields: 422
        case("incident without body", M::POST, "/api/v1/incidents", Write,
            json_body(r#"{"name": "x"}"#), 422, "validation_failed"),
        case("component without name", M::POST, "/api/v1/components", Write,
            json_body("{}"), 422, "validation_failed"),
        case("maintenance without its window end", M::POST, "/api/v1/maintenances", Write,
            json_body(r#"{"name": "m", "scheduled_for": "2099-01-01T00:00:00Z", "component_ids": []}"#),
            422, "validation_failed"),
        case("postmortem without body", M::PUT, "/api/v1/incidents/{resolved}/postmortem", Write,
            json_body(r#"{"publish": true}"#), 422, "validation_failed"),
        // ---- names and texts: 422
        case("empty name", M::POST, "/api/v1/components", Write,
            json_body(r#"{"name": ""}"#), 422, "validation_failed"),
        case("whitespace name", M::POST, "/api/v1/component-groups", Write,
            json_body(r#"{"name": "   "}"#), 422, "validation_failed"),
        case("300-character name", M::POST, "/api/v1/incidents", Write,
            Body::Json(format!(r#"{{"name": "{long_name}", "body": "y"}}"#)), 422, "validation_failed"),
        case("two-line name", M::PATCH, "/api/v1/components/{api}", Write,
            json_body(r#"{"name": "two\nlines"}"#), 422, "validation_failed"),
        case("whitespace update body", M::POST, "/api/v1/incidents/{open}/updates", Write,
            json_body(r#"{"body": "  \n "}"#), 422, "validation_failed"),
        case("NUL character in an incident body", M::POST, "/api/v1/incidents", Write,
            json_body(r#"{"name": "x", "body": "a\u0000b"}"#), 422, "validation_failed"),
        case("NUL character in a description", M::POST, "/api/v1/component-groups", Write,
            json_body(r#"{"name": "G", "description": "a\u0000b"}"#), 422, "validation_failed"),
        case("NUL character in a name", M::POST, "/api/v1/components", Write,
            json_body(r#"{"name": "a\u0000b"}"#), 422, "validation_failed"),
        case("NUL character in a postmortem", M::PUT, "/api/v1/incidents/{resolved}/postmortem", Write,
            json_body(r#"{"body": "a\u0000b"}"#), 422, "validation_failed"),
        case("NUL character in an edited update", M::PATCH, "/api/v1/incidents/{open}/updates/{open_update}", Write,
            json_body(r#"{"body": "a\u0000b"}"#), 422, "validation_failed"),
        // ---- size and content type
        case("body over 1 MiB", M::POST, "/api/v1/components", Write,
            Body::Json(oversized), 413, "payload_too_large"),
        case("text/plain body", M::POST, "/api/v1/components", Write,
            Body::Typed("text/plain", r#"{"name": "x"}"#.into()), 415, "unsupported_media_type"),
        case("no content type", M::POST, "/api/v1/incidents", Write,
            Body::Untyped(r#"{"name": "x", "body": "y"}"#.into()), 415, "unsupported_media_type"),
        case("XML content type", M::PATCH, "/api/v1/component-groups/{group}", Write,
            Body::Typed("application/xml", "<name>x</name>".into()), 415, "unsupported_media_type"),
        case("text/plain body on resolve", M::POST, "/api/v1/incidents/{open}/resolve", Write,
            Body::Typed("text/plain", "done".into()), 415, "unsupported_media_type"),
        case("untyped body on resolve", M::POST, "/api/v1/incidents/{open}/resolve", Write,
            Body::Untyped(r#"{"body": "done"}"#.into()), 415, "unsupported_media_type"),
        // ---- bad ids in the path: 400 invalid_id
        case("component id not a UUID", M::GET, "/api/v1/components/not-a-uuid", Write,
            Body::Empty, 400, "invalid_id"),
        case("incident id not a UUID", M::POST, "/api/v1/incidents/1234/updates", Write,
            json_body(r#"{"body": "y"}"#), 400, "invalid_id"),
        case("group id with a suffix", M::DELETE, "/api/v1/component-groups/{group}x", Write,
            Body::Empty, 400, "invalid_id"),
        case("update id not a UUID", M::PATCH, "/api/v1/incidents/{open}/updates/nope", Write,
            json_body(r#"{"body": "y"}"#), 400, "invalid_id"),
        case("maintenance id not a UUID", M::POST, "/api/v1/maintenances/12/cancel", Write,
            Body::Empty, 400, "invalid_id"),
        // ---- unknown ids: 404 not_found
        case("unknown incident", M::GET, "/api/v1/incidents/{random}", Write,
            Body::Empty, 404, "not_found"),
        case("delete unknown component", M::DELETE, "/api/v1/components/{random}", Write,
            Body::Empty, 404, "not_found"),
        case("patch unknown maintenance", M::PATCH, "/api/v1/maintenances/{random}", Write,
            json_body(r#"{"name": "x"}"#), 404, "not_found"),
        case("a component's id as an incident id", M::GET, "/api/v1/incidents/{api}", Write,
            Body::Empty, 404, "not_found"),
        case("another incident's update", M::PATCH, "/api/v1/incidents/{open}/updates/{resolved_update}", Write,
            json_body(r#"{"body": "y"}"#), 404, "not_found"),
        case("history of an unknown component", M::GET, "/api/v1/components/{random}/history", Write,
            Body::Empty, 404, "not_found"),
        case("update to a deleted incident", M::POST, "/api/v1/incidents/{deleted}/updates", Write,
            json_body(r#"{"body": "still there?"}"#), 404, "not_found"),
        case("delete a deleted incident", M::DELETE, "/api/v1/incidents/{deleted}", Write,
            Body::Empty, 404, "not_found"),
        // ---- unknown routes and methods
        case("unknown route", M::GET, "/api/v1/nope", Write,
            Body::Empty, 404, "route_not_found"),
        case("unknown sub-resource", M::GET, "/api/v1/components/{api}/nope", Write,
            Body::Empty, 404, "route_not_found"),
        case("unknown route without a token", M::GET, "/api/v1/nope", Missing,
            Body::Empty, 404, "route_not_found"),
        case("trailing slash", M::GET, "/api/v1/components/", Write,
            Body::Empty, 404, "route_not_found"),
        case("PUT on a collection", M::PUT, "/api/v1/components", Write,
            json_body(r#"{"name": "x"}"#), 405, "method_not_allowed"),
        case("DELETE on a maintenance", M::DELETE, "/api/v1/maintenances/{maint}", Write,
            Body::Empty, 405, "method_not_allowed"),
        case("POST on the event log", M::POST, "/api/v1/events", Write,
            json_body("{}"), 405, "method_not_allowed"),
        // ---- authentication and scope
        case("no token", M::GET, "/api/v1/components", Missing,
            Body::Empty, 401, "unauthorized"),
        case("no token on a write", M::POST, "/api/v1/incidents", Missing,
            json_body(r#"{"name": "x", "body": "y"}"#), 401, "unauthorized"),
        case("wrong secret", M::POST, "/api/v1/component-groups", WrongSecret,
            json_body(r#"{"name": "G"}"#), 401, "unauthorized"),
        case("not a Pharos token", M::GET, "/api/v1/incidents", Header("Bearer hunter2"),
            Body::Empty, 401, "unauthorized"),
        case("Basic authentication", M::GET, "/api/v1/incidents", Header("Basic dXNlcjpwYXNz"),
            Body::Empty, 401, "unauthorized"),
        case("Bearer without a token", M::GET, "/api/v1/events", Header("Bearer"),
            Body::Empty, 401, "unauthorized"),
        case("revoked token", M::POST, "/api/v1/components", Revoked,
            json_body(r#"{"name": "x"}"#), 401, "unauthorized"),
        case("read token writes", M::POST, "/api/v1/incidents", Read,
            json_body(r#"{"name": "x", "body": "y"}"#), 403, "forbidden"),
        case("read token deletes", M::DELETE, "/api/v1/components/{api}", Read,
            Body::Empty, 403, "forbidden"),
        // ---- impossible transitions
        case("second resolve", M::POST, "/api/v1/incidents/{resolved}/resolve", Write,
            json_body("{}"), 409, "already_resolved"),
        case("second resolve without a body", M::POST, "/api/v1/incidents/{resolved}/resolve", Write,
            Body::Empty, 409, "already_resolved"),
        case("second resolve with a null body", M::POST, "/api/v1/incidents/{resolved}/resolve", Write,
            json_body("null"), 409, "already_resolved"),
        case("update on a resolved incident", M::POST, "/api/v1/incidents/{resolved}/updates", Write,
            json_body(r#"{"body": "more"}"#), 409, "incident_resolved"),
        case("postmortem on an open incident", M::PUT, "/api/v1/incidents/{open}/postmortem", Write,
            json_body(r#"{"body": "what happened"}"#), 409, "incident_open"),
        case("open an incident as postmortem", M::POST, "/api/v1/incidents", Write,
            json_body(r#"{"name": "x", "body": "y", "status": "postmortem"}"#), 422, "validation_failed"),
        case("update to status postmortem", M::POST, "/api/v1/incidents/{open}/updates", Write,
            json_body(r#"{"status": "postmortem", "body": "y"}"#), 422, "validation_failed"),
        case("maintenance goes backwards", M::PATCH, "/api/v1/maintenances/{maint}", Write,
            json_body(r#"{"status": "scheduled"}"#), 409, "invalid_transition"),
        case("cancel a cancelled maintenance", M::POST, "/api/v1/maintenances/{cancelled}/cancel", Write,
            Body::Empty, 409, "maintenance_completed"),
        case("edit a cancelled maintenance", M::PATCH, "/api/v1/maintenances/{cancelled}", Write,
            json_body(r#"{"name": "again"}"#), 409, "maintenance_completed"),
        case("delete a config-managed component", M::DELETE, "/api/v1/components/{managed}", Write,
            Body::Empty, 409, "managed_by_config"),
        // ---- times
        case("scheduled_until before scheduled_for", M::POST, "/api/v1/maintenances", Write,
            json_body(r#"{"name": "m", "scheduled_for": "2099-01-02T00:00:00Z",
                "scheduled_until": "2099-01-01T00:00:00Z", "component_ids": ["{web}"]}"#),
            422, "validation_failed"),
        case("scheduled_for not a time", M::POST, "/api/v1/maintenances", Write,
            json_body(r#"{"name": "m", "scheduled_for": "tomorrow",
                "scheduled_until": "2099-01-01T00:00:00Z", "component_ids": ["{web}"]}"#),
            422, "validation_failed"),
        case("patch moves the end before the start", M::PATCH, "/api/v1/maintenances/{maint}", Write,
            json_body(r#"{"scheduled_until": "2000-01-01T00:00:00Z"}"#), 422, "validation_failed"),
        case("started_at in the future", M::POST, "/api/v1/incidents", Write,
            json_body(r#"{"name": "x", "body": "y", "started_at": "2999-01-01T00:00:00Z"}"#),
            422, "validation_failed"),
        case("started_at not a time", M::POST, "/api/v1/incidents", Write,
            json_body(r#"{"name": "x", "body": "y", "started_at": "yesterday"}"#),
            422, "validation_failed"),
        case("invalid start_date", M::POST, "/api/v1/components", Write,
            json_body(r#"{"name": "x", "start_date": "2024-13-01"}"#), 422, "validation_failed"),
        case("start_date not a date", M::PATCH, "/api/v1/components/{api}", Write,
            json_body(r#"{"start_date": "yesterday"}"#), 422, "validation_failed"),
        // ---- references to things that do not exist: 422
        case("unknown component in the components map", M::POST, "/api/v1/incidents", Write,
            json_body(r#"{"name": "x", "body": "y", "components": {"{random}": "major_outage"}}"#),
            422, "validation_failed"),
        case("non-UUID key in the components map", M::POST, "/api/v1/incidents", Write,
            json_body(r#"{"name": "x", "body": "y", "components": {"api": "major_outage"}}"#),
            422, "validation_failed"),
        case("unknown component in an update", M::POST, "/api/v1/incidents/{open}/updates", Write,
            json_body(r#"{"body": "y", "component_ids": ["{random}"]}"#), 422, "validation_failed"),
        case("unknown component in a maintenance", M::POST, "/api/v1/maintenances", Write,
            json_body(r#"{"name": "m", "scheduled_for": "2099-01-01T00:00:00Z",
                "scheduled_until": "2099-01-01T01:00:00Z", "component_ids": ["{random}"]}"#),
            422, "validation_failed"),
        case("unknown group on create", M::POST, "/api/v1/components", Write,
            json_body(r#"{"name": "x", "group_id": "{random}"}"#), 422, "validation_failed"),
        case("unknown group on patch", M::PATCH, "/api/v1/components/{api}", Write,
            json_body(r#"{"group_id": "{random}"}"#), 422, "validation_failed"),
        // ---- query parameters
        case("limit=0", M::GET, "/api/v1/components?limit=0", Write,
            Body::Empty, 400, "invalid_query"),
        case("limit=abc", M::GET, "/api/v1/incidents?limit=abc", Write,
            Body::Empty, 400, "invalid_query"),
        case("limit above the maximum", M::GET, "/api/v1/maintenances?limit=501", Write,
            Body::Empty, 400, "invalid_query"),
        case("negative limit", M::GET, "/api/v1/component-groups?limit=-5", Write,
            Body::Empty, 400, "invalid_query"),
        case("negative after", M::GET, "/api/v1/events?after=-1", Write,
            Body::Empty, 400, "invalid_query"),
        case("after not a number", M::GET, "/api/v1/events?after=latest", Write,
            Body::Empty, 400, "invalid_query"),
        case("events limit above the maximum", M::GET, "/api/v1/events?limit=1001", Write,
            Body::Empty, 400, "invalid_query"),
        case("unknown incident state", M::GET, "/api/v1/incidents?state=closed", Write,
            Body::Empty, 400, "invalid_query"),
        case("unknown query parameter", M::GET, "/api/v1/components?colour=red", Write,
            Body::Empty, 400, "invalid_query"),
        case("history since not a time", M::GET, "/api/v1/components/{api}/history?since=yesterday", Write,
            Body::Empty, 400, "invalid_query"),
        // A cursor is checked by the store, which calls one it did not issue invalid input.
        case("cursor not base64", M::GET, "/api/v1/components?cursor=!!!", Write,
            Body::Empty, 422, "validation_failed"),
        case("cursor with the wrong parts", M::GET, "/api/v1/maintenances?cursor=eA", Write,
            Body::Empty, 422, "validation_failed"),
        case("cursor with a bad position", M::GET, "/api/v1/component-groups?cursor=eAp5", Write,
            Body::Empty, 422, "validation_failed"),
        // "AA" is one NUL byte, which PostgreSQL refuses in text.
        case("cursor holding a NUL byte", M::GET, "/api/v1/incidents?cursor=AA", Write,
            Body::Empty, 422, "validation_failed"),
    ]
}

/// Ids of the seeded resources, for the placeholders of the table.
struct Seeded {
    ids: BTreeMap<&'static str, String>,
    revoked_token: String,
}

impl Seeded {
    fn fill(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (name, id) in &self.ids {
            out = out.replace(&format!("{{{name}}}"), id);
        }
        out
    }
}

fn id_of(value: &Value) -> String {
    value["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {value}"))
        .to_string()
}

/// A group, two components, a config-managed component, an open incident with an update, a
/// resolved incident, a deleted incident, an in-progress and a cancelled maintenance, and a
/// revoked token.
async fn seed(app: &TestApp) -> Seeded {
    let mut ids = BTreeMap::new();
    let group = app
        .ok(
            Method::POST,
            "/api/v1/component-groups",
            Some(json!({"name": "Core"})),
            StatusCode::CREATED,
        )
        .await;
    let gid = id_of(&group);
    let api = app
        .ok(
            Method::POST,
            "/api/v1/components",
            Some(json!({"name": "API", "group_id": gid})),
            StatusCode::CREATED,
        )
        .await;
    let web = app
        .ok(
            Method::POST,
            "/api/v1/components",
            Some(json!({"name": "Website", "group_id": gid})),
            StatusCode::CREATED,
        )
        .await;
    let (api, web) = (id_of(&api), id_of(&web));

    app.store
        .reconcile_config(
            &[],
            &[DeclaredComponent {
                key: "edge".into(),
                name: "Edge".into(),
                description: None,
                group_key: None,
                position: 10,
                showcase: true,
                only_show_if_degraded: false,
                start_date: None,
            }],
            &[],
            &Actor::cli(),
        )
        .await
        .expect("reconcile");
    let (_, components) = app.get("/api/v1/components?limit=500").await;
    let managed = components["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "Edge")
        .map(id_of)
        .expect("the managed component is listed");

    let open = app
        .ok(
            Method::POST,
            "/api/v1/incidents",
            Some(json!({"name": "Slow API", "body": "Investigating.",
                        "components": {&api: "partial_outage"}})),
            StatusCode::CREATED,
        )
        .await;
    let open = id_of(&open);
    let updated = app
        .ok(
            Method::POST,
            &format!("/api/v1/incidents/{open}/updates"),
            Some(json!({"status": "identified", "body": "A bad deploy."})),
            StatusCode::CREATED,
        )
        .await;
    let open_update = id_of(&updated["updates"][0]);

    let resolved = app
        .ok(
            Method::POST,
            "/api/v1/incidents",
            Some(json!({"name": "Website down", "body": "Down.",
                        "components": {&web: "major_outage"}})),
            StatusCode::CREATED,
        )
        .await;
    let resolved = id_of(&resolved);
    let done = app
        .ok(
            Method::POST,
            &format!("/api/v1/incidents/{resolved}/resolve"),
            None,
            StatusCode::OK,
        )
        .await;
    let resolved_update = id_of(&done["updates"][0]);

    let deleted = app
        .ok(
            Method::POST,
            "/api/v1/incidents",
            Some(json!({"name": "Mistake", "body": "Opened by mistake."})),
            StatusCode::CREATED,
        )
        .await;
    let deleted = id_of(&deleted);
    app.ok(
        Method::DELETE,
        &format!("/api/v1/incidents/{deleted}"),
        None,
        StatusCode::NO_CONTENT,
    )
    .await;

    // Far in the future and not automatic, so nothing moves it while the table runs.
    let maint = app
        .ok(
            Method::POST,
            "/api/v1/maintenances",
            Some(
                json!({"name": "Database upgrade", "scheduled_for": "2099-01-01T02:00:00Z",
                        "scheduled_until": "2099-01-01T04:00:00Z", "component_ids": [&web],
                        "auto_transition": false}),
            ),
            StatusCode::CREATED,
        )
        .await;
    let maint = id_of(&maint);
    app.ok(
        Method::PATCH,
        &format!("/api/v1/maintenances/{maint}"),
        Some(json!({"status": "in_progress", "body": "Started early."})),
        StatusCode::OK,
    )
    .await;
    let cancelled = app
        .ok(
            Method::POST,
            "/api/v1/maintenances",
            Some(
                json!({"name": "Network work", "scheduled_for": "2099-02-01T02:00:00Z",
                        "scheduled_until": "2099-02-01T04:00:00Z", "component_ids": [&api],
                        "auto_transition": false}),
            ),
            StatusCode::CREATED,
        )
        .await;
    let cancelled = id_of(&cancelled);
    app.ok(
        Method::POST,
        &format!("/api/v1/maintenances/{cancelled}/cancel"),
        None,
        StatusCode::OK,
    )
    .await;

    let extra = pharos::token::issue();
    app.store
        .create_token(
            extra.id,
            "extra",
            TokenScope::Write,
            &extra.secret_hash,
            &Actor::cli(),
        )
        .await
        .expect("create token");
    app.store
        .revoke_token("extra", &Actor::cli())
        .await
        .expect("revoke token");

    ids.insert("group", gid);
    ids.insert("api", api);
    ids.insert("web", web);
    ids.insert("managed", managed);
    ids.insert("open", open);
    ids.insert("open_update", open_update);
    ids.insert("resolved", resolved);
    ids.insert("resolved_update", resolved_update);
    ids.insert("deleted", deleted);
    ids.insert("maint", maint);
    ids.insert("cancelled", cancelled);
    ids.insert("random", uuid::Uuid::now_v7().to_string());
    Seeded {
        ids,
        revoked_token: extra.text,
    }
}

/// The write token with its last secret character changed: it parses and names a real
/// token, but does not verify.
fn wrong_secret(token: &str) -> String {
    let mut text = token.to_string();
    let last = text.pop().expect("token is not empty");
    text.push(if last == 'A' { 'B' } else { 'A' });
    text
}

async fn send(
    app: &TestApp,
    seeded: &Seeded,
    method: Method,
    path: &str,
    auth: Auth,
    body: &Body,
) -> (StatusCode, HeaderMap, String) {
    let mut req = app.client.request(method, app.url(&seeded.fill(path)));
    let authorization = match auth {
        Auth::Write => Some(format!("Bearer {}", app.token)),
        Auth::Read => Some(format!("Bearer {}", app.read_token)),
        Auth::Missing => None,
        Auth::WrongSecret => Some(format!("Bearer {}", wrong_secret(&app.token))),
        Auth::Revoked => Some(format!("Bearer {}", seeded.revoked_token)),
        Auth::Header(value) => Some(value.to_string()),
    };
    if let Some(value) = authorization {
        req = req.header(AUTHORIZATION, value);
    }
    req = match body {
        Body::Empty => req,
        Body::Json(text) => req
            .header(CONTENT_TYPE, "application/json")
            .body(seeded.fill(text)),
        Body::Typed(content_type, text) => req
            .header(CONTENT_TYPE, *content_type)
            .body(seeded.fill(text)),
        Body::Untyped(text) => req.body(seeded.fill(text)),
    };
    let resp = req.send().await.expect("request is answered");
    let status = resp.status();
    let headers = resp.headers().clone();
    let text = resp.text().await.expect("body");
    (status, headers, text)
}

/// Whether a response is exactly the documented error shape with `code`; the problems found.
fn error_shape_problems(headers: &HeaderMap, text: &str, code: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type.starts_with("application/json") {
        problems.push(format!("content type `{content_type}`"));
    }
    let Ok(value) = serde_json::from_str::<Value>(text) else {
        problems.push(format!("not JSON: {text}"));
        return problems;
    };
    let keys = |v: &Value| -> Vec<String> {
        v.as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default()
    };
    if keys(&value) != ["error"] {
        problems.push(format!("top-level keys {:?}", keys(&value)));
    }
    let error = &value["error"];
    if keys(error) != ["code", "message"] {
        problems.push(format!("error keys {:?}", keys(error)));
    }
    if error["code"] != code {
        problems.push(format!("code {} instead of {code}", error["code"]));
    }
    let message = error["message"].as_str().unwrap_or("");
    if message.trim().is_empty() {
        problems.push("empty message".into());
    }
    for leak in [
        "panicked",
        "src/",
        "RUST_BACKTRACE",
        "sqlx",
        "SQLSTATE",
        "error returned from database",
        "SELECT ",
    ] {
        if message.contains(leak) {
            problems.push(format!("message leaks internals ({leak}): {message}"));
        }
    }
    problems
}

/// Everything a reader of the API can see, as the exact bytes served.
async fn observable_state(app: &TestApp, seeded: &Seeded) -> Vec<(String, String)> {
    let mut paths: Vec<String> = [
        "/api/v1/component-groups?limit=500",
        "/api/v1/components?limit=500",
        "/api/v1/incidents?limit=500",
        "/api/v1/maintenances?limit=500",
        "/api/v1/events?limit=1000",
    ]
    .iter()
    .map(|p| p.to_string())
    .collect();
    for component in ["api", "web", "managed"] {
        paths.push(format!(
            "/api/v1/components/{}/history",
            seeded.ids[component]
        ));
    }
    let mut state = Vec::new();
    for path in paths {
        let resp = app
            .client
            .get(app.url(&path))
            .bearer_auth(&app.admin_token)
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), StatusCode::OK, "GET {path}");
        state.push((path, resp.text().await.expect("body")));
    }
    state
}

fn event_count_and_last_seq(state: &[(String, String)]) -> (usize, i64) {
    let (_, text) = state
        .iter()
        .find(|(path, _)| path.starts_with("/api/v1/events"))
        .expect("the event log is part of the state");
    let page: Value = serde_json::from_str(text).expect("events are JSON");
    let events = page["data"].as_array().expect("data");
    let last = events.last().and_then(|e| e["seq"].as_i64()).unwrap_or(0);
    (events.len(), last)
}

async fn bad_requests_change_nothing(app: TestApp) {
    let seeded = seed(&app).await;
    let before = observable_state(&app, &seeded).await;
    let (count_before, last_before) = event_count_and_last_seq(&before);
    assert!(count_before > 10, "the seed appended events");
    assert!(count_before < 1000, "the whole log fits one page");

    let table = cases();
    assert!(table.len() >= 35, "{} rows", table.len());
    let mut failures = Vec::new();
    for row in &table {
        let (status, headers, text) = send(
            &app,
            &seeded,
            row.method.clone(),
            row.path,
            row.auth,
            &row.body,
        )
        .await;
        let mut problems = Vec::new();
        if status.as_u16() != row.status {
            problems.push(format!(
                "status {} instead of {}",
                status.as_u16(),
                row.status
            ));
        }
        if status.is_server_error() {
            problems.push("a server error for bad input".into());
        }
        problems.extend(error_shape_problems(&headers, &text, row.code));
        if !problems.is_empty() {
            let shown: String = text.chars().take(300).collect();
            failures.push(format!(
                "{} ({} {}): {}\n    body: {shown}",
                row.what,
                row.method,
                row.path,
                problems.join("; ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        table.len(),
        failures.join("\n")
    );

    let after = observable_state(&app, &seeded).await;
    assert_eq!(
        event_count_and_last_seq(&after),
        (count_before, last_before),
        "bad requests appended events"
    );
    for ((path, old), (_, new)) in before.iter().zip(&after) {
        assert_eq!(old, new, "GET {path} changed after the bad requests");
    }
    app.stop().await;
}

both_backends!(bad_requests, bad_requests_change_nothing);

/// The default of `http.auth_failures_per_minute` (see `src/config.rs`); the harness does not
/// override it.
const AUTH_FAILURES_PER_MINUTE: usize = 20;

async fn failed_authentication_is_rate_limited(app: TestApp) {
    let (status, _) = app.get("/api/v1/components").await;
    assert_eq!(status, StatusCode::OK, "the valid token works at first");

    let bad = wrong_secret(&app.token);
    for attempt in 1..=AUTH_FAILURES_PER_MINUTE {
        let (status, body) = app
            .call_as(&bad, Method::GET, "/api/v1/components", None)
            .await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "attempt {attempt}: {body}"
        );
        assert_eq!(body["error"]["code"], "unauthorized");
    }

    // Now even the valid token is refused before it is looked at.
    for token in [&app.token, &app.admin_token, &bad] {
        let resp = app
            .client
            .post(app.url("/api/v1/component-groups"))
            .bearer_auth(token)
            .json(&json!({"name": "Blocked"}))
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
        let retry_after: u64 = resp
            .headers()
            .get(RETRY_AFTER)
            .expect("Retry-After is set")
            .to_str()
            .expect("ASCII")
            .parse()
            .expect("Retry-After is a number of seconds");
        assert!((1..=60).contains(&retry_after), "Retry-After {retry_after}");
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("body");
        let problems = error_shape_problems(&headers, &text, "rate_limited");
        assert!(problems.is_empty(), "{problems:?}: {text}");
    }

    // The lock-out covers the authenticated API only: the public endpoints still answer.
    for path in ["/healthz", "/api/v1/openapi.json"] {
        let resp = app.client.get(app.url(path)).send().await.expect("request");
        assert_eq!(resp.status(), StatusCode::OK, "GET {path}");
    }
    let (_, groups) = app.get("/api/v1/component-groups?limit=500").await;
    assert_eq!(
        groups["error"]["code"], "rate_limited",
        "still locked out; nothing was created"
    );
    let names: Vec<String> = app
        .store
        .list_groups(pharos::store::PageRequest::first(500))
        .await
        .expect("groups")
        .items
        .into_iter()
        .map(|g| g.name)
        .collect();
    assert!(names.is_empty(), "{names:?}");
    app.stop().await;
}

both_backends!(auth_rate_limit, failed_authentication_is_rate_limited);
