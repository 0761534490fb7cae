-- The last TOTP step a user signed in with (issue 8): sign-in accepts a code only for a later
-- step, so a code cannot be used twice, not even within its 30 seconds. NULL: none used yet.
ALTER TABLE users ADD COLUMN totp_last_step BIGINT;
