//! Seeds a data folder with many HTTP monitors for the monitoring benchmark
//! (`scripts/bench-monitors`), which then starts `pharos serve` on it and measures the
//! scheduler; and, with `--count`, reads back what the server stored. It writes progress to
//! stderr; only `--count` prints on stdout, as `key value` lines for the script.
//!
//! ```text
//! cargo run --release --example bench_monitors -- --data-dir DIR --target http://127.0.0.1:PORT/health
//! cargo run --release --example bench_monitors -- --data-dir DIR --count [--since TS --until TS]
//! cargo run --release --example bench_monitors -- --serve-slow MS
//! ```
//!
//! Seeding goes through the library ([`SqlStore`], one `create_monitor` transaction per
//! monitor, as the management API does), with the API's defaults: `GET`, any 2xx, policy
//! defaults (`down_after` 3, `up_after` 2), a timeout of half the interval up to 10 s. The
//! monitors drive no component by default: while every monitor is up, which is the state
//! measured, a check touches no component anyway (results are written without events, and
//! only a change of health recomputes components), so components would only add work to the
//! first verdicts. `--components N` makes N components and spreads the monitors over them,
//! for a page that shows "last checked" under each.
//!
//! `--count` opens the database read-only (through sqlx: the store has no query that counts
//! results) and prints the stored results whose start falls in `[since, until)`: how many,
//! by outcome and error class, an example message of each non-`up` outcome, their latency,
//! and how far apart each monitor's consecutive checks started compared with its interval
//! (a figure that includes the wait for a free check slot, which the lag metric does not).
//!
//! `--serve-slow MS` is a target that answers every request after MS milliseconds, as remote
//! sites do, where nginx on the same machine answers in a fraction of one: it shows how many
//! checks are in flight at once. It listens on a free port of 127.0.0.1, prints
//! `listening on http://ADDR` on stdout, and serves until killed.

use anyhow::{bail, Context};
use clap::Parser;
use pharos::clock::SystemClock;
use pharos::domain::ManagedBy;
use pharos::events::Actor;
use pharos::monitor::evaluate::Policy;
use pharos::monitor::model::{validate_common, Check, MonitorComponent, NewMonitor};
use pharos::monitor::probe::http::HttpCheck;
use pharos::store::sql::{ConnectOptions, SqlStore};
use pharos::store::{NewComponent, Store};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions as _, Row};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

#[derive(Debug, Parser)]
#[command(
    name = "bench_monitors",
    about = "Seed many HTTP monitors for scripts/bench-monitors, or count what was stored"
)]
struct Args {
    /// The data folder `pharos serve --data-dir` will use; it must not hold a database yet
    /// (unless --count). Required unless --serve-slow.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// The URL every monitor checks (required unless --count).
    #[arg(long, value_name = "URL")]
    target: Option<String>,
    /// How many monitors to create.
    #[arg(long, default_value_t = 10_000)]
    monitors: usize,
    /// Seconds between two checks of one monitor.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    interval: u64,
    /// Components to create; monitor i drives component i mod N (0: none).
    #[arg(long, value_name = "N", default_value_t = 0)]
    components: usize,
    /// Accept any certificate (for an HTTPS target with a self-signed one); the TLS
    /// handshake still happens.
    #[arg(long)]
    insecure: bool,
    /// Monitors created at once. SQLite serialises the writes; more than one overlaps the
    /// preparation of one transaction with the commit of another.
    #[arg(long, value_name = "N", default_value_t = 4)]
    concurrency: usize,
    /// Read back the stored results instead of seeding.
    #[arg(long)]
    count: bool,
    /// With --count: only results that started at or after this time (RFC 3339, UTC).
    #[arg(long, value_name = "TIME")]
    since: Option<String>,
    /// With --count: only results that started before this time (RFC 3339, UTC).
    #[arg(long, value_name = "TIME")]
    until: Option<String>,
    /// Serve a target that answers each request after this many milliseconds, instead of
    /// seeding.
    #[arg(long, value_name = "MS")]
    serve_slow: Option<u64>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if let Some(delay) = args.serve_slow {
        return serve_slow(std::time::Duration::from_millis(delay)).await;
    }
    let Some(data_dir) = args.data_dir.clone() else {
        bail!("--data-dir DIR is required to seed or count");
    };
    let db = data_dir.join("pharos.db");
    if args.count {
        return count(&db, args.since.as_deref(), args.until.as_deref()).await;
    }
    let Some(target) = args.target.clone() else {
        bail!("--target URL is required to seed");
    };
    seed(&args, &data_dir, &db, target).await
}

