//! The scheduler: runs every monitor's check on its own interval, evaluates the results and
//! hands them to the store.
//!
//! One task owns the schedule (a heap of due times) and every monitor's [`Memory`]; checks
//! run as their own tasks, bounded by their timeout and by [`CheckLimits`]: a number of
//! checks at once overall, and a smaller number against any one target host, so a hanging
//! target delays nothing else and a thousand monitors of one site never open a thousand
//! connections to it at once. Due times advance by whole intervals from a phase derived from
//! the monitor's id (spread evenly, no thundering herd after a restart, no cumulative drift);
//! a check still running when its next turn comes skips that turn instead of overlapping.
//!
//! Results and verdicts go to one writer task in order: results are written in batches
//! (every second or 500 results), transitions one by one through
//! [`Store::apply_transition`]. While the database is away the writer keeps them in memory,
//! then on disk (`spill`), and retries; stopping with some unwritten keeps them on disk for
//! the next start. Changes to monitors reach the scheduler through the event log, so an
//! edit, pause or deletion takes effect at once.

use super::evaluate::{observe, Memory, Observation};
use super::model::{Check, CheckRecord, Monitor};
use super::probe::{self, ErrorClass, ProbeReport, Timings};
use super::spill::{Queue, WriteJob};
use crate::clock::Clock;
use crate::domain::{MonitorId, Timestamp};
use crate::store::{RecordedCheck, Store, StoreError};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch, Semaphore};
use tokio::time::Instant;

/// Checks running at once, across all monitors.
pub const DEFAULT_CONCURRENCY: usize = 2048;
/// Checks running at once against one target host.
pub const DEFAULT_PER_HOST: usize = 32;

/// How many checks may run at once (`[monitoring] max_concurrent_checks` and
/// `max_checks_per_host`).
///
/// A check first waits for a slot of its host, then for one of the global slots, so checks
/// queued behind a slow host never hold global slots that other hosts' checks need. While it
/// waits, its monitor's later turns are skipped (a check never overlaps itself), and the wait
/// shows in the scheduling lag, which runs to the check's real start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckLimits {
    /// Across all monitors.
    pub max_concurrent: usize,
    /// Against any one target host (by name as written, whatever its port); push monitors
    /// and DNS checks through the system's resolvers have no host and only the global limit.
    pub per_host: usize,
}

impl Default for CheckLimits {
    fn default() -> Self {
        CheckLimits {
            max_concurrent: DEFAULT_CONCURRENCY,
            per_host: DEFAULT_PER_HOST,
        }
    }
}

/// Results kept in memory while the database is away; beyond this they go to disk (see
/// `spill`).
const MAX_BUFFERED: usize = 100_000;
/// Results per write.
const BATCH: usize = 500;
const FLUSH_EVERY: Duration = Duration::from_secs(1);
/// How often the event log is read when no commit wakes the scheduler.
const POLL_EVENTS: Duration = Duration::from_secs(2);

/// A handle to the running scheduler, for the push endpoint.
#[derive(Clone)]
pub struct Monitors {
    commands: mpsc::Sender<Command>,
}

enum Command {
    Beat { id: MonitorId, report: ProbeReport },
}

impl Monitors {
    /// Records a heartbeat of a push monitor.
    pub async fn beat(&self, id: MonitorId, report: ProbeReport) {
        let _ = self.commands.send(Command::Beat { id, report }).await;
    }
}

struct Entry {
    monitor: Arc<Monitor>,
    /// The slots of the monitor's target host, shared with the other monitors of that host.
    host_slots: Option<Arc<Semaphore>>,
    memory: Memory,
    /// Bumped on every reload; results and timers of an older generation are dropped.
    generation: u64,
    running: bool,
    due: Instant,
}

struct Finished {
    id: MonitorId,
    generation: u64,
    started_at: Timestamp,
    report: ProbeReport,
}

pub struct Scheduler {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    commands: mpsc::Receiver<Command>,
    limits: CheckLimits,
    /// Where results the database could not take are kept (the data folder); none keeps them
    /// in memory only.
    spill_dir: Option<std::path::PathBuf>,
}

