//! Measures the public page's 90-day uptime bars for many components (`scripts/bench-bars`).
//!
//! ```text
//! cargo run --release --example bench_bars -- [--components 1000] [--runs 15] [--postgres URL]
//! ```
//!
//! It seeds a fresh SQLite database in a temporary folder (and a fresh PostgreSQL database on
//! the server of `--postgres` or `PHAROS_TEST_POSTGRES_URL`, dropped afterwards) with N
//! components, one HTTP monitor driving each, a year of daily roll-ups per monitor (a check a
//! minute, failures on the days of outages) and a year of status history per component: two
//! to three outages a month for most, ten times as many for one component in twenty (a
//! flapping service), each a change to degraded performance, partial or major outage and one
//! back, from ten minutes to six hours long. Components, monitors and the status history rows
//! of their creation go through the store as the API does; the year of history and roll-ups
//! is written with plain SQL (the store has no bulk import), in the store's own format.
//!
//! Then it measures, `--runs` times each, with a few status changes (events) made between
//! two runs as between two snapshot builds of a running page, and prints the median and the
//! largest:
//!
//! - the bars as a snapshot build makes them: the status history of the previous build
//!   brought up to date with the events since (`snapshot::build::status_history`) and every
//!   component's 90 days computed (`snapshot::uptime::bars`);
//! - the same from nothing: the store read of 90 days of history
//!   (`Store::status_changes_window`) and the computation, as the first build after a start
//!   and the hourly re-read do; both give the same bars (checked);
//! - the computation alone;
//! - the whole `snapshot::build::build_from` (components, incidents, maintenances, the bars,
//!   last checked, upstream);
//! - the read of 90 days of day roll-ups of every monitor (`Store::rollups_since`), which
//!   per-monitor uptime figures use; the page's bars do not read them.
//!
//! Progress goes to stderr, the report (Markdown) to stdout.

use anyhow::{bail, Context};
use chrono::{Duration, NaiveDate};
use clap::Parser;
use pharos::clock::{Clock, SystemClock};
use pharos::domain::{ComponentId, ComponentStatus, ManagedBy, Timestamp};
use pharos::events::Actor;
use pharos::monitor::evaluate::Policy;
use pharos::monitor::model::{Check, MonitorComponent, NewMonitor};
use pharos::monitor::rollup::Period;
use pharos::snapshot::{build, uptime, PageInfo};
use pharos::store::sql::{ConnectOptions, SqlStore};
use pharos::store::{NewComponent, Store};
use rand::{Rng, SeedableRng};
use sqlx::{Connection, Executor};
use std::sync::Arc;
use std::time::Instant;

#[derive(Debug, Parser)]
#[command(
    name = "bench_bars",
    about = "Measure the 90-day uptime bars of many components over a year of history"
)]
struct Args {
    /// Components to create, each driven by one monitor.
    #[arg(long, default_value_t = 1000)]
    components: usize,
    /// Days of history and roll-ups before today.
    #[arg(long, default_value_t = 365)]
    days: i64,
    /// Measurements of each kind.
    #[arg(long, default_value_t = 15)]
    runs: usize,
    /// A PostgreSQL server URL: measure there too, in a fresh database dropped afterwards.
    #[arg(long, env = "PHAROS_TEST_POSTGRES_URL", value_name = "URL")]
    postgres: Option<String>,
    /// Measure PostgreSQL only (needs --postgres).
    #[arg(long)]
    postgres_only: bool,
    /// Keep the SQLite database in this folder (which must not hold one yet) instead of a
    /// temporary one, to look at it afterwards.
    #[arg(long, value_name = "DIR")]
    keep: Option<std::path::PathBuf>,
}

/// Median and largest of some durations, in milliseconds.
fn figures(mut ms: Vec<f64>) -> (f64, f64) {
    ms.sort_by(f64::total_cmp);
    let median = if ms.is_empty() {
        0.0
    } else if ms.len() % 2 == 1 {
        ms[ms.len() / 2]
    } else {
        (ms[ms.len() / 2 - 1] + ms[ms.len() / 2]) / 2.0
    };
    (median, ms.last().copied().unwrap_or(0.0))
}

fn elapsed_ms(start: Instant) -> f64 {
    start.elapsed().as_secs_f64() * 1000.0
}

fn page() -> PageInfo {
    PageInfo {
        id: "benchbars000".into(),
        name: "Bench".into(),
        url: "http://127.0.0.1".into(),
        time_zone: "UTC".into(),
        logo_url: None,
        accent_color: None,
        footer_links: Vec::new(),
        footer_text: None,
        vendors_public: false,
        updated_at: None,
    }
}

/// One status change, as `component_status_history` stores it.
struct Change {
    component: ComponentId,
    from: ComponentStatus,
    to: ComponentStatus,
    at: Timestamp,
}

