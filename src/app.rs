//! Wiring: turns a validated [`Config`] into a running server and stops it cleanly.
//!
//! [`App::build`] prepares the data folder, opens the database (applying migrations) and
//! reconciles the configuration's declared components and monitors. [`App::run`] serves a
//! bound listener until the shutdown future completes, then lets in-flight requests finish,
//! stops the background tasks and closes the database.

use crate::clock::Clock;
use crate::config::{redact_url, Config};
use crate::events::Actor;
use crate::http::{self, auth::FailureLimiter, AppState};
use crate::monitor::scheduler::Scheduler;
use crate::notify::message::LivePage;
use crate::notify::worker::Notifier;
use crate::snapshot::projector::{self, Projector};
use crate::snapshot::{PageInfo, PublicState, Snapshot, SnapshotCell};
use crate::store::sql::{ConnectOptions, SqlStore};
use crate::store::{Store, StoreError};
use crate::vendor::poller::Poller;
use anyhow::Context;
use axum::serve::ListenerExt;
use std::future::{Future, IntoFuture};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// How often maintenance windows are checked for their start and end.
const MAINTENANCE_TICK: Duration = Duration::from_secs(5);

pub struct App {
    pub config: Config,
    pub store: Arc<SqlStore>,
    state: AppState,
    projector: Projector,
    preparation: Preparation,
    scheduler: Scheduler,
    poller: Poller,
    notifier: Option<Notifier>,
}

/// How often to retry a database that was away at start.
const PREPARE_RETRY: Duration = Duration::from_secs(2);

/// The file of a `sqlite://PATH[?options]` URL.
fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or("");
    (!path.is_empty() && path != ":memory:").then(|| std::path::PathBuf::from(path))
}

fn connect_options(config: &Config) -> anyhow::Result<ConnectOptions> {
    // A SQLite file is created on first start; its folder must exist first.
    if let Some(folder) = sqlite_file(&config.database_url)
        .as_deref()
        .and_then(std::path::Path::parent)
        .filter(|p| !p.as_os_str().is_empty())
    {
        std::fs::create_dir_all(folder)
            .with_context(|| format!("cannot create the database folder {}", folder.display()))?;
    }
    let mut opts = ConnectOptions::new(config.database_url.clone());
    opts.max_connections = config.database_max_connections;
    Ok(opts)
}

