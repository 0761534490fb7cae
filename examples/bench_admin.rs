//! The admin pages' benchmark (`scripts/bench-admin`): seeds a fresh database with 1,000
//! components in groups, 10,000 monitors, 2,000 vendors and a few hundred incidents, starts
//! the release `pharos serve` on it, creates an admin with `pharos user create --admin`,
//! signs in through the login form, then requests the dashboard, the incident list and the
//! monitor list (first page and filtered pages) sequentially and with a little concurrency,
//! and prints a Markdown report on stdout (progress on stderr): client-side latency
//! (p50/p95/p99/max, on 127.0.0.1), the server's own `pharos_http_request_duration_seconds`
//! quantiles per route, Pharos's RSS and, on PostgreSQL, the size of the seeded `monitors`
//! table (every stored result used to bloat it).
//!
//! ```text
//! cargo run --release --example bench_admin -- [--quick] [--postgres] [--requests N]
//! ```
//!
//! Nothing seeded makes a request beyond 127.0.0.1: monitors are paused or point at
//! 127.0.0.1:9 (refused at once) with a one-day interval, vendors are disabled. The pages
//! get real data: 300 monitors are `down` and 100 `degraded` (through
//! `Store::apply_transition`, with evidence), 2,800 have two days of results, rolled up into
//! hours and days; 300 incidents, 30 of them open. Seeding goes through the library
//! ([`SqlStore`]), one transaction per record, as the API does.

use anyhow::{bail, Context};
use clap::Parser;
use pharos::clock::SystemClock;
use pharos::domain::model::IncidentSource;
use pharos::domain::{
    ComponentStatus, IncidentImpact, IncidentStatus, ManagedBy, SourceKind, Timestamp,
};
use pharos::events::Actor;
use pharos::monitor::evaluate::{Health, Memory, Observation, Policy, Rule, Transition};
use pharos::monitor::model::{Check, CheckRecord, MonitorComponent, NewMonitor};
use pharos::monitor::probe::{ErrorClass, ProbeReport, Timings};
use pharos::store::sql::{ConnectOptions, SqlStore};
use pharos::store::{ComponentChange, NewComponent, NewGroup, NewIncident, RecordedCheck, Store};
use pharos::vendor::adapter::AdapterKind;
use pharos::vendor::record::NewVendor;
use sqlx::{Connection, Executor};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

const PG_URL_VAR: &str = "PHAROS_TEST_POSTGRES_URL";
const EMAIL: &str = "bench@example.com";
const PASSWORD: &str = "bench admin password 1234";

#[derive(Debug, Parser)]
#[command(
    name = "bench_admin",
    about = "Benchmark the admin pages with a large store"
)]
struct Args {
    /// Fewer requests per page (60 instead of 300): about a minute after seeding.
    #[arg(long)]
    quick: bool,
    /// Requests per page and mode (sequential, concurrent).
    #[arg(long, value_name = "N")]
    requests: Option<usize>,
    /// Requests in flight at once in the concurrent mode.
    #[arg(long, value_name = "N", default_value_t = 4)]
    concurrency: usize,
    #[arg(long, default_value_t = 1_000)]
    components: usize,
    #[arg(long, default_value_t = 10_000)]
    monitors: usize,
    #[arg(long, default_value_t = 2_000)]
    vendors: usize,
    #[arg(long, default_value_t = 300)]
    incidents: usize,
    /// A fresh database on the PostgreSQL server PHAROS_TEST_POSTGRES_URL names
    /// (scripts/with-postgres starts one) instead of SQLite.
    #[arg(long)]
    postgres: bool,
    /// The `pharos` binary (default: next to this program's folder).
    #[arg(long, value_name = "PATH")]
    bin: Option<PathBuf>,
    /// Keep the temporary folder (and the PostgreSQL database).
    #[arg(long)]
    keep: bool,
}

