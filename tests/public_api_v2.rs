//! The Statuspage contract of `/api/v2`: Pharos must read, to an existing widget or aggregator,
//! like an Atlassian Statuspage page.
//!
//! The reference is not a hand-written schema but the real Statuspage responses in
//! `../shared/fixtures/statuspage/`. For every kind of object (page, status, component, group,
//! incident, incident update, affected component, scheduled maintenance, maintenance update)
//! the test unions, over every fixture, the keys seen and the JSON types each key took (with
//! strings refined into date-times and dates, and arrays into their element types). Pharos's
//! objects must then carry every one of those keys with one of those types; a key may be null
//! only where some real page sent null, or where Statuspage's documentation says it can be
//! (listed in [`NULLABLE_BY_DOCS`], each with its reason). Pharos may add keys, but only the
//! ones listed in [`PHAROS_EXTRAS`]. Each endpoint's top-level keys must equal Statuspage's.
//!
//! This runs on a page with groups, an open incident with updates and affected components, a
//! resolved incident and maintenances upcoming, in progress and completed, and on an empty
//! page; both on SQLite and PostgreSQL. Then, through the HTTP API only: the overall
//! indicator for a table of component mixes, freshness after a write, and the caching and
//! compression headers.
//!
//! No fixed sleeps: every wait polls the public API with a deadline.

mod common;

use common::app::{Db, TestApp};
use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::time::{Duration, Instant};

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/fixtures/statuspage/"
);

/// How long a write may take to reach the public snapshot before the test fails. The
/// projector reacts to each commit; this only bounds a slow CI machine.
const DEADLINE: Duration = Duration::from_secs(15);

/// Keys Pharos adds to Statuspage's objects: `(kind, key, why)`. Statuspage clients ignore
/// unknown keys; anything else Pharos adds must be listed here, with its reason.
const PHAROS_EXTRAS: &[(&str, &str, &str)] = &[
    (
        "incident",
        "source",
        "where the incident came from (manual, a monitor, a vendor): \"Detected by Pharos\"",
    ),
    (
        "component",
        "last_checked_at",
        "monitored components only: when a monitor last checked it (null before the first check)",
    ),
    (
        "component",
        "upstream",
        "components with a vendor dependency that is degraded or worse: [{vendor, vendor_slug, component, status}]",
    ),
];

/// Keys Statuspage's documentation declares nullable although no fixture shows them null:
/// `(kind, key, why)`. Empty today: every null Pharos sends was seen in a real response. An
/// entry needs a citation of the Statuspage API reference (developer.statuspage.io).
const NULLABLE_BY_DOCS: &[(&str, &str, &str)] = &[];

/// The value sets Statuspage documents for its enumerations, checked on the fixtures too.
const COMPONENT_STATUSES: &[&str] = &[
    "operational",
    "degraded_performance",
    "partial_outage",
    "major_outage",
    "under_maintenance",
];
const INCIDENT_STATUSES: &[&str] = &[
    "investigating",
    "identified",
    "monitoring",
    "resolved",
    "postmortem",
];
const MAINTENANCE_STATUSES: &[&str] = &["scheduled", "in_progress", "verifying", "completed"];
const IMPACTS: &[&str] = &["none", "minor", "major", "critical", "maintenance"];
const INDICATORS: &[&str] = &["none", "minor", "major", "critical", "maintenance"];

const DOMAINS: &[(&str, &str, &[&str])] = &[
    ("component", "status", COMPONENT_STATUSES),
    ("group", "status", COMPONENT_STATUSES),
    ("affected_component", "old_status", COMPONENT_STATUSES),
    ("affected_component", "new_status", COMPONENT_STATUSES),
    ("incident", "status", INCIDENT_STATUSES),
    ("incident", "impact", IMPACTS),
    ("incident_update", "status", INCIDENT_STATUSES),
    ("scheduled_maintenance", "status", MAINTENANCE_STATUSES),
    ("scheduled_maintenance", "impact", IMPACTS),
    ("maintenance_update", "status", MAINTENANCE_STATUSES),
    ("status", "indicator", INDICATORS),
];

