//! The operator's screens of the web UI (`/admin/components`, `/admin/groups`,
//! `/admin/monitors`), through HTTP with a signed-in session against the real server on a
//! fresh SQLite file: every change is checked in the store afterwards and in the audit log
//! under `user:<email>`; viewers and forms without the session's CSRF token are refused and
//! change nothing; bad input comes back as a 422 page that says what is wrong and keeps what
//! was typed; test-run runs one real check against HTTP servers on 127.0.0.1 and stores
//! nothing.

mod common;

use common::admin::{add_user, form, AdminBrowser};

use common::app::{Db, TestApp};
use pharos::account::Role;
use pharos::domain::{ComponentStatus, ManagedBy};
use pharos::events::Actor;
use pharos::monitor::model::Check;
use pharos::store::{AuditFilter, NewComponent, NewGroup, PageRequest, Store};
use reqwest::StatusCode;

async fn app_with_users() -> TestApp {
    let app = common::app::spawn(Db::Sqlite).await.expect("sqlite app");
    add_user(app.store.as_ref(), "ada@example.com", Role::Admin).await;
    add_user(app.store.as_ref(), "rita@example.com", Role::Responder).await;
    add_user(app.store.as_ref(), "vic@example.com", Role::Viewer).await;
    app
}

/// The kinds of the events `actor` caused, oldest first.
async fn events_by(store: &dyn Store, actor: &str) -> Vec<String> {
    let mut kinds: Vec<String> = store
        .audit_log(
            AuditFilter {
                actor: Some(actor.into()),
                ..AuditFilter::default()
            },
            500,
        )
        .await
        .expect("audit log")
        .into_iter()
        .map(|e| e.kind)
        .collect();
    kinds.reverse();
    kinds
}

async fn components(store: &dyn Store) -> Vec<pharos::domain::model::Component> {
    store
        .list_components(PageRequest::first(500))
        .await
        .expect("components")
        .items
}

