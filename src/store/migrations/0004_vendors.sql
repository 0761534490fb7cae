-- Vendor tracking: followed third-party status pages and what was last seen on them. Same
-- rules as 0001: TEXT and BIGINT only, times as fixed-width RFC 3339 UTC text, booleans 0/1,
-- JSON as text.

CREATE TABLE vendors (
    id TEXT PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    page_url TEXT NOT NULL,
    source_url TEXT,
    adapter TEXT NOT NULL,
    poll_interval_seconds BIGINT NOT NULL,
    -- JSON array of vendor component external ids; empty means all.
    components_of_interest TEXT NOT NULL,
    enabled BIGINT NOT NULL,
    -- pending, ok or unreachable; changed only with a vendor.source_* event (or the import).
    source_state TEXT NOT NULL,
    source_error TEXT,
    unreachable_since TEXT,
    -- Written in batches, not per poll.
    last_checked_at TEXT,
    imported BIGINT NOT NULL,
    -- JSON object: document URL -> {etag, last_modified}, for conditional GETs after a restart.
    validators TEXT NOT NULL,
    managed_by TEXT NOT NULL,
    config_key TEXT UNIQUE,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE vendor_components (
    id TEXT PRIMARY KEY,
    vendor_id TEXT NOT NULL REFERENCES vendors (id) ON DELETE CASCADE,
    external_id TEXT NOT NULL,
    name TEXT NOT NULL,
    group_name TEXT,
    description TEXT,
    status TEXT NOT NULL,
    position BIGINT NOT NULL,
    removed_at TEXT,
    updated_at TEXT NOT NULL,
    UNIQUE (vendor_id, external_id)
);

-- Incidents and maintenances (`kind`), matched by external id, then fingerprint (see
-- vendor::diff). `status` is an incident status or a maintenance status by kind.
CREATE TABLE vendor_incidents (
    id TEXT PRIMARY KEY,
    vendor_id TEXT NOT NULL REFERENCES vendors (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    external_id TEXT,
    fingerprint TEXT NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    impact TEXT NOT NULL,
    started_at TEXT NOT NULL,
    resolved_at TEXT,
    scheduled_until TEXT,
    url TEXT,
    -- JSON array of vendor component external ids.
    component_ids TEXT NOT NULL,
    first_seen_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX vendor_incidents_vendor ON vendor_incidents (vendor_id, started_at);
CREATE INDEX vendor_incidents_resolved ON vendor_incidents (resolved_at);

CREATE TABLE vendor_incident_updates (
    vendor_incident_id TEXT NOT NULL REFERENCES vendor_incidents (id) ON DELETE CASCADE,
    seq BIGINT NOT NULL,
    external_id TEXT,
    status TEXT NOT NULL,
    body TEXT NOT NULL,
    at TEXT NOT NULL,
    first_seen_at TEXT NOT NULL,
    PRIMARY KEY (vendor_incident_id, seq)
);

-- A component of yours that depends on a vendor (`vendor_component` = '': on the whole vendor,
-- meaning any component the vendor's `components_of_interest` covers) or on one vendor
-- component (its external id). While what it depends on is degraded or worse, and the
-- vendor's source is readable, the page shows it as "Upstream: ..."; with `set_status`, the
-- dependency also holds that status on the component (see domain::rules); with
-- `draft_incident`, it prepares an incident draft a responder publishes with one action.
CREATE TABLE vendor_dependencies (
    id TEXT PRIMARY KEY,
    component_id TEXT NOT NULL REFERENCES components (id) ON DELETE CASCADE,
    vendor_id TEXT NOT NULL REFERENCES vendors (id) ON DELETE CASCADE,
    vendor_component TEXT NOT NULL,
    set_status TEXT,
    draft_incident BIGINT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (component_id, vendor_id, vendor_component)
);
CREATE INDEX vendor_dependencies_vendor ON vendor_dependencies (vendor_id);

-- An incident prepared because a dependency's upstream went bad: not an incident (nothing
-- public, no hold) until a responder publishes it, which opens the incident in the same
-- transaction. Dismissed by hand, or on its own when the upstream recovers first.
CREATE TABLE incident_drafts (
    id TEXT PRIMARY KEY,
    dependency_id TEXT NOT NULL REFERENCES vendor_dependencies (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    body TEXT NOT NULL,
    impact TEXT NOT NULL,
    -- The vendor incident's page (or the vendor's page), the opened incident's source ref.
    reference TEXT,
    created_at TEXT NOT NULL,
    published_incident_id TEXT REFERENCES incidents (id) ON DELETE SET NULL,
    closed_at TEXT
);
CREATE INDEX incident_drafts_dependency ON incident_drafts (dependency_id, closed_at);
