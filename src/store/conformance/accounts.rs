//! Conformance checks of account storage: users (one per address in any case, never a hash in
//! an event), sessions joined with their user, touched at most once a minute, ended one by
//! one, everywhere and by pruning, the stored failed-login lock, and the one-time setup token.

use crate::account::{NewSession, NewUser, Role, UserPatch, LOCK_AFTER_FAILURES, LOCK_FOR};
use crate::clock::{Clock, ManualClock};
use crate::domain::ids::UserId;
use crate::events::Actor;
use crate::store::*;
use chrono::Duration;

fn admin_actor() -> Actor {
    Actor::user("root@example.com")
}

fn new_user(email: &str, role: Role) -> NewUser {
    NewUser {
        email: email.into(),
        name: format!("User {email}"),
        role,
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
    }
}

fn new_session(id: &str, clock: &ManualClock) -> NewSession {
    NewSession {
        id: id.into(),
        csrf: format!("csrf-{id}"),
        expires_at: Timestamp::from_datetime(clock.now().0 + Duration::days(14)),
        user_agent: Some("Firefox".into()),
        client_ip: Some("127.0.0.1".into()),
    }
}

async fn events_since(store: &dyn Store, after: i64) -> Vec<crate::domain::model::Event> {
    store.list_events(after, 100).await.expect("events")
}

pub async fn users_crud(store: &dyn Store, clock: &ManualClock) {
    assert_eq!(store.count_users().await.expect("count"), 0);
    let ada = store
        .create_user(new_user("  Ada@Example.COM ", Role::Admin), &Actor::cli())
        .await
        .expect("create");
    assert_eq!(ada.email, "ada@example.com", "stored lower-cased");
    assert_eq!(ada.role, Role::Admin);
    assert!(!ada.totp_enabled && !ada.disabled && ada.locked_until.is_none());
    assert_eq!(ada.created_at, clock.now());
    let again = store
        .create_user(new_user("ADA@example.com", Role::Viewer), &Actor::cli())
        .await;
    assert!(
        matches!(
            again,
            Err(StoreError::Conflict {
                code: "email_taken",
                ..
            })
        ),
        "{again:?}"
    );
    for bad in ["not-an-email", "a@b"] {
        let refused = store
            .create_user(new_user(bad, Role::Viewer), &Actor::cli())
            .await;
        assert!(
            matches!(refused, Err(StoreError::Invalid { .. })),
            "{bad}: {refused:?}"
        );
    }
    let bob = store
        .create_user(new_user("bob@example.com", Role::Viewer), &admin_actor())
        .await
        .expect("create bob");
    assert_eq!(store.count_users().await.expect("count"), 2);
    assert_eq!(
        store.list_users().await.expect("list"),
        vec![ada.clone(), bob.clone()],
        "by email"
    );
    let found = store
        .find_user_by_email("BOB@example.com")
        .await
        .expect("find")
        .expect("bob exists");
    assert_eq!(found.user, bob);
    assert!(found.password_hash.starts_with("$argon2id$"));
    assert!(store
        .find_user_by_email("nobody@example.com")
        .await
        .expect("find")
        .is_none());

    clock.advance(Duration::seconds(5));
    let seq = store.last_event_seq().await.expect("seq");
    let bob2 = store
        .update_user(
            bob.id,
            UserPatch {
                name: Some(" Bob B. ".into()),
                role: Some(Role::Responder),
                totp_secret: Some(Some("JBSWY3DPEHPK3PXP".into())),
                ..Default::default()
            },
            &admin_actor(),
        )
        .await
        .expect("update");
    assert_eq!(bob2.name, "Bob B.");
    assert_eq!(bob2.role, Role::Responder);
    assert!(bob2.totp_enabled);
    assert_eq!(bob2.updated_at, clock.now());
    assert_eq!(store.get_user(bob.id).await.expect("get"), bob2);
    let stored = store
        .find_user_by_email("bob@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.totp_secret.as_deref(), Some("JBSWY3DPEHPK3PXP"));

    let events = events_since(store, seq).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, "user.updated");
    assert_eq!(events[0].actor, "user:root@example.com");
    let text = events[0].data.to_string();
    assert!(
        !text.contains("argon2") && !text.contains("JBSWY3DP"),
        "{text}"
    );

    let missing = store.get_user(UserId::new()).await;
    assert!(
        matches!(missing, Err(StoreError::NotFound { .. })),
        "{missing:?}"
    );

    // Deleting a user deletes its sessions.
    store
        .create_session(bob.id, new_session("bob-1", clock), None)
        .await
        .expect("session");
    store
        .delete_user(bob.id, &admin_actor())
        .await
        .expect("delete");
    assert!(store.find_session("bob-1").await.expect("find").is_none());
    assert_eq!(store.count_users().await.expect("count"), 1);
    let kinds: Vec<String> = events_since(store, seq)
        .await
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds, ["user.updated", "user.signed_in", "user.deleted"]);
    let deleted = store.delete_user(bob.id, &admin_actor()).await;
    assert!(matches!(deleted, Err(StoreError::NotFound { .. })));
}

