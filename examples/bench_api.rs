//! Benchmark command (not a test): management API write throughput and start-up time of the
//! real `pharos` binary, on SQLite and on PostgreSQL. It prints figures and asserts nothing.
//!
//! Run it through `scripts/bench`, which builds the release binary and this example, and
//! starts a throwaway PostgreSQL with `scripts/with-postgres`:
//!
//! ```text
//! scripts/bench            # full run (a few minutes)
//! scripts/bench --quick    # short run, for checking that it works
//! ```
//!
//! What it measures:
//!
//! - **Write throughput**: for each backend and each client count (1, 8, 64), a fresh server
//!   on a fresh database; each client (its own HTTP connection, kept alive) opens its own
//!   incident, then posts `{"status":"identified","body":"..."}` to
//!   `POST /api/v1/incidents/{id}/updates` in a loop for a fixed time after a warm-up. Reported:
//!   updates per second, p50 / p99 latency, and errors (any non-2xx answer or transport error).
//!   Every 20 updates (`--updates-per-incident`) a client opens a fresh incident: each update
//!   answers with, and logs, the whole incident, so its cost grows with the timeline, and a
//!   never-ending timeline would make the figures depend on the run's length.
//! - **Start-up**: the time from spawning `pharos serve` to the first 200 from `/readyz`, on a
//!   database that does not exist yet (the first start creates the schema), on an empty
//!   (migrated) database, and on one holding 10,000 incidents. The median of several starts.
//!
//! Everything runs on 127.0.0.1, with the load generator on the same machine as the server.
//! PostgreSQL is included when `PHAROS_TEST_POSTGRES_URL` names a server; the bench creates
//! its own database on it and drops it afterwards.

use anyhow::{anyhow, bail, Context};
use clap::{Parser, ValueEnum};
use pharos::clock::SystemClock;
use pharos::domain::model::IncidentSource;
use pharos::domain::{ComponentStatus, IncidentStatus, SourceKind};
use pharos::events::Actor;
use pharos::store::sql::{ConnectOptions, SqlStore};
use pharos::store::{ComponentChange, NewComponent, NewIncident, Store};
use serde_json::{json, Value};
use sqlx::{Connection, Executor, PgConnection};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const PG_URL_VAR: &str = "PHAROS_TEST_POSTGRES_URL";
const COMPONENTS: usize = 4;
const UPDATE_BODY: &str = "We have identified the cause: a configuration change to the \
load balancer. A fix is being rolled out; we will post again within 30 minutes.";

#[derive(Debug, Parser)]
#[command(
    name = "bench_api",
    about = "Benchmark the management API's write throughput and pharos serve's start-up time"
)]
struct Args {
    /// Short run: 1 s per throughput cell, 1 start per start-up row, 1,000 seeded incidents.
    #[arg(long)]
    quick: bool,
    /// The pharos binary [default: `pharos` next to this program's folder, i.e. target/release/pharos]
    #[arg(long, value_name = "PATH")]
    bin: Option<PathBuf>,
    /// Which databases to measure.
    #[arg(long, value_enum, default_value_t = BackendChoice::All)]
    backend: BackendChoice,
    /// Concurrent clients, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,8,64")]
    clients: Vec<usize>,
    /// Measured seconds per throughput cell [default: 5, or 1 with --quick]
    #[arg(long, value_name = "SECS")]
    duration: Option<f64>,
    /// Warm-up seconds before each measurement [default: 1, or 0.3 with --quick]
    #[arg(long, value_name = "SECS")]
    warmup: Option<f64>,
    /// Each client opens a new incident after this many updates to the current one, so the
    /// figures do not depend on how long a timeline has grown (every update answers and logs
    /// the whole incident). 0 keeps posting to one incident for the whole cell. The opens are
    /// not counted as updates, but take their share of the time.
    #[arg(long, value_name = "N", default_value_t = 20)]
    updates_per_incident: u64,
    /// Incidents in the "large database" start-up row [default: 10000, or 1000 with --quick]
    #[arg(long, value_name = "N")]
    incidents: Option<usize>,
    /// Starts per start-up row; the median is reported [default: 3, or 1 with --quick]
    #[arg(long, value_name = "N")]
    starts: Option<usize>,
    /// Skip the throughput measurements.
    #[arg(long)]
    no_throughput: bool,
    /// Skip the start-up measurements.
    #[arg(long)]
    no_startup: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum BackendChoice {
    All,
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        }
    }
}

struct Settings {
    bin: PathBuf,
    duration: Duration,
    warmup: Duration,
    updates_per_incident: u64,
    incidents: usize,
    starts: usize,
    pg_server: Option<String>,
}

