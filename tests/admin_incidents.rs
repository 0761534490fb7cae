//! The incident, incident-template and maintenance screens through HTTP, against the real app
//! on a SQLite file, signed in by posting the sign-in form: each form changes the store with the
//! user as the events' actor, a viewer and a form without its CSRF token are refused, and bad
//! input comes back as a 422 page that keeps what was typed and says what is wrong.

mod common;

use common::admin::{add_user, csrf_of, form, set_cookie, PASSWORD};

use common::app::{Db, TestApp};
use pharos::account::Role;
use pharos::domain::{ComponentStatus, IncidentId, IncidentStatus, MaintenanceId};
use pharos::events::Actor;
use pharos::store::{NewComponent, Store};
use reqwest::header::{HeaderMap, CONTENT_TYPE, COOKIE, LOCATION};
use reqwest::StatusCode;
use serde_json::json;
use std::time::{Duration, Instant};

/// A signed-in browser: its session cookie and CSRF token.
struct Session {
    base: String,
    http: reqwest::Client,
    cookie: String,
    csrf: String,
}

impl Session {
    async fn sign_in(app: &TestApp, email: &str) -> Session {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let page = http.get(app.url("/admin/login")).send().await.unwrap();
        let pre = set_cookie(page.headers(), "pharos_csrf").expect("a pre-login cookie");
        let token = csrf_of(&page.text().await.unwrap());
        let signed = http
            .post(app.url("/admin/login"))
            .header(COOKIE, format!("pharos_csrf={pre}"))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form(&[
                ("csrf", &token),
                ("email", email),
                ("password", PASSWORD),
            ]))
            .send()
            .await
            .unwrap();
        assert_eq!(signed.status(), StatusCode::SEE_OTHER, "sign in as {email}");
        let session = set_cookie(signed.headers(), "pharos_session").expect("a session");
        let mut s = Session {
            base: app.base.clone(),
            http,
            cookie: format!("pharos_session={session}"),
            csrf: String::new(),
        };
        let (_, _, account) = s.get("/admin/account").await;
        s.csrf = csrf_of(&account);
        s
    }

    async fn get(&self, path: &str) -> (StatusCode, HeaderMap, String) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .header(COOKIE, &self.cookie)
            .send()
            .await
            .unwrap();
        (r.status(), r.headers().clone(), r.text().await.unwrap())
    }

    /// Posts a form with the session's CSRF token (unless `csrf` is false).
    async fn post_form(
        &self,
        path: &str,
        pairs: &[(&str, &str)],
        csrf: bool,
    ) -> (StatusCode, HeaderMap, String) {
        let mut all: Vec<(&str, &str)> = pairs.to_vec();
        if csrf {
            all.push(("csrf", &self.csrf));
        }
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .header(COOKIE, &self.cookie)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form(&all))
            .send()
            .await
            .unwrap();
        (r.status(), r.headers().clone(), r.text().await.unwrap())
    }

    async fn post(&self, path: &str, pairs: &[(&str, &str)]) -> (StatusCode, HeaderMap, String) {
        self.post_form(path, pairs, true).await
    }
}

/// An app with a responder, a viewer and two components the page's snapshot already shows.
async fn app() -> (TestApp, String, String) {
    let app = common::app::spawn(Db::Sqlite).await.expect("sqlite app");
    add_user(app.store.as_ref(), "rita@example.com", Role::Responder).await;
    add_user(app.store.as_ref(), "vic@example.com", Role::Viewer).await;
    let mut ids = Vec::new();
    for name in ["API", "Website"] {
        let c = app
            .store
            .create_component(
                NewComponent {
                    name: name.into(),
                    ..Default::default()
                },
                &Actor::cli(),
            )
            .await
            .unwrap();
        ids.push(c.id.to_string());
    }
    // The forms list components from the public snapshot, which follows the log.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, summary) = app.get("/api/v2/summary.json").await;
        if summary["components"]
            .as_array()
            .is_some_and(|c| c.len() == 2)
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the snapshot never showed the components"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (app, ids[0].clone(), ids[1].clone())
}

