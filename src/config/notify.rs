//! `[notifications]`: how notifications are sent and retried, the SMTP relay email goes
//! through (`[notifications.smtp]`), and the out-of-band alarm on the pipeline's own failures
//! (`[notifications.alarm]`), read into [`NotifySettings`].
//!
//! As for the rest of the file, every problem is reported with its key, the value and what is
//! expected, and keys that are not settings are errors. The SMTP password may come from
//! `PHAROS_SMTP_PASSWORD` instead of the file, and is never shown: not in problems, not in
//! `Debug`.
//!
//! This module only reads and validates; the planner, the delivery worker and
//! [`crate::notify::channel::Sender`] use the settings.

use super::{int_setting, UnknownKeys};
use crate::notify::channel::Target;
use serde::Deserialize;
use std::fmt;
use std::time::Duration;

/// `[notifications]`, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct NotifySettings {
    /// Whether the planner and the delivery worker run.
    pub enabled: bool,
    /// How long one send may take, all included (connect, TLS, request, answer).
    pub send_timeout: Duration,
    /// Attempts before a delivery is dead-lettered.
    pub max_attempts: u32,
    /// The first retry's delay; it doubles per attempt (plus jitter) up to `retry_max`.
    pub retry_base: Duration,
    pub retry_max: Duration,
    /// How long a claimed delivery is held before another worker may take it. Longer than
    /// `send_timeout`, so a send in progress is never taken over.
    pub lease: Duration,
    /// Whether anonymous subscribers may point webhooks at private addresses.
    pub allow_private_targets: bool,
    /// Sends a second to subscribers by email, at most (0: no limit). Keeps a large fan-out
    /// within what the relay accepts and leaves the CPU to the page's readers meanwhile.
    pub subscriber_emails_per_second: u32,
    /// Sends a second to subscribers' webhooks, at most (0: no limit).
    pub subscriber_webhooks_per_second: u32,
    pub smtp: Option<SmtpSettings>,
    pub alarm: AlarmSettings,
}

impl Default for NotifySettings {
    fn default() -> Self {
        NotifySettings {
            enabled: true,
            send_timeout: Duration::from_secs(10),
            max_attempts: 8,
            retry_base: Duration::from_secs(30),
            retry_max: Duration::from_secs(3600),
            lease: Duration::from_secs(60),
            allow_private_targets: false,
            subscriber_emails_per_second: 1500,
            subscriber_webhooks_per_second: 1000,
            smtp: None,
            alarm: AlarmSettings::default(),
        }
    }
}

/// `[notifications.alarm]`: where the pipeline's own alarm goes and when it is raised.
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmSettings {
    /// None: the alarm is only logged and counted.
    pub target: Option<Target>,
    /// The oldest pending delivery older than this raises the alarm.
    pub after: Duration,
    /// This many failed attempts within `window` raise it too.
    pub failures: u32,
    pub window: Duration,
}

impl Default for AlarmSettings {
    fn default() -> Self {
        AlarmSettings {
            target: None,
            after: Duration::from_secs(300),
            failures: 5,
            window: Duration::from_secs(300),
        }
    }
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS, which is required (port 587).
    StartTls,
    /// TLS from the first byte, "SMTPS" (port 465).
    Tls,
    /// No encryption (port 25); only for a relay on the same host or network.
    None,
}

impl SmtpSecurity {
    pub fn as_str(&self) -> &'static str {
        match self {
            SmtpSecurity::StartTls => "starttls",
            SmtpSecurity::Tls => "tls",
            SmtpSecurity::None => "none",
        }
    }

    pub fn default_port(&self) -> u16 {
        match self {
            SmtpSecurity::StartTls => 587,
            SmtpSecurity::Tls => 465,
            SmtpSecurity::None => 25,
        }
    }
}

/// `[notifications.smtp]`, validated.
#[derive(Clone, PartialEq)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub username: Option<String>,
    /// Never logged: `Debug` shows `***`.
    pub password: Option<String>,
    /// The `From` mailbox, such as `Status <status@example.com>` (checked to parse).
    pub from: String,
    /// Connections kept open to the relay and reused.
    pub pool_size: u32,
    /// Accept any certificate (tests with self-signed certificates only).
    pub accept_invalid_certs: bool,
}

impl fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("from", &self.from)
            .field("pool_size", &self.pool_size)
            .field("accept_invalid_certs", &self.accept_invalid_certs)
            .finish()
    }
}

