//! API tokens: how they are made, shown once, and checked.
//!
//! A token reads `pharos_<id>_<secret>`: the id (32 hex digits) finds the stored row, and only a
//! SHA-256 of the secret is stored. The secret is 256 random bits, so a fast hash is enough
//! (a slow password hash guards low-entropy secrets, which these are not), and the presented
//! secret's hash is compared with the stored one in constant time.

use crate::domain::TokenId;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

const PREFIX: &str = "pharos_";

/// A freshly made token: the text to show the user once, and what to store.
pub struct IssuedToken {
    pub id: TokenId,
    /// The whole token. Never stored, never logged.
    pub text: String,
    pub secret_hash: String,
}

pub fn issue() -> IssuedToken {
    let id = TokenId::new();
    let mut secret = [0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret);
    IssuedToken {
        id,
        text: format!("{PREFIX}{}_{secret}", id.0.simple()),
        secret_hash: hash_secret(&secret),
    }
}

/// Splits a presented token into its id and secret; `None` when it is not shaped like one.
pub fn parse(presented: &str) -> Option<(TokenId, &str)> {
    let rest = presented.strip_prefix(PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    if id.len() != 32 || secret.is_empty() {
        return None;
    }
    let id = uuid::Uuid::try_parse(id).ok()?;
    Some((TokenId(id), secret))
}

pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Whether `secret` matches `stored_hash`, in time independent of where they differ.
pub fn verify(secret: &str, stored_hash: &str) -> bool {
    let presented = hash_secret(secret);
    presented.as_bytes().ct_eq(stored_hash.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_issued_token_parses_and_verifies() {
        let token = issue();
        let (id, secret) = parse(&token.text).expect("parses");
        assert_eq!(id, token.id);
        assert!(verify(secret, &token.secret_hash));
        assert!(!verify("not-the-secret", &token.secret_hash));
        assert!(!token.secret_hash.contains(secret));
    }

    #[test]
    fn malformed_tokens_do_not_parse() {
        for bad in [
            "",
            "pharos_",
            "pharos_abc_def",
            "Bearer x",
            "pharos_zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz_x",
        ] {
            assert!(parse(bad).is_none(), "{bad}");
        }
    }
}
