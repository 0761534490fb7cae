//! Roll-ups in SQL: hourly and daily figures of each monitor's checks (`check_rollups`),
//! pruning of the raw results behind them, and the uptime windows read from both.
//!
//! Bookkeeping lives on the monitor's row: hours before `rollup_until` are rolled up, except
//! those from `rollup_dirty_from` on, which received results after their roll-up was written.
//! Storing a result marks its hour there ([`MARK_STALE`], in the statement that already
//! updates the row), and a roll-up takes the same row's lock before it reads the results. So
//! whichever commits second sees the other: a result is either read by the roll-up or marks
//! its hour for the next one. That is what makes a late batch (the writer catching up after
//! the database was away) count without rescanning old hours.
//!
//! The arithmetic is in `crate::monitor::rollup`; this module reads rows and writes figures.
//! Pruning never deletes a result whose hour is not rolled up, so a roll-up that fell behind
//! (or a task that did not run) loses nothing. The one case it cannot repair: a result
//! written later than the retention, into an hour whose results are already pruned; that
//! hour is then recomputed from what is left. The writer's buffer (hours at most) is far
//! shorter than any sensible retention.

use super::*;
use crate::monitor::probe::Outcome;
use crate::monitor::rollup::Figures;

/// Raw results deleted per transaction when pruning: short transactions, so writers and
/// other processes wait for little.
const PRUNE_BATCH: i64 = 5_000;

/// The `SET` expression that marks a stored result's hour stale when that hour is already
/// rolled up. `$h` is the result's hour start (see [`hour_of`]); both columns hold hour starts.
pub(super) fn mark_stale(h: &str) -> String {
    format!(
        "rollup_dirty_from = CASE WHEN rollup_until IS NOT NULL AND {h} < rollup_until \
           AND (rollup_dirty_from IS NULL OR {h} < rollup_dirty_from) THEN {h} \
           ELSE rollup_dirty_from END"
    )
}

/// The stored form of the start of the hour holding `at`.
pub(super) fn hour_of(at: Timestamp) -> String {
    Period::Hour.floor(at).to_db()
}

const ROLLUP_COLUMNS: &str =
    "monitor_id, period, period_start, checks, up_checks, degraded_checks, \
     down_checks, latency_checks, latency_sum_us, latency_p50_us, latency_p95_us, latency_max_us";

fn count(row: &AnyRow, col: &str) -> StoreResult<u64> {
    Ok(get::<i64>(row, col)?.max(0) as u64)
}

fn opt_count(row: &AnyRow, col: &str) -> StoreResult<Option<u64>> {
    Ok(get::<Option<i64>>(row, col)?.map(|v| v.max(0) as u64))
}

fn figures_from_row(row: &AnyRow) -> StoreResult<Figures> {
    Ok(Figures {
        checks: count(row, "checks")?,
        up: count(row, "up_checks")?,
        degraded: count(row, "degraded_checks")?,
        down: count(row, "down_checks")?,
        answered: count(row, "latency_checks")?,
        latency_sum_us: count(row, "latency_sum_us")?,
        p50_us: opt_count(row, "latency_p50_us")?,
        p95_us: opt_count(row, "latency_p95_us")?,
        max_us: opt_count(row, "latency_max_us")?,
    })
}

fn rollup_from_row(row: &AnyRow) -> StoreResult<Rollup> {
    Ok(Rollup::new(
        get_id(row, "monitor_id")?,
        get_enum(row, "period")?,
        get_ts(row, "period_start")?,
        &figures_from_row(row)?,
    ))
}

