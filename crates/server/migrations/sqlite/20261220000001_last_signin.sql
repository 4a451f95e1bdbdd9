-- When a login was last given a session by a sign-in (unix seconds), for
-- the operator's `user list`.
ALTER TABLE logins ADD COLUMN last_signin_at INTEGER;
