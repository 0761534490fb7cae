//! Accounts of the web UI: users and their roles, passwords, the TOTP second factor and the
//! secrets behind session cookies.
//!
//! This module owns the rules (who may do what, what a valid email, name or password is) and
//! the cryptography (argon2id hashing in [`password`], RFC 6238 codes in [`totp`], random
//! session secrets here). It performs no I/O: the store keeps users and sessions
//! (`store/sql/accounts.rs`), the HTTP layer (`http/admin/`) signs people in. A password hash
//! or a TOTP secret never leaves through [`User`]'s serialisation: they live only in
//! [`StoredUser`], which is not serialisable.

pub mod password;
pub mod totp;

use crate::domain::ids::UserId;
use crate::domain::Timestamp;
use base64::Engine;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;

/// Wrong passwords (or codes) in a row that lock an account.
pub const LOCK_AFTER_FAILURES: i64 = 10;
/// How long a locked account refuses every sign-in, the right password included.
pub const LOCK_FOR: chrono::Duration = chrono::Duration::minutes(15);
/// The longest email address accepted (RFC 5321's path limit).
pub const EMAIL_MAX: usize = 254;
/// The longest display name, in characters.
pub const NAME_MAX: usize = 100;
/// The longest user agent kept with a session, in characters.
pub const USER_AGENT_MAX: usize = 200;

/// What a user may do. Admins configure everything (users, tokens, settings); responders
/// run incidents and maintenances; viewers only look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Responder,
    Viewer,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Admin, Role::Responder, Role::Viewer];

    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Responder => "responder",
            Role::Viewer => "viewer",
        }
    }

    /// May post incidents, updates, maintenances and component statuses.
    pub fn can_respond(&self) -> bool {
        matches!(self, Role::Admin | Role::Responder)
    }

    /// May manage users, tokens and the configuration, and read the audit log.
    pub fn is_admin(&self) -> bool {
        matches!(self, Role::Admin)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "admin" => Ok(Role::Admin),
            "responder" => Ok(Role::Responder),
            "viewer" => Ok(Role::Viewer),
            other => Err(format!(
                "`{other}` is not a role; expected admin, responder or viewer"
            )),
        }
    }
}

/// A user as shown and as carried by `user.*` events: never the password hash or the TOTP
/// secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    /// Lower case.
    pub email: String,
    pub name: String,
    pub role: Role,
    /// Whether the TOTP second factor is on.
    pub totp_enabled: bool,
    pub disabled: bool,
    /// Wrong passwords or codes in a row.
    pub failed_logins: i64,
    /// Sign-in is refused until then.
    pub locked_until: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub password_changed_at: Timestamp,
    /// The password was set by someone else (an admin's reset): the user must choose a new
    /// one before reaching any other admin page. Absent from events written before it existed.
    #[serde(default)]
    pub must_change_password: bool,
}

impl User {
    /// Whether the account refuses sign-in at `now` because of failed attempts.
    pub fn locked_at(&self, now: Timestamp) -> bool {
        self.locked_until.is_some_and(|until| until > now)
    }
}

/// A user with its credentials, as the store holds it. Deliberately not serialisable.
#[derive(Clone)]
pub struct StoredUser {
    pub user: User,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Base32; `Some` when TOTP is on.
    pub totp_secret: Option<String>,
}

impl fmt::Debug for StoredUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredUser")
            .field("user", &self.user)
            .field("password_hash", &"***")
            .field("totp_secret", &self.totp_secret.as_ref().map(|_| "***"))
            .finish()
    }
}

/// A user to create, validated ([`NewUser::validate`]) and with its password already hashed.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: String,
    pub name: String,
    pub role: Role,
    pub password_hash: String,
    /// The password was made for the user by someone else (an admin in the web UI, a
    /// generated one from the CLI): it signs in once, and the user must then choose their
    /// own before reaching any other page, as after a reset.
    pub must_change_password: bool,
}