// ---- the file's shape ---------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
pub(super) struct NotificationsSection {
    enabled: Option<bool>,
    send_timeout_seconds: Option<i64>,
    max_attempts: Option<i64>,
    retry_base_seconds: Option<i64>,
    retry_max_seconds: Option<i64>,
    lease_seconds: Option<i64>,
    allow_private_targets: Option<bool>,
    subscriber_emails_per_second: Option<i64>,
    subscriber_webhooks_per_second: Option<i64>,
    smtp: Option<SmtpSection>,
    #[serde(default)]
    alarm: AlarmSection,
    #[serde(flatten)]
    unknown: UnknownKeys,
}

#[derive(Debug, Default, Deserialize)]
struct SmtpSection {
    host: Option<String>,
    port: Option<i64>,
    security: Option<String>,
    username: Option<String>,
    password: Option<String>,
    from: Option<String>,
    pool_size: Option<i64>,
    accept_invalid_certs: Option<bool>,
    #[serde(flatten)]
    unknown: UnknownKeys,
}

#[derive(Debug, Default, Deserialize)]
struct AlarmSection {
    /// Read as a value, then as a [`Target`], so its problem is reported with the others.
    target: Option<toml::Value>,
    after_seconds: Option<i64>,
    failures: Option<i64>,
    window_seconds: Option<i64>,
    #[serde(flatten)]
    unknown: UnknownKeys,
}

/// Every key of `[notifications]` that is not a setting, as a path.
pub(super) fn unknown_keys(section: &NotificationsSection) -> Vec<String> {
    let mut keys: Vec<String> = section
        .unknown
        .keys()
        .map(|k| format!("notifications.{k}"))
        .collect();
    if let Some(smtp) = &section.smtp {
        keys.extend(
            smtp.unknown
                .keys()
                .map(|k| format!("notifications.smtp.{k}")),
        );
    }
    keys.extend(
        section
            .alarm
            .unknown
            .keys()
            .map(|k| format!("notifications.alarm.{k}")),
    );
    keys
}

fn secs(value: u32) -> Duration {
    Duration::from_secs(u64::from(value))
}

fn bool_setting(
    problems: &mut Vec<String>,
    key: &str,
    env_value: Option<String>,
    file_value: Option<bool>,
    default: bool,
) -> bool {
    match env_value {
        Some(text) => match text.trim() {
            "true" | "1" | "yes" => true,
            "false" | "0" | "no" => false,
            other => {
                problems.push(format!(
                    "{key}: `{other}` is not a boolean; expected true or false"
                ));
                default
            }
        },
        None => file_value.unwrap_or(default),
    }
}

/// Reads and validates `[notifications]`.
pub(super) fn settings(
    problems: &mut Vec<String>,
    section: NotificationsSection,
    env: &dyn Fn(&str) -> Option<String>,
) -> NotifySettings {
    let defaults = NotifySettings::default();
    let enabled = bool_setting(
        problems,
        "notifications.enabled",
        env("PHAROS_NOTIFICATIONS_ENABLED"),
        section.enabled,
        defaults.enabled,
    );
    let send_timeout = int_setting(
        problems,
        "notifications.send_timeout_seconds",
        None,
        section.send_timeout_seconds,
        10,
        1..=300,
    );
    let max_attempts = int_setting(
        problems,
        "notifications.max_attempts",
        None,
        section.max_attempts,
        8,
        1..=100,
    );
    let retry_base = int_setting(
        problems,
        "notifications.retry_base_seconds",
        None,
        section.retry_base_seconds,
        30,
        1..=86_400,
    );
    let retry_max = int_setting(
        problems,
        "notifications.retry_max_seconds",
        None,
        section.retry_max_seconds,
        3600,
        1..=7 * 86_400,
    );
    if retry_max < retry_base {
        problems.push(format!(
            "notifications.retry_max_seconds: `{retry_max}` is below retry_base_seconds ({retry_base}); expected at least the base delay"
        ));
    }
    let lease = int_setting(
        problems,
        "notifications.lease_seconds",
        None,
        section.lease_seconds,
        60,
        5..=3600,
    );
    if lease <= send_timeout {
        problems.push(format!(
            "notifications.lease_seconds: `{lease}` is not longer than send_timeout_seconds ({send_timeout}); expected more, or another worker could take a delivery while it is being sent"
        ));
    }
    let allow_private_targets = section.allow_private_targets.unwrap_or(false);
    let subscriber_emails_per_second = int_setting(
        problems,
        "notifications.subscriber_emails_per_second",
        None,
        section.subscriber_emails_per_second,
        defaults.subscriber_emails_per_second,
        0..=1_000_000,
    );
    let subscriber_webhooks_per_second = int_setting(
        problems,
        "notifications.subscriber_webhooks_per_second",
        None,
        section.subscriber_webhooks_per_second,
        defaults.subscriber_webhooks_per_second,
        0..=1_000_000,
    );
    let smtp = section
        .smtp
        .map(|s| smtp_settings(problems, s, env("PHAROS_SMTP_PASSWORD")));
    let alarm = alarm_settings(problems, section.alarm);
    NotifySettings {
        enabled,
        send_timeout: secs(send_timeout),
        max_attempts,
        retry_base: secs(retry_base),
        retry_max: secs(retry_max),
        lease: secs(lease),
        allow_private_targets,
        subscriber_emails_per_second,
        subscriber_webhooks_per_second,
        smtp,
        alarm,
    }
}

