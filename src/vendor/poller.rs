//! The poller: fetches every enabled vendor's documents on its interval, parses them with
//! its adapter, diffs them against the state it holds in memory and stores only changes.
//!
//! One task owns the schedule and every vendor's state (components, open and recent
//! records, without update bodies: see [`trim`]); polls run as their own tasks, at most
//! [`CONCURRENCY`] at once and one request at a time per host. A document that answers 304,
//! or the same bytes as last time, is not parsed; every [`FULL_READ_EVERY`] everything is
//! fetched and parsed in full anyway (statuses some formats derive from the clock change
//! without their bytes changing). A poll whose documents are all unchanged (or whose bodies
//! diff to nothing) writes nothing: its time and validators are written for all vendors
//! together once a minute. A poll that finds changes
//! stores them with their events in one transaction ([`Store::record_vendor_poll`]) and
//! only then applies them to memory, so a failed write is found again by the next poll.
//!
//! A source that cannot be fetched or parsed makes the vendor "unreachable since" the first
//! failure (one `vendor.source_unreachable` event), keeps its data, and is polled again
//! after an exponential backoff with jitter (or its `Retry-After`); the first good poll
//! appends `vendor.source_recovered`. Vendors are added, changed and removed through the
//! event log, so API changes take effect at once.

use super::adapter::Document;
use super::diff::{apply, diff};
use super::fetch::{Fetched, Fetcher};
use super::model::VendorSnapshot;
use super::record::{
    PollRecord, SourceState, SourceUpdate, Validators, Vendor, VendorChecked, VendorState,
};
use crate::clock::Clock;
use crate::domain::{Timestamp, VendorId};
use crate::store::{Store, StoreError};
use serde::Serialize;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch, Semaphore};
use tokio::time::Instant;

/// Polls running at once, across all vendors.
pub const CONCURRENCY: usize = 64;
/// How far back the poller remembers ended incidents, and how old an ended incident in a
/// payload may be and still be stored: older history on a vendor's page is not imported.
pub const HORIZON_DAYS: i64 = 90;
/// The longest backoff after failures (unless the source asks for longer with
/// `Retry-After`, up to [`MAX_RETRY_AFTER`]).
const MAX_BACKOFF: Duration = Duration::from_secs(3600);
const MAX_RETRY_AFTER: Duration = Duration::from_secs(6 * 3600);
/// How often poll times and validators of unchanged polls are written.
const TOUCH_EVERY: Duration = Duration::from_secs(60);
const POLL_EVENTS: Duration = Duration::from_secs(2);
/// How often every document of a vendor is fetched and parsed in full.
const FULL_READ_EVERY: chrono::Duration = chrono::Duration::minutes(10);
/// How often vendor history past its retention is deleted.
const PRUNE_EVERY: Duration = Duration::from_secs(6 * 3600);

/// What a poll did, for "poll now" callers (the API, tests).
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PollSummary {
    pub source_state: SourceState,
    /// Why the source is unreachable.
    pub error: Option<String>,
    /// Events the poll appended.
    pub events: usize,
    /// Every document was unchanged (304 Not Modified, or the same bytes as last time), so
    /// nothing was parsed.
    pub not_modified: bool,
    /// When the next scheduled poll comes (grows with failures: the backoff).
    pub next_poll_in_seconds: u64,
}

/// A handle to the running poller.
#[derive(Clone)]
pub struct Vendors {
    commands: mpsc::Sender<Command>,
}

enum Command {
    PollNow {
        id: VendorId,
        reply: oneshot::Sender<Result<PollSummary, String>>,
    },
}

impl Vendors {
    /// Polls a vendor now (out of turn) and waits for the outcome.
    pub async fn poll_now(&self, id: VendorId) -> Result<PollSummary, String> {
        let (reply, rx) = oneshot::channel();
        self.commands
            .send(Command::PollNow { id, reply })
            .await
            .map_err(|_| "the vendor poller is not running".to_string())?;
        rx.await
            .map_err(|_| "the vendor poller stopped before the poll finished".to_string())?
    }
}

pub struct Poller {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    fetcher: Fetcher,
    commands: mpsc::Receiver<Command>,
    retention: chrono::Duration,
}

