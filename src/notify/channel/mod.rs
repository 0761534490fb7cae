//! Where messages go ([`Target`]), and the [`Sender`] that takes one message to one target.
//!
//! One module per family: [`webhook`] (the generic, signed JSON webhook), [`chat`] (Slack,
//! Mattermost, Discord, Microsoft Teams, Google Chat, Telegram, ntfy), [`paging`] (PagerDuty,
//! Opsgenie) and [`email`] (SMTP through lettre). This module holds what they share: the
//! bounded HTTP exchange and the classification of its outcome.
//!
//! Every send is bounded by the send timeout as a whole, reads at most [`MAX_READ`] bytes of
//! an answer and keeps at most [`MAX_KEEP`] of them, so a receiver that hangs or answers
//! megabytes costs nothing. Outcomes: 2xx is a [`Receipt`]; 408, 425, 429, 5xx, timeouts and
//! connection failures are transient [`SendError`]s (retried, honouring `Retry-After`);
//! other answers are permanent. Messages say what happened in words and never contain a
//! secret: URLs are never quoted (they carry tokens), and every secret of the target is
//! masked in whatever text a receiver or a library sends back.
//!
//! The sender decides nothing about *whether* to send; the planner and the worker do.

pub mod chat;
pub mod email;
pub mod paging;
pub mod webhook;

use super::message::{LivePage, Message, PageContext};
use crate::clock::{Clock, SystemClock};
use crate::config::NotifySettings;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

/// The most of an answer that is read; the rest is never downloaded.
pub const MAX_READ: usize = 64 * 1024;
/// The most of an answer that is kept, in a [`Receipt`] or an error message.
pub const MAX_KEEP: usize = 1024;
/// The most addresses one email target may name.
pub const MAX_RECIPIENTS: usize = 20;
/// The most custom headers one webhook may add.
pub const MAX_HEADERS: usize = 20;
/// The longest URL a target may use, in bytes.
const MAX_URL: usize = 2048;

/// A destination and its settings. Stored as JSON (`{"type": "slack", "url": ...}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Target {
    Email {
        to: Vec<String>,
    },
    Webhook {
        url: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        secret: Option<String>,
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        headers: BTreeMap<String, String>,
    },
    Slack {
        url: String,
    },
    Discord {
        url: String,
    },
    Teams {
        url: String,
    },
    Mattermost {
        url: String,
    },
    GoogleChat {
        url: String,
    },
    Telegram {
        bot_token: String,
        chat_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        api_url: Option<String>,
    },
    Ntfy {
        url: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token: Option<String>,
    },
    PagerDuty {
        routing_key: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        api_url: Option<String>,
    },
    Opsgenie {
        api_key: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        api_url: Option<String>,
    },
}

