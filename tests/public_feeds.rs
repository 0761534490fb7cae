//! The history feeds and the badges, read as their real consumers read them.
//!
//! `/history.atom` and `/history.rss` are parsed with `feed-rs`, the feed parser Pharos's own
//! vendor tracking uses: one entry per incident and maintenance, newest first, with stable ids,
//! titles, links and the update timeline as HTML. Names with XML-special characters must not
//! break the feed, and update bodies written to attack a reader (`<script>`, event handlers,
//! `javascript:` links) must arrive inert. The SVG badges must say what the page says, in
//! text too, and an unknown component is a plain 404.
//!
//! SQLite only: feeds and badges are rendered from the in-memory snapshot, the same on both
//! backends (`public_api_v2` runs the snapshot's contents against both). No fixed sleeps:
//! every wait polls with a deadline.

mod common;

use common::app::{Db, TestApp};
use feed_rs::model::{Entry, Feed};
use reqwest::header::{self, HeaderMap};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const DEADLINE: Duration = Duration::from_secs(15);

/// What the attacker writes; each is its own update, so each is parsed as what it pretends to
/// be (an HTML block, an inline image, a Markdown link).
const ATTACKS: &[&str] = &[
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[x](javascript:alert(1))",
];

/// Markup that must not survive into a feed reader, in the decoded entry content.
const DANGEROUS: &[&str] = &["<script", "onerror", "javascript:"];