/// A year of outages for one component, oldest first, and the outage minutes per day.
fn history(
    rng: &mut impl Rng,
    component: ComponentId,
    noisy: bool,
    start: Timestamp,
    now: Timestamp,
) -> (Vec<Change>, std::collections::HashMap<NaiveDate, i64>) {
    let mut changes = vec![Change {
        component,
        from: ComponentStatus::Operational,
        to: ComponentStatus::Operational,
        at: start,
    }];
    let mut down_minutes = std::collections::HashMap::new();
    let per_month = if noisy { 25.0 } else { 2.5 };
    // Mean gap between outages, in minutes.
    let mean_gap = 30.0 * 1440.0 / per_month;
    let mut at = start.0 + Duration::minutes(rng.random_range(0..(mean_gap as i64).max(1)));
    while at < now.0 - Duration::hours(1) {
        let status = match rng.random_range(0..10) {
            0..=4 => ComponentStatus::DegradedPerformance,
            5..=7 => ComponentStatus::PartialOutage,
            _ => ComponentStatus::MajorOutage,
        };
        let minutes = rng.random_range(10..=360);
        let end = (at + Duration::minutes(minutes)).min(now.0);
        changes.push(Change {
            component,
            from: ComponentStatus::Operational,
            to: status,
            at: Timestamp::from_datetime(at),
        });
        changes.push(Change {
            component,
            from: status,
            to: ComponentStatus::Operational,
            at: Timestamp::from_datetime(end),
        });
        if status != ComponentStatus::DegradedPerformance {
            *down_minutes.entry(at.date_naive()).or_insert(0) += (end - at).num_minutes();
        }
        let gap = (-mean_gap * (1.0 - rng.random::<f64>()).ln()).max(20.0) as i64;
        at = end + Duration::minutes(gap);
    }
    (changes, down_minutes)
}

