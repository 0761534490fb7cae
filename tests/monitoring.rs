//! Monitoring end to end, on both backends, with the real server and real targets on
//! 127.0.0.1: a target fails, the outage is confirmed, one incident opens with source
//! `monitor` and the component shows `major_outage` on `/api/v2`; the target recovers and the
//! incident resolves. Also: a hanging target does not delay other monitors, push heartbeats,
//! and the management API's validation.
//!
//! Monitors that need a short interval (1 s, below the API's 10 s minimum) are created
//! through the store, which the scheduler follows like any other change. No fixed sleeps:
//! every wait polls with a deadline.

mod common;

use axum::extract::State;
use axum::http::StatusCode as AxumStatus;
use axum::routing::get;
use common::app::TestApp;
use pharos::domain::{ManagedBy, MonitorId};
use pharos::events::Actor;
use pharos::monitor::evaluate::Policy;
use pharos::monitor::model::{Check, MonitorComponent, NewMonitor};
use pharos::store::Store;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const DEADLINE: Duration = Duration::from_secs(45);

/// When each request reached a target.
type Hits = Arc<std::sync::Mutex<Vec<chrono::DateTime<chrono::Utc>>>>;

/// An HTTP target whose answer the test flips (the status code it returns; 0 hangs), and
/// which notes when each request arrived.
struct Target {
    addr: SocketAddr,
    status: Arc<AtomicU16>,
    hits: Hits,
}