/// An HTTP server on 127.0.0.1: `/ok` answers 200 with a little JSON, `/fail` 500.
async fn target() -> String {
    use axum::http::StatusCode as S;
    let app = axum::Router::new()
        .route(
            "/ok",
            axum::routing::get(|| async { (S::OK, r#"{"ok": true, "say": "all good"}"#) }),
        )
        .route(
            "/fail",
            axum::routing::get(|| async { (S::INTERNAL_SERVER_ERROR, "broken") }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn components_and_groups_are_created_ordered_edited_and_deleted_through_the_forms() {
    let app = app_with_users().await;
    let mut ada = AdminBrowser::signed_in(&app.base, "ada@example.com").await;

    // A group, then three components in it.
    let to = ada
        .post_see_other("/admin/groups", &[("name", "Core"), ("description", "")])
        .await;
    assert_eq!(to, "/admin/components?done=group_created");
    let group = app
        .store
        .list_groups(PageRequest::first(10))
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|g| g.name == "Core")
        .expect("the group is stored");
    let gid = group.id.to_string();
    for name in ["API", "Web", "Jobs"] {
        let (status, _, page) = ada
            .post(
                "/admin/components",
                &[
                    ("name", name),
                    ("description", "serves things"),
                    ("group_id", &gid),
                    ("status", "operational"),
                    ("showcase", "on"),
                    ("start_date", "2026-01-31"),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    }
    let stored = components(app.store.as_ref()).await;
    assert_eq!(
        stored.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        ["API", "Web", "Jobs"]
    );
    assert!(stored.iter().all(|c| c.group_id == Some(group.id)));
    assert_eq!(stored[0].start_date.as_deref(), Some("2026-01-31"));
    let (api, web, jobs) = (stored[0].id, stored[1].id, stored[2].id);

    // The list shows them in their group, with their status and the forms of an admin.
    let (status, _, page) = ada.get("/admin/components").await;
    assert_eq!(status, StatusCode::OK);
    for needle in ["Core", "API", "Web", "Jobs", "operational", "Move Jobs up"] {
        assert!(page.contains(needle), "{needle} in {page}");
    }

    // Jobs moves up, above Web.
    let (status, _, page) = ada
        .post(
            &format!("/admin/components/{jobs}/move"),
            &[("direction", "up")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    let order: Vec<_> = components(app.store.as_ref())
        .await
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(order, [api, jobs, web]);

    // Edit: a new name, out of the group, hidden.
    let (status, _, page) = ada.get(&format!("/admin/components/{web}/edit")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("value=\"Web\""), "{page}");
    let (status, _, page) = ada
        .post(
            &format!("/admin/components/{web}"),
            &[
                ("name", "Website"),
                ("description", ""),
                ("group_id", ""),
                ("start_date", ""),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    let website = app.store.get_component(web).await.unwrap();
    assert_eq!(website.name, "Website");
    assert_eq!(website.group_id, None);
    assert!(!website.showcase);
    assert_eq!(website.description, None);

    // Bad input: 422, the API's messages, what was typed kept, nothing changed.
    let (status, _, page) = ada
        .post(
            &format!("/admin/components/{api}"),
            &[
                ("name", "   "),
                ("description", "kept description"),
                ("group_id", &gid),
                ("start_date", "31/01/2026"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(page.contains("`name` must not be empty"), "{page}");
    assert!(page.contains("YYYY-MM-DD, not `31/01/2026`"), "{page}");
    assert!(page.contains("kept description"), "{page}");
    assert!(page.contains("value=\"31/01/2026\""), "{page}");
    assert_eq!(app.store.get_component(api).await.unwrap().name, "API");
    let (status, _, page) = ada
        .post("/admin/groups", &[("name", ""), ("description", "typed")])
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(page.contains("`name` must not be empty"), "{page}");
    assert!(page.contains("value=\"typed\""), "{page}");

    // Status by hand.
    let (status, _, page) = ada
        .post(
            &format!("/admin/components/{api}/status"),
            &[("status", "partial_outage")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    assert_eq!(
        app.store.get_component(api).await.unwrap().status,
        ComponentStatus::PartialOutage
    );

    // A second group, moved above the first; renamed.
    ada.post("/admin/groups", &[("name", "Edge"), ("description", "")])
        .await;
    let edge = app
        .store
        .list_groups(PageRequest::first(10))
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|g| g.name == "Edge")
        .unwrap();
    let (status, _, _) = ada
        .post(
            &format!("/admin/groups/{}/move", edge.id),
            &[("direction", "up")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, _, _) = ada
        .post(
            &format!("/admin/groups/{}", edge.id),
            &[("name", "Edge network"), ("description", "")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let names: Vec<_> = app
        .store
        .list_groups(PageRequest::first(10))
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|g| g.name)
        .collect();
    assert_eq!(names, ["Edge network", "Core"]);

    // Delete: a confirmation page first, then the post.
    let (status, _, page) = ada.get(&format!("/admin/components/{jobs}/delete")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Delete component Jobs?"), "{page}");
    let (status, _, _) = ada
        .post(&format!("/admin/components/{jobs}/delete"), &[])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(app.store.get_component(jobs).await.is_err());
    let (status, _, _) = ada
        .post(&format!("/admin/groups/{}/delete", group.id), &[])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.store.get_component(api).await.unwrap().group_id,
        None,
        "its components stay, in no group"
    );

    // Every change is in the audit log under the user.
    let kinds = events_by(app.store.as_ref(), "user:ada@example.com").await;
    for kind in [
        "component_group.created",
        "component.created",
        "component.updated",
        "component.status_changed",
        "component.deleted",
        "component_group.updated",
        "component_group.deleted",
    ] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} in {kinds:?}");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewers_forms_without_csrf_and_config_managed_components_are_refused() {
    let app = app_with_users().await;
    let api = app
        .store
        .create_component(
            NewComponent {
                name: "API".into(),
                ..Default::default()
            },
            &Actor::cli(),
        )
        .await
        .unwrap()
        .id;
    app.store
        .create_group(
            NewGroup {
                name: "Core".into(),
                ..Default::default()
            },
            &Actor::cli(),
        )
        .await
        .unwrap();
    let major_outage = [("status", "major_outage")];

    // A viewer sees the page without forms, and cannot post.
    let mut vic = AdminBrowser::signed_in(&app.base, "vic@example.com").await;
    let (status, _, page) = vic.get("/admin/components").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("API") && !page.contains("/status\""),
        "{page}"
    );
    let (status, _, page) = vic
        .post(&format!("/admin/components/{api}/status"), &major_outage)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{page}");
    let (status, _, _) = vic
        .post("/admin/monitors", &[("name", "x"), ("kind", "push")])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // A responder may set a status, but not restructure the page.
    let mut rita = AdminBrowser::signed_in(&app.base, "rita@example.com").await;
    let (status, _, page) = rita.post("/admin/components", &[("name", "Sneaky")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{page}");

    // Without the session's token, or with a wrong one: refused.
    let mut ada = AdminBrowser::signed_in(&app.base, "ada@example.com").await;
    for body in [
        form(&[("status", "major_outage")]),
        form(&[("csrf", "wrong"), ("status", "major_outage")]),
    ] {
        let (status, _, page) = ada
            .post_raw(&format!("/admin/components/{api}/status"), body)
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{page}");
        assert!(page.contains("security token"), "{page}");
    }
    assert_eq!(
        app.store.get_component(api).await.unwrap().status,
        ComponentStatus::Operational,
        "nothing changed"
    );
    assert_eq!(components(app.store.as_ref()).await.len(), 1);

    // The responder's status change goes through, under the responder's name.
    let (status, _, _) = rita
        .post(&format!("/admin/components/{api}/status"), &major_outage)
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.store.get_component(api).await.unwrap().status,
        ComponentStatus::MajorOutage
    );
    assert!(events_by(app.store.as_ref(), "user:rita@example.com")
        .await
        .iter()
        .any(|k| k == "component.status_changed"));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monitors_are_created_listed_edited_paused_test_run_and_deleted_through_the_forms() {
    let app = app_with_users().await;
    let target = target().await;
    let api = app
        .store
        .create_component(
            NewComponent {
                name: "API".into(),
                ..Default::default()
            },
            &Actor::cli(),
        )
        .await
        .unwrap()
        .id;
    let mut ada = AdminBrowser::signed_in(&app.base, "ada@example.com").await;
    let ok_url = format!("{target}/ok");
    let driven = format!("component.{api}");

    // Bad input: 422 with the API's messages and every typed value kept; nothing stored.
    let bad = [
        ("kind", "http"),
        ("name", "API health"),
        ("url", "ftp://nowhere"),
        ("interval_seconds", "5"),
        ("timeout_ms", "1000"),
        ("down_after", "3"),
        ("up_after", "2"),
        ("tags", "team-a, prod"),
    ];
    let (status, _, page) = ada.post("/admin/monitors", &bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(
        page.contains("interval_seconds: 5 is outside 10..=86400"),
        "{page}"
    );
    assert!(page.contains("check: "), "{page}");
    assert!(page.contains("value=\"API health\""), "{page}");
    assert!(page.contains("value=\"ftp://nowhere\""), "{page}");
    assert!(page.contains("value=\"team-a, prod\""), "{page}");
    assert!(app.store.all_monitors().await.unwrap().is_empty());

    // Test-run of the form's settings: a real check of a 200 and of a 500, nothing stored.
    fn run(url: &str) -> [(&str, &str); 9] {
        [
            ("kind", "http"),
            ("name", "API health"),
            ("url", url),
            ("method", "GET"),
            ("interval_seconds", "60"),
            ("timeout_ms", "5000"),
            ("down_after", "3"),
            ("up_after", "2"),
            ("verify_tls", "on"),
        ]
    }
    let (status, _, page) = ada.post("/admin/monitors/test", &run(&ok_url)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Test-run: up"), "{page}");
    assert!(page.contains("<dt>Status code</dt><dd>200</dd>"), "{page}");
    assert!(page.contains("total "), "timings: {page}");
    assert!(
        page.contains(&format!("value=\"{ok_url}\"")),
        "the form is kept"
    );
    let (status, _, page) = ada
        .post("/admin/monitors/test", &run(&format!("{target}/fail")))
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Test-run: down"), "{page}");
    assert!(page.contains("<dt>Status code</dt><dd>500</dd>"), "{page}");
    assert!(
        page.contains("<dt>Error class</dt><dd>status</dd>"),
        "{page}"
    );
    assert!(
        app.store.all_monitors().await.unwrap().is_empty(),
        "nothing stored"
    );

    // Create: paused, driving a component.
    let created = ada
        .post_see_other(
            "/admin/monitors",
            &[
                ("kind", "http"),
                ("name", "API health"),
                ("url", &ok_url),
                ("method", "GET"),
                ("expected_status", "200, 204"),
                ("assertions", "contains: good\njson /ok = true"),
                ("interval_seconds", "60"),
                ("timeout_ms", "5000"),
                ("down_after", "3"),
                ("m_failures", "2"),
                ("m_of_last", "5"),
                ("up_after", "2"),
                ("tags", "team-a, prod"),
                ("auto_incidents", "on"),
                ("paused", "on"),
                ("verify_tls", "on"),
                (&driven, "partial_outage"),
            ],
        )
        .await;
    let monitors = app.store.all_monitors().await.unwrap();
    assert_eq!(monitors.len(), 1);
    let m = &monitors[0];
    let id = m.id;
    assert_eq!(
        created,
        format!("/admin/monitors/{id}?done=monitor_created")
    );
    assert!(m.paused && m.auto_incidents);
    assert_eq!(m.tags, ["team-a", "prod"]);
    assert_eq!(
        m.policy.down_of_last.map(|r| (r.failures, r.of_last)),
        Some((2, 5))
    );
    assert_eq!(m.components.len(), 1);
    assert_eq!(m.components[0].down_status, ComponentStatus::PartialOutage);
    match &m.check {
        Check::Http(c) => {
            assert_eq!(c.url, ok_url);
            assert_eq!(c.expected_status, ["200", "204"]);
            assert_eq!(c.assertions.len(), 2);
        }
        other => panic!("an HTTP check, not {other:?}"),
    }
    assert_eq!(m.managed_by, ManagedBy::Api);

    // The list finds it by state, kind and tag; the detail page shows it.
    for query in ["", "?state=paused", "?kind=http", "?q=TEAM-A"] {
        let (status, _, page) = ada.get(&format!("/admin/monitors{query}")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("API health"), "{query}: {page}");
    }
    for query in ["?state=down", "?kind=tcp", "?q=nothing-like-it"] {
        let (_, _, page) = ada.get(&format!("/admin/monitors{query}")).await;
        assert!(!page.contains("API health"), "{query}: {page}");
    }
    let (status, _, page) = ada.get(&format!("/admin/monitors/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    for needle in [
        "API health",
        "paused",
        "GET ",
        "data:image/svg+xml;base64,",
        "24 hours",
        "API",
    ] {
        assert!(page.contains(needle), "{needle} in {page}");
    }

    // Test-run of the stored monitor (a responder may).
    let mut rita = AdminBrowser::signed_in(&app.base, "rita@example.com").await;
    let (status, _, page) = rita.post(&format!("/admin/monitors/{id}/test"), &[]).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Test-run: up"), "{page}");
    assert!(app.store.recent_checks(id, 10).await.unwrap().is_empty());

    // Resume and pause (responders).
    let (status, _, _) = rita
        .post(&format!("/admin/monitors/{id}/resume"), &[])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(!app.store.get_monitor(id).await.unwrap().paused);
    let (status, _, _) = rita.post(&format!("/admin/monitors/{id}/pause"), &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(app.store.get_monitor(id).await.unwrap().paused);
    // But not edit.
    let (status, _, _) = rita
        .post(&format!("/admin/monitors/{id}"), &[("name", "Renamed")])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Edit: the form shows the stored settings; a new name and interval, no component.
    let (status, _, page) = ada.get(&format!("/admin/monitors/{id}/edit")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("json /ok = true"), "{page}");
    assert!(
        page.contains("<option value=\"partial_outage\" selected>"),
        "{page}"
    );
    let (status, _, page) = ada
        .post(
            &format!("/admin/monitors/{id}"),
            &[
                ("name", "API health (v2)"),
                ("url", &ok_url),
                ("method", "HEAD"),
                ("interval_seconds", "120"),
                ("timeout_ms", "5000"),
                ("down_after", "4"),
                ("up_after", "2"),
                ("verify_tls", "on"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    let m = app.store.get_monitor(id).await.unwrap();
    assert_eq!(m.name, "API health (v2)");
    assert_eq!(m.interval_seconds, 120);
    assert_eq!(m.policy.down_after, 4);
    assert!(m.components.is_empty());
    assert!(!m.auto_incidents, "the box was not ticked");
    assert!(m.paused, "editing does not resume");

    // An edit with problems: 422, typed values kept, nothing changed.
    let (status, _, page) = ada
        .post(
            &format!("/admin/monitors/{id}"),
            &[
                ("name", "Typed name"),
                ("url", &ok_url),
                ("interval_seconds", "60"),
                ("timeout_ms", "90000"),
                ("down_after", "x"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(
        page.contains("down_after: `x` is not a whole number"),
        "{page}"
    );
    assert!(
        page.contains("timeout_ms: 90000 is longer than the interval"),
        "{page}"
    );
    assert!(page.contains("value=\"Typed name\""), "{page}");
    assert_eq!(
        app.store.get_monitor(id).await.unwrap().name,
        "API health (v2)"
    );

    // A push monitor: its URL is shown once, and works.
    let (status, _, page) = ada
        .post(
            "/admin/monitors",
            &[
                ("kind", "push"),
                ("name", "Nightly backup"),
                ("interval_seconds", "3600"),
                ("timeout_ms", "1000"),
                ("grace_seconds", "60"),
                ("down_after", "1"),
                ("up_after", "1"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let start = page.find("/api/v1/push/").expect("the push URL is shown");
    let path: String = page[start..].chars().take_while(|c| *c != '<').collect();
    let resp = reqwest::get(format!("{}{path}", app.base)).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "the push URL works");

    // Delete, after a confirmation page.
    let (status, _, page) = ada.get(&format!("/admin/monitors/{id}/delete")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Delete monitor API health (v2)?"), "{page}");
    let to = ada
        .post_see_other(&format!("/admin/monitors/{id}/delete"), &[])
        .await;
    assert_eq!(to, "/admin/monitors?done=monitor_deleted");
    assert!(app.store.get_monitor(id).await.is_err());

    // The audit log names who did what.
    let ada_kinds = events_by(app.store.as_ref(), "user:ada@example.com").await;
    for kind in ["monitor.created", "monitor.updated", "monitor.deleted"] {
        assert!(
            ada_kinds.iter().any(|k| k == kind),
            "{kind} in {ada_kinds:?}"
        );
    }
    let rita_kinds = events_by(app.store.as_ref(), "user:rita@example.com").await;
    assert!(
        rita_kinds.iter().any(|k| k == "monitor.updated"),
        "{rita_kinds:?}"
    );
    app.stop().await;
}
