//! The responder commands: `pharos incident open|update|resolve|list|show`, `pharos component
//! set|list` and `pharos status`. They talk to a running `pharos serve` over HTTP, the
//! management API (`/api/v1`, with a bearer token) and the public summary
//! (`/api/v2/summary.json`, without one); they never open the database.
//!
//! What this module owns: finding the server and the token (`--url`/`--token`, else
//! `PHAROS_URL`/`PHAROS_TOKEN`), turning what a responder types (a component's name, key or
//! id, optionally `=STATUS`; an incident's short id) into the ids the API takes, and printing
//! the results as text for people or, with `--json`, as the API's own JSON for scripts.
//!
//! What it must not do: print or log the token (it travels only in a header marked
//! sensitive, and no message is built from it), or fail with more than one line: every
//! failure is one `error: ...` line on stderr and an exit code of its class ([`Failure`]).

use crate::clock::Clock;
use crate::domain::model::{Component, ComponentGroup, Incident};
use crate::domain::{ComponentStatus, IncidentImpact, IncidentStatus, Timestamp};
use crate::http::public::html::human_duration;
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Args, Subcommand};
use reqwest::header::{HeaderValue, AUTHORIZATION};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::io::{IsTerminal, Read};
use std::process::ExitCode;
use std::time::Duration;

/// The help text every responder command ends with.
pub const REMOTE_HELP: &str = "\
These commands talk to a running `pharos serve`:
  PHAROS_URL     its address, e.g. http://127.0.0.1:8080 (or --url)
  PHAROS_TOKEN   an API token with scope `write`, made on the server with
                 `pharos token create --name NAME --scope write` (prefer this variable
                 to --token, which other users can see in the process list)

Exit codes:
  0  done
  1  the API refused the request (validation, not found, conflict) or failed
  2  usage: bad arguments, or PHAROS_URL / PHAROS_TOKEN not set
  3  cannot reach the server (down, timeout, not ready) or the token was refused (401, 403, 429)";

/// Where the server is, how long to wait for it, and how to print.
#[derive(Debug, Args)]
#[command(next_help_heading = "Server")]
pub struct ServerArgs {
    /// The address of `pharos serve`, e.g. http://127.0.0.1:8080.
    #[arg(long, env = "PHAROS_URL", value_name = "URL")]
    pub url: Option<String>,
    /// Seconds to wait for an answer.
    #[arg(long, value_name = "SECS", default_value_t = 10,
        value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,
    /// Print the API's JSON (an object, or an array for lists) on stdout and nothing else.
    #[arg(long)]
    pub json: bool,
}

/// The server arguments and an API token.
#[derive(Debug, Args)]
#[command(next_help_heading = "Server")]
pub struct RemoteArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// API token. Prefer the PHAROS_TOKEN environment variable: a flag is visible to other
    /// users in the process list and is kept in your shell history.
    #[arg(
        long,
        env = "PHAROS_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum IncidentCommand {
    /// Open an incident, with its first update, on some components.
    #[command(after_help = REMOTE_HELP)]
    Open {
        /// What the page shows as the incident's title.
        #[arg(long)]
        name: String,
        /// The first update's text (Markdown); `-` reads it from stdin.
        #[arg(long, short)]
        message: String,
        /// none, minor, major or critical [default: from the worst component status set].
        #[arg(long, value_parser = impact_parser())]
        impact: Option<IncidentImpact>,
        /// The first status [default: investigating].
        #[arg(long, value_parser = update_status_parser())]
        status: Option<IncidentStatus>,
        /// An affected component: its name (any case), key or id, optionally with the status
        /// the incident sets on it (`api=major_outage`). Repeat for several.
        #[arg(long = "component", short, value_name = "NAME[=STATUS]",
            value_parser = parse_component_arg)]
        components: Vec<ComponentArg>,
        /// When the problem began, if before now (RFC 3339, e.g. 2026-11-28T14:05:00Z).
        #[arg(long, value_name = "TIME")]
        started_at: Option<String>,
        #[command(flatten)]
        remote: RemoteArgs,
    },
    /// Post an update to an incident: a new status, text, impact or component statuses.
    #[command(after_help = REMOTE_HELP)]
    Update {
        /// The incident's id or short id (as `pharos incident list` shows it).
        id: String,
        /// The update's text (Markdown); `-` reads it from stdin.
        #[arg(long, short)]
        message: String,
        /// The incident's new status [default: unchanged]; `resolved` resolves it.
        #[arg(long, value_parser = update_status_parser())]
        status: Option<IncidentStatus>,
        /// A new impact.
        #[arg(long, value_parser = impact_parser())]
        impact: Option<IncidentImpact>,
        /// A component this update names, optionally with its status (`api=degraded_performance`).
        /// Repeat for several.
        #[arg(long = "component", short, value_name = "NAME[=STATUS]",
            value_parser = parse_component_arg)]
        components: Vec<ComponentArg>,
        #[command(flatten)]
        remote: RemoteArgs,
    },
    /// Resolve an incident; the statuses it held on components are released.
    #[command(after_help = REMOTE_HELP)]
    Resolve {
        /// The incident's id or short id.
        id: String,
        /// The final update's text [default: a standard sentence]; `-` reads it from stdin.
        #[arg(long, short)]
        message: Option<String>,
        #[command(flatten)]
        remote: RemoteArgs,
    },
    /// List open incidents (all of them with --all), newest first.
    #[command(after_help = REMOTE_HELP)]
    List {
        /// Include resolved incidents.
        #[arg(long)]
        all: bool,
        /// At most this many.
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=10_000))]
        limit: u32,
        #[command(flatten)]
        remote: RemoteArgs,
    },
    /// Show one incident with its update timeline.
    #[command(after_help = REMOTE_HELP)]
    Show {
        /// The incident's id or short id.
        id: String,
        #[command(flatten)]
        remote: RemoteArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum ComponentCommand {
    /// Set a component's status by hand.
    #[command(after_help = REMOTE_HELP)]
    Set {
        /// The component's name (any case), key or id.
        name: String,
        /// The new status.
        #[arg(value_parser = component_status_parser())]
        status: ComponentStatus,
        #[command(flatten)]
        remote: RemoteArgs,
    },
    /// List components with their status, group, key and id.
    #[command(after_help = REMOTE_HELP)]
    List {
        #[command(flatten)]
        remote: RemoteArgs,
    },
}

/// `pharos status`: the page in the terminal. Needs no token.
#[derive(Debug, Args)]
#[command(after_help = REMOTE_HELP)]
pub struct StatusArgs {
    #[command(flatten)]
    pub server: ServerArgs,
}

fn impact_parser() -> impl TypedValueParser<Value = IncidentImpact> {
    PossibleValuesParser::new(IncidentImpact::ALL.iter().map(|i| i.as_str()))
        .try_map(|s| s.parse::<IncidentImpact>())
}

/// Statuses an update may set: `postmortem` is reached by publishing one, not by an update.
const UPDATE_STATUSES: [IncidentStatus; 4] = [
    IncidentStatus::Investigating,
    IncidentStatus::Identified,
    IncidentStatus::Monitoring,
    IncidentStatus::Resolved,
];

fn update_status_parser() -> impl TypedValueParser<Value = IncidentStatus> {
    PossibleValuesParser::new(UPDATE_STATUSES.iter().map(|s| s.as_str()))
        .try_map(|s| s.parse::<IncidentStatus>())
}

fn component_status_parser() -> impl TypedValueParser<Value = ComponentStatus> {
    PossibleValuesParser::new(ComponentStatus::ALL.iter().map(|s| s.as_str()))
        .try_map(|s| s.parse::<ComponentStatus>())
}

/// A `--component` argument: what names the component, and the status to set, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct ComponentArg {
    pub wanted: String,
    pub status: Option<ComponentStatus>,
}