impl Target {
    async fn start() -> Target {
        let status = Arc::new(AtomicU16::new(200));
        let hits = Hits::default();
        let app = axum::Router::new()
            .route(
                "/health",
                get(
                    |State((status, hits)): State<(Arc<AtomicU16>, Hits)>| async move {
                        hits.lock().unwrap().push(chrono::Utc::now());
                        let code = status.load(Ordering::SeqCst);
                        if code == 0 {
                            std::future::pending::<()>().await;
                        }
                        (AxumStatus::from_u16(code).unwrap(), "ok")
                    },
                ),
            )
            .with_state((status.clone(), hits.clone()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind target");
        let addr = listener.local_addr().expect("target addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Target { addr, status, hits }
    }

    fn url(&self) -> String {
        format!("http://{}/health", self.addr)
    }

    fn set(&self, code: u16) {
        self.status.store(code, Ordering::SeqCst);
    }
}

/// Polls `probe` until it returns `Some`, or panics after the deadline saying what it waited for.
async fn wait_for<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let started = Instant::now();
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            started.elapsed() < DEADLINE,
            "timed out after {DEADLINE:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn create_component(app: &TestApp, name: &str) -> String {
    let created = app
        .ok(
            Method::POST,
            "/api/v1/components",
            Some(json!({ "name": name })),
            StatusCode::CREATED,
        )
        .await;
    created["id"].as_str().expect("component id").to_string()
}

/// A monitor with a 1 s interval, created through the store (the API's minimum is 10 s).
async fn fast_monitor(
    app: &TestApp,
    name: &str,
    check: Value,
    timeout_ms: u64,
    components: &[&str],
) -> MonitorId {
    let check: Check = serde_json::from_value(check).expect("check settings");
    let monitor = app
        .store
        .create_monitor(
            NewMonitor {
                name: name.into(),
                description: None,
                check,
                interval_seconds: 1,
                timeout_ms,
                policy: Policy {
                    down_after: 2,
                    up_after: 2,
                    ..Policy::default()
                },
                components: components
                    .iter()
                    .map(|id| MonitorComponent {
                        component_id: id.parse().expect("component id"),
                        down_status: pharos::domain::ComponentStatus::MajorOutage,
                    })
                    .collect(),
                tags: vec![],
                paused: false,
                auto_incidents: true,
                push_token_hash: None,
                managed_by: ManagedBy::Api,
                config_key: None,
            },
            &Actor::token("writer"),
        )
        .await
        .expect("create monitor");
    monitor.id
}

async fn monitor_health(app: &TestApp, id: MonitorId) -> String {
    let (status, body) = app.get(&format!("/api/v1/monitors/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["health"].as_str().unwrap_or_default().to_string()
}

/// The component as `/api/v2/summary.json` shows it.
async fn public_component(app: &TestApp, component: &str) -> Option<Value> {
    let summary: Value = app
        .client
        .get(app.url("/api/v2/summary.json"))
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    summary["components"]
        .as_array()?
        .iter()
        .find(|c| c["id"] == component)
        .cloned()
}

async fn public_component_status(app: &TestApp, component: &str) -> Option<String> {
    public_component(app, component).await?["status"]
        .as_str()
        .map(str::to_string)
}

async fn an_outage_opens_one_incident_and_recovery_resolves_it(app: TestApp) {
    let target = Target::start().await;
    let component = create_component(&app, "API").await;
    let id = fast_monitor(
        &app,
        "API health",
        json!({ "kind": "http", "url": target.url() }),
        800,
        &[&component],
    )
    .await;

    wait_for("the monitor to be up", || async {
        (monitor_health(&app, id).await == "up").then_some(())
    })
    .await;
    // "Last checked" for the monitored component, in /api/v2 and on the page.
    wait_for("last_checked_at on the monitored component", || async {
        public_component(&app, &component).await?["last_checked_at"]
            .as_str()
            .map(|_| ())
    })
    .await;
    let page = app
        .client
        .get(app.url("/"))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("page text");
    assert!(
        page.contains("data-ago>Checked "),
        "no \"Checked ...\" on the page"
    );

    target.set(500);
    wait_for("the component to show major_outage on /api/v2", || async {
        (public_component_status(&app, &component).await.as_deref() == Some("major_outage"))
            .then_some(())
    })
    .await;
    assert_eq!(monitor_health(&app, id).await, "down");
    let (_, open) = app.get("/api/v1/incidents?state=open").await;
    let open = open["data"].as_array().expect("incidents").clone();
    assert_eq!(open.len(), 1, "one incident: {open:?}");
    let incident = &open[0];
    assert_eq!(incident["source"]["kind"], "monitor");
    assert_eq!(incident["source"]["ref"], id.to_string());
    assert_eq!(incident["impact"], "critical");
    let body = incident["updates"][0]["body"].as_str().unwrap_or_default();
    assert!(body.starts_with("Detected by Pharos"), "{body}");
    // The incident starts at the first failing check, which the results show.
    let checks = app
        .store
        .recent_checks(id, 100)
        .await
        .expect("recent checks");
    let first_failure = checks
        .iter()
        .rev()
        .find(|c| c.outcome == pharos::monitor::probe::Outcome::Down)
        .expect("a failing check");
    assert_eq!(
        incident["started_at"].as_str(),
        Some(first_failure.at.to_db().as_str())
    );
    assert_eq!(first_failure.status_code, Some(500));

    target.set(200);
    let incident_id = incident["id"].as_str().expect("incident id").to_string();
    wait_for("the incident to resolve", || async {
        let (_, body) = app.get(&format!("/api/v1/incidents/{incident_id}")).await;
        (body["status"] == "resolved").then_some(())
    })
    .await;
    wait_for("the component to be operational again", || async {
        (public_component_status(&app, &component).await.as_deref() == Some("operational"))
            .then_some(())
    })
    .await;

    let (_, all) = app.get("/api/v1/incidents").await;
    assert_eq!(
        all["data"].as_array().map(Vec::len),
        Some(1),
        "exactly one incident: {all}"
    );
    // The latency chart shows the outage's failed checks.
    let chart = app
        .client
        .get(app.url(&format!("/api/v1/monitors/{id}/latency.svg?hours=1")))
        .bearer_auth(&app.read_token)
        .send()
        .await
        .expect("chart");
    assert_eq!(chart.status(), StatusCode::OK);
    assert_eq!(
        chart.headers()["content-type"].to_str().unwrap_or_default(),
        "image/svg+xml"
    );
    let svg = chart.text().await.expect("svg");
    assert!(
        svg.starts_with("<svg") && svg.contains("API health: latency"),
        "{svg}"
    );
    assert!(svg.contains("checks failed"), "{svg}");
    let (_, events) = app.get("/api/v1/events?limit=500").await;
    let kinds: Vec<String> = events["data"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["subject_id"] == id.to_string() || e["subject_id"] == incident_id)
        .map(|e| e["kind"].as_str().unwrap_or_default().to_string())
        .collect();
    let transitions: Vec<(String, String)> = events["data"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["kind"] == "monitor.state_changed")
        .map(|e| {
            (
                e["data"]["transition"]["from"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                e["data"]["transition"]["to"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect();
    assert_eq!(
        transitions,
        [
            ("pending".to_string(), "up".to_string()),
            ("up".to_string(), "down".to_string()),
            ("down".to_string(), "up".to_string())
        ],
        "{kinds:?}"
    );
    assert_eq!(
        kinds.iter().filter(|k| *k == "incident.opened").count(),
        1,
        "{kinds:?}"
    );
    assert_eq!(
        kinds.iter().filter(|k| *k == "incident.resolved").count(),
        1,
        "{kinds:?}"
    );
    // The evidence of the outage is in its event.
    let down = events["data"]
        .as_array()
        .expect("events")
        .iter()
        .find(|e| e["kind"] == "monitor.state_changed" && e["data"]["transition"]["to"] == "down")
        .expect("the down event");
    assert!(
        down["data"]["transition"]["evidence"]
            .as_array()
            .is_some_and(|e| e.len() >= 2),
        "{down}"
    );
    app.stop().await;
}
both_backends!(
    an_outage_opens_one_incident_and_recovery_resolves_it,
    an_outage_opens_one_incident_and_recovery_resolves_it
);

/// Runs a fast monitor against a target, makes the database unreachable with `cut` while
/// checks go on (the API says 503), brings it back with `restore`, and asserts that every
/// request the target saw during the outage has its stored result, each stored once.
async fn checks_during_an_outage_are_written_afterwards(
    app: &TestApp,
    cut: impl FnOnce(),
    restore: impl FnOnce(),
) {
    let target = Target::start().await;
    let hits = target.hits.clone();
    let id = fast_monitor(
        app,
        "through an outage",
        json!({ "kind": "http", "url": target.url() }),
        800,
        &[],
    )
    .await;
    wait_for("two stored results", || async {
        let checks = app.store.recent_checks(id, 10).await.ok()?;
        (checks.len() >= 2).then_some(())
    })
    .await;

    cut();
    let cut_at = chrono::Utc::now();
    let seen = hits.lock().unwrap().len();
    wait_for("four checks during the outage", || async {
        (hits.lock().unwrap().len() >= seen + 4).then_some(())
    })
    .await;
    // While the database is away the API says so; the checks go on.
    let (status, _) = app.get(&format!("/api/v1/monitors/{id}")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let restored_at = chrono::Utc::now();
    restore();

    let during: Vec<_> = hits
        .lock()
        .unwrap()
        .iter()
        .copied()
        .filter(|h| *h > cut_at && *h < restored_at)
        .collect();
    assert!(during.len() >= 4, "{during:?}");
    wait_for("every check of the outage to be stored", || async {
        let checks = app.store.recent_checks(id, 1000).await.ok()?;
        // Each request matches the result of the check that made it, started just before.
        let all_stored = during.iter().all(|hit| {
            checks.iter().any(|c| {
                let lead = *hit - c.at.0;
                lead >= chrono::Duration::zero() && lead < chrono::Duration::milliseconds(700)
            })
        });
        all_stored.then_some(())
    })
    .await;
    // Each check is stored once: no result written twice on the way back.
    let checks = app.store.recent_checks(id, 1000).await.expect("checks");
    let mut times: Vec<_> = checks.iter().map(|c| c.at.0).collect();
    let total = times.len();
    times.sort();
    times.dedup();
    assert_eq!(times.len(), total, "a result was written twice");
}

/// The database goes away while checks run (PostgreSQL behind a proxy the test cuts): the
/// results are kept and written when it returns, none lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_of_checks_during_a_database_outage_are_written_afterwards() {
    let Some(url) = common::postgres::fresh_database_url().await else {
        return;
    };
    let (proxy, proxied) = common::proxy::Proxy::in_front_of(&url).await;
    let app = common::app::spawn_on(proxied).await;
    checks_during_an_outage_are_written_afterwards(&app, || proxy.cut(), || proxy.restore()).await;
    app.stop().await;
    common::postgres::drop_database(&url).await;
}

/// The same on SQLite: its file is taken away while checks run (a volume unmounted, the file
/// moved by hand). Writes fail instead of going to a new empty file; the results wait in the
/// writer and are written once the file is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_of_checks_while_the_sqlite_file_is_away_are_written_afterwards() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("pharos.db");
    let away = dir.path().join("away");
    let app = common::app::spawn_on(common::postgres::sqlite_url(dir.path())).await;
    checks_during_an_outage_are_written_afterwards(
        &app,
        || common::sqlite::move_away(&db, &away),
        || {
            assert!(!db.exists(), "no new, empty database at {}", db.display());
            common::sqlite::bring_back(&db, &away);
        },
    )
    .await;
    app.stop().await;
}

/// Stopping while the database is away keeps the unwritten results on disk; the next start
/// on the same data folder writes them once the database answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_unwritten_at_stop_are_written_after_a_restart() {
    let Some(url) = common::postgres::fresh_database_url().await else {
        return;
    };
    let (proxy, proxied) = common::proxy::Proxy::in_front_of(&url).await;
    let data = tempfile::tempdir().expect("data dir");
    let app = common::app::spawn_on_at(
        proxied.clone(),
        data.path().to_path_buf(),
        tempfile::tempdir().expect("temp dir"),
    )
    .await;
    let target = Target::start().await;
    let hits = target.hits.clone();
    let id = fast_monitor(
        &app,
        "through a restart",
        json!({ "kind": "http", "url": target.url() }),
        800,
        &[],
    )
    .await;
    let store = app.store.clone();
    wait_for("a stored result", || async {
        let checks = store.recent_checks(id, 10).await.ok()?;
        (!checks.is_empty()).then_some(())
    })
    .await;

    proxy.cut();
    let cut_at = chrono::Utc::now();
    let seen = hits.lock().unwrap().len();
    wait_for("three checks during the outage", || async {
        (hits.lock().unwrap().len() >= seen + 3).then_some(())
    })
    .await;
    let stopping_at = chrono::Utc::now();
    app.stop().await;
    let spill = data.path().join(pharos::monitor::spill::FILE_NAME);
    let kept = std::fs::read_to_string(&spill).expect("unwritten results kept on disk");
    assert!(kept.lines().count() >= 3, "{kept}");

    proxy.restore();
    let during: Vec<_> = hits
        .lock()
        .unwrap()
        .iter()
        .copied()
        .filter(|h| *h > cut_at && *h < stopping_at - chrono::Duration::milliseconds(300))
        .collect();
    assert!(during.len() >= 2, "{during:?}");
    let again = common::app::spawn_on_at(
        proxied,
        data.path().to_path_buf(),
        tempfile::tempdir().expect("temp dir"),
    )
    .await;
    wait_for("the kept results to be stored", || async {
        let checks = again.store.recent_checks(id, 1000).await.ok()?;
        let all_stored = during.iter().all(|hit| {
            checks.iter().any(|c| {
                let lead = *hit - c.at.0;
                lead >= chrono::Duration::zero() && lead < chrono::Duration::milliseconds(700)
            })
        });
        (all_stored && !spill.exists()).then_some(())
    })
    .await;
    again.stop().await;
    common::postgres::drop_database(&url).await;
}

async fn a_hanging_target_does_not_delay_other_monitors(app: TestApp) {
    let hanging = Target::start().await;
    hanging.set(0);
    let healthy = Target::start().await;
    let stuck = fast_monitor(
        &app,
        "hangs",
        json!({ "kind": "http", "url": hanging.url() }),
        900,
        &[],
    )
    .await;
    let fine = fast_monitor(
        &app,
        "answers",
        json!({ "kind": "http", "url": healthy.url() }),
        900,
        &[],
    )
    .await;
    // Wait for several results of both.
    let checks = wait_for("six results of the healthy monitor", || async {
        let checks = app.store.recent_checks(fine, 100).await.ok()?;
        (checks.len() >= 6).then_some(checks)
    })
    .await;
    let stuck_checks = wait_for("results of the hanging monitor", || async {
        let checks = app.store.recent_checks(stuck, 100).await.ok()?;
        (checks.len() >= 2).then_some(checks)
    })
    .await;
    assert!(stuck_checks
        .iter()
        .all(|c| c.error == Some(pharos::monitor::probe::ErrorClass::Timeout)));
    assert!(checks
        .iter()
        .all(|c| c.outcome == pharos::monitor::probe::Outcome::Up));
    // The healthy monitor kept its 1 s rhythm: no turn was lost to the hanging one.
    let gaps: Vec<i64> = checks
        .windows(2)
        .map(|w| (w[0].at.0 - w[1].at.0).num_milliseconds())
        .collect();
    assert!(
        gaps.iter().all(|g| (500..=1_900).contains(g)),
        "gaps between checks of the healthy monitor (ms): {gaps:?}"
    );
    app.stop().await;
}
both_backends!(
    a_hanging_target_does_not_delay_other_monitors,
    a_hanging_target_does_not_delay_other_monitors
);

async fn push_heartbeats_are_recorded(app: TestApp) {
    let created = app
        .ok(
            Method::POST,
            "/api/v1/monitors",
            Some(json!({ "name": "nightly backup", "check": { "kind": "push" }, "interval_seconds": 3600 })),
            StatusCode::CREATED,
        )
        .await;
    let id: MonitorId = created["id"].as_str().expect("id").parse().expect("uuid");
    let push_url = created["push_url"].as_str().expect("push url").to_string();
    // The scheduler learns of the monitor through the log; a beat before that is retried.
    wait_for("the first heartbeat to be recorded", || async {
        let response = app.client.post(app.url(&push_url)).send().await.ok()?;
        assert_eq!(response.status(), StatusCode::OK);
        let checks = app.store.recent_checks(id, 10).await.ok()?;
        (!checks.is_empty()).then_some(())
    })
    .await;
    let response = app
        .client
        .get(app.url(&format!("{push_url}?status=down&msg=disk%20full")))
        .send()
        .await
        .expect("push down");
    assert_eq!(response.status(), StatusCode::OK);
    let checks = wait_for("the failure report", || async {
        let checks = app.store.recent_checks(id, 10).await.ok()?;
        checks
            .iter()
            .any(|c| c.message == "disk full")
            .then_some(checks)
    })
    .await;
    let failure = checks.iter().find(|c| c.message == "disk full").unwrap();
    assert_eq!(failure.outcome, pharos::monitor::probe::Outcome::Down);
    assert_eq!(
        failure.error,
        Some(pharos::monitor::probe::ErrorClass::Reported)
    );
    // Another secret is no monitor's.
    let response = app
        .client
        .post(app.url("/api/v1/push/not-a-real-secret"))
        .send()
        .await
        .expect("push unknown");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let (_, listed) = app.get(&format!("/api/v1/monitors/{id}")).await;
    assert!(listed.get("push_url").is_none(), "the secret is shown once");
    app.stop().await;
}
both_backends!(push_heartbeats_are_recorded, push_heartbeats_are_recorded);

async fn the_api_validates_and_manages_monitors(app: TestApp) {
    let component = create_component(&app, "Website").await;
    for (body, expected) in [
        (
            json!({ "name": "x", "check": { "kind": "http", "url": "http://127.0.0.1:9/" }, "interval_seconds": 5 }),
            "interval_seconds",
        ),
        (
            json!({ "name": "x", "check": { "kind": "http", "url": "ftp://example.test/" } }),
            "url",
        ),
        (
            json!({ "name": "", "check": { "kind": "tcp", "host": "127.0.0.1", "port": 9 } }),
            "name",
        ),
        (
            json!({ "name": "x", "check": { "kind": "http", "url": "http://127.0.0.1:9/" }, "interval_seconds": 30, "timeout_ms": 60000 }),
            "timeout_ms",
        ),
        (
            json!({ "name": "x", "check": { "kind": "http", "url": "http://127.0.0.1:9/" },
                    "components": [{ "component_id": "0190a0a0-0000-7000-8000-000000000000" }] }),
            "does not exist",
        ),
    ] {
        let (status, error) = app.post("/api/v1/monitors", body.clone()).await;
        assert!(
            status == StatusCode::UNPROCESSABLE_ENTITY || status == StatusCode::BAD_REQUEST,
            "{body} -> {status} {error}"
        );
        let message = error["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(expected), "{body} -> {message}");
    }
    let created = app
        .ok(
            Method::POST,
            "/api/v1/monitors",
            Some(json!({
                "name": "Website",
                "check": { "kind": "http", "url": "http://127.0.0.1:9/" },
                "interval_seconds": 30,
                "components": [{ "component_id": component }],
                "tags": ["web"],
                "paused": true
            })),
            StatusCode::CREATED,
        )
        .await;
    let id = created["id"].as_str().expect("id").to_string();
    assert_eq!(created["health"], "pending");
    assert_eq!(created["components"][0]["down_status"], "major_outage");
    assert_eq!(created["policy"]["down_after"], 3);
    let (status, error) = app
        .patch(
            &format!("/api/v1/monitors/{id}"),
            json!({ "check": { "kind": "tcp", "host": "127.0.0.1", "port": 9 } }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    let updated = app
        .ok(
            Method::PATCH,
            &format!("/api/v1/monitors/{id}"),
            Some(json!({ "name": "Website (home page)", "interval_seconds": 60 })),
            StatusCode::OK,
        )
        .await;
    assert_eq!(updated["name"], "Website (home page)");
    assert_eq!(updated["interval_seconds"], 60);
    let (_, listed) = app.get("/api/v1/monitors").await;
    assert_eq!(listed["data"].as_array().map(Vec::len), Some(1));
    app.ok(
        Method::DELETE,
        &format!("/api/v1/monitors/{id}"),
        None,
        StatusCode::NO_CONTENT,
    )
    .await;
    let (status, _) = app.get(&format!("/api/v1/monitors/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    app.stop().await;
}
both_backends!(
    the_api_validates_and_manages_monitors,
    the_api_validates_and_manages_monitors
);

/// `GET /api/v1/monitors/{id}/uptime` and `/rollups`: results stored over 30 hours (through
/// the store, with their own times) give the same uptime before and after they are rolled up,
/// and hour and day roll-ups that add up to them; bad queries are 400, unknown monitors 404.
async fn uptime_and_rollups_are_served(app: TestApp) {
    use pharos::clock::{Clock, SystemClock};
    use pharos::domain::Timestamp;
    use pharos::monitor::probe::{ErrorClass, Outcome, ProbeReport, Timings};
    use pharos::monitor::rollup::Period;
    use pharos::store::RecordedCheck;

    let created = app
        .ok(
            Method::POST,
            "/api/v1/monitors",
            Some(json!({
                "name": "history",
                "check": { "kind": "tcp", "host": "127.0.0.1", "port": 9 },
                "paused": true
            })),
            StatusCode::CREATED,
        )
        .await;
    let id: MonitorId = created["id"].as_str().expect("id").parse().expect("uuid");
    let now = SystemClock.now();
    let first = Period::Hour.floor(Timestamp::from_datetime(
        now.0 - chrono::Duration::hours(30),
    ));
    // Every 10 minutes up to 5 minutes ago; one in four fails, one in six is degraded.
    let mut inputs: Vec<(Timestamp, Outcome)> = Vec::new();
    let mut at = first;
    let mut k = 0;
    while at.0 < now.0 - chrono::Duration::minutes(5) {
        let outcome = if k % 4 == 1 {
            Outcome::Down
        } else if k % 6 == 2 {
            Outcome::Degraded
        } else {
            Outcome::Up
        };
        inputs.push((at, outcome));
        at = Timestamp::from_datetime(at.0 + chrono::Duration::minutes(10));
        k += 1;
    }
    let batch: Vec<RecordedCheck> = inputs
        .iter()
        .enumerate()
        .map(|(i, (at, outcome))| {
            let timings = Timings {
                total_ms: 10.0 + i as f64,
                ..Timings::default()
            };
            let mut report = match outcome {
                Outcome::Down => ProbeReport::down(ErrorClass::Connect, "refused", timings),
                _ => ProbeReport::up("ok", timings),
            };
            report.outcome = *outcome;
            RecordedCheck {
                record: pharos::monitor::model::CheckRecord::new(id, *at, report),
                memory: Default::default(),
            }
        })
        .collect();
    app.store
        .record_checks(&batch)
        .await
        .expect("record checks");

    let expected = |as_of: Timestamp, days: i64| -> f64 {
        let start = as_of.0 - chrono::Duration::days(days);
        let window: Vec<_> = inputs.iter().filter(|(at, _)| at.0 >= start).collect();
        let passed = window.iter().filter(|(_, o)| *o != Outcome::Down).count();
        passed as f64 * 100.0 / window.len() as f64
    };
    let check_uptime = |body: Value, what: &str| {
        assert_eq!(body["monitor_id"], id.to_string(), "{what}: {body}");
        let as_of = Timestamp::parse(body["as_of"].as_str().expect("as_of")).expect("time");
        let figures = &body["uptime_percent"];
        assert_eq!(
            figures["24h"].as_f64(),
            Some(expected(as_of, 1)),
            "{what}: {body}"
        );
        for window in ["7d", "30d", "90d", "1y"] {
            assert_eq!(
                figures[window].as_f64(),
                Some(expected(as_of, 365)),
                "{what}: {body}"
            );
        }
    };
    let path = format!("/api/v1/monitors/{id}/uptime");
    check_uptime(
        app.ok(Method::GET, &path, None, StatusCode::OK).await,
        "raw results",
    );
    // The background task may roll up too; rolling up is idempotent either way.
    app.store.roll_up(now).await.expect("roll up");
    check_uptime(
        app.ok(Method::GET, &path, None, StatusCode::OK).await,
        "roll-ups",
    );

    let rolled = Period::Hour.floor(now);
    let rolled_inputs = inputs.iter().filter(|(at, _)| *at < rolled).count() as u64;
    let sum = |rows: &Value, field: &str| -> u64 {
        rows.as_array()
            .expect("roll-ups")
            .iter()
            .map(|r| r[field].as_u64().expect("count"))
            .sum()
    };
    let since = first.to_db();
    let hours = app
        .ok(
            Method::GET,
            &format!("/api/v1/monitors/{id}/rollups?period=hour&since={since}"),
            None,
            StatusCode::OK,
        )
        .await;
    let list = hours.as_array().expect("hours");
    assert!(list.len() >= 30, "{} hours", list.len());
    assert_eq!(list[0]["period"], "hour");
    assert_eq!(
        list[0]["period_start"].as_str().and_then(Timestamp::parse),
        Some(first)
    );
    assert_eq!(list[0]["checks"], 6);
    assert_eq!(sum(&hours, "checks"), rolled_inputs);
    assert_eq!(
        sum(&hours, "down"),
        inputs
            .iter()
            .filter(|(at, o)| *at < rolled && *o == Outcome::Down)
            .count() as u64
    );
    assert!(list[0]["latency_p95_ms"].as_f64().is_some(), "{}", list[0]);
    let days = app
        .ok(
            Method::GET,
            &format!("/api/v1/monitors/{id}/rollups?period=day&since={since}"),
            None,
            StatusCode::OK,
        )
        .await;
    assert!(
        (2..=3).contains(&days.as_array().map(Vec::len).unwrap_or(0)),
        "{days}"
    );
    assert_eq!(sum(&days, "checks"), rolled_inputs);
    // The default span of days (90) holds them all too.
    let default_days = app
        .ok(
            Method::GET,
            &format!("/api/v1/monitors/{id}/rollups"),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(default_days, days);

    for query in [
        "period=week",
        "since=yesterday",
        "period=hour&since=2020-01-01T00:00:00Z",
        "limit=5",
    ] {
        let (status, body) = app
            .get(&format!("/api/v1/monitors/{id}/rollups?{query}"))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
    }
    let unknown = "0190a0a0-0000-7000-8000-000000000000";
    for path in [
        format!("/api/v1/monitors/{unknown}/uptime"),
        format!("/api/v1/monitors/{unknown}/rollups"),
    ] {
        let (status, body) = app.get(&path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
        assert_eq!(body["error"]["code"], "not_found");
    }
    let idle = app
        .ok(
            Method::POST,
            "/api/v1/monitors",
            Some(json!({
                "name": "idle",
                "check": { "kind": "tcp", "host": "127.0.0.1", "port": 9 },
                "paused": true
            })),
            StatusCode::CREATED,
        )
        .await;
    let body = app
        .ok(
            Method::GET,
            &format!(
                "/api/v1/monitors/{}/uptime",
                idle["id"].as_str().expect("id")
            ),
            None,
            StatusCode::OK,
        )
        .await;
    assert!(
        ["24h", "7d", "30d", "90d", "1y"]
            .iter()
            .all(|w| body["uptime_percent"][w].is_null()),
        "{body}"
    );
    app.stop().await;
}
both_backends!(uptime_and_rollups_are_served, uptime_and_rollups_are_served);

/// The roll-up task rolls up at once when it starts (catching up what accumulated while it
/// was not running), prunes raw results past the retention once they are rolled up, and
/// stops when told. Wall time is a `ManualClock`: the task reads it, it never sleeps on it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rollup_task_catches_up_prunes_and_stops() {
    use pharos::clock::ManualClock;
    use pharos::domain::Timestamp;
    use pharos::monitor::probe::{ProbeReport, Timings};
    use pharos::monitor::rollup::Period;
    use pharos::store::{RecordedCheck, SqlStore};

    let dir = tempfile::tempdir().expect("temporary folder");
    let now = Timestamp::parse("2026-03-04T10:30:00Z").expect("now");
    let clock = Arc::new(ManualClock::new(now));
    let store: Arc<SqlStore> = Arc::new(
        SqlStore::open(
            &pharos::store::sql::ConnectOptions::new(common::postgres::sqlite_url(dir.path())),
            clock.clone(),
        )
        .await
        .expect("open store"),
    );
    let check: Check =
        serde_json::from_value(json!({ "kind": "tcp", "host": "127.0.0.1", "port": 9 }))
            .expect("check");
    let id = store
        .create_monitor(
            NewMonitor {
                name: "history".into(),
                description: None,
                check,
                interval_seconds: 60,
                timeout_ms: 1_000,
                policy: Policy::default(),
                components: vec![],
                tags: vec![],
                paused: true,
                auto_incidents: false,
                push_token_hash: None,
                managed_by: ManagedBy::Api,
                config_key: None,
            },
            &Actor::cli(),
        )
        .await
        .expect("create monitor")
        .id;
    // Three days of results, one every 15 minutes, with no roll-up yet.
    let first = Timestamp::parse("2026-03-01T10:00:00Z").expect("first");
    let batch: Vec<RecordedCheck> = (0..4 * 72)
        .map(|k| {
            let at = Timestamp::from_datetime(first.0 + chrono::Duration::minutes(15 * k));
            let report = ProbeReport::up(
                "ok",
                Timings {
                    total_ms: 12.0,
                    ..Timings::default()
                },
            );
            RecordedCheck {
                record: pharos::monitor::model::CheckRecord::new(id, at, report),
                memory: Default::default(),
            }
        })
        .collect();
    store.record_checks(&batch).await.expect("record");
    let cutoff = Timestamp::parse("2026-03-03T10:30:00Z").expect("a day before now");
    let kept = batch.iter().filter(|r| r.record.at >= cutoff).count();

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let ready = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let task = tokio::spawn(pharos::monitor::rollup::run(
        store.clone(),
        clock.clone(),
        ready,
        stop_rx,
        Duration::from_secs(86_400),
    ));
    // Every hour up to 10:00 (the one ending at 10:00 settled long ago), and the raw results
    // older than a day pruned.
    let hours = wait_for("the task to roll up and prune", || async {
        let hours = store.monitor_rollups(id, Period::Hour, first).await.ok()?;
        let raw = store.recent_checks(id, 1_000).await.ok()?;
        (hours.len() == 72 && raw.len() == kept).then_some(hours)
    })
    .await;
    assert_eq!(
        hours.last().map(|h| h.period_start),
        Timestamp::parse("2026-03-04T09:00:00Z")
    );
    assert!(hours
        .iter()
        .all(|h| h.checks == 4 && h.uptime_percent == Some(100.0)));
    let raw = store.recent_checks(id, 1_000).await.expect("raw");
    assert_eq!(raw.last().map(|c| c.at), Some(cutoff), "kept: the last day");
    stop_tx.send(true).expect("stop");
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("the task stops when told")
        .expect("the task does not panic");
    store.close().await;
}

/// The body of a public page, with its status and content type.
async fn page(app: &TestApp, path: &str) -> (StatusCode, String, String) {
    let resp = app.client.get(app.url(path)).send().await.expect("request");
    let status = resp.status();
    let content_type = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    (status, content_type, resp.text().await.expect("body"))
}

/// `/monitors/{id}`: a monitor that drives a component has a public page with its state in
/// words, its uptime over the five windows, its latency chart and its latest results, and
/// nothing of what it checks (no URL, address, header or check message); the snapshot's
/// monitored components name it for the status page's link. Unknown and malformed ids, and
/// monitors that drive no component, are 404.
async fn the_public_monitor_page_shows_state_uptime_and_chart_but_not_the_target(app: TestApp) {
    let target = Target::start().await;
    let component = create_component(&app, "Checkout").await;
    let id = fast_monitor(
        &app,
        "Checkout health",
        json!({
            "kind": "http",
            "url": target.url(),
            "headers": { "X-Internal-Token": "hunter2" }
        }),
        900,
        &[&component],
    )
    .await;
    let private = fast_monitor(
        &app,
        "Internal only",
        json!({ "kind": "http", "url": target.url() }),
        900,
        &[],
    )
    .await;
    wait_for("the monitor to be up with a few results", || async {
        let up = monitor_health(&app, id).await == "up";
        let results = app.store.recent_checks(id, 10).await.ok()?;
        (up && results.len() >= 3).then_some(())
    })
    .await;

    let (status, content_type, html) = page(&app, &format!("/monitors/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(content_type.starts_with("text/html"), "{content_type}");
    for expected in [
        "<h1>Checkout health</h1>",
        "HTTP check, every 1 s",
        // The state in words, not only in colour.
        "</span> Up</span>",
        "Its checks are passing.",
        "Last checked",
        // Uptime over every window; every check passed.
        "<dt>24 hours</dt><dd>100.0 %</dd>",
        "<dt>7 days</dt>",
        "<dt>30 days</dt>",
        "<dt>90 days</dt>",
        "<dt>1 year</dt>",
        // The chart, and the latest results with their latency.
        &format!("src=\"/monitors/{id}/latency.svg\""),
        "Latency chart of the last 24 hours: ",
        "Latest checks",
        " ms</td>",
        // The component it drives.
        "<li>Checkout</li>",
    ] {
        assert!(html.contains(expected), "{expected} in {html}");
    }
    // (The page's own address is 127.0.0.1 too, in its canonical link: the target's port
    // tells them apart.)
    let address = target.addr.to_string();
    for secret in [
        target.url().as_str(),
        address.as_str(),
        "/health\"",
        "X-Internal-Token",
        "hunter2",
        // The check messages ("200 OK in 3 ms") stay private too.
        "200 OK",
    ] {
        assert!(!html.contains(secret), "the page leaks {secret}: {html}");
    }

    let (status, content_type, svg) = page(&app, &format!("/monitors/{id}/latency.svg")).await;
    assert_eq!(status, StatusCode::OK, "{svg}");
    assert_eq!(content_type, "image/svg+xml");
    assert!(
        svg.starts_with("<svg") && svg.contains("Checkout health: latency"),
        "{svg}"
    );
    assert!(
        !svg.contains(&address) && !svg.contains("127.0.0.1"),
        "{svg}"
    );

    // The link data the status page uses: the component's monitors, by id and name.
    let checks = app
        .store
        .component_checks()
        .await
        .expect("component checks");
    let refs: Vec<_> = checks
        .iter()
        .find(|c| c.component_id.to_string() == component)
        .map(|c| {
            c.monitor_refs
                .iter()
                .map(|m| (m.id, m.name.as_str()))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(refs, vec![(id, "Checkout health")]);
    wait_for(
        "the status page to link the monitor from its component",
        || async {
            let (_, _, index) = page(&app, "/").await;
            index
                .contains(&format!("<a href=\"/monitors/{id}\">Checkout health</a>"))
                .then_some(())
        },
    )
    .await;

    let unknown = uuid::Uuid::now_v7();
    for path in [
        format!("/monitors/{unknown}"),
        format!("/monitors/{unknown}/latency.svg"),
        "/monitors/not-a-monitor".to_string(),
        "/monitors/..%2Fapi".to_string(),
        format!("/monitors/{private}"),
        format!("/monitors/{private}/latency.svg"),
    ] {
        let (status, content_type, body) = page(&app, &path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
        assert!(
            content_type.starts_with("text/html"),
            "{path}: {content_type}"
        );
    }

    // Pausing shows in words (after the page's few seconds of caching). Through the store,
    // as the API refuses the 1 s interval of this monitor.
    app.store
        .update_monitor(
            id,
            pharos::monitor::model::MonitorPatch {
                paused: Some(true),
                ..Default::default()
            },
            &Actor::token("writer"),
        )
        .await
        .expect("pause the monitor");
    wait_for("the page to say the monitor is paused", || async {
        let (_, _, html) = page(&app, &format!("/monitors/{id}")).await;
        html.contains("</span> Paused</span>").then_some(())
    })
    .await;
    app.stop().await;
}
both_backends!(
    the_public_monitor_page_shows_state_uptime_and_chart_but_not_the_target,
    the_public_monitor_page_shows_state_uptime_and_chart_but_not_the_target
);

/// An HTTP target that holds every request for a while and notes the most requests it held
/// at once, in all and per `Host`.
#[derive(Clone, Default)]
struct Concurrency {
    now: Arc<std::sync::Mutex<(usize, std::collections::HashMap<String, usize>)>>,
    most: Arc<std::sync::Mutex<(usize, std::collections::HashMap<String, usize>)>>,
    served: Arc<std::sync::atomic::AtomicUsize>,
}

impl Concurrency {
    async fn serve(self, listener: tokio::net::TcpListener, hold: Duration) {
        let app = axum::Router::new()
            .route(
                "/slow",
                get(
                    |State((seen, hold)): State<(Concurrency, Duration)>,
                     headers: axum::http::HeaderMap| async move {
                        let host = headers
                            .get("host")
                            .and_then(|h| h.to_str().ok())
                            .and_then(|h| h.rsplit_once(':').map(|(name, _)| name.to_string()))
                            .unwrap_or_default();
                        {
                            let mut now = seen.now.lock().unwrap();
                            now.0 += 1;
                            *now.1.entry(host.clone()).or_default() += 1;
                            let mut most = seen.most.lock().unwrap();
                            most.0 = most.0.max(now.0);
                            let on_host = now.1[&host];
                            let best = most.1.entry(host.clone()).or_default();
                            *best = (*best).max(on_host);
                        }
                        tokio::time::sleep(hold).await;
                        let mut now = seen.now.lock().unwrap();
                        now.0 -= 1;
                        *now.1.entry(host).or_default() -= 1;
                        seen.served.fetch_add(1, Ordering::SeqCst);
                        "ok"
                    },
                ),
            )
            .with_state((self, hold));
        let _ = axum::serve(listener, app).await;
    }
}

/// `CheckLimits`: however many monitors check one host, at most `per_host` of their checks
/// run against it at once, another host's checks still run meanwhile, and no more than
/// `max_concurrent` run in all. A scheduler of its own over a fresh SQLite store, with
/// monitors on two hosts (127.0.0.1 and 127.0.0.2, both loopback) of one slow target.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checks_against_one_host_are_limited_and_other_hosts_still_run() {
    use pharos::clock::SystemClock;
    use pharos::monitor::scheduler::{CheckLimits, Scheduler};
    use pharos::store::SqlStore;

    let listener = tokio::net::TcpListener::bind("0.0.0.0:0")
        .await
        .expect("bind the target");
    let port = listener.local_addr().expect("target address").port();
    let seen = Concurrency::default();
    tokio::spawn(seen.clone().serve(listener, Duration::from_millis(400)));
    // A second loopback address is a second host; skip that half where there is none.
    let hosts: Vec<&str> = if std::net::TcpStream::connect(("127.0.0.2", port)).is_ok() {
        vec!["127.0.0.1", "127.0.0.2"]
    } else {
        eprintln!("note: 127.0.0.2 is not reachable here; checking one host only");
        vec!["127.0.0.1"]
    };

    let dir = tempfile::tempdir().expect("temporary folder");
    let clock = Arc::new(SystemClock);
    let store: Arc<SqlStore> = Arc::new(
        SqlStore::open(
            &pharos::store::sql::ConnectOptions::new(common::postgres::sqlite_url(dir.path())),
            clock.clone(),
        )
        .await
        .expect("open store"),
    );
    for host in &hosts {
        for k in 0..8 {
            let check: Check = serde_json::from_value(
                json!({ "kind": "http", "url": format!("http://{host}:{port}/slow?m={k}") }),
            )
            .expect("check");
            store
                .create_monitor(
                    NewMonitor {
                        name: format!("{host} #{k}"),
                        description: None,
                        check,
                        interval_seconds: 1,
                        timeout_ms: 900,
                        policy: Policy::default(),
                        components: vec![],
                        tags: vec![],
                        paused: false,
                        auto_incidents: false,
                        push_token_hash: None,
                        managed_by: ManagedBy::Api,
                        config_key: None,
                    },
                    &Actor::cli(),
                )
                .await
                .expect("create monitor");
        }
    }

    let limits = CheckLimits {
        max_concurrent: 4,
        per_host: 3,
    };
    let (scheduler, _handle) = Scheduler::new(store.clone(), clock, None);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let ready = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let task = tokio::spawn(scheduler.with_limits(limits).run(ready, stop_rx));
    let wanted = 12 * hosts.len();
    wait_for("checks against every host", || async {
        let most = seen.most.lock().unwrap().clone();
        let each = hosts
            .iter()
            .all(|h| most.1.get(*h).copied().unwrap_or(0) > 0);
        (seen.served.load(Ordering::SeqCst) >= wanted && each).then_some(())
    })
    .await;
    stop_tx.send(true).expect("stop");
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("the scheduler stops when told")
        .expect("the scheduler does not panic");

    let (most_in_all, most_per_host) = seen.most.lock().unwrap().clone();
    for host in &hosts {
        let most = most_per_host.get(*host).copied().unwrap_or(0);
        assert!(
            (1..=limits.per_host).contains(&most),
            "{host}: {most} checks at once (limit {})",
            limits.per_host
        );
    }
    assert!(
        most_in_all <= limits.max_concurrent,
        "{most_in_all} checks at once in all (limit {})",
        limits.max_concurrent
    );
    // Eight monitors a second on a target that holds each check 400 ms: without the limits
    // there would have been more at once, so the limits did the bounding.
    assert!(most_in_all >= 2, "checks ran one at a time: {most_in_all}");
    store.close().await;
}
