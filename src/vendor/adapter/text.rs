//! Helpers every adapter shares: HTML to plain text, lenient time parsing, mapping a
//! vendor's enum value with a recorded fallback, and lenient readers of scalars and ids.

use crate::domain::time::Timestamp;
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use regex::Regex;
use std::sync::LazyLock;

/// Plain text from a fragment of vendor HTML: block ends and `<br>` become line breaks,
/// other tags are dropped, entities are decoded, runs of blank lines collapse, and the
/// result is trimmed. Text that has no tags comes back unchanged apart from trimming.
pub fn html_to_text(html: &str) -> String {
    static BREAK: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(?i)<br\s*/?>|</tr\s*>").unwrap());
    static PARAGRAPH: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)</(p|div|h[1-6]|ul|ol|table|blockquote|pre)\s*>").unwrap()
    });
    static ITEM: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?i)<li(\s[^>]*)?>").unwrap());
    static TAG: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(?s)<!--.*?-->|<[a-zA-Z/!][^>]*>").unwrap());
    static BLANKS: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\n[ \t]*(\n[ \t]*)+").unwrap());
    static SPACES: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"[ \t\u{a0}]+").unwrap());

    if !html.contains('<') && !html.contains('&') {
        return html.trim().to_string();
    }
    let text = html.replace("\r\n", "\n");
    let text = BREAK.replace_all(&text, "\n");
    let text = PARAGRAPH.replace_all(&text, "\n\n");
    let text = ITEM.replace_all(&text, "\n- ");
    let text = TAG.replace_all(&text, "");
    let text = html_escape::decode_html_entities(&text);
    let text = SPACES.replace_all(&text, " ");
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let text = lines.join("\n");
    BLANKS.replace_all(&text, "\n\n").trim().to_string()
}

/// A time in any of the forms vendors use: RFC 3339 (with or without fractional seconds,
/// `Z` or an offset), RFC 2822 (feeds), a naive `YYYY-MM-DD HH:MM:SS` or `T`-separated
/// form (taken as UTC), or epoch seconds or milliseconds as digits.
pub fn parse_time(s: &str) -> Option<Timestamp> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Some(t) = Timestamp::parse(s) {
        return Some(t);
    }
    if let Ok(dt) = DateTime::parse_from_rfc2822(s) {
        return Some(Timestamp::from_datetime(dt.with_timezone(&Utc)));
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(s.trim_end_matches('Z'), format) {
            return Some(Timestamp::from_datetime(Utc.from_utc_datetime(&naive)));
        }
    }
    if let Ok(n) = s.parse::<i64>() {
        return epoch(n);
    }
    // RFC 2822 variants with a bare `Z` zone, as Azure writes them.
    if let Some(rest) = s.strip_suffix(" Z").or_else(|| s.strip_suffix('Z')) {
        if let Ok(dt) = DateTime::parse_from_rfc2822(&format!("{} +0000", rest.trim_end())) {
            return Some(Timestamp::from_datetime(dt.with_timezone(&Utc)));
        }
    }
    None
}

/// Epoch seconds, or milliseconds when the number is too large to be seconds.
pub fn epoch(n: i64) -> Option<Timestamp> {
    let dt = if n.abs() >= 100_000_000_000 {
        DateTime::from_timestamp_millis(n)?
    } else {
        DateTime::from_timestamp(n, 0)?
    };
    Some(Timestamp::from_datetime(dt))
}

/// The most unknown-value notes one document keeps.
pub const MAX_NOTES: usize = 32;

/// Record a value an adapter did not recognise, as `"<what> \"<value>\" → <default>"`, and
/// return the default. The poller logs each distinct note once per vendor. At most
/// [`MAX_NOTES`] are kept, so a hostile document of countless odd values costs no more.
pub fn unknown<T: std::fmt::Display>(
    notes: &mut Vec<String>,
    what: &str,
    value: &str,
    default: T,
) -> T {
    if notes.len() >= MAX_NOTES {
        return default;
    }
    let note = format!("{what} \"{}\" → {default}", truncate(value, 60));
    if !notes.contains(&note) {
        notes.push(note);
    }
    default
}

