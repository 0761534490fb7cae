//! The notification engine: the planner that follows the event log into the outbox, the
//! delivery worker that empties it, and the watch on both.
//!
//! - **Planner** (one task): on every commit and every 2 s, `Store::plan_notifications` until
//!   the cursor reaches the end of the log. Planning and advancing the cursor are one
//!   transaction, so nothing is announced that was not stored and a crash replays planning.
//! - **Worker** (one task, many sends): claims due deliveries in batches for a lease, resolves
//!   each one's recipient, event and message, and spawns one bounded send per delivery.
//!   Sends are grouped by channel (subscribers by kind): each group has its own concurrency,
//!   rate limit and queue cap, and a group whose queue is full gets its extra deliveries
//!   deferred, so a receiver that hangs or fails delays nobody else. Outcomes go to the
//!   recorder, which writes them in batches; a delivery's in-flight permit is held until its
//!   outcome is stored, so a database outage stops sending instead of piling up outcomes.
//! - **Watch** (one task): every few seconds, the outbox's figures into metrics and the
//!   [`alarm`](super::alarm) rule, whose changes go out through the out-of-band target.
//!
//! [`Notifier::start`] runs all of them on a current-thread runtime of their own, on a thread
//! at a lowered priority, so that a large fan-out takes the CPU the page's requests leave over;
//! only the reading of the links key, which the page's forms need, stays on the caller's.
//!
//! Failures: transient ones are retried with exponential backoff and jitter (a receiver's
//! `Retry-After` is honoured) until `max_attempts`, then dead-lettered; permanent ones (a
//! rejection, a message that cannot be rendered) are dead-lettered at once.

use super::alarm::{AlarmChange, AlarmState, Thresholds, Watch};
use super::channel::{Envelope, Reach, Receipt, SendError, Sender, Target};
use super::links::{LinkPurpose, Links, KEY_NAME};
use super::message::{self, LivePage, Message, PageContext, RenderError, Severity};
use super::record::Lane;
use super::record::{
    Channel, ClaimedDelivery, OutboxStats, Outcome, Purpose, RecipientKind, SubscriberKind,
    SubscriberOrigin, SubscriberTarget,
};
use crate::clock::Clock;
use crate::config::NotifySettings;
use crate::domain::model::Event;
use crate::domain::{ChannelId, SubscriberId, Timestamp};
use crate::store::{Store, StoreError};
use rand::Rng;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch, Notify, OwnedSemaphorePermit, Semaphore};

/// Outcomes waiting to be stored, at most (the lanes' budgets bound them too).
const MAX_IN_FLIGHT: usize = 1024;
/// Deliveries claimed per round, at most.
const CLAIM_BATCH: u32 = 500;
/// Events planned per transaction, at most.
const PLAN_BATCH: u32 = 200;
/// Outcomes stored per transaction, at most.
const RECORD_BATCH: usize = 500;
/// How long the recorder waits for more outcomes when it has fewer than [`RECORD_GATHER`],
/// so that a steady stream of sends is stored in a few transactions rather than one for
/// every few outcomes. Short beside a lane's budget: it delays freeing a few permits only.
const RECORD_LINGER: Duration = Duration::from_millis(5);
const RECORD_GATHER: usize = 32;
/// How long a group may queue beyond its concurrency before its extra deliveries are deferred.
const QUEUE_PER_SLOT: usize = 4;
/// When a busy group's delivery is tried again.
const DEFER: Duration = Duration::from_secs(5);
/// Subscribers share these sends at once, per kind.
const SUBSCRIBER_EMAIL_CONCURRENCY: usize = 16;
const SUBSCRIBER_WEBHOOK_CONCURRENCY: usize = 64;
/// How often the planner and the worker look without being woken, and the watch runs.
const PLAN_EVERY: Duration = Duration::from_secs(2);
const IDLE_CLAIM_EVERY: Duration = Duration::from_secs(1);
const WATCH_EVERY: Duration = Duration::from_secs(5);
const ESCALATE_EVERY: Duration = Duration::from_secs(1);
/// Channels are re-read this often (and whenever a delivery names an unknown one).
const CHANNELS_FRESH_FOR: Duration = Duration::from_secs(5);

/// Wakes the lanes' workers (each keeps a wake-up until it next waits).
#[derive(Default)]
pub struct Wake([Notify; 3]);

impl Wake {
    fn all(&self) {
        for lane in &self.0 {
            lane.notify_one();
        }
    }

    fn lane(&self, lane: Lane) -> &Notify {
        &self.0[match lane {
            Lane::Channel => 0,
            Lane::Email => 1,
            Lane::Webhook => 2,
        }]
    }
}

/// Each lane's budget: deliveries claimed and not yet recorded, at most. A subscriber lane
/// keeps a few times its concurrency claimed, so that what it holds is sent well within the
/// lease (email: 8 rounds of sends, claimed 32 at a time, so that the claims and the
/// recorder's batches cost the database little per message); the channel lane holds more,
/// spread over many channels.
fn budget(lane: Lane) -> usize {
    match lane {
        Lane::Channel => 512,
        Lane::Email => SUBSCRIBER_EMAIL_CONCURRENCY * 8,
        Lane::Webhook => SUBSCRIBER_WEBHOOK_CONCURRENCY * 4,
    }
}

/// What the rest of the process (the API) asks of the engine.
#[derive(Clone)]
pub struct Notifications {
    sender: Arc<Sender>,
    /// The page, its name read when a message is made.
    page: LivePage,
    alarm: Arc<Mutex<AlarmState>>,
    /// Set once the links key is read from the database.
    links: Arc<Mutex<Option<Links>>>,
    wake: Arc<Wake>,
    alarm_target: bool,
    allow_private_targets: bool,
}

