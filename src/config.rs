//! Configuration: a TOML file, `PHAROS_*` environment variables and command-line flags,
//! merged in that order of increasing precedence (flag > env > file > default) and validated
//! into one [`Config`].
//!
//! Validation collects every problem rather than stopping at the first, and each message names
//! the key, the bad value and what is expected. Unknown keys in the file are errors: a typo
//! must not silently fall back to a default.
//!
//! `[[monitors]]` entries are read and validated in [`monitors`], `[[vendors.follow]]` in
//! [`vendors`], `[notifications]` in [`notify`] and `[admin]` in [`admin`]. The rules of the
//! `[page]` fields the web UI may also store (validation, precedence, merging) are in [`page`].

mod admin;
mod monitors;
mod notify;
pub mod page;
mod vendors;

pub use admin::{AdminSettings, SecureCookies};
pub use notify::{AlarmSettings, NotifySettings, SmtpSecurity, SmtpSettings};
pub use page::PageField;

use crate::store::{DeclaredComponent, DeclaredGroup, DeclaredMonitor};
use serde::{Deserialize, Serialize};
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
    /// `[http] trusted_proxies`: the reverse proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: crate::http::client::TrustedProxies,
    /// Days raw check results are kept; their hourly and daily roll-ups are kept for good.
    pub raw_retention_days: u32,
    /// How many checks run at once, in all and against one host (`[monitoring]`
    /// `max_concurrent_checks`, `max_checks_per_host`).
    pub check_limits: crate::monitor::scheduler::CheckLimits,
    pub groups: Vec<DeclaredGroup>,
    pub components: Vec<DeclaredComponent>,
    /// Monitors declared in the file; their components are keys of `components`.
    pub monitors: Vec<DeclaredMonitor>,
    pub vendors: VendorSettings,
    /// `[notifications]`: sending, retries, SMTP and the pipeline's own alarm.
    pub notifications: NotifySettings,
    /// `[admin]`: the web UI's session cookies and expiry.
    pub admin: AdminSettings,
}

/// `[vendors]`: how followed vendors are polled, kept and shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VendorSettings {
    /// Days a vendor's ended incidents and maintenances are kept.
    pub retention_days: u32,
    /// Vendors declared in the file (`[[vendors.follow]]`).
    pub follow: Vec<crate::vendor::record::DeclaredVendor>,
    /// Whether `/vendors` pages are public (anonymous readers get 404 when not).
    pub public: bool,
    /// Seconds one fetch of a vendor's source may take.
    pub fetch_timeout_seconds: u32,
}

impl Default for VendorSettings {
    fn default() -> Self {
        VendorSettings {
            retention_days: 365,
            follow: Vec::new(),
            public: true,
            fetch_timeout_seconds: 15,
        }
    }
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
    /// An IANA zone name (checked against `chrono-tz`'s database): the zone the pages and feeds
    /// write times in. Kept as text because `/api/v2` reports it as text.
    pub time_zone: String,
    /// An http(s) URL or a path on this site (`/...`), shown in the header instead of the name.
    pub logo_url: Option<String>,
    /// `#rrggbb`, lower case: the page's accent colour (links, header accents).
    pub accent_color: Option<String>,
    /// Links shown in every page's footer, in the order given.
    pub footer_links: Vec<FooterLink>,
    /// A short Markdown text shown in every page's footer (sanitised when rendered).
    pub footer_text: Option<String>,
    /// `[vendors] public`, which the pages' navigation needs to know.
    pub vendors_public: bool,
    /// The fields the configuration (file or environment) sets: they stay authoritative over
    /// what the web UI stores (see [`page`]).
    pub configured: BTreeSet<PageField>,
}

/// One link of the page's footer. Validated: the label is 1 to [`FOOTER_LABEL_MAX`] characters
/// and the URL passes [`is_link_url`]. Stored as is in the snapshot, so it is serialisable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FooterLink {
    pub label: String,
    pub url: String,
}

