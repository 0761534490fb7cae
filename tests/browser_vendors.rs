//! The vendor pages and an upstream dependency in a real browser: Debian's Chromium, driven by
//! playwright-core from `tests/browser/vendor-pages.mjs`, against the real `pharos` binary.
//!
//! A local [`Source`] plays GitHub's status page, serving the real Statuspage fixture of the
//! 2026-07-24 Pull Requests outage (an open incident, so the first poll imports it although it
//! is older than the 90 days of history the poller keeps). This file owns the server side:
//! start the source and `pharos serve`, create a component and the vendor through `/api/v1`,
//! poll now, make "Deployments" depend on GitHub's "Pull Requests" holding `partial_outage`,
//! wait until `/api/v2/summary.json` shows that, and run the script with a deadline. The
//! script owns every browser check (the upstream line on `/`, `/vendors`, the vendor page, the
//! incident page at desktop and phone widths, without JavaScript and by keyboard) and saves
//! screenshots to `target/browser-artifacts-vendors/`.
//!
//! Like `tests/browser.rs`, it skips locally without Chromium and the Node packages and fails
//! under CI (`CI=true`); `scripts/install-browser-deps` installs them.

mod common;

use common::browser;
use common::process::{pharos, run, Server};
use common::source::{Reply, Source};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// How long the browser checks may take in all before the script is stopped.
const SCRIPT_DEADLINE: Duration = Duration::from_secs(120);
/// How long the snapshot behind `/` may take to show the held status and the upstream line.
const DEPENDENCY_DEADLINE: Duration = Duration::from_secs(15);

const FIXTURE: &str = "statuspage/github-summary-2026-07-24-critical.json";
const COMPONENT: &str = "Deployments";
const VENDOR_COMPONENT: &str = "Pull Requests";

fn fixture_path() -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/fixtures")
        .join(FIXTURE)
}

async fn expect(server: &Server, token: &str, path: &str, body: Value, want: StatusCode) -> Value {
    let (status, answer) = server
        .call(Some(token), Method::POST, path, Some(body.clone()))
        .await;
    assert_eq!(status, want, "POST {path} {body}: {answer}");
    answer
}

/// Creates "Deployments" and the vendor GitHub, polls GitHub now (its first poll: a silent
/// import), and makes "Deployments" depend on "Pull Requests", holding a partial outage.
/// Returns the vendor's slug.
async fn seed(server: &Server, token: &str, source: &Source) -> String {
    let component = expect(
        server,
        token,
        "/api/v1/components",
        json!({"name": COMPONENT}),
        StatusCode::CREATED,
    )
    .await;
    let vendor = expect(
        server,
        token,
        "/api/v1/vendors",
        json!({"name": "GitHub", "adapter": "statuspage", "page_url": source.base,
               "source_url": source.url("/api/v2/summary.json")}),
        StatusCode::CREATED,
    )
    .await;
    let slug = vendor["slug"].as_str().expect("a slug").to_string();
    let polled = expect(
        server,
        token,
        &format!("/api/v1/vendors/{slug}/poll"),
        json!({}),
        StatusCode::OK,
    )
    .await;
    assert_eq!(polled["source_state"], "ok", "the poll: {polled}");
    expect(
        server,
        token,
        &format!("/api/v1/vendors/{slug}/dependencies"),
        json!({"component_id": component["id"], "vendor_component": VENDOR_COMPONENT,
               "set_status": "partial_outage"}),
        StatusCode::CREATED,
    )
    .await;
    slug
}

/// Polls `/api/v2/summary.json` until "Deployments" holds `partial_outage` with an upstream
/// entry for "Pull Requests".
async fn wait_for_dependency(server: &Server) {
    let deadline = Instant::now() + DEPENDENCY_DEADLINE;
    let mut poll = tokio::time::interval(Duration::from_millis(50));
    loop {
        poll.tick().await;
        let (status, summary) = server
            .call(None, Method::GET, "/api/v2/summary.json", None)
            .await;
        let component = summary["components"]
            .as_array()
            .and_then(|list| list.iter().find(|c| c["name"] == COMPONENT));
        let shown = component.is_some_and(|c| {
            c["status"] == "partial_outage"
                && c["upstream"].as_array().is_some_and(|u| {
                    u.iter().any(|u| {
                        u["component"] == VENDOR_COMPONENT && u["status"] == "major_outage"
                    })
                })
        });
        if status == StatusCode::OK && shown {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "/api/v2/summary.json did not show {COMPONENT} held by {VENDOR_COMPONENT} within {DEPENDENCY_DEADLINE:?} ({status}):\n{summary:#}\n--- pharos stderr ---\n{}",
            server.stderr_so_far()
        );
    }
}

/// The id in Pharos of the vendor's one incident.
async fn incident_id(server: &Server, token: &str, slug: &str) -> String {
    let (status, incidents) = server
        .call(
            Some(token),
            Method::GET,
            &format!("/api/v1/vendors/{slug}/incidents"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{incidents}");
    let list = incidents.as_array().expect("a list of incidents");
    assert_eq!(list.len(), 1, "the fixture has one incident: {incidents:#}");
    list[0]["id"].as_str().expect("an id").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_vendor_pages_and_an_upstream_dependency_work_in_a_real_browser() {
    if !browser::available() {
        return;
    }

    let fixture = fixture_path();
    let summary =
        std::fs::read(&fixture).unwrap_or_else(|e| panic!("read {}: {e}", fixture.display()));
    let source = Source::start().await;
    source.set("/api/v2/summary.json", Reply::json(summary));

    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(pharos(dir.path()).args(["serve", "--listen", "127.0.0.1:0"]));
    let token = run(pharos(dir.path()).args(["token", "create", "--name", "browser"]));
    token.assert_success("pharos token create");
    let token = token.stdout.trim().to_string();
    let slug = seed(&server, &token, &source).await;
    wait_for_dependency(&server).await;
    let incident = incident_id(&server, &token, &slug).await;

    let artifacts = browser::fresh_artifacts_dir("browser-artifacts-vendors");
    browser::run_checks(
        "vendor-pages.mjs",
        &[
            server.base.as_ref(),
            artifacts.as_os_str(),
            slug.as_ref(),
            incident.as_ref(),
            fixture.as_os_str(),
        ],
        &dir.path().join("tmp"),
        &artifacts,
        &server,
        SCRIPT_DEADLINE,
    )
    .await;
    server.terminate();
}
