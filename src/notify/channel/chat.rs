//! Chat and push services: Slack, Mattermost, Discord, Microsoft Teams, Google Chat,
//! Telegram and ntfy. Each gets the message in the shape and markup its incoming webhook or
//! API documents, cut to its limits (with "…" and the link to the whole message), with the
//! acknowledgement link when the envelope has one, and with the receiver's mention syntax
//! defused in text that people wrote (no `@everyone`, `<users/all>` or `<!channel>` from an
//! update body).

use super::{truncate, truncate_with_link, Envelope, Receipt, SendError, Sender};
use crate::notify::message::{Message, PageContext, Severity};
use serde_json::json;

/// Slack shows about this much of an attachment's text before "Show more"; longer texts are
/// cut so the link stays visible.
const SLACK_TEXT_MAX: usize = 3_000;
/// Mattermost accepts 16,383 characters a post; attachments are kept well below.
const MATTERMOST_TEXT_MAX: usize = 4_000;
/// Discord's limits: `content` 2,000, embed title 256, description 4,096, footer 2,048.
const DISCORD_CONTENT_MAX: usize = 2_000;
const DISCORD_TITLE_MAX: usize = 256;
const DISCORD_DESCRIPTION_MAX: usize = 4_096;
/// Teams refuses cards above about 28 KB.
const TEAMS_TEXT_MAX: usize = 10_000;
/// Google Chat text messages are kept to 4,000 characters.
const GOOGLE_CHAT_MAX: usize = 4_000;
/// Telegram allows 4,096 characters after parsing; the escaped text is kept below.
const TELEGRAM_TEXT_MAX: usize = 3_500;
/// ntfy turns a message above 4,096 bytes into an attachment.
const NTFY_MAX_BYTES: usize = 4_000;

/// `#rrggbb` of a severity: red, orange, amber, blue, green.
pub fn colour(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "#d92d20",
        Severity::Major => "#e8590c",
        Severity::Minor => "#f0b400",
        Severity::Info => "#1c7ed6",
        Severity::Resolved => "#2f9e44",
    }
}

fn colour_number(severity: Severity) -> u32 {
    u32::from_str_radix(&colour(severity)[1..], 16).unwrap_or(0)
}

/// Slack's mrkdwn escaping: `&`, `<` and `>` as entities, which also defuses `<!channel>`.
fn slack_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn html_escape(text: &str) -> String {
    html_escape::encode_text(text).into_owned()
}

fn attr_escape(text: &str) -> String {
    html_escape::encode_double_quoted_attribute(text).into_owned()
}

/// The Slack and Mattermost attachment shape: `text` (the title, which notifications show)
/// plus one attachment with the severity's colour, the subject as a linked title, the body,
/// the page as footer and the time.
fn attachment_payload(
    page: &PageContext,
    message: &Message,
    title: String,
    body: String,
) -> serde_json::Value {
    let mut attachment = json!({
        "fallback": title,
        "color": colour(message.severity),
        "title": truncate(message.subject_name(), 250),
        "text": body,
        "footer": page.name,
        "ts": message.at.0.timestamp(),
        "mrkdwn_in": ["text"],
    });
    if let Some(link) = &message.link {
        attachment["title_link"] = json!(link);
    }
    json!({ "text": title, "attachments": [attachment] })
}

pub(super) async fn slack(
    sender: &Sender,
    url: &str,
    message: &Message,
    envelope: &Envelope,
) -> Result<Receipt, SendError> {
    let mut body = slack_escape(&truncate_with_link(
        &message.text,
        SLACK_TEXT_MAX,
        message.link.as_deref(),
    ));
    if let Some(ack) = &envelope.ack_url {
        body.push_str(&format!("\n\n<{}|Acknowledge>", slack_escape(ack)));
    }
    let payload = attachment_payload(&sender.page(), message, slack_escape(&message.title), body);
    sender.post(sender.http.post(url).json(&payload)).await
}

pub(super) async fn mattermost(
    sender: &Sender,
    url: &str,
    message: &Message,
    envelope: &Envelope,
) -> Result<Receipt, SendError> {
    let mut body = defuse_mentions(&truncate_with_link(
        &message.markdown,
        MATTERMOST_TEXT_MAX,
        message.link.as_deref(),
    ));
    if let Some(ack) = &envelope.ack_url {
        body.push_str(&format!("\n\n[Acknowledge]({ack})"));
    }
    let payload = attachment_payload(
        &sender.page(),
        message,
        defuse_mentions(&message.title),
        body,
    );
    sender.post(sender.http.post(url).json(&payload)).await
}

/// `@all`, `@channel`, `@here`, `@everyone` with a zero-width joiner after the `@`, so they
/// read the same and notify no one.
fn defuse_mentions(text: &str) -> String {
    let mut out = text.to_string();
    for word in ["all", "channel", "here", "everyone"] {
        out = out.replace(&format!("@{word}"), &format!("@\u{2060}{word}"));
    }
    out
}