/// The most footer links a page shows: a footer, not a site map.
pub const FOOTER_LINKS_MAX: usize = 10;
/// The longest footer link label, in characters.
pub const FOOTER_LABEL_MAX: usize = 60;
/// The longest link or logo URL, in bytes.
const URL_MAX: usize = 2048;

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
    monitoring: MonitoringSection,
    #[serde(default)]
    vendors: VendorsSection,
    #[serde(default)]
    notifications: notify::NotificationsSection,
    #[serde(default)]
    admin: admin::AdminSection,
    #[serde(default)]
    component_groups: Vec<GroupDecl>,
    #[serde(default)]
    components: Vec<ComponentDecl>,
    #[serde(default)]
    monitors: Vec<monitors::MonitorDecl>,
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
    logo_url: Option<String>,
    accent_color: Option<String>,
    /// Absent (not an empty list) when the file declares no `[[page.footer_links]]`, so that
    /// the web UI may manage them.
    footer_links: Option<Vec<FooterLinkDecl>>,
    footer_text: Option<String>,
    /// Keys that are not settings: reported as problems with all the others (see `unknown_keys`).
    #[serde(flatten)]
    unknown: UnknownKeys,
}

/// A `[[page.footer_links]]` entry as written. Both fields are optional here so that a missing
/// one is reported with the file's other problems rather than stopping the parse.
#[derive(Debug, Deserialize)]
struct FooterLinkDecl {
    label: Option<String>,
    url: Option<String>,
    /// Keys that are not settings: reported as problems with all the others (see `unknown_keys`).
    #[serde(flatten)]
    unknown: UnknownKeys,
}

#[derive(Debug, Default, Deserialize)]
struct HttpSection {
    auth_failures_per_minute: Option<i64>,
    trusted_proxies: Option<Vec<String>>,
    /// Keys that are not settings: reported as problems with all the others (see `unknown_keys`).
    #[serde(flatten)]
    unknown: UnknownKeys,
}

#[derive(Debug, Default, Deserialize)]
struct MonitoringSection {
    raw_retention_days: Option<i64>,
    max_concurrent_checks: Option<i64>,
    max_checks_per_host: Option<i64>,
    /// Keys that are not settings: reported as problems with all the others (see `unknown_keys`).
    #[serde(flatten)]
    unknown: UnknownKeys,
}

