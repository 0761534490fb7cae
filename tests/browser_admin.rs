//! The responder's whole flow in a real browser: Debian's Chromium, driven by playwright-core
//! from `tests/browser/admin.mjs`, against the real `pharos` binary on a fresh SQLite data
//! folder with two declared components.
//!
//! This file owns the server side: write the configuration, start `pharos serve`, read the
//! one-time set-up link it logs at first start (`no admin account yet: open
//! .../admin/setup?token=...`) and run the script with a deadline. The script owns every
//! browser check: the first admin's set-up, signing out and in, opening an incident on both
//! components, two updates posted with the status tiles at 360 px, resolving, a postmortem
//! written and published, each change seen on the public page, the operator's screens at
//! 360 px (no horizontal scrolling, one h1 and one main landmark each), no console errors or
//! CSP violations, a label on every form control, and `/admin` sending a signed-out browser
//! to the sign-in form. Screenshots go to `target/browser-artifacts-admin/`.
//!
//! Like `tests/browser.rs`, it skips locally without Chromium and the Node packages and fails
//! under CI (`CI=true`); `scripts/install-browser-deps` installs them.

mod common;

use common::browser;
use common::process::{pharos, Server};
use std::time::{Duration, Instant};

/// How long the browser checks may take in all before the script is stopped.
const SCRIPT_DEADLINE: Duration = Duration::from_secs(150);
/// How long the server may take to log the set-up link after it listens.
const LINK_DEADLINE: Duration = Duration::from_secs(15);

const CONFIG: &str = r#"
[page]
name = "Acme status"

[[component_groups]]
key = "core"
name = "Core"

[[components]]
key = "api"
name = "API"
group = "core"

[[components]]
key = "web"
name = "Website"
group = "core"

# Paused: its page shows, and it probes nothing.
[[monitors]]
key = "payments"
name = "Payments gateway"
components = ["api"]
tags = ["prod", "payments"]
paused = true
[monitors.check]
kind = "tcp"
host = "127.0.0.1"
port = 9
"#;

/// The path and query of the set-up link the server logged, waiting for it with a deadline.
async fn setup_path(server: &Server) -> String {
    let deadline = Instant::now() + LINK_DEADLINE;
    let mut poll = tokio::time::interval(Duration::from_millis(50));
    loop {
        poll.tick().await;
        let log = server.stderr_so_far();
        if let Some(at) = log.find("/admin/setup?token=") {
            let token: String = log[at + "/admin/setup?token=".len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect();
            assert!(
                log.contains("no admin account yet: open"),
                "the link is announced as the way to create the first admin:\n{log}"
            );
            return format!("/admin/setup?token={token}");
        }
        assert!(
            Instant::now() < deadline,
            "pharos did not log the set-up link within {LINK_DEADLINE:?}:\n{log}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_responder_runs_an_incident_from_set_up_to_postmortem_in_a_real_browser() {
    if !browser::available() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("pharos.toml");
    std::fs::write(&config, CONFIG).expect("write the configuration");
    let server = Server::start(pharos(dir.path()).args([
        "serve",
        "--config",
        config.to_str().expect("a UTF-8 path"),
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        dir.path().join("data").to_str().expect("a UTF-8 path"),
    ]));
    let setup = setup_path(&server).await;

    let artifacts = browser::fresh_artifacts_dir("browser-artifacts-admin");
    browser::run_checks(
        "admin.mjs",
        &[server.base.as_ref(), artifacts.as_os_str(), setup.as_ref()],
        &dir.path().join("tmp"),
        &artifacts,
        &server,
        SCRIPT_DEADLINE,
    )
    .await;
    server.terminate();
}
