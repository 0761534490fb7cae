//! Keeps the public snapshot current: follows the event log and rebuilds the state when it
//! moves, swaps the new snapshot in atomically, and writes it to the data folder so a restart
//! while the database is away still has something to show.
//!
//! It wakes when this process commits (the store's commit channel), and polls every
//! [`POLL`] for commits by other processes and for the database coming back. Bursts coalesce:
//! one rebuild covers every event committed before it began. When the database cannot be
//! reached, the last snapshot stays and is marked stale; the first successful rebuild clears
//! the mark. It must not hold a snapshot lock across an await, and it never blocks requests:
//! they read whichever snapshot is current.

use super::uptime::StatusHistory;
use super::{build, PublicState, Snapshot, SnapshotCell};
use crate::clock::Clock;
use crate::store::{Store, StoreError};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// How often to look for commits by other processes and for a returning database.
pub const POLL: Duration = Duration::from_secs(2);
/// Rebuild at least this often even without events: days roll over, windows open.
pub const MAX_AGE: Duration = Duration::from_secs(60);
/// Write the snapshot to disk at most this often.
const PERSIST_EVERY: Duration = Duration::from_secs(2);

/// Renders the hot responses of a fresh snapshot before it is swapped in, so the first
/// readers after a change do not pay for rendering. Supplied by the HTTP layer.
pub type Warmer = Arc<dyn Fn(&Snapshot) + Send + Sync>;

pub struct Projector {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    /// The configuration's page settings; each build merges the stored ones over the fields
    /// they leave free (see `build::PageSource::Configured`), so a change from the web UI
    /// reaches the page with the build its event causes.
    pub page: Arc<crate::config::PageSettings>,
    pub cell: Arc<SnapshotCell>,
    /// Where the snapshot is kept on disk (`snapshot.json` in the data folder).
    pub file: Option<PathBuf>,
    pub warm: Warmer,
    /// False until the database has been reached and migrated; until then there is nothing
    /// to build from, and the snapshot on disk is served.
    pub ready: Arc<AtomicBool>,
}

impl Projector {
    /// Rebuilds from the store (going on from the current snapshot's status history) and
    /// swaps the result in.
    pub async fn refresh(&self) -> Result<(), StoreError> {
        let previous = self.cell.load_full();
        let (state, history) = build::build_with(
            self.store.as_ref(),
            build::PageSource::Configured(&self.page),
            self.clock.now(),
            previous.history.as_deref(),
            Some(&previous.state.page.time_zone),
        )
        .await?;
        self.install(Arc::new(state), None, Some(Arc::new(history)))
            .await;
        Ok(())
    }

    /// Renders the warm set off the async threads, then swaps.
    async fn install(
        &self,
        state: Arc<PublicState>,
        stale_since: Option<crate::domain::Timestamp>,
        history: Option<Arc<StatusHistory>>,
    ) {
        let snapshot = Arc::new(Snapshot::new(state, stale_since).with_history(history));
        let warm = self.warm.clone();
        let warmed = {
            let snapshot = snapshot.clone();
            tokio::task::spawn_blocking(move || warm(&snapshot)).await
        };
        if warmed.is_err() {
            tracing::error!("rendering the public snapshot panicked; serving it unwarmed");
        }
        self.cell.store(snapshot);
        metrics::counter!("pharos_snapshot_builds_total").increment(1);
    }

    /// Marks the current snapshot stale (once), keeping its state.
    pub async fn mark_stale(&self) {
        let current = self.cell.load_full();
        if current.stale_since.is_none() {
            tracing::warn!("database unreachable: serving the last public snapshot");
            self.install(
                current.state.clone(),
                Some(self.clock.now()),
                current.history.clone(),
            )
            .await;
        }
    }

    /// When every event after `after` (up to `seq`) is a vendor event that cannot change the
    /// public state (a vendor no component depends on), the position they run through; the
    /// snapshot need not be rebuilt for them. Vendor pages are read apart (`vendors.rs`).
    async fn only_irrelevant(&self, state: &PublicState, after: i64, seq: i64) -> Option<i64> {
        // A long run of events is rebuilt for rather than read.
        if seq - after > 1000 {
            return None;
        }
        let events = self.store.list_events(after, 1000).await.ok()?;
        let last = events.last()?.seq;
        let irrelevant = events.iter().all(|e| {
            let Some(rest) = e.kind.strip_prefix("vendor.") else {
                return false;
            };
            if rest.starts_with("dependency_") {
                return false;
            }
            let vendor = e
                .data
                .get("vendor_id")
                .or_else(|| e.data.get("id"))
                .and_then(|v| v.as_str())
                .and_then(|v| v.parse::<uuid::Uuid>().ok())
                .map(crate::domain::VendorId);
            match vendor {
                Some(v) => !state.depended_on.contains(&v),
                None => false,
            }
        });
        irrelevant.then_some(last)
    }