fn progress(message: impl AsRef<str>) {
    eprintln!(
        "bench_admin: {} {}",
        chrono::Utc::now().format("%H:%M:%S"),
        message.as_ref()
    );
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let bin = match &args.bin {
        Some(b) => b.clone(),
        None => {
            let exe = std::env::current_exe()?;
            exe.parent()
                .and_then(Path::parent)
                .context("this program is not in target/<profile>/examples")?
                .join("pharos")
        }
    };
    let work = tempfile::Builder::new()
        .prefix("pharos-bench-admin.")
        .tempdir()?;
    let work_path = work.path().to_path_buf();
    let (db_url, pg_admin) = if args.postgres {
        let server = std::env::var(PG_URL_VAR)
            .ok()
            .filter(|u| !u.trim().is_empty())
            .with_context(|| {
                format!("--postgres: {PG_URL_VAR} is not set; run under scripts/with-postgres (scripts/bench-admin --postgres does)")
            })?;
        let name = format!("pharos_bench_admin_{:08x}", rand::random::<u32>());
        let mut admin = sqlx::PgConnection::connect(&server)
            .await
            .context("connecting to the PostgreSQL server")?;
        admin
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await?;
        (with_database(&server, &name), Some((admin, name)))
    } else {
        (format!("sqlite://{}/pharos.db", work_path.display()), None)
    };
    let result = run(&args, &bin, &work_path, &db_url).await;
    if let Some((mut admin, name)) = pg_admin {
        if args.keep {
            progress(format!("kept the PostgreSQL database {name}"));
        } else {
            let _ = admin
                .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                .await;
        }
    }
    if args.keep {
        let kept = work.keep();
        progress(format!("kept {}", kept.display()));
    }
    result
}

/// `url` with its database name replaced by `name`.
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

