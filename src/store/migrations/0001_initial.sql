-- Pharos schema, version 1. Written once for both SQLite and PostgreSQL: only TEXT and BIGINT
-- columns, times as fixed-width RFC 3339 UTC text, booleans as 0/1, JSON as text.
-- Forward-only: never edit this file after it has landed; add a new migration instead.

-- The event log. `seq` comes from event_counter, whose single row every appending transaction
-- updates just before commit; that row lock serialises appends, so sequence numbers become
-- visible in order and a reader following `seq > cursor` never skips a late commit.
CREATE TABLE event_counter (
    id BIGINT PRIMARY KEY,
    last_seq BIGINT NOT NULL
);
INSERT INTO event_counter (id, last_seq) VALUES (1, 0);

CREATE TABLE events (
    seq BIGINT PRIMARY KEY,
    kind TEXT NOT NULL,
    subject_id TEXT,
    actor TEXT NOT NULL,
    at TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX events_subject ON events (subject_id, seq);

CREATE TABLE component_groups (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT,
    position BIGINT NOT NULL,
    managed_by TEXT NOT NULL,
    config_key TEXT UNIQUE,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE components (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT,
    group_id TEXT REFERENCES component_groups (id),
    position BIGINT NOT NULL,
    status TEXT NOT NULL,
    base_status TEXT NOT NULL,
    status_pinned BIGINT NOT NULL,
    showcase BIGINT NOT NULL,
    only_show_if_degraded BIGINT NOT NULL,
    start_date TEXT,
    managed_by TEXT NOT NULL,
    config_key TEXT UNIQUE,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX components_group ON components (group_id);

-- Every status change of every component: the source of uptime bars and figures.
CREATE TABLE component_status_history (
    id TEXT PRIMARY KEY,
    component_id TEXT NOT NULL REFERENCES components (id) ON DELETE CASCADE,
    from_status TEXT,
    to_status TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX component_status_history_component ON component_status_history (component_id, at);

CREATE TABLE incidents (
    id TEXT PRIMARY KEY,
    short_id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    impact TEXT NOT NULL,
    source_kind TEXT NOT NULL,
    source_ref TEXT,
    started_at TEXT NOT NULL,
    monitoring_at TEXT,
    resolved_at TEXT,
    postmortem_body TEXT,
    postmortem_published_at TEXT,
    postmortem_updated_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX incidents_resolved ON incidents (resolved_at);

-- The components an incident affects and the status it holds for each (NULL: affected,
-- status unchanged). Open incidents' holds decide component status (domain::rules).
CREATE TABLE incident_components (
    incident_id TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    component_id TEXT NOT NULL REFERENCES components (id) ON DELETE CASCADE,
    status TEXT,
    PRIMARY KEY (incident_id, component_id)
);
CREATE INDEX incident_components_component ON incident_components (component_id);

CREATE TABLE incident_updates (
    id TEXT PRIMARY KEY,
    incident_id TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    body TEXT NOT NULL,
    affected_components TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX incident_updates_incident ON incident_updates (incident_id, created_at);

-- Edits of posted updates keep the text they replaced.
CREATE TABLE incident_update_edits (
    id TEXT PRIMARY KEY,
    update_id TEXT NOT NULL REFERENCES incident_updates (id) ON DELETE CASCADE,
    previous_body TEXT NOT NULL,
    actor TEXT NOT NULL,
    edited_at TEXT NOT NULL
);
CREATE INDEX incident_update_edits_update ON incident_update_edits (update_id);

CREATE TABLE maintenances (
    id TEXT PRIMARY KEY,
    short_id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    scheduled_for TEXT NOT NULL,
    scheduled_until TEXT NOT NULL,
    auto_transition BIGINT NOT NULL,
    started_at TEXT,
    completed_at TEXT,
    cancelled_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX maintenances_status ON maintenances (status, scheduled_for);

CREATE TABLE maintenance_components (
    maintenance_id TEXT NOT NULL REFERENCES maintenances (id) ON DELETE CASCADE,
    component_id TEXT NOT NULL REFERENCES components (id) ON DELETE CASCADE,
    PRIMARY KEY (maintenance_id, component_id)
);
CREATE INDEX maintenance_components_component ON maintenance_components (component_id);

CREATE TABLE maintenance_updates (
    id TEXT PRIMARY KEY,
    maintenance_id TEXT NOT NULL REFERENCES maintenances (id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX maintenance_updates_maintenance ON maintenance_updates (maintenance_id, created_at);

-- API tokens: only a SHA-256 of the secret is stored. A name is unique among active tokens.
CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    scope TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at TEXT
);
CREATE UNIQUE INDEX api_tokens_active_name ON api_tokens (name) WHERE revoked_at IS NULL;
