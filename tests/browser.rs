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

use common::process::{pharos, run, Server};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const CHROMIUM: &str = "/usr/bin/chromium";
/// How long the browser checks may take in all before the script is stopped.
const SCRIPT_DEADLINE: Duration = Duration::from_secs(120);
/// How long the snapshot behind the pages may take to show what was seeded.
const SEED_DEADLINE: Duration = Duration::from_secs(15);

const OPEN_INCIDENT: &str = "Elevated API error rates";

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

/// `target/browser-artifacts`, next to Cargo's `target/tmp` (so a custom target dir is kept).
fn artifacts_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the target dir")
        .join("browser-artifacts")
}

/// What is missing to run the browser, if anything.
fn missing_dependencies() -> Vec<String> {
    let mut missing = Vec::new();
    if !Path::new(CHROMIUM).exists() {
        missing.push(format!("{CHROMIUM} is not installed"));
    }
    if !browser_dir().join("node_modules/playwright-core").is_dir() {
        missing.push("tests/browser/node_modules has no playwright-core".into());
    }
    let node = Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !node.is_ok_and(|s| s.success()) {
        missing.push("node is not on PATH".into());
    }
    missing
}

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

/// Reads a child's output stream to its end on a thread, so the child never blocks on a pipe.
fn collect(mut stream: impl Read + Send + 'static) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stream.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Runs `cmd` to its end; past `deadline` sends SIGTERM (playwright then closes the browser),
/// and SIGKILL 10 s later. Returns the exit status (`None` on a timeout), stdout and stderr.
async fn run_with_deadline(
    cmd: &mut Command,
    deadline: Duration,
) -> (Option<ExitStatus>, String, String) {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let stdout = collect(child.stdout.take().expect("piped stdout"));
    let stderr = collect(child.stderr.take().expect("piped stderr"));
    let pid = child.id();
    let (tx, rx) = tokio::sync::oneshot::channel();
    // The waiting thread owns the child, so its pid is not reused before the signals below.
    std::thread::spawn(move || {
        let _ = tx.send(child.wait().expect("wait for node"));
    });
    let mut rx = std::pin::pin!(rx);
    let status = match tokio::time::timeout(deadline, &mut rx).await {
        Ok(status) => Some(status.expect("the waiting thread")),
        Err(_) => {
            for (signal, grace) in [("-TERM", Duration::from_secs(10)), ("-KILL", deadline)] {
                let _ = Command::new("kill")
                    .args([signal, &pid.to_string()])
                    .status();
                if tokio::time::timeout(grace, &mut rx).await.is_ok() {
                    break;
                }
            }
            None
        }
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    (status, stdout, stderr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_page_works_in_a_real_browser() {
    let missing = missing_dependencies();
    if !missing.is_empty() {
        let why = missing.join("; ");
        if std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true")) {
            panic!("browser test dependencies missing under CI ({why}): run scripts/install-browser-deps");
        }
        eprintln!(
            "skipping: {why} (run scripts/install-browser-deps to include the browser tests)"
        );
        return;
    }

    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(pharos(dir.path()).args(["serve", "--listen", "127.0.0.1:0"]));
    let token = run(pharos(dir.path()).args(["token", "create", "--name", "browser"]));
    token.assert_success("pharos token create");
    let token = token.stdout.trim().to_string();
    seed(&server, &token).await;
    let short_id = wait_for_seed(&server).await;

    let artifacts = artifacts_dir();
    // Screenshots of an earlier run must not pass for this one's.
    let _ = std::fs::remove_dir_all(&artifacts);
    std::fs::create_dir_all(&artifacts).expect("create the artifacts dir");
    // Chromium's temporary profile goes under TMPDIR: here, inside the test's own folder, so a
    // killed run leaves nothing behind.
    let tmp = dir.path().join("tmp");
    std::fs::create_dir_all(&tmp).expect("create TMPDIR");

    let started = Instant::now();
    let script = browser_dir().join("status-page.mjs");
    let (status, stdout, stderr) = run_with_deadline(
        Command::new("node")
            .arg(&script)
            .arg(&server.base)
            .arg(&artifacts)
            .arg(&short_id)
            .current_dir(browser_dir())
            .env("TMPDIR", &tmp)
            .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1"),
        SCRIPT_DEADLINE,
    )
    .await;
    let output = format!(
        "--- node stdout ---\n{stdout}--- node stderr ---\n{stderr}--- pharos stderr ---\n{}",
        server.stderr_so_far()
    );
    match status {
        None => panic!("the browser checks did not finish within {SCRIPT_DEADLINE:?}\n{output}"),
        Some(status) => assert!(
            status.success(),
            "the browser checks failed ({status})\n{output}"
        ),
    }
    println!(
        "{stdout}browser checks took {:.1} s; screenshots in {}",
        started.elapsed().as_secs_f64(),
        artifacts.display()
    );
    server.terminate();
}
