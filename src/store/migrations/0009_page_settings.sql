-- Page settings stored from the web UI (/admin/settings) or /api/v1/page: the page's name,
-- logo, accent colour, time zone, footer links and footer text. One row (id = 1). A NULL
-- column is not stored: the configuration's value or the built-in default applies, and a
-- field set in the configuration always wins over this row. Same rules as 0001: TEXT and
-- BIGINT only, times as fixed-width RFC 3339 UTC text, JSON as text.

CREATE TABLE page_settings (
    id BIGINT PRIMARY KEY,
    name TEXT,
    logo_url TEXT,
    -- #rrggbb, lower case.
    accent_color TEXT,
    -- An IANA zone name.
    time_zone TEXT,
    -- JSON: [{"label": "...", "url": "..."}, ...].
    footer_links TEXT,
    -- Markdown, rendered sanitised in every page's footer.
    footer_text TEXT,
    updated_at TEXT NOT NULL,
    -- The actor of the last change (user:<email>, token:<name>, ...).
    updated_by TEXT NOT NULL
);
