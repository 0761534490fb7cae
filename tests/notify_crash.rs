//! At-least-once delivery across a crash, on the real binary: 1,000 deliveries pending (one
//! incident fanned out to 1,000 webhook subscribers on a slow receiver), `kill -9` while they
//! are being sent, restart: every delivery arrives at least once, and the only duplicates are
//! deliveries that were in flight at the kill (sent or being sent, their outcome not yet
//! stored), each repeated with the same idempotency key.
//!
//! "In flight at the kill" is measured, not assumed: after the kill and before the restart the
//! test reads the database itself and takes the keys the receiver saw whose delivery is not
//! recorded as sent. The PostgreSQL run needs `PHAROS_TEST_POSTGRES_URL`
//! (`scripts/with-postgres`); there the leases of the dead process lapse after
//! `lease_seconds` (several processes may share the outbox, so none may release another's).

mod common;

use common::process::{pharos, run, Server};
use common::receiver::{Behaviour, Receiver};
use pharos::notify::record::DeliveryState;
use pharos::store::sql::{ConnectOptions, SqlStore};
use pharos::store::{PageRequest, Store};
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

const SUBSCRIBERS: usize = 1_000;
/// Arrivals after which the server is killed.
const KILL_AFTER: usize = 200;

fn keys_seen(receiver: &Receiver) -> Vec<String> {
    receiver
        .received()
        .iter()
        .filter_map(|r| r.header("idempotency-key"))
        .collect()
}

async fn sent_keys(database_url: &str) -> BTreeSet<String> {
    let store = SqlStore::open(
        &ConnectOptions::new(database_url),
        Arc::new(pharos::clock::SystemClock),
    )
    .await
    .expect("open the database after the kill");
    let mut sent = BTreeSet::new();
    let mut page = PageRequest::first(500);
    loop {
        let got = store
            .list_deliveries(Some(DeliveryState::Sent), page.clone())
            .await
            .expect("deliveries");
        sent.extend(got.items.into_iter().map(|d| d.key));
        match got.next_cursor {
            Some(c) => page.cursor = Some(c),
            None => break,
        }
    }
    store.close().await;
    sent
}

async fn kill_while_sending(dir: &Path, database_url: &str) {
    let receiver = Receiver::start(Behaviour::Delay(Duration::from_millis(100))).await;
    let config = dir.join("pharos.toml");
    std::fs::write(
        &config,
        "[page]\nurl = \"https://status.acme.test\"\n\n[notifications]\nallow_private_targets = true\nsend_timeout_seconds = 5\nlease_seconds = 10\n",
    )
    .expect("config");
    let db_args = ["--database-url", database_url];
    let out = run(pharos(dir)
        .args(["token", "create", "--name", "crash"])
        .args(db_args));
    out.assert_success("token create");
    let token = out.stdout.trim().to_string();
    let serve = || {
        Server::start(
            pharos(dir)
                .arg("serve")
                .arg("--config")
                .arg(&config)
                .args(db_args)
                .args(["--listen", "127.0.0.1:0"]),
        )
    };
    let server = serve();
    let (status, body) = server
        .call(
            Some(&token),
            Method::POST,
            "/api/v1/components",
            Some(json!({"name": "API"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let component = body["id"].as_str().expect("id").to_string();

    // 1,000 webhook subscribers, 16 requests at a time.
    let mut created = Vec::new();
    for chunk in (0..SUBSCRIBERS).collect::<Vec<_>>().chunks(16) {
        let mut set = tokio::task::JoinSet::new();
        for i in chunk {
            let client = server.client.clone();
            let url = server.url("/api/v1/subscribers");
            let token = token.clone();
            let address = format!("{}/subscriber/{i}", receiver.url);
            set.spawn(async move {
                client
                    .post(url)
                    .bearer_auth(token)
                    .json(&json!({"kind": "webhook", "address": address}))
                    .send()
                    .await
                    .map(|r| r.status())
                    .ok()
            });
        }
        while let Some(status) = set.join_next().await {
            created.push(status.expect("task"));
        }
    }
    assert!(created.iter().all(|s| *s == Some(StatusCode::CREATED)));

    let (status, body) = server
        .call(
            Some(&token),
            Method::POST,
            "/api/v1/incidents",
            Some(json!({"name": "API down", "body": "Investigating.", "components": {component.as_str(): "major_outage"}})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    receiver
        .wait_for("the first deliveries", Duration::from_secs(60), |r| {
            r.len() >= KILL_AFTER
        })
        .await;
    server.kill();
    let before_kill = keys_seen(&receiver);
    let sent = sent_keys(database_url).await;
    let in_flight: BTreeSet<String> = before_kill
        .iter()
        .filter(|k| !sent.contains(*k))
        .cloned()
        .collect();
    assert!(
        before_kill.len() < SUBSCRIBERS,
        "the kill came after everything was sent; slow the receiver"
    );

    let server = serve();
    receiver
        .wait_for("every delivery", Duration::from_secs(120), |r| {
            r.iter()
                .filter_map(|x| x.header("idempotency-key"))
                .collect::<BTreeSet<_>>()
                .len()
                >= SUBSCRIBERS
        })
        .await;
    // Let anything still in flight land before counting duplicates.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let all = keys_seen(&receiver);
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for key in &all {
        *counts.entry(key).or_default() += 1;
    }
    assert_eq!(counts.len(), SUBSCRIBERS, "every delivery arrived");
    let duplicated: Vec<&str> = counts
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(k, _)| *k)
        .collect();
    assert!(
        duplicated.len() <= in_flight.len(),
        "{} duplicated, {} in flight at the kill",
        duplicated.len(),
        in_flight.len()
    );
    for key in &duplicated {
        assert!(
            in_flight.contains(*key),
            "{key} arrived twice but was not in flight at the kill"
        );
        assert_eq!(counts[key], 2, "{key}: at most one repeat");
    }
    // Every subscriber got exactly its own delivery.
    let paths: BTreeSet<String> = receiver.received().iter().map(|r| r.path.clone()).collect();
    assert_eq!(paths.len(), SUBSCRIBERS);
    eprintln!(
        "notify_crash: {} arrivals before the kill, {} in flight, {} duplicated after the restart",
        before_kill.len(),
        in_flight.len(),
        duplicated.len()
    );
    let (_, status) = server
        .call(
            Some(&token),
            Method::GET,
            "/api/v1/notifications/status",
            None,
        )
        .await;
    assert_eq!(status["outbox"]["dead"], 0, "{status}");
    server.terminate();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_while_sending_delivers_everything_sqlite() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = common::postgres::sqlite_url(dir.path());
    kill_while_sending(dir.path(), &url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_while_sending_delivers_everything_postgres() {
    let Some(url) = common::postgres::fresh_database_url().await else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    kill_while_sending(dir.path(), &url).await;
    common::postgres::drop_database(&url).await;
}
