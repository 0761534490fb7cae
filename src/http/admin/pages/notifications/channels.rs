//! Channels: the form of each kind (its own fields), create, edit, enable or disable, delete
//! and "send test" with the receiver's answer shown.
//!
//! Secrets (webhook signing secrets and header values, chat webhook URLs, bot tokens, ntfy
//! tokens, routing keys, API keys) are write-only: the form shows whether one is set, an
//! empty field keeps it, and no page ever contains one, not even the value just typed into a
//! form that is shown again with an error. The target is built as the API's JSON
//! (`{"type": .., ..}`) and checked by the same `validate_channel`.

use super::{field, from_api, lines, Pairs};
use crate::http::admin::pages::parse_id;
use crate::http::admin::pages::{html, Chrome, Flash};
use crate::http::admin::session::{see_other, CsrfForm, CurrentUser};
use crate::http::admin::AdminError;
use crate::http::api_v1::notifications::check_events;
use crate::http::api_v1::valid_name;
use crate::http::AppState;
use crate::notify::channel::Target;
use crate::notify::record::{
    validate_channel, Channel, ChannelPatch, NewChannel, DEFAULT_CHANNEL_EVENTS,
    DEFAULT_CONCURRENCY, DEFAULT_RATE_PER_MINUTE,
};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Map, Value};

/// The channel kinds: (the target's `type`, its label).
pub const KINDS: &[(&str, &str)] = &[
    ("email", "Email"),
    ("webhook", "Webhook"),
    ("slack", "Slack"),
    ("discord", "Discord"),
    ("teams", "Microsoft Teams"),
    ("mattermost", "Mattermost"),
    ("google_chat", "Google Chat"),
    ("telegram", "Telegram"),
    ("ntfy", "ntfy"),
    ("pager_duty", "PagerDuty"),
    ("opsgenie", "Opsgenie"),
];

/// How a target field is typed in.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// One line of text.
    Line,
    /// One item per line (email addresses).
    List,
    /// `Name: value` per line (webhook headers; the values are secret).
    Headers,
}

/// One field of a target: its JSON key, label, whether it is secret or optional.
struct Spec {
    key: &'static str,
    label: &'static str,
    hint: &'static str,
    shape: Shape,
    secret: bool,
    optional: bool,
}

const fn spec(
    key: &'static str,
    label: &'static str,
    hint: &'static str,
    secret: bool,
    optional: bool,
) -> Spec {
    Spec {
        key,
        label,
        hint,
        shape: Shape::Line,
        secret,
        optional,
    }
}

const CHAT_URL: Spec = spec(
    "url",
    "Incoming webhook URL",
    "the URL the service gave for posting messages; it is a secret",
    true,
    false,
);

fn specs(kind: &str) -> Vec<Spec> {
    match kind {
        "email" => vec![Spec {
            key: "to",
            label: "Addresses",
            hint: "one email address per line, at most 20",
            shape: Shape::List,
            secret: false,
            optional: false,
        }],
        "webhook" => vec![
            spec(
                "url",
                "URL",
                "where the signed JSON is POSTed",
                false,
                false,
            ),
            spec(
                "secret",
                "Signing secret",
                "signs each request (Pharos-Signature header); optional",
                true,
                true,
            ),
            Spec {
                key: "headers",
                label: "Extra headers",
                hint: "one `Name: value` per line; values are secret; optional",
                shape: Shape::Headers,
                secret: true,
                optional: true,
            },
        ],
        "slack" | "discord" | "teams" | "mattermost" | "google_chat" => vec![CHAT_URL],
        "telegram" => vec![
            spec(
                "bot_token",
                "Bot token",
                "the token @BotFather gave",
                true,
                false,
            ),
            spec(
                "chat_id",
                "Chat",
                "a numeric chat id or @channel",
                false,
                false,
            ),
            spec(
                "api_url",
                "API URL",
                "only for a self-hosted Bot API server; optional",
                false,
                true,
            ),
        ],
        "ntfy" => vec![
            spec(
                "url",
                "Topic URL",
                "such as https://ntfy.sh/your-topic",
                false,
                false,
            ),
            spec(
                "token",
                "Access token",
                "for protected topics; optional",
                true,
                true,
            ),
        ],
        "pager_duty" => vec![
            spec(
                "routing_key",
                "Routing key",
                "the Events API v2 integration key",
                true,
                false,
            ),
            spec("api_url", "API URL", "optional", false, true),
        ],
        "opsgenie" => vec![
            spec("api_key", "API key", "an API integration key", true, false),
            spec(
                "api_url",
                "API URL",
                "such as https://api.eu.opsgenie.com for the EU; optional",
                false,
                true,
            ),
        ],
        _ => Vec::new(),
    }
}