pub async fn sessions_lifecycle(store: &dyn Store, clock: &ManualClock) {
    let ada = store
        .create_user(new_user("ada@example.com", Role::Responder), &Actor::cli())
        .await
        .expect("create");
    let seq = store.last_event_seq().await.expect("seq");
    let first = store
        .create_session(ada.id, new_session("s1", clock), None)
        .await
        .expect("s1");
    assert_eq!(first.last_seen_at, clock.now());
    let (found, user) = store
        .find_session("s1")
        .await
        .expect("find")
        .expect("s1 exists");
    assert_eq!(found, first);
    assert_eq!(user.user.id, ada.id);
    assert_eq!(found.csrf, "csrf-s1");
    let signed_in = events_since(store, seq).await;
    assert_eq!(signed_in[0].kind, "user.signed_in");
    assert_eq!(signed_in[0].actor, "user:ada@example.com");

    // Touching moves last_seen_at at most once a minute.
    let start = clock.now();
    clock.advance(Duration::seconds(30));
    store.touch_session("s1", clock.now()).await.expect("touch");
    assert_eq!(
        store
            .find_session("s1")
            .await
            .unwrap()
            .unwrap()
            .0
            .last_seen_at,
        start
    );
    clock.advance(Duration::seconds(31));
    store.touch_session("s1", clock.now()).await.expect("touch");
    assert_eq!(
        store
            .find_session("s1")
            .await
            .unwrap()
            .unwrap()
            .0
            .last_seen_at,
        clock.now()
    );

    // Rotation at sign-in: the browser's old session is replaced.
    store
        .create_session(ada.id, new_session("s2", clock), Some("s1"))
        .await
        .expect("s2");
    assert!(
        store.find_session("s1").await.unwrap().is_none(),
        "rotated away"
    );
    store
        .create_session(ada.id, new_session("s3", clock), None)
        .await
        .expect("s3");
    store
        .create_session(ada.id, new_session("s4", clock), None)
        .await
        .expect("s4");

    let seq = store.last_event_seq().await.expect("seq");
    store
        .delete_session("s2", &Actor::user("ada@example.com"))
        .await
        .expect("sign out");
    assert!(store.find_session("s2").await.unwrap().is_none());
    store
        .delete_session("s2", &Actor::user("ada@example.com"))
        .await
        .expect("twice is fine");
    let ended = store
        .delete_user_sessions(ada.id, Some("s3"), &Actor::user("ada@example.com"))
        .await
        .expect("everywhere");
    assert_eq!(ended, 1, "s4 ended, s3 kept");
    assert!(store.find_session("s3").await.unwrap().is_some());
    assert!(store.find_session("s4").await.unwrap().is_none());
    let kinds: Vec<String> = events_since(store, seq)
        .await
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds, ["user.signed_out", "user.signed_out"]);

    // A disabled user's sessions end and it cannot sign in.
    store
        .update_user(
            ada.id,
            UserPatch {
                disabled: Some(true),
                ..Default::default()
            },
            &admin_actor(),
        )
        .await
        .expect("disable");
    assert!(store.find_session("s3").await.unwrap().is_none());
    let refused = store
        .create_session(ada.id, new_session("s5", clock), None)
        .await;
    assert!(
        matches!(
            refused,
            Err(StoreError::Conflict {
                code: "user_disabled",
                ..
            })
        ),
        "{refused:?}"
    );
    store
        .update_user(
            ada.id,
            UserPatch {
                disabled: Some(false),
                ..Default::default()
            },
            &admin_actor(),
        )
        .await
        .expect("enable");

    // Pruning: past the absolute expiry, or idle since before the cut-off.
    let mut short = new_session("short", clock);
    short.expires_at = Timestamp::from_datetime(clock.now().0 + Duration::hours(1));
    store
        .create_session(ada.id, short, None)
        .await
        .expect("short");
    store
        .create_session(ada.id, new_session("idle", clock), None)
        .await
        .expect("idle");
    clock.advance(Duration::hours(2));
    store
        .create_session(ada.id, new_session("fresh", clock), None)
        .await
        .expect("fresh");
    let pruned = store
        .prune_sessions(Timestamp::from_datetime(
            clock.now().0 - Duration::minutes(30),
        ))
        .await
        .expect("prune");
    assert_eq!(pruned, 2);
    assert!(store.find_session("fresh").await.unwrap().is_some());
    assert!(store.find_session("idle").await.unwrap().is_none());

    // A password change ends the other sessions.
    store
        .create_session(ada.id, new_session("other", clock), None)
        .await
        .expect("other");
    let changed = store
        .set_password(
            ada.id,
            "$argon2id$new",
            Some("fresh"),
            &Actor::user("ada@example.com"),
        )
        .await
        .expect("password");
    assert_eq!(changed.password_changed_at, clock.now());
    assert!(store.find_session("fresh").await.unwrap().is_some());
    assert!(store.find_session("other").await.unwrap().is_none());
    let last = store.list_events(0, 1000).await.unwrap().pop().unwrap();
    assert_eq!(last.kind, "user.password_changed");
    assert!(!last.data.to_string().contains("argon2"));
}

