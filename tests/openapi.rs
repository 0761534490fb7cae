//! The OpenAPI document served at `/api/v1/openapi.json`, checked both ways against the live
//! server: it is a valid OpenAPI 3.1 document (parsed with `oas3`) that lists every fixed path
//! of the interface with its methods and documents the shared errors; and every operation it
//! lists is one the router really serves, while undocumented paths are refused as unknown.
//!
//! SQLite only: the document does not depend on the backend.

mod common;

use common::app::{Db, TestApp};
use oas3::spec::{ObjectOrReference, ObjectSchema, Operation, SecurityScheme, Spec};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The paths and methods the product brief fixes; the document may add, never drop.
const FIXED_INTERFACE: &[(&str, &[&str])] = &[
    ("/api/v1/component-groups", &["GET", "POST"]),
    ("/api/v1/component-groups/{id}", &["GET", "PATCH", "DELETE"]),
    ("/api/v1/components", &["GET", "POST"]),
    ("/api/v1/components/{id}", &["GET", "PATCH", "DELETE"]),
    ("/api/v1/components/{id}/history", &["GET"]),
    ("/api/v1/incidents", &["GET", "POST"]),
    ("/api/v1/incidents/{id}", &["GET", "PATCH", "DELETE"]),
    ("/api/v1/incidents/{id}/updates", &["POST"]),
    ("/api/v1/incidents/{id}/updates/{update_id}", &["PATCH"]),
    ("/api/v1/incidents/{id}/resolve", &["POST"]),
    ("/api/v1/incidents/{id}/postmortem", &["PUT"]),
    ("/api/v1/maintenances", &["GET", "POST"]),
    ("/api/v1/maintenances/{id}", &["GET", "PATCH"]),
    ("/api/v1/maintenances/{id}/cancel", &["POST"]),
    ("/api/v1/events", &["GET"]),
    ("/healthz", &["GET"]),
    ("/readyz", &["GET"]),
    ("/metrics", &["GET"]),
    ("/api/v1/openapi.json", &["GET"]),
    ("/history.atom", &["GET"]),
    ("/history.rss", &["GET"]),
    ("/badge.svg", &["GET"]),
    ("/components/{id}/badge.svg", &["GET"]),
    ("/components/{id}/uptime.svg", &["GET"]),
];

/// The methods a route can be documented with that the probe checks for 405.
const PROBED_METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE"];

async fn spawn() -> TestApp {
    common::app::spawn(Db::Sqlite).await.expect("sqlite app")
}

/// The document as served, without a token, as text and parsed by `oas3`.
async fn fetch(app: &TestApp) -> (Value, Spec) {
    let resp = app
        .client
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::OK, "served without a token");
    let content_type = resp.headers()[reqwest::header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let text = resp.text().await.expect("body");
    let raw: Value = serde_json::from_str(&text).expect("the document is JSON");
    let spec = oas3::from_json(&text).expect("the document is a valid OpenAPI 3.1 document");
    (raw, spec)
}

/// `(path, METHOD)` of every documented operation.
fn operations(spec: &Spec) -> BTreeMap<(String, String), &Operation> {
    let mut ops = BTreeMap::new();
    for (path, item) in spec.paths.as_ref().expect("the document has paths") {
        for (method, op) in item.methods() {
            ops.insert((path.clone(), method.as_str().to_string()), op);
        }
    }
    ops
}

fn resolve_schema(spec: &Spec, schema: &ObjectOrReference<ObjectSchema>) -> ObjectSchema {
    schema
        .resolve(spec)
        .unwrap_or_else(|err| panic!("schema does not resolve: {err}"))
}