    /// Follows the log until `stop` changes.
    pub async fn run(&self, mut stop: watch::Receiver<bool>) {
        let mut commits = self.store.subscribe_commits();
        let mut poll = tokio::time::interval(POLL);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut built = Instant::now();
        // Events after the state's own position that were found irrelevant to it.
        let mut skipped_through = i64::MIN;
        let mut persisted_seq = i64::MIN;
        let mut persisted_at = Instant::now() - PERSIST_EVERY;
        loop {
            tokio::select! {
                _ = poll.tick() => {}
                changed = async {
                    match commits.as_mut() {
                        Some(rx) => rx.changed().await.is_ok(),
                        None => std::future::pending().await,
                    }
                } => {
                    if !changed {
                        commits = None;
                    }
                }
                _ = stop.changed() => break,
            }
            if !self.ready.load(Ordering::SeqCst) {
                continue;
            }
            let current = self.cell.load_full();
            let due = match self.store.last_event_seq().await {
                Ok(seq) => {
                    let seen = current.state.as_of_seq.max(skipped_through);
                    if current.stale_since.is_some() || built.elapsed() >= MAX_AGE {
                        true
                    } else if seq > seen {
                        match self.only_irrelevant(&current.state, seen, seq).await {
                            Some(through) => {
                                skipped_through = through;
                                false
                            }
                            None => true,
                        }
                    } else {
                        false
                    }
                }
                Err(StoreError::Unavailable(_)) => {
                    self.mark_stale().await;
                    false
                }
                Err(err) => {
                    tracing::warn!(error = %err, "cannot read the event log position");
                    false
                }
            };
            if due {
                match self.refresh().await {
                    Ok(()) => built = Instant::now(),
                    Err(StoreError::Unavailable(_)) => self.mark_stale().await,
                    Err(err) => tracing::error!(error = %err, "cannot rebuild the public snapshot"),
                }
            }
            let current = self.cell.load_full();
            if current.state.as_of_seq != persisted_seq && persisted_at.elapsed() >= PERSIST_EVERY {
                if let Some(file) = &self.file {
                    persist(file.clone(), current.state.clone()).await;
                }
                persisted_seq = current.state.as_of_seq;
                persisted_at = Instant::now();
            }
        }
        // Leave the latest state on disk for the next start.
        if let Some(file) = &self.file {
            let current = self.cell.load_full();
            if current.state.as_of_seq != persisted_seq {
                persist(file.clone(), current.state.clone()).await;
            }
        }
    }
}

/// Writes the state atomically: a temporary file in the same folder, synced, then renamed.
async fn persist(file: PathBuf, state: Arc<PublicState>) {
    let result = tokio::task::spawn_blocking(move || write_atomically(&file, &state)).await;
    match result {
        Ok(Ok(())) => {}
        Ok(Err(err)) => tracing::warn!(error = %err, "cannot write the public snapshot to disk"),
        Err(_) => tracing::error!("writing the public snapshot panicked"),
    }
}

fn write_atomically(file: &Path, state: &PublicState) -> std::io::Result<()> {
    use std::io::Write;
    let dir = file.parent().unwrap_or_else(|| Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".{}.tmp",
        file.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("snapshot")
    ));
    let mut out = std::fs::File::create(&tmp)?;
    serde_json::to_writer(&mut out, state)?;
    out.flush()?;
    out.sync_all()?;
    drop(out);
    std::fs::rename(&tmp, file)?;
    Ok(())
}

/// Reads a snapshot written by an earlier run; `None` when there is none or it is unreadable
/// (a newer or corrupted file is not worth refusing to start over).
pub fn load(file: &Path) -> Option<PublicState> {
    let bytes = std::fs::read(file).ok()?;
    match serde_json::from_slice(&bytes) {
        Ok(state) => Some(state),
        Err(err) => {
            tracing::warn!(error = %err, file = %file.display(), "ignoring an unreadable public snapshot");
            None
        }
    }
}