pub async fn login_lock(store: &dyn Store, clock: &ManualClock) {
    let ada = store
        .create_user(new_user("ada@example.com", Role::Viewer), &Actor::cli())
        .await
        .expect("create");
    for i in 1..LOCK_AFTER_FAILURES {
        let user = store.record_failed_login(ada.id).await.expect("fail");
        assert_eq!(user.failed_logins, i);
        assert!(user.locked_until.is_none(), "not locked after {i}");
    }
    let locked = store.record_failed_login(ada.id).await.expect("fail");
    assert_eq!(
        locked.locked_until,
        Some(Timestamp::from_datetime(clock.now().0 + LOCK_FOR)),
        "locked at the {LOCK_AFTER_FAILURES}th failure"
    );
    assert!(locked.locked_at(clock.now()));
    // Stored: a fresh read (another process) sees the lock.
    let read = store
        .find_user_by_email("ada@example.com")
        .await
        .unwrap()
        .unwrap();
    assert!(read.user.locked_at(clock.now()));
    // More failures while locked keep the lock's end.
    clock.advance(Duration::minutes(1));
    let still = store.record_failed_login(ada.id).await.expect("fail");
    assert_eq!(still.locked_until, locked.locked_until);
    // The lock runs out; the next failure counts from one.
    clock.advance(LOCK_FOR);
    assert!(!store.get_user(ada.id).await.unwrap().locked_at(clock.now()));
    let after = store.record_failed_login(ada.id).await.expect("fail");
    assert_eq!(after.failed_logins, 1);
    assert!(after.locked_until.is_none());
    // A sign-in resets the count.
    store
        .create_session(ada.id, new_session("s", clock), None)
        .await
        .expect("sign in");
    assert_eq!(store.get_user(ada.id).await.unwrap().failed_logins, 0);
    // Failed attempts append no events: anonymous guessing must not flood the log.
    let events = store.list_events(0, 1000).await.unwrap();
    assert_eq!(events.len(), 2, "created and signed in only");
}

