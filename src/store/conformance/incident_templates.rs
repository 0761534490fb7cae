//! Conformance checks of incident templates (create, read, replace, delete, their events and
//! refusals) and of deleting one update of an incident.

use super::{actor, component, new_incident, new_update};
use crate::clock::ManualClock;
use crate::domain::ids::IncidentTemplateId;
use crate::events::Actor;
use crate::store::*;

fn input(name: &str, components: Vec<TemplateComponent>) -> IncidentTemplateInput {
    IncidentTemplateInput {
        name: name.into(),
        title: format!("{name}: degraded"),
        impact: Some(IncidentImpact::Major),
        status: IncidentStatus::Investigating,
        body: "We are investigating.".into(),
        components,
    }
}

pub async fn incident_templates_crud(store: &dyn Store, _clock: &ManualClock) {
    let api = component(store, "Template API").await;
    let who = Actor::user("ops@example.com");
    let before = store.last_event_seq().await.expect("seq");
    let created = store
        .create_incident_template(
            input(
                "Database down",
                vec![TemplateComponent {
                    component_id: api.id,
                    status: Some(ComponentStatus::MajorOutage),
                }],
            ),
            &who,
        )
        .await
        .expect("create");
    assert_eq!(created.title, "Database down: degraded");
    assert_eq!(
        created.components[0].status,
        Some(ComponentStatus::MajorOutage)
    );
    assert_eq!(
        store.get_incident_template(created.id).await.expect("get"),
        created
    );

    // A second template with the same name, an unknown component, a closing status: refused.
    let taken = store
        .create_incident_template(input("Database down", Vec::new()), &who)
        .await;
    assert!(
        matches!(
            taken,
            Err(StoreError::Conflict {
                code: "template_name_taken",
                ..
            })
        ),
        "{taken:?}"
    );
    let unknown = store
        .create_incident_template(
            input(
                "Unknown",
                vec![TemplateComponent {
                    component_id: ComponentId::new(),
                    status: None,
                }],
            ),
            &who,
        )
        .await;
    assert!(
        matches!(unknown, Err(StoreError::Invalid { .. })),
        "{unknown:?}"
    );
    let mut closing = input("Closing", Vec::new());
    closing.status = IncidentStatus::Resolved;
    assert!(matches!(
        store.create_incident_template(closing, &who).await,
        Err(StoreError::Invalid { .. })
    ));

    let mut changed = input("Database slow", Vec::new());
    changed.impact = None;
    let updated = store
        .update_incident_template(created.id, changed, &who)
        .await
        .expect("update");
    assert_eq!(updated.name, "Database slow");
    assert_eq!(updated.impact, None);
    assert!(updated.components.is_empty());
    let other = store
        .create_incident_template(input("Another", Vec::new()), &who)
        .await
        .expect("another");
    let names: Vec<String> = store
        .list_incident_templates()
        .await
        .expect("list")
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(names, ["Another", "Database slow"], "by name");
    // Renaming onto another template's name is refused too.
    assert!(matches!(
        store
            .update_incident_template(other.id, input("Database slow", Vec::new()), &who)
            .await,
        Err(StoreError::Conflict { .. })
    ));

    store
        .delete_incident_template(created.id, &who)
        .await
        .expect("delete");
    assert!(matches!(
        store.get_incident_template(created.id).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store
            .delete_incident_template(IncidentTemplateId::new(), &who)
            .await,
        Err(StoreError::NotFound { .. })
    ));

    let events = store.list_events(before, 100).await.expect("events");
    let kinds: Vec<&str> = events
        .iter()
        .filter(|e| e.kind.starts_with("incident_template."))
        .map(|e| e.kind.as_str())
        .collect();
    assert_eq!(
        kinds,
        [
            "incident_template.created",
            "incident_template.updated",
            "incident_template.created",
            "incident_template.deleted"
        ]
    );
    assert!(events
        .iter()
        .filter(|e| e.kind.starts_with("incident_template."))
        .all(|e| e.actor == "user:ops@example.com"));
}

pub async fn incident_update_deletion(store: &dyn Store, _clock: &ManualClock) {
    let api = component(store, "Deletion API").await;
    let hold = ComponentChange {
        component_id: api.id,
        status: Some(ComponentStatus::MajorOutage),
    };
    let incident = store
        .create_incident(new_incident("Deletion", &[hold]), &actor())
        .await
        .expect("open");
    let only = incident.updates[0].id;
    let refused = store
        .delete_incident_update(incident.id, only, &actor())
        .await;
    assert!(
        matches!(
            refused,
            Err(StoreError::Conflict {
                code: "only_update",
                ..
            })
        ),
        "{refused:?}"
    );
    let posted = store
        .post_incident_update(
            incident.id,
            new_update(Some(IncidentStatus::Identified), "A typo", &[]),
            &actor(),
        )
        .await
        .expect("post");
    let typo = posted.updates[0].id;
    store
        .edit_incident_update(incident.id, typo, "A typo, edited".into(), &actor())
        .await
        .expect("edit, so it has an edit history");
    let before = store.last_event_seq().await.expect("seq");
    let after = store
        .delete_incident_update(incident.id, typo, &Actor::user("ops@example.com"))
        .await
        .expect("delete the update");
    assert_eq!(after.updates.len(), 1);
    assert_eq!(after.updates[0].id, only);
    // The incident keeps its status and its hold.
    assert_eq!(after.status, IncidentStatus::Identified);
    assert_eq!(
        store.get_component(api.id).await.expect("component").status,
        ComponentStatus::MajorOutage
    );
    let events = store.list_events(before, 10).await.expect("events");
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].kind, "incident.update_deleted");
    assert_eq!(events[0].actor, "user:ops@example.com");
    assert_eq!(events[0].data["updates"][0]["id"], typo.to_string());
    assert!(matches!(
        store
            .delete_incident_update(incident.id, typo, &actor())
            .await,
        Err(StoreError::NotFound { .. })
    ));
}
