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
        must_change_password: false,
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

/// After `reset_password` the user must choose a new password, the temporary one signs in
/// once, and `set_password` clears both; every session of the user ends at the reset.
pub async fn temporary_password_signs_in_once(store: &dyn Store, clock: &ManualClock) {
    let vic = store
        .create_user(new_user("vic@example.com", Role::Viewer), &Actor::cli())
        .await
        .expect("create");
    assert!(!vic.must_change_password, "a new user chose nothing yet");
    store
        .create_session(vic.id, new_session("before", clock), None)
        .await
        .expect("a session before the reset");
    let seq = store.last_event_seq().await.expect("seq");
    clock.advance(Duration::seconds(5));
    let reset = store
        .reset_password(vic.id, "$argon2id$temporary", &admin_actor())
        .await
        .expect("reset");
    assert!(reset.must_change_password);
    assert_eq!(reset.password_changed_at, clock.now());
    assert!(
        store.find_session("before").await.unwrap().is_none(),
        "a reset signs the user out everywhere"
    );
    let stored = store
        .find_user_by_email("vic@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.password_hash, "$argon2id$temporary");
    assert!(stored.user.must_change_password);
    let events = events_since(store, seq).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].kind, "user.password_changed");
    assert_eq!(events[0].actor, "user:root@example.com");
    assert_eq!(events[0].data["must_change_password"], true);
    assert!(!events[0].data.to_string().contains("temporary"));

    // The first sign-in spends the temporary password; a second is refused.
    store
        .create_session(vic.id, new_session("first", clock), None)
        .await
        .expect("the one sign-in");
    let (_, user) = store.find_session("first").await.unwrap().unwrap();
    assert!(user.user.must_change_password, "the session is gated");
    let again = store
        .create_session(vic.id, new_session("second", clock), None)
        .await;
    assert!(
        matches!(
            again,
            Err(StoreError::Conflict {
                code: "temporary_password_used",
                ..
            })
        ),
        "{again:?}"
    );
    assert!(store.find_session("second").await.unwrap().is_none());

    // Choosing a password (from the gated session) clears the flag and keeps that session.
    let chosen = store
        .set_password(
            vic.id,
            "$argon2id$chosen",
            Some("first"),
            &Actor::user("vic@example.com"),
        )
        .await
        .expect("choose");
    assert!(!chosen.must_change_password);
    assert!(store.find_session("first").await.unwrap().is_some());
    store
        .create_session(vic.id, new_session("third", clock), None)
        .await
        .expect("signing in with a chosen password works as often as wanted");
    store
        .create_session(vic.id, new_session("fourth", clock), None)
        .await
        .expect("again");

    // A second reset starts over: one more sign-in with the new temporary password.
    store
        .reset_password(vic.id, "$argon2id$temporary2", &Actor::cli())
        .await
        .expect("reset again");
    store
        .create_session(vic.id, new_session("fifth", clock), None)
        .await
        .expect("the new temporary password signs in once");
}

