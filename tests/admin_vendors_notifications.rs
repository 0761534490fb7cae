//! The operator's screens for vendors, notifications and escalation, against the real
//! server over a SQLite file: following a vendor from the catalog search and from a URL
//! detected against a local server replaying a real fixture, components of interest and
//! dependencies; a webhook channel whose secret never comes back in HTML, "send test" to a
//! real receiver on 127.0.0.1, a dead letter retried until delivered; an escalation policy
//! and an acknowledged escalation; the audit actor, viewers refused, CSRF refused, and bad
//! input answered 422 with the message and the values typed.
//!
//! Nothing here may reach beyond 127.0.0.1: following a catalog vendor starts polls of its
//! real page, so every test first points the process's HTTP proxy at a closed local port
//! (`NO_PROXY` keeps 127.0.0.1 direct).

mod common;

use common::admin::{add_user, AdminBrowser};

use common::app::{spawn_with_config, Db, TestApp};
use common::receiver::{Behaviour, Receiver};
use common::source::{Reply, Source};
use pharos::account::Role;
use pharos::notify::channel::Target;
use pharos::notify::escalation::EscalationState;
use pharos::notify::record::DeliveryState;
use pharos::store::{PageRequest, Store};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::sync::Once;
use std::time::Duration;

const ADA: &str = "ada@example.com";
const VIC: &str = "vic@example.com";

/// Sends every outbound request that is not to 127.0.0.1 or localhost to a closed local
/// port, before any client is built (each test calls it first, so no thread reads the
/// environment while it is written).
fn no_outside_network() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        std::env::set_var("HTTP_PROXY", "http://127.0.0.1:9");
        std::env::set_var("HTTPS_PROXY", "http://127.0.0.1:9");
        std::env::set_var("http_proxy", "http://127.0.0.1:9");
        std::env::set_var("https_proxy", "http://127.0.0.1:9");
        std::env::set_var("NO_PROXY", "127.0.0.1,localhost");
        std::env::set_var("no_proxy", "127.0.0.1,localhost");
    });
}

