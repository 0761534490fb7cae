//! `[admin]`: the web UI's sessions, read into [`AdminSettings`].
//!
//! As for the rest of the file, every problem is reported with its key, the value and what is
//! expected. This module only reads and validates; `http::admin` uses the settings.

use super::{int_setting, UnknownKeys};
use serde::Deserialize;
use std::time::Duration;

/// When the session cookie carries `Secure` (sent over HTTPS only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecureCookies {
    /// When `page.url` is https.
    Auto,
    Always,
    /// Plain HTTP on a trusted network, or a TLS proxy that rewrites nothing.
    Never,
}

/// `[admin]`, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct AdminSettings {
    pub secure_cookies: SecureCookies,
    /// A session unused this long ends.
    pub session_idle: Duration,
    /// A session ends this long after sign-in, used or not.
    pub session_max: Duration,
}

impl Default for AdminSettings {
    fn default() -> Self {
        AdminSettings {
            secure_cookies: SecureCookies::Auto,
            session_idle: Duration::from_secs(12 * 3600),
            session_max: Duration::from_secs(14 * 86_400),
        }
    }
}

impl AdminSettings {
    /// Whether cookies get `Secure` for a page served at `page_url`.
    pub fn secure_for(&self, page_url: &str) -> bool {
        match self.secure_cookies {
            SecureCookies::Always => true,
            SecureCookies::Never => false,
            SecureCookies::Auto => page_url.starts_with("https://"),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct AdminSection {
    secure_cookies: Option<String>,
    session_idle_minutes: Option<i64>,
    session_max_days: Option<i64>,
    #[serde(flatten)]
    pub(super) unknown: UnknownKeys,
}

/// Reads and validates `[admin]`.
pub(super) fn settings(
    problems: &mut Vec<String>,
    section: AdminSection,
    env: &dyn Fn(&str) -> Option<String>,
) -> AdminSettings {
    let secure_text = env("PHAROS_ADMIN_SECURE_COOKIES").or(section.secure_cookies);
    let secure_cookies = match secure_text.as_deref().map(str::trim) {
        None | Some("auto") => SecureCookies::Auto,
        Some("always") => SecureCookies::Always,
        Some("never") => SecureCookies::Never,
        Some(other) => {
            problems.push(format!(
                "admin.secure_cookies: `{other}` is not a choice; expected auto (Secure when page.url is https), always or never"
            ));
            SecureCookies::Auto
        }
    };
    let idle_minutes = int_setting(
        problems,
        "admin.session_idle_minutes",
        env("PHAROS_ADMIN_SESSION_IDLE_MINUTES"),
        section.session_idle_minutes,
        12 * 60,
        5..=60 * 24 * 30,
    );
    let max_days = int_setting(
        problems,
        "admin.session_max_days",
        env("PHAROS_ADMIN_SESSION_MAX_DAYS"),
        section.session_max_days,
        14,
        1..=365,
    );
    AdminSettings {
        secure_cookies,
        session_idle: Duration::from_secs(u64::from(idle_minutes) * 60),
        session_max: Duration::from_secs(u64::from(max_days) * 86_400),
    }
}
