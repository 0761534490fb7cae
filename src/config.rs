//! Configuration: a TOML file, `PHAROS_*` environment variables and command-line flags,
//! merged in that order of increasing precedence (flag > env > file > default) and validated
//! into one [`Config`].
//!
//! Validation collects every problem rather than stopping at the first, and each message names
//! the key, the bad value and what is expected. Unknown keys in the file are errors: a typo
//! must not silently fall back to a default.

use crate::store::{DeclaredComponent, DeclaredGroup};
use serde::Deserialize;
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Everything `pharos` needs to run, validated.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// `sqlite://...` or `postgres://...`; defaults to a SQLite file in the data folder.
    pub database_url: String,
    pub database_max_connections: u32,
    pub log_format: LogFormat,
    pub log_level: String,
    pub page: PageSettings,
    /// Failed authentications allowed per client address per minute before 429.
    pub auth_failures_per_minute: u32,
    pub groups: Vec<DeclaredGroup>,
    pub components: Vec<DeclaredComponent>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// How the public page presents itself.
#[derive(Debug, Clone)]
pub struct PageSettings {
    pub name: String,
    /// The page's public address, used in links (feeds, notifications).
    pub url: String,
    pub time_zone: String,
}

/// Values given as command-line flags (or their environment variables, through clap).
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub config_file: Option<PathBuf>,
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub log_format: Option<String>,
}

/// Everything wrong with a configuration, one line per problem.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}", .problems.join("\n"))]
pub struct ConfigError {
    pub problems: Vec<String>,
}

impl ConfigError {
    fn one(problem: impl Into<String>) -> Self {
        ConfigError {
            problems: vec![problem.into()],
        }
    }
}

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_DATA_DIR: &str = "./pharos-data";

// ---- the file's shape ---------------------------------------------------------------------

/// Keys a table of the file sets that are not settings. They are collected rather than refused
/// by serde (`deny_unknown_fields` stops at the first), so that a typo is reported together
/// with every other problem.
type UnknownKeys = std::collections::BTreeMap<String, serde::de::IgnoredAny>;

#[derive(Debug, Default, Deserialize)]
struct FileConfig {
    listen: Option<String>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    log_format: Option<String>,
    log_level: Option<String>,
    #[serde(default)]
    database: DatabaseSection,
    #[serde(default)]
    page: PageSection,
    #[serde(default)]
    http: HttpSection,
    #[serde(default)]
    component_groups: Vec<GroupDecl>,
    #[serde(default)]
    components: Vec<ComponentDecl>,
    /// Keys that are not settings: reported as problems with all the others (see `unknown_keys`).
    #[serde(flatten)]
    unknown: UnknownKeys,
    /// Problems found while reading the file, reported with those found in `resolve`.
    #[serde(skip)]
    problems: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
struct DatabaseSection {
    max_connections: Option<i64>,
    /// Keys that are not settings: reported as problems with all the others (see `unknown_keys`).
    #[serde(flatten)]
    unknown: UnknownKeys,
}

#[derive(Debug, Default, Deserialize)]
struct PageSection {
    name: Option<String>,
    url: Option<String>,
    time_zone: Option<String>,
    /// Keys that are not settings: reported as problems with all the others (see `unknown_keys`).
    #[serde(flatten)]
    unknown: UnknownKeys,
}

#[derive(Debug, Default, Deserialize)]
struct HttpSection {
    auth_failures_per_minute: Option<i64>,
    /// Keys that are not settings: reported as problems with all the others (see `unknown_keys`).
    #[serde(flatten)]
    unknown: UnknownKeys,
}

#[derive(Debug, Deserialize)]
struct GroupDecl {
    key: String,
    name: String,
    description: Option<String>,
    position: Option<i64>,
    /// Keys that are not settings: reported as problems with all the others (see `unknown_keys`).
    #[serde(flatten)]
    unknown: UnknownKeys,
}

#[derive(Debug, Deserialize)]
struct ComponentDecl {
    key: String,
    name: String,
    description: Option<String>,
    group: Option<String>,
    position: Option<i64>,
    #[serde(default = "default_true")]
    showcase: bool,
    #[serde(default)]
    only_show_if_degraded: bool,
    start_date: Option<String>,
    /// Keys that are not settings: reported as problems with all the others (see `unknown_keys`).
    #[serde(flatten)]
    unknown: UnknownKeys,
}

fn default_true() -> bool {
    true
}

/// The environment variables read for settings without a flag. Settings with a flag take
/// their variable through clap (see `cli.rs`).
pub const ENV_KEYS: &[(&str, &str)] = &[
    ("PHAROS_LOG_LEVEL", "log_level"),
    (
        "PHAROS_DATABASE_MAX_CONNECTIONS",
        "database.max_connections",
    ),
    ("PHAROS_PAGE_NAME", "page.name"),
    ("PHAROS_PAGE_URL", "page.url"),
    ("PHAROS_PAGE_TIME_ZONE", "page.time_zone"),
    (
        "PHAROS_HTTP_AUTH_FAILURES_PER_MINUTE",
        "http.auth_failures_per_minute",
    ),
];

/// Reads the file (if any), then applies the environment and the flags, then validates.
/// `env` is a lookup so tests need not touch the process environment.
pub fn load(
    overrides: &Overrides,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigError> {
    let file = match &overrides.config_file {
        Some(path) => read_file(path)?,
        None => FileConfig::default(),
    };
    resolve(file, overrides, env)
}

fn parse_file(text: &str, origin: &Path) -> Result<FileConfig, ConfigError> {
    let mut file = toml::from_str::<FileConfig>(text).map_err(|e| {
        ConfigError::one(format!(
            "{}: {}",
            origin.display(),
            e.to_string().trim_end()
        ))
    })?;
    file.problems = unknown_keys(&file)
        .into_iter()
        .map(|key| {
            format!(
                "{}: `{key}` is not a setting; check its spelling and section",
                origin.display()
            )
        })
        .collect();
    Ok(file)
}

/// Every key of the file that is not a setting, as a path such as `page.colour`.
fn unknown_keys(file: &FileConfig) -> Vec<String> {
    let mut keys: Vec<String> = file.unknown.keys().cloned().collect();
    for (section, unknown) in [
        ("database", &file.database.unknown),
        ("page", &file.page.unknown),
        ("http", &file.http.unknown),
    ] {
        keys.extend(unknown.keys().map(|k| format!("{section}.{k}")));
    }
    for (i, g) in file.component_groups.iter().enumerate() {
        keys.extend(
            g.unknown
                .keys()
                .map(|k| format!("component_groups[{i}].{k}")),
        );
    }
    for (i, c) in file.components.iter().enumerate() {
        keys.extend(c.unknown.keys().map(|k| format!("components[{i}].{k}")));
    }
    keys
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigError::one(format!(
            "cannot read the configuration file {}: {e}; check the path given to --config",
            path.display()
        ))
    })?;
    parse_file(&text, path)
}

