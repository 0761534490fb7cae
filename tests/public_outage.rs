//! The public side keeps answering when the database is away (the Meya lesson), on both
//! backends, with the real binary:
//!
//! - PostgreSQL behind a TCP proxy this test controls: cutting the proxy is an outage that
//!   touches no other test. While it is cut, the page and `/api/v2` answer 200 with the last
//!   state, `/readyz` is 503, writes get a 503 JSON error; when it returns, a new write shows
//!   without a restart. A restart while it is cut serves the snapshot from disk.
//! - SQLite, away while Pharos runs: its files moved out of the data folder, then moved back
//!   (see `sqlite_away_at_run_time_keeps_the_page_up_and_resumes` for why this is the outage
//!   to make); the same promises as PostgreSQL's.
//! - SQLite away at start: its files moved away and a folder put in their place while Pharos
//!   is stopped; it starts, serves the snapshot from disk, and resumes by itself when the file
//!   is back.
//! - SQLite locked by another process (a backup, a `sqlite3` shell with a transaction open):
//!   not an outage for readers (WAL lets them read), but writes get a 503 after the short
//!   busy timeout instead of hanging, and go through once the lock is released.
//!
//! No fixed sleeps: every wait polls with a deadline.

mod common;

use common::process::{pharos, run, Server};
use common::proxy::Proxy;
use common::sqlite::{bring_back, move_away};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const DEADLINE: Duration = Duration::from_secs(30);

fn create_token(dir: &Path, database_url: &str) -> String {
    let out = run(pharos(dir).args([
        "token",
        "create",
        "--name",
        "outage",
        "--database-url",
        database_url,
    ]));
    out.assert_success("token create");
    out.stdout.trim().to_string()
}

fn serve(dir: &Path, database_url: &str) -> Server {
    Server::start(pharos(dir).args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        "data",
        "--database-url",
        database_url,
    ]))
}

/// Polls `check` until it returns true or the deadline passes.
async fn eventually<F, Fut>(what: &str, server: &Server, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + DEADLINE;
    while Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "timed out waiting until {what}\n--- stderr ---\n{}",
        server.stderr_so_far()
    );
}

async fn summary(server: &Server) -> (StatusCode, Value) {
    server
        .call(None, Method::GET, "/api/v2/summary.json", None)
        .await
}