fn smtp_settings(
    problems: &mut Vec<String>,
    s: SmtpSection,
    env_password: Option<String>,
) -> SmtpSettings {
    let at = "notifications.smtp";
    let host = s.host.unwrap_or_default();
    if host.trim().is_empty() {
        problems.push(format!(
            "{at}.host: missing; expected the relay's host name, such as smtp.example.com"
        ));
    } else if host
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '/')
        || host.len() > 253
    {
        problems.push(format!(
            "{at}.host: `{host}` is not a host name; expected a name or address such as smtp.example.com (no scheme, no port)"
        ));
    }
    let security = match s.security.as_deref() {
        None | Some("starttls") => SmtpSecurity::StartTls,
        Some("tls") => SmtpSecurity::Tls,
        Some("none") => SmtpSecurity::None,
        Some(other) => {
            problems.push(format!(
                "{at}.security: `{other}` is not a security mode; expected starttls (port 587), tls (port 465) or none (port 25)"
            ));
            SmtpSecurity::StartTls
        }
    };
    let port = int_setting(
        problems,
        &format!("{at}.port"),
        None,
        s.port,
        u32::from(security.default_port()),
        1..=65_535,
    ) as u16;
    let username = s.username.filter(|u| !u.is_empty());
    let password = env_password.or(s.password).filter(|p| !p.is_empty());
    match (&username, &password) {
        (None, Some(_)) => problems.push(format!(
            "{at}.password: set without a username; expected username too, or neither"
        )),
        (Some(_), None) => problems.push(format!(
            "{at}.username: set without a password; expected password (or PHAROS_SMTP_PASSWORD) too, or neither"
        )),
        _ => {}
    }
    if let Some(user) = &username {
        if user.chars().any(char::is_control) {
            problems.push(format!(
                "{at}.username: must not contain control characters"
            ));
        }
    }
    let from = s.from.unwrap_or_default();
    if from.trim().is_empty() {
        problems.push(format!(
            "{at}.from: missing; expected the sender, such as \"Status <status@example.com>\""
        ));
    } else if let Err(err) = from.parse::<lettre::message::Mailbox>() {
        problems.push(format!(
            "{at}.from: `{from}` is not a mailbox ({err}); expected an address such as status@example.com or \"Status <status@example.com>\""
        ));
    }
    let pool_size = int_setting(
        problems,
        &format!("{at}.pool_size"),
        None,
        s.pool_size,
        4,
        1..=100,
    );
    SmtpSettings {
        host: host.trim().to_string(),
        port,
        security,
        username,
        password,
        from: from.trim().to_string(),
        pool_size,
        accept_invalid_certs: s.accept_invalid_certs.unwrap_or(false),
    }
}

