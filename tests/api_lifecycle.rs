//! The whole lifecycle of a status page over HTTP, on both backends: groups, components, an
//! incident on two components, updates, a second incident, resolution with the status rule,
//! a postmortem, and an event log that lists every change in order without gaps.

mod common;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn component_status(app: &common::app::TestApp, id: &str) -> String {
    let (_, c) = app.get(&format!("/api/v1/components/{id}")).await;
    c["status"].as_str().unwrap().to_string()
}

async fn lifecycle(app: common::app::TestApp) {
    let group = app
        .ok(
            Method::POST,
            "/api/v1/component-groups",
            Some(json!({"name": "Core"})),
            StatusCode::CREATED,
        )
        .await;
    let gid = group["id"].as_str().unwrap();
    let api = app
        .ok(
            Method::POST,
            "/api/v1/components",
            Some(json!({"name": "API", "group_id": gid})),
            StatusCode::CREATED,
        )
        .await;
    let web = app
        .ok(
            Method::POST,
            "/api/v1/components",
            Some(json!({"name": "Website", "group_id": gid})),
            StatusCode::CREATED,
        )
        .await;
    let (api_id, web_id) = (api["id"].as_str().unwrap(), web["id"].as_str().unwrap());
    assert_eq!(api["position"], 0);
    assert_eq!(web["position"], 1);

    // An incident on two components sets their statuses.
    let first = app
        .ok(
            Method::POST,
            "/api/v1/incidents",
            Some(json!({
                "name": "Elevated error rates",
                "body": "We are investigating elevated error rates on the API.",
                "components": {api_id: "major_outage", web_id: "degraded_performance"}
            })),
            StatusCode::CREATED,
        )
        .await;
    let first_id = first["id"].as_str().unwrap().to_string();
    assert_eq!(first["status"], "investigating");
    assert_eq!(first["impact"], "critical", "derived from major_outage");
    assert_eq!(first["source"]["kind"], "manual");
    assert_eq!(first["updates"].as_array().unwrap().len(), 1);
    assert_eq!(component_status(&app, api_id).await, "major_outage");
    assert_eq!(component_status(&app, web_id).await, "degraded_performance");

    // Three updates.
    for (status, body) in [
        ("identified", "A bad deploy; rolling back."),
        ("monitoring", "Rolled back; watching error rates."),
        (
            "monitoring",
            "Error rates are back to normal on most hosts.",
        ),
    ] {
        app.ok(
            Method::POST,
            &format!("/api/v1/incidents/{first_id}/updates"),
            Some(json!({"status": status, "body": body})),
            StatusCode::CREATED,
        )
        .await;
    }
    let (_, incident) = app.get(&format!("/api/v1/incidents/{first_id}")).await;
    let updates = incident["updates"].as_array().unwrap();
    assert_eq!(updates.len(), 4);
    assert_eq!(
        updates[0]["body"], "Error rates are back to normal on most hosts.",
        "newest first"
    );
    assert!(incident["monitoring_at"].is_string());

    // A second incident on the API only, holding a lesser status.
    let second = app
        .ok(
            Method::POST,
            "/api/v1/incidents",
            Some(
                json!({"name": "Slow logins", "body": "Logins are slow.", "impact": "minor",
                        "components": {api_id: "partial_outage"}}),
            ),
            StatusCode::CREATED,
        )
        .await;
    let second_id = second["id"].as_str().unwrap().to_string();
    assert_eq!(
        component_status(&app, api_id).await,
        "major_outage",
        "the worst hold wins"
    );

    // Resolving the first restores what the second still holds.
    let resolved = app
        .ok(
            Method::POST,
            &format!("/api/v1/incidents/{first_id}/resolve"),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(resolved["status"], "resolved");
    assert!(resolved["resolved_at"].is_string());
    assert_eq!(component_status(&app, api_id).await, "partial_outage");
    assert_eq!(component_status(&app, web_id).await, "operational");
    let (status, err) = app
        .post(&format!("/api/v1/incidents/{first_id}/resolve"), json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(err["error"]["code"], "already_resolved");

    // The postmortem.
    let published = app
        .ok(
            Method::PUT,
            &format!("/api/v1/incidents/{first_id}/postmortem"),
            Some(json!({"body": "## What happened\n\nA **bad** deploy."})),
            StatusCode::OK,
        )
        .await;
    assert_eq!(published["status"], "postmortem");
    assert!(published["postmortem"]["published_at"].is_string());

    app.ok(
        Method::POST,
        &format!("/api/v1/incidents/{second_id}/resolve"),
        Some(json!({"body": "Fixed."})),
        StatusCode::OK,
    )
    .await;
    assert_eq!(component_status(&app, api_id).await, "operational");

    // The event log lists every change in order with gapless sequence numbers.
    let (_, page) = app.get("/api/v1/events?limit=1000").await;
    let events = page["data"].as_array().unwrap();
    let seqs: Vec<i64> = events.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>(), "gapless");
    let kinds: Vec<&str> = events.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    let expected_order = [
        "component_group.created",
        "component.created",
        "component.created",
        "incident.opened",
        "component.status_changed",
        "component.status_changed",
        "incident.update_posted",
        "incident.update_posted",
        "incident.update_posted",
        // The second incident's partial_outage is below the API's major_outage: no change.
        "incident.opened",
        "incident.resolved",
        "component.status_changed",
        "component.status_changed",
        "incident.postmortem_published",
        "incident.resolved",
        "component.status_changed",
    ];
    // Token creation by the harness comes first.
    let from_group = kinds
        .iter()
        .position(|k| *k == "component_group.created")
        .unwrap();
    assert_eq!(&kinds[from_group..], &expected_order[..], "{kinds:?}");
    assert!(events
        .iter()
        .skip(from_group)
        .all(|e| e["actor"] == "token:writer"));

    // Following the log from a cursor returns the rest.
    let cursor = seqs[seqs.len() - 3];
    let (_, tail) = app.get(&format!("/api/v1/events?after={cursor}")).await;
    assert_eq!(tail["data"].as_array().unwrap().len(), 2);
    assert_eq!(tail["next_after"], json!(seqs[seqs.len() - 1]));

    let history: Value = app
        .get(&format!("/api/v1/components/{api_id}/history"))
        .await
        .1;
    let tos: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["to"].as_str().unwrap())
        .collect();
    assert_eq!(
        tos,
        [
            "operational",
            "major_outage",
            "partial_outage",
            "operational"
        ]
    );
    app.stop().await;
}

both_backends!(whole_lifecycle, lifecycle);