fn progress(msg: impl std::fmt::Display) {
    eprintln!("bench: {msg}");
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // The bench's own library use (seeding) logs only when asked, e.g. RUST_LOG=sqlx=debug.
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .try_init();
    }
    let quick = args.quick;
    let bin = match args.bin.clone() {
        Some(b) => b,
        None => default_bin()?,
    };
    if !bin.is_file() {
        bail!(
            "{} does not exist; build it with `cargo build --release --bin pharos` (scripts/bench does)",
            bin.display()
        );
    }
    let secs = |v: Option<f64>, full: f64, short: f64| {
        Duration::from_secs_f64(v.unwrap_or(if quick { short } else { full }).max(0.0))
    };
    let settings = Settings {
        bin,
        duration: secs(args.duration, 5.0, 1.0),
        warmup: secs(args.warmup, 1.0, 0.3),
        updates_per_incident: args.updates_per_incident,
        incidents: args.incidents.unwrap_or(if quick { 1_000 } else { 10_000 }),
        starts: args.starts.unwrap_or(if quick { 1 } else { 3 }).max(1),
        pg_server: std::env::var(PG_URL_VAR)
            .ok()
            .filter(|u| !u.trim().is_empty()),
    };
    if settings.duration.is_zero() {
        bail!("--duration must be above 0");
    }
    if args.clients.is_empty() || args.clients.contains(&0) {
        bail!("--clients must list client counts above 0");
    }

    let mut backends = Vec::new();
    if matches!(args.backend, BackendChoice::All | BackendChoice::Sqlite) {
        backends.push(Backend::Sqlite);
    }
    if matches!(args.backend, BackendChoice::All | BackendChoice::Postgres) {
        if settings.pg_server.is_some() {
            backends.push(Backend::Postgres);
        } else if args.backend == BackendChoice::Postgres {
            bail!("{PG_URL_VAR} is not set: run under scripts/with-postgres (scripts/bench does)");
        } else {
            progress(format!(
                "{PG_URL_VAR} is not set: skipping PostgreSQL (run through scripts/bench to include it)"
            ));
        }
    }

    let facts = machine_facts(&settings, &backends, quick).await;

    let mut throughput = Vec::new();
    if !args.no_throughput {
        for &backend in &backends {
            for &clients in &args.clients {
                progress(format!(
                    "throughput: {} with {clients} client(s), {:.1} s warm-up + {:.1} s",
                    backend.name(),
                    settings.warmup.as_secs_f64(),
                    settings.duration.as_secs_f64()
                ));
                let cell = throughput_cell(&settings, backend, clients)
                    .await
                    .with_context(|| format!("throughput on {} x{clients}", backend.name()))?;
                progress(format!(
                    "  {:.0} updates/s, p50 {:.2} ms, p99 {:.2} ms, {} errors",
                    cell.per_second(),
                    ms(cell.p50),
                    ms(cell.p99),
                    cell.errors()
                ));
                throughput.push(cell);
            }
        }
    }

    let mut startup = Vec::new();
    if !args.no_startup {
        for &backend in &backends {
            startup.extend(
                startup_rows(&settings, backend)
                    .await
                    .with_context(|| format!("start-up on {}", backend.name()))?,
            );
        }
    }

    print_report(&facts, &settings, &throughput, &startup);
    Ok(())
}

/// `target/release/pharos` when this runs as `target/release/examples/bench_api`.
fn default_bin() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("locating this program")?;
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or_else(|| anyhow!("cannot locate the target folder from {}", exe.display()))?;
    Ok(profile_dir.join(format!("pharos{}", std::env::consts::EXE_SUFFIX)))
}

// ---- databases ---------------------------------------------------------------------------

/// A fresh, private database: a SQLite file in a temporary folder, or a new database on the
/// PostgreSQL server (dropped again on [`Target::cleanup`]).
struct Target {
    backend: Backend,
    dir: tempfile::TempDir,
    /// `None` for SQLite: the server uses its default file in the data folder.
    pg_url: Option<String>,
}