async fn run(args: &Args, bin: &Path, work: &Path, db_url: &str) -> anyhow::Result<()> {
    let requests = args.requests.unwrap_or(if args.quick { 60 } else { 300 });
    let seeded = Instant::now();
    let monitors_bytes = seed(args, db_url).await?;
    let seed_secs = seeded.elapsed().as_secs_f64();
    progress(format!("seeded in {seed_secs:.1} s"));

    let status = pharos_command(bin, db_url, work)
        .args(["user", "create", "--admin", EMAIL])
        .env("PHAROS_USER_PASSWORD", PASSWORD)
        .stdout(Stdio::null())
        .status()
        .await
        .context("pharos user create")?;
    if !status.success() {
        bail!("pharos user create --admin failed ({status})");
    }

    let log_path = work.join("pharos.log");
    let mut server = Server::start(bin, db_url, work, &log_path).await?;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(args.concurrency.max(1) * 2)
        .build()?;
    server.wait_ready(&client).await?;
    progress(format!(
        "pharos serve ready on {} (pid {})",
        server.base, server.pid
    ));
    let rss_ready = rss_kib(server.pid, "VmRSS");
    let session = sign_in(&client, &server.base).await?;
    progress("signed in through the login form");

    let pages: [(&str, &str); 6] = [
        ("dashboard", "/admin"),
        ("incidents", "/admin/incidents"),
        ("monitors, first page", "/admin/monitors"),
        ("monitors, state=down", "/admin/monitors?state=down"),
        (
            "monitors, q=team-3, page 2",
            "/admin/monitors?q=team-3&page=2",
        ),
        (
            "monitors, kind=tcp, page 20",
            "/admin/monitors?kind=tcp&page=20",
        ),
    ];
    // Warm-up: one request each (templates, connections, the database's caches).
    for (_, path) in &pages {
        get(&client, &server.base, path, &session).await?;
    }
    let mut rows = Vec::new();
    for (label, path) in &pages {
        let route = path.split('?').next().unwrap_or(path);
        let before = server_buckets(&client, &server.base, route).await;
        progress(format!("{label}: {requests} sequential requests"));
        let seq = measure(&client, &server.base, path, &session, requests, 1).await?;
        progress(format!(
            "{label}: {requests} requests, {} at once",
            args.concurrency
        ));
        let conc = measure(
            &client,
            &server.base,
            path,
            &session,
            requests,
            args.concurrency.max(1),
        )
        .await?;
        let after = server_buckets(&client, &server.base, route).await;
        let server_time = ServerTime::between(&before, &after);
        rows.push((label.to_string(), path.to_string(), seq, conc, server_time));
    }
    let rss_end = rss_kib(server.pid, "VmRSS");
    let hwm = rss_kib(server.pid, "VmHWM");
    let warnings = std::fs::read_to_string(&log_path)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(" WARN ") || l.contains(" ERROR "))
        .count();
    server.stop().await;

    // ---- report ----
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .map(|r| r.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_default();
    let commit = std::process::Command::new("git")
        .args(["describe", "--always", "--dirty"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let backend = if args.postgres {
        "PostgreSQL (scripts/with-postgres: throwaway cluster, fsync off)"
    } else {
        "SQLite"
    };
    println!("# Pharos admin pages");
    println!();
    println!(
        "- date: {}",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC")
    );
    println!(
        "- machine: {cpu}, {} cores; load average at the end: {}",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0),
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!("- pharos: commit {commit}, release build, {backend}");
    println!(
        "- store: {} components in {} groups, {} monitors (300 down, 100 degraded, the first 2,800 with two days of results every 30 min, rolled up; the rest paused), {} vendors (disabled), {} incidents ({} open); seeded in {seed_secs:.0} s",
        args.components,
        args.components.div_ceil(20),
        args.monitors,
        args.vendors,
        args.incidents,
        args.incidents / 10
    );
    if let Some(bytes) = monitors_bytes {
        println!(
            "- the `monitors` table after seeding and VACUUM: {:.1} MB with its indexes",
            bytes as f64 / 1e6
        );
    }
    println!(
        "- requests: {requests} per page sequentially, then {requests} with {} in flight, signed in as an admin, measured at the client on 127.0.0.1 (whole response read), after one warm-up request each",
        args.concurrency
    );
    println!();
    println!("| page | mode | p50 ms | p95 ms | p99 ms | max ms | KiB |");
    println!("|---|---|---:|---:|---:|---:|---:|");
    for (label, path, seq, conc, _) in &rows {
        for (mode, m) in [("sequential", seq), ("concurrent", conc)] {
            let mode = if mode == "concurrent" {
                format!("{} at once", args.concurrency)
            } else {
                mode.to_string()
            };
            println!(
                "| {label} (`{path}`) | {mode} | {:.1} | {:.1} | {:.1} | {:.1} | {:.0} |",
                m.quantile(0.50),
                m.quantile(0.95),
                m.quantile(0.99),
                m.max(),
                m.bytes as f64 / 1024.0
            );
        }
    }
    println!();
    println!("Server time (`pharos_http_request_duration_seconds`, a histogram: the rise of its buckets over each page's requests, both modes together; p99 is the bucket bound it falls under):");
    println!();
    println!("| page | requests | under 10 ms | under 25 ms | under 50 ms | p99 at most |");
    println!("|---|---:|---:|---:|---:|---:|");
    for (label, _, _, _, t) in &rows {
        println!(
            "| {label} | {} | {:.1} % | {:.1} % | {:.1} % | {} |",
            t.total,
            t.share_under(0.01),
            t.share_under(0.025),
            t.share_under(0.05),
            t.p99_bound()
        );
    }
    println!();
    println!(
        "- Pharos RSS: {:.1} MiB at ready, {:.1} MiB at the end, peak (VmHWM) {:.1} MiB",
        rss_ready as f64 / 1024.0,
        rss_end as f64 / 1024.0,
        hwm as f64 / 1024.0
    );
    let worst = rows
        .iter()
        .flat_map(|(label, _, s, c, _)| {
            [
                (label.clone(), s.quantile(0.99)),
                (label.clone(), c.quantile(0.99)),
            ]
        })
        .fold((String::new(), 0.0f64), |acc, (l, v)| {
            if v > acc.1 {
                (l, v)
            } else {
                acc
            }
        });
    println!(
        "- Target (issue 8): each page under 50 ms at p99: {} (worst p99: {:.1} ms, {})",
        if worst.1 < 50.0 { "met" } else { "**missed**" },
        worst.1,
        worst.0
    );
    if warnings > 0 {
        println!("- Pharos logged {warnings} warning(s) or error(s); see its log (--keep)");
    }
    Ok(())
}

// ---- seeding --------------------------------------------------------------------------------

fn tcp_local() -> Check {
    serde_json::from_value(serde_json::json!({"kind": "tcp", "host": "127.0.0.1", "port": 9}))
        .expect("tcp check")
}

/// The check of monitor `i`: every kind, all against 127.0.0.1.
fn check_of(i: usize) -> Check {
    let value = match i % 5 {
        0 | 1 => {
            serde_json::json!({"kind": "http", "url": format!("http://127.0.0.1:9/service-{i}/health")})
        }
        2 => serde_json::json!({"kind": "tcp", "host": "127.0.0.1", "port": 9}),
        3 => {
            serde_json::json!({"kind": "dns", "name": format!("svc{i}.example.test"), "resolver": "127.0.0.1", "port": 9})
        }
        _ => serde_json::json!({"kind": "tls", "host": "127.0.0.1", "port": 9}),
    };
    serde_json::from_value(value).expect("check")
}

/// Seeds the store; on PostgreSQL, returns the size of the `monitors` table (with its indexes
/// and TOAST) after `VACUUM ANALYZE`, which every stored result used to bloat.
async fn seed(args: &Args, db_url: &str) -> anyhow::Result<Option<i64>> {
    let store: Arc<dyn Store> = Arc::new(
        SqlStore::open(&ConnectOptions::new(db_url), Arc::new(SystemClock))
            .await
            .context("opening the database")?,
    );
    let actor = Actor::cli();
    progress(format!("seeding {} components in groups", args.components));
    let mut groups = Vec::new();
    for g in 0..args.components.div_ceil(20) {
        groups.push(
            store
                .create_group(
                    NewGroup {
                        name: format!("Group {:02}", g + 1),
                        ..Default::default()
                    },
                    &actor,
                )
                .await?
                .id,
        );
    }
    let mut components = Vec::new();
    for i in 0..args.components {
        components.push(
            store
                .create_component(
                    NewComponent {
                        name: format!("Service {:04}", i + 1),
                        group_id: groups.get(i / 20).copied(),
                        ..Default::default()
                    },
                    &actor,
                )
                .await?
                .id,
        );
    }

    progress(format!("seeding {} vendors (disabled)", args.vendors));
    for i in 0..args.vendors {
        store
            .create_vendor(
                NewVendor {
                    slug: format!("vendor-{:04}", i + 1),
                    name: format!("Vendor {:04}", i + 1),
                    page_url: format!("http://127.0.0.1:9/vendor-{i}"),
                    source_url: None,
                    adapter: AdapterKind::Statuspage,
                    poll_interval_seconds: 300,
                    components_of_interest: Vec::new(),
                    enabled: false,
                    managed_by: ManagedBy::Api,
                    config_key: None,
                },
                &actor,
            )
            .await
            .context("creating a vendor")?;
    }

    progress(format!("seeding {} monitors", args.monitors));
    let now = Timestamp::from_datetime(chrono::Utc::now());
    let mut with_results = Vec::new();
    let mut failing = Vec::new();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let components = Arc::new(components);
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let (store, next, components, actor) = (
            store.clone(),
            next.clone(),
            components.clone(),
            actor.clone(),
        );
        let total = args.monitors;
        workers.spawn(async move {
            let mut made = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= total {
                    return Ok::<_, anyhow::Error>(made);
                }
                // 0..400 run (once a day, against a refused local port) and will be made
                // down or degraded; the rest are paused.
                let active = i < 400;
                let drives = if components.is_empty() {
                    Vec::new()
                } else {
                    vec![MonitorComponent {
                        component_id: components[i % components.len()],
                        down_status: ComponentStatus::PartialOutage,
                    }]
                };
                let m = store
                    .create_monitor(
                        NewMonitor {
                            name: format!("bench monitor {:05}", i + 1),
                            description: None,
                            check: if active { tcp_local() } else { check_of(i) },
                            interval_seconds: 86_400,
                            timeout_ms: 2_000,
                            policy: Policy::default(),
                            components: if active { drives } else { Vec::new() },
                            tags: vec![format!("team-{}", i % 10), "bench".into()],
                            paused: !active,
                            auto_incidents: false,
                            push_token_hash: None,
                            managed_by: ManagedBy::Api,
                            config_key: None,
                        },
                        &actor,
                    )
                    .await
                    .context("creating a monitor")?;
                made.push((i, m.id));
            }
        });
    }
    while let Some(done) = workers.join_next().await {
        for (i, id) in done?? {
            if i < 400 {
                failing.push((i, id));
            }
            if i < 2_800 {
                with_results.push(id);
            }
        }
    }

    progress(format!(
        "writing two days of results for {} monitors and rolling them up",
        with_results.len()
    ));
    // One result every 30 minutes over two days: 96 per monitor.
    for chunk in with_results.chunks(50) {
        let mut batch = Vec::new();
        for id in chunk {
            for k in 0..96i64 {
                let at = Timestamp::from_datetime(now.0 - chrono::Duration::minutes(30 * (96 - k)));
                let fail = k % 17 == 0;
                let timings = Timings {
                    total_ms: 20.0 + (k % 7) as f64 * 3.0,
                    ..Timings::default()
                };
                let report = if fail {
                    ProbeReport::down(ErrorClass::Connect, "connection refused", timings)
                } else {
                    let mut r = ProbeReport::up("200 OK", timings);
                    r.status_code = Some(200);
                    r
                };
                batch.push(RecordedCheck {
                    record: CheckRecord::new(*id, at, report),
                    memory: Memory::default(),
                });
            }
        }
        store.record_checks(&batch).await?;
    }
    let hour = pharos::monitor::rollup::Period::Hour.floor(now);
    store.roll_up(hour).await?;

    progress("making 300 monitors down and 100 degraded");
    for (i, id) in &failing {
        let down = *i < 300;
        let at = Timestamp::from_datetime(now.0 - chrono::Duration::minutes(5 + *i as i64));
        let obs = |k: i64| {
            let when = Timestamp::from_datetime(at.0 - chrono::Duration::minutes(k));
            if down {
                Observation::new(
                    when,
                    pharos::monitor::probe::Outcome::Down,
                    Some(ErrorClass::Connect),
                    "connection refused by 127.0.0.1:9",
                )
            } else {
                Observation::new(
                    when,
                    pharos::monitor::probe::Outcome::Degraded,
                    None,
                    "answered in 2400 ms, above 2000 ms",
                )
            }
        };
        let evidence = vec![obs(2), obs(1), obs(0)];
        let transition = Transition {
            from: Health::Up,
            to: if down { Health::Down } else { Health::Degraded },
            at,
            flapping: false,
            flapping_started: false,
            flapping_ended: false,
            rule: Rule::Consecutive { count: 3 },
            evidence: evidence.clone(),
            first_failure_at: Some(evidence[0].at),
        };
        let memory = Memory {
            health: transition.to,
            health_since: Some(at),
            recent: evidence.into_iter().collect(),
            ..Memory::default()
        };
        store.apply_transition(*id, &transition, &memory).await?;
    }

    progress(format!("seeding {} incidents", args.incidents));
    for i in 0..args.incidents {
        let changes = if components.is_empty() {
            Vec::new()
        } else {
            vec![ComponentChange {
                component_id: components[(i * 7) % components.len()],
                status: Some(ComponentStatus::PartialOutage),
            }]
        };
        let incident = store
            .create_incident(
                NewIncident {
                    name: format!("Bench incident {:03}", i + 1),
                    status: IncidentStatus::Investigating,
                    impact: Some(IncidentImpact::Minor),
                    body: "We are looking into elevated error rates.".into(),
                    components: changes,
                    source: IncidentSource {
                        kind: SourceKind::Manual,
                        reference: None,
                    },
                    started_at: None,
                },
                &actor,
            )
            .await?;
        // One in ten stays open.
        if i % 10 != 0 {
            store
                .resolve_incident(incident.id, Some("Resolved.".into()), &actor)
                .await?;
        }
    }
    store.close().await;
    if args.postgres {
        // What autovacuum does to a table this size within a minute or two of such writes
        // (statistics for the planner, the visibility map for index-only scans); a freshly
        // seeded database has neither yet. SQLite keeps no statistics unless asked (Pharos
        // does not run ANALYZE), so it is measured as seeded.
        progress("VACUUM ANALYZE (as autovacuum would)");
        let mut conn = sqlx::PgConnection::connect(db_url)
            .await
            .context("connecting to the seeded database")?;
        conn.execute("VACUUM ANALYZE").await?;
        let (bytes,): (i64,) = sqlx::query_as("SELECT pg_total_relation_size('monitors')")
            .fetch_one(&mut conn)
            .await?;
        conn.close().await?;
        return Ok(Some(bytes));
    }
    Ok(None)
}