impl Target {
    /// The `type` tag.
    pub fn kind(&self) -> &'static str {
        match self {
            Target::Email { .. } => "email",
            Target::Webhook { .. } => "webhook",
            Target::Slack { .. } => "slack",
            Target::Discord { .. } => "discord",
            Target::Teams { .. } => "teams",
            Target::Mattermost { .. } => "mattermost",
            Target::GoogleChat { .. } => "google_chat",
            Target::Telegram { .. } => "telegram",
            Target::Ntfy { .. } => "ntfy",
            Target::PagerDuty { .. } => "pager_duty",
            Target::Opsgenie { .. } => "opsgenie",
        }
    }

    /// Checks the settings; the error says what is wrong and what to do, and never quotes a
    /// secret.
    pub fn validate(&self) -> Result<(), String> {
        match self {
            Target::Email { to } => {
                if to.is_empty() {
                    return Err(
                        "`to` is empty; expected at least one address such as ops@example.com"
                            .into(),
                    );
                }
                if to.len() > MAX_RECIPIENTS {
                    return Err(format!(
                        "`to` names {} addresses; expected at most {MAX_RECIPIENTS} (make several targets for more)",
                        to.len()
                    ));
                }
                for address in to {
                    if let Err(err) = address.trim().parse::<lettre::Address>() {
                        return Err(format!(
                            "`to`: `{}` is not an email address ({err}); expected an address such as ops@example.com",
                            printable(address)
                        ));
                    }
                }
                Ok(())
            }
            Target::Webhook {
                url,
                secret,
                headers,
            } => {
                check_url("url", url, false)?;
                if let Some(secret) = secret {
                    if secret.is_empty()
                        || secret.len() > 1024
                        || secret.chars().any(char::is_control)
                    {
                        return Err("`secret` must be 1 to 1024 characters without control characters; leave it out to send unsigned".into());
                    }
                }
                if headers.len() > MAX_HEADERS {
                    return Err(format!(
                        "`headers` has {} entries; expected at most {MAX_HEADERS}",
                        headers.len()
                    ));
                }
                for (name, value) in headers {
                    if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
                        return Err(format!(
                            "`headers`: `{}` is not a header name; expected letters, digits and - such as X-Team",
                            printable(name)
                        ));
                    }
                    if webhook::is_reserved_header(name) {
                        return Err(format!(
                            "`headers`: `{name}` is set by Pharos and cannot be overridden; remove it"
                        ));
                    }
                    if reqwest::header::HeaderValue::from_str(value).is_err() || value.len() > 4096
                    {
                        return Err(format!(
                            "`headers`: the value of `{name}` is not a header value; expected at most 4096 visible ASCII characters"
                        ));
                    }
                }
                Ok(())
            }
            Target::Slack { url }
            | Target::Discord { url }
            | Target::Teams { url }
            | Target::Mattermost { url }
            | Target::GoogleChat { url } => check_url("url", url, false),
            Target::Telegram {
                bot_token,
                chat_id,
                api_url,
            } => {
                if bot_token.is_empty()
                    || bot_token.len() > 256
                    || !bot_token
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '_' | '-'))
                {
                    return Err("`bot_token` is not a bot token; expected the token @BotFather gave, such as 123456789:AA...".into());
                }
                let chat = chat_id.trim();
                if chat.is_empty()
                    || chat.len() > 128
                    || chat.chars().any(|c| c.is_whitespace() || c.is_control())
                {
                    return Err("`chat_id` is not a chat; expected a numeric id such as -1001234567890 or a channel name such as @status".into());
                }
                if let Some(api) = api_url {
                    check_url("api_url", api, false)?;
                }
                Ok(())
            }
            Target::Ntfy { url, token } => {
                check_url("url", url, true)?;
                if let Some(token) = token {
                    check_key("token", token)?;
                }
                Ok(())
            }
            Target::PagerDuty {
                routing_key,
                api_url,
            } => {
                check_key("routing_key", routing_key)?;
                if let Some(api) = api_url {
                    check_url("api_url", api, false)?;
                }
                Ok(())
            }
            Target::Opsgenie { api_key, api_url } => {
                check_key("api_key", api_key)?;
                if let Some(api) = api_url {
                    check_url("api_url", api, false)?;
                }
                Ok(())
            }
        }
    }

    /// The target as API responses show it: secrets (webhook secret and header values, the
    /// path and query of chat webhook URLs, bot token, ntfy token, routing key, API key)
    /// masked but for their last 4 characters, so an operator can tell which one is set.
    pub fn redacted(&self) -> Target {
        match self {
            Target::Email { to } => Target::Email { to: to.clone() },
            Target::Webhook {
                url,
                secret,
                headers,
            } => Target::Webhook {
                url: url.clone(),
                secret: secret.as_deref().map(mask),
                headers: headers.iter().map(|(k, v)| (k.clone(), mask(v))).collect(),
            },
            Target::Slack { url } => Target::Slack {
                url: mask_url_path(url),
            },
            Target::Discord { url } => Target::Discord {
                url: mask_url_path(url),
            },
            Target::Teams { url } => Target::Teams {
                url: mask_url_path(url),
            },
            Target::Mattermost { url } => Target::Mattermost {
                url: mask_url_path(url),
            },
            Target::GoogleChat { url } => Target::GoogleChat {
                url: mask_url_path(url),
            },
            Target::Telegram {
                bot_token,
                chat_id,
                api_url,
            } => Target::Telegram {
                bot_token: mask(bot_token),
                chat_id: chat_id.clone(),
                api_url: api_url.clone(),
            },
            Target::Ntfy { url, token } => Target::Ntfy {
                url: url.clone(),
                token: token.as_deref().map(mask),
            },
            Target::PagerDuty {
                routing_key,
                api_url,
            } => Target::PagerDuty {
                routing_key: mask(routing_key),
                api_url: api_url.clone(),
            },
            Target::Opsgenie { api_key, api_url } => Target::Opsgenie {
                api_key: mask(api_key),
                api_url: api_url.clone(),
            },
        }
    }

    /// Every URL the target sends to (its own, or the service's API address when set).
    pub fn urls(&self) -> Vec<&str> {
        match self {
            Target::Email { .. } => Vec::new(),
            Target::Webhook { url, .. }
            | Target::Slack { url }
            | Target::Discord { url }
            | Target::Teams { url }
            | Target::Mattermost { url }
            | Target::GoogleChat { url }
            | Target::Ntfy { url, .. } => vec![url.as_str()],
            Target::Telegram { api_url, .. }
            | Target::PagerDuty { api_url, .. }
            | Target::Opsgenie { api_url, .. } => api_url.iter().map(String::as_str).collect(),
        }
    }

    /// True when any URL the target sends to is private by [`is_private_url`].
    pub fn points_to_private_address(&self) -> bool {
        self.urls().into_iter().any(is_private_url)
    }

    /// The strings that must never appear in a message about this target.
    fn secrets(&self) -> Vec<String> {
        let mut out = Vec::new();
        match self {
            Target::Email { .. } => {}
            Target::Webhook {
                url,
                secret,
                headers,
            } => {
                out.extend(secret.clone());
                out.extend(headers.values().cloned());
                out.extend(url_secrets(url));
            }
            Target::Slack { url }
            | Target::Discord { url }
            | Target::Teams { url }
            | Target::Mattermost { url }
            | Target::GoogleChat { url } => out.extend(url_secrets(url)),
            Target::Telegram { bot_token, .. } => out.push(bot_token.clone()),
            Target::Ntfy { url, token } => {
                out.extend(token.clone());
                out.extend(url_secrets(url));
            }
            Target::PagerDuty { routing_key, .. } => out.push(routing_key.clone()),
            Target::Opsgenie { api_key, .. } => out.push(api_key.clone()),
        }
        out.retain(|s| s.len() >= 4);
        out
    }
}