async fn seed(store: &SqlStore, url: &str, args: &Args, now: Timestamp) -> anyhow::Result<()> {
    let actor = Actor::cli();
    let started = Instant::now();
    let mut components = Vec::with_capacity(args.components);
    let mut monitors = Vec::with_capacity(args.components);
    let check: Check = serde_json::from_value(serde_json::json!({
        "kind": "http", "url": "http://127.0.0.1:9/health"
    }))?;
    for i in 0..args.components {
        let c = store
            .create_component(
                NewComponent {
                    name: format!("Service {:04}", i + 1),
                    position: Some(i as i64),
                    ..Default::default()
                },
                &actor,
            )
            .await
            .context("creating a component")?;
        let m = store
            .create_monitor(
                NewMonitor {
                    name: format!("Service {:04} health", i + 1),
                    description: None,
                    check: check.clone(),
                    interval_seconds: 60,
                    timeout_ms: 10_000,
                    policy: Policy::default(),
                    components: vec![MonitorComponent {
                        component_id: c.id,
                        down_status: ComponentStatus::MajorOutage,
                    }],
                    tags: vec![],
                    paused: true,
                    auto_incidents: false,
                    push_token_hash: None,
                    managed_by: ManagedBy::Api,
                    config_key: None,
                },
                &actor,
            )
            .await
            .context("creating a monitor")?;
        components.push(c.id);
        monitors.push(m.id);
    }
    eprintln!(
        "bench_bars: {} components and monitors created in {:.1} s",
        args.components,
        started.elapsed().as_secs_f64()
    );

    let started = Instant::now();
    let mut rng = rand::rngs::StdRng::seed_from_u64(42);
    let start = Timestamp::from_datetime(now.0 - Duration::days(args.days));
    let mut conn = sqlx::AnyConnection::connect(url).await?;
    let mut tx = conn.begin().await?;
    let (mut changes_written, mut rollups_written) = (0usize, 0usize);
    for (i, (component, monitor)) in components.iter().zip(&monitors).enumerate() {
        let (changes, down) = history(&mut rng, *component, i % 20 == 7, start, now);
        for chunk in changes.chunks(200) {
            let mut sql = String::from(
                "INSERT INTO component_status_history (id, component_id, from_status, to_status, at) VALUES ",
            );
            for k in 0..chunk.len() {
                let p = k * 5;
                if k > 0 {
                    sql.push(',');
                }
                sql.push_str(&format!(
                    "(${}, ${}, ${}, ${}, ${})",
                    p + 1,
                    p + 2,
                    p + 3,
                    p + 4,
                    p + 5
                ));
            }
            let mut query = sqlx::query(&sql);
            for c in chunk {
                query = query
                    .bind(uuid::Uuid::now_v7().to_string())
                    .bind(c.component.to_string())
                    .bind(c.from.as_str().to_string())
                    .bind(c.to.as_str().to_string())
                    .bind(c.at.to_db());
            }
            query
                .execute(&mut *tx)
                .await
                .context("writing status history")?;
            changes_written += chunk.len();
        }
        // A check a minute; the outage minutes failed; latency around 80 ms.
        let first_day = start.0.date_naive();
        let days: Vec<NaiveDate> = (0..=args.days)
            .map(|d| first_day + Duration::days(d))
            .filter(|d| *d <= now.0.date_naive())
            .collect();
        for chunk in days.chunks(200) {
            let mut sql = String::from(
                "INSERT INTO check_rollups (monitor_id, period, period_start, checks, up_checks, \
                 degraded_checks, down_checks, latency_checks, latency_sum_us, latency_p50_us, \
                 latency_p95_us, latency_max_us) VALUES ",
            );
            for k in 0..chunk.len() {
                let p = k * 12;
                if k > 0 {
                    sql.push(',');
                }
                let params: Vec<String> = (1..=12).map(|j| format!("${}", p + j)).collect();
                sql.push_str(&format!("({})", params.join(", ")));
            }
            let mut query = sqlx::query(&sql);
            for day in chunk {
                let checks = 1440i64;
                let failed = down.get(day).copied().unwrap_or(0).min(checks);
                let degraded = rng.random_range(0..3i64).min(checks - failed);
                let up = checks - failed - degraded;
                let answered = up + degraded;
                let p50 = rng.random_range(60_000..90_000i64);
                query = query
                    .bind(monitor.to_string())
                    .bind("day")
                    .bind(
                        Timestamp::from_datetime(
                            day.and_hms_opt(0, 0, 0).expect("midnight").and_utc(),
                        )
                        .to_db(),
                    )
                    .bind(checks)
                    .bind(up)
                    .bind(degraded)
                    .bind(failed)
                    .bind(answered)
                    .bind(answered * p50)
                    .bind(p50)
                    .bind(p50 * 2)
                    .bind(p50 * 6);
            }
            query.execute(&mut *tx).await.context("writing roll-ups")?;
            rollups_written += chunk.len();
        }
    }
    tx.commit().await?;
    let _ = conn.close().await;
    eprintln!(
        "bench_bars: {changes_written} status changes and {rollups_written} day roll-ups written in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Status changes made between two measured builds, as a running page sees between two
/// snapshot builds: a few components change, each one event.
const CHANGES_PER_RUN: usize = 5;

/// The measurements of one database, as report rows.
async fn measure(store: &SqlStore, args: &Args) -> anyhow::Result<Vec<String>> {
    let tz = chrono_tz::UTC;
    let clock = SystemClock;
    let components: Vec<_> = {
        let mut all = Vec::new();
        let mut cursor = None;
        loop {
            let page = store
                .list_components(pharos::store::PageRequest {
                    limit: pharos::store::PageRequest::MAX_LIMIT,
                    cursor,
                })
                .await?;
            all.extend(page.items);
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break all,
            }
        }
    };
    if components.len() != args.components {
        bail!(
            "expected {} components, found {}",
            args.components,
            components.len()
        );
    }
    let (mut steady, mut full_read, mut compute_only, mut whole, mut rollups) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut rows, mut rollup_rows, mut bad_days) = (0usize, 0usize, 0usize);
    let mut previous = {
        let now = clock.now();
        let seq = store.last_event_seq().await?;
        build::status_history(store, seq, now, tz, None).await?
    };
    let mut previous_state = None;
    let actor = Actor::cli();
    // One unmeasured round first: caches warm, as in a running server.
    for run in 0..=args.runs {
        for k in 0..CHANGES_PER_RUN {
            let component = &components[(run * 31 + k * 197) % components.len()];
            let status = if run % 2 == 0 {
                ComponentStatus::DegradedPerformance
            } else {
                ComponentStatus::Operational
            };
            store
                .update_component(
                    component.id,
                    pharos::store::ComponentPatch {
                        status: Some(status),
                        ..Default::default()
                    },
                    &actor,
                )
                .await?;
        }
        let now = clock.now();

        // What a snapshot build does for the bars, going on from the previous build.
        let t = Instant::now();
        let seq = store.last_event_seq().await?;
        let history = build::status_history(store, seq, now, tz, Some(&previous)).await?;
        let bars = uptime::bars(&components, &history, now, tz);
        let steady_ms = elapsed_ms(t);

        // The same from nothing: the first build after a start, and the hourly re-read.
        let t = Instant::now();
        let seq_again = store.last_event_seq().await?;
        let read = build::status_history(store, seq_again, now, tz, None).await?;
        let from_scratch = uptime::bars(&components, &read, now, tz);
        let full_ms = elapsed_ms(t);
        assert_eq!(bars, from_scratch, "events and the store agree");

        let t = Instant::now();
        let again = uptime::bars(&components, &history, now, tz);
        let compute_ms = elapsed_ms(t);
        assert_eq!(bars, again);
        rows = read.len();
        bad_days = bars
            .values()
            .flat_map(|u| &u.days)
            .filter(|d| d.worst.is_some_and(|s| s != ComponentStatus::Operational))
            .count();

        let t = Instant::now();
        let (state, _) = build::build_from(store, page(), now, Some(&previous)).await?;
        let whole_ms = elapsed_ms(t);
        assert_eq!(state.uptime, bars, "the build computes the same bars");
        previous_state = Some(state);
        previous = history;

        let t = Instant::now();
        let read = store
            .rollups_since(
                Period::Day,
                Timestamp::from_datetime(now.0 - Duration::days(90)),
            )
            .await?;
        let rollup_ms = elapsed_ms(t);
        rollup_rows = read.len();
        if run > 0 {
            steady.push(steady_ms);
            full_read.push(full_ms);
            compute_only.push(compute_ms);
            whole.push(whole_ms);
            rollups.push(rollup_ms);
        }
    }
    drop(previous_state);
    let row = |what: &str, values: Vec<f64>, note: String| {
        let (median, max) = figures(values);
        format!("| {what} | {median:.1} | {max:.1} | {note} |")
    };
    Ok(vec![
        row(
            "bars, as a snapshot build makes them: events since the last build + computation",
            steady,
            format!("{CHANGES_PER_RUN} status changes (events) since the previous build"),
        ),
        row(
            "bars from nothing: store read + computation (first build, then once an hour)",
            full_read,
            format!("{rows} status changes read; {bad_days} component-days not operational"),
        ),
        row(
            "bars computation alone",
            compute_only,
            format!("{} components x {} days", args.components, uptime::DAYS),
        ),
        row(
            "whole snapshot build",
            whole,
            "every query of `snapshot::build`, bars from the previous build (no incidents seeded)"
                .into(),
        ),
        row(
            "roll-ups read (not used by the bars)",
            rollups,
            format!("{rollup_rows} day roll-ups of 90 days (`Store::rollups_since`)"),
        ),
    ])
}

