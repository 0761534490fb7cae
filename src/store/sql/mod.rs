//! The SQL implementation of [`Store`], shared by SQLite and PostgreSQL.
//!
//! Both backends go through sqlx's `Any` driver with one query text each. Columns are only
//! TEXT and BIGINT (see the first migration), which both databases and the `Any` driver treat
//! alike. Writes go through [`WriteTx`], which appends the transaction's events to the log
//! just before it commits.
//!
//! Concurrency. SQLite allows one writer at a time: a process-wide mutex serialises write
//! transactions, so they queue in Pharos instead of failing with `SQLITE_BUSY`. PostgreSQL
//! runs writes concurrently; a transaction that reads a row before changing it first *touches*
//! it (`UPDATE .. SET updated_at = updated_at`), which takes the row lock in PostgreSQL and
//! is harmless in SQLite, so both see the same serial order without a forked `FOR UPDATE`.
//! Component rows are touched in id order to avoid deadlocks.

use super::*;
use crate::clock::Clock;
use crate::domain::ids::new_short_id;
use crate::domain::rules::{effective_status, StatusInputs};
use crate::events::EventKind;
use base64::Engine;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{Any, AnyPool, Row, Transaction};
use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, OwnedMutexGuard};

mod accounts;
mod escalation;
mod incident_templates;
mod monitors;
mod notify;
mod page_settings;
mod rollups;
mod vendors;

/// Which database a URL selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }
}

/// The file a `sqlite:` URL names; `None` for an in-memory database.
pub fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(url).ok()?;
    let path = options.get_filename();
    let text = path.to_string_lossy();
    let in_memory = text.is_empty() || text == ":memory:" || text.starts_with("file:");
    (!in_memory && !url.contains("mode=memory")).then(|| path.to_path_buf())
}

/// Maps a sqlx error to what the caller can act on.
pub(crate) fn map_err(err: sqlx::Error) -> StoreError {
    match &err {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        // A connection cut mid-handshake (a proxy or pooler in front of a database that is
        // away) surfaces as a protocol error: it is an outage, not a bug.
        | sqlx::Error::Protocol(_) => StoreError::Unavailable(err.to_string()),
        sqlx::Error::Database(db) => {
            if db.is_unique_violation() {
                return StoreError::conflict(
                    "already_exists",
                    "a resource with these values already exists",
                );
            }
            if db.is_foreign_key_violation() {
                return StoreError::invalid("the request refers to a resource that does not exist");
            }
            let code = db.code().map(|c| c.to_string()).unwrap_or_default();
            if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                // SQLite reports extended codes (a failed read is 266, SQLITE_IOERR_READ); the
                // low byte is the primary code: busy, locked, read-only, I/O error, full,
                // cannot open, locking protocol (a lock held elsewhere for too long).
                let primary = code.parse::<i64>().map(|c| c & 0xff).unwrap_or(0);
                return match primary {
                    5 | 6 | 8 | 10 | 13 | 14 | 15 => StoreError::Unavailable(db.to_string()),
                    _ => StoreError::Internal(db.to_string()),
                };
            }
            match code.as_str() {
                // PostgreSQL: text the database cannot store (a NUL byte, bad encoding). Input
                // validation should catch it first; this keeps it a 422 if a field slips by.
                "22021" | "22P05" => {
                    StoreError::invalid("the request contains characters that cannot be stored")
                }
                // PostgreSQL: serialization failure, deadlock, shutting down, cannot connect now,
                // too many connections.
                "40001" | "40P01" | "57P01" | "57P02" | "57P03" | "53300" => {
                    StoreError::Unavailable(db.to_string())
                }
                _ if code.starts_with("08") => StoreError::Unavailable(db.to_string()),
                _ => StoreError::Internal(db.to_string()),
            }
        }
        _ => StoreError::Internal(err.to_string()),
    }
}

fn corrupt(what: &str, detail: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(format!("stored {what} is unreadable: {detail}"))
}

fn get<T>(row: &AnyRow, col: &str) -> StoreResult<T>
where
    T: for<'r> sqlx::Decode<'r, Any> + sqlx::Type<Any>,
{
    row.try_get(col).map_err(|e| corrupt(col, e))
}

fn get_ts(row: &AnyRow, col: &str) -> StoreResult<Timestamp> {
    let text: String = get(row, col)?;
    Timestamp::parse(&text).ok_or_else(|| corrupt(col, &text))
}

fn get_opt_ts(row: &AnyRow, col: &str) -> StoreResult<Option<Timestamp>> {
    let text: Option<String> = get(row, col)?;
    text.map(|t| Timestamp::parse(&t).ok_or_else(|| corrupt(col, &t)))
        .transpose()
}

fn get_enum<T: FromStr>(row: &AnyRow, col: &str) -> StoreResult<T>
where
    T::Err: std::fmt::Display,
{
    let text: String = get(row, col)?;
    text.parse().map_err(|e| corrupt(col, e))
}

fn get_opt_enum<T: FromStr>(row: &AnyRow, col: &str) -> StoreResult<Option<T>>
where
    T::Err: std::fmt::Display,
{
    let text: Option<String> = get(row, col)?;
    text.map(|t| t.parse().map_err(|e| corrupt(col, e)))
        .transpose()
}

fn get_id<T: FromStr>(row: &AnyRow, col: &str) -> StoreResult<T>
where
    T::Err: std::fmt::Display,
{
    get_enum(row, col)
}

fn get_bool(row: &AnyRow, col: &str) -> StoreResult<bool> {
    Ok(get::<i64>(row, col)? != 0)
}

/// `$first, $first+1, ...` for an `IN (...)` list of `n` values.
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn encode_cursor(parts: &[&str]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(parts.join("\n"))
}

fn decode_cursor(cursor: &str, n: usize) -> StoreResult<Vec<String>> {
    let bad = || {
        StoreError::invalid("the `cursor` is not one this server issued; start again without it")
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    // Issued cursors never hold NUL, which PostgreSQL refuses as a text parameter.
    if text.contains('\0') {
        return Err(bad());
    }
    let parts: Vec<String> = text.split('\n').map(str::to_string).collect();
    if parts.len() != n {
        return Err(bad());
    }
    Ok(parts)
}

/// An incident event's data: the incident after the change, with `updates` holding only the
/// update the event is about (none for changes that post no update). Carrying the whole
/// timeline in every event would make the log grow with the square of an incident's updates.
fn incident_event(incident: &Incident, update: Option<IncidentUpdateId>) -> serde_json::Value {
    let mut incident = incident.clone();
    incident.updates.retain(|u| Some(u.id) == update);
    json(&incident)
}

fn json(value: &impl serde::Serialize) -> serde_json::Value {
    serde_json::to_value(value).expect("records serialise")
}

/// The store over one connection pool.
pub struct SqlStore {
    pool: AnyPool,
    backend: Backend,
    /// SQLite only: serialises write transactions (see the module doc).
    write_serial: Option<Arc<Mutex<()>>>,
    clock: Arc<dyn Clock>,
    /// The last event seq this process committed (see `Store::subscribe_commits`).
    commits: Arc<tokio::sync::watch::Sender<i64>>,
}

/// How to connect.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    pub url: String,
    pub max_connections: u32,
    /// How long to wait for a connection before reporting the database unavailable.
    pub acquire_timeout: Duration,
}

impl ConnectOptions {
    pub fn new(url: impl Into<String>) -> Self {
        ConnectOptions {
            url: url.into(),
            max_connections: 10,
            // Short, so that a write while the database is away fails with a 503 in
            // seconds rather than hanging the responder's terminal.
            acquire_timeout: Duration::from_secs(3),
        }
    }
}

impl SqlStore {
    /// Connects without touching the schema. Fails when the database cannot be reached.
    pub async fn connect(opts: &ConnectOptions, clock: Arc<dyn Clock>) -> StoreResult<SqlStore> {
        let (backend, url, options) = Self::pool_options(opts)?;
        let pool = options.connect(&url).await.map_err(|e| match e {
            sqlx::Error::Configuration(c) => {
                StoreError::invalid(format!("the database URL is not valid: {c}"))
            }
            other => map_err(other),
        })?;
        Ok(Self::with_pool(pool, backend, clock))
    }

    /// Prepares the pool without connecting: the database may be away at start. Only a
    /// malformed URL fails here; everything else fails later as `Unavailable`.
    pub fn connect_lazy(opts: &ConnectOptions, clock: Arc<dyn Clock>) -> StoreResult<SqlStore> {
        let (backend, url, options) = Self::pool_options(opts)?;
        let pool = options
            .connect_lazy(&url)
            .map_err(|e| StoreError::invalid(format!("the database URL is not valid: {e}")))?;
        Ok(Self::with_pool(pool, backend, clock))
    }

    fn pool_options(opts: &ConnectOptions) -> StoreResult<(Backend, String, AnyPoolOptions)> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(&opts.url).ok_or_else(|| {
            StoreError::invalid("the database URL must start with sqlite:// or postgres://")
        })?;
        let mut url = opts.url.clone();
        let file = match backend {
            Backend::Sqlite => sqlite_file(&url),
            Backend::Postgres => None,
        };
        if backend == Backend::Sqlite && !url.contains("mode=") {
            let mode = match &file {
                // Create the file on first start, and from then on open it only where it is:
                // `rwc` would answer a file that went away with a new, empty database.
                Some(path) => {
                    let _ = std::fs::OpenOptions::new()
                        .write(true)
                        .create_new(true)
                        .open(path);
                    "mode=rw"
                }
                None => "mode=rwc",
            };
            url.push(if url.contains('?') { '&' } else { '?' });
            url.push_str(mode);
        }
        let options = AnyPoolOptions::new()
            .max_connections(opts.max_connections.max(1))
            .min_connections(0)
            .acquire_timeout(opts.acquire_timeout)
            .before_acquire(move |_conn, _meta| {
                // A SQLite connection keeps reading and writing its file after the file was
                // moved or deleted (a volume gone, a file restored by hand), and what it wrote
                // would be lost. So the database counts as away while its file is not where the
                // URL says: the idle connection is closed, and opening a new one fails
                // (`Unavailable`) until the file is back. One `stat` per checkout.
                let present = file.as_deref().is_none_or(std::path::Path::is_file);
                Box::pin(async move { Ok(present) })
            })
            .after_connect(move |conn: &mut sqlx::AnyConnection, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets readers proceed during a write; NORMAL sync in WAL mode
                        // survives a process crash (kill -9), losing at most the last commits on
                        // power loss. sqlx already turns foreign keys on and sets a busy timeout.
                        use sqlx::Executor;
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA synchronous = NORMAL").await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                        // A write waits this long for another process's lock (a backup, the
                        // CLI) before it fails with a 503: as long as for a free connection.
                        conn.execute("PRAGMA busy_timeout = 3000").await?;
                    } else {
                        // Pharos's statements read a few rows by index; a parallel worker's
                        // start-up (8-14 ms, measured on the admin monitor list's uptime query)
                        // costs far more than it could save, and the plans that chose one were
                        // custom plans of statements that are fast without.
                        use sqlx::Executor;
                        conn.execute("SET max_parallel_workers_per_gather = 0")
                            .await?;
                    }
                    Ok(())
                })
            });
        Ok((backend, url, options))
    }

    fn with_pool(pool: AnyPool, backend: Backend, clock: Arc<dyn Clock>) -> SqlStore {
        SqlStore {
            pool,
            backend,
            write_serial: (backend == Backend::Sqlite).then(|| Arc::new(Mutex::new(()))),
            clock,
            commits: Arc::new(tokio::sync::watch::channel(0).0),
        }
    }

    /// Connects and applies pending migrations.
    pub async fn open(opts: &ConnectOptions, clock: Arc<dyn Clock>) -> StoreResult<SqlStore> {
        let store = SqlStore::connect(opts, clock).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Applies pending migrations; returns the versions applied.
    pub async fn migrate(&self) -> StoreResult<Vec<i64>> {
        let _serial = self.lock_writes().await;
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        super::migrate::run(&mut conn, self.backend, self.clock.now()).await
    }

    /// The schema versions recorded in the database.
    pub async fn applied_migrations(&self) -> StoreResult<Vec<i64>> {
        let rows = sqlx::query("SELECT version FROM schema_migrations ORDER BY version")
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        rows.iter().map(|r| get(r, "version")).collect()
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    async fn conn(&self) -> StoreResult<sqlx::pool::PoolConnection<Any>> {
        self.pool.acquire().await.map_err(map_err)
    }

    async fn lock_writes(&self) -> Option<OwnedMutexGuard<()>> {
        match &self.write_serial {
            Some(m) => Some(m.clone().lock_owned().await),
            None => None,
        }
    }

    async fn begin(&self, actor: &Actor) -> StoreResult<WriteTx> {
        let serial = self.lock_writes().await;
        // SQLite: IMMEDIATE takes the write lock at BEGIN, where the busy timeout applies. A
        // deferred transaction that reads and then writes gets SQLITE_BUSY at once, without
        // waiting, if another connection holds or has just used the write lock: `touch_token`,
        // or a refused write whose rollback sqlx has queued but not yet run.
        let tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        }
        .map_err(map_err)?;
        Ok(WriteTx {
            tx,
            _serial: serial,
            now: self.clock.now(),
            actor: actor.as_str().to_string(),
            events: Vec::new(),
            later_events: Vec::new(),
            commits: self.commits.clone(),
        })
    }
}

