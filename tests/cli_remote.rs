//! The responder CLI (`pharos incident ...`, `pharos component ...`, `pharos status`) as a
//! responder meets it: the real binary, run as a subprocess with `PHAROS_URL` and
//! `PHAROS_TOKEN`, against a real `pharos serve` over a fresh SQLite folder whose
//! configuration declares two components in a group.
//!
//! Every change the CLI reports is checked where it must land: `/api/v1` at once, and the
//! public `/api/v2` documents once the projector has caught up (polled with a deadline).
//! Failures are checked for what a tired responder and a script rely on: exactly one
//! `error: ` line on stderr, nothing on stdout, the documented exit code, nothing created, and
//! the token never shown anywhere.

mod common;

use common::process::{pharos, run, Output, Server};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// How long the public documents may take to show a change made through the API.
const PUBLIC_DEADLINE: Duration = Duration::from_secs(15);

const CONFIG: &str = r#"
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
"#;

/// A running server with the two declared components and a write token for it.
struct Setup {
    dir: tempfile::TempDir,
    server: Server,
    token: String,
}

fn config_path(dir: &Path) -> String {
    dir.join("pharos.toml")
        .to_str()
        .expect("utf-8 path")
        .to_string()
}

fn create_token(dir: &Path, name: &str, scope: &str) -> String {
    let out = run(pharos(dir).args([
        "token",
        "create",
        "--config",
        &config_path(dir),
        "--name",
        name,
        "--scope",
        scope,
    ]));
    out.assert_success("pharos token create");
    out.stdout.trim().to_string()
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("pharos.toml"), CONFIG).expect("write config");
    let server = Server::start(pharos(dir.path()).args([
        "serve",
        "--config",
        &config_path(dir.path()),
        "--listen",
        "127.0.0.1:0",
    ]));
    let token = create_token(dir.path(), "responder", "write");
    Setup { dir, server, token }
}

impl Setup {
    /// The CLI with `PHAROS_URL` and `PHAROS_TOKEN` set, as a responder's shell has them.
    fn cli(&self, args: &[&str]) -> Output {
        self.cli_with(args, |_| {})
    }

    fn cli_with(&self, args: &[&str], adjust: impl FnOnce(&mut Command)) -> Output {
        let mut cmd = pharos(self.dir.path());
        cmd.env("PHAROS_URL", &self.server.base)
            .env("PHAROS_TOKEN", &self.token)
            .args(args);
        adjust(&mut cmd);
        let out = run(&mut cmd);
        self.assert_no_token(&out);
        out
    }

    fn ok(&self, args: &[&str]) -> Output {
        let out = self.cli(args);
        out.assert_success(&format!("pharos {}", args.join(" ")));
        assert!(
            out.stderr.trim().is_empty(),
            "a successful command says nothing on stderr: {out}"
        );
        out
    }

    /// Runs with `--json` and parses stdout, which must be the JSON and nothing else.
    fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        let out = self.ok(&all);
        serde_json::from_str(&out.stdout)
            .unwrap_or_else(|e| panic!("--json output is not JSON ({e}): {out}"))
    }

    fn assert_no_token(&self, out: &Output) {
        // `pharos_<id>_<secret>`; the secret is base64url and may itself contain `_`.
        let secret = self
            .token
            .strip_prefix("pharos_")
            .and_then(|rest| rest.split_once('_'))
            .map(|(_, secret)| secret)
            .expect("a token shaped pharos_<id>_<secret>");
        assert!(secret.len() >= 40, "the whole secret: {secret}");
        for text in [&out.stdout, &out.stderr] {
            assert!(
                !text.contains(&self.token) && !text.contains(secret),
                "the token appears in the output: {out}"
            );
        }
    }

    async fn api(&self, method: Method, path: &str) -> Value {
        let (status, body) = self
            .server
            .call(Some(&self.token), method, path, None)
            .await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        body
    }

    async fn component_status(&self, name: &str) -> String {
        let page = self.api(Method::GET, "/api/v1/components").await;
        let c = page["data"]
            .as_array()
            .expect("data")
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no component {name}: {page}"));
        c["status"].as_str().expect("status").to_string()
    }

    async fn incident_count(&self) -> usize {
        let page = self.api(Method::GET, "/api/v1/incidents?limit=500").await;
        page["data"].as_array().expect("data").len()
    }

    /// Polls a public document until `ready` holds; returns it.
    async fn public_until(&self, path: &str, what: &str, ready: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + PUBLIC_DEADLINE;
        let mut poll = tokio::time::interval(Duration::from_millis(50));
        loop {
            poll.tick().await;
            let (status, doc) = self.server.call(None, Method::GET, path, None).await;
            if status == StatusCode::OK && ready(&doc) {
                return doc;
            }
            assert!(
                Instant::now() < deadline,
                "{path} did not show {what} within {PUBLIC_DEADLINE:?} ({status}):\n{doc:#}\n--- stderr ---\n{}",
                self.server.stderr_so_far()
            );
        }
    }
}

