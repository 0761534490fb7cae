-- Admin list indexes (issue 8): the monitor list sorts worst state first, then by name
-- (`LIST_RANK` in store/sql/monitors.rs: 0 down, 1 degraded, 2 pending, 3 up, 4 paused). An
-- index on that rank lets a page, a state filter (`rank = k`) and the per-state counts be read
-- in order from the index instead of sorting every monitor; the second serves the kind filter.
-- The expression must stay character for character the one the queries use.
CREATE INDEX monitors_list ON monitors ((CASE WHEN paused <> 0 THEN 4 WHEN health = 'down' THEN 0 WHEN health = 'degraded' THEN 1 WHEN health = 'pending' THEN 2 ELSE 3 END), name, id);
CREATE INDEX monitors_kind_list ON monitors (kind, (CASE WHEN paused <> 0 THEN 4 WHEN health = 'down' THEN 0 WHEN health = 'degraded' THEN 1 WHEN health = 'pending' THEN 2 ELSE 3 END), name, id);
-- A text search (`LIKE '%…%'` on the name and the tags) cannot seek, so it scans: this index
-- holds every column the search, its order and its count read, so the scan reads it alone
-- (SQLite: a covering index; PostgreSQL: an index-only scan) rather than the whole table.
CREATE INDEX monitors_text ON monitors (name, tags, paused, health, id);