fn known_kind(kind: &str) -> Result<&'static str, AdminError> {
    KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(k, _)| *k)
        .ok_or_else(|| {
            AdminError::unprocessable(format!(
                "`{}` is not a channel kind; choose one of {}",
                kind.chars().take(40).collect::<String>(),
                KINDS.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", ")
            ))
        })
}

/// A field as the template shows it.
pub struct FieldView {
    key: &'static str,
    label: &'static str,
    hint: &'static str,
    multiline: bool,
    secret: bool,
    optional: bool,
    /// The value shown (never a secret's).
    value: String,
    /// For a secret: that one is stored, and what may be said of it (header names, a masked
    /// form).
    set: Option<String>,
}

/// The channel form as shown: new, or an existing channel, with the values typed.
pub struct ChannelView {
    /// None for a new channel.
    id: Option<String>,
    kind: &'static str,
    kind_label: &'static str,
    name: String,
    events: String,
    subjects: String,
    enabled: bool,
    rate: String,
    concurrency: String,
    fields: Vec<FieldView>,
}

/// The text of a stored target field (not for secrets).
fn shown(target: &Value, key: &str, shape: Shape) -> String {
    match (target.get(key), shape) {
        (Some(Value::Array(items)), _) => items
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join("\n"),
        (Some(Value::String(s)), _) => s.clone(),
        _ => String::new(),
    }
}

/// What may be said of a stored secret: its masked form, or the header names.
fn secret_note(redacted: &Value, key: &str, shape: Shape) -> Option<String> {
    match (redacted.get(key)?, shape) {
        (Value::Object(map), Shape::Headers) if !map.is_empty() => Some(format!(
            "set: {}",
            map.keys().cloned().collect::<Vec<_>>().join(", ")
        )),
        (Value::String(s), _) => Some(format!("set ({s})")),
        _ => None,
    }
}

impl ChannelView {
    fn new_of(kind: &'static str) -> ChannelView {
        ChannelView {
            id: None,
            kind,
            kind_label: label_of(kind),
            name: String::new(),
            events: DEFAULT_CHANNEL_EVENTS.join("\n"),
            subjects: String::new(),
            enabled: true,
            rate: DEFAULT_RATE_PER_MINUTE.to_string(),
            concurrency: DEFAULT_CONCURRENCY.to_string(),
            fields: specs(kind)
                .into_iter()
                .map(|s| FieldView {
                    key: s.key,
                    label: s.label,
                    hint: s.hint,
                    multiline: s.shape != Shape::Line,
                    secret: s.secret,
                    optional: s.optional,
                    value: String::new(),
                    set: None,
                })
                .collect(),
        }
    }

    fn of(channel: &Channel) -> ChannelView {
        let kind = channel.target.kind();
        let target = serde_json::to_value(&channel.target).unwrap_or_default();
        let redacted = serde_json::to_value(channel.target.redacted()).unwrap_or_default();
        ChannelView {
            id: Some(channel.id.to_string()),
            kind,
            kind_label: label_of(kind),
            name: channel.name.clone(),
            events: channel.events.join("\n"),
            subjects: channel.subjects.join("\n"),
            enabled: channel.enabled,
            rate: channel.rate_per_minute.to_string(),
            concurrency: channel.concurrency.to_string(),
            fields: specs(kind)
                .into_iter()
                .map(|s| FieldView {
                    key: s.key,
                    label: s.label,
                    hint: s.hint,
                    multiline: s.shape != Shape::Line,
                    secret: s.secret,
                    optional: s.optional,
                    value: if s.secret {
                        String::new()
                    } else {
                        shown(&target, s.key, s.shape)
                    },
                    set: if s.secret {
                        secret_note(&redacted, s.key, s.shape)
                    } else {
                        None
                    },
                })
                .collect(),
        }
    }

