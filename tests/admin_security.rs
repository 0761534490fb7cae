//! The admin UI's security, against the real server: CSRF on every form, roles, sessions in
//! the database (surviving a restart of the real binary on SQLite, shared by two processes on
//! PostgreSQL), the stored account lock, cookie flags, the audit log naming the user, the
//! one-time set-up link, signing out (here and everywhere), idle expiry on a manual clock, and
//! the security headers of HTML responses.
//!
//! Requests go through [`AdminBrowser`], which follows no redirect and keeps cookies as a
//! browser does, so each test sees exactly what a browser would be told.

mod common;

use common::admin::{
    add_user, csrf_of, form, location, set_cookie_with_header, AdminBrowser, PASSWORD,
};

use common::app::{Db, TestApp};
use common::process::{pharos, run, Server};
use pharos::account::Role;
use pharos::clock::ManualClock;
use pharos::domain::Timestamp;
use pharos::store::Store;
use reqwest::StatusCode;
use std::sync::Arc;

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

async fn app_with_users() -> TestApp {
    let app = common::app::spawn(Db::Sqlite).await.expect("sqlite app");
    add_user(app.store.as_ref(), "ada@example.com", Role::Admin).await;
    add_user(app.store.as_ref(), "vic@example.com", Role::Viewer).await;
    app
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_without_the_right_csrf_token_or_origin_are_refused_and_change_nothing() {
    let app = app_with_users().await;
    let mut ada = AdminBrowser::signed_in(&app.base, "ada@example.com").await;
    let csrf = ada.csrf.clone();
    let before = app.store.list_tokens().await.unwrap().len();

    for body in [
        form(&[("name", "sneaky"), ("scope", "admin")]),
        form(&[
            ("csrf", "wrong-token"),
            ("name", "sneaky"),
            ("scope", "admin"),
        ]),
        form(&[("csrf", ""), ("name", "sneaky"), ("scope", "admin")]),
    ] {
        let (status, _, page) = ada.post_raw("/admin/tokens", body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{page}");
        assert!(page.contains("security token"), "{page}");
    }
    // The right token from another site.
    let (status, _, _) = ada
        .post_raw_with_origin(
            "/admin/tokens",
            "https://evil.example",
            form(&[("csrf", &csrf), ("name", "sneaky"), ("scope", "admin")]),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // No session at all: 403 for a POST.
    let mut stranger = AdminBrowser::new(&app.base);
    let (status, _, _) = stranger
        .post_raw(
            "/admin/tokens",
            form(&[("csrf", &csrf), ("name", "sneaky"), ("scope", "admin")]),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Sign-in itself needs its pre-login token.
    let (status, _, _) = stranger
        .post_raw(
            "/admin/login",
            form(&[("email", "ada@example.com"), ("password", PASSWORD)]),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.store.list_tokens().await.unwrap().len(),
        before,
        "nothing changed"
    );

    // With the token, the same form works, from this site.
    let (status, _, page) = ada
        .post_raw_with_origin(
            "/admin/tokens",
            &app.base,
            form(&[("csrf", &csrf), ("name", "deploy"), ("scope", "write")]),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("pharos_"), "the token is shown once");
    assert_eq!(app.store.list_tokens().await.unwrap().len(), before + 1);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_cannot_post() {
    let app = app_with_users().await;
    let mut vic = AdminBrowser::signed_in(&app.base, "vic@example.com").await;
    let users = app.store.count_users().await.unwrap();
    let tokens = app.store.list_tokens().await.unwrap().len();
    let (status, _, page) = vic
        .post(
            "/admin/users",
            &[("email", "x@example.com"), ("role", "admin")],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{page}");
    assert!(page.contains("only admins"), "{page}");
    let (status, _, _) = vic
        .post("/admin/tokens", &[("name", "mine"), ("scope", "admin")])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = vic.get("/admin/users").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, page) = vic.get("/admin").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        !page.contains("href=\"/admin/users\""),
        "the viewer's navigation has no Users"
    );
    assert_eq!(app.store.count_users().await.unwrap(), users);
    assert_eq!(app.store.list_tokens().await.unwrap().len(), tokens);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_wrong_passwords_lock_the_account_even_against_the_right_one() {
    let app = app_with_users().await;
    let mut guesser = AdminBrowser::new(&app.base);
    for i in 1..=10 {
        let (status, _, page) = guesser
            .sign_in_with("ada@example.com", "wrong password!")
            .await;
        if i < 10 {
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "attempt {i}");
            assert!(page.contains("wrong email or password"), "{page}");
        } else {
            assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "attempt {i}");
            assert!(page.contains("locked"), "{page}");
        }
    }
    let (status, _, page) = guesser.sign_in_with("ada@example.com", PASSWORD).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{page}");
    assert!(
        page.contains("locked") && page.contains("15 minutes"),
        "{page}"
    );
    assert!(guesser.cookie("pharos_session").is_none(), "no session");
    // Stored: another browser (another address or process) is refused too.
    let mut other = AdminBrowser::new(&app.base);
    assert_eq!(
        other.sign_in_with("ada@example.com", PASSWORD).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Unknown emails answer like wrong passwords.
    let (status, _, page) = other.sign_in_with("nobody@example.com", PASSWORD).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("wrong email or password"));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookies_carry_their_flags() {
    let app = app_with_users().await;
    let mut b = AdminBrowser::new(&app.base);
    let (_, headers, _) = b.sign_in_with("ada@example.com", PASSWORD).await;
    let (_, cookie) = set_cookie_with_header(&headers, "pharos_session").expect("session cookie");
    for flag in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(flag), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain http page: {cookie}");
    assert_eq!(
        b.cookie("pharos_session").map(str::len),
        Some(43),
        "256 random bits"
    );
    app.stop().await;

    let app = common::app::spawn_with_config(Db::Sqlite, "[admin]\nsecure_cookies = \"always\"\n")
        .await
        .expect("app");
    add_user(app.store.as_ref(), "ada@example.com", Role::Admin).await;
    let mut b = AdminBrowser::new(&app.base);
    let (_, headers, _) = b.sign_in_with("ada@example.com", PASSWORD).await;
    let (_, cookie) = set_cookie_with_header(&headers, "pharos_session").expect("session cookie");
    assert!(cookie.contains("; Secure"), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_log_names_the_user_of_each_change() {
    let app = app_with_users().await;
    let mut ada = AdminBrowser::signed_in(&app.base, "ada@example.com").await;
    let (status, _, _) = ada
        .post("/admin/tokens", &[("name", "ci"), ("scope", "read")])
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = ada
        .post(
            "/admin/users",
            &[("email", "rob@example.com"), ("role", "responder")],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    ada.post_see_other("/admin/tokens/revoke", &[("name", "ci")])
        .await;

    let events = app.store.list_events(0, 1000).await.unwrap();
    for kind in [
        "token.created",
        "user.created",
        "token.revoked",
        "user.signed_in",
    ] {
        let e = events
            .iter()
            .rev()
            .find(|e| e.kind == kind)
            .unwrap_or_else(|| panic!("no {kind}"));
        assert_eq!(e.actor, "user:ada@example.com", "{kind}");
    }
    let (status, _, page) = ada.get("/admin/audit?actor=user:ada@example.com").await;
    assert_eq!(status, StatusCode::OK);
    for kind in [
        "token.created",
        "user.created",
        "token.revoked",
        "user.signed_in",
    ] {
        assert!(page.contains(kind), "{kind} missing from {page}");
    }
    assert_eq!(
        page.matches("<td class=\"actor\">user:ada@example.com</td>")
            .count(),
        4,
        "{page}"
    );
    let (_, _, page) = ada.get("/admin/audit?kind=token.").await;
    assert!(page.contains("token.created") && !page.contains("user.created"));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_out_here_and_everywhere() {
    let app = app_with_users().await;
    let mut phone = AdminBrowser::signed_in(&app.base, "ada@example.com").await;
    let mut laptop = AdminBrowser::signed_in(&app.base, "ada@example.com").await;
    let mut tablet = AdminBrowser::signed_in(&app.base, "ada@example.com").await;

    // Sign out on the tablet: only the tablet's session ends.
    let old = tablet
        .cookie("pharos_session")
        .expect("a session")
        .to_string();
    let (status, headers, _) = tablet.post("/admin/logout", &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, cleared) = set_cookie_with_header(&headers, "pharos_session").expect("cleared");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    tablet.insert_cookie("pharos_session", &old);
    let (status, headers, _) = tablet.get("/admin/account").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location(&headers), "/admin/login?next=%2Fadmin%2Faccount");
    assert_eq!(phone.get("/admin/account").await.0, StatusCode::OK);

    // Everywhere from the phone: the laptop is signed out too.
    phone.post_see_other("/admin/logout-everywhere", &[]).await;
    assert_eq!(laptop.get("/admin/account").await.0, StatusCode::SEE_OTHER);
    assert_eq!(laptop.get("/admin").await.0, StatusCode::SEE_OTHER);
    let events = app.store.list_events(0, 1000).await.unwrap();
    assert_eq!(
        events
            .iter()
            .filter(|e| e.kind == "user.signed_out")
            .count(),
        2
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_session_ends_and_a_used_one_does_not() {
    let start = Timestamp::parse("2026-03-02T09:00:00.000000Z").unwrap();
    let clock = Arc::new(ManualClock::new(start));
    let app = common::app::spawn_with(Db::Sqlite, clock.clone())
        .await
        .expect("app");
    add_user(app.store.as_ref(), "ada@example.com", Role::Admin).await;
    let mut used = AdminBrowser::signed_in(&app.base, "ada@example.com").await;
    let mut idle = AdminBrowser::signed_in(&app.base, "ada@example.com").await;
    // Used every 6 hours for a day: it stays; the other is idle past 12 hours.
    for _ in 0..4 {
        clock.advance(chrono::Duration::hours(6));
        assert_eq!(used.get("/admin/account").await.0, StatusCode::OK);
    }
    let (status, headers, _) = idle.get("/admin/account").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(location(&headers).starts_with("/admin/login"));
    // And a POST from the idle session is refused.
    let (status, _, _) = idle
        .post_raw("/admin/logout-everywhere", form(&[("csrf", "x")]))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // The absolute expiry (14 days) ends even a used session.
    for _ in 0..28 {
        clock.advance(chrono::Duration::hours(12));
        used.get("/admin/account").await;
    }
    assert_eq!(used.get("/admin/account").await.0, StatusCode::SEE_OTHER);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn html_responses_carry_the_security_headers_except_embed_framing() {
    let app = app_with_users().await;
    let c = client();
    for path in ["/", "/admin/login", "/history"] {
        let resp = c.get(app.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
        let h = resp.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"),
            "{path}: {csp}"
        );
        assert!(
            csp.contains("script-src 'self'") && csp.contains("object-src 'none'"),
            "{csp}"
        );
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "same-origin", "{path}");
    }
    let resp = c.get(app.url("/admin/login")).send().await.unwrap();
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let resp = c.get(app.url("/embed")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers().get("x-frame-options").is_none(),
        "the widget is frameable"
    );
    let csp = resp.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors *"), "{csp}");
    // The admin stylesheet is served like the public one.
    let resp = c
        .get(app.url(&pharos::http::admin::stylesheet_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("immutable"));
    app.stop().await;
}

/// The set-up link from a server's log.
fn setup_link(server: &Server) -> String {
    let log = server.stderr_so_far();
    let start = log
        .find("/admin/setup?token=")
        .unwrap_or_else(|| panic!("no set-up link in {log}"));
    let token: String = log[start + "/admin/setup?token=".len()..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    format!("/admin/setup?token={token}")
}

fn serve(dir: &std::path::Path, database_url: Option<&str>) -> Server {
    let mut cmd = pharos(dir);
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir", "data"]);
    if let Some(url) = database_url {
        cmd.args(["--database-url", url]);
    }
    Server::start(&mut cmd)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_setup_link_works_once_and_a_session_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(dir.path(), None);
    let link = setup_link(&server);
    assert!(server
        .stderr_so_far()
        .contains("no admin account yet: open http://"));
    let mut b = AdminBrowser::new(&server.base);
    let page = b.get_ok(&link).await;
    let csrf = csrf_of(&page);
    let token = link.split('=').nth(1).unwrap();
    let body = |password2: &str| {
        form(&[
            ("csrf", &csrf),
            ("token", token),
            ("email", "Root@Example.com"),
            ("name", "Root"),
            ("password", PASSWORD),
            ("password2", password2),
        ])
    };
    let (status, _, page) = b.post_raw("/admin/setup", body("different password")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("differ"), "{page}");
    let (status, headers, _) = b.post_raw("/admin/setup", body(PASSWORD)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location(&headers), "/admin");
    let (status, _, page) = b.get("/admin").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Dashboard") && page.contains("Root"));
    // Spent: the link refuses now.
    let mut again = AdminBrowser::new(&server.base);
    let (status, _, page) = again.get(&link).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(page.contains("An account exists already"));
    let (status, _, _) = again.post_raw("/admin/setup", body(PASSWORD)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "no pre-login cookie yet");
    let csrf2 = csrf_of(&again.get("/admin/login").await.2);
    let (status, _, _) = again
        .post_raw(
            "/admin/setup",
            form(&[
                ("csrf", &csrf2),
                ("token", token),
                ("email", "x@example.com"),
                ("name", "X"),
                ("password", PASSWORD),
                ("password2", PASSWORD),
            ]),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);

    // Killed and restarted: the same cookie still works, and no new set-up link is logged.
    server.kill();
    let server = serve(dir.path(), None);
    assert!(!server.stderr_so_far().contains("no admin account yet"));
    b.base = server.base.clone();
    let page = b.get_ok("/admin/account").await;
    assert!(page.contains("root@example.com"));
    server.terminate();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_made_on_one_process_works_on_another_on_postgresql() {
    let Some(url) = common::postgres::fresh_database_url().await else {
        eprintln!("skipping: PHAROS_TEST_POSTGRES_URL is not set");
        return;
    };
    let dir_a = tempfile::tempdir().unwrap();
    let dir_b = tempfile::tempdir().unwrap();
    let out = run(pharos(dir_a.path())
        .args([
            "user",
            "create",
            "--admin",
            "ops@example.com",
            "--database-url",
            &url,
        ])
        .env("PHAROS_USER_PASSWORD", PASSWORD));
    out.assert_success("user create");
    assert!(
        out.stdout.is_empty(),
        "a given password is not printed: {out}"
    );
    let a = serve(dir_a.path(), Some(&url));
    let b = serve(dir_b.path(), Some(&url));
    let mut browser = AdminBrowser::new(&a.base);
    let (status, _, _) = browser.sign_in_with("ops@example.com", PASSWORD).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    browser.base = b.base.clone();
    browser.read_csrf().await;
    let (status, _, _) = browser
        .post("/admin/tokens", &[("name", "from-b"), ("scope", "read")])
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the CSRF token is the session's, on any process"
    );
    // Signing out on B ends the session on A.
    let cookie = browser
        .cookie("pharos_session")
        .expect("a session")
        .to_string();
    browser.post("/admin/logout", &[]).await;
    let mut stale = AdminBrowser::new(&a.base);
    stale.insert_cookie("pharos_session", &cookie);
    assert_eq!(stale.get("/admin/account").await.0, StatusCode::SEE_OTHER);
    a.terminate();
    b.terminate();
    common::postgres::drop_database(&url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_user_cli_creates_lists_and_resets() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(pharos(dir.path()).args([
        "user",
        "create",
        "--admin",
        "ada@example.com",
        "--data-dir",
        "data",
    ]));
    out.assert_success("user create");
    let generated = out.stdout.trim().to_string();
    assert_eq!(
        generated.len(),
        20,
        "a generated password, printed once: {out}"
    );
    let out =
        run(pharos(dir.path()).args(["user", "create", "ADA@example.com", "--data-dir", "data"]));
    out.assert_failure("a second ada");
    assert_eq!(out.stderr.trim().lines().count(), 1, "{out}");
    assert!(out.stderr.contains("already exists"), "{out}");
    let out = run(pharos(dir.path())
        .args([
            "user",
            "create",
            "--role",
            "viewer",
            "vic@example.com",
            "--data-dir",
            "data",
        ])
        .env("PHAROS_USER_PASSWORD", "short"));
    out.assert_failure("a short password");
    assert!(out.stderr.contains("at least 12"), "{out}");
    let out = run(pharos(dir.path()).args(["user", "list", "--data-dir", "data"]));
    out.assert_success("list");
    assert!(
        out.stdout.contains("ada@example.com") && out.stdout.contains("admin"),
        "{out}"
    );
    let out = run(pharos(dir.path()).args([
        "user",
        "reset-password",
        "nobody@example.com",
        "--data-dir",
        "data",
    ]));
    out.assert_failure("unknown user");
    let out = run(pharos(dir.path()).args([
        "user",
        "reset-password",
        "ada@example.com",
        "--data-dir",
        "data",
    ]));
    out.assert_success("reset");
    let fresh = out.stdout.trim().to_string();
    assert_ne!(fresh, generated);

    let server = serve(dir.path(), None);
    let mut b = AdminBrowser::new(&server.base);
    assert_eq!(
        b.sign_in_with("ada@example.com", &generated).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        b.sign_in_with("ada@example.com", &fresh).await.0,
        StatusCode::SEE_OTHER
    );
    server.terminate();
}

/// Fails `n` sign-ins with unknown addresses (no account gets locked), each from a new
/// browser that `browser` makes; asserts each was refused as a wrong password.
async fn fail_sign_ins(n: u32, mut browser: impl FnMut(u32) -> AdminBrowser) {
    for i in 1..=n {
        let (status, _, page) = browser(i)
            .sign_in_with(&format!("nobody{i}@example.com"), "wrong password!")
            .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "attempt {i}: {page}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_each_client_has_its_own_sign_in_limit() {
    let app = common::app::spawn_with_config(
        Db::Sqlite,
        "[http]\ntrusted_proxies = [\"127.0.0.1\", \"::1\"]\n",
    )
    .await
    .expect("sqlite app");
    add_user(app.store.as_ref(), "ada@example.com", Role::Admin).await;
    let limit = pharos::http::admin::limits::MAX_FAILURES;

    // One guesser behind the proxy uses up its own address's failures...
    let guesser = "203.0.113.7";
    fail_sign_ins(limit, |_| AdminBrowser::forwarded_for(&app.base, guesser)).await;
    let (status, headers, page) = AdminBrowser::forwarded_for(&app.base, guesser)
        .sign_in_with("ada@example.com", PASSWORD)
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{page}");
    assert!(page.contains("from your address"), "{page}");
    assert!(headers.contains_key("retry-after"));
    // ...even when it writes its own X-Forwarded-For: the proxy appends the address it saw.
    let (status, _, _) = AdminBrowser::forwarded_for(&app.base, &format!("192.0.2.1, {guesser}"))
        .sign_in_with("ada@example.com", PASSWORD)
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);

    // ...while another client behind the same proxy signs in, and its session is listed
    // under its own address.
    let mut ada = AdminBrowser::forwarded_for(&app.base, "198.51.100.9");
    ada.sign_in("ada@example.com").await;
    let account = ada.get_ok("/admin/account").await;
    assert!(account.contains("198.51.100.9"), "{account}");
    assert!(!account.contains("127.0.0.1"), "{account}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_trusted_proxies_a_forwarded_address_changes_nothing() {
    let app = app_with_users().await;
    let limit = pharos::http::admin::limits::MAX_FAILURES;
    // A guesser that claims a new address each time is still one client.
    fail_sign_ins(limit, |i| {
        AdminBrowser::forwarded_for(&app.base, &format!("203.0.113.{i}"))
    })
    .await;
    let (status, _, page) = AdminBrowser::forwarded_for(&app.base, "198.51.100.9")
        .sign_in_with("ada@example.com", PASSWORD)
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{page}");
    app.stop().await;
}
