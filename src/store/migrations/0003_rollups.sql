-- Monitor history: hourly and daily roll-ups of the raw check results, kept for years while
-- the raw results are pruned after a configurable time. Same rules as 0001: TEXT and BIGINT
-- only, times as fixed-width RFC 3339 UTC text.

-- One row per monitor, period ('hour' or 'day') and period start (an hour or a UTC midnight).
-- `up_checks + degraded_checks + down_checks = checks`; uptime is (up + degraded) / checks.
-- Latency covers the checks that answered (up or degraded), in microseconds, and is NULL when
-- none did. An hour's p50/p95 are exact (nearest rank over its results); a day's are derived
-- from its hours (see monitor::rollup): p50 the answered-weighted mean of the hours' p50s,
-- p95 the largest of the hours' p95s.
CREATE TABLE check_rollups (
    monitor_id TEXT NOT NULL REFERENCES monitors (id) ON DELETE CASCADE,
    period TEXT NOT NULL,
    period_start TEXT NOT NULL,
    checks BIGINT NOT NULL,
    up_checks BIGINT NOT NULL,
    degraded_checks BIGINT NOT NULL,
    down_checks BIGINT NOT NULL,
    latency_checks BIGINT NOT NULL,
    latency_sum_us BIGINT NOT NULL,
    latency_p50_us BIGINT,
    latency_p95_us BIGINT,
    latency_max_us BIGINT,
    PRIMARY KEY (monitor_id, period, period_start)
);
-- Every monitor's bars at once (the public page): one period over a range of starts.
CREATE INDEX check_rollups_period ON check_rollups (period, period_start);

-- Roll-up bookkeeping, on the monitor's row so that storing a result (which already updates
-- that row, under its lock) can mark a rolled-up hour stale without another statement.
-- Hours before `rollup_until` are rolled up, except those from `rollup_dirty_from` on, which
-- received a result after they were rolled up (a batch written late, after the database came
-- back) and are recomputed by the next roll-up. Both are hour starts; NULL: nothing yet.
ALTER TABLE monitors ADD COLUMN rollup_until TEXT;
ALTER TABLE monitors ADD COLUMN rollup_dirty_from TEXT;