/// An event waiting for its transaction to commit.
struct PendingEvent {
    kind: EventKind,
    subject_id: Option<String>,
    data: serde_json::Value,
}

/// A write transaction with the events it will append.
struct WriteTx {
    tx: Transaction<'static, Any>,
    _serial: Option<OwnedMutexGuard<()>>,
    now: Timestamp,
    actor: String,
    events: Vec<PendingEvent>,
    /// Consequences (component status changes) that follow the main events in the log.
    later_events: Vec<PendingEvent>,
    commits: Arc<tokio::sync::watch::Sender<i64>>,
}

impl WriteTx {
    fn emit(&mut self, kind: EventKind, subject_id: impl ToString, data: serde_json::Value) {
        self.events.push(PendingEvent {
            kind,
            subject_id: Some(subject_id.to_string()),
            data,
        });
    }

    /// Appends the events and commits. The counter update comes last so its row lock, which
    /// orders all appends, is held only for the commit itself.
    async fn commit(mut self) -> StoreResult<()> {
        let mut events = std::mem::take(&mut self.events);
        events.append(&mut self.later_events);
        if !events.is_empty() {
            let row = sqlx::query(
                "UPDATE event_counter SET last_seq = last_seq + $1 WHERE id = 1 RETURNING last_seq",
            )
            .bind(events.len() as i64)
            .fetch_one(&mut *self.tx)
            .await
            .map_err(map_err)?;
            let last: i64 = get(&row, "last_seq")?;
            let first = last - events.len() as i64 + 1;
            for (i, event) in events.iter().enumerate() {
                sqlx::query(
                    "INSERT INTO events (seq, kind, subject_id, actor, at, data) VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(first + i as i64)
                .bind(event.kind.as_str())
                .bind(event.subject_id.clone())
                .bind(self.actor.clone())
                .bind(self.now.to_db())
                .bind(event.data.to_string())
                .execute(&mut *self.tx)
                .await
                .map_err(map_err)?;
            }
            metrics::counter!("pharos_events_appended_total").increment(events.len() as u64);
            self.tx.commit().await.map_err(map_err)?;
            self.commits.send_if_modified(|seen| {
                let newer = last > *seen;
                if newer {
                    *seen = last;
                }
                newer
            });
            return Ok(());
        }
        self.tx.commit().await.map_err(map_err)
    }

    // ---- components ---------------------------------------------------------------------

    /// Checks that every id names a component; returns their names and current statuses.
    async fn components_by_id(
        &mut self,
        ids: &[ComponentId],
    ) -> StoreResult<BTreeMap<ComponentId, (String, ComponentStatus)>> {
        let mut found = BTreeMap::new();
        if ids.is_empty() {
            return Ok(found);
        }
        let sql = format!(
            "SELECT id, name, status FROM components WHERE id IN ({})",
            placeholders(1, ids.len())
        );
        let mut q = sqlx::query(&sql);
        for id in ids {
            q = q.bind(id.to_string());
        }
        for row in q.fetch_all(&mut *self.tx).await.map_err(map_err)? {
            found.insert(
                get_id(&row, "id")?,
                (get(&row, "name")?, get_enum(&row, "status")?),
            );
        }
        if let Some(missing) = ids.iter().find(|id| !found.contains_key(id)) {
            return Err(StoreError::invalid(format!(
                "component `{missing}` does not exist"
            )));
        }
        Ok(found)
    }

    async fn load_component(&mut self, id: ComponentId) -> StoreResult<Component> {
        let row = sqlx::query(&format!(
            "SELECT {COMPONENT_COLUMNS} FROM components WHERE id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(map_err)?
        .ok_or_else(|| StoreError::not_found("component", id))?;
        component_from_row(&row)
    }

    async fn load_group(&mut self, id: ComponentGroupId) -> StoreResult<ComponentGroup> {
        let row = sqlx::query(&format!(
            "SELECT {GROUP_COLUMNS} FROM component_groups WHERE id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(map_err)?
        .ok_or_else(|| StoreError::not_found("component group", id))?;
        group_from_row(&row)
    }

    /// Takes the row locks of these components in id order before anything else in the
    /// transaction touches them (see the module doc). Two transactions naming the same
    /// components in different orders would otherwise each lock one and wait for the other.
    /// Unknown ids lock nothing; callers check existence separately.
    async fn lock_components(
        &mut self,
        ids: impl IntoIterator<Item = ComponentId>,
    ) -> StoreResult<()> {
        for id in ids.into_iter().collect::<BTreeSet<_>>() {
            sqlx::query("UPDATE components SET updated_at = updated_at WHERE id = $1")
                .bind(id.to_string())
                .execute(&mut *self.tx)
                .await
                .map_err(map_err)?;
        }
        Ok(())
    }

    /// Applies the status rule to each component and records every change (history row and
    /// `component.status_changed` event). Returns the status of each component afterwards.
    async fn recompute_components(
        &mut self,
        ids: impl IntoIterator<Item = ComponentId>,
    ) -> StoreResult<BTreeMap<ComponentId, ComponentStatus>> {
        let ids: BTreeSet<ComponentId> = ids.into_iter().collect();
        let mut after = BTreeMap::new();
        for id in ids {
            // Take the row lock first (see the module doc), then read the holds.
            let touched =
                sqlx::query("UPDATE components SET updated_at = updated_at WHERE id = $1")
                    .bind(id.to_string())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
            if touched.rows_affected() == 0 {
                continue;
            }
            let row = sqlx::query(
                "SELECT status, base_status, status_pinned FROM components WHERE id = $1",
            )
            .bind(id.to_string())
            .fetch_one(&mut *self.tx)
            .await
            .map_err(map_err)?;
            let current: ComponentStatus = get_enum(&row, "status")?;
            let base: ComponentStatus = get_enum(&row, "base_status")?;
            let mut pinned = get_bool(&row, "status_pinned")?;
            let holds = sqlx::query(&format!(
                // Start from the few open incidents and active maintenances and probe the
                // link tables by primary key: a component's whole incident history is never
                // walked. CROSS JOIN fixes that loop order in SQLite; PostgreSQL plans freely.
                "SELECT ic.status AS status FROM incidents i CROSS JOIN incident_components ic \
                  WHERE i.resolved_at IS NULL AND ic.incident_id = i.id \
                    AND ic.component_id = $1 AND ic.status IS NOT NULL \
                 UNION ALL \
                 SELECT 'under_maintenance' AS status FROM maintenances m CROSS JOIN maintenance_components mc \
                  WHERE m.status IN ('in_progress', 'verifying') AND mc.maintenance_id = m.id \
                    AND mc.component_id = $1 \
                 UNION ALL \
                 SELECT CASE WHEN mo.health = 'down' THEN mc.down_status ELSE 'degraded_performance' END AS status \
                   FROM monitor_components mc CROSS JOIN monitors mo \
                  WHERE mc.component_id = $1 AND mo.id = mc.monitor_id \
                    AND mo.health IN ('down', 'degraded') \
                 UNION ALL \
                 SELECT d.set_status AS status {} \
                    AND d.component_id = $1 AND d.set_status IS NOT NULL",
                vendors::UPSTREAM_JOIN
            ))
            .bind(id.to_string())
            .fetch_all(&mut *self.tx)
            .await
            .map_err(map_err)?
            .iter()
            .map(|r| get_enum::<ComponentStatus>(r, "status"))
            .collect::<StoreResult<Vec<_>>>()?;
            // A pin only means something while holds exist; once they are gone it lapses.
            if holds.is_empty() {
                pinned = false;
            }
            let new = effective_status(StatusInputs {
                base_status: base,
                pinned,
                holds: &holds,
            });
            after.insert(id, new);
            if new == current {
                sqlx::query("UPDATE components SET status_pinned = $2 WHERE id = $1")
                    .bind(id.to_string())
                    .bind(pinned as i64)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                continue;
            }
            sqlx::query(
                "UPDATE components SET status = $2, status_pinned = $3, updated_at = $4 WHERE id = $1",
            )
            .bind(id.to_string())
            .bind(new.as_str())
            .bind(pinned as i64)
            .bind(self.now.to_db())
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
            sqlx::query(
                "INSERT INTO component_status_history (id, component_id, from_status, to_status, at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(uuid::Uuid::now_v7().to_string())
            .bind(id.to_string())
            .bind(current.as_str())
            .bind(new.as_str())
            .bind(self.now.to_db())
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
            let component = self.load_component(id).await?;
            self.later_events.push(PendingEvent {
                kind: EventKind::ComponentStatusChanged,
                subject_id: Some(id.to_string()),
                data: serde_json::json!({ "from": current, "to": new, "component": component }),
            });
        }
        Ok(after)
    }

    // ---- incidents ----------------------------------------------------------------------

    /// Opens an incident with its first update, holding its components' statuses; queues
    /// `incident.opened`.
    async fn open_incident(&mut self, input: NewIncident) -> StoreResult<Incident> {
        let id = IncidentId::new();
        let named: Vec<ComponentId> = input.components.iter().map(|c| c.component_id).collect();
        self.lock_components(named.iter().copied()).await?;
        let before = self.components_by_id(&named).await?;
        let impact = input.impact.unwrap_or_else(|| {
            IncidentImpact::from_component_status(ComponentStatus::worst(
                input.components.iter().filter_map(|c| c.status),
            ))
        });
        let now = self.now;
        let resolved_at = input.status.is_closed().then_some(now);
        sqlx::query(
            "INSERT INTO incidents (id, short_id, name, status, impact, source_kind, source_ref, started_at, \
                                    monitoring_at, resolved_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)",
        )
        .bind(id.to_string())
        .bind(new_short_id())
        .bind(input.name.clone())
        .bind(input.status.as_str())
        .bind(impact.as_str())
        .bind(input.source.kind.as_str())
        .bind(input.source.reference.clone())
        .bind(input.started_at.unwrap_or(now).to_db())
        .bind((input.status == IncidentStatus::Monitoring).then(|| now.to_db()))
        .bind(resolved_at.map(|t| t.to_db()))
        .bind(now.to_db())
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        self.apply_holds(id, &input.components).await?;
        let after = self.recompute_components(named.iter().copied()).await?;
        let affected: Vec<AffectedComponent> = named
            .iter()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .map(|cid| {
                let (name, old_status) = before[cid].clone();
                AffectedComponent {
                    component_id: *cid,
                    name,
                    old_status,
                    new_status: after.get(cid).copied().unwrap_or(old_status),
                }
            })
            .collect();
        self.insert_update(id, input.status, &input.body, &affected)
            .await?;
        let incident = self.load_incident(id).await?;
        let first = incident.updates.first().map(|u| u.id);
        self.emit(
            EventKind::IncidentOpened,
            id,
            incident_event(&incident, first),
        );
        Ok(incident)
    }

    /// Locks the incident row for the rest of the transaction and returns its status.
    async fn lock_incident(&mut self, id: IncidentId) -> StoreResult<IncidentStatus> {
        let row =
            sqlx::query("UPDATE incidents SET updated_at = $2 WHERE id = $1 RETURNING status")
                .bind(id.to_string())
                .bind(self.now.to_db())
                .fetch_optional(&mut *self.tx)
                .await
                .map_err(map_err)?
                .ok_or_else(|| StoreError::not_found("incident", id))?;
        get_enum(&row, "status")
    }

    /// A person writing to an incident Pharos opened takes it over: from then on the
    /// automation posts only the recovery to it (`monitor::evaluate::incident_action`).
    async fn mark_taken_over(&mut self, id: IncidentId) -> StoreResult<()> {
        if self.actor == Actor::system().as_str() {
            return Ok(());
        }
        sqlx::query(
            "UPDATE incidents SET taken_over_at = $2 \
              WHERE id = $1 AND source_kind <> 'manual' AND taken_over_at IS NULL",
        )
        .bind(id.to_string())
        .bind(self.now.to_db())
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn incident_component_ids(&mut self, id: IncidentId) -> StoreResult<Vec<ComponentId>> {
        let rows =
            sqlx::query("SELECT component_id FROM incident_components WHERE incident_id = $1")
                .bind(id.to_string())
                .fetch_all(&mut *self.tx)
                .await
                .map_err(map_err)?;
        rows.iter().map(|r| get_id(r, "component_id")).collect()
    }

    /// Records the holds an incident or update names. A change without a status marks the
    /// component affected and keeps any status the incident already holds for it.
    async fn apply_holds(
        &mut self,
        id: IncidentId,
        changes: &[ComponentChange],
    ) -> StoreResult<()> {
        for change in changes {
            sqlx::query(
                "INSERT INTO incident_components (incident_id, component_id, status) VALUES ($1, $2, $3) \
                 ON CONFLICT (incident_id, component_id) \
                 DO UPDATE SET status = COALESCE(excluded.status, incident_components.status)",
            )
            .bind(id.to_string())
            .bind(change.component_id.to_string())
            .bind(change.status.map(|s| s.as_str()))
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
            if change.status.is_some() {
                // Naming a component's status in an incident ends a hand-set pin.
                sqlx::query("UPDATE components SET status_pinned = 0 WHERE id = $1")
                    .bind(change.component_id.to_string())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
            }
        }
        Ok(())
    }

    async fn insert_update(
        &mut self,
        incident: IncidentId,
        status: IncidentStatus,
        body: &str,
        affected: &[AffectedComponent],
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO incident_updates (id, incident_id, status, body, affected_components, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6)",
        )
        .bind(IncidentUpdateId::new().to_string())
        .bind(incident.to_string())
        .bind(status.as_str())
        .bind(body)
        .bind(serde_json::to_string(affected).expect("serialise"))
        .bind(self.now.to_db())
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn load_incident(&mut self, id: IncidentId) -> StoreResult<Incident> {
        let row = sqlx::query(&format!(
            "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(map_err)?
        .ok_or_else(|| StoreError::not_found("incident", id))?;
        let mut incidents = vec![incident_from_row(&row)?];
        fill_incidents(&mut self.tx, &mut incidents).await?;
        Ok(incidents.remove(0))
    }

    /// Posts an update (possibly resolving) to a locked, open incident.
    async fn post_update_locked(
        &mut self,
        id: IncidentId,
        current: IncidentStatus,
        input: NewIncidentUpdate,
    ) -> StoreResult<Incident> {
        let status = input.status.unwrap_or(current);
        if status == IncidentStatus::Postmortem {
            return Err(StoreError::invalid(
                "an update cannot set status `postmortem`; publish the postmortem with PUT /api/v1/incidents/{id}/postmortem",
            ));
        }
        let named: Vec<ComponentId> = input.components.iter().map(|c| c.component_id).collect();
        let resolving = status == IncidentStatus::Resolved;
        let mut recompute: BTreeSet<ComponentId> = named.iter().copied().collect();
        if resolving {
            recompute.extend(self.incident_component_ids(id).await?);
        }
        // Lock before reading the statuses, so `before` cannot be overtaken by a commit.
        self.lock_components(recompute.iter().copied()).await?;
        let before = self.components_by_id(&named).await?;
        self.apply_holds(id, &input.components).await?;
        sqlx::query(
            "UPDATE incidents SET status = $2, \
                    impact = COALESCE($3, impact), \
                    monitoring_at = CASE WHEN $2 = 'monitoring' AND monitoring_at IS NULL THEN $4 ELSE monitoring_at END, \
                    resolved_at = CASE WHEN $2 = 'resolved' THEN $4 ELSE resolved_at END, \
                    updated_at = $4 \
              WHERE id = $1",
        )
        .bind(id.to_string())
        .bind(status.as_str())
        .bind(input.impact.map(|i| i.as_str()))
        .bind(self.now.to_db())
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        // Statuses before the update, for the components not named in it (resolution).
        let mut old = before.clone();
        let unnamed: Vec<ComponentId> = recompute
            .iter()
            .filter(|c| !old.contains_key(c))
            .copied()
            .collect();
        old.extend(self.components_by_id(&unnamed).await?);
        let after = self.recompute_components(recompute.iter().copied()).await?;
        let affected: Vec<AffectedComponent> = recompute
            .iter()
            .filter_map(|cid| {
                let (name, old_status) = old.get(cid)?.clone();
                let new_status = *after.get(cid)?;
                // A resolution lists the components it named and those it changed.
                (named.contains(cid) || old_status != new_status).then_some(AffectedComponent {
                    component_id: *cid,
                    name,
                    old_status,
                    new_status,
                })
            })
            .collect();
        self.insert_update(id, status, &input.body, &affected)
            .await?;
        let incident = self.load_incident(id).await?;
        let kind = if resolving {
            EventKind::IncidentResolved
        } else {
            EventKind::IncidentUpdatePosted
        };
        let latest = incident.updates.first().map(|u| u.id);
        self.emit(kind, id, incident_event(&incident, latest));
        Ok(incident)
    }

    // ---- maintenances -------------------------------------------------------------------

    async fn lock_maintenance(&mut self, id: MaintenanceId) -> StoreResult<MaintenanceStatus> {
        let row =
            sqlx::query("UPDATE maintenances SET updated_at = $2 WHERE id = $1 RETURNING status")
                .bind(id.to_string())
                .bind(self.now.to_db())
                .fetch_optional(&mut *self.tx)
                .await
                .map_err(map_err)?
                .ok_or_else(|| StoreError::not_found("maintenance", id))?;
        get_enum(&row, "status")
    }

    async fn maintenance_component_ids(
        &mut self,
        id: MaintenanceId,
    ) -> StoreResult<Vec<ComponentId>> {
        let rows = sqlx::query(
            "SELECT component_id FROM maintenance_components WHERE maintenance_id = $1",
        )
        .bind(id.to_string())
        .fetch_all(&mut *self.tx)
        .await
        .map_err(map_err)?;
        rows.iter().map(|r| get_id(r, "component_id")).collect()
    }

    async fn insert_maintenance_update(
        &mut self,
        id: MaintenanceId,
        status: MaintenanceStatus,
        body: &str,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO maintenance_updates (id, maintenance_id, status, body, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(IncidentUpdateId::new().to_string())
        .bind(id.to_string())
        .bind(status.as_str())
        .bind(body)
        .bind(self.now.to_db())
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    /// Moves a locked maintenance to `to`, stamping its times and recomputing its components.
    async fn transition_maintenance(
        &mut self,
        id: MaintenanceId,
        from: MaintenanceStatus,
        to: MaintenanceStatus,
        body: Option<&str>,
    ) -> StoreResult<()> {
        if from == to {
            if let Some(body) = body {
                self.insert_maintenance_update(id, to, body).await?;
            }
            return Ok(());
        }
        sqlx::query(
            "UPDATE maintenances SET status = $2, \
                    started_at = CASE WHEN $2 IN ('in_progress', 'verifying', 'completed') AND started_at IS NULL THEN $3 ELSE started_at END, \
                    completed_at = CASE WHEN $2 = 'completed' THEN $3 ELSE completed_at END, \
                    updated_at = $3 \
              WHERE id = $1",
        )
        .bind(id.to_string())
        .bind(to.as_str())
        .bind(self.now.to_db())
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        let default_body = match to {
            MaintenanceStatus::Scheduled => "The maintenance is scheduled.",
            MaintenanceStatus::InProgress => "The scheduled maintenance is in progress.",
            MaintenanceStatus::Verifying => "Verification is underway.",
            MaintenanceStatus::Completed => "The scheduled maintenance has been completed.",
        };
        self.insert_maintenance_update(id, to, body.unwrap_or(default_body))
            .await?;
        if from.is_active() != to.is_active() {
            let components = self.maintenance_component_ids(id).await?;
            self.recompute_components(components).await?;
        }
        Ok(())
    }

    async fn load_maintenance(&mut self, id: MaintenanceId) -> StoreResult<Maintenance> {
        let row = sqlx::query(&format!(
            "SELECT {MAINTENANCE_COLUMNS} FROM maintenances WHERE id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(map_err)?
        .ok_or_else(|| StoreError::not_found("maintenance", id))?;
        let mut list = vec![maintenance_from_row(&row)?];
        fill_maintenances(&mut self.tx, &mut list).await?;
        Ok(list.remove(0))
    }

    async fn set_maintenance_components(
        &mut self,
        id: MaintenanceId,
        component_ids: &[ComponentId],
    ) -> StoreResult<()> {
        self.components_by_id(component_ids).await?;
        sqlx::query("DELETE FROM maintenance_components WHERE maintenance_id = $1")
            .bind(id.to_string())
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        for cid in component_ids.iter().collect::<BTreeSet<_>>() {
            sqlx::query(
                "INSERT INTO maintenance_components (maintenance_id, component_id) VALUES ($1, $2)",
            )
            .bind(id.to_string())
            .bind(cid.to_string())
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        }
        Ok(())
    }
}

// ---- row mapping --------------------------------------------------------------------------

const GROUP_COLUMNS: &str =
    "id, name, description, position, managed_by, config_key, created_at, updated_at";

fn group_from_row(row: &AnyRow) -> StoreResult<ComponentGroup> {
    Ok(ComponentGroup {
        id: get_id(row, "id")?,
        name: get(row, "name")?,
        description: get(row, "description")?,
        position: get(row, "position")?,
        managed_by: get_enum(row, "managed_by")?,
        config_key: get(row, "config_key")?,
        created_at: get_ts(row, "created_at")?,
        updated_at: get_ts(row, "updated_at")?,
    })
}

const COMPONENT_COLUMNS: &str = "id, name, description, group_id, position, status, base_status, \
     status_pinned, showcase, only_show_if_degraded, start_date, managed_by, config_key, created_at, updated_at";

fn component_from_row(row: &AnyRow) -> StoreResult<Component> {
    Ok(Component {
        id: get_id(row, "id")?,
        name: get(row, "name")?,
        description: get(row, "description")?,
        group_id: get_opt_enum(row, "group_id")?,
        position: get(row, "position")?,
        status: get_enum(row, "status")?,
        base_status: get_enum(row, "base_status")?,
        status_pinned: get_bool(row, "status_pinned")?,
        showcase: get_bool(row, "showcase")?,
        only_show_if_degraded: get_bool(row, "only_show_if_degraded")?,
        start_date: get(row, "start_date")?,
        managed_by: get_enum(row, "managed_by")?,
        config_key: get(row, "config_key")?,
        created_at: get_ts(row, "created_at")?,
        updated_at: get_ts(row, "updated_at")?,
    })
}

const INCIDENT_COLUMNS: &str = "id, short_id, name, status, impact, source_kind, source_ref, started_at, \
     monitoring_at, resolved_at, postmortem_body, postmortem_published_at, postmortem_updated_at, created_at, updated_at";

fn incident_from_row(row: &AnyRow) -> StoreResult<Incident> {
    let postmortem_body: Option<String> = get(row, "postmortem_body")?;
    let postmortem = match postmortem_body {
        Some(body) => Some(Postmortem {
            body,
            published_at: get_opt_ts(row, "postmortem_published_at")?,
            updated_at: get_opt_ts(row, "postmortem_updated_at")?
                .ok_or_else(|| corrupt("postmortem_updated_at", "missing"))?,
        }),
        None => None,
    };
    Ok(Incident {
        id: get_id(row, "id")?,
        short_id: get(row, "short_id")?,
        name: get(row, "name")?,
        status: get_enum(row, "status")?,
        impact: get_enum(row, "impact")?,
        source: IncidentSource {
            kind: get_enum(row, "source_kind")?,
            reference: get(row, "source_ref")?,
        },
        started_at: get_ts(row, "started_at")?,
        monitoring_at: get_opt_ts(row, "monitoring_at")?,
        resolved_at: get_opt_ts(row, "resolved_at")?,
        components: Vec::new(),
        updates: Vec::new(),
        postmortem,
        created_at: get_ts(row, "created_at")?,
        updated_at: get_ts(row, "updated_at")?,
    })
}

/// Loads the components and updates of several incidents in two queries.
async fn fill_incidents(
    exec: &mut sqlx::AnyConnection,
    incidents: &mut [Incident],
) -> StoreResult<()> {
    if incidents.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = incidents.iter().map(|i| i.id.to_string()).collect();
    let list = placeholders(1, ids.len());
    let sql = format!(
        "SELECT incident_id, component_id, status FROM incident_components WHERE incident_id IN ({list}) \
         ORDER BY incident_id, component_id"
    );
    let mut q = sqlx::query(&sql);
    for id in &ids {
        q = q.bind(id.clone());
    }
    let mut components: BTreeMap<IncidentId, Vec<IncidentComponent>> = BTreeMap::new();
    for row in q.fetch_all(&mut *exec).await.map_err(map_err)? {
        components
            .entry(get_id(&row, "incident_id")?)
            .or_default()
            .push(IncidentComponent {
                component_id: get_id(&row, "component_id")?,
                status: get_opt_enum(&row, "status")?,
            });
    }
    let sql = format!(
        "SELECT u.id, u.incident_id, u.status, u.body, u.affected_components, u.created_at, u.updated_at, \
                (SELECT COUNT(*) FROM incident_update_edits e WHERE e.update_id = u.id) AS edit_count \
           FROM incident_updates u WHERE u.incident_id IN ({list}) ORDER BY u.created_at DESC, u.id DESC"
    );
    let mut q = sqlx::query(&sql);
    for id in &ids {
        q = q.bind(id.clone());
    }
    let mut updates: BTreeMap<IncidentId, Vec<IncidentUpdate>> = BTreeMap::new();
    for row in q.fetch_all(&mut *exec).await.map_err(map_err)? {
        let affected: String = get(&row, "affected_components")?;
        updates
            .entry(get_id(&row, "incident_id")?)
            .or_default()
            .push(IncidentUpdate {
                id: get_id(&row, "id")?,
                status: get_enum(&row, "status")?,
                body: get(&row, "body")?,
                affected_components: serde_json::from_str(&affected)
                    .map_err(|e| corrupt("affected_components", e))?,
                created_at: get_ts(&row, "created_at")?,
                updated_at: get_ts(&row, "updated_at")?,
                edit_count: get(&row, "edit_count")?,
            });
    }
    for incident in incidents.iter_mut() {
        incident.components = components.remove(&incident.id).unwrap_or_default();
        incident.updates = updates.remove(&incident.id).unwrap_or_default();
    }
    Ok(())
}

const MAINTENANCE_COLUMNS: &str =
    "id, short_id, name, status, scheduled_for, scheduled_until, auto_transition, \
     started_at, completed_at, cancelled_at, created_at, updated_at";

fn maintenance_from_row(row: &AnyRow) -> StoreResult<Maintenance> {
    Ok(Maintenance {
        id: get_id(row, "id")?,
        short_id: get(row, "short_id")?,
        name: get(row, "name")?,
        status: get_enum(row, "status")?,
        scheduled_for: get_ts(row, "scheduled_for")?,
        scheduled_until: get_ts(row, "scheduled_until")?,
        auto_transition: get_bool(row, "auto_transition")?,
        component_ids: Vec::new(),
        updates: Vec::new(),
        started_at: get_opt_ts(row, "started_at")?,
        completed_at: get_opt_ts(row, "completed_at")?,
        cancelled_at: get_opt_ts(row, "cancelled_at")?,
        created_at: get_ts(row, "created_at")?,
        updated_at: get_ts(row, "updated_at")?,
    })
}

async fn fill_maintenances(
    exec: &mut sqlx::AnyConnection,
    list: &mut [Maintenance],
) -> StoreResult<()> {
    if list.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = list.iter().map(|m| m.id.to_string()).collect();
    let in_list = placeholders(1, ids.len());
    let sql = format!(
        "SELECT maintenance_id, component_id FROM maintenance_components WHERE maintenance_id IN ({in_list}) \
         ORDER BY maintenance_id, component_id"
    );
    let mut q = sqlx::query(&sql);
    for id in &ids {
        q = q.bind(id.clone());
    }
    let mut components: BTreeMap<MaintenanceId, Vec<ComponentId>> = BTreeMap::new();
    for row in q.fetch_all(&mut *exec).await.map_err(map_err)? {
        components
            .entry(get_id(&row, "maintenance_id")?)
            .or_default()
            .push(get_id(&row, "component_id")?);
    }
    let sql = format!(
        "SELECT id, maintenance_id, status, body, created_at FROM maintenance_updates \
          WHERE maintenance_id IN ({in_list}) ORDER BY created_at DESC, id DESC"
    );
    let mut q = sqlx::query(&sql);
    for id in &ids {
        q = q.bind(id.clone());
    }
    let mut updates: BTreeMap<MaintenanceId, Vec<MaintenanceUpdate>> = BTreeMap::new();
    for row in q.fetch_all(&mut *exec).await.map_err(map_err)? {
        updates
            .entry(get_id(&row, "maintenance_id")?)
            .or_default()
            .push(MaintenanceUpdate {
                id: get_id(&row, "id")?,
                status: get_enum(&row, "status")?,
                body: get(&row, "body")?,
                created_at: get_ts(&row, "created_at")?,
            });
    }
    for m in list.iter_mut() {
        m.component_ids = components.remove(&m.id).unwrap_or_default();
        m.updates = updates.remove(&m.id).unwrap_or_default();
    }
    Ok(())
}

fn status_change_from_row(row: &AnyRow) -> StoreResult<ComponentStatusChange> {
    Ok(ComponentStatusChange {
        component_id: get_id(row, "component_id")?,
        from: get_opt_enum(row, "from_status")?,
        to: get_enum(row, "to_status")?,
        at: get_ts(row, "at")?,
    })
}

fn event_from_row(row: &AnyRow) -> StoreResult<Event> {
    let data: String = get(row, "data")?;
    Ok(Event {
        seq: get(row, "seq")?,
        kind: get(row, "kind")?,
        subject_id: get(row, "subject_id")?,
        actor: get(row, "actor")?,
        at: get_ts(row, "at")?,
        data: serde_json::from_str(&data).map_err(|e| corrupt("event data", e))?,
    })
}

fn token_from_row(row: &AnyRow) -> StoreResult<StoredToken> {
    Ok(StoredToken {
        token: ApiToken {
            id: TokenId(get_id(row, "id")?),
            name: get(row, "name")?,
            scope: get_enum(row, "scope")?,
            created_at: get_ts(row, "created_at")?,
            last_used_at: get_opt_ts(row, "last_used_at")?,
            revoked_at: get_opt_ts(row, "revoked_at")?,
        },
        secret_hash: get(row, "secret_hash")?,
    })
}

/// Pages ordered by `(position, id)`.
fn position_page<T>(mut items: Vec<T>, limit: u32, key: impl Fn(&T) -> (i64, String)) -> Page<T> {
    let next_cursor = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(|last| {
            let (pos, id) = key(last);
            encode_cursor(&[&pos.to_string(), &id])
        })
    } else {
        None
    };
    Page { items, next_cursor }
}

fn position_cursor(page: &PageRequest) -> StoreResult<(i64, String)> {
    match &page.cursor {
        None => Ok((i64::MIN, String::new())),
        Some(c) => {
            let parts = decode_cursor(c, 2)?;
            let pos = parts[0]
                .parse()
                .map_err(|_| StoreError::invalid("the `cursor` is not one this server issued"))?;
            Ok((pos, parts[1].clone()))
        }
    }
}

#[async_trait]
impl Store for SqlStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn close(&self) {
        self.pool.close().await;
    }

    fn subscribe_commits(&self) -> Option<tokio::sync::watch::Receiver<i64>> {
        Some(self.commits.subscribe())
    }

    fn pool_stats(&self) -> Option<(u32, usize)> {
        Some((self.pool.size(), self.pool.num_idle()))
    }

    // ---- component groups ---------------------------------------------------------------

    async fn create_group(&self, input: NewGroup, actor: &Actor) -> StoreResult<ComponentGroup> {
        let mut w = self.begin(actor).await?;
        let id = ComponentGroupId::new();
        insert_group(
            &mut w,
            id,
            &input.name,
            input.description.as_deref(),
            input.position,
            None,
        )
        .await?;
        let group = w.load_group(id).await?;
        w.emit(EventKind::ComponentGroupCreated, id, json(&group));
        w.commit().await?;
        Ok(group)
    }

    async fn update_group(
        &self,
        id: ComponentGroupId,
        patch: GroupPatch,
        actor: &Actor,
    ) -> StoreResult<ComponentGroup> {
        let mut w = self.begin(actor).await?;
        // Lock before reading: the UPDATE below writes back every field it read, and would
        // undo a concurrent patch of another field.
        sqlx::query("UPDATE component_groups SET updated_at = updated_at WHERE id = $1")
            .bind(id.to_string())
            .execute(&mut *w.tx)
            .await
            .map_err(map_err)?;
        let current = w.load_group(id).await?;
        sqlx::query(
            "UPDATE component_groups SET name = $2, description = $3, position = $4, updated_at = $5 WHERE id = $1",
        )
        .bind(id.to_string())
        .bind(patch.name.unwrap_or(current.name))
        .bind(patch.description.unwrap_or(current.description))
        .bind(patch.position.unwrap_or(current.position))
        .bind(w.now.to_db())
        .execute(&mut *w.tx)
        .await
        .map_err(map_err)?;
        let group = w.load_group(id).await?;
        w.emit(EventKind::ComponentGroupUpdated, id, json(&group));
        w.commit().await?;
        Ok(group)
    }

    async fn delete_group(&self, id: ComponentGroupId, actor: &Actor) -> StoreResult<()> {
        let mut w = self.begin(actor).await?;
        let group = w.load_group(id).await?;
        if group.managed_by == ManagedBy::Config {
            return Err(StoreError::conflict(
                "managed_by_config",
                format!(
                    "component group `{}` is declared in the configuration file (key `{}`); remove it there and restart instead",
                    group.name,
                    group.config_key.unwrap_or_default()
                ),
            ));
        }
        let members = sqlx::query("SELECT id FROM components WHERE group_id = $1 ORDER BY id")
            .bind(id.to_string())
            .fetch_all(&mut *w.tx)
            .await
            .map_err(map_err)?
            .iter()
            .map(|r| get_id::<ComponentId>(r, "id"))
            .collect::<StoreResult<Vec<_>>>()?;
        for cid in members {
            sqlx::query("UPDATE components SET group_id = NULL, updated_at = $2 WHERE id = $1")
                .bind(cid.to_string())
                .bind(w.now.to_db())
                .execute(&mut *w.tx)
                .await
                .map_err(map_err)?;
            let component = w.load_component(cid).await?;
            w.emit(EventKind::ComponentUpdated, cid, json(&component));
        }
        sqlx::query("DELETE FROM component_groups WHERE id = $1")
            .bind(id.to_string())
            .execute(&mut *w.tx)
            .await
            .map_err(map_err)?;
        w.emit(EventKind::ComponentGroupDeleted, id, json(&group));
        w.commit().await
    }

    async fn get_group(&self, id: ComponentGroupId) -> StoreResult<ComponentGroup> {
        let row = sqlx::query(&format!(
            "SELECT {GROUP_COLUMNS} FROM component_groups WHERE id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?
        .ok_or_else(|| StoreError::not_found("component group", id))?;
        group_from_row(&row)
    }

    async fn list_groups(&self, page: PageRequest) -> StoreResult<Page<ComponentGroup>> {
        let (pos, id) = position_cursor(&page)?;
        let rows = sqlx::query(&format!(
            "SELECT {GROUP_COLUMNS} FROM component_groups \
              WHERE position > $1 OR (position = $1 AND id > $2) ORDER BY position, id LIMIT $3"
        ))
        .bind(pos)
        .bind(id)
        .bind(page.limit as i64 + 1)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        let items = rows
            .iter()
            .map(group_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(position_page(items, page.limit, |g| {
            (g.position, g.id.to_string())
        }))
    }

    // ---- components ---------------------------------------------------------------------

    async fn create_component(&self, input: NewComponent, actor: &Actor) -> StoreResult<Component> {
        let mut w = self.begin(actor).await?;
        let id = ComponentId::new();
        insert_component(&mut w, id, &input, None).await?;
        let component = w.load_component(id).await?;
        w.emit(EventKind::ComponentCreated, id, json(&component));
        w.commit().await?;
        Ok(component)
    }

    async fn update_component(
        &self,
        id: ComponentId,
        patch: ComponentPatch,
        actor: &Actor,
    ) -> StoreResult<Component> {
        let mut w = self.begin(actor).await?;
        // Lock before reading: the UPDATE below writes back every field it read, and would
        // undo a concurrent patch of another field.
        w.lock_components([id]).await?;
        let current = w.load_component(id).await?;
        let group_id = patch.group_id.unwrap_or(current.group_id);
        if let Some(gid) = group_id {
            w.load_group(gid).await.map_err(|_| {
                StoreError::invalid(format!("component group `{gid}` does not exist"))
            })?;
        }
        let status_change = patch.status;
        sqlx::query(
            "UPDATE components SET name = $2, description = $3, group_id = $4, position = $5, \
                    base_status = $6, showcase = $7, only_show_if_degraded = $8, start_date = $9, \
                    status_pinned = CASE WHEN $10 = 1 THEN 1 ELSE status_pinned END, updated_at = $11 \
              WHERE id = $1",
        )
        .bind(id.to_string())
        .bind(patch.name.unwrap_or(current.name))
        .bind(patch.description.unwrap_or(current.description))
        .bind(group_id.map(|g| g.to_string()))
        .bind(patch.position.unwrap_or(current.position))
        .bind(status_change.unwrap_or(current.base_status).as_str())
        .bind(patch.showcase.unwrap_or(current.showcase) as i64)
        .bind(patch.only_show_if_degraded.unwrap_or(current.only_show_if_degraded) as i64)
        .bind(patch.start_date.unwrap_or(current.start_date))
        .bind(status_change.is_some() as i64)
        .bind(w.now.to_db())
        .execute(&mut *w.tx)
        .await
        .map_err(map_err)?;
        w.recompute_components([id]).await?;
        let component = w.load_component(id).await?;
        w.emit(EventKind::ComponentUpdated, id, json(&component));
        w.commit().await?;
        Ok(component)
    }

    async fn delete_component(&self, id: ComponentId, actor: &Actor) -> StoreResult<()> {
        let mut w = self.begin(actor).await?;
        let component = w.load_component(id).await?;
        if component.managed_by == ManagedBy::Config {
            return Err(StoreError::conflict(
                "managed_by_config",
                format!(
                    "component `{}` is declared in the configuration file (key `{}`); remove it there and restart instead",
                    component.name,
                    component.config_key.unwrap_or_default()
                ),
            ));
        }
        sqlx::query("DELETE FROM components WHERE id = $1")
            .bind(id.to_string())
            .execute(&mut *w.tx)
            .await
            .map_err(map_err)?;
        w.emit(EventKind::ComponentDeleted, id, json(&component));
        w.commit().await
    }

    async fn get_component(&self, id: ComponentId) -> StoreResult<Component> {
        let row = sqlx::query(&format!(
            "SELECT {COMPONENT_COLUMNS} FROM components WHERE id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?
        .ok_or_else(|| StoreError::not_found("component", id))?;
        component_from_row(&row)
    }

    async fn list_components(&self, page: PageRequest) -> StoreResult<Page<Component>> {
        let (pos, id) = position_cursor(&page)?;
        let rows = sqlx::query(&format!(
            "SELECT {COMPONENT_COLUMNS} FROM components \
              WHERE position > $1 OR (position = $1 AND id > $2) ORDER BY position, id LIMIT $3"
        ))
        .bind(pos)
        .bind(id)
        .bind(page.limit as i64 + 1)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        let items = rows
            .iter()
            .map(component_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(position_page(items, page.limit, |c| {
            (c.position, c.id.to_string())
        }))
    }

    async fn status_changes_window(
        &self,
        since: Timestamp,
    ) -> StoreResult<Vec<ComponentStatusChange>> {
        // The change in force at `since` is found per component through the
        // (component_id, at) index, never by scanning old history.
        let rows = sqlx::query(
            "SELECT h.component_id AS component_id, h.from_status AS from_status, \
                    h.to_status AS to_status, h.at AS at, h.id AS id \
               FROM components c CROSS JOIN component_status_history h \
              WHERE h.id = (SELECT h2.id FROM component_status_history h2 \
                             WHERE h2.component_id = c.id AND h2.at < $1 \
                             ORDER BY h2.at DESC, h2.id DESC LIMIT 1) \
             UNION ALL \
             SELECT component_id, from_status, to_status, at, id FROM component_status_history \
              WHERE at >= $1 \
             ORDER BY component_id, at, id",
        )
        .bind(since.to_db())
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter().map(status_change_from_row).collect()
    }

    async fn component_status_history(
        &self,
        id: ComponentId,
        since: Timestamp,
    ) -> StoreResult<Vec<ComponentStatusChange>> {
        self.get_component(id).await?;
        let rows = sqlx::query(
            "SELECT component_id, from_status, to_status, at FROM component_status_history \
              WHERE component_id = $1 AND at >= $2 ORDER BY at, id",
        )
        .bind(id.to_string())
        .bind(since.to_db())
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter().map(status_change_from_row).collect()
    }

    // ---- incidents ----------------------------------------------------------------------

    async fn create_incident(&self, input: NewIncident, actor: &Actor) -> StoreResult<Incident> {
        if input.status == IncidentStatus::Postmortem {
            return Err(StoreError::invalid(
                "an incident cannot be opened with status `postmortem`; open it, resolve it, then publish the postmortem",
            ));
        }
        let mut w = self.begin(actor).await?;
        let incident = w.open_incident(input).await?;
        w.commit().await?;
        Ok(incident)
    }

    async fn post_incident_update(
        &self,
        id: IncidentId,
        input: NewIncidentUpdate,
        actor: &Actor,
    ) -> StoreResult<Incident> {
        let mut w = self.begin(actor).await?;
        let current = w.lock_incident(id).await?;
        if current.is_closed() {
            return Err(StoreError::conflict(
                "incident_resolved",
                format!("incident `{id}` is resolved, so it takes no more updates; open a new incident, or publish a postmortem"),
            ));
        }
        w.mark_taken_over(id).await?;
        let incident = w.post_update_locked(id, current, input).await?;
        w.commit().await?;
        Ok(incident)
    }

    async fn edit_incident_update(
        &self,
        id: IncidentId,
        update_id: IncidentUpdateId,
        body: String,
        actor: &Actor,
    ) -> StoreResult<Incident> {
        let mut w = self.begin(actor).await?;
        w.lock_incident(id).await?;
        let row =
            sqlx::query("SELECT body FROM incident_updates WHERE id = $1 AND incident_id = $2")
                .bind(update_id.to_string())
                .bind(id.to_string())
                .fetch_optional(&mut *w.tx)
                .await
                .map_err(map_err)?
                .ok_or_else(|| StoreError::not_found("incident update", update_id))?;
        let previous: String = get(&row, "body")?;
        sqlx::query(
            "INSERT INTO incident_update_edits (id, update_id, previous_body, actor, edited_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(update_id.to_string())
        .bind(previous)
        .bind(w.actor.clone())
        .bind(w.now.to_db())
        .execute(&mut *w.tx)
        .await
        .map_err(map_err)?;
        sqlx::query("UPDATE incident_updates SET body = $2, updated_at = $3 WHERE id = $1")
            .bind(update_id.to_string())
            .bind(body)
            .bind(w.now.to_db())
            .execute(&mut *w.tx)
            .await
            .map_err(map_err)?;
        let incident = w.load_incident(id).await?;
        w.emit(
            EventKind::IncidentUpdateEdited,
            id,
            incident_event(&incident, Some(update_id)),
        );
        w.commit().await?;
        Ok(incident)
    }

    async fn update_incident(
        &self,
        id: IncidentId,
        patch: IncidentPatch,
        actor: &Actor,
    ) -> StoreResult<Incident> {
        let mut w = self.begin(actor).await?;
        w.lock_incident(id).await?;
        w.mark_taken_over(id).await?;
        sqlx::query("UPDATE incidents SET name = COALESCE($2, name), impact = COALESCE($3, impact) WHERE id = $1")
            .bind(id.to_string())
            .bind(patch.name)
            .bind(patch.impact.map(|i| i.as_str()))
            .execute(&mut *w.tx)
            .await
            .map_err(map_err)?;
        let incident = w.load_incident(id).await?;
        w.emit(
            EventKind::IncidentUpdated,
            id,
            incident_event(&incident, None),
        );
        w.commit().await?;
        Ok(incident)
    }

    async fn resolve_incident(
        &self,
        id: IncidentId,
        body: Option<String>,
        actor: &Actor,
    ) -> StoreResult<Incident> {
        let mut w = self.begin(actor).await?;
        let current = w.lock_incident(id).await?;
        if current.is_closed() {
            return Err(StoreError::conflict(
                "already_resolved",
                format!("incident `{id}` is already resolved"),
            ));
        }
        let incident = w
            .post_update_locked(
                id,
                current,
                NewIncidentUpdate {
                    status: Some(IncidentStatus::Resolved),
                    body: body.unwrap_or_else(|| "This incident has been resolved.".into()),
                    components: Vec::new(),
                    impact: None,
                },
            )
            .await?;
        w.commit().await?;
        Ok(incident)
    }

    async fn set_postmortem(
        &self,
        id: IncidentId,
        input: PostmortemInput,
        actor: &Actor,
    ) -> StoreResult<Incident> {
        let mut w = self.begin(actor).await?;
        let current = w.lock_incident(id).await?;
        if input.publish && !current.is_closed() {
            return Err(StoreError::conflict(
                "incident_open",
                format!("incident `{id}` is still open; resolve it before publishing its postmortem (a draft can be saved with \"publish\": false)"),
            ));
        }
        sqlx::query(
            "UPDATE incidents SET postmortem_body = $2, postmortem_updated_at = $3, \
                    postmortem_published_at = CASE WHEN $4 = 1 THEN COALESCE(postmortem_published_at, $3) ELSE postmortem_published_at END, \
                    status = CASE WHEN $4 = 1 THEN 'postmortem' ELSE status END \
              WHERE id = $1",
        )
        .bind(id.to_string())
        .bind(input.body)
        .bind(w.now.to_db())
        .bind(input.publish as i64)
        .execute(&mut *w.tx)
        .await
        .map_err(map_err)?;
        let incident = w.load_incident(id).await?;
        let kind = if input.publish {
            EventKind::IncidentPostmortemPublished
        } else {
            EventKind::IncidentPostmortemSaved
        };
        w.emit(kind, id, incident_event(&incident, None));
        w.commit().await?;
        Ok(incident)
    }

    async fn delete_incident(&self, id: IncidentId, actor: &Actor) -> StoreResult<()> {
        let mut w = self.begin(actor).await?;
        w.lock_incident(id).await?;
        let incident = w.load_incident(id).await?;
        sqlx::query("DELETE FROM incidents WHERE id = $1")
            .bind(id.to_string())
            .execute(&mut *w.tx)
            .await
            .map_err(map_err)?;
        w.recompute_components(incident.components.iter().map(|c| c.component_id))
            .await?;
        w.emit(
            EventKind::IncidentDeleted,
            id,
            incident_event(&incident, None),
        );
        w.commit().await
    }

    async fn get_incident(&self, id: IncidentId) -> StoreResult<Incident> {
        let row = sqlx::query(&format!(
            "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?
        .ok_or_else(|| StoreError::not_found("incident", id))?;
        let mut list = vec![incident_from_row(&row)?];
        fill_incidents(&mut *self.conn().await?, &mut list).await?;
        Ok(list.remove(0))
    }

    async fn get_incident_by_short_id(&self, short_id: &str) -> StoreResult<Incident> {
        let row = sqlx::query(&format!(
            "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE short_id = $1"
        ))
        .bind(short_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?
        .ok_or_else(|| StoreError::not_found("incident", short_id))?;
        let mut list = vec![incident_from_row(&row)?];
        fill_incidents(&mut *self.conn().await?, &mut list).await?;
        Ok(list.remove(0))
    }

    async fn list_incidents(
        &self,
        filter: IncidentFilter,
        page: PageRequest,
    ) -> StoreResult<Page<Incident>> {
        let after = match &page.cursor {
            Some(c) => Some(decode_cursor(c, 1)?.remove(0)),
            None => None,
        };
        // No bound for the first page: no sentinel string sorts above every id under every
        // collation (`~` sorts before digits under ICU and glibc locales).
        let cursor_clause = if after.is_some() { " AND id < $2" } else { "" };
        let open_clause = match filter.open {
            Some(true) => " AND resolved_at IS NULL",
            Some(false) => " AND resolved_at IS NOT NULL",
            None => "",
        };
        let sql = format!(
            "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE 1 = 1{cursor_clause}{open_clause} ORDER BY id DESC LIMIT $1"
        );
        let mut query = sqlx::query(&sql).bind(page.limit as i64 + 1);
        if let Some(after) = after {
            query = query.bind(after);
        }
        let rows = query.fetch_all(&self.pool).await.map_err(map_err)?;
        let mut items = rows
            .iter()
            .map(incident_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        let next_cursor = if items.len() > page.limit as usize {
            items.truncate(page.limit as usize);
            items.last().map(|i| encode_cursor(&[&i.id.to_string()]))
        } else {
            None
        };
        fill_incidents(&mut *self.conn().await?, &mut items).await?;
        Ok(Page { items, next_cursor })
    }

    async fn history_window(
        &self,
        from: Timestamp,
        until: Timestamp,
        limit: u32,
    ) -> StoreResult<HistoryWindow> {
        // Times are fixed-width RFC 3339 text, so a range of text is a range of time.
        let rows = sqlx::query(&format!(
            "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE started_at >= $1 AND started_at < $2 \
              ORDER BY started_at DESC, id DESC LIMIT $3"
        ))
        .bind(from.to_db())
        .bind(until.to_db())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        let mut incidents = rows
            .iter()
            .map(incident_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        let rows = sqlx::query(&format!(
            "SELECT {MAINTENANCE_COLUMNS} FROM maintenances \
              WHERE scheduled_for >= $1 AND scheduled_for < $2 \
              ORDER BY scheduled_for DESC, id DESC LIMIT $3"
        ))
        .bind(from.to_db())
        .bind(until.to_db())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        let mut maintenances = rows
            .iter()
            .map(maintenance_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        let row = sqlx::query(
            "SELECT (SELECT MIN(started_at) FROM incidents) AS first_incident, \
                    (SELECT MIN(scheduled_for) FROM maintenances) AS first_maintenance",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(map_err)?;
        let earliest = [
            get_opt_ts(&row, "first_incident")?,
            get_opt_ts(&row, "first_maintenance")?,
        ]
        .into_iter()
        .flatten()
        .min();
        let mut conn = self.conn().await?;
        fill_incidents(&mut conn, &mut incidents).await?;
        fill_maintenances(&mut conn, &mut maintenances).await?;
        Ok(HistoryWindow {
            incidents,
            maintenances,
            earliest,
        })
    }

    // ---- maintenances -------------------------------------------------------------------

    async fn create_maintenance(
        &self,
        input: NewMaintenance,
        actor: &Actor,
    ) -> StoreResult<Maintenance> {
        if input.scheduled_until <= input.scheduled_for {
            return Err(StoreError::invalid(
                "`scheduled_until` must be after `scheduled_for`",
            ));
        }
        let mut w = self.begin(actor).await?;
        let id = MaintenanceId::new();
        sqlx::query(
            "INSERT INTO maintenances (id, short_id, name, status, scheduled_for, scheduled_until, auto_transition, \
                                       created_at, updated_at) \
             VALUES ($1, $2, $3, 'scheduled', $4, $5, $6, $7, $7)",
        )
        .bind(id.to_string())
        .bind(new_short_id())
        .bind(input.name.clone())
        .bind(input.scheduled_for.to_db())
        .bind(input.scheduled_until.to_db())
        .bind(input.auto_transition as i64)
        .bind(w.now.to_db())
        .execute(&mut *w.tx)
        .await
        .map_err(map_err)?;
        w.set_maintenance_components(id, &input.component_ids)
            .await?;
        w.insert_maintenance_update(
            id,
            MaintenanceStatus::Scheduled,
            input
                .body
                .as_deref()
                .unwrap_or("The maintenance is scheduled."),
        )
        .await?;
        let maintenance = w.load_maintenance(id).await?;
        w.emit(EventKind::MaintenanceScheduled, id, json(&maintenance));
        w.commit().await?;
        // A window that has already begun starts at once rather than at the next tick.
        if input.auto_transition && input.scheduled_for <= self.clock.now() {
            self.advance_maintenances(self.clock.now()).await?;
            return self.get_maintenance(id).await;
        }
        Ok(maintenance)
    }

    async fn update_maintenance(
        &self,
        id: MaintenanceId,
        patch: MaintenancePatch,
        actor: &Actor,
    ) -> StoreResult<Maintenance> {
        let mut w = self.begin(actor).await?;
        let current = w.lock_maintenance(id).await?;
        if current == MaintenanceStatus::Completed {
            return Err(StoreError::conflict(
                "maintenance_completed",
                format!("maintenance `{id}` is completed; schedule a new one instead"),
            ));
        }
        let existing = w.load_maintenance(id).await?;
        let scheduled_for = patch.scheduled_for.unwrap_or(existing.scheduled_for);
        let scheduled_until = patch.scheduled_until.unwrap_or(existing.scheduled_until);
        if scheduled_until <= scheduled_for {
            return Err(StoreError::invalid(
                "`scheduled_until` must be after `scheduled_for`",
            ));
        }
        sqlx::query(
            "UPDATE maintenances SET name = $2, scheduled_for = $3, scheduled_until = $4, auto_transition = $5 WHERE id = $1",
        )
        .bind(id.to_string())
        .bind(patch.name.unwrap_or(existing.name))
        .bind(scheduled_for.to_db())
        .bind(scheduled_until.to_db())
        .bind(patch.auto_transition.unwrap_or(existing.auto_transition) as i64)
        .execute(&mut *w.tx)
        .await
        .map_err(map_err)?;
        if let Some(component_ids) = &patch.component_ids {
            w.set_maintenance_components(id, component_ids).await?;
            if current.is_active() {
                let mut all: BTreeSet<ComponentId> =
                    existing.component_ids.iter().copied().collect();
                all.extend(component_ids.iter().copied());
                w.recompute_components(all).await?;
            }
        }
        let to = patch.status.unwrap_or(current);
        let order = |s: MaintenanceStatus| MaintenanceStatus::ALL.iter().position(|x| *x == s);
        if order(to) < order(current) {
            return Err(StoreError::conflict(
                "invalid_transition",
                format!("maintenance `{id}` is {current}; it cannot go back to {to}"),
            ));
        }
        w.transition_maintenance(id, current, to, patch.body.as_deref())
            .await?;
        let maintenance = w.load_maintenance(id).await?;
        let kind = match (current == to, to) {
            (false, MaintenanceStatus::InProgress) => EventKind::MaintenanceStarted,
            (false, MaintenanceStatus::Completed) => EventKind::MaintenanceCompleted,
            _ => EventKind::MaintenanceUpdated,
        };
        w.emit(kind, id, json(&maintenance));
        w.commit().await?;
        Ok(maintenance)
    }

    async fn cancel_maintenance(
        &self,
        id: MaintenanceId,
        actor: &Actor,
    ) -> StoreResult<Maintenance> {
        let mut w = self.begin(actor).await?;
        let current = w.lock_maintenance(id).await?;
        if current == MaintenanceStatus::Completed {
            return Err(StoreError::conflict(
                "maintenance_completed",
                format!("maintenance `{id}` is already completed"),
            ));
        }
        sqlx::query("UPDATE maintenances SET cancelled_at = $2 WHERE id = $1")
            .bind(id.to_string())
            .bind(w.now.to_db())
            .execute(&mut *w.tx)
            .await
            .map_err(map_err)?;
        w.transition_maintenance(
            id,
            current,
            MaintenanceStatus::Completed,
            Some("This maintenance has been cancelled."),
        )
        .await?;
        let maintenance = w.load_maintenance(id).await?;
        w.emit(EventKind::MaintenanceCancelled, id, json(&maintenance));
        w.commit().await?;
        Ok(maintenance)
    }

    async fn get_maintenance(&self, id: MaintenanceId) -> StoreResult<Maintenance> {
        let row = sqlx::query(&format!(
            "SELECT {MAINTENANCE_COLUMNS} FROM maintenances WHERE id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?
        .ok_or_else(|| StoreError::not_found("maintenance", id))?;
        let mut list = vec![maintenance_from_row(&row)?];
        fill_maintenances(&mut *self.conn().await?, &mut list).await?;
        Ok(list.remove(0))
    }

    async fn list_maintenances(&self, page: PageRequest) -> StoreResult<Page<Maintenance>> {
        let (after_for, after_id) = match &page.cursor {
            Some(c) => {
                let mut parts = decode_cursor(c, 2)?;
                let id = parts.pop().unwrap_or_default();
                (parts.pop().unwrap_or_default(), id)
            }
            None => (String::new(), String::new()),
        };
        let rows = sqlx::query(&format!(
            "SELECT {MAINTENANCE_COLUMNS} FROM maintenances \
              WHERE scheduled_for > $1 OR (scheduled_for = $1 AND id > $2) \
              ORDER BY scheduled_for, id LIMIT $3"
        ))
        .bind(after_for)
        .bind(after_id)
        .bind(page.limit as i64 + 1)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        let mut items = rows
            .iter()
            .map(maintenance_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        let next_cursor = if items.len() > page.limit as usize {
            items.truncate(page.limit as usize);
            items
                .last()
                .map(|m| encode_cursor(&[&m.scheduled_for.to_db(), &m.id.to_string()]))
        } else {
            None
        };
        fill_maintenances(&mut *self.conn().await?, &mut items).await?;
        Ok(Page { items, next_cursor })
    }

    async fn advance_maintenances(&self, now: Timestamp) -> StoreResult<usize> {
        let due = sqlx::query(
            "SELECT id, status, scheduled_until FROM maintenances \
              WHERE auto_transition = 1 AND ( \
                    (status = 'scheduled' AND scheduled_for <= $1) \
                 OR (status IN ('in_progress', 'verifying') AND scheduled_until <= $1)) \
              ORDER BY scheduled_for, id",
        )
        .bind(now.to_db())
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        let mut changed = 0;
        for row in due {
            let id: MaintenanceId = get_id(&row, "id")?;
            let until = get_ts(&row, "scheduled_until")?;
            let mut w = self.begin(&Actor::system()).await?;
            // Re-read under the lock: another process or a responder may have moved it.
            let current = w.lock_maintenance(id).await?;
            let to = if until <= now {
                MaintenanceStatus::Completed
            } else if current == MaintenanceStatus::Scheduled {
                MaintenanceStatus::InProgress
            } else {
                continue;
            };
            if current == MaintenanceStatus::Completed {
                continue;
            }
            if current == MaintenanceStatus::Scheduled && to == MaintenanceStatus::Completed {
                // The whole window passed while Pharos was down: record both edges.
                w.transition_maintenance(id, current, MaintenanceStatus::InProgress, None)
                    .await?;
                let started = w.load_maintenance(id).await?;
                w.emit(EventKind::MaintenanceStarted, id, json(&started));
                w.transition_maintenance(id, MaintenanceStatus::InProgress, to, None)
                    .await?;
            } else {
                w.transition_maintenance(id, current, to, None).await?;
            }
            let maintenance = w.load_maintenance(id).await?;
            let kind = if to == MaintenanceStatus::Completed {
                EventKind::MaintenanceCompleted
            } else {
                EventKind::MaintenanceStarted
            };
            w.emit(kind, id, json(&maintenance));
            w.commit().await?;
            changed += 1;
        }
        Ok(changed)
    }

    // ---- event log ----------------------------------------------------------------------

    async fn list_events(&self, after: i64, limit: u32) -> StoreResult<Vec<Event>> {
        let rows = sqlx::query(
            "SELECT seq, kind, subject_id, actor, at, data FROM events WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(after)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter().map(event_from_row).collect()
    }

    async fn last_event_seq(&self) -> StoreResult<i64> {
        let row = sqlx::query("SELECT last_seq FROM event_counter WHERE id = 1")
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
        get(&row, "last_seq")
    }

    // ---- tokens -------------------------------------------------------------------------

    async fn create_token(
        &self,
        id: TokenId,
        name: &str,
        scope: TokenScope,
        secret_hash: &str,
        actor: &Actor,
    ) -> StoreResult<ApiToken> {
        let mut w = self.begin(actor).await?;
        let exists =
            sqlx::query("SELECT id FROM api_tokens WHERE name = $1 AND revoked_at IS NULL")
                .bind(name)
                .fetch_optional(&mut *w.tx)
                .await
                .map_err(map_err)?;
        if exists.is_some() {
            return Err(StoreError::conflict(
                "already_exists",
                format!("an active token named `{name}` already exists; revoke it first or choose another name"),
            ));
        }
        sqlx::query(
            "INSERT INTO api_tokens (id, name, scope, secret_hash, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id.to_string())
        .bind(name)
        .bind(scope.as_str())
        .bind(secret_hash)
        .bind(w.now.to_db())
        .execute(&mut *w.tx)
        .await
        .map_err(map_err)?;
        let token = ApiToken {
            id,
            name: name.to_string(),
            scope,
            created_at: w.now,
            last_used_at: None,
            revoked_at: None,
        };
        w.emit(EventKind::TokenCreated, id, json(&token));
        w.commit().await?;
        Ok(token)
    }

    async fn list_tokens(&self) -> StoreResult<Vec<ApiToken>> {
        let rows = sqlx::query(
            "SELECT id, name, scope, secret_hash, created_at, last_used_at, revoked_at FROM api_tokens ORDER BY created_at, id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|r| token_from_row(r).map(|t| t.token))
            .collect()
    }

    async fn revoke_token(&self, name: &str, actor: &Actor) -> StoreResult<ApiToken> {
        let mut w = self.begin(actor).await?;
        let row = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $2 WHERE name = $1 AND revoked_at IS NULL \
             RETURNING id, name, scope, secret_hash, created_at, last_used_at, revoked_at",
        )
        .bind(name)
        .bind(w.now.to_db())
        .fetch_optional(&mut *w.tx)
        .await
        .map_err(map_err)?
        .ok_or_else(|| StoreError::not_found("active token", name))?;
        let token = token_from_row(&row)?.token;
        w.emit(EventKind::TokenRevoked, token.id, json(&token));
        w.commit().await?;
        Ok(token)
    }

    async fn find_token(&self, id: TokenId) -> StoreResult<Option<StoredToken>> {
        let row = sqlx::query(
            "SELECT id, name, scope, secret_hash, created_at, last_used_at, revoked_at FROM api_tokens \
              WHERE id = $1 AND revoked_at IS NULL",
        )
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.as_ref().map(token_from_row).transpose()
    }

    async fn touch_token(&self, id: TokenId, at: Timestamp) -> StoreResult<()> {
        // Not an event: usage is bookkeeping, not a change anyone is told about. Not behind the
        // write lock either: it is one statement, and the busy timeout covers SQLite.
        sqlx::query("UPDATE api_tokens SET last_used_at = $2 WHERE id = $1")
            .bind(id.to_string())
            .bind(at.to_db())
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    // ---- incident templates and deleting updates (sql/incident_templates.rs) -------------

    async fn delete_incident_update(
        &self,
        id: IncidentId,
        update_id: IncidentUpdateId,
        actor: &Actor,
    ) -> StoreResult<Incident> {
        self.delete_incident_update_tx(id, update_id, actor).await
    }

    async fn create_incident_template(
        &self,
        input: IncidentTemplateInput,
        actor: &Actor,
    ) -> StoreResult<IncidentTemplate> {
        self.create_incident_template_tx(input, actor).await
    }

    async fn update_incident_template(
        &self,
        id: crate::domain::ids::IncidentTemplateId,
        input: IncidentTemplateInput,
        actor: &Actor,
    ) -> StoreResult<IncidentTemplate> {
        self.update_incident_template_tx(id, input, actor).await
    }

    async fn delete_incident_template(
        &self,
        id: crate::domain::ids::IncidentTemplateId,
        actor: &Actor,
    ) -> StoreResult<()> {
        self.delete_incident_template_tx(id, actor).await
    }

    async fn get_incident_template(
        &self,
        id: crate::domain::ids::IncidentTemplateId,
    ) -> StoreResult<IncidentTemplate> {
        self.get_incident_template_q(id).await
    }

    async fn list_incident_templates(&self) -> StoreResult<Vec<IncidentTemplate>> {
        self.list_incident_templates_q().await
    }

    // ---- page settings (sql/page_settings.rs) --------------------------------------------

    async fn page_settings(&self) -> StoreResult<StoredPageSettings> {
        self.page_settings_q().await
    }

    async fn update_page_settings(
        &self,
        patch: PageSettingsPatch,
        actor: &Actor,
    ) -> StoreResult<StoredPageSettings> {
        self.update_page_settings_tx(patch, actor).await
    }

    // ---- accounts (sql/accounts.rs) -------------------------------------------------------

    async fn create_user(
        &self,
        input: crate::account::NewUser,
        actor: &Actor,
    ) -> StoreResult<crate::account::User> {
        self.create_user_tx(input, actor).await
    }

    async fn update_user(
        &self,
        id: UserId,
        patch: crate::account::UserPatch,
        actor: &Actor,
    ) -> StoreResult<crate::account::User> {
        self.update_user_tx(id, patch, actor).await
    }

    async fn delete_user(&self, id: UserId, actor: &Actor) -> StoreResult<()> {
        self.delete_user_tx(id, actor).await
    }

    async fn get_user(&self, id: UserId) -> StoreResult<crate::account::User> {
        self.get_user_q(id).await
    }

    async fn list_users(&self) -> StoreResult<Vec<crate::account::User>> {
        self.list_users_q().await
    }

    async fn find_user_by_email(
        &self,
        email: &str,
    ) -> StoreResult<Option<crate::account::StoredUser>> {
        self.find_user_by_email_q(email).await
    }

    async fn count_users(&self) -> StoreResult<u64> {
        self.count_users_q().await
    }

    async fn set_password(
        &self,
        id: UserId,
        password_hash: &str,
        keep_session: Option<&str>,
        actor: &Actor,
    ) -> StoreResult<crate::account::User> {
        self.set_password_tx(id, password_hash, keep_session, actor)
            .await
    }

    async fn record_failed_login(&self, id: UserId) -> StoreResult<crate::account::User> {
        self.record_failed_login_tx(id).await
    }

    async fn claim_totp_step(&self, id: UserId, step: i64) -> StoreResult<bool> {
        // No event and no write lock: bookkeeping of a sign-in, like `touch_session`.
        let done = sqlx::query(
            "UPDATE users SET totp_last_step = $2 \
             WHERE id = $1 AND (totp_last_step IS NULL OR totp_last_step < $2)",
        )
        .bind(id.to_string())
        .bind(step)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn create_session(
        &self,
        user: UserId,
        session: crate::account::NewSession,
        replaces: Option<&str>,
    ) -> StoreResult<crate::account::Session> {
        self.create_session_tx(user, session, replaces).await
    }

    async fn find_session(
        &self,
        id: &str,
    ) -> StoreResult<Option<(crate::account::Session, crate::account::StoredUser)>> {
        self.find_session_q(id).await
    }

    async fn touch_session(&self, id: &str, at: Timestamp) -> StoreResult<()> {
        self.touch_session_q(id, at).await
    }

    async fn delete_session(&self, id: &str, actor: &Actor) -> StoreResult<()> {
        self.delete_session_tx(id, actor).await
    }

    async fn delete_user_sessions(
        &self,
        user: UserId,
        except: Option<&str>,
        actor: &Actor,
    ) -> StoreResult<u64> {
        self.delete_user_sessions_tx(user, except, actor).await
    }

    async fn prune_sessions(&self, idle_since: Timestamp) -> StoreResult<u64> {
        self.prune_sessions_q(idle_since).await
    }

    async fn reset_password(
        &self,
        id: UserId,
        password_hash: &str,
        actor: &Actor,
    ) -> StoreResult<crate::account::User> {
        self.reset_password_tx(id, password_hash, actor).await
    }

    async fn list_user_sessions(&self, user: UserId) -> StoreResult<Vec<crate::account::Session>> {
        self.list_user_sessions_q(user).await
    }

    async fn session_counts(&self, idle_since: Timestamp) -> StoreResult<Vec<(UserId, u64)>> {
        self.session_counts_q(idle_since).await
    }

    async fn create_setup_token(&self, token_hash: &str, expires_at: Timestamp) -> StoreResult<()> {
        self.create_setup_token_tx(token_hash, expires_at).await
    }

    async fn complete_setup(
        &self,
        token_hash: &str,
        input: crate::account::NewUser,
    ) -> StoreResult<crate::account::User> {
        self.complete_setup_tx(token_hash, input).await
    }

    async fn audit_log(&self, filter: AuditFilter, limit: u32) -> StoreResult<Vec<Event>> {
        self.audit_log_q(filter, limit).await
    }

    // ---- configuration as code ----------------------------------------------------------

    async fn create_vendor(&self, input: NewVendor, actor: &Actor) -> StoreResult<Vendor> {
        self.create_vendor_tx(input, actor).await
    }

    async fn update_vendor(
        &self,
        id: VendorId,
        patch: VendorPatch,
        actor: &Actor,
    ) -> StoreResult<Vendor> {
        self.update_vendor_tx(id, patch, actor).await
    }

    async fn delete_vendor(&self, id: VendorId, actor: &Actor) -> StoreResult<()> {
        self.delete_vendor_tx(id, actor).await
    }

    async fn get_vendor(&self, id: VendorId) -> StoreResult<Vendor> {
        self.get_vendor_q(id).await
    }

    async fn get_vendor_by_slug(&self, slug: &str) -> StoreResult<Vendor> {
        self.get_vendor_by_slug_q(slug).await
    }

    async fn all_vendors(&self) -> StoreResult<Vec<Vendor>> {
        self.all_vendors_q().await
    }

    async fn any_vendor_enabled(&self) -> StoreResult<bool> {
        let row = sqlx::query("SELECT id FROM vendors WHERE enabled = 1 LIMIT 1")
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(row.is_some())
    }

    async fn vendor_state(&self, id: VendorId) -> StoreResult<VendorState> {
        self.vendor_state_q(id).await
    }

    async fn record_vendor_poll(&self, id: VendorId, poll: &PollRecord) -> StoreResult<()> {
        self.record_vendor_poll_tx(id, poll).await
    }

    async fn create_dependency(
        &self,
        input: NewDependency,
        actor: &Actor,
    ) -> StoreResult<Dependency> {
        self.create_dependency_tx(input, actor).await
    }

    async fn delete_dependency(&self, id: DependencyId, actor: &Actor) -> StoreResult<()> {
        self.delete_dependency_tx(id, actor).await
    }

    async fn dependencies(&self, vendor: Option<VendorId>) -> StoreResult<Vec<Dependency>> {
        self.dependencies_q(vendor).await
    }

    async fn upstream_problems(&self) -> StoreResult<Vec<UpstreamProblem>> {
        self.upstream_problems_q().await
    }

    async fn reconcile_vendors(
        &self,
        declared: &[crate::vendor::record::DeclaredVendor],
        actor: &Actor,
    ) -> StoreResult<ReconcileReport> {
        self.reconcile_vendors_tx(declared, actor).await
    }

    async fn incident_drafts(&self) -> StoreResult<Vec<crate::vendor::record::IncidentDraft>> {
        self.incident_drafts_q().await
    }

    async fn publish_incident_draft(&self, id: uuid::Uuid, actor: &Actor) -> StoreResult<Incident> {
        self.publish_incident_draft_tx(id, actor).await
    }

    async fn dismiss_incident_draft(&self, id: uuid::Uuid, actor: &Actor) -> StoreResult<()> {
        self.dismiss_incident_draft_tx(id, actor).await
    }

    async fn vendor_problems(&self) -> StoreResult<VendorProblems> {
        self.vendor_problems_q().await
    }

    async fn touch_vendors(&self, checked: &[VendorChecked]) -> StoreResult<()> {
        self.touch_vendors_tx(checked).await
    }

    async fn prune_vendor_history(&self, before: Timestamp) -> StoreResult<u64> {
        self.prune_vendor_history_tx(before).await
    }

    async fn create_monitor(&self, input: NewMonitor, actor: &Actor) -> StoreResult<Monitor> {
        self.create_monitor_tx(input, actor).await
    }

    async fn update_monitor(
        &self,
        id: MonitorId,
        patch: MonitorPatch,
        actor: &Actor,
    ) -> StoreResult<Monitor> {
        self.update_monitor_tx(id, patch, actor).await
    }

    async fn delete_monitor(&self, id: MonitorId, actor: &Actor) -> StoreResult<()> {
        self.delete_monitor_tx(id, actor).await
    }

    async fn get_monitor(&self, id: MonitorId) -> StoreResult<Monitor> {
        self.get_monitor_q(id).await
    }

    async fn list_monitors(&self, page: PageRequest) -> StoreResult<Page<Monitor>> {
        self.list_monitors_q(page).await
    }

    async fn all_monitors(&self) -> StoreResult<Vec<Monitor>> {
        self.all_monitors_q().await
    }

    async fn component_checks(&self) -> StoreResult<Vec<ComponentChecks>> {
        self.component_checks_q().await
    }

    async fn find_push_monitor(&self, token_hash: &str) -> StoreResult<Option<Monitor>> {
        self.find_push_monitor_q(token_hash).await
    }

    async fn record_checks(&self, batch: &[RecordedCheck]) -> StoreResult<()> {
        self.record_checks_tx(batch).await
    }

    async fn apply_transition(
        &self,
        id: MonitorId,
        transition: &Transition,
        memory: &Memory,
    ) -> StoreResult<Monitor> {
        self.apply_transition_tx(id, transition, memory).await
    }

    async fn recent_checks(&self, id: MonitorId, limit: u32) -> StoreResult<Vec<CheckRecord>> {
        self.recent_checks_q(id, limit).await
    }

    async fn roll_up(&self, until: Timestamp) -> StoreResult<RollupReport> {
        self.roll_up_tx(until).await
    }

    async fn prune_checks(&self, older_than: Timestamp) -> StoreResult<u64> {
        self.prune_checks_tx(older_than).await
    }

    async fn monitor_rollups(
        &self,
        id: MonitorId,
        period: Period,
        since: Timestamp,
    ) -> StoreResult<Vec<Rollup>> {
        self.monitor_rollups_q(id, period, since).await
    }

    async fn rollups_since(&self, period: Period, since: Timestamp) -> StoreResult<Vec<Rollup>> {
        self.rollups_since_q(period, since).await
    }

    async fn monitor_uptime(&self, id: MonitorId, now: Timestamp) -> StoreResult<Uptime> {
        self.monitor_uptime_q(id, now).await
    }

    async fn monitor_listing(&self, query: &MonitorQuery) -> StoreResult<MonitorListing> {
        self.monitor_listing_q(query).await
    }

    async fn uptime_24h(
        &self,
        ids: &[MonitorId],
        now: Timestamp,
    ) -> StoreResult<BTreeMap<MonitorId, f64>> {
        self.uptime_24h_q(ids, now).await
    }

    async fn last_transition(&self, id: MonitorId) -> StoreResult<Option<Transition>> {
        self.last_transition_q(id).await
    }

    async fn create_channel(&self, input: NewChannel, actor: &Actor) -> StoreResult<Channel> {
        self.create_channel_tx(input, actor).await
    }

    async fn update_channel(
        &self,
        id: ChannelId,
        patch: ChannelPatch,
        actor: &Actor,
    ) -> StoreResult<Channel> {
        self.update_channel_tx(id, patch, actor).await
    }

    async fn delete_channel(&self, id: ChannelId, actor: &Actor) -> StoreResult<()> {
        self.delete_channel_tx(id, actor).await
    }

    async fn get_channel(&self, id: ChannelId) -> StoreResult<Channel> {
        self.get_channel_q(id).await
    }

    async fn list_channels(&self) -> StoreResult<Vec<Channel>> {
        self.list_channels_q().await
    }

    async fn create_subscriber(
        &self,
        input: NewSubscriber,
        actor: &Actor,
    ) -> StoreResult<Subscriber> {
        self.create_subscriber_tx(input, actor).await
    }

    async fn update_subscriber(
        &self,
        id: SubscriberId,
        patch: SubscriberPatch,
        actor: &Actor,
    ) -> StoreResult<Subscriber> {
        self.update_subscriber_tx(id, patch, actor).await
    }

    async fn confirm_subscriber(&self, id: SubscriberId, actor: &Actor) -> StoreResult<Subscriber> {
        self.confirm_subscriber_tx(id, actor).await
    }

    async fn delete_subscriber(&self, id: SubscriberId, actor: &Actor) -> StoreResult<()> {
        self.delete_subscriber_tx(id, actor).await
    }

    async fn get_subscriber(&self, id: SubscriberId) -> StoreResult<Subscriber> {
        self.get_subscriber_q(id).await
    }

    async fn subscriber_targets(&self, ids: &[SubscriberId]) -> StoreResult<Vec<SubscriberTarget>> {
        self.subscriber_targets_q(ids).await
    }

    async fn find_subscriber(&self, key: &str) -> StoreResult<Option<Subscriber>> {
        self.find_subscriber_q(key).await
    }

    async fn list_subscribers(&self, page: PageRequest) -> StoreResult<Page<Subscriber>> {
        self.list_subscribers_q(page).await
    }

    async fn plan_notifications(&self, max_events: u32) -> StoreResult<PlanReport> {
        self.plan_notifications_tx(max_events).await
    }

    async fn claim_deliveries(
        &self,
        lane: crate::notify::record::Lane,
        lease: Duration,
        limit: u32,
    ) -> StoreResult<Vec<ClaimedDelivery>> {
        self.claim_deliveries_tx(lane, lease, limit).await
    }

    async fn record_deliveries(&self, outcomes: &[(String, Outcome)]) -> StoreResult<()> {
        self.record_deliveries_tx(outcomes).await
    }

    async fn release_deliveries(&self) -> StoreResult<u64> {
        self.release_deliveries_tx().await
    }

    async fn list_deliveries(
        &self,
        state: Option<DeliveryState>,
        page: PageRequest,
    ) -> StoreResult<Page<Delivery>> {
        self.list_deliveries_q(state, page).await
    }

    async fn get_delivery(&self, key: &str) -> StoreResult<Delivery> {
        self.get_delivery_q(key).await
    }

    async fn retry_delivery(&self, key: &str, actor: &Actor) -> StoreResult<Delivery> {
        self.retry_delivery_tx(key, actor).await
    }

    async fn outbox_stats(&self) -> StoreResult<OutboxStats> {
        self.outbox_stats_q().await
    }

    async fn events_by_seq(&self, seqs: &[i64]) -> StoreResult<Vec<Event>> {
        self.events_by_seq_q(seqs).await
    }

    async fn secret(&self, name: &str) -> StoreResult<Vec<u8>> {
        self.secret_tx(name).await
    }

    async fn create_policy(
        &self,
        input: NewPolicy,
        actor: &Actor,
    ) -> StoreResult<EscalationPolicy> {
        self.create_policy_tx(input, actor).await
    }

    async fn update_policy(
        &self,
        id: EscalationPolicyId,
        patch: PolicyPatch,
        actor: &Actor,
    ) -> StoreResult<EscalationPolicy> {
        self.update_policy_tx(id, patch, actor).await
    }

    async fn delete_policy(&self, id: EscalationPolicyId, actor: &Actor) -> StoreResult<()> {
        self.delete_policy_tx(id, actor).await
    }

    async fn get_policy(&self, id: EscalationPolicyId) -> StoreResult<EscalationPolicy> {
        self.get_policy_q(id).await
    }

    async fn list_policies(&self) -> StoreResult<Vec<EscalationPolicy>> {
        self.list_policies_q().await
    }

    async fn list_escalations(
        &self,
        state: Option<EscalationState>,
        limit: u32,
    ) -> StoreResult<Vec<Escalation>> {
        self.list_escalations_q(state, limit).await
    }

    async fn get_escalation(&self, id: EscalationId) -> StoreResult<Escalation> {
        self.get_escalation_q(id).await
    }

    async fn acknowledge_escalation(
        &self,
        id: EscalationId,
        actor: &Actor,
    ) -> StoreResult<Escalation> {
        self.acknowledge_escalation_tx(id, actor).await
    }

    async fn advance_escalations(&self) -> StoreResult<u64> {
        self.advance_escalations_tx().await
    }

    async fn reconcile_config(
        &self,
        groups: &[DeclaredGroup],
        components: &[DeclaredComponent],
        monitors: &[DeclaredMonitor],
        actor: &Actor,
    ) -> StoreResult<ReconcileReport> {
        let mut w = self.begin(actor).await?;
        let mut report = ReconcileReport::default();
        let mut group_ids: BTreeMap<String, ComponentGroupId> = BTreeMap::new();
        let mut component_ids: BTreeMap<String, ComponentId> = BTreeMap::new();
        for g in groups {
            let existing = sqlx::query(&format!(
                "SELECT {GROUP_COLUMNS} FROM component_groups WHERE config_key = $1"
            ))
            .bind(g.key.clone())
            .fetch_optional(&mut *w.tx)
            .await
            .map_err(map_err)?
            .map(|r| group_from_row(&r))
            .transpose()?;
            match existing {
                Some(current) => {
                    group_ids.insert(g.key.clone(), current.id);
                    if current.name != g.name
                        || current.description != g.description
                        || current.position != g.position
                        || current.managed_by != ManagedBy::Config
                    {
                        sqlx::query(
                            "UPDATE component_groups SET name = $2, description = $3, position = $4, managed_by = 'config', updated_at = $5 WHERE id = $1",
                        )
                        .bind(current.id.to_string())
                        .bind(g.name.clone())
                        .bind(g.description.clone())
                        .bind(g.position)
                        .bind(w.now.to_db())
                        .execute(&mut *w.tx)
                        .await
                        .map_err(map_err)?;
                        let group = w.load_group(current.id).await?;
                        w.emit(EventKind::ComponentGroupUpdated, current.id, json(&group));
                        report.updated += 1;
                    }
                }
                None => {
                    let id = ComponentGroupId::new();
                    insert_group(
                        &mut w,
                        id,
                        &g.name,
                        g.description.as_deref(),
                        Some(g.position),
                        Some(&g.key),
                    )
                    .await?;
                    group_ids.insert(g.key.clone(), id);
                    let group = w.load_group(id).await?;
                    w.emit(EventKind::ComponentGroupCreated, id, json(&group));
                    report.created += 1;
                }
            }
        }
        for c in components {
            let group_id = match &c.group_key {
                Some(key) => Some(*group_ids.get(key).ok_or_else(|| {
                    StoreError::invalid(format!(
                        "component `{}` names group `{key}`, which is not declared",
                        c.key
                    ))
                })?),
                None => None,
            };
            let existing = sqlx::query(&format!(
                "SELECT {COMPONENT_COLUMNS} FROM components WHERE config_key = $1"
            ))
            .bind(c.key.clone())
            .fetch_optional(&mut *w.tx)
            .await
            .map_err(map_err)?
            .map(|r| component_from_row(&r))
            .transpose()?;
            match existing {
                Some(current) => {
                    component_ids.insert(c.key.clone(), current.id);
                    if current.name != c.name
                        || current.description != c.description
                        || current.group_id != group_id
                        || current.position != c.position
                        || current.showcase != c.showcase
                        || current.only_show_if_degraded != c.only_show_if_degraded
                        || current.start_date != c.start_date
                        || current.managed_by != ManagedBy::Config
                    {
                        sqlx::query(
                            "UPDATE components SET name = $2, description = $3, group_id = $4, position = $5, showcase = $6, \
                                    only_show_if_degraded = $7, start_date = $8, managed_by = 'config', updated_at = $9 WHERE id = $1",
                        )
                        .bind(current.id.to_string())
                        .bind(c.name.clone())
                        .bind(c.description.clone())
                        .bind(group_id.map(|g| g.to_string()))
                        .bind(c.position)
                        .bind(c.showcase as i64)
                        .bind(c.only_show_if_degraded as i64)
                        .bind(c.start_date.clone())
                        .bind(w.now.to_db())
                        .execute(&mut *w.tx)
                        .await
                        .map_err(map_err)?;
                        let component = w.load_component(current.id).await?;
                        w.emit(EventKind::ComponentUpdated, current.id, json(&component));
                        report.updated += 1;
                    }
                }
                None => {
                    let id = ComponentId::new();
                    let input = NewComponent {
                        name: c.name.clone(),
                        description: c.description.clone(),
                        group_id,
                        position: Some(c.position),
                        status: None,
                        showcase: Some(c.showcase),
                        only_show_if_degraded: Some(c.only_show_if_degraded),
                        start_date: c.start_date.clone(),
                    };
                    insert_component(&mut w, id, &input, Some(&c.key)).await?;
                    component_ids.insert(c.key.clone(), id);
                    let component = w.load_component(id).await?;
                    w.emit(EventKind::ComponentCreated, id, json(&component));
                    report.created += 1;
                }
            }
        }
        w.reconcile_monitors(monitors, &component_ids, &mut report)
            .await?;
        // Resources no longer declared are released to the API rather than deleted: removing
        // a line from the file must never destroy history.
        let declared_components: BTreeSet<&str> =
            components.iter().map(|c| c.key.as_str()).collect();
        let rows = sqlx::query("SELECT id, config_key FROM components WHERE managed_by = 'config'")
            .fetch_all(&mut *w.tx)
            .await
            .map_err(map_err)?;
        for row in rows {
            let key: Option<String> = get(&row, "config_key")?;
            if key
                .as_deref()
                .is_some_and(|k| declared_components.contains(k))
            {
                continue;
            }
            let id: ComponentId = get_id(&row, "id")?;
            sqlx::query("UPDATE components SET managed_by = 'api', config_key = NULL, updated_at = $2 WHERE id = $1")
                .bind(id.to_string())
                .bind(w.now.to_db())
                .execute(&mut *w.tx)
                .await
                .map_err(map_err)?;
            let component = w.load_component(id).await?;
            w.emit(EventKind::ComponentUpdated, id, json(&component));
            report.released += 1;
        }
        let declared_groups: BTreeSet<&str> = groups.iter().map(|g| g.key.as_str()).collect();
        let rows =
            sqlx::query("SELECT id, config_key FROM component_groups WHERE managed_by = 'config'")
                .fetch_all(&mut *w.tx)
                .await
                .map_err(map_err)?;
        for row in rows {
            let key: Option<String> = get(&row, "config_key")?;
            if key.as_deref().is_some_and(|k| declared_groups.contains(k)) {
                continue;
            }
            let id: ComponentGroupId = get_id(&row, "id")?;
            sqlx::query("UPDATE component_groups SET managed_by = 'api', config_key = NULL, updated_at = $2 WHERE id = $1")
                .bind(id.to_string())
                .bind(w.now.to_db())
                .execute(&mut *w.tx)
                .await
                .map_err(map_err)?;
            let group = w.load_group(id).await?;
            w.emit(EventKind::ComponentGroupUpdated, id, json(&group));
            report.released += 1;
        }
        w.commit().await?;
        Ok(report)
    }
}

async fn insert_group(
    w: &mut WriteTx,
    id: ComponentGroupId,
    name: &str,
    description: Option<&str>,
    position: Option<i64>,
    config_key: Option<&str>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO component_groups (id, name, description, position, managed_by, config_key, created_at, updated_at) \
         VALUES ($1, $2, $3, COALESCE($4, (SELECT COALESCE(MAX(position), -1) + 1 FROM component_groups)), $5, $6, $7, $7)",
    )
    .bind(id.to_string())
    .bind(name)
    .bind(description)
    .bind(position)
    .bind(if config_key.is_some() { "config" } else { "api" })
    .bind(config_key)
    .bind(w.now.to_db())
    .execute(&mut *w.tx)
    .await
    .map_err(map_err)?;
    Ok(())
}

async fn insert_component(
    w: &mut WriteTx,
    id: ComponentId,
    input: &NewComponent,
    config_key: Option<&str>,
) -> StoreResult<()> {
    if let Some(gid) = input.group_id {
        w.load_group(gid)
            .await
            .map_err(|_| StoreError::invalid(format!("component group `{gid}` does not exist")))?;
    }
    let status = input.status.unwrap_or(ComponentStatus::Operational);
    sqlx::query(
        "INSERT INTO components (id, name, description, group_id, position, status, base_status, status_pinned, \
                                 showcase, only_show_if_degraded, start_date, managed_by, config_key, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, COALESCE($5, (SELECT COALESCE(MAX(position), -1) + 1 FROM components)), $6, $6, 0, \
                 $7, $8, $9, $10, $11, $12, $12)",
    )
    .bind(id.to_string())
    .bind(input.name.clone())
    .bind(input.description.clone())
    .bind(input.group_id.map(|g| g.to_string()))
    .bind(input.position)
    .bind(status.as_str())
    .bind(input.showcase.unwrap_or(true) as i64)
    .bind(input.only_show_if_degraded.unwrap_or(false) as i64)
    .bind(input.start_date.clone())
    .bind(if config_key.is_some() { "config" } else { "api" })
    .bind(config_key)
    .bind(w.now.to_db())
    .execute(&mut *w.tx)
    .await
    .map_err(map_err)?;
    sqlx::query(
        "INSERT INTO component_status_history (id, component_id, from_status, to_status, at) VALUES ($1, $2, NULL, $3, $4)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(id.to_string())
    .bind(status.as_str())
    .bind(w.now.to_db())
    .execute(&mut *w.tx)
    .await
    .map_err(map_err)?;
    Ok(())
}
