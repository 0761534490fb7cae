//! Fresh databases for tests: a SQLite file in a temp folder, or a new PostgreSQL database
//! on the server named by `PHAROS_TEST_POSTGRES_URL` (see `scripts/with-postgres`).
//!
//! Under `CI=true` a missing or unreachable server fails the test instead of skipping it.

use std::path::Path;

pub fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}/pharos.db", dir.display())
}

fn in_ci() -> bool {
    std::env::var("CI").map(|v| v == "true").unwrap_or(false)
}

/// The URL of a new, empty PostgreSQL database; `None` (skip) when no server is configured
/// outside CI.
pub async fn fresh_database_url() -> Option<String> {
    use sqlx::Connection;
    let Ok(base) = std::env::var("PHAROS_TEST_POSTGRES_URL") else {
        if in_ci() {
            panic!(
                "PHAROS_TEST_POSTGRES_URL is not set; under CI the PostgreSQL suite must run: use scripts/with-postgres"
            );
        }
        return None;
    };
    let mut conn = sqlx::PgConnection::connect(&base)
        .await
        .unwrap_or_else(|e| {
            panic!("cannot reach the PostgreSQL server in PHAROS_TEST_POSTGRES_URL: {e}")
        });
    let name = format!("pharos_test_{}", uuid::Uuid::now_v7().simple());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("create test database");
    let _ = conn.close().await;
    let (prefix, _) = base.rsplit_once('/').expect("URL has a database part");
    let query = base
        .split_once('?')
        .map(|(_, q)| format!("?{q}"))
        .unwrap_or_default();
    Some(format!("{prefix}/{name}{query}"))
}
