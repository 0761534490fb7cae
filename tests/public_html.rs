//! The HTML pages over HTTP (`/`, `/history`, `/incidents/{id}`, `/embed`, the assets): a page
//! built through `/api/v1` shows its groups, components, 90-day bars, incidents with their whole
//! timeline, maintenance and history; unknown incidents get an HTML 404; responder text cannot
//! inject script or markup; and `/` is served compressed with a validator.
//!
//! The pages come from the in-memory snapshot, which the projector rebuilds just after each
//! commit, so each check polls the page until the expected text appears (10 s deadline).

mod common;

use common::app::TestApp;
use reqwest::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, ETAG, IF_NONE_MATCH,
};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;
use tokio::time::Instant;

/// Fetches `path` until `ready` holds for its body, or fails after 10 s with the last body.
async fn page_until(app: &TestApp, path: &str, ready: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut poll = tokio::time::interval(Duration::from_millis(25));
    loop {
        poll.tick().await;
        let resp = app.client.get(app.url(path)).send().await.expect("request");
        let status = resp.status();
        let body = resp.text().await.expect("body");
        if status == StatusCode::OK && ready(&body) {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "GET {path} did not show the expected content within 10 s ({status}):\n{body}"
        );
    }
}

async fn create(app: &TestApp, path: &str, body: Value) -> Value {
    app.ok(Method::POST, path, Some(body), StatusCode::CREATED)
        .await
}

fn id(v: &Value) -> String {
    v["id"].as_str().expect("an id").to_string()
}

/// Text as a reader sees it: character references resolved (named or numeric, as escapers
/// differ).
fn unescape(html: &str) -> String {
    html.replace("&#60;", "<")
        .replace("&lt;", "<")
        .replace("&#62;", ">")
        .replace("&gt;", ">")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#38;", "&")
        .replace("&amp;", "&")
}

/// The uptime bars of a page: the text of each `<svg class="bar" ...>...</svg>`.
fn bars(html: &str) -> Vec<&str> {
    html.split("<svg class=\"bar\"")
        .skip(1)
        .map(|rest| &rest[..rest.find("</svg>").expect("closed svg")])
        .collect()
}

/// The component row named `name` on the status page.
fn component_row<'a>(html: &'a str, name: &str) -> &'a str {
    let marker = format!("<span class=\"component-name\">{name}</span>");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no component {name}"));
    let end = html[start..].find("</li>").expect("row ends") + start;
    &html[start..end]
}

