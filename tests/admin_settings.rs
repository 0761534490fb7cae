//! Page settings from the web UI (`/admin/settings`) and the API (`/api/v1/page`), over HTTP
//! against the real server, on SQLite and PostgreSQL:
//!
//! - an admin changes the name, colour, zone, footer links and text from the form, and `/`,
//!   `/api/v2/summary.json`'s `page` (its `updated_at` too), `/assets/theme.css`, the feed,
//!   the admin frame and the sign-in screen show them without a restart; Markdown footer text with `<script>` renders inert; the audit
//!   log names the user;
//! - viewers and responders are refused; bad values (colour `red`, zone `Mars/Base`, a
//!   `javascript:` logo, too many footer links) get a message per field and change nothing;
//!   the API applies the same rules and needs an `admin` token to change anything;
//! - a field set in the configuration file is read only on the screen and refused by the API
//!   and the form, while the others stay editable;
//! - after a restart the stored values still apply, from the database and, with the database
//!   away, from the snapshot on disk.

mod common;

use common::admin::{add_user, AdminBrowser};
use common::app::{Db, TestApp};
use pharos::account::Role;
use pharos::store::Store;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::future::Future;
use std::time::Duration;

const ADMIN: &str = "admin@example.com";

/// Polls `check` until it gives a value, for at most 20 s (the projector rebuilds on every
/// commit, so this is normally one round).
async fn wait_for<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn text(client: &reqwest::Client, url: &str) -> (StatusCode, String) {
    let resp = client.get(url).send().await.expect("GET");
    (resp.status(), resp.text().await.expect("body"))
}

