//! Runs the real `pharos` binary as a user would: one-shot commands (`token create`, `migrate`,
//! `config check`, ...) and servers started in the background.
//!
//! A server counts as started when it logs "pharos listening on http://ADDR" on stderr; the
//! address is read from that line, so `--listen 127.0.0.1:0` works. It is stopped with SIGTERM
//! (a graceful stop) or SIGKILL (a crash). Nothing here sleeps: every wait reads output or an
//! exit status with a deadline, and a deadline that passes fails the test with the output
//! collected so far. A server still running when its handle is dropped (a failed assertion) is
//! killed, so no process outlives its test.
//!
//! Commands start without the test's own `PHAROS_*` environment, so a variable set on the
//! developer's machine or in CI cannot change what a test observes.

use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long a server may take to log that it listens (a PostgreSQL server applies its
/// migrations first, on a loaded CI machine).
pub const START_DEADLINE: Duration = Duration::from_secs(60);
/// How long a one-shot command may run. An unreachable database takes its 5 s acquire timeout.
pub const RUN_DEADLINE: Duration = Duration::from_secs(60);
/// How long a server may take to exit after SIGTERM or SIGKILL.
pub const STOP_DEADLINE: Duration = Duration::from_secs(30);

/// The line a server logs once it accepts connections.
const LISTENING: &str = "pharos listening on http://";

/// The path of the `pharos` binary Cargo built for these tests.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_pharos")
}

/// A `pharos` command that runs in `dir`, with no `PHAROS_*` variable inherited.
pub fn pharos(dir: &Path) -> Command {
    let mut cmd = Command::new(bin());
    cmd.current_dir(dir).stdin(Stdio::null());
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("PHAROS_") {
            cmd.env_remove(key);
        }
    }
    cmd.env_remove("RUST_LOG");
    cmd
}

/// How a finished command went.
#[derive(Debug)]
pub struct Output {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn success(&self) -> bool {
        self.status.success()
    }

    /// The exit code; `None` when a signal ended the process.
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// Panics, showing both outputs, unless the command succeeded.
    pub fn assert_success(&self, what: &str) -> &Self {
        assert!(self.success(), "{what} failed: {self}");
        self
    }

    /// Panics, showing both outputs, if the command succeeded.
    pub fn assert_failure(&self, what: &str) -> &Self {
        assert!(!self.success(), "{what} should have failed: {self}");
        self
    }
}

impl std::fmt::Display for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}\n--- stdout ---\n{}--- stderr ---\n{}",
            self.status, self.stdout, self.stderr
        )
    }
}

/// Reads one output stream line by line into a shared buffer on its own thread, so the child
/// never blocks on a full pipe, and optionally forwards each line as it arrives.
struct Collector {
    lines: Arc<Mutex<Vec<String>>>,
    thread: Option<JoinHandle<()>>,
}

impl Collector {
    fn start(stream: impl Read + Send + 'static, forward: Option<Sender<String>>) -> Collector {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        let thread = std::thread::spawn(move || {
            let mut reader = BufReader::new(stream);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match reader.read_until(b'\n', &mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {
                        let line = String::from_utf8_lossy(&buf)
                            .trim_end_matches(['\n', '\r'])
                            .to_string();
                        sink.lock().expect("output lock").push(line.clone());
                        if let Some(tx) = &forward {
                            // The receiver may be gone once the server is found; keep reading.
                            let _ = tx.send(line);
                        }
                    }
                }
            }
        });
        Collector {
            lines,
            thread: Some(thread),
        }
    }

    /// Everything read so far, one line each.
    fn text(&self) -> String {
        let lines = self.lines.lock().expect("output lock");
        let mut text = String::new();
        for line in lines.iter() {
            text.push_str(line);
            text.push('\n');
        }
        text
    }

    /// Waits for the end of the stream (the process has exited) and returns all of it.
    fn finish(mut self) -> String {
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        self.text()
    }
}

/// Sends `signal` (`TERM`, `KILL`) to a process with `kill(1)`.
fn send_signal(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run kill(1)");
    // A process that has already exited (but is not yet reaped) still accepts signals, so a
    // failure here means something else is wrong.
    assert!(status.success(), "kill -{signal} {pid} failed: {status}");
}

/// Waits for `child` to exit; past `within`, kills it and returns `None`.
fn wait_with_deadline(mut child: Child, within: Duration) -> Option<ExitStatus> {
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    // The waiting thread owns the child, so its pid cannot be reused before it is reaped and
    // a late SIGKILL reaches the right process.
    std::thread::spawn(move || {
        let _ = tx.send(child.wait());
    });
    match rx.recv_timeout(within) {
        Ok(status) => Some(status.expect("wait for pharos")),
        Err(_) => {
            send_signal(pid, "KILL");
            let _ = rx.recv();
            None
        }
    }
}