// ---- the server -----------------------------------------------------------------------------

fn pharos_command(bin: &Path, db_url: &str, work: &Path) -> Command {
    let mut cmd = Command::new(bin);
    // A clean environment: no PHAROS_* setting from the caller leaks in.
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("PHAROS_") {
            cmd.env_remove(key);
        }
    }
    cmd.args(["--database-url", db_url])
        .arg("--data-dir")
        .arg(work.join("data"))
        .env("RUST_LOG", "warn,pharos=info")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    cmd
}

struct Server {
    child: Child,
    pid: u32,
    base: String,
}

impl Server {
    async fn start(
        bin: &Path,
        db_url: &str,
        work: &Path,
        log_path: &Path,
    ) -> anyhow::Result<Server> {
        let file = std::fs::File::create(log_path)?;
        let mut cmd = pharos_command(bin, db_url, work);
        cmd.arg("serve")
            .args(["--listen", "127.0.0.1:0", "--log-format", "text"])
            .stdout(Stdio::null())
            .stderr(file);
        let mut child = cmd.spawn().context("starting pharos serve")?;
        let pid = child.id().context("pharos serve has no pid")?;
        let deadline = Instant::now() + Duration::from_secs(60);
        let addr = loop {
            let text = std::fs::read_to_string(log_path).unwrap_or_default();
            if let Some(rest) = text.split("listening on http://").nth(1) {
                break rest.split_whitespace().next().unwrap_or("").to_string();
            }
            if let Ok(Some(status)) = child.try_wait() {
                bail!("pharos serve exited ({status}); its log: {}", text.trim());
            }
            if Instant::now() > deadline {
                let _ = child.start_kill();
                bail!(
                    "pharos serve did not log its address within 60 s: {}",
                    text.trim()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        Ok(Server {
            child,
            pid,
            base: format!("http://{addr}"),
        })
    }

    async fn wait_ready(&self, client: &reqwest::Client) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Ok(resp) = client.get(format!("{}/readyz", self.base)).send().await {
                if resp.status().is_success() {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                bail!("/readyz did not answer 200 within 120 s");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn stop(&mut self) {
        // SIGTERM for a clean shutdown; killed on drop otherwise.
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status();
        let _ = tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await;
        let _ = self.child.start_kill();
    }
}

fn rss_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")).map(str::to_string))
        .and_then(|v| v.split_whitespace().next().and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

// ---- the browser ----------------------------------------------------------------------------

fn cookie_of(resp: &reqwest::Response, name: &str) -> Option<String> {
    resp.headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix(&format!("{name}=")))
        .and_then(|v| v.split(';').next())
        .map(str::to_string)
}

/// Signs in through the login form; returns the session cookie's value.
async fn sign_in(client: &reqwest::Client, base: &str) -> anyhow::Result<String> {
    let resp = client.get(format!("{base}/admin/login")).send().await?;
    let prelogin = cookie_of(&resp, "pharos_csrf").context("no pre-login cookie")?;
    let page = resp.text().await?;
    let marker = r#"name="csrf" value=""#;
    let start = page
        .find(marker)
        .context("no csrf field on the login form")?
        + marker.len();
    let csrf = page[start..].split('"').next().unwrap_or("").to_string();
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("csrf", &csrf)
        .append_pair("email", EMAIL)
        .append_pair("password", PASSWORD)
        .finish();
    let resp = client
        .post(format!("{base}/admin/login"))
        .header(reqwest::header::COOKIE, format!("pharos_csrf={prelogin}"))
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(body)
        .send()
        .await?;
    if resp.status() != reqwest::StatusCode::SEE_OTHER {
        bail!("signing in answered {}", resp.status());
    }
    cookie_of(&resp, "pharos_session").context("no session cookie after signing in")
}

/// One request; the whole body is read. Returns (milliseconds, bytes).
async fn get(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    session: &str,
) -> anyhow::Result<(f64, usize)> {
    let started = Instant::now();
    let resp = client
        .get(format!("{base}{path}"))
        .header(reqwest::header::COOKIE, format!("pharos_session={session}"))
        .send()
        .await?;
    let status = resp.status();
    let body = resp.bytes().await?;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    if status != reqwest::StatusCode::OK {
        bail!(
            "GET {path} answered {status}: {}",
            String::from_utf8_lossy(&body[..body.len().min(300)])
        );
    }
    Ok((ms, body.len()))
}

struct Sample {
    ms: Vec<f64>,
    bytes: usize,
}

impl Sample {
    /// Nearest rank.
    fn quantile(&self, q: f64) -> f64 {
        if self.ms.is_empty() {
            return 0.0;
        }
        let rank = ((q * self.ms.len() as f64).ceil() as usize).clamp(1, self.ms.len());
        self.ms[rank - 1]
    }
    fn max(&self) -> f64 {
        self.ms.last().copied().unwrap_or(0.0)
    }
}

async fn measure(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    session: &str,
    n: usize,
    concurrency: usize,
) -> anyhow::Result<Sample> {
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (client, base, path, session, next) = (
            client.clone(),
            base.to_string(),
            path.to_string(),
            session.to_string(),
            next.clone(),
        );
        tasks.spawn(async move {
            let mut got = Vec::new();
            while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < n {
                got.push(get(&client, &base, &path, &session).await?);
            }
            Ok::<_, anyhow::Error>(got)
        });
    }
    let mut ms = Vec::with_capacity(n);
    let mut bytes = 0;
    while let Some(done) = tasks.join_next().await {
        for (t, b) in done?? {
            ms.push(t);
            bytes = b;
        }
    }
    ms.sort_by(f64::total_cmp);
    Ok(Sample { ms, bytes })
}

// ---- the server's histogram -------------------------------------------------------------

/// The cumulative buckets of `pharos_http_request_duration_seconds` for one route: (upper
/// bound in seconds, count), `+Inf` as infinity.
async fn server_buckets(client: &reqwest::Client, base: &str, route: &str) -> Vec<(f64, f64)> {
    let text = match client.get(format!("{base}/metrics")).send().await {
        Ok(resp) => resp.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    };
    let needle = format!("route=\"{route}\"");
    let mut buckets: Vec<(f64, f64)> = text
        .lines()
        .filter(|l| {
            l.starts_with("pharos_http_request_duration_seconds_bucket{") && l.contains(&needle)
        })
        .filter_map(|l| {
            let le = l.split("le=\"").nth(1)?.split('"').next()?;
            let bound = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().ok()?
            };
            let count = l.split_whitespace().last()?.parse().ok()?;
            Some((bound, count))
        })
        .collect();
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    buckets
}

struct ServerTime {
    total: u64,
    /// (bound, requests at or under it) over the interval.
    buckets: Vec<(f64, f64)>,
}

impl ServerTime {
    fn between(before: &[(f64, f64)], after: &[(f64, f64)]) -> ServerTime {
        let buckets: Vec<(f64, f64)> = after
            .iter()
            .map(|(bound, count)| {
                let earlier = before
                    .iter()
                    .find(|(b, _)| b == bound)
                    .map_or(0.0, |(_, c)| *c);
                (*bound, count - earlier)
            })
            .collect();
        let total = buckets.last().map_or(0.0, |(_, c)| *c) as u64;
        ServerTime { total, buckets }
    }

    fn share_under(&self, bound: f64) -> f64 {
        if self.total == 0 {
            return 0.0;
        }
        let under = self
            .buckets
            .iter()
            .find(|(b, _)| (*b - bound).abs() < 1e-9)
            .map_or(0.0, |(_, c)| *c);
        100.0 * under / self.total as f64
    }

    fn p99_bound(&self) -> String {
        let want = 0.99 * self.total as f64;
        match self.buckets.iter().find(|(_, c)| *c >= want) {
            _ if self.total == 0 => "–".into(),
            Some((b, _)) if b.is_finite() => format!("{:.1} ms", b * 1000.0),
            _ => "over 10 s".into(),
        }
    }
}
