//! The public pages in a real browser: Debian's Chromium, driven by playwright-core from
//! `tests/browser/status-page.mjs`, against the real `pharos` binary seeded through `/api/v1`.
//!
//! This file owns the server side (start, seed, wait until the snapshot shows the seed, run the
//! script with a deadline); the script owns every browser check (layout at desktop and phone
//! widths, dark mode, no JavaScript, keyboard focus, console errors) and saves screenshots to
//! `target/browser-artifacts/`.
//!
//! Chromium and the Node packages come from `scripts/install-browser-deps`, which `.ci/run`
//! runs before building the tests. Without them the test skips locally but fails under CI
//! (`CI=true`), so a pipeline cannot pass by running no browser.

mod common;

use common::browser;
use common::process::{pharos, run, Server};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// How long the browser checks may take in all before the script is stopped.
const SCRIPT_DEADLINE: Duration = Duration::from_secs(120);
/// How long the snapshot behind the pages may take to show what was seeded.
const SEED_DEADLINE: Duration = Duration::from_secs(15);

const OPEN_INCIDENT: &str = "Elevated API error rates";

async fn create(server: &Server, token: &str, path: &str, body: Value) -> Value {
    let (status, created) = server
        .call(Some(token), Method::POST, path, Some(body.clone()))
        .await;
    assert_eq!(status, StatusCode::CREATED, "POST {path} {body}: {created}");
    created
}

async fn expect_ok(server: &Server, token: &str, method: Method, path: &str, body: Value) {
    let (status, answer) = server
        .call(Some(token), method.clone(), path, Some(body))
        .await;
    assert_eq!(status, StatusCode::OK, "{method} {path}: {answer}");
}

fn id(v: &Value) -> &str {
    v["id"].as_str().expect("an id")
}

fn ago(minutes: i64) -> String {
    (chrono::Utc::now() - chrono::Duration::minutes(minutes)).to_rfc3339()
}

/// Two groups of three components and one ungrouped; a resolved incident with a published
/// postmortem; then an open incident on two components with three updates, the newest in
/// Markdown. The open incident comes last, so once the public API shows all of it, the
/// snapshot holds everything before it too.
async fn seed(server: &Server, token: &str) {
    let mut ids = std::collections::HashMap::new();
    for (group, members) in [
        ("Core platform", ["Public API", "Website", "Authentication"]),
        (
            "Data & delivery",
            ["Webhooks", "Background jobs", "File storage"],
        ),
    ] {
        let g = create(
            server,
            token,
            "/api/v1/component-groups",
            json!({"name": group}),
        )
        .await;
        for name in members {
            let c = create(
                server,
                token,
                "/api/v1/components",
                json!({"name": name, "group_id": id(&g)}),
            )
            .await;
            ids.insert(name, id(&c).to_string());
        }
    }
    create(
        server,
        token,
        "/api/v1/components",
        json!({"name": "Email delivery", "description": "Notification and sign-in emails"}),
    )
    .await;

    let past = create(
        server,
        token,
        "/api/v1/incidents",
        json!({
            "name": "Delayed webhook deliveries",
            "body": "Webhook deliveries are delayed by up to 10 minutes.",
            "components": {&ids["Webhooks"]: "degraded_performance"},
            "started_at": ago(26 * 60),
        }),
    )
    .await;
    let past_id = id(&past);
    expect_ok(
        server,
        token,
        Method::POST,
        &format!("/api/v1/incidents/{past_id}/resolve"),
        json!({"body": "Deliveries are back to normal."}),
    )
    .await;
    expect_ok(
        server,
        token,
        Method::PUT,
        &format!("/api/v1/incidents/{past_id}/postmortem"),
        json!({"body": "## What happened\n\nA queue worker **stalled** after a config change.\n\n- We alert on queue age now\n- Config changes are canaried"}),
    )
    .await;

    let open = create(
        server,
        token,
        "/api/v1/incidents",
        json!({
            "name": OPEN_INCIDENT,
            "body": "We are investigating elevated error rates on the public API.",
            "components": {
                &ids["Public API"]: "partial_outage",
                &ids["Webhooks"]: "degraded_performance",
            },
            "started_at": ago(135),
        }),
    )
    .await;
    let open_id = id(&open);
    for (status, body) in [
        (
            "identified",
            "A faulty cache node returns errors; we are replacing it.",
        ),
        (
            "monitoring",
            "## Current state\n\nA **fix is deployed** and error rates are falling.\n\n- API requests succeed again\n- Webhooks are catching up on the backlog",
        ),
    ] {
        create(
            server,
            token,
            &format!("/api/v1/incidents/{open_id}/updates"),
            json!({"status": status, "body": body}),
        )
        .await;
    }
}

/// Polls `/api/v2/summary.json` until it shows the open incident with all three updates, then
/// returns the incident's short id from `/api/v2/incidents.json`.
async fn wait_for_seed(server: &Server) -> String {
    let deadline = Instant::now() + SEED_DEADLINE;
    let mut poll = tokio::time::interval(Duration::from_millis(50));
    loop {
        poll.tick().await;
        let (status, summary) = server
            .call(None, Method::GET, "/api/v2/summary.json", None)
            .await;
        let shown = summary["incidents"].as_array().is_some_and(|list| {
            list.iter().any(|i| {
                i["name"] == OPEN_INCIDENT
                    && i["incident_updates"].as_array().map(Vec::len) == Some(3)
            })
        });
        if status == StatusCode::OK && shown {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "/api/v2/summary.json did not show the open incident within {SEED_DEADLINE:?} ({status}):\n{summary:#}"
        );
    }
    let (status, incidents) = server
        .call(None, Method::GET, "/api/v2/incidents.json", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{incidents}");
    incidents["incidents"]
        .as_array()
        .and_then(|list| list.iter().find(|i| i["name"] == OPEN_INCIDENT))
        .and_then(|i| i["id"].as_str())
        .unwrap_or_else(|| panic!("no {OPEN_INCIDENT:?} in /api/v2/incidents.json: {incidents:#}"))
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_page_works_in_a_real_browser() {
    if !browser::available() {
        return;
    }

    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(pharos(dir.path()).args(["serve", "--listen", "127.0.0.1:0"]));
    let token = run(pharos(dir.path()).args(["token", "create", "--name", "browser"]));
    token.assert_success("pharos token create");
    let token = token.stdout.trim().to_string();
    seed(&server, &token).await;
    let short_id = wait_for_seed(&server).await;

    let artifacts = browser::fresh_artifacts_dir("browser-artifacts");
    browser::run_checks(
        "status-page.mjs",
        &[
            server.base.as_ref(),
            artifacts.as_os_str(),
            short_id.as_ref(),
        ],
        &dir.path().join("tmp"),
        &artifacts,
        &server,
        SCRIPT_DEADLINE,
    )
    .await;
    server.terminate();
}
