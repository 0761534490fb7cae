//! Notifications end to end, on real receivers on 127.0.0.1: an incident's news reaches the
//! channels and subscribers that want it (signed, with the delivery's idempotency key);
//! poison receivers (one failing, one hanging, one answering 10 MB) delay nobody, end
//! dead-lettered with their error, raise the out-of-band alarm, and clear it after recovery;
//! escalation steps on a manual clock until acknowledged or resolved; and subscribing from
//! the page with double opt-in, a component filter and one-click unsubscribe, with forged
//! links refused.

mod common;

use common::app::{spawn_with_config, spawn_with_config_and_clock, Db, TestApp};
use common::receiver::{Behaviour, Received, Receiver};
use common::smtp::{Options as SmtpOptions, SmtpSink};
use hmac::{Hmac, Mac};
use pharos::clock::ManualClock;
use pharos::domain::Timestamp;
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::Sha256;
use std::sync::Arc;
use std::time::Duration;

fn config(alarm_url: Option<&str>) -> String {
    let alarm = alarm_url
        .map(|url| {
            format!(
                "[notifications.alarm]\ntarget = {{ type = \"webhook\", url = \"{url}\" }}\nfailures = 2\nwindow_seconds = 10\n"
            )
        })
        .unwrap_or_default();
    format!(
        "[page]\nname = \"Acme\"\nurl = \"https://status.acme.test\"\n\n\
         [notifications]\nallow_private_targets = true\nsend_timeout_seconds = 2\n\
         max_attempts = 2\nretry_base_seconds = 1\nretry_max_seconds = 2\n\n{alarm}"
    )
}

