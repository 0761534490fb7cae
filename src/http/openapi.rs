//! The OpenAPI 3.1 document of `/api/v1`, generated from the handlers' annotations
//! (utoipa) and completed here with what every operation shares: bearer authentication and
//! the JSON error responses.

use super::error::ErrorBody;
use super::AppState;
use axum::extract::State;
use axum::Json;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, ResponseBuilder};
use utoipa::{OpenApi as _, ToSchema};

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Pharos management API",
        description = "Manage components, incidents and maintenances of a Pharos status page. \
            Authenticate with `Authorization: Bearer TOKEN` (`pharos token create`). \
            Errors are `{\"error\":{\"code\",\"message\"}}`.",
    ),
    tags(
        (name = "component-groups", description = "Ordered groups of components"),
        (name = "components", description = "Things with a status"),
        (name = "incidents", description = "Incidents and their update timeline"),
        (name = "incident-templates", description = "What the web UI's \"open an incident\" form starts from"),
        (name = "maintenances", description = "Scheduled maintenance windows"),
        (name = "events", description = "The append-only event log"),
        (name = "page", description = "The page's settings (name, logo, links, time zone, ...): those the configuration fixes, and those stored and editable here and at /admin/settings"),
        (name = "monitors", description = "Checks that run on their own schedule and drive component status and incidents, and the push URL jobs call"),
        (name = "vendors", description = "Followed third-party status pages"),
        (name = "notifications", description = "Channels, subscribers, the delivery outbox and its dead letters, and the pipeline's health"),
        (name = "public", description = "The Statuspage-compatible public API; no token needed"),
        (name = "operations", description = "Health, readiness, metrics and this document; no token needed"),
        (name = "admin", description = "The web UI's HTML pages and forms (session cookie, not a token)"),
    )
)]
struct ApiDoc;

pub fn base() -> OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    doc
}

fn error_response(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build()
}

fn add_errors(op: &mut Operation, has_id: bool, writes: bool) {
    let has_body = op.request_body.is_some();
    let mut errors = vec![
        (
            "400",
            "Malformed request: bad JSON syntax, a bad id or query parameter",
        ),
        ("401", "Missing, invalid or revoked token"),
        ("403", "The token's scope does not allow this"),
        ("429", "Too many failed authentications from this address"),
        ("500", "Internal error (logged)"),
        ("503", "The database is unavailable; retry later"),
    ];
    if has_id {
        errors.push(("404", "No such resource"));
    }
    if writes {
        errors.push(("409", "Conflicts with the stored state"));
    }
    if !writes && !has_id {
        errors.push(("422", "The `cursor` is not one this server issued"));
    }
    if has_body {
        errors.push(("413", "Body larger than 1 MiB"));
        errors.push(("415", "Body is not application/json"));
        errors.push((
            "422",
            "Valid JSON that breaks the rules: unknown fields, wrong types, bad values",
        ));
    }
    for (code, description) in errors {
        op.responses
            .responses
            .entry(code.to_string())
            .or_insert_with(|| error_response(description).into());
    }
}

/// Adds the shared parts to a generated document.
pub fn finish(mut doc: OpenApi) -> OpenApi {
    for (path, item) in doc.paths.paths.iter_mut() {
        if !path.starts_with("/api/v1/") || path == "/api/v1/openapi.json" {
            continue;
        }
        let has_id = path.contains('{');
        for (op, writes) in [
            (&mut item.get, false),
            (&mut item.post, true),
            (&mut item.put, true),
            (&mut item.patch, true),
            (&mut item.delete, true),
        ] {
            if let Some(op) = op.as_mut() {
                add_errors(op, has_id, writes);
            }
        }
    }
    let components = doc.components.get_or_insert_with(Default::default);
    components.schemas.insert(
        "ErrorBody".into(),
        <ErrorBody as utoipa::PartialSchema>::schema(),
    );
    let mut detail = Vec::new();
    <ErrorBody as ToSchema>::schemas(&mut detail);
    for (name, schema) in detail {
        components.schemas.entry(name).or_insert(schema);
    }
    components.security_schemes.insert(
        "bearer".into(),
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some("A token from `pharos token create`"))
                .build(),
        ),
    );
    doc.security = Some(vec![SecurityRequirement::new(
        "bearer",
        Vec::<String>::new(),
    )]);
    doc
}

/// `GET /api/v1/openapi.json`: public, so tools can read it before they have a token.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "operations", security(()),
    responses((status = 200, description = "This document", content_type = "application/json")))]
pub async fn serve(State(state): State<AppState>) -> Json<serde_json::Value> {
    Json((*state.openapi).clone())
}
