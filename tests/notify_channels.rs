//! Messages and channels against real receivers on 127.0.0.1: events made by driving the app
//! through its API (open an incident, post an update, resolve, publish a postmortem), rendered,
//! and sent to a webhook receiver that checks the signature, to receivers speaking each chat
//! and paging format, and through an SMTP sink over STARTTLS and implicit TLS; then the
//! failures: 5xx, 4xx, 429 with `Retry-After`, a receiver that hangs, one that answers 10 MB,
//! a refused connection, SMTP 550 and 451. No fixed sleeps: every wait has a deadline.

mod common;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Request};
use axum::response::Response;
use common::smtp::{Failure, Options, Security, SmtpSink};
use hmac::Mac;
use pharos::config::{NotifySettings, SmtpSecurity, SmtpSettings};
use pharos::domain::model::Event;
use pharos::notify::channel::{Envelope, Reach, SendError, Sender, Target};
use pharos::notify::message::{self, Message, PageContext, Severity};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

// ---- a receiver that records every request and answers what the test set -----------------

#[derive(Clone, Debug)]
struct Seen {
    /// Path and query, as sent.
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

impl Seen {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

#[derive(Clone)]
struct Reply {
    status: u16,
    body: Bytes,
    headers: Vec<(&'static str, &'static str)>,
}

impl Reply {
    fn ok(body: &'static str) -> Reply {
        Reply {
            status: 200,
            body: Bytes::from_static(body.as_bytes()),
            headers: Vec::new(),
        }
    }
}

#[derive(Default)]
struct HookState {
    seen: Vec<Seen>,
    replies: HashMap<String, Reply>,
}

struct Hook {
    base: String,
    state: Arc<Mutex<HookState>>,
}

impl Hook {
    async fn start() -> Hook {
        let state: Arc<Mutex<HookState>> = Arc::default();
        let app = axum::Router::new()
            .fallback(record)
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Hook {
            base: format!("http://{addr}"),
            state,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Answers `reply` to requests whose path (without query) is `path`.
    fn set(&self, path: &str, reply: Reply) {
        self.state
            .lock()
            .unwrap()
            .replies
            .insert(path.to_string(), reply);
    }

    fn seen(&self) -> Vec<Seen> {
        self.state.lock().unwrap().seen.clone()
    }

    fn take(&self) -> Vec<Seen> {
        std::mem::take(&mut self.state.lock().unwrap().seen)
    }
}

async fn record(State(state): State<Arc<Mutex<HookState>>>, req: Request<Body>) -> Response {
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let headers = req.headers().clone();
    let body = axum::body::to_bytes(req.into_body(), 16 * 1024 * 1024)
        .await
        .unwrap_or_default();
    let reply = {
        let mut state = state.lock().unwrap();
        state.seen.push(Seen {
            path: path.clone(),
            headers,
            body,
        });
        let bare = path.split('?').next().unwrap_or("").to_string();
        state
            .replies
            .get(&bare)
            .cloned()
            .unwrap_or_else(|| Reply::ok("ok"))
    };
    let mut builder = Response::builder().status(reply.status);
    for (k, v) in reply.headers {
        builder = builder.header(k, v);
    }
    builder.body(Body::from(reply.body)).unwrap()
}

// ---- events from the app ------------------------------------------------------------------

fn page() -> PageContext {
    PageContext {
        name: "Acme Status".into(),
        url: "https://status.acme.test".into(),
    }
}

/// The events of one incident's life, made through the API and read back from
/// `/api/v1/events`: opened, an update, resolved, a postmortem published.
async fn incident_events() -> (String, Vec<Event>) {
    let app = common::app::spawn(common::app::Db::Sqlite)
        .await
        .expect("sqlite app");
    let api = app
        .ok(
            Method::POST,
            "/api/v1/components",
            Some(json!({"name": "API"})),
            StatusCode::CREATED,
        )
        .await;
    let api_id = api["id"].as_str().unwrap().to_string();
    let incident = app
        .ok(
            Method::POST,
            "/api/v1/incidents",
            Some(json!({
                "name": "Elevated API errors",
                "body": "We are investigating **errors** on the API.\n\n<script>alert(1)</script>",
                "components": { api_id.clone(): "major_outage" },
            })),
            StatusCode::CREATED,
        )
        .await;
    let id = incident["id"].as_str().unwrap().to_string();
    let (status, _) = app
        .post(
            &format!("/api/v1/incidents/{id}/updates"),
            json!({"status": "identified", "body": "A bad deploy; rolling back."}),
        )
        .await;
    assert!(status.is_success(), "{status}");
    let (status, _) = app
        .post(
            &format!("/api/v1/incidents/{id}/resolve"),
            json!({"body": "Errors are back to normal."}),
        )
        .await;
    assert!(status.is_success(), "{status}");
    let (status, body) = app
        .put(
            &format!("/api/v1/incidents/{id}/postmortem"),
            json!({"body": "## What happened\n\nA deploy broke the API."}),
        )
        .await;
    assert!(status.is_success(), "{status}: {body}");
    let (status, page) = app.get("/api/v1/events?after=0&limit=1000").await;
    assert_eq!(status, StatusCode::OK);
    let events: Vec<Event> = serde_json::from_value(page["data"].clone()).expect("events");
    app.stop().await;
    (id, events)
}

fn find<'a>(events: &'a [Event], kind: &str) -> &'a Event {
    events
        .iter()
        .find(|e| e.kind == kind)
        .unwrap_or_else(|| panic!("no {kind} event"))
}

/// The messages of one incident, in order: opened, update posted, resolved, postmortem.
async fn incident_messages() -> (String, Vec<Message>) {
    let (id, events) = incident_events().await;
    let messages = [
        "incident.opened",
        "incident.update_posted",
        "incident.resolved",
        "incident.postmortem_published",
    ]
    .iter()
    .map(|kind| message::render(find(&events, kind), &page()).expect("renders"))
    .collect();
    // Component changes made along the way render too.
    let changed = find(&events, "component.status_changed");
    let m = message::render(changed, &page()).expect("renders");
    assert_eq!(m.title, "[Acme Status] Major outage: API");
    (id, messages)
}

fn settings(timeout: Duration) -> NotifySettings {
    NotifySettings {
        send_timeout: timeout,
        ..NotifySettings::default()
    }
}

fn sender(timeout: Duration) -> Sender {
    Sender::new(&settings(timeout))
        .expect("a sender")
        .with_page(page())
}

fn envelope(key: &str) -> Envelope {
    Envelope {
        idempotency_key: key.into(),
        unsubscribe_url: None,
        ack_url: None,
        reach: Reach::Anywhere,
    }
}

// ---- the tests ----------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_are_signed_and_carry_the_idempotency_key() {
    let (id, messages) = incident_messages().await;
    let hook = Hook::start().await;
    let sender = sender(Duration::from_secs(5));
    let secret = "whsec_test_0123456789";
    let target = Target::Webhook {
        url: hook.url("/hook"),
        secret: Some(secret.into()),
        headers: BTreeMap::from([("X-Team".into(), "ops".into())]),
    };
    target.validate().expect("valid");
    for (i, m) in messages.iter().enumerate() {
        let env = Envelope {
            ack_url: Some(format!("https://status.acme.test/ack/{i}")),
            ..envelope(&format!("delivery-{i}"))
        };
        let receipt = sender.send(&target, m, &env).await.expect("sent");
        assert_eq!(receipt.status, Some(200));
        assert_eq!(receipt.response, "ok");
    }
    let seen = hook.take();
    assert_eq!(seen.len(), messages.len());
    let now = chrono::Utc::now().timestamp();
    for (i, (s, m)) in seen.iter().zip(&messages).enumerate() {
        assert_eq!(s.path, "/hook");
        assert_eq!(s.header("content-type"), Some("application/json"));
        assert_eq!(
            s.header("idempotency-key"),
            Some(format!("delivery-{i}").as_str())
        );
        assert_eq!(s.header("pharos-event"), Some(m.event_kind.as_str()));
        assert_eq!(s.header("x-team"), Some("ops"));
        assert!(s.header("user-agent").unwrap().starts_with("Pharos/"));
        // The receiver's recipe: HMAC-SHA256(secret, "<timestamp>.<body>"), constant-time
        // comparison, and a timestamp within 5 minutes.
        let timestamp = s.header("pharos-timestamp").unwrap();
        assert!((now - timestamp.parse::<i64>().unwrap()).abs() < 300);
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(timestamp.as_bytes());
        mac.update(b".");
        mac.update(&s.body);
        let expected = format!("v1={}", hex::encode(mac.finalize().into_bytes()));
        assert_eq!(s.header("pharos-signature"), Some(expected.as_str()));
        assert!(pharos::notify::channel::webhook::verify_signature(
            secret,
            timestamp,
            s.header("pharos-signature").unwrap(),
            &s.body,
            now
        ));
        let body = s.json();
        assert_eq!(body["event"]["kind"], m.event_kind.as_str());
        assert_eq!(body["event"]["subject_id"], id.as_str());
        assert_eq!(body["message"]["title"], m.title.as_str());
        assert_eq!(body["message"]["subject_key"], format!("incident:{id}"));
        assert_eq!(body["message"]["severity"], json!(m.severity));
        assert_eq!(
            body["page"],
            json!({"name": "Acme Status", "url": "https://status.acme.test"})
        );
        assert_eq!(body["ack_url"], format!("https://status.acme.test/ack/{i}"));
        for key in ["text", "markdown", "html", "link", "resolves"] {
            assert!(body["message"].get(key).is_some(), "{key}");
        }
        assert!(!body["message"]["html"]
            .as_str()
            .unwrap()
            .contains("<script"));
    }
    assert_eq!(seen[0].json()["message"]["resolves"], false);
    assert_eq!(seen[2].json()["message"]["resolves"], true);

