//! The admin UI's flows end to end over HTTP, against the real server on 127.0.0.1 and a real
//! SQLite file (and a fresh PostgreSQL database, where the flow stores something its own way):
//!
//! - TOTP: enrolled from the account page, then asked for at sign-in; a wrong code and a code
//!   used already are refused, the right one (computed here, RFC 6238) signs in;
//! - the per-client sign-in limit answers a readable 429 page with `Retry-After`;
//! - with the SQLite file gone, a signed-in page and a form answer a readable 503 that changes
//!   nothing, and the same session works again when the file is back, with no restart;
//! - maintenances scheduled, edited, updated and cancelled through the forms, each step seen on
//!   `/` and `/api/v2/scheduled-maintenances.json`;
//! - incident templates created, edited and deleted, and an incident opened from one;
//! - an admin deletes an incident (a responder cannot): gone from `/` and
//!   `/api/v2/incidents.json`, named in the audit log;
//! - second pages of the incident, monitor and audit lists: the next rows, no overlap, the
//!   filters kept in the links.
//!
//! Requests go through [`AdminBrowser`], which follows no redirect and keeps cookies as a
//! browser does, so each step sees what a browser would be told.

mod common;

use common::admin::{add_user, csrf_of, form, location, AdminBrowser, Answer, PASSWORD};
use common::app::{Db, TestApp};
use pharos::account::{totp, Role};
use pharos::clock::ManualClock;
use pharos::domain::Timestamp;
use pharos::events::Actor;
use pharos::store::{AuditFilter, NewComponent, Store};
use reqwest::header::{CONTENT_TYPE, RETRY_AFTER};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

const ADA: &str = "ada@example.com";
const RITA: &str = "rita@example.com";

/// How long the public side may take to show a change (the snapshot follows the event log).
const PUBLIC_DEADLINE: Duration = Duration::from_secs(15);

/// Polls `check` until it gives a value, failing after [`PUBLIC_DEADLINE`] with `what`.
async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + PUBLIC_DEADLINE;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {PUBLIC_DEADLINE:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// An admin (ada) and a responder (rita).
async fn with_users(app: &TestApp) {
    add_user(app.store.as_ref(), ADA, Role::Admin).await;
    add_user(app.store.as_ref(), RITA, Role::Responder).await;
}

/// Components with these names, once the public snapshot (which the forms read) shows them.
async fn components(app: &TestApp, names: &[&str]) -> Vec<String> {
    let mut ids = Vec::new();
    for name in names {
        let c = app
            .store
            .create_component(
                NewComponent {
                    name: (*name).into(),
                    ..Default::default()
                },
                &Actor::cli(),
            )
            .await
            .expect("create component");
        ids.push(c.id.to_string());
    }
    eventually("the snapshot to show the components", || async {
        let (_, summary) = app.get("/api/v2/summary.json").await;
        (summary["components"].as_array()?.len() >= names.len()).then_some(())
    })
    .await;
    ids
}

/// The text between `start` and the next `end` after it.
fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let len = text[from..].find(end)?;
    Some(&text[from..from + len])
}

/// The public JSON at `path` (no token).
async fn public_json(app: &TestApp, path: &str) -> Value {
    let resp = app.client.get(app.url(path)).send().await.expect("GET");
    assert_eq!(resp.status(), StatusCode::OK, "{path}");
    resp.json().await.expect("JSON")
}

async fn public_html(app: &TestApp, path: &str) -> (StatusCode, String) {
    let resp = app.client.get(app.url(path)).send().await.expect("GET");
    (resp.status(), resp.text().await.expect("body"))
}

// ---- 1. TOTP ------------------------------------------------------------------------------

fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A 6-digit code that is none of the secret's codes for the steps around now.
fn wrong_code(secret: &str) -> String {
    let now = unix_now();
    let near: Vec<String> = [now - 60, now - 30, now, now + 30, now + 60]
        .iter()
        .map(|t| totp::code_at(secret, *t).unwrap())
        .collect();
    (0..1_000_000u32)
        .map(|n| format!("{n:06}"))
        .find(|c| !near.contains(c))
        .unwrap()
}

/// Password, then the code step; returns what the code's post answered.
async fn sign_in_with_code(b: &mut AdminBrowser, code: &str) -> Answer {
    let (status, headers, page) = b.sign_in_with(ADA, PASSWORD).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    assert_eq!(location(&headers), "/admin/login/totp?next=%2Fadmin");
    assert!(
        b.cookie("pharos_session").is_none(),
        "no session before the code"
    );
    assert!(
        b.cookie("pharos_login").is_some(),
        "the pending sign-in cookie"
    );
    another_code(b, code).await
}

