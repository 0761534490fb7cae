//! A vendor's status site on 127.0.0.1 for tests: each path answers what the test set (body,
//! status, content type, delay, `Retry-After`), with an ETag and 304 on a matching
//! `If-None-Match`, and records every request it saw.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Request, StatusCode as AxStatus};
use axum::response::Response;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone)]
pub struct Reply {
    pub status: u16,
    pub body: bytes::Bytes,
    pub content_type: &'static str,
    pub delay: Option<Duration>,
    pub retry_after: Option<&'static str>,
    /// Send an ETag and honour `If-None-Match` (default); false makes every poll re-read.
    pub validators: bool,
}

impl Reply {
    pub fn json(body: impl Into<bytes::Bytes>) -> Reply {
        Reply {
            status: 200,
            body: body.into(),
            content_type: "application/json",
            delay: None,
            retry_after: None,
            validators: true,
        }
    }
    pub fn with(content_type: &'static str, body: impl Into<bytes::Bytes>) -> Reply {
        Reply {
            content_type,
            ..Reply::json(body)
        }
    }
    pub fn status(status: u16) -> Reply {
        Reply {
            status,
            ..Reply::json("{}")
        }
    }
}

/// One request the source saw.
#[derive(Clone, Debug)]
pub struct Seen {
    pub path: String,
    pub if_none_match: Option<String>,
    pub user_agent: Option<String>,
    pub answered: u16,
}

#[derive(Default)]
struct SourceState {
    replies: HashMap<String, Reply>,
    seen: Vec<Seen>,
}

/// A vendor's status site on 127.0.0.1: each path answers what the test set, with an ETag
/// (a hash of the body) and 304 on a matching `If-None-Match`.
pub struct Source {
    pub base: String,
    state: Arc<Mutex<SourceState>>,
}

impl Source {
    pub async fn start() -> Source {
        let state: Arc<Mutex<SourceState>> = Arc::default();
        let app = axum::Router::new()
            .fallback(serve)
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Source {
            base: format!("http://{addr}"),
            state,
        }
    }

    pub fn set(&self, path: &str, reply: Reply) {
        self.state
            .lock()
            .unwrap()
            .replies
            .insert(path.to_string(), reply);
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.state.lock().unwrap().seen.clone()
    }
}

async fn serve(State(state): State<Arc<Mutex<SourceState>>>, req: Request<Body>) -> Response {
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let headers: &HeaderMap = req.headers();
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let if_none_match = header("if-none-match");
    let user_agent = header("user-agent");
    let reply = state.lock().unwrap().replies.get(&path).cloned();
    let Some(reply) = reply else {
        state.lock().unwrap().seen.push(Seen {
            path,
            if_none_match,
            user_agent,
            answered: 404,
        });
        return Response::builder()
            .status(404)
            .body(Body::from("not found"))
            .unwrap();
    };
    if let Some(delay) = reply.delay {
        tokio::time::sleep(delay).await;
    }
    let etag = format!("\"{:x}\"", fxhash(&reply.body));
    let not_modified =
        reply.validators && reply.status == 200 && if_none_match.as_deref() == Some(etag.as_str());
    let status = if not_modified { 304 } else { reply.status };
    state.lock().unwrap().seen.push(Seen {
        path,
        if_none_match,
        user_agent,
        answered: status,
    });
    let mut builder = Response::builder()
        .status(AxStatus::from_u16(status).unwrap())
        .header("content-type", reply.content_type);
    if reply.validators {
        builder = builder.header("etag", etag);
    }
    if let Some(after) = reply.retry_after {
        builder = builder.header("retry-after", after);
    }
    let body = if not_modified {
        Body::empty()
    } else {
        Body::from(reply.body)
    };
    builder.body(body).unwrap()
}

fn fxhash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100000001b3)
    })
}