fn resolve(
    mut file: FileConfig,
    overrides: &Overrides,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigError> {
    let mut problems = std::mem::take(&mut file.problems);

    let listen_text = overrides
        .listen
        .clone()
        .or(file.listen)
        .unwrap_or_else(|| DEFAULT_LISTEN.to_string());
    let listen = listen_text.parse::<SocketAddr>().unwrap_or_else(|_| {
        problems.push(format!(
            "listen: `{listen_text}` is not a socket address; expected IP:PORT such as 127.0.0.1:8080 or [::]:8080"
        ));
        DEFAULT_LISTEN.parse().expect("default parses")
    });

    let data_dir = overrides
        .data_dir
        .clone()
        .or(file.data_dir)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
    let data_dir = std::path::absolute(&data_dir).unwrap_or(data_dir);

    let database_url = overrides
        .database_url
        .clone()
        .or(file.database_url)
        .unwrap_or_else(|| format!("sqlite://{}/pharos.db", data_dir.display()));
    if crate::store::sql::Backend::from_url(&database_url).is_none() {
        problems.push(format!(
            "database_url: `{}` is not supported; expected sqlite://PATH or postgres://USER@HOST/DB",
            redact_url(&database_url)
        ));
    }

    let log_format_text = overrides
        .log_format
        .clone()
        .or(file.log_format)
        .unwrap_or_else(|| "text".into());
    let log_format = match log_format_text.as_str() {
        "text" => LogFormat::Text,
        "json" => LogFormat::Json,
        other => {
            problems.push(format!(
                "log_format: `{other}` is not a log format; expected `text` or `json`"
            ));
            LogFormat::Text
        }
    };

    let log_level = env("PHAROS_LOG_LEVEL")
        .or(file.log_level)
        .unwrap_or_else(|| "info".into());
    if tracing_subscriber::EnvFilter::try_new(&log_level).is_err() {
        problems.push(format!(
            "log_level: `{log_level}` is not a log filter; expected a level (error, warn, info, debug, trace) or directives such as `info,pharos=debug`"
        ));
    }

    let database_max_connections = int_setting(
        &mut problems,
        "database.max_connections",
        env("PHAROS_DATABASE_MAX_CONNECTIONS"),
        file.database.max_connections,
        10,
        1..=1000,
    );
    let auth_failures_per_minute = int_setting(
        &mut problems,
        "http.auth_failures_per_minute",
        env("PHAROS_HTTP_AUTH_FAILURES_PER_MINUTE"),
        file.http.auth_failures_per_minute,
        20,
        1..=100_000,
    );

    let page_name = env("PHAROS_PAGE_NAME")
        .or(file.page.name)
        .unwrap_or_else(|| "Status".into());
    if page_name.trim().is_empty() || page_name.chars().count() > 100 {
        problems.push("page.name: must be 1 to 100 characters".into());
    }
    let page_url = env("PHAROS_PAGE_URL")
        .or(file.page.url)
        .unwrap_or_else(|| format!("http://{listen}"));
    if !(page_url.starts_with("http://") || page_url.starts_with("https://")) {
        problems.push(format!(
            "page.url: `{page_url}` is not an http(s) URL; expected the page's public address such as https://status.example.com"
        ));
    }
    let time_zone = env("PHAROS_PAGE_TIME_ZONE")
        .or(file.page.time_zone)
        .unwrap_or_else(|| "UTC".into());
    if time_zone.trim().is_empty() {
        problems.push(
            "page.time_zone: must not be empty; expected an IANA zone such as Europe/Berlin".into(),
        );
    }

    let (groups, components) = declared(&mut problems, file.component_groups, file.components);

    if !problems.is_empty() {
        return Err(ConfigError { problems });
    }
    Ok(Config {
        listen,
        data_dir,
        database_url,
        database_max_connections,
        log_format,
        log_level,
        page: PageSettings {
            name: page_name,
            url: page_url.trim_end_matches('/').to_string(),
            time_zone,
        },
        auth_failures_per_minute,
        groups,
        components,
    })
}

fn int_setting(
    problems: &mut Vec<String>,
    key: &str,
    env_value: Option<String>,
    file_value: Option<i64>,
    default: u32,
    range: std::ops::RangeInclusive<i64>,
) -> u32 {
    let value = match env_value {
        Some(text) => match text.trim().parse::<i64>() {
            Ok(v) => v,
            Err(_) => {
                problems.push(format!("{key}: `{text}` is not a whole number"));
                return default;
            }
        },
        None => match file_value {
            Some(v) => v,
            None => return default,
        },
    };
    if !range.contains(&value) {
        problems.push(format!(
            "{key}: `{value}` is out of range; expected {} to {}",
            range.start(),
            range.end()
        ));
        return default;
    }
    value as u32
}

fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 64
        && key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

fn declared(
    problems: &mut Vec<String>,
    groups: Vec<GroupDecl>,
    components: Vec<ComponentDecl>,
) -> (Vec<DeclaredGroup>, Vec<DeclaredComponent>) {
    let mut group_keys = BTreeSet::new();
    let mut out_groups = Vec::new();
    for (i, g) in groups.into_iter().enumerate() {
        let at = format!("component_groups[{i}]");
        if !valid_key(&g.key) {
            problems.push(format!(
                "{at}.key: `{}` is not a key; expected 1 to 64 of a-z, 0-9, - and _",
                g.key
            ));
        } else if !group_keys.insert(g.key.clone()) {
            problems.push(format!("{at}.key: `{}` is declared twice", g.key));
        }
        if g.name.trim().is_empty() || g.name.chars().count() > 255 {
            problems.push(format!("{at}.name: must be 1 to 255 characters"));
        }
        out_groups.push(DeclaredGroup {
            key: g.key,
            name: g.name,
            description: g.description,
            position: g.position.unwrap_or(i as i64),
        });
    }
    let mut component_keys = BTreeSet::new();
    let mut out_components = Vec::new();
    for (i, c) in components.into_iter().enumerate() {
        let at = format!("components[{i}]");
        if !valid_key(&c.key) {
            problems.push(format!(
                "{at}.key: `{}` is not a key; expected 1 to 64 of a-z, 0-9, - and _",
                c.key
            ));
        } else if !component_keys.insert(c.key.clone()) {
            problems.push(format!("{at}.key: `{}` is declared twice", c.key));
        }
        if c.name.trim().is_empty() || c.name.chars().count() > 255 {
            problems.push(format!("{at}.name: must be 1 to 255 characters"));
        }
        if let Some(group) = &c.group {
            if !group_keys.contains(group) {
                problems.push(format!(
                    "{at}.group: `{group}` is not the key of a declared [[component_groups]] entry"
                ));
            }
        }
        if let Some(date) = &c.start_date {
            if chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").is_err() {
                problems.push(format!(
                    "{at}.start_date: `{date}` is not a date; expected YYYY-MM-DD"
                ));
            }
        }
        out_components.push(DeclaredComponent {
            key: c.key,
            name: c.name,
            description: c.description,
            group_key: c.group,
            position: c.position.unwrap_or(i as i64),
            showcase: c.showcase,
            only_show_if_degraded: c.only_show_if_degraded,
            start_date: c.start_date,
        });
    }
    (out_groups, out_components)
}

