-- Indexes for the server's own pruning of rows that no longer matter:
-- ended sessions (by when they were ended), expired sessions and expired
-- links (by expiry). The ended-sessions index holds only ended sessions, so
-- a sign-in's INSERT does not write to it.
CREATE INDEX sessions_expires ON sessions(expires_at);
CREATE INDEX sessions_revoked ON sessions(revoked_at) WHERE revoked_at IS NOT NULL;
CREATE INDEX link_tokens_expires ON link_tokens(expires_at);
