//! The generic webhook: one signed JSON POST per message.
//!
//! ## What is sent
//!
//! ```text
//! POST <url>
//! Content-Type: application/json
//! Idempotency-Key: <stable across retries of one delivery>
//! Pharos-Event: incident.opened
//! Pharos-Timestamp: 1796000000
//! Pharos-Signature: v1=<hex HMAC-SHA256(secret, "<Pharos-Timestamp>.<body>")>   (with a secret)
//!
//! {"event": {...the event as /api/v1/events shows it...},
//!  "message": {"title", "text", "markdown", "html", "link", "severity", "subject_key",
//!              "resolves"},
//!  "page": {"name", "url"},
//!  "ack_url": "...",            (escalations only)
//!  "unsubscribe_url": "..."}    (subscribers only)
//! ```
//!
//! plus the target's own headers, which may not replace these.
//!
//! ## Verifying a delivery
//!
//! 1. Take the raw request body as bytes, before any JSON parsing.
//! 2. Read `Pharos-Timestamp`; reject the request when it is more than 5 minutes away from
//!    your clock (a replayed request carries an old timestamp, and the signature covers it).
//! 3. Compute `HMAC-SHA256(secret, timestamp + "." + body)` as lower-case hex and compare it
//!    with the part of `Pharos-Signature` after `v1=` **in constant time** (for example
//!    `hmac.compare_digest` in Python, `crypto.timingSafeEqual` in Node.js).
//! 4. Deduplicate on `Idempotency-Key`: a delivery that timed out on Pharos's side may have
//!    arrived, and is sent again with the same key.
//!
//! The timestamp is the time of the attempt, not of the event, so a retry an hour later
//! still verifies. [`verify_signature`] is the reference implementation.

use super::{is_private_literal, Envelope, Reach, Receipt, SendError, Sender};
use crate::notify::message::{Message, PageContext};
use hmac::{Hmac, Mac};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE};
use std::collections::BTreeMap;

type HmacSha256 = Hmac<sha2::Sha256>;

/// Headers Pharos sets on every webhook request; a target's own headers cannot replace them.
const RESERVED: &[&str] = &[
    "content-type",
    "content-length",
    "host",
    "idempotency-key",
    "pharos-event",
    "pharos-timestamp",
    "pharos-signature",
    "transfer-encoding",
    "connection",
];

pub(super) fn is_reserved_header(name: &str) -> bool {
    RESERVED.contains(&name.to_ascii_lowercase().as_str())
}

/// The `Pharos-Signature` value for a body sent at `timestamp` (unix seconds): `v1=<hex>`.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac =
        HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// How long a signed request stays valid, either side of the receiver's clock.
pub const SIGNATURE_TOLERANCE_SECS: i64 = 300;

/// What a receiver does (see the module documentation): true when `signature_header`
/// (`v1=<hex>`) is the HMAC of `timestamp_header` and `body` under `secret`, compared in
/// constant time, and the timestamp is within 5 minutes of `now_unix`.
pub fn verify_signature(
    secret: &str,
    timestamp_header: &str,
    signature_header: &str,
    body: &[u8],
    now_unix: i64,
) -> bool {
    let Ok(timestamp) = timestamp_header.trim().parse::<i64>() else {
        return false;
    };
    if (now_unix - timestamp).abs() > SIGNATURE_TOLERANCE_SECS {
        return false;
    }
    let Some(hex_mac) = signature_header.trim().strip_prefix("v1=") else {
        return false;
    };
    let Ok(expected) = hex::decode(hex_mac) else {
        return false;
    };
    let mut mac =
        HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// The JSON body every webhook gets.
pub fn body(message: &Message, envelope: &Envelope, page: &PageContext) -> serde_json::Value {
    let mut body = serde_json::json!({
        "event": message.event,
        "message": {
            "title": message.title,
            "text": message.text,
            "markdown": message.markdown,
            "html": message.html,
            "link": message.link,
            "severity": message.severity,
            "subject_key": message.subject_key,
            "resolves": message.resolves,
        },
        "page": {
            "name": page.name,
            "url": page.url,
        },
    });
    if let Some(map) = body.as_object_mut() {
        if let Some(ack) = &envelope.ack_url {
            map.insert("ack_url".into(), ack.clone().into());
        }
        if let Some(unsubscribe) = &envelope.unsubscribe_url {
            map.insert("unsubscribe_url".into(), unsubscribe.clone().into());
        }
    }
    body
}

pub(super) async fn send(
    sender: &Sender,
    url: &str,
    secret: Option<&str>,
    custom: &BTreeMap<String, String>,
    message: &Message,
    envelope: &Envelope,
) -> Result<Receipt, SendError> {
    let bytes = serde_json::to_vec(&body(message, envelope, &sender.page()))
        .map_err(|err| SendError::permanent(format!("cannot encode the message: {err}")))?;
    let timestamp = sender.now_unix();
    let mut headers = HeaderMap::new();
    // The target's own headers first, so Pharos's replace any that slipped past validation.
    for (name, value) in custom {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            headers.insert(name, value);
        }
    }
    let value = |text: &str| {
        HeaderValue::from_str(text).map_err(|_| {
            SendError::permanent("a header value Pharos sets is not valid HTTP (idempotency key?)")
        })
    };
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert("idempotency-key", value(&envelope.idempotency_key)?);
    headers.insert("pharos-event", value(&message.event_kind)?);
    headers.insert("pharos-timestamp", value(&timestamp.to_string())?);
    if let Some(secret) = secret {
        headers.insert(
            "pharos-signature",
            value(&signature(secret, timestamp, &bytes))?,
        );
    }
    let client = match envelope.reach {
        Reach::Anywhere => &sender.http,
        Reach::PublicOnly => {
            // An IP literal is not resolved, so it is checked here; host names (`localhost`
            // too) are checked by the client's resolver, address by address.
            if is_private_literal(url) {
                return Err(SendError::permanent(
                    "the webhook URL points at a private address; subscribers' webhooks must be public (or set [notifications] allow_private_targets)",
                ));
            }
            &sender.public_http
        }
    };
    sender
        .post(client.post(url).headers(headers).body(bytes))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_only_with_its_secret_body_and_a_fresh_time() {
        let body = br#"{"a":1}"#;
        let sig = signature("s3cret", 1_800_000_000, body);
        assert!(sig.starts_with("v1="));
        assert_eq!(sig.len(), 3 + 64);
        assert!(verify_signature(
            "s3cret",
            "1800000000",
            &sig,
            body,
            1_800_000_100
        ));
        assert!(!verify_signature(
            "other",
            "1800000000",
            &sig,
            body,
            1_800_000_100
        ));
        assert!(!verify_signature(
            "s3cret",
            "1800000000",
            &sig,
            b"{}",
            1_800_000_100
        ));
        assert!(!verify_signature(
            "s3cret",
            "1800000001",
            &sig,
            body,
            1_800_000_100
        ));
        assert!(!verify_signature(
            "s3cret",
            "1800000000",
            &sig,
            body,
            1_800_000_301
        ));
        assert!(!verify_signature(
            "s3cret",
            "1800000000",
            "v2=00",
            body,
            1_800_000_000
        ));
    }

    #[test]
    fn the_signature_matches_a_known_value() {
        // Computed independently, with Python's hmac module:
        // hmac.new(b"key", b"1700000000.{}", hashlib.sha256).hexdigest()
        assert_eq!(
            signature("key", 1_700_000_000, b"{}"),
            "v1=9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae"
        );
    }
}