#[derive(Debug, Default, Deserialize)]
struct VendorsSection {
    retention_days: Option<i64>,
    public: Option<bool>,
    fetch_timeout_seconds: Option<i64>,
    #[serde(default)]
    follow: Vec<vendors::VendorDecl>,
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
    ("PHAROS_PAGE_LOGO_URL", "page.logo_url"),
    ("PHAROS_PAGE_ACCENT_COLOR", "page.accent_color"),
    ("PHAROS_PAGE_FOOTER_TEXT", "page.footer_text"),
    (
        "PHAROS_HTTP_AUTH_FAILURES_PER_MINUTE",
        "http.auth_failures_per_minute",
    ),
    ("PHAROS_HTTP_TRUSTED_PROXIES", "http.trusted_proxies"),
    (
        "PHAROS_MONITORING_RAW_RETENTION_DAYS",
        "monitoring.raw_retention_days",
    ),
    (
        "PHAROS_MONITORING_MAX_CONCURRENT_CHECKS",
        "monitoring.max_concurrent_checks",
    ),
    (
        "PHAROS_MONITORING_MAX_CHECKS_PER_HOST",
        "monitoring.max_checks_per_host",
    ),
    ("PHAROS_VENDORS_RETENTION_DAYS", "vendors.retention_days"),
    ("PHAROS_VENDORS_PUBLIC", "vendors.public"),
    (
        "PHAROS_VENDORS_FETCH_TIMEOUT_SECONDS",
        "vendors.fetch_timeout_seconds",
    ),
    ("PHAROS_NOTIFICATIONS_ENABLED", "notifications.enabled"),
    ("PHAROS_SMTP_PASSWORD", "notifications.smtp.password"),
    ("PHAROS_ADMIN_SECURE_COOKIES", "admin.secure_cookies"),
    (
        "PHAROS_ADMIN_SESSION_IDLE_MINUTES",
        "admin.session_idle_minutes",
    ),
    ("PHAROS_ADMIN_SESSION_MAX_DAYS", "admin.session_max_days"),
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
        ("monitoring", &file.monitoring.unknown),
        ("vendors", &file.vendors.unknown),
        ("admin", &file.admin.unknown),
    ] {
        keys.extend(unknown.keys().map(|k| format!("{section}.{k}")));
    }
    keys.extend(notify::unknown_keys(&file.notifications));
    for (i, v) in file.vendors.follow.iter().enumerate() {
        keys.extend(v.unknown.keys().map(|k| format!("vendors.follow[{i}].{k}")));
    }
    for (i, link) in file.page.footer_links.iter().flatten().enumerate() {
        keys.extend(
            link.unknown
                .keys()
                .map(|k| format!("page.footer_links[{i}].{k}")),
        );
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
    for (i, m) in file.monitors.iter().enumerate() {
        keys.extend(monitors::unknown_keys(i, m));
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
    // A comma-separated list in the environment, a list in the file.
    let trusted_proxies = match env("PHAROS_HTTP_TRUSTED_PROXIES")
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|e| !e.is_empty())
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .or(file.http.trusted_proxies)
    {
        None => Default::default(),
        Some(entries) => crate::http::client::TrustedProxies::parse(&entries).unwrap_or_else(|e| {
            problems.push(format!("http.trusted_proxies: {e}"));
            Default::default()
        }),
    };
    let raw_retention_days = int_setting(
        &mut problems,
        "monitoring.raw_retention_days",
        env("PHAROS_MONITORING_RAW_RETENTION_DAYS"),
        file.monitoring.raw_retention_days,
        14,
        1..=3650,
    );
    let check_limits = crate::monitor::scheduler::CheckLimits {
        max_concurrent: int_setting(
            &mut problems,
            "monitoring.max_concurrent_checks",
            env("PHAROS_MONITORING_MAX_CONCURRENT_CHECKS"),
            file.monitoring.max_concurrent_checks,
            crate::monitor::scheduler::DEFAULT_CONCURRENCY as u32,
            1..=100_000,
        ) as usize,
        per_host: int_setting(
            &mut problems,
            "monitoring.max_checks_per_host",
            env("PHAROS_MONITORING_MAX_CHECKS_PER_HOST"),
            file.monitoring.max_checks_per_host,
            crate::monitor::scheduler::DEFAULT_PER_HOST as u32,
            1..=100_000,
        ) as usize,
    };
    let follow = vendors::declared_vendors(&mut problems, std::mem::take(&mut file.vendors.follow));
    let vendors = VendorSettings {
        follow,
        retention_days: int_setting(
            &mut problems,
            "vendors.retention_days",
            env("PHAROS_VENDORS_RETENTION_DAYS"),
            file.vendors.retention_days,
            365,
            1..=3650,
        ),
        public: match env("PHAROS_VENDORS_PUBLIC") {
            Some(text) => match text.trim() {
                "true" | "1" | "yes" => true,
                "false" | "0" | "no" => false,
                other => {
                    problems.push(format!(
                        "vendors.public: `{other}` is not a boolean; expected true or false"
                    ));
                    true
                }
            },
            None => file.vendors.public.unwrap_or(true),
        },
        fetch_timeout_seconds: int_setting(
            &mut problems,
            "vendors.fetch_timeout_seconds",
            env("PHAROS_VENDORS_FETCH_TIMEOUT_SECONDS"),
            file.vendors.fetch_timeout_seconds,
            15,
            1..=120,
        ),
    };

    let notifications =
        notify::settings(&mut problems, std::mem::take(&mut file.notifications), env);

    let admin = admin::settings(&mut problems, std::mem::take(&mut file.admin), env);

    // Each `[page]` field set here is recorded in `configured`: the web UI may not change it.
    let mut configured = BTreeSet::new();
    let mut set = |field: PageField, value: Option<String>| {
        if value.is_some() {
            configured.insert(field);
        }
        value
    };
    let page_name = set(PageField::Name, env("PHAROS_PAGE_NAME").or(file.page.name))
        .unwrap_or_else(|| page::DEFAULT_NAME.into());
    if let Err(problem) = page::check_name(&page_name) {
        problems.push(format!("page.name: {problem}"));
    }
    let page_url = env("PHAROS_PAGE_URL")
        .or(file.page.url)
        .unwrap_or_else(|| format!("http://{listen}"));
    if !(page_url.starts_with("http://") || page_url.starts_with("https://")) {
        problems.push(format!(
            "page.url: `{page_url}` is not an http(s) URL; expected the page's public address such as https://status.example.com"
        ));
    }
    let time_zone = set(
        PageField::TimeZone,
        env("PHAROS_PAGE_TIME_ZONE").or(file.page.time_zone),
    )
    .unwrap_or_else(|| page::DEFAULT_TIME_ZONE.into());
    if time_zone.parse::<chrono_tz::Tz>().is_err() {
        problems.push(format!(
            "page.time_zone: `{time_zone}` is not an IANA time zone; expected a name such as UTC, Europe/Berlin or America/Los_Angeles (case matters)"
        ));
    }
    let logo_url = set(
        PageField::LogoUrl,
        env("PHAROS_PAGE_LOGO_URL").or(file.page.logo_url),
    );
    if let Some(logo) = &logo_url {
        if !is_link_url(logo) {
            problems.push(format!(
                "page.logo_url: `{logo}` is not an image address; expected an http(s) URL or a path on this site starting with / such as /static/logo.svg"
            ));
        }
    }
    let accent_color = set(
        PageField::AccentColor,
        env("PHAROS_PAGE_ACCENT_COLOR").or(file.page.accent_color),
    )
    .map(|c| c.to_ascii_lowercase());
    if let Some(colour) = &accent_color {
        if !is_hex_colour(colour) {
            problems.push(format!(
                "page.accent_color: `{colour}` is not a colour; expected #rrggbb such as #0b57d0"
            ));
        }
    }
    let footer_text = set(
        PageField::FooterText,
        env("PHAROS_PAGE_FOOTER_TEXT").or(file.page.footer_text),
    );
    let footer_text = match footer_text.as_deref().map(page::check_footer_text) {
        Some(Err(problem)) => {
            problems.push(format!("page.footer_text: {problem}"));
            None
        }
        Some(Ok(text)) => Some(text).filter(|t| !t.is_empty()),
        None => None,
    };
    if file.page.footer_links.is_some() {
        configured.insert(PageField::FooterLinks);
    }
    let footer_links = footer_links(&mut problems, file.page.footer_links.unwrap_or_default());

    let (groups, components) = declared(&mut problems, file.component_groups, file.components);
    let component_keys = components.iter().map(|c| c.key.as_str()).collect();
    let monitors = monitors::declared_monitors(&mut problems, file.monitors, &component_keys);

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
            logo_url,
            accent_color,
            footer_links,
            footer_text,
            vendors_public: vendors.public,
            configured,
        },
        auth_failures_per_minute,
        trusted_proxies,
        raw_retention_days,
        check_limits,
        groups,
        components,
        monitors,
        vendors,
        notifications,
        admin,
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

