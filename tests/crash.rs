//! Crash safety of the real binary, on SQLite and PostgreSQL: `kill -9` in the middle of a
//! burst of concurrent writes loses nothing that was acknowledged, and leaves state and event
//! log in agreement.
//!
//! Sixteen clients each open an incident, post an update and resolve it, again and again,
//! recording every write that got a 2xx answer. Once 200 writes are acknowledged (a counter,
//! not a timer, decides) the server is killed with SIGKILL while the others are in flight.
//! After a restart on the same database:
//!
//! - every acknowledged incident, update and resolution is there;
//! - every incident has its `incident.opened` event and every such event its incident; each
//!   incident's timeline holds one update per `incident.opened`, `incident.update_posted` and
//!   `incident.resolved` event about it, and it is resolved exactly when such an event exists;
//! - event sequence numbers run 1..=n without a gap.
//!
//! Writes in flight at the kill may or may not have landed; either is fine, as long as state
//! and log agree about them. The PostgreSQL test needs `PHAROS_TEST_POSTGRES_URL`
//! (`scripts/with-postgres`); without it it skips locally and fails under CI.

mod common;

use common::process::{pharos, run, Server};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// Concurrent clients.
const CLIENTS: usize = 16;
/// Acknowledged writes after which the server is killed.
const KILL_AFTER: usize = 200;
/// Rounds each client runs at most, so the burst ends even if the kill never comes.
const MAX_ROUNDS: usize = 200;
/// How long the burst may take to reach [`KILL_AFTER`].
const BURST_DEADLINE: Duration = Duration::from_secs(120);

/// What the server acknowledged, and anything it answered that it should not have.
#[derive(Default)]
struct Ledger {
    /// Incident ids returned with 201.
    opened: Vec<String>,
    /// (incident id, update id) for each update posted with 201.
    updates: Vec<(String, String)>,
    /// Incident ids resolved with 200.
    resolved: Vec<String>,
    /// Answers other than the expected 2xx, which no write should get before the kill.
    unexpected: Vec<String>,
}

struct Burst {
    client: reqwest::Client,
    base: String,
    token: String,
    components: [String; 2],
    ledger: Mutex<Ledger>,
    acknowledged: AtomicUsize,
    enough: Notify,
}

impl Burst {
    /// Sends one write. `None` when there was no complete answer (the server is gone, or died
    /// mid-response): such a write may or may not have landed.
    async fn send(&self, path: &str, body: Value) -> Option<(StatusCode, Value)> {
        let resp = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .ok()?;
        let status = resp.status();
        let text = resp.text().await.ok()?;
        Some((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
    }

    /// Counts an acknowledged write and wakes the killer when there are enough.
    fn acknowledge(&self) {
        if self.acknowledged.fetch_add(1, Ordering::SeqCst) + 1 == KILL_AFTER {
            self.enough.notify_one();
        }
    }

    /// Checks the answer; records it as unexpected (and stops the client) when it is not
    /// `expected`.
    fn expect(
        &self,
        what: &str,
        answer: Option<(StatusCode, Value)>,
        expected: StatusCode,
    ) -> Option<Value> {
        let (status, body) = answer?;
        if status != expected {
            self.ledger
                .lock()
                .unwrap()
                .unexpected
                .push(format!("{what}: {status} {body}"));
            return None;
        }
        Some(body)
    }

    /// One client: open, update, resolve, until the server stops answering.
    async fn client(&self, n: usize) {
        for round in 0..MAX_ROUNDS {
            let component = &self.components[(n + round) % 2];
            let status = if round % 2 == 0 {
                "major_outage"
            } else {
                "partial_outage"
            };
            let answer = self
                .send(
                    "/api/v1/incidents",
                    json!({
                        "name": format!("Client {n} round {round}"),
                        "body": format!("Client {n} round {round} opened."),
                        "components": {component.as_str(): status},
                    }),
                )
                .await;
            let Some(incident) = self.expect("open", answer, StatusCode::CREATED) else {
                return;
            };
            let id = incident["id"].as_str().expect("incident id").to_string();
            self.ledger.lock().unwrap().opened.push(id.clone());
            self.acknowledge();

            let body = format!("Client {n} round {round} identified.");
            let answer = self
                .send(
                    &format!("/api/v1/incidents/{id}/updates"),
                    json!({"status": "identified", "body": body}),
                )
                .await;
            let Some(incident) = self.expect("update", answer, StatusCode::CREATED) else {
                return;
            };
            let update = incident["updates"]
                .as_array()
                .expect("updates")
                .iter()
                .find(|u| u["body"] == body.as_str())
                .unwrap_or_else(|| panic!("the posted update is not in the answer: {incident}"));
            let update_id = update["id"].as_str().expect("update id").to_string();
            self.ledger
                .lock()
                .unwrap()
                .updates
                .push((id.clone(), update_id));
            self.acknowledge();

            let answer = self
                .send(&format!("/api/v1/incidents/{id}/resolve"), json!({}))
                .await;
            if self.expect("resolve", answer, StatusCode::OK).is_none() {
                return;
            }
            self.ledger.lock().unwrap().resolved.push(id);
            self.acknowledge();
        }
    }
}

/// Every page of a cursor-paged list.
async fn all_incidents(server: &Server, token: &str) -> Vec<Value> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/incidents?limit=500&cursor={c}"),
            None => "/api/v1/incidents?limit=500".to_string(),
        };
        let (status, page) = server.call(Some(token), Method::GET, &path, None).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        all.extend(page["data"].as_array().expect("data").iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => return all,
        }
    }
}

