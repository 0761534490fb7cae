//! Fresh databases for integration tests: a SQLite file in a temporary folder, or a new
//! PostgreSQL database on the server named by `PHAROS_TEST_POSTGRES_URL` (which
//! `scripts/with-postgres` starts and exports). Each test gets its own database, so tests run
//! in parallel without seeing each other's rows.
//!
//! Without `PHAROS_TEST_POSTGRES_URL` the PostgreSQL tests skip locally, but fail under CI
//! (`CI=true`), so a misconfigured pipeline cannot pass by running nothing.

use sqlx::{Connection, Executor, PgConnection};
use std::path::Path;

const URL_VAR: &str = "PHAROS_TEST_POSTGRES_URL";

/// The URL of a SQLite database file inside `dir` (created on first open).
pub fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}/pharos.db", dir.display())
}

/// Creates an empty database on the test server and returns its URL, or `None` (after saying
/// so) when no server is configured outside CI.
///
/// Panics when the server cannot be reached or refuses: a configured server that does not
/// answer is a broken setup, not a reason to skip.
pub async fn fresh_database_url() -> Option<String> {
    let server = match std::env::var(URL_VAR) {
        Ok(url) if !url.trim().is_empty() => url,
        _ => {
            if std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true")) {
                panic!(
                    "{URL_VAR} is not set; under CI the PostgreSQL suite must run: use scripts/with-postgres"
                );
            }
            eprintln!("skipping: {URL_VAR} is not set (run under scripts/with-postgres to include PostgreSQL)");
            return None;
        }
    };
    let name = format!("pharos_test_{:016x}", rand::random::<u64>());
    let mut conn = PgConnection::connect(&server).await.unwrap_or_else(|e| {
        panic!(
            "cannot connect to the PostgreSQL test server at {}: {e}",
            redact(&server)
        )
    });
    // ICU's `en-US` collation, where available, orders punctuation before digits and letters,
    // unlike the `C` collation of the throwaway cluster. Production databases often use such a
    // collation, so tests run under it to catch SQL that relies on byte order of text.
    let icu = format!(
        "CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C.UTF-8' \
         LOCALE_PROVIDER icu ICU_LOCALE 'en-US'"
    );
    if conn.execute(icu.as_str()).await.is_err() {
        conn.execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "cannot create test database {name} on {}: {e}",
                    redact(&server)
                )
            });
    }
    let _ = conn.close().await;
    Some(with_database(&server, &name))
}

/// Drops a database made by [`fresh_database_url`], so a long-lived test server does not fill
/// up. Best effort: a failure leaves the database behind for inspection.
pub async fn drop_database(url: &str) {
    let Some(name) = database_name(url) else {
        return;
    };
    let Ok(server) = std::env::var(URL_VAR) else {
        return;
    };
    if let Ok(mut conn) = PgConnection::connect(&server).await {
        let _ = conn
            .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
            .await;
        let _ = conn.close().await;
    }
}

/// `url` with its database (the path) replaced by `name`, keeping any query string.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    let mut out = format!("{}/{name}", &base[..path_start]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

fn database_name(url: &str) -> Option<&str> {
    let base = url.split('?').next()?;
    let name = base.rsplit('/').next()?;
    name.starts_with("pharos_test_").then_some(name)
}

/// The URL without its password, for messages.
fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    let rest = &url[scheme_end..];
    match (rest.find('@'), rest.find(':')) {
        (Some(at), Some(colon)) if colon < at => {
            format!(
                "{}{}:***{}",
                &url[..scheme_end],
                &rest[..colon],
                &rest[at..]
            )
        }
        _ => url.to_string(),
    }
}
