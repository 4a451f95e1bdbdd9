-- Request limits shared by every process on the database (issue 14): the
-- password-reset limits per email and per client, counted per key in a
-- window that opens at the key's first request. Keys are SHA-256 digests
-- (an email typed at the reset form is never stored). Ended windows are
-- pruned by window_start.
CREATE TABLE request_limits (
    key           BLOB    PRIMARY KEY,
    window_start  INTEGER NOT NULL,
    count         INTEGER NOT NULL
);
CREATE INDEX request_limits_window ON request_limits(window_start);
