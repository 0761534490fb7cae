-- Monitoring: monitors, their raw check results and roll-ups. Same rules as 0001: TEXT and
-- BIGINT only, times as fixed-width RFC 3339 UTC text, booleans 0/1, JSON as text.

CREATE TABLE monitors (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT,
    kind TEXT NOT NULL,
    -- The kind's settings (monitor::model::Check) as JSON, `kind` included.
    settings TEXT NOT NULL,
    interval_seconds BIGINT NOT NULL,
    timeout_ms BIGINT NOT NULL,
    -- monitor::evaluate::Policy as JSON.
    policy TEXT NOT NULL,
    tags TEXT NOT NULL,
    paused BIGINT NOT NULL,
    auto_incidents BIGINT NOT NULL,
    -- Push monitors: SHA-256 of the secret in the push URL.
    push_token_hash TEXT UNIQUE,
    -- The verdict: pending, up, degraded or down; changed only with a monitor.state_changed event.
    health TEXT NOT NULL,
    health_since TEXT NOT NULL,
    flapping BIGINT NOT NULL,
    -- monitor::evaluate::Memory as JSON: the recent results the thresholds look at.
    memory TEXT NOT NULL,
    last_checked_at TEXT,
    last_outcome TEXT,
    last_message TEXT,
    -- The open incident this monitor opened or joined.
    incident_id TEXT REFERENCES incidents (id) ON DELETE SET NULL,
    managed_by TEXT NOT NULL,
    config_key TEXT UNIQUE,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX monitors_incident ON monitors (incident_id);

-- The components a monitor drives, and the status it sets on them when down.
CREATE TABLE monitor_components (
    monitor_id TEXT NOT NULL REFERENCES monitors (id) ON DELETE CASCADE,
    component_id TEXT NOT NULL REFERENCES components (id) ON DELETE CASCADE,
    down_status TEXT NOT NULL,
    PRIMARY KEY (monitor_id, component_id)
);
CREATE INDEX monitor_components_component ON monitor_components (component_id);

-- Raw results, written in batches, kept for a configurable time. `location` says where the
-- check ran ("local" for the process itself), so remote locations can join later.
CREATE TABLE check_results (
    monitor_id TEXT NOT NULL REFERENCES monitors (id) ON DELETE CASCADE,
    at TEXT NOT NULL,
    location TEXT NOT NULL,
    outcome TEXT NOT NULL,
    error_class TEXT,
    message TEXT NOT NULL,
    status_code BIGINT,
    -- Total latency in microseconds.
    latency_us BIGINT NOT NULL,
    -- monitor::probe::Timings and details as JSON.
    report TEXT NOT NULL
);
CREATE INDEX check_results_monitor ON check_results (monitor_id, at);
CREATE INDEX check_results_at ON check_results (at);

-- An incident a person took over: automation stops writing to it except to post recovery.
ALTER TABLE incidents ADD COLUMN taken_over_at TEXT;
