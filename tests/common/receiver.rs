//! A notification receiver on 127.0.0.1 for tests: every POST to any path is recorded (path,
//! headers, body) and answered as the test set it: 200, a status, a hang, or a huge body.
//! The behaviour can be flipped while deliveries are in flight.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::response::Response;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How the receiver answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behaviour {
    Ok,
    /// Answers this status with a short body.
    Status(u16),
    /// Never answers.
    Hang,
    /// Answers 200 with this many bytes.
    HugeBody(usize),
    /// Answers 200 after this long (recorded on arrival).
    Delay(Duration),
}

/// One request received.
#[derive(Clone, Debug)]
pub struct Received {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Received {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("the body is JSON")
    }
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }
}

#[derive(Default)]
struct Inner {
    behaviour: Option<Behaviour>,
    received: Vec<Received>,
    /// Requests answered with a failure (status >= 300) or left hanging.
    refused: usize,
}

#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    inner: Arc<Mutex<Inner>>,
    _task: Arc<tokio::task::JoinHandle<()>>,
}

impl Receiver {
    pub async fn start(behaviour: Behaviour) -> Receiver {
        let inner = Arc::new(Mutex::new(Inner {
            behaviour: Some(behaviour),
            ..Inner::default()
        }));
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a receiver");
        let addr = listener.local_addr().expect("addr");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver {
            url: format!("http://{addr}"),
            inner,
            _task: Arc::new(task),
        }
    }

    pub fn set(&self, behaviour: Behaviour) {
        self.inner.lock().expect("receiver lock").behaviour = Some(behaviour);
    }

    /// Requests answered 2xx so far.
    pub fn received(&self) -> Vec<Received> {
        self.inner.lock().expect("receiver lock").received.clone()
    }

    /// Requests refused or left hanging so far.
    pub fn refused(&self) -> usize {
        self.inner.lock().expect("receiver lock").refused
    }

    /// Waits until `check` holds on what was received, or panics after `within`.
    pub async fn wait_for(
        &self,
        what: &str,
        within: Duration,
        check: impl Fn(&[Received]) -> bool,
    ) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let got = self.received();
            if check(&got) {
                return got;
            }
            if tokio::time::Instant::now() > deadline {
                panic!(
                    "receiver {}: {what} not seen within {within:?}; got {} requests",
                    self.url,
                    got.len()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn handle(State(inner): State<Arc<Mutex<Inner>>>, req: Request<Body>) -> Response {
    let path = req.uri().path().to_string();
    let headers = req.headers().clone();
    let body = axum::body::to_bytes(req.into_body(), 16 << 20)
        .await
        .unwrap_or_default();
    let behaviour = {
        let mut inner = inner.lock().expect("receiver lock");
        let behaviour = inner.behaviour.unwrap_or(Behaviour::Ok);
        match behaviour {
            Behaviour::Ok | Behaviour::HugeBody(_) | Behaviour::Delay(_) => {
                inner.received.push(Received {
                    path,
                    headers,
                    body,
                })
            }
            Behaviour::Status(s) if s < 300 => inner.received.push(Received {
                path,
                headers,
                body,
            }),
            _ => inner.refused += 1,
        }
        behaviour
    };
    match behaviour {
        Behaviour::Ok => Response::new(Body::from("ok")),
        Behaviour::Status(s) => Response::builder()
            .status(StatusCode::from_u16(s).expect("a status"))
            .body(Body::from(format!("answered {s} on purpose")))
            .expect("response"),
        Behaviour::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Response::new(Body::empty())
        }
        Behaviour::HugeBody(n) => Response::new(Body::from(vec![b'x'; n])),
        Behaviour::Delay(d) => {
            tokio::time::sleep(d).await;
            Response::new(Body::from("ok"))
        }
    }
}
