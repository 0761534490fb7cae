-- Accounts of the web UI: users, their database-backed sessions, and the one-time token that
-- creates the first admin. Same rules as 0001: TEXT and BIGINT only, times as fixed-width
-- RFC 3339 UTC text, booleans 0/1. No secret is stored in a form that signs anyone in:
-- passwords as argon2id PHC strings, session and setup secrets as SHA-256 hex.

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    -- Folded to lower case by the application: one account per address.
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    -- admin, responder or viewer.
    role TEXT NOT NULL,
    -- argon2id, PHC string format (algorithm, parameters and salt included).
    password_hash TEXT NOT NULL,
    -- Base32 TOTP secret; NULL when the second factor is off.
    totp_secret TEXT,
    disabled BIGINT NOT NULL,
    -- Wrong passwords (or codes) in a row; a success resets it.
    failed_logins BIGINT NOT NULL,
    -- Set when failed_logins reaches the limit: sign-in is refused until then, in every
    -- process, across restarts.
    locked_until TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    password_changed_at TEXT NOT NULL
);

-- Signed-in browsers. `id` is the SHA-256 hex of the cookie's secret, so a copy of this table
-- signs nobody in. Deleting a user deletes its sessions.
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The token every form of this session must carry.
    csrf TEXT NOT NULL,
    created_at TEXT NOT NULL,
    -- Moved at most once a minute; idle expiry is measured from it.
    last_seen_at TEXT NOT NULL,
    -- Absolute expiry, fixed at sign-in.
    expires_at TEXT NOT NULL,
    user_agent TEXT,
    client_ip TEXT
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

-- The one-time link that creates the first admin (one row at most, id = 1). Spent when used,
-- and useless once any user exists.
CREATE TABLE setup_token (
    id BIGINT PRIMARY KEY,
    token_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT
);