/// Runs a command to its end (within [`RUN_DEADLINE`]) and collects its output.
pub fn run(cmd: &mut Command) -> Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin()));
    let stdout = Collector::start(child.stdout.take().expect("piped stdout"), None);
    let stderr = Collector::start(child.stderr.take().expect("piped stderr"), None);
    let status = wait_with_deadline(child, RUN_DEADLINE);
    let (stdout, stderr) = (stdout.finish(), stderr.finish());
    match status {
        Some(status) => Output {
            status,
            stdout,
            stderr,
        },
        None => panic!(
            "{cmd:?} did not finish within {RUN_DEADLINE:?}\n--- stdout ---\n{stdout}--- stderr ---\n{stderr}"
        ),
    }
}

/// A `pharos serve` running in the background.
pub struct Server {
    child: Option<Child>,
    pub addr: SocketAddr,
    /// `http://ADDR`, without a trailing slash.
    pub base: String,
    pub client: reqwest::Client,
    stdout: Option<Collector>,
    stderr: Option<Collector>,
}

impl Server {
    /// Starts `cmd` (a `serve` command) and waits until it listens; panics if it exits first.
    pub fn start(cmd: &mut Command) -> Server {
        Server::try_start(cmd).unwrap_or_else(|out| panic!("pharos serve did not start: {out}"))
    }

    /// Starts `cmd` and waits until it listens, or returns its output when it exits first.
    /// Panics (after killing it) when it neither listens nor exits within [`START_DEADLINE`].
    pub fn try_start(cmd: &mut Command) -> Result<Server, Output> {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin()));
        let (tx, rx) = mpsc::channel();
        let stdout = Collector::start(child.stdout.take().expect("piped stdout"), None);
        let stderr = Collector::start(child.stderr.take().expect("piped stderr"), Some(tx));
        let deadline = Instant::now() + START_DEADLINE;
        let found = wait_for_address(&rx, deadline);
        drop(rx);
        match found {
            Ok(addr) => Ok(Server {
                child: Some(child),
                addr,
                base: format!("http://{addr}"),
                client: reqwest::Client::builder()
                    .timeout(Duration::from_secs(30))
                    .build()
                    .expect("http client"),
                stdout: Some(stdout),
                stderr: Some(stderr),
            }),
            // Stderr closed: the process has exited (or is exiting) without listening.
            Err(RecvTimeoutError::Disconnected) => {
                let status = wait_with_deadline(child, STOP_DEADLINE)
                    .expect("pharos closed stderr but did not exit");
                Err(Output {
                    status,
                    stdout: stdout.finish(),
                    stderr: stderr.finish(),
                })
            }
            Err(RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "pharos did not log `{LISTENING}ADDR` within {START_DEADLINE:?}\n--- stdout ---\n{}--- stderr ---\n{}",
                    stdout.finish(),
                    stderr.finish()
                );
            }
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// What the server has logged so far.
    pub fn stderr_so_far(&self) -> String {
        self.stderr
            .as_ref()
            .map(Collector::text)
            .unwrap_or_default()
    }

    /// Stops the server with SIGTERM, as a service manager would, and waits for it to exit.
    pub fn terminate(self) -> Output {
        self.stop("TERM")
    }

    /// Kills the server with SIGKILL (`kill -9`): a crash, with no chance to clean up.
    pub fn kill(self) -> Output {
        self.stop("KILL")
    }

    fn stop(mut self, signal: &str) -> Output {
        let child = self.child.take().expect("running");
        send_signal(child.id(), signal);
        let status = wait_with_deadline(child, STOP_DEADLINE);
        let stdout = self
            .stdout
            .take()
            .map(Collector::finish)
            .unwrap_or_default();
        let stderr = self
            .stderr
            .take()
            .map(Collector::finish)
            .unwrap_or_default();
        match status {
            Some(status) => Output {
                status,
                stdout,
                stderr,
            },
            None => panic!(
                "pharos did not exit within {STOP_DEADLINE:?} of SIG{signal}\n--- stdout ---\n{stdout}--- stderr ---\n{stderr}"
            ),
        }
    }

    /// Sends a request, with `token` as the bearer token when given; returns the status and
    /// the JSON body (`Null` when empty). Panics when the server does not answer.
    pub async fn call(
        &self,
        token: Option<&str>,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.client.request(method.clone(), self.url(path));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.unwrap_or_else(|e| {
            panic!(
                "{method} {path}: no answer: {e}\n--- stderr ---\n{}",
                self.stderr_so_far()
            )
        });
        let status = resp.status();
        let text = resp.text().await.expect("response body");
        let json = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text)
                .unwrap_or_else(|_| panic!("{method} {path}: not JSON ({status}): {text}"))
        };
        (status, json)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Reads stderr lines until one announces the listening address.
fn wait_for_address(
    rx: &Receiver<String>,
    deadline: Instant,
) -> Result<SocketAddr, RecvTimeoutError> {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx.recv_timeout(left)?;
        if let Some(addr) = listening_address(&line) {
            return Ok(addr);
        }
    }
}

/// The address in a "pharos listening on http://ADDR" line, in text or JSON log format.
fn listening_address(line: &str) -> Option<SocketAddr> {
    let (_, rest) = line.split_once(LISTENING)?;
    let end = rest
        .find(|c: char| c.is_whitespace() || c == '"' || c == '\\')
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}