/// Whether `url` may be put in an `href` or `src` of the page: an `http://` or `https://` URL
/// with a host, or a path on this site (`/about`, but not `//host`, which would leave it). No
/// whitespace or control characters, at most 2048 bytes. Other schemes (`javascript:`,
/// `data:`) are refused. The pages check again when rendering, as the snapshot file on disk is
/// read back.
pub fn is_link_url(url: &str) -> bool {
    if url.is_empty() || url.len() > URL_MAX {
        return false;
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    let lower = url.to_ascii_lowercase();
    let rest = if let Some(rest) = lower.strip_prefix("https://") {
        rest
    } else if let Some(rest) = lower.strip_prefix("http://") {
        rest
    } else {
        return url.starts_with('/') && !url.starts_with("//") && !url.starts_with("/\\");
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    !host.is_empty() && !host.starts_with('@') && !host.starts_with(':')
}

/// Whether `colour` is `#rrggbb` (either case).
pub fn is_hex_colour(colour: &str) -> bool {
    colour.len() == 7
        && colour.starts_with('#')
        && colour[1..].chars().all(|c| c.is_ascii_hexdigit())
}

fn footer_links(problems: &mut Vec<String>, links: Vec<FooterLinkDecl>) -> Vec<FooterLink> {
    if links.len() > FOOTER_LINKS_MAX {
        problems.push(format!(
            "page.footer_links: `{}` links is too many; expected at most {FOOTER_LINKS_MAX}",
            links.len()
        ));
    }
    let mut out = Vec::new();
    for (i, link) in links.into_iter().enumerate() {
        let at = format!("page.footer_links[{i}]");
        match &link.label {
            None => problems.push(format!(
                "{at}.label: missing; expected the link's text, 1 to {FOOTER_LABEL_MAX} characters"
            )),
            Some(label) if label.trim().is_empty() || label.chars().count() > FOOTER_LABEL_MAX => {
                problems.push(format!(
                    "{at}.label: `{label}` must be 1 to {FOOTER_LABEL_MAX} characters"
                ))
            }
            Some(_) => {}
        }
        match &link.url {
            None => problems.push(format!(
                "{at}.url: missing; expected an http(s) URL or a path starting with /"
            )),
            Some(url) if !is_link_url(url) => problems.push(format!(
                "{at}.url: `{url}` is not a link; expected an http(s) URL or a path on this site starting with / such as /about"
            )),
            Some(_) => {}
        }
        if let (Some(label), Some(url)) = (link.label, link.url) {
            out.push(FooterLink {
                label: label.trim().to_string(),
                url,
            });
        }
    }
    out
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
    fn page_fields_set_by_the_file_or_environment_are_marked_configured() {
        let page = from_text("", &no_env).unwrap().page;
        assert!(page.configured.is_empty(), "nothing set: all editable");
        assert_eq!(page.name, "Status");

        let text = "[page]\nname = \"Acme\"\nfooter_text = \"Run by _Acme_\"\n[[page.footer_links]]\nlabel = \"Home\"\nurl = \"/\"\n";
        let env = |k: &str| (k == "PHAROS_PAGE_TIME_ZONE").then(|| "Europe/Berlin".to_string());
        let page = from_text(text, &env).unwrap().page;
        let configured: Vec<_> = page.configured.iter().copied().collect();
        assert_eq!(
            configured,
            [
                PageField::Name,
                PageField::TimeZone,
                PageField::FooterLinks,
                PageField::FooterText
            ]
        );
        assert_eq!(page.footer_text.as_deref(), Some("Run by _Acme_"));

        let long = "x".repeat(1001);
        let err = from_text(&format!("[page]\nfooter_text = \"{long}\"\n"), &no_env)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("page.footer_text: is 1001 characters long"),
            "{err}"
        );
    }

    #[test]
    fn trusted_proxies_come_from_the_file_or_a_comma_separated_variable() {
        assert!(from_text("", &no_env).unwrap().trusted_proxies.is_empty());
        let config = from_text(
            "[http]\ntrusted_proxies = [\"10.0.0.0/8\", \"::1\"]\n",
            &no_env,
        )
        .unwrap();
        let behind = |c: &Config| {
            let mut h = axum::http::HeaderMap::new();
            h.insert("x-forwarded-for", "203.0.113.7".parse().unwrap());
            c.trusted_proxies.client("10.1.2.3".parse().unwrap(), &h)
        };
        assert_eq!(behind(&config).to_string(), "203.0.113.7");
        let env =
            |k: &str| (k == "PHAROS_HTTP_TRUSTED_PROXIES").then(|| "127.0.0.1, 10.0.0.0/8,".into());
        assert_eq!(
            behind(&from_text("", &env).unwrap()).to_string(),
            "203.0.113.7"
        );
        let err = from_text("[http]\ntrusted_proxies = [\"nginx\"]\n", &no_env)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("http.trusted_proxies: `nginx` is not an IP address"),
            "{err}"
        );
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
    fn raw_result_retention_is_configurable_and_checked() {
        assert_eq!(from_text("", &no_env).unwrap().raw_retention_days, 14);
        let config = from_text("[monitoring]\nraw_retention_days = 30\n", &no_env).unwrap();
        assert_eq!(config.raw_retention_days, 30);
        let config = from_text(
            "[vendors]\nretention_days = 30\npublic = false\nfetch_timeout_seconds = 2\n",
            &no_env,
        )
        .unwrap();
        assert_eq!(
            config.vendors,
            VendorSettings {
                retention_days: 30,
                follow: vec![],
                public: false,
                fetch_timeout_seconds: 2
            }
        );
        assert_eq!(
            from_text("", &no_env).unwrap().vendors,
            VendorSettings::default()
        );
        let err = from_text("[vendors]\nfetch_timeout_seconds = 0\npoll = 1\n", &no_env)
            .unwrap_err()
            .to_string();
        assert!(err.contains("vendors.fetch_timeout_seconds"), "{err}");
        assert!(err.contains("vendors.poll"), "{err}");

        // Vendors as code: from the catalog, or with a page and an adapter.
        let config = from_text(
            "[[vendors.follow]]\ncatalog = \"github\"\n\n[[vendors.follow]]\nslug = \"acme\"\nname = \"Acme\"\npage_url = \"https://status.acme.test\"\nadapter = \"statuspage_feed\"\npoll_interval_seconds = 300\ncomponents_of_interest = [\"api\"]\n",
            &no_env,
        )
        .unwrap();
        let follow = &config.vendors.follow;
        assert_eq!(follow.len(), 2);
        assert_eq!(follow[0].slug, "github");
        assert_eq!(follow[0].name, "GitHub");
        assert_eq!(follow[0].page_url, "https://www.githubstatus.com");
        assert_eq!(
            follow[1].adapter,
            crate::vendor::adapter::AdapterKind::StatuspageFeed
        );
        assert_eq!(follow[1].poll_interval_seconds, 300);
        assert_eq!(follow[1].components_of_interest, vec!["api"]);
        let err = from_text(
            "[[vendors.follow]]\ncatalog = \"no-such-vendor\"\n\n[[vendors.follow]]\nslug = \"x\"\npage_url = \"https://x.test\"\n\n[[vendors.follow]]\nslug = \"y\"\npage_url = \"https://y.test\"\nadapter = \"statuspage\"\npoll_interval_seconds = 5\ncolour = \"red\"\n",
            &no_env,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("vendors.follow[0].catalog"), "{err}");
        assert!(err.contains("vendors.follow[1].adapter: missing"), "{err}");
        assert!(
            err.contains("vendors.follow[2]: `poll_interval_seconds`"),
            "{err}"
        );
        assert!(err.contains("vendors.follow[2].colour"), "{err}");
        let env = |k: &str| (k == "PHAROS_MONITORING_RAW_RETENTION_DAYS").then(|| "7".to_string());
        assert_eq!(
            from_text("[monitoring]\nraw_retention_days = 30\n", &env)
                .unwrap()
                .raw_retention_days,
            7
        );
        let err = from_text("[monitoring]\nraw_retention_days = 0\nkeep = 1\n", &no_env)
            .unwrap_err()
            .to_string();
        assert!(err.contains("monitoring.raw_retention_days"), "{err}");
        assert!(err.contains("monitoring.keep"), "{err}");
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
    fn branding_settings_are_read_and_normalised() {
        let text = r##"
[page]
name = "Acme"
time_zone = "America/Los_Angeles"
logo_url = "https://cdn.example.com/logo.svg"
accent_color = "#0B57D0"
[[page.footer_links]]
label = "Home"
url = "https://www.example.com"
[[page.footer_links]]
label = "  Privacy  "
url = "/privacy"
"##;
        let page = from_text(text, &no_env).unwrap().page;
        assert_eq!(page.time_zone, "America/Los_Angeles");
        assert_eq!(
            page.logo_url.as_deref(),
            Some("https://cdn.example.com/logo.svg")
        );
        assert_eq!(page.accent_color.as_deref(), Some("#0b57d0"));
        assert_eq!(
            page.footer_links,
            [
                FooterLink {
                    label: "Home".into(),
                    url: "https://www.example.com".into()
                },
                FooterLink {
                    label: "Privacy".into(),
                    url: "/privacy".into()
                },
            ]
        );

        // Without them: UTC, no logo, no accent, no links.
        let page = from_text("", &no_env).unwrap().page;
        assert_eq!(page.time_zone, "UTC");
        assert!(page.logo_url.is_none() && page.accent_color.is_none());
        assert!(page.footer_links.is_empty());

        // The scalar ones come from the environment too, which beats the file.
        let env = |k: &str| match k {
            "PHAROS_PAGE_LOGO_URL" => Some("/logo.png".to_string()),
            "PHAROS_PAGE_ACCENT_COLOR" => Some("#ff0000".to_string()),
            "PHAROS_PAGE_TIME_ZONE" => Some("Europe/Berlin".to_string()),
            _ => None,
        };
        let page = from_text(text, &env).unwrap().page;
        assert_eq!(page.logo_url.as_deref(), Some("/logo.png"));
        assert_eq!(page.accent_color.as_deref(), Some("#ff0000"));
        assert_eq!(page.time_zone, "Europe/Berlin");
    }

    #[test]
    fn bad_branding_values_are_reported_with_key_and_value() {
        let text = r##"
[page]
time_zone = "Mars/Olympus_Mons"
logo_url = "javascript:alert(1)"
accent_color = "blue"
[[page.footer_links]]
label = "Status"
url = "javascript:alert(1)"
[[page.footer_links]]
label = ""
url = "//evil.example"
[[page.footer_links]]
url = "/about"
target = "_blank"
"##;
        let err = from_text(text, &no_env).unwrap_err();
        let all = err.to_string();
        for needle in [
            "page.time_zone: `Mars/Olympus_Mons` is not an IANA time zone",
            "page.logo_url: `javascript:alert(1)` is not an image address",
            "page.accent_color: `blue` is not a colour; expected #rrggbb",
            "page.footer_links[0].url: `javascript:alert(1)` is not a link",
            "page.footer_links[1].label: `` must be 1 to 60 characters",
            "page.footer_links[1].url: `//evil.example` is not a link",
            "page.footer_links[2].label: missing",
            "`page.footer_links[2].target` is not a setting",
        ] {
            assert!(all.contains(needle), "missing {needle:?} in:\n{all}");
        }
        assert_eq!(err.problems.len(), 8, "{all}");

        // Too many links, and a label too long.
        let mut text = String::from("[page]\n");
        for i in 0..11 {
            text.push_str(&format!(
                "[[page.footer_links]]\nlabel = \"Link {i}\"\nurl = \"/l{i}\"\n"
            ));
        }
        let err = from_text(&text, &no_env).unwrap_err().to_string();
        assert!(
            err.contains("page.footer_links: `11` links is too many; expected at most 10"),
            "{err}"
        );
        let long = "x".repeat(61);
        let err = from_text(
            &format!("[[page.footer_links]]\nlabel = \"{long}\"\nurl = \"/\"\n"),
            &no_env,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains(&format!("page.footer_links[0].label: `{long}`")),
            "{err}"
        );

        // Colours and zones from the environment are checked the same way.
        let env = |k: &str| match k {
            "PHAROS_PAGE_ACCENT_COLOR" => Some("#12345".to_string()),
            "PHAROS_PAGE_TIME_ZONE" => Some("europe/berlin".to_string()),
            _ => None,
        };
        let err = from_text("", &env).unwrap_err().to_string();
        assert!(err.contains("page.accent_color: `#12345`"), "{err}");
        assert!(err.contains("page.time_zone: `europe/berlin`"), "{err}");
    }

    #[test]
    fn link_urls_are_web_addresses_or_site_paths() {
        for good in [
            "https://example.com",
            "http://example.com/a?b#c",
            "HTTPS://Example.com/x",
            "/",
            "/privacy",
            "/static/logo.svg?v=2",
        ] {
            assert!(is_link_url(good), "{good}");
        }
        for bad in [
            "",
            "javascript:alert(1)",
            "data:image/png;base64,xx",
            "//evil.example",
            "/\\evil.example",
            "https://",
            "https:///path",
            "ftp://example.com",
            "example.com",
            "https://exa mple.com",
            "/a\nb",
        ] {
            assert!(!is_link_url(bad), "{bad:?}");
        }
        assert!(!is_link_url(&format!("/{}", "a".repeat(2048))));
        assert!(is_hex_colour("#0b57D0"));
        for bad in ["0b57d0", "#0b57d", "#0b57d0f", "#gggggg", "#0b57d0 "] {
            assert!(!is_hex_colour(bad), "{bad}");
        }
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