fn parse_component_arg(text: &str) -> Result<ComponentArg, String> {
    let (wanted, status) = match text.rsplit_once('=') {
        Some((wanted, status)) => {
            let status = status
                .trim()
                .parse::<ComponentStatus>()
                .map_err(|e| format!("`{text}`: {e} (give NAME or NAME=STATUS)"))?;
            (wanted, Some(status))
        }
        None => (text, None),
    };
    let wanted = wanted.trim();
    if wanted.is_empty() {
        return Err(format!("`{text}` names no component"));
    }
    Ok(ComponentArg {
        wanted: wanted.to_string(),
        status,
    })
}

/// Why a command failed, which decides its exit code. Every message is one line.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// The API refused the request or failed (exit 1).
    Api(String),
    /// The command line or environment is incomplete (exit 2, as clap's usage errors).
    Usage(String),
    /// No usable answer from the server, or the token was refused (exit 3).
    Unreachable(String),
}

impl Failure {
    fn exit_code(&self) -> u8 {
        match self {
            Failure::Api(_) => 1,
            Failure::Usage(_) => 2,
            Failure::Unreachable(_) => 3,
        }
    }

    fn message(&self) -> &str {
        match self {
            Failure::Api(m) | Failure::Usage(m) | Failure::Unreachable(m) => m,
        }
    }
}

/// Text folded onto one line with control characters (a server's message, a name) removed,
/// so an error stays one line and cannot move the cursor.
fn one_line(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    cleaned.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Multi-line text for display with control characters other than newlines removed.
fn printable(text: &str) -> String {
    text.chars()
        .filter(|c| *c == '\n' || !c.is_control())
        .collect()
}

fn finish(result: Result<(), Failure>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {}", one_line(failure.message()));
            ExitCode::from(failure.exit_code())
        }
    }
}

/// The token, kept out of `Debug` output so no log or panic can show it.
struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// A client of one Pharos server.
#[derive(Debug)]
struct Api {
    http: reqwest::Client,
    /// The server's address without a trailing slash or user info: for URLs, messages and links.
    base: String,
    token: Option<Secret>,
    timeout_secs: u64,
}

