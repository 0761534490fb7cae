//! Account management in the admin UI, against the real server on 127.0.0.1 over SQLite and
//! PostgreSQL (`both_backends!`): the forced password change after an admin reset (UI and
//! `pharos user reset-password`, the real binary) and after a first password an admin or the
//! CLI generated; deactivation ending sessions at once and refusing sign-in (UI and CLI);
//! role changes taking effect on the next request; deletion keeping the audit log readable;
//! the last active admin; the list of one's sessions (two clients, one ended); and the
//! escalation form's channels picked by name. Each part checks that the audit log names the
//! acting user.
//!
//! Requests go through [`AdminBrowser`], which follows no redirect and keeps cookies as a
//! browser does, so each test sees exactly what a browser would be told.

mod common;

use common::admin::{add_user, csrf_of, form, location, AdminBrowser, PASSWORD};
use common::app::TestApp;
use common::process::{pharos, run};
use pharos::account::Role;
use pharos::store::{AuditFilter, Store};
use reqwest::StatusCode;
use serde_json::json;

const ADA: &str = "ada@example.com";
const ROB: &str = "rob@example.com";
const VIC: &str = "vic@example.com";
const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";

async fn user_id(app: &TestApp, email: &str) -> String {
    app.store
        .find_user_by_email(email)
        .await
        .expect("find")
        .unwrap_or_else(|| panic!("{email} exists"))
        .user
        .id
        .to_string()
}

/// The actors of the newest events of `kind`, newest first.
async fn actors_of(app: &TestApp, kind: &str) -> Vec<String> {
    app.store
        .audit_log(
            AuditFilter {
                kind: Some(kind.into()),
                ..Default::default()
            },
            50,
        )
        .await
        .expect("audit log")
        .into_iter()
        .map(|e| e.actor)
        .collect()
}

/// The text between `start` and the next `end` after it.
fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let len = text[from..].find(end)?;
    Some(&text[from..from + len])
}

