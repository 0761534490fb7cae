//! Bearer-token authentication for `/api/v1`, scope checks, and the limit on failed attempts.
//!
//! Reads need the `read` scope, every other method `write`. A client address that fails
//! authentication too often within a minute gets 429 before its token is even looked at, so
//! guessing costs time. Tokens are checked in constant time (see `crate::token`).

use super::error::ApiError;
use super::AppState;
use crate::domain::{TokenId, TokenScope};
use crate::events::Actor;
use axum::extract::{Request, State};
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::Response;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Mutex;
use tokio::time::{Duration, Instant};

/// Who is calling, once authenticated. Handlers read it from the request extensions.
#[derive(Debug, Clone)]
pub struct Principal {
    pub token_id: TokenId,
    pub token_name: String,
    pub scope: TokenScope,
}

impl Principal {
    pub fn actor(&self) -> Actor {
        Actor::token(&self.token_name)
    }
}

/// Counts failed authentications per client address in fixed one-minute windows.
pub struct FailureLimiter {
    per_minute: u32,
    // A std Mutex: held only for a map lookup, never across an await.
    windows: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

const WINDOW: Duration = Duration::from_secs(60);
/// Bound on remembered addresses, so a flood of sources cannot grow memory without limit.
const MAX_TRACKED: usize = 100_000;

impl FailureLimiter {
    pub fn new(per_minute: u32) -> Self {
        FailureLimiter {
            per_minute,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(seconds)` when the address must wait.
    pub fn check(&self, ip: IpAddr) -> Result<(), u64> {
        let windows = self.windows.lock().expect("limiter lock");
        match windows.get(&ip) {
            Some((start, count)) if *count >= self.per_minute => {
                let elapsed = start.elapsed();
                if elapsed < WINDOW {
                    Err((WINDOW - elapsed).as_secs().max(1))
                } else {
                    Ok(())
                }
            }
            _ => Ok(()),
        }
    }

    pub fn record_failure(&self, ip: IpAddr) {
        let mut windows = self.windows.lock().expect("limiter lock");
        let now = Instant::now();
        if windows.len() >= MAX_TRACKED {
            windows.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
        }
        let entry = windows.entry(ip).or_insert((now, 0));
        if now.duration_since(entry.0) >= WINDOW {
            *entry = (now, 0);
        }
        entry.1 += 1;
    }
}

fn client_ip(state: &AppState, req: &Request) -> IpAddr {
    state
        .client_ip(req.extensions(), req.headers())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

fn needed_scope(method: &Method) -> TokenScope {
    if method == Method::GET || method == Method::HEAD || method == Method::OPTIONS {
        TokenScope::Read
    } else {
        TokenScope::Write
    }
}

/// Middleware: authenticates the bearer token and checks its scope.
pub async fn require_token(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    if !state.db_ready.load(std::sync::atomic::Ordering::SeqCst) {
        return Err(ApiError::unavailable());
    }
    let ip = client_ip(&state, &req);
    if let Err(wait) = state.auth_limiter.check(ip) {
        return Err(ApiError::rate_limited(wait));
    }
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim);
    let Some(presented) = presented else {
        state.auth_limiter.record_failure(ip);
        return Err(ApiError::unauthorized(
            "this endpoint needs an API token: send `Authorization: Bearer TOKEN` (create one with `pharos token create --name NAME`)",
        ));
    };
    let principal = match authenticate(&state, presented).await? {
        Some(p) => p,
        None => {
            state.auth_limiter.record_failure(ip);
            metrics::counter!("pharos_http_auth_failures_total").increment(1);
            return Err(ApiError::unauthorized(
                "the API token is not valid or has been revoked",
            ));
        }
    };
    let needed = needed_scope(req.method());
    if !principal.scope.allows(needed) {
        return Err(ApiError::forbidden(format!(
            "token `{}` has scope `{}`, and this request needs `{}`",
            principal.token_name, principal.scope, needed
        )));
    }
    req.extensions_mut().insert(principal);
    Ok(next.run(req).await)
}

async fn authenticate(state: &AppState, presented: &str) -> Result<Option<Principal>, ApiError> {
    let Some((id, secret)) = crate::token::parse(presented) else {
        return Ok(None);
    };
    let Some(stored) = state.store.find_token(id).await? else {
        return Ok(None);
    };
    if !crate::token::verify(secret, &stored.secret_hash) {
        return Ok(None);
    }
    let now = state.clock.now();
    // Record use at most once a minute per token, so reads do not each cost a write.
    let stale = stored
        .token
        .last_used_at
        .is_none_or(|t| (now.0 - t.0) > chrono::Duration::seconds(60));
    if stale {
        if let Err(err) = state.store.touch_token(id, now).await {
            tracing::warn!(error = %err, "could not record token use");
        }
    }
    Ok(Some(Principal {
        token_id: id,
        token_name: stored.token.name,
        scope: stored.token.scope,
    }))
}