impl Scheduler {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        spill_dir: Option<std::path::PathBuf>,
    ) -> (Scheduler, Monitors) {
        let (tx, rx) = mpsc::channel(1024);
        (
            Scheduler {
                store,
                clock,
                commands: rx,
                limits: CheckLimits::default(),
                spill_dir,
            },
            Monitors { commands: tx },
        )
    }

    /// Replaces the default limits on checks running at once (each at least 1).
    pub fn with_limits(mut self, limits: CheckLimits) -> Scheduler {
        self.limits = CheckLimits {
            max_concurrent: limits.max_concurrent.max(1),
            per_host: limits.per_host.max(1),
        };
        self
    }

    /// Runs until `stop` turns true. Waits for `db_ready` before loading the monitors.
    pub async fn run(mut self, db_ready: Arc<AtomicBool>, mut stop: watch::Receiver<bool>) {
        // Wait for the database, then load every monitor and the log position.
        let (cursor, monitors) = loop {
            if *stop.borrow() {
                return;
            }
            if db_ready.load(Ordering::SeqCst) {
                match self.load().await {
                    Ok(loaded) => break loaded,
                    Err(err) => tracing::warn!(error = %err, "cannot load monitors; retrying"),
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = stop.changed() => return,
            }
        };
        let (write_tx, write_rx) = mpsc::channel(4096);
        let writer = tokio::spawn(writer(
            self.store.clone(),
            write_rx,
            stop.clone(),
            self.spill_dir.clone(),
        ));
        let mut engine = Engine {
            store: self.store.clone(),
            clock: self.clock.clone(),
            entries: HashMap::new(),
            heap: BinaryHeap::new(),
            next_generation: 0,
            permits: Arc::new(Semaphore::new(self.limits.max_concurrent)),
            per_host: self.limits.per_host,
            hosts: HashMap::new(),
            write: write_tx,
            cursor,
            lag_max_us: Arc::default(),
        };
        let count = monitors.len();
        for m in monitors {
            engine.upsert(m);
        }
        tracing::info!(monitors = count, "monitor scheduler started");
        let (done_tx, mut done_rx) = mpsc::channel::<Finished>(1024);
        let mut commits = self.store.subscribe_commits();
        let mut poll = tokio::time::interval(POLL_EVENTS);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let next_due = engine
                .heap
                .peek()
                .map(|Reverse((due, _, _))| *due)
                .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
            tokio::select! {
                _ = tokio::time::sleep_until(next_due) => engine.run_due(&done_tx),
                Some(done) = done_rx.recv() => engine.finished(done).await,
                Some(command) = self.commands.recv() => engine.command(command).await,
                _ = async {
                    match commits.as_mut() {
                        Some(rx) => { let _ = rx.changed().await; }
                        None => std::future::pending::<()>().await,
                    }
                } => engine.follow_log().await,
                _ = poll.tick() => engine.follow_log().await,
                _ = stop.changed() => break,
            }
        }
        drop(engine);
        let _ = writer.await;
    }

    async fn load(&self) -> Result<(i64, Vec<Monitor>), StoreError> {
        // The position first: a change committed while loading is then read again, never
        // missed.
        let cursor = self.store.last_event_seq().await?;
        let monitors = self.store.all_monitors().await?;
        Ok((cursor, monitors))
    }
}

struct Engine {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    entries: HashMap<MonitorId, Entry>,
    heap: BinaryHeap<Reverse<(Instant, u64, MonitorId)>>,
    next_generation: u64,
    permits: Arc<Semaphore>,
    /// Slots per target host ([`CheckLimits::per_host`]), held by the entries of that host's
    /// monitors: a host's semaphore goes when its last monitor does.
    per_host: usize,
    hosts: HashMap<String, std::sync::Weak<Semaphore>>,
    write: mpsc::Sender<WriteJob>,
    cursor: i64,
    /// The largest scheduling lag since start, in seconds: the histogram's quantiles cover
    /// only the last minute, and a rare stall would not show in them.
    /// The largest scheduling lag seen, in microseconds.
    lag_max_us: Arc<std::sync::atomic::AtomicU64>,
}