impl NewUser {
    /// Folds the email to lower case and trims the name; reports the first problem.
    pub fn validate(mut self) -> Result<NewUser, String> {
        self.email = normalize_email(&self.email)?;
        self.name = validate_name(&self.name)?;
        Ok(self)
    }
}

/// Changes to a user; `None` keeps a field.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    pub name: Option<String>,
    pub role: Option<Role>,
    /// Disabling also ends the user's sessions.
    pub disabled: Option<bool>,
    /// `Some(None)` turns TOTP off; `Some(Some(secret))` turns it on.
    pub totp_secret: Option<Option<String>>,
}

/// A signed-in browser, as stored. `id` is the SHA-256 hex of the cookie's secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: String,
    pub user_id: UserId,
    pub csrf: String,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub expires_at: Timestamp,
    pub user_agent: Option<String>,
    pub client_ip: Option<String>,
}

/// A session to store at sign-in.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// SHA-256 hex of the cookie secret (see [`SessionSecret`]).
    pub id: String,
    pub csrf: String,
    pub expires_at: Timestamp,
    pub user_agent: Option<String>,
    pub client_ip: Option<String>,
}

/// The secret a session cookie carries and the id it is stored under.
pub struct SessionSecret {
    /// 256 random bits, base64url: the cookie value. Never stored, never logged.
    pub cookie: String,
    /// SHA-256 hex of `cookie`: the session's id in the database.
    pub id: String,
}

impl SessionSecret {
    pub fn generate() -> SessionSecret {
        let cookie = random_token();
        SessionSecret {
            id: hash_secret(&cookie),
            cookie,
        }
    }
}

/// 256 random bits as base64url without padding (43 characters): session secrets, CSRF
/// tokens, setup tokens.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// SHA-256 hex of a high-entropy secret (a fast hash suffices: the secret is not guessable).
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Keeps at most [`USER_AGENT_MAX`] characters of a user agent, without control characters.
pub fn truncate_user_agent(agent: &str) -> String {
    agent
        .chars()
        .filter(|c| !c.is_control())
        .take(USER_AGENT_MAX)
        .collect()
}