async fn summary_page(app: &TestApp) -> Value {
    let (status, body) = text(&app.client, &app.url("/api/v2/summary.json")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    serde_json::from_str::<Value>(&body).expect("summary JSON")["page"].clone()
}

/// A time of the public API (`2024-05-01T12:00:00.000Z`) in milliseconds since the epoch.
fn millis(value: &Value) -> i64 {
    let text = value.as_str().expect("a time");
    chrono::DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .timestamp_millis()
}

async fn app_on(db: Db, toml: &str) -> Option<TestApp> {
    let app = common::app::spawn_with_config(db, toml).await?;
    for (email, role) in [
        (ADMIN, Role::Admin),
        ("responder@example.com", Role::Responder),
        ("viewer@example.com", Role::Viewer),
    ] {
        add_user(app.store.as_ref(), email, role).await;
    }
    Some(app)
}

// ---- an admin changes the page from the form ----------------------------------------------

async fn an_admin_changes_the_page_from_the_form(db: Db) {
    let Some(app) = app_on(db, "").await else {
        eprintln!("skipping: PHAROS_TEST_POSTGRES_URL is not set");
        return;
    };
    let mut admin = AdminBrowser::signed_in(&app.base, ADMIN).await;
    let page = admin.get_ok("/admin/settings").await;
    assert!(
        page.contains(r#"href="/admin/settings" aria-current="page""#),
        "{page}"
    );
    assert!(page.contains(r#"name="name""#) && page.contains(r#"name="time_zone""#));
    assert!(!page.contains("Set in the configuration file"), "{page}");

    // Something public, so that `page.updated_at` is a time of its own before the change.
    let (status, body) = app.post("/api/v1/components", json!({"name": "API"})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let component_at = wait_for("the component on the page", || async {
        let (_, body) = text(&app.client, &app.url("/api/v2/summary.json")).await;
        let summary: Value = serde_json::from_str(&body).expect("summary JSON");
        (summary["components"].as_array().map(Vec::len) == Some(1))
            .then(|| millis(&summary["page"]["updated_at"]))
    })
    .await;

    let to = admin
        .post_see_other(
            "/admin/settings",
            &[
                ("name", "Acme Status"),
                ("logo_url", ""),
                ("accent_color", "#AA3300"),
                ("time_zone", "Europe/Berlin"),
                ("link_label", "Privacy"),
                ("link_url", "/privacy"),
                ("link_label", ""),
                ("link_url", ""),
                (
                    "footer_text",
                    "Run by **Acme Ltd**. <script>alert('footer')</script><img src=x onerror=alert(1)>",
                ),
            ],
        )
        .await;
    assert_eq!(to, "/admin/settings?done=settings_saved");

    // The public side follows without a restart.
    let page = wait_for("the summary's page to change", || async {
        let page = summary_page(&app).await;
        (page["name"] == "Acme Status").then_some(page)
    })
    .await;
    assert_eq!(page["time_zone"], "Europe/Berlin");
    // Statuspage's `page.updated_at` is the page's last change: the settings' now.
    let stored_at = app
        .store
        .page_settings()
        .await
        .expect("stored")
        .updated_at
        .expect("changed");
    assert_eq!(
        millis(&page["updated_at"]),
        stored_at.0.timestamp_millis(),
        "{page}"
    );
    assert!(millis(&page["updated_at"]) > component_at, "{page}");
    // The sign-in screen shows the new name too (it is not signed in: no frame of the user).
    let (status, login) = text(&app.client, &app.url("/admin/login")).await;
    assert_eq!(status, StatusCode::OK, "{login}");
    assert!(login.contains("Acme Status"), "{login}");
    let index = wait_for("the status page to change", || async {
        let (_, body) = text(&app.client, &app.url("/")).await;
        body.contains("<strong>Acme Ltd</strong>").then_some(body)
    })
    .await;
    assert!(index.contains("<title>Acme Status</title>"), "{index}");
    assert!(
        index.contains(r#"<a href="/privacy">Privacy</a>"#),
        "{index}"
    );
    assert!(
        index.contains("Times are shown in the Europe/Berlin time zone."),
        "{index}"
    );
    // The footer's Markdown is sanitised: nothing in it runs.
    assert!(!index.contains("alert('footer')"), "{index}");
    assert!(!index.contains("onerror"), "{index}");
    assert!(!index.contains("<script>alert"), "{index}");
    assert!(index.contains("/assets/theme.css?v="), "{index}");
    let (status, theme) = text(&app.client, &app.url("/assets/theme.css")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(theme.contains(":root{--accent:#aa3300}"), "{theme}");
    let (_, feed) = text(&app.client, &app.url("/history.atom")).await;
    assert!(feed.contains("Acme Status"), "{feed}");

    // The form shows what was stored, the message of the save, and the new name in its frame.
    let (_, _, form) = admin.get("/admin/settings?done=settings_saved").await;
    assert!(form.contains("The page settings are saved"), "{form}");
    assert!(form.contains(r#"value="Acme Status""#), "{form}");
    assert!(form.contains(r##"value="#aa3300""##), "{form}");
    assert!(
        form.contains("Acme Status <span class=\"muted\">admin</span>"),
        "{form}"
    );
    assert!(form.contains("by user:admin@example.com"), "{form}");

    // The audit log names the user.
    let audit = admin.get_ok("/admin/audit?kind=page.").await;
    assert!(audit.contains("page.settings_changed"), "{audit}");
    assert!(audit.contains("user:admin@example.com"), "{audit}");

    // Saving the form unchanged stores nothing new.
    let before = app.store.last_event_seq().await.expect("seq");
    admin
        .post_see_other(
            "/admin/settings",
            &[
                ("name", "Acme Status"),
                ("logo_url", ""),
                ("accent_color", "#aa3300"),
                ("time_zone", "Europe/Berlin"),
                ("link_label", "Privacy"),
                ("link_url", "/privacy"),
                (
                    "footer_text",
                    "Run by **Acme Ltd**. <script>alert('footer')</script><img src=x onerror=alert(1)>",
                ),
            ],
        )
        .await;
    assert_eq!(app.store.last_event_seq().await.expect("seq"), before);

    // Clearing a field goes back to the default.
    admin
        .post_see_other(
            "/admin/settings",
            &[
                ("name", ""),
                ("logo_url", ""),
                ("accent_color", "#aa3300"),
                ("time_zone", "Europe/Berlin"),
                ("link_label", ""),
                ("link_url", ""),
                ("footer_text", ""),
            ],
        )
        .await;
    wait_for("the default name", || async {
        (summary_page(&app).await["name"] == "Status").then_some(())
    })
    .await;
    let stored = app.store.page_settings().await.expect("stored");
    assert_eq!(stored.name, None);
    assert_eq!(stored.footer_text, None);
    assert_eq!(
        stored.footer_links, None,
        "only empty link rows: none stored"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_changes_the_page_from_the_form_sqlite() {
    an_admin_changes_the_page_from_the_form(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_changes_the_page_from_the_form_postgres() {
    an_admin_changes_the_page_from_the_form(Db::Postgres).await;
}

// ---- refusals: roles, bad values, the API's rules -------------------------------------------

async fn bad_changes_are_refused_and_change_nothing(db: Db) {
    let Some(app) = app_on(db, "").await else {
        eprintln!("skipping: PHAROS_TEST_POSTGRES_URL is not set");
        return;
    };
    // Viewers and responders may neither see nor change the settings.
    for email in ["viewer@example.com", "responder@example.com"] {
        let mut user = AdminBrowser::signed_in(&app.base, email).await;
        let (status, _, page) = user.get("/admin/settings").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{email}: {page}");
        let (status, _, _) = user
            .post("/admin/settings", &[("name", "Taken over")])
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{email}");
        let (_, _, dashboard) = user.get("/admin").await;
        assert!(
            !dashboard.contains(r#"href="/admin/settings""#),
            "{email}: no link"
        );
    }
    // A form without the CSRF token is refused.
    let mut admin = AdminBrowser::signed_in(&app.base, ADMIN).await;
    let (status, _, _) = admin
        .post_raw(
            "/admin/settings",
            common::admin::form(&[("name", "No token")]),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let before = app.store.last_event_seq().await.expect("seq");
    let (status, _, page) = admin
        .post(
            "/admin/settings",
            &[
                ("name", "Fine name"),
                ("logo_url", "javascript:alert(1)"),
                ("accent_color", "red"),
                ("time_zone", "Mars/Base"),
                ("link_label", "Only a label"),
                ("link_url", ""),
                ("link_label", "Evil"),
                ("link_url", "javascript:alert(2)"),
                ("footer_text", ""),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(page.contains("The settings were not saved"), "{page}");
    for message in [
        "Accent colour: red is not a colour; expected #rrggbb",
        "Time zone: Mars/Base is not an IANA time zone",
        "Logo address: javascript:alert(1) is not an image address",
        "Footer link 1: give the link both a label and an address",
        "Footer link 2: javascript:alert(2) is not a link",
    ] {
        assert!(page.contains(message), "{message}: {page}");
    }
    // The input comes back as typed, marked invalid beside each field.
    assert!(page.contains(r#"value="Mars/Base""#), "{page}");
    assert!(page.contains(r#"value="Fine name""#), "{page}");
    assert!(page.contains(r#"id="s-accent_color-error""#), "{page}");
    assert!(page.contains(r#"aria-invalid="true""#), "{page}");

    // Too many footer links.
    let mut pairs: Vec<(String, String)> = (0..11)
        .flat_map(|i| {
            [
                ("link_label".to_string(), format!("Link {i}")),
                ("link_url".to_string(), format!("/l{i}")),
            ]
        })
        .collect();
    pairs.push(("name".into(), "Many links".into()));
    let pairs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let (status, _, page) = admin.post("/admin/settings", &pairs).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(
        page.contains("Footer links: 11 links is too many; expected at most 10"),
        "{page}"
    );

    // Nothing was stored, nothing announced, the page unchanged.
    assert_eq!(app.store.last_event_seq().await.expect("seq"), before);
    assert_eq!(
        app.store.page_settings().await.expect("stored"),
        Default::default()
    );
    assert_eq!(summary_page(&app).await["name"], "Status");

    // The API: reading needs `read`, changing needs `admin`.
    let (status, body) = app
        .call_as(&app.read_token, Method::GET, "/api/v1/page", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["name"], "Status");
    assert_eq!(body["time_zone"], "UTC");
    assert_eq!(body["set_in_configuration"], json!([]));
    let (status, body) = app.patch("/api/v1/page", json!({"name": "Writer"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("admin"),
        "{body}"
    );
    let admin_patch = |body: Value| {
        let app = &app;
        async move {
            app.call_as(&app.admin_token, Method::PATCH, "/api/v1/page", Some(body))
                .await
        }
    };
    for (body, field) in [
        (
            json!({"accent_color": "red"}),
            "`accent_color`: `red` is not a colour",
        ),
        (
            json!({"time_zone": "Mars/Base"}),
            "`time_zone`: `Mars/Base` is not an IANA time zone",
        ),
        (
            json!({"logo_url": "javascript:alert(1)"}),
            "`logo_url`: `javascript:alert(1)` is not an image address",
        ),
        (
            json!({"footer_links": (0..11).map(|i| json!({"label": format!("L{i}"), "url": "/x"})).collect::<Vec<_>>()}),
            "`footer_links`: `11` links is too many",
        ),
        (
            json!({"footer_text": "x".repeat(1001)}),
            "`footer_text`: is 1001 characters long",
        ),
        (json!({"name": "  "}), "`name`: must be 1 to 100 characters"),
    ] {
        let (status, answer) = admin_patch(body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {answer}");
        assert_eq!(answer["error"]["code"], "validation_failed", "{answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains(field), "{field}: {message}");
    }
    // Two bad fields: both named in one answer.
    let (_, answer) = admin_patch(json!({"accent_color": "red", "time_zone": "Mars/Base"})).await;
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("`accent_color`") && message.contains("`time_zone`"),
        "{message}"
    );
    let (status, answer) = admin_patch(json!({"url": "https://elsewhere.example"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    assert!(answer["error"]["message"]
        .as_str()
        .unwrap()
        .contains("page.url"));
    let (status, _) = admin_patch(json!({"colour": "#000000"})).await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown fields are refused"
    );
    assert_eq!(app.store.last_event_seq().await.expect("seq"), before);

    // A good change through the API, with the token named as the actor.
    let (status, body) = admin_patch(json!({
        "name": "Via API",
        "footer_links": [{"label": "Home", "url": "https://www.example.com"}],
    }))
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["name"], "Via API");
    assert_eq!(body["footer_links"][0]["label"], "Home");
    assert_eq!(body["updated_by"], "token:admin");
    wait_for("the API's change on the page", || async {
        (summary_page(&app).await["name"] == "Via API").then_some(())
    })
    .await;
    let (status, body) = app.get("/api/v1/page").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["name"], "Via API");
    // null removes a stored value.
    let (status, body) = admin_patch(json!({"footer_links": null})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["footer_links"], json!([]));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_changes_are_refused_and_change_nothing_sqlite() {
    bad_changes_are_refused_and_change_nothing(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_changes_are_refused_and_change_nothing_postgres() {
    bad_changes_are_refused_and_change_nothing(Db::Postgres).await;
}

// ---- configuration as code stays authoritative ------------------------------------------------

const CONFIGURED: &str = r##"
[page]
name = "Config Name"
accent_color = "#112233"
[[page.footer_links]]
label = "From the file"
url = "/file"
"##;

async fn configured_fields_are_read_only(db: Db) {
    let Some(app) = app_on(db, CONFIGURED).await else {
        eprintln!("skipping: PHAROS_TEST_POSTGRES_URL is not set");
        return;
    };
    let mut admin = AdminBrowser::signed_in(&app.base, ADMIN).await;
    let page = admin.get_ok("/admin/settings").await;
    // Shown, read only, marked, and not part of the form.
    assert!(
        page.contains(r#"<input id="s-name" value="Config Name" readonly"#),
        "{page}"
    );
    assert!(
        page.contains("Set in the configuration file</strong> (page.name or PHAROS_PAGE_NAME)"),
        "{page}"
    );
    assert!(
        page.contains(r##"<input id="s-accent_color" value="#112233" readonly"##),
        "{page}"
    );
    assert!(!page.contains(r#"name="name""#), "{page}");
    assert!(!page.contains(r#"name="accent_color""#), "{page}");
    assert!(!page.contains(r#"name="link_label""#), "{page}");
    assert!(page.contains("From the file"), "{page}");
    assert!(
        page.contains(r#"name="time_zone""#),
        "the others stay editable"
    );

    // The API says which, and refuses them by key.
    let (_, body) = app.get("/api/v1/page").await;
    assert_eq!(
        body["set_in_configuration"],
        json!(["name", "accent_color", "footer_links"])
    );
    let before = app.store.last_event_seq().await.expect("seq");
    let (status, body) = app
        .call_as(
            &app.admin_token,
            Method::PATCH,
            "/api/v1/page",
            Some(json!({"name": "Other", "time_zone": "Asia/Tokyo"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["code"], "set_in_configuration");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("`name` is set in the configuration file (`page.name`"),
        "{message}"
    );
    // A crafted form that sends a configured field is refused the same way.
    let (status, _, page) = admin
        .post(
            "/admin/settings",
            &[("name", "Other"), ("time_zone", "Asia/Tokyo")],
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{page}");
    assert!(
        page.contains("Page name: set in the configuration file"),
        "{page}"
    );
    assert_eq!(app.store.last_event_seq().await.expect("seq"), before);

    // A free field changes; the configured ones stay the file's.
    admin
        .post_see_other(
            "/admin/settings",
            &[
                ("logo_url", "/static/logo.svg"),
                ("time_zone", "Asia/Tokyo"),
                ("footer_text", "Hello"),
            ],
        )
        .await;
    let page = wait_for("the zone to change", || async {
        let page = summary_page(&app).await;
        (page["time_zone"] == "Asia/Tokyo").then_some(page)
    })
    .await;
    assert_eq!(page["name"], "Config Name");
    let (_, index) = text(&app.client, &app.url("/")).await;
    assert!(
        index.contains(r#"<img class="logo" src="/static/logo.svg" alt="Config Name">"#),
        "{index}"
    );
    assert!(
        index.contains(r#"<a href="/file">From the file</a>"#),
        "{index}"
    );
    let (_, theme) = text(&app.client, &app.url("/assets/theme.css")).await;
    assert!(theme.contains("--accent:#112233"), "{theme}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configured_fields_are_read_only_sqlite() {
    configured_fields_are_read_only(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configured_fields_are_read_only_postgres() {
    configured_fields_are_read_only(Db::Postgres).await;
}

// ---- restarts ---------------------------------------------------------------------------------

/// A database URL nothing answers at: a port that was just free.
async fn unreachable_postgres_url() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    format!("postgres://postgres@127.0.0.1:{port}/pharos")
}

/// Serves `pharos` on `data_dir` over a database that does not answer, until `stop` is sent.
async fn serve_with_the_database_away(
    data_dir: std::path::PathBuf,
) -> (
    String,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let overrides = pharos::config::Overrides {
        listen: Some("127.0.0.1:0".into()),
        data_dir: Some(data_dir),
        database_url: Some(unreachable_postgres_url().await),
        ..Default::default()
    };
    let config = pharos::config::load(&overrides, &|_| None).expect("config");
    let app = pharos::app::App::build(config, std::sync::Arc::new(pharos::clock::SystemClock))
        .await
        .expect("starts with the database away");
    assert!(!app.database_ready());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let handle = tokio::spawn(async move {
        app.run(listener, async {
            let _ = rx.await;
        })
        .await
        .expect("served");
    });
    (base, tx, handle)
}

async fn stored_settings_survive_a_restart(db: Db) {
    let scratch = tempfile::tempdir().expect("temp dir");
    let url = match db {
        Db::Sqlite => common::postgres::sqlite_url(scratch.path()),
        Db::Postgres => match common::postgres::fresh_database_url().await {
            Some(url) => url,
            None => {
                eprintln!("skipping: PHAROS_TEST_POSTGRES_URL is not set");
                return;
            }
        },
    };
    let data = scratch.path().join("data");
    let app = common::app::spawn_on_at(
        url.clone(),
        data.clone(),
        tempfile::tempdir().expect("temp dir"),
    )
    .await;
    let (status, body) = app
        .call_as(
            &app.admin_token,
            Method::PATCH,
            "/api/v1/page",
            Some(json!({
                "name": "Kept Status",
                "time_zone": "Asia/Tokyo",
                "accent_color": "#0b3d91",
                "footer_text": "Kept _footer_",
            })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    wait_for("the change on the page", || async {
        (summary_page(&app).await["name"] == "Kept Status").then_some(())
    })
    .await;
    app.stop().await;

    // Restarted on the same database: read back from it.
    let app = common::app::spawn_on_at(
        url.clone(),
        data.clone(),
        tempfile::tempdir().expect("temp dir"),
    )
    .await;
    let page = wait_for("the stored settings after the restart", || async {
        let page = summary_page(&app).await;
        (page["name"] == "Kept Status").then_some(page)
    })
    .await;
    assert_eq!(page["time_zone"], "Asia/Tokyo");
    let (_, index) = text(&app.client, &app.url("/")).await;
    assert!(index.contains("<em>footer</em>"), "{index}");
    app.stop().await;

    // Restarted with the database away: the snapshot on disk carries them.
    let (base, stop, handle) = serve_with_the_database_away(data).await;
    let client = reqwest::Client::new();
    let (status, body) = text(&client, &format!("{base}/api/v2/summary.json")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let page = &serde_json::from_str::<Value>(&body).expect("JSON")["page"];
    assert_eq!(page["name"], "Kept Status", "{body}");
    assert_eq!(page["time_zone"], "Asia/Tokyo", "{body}");
    let (_, index) = text(&client, &format!("{base}/")).await;
    assert!(
        index.contains("Status as of"),
        "served as the last known state"
    );
    assert!(index.contains("<em>footer</em>"), "{index}");
    let (_, theme) = text(&client, &format!("{base}/assets/theme.css")).await;
    assert!(theme.contains("--accent:#0b3d91"), "{theme}");
    let _ = stop.send(());
    handle.await.expect("server task");
    if url.starts_with("postgres") {
        common::postgres::drop_database(&url).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_settings_survive_a_restart_sqlite() {
    stored_settings_survive_a_restart(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_settings_survive_a_restart_postgres() {
    stored_settings_survive_a_restart(Db::Postgres).await;
}
