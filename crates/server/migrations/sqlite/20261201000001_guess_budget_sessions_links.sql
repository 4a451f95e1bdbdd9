-- Guess limits and sessions that hold under attack (issue 11).
--
-- logins.failed_attempts now counts reserved checks: an attempt is reserved
-- (the counter raised) before any argon2 or TOTP work, and given back on
-- success. code_failures counts how many of those were wrong authenticator
-- codes: a success without a code forgives password failures only, so code
-- failures are forgiven by a correct code alone.
ALTER TABLE logins ADD COLUMN code_failures INTEGER NOT NULL DEFAULT 0;

-- Whether a session was created with a correct authenticator code (or
-- switched from one that was): only such sessions switch directly into a
-- 2FA account, and they survive 2FA being turned on for their account.
ALTER TABLE sessions ADD COLUMN proven_with_code INTEGER NOT NULL DEFAULT 0;

-- Changing a password ends the login's sessions by raising its epoch: a
-- session is live only while its epoch equals its login's. A sign-in that
-- read the login before a password change (and is still hashing) stamps the
-- old epoch, so it cannot outlive the change either.
ALTER TABLE logins ADD COLUMN session_epoch INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0;
CREATE INDEX sessions_login ON sessions(login_id);

-- One live link per login per kind: a set-password link no longer voids a
-- pending QR link (SQLite cannot change a primary key in place).
CREATE TABLE link_tokens_new (
    login_id    INTEGER NOT NULL REFERENCES logins(id) ON DELETE CASCADE,
    token_hash  BLOB    NOT NULL UNIQUE,
    kind        TEXT    NOT NULL CHECK (kind IN ('qr', 'reset')),
    expires_at  INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (login_id, kind)
);
INSERT INTO link_tokens_new SELECT login_id, token_hash, kind, expires_at, created_at FROM link_tokens;
DROP TABLE link_tokens;
ALTER TABLE link_tokens_new RENAME TO link_tokens;