/// Opens the configured database, applying migrations. For commands that need the database
/// now (`migrate`, `token`): they fail when it is away.
pub async fn open_store(config: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<SqlStore> {
    let opts = connect_options(config)?;
    SqlStore::open(&opts, clock).await.with_context(|| {
        format!(
            "cannot open the database {}",
            redact_url(&config.database_url)
        )
    })
}

/// Everything that needs the database before the app is fully up: migrations, the declared
/// components and monitors, the first snapshot. Run at start and, when the database was away then, again
/// until it succeeds.
struct Preparation {
    store: Arc<SqlStore>,
    groups: Vec<crate::store::DeclaredGroup>,
    components: Vec<crate::store::DeclaredComponent>,
    monitors: Vec<crate::store::DeclaredMonitor>,
    vendors: Vec<crate::vendor::record::DeclaredVendor>,
    ready: Arc<AtomicBool>,
    /// For the first admin's set-up link, logged when there is no user yet.
    page_url: String,
    clock: Arc<dyn Clock>,
}

impl Preparation {
    async fn run(&self, projector: &Projector) -> Result<(), StoreError> {
        self.store.migrate().await?;
        let report = self
            .store
            .reconcile_config(
                &self.groups,
                &self.components,
                &self.monitors,
                &Actor::config(),
            )
            .await?;
        if report != Default::default() {
            tracing::info!(
                created = report.created,
                updated = report.updated,
                released = report.released,
                "reconciled declared components and monitors"
            );
        }
        let report = self
            .store
            .reconcile_vendors(&self.vendors, &Actor::config())
            .await?;
        if report != Default::default() {
            tracing::info!(
                created = report.created,
                updated = report.updated,
                released = report.released,
                "reconciled declared vendors"
            );
        }
        http::admin::announce_setup_link(&*self.store, &*self.clock, &self.page_url).await?;
        self.ready.store(true, Ordering::SeqCst);
        projector.refresh().await
    }
}

impl App {
    /// Prepares everything. Fails on what a restart cannot fix (a bad database URL, an edited
    /// migration, an invalid declared component); a database that does not answer is not one
    /// of those: the app starts anyway, serving the snapshot on disk, and keeps trying.
    pub async fn build(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<App> {
        // Install the metrics recorder first, so counts from start-up on are kept.
        http::ops::metrics_handle();
        std::fs::create_dir_all(&config.data_dir).with_context(|| {
            format!(
                "cannot create the data folder {}",
                config.data_dir.display()
            )
        })?;
        let opts = connect_options(&config)?;
        let store = Arc::new(
            SqlStore::connect_lazy(&opts, clock.clone()).with_context(|| {
                format!(
                    "cannot use the database {}",
                    redact_url(&config.database_url)
                )
            })?,
        );
        let openapi = serde_json::to_value(http::openapi_document()).context("openapi document")?;

        // Until the first build, serve the last snapshot written to disk. Its page keeps what
        // the web UI had stored (so a restart with the database away still shows it), under
        // the fields the configuration sets now.
        let page_settings = Arc::new(config.page.clone());
        let snapshot_file = config.data_dir.join("snapshot.json");
        let initial = projector::load(&snapshot_file)
            .map(|mut s| {
                s.page = PageInfo::from_stored(&page_settings, &s.page.as_stored());
                s
            })
            .unwrap_or_else(|| {
                PublicState::empty(PageInfo::from_settings(&page_settings), clock.now())
            });
        let cell = Arc::new(SnapshotCell::from_pointee(Snapshot::new(
            Arc::new(initial),
            None,
        )));
        let ready = Arc::new(AtomicBool::new(false));
        let projector = Projector {
            store: store.clone(),
            clock: clock.clone(),
            page: page_settings.clone(),
            cell: cell.clone(),
            file: Some(snapshot_file),
            warm: Arc::new(http::public::warm),
            ready: ready.clone(),
        };
        let preparation = Preparation {
            store: store.clone(),
            groups: config.groups.clone(),
            components: config.components.clone(),
            monitors: config.monitors.clone(),
            vendors: config.vendors.follow.clone(),
            ready: ready.clone(),
            page_url: config.page.url.clone(),
            clock: clock.clone(),
        };
        match preparation.run(&projector).await {
            Ok(()) => {}
            Err(StoreError::Unavailable(cause)) => {
                tracing::warn!(
                    error = %cause,
                    database = %redact_url(&config.database_url),
                    "database unreachable at start: serving the last known status and retrying"
                );
                projector.mark_stale().await;
            }
            Err(err) => {
                return Err(anyhow::Error::new(err).context(format!(
                    "cannot prepare the database {}",
                    redact_url(&config.database_url)
                )))
            }
        }

        let (scheduler, monitors) =
            Scheduler::new(store.clone(), clock.clone(), Some(config.data_dir.clone()));
        let scheduler = scheduler.with_limits(config.check_limits);
        let (poller, vendors) = Poller::new(store.clone(), clock.clone(), &config.vendors);
        let (notifier, notifications) = if config.notifications.enabled {
            // The page's name as shown now: the configuration's or the stored one, read from
            // the current snapshot when a message is made, so a name changed at
            // /admin/settings shows in the next notification without a restart.
            let names = cell.clone();
            let page = LivePage::new(
                move || names.load().state.page.name.clone(),
                config.page.url.trim_end_matches('/').to_string(),
            );
            // SQLite is one process; PostgreSQL may be shared by several.
            let sole_process = sqlite_file(&config.database_url).is_some();
            let (notifier, handle) = Notifier::new(
                store.clone(),
                clock.clone(),
                &config.notifications,
                page,
                sole_process,
            )
            .map_err(|e| anyhow::anyhow!("cannot set up notifications: {e}"))?;
            (Some(notifier), Some(handle))
        } else {
            (None, None)
        };
        let state = AppState::new(http::Shared {
            store: store.clone(),
            clock,
            auth_limiter: Arc::new(FailureLimiter::new(config.auth_failures_per_minute)),
            page: page_settings,
            openapi: Arc::new(openapi),
            snapshot: cell,
            db_ready: ready,
            monitors: Some(monitors),
            vendors: Some(vendors),
            vendors_public: config.vendors.public,
            vendor_pages: Arc::default(),
            history_pages: Arc::default(),
            notifications,
            subscribe_limits: Arc::default(),
            admin: Arc::new(http::admin::AdminState::new(
                &config.admin,
                &config.page.url,
            )),
            trusted_proxies: config.trusted_proxies.clone(),
        });
        Ok(App {
            config,
            store,
            state,
            projector,
            preparation,
            scheduler,
            poller,
            notifier,
        })
    }

    /// Whether the database was reached and prepared.
    pub fn database_ready(&self) -> bool {
        self.state.db_ready.load(Ordering::SeqCst)
    }

    pub fn router(&self) -> axum::Router {
        http::router(self.state.clone())
    }

    /// Serves until `shutdown` completes, then drains and closes.
    pub async fn run(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let ticker = tokio::spawn(maintenance_ticker(self.state.clone(), stop_rx.clone()));
        let trimmer = tokio::spawn(memory_trimmer(stop_rx.clone()));
        let rollups = tokio::spawn(crate::monitor::rollup::run(
            self.state.store.clone(),
            self.state.clock.clone(),
            self.state.db_ready.clone(),
            stop_rx.clone(),
            Duration::from_secs(u64::from(self.config.raw_retention_days) * 86_400),
        ));
        let stop_rx_scheduler = stop_rx.clone();
        let router = self.router();
        let poller_task = tokio::spawn(
            self.poller
                .run(self.state.db_ready.clone(), stop_rx.clone()),
        );
        // Delivery runs on a runtime and thread of its own, below the page's priority.
        let notifier_task = self
            .notifier
            .map(|notifier| notifier.start(self.state.db_ready.clone(), stop_rx.clone()));
        let projector = Arc::new(self.projector);
        let running = projector.clone();
        let projector_task = tokio::spawn(async move { running.run(stop_rx).await });
        let scheduler_task = tokio::spawn(
            self.scheduler
                .run(self.state.db_ready.clone(), stop_rx_scheduler),
        );
        // A database that was away at start is retried beside the server, in this task; the
        // retries stop as soon as shutdown begins.
        let (shutting_down_tx, shutting_down) = watch::channel(false);
        let shutdown = async move {
            shutdown.await;
            let _ = shutting_down_tx.send(true);
        };
        let needs_preparation = !self.state.db_ready.load(Ordering::SeqCst);
        let preparation = self.preparation;
        let prepare = async {
            if needs_preparation {
                prepare_until_ready(&preparation, &projector, shutting_down).await;
            }
        };
        // TCP_NODELAY: a response is written whole, so Nagle's algorithm only holds back the
        // tail of a large body until the reader's delayed ACK (up to 40 ms on Linux).
        let listener = listener.tap_io(|tcp| {
            if let Err(err) = tcp.set_nodelay(true) {
                tracing::debug!(error = %err, "cannot set TCP_NODELAY on a connection");
            }
        });
        let serve = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .into_future();
        let (served, ()) = tokio::join!(serve, prepare);
        served.context("serving HTTP")?;
        let _ = stop_tx.send(true);
        let _ = ticker.await;
        let _ = trimmer.await;
        let _ = rollups.await;
        let _ = projector_task.await;
        let _ = scheduler_task.await;
        let _ = poller_task.await;
        if let Some(task) = notifier_task {
            let _ = task.await;
        }
        self.store.close().await;
        tracing::info!("pharos stopped");
        Ok(())
    }
}

/// Retries the preparation until the database answers.
async fn prepare_until_ready(
    preparation: &Preparation,
    projector: &Projector,
    mut stop: watch::Receiver<bool>,
) {
    let mut retry = tokio::time::interval(PREPARE_RETRY);
    retry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    retry.tick().await;
    loop {
        tokio::select! {
            _ = retry.tick() => {}
            _ = stop.changed() => return,
        }
        match preparation.run(projector).await {
            Ok(()) => {
                tracing::info!("database reachable: migrations applied, serving live status");
                return;
            }
            Err(StoreError::Unavailable(_)) => {}
            Err(err) => tracing::error!(error = %err, "cannot prepare the database; retrying"),
        }
    }
}

/// How often freed heap memory is handed back to the operating system.
const TRIM_EVERY: Duration = Duration::from_secs(30);

/// Hands freed heap memory back to the operating system every [`TRIM_EVERY`]. glibc keeps
/// what a burst freed (parsed vendor payloads, rendered pages, a spike of connections) in its
/// per-thread arenas, so the resident size stays at the burst's peak; `malloc_trim` returns the
/// free pages of every arena. Elsewhere (musl, other systems) this does nothing.
async fn memory_trimmer(mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(TRIM_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let _ = tokio::task::spawn_blocking(crate::memory::trim_heap).await;
            }
            _ = stop.changed() => return,
        }
    }
}

