-- corral orchestrator schema, version 1 (SQLite).
-- Timestamps are RFC 3339 UTC text with microseconds ("2026-11-22T23:57:47.123456Z"), which
-- sorts in time order. JSON objects are TEXT; record payloads are BLOBs as the runner sent them.
-- Tenant tables hang off environments and connections with ON DELETE CASCADE.

CREATE TABLE environments (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    secret_key_hash TEXT NOT NULL UNIQUE,
    settings TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL
);

CREATE TABLE integrations (
    id INTEGER PRIMARY KEY,
    env_id INTEGER NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    unique_key TEXT NOT NULL,
    provider TEXT NOT NULL,
    base_url TEXT NOT NULL,
    auth_mode TEXT NOT NULL,
    auth_config TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (env_id, unique_key)
);

CREATE TABLE connections (
    id INTEGER PRIMARY KEY,
    env_id INTEGER NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    integration_id INTEGER NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    connection_id TEXT NOT NULL,
    credentials TEXT NOT NULL,
    connection_config TEXT NOT NULL,
    metadata TEXT NOT NULL,
    base_url TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (env_id, connection_id)
);

CREATE INDEX connections_by_integration ON connections (integration_id, connection_id);

CREATE TABLE functions (
    id INTEGER PRIMARY KEY,
    integration_id INTEGER NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    version TEXT NOT NULL,
    description TEXT NOT NULL,
    config TEXT NOT NULL,
    files TEXT NOT NULL,
    entry TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    deployed_at TEXT NOT NULL,
    UNIQUE (integration_id, name)
);

CREATE TABLE environment_variables (
    env_id INTEGER NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (env_id, name)
);

-- Runs keep the connection id as text, not a reference: run history outlives connections.
CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL UNIQUE,
    env_id INTEGER NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    function_name TEXT NOT NULL,
    integration_key TEXT NOT NULL,
    kind TEXT NOT NULL,
    connection_id TEXT NOT NULL,
    variant TEXT NOT NULL,
    state TEXT NOT NULL,
    input_json TEXT NOT NULL,
    output_json TEXT,
    error TEXT,
    parent_run_id TEXT,
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    log_count INTEGER NOT NULL DEFAULT 0,
    logs_dropped INTEGER NOT NULL DEFAULT 0
);

CREATE INDEX runs_by_env ON runs (env_id, id);
CREATE INDEX runs_by_connection ON runs (env_id, connection_id, id);
CREATE INDEX runs_by_function ON runs (env_id, function_name, id);

CREATE TABLE run_logs (
    run_pk INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    level TEXT NOT NULL,
    message TEXT NOT NULL,
    meta_json TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    PRIMARY KEY (run_pk, seq)
);

-- Monotonic counters; 'record_cursor' numbers every record change.
CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);

INSERT INTO counters (name, value) VALUES ('record_cursor', 0);

-- delete_mark: the id of the deletion tracking that found this record alive at its start and
-- has not seen it saved since (see delete_trackings).
CREATE TABLE records (
    id INTEGER PRIMARY KEY,
    connection_pk INTEGER NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    model TEXT NOT NULL,
    variant TEXT NOT NULL,
    record_id TEXT NOT NULL,
    json BLOB NOT NULL,
    content_hash TEXT NOT NULL,
    first_seen_at TEXT NOT NULL,
    last_modified_at TEXT NOT NULL,
    last_action TEXT NOT NULL,
    deleted_at TEXT,
    cursor INTEGER NOT NULL,
    delete_mark INTEGER,
    UNIQUE (connection_pk, model, variant, record_id)
);

CREATE INDEX records_by_cursor ON records (connection_pk, model, variant, cursor);

-- One active deletion tracking per (connection, model, variant), owned by one run. Ids are
-- never reused (AUTOINCREMENT), so a mark left behind by an old tracking never matches a new one.
CREATE TABLE delete_trackings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    connection_pk INTEGER NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    model TEXT NOT NULL,
    variant TEXT NOT NULL,
    run_id TEXT NOT NULL,
    started_at TEXT NOT NULL,
    UNIQUE (connection_pk, model, variant)
);

CREATE INDEX delete_trackings_by_run ON delete_trackings (run_id);

-- value NULL: cleared. The row stays so that versions keep growing after a clear.
CREATE TABLE checkpoints (
    connection_pk INTEGER NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    function_name TEXT NOT NULL,
    variant TEXT NOT NULL,
    value TEXT,
    version INTEGER NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (connection_pk, function_name, variant)
);
