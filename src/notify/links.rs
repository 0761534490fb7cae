//! Signed links that work without a login: confirm a subscription, unsubscribe in one click,
//! acknowledge an escalation. A token is `<id>.<signature>`, the signature an HMAC-SHA256 over
//! the purpose and the id with a server-wide key kept in the database (`Store::secret`), so
//! every process of one installation accepts the others' links and a token made for one
//! purpose or id is refused for any other. Verification is constant-time (`Mac::verify`).

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The name of the key in the `secrets` table.
pub const KEY_NAME: &str = "links";

/// What a link does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkPurpose {
    Confirm,
    Unsubscribe,
    Acknowledge,
    /// The subscribe form's anti-forgery token (its id is the issue time and a nonce).
    Form,
}

impl LinkPurpose {
    fn tag(self) -> &'static str {
        match self {
            LinkPurpose::Confirm => "confirm",
            LinkPurpose::Unsubscribe => "unsubscribe",
            LinkPurpose::Acknowledge => "acknowledge",
            LinkPurpose::Form => "form",
        }
    }

    /// The page's path for this link.
    fn path(self) -> &'static str {
        match self {
            LinkPurpose::Confirm => "/subscribe/confirm",
            LinkPurpose::Unsubscribe => "/unsubscribe",
            LinkPurpose::Acknowledge => "/acknowledge",
            LinkPurpose::Form => "/subscribe",
        }
    }
}

/// Makes and checks signed links.
#[derive(Clone)]
pub struct Links {
    key: Vec<u8>,
    /// The page's public base URL, without a trailing slash.
    base: String,
}

impl std::fmt::Debug for Links {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Links").field("base", &self.base).finish()
    }
}

impl Links {
    pub fn new(key: Vec<u8>, base: &str) -> Links {
        Links {
            key,
            base: base.trim_end_matches('/').to_string(),
        }
    }

    fn mac(&self, purpose: LinkPurpose, id: &str) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key");
        mac.update(purpose.tag().as_bytes());
        mac.update(b":");
        mac.update(id.as_bytes());
        mac
    }

    /// The token for `id`.
    pub fn token(&self, purpose: LinkPurpose, id: &str) -> String {
        let signature = self.mac(purpose, id).finalize().into_bytes();
        format!("{id}.{}", hex::encode(signature))
    }

    /// The absolute URL carrying the token.
    pub fn url(&self, purpose: LinkPurpose, id: &str) -> String {
        format!(
            "{}{}?token={}",
            self.base,
            purpose.path(),
            self.token(purpose, id)
        )
    }

    /// The id a token was made for, when it is genuine and made for `purpose`.
    pub fn verify(&self, purpose: LinkPurpose, token: &str) -> Option<String> {
        let (id, signature) = token.rsplit_once('.')?;
        if id.is_empty() || id.len() > 100 {
            return None;
        }
        let signature = hex::decode(signature).ok()?;
        self.mac(purpose, id)
            .verify_slice(&signature)
            .ok()
            .map(|()| id.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_opens_only_its_own_door() {
        let links = Links::new(
            b"0123456789abcdef0123456789abcdef".to_vec(),
            "https://s.example/",
        );
        let id = "0193a1b2-0000-7000-8000-000000000001";
        let token = links.token(LinkPurpose::Unsubscribe, id);
        assert_eq!(
            links.verify(LinkPurpose::Unsubscribe, &token).as_deref(),
            Some(id)
        );
        assert_eq!(links.verify(LinkPurpose::Confirm, &token), None);
        let other = Links::new(b"another key".to_vec(), "https://s.example");
        assert_eq!(other.verify(LinkPurpose::Unsubscribe, &token), None);
        // Altered id, altered signature, truncated, garbage.
        let altered_id = token.replacen("0001", "0002", 1);
        assert_eq!(links.verify(LinkPurpose::Unsubscribe, &altered_id), None);
        let mut altered_sig = token.clone();
        let last = altered_sig.pop().unwrap();
        altered_sig.push(if last == '0' { '1' } else { '0' });
        assert_eq!(links.verify(LinkPurpose::Unsubscribe, &altered_sig), None);
        assert_eq!(
            links.verify(LinkPurpose::Unsubscribe, &token[..token.len() - 2]),
            None
        );
        assert_eq!(links.verify(LinkPurpose::Unsubscribe, "nonsense"), None);
        assert_eq!(links.verify(LinkPurpose::Unsubscribe, ""), None);
        assert!(links
            .url(LinkPurpose::Unsubscribe, id)
            .starts_with("https://s.example/unsubscribe?token="));
    }
}