    /// The form as typed, for showing it again with an error: secrets left out.
    fn typed(mut self, pairs: &Pairs) -> ChannelView {
        self.name = field(pairs, "name").to_string();
        self.events = field(pairs, "events").to_string();
        self.subjects = field(pairs, "subjects").to_string();
        self.enabled = field(pairs, "enabled") == "true";
        self.rate = field(pairs, "rate_per_minute").to_string();
        self.concurrency = field(pairs, "concurrency").to_string();
        for f in &mut self.fields {
            if !f.secret {
                f.value = field(pairs, &format!("t_{}", f.key)).to_string();
            }
        }
        self
    }
}

fn label_of(kind: &str) -> &'static str {
    KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, l)| *l)
        .unwrap_or("Channel")
}

/// The target from the form: typed fields, else (for secrets left empty) the stored ones,
/// unless "remove" is ticked. Deserialised as the API's JSON, so the same rules apply.
fn target_from(kind: &str, pairs: &Pairs, stored: Option<&Target>) -> Result<Target, String> {
    let stored = stored
        .map(|t| serde_json::to_value(t).unwrap_or_default())
        .unwrap_or_default();
    let mut json = Map::new();
    json.insert("type".into(), Value::String(kind.to_string()));
    for s in specs(kind) {
        let typed = field(pairs, &format!("t_{}", s.key)).trim();
        let value = if !typed.is_empty() {
            match s.shape {
                Shape::Line => Value::String(typed.to_string()),
                Shape::List => Value::Array(lines(typed).into_iter().map(Value::String).collect()),
                Shape::Headers => {
                    let mut map = Map::new();
                    for line in typed.lines().map(str::trim).filter(|l| !l.is_empty()) {
                        let Some((name, value)) = line.split_once(':') else {
                            return Err(format!(
                                "{}: each line is `Name: value`; a line has no colon",
                                s.label
                            ));
                        };
                        map.insert(
                            name.trim().to_string(),
                            Value::String(value.trim().to_string()),
                        );
                    }
                    Value::Object(map)
                }
            }
        } else if s.secret && field(pairs, &format!("clear_{}", s.key)) != "true" {
            match stored.get(s.key) {
                Some(v) => v.clone(),
                None => continue,
            }
        } else {
            continue;
        };
        json.insert(s.key.to_string(), value);
    }
    for s in specs(kind) {
        if !s.optional && !json.contains_key(s.key) {
            return Err(format!("{} is required", s.label));
        }
    }
    serde_json::from_value(Value::Object(json)).map_err(|e| format!("target: {e}"))
}

fn number(pairs: &Pairs, name: &str, label: &str) -> Result<u32, String> {
    let text = field(pairs, name).trim();
    text.parse::<u32>()
        .map_err(|_| format!("{label}: `{text}` is not a whole number"))
}

/// The channel from the form, validated by the API's rules.
fn channel_from(
    kind: &str,
    pairs: &Pairs,
    stored: Option<&Target>,
) -> Result<NewChannel, AdminError> {
    let name = valid_name("name", field(pairs, "name").to_string()).map_err(from_api)?;
    let events = lines(field(pairs, "events"));
    check_events(&events).map_err(from_api)?;
    let new = NewChannel {
        name,
        target: target_from(kind, pairs, stored).map_err(AdminError::unprocessable)?,
        events,
        subjects: lines(field(pairs, "subjects")),
        enabled: field(pairs, "enabled") == "true",
        rate_per_minute: number(pairs, "rate_per_minute", "sends per minute")
            .map_err(AdminError::unprocessable)?,
        concurrency: number(pairs, "concurrency", "sends at once")
            .map_err(AdminError::unprocessable)?,
    };
    validate_channel(&new).map_err(AdminError::unprocessable)?;
    Ok(new)
}

/// The answer to "send test".
pub struct TestOutcome {
    sent: bool,
    status: Option<u16>,
    detail: String,
}

#[derive(Template)]
#[template(path = "admin/notifications/channel.html")]
struct ChannelPage {
    chrome: Chrome,
    channel: ChannelView,
    error: Option<String>,
    test: Option<TestOutcome>,
}

