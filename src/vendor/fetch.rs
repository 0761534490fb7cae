//! Fetching a vendor's documents: conditional GETs (ETag, Last-Modified), a timeout, a cap
//! on the body (5 MiB, counted after decompression, so a compressed bomb is cut off too),
//! at most 5 redirects, and a User-Agent that names Pharos and its version. Errors are
//! classified so the poller can show "source unreachable" with a reason and honour
//! `Retry-After`.

use super::record::Validators;
use bytes::{Bytes, BytesMut};
use std::time::Duration;

/// The largest body read from a vendor.
pub const MAX_BODY: usize = 5 * 1024 * 1024;
pub const TIMEOUT: Duration = Duration::from_secs(15);
const MAX_REDIRECTS: usize = 5;

/// What one GET brought.
#[derive(Debug)]
pub enum Fetched {
    Body {
        /// After redirects.
        url: url::Url,
        content_type: Option<String>,
        body: Bytes,
        validators: Validators,
    },
    /// 304: unchanged since the validators sent.
    NotModified,
}

/// Why a GET failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FetchError {
    #[error("HTTP {status} from the source")]
    Status {
        status: u16,
        /// From `Retry-After` (429, 503).
        retry_after: Option<Duration>,
    },
    #[error("the source sent more than {} MiB", MAX_BODY / 1024 / 1024)]
    TooLarge,
    #[error("the source did not answer within {0} s")]
    Timeout(u64),
    #[error("more than {MAX_REDIRECTS} redirects")]
    Redirects,
    #[error("cannot reach the source: {0}")]
    Connect(String),
}

impl FetchError {
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            FetchError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// An HTTP client for vendor sources.
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    timeout: Duration,
}

impl Default for Fetcher {
    fn default() -> Self {
        Fetcher::new(TIMEOUT)
    }
}

impl Fetcher {
    pub fn new(timeout: Duration) -> Fetcher {
        let client = reqwest::Client::builder()
            .user_agent(concat!(
                "Pharos/",
                env!("CARGO_PKG_VERSION"),
                " (self-hosted status page; vendor status tracker)"
            ))
            .redirect(reqwest::redirect::Policy::limited(MAX_REDIRECTS))
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_max_idle_per_host(1)
            .build()
            .expect("the HTTP client builds");
        Fetcher { client, timeout }
    }

    /// GETs `url`, conditionally when `validators` has any.
    pub async fn get(
        &self,
        url: &url::Url,
        validators: &Validators,
    ) -> Result<Fetched, FetchError> {
        let mut request = self
            .client
            .get(url.clone())
            .header(reqwest::header::ACCEPT, "application/json, application/atom+xml, application/rss+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5");
        if let Some(etag) = &validators.etag {
            request = request.header(reqwest::header::IF_NONE_MATCH, etag);
        }
        if let Some(modified) = &validators.last_modified {
            request = request.header(reqwest::header::IF_MODIFIED_SINCE, modified);
        }
        let classify = |e| classify(e, self.timeout);
        let mut response = request.send().await.map_err(classify)?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_MODIFIED {
            return Ok(Fetched::NotModified);
        }
        if !status.is_success() {
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(parse_retry_after);
            return Err(FetchError::Status {
                status: status.as_u16(),
                retry_after,
            });
        }
        if response
            .content_length()
            .is_some_and(|len| len > MAX_BODY as u64)
        {
            return Err(FetchError::TooLarge);
        }
        let header = |name: reqwest::header::HeaderName| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let validators = Validators {
            etag: header(reqwest::header::ETAG),
            last_modified: header(reqwest::header::LAST_MODIFIED),
        };
        let content_type = header(reqwest::header::CONTENT_TYPE);
        let final_url = response.url().clone();
        // One allocation of the announced size rather than a chain of regrowths, which leave
        // the allocator fragmented when thousands of bodies arrive a minute.
        let announced = response.content_length().unwrap_or(0) as usize;
        let mut body = BytesMut::with_capacity(announced.min(MAX_BODY));
        while let Some(chunk) = response.chunk().await.map_err(classify)? {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(FetchError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Fetched::Body {
            url: final_url,
            content_type,
            body: body.freeze(),
            validators,
        })
    }
}

fn classify(err: reqwest::Error, timeout: Duration) -> FetchError {
    if err.is_timeout() {
        FetchError::Timeout(timeout.as_secs())
    } else if err.is_redirect() {
        FetchError::Redirects
    } else {
        // The innermost cause says the most ("connection refused", "dns error").
        let mut source: &dyn std::error::Error = &err;
        while let Some(next) = source.source() {
            source = next;
        }
        FetchError::Connect(source.to_string())
    }
}

/// `Retry-After`: delay seconds or an HTTP date.
fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let delta = at.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(delta.to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_in_both_forms() {
        assert_eq!(parse_retry_after("120"), Some(Duration::from_secs(120)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }
}