/// Answers every request with `200 ok` after `delay`, one task per connection, closing the
/// connection after the answer (the probe asks for that anyway). Reads only the request head.
async fn serve_slow(delay: std::time::Duration) -> anyhow::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("binding 127.0.0.1:0")?;
    println!("listening on http://{}", listener.local_addr()?);
    loop {
        let (mut socket, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(err) => {
                // Out of file descriptors, say: wait a little rather than spin.
                eprintln!("bench_monitors: accept failed: {err}");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        tokio::spawn(async move {
            let mut head = Vec::with_capacity(1024);
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
                match socket.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            tokio::time::sleep(delay).await;
            let _ = socket
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n")
                .await;
            let _ = socket.shutdown().await;
        });
    }
}

async fn seed(args: &Args, data_dir: &Path, db: &Path, target: String) -> anyhow::Result<()> {
    if db.exists() {
        bail!("{} already exists; seed a fresh folder", db.display());
    }
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    let store = Arc::new(
        SqlStore::open(
            &ConnectOptions::new(format!("sqlite://{}", db.display())),
            Arc::new(SystemClock),
        )
        .await
        .context("opening the database")?,
    );
    let actor = Actor::cli();

    let mut components = Vec::with_capacity(args.components);
    for i in 0..args.components {
        let c = store
            .create_component(
                NewComponent {
                    name: format!("Service {:03}", i + 1),
                    position: Some(i as i64),
                    ..Default::default()
                },
                &actor,
            )
            .await
            .context("creating a component")?;
        components.push(c.id);
    }

    // The management API's defaults.
    let timeout_ms = 10_000u64.min(args.interval.saturating_mul(1000) / 2);
    let policy = Policy::default();
    let check = Check::Http(HttpCheck {
        url: target,
        method: "GET".to_string(),
        headers: BTreeMap::new(),
        body: None,
        expected_status: Vec::new(),
        assertions: Vec::new(),
        degraded_after_ms: None,
        max_redirects: 10,
        verify_tls: !args.insecure,
    });
    let mut problems = validate_common("bench", args.interval, timeout_ms, &policy);
    if let Err(more) = check.validate() {
        problems.extend(more);
    }
    if !problems.is_empty() {
        bail!("the monitor would not be valid: {}", problems.join("; "));
    }

    let started = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let components = Arc::new(components);
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..args.concurrency.max(1) {
        let (store, next, components, check, policy, actor) = (
            store.clone(),
            next.clone(),
            components.clone(),
            check.clone(),
            policy.clone(),
            actor.clone(),
        );
        let (total, interval) = (args.monitors, args.interval);
        workers.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    return Ok::<(), anyhow::Error>(());
                }
                let drives = if components.is_empty() {
                    Vec::new()
                } else {
                    vec![MonitorComponent {
                        component_id: components[i % components.len()],
                        down_status: pharos::domain::ComponentStatus::MajorOutage,
                    }]
                };
                store
                    .create_monitor(
                        NewMonitor {
                            name: format!("bench monitor {:05}", i + 1),
                            description: None,
                            check: check.clone(),
                            interval_seconds: interval,
                            timeout_ms,
                            policy: policy.clone(),
                            components: drives,
                            tags: Vec::new(),
                            paused: false,
                            auto_incidents: true,
                            push_token_hash: None,
                            managed_by: ManagedBy::Api,
                            config_key: None,
                        },
                        &actor,
                    )
                    .await
                    .with_context(|| format!("creating monitor {}", i + 1))?;
                if (i + 1) % 2_000 == 0 {
                    eprintln!("bench_monitors: {} monitors created", i + 1);
                }
            }
        });
    }
    while let Some(joined) = workers.join_next().await {
        joined.context("a seeding task panicked")??;
    }
    let took = started.elapsed().as_secs_f64();
    let events = store.last_event_seq().await.unwrap_or(0);
    store.close().await;
    eprintln!(
        "bench_monitors: seeded {} with {} HTTP monitors (every {} s, timeout {} ms, {} component(s)) in {:.1} s ({:.0} monitors/s, {} at once), {} events",
        db.display(),
        args.monitors,
        args.interval,
        timeout_ms,
        args.components,
        took,
        args.monitors as f64 / took.max(1e-9),
        args.concurrency.max(1),
        events
    );
    // For the script: how long seeding took.
    eprintln!("bench_monitors: seed_seconds {took:.2}");
    Ok(())
}