fn fixture(path: &str) -> Vec<u8> {
    let full = format!("{}/../shared/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&full).unwrap_or_else(|e| panic!("read {full}: {e}"))
}

async fn app() -> TestApp {
    no_outside_network();
    let toml = "[page]\nname = \"Acme\"\nurl = \"https://status.acme.test\"\n\n\
         [notifications]\nallow_private_targets = true\nsend_timeout_seconds = 2\n\
         max_attempts = 1\nretry_base_seconds = 1\nretry_max_seconds = 2\n";
    let app = spawn_with_config(Db::Sqlite, toml)
        .await
        .expect("sqlite app");
    add_user(app.store.as_ref(), ADA, Role::Admin).await;
    add_user(app.store.as_ref(), VIC, Role::Viewer).await;
    app
}

async fn component(app: &TestApp, name: &str) -> String {
    let (status, body) = app.post("/api/v1/components", json!({"name": name})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_str().expect("id").to_string()
}

async fn open_incident(app: &TestApp, name: &str, component: &str) {
    let (status, body) = app
        .post(
            "/api/v1/incidents",
            json!({"name": name, "body": "We are looking into it.", "components": {component: "major_outage"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

/// Waits for `check` to give a value, or panics after 15 s.
async fn eventually<T, F, Fut>(what: &str, check: F) -> T
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not within 15 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The id at the end of a `Location` such as `/admin/vendors/<id>?done=...`.
fn id_in(location: &str, prefix: &str) -> String {
    location
        .strip_prefix(prefix)
        .unwrap_or_else(|| panic!("{location} does not start with {prefix}"))
        .split('?')
        .next()
        .unwrap()
        .to_string()
}

/// Every event of these kinds names ada as its actor; at least one of each exists.
async fn audited_as_ada(app: &TestApp, kinds: &[&str]) {
    let events = app.store.list_events(0, 10_000).await.expect("events");
    for kind in kinds {
        let of_kind: Vec<_> = events.iter().filter(|e| e.kind == *kind).collect();
        assert!(!of_kind.is_empty(), "no {kind} event");
        assert!(
            of_kind.iter().any(|e| e.actor == format!("user:{ADA}")),
            "{kind}: actors {:?}",
            of_kind.iter().map(|e| &e.actor).collect::<Vec<_>>()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vendors_are_followed_from_the_catalog_and_a_detected_url_with_interest_and_dependencies() {
    let app = app().await;
    let mut ada = AdminBrowser::signed_in(&app.base, ADA).await;

    // The catalog search offers one button per result.
    let (status, _, page) = ada.get("/admin/vendors?catalog=github").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Follow GitHub"), "{page}");
    let location = ada
        .post_see_other("/admin/vendors/follow", &[("slug", "github")])
        .await;
    let github = app
        .store
        .get_vendor_by_slug("github")
        .await
        .expect("followed");
    assert_eq!(
        location,
        format!("/admin/vendors/{}?done=vendor_followed", github.id)
    );
    // Following it twice is a conflict, said on the page.
    let (status, _, page) = ada
        .post("/admin/vendors/follow", &[("slug", "github")])
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{page}");
    // Paused at once: these tests never poll the real page for long (the proxy refuses).
    ada.post_see_other(
        &format!("/admin/vendors/{}/enabled", github.id),
        &[("enabled", "false")],
    )
    .await;
    assert!(!app.store.get_vendor(github.id).await.unwrap().enabled);

    // A URL: detected against a local server replaying Twilio's real summary.
    let site = Source::start().await;
    site.set(
        "/",
        Reply::with(
            "text/html",
            "<!doctype html><html><head><title>Twilio Status</title></head><body>ok</body></html>",
        ),
    );
    let summary: Value =
        serde_json::from_slice(&fixture("statuspage/twilio-summary-groups-incidents.json"))
            .expect("fixture JSON");
    site.set("/api/v2/summary.json", Reply::json(summary.to_string()));
    site.set(
        "/api/v2/incidents.json",
        Reply::json(json!({"page": summary["page"], "incidents": []}).to_string()),
    );
    let page_url = site.url("/");
    let (status, _, page) = ada
        .post("/admin/vendors/detect", &[("page_url", &page_url)])
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Detected: statuspage"), "{page}");
    assert!(
        page.contains(r#"value="Twilio""#),
        "the name is filled in: {page}"
    );

    // Bad input: the list again, 422, the message and the values typed.
    let (status, _, page) = ada
        .post(
            "/admin/vendors",
            &[
                ("page_url", &page_url),
                ("adapter", "statuspage"),
                ("name", "Twilio typed"),
                ("poll_interval_seconds", "5"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(page.contains("poll_interval_seconds"), "{page}");
    assert!(page.contains(r#"value="Twilio typed""#), "{page}");

    let location = ada
        .post_see_other(
            "/admin/vendors",
            &[
                ("page_url", &page_url),
                ("adapter", "statuspage"),
                ("name", "Twilio"),
            ],
        )
        .await;
    let vendor_id = id_in(&location, "/admin/vendors/");
    let twilio = app
        .store
        .get_vendor_by_slug("twilio")
        .await
        .expect("twilio");
    assert_eq!(vendor_id, twilio.id.to_string());

    // Poll now, then its components are on its page.
    let location = ada
        .post_see_other(&format!("/admin/vendors/{vendor_id}/poll"), &[])
        .await;
    assert!(location.ends_with("done=vendor_polled"), "{location}");
    let components = app.store.vendor_state(twilio.id).await.unwrap().components;
    assert!(components.len() >= 2, "{components:?}");
    let (status, _, page) = ada.get(&format!("/admin/vendors/{vendor_id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(&components[0].name), "{page}");

    // Components of interest.
    let (a, b) = (&components[0].external_id, &components[1].external_id);
    ada.post_see_other(
        &format!("/admin/vendors/{vendor_id}/interest"),
        &[("interest", a), ("interest", b)],
    )
    .await;
    let stored = app.store.get_vendor(twilio.id).await.unwrap();
    assert_eq!(stored.components_of_interest, vec![a.clone(), b.clone()]);

    // A dependency: refused with a status a dependency cannot hold (the values kept), then
    // added, then removed.
    let api = component(&app, "API").await;
    let (status, _, page) = ada
        .post(
            &format!("/admin/vendors/{vendor_id}/dependencies"),
            &[
                ("component_id", &api),
                ("vendor_component", a),
                ("set_status", "operational"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(page.contains("cannot be held by a dependency"), "{page}");
    assert!(
        page.contains(&format!(r#"<option value="{api}" selected>"#)),
        "{page}"
    );
    ada.post_see_other(
        &format!("/admin/vendors/{vendor_id}/dependencies"),
        &[
            ("component_id", &api),
            ("vendor_component", a),
            ("set_status", "partial_outage"),
        ],
    )
    .await;
    let deps = app.store.dependencies(Some(twilio.id)).await.unwrap();
    assert_eq!(deps.len(), 1);
    assert_eq!(deps[0].component_id.to_string(), api);
    assert_eq!(deps[0].vendor_component.as_deref(), Some(a.as_str()));
    let (_, _, page) = ada.get(&format!("/admin/vendors/{vendor_id}")).await;
    assert!(page.contains("takes partial outage"), "{page}");
    ada.post_see_other(
        &format!(
            "/admin/vendors/{vendor_id}/dependencies/{}/delete",
            deps[0].id
        ),
        &[],
    )
    .await;
    assert!(app
        .store
        .dependencies(Some(twilio.id))
        .await
        .unwrap()
        .is_empty());

    // The list shows both, with their state.
    let (_, _, page) = ada.get("/admin/vendors").await;
    assert!(page.contains("Twilio") && page.contains("GitHub"), "{page}");
    assert!(page.contains("Followed (2)"), "{page}");

    // A viewer sees but cannot change; a form without the CSRF token changes nothing.
    let mut vic = AdminBrowser::signed_in(&app.base, VIC).await;
    let (status, _, _) = vic.get(&format!("/admin/vendors/{vendor_id}")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = vic
        .post(&format!("/admin/vendors/{vendor_id}/delete"), &[])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = ada
        .post_raw(&format!("/admin/vendors/{vendor_id}/delete"), String::new())
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(app.store.get_vendor(twilio.id).await.is_ok());

    audited_as_ada(
        &app,
        &[
            "vendor.created",
            "vendor.updated",
            "vendor.dependency_created",
            "vendor.dependency_deleted",
        ],
    )
    .await;

    let location = ada
        .post_see_other(&format!("/admin/vendors/{vendor_id}/delete"), &[])
        .await;
    assert!(location.ends_with("done=vendor_deleted"));
    assert!(app.store.get_vendor(twilio.id).await.is_err());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channels_send_tests_keep_secrets_retry_dead_letters_and_escalate() {
    let app = app().await;
    let mut ada = AdminBrowser::signed_in(&app.base, ADA).await;
    let good = Receiver::start(Behaviour::Ok).await;
    let bad = Receiver::start(Behaviour::Status(500)).await;
    const SECRET: &str = "whsec-never-echo-7f3a9c1b2d";
    const TYPED: &str = "typed-secret-never-echo-55aa";

    // Bad input: 422, the message, the values typed kept, the secret typed not shown.
    let (status, _, page) = ada
        .post(
            "/admin/notifications/channels",
            &[
                ("kind", "webhook"),
                ("name", "Kept name"),
                ("t_url", "not a url"),
                ("t_secret", TYPED),
                ("events", "incident.*"),
                ("rate_per_minute", "60"),
                ("concurrency", "4"),
                ("enabled", "true"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(page.contains("url"), "{page}");
    assert!(page.contains(r#"value="Kept name""#), "{page}");
    assert!(page.contains("not a url"), "{page}");
    assert!(!page.contains(TYPED), "a typed secret is echoed: {page}");
    assert!(app.store.list_channels().await.unwrap().is_empty());

    // A webhook channel; its secret is stored but never shown.
    let hook = format!("{}/hook", good.url);
    let location = ada
        .post_see_other(
            "/admin/notifications/channels",
            &[
                ("kind", "webhook"),
                ("name", "On-call hook"),
                ("t_url", &hook),
                ("t_secret", SECRET),
                ("events", "incident.*"),
                ("rate_per_minute", "60"),
                ("concurrency", "4"),
                ("enabled", "true"),
            ],
        )
        .await;
    let channel_id = id_in(&location, "/admin/notifications/channels/");
    let stored = app.store.list_channels().await.unwrap();
    assert_eq!(stored.len(), 1);
    match &stored[0].target {
        Target::Webhook { url, secret, .. } => {
            assert_eq!(url, &hook);
            assert_eq!(secret.as_deref(), Some(SECRET));
        }
        other => panic!("{other:?}"),
    }
    let (status, _, page) = ada.get(&location).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("The channel is created."), "{page}");
    assert!(
        page.contains("set ("),
        "the secret is said to be set: {page}"
    );
    assert!(!page.contains(SECRET), "the secret is echoed: {page}");

    // Saving without typing the secret keeps it.
    ada.post_see_other(
        &format!("/admin/notifications/channels/{channel_id}"),
        &[
            ("name", "On-call hook (renamed)"),
            ("t_url", &hook),
            ("t_secret", ""),
            ("events", "incident.*"),
            ("rate_per_minute", "60"),
            ("concurrency", "4"),
            ("enabled", "true"),
        ],
    )
    .await;
    let kept = &app.store.list_channels().await.unwrap()[0];
    assert_eq!(kept.name, "On-call hook (renamed)");
    assert!(matches!(&kept.target, Target::Webhook { secret: Some(s), .. } if s == SECRET));

    // Send test: delivered to the receiver, the result on the page.
    let (status, _, page) = ada
        .post(
            &format!("/admin/notifications/channels/{channel_id}/test"),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Delivered"), "{page}");
    assert!(!page.contains(SECRET), "{page}");
    good.wait_for("the test message", Duration::from_secs(5), |r| {
        r.iter().any(|r| r.path == "/hook")
    })
    .await;

    // A channel to a receiver that answers 500: the test shows its error.
    let location = ada
        .post_see_other(
            "/admin/notifications/channels",
            &[
                ("kind", "webhook"),
                ("name", "Flaky hook"),
                ("t_url", &format!("{}/flaky", bad.url)),
                ("events", "incident.*"),
                ("rate_per_minute", "60"),
                ("concurrency", "4"),
                ("enabled", "true"),
            ],
        )
        .await;
    let flaky_id = id_in(&location, "/admin/notifications/channels/");
    let (status, _, page) = ada
        .post(
            &format!("/admin/notifications/channels/{flaky_id}/test"),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Not delivered"), "{page}");
    assert!(page.contains("500"), "{page}");

    // An escalation policy on a component: refused without a channel (typed name kept),
    // then created.
    let api = component(&app, "API").await;
    let (status, _, page) = ada
        .post(
            "/admin/notifications/escalation/policies",
            &[
                ("name", "Typed policy"),
                ("step1_wait", "5"),
                ("components", &api),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(page.contains("no channel is chosen"), "{page}");
    assert!(page.contains(r#"value="Typed policy""#), "{page}");
    let location = ada
        .post_see_other(
            "/admin/notifications/escalation/policies",
            &[
                ("name", "API on call"),
                ("step1_channel", &channel_id),
                ("step1_wait", "5"),
                ("repeat", "1"),
                ("components", &api),
            ],
        )
        .await;
    assert!(location.ends_with("done=policy_created"), "{location}");
    let policies = app.store.list_policies().await.unwrap();
    assert_eq!(policies.len(), 1);
    assert_eq!(policies[0].steps[0].wait_seconds, 300);
    assert_eq!(policies[0].repeat, 1);
    assert_eq!(policies[0].components[0].to_string(), api);

    // An incident: the flaky channel's delivery dies after its one attempt; the policy
    // escalates.
    open_incident(&app, "API down", &api).await;
    let dead = eventually("a dead letter", || async {
        let page = app
            .store
            .list_deliveries(Some(DeliveryState::Dead), PageRequest::first(50))
            .await
            .ok()?;
        page.items.into_iter().next()
    })
    .await;
    assert_eq!(dead.recipient_id, flaky_id);
    let (status, _, page) = ada.get("/admin/notifications/deliveries?state=dead").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(&dead.key), "{page}");
    let (_, _, page) = ada.get("/admin/notifications").await;
    assert!(page.contains("Pipeline health"), "{page}");
    assert!(page.contains("Dead letters"), "{page}");

    // Retry once the receiver is fixed: delivered.
    bad.set(Behaviour::Ok);
    let location = ada
        .post_see_other(
            "/admin/notifications/deliveries/retry",
            &[("key", &dead.key)],
        )
        .await;
    assert!(location.contains("done=delivery_retried"), "{location}");
    bad.wait_for("the retried delivery", Duration::from_secs(10), |r| {
        r.iter().any(|r| r.path == "/flaky")
    })
    .await;
    eventually("the retried delivery recorded as sent", || async {
        let d = app.store.get_delivery(&dead.key).await.ok()?;
        (d.state == DeliveryState::Sent).then_some(())
    })
    .await;
    let (_, _, page) = ada.get("/admin/notifications/deliveries?state=sent").await;
    assert!(page.contains(&dead.key), "{page}");

    // The escalation is open; acknowledged from its page.
    let escalation = eventually("an escalation", || async {
        let list = app
            .store
            .list_escalations(Some(EscalationState::Active), 10)
            .await
            .ok()?;
        list.into_iter().next()
    })
    .await;
    let (status, _, page) = ada.get("/admin/notifications/escalation").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Acknowledge"), "{page}");
    assert!(page.contains("API on call"), "{page}");

    // A viewer: no notifications pages, no acknowledging; a missing CSRF token: refused.
    let mut vic = AdminBrowser::signed_in(&app.base, VIC).await;
    let (status, _, _) = vic.get("/admin/notifications").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = vic
        .post(
            &format!(
                "/admin/notifications/escalations/{}/acknowledge",
                escalation.id
            ),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = vic
        .post(
            "/admin/notifications/channels",
            &[("kind", "slack"), ("name", "x")],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = ada
        .post_raw(
            &format!(
                "/admin/notifications/escalations/{}/acknowledge",
                escalation.id
            ),
            String::new(),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.store.get_escalation(escalation.id).await.unwrap().state,
        EscalationState::Active
    );

    let location = ada
        .post_see_other(
            &format!(
                "/admin/notifications/escalations/{}/acknowledge",
                escalation.id
            ),
            &[],
        )
        .await;
    assert!(location.ends_with("done=escalation_acknowledged"));
    let acked = app.store.get_escalation(escalation.id).await.unwrap();
    assert_eq!(acked.state, EscalationState::Acknowledged);
    assert_eq!(
        acked.acknowledged_by.as_deref(),
        Some(format!("user:{ADA}").as_str())
    );

    // Subscribers: added through the API, listed, found by address, confirmed, deleted.
    let (status, body) = app
        .post(
            "/api/v1/subscribers",
            json!({"kind": "email", "address": "reader@example.com", "require_confirmation": true}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let sub = body["id"].as_str().unwrap().to_string();
    let (_, _, page) = ada
        .get("/admin/notifications/subscribers?q=reader@example.com")
        .await;
    assert!(page.contains("reader@example.com"), "{page}");
    assert!(page.contains("waiting for confirmation"), "{page}");
    ada.post_see_other(
        &format!("/admin/notifications/subscribers/{sub}/confirm"),
        &[],
    )
    .await;
    ada.post_see_other(
        &format!("/admin/notifications/subscribers/{sub}/delete"),
        &[],
    )
    .await;
    let (_, _, page) = ada.get("/admin/notifications/subscribers").await;
    assert!(!page.contains("reader@example.com"), "{page}");

    // Delete the flaky channel.
    ada.post_see_other(
        &format!("/admin/notifications/channels/{flaky_id}/delete"),
        &[],
    )
    .await;
    assert_eq!(app.store.list_channels().await.unwrap().len(), 1);

    audited_as_ada(
        &app,
        &[
            "channel.created",
            "channel.updated",
            "channel.deleted",
            "escalation_policy.created",
            "escalation.acknowledged",
            "subscriber.confirmed",
            "subscriber.deleted",
            "delivery.retried",
        ],
    )
    .await;
    app.stop().await;
}