impl Target {
    async fn new(settings: &Settings, backend: Backend) -> anyhow::Result<Target> {
        let dir = tempfile::Builder::new()
            .prefix("pharos-bench.")
            .tempdir()
            .context("temporary folder")?;
        let pg_url = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => {
                let server = settings
                    .pg_server
                    .as_deref()
                    .ok_or_else(|| anyhow!("{PG_URL_VAR} is not set"))?;
                let name = format!("pharos_bench_{:016x}", rand::random::<u64>());
                let mut conn = PgConnection::connect(server)
                    .await
                    .context("connecting to the PostgreSQL server")?;
                conn.execute(format!("CREATE DATABASE {name}").as_str())
                    .await
                    .context("creating the bench database")?;
                let _ = conn.close().await;
                Some(with_database(server, &name))
            }
        };
        Ok(Target {
            backend,
            dir,
            pg_url,
        })
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The URL the library uses to reach the same database as the server.
    fn store_url(&self) -> String {
        match &self.pg_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}/pharos.db", self.data_dir().display()),
        }
    }

    /// `--data-dir DIR [--database-url URL]` for any pharos command.
    fn db_args(&self) -> Vec<String> {
        let mut args = vec![
            "--data-dir".to_string(),
            self.data_dir().display().to_string(),
        ];
        if let Some(url) = &self.pg_url {
            args.push("--database-url".into());
            args.push(url.clone());
        }
        args
    }

    async fn cleanup(self, settings: &Settings) {
        if let (Some(url), Some(server)) = (&self.pg_url, &settings.pg_server) {
            if let Some(name) = url.split('?').next().and_then(|b| b.rsplit('/').next()) {
                if let Ok(mut conn) = PgConnection::connect(server).await {
                    let _ = conn
                        .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                        .await;
                    let _ = conn.close().await;
                }
            }
        }
    }
}

/// `url` with its database (the path) replaced by `name`, keeping any query string.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    let mut out = format!("{}/{name}", &base[..path_start]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

// ---- the pharos process --------------------------------------------------------------------

/// A pharos command with a clean environment: no PHAROS_* setting from the caller leaks in.
fn pharos_command(settings: &Settings, target: &Target, args: &[&str]) -> Command {
    let mut cmd = Command::new(&settings.bin);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("PHAROS_") {
            cmd.env_remove(key);
        }
    }
    cmd.args(args)
        .args(target.db_args())
        .args(["--log-format", "text"])
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    cmd
}