/// Where in its interval a monitor's checks fall: derived from its id, so phases spread
/// evenly over the interval and stay put across restarts.
fn phase(id: MonitorId, interval: Duration) -> Duration {
    let bits = id.0.as_u128() as u64;
    let span = interval.as_millis().max(1) as u64;
    Duration::from_millis(bits % span)
}

impl Engine {
    /// Adds or replaces a monitor, keeping what still applies of the old entry.
    fn upsert(&mut self, monitor: Monitor) {
        let id = monitor.id;
        // Before the old entry goes, so a host keeps its one semaphore across an edit.
        let host_slots = self.host_slots(&monitor.check);
        self.next_generation += 1;
        let generation = self.next_generation;
        let now = Instant::now();
        let interval = monitor.interval();
        let (memory, due) = match self.entries.remove(&id) {
            // The same check with the same thresholds: keep the results in memory (the stored
            // copy may lag behind by a batch) and the schedule.
            Some(old)
                if old.monitor.check == monitor.check
                    && old.monitor.policy == monitor.policy
                    && old.monitor.paused == monitor.paused =>
            {
                let due = if old.monitor.interval_seconds == monitor.interval_seconds {
                    old.due
                } else {
                    now + phase(id, interval)
                };
                (old.memory, due)
            }
            _ => {
                let due = match &monitor.check {
                    // A push monitor gets a whole interval and its grace before a miss counts.
                    Check::Push(p) => now + interval + Duration::from_secs(p.grace_seconds),
                    _ => now + phase(id, interval),
                };
                (monitor.memory.clone(), due)
            }
        };
        let paused = monitor.paused;
        self.entries.insert(
            id,
            Entry {
                monitor: Arc::new(monitor),
                host_slots,
                memory,
                generation,
                running: false,
                due,
            },
        );
        if !paused {
            self.heap.push(Reverse((due, generation, id)));
        }
    }

    /// The slots of the check's target host, shared by every monitor of that host.
    fn host_slots(&mut self, check: &Check) -> Option<Arc<Semaphore>> {
        let host = target_host(check)?;
        if let Some(slots) = self.hosts.get(&host).and_then(std::sync::Weak::upgrade) {
            return Some(slots);
        }
        // Forget the hosts no monitor checks any more before the map grows.
        if self.hosts.len() >= 2 * self.entries.len().max(64) {
            self.hosts.retain(|_, slots| slots.strong_count() > 0);
        }
        let slots = Arc::new(Semaphore::new(self.per_host));
        self.hosts.insert(host, Arc::downgrade(&slots));
        Some(slots)
    }