struct Fetched {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

async fn fetch(app: &TestApp, path: &str) -> Fetched {
    let resp = app.client.get(app.url(path)).send().await.expect("request");
    Fetched {
        status: resp.status(),
        headers: resp.headers().clone(),
        body: resp.text().await.expect("body"),
    }
}

fn header_text<'h>(headers: &'h HeaderMap, name: &header::HeaderName) -> &'h str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// Polls `path` until `ready` holds for its body, failing with the last body after the deadline.
async fn wait_for(app: &TestApp, path: &str, what: &str, ready: impl Fn(&str) -> bool) -> Fetched {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let fetched = fetch(app, path).await;
        if fetched.status == StatusCode::OK && ready(&fetched.body) {
            return fetched;
        }
        assert!(
            Instant::now() < deadline,
            "{path} never showed {what}; last ({}): {}",
            fetched.status,
            fetched.body
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn parse(body: &str) -> Feed {
    feed_rs::parser::parse(body.as_bytes()).unwrap_or_else(|e| panic!("not a feed ({e}): {body}"))
}

fn title(entry: &Entry) -> &str {
    entry.title.as_ref().map_or("", |t| t.content.as_str())
}

fn id_of(value: &Value) -> String {
    value["id"].as_str().expect("an id").to_string()
}

/// Something announced on the page, as the management API returned it.
struct Announced {
    id: String,
    short_id: String,
    name: String,
}

impl Announced {
    fn from(value: &Value) -> Announced {
        Announced {
            id: id_of(value),
            short_id: value["short_id"].as_str().expect("a short id").to_string(),
            name: value["name"].as_str().expect("a name").to_string(),
        }
    }
}

/// A page with a component whose name needs escaping, a resolved incident with a postmortem,
/// an open incident whose updates attack the reader, and an upcoming maintenance, in that
/// order (so the feed lists them in reverse).
async fn populate(app: &TestApp) -> (String, Vec<Announced>) {
    let now = chrono::Utc::now();
    let ago = |days: i64| (now - chrono::Duration::days(days)).to_rfc3339();
    let component = app
        .ok(
            Method::POST,
            "/api/v1/components",
            Some(json!({"name": "API & <Core>"})),
            StatusCode::CREATED,
        )
        .await;
    let component = id_of(&component);

    let resolved = app
        .ok(
            Method::POST,
            "/api/v1/incidents",
            Some(
                json!({"name": "Slow logins", "body": "Logins are **slow**.\nWe are on it.",
                        "started_at": ago(2)}),
            ),
            StatusCode::CREATED,
        )
        .await;
    app.ok(
        Method::POST,
        &format!("/api/v1/incidents/{}/resolve", id_of(&resolved)),
        Some(json!({"body": "Fixed."})),
        StatusCode::OK,
    )
    .await;
    app.ok(
        Method::PUT,
        &format!("/api/v1/incidents/{}/postmortem", id_of(&resolved)),
        Some(json!({"body": "## What happened\n\nA full disk."})),
        StatusCode::OK,
    )
    .await;

    let attacked = app
        .ok(
            Method::POST,
            "/api/v1/incidents",
            Some(json!({"name": "Errors & <timeouts> on \"API\"",
                        "body": "We are investigating errors & timeouts.",
                        "components": {component.as_str(): "major_outage"},
                        "started_at": ago(1)})),
            StatusCode::CREATED,
        )
        .await;
    for body in ATTACKS {
        app.ok(
            Method::POST,
            &format!("/api/v1/incidents/{}/updates", id_of(&attacked)),
            Some(json!({"status": "identified", "body": body})),
            StatusCode::CREATED,
        )
        .await;
    }

    let maintenance = app
        .ok(
            Method::POST,
            "/api/v1/maintenances",
            Some(json!({"name": "Database upgrade <v17>",
                        "scheduled_for": (now + chrono::Duration::days(1)).to_rfc3339(),
                        "scheduled_until": (now + chrono::Duration::days(1) + chrono::Duration::hours(2)).to_rfc3339(),
                        "component_ids": [component],
                        "body": "We will upgrade the database.",
                        "auto_transition": false})),
            StatusCode::CREATED,
        )
        .await;
    (
        component,
        vec![
            Announced::from(&maintenance),
            Announced::from(&attacked),
            Announced::from(&resolved),
        ],
    )
}

/// The page URL the feeds link to.
async fn page_url(app: &TestApp) -> String {
    let summary: Value = fetch(app, "/api/v2/summary.json")
        .await
        .body
        .parse::<Value>()
        .expect("JSON");
    summary["page"]["url"].as_str().expect("a url").to_string()
}

/// Checks what every feed format must carry; `content` gets the decoded HTML of an entry.
fn check_entries(
    format: &str,
    feed: &Feed,
    announced: &[Announced],
    page: &str,
    content: impl Fn(&Entry) -> String,
) {
    let titles: Vec<&str> = feed.entries.iter().map(title).collect();
    let expected: Vec<&str> = announced.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(titles, expected, "{format}: one entry each, newest first");
    for (entry, a) in feed.entries.iter().zip(announced) {
        assert_eq!(
            entry.id,
            format!("urn:uuid:{}", a.id),
            "{format}: stable id"
        );
        let link = format!("{page}/incidents/{}", a.short_id);
        assert!(
            entry.links.iter().any(|l| l.href == link),
            "{format}: {} links to {link}: {:?}",
            a.name,
            entry.links
        );
        assert!(entry.published.is_some(), "{format}: {} published", a.name);
        let html = content(entry);
        let lower = html.to_ascii_lowercase();
        for bad in DANGEROUS {
            assert!(!lower.contains(bad), "{format}: `{bad}` in {html}");
        }
        assert!(
            html.starts_with("<p><small>"),
            "{format}: the timeline as Statuspage writes it: {html}"
        );
    }

    let timeline = |i: usize| content(&feed.entries[i]);
    let maintenance = timeline(0);
    assert!(
        maintenance.contains("<strong>Scheduled</strong> - We will upgrade the database."),
        "{format}: {maintenance}"
    );
    let attacked = timeline(1);
    assert!(
        attacked.contains(
            "<strong>Investigating</strong> - We are investigating errors &amp; timeouts."
        ),
        "{format}: {attacked}"
    );
    assert_eq!(
        attacked.matches("<strong>Identified</strong>").count(),
        ATTACKS.len(),
        "{format}: every update is in the timeline, inert: {attacked}"
    );
    let resolved = timeline(2);
    let position = |needle: &str| {
        resolved
            .find(needle)
            .unwrap_or_else(|| panic!("{format}: no `{needle}` in {resolved}"))
    };
    // Newest first, the published postmortem on top; Markdown rendered, line breaks kept.
    assert!(
        position("<strong>Postmortem</strong></p><h3>What happened</h3>")
            < position("<strong>Resolved</strong> - Fixed.")
    );
    assert!(
        position("<strong>Resolved</strong> - Fixed.")
            < position("<strong>Investigating</strong> - Logins are <strong>slow</strong>.<br>")
    );
}

fn check_feed_headers(format: &str, fetched: &Fetched, content_type: &str) {
    assert_eq!(
        header_text(&fetched.headers, &header::CONTENT_TYPE),
        content_type,
        "{format}"
    );
    assert_eq!(
        header_text(&fetched.headers, &header::ACCESS_CONTROL_ALLOW_ORIGIN),
        "*",
        "{format}: readable by widgets on other sites"
    );
    assert!(!header_text(&fetched.headers, &header::ETAG).is_empty());
    assert!(!header_text(&fetched.headers, &header::CACHE_CONTROL).is_empty());
    // The raw document carries the attacks only as escaped text, if at all.
    assert!(!fetched.body.contains("<script"), "{format}: raw <script");
    assert!(!fetched.body.contains("<img"), "{format}: raw <img");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feeds_list_every_incident_and_maintenance_inertly() {
    let app = common::app::spawn(Db::Sqlite).await.expect("sqlite app");

    // An empty page has valid, empty feeds.
    let atom = fetch(&app, "/history.atom").await;
    assert_eq!(atom.status, StatusCode::OK);
    assert!(parse(&atom.body).entries.is_empty());
    let rss = fetch(&app, "/history.rss").await;
    assert_eq!(rss.status, StatusCode::OK);
    assert!(parse(&rss.body).entries.is_empty());

    let (_, announced) = populate(&app).await;
    let page = page_url(&app).await;
    // The maintenance was written last: once the snapshot shows it, it shows everything.
    wait_for(
        &app,
        "/api/v2/scheduled-maintenances.json",
        "the maintenance",
        |b| b.contains("Database upgrade"),
    )
    .await;

    let atom = fetch(&app, "/history.atom").await;
    assert_eq!(atom.status, StatusCode::OK);
    check_feed_headers("atom", &atom, "application/atom+xml; charset=utf-8");
    let feed = parse(&atom.body);
    assert!(
        feed.title
            .as_ref()
            .is_some_and(|t| t.content.ends_with(" - Incident History")),
        "{:?}",
        feed.title
    );
    assert!(feed.updated.is_some());
    for entry in &feed.entries {
        assert!(entry.updated.is_some(), "atom entries carry updated");
    }
    check_entries("atom", &feed, &announced, &page, |e| {
        e.content
            .as_ref()
            .and_then(|c| c.body.clone())
            .expect("atom content")
    });

    let rss = fetch(&app, "/history.rss").await;
    assert_eq!(rss.status, StatusCode::OK);
    check_feed_headers("rss", &rss, "application/rss+xml; charset=utf-8");
    let feed = parse(&rss.body);
    check_entries("rss", &feed, &announced, &page, |e| {
        e.summary
            .as_ref()
            .map(|t| t.content.clone())
            .expect("rss description")
    });

    // Validators work on feeds as on the JSON API.
    let etag = header_text(&rss.headers, &header::ETAG).to_string();
    let revalidated = app
        .client
        .get(app.url("/history.rss"))
        .header(header::IF_NONE_MATCH, &etag)
        .send()
        .await
        .expect("request");
    assert!(
        revalidated.status() == StatusCode::NOT_MODIFIED
            || header_text(revalidated.headers(), &header::ETAG) != etag,
        "a matching validator gets 304"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn badges_say_what_the_page_says() {
    let app = common::app::spawn(Db::Sqlite).await.expect("sqlite app");

    let badge = fetch(&app, "/badge.svg").await;
    assert_eq!(badge.status, StatusCode::OK);
    assert_eq!(
        header_text(&badge.headers, &header::CONTENT_TYPE),
        "image/svg+xml; charset=utf-8"
    );
    assert_eq!(
        header_text(&badge.headers, &header::ACCESS_CONTROL_ALLOW_ORIGIN),
        "*"
    );
    assert_eq!(
        header_text(&badge.headers, &header::X_CONTENT_TYPE_OPTIONS),
        "nosniff"
    );
    assert!(
        header_text(&badge.headers, &header::CONTENT_SECURITY_POLICY)
            .contains("default-src 'none'")
    );
    assert!(badge
        .body
        .starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert!(badge.body.contains("role=\"img\""));
    assert!(badge.body.contains("All Systems Operational"));
    assert!(badge.body.contains("<title>"), "a text alternative");

    let (component, _) = populate(&app).await;
    // The attacked incident holds the component in a major outage: the only component, so
    // the page is in a major system outage.
    let status: Value = wait_for(&app, "/api/v2/status.json", "critical", |b| {
        b.contains("\"critical\"")
    })
    .await
    .body
    .parse()
    .expect("JSON");
    let description = status["status"]["description"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(description, "Major System Outage");
    wait_for(&app, "/badge.svg", "the outage", |b| {
        b.contains(&description)
    })
    .await;

    let path = format!("/components/{component}/badge.svg");
    let badge = fetch(&app, &path).await;
    assert_eq!(badge.status, StatusCode::OK);
    assert!(badge.body.contains("major outage"), "{}", badge.body);
    assert!(
        badge.body.contains("API &amp; &lt;Core&gt;"),
        "the name, escaped: {}",
        badge.body
    );
    assert!(!badge.body.contains("<Core>"));

    // The badge follows the component.
    app.ok(
        Method::PATCH,
        &format!("/api/v1/components/{component}"),
        Some(json!({"status": "degraded_performance"})),
        StatusCode::OK,
    )
    .await;
    wait_for(&app, &path, "degraded performance", |b| {
        b.contains("degraded performance")
    })
    .await;

    let uptime = fetch(&app, &format!("/components/{component}/uptime.svg")).await;
    assert_eq!(uptime.status, StatusCode::OK);
    assert!(uptime.body.contains("uptime"), "{}", uptime.body);
    assert!(
        uptime.body.contains('%') || uptime.body.contains("no data"),
        "{}",
        uptime.body
    );

    // Unknown or malformed ids: a plain 404, not a JSON error (the badge is an image).
    for id in [uuid::Uuid::now_v7().to_string(), "nope".to_string()] {
        for kind in ["badge.svg", "uptime.svg"] {
            let missing = fetch(&app, &format!("/components/{id}/{kind}")).await;
            assert_eq!(missing.status, StatusCode::NOT_FOUND, "{id}/{kind}");
            assert!(
                header_text(&missing.headers, &header::CONTENT_TYPE).starts_with("text/plain"),
                "{id}/{kind}"
            );
            assert!(serde_json::from_str::<Value>(&missing.body).is_err());
        }
    }
    app.stop().await;
}