impl Api {
    /// A client from the arguments; `with_token` says whether this command needs the token.
    fn new(server: &ServerArgs, token: Option<&str>, with_token: bool) -> Result<Api, Failure> {
        let Some(raw) = server
            .url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
        else {
            return Err(Failure::Usage(
                "no server address: set PHAROS_URL to the address of `pharos serve` (e.g. http://127.0.0.1:8080), or pass --url".into(),
            ));
        };
        let base = parse_base(raw)?;
        let token = if with_token {
            let Some(token) = token.map(str::trim).filter(|t| !t.is_empty()) else {
                return Err(Failure::Usage(
                    "no API token: set PHAROS_TOKEN to a token with scope `write` (make one on the server with `pharos token create --name NAME --scope write`)".into(),
                ));
            };
            if !token.chars().all(|c| c.is_ascii_graphic()) {
                return Err(Failure::Usage(
                    "PHAROS_TOKEN is not a Pharos token: it contains spaces, control or non-ASCII characters".into(),
                ));
            }
            Some(Secret(token.to_string()))
        } else {
            None
        };
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(server.timeout))
            .connect_timeout(Duration::from_secs(server.timeout))
            .user_agent(concat!("pharos-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Failure::Api(format!("cannot set up the HTTP client: {e}")))?;
        Ok(Api {
            http,
            base,
            token,
            timeout_secs: server.timeout,
        })
    }

    /// Sends one request; returns the JSON answer (`Null` for an empty one).
    async fn call(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Value, Failure> {
        let url = format!("{}{path}", self.base);
        let mut req = self.http.request(method, &url);
        if !query.is_empty() {
            req = req.query(query);
        }
        if let Some(token) = &self.token {
            let mut value =
                HeaderValue::from_str(&format!("Bearer {}", token.0)).map_err(|_| {
                    Failure::Usage("PHAROS_TOKEN cannot be sent in an HTTP header".into())
                })?;
            value.set_sensitive(true);
            req = req.header(AUTHORIZATION, value);
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        let resp = req.send().await.map_err(|e| self.transport_failure(&e))?;
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let bytes = resp.bytes().await.map_err(|e| self.transport_failure(&e))?;
        if status.is_success() {
            if bytes.is_empty() {
                return Ok(Value::Null);
            }
            return serde_json::from_slice(&bytes).map_err(|_| {
                Failure::Api(format!(
                    "{} answered {path} with something that is not JSON; is PHAROS_URL the address of `pharos serve`?",
                    self.base
                ))
            });
        }
        Err(self.status_failure(status, path, &bytes, retry_after))
    }

    fn transport_failure(&self, err: &reqwest::Error) -> Failure {
        if err.is_timeout() {
            return Failure::Unreachable(format!(
                "Pharos at {} did not answer within {} s; is it overloaded or stuck? wait longer with --timeout",
                self.base, self.timeout_secs
            ));
        }
        Failure::Unreachable(format!(
            "cannot reach Pharos at {}: {}; is `pharos serve` running? set PHAROS_URL to its address",
            self.base,
            root_cause(err)
        ))
    }

    fn status_failure(
        &self,
        status: StatusCode,
        path: &str,
        body: &[u8],
        retry_after: Option<String>,
    ) -> Failure {
        #[derive(Deserialize)]
        struct ErrorBody {
            error: ErrorDetail,
        }
        #[derive(Deserialize)]
        struct ErrorDetail {
            message: String,
        }
        let Ok(parsed) = serde_json::from_slice::<ErrorBody>(body) else {
            return Failure::Api(format!(
                "{} answered {path} with {status} and no Pharos error; is PHAROS_URL the address of `pharos serve`?",
                self.base
            ));
        };
        let message = one_line(&parsed.error.message);
        match status {
            StatusCode::UNAUTHORIZED => Failure::Unreachable(format!(
                "{message}; set PHAROS_TOKEN to an active token (make one on the server with `pharos token create --name NAME --scope write`)"
            )),
            StatusCode::FORBIDDEN => Failure::Unreachable(format!(
                "{message}; set PHAROS_TOKEN to a token with scope `write` (`pharos token create --name NAME --scope write`)"
            )),
            StatusCode::TOO_MANY_REQUESTS => Failure::Unreachable(match retry_after {
                Some(secs) => format!("{message}; try again in {secs} s"),
                None => message,
            }),
            StatusCode::SERVICE_UNAVAILABLE => Failure::Unreachable(format!(
                "Pharos at {} is not ready: {message}",
                self.base
            )),
            s if s.is_server_error() => Failure::Api(format!(
                "Pharos at {} failed ({s}): {message}",
                self.base
            )),
            _ => Failure::Api(message),
        }
    }

    async fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Value, Failure> {
        self.call(Method::GET, path, query, None).await
    }

    /// Up to `max` items of a paged `/api/v1` list, following `next_cursor`.
    async fn list(
        &self,
        path: &str,
        query: &[(&str, String)],
        max: usize,
    ) -> Result<Vec<Value>, Failure> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let left = max - items.len();
            let mut q: Vec<(&str, String)> = query.to_vec();
            q.push(("limit", left.min(500).to_string()));
            if let Some(c) = &cursor {
                q.push(("cursor", c.clone()));
            }
            let page = self.get(path, &q).await?;
            let data = page
                .get("data")
                .and_then(Value::as_array)
                .ok_or_else(|| self.unexpected(path))?;
            items.extend(data.iter().cloned());
            cursor = page
                .get("next_cursor")
                .and_then(Value::as_str)
                .map(str::to_string);
            if cursor.is_none() || items.len() >= max || data.is_empty() {
                items.truncate(max);
                return Ok(items);
            }
        }
    }

    fn unexpected(&self, path: &str) -> Failure {
        Failure::Api(format!(
            "{} answered {path} with JSON this version of pharos does not understand; is the server the same version?",
            self.base
        ))
    }

    fn typed<T: DeserializeOwned>(&self, path: &str, value: &Value) -> Result<T, Failure> {
        T::deserialize(value).map_err(|_| self.unexpected(path))
    }

    async fn components(&self) -> Result<(Vec<Value>, Vec<Component>), Failure> {
        let path = "/api/v1/components";
        let raw = self.list(path, &[], usize::MAX).await?;
        let typed = raw
            .iter()
            .map(|v| self.typed(path, v))
            .collect::<Result<_, _>>()?;
        Ok((raw, typed))
    }

    async fn groups(&self) -> Result<Vec<ComponentGroup>, Failure> {
        let path = "/api/v1/component-groups";
        self.list(path, &[], usize::MAX)
            .await?
            .iter()
            .map(|v| self.typed(path, v))
            .collect()
    }

    /// The incident an id or short id names.
    async fn incident(&self, id: &str) -> Result<Incident, Failure> {
        let id = id.trim();
        if uuid::Uuid::parse_str(id).is_ok() {
            let path = format!("/api/v1/incidents/{id}");
            let value = self.get(&path, &[]).await?;
            return self.typed(&path, &value);
        }
        if id.is_empty() || id.len() > 64 || !id.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(Failure::Usage(format!(
                "`{}` is not an incident id or short id (see `pharos incident list --all`)",
                one_line(id)
            )));
        }
        // The API takes only full ids, so a short id is looked up in the list: open incidents
        // first (what a responder updates), then all of them.
        let path = "/api/v1/incidents";
        for state in [Some("open"), None] {
            let query: Vec<(&str, String)> = state
                .map(|s| vec![("state", s.to_string())])
                .unwrap_or_default();
            let mut cursor: Option<String> = None;
            loop {
                let mut q = query.clone();
                q.push(("limit", "500".into()));
                if let Some(c) = &cursor {
                    q.push(("cursor", c.clone()));
                }
                let page = self.get(path, &q).await?;
                let data = page
                    .get("data")
                    .and_then(Value::as_array)
                    .ok_or_else(|| self.unexpected(path))?;
                for item in data {
                    let short = item.get("short_id").and_then(Value::as_str);
                    if short.is_some_and(|s| s.eq_ignore_ascii_case(id)) {
                        return self.typed(path, item);
                    }
                }
                cursor = page
                    .get("next_cursor")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                if cursor.is_none() || data.is_empty() {
                    break;
                }
            }
        }
        Err(Failure::Api(format!(
            "no incident with the id or short id `{id}`; see `pharos incident list --all`"
        )))
    }
}