fn incident_names(summary: &Value) -> Vec<String> {
    summary["incidents"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|i| i["name"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

async fn open_incident(server: &Server, token: &str, name: &str, component: &str) -> StatusCode {
    server
        .call(
            Some(token),
            Method::POST,
            "/api/v1/incidents",
            Some(json!({"name": name, "body": "Investigating.", "components": {component: "major_outage"}})),
        )
        .await
        .0
}

/// Seeds a component and an incident and waits until the public page shows them.
async fn seed(server: &Server, token: &str) -> String {
    let (status, component) = server
        .call(
            Some(token),
            Method::POST,
            "/api/v1/components",
            Some(json!({"name": "API"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{component}");
    let id = component["id"].as_str().unwrap().to_string();
    assert_eq!(
        open_incident(server, token, "Before the outage", &id).await,
        StatusCode::CREATED
    );
    eventually("the incident is public", server, || async {
        incident_names(&summary(server).await.1).contains(&"Before the outage".to_string())
    })
    .await;
    id
}

/// While the database is away: the last state answers 200, readiness and writes say 503.
async fn assert_serving_last_state(server: &Server, token: &str, component: &str) {
    eventually("/readyz says 503", server, || async {
        server.call(None, Method::GET, "/readyz", None).await.0 == StatusCode::SERVICE_UNAVAILABLE
    })
    .await;
    let (status, body) = summary(server).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        incident_names(&body).contains(&"Before the outage".to_string()),
        "{body}"
    );
    assert_eq!(body["status"]["indicator"], "critical", "{body}");
    // The page says it shows the last known state.
    eventually("the page says \"Status as of\"", server, || async {
        let page = server
            .client
            .get(server.url("/"))
            .send()
            .await
            .expect("GET /");
        page.status() == StatusCode::OK
            && page
                .text()
                .await
                .unwrap_or_default()
                .contains("Status as of")
    })
    .await;
    for path in [
        "/api/v2/status.json",
        "/api/v2/components.json",
        "/api/v2/incidents/unresolved.json",
    ] {
        let (status, _) = server.call(None, Method::GET, path, None).await;
        assert_eq!(status, StatusCode::OK, "{path}");
    }
    eventually("writes say 503", server, || async {
        let (status, body) = server
            .call(
                Some(token),
                Method::POST,
                "/api/v1/incidents",
                Some(json!({"name": "During", "body": "x", "components": {component: "major_outage"}})),
            )
            .await;
        status == StatusCode::SERVICE_UNAVAILABLE && body["error"]["code"] == "database_unavailable"
    })
    .await;
}

/// After the database returns: ready again, and a new write shows on the page.
async fn assert_resumes(server: &Server, token: &str, component: &str, name: &str) {
    eventually("/readyz says 200 again", server, || async {
        server.call(None, Method::GET, "/readyz", None).await.0 == StatusCode::OK
    })
    .await;
    eventually("a write succeeds again", server, || async {
        open_incident(server, token, name, component).await == StatusCode::CREATED
    })
    .await;
    eventually("the new write is public", server, || async {
        incident_names(&summary(server).await.1).contains(&name.to_string())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_outage_keeps_the_page_up_and_resumes() {
    let Some(url) = common::postgres::fresh_database_url().await else {
        eprintln!("skipping: PHAROS_TEST_POSTGRES_URL is not set");
        return;
    };
    let (proxy, proxied) = Proxy::in_front_of(&url).await;

    let dir = tempfile::tempdir().unwrap();
    let token = create_token(dir.path(), &proxied);
    let server = serve(dir.path(), &proxied);
    let component = seed(&server, &token).await;

    proxy.cut();
    assert_serving_last_state(&server, &token, &component).await;
    proxy.restore();
    assert_resumes(&server, &token, &component, "After the outage").await;

    // A restart while the database is away serves the snapshot from disk.
    server.terminate().assert_success("stop");
    proxy.cut();
    let server = serve(dir.path(), &proxied);
    assert_serving_last_state(&server, &token, &component).await;
    let names = incident_names(&summary(&server).await.1);
    assert!(names.contains(&"After the outage".to_string()), "{names:?}");
    proxy.restore();
    assert_resumes(&server, &token, &component, "After the restart").await;
    server.terminate().assert_success("stop");
}

fn sqlite_database(dir: &Path) -> (PathBuf, String) {
    let db = dir.join("data").join("pharos.db");
    let url = format!("sqlite://{}", db.display());
    (db, url)
}

/// SQLite away while `pharos serve` runs, the case the PostgreSQL test covers with its proxy.
///
/// Why moving the files away: it is what happens to a running server when its volume is
/// unmounted or the file is deleted or restored by hand, and it is reliable. What else was
/// tried, from another process: a write lock blocks only writers (in WAL mode readers do not
/// wait), so it is no outage for reads (`sqlite_locked_by_another_process_...` below covers
/// it); `PRAGMA locking_mode = EXCLUSIVE` cannot even be taken while Pharos's connections
/// hold their shared lock on the file (SQLITE_BUSY at once); holding the WAL index's locks
/// blocks reads only after SQLite's ten seconds of retries, with SQLITE_PROTOCOL. And an
/// open connection keeps using a file that was moved, which is why Pharos checks that its file
/// is still at its path before it hands out a connection (`store/sql/mod.rs`): without that,
/// this outage would go unnoticed and what was written meanwhile would be lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_away_at_run_time_keeps_the_page_up_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let (db, url) = sqlite_database(dir.path());
    let token = create_token(dir.path(), &url);
    let server = serve(dir.path(), &url);
    let component = seed(&server, &token).await;

    let away = dir.path().join("away");
    move_away(&db, &away);
    assert_serving_last_state(&server, &token, &component).await;
    // No new, empty database was made in its place meanwhile.
    assert!(!db.exists(), "nothing at {}", db.display());

    bring_back(&db, &away);
    assert_resumes(&server, &token, &component, "After the outage").await;
    // The same process served it all: no restart.
    assert_eq!(
        server.call(None, Method::GET, "/healthz", None).await.0,
        StatusCode::OK
    );
    server.terminate().assert_success("stop");
}

/// Another process holds SQLite's write lock (a backup, a `sqlite3` shell with a transaction
/// open): readers go on (WAL), so the page stays live and `/readyz` stays 200, but a write
/// waits only the short busy timeout before it gets a 503, and goes through once the lock is
/// released.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_locked_by_another_process_refuses_writes_quickly_and_resumes() {
    use sqlx::{Connection, Executor};
    let dir = tempfile::tempdir().unwrap();
    let (_db, url) = sqlite_database(dir.path());
    let token = create_token(dir.path(), &url);
    let server = serve(dir.path(), &url);
    let component = seed(&server, &token).await;

    let mut holder = sqlx::sqlite::SqliteConnection::connect(&url)
        .await
        .expect("connect");
    holder
        .execute("BEGIN IMMEDIATE")
        .await
        .expect("take the write lock");

    let started = Instant::now();
    let (status, body) = server
        .call(
            Some(&token),
            Method::POST,
            "/api/v1/incidents",
            Some(
                json!({"name": "During", "body": "x", "components": {&component: "major_outage"}}),
            ),
        )
        .await;
    let waited = started.elapsed();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"]["code"], "database_unavailable", "{body}");
    // A bound on a setting, not a speed target: the write waits out the 3 s busy timeout (and
    // any write queued before it), where a long timeout would keep a responder waiting.
    assert!(waited < Duration::from_secs(9), "a write waited {waited:?}");

    assert_eq!(
        server.call(None, Method::GET, "/readyz", None).await.0,
        StatusCode::OK
    );
    let (status, body) = summary(&server).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        incident_names(&body).contains(&"Before the outage".to_string()),
        "{body}"
    );

    holder.execute("ROLLBACK").await.expect("release the lock");
    holder.close().await.expect("close");
    assert_resumes(&server, &token, &component, "After the lock").await;
    server.terminate().assert_success("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_away_at_start_serves_the_snapshot_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let (db, url) = sqlite_database(dir.path());
    let token = create_token(dir.path(), &url);
    let server = serve(dir.path(), &url);
    let component = seed(&server, &token).await;
    server.terminate().assert_success("stop");
    assert!(
        dir.path().join("data").join("snapshot.json").exists(),
        "snapshot written on stop"
    );

    let away = dir.path().join("away");
    move_away(&db, &away);
    // A missing file at start is a first start, which creates the database: a folder in its
    // place keeps it away.
    std::fs::create_dir(&db).unwrap();

    let server = serve(dir.path(), &url);
    assert_serving_last_state(&server, &token, &component).await;

    // The file comes back: Pharos notices on its own.
    bring_back(&db, &away);
    assert_resumes(&server, &token, &component, "After the outage").await;
    server.terminate().assert_success("stop");
}