/// Every object kind the contract covers.
const KINDS: &[&str] = &[
    "page",
    "status",
    "component",
    "group",
    "incident",
    "incident_update",
    "affected_component",
    "scheduled_maintenance",
    "maintenance_update",
];

/// The endpoints Pharos serves, with the Statuspage document each has the shape of. Statuspage
/// documents `unresolved.json` as `incidents.json` restricted to open incidents, and
/// `upcoming.json` / `active.json` as `scheduled-maintenances.json` restricted by status, so
/// they share those fixtures.
const ENDPOINTS: &[(&str, &str)] = &[
    ("/api/v2/summary.json", "summary"),
    ("/api/v2/status.json", "status"),
    ("/api/v2/components.json", "components"),
    ("/api/v2/incidents.json", "incidents"),
    ("/api/v2/incidents/unresolved.json", "incidents"),
    (
        "/api/v2/scheduled-maintenances.json",
        "scheduled-maintenances",
    ),
    (
        "/api/v2/scheduled-maintenances/upcoming.json",
        "scheduled-maintenances",
    ),
    (
        "/api/v2/scheduled-maintenances/active.json",
        "scheduled-maintenances",
    ),
];

// ---------------------------------------------------------------------------------------------
// The type schema

/// A JSON type, with strings refined by what clients parse them as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum JsonType {
    Null,
    Bool,
    Integer,
    Float,
    /// An RFC 3339 time (`created_at`).
    DateTime,
    /// A calendar date (`start_date`).
    Date,
    String,
    Array,
    Object,
}

fn json_type(value: &Value) -> JsonType {
    match value {
        Value::Null => JsonType::Null,
        Value::Bool(_) => JsonType::Bool,
        Value::Number(n) if n.is_i64() || n.is_u64() => JsonType::Integer,
        Value::Number(_) => JsonType::Float,
        Value::String(s) if chrono::DateTime::parse_from_rfc3339(s).is_ok() => JsonType::DateTime,
        Value::String(s) if chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok() => {
            JsonType::Date
        }
        Value::String(_) => JsonType::String,
        Value::Array(_) => JsonType::Array,
        Value::Object(_) => JsonType::Object,
    }
}

/// Whether a value of type `t` is one of `allowed`. A refined string also passes as a plain
/// one: a name that happens to read as a date is still a string.
fn satisfies(t: JsonType, allowed: &BTreeSet<JsonType>) -> bool {
    allowed.contains(&t)
        || (matches!(t, JsonType::DateTime | JsonType::Date) && allowed.contains(&JsonType::String))
}

/// Kind -> key -> the types seen. An array's element types are recorded under `key[]`.
type Schema = BTreeMap<String, BTreeMap<String, BTreeSet<JsonType>>>;

/// The kind of the object found under `key` of an object of kind `parent`.
fn child_kind(parent: &str, key: &str, child: &Value) -> String {
    let kind = match (parent, key) {
        ("document", "page") => "page",
        ("document", "status") => "status",
        ("document" | "incident" | "scheduled_maintenance", "components") => {
            if child["group"] == true {
                "group"
            } else {
                "component"
            }
        }
        ("document", "incidents" | "incident") => "incident",
        ("document", "scheduled_maintenances") => "scheduled_maintenance",
        ("incident", "incident_updates") => "incident_update",
        ("scheduled_maintenance", "incident_updates") => "maintenance_update",
        ("incident_update" | "maintenance_update", "affected_components") => "affected_component",
        // Not a kind Statuspage has: named by its path, so it shows in a failure.
        _ => return format!("{parent}.{key}"),
    };
    kind.to_string()
}

/// One object of a document, with its kind and the id of the object it sits in.
struct Found<'v> {
    kind: String,
    object: &'v Map<String, Value>,
    parent_id: Option<&'v Value>,
}