fn alarm_settings(problems: &mut Vec<String>, a: AlarmSection) -> AlarmSettings {
    let at = "notifications.alarm";
    let target = a.target.and_then(|value| match value.try_into::<Target>() {
        Ok(target) => match target.validate() {
            Ok(()) => Some(target),
            Err(err) => {
                problems.push(format!("{at}.target: {err}"));
                None
            }
        },
        Err(err) => {
            problems.push(format!(
                "{at}.target: {}; expected a table such as {{ type = \"webhook\", url = \"https://...\" }}",
                err.to_string().trim_end()
            ));
            None
        }
    });
    let after = int_setting(
        problems,
        &format!("{at}.after_seconds"),
        None,
        a.after_seconds,
        300,
        10..=86_400,
    );
    let failures = int_setting(
        problems,
        &format!("{at}.failures"),
        None,
        a.failures,
        5,
        1..=100_000,
    );
    let window = int_setting(
        problems,
        &format!("{at}.window_seconds"),
        None,
        a.window_seconds,
        300,
        10..=86_400,
    );
    AlarmSettings {
        target,
        after: secs(after),
        failures,
        window: secs(window),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{parse_file, resolve, Config, ConfigError, Overrides};
    use super::*;
    use std::path::Path;

    fn from_text(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let file = parse_file(text, Path::new("test.toml"))?;
        resolve(file, &Overrides::default(), env)
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn defaults_need_no_section() {
        let config = from_text("", &no_env).unwrap();
        assert_eq!(config.notifications, NotifySettings::default());
        let n = config.notifications;
        assert!(n.enabled);
        assert_eq!(n.send_timeout, Duration::from_secs(10));
        assert_eq!(n.max_attempts, 8);
        assert_eq!(n.lease, Duration::from_secs(60));
        assert!(n.smtp.is_none() && n.alarm.target.is_none());
    }

    #[test]
    fn every_setting_is_read() {
        let text = r#"
[notifications]
enabled = false
send_timeout_seconds = 5
max_attempts = 3
retry_base_seconds = 10
retry_max_seconds = 600
lease_seconds = 30
allow_private_targets = true

[notifications.smtp]
host = "smtp.example.com"
security = "tls"
username = "pharos"
password = "from-file"
from = "Status <status@example.com>"
pool_size = 2

[notifications.alarm]
target = { type = "webhook", url = "https://alarm.example.com/hook", secret = "s3cret" }
after_seconds = 120
failures = 3
window_seconds = 60
"#;
        let env = |k: &str| (k == "PHAROS_SMTP_PASSWORD").then(|| "from-env".to_string());
        let n = from_text(text, &env).unwrap().notifications;
        assert!(!n.enabled && n.allow_private_targets);
        assert_eq!(n.send_timeout, Duration::from_secs(5));
        assert_eq!(n.retry_max, Duration::from_secs(600));
        let smtp = n.smtp.unwrap();
        assert_eq!(smtp.port, 465, "the default port follows the security");
        assert_eq!(smtp.security, SmtpSecurity::Tls);
        assert_eq!(smtp.password.as_deref(), Some("from-env"));
        assert!(!format!("{smtp:?}").contains("from-env"));
        assert_eq!(
            n.alarm.target,
            Some(Target::Webhook {
                url: "https://alarm.example.com/hook".into(),
                secret: Some("s3cret".into()),
                headers: Default::default(),
            })
        );
        assert_eq!(n.alarm.after, Duration::from_secs(120));
        assert_eq!(n.alarm.failures, 3);
    }

    #[test]
    fn bad_values_and_unknown_keys_are_reported_with_key_value_and_expectation() {
        let text = r#"
[notifications]
send_timeout_seconds = 0
lease_seconds = 5
retry_base_seconds = 100
retry_max_seconds = 50
colour = "red"

[notifications.smtp]
host = "smtp.example.com"
security = "ssl"
password = "never-shown"
from = "not a mailbox"
timeout = 3

[notifications.alarm]
target = { type = "slak", url = "https://x" }
failures = 0
"#;
        let err = from_text(text, &no_env).unwrap_err();
        let all = err.to_string();
        for needle in [
            "notifications.send_timeout_seconds: `0` is out of range",
            "notifications.retry_max_seconds: `50` is below",
            "notifications.lease_seconds: `5` is not longer than send_timeout_seconds",
            "`notifications.colour` is not a setting",
            "`notifications.smtp.timeout` is not a setting",
            "notifications.smtp.security: `ssl`",
            "notifications.smtp.password: set without a username",
            "notifications.smtp.from: `not a mailbox` is not a mailbox",
            "notifications.alarm.target: unknown variant `slak`",
            "notifications.alarm.failures: `0` is out of range",
        ] {
            assert!(all.contains(needle), "missing {needle:?} in:\n{all}");
        }
        assert!(!all.contains("never-shown"), "{all}");
        let err = from_text(
            "[notifications.alarm]\ntarget = { type = \"email\", to = [\"nope\"] }\n",
            &no_env,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("notifications.alarm.target: `to`: `nope` is not an email address"),
            "{err}"
        );
    }

    #[test]
    fn the_environment_can_switch_notifications_off() {
        let env = |k: &str| (k == "PHAROS_NOTIFICATIONS_ENABLED").then(|| "false".to_string());
        assert!(!from_text("", &env).unwrap().notifications.enabled);
        let env = |k: &str| (k == "PHAROS_NOTIFICATIONS_ENABLED").then(|| "maybe".to_string());
        let err = from_text("", &env).unwrap_err().to_string();
        assert!(
            err.contains("notifications.enabled: `maybe` is not a boolean"),
            "{err}"
        );
    }
}