/// At most `max` characters of `s`, on a character boundary.
pub fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// A scalar as text (numbers and booleans stringified); anything else (null, objects,
/// arrays) as `None`. For fields a vendor may write either way.
pub fn scalar_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    use serde::Deserialize;
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => Some(s),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    })
}

/// Like [`scalar_text`], trimmed, and an empty string as `None`. Lenient on purpose: a
/// vendor writing an id as a number, or a stray null, must not cost the whole document.
pub fn trimmed_scalar<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    use serde::Deserialize;
    Ok(trimmed_scalar_of(&serde_json::Value::deserialize(d)?))
}

/// [`trimmed_scalar`] of a value already read.
pub fn trimmed_scalar_of(value: &serde_json::Value) -> Option<String> {
    let text = match value {
        serde_json::Value::String(s) => s.trim().to_string(),
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::Bool(b) => b.to_string(),
        _ => return None,
    };
    (!text.is_empty()).then_some(text)
}

/// `true` only for a JSON `true`.
pub fn json_true<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    use serde::Deserialize;
    Ok(serde_json::Value::deserialize(d)? == serde_json::Value::Bool(true))
}

/// Trimmed, and `None` when empty.
pub fn non_empty(s: Option<&str>) -> Option<&str> {
    s.map(str::trim).filter(|s| !s.is_empty())
}

/// A vendor id, written as a string or a number (anything else is an error).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Id(pub String);

impl<'de> serde::Deserialize<'de> for Id {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::{self, Visitor};
        struct IdVisitor;
        impl Visitor<'_> for IdVisitor {
            type Value = Id;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string or a number")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Id, E> {
                Ok(Id(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Id, E> {
                Ok(Id(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Id, E> {
                Ok(Id(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Id, E> {
                Ok(Id(v.to_string()))
            }
        }
        deserializer.deserialize_any(IdVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_becomes_readable_text() {
        assert_eq!(
            html_to_text("<p>We are <b>investigating</b> &amp; will update.</p><p>Next</p>"),
            "We are investigating & will update.\n\nNext"
        );
        assert_eq!(html_to_text("a<br />b<br>c"), "a\nb\nc");
        assert_eq!(
            html_to_text("<ul><li>one</li><li>two</li></ul>"),
            "- one\n- two"
        );
        assert_eq!(html_to_text("  plain text  "), "plain text");
        assert_eq!(html_to_text("1 < 2 and 3 > 2"), "1 < 2 and 3 > 2");
        assert_eq!(html_to_text("<!-- c -->x"), "x");
    }

    #[test]
    fn times_in_vendor_forms() {
        let t = |s| parse_time(s).map(|t| t.to_db());
        assert_eq!(
            t("2026-07-29T17:26:25.123Z").unwrap(),
            "2026-07-29T17:26:25.123000Z"
        );
        assert_eq!(
            t("2021-12-06T09:38:29.051-08:00").unwrap(),
            "2021-12-06T17:38:29.051000Z"
        );
        assert_eq!(
            t("Thu, 09 Jan 2014 10:00:00 -0800").unwrap(),
            "2014-01-09T18:00:00.000000Z"
        );
        assert_eq!(
            t("Thu, 23 Jul 2026 16:49:00 Z").unwrap(),
            "2026-07-23T16:49:00.000000Z"
        );
        assert_eq!(
            t("2020-07-30 12:00:00").unwrap(),
            "2020-07-30T12:00:00.000000Z"
        );
        assert_eq!(t("1656806400").unwrap(), "2022-07-03T00:00:00.000000Z");
        assert_eq!(t("1656806400000").unwrap(), "2022-07-03T00:00:00.000000Z");
        assert_eq!(t("yesterday"), None);
        assert_eq!(t(""), None);
    }

    #[test]
    fn unknown_values_are_noted_once() {
        let mut notes = Vec::new();
        assert_eq!(unknown(&mut notes, "impact", "sev0", "major"), "major");
        assert_eq!(unknown(&mut notes, "impact", "sev0", "major"), "major");
        assert_eq!(notes, vec!["impact \"sev0\" → major".to_string()]);
        assert_eq!(truncate("héllo", 2), "hé");
    }
}