/// A user's own sessions, newest first with their client, and the live count per user.
pub async fn session_lists_and_counts(store: &dyn Store, clock: &ManualClock) {
    let ada = store
        .create_user(new_user("ada@example.com", Role::Admin), &Actor::cli())
        .await
        .expect("ada");
    let bob = store
        .create_user(new_user("bob@example.com", Role::Responder), &Actor::cli())
        .await
        .expect("bob");
    let _nobody = store
        .create_user(new_user("cy@example.com", Role::Viewer), &Actor::cli())
        .await
        .expect("cy");
    let mut laptop = new_session("ada-laptop", clock);
    laptop.user_agent = Some("Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0".into());
    laptop.client_ip = Some("192.0.2.10".into());
    store
        .create_session(ada.id, laptop, None)
        .await
        .expect("laptop");
    clock.advance(Duration::seconds(10));
    let mut phone = new_session("ada-phone", clock);
    phone.user_agent = None;
    phone.client_ip = None;
    store
        .create_session(ada.id, phone, None)
        .await
        .expect("phone");
    let mut short = new_session("ada-short", clock);
    short.expires_at = Timestamp::from_datetime(clock.now().0 + Duration::minutes(5));
    store
        .create_session(ada.id, short, None)
        .await
        .expect("short");
    store
        .create_session(bob.id, new_session("bob-1", clock), None)
        .await
        .expect("bob");

    let listed = store.list_user_sessions(ada.id).await.expect("list");
    let ids: Vec<&str> = listed.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids.len(), 3, "{ids:?}");
    assert_eq!(ids[2], "ada-laptop", "newest first: {ids:?}");
    assert!(listed.iter().all(|s| s.user_id == ada.id));
    let laptop = &listed[2];
    assert_eq!(laptop.client_ip.as_deref(), Some("192.0.2.10"));
    assert!(laptop
        .user_agent
        .as_deref()
        .is_some_and(|a| a.contains("Firefox")));
    assert!(listed
        .iter()
        .any(|s| s.id == "ada-phone" && s.user_agent.is_none()));
    assert!(store
        .list_user_sessions(UserId::new())
        .await
        .expect("nobody's")
        .is_empty());

    let counts = |cut: Timestamp| async move {
        let mut c = store.session_counts(cut).await.expect("counts");
        c.sort();
        c
    };
    let long_ago = Timestamp::from_datetime(clock.now().0 - Duration::hours(1));
    let mut expected = vec![(ada.id, 3), (bob.id, 1)];
    expected.sort();
    assert_eq!(
        counts(long_ago).await,
        expected,
        "users without one are absent"
    );

    // Past its absolute expiry a session no longer counts; idle ones neither.
    clock.advance(Duration::minutes(6));
    let mut expected = vec![(ada.id, 2), (bob.id, 1)];
    expected.sort();
    assert_eq!(counts(long_ago).await, expected);
    store
        .touch_session("ada-laptop", clock.now())
        .await
        .expect("touch");
    let recent = Timestamp::from_datetime(clock.now().0 - Duration::minutes(1));
    assert_eq!(
        counts(recent).await,
        vec![(ada.id, 1)],
        "only the laptop was used lately"
    );

    // Ending one session leaves the others.
    store
        .delete_session("ada-phone", &Actor::user("ada@example.com"))
        .await
        .expect("end");
    let left: Vec<String> = store
        .list_user_sessions(ada.id)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(left.len(), 2);
    assert!(!left.contains(&"ada-phone".to_string()));
}

/// No change leaves users without an active admin: demoting, deactivating or deleting the
/// last one is `Conflict("last_admin")` and changes nothing, until another admin exists.
pub async fn the_last_active_admin_stays(store: &dyn Store, _clock: &ManualClock) {
    let ada = store
        .create_user(new_user("ada@example.com", Role::Admin), &Actor::cli())
        .await
        .expect("ada");
    let bob = store
        .create_user(new_user("bob@example.com", Role::Admin), &Actor::cli())
        .await
        .expect("bob");
    let vic = store
        .create_user(new_user("vic@example.com", Role::Viewer), &Actor::cli())
        .await
        .expect("vic");
    let last_admin = |r: &StoreResult<_>| {
        matches!(
            r,
            Err(StoreError::Conflict {
                code: "last_admin",
                ..
            })
        )
    };
    let deactivate = UserPatch {
        disabled: Some(true),
        ..Default::default()
    };
    let demote = UserPatch {
        role: Some(Role::Responder),
        ..Default::default()
    };
    store
        .update_user(bob.id, deactivate.clone(), &admin_actor())
        .await
        .expect("bob may go: ada stays");
    let seq = store.last_event_seq().await.expect("seq");
    let r = store
        .update_user(ada.id, deactivate.clone(), &admin_actor())
        .await
        .map(|_| ());
    assert!(last_admin(&r), "{r:?}");
    let r = store
        .update_user(ada.id, demote.clone(), &admin_actor())
        .await
        .map(|_| ());
    assert!(last_admin(&r), "{r:?}");
    let r = store.delete_user(ada.id, &admin_actor()).await;
    assert!(last_admin(&r), "{r:?}");
    assert_eq!(
        store.last_event_seq().await.unwrap(),
        seq,
        "refusals change nothing"
    );
    let still = store.get_user(ada.id).await.unwrap();
    assert!(still.role == Role::Admin && !still.disabled);
    // Other changes of the last admin are fine.
    store
        .update_user(
            ada.id,
            UserPatch {
                name: Some("Ada L.".into()),
                ..Default::default()
            },
            &admin_actor(),
        )
        .await
        .expect("a rename");
    // A deactivated admin does not count; a viewer made admin does.
    store
        .update_user(
            vic.id,
            UserPatch {
                role: Some(Role::Admin),
                ..Default::default()
            },
            &admin_actor(),
        )
        .await
        .expect("promote vic");
    store
        .update_user(ada.id, demote, &admin_actor())
        .await
        .expect("ada may step down now");
    store
        .delete_user(bob.id, &admin_actor())
        .await
        .expect("a deactivated admin may be deleted");
    let r = store.delete_user(vic.id, &admin_actor()).await;
    assert!(last_admin(&r), "vic is the last one now: {r:?}");
}