impl Notifications {
    /// Whether anonymous subscribers may point webhooks at private addresses.
    pub fn allow_private_targets(&self) -> bool {
        self.allow_private_targets
    }

    /// Whether an out-of-band target for the pipeline's alarm is configured.
    pub fn alarm_target_configured(&self) -> bool {
        self.alarm_target
    }

    /// Sends the test message to a target now, outside the outbox.
    pub async fn send_test(&self, target: &Target, now: Timestamp) -> Result<Receipt, SendError> {
        let message = message::test_message(&self.page.now(), now);
        let envelope = Envelope {
            idempotency_key: format!("test-{}", uuid::Uuid::now_v7()),
            ..Envelope::default()
        };
        self.sender.send(target, &message, &envelope).await
    }

    /// The pipeline alarm's state.
    pub fn alarm(&self) -> AlarmState {
        self.alarm.lock().expect("alarm lock").clone()
    }

    /// The signed-link maker, once the engine has read its key.
    pub fn links(&self) -> Option<Links> {
        self.links.lock().expect("links lock").clone()
    }

    /// Asks the worker to look at the outbox now (after a retry through the API).
    pub fn wake(&self) {
        self.wake.all();
    }
}

/// The engine, to be run once per process.
pub struct Notifier {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    settings: NotifySettings,
    handle: Notifications,
    /// Release every lease at start: true when this process is the only one (SQLite).
    sole_process: bool,
}

impl Notifier {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        settings: &NotifySettings,
        page: impl Into<LivePage>,
        sole_process: bool,
    ) -> Result<(Notifier, Notifications), String> {
        let page = page.into();
        let sender = Arc::new(Sender::new(settings)?.with_page(page.clone()));
        let handle = Notifications {
            sender,
            page,
            alarm: Arc::default(),
            links: Arc::default(),
            wake: Arc::default(),
            alarm_target: settings.alarm.target.is_some(),
            allow_private_targets: settings.allow_private_targets,
        };
        Ok((
            Notifier {
                store,
                clock,
                settings: settings.clone(),
                handle: handle.clone(),
                sole_process,
            },
            handle,
        ))
    }

    /// Starts [`Notifier::run`] on a runtime and thread of its own, whose scheduling priority
    /// is lowered (nice [`DELIVERY_NICE`] on Linux), so that a fan-out to many recipients takes
    /// the CPU the page's requests leave over instead of delaying them: the page is served by
    /// the main runtime's workers, which win a contended core. The handle ends when the engine
    /// has stopped (after `stop`) and its runtime is shut down. Should the thread not start,
    /// the engine runs on the caller's runtime instead.
    pub fn start(
        self,
        db_ready: Arc<AtomicBool>,
        stop: watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        if self.settings.enabled {
            tokio::spawn(publish_links(
                self.store.clone(),
                self.handle.clone(),
                db_ready.clone(),
                stop.clone(),
            ));
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .thread_name("pharos-notify")
            .on_thread_start(yield_to_pages)
            .build();
        let runtime = match runtime {
            Ok(runtime) => runtime,
            Err(err) => {
                tracing::warn!(error = %err, "cannot start the delivery runtime; delivering beside the page");
                return tokio::spawn(self.run(db_ready, stop));
            }
        };
        let (hand_over, receive) = std::sync::mpsc::channel::<Notifier>();
        let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
        let (ready, stopping) = (db_ready.clone(), stop.clone());
        let spawned = std::thread::Builder::new()
            .name("pharos-notify".into())
            .spawn(move || {
                let Ok(notifier) = receive.recv() else {
                    return;
                };
                yield_to_pages();
                runtime.block_on(notifier.run(ready, stopping));
                // Sends still waiting for an answer after the recorder gave up are dropped:
                // their deliveries are claimed again when the lease ends.
                runtime.shutdown_timeout(Duration::from_secs(1));
                let _ = done_tx.send(());
            });
        match spawned {
            Ok(_) => {
                hand_over
                    .send(self)
                    .unwrap_or_else(|_| unreachable!("the delivery thread waits for its engine"));
                tokio::spawn(async move {
                    let _ = done_rx.await;
                })
            }
            Err(err) => {
                tracing::warn!(error = %err, "cannot start the delivery thread; delivering beside the page");
                tokio::spawn(self.run(db_ready, stop))
            }
        }
    }

    /// Runs until `stop` turns true. Waits for `db_ready` first.
    pub async fn run(self, db_ready: Arc<AtomicBool>, mut stop: watch::Receiver<bool>) {
        if !self.settings.enabled {
            return;
        }
        // The database first: the links key and, for a sole process, the leases of a
        // previous life.
        let links = loop {
            if *stop.borrow() {
                return;
            }
            if db_ready.load(Ordering::SeqCst) {
                match self.prepare().await {
                    Ok(links) => break links,
                    Err(err) => {
                        tracing::warn!(error = %err, "notifications cannot start yet; retrying")
                    }
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = stop.changed() => return,
            }
        };
        *self.handle.links.lock().expect("links lock") = Some(links.clone());

        let failures = Arc::new(Mutex::new(Watch::new(Thresholds {
            after: self.settings.alarm.after,
            failures: self.settings.alarm.failures,
            window: self.settings.alarm.window,
        })));
        let (outcomes_tx, outcomes_rx) = mpsc::channel::<Recorded>(MAX_IN_FLIGHT);
        let escalator = tokio::spawn(escalate_loop(
            self.store.clone(),
            self.handle.wake.clone(),
            stop.clone(),
        ));
        let planner = tokio::spawn(plan_loop(
            self.store.clone(),
            self.handle.wake.clone(),
            stop.clone(),
        ));
        let recorder = tokio::spawn(record_loop(
            self.store.clone(),
            outcomes_rx,
            self.handle.wake.clone(),
        ));
        let watcher = tokio::spawn(watch_loop(
            self.store.clone(),
            self.clock.clone(),
            self.handle.clone(),
            self.settings.alarm.target.clone(),
            failures.clone(),
            stop.clone(),
        ));
        let lanes: Vec<_> = [Lane::Channel, Lane::Email, Lane::Webhook]
            .into_iter()
            .map(|lane| {
                let mut worker = Worker {
                    lane,
                    store: self.store.clone(),
                    clock: self.clock.clone(),
                    settings: self.settings.clone(),
                    sender: self.handle.sender.clone(),
                    page: self.handle.page.clone(),
                    links: links.clone(),
                    in_flight: Arc::new(Semaphore::new(budget(lane))),
                    groups: HashMap::new(),
                    channels: HashMap::new(),
                    channels_read: None,
                    events: HashMap::new(),
                    messages: HashMap::new(),
                    failures: failures.clone(),
                    outcomes: outcomes_tx.clone(),
                };
                let wake = self.handle.wake.clone();
                let mut stop = stop.clone();
                tokio::spawn(async move { worker.run(&wake, &mut stop).await })
            })
            .collect();
        drop(outcomes_tx);
        for lane in lanes {
            let _ = lane.await;
        }
        let _ = planner.await;
        let _ = escalator.await;
        let _ = watcher.await;
        // The recorder ends when every send has handed in its outcome (or been dropped).
        let _ = tokio::time::timeout(
            self.settings.send_timeout + Duration::from_secs(5),
            recorder,
        )
        .await;
    }

    async fn prepare(&self) -> Result<Links, StoreError> {
        if self.sole_process {
            let released = self.store.release_deliveries().await?;
            if released > 0 {
                tracing::info!(
                    deliveries = released,
                    "deliveries claimed before a restart are due again"
                );
            }
        }
        let key = self.store.secret(KEY_NAME).await?;
        Ok(Links::new(key, &self.handle.page.url))
    }
}

/// Reads the links key for the page's side (the subscribe form, confirmation, unsubscribe and
/// acknowledgement links) on the caller's runtime, so that the page does not wait for the
/// delivery thread, which yields the CPU to everything else.
async fn publish_links(
    store: Arc<dyn Store>,
    handle: Notifications,
    db_ready: Arc<AtomicBool>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        if *stop.borrow() || handle.links().is_some() {
            return;
        }
        if db_ready.load(Ordering::SeqCst) {
            if let Ok(key) = store.secret(KEY_NAME).await {
                handle
                    .links
                    .lock()
                    .expect("links lock")
                    .get_or_insert_with(|| Links::new(key, &handle.page.url));
                return;
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stop.changed() => return,
        }
    }
}

/// The niceness of the delivery threads: page requests get about ten times their share of a
/// contended core (CFS weights 1024 against 110).
const DELIVERY_NICE: libc::c_int = 10;

/// Lowers the calling thread's scheduling priority to [`DELIVERY_NICE`]. Threads it starts
/// (the runtime's blocking pool, a SQLite connection's worker opened from it) inherit it.
fn yield_to_pages() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: gettid has no preconditions; setpriority only reads its arguments, and on
        // Linux PRIO_PROCESS with a thread id applies to that thread alone. Raising one's own
        // niceness needs no privilege; a failure leaves the priority as it was.
        let done = unsafe {
            let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
            libc::setpriority(libc::PRIO_PROCESS, tid, DELIVERY_NICE)
        };
        if done != 0 {
            tracing::debug!(error = %std::io::Error::last_os_error(), "cannot lower the delivery thread's priority");
        }
    }
}