fn form_page(
    state: &AppState,
    user: &CurrentUser,
    status: StatusCode,
    flash: Flash,
    channel: ChannelView,
    error: Option<String>,
    test: Option<TestOutcome>,
) -> Response {
    let title = match &channel.id {
        Some(_) => format!("Channel {}", channel.name),
        None => format!("New {} channel", channel.kind_label),
    };
    html(
        status,
        &ChannelPage {
            chrome: Chrome::new(state, user, title, "notifications", flash),
            channel,
            error,
            test,
        },
    )
}

#[derive(Deserialize)]
pub struct NewQuery {
    #[serde(default)]
    kind: String,
}

#[utoipa::path(get, path = "/admin/notifications/channels/new", tag = "admin", security(()),
    params(("kind" = String, Query, description = "The channel kind: email, webhook, slack, ...")),
    responses((status = 200, description = "The form of a new channel of this kind", content_type = "text/html"),
              (status = 403, description = "Not an admin", content_type = "text/html"),
              (status = 422, description = "Unknown kind", content_type = "text/html")))]
pub async fn new_form(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(query): Query<NewQuery>,
) -> Result<Response, AdminError> {
    user.require_admin()?;
    let kind = known_kind(&query.kind)?;
    Ok(form_page(
        &state,
        &user,
        StatusCode::OK,
        Flash::default(),
        ChannelView::new_of(kind),
        None,
        None,
    ))
}

#[utoipa::path(post, path = "/admin/notifications/channels", tag = "admin", security(()),
    responses((status = 303, description = "Created: to the channel's page"),
              (status = 403, description = "Not an admin, or the form's security token is wrong", content_type = "text/html"),
              (status = 422, description = "A field is not valid: the form again with the message", content_type = "text/html")))]
pub async fn create(
    State(state): State<AppState>,
    CsrfForm(user, pairs): CsrfForm<Pairs>,
) -> Result<Response, AdminError> {
    user.require_admin()?;
    let kind = known_kind(field(&pairs, "kind"))?;
    let new = match channel_from(kind, &pairs, None) {
        Ok(new) => new,
        Err(err) => {
            return Ok(invalid(
                &state,
                &user,
                ChannelView::new_of(kind),
                &pairs,
                err,
            ))
        }
    };
    let channel = state.store.create_channel(new, &user.actor()).await?;
    Ok(see_other(&format!(
        "/admin/notifications/channels/{}?done=channel_created",
        channel.id
    )))
}

/// A refused form shown again with its message and the values typed (secrets left out).
fn invalid(
    state: &AppState,
    user: &CurrentUser,
    view: ChannelView,
    pairs: &Pairs,
    err: AdminError,
) -> Response {
    let secrets = view.fields.iter().any(|f| f.secret);
    let mut message = err.message;
    if secrets {
        message.push_str(" (secrets you typed are not shown again: type them again)");
    }
    form_page(
        state,
        user,
        err.status,
        Flash::default(),
        view.typed(pairs),
        Some(message),
        None,
    )
}

#[utoipa::path(get, path = "/admin/notifications/channels/{id}", tag = "admin", security(()),
    params(("id" = String, Path, description = "The channel's id")),
    responses((status = 200, description = "The channel's form; secrets shown only as set", content_type = "text/html"),
              (status = 403, description = "Not an admin", content_type = "text/html"),
              (status = 404, description = "No such channel", content_type = "text/html")))]
pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: Flash,
    Path(id): Path<String>,
) -> Result<Response, AdminError> {
    user.require_admin()?;
    let channel = state.store.get_channel(parse_id("channel", &id)?).await?;
    Ok(form_page(
        &state,
        &user,
        StatusCode::OK,
        flash,
        ChannelView::of(&channel),
        None,
        None,
    ))
}

#[utoipa::path(post, path = "/admin/notifications/channels/{id}", tag = "admin", security(()),
    params(("id" = String, Path, description = "The channel's id")),
    responses((status = 303, description = "Updated"),
              (status = 403, description = "Not an admin, or the form's security token is wrong", content_type = "text/html"),
              (status = 404, description = "No such channel", content_type = "text/html"),
              (status = 422, description = "A field is not valid: the form again with the message", content_type = "text/html")))]
pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(user, pairs): CsrfForm<Pairs>,
) -> Result<Response, AdminError> {
    user.require_admin()?;
    let id = parse_id("channel", &id)?;
    let stored = state.store.get_channel(id).await?;
    let kind = stored.target.kind();
    let new = match channel_from(kind, &pairs, Some(&stored.target)) {
        Ok(new) => new,
        Err(err) => {
            return Ok(invalid(
                &state,
                &user,
                ChannelView::of(&stored),
                &pairs,
                err,
            ))
        }
    };
    let patch = ChannelPatch {
        name: Some(new.name),
        target: Some(new.target),
        events: Some(new.events),
        subjects: Some(new.subjects),
        enabled: Some(new.enabled),
        rate_per_minute: Some(new.rate_per_minute),
        concurrency: Some(new.concurrency),
    };
    state.store.update_channel(id, patch, &user.actor()).await?;
    Ok(see_other(&format!(
        "/admin/notifications/channels/{id}?done=channel_updated"
    )))
}

#[derive(Deserialize)]
pub struct EnabledForm {
    #[serde(default)]
    enabled: String,
}

#[utoipa::path(post, path = "/admin/notifications/channels/{id}/enabled", tag = "admin", security(()),
    params(("id" = String, Path, description = "The channel's id")),
    responses((status = 303, description = "Enabled or disabled"),
              (status = 403, description = "Not an admin, or the form's security token is wrong", content_type = "text/html"),
              (status = 404, description = "No such channel", content_type = "text/html")))]
pub async fn set_enabled(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(user, form): CsrfForm<EnabledForm>,
) -> Result<Response, AdminError> {
    user.require_admin()?;
    let enabled = form.enabled == "true";
    let patch = ChannelPatch {
        enabled: Some(enabled),
        ..Default::default()
    };
    state
        .store
        .update_channel(parse_id("channel", &id)?, patch, &user.actor())
        .await?;
    Ok(see_other(if enabled {
        "/admin/notifications?done=channel_enabled"
    } else {
        "/admin/notifications?done=channel_disabled"
    }))
}

#[derive(Deserialize)]
pub struct Empty {}

#[utoipa::path(post, path = "/admin/notifications/channels/{id}/delete", tag = "admin", security(()),
    params(("id" = String, Path, description = "The channel's id")),
    responses((status = 303, description = "Deleted; its pending deliveries are cancelled"),
              (status = 403, description = "Not an admin, or the form's security token is wrong", content_type = "text/html"),
              (status = 404, description = "No such channel", content_type = "text/html")))]
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(user, _): CsrfForm<Empty>,
) -> Result<Response, AdminError> {
    user.require_admin()?;
    state
        .store
        .delete_channel(parse_id("channel", &id)?, &user.actor())
        .await?;
    Ok(see_other("/admin/notifications?done=channel_deleted"))
}

#[utoipa::path(post, path = "/admin/notifications/channels/{id}/test", tag = "admin", security(()),
    params(("id" = String, Path, description = "The channel's id")),
    responses((status = 200, description = "Sent a test message now; the page shows whether the receiver took it, or its error", content_type = "text/html"),
              (status = 403, description = "Not an admin, or the form's security token is wrong", content_type = "text/html"),
              (status = 404, description = "No such channel", content_type = "text/html"),
              (status = 503, description = "Notifications are turned off", content_type = "text/html")))]
pub async fn test(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(user, _): CsrfForm<Empty>,
) -> Result<Response, AdminError> {
    user.require_admin()?;
    let channel = state.store.get_channel(parse_id("channel", &id)?).await?;
    let Some(notifications) = &state.notifications else {
        return Err(AdminError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "notifications are turned off (`[notifications] enabled = false`); turn them on to send a test",
        ));
    };
    // The same call as the API's "send test": outside the outbox, nothing stored.
    let outcome = match notifications
        .send_test(&channel.target, state.clock.now())
        .await
    {
        Ok(receipt) => TestOutcome {
            sent: true,
            status: receipt.status,
            detail: receipt.response,
        },
        Err(err) => TestOutcome {
            sent: false,
            status: err.status,
            detail: err.message,
        },
    };
    Ok(form_page(
        &state,
        &user,
        StatusCode::OK,
        Flash::default(),
        ChannelView::of(&channel),
        None,
        Some(outcome),
    ))
}
