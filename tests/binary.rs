//! The `pharos` binary as an operator meets it: started in an empty folder with no flags but
//! `--listen 127.0.0.1:0`, stopped with SIGTERM and started again over the same data; tokens
//! made with `pharos token create` and revoked with `pharos token revoke`; `--help`,
//! `--version`, `migrate` and `config check`; components and monitors declared in a
//! configuration file (a monitor checking a local target); which of flag, environment and file
//! wins; and clear failures for bad database URLs.
//!
//! Every test runs the real executable (see `common::process`) and talks to it over HTTP, so
//! what is checked is what a user sees: exit codes, stdout, stderr and files on disk. The
//! PostgreSQL test needs `PHAROS_TEST_POSTGRES_URL` (`scripts/with-postgres`); without it it
//! skips locally and fails under CI.

mod common;

use common::process::{pharos, run, Output, Server};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Asserts that a stopped server exited 0 after SIGTERM and said so.
fn assert_clean_stop(out: &Output) {
    assert_eq!(out.code(), Some(0), "SIGTERM should exit 0: {out}");
    assert!(
        out.stderr.contains("pharos stopped"),
        "no `pharos stopped` in the log: {out}"
    );
    assert_no_panic(out);
}

fn assert_no_panic(out: &Output) {
    assert!(
        !out.stderr.contains("panicked") && !out.stdout.contains("panicked"),
        "pharos panicked: {out}"
    );
}

/// `pharos token create` with the extra arguments; returns the printed token.
fn create_token(dir: &Path, args: &[&str]) -> String {
    let out = run(pharos(dir).args(["token", "create"]).args(args));
    out.assert_success("pharos token create");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "stdout must be exactly the token: {out}");
    let token = lines[0].to_string();
    assert!(token.starts_with("pharos_"), "{out}");
    assert!(
        !out.stderr.contains(&token),
        "the token must only go to stdout: {out}"
    );
    token
}

/// The secret part of a token `pharos_<32 hex id>_<secret>` (the secret may contain `_`).
fn token_secret(token: &str) -> &str {
    let rest = token.strip_prefix("pharos_").expect("token prefix");
    assert_eq!(rest.as_bytes()[32], b'_', "{token}");
    &rest[33..]
}