/// Every object of a document (the document itself as `document`), recursively. Keys listed
/// in `skip` (as in [`PHAROS_EXTRAS`]) are not descended into.
fn objects<'v>(document: &'v Value, skip: &[(&str, &str, &str)]) -> Vec<Found<'v>> {
    fn walk<'v>(
        kind: String,
        value: &'v Value,
        parent_id: Option<&'v Value>,
        skip: &[(&str, &str, &str)],
        out: &mut Vec<Found<'v>>,
    ) {
        let Value::Object(object) = value else {
            return;
        };
        for (key, child) in object {
            if skip.iter().any(|(k, name, _)| *k == kind && name == key) {
                continue;
            }
            let children: Vec<&Value> = match child {
                Value::Object(_) => vec![child],
                Value::Array(items) => items.iter().filter(|i| i.is_object()).collect(),
                _ => Vec::new(),
            };
            for c in children {
                walk(child_kind(&kind, key, c), c, object.get("id"), skip, out);
            }
        }
        out.push(Found {
            kind,
            object,
            parent_id,
        });
    }
    let mut out = Vec::new();
    walk("document".into(), document, None, skip, &mut out);
    out
}

/// Which endpoint a fixture file is a response of, by its name (see the fixtures' README);
/// `None` for single-incident documents (`incidents/{id}.json`), which Pharos does not serve
/// but whose objects still count for the schema.
fn fixture_endpoint(name: &str) -> Option<&'static str> {
    if name.contains("-summary-") {
        Some("summary")
    } else if name.contains("-scheduled-maintenances-") {
        Some("scheduled-maintenances")
    } else if name.contains("-incident-") {
        None
    } else if name.ends_with("-incidents.json") {
        Some("incidents")
    } else if name.contains("-components-") {
        Some("components")
    } else if name.contains("-status-") {
        Some("status")
    } else {
        panic!("fixture {name}: which endpoint is it? classify it in fixture_endpoint")
    }
}

struct Reference {
    schema: Schema,
    /// Endpoint -> its top-level keys.
    top_level: BTreeMap<&'static str, BTreeSet<String>>,
}

fn record(schema: &mut Schema, found: &Found) {
    let keys = schema.entry(found.kind.clone()).or_default();
    for (key, value) in found.object {
        keys.entry(key.clone())
            .or_default()
            .insert(json_type(value));
        if let Value::Array(items) = value {
            for item in items {
                keys.entry(format!("{key}[]"))
                    .or_default()
                    .insert(json_type(item));
            }
        }
    }
}

/// Problems with the invariants every Statuspage document keeps: enumerations within their
/// documented values, `page_id` naming the page, `incident_id` naming the incident.
fn invariant_problems(document: &Value, found: &[Found], origin: &str) -> Vec<String> {
    let page_id = &document["page"]["id"];
    let mut problems = Vec::new();
    for f in found {
        for (kind, key, allowed) in DOMAINS {
            if f.kind == *kind {
                if let Some(Value::String(v)) = f.object.get(*key) {
                    if !allowed.contains(&v.as_str()) {
                        problems.push(format!("{origin}: {kind}.{key} = {v:?}"));
                    }
                }
            }
        }
        if let Some(id) = f.object.get("page_id") {
            if id != page_id {
                problems.push(format!("{origin}: {}.page_id {id} is not the page", f.kind));
            }
        }
        if f.kind.ends_with("_update") && f.object.get("incident_id") != f.parent_id {
            problems.push(format!(
                "{origin}: {}.incident_id {:?} is not its incident's id {:?}",
                f.kind,
                f.object.get("incident_id"),
                f.parent_id
            ));
        }
    }
    problems
}

/// The schema of every fixture.
fn reference() -> Reference {
    let mut schema = Schema::new();
    let mut top_level: BTreeMap<&'static str, BTreeSet<String>> = BTreeMap::new();
    let mut problems = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(FIXTURES)
        .expect("the Statuspage fixtures are in ../shared/fixtures/statuspage")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 20, "only {} fixtures", files.len());
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(&path).expect("fixture reads");
        let document: Value = serde_json::from_str(&text).expect("fixture is JSON");
        if let Some(endpoint) = fixture_endpoint(&name) {
            let keys: BTreeSet<String> = document.as_object().unwrap().keys().cloned().collect();
            if let Some(seen) = top_level.get(endpoint) {
                assert_eq!(
                    seen, &keys,
                    "{name}: top-level keys differ from its endpoint's"
                );
            }
            top_level.insert(endpoint, keys);
        }
        let found = objects(&document, &[]);
        problems.extend(invariant_problems(&document, &found, &name));
        for f in found.iter().filter(|f| f.kind != "document") {
            record(&mut schema, f);
        }
    }
    assert!(problems.is_empty(), "fixtures:\n{}", problems.join("\n"));
    for kind in KINDS {
        assert!(schema.contains_key(*kind), "no fixture has a {kind}");
    }
    let unknown: Vec<&String> = schema
        .keys()
        .filter(|k| !KINDS.contains(&k.as_str()))
        .collect();
    assert!(unknown.is_empty(), "unclassified objects: {unknown:?}");
    for (path, shape) in ENDPOINTS {
        assert!(
            top_level.contains_key(shape),
            "no fixture of {shape} for {path}"
        );
    }
    Reference { schema, top_level }
}