pub async fn setup_token_once(store: &dyn Store, clock: &ManualClock) {
    let expires = Timestamp::from_datetime(clock.now().0 + Duration::hours(24));
    store
        .create_setup_token("old-hash", expires)
        .await
        .expect("token");
    // A new token (a restart) replaces the old one.
    store
        .create_setup_token("hash", expires)
        .await
        .expect("token");
    let stale = store
        .complete_setup("old-hash", new_user("a@example.com", Role::Viewer))
        .await;
    assert!(
        matches!(stale, Err(StoreError::Invalid { .. })),
        "{stale:?}"
    );
    let admin = store
        .complete_setup("hash", new_user("A@example.com", Role::Viewer))
        .await
        .expect("setup");
    assert_eq!(
        admin.role,
        Role::Admin,
        "the first user is an admin whatever was asked"
    );
    assert_eq!(admin.email, "a@example.com");
    let again = store
        .complete_setup("hash", new_user("b@example.com", Role::Admin))
        .await;
    assert!(
        matches!(
            again,
            Err(StoreError::Conflict {
                code: "already_set_up",
                ..
            })
        ),
        "{again:?}"
    );
    let events = store.list_events(0, 10).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].actor, "user:a@example.com");

    // An expired token is refused (on a database that has no user yet: delete and retry).
    store
        .delete_user(admin.id, &Actor::cli())
        .await
        .expect("delete");
    store
        .create_setup_token(
            "late",
            Timestamp::from_datetime(clock.now().0 + Duration::hours(1)),
        )
        .await
        .expect("token");
    clock.advance(Duration::hours(2));
    let late = store
        .complete_setup("late", new_user("c@example.com", Role::Admin))
        .await;
    assert!(matches!(late, Err(StoreError::Invalid { .. })), "{late:?}");
    assert_eq!(store.count_users().await.unwrap(), 0);
}

pub async fn audit_log_newest_first(store: &dyn Store, clock: &ManualClock) {
    let ada = store
        .create_user(new_user("ada@example.com", Role::Admin), &Actor::cli())
        .await
        .expect("create");
    clock.advance(Duration::seconds(1));
    store
        .create_group(
            NewGroup {
                name: "API".into(),
                ..Default::default()
            },
            &Actor::user("ada@example.com"),
        )
        .await
        .expect("group");
    store
        .update_user(
            ada.id,
            UserPatch {
                name: Some("Ada L.".into()),
                ..Default::default()
            },
            &Actor::user("ada@example.com"),
        )
        .await
        .expect("update");
    let all = store
        .audit_log(AuditFilter::default(), 10)
        .await
        .expect("audit");
    let kinds: Vec<&str> = all.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["user.updated", "component_group.created", "user.created"]
    );
    let by_ada = store
        .audit_log(
            AuditFilter {
                actor: Some("user:ada@example.com".into()),
                ..Default::default()
            },
            10,
        )
        .await
        .expect("audit");
    assert_eq!(by_ada.len(), 2);
    let users = store
        .audit_log(
            AuditFilter {
                kind: Some("user.".into()),
                ..Default::default()
            },
            10,
        )
        .await
        .expect("audit");
    assert_eq!(users.len(), 2);
    let exact = store
        .audit_log(
            AuditFilter {
                kind: Some("user.created".into()),
                ..Default::default()
            },
            10,
        )
        .await
        .expect("audit");
    assert_eq!(exact.len(), 1);
    let page2 = store
        .audit_log(
            AuditFilter {
                before_seq: Some(all[0].seq),
                ..Default::default()
            },
            1,
        )
        .await
        .expect("audit");
    assert_eq!(page2.len(), 1);
    assert_eq!(page2[0].seq, all[1].seq);
}
