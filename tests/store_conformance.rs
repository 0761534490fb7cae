//! Runs the store conformance suite (`pharos::store::conformance`) against each backend: every
//! check becomes one test per backend (`sqlite::<check>`, `postgres::<check>`), each over its
//! own fresh database. The PostgreSQL tests need `PHAROS_TEST_POSTGRES_URL`
//! (`scripts/with-postgres cargo nextest run --test store_conformance`); without it they skip
//! locally and fail under CI.
//!
//! Migration behaviour is checked here rather than in the suite because it concerns how a
//! [`SqlStore`] is opened, not the [`Store`] interface.

mod common;

use chrono::Duration;
use pharos::clock::ManualClock;
use pharos::domain::Timestamp;
use pharos::events::Actor;
use pharos::store::sql::ConnectOptions;
use pharos::store::{conformance, NewGroup, PageRequest, SqlStore, Store, MIGRATIONS};
use std::sync::Arc;
use tempfile::TempDir;

/// A fresh database with a store over it, and what must be cleaned up afterwards.
struct Fixture {
    store: Arc<SqlStore>,
    clock: Arc<ManualClock>,
    url: String,
    _dir: Option<TempDir>,
}

#[derive(Clone, Copy, PartialEq)]
enum Backend {
    Sqlite,
    Postgres,
}

/// An empty database (nothing created yet) and the folder holding it, for SQLite.
async fn fresh_database(backend: Backend) -> Option<(String, Option<TempDir>)> {
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("temporary folder");
            Some((common::postgres::sqlite_url(dir.path()), Some(dir)))
        }
        Backend::Postgres => Some((common::postgres::fresh_database_url().await?, None)),
    }
}

fn start_clock() -> Arc<ManualClock> {
    let start = Timestamp::parse("2026-03-02T09:00:00.000001Z").expect("start time");
    Arc::new(ManualClock::new(start))
}

impl Fixture {
    /// `None` when the backend is not available here (PostgreSQL outside CI without a server).
    async fn new(backend: Backend) -> Option<Fixture> {
        let (url, dir) = fresh_database(backend).await?;
        let clock = start_clock();
        let store = open(&url, &clock).await;
        Some(Fixture {
            store: Arc::new(store),
            clock,
            url,
            _dir: dir,
        })
    }

    /// Closes the store and drops the database. Only reached when the check passed, so a
    /// failing test leaves its PostgreSQL database behind for inspection.
    async fn finish(self) {
        self.store.close().await;
        if self.url.starts_with("postgres") {
            common::postgres::drop_database(&self.url).await;
        }
    }
}

async fn open(url: &str, clock: &Arc<ManualClock>) -> SqlStore {
    SqlStore::open(&ConnectOptions::new(url), clock.clone())
        .await
        .unwrap_or_else(|e| panic!("open the store: {e}"))
}

/// Opening twice migrates once; both stores see the same data.
async fn migrations_are_idempotent(backend: Backend) {
    let Some(fx) = Fixture::new(backend).await else {
        return;
    };
    let versions: Vec<i64> = MIGRATIONS.iter().map(|m| m.version).collect();
    // Versions only grow; several changes in flight may land theirs in any order of numbers.
    assert_eq!(versions[..8], [1, 2, 3, 4, 5, 6, 7, 8]);
    assert!(versions.windows(2).all(|w| w[0] < w[1]), "{versions:?}");
    assert_eq!(
        fx.store.applied_migrations().await.expect("applied"),
        versions
    );
    assert_eq!(
        fx.store.migrate().await.expect("migrate again"),
        Vec::<i64>::new(),
        "nothing pending"
    );
    let group = fx
        .store
        .create_group(
            NewGroup {
                name: "kept".into(),
                ..Default::default()
            },
            &Actor::cli(),
        )
        .await
        .expect("create group");

    fx.clock.advance(Duration::hours(1));
    let again = open(&fx.url, &fx.clock).await;
    assert_eq!(
        again.applied_migrations().await.expect("applied"),
        versions,
        "opened twice, migrated once"
    );
    let listed = again
        .list_groups(PageRequest::first(10))
        .await
        .expect("list groups");
    assert_eq!(listed.items, vec![group], "reopening keeps the data");
    assert_eq!(again.last_event_seq().await.expect("seq"), 1);
    again.close().await;
    fx.finish().await;
}

/// Several processes starting at once on an empty database all succeed, and the schema is
/// applied once.
async fn concurrent_opens_migrate_once(backend: Backend) {
    let Some((url, _dir)) = fresh_database(backend).await else {
        return;
    };
    let clock = start_clock();
    // Joined in one task (the open future is not `Send`); the connections, and so the race
    // between the migrations, are still concurrent.
    let stores = tokio::join!(
        open(&url, &clock),
        open(&url, &clock),
        open(&url, &clock),
        open(&url, &clock),
        open(&url, &clock),
        open(&url, &clock),
    );
    let stores = [stores.0, stores.1, stores.2, stores.3, stores.4, stores.5];
    for store in &stores {
        assert_eq!(
            store.applied_migrations().await.expect("applied"),
            MIGRATIONS.iter().map(|m| m.version).collect::<Vec<_>>()
        );
    }
    assert_eq!(
        stores[0].last_event_seq().await.expect("seq"),
        0,
        "the log starts once, empty"
    );
    for store in stores {
        store.close().await;
    }
    if backend == Backend::Postgres {
        common::postgres::drop_database(&url).await;
    }
}

macro_rules! backend_tests {
    ($module:ident, $backend:expr, [$($plain:ident),*], [$($shared:ident),*]) => {
        mod $module {
            use super::*;

            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $plain() {
                    let Some(fx) = Fixture::new($backend).await else { return };
                    conformance::$plain(fx.store.as_ref(), &fx.clock).await;
                    fx.finish().await;
                }
            )*

            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $shared() {
                    let Some(fx) = Fixture::new($backend).await else { return };
                    conformance::$shared(fx.store.clone(), &fx.clock).await;
                    fx.finish().await;
                }
            )*

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn migrations_are_idempotent() {
                super::migrations_are_idempotent($backend).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn concurrent_opens_migrate_once() {
                super::concurrent_opens_migrate_once($backend).await;
            }
        }
    };
}

macro_rules! conformance_tests {
    (plain: [$($plain:ident),* $(,)?], shared: [$($shared:ident),* $(,)?] $(,)?) => {
        backend_tests!(sqlite, Backend::Sqlite, [$($plain),*], [$($shared),*]);
        backend_tests!(postgres, Backend::Postgres, [$($plain),*], [$($shared),*]);
    };
}

pharos::store_conformance_checks!(conformance_tests);