/// Starts and completes maintenance windows at their edges.
async fn maintenance_ticker(state: AppState, mut stop: watch::Receiver<bool>) {
    let mut interval = tokio::time::interval(MAINTENANCE_TICK);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = interval.tick() => {
                if !state.db_ready.load(Ordering::SeqCst) {
                    continue;
                }
                match state.store.advance_maintenances(state.clock.now()).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(changed = n, "maintenance windows moved"),
                    Err(err) => tracing::warn!(error = %err, "could not advance maintenance windows"),
                }
            }
            _ = stop.changed() => return,
        }
    }
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
///
/// The signal handlers are installed when this is called, not when the future is first
/// polled: call it before announcing that the server listens, so that a SIGTERM sent right
/// after that line stops the server gracefully instead of killing it.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let (interrupt, terminate) = {
        use tokio::signal::unix::{signal, SignalKind};
        (
            signal(SignalKind::interrupt()).ok(),
            signal(SignalKind::terminate()).ok(),
        )
    };
    async move {
        #[cfg(unix)]
        {
            async fn received(signal: Option<tokio::signal::unix::Signal>) {
                match signal {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            }
            tokio::select! {
                _ = received(interrupt) => {},
                _ = received(terminate) => {},
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        tracing::info!("shutting down: finishing in-flight requests");
    }
}