async fn status_page_story(app: TestApp) {
    let core = create(
        &app,
        "/api/v1/component-groups",
        json!({"name": "Core services"}),
    )
    .await;
    let api = create(
        &app,
        "/api/v1/components",
        json!({"name": "Public API", "group_id": id(&core)}),
    )
    .await;
    let web = create(
        &app,
        "/api/v1/components",
        json!({"name": "Website", "group_id": id(&core), "description": "The dashboard"}),
    )
    .await;
    create(
        &app,
        "/api/v1/components",
        json!({"name": "Edge cache", "only_show_if_degraded": true}),
    )
    .await;
    create(&app, "/api/v1/components", json!({"name": "Webhooks"})).await;

    // An incident with four updates on the API.
    let incident = create(
        &app,
        "/api/v1/incidents",
        json!({
            "name": "Elevated API error rates",
            "body": "We are **investigating** elevated error rates.",
            "components": {id(&api): "major_outage"},
        }),
    )
    .await;
    let incident_id = id(&incident);
    let short_id = incident["short_id"].as_str().unwrap().to_string();
    for (status, body) in [
        ("identified", "A bad deploy; rolling back."),
        ("monitoring", "Rolled back; watching error rates."),
        (
            "monitoring",
            "Error rates are back to normal on most hosts.",
        ),
    ] {
        create(
            &app,
            &format!("/api/v1/incidents/{incident_id}/updates"),
            json!({"status": status, "body": body}),
        )
        .await;
    }
    let starts_at = (chrono::Utc::now() + chrono::Duration::days(2)).to_rfc3339();
    let ends_at =
        (chrono::Utc::now() + chrono::Duration::days(2) + chrono::Duration::hours(2)).to_rfc3339();
    create(
        &app,
        "/api/v1/maintenances",
        json!({"name": "Database upgrade", "scheduled_for": starts_at, "scheduled_until": ends_at,
               "component_ids": [id(&web)], "body": "We are upgrading the database."}),
    )
    .await;

    let home = page_until(&app, "/", |b| {
        b.contains("Error rates are back to normal") && b.contains("Database upgrade")
    })
    .await;

    // The frame: one h1, landmarks, a link to the history, the footer.
    assert!(home.starts_with("<!doctype html>"), "{home}");
    assert!(home.contains("<html lang=\"en\">"));
    assert_eq!(home.matches("<h1").count(), 1, "one h1");
    for landmark in ["<header", "<main", "<footer", "<nav"] {
        assert!(home.contains(landmark), "{landmark}");
    }
    assert!(home.contains("href=\"/history\""));
    assert!(home.contains("Powered by Pharos"));

    // The overall status, from the components: one of four in a major outage.
    assert!(home.contains("Partial System Outage"), "{home}");

    // The open incident: its name, the latest update, and the earlier ones behind a disclosure.
    assert!(home.contains(&format!("href=\"/incidents/{short_id}\"")));
    assert!(home.contains("Elevated API error rates"));
    assert!(home.contains("Earlier updates (3)"), "{home}");
    assert!(
        home.contains("<strong>investigating</strong>"),
        "Markdown rendered"
    );
    let latest = home.find("Error rates are back to normal").unwrap();
    let earlier = home.find("<details class=\"earlier\">").unwrap();
    assert!(latest < earlier, "the latest update shows first");

    // Upcoming maintenance.
    assert!(home.contains("Scheduled"));
    assert!(home.contains("We are upgrading the database."));

    // Groups and components: grouped ones under their group, "only if degraded" hidden while
    // operational, each with its status as text and a 90-day bar of exactly 90 cells.
    assert!(home.contains("<details class=\"group\" open>"));
    assert!(home.contains("<h3>Core services</h3>"));
    assert!(!home.contains("Edge cache"), "hidden while operational");
    let api_row = component_row(&home, "Public API");
    assert!(api_row.contains("Major outage"), "{api_row}");
    assert!(component_row(&home, "Website").contains("Operational"));
    assert!(component_row(&home, "Website").contains("The dashboard"));
    assert!(component_row(&home, "Webhooks").contains("Operational"));
    let all_bars = bars(&home);
    assert_eq!(all_bars.len(), 3, "one bar per visible component");
    for bar in &all_bars {
        assert_eq!(bar.matches("<rect ").count(), 90, "{bar}");
        assert_eq!(bar.matches("<title>").count(), 90, "every day is labelled");
    }
    // Today's cell of the API is red and names the incident; the day before it existed, none.
    let api_bar = bars(api_row)[0];
    let today = api_bar.rsplit("<rect ").next().unwrap();
    assert!(today.contains("class=\"d-major\""), "{today}");
    assert!(today.contains("Major outage for"), "{today}");
    assert!(
        today.contains("Incidents: Elevated API error rates."),
        "{today}"
    );
    let yesterday = api_bar.rsplit("<rect ").nth(1).unwrap();
    assert!(yesterday.contains("no data"), "{yesterday}");
    // A component made moments ago has no whole second of history yet.
    assert!(
        api_row.contains("% uptime</span>") || api_row.contains(">no data</span>"),
        "{api_row}"
    );

    // Past incidents: fourteen days, the quiet ones saying so.
    assert_eq!(home.matches("No incidents reported.").count(), 13, "{home}");

    // The incident page: facts, source, and the whole timeline newest first.
    let page = page_until(&app, &format!("/incidents/{short_id}"), |b| {
        b.contains("Error rates are back to normal")
    })
    .await;
    assert_eq!(page.matches("<h1").count(), 1);
    assert!(page.contains("<h1>Elevated API error rates</h1>"), "{page}");
    assert!(
        page.contains("Critical impact"),
        "derived from major_outage"
    );
    assert!(page.contains("Posted by the team"));
    assert!(page.contains("<dt>Duration</dt>"));
    assert!(
        page.contains("so far"),
        "an open incident's duration runs on"
    );
    assert!(page.contains("Core services (Public API)"), "{page}");
    let order: Vec<usize> = [
        "Error rates are back to normal on most hosts.",
        "Rolled back; watching error rates.",
        "A bad deploy; rolling back.",
        "elevated error rates.",
    ]
    .iter()
    .map(|text| page.find(text).unwrap_or_else(|| panic!("{text} missing")))
    .collect();
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "newest first: {order:?}"
    );
    let labels: Vec<usize> = [
        "<strong>Update</strong>",
        "<strong>Monitoring</strong>",
        "<strong>Identified</strong>",
        "<strong>Investigating</strong>",
    ]
    .iter()
    .map(|l| page.find(l).unwrap_or_else(|| panic!("{l} missing")))
    .collect();
    assert!(labels.windows(2).all(|w| w[0] < w[1]), "{labels:?}");
    assert!(
        page.contains("Public API: Operational → Major outage"),
        "{page}"
    );
    assert!(page.contains("<time datetime=\""), "machine-readable times");
    assert!(page.contains(" UTC</time>"));

    // The UUID finds the same incident.
    let by_uuid = page_until(&app, &format!("/incidents/{incident_id}"), |b| {
        b.contains("Error rates are back to normal")
    })
    .await;
    assert_eq!(by_uuid, page);

    // Resolution and a postmortem reach every page.
    app.ok(
        Method::POST,
        &format!("/api/v1/incidents/{incident_id}/resolve"),
        Some(json!({"body": "All error rates are normal."})),
        StatusCode::OK,
    )
    .await;
    app.ok(
        Method::PUT,
        &format!("/api/v1/incidents/{incident_id}/postmortem"),
        Some(json!({"body": "## What happened\n\nA **bad** deploy \\(v2.3\\)."})),
        StatusCode::OK,
    )
    .await;
    let page = page_until(&app, &format!("/incidents/{short_id}"), |b| {
        b.contains("id=\"postmortem\"")
    })
    .await;
    assert!(page.contains("<strong>Postmortem</strong>"));
    assert!(page.contains("<h3>What happened</h3>"), "{page}");
    assert!(
        page.contains("A <strong>bad</strong> deploy (v2.3)."),
        "{page}"
    );
    assert!(page.contains("Published <time"), "{page}");
    assert!(page.contains("<strong>Resolved</strong>"));
    assert!(!page.contains("so far"), "{page}");
    let postmortem = page.find("id=\"postmortem\"").unwrap();
    let resolved = page.find("All error rates are normal.").unwrap();
    assert!(postmortem < resolved, "the postmortem leads the timeline");

    let home = page_until(&app, "/", |b| b.contains("All Systems Operational")).await;
    assert!(!home.contains("Active incidents"));
    assert_eq!(home.matches("No incidents reported.").count(), 13);
    assert!(home.contains("Read the postmortem"), "{home}");

    let history = page_until(&app, "/history", |b| b.contains("Elevated API error rates")).await;
    assert_eq!(history.matches("<h1").count(), 1);
    assert!(history.contains("<h1>Incident history</h1>"));
    let month = chrono::Utc::now().format("%B %Y").to_string();
    assert!(history.contains(&format!("<h2>{month}</h2>")), "{history}");
    assert!(history.contains("lasted"), "{history}");
    assert!(history.contains(&format!("href=\"/incidents/{short_id}\"")));

    let embed = page_until(&app, "/embed", |b| b.contains("All Systems Operational")).await;
    assert!(!embed.contains("<nav"), "no navigation in a frame");
    assert!(
        !embed.contains("Elevated API error rates"),
        "resolved incidents are not listed"
    );

    app.stop().await;
}