/// `PHAROS_URL` as a base URL: `http://` is assumed when no scheme is given; a trailing
/// slash and any user info are dropped.
fn parse_base(raw: &str) -> Result<String, Failure> {
    let with_scheme = if raw.contains("://") {
        raw.to_string()
    } else {
        format!("http://{raw}")
    };
    let bad = || {
        Failure::Usage(format!(
            "PHAROS_URL `{}` is not an http(s) address such as http://127.0.0.1:8080",
            one_line(&crate::config::redact_url(raw))
        ))
    };
    let mut url = url::Url::parse(&with_scheme).map_err(|_| bad())?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(bad());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad());
    }
    let _ = url.set_username("");
    let _ = url.set_password(None);
    Ok(url.as_str().trim_end_matches('/').to_string())
}

/// The innermost cause of a transport error, in words: "connection refused", a DNS failure,
/// a TLS problem.
fn root_cause(err: &reqwest::Error) -> String {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    let mut last = err.to_string();
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => return "connection refused".into(),
                std::io::ErrorKind::ConnectionReset => return "connection reset".into(),
                std::io::ErrorKind::TimedOut => return "connection timed out".into(),
                _ => {}
            }
        }
        last = e.to_string();
        source = e.source();
    }
    // `os error 111` and the like say nothing more to a reader.
    match last.find(" (os error") {
        Some(i) => last[..i].to_string(),
        None => last,
    }
}

/// Reads `--message -` from stdin; other values are the text itself.
fn message_text(message: String) -> Result<String, Failure> {
    if message != "-" {
        return Ok(message);
    }
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| Failure::Usage(format!("cannot read the message from stdin: {e}")))?;
    let text = text.trim_end().to_string();
    if text.trim().is_empty() {
        return Err(Failure::Usage(
            "the message read from stdin (`--message -`) is empty".into(),
        ));
    }
    Ok(text)
}

/// The component `wanted` names. Tried in order, the first kind that matches wins: its id,
/// its configuration key, its name in any case, then its name or key with case, spaces and
/// punctuation ignored (`api-gateway` for "API Gateway"). Two matches of one kind are
/// ambiguous; none gives one line naming the near and the known components.
fn find_component<'a>(components: &'a [Component], wanted: &str) -> Result<&'a Component, String> {
    let lower = wanted.to_lowercase();
    let folded = fold(wanted);
    let tiers: [&dyn Fn(&Component) -> bool; 4] = [
        &|c| c.id.to_string().eq_ignore_ascii_case(wanted),
        &|c| {
            c.config_key
                .as_deref()
                .is_some_and(|k| k.eq_ignore_ascii_case(wanted))
        },
        &|c| c.name.to_lowercase() == lower,
        &|c| {
            !folded.is_empty()
                && (fold(&c.name) == folded
                    || c.config_key.as_deref().map(fold) == Some(folded.clone()))
        },
    ];
    for tier in tiers {
        let found: Vec<&Component> = components.iter().filter(|c| tier(c)).collect();
        match found.as_slice() {
            [] => continue,
            [one] => return Ok(one),
            many => {
                let names: Vec<String> = many
                    .iter()
                    .map(|c| format!("{} ({})", c.name, c.id))
                    .collect();
                return Err(format!(
                    "component \"{wanted}\" is ambiguous: {}; give its id",
                    names.join(", ")
                ));
            }
        }
    }
    if components.is_empty() {
        return Err(format!(
            "unknown component \"{wanted}\"; the server has no components yet"
        ));
    }
    let handles: Vec<&str> = components.iter().map(handle).collect();
    let mut near: Vec<(usize, &str)> = handles
        .iter()
        .map(|h| (distance(&lower, &h.to_lowercase()), *h))
        .filter(|(d, h)| {
            *d <= (lower.chars().count() / 3).max(1)
                || (lower.len() >= 3 && h.to_lowercase().contains(&lower))
        })
        .collect();
    near.sort();
    let mut message = format!("unknown component \"{wanted}\"");
    if !near.is_empty() {
        let near: Vec<String> = near
            .iter()
            .take(3)
            .map(|(_, h)| format!("\"{h}\""))
            .collect();
        message.push_str(&format!("; did you mean {}?", near.join(" or ")));
        message.push_str(" known:");
    } else {
        message.push_str("; known:");
    }
    const SHOWN: usize = 15;
    let mut known = handles
        .iter()
        .take(SHOWN)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    if handles.len() > SHOWN {
        known.push_str(&format!(
            ", ... ({} more; see `pharos component list`)",
            handles.len() - SHOWN
        ));
    }
    message.push_str(&format!(" {known}"));
    Err(message)
}

/// What a responder types for a component: its key when it has one, else its name.
fn handle(c: &Component) -> &str {
    c.config_key.as_deref().unwrap_or(&c.name)
}

fn fold(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Levenshtein distance, for "did you mean".
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(row[j]).min(row[j + 1])
            };
            prev = cur;
        }
    }
    row[b.len()]
}

