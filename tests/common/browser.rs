//! What the browser tests share: finding Debian's Chromium, `node` and playwright-core
//! (skipping locally, failing under `CI=true` when one is missing), a fresh screenshot folder
//! under `target/`, and running a script of `tests/browser/` against a server with a deadline.
//!
//! Every browser check lives in the scripts; nothing here drives a browser or seeds a server.

use super::process::Server;
use std::ffi::OsStr;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub const CHROMIUM: &str = "/usr/bin/chromium";

/// `tests/browser`: the scripts and their `node_modules`.
pub fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

/// `target/<name>`, next to Cargo's `target/tmp` (so a custom target dir is kept), emptied:
/// screenshots of an earlier run must not pass for this one's. Each test binary has its own
/// `name`, since nextest runs them side by side.
pub fn fresh_artifacts_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the target dir")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the artifacts dir");
    dir
}

/// What is missing to run the browser, if anything.
pub fn missing_dependencies() -> Vec<String> {
    let mut missing = Vec::new();
    if !Path::new(CHROMIUM).exists() {
        missing.push(format!("{CHROMIUM} is not installed"));
    }
    if !browser_dir().join("node_modules/playwright-core").is_dir() {
        missing.push("tests/browser/node_modules has no playwright-core".into());
    }
    let node = Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !node.is_ok_and(|s| s.success()) {
        missing.push("node is not on PATH".into());
    }
    missing
}

/// True when the browser can run. Otherwise panics under CI (`CI=true`), so a pipeline cannot
/// pass by running no browser, and returns false locally, saying why the test skips.
pub fn available() -> bool {
    let missing = missing_dependencies();
    if missing.is_empty() {
        return true;
    }
    let why = missing.join("; ");
    if std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true")) {
        panic!(
            "browser test dependencies missing under CI ({why}): run scripts/install-browser-deps"
        );
    }
    eprintln!("skipping: {why} (run scripts/install-browser-deps to include the browser tests)");
    false
}

/// Reads a child's output stream to its end on a thread, so the child never blocks on a pipe.
fn collect(mut stream: impl Read + Send + 'static) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stream.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Runs `cmd` to its end; past `deadline` sends SIGTERM (playwright then closes the browser),
/// and SIGKILL 10 s later. Returns the exit status (`None` on a timeout), stdout and stderr.
pub async fn run_with_deadline(
    cmd: &mut Command,
    deadline: Duration,
) -> (Option<ExitStatus>, String, String) {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let stdout = collect(child.stdout.take().expect("piped stdout"));
    let stderr = collect(child.stderr.take().expect("piped stderr"));
    let pid = child.id();
    let (tx, rx) = tokio::sync::oneshot::channel();
    // The waiting thread owns the child, so its pid is not reused before the signals below.
    std::thread::spawn(move || {
        let _ = tx.send(child.wait().expect("wait for node"));
    });
    let mut rx = std::pin::pin!(rx);
    let status = match tokio::time::timeout(deadline, &mut rx).await {
        Ok(status) => Some(status.expect("the waiting thread")),
        Err(_) => {
            for (signal, grace) in [("-TERM", Duration::from_secs(10)), ("-KILL", deadline)] {
                let _ = Command::new("kill")
                    .args([signal, &pid.to_string()])
                    .status();
                if tokio::time::timeout(grace, &mut rx).await.is_ok() {
                    break;
                }
            }
            None
        }
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    (status, stdout, stderr)
}

/// Runs `node tests/browser/<script> <args>` against `server` within `deadline` and panics,
/// with the script's and the server's output, unless every check passed. Chromium's temporary
/// profile goes under `tmp` (the test's own folder, so a killed run leaves nothing behind).
/// Prints the script's report, how long it took and where the screenshots are.
pub async fn run_checks(
    script: &str,
    args: &[&OsStr],
    tmp: &Path,
    artifacts: &Path,
    server: &Server,
    deadline: Duration,
) {
    std::fs::create_dir_all(tmp).expect("create TMPDIR");
    let started = Instant::now();
    let (status, stdout, stderr) = run_with_deadline(
        Command::new("node")
            .arg(browser_dir().join(script))
            .args(args)
            .current_dir(browser_dir())
            .env("TMPDIR", tmp)
            .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1"),
        deadline,
    )
    .await;
    let output = format!(
        "--- node stdout ---\n{stdout}--- node stderr ---\n{stderr}--- pharos stderr ---\n{}",
        server.stderr_so_far()
    );
    match status {
        None => panic!("the browser checks did not finish within {deadline:?}\n{output}"),
        Some(status) => assert!(
            status.success(),
            "the browser checks failed ({status})\n{output}"
        ),
    }
    println!(
        "{stdout}browser checks took {:.1} s; screenshots in {}",
        started.elapsed().as_secs_f64(),
        artifacts.display()
    );
}