/// Asserts the user is gated: pages go to the password form, changes are refused.
async fn assert_gated(b: &mut AdminBrowser) {
    for path in ["/admin", "/admin/incidents", "/admin/account"] {
        let (status, headers, page) = b.get(path).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{path}: {page}");
        assert_eq!(location(&headers), "/admin/account/password", "{path}");
    }
    let page = b.get_ok("/admin/account/password").await;
    assert!(page.contains("Choose a new password"), "{page}");
    assert!(
        !page.contains(r#"name="current""#),
        "the temporary password is not asked again: {page}"
    );
    let csrf = csrf_of(&page);
    let (status, _, page) = b
        .post_raw("/admin/account/totp/start", form(&[("csrf", &csrf)]))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{page}");
    assert!(page.contains("choose a new one"), "{page}");
}

/// Chooses `new` on the forced form: refused while it is the temporary one.
async fn choose_password(b: &mut AdminBrowser, temporary: &str, new: &str) {
    b.read_csrf_from("/admin/account/password").await;
    let (status, _, page) = b
        .post(
            "/admin/account/password",
            &[("new", temporary), ("new2", temporary)],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(page.contains("temporary password"), "{page}");
    let to = b
        .post_see_other("/admin/account/password", &[("new", new), ("new2", new)])
        .await;
    assert_eq!(to, "/admin/account?done=password_changed");
    let (status, _, page) = b.get("/admin").await;
    assert_eq!(status, StatusCode::OK, "free to go on: {page}");
    let (_, headers, _) = b.get("/admin/account/password").await;
    assert_eq!(
        location(&headers),
        "/admin/account",
        "nothing left to choose"
    );
}

/// The temporary password signed in once: a second sign-in with it is refused, clearly.
async fn assert_spent(app: &TestApp, email: &str, temporary: &str) {
    let (status, _, page) = AdminBrowser::new(&app.base)
        .sign_in_with(email, temporary)
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{page}");
    assert!(page.contains("already been used to sign in once"), "{page}");
}

// ---- forced password change -----------------------------------------------------------

async fn forced_change_after_ui_reset_body(app: TestApp) {
    add_user(app.store.as_ref(), ADA, Role::Admin).await;
    add_user(app.store.as_ref(), ROB, Role::Responder).await;
    let rob_id = user_id(&app, ROB).await;
    let mut ada = AdminBrowser::signed_in(&app.base, ADA).await;
    let mut rob_before = AdminBrowser::signed_in(&app.base, ROB).await;

    // An admin cannot reset their own password here (Account asks for the current one).
    let ada_id = user_id(&app, ADA).await;
    let (status, _, page) = ada
        .post(&format!("/admin/users/{ada_id}/reset-password"), &[])
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{page}");

    let (status, _, page) = ada
        .post(&format!("/admin/users/{rob_id}/reset-password"), &[])
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("signs in once"), "{page}");
    let temporary = between(&page, r#"id="issued-password">"#, "<")
        .expect("the temporary password is shown once")
        .to_string();

    // Rob's open session ended at the reset; the old password no longer works.
    rob_before.assert_signed_out().await;
    let (status, _, _) = AdminBrowser::new(&app.base)
        .sign_in_with(ROB, PASSWORD)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // The users screen says a new password is awaited.
    let (_, _, users) = ada.get("/admin/users").await;
    assert!(users.contains("must choose a new password"), "{users}");

    // The temporary password signs in, to the password form only, and only once.
    let mut rob = AdminBrowser::new(&app.base);
    let (status, headers, page) = rob.sign_in_with(ROB, &temporary).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    assert_eq!(location(&headers), "/admin");
    assert_gated(&mut rob).await;
    assert_spent(&app, ROB, &temporary).await;
    choose_password(&mut rob, &temporary, "a brand new passphrase of rob").await;
    let (status, _, _) = AdminBrowser::new(&app.base)
        .sign_in_with(ROB, "a brand new passphrase of rob")
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);

    // The audit log names who reset and who chose.
    assert_eq!(
        actors_of(&app, "user.password_changed").await,
        ["user:rob@example.com", "user:ada@example.com"]
    );
    let (_, _, audit) = ada.get("/admin/audit?kind=user.password_changed").await;
    assert!(
        audit.contains("user:ada@example.com") && audit.contains("user:rob@example.com"),
        "{audit}"
    );
    app.stop().await;
}
both_backends!(
    forced_change_after_ui_reset,
    forced_change_after_ui_reset_body
);

async fn forced_change_after_cli_reset_body(app: TestApp) {
    add_user(app.store.as_ref(), ADA, Role::Admin).await;
    add_user(app.store.as_ref(), VIC, Role::Viewer).await;
    let mut vic_before = AdminBrowser::signed_in(&app.base, VIC).await;
    const TEMPORARY: &str = "temporary from the command line";
    let out = cli(&app, &["user", "reset-password", VIC], Some(TEMPORARY)).await;
    out.assert_success("user reset-password");
    assert!(out.stderr.contains("choose a new password"), "{out}");

    vic_before.assert_signed_out().await;
    let mut vic = AdminBrowser::new(&app.base);
    let (status, _, page) = vic.sign_in_with(VIC, TEMPORARY).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    assert_gated(&mut vic).await;
    assert_spent(&app, VIC, TEMPORARY).await;
    choose_password(&mut vic, TEMPORARY, "vic chose this one herself").await;
    assert_eq!(
        actors_of(&app, "user.password_changed").await,
        ["user:vic@example.com", "cli"]
    );
    app.stop().await;
}
both_backends!(
    forced_change_after_cli_reset,
    forced_change_after_cli_reset_body
);

/// Runs `pharos ARGS --database-url <the app's>` with `password` in PHAROS_USER_PASSWORD
/// (unset when `None`).
async fn cli(app: &TestApp, args: &[&str], password: Option<&str>) -> common::process::Output {
    let url = app.database_url.clone();
    let dir = app.dir.path().to_path_buf();
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let password = password.map(str::to_string);
    tokio::task::spawn_blocking(move || {
        let mut cmd = pharos(&dir);
        cmd.args(&args)
            .args(["--database-url", &url, "--data-dir", "cli-data"])
            .env_remove("PHAROS_USER_PASSWORD");
        if let Some(p) = password {
            cmd.env("PHAROS_USER_PASSWORD", p);
        }
        run(&mut cmd)
    })
    .await
    .expect("the CLI ran")
}

// ---- first passwords ------------------------------------------------------------------

async fn a_first_password_from_the_ui_is_replaced_body(app: TestApp) {
    add_user(app.store.as_ref(), ADA, Role::Admin).await;
    let mut ada = AdminBrowser::signed_in(&app.base, ADA).await;
    let (status, _, page) = ada
        .post(
            "/admin/users",
            &[("email", ROB), ("name", "Rob"), ("role", "responder")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("signs in once"), "{page}");
    let first = between(&page, r#"id="issued-password">"#, "<")
        .expect("the first password is shown once")
        .to_string();
    let (_, _, users) = ada.get("/admin/users").await;
    assert!(users.contains("must choose a new password"), "{users}");

    // The admin saw it, so it only opens the form where Rob chooses his own.
    let mut rob = AdminBrowser::new(&app.base);
    let (status, headers, page) = rob.sign_in_with(ROB, &first).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    assert_eq!(location(&headers), "/admin");
    assert_gated(&mut rob).await;
    assert_spent(&app, ROB, &first).await;
    choose_password(&mut rob, &first, "rob chose this passphrase").await;
    let (status, _, _) = AdminBrowser::new(&app.base)
        .sign_in_with(ROB, "rob chose this passphrase")
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    app.stop().await;
}
both_backends!(
    a_first_password_from_the_ui_is_replaced,
    a_first_password_from_the_ui_is_replaced_body
);

async fn users_managed_from_the_command_line_body(app: TestApp) {
    add_user(app.store.as_ref(), ADA, Role::Admin).await;

    // A generated password is printed once and must be replaced at the first sign-in.
    let out = cli(&app, &["user", "create", ROB, "--role", "responder"], None).await;
    out.assert_success("user create");
    assert!(out.stderr.contains("they choose their own"), "{out}");
    let first = out.stdout.trim().to_string();
    assert!(first.len() >= 16, "a strong generated password: {out}");
    let mut rob = AdminBrowser::new(&app.base);
    let (status, _, page) = rob.sign_in_with(ROB, &first).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    assert_gated(&mut rob).await;
    choose_password(&mut rob, &first, "rob chose this passphrase").await;

    // One from PHAROS_USER_PASSWORD is the operator's own choice: no forced change.
    let out = cli(
        &app,
        &["user", "create", VIC],
        Some("vic's scripted passphrase"),
    )
    .await;
    out.assert_success("user create with PHAROS_USER_PASSWORD");
    assert!(out.stdout.trim().is_empty(), "nothing printed: {out}");
    let mut vic = AdminBrowser::new(&app.base);
    let (status, _, page) = vic.sign_in_with(VIC, "vic's scripted passphrase").await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    vic.get_ok("/admin").await;

    // Deactivation ends Rob's session at once and refuses his sign-in; saying it twice is
    // not an error; reactivation lets him in again.
    let out = cli(&app, &["user", "deactivate", ROB], None).await;
    out.assert_success("user deactivate");
    assert!(out.stderr.contains("signed out everywhere"), "{out}");
    rob.assert_signed_out().await;
    let (status, _, page) = AdminBrowser::new(&app.base)
        .sign_in_with(ROB, "rob chose this passphrase")
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{page}");
    let out = cli(&app, &["user", "deactivate", ROB], None).await;
    out.assert_success("user deactivate, again");
    assert!(out.stderr.contains("already deactivated"), "{out}");
    let out = cli(&app, &["user", "list"], None).await;
    out.assert_success("user list");
    let rob_line = out
        .stdout
        .lines()
        .find(|l| l.starts_with(ROB))
        .unwrap_or_else(|| panic!("rob is listed: {out}"));
    assert!(rob_line.contains("disabled"), "{rob_line}");
    cli(&app, &["user", "reactivate", ROB], None)
        .await
        .assert_success("user reactivate");
    let (status, _, page) = AdminBrowser::new(&app.base)
        .sign_in_with(ROB, "rob chose this passphrase")
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");

    // The only active admin can be neither deactivated nor deleted, and stays usable.
    for verb in ["deactivate", "delete"] {
        let out = cli(&app, &["user", verb, ADA], None).await;
        out.assert_failure(verb);
        assert!(out.stderr.contains("admin"), "{verb}: {out}");
        assert_eq!(out.stderr.lines().count(), 1, "one line: {out}");
    }
    AdminBrowser::signed_in(&app.base, ADA).await;

    // Deletion: gone, signed out, its audit entries kept under its name.
    let mut rob = AdminBrowser::new(&app.base);
    let (status, _, page) = rob.sign_in_with(ROB, "rob chose this passphrase").await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    let out = cli(&app, &["user", "delete", ROB], None).await;
    out.assert_success("user delete");
    assert!(app.store.find_user_by_email(ROB).await.unwrap().is_none());
    rob.assert_signed_out().await;
    assert_eq!(actors_of(&app, "user.deleted").await, ["cli"]);
    assert_eq!(actors_of(&app, "user.updated").await, ["cli", "cli"]);

    // Unknown addresses are named, with where to look.
    let out = cli(&app, &["user", "delete", "nobody@example.com"], None).await;
    out.assert_failure("user delete of an unknown address");
    assert!(
        out.stderr.contains("nobody@example.com") && out.stderr.contains("pharos user list"),
        "{out}"
    );
    app.stop().await;
}
both_backends!(
    users_managed_from_the_command_line,
    users_managed_from_the_command_line_body
);

// ---- deactivation, roles, deletion ----------------------------------------------------

async fn deactivate_roles_and_delete_body(app: TestApp) {
    add_user(app.store.as_ref(), ADA, Role::Admin).await;
    add_user(app.store.as_ref(), ROB, Role::Responder).await;
    let rob_id = user_id(&app, ROB).await;
    let mut ada = AdminBrowser::signed_in(&app.base, ADA).await;
    let mut rob = AdminBrowser::signed_in(&app.base, ROB).await;

    // Deactivation: rob's open session stops working at once, sign-in is refused clearly.
    let to = ada
        .post_see_other(
            &format!("/admin/users/{rob_id}/disable"),
            &[("disabled", "true")],
        )
        .await;
    assert_eq!(to, "/admin/users?done=user_deactivated");
    rob.assert_signed_out().await;
    let (status, _, _) = rob.post("/admin/logout-everywhere", &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "the old session cannot post");
    let (status, _, page) = AdminBrowser::new(&app.base)
        .sign_in_with(ROB, PASSWORD)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{page}");
    assert!(page.contains("disabled"), "{page}");
    let (_, _, users) = ada.get("/admin/users").await;
    assert!(users.contains("deactivated"), "{users}");
    assert!(users.contains("Reactivate"), "{users}");
    assert_eq!(
        actors_of(&app, "user.updated").await,
        ["user:ada@example.com"]
    );

    // Reactivation: rob may sign in again.
    let to = ada
        .post_see_other(
            &format!("/admin/users/{rob_id}/disable"),
            &[("disabled", "false")],
        )
        .await;
    assert_eq!(to, "/admin/users?done=user_reactivated");
    let mut rob = AdminBrowser::signed_in(&app.base, ROB).await;

    // A role change takes effect on rob's next request.
    let (status, _, _) = rob.get("/admin/users").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a responder");
    ada.post_see_other(&format!("/admin/users/{rob_id}/role"), &[("role", "admin")])
        .await;
    let (status, _, _) = rob.get("/admin/users").await;
    assert_eq!(status, StatusCode::OK, "an admin now, in the same session");
    ada.post_see_other(
        &format!("/admin/users/{rob_id}/role"),
        &[("role", "viewer")],
    )
    .await;
    let (status, _, _) = rob.get("/admin/users").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a viewer now");
    let (status, _, page) = rob.post("/admin/account/totp/start", &[]).await;
    assert_eq!(status, StatusCode::OK, "own account still works: {page}");

    // Deletion asks first, then ends rob's session and account; the log keeps rob's name.
    let (status, _, page) = ada
        .post(&format!("/admin/users/{rob_id}/delete"), &[])
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Delete rob@example.com"), "{page}");
    assert!(app.store.find_user_by_email(ROB).await.unwrap().is_some());
    let to = ada
        .post_see_other(
            &format!("/admin/users/{rob_id}/delete"),
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(to, "/admin/users?done=user_deleted");
    assert!(app.store.find_user_by_email(ROB).await.unwrap().is_none());
    rob.assert_signed_out().await;
    let (status, _, _) = AdminBrowser::new(&app.base)
        .sign_in_with(ROB, PASSWORD)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        actors_of(&app, "user.deleted").await,
        ["user:ada@example.com"]
    );
    let (_, _, audit) = ada.get("/admin/audit?actor=user:rob@example.com").await;
    assert!(
        audit.contains("user.signed_in") && audit.contains("user:rob@example.com"),
        "a deleted user's past entries still name them: {audit}"
    );
    let (_, _, audit) = ada.get("/admin/audit?kind=user.deleted").await;
    assert!(
        audit.contains("rob@example.com") && audit.contains("user:ada@example.com"),
        "{audit}"
    );

    // Oneself: no deactivating, deleting or changing one's own role.
    let ada_id = user_id(&app, ADA).await;
    for (path, pairs) in [
        ("disable", vec![("disabled", "true")]),
        ("delete", vec![("confirm", "yes")]),
        ("role", vec![("role", "viewer")]),
    ] {
        let (status, _, page) = ada
            .post(&format!("/admin/users/{ada_id}/{path}"), &pairs)
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{path}: {page}");
        assert!(page.contains("yourself"), "{page}");
    }
    // And a viewer may do none of it.
    add_user(app.store.as_ref(), VIC, Role::Viewer).await;
    let mut vic = AdminBrowser::signed_in(&app.base, VIC).await;
    let (status, _, _) = vic
        .post(
            &format!("/admin/users/{ada_id}/disable"),
            &[("disabled", "true")],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    app.stop().await;
}
both_backends!(
    deactivate_roles_and_delete,
    deactivate_roles_and_delete_body
);

async fn the_last_active_admin_stays_body(app: TestApp) {
    add_user(app.store.as_ref(), ADA, Role::Admin).await;
    add_user(app.store.as_ref(), "bob@example.com", Role::Admin).await;
    add_user(app.store.as_ref(), VIC, Role::Viewer).await;
    let ada_id = user_id(&app, ADA).await;
    let bob_id = user_id(&app, "bob@example.com").await;
    let mut ada = AdminBrowser::signed_in(&app.base, ADA).await;
    let mut bob = AdminBrowser::signed_in(&app.base, "bob@example.com").await;

    // Two admins deactivate each other at the same moment: one wins, one admin is left.
    let ada_path = format!("/admin/users/{bob_id}/disable");
    let bob_path = format!("/admin/users/{ada_id}/disable");
    let disable = [("disabled", "true")];
    let ((a, _, a_page), (b, _, b_page)) =
        tokio::join!(ada.post(&ada_path, &disable), bob.post(&bob_path, &disable));
    let won = [a, b]
        .iter()
        .filter(|s| **s == StatusCode::SEE_OTHER)
        .count();
    assert_eq!(won, 1, "exactly one wins: {a} {a_page}\n{b} {b_page}");
    let (loser, page) = if a == StatusCode::SEE_OTHER {
        (b, b_page)
    } else {
        (a, a_page)
    };
    // The loser's request either saw the winner's change at the store (the last admin) or,
    // coming later, was no longer an admin's request at all.
    assert!(
        (loser == StatusCode::CONFLICT && page.contains("last active admin"))
            || loser == StatusCode::FORBIDDEN,
        "{loser}: {page}"
    );
    let active_admins = app
        .store
        .list_users()
        .await
        .unwrap()
        .into_iter()
        .filter(|u| u.role == Role::Admin && !u.disabled)
        .count();
    assert_eq!(active_admins, 1);
    app.stop().await;
}
both_backends!(
    the_last_active_admin_stays,
    the_last_active_admin_stays_body
);

// ---- where you are signed in ----------------------------------------------------------

/// The handle of the session in the account page's list whose entry contains `marker`.
fn session_handle(page: &str, marker: &str) -> String {
    let entry = page
        .split(r#"<li class="session">"#)
        .skip(1)
        .find(|entry| entry.contains(marker))
        .unwrap_or_else(|| panic!("no session entry with {marker}: {page}"));
    between(entry, r#"name="session" value=""#, "\"")
        .expect("a handle")
        .to_string()
}

async fn sessions_listed_and_ended_body(app: TestApp) {
    add_user(app.store.as_ref(), ADA, Role::Admin).await;
    let mut laptop = AdminBrowser::with_user_agent(&app.base, FIREFOX);
    laptop.sign_in(ADA).await;
    let mut phone = AdminBrowser::with_user_agent(&app.base, IPHONE);
    phone.sign_in(ADA).await;

    let page = laptop.get_ok("/admin/account").await;
    assert_eq!(page.matches(r#"<li class="session">"#).count(), 2, "{page}");
    assert!(page.contains("Firefox on Linux"), "{page}");
    assert!(page.contains("Safari on iOS"), "{page}");
    assert!(page.contains("from 127.0.0.1"), "{page}");
    let here = session_handle(&page, "(this browser)");
    let there = session_handle(&page, "Safari on iOS");
    assert_ne!(here, there);
    assert_eq!(
        session_handle(&page, "Firefox on Linux"),
        here,
        "the laptop is this browser"
    );
    let (_, _, users) = laptop.get("/admin/users").await;
    assert!(users.contains(r#"<td class="sessions">2</td>"#), "{users}");

    // Ending the phone's session signs the phone out; the laptop goes on.
    let to = laptop
        .post_see_other("/admin/account/sessions/end", &[("session", &there)])
        .await;
    assert_eq!(to, "/admin/account?done=session_ended");
    phone.assert_signed_out().await;
    let page = laptop.get_ok("/admin/account").await;
    assert_eq!(page.matches(r#"<li class="session">"#).count(), 1, "{page}");
    let (_, _, users) = laptop.get("/admin/users").await;
    assert!(users.contains(r#"<td class="sessions">1</td>"#), "{users}");
    assert_eq!(
        actors_of(&app, "user.signed_out").await,
        ["user:ada@example.com"]
    );

    // A handle that is not one of ours (ended, or made up) is a 404; nothing changes.
    for handle in [there.as_str(), "0123456789abcdef", "short"] {
        let (status, _, _) = laptop
            .post("/admin/account/sessions/end", &[("session", handle)])
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{handle}");
    }
    // Someone else's session cannot be ended from one's own page.
    add_user(app.store.as_ref(), VIC, Role::Viewer).await;
    let mut vic = AdminBrowser::signed_in(&app.base, VIC).await;
    let (_, _, vic_page) = vic.get("/admin/account").await;
    let vic_handle = session_handle(&vic_page, "(this browser)");
    let (status, _, _) = laptop
        .post("/admin/account/sessions/end", &[("session", &vic_handle)])
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(vic.get("/admin").await.0, StatusCode::OK);

    // Without the form's token nothing ends.
    let (status, _, _) = laptop
        .post_raw("/admin/account/sessions/end", form(&[("session", &here)]))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Ending this browser's own session is signing out here.
    let to = laptop
        .post_see_other("/admin/account/sessions/end", &[("session", &here)])
        .await;
    assert_eq!(to, "/admin/login?done=signed_out");
    assert!(
        laptop.cookie("pharos_session").is_none(),
        "the cookie is cleared"
    );
    app.stop().await;
}
both_backends!(sessions_listed_and_ended, sessions_listed_and_ended_body);

// ---- escalation policy form -----------------------------------------------------------

async fn channel(app: &TestApp, name: &str) -> String {
    let (status, body) = app
        .call_as(
            &app.admin_token,
            reqwest::Method::POST,
            "/api/v1/channels",
            Some(json!({
                "name": name,
                "target": {"type": "webhook", "url": "http://127.0.0.1:9/hook"},
                "events": ["incident.*"],
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_str().expect("id").to_string()
}

/// The value of the step's checkbox labelled `name` on the policy form.
fn checkbox_value(page: &str, step: usize, name: &str) -> String {
    let marker = format!(r#"name="step{step}_channel" value=""#);
    page.split(&marker)
        .skip(1)
        .find_map(|rest| {
            let (value, after) = rest.split_once('"')?;
            let label = between(after, ">", "</label>")?.trim();
            (label == name).then(|| value.to_string())
        })
        .unwrap_or_else(|| panic!("no step {step} checkbox labelled {name}: {page}"))
}

async fn escalation_form_body(app: TestApp) {
    add_user(app.store.as_ref(), ADA, Role::Admin).await;
    add_user(app.store.as_ref(), ROB, Role::Responder).await;
    add_user(app.store.as_ref(), VIC, Role::Viewer).await;
    let pager = channel(&app, "Pager").await;
    let chat = channel(&app, "Team chat").await;
    let (status, body) = app.post("/api/v1/components", json!({"name": "API"})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let api = body["id"].as_str().expect("id").to_string();

    // Every role has the navigation link; only admins get the form.
    for email in [ROB, VIC] {
        let mut b = AdminBrowser::signed_in(&app.base, email).await;
        let (_, _, dashboard) = b.get("/admin").await;
        assert!(
            dashboard.contains(r#"href="/admin/notifications/escalation""#),
            "{email}: {dashboard}"
        );
        let (status, _, page) = b.get("/admin/notifications/escalation").await;
        assert_eq!(status, StatusCode::OK, "{email}: {page}");
        assert!(
            page.contains("Policies") && !page.contains("New policy"),
            "{page}"
        );
    }
    let mut ada = AdminBrowser::signed_in(&app.base, ADA).await;
    let page = ada.get_ok("/admin/notifications/escalation").await;
    assert!(page.contains(r#"aria-current="page">Escalation"#), "{page}");
    assert!(page.contains("step10_channel"), "ten steps offered: {page}");
    assert!(!page.contains("step11_channel"), "{page}");
    assert!(page.contains("<details"), "later steps fold away: {page}");
    // Picked by the names shown.
    let step1 = checkbox_value(&page, 1, "Pager");
    let step2 = checkbox_value(&page, 2, "Team chat");
    let step7 = checkbox_value(&page, 7, "Pager");
    assert_eq!(
        (step1.as_str(), step2.as_str()),
        (pager.as_str(), chat.as_str())
    );

    // An unknown channel (deleted meanwhile, or made up) is refused; nothing is stored.
    let ghost = uuid_like();
    let (status, _, page) = ada
        .post(
            "/admin/notifications/escalation/policies",
            &[
                ("name", "Ghostly"),
                ("step1_channel", &ghost),
                ("step1_wait", "5"),
                ("components", &api),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(page.contains("there is no channel"), "{page}");
    assert!(
        page.contains(r#"value="Ghostly""#),
        "the typed name is kept: {page}"
    );
    assert!(app.store.list_policies().await.unwrap().is_empty());

    let created = ada
        .post_see_other(
            "/admin/notifications/escalation/policies",
            &[
                ("name", "API on call"),
                ("step1_channel", &step1),
                ("step1_wait", "5"),
                ("step2_channel", &step2),
                ("step2_channel", &step1),
                ("step2_wait", "10"),
                ("step7_channel", &step7),
                ("step7_wait", "15"),
                ("components", &api),
            ],
        )
        .await;
    assert!(created.ends_with("done=policy_created"), "{created}");
    let policies = app.store.list_policies().await.unwrap();
    assert_eq!(policies.len(), 1);
    let steps: Vec<(Vec<String>, u32)> = policies[0]
        .steps
        .iter()
        .map(|s| {
            let mut ids: Vec<String> = s.channel_ids.iter().map(|c| c.to_string()).collect();
            ids.sort();
            (ids, s.wait_seconds)
        })
        .collect();
    let mut both = vec![pager.clone(), chat.clone()];
    both.sort();
    assert_eq!(
        steps,
        vec![
            (vec![pager.clone()], 300),
            (both, 600),
            (vec![pager.clone()], 900)
        ],
        "empty rows between are left out"
    );
    assert_eq!(
        actors_of(&app, "escalation_policy.created").await,
        ["user:ada@example.com"]
    );

    // The policy's page ticks what is stored, by name, and opens the steps in use.
    let id = policies[0].id.to_string();
    let page = ada
        .get_ok(&format!("/admin/notifications/escalation/policies/{id}"))
        .await;
    assert!(
        page.contains(&format!(
            r#"name="step3_channel" value="{pager}" checked> Pager"#
        )),
        "{page}"
    );
    // A responder may not post the form.
    let mut rob = AdminBrowser::signed_in(&app.base, ROB).await;
    let (status, _, _) = rob
        .post(
            "/admin/notifications/escalation/policies",
            &[
                ("name", "Mine"),
                ("step1_channel", &pager),
                ("components", &api),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    app.stop().await;
}
both_backends!(escalation_form, escalation_form_body);

/// A well-formed id that names no channel.
fn uuid_like() -> String {
    "01890a5d-ac96-774b-bcce-b302099a8057".into()
}