pub(super) async fn discord(
    sender: &Sender,
    url: &str,
    message: &Message,
    envelope: &Envelope,
) -> Result<Receipt, SendError> {
    let mut room = DISCORD_DESCRIPTION_MAX;
    let ack = envelope
        .ack_url
        .as_ref()
        .map(|ack| format!("\n\n[Acknowledge]({ack})"));
    if let Some(ack) = &ack {
        room = room.saturating_sub(ack.chars().count());
    }
    let mut description = truncate_with_link(&message.markdown, room, message.link.as_deref());
    description.extend(ack);
    let mut embed = json!({
        "title": truncate(message.subject_name(), DISCORD_TITLE_MAX),
        "description": description,
        "color": colour_number(message.severity),
        "timestamp": message.at.0.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "footer": { "text": truncate(&sender.page.name(), 2_000) },
    });
    if let Some(link) = &message.link {
        embed["url"] = json!(link);
    }
    let payload = json!({
        "content": truncate(&message.title, DISCORD_CONTENT_MAX),
        "embeds": [embed],
        // Nobody is pinged by what an update body says.
        "allowed_mentions": { "parse": [] },
    });
    sender.post(sender.http.post(url).json(&payload)).await
}

pub(super) async fn teams(
    sender: &Sender,
    url: &str,
    message: &Message,
    envelope: &Envelope,
) -> Result<Receipt, SendError> {
    let colour = match message.severity {
        Severity::Critical | Severity::Major => "Attention",
        Severity::Minor => "Warning",
        Severity::Info => "Accent",
        Severity::Resolved => "Good",
    };
    let mut actions = Vec::new();
    if let Some(link) = &message.link {
        actions.push(json!({ "type": "Action.OpenUrl", "title": "View", "url": link }));
    }
    if let Some(ack) = &envelope.ack_url {
        actions.push(json!({ "type": "Action.OpenUrl", "title": "Acknowledge", "url": ack }));
    }
    let card = json!({
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "msteams": { "width": "Full" },
        "body": [
            {
                "type": "TextBlock",
                "text": message.title,
                "weight": "Bolder",
                "size": "Medium",
                "color": colour,
                "wrap": true,
            },
            {
                "type": "TextBlock",
                "text": truncate_with_link(&message.text, TEAMS_TEXT_MAX, message.link.as_deref()),
                "wrap": true,
            },
        ],
        "actions": actions,
    });
    let payload = json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": card,
        }],
    });
    let answer = sender
        .exchange(sender.http.post(url).json(&payload))
        .await?;
    // The retired Office 365 connectors answered 200 with the failure in the body.
    let start = answer.start();
    if answer.status.is_success() && start.starts_with("Webhook message delivery failed") {
        return Err(SendError {
            status: Some(answer.status.as_u16()),
            ..SendError::transient(format!(
                "receiver answered {}: {start}",
                answer.status.as_u16()
            ))
        });
    }
    answer.into_result()
}

pub(super) async fn google_chat(
    sender: &Sender,
    url: &str,
    message: &Message,
    envelope: &Envelope,
) -> Result<Receipt, SendError> {
    // Messages about one subject go to one thread.
    let mut url = url::Url::parse(url)
        .map_err(|_| SendError::permanent("the target's address is not a URL"))?;
    if !url.query_pairs().any(|(k, _)| k == "messageReplyOption") {
        url.query_pairs_mut()
            .append_pair("messageReplyOption", "REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD");
    }
    let mut tail = String::new();
    if let Some(link) = &message.link {
        tail.push_str(&format!(
            "\n<{link}|View on {}>",
            one_line(&sender.page.name())
        ));
    }
    if let Some(ack) = &envelope.ack_url {
        tail.push_str(&format!("\n<{ack}|Acknowledge>"));
    }
    let title = defuse_google(&message.title);
    let room = GOOGLE_CHAT_MAX.saturating_sub(title.chars().count() + tail.chars().count() + 4);
    let body = defuse_google(&truncate_with_link(&message.text, room, None));
    let payload = json!({
        "text": format!("*{title}*\n{body}{tail}"),
        "thread": { "threadKey": message.subject_key },
    });
    sender.post(sender.http.post(url).json(&payload)).await
}