async fn component(app: &TestApp, name: &str) -> String {
    let (status, body) = app.post("/api/v1/components", json!({"name": name})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_str().expect("id").to_string()
}

async fn open_incident(app: &TestApp, name: &str, component: &str) -> String {
    let (status, body) = app
        .post(
            "/api/v1/incidents",
            json!({"name": name, "body": "We are looking into it.", "components": {component: "major_outage"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_str().expect("id").to_string()
}

async fn channel(app: &TestApp, name: &str, url: &str, secret: Option<&str>) -> Value {
    let mut target = json!({"type": "webhook", "url": url});
    if let Some(secret) = secret {
        target["secret"] = json!(secret);
    }
    let (status, body) = app
        .post(
            "/api/v1/channels",
            json!({"name": name, "target": target, "events": ["incident.*"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

fn kinds(received: &[Received]) -> Vec<String> {
    received
        .iter()
        .map(|r| r.json()["event"]["kind"].as_str().unwrap_or("").to_string())
        .collect()
}

/// The receiver's side of the signature: HMAC-SHA256 over "<timestamp>.<body>".
fn signature_holds(r: &Received, secret: &str) -> bool {
    let (Some(ts), Some(sig)) = (r.header("pharos-timestamp"), r.header("pharos-signature")) else {
        return false;
    };
    let Some(hex_sig) = sig.strip_prefix("v1=") else {
        return false;
    };
    let Ok(bytes) = hex::decode(hex_sig) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("key");
    mac.update(ts.as_bytes());
    mac.update(b".");
    mac.update(&r.body);
    mac.verify_slice(&bytes).is_ok()
}

async fn deliveries(app: &TestApp, state: &str) -> Vec<Value> {
    let (status, body) = app
        .get(&format!("/api/v1/deliveries?state={state}&limit=500"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["data"].as_array().expect("data").clone()
}

async fn eventually<F, Fut>(what: &str, within: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn incident_news_reaches_who_wants_it(db: Db) {
    let team = Receiver::start(Behaviour::Ok).await;
    let api_fan = Receiver::start(Behaviour::Ok).await;
    let web_fan = Receiver::start(Behaviour::Ok).await;
    let Some(app) = spawn_with_config(db, &config(None)).await else {
        return;
    };
    let api = component(&app, "API").await;
    let web = component(&app, "Web").await;
    let created = channel(
        &app,
        "team",
        &format!("{}/hook", team.url),
        Some("topsecret"),
    )
    .await;
    assert!(
        !created.to_string().contains("topsecret"),
        "the secret is never shown back: {created}"
    );
    let mut subscriber_secret = String::new();
    for (receiver, component) in [(&api_fan, &api), (&web_fan, &web)] {
        let (status, body) = app
            .post(
                "/api/v1/subscribers",
                json!({"kind": "webhook", "address": format!("{}/sub", receiver.url), "component_ids": [component]}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        if component == &api {
            subscriber_secret = body["secret"].as_str().expect("a secret").to_string();
        }
    }

    let incident = open_incident(&app, "API errors", &api).await;
    let got = team
        .wait_for("incident.opened", Duration::from_secs(20), |r| {
            kinds(r).contains(&"incident.opened".to_string())
        })
        .await;
    let opened = got
        .iter()
        .find(|r| r.json()["event"]["kind"] == "incident.opened")
        .expect("opened");
    assert!(
        signature_holds(opened, "topsecret"),
        "signed with the channel's secret"
    );
    assert!(!signature_holds(opened, "another secret"));
    let body = opened.json();
    assert_eq!(body["event"]["data"]["name"], "API errors");
    assert!(body["message"]["title"]
        .as_str()
        .expect("title")
        .contains("API errors"));
    let key = opened
        .header("idempotency-key")
        .expect("an idempotency key");
    api_fan
        .wait_for("incident.opened", Duration::from_secs(20), |r| {
            kinds(r).contains(&"incident.opened".to_string())
        })
        .await;
    let fan_got = api_fan.received();
    assert!(signature_holds(&fan_got[0], &subscriber_secret));

    let (status, body) = app
        .post(
            &format!("/api/v1/incidents/{incident}/resolve"),
            json!({"body": "Fixed."}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for receiver in [&team, &api_fan] {
        receiver
            .wait_for("incident.resolved", Duration::from_secs(20), |r| {
                kinds(r).contains(&"incident.resolved".to_string())
            })
            .await;
    }
    // Each event once per recipient; nothing for the subscriber of another component.
    let team_kinds = kinds(&team.received());
    assert_eq!(
        team_kinds
            .iter()
            .filter(|k| k.as_str() == "incident.opened")
            .count(),
        1
    );
    assert!(
        web_fan.received().is_empty(),
        "the web's subscriber was not told"
    );

    // The outbox: the idempotency key is the delivery's key, and everything was sent.
    let sent = deliveries(&app, "sent").await;
    assert!(sent.iter().any(|d| d["key"] == key.as_str()), "{sent:?}");
    eventually("outbox drained", Duration::from_secs(10), || async {
        let (_, status) = app.get("/api/v1/notifications/status").await;
        status["outbox"]["pending"] == 0
            && status["outbox"]["planned_seq"] == status["last_event_seq"]
    })
    .await;
    let (_, status) = app.get("/api/v1/notifications/status").await;
    assert_eq!(status["alarm"]["raised"], false, "{status}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incident_news_reaches_who_wants_it_sqlite() {
    incident_news_reaches_who_wants_it(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incident_news_reaches_who_wants_it_postgres() {
    incident_news_reaches_who_wants_it(Db::Postgres).await;
}

/// A name changed while the process runs (`PATCH /api/v1/page`, as `/admin/settings` does)
/// is the one the next notification carries: in the webhook's `page` and title, and in the
/// email's subject and footer. No restart.
async fn a_renamed_page_is_named_in_the_next_notification(db: Db) {
    let team = Receiver::start(Behaviour::Ok).await;
    let sink = SmtpSink::start(SmtpOptions::default()).await;
    let toml = format!(
        "{}[notifications.smtp]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"none\"\nfrom = \"Acme Status <status@acme.test>\"\n",
        // The name is left to the web UI and the API: not in the file.
        config(None).replace("name = \"Acme\"\n", ""),
        sink.port()
    );
    assert!(!toml.contains("name = "), "{toml}");
    let Some(app) = spawn_with_config(db, &toml).await else {
        return;
    };
    let api = component(&app, "API").await;
    channel(&app, "team", &format!("{}/hook", team.url), None).await;
    let (status, body) = app
        .post(
            "/api/v1/subscribers",
            json!({"kind": "email", "address": "reader@example.com"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // Before the change: the default name.
    open_incident(&app, "First", &api).await;
    let got = team
        .wait_for("the first incident", Duration::from_secs(20), |r| {
            kinds(r).contains(&"incident.opened".to_string())
        })
        .await;
    assert_eq!(got[0].json()["page"]["name"], "Status", "{}", got[0].json());

    let (status, body) = app
        .call_as(
            &app.admin_token,
            reqwest::Method::PATCH,
            "/api/v1/page",
            Some(json!({"name": "Beacon"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    eventually(
        "the page to show the new name",
        Duration::from_secs(20),
        || async {
            let (_, summary) = app.get("/api/v2/summary.json").await;
            summary["page"]["name"] == "Beacon"
        },
    )
    .await;

    open_incident(&app, "Second", &api).await;
    let got = team
        .wait_for("the second incident", Duration::from_secs(20), |r| {
            r.iter()
                .any(|r| r.json()["event"]["data"]["name"] == "Second")
        })
        .await;
    let second = got
        .iter()
        .map(|r| r.json())
        .find(|b| b["event"]["data"]["name"] == "Second")
        .expect("the second incident's message");
    assert_eq!(second["page"]["name"], "Beacon", "{second}");
    assert!(
        second["message"]["title"]
            .as_str()
            .expect("title")
            .starts_with("[Beacon]"),
        "{second}"
    );
    eventually(
        "the second incident's email",
        Duration::from_secs(20),
        || async {
            sink.messages()
                .iter()
                .any(|m| m.header("subject").is_some_and(|s| s.contains("Second")))
        },
    )
    .await;
    let mail = sink
        .messages()
        .into_iter()
        .find(|m| m.header("subject").is_some_and(|s| s.contains("Second")))
        .expect("the mail");
    assert!(
        mail.header("subject").unwrap().contains("[Beacon]"),
        "{:?}",
        mail.header("subject")
    );
    let text = mail_text(&mail);
    assert!(
        text.contains("you subscribed to Beacon"),
        "the footer names the page as it is now: {text}"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renamed_page_is_named_in_the_next_notification_sqlite() {
    a_renamed_page_is_named_in_the_next_notification(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renamed_page_is_named_in_the_next_notification_postgres() {
    a_renamed_page_is_named_in_the_next_notification(Db::Postgres).await;
}

async fn poison_is_isolated_dead_lettered_and_alarmed(db: Db) {
    let good = Receiver::start(Behaviour::Ok).await;
    let failing = Receiver::start(Behaviour::Status(500)).await;
    let hanging = Receiver::start(Behaviour::Hang).await;
    let huge = Receiver::start(Behaviour::HugeBody(10 << 20)).await;
    let alarm = Receiver::start(Behaviour::Ok).await;
    let Some(app) = spawn_with_config(db, &config(Some(&format!("{}/alarm", alarm.url)))).await
    else {
        return;
    };
    let api = component(&app, "API").await;
    for (name, receiver) in [
        ("good", &good),
        ("failing", &failing),
        ("hanging", &hanging),
        ("huge", &huge),
    ] {
        channel(&app, name, &format!("{}/hook", receiver.url), None).await;
    }
    const N: usize = 10;
    for i in 0..N {
        open_incident(&app, &format!("Outage {i}"), &api).await;
    }
    // The good receiver gets all of them while the hanging one holds its sends for 2 s each
    // (10 deliveries x 2 attempts would take 10 s at its concurrency of 4 if they blocked).
    let opened = |r: &[Received]| {
        kinds(r)
            .iter()
            .filter(|k| k.as_str() == "incident.opened")
            .count()
            == N
    };
    good.wait_for("every incident.opened", Duration::from_secs(8), opened)
        .await;
    huge.wait_for(
        "every incident.opened despite 10 MB answers",
        Duration::from_secs(8),
        opened,
    )
    .await;

    // The poison ones end dead-lettered with their error, after their two attempts.
    eventually("poison dead-lettered", Duration::from_secs(60), || async {
        deliveries(&app, "dead").await.len() >= 2 * N
    })
    .await;
    let dead = deliveries(&app, "dead").await;
    assert_eq!(dead.len(), 2 * N, "{dead:?}");
    let errors: Vec<&str> = dead
        .iter()
        .map(|d| d["last_error"].as_str().unwrap_or(""))
        .collect();
    assert!(errors.iter().any(|e| e.contains("500")), "{errors:?}");
    assert!(
        errors
            .iter()
            .any(|e| e.contains("no answer") || e.contains("time")),
        "{errors:?}"
    );
    assert!(dead.iter().all(|d| d["attempts"] == 2), "{dead:?}");
    assert!(failing.refused() >= 2 * N);

    // The alarm went out of band.
    let raised = alarm
        .wait_for("the alarm", Duration::from_secs(30), |r| !r.is_empty())
        .await;
    let first = raised[0].json();
    assert!(
        first["message"]["title"]
            .as_str()
            .unwrap_or("")
            .contains("failing"),
        "{first}"
    );
    let (_, status) = app.get("/api/v1/notifications/status").await;
    assert_eq!(status["alarm"]["raised"], true, "{status}");

    // Recovery: the receivers work again, the dead letters are retried and arrive.
    failing.set(Behaviour::Ok);
    hanging.set(Behaviour::Ok);
    for d in &dead {
        let key = d["key"].as_str().expect("key");
        let (status, body) = app
            .post(&format!("/api/v1/deliveries/{key}/retry"), json!({}))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    failing
        .wait_for("the retried deliveries", Duration::from_secs(30), opened)
        .await;
    hanging
        .wait_for("the retried deliveries", Duration::from_secs(30), opened)
        .await;
    // And the alarm clears once the failures have left its 10 s window.
    alarm
        .wait_for("the all-clear", Duration::from_secs(40), |r| {
            r.iter().any(|m| {
                m.json()["message"]["title"]
                    .as_str()
                    .unwrap_or("")
                    .contains("recovered")
            })
        })
        .await;
    let (_, status) = app.get("/api/v1/notifications/status").await;
    assert_eq!(status["alarm"]["raised"], false, "{status}");
    assert!(deliveries(&app, "dead").await.is_empty());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_is_isolated_dead_lettered_and_alarmed_sqlite() {
    poison_is_isolated_dead_lettered_and_alarmed(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_is_isolated_dead_lettered_and_alarmed_postgres() {
    poison_is_isolated_dead_lettered_and_alarmed(Db::Postgres).await;
}

async fn escalation_steps_until_acknowledged(db: Db) {
    let primary = Receiver::start(Behaviour::Ok).await;
    let secondary = Receiver::start(Behaviour::Ok).await;
    let clock = Arc::new(ManualClock::new(
        Timestamp::parse("2026-11-28T12:00:00Z").expect("time"),
    ));
    let Some(app) = spawn_with_config_and_clock(db, &config(None), clock.clone()).await else {
        return;
    };
    let api = component(&app, "API").await;
    let mut channel_ids = Vec::new();
    for (name, receiver) in [("primary", &primary), ("secondary", &secondary)] {
        // These channels want no ordinary events: they hear only from the escalation.
        let (status, body) = app
            .post(
                "/api/v1/channels",
                json!({"name": name, "target": {"type": "webhook", "url": format!("{}/page", receiver.url)}, "events": ["maintenance.cancelled"]}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        channel_ids.push(body["id"].as_str().expect("id").to_string());
    }
    let (status, policy) = app
        .post(
            "/api/v1/escalation-policies",
            json!({"name": "On-call", "components": [api],
                   "steps": [{"channel_ids": [channel_ids[0]], "wait_seconds": 300},
                             {"channel_ids": [channel_ids[1]], "wait_seconds": 300}]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{policy}");
    let (status, body) = app
        .post(
            "/api/v1/escalation-policies",
            json!({"name": "Bad", "steps": [{"channel_ids": [], "wait_seconds": 300}]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    // No acknowledgement: step 1 at once, step 2 once its wait has passed on the clock.
    open_incident(&app, "API down", &api).await;
    let first = primary
        .wait_for("step 1", Duration::from_secs(20), |r| !r.is_empty())
        .await;
    let ack_url = first[0].json()["ack_url"]
        .as_str()
        .expect("an acknowledgement link")
        .to_string();
    assert!(secondary.received().is_empty(), "step 2 waits");
    clock.advance(chrono::Duration::seconds(301));
    secondary
        .wait_for("step 2 after the wait", Duration::from_secs(20), |r| {
            !r.is_empty()
        })
        .await;

    // The signed link acknowledges (a GET only shows the button); a forged one is refused.
    let token = ack_url.split("token=").nth(1).expect("token").to_string();
    let forged = forge(&token);
    let answer = app
        .client
        .post(app.url(&format!("/acknowledge?token={forged}")))
        .send()
        .await
        .expect("post");
    assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
    let page = app
        .client
        .get(app.url(&format!("/acknowledge?token={token}")))
        .send()
        .await
        .expect("get");
    assert_eq!(page.status(), StatusCode::OK);
    let (_, active) = app.get("/api/v1/escalations?state=active").await;
    assert_eq!(
        active["data"].as_array().expect("data").len(),
        1,
        "a GET changes nothing"
    );
    let answer = app
        .client
        .post(app.url(&format!("/acknowledge?token={token}")))
        .send()
        .await
        .expect("post");
    assert_eq!(answer.status(), StatusCode::OK);
    assert!(answer.text().await.expect("body").contains("Acknowledged"));
    let (_, acked) = app.get("/api/v1/escalations?state=acknowledged").await;
    assert_eq!(acked["data"][0]["acknowledged_by"], "link", "{acked}");
    // Acknowledged: the steps stop even as time passes (the ticker runs every second).
    clock.advance(chrono::Duration::seconds(3600));
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(primary.received().len(), 1);
    assert_eq!(secondary.received().len(), 1);

    // Resolution stops an escalation too.
    let second = open_incident(&app, "API down again", &api).await;
    primary
        .wait_for("step 1 of the second", Duration::from_secs(20), |r| {
            r.len() == 2
        })
        .await;
    let (status, body) = app
        .post(&format!("/api/v1/incidents/{second}/resolve"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    eventually(
        "the escalation resolved",
        Duration::from_secs(20),
        || async {
            let (_, resolved) = app.get("/api/v1/escalations?state=resolved").await;
            resolved["data"].as_array().is_some_and(|d| d.len() == 1)
        },
    )
    .await;
    clock.advance(chrono::Duration::seconds(3600));
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        secondary.received().len(),
        1,
        "no step 2 after the resolution"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escalation_steps_until_acknowledged_sqlite() {
    escalation_steps_until_acknowledged(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escalation_steps_until_acknowledged_postgres() {
    escalation_steps_until_acknowledged(Db::Postgres).await;
}

/// The token with its last character changed (a signature that cannot verify).
fn forge(token: &str) -> String {
    let mut forged = token.to_string();
    let last = forged.pop().expect("a token");
    forged.push(if last == '0' { '1' } else { '0' });
    forged
}

/// The decoded text of a mail (quoted-printable soft breaks and `=3D` undone).
fn mail_text(mail: &common::smtp::Received) -> String {
    mail.text().replace("=\r\n", "").replace("=3D", "=")
}

fn token_after(text: &str, path: &str) -> String {
    let start = text
        .find(path)
        .unwrap_or_else(|| panic!("no {path} in {text}"))
        + path.len();
    text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == '-')
        .collect()
}

/// The subscribe form's token and cookie.
async fn form(app: &TestApp) -> (String, String) {
    let page = app
        .client
        .get(app.url("/subscribe"))
        .send()
        .await
        .expect("get /subscribe");
    assert_eq!(page.status(), StatusCode::OK);
    let cookie = page
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .expect("a form cookie")
        .to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let cookie = cookie.split(';').next().expect("pair").to_string();
    let html = page.text().await.expect("html");
    let token = token_after(&html, "name=\"form_token\" value=\"");
    (token, cookie)
}

async fn post_form(app: &TestApp, cookie: Option<&str>, body: String) -> (StatusCode, String) {
    let mut request = app
        .client
        .post(app.url("/subscribe"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body);
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    let answer = request.send().await.expect("post /subscribe");
    let status = answer.status();
    (status, answer.text().await.expect("body"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribing_from_the_page_with_double_opt_in() {
    let sink = SmtpSink::start(SmtpOptions::default()).await;
    let toml = format!(
        "{}[notifications.smtp]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"none\"\nfrom = \"Acme Status <status@acme.test>\"\n",
        config(None),
        sink.port()
    );
    let Some(app) = spawn_with_config(Db::Sqlite, &toml).await else {
        return;
    };
    let api = component(&app, "API").await;
    let web = component(&app, "Web").await;
    // A marker subscriber who follows everything: when it has a message, every subscriber
    // that was going to get that message has been planned too.
    let (status, body) = app
        .post(
            "/api/v1/subscribers",
            json!({"kind": "email", "address": "marker@example.com"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(
        body.get("secret").is_none(),
        "email subscribers have no secret"
    );

    // The form refuses a post without its cookie or with an altered token.
    let (token, cookie) = form(&app).await;
    let body = |email: &str, token: &str| {
        format!("kind=email&email={email}&component={api}&maintenance=on&form_token={token}")
    };
    let (status, _) = post_form(&app, None, body("reader%40example.com", &token)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let altered = forge(&token);
    let (status, _) = post_form(&app, Some(&cookie), body("reader%40example.com", &altered)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, page) = post_form(&app, Some(&cookie), body("not-an-address", &token)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("valid email address"), "{page}");
    let (status, page) = post_form(&app, Some(&cookie), body("reader%40example.com", &token)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Check your inbox"));
    assert!(
        !page.contains("reader@example.com"),
        "the address is not echoed"
    );

    // The confirmation mail; nothing else reaches an unconfirmed address.
    let mails = sink.wait_for(1, Duration::from_secs(20)).await;
    let confirmation = mails
        .iter()
        .find(|m| m.rcpt_to.iter().any(|r| r.contains("reader@example.com")))
        .expect("a confirmation mail");
    let confirm_token = token_after(&mail_text(confirmation), "/subscribe/confirm?token=");
    open_incident(&app, "Before confirming", &api).await;
    let marker_mails = |n: usize| {
        let sink = &sink;
        async move {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
            loop {
                let got = sink
                    .messages()
                    .into_iter()
                    .filter(|m| m.rcpt_to.iter().any(|r| r.contains("marker@example.com")))
                    .count();
                if got >= n {
                    return;
                }
                assert!(tokio::time::Instant::now() < deadline, "marker mail {n}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    marker_mails(1).await;
    let to_reader = |sink: &SmtpSink| {
        sink.messages()
            .into_iter()
            .filter(|m| m.rcpt_to.iter().any(|r| r.contains("reader@example.com")))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        to_reader(&sink).len(),
        1,
        "only the confirmation before confirming"
    );

    // Confirming: a forged link is refused, the real one works.
    let forged = forge(&confirm_token);
    let answer = app
        .client
        .get(app.url(&format!("/subscribe/confirm?token={forged}")))
        .send()
        .await
        .expect("get");
    assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
    let answer = app
        .client
        .get(app.url(&format!("/subscribe/confirm?token={confirm_token}")))
        .send()
        .await
        .expect("get");
    assert_eq!(answer.status(), StatusCode::OK);

    // The component filter: news about the web does not reach a subscriber of the API.
    open_incident(&app, "Web down", &web).await;
    marker_mails(2).await;
    assert_eq!(to_reader(&sink).len(), 1);
    open_incident(&app, "API down", &api).await;
    marker_mails(3).await;
    let news = to_reader(&sink);
    assert_eq!(news.len(), 2, "the API's incident");
    let unsubscribe = news[1]
        .header("list-unsubscribe")
        .expect("a List-Unsubscribe header");
    assert_eq!(
        news[1].header("list-unsubscribe-post").as_deref(),
        Some("List-Unsubscribe=One-Click")
    );
    let unsubscribe_token = token_after(&unsubscribe, "/unsubscribe?token=");

    // Unsubscribing: a GET only asks; a forged token is refused; the one-click POST works.
    let answer = app
        .client
        .get(app.url(&format!("/unsubscribe?token={unsubscribe_token}")))
        .send()
        .await
        .expect("get");
    assert_eq!(answer.status(), StatusCode::OK);
    let (_, listed) = app.get("/api/v1/subscribers").await;
    assert_eq!(listed["data"].as_array().expect("data").len(), 2);
    let forged = forge(&unsubscribe_token);
    let answer = app
        .client
        .post(app.url(&format!("/unsubscribe?token={forged}")))
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .expect("post");
    assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
    let answer = app
        .client
        .post(app.url(&format!("/unsubscribe?token={unsubscribe_token}")))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .expect("post");
    assert_eq!(answer.status(), StatusCode::OK);
    let (_, listed) = app.get("/api/v1/subscribers").await;
    let addresses: Vec<&str> = listed["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|s| s["address"].as_str())
        .collect();
    assert_eq!(addresses, ["marker@example.com"]);
    open_incident(&app, "API down again", &api).await;
    marker_mails(4).await;
    assert_eq!(to_reader(&sink).len(), 2, "nothing after unsubscribing");

    // Addresses never reach the public pages.
    for path in ["/", "/api/v2/summary.json", "/history.atom"] {
        let text = app
            .client
            .get(app.url(path))
            .send()
            .await
            .expect("get")
            .text()
            .await
            .expect("text");
        assert!(!text.contains("example.com"), "{path}");
    }

    // Requests from one client are limited.
    let mut limited = false;
    for i in 0..12 {
        let (token, cookie) = form(&app).await;
        let (status, _) = post_form(
            &app,
            Some(&cookie),
            format!("kind=email&email=flood{i}%40example.com&form_token={token}"),
        )
        .await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            limited = true;
            break;
        }
        assert_eq!(status, StatusCode::OK);
    }
    assert!(limited, "the 11th request within the hour is refused");
    app.stop().await;
}

/// A subscriber's id by its address (the management API lists addresses).
async fn subscriber_id(app: &TestApp, address: &str) -> String {
    let (status, listed) = app.get("/api/v1/subscribers?limit=500").await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    listed["data"]
        .as_array()
        .expect("data")
        .iter()
        .find(|s| s["address"] == address)
        .unwrap_or_else(|| panic!("no subscriber {address} in {listed}"))["id"]
        .as_str()
        .expect("id")
        .to_string()
}

/// GitHub followed through a statuspage source on 127.0.0.1, imported (silently) while all
/// is well; returns the vendor's id.
async fn follow_quiet_github(app: &TestApp, source: &common::source::Source) -> String {
    let summary = |name: &str| {
        let path = format!(
            "{}/../shared/fixtures/statuspage/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read(&path).unwrap_or_else(|e| panic!("read {path}: {e}"))
    };
    source.set(
        "/api/v2/summary.json",
        common::source::Reply::json(summary("github-summary-all-operational.json")),
    );
    let (status, vendor) = app
        .post(
            "/api/v1/vendors",
            json!({"name": "GitHub", "slug": "github", "page_url": source.base,
                   "adapter": "statuspage", "source_url": source.url("/api/v2/summary.json")}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{vendor}");
    let (status, polled) = app.post("/api/v1/vendors/github/poll", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{polled}");
    // The incident that the next poll finds.
    source.set(
        "/api/v2/summary.json",
        common::source::Reply::json(summary("github-summary-2026-07-24-critical.json")),
    );
    vendor["id"].as_str().expect("id").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_can_follow_a_vendor_from_the_page() {
    let clock = Arc::new(ManualClock::new(
        Timestamp::parse("2026-07-24T19:00:00Z").expect("time"),
    ));
    let toml = format!(
        "{}[vendors]\npublic = true\nfetch_timeout_seconds = 1\n",
        config(None)
    );
    let Some(app) = spawn_with_config_and_clock(Db::Sqlite, &toml, clock.clone()).await else {
        return;
    };
    let api = component(&app, "API").await;
    let source = common::source::Source::start().await;
    let github = follow_quiet_github(&app, &source).await;

    // The form offers the followed vendor beside the components.
    let (token, cookie) = form(&app).await;
    let html = app
        .client
        .get(app.url("/subscribe"))
        .send()
        .await
        .expect("get /subscribe")
        .text()
        .await
        .expect("html");
    assert!(
        html.contains(&format!("name=\"vendor\" value=\"{github}\"")) && html.contains("GitHub"),
        "{html}"
    );

    // One reader follows GitHub (and, having chosen no component, every component); another
    // only our API.
    let vendor_fan = Receiver::start(Behaviour::Ok).await;
    let api_only = Receiver::start(Behaviour::Ok).await;
    let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let (status, page) = post_form(
        &app,
        Some(&cookie),
        format!(
            "kind=webhook&webhook_url={}&vendor={github}&form_token={token}",
            encode(&vendor_fan.url)
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let secret = token_after(&page, "(shown once): ");
    let (token, cookie) = form(&app).await;
    let (status, page) = post_form(
        &app,
        Some(&cookie),
        format!(
            "kind=webhook&webhook_url={}&component={api}&form_token={token}",
            encode(&api_only.url)
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");

    // GitHub's incident opens: it reaches the vendor's follower only.
    clock.set(Timestamp::parse("2026-07-24T19:45:00Z").expect("time"));
    let (status, polled) = app.post("/api/v1/vendors/github/poll", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{polled}");
    // The clock moves on while waiting, so that a send retried after a transient failure
    // (the clock is manual) comes due again.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let has = |r: &Receiver, kind: &str| kinds(&r.received()).iter().any(|k| k == kind);
    while !has(&vendor_fan, "vendor.incident_opened") {
        assert!(
            tokio::time::Instant::now() < deadline,
            "GitHub's incident not received; pending {:?}; sent {:?}",
            deliveries(&app, "pending").await,
            deliveries(&app, "sent").await
        );
        clock.advance(chrono::Duration::seconds(1));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let got = vendor_fan.received();
    assert!(got.iter().all(|r| signature_holds(r, &secret)));
    // Our own incident, planned after GitHub's: once both have it, GitHub's news has been
    // planned for everyone it was for.
    open_incident(&app, "API down", &api).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !(has(&vendor_fan, "incident.opened") && has(&api_only, "incident.opened")) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "our incident not received: {:?} / {:?}; pending {:?}; cancelled {:?}; subscribers {}",
            kinds(&vendor_fan.received()),
            kinds(&api_only.received()),
            deliveries(&app, "pending").await,
            deliveries(&app, "cancelled").await,
            app.get("/api/v1/subscribers").await.1
        );
        clock.advance(chrono::Duration::seconds(1));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        kinds(&api_only.received())
            .iter()
            .all(|k| !k.starts_with("vendor.")),
        "{:?}",
        kinds(&api_only.received())
    );
    let fan_id = subscriber_id(&app, &vendor_fan.url).await;
    let mut vendor_news = Vec::new();
    for state in ["pending", "sent", "dead", "cancelled"] {
        vendor_news.extend(deliveries(&app, state).await.into_iter().filter(|d| {
            d["event_kind"]
                .as_str()
                .unwrap_or("")
                .starts_with("vendor.")
        }));
    }
    assert!(!vendor_news.is_empty());
    assert!(
        vendor_news
            .iter()
            .all(|d| d["recipient_id"] == fan_id.as_str()),
        "{vendor_news:?}"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vendors_are_not_offered_when_their_pages_are_private() {
    let toml = format!("{}[vendors]\npublic = false\n", config(None));
    let Some(app) = spawn_with_config(Db::Sqlite, &toml).await else {
        return;
    };
    let api = component(&app, "API").await;
    let source = common::source::Source::start().await;
    let github = follow_quiet_github(&app, &source).await;
    let (token, cookie) = form(&app).await;
    let html = app
        .client
        .get(app.url("/subscribe"))
        .send()
        .await
        .expect("get /subscribe")
        .text()
        .await
        .expect("html");
    assert!(!html.contains("name=\"vendor\""), "{html}");
    assert!(!html.contains("GitHub"), "{html}");
    // A vendor id posted anyway is dropped.
    let (status, page) = post_form(
        &app,
        Some(&cookie),
        format!("kind=webhook&webhook_url=http%3A%2F%2F127.0.0.1%3A9%2Fhook&component={api}&vendor={github}&form_token={token}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let (_, listed) = app.get("/api/v1/subscribers").await;
    let subjects = &listed["data"][0]["subjects"];
    assert_eq!(subjects, &json!([api]), "{listed}");
    app.stop().await;
}

/// A reader's webhook whose host name resolves to a private address (`localhost` stands for a
/// public name rebound to 127.0.0.1 after subscribing: the form refuses the name `localhost`
/// itself, so the row is written through the store, as the form would) is refused when sent
/// unless `allow_private_targets`; an operator's subscriber with the same host is trusted.
async fn a_readers_webhook_resolving_privately(allowed: bool) {
    let toml = config(None).replace(
        "allow_private_targets = true",
        &format!("allow_private_targets = {allowed}"),
    );
    let Some(app) = spawn_with_config(Db::Sqlite, &toml).await else {
        return;
    };
    let api = component(&app, "API").await;
    let receiver = Receiver::start(Behaviour::Ok).await;
    let by_name = |path: &str| format!("{}{path}", receiver.url.replace("127.0.0.1", "localhost"));
    use pharos::notify::record::{NewSubscriber, SubscriberKind, SubscriberOrigin};
    use pharos::store::Store;
    for (path, origin) in [
        ("/reader", SubscriberOrigin::Page),
        ("/operator", SubscriberOrigin::Api),
    ] {
        app.store
            .create_subscriber(
                NewSubscriber {
                    kind: SubscriberKind::Webhook,
                    address: by_name(path),
                    subjects: vec![],
                    maintenance: false,
                    component_changes: false,
                    confirmed: true,
                    origin,
                    secret: Some("s3cret".into()),
                },
                &pharos::events::Actor::reader(),
            )
            .await
            .expect("subscriber");
    }
    open_incident(&app, "API down", &api).await;
    receiver
        .wait_for("the operator's subscriber", Duration::from_secs(20), |r| {
            r.iter().any(|r| r.path == "/operator")
        })
        .await;
    if allowed {
        receiver
            .wait_for("the reader's subscriber", Duration::from_secs(20), |r| {
                r.iter().any(|r| r.path == "/reader")
            })
            .await;
    } else {
        eventually(
            "the reader's delivery dead-lettered",
            Duration::from_secs(20),
            || async { !deliveries(&app, "dead").await.is_empty() },
        )
        .await;
        let dead = deliveries(&app, "dead").await;
        assert_eq!(dead.len(), 1, "{dead:?}");
        let error = dead[0]["last_error"].as_str().unwrap_or("");
        assert!(error.contains("private addresses"), "{error}");
        assert_eq!(dead[0]["attempts"], 1, "refused at once, not retried");
        assert!(receiver.received().iter().all(|r| r.path != "/reader"));
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_readers_webhook_resolving_privately_is_refused() {
    a_readers_webhook_resolving_privately(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_readers_webhook_resolving_privately_is_sent_when_allowed() {
    a_readers_webhook_resolving_privately(true).await;
}
