//! The per-client limit on failed sign-ins: at most [`MAX_FAILURES`] per client address in
//! [`WINDOW`], then 429 until the window ends. In memory, per process: it slows a guesser
//! down, while the per-account lock (stored on the user, see `crate::account`) is what holds
//! across restarts and processes. The address is the client's as [`crate::http::client`]
//! finds it: the TCP peer's, or behind a trusted reverse proxy the one it forwards for.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const MAX_FAILURES: u32 = 20;
pub const WINDOW: Duration = Duration::from_secs(600);
/// Addresses remembered at most; beyond, the one whose window started first is forgotten.
const MAX_CLIENTS: usize = 50_000;

/// Failed sign-ins per client address. A std mutex: no lock is held across an `.await`.
#[derive(Debug, Default)]
pub struct LoginLimiter {
    clients: Mutex<HashMap<IpAddr, (u32, Instant)>>,
}

impl LoginLimiter {
    /// How long the address must wait, if it is over the limit.
    pub fn blocked(&self, ip: Option<IpAddr>) -> Option<Duration> {
        let ip = ip?;
        let clients = self.clients.lock().expect("limiter lock");
        let (count, since) = clients.get(&ip)?;
        let elapsed = since.elapsed();
        (elapsed < WINDOW && *count >= MAX_FAILURES).then(|| WINDOW - elapsed)
    }

    /// Counts a failed sign-in of the address.
    pub fn failed(&self, ip: Option<IpAddr>) {
        let Some(ip) = ip else { return };
        let mut clients = self.clients.lock().expect("limiter lock");
        if clients.len() >= MAX_CLIENTS && !clients.contains_key(&ip) {
            clients.retain(|_, (_, since)| since.elapsed() < WINDOW);
            if clients.len() >= MAX_CLIENTS {
                if let Some(oldest) = clients.iter().min_by_key(|(_, (_, s))| *s).map(|(k, _)| *k) {
                    clients.remove(&oldest);
                }
            }
        }
        let entry = clients.entry(ip).or_insert((0, Instant::now()));
        if entry.1.elapsed() >= WINDOW {
            *entry = (0, Instant::now());
        }
        entry.0 += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_the_limit() {
        let limiter = LoginLimiter::default();
        let ip: Option<IpAddr> = Some("192.0.2.1".parse().unwrap());
        for _ in 0..MAX_FAILURES - 1 {
            limiter.failed(ip);
        }
        assert!(limiter.blocked(ip).is_none());
        limiter.failed(ip);
        assert!(limiter.blocked(ip).is_some());
        assert!(limiter
            .blocked(Some("192.0.2.2".parse().unwrap()))
            .is_none());
        assert!(limiter.blocked(None).is_none());
    }
}