/// Google Chat reads `<users/all>` and `<url|text>` in text; a word joiner after each `<`
/// keeps what people wrote as written.
fn defuse_google(text: &str) -> String {
    text.replace('<', "<\u{2060}")
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Telegram's HTML: only `<b>`, `<i>`, `<a href>`, `<code>`, `<pre>` and a few more are
/// allowed, so the message is built from its plain text, escaped, with tags of our own.
pub fn telegram_html(message: &Message, envelope: &Envelope) -> String {
    let title = html_escape(&message.title);
    let mut html = match &message.link {
        Some(link) => format!("<b><a href=\"{}\">{title}</a></b>", attr_escape(link)),
        None => format!("<b>{title}</b>"),
    };
    let text = truncate_with_link(&message.text, TELEGRAM_TEXT_MAX, message.link.as_deref());
    html.push_str("\n\n");
    html.push_str(&html_escape(&text));
    if let Some(ack) = &envelope.ack_url {
        html.push_str(&format!(
            "\n\n<a href=\"{}\">Acknowledge</a>",
            attr_escape(ack)
        ));
    }
    html
}

pub(super) async fn telegram(
    sender: &Sender,
    bot_token: &str,
    chat_id: &str,
    api_url: Option<&str>,
    message: &Message,
    envelope: &Envelope,
) -> Result<Receipt, SendError> {
    let api = api_url
        .unwrap_or("https://api.telegram.org")
        .trim_end_matches('/');
    let url = format!("{api}/bot{bot_token}/sendMessage");
    let payload = json!({
        "chat_id": chat_id.trim(),
        "text": telegram_html(message, envelope),
        "parse_mode": "HTML",
        "disable_web_page_preview": true,
        "link_preview_options": { "is_disabled": true },
    });
    let answer = sender
        .exchange(sender.http.post(url).json(&payload))
        .await?;
    if answer.status.as_u16() == 429 && answer.retry_after.is_none() {
        // Telegram says how long to wait in the body: {"parameters": {"retry_after": 30}}.
        let retry_after = serde_json::from_slice::<serde_json::Value>(&answer.body)
            .ok()
            .and_then(|v| {
                v.pointer("/parameters/retry_after")
                    .and_then(|s| s.as_u64())
            })
            .map(std::time::Duration::from_secs);
        let mut err = answer.error();
        err.retry_after = retry_after;
        return Err(err);
    }
    answer.into_result()
}

/// ntfy's priority: 5 (max) for critical down to 2 (low) for information.
pub fn ntfy_priority(severity: Severity) -> u8 {
    match severity {
        Severity::Critical => 5,
        Severity::Major => 4,
        Severity::Minor | Severity::Resolved => 3,
        Severity::Info => 2,
    }
}

/// ntfy's tags: an emoji shortcode for the severity, then the kind of event.
fn ntfy_tags(message: &Message) -> String {
    let emoji = match message.severity {
        Severity::Critical => "rotating_light",
        Severity::Major | Severity::Minor => "warning",
        Severity::Info => "information_source",
        Severity::Resolved => "white_check_mark",
    };
    let family = message
        .event_kind
        .split('.')
        .next()
        .unwrap_or("pharos")
        .to_string();
    format!("{emoji},{family}")
}

/// A header value: as is when it is printable ASCII, else RFC 2047 encoded, which ntfy
/// decodes.
fn header_text(text: &str) -> String {
    let text = one_line(text);
    if text.chars().all(|c| c.is_ascii_graphic() || c == ' ') {
        text
    } else {
        use base64::Engine;
        format!(
            "=?UTF-8?B?{}?=",
            base64::engine::general_purpose::STANDARD.encode(text.as_bytes())
        )
    }
}

/// Cuts `text` to at most `max` bytes, with "…" and the link when cut.
fn truncate_bytes(text: &str, max: usize, link: Option<&str>) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let tail = match link {
        Some(link) => format!("…\n\nFull message: {link}"),
        None => "…".to_string(),
    };
    let mut cut = max.saturating_sub(tail.len());
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{tail}", text[..cut].trim_end())
}

pub(super) async fn ntfy(
    sender: &Sender,
    url: &str,
    token: Option<&str>,
    message: &Message,
    envelope: &Envelope,
) -> Result<Receipt, SendError> {
    let body = truncate_bytes(&message.text, NTFY_MAX_BYTES, message.link.as_deref());
    let mut request = sender
        .http
        .post(url)
        .header("Title", header_text(&message.title))
        .header("Priority", ntfy_priority(message.severity).to_string())
        .header("Tags", ntfy_tags(message))
        .header(reqwest::header::CONTENT_TYPE, "text/plain; charset=utf-8");
    if let Some(link) = &message.link {
        request = request.header("Click", link.as_str());
    }
    if let Some(ack) = &envelope.ack_url {
        request = request.header("Actions", format!("view, Acknowledge, {ack}"));
    }
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    sender.post(request.body(body)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_text_encodes_what_is_not_ascii() {
        assert_eq!(header_text("[Acme] Down"), "[Acme] Down");
        let encoded = header_text("[Acme] Störung");
        assert!(encoded.starts_with("=?UTF-8?B?") && encoded.ends_with("?="));
        assert_eq!(header_text("a\nb"), "a b");
    }

    #[test]
    fn byte_truncation_respects_characters() {
        let text = "é".repeat(5000);
        let cut = truncate_bytes(&text, NTFY_MAX_BYTES, Some("https://x/y"));
        assert!(cut.len() <= NTFY_MAX_BYTES);
        assert!(cut.ends_with("Full message: https://x/y"));
    }

    #[test]
    fn mentions_are_defused() {
        assert!(!defuse_mentions("hey @everyone and @here").contains("@everyone"));
        assert!(!defuse_google("<users/all>").contains("<users"));
        assert_eq!(slack_escape("<!channel> & co"), "&lt;!channel&gt; &amp; co");
    }
}
