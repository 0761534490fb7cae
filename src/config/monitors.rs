//! `[[monitors]]`: monitors declared in the configuration file, read into
//! [`DeclaredMonitor`]s with the rules the management API applies to monitors
//! ([`validate_common`], [`Check::validate`]) plus the file's own: a stable key, components
//! named by the keys of declared components, and no push monitors.
//!
//! Like the rest of the file, every problem is collected with its path
//! (`monitors[2].check.url: ...`), and keys that are not settings are reported, inside
//! `[monitors.check]` too. The check's settings types ignore unknown fields (the API accepts
//! them), so the check is deserialised, serialised again and compared with the table as
//! written: a key the re-serialisation lacks was ignored, so it is not a setting.
//!
//! This module only reads and validates; reconciling with the store is `Store::reconcile_config`.

use super::{valid_key, UnknownKeys};
use crate::domain::ComponentStatus;
use crate::monitor::evaluate::Policy;
use crate::monitor::model::{is_down_status, validate_common, Check, DOWN_STATUSES};
use crate::store::{DeclaredMonitor, DeclaredMonitorComponent};
use serde::Deserialize;
use std::collections::BTreeSet;

/// Seconds between checks when the file does not say, as in the API.
const DEFAULT_INTERVAL_SECS: u64 = 60;
/// The longest default timeout, as in the API: 10 s, or half the interval when shorter.
const DEFAULT_TIMEOUT_MS: u64 = 10_000;
/// The longest description, as in the API.
const MAX_DESCRIPTION: usize = 2_000;
/// At most this many tags per monitor, each 1 to [`MAX_TAG`] characters, as in the API.
const MAX_TAGS: usize = 50;
const MAX_TAG: usize = 64;

/// A `[[monitors]]` entry as written. Most fields are optional or loosely typed here so that a
/// missing or malformed one is reported with the file's other problems instead of stopping the
/// parse at the first.
#[derive(Debug, Deserialize)]
pub(super) struct MonitorDecl {
    key: Option<String>,
    name: Option<String>,
    description: Option<String>,
    interval_seconds: Option<i64>,
    timeout_ms: Option<i64>,
    /// Each a component key (`"api"`) or a table (`{ component = "api", down_status = ... }`).
    #[serde(default)]
    components: Vec<toml::Value>,
    auto_incidents: Option<bool>,
    paused: Option<bool>,
    #[serde(default)]
    tags: Vec<String>,
    /// Read as a table, then as a [`Check`], so that its problems and its unknown keys can be
    /// reported with their paths.
    check: Option<toml::Table>,
    policy: Option<toml::Table>,
    /// Keys that are not settings: reported as problems with all the others.
    #[serde(flatten)]
    unknown: UnknownKeys,
}

/// Every key of the `i`th monitor that is not a setting, as a path such as
/// `monitors[0].check.uri`. A check that does not parse is left to [`declared_monitors`],
/// which reports why.
pub(super) fn unknown_keys(i: usize, decl: &MonitorDecl) -> Vec<String> {
    let at = format!("monitors[{i}]");
    let mut keys: Vec<String> = decl.unknown.keys().map(|k| format!("{at}.{k}")).collect();
    for (j, entry) in decl.components.iter().enumerate() {
        if let toml::Value::Table(table) = entry {
            keys.extend(
                table
                    .keys()
                    .filter(|k| !matches!(k.as_str(), "component" | "down_status"))
                    .map(|k| format!("{at}.components[{j}].{k}")),
            );
        }
    }
    if let Some(table) = &decl.check {
        if let Ok(check) = toml::Value::Table(table.clone()).try_into::<Check>() {
            let written = serde_json::to_value(table).unwrap_or_default();
            let read = serde_json::to_value(&check).unwrap_or_default();
            ignored_keys(&written, &read, &format!("{at}.check"), &mut keys);
        }
    }
    keys
}

/// The keys of `written` (a table as the file has it) missing from `read` (the same value
/// deserialised and serialised again), in nested tables and arrays of tables too.
fn ignored_keys(
    written: &serde_json::Value,
    read: &serde_json::Value,
    at: &str,
    out: &mut Vec<String>,
) {
    use serde_json::Value;
    match (written, read) {
        (Value::Object(written), Value::Object(read)) => {
            for (key, value) in written {
                match read.get(key) {
                    Some(again) => ignored_keys(value, again, &format!("{at}.{key}"), out),
                    None => out.push(format!("{at}.{key}")),
                }
            }
        }
        (Value::Array(written), Value::Array(read)) => {
            for (j, (value, again)) in written.iter().zip(read).enumerate() {
                ignored_keys(value, again, &format!("{at}[{j}]"), out);
            }
        }
        _ => {}
    }
}