/// A database URL fit for logs and error messages: the password is replaced.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, tail) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or("");
            let masked = if userinfo.contains(':') {
                format!("{user}:***")
            } else {
                user.to_string()
            };
            // Drop query parameters too: they may carry a password (`?password=`).
            let tail = tail.split('?').next().unwrap_or("");
            format!("{scheme}://{masked}@{host}{tail}")
        }
        None => format!(
            "{scheme}://{authority}{}",
            tail.split('?').next().unwrap_or("")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn from_text(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let file = parse_file(text, Path::new("test.toml"))?;
        resolve(file, &Overrides::default(), env)
    }

    #[test]
    fn defaults_need_no_file() {
        let config = load(&Overrides::default(), &no_env).unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert!(config.data_dir.ends_with("pharos-data"));
        assert!(config.data_dir.is_absolute());
        assert!(config.database_url.starts_with("sqlite://"));
        assert!(config.database_url.ends_with("pharos-data/pharos.db"));
    }

    #[test]
    fn flag_beats_env_beats_file() {
        let text = "log_level = \"warn\"\n[page]\nname = \"From file\"\n";
        let env = |k: &str| (k == "PHAROS_PAGE_NAME").then(|| "From env".to_string());
        let config = from_text(text, &env).unwrap();
        assert_eq!(config.page.name, "From env");
        assert_eq!(config.log_level, "warn");

        let file = parse_file("listen = \"127.0.0.1:9000\"", Path::new("t")).unwrap();
        let overrides = Overrides {
            listen: Some("127.0.0.1:9100".into()),
            ..Default::default()
        };
        assert_eq!(
            resolve(file, &overrides, &no_env).unwrap().listen.port(),
            9100
        );
    }

    #[test]
    fn unknown_keys_are_errors_that_name_the_key() {
        let err = from_text("listne = \"x\"", &no_env)
            .unwrap_err()
            .to_string();
        assert!(err.contains("listne"), "{err}");
        let err = from_text("[page]\ncolour = \"red\"", &no_env)
            .unwrap_err()
            .to_string();
        assert!(err.contains("colour"), "{err}");
        // A typo does not hide the file's other problems.
        let text = "listne = 1979-05-27\nlog_format = \"xml\"\n[[components]]\nkey = \"api\"\nname = \"API\"\ncolor = \"red\"\n";
        let err = from_text(text, &no_env).unwrap_err();
        let all = err.to_string();
        for needle in ["`listne`", "log_format: `xml`", "`components[0].color`"] {
            assert!(all.contains(needle), "missing {needle:?} in:\n{all}");
        }
        assert_eq!(err.problems.len(), 3, "{all}");
    }

    #[test]
    fn every_problem_is_reported_with_key_value_and_expectation() {
        let text = r#"
listen = "localhost"
log_format = "xml"
database_url = "mysql://x"
[database]
max_connections = 0
[[component_groups]]
key = "Bad Key"
name = "Core"
[[components]]
key = "api"
name = "API"
group = "nope"
start_date = "yesterday"
"#;
        let err = from_text(text, &no_env).unwrap_err();
        let all = err.to_string();
        for needle in [
            "listen: `localhost`",
            "log_format: `xml`",
            "database_url: `mysql://x`",
            "database.max_connections: `0` is out of range",
            "component_groups[0].key: `Bad Key`",
            "components[0].group: `nope`",
            "components[0].start_date: `yesterday`",
        ] {
            assert!(all.contains(needle), "missing {needle:?} in:\n{all}");
        }
        assert_eq!(err.problems.len(), 7, "{all}");
    }

    #[test]
    fn env_numbers_are_validated() {
        let env = |k: &str| (k == "PHAROS_DATABASE_MAX_CONNECTIONS").then(|| "many".to_string());
        let err = from_text("", &env).unwrap_err().to_string();
        assert!(err.contains("database.max_connections: `many`"), "{err}");
    }

    #[test]
    fn declared_components_keep_order_and_groups() {
        let text = r#"
[[component_groups]]
key = "core"
name = "Core"
[[components]]
key = "api"
name = "API"
group = "core"
[[components]]
key = "web"
name = "Website"
showcase = false
"#;
        let config = from_text(text, &no_env).unwrap();
        assert_eq!(config.groups.len(), 1);
        assert_eq!(config.components[0].group_key.as_deref(), Some("core"));
        assert_eq!(config.components[1].position, 1);
        assert!(!config.components[1].showcase);
    }

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redact_url("postgres://pharos:s3cret@db.example:5432/pharos?sslmode=require"),
            "postgres://pharos:***@db.example:5432/pharos"
        );
        assert_eq!(
            redact_url("postgres://db/pharos?password=x"),
            "postgres://db/pharos"
        );
        assert_eq!(
            redact_url("sqlite:///var/lib/pharos.db"),
            "sqlite:///var/lib/pharos.db"
        );
    }
}