/// The whole URL, its path and query, and each path segment and query value long enough to
/// be a token: any of them may be what a receiver or a library echoes.
fn url_secrets(url: &str) -> Vec<String> {
    let mut out = vec![url.to_string()];
    if let Ok(parsed) = url::Url::parse(url) {
        out.push(parsed.path().to_string());
        out.extend(parsed.query().map(str::to_string));
        out.extend(
            parsed
                .path_segments()
                .into_iter()
                .flatten()
                .filter(|s| s.len() >= 16)
                .map(str::to_string),
        );
        out.extend(
            parsed
                .query_pairs()
                .map(|(_, v)| v.into_owned())
                .filter(|v| v.len() >= 16),
        );
        if let Some(password) = parsed.password() {
            out.push(password.to_string());
        }
    }
    out.retain(|s| s.len() >= 4 && s != "/");
    out
}

/// `****abcd`: a secret with only its last 4 characters shown; fully masked when shorter
/// than 12 characters, where 4 would give too much away.
fn mask(secret: &str) -> String {
    let count = secret.chars().count();
    if count < 12 {
        return "****".into();
    }
    let tail: String = secret.chars().skip(count - 4).collect();
    format!("****{tail}")
}

/// A URL with its path and query masked but for the last 4 characters: the host still says
/// which service it is.
fn mask_url_path(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(parsed) => {
            let mut rest = parsed.path().to_string();
            if let Some(q) = parsed.query() {
                rest.push('?');
                rest.push_str(q);
            }
            let host = parsed.host_str().unwrap_or("");
            let port = parsed.port().map(|p| format!(":{p}")).unwrap_or_default();
            format!("{}://{host}{port}/{}", parsed.scheme(), mask(&rest))
        }
        Err(_) => mask(url),
    }
}

/// Text from a request, safe to quote in an error: control characters dropped, at most 100
/// characters.
fn printable(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(100).collect()
}

fn check_url(field: &str, url: &str, needs_path: bool) -> Result<(), String> {
    let problem = |what: &str| {
        Err(format!(
            "`{field}` {what}; expected an http(s) URL such as https://hooks.example.com/..."
        ))
    };
    if url.len() > MAX_URL {
        return problem(&format!("is longer than {MAX_URL} bytes"));
    }
    let Ok(parsed) = url::Url::parse(url) else {
        return problem("is not a URL");
    };
    if !matches!(parsed.scheme(), "http" | "https") {
        return problem(&format!("uses `{}:`", parsed.scheme()));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return problem("has no host");
    }
    if parsed.fragment().is_some() {
        return problem("has a #fragment, which is never sent");
    }
    if needs_path && parsed.path().trim_matches('/').is_empty() {
        return Err(format!(
            "`{field}` has no topic; expected the topic's URL such as https://ntfy.sh/my-status"
        ));
    }
    Ok(())
}

