//! Vendor tracking end to end: a local HTTP server plays the vendor's status page, replaying
//! real fixture payloads (and edits of them for a lifecycle), and the app polls it through
//! `POST /api/v1/vendors/{slug}/poll`. What is stored, the events appended, conditional GETs,
//! failing sources (500, hang, garbage, 50 MiB, 429) with their backoff, de-duplication
//! across the JSON API and the feeds, and auto-detection of every format.

mod common;

use common::app::{spawn_with_config_and_clock, Db, TestApp};
use common::source::{Reply, Source};
use pharos::clock::ManualClock;
use pharos::domain::Timestamp;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

// ---- helpers -------------------------------------------------------------------------------

fn fixture(path: &str) -> Vec<u8> {
    let full = format!("{}/../shared/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&full).unwrap_or_else(|e| panic!("read {full}: {e}"))
}

fn fixture_json(path: &str) -> Value {
    serde_json::from_slice(&fixture(path)).expect("fixture JSON")
}

fn ts(text: &str) -> Timestamp {
    Timestamp::parse(text).expect("time")
}

async fn app_at(db: Db, at: &str) -> Option<(TestApp, Arc<ManualClock>)> {
    let clock = Arc::new(ManualClock::new(ts(at)));
    let app =
        spawn_with_config_and_clock(db, "[vendors]\nfetch_timeout_seconds = 1\n", clock.clone())
            .await?;
    Some((app, clock))
}

async fn poll(app: &TestApp, slug: &str) -> Value {
    let (status, body) = app
        .post(&format!("/api/v1/vendors/{slug}/poll"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "poll {slug}: {body}");
    body
}

async fn event_kinds_after(app: &TestApp, seq: i64) -> Vec<String> {
    let (status, body) = app.get(&format!("/api/v1/events?after={seq}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["data"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect()
}

async fn last_seq(app: &TestApp) -> i64 {
    use pharos::store::Store;
    app.store.last_event_seq().await.expect("seq")
}

async fn incidents(app: &TestApp, slug: &str) -> Vec<Value> {
    let (status, body) = app
        .get(&format!("/api/v1/vendors/{slug}/incidents?limit=500"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body.as_array().expect("list").clone()
}

fn page_of(summary: &Value) -> Value {
    summary["page"].clone()
}

/// GitHub followed through its `summary.json` alone (served by `source` with `summary`), and
/// imported.
async fn follow_github_summary(app: &TestApp, source: &Source, summary: Vec<u8>) {
    source.set("/api/v2/summary.json", Reply::json(summary));
    app.ok(
        reqwest::Method::POST,
        "/api/v1/vendors",
        Some(
            json!({"name": "GitHub", "page_url": source.base, "adapter": "statuspage",
                    "source_url": source.url("/api/v2/summary.json")}),
        ),
        StatusCode::CREATED,
    )
    .await;
    poll(app, "github").await;
}

/// A new component of ours.
async fn component(app: &TestApp, name: &str) -> Value {
    app.ok(
        reqwest::Method::POST,
        "/api/v1/components",
        Some(json!({ "name": name })),
        StatusCode::CREATED,
    )
    .await
}

// ---- the lifecycle -------------------------------------------------------------------------

async fn statuspage_lifecycle(db: Db) {
    let Some((app, clock)) = app_at(db, "2026-07-24T19:00:00Z").await else {
        return;
    };
    let source = Source::start().await;
    let quiet = fixture_json("statuspage/github-summary-all-operational.json");
    let critical = fixture_json("statuspage/github-summary-2026-07-24-critical.json");
    let no_history = json!({"page": page_of(&quiet), "incidents": []});
    source.set("/api/v2/summary.json", Reply::json(quiet.to_string()));
    source.set(
        "/api/v2/incidents.json",
        Reply::json(no_history.to_string()),
    );

    let created = app
        .ok(
            reqwest::Method::POST,
            "/api/v1/vendors",
            Some(json!({"name": "GitHub", "page_url": source.base, "adapter": "statuspage"})),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(created["slug"], "github");
    assert_eq!(created["source_state"], "pending");

    // 1. The first poll imports silently.
    let seq = last_seq(&app).await;
    let first = poll(&app, "github").await;
    assert_eq!(first["source_state"], "ok");
    assert_eq!(event_kinds_after(&app, seq).await, vec!["vendor.imported"]);
    let (_, components) = app.get("/api/v1/vendors/github/components").await;
    let components = components.as_array().expect("components").clone();
    assert_eq!(components.len(), 12);
    assert!(components.iter().all(|c| c["status"] == "operational"));

    // 2. The incident opens: one status change, one incident.
    clock.set(ts("2026-07-24T19:45:00Z"));
    source.set("/api/v2/summary.json", Reply::json(critical.to_string()));
    let seq = last_seq(&app).await;
    poll(&app, "github").await;
    assert_eq!(
        event_kinds_after(&app, seq).await,
        vec!["vendor.component_status_changed", "vendor.incident_opened"]
    );
    let stored = incidents(&app, "github").await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["external_id"], "jxd617hfwfq8");
    assert_eq!(stored[0]["impact"], "critical");
    assert_eq!(stored[0]["updates"].as_array().unwrap().len(), 3);
    assert_eq!(stored[0]["first_seen_at"], "2026-07-24T19:45:00Z");
    assert_eq!(stored[0]["url"], "https://stspg.io/sm1tp7kfm4vj");

    // The same payload again: nothing (and the documents come back 304).
    let seq = last_seq(&app).await;
    let again = poll(&app, "github").await;
    assert_eq!(again["events"], 0);
    assert_eq!(again["not_modified"], true, "{again}");
    assert!(event_kinds_after(&app, seq).await.is_empty());
    let conditional = source
        .seen()
        .iter()
        .rev()
        .take(2)
        .filter(|s| {
            s.path.starts_with("/api/v2/") && s.if_none_match.is_some() && s.answered == 304
        })
        .count();
    assert_eq!(conditional, 2, "{:?}", source.seen());
    assert!(source.seen().iter().all(|s| s
        .user_agent
        .as_deref()
        .is_some_and(|ua| ua.starts_with("Pharos/"))));

    // 3. A new update, and the impact lowered: one update posted, one change.
    let mut edited = critical.clone();
    let incident = &mut edited["incidents"][0];
    incident["status"] = json!("identified");
    incident["impact"] = json!("major");
    let mut newest = incident["incident_updates"][0].clone();
    newest["id"] = json!("pharostest01");
    newest["status"] = json!("identified");
    newest["body"] = json!("We have identified the cause and are rolling back.");
    for key in ["created_at", "updated_at", "display_at"] {
        newest[key] = json!("2026-07-24T19:50:00.000Z");
    }
    incident["incident_updates"]
        .as_array_mut()
        .unwrap()
        .insert(0, newest.clone());
    clock.set(ts("2026-07-24T19:51:00Z"));
    source.set("/api/v2/summary.json", Reply::json(edited.to_string()));
    let seq = last_seq(&app).await;
    poll(&app, "github").await;
    assert_eq!(
        event_kinds_after(&app, seq).await,
        vec!["vendor.incident_update_posted", "vendor.incident_updated"]
    );

    // 4. Resolved: gone from the summary, resolved in the history.
    let mut resolved = edited["incidents"][0].clone();
    resolved["status"] = json!("resolved");
    resolved["resolved_at"] = json!("2026-07-24T20:20:00.000Z");
    let mut last = newest.clone();
    last["id"] = json!("pharostest02");
    last["status"] = json!("resolved");
    last["body"] = json!("This incident has been resolved.");
    for key in ["created_at", "updated_at", "display_at"] {
        last[key] = json!("2026-07-24T20:20:00.000Z");
    }
    resolved["incident_updates"]
        .as_array_mut()
        .unwrap()
        .insert(0, last);
    clock.set(ts("2026-07-24T20:30:00Z"));
    source.set("/api/v2/summary.json", Reply::json(quiet.to_string()));
    source.set(
        "/api/v2/incidents.json",
        Reply::json(
            json!({"page": page_of(&quiet), "incidents": [resolved.clone(), resolved]}).to_string(),
        ),
    );
    let seq = last_seq(&app).await;
    poll(&app, "github").await;
    assert_eq!(
        event_kinds_after(&app, seq).await,
        vec![
            "vendor.component_status_changed",
            "vendor.incident_update_posted",
            "vendor.incident_resolved"
        ]
    );
    let stored = incidents(&app, "github").await;
    assert_eq!(stored.len(), 1, "stored once: {stored:#?}");
    assert_eq!(stored[0]["status"], "resolved");
    assert_eq!(stored[0]["resolved_at"], "2026-07-24T20:20:00Z");
    assert_eq!(stored[0]["updates"].as_array().unwrap().len(), 5);
    assert_eq!(stored[0]["first_seen_at"], "2026-07-24T19:45:00Z");

    // 5. Unchanged from now on: no events, however often it is polled.
    let seq = last_seq(&app).await;
    for _ in 0..3 {
        assert_eq!(poll(&app, "github").await["events"], 0);
    }
    assert!(event_kinds_after(&app, seq).await.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn statuspage_lifecycle_sqlite() {
    statuspage_lifecycle(Db::Sqlite).await;
}

#[tokio::test]
async fn statuspage_lifecycle_postgres() {
    statuspage_lifecycle(Db::Postgres).await;
}

#[tokio::test]
async fn the_first_poll_imports_recent_history_silently() {
    let Some((app, _clock)) = app_at(Db::Sqlite, "2026-07-31T12:00:00Z").await else {
        return;
    };
    let source = Source::start().await;
    source.set(
        "/api/v2/summary.json",
        Reply::json(fixture("statuspage/github-summary-all-operational.json")),
    );
    source.set(
        "/api/v2/incidents.json",
        Reply::json(fixture("statuspage/github-incidents.json")),
    );
    app.ok(
        reqwest::Method::POST,
        "/api/v1/vendors",
        Some(json!({"name": "GitHub", "slug": "gh", "page_url": source.base, "adapter": "statuspage"})),
        StatusCode::CREATED,
    )
    .await;
    let seq = last_seq(&app).await;
    poll(&app, "gh").await;
    assert_eq!(event_kinds_after(&app, seq).await, vec!["vendor.imported"]);
    // Every incident of the fixture started within the last 90 days of the clock.
    let stored = incidents(&app, "gh").await;
    assert_eq!(stored.len(), 44);
    assert!(stored.iter().all(|i| i["status"] == "resolved"));
    let updates: usize = stored
        .iter()
        .map(|i| i["updates"].as_array().unwrap().len())
        .sum();
    assert_eq!(updates, 242);
    app.stop().await;
}

// ---- de-duplication across formats ----------------------------------------------------------

#[tokio::test]
async fn the_same_incidents_from_the_atom_feed_the_rss_feed_and_the_json_api_are_stored_once() {
    let Some((app, _clock)) = app_at(Db::Sqlite, "2026-02-05T06:00:00Z").await else {
        return;
    };
    let source = Source::start().await;
    source.set(
        "/history.atom",
        Reply::with("application/atom+xml", fixture("atom/github-history.atom")),
    );
    source.set(
        "/history.rss",
        Reply::with("application/rss+xml", fixture("rss/github-history.rss")),
    );
    app.ok(
        reqwest::Method::POST,
        "/api/v1/vendors",
        Some(json!({"name": "GitHub", "page_url": source.base, "adapter": "statuspage_feed"})),
        StatusCode::CREATED,
    )
    .await;
    poll(&app, "github").await;
    let from_atom = incidents(&app, "github").await;
    assert!(from_atom.len() >= 20, "{}", from_atom.len());

    // The RSS twin: nothing new.
    app.ok(
        reqwest::Method::PATCH,
        "/api/v1/vendors/github",
        Some(json!({"source_url": source.url("/history.rss")})),
        StatusCode::OK,
    )
    .await;
    let seq = last_seq(&app).await;
    let summary = poll(&app, "github").await;
    assert_eq!(summary["source_state"], "ok", "{summary}");
    let kinds = event_kinds_after(&app, seq).await;
    assert!(
        kinds.iter().all(|k| k == "vendor.updated"),
        "the RSS feed announced changes: {kinds:?}"
    );
    assert_eq!(incidents(&app, "github").await.len(), from_atom.len());

    // The JSON API's view of the same incidents (ids, names, times and statuses as the
    // vendor serves them there), listing one of them twice: nothing new either.
    let json_incidents: Vec<Value> = from_atom
        .iter()
        .filter(|i| i["kind"] == "incident")
        .take(5)
        .map(|i| {
            let updates: Vec<Value> = i["updates"]
                .as_array()
                .unwrap()
                .iter()
                .rev()
                .enumerate()
                .map(|(n, u)| {
                    json!({
                        "id": format!("upd{n}{}", i["external_id"].as_str().unwrap()),
                        "status": u["status"], "body": "as the JSON API words it",
                        "created_at": u["at"], "updated_at": u["at"], "display_at": u["at"],
                        "affected_components": null
                    })
                })
                .collect();
            json!({
                "id": i["external_id"], "name": i["name"], "status": i["status"],
                "impact": i["impact"], "created_at": i["started_at"], "started_at": i["started_at"],
                "updated_at": i["updated_at"], "monitoring_at": null, "resolved_at": i["resolved_at"],
                "shortlink": i["url"], "page_id": "kctbh9vrtdwd", "components": [],
                "incident_updates": updates
            })
        })
        .collect();
    let mut listed = json_incidents.clone();
    listed.push(json_incidents[0].clone());
    let page = json!({"id": "kctbh9vrtdwd", "name": "GitHub", "url": "https://www.githubstatus.com",
        "time_zone": "Etc/UTC", "updated_at": "2026-02-05T05:10:57.000Z"});
    source.set(
        "/api/v2/incidents.json",
        Reply::json(json!({"page": page, "incidents": listed}).to_string()),
    );
    app.ok(
        reqwest::Method::PATCH,
        "/api/v1/vendors/github",
        Some(json!({"adapter": "statuspage", "source_url": source.url("/api/v2/incidents.json")})),
        StatusCode::OK,
    )
    .await;
    let seq = last_seq(&app).await;
    let summary = poll(&app, "github").await;
    assert_eq!(summary["source_state"], "ok", "{summary}");
    let kinds = event_kinds_after(&app, seq).await;
    assert!(
        kinds.iter().all(|k| k == "vendor.updated"),
        "the JSON API announced changes: {kinds:?}"
    );
    let after = incidents(&app, "github").await;
    assert_eq!(after.len(), from_atom.len());
    app.stop().await;
}

// ---- failing sources ------------------------------------------------------------------------

#[tokio::test]
async fn a_failing_source_shows_unreachable_keeps_its_data_backs_off_and_recovers() {
    let Some((app, clock)) = app_at(Db::Sqlite, "2026-07-24T19:00:00Z").await else {
        return;
    };
    let source = Source::start().await;
    let summary = fixture("statuspage/github-summary-2026-07-24-critical.json");
    source.set("/api/v2/summary.json", Reply::json(summary.clone()));
    app.ok(
        reqwest::Method::POST,
        "/api/v1/vendors",
        Some(
            json!({"name": "GitHub", "page_url": source.base, "adapter": "statuspage",
                    "source_url": source.url("/api/v2/summary.json"), "poll_interval_seconds": 30}),
        ),
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(poll(&app, "github").await["source_state"], "ok");
    let before = incidents(&app, "github").await;
    assert_eq!(before.len(), 1);

    let seq = last_seq(&app).await;
    clock.set(ts("2026-07-24T19:10:00Z"));
    let mut waits = Vec::new();
    let cases: Vec<(Reply, &str)> = vec![
        (Reply::status(500), "HTTP 500"),
        (Reply::status(502), "HTTP 502"),
        (
            Reply {
                delay: Some(Duration::from_secs(3)),
                ..Reply::json(summary.clone())
            },
            "did not answer within 1 s",
        ),
        (
            Reply::json(&b"<html>garbage, not JSON {"[..]),
            "cannot read",
        ),
        (Reply::json(vec![b' '; 50 * 1024 * 1024]), "more than 5 MiB"),
    ];
    for (reply, expected) in cases {
        source.set("/api/v2/summary.json", reply);
        let polled = poll(&app, "github").await;
        assert_eq!(polled["source_state"], "unreachable", "{polled}");
        let error = polled["error"].as_str().unwrap_or_default();
        assert!(error.contains(expected), "{expected:?} not in {error:?}");
        waits.push(polled["next_poll_in_seconds"].as_u64().unwrap());
    }
    // The backoff doubles from the interval (30 s) per failure, with up to 20 % jitter.
    for (i, wait) in waits.iter().enumerate() {
        let base = 30u64 << i;
        assert!(
            (base..=base * 6 / 5 + 1).contains(wait),
            "failure {}: waits {wait} s, expected {base} s + jitter ({waits:?})",
            i + 1
        );
    }
    // A 429 with Retry-After is honoured.
    source.set(
        "/api/v2/summary.json",
        Reply {
            retry_after: Some("900"),
            ..Reply::status(429)
        },
    );
    let polled = poll(&app, "github").await;
    assert!(
        polled["next_poll_in_seconds"].as_u64().unwrap() >= 900,
        "{polled}"
    );

    // One event for the whole outage of the source; the vendor shows since when.
    assert_eq!(
        event_kinds_after(&app, seq).await,
        vec!["vendor.source_unreachable"]
    );
    let (_, vendor) = app.get("/api/v1/vendors/github").await;
    assert_eq!(vendor["source_state"], "unreachable");
    assert_eq!(vendor["unreachable_since"], "2026-07-24T19:10:00Z");
    // The data is intact and not reported as the vendor's outage.
    assert_eq!(incidents(&app, "github").await, before);
    let (_, components) = app.get("/api/v1/vendors/github/components").await;
    assert_eq!(components.as_array().unwrap().len(), 12);

    // The source comes back.
    source.set("/api/v2/summary.json", Reply::json(summary));
    let seq = last_seq(&app).await;
    let polled = poll(&app, "github").await;
    assert_eq!(polled["source_state"], "ok");
    assert_eq!(
        event_kinds_after(&app, seq).await,
        vec!["vendor.source_recovered"]
    );
    let (_, vendor) = app.get("/api/v1/vendors/github").await;
    assert_eq!(vendor["source_state"], "ok");
    assert!(vendor["unreachable_since"].is_null());
    app.stop().await;
}

// ---- the API's refusals ---------------------------------------------------------------------

#[tokio::test]
async fn bad_vendor_input_gets_clear_errors() {
    let Some((app, _clock)) = app_at(Db::Sqlite, "2026-07-24T19:00:00Z").await else {
        return;
    };
    let cases = [
        (
            json!({"name": "X", "page_url": "ftp://x.test", "adapter": "statuspage"}),
            "page_url",
        ),
        (
            json!({"name": "X", "slug": "Not A Slug", "page_url": "https://x.test", "adapter": "statuspage"}),
            "slug",
        ),
        (
            json!({"name": "X", "page_url": "https://x.test", "adapter": "statuspage", "poll_interval_seconds": 5}),
            "poll_interval_seconds",
        ),
    ];
    for (body, field) in cases {
        let (status, error) = app.post("/api/v1/vendors", body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {error}");
        let message = error["error"]["message"].as_str().unwrap();
        assert!(message.contains(field), "{field} not in {message}");
    }
    let (status, error) = app
        .post(
            "/api/v1/vendors",
            json!({"name": "X", "page_url": "https://x.test", "adapter": "smoke-signals"}),
        )
        .await;
    assert!(status.is_client_error(), "{error}");
    // The refusal lists the adapters there are.
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("statuspage_feed"),
        "{error}"
    );

    let body =
        json!({"name": "Acme", "page_url": "https://status.acme.test", "adapter": "statuspage"});
    app.ok(
        reqwest::Method::POST,
        "/api/v1/vendors",
        Some(body.clone()),
        StatusCode::CREATED,
    )
    .await;
    let (status, error) = app.post("/api/v1/vendors", body).await;
    assert_eq!(status, StatusCode::CONFLICT, "{error}");
    assert!(error["error"]["message"].as_str().unwrap().contains("acme"));
    let (status, _) = app.get("/api/v1/vendors/nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, error) = app.get("/api/v1/vendors/acme/incidents?kind=outage").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
    // Detection of a page that is nothing Pharos reads says what to do.
    let source = Source::start().await;
    source.set(
        "/",
        Reply::with("text/html", "<html><body>Hello</body></html>"),
    );
    let (status, error) = app
        .post("/api/v1/vendors", json!({"page_url": source.url("/")}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("name the adapter"),
        "{error}"
    );
    let (status, _) = app.delete("/api/v1/vendors/acme").await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    app.stop().await;
}

// ---- auto-detection -------------------------------------------------------------------------

#[tokio::test]
async fn auto_detection_picks_the_right_adapter_for_each_format() {
    let Some((app, _clock)) = app_at(Db::Sqlite, "2026-07-24T19:00:00Z").await else {
        return;
    };
    // (fixture, path it is served at, content type, the adapter expected)
    let direct = [
        (
            "statuspage/github-summary-2026-07-24-critical.json",
            "/api/v2/summary.json",
            "application/json",
            "statuspage",
        ),
        (
            "incidentio/openai-summary-compat-minor.json",
            "/api/v2/summary.json",
            "application/json",
            "incidentio",
        ),
        (
            "instatus/perplexity-summary-major.json",
            "/summary.json",
            "application/json",
            "instatus",
        ),
        (
            "atom/claude-history.atom",
            "/history.atom",
            "application/atom+xml",
            "statuspage_feed",
        ),
        (
            "rss/parse-history.rss",
            "/history.rss",
            "application/rss+xml",
            "statuspage_feed",
        ),
        (
            "azure/status-feed-westus-early.rss",
            "/en-us/status/feed/",
            "application/rss+xml",
            "azure",
        ),
        (
            "statusio/docker-status-partial-disruption.json",
            "/1.0/status/533c6539221ae15e3f000031",
            "application/json",
            "statusio",
        ),
        (
            "gcp/incidents.json",
            "/incidents.json",
            "application/json",
            "gcp",
        ),
        (
            "aws/health-currentevents-utf16be-bom.json",
            "/public/currentevents",
            "application/json",
            "aws_health",
        ),
        (
            "aws/status-data.json",
            "/data.json",
            "application/json",
            "aws_status",
        ),
        (
            "slack/current-active-incidents.json",
            "/api/v2.0.0/current",
            "application/json",
            "slack",
        ),
        (
            "heroku/current-status-maintenance.json",
            "/api/v4/current-status",
            "application/json",
            "heroku",
        ),
        (
            "salesforce/trust-instances-status.json",
            "/v1/instances/status/preview",
            "application/json",
            "salesforce",
        ),
        (
            "betterstack/huggingface-index-downtime.json",
            "/index.json",
            "application/json",
            "betterstack",
        ),
        (
            "checkly/mistral-unresolved-incidents.json",
            "/api/status-page/mistral-ai/unresolved-incidents",
            "application/json",
            "checkly",
        ),
    ];
    let mut wrong = Vec::new();
    for (file, path, content_type, expected) in direct {
        let source = Source::start().await;
        source.set(path, Reply::with(content_type, fixture(file)));
        let (status, body) = app
            .post("/api/v1/vendors/detect", json!({"url": source.url(path)}))
            .await;
        if status != StatusCode::OK || body["adapter"] != expected {
            wrong.push(format!("{file}: expected {expected}, got {status} {body}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "detection mistakes:\n{}",
        wrong.join("\n")
    );

    // From the HTML page alone: the Statuspage API path, then the feeds it links.
    let site = Source::start().await;
    site.set("/", Reply::with("text/html", "<!doctype html><html><head><title>Acme Status</title></head><body>All good</body></html>"));
    site.set(
        "/api/v2/summary.json",
        Reply::json(fixture("statuspage/twilio-summary-groups-incidents.json")),
    );
    let (status, body) = app
        .post("/api/v1/vendors/detect", json!({"url": site.url("/")}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["adapter"], "statuspage");
    assert!(
        body["source_url"].is_null(),
        "derived from the page: {body}"
    );

    let feed_site = Source::start().await;
    feed_site.set(
        "/",
        Reply::with(
            "text/html",
            "<html><head><link rel=\"alternate\" type=\"application/atom+xml\" href=\"/feeds/incidents.atom\"></head><body></body></html>",
        ),
    );
    feed_site.set(
        "/feeds/incidents.atom",
        Reply::with(
            "application/atom+xml",
            fixture("atom/travisci-history.atom"),
        ),
    );
    let (status, body) = app
        .post("/api/v1/vendors/detect", json!({"url": feed_site.url("/")}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["adapter"], "statuspage_feed");
    assert_eq!(body["source_url"], feed_site.url("/feeds/incidents.atom"));

    // Creating a vendor with only its URL detects and names it.
    let (status, created) = app
        .post("/api/v1/vendors", json!({"page_url": site.url("/")}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["adapter"], "statuspage");
    assert_eq!(created["name"], "Twilio");
    assert_eq!(created["slug"], "twilio");
    app.stop().await;
}

// ---- the public pages -----------------------------------------------------------------------

async fn page(app: &TestApp, path: &str) -> (StatusCode, String) {
    let resp = app.client.get(app.url(path)).send().await.expect("get");
    let status = resp.status();
    (status, resp.text().await.expect("body"))
}

#[tokio::test]
async fn vendor_pages_show_components_incidents_timelines_and_unreachable_sources() {
    let Some((app, clock)) = app_at(Db::Sqlite, "2026-07-24T19:45:00Z").await else {
        return;
    };
    let source = Source::start().await;
    source.set(
        "/api/v2/summary.json",
        Reply::json(fixture("statuspage/github-summary-all-operational.json")),
    );
    source.set(
        "/api/v2/incidents.json",
        Reply::json(json!({"page": {"id": "x", "name": "GitHub"}, "incidents": []}).to_string()),
    );
    app.ok(
        reqwest::Method::POST,
        "/api/v1/vendors",
        Some(json!({"name": "GitHub", "page_url": source.base, "adapter": "statuspage"})),
        StatusCode::CREATED,
    )
    .await;
    poll(&app, "github").await;
    clock.set(ts("2026-07-24T19:50:00Z"));
    source.set(
        "/api/v2/summary.json",
        Reply::json(fixture(
            "statuspage/github-summary-2026-07-24-critical.json",
        )),
    );
    poll(&app, "github").await;
    // A second vendor whose source is down.
    let broken = Source::start().await;
    broken.set("/api/v2/summary.json", Reply::status(503));
    app.ok(
        reqwest::Method::POST,
        "/api/v1/vendors",
        Some(json!({"name": "Flaky Corp", "page_url": broken.base, "adapter": "statuspage"})),
        StatusCode::CREATED,
    )
    .await;
    poll(&app, "flaky-corp").await;

    let (status, list) = page(&app, "/vendors").await;
    assert_eq!(status, StatusCode::OK);
    assert!(list.contains("href=\"/vendors/github\""), "{list}");
    assert!(list.contains("Pull Requests: Major outage"), "{list}");
    assert!(
        list.contains("Open incident: Incident with Pull Requests"),
        "{list}"
    );
    assert!(list.contains("Source unreachable since"), "{list}");
    assert!(list.contains("Last checked"), "{list}");

    let (status, vendor) = page(&app, "/vendors/github").await;
    assert_eq!(status, StatusCode::OK);
    for expected in [
        "<h1>GitHub</h1>",
        "Git Operations",
        "Incident with Pull Requests",
        "Critical",
        "Investigating",
        "/vendors/github/history.atom",
    ] {
        assert!(
            vendor.contains(expected),
            "{expected:?} missing from the vendor page"
        );
    }
    let stored = incidents(&app, "github").await;
    let id = stored[0]["id"].as_str().unwrap();
    let (status, incident) = page(&app, &format!("/vendors/github/incidents/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    for expected in [
        "Incident with Pull Requests",
        "Detected by",
        "first seen",
        "2026-07-24T19:50:00",
        "View vendor source",
        "https://stspg.io/sm1tp7kfm4vj",
        "Pull Requests",
        "Duration",
    ] {
        assert!(
            incident.contains(expected),
            "{expected:?} missing from the incident page"
        );
    }
    assert_eq!(incident.matches("class=\"update\"").count(), 3);
    // The vendor's own id reaches the same page.
    let (status, _) = page(&app, "/vendors/github/incidents/jxd617hfwfq8").await;
    assert_eq!(status, StatusCode::OK);

    let (status, atom) = page(&app, "/vendors/github/history.atom").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        atom.contains("<title>Incident with Pull Requests</title>"),
        "{atom}"
    );
    let (status, _) = page(&app, "/vendors/nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    for impossible in [
        "/vendors/Not_A_Slug".to_string(),
        format!("/vendors/{}", "a".repeat(300)),
    ] {
        let (status, _) = page(&app, &impossible).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{impossible}");
    }
    let (status, _) = page(
        &app,
        &format!("/vendors/github/incidents/{}", "0".repeat(500)),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    app.stop().await;
}

#[tokio::test]
async fn vendor_pages_are_404_when_not_public() {
    let Some(app) = common::app::spawn_with_config(Db::Sqlite, "[vendors]\npublic = false\n").await
    else {
        return;
    };
    app.ok(
        reqwest::Method::POST,
        "/api/v1/vendors",
        Some(json!({"name": "Acme", "page_url": "https://status.acme.test", "adapter": "statuspage"})),
        StatusCode::CREATED,
    )
    .await;
    for path in ["/vendors", "/vendors/acme", "/vendors/acme/history.atom"] {
        let (status, _) = page(&app, path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    app.stop().await;
}

// ---- dependencies ---------------------------------------------------------------------------

/// `/api/v2/summary.json`'s component named `name`, once `check` holds for it (the public
/// snapshot follows the log within moments).
async fn public_component(app: &TestApp, name: &str, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let summary: Value = app
            .client
            .get(app.url("/api/v2/summary.json"))
            .send()
            .await
            .expect("summary")
            .json()
            .await
            .expect("JSON");
        let component = summary["components"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .cloned()
            .unwrap_or(Value::Null);
        if check(&component) {
            return component;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{name} never matched: {component} in {summary}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_degraded_vendor_dependency_shows_upstream_and_sets_the_chosen_status_sqlite() {
    dependency_on_a_degraded_vendor(Db::Sqlite).await;
}

#[tokio::test]
async fn a_degraded_vendor_dependency_shows_upstream_and_sets_the_chosen_status_postgres() {
    dependency_on_a_degraded_vendor(Db::Postgres).await;
}

async fn dependency_on_a_degraded_vendor(db: Db) {
    let Some((app, clock)) = app_at(db, "2026-07-24T19:00:00Z").await else {
        return;
    };
    let source = Source::start().await;
    let quiet = fixture("statuspage/github-summary-all-operational.json");
    follow_github_summary(&app, &source, quiet.clone()).await;
    let shown = component(&app, "Code review").await;
    let held = component(&app, "Deployments").await;
    // The whole vendor, shown only; and one vendor component (by name), holding a status.
    app.ok(
        reqwest::Method::POST,
        "/api/v1/vendors/github/dependencies",
        Some(json!({"component_id": shown["id"]})),
        StatusCode::CREATED,
    )
    .await;
    let dependency = app
        .ok(
            reqwest::Method::POST,
            "/api/v1/vendors/github/dependencies",
            Some(
                json!({"component_id": held["id"], "vendor_component": "pull requests",
                        "set_status": "partial_outage"}),
            ),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(dependency["vendor_component"], "hhtssxt0f5v2");
    let (status, error) = app
        .post(
            "/api/v1/vendors/github/dependencies",
            json!({"component_id": held["id"], "vendor_component": "Teleportation"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    let (status, error) = app
        .post(
            "/api/v1/vendors/github/dependencies",
            json!({"component_id": held["id"], "set_status": "under_maintenance"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    public_component(&app, "Deployments", |c| {
        c["status"] == "operational" && c.get("upstream").is_none()
    })
    .await;

    // GitHub's Pull Requests go down.
    clock.set(ts("2026-07-24T19:45:00Z"));
    source.set(
        "/api/v2/summary.json",
        Reply::json(fixture(
            "statuspage/github-summary-2026-07-24-critical.json",
        )),
    );
    poll(&app, "github").await;
    let c = public_component(&app, "Code review", |c| c.get("upstream").is_some()).await;
    assert_eq!(c["status"], "operational", "shown only: {c}");
    assert_eq!(
        c["upstream"],
        json!([{"vendor": "GitHub", "vendor_slug": "github", "component": "Pull Requests", "status": "major_outage"}])
    );
    let d = public_component(&app, "Deployments", |c| c["status"] == "partial_outage").await;
    assert_eq!(d["upstream"][0]["component"], "Pull Requests");
    let (_, page) = {
        let resp = app.client.get(app.url("/")).send().await.expect("page");
        (resp.status(), resp.text().await.expect("body"))
    };
    assert!(
        page.contains(
            "Upstream: <a href=\"/vendors/github\">GitHub — Pull Requests: Major outage</a>"
        ),
        "the page does not show the upstream problem"
    );

    // The vendor's source becomes unreachable: that is not the vendor's outage.
    source.set("/api/v2/summary.json", Reply::status(500));
    poll(&app, "github").await;
    public_component(&app, "Deployments", |c| {
        c["status"] == "operational" && c.get("upstream").is_none()
    })
    .await;
    // It comes back, still down; then GitHub recovers.
    source.set(
        "/api/v2/summary.json",
        Reply::json(fixture(
            "statuspage/github-summary-2026-07-24-critical.json",
        )),
    );
    poll(&app, "github").await;
    public_component(&app, "Deployments", |c| c["status"] == "partial_outage").await;
    source.set("/api/v2/summary.json", Reply::json(quiet));
    poll(&app, "github").await;
    public_component(&app, "Deployments", |c| {
        c["status"] == "operational" && c.get("upstream").is_none()
    })
    .await;

    // Deleting the dependency (and its vendor) leaves the components alone.
    let id = dependency["id"].as_str().unwrap();
    let (status, _) = app
        .delete(&format!("/api/v1/vendors/github/dependencies/{id}"))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, listed) = app.get("/api/v1/vendors/github/dependencies").await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let (status, _) = app.delete("/api/v1/vendors/github").await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app
        .get(&format!(
            "/api/v1/components/{}",
            shown["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    app.stop().await;
}

#[tokio::test]
async fn vendors_declared_in_the_config_file_are_followed_and_protected() {
    let Some(app) = common::app::spawn_with_config(
        Db::Sqlite,
        "[[vendors.follow]]\ncatalog = \"github\"\npoll_interval_seconds = 600\n",
    )
    .await
    else {
        return;
    };
    let (status, vendor) = app.get("/api/v1/vendors/github").await;
    assert_eq!(status, StatusCode::OK, "{vendor}");
    assert_eq!(vendor["managed_by"], "config");
    assert_eq!(vendor["page_url"], "https://www.githubstatus.com");
    assert_eq!(vendor["poll_interval_seconds"], 600);
    let (status, error) = app.delete("/api/v1/vendors/github").await;
    assert_eq!(status, StatusCode::CONFLICT, "{error}");
    assert_eq!(error["error"]["code"], "managed_by_config");
    let (status, error) = app
        .patch(
            "/api/v1/vendors/github",
            json!({"poll_interval_seconds": 60}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{error}");
    let (status, disabled) = app
        .patch("/api/v1/vendors/github", json!({"enabled": false}))
        .await;
    assert_eq!(status, StatusCode::OK, "{disabled}");
    assert_eq!(disabled["enabled"], false);
    app.stop().await;
}

#[tokio::test]
async fn a_dependency_prepares_an_incident_draft_that_one_call_publishes_sqlite() {
    incident_drafts(Db::Sqlite).await;
}

#[tokio::test]
async fn a_dependency_prepares_an_incident_draft_that_one_call_publishes_postgres() {
    incident_drafts(Db::Postgres).await;
}

async fn incident_drafts(db: Db) {
    let Some((app, clock)) = app_at(db, "2026-07-24T19:00:00Z").await else {
        return;
    };
    let source = Source::start().await;
    let quiet = fixture("statuspage/github-summary-all-operational.json");
    let critical = fixture("statuspage/github-summary-2026-07-24-critical.json");
    follow_github_summary(&app, &source, quiet.clone()).await;
    let checkout = component(&app, "Checkout").await;
    let search = component(&app, "Search").await;
    for (component, extra) in [
        (
            &checkout,
            json!({"vendor_component": "Pull Requests", "set_status": "partial_outage"}),
        ),
        (&search, json!({})),
    ] {
        let mut body = extra.clone();
        body["component_id"] = component["id"].clone();
        body["draft_incident"] = json!(true);
        app.ok(
            reqwest::Method::POST,
            "/api/v1/vendors/github/dependencies",
            Some(body),
            StatusCode::CREATED,
        )
        .await;
    }
    let (_, drafts) = app.get("/api/v1/incident-drafts").await;
    assert_eq!(drafts, json!([]), "nothing is wrong upstream yet");

    clock.set(ts("2026-07-24T19:45:00Z"));
    source.set("/api/v2/summary.json", Reply::json(critical.clone()));
    poll(&app, "github").await;
    let (_, drafts) = app.get("/api/v1/incident-drafts").await;
    let drafts = drafts.as_array().expect("drafts").clone();
    assert_eq!(drafts.len(), 2, "{drafts:#?}");
    let draft = drafts
        .iter()
        .find(|d| d["component_id"] == checkout["id"])
        .expect("the checkout draft");
    assert_eq!(draft["name"], "Checkout affected by GitHub Pull Requests");
    assert_eq!(draft["impact"], "major");
    assert_eq!(draft["reference"], "https://stspg.io/sm1tp7kfm4vj");
    assert!(
        draft["body"]
            .as_str()
            .unwrap()
            .contains("Incident with Pull Requests"),
        "{draft}"
    );
    // A draft is not an incident: nothing public yet.
    let (_, unresolved) = app.get("/api/v1/incidents?state=open").await;
    assert_eq!(unresolved["data"], json!([]));

    let id = draft["id"].as_str().unwrap();
    let incident = app
        .ok(
            reqwest::Method::POST,
            &format!("/api/v1/incident-drafts/{id}/publish"),
            None,
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(
        incident["name"],
        "Checkout affected by GitHub Pull Requests"
    );
    assert_eq!(incident["source"]["kind"], "vendor");
    assert_eq!(incident["source"]["ref"], "https://stspg.io/sm1tp7kfm4vj");
    assert_eq!(incident["status"], "investigating");
    let (status, error) = app
        .post(&format!("/api/v1/incident-drafts/{id}/publish"), json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{error}");
    public_component(&app, "Checkout", |c| c["status"] == "partial_outage").await;

    // The same upstream trouble again prepares nothing new while the incident is open.
    clock.set(ts("2026-07-24T19:50:00Z"));
    source.set("/api/v2/summary.json", Reply::json(quiet.clone()));
    poll(&app, "github").await;
    source.set("/api/v2/summary.json", Reply::json(critical));
    poll(&app, "github").await;
    let (_, drafts) = app.get("/api/v1/incident-drafts").await;
    let remaining: Vec<&Value> = drafts.as_array().unwrap().iter().collect();
    assert_eq!(remaining.len(), 1, "only Search's new draft: {drafts:#}");
    assert_eq!(remaining[0]["component_id"], search["id"]);

    // Search's draft goes away on its own when the upstream recovers first.
    let seq = last_seq(&app).await;
    source.set("/api/v2/summary.json", Reply::json(quiet));
    poll(&app, "github").await;
    assert!(event_kinds_after(&app, seq)
        .await
        .contains(&"incident_draft.dismissed".to_string()));
    let (_, drafts) = app.get("/api/v1/incident-drafts").await;
    assert_eq!(drafts, json!([]));
    let (status, _) = app.delete(&format!("/api/v1/incident-drafts/{id}")).await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "a published draft cannot be dismissed"
    );
    let (status, _) = app
        .delete(&format!("/api/v1/incident-drafts/{}", uuid::Uuid::now_v7()))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    app.stop().await;
}

// ---- every adapter --------------------------------------------------------------------------

/// (fixture, the adapter that reads it, content type, when it was captured)
const EVERY_FORMAT: &[(&str, &str, &str, &str)] = &[
    (
        "statuspage/twilio-summary-groups-incidents.json",
        "statuspage",
        "application/json",
        "2020-06-16T12:00:00Z",
    ),
    (
        "statuspage/anthropic-scheduled-maintenances-completed.json",
        "statuspage",
        "application/json",
        "2025-08-30T00:00:00Z",
    ),
    (
        "statuspage/coinbase-components-partial-outage-maintenance.json",
        "statuspage",
        "application/json",
        "2021-12-03T12:00:00Z",
    ),
    (
        "incidentio/openai-summary-compat-minor.json",
        "incidentio",
        "application/json",
        "2026-07-22T12:00:00Z",
    ),
    (
        "instatus/perplexity-summary-major.json",
        "instatus",
        "application/json",
        "2026-07-23T15:00:00Z",
    ),
    (
        "atom/travisci-history.atom",
        "statuspage_feed",
        "application/atom+xml",
        "2016-07-01T12:00:00Z",
    ),
    (
        "rss/parse-history.rss",
        "statuspage_feed",
        "application/rss+xml",
        "2014-01-09T12:00:00Z",
    ),
    (
        "atom/claude-history.atom",
        "feed",
        "application/atom+xml",
        "2026-02-04T12:00:00Z",
    ),
    (
        "azure/status-feed-westus-later.rss",
        "azure",
        "application/rss+xml",
        "2026-07-23T18:15:00Z",
    ),
    (
        "statusio/gitlab-status-planned-maintenance.json",
        "statusio",
        "application/json",
        "2020-09-05T12:00:00Z",
    ),
    (
        "gcp/incidents.json",
        "gcp",
        "application/json",
        "2022-07-03T12:00:00Z",
    ),
    (
        "aws/health-currentevents-utf16be-bom.json",
        "aws_health",
        "application/json",
        "2026-08-01T16:00:00Z",
    ),
    (
        "aws/status-data.json",
        "aws_status",
        "application/json",
        "2022-07-03T12:00:00Z",
    ),
    (
        "slack/current-active-incidents.json",
        "slack",
        "application/json",
        "2020-07-30T12:00:00Z",
    ),
    (
        "heroku/current-status-maintenance.json",
        "heroku",
        "application/json",
        "2020-11-09T12:00:00Z",
    ),
    (
        "salesforce/trust-instances-status.json",
        "salesforce",
        "application/json",
        "2020-07-29T12:00:00Z",
    ),
    (
        "betterstack/huggingface-index-downtime.json",
        "betterstack",
        "application/json",
        "2026-07-19T12:00:00Z",
    ),
    (
        "checkly/mistral-unresolved-incidents.json",
        "checkly",
        "application/json",
        "2026-07-27T12:00:00Z",
    ),
];

/// For every adapter: the first poll imports what its parser reads, and polling the same
/// payload again (no validators: the whole body comes back) appends nothing, whether it is
/// parsed again (the periodic full read) or recognised as the same bytes.
#[tokio::test]
async fn every_adapter_imports_its_format_and_a_repeated_payload_writes_nothing() {
    let Some((app, clock)) = app_at(Db::Sqlite, "2026-08-01T16:00:00Z").await else {
        return;
    };
    let source = Source::start().await;
    let mut failures = Vec::new();
    for (i, (file, adapter, content_type, captured)) in EVERY_FORMAT.iter().enumerate() {
        // Polled when it was captured, so its recent history is recent.
        clock.set(ts(captured));
        let path = format!("/v{i}/{}", file.rsplit('/').next().unwrap());
        source.set(
            &path,
            Reply {
                validators: false,
                ..Reply::with(content_type, fixture(file))
            },
        );
        let slug = format!("v{i}");
        app.ok(
            reqwest::Method::POST,
            "/api/v1/vendors",
            Some(
                json!({"name": format!("Vendor {i}"), "slug": slug, "page_url": source.base,
                        "source_url": source.url(&path), "adapter": adapter}),
            ),
            StatusCode::CREATED,
        )
        .await;
        let seq = last_seq(&app).await;
        let first = poll(&app, &slug).await;
        if first["source_state"] != "ok" {
            failures.push(format!("{file}: first poll {first}"));
            continue;
        }
        let kinds = event_kinds_after(&app, seq).await;
        if kinds != ["vendor.imported"] {
            failures.push(format!("{file}: first poll appended {kinds:?}"));
        }
        let (_, components) = app.get(&format!("/api/v1/vendors/{slug}/components")).await;
        let stored = incidents(&app, &slug).await;
        if components.as_array().unwrap().is_empty() && stored.is_empty() {
            failures.push(format!("{file}: nothing imported"));
        }
        let seq = last_seq(&app).await;
        // Ten minutes on, the poller reads and parses everything in full; right after, the
        // same bytes are recognised and not parsed. Neither writes anything.
        clock.advance(chrono::Duration::minutes(11));
        for expect_parsed in [true, false] {
            let again = poll(&app, &slug).await;
            if again["events"] != 0 || again["not_modified"] != json!(!expect_parsed) {
                failures.push(format!("{file}: a repeated payload gave {again}"));
            }
        }
        let kinds = event_kinds_after(&app, seq).await;
        if !kinds.is_empty() {
            failures.push(format!("{file}: a repeated payload appended {kinds:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    app.stop().await;
}

/// Real pairs of captures of one page: each later capture is announced as what changed.
#[tokio::test]
async fn successive_real_captures_are_announced_as_their_changes() {
    let Some((app, _clock)) = app_at(Db::Sqlite, "2026-07-23T18:15:00Z").await else {
        return;
    };
    let source = Source::start().await;
    let pairs: &[(&str, &str, &str, &str, &[&str])] = &[
        (
            "azure",
            "azure/status-feed-westus-early.rss",
            "azure/status-feed-westus-later.rss",
            "application/rss+xml",
            &["vendor.incident_update_posted"],
        ),
        (
            "statuspage",
            "statuspage/github-components-operational.json",
            "statuspage/github-components-partial-outage.json",
            "application/json",
            &["vendor.component_status_changed"],
        ),
    ];
    for (i, (adapter, early, later, content_type, expected)) in pairs.iter().enumerate() {
        let path = format!("/pair{i}");
        source.set(&path, Reply::with(content_type, fixture(early)));
        let slug = format!("pair{i}");
        app.ok(
            reqwest::Method::POST,
            "/api/v1/vendors",
            Some(json!({"name": slug, "slug": slug, "page_url": source.base,
                        "source_url": source.url(&path), "adapter": adapter})),
            StatusCode::CREATED,
        )
        .await;
        poll(&app, &slug).await;
        source.set(&path, Reply::with(content_type, fixture(later)));
        let seq = last_seq(&app).await;
        poll(&app, &slug).await;
        let kinds = event_kinds_after(&app, seq).await;
        for kind in *expected {
            assert!(
                kinds.iter().any(|k| k == kind),
                "{later}: {kind} not in {kinds:?}"
            );
        }
        assert!(
            !kinds.iter().any(|k| k == "vendor.incident_opened"),
            "{later}: the same incident opened again: {kinds:?}"
        );
    }
    app.stop().await;
}