/// `problem`, a message that starts with the field it is about (`url: ...`, as
/// [`Check::validate`] and [`validate_common`] write them), placed under `at`:
/// `monitors[0].check.url: ...`. A message that does not start with a field follows `at`.
fn under(at: &str, problem: &str) -> String {
    match problem.split_once(": ") {
        Some((field, rest))
            if !field.is_empty()
                && field.chars().all(|c| {
                    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '.')
                }) =>
        {
            format!("{at}.{field}: {rest}")
        }
        _ => format!("{at}: {problem}"),
    }
}

/// A deserialisation error on one line (toml puts where it happened on a second).
fn one_line(err: &toml::de::Error) -> String {
    err.to_string()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A number of the file that must not be negative; reports it and returns `None` if it is.
fn non_negative(problems: &mut Vec<String>, at: &str, value: Option<i64>) -> Option<u64> {
    let value = value?;
    match u64::try_from(value) {
        Ok(v) => Some(v),
        Err(_) => {
            problems.push(format!(
                "{at}: `{value}` is negative; expected a positive whole number"
            ));
            None
        }
    }
}

/// Validates every `[[monitors]]` entry, collecting each problem with its path, and returns
/// the declarations (complete only when no problem was added). `component_keys` are the keys
/// of the file's `[[components]]`.
pub(super) fn declared_monitors(
    problems: &mut Vec<String>,
    decls: Vec<MonitorDecl>,
    component_keys: &BTreeSet<&str>,
) -> Vec<DeclaredMonitor> {
    let mut keys = BTreeSet::new();
    let mut out = Vec::new();
    for (i, m) in decls.into_iter().enumerate() {
        let at = format!("monitors[{i}]");
        match &m.key {
            None => problems.push(format!(
                "{at}.key: missing; expected a stable identifier, 1 to 64 of a-z, 0-9, - and _"
            )),
            Some(key) if !valid_key(key) => problems.push(format!(
                "{at}.key: `{key}` is not a key; expected 1 to 64 of a-z, 0-9, - and _"
            )),
            Some(key) if !keys.insert(key.clone()) => {
                problems.push(format!("{at}.key: `{key}` is declared twice"))
            }
            Some(_) => {}
        }

        let name = m.name.as_deref().map(str::trim).map(str::to_string);
        match &name {
            None => problems.push(format!(
                "{at}.name: missing; expected the monitor's name, 1 to 200 characters"
            )),
            Some(name) if name.chars().any(char::is_control) => problems.push(format!(
                "{at}.name: must be a single line without control characters"
            )),
            Some(_) => {}
        }
        let description = match m.description {
            Some(d) if d.contains('\0') => {
                problems.push(format!("{at}.description: must not contain NUL characters"));
                None
            }
            Some(d) if d.chars().count() > MAX_DESCRIPTION => {
                problems.push(format!(
                    "{at}.description: is longer than {MAX_DESCRIPTION} characters"
                ));
                None
            }
            Some(d) if d.trim().is_empty() => None,
            other => other,
        };

        let interval = non_negative(
            problems,
            &format!("{at}.interval_seconds"),
            m.interval_seconds,
        );
        let interval = interval.unwrap_or(DEFAULT_INTERVAL_SECS);
        let timeout = non_negative(problems, &format!("{at}.timeout_ms"), m.timeout_ms)
            .unwrap_or_else(|| DEFAULT_TIMEOUT_MS.min(interval.saturating_mul(1000) / 2));
        let policy = match m.policy {
            None => Some(Policy::default()),
            Some(table) => match toml::Value::Table(table).try_into::<Policy>() {
                Ok(policy) => Some(policy),
                Err(err) => {
                    problems.push(format!("{at}.policy: {}", one_line(&err)));
                    None
                }
            },
        };
        // A missing name is reported above; a placeholder keeps its other checks quiet.
        let checked_name = name.as_deref().unwrap_or("-");
        problems.extend(
            validate_common(
                checked_name,
                interval,
                timeout,
                policy.as_ref().unwrap_or(&Policy::default()),
            )
            .iter()
            .map(|p| under(&at, p)),
        );

        let check = match m.check {
            None => {
                problems.push(format!(
                    "{at}.check: missing; expected a [monitors.check] table with `kind` (http, tcp, dns, tls or icmp) and its settings"
                ));
                None
            }
            Some(table) => match toml::Value::Table(table).try_into::<Check>() {
                Err(err) => {
                    problems.push(format!("{at}.check: {}", one_line(&err)));
                    None
                }
                Ok(Check::Push(_)) => {
                    problems.push(format!(
                        "{at}.check.kind: `push` monitors cannot be declared in the file, as their secret URL is shown only once, when created; create them with POST /api/v1/monitors"
                    ));
                    None
                }
                Ok(check) => {
                    if let Err(more) = check.validate() {
                        problems.extend(more.iter().map(|p| under(&format!("{at}.check"), p)));
                    }
                    // PostgreSQL refuses NUL in text, SQLite would store it: refused for both.
                    if serde_json::to_string(&check)
                        .unwrap_or_default()
                        .contains("\\u0000")
                    {
                        problems.push(format!("{at}.check: must not contain NUL characters"));
                    }
                    Some(check)
                }
            },
        };

        let components = monitor_components(problems, &at, &m.components, component_keys);

        if m.tags.len() > MAX_TAGS {
            problems.push(format!(
                "{at}.tags: `{}` tags is too many; expected at most {MAX_TAGS}",
                m.tags.len()
            ));
        }
        let mut tags = Vec::new();
        for (j, tag) in m.tags.iter().enumerate() {
            let tag = tag.trim();
            if tag.is_empty() || tag.chars().count() > MAX_TAG || tag.contains('\0') {
                problems.push(format!(
                    "{at}.tags[{j}]: `{tag}` must be 1 to {MAX_TAG} characters"
                ));
            }
            tags.push(tag.to_string());
        }

        if let (Some(key), Some(name), Some(check), Some(policy)) = (m.key, name, check, policy) {
            out.push(DeclaredMonitor {
                key,
                name,
                description,
                check,
                interval_seconds: interval,
                timeout_ms: timeout,
                policy,
                components,
                tags,
                paused: m.paused,
                auto_incidents: m.auto_incidents.unwrap_or(true),
            });
        }
    }
    out
}

/// The components a monitor names: each a declared component's key, or a table with that key
/// as `component` and an outage status as `down_status` (default `major_outage`).
fn monitor_components(
    problems: &mut Vec<String>,
    at: &str,
    entries: &[toml::Value],
    component_keys: &BTreeSet<&str>,
) -> Vec<DeclaredMonitorComponent> {
    use ComponentStatus::MajorOutage;
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for (j, entry) in entries.iter().enumerate() {
        let here = format!("{at}.components[{j}]");
        let (key, key_at, down_status) = match entry {
            toml::Value::String(key) => (key.as_str(), here.clone(), MajorOutage),
            toml::Value::Table(table) => {
                let key_at = format!("{here}.component");
                let key = match table.get("component") {
                    Some(toml::Value::String(key)) => key.as_str(),
                    _ => {
                        problems.push(format!(
                            "{key_at}: missing; expected the key of a declared [[components]] entry"
                        ));
                        continue;
                    }
                };
                let status = match table.get("down_status") {
                    None => MajorOutage,
                    Some(toml::Value::String(text)) => match text.parse::<ComponentStatus>() {
                        Ok(s) if is_down_status(s) => s,
                        _ => {
                            problems.push(format!(
                                "{here}.down_status: `{text}` is not an outage status; expected {DOWN_STATUSES}"
                            ));
                            MajorOutage
                        }
                    },
                    Some(other) => {
                        problems.push(format!(
                            "{here}.down_status: `{other}` is not an outage status; expected {DOWN_STATUSES}"
                        ));
                        MajorOutage
                    }
                };
                (key, key_at, status)
            }
            other => {
                problems.push(format!(
                    "{here}: `{other}` is not a component; expected a component key such as \"api\" or a table such as {{ component = \"api\", down_status = \"partial_outage\" }}"
                ));
                continue;
            }
        };
        if !component_keys.contains(key) {
            problems.push(format!(
                "{key_at}: `{key}` is not the key of a declared [[components]] entry"
            ));
        } else if !seen.insert(key.to_string()) {
            problems.push(format!("{key_at}: `{key}` is named twice"));
        }
        out.push(DeclaredMonitorComponent {
            component_key: key.to_string(),
            down_status,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{parse_file, resolve, Config, ConfigError, Overrides};
    use std::path::Path;

    fn from_text(text: &str) -> Result<Config, ConfigError> {
        let file = parse_file(text, Path::new("test.toml"))?;
        resolve(file, &Overrides::default(), &|_| None)
    }

    const COMPONENTS: &str = r#"
[[components]]
key = "api"
name = "API"
[[components]]
key = "web"
name = "Website"
"#;

    #[test]
    fn a_valid_file_declares_monitors_with_defaults() {
        let text = format!(
            r#"{COMPONENTS}
[[monitors]]
key = "api-health"
name = "  API health "
interval_seconds = 30
components = ["api", {{ component = "web", down_status = "partial_outage" }}]
auto_incidents = false
paused = true
tags = [" prod ", "eu"]
[monitors.check]
kind = "http"
url = "https://api.example.com/health"
expected_status = ["200-299"]
assertions = [{{ type = "json_pointer", pointer = "/status", equals = "ok" }}]
[monitors.check.headers]
Accept = "application/json"
[monitors.policy]
down_after = 2

[[monitors]]
key = "db"
name = "Database port"
[monitors.check]
kind = "tcp"
host = "db.internal"
port = 5432
"#
        );
        let config = from_text(&text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.monitors.len(), 2);
        let api = &config.monitors[0];
        assert_eq!(api.key, "api-health");
        assert_eq!(api.name, "API health");
        assert_eq!(api.interval_seconds, 30);
        assert_eq!(api.timeout_ms, 10_000, "min(10 s, half the interval)");
        assert_eq!(api.policy.down_after, 2);
        assert_eq!(api.policy.up_after, Policy::default().up_after);
        assert_eq!(api.paused, Some(true));
        assert!(!api.auto_incidents);
        assert_eq!(api.tags, ["prod", "eu"]);
        assert_eq!(
            api.components,
            [
                DeclaredMonitorComponent {
                    component_key: "api".into(),
                    down_status: ComponentStatus::MajorOutage,
                },
                DeclaredMonitorComponent {
                    component_key: "web".into(),
                    down_status: ComponentStatus::PartialOutage,
                },
            ]
        );
        let Check::Http(http) = &api.check else {
            panic!("an http check: {:?}", api.check)
        };
        assert_eq!(http.url, "https://api.example.com/health");
        assert_eq!(http.headers["Accept"], "application/json");
        assert_eq!(http.assertions.len(), 1);

        let db = &config.monitors[1];
        assert_eq!(db.interval_seconds, 60);
        assert_eq!(db.timeout_ms, 10_000);
        assert_eq!(db.paused, None, "left to operators");
        assert!(db.auto_incidents);
        assert!(db.components.is_empty() && db.tags.is_empty());
        assert_eq!(db.policy, Policy::default());
        assert!(matches!(db.check, Check::Tcp(_)));
        // The store keeps checks as JSON and compares what it reads back with the file at every
        // start: the round trip must be exact, or an unchanged file would update the monitor.
        for m in &config.monitors {
            let stored = serde_json::to_string(&m.check).unwrap();
            assert_eq!(serde_json::from_str::<Check>(&stored).unwrap(), m.check);
        }

        // A short interval shortens the default timeout to half of it.
        let text = "[[monitors]]\nkey = \"m\"\nname = \"M\"\ninterval_seconds = 10\n[monitors.check]\nkind = \"icmp\"\nhost = \"example.com\"\n";
        assert_eq!(from_text(text).unwrap().monitors[0].timeout_ms, 5_000);
    }

    #[test]
    fn every_monitor_problem_is_reported_at_once_with_its_path() {
        let text = format!(
            r#"{COMPONENTS}
[[monitors]]
key = "Bad Key"
name = ""
interval_seconds = 5
timeout_ms = 50
components = ["nope", {{ component = "api", down_status = "operational" }}, {{ down_status = "major_outage" }}, 7]
tags = [""]
[monitors.check]
kind = "http"
url = "ftp://example.com"
[monitors.policy]
down_after = 0

[[monitors]]
key = "twice"
name = "Push"
[monitors.check]
kind = "push"

[[monitors]]
key = "twice"
name = "No check"

[[monitors]]
key = "tcp"
name = "TCP"
interval_seconds = -1
components = ["api", "api"]
[monitors.check]
kind = "tcp"
host = "db.internal"

[[monitors]]
name = "Unknown kind"
interval_seconds = 10
timeout_ms = 20000
[monitors.check]
kind = "smtp"
"#
        );
        let err = from_text(&text).unwrap_err();
        let all = err.to_string();
        let expected = [
            "monitors[0].key: `Bad Key` is not a key",
            "monitors[0].name: must not be empty",
            "monitors[0].interval_seconds: 5 is outside 10..=86400",
            "monitors[0].timeout_ms: 50 is below 100",
            "monitors[0].policy: down_after must be between 1 and",
            "monitors[0].check.url: ",
            "monitors[0].components[0]: `nope` is not the key of a declared [[components]] entry",
            "monitors[0].components[1].down_status: `operational` is not an outage status",
            "monitors[0].components[2].component: missing",
            "monitors[0].components[3]: `7` is not a component",
            "monitors[0].tags[0]: `` must be 1 to 64 characters",
            "monitors[1].check.kind: `push` monitors cannot be declared in the file",
            "monitors[2].key: `twice` is declared twice",
            "monitors[2].check: missing",
            "monitors[3].interval_seconds: `-1` is negative",
            "monitors[3].check: missing field `port`",
            "monitors[3].components[1]: `api` is named twice",
            "monitors[4].key: missing",
            "monitors[4].check: unknown variant `smtp`",
            "monitors[4].timeout_ms: 20000 is longer than the interval",
        ];
        for needle in expected {
            assert!(all.contains(needle), "missing {needle:?} in:\n{all}");
        }
        assert_eq!(err.problems.len(), expected.len(), "{all}");
    }

    #[test]
    fn unknown_keys_in_a_monitor_and_its_check_are_reported_with_the_rest() {
        let text = format!(
            r#"log_format = "xml"
{COMPONENTS}
[[monitors]]
key = "api-health"
name = "API health"
intervall = 30
components = [{{ component = "api", status = "major_outage" }}]
[monitors.check]
kind = "http"
uri = "https://api.example.com/typo"
url = "https://api.example.com/health"
assertions = [{{ type = "body_contains", value = "ok", negate = true }}]
[monitors.policy]
downafter = 2
"#
        );
        let err = from_text(&text).unwrap_err();
        let all = err.to_string();
        let expected = [
            "log_format: `xml`",
            "test.toml: `monitors[0].intervall` is not a setting",
            "test.toml: `monitors[0].components[0].status` is not a setting",
            "test.toml: `monitors[0].check.uri` is not a setting",
            "test.toml: `monitors[0].check.assertions[0].negate` is not a setting",
            "monitors[0].policy: unknown field `downafter`",
        ];
        for needle in expected {
            assert!(all.contains(needle), "missing {needle:?} in:\n{all}");
        }
        assert_eq!(err.problems.len(), expected.len(), "{all}");
    }

    /// The re-serialisation that finds unknown keys must not take a real setting for one:
    /// every setting of every kind, optional ones included, is written here.
    #[test]
    fn every_setting_of_every_kind_is_known() {
        let checks = [
            r#"kind = "http"
url = "https://api.example.com/health"
method = "POST"
headers = { Accept = "application/json", "X-Trace" = "1" }
body = "{}"
expected_status = ["200-299", "3xx"]
assertions = [
  { type = "body_contains", value = "ok" },
  { type = "body_not_contains", value = "maintenance" },
  { type = "body_matches", pattern = "^ok" },
  { type = "json_pointer", pointer = "/checks", equals = { db = { ok = true }, list = [1, 2] } },
]
degraded_after_ms = 800
max_redirects = 0
verify_tls = false"#,
            r#"kind = "tcp"
host = "db.internal"
port = 6379
send = "PING"
expect = "PONG""#,
            r#"kind = "dns"
name = "example.com"
record_type = "mx"
expected = ["10 mail.example.com"]
resolver = "192.0.2.53"
port = 5353"#,
            r#"kind = "tls"
host = "192.0.2.10"
port = 8443
server_name = "api.example.com"
degraded_days = 20
down_days = 5
ca_pem = "-----BEGIN CERTIFICATE-----""#,
            r#"kind = "icmp"
host = "example.com"
count = 5
degraded_loss_percent = 20
degraded_rtt_ms = 300"#,
        ];
        for check in checks {
            let text =
                format!("[[monitors]]\nkey = \"m\"\nname = \"M\"\n[monitors.check]\n{check}\n");
            let file = parse_file(&text, Path::new("test.toml")).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(file.problems, Vec::<String>::new(), "{check}");
        }
    }

    #[test]
    fn problems_are_placed_under_their_monitor() {
        assert_eq!(
            under("monitors[1].check", "url: not http"),
            "monitors[1].check.url: not http"
        );
        assert_eq!(
            under("monitors[1].check", "port must be between 1 and 65535"),
            "monitors[1].check: port must be between 1 and 65535"
        );
        assert_eq!(
            under("monitors[1].check", "expected_status: `abc` is not a code"),
            "monitors[1].check.expected_status: `abc` is not a code"
        );
    }
}