impl Poller {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        settings: &crate::config::VendorSettings,
    ) -> (Poller, Vendors) {
        let (tx, rx) = mpsc::channel(64);
        (
            Poller {
                store,
                clock,
                fetcher: Fetcher::new(Duration::from_secs(settings.fetch_timeout_seconds.into())),
                commands: rx,
                retention: chrono::Duration::days(settings.retention_days.into()),
            },
            Vendors { commands: tx },
        )
    }

    /// Runs until `stop` turns true. Waits for `db_ready` before loading the vendors.
    pub async fn run(mut self, db_ready: Arc<AtomicBool>, mut stop: watch::Receiver<bool>) {
        let cursor = loop {
            if *stop.borrow() {
                return;
            }
            if db_ready.load(Ordering::SeqCst) {
                match self.store.last_event_seq().await {
                    Ok(seq) => break seq,
                    Err(err) => tracing::warn!(error = %err, "cannot read the event log; retrying"),
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = stop.changed() => return,
            }
        };
        let mut engine = Engine {
            store: self.store.clone(),
            clock: self.clock.clone(),
            fetcher: self.fetcher.clone(),
            entries: HashMap::new(),
            heap: BinaryHeap::new(),
            next_generation: 0,
            permits: Arc::new(Semaphore::new(CONCURRENCY)),
            hosts: Arc::default(),
            cursor,
            loaded: false,
        };
        let (done_tx, mut done_rx) = mpsc::channel::<Outcome>(256);
        let mut commits = self.store.subscribe_commits();
        let mut events = tokio::time::interval(POLL_EVENTS);
        events.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut touch = tokio::time::interval(TOUCH_EVERY);
        touch.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut prune = tokio::time::interval(PRUNE_EVERY);
        prune.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            if !engine.loaded {
                engine.load().await;
            }
            let next_due = engine
                .heap
                .peek()
                .map(|Reverse((due, _, _))| *due)
                .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
            tokio::select! {
                _ = tokio::time::sleep_until(next_due) => engine.run_due(&done_tx),
                Some(done) = done_rx.recv() => engine.finished(done).await,
                Some(command) = self.commands.recv() => engine.command(command, &done_tx),
                _ = async {
                    match commits.as_mut() {
                        Some(rx) => { let _ = rx.changed().await; }
                        None => std::future::pending::<()>().await,
                    }
                } => engine.follow_log().await,
                _ = events.tick() => engine.follow_log().await,
                _ = touch.tick() => engine.touch().await,
                _ = prune.tick() => {
                    let before = Timestamp::from_datetime(self.clock.now().0 - self.retention);
                    match self.store.prune_vendor_history(before).await {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(records = n, "pruned vendor history past its retention"),
                        Err(err) => tracing::debug!(error = %err, "cannot prune vendor history"),
                    }
                }
                _ = stop.changed() => break,
            }
        }
        engine.touch().await;
    }
}

struct Entry {
    vendor: Vendor,
    state: VendorState,
    /// Bumped on every reload; outcomes of an older generation only answer their waiters.
    generation: u64,
    running: bool,
    due: Instant,
    failures: u32,
    /// The last poll time and validators not yet written.
    dirty: bool,
    /// Unknown values already logged.
    logged: HashSet<String>,
    waiters: Vec<oneshot::Sender<Result<PollSummary, String>>>,
    /// A hash of each document's last body that was read and stored: the same bytes again
    /// are not parsed (as with a 304).
    bodies: HashMap<String, u64>,
    /// When every document was last fetched and parsed in full (no validators, no hash
    /// shortcut), which is done every [`FULL_READ_EVERY`]: a format whose statuses depend on
    /// the clock (a maintenance window's edges) changes without its bytes changing.
    full_read_at: Option<Timestamp>,
}

/// The result of one poll task.
struct Outcome {
    id: VendorId,
    generation: u64,
    at: Timestamp,
    result: Result<Polled, Failure>,
}

struct Polled {
    /// Each document's body hash, for the next poll.
    bodies: HashMap<String, u64>,
    /// Whether this poll read everything in full.
    full: bool,
    /// The documents that changed, merged; none when every document answered 304.
    snapshot: Option<VendorSnapshot>,
    validators: BTreeMap<String, Validators>,
}

struct Failure {
    message: String,
    retry_after: Option<Duration>,
}