/// Posts one more code on the code step already shown (the pending cookie is still held).
async fn another_code(b: &mut AdminBrowser, code: &str) -> Answer {
    let page = b.get_ok("/admin/login/totp?next=%2Fadmin").await;
    assert!(page.contains("<h1>Sign-in code</h1>"), "{page}");
    let csrf = csrf_of(&page);
    b.post_raw(
        "/admin/login/totp",
        form(&[("csrf", &csrf), ("code", code), ("next", "/admin")]),
    )
    .await
}

/// Posts one more code on the code step and asserts that it signs in, to the dashboard.
async fn another_code_signs_in(b: &mut AdminBrowser, code: &str) {
    let (status, headers, page) = another_code(b, code).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    assert_eq!(location(&headers), "/admin");
}

async fn sign_out(b: &mut AdminBrowser) {
    let to = b.post_see_other("/admin/logout", &[]).await;
    assert_eq!(to, "/admin/login?done=signed_out");
    assert!(b.cookie("pharos_session").is_none());
}

async fn totp_is_enrolled_then_asked_for_and_a_code_counts_once(app: TestApp) {
    with_users(&app).await;
    let mut ada = AdminBrowser::signed_in(&app.base, ADA).await;

    // Enrol from the account page: a secret, confirmed by a code from "the app".
    let (_, _, account) = ada.get("/admin/account").await;
    assert!(account.contains("Set up two-factor sign-in"), "{account}");
    let (status, _, page) = ada.post("/admin/account/totp/start", &[]).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let secret = between(&page, r#"name="secret" value=""#, "\"")
        .expect("the secret in the form")
        .to_string();
    assert_eq!(secret.len(), 32, "{secret}");
    assert!(
        page.contains(&format!("secret={secret}")),
        "the otpauth URI holds the secret: {page}"
    );
    let (status, _, page) = ada
        .post(
            "/admin/account/totp/enable",
            &[("secret", &secret), ("code", &wrong_code(&secret))],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(page.contains("the code does not match"), "{page}");
    // The code of the step before (the window allows it), so that the code of the current
    // step is still unused: the code typed here counts as used (see
    // `enrolment_code_counts_and_re_enrolment_starts_afresh`).
    let code = totp::code_at(&secret, unix_now() - 30).unwrap();
    let to = ada
        .post_see_other(
            "/admin/account/totp/enable",
            &[("secret", &secret), ("code", &code)],
        )
        .await;
    assert_eq!(to, "/admin/account?done=totp_enabled");
    let (_, _, account) = ada.get("/admin/account").await;
    assert!(
        account.contains("On: signing in asks for a code"),
        "{account}"
    );
    sign_out(&mut ada).await;

    // Password, then a wrong code: refused, no session.
    let mut ada = AdminBrowser::new(&app.base);
    let (status, _, page) = sign_in_with_code(&mut ada, &wrong_code(&secret)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(page.contains("wrong code"), "{page}");
    assert!(ada.cookie("pharos_session").is_none());
    ada.assert_signed_out().await;

    // The right code, on the same pending sign-in: signed in, the pending cookie cleared.
    let first_step = totp::step_at(unix_now());
    let code = totp::code_at(&secret, unix_now()).unwrap();
    another_code_signs_in(&mut ada, &code).await;
    assert!(ada.cookie("pharos_session").is_some());
    assert!(ada.cookie("pharos_login").is_none());
    ada.get_ok("/admin").await;
    ada.read_csrf().await;
    sign_out(&mut ada).await;

    // The same code again, still within its step or the next: refused as used.
    let (status, _, page) = sign_in_with_code(&mut ada, &code).await;
    assert!(
        totp::step_at(unix_now()) <= first_step + 1,
        "the test took over 30 s between two sign-ins; the replay check says nothing then"
    );
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(page.contains("this code was used already"), "{page}");
    assert!(ada.cookie("pharos_session").is_none());

    // The app's next code (one step of drift is allowed) is a new code: it signs in.
    let next = totp::code_at(&secret, unix_now() + 30).unwrap();
    another_code_signs_in(&mut ada, &next).await;
    // And the earlier step's code is now refused too: steps only move forward.
    ada.read_csrf().await;
    sign_out(&mut ada).await;
    let (status, _, page) = sign_in_with_code(&mut ada, &code).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");

    // Each sign-in is in the audit log, with ada as the actor.
    let signed_in = app
        .store
        .audit_log(
            AuditFilter {
                actor: Some(format!("user:{ADA}")),
                kind: Some("user.signed_in".into()),
                before_seq: None,
            },
            50,
        )
        .await
        .unwrap();
    assert_eq!(
        signed_in.len(),
        3,
        "the password-only one and two with codes"
    );
    app.stop().await;
}

both_backends!(
    totp_sign_in,
    totp_is_enrolled_then_asked_for_and_a_code_counts_once
);

/// The code that turns TOTP on counts as used; turning TOTP off and on again starts the new
/// secret afresh (the old secret's last step does not refuse the new one's codes); the
/// otpauth URI names the page by its name as shown now. On a manual clock, so every step is
/// where the test puts it.
async fn enrolment_code_counts_and_re_enrolment_starts_afresh(db: Db) {
    let step_start = unix_now() - unix_now().rem_euclid(30);
    let at = step_start + 5;
    let clock = Arc::new(ManualClock::new(Timestamp::from_datetime(
        chrono::DateTime::from_timestamp(at, 0).expect("a time"),
    )));
    let Some(app) = common::app::spawn_with(db, clock.clone()).await else {
        eprintln!("skipping: PHAROS_TEST_POSTGRES_URL is not set");
        return;
    };
    with_users(&app).await;

    // A name stored through the API is the issuer the authenticator app shows.
    let (status, body) = app
        .call_as(
            &app.admin_token,
            reqwest::Method::PATCH,
            "/api/v1/page",
            Some(json!({"name": "Lighthouse"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    eventually("the snapshot to show the new name", || async {
        let page = public_json(&app, "/api/v2/summary.json").await["page"].clone();
        (page["name"] == "Lighthouse").then_some(())
    })
    .await;

    let mut ada = AdminBrowser::signed_in(&app.base, ADA).await;
    let enrol = |page: &str| {
        between(page, r#"name="secret" value=""#, "\"")
            .expect("the secret in the form")
            .to_string()
    };
    let (status, _, page) = ada.post("/admin/account/totp/start", &[]).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(
        page.contains("otpauth://totp/Lighthouse%3Aada%40example.com?"),
        "{page}"
    );
    let first = enrol(&page);
    let to = ada
        .post_see_other(
            "/admin/account/totp/enable",
            &[
                ("secret", &first),
                ("code", &totp::code_at(&first, at).unwrap()),
            ],
        )
        .await;
    assert_eq!(to, "/admin/account?done=totp_enabled");
    sign_out(&mut ada).await;

    // The code typed to turn TOTP on cannot sign in within its window.
    let (status, _, page) = sign_in_with_code(&mut ada, &totp::code_at(&first, at).unwrap()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(page.contains("this code was used already"), "{page}");
    assert!(ada.cookie("pharos_session").is_none());
    // The app's next one does (the stored step moves to the next one).
    another_code_signs_in(&mut ada, &totp::code_at(&first, at + 30).unwrap()).await;
    ada.read_csrf().await;

    // Off, then on with a new secret, in the same 30 seconds.
    let to = ada
        .post_see_other("/admin/account/totp/disable", &[("password", PASSWORD)])
        .await;
    assert!(to.starts_with("/admin/account"), "{to}");
    let (status, _, page) = ada.post("/admin/account/totp/start", &[]).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let second = enrol(&page);
    assert_ne!(first, second);
    ada.post_see_other(
        "/admin/account/totp/enable",
        &[
            ("secret", &second),
            ("code", &totp::code_at(&second, at).unwrap()),
        ],
    )
    .await;
    sign_out(&mut ada).await;

    // The new secret's enrolment code is used; its next code signs in, although the old
    // secret had already used that step.
    let (status, _, page) = sign_in_with_code(&mut ada, &totp::code_at(&second, at).unwrap()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(page.contains("this code was used already"), "{page}");
    another_code_signs_in(&mut ada, &totp::code_at(&second, at + 30).unwrap()).await;
    assert!(ada.cookie("pharos_session").is_some());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrolment_code_counts_and_re_enrolment_starts_afresh_sqlite() {
    enrolment_code_counts_and_re_enrolment_starts_afresh(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrolment_code_counts_and_re_enrolment_starts_afresh_postgres() {
    enrolment_code_counts_and_re_enrolment_starts_afresh(Db::Postgres).await;
}

// ---- 2. the sign-in limit as a page ---------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_failed_sign_ins_answer_a_readable_429_page_with_retry_after() {
    let app = common::app::spawn(Db::Sqlite).await.expect("sqlite app");
    with_users(&app).await;
    let mut guesser = AdminBrowser::new(&app.base);
    // Unknown addresses: the per-client limit, not the per-account lock, is what stops them.
    for n in 0..pharos::http::admin::limits::MAX_FAILURES {
        let (status, _, page) = guesser
            .sign_in_with(&format!("guess{n}@example.com"), "not the password")
            .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "attempt {n}: {page}"
        );
    }
    let (status, headers, page) = guesser.sign_in_with(ADA, "still guessing").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{page}");
    assert!(
        headers[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html"),
        "{headers:?}"
    );
    let retry: u64 = headers[RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .expect("Retry-After in seconds");
    assert!((1..=600).contains(&retry), "{retry}");
    assert!(page.contains("<h1>Sign in</h1>"), "a page: {page}");
    assert!(
        page.contains("too many failed sign-ins from your address; try again in 10 minutes"),
        "{page}"
    );
    assert!(
        page.contains(r#"value="ada@example.com""#),
        "what was typed is kept"
    );
    // The right password from the same address waits too; the account itself is not locked.
    let (status, headers, _) = guesser.sign_in_with(ADA, PASSWORD).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(headers.contains_key(RETRY_AFTER));
    let stored = app.store.find_user_by_email(ADA).await.unwrap().unwrap();
    assert!(stored.user.locked_until.is_none());
    assert!(guesser.cookie("pharos_session").is_none());
    app.stop().await;
}

// ---- 3. the database away ---------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_database_away_pages_say_so_forms_change_nothing_and_it_comes_back() {
    let app = common::app::spawn(Db::Sqlite).await.expect("sqlite app");
    with_users(&app).await;
    let mut ada = AdminBrowser::signed_in(&app.base, ADA).await;
    ada.get_ok("/admin/incidents").await;
    let opening = [
        ("name", "Written during the outage"),
        ("impact", "minor"),
        ("status", "investigating"),
        ("body", "Typed while the database was away."),
        ("action", "open"),
    ];

    let db = app.dir.path().join("pharos.db");
    let away = app.dir.path().join("away");
    common::sqlite::move_away(&db, &away);

    for path in ["/admin/incidents", "/admin"] {
        let (status, headers, page) = ada.get(path).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{path}: {page}");
        assert!(
            headers[CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{headers:?}"
        );
        assert!(headers.contains_key(RETRY_AFTER), "{headers:?}");
        assert!(page.contains("<h1>503 Service Unavailable</h1>"), "{page}");
        assert!(page.contains("the database is unreachable"), "{page}");
        assert!(page.contains("reconnects by itself"), "{page}");
        assert!(page.contains("you are still signed in"), "{page}");
    }
    let (status, _, page) = ada.post("/admin/incidents", &opening).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{page}");
    assert!(page.contains("nothing was changed"), "{page}");
    assert!(ada.cookie("pharos_session").is_some(), "not signed out");
    assert!(!db.exists(), "no new, empty database at {}", db.display());

    common::sqlite::bring_back(&db, &away);
    // The same session, with no restart: the pool reconnects on its own.
    let deadline = Instant::now() + PUBLIC_DEADLINE;
    loop {
        let (status, _, page) = ada.get("/admin/incidents").await;
        if status == StatusCode::OK {
            assert!(page.contains("<h1>Incidents</h1>"), "{page}");
            assert!(!page.contains("Written during the outage"), "{page}");
            break;
        }
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{page}");
        assert!(
            Instant::now() < deadline,
            "the page did not come back within {PUBLIC_DEADLINE:?} of the file's return"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (_, list) = app.get("/api/v1/incidents").await;
    assert_eq!(list["data"].as_array().unwrap().len(), 0, "{list}");
    // Sending the form again now works, once.
    let to = ada.post_see_other("/admin/incidents", &opening).await;
    assert!(to.starts_with("/admin/incidents/"));
    let (_, list) = app.get("/api/v1/incidents").await;
    let names: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["name"].as_str())
        .collect();
    assert_eq!(names, ["Written during the outage"]);
    app.stop().await;
}

// ---- 4. maintenances ------------------------------------------------------------------------

/// The maintenance named `name` in `/api/v2/scheduled-maintenances.json`, once `ready` holds.
async fn public_maintenance(app: &TestApp, name: &str, ready: impl Fn(&Value) -> bool) -> Value {
    eventually(
        &format!("the public JSON to show {name:?} as expected"),
        || async {
            let all = public_json(app, "/api/v2/scheduled-maintenances.json").await;
            all["scheduled_maintenances"]
                .as_array()?
                .iter()
                .find(|m| m["name"] == name && ready(m))
                .cloned()
        },
    )
    .await
}

fn component_names(m: &Value) -> BTreeSet<String> {
    m["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect()
}

fn update_bodies(m: &Value) -> Vec<String> {
    m["incident_updates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["body"].as_str().unwrap().to_string())
        .collect()
}

async fn maintenances_are_scheduled_edited_updated_and_cancelled(app: TestApp) {
    with_users(&app).await;
    let ids = components(&app, &["API", "Website"]).await;
    let (api, web) = (&ids[0], &ids[1]);
    let mut rita = AdminBrowser::signed_in(&app.base, RITA).await;

    let page = rita.get_ok("/admin/maintenances/new").await;
    assert!(page.contains("API") && page.contains("Website"), "{page}");
    let created = rita
        .post_see_other(
            "/admin/maintenances",
            &[
                ("name", "Database upgrade"),
                ("starts", "2030-01-02T02:00"),
                ("ends", "2030-01-02T03:00"),
                ("component", api),
                ("auto", "1"),
                ("body", "We upgrade the database."),
            ],
        )
        .await;
    let admin_path = created.split('?').next().unwrap().to_string();
    assert!(
        admin_path.starts_with("/admin/maintenances/"),
        "{admin_path}"
    );
    let scheduled = public_maintenance(&app, "Database upgrade", |_| true).await;
    assert_eq!(scheduled["status"], "scheduled");
    assert!(
        scheduled["scheduled_for"]
            .as_str()
            .unwrap()
            .starts_with("2030-01-02T02:00:00"),
        "{scheduled}"
    );
    assert!(scheduled["scheduled_until"]
        .as_str()
        .unwrap()
        .starts_with("2030-01-02T03:00:00"));
    assert_eq!(component_names(&scheduled), BTreeSet::from(["API".into()]));
    assert_eq!(update_bodies(&scheduled), ["We upgrade the database."]);
    let (_, index) = public_html(&app, "/").await;
    assert!(
        index.contains("Database upgrade") && index.contains("We upgrade the database."),
        "{index}"
    );

    // Edit the window, the components and the name.
    let page = rita.get_ok(&admin_path).await;
    assert!(page.contains(r#"value="2030-01-02T02:00""#), "{page}");
    let edited = [
        ("name", "Database and cache upgrade"),
        ("starts", "2030-01-03T04:00"),
        ("ends", "2030-01-03T06:30"),
        ("component", web.as_str()),
        ("auto", "1"),
        ("body", ""),
        ("move_to", ""),
    ];
    let to = rita.post_see_other(&admin_path, &edited).await;
    assert_eq!(to, format!("{admin_path}?done=maintenance_saved"));
    let moved = public_maintenance(&app, "Database and cache upgrade", |m| {
        m["scheduled_for"]
            .as_str()
            .is_some_and(|t| t.starts_with("2030-01-03T04:00:00"))
    })
    .await;
    assert!(moved["scheduled_until"]
        .as_str()
        .unwrap()
        .starts_with("2030-01-03T06:30:00"));
    assert_eq!(component_names(&moved), BTreeSet::from(["Website".into()]));
    assert_eq!(moved["id"], scheduled["id"], "the same maintenance");
    let (_, index) = public_html(&app, "/").await;
    assert!(index.contains("Database and cache upgrade"), "{index}");
    assert!(!index.contains(">Database upgrade<"), "{index}");

    // An update: the message is posted, the window stays.
    let mut update = edited.to_vec();
    update[5] = ("body", "Moved by a day for the release freeze.");
    rita.post_see_other(&admin_path, &update).await;
    let updated = public_maintenance(&app, "Database and cache upgrade", |m| {
        update_bodies(m).len() == 2
    })
    .await;
    assert_eq!(
        update_bodies(&updated)[0],
        "Moved by a day for the release freeze.",
        "newest first"
    );
    assert_eq!(updated["status"], "scheduled");
    let (_, index) = public_html(&app, "/").await;
    assert!(
        index.contains("Moved by a day for the release freeze."),
        "{index}"
    );
    let (_, _, page) = rita.get(&admin_path).await;
    assert!(
        page.contains("Moved by a day for the release freeze."),
        "{page}"
    );

    // Cancel: completed on the JSON with the cancellation's message, gone from `/`.
    let to = rita
        .post_see_other(&format!("{admin_path}/cancel"), &[])
        .await;
    assert_eq!(to, format!("{admin_path}?done=maintenance_cancelled"));
    let cancelled = public_maintenance(&app, "Database and cache upgrade", |m| {
        m["status"] == "completed"
    })
    .await;
    assert_eq!(
        update_bodies(&cancelled)[0],
        "This maintenance has been cancelled."
    );
    let upcoming = public_json(&app, "/api/v2/scheduled-maintenances/upcoming.json").await;
    assert_eq!(upcoming["scheduled_maintenances"], json!([]), "{upcoming}");
    let (_, index) = public_html(&app, "/").await;
    assert!(!index.contains("Database and cache upgrade"), "{index}");
    let (_, _, page) = rita.get(&admin_path).await;
    assert!(page.contains("Cancelled"), "{page}");

    // Every step under rita's name.
    let kinds: Vec<String> = app
        .store
        .audit_log(
            AuditFilter {
                actor: Some(format!("user:{RITA}")),
                kind: Some("maintenance.".into()),
                before_seq: None,
            },
            50,
        )
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        kinds,
        [
            "maintenance.cancelled",
            "maintenance.updated",
            "maintenance.updated",
            "maintenance.scheduled"
        ]
    );
    app.stop().await;
}

both_backends!(
    maintenances,
    maintenances_are_scheduled_edited_updated_and_cancelled
);

// ---- 5. incident templates --------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incident_templates_are_created_edited_deleted_and_prefill_a_new_incident() {
    let app = common::app::spawn(Db::Sqlite).await.expect("sqlite app");
    with_users(&app).await;
    let ids = components(&app, &["API", "Website"]).await;
    let (api, web) = (&ids[0], &ids[1]);
    let mut rita = AdminBrowser::signed_in(&app.base, RITA).await;

    rita.get_ok("/admin/incident-templates/new").await;
    let status_api = format!("status.{api}");
    let status_web = format!("status.{web}");
    let created = rita
        .post_see_other(
            "/admin/incident-templates",
            &[
                ("name", "Payments down"),
                ("title", "Payments are failing"),
                ("impact", "major"),
                ("status", "investigating"),
                ("component", api),
                (&status_api, "partial_outage"),
                ("body", "Card payments fail."),
            ],
        )
        .await;
    assert!(created.starts_with("/admin/incident-templates"));
    let (_, _, list) = rita.get("/admin/incident-templates").await;
    assert!(
        list.contains("Payments down") && list.contains("Payments are failing"),
        "{list}"
    );
    let id = between(&list, "/admin/incidents/new?template=", "\"")
        .expect("a link that opens an incident from it")
        .to_string();

    // Edit: another title, impact, status, message and component.
    let page = rita
        .get_ok(&format!("/admin/incident-templates/{id}"))
        .await;
    assert!(page.contains(r#"value="Payments are failing""#), "{page}");
    rita.post_see_other(
        &format!("/admin/incident-templates/{id}"),
        &[
            ("name", "Payments down"),
            ("title", "Card payments are failing"),
            ("impact", "critical"),
            ("status", "identified"),
            ("component", web),
            (&status_web, "major_outage"),
            ("body", "Card payments fail at the provider."),
        ],
    )
    .await;
    let (_, _, list) = rita.get("/admin/incident-templates").await;
    assert!(list.contains("Card payments are failing"), "{list}");
    assert!(list.contains("Website: Major outage"), "{list}");
    assert!(
        !list.contains("API: "),
        "the API is no longer in it: {list}"
    );

    // Opening an incident from it: the form is prefilled with the edited values.
    let prefilled = rita
        .get_ok(&format!("/admin/incidents/new?template={id}"))
        .await;
    assert!(
        prefilled.contains(r#"value="Card payments are failing""#),
        "{prefilled}"
    );
    assert!(
        prefilled.contains("Card payments fail at the provider."),
        "{prefilled}"
    );
    assert!(
        prefilled.contains(r#"<option value="critical" selected>"#),
        "{prefilled}"
    );
    assert!(
        prefilled.contains(r#"<option value="major_outage" selected>"#),
        "{prefilled}"
    );
    // Sending the prefilled form as it is opens the incident the template describes.
    let opened = rita
        .post_see_other(
            "/admin/incidents",
            &[
                ("template", &id),
                ("name", "Card payments are failing"),
                ("impact", "critical"),
                ("status", "identified"),
                ("component", web),
                (&status_web, "major_outage"),
                ("body", "Card payments fail at the provider."),
                ("action", "open"),
            ],
        )
        .await;
    let incident_id = opened["/admin/incidents/".len()..]
        .split('?')
        .next()
        .unwrap()
        .to_string();
    let (_, incident) = app.get(&format!("/api/v1/incidents/{incident_id}")).await;
    assert_eq!(incident["name"], "Card payments are failing");
    assert_eq!(incident["impact"], "critical");
    assert_eq!(incident["status"], "identified");

    // Delete: gone from the list; its link is a 404 page now.
    let to = rita
        .post_see_other(&format!("/admin/incident-templates/{id}/delete"), &[])
        .await;
    assert!(to.contains("template_deleted"));
    let (_, _, list) = rita.get("/admin/incident-templates").await;
    assert!(!list.contains("Payments down"), "{list}");
    assert!(list.contains("No templates yet."), "{list}");
    let (status, _, _) = rita
        .get(&format!("/admin/incidents/new?template={id}"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let kinds: Vec<String> = app
        .store
        .audit_log(
            AuditFilter {
                actor: Some(format!("user:{RITA}")),
                kind: Some("incident_template.".into()),
                before_seq: None,
            },
            50,
        )
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        kinds,
        [
            "incident_template.deleted",
            "incident_template.updated",
            "incident_template.created"
        ]
    );
    app.stop().await;
}

// ---- 6. deleting an incident ------------------------------------------------------------------

async fn an_admin_deletes_an_incident_and_a_responder_cannot(app: TestApp) {
    with_users(&app).await;
    let ids = components(&app, &["API"]).await;
    let (status, opened) = app
        .post(
            "/api/v1/incidents",
            json!({
                "name": "Posted by mistake",
                "body": "This was meant for the staging page.",
                "components": { ids[0].clone(): "major_outage" },
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{opened}");
    let id = opened["id"].as_str().unwrap().to_string();
    eventually("the incident on /api/v2/incidents.json", || async {
        let all = public_json(&app, "/api/v2/incidents.json").await;
        all["incidents"]
            .as_array()?
            .iter()
            .any(|i| i["name"] == "Posted by mistake")
            .then_some(())
    })
    .await;
    let (_, index) = public_html(&app, "/").await;
    assert!(index.contains("Posted by mistake"), "{index}");

    // A responder sees no delete form and cannot post one.
    let mut rita = AdminBrowser::signed_in(&app.base, RITA).await;
    let (status, _, page) = rita.get(&format!("/admin/incidents/{id}/delete")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{page}");
    assert!(page.contains("only admins"), "{page}");
    let (status, _, _) = rita
        .post(&format!("/admin/incidents/{id}/delete"), &[])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app.get(&format!("/api/v1/incidents/{id}")).await;
    assert_eq!(status, StatusCode::OK, "still there");

    // An admin confirms, then deletes.
    let mut ada = AdminBrowser::signed_in(&app.base, ADA).await;
    let page = ada.get_ok(&format!("/admin/incidents/{id}/delete")).await;
    assert!(page.contains("Posted by mistake"), "{page}");
    let to = ada
        .post_see_other(&format!("/admin/incidents/{id}/delete"), &[])
        .await;
    assert_eq!(to, "/admin/incidents?done=incident_deleted");
    let (_, _, list) = ada.get("/admin/incidents?done=incident_deleted").await;
    assert!(list.contains("The incident is deleted."), "{list}");
    assert!(!list.contains("Posted by mistake"), "{list}");
    let (status, _) = app.get(&format!("/api/v1/incidents/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    eventually("the incident to leave the public side", || async {
        let all = public_json(&app, "/api/v2/incidents.json").await;
        let listed = all["incidents"]
            .as_array()?
            .iter()
            .any(|i| i["name"] == "Posted by mistake");
        let (_, index) = public_html(&app, "/").await;
        (!listed && !index.contains("Posted by mistake")).then_some(())
    })
    .await;
    let unresolved = public_json(&app, "/api/v2/incidents/unresolved.json").await;
    assert_eq!(unresolved["incidents"], json!([]), "{unresolved}");

    // The audit log names the admin, on the page too.
    let audit = ada.get_ok("/admin/audit?kind=incident.deleted").await;
    assert!(audit.contains("user:ada@example.com"), "{audit}");
    assert!(audit.contains("incident.deleted"), "{audit}");
    let deleted = app
        .store
        .audit_log(
            AuditFilter {
                kind: Some("incident.deleted".into()),
                ..AuditFilter::default()
            },
            10,
        )
        .await
        .unwrap();
    assert_eq!(deleted.len(), 1);
    assert_eq!(deleted[0].actor, format!("user:{ADA}"));
    app.stop().await;
}

both_backends!(
    deleting_an_incident,
    an_admin_deletes_an_incident_and_a_responder_cannot
);

// ---- 7. second pages --------------------------------------------------------------------------

/// Every `href="<prefix>ID"` of a page, in order (ids up to the next quote or `?`).
fn links(page: &str, prefix: &str) -> Vec<String> {
    let marker = format!(r#"href="{prefix}"#);
    page.match_indices(&marker)
        .map(|(at, _)| {
            page[at + marker.len()..]
                .split(['"', '?'])
                .next()
                .unwrap()
                .to_string()
        })
        .filter(|id| !id.is_empty() && !id.contains('/') && id != "new")
        .collect()
}

/// The `href` of the link whose text is `text`, unescaped.
fn link_to(page: &str, text: &str) -> Option<String> {
    let end = page.find(&format!(">{text}</a>"))?;
    let start = page[..end].rfind("href=\"")? + "href=\"".len();
    let href = &page[start..end];
    Some(
        href.split('"')
            .next()
            .unwrap()
            .replace("&amp;", "&")
            .replace("&#38;", "&"),
    )
}

fn no_overlap(first: &[String], second: &[String]) {
    let a: BTreeSet<&String> = first.iter().collect();
    assert!(
        second.iter().all(|id| !a.contains(id)),
        "page 2 repeats rows of page 1"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_pages_show_the_next_rows_without_overlap_and_keep_the_filters() {
    let app = common::app::spawn(Db::Sqlite).await.expect("sqlite app");
    with_users(&app).await;
    let mut ada = AdminBrowser::signed_in(&app.base, ADA).await;

    // Incidents: 30 resolved, 25 a page, newest first.
    let mut opened = Vec::new();
    for n in 0..30 {
        let (status, incident) = app
            .post(
                "/api/v1/incidents",
                json!({ "name": format!("Old incident {n:02}"), "body": "It happened." }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{incident}");
        let id = incident["id"].as_str().unwrap().to_string();
        let (status, _) = app
            .post(
                &format!("/api/v1/incidents/{id}/resolve"),
                json!({ "body": "Fixed." }),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        opened.push(id);
    }
    let first = ada.get_ok("/admin/incidents").await;
    let page1 = links(&first, "/admin/incidents/");
    assert_eq!(page1.len(), 25, "{first}");
    let next = link_to(&first, "Older resolved incidents").expect("a link to the next page");
    let second = ada.get_ok(&next).await;
    let page2 = links(&second, "/admin/incidents/");
    assert_eq!(page2.len(), 5, "{second}");
    no_overlap(&page1, &page2);
    let all: BTreeSet<&String> = page1.iter().chain(&page2).collect();
    assert_eq!(all, opened.iter().collect(), "every incident, once");
    assert!(link_to(&second, "Older resolved incidents").is_none());
    assert!(second.contains(r#"<a href="/admin/incidents">First page</a>"#));

    // Monitors: 60 paused TCP monitors named edge-NN among 5 HTTP ones, filtered by kind and
    // text; 50 a page.
    for n in 0..65 {
        let (name, check) = if n < 60 {
            (
                format!("edge-{n:02}"),
                json!({ "kind": "tcp", "host": "127.0.0.1", "port": 9 }),
            )
        } else {
            (
                format!("edge-web-{n:02}"),
                json!({ "kind": "http", "url": "http://127.0.0.1:9/" }),
            )
        };
        let (status, monitor) = app
            .post(
                "/api/v1/monitors",
                json!({ "name": name, "check": check, "paused": true }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{monitor}");
    }
    let first = ada.get_ok("/admin/monitors?kind=tcp&q=edge").await;
    let page1 = links(&first, "/admin/monitors/");
    assert_eq!(page1.len(), 50, "{first}");
    let next = link_to(&first, "Next page").expect("a next page");
    assert!(
        next.contains("kind=tcp") && next.contains("q=edge") && next.contains("page=2"),
        "{next}"
    );
    let second = ada.get_ok(&next).await;
    let page2 = links(&second, "/admin/monitors/");
    assert_eq!(page2.len(), 10, "{second}");
    no_overlap(&page1, &page2);
    assert!(
        !second.contains("edge-web-"),
        "the kind filter holds on page 2"
    );
    let prev = link_to(&second, "Previous page").expect("a previous page");
    assert!(
        prev.contains("kind=tcp") && prev.contains("q=edge"),
        "{prev}"
    );
    assert!(link_to(&second, "Next page").is_none());

    // The audit log: 100 components created by the CLI, filtered by actor and kind: two full
    // pages, and no link to an empty third.
    for n in 0..100 {
        app.store
            .create_component(
                NewComponent {
                    name: format!("Component {n:03}"),
                    ..Default::default()
                },
                &Actor::cli(),
            )
            .await
            .unwrap();
    }
    let actor = Actor::cli().to_string();
    let query = form(&[("actor", &actor), ("kind", "component.created")]);
    let first = ada.get_ok(&format!("/admin/audit?{query}")).await;
    let seqs = |page: &str| -> Vec<i64> {
        page.match_indices("<tr><td>")
            .map(|(at, _)| page[at + 8..].split('<').next().unwrap().parse().unwrap())
            .collect()
    };
    let page1 = seqs(&first);
    assert_eq!(page1.len(), 50, "{first}");
    assert!(page1.windows(2).all(|w| w[0] > w[1]), "newest first");
    let older = link_to(&first, "Older events").expect("a link to older events");
    assert!(
        older.contains("kind=component.created") && older.contains("actor="),
        "{older}"
    );
    let second = ada.get_ok(&older).await;
    let page2 = seqs(&second);
    assert_eq!(page2.len(), 50, "{second}");
    assert!(
        link_to(&second, "Older events").is_none(),
        "no link to an empty page"
    );
    assert!(page2[0] < *page1.last().unwrap(), "the next rows, older");
    no_overlap(
        &page1.iter().map(i64::to_string).collect::<Vec<_>>(),
        &page2.iter().map(i64::to_string).collect::<Vec<_>>(),
    );
    assert!(
        !second.contains("user:ada@example.com"),
        "the actor filter holds"
    );
    let kinds: BTreeSet<&str> = second
        .match_indices("<td><code>")
        .map(|(at, _)| second[at + 10..].split('<').next().unwrap())
        .collect();
    assert_eq!(
        kinds,
        BTreeSet::from(["component.created"]),
        "the kind filter holds"
    );
    app.stop().await;
}