/// Problems with an error response: it must be JSON whose schema is
/// `{"error": {"code": string, "message": string}}`.
fn error_schema_problems(spec: &Spec, op: &Operation, status: &str) -> Vec<String> {
    let Some(response) = op.responses.as_ref().and_then(|r| r.get(status)) else {
        return vec![format!("no {status} response")];
    };
    let response = response
        .resolve(spec)
        .unwrap_or_else(|err| panic!("{status} response does not resolve: {err}"));
    let Some(media) = response.content.get("application/json") else {
        return vec![format!("{status} response is not application/json")];
    };
    let Some(schema) = media.schema.as_ref() else {
        return vec![format!("{status} response has no schema")];
    };
    let body = resolve_schema(spec, schema);
    let Some(error) = body.properties.get("error") else {
        return vec![format!("{status} schema has no `error` property")];
    };
    let mut problems = Vec::new();
    if !body.required.iter().any(|r| r == "error") {
        problems.push(format!("{status}: `error` is not required"));
    }
    let error = resolve_schema(spec, error);
    for field in ["code", "message"] {
        match error.properties.get(field) {
            None => problems.push(format!("{status}: `error.{field}` is missing")),
            Some(schema) => {
                let schema = resolve_schema(spec, schema);
                let text = serde_json::to_string(&schema.schema_type).unwrap_or_default();
                if !text.contains("string") {
                    problems.push(format!("{status}: `error.{field}` is {text}, not a string"));
                }
            }
        }
        if !error.required.iter().any(|r| r == field) {
            problems.push(format!("{status}: `error.{field}` is not required"));
        }
    }
    problems
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_is_openapi_3_1_and_covers_the_fixed_interface() {
    let app = spawn().await;
    let (raw, spec) = fetch(&app).await;

    assert!(
        spec.openapi.starts_with("3.1."),
        "openapi is `{}`",
        spec.openapi
    );
    let version = spec.validate_version().expect("a supported version");
    assert_eq!((version.major, version.minor), (3, 1));
    assert_eq!(raw["openapi"], spec.openapi.as_str());
    assert!(!spec.info.title.is_empty());

    let ops = operations(&spec);
    let mut missing = Vec::new();
    for (path, methods) in FIXED_INTERFACE {
        for method in *methods {
            if !ops.contains_key(&(path.to_string(), method.to_string())) {
                missing.push(format!("{method} {path}"));
            }
        }
    }
    assert!(missing.is_empty(), "not documented: {missing:?}");

    let bearer_schemes: BTreeSet<String> = spec
        .components
        .as_ref()
        .map(|c| &c.security_schemes)
        .into_iter()
        .flatten()
        .filter(|(_, scheme)| {
            matches!(
                scheme.resolve(&spec),
                Ok(SecurityScheme::Http { scheme, .. }) if scheme.eq_ignore_ascii_case("bearer")
            )
        })
        .map(|(name, _)| name.clone())
        .collect();
    assert!(!bearer_schemes.is_empty(), "no bearer security scheme");

    // Every authenticated operation documents 401 (and the other shared errors) with the
    // error schema, and asks for the bearer token.
    let mut problems = Vec::new();
    for ((path, method), op) in &ops {
        // Push heartbeats carry their credential, the monitor's secret, in the path.
        let public = !path.starts_with("/api/v1/")
            || path == "/api/v1/openapi.json"
            || path.starts_with("/api/v1/push/");
        if public {
            // `security: [{}]`: no token needed.
            let open = op
                .security
                .iter()
                .any(|requirement| requirement.0.is_empty());
            if !open {
                problems.push(format!("{method} {path}: public but asks for a token"));
            }
            continue;
        }
        // The operation's own requirements replace the document's; an empty one means none.
        let requirements = if op.security.is_empty() {
            &spec.security
        } else {
            &op.security
        };
        if requirements.is_empty() || requirements.iter().any(|r| r.0.is_empty()) {
            problems.push(format!(
                "{method} {path}: does not require the bearer token"
            ));
        }
        for name in requirements.iter().flat_map(|r| r.0.keys()) {
            if !bearer_schemes.contains(name) {
                problems.push(format!("{method} {path}: `{name}` is not a bearer scheme"));
            }
        }
        let mut statuses = vec!["401", "403", "429"];
        if op.request_body.is_some() {
            statuses.extend(["413", "415", "422"]);
        }
        if path.contains('{') {
            statuses.extend(["400", "404"]);
        }
        for status in statuses {
            for problem in error_schema_problems(&spec, op, status) {
                problems.push(format!("{method} {path}: {problem}"));
            }
        }
        let success = op
            .responses
            .as_ref()
            .map(|r| r.keys().any(|s| s.starts_with('2')))
            .unwrap_or(false);
        if !success {
            problems.push(format!("{method} {path}: no 2xx response"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    // Resolving takes an optional body; the document must not make clients send one.
    let resolve = ops[&(
        "/api/v1/incidents/{id}/resolve".to_string(),
        "POST".to_string(),
    )];
    let body = resolve
        .request_body
        .as_ref()
        .expect("documented")
        .resolve(&spec)
        .expect("resolves");
    assert_ne!(body.required, Some(true), "the resolve body is optional");
    let create = ops[&("/api/v1/incidents".to_string(), "POST".to_string())];
    let body = create
        .request_body
        .as_ref()
        .expect("documented")
        .resolve(&spec)
        .expect("resolves");
    assert_eq!(body.required, Some(true), "an incident needs a body");

    // Every tag an operation carries is declared, with a description (viewers group the
    // operations by the declared tags and show their descriptions).
    let declared: BTreeMap<&str, &str> = raw["tags"]
        .as_array()
        .expect("the document declares tags")
        .iter()
        .map(|t| {
            (
                t["name"].as_str().expect("tag name"),
                t["description"].as_str().unwrap_or(""),
            )
        })
        .collect();
    let mut undeclared = BTreeMap::new();
    for ((path, method), op) in &ops {
        for tag in &op.tags {
            match declared.get(tag.as_str()) {
                Some(description) if !description.is_empty() => {}
                _ => {
                    undeclared
                        .entry(tag.clone())
                        .or_insert_with(|| format!("{method} {path}"));
                }
            }
        }
    }
    assert!(
        undeclared.is_empty(),
        "tags used but not declared with a description: {undeclared:?}"
    );
    app.stop().await;
}

/// A path with each `{param}` replaced by a fresh random UUID.
fn concrete(path: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        let close = rest[open..].find('}').expect("closed parameter") + open;
        out.push_str(&rest[..open]);
        out.push_str(&uuid::Uuid::now_v7().to_string());
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

/// Sends `method path` with the admin token, and `{}` as the body of a write; returns the
/// status and the error code, if the answer is an error.
async fn probe(app: &TestApp, method: &str, path: &str) -> (StatusCode, Option<String>) {
    let method = Method::from_bytes(method.as_bytes()).expect("a method");
    let write = !matches!(method, Method::GET | Method::HEAD | Method::OPTIONS);
    let mut req = app
        .client
        .request(method, app.url(path))
        .bearer_auth(&app.admin_token);
    if write {
        req = req
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body("{}");
    }
    let resp = req.send().await.expect("request is answered");
    let status = resp.status();
    let text = resp.text().await.expect("body");
    let code = serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|v| v["error"]["code"].as_str().map(str::to_string));
    (status, code)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_operation_is_served_and_nothing_else() {
    let app = spawn().await;
    let (_, spec) = fetch(&app).await;
    let ops = operations(&spec);
    assert!(ops.len() >= 30, "{} operations", ops.len());

    let mut problems = Vec::new();
    for (path, method) in ops.keys() {
        let url = concrete(path);
        let (status, code) = probe(&app, method, &url).await;
        if status == StatusCode::METHOD_NOT_ALLOWED
            || status == StatusCode::INTERNAL_SERVER_ERROR
            || code.as_deref() == Some("route_not_found")
        {
            problems.push(format!(
                "documented {method} {path}: {method} {url} got {status} {code:?}"
            ));
        }
    }

    // On a documented path, the methods it does not document are refused with 405.
    let documented: BTreeMap<&str, BTreeSet<&str>> =
        ops.keys().fold(BTreeMap::new(), |mut map, (path, method)| {
            map.entry(path.as_str())
                .or_default()
                .insert(method.as_str());
            map
        });
    for (path, methods) in &documented {
        for method in PROBED_METHODS {
            if methods.contains(method) {
                continue;
            }
            let url = concrete(path);
            let (status, code) = probe(&app, method, &url).await;
            if status != StatusCode::METHOD_NOT_ALLOWED
                || code.as_deref() != Some("method_not_allowed")
            {
                problems.push(format!(
                    "undocumented {method} {path}: {method} {url} got {status} {code:?}, not 405"
                ));
            }
        }
    }

    // The probe tells an unserved path apart: these are not in the document, and the server
    // says so.
    let id = uuid::Uuid::now_v7();
    for (method, path) in [
        ("GET", "/api/v1/tokens".to_string()),
        ("POST", "/api/v1/tokens".to_string()),
        ("GET", format!("/api/v1/incidents/{id}/unknown")),
        ("POST", format!("/api/v1/incidents/{id}/updates/{id}/extra")),
        ("GET", "/api/v1".to_string()),
        ("GET", "/api/v1/component_groups".to_string()),
        ("GET", "/api/v2/summary".to_string()),
        ("GET", "/api/v3/summary.json".to_string()),
    ] {
        assert!(
            !ops.keys().any(|(p, _)| concrete(p) == path),
            "{path} is documented"
        );
        let (status, code) = probe(&app, method, &path).await;
        if status != StatusCode::NOT_FOUND || code.as_deref() != Some("route_not_found") {
            problems.push(format!(
                "undocumented {method} {path} got {status} {code:?}, not 404 route_not_found"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    app.stop().await;
}
