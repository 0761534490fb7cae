//! Embedded, forward-only schema migrations, applied in order at start and by `pharos migrate`.
//!
//! Each migration runs in its own transaction and is recorded with a checksum; a recorded
//! migration whose text changed is an error, because editing a landed migration would leave
//! databases that applied the old text silently different from new ones.

use super::sql::Backend;
use super::{StoreError, StoreResult};
use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, Connection, Executor, Row};

/// One migration: its version, a name, and the SQL both backends run.
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

/// Every migration, oldest first. Append; never edit or reorder.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial",
        sql: include_str!("migrations/0001_initial.sql"),
    },
    Migration {
        version: 2,
        name: "monitors",
        sql: include_str!("migrations/0002_monitors.sql"),
    },
    Migration {
        version: 3,
        name: "rollups",
        sql: include_str!("migrations/0003_rollups.sql"),
    },
    Migration {
        version: 4,
        name: "vendors",
        sql: include_str!("migrations/0004_vendors.sql"),
    },
    Migration {
        version: 5,
        name: "notifications",
        sql: include_str!("migrations/0005_notifications.sql"),
    },
    Migration {
        version: 6,
        name: "accounts",
        sql: include_str!("migrations/0006_accounts.sql"),
    },
    Migration {
        version: 7,
        name: "incident_templates",
        sql: include_str!("migrations/0007_incident_templates.sql"),
    },
    Migration {
        version: 8,
        name: "admin_indexes",
        sql: include_str!("migrations/0008_admin_indexes.sql"),
    },
    Migration {
        version: 9,
        name: "page_settings",
        sql: include_str!("migrations/0009_page_settings.sql"),
    },
    Migration {
        version: 10,
        name: "account_flags",
        sql: include_str!("migrations/0010_account_flags.sql"),
    },
    Migration {
        version: 12,
        name: "totp_last_step",
        sql: include_str!("migrations/0012_totp_last_step.sql"),
    },
];

fn checksum(sql: &str) -> String {
    hex::encode(Sha256::digest(sql.as_bytes()))
}

/// Applies the pending migrations on `conn`. Returns the versions applied.
pub(super) async fn run(
    conn: &mut AnyConnection,
    backend: Backend,
    now: crate::domain::Timestamp,
) -> StoreResult<Vec<i64>> {
    // Several processes may start at once against one PostgreSQL database; a session-level
    // advisory lock makes them take turns. SQLite has no such lock; `apply_pending` re-checks
    // each migration under the write lock instead.
    if backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_lock(7243017)")
            .execute(&mut *conn)
            .await
            .map_err(super::sql::map_err)?;
    }
    let result = apply_pending(conn, backend, now).await;
    if backend == Backend::Postgres {
        // Unlock even when applying failed, so a retry in the same session can proceed.
        let _ = sqlx::query("SELECT pg_advisory_unlock(7243017)")
            .execute(&mut *conn)
            .await;
    }
    result
}

async fn apply_pending(
    conn: &mut AnyConnection,
    backend: Backend,
    now: crate::domain::Timestamp,
) -> StoreResult<Vec<i64>> {
    // Through the `Executor` trait rather than `RawSql::execute`: the latter's generic
    // executor makes this future lose `Send`, and the app retries preparation in a task.
    conn.execute(sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version BIGINT PRIMARY KEY,
            name TEXT NOT NULL,
            checksum TEXT NOT NULL,
            applied_at TEXT NOT NULL
        )",
    ))
    .await
    .map_err(super::sql::map_err)?;

    let rows = sqlx::query("SELECT version, checksum FROM schema_migrations ORDER BY version")
        .fetch_all(&mut *conn)
        .await
        .map_err(super::sql::map_err)?;
    let mut applied = Vec::new();
    for row in &rows {
        let version: i64 = row.try_get("version").map_err(super::sql::map_err)?;
        let sum: String = row.try_get("checksum").map_err(super::sql::map_err)?;
        match MIGRATIONS.iter().find(|m| m.version == version) {
            Some(m) if checksum(m.sql) != sum => {
                return Err(StoreError::Internal(format!(
                    "migration {version} ({}) differs from the one applied to this database; \
                     landed migrations must never be edited",
                    m.name
                )))
            }
            Some(_) => applied.push(version),
            None => {
                return Err(StoreError::Internal(format!(
                    "the database has schema version {version}, newer than this binary knows; \
                     run a newer pharos"
                )))
            }
        }
    }

    let mut done = Vec::new();
    for m in MIGRATIONS.iter().filter(|m| !applied.contains(&m.version)) {
        // SQLite has no advisory lock: two processes may both have read "not applied" above.
        // IMMEDIATE takes the write lock (waiting out the other process), and the check is
        // repeated under it, so the second one skips what the first applied.
        let mut tx = match backend {
            Backend::Sqlite => conn.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => conn.begin().await,
        }
        .map_err(super::sql::map_err)?;
        let applied_meanwhile =
            sqlx::query("SELECT version FROM schema_migrations WHERE version = $1")
                .bind(m.version)
                .fetch_optional(&mut *tx)
                .await
                .map_err(super::sql::map_err)?;
        if applied_meanwhile.is_some() {
            tx.rollback().await.map_err(super::sql::map_err)?;
            continue;
        }
        tx.execute(sqlx::raw_sql(m.sql))
            .await
            .map_err(|e| StoreError::Internal(format!("migration {} failed: {e}", m.version)))?;
        sqlx::query(
            "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(m.version)
        .bind(m.name)
        .bind(checksum(m.sql))
        .bind(now.to_db())
        .execute(&mut *tx)
        .await
        .map_err(super::sql::map_err)?;
        tx.commit().await.map_err(super::sql::map_err)?;
        tracing::info!(version = m.version, name = m.name, "applied migration");
        done.push(m.version);
    }
    Ok(done)
}