/// Plans until the log is read, on every commit and every [`PLAN_EVERY`].
async fn plan_loop(store: Arc<dyn Store>, wake: Arc<Wake>, mut stop: watch::Receiver<bool>) {
    let mut commits = store.subscribe_commits();
    let mut tick = tokio::time::interval(PLAN_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing = false;
    loop {
        loop {
            match store.plan_notifications(PLAN_BATCH).await {
                Ok(report) => {
                    if failing {
                        tracing::info!("notification planning resumed");
                        failing = false;
                    }
                    if report.deliveries > 0 {
                        metrics::counter!("pharos_notify_planned_total")
                            .increment(report.deliveries);
                        wake.all();
                    }
                    if report.events == 0 {
                        break;
                    }
                }
                Err(err) => {
                    if !failing {
                        tracing::warn!(error = %err, "cannot plan notifications; retrying");
                        failing = true;
                    }
                    break;
                }
            }
        }
        tokio::select! {
            _ = tick.tick() => {}
            _ = async {
                match commits.as_mut() {
                    Some(rx) => { let _ = rx.changed().await; }
                    None => std::future::pending::<()>().await,
                }
            } => {}
            _ = stop.changed() => return,
        }
    }
}

/// Every [`ESCALATE_EVERY`], moves escalations whose step waited long enough.
async fn escalate_loop(store: Arc<dyn Store>, wake: Arc<Wake>, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(ESCALATE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing = false;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        match store.advance_escalations().await {
            Ok(moved) => {
                failing = false;
                if moved > 0 {
                    wake.all();
                }
            }
            Err(err) => {
                if !failing {
                    tracing::warn!(error = %err, "cannot advance escalations; retrying");
                    failing = true;
                }
            }
        }
    }
}

/// An outcome on its way to the database, with the permit that keeps it counted in flight.
struct Recorded {
    key: String,
    outcome: Outcome,
    _permit: OwnedSemaphorePermit,
}

/// Stores outcomes in batches; on failure keeps them and tries again.
async fn record_loop(store: Arc<dyn Store>, mut rx: mpsc::Receiver<Recorded>, wake: Arc<Wake>) {
    let mut batch: Vec<Recorded> = Vec::new();
    let mut failing = false;
    loop {
        if batch.is_empty() {
            match rx.recv().await {
                Some(r) => batch.push(r),
                None => return,
            }
        }
        let linger = tokio::time::Instant::now() + RECORD_LINGER;
        while batch.len() < RECORD_BATCH {
            match rx.try_recv() {
                Ok(r) => batch.push(r),
                Err(_) if batch.len() < RECORD_GATHER => {
                    match tokio::time::timeout_at(linger, rx.recv()).await {
                        Ok(Some(r)) => batch.push(r),
                        Ok(None) | Err(_) => break,
                    }
                }
                Err(_) => break,
            }
        }
        let outcomes: Vec<(String, Outcome)> = batch
            .iter()
            .map(|r| (r.key.clone(), r.outcome.clone()))
            .collect();
        match store.record_deliveries(&outcomes).await {
            Ok(()) => {
                if failing {
                    tracing::info!("delivery outcomes are being stored again");
                    failing = false;
                }
                let retried = batch
                    .iter()
                    .any(|r| matches!(r.outcome, Outcome::Retry { .. } | Outcome::Defer { .. }));
                batch.clear();
                if retried {
                    wake.all();
                }
            }
            Err(err) => {
                if !failing {
                    tracing::warn!(error = %err, outcomes = batch.len(), "cannot store delivery outcomes; keeping them and retrying");
                    failing = true;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// A channel's (or a subscriber kind's) share of the sending.
#[derive(Clone)]
struct Group {
    slots: Arc<Semaphore>,
    /// Deliveries dispatched to this group and not yet finished.
    queued: Arc<AtomicUsize>,
    cap: usize,
    rate: Option<Arc<tokio::sync::Mutex<Bucket>>>,
    /// The target's kind, for logs.
    kind: &'static str,
    tally: Arc<Tally>,
}

/// The metrics of a group's deliveries, registered once. Their labels: `kind`, the target's
/// kind (or the recipient's, `channel` or `subscriber`, for an outcome decided without a
/// send), and `channel`: an operator's channel by name, with its `channel_id` (channels are
/// few and made by operators), or `subscribers` for every subscriber of a kind, since
/// recipients are unbounded and must not become labels.
struct Tally {
    send_seconds: metrics::Histogram,
    sent: metrics::Counter,
    failed: metrics::Counter,
    dead_lettered: metrics::Counter,
    cancelled: metrics::Counter,
    deferred: metrics::Counter,
}

impl Tally {
    fn new(kind: &'static str, channel: Option<(ChannelId, &str)>) -> Tally {
        let mut labels = vec![metrics::Label::new("kind", kind)];
        match channel {
            Some((id, name)) => {
                labels.push(metrics::Label::new("channel", name.to_string()));
                labels.push(metrics::Label::new("channel_id", id.to_string()));
            }
            None => labels.push(metrics::Label::new("channel", "subscribers")),
        }
        let counter = |outcome: &'static str| {
            let mut labels = labels.clone();
            labels.push(metrics::Label::new("outcome", outcome));
            metrics::counter!("pharos_notify_deliveries_total", labels)
        };
        Tally {
            send_seconds: metrics::histogram!("pharos_notify_send_seconds", labels.iter()),
            sent: counter("sent"),
            failed: counter("failed"),
            dead_lettered: counter("dead_lettered"),
            cancelled: counter("cancelled"),
            deferred: counter("deferred"),
        }
    }

    /// The metrics of an outcome decided without a send.
    fn unsent(delivery: &ClaimedDelivery, channels: &HashMap<ChannelId, Channel>) -> Tally {
        match delivery.recipient_kind {
            RecipientKind::Subscriber => Tally::new("subscriber", None),
            RecipientKind::Channel => {
                let id = delivery.recipient_id.parse().ok().map(ChannelId);
                match id.and_then(|id| channels.get(&id)) {
                    Some(c) => Tally::new(c.target.kind(), Some((c.id, &c.name))),
                    None => Tally::new(
                        "channel",
                        Some((id.unwrap_or(ChannelId(uuid::Uuid::nil())), "(deleted)")),
                    ),
                }
            }
        }
    }

    fn count(&self, outcome: &Outcome) {
        match outcome {
            Outcome::Sent { .. } => &self.sent,
            Outcome::Retry { .. } => &self.failed,
            Outcome::Dead { .. } => &self.dead_lettered,
            Outcome::Cancelled { .. } => &self.cancelled,
            Outcome::Defer { .. } => &self.deferred,
        }
        .increment(1);
    }
}

/// How fast a group may send: a steady rate and the burst allowed above it.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Rate {
    per_second: f64,
    burst: f64,
}

impl Rate {
    /// An operator's channel limit: `per_minute` sends a minute, bursts up to a sixth of that
    /// (chat services count per minute and tolerate short bursts).
    fn per_minute(per_minute: u32) -> Rate {
        Rate {
            per_second: f64::from(per_minute.max(1)) / 60.0,
            burst: (f64::from(per_minute) / 6.0).max(1.0),
        }
    }

    /// A fan-out limit: `per_second` sends a second, bursts of a twentieth of a second's worth,
    /// so the sends are spread evenly; `None` for 0, no limit.
    fn per_second(per_second: u32) -> Option<Rate> {
        (per_second > 0).then(|| Rate {
            per_second: f64::from(per_second),
            burst: (f64::from(per_second) / 20.0).max(1.0),
        })
    }
}

/// A token bucket over a [`Rate`].
struct Bucket {
    per_second: f64,
    burst: f64,
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn new(rate: Rate) -> Bucket {
        Bucket {
            per_second: rate.per_second,
            burst: rate.burst,
            tokens: rate.burst,
            at: Instant::now(),
        }
    }

    /// How long to wait before the next send; takes its token.
    fn take(&mut self) -> Duration {
        let now = Instant::now();
        self.tokens = (self.tokens + now.duration_since(self.at).as_secs_f64() * self.per_second)
            .min(self.burst);
        self.at = now;
        self.tokens -= 1.0;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / self.per_second)
        }
    }
}

/// One delivery ready to go.
struct Job {
    claimed: ClaimedDelivery,
    target: Target,
    message: Arc<Message>,
    envelope: Envelope,
    group: Group,
}

struct Worker {
    lane: Lane,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    settings: NotifySettings,
    sender: Arc<Sender>,
    page: LivePage,
    links: Links,
    in_flight: Arc<Semaphore>,
    groups: HashMap<String, Group>,
    channels: HashMap<ChannelId, Channel>,
    channels_read: Option<Instant>,
    /// Events and their messages by sequence number, for the fan-out of one event.
    events: HashMap<i64, Arc<Event>>,
    messages: HashMap<i64, Result<Arc<Message>, RenderError>>,
    failures: Arc<Mutex<Watch>>,
    outcomes: mpsc::Sender<Recorded>,
}

impl Worker {
    async fn run(&mut self, wake: &Wake, stop: &mut watch::Receiver<bool>) {
        let mut failing = false;
        // Claims wait until a quarter of the budget is free, so they come in batches.
        let batch = (budget(self.lane) / 4).max(1) as u32;
        loop {
            if *stop.borrow() {
                return;
            }
            if self.in_flight.available_permits() < batch as usize {
                tokio::select! {
                    permits = self.in_flight.clone().acquire_many_owned(batch) => drop(permits),
                    _ = stop.changed() => return,
                }
                continue;
            }
            let room = self.in_flight.available_permits();
            let limit = (room as u32).min(CLAIM_BATCH);
            let claimed = match self
                .store
                .claim_deliveries(self.lane, self.settings.lease, limit)
                .await
            {
                Ok(claimed) => {
                    if failing {
                        tracing::info!("notification delivery resumed");
                        failing = false;
                    }
                    claimed
                }
                Err(err) => {
                    if !failing {
                        tracing::warn!(error = %err, "cannot claim deliveries; retrying");
                        failing = true;
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(2)) => {}
                        _ = stop.changed() => return,
                    }
                    continue;
                }
            };
            if claimed.is_empty() {
                tokio::select! {
                    _ = wake.lane(self.lane).notified() => {}
                    _ = tokio::time::sleep(IDLE_CLAIM_EVERY) => {}
                    _ = stop.changed() => return,
                }
                continue;
            }
            self.dispatch(claimed).await;
        }
    }

    /// Resolves and starts a claimed batch. Every claimed delivery ends in a send or an
    /// outcome.
    async fn dispatch(&mut self, claimed: Vec<ClaimedDelivery>) {
        self.refresh_channels(&claimed).await;
        let subscribers = self.subscribers(&claimed).await;
        self.load_events(&claimed).await;
        if self.events.len() > 4096 {
            self.events.clear();
            self.messages.clear();
            self.load_events(&claimed).await;
        }
        let now = self.clock.now();
        for delivery in claimed {
            let permit = match self.in_flight.clone().acquire_owned().await {
                Ok(p) => p,
                Err(_) => return,
            };
            match self.prepare(delivery.clone(), &subscribers, now) {
                Ok(job) => self.start(job, permit),
                Err(outcome) => {
                    Tally::unsent(&delivery, &self.channels).count(&outcome);
                    let _ = self
                        .outcomes
                        .send(Recorded {
                            key: delivery.key,
                            outcome,
                            _permit: permit,
                        })
                        .await;
                }
            }
        }
    }

    async fn refresh_channels(&mut self, claimed: &[ClaimedDelivery]) {
        let unknown = claimed.iter().any(|d| {
            d.recipient_kind == RecipientKind::Channel
                && d.recipient_id
                    .parse::<uuid::Uuid>()
                    .is_ok_and(|id| !self.channels.contains_key(&ChannelId(id)))
        });
        let stale = self
            .channels_read
            .is_none_or(|at| at.elapsed() > CHANNELS_FRESH_FOR);
        if !(unknown || stale) {
            return;
        }
        if let Ok(channels) = self.store.list_channels().await {
            self.channels = channels.into_iter().map(|c| (c.id, c)).collect();
            self.channels_read = Some(Instant::now());
        }
    }

    async fn subscribers(
        &self,
        claimed: &[ClaimedDelivery],
    ) -> Option<HashMap<SubscriberId, SubscriberTarget>> {
        let ids: Vec<SubscriberId> = claimed
            .iter()
            .filter(|d| d.recipient_kind == RecipientKind::Subscriber)
            .filter_map(|d| d.recipient_id.parse().ok())
            .collect();
        if ids.is_empty() {
            return Some(HashMap::new());
        }
        match self.store.subscriber_targets(&ids).await {
            Ok(found) => Some(found.into_iter().map(|s| (s.id, s)).collect()),
            Err(err) => {
                tracing::warn!(error = %err, "cannot read subscribers; their deliveries wait");
                None
            }
        }
    }

    async fn load_events(&mut self, claimed: &[ClaimedDelivery]) {
        let mut missing: Vec<i64> = claimed
            .iter()
            .map(|d| d.event_seq)
            .filter(|seq| !self.events.contains_key(seq))
            .collect();
        missing.sort_unstable();
        missing.dedup();
        if missing.is_empty() {
            return;
        }
        match self.store.events_by_seq(&missing).await {
            Ok(events) => {
                for event in events {
                    self.events.insert(event.seq, Arc::new(event));
                }
            }
            Err(err) => tracing::warn!(error = %err, "cannot read events; their deliveries wait"),
        }
    }

    /// The job for a claimed delivery, or the outcome that ends it without a send.
    fn prepare(
        &mut self,
        claimed: ClaimedDelivery,
        subscribers: &Option<HashMap<SubscriberId, SubscriberTarget>>,
        now: Timestamp,
    ) -> Result<Job, Outcome> {
        let later = || Outcome::Defer {
            due_at: after(now, DEFER),
        };
        let mut reach = Reach::Anywhere;
        let (target, group_key, group_spec, unsubscribe) = match claimed.recipient_kind {
            RecipientKind::Channel => {
                let Some(channel) = claimed
                    .recipient_id
                    .parse()
                    .ok()
                    .and_then(|id| self.channels.get(&ChannelId(id)))
                else {
                    return Err(Outcome::Cancelled {
                        reason: "the channel was deleted".into(),
                    });
                };
                if !channel.enabled {
                    return Err(Outcome::Cancelled {
                        reason: "the channel is disabled".into(),
                    });
                }
                (
                    channel.target.clone(),
                    // A changed concurrency, rate or name makes a new group.
                    format!(
                        "{}:{}:{}:{}",
                        channel.id, channel.concurrency, channel.rate_per_minute, channel.name
                    ),
                    (
                        channel.concurrency as usize,
                        channel.concurrency.max(1) as usize * (QUEUE_PER_SLOT + 1),
                        Some(Rate::per_minute(channel.rate_per_minute)),
                        Some((channel.id, channel.name.clone())),
                    ),
                    None,
                )
            }
            RecipientKind::Subscriber => {
                let Some(subscribers) = subscribers else {
                    return Err(later());
                };
                let Some(s) = claimed
                    .recipient_id
                    .parse()
                    .ok()
                    .and_then(|id| subscribers.get(&id))
                else {
                    return Err(Outcome::Cancelled {
                        reason: "the subscriber unsubscribed".into(),
                    });
                };
                if claimed.purpose == Purpose::Notify && !s.confirmed {
                    return Err(Outcome::Cancelled {
                        reason: "the subscriber has not confirmed".into(),
                    });
                }
                let target = match s.kind {
                    SubscriberKind::Email => Target::Email {
                        to: vec![s.address.clone()],
                    },
                    SubscriberKind::Webhook => Target::Webhook {
                        url: s.address.clone(),
                        secret: s.secret.clone(),
                        headers: Default::default(),
                    },
                };
                if s.kind == SubscriberKind::Webhook
                    && s.origin == SubscriberOrigin::Page
                    && !self.settings.allow_private_targets
                {
                    reach = Reach::PublicOnly;
                }
                let (concurrency, per_second) = match s.kind {
                    SubscriberKind::Email => (
                        SUBSCRIBER_EMAIL_CONCURRENCY,
                        self.settings.subscriber_emails_per_second,
                    ),
                    SubscriberKind::Webhook => (
                        SUBSCRIBER_WEBHOOK_CONCURRENCY,
                        self.settings.subscriber_webhooks_per_second,
                    ),
                };
                (
                    target,
                    format!("subscribers:{}", s.kind.as_str()),
                    // The lane's budget bounds its one group: nothing to defer.
                    (
                        concurrency,
                        budget(self.lane),
                        Rate::per_second(per_second),
                        None,
                    ),
                    Some(self.links.url(LinkPurpose::Unsubscribe, &s.id.to_string())),
                )
            }
        };
        let message = match claimed.purpose {
            Purpose::Confirm => Arc::new(message::confirmation(
                &self.page.now(),
                &self.links.url(LinkPurpose::Confirm, &claimed.recipient_id),
                now,
            )),
            Purpose::Notify | Purpose::Escalate => {
                let Some(event) = self.events.get(&claimed.event_seq).cloned() else {
                    return Err(later());
                };
                let page = &self.page;
                // Rendered once per event and shared by every recipient's send, with the
                // page's name as it is when the event is first rendered (a rename shows from
                // the next event on, without a restart).
                let rendered = self
                    .messages
                    .entry(claimed.event_seq)
                    .or_insert_with(|| message::render(&event, &page.now()).map(Arc::new));
                match rendered {
                    Ok(m) => m.clone(),
                    Err(err) => {
                        return Err(Outcome::Dead {
                            error: err.to_string(),
                            status: None,
                        })
                    }
                }
            }
        };
        let group = self
            .groups
            .entry(group_key)
            .or_insert_with(|| {
                let (concurrency, cap, rate, channel) = group_spec;
                let tally = Tally::new(
                    target.kind(),
                    channel.as_ref().map(|(id, name)| (*id, name.as_str())),
                );
                Group {
                    slots: Arc::new(Semaphore::new(concurrency.max(1))),
                    queued: Arc::default(),
                    cap,
                    rate: rate.map(|r| Arc::new(tokio::sync::Mutex::new(Bucket::new(r)))),
                    kind: target.kind(),
                    tally: Arc::new(tally),
                }
            })
            .clone();
        if group.queued.load(Ordering::SeqCst) >= group.cap {
            return Err(later());
        }
        let ack_url = claimed
            .escalation_id
            .map(|id| self.links.url(LinkPurpose::Acknowledge, &id.to_string()));
        Ok(Job {
            envelope: Envelope {
                idempotency_key: claimed.key.clone(),
                unsubscribe_url: unsubscribe,
                ack_url,
                reach,
            },
            claimed,
            target,
            message,
            group,
        })
    }

    fn start(&self, job: Job, permit: OwnedSemaphorePermit) {
        job.group.queued.fetch_add(1, Ordering::SeqCst);
        let sender = self.sender.clone();
        let outcomes = self.outcomes.clone();
        let settings = self.settings.clone();
        let clock = self.clock.clone();
        let failures = self.failures.clone();
        tokio::spawn(async move {
            let Job {
                claimed,
                target,
                message,
                envelope,
                group,
            } = job;
            let result = {
                let _slot = group.slots.acquire().await;
                if let Some(rate) = &group.rate {
                    let wait = rate.lock().await.take();
                    tokio::time::sleep(wait).await;
                }
                let started = Instant::now();
                let sent = tokio::time::timeout(
                    settings.send_timeout + Duration::from_secs(1),
                    sender.send(&target, &message, &envelope),
                )
                .await
                .unwrap_or_else(|_| {
                    Err(SendError {
                        permanent: false,
                        status: None,
                        message: format!("no answer within {} s", settings.send_timeout.as_secs()),
                        retry_after: None,
                    })
                });
                group
                    .tally
                    .send_seconds
                    .record(started.elapsed().as_secs_f64());
                sent
            };
            group.queued.fetch_sub(1, Ordering::SeqCst);
            let now = clock.now();
            let outcome = decide(result, claimed.attempts, &settings, now);
            if !matches!(outcome, Outcome::Sent { .. }) {
                failures.lock().expect("watch lock").failed(now);
                tracing::debug!(delivery = %claimed.key, channel = group.kind, outcome = ?outcome, "delivery attempt failed");
            }
            group.tally.count(&outcome);
            let _ = outcomes
                .send(Recorded {
                    key: claimed.key,
                    outcome,
                    _permit: permit,
                })
                .await;
        });
    }
}

/// What a send's result means for the delivery.
fn decide(
    result: Result<Receipt, SendError>,
    attempts_before: u32,
    settings: &NotifySettings,
    now: Timestamp,
) -> Outcome {
    match result {
        Ok(receipt) => Outcome::Sent {
            status: receipt.status,
            response: receipt.response,
        },
        Err(err) if err.permanent => Outcome::Dead {
            error: err.message,
            status: err.status,
        },
        Err(err) => {
            let attempts = attempts_before + 1;
            if attempts >= settings.max_attempts {
                return Outcome::Dead {
                    error: format!("gave up after {attempts} attempts: {}", err.message),
                    status: err.status,
                };
            }
            let wait = backoff(attempts, settings.retry_base, settings.retry_max);
            let wait = match err.retry_after {
                Some(asked) => asked.min(settings.retry_max).max(wait),
                None => wait,
            };
            Outcome::Retry {
                due_at: after(now, wait),
                error: err.message,
                status: err.status,
            }
        }
    }
}

/// `base * 2^(attempts-1)`, capped, plus up to 20 % jitter so retries of one burst spread.
fn backoff(attempts: u32, base: Duration, max: Duration) -> Duration {
    let exp = base.saturating_mul(1u32 << attempts.saturating_sub(1).min(20));
    let capped = exp.min(max);
    let jitter = rand::rng().random_range(0.0..0.2);
    capped + capped.mul_f64(jitter)
}

fn after(now: Timestamp, wait: Duration) -> Timestamp {
    Timestamp::from_datetime(now.0 + chrono::Duration::from_std(wait).unwrap_or_default())
}

/// Every [`WATCH_EVERY`]: the outbox's figures into metrics, and the alarm rule.
async fn watch_loop(
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    handle: Notifications,
    target: Option<Target>,
    watch: Arc<Mutex<Watch>>,
    mut stop: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(WATCH_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // An announcement that could not be sent is tried again on the next ticks.
    let mut unsent: Option<Message> = None;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        let now = clock.now();
        let stats = match store.outbox_stats().await {
            Ok(stats) => stats,
            Err(_) => continue,
        };
        publish(&stats, now);
        let change = {
            let mut watch = watch.lock().expect("watch lock");
            let change = watch.observe(now, stats.oldest_due_at);
            *handle.alarm.lock().expect("alarm lock") = watch.state().clone();
            change
        };
        if let Some(change) = change {
            match &change {
                AlarmChange::Raised(reasons) => {
                    let why: Vec<String> = reasons.iter().map(|r| r.to_string()).collect();
                    tracing::error!(reasons = %why.join("; "), "notification pipeline alarm raised");
                }
                AlarmChange::Cleared => tracing::info!("notification pipeline alarm cleared"),
            }
            metrics::gauge!("pharos_notify_alarm")
                .set(matches!(change, AlarmChange::Raised(_)) as u8 as f64);
            unsent = Some(alarm_message(&handle.page.now(), &change, &stats, now));
        }
        if let (Some(message), Some(target)) = (&unsent, &target) {
            let envelope = Envelope {
                idempotency_key: format!("alarm-{}", message.at.0.timestamp_micros()),
                ..Envelope::default()
            };
            match handle.sender.send(target, message, &envelope).await {
                Ok(_) => unsent = None,
                Err(err) => {
                    tracing::error!(error = %err, "cannot send the notification pipeline alarm; retrying")
                }
            }
        } else {
            unsent = None;
        }
    }
}

fn publish(stats: &OutboxStats, now: Timestamp) {
    metrics::gauge!("pharos_notify_pending").set(stats.pending as f64);
    metrics::gauge!("pharos_notify_due").set(stats.due as f64);
    metrics::gauge!("pharos_notify_dead").set(stats.dead as f64);
    let oldest = stats
        .oldest_due_at
        .map(|t| (now.0 - t.0).num_milliseconds().max(0) as f64 / 1000.0)
        .unwrap_or(0.0);
    metrics::gauge!("pharos_notify_oldest_due_seconds").set(oldest);
}

/// The alarm's own message (it does not come from an event).
fn alarm_message(
    page: &PageContext,
    change: &AlarmChange,
    stats: &OutboxStats,
    now: Timestamp,
) -> Message {
    let (title, lead, severity, resolves) = match change {
        AlarmChange::Raised(reasons) => (
            format!("[{}] Notifications are failing", page.name),
            reasons
                .iter()
                .map(|r| format!("- {r}"))
                .collect::<Vec<_>>()
                .join("\n"),
            Severity::Critical,
            false,
        ),
        AlarmChange::Cleared => (
            format!("[{}] Notifications have recovered", page.name),
            "- deliveries are going out again".to_string(),
            Severity::Resolved,
            true,
        ),
    };
    let figures = format!(
        "{} pending, {} due, {} dead-lettered (see /api/v1/deliveries?state=dead)",
        stats.pending, stats.due, stats.dead
    );
    let markdown = format!("{lead}\n\n{figures}");
    Message {
        event_seq: 0,
        event_kind: "notifications.alarm".into(),
        at: now,
        title,
        text: markdown.clone(),
        html: crate::markdown::to_html(&markdown),
        markdown,
        link: Some(format!("{}/api/v1/notifications/status", page.url)),
        severity,
        subject_key: "pharos:notifications".into(),
        resolves,
        event: serde_json::json!({
            "kind": "notifications.alarm",
            "raised": !resolves,
            "pending": stats.pending,
            "due": stats.due,
            "dead": stats.dead,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> NotifySettings {
        NotifySettings {
            max_attempts: 3,
            retry_base: Duration::from_secs(30),
            retry_max: Duration::from_secs(3600),
            ..NotifySettings::default()
        }
    }

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_datetime(
            chrono::DateTime::from_timestamp(1_800_000_000 + secs, 0).expect("in range"),
        )
    }

    fn transient(retry_after: Option<Duration>) -> SendError {
        SendError {
            permanent: false,
            status: Some(503),
            message: "receiver answered 503".into(),
            retry_after,
        }
    }

    #[test]
    fn transient_failures_back_off_then_dead_letter() {
        let s = settings();
        match decide(Err(transient(None)), 0, &s, at(0)) {
            Outcome::Retry { due_at, .. } => {
                let wait = (due_at.0 - at(0).0).num_seconds();
                assert!((30..=36).contains(&wait), "{wait}");
            }
            other => panic!("{other:?}"),
        }
        match decide(Err(transient(None)), 1, &s, at(0)) {
            Outcome::Retry { due_at, .. } => {
                let wait = (due_at.0 - at(0).0).num_seconds();
                assert!((60..=72).contains(&wait), "{wait}");
            }
            other => panic!("{other:?}"),
        }
        match decide(Err(transient(None)), 2, &s, at(0)) {
            Outcome::Dead { error, status } => {
                assert!(error.starts_with("gave up after 3 attempts"), "{error}");
                assert_eq!(status, Some(503));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn retry_after_is_honoured_within_the_cap() {
        let s = settings();
        match decide(Err(transient(Some(Duration::from_secs(600)))), 0, &s, at(0)) {
            Outcome::Retry { due_at, .. } => {
                assert_eq!((due_at.0 - at(0).0).num_seconds(), 600)
            }
            other => panic!("{other:?}"),
        }
        match decide(
            Err(transient(Some(Duration::from_secs(86_400)))),
            0,
            &s,
            at(0),
        ) {
            Outcome::Retry { due_at, .. } => {
                assert_eq!((due_at.0 - at(0).0).num_seconds(), 3600)
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn permanent_failures_dead_letter_at_once_and_success_is_sent() {
        let s = settings();
        let rejected = SendError {
            permanent: true,
            status: Some(400),
            message: "receiver answered 400".into(),
            retry_after: None,
        };
        assert!(matches!(
            decide(Err(rejected), 0, &s, at(0)),
            Outcome::Dead {
                status: Some(400),
                ..
            }
        ));
        let ok = Receipt {
            status: Some(202),
            response: "ok".into(),
        };
        assert!(matches!(
            decide(Ok(ok), 0, &s, at(0)),
            Outcome::Sent {
                status: Some(202),
                ..
            }
        ));
    }

    #[test]
    fn the_bucket_spaces_sends_after_its_burst() {
        let mut bucket = Bucket::new(Rate::per_minute(60));
        // Burst of 10 (a sixth of the minute's 60), then one a second.
        for _ in 0..10 {
            assert_eq!(bucket.take(), Duration::ZERO);
        }
        let wait = bucket.take();
        assert!(
            wait > Duration::from_millis(900) && wait <= Duration::from_secs(1),
            "{wait:?}"
        );
    }

    #[test]
    fn a_fan_out_rate_spreads_sends_evenly() {
        assert_eq!(Rate::per_second(0), None, "0 means no limit");
        let mut bucket = Bucket::new(Rate::per_second(1000).expect("a limit"));
        // A burst of 50 (a twentieth of a second), then one a millisecond.
        for _ in 0..50 {
            assert_eq!(bucket.take(), Duration::ZERO);
        }
        let waits: Vec<Duration> = (0..3).map(|_| bucket.take()).collect();
        assert!(
            waits[0] > Duration::ZERO && waits[0] <= Duration::from_millis(1),
            "{waits:?}"
        );
        assert!(waits[2] > waits[1] && waits[1] > waits[0], "{waits:?}");
        assert!(waits[2] <= Duration::from_millis(3), "{waits:?}");
    }
}