fn big(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Writes one roll-up, replacing the stored one: recomputing gives the same row.
async fn upsert(
    conn: &mut sqlx::AnyConnection,
    id: MonitorId,
    period: Period,
    start: Timestamp,
    f: &Figures,
) -> StoreResult<()> {
    sqlx::query(&format!(
        "INSERT INTO check_rollups ({ROLLUP_COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
         ON CONFLICT (monitor_id, period, period_start) DO UPDATE SET \
             checks = excluded.checks, up_checks = excluded.up_checks, \
             degraded_checks = excluded.degraded_checks, down_checks = excluded.down_checks, \
             latency_checks = excluded.latency_checks, latency_sum_us = excluded.latency_sum_us, \
             latency_p50_us = excluded.latency_p50_us, latency_p95_us = excluded.latency_p95_us, \
             latency_max_us = excluded.latency_max_us"
    ))
    .bind(id.to_string())
    .bind(period.as_str())
    .bind(start.to_db())
    .bind(big(f.checks))
    .bind(big(f.up))
    .bind(big(f.degraded))
    .bind(big(f.down))
    .bind(big(f.answered))
    .bind(big(f.latency_sum_us))
    .bind(f.p50_us.map(big))
    .bind(f.p95_us.map(big))
    .bind(f.max_us.map(big))
    .execute(&mut *conn)
    .await
    .map_err(map_err)?;
    Ok(())
}

/// The earliest result of a monitor in `[from, to)`; `from` empty: from the first.
async fn first_result(
    conn: &mut sqlx::AnyConnection,
    id: MonitorId,
    from: &str,
    to: &str,
) -> StoreResult<Option<Timestamp>> {
    let row = sqlx::query(
        "SELECT MIN(at) AS first FROM check_results WHERE monitor_id = $1 AND at >= $2 AND at < $3",
    )
    .bind(id.to_string())
    .bind(from)
    .bind(to)
    .fetch_one(&mut *conn)
    .await
    .map_err(map_err)?;
    get_opt_ts(&row, "first")
}

/// `(checks, passed)` of the raw results of a monitor in `[from, to)`.
async fn raw_tally(
    conn: &mut sqlx::AnyConnection,
    id: MonitorId,
    from: Timestamp,
    to: Timestamp,
) -> StoreResult<(u64, u64)> {
    if from >= to {
        return Ok((0, 0));
    }
    let row = sqlx::query(
        "SELECT CAST(COUNT(*) AS BIGINT) AS checks, \
                CAST(COALESCE(SUM(CASE WHEN outcome = 'down' THEN 0 ELSE 1 END), 0) AS BIGINT) AS passed \
           FROM check_results WHERE monitor_id = $1 AND at >= $2 AND at < $3",
    )
    .bind(id.to_string())
    .bind(from.to_db())
    .bind(to.to_db())
    .fetch_one(&mut *conn)
    .await
    .map_err(map_err)?;
    Ok((count(&row, "checks")?, count(&row, "passed")?))
}

/// `(checks, passed)` of a monitor's roll-ups of `period` starting in `[from, to)`.
async fn rollup_tally(
    conn: &mut sqlx::AnyConnection,
    id: MonitorId,
    period: Period,
    from: Timestamp,
    to: Timestamp,
) -> StoreResult<(u64, u64)> {
    if from >= to {
        return Ok((0, 0));
    }
    // SUM of a BIGINT is NUMERIC in PostgreSQL, which the `Any` driver cannot decode: cast.
    let row = sqlx::query(
        "SELECT CAST(COALESCE(SUM(checks), 0) AS BIGINT) AS checks, \
                CAST(COALESCE(SUM(up_checks + degraded_checks), 0) AS BIGINT) AS passed \
           FROM check_rollups \
          WHERE monitor_id = $1 AND period = $2 AND period_start >= $3 AND period_start < $4",
    )
    .bind(id.to_string())
    .bind(period.as_str())
    .bind(from.to_db())
    .bind(to.to_db())
    .fetch_one(&mut *conn)
    .await
    .map_err(map_err)?;
    Ok((count(&row, "checks")?, count(&row, "passed")?))
}

/// What one transaction of a monitor's roll-up wrote.
struct Chunk {
    hours: u64,
}

impl SqlStore {
    pub(super) async fn roll_up_tx(&self, until: Timestamp) -> StoreResult<RollupReport> {
        let target = Period::Hour.floor(until);
        // Most monitors, most of the time, have nothing new: find the others in one query
        // (an index probe per monitor) instead of a write transaction each. Each transaction
        // re-reads the bookkeeping under the row's lock.
        let rows = sqlx::query(
            "SELECT m.id AS id FROM monitors m \
              WHERE m.rollup_dirty_from IS NOT NULL \
                 OR EXISTS (SELECT 1 FROM check_results c WHERE c.monitor_id = m.id \
                               AND c.at >= COALESCE(m.rollup_until, '') AND c.at < $1) \
              ORDER BY m.id",
        )
        .bind(target.to_db())
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        let mut report = RollupReport::default();
        for row in rows {
            let id: MonitorId = get_id(&row, "id")?;
            let mut wrote = false;
            while let Some(chunk) = self.roll_up_chunk(id, target).await? {
                report.hours += chunk.hours;
                report.days += 1;
                wrote = true;
            }
            report.monitors += u64::from(wrote);
        }
        Ok(report)
    }

    /// Rolls up the next day's worth of a monitor's pending hours in one transaction; `None`
    /// when nothing before `target` is pending.
    async fn roll_up_chunk(&self, id: MonitorId, target: Timestamp) -> StoreResult<Option<Chunk>> {
        let mut w = self.begin(&Actor::system()).await?;
        // The row's lock orders this against storing results (see the module doc).
        let touched = sqlx::query("UPDATE monitors SET rollup_until = rollup_until WHERE id = $1")
            .bind(id.to_string())
            .execute(&mut *w.tx)
            .await
            .map_err(map_err)?;
        if touched.rows_affected() == 0 {
            return Ok(None);
        }
        let row = sqlx::query("SELECT rollup_until, rollup_dirty_from FROM monitors WHERE id = $1")
            .bind(id.to_string())
            .fetch_one(&mut *w.tx)
            .await
            .map_err(map_err)?;
        let rolled = get_opt_ts(&row, "rollup_until")?;
        let dirty = get_opt_ts(&row, "rollup_dirty_from")?;
        let from = dirty.or(rolled).map(|t| t.to_db()).unwrap_or_default();
        let Some(first) = first_result(&mut w.tx, id, &from, &target.to_db()).await? else {
            if dirty.is_some() {
                // Marked stale, but its results are gone (nothing left to recompute).
                sqlx::query("UPDATE monitors SET rollup_dirty_from = NULL WHERE id = $1")
                    .bind(id.to_string())
                    .execute(&mut *w.tx)
                    .await
                    .map_err(map_err)?;
                w.commit().await?;
            }
            return Ok(None);
        };
        // Hours without results before `first` have nothing to roll up; one transaction
        // covers at most the rest of `first`'s day, bounding what it reads and holds.
        let start = Period::Hour.floor(first);
        let day = Period::Day.floor(start);
        let end = Period::Day.next(day).min(target);
        let rows = sqlx::query(
            "SELECT at, outcome, latency_us FROM check_results \
              WHERE monitor_id = $1 AND at >= $2 AND at < $3 ORDER BY at",
        )
        .bind(id.to_string())
        .bind(start.to_db())
        .bind(end.to_db())
        .fetch_all(&mut *w.tx)
        .await
        .map_err(map_err)?;
        let mut hours: BTreeMap<Timestamp, Vec<(Outcome, u64)>> = BTreeMap::new();
        for row in &rows {
            let at = get_ts(row, "at")?;
            let latency: i64 = get(row, "latency_us")?;
            hours
                .entry(Period::Hour.floor(at))
                .or_default()
                .push((get_enum(row, "outcome")?, latency.max(0) as u64));
        }
        for (hour, results) in &hours {
            let figures = Figures::from_results(results.iter().copied());
            upsert(&mut w.tx, id, Period::Hour, *hour, &figures).await?;
        }
        // The day from all of its rolled-up hours, those of earlier passes included.
        let day_rows = sqlx::query(&format!(
            "SELECT {ROLLUP_COLUMNS} FROM check_rollups \
              WHERE monitor_id = $1 AND period = 'hour' AND period_start >= $2 AND period_start < $3"
        ))
        .bind(id.to_string())
        .bind(day.to_db())
        .bind(Period::Day.next(day).to_db())
        .fetch_all(&mut *w.tx)
        .await
        .map_err(map_err)?;
        let day_hours = day_rows
            .iter()
            .map(figures_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        upsert(
            &mut w.tx,
            id,
            Period::Day,
            day,
            &Figures::from_hours(&day_hours),
        )
        .await?;
        // Stale hours after this chunk stay stale; otherwise everything before `end` is done.
        let (rolled, dirty) = match (rolled, dirty) {
            (Some(rolled), Some(_)) if end < rolled => (rolled, Some(end)),
            (rolled, _) => (rolled.map_or(end, |r| r.max(end)), None),
        };
        sqlx::query("UPDATE monitors SET rollup_until = $2, rollup_dirty_from = $3 WHERE id = $1")
            .bind(id.to_string())
            .bind(rolled.to_db())
            .bind(dirty.map(|d| d.to_db()))
            .execute(&mut *w.tx)
            .await
            .map_err(map_err)?;
        w.commit().await?;
        Ok(Some(Chunk {
            hours: hours.len() as u64,
        }))
    }

    pub(super) async fn prune_checks_tx(&self, older_than: Timestamp) -> StoreResult<u64> {
        let mut pruned = 0;
        loop {
            let mut w = self.begin(&Actor::system()).await?;
            // Oldest first, and only results whose hour is rolled up and current: with
            // neither bookkeeping column set, the comparison is NULL and keeps the row.
            let done = sqlx::query(
                "DELETE FROM check_results WHERE (monitor_id, at) IN ( \
                     SELECT c.monitor_id, c.at FROM check_results c CROSS JOIN monitors m \
                      WHERE m.id = c.monitor_id AND c.at < $1 \
                        AND c.at < COALESCE(m.rollup_dirty_from, m.rollup_until) \
                      ORDER BY c.at LIMIT $2)",
            )
            .bind(older_than.to_db())
            .bind(PRUNE_BATCH)
            .execute(&mut *w.tx)
            .await
            .map_err(map_err)?
            .rows_affected();
            w.commit().await?;
            pruned += done;
            if done < PRUNE_BATCH as u64 {
                return Ok(pruned);
            }
        }
    }

    pub(super) async fn monitor_rollups_q(
        &self,
        id: MonitorId,
        period: Period,
        since: Timestamp,
    ) -> StoreResult<Vec<Rollup>> {
        let rows = sqlx::query(&format!(
            "SELECT {ROLLUP_COLUMNS} FROM check_rollups \
              WHERE monitor_id = $1 AND period = $2 AND period_start >= $3 ORDER BY period_start"
        ))
        .bind(id.to_string())
        .bind(period.as_str())
        .bind(period.floor(since).to_db())
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter().map(rollup_from_row).collect()
    }

    pub(super) async fn rollups_since_q(
        &self,
        period: Period,
        since: Timestamp,
    ) -> StoreResult<Vec<Rollup>> {
        let rows = sqlx::query(&format!(
            "SELECT {ROLLUP_COLUMNS} FROM check_rollups \
              WHERE period = $1 AND period_start >= $2 ORDER BY monitor_id, period_start"
        ))
        .bind(period.as_str())
        .bind(period.floor(since).to_db())
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter().map(rollup_from_row).collect()
    }

    /// Each window `[now - length, now]` is read as: raw results for the part of its first
    /// hour (exact while they are kept, else the window starts at the next hour), hour
    /// roll-ups up to the first midnight, day roll-ups for whole days, hour roll-ups for the
    /// rest of the last rolled-up day, and raw results from the first hour not rolled up (or
    /// awaiting recomputation) to `now`.
    pub(super) async fn monitor_uptime_q(
        &self,
        id: MonitorId,
        now: Timestamp,
    ) -> StoreResult<Uptime> {
        let mut conn = self.conn().await?;
        let row = sqlx::query("SELECT rollup_until, rollup_dirty_from FROM monitors WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&mut *conn)
            .await
            .map_err(map_err)?
            .ok_or_else(|| StoreError::not_found("monitor", id))?;
        let dirty = get_opt_ts(&row, "rollup_dirty_from")?;
        let current = dirty.or(get_opt_ts(&row, "rollup_until")?);
        // Inclusive of `now`: a result stamped this very microsecond counts.
        let end = Timestamp::from_datetime(now.0 + chrono::Duration::microseconds(1));
        let mut percents = [None; 5];
        for (percent, length) in percents.iter_mut().zip(Uptime::WINDOWS) {
            let start = Timestamp::from_datetime(now.0 - length);
            let mut parts = Vec::new();
            match current {
                Some(rolled) if start < rolled => {
                    let hours_from = Period::Hour.ceil(start).min(rolled);
                    let days_from = Period::Day.ceil(hours_from);
                    let days_to = Period::Day.floor(rolled);
                    parts.push(raw_tally(&mut conn, id, start, hours_from).await?);
                    if days_from < days_to {
                        parts.push(
                            rollup_tally(&mut conn, id, Period::Hour, hours_from, days_from)
                                .await?,
                        );
                        parts.push(
                            rollup_tally(&mut conn, id, Period::Day, days_from, days_to).await?,
                        );
                        parts.push(
                            rollup_tally(&mut conn, id, Period::Hour, days_to, rolled).await?,
                        );
                    } else {
                        parts.push(
                            rollup_tally(&mut conn, id, Period::Hour, hours_from, rolled).await?,
                        );
                    }
                    parts.push(raw_tally(&mut conn, id, rolled, end).await?);
                }
                _ => parts.push(raw_tally(&mut conn, id, start, end).await?),
            }
            let (checks, passed) = parts
                .iter()
                .fold((0, 0), |(c, p), (dc, dp)| (c + dc, p + dp));
            *percent = crate::monitor::rollup::uptime_percent(passed, checks);
        }
        Ok(Uptime::from_windows(percents))
    }
}
