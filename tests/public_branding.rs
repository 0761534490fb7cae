//! The page's branding over HTTP, configured from a TOML file: the logo in the header (its
//! text alternative the page name), the footer links (escaped), the accent colour served as
//! `/assets/theme.css` (no inline style on any page), and times written in the configured zone
//! with its abbreviation while `<time datetime>` stays UTC; the feeds' timeline text follows
//! the zone and `/api/v2` reports it.
//!
//! SQLite only: branding is read from the configuration and the snapshot, never the database.
//! The pages come from the snapshot, which the projector rebuilds just after each commit, so
//! each check polls until the expected text appears (10 s deadline).

mod common;

use chrono::{DateTime, Utc};
use chrono_tz::America::New_York;
use common::app::{Db, TestApp};
use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE};
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::time::Duration;
use tokio::time::Instant;

const CONFIG: &str = r##"
[page]
name = "Acme <Ops> & Co"
time_zone = "America/New_York"
logo_url = "https://cdn.example.com/logo.svg?size=2&theme=dark"
accent_color = "#0B3D91"

[[page.footer_links]]
label = "Terms & \"Privacy\""
url = "https://www.example.com/legal?a=1&b=2"

[[page.footer_links]]
label = "<b>Contact</b>"
url = "/contact"
"##;

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