fn check_key(field: &str, key: &str) -> Result<(), String> {
    if key.trim().is_empty() {
        return Err(format!(
            "`{field}` is empty; expected the key the service gave"
        ));
    }
    if key.len() > 512 || key.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "`{field}` is not a key; expected at most 512 characters without spaces, as the service gave it"
        ));
    }
    Ok(())
}

/// True when the URL's host is `localhost` (or a name under it) or an IP literal in a
/// loopback, private, shared (CGNAT), link-local or unspecified range, IPv4 or IPv6
/// (including IPv4-mapped IPv6). A URL without a host counts as private. Host *names* are not
/// resolved: a public name that resolves to a private address is not caught here.
pub fn is_private_url(url: &str) -> bool {
    let Ok(parsed) = url::Url::parse(url) else {
        return true;
    };
    match parsed.host() {
        None => true,
        Some(url::Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost")
        }
        Some(url::Host::Ipv4(ip)) => is_private_ip(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => is_private_ip(IpAddr::V6(ip)),
    }
}

/// True when the URL's host is an IP literal in a private range (or the URL has no host).
/// Host names are left to [`PublicResolver`], which checks the addresses they resolve to.
fn is_private_literal(url: &str) -> bool {
    let Ok(parsed) = url::Url::parse(url) else {
        return true;
    };
    match parsed.host() {
        None => true,
        Some(url::Host::Domain(_)) => false,
        Some(url::Host::Ipv4(ip)) => is_private_ip(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => is_private_ip(IpAddr::V6(ip)),
    }
}

fn is_private_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || a == 0
                // 100.64.0.0/10, shared address space (carrier-grade NAT).
                || (a == 100 && (64..128).contains(&b))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private_ip(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                // fc00::/7, unique local.
                || (first & 0xfe00) == 0xfc00
                // fe80::/10, link-local.
                || (first & 0xffc0) == 0xfe80
        }
    }
}

/// Per-delivery facts the message itself does not carry.
#[derive(Debug, Clone, Default)]
pub struct Envelope {
    /// Stable across retries: `Idempotency-Key` header, email `Message-ID`.
    pub idempotency_key: String,
    /// A signed one-click unsubscribe link (subscribers only).
    pub unsubscribe_url: Option<String>,
    /// A signed acknowledgement link (escalations only).
    pub ack_url: Option<String>,
    /// Which addresses a webhook may be sent to.
    pub reach: Reach,
}

/// Which addresses a webhook may reach.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Reach {
    /// Any address: targets an operator made (channels, subscribers made through the API).
    #[default]
    Anywhere,
    /// Public addresses only: a webhook a reader gave on the page, checked when it is sent
    /// (an IP literal, and every address its host name resolves to at that moment), so a
    /// name that resolves to a private address, now or after a DNS rebinding, cannot reach
    /// services inside the network.
    PublicOnly,
}

/// The refusal of a host whose every address is private ([`Reach::PublicOnly`]).
#[derive(Debug)]
struct PrivateAddress(String);

impl std::fmt::Display for PrivateAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the webhook's host {} has only private addresses; subscribers' webhooks must be public (or set [notifications] allow_private_targets)",
            self.0
        )
    }
}

impl std::error::Error for PrivateAddress {}

/// Resolves host names for [`Reach::PublicOnly`] sends and keeps only public addresses, so
/// the connection goes to an address that was checked.
struct PublicResolver;