struct Engine {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    fetcher: Fetcher,
    entries: HashMap<VendorId, Entry>,
    heap: BinaryHeap<Reverse<(Instant, u64, VendorId)>>,
    next_generation: u64,
    permits: Arc<Semaphore>,
    /// One lock per host (and port): one request at a time to each.
    hosts: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
    cursor: i64,
    loaded: bool,
}

/// Where in its interval a vendor's polls fall: derived from its id, so polls spread evenly.
fn phase(id: VendorId, interval: Duration) -> Duration {
    let bits = id.0.as_u128() as u64;
    Duration::from_millis(bits % (interval.as_millis().max(1) as u64))
}

/// The oldest start of an ended record the poller remembers and imports.
pub fn horizon(now: Timestamp) -> Timestamp {
    Timestamp::from_datetime(now.0 - chrono::Duration::days(HORIZON_DAYS))
}

/// Drops what the poller need not remember: ended records that started before `horizon`,
/// and the bodies of stored updates (updates match by id or time and status).
pub fn trim(state: &mut VendorState, horizon: Timestamp) {
    state
        .incidents
        .retain(|r| !r.status.is_closed() || r.started_at >= horizon);
    for record in &mut state.incidents {
        for update in &mut record.updates {
            update.body = String::new();
        }
    }
}

/// Leaves out of a fetched snapshot the ended records older than `horizon`.
pub fn within_horizon(snapshot: &mut VendorSnapshot, horizon: Timestamp) {
    snapshot
        .incidents
        .retain(|i| !i.status.is_closed() || i.started_at >= horizon);
    snapshot.maintenances.retain(|m| {
        m.status != crate::domain::MaintenanceStatus::Completed || m.scheduled_for >= horizon
    });
}