    /// Starts every check that is due.
    fn run_due(&mut self, done: &mpsc::Sender<Finished>) {
        let now = Instant::now();
        while let Some(Reverse((due, generation, id))) = self.heap.peek().copied() {
            if due > now {
                break;
            }
            self.heap.pop();
            let Some(entry) = self.entries.get_mut(&id) else {
                continue;
            };
            if entry.generation != generation || entry.monitor.paused {
                continue;
            }
            let interval = entry.monitor.interval();
            // The next turn, by whole intervals from this one: no drift; turns already
            // missed (a stalled process) are skipped, not run in a burst.
            let mut next = due + interval;
            while next <= now {
                next += interval;
                metrics::counter!("pharos_monitor_checks_skipped_total").increment(1);
            }
            entry.due = next;
            self.heap.push(Reverse((next, generation, id)));
            if let Check::Push(p) = &entry.monitor.check {
                record_lag(&self.lag_max_us, due);
                // Due without a beat: a miss.
                let report = ProbeReport::down(
                    ErrorClass::Heartbeat,
                    format!(
                        "no heartbeat within {} s (interval {} s + grace {} s)",
                        entry.monitor.interval_seconds + p.grace_seconds,
                        entry.monitor.interval_seconds,
                        p.grace_seconds
                    ),
                    Timings::default(),
                );
                let _ = done.try_send(Finished {
                    id,
                    generation,
                    started_at: self.clock.now(),
                    report,
                });
                continue;
            }
            if entry.running {
                // The previous check is still running: never overlap it.
                metrics::counter!("pharos_monitor_checks_skipped_total").increment(1);
                continue;
            }
            entry.running = true;
            let monitor = entry.monitor.clone();
            let host_slots = entry.host_slots.clone();
            let permits = self.permits.clone();
            let done = done.clone();
            let clock = self.clock.clone();
            let lag_max = self.lag_max_us.clone();
            tokio::spawn(async move {
                // The host's slot first: a check queued behind its busy host holds no global
                // slot meanwhile. The semaphores are never closed, so acquiring cannot fail.
                let _host_permit = match host_slots {
                    Some(slots) => match slots.clone().try_acquire_owned() {
                        Ok(permit) => Some(permit),
                        Err(_) => {
                            metrics::counter!("pharos_monitor_host_limit_waits_total").increment(1);
                            slots.acquire_owned().await.ok()
                        }
                    },
                    None => None,
                };
                let _permit = permits.acquire_owned().await;
                // Lag runs to the check's real start, after any wait for a free slot.
                record_lag(&lag_max, due);
                let started_at = clock.now();
                let report = run_check(&monitor, started_at).await;
                let _ = done
                    .send(Finished {
                        id: monitor.id,
                        generation,
                        started_at,
                        report,
                    })
                    .await;
            });
        }
    }

    async fn finished(&mut self, done: Finished) {
        let Some(entry) = self.entries.get_mut(&done.id) else {
            return;
        };
        if entry.generation != done.generation {
            return;
        }
        entry.running = false;
        self.record(done.id, done.started_at, done.report).await;
    }

    /// Evaluates one result and queues it, and any verdict, for the writer.
    async fn record(&mut self, id: MonitorId, at: Timestamp, report: ProbeReport) {
        let Some(entry) = self.entries.get_mut(&id) else {
            return;
        };
        metrics::counter!("pharos_monitor_checks_total", "outcome" => report.outcome.as_str())
            .increment(1);
        let transition = observe(
            &entry.monitor.policy,
            &mut entry.memory,
            Observation::from_report(at, &report),
        );
        let memory = entry.memory.clone();
        let record = CheckRecord::new(id, at, report);
        let _ = self
            .write
            .send(WriteJob::result(RecordedCheck {
                record,
                memory: memory.clone(),
            }))
            .await;
        if let Some(transition) = transition {
            let _ = self
                .write
                .send(WriteJob::Transition {
                    id,
                    transition: Box::new(transition),
                    memory,
                })
                .await;
        }
    }

    async fn command(&mut self, command: Command) {
        match command {
            Command::Beat { id, report } => {
                let Some(entry) = self.entries.get_mut(&id) else {
                    return;
                };
                let Check::Push(p) = &entry.monitor.check else {
                    return;
                };
                // A beat restarts the wait for the next one.
                self.next_generation += 1;
                entry.generation = self.next_generation;
                entry.due = Instant::now()
                    + entry.monitor.interval()
                    + Duration::from_secs(p.grace_seconds);
                if !entry.monitor.paused {
                    self.heap.push(Reverse((entry.due, entry.generation, id)));
                }
                let at = self.clock.now();
                self.record(id, at, report).await;
            }
        }
    }

    /// Applies the monitor changes committed since the last look at the log.
    async fn follow_log(&mut self) {
        loop {
            let events = match self.store.list_events(self.cursor, 500).await {
                Ok(events) => events,
                Err(err) => {
                    tracing::debug!(error = %err, "cannot read the event log");
                    return;
                }
            };
            let Some(last) = events.last().map(|e| e.seq) else {
                return;
            };
            for event in &events {
                let Some(id) = event
                    .subject_id
                    .as_deref()
                    .and_then(|s| s.parse::<uuid::Uuid>().ok())
                    .map(MonitorId)
                else {
                    continue;
                };
                match event.kind.as_str() {
                    "monitor.created" | "monitor.updated" => match self.store.get_monitor(id).await
                    {
                        Ok(m) => self.upsert(m),
                        Err(StoreError::NotFound { .. }) => {
                            self.entries.remove(&id);
                        }
                        Err(err) => {
                            tracing::warn!(monitor.id = %id, error = %err, "cannot reload monitor");
                            return;
                        }
                    },
                    "monitor.deleted" => {
                        self.entries.remove(&id);
                    }
                    _ => {}
                }
            }
            self.cursor = last;
            if events.len() < 500 {
                return;
            }
        }
    }
}