impl reqwest::dns::Resolve for PublicResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(async move {
            let host = name.as_str().to_string();
            let found = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let public: Vec<std::net::SocketAddr> =
                found.filter(|addr| !is_private_ip(addr.ip())).collect();
            if public.is_empty() {
                return Err(
                    Box::new(PrivateAddress(host)) as Box<dyn std::error::Error + Send + Sync>
                );
            }
            Ok(Box::new(public.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// What the receiver answered to a successful send.
#[derive(Debug, Clone, Default)]
pub struct Receipt {
    pub status: Option<u16>,
    /// The start of the receiver's answer (at most 1 KiB).
    pub response: String,
}

/// A failed send. `permanent` failures are not retried (a rejected address, a message the
/// receiver can never accept).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct SendError {
    pub permanent: bool,
    pub status: Option<u16>,
    pub message: String,
    /// How long the receiver asked to be left alone (`Retry-After`, in seconds).
    pub retry_after: Option<Duration>,
}

impl SendError {
    /// A failure that retrying can fix.
    pub fn transient(message: impl Into<String>) -> SendError {
        SendError {
            permanent: false,
            status: None,
            message: message.into(),
            retry_after: None,
        }
    }

    /// A failure that retrying cannot fix.
    pub fn permanent(message: impl Into<String>) -> SendError {
        SendError {
            permanent: true,
            status: None,
            message: message.into(),
            retry_after: None,
        }
    }

    fn timeout(limit: Duration) -> SendError {
        SendError::transient(format!("no answer within {}", seconds(limit)))
    }
}

/// `10 s`, `0.5 s`.
fn seconds(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{} s", d.as_secs_f64())
    }
}

/// Sends messages. One per process; cheap to share (`Arc`), and safe to use from many tasks
/// at once: the HTTP client and the SMTP pool are shared by every send.
pub struct Sender {
    http: reqwest::Client,
    /// The same, resolving host names through [`PublicResolver`] ([`Reach::PublicOnly`]).
    public_http: reqwest::Client,
    smtp: Option<email::Mailer>,
    timeout: Duration,
    /// The time webhook signatures are made at. A signature must carry the time of *this*
    /// attempt (receivers reject old ones), so it is not the message's time.
    clock: Arc<dyn Clock>,
    /// The page the messages speak for: webhook bodies carry it, chat cards name it, email
    /// `Message-ID`s use its host. Its name is read at each send, so a renamed page shows
    /// without a restart.
    page: LivePage,
}

impl Sender {
    /// A sender with one HTTP client (rustls, no redirects followed, `Pharos/<version>`) and,
    /// when `[notifications.smtp]` is set, one pooled SMTP transport.
    pub fn new(settings: &NotifySettings) -> Result<Sender, String> {
        let timeout = settings.send_timeout;
        let client = || {
            reqwest::Client::builder()
                .user_agent(concat!("Pharos/", env!("CARGO_PKG_VERSION")))
                .redirect(reqwest::redirect::Policy::none())
                .timeout(timeout)
                .connect_timeout(timeout)
                .no_gzip()
                .pool_idle_timeout(Duration::from_secs(60))
        };
        let http = client()
            .build()
            .map_err(|err| format!("cannot build the HTTP client: {err}"))?;
        let public_http = client()
            .dns_resolver(Arc::new(PublicResolver))
            .build()
            .map_err(|err| format!("cannot build the HTTP client: {err}"))?;
        let smtp = match &settings.smtp {
            Some(smtp) => Some(email::Mailer::new(smtp, timeout)?),
            None => None,
        };
        Ok(Sender {
            http,
            public_http,
            smtp,
            timeout,
            clock: Arc::new(SystemClock),
            page: PageContext {
                name: "Pharos".into(),
                url: String::new(),
            }
            .into(),
        })
    }

    /// The same sender speaking for `page` (the `[page]` settings, a fixed [`PageContext`]
    /// or a [`LivePage`] whose name is read at each send); without it, messages name
    /// "Pharos" and email ids end in `@pharos.invalid`.
    pub fn with_page(mut self, page: impl Into<LivePage>) -> Sender {
        self.page = page.into();
        self
    }

    /// The page the messages speak for, with its name as it is now.
    fn page(&self) -> PageContext {
        self.page.now()
    }

    /// The same sender on another clock (tests).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Sender {
        self.clock = clock;
        self
    }

    /// How long one send may take.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Sends one message to one target, within the send timeout.
    pub async fn send(
        &self,
        target: &Target,
        message: &Message,
        envelope: &Envelope,
    ) -> Result<Receipt, SendError> {
        let work = async {
            match target {
                Target::Email { to } => match &self.smtp {
                    Some(mailer) => {
                        let now = std::time::SystemTime::from(self.clock.now().0);
                        mailer.send(to, message, envelope, &self.page(), now).await
                    }
                    None => Err(SendError::permanent(
                        "email is not configured; set [notifications.smtp] in the configuration",
                    )),
                },
                Target::Webhook {
                    url,
                    secret,
                    headers,
                } => webhook::send(self, url, secret.as_deref(), headers, message, envelope).await,
                Target::Slack { url } => chat::slack(self, url, message, envelope).await,
                Target::Mattermost { url } => chat::mattermost(self, url, message, envelope).await,
                Target::Discord { url } => chat::discord(self, url, message, envelope).await,
                Target::Teams { url } => chat::teams(self, url, message, envelope).await,
                Target::GoogleChat { url } => chat::google_chat(self, url, message, envelope).await,
                Target::Telegram {
                    bot_token,
                    chat_id,
                    api_url,
                } => {
                    chat::telegram(
                        self,
                        bot_token,
                        chat_id,
                        api_url.as_deref(),
                        message,
                        envelope,
                    )
                    .await
                }
                Target::Ntfy { url, token } => {
                    chat::ntfy(self, url, token.as_deref(), message, envelope).await
                }
                Target::PagerDuty {
                    routing_key,
                    api_url,
                } => {
                    paging::pagerduty(self, routing_key, api_url.as_deref(), message, envelope)
                        .await
                }
                Target::Opsgenie { api_key, api_url } => {
                    paging::opsgenie(self, api_key, api_url.as_deref(), message, envelope).await
                }
            }
        };
        let outcome = match tokio::time::timeout(self.timeout, work).await {
            Ok(outcome) => outcome,
            Err(_) => Err(SendError::timeout(self.timeout)),
        };
        let mut secrets = target.secrets();
        if let Some(mailer) = &self.smtp {
            secrets.extend(mailer.secrets());
        }
        match outcome {
            Ok(mut receipt) => {
                receipt.response = scrub(&receipt.response, &secrets);
                Ok(receipt)
            }
            Err(mut err) => {
                err.message = scrub(&err.message, &secrets);
                Err(err)
            }
        }
    }

    /// The current time, as unix seconds.
    fn now_unix(&self) -> i64 {
        self.clock.now().0.timestamp()
    }

    /// Sends one request and classifies the answer (see the module documentation).
    async fn exchange(&self, request: reqwest::RequestBuilder) -> Result<Answer, SendError> {
        let response = request
            .send()
            .await
            .map_err(|err| transport_error(&err, self.timeout))?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let body = read_capped(response).await;
        Ok(Answer {
            status,
            retry_after,
            body,
        })
    }

    /// [`Sender::exchange`], then 2xx is a receipt and anything else an error.
    async fn post(&self, request: reqwest::RequestBuilder) -> Result<Receipt, SendError> {
        self.exchange(request).await?.into_result()
    }
}

/// An HTTP answer, its body read up to [`MAX_READ`].
struct Answer {
    status: reqwest::StatusCode,
    retry_after: Option<Duration>,
    body: Vec<u8>,
}

impl Answer {
    fn start(&self) -> String {
        start_of(&self.body)
    }

    fn into_result(self) -> Result<Receipt, SendError> {
        if self.status.is_success() {
            return Ok(Receipt {
                status: Some(self.status.as_u16()),
                response: self.start(),
            });
        }
        Err(self.error())
    }

    /// The error this (unsuccessful) answer is.
    fn error(&self) -> SendError {
        let code = self.status.as_u16();
        let reason = self.status.canonical_reason().unwrap_or("");
        let start = self.start();
        let mut message = format!("receiver answered {code} {reason}")
            .trim_end()
            .to_string();
        if !start.is_empty() {
            message.push_str(": ");
            message.push_str(&start);
        }
        let transient = matches!(code, 408 | 425 | 429) || self.status.is_server_error();
        if self.status.is_redirection() {
            message.push_str(" (redirects are not followed; use the address it points to)");
        } else if matches!(code, 401 | 403 | 404 | 410) {
            message.push_str(" (check the address and credentials)");
        }
        SendError {
            permanent: !transient,
            status: Some(code),
            message,
            retry_after: self.retry_after,
        }
    }
}

/// Reads at most [`MAX_READ`] bytes of the body; the rest is never downloaded (the
/// connection is dropped instead). A body that breaks off is what arrived until then.
async fn read_capped(mut response: reqwest::Response) -> Vec<u8> {
    let mut body = Vec::new();
    while body.len() < MAX_READ {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let take = chunk.len().min(MAX_READ - body.len());
                body.extend_from_slice(&chunk[..take]);
            }
            _ => break,
        }
    }
    body
}