fn contains_bytes(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Components listed by the management API.
async fn components(server: &Server, token: &str) -> Vec<Value> {
    let (status, page) = server
        .call(Some(token), Method::GET, "/api/v1/components", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["data"].as_array().expect("data").clone()
}

/// `/healthz` answers exactly `{"status":"ok"}` and `/readyz` answers 200.
async fn assert_healthy(server: &Server) {
    let resp = server
        .client
        .get(server.url("/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.expect("healthz JSON");
    assert_eq!(body, json!({"status": "ok"}));
    let (status, body) = server.call(None, Method::GET, "/readyz", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_in_an_empty_folder_keeps_its_data_across_restarts() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(pharos(dir.path()).args(["serve", "--listen", "127.0.0.1:0"]));
    // The log reports the port the kernel chose, and that is where it answers.
    assert_ne!(server.addr.port(), 0);
    assert!(server.addr.ip().is_loopback(), "{}", server.addr);
    assert_healthy(&server).await;
    assert!(
        dir.path().join("pharos-data").join("pharos.db").is_file(),
        "./pharos-data/pharos.db is created in the working directory"
    );

    // A token made by the CLI in the same folder, while the server runs, works at once.
    let token = create_token(dir.path(), &["--name", "ci"]);
    let (status, created) = server
        .call(
            Some(&token),
            Method::POST,
            "/api/v1/components",
            Some(json!({"name": "API"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().expect("id").to_string();
    assert_clean_stop(&server.terminate());

    let server = Server::start(pharos(dir.path()).args(["serve", "--listen", "127.0.0.1:0"]));
    assert_healthy(&server).await;
    let listed = components(&server, &token).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["id"], id.as_str());
    assert_eq!(listed[0]["name"], "API");
    assert_clean_stop(&server.terminate());
}

/// The value of the sample `name{labels}` (labels in the exposition's order) in a Prometheus
/// text page, if present.
fn sample(page: &str, name_and_labels: &str) -> Option<f64> {
    page.lines()
        .find_map(|l| l.strip_prefix(name_and_labels)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_by_route_template_and_report_the_heap() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(pharos(dir.path()).args(["serve", "--listen", "127.0.0.1:0"]));
    assert_healthy(&server).await;
    let client = reqwest::Client::new();
    for path in [
        "/api/v2/status.json",
        "/api/v2/status.json",
        "/incidents/abc123",
        "/no/such/path/4711",
    ] {
        client.get(server.url(path)).send().await.expect("request");
    }
    let page = client
        .get(server.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("body");
    let count = |route: &str, status: &str| {
        let key = page
            .lines()
            .find(|l| {
                l.starts_with("pharos_http_requests_total{")
                    && l.contains(&format!("route=\"{route}\""))
                    && l.contains("method=\"GET\"")
                    && l.contains(&format!("status=\"{status}\""))
            })
            .unwrap_or_else(|| panic!("no count for {route} {status}: {page}"));
        key.rsplit(' ').next().unwrap().parse::<f64>().unwrap()
    };
    assert_eq!(count("/api/v2/status.json", "200"), 2.0);
    // Route templates and `unmatched`, never raw paths: the label set stays bounded.
    assert_eq!(count("/incidents/{id}", "404"), 1.0);
    assert_eq!(count("unmatched", "404"), 1.0);
    assert!(!page.contains("4711") && !page.contains("abc123"), "{page}");
    if cfg!(all(target_os = "linux", target_env = "gnu")) {
        let heap = sample(&page, "pharos_memory_heap_in_use_bytes").expect("heap in use");
        assert!(
            heap > 1_000_000.0,
            "a running server uses over 1 MB of heap: {heap}"
        );
        assert!(
            sample(&page, "pharos_memory_heap_free_bytes").is_some(),
            "{page}"
        );
    }
    assert_clean_stop(&server.terminate());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_from_the_cli_authenticate_until_revoked_and_are_stored_hashed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let data = data.to_str().expect("utf-8 path");
    let ci = create_token(dir.path(), &["--name", "ci", "--data-dir", data]);
    // Global flags may also come before the subcommand.
    let ro = {
        let out = run(pharos(dir.path()).args([
            "--data-dir",
            data,
            "token",
            "create",
            "--name",
            "ro",
            "--scope",
            "read",
        ]));
        out.assert_success("token create --scope read");
        out.stdout.trim().to_string()
    };

    let server = Server::start(pharos(dir.path()).args([
        "serve",
        "--data-dir",
        data,
        "--listen",
        "127.0.0.1:0",
    ]));
    components(&server, &ci).await;
    let (status, body) = server
        .call(
            Some(&ci),
            Method::POST,
            "/api/v1/components",
            Some(json!({"name": "API"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // The list shows names and states, never secrets.
    let list = run(pharos(dir.path()).args(["token", "list", "--data-dir", data]));
    list.assert_success("token list");
    let ci_row = list
        .stdout
        .lines()
        .find(|l| l.split_whitespace().next() == Some("ci"))
        .unwrap_or_else(|| panic!("no `ci` row: {list}"));
    assert!(
        ci_row.contains("write") && ci_row.contains("active"),
        "{list}"
    );
    assert!(!list.stdout.contains(token_secret(&ci)), "{list}");
    let list = run(pharos(dir.path()).args(["token", "list", "--json", "--data-dir", data]));
    list.assert_success("token list --json");
    let tokens: Vec<Value> = serde_json::from_str(&list.stdout).expect("token list --json");
    let ci_json = tokens
        .iter()
        .find(|t| t["name"] == "ci")
        .unwrap_or_else(|| panic!("no ci: {list}"));
    assert_eq!(ci_json["scope"], "write");
    assert_eq!(ci_json["revoked_at"], Value::Null);
    assert!(ci_json["last_used_at"].is_string(), "used above: {ci_json}");
    assert!(tokens
        .iter()
        .any(|t| t["name"] == "ro" && t["scope"] == "read"));
    assert!(!list.stdout.contains(token_secret(&ci)), "{list}");

    // A wrong secret for a real token id, and a token of the wrong shape, are refused alike.
    let mut wrong = ci.clone();
    let last = wrong.pop().expect("non-empty");
    wrong.push(if last == 'A' { 'B' } else { 'A' });
    for bad in [wrong.as_str(), "not-a-token"] {
        let (status, body) = server
            .call(Some(bad), Method::GET, "/api/v1/components", None)
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{bad}: {body}");
        assert!(body["error"]["code"].is_string(), "{body}");
    }

    // A read token reads but does not write.
    components(&server, &ro).await;
    let (status, body) = server
        .call(
            Some(&ro),
            Method::POST,
            "/api/v1/components",
            Some(json!({"name": "Web"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    // Revoking from the CLI takes effect on the running server.
    let out = run(pharos(dir.path()).args(["token", "revoke", "ci", "--data-dir", data]));
    out.assert_success("token revoke");
    let (status, body) = server
        .call(Some(&ci), Method::GET, "/api/v1/components", None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let list = run(pharos(dir.path()).args(["token", "list", "--data-dir", data]));
    let ci_row = list
        .stdout
        .lines()
        .find(|l| l.split_whitespace().next() == Some("ci"))
        .unwrap_or_else(|| panic!("no `ci` row: {list}"));
    assert!(ci_row.contains("revoked"), "{list}");

    // Neither token nor its secret is anywhere in the database files, running or stopped.
    let check_files = |when: &str| {
        for file in ["pharos.db", "pharos.db-wal", "pharos.db-shm"] {
            let path = Path::new(data).join(file);
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            for token in [&ci, &ro] {
                for needle in [token.as_str(), token_secret(token)] {
                    assert!(
                        !contains_bytes(&bytes, needle.as_bytes()),
                        "{} holds a token secret in plain text ({when})",
                        path.display()
                    );
                }
            }
        }
    };
    check_files("while serving");
    assert_clean_stop(&server.terminate());
    check_files("after a stop");
    assert!(Path::new(data).join("pharos.db").is_file());
}

#[test]
fn version_and_every_help_explain_themselves() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = run(pharos(dir.path()).arg("--version"));
    out.assert_success("--version");
    assert_eq!(
        out.stdout.trim(),
        format!("pharos {}", env!("CARGO_PKG_VERSION"))
    );

    // Each help starts with what the command does, then its usage, and names what it takes.
    let cases: &[(&[&str], &[&str])] = &[
        (
            &[],
            &[
                "serve",
                "migrate",
                "token",
                "config",
                "--config",
                "--data-dir",
                "--database-url",
            ],
        ),
        (&["serve"], &["--listen", "--config", "--data-dir"]),
        (&["migrate"], &["migration"]),
        (&["token"], &["create", "list", "revoke"]),
        (
            &["token", "create"],
            &["--name", "--scope", "read", "write", "admin"],
        ),
        (&["token", "list"], &["--json"]),
        (&["token", "revoke"], &["<NAME>"]),
        (&["config"], &["check"]),
        (&["config", "check"], &["[FILE]"]),
    ];
    for (args, needles) in cases {
        let out = run(pharos(dir.path()).args(*args).arg("--help"));
        let what = format!("pharos {} --help", args.join(" "));
        out.assert_success(&what);
        assert_no_panic(&out);
        let first = out.stdout.lines().next().unwrap_or_default();
        assert!(
            !first.trim().is_empty() && !first.starts_with("Usage"),
            "{what} should open with a description: {out}"
        );
        assert!(out.stdout.contains("Usage: pharos"), "{what}: {out}");
        for needle in *needles {
            assert!(
                out.stdout.contains(needle),
                "{what} lacks {needle:?}: {out}"
            );
        }
    }
    assert!(
        !dir.path().join("pharos-data").exists(),
        "--help must not create data"
    );
}

#[test]
fn config_check_accepts_a_valid_file_and_names_every_problem_in_a_bad_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    let good = dir.path().join("good.toml");
    std::fs::write(
        &good,
        r#"
listen = "127.0.0.1:9999"
log_format = "json"

[page]
name = "Acme status"

[[component_groups]]
key = "core"
name = "Core"

[[components]]
key = "api"
name = "API"
group = "core"

[[monitors]]
key = "api-health"
name = "API health"
components = ["api"]
[monitors.check]
kind = "http"
url = "https://api.example.com/health"
"#,
    )
    .expect("write config");
    let out = run(pharos(dir.path()).args(["config", "check"]).arg(&good));
    out.assert_success("config check on a valid file");
    assert!(out.stdout.contains("valid"), "{out}");
    assert!(
        out.stdout.contains("1 monitors, 0 vendors declared"),
        "{out}"
    );

    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        r#"
listne = "127.0.0.1:9999"
listen = "somewhere"
log_format = "xml"

[[monitors]]
key = "api-health"
name = "API health"
components = ["nope"]
[monitors.check]
kind = "http"
url = "ftp://api.example.com/health"
"#,
    )
    .expect("write config");
    let out = run(pharos(dir.path()).args(["config", "check"]).arg(&bad));
    out.assert_failure("config check on a bad file");
    assert_no_panic(&out);
    for needle in [
        "listne",
        "listen",
        "somewhere",
        "log_format",
        "xml",
        "monitors[0].check.url",
        "monitors[0].components[0]: `nope`",
    ] {
        assert!(
            out.stderr.contains(needle),
            "stderr lacks {needle:?}: {out}"
        );
    }
    assert!(
        !dir.path().join("pharos-data").exists(),
        "config check must not create data"
    );
}

/// The schema version `pharos migrate` reports.
fn migrate(dir: &Path, data: &str) -> i64 {
    let out = run(pharos(dir).args(["migrate", "--data-dir", data]));
    out.assert_success("pharos migrate");
    out.stdout
        .split("schema version")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or_else(|| panic!("no schema version printed: {out}"))
}

#[test]
fn migrate_prepares_a_fresh_database_and_is_safe_to_repeat() {
    let dir = tempfile::tempdir().expect("temp dir");
    let first = migrate(dir.path(), "data");
    assert!(first >= 1, "{first}");
    assert!(dir.path().join("data").join("pharos.db").is_file());
    assert_eq!(migrate(dir.path(), "data"), first);
}

#[test]
fn vendors_are_followed_from_the_catalog_and_listed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let out = run(pharos(d).args(["vendor", "catalog", "github"]));
    out.assert_success("pharos vendor catalog github");
    assert!(out.stdout.contains("www.githubstatus.com"), "{out}");

    let out = run(pharos(d).args(["vendor", "add", "github", "--data-dir", "data"]));
    out.assert_success("pharos vendor add github");
    assert!(out.stdout.contains("following GitHub as `github`"), "{out}");
    let out = run(pharos(d).args(["vendor", "add", "github", "--data-dir", "data"]));
    out.assert_failure("adding github twice");
    assert!(out.stderr.contains("github"), "{out}");

    let out = run(pharos(d).args(["vendor", "add", "githib", "--data-dir", "data"]));
    out.assert_failure("a slug not in the catalog");
    assert!(out.stderr.contains("not in the catalog"), "{out}");

    let out = run(pharos(d).args([
        "vendor",
        "add",
        "https://status.example.test",
        "--adapter",
        "statuspage",
        "--name",
        "Example",
        "--interval",
        "10",
        "--data-dir",
        "data",
    ]));
    out.assert_failure("a poll interval below 30 s");
    assert!(out.stderr.contains("poll_interval_seconds"), "{out}");

    let out = run(pharos(d).args(["vendor", "list", "--json", "--data-dir", "data"]));
    out.assert_success("pharos vendor list");
    let listed: Value = serde_json::from_str(&out.stdout).expect("JSON");
    let listed = listed.as_array().expect("a list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["slug"], "github");
    assert_eq!(listed[0]["adapter"], "statuspage");
    assert_eq!(listed[0]["source_state"], "pending");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn components_declared_in_the_config_file_are_served_and_protected() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("pharos.toml");
    std::fs::write(
        &config,
        r#"
data_dir = "state"

[[component_groups]]
key = "core"
name = "Core services"

[[components]]
key = "api"
name = "API"
group = "core"

[[components]]
key = "web"
name = "Website"
group = "core"
"#,
    )
    .expect("write config");
    let config = config.to_str().expect("utf-8 path");
    let token = create_token(dir.path(), &["--name", "ops", "--config", config]);
    let server = Server::start(pharos(dir.path()).args([
        "serve",
        "--config",
        config,
        "--listen",
        "127.0.0.1:0",
    ]));
    assert!(dir.path().join("state").join("pharos.db").is_file());

    let (status, groups) = server
        .call(Some(&token), Method::GET, "/api/v1/component-groups", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{groups}");
    let groups = groups["data"].as_array().expect("data");
    assert_eq!(groups.len(), 1, "{groups:?}");
    assert_eq!(groups[0]["name"], "Core services");
    assert_eq!(groups[0]["managed_by"], "config");

    let listed = components(&server, &token).await;
    let names: Vec<&str> = listed.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["API", "Website"]);
    for c in &listed {
        assert_eq!(c["managed_by"], "config", "{c}");
        assert_eq!(c["group_id"], groups[0]["id"], "{c}");
    }

    let api_id = listed[0]["id"].as_str().unwrap();
    let (status, body) = server
        .call(
            Some(&token),
            Method::DELETE,
            &format!("/api/v1/components/{api_id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["code"], "managed_by_config");
    assert_eq!(components(&server, &token).await.len(), 2);
    assert_clean_stop(&server.terminate());
}

/// A local HTTP target for declared monitors: answers 200 on `/health` and counts requests.
async fn health_target() -> (std::net::SocketAddr, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    let app = axum::Router::new().route(
        "/health",
        axum::routing::get(move || {
            let counted = counted.clone();
            async move {
                counted.fetch_add(1, Ordering::SeqCst);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the target");
    let addr = listener.local_addr().expect("target address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (addr, hits)
}

/// Monitors listed by the management API.
async fn monitors(server: &Server, token: &str) -> Vec<Value> {
    let (status, page) = server
        .call(Some(token), Method::GET, "/api/v1/monitors", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["data"].as_array().expect("data").clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monitors_declared_in_the_config_file_run_are_protected_and_released() {
    let (target, hits) = health_target().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("pharos.toml");
    let base = r#"
data_dir = "state"

[[components]]
key = "api"
name = "API"
"#;
    std::fs::write(
        &config,
        format!(
            r#"{base}
[[monitors]]
key = "api-health"
name = "API health"
interval_seconds = 10
components = [{{ component = "api", down_status = "partial_outage" }}]
tags = ["prod"]
[monitors.check]
kind = "http"
url = "http://{target}/health"
[monitors.policy]
down_after = 2
"#
        ),
    )
    .expect("write config");
    let config = config.to_str().expect("utf-8 path");
    let token = create_token(dir.path(), &["--name", "ops", "--config", config]);
    let serve = ["serve", "--config", config, "--listen", "127.0.0.1:0"];
    let server = Server::start(pharos(dir.path()).args(serve));

    let listed = monitors(&server, &token).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    let monitor = &listed[0];
    assert_eq!(monitor["name"], "API health");
    assert_eq!(monitor["managed_by"], "config");
    assert_eq!(monitor["config_key"], "api-health");
    assert_eq!(monitor["interval_seconds"], 10);
    assert_eq!(monitor["timeout_ms"], 5000, "half the interval by default");
    assert_eq!(monitor["policy"]["down_after"], 2);
    assert_eq!(monitor["tags"], json!(["prod"]));
    let api = components(&server, &token).await;
    assert_eq!(
        monitor["components"],
        json!([{ "component_id": api[0]["id"], "down_status": "partial_outage" }]),
        "the component key resolved to the declared component's id"
    );
    let id = monitor["id"].as_str().expect("id").to_string();

    // It runs: a result arrives from the target (within one interval and one batch).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(45);
    loop {
        let (status, checks) = server
            .call(
                Some(&token),
                Method::GET,
                &format!("/api/v1/monitors/{id}/checks"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{checks}");
        if checks.as_array().is_some_and(|c| !c.is_empty()) {
            assert_eq!(checks[0]["outcome"], "up", "{checks}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no check result within 45 s\n--- stderr ---\n{}",
            server.stderr_so_far()
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(hits.load(Ordering::SeqCst) >= 1);

    // The file is the source of truth: no deleting, no editing, but pausing is allowed.
    let path = format!("/api/v1/monitors/{id}");
    let (status, body) = server.call(Some(&token), Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["code"], "managed_by_config");
    let (status, body) = server
        .call(
            Some(&token),
            Method::PATCH,
            &path,
            Some(json!({ "interval_seconds": 60 })),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["code"], "managed_by_config");
    let (status, body) = server
        .call(
            Some(&token),
            Method::PATCH,
            &path,
            Some(json!({ "paused": true })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["paused"], true);
    assert_clean_stop(&server.terminate());

    // Removed from the file: released to the API at the next start, not deleted.
    std::fs::write(dir.path().join("pharos.toml"), base).expect("rewrite config");
    let server = Server::start(pharos(dir.path()).args(serve));
    let listed = monitors(&server, &token).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["id"], id.as_str());
    assert_eq!(listed[0]["managed_by"], "api");
    assert_eq!(listed[0]["config_key"], Value::Null);
    assert_eq!(listed[0]["paused"], true, "the operator's pause is kept");
    let (status, body) = server.call(Some(&token), Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert!(monitors(&server, &token).await.is_empty());
    assert_clean_stop(&server.terminate());
}

#[test]
fn a_flag_beats_the_environment_which_beats_the_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("pharos.toml");
    std::fs::write(&config, "data_dir = \"from-file\"\n").expect("write config");
    let db = |name: &str| dir.path().join(name).join("pharos.db");
    let migrate = |cmd: &mut std::process::Command| {
        run(cmd.arg("migrate").arg("--config").arg(&config)).assert_success("migrate");
    };

    migrate(
        pharos(dir.path())
            .env("PHAROS_DATA_DIR", "from-env")
            .args(["--data-dir", "from-flag"]),
    );
    assert!(db("from-flag").is_file());
    assert!(!db("from-env").exists() && !db("from-file").exists());

    migrate(pharos(dir.path()).env("PHAROS_DATA_DIR", "from-env"));
    assert!(db("from-env").is_file());
    assert!(!db("from-file").exists());

    migrate(&mut pharos(dir.path()));
    assert!(db("from-file").is_file());

    // The same order for the listen address: each level's bad value is ignored when a higher
    // one is given, and reported when it is the one used.
    std::fs::write(&config, "listen = \"file-address\"\n").expect("write config");
    let config = config.to_str().expect("utf-8 path");
    let server = Server::start(
        pharos(dir.path())
            .env("PHAROS_LISTEN", "env-address")
            .args(["serve", "--config", config, "--listen", "127.0.0.1:0"]),
    );
    assert_clean_stop(&server.terminate());
    let server = Server::start(
        pharos(dir.path())
            .env("PHAROS_LISTEN", "127.0.0.1:0")
            .args(["serve", "--config", config]),
    );
    assert_clean_stop(&server.terminate());
    let out = run(pharos(dir.path())
        .env("PHAROS_LISTEN", "env-address")
        .args(["serve", "--config", config]));
    out.assert_failure("serve with a bad PHAROS_LISTEN");
    assert!(out.stderr.contains("env-address"), "{out}");
    let out = run(pharos(dir.path()).args(["serve", "--config", config]));
    out.assert_failure("serve with a bad listen in the file");
    assert!(out.stderr.contains("file-address"), "{out}");
}

#[test]
fn an_unsupported_database_url_fails_clearly_without_its_password() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = run(pharos(dir.path()).args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--database-url",
        "mysql://pharos:hunter2@db.example/pharos",
    ]));
    out.assert_failure("serve on mysql://");
    assert_no_panic(&out);
    assert!(out.stderr.contains("database_url"), "{out}");
    assert!(out.stderr.contains("not supported"), "{out}");
    assert!(
        out.stderr.contains("postgres://"),
        "says what is expected: {out}"
    );
    assert!(
        !out.stderr.contains("hunter2") && !out.stdout.contains("hunter2"),
        "{out}"
    );
}

#[test]
fn an_unreachable_postgres_fails_clearly_without_its_password() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = "postgres://pharos:hunter2@127.0.0.1:1/pharos?sslmode=disable";
    // `serve` keeps running and serves the last known status (tests/public_outage.rs);
    // commands that need the database now fail, and say why.
    let out =
        run(pharos(dir.path()).args(["token", "create", "--name", "ci", "--database-url", url]));
    out.assert_failure("token create on an unreachable PostgreSQL");
    assert_no_panic(&out);
    assert!(out.stderr.contains("cannot open the database"), "{out}");
    assert!(
        out.stderr.contains("127.0.0.1:1"),
        "names the server: {out}"
    );
    assert!(
        !out.stderr.contains("hunter2") && !out.stdout.contains("hunter2"),
        "{out}"
    );
    assert!(
        !dir.path().join("pharos-data").exists(),
        "a PostgreSQL setup needs no data folder"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_on_postgres_keeps_its_data_across_restarts() {
    let Some(url) = common::postgres::fresh_database_url().await else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let token = create_token(dir.path(), &["--name", "ci", "--database-url", &url]);
    let serve = || {
        Server::start(pharos(dir.path()).env("PHAROS_DATABASE_URL", &url).args([
            "serve",
            "--listen",
            "127.0.0.1:0",
        ]))
    };
    let server = serve();
    assert_ne!(server.addr.port(), 0);
    assert_healthy(&server).await;
    let (status, created) = server
        .call(
            Some(&token),
            Method::POST,
            "/api/v1/components",
            Some(json!({"name": "API"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_clean_stop(&server.terminate());

    let server = serve();
    assert_healthy(&server).await;
    let listed = components(&server, &token).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["id"], created["id"]);
    assert_clean_stop(&server.terminate());
    common::postgres::drop_database(&url).await;
}
