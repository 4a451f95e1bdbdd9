-- kmc-server schema. Times are unix seconds (INTEGER). Secrets are never
-- stored in the clear: passwords as argon2id PHC strings, TOTP secrets
-- AEAD-encrypted, link tokens and session keys as SHA-256 digests.

CREATE TABLE partners (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL,
    two_factor  INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL
);

-- One login = one email, one password, one TOTP secret, shared by all of
-- its accounts (rows in `users`).
CREATE TABLE logins (
    id                INTEGER PRIMARY KEY,
    email             TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    password_hash     TEXT,
    password_set_at   INTEGER,
    password_expired  INTEGER NOT NULL DEFAULT 0,
    totp_secret       BLOB,
    last_otp_step     INTEGER,
    failed_attempts   INTEGER NOT NULL DEFAULT 0,
    blocked_until     INTEGER,
    last_partner_id   INTEGER,
    created_at        INTEGER NOT NULL
);

CREATE TABLE users (
    login_id    INTEGER NOT NULL REFERENCES logins(id) ON DELETE CASCADE,
    partner_id  INTEGER NOT NULL REFERENCES partners(id) ON DELETE CASCADE,
    is_admin    INTEGER NOT NULL DEFAULT 0,
    first_name  TEXT,
    last_name   TEXT,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (login_id, partner_id)
);

CREATE TABLE password_history (
    id          INTEGER PRIMARY KEY,
    login_id    INTEGER NOT NULL REFERENCES logins(id) ON DELETE CASCADE,
    hash        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX password_history_login ON password_history(login_id, id);

-- One slot per login: issuing a new link replaces (voids) the old one.
CREATE TABLE link_tokens (
    login_id    INTEGER PRIMARY KEY REFERENCES logins(id) ON DELETE CASCADE,
    token_hash  BLOB    NOT NULL UNIQUE,
    kind        TEXT    NOT NULL CHECK (kind IN ('qr', 'reset')),
    expires_at  INTEGER NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE sessions (
    id          INTEGER PRIMARY KEY,
    ks_hash     BLOB    NOT NULL UNIQUE,
    login_id    INTEGER NOT NULL REFERENCES logins(id) ON DELETE CASCADE,
    partner_id  INTEGER NOT NULL,
    privileges  TEXT    NOT NULL,
    expires_at  INTEGER NOT NULL,
    revoked_at  INTEGER,
    created_at  INTEGER NOT NULL
);

-- Operator settings shared between `serve` and the CLI (e.g. public_url).
CREATE TABLE settings (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
