-- Indexes for the server's own pruning (see the SQLite migration of the
-- same name).
CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE INDEX sessions_revoked ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;
CREATE INDEX link_tokens_expires ON link_tokens (expires_at);