/// The first [`MAX_KEEP`] bytes of an answer as one line of text.
fn start_of(body: &[u8]) -> String {
    let head = &body[..body.len().min(MAX_KEEP + 4)];
    let text = String::from_utf8_lossy(head);
    let mut line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.len() > MAX_KEEP {
        let mut cut = MAX_KEEP;
        while !line.is_char_boundary(cut) {
            cut -= 1;
        }
        line.truncate(cut);
    }
    line
}

/// `Retry-After` in seconds (whole or fractional, as Discord sends it), at most a day.
fn parse_retry_after(value: &str) -> Option<Duration> {
    let seconds: f64 = value.trim().parse().ok()?;
    (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds.min(86_400.0)))
}

/// A request that got no answer, in words, without the URL (which may carry a token).
fn transport_error(err: &reqwest::Error, timeout: Duration) -> SendError {
    if err.is_timeout() {
        return SendError::timeout(timeout);
    }
    if err.is_builder() {
        return SendError::permanent("the target's address cannot be used for a request");
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(err);
    let mut innermost = None;
    while let Some(s) = source {
        if let Some(private) = s.downcast_ref::<PrivateAddress>() {
            return SendError::permanent(private.to_string());
        }
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            let words = match io.kind() {
                std::io::ErrorKind::ConnectionRefused => Some("connection refused"),
                std::io::ErrorKind::ConnectionReset => Some("connection reset by the receiver"),
                std::io::ErrorKind::ConnectionAborted => Some("connection aborted"),
                std::io::ErrorKind::TimedOut => return SendError::timeout(timeout),
                std::io::ErrorKind::UnexpectedEof => {
                    Some("the receiver closed the connection without answering")
                }
                _ => None,
            };
            if let Some(words) = words {
                return SendError::transient(words);
            }
        }
        innermost = Some(s);
        source = s.source();
    }
    let detail = innermost
        .map(|s| s.to_string())
        .unwrap_or_else(|| "unknown error".into());
    if err.is_connect() {
        SendError::transient(format!("cannot connect to the receiver: {detail}"))
    } else {
        SendError::transient(format!("the request failed: {detail}"))
    }
}

