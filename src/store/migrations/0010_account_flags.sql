-- Account flags (accounts of the web UI, see 0006). Same rules as 0001: TEXT and BIGINT only,
-- times as fixed-width RFC 3339 UTC text, booleans 0/1.
--
-- A password set by someone else (an admin's reset in the UI or `pharos user reset-password`)
-- is temporary: the user must choose a new one before reaching any other admin page.
-- `must_change_password` says so; `temporary_password_used_at` is set by the one sign-in the
-- temporary password allows, so a second sign-in with it is refused. Choosing a password
-- clears both. Existing accounts keep their passwords (0 and NULL).
ALTER TABLE users ADD COLUMN must_change_password BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN temporary_password_used_at TEXT;
