//! Conformance checks of the stored page settings: reading them before any change, a change
//! and its one `page.settings_changed` event with the acting user, a change that changes
//! nothing (no write, no event), removing a stored value, and two changes of different
//! fields at once (neither undoes the other).

use crate::clock::{Clock, ManualClock};
use crate::config::FooterLink;
use crate::domain::model::Event;
use crate::events::Actor;
use crate::store::*;
use chrono::Duration;
use std::sync::Arc;

async fn events_since(store: &dyn Store, after: i64) -> Vec<Event> {
    store.list_events(after, 100).await.expect("events")
}

pub async fn page_settings_round_trip(store: &dyn Store, clock: &ManualClock) {
    let empty = store.page_settings().await.expect("read before any change");
    assert_eq!(empty, StoredPageSettings::default(), "nothing stored yet");

    let who = Actor::user("admin@example.com");
    let before = store.last_event_seq().await.expect("seq");
    let saved = store
        .update_page_settings(
            PageSettingsPatch {
                name: Some(Some("Acme Status".into())),
                accent_color: Some(Some("#aa0000".into())),
                time_zone: Some(Some("Europe/Berlin".into())),
                footer_links: Some(Some(vec![FooterLink {
                    label: "Home « ü »".into(),
                    url: "https://www.example.com/?a=1&b=2".into(),
                }])),
                footer_text: Some(Some("Run by **Acme** — <b>ü</b>".into())),
                ..Default::default()
            },
            &who,
        )
        .await
        .expect("save");
    assert_eq!(saved.name.as_deref(), Some("Acme Status"));
    assert_eq!(saved.logo_url, None, "a field not in the patch stays unset");
    assert_eq!(saved.updated_at, Some(clock.now()));
    assert_eq!(saved.updated_by.as_deref(), Some("user:admin@example.com"));
    assert_eq!(store.page_settings().await.expect("read"), saved);

    let events = events_since(store, before).await;
    assert_eq!(events.len(), 1, "one event per change: {events:?}");
    let event = &events[0];
    assert_eq!(event.kind, "page.settings_changed");
    assert_eq!(event.actor, "user:admin@example.com");
    assert_eq!(event.subject_id.as_deref(), Some("page"));
    assert_eq!(
        event.data["changed"],
        serde_json::json!([
            "name",
            "accent_color",
            "time_zone",
            "footer_links",
            "footer_text"
        ])
    );
    assert_eq!(event.data["settings"]["name"], "Acme Status");

    // The same values again: nothing changes, nothing is written, no event.
    clock.advance(Duration::minutes(5));
    let seq = store.last_event_seq().await.expect("seq");
    let again = store
        .update_page_settings(
            PageSettingsPatch {
                name: Some(Some("Acme Status".into())),
                ..Default::default()
            },
            &Actor::token("other"),
        )
        .await
        .expect("no-op save");
    assert_eq!(
        again, saved,
        "a change that changes nothing keeps who and when"
    );
    assert_eq!(store.last_event_seq().await.expect("seq"), seq);

    // Removing a stored value (back to the default) and setting another.
    let cleared = store
        .update_page_settings(
            PageSettingsPatch {
                name: Some(None),
                footer_links: Some(None),
                logo_url: Some(Some("/logo.svg".into())),
                ..Default::default()
            },
            &Actor::token("ops"),
        )
        .await
        .expect("clear");
    assert_eq!(cleared.name, None);
    assert_eq!(cleared.footer_links, None);
    assert_eq!(cleared.logo_url.as_deref(), Some("/logo.svg"));
    assert_eq!(cleared.accent_color.as_deref(), Some("#aa0000"), "kept");
    assert_eq!(cleared.updated_at, Some(clock.now()));
    assert_eq!(cleared.updated_by.as_deref(), Some("token:ops"));
    assert_eq!(store.page_settings().await.expect("read"), cleared);
    let events = events_since(store, seq).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(
        events[0].data["changed"],
        serde_json::json!(["name", "logo_url", "footer_links"])
    );
    assert_eq!(events[0].actor, "token:ops");
}

pub async fn page_settings_concurrent_changes(store: Arc<dyn Store>, _clock: &ManualClock) {
    // Two writers, each changing its own field over and over: both fields end with their
    // writer's last value (a lost update would put one back).
    let rounds = 10;
    let spawn = |field: &'static str| {
        let store = store.clone();
        tokio::spawn(async move {
            for round in 0..rounds {
                let value = Some(Some(format!("{field} {round}")));
                let patch = match field {
                    "name" => PageSettingsPatch {
                        name: value,
                        ..Default::default()
                    },
                    _ => PageSettingsPatch {
                        footer_text: value,
                        ..Default::default()
                    },
                };
                store
                    .update_page_settings(patch, &Actor::token(field))
                    .await
                    .expect("concurrent save");
            }
        })
    };
    let (a, b) = (spawn("name"), spawn("footer_text"));
    a.await.expect("name writer");
    b.await.expect("footer writer");
    let stored = store.page_settings().await.expect("read");
    assert_eq!(stored.name.as_deref(), Some("name 9"));
    assert_eq!(stored.footer_text.as_deref(), Some("footer_text 9"));
    let events = store.list_events(0, 1000).await.expect("events");
    let changes = events
        .iter()
        .filter(|e| e.kind == "page.settings_changed")
        .count();
    assert_eq!(changes, 2 * rounds, "one event per change");
}