/// Runs a short pharos command and returns its stdout.
async fn pharos_output(
    settings: &Settings,
    target: &Target,
    args: &[&str],
) -> anyhow::Result<String> {
    let out = pharos_command(settings, target, args)
        .output()
        .await
        .with_context(|| format!("running pharos {}", args.join(" ")))?;
    if !out.status.success() {
        bail!(
            "pharos {} failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

async fn create_token(settings: &Settings, target: &Target) -> anyhow::Result<String> {
    let token = pharos_output(
        settings,
        target,
        &["token", "create", "--name", "bench", "--scope", "write"],
    )
    .await?;
    if !token.starts_with("pharos_") {
        bail!("`pharos token create` printed no token: {token:?}");
    }
    Ok(token)
}

/// A running `pharos serve`.
struct Server {
    child: Child,
    base: String,
    spawned_at: Instant,
    /// When the "listening" line was logged.
    listening_at: Instant,
    log: JoinHandle<ServerLog>,
}

#[derive(Default)]
struct ServerLog {
    warnings: usize,
    errors: usize,
    samples: Vec<String>,
}

impl Server {
    async fn start(settings: &Settings, target: &Target) -> anyhow::Result<Server> {
        let mut cmd = pharos_command(settings, target, &["serve", "--listen", "127.0.0.1:0"]);
        cmd.stdout(Stdio::null()).stderr(Stdio::piped());
        let spawned_at = Instant::now();
        let mut child = cmd.spawn().context("starting pharos serve")?;
        let stderr = child.stderr.take().expect("piped stderr");
        let (addr_tx, addr_rx) = oneshot::channel::<(String, Instant)>();
        // Reads the log to the end (a full pipe would block the server), finds the address,
        // and counts warnings and errors.
        let log = tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            let mut addr_tx = Some(addr_tx);
            let mut log = ServerLog::default();
            let mut early = Vec::new();
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(tx) = addr_tx.take() {
                    match line.split("listening on http://").nth(1) {
                        Some(rest) => {
                            let addr = rest.split_whitespace().next().unwrap_or("").to_string();
                            let _ = tx.send((addr, Instant::now()));
                        }
                        None => {
                            early.push(line.clone());
                            addr_tx = Some(tx);
                        }
                    }
                }
                let level = line.split_whitespace().nth(1).unwrap_or("");
                let serious = match level {
                    "WARN" => {
                        log.warnings += 1;
                        true
                    }
                    "ERROR" => {
                        log.errors += 1;
                        true
                    }
                    _ => line.starts_with("error"),
                };
                if serious && log.samples.len() < 5 {
                    log.samples.push(line);
                }
            }
            if addr_tx.is_some() {
                log.samples.extend(early);
            }
            log
        });
        let (addr, listening_at) =
            match tokio::time::timeout(Duration::from_secs(60), addr_rx).await {
                Ok(Ok(found)) => found,
                _ => {
                    let _ = child.start_kill();
                    let _ = child.wait().await;
                    let log = log.await.unwrap_or_default();
                    bail!(
                        "pharos serve did not log its address within 60 s; its log: {}",
                        log.samples.join(" | ")
                    );
                }
            };
        Ok(Server {
            child,
            base: format!("http://{addr}"),
            spawned_at,
            listening_at,
            log,
        })
    }

    /// Polls `/readyz` until it answers 200; returns the time since the spawn.
    async fn wait_ready(&self, client: &reqwest::Client) -> anyhow::Result<Duration> {
        let deadline = Instant::now() + Duration::from_secs(60);
        let url = format!("{}/readyz", self.base);
        loop {
            if let Ok(resp) = client.get(&url).send().await {
                if resp.status() == reqwest::StatusCode::OK {
                    return Ok(self.spawned_at.elapsed());
                }
            }
            if Instant::now() > deadline {
                bail!("{url} did not answer 200 within 60 s");
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// Asks the server to stop (SIGTERM) and waits; kills it after 30 s.
    async fn stop(mut self) -> anyhow::Result<ServerLog> {
        if let Some(pid) = self.child.id() {
            let _ = Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status()
                .await;
        }
        let status = match tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await {
            Ok(status) => status.context("waiting for pharos serve")?,
            Err(_) => {
                progress("pharos serve did not stop within 30 s of SIGTERM; killing it");
                let _ = self.child.start_kill();
                self.child.wait().await?
            }
        };
        let mut log = self.log.await.unwrap_or_default();
        if !status.success() {
            log.errors += 1;
            log.samples
                .push(format!("pharos serve exited with {status}"));
        }
        Ok(log)
    }
}

// ---- throughput ----------------------------------------------------------------------------

struct Cell {
    backend: Backend,
    clients: usize,
    updates: u64,
    elapsed: Duration,
    p50: Duration,
    p99: Duration,
    max: Duration,
    opens: u64,
    /// Error kind (HTTP status or transport) and how often.
    error_kinds: BTreeMap<String, u64>,
    error_samples: Vec<String>,
    /// Size of the last answer to an update, the largest seen.
    max_response_bytes: usize,
    server_log: ServerLog,
}

impl Cell {
    fn per_second(&self) -> f64 {
        self.updates as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
    fn errors(&self) -> u64 {
        self.error_kinds.values().sum()
    }
}

#[derive(Default)]
struct ClientStats {
    updates: u64,
    latencies_us: Vec<u32>,
    opens: u64,
    error_kinds: BTreeMap<String, u64>,
    error_samples: Vec<String>,
    max_response_bytes: usize,
    last_end: Option<Instant>,
}

impl ClientStats {
    fn error(&mut self, kind: String, detail: String) {
        *self.error_kinds.entry(kind).or_default() += 1;
        if self.error_samples.len() < 3 {
            self.error_samples.push(detail);
        }
    }
}

fn http_client() -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(1)
        .timeout(Duration::from_secs(60))
        .build()
        .context("HTTP client")
}

/// `POST path` with the token; the JSON answer, or an error naming the status and body.
async fn post_json(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    body: &Value,
) -> anyhow::Result<Value> {
    let resp = client
        .post(url)
        .bearer_auth(token)
        .json(body)
        .send()
        .await?;
    let status = resp.status();
    let text = resp.text().await?;
    if !status.is_success() {
        bail!("POST {url}: {status}: {text}");
    }
    Ok(serde_json::from_str(&text)?)
}

async fn open_incident(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    name: &str,
    component: &str,
) -> anyhow::Result<String> {
    let incident = post_json(
        client,
        &format!("{base}/api/v1/incidents"),
        token,
        &json!({
            "name": name,
            "body": "We are investigating elevated error rates.",
            "components": { component: "degraded_performance" },
        }),
    )
    .await?;
    incident["id"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| anyhow!("the created incident has no id: {incident}"))
}

struct Plan {
    base: String,
    token: String,
    updates_per_incident: u64,
    measure_from: Instant,
    stop_at: Instant,
}

async fn client_loop(
    plan: Arc<Plan>,
    client: reqwest::Client,
    index: usize,
    mut incident: String,
    component: String,
) -> ClientStats {
    let mut stats = ClientStats::default();
    let mut on_incident = 0u64;
    let mut seq = 0u64;
    let update = json!({ "status": "identified", "body": UPDATE_BODY });
    loop {
        let start = Instant::now();
        if start >= plan.stop_at {
            break;
        }
        let measured = start >= plan.measure_from;
        if plan.updates_per_incident > 0 && on_incident >= plan.updates_per_incident {
            seq += 1;
            let name = format!("Bench client {index} incident {seq}");
            match open_incident(&client, &plan.base, &plan.token, &name, &component).await {
                Ok(id) => {
                    incident = id;
                    on_incident = 0;
                    if measured {
                        stats.opens += 1;
                    }
                }
                Err(err) => {
                    if measured {
                        stats.error("open incident".into(), format!("{err:#}"));
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
            continue;
        }
        let url = format!("{}/api/v1/incidents/{incident}/updates", plan.base);
        let result = client
            .post(&url)
            .bearer_auth(&plan.token)
            .json(&update)
            .send()
            .await;
        let outcome = match result {
            Ok(resp) => {
                let status = resp.status();
                match resp.bytes().await {
                    Ok(body) if status.is_success() => Ok(body.len()),
                    Ok(body) => Err((
                        format!("HTTP {}", status.as_u16()),
                        format!("{status}: {}", String::from_utf8_lossy(&body)),
                    )),
                    Err(err) => Err((
                        "transport".to_string(),
                        format!("reading the answer: {err}"),
                    )),
                }
            }
            Err(err) => Err(("transport".to_string(), format!("{err:#}"))),
        };
        let end = Instant::now();
        match outcome {
            Ok(bytes) => {
                on_incident += 1;
                if measured {
                    stats.updates += 1;
                    stats
                        .latencies_us
                        .push(u32::try_from((end - start).as_micros()).unwrap_or(u32::MAX));
                    stats.max_response_bytes = stats.max_response_bytes.max(bytes);
                    stats.last_end = Some(end);
                }
            }
            Err((kind, detail)) => {
                if measured {
                    stats.error(kind.clone(), detail);
                }
                if kind == "transport" {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
    }
    stats
}

async fn throughput_cell(
    settings: &Settings,
    backend: Backend,
    clients: usize,
) -> anyhow::Result<Cell> {
    let target = Target::new(settings, backend).await?;
    let result = throughput_on(settings, &target, clients).await;
    target.cleanup(settings).await;
    result
}

async fn throughput_on(
    settings: &Settings,
    target: &Target,
    clients: usize,
) -> anyhow::Result<Cell> {
    let token = create_token(settings, target).await?;
    let server = Server::start(settings, target).await?;
    let setup = http_client()?;
    server.wait_ready(&setup).await?;
    let base = server.base.clone();

    let mut components = Vec::new();
    for i in 0..COMPONENTS {
        let c = post_json(
            &setup,
            &format!("{base}/api/v1/components"),
            &token,
            &json!({ "name": format!("Bench component {i}") }),
        )
        .await?;
        components.push(
            c["id"]
                .as_str()
                .ok_or_else(|| anyhow!("the created component has no id: {c}"))?
                .to_string(),
        );
    }
    // Each client gets its own connection and its own open incident.
    let mut prepared = Vec::new();
    for i in 0..clients {
        let client = http_client()?;
        let component = components[i % COMPONENTS].clone();
        let incident = open_incident(
            &client,
            &base,
            &token,
            &format!("Bench client {i} incident 0"),
            &component,
        )
        .await?;
        prepared.push((client, incident, component));
    }

    let now = Instant::now();
    let plan = Arc::new(Plan {
        base,
        token,
        updates_per_incident: settings.updates_per_incident,
        measure_from: now + settings.warmup,
        stop_at: now + settings.warmup + settings.duration,
    });
    let tasks: Vec<_> = prepared
        .into_iter()
        .enumerate()
        .map(|(i, (client, incident, component))| {
            tokio::spawn(client_loop(plan.clone(), client, i, incident, component))
        })
        .collect();
    let mut all = ClientStats::default();
    let mut last_end = plan.stop_at;
    for task in tasks {
        let s = task.await.context("a client task failed")?;
        all.updates += s.updates;
        all.opens += s.opens;
        all.latencies_us.extend(s.latencies_us);
        all.max_response_bytes = all.max_response_bytes.max(s.max_response_bytes);
        for (k, v) in s.error_kinds {
            *all.error_kinds.entry(k).or_default() += v;
        }
        for sample in s.error_samples {
            if all.error_samples.len() < 5 {
                all.error_samples.push(sample);
            }
        }
        if let Some(end) = s.last_end {
            last_end = last_end.max(end);
        }
    }
    let server_log = server.stop().await?;

    all.latencies_us.sort_unstable();
    let pct = |p: f64| -> Duration {
        if all.latencies_us.is_empty() {
            return Duration::ZERO;
        }
        // Nearest rank.
        let rank = ((p / 100.0) * all.latencies_us.len() as f64).ceil() as usize;
        let idx = rank.clamp(1, all.latencies_us.len()) - 1;
        Duration::from_micros(u64::from(all.latencies_us[idx]))
    };
    Ok(Cell {
        backend: target.backend,
        clients,
        updates: all.updates,
        // Requests started before the stop time count; the window runs until the last ends.
        elapsed: last_end - plan.measure_from,
        p50: pct(50.0),
        p99: pct(99.0),
        max: pct(100.0),
        opens: all.opens,
        error_kinds: all.error_kinds,
        error_samples: all.error_samples,
        max_response_bytes: all.max_response_bytes,
        server_log,
    })
}

// ---- start-up ------------------------------------------------------------------------------

struct StartupRow {
    backend: Backend,
    database: String,
    /// Spawn to first 200 from /readyz, each start.
    ready: Vec<Duration>,
    /// Spawn to the "listening" log line, each start.
    listening: Vec<Duration>,
    note: String,
}

/// Starts the server on `target`, waits for /readyz, stops it; returns (ready, listening).
async fn one_start(settings: &Settings, target: &Target) -> anyhow::Result<(Duration, Duration)> {
    let client = http_client()?;
    let server = Server::start(settings, target).await?;
    let ready = server.wait_ready(&client).await?;
    let listening = server.listening_at - server.spawned_at;
    let log = server.stop().await?;
    if log.errors > 0 {
        bail!("pharos serve logged errors: {}", log.samples.join(" | "));
    }
    Ok((ready, listening))
}

async fn startup_rows(settings: &Settings, backend: Backend) -> anyhow::Result<Vec<StartupRow>> {
    let mut rows = Vec::new();

    // 1. A database that does not exist yet (SQLite) or has no tables (PostgreSQL): the first
    //    start creates the schema. A fresh database for each start.
    progress(format!("start-up: {} on a new database", backend.name()));
    let mut row = StartupRow {
        backend,
        database: "new (first start, creates the schema)".into(),
        ready: Vec::new(),
        listening: Vec::new(),
        note: String::new(),
    };
    for _ in 0..settings.starts {
        let target = Target::new(settings, backend).await?;
        let result = one_start(settings, &target).await;
        target.cleanup(settings).await;
        let (ready, listening) = result?;
        row.ready.push(ready);
        row.listening.push(listening);
    }
    rows.push(row);

    // 2. Empty but migrated.
    progress(format!("start-up: {} on an empty database", backend.name()));
    let target = Target::new(settings, backend).await?;
    let result = async {
        pharos_output(settings, &target, &["migrate"]).await?;
        let mut row = StartupRow {
            backend,
            database: "empty (schema only)".into(),
            ready: Vec::new(),
            listening: Vec::new(),
            note: String::new(),
        };
        for _ in 0..settings.starts {
            let (ready, listening) = one_start(settings, &target).await?;
            row.ready.push(ready);
            row.listening.push(listening);
        }
        anyhow::Ok(row)
    }
    .await;
    target.cleanup(settings).await;
    rows.push(result?);

    // 3. Many incidents.
    progress(format!(
        "start-up: {} seeding {} incidents",
        backend.name(),
        settings.incidents
    ));
    let target = Target::new(settings, backend).await?;
    let result = async {
        let seeded = seed_incidents(&target, settings.incidents).await?;
        let mut row = StartupRow {
            backend,
            database: format!("{} incidents", thousands(settings.incidents as u64)),
            ready: Vec::new(),
            listening: Vec::new(),
            note: seeded,
        };
        progress(format!("start-up: {} on {}", backend.name(), row.database));
        for _ in 0..settings.starts {
            let (ready, listening) = one_start(settings, &target).await?;
            row.ready.push(ready);
            row.listening.push(listening);
        }
        anyhow::Ok(row)
    }
    .await;
    target.cleanup(settings).await;
    rows.push(result?);
    Ok(rows)
}

/// Fills the database through the library: components, then `n` incidents of two updates
/// each, all resolved but the last 10 (a page's history with a few open ones).
/// Returns a note on what it did and how long it took.
async fn seed_incidents(target: &Target, n: usize) -> anyhow::Result<String> {
    if target.backend == Backend::Sqlite {
        std::fs::create_dir_all(target.data_dir()).context("creating the data folder")?;
    }
    let started = Instant::now();
    let store = Arc::new(
        SqlStore::open(
            &ConnectOptions::new(target.store_url()),
            Arc::new(SystemClock),
        )
        .await
        .context("opening the database to seed it")?,
    );
    let actor = Actor::cli();
    let mut components = Vec::new();
    for i in 0..COMPONENTS {
        let c = store
            .create_component(
                NewComponent {
                    name: format!("Seed component {i}"),
                    ..Default::default()
                },
                &actor,
            )
            .await
            .context("seeding a component")?;
        components.push(c.id);
    }
    let workers = match target.backend {
        Backend::Sqlite => 1,
        Backend::Postgres => 4,
    };
    let open_left = 10.min(n);
    let mut tasks = Vec::new();
    for w in 0..workers {
        let store = store.clone();
        let components = components.clone();
        tasks.push(tokio::spawn(async move {
            let actor = Actor::cli();
            // (index, time to create and resolve it), to see whether the cost grows.
            let mut timings = Vec::new();
            let mut i = w;
            while i < n {
                let began = Instant::now();
                let incident = store
                    .create_incident(
                        NewIncident {
                            name: format!("Seeded incident {i}"),
                            status: IncidentStatus::Investigating,
                            impact: None,
                            body: "We are investigating elevated error rates on the API."
                                .to_string(),
                            components: vec![ComponentChange {
                                component_id: components[i % components.len()],
                                status: Some(ComponentStatus::PartialOutage),
                            }],
                            source: IncidentSource {
                                kind: SourceKind::Manual,
                                reference: None,
                            },
                            started_at: None,
                        },
                        &actor,
                    )
                    .await?;
                if i < n - open_left {
                    store.resolve_incident(incident.id, None, &actor).await?;
                }
                timings.push((i, began.elapsed()));
                i += workers;
            }
            anyhow::Ok(timings)
        }));
    }
    let mut timings = Vec::new();
    for task in tasks {
        timings.extend(task.await.context("a seeding task failed")??);
    }
    store.close().await;
    // Mean cost of one incident (create + resolve) among the first and the last tenth.
    let tenth = (n / 10).max(1);
    let mean_ms = |range: std::ops::Range<usize>| {
        let picked: Vec<Duration> = timings
            .iter()
            .filter(|(i, _)| range.contains(i) && *i < n - open_left)
            .map(|(_, d)| *d)
            .collect();
        let total: Duration = picked.iter().sum();
        ms(total) / picked.len().max(1) as f64
    };
    Ok(format!(
        "seeded through the library in {:.1} s ({workers} writer(s)); {} open; \
         create + resolve took {:.2} ms per incident over the first tenth, {:.2} ms over the last",
        started.elapsed().as_secs_f64(),
        open_left,
        mean_ms(0..tenth),
        mean_ms(n.saturating_sub(tenth)..n)
    ))
}

// ---- report --------------------------------------------------------------------------------

struct Facts {
    lines: Vec<(String, String)>,
}

async fn machine_facts(settings: &Settings, backends: &[Backend], quick: bool) -> Facts {
    let mut lines = Vec::new();
    lines.push((
        "date".to_string(),
        chrono::Utc::now()
            .format("%Y-%m-%d %H:%M:%S UTC")
            .to_string(),
    ));
    lines.push((
        "nproc".to_string(),
        std::thread::available_parallelism()
            .map(|n| n.to_string())
            .unwrap_or_else(|_| "?".into()),
    ));
    if let Ok(info) = std::fs::read_to_string("/proc/cpuinfo") {
        if let Some(model) = info
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split(':').nth(1))
        {
            lines.push(("cpu".to_string(), model.trim().to_string()));
        }
    }
    if let Ok(info) = std::fs::read_to_string("/proc/meminfo") {
        if let Some(kb) = info
            .lines()
            .find(|l| l.starts_with("MemTotal:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
        {
            lines.push((
                "memory".to_string(),
                format!("{:.1} GiB", kb as f64 / 1024.0 / 1024.0),
            ));
        }
    }
    if let Ok(release) = std::fs::read_to_string("/proc/sys/kernel/osrelease") {
        lines.push(("kernel".to_string(), release.trim().to_string()));
    }
    let version = Command::new(&settings.bin)
        .arg("--version")
        .output()
        .await
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let commit = Command::new("git")
        .args(["describe", "--always", "--dirty"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .await
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "?".into());
    lines.push((
        "binary".to_string(),
        format!("{} ({version}, commit {commit})", settings.bin.display()),
    ));
    if backends.contains(&Backend::Sqlite) {
        let v: Option<String> = async {
            let mut conn = <sqlx::SqliteConnection as Connection>::connect("sqlite::memory:")
                .await
                .ok()?;
            sqlx::query_scalar("SELECT sqlite_version()")
                .fetch_one(&mut conn)
                .await
                .ok()
        }
        .await;
        lines.push((
            "SQLite".to_string(),
            format!(
                "{} (file in a temporary folder, {})",
                v.unwrap_or_else(|| "?".into()),
                std::env::temp_dir().display()
            ),
        ));
    }
    if backends.contains(&Backend::Postgres) {
        let v: Option<String> = async {
            let mut conn = PgConnection::connect(settings.pg_server.as_deref()?)
                .await
                .ok()?;
            sqlx::query_scalar("SHOW server_version")
                .fetch_one(&mut conn)
                .await
                .ok()
        }
        .await;
        lines.push((
            "PostgreSQL".to_string(),
            format!(
                "{} on 127.0.0.1 (scripts/with-postgres: fsync off, synchronous_commit off)",
                v.unwrap_or_else(|| "?".into())
            ),
        ));
    }
    lines.push((
        "run".to_string(),
        format!(
            "{}{:.1} s warm-up + {:.1} s per throughput cell; {} start(s) per start-up row{}",
            if quick { "--quick: " } else { "" },
            settings.warmup.as_secs_f64(),
            settings.duration.as_secs_f64(),
            settings.starts,
            if settings.updates_per_incident > 0 {
                format!(
                    "; each client opens a new incident every {} updates",
                    settings.updates_per_incident
                )
            } else {
                "; each client posts to one incident for the whole cell".to_string()
            }
        ),
    ));
    Facts { lines }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(values: &[Duration]) -> Duration {
    let mut v = values.to_vec();
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn print_report(facts: &Facts, settings: &Settings, cells: &[Cell], startup: &[StartupRow]) {
    println!("# Pharos benchmark");
    println!();
    for (k, v) in &facts.lines {
        println!("- {k}: {v}");
    }
    println!("- load generator and server share the machine; all traffic on 127.0.0.1");

    if !cells.is_empty() {
        println!();
        println!("## Management API writes: POST /api/v1/incidents/{{id}}/updates");
        println!();
        println!("| backend | clients | updates | updates/s | p50 ms | p99 ms | max ms | errors |");
        println!("|---|---:|---:|---:|---:|---:|---:|---:|");
        for c in cells {
            println!(
                "| {} | {} | {} | {:.0} | {:.2} | {:.2} | {:.1} | {} |",
                c.backend.name(),
                c.clients,
                c.updates,
                c.per_second(),
                ms(c.p50),
                ms(c.p99),
                ms(c.max),
                c.errors()
            );
        }
        let mut notes = Vec::new();
        for c in cells {
            let label = format!("{} x{}", c.backend.name(), c.clients);
            let opened = if settings.updates_per_incident > 0 {
                format!("{} incidents opened while measuring; ", c.opens)
            } else {
                String::new()
            };
            notes.push(format!(
                "{label}: {opened}largest answer {:.1} KiB (the whole incident with its timeline)",
                c.max_response_bytes as f64 / 1024.0
            ));
            if c.errors() > 0 {
                let kinds: Vec<String> = c
                    .error_kinds
                    .iter()
                    .map(|(k, v)| format!("{k}: {v}"))
                    .collect();
                notes.push(format!(
                    "{label}: errors {}; e.g. {}",
                    kinds.join(", "),
                    c.error_samples.join(" | ")
                ));
            }
            if c.server_log.warnings + c.server_log.errors > 0 {
                notes.push(format!(
                    "{label}: server logged {} warning(s), {} error(s); e.g. {}",
                    c.server_log.warnings,
                    c.server_log.errors,
                    c.server_log.samples.join(" | ")
                ));
            }
        }
        println!();
        for n in notes {
            println!("- {n}");
        }
    }

    if !startup.is_empty() {
        println!();
        println!("## Start-up: spawn of `pharos serve` to the first 200 from /readyz");
        println!();
        println!("| backend | database | starts | ready ms (median) | min–max ms | listening ms (median) |");
        println!("|---|---|---:|---:|---:|---:|");
        for r in startup {
            let min = r.ready.iter().min().copied().unwrap_or_default();
            let max = r.ready.iter().max().copied().unwrap_or_default();
            println!(
                "| {} | {} | {} | {:.1} | {:.1}–{:.1} | {:.1} |",
                r.backend.name(),
                r.database,
                r.ready.len(),
                ms(median(&r.ready)),
                ms(min),
                ms(max),
                ms(median(&r.listening))
            );
        }
        let notes: Vec<_> = startup
            .iter()
            .filter(|r| !r.note.is_empty())
            .map(|r| format!("{} {}: {}", r.backend.name(), r.database, r.note))
            .collect();
        if !notes.is_empty() {
            println!();
            for n in notes {
                println!("- {n}");
            }
        }
    }
}