/// The host a check connects to, lower case, for the per-host limit: the URL's host for
/// HTTP, the host for TCP, TLS and ICMP, the resolver for DNS when one is chosen. None for
/// push monitors (nothing is probed) and DNS through the system's resolvers.
pub fn target_host(check: &Check) -> Option<String> {
    let host = match check {
        Check::Http(c) => url::Url::parse(&c.url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))?,
        Check::Tcp(c) => c.host.clone(),
        Check::Tls(c) => c.host.clone(),
        Check::Icmp(c) => c.host.clone(),
        Check::Dns(c) => c.resolver.clone()?,
        Check::Push(_) => return None,
    };
    let host = host
        .trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.')
        .to_ascii_lowercase();
    (!host.is_empty()).then_some(host)
}

/// Records how late a check starts against its due time (in the histogram and the maximum).
fn record_lag(max_us: &std::sync::atomic::AtomicU64, due: Instant) {
    let lag = Instant::now().saturating_duration_since(due);
    metrics::histogram!("pharos_monitor_schedule_lag_seconds").record(lag.as_secs_f64());
    let micros = u64::try_from(lag.as_micros()).unwrap_or(u64::MAX);
    let before = max_us.fetch_max(micros, Ordering::Relaxed);
    if micros > before {
        metrics::gauge!("pharos_monitor_schedule_lag_max_seconds").set(lag.as_secs_f64());
    }
}

/// Runs one check of a monitor, bounded by its timeout whatever the probe does.
pub async fn run_check(monitor: &Monitor, now: Timestamp) -> ProbeReport {
    let timeout = monitor.timeout();
    let check = async {
        match &monitor.check {
            Check::Http(c) => probe::http::probe(c, timeout).await,
            Check::Tcp(c) => probe::tcp::probe(c, timeout).await,
            Check::Dns(c) => probe::dns::probe(c, timeout).await,
            Check::Tls(c) => probe::tls::probe(c, timeout, now.0).await,
            Check::Icmp(c) => probe::icmp::probe(c, timeout).await,
            Check::Push(_) => ProbeReport::down(
                ErrorClass::Config,
                "push monitors are not probed; they wait for their job to call",
                Timings::default(),
            ),
        }
    };
    // A little beyond the timeout: probes report which phase timed out themselves, and this
    // bound only catches one that does not.
    match tokio::time::timeout(timeout + Duration::from_millis(500), check).await {
        Ok(report) => report,
        Err(_) => ProbeReport::timed_out(timeout),
    }
}