/// The value at quantile `q` of sorted values (nearest rank).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

async fn count(db: &Path, since: Option<&str>, until: Option<&str>) -> anyhow::Result<()> {
    if !db.exists() {
        bail!("{} does not exist", db.display());
    }
    let mut conn = SqliteConnectOptions::new()
        .filename(db)
        .read_only(true)
        .connect()
        .await
        .with_context(|| format!("opening {} read-only", db.display()))?;
    let since = since.unwrap_or("0000");
    let until = until.unwrap_or("9999");

    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM check_results")
        .fetch_one(&mut conn)
        .await
        .context("counting check_results")?;
    println!("rows_total {total}");

    let intervals: HashMap<String, f64> = sqlx::query("SELECT id, interval_seconds FROM monitors")
        .fetch_all(&mut conn)
        .await
        .context("reading monitors")?
        .into_iter()
        .map(|r| (r.get::<String, _>(0), r.get::<i64, _>(1) as f64))
        .collect();
    println!("monitors {}", intervals.len());

    // Times are fixed-width RFC 3339 text, so text order is time order.
    let rows = sqlx::query(
        "SELECT monitor_id, at, outcome, COALESCE(error_class, ''), message, latency_us \
         FROM check_results WHERE at >= $1 AND at < $2 ORDER BY monitor_id, at",
    )
    .bind(since)
    .bind(until)
    .fetch_all(&mut conn)
    .await
    .context("reading check_results")?;
    println!("rows_window {}", rows.len());

    let mut outcomes: BTreeMap<String, u64> = BTreeMap::new();
    let mut errors: BTreeMap<String, u64> = BTreeMap::new();
    let mut examples: BTreeMap<String, String> = BTreeMap::new();
    let mut latencies = Vec::with_capacity(rows.len());
    let mut deviations = Vec::with_capacity(rows.len());
    let mut previous: Option<(String, chrono::DateTime<chrono::Utc>)> = None;
    let mut unparsed = 0u64;
    for row in &rows {
        let monitor: String = row.get(0);
        let at: String = row.get(1);
        let outcome: String = row.get(2);
        let error: String = row.get(3);
        let message: String = row.get(4);
        let latency_us: i64 = row.get(5);
        *outcomes.entry(outcome.clone()).or_default() += 1;
        if !error.is_empty() {
            *errors.entry(error).or_default() += 1;
        }
        if outcome != "up" {
            examples.entry(outcome).or_insert(message);
        }
        latencies.push(latency_us as f64 / 1000.0);
        let Ok(at) = chrono::DateTime::parse_from_rfc3339(&at) else {
            unparsed += 1;
            continue;
        };
        let at = at.with_timezone(&chrono::Utc);
        if let Some((prev_monitor, prev_at)) = &previous {
            if *prev_monitor == monitor {
                let interval = intervals.get(&monitor).copied().unwrap_or(f64::NAN);
                let gap = (at - *prev_at).num_microseconds().unwrap_or(i64::MAX) as f64 / 1e6;
                deviations.push((gap - interval).abs() * 1000.0);
            }
        }
        previous = Some((monitor, at));
    }
    for (outcome, n) in &outcomes {
        println!("outcome {outcome} {n}");
    }
    for (class, n) in &errors {
        println!("error {class} {n}");
    }
    for (outcome, message) in &examples {
        println!("example {outcome} {}", message.replace('\n', " "));
    }
    if unparsed > 0 {
        println!("unparsed_times {unparsed}");
    }
    latencies.sort_by(f64::total_cmp);
    deviations.sort_by(f64::total_cmp);
    println!(
        "latency_ms {:.3} {:.3} {:.3} {:.3}",
        quantile(&latencies, 0.5),
        quantile(&latencies, 0.99),
        latencies.last().copied().unwrap_or(f64::NAN),
        latencies.iter().sum::<f64>() / latencies.len().max(1) as f64
    );
    println!(
        "spacing_deviation_ms {} {:.3} {:.3} {:.3}",
        deviations.len(),
        quantile(&deviations, 0.5),
        quantile(&deviations, 0.99),
        deviations.last().copied().unwrap_or(f64::NAN)
    );
    Ok(())
}