/// A user agent in a few words for the list of sessions: "Firefox on Linux", "Safari on
/// iOS", "curl". The browser is found by the tokens browsers really send, most specific first
/// (Edge and Opera also say "Chrome", Chrome also says "Safari"); an agent none of them match
/// is shown as its first 40 characters, so nothing the client sent is lost entirely.
pub fn describe_user_agent(agent: &str) -> String {
    let agent = agent.trim();
    if agent.is_empty() {
        return "unknown client".into();
    }
    const BROWSERS: &[(&str, &str)] = &[
        ("Edg/", "Edge"),
        ("EdgA/", "Edge"),
        ("OPR/", "Opera"),
        ("SamsungBrowser/", "Samsung Internet"),
        ("Firefox/", "Firefox"),
        ("FxiOS/", "Firefox"),
        ("CriOS/", "Chrome"),
        ("Chromium/", "Chromium"),
        ("HeadlessChrome/", "Headless Chrome"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
        ("curl/", "curl"),
        ("Wget/", "Wget"),
        ("python-requests/", "Python requests"),
        ("reqwest/", "reqwest"),
    ];
    const SYSTEMS: &[(&str, &str)] = &[
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("Android", "Android"),
        ("CrOS", "ChromeOS"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("Macintosh", "macOS"),
        ("Linux", "Linux"),
    ];
    let browser = BROWSERS
        .iter()
        .find(|(token, _)| agent.contains(token))
        .map(|(_, name)| *name);
    let system = SYSTEMS
        .iter()
        .find(|(token, _)| agent.contains(token))
        .map(|(_, name)| *name);
    match (browser, system) {
        (Some(b), Some(s)) => format!("{b} on {s}"),
        (Some(b), None) => b.to_string(),
        (None, Some(s)) => format!("a browser on {s}"),
        (None, None) => {
            let short: String = agent.chars().take(40).collect();
            if agent.chars().count() > 40 {
                format!("{short}…")
            } else {
                short
            }
        }
    }
}

/// Trims and lower-cases an email address and checks its shape: one `@`, a non-empty local
/// part, a domain with a dot, no spaces or control characters, at most [`EMAIL_MAX`] bytes.
pub fn normalize_email(email: &str) -> Result<String, String> {
    let email = email.trim().to_lowercase();
    let bad = || {
        format!("email: `{email}` is not an email address; expected one such as ops@example.com")
    };
    if email.is_empty() || email.len() > EMAIL_MAX {
        return Err(format!(
            "email: give an address of 3 to {EMAIL_MAX} characters such as ops@example.com"
        ));
    }
    let Some((local, domain)) = email.split_once('@') else {
        return Err(bad());
    };
    let clean = |s: &str| !s.is_empty() && !s.chars().any(|c| c.is_whitespace() || c.is_control());
    if !clean(local)
        || !clean(domain)
        || domain.contains('@')
        || !domain.contains('.')
        || domain.starts_with('.')
        || domain.ends_with('.')
    {
        return Err(bad());
    }
    Ok(email)
}

/// Trims a display name and checks it is 1 to [`NAME_MAX`] characters without control
/// characters.
pub fn validate_name(name: &str) -> Result<String, String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > NAME_MAX {
        return Err(format!("name: must be 1 to {NAME_MAX} characters"));
    }
    if name.chars().any(char::is_control) {
        return Err("name: must not contain control characters".into());
    }
    Ok(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles() {
        assert!(Role::Admin.is_admin() && Role::Admin.can_respond());
        assert!(!Role::Responder.is_admin() && Role::Responder.can_respond());
        assert!(!Role::Viewer.is_admin() && !Role::Viewer.can_respond());
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert!("root".parse::<Role>().is_err());
    }

    #[test]
    fn emails_are_folded_and_checked() {
        assert_eq!(
            normalize_email("  Ops@Example.COM ").as_deref(),
            Ok("ops@example.com")
        );
        for bad in [
            "",
            "ops",
            "ops@",
            "@example.com",
            "a b@example.com",
            "ops@localhost",
            "a@b@c.d",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn user_agents_are_described_in_a_few_words() {
        let cases = [
            ("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", "Firefox on Linux"),
            ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0", "Edge on Windows"),
            ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", "Safari on iOS"),
            ("Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36", "Chrome on Android"),
            ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15", "Safari on macOS"),
            ("curl/8.8.0", "curl"),
            ("", "unknown client"),
            ("my-own-tool", "my-own-tool"),
        ];
        for (agent, expected) in cases {
            assert_eq!(describe_user_agent(agent), expected, "{agent}");
        }
        let long = "x".repeat(60);
        assert_eq!(describe_user_agent(&long).chars().count(), 41);
    }

    #[test]
    fn session_secrets_hash_to_their_id() {
        let s = SessionSecret::generate();
        assert_eq!(s.cookie.len(), 43);
        assert_eq!(s.id, hash_secret(&s.cookie));
        assert_ne!(SessionSecret::generate().cookie, s.cookie);
    }

    #[test]
    fn stored_user_debug_hides_secrets() {
        let now = Timestamp::parse("2026-01-01T00:00:00.000000Z").unwrap();
        let user = User {
            id: UserId::new(),
            email: "a@b.co".into(),
            name: "A".into(),
            role: Role::Viewer,
            totp_enabled: true,
            disabled: false,
            failed_logins: 0,
            locked_until: None,
            created_at: now,
            updated_at: now,
            password_changed_at: now,
            must_change_password: false,
        };
        let text = format!(
            "{:?}",
            StoredUser {
                user,
                password_hash: "$argon2id$secret".into(),
                totp_secret: Some("JBSWY3DP".into()),
            }
        );
        assert!(!text.contains("argon2id$secret") && !text.contains("JBSWY3DP"));
    }
}
