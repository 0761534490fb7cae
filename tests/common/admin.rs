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