/// The value of the first `attribute="..."` after `marker` in `html`.
fn attribute_after<'a>(html: &'a str, marker: &str, attribute: &str) -> &'a str {
    let at = html.find(marker).unwrap_or_else(|| panic!("no {marker}"));
    let key = format!("{attribute}=\"");
    let start = html[at..].find(&key).expect("attribute") + at + key.len();
    let end = html[start..].find('"').expect("closed attribute") + start;
    &html[start..end]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_shows_its_logo_footer_links_accent_and_time_zone() {
    let app = common::app::spawn_with_config(Db::Sqlite, CONFIG)
        .await
        .expect("sqlite app");

    // One incident started in winter (EST), one in summer (EDT), both still open.
    let mut short_ids = Vec::new();
    for (name, started_at) in [
        ("Winter outage", "2026-01-15T14:09:00Z"),
        ("Summer outage", "2026-07-01T16:00:00Z"),
    ] {
        let incident = app
            .ok(
                Method::POST,
                "/api/v1/incidents",
                Some(json!({"name": name, "body": "Looking into it.", "started_at": started_at})),
                StatusCode::CREATED,
            )
            .await;
        short_ids.push(incident["short_id"].as_str().unwrap().to_string());
    }

    let home = page_until(&app, "/", |b| {
        b.contains("Winter outage") && b.contains("Summer outage")
    })
    .await;

    // The logo replaces the name in the header, named by the page name; both escaped.
    assert!(
        home.contains(
            "<a class=\"brand\" href=\"/\"><img class=\"logo\" \
             src=\"https://cdn.example.com/logo.svg?size=2&#38;theme=dark\" \
             alt=\"Acme &#60;Ops&#62; &#38; Co\"></a>"
        ),
        "{home}"
    );

    // The footer links, in order, text and addresses escaped.
    let terms = home
        .find("<a href=\"https://www.example.com/legal?a=1&#38;b=2\">Terms &#38; &#34;Privacy&#34;</a>")
        .unwrap_or_else(|| panic!("terms link: {home}"));
    let contact = home
        .find("<a href=\"/contact\">&#60;b&#62;Contact&#60;/b&#62;</a>")
        .unwrap_or_else(|| panic!("contact link: {home}"));
    let footer = home.find("<footer").unwrap();
    assert!(footer < terms && terms < contact, "in the footer, in order");
    assert!(!home.contains("<b>Contact"), "labels are text, not markup");

    // Times: in New York with the zone's abbreviation, machine-readable in UTC.
    assert!(
        home.contains(
            "<time datetime=\"2026-01-15T14:09:00Z\" data-local=\"datetime\">Jan 15, 2026 - 09:09 EST</time>"
        ),
        "{home}"
    );
    assert!(
        home.contains(
            "<time datetime=\"2026-07-01T16:00:00Z\" data-local=\"datetime\">Jul 01, 2026 - 12:00 EDT</time>"
        ),
        "{home}"
    );
    assert!(!home.contains(" UTC</time>"), "no time left in UTC: {home}");
    assert!(home.contains("Times are shown in the America/New_York time zone."));

    // The incident page: the facts and the timeline in the zone too.
    let page = page_until(&app, &format!("/incidents/{}", short_ids[0]), |b| {
        b.contains("Winter outage")
    })
    .await;
    assert!(page.contains(">Jan 15, 2026 - 09:09 EST</time>"), "{page}");
    assert!(!page.contains(" UTC</time>"), "{page}");
    // The first update was posted just now: its text is "now" in New York.
    let posted = attribute_after(&page, "<p class=\"posted\">Posted", "datetime");
    let posted: DateTime<Utc> = posted.parse().expect("an ISO time in UTC");
    let local = posted
        .with_timezone(&New_York)
        .format("%b %d, %Y - %H:%M %Z")
        .to_string();
    assert!(
        page.contains(&format!(">{local}</time>")),
        "{local}: {page}"
    );

    // The accent colour comes from the theme stylesheet, never an inline style.
    assert!(!home.contains("<style"), "no inline style element");
    assert!(!home.contains(" style=\""), "no inline style attribute");
    let theme = attribute_after(
        &home,
        "<link rel=\"stylesheet\" href=\"/assets/theme.css",
        "href",
    );
    assert!(theme.starts_with("/assets/theme.css?v="), "{theme}");
    let resp = app.client.get(app.url(theme)).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let content_type = resp.headers()[CONTENT_TYPE].to_str().unwrap().to_string();
    assert!(content_type.starts_with("text/css"), "{content_type}");
    let cache = resp.headers()[CACHE_CONTROL].to_str().unwrap().to_string();
    assert!(cache.contains("immutable"), "versioned, so cached: {cache}");
    let css = resp.text().await.unwrap();
    assert!(css.contains(":root{--accent:#0b3d91}"), "{css}");
    // Navy is readable on the light page only, so dark pages keep their own link colour.
    assert!(css.contains(":root{--accent-text:#0b3d91}"), "{css}");
    assert!(css.contains("--accent-text:initial"), "{css}");
    let embed = page_until(&app, "/embed", |b| b.contains("Winter outage")).await;
    assert!(embed.contains(theme), "the embed takes the theme: {embed}");

    // The feeds' timeline text follows the zone; their own dates stay UTC.
    let atom = page_until(&app, "/history.atom", |b| b.contains("Winter outage")).await;
    let zone = posted.with_timezone(&New_York).format("%Z").to_string();
    assert!(
        atom.contains(&format!(" {zone}&lt;/small&gt;")),
        "{zone}: {atom}"
    );
    assert!(!atom.contains(" UTC&lt;/small&gt;"), "{atom}");
    assert!(
        atom.contains("<published>2026-01-15T14:09:00Z</published>"),
        "{atom}"
    );

    // The API reports the zone's name, as Statuspage does.
    let summary: serde_json::Value = app
        .client
        .get(app.url("/api/v2/summary.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(summary["page"]["time_zone"], "America/New_York");
    assert_eq!(summary["page"]["name"], "Acme <Ops> & Co");

    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_branding_the_page_is_plain_and_in_utc() {
    let app = common::app::spawn(Db::Sqlite).await.expect("sqlite app");
    app.ok(
        Method::POST,
        "/api/v1/incidents",
        Some(json!({"name": "Plain outage", "body": "Looking.", "started_at": "2026-01-15T14:09:00Z"})),
        StatusCode::CREATED,
    )
    .await;
    let home = page_until(&app, "/", |b| b.contains("Plain outage")).await;
    assert!(
        home.contains("<a class=\"brand\" href=\"/\">Status</a>"),
        "{home}"
    );
    for absent in ["theme.css", "class=\"logo\"", "footer-links", "<style"] {
        assert!(!home.contains(absent), "{absent}: {home}");
    }
    assert!(home.contains(">Jan 15, 2026 - 14:09 UTC</time>"), "{home}");
    assert!(home.contains("Times are shown in UTC."));
    app.stop().await;
}