/// `text` with every secret replaced by `***`.
fn scrub(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_string();
    let mut secrets: Vec<&String> = secrets.iter().filter(|s| s.len() >= 4).collect();
    // Longest first, so a URL is masked whole before its path is.
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    for secret in secrets {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), "***");
        }
    }
    out
}

/// Cuts `text` to at most `max` characters; a cut text ends with "…" and, when there is
/// one, the link to the whole message on its own line. The result is at most `max`
/// characters long, link included.
pub fn truncate_with_link(text: &str, max: usize, link: Option<&str>) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let tail = match link {
        Some(link) => format!("…\n\nFull message: {link}"),
        None => "…".to_string(),
    };
    let room = max.saturating_sub(tail.chars().count());
    let cut = text
        .char_indices()
        .nth(room)
        .map(|(i, _)| i)
        .unwrap_or(text.len());
    format!("{}{tail}", text[..cut].trim_end())
}

/// Cuts `text` to at most `max` characters with "…", for one-line fields.
fn truncate(text: &str, max: usize) -> String {
    truncate_with_link(text, max, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_urls_are_recognised() {
        for url in [
            "http://localhost:8080/hook",
            "http://LOCALHOST./x",
            "http://api.localhost/x",
            "http://127.0.0.1/x",
            "http://10.1.2.3/x",
            "http://172.16.0.1/x",
            "http://192.168.1.1/x",
            "http://169.254.169.254/latest/meta-data",
            "http://0.0.0.0/x",
            "http://100.64.0.1/x",
            "http://[::1]/x",
            "http://[fd00::1]/x",
            "http://[fe80::1]/x",
            "http://[::ffff:127.0.0.1]/x",
            "http://[::]/x",
            "not a url",
        ] {
            assert!(is_private_url(url), "{url}");
        }
        for url in [
            "https://hooks.slack.com/services/x",
            "http://8.8.8.8/x",
            "http://[2001:4860:4860::8888]/x",
            "https://example.com:8443/x",
            "http://100.128.0.1/x",
        ] {
            assert!(!is_private_url(url), "{url}");
        }
    }

    #[test]
    fn secrets_are_masked_but_for_their_last_four_characters() {
        let target = Target::Webhook {
            url: "https://example.com/hook".into(),
            secret: Some("whsec_0123456789abcdef".into()),
            headers: BTreeMap::from([("Authorization".into(), "Bearer abcdefghijkl".into())]),
        };
        let Target::Webhook {
            secret, headers, ..
        } = target.redacted()
        else {
            unreachable!()
        };
        assert_eq!(secret.as_deref(), Some("****cdef"));
        assert_eq!(headers["Authorization"], "****ijkl");
        let slack = Target::Slack {
            url: "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXXXXXXabcd".into(),
        };
        let Target::Slack { url } = slack.redacted() else {
            unreachable!()
        };
        assert_eq!(url, "https://hooks.slack.com/****abcd");
        let short = Target::PagerDuty {
            routing_key: "short".into(),
            api_url: None,
        };
        let Target::PagerDuty { routing_key, .. } = short.redacted() else {
            unreachable!()
        };
        assert_eq!(routing_key, "****");
        let telegram = Target::Telegram {
            bot_token: "123456789:AAHsecretsecretsecretWXYZ".into(),
            chat_id: "-100123".into(),
            api_url: None,
        };
        let Target::Telegram {
            bot_token, chat_id, ..
        } = telegram.redacted()
        else {
            unreachable!()
        };
        assert_eq!(bot_token, "****WXYZ");
        assert_eq!(chat_id, "-100123");
    }

    #[test]
    fn validation_says_what_is_wrong() {
        let bad = |t: Target, needle: &str| {
            let err = t.validate().unwrap_err();
            assert!(err.contains(needle), "{needle:?} not in {err:?}");
        };
        bad(Target::Email { to: vec![] }, "at least one address");
        bad(
            Target::Email {
                to: vec!["not an address".into()],
            },
            "`not an address` is not an email address",
        );
        bad(
            Target::Email {
                to: (0..21).map(|i| format!("u{i}@example.com")).collect(),
            },
            "at most 20",
        );
        bad(
            Target::Slack {
                url: "ftp://example.com/x".into(),
            },
            "uses `ftp:`",
        );
        bad(
            Target::Discord {
                url: "https://".into(),
            },
            "`url`",
        );
        bad(
            Target::Webhook {
                url: "https://example.com/hook".into(),
                secret: None,
                headers: BTreeMap::from([("Bad Header".into(), "x".into())]),
            },
            "not a header name",
        );
        bad(
            Target::Webhook {
                url: "https://example.com/hook".into(),
                secret: None,
                headers: BTreeMap::from([("Pharos-Signature".into(), "x".into())]),
            },
            "set by Pharos",
        );
        bad(
            Target::PagerDuty {
                routing_key: " ".into(),
                api_url: None,
            },
            "`routing_key` is empty",
        );
        bad(
            Target::Telegram {
                bot_token: "123/../x".into(),
                chat_id: "1".into(),
                api_url: None,
            },
            "bot token",
        );
        bad(
            Target::Ntfy {
                url: "https://ntfy.sh/".into(),
                token: None,
            },
            "no topic",
        );
        let secret = "sk_live_supersecretvalue";
        let err = Target::Opsgenie {
            api_key: format!("{secret} x"),
            api_url: None,
        }
        .validate()
        .unwrap_err();
        assert!(!err.contains(secret), "{err}");
        for good in [
            Target::Email {
                to: vec!["ops@example.com".into(), "Oncall@Example.org".into()],
            },
            Target::Webhook {
                url: "http://127.0.0.1:9000/hook".into(),
                secret: Some("s3cret".into()),
                headers: BTreeMap::from([("X-Team".into(), "ops".into())]),
            },
            Target::Ntfy {
                url: "https://ntfy.sh/acme-status".into(),
                token: Some("tk_abc".into()),
            },
            Target::Telegram {
                bot_token: "123456789:AAH-x_y".into(),
                chat_id: "@acme_status".into(),
                api_url: None,
            },
        ] {
            assert_eq!(good.validate(), Ok(()), "{good:?}");
        }
    }

    #[test]
    fn truncation_keeps_the_link_and_the_limit() {
        let long = "word ".repeat(2000);
        let cut = truncate_with_link(&long, 500, Some("https://status.example.com/incidents/x"));
        assert!(cut.chars().count() <= 500, "{}", cut.chars().count());
        assert!(cut.ends_with("Full message: https://status.example.com/incidents/x"));
        assert!(cut.contains('…'));
        assert_eq!(truncate_with_link("short", 500, Some("x")), "short");
        let cut = truncate(&"é".repeat(300), 100);
        assert_eq!(cut.chars().count(), 100);
    }

    #[test]
    fn answers_keep_one_kilobyte_on_one_line() {
        let body = format!("line one\n\nline two {}", "é".repeat(5000));
        let start = start_of(body.as_bytes());
        assert!(start.len() <= MAX_KEEP);
        assert!(start.starts_with("line one line two é"));
        assert_eq!(parse_retry_after("120"), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after("1.5"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_retry_after("soon"), None);
        assert_eq!(parse_retry_after("-1"), None);
    }

    #[test]
    fn scrubbing_masks_every_secret() {
        let target = Target::Slack {
            url: "https://hooks.slack.com/services/T0001/B0001/abcdefghijklmnop".into(),
        };
        let text = "error for url (https://hooks.slack.com/services/T0001/B0001/abcdefghijklmnop): token abcdefghijklmnop invalid";
        let clean = scrub(text, &target.secrets());
        assert!(!clean.contains("abcdefghijklmnop"), "{clean}");
        assert!(clean.contains("invalid"));
    }
}