/// The whole event log, followed with `after=SEQ` as an integrator would.
async fn all_events(server: &Server, token: &str) -> Vec<Value> {
    let mut all = Vec::new();
    let mut after = 0;
    loop {
        let (status, page) = server
            .call(
                Some(token),
                Method::GET,
                &format!("/api/v1/events?after={after}&limit=1000"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let data = page["data"].as_array().expect("data");
        if data.is_empty() {
            return all;
        }
        after = page["next_after"].as_i64().expect("next_after");
        all.extend(data.iter().cloned());
    }
}

/// Runs the scenario over the database that `db_args` selects, with `dir` as the working
/// directory.
async fn kill_during_a_burst_of_writes(dir: &Path, db_args: &[&str]) {
    let out = run(pharos(dir)
        .args(["token", "create", "--name", "crash"])
        .args(db_args));
    out.assert_success("token create");
    let token = out.stdout.trim().to_string();
    let serve = || {
        Server::start(
            pharos(dir)
                .arg("serve")
                .args(db_args)
                .args(["--listen", "127.0.0.1:0"]),
        )
    };

    let server = serve();
    let mut components = Vec::new();
    for name in ["API", "Website"] {
        let (status, body) = server
            .call(
                Some(&token),
                Method::POST,
                "/api/v1/components",
                Some(json!({"name": name})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        components.push(body["id"].as_str().expect("id").to_string());
    }

    let burst = Arc::new(Burst {
        client: server.client.clone(),
        base: server.base.clone(),
        token: token.clone(),
        components: [components[0].clone(), components[1].clone()],
        ledger: Mutex::new(Ledger::default()),
        acknowledged: AtomicUsize::new(0),
        enough: Notify::new(),
    });
    let clients: Vec<_> = (0..CLIENTS)
        .map(|n| {
            let burst = burst.clone();
            tokio::spawn(async move { burst.client(n).await })
        })
        .collect();
    if tokio::time::timeout(BURST_DEADLINE, burst.enough.notified())
        .await
        .is_err()
    {
        panic!(
            "only {} writes acknowledged within {BURST_DEADLINE:?}; unexpected answers: {:?}\n--- stderr ---\n{}",
            burst.acknowledged.load(Ordering::SeqCst),
            burst.ledger.lock().unwrap().unexpected,
            server.stderr_so_far()
        );
    }
    let killed = server.kill();
    assert_eq!(killed.code(), None, "ended by SIGKILL: {killed}");
    for client in clients {
        client.await.expect("client task");
    }
    let ledger = std::mem::take(&mut *burst.ledger.lock().unwrap());
    assert!(
        ledger.unexpected.is_empty(),
        "writes refused before the kill: {:#?}\n--- server log ---\n{}",
        ledger.unexpected,
        killed.stderr
    );
    let acknowledged = burst.acknowledged.load(Ordering::SeqCst);
    assert!(acknowledged >= KILL_AFTER, "{acknowledged}");
    eprintln!(
        "killed after {acknowledged} acknowledged writes: {} opened, {} updates, {} resolved",
        ledger.opened.len(),
        ledger.updates.len(),
        ledger.resolved.len()
    );

    // The database opens again (migrations and all) and serves.
    let server = serve();
    let (status, body) = server.call(None, Method::GET, "/readyz", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let incidents: BTreeMap<String, Value> = all_incidents(&server, &token)
        .await
        .into_iter()
        .map(|i| (i["id"].as_str().expect("id").to_string(), i))
        .collect();

    // Every acknowledged write is there.
    for id in &ledger.opened {
        assert!(
            incidents.contains_key(id),
            "incident {id} was acknowledged but is gone"
        );
        let (status, body) = server
            .call(
                Some(&token),
                Method::GET,
                &format!("/api/v1/incidents/{id}"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{id}: {body}");
    }
    for (id, update_id) in &ledger.updates {
        let timeline = incidents[id]["updates"].as_array().expect("updates");
        assert!(
            timeline.iter().any(|u| u["id"] == update_id.as_str()),
            "update {update_id} of incident {id} was acknowledged but is gone"
        );
    }
    for id in &ledger.resolved {
        assert_eq!(
            incidents[id]["status"], "resolved",
            "incident {id} was resolved with 200 but is {}",
            incidents[id]["status"]
        );
        assert!(incidents[id]["resolved_at"].is_string());
    }

    // The event log is gapless and agrees with the state, in both directions.
    let events = all_events(&server, &token).await;
    let seqs: Vec<i64> = events
        .iter()
        .map(|e| e["seq"].as_i64().expect("seq"))
        .collect();
    assert_eq!(
        seqs,
        (1..=seqs.len() as i64).collect::<Vec<_>>(),
        "event sequence numbers have a gap"
    );
    let mut opened = BTreeSet::new();
    let mut timeline_events: BTreeMap<&str, usize> = BTreeMap::new();
    let mut resolved_events = BTreeSet::new();
    for event in &events {
        let kind = event["kind"].as_str().expect("kind");
        let Some(subject) = event["subject_id"].as_str() else {
            continue;
        };
        match kind {
            "incident.opened" => {
                assert!(opened.insert(subject), "{subject} opened twice");
            }
            "incident.update_posted" => {}
            "incident.resolved" => {
                resolved_events.insert(subject);
            }
            _ => continue,
        }
        *timeline_events.entry(subject).or_default() += 1;
    }
    let stored: BTreeSet<&str> = incidents.keys().map(String::as_str).collect();
    let without_event: Vec<_> = stored.difference(&opened).collect();
    let without_incident: Vec<_> = opened.difference(&stored).collect();
    assert!(
        without_event.is_empty() && without_incident.is_empty(),
        "incidents without `incident.opened`: {without_event:?}; `incident.opened` without incident: {without_incident:?}"
    );
    for (id, incident) in &incidents {
        let updates = incident["updates"].as_array().expect("updates").len();
        assert_eq!(
            updates,
            timeline_events[id.as_str()],
            "incident {id}: {updates} updates stored, but the log tells of {}",
            timeline_events[id.as_str()]
        );
        assert_eq!(
            incident["status"] == "resolved",
            resolved_events.contains(id.as_str()),
            "incident {id} is {} but the log {} its resolution",
            incident["status"],
            if resolved_events.contains(id.as_str()) {
                "has"
            } else {
                "lacks"
            }
        );
    }
    eprintln!(
        "after the restart: {} incidents, {} events",
        incidents.len(),
        events.len()
    );

    let stopped = server.terminate();
    assert_eq!(stopped.code(), Some(0), "{stopped}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_survives_kill_9_during_concurrent_writes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let data = data.to_str().expect("utf-8 path");
    kill_during_a_burst_of_writes(dir.path(), &["--data-dir", data]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_survives_kill_9_during_concurrent_writes() {
    let Some(url) = common::postgres::fresh_database_url().await else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    kill_during_a_burst_of_writes(dir.path(), &["--database-url", &url]).await;
    common::postgres::drop_database(&url).await;
}