/// `components` and `component_ids` of an incident or update body, from `--component`s.
fn component_fields(
    components: &[Component],
    args: &[ComponentArg],
    body: &mut Map<String, Value>,
) -> Result<(), Failure> {
    let mut statuses = BTreeMap::new();
    let mut ids = Vec::new();
    for arg in args {
        let c = find_component(components, &arg.wanted).map_err(Failure::Api)?;
        let id = c.id.to_string();
        match arg.status {
            Some(status) => {
                ids.retain(|i| i != &id);
                statuses.insert(id, json!(status));
            }
            None if !statuses.contains_key(&id) && !ids.contains(&id) => ids.push(id),
            None => {}
        }
    }
    if !statuses.is_empty() {
        body.insert(
            "components".into(),
            Value::Object(statuses.into_iter().collect()),
        );
    }
    if !ids.is_empty() {
        body.insert("component_ids".into(), json!(ids));
    }
    Ok(())
}

/// Colours for a terminal, off when stdout is not one or `NO_COLOR` is set.
#[derive(Clone, Copy)]
struct Paint {
    on: bool,
}

impl Paint {
    fn for_stdout() -> Paint {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Paint {
            on: !no_color && std::io::stdout().is_terminal(),
        }
    }

    fn wrap(self, code: &str, text: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    fn bold(self, text: &str) -> String {
        self.wrap("1", text)
    }

    fn dim(self, text: &str) -> String {
        self.wrap("2", text)
    }

    fn component(self, status: &str, text: &str) -> String {
        let code = match status {
            "operational" => "32",
            "degraded_performance" => "33",
            "partial_outage" => "38;5;208",
            "major_outage" => "1;31",
            "under_maintenance" => "34",
            _ => "0",
        };
        self.wrap(code, text)
    }

    fn impact(self, impact: &str, text: &str) -> String {
        let code = match impact {
            "none" => "32",
            "minor" => "33",
            "major" => "38;5;208",
            "critical" => "1;31",
            "maintenance" => "34",
            _ => "0",
        };
        self.wrap(code, text)
    }
}

fn component_label(status: &str) -> String {
    match status {
        "operational" => "Operational".into(),
        "degraded_performance" => "Degraded performance".into(),
        "partial_outage" => "Partial outage".into(),
        "major_outage" => "Major outage".into(),
        "under_maintenance" => "Under maintenance".into(),
        other => one_line(other),
    }
}

fn capitalised(text: &str) -> String {
    let text = one_line(&text.replace('_', " "));
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => text,
    }
}

fn when(t: Timestamp) -> String {
    t.0.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// How long an incident lasted, or has lasted until now.
fn lasted(incident: &Incident, now: Timestamp) -> String {
    let end = incident.resolved_at.unwrap_or(now);
    human_duration(end.0 - incident.started_at.0)
}

/// Pads `text` to `width` characters, cutting it with an ellipsis when longer.
fn cell(text: &str, width: usize) -> String {
    let count = text.chars().count();
    if count > width {
        let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
        cut.push('…');
        cut
    } else {
        format!("{text}{}", " ".repeat(width - count))
    }
}

fn print_json(value: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).expect("a JSON value serialises")
    );
}

