//! Passwords: the rules, argon2id hashing and verification, and generated passwords.
//!
//! Hashing costs tens of milliseconds of CPU and memory by design, so it runs on tokio's
//! blocking pool ([`tokio::task::spawn_blocking`]) and never on the async runtime's workers.
//! Verifying for an email that has no account runs the same work against a fixed dummy hash
//! ([`verify_dummy`]), so the answer's timing does not tell which addresses have accounts.

use argon2::password_hash::SaltString;
use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use rand::{Rng, RngCore};
use std::sync::LazyLock;

/// The shortest password accepted, in characters.
pub const MIN_CHARS: usize = 12;
/// The longest password accepted, in bytes: bounds the hashing work one request can ask for.
pub const MAX_BYTES: usize = 1024;

/// Checks a new password against the rules; the message says what to do.
pub fn validate(password: &str) -> Result<(), String> {
    if password.chars().count() < MIN_CHARS {
        return Err(format!(
            "password: use at least {MIN_CHARS} characters (a few unrelated words make a good one)"
        ));
    }
    if password.len() > MAX_BYTES {
        return Err(format!("password: use at most {MAX_BYTES} bytes"));
    }
    if password.trim().is_empty() {
        return Err("password: must not be only spaces".into());
    }
    Ok(())
}

/// Hashes a password into an argon2id PHC string (salt and parameters included), off the
/// async runtime.
pub async fn hash(password: &str) -> Result<String, String> {
    let password = password.to_string();
    tokio::task::spawn_blocking(move || hash_blocking(&password))
        .await
        .map_err(|e| format!("password hashing stopped: {e}"))?
}

fn hash_blocking(password: &str) -> Result<String, String> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| format!("cannot hash the password: {e}"))
}

/// Whether `password` matches the stored PHC string, off the async runtime. A stored hash that
/// does not parse never matches. Oversized input never matches and costs nothing.
pub async fn verify(password: &str, stored: &str) -> bool {
    if password.len() > MAX_BYTES {
        return false;
    }
    let password = password.to_string();
    let stored = stored.to_string();
    tokio::task::spawn_blocking(move || verify_blocking(&password, &stored))
        .await
        .unwrap_or(false)
}

fn verify_blocking(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A hash of a random password nobody knows, made once (on the blocking pool, at first use).
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash_blocking(&generate()).expect("hashing a generated password succeeds"));

/// Does the work of a verification that fails: for sign-in attempts with an unknown email.
pub async fn verify_dummy(password: &str) {
    let password: String = password.chars().take(MAX_BYTES).collect();
    let _ = tokio::task::spawn_blocking(move || verify_blocking(&password, &DUMMY_HASH)).await;
}

/// A strong password to print once: 20 characters from an alphabet without look-alikes
/// (about 113 bits).
pub fn generate() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..20)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        assert!(validate("short").is_err());
        assert!(validate("            ").is_err());
        assert!(validate(&"x".repeat(MAX_BYTES + 1)).is_err());
        assert!(validate("correct horse battery").is_ok());
        assert!(validate(&generate()).is_ok());
    }

    #[tokio::test]
    async fn hashes_are_argon2id_and_verify() {
        let h = hash("correct horse battery").await.unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify("correct horse battery", &h).await);
        assert!(!verify("correct horse batterx", &h).await);
        assert!(!verify("anything", "not a hash").await);
        assert_ne!(hash("correct horse battery").await.unwrap(), h, "salted");
        verify_dummy("whatever").await;
    }
}