/// Writes results in batches and verdicts in order; keeps them while the database is away
/// (in memory, then on disk), and on disk when it stops with some unwritten.
async fn writer(
    store: Arc<dyn Store>,
    mut jobs: mpsc::Receiver<WriteJob>,
    stop: watch::Receiver<bool>,
    spill_dir: Option<std::path::PathBuf>,
) {
    let mut pending = Queue::open(spill_dir, MAX_BUFFERED);
    let mut flush = tokio::time::interval(FLUSH_EVERY);
    flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut backoff = Duration::ZERO;
    let mut closed = false;
    let mut dropped = 0;
    loop {
        tokio::select! {
            job = jobs.recv(), if !closed => match job {
                Some(job) => {
                    pending.push(job);
                    if pending.in_memory() < BATCH && backoff.is_zero() {
                        continue;
                    }
                }
                None => closed = true,
            },
            _ = flush.tick() => {}
        }
        if pending.dropped > dropped {
            metrics::counter!("pharos_monitor_results_dropped_total")
                .increment(pending.dropped - dropped);
            dropped = pending.dropped;
        }
        metrics::gauge!("pharos_monitor_results_buffered").set(pending.len() as f64);
        if !backoff.is_zero() && !closed {
            // After a failure, wait out the backoff (still taking jobs in).
            let until = Instant::now() + backoff;
            while Instant::now() < until {
                tokio::select! {
                    Some(job) = jobs.recv() => pending.push(job),
                    _ = tokio::time::sleep_until(until) => break,
                }
            }
        }
        match drain(&*store, &mut pending).await {
            Ok(()) => backoff = Duration::ZERO,
            Err(err) => {
                backoff = (backoff * 2).clamp(Duration::from_millis(500), Duration::from_secs(10));
                tracing::warn!(error = %err, buffered = pending.len(), "cannot write check results; keeping them and retrying");
                if *stop.borrow() {
                    // Take in what the scheduler still sent, then keep it all for the next start.
                    while let Ok(job) = jobs.try_recv() {
                        pending.push(job);
                    }
                    match pending.persist() {
                        Ok(0) => {}
                        Ok(kept) => tracing::warn!(kept, "stopping with check results unwritten; kept on disk for the next start"),
                        Err(err) => tracing::error!(error = %err, lost = pending.len(), "stopping with check results unwritten, and cannot keep them on disk"),
                    }
                    return;
                }
            }
        }
        if closed && pending.is_empty() {
            return;
        }
    }
}

/// Writes what is pending, oldest first: results in batches up to the next verdict, then the
/// verdict. Stops at the first failure, leaving the rest pending.
async fn drain(store: &dyn Store, pending: &mut Queue) -> Result<(), StoreError> {
    while !pending.is_empty() {
        let results: Vec<RecordedCheck> = pending
            .front(BATCH)
            .map_while(|job| match job {
                WriteJob::Result { record, memory } => Some(RecordedCheck {
                    record: record.clone(),
                    memory: memory.clone(),
                }),
                WriteJob::Transition { .. } => None,
            })
            .collect();
        if !results.is_empty() {
            store.record_checks(&results).await?;
            pending.consume(results.len());
            continue;
        }
        if let Some(WriteJob::Transition {
            id,
            transition,
            memory,
        }) = pending.front(1).next()
        {
            match store.apply_transition(*id, transition, memory).await {
                Ok(_) | Err(StoreError::NotFound { .. }) => {}
                Err(err) => return Err(err),
            }
        }
        pending.consume(1);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(json: serde_json::Value) -> Check {
        serde_json::from_value(json).expect("check settings")
    }

    #[test]
    fn checks_of_one_host_share_its_limit_whatever_the_port_or_spelling() {
        let cases = [
            (
                serde_json::json!({"kind": "http", "url": "https://API.example.com:8443/health"}),
                Some("api.example.com"),
            ),
            (
                serde_json::json!({"kind": "http", "url": "http://[::1]:8080/"}),
                Some("::1"),
            ),
            (
                serde_json::json!({"kind": "tcp", "host": "Db.Example.com.", "port": 5432}),
                Some("db.example.com"),
            ),
            (
                serde_json::json!({"kind": "tls", "host": "api.example.com"}),
                Some("api.example.com"),
            ),
            (
                serde_json::json!({"kind": "icmp", "host": "[fe80::1]"}),
                Some("fe80::1"),
            ),
            (
                serde_json::json!({"kind": "dns", "name": "example.com", "resolver": "10.0.0.53"}),
                Some("10.0.0.53"),
            ),
            (
                serde_json::json!({"kind": "dns", "name": "example.com"}),
                None,
            ),
            (serde_json::json!({"kind": "push"}), None),
            (
                serde_json::json!({"kind": "http", "url": "not a url"}),
                None,
            ),
        ];
        for (settings, want) in cases {
            assert_eq!(
                target_host(&check(settings.clone())).as_deref(),
                want,
                "{settings}"
            );
        }
    }
}