impl Engine {
    async fn load(&mut self) {
        let vendors = match self.store.all_vendors().await {
            Ok(v) => v,
            Err(err) => {
                tracing::warn!(error = %err, "cannot load vendors; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                return;
            }
        };
        let count = vendors.len();
        for vendor in vendors {
            if let Err(err) = self.upsert(vendor).await {
                tracing::warn!(error = %err, "cannot load a vendor's state; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                return;
            }
        }
        self.loaded = true;
        tracing::info!(vendors = count, "vendor poller started");
    }

    /// Adds or replaces a vendor; loads its stored state when it is new to the poller.
    async fn upsert(&mut self, vendor: Vendor) -> Result<(), StoreError> {
        let id = vendor.id;
        self.next_generation += 1;
        let generation = self.next_generation;
        let interval = Duration::from_secs(vendor.poll_interval_seconds);
        let now = Instant::now();
        let old = self.entries.remove(&id);
        let (state, due, logged, waiters, failures, bodies, full_read_at) = match old {
            Some(old) => {
                let moved = old.vendor.adapter != vendor.adapter
                    || old.vendor.page_url != vendor.page_url
                    || old.vendor.source_url != vendor.source_url;
                let due =
                    if moved || old.vendor.poll_interval_seconds != vendor.poll_interval_seconds {
                        now
                    } else {
                        old.due
                    };
                (
                    old.state,
                    due,
                    old.logged,
                    old.waiters,
                    if moved { 0 } else { old.failures },
                    if moved { HashMap::new() } else { old.bodies },
                    if moved { None } else { old.full_read_at },
                )
            }
            None => {
                let mut state = self.store.vendor_state(id).await?;
                trim(&mut state, horizon(self.clock.now()));
                // A vendor never polled is polled at once; others keep their phase.
                let due = if vendor.imported {
                    now + phase(id, interval)
                } else {
                    now
                };
                (
                    state,
                    due,
                    HashSet::new(),
                    Vec::new(),
                    0,
                    HashMap::new(),
                    None,
                )
            }
        };
        let enabled = vendor.enabled;
        self.entries.insert(
            id,
            Entry {
                vendor,
                state,
                generation,
                running: false,
                due,
                failures,
                dirty: false,
                logged,
                waiters,
                bodies,
                full_read_at,
            },
        );
        if enabled {
            self.heap.push(Reverse((due, generation, id)));
        }
        Ok(())
    }

    fn run_due(&mut self, done: &mpsc::Sender<Outcome>) {
        let now = Instant::now();
        while let Some(Reverse((due, generation, id))) = self.heap.peek().copied() {
            if due > now {
                break;
            }
            self.heap.pop();
            let Some(entry) = self.entries.get_mut(&id) else {
                continue;
            };
            if entry.generation != generation || !entry.vendor.enabled || entry.running {
                continue;
            }
            // The next turn is set when the poll finishes (it depends on the outcome).
            self.start(id, done);
        }
    }

    fn command(&mut self, command: Command, done: &mpsc::Sender<Outcome>) {
        match command {
            Command::PollNow { id, reply } => {
                let Some(entry) = self.entries.get_mut(&id) else {
                    let _ = reply.send(Err(format!("vendor `{id}` is not loaded by the poller")));
                    return;
                };
                entry.waiters.push(reply);
                if !entry.running {
                    self.start(id, done);
                }
            }
        }
    }

    fn start(&mut self, id: VendorId, done: &mpsc::Sender<Outcome>) {
        let Some(entry) = self.entries.get_mut(&id) else {
            return;
        };
        entry.running = true;
        let vendor = entry.vendor.clone();
        let generation = entry.generation;
        let now = self.clock.now();
        let full = entry
            .full_read_at
            .is_none_or(|at| now.0 - at.0 >= FULL_READ_EVERY);
        let bodies = if full {
            HashMap::new()
        } else {
            entry.bodies.clone()
        };
        let fetcher = self.fetcher.clone();
        let permits = self.permits.clone();
        let hosts = self.hosts.clone();
        let clock = self.clock.clone();
        let done = done.clone();
        tokio::spawn(async move {
            let _permit = permits.acquire_owned().await;
            let at = clock.now();
            let result = poll(&fetcher, &hosts, &vendor, at, full, bodies).await;
            let _ = done
                .send(Outcome {
                    id: vendor.id,
                    generation,
                    at,
                    result,
                })
                .await;
        });
    }

    async fn finished(&mut self, outcome: Outcome) {
        let Some(entry) = self.entries.get_mut(&outcome.id) else {
            return;
        };
        entry.running = false;
        let summary = if entry.generation != outcome.generation {
            // The vendor changed while it was polled: poll it again with its new settings.
            Err("the vendor changed during the poll; poll again".to_string())
        } else {
            match outcome.result {
                Ok(polled) => Ok(succeeded(&*self.store, entry, polled, outcome.at).await),
                Err(failure) => Ok(failed(&*self.store, entry, failure, outcome.at).await),
            }
        };
        for waiter in entry.waiters.drain(..) {
            let _ = waiter.send(summary.clone());
        }
        if entry.vendor.enabled {
            let generation = entry.generation;
            let due = entry.due;
            self.heap.push(Reverse((due, generation, outcome.id)));
        }
    }

    /// Writes the poll times and validators of unchanged polls.
    async fn touch(&mut self) {
        let checked: Vec<VendorChecked> = self
            .entries
            .values()
            .filter(|e| e.dirty)
            .filter_map(|e| {
                Some(VendorChecked {
                    id: e.vendor.id,
                    at: e.vendor.last_checked_at?,
                    validators: e.vendor.validators.clone(),
                })
            })
            .collect();
        if checked.is_empty() {
            return;
        }
        metrics::counter!("pharos_vendor_writes_total", "kind" => "touch").increment(1);
        match self.store.touch_vendors(&checked).await {
            Ok(()) => {
                for c in &checked {
                    if let Some(e) = self.entries.get_mut(&c.id) {
                        e.dirty = false;
                    }
                }
            }
            Err(err) => tracing::debug!(error = %err, "cannot write vendor poll times"),
        }
    }

    /// Applies the vendor changes committed since the last look at the log.
    async fn follow_log(&mut self) {
        if !self.loaded {
            return;
        }
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
                    .map(VendorId)
                else {
                    continue;
                };
                match event.kind.as_str() {
                    "vendor.created" | "vendor.updated" => match self.store.get_vendor(id).await {
                        Ok(vendor) => {
                            // Keep what the poller knows better than the row it re-read.
                            let vendor = match self.entries.get(&id) {
                                Some(e) => Vendor {
                                    source_state: e.vendor.source_state,
                                    source_error: e.vendor.source_error.clone(),
                                    unreachable_since: e.vendor.unreachable_since,
                                    last_checked_at: e.vendor.last_checked_at,
                                    imported: e.vendor.imported,
                                    validators: if vendor.validators.is_empty() {
                                        vendor.validators
                                    } else {
                                        e.vendor.validators.clone()
                                    },
                                    ..vendor
                                },
                                None => vendor,
                            };
                            if let Err(err) = self.upsert(vendor).await {
                                tracing::warn!(vendor.id = %id, error = %err, "cannot reload vendor");
                                return;
                            }
                        }
                        Err(StoreError::NotFound { .. }) => {
                            self.entries.remove(&id);
                        }
                        Err(err) => {
                            tracing::warn!(vendor.id = %id, error = %err, "cannot reload vendor");
                            return;
                        }
                    },
                    "vendor.deleted" => {
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

/// Fetches and parses every document of `vendor`.
async fn poll(
    fetcher: &Fetcher,
    hosts: &Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    vendor: &Vendor,
    at: Timestamp,
    full: bool,
    known_bodies: HashMap<String, u64>,
) -> Result<Polled, Failure> {
    let bad_url = |what: &str, url: &str, e: url::ParseError| Failure {
        message: format!("the {what} `{url}` is not a valid URL: {e}"),
        retry_after: None,
    };
    let page =
        url::Url::parse(&vendor.page_url).map_err(|e| bad_url("page URL", &vendor.page_url, e))?;
    let source = match &vendor.source_url {
        Some(s) => Some(url::Url::parse(s).map_err(|e| bad_url("source URL", s, e))?),
        None => None,
    };
    let adapter = vendor.adapter.adapter();
    let mut merged: Option<VendorSnapshot> = None;
    let mut validators = BTreeMap::new();
    let mut bodies = HashMap::new();
    for url in adapter.documents(&page, source.as_ref()) {
        let key = format!(
            "{}:{}",
            url.host_str().unwrap_or(""),
            url.port_or_known_default().unwrap_or(0)
        );
        let lock = {
            let mut hosts = hosts.lock().expect("hosts lock");
            hosts.entry(key).or_default().clone()
        };
        let known = if full {
            Validators::default()
        } else {
            vendor
                .validators
                .get(url.as_str())
                .cloned()
                .unwrap_or_default()
        };
        let fetched = {
            let _one_at_a_time = lock.lock().await;
            fetcher.get(&url, &known).await
        };
        match fetched {
            Ok(Fetched::NotModified) => {
                if let Some(hash) = known_bodies.get(url.as_str()) {
                    bodies.insert(url.to_string(), *hash);
                }
                validators.insert(url.to_string(), known);
            }
            Ok(Fetched::Body {
                url: final_url,
                content_type,
                body,
                validators: fresh,
            }) => {
                let hash = body_hash(&body);
                bodies.insert(url.to_string(), hash);
                if known_bodies.get(url.as_str()) == Some(&hash) {
                    // The same bytes as last time: nothing to read (as with a 304).
                    validators.insert(url.to_string(), fresh);
                    continue;
                }
                let doc = Document {
                    url: &final_url,
                    content_type: content_type.as_deref(),
                    body: &body,
                    fetched_at: at,
                };
                let snapshot = adapter.parse(&doc).map_err(|e| Failure {
                    message: format!("cannot read {url}: {e}"),
                    retry_after: None,
                })?;
                validators.insert(url.to_string(), fresh);
                merged = Some(match merged {
                    Some(m) => m.merge(snapshot),
                    None => snapshot,
                });
            }
            Err(e) => {
                return Err(Failure {
                    message: format!("{url}: {e}"),
                    retry_after: e.retry_after(),
                })
            }
        }
    }
    Ok(Polled {
        snapshot: merged,
        validators,
        bodies,
        full,
    })
}

fn body_hash(body: &[u8]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    body.hash(&mut hasher);
    hasher.finish()
}

/// The next turn: the next moment of the vendor's phase (derived from its id) on the wall
/// clock, at least a second away. Aligning to the wall clock every time means no drift, and
/// vendors added together (a bulk import, a config file) spread over the interval after their
/// first poll instead of staying bunched.
fn next_due(entry: &Entry, wall: Timestamp, from: Instant) -> Instant {
    let interval = Duration::from_secs(entry.vendor.poll_interval_seconds.max(1));
    from + until_phase(entry.vendor.id, interval, wall)
}

/// How long from `wall` until the vendor's next phase point.
fn until_phase(id: VendorId, interval: Duration, wall: Timestamp) -> Duration {
    let span = interval.as_millis().max(1) as i64;
    let phase = phase(id, interval).as_millis() as i64;
    let offset = (phase - wall.0.timestamp_millis()).rem_euclid(span);
    let offset = if offset < 1000 { offset + span } else { offset };
    Duration::from_millis(offset as u64)
}

async fn succeeded(
    store: &dyn Store,
    entry: &mut Entry,
    polled: Polled,
    at: Timestamp,
) -> PollSummary {
    let Polled {
        snapshot,
        validators,
        bodies,
        full,
    } = polled;
    entry.failures = 0;
    let not_modified = snapshot.is_none();
    let mut snapshot = snapshot.unwrap_or_default();
    for note in &snapshot.unknown_values {
        if entry.logged.insert(note.clone()) {
            tracing::warn!(vendor = %entry.vendor.slug, value = %note, "vendor source has a value Pharos does not know; mapped to a default");
        }
    }
    within_horizon(&mut snapshot, horizon(at));
    let changes = diff(&entry.vendor, &entry.state, &snapshot, at);
    let recovering = entry.vendor.source_state != SourceState::Ok;
    let mut events = 0;
    if changes.is_empty() && !recovering && entry.vendor.imported {
        metrics::counter!("pharos_vendor_polls_total", "outcome" => "unchanged").increment(1);
        entry.vendor.validators = validators;
        entry.bodies = bodies;
        if full {
            entry.full_read_at = Some(at);
        }
        entry.vendor.last_checked_at = Some(at);
        entry.dirty = true;
    } else {
        let record = PollRecord {
            diff: changes,
            source: SourceUpdate {
                state: SourceState::Ok,
                error: None,
                unreachable_since: None,
            },
            imported: true,
            checked_at: at,
            validators: validators.clone(),
        };
        metrics::counter!("pharos_vendor_polls_total", "outcome" => "changed").increment(1);
        metrics::counter!("pharos_vendor_writes_total", "kind" => "poll").increment(1);
        match store.record_vendor_poll(entry.vendor.id, &record).await {
            Ok(()) => {
                events = record.diff.events.len()
                    + usize::from(entry.vendor.source_state == SourceState::Unreachable);
                apply(&mut entry.state, &record.diff);
                trim(&mut entry.state, horizon(at));
                entry.vendor.validators = validators;
                entry.bodies = bodies;
                if full {
                    entry.full_read_at = Some(at);
                }
                entry.vendor.source_state = SourceState::Ok;
                entry.vendor.source_error = None;
                entry.vendor.unreachable_since = None;
                entry.vendor.imported = true;
                entry.vendor.last_checked_at = Some(at);
                entry.dirty = false;
            }
            Err(err) => {
                // Nothing applied and the old validators kept: the next poll sees the same
                // changes again.
                tracing::warn!(vendor = %entry.vendor.slug, error = %err, "cannot store a vendor poll; will retry");
            }
        }
    }
    let now = Instant::now();
    entry.due = next_due(entry, at, now);
    PollSummary {
        source_state: entry.vendor.source_state,
        error: entry.vendor.source_error.clone(),
        events,
        not_modified,
        next_poll_in_seconds: entry.due.saturating_duration_since(now).as_secs(),
    }
}

async fn failed(
    store: &dyn Store,
    entry: &mut Entry,
    failure: Failure,
    at: Timestamp,
) -> PollSummary {
    entry.failures = entry.failures.saturating_add(1);
    metrics::counter!("pharos_vendor_polls_total", "outcome" => "failed").increment(1);
    let since = entry.vendor.unreachable_since.unwrap_or(at);
    let mut events = 0;
    let changed = entry.vendor.source_state != SourceState::Unreachable
        || entry.vendor.source_error.as_deref() != Some(failure.message.as_str());
    if changed {
        let record = PollRecord {
            diff: Default::default(),
            source: SourceUpdate {
                state: SourceState::Unreachable,
                error: Some(failure.message.clone()),
                unreachable_since: Some(since),
            },
            imported: entry.vendor.imported,
            checked_at: at,
            validators: entry.vendor.validators.clone(),
        };
        metrics::counter!("pharos_vendor_writes_total", "kind" => "poll").increment(1);
        match store.record_vendor_poll(entry.vendor.id, &record).await {
            Ok(()) => {
                events = usize::from(entry.vendor.source_state != SourceState::Unreachable);
                entry.dirty = false;
            }
            Err(err) => {
                tracing::warn!(vendor = %entry.vendor.slug, error = %err, "cannot store a vendor's source state");
                entry.dirty = true;
            }
        }
    } else {
        entry.dirty = true;
    }
    if entry.vendor.source_state != SourceState::Unreachable {
        tracing::warn!(vendor = %entry.vendor.slug, error = %failure.message, "vendor source unreachable");
    }
    entry.vendor.source_state = SourceState::Unreachable;
    entry.vendor.source_error = Some(failure.message.clone());
    entry.vendor.unreachable_since = Some(since);
    entry.vendor.last_checked_at = Some(at);
    let interval = Duration::from_secs(entry.vendor.poll_interval_seconds.max(1));
    let delay = backoff(
        interval,
        entry.failures,
        failure.retry_after,
        rand::random::<f64>(),
    );
    entry.due = Instant::now() + delay;
    PollSummary {
        source_state: SourceState::Unreachable,
        error: Some(failure.message),
        events,
        not_modified: false,
        next_poll_in_seconds: delay.as_secs(),
    }
}

/// The wait before polling again after `failures` failures in a row: the interval doubled
/// per failure beyond the first, up to an hour, plus up to 20 % jitter (`jitter` in 0..1);
/// never less than the source's `Retry-After` (up to six hours).
pub fn backoff(
    interval: Duration,
    failures: u32,
    retry_after: Option<Duration>,
    jitter: f64,
) -> Duration {
    let exponent = failures.saturating_sub(1).min(16);
    let base = interval
        .saturating_mul(1u32 << exponent)
        .min(MAX_BACKOFF.max(interval));
    let jittered = base.mul_f64(1.0 + 0.2 * jitter.clamp(0.0, 1.0));
    match retry_after {
        Some(wait) => jittered.max(wait.min(MAX_RETRY_AFTER)),
        None => jittered,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turns_fall_on_the_vendor_phase_of_the_wall_clock() {
        let interval = Duration::from_secs(60);
        let at = |s: &str| Timestamp::parse(s).unwrap();
        let id = VendorId::new();
        let phase_ms = phase(id, interval).as_millis() as i64;
        for wall in [
            "2026-07-24T19:00:00Z",
            "2026-07-24T19:00:31.500Z",
            "2026-07-24T19:00:59.999Z",
        ] {
            let wait = until_phase(id, interval, at(wall));
            assert!(
                wait >= Duration::from_secs(1) && wait <= interval + Duration::from_secs(1),
                "{wait:?}"
            );
            let lands = at(wall).0.timestamp_millis() + wait.as_millis() as i64;
            assert_eq!(lands.rem_euclid(60_000), phase_ms, "{wall}");
        }
        // Two vendors polled at the same moment get their own turns.
        let other = VendorId::new();
        let now = at("2026-07-24T19:00:00Z");
        if phase(id, interval) != phase(other, interval) {
            assert_ne!(
                until_phase(id, interval, now),
                until_phase(other, interval, now)
            );
        }
    }

    #[test]
    fn backoff_doubles_caps_and_honours_retry_after() {
        let i = Duration::from_secs(60);
        assert_eq!(backoff(i, 1, None, 0.0), Duration::from_secs(60));
        assert_eq!(backoff(i, 2, None, 0.0), Duration::from_secs(120));
        assert_eq!(backoff(i, 4, None, 0.0), Duration::from_secs(480));
        assert_eq!(backoff(i, 30, None, 0.0), Duration::from_secs(3600));
        assert_eq!(backoff(i, 2, None, 1.0), Duration::from_secs(144));
        assert_eq!(
            backoff(i, 1, Some(Duration::from_secs(900)), 0.0),
            Duration::from_secs(900)
        );
        assert_eq!(
            backoff(i, 1, Some(Duration::from_secs(86_400)), 0.0),
            Duration::from_secs(6 * 3600)
        );
    }
}
