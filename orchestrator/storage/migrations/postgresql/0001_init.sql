-- corral orchestrator schema, version 1 (PostgreSQL): the SQLite schema of migrations/sqlite
-- 0001..0004 in PostgreSQL's types.
-- Timestamps are TIMESTAMPTZ (microseconds, as the SQLite engine's RFC 3339 text). JSON objects
-- are JSONB (callers compare them as mappings: JSONB keeps no key order); run input, output and
-- log metadata stay TEXT, verbatim; record payloads are BYTEA as the runner sent them. Ids are
-- identity columns, never reused. Tenant tables hang off environments and connections with
-- ON DELETE CASCADE.

CREATE TABLE environments (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    secret_key_hash TEXT NOT NULL UNIQUE,
    settings JSONB NOT NULL DEFAULT '{}',
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE integrations (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    env_id BIGINT NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    unique_key TEXT NOT NULL,
    provider TEXT NOT NULL,
    base_url TEXT NOT NULL,
    auth_mode TEXT NOT NULL,
    auth_config JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    UNIQUE (env_id, unique_key)
);

CREATE TABLE connections (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    env_id BIGINT NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    integration_id BIGINT NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    connection_id TEXT NOT NULL,
    credentials JSONB NOT NULL,
    connection_config JSONB NOT NULL,
    metadata JSONB NOT NULL,
    base_url TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    UNIQUE (env_id, connection_id)
);

CREATE INDEX connections_by_integration ON connections (integration_id, connection_id);

CREATE TABLE functions (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    integration_id BIGINT NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    version TEXT NOT NULL,
    description TEXT NOT NULL,
    config JSONB NOT NULL,
    files JSONB NOT NULL,
    entry TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    deployed_at TIMESTAMPTZ NOT NULL,
    UNIQUE (integration_id, name)
);

CREATE TABLE environment_variables (
    env_id BIGINT NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (env_id, name)
);

-- Runs keep the connection id as text, not a reference: run history outlives connections.
CREATE TABLE runs (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id TEXT NOT NULL UNIQUE,
    env_id BIGINT NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    function_name TEXT NOT NULL,
    integration_key TEXT NOT NULL,
    kind TEXT NOT NULL,
    connection_id TEXT NOT NULL,
    variant TEXT NOT NULL,
    state TEXT NOT NULL,
    input_json TEXT NOT NULL,
    output_json TEXT,
    error JSONB,
    parent_run_id TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    started_at TIMESTAMPTZ,
    finished_at TIMESTAMPTZ,
    log_count INTEGER NOT NULL DEFAULT 0,
    logs_dropped INTEGER NOT NULL DEFAULT 0,
    log_bytes BIGINT NOT NULL DEFAULT 0,
    records_saved BIGINT NOT NULL DEFAULT 0,
    record_bytes BIGINT NOT NULL DEFAULT 0,
    idempotency_key TEXT
);

CREATE INDEX runs_by_env ON runs (env_id, id);
CREATE INDEX runs_by_connection ON runs (env_id, connection_id, id);
CREATE INDEX runs_by_function ON runs (env_id, function_name, id);
-- An optional client key per triggered run: a retry with the same key gets the first run.
CREATE UNIQUE INDEX runs_idempotency_key ON runs (env_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
-- Unfinished runs, found at start (end_unfinished_runs) without scanning history.
CREATE INDEX runs_unfinished ON runs (id) WHERE state IN ('queued', 'running');

CREATE TABLE run_logs (
    run_pk BIGINT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    level TEXT NOT NULL,
    message TEXT NOT NULL,
    meta_json TEXT NOT NULL,
    timestamp TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (run_pk, seq)
);

-- Monotonic counters; 'record_cursor' numbers every record change.
CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);

INSERT INTO counters (name, value) VALUES ('record_cursor', 0);

-- delete_mark: the id of the deletion tracking that found this record alive at its start and
-- has not seen it saved since (see delete_trackings).
CREATE TABLE records (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    connection_pk BIGINT NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    model TEXT NOT NULL,
    variant TEXT NOT NULL,
    record_id TEXT NOT NULL,
    json BYTEA NOT NULL,
    content_hash TEXT NOT NULL,
    first_seen_at TIMESTAMPTZ NOT NULL,
    last_modified_at TIMESTAMPTZ NOT NULL,
    last_action TEXT NOT NULL,
    deleted_at TIMESTAMPTZ,
    cursor BIGINT NOT NULL,
    delete_mark BIGINT,
    UNIQUE (connection_pk, model, variant, record_id)
);

CREATE INDEX records_by_cursor ON records (connection_pk, model, variant, cursor);

-- One active deletion tracking per (connection, model, variant), owned by one run. Identity
-- ids are never reused, so a mark left behind by an old tracking never matches a new one.
CREATE TABLE delete_trackings (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    connection_pk BIGINT NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    model TEXT NOT NULL,
    variant TEXT NOT NULL,
    run_id TEXT NOT NULL,
    started_at TIMESTAMPTZ NOT NULL,
    UNIQUE (connection_pk, model, variant)
);

CREATE INDEX delete_trackings_by_run ON delete_trackings (run_id);

-- value NULL: cleared. The row stays so that versions keep growing after a clear.
CREATE TABLE checkpoints (
    connection_pk BIGINT NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    function_name TEXT NOT NULL,
    variant TEXT NOT NULL,
    value JSONB,
    version BIGINT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (connection_pk, function_name, variant)
);

-- When each sync runs for each connection: its state (running or paused), its interval, the
-- time it is next due and the last run it started.
CREATE TABLE sync_schedules (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    connection_pk BIGINT NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    sync_name TEXT NOT NULL,
    variant TEXT NOT NULL,
    state TEXT NOT NULL,
    frequency_seconds DOUBLE PRECISION NOT NULL,
    next_run_at TIMESTAMPTZ NOT NULL,
    last_run_id TEXT,
    UNIQUE (connection_pk, sync_name, variant)
);

-- Only running schedules are ever due: the index leaves paused ones out.
CREATE INDEX sync_schedules_due ON sync_schedules (next_run_at) WHERE state = 'running';