    // An unsigned webhook has no signature header; the test message has the same shape.
    let unsigned = Target::Webhook {
        url: hook.url("/plain"),
        secret: None,
        headers: BTreeMap::new(),
    };
    let test = message::test_message(
        &page(),
        pharos::domain::Timestamp::parse("2026-11-28T14:00:00Z").unwrap(),
    );
    sender
        .send(&unsigned, &test, &envelope("t-1"))
        .await
        .expect("sent");
    let seen = hook.take();
    assert!(seen[0].header("pharos-signature").is_none());
    assert_eq!(seen[0].header("pharos-event"), Some(message::TEST_KIND));
    assert_eq!(seen[0].json()["event"]["kind"], message::TEST_KIND);
    assert_eq!(seen[0].json()["page"]["name"], "Acme Status");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_services_get_their_own_shapes() {
    let (_, messages) = incident_messages().await;
    let opened = &messages[0];
    let resolved = &messages[2];
    let hook = Hook::start().await;
    let sender = sender(Duration::from_secs(5));
    let env = Envelope {
        ack_url: Some("https://status.acme.test/ack/abc".into()),
        ..envelope("chat-1")
    };

    // Slack: text plus one coloured attachment whose title links to the incident.
    let slack = Target::Slack {
        url: hook.url("/slack/T000/B000/XXXX"),
    };
    sender.send(&slack, opened, &env).await.expect("slack");
    let body = hook.take().remove(0).json();
    assert_eq!(body["text"], opened.title.as_str());
    let a = &body["attachments"][0];
    assert_eq!(a["color"], "#d92d20");
    assert_eq!(a["title"], "Elevated API errors");
    assert_eq!(a["title_link"], opened.link.as_deref().unwrap());
    assert!(a["text"]
        .as_str()
        .unwrap()
        .contains("<https://status.acme.test/ack/abc|Acknowledge>"));
    assert!(
        a["text"].as_str().unwrap().contains("&lt;script&gt;")
            || !a["text"].as_str().unwrap().contains("<script")
    );
    assert_eq!(a["footer"], "Acme Status");

    // Mattermost: the same shape, Markdown body.
    let mattermost = Target::Mattermost {
        url: hook.url("/mattermost/hooks/xyz"),
    };
    sender
        .send(&mattermost, resolved, &env)
        .await
        .expect("mattermost");
    let body = hook.take().remove(0).json();
    assert_eq!(body["attachments"][0]["color"], "#2f9e44");
    assert_eq!(
        body["attachments"][0]["title_link"],
        resolved.link.as_deref().unwrap()
    );
    assert!(body["attachments"][0]["text"]
        .as_str()
        .unwrap()
        .contains("[Acknowledge](https://status.acme.test/ack/abc)"));

    // Discord: an embed within Discord's limits, nobody pinged.
    let mut huge = opened.clone();
    huge.markdown = format!("{} @everyone", "A very long update. ".repeat(1000));
    let discord = Target::Discord {
        url: hook.url("/discord/api/webhooks/1/token"),
    };
    sender.send(&discord, &huge, &env).await.expect("discord");
    let body = hook.take().remove(0).json();
    assert!(body["content"].as_str().unwrap().chars().count() <= 2000);
    let embed = &body["embeds"][0];
    let description = embed["description"].as_str().unwrap();
    assert!(
        description.chars().count() <= 4096,
        "{}",
        description.chars().count()
    );
    assert!(description.contains('…'));
    assert!(description.contains(opened.link.as_deref().unwrap()));
    assert!(description.ends_with("[Acknowledge](https://status.acme.test/ack/abc)"));
    assert_eq!(embed["url"], opened.link.as_deref().unwrap());
    assert_eq!(embed["color"], 0xd92d20);
    assert!(embed["timestamp"].as_str().unwrap().ends_with('Z'));
    assert_eq!(embed["title"], "Elevated API errors");
    assert_eq!(body["allowed_mentions"], json!({"parse": []}));

    // Teams: an Adaptive Card in the incoming-webhook envelope.
    let teams = Target::Teams {
        url: hook.url("/teams/webhookb2/abc"),
    };
    sender.send(&teams, opened, &env).await.expect("teams");
    let body = hook.take().remove(0).json();
    assert_eq!(body["type"], "message");
    let attachment = &body["attachments"][0];
    assert_eq!(
        attachment["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    let card = &attachment["content"];
    assert_eq!(card["type"], "AdaptiveCard");
    assert_eq!(card["body"][0]["text"], opened.title.as_str());
    assert_eq!(card["actions"][0]["url"], opened.link.as_deref().unwrap());
    assert_eq!(card["actions"][1]["title"], "Acknowledge");

    // Google Chat: text in its markup, threaded by subject.
    let google = Target::GoogleChat {
        url: hook.url("/v1/spaces/AAA/messages?key=k&token=t"),
    };
    sender
        .send(&google, opened, &env)
        .await
        .expect("google chat");
    let seen = hook.take().remove(0);
    assert!(seen.path.contains("key=k&token=t"));
    assert!(seen
        .path
        .contains("messageReplyOption=REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD"));
    let body = seen.json();
    let text = body["text"].as_str().unwrap();
    assert!(text.starts_with(&format!("*{}*", opened.title.replace('<', "<\u{2060}"))));
    assert!(text.contains(&format!(
        "<{}|View on Acme Status>",
        opened.link.as_deref().unwrap()
    )));
    assert!(text.contains("<https://status.acme.test/ack/abc|Acknowledge>"));
    assert_eq!(body["thread"]["threadKey"], opened.subject_key.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telegram_gets_html_with_only_the_tags_it_allows() {
    let (_, messages) = incident_messages().await;
    let hook = Hook::start().await;
    let sender = sender(Duration::from_secs(5));
    let token = "123456789:AAHsecretTOKENvalue_xyz";
    let target = Target::Telegram {
        bot_token: token.into(),
        chat_id: "-1001234567890".into(),
        api_url: Some(hook.base.clone()),
    };
    target.validate().expect("valid");
    let env = Envelope {
        ack_url: Some("https://status.acme.test/ack/a&b".into()),
        ..envelope("tg-1")
    };
    sender
        .send(&target, &messages[0], &env)
        .await
        .expect("sent");
    let seen = hook.take().remove(0);
    assert_eq!(seen.path, format!("/bot{token}/sendMessage"));
    let body = seen.json();
    assert_eq!(body["chat_id"], "-1001234567890");
    assert_eq!(body["parse_mode"], "HTML");
    assert_eq!(body["disable_web_page_preview"], true);
    let text = body["text"].as_str().unwrap();
    assert!(text.chars().count() <= 4096);
    for tag in text.split('<').skip(1) {
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        assert!(["b", "a"].contains(&name.as_str()), "<{name}> in {text}");
    }
    assert!(
        text.contains("&lt;script&gt;") || !text.contains("script"),
        "{text}"
    );
    assert!(text.contains("<a href=\"https://status.acme.test/ack/a&amp;b\">Acknowledge</a>"));

    // Telegram's refusal, echoing the URL with the token, never shows the token.
    hook.set(
        &format!("/bot{token}/sendMessage"),
        Reply {
            status: 401,
            body: Bytes::from(format!(
                "{{\"ok\":false,\"error_code\":401,\"description\":\"Unauthorized for /bot{token}/sendMessage\"}}"
            )),
            headers: vec![],
        },
    );
    let err = sender.send(&target, &messages[0], &env).await.unwrap_err();
    assert!(err.permanent);
    assert_eq!(err.status, Some(401));
    assert!(!err.message.contains(token), "{}", err.message);
    assert!(
        !err.message.contains("AAHsecretTOKENvalue"),
        "{}",
        err.message
    );
    assert!(err.message.contains("Unauthorized"), "{}", err.message);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ntfy_gets_title_priority_tags_click_and_token() {
    let (_, messages) = incident_messages().await;
    let hook = Hook::start().await;
    let sender = sender(Duration::from_secs(5));
    let target = Target::Ntfy {
        url: hook.url("/acme-status"),
        token: Some("tk_0123456789abcdef".into()),
    };
    let env = Envelope {
        ack_url: Some("https://status.acme.test/ack/n".into()),
        ..envelope("ntfy-1")
    };
    sender
        .send(&target, &messages[0], &env)
        .await
        .expect("sent");
    sender
        .send(&target, &messages[2], &envelope("ntfy-2"))
        .await
        .expect("sent");
    let seen = hook.take();
    let opened = &seen[0];
    assert_eq!(opened.path, "/acme-status");
    assert_eq!(opened.header("title"), Some(messages[0].title.as_str()));
    assert_eq!(opened.header("priority"), Some("5"));
    assert_eq!(opened.header("tags"), Some("rotating_light,incident"));
    assert_eq!(opened.header("click"), messages[0].link.as_deref());
    assert_eq!(
        opened.header("authorization"),
        Some("Bearer tk_0123456789abcdef")
    );
    assert_eq!(
        opened.header("actions"),
        Some("view, Acknowledge, https://status.acme.test/ack/n")
    );
    let text = String::from_utf8(opened.body.to_vec()).unwrap();
    assert!(text.contains("Elevated API errors"));
    assert_eq!(seen[1].header("priority"), Some("3"));
    assert_eq!(seen[1].header("tags"), Some("white_check_mark,incident"));
    assert!(seen[1].header("actions").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pagerduty_triggers_then_resolves_one_dedup_key() {
    let (id, messages) = incident_messages().await;
    let hook = Hook::start().await;
    hook.set(
        "/v2/enqueue",
        Reply {
            status: 202,
            body: Bytes::from_static(
                br#"{"status":"success","message":"Event processed","dedup_key":"x"}"#,
            ),
            headers: vec![],
        },
    );
    let sender = sender(Duration::from_secs(5));
    let target = Target::PagerDuty {
        routing_key: "R0UT1NGKEY0123456789abcdefabcdef".into(),
        api_url: Some(hook.base.clone()),
    };
    for m in &messages {
        let receipt = sender
            .send(&target, m, &envelope("pd"))
            .await
            .expect("sent");
        assert!(matches!(receipt.status, Some(200 | 202)));
    }
    let seen = hook.take();
    assert_eq!(seen.len(), 4);
    let (trigger, update, resolve, postmortem) =
        (seen[0].json(), seen[1].json(), seen[2].json(), &seen[3]);
    assert_eq!(seen[0].path, "/v2/enqueue");
    assert_eq!(trigger["event_action"], "trigger");
    assert_eq!(trigger["routing_key"], "R0UT1NGKEY0123456789abcdefabcdef");
    assert_eq!(trigger["dedup_key"], format!("incident:{id}"));
    assert_eq!(trigger["payload"]["severity"], "critical");
    assert_eq!(trigger["payload"]["source"], "status.acme.test");
    assert_eq!(trigger["payload"]["summary"], messages[0].title.as_str());
    assert!(trigger["payload"]["timestamp"]
        .as_str()
        .unwrap()
        .ends_with('Z'));
    assert!(trigger["payload"]["custom_details"]["text"]
        .as_str()
        .unwrap()
        .contains("errors"));
    assert_eq!(
        trigger["links"][0]["href"],
        messages[0].link.as_deref().unwrap()
    );
    assert_eq!(update["event_action"], "trigger");
    assert_eq!(update["dedup_key"], trigger["dedup_key"]);
    assert_eq!(seen[2].path, "/v2/enqueue");
    assert_eq!(resolve["event_action"], "resolve");
    assert_eq!(resolve["dedup_key"], trigger["dedup_key"]);
    // The postmortem comes after the resolution: a change event, which pages no one and
    // does not re-open the incident.
    assert_eq!(messages[3].severity, Severity::Info);
    assert_eq!(postmortem.path, "/v2/change/enqueue");
    assert!(postmortem.json().get("event_action").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opsgenie_creates_then_closes_by_alias() {
    let (id, messages) = incident_messages().await;
    let hook = Hook::start().await;
    let sender = sender(Duration::from_secs(5));
    let target = Target::Opsgenie {
        api_key: "0a1b2c3d-opsgenie-key".into(),
        api_url: Some(hook.base.clone()),
    };
    sender
        .send(&target, &messages[0], &envelope("og-1"))
        .await
        .expect("create");
    sender
        .send(&target, &messages[2], &envelope("og-2"))
        .await
        .expect("close");
    let seen = hook.take();
    assert_eq!(seen[0].path, "/v2/alerts");
    assert_eq!(
        seen[0].header("authorization"),
        Some("GenieKey 0a1b2c3d-opsgenie-key")
    );
    let create = seen[0].json();
    assert_eq!(create["alias"], format!("incident:{id}"));
    assert_eq!(create["priority"], "P1");
    assert!(create["message"].as_str().unwrap().chars().count() <= 130);
    assert!(create["description"].as_str().unwrap().contains("errors"));
    assert_eq!(create["source"], "Pharos: Acme Status");
    let (path, query) = seen[1].path.split_once('?').unwrap();
    let decoded = percent_decode(path);
    assert_eq!(decoded, format!("/v2/alerts/incident:{id}/close"));
    assert_eq!(query, "identifierType=alias");
    assert_eq!(
        seen[1].header("authorization"),
        Some("GenieKey 0a1b2c3d-opsgenie-key")
    );
    assert_eq!(seen[1].json()["source"], "Pharos: Acme Status");
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            out.push(u8::from_str_radix(&text[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

// ---- email --------------------------------------------------------------------------------

fn smtp_settings(sink: &SmtpSink, security: SmtpSecurity, auth: bool) -> NotifySettings {
    NotifySettings {
        send_timeout: Duration::from_secs(10),
        smtp: Some(SmtpSettings {
            host: "127.0.0.1".into(),
            port: sink.port(),
            security,
            username: auth.then(|| "pharos".to_string()),
            password: auth.then(|| "smtp-s3cret-password".to_string()),
            from: "Acme Status <status@acme.test>".into(),
            pool_size: 2,
            accept_invalid_certs: true,
        }),
        ..NotifySettings::default()
    }
}

/// The parts of a `multipart/alternative` message: content type and decoded body.
fn parts(raw: &str) -> Vec<(String, String)> {
    let head = raw.split("\r\n\r\n").next().unwrap();
    let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
    let boundary = unfolded
        .split("boundary=")
        .nth(1)
        .expect("a multipart message")
        .trim_start_matches('"')
        .split(['"', ';', '\r'])
        .next()
        .unwrap()
        .to_string();
    raw.split(&format!("--{boundary}"))
        .skip(1)
        .filter(|p| !p.starts_with("--"))
        .map(|part| {
            let (headers, body) = part
                .trim_start_matches("\r\n")
                .split_once("\r\n\r\n")
                .unwrap();
            let header = |name: &str| {
                headers
                    .split("\r\n")
                    .find(|l| l.to_ascii_lowercase().starts_with(&format!("{name}:")))
                    .map(|l| l.split_once(':').unwrap().1.trim().to_ascii_lowercase())
                    .unwrap_or_default()
            };
            let body = body.trim_end_matches("\r\n");
            let decoded = match header("content-transfer-encoding").as_str() {
                "base64" => {
                    use base64::Engine;
                    let compact: String = body.split_whitespace().collect();
                    String::from_utf8(
                        base64::engine::general_purpose::STANDARD
                            .decode(compact)
                            .unwrap(),
                    )
                    .unwrap()
                }
                "quoted-printable" => quoted_printable(body),
                _ => body.to_string(),
            };
            (header("content-type"), decoded)
        })
        .collect()
}

fn quoted_printable(text: &str) -> String {
    let joined = text.replace("=\r\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_goes_out_over_starttls_on_one_pooled_connection() {
    let (_, messages) = incident_messages().await;
    let sink = SmtpSink::start(Options {
        security: Security::StartTls,
        auth: Some(("pharos".into(), "smtp-s3cret-password".into())),
        keep: true,
    })
    .await;
    let sender = Sender::new(&smtp_settings(&sink, SmtpSecurity::StartTls, true))
        .expect("a sender")
        .with_page(page());
    let target = Target::Email {
        to: vec!["ops@example.test".into(), "oncall@example.test".into()],
    };
    for (i, m) in messages.iter().enumerate().take(3) {
        let env = Envelope {
            idempotency_key: format!("0193-delivery-{i}"),
            unsubscribe_url: Some(format!("https://status.acme.test/unsubscribe/{i}?sig=abc")),
            ack_url: Some(format!("https://status.acme.test/ack/{i}")),
            reach: Reach::Anywhere,
        };
        let receipt = sender.send(&target, m, &env).await.expect("sent");
        assert_eq!(receipt.status, Some(250));
        assert!(receipt.response.contains("queued"), "{}", receipt.response);
    }
    let received = sink.wait_for(3, Duration::from_secs(10)).await;
    assert_eq!(
        sink.connections(),
        1,
        "three sends reuse one pooled connection"
    );
    for (i, r) in received.iter().enumerate() {
        assert!(r.tls, "STARTTLS was used");
        assert_eq!(r.user.as_deref(), Some("pharos"));
        assert_eq!(r.mail_from, "status@acme.test");
        assert_eq!(r.rcpt_to, vec!["ops@example.test", "oncall@example.test"]);
        assert!(r.header("From").unwrap().contains("status@acme.test"));
        assert_eq!(
            r.header("Subject").as_deref(),
            Some(messages[i].title.as_str())
        );
        assert_eq!(
            r.header("Message-ID").as_deref(),
            Some(format!("<0193-delivery-{i}@status.acme.test>").as_str())
        );
        assert_eq!(
            r.header("List-Unsubscribe").as_deref(),
            Some(format!("<https://status.acme.test/unsubscribe/{i}?sig=abc>").as_str())
        );
        assert_eq!(
            r.header("List-Unsubscribe-Post").as_deref(),
            Some("List-Unsubscribe=One-Click")
        );
        assert!(r
            .header("Content-Type")
            .unwrap()
            .starts_with("multipart/alternative"));
        let parts = parts(&r.text());
        assert_eq!(parts.len(), 2, "{parts:?}");
        assert!(parts[0].0.starts_with("text/plain"), "{:?}", parts[0].0);
        assert!(parts[1].0.starts_with("text/html"), "{:?}", parts[1].0);
        let (text, html) = (&parts[0].1, &parts[1].1);
        assert!(
            text.contains(messages[i].link.as_deref().unwrap()),
            "{text}"
        );
        assert!(
            text.contains(&format!("Acknowledge: https://status.acme.test/ack/{i}")),
            "{text}"
        );
        assert!(text.contains(&format!(
            "Unsubscribe: https://status.acme.test/unsubscribe/{i}?sig=abc"
        )));
        assert!(html.contains("<!doctype html>"));
        assert!(
            html.contains(&format!("href=\"https://status.acme.test/ack/{i}\"")),
            "{html}"
        );
        assert!(html.contains(&format!(
            "href=\"https://status.acme.test/unsubscribe/{i}?sig=abc\""
        )));
        assert!(!html.contains("<script"), "{html}");
    }
    assert!(parts(&received[0].text())[1]
        .1
        .contains("<strong>errors</strong>"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_goes_out_over_implicit_tls() {
    let sink = SmtpSink::start(Options {
        security: Security::Implicit,
        auth: None,
        keep: true,
    })
    .await;
    let sender = Sender::new(&smtp_settings(&sink, SmtpSecurity::Tls, false))
        .expect("a sender")
        .with_page(page());
    let target = Target::Email {
        to: vec!["ops@example.test".into()],
    };
    let now = pharos::domain::Timestamp::parse("2026-11-28T14:00:00Z").unwrap();
    let test = message::test_message(&page(), now);
    let confirm = message::confirmation(&page(), "https://status.acme.test/confirm?t=1", now);
    for (i, m) in [&test, &confirm].into_iter().enumerate() {
        sender
            .send(&target, m, &envelope(&format!("tls-{i}")))
            .await
            .expect("sent");
    }
    let received = sink.wait_for(2, Duration::from_secs(10)).await;
    assert_eq!(sink.connections(), 1);
    assert!(received.iter().all(|r| r.tls));
    assert_eq!(
        received[1].header("Subject").as_deref(),
        Some("Confirm your subscription to Acme Status")
    );
    assert!(received[1].header("List-Unsubscribe").is_none());
    let parts = parts(&received[1].text());
    assert!(parts[0].1.contains("https://status.acme.test/confirm?t=1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_email_uses_at_most_the_pool() {
    let sink = SmtpSink::start(Options {
        security: Security::StartTls,
        auth: None,
        keep: false,
    })
    .await;
    let sender = Arc::new(
        Sender::new(&smtp_settings(&sink, SmtpSecurity::StartTls, false))
            .expect("a sender")
            .with_page(page()),
    );
    let m = Arc::new(message::test_message(
        &page(),
        pharos::domain::Timestamp::parse("2026-11-28T14:00:00Z").unwrap(),
    ));
    let target = Arc::new(Target::Email {
        to: vec!["ops@example.test".into()],
    });
    let sends: Vec<_> = (0..200)
        .map(|i| {
            let (sender, m, target) = (sender.clone(), m.clone(), target.clone());
            tokio::spawn(async move {
                sender
                    .send(&target, &m, &envelope(&format!("burst-{i}")))
                    .await
            })
        })
        .collect();
    for send in sends {
        send.await.unwrap().expect("sent");
    }
    assert_eq!(sink.count(), 200);
    assert!(
        sink.connections() <= 2,
        "pool_size = 2, yet {} connections",
        sink.connections()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_refusals_are_permanent_and_deferrals_transient() {
    let sink = SmtpSink::start(Options::default()).await;
    let sender = Sender::new(&smtp_settings(&sink, SmtpSecurity::None, false))
        .expect("a sender")
        .with_page(page());
    let target = Target::Email {
        to: vec!["nobody@example.test".into()],
    };
    let m = message::test_message(
        &page(),
        pharos::domain::Timestamp::parse("2026-11-28T14:00:00Z").unwrap(),
    );
    sink.set_failure(Failure::RejectRecipients);
    let err = sender
        .send(&target, &m, &envelope("smtp-550"))
        .await
        .unwrap_err();
    assert!(err.permanent, "{err:?}");
    assert_eq!(err.status, Some(550));
    assert!(err.message.contains("550"), "{}", err.message);
    sink.set_failure(Failure::DeferData);
    let err = sender
        .send(&target, &m, &envelope("smtp-451"))
        .await
        .unwrap_err();
    assert!(!err.permanent, "{err:?}");
    assert_eq!(err.status, Some(451));
    sink.set_failure(Failure::None);
    sender
        .send(&target, &m, &envelope("smtp-ok"))
        .await
        .expect("sent after the failures");
    assert_eq!(sink.count(), 1);

    // A relay that is not there: transient, and the password never shows.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let mut settings = smtp_settings(&sink, SmtpSecurity::None, true);
    settings.smtp.as_mut().unwrap().port = port;
    let sender = Sender::new(&settings).expect("a sender");
    let err = sender
        .send(&target, &m, &envelope("smtp-down"))
        .await
        .unwrap_err();
    assert!(!err.permanent, "{err:?}");
    assert!(!err.message.contains("smtp-s3cret-password"));
}

// ---- failures over HTTP -------------------------------------------------------------------

fn webhook(hook: &Hook, path: &str) -> Target {
    Target::Webhook {
        url: hook.url(path),
        secret: Some("whsec_failures_123".into()),
        headers: BTreeMap::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_failures_are_classified_in_words() {
    let hook = Hook::start().await;
    let sender = sender(Duration::from_secs(5));
    let m = message::test_message(
        &page(),
        pharos::domain::Timestamp::parse("2026-11-28T14:00:00Z").unwrap(),
    );

    hook.set(
        "/500",
        Reply {
            status: 500,
            body: Bytes::from_static(b"database is on fire\n"),
            headers: vec![],
        },
    );
    let err: SendError = sender
        .send(&webhook(&hook, "/500"), &m, &envelope("f1"))
        .await
        .unwrap_err();
    assert!(!err.permanent);
    assert_eq!(err.status, Some(500));
    assert_eq!(
        err.message,
        "receiver answered 500 Internal Server Error: database is on fire"
    );

    hook.set(
        "/400",
        Reply {
            status: 400,
            body: Bytes::from_static(b"invalid_payload"),
            headers: vec![],
        },
    );
    let err = sender
        .send(&webhook(&hook, "/400"), &m, &envelope("f2"))
        .await
        .unwrap_err();
    assert!(err.permanent);
    assert_eq!(err.status, Some(400));
    assert!(err
        .message
        .starts_with("receiver answered 400 Bad Request: invalid_payload"));

    hook.set(
        "/429",
        Reply {
            status: 429,
            body: Bytes::from_static(b"slow down"),
            headers: vec![("retry-after", "7")],
        },
    );
    let err = sender
        .send(&webhook(&hook, "/429"), &m, &envelope("f3"))
        .await
        .unwrap_err();
    assert!(!err.permanent);
    assert_eq!(err.retry_after, Some(Duration::from_secs(7)));

    hook.set(
        "/301",
        Reply {
            status: 301,
            body: Bytes::new(),
            headers: vec![("location", "https://elsewhere.test/hook")],
        },
    );
    let err = sender
        .send(&webhook(&hook, "/301"), &m, &envelope("f4"))
        .await
        .unwrap_err();
    assert!(err.permanent, "redirects are not followed");
    assert_eq!(hook.seen().iter().filter(|s| s.path == "/301").count(), 1);

    // A body of 10 MB: success, a short receipt, and not much read.
    let big = Bytes::from(vec![b'x'; 10 * 1024 * 1024]);
    hook.set(
        "/big",
        Reply {
            status: 200,
            body: big,
            headers: vec![],
        },
    );
    let receipt = sender
        .send(&webhook(&hook, "/big"), &m, &envelope("f5"))
        .await
        .expect("sent");
    assert_eq!(receipt.status, Some(200));
    assert!(receipt.response.len() <= 1024 && receipt.response.starts_with("xxx"));

    // Nobody listening.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", closed.local_addr().unwrap());
    drop(closed);
    let target = Target::Webhook {
        url,
        secret: None,
        headers: BTreeMap::new(),
    };
    let err = sender.send(&target, &m, &envelope("f6")).await.unwrap_err();
    assert!(!err.permanent);
    assert!(
        err.message.contains("connection refused"),
        "{}",
        err.message
    );

    // A Slack URL is a secret: a failure never quotes it.
    let slack = Target::Slack {
        url: hook.url("/services/T0001/B0001/s3cretslackpath"),
    };
    hook.set(
        "/services/T0001/B0001/s3cretslackpath",
        Reply {
            status: 404,
            body: Bytes::from_static(b"no_service for /services/T0001/B0001/s3cretslackpath"),
            headers: vec![],
        },
    );
    let err = sender.send(&slack, &m, &envelope("f7")).await.unwrap_err();
    assert!(err.permanent);
    assert!(!err.message.contains("s3cretslackpath"), "{}", err.message);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_hangs_costs_one_timeout() {
    // Accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let timeout = Duration::from_secs(1);
    let sender = sender(timeout);
    let m = message::test_message(
        &page(),
        pharos::domain::Timestamp::parse("2026-11-28T14:00:00Z").unwrap(),
    );
    let target = Target::Webhook {
        url: format!("http://{addr}/hook"),
        secret: None,
        headers: BTreeMap::new(),
    };
    let started = Instant::now();
    let err = sender
        .send(&target, &m, &envelope("hang"))
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert!(!err.permanent);
    assert_eq!(err.message, "no answer within 1 s");
    assert!(took < timeout + Duration::from_millis(900), "took {took:?}");
}

/// A webhook a reader gave may reach public addresses only, checked when it is sent: an IP
/// literal, and a host name (here `localhost`) by every address it resolves to. Operators'
/// targets reach anywhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_webhooks_cannot_reach_private_addresses() {
    let (_, messages) = incident_messages().await;
    let hook = Hook::start().await;
    let sender = sender(Duration::from_secs(5));
    let by_name = hook.url("/by-name").replace("127.0.0.1", "localhost");
    let public_only = Envelope {
        reach: Reach::PublicOnly,
        ..envelope("reader")
    };
    for url in [by_name.clone(), hook.url("/by-ip")] {
        let target = Target::Webhook {
            url: url.clone(),
            secret: None,
            headers: BTreeMap::new(),
        };
        let err = sender
            .send(&target, &messages[0], &public_only)
            .await
            .expect_err("a private address is refused");
        assert!(err.permanent, "{url}: {err:?}");
        assert!(err.message.contains("private"), "{url}: {}", err.message);
    }
    assert!(hook.take().is_empty(), "nothing reached the receiver");
    let target = Target::Webhook {
        url: by_name,
        secret: None,
        headers: BTreeMap::new(),
    };
    sender
        .send(&target, &messages[0], &envelope("operator"))
        .await
        .expect("an operator's target reaches a private address");
    assert_eq!(hook.take().len(), 1);
}