/// Problems with one Pharos document against the reference.
fn contract_problems(
    reference: &Reference,
    endpoint: (&str, &str),
    document: &Value,
) -> Vec<String> {
    let (path, shape) = endpoint;
    let mut problems = Vec::new();
    let keys: BTreeSet<String> = document
        .as_object()
        .unwrap_or_else(|| panic!("{path} is not a JSON object"))
        .keys()
        .cloned()
        .collect();
    let expected = &reference.top_level[shape];
    if &keys != expected {
        problems.push(format!(
            "{path}: top-level keys {keys:?}, Statuspage's {shape} has {expected:?}"
        ));
    }
    let found = objects(document, PHAROS_EXTRAS);
    problems.extend(invariant_problems(document, &found, path));
    for f in found.iter().filter(|f| f.kind != "document") {
        let Some(schema) = reference.schema.get(&f.kind) else {
            problems.push(format!("{path}: a {} is no Statuspage object", f.kind));
            continue;
        };
        for (key, allowed) in schema {
            if let Some(field) = key.strip_suffix("[]") {
                let Some(Value::Array(items)) = f.object.get(field) else {
                    continue; // the array itself is checked under its own key
                };
                for item in items {
                    let t = json_type(item);
                    if !satisfies(t, allowed) {
                        problems.push(format!(
                            "{path}: {}.{field}[] holds a {t:?}, Statuspage's hold {allowed:?}",
                            f.kind
                        ));
                    }
                }
                continue;
            }
            let Some(value) = f.object.get(key) else {
                problems.push(format!("{path}: {} has no `{key}`", f.kind));
                continue;
            };
            let t = json_type(value);
            let documented_null = t == JsonType::Null
                && NULLABLE_BY_DOCS
                    .iter()
                    .any(|(k, name, _)| *k == f.kind && name == key);
            if !satisfies(t, allowed) && !documented_null {
                problems.push(format!(
                    "{path}: {}.{key} is {t:?} ({value}), Statuspage's is {allowed:?}",
                    f.kind
                ));
            }
        }
        for key in f.object.keys() {
            let documented = PHAROS_EXTRAS
                .iter()
                .any(|(k, name, _)| *k == f.kind && name == key);
            if !schema.contains_key(key) && !documented {
                problems.push(format!(
                    "{path}: {}.{key} is not Statuspage's; document it in PHAROS_EXTRAS",
                    f.kind
                ));
            }
        }
    }
    problems
}

// ---------------------------------------------------------------------------------------------
// HTTP helpers

/// A public GET, without a token, as a reader's widget does it.
async fn public(app: &TestApp, path: &str) -> Value {
    let resp = app.client.get(app.url(path)).send().await.expect("request");
    assert_eq!(resp.status(), StatusCode::OK, "GET {path}");
    resp.json().await.expect("JSON")
}

