//! What the admin UI tests share: the test users' password, form bodies, the CSRF field of a
//! page, cookies set by a response, and users made straight in the store.

use pharos::account::{password, NewUser, Role};
use pharos::events::Actor;
use pharos::store::Store;
use reqwest::header::{HeaderMap, SET_COOKIE};

/// Every test user's password.
pub const PASSWORD: &str = "correct horse battery staple";

/// An `application/x-www-form-urlencoded` body.
pub fn form(pairs: &[(&str, &str)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

/// The first `<input name="csrf" value="...">` of a page.
pub fn csrf_of(html: &str) -> String {
    let marker = r#"name="csrf" value=""#;
    let start = html
        .find(marker)
        .unwrap_or_else(|| panic!("no csrf field in {html}"))
        + marker.len();
    html[start..].split('"').next().unwrap().to_string()
}

/// The value `name` is set to by the response's `Set-Cookie` headers, with the whole header.
pub fn set_cookie_with_header(headers: &HeaderMap, name: &str) -> Option<(String, String)> {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| {
            let value = v[name.len() + 1..]
                .split(';')
                .next()
                .unwrap_or("")
                .to_string();
            (value, v.to_string())
        })
}

/// The value `name` is set to by the response's `Set-Cookie` headers.
pub fn set_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    set_cookie_with_header(headers, name).map(|(value, _)| value)
}

/// A user with [`PASSWORD`], named after the part of `email` before the `@`.
pub async fn add_user(store: &dyn Store, email: &str, role: Role) {
    let hash = password::hash(PASSWORD).await.expect("hash");
    store
        .create_user(
            NewUser {
                email: email.into(),
                name: email.split('@').next().unwrap().into(),
                role,
                password_hash: hash,
            },
            &Actor::cli(),
        )
        .await
        .expect("create user");
}

/// A browser for the admin UI over plain HTTP: redirects are not followed, so each step sees
/// exactly what a browser would be told, and cookies are kept as a browser keeps them (set,
/// replaced, removed by an empty value or `Max-Age=0`): the session, the pre-login CSRF token,
/// the pending TOTP sign-in.
pub struct AdminBrowser {
    pub base: String,
    http: reqwest::Client,
    cookies: std::collections::BTreeMap<String, String>,
    /// The signed-in session's CSRF token (set by [`AdminBrowser::sign_in`]).
    pub csrf: String,
}

/// What one request answered: its status, headers and body.
pub type Answer = (reqwest::StatusCode, HeaderMap, String);

impl AdminBrowser {
    pub fn new(base: &str) -> AdminBrowser {
        AdminBrowser {
            base: base.trim_end_matches('/').to_string(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("a test HTTP client"),
            cookies: Default::default(),
            csrf: String::new(),
        }
    }

    /// A browser signed in as `email` with [`PASSWORD`] (no TOTP), holding its CSRF token.
    pub async fn signed_in(base: &str, email: &str) -> AdminBrowser {
        let mut b = AdminBrowser::new(base);
        b.sign_in(email).await;
        b
    }

    /// Signs in with [`PASSWORD`] and reads the session's CSRF token; panics unless it works
    /// in one step (no TOTP).
    pub async fn sign_in(&mut self, email: &str) {
        let (status, headers, page) = self.sign_in_with(email, PASSWORD).await;
        assert_eq!(
            status,
            reqwest::StatusCode::SEE_OTHER,
            "sign in as {email}: {page}"
        );
        assert!(
            self.cookie("pharos_session").is_some(),
            "a session: {headers:?}"
        );
        self.read_csrf().await;
    }

    /// Shows the sign-in form and posts it; returns what the post answered.
    pub async fn sign_in_with(&mut self, email: &str, password: &str) -> Answer {
        let (status, _, page) = self.get("/admin/login").await;
        assert_eq!(status, reqwest::StatusCode::OK, "{page}");
        let csrf = csrf_of(&page);
        self.post_raw(
            "/admin/login",
            form(&[("csrf", &csrf), ("email", email), ("password", password)]),
        )
        .await
    }

    /// Reads the session's CSRF token from the account page.
    pub async fn read_csrf(&mut self) {
        let (status, _, page) = self.get("/admin/account").await;
        assert_eq!(status, reqwest::StatusCode::OK, "{page}");
        self.csrf = csrf_of(&page);
    }

    /// The value of a cookie the browser holds.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies.get(name).map(String::as_str)
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep_cookies(&mut self, headers: &HeaderMap) {
        for value in headers.get_all(SET_COOKIE).iter() {
            let Ok(text) = value.to_str() else { continue };
            let Some((name, rest)) = text.split_once('=') else {
                continue;
            };
            let value = rest.split(';').next().unwrap_or("").to_string();
            if value.is_empty() || text.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_string(), value);
            }
        }
    }

    pub async fn get(&mut self, path: &str) -> Answer {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .header(reqwest::header::COOKIE, self.cookie_header())
            .send()
            .await
            .expect("GET");
        let (status, headers) = (resp.status(), resp.headers().clone());
        self.keep_cookies(&headers);
        (status, headers, resp.text().await.expect("body"))
    }

    /// Posts a urlencoded body as it is.
    pub async fn post_raw(&mut self, path: &str, body: String) -> Answer {
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .header(reqwest::header::COOKIE, self.cookie_header())
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body)
            .send()
            .await
            .expect("POST");
        let (status, headers) = (resp.status(), resp.headers().clone());
        self.keep_cookies(&headers);
        (status, headers, resp.text().await.expect("body"))
    }

    /// Posts a form with the session's CSRF token added.
    pub async fn post(&mut self, path: &str, pairs: &[(&str, &str)]) -> Answer {
        let csrf = self.csrf.clone();
        let mut all: Vec<(&str, &str)> = pairs.to_vec();
        all.push(("csrf", &csrf));
        self.post_raw(path, form(&all)).await
    }
}

/// The `Location` of a redirect.
pub fn location(headers: &HeaderMap) -> String {
    headers
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("no Location in {headers:?}"))
        .to_string()
}
