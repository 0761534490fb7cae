//! What the admin UI tests share: the test users' password, form bodies, the CSRF field of a
//! page, cookies set by a response, users made straight in the store, and [`AdminBrowser`],
//! the one cookie-keeping HTTP client every admin UI test signs in with.

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
                must_change_password: false,
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
    /// The server's address; a test may point it at another process on the same database.
    pub base: String,
    http: reqwest::Client,
    cookies: std::collections::BTreeMap<String, String>,
    /// The signed-in session's CSRF token (set by [`AdminBrowser::sign_in`]).
    pub csrf: String,
}

/// What one request answered: its status, headers and body.
pub type Answer = (reqwest::StatusCode, HeaderMap, String);

impl AdminBrowser {
    /// A browser that sends no `User-Agent`.
    pub fn new(base: &str) -> AdminBrowser {
        AdminBrowser::with_client(base, reqwest::Client::builder())
    }

    /// A browser behind a reverse proxy: every request carries `X-Forwarded-For: hops`, as
    /// the proxy would add it.
    pub fn forwarded_for(base: &str, hops: &str) -> AdminBrowser {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("x-forwarded-for", hops.parse().expect("a header value"));
        AdminBrowser::with_client(base, reqwest::Client::builder().default_headers(headers))
    }

    /// A browser that names itself `agent` (the account page describes sessions by it).
    pub fn with_user_agent(base: &str, agent: &str) -> AdminBrowser {
        AdminBrowser::with_client(base, reqwest::Client::builder().user_agent(agent))
    }

    fn with_client(base: &str, client: reqwest::ClientBuilder) -> AdminBrowser {
        AdminBrowser {
            base: base.trim_end_matches('/').to_string(),
            http: client
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
    /// in one step (no TOTP) and lands on the dashboard.
    pub async fn sign_in(&mut self, email: &str) {
        let (status, headers, page) = self.sign_in_with(email, PASSWORD).await;
        assert_eq!(
            status,
            reqwest::StatusCode::SEE_OTHER,
            "sign in as {email}: {page}"
        );
        assert_eq!(location(&headers), "/admin", "sign in as {email}");
        assert!(
            self.cookie("pharos_session").is_some(),
            "a session: {headers:?}"
        );
        self.read_csrf().await;
    }

    /// Shows the sign-in form and posts it; returns what the post answered.
    pub async fn sign_in_with(&mut self, email: &str, password: &str) -> Answer {
        let page = self.get_ok("/admin/login").await;
        let csrf = csrf_of(&page);
        self.post_raw(
            "/admin/login",
            form(&[("csrf", &csrf), ("email", email), ("password", password)]),
        )
        .await
    }

    /// Reads the session's CSRF token from the account page.
    pub async fn read_csrf(&mut self) {
        self.read_csrf_from("/admin/account").await;
    }

    /// Reads the session's CSRF token from the form at `path`: for a session that may not
    /// open the account page (one that must choose a new password first).
    pub async fn read_csrf_from(&mut self, path: &str) {
        let page = self.get_ok(path).await;
        self.csrf = csrf_of(&page);
    }

    /// Asserts that the browser's session no longer works: the dashboard sends it to sign in.
    pub async fn assert_signed_out(&mut self) {
        let (status, headers, page) = self.get("/admin").await;
        assert_eq!(status, reqwest::StatusCode::SEE_OTHER, "signed out: {page}");
        let to = location(&headers);
        assert!(to.starts_with("/admin/login"), "signed out: {to}");
    }

    /// The value of a cookie the browser holds.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies.get(name).map(String::as_str)
    }

    /// Holds `name=value` as if a response had set it: to replay a cookie kept from before.
    pub fn insert_cookie(&mut self, name: &str, value: &str) {
        self.cookies.insert(name.to_string(), value.to_string());
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

    /// The page at `path`; panics unless it answers 200.
    pub async fn get_ok(&mut self, path: &str) -> String {
        let (status, _, page) = self.get(path).await;
        assert_eq!(status, reqwest::StatusCode::OK, "{path}: {page}");
        page
    }

    /// Posts a urlencoded body as it is.
    pub async fn post_raw(&mut self, path: &str, body: String) -> Answer {
        self.send_post(path, body, None).await
    }

    /// Posts a urlencoded body as it is, saying it comes from a page of `origin`.
    pub async fn post_raw_with_origin(&mut self, path: &str, origin: &str, body: String) -> Answer {
        self.send_post(path, body, Some(origin)).await
    }

    async fn send_post(&mut self, path: &str, body: String, origin: Option<&str>) -> Answer {
        let mut request = self
            .http
            .post(format!("{}{path}", self.base))
            .header(reqwest::header::COOKIE, self.cookie_header())
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body);
        if let Some(origin) = origin {
            request = request.header(reqwest::header::ORIGIN, origin);
        }
        let resp = request.send().await.expect("POST");
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

    /// Posts a form with the session's CSRF token added; panics unless it answers 303, and
    /// returns where it redirects to.
    pub async fn post_see_other(&mut self, path: &str, pairs: &[(&str, &str)]) -> String {
        let (status, headers, page) = self.post(path, pairs).await;
        assert_eq!(status, reqwest::StatusCode::SEE_OTHER, "{path}: {page}");
        location(&headers)
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
