//! Wiring: turns a validated [`Config`] into a running server and stops it cleanly.
//!
//! [`App::build`] prepares the data folder, opens the database (applying migrations) and
//! reconciles the configuration's declared components. [`App::run`] serves a bound listener
//! until the shutdown future completes, then lets in-flight requests finish, stops the
//! background tasks and closes the database.

use crate::clock::Clock;
use crate::config::{redact_url, Config};
use crate::events::Actor;
use crate::http::{self, auth::FailureLimiter, AppState};
use crate::snapshot::projector::{self, Projector};
use crate::snapshot::{PageInfo, PublicState, Snapshot, SnapshotCell};
use crate::store::sql::{ConnectOptions, SqlStore};
use crate::store::Store;
use anyhow::Context;
use std::future::Future;
use std::net::SocketAddr;
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
}

/// Opens the configured database, applying migrations.
pub async fn open_store(config: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<SqlStore> {
    if config.database_url.starts_with("sqlite:") {
        std::fs::create_dir_all(&config.data_dir).with_context(|| {
            format!(
                "cannot create the data folder {}",
                config.data_dir.display()
            )
        })?;
    }
    let mut opts = ConnectOptions::new(config.database_url.clone());
    opts.max_connections = config.database_max_connections;
    SqlStore::open(&opts, clock).await.with_context(|| {
        format!(
            "cannot open the database {}",
            redact_url(&config.database_url)
        )
    })
}

impl App {
    pub async fn build(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<App> {
        // Install the metrics recorder first, so counts from start-up on are kept.
        http::ops::metrics_handle();
        let store = Arc::new(open_store(&config, clock.clone()).await?);
        let report = store
            .reconcile_config(&config.groups, &config.components, &Actor::config())
            .await
            .context("cannot apply the components declared in the configuration")?;
        if report != Default::default() {
            tracing::info!(
                created = report.created,
                updated = report.updated,
                released = report.released,
                "reconciled declared components"
            );
        }
        let openapi = serde_json::to_value(http::openapi_document()).context("openapi document")?;

        // Serve the last snapshot written to disk until the first build replaces it, then
        // build one now, so the page is current from the first request.
        let page = PageInfo::from_settings(&config.page);
        let snapshot_file = config.data_dir.join("snapshot.json");
        let initial = projector::load(&snapshot_file)
            .map(|mut s| {
                s.page = page.clone();
                s
            })
            .unwrap_or_else(|| PublicState::empty(page.clone(), clock.now()));
        let cell = Arc::new(SnapshotCell::from_pointee(Snapshot::new(
            Arc::new(initial),
            None,
        )));
        let projector = Projector {
            store: store.clone(),
            clock: clock.clone(),
            page,
            cell: cell.clone(),
            file: Some(snapshot_file),
            warm: Arc::new(http::public::warm),
        };
        projector
            .refresh()
            .await
            .context("cannot build the public snapshot")?;

        let state = AppState {
            store: store.clone(),
            clock,
            auth_limiter: Arc::new(FailureLimiter::new(config.auth_failures_per_minute)),
            page: Arc::new(config.page.clone()),
            openapi: Arc::new(openapi),
            snapshot: cell,
        };
        Ok(App {
            config,
            store,
            state,
            projector,
        })
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
        let router = self.router();
        let projector = tokio::spawn(self.projector.run(stop_rx));
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await
        .context("serving HTTP")?;
        let _ = stop_tx.send(true);
        let _ = ticker.await;
        let _ = projector.await;
        self.store.close().await;
        tracing::info!("pharos stopped");
        Ok(())
    }
}

/// Starts and completes maintenance windows at their edges.
async fn maintenance_ticker(state: AppState, mut stop: watch::Receiver<bool>) {
    let mut interval = tokio::time::interval(MAINTENANCE_TICK);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = interval.tick() => {
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
