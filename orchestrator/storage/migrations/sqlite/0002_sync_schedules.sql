-- When each sync runs for each connection: its state (running or paused), its interval, the
-- time it is next due and the last run it started.
CREATE TABLE sync_schedules (
    id INTEGER PRIMARY KEY,
    connection_pk INTEGER NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    sync_name TEXT NOT NULL,
    variant TEXT NOT NULL,
    state TEXT NOT NULL,
    frequency_seconds REAL NOT NULL,
    next_run_at TEXT NOT NULL,
    last_run_id TEXT,
    UNIQUE (connection_pk, sync_name, variant)
);

CREATE INDEX sync_schedules_due ON sync_schedules (state, next_run_at);
