-- Run tokens, shared by every orchestrator on this database (issue 11): a worker's callback may
-- land on any of them. Only the token's SHA-256 digest is kept, never the token. A token is live
-- until it is revoked (its row deleted at the end of its run) or expires_at passes; expired rows
-- are purged. Deleting an environment deletes its tokens.

CREATE TABLE run_tokens (
    digest BYTEA PRIMARY KEY,
    env_id BIGINT NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    scope JSONB NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX run_tokens_by_expiry ON run_tokens (expires_at);

CREATE INDEX run_tokens_by_environment ON run_tokens (env_id);