/// The failure every bad input must give: one `error: ` line on stderr, nothing on stdout,
/// and the exit code of its class.
fn assert_one_line_error(out: &Output, code: i32, mentions: &[&str]) {
    assert_eq!(out.code(), Some(code), "exit code: {out}");
    let err = out.stderr.trim();
    assert!(err.starts_with("error: "), "{out}");
    assert!(!err.contains('\n'), "the error must be one line: {out}");
    assert!(out.stdout.is_empty(), "nothing on stdout on failure: {out}");
    for m in mentions {
        assert!(err.contains(m), "the error should mention `{m}`: {out}");
    }
}

fn component_in<'a>(doc: &'a Value, name: &str) -> Option<&'a Value> {
    doc["components"]
        .as_array()?
        .iter()
        .find(|c| c["name"] == name && c["group"] == false)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incident_is_run_from_the_terminal_and_each_step_reaches_the_api_and_the_page() {
    let s = setup();

    // Open on two components: one by its name in another case, one by key with a status.
    let opened = s.json(&[
        "incident",
        "open",
        "--name",
        "API is down",
        "--impact",
        "major",
        "--component",
        "website",
        "--component",
        "api=major_outage",
        "--message",
        "We are looking into errors on the API.",
    ]);
    let id = opened["id"].as_str().expect("id").to_string();
    let short = opened["short_id"].as_str().expect("short_id").to_string();
    assert_eq!(opened["name"], "API is down");
    assert_eq!(opened["status"], "investigating");
    assert_eq!(opened["impact"], "major");

    let stored = s.api(Method::GET, &format!("/api/v1/incidents/{id}")).await;
    assert_eq!(stored["status"], "investigating");
    assert_eq!(
        stored["components"].as_array().map(Vec::len),
        Some(2),
        "{stored}"
    );
    assert_eq!(s.component_status("API").await, "major_outage");
    assert_eq!(s.component_status("Website").await, "operational");
    s.public_until("/api/v2/summary.json", "the opened incident", |d| {
        d["incidents"]
            .as_array()
            .is_some_and(|l| l.iter().any(|i| i["name"] == "API is down"))
            && component_in(d, "API").is_some_and(|c| c["status"] == "major_outage")
    })
    .await;

    // First update by short id, in text form.
    let out = s.ok(&[
        "incident",
        "update",
        &short,
        "--status",
        "identified",
        "--message",
        "A bad deploy; rolling back.",
    ]);
    assert!(
        out.stdout.contains(&short) && out.stdout.contains("identified"),
        "{out}"
    );
    let stored = s.api(Method::GET, &format!("/api/v1/incidents/{id}")).await;
    assert_eq!(stored["status"], "identified");
    assert_eq!(stored["updates"].as_array().map(Vec::len), Some(2));
    assert_eq!(stored["updates"][0]["body"], "A bad deploy; rolling back.");

    // Second update by full id, the text from stdin, one more component status.
    let message = s.dir.path().join("message.md");
    std::fs::write(&message, "Rolled back.\n\nWatching the error rate.\n").expect("write");
    let file = std::fs::File::open(&message).expect("open message");
    let out = s.cli_with(
        &[
            "incident",
            "update",
            &id,
            "--status",
            "monitoring",
            "--message",
            "-",
            "--component",
            "web=degraded_performance",
        ],
        |cmd| {
            cmd.stdin(file);
        },
    );
    out.assert_success("incident update with --message -");
    let stored = s.api(Method::GET, &format!("/api/v1/incidents/{id}")).await;
    assert_eq!(stored["status"], "monitoring");
    assert_eq!(
        stored["updates"][0]["body"],
        "Rolled back.\n\nWatching the error rate."
    );
    assert_eq!(s.component_status("Website").await, "degraded_performance");
    let summary = s
        .public_until("/api/v2/summary.json", "the monitoring update", |d| {
            d["incidents"].as_array().is_some_and(|l| {
                l.iter()
                    .any(|i| i["name"] == "API is down" && i["status"] == "monitoring")
            }) && component_in(d, "Website").is_some_and(|c| c["status"] == "degraded_performance")
        })
        .await;

    // The list: open incidents, as a table and as JSON.
    let out = s.ok(&["incident", "list"]);
    let row = out
        .stdout
        .lines()
        .find(|l| l.starts_with(&short))
        .unwrap_or_else(|| panic!("no row for {short}: {out}"));
    for cell in ["major", "monitoring", "API is down", "under 1 min"] {
        assert!(row.contains(cell), "row lacks `{cell}`: {row}");
    }
    let listed = s.json(&["incident", "list"]);
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    assert_eq!(listed[0]["id"], id.as_str());

    // The timeline.
    let out = s.ok(&["incident", "show", &short]);
    for text in [
        "API is down",
        "We are looking into errors on the API.",
        "A bad deploy; rolling back.",
        "Watching the error rate.",
    ] {
        assert!(out.stdout.contains(text), "show lacks `{text}`: {out}");
    }

    // The terminal summary shows what the page shows: piped, so without colour codes.
    let out = s.ok(&["status"]);
    let overall = summary["status"]["description"]
        .as_str()
        .expect("description");
    assert!(
        out.stdout
            .lines()
            .next()
            .is_some_and(|l| l.contains(overall)),
        "{out}"
    );
    for text in [
        "Core services",
        "API",
        "Major outage",
        "Website",
        "Degraded performance",
        "API is down",
    ] {
        assert!(out.stdout.contains(text), "status lacks `{text}`: {out}");
    }
    assert!(!out.stdout.contains('\x1b'), "no colour when piped: {out}");
    let status_json = s.json(&["status"]);
    assert!(
        status_json["status"]["indicator"].is_string(),
        "{status_json}"
    );
    assert!(status_json["components"].is_array(), "{status_json}");

    // Resolve: the holds are released and the list of open incidents is empty.
    let out = s.ok(&[
        "incident",
        "resolve",
        &short,
        "--message",
        "Fixed for good.",
    ]);
    assert!(out.stdout.contains("resolved"), "{out}");
    let stored = s.api(Method::GET, &format!("/api/v1/incidents/{id}")).await;
    assert_eq!(stored["status"], "resolved");
    assert!(stored["resolved_at"].is_string());
    assert_eq!(stored["updates"][0]["body"], "Fixed for good.");
    assert_eq!(s.component_status("API").await, "operational");
    assert_eq!(s.component_status("Website").await, "operational");
    s.public_until("/api/v2/summary.json", "no open incident", |d| {
        d["incidents"].as_array().is_some_and(Vec::is_empty)
            && component_in(d, "API").is_some_and(|c| c["status"] == "operational")
    })
    .await;
    assert_eq!(s.json(&["incident", "list"]), Value::Array(vec![]));
    assert!(s
        .ok(&["incident", "list"])
        .stdout
        .contains("no open incidents"));
    let all = s.json(&["incident", "list", "--all"]);
    assert_eq!(all.as_array().map(Vec::len), Some(1));
    assert_eq!(all[0]["status"], "resolved");

    // Resolving twice is the API's refusal, in one line, exit 1.
    let out = s.cli(&["incident", "resolve", &short]);
    assert_one_line_error(&out, 1, &["already resolved"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn component_set_changes_the_public_components() {
    let s = setup();

    let out = s.ok(&["component", "set", "api", "degraded_performance"]);
    assert!(
        out.stdout
            .contains("API: degraded_performance (was operational)"),
        "{out}"
    );
    assert_eq!(s.component_status("API").await, "degraded_performance");
    s.public_until("/api/v2/components.json", "API degraded", |d| {
        component_in(d, "API").is_some_and(|c| c["status"] == "degraded_performance")
    })
    .await;

    // By name in another case, with --json: the API's component.
    let set = s.json(&["component", "set", "WEBSITE", "major_outage"]);
    assert_eq!(set["name"], "Website");
    assert_eq!(set["status"], "major_outage");
    let doc = s
        .public_until("/api/v2/components.json", "Website in major outage", |d| {
            component_in(d, "Website").is_some_and(|c| c["status"] == "major_outage")
        })
        .await;
    assert_eq!(
        component_in(&doc, "API").expect("API")["status"],
        "degraded_performance"
    );

    let listed = s.json(&["component", "list"]);
    let names: Vec<&str> = listed
        .as_array()
        .expect("array")
        .iter()
        .map(|c| c["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["API", "Website"]);
    let out = s.ok(&["component", "list"]);
    let api_row = out
        .stdout
        .lines()
        .find(|l| l.starts_with("API "))
        .expect("API row");
    for cell in ["api", "degraded_performance", "Core services"] {
        assert!(api_row.contains(cell), "row lacks `{cell}`: {api_row}");
    }

    // `status` needs no token.
    s.public_until("/api/v2/status.json", "a major outage", |d| {
        d["status"]["indicator"] == "major"
    })
    .await;
    let mut cmd = pharos(s.dir.path());
    cmd.env("PHAROS_URL", &s.server.base).arg("status");
    let out = run(&mut cmd);
    out.assert_success("pharos status without a token");
    assert!(
        out.stdout.contains("Major outage") && out.stdout.contains("Website"),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gives_one_line_a_telling_exit_code_and_changes_nothing() {
    let s = setup();
    let before = s.incident_count().await;

    // An unknown component: the near and the known names, and no incident.
    let out = s.cli(&[
        "incident",
        "open",
        "--name",
        "Typo",
        "--component",
        "apii",
        "--message",
        "x",
    ]);
    assert_one_line_error(
        &out,
        1,
        &[
            "unknown component \"apii\"",
            "did you mean \"api\"",
            "known: api, web",
        ],
    );
    assert_eq!(s.incident_count().await, before, "nothing is created");
    let out = s.cli(&["component", "set", "databse", "major_outage"]);
    assert_one_line_error(&out, 1, &["unknown component \"databse\""]);

    // The API's validation message, as it says it.
    let out = s.cli(&["incident", "open", "--name", "   ", "--message", "x"]);
    assert_one_line_error(&out, 1, &["`name` must not be empty"]);
    assert_eq!(s.incident_count().await, before, "nothing is created");

    // An incident that does not exist.
    let out = s.cli(&["incident", "update", "nosuchincid", "--message", "x"]);
    assert_one_line_error(&out, 1, &["no incident", "nosuchincid"]);

    // A wrong token (a real one with its last character changed): 401, exit 3.
    let mut wrong = s.token.clone();
    let last = wrong.pop().expect("non-empty");
    wrong.push(if last == 'A' { 'B' } else { 'A' });
    let out = s.cli_with(&["incident", "list"], |cmd| {
        cmd.env("PHAROS_TOKEN", &wrong);
    });
    assert_one_line_error(&out, 3, &["not valid or has been revoked", "PHAROS_TOKEN"]);
    assert!(!out.stderr.contains(&wrong), "{out}");
    // The same through --token.
    let out = s.cli_with(&["incident", "list", "--token", &wrong], |cmd| {
        cmd.env_remove("PHAROS_TOKEN");
    });
    assert_one_line_error(&out, 3, &["not valid or has been revoked"]);
    assert!(!out.stderr.contains(&wrong), "{out}");

    // A read-only token may list but not change: 403 names the scope, exit 3.
    let reader = create_token(s.dir.path(), "reader", "read");
    let out = s.cli_with(&["incident", "list"], |cmd| {
        cmd.env("PHAROS_TOKEN", &reader);
    });
    out.assert_success("a read token lists");
    let out = s.cli_with(&["component", "set", "api", "major_outage"], |cmd| {
        cmd.env("PHAROS_TOKEN", &reader);
    });
    assert_one_line_error(&out, 3, &["scope", "write"]);
    assert!(!out.stderr.contains(&reader), "{out}");
    assert_eq!(s.component_status("API").await, "operational");

    // Missing environment: say which variable to set; a usage error, exit 2.
    let out = s.cli_with(&["incident", "list"], |cmd| {
        cmd.env_remove("PHAROS_TOKEN");
    });
    assert_one_line_error(&out, 2, &["PHAROS_TOKEN"]);
    let out = s.cli_with(&["status"], |cmd| {
        cmd.env_remove("PHAROS_URL");
    });
    assert_one_line_error(&out, 2, &["PHAROS_URL"]);

    // A server that is down: nothing listens on the port.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let down = format!("http://127.0.0.1:{port}");
    for args in [&["incident", "list"][..], &["status"][..]] {
        let out = s.cli_with(args, |cmd| {
            cmd.env("PHAROS_URL", &down);
        });
        assert_one_line_error(
            &out,
            3,
            &[
                &format!("cannot reach Pharos at {down}"),
                "connection refused",
                "pharos serve",
            ],
        );
    }

    // A server that accepts but never answers: the timeout, exit 3.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let silent_url = format!("http://{}", silent.local_addr().expect("addr"));
    let out = s.cli_with(&["incident", "list", "--timeout", "1"], |cmd| {
        cmd.env("PHAROS_URL", &silent_url);
    });
    assert_one_line_error(&out, 3, &["did not answer within 1 s", "--timeout"]);
    drop(silent);

    // Usage errors are clap's: exit 2.
    let out = s.cli(&[
        "incident",
        "open",
        "--name",
        "x",
        "--message",
        "y",
        "--component",
        "api=down",
    ]);
    assert_eq!(out.code(), Some(2), "{out}");
    assert!(
        out.stderr.contains("major_outage"),
        "names the statuses: {out}"
    );

    assert_eq!(
        s.incident_count().await,
        before,
        "no bad input created anything"
    );
}
