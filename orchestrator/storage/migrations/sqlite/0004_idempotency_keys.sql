-- An optional client key per triggered run: a retry with the same key gets the first run.
ALTER TABLE runs ADD COLUMN idempotency_key TEXT;
CREATE UNIQUE INDEX runs_idempotency_key ON runs (env_id, idempotency_key)
  WHERE idempotency_key IS NOT NULL;