both_backends!(status_page, status_page_story);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_incident_is_an_html_404() {
    let app = common::app::spawn(common::app::Db::Sqlite)
        .await
        .expect("sqlite app");
    for path in [
        "/incidents/nosuchincident",
        "/incidents/0190b6f2-0000-7000-8000-000000000000",
        "/incidents/%3Cscript%3E",
    ] {
        let resp = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{path}");
        let content_type = resp.headers()[CONTENT_TYPE].to_str().unwrap().to_string();
        assert!(content_type.starts_with("text/html"), "{content_type}");
        assert!(resp.headers().get(ETAG).is_none());
        let body = resp.text().await.unwrap();
        assert!(body.contains("<h1>Page not found</h1>"), "{body}");
        assert!(body.contains("href=\"/\""));
        assert!(!body.contains("<script>"), "{body}");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responder_text_cannot_inject_script_or_markup() {
    let app = common::app::spawn(common::app::Db::Sqlite)
        .await
        .expect("sqlite app");
    let component = create(
        &app,
        "/api/v1/components",
        json!({"name": "<b>x</b>", "description": "<i>desc</i>"}),
    )
    .await;
    let group = create(
        &app,
        "/api/v1/component-groups",
        json!({"name": "Group \"<em>Ops</em>\" & Co"}),
    )
    .await;
    create(
        &app,
        "/api/v1/components",
        json!({"name": "Member", "group_id": id(&group)}),
    )
    .await;
    let payload = "Evil <script>alert(1)</script> and <img src=x onerror=alert(1)> and \
                   [x](javascript:alert(1)) and <a href=\"#\" onclick=\"alert(1)\">click</a> \
                   and <iframe src=\"https://evil.example\"></iframe><style>*{display:none}</style>";
    let incident = create(
        &app,
        "/api/v1/incidents",
        json!({
            "name": "<script>alert('name')</script> outage",
            "body": payload,
            "components": {id(&component): "partial_outage"},
        }),
    )
    .await;
    create(
        &app,
        &format!("/api/v1/incidents/{}/updates", id(&incident)),
        json!({"status": "identified", "body": format!("Second: {payload}")}),
    )
    .await;
    let short_id = incident["short_id"].as_str().unwrap().to_string();

    let home = page_until(&app, "/", |b| b.contains("Second: Evil")).await;
    let page = page_until(&app, &format!("/incidents/{short_id}"), |b| {
        b.contains("Second: Evil")
    })
    .await;
    let history = page_until(&app, "/history", |b| b.contains("outage")).await;
    let embed = page_until(&app, "/embed", |b| b.contains("outage")).await;
    for (path, html) in [
        ("/", &home),
        ("/incidents", &page),
        ("/history", &history),
        ("/embed", &embed),
    ] {
        let lower = html.to_ascii_lowercase();
        for needle in [
            "<script>alert",
            "<script>",
            "onerror=",
            "onclick=",
            "javascript:",
            "<iframe",
            "<style",
            "<b>x</b>",
        ] {
            assert!(!lower.contains(needle), "{path}: `{needle}` in:\n{html}");
        }
        assert!(
            unescape(html).contains("<script>alert('name')</script> outage"),
            "{path}: the name shows, escaped:\n{html}"
        );
    }
    for text in ["<b>x</b>", "<i>desc</i>", "Group \"<em>Ops</em>\" & Co"] {
        assert!(!home.contains(text), "{text} is not markup");
        assert!(unescape(&home).contains(text), "{text} shows as text");
    }
    // The harmless parts of the body survive.
    assert!(page.contains(">click</a>"), "{page}");
    assert!(page.contains("Evil "), "{page}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_page_is_compressed_and_revalidated() {
    use std::io::Read;
    let app = common::app::spawn(common::app::Db::Sqlite)
        .await
        .expect("sqlite app");
    create(&app, "/api/v1/components", json!({"name": "API"})).await;
    let plain = page_until(&app, "/", |b| b.contains("component-name\">API<")).await;

    let resp = app
        .client
        .get(app.url("/"))
        .header(ACCEPT_ENCODING, "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()[CONTENT_ENCODING], "gzip");
    assert!(resp.headers()[CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/html; charset=utf-8"));
    let etag = resp.headers()[ETAG].to_str().unwrap().to_string();
    assert!(etag.ends_with("-gz\""), "{etag}");
    let compressed = resp.bytes().await.unwrap();
    let mut body = String::new();
    flate2::read::GzDecoder::new(&compressed[..])
        .read_to_string(&mut body)
        .unwrap();
    assert_eq!(body, plain);
    assert!(compressed.len() * 3 < plain.len(), "the bars compress well");

    let resp = app
        .client
        .get(app.url("/"))
        .header(ACCEPT_ENCODING, "gzip")
        .header(IF_NONE_MATCH, &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_MODIFIED);
    assert!(resp.bytes().await.unwrap().is_empty());

    // The assets the page links are served, versioned ones cached for good.
    for (asset, kind) in [("pharos.css", "text/css"), ("pharos.js", "text/javascript")] {
        let link = plain
            .split('"')
            .find(|s| s.starts_with(&format!("/assets/{asset}?v=")))
            .unwrap_or_else(|| panic!("{asset} is linked"));
        let resp = app.client.get(app.url(link)).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{link}");
        assert!(resp.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with(kind));
        assert!(resp.headers()[CACHE_CONTROL]
            .to_str()
            .unwrap()
            .contains("immutable"));
        let resp = app
            .client
            .get(app.url(&format!("/assets/{asset}")))
            .send()
            .await
            .unwrap();
        assert!(!resp.headers()[CACHE_CONTROL]
            .to_str()
            .unwrap()
            .contains("immutable"));
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_maintenance_shortlink_opens_its_page() {
    let app = common::app::spawn(common::app::Db::Sqlite)
        .await
        .expect("sqlite app");
    let api = create(&app, "/api/v1/components", json!({"name": "Database"})).await;
    create(
        &app,
        "/api/v1/maintenances",
        json!({
            "name": "Database upgrade",
            "scheduled_for": "2099-01-01T02:00:00Z",
            "scheduled_until": "2099-01-01T04:00:00Z",
            "component_ids": [id(&api)],
            "body": "We will upgrade the **primary** database."
        }),
    )
    .await;
    // The shortlink the Statuspage API gives out must lead to a page about the maintenance.
    let deadline = Instant::now() + Duration::from_secs(10);
    let shortlink = loop {
        let (_, doc) = app
            .get("/api/v2/scheduled-maintenances/upcoming.json")
            .await;
        if let Some(link) = doc["scheduled_maintenances"][0]["shortlink"].as_str() {
            break link.to_string();
        }
        assert!(
            Instant::now() < deadline,
            "the maintenance never became public: {doc}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    // The link is on the configured page URL; follow its path on this server.
    let path = &shortlink[shortlink
        .find("/incidents/")
        .unwrap_or_else(|| panic!("{shortlink} is not an incident link"))..];
    let page = page_until(&app, path, |body| body.contains("Database upgrade")).await;
    assert!(page.contains("<strong>primary</strong>"), "{page}");
    assert!(page.contains("Scheduled"), "the status label: {page}");
    assert!(
        unescape(&page).contains("Database"),
        "the affected component: {page}"
    );
    app.stop().await;
}

/// `/history` shows the months the snapshot holds in full and links the month before them;
/// each month has a page, read from the store when it is older than the snapshot, linked to
/// the months around it; an incident of an old month opens from there; a month before the
/// first incident says where the history begins; anything not a month of the history is 404.
///
/// Time is a `ManualClock`: an incident and a maintenance in March 2025, then 50 incidents in
/// November 2026, which push the March one out of the snapshot (it keeps 50 resolved incidents
/// besides those of the last 90 days).
async fn history_month_by_month_story(db: common::app::Db) {
    use pharos::clock::ManualClock;
    use pharos::domain::Timestamp;
    use std::sync::Arc;
    let at = |text: &str| Timestamp::parse(text).expect("a time");
    let clock = Arc::new(ManualClock::new(at("2025-03-10T09:00:00Z")));
    let Some(app) = common::app::spawn_with(db, clock.clone()).await else {
        eprintln!("skipping: PHAROS_TEST_POSTGRES_URL is not set");
        return;
    };
    let api = create(&app, "/api/v1/components", json!({"name": "Public API"})).await;
    let old = create(
        &app,
        "/api/v1/incidents",
        json!({"name": "Old database outage", "body": "Investigating.",
               "components": {id(&api): "major_outage"}}),
    )
    .await;
    clock.advance(chrono::Duration::hours(2));
    app.ok(
        Method::POST,
        &format!("/api/v1/incidents/{}/resolve", id(&old)),
        Some(json!({"body": "Fixed."})),
        StatusCode::OK,
    )
    .await;
    let window = create(
        &app,
        "/api/v1/maintenances",
        json!({"name": "Old storage upgrade", "scheduled_for": "2025-03-20T01:00:00Z",
               "scheduled_until": "2025-03-20T03:00:00Z", "component_ids": [id(&api)]}),
    )
    .await;

    clock.set(at("2026-11-20T12:00:00Z"));
    for i in 0..50 {
        let recent = create(
            &app,
            "/api/v1/incidents",
            json!({"name": format!("Recent blip {i}"), "body": "Looking."}),
        )
        .await;
        app.ok(
            Method::POST,
            &format!("/api/v1/incidents/{}/resolve", id(&recent)),
            Some(json!({"body": "Gone."})),
            StatusCode::OK,
        )
        .await;
    }

    // The snapshot no longer holds the March incident; `/history` shows September to
    // November 2026 and links August.
    let history = page_until(&app, "/history", |b| b.contains("Recent blip 49")).await;
    let (_, listed) = app.get("/api/v2/incidents.json").await;
    assert!(
        !listed.to_string().contains("Old database outage"),
        "beyond the snapshot: {listed}"
    );
    assert!(history.contains("<h2>November 2026</h2>"), "{history}");
    assert!(!history.contains("Old database outage"), "{history}");
    assert!(
        history.contains("<a href=\"/history/2026-08\" rel=\"prev\">Earlier: August 2026</a>"),
        "{history}"
    );

    // Walk back: August 2026 is quiet, read from the store, and links both ways.
    let august = page_until(&app, "/history/2026-08", |b| {
        b.contains("<h1>August 2026</h1>")
    })
    .await;
    assert!(
        august.contains("No incidents or maintenance were reported in August 2026."),
        "{august}"
    );
    assert!(
        august.contains("href=\"/history/2026-07\" rel=\"prev\""),
        "{august}"
    );
    assert!(
        august.contains("href=\"/history/2026-09\" rel=\"next\""),
        "{august}"
    );
    // Forward into the snapshot's months, whose pages come from it.
    let september = page_until(&app, "/history/2026-09", |b| {
        b.contains("<h1>September 2026</h1>")
    })
    .await;
    assert!(
        september.contains("href=\"/history/2026-08\" rel=\"prev\""),
        "{september}"
    );
    let november = page_until(&app, "/history/2026-11", |b| b.contains("Recent blip 0")).await;
    assert!(
        !november.contains("rel=\"next\""),
        "no month after the current one"
    );

    // March 2025, from the store: the incident and the maintenance, where the history begins.
    let march = page_until(&app, "/history/2025-03", |b| {
        b.contains("Old database outage")
    })
    .await;
    assert!(march.contains("<h1>March 2025</h1>"), "{march}");
    assert!(march.contains("Old storage upgrade"), "{march}");
    assert!(march.contains("lasted"), "{march}");
    assert!(march.contains("Affected: Public API"), "{march}");
    assert!(
        march.contains("href=\"/history/2025-04\" rel=\"next\""),
        "{march}"
    );
    assert!(
        !march.contains("rel=\"prev\""),
        "nothing before March 2025: {march}"
    );
    let short_id = old["short_id"].as_str().unwrap();
    assert!(
        march.contains(&format!("href=\"/incidents/{short_id}\"")),
        "{march}"
    );
    assert!(
        march.contains(&format!("href=\"/incidents/{}\"", id(&window))),
        "{march}"
    );

    // Its links open the incident and the maintenance, though the snapshot forgot them.
    let page = page_until(&app, &format!("/incidents/{short_id}"), |b| {
        b.contains("<h1>Old database outage</h1>")
    })
    .await;
    assert!(page.contains("Fixed."), "{page}");
    page_until(&app, &format!("/incidents/{}", id(&old)), |b| {
        b.contains("<h1>Old database outage</h1>")
    })
    .await;
    page_until(&app, &format!("/incidents/{}", id(&window)), |b| {
        b.contains("<h1>Old storage upgrade</h1>")
    })
    .await;

    // Before the first incident: an empty month that says where the history begins.
    let before = page_until(&app, "/history/2024-12", |b| {
        b.contains("<h1>December 2024</h1>")
    })
    .await;
    assert!(
        before.contains(
            "Nothing was reported in December 2024: the history of this page begins in March 2025."
        ),
        "{before}"
    );
    assert!(
        before.contains("<a href=\"/history/2025-03\">Go to March 2025</a>"),
        "{before}"
    );
    assert!(!before.contains("rel=\"prev\""), "{before}");

    // Not months of the history.
    for path in [
        "/history/2026-13",
        "/history/2026-00",
        "/history/2026-1",
        "/history/2026-12",
        "/history/2099-01",
        "/history/1969-12",
        "/history/november",
        "/history/2026-11-01",
        "/incidents/zzzzzzzzzzzz",
    ] {
        let resp = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{path}");
        let body = resp.text().await.unwrap();
        assert!(body.contains("<h1>Page not found</h1>"), "{path}: {body}");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_month_by_month_sqlite() {
    history_month_by_month_story(common::app::Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_month_by_month_postgres() {
    history_month_by_month_story(common::app::Db::Postgres).await;
}