/// Polls `path` until `ready` holds, failing with the last answer after [`DEADLINE`].
async fn wait_for(app: &TestApp, path: &str, what: &str, ready: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let value = public(app, path).await;
        if ready(&value) {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "{path} never showed {what}; last: {value}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn len(value: &Value) -> usize {
    value.as_array().map_or(0, Vec::len)
}

fn id(value: &Value) -> String {
    value["id"].as_str().expect("an id").to_string()
}

/// Checks every endpoint against the reference; returns the documents by path and the kinds
/// of object they hold.
async fn check_every_endpoint(
    app: &TestApp,
    reference: &Reference,
) -> (BTreeMap<&'static str, Value>, BTreeSet<String>) {
    let mut problems = Vec::new();
    let mut documents = BTreeMap::new();
    let mut kinds = BTreeSet::new();
    for endpoint in ENDPOINTS {
        let document = public(app, endpoint.0).await;
        problems.extend(contract_problems(reference, *endpoint, &document));
        kinds.extend(
            objects(&document, PHAROS_EXTRAS)
                .into_iter()
                .map(|f| f.kind),
        );
        documents.insert(endpoint.0, document);
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    (documents, kinds)
}

// ---------------------------------------------------------------------------------------------
// The contract

/// Creates a component (in `group`, if any) and returns its id.
async fn component(app: &TestApp, name: &str, group: Option<&Value>) -> String {
    let mut body = json!({"name": name, "start_date": "2026-01-01"});
    if let Some(g) = group {
        body["group_id"] = g["id"].clone();
    }
    id(&app
        .ok(
            Method::POST,
            "/api/v1/components",
            Some(body),
            StatusCode::CREATED,
        )
        .await)
}

async fn full_page(app: TestApp) {
    let reference = reference();

    let core = app
        .ok(
            Method::POST,
            "/api/v1/component-groups",
            Some(json!({"name": "Core", "description": "What customers use"})),
            StatusCode::CREATED,
        )
        .await;
    let api = component(&app, "API", Some(&core)).await;
    let web = component(&app, "Website", Some(&core)).await;
    let docs = component(&app, "Docs", None).await;
    let status_page = component(&app, "Status emails", None).await;

    // A resolved incident.
    let old = app
        .ok(
            Method::POST,
            "/api/v1/incidents",
            Some(json!({"name": "Slow logins", "body": "Logins are slow.",
                        "components": {web.as_str(): "degraded_performance"}})),
            StatusCode::CREATED,
        )
        .await;
    app.ok(
        Method::POST,
        &format!("/api/v1/incidents/{}/resolve", id(&old)),
        Some(json!({"body": "Logins are fast again."})),
        StatusCode::OK,
    )
    .await;

    // An open incident with updates that change components.
    let open = app
        .ok(
            Method::POST,
            "/api/v1/incidents",
            Some(
                json!({"name": "Elevated API errors", "body": "We are investigating.",
                        "components": {api.as_str(): "partial_outage"}}),
            ),
            StatusCode::CREATED,
        )
        .await;
    app.ok(
        Method::POST,
        &format!("/api/v1/incidents/{}/updates", id(&open)),
        Some(json!({"status": "identified", "body": "A bad deploy; rolling back.",
                    "components": {api.as_str(): "major_outage", status_page.as_str(): "degraded_performance"}})),
        StatusCode::CREATED,
    )
    .await;

    // Maintenances: upcoming, in progress, and one called off (completed).
    let now = chrono::Utc::now();
    let at = |minutes: i64| (now + chrono::Duration::minutes(minutes)).to_rfc3339();
    app.ok(
        Method::POST,
        "/api/v1/maintenances",
        Some(
            json!({"name": "Database upgrade", "scheduled_for": at(24 * 60),
                    "scheduled_until": at(26 * 60), "component_ids": [docs.clone()],
                    "body": "We will upgrade the database.", "auto_transition": false}),
        ),
        StatusCode::CREATED,
    )
    .await;
    let running = app
        .ok(
            Method::POST,
            "/api/v1/maintenances",
            Some(json!({"name": "Network work", "scheduled_for": at(-10),
                        "scheduled_until": at(60), "component_ids": [web.clone()],
                        "body": "Network maintenance.", "auto_transition": false})),
            StatusCode::CREATED,
        )
        .await;
    app.ok(
        Method::PATCH,
        &format!("/api/v1/maintenances/{}", id(&running)),
        Some(json!({"status": "in_progress", "body": "Under way."})),
        StatusCode::OK,
    )
    .await;
    let called_off = app
        .ok(
            Method::POST,
            "/api/v1/maintenances",
            Some(json!({"name": "Cancelled work", "scheduled_for": at(120),
                        "scheduled_until": at(180), "component_ids": [api.clone()],
                        "auto_transition": false})),
            StatusCode::CREATED,
        )
        .await;
    app.ok(
        Method::POST,
        &format!("/api/v1/maintenances/{}/cancel", id(&called_off)),
        None,
        StatusCode::OK,
    )
    .await;

    // The last write is visible, so every earlier one is too (snapshots are built whole).
    wait_for(
        &app,
        "/api/v2/scheduled-maintenances.json",
        "the cancelled maintenance",
        |v| {
            v["scheduled_maintenances"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["status"] == "completed")
        },
    )
    .await;

    let (documents, kinds) = check_every_endpoint(&app, &reference).await;
    let missing: Vec<&&str> = KINDS.iter().filter(|k| !kinds.contains(**k)).collect();
    assert!(
        missing.is_empty(),
        "the page shows no {missing:?}: the contract would pass vacuously"
    );

    // What each endpoint lists.
    let summary = &documents["/api/v2/summary.json"];
    assert_eq!(len(&summary["incidents"]), 1, "only the open incident");
    assert_eq!(summary["incidents"][0]["name"], "Elevated API errors");
    assert_eq!(
        len(&summary["scheduled_maintenances"]),
        2,
        "upcoming and active"
    );
    assert_eq!(
        len(&summary["components"]),
        5,
        "a group and four components"
    );
    let incident = &summary["incidents"][0];
    assert_eq!(len(&incident["incident_updates"]), 2);
    assert_eq!(
        incident["incident_updates"][0]["status"], "identified",
        "newest first"
    );
    let affected = &incident["incident_updates"][0]["affected_components"];
    let names: BTreeSet<&str> = affected
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        BTreeSet::from(["Core - API", "Status emails"]),
        "a grouped component is named GROUP - Component, as on Statuspage"
    );
    let group = summary["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["group"] == true)
        .unwrap();
    assert_eq!(group["components"], json!([api, web]));
    assert_eq!(
        group["status"], "major_outage",
        "the worst of its components"
    );
    assert_eq!(len(&documents["/api/v2/incidents.json"]["incidents"]), 2);
    assert_eq!(
        len(&documents["/api/v2/incidents/unresolved.json"]["incidents"]),
        1
    );
    let listed = |path: &str| -> Vec<String> {
        documents[path]["scheduled_maintenances"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["status"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        listed("/api/v2/scheduled-maintenances/upcoming.json"),
        ["scheduled"]
    );
    assert_eq!(
        listed("/api/v2/scheduled-maintenances/active.json"),
        ["in_progress"]
    );
    assert_eq!(listed("/api/v2/scheduled-maintenances.json").len(), 3);
    assert_eq!(
        documents["/api/v2/status.json"]["status"],
        json!({"indicator": "major", "description": "Partial System Outage"})
    );

    // Freshness: a write through the management API shows in summary.json.
    app.ok(
        Method::POST,
        &format!("/api/v1/incidents/{}/updates", id(&open)),
        Some(json!({"status": "monitoring", "body": "Rolled back; watching."})),
        StatusCode::CREATED,
    )
    .await;
    wait_for(&app, "/api/v2/summary.json", "the monitoring update", |v| {
        v["incidents"][0]["status"] == "monitoring"
            && v["incidents"][0]["incident_updates"][0]["body"] == "Rolled back; watching."
    })
    .await;
    app.ok(
        Method::PATCH,
        &format!("/api/v1/components/{docs}"),
        Some(json!({"name": "Documentation"})),
        StatusCode::OK,
    )
    .await;
    wait_for(&app, "/api/v2/summary.json", "the renamed component", |v| {
        v["components"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == docs.as_str() && c["name"] == "Documentation")
    })
    .await;
    app.stop().await;
}

async fn empty_page(app: TestApp) {
    let reference = reference();
    let (documents, kinds) = check_every_endpoint(&app, &reference).await;
    assert_eq!(
        kinds,
        BTreeSet::from(["document", "page", "status"].map(String::from))
    );
    for (path, document) in &documents {
        for key in ["components", "incidents", "scheduled_maintenances"] {
            if let Some(list) = document.get(key) {
                assert_eq!(list, &json!([]), "{path}: {key}");
            }
        }
    }
    assert_eq!(
        documents["/api/v2/status.json"]["status"],
        json!({"indicator": "none", "description": "All Systems Operational"})
    );
    app.stop().await;
}

both_backends!(contract_on_a_full_page, full_page);
both_backends!(contract_on_an_empty_page, empty_page);

// ---------------------------------------------------------------------------------------------
// The overall status

async fn indicator_rules(app: TestApp) {
    let mut ids = Vec::new();
    for name in ["API", "Website", "Docs"] {
        let c = app
            .ok(
                Method::POST,
                "/api/v1/components",
                Some(json!({"name": name})),
                StatusCode::CREATED,
            )
            .await;
        ids.push(id(&c));
    }
    let cases: &[([&str; 3], &str, &str)] = &[
        (
            ["operational", "operational", "operational"],
            "none",
            "All Systems Operational",
        ),
        (
            ["degraded_performance", "operational", "operational"],
            "minor",
            "Partially Degraded Service",
        ),
        (
            ["degraded_performance"; 3],
            "minor",
            "Degraded System Service",
        ),
        (
            ["partial_outage", "operational", "operational"],
            "minor",
            "Minor Service Outage",
        ),
        (["partial_outage"; 3], "major", "Partial System Outage"),
        (
            ["major_outage", "operational", "degraded_performance"],
            "major",
            "Partial System Outage",
        ),
        (["major_outage"; 3], "critical", "Major System Outage"),
        (
            ["under_maintenance", "operational", "operational"],
            "maintenance",
            "Service Under Maintenance",
        ),
        (
            ["under_maintenance", "partial_outage", "operational"],
            "minor",
            "Minor Service Outage",
        ),
        (
            ["operational", "operational", "operational"],
            "none",
            "All Systems Operational",
        ),
    ];
    let mut current = ["operational"; 3];
    for (statuses, indicator, description) in cases {
        for (i, status) in statuses.iter().enumerate() {
            if current[i] != *status {
                app.ok(
                    Method::PATCH,
                    &format!("/api/v1/components/{}", ids[i]),
                    Some(json!({"status": status})),
                    StatusCode::OK,
                )
                .await;
                current[i] = status;
            }
        }
        let expected = json!({"indicator": indicator, "description": description});
        let what = format!("{expected} for {statuses:?}");
        let status = wait_for(&app, "/api/v2/status.json", &what, |v| {
            v["status"] == expected
        })
        .await;
        // summary.json agrees with status.json.
        let summary = public(&app, "/api/v2/summary.json").await;
        if summary["status"] != status["status"] {
            // A newer snapshot may have landed between the two requests; it must agree too.
            wait_for(&app, "/api/v2/summary.json", &what, |v| {
                v["status"] == expected
            })
            .await;
        }
    }
    app.stop().await;
}

both_backends!(the_indicator_follows_statuspage_rules, indicator_rules);

// ---------------------------------------------------------------------------------------------
// Headers

struct Raw {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

async fn raw(app: &TestApp, path: &str, headers: &[(header::HeaderName, &str)]) -> Raw {
    let mut req = app.client.get(app.url(path));
    for (name, value) in headers {
        req = req.header(name, HeaderValue::from_str(value).unwrap());
    }
    let resp = req.send().await.expect("request");
    Raw {
        status: resp.status(),
        headers: resp.headers().clone(),
        body: resp.bytes().await.expect("body").to_vec(),
    }
}

fn header_text<'h>(headers: &'h HeaderMap, name: &header::HeaderName) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .expect("valid gzip");
    out
}

fn unbrotli(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    brotli::BrotliDecompress(&mut &bytes[..], &mut out).expect("valid brotli");
    out
}

/// Fetches `path` plainly and with `encoding`, until both come from the same snapshot (the
/// projector may swap one in between), and returns (plain, encoded).
async fn same_snapshot(app: &TestApp, path: &str, encoding: &str) -> (Raw, Raw) {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let plain = raw(app, path, &[]).await;
        let encoded = raw(app, path, &[(header::ACCEPT_ENCODING, encoding)]).await;
        let again = raw(app, path, &[]).await;
        let etag = |r: &Raw| header_text(&r.headers, &header::ETAG).map(str::to_string);
        if etag(&plain) == etag(&again) {
            return (plain, encoded);
        }
        assert!(
            Instant::now() < deadline,
            "{path}: the snapshot never settled"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_are_cacheable_compressed_and_open_to_any_origin() {
    let app = common::app::spawn(Db::Sqlite).await.expect("sqlite app");
    app.ok(
        Method::POST,
        "/api/v1/components",
        Some(json!({"name": "API", "description": "The public API. ".repeat(20)})),
        StatusCode::CREATED,
    )
    .await;
    wait_for(&app, "/api/v2/components.json", "the component", |v| {
        len(&v["components"]) == 1
    })
    .await;

    for (path, _) in ENDPOINTS {
        let plain = raw(&app, path, &[]).await;
        assert_eq!(plain.status, StatusCode::OK, "{path}");
        let h = &plain.headers;
        assert_eq!(
            header_text(h, &header::ACCESS_CONTROL_ALLOW_ORIGIN),
            Some("*"),
            "{path}"
        );
        assert!(
            header_text(h, &header::CACHE_CONTROL).is_some_and(|v| v.contains("max-age")),
            "{path}: Cache-Control"
        );
        assert!(
            header_text(h, &header::CONTENT_TYPE)
                .is_some_and(|v| v.starts_with("application/json")),
            "{path}: Content-Type"
        );
        assert!(
            header_text(h, &header::CONTENT_ENCODING).is_none(),
            "{path}"
        );
        let etag = header_text(h, &header::ETAG).expect("an ETag").to_string();
        assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");

        // The validator: 304 with no body, still open to any origin. The snapshot may have
        // been swapped since, in which case the answer is a fresh 200.
        let again = raw(&app, path, &[(header::IF_NONE_MATCH, &etag)]).await;
        if header_text(&again.headers, &header::ETAG) == Some(etag.as_str()) {
            assert_eq!(again.status, StatusCode::NOT_MODIFIED, "{path}");
            assert!(again.body.is_empty(), "{path}: a 304 has no body");
            assert_eq!(
                header_text(&again.headers, &header::ACCESS_CONTROL_ALLOW_ORIGIN),
                Some("*")
            );
        } else {
            assert_eq!(again.status, StatusCode::OK, "{path}");
        }
        let unrelated = raw(&app, path, &[(header::IF_NONE_MATCH, "\"nope\"")]).await;
        assert_eq!(unrelated.status, StatusCode::OK, "{path}");

        for (encoding, name, decode) in [
            ("gzip", "gzip", gunzip as fn(&[u8]) -> Vec<u8>),
            ("br", "br", unbrotli),
            ("gzip, deflate, br", "br", unbrotli),
        ] {
            let (plain, encoded) = same_snapshot(&app, path, encoding).await;
            assert_eq!(encoded.status, StatusCode::OK);
            assert_eq!(
                header_text(&encoded.headers, &header::CONTENT_ENCODING),
                Some(name),
                "{path} with Accept-Encoding: {encoding}"
            );
            assert_eq!(
                decode(&encoded.body),
                plain.body,
                "{path}: the {name} body decodes to the plain one"
            );
            let plain_tag = header_text(&plain.headers, &header::ETAG).unwrap();
            let encoded_tag = header_text(&encoded.headers, &header::ETAG).unwrap();
            assert_ne!(
                plain_tag, encoded_tag,
                "each encoding has its own validator"
            );
            let revalidated = raw(
                &app,
                path,
                &[
                    (header::ACCEPT_ENCODING, encoding),
                    (header::IF_NONE_MATCH, encoded_tag),
                ],
            )
            .await;
            assert!(
                revalidated.status == StatusCode::NOT_MODIFIED
                    || header_text(&revalidated.headers, &header::ETAG) != Some(encoded_tag),
                "{path}: {name} revalidates"
            );
        }
    }
    app.stop().await;
}