fn incident_id(headers: &HeaderMap) -> IncidentId {
    let location = headers[LOCATION].to_str().unwrap();
    let rest = location.strip_prefix("/admin/incidents/").expect(location);
    rest.split('?').next().unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_responder_runs_an_incident_through_the_forms_as_themselves() {
    let (app, api, web) = app().await;
    let rita = Session::sign_in(&app, "rita@example.com").await;
    let before = app.store.last_event_seq().await.unwrap();

    let (status, _, page) = rita.get("/admin/incidents/new").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("API") && page.contains("Website"), "{page}");

    let status_api = format!("status.{api}");
    let status_web = format!("status.{web}");
    let (status, headers, page) = rita
        .post(
            "/admin/incidents",
            &[
                ("name", "Checkout errors"),
                ("impact", ""),
                ("status", "investigating"),
                ("component", &api),
                (&status_api, "major_outage"),
                ("component", &web),
                (&status_web, ""),
                ("body", "We are looking."),
                ("action", "open"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    let id = incident_id(&headers);
    let incident = app.store.get_incident(id).await.unwrap();
    assert_eq!(incident.name, "Checkout errors");
    assert_eq!(incident.components.len(), 2);
    assert_eq!(
        app.store
            .get_component(api.parse().unwrap())
            .await
            .unwrap()
            .status,
        ComponentStatus::MajorOutage
    );

    // The list shows it among the open ones, with its components.
    let (_, _, list) = rita.get("/admin/incidents").await;
    assert!(
        list.contains("Checkout errors") && list.contains("API, Website"),
        "{list}"
    );

    // A preview renders the Markdown with the public sanitiser and keeps the text.
    let path = format!("/admin/incidents/{id}/updates");
    let (status, _, page) = rita
        .post(
            &path,
            &[
                ("status", "identified"),
                ("body", "**bold** <script>x()</script>"),
                ("action", "preview"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("<strong>bold</strong>"), "{page}");
    assert!(!page.contains("<script>x()"), "the preview is sanitised");
    assert!(
        page.contains("**bold** &#60;script&#62;"),
        "the text is kept: {page}"
    );

    let (status, _, _) = rita
        .post(
            &path,
            &[
                ("status", "identified"),
                ("body", "Found it."),
                ("action", "post"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    // An empty message takes the status's standard sentence.
    let (status, _, _) = rita
        .post(
            &path,
            &[("status", "monitoring"), ("body", ""), ("action", "post")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let incident = app.store.get_incident(id).await.unwrap();
    assert_eq!(incident.status, IncidentStatus::Monitoring);
    assert_eq!(
        incident.updates[0].body,
        "A fix has been implemented and we are monitoring the results."
    );

    // Edit, then delete an update; the only update cannot be deleted.
    let found = incident.updates[1].id;
    let (status, _, _) = rita
        .post(
            &format!("/admin/incidents/{id}/updates/{found}/edit"),
            &[("body", "Found it: a bad deploy.")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, _, _) = rita
        .post(
            &format!("/admin/incidents/{id}/updates/{found}/delete"),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(app.store.get_incident(id).await.unwrap().updates.len(), 2);

    let (status, _, _) = rita
        .post(
            &format!("/admin/incidents/{id}/resolve"),
            &[("body", "All good.")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let incident = app.store.get_incident(id).await.unwrap();
    assert_eq!(incident.status, IncidentStatus::Resolved);
    assert_eq!(incident.updates[0].body, "All good.");

    let pm = format!("/admin/incidents/{id}/postmortem");
    let (status, _, _) = rita
        .post(&pm, &[("body", "Draft."), ("action", "draft")])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let draft = app
        .store
        .get_incident(id)
        .await
        .unwrap()
        .postmortem
        .unwrap();
    assert!(draft.published_at.is_none());
    let (status, _, _) = rita
        .post(
            &pm,
            &[("body", "## Cause\nA deploy."), ("action", "publish")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let incident = app.store.get_incident(id).await.unwrap();
    assert!(incident.postmortem.unwrap().published_at.is_some());
    assert_eq!(incident.status, IncidentStatus::Postmortem);

    // Deleting the incident is for admins only.
    let (status, _, _) = rita
        .post(&format!("/admin/incidents/{id}/delete"), &[])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let events = app.store.list_events(before, 100).await.unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    for kind in [
        "incident.opened",
        "incident.update_posted",
        "incident.update_edited",
        "incident.update_deleted",
        "incident.resolved",
        "incident.postmortem_saved",
        "incident.postmortem_published",
    ] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
    assert!(
        events
            .iter()
            .filter(|e| e.kind.starts_with("incident."))
            .all(|e| e.actor == "user:rita@example.com"),
        "{events:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewers_and_forms_without_their_csrf_token_are_refused() {
    let (app, api, _) = app().await;
    let vic = Session::sign_in(&app, "vic@example.com").await;
    let rita = Session::sign_in(&app, "rita@example.com").await;
    let fields = [
        ("name", "Sneaky"),
        ("component", api.as_str()),
        ("body", "x"),
    ];
    let (status, _, page) = vic.post("/admin/incidents", &fields).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{page}");
    assert!(page.contains("viewers can look but not change"), "{page}");
    let (status, _, _) = rita.post_form("/admin/incidents", &fields, false).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = vic
        .post(
            "/admin/maintenances",
            &[
                ("name", "x"),
                ("starts", "2030-01-01T00:00"),
                ("ends", "2030-01-01T01:00"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = vic
        .post("/admin/incident-templates", &[("name", "x")])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Viewers still see the screens.
    let (status, _, page) = vic.get("/admin/incidents").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!page.contains("Open an incident</a>"), "{page}");
    let (_, list) = app.get("/api/v1/incidents").await;
    assert_eq!(
        list["data"].as_array().unwrap().len(),
        0,
        "nothing was opened"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_comes_back_as_a_422_page_that_keeps_what_was_typed() {
    let (app, api, _) = app().await;
    let rita = Session::sign_in(&app, "rita@example.com").await;

    let (status, _, page) = rita
        .post(
            "/admin/incidents",
            &[
                ("name", "  "),
                ("body", "Typed with care"),
                ("component", &api),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("name must not be empty"), "{page}");
    assert!(
        page.contains("Typed with care"),
        "the message is kept: {page}"
    );
    assert!(
        page.contains(&format!(r#"value="{api}" checked"#)),
        "the component stays checked"
    );

    let unknown = pharos::domain::ComponentId::new().to_string();
    let (status, _, page) = rita
        .post(
            "/admin/incidents",
            &[("name", "Ghost"), ("body", "Boo"), ("component", &unknown)],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains(&format!("component {unknown} does not exist")),
        "{page}"
    );
    assert!(page.contains(r#"value="Ghost""#), "{page}");

    let (status, _, page) = rita
        .post(
            "/admin/maintenances",
            &[
                ("name", "Backwards"),
                ("starts", "2030-01-02T10:00"),
                ("ends", "2030-01-02T09:00"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains("the window must end after it starts"),
        "{page}"
    );
    assert!(page.contains(r#"value="Backwards""#), "{page}");
    let (_, list) = app.get("/api/v1/incidents").await;
    assert_eq!(list["data"].as_array().unwrap().len(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn templates_prefill_the_form_and_maintenances_are_scheduled_and_cancelled() {
    let (app, api, web) = app().await;
    let rita = Session::sign_in(&app, "rita@example.com").await;
    let status_api = format!("status.{api}");
    let (status, _, page) = rita
        .post(
            "/admin/incident-templates",
            &[
                ("name", "Payments down"),
                ("title", "Payments are failing"),
                ("impact", "critical"),
                ("status", "identified"),
                ("component", &api),
                (&status_api, "partial_outage"),
                ("body", "Card payments fail."),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    let templates = app.store.list_incident_templates().await.unwrap();
    assert_eq!(templates.len(), 1);
    let template = &templates[0];
    let (status, _, page) = rita
        .get(&format!("/admin/incidents/new?template={}", template.id))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(r#"value="Payments are failing""#), "{page}");
    assert!(page.contains("Card payments fail."));
    assert!(
        page.contains(r#"<option value="critical" selected>"#),
        "{page}"
    );
    assert!(
        page.contains(r#"<option value="partial_outage" selected>"#),
        "{page}"
    );
    // The API sees the same template and keeps parity.
    let (status, listed) = app.get("/api/v1/incident-templates").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed[0]["name"], "Payments down");
    let events = app.store.list_events(0, 1000).await.unwrap();
    let created = events
        .iter()
        .find(|e| e.kind == "incident_template.created")
        .unwrap();
    assert_eq!(created.actor, "user:rita@example.com");

    // A maintenance: scheduled in the page's zone (UTC here), then cancelled.
    let (status, headers, page) = rita
        .post(
            "/admin/maintenances",
            &[
                ("name", "Database upgrade"),
                ("starts", "2030-01-02T02:00"),
                ("ends", "2030-01-02T03:00"),
                ("component", &web),
                ("auto", "1"),
                ("body", "We upgrade the database."),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    let location = headers[LOCATION].to_str().unwrap();
    let id: MaintenanceId = location["/admin/maintenances/".len()..]
        .split('?')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let m = app.store.get_maintenance(id).await.unwrap();
    assert_eq!(
        m.scheduled_for.to_db(),
        pharos::domain::Timestamp::parse("2030-01-02T02:00:00Z")
            .unwrap()
            .to_db()
    );
    assert_eq!(m.component_ids.len(), 1);
    let (status, _, page) = rita.get(location).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("The maintenance is scheduled."), "{page}");
    let (status, _, _) = rita
        .post(&format!("/admin/maintenances/{id}/cancel"), &[])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(app
        .store
        .get_maintenance(id)
        .await
        .unwrap()
        .cancelled_at
        .is_some());

    // Deleting an update through the API, as the UI does.
    let (status, incident) = app
        .post(
            "/api/v1/incidents",
            json!({"name": "API parity", "body": "first"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let iid = incident["id"].as_str().unwrap();
    let (_, updated) = app
        .post(
            &format!("/api/v1/incidents/{iid}/updates"),
            json!({"body": "second"}),
        )
        .await;
    let uid = updated["updates"][0]["id"].as_str().unwrap();
    let (status, after) = app
        .delete(&format!("/api/v1/incidents/{iid}/updates/{uid}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{after}");
    assert_eq!(after["updates"].as_array().unwrap().len(), 1);
    let only = after["updates"][0]["id"].as_str().unwrap();
    let (status, refused) = app
        .delete(&format!("/api/v1/incidents/{iid}/updates/{only}"))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(refused["error"]["code"], "only_update");
}