/// The components an incident affects, as "API (major outage), Website".
fn affected_text(incident: &Incident, components: &[Component]) -> String {
    incident
        .components
        .iter()
        .map(|ic| {
            let name = components
                .iter()
                .find(|c| c.id == ic.component_id)
                .map(|c| one_line(&c.name))
                .unwrap_or_else(|| ic.component_id.to_string());
            match ic.status {
                Some(s) => format!("{name} ({})", component_label(s.as_str()).to_lowercase()),
                None => name,
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// One line saying what an incident is now.
fn incident_line(api: &Api, verb: &str, incident: &Incident, components: &[Component]) {
    println!(
        "{verb} incident {} \"{}\": {}, {} impact",
        incident.short_id,
        one_line(&incident.name),
        incident.status,
        incident.impact
    );
    let affected = affected_text(incident, components);
    if !affected.is_empty() {
        println!("  components: {affected}");
    }
    println!("  {}/incidents/{}", api.base, incident.short_id);
}

/// `pharos incident ...`.
pub async fn incident(cmd: IncidentCommand, clock: &dyn Clock) -> ExitCode {
    finish(run_incident(cmd, clock).await)
}

async fn run_incident(cmd: IncidentCommand, clock: &dyn Clock) -> Result<(), Failure> {
    match cmd {
        IncidentCommand::Open {
            name,
            message,
            impact,
            status,
            components,
            started_at,
            remote,
        } => {
            let api = Api::new(&remote.server, remote.token.as_deref(), true)?;
            let message = message_text(message)?;
            let (_, known) = api.components().await?;
            let mut body = Map::new();
            body.insert("name".into(), json!(name));
            body.insert("body".into(), json!(message));
            if let Some(impact) = impact {
                body.insert("impact".into(), json!(impact));
            }
            if let Some(status) = status {
                body.insert("status".into(), json!(status));
            }
            if let Some(t) = started_at {
                body.insert("started_at".into(), json!(t));
            }
            component_fields(&known, &components, &mut body)?;
            let path = "/api/v1/incidents";
            let created = api
                .call(Method::POST, path, &[], Some(&Value::Object(body)))
                .await?;
            if remote.server.json {
                print_json(&created);
            } else {
                let incident: Incident = api.typed(path, &created)?;
                incident_line(&api, "opened", &incident, &known);
            }
            Ok(())
        }
        IncidentCommand::Update {
            id,
            message,
            status,
            impact,
            components,
            remote,
        } => {
            let api = Api::new(&remote.server, remote.token.as_deref(), true)?;
            let message = message_text(message)?;
            let incident = api.incident(&id).await?;
            let known = if components.is_empty() && remote.server.json {
                Vec::new()
            } else {
                api.components().await?.1
            };
            let mut body = Map::new();
            body.insert("body".into(), json!(message));
            if let Some(status) = status {
                body.insert("status".into(), json!(status));
            }
            if let Some(impact) = impact {
                body.insert("impact".into(), json!(impact));
            }
            component_fields(&known, &components, &mut body)?;
            let path = format!("/api/v1/incidents/{}/updates", incident.id);
            let updated = api
                .call(Method::POST, &path, &[], Some(&Value::Object(body)))
                .await?;
            if remote.server.json {
                print_json(&updated);
            } else {
                let incident: Incident = api.typed(&path, &updated)?;
                incident_line(&api, "updated", &incident, &known);
            }
            Ok(())
        }
        IncidentCommand::Resolve {
            id,
            message,
            remote,
        } => {
            let api = Api::new(&remote.server, remote.token.as_deref(), true)?;
            let message = message.map(message_text).transpose()?;
            let incident = api.incident(&id).await?;
            let path = format!("/api/v1/incidents/{}/resolve", incident.id);
            let body = message.map(|m| json!({ "body": m }));
            let resolved = api.call(Method::POST, &path, &[], body.as_ref()).await?;
            if remote.server.json {
                print_json(&resolved);
            } else {
                let incident: Incident = api.typed(&path, &resolved)?;
                println!(
                    "resolved incident {} \"{}\"; it lasted {}",
                    incident.short_id,
                    one_line(&incident.name),
                    lasted(&incident, clock.now())
                );
            }
            Ok(())
        }
        IncidentCommand::List { all, limit, remote } => {
            let api = Api::new(&remote.server, remote.token.as_deref(), true)?;
            let path = "/api/v1/incidents";
            let query: Vec<(&str, String)> = if all {
                Vec::new()
            } else {
                vec![("state", "open".into())]
            };
            let raw = api.list(path, &query, limit as usize).await?;
            if remote.server.json {
                print_json(&Value::Array(raw));
                return Ok(());
            }
            let incidents: Vec<Incident> = raw
                .iter()
                .map(|v| api.typed(path, v))
                .collect::<Result<_, _>>()?;
            print_incident_table(&incidents, all, limit, clock.now(), Paint::for_stdout());
            Ok(())
        }
        IncidentCommand::Show { id, remote } => {
            let api = Api::new(&remote.server, remote.token.as_deref(), true)?;
            let incident = api.incident(&id).await?;
            if remote.server.json {
                // The list answers the same shape as the single resource; print the resource.
                let path = format!("/api/v1/incidents/{}", incident.id);
                print_json(&api.get(&path, &[]).await?);
                return Ok(());
            }
            let (_, known) = api.components().await?;
            print_incident(&api, &incident, &known, clock.now(), Paint::for_stdout());
            Ok(())
        }
    }
}

fn print_incident_table(
    incidents: &[Incident],
    all: bool,
    limit: u32,
    now: Timestamp,
    paint: Paint,
) {
    if incidents.is_empty() {
        println!(
            "{}",
            if all {
                "no incidents"
            } else {
                "no open incidents"
            }
        );
        return;
    }
    let name_width = incidents
        .iter()
        .map(|i| i.name.chars().count())
        .max()
        .unwrap_or(4)
        .clamp(4, 48);
    println!(
        "{}",
        paint.bold(&format!(
            "{:<12}  {:<8}  {:<13}  {}  {:<20}  DURATION",
            "ID",
            "IMPACT",
            "STATUS",
            cell("NAME", name_width),
            "STARTED"
        ))
    );
    for i in incidents {
        println!(
            "{:<12}  {}  {:<13}  {}  {:<20}  {}",
            i.short_id,
            paint.impact(i.impact.as_str(), &cell(i.impact.as_str(), 8)),
            i.status.as_str(),
            cell(&one_line(&i.name), name_width),
            when(i.started_at),
            lasted(i, now)
        );
    }
    if incidents.len() as u32 >= limit {
        println!(
            "{}",
            paint.dim(&format!("(the first {limit}; more with --limit)"))
        );
    }
}

fn print_incident(api: &Api, i: &Incident, components: &[Component], now: Timestamp, paint: Paint) {
    println!("{}  {}", i.short_id, paint.bold(&one_line(&i.name)));
    println!(
        "  status: {}   impact: {}   source: {}",
        i.status,
        paint.impact(i.impact.as_str(), i.impact.as_str()),
        i.source.kind
    );
    let ended = match i.resolved_at {
        Some(t) => format!("resolved {}", when(t)),
        None => "still open".into(),
    };
    println!(
        "  started {} ({}), {ended}",
        when(i.started_at),
        lasted(i, now)
    );
    let affected = affected_text(i, components);
    if !affected.is_empty() {
        println!("  components: {affected}");
    }
    println!(
        "  id: {}   page: {}/incidents/{}",
        i.id, api.base, i.short_id
    );
    for u in &i.updates {
        println!();
        println!(
            "  {}  {}",
            paint.dim(&when(u.created_at)),
            paint.bold(&capitalised(u.status.as_str()))
        );
        for line in printable(&u.body).lines() {
            println!("    {line}");
        }
        for a in &u.affected_components {
            let change = if a.old_status == a.new_status {
                component_label(a.new_status.as_str()).to_lowercase()
            } else {
                format!(
                    "{} → {}",
                    component_label(a.old_status.as_str()).to_lowercase(),
                    component_label(a.new_status.as_str()).to_lowercase()
                )
            };
            println!("    {} {}: {change}", paint.dim("·"), one_line(&a.name));
        }
    }
}

/// `pharos component ...`.
pub async fn component(cmd: ComponentCommand) -> ExitCode {
    finish(run_component(cmd).await)
}

async fn run_component(cmd: ComponentCommand) -> Result<(), Failure> {
    match cmd {
        ComponentCommand::Set {
            name,
            status,
            remote,
        } => {
            let api = Api::new(&remote.server, remote.token.as_deref(), true)?;
            let (_, known) = api.components().await?;
            let c = find_component(&known, &name).map_err(Failure::Api)?;
            let path = format!("/api/v1/components/{}", c.id);
            let updated = api
                .call(
                    Method::PATCH,
                    &path,
                    &[],
                    Some(&json!({ "status": status })),
                )
                .await?;
            if remote.server.json {
                print_json(&updated);
                return Ok(());
            }
            let after: Component = api.typed(&path, &updated)?;
            let mut line = format!(
                "{}: {} (was {})",
                one_line(&after.name),
                after.status,
                c.status
            );
            if after.status != status {
                line.push_str(&format!(
                    "; set by hand to {status}, shown as {} while an incident or maintenance holds it",
                    after.status
                ));
            }
            println!("{line}");
            Ok(())
        }
        ComponentCommand::List { remote } => {
            let api = Api::new(&remote.server, remote.token.as_deref(), true)?;
            let (raw, known) = api.components().await?;
            if remote.server.json {
                print_json(&Value::Array(raw));
                return Ok(());
            }
            let groups = api.groups().await?;
            print_component_table(&known, &groups, Paint::for_stdout());
            Ok(())
        }
    }
}

fn print_component_table(components: &[Component], groups: &[ComponentGroup], paint: Paint) {
    if components.is_empty() {
        println!("no components");
        return;
    }
    let group_name = |c: &Component| {
        c.group_id
            .and_then(|g| groups.iter().find(|x| x.id == g))
            .map(|g| one_line(&g.name))
            .unwrap_or_default()
    };
    let width = |f: &dyn Fn(&Component) -> String, min: usize| {
        components
            .iter()
            .map(|c| f(c).chars().count())
            .max()
            .unwrap_or(0)
            .clamp(min, 40)
    };
    let name_w = width(&|c| one_line(&c.name), 4);
    let key_w = width(&|c| c.config_key.clone().unwrap_or_default(), 3);
    let group_w = width(&group_name, 5);
    println!(
        "{}",
        paint.bold(&format!(
            "{}  {}  {:<20}  {}  ID",
            cell("NAME", name_w),
            cell("KEY", key_w),
            "STATUS",
            cell("GROUP", group_w)
        ))
    );
    for c in components {
        println!(
            "{}  {}  {}  {}  {}",
            cell(&one_line(&c.name), name_w),
            cell(c.config_key.as_deref().unwrap_or(""), key_w),
            paint.component(c.status.as_str(), &cell(c.status.as_str(), 20)),
            cell(&group_name(c), group_w),
            c.id
        );
    }
}

/// The parts of `/api/v2/summary.json` the terminal summary shows. Statuspage's format, so
/// fields are read leniently: a missing one is empty rather than an error.
#[derive(Debug, Deserialize)]
struct Summary {
    #[serde(default)]
    page: SummaryPage,
    status: SummaryStatus,
    #[serde(default)]
    components: Vec<SummaryComponent>,
    #[serde(default)]
    incidents: Vec<SummaryIncident>,
    #[serde(default)]
    scheduled_maintenances: Vec<SummaryIncident>,
}

#[derive(Debug, Default, Deserialize)]
struct SummaryPage {
    #[serde(default)]
    name: String,
}

#[derive(Debug, Deserialize)]
struct SummaryStatus {
    indicator: String,
    description: String,
}

#[derive(Debug, Deserialize)]
struct SummaryComponent {
    id: String,
    name: String,
    status: String,
    #[serde(default)]
    group: bool,
    group_id: Option<String>,
    #[serde(default)]
    only_show_if_degraded: bool,
}

#[derive(Debug, Deserialize)]
struct SummaryIncident {
    name: String,
    status: String,
    #[serde(default)]
    impact: String,
    #[serde(default)]
    shortlink: Option<String>,
    started_at: Option<String>,
    scheduled_for: Option<String>,
    scheduled_until: Option<String>,
    #[serde(default)]
    incident_updates: Vec<SummaryUpdate>,
    #[serde(default)]
    components: Vec<SummaryAffected>,
}

#[derive(Debug, Deserialize)]
struct SummaryUpdate {
    status: String,
    body: String,
}

#[derive(Debug, Deserialize)]
struct SummaryAffected {
    name: String,
}

/// `pharos status`.
pub async fn status(args: StatusArgs, clock: &dyn Clock) -> ExitCode {
    finish(run_status(args, clock).await)
}

async fn run_status(args: StatusArgs, clock: &dyn Clock) -> Result<(), Failure> {
    let api = Api::new(&args.server, None, false)?;
    let path = "/api/v2/summary.json";
    let raw = api.get(path, &[]).await?;
    if args.server.json {
        print_json(&raw);
        return Ok(());
    }
    let summary: Summary = api.typed(path, &raw)?;
    print!(
        "{}",
        render_summary(&summary, clock.now(), Paint::for_stdout())
    );
    Ok(())
}

fn time_text(rfc3339: Option<&str>) -> Option<(Timestamp, String)> {
    let t = Timestamp::parse(rfc3339?)?;
    Some((t, when(t)))
}

/// The summary as text: the overall status, the components by group, open incidents and
/// maintenances, as the page shows them.
fn render_summary(s: &Summary, now: Timestamp, paint: Paint) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let title = if s.page.name.is_empty() {
        "Pharos".to_string()
    } else {
        one_line(&s.page.name)
    };
    let _ = writeln!(
        out,
        "{}: {}",
        paint.bold(&title),
        paint.impact(&s.status.indicator, &one_line(&s.status.description))
    );
    let shown: Vec<&SummaryComponent> = s
        .components
        .iter()
        .filter(|c| c.group || !c.only_show_if_degraded || c.status != "operational")
        .collect();
    if !shown.is_empty() {
        let _ = writeln!(out);
        let width = shown
            .iter()
            .map(|c| c.name.chars().count() + if c.group_id.is_some() { 2 } else { 0 })
            .max()
            .unwrap_or(0)
            .clamp(10, 48);
        for c in &shown {
            let grouped = c.group_id.is_some();
            if c.group
                && !s
                    .components
                    .iter()
                    .any(|m| m.group_id.as_deref() == Some(&c.id))
            {
                continue;
            }
            let indent = if grouped { "    " } else { "  " };
            let name = cell(&one_line(&c.name), width - if grouped { 2 } else { 0 });
            let name = if c.group { paint.bold(&name) } else { name };
            let _ = writeln!(
                out,
                "{indent}{name}  {}",
                paint.component(&c.status, &component_label(&c.status))
            );
        }
    }
    let sections = [
        ("Open incidents", &s.incidents),
        ("Maintenances", &s.scheduled_maintenances),
    ];
    for (heading, items) in sections {
        if items.is_empty() {
            continue;
        }
        let _ = writeln!(
            out,
            "\n{}",
            paint.bold(&format!("{heading} ({})", items.len()))
        );
        for i in items.iter() {
            let impact = if i.impact.is_empty() {
                "none"
            } else {
                &i.impact
            };
            let mut line = format!(
                "  {}  {}",
                paint.impact(impact, &one_line(&i.name)),
                capitalised(&i.status)
            );
            if i.scheduled_for.is_some() {
                let from = time_text(i.scheduled_for.as_deref());
                let until = time_text(i.scheduled_until.as_deref());
                if let (Some((_, from)), Some((_, until))) = (from, until) {
                    line.push_str(&format!(", {from} to {until}"));
                }
            } else {
                line.push_str(&format!(", {impact} impact"));
                if let Some((t, text)) = time_text(i.started_at.as_deref()) {
                    line.push_str(&format!(", since {text} ({})", human_duration(now.0 - t.0)));
                }
            }
            let _ = writeln!(out, "{line}");
            if !i.components.is_empty() {
                let names: Vec<String> = i.components.iter().map(|c| one_line(&c.name)).collect();
                let _ = writeln!(
                    out,
                    "    {}",
                    paint.dim(&format!("affects {}", names.join(", ")))
                );
            }
            if let Some(u) = i.incident_updates.first() {
                let first = printable(&u.body);
                let first = first.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
                let _ = writeln!(
                    out,
                    "    {}: {}",
                    capitalised(&u.status),
                    cell(first.trim(), 100).trim_end()
                );
            }
            if let Some(link) = &i.shortlink {
                let _ = writeln!(out, "    {}", paint.dim(&one_line(link)));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ComponentId, ManagedBy};

    fn component(name: &str, key: Option<&str>) -> Component {
        let t = Timestamp::parse("2026-01-01T00:00:00Z").unwrap();
        Component {
            id: ComponentId::new(),
            name: name.into(),
            description: None,
            group_id: None,
            position: 0,
            status: ComponentStatus::Operational,
            base_status: ComponentStatus::Operational,
            status_pinned: false,
            showcase: true,
            only_show_if_degraded: false,
            start_date: None,
            managed_by: ManagedBy::Api,
            config_key: key.map(str::to_string),
            created_at: t,
            updated_at: t,
        }
    }

    #[test]
    fn components_are_found_by_id_key_name_and_folded_name() {
        let all = vec![
            component("API Gateway", Some("api")),
            component("Website", None),
        ];
        assert_eq!(find_component(&all, "api").unwrap().name, "API Gateway");
        assert_eq!(find_component(&all, "API").unwrap().name, "API Gateway");
        assert_eq!(
            find_component(&all, "api gateway").unwrap().name,
            "API Gateway"
        );
        assert_eq!(
            find_component(&all, "api-gateway").unwrap().name,
            "API Gateway"
        );
        assert_eq!(find_component(&all, "WEBSITE").unwrap().name, "Website");
        let id = all[1].id.to_string();
        assert_eq!(find_component(&all, &id).unwrap().name, "Website");
    }

    #[test]
    fn an_unknown_component_names_the_near_and_the_known_ones_on_one_line() {
        let all = vec![
            component("API", Some("api")),
            component("Website", Some("web")),
        ];
        let err = find_component(&all, "apii").unwrap_err();
        assert_eq!(
            err,
            "unknown component \"apii\"; did you mean \"api\"? known: api, web"
        );
        let err = find_component(&all, "database").unwrap_err();
        assert_eq!(err, "unknown component \"database\"; known: api, web");
        assert!(!err.contains('\n'));
    }

    #[test]
    fn two_components_of_one_name_are_ambiguous() {
        let all = vec![component("API", None), component("api", None)];
        let err = find_component(&all, "Api").unwrap_err();
        assert!(err.contains("ambiguous"), "{err}");
    }

    #[test]
    fn component_arguments_take_an_optional_status() {
        assert_eq!(
            parse_component_arg("api=major_outage").unwrap(),
            ComponentArg {
                wanted: "api".into(),
                status: Some(ComponentStatus::MajorOutage)
            }
        );
        assert_eq!(parse_component_arg("Web site").unwrap().status, None);
        assert!(parse_component_arg("api=down")
            .unwrap_err()
            .contains("major_outage"));
        assert!(parse_component_arg("=major_outage").is_err());
    }

    #[test]
    fn server_addresses_are_normalised_without_credentials() {
        assert_eq!(
            parse_base("127.0.0.1:8080").unwrap(),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            parse_base("https://status.example.com/pharos/").unwrap(),
            "https://status.example.com/pharos"
        );
        assert_eq!(
            parse_base("http://user:secret@127.0.0.1:1/").unwrap(),
            "http://127.0.0.1:1"
        );
        let err = parse_base("ftp://x").unwrap_err();
        assert!(matches!(err, Failure::Usage(_)));
    }

    #[test]
    fn messages_are_folded_onto_one_line_without_escapes() {
        assert_eq!(one_line("a\nb\r\n  c\x1b[31m"), "a b c [31m");
    }
}
