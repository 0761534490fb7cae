//! TOTP second factor (RFC 6238): HMAC-SHA-1, 6 digits, 30-second steps, accepting the step
//! before and after the current one for clock drift. The secret is 160 random bits, shown to
//! the user as base32 text and inside an `otpauth://` URI for authenticator apps.
//!
//! Pure: the caller passes the time. [`verify_step`] says which step a code matched, so the
//! caller can refuse a code's reuse: sign-in stores the last step it accepted per user and
//! accepts only later ones (`Store::claim_totp_step`), so a code seen over a shoulder or
//! replayed from a captured request is worthless once used, within its step too.

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha1::Sha1;
use subtle::ConstantTimeEq;

const STEP_SECONDS: i64 = 30;
const DIGITS: u32 = 6;
const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// A fresh secret, base32 without padding (32 characters).
pub fn generate_secret() -> String {
    let mut bytes = [0u8; 20];
    rand::rng().fill_bytes(&mut bytes);
    base32_encode(&bytes)
}

/// The URI authenticator apps read: `otpauth://totp/ISSUER:ACCOUNT?secret=...`.
pub fn otpauth_uri(secret: &str, issuer: &str, account: &str) -> String {
    let label = format!("{issuer}:{account}");
    format!(
        "otpauth://totp/{}?secret={secret}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
        urlencode(&label),
        urlencode(issuer)
    )
}

/// The code of `secret` for the step holding `unix_seconds`; `None` for a secret that is not
/// base32.
pub fn code_at(secret: &str, unix_seconds: i64) -> Option<String> {
    let key = base32_decode(secret)?;
    Some(code_for_step(&key, unix_seconds.div_euclid(STEP_SECONDS)))
}

/// Whether `code` is the code of the current step or of the one before or after, compared
/// in constant time. Spaces in the code are ignored.
pub fn verify(secret: &str, code: &str, unix_seconds: i64) -> bool {
    verify_step(secret, code, unix_seconds).is_some()
}

/// The step `code` belongs to, if it is the code of the current step or of the one before or
/// after (compared in constant time; spaces ignored). When two of those steps share the code
/// (one chance in a million), the latest wins, so a replay check errs towards refusing.
pub fn verify_step(secret: &str, code: &str, unix_seconds: i64) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let key = base32_decode(secret)?;
    let step = unix_seconds.div_euclid(STEP_SECONDS);
    let mut matched = None;
    for s in [step - 1, step, step + 1] {
        let same = code_for_step(&key, s).as_bytes().ct_eq(code.as_bytes());
        if bool::from(same) {
            matched = Some(s);
        }
    }
    matched
}

/// The step holding `unix_seconds`.
pub fn step_at(unix_seconds: i64) -> i64 {
    unix_seconds.div_euclid(STEP_SECONDS)
}

fn code_for_step(key: &[u8], step: i64) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(&step.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = (digest[19] & 0x0f) as usize;
    let value = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    format!(
        "{:0width$}",
        value % 10u32.pow(DIGITS),
        width = DIGITS as usize
    )
}

fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            out.push(BASE32[((buffer >> (bits - 5)) & 31) as usize] as char);
            bits -= 5;
        }
    }
    if bits > 0 {
        out.push(BASE32[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text.bytes().filter(|&c| c != b'=' && c != b' ') {
        let v = BASE32.iter().position(|&x| x == c.to_ascii_uppercase())? as u32;
        buffer = (buffer << 5) | v;
        bits += 5;
        if bits >= 8 {
            out.push((buffer >> (bits - 8)) as u8);
            bits -= 8;
        }
    }
    (!out.is_empty()).then_some(out)
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1, truncated to 6 digits.
    #[test]
    fn rfc_6238_vectors() {
        let secret = base32_encode(b"12345678901234567890");
        for (t, code) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_111_111_111, "050471"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
            (20_000_000_000, "353130"),
        ] {
            assert_eq!(code_at(&secret, t).as_deref(), Some(code), "t = {t}");
        }
    }

    #[test]
    fn one_step_of_drift_is_accepted() {
        let secret = generate_secret();
        let now = 1_800_000_000;
        let code = code_at(&secret, now).unwrap();
        assert!(verify(&secret, &code, now));
        assert!(verify(&secret, &code, now + 30));
        assert!(verify(&secret, &code, now - 30));
        assert!(!verify(&secret, &code, now + 90));
        assert!(!verify(&secret, "12345", now));
        assert!(!verify(&secret, "abcdef", now));
        assert!(!verify("not base32!", &code, now));
    }

    #[test]
    fn the_matched_step_is_told() {
        let secret = base32_encode(b"12345678901234567890");
        let now = 1_111_111_111;
        let step = step_at(now);
        for (at, expected) in [(now - 30, step - 1), (now, step), (now + 30, step + 1)] {
            let code = code_at(&secret, at).unwrap();
            assert_eq!(verify_step(&secret, &code, now), Some(expected), "t = {at}");
        }
        let too_late = code_at(&secret, now + 60).unwrap();
        assert_eq!(verify_step(&secret, &too_late, now), None);
        assert_eq!(verify_step(&secret, "05047x", now), None);
    }

    #[test]
    fn base32_round_trip_and_uri() {
        assert_eq!(base32_encode(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32_decode("MZXW6YTBOI").unwrap(), b"foobar");
        let uri = otpauth_uri("MZXW6YTBOI", "Acme Status", "ops@example.com");
        assert!(uri.starts_with("otpauth://totp/Acme%20Status%3Aops%40example.com?secret=MZXW6YTBOI&issuer=Acme%20Status"), "{uri}");
    }
}