async fn run_on(url: &str, label: &str, args: &Args) -> anyhow::Result<Vec<String>> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = SqlStore::open(&ConnectOptions::new(url), clock.clone())
        .await
        .with_context(|| format!("opening the {label} database"))?;
    let now = clock.now();
    eprintln!("bench_bars: seeding {label}");
    seed(&store, url, args, now).await?;
    eprintln!("bench_bars: measuring {label} ({} runs)", args.runs);
    let rows = measure(&store, args).await?;
    store.close().await;
    Ok(rows
        .into_iter()
        .map(|r| r.replacen("| ", &format!("| {label} | "), 1))
        .collect())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.components == 0 || args.runs == 0 {
        bail!("--components and --runs must be above 0");
    }
    if args.postgres_only && args.postgres.is_none() {
        bail!("--postgres-only needs --postgres URL (or PHAROS_TEST_POSTGRES_URL)");
    }
    let mut rows = Vec::new();
    if !args.postgres_only {
        let dir = tempfile::tempdir()?;
        let folder = match &args.keep {
            Some(keep) => {
                std::fs::create_dir_all(keep)?;
                if keep.join("pharos.db").exists() {
                    bail!("{} already holds a database", keep.display());
                }
                keep.clone()
            }
            None => dir.path().to_path_buf(),
        };
        let url = format!("sqlite://{}/pharos.db", folder.display());
        rows.extend(run_on(&url, "SQLite", &args).await?);
    }
    if let Some(server) = &args.postgres {
        let name = format!("pharos_bench_bars_{:08x}", rand::random::<u32>());
        let mut admin = sqlx::PgConnection::connect(server)
            .await
            .context("connecting to the PostgreSQL server")?;
        admin
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await?;
        let url = with_database(server, &name);
        let result = run_on(&url, "PostgreSQL", &args).await;
        let _ = admin
            .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
            .await;
        rows.extend(result?);
    }
    println!("# Pharos: 90-day uptime bars of many components");
    println!();
    println!(
        "- date: {}; {} components, each driven by one monitor; {} days of status history and day roll-ups; {} measured runs of each after one unmeasured",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        args.components,
        args.days,
        args.runs
    );
    println!("- target (from the issue): 90-day bars for 1,000 components under 20 ms");
    println!();
    println!("| database | measured | median ms | max ms | |");
    println!("|---|---|---:|---:|---|");
    for row in rows {
        println!("{row}");
    }
    Ok(())
}

/// `server` with its database name replaced by `name`.
fn with_database(server: &str, name: &str) -> String {
    let (base, query) = match server.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (server, None),
    };
    let base = match base.rfind('/') {
        Some(i) if base[..i].contains("//") && i > base.find("//").unwrap_or(0) + 1 => &base[..i],
        _ => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}
