//! Starts the real server in-process on `127.0.0.1:0` over a fresh SQLite file or a fresh
//! PostgreSQL database, with tokens of each scope and typed request helpers.

use pharos::app::App;
use pharos::clock::{Clock, SystemClock};
use pharos::config::{self, Overrides};
use pharos::domain::TokenScope;
use pharos::events::Actor;
use pharos::store::sql::SqlStore;
use pharos::store::Store;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::Arc;
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub base: String,
    /// A `write` token.
    pub token: String,
    pub read_token: String,
    pub admin_token: String,
    pub store: Arc<SqlStore>,
    pub client: reqwest::Client,
    pub database_url: String,
    pub dir: TempDir,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<anyhow::Result<()>>>,
}

/// A fresh app on the chosen database; `None` when PostgreSQL is not configured outside CI.
pub async fn spawn(db: Db) -> Option<TestApp> {
    spawn_with(db, SystemClock).await
}

pub async fn spawn_with(db: Db, clock: impl Clock) -> Option<TestApp> {
    let dir = tempfile::tempdir().expect("temp dir");
    let database_url = match db {
        Db::Sqlite => super::postgres::sqlite_url(dir.path()),
        Db::Postgres => super::postgres::fresh_database_url().await?,
    };
    let overrides = Overrides {
        listen: Some("127.0.0.1:0".into()),
        data_dir: Some(dir.path().join("data")),
        database_url: Some(database_url.clone()),
        ..Default::default()
    };
    let config = config::load(&overrides, &|_| None).expect("test config is valid");
    Some(start(config, Arc::new(clock), dir, database_url).await)
}

/// An app on the given database URL (for example a fresh database reached through a
/// [`super::proxy::Proxy`] the test can cut). The URL must name a database no other test uses.
pub async fn spawn_on(database_url: String) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let data_dir = dir.path().join("data");
    spawn_on_at(database_url, data_dir, dir).await
}

/// Like [`spawn_on`], with the data folder at `data_dir` (which may outlive the app, to start
/// another on the same folder).
pub async fn spawn_on_at(
    database_url: String,
    data_dir: std::path::PathBuf,
    dir: TempDir,
) -> TestApp {
    let overrides = Overrides {
        listen: Some("127.0.0.1:0".into()),
        data_dir: Some(data_dir),
        database_url: Some(database_url.clone()),
        ..Default::default()
    };
    let config = config::load(&overrides, &|_| None).expect("test config is valid");
    start(config, Arc::new(SystemClock), dir, database_url).await
}

/// A fresh app whose configuration also reads `toml` as its `--config` file (written to the
/// app's temp dir), for settings the flags do not cover, such as `[page]`. The listen address,
/// data dir and database come from overrides as in [`spawn`], so they beat the file.
pub async fn spawn_with_config(db: Db, toml: &str) -> Option<TestApp> {
    spawn_with_config_and_clock(db, toml, SystemClock).await
}

/// Like [`spawn_with_config`], on the given clock.
pub async fn spawn_with_config_and_clock(db: Db, toml: &str, clock: impl Clock) -> Option<TestApp> {
    let dir = tempfile::tempdir().expect("temp dir");
    let database_url = match db {
        Db::Sqlite => super::postgres::sqlite_url(dir.path()),
        Db::Postgres => super::postgres::fresh_database_url().await?,
    };
    let config_file = dir.path().join("pharos.toml");
    std::fs::write(&config_file, toml).expect("write the test config");
    let overrides = Overrides {
        config_file: Some(config_file),
        listen: Some("127.0.0.1:0".into()),
        data_dir: Some(dir.path().join("data")),
        database_url: Some(database_url.clone()),
        ..Default::default()
    };
    let config = config::load(&overrides, &|_| None)
        .unwrap_or_else(|err| panic!("test config is invalid:\n{err}"));
    Some(start(config, Arc::new(clock), dir, database_url).await)
}

/// Builds the app from `config`, issues one token of each scope and serves it on a fresh
/// `127.0.0.1` port.
async fn start(
    config: config::Config,
    clock: Arc<dyn Clock>,
    dir: TempDir,
    database_url: String,
) -> TestApp {
    let app = App::build(config, clock).await.expect("app builds");
    let store = app.store.clone();
    let mut tokens = Vec::new();
    for (name, scope) in [
        ("writer", TokenScope::Write),
        ("reader", TokenScope::Read),
        ("admin", TokenScope::Admin),
    ] {
        let issued = pharos::token::issue();
        // A second app on the same database (a restart) replaces the first one's tokens.
        let _ = store.revoke_token(name, &Actor::cli()).await;
        store
            .create_token(issued.id, name, scope, &issued.secret_hash, &Actor::cli())
            .await
            .expect("token");
        tokens.push(issued.text);
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = oneshot::channel::<()>();
    let handle = tokio::spawn(app.run(listener, async {
        let _ = rx.await;
    }));
    TestApp {
        addr,
        base: format!("http://{addr}"),
        token: tokens[0].clone(),
        read_token: tokens[1].clone(),
        admin_token: tokens[2].clone(),
        store,
        client: reqwest::Client::builder()
            .no_gzip()
            .build()
            .expect("a test HTTP client"),
        database_url,
        dir,
        shutdown: Some(tx),
        handle: Some(handle),
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Sends a request with the write token; returns the status and the JSON body (Null when
    /// the body is empty).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.call_as(&self.token, method, path, body).await
    }

    pub async fn call_as(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .client
            .request(method, self.url(path))
            .bearer_auth(token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let text = resp.text().await.expect("body");
        let json = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"))
        };
        (status, json)
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PATCH, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::DELETE, path, None).await
    }

    /// Like `post`, but panics unless the status is `expected`; returns the body.
    pub async fn ok(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        expected: StatusCode,
    ) -> Value {
        let (status, json) = self.call(method.clone(), path, body).await;
        assert_eq!(status, expected, "{method} {path}: {json}");
        json
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(handle) = self.handle.take() {
            handle.await.expect("server task").expect("server ran");
        }
    }
}

/// Runs an async test body against both backends, one test function per backend.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, $body:path) => {
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app = common::app::spawn(common::app::Db::Sqlite)
                    .await
                    .expect("sqlite app");
                $body(app).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(app) = common::app::spawn(common::app::Db::Postgres).await else {
                    eprintln!("skipping: PHAROS_TEST_POSTGRES_URL is not set");
                    return;
                };
                $body(app).await;
            }
        }
    };
}
