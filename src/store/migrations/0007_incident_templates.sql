-- Incident templates: what a responder starts an incident from (name, impact, status, first
-- message and the components it usually affects). Same rules as 0001: TEXT and BIGINT only,
-- times as fixed-width RFC 3339 UTC text, JSON as text.

CREATE TABLE incident_templates (
    id TEXT PRIMARY KEY,
    -- What the template is called in the list; unique so a responder picks the right one.
    name TEXT NOT NULL UNIQUE,
    -- The incident's name it proposes.
    title TEXT NOT NULL,
    -- none, minor, major or critical; NULL: derived from the component statuses.
    impact TEXT,
    -- The first update's status (investigating, identified, monitoring).
    status TEXT NOT NULL,
    -- The first update's Markdown.
    body TEXT NOT NULL,
    -- JSON: [{"component_id": "...", "status": "major_outage" | null}, ...]. Components deleted
    -- later are skipped when the template is used.
    components TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
