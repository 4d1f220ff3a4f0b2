-- The fleet (issue 12): runner hosts that joined with `corral runner --orchestrator`, as their
-- last heartbeat described them. Every orchestrator of the database places runs on all of them,
-- whichever orchestrator a runner's heartbeats reach.
CREATE TABLE fleet_runners (
    runner_id TEXT PRIMARY KEY,
    address TEXT NOT NULL,
    slots INTEGER NOT NULL,
    runs_in_progress INTEGER NOT NULL,
    idle_workers INTEGER NOT NULL,
    layers_applied JSONB NOT NULL,
    layers_missing JSONB NOT NULL,
    draining BOOLEAN NOT NULL,
    version TEXT NOT NULL,
    last_heartbeat TIMESTAMPTZ NOT NULL
);
CREATE INDEX fleet_runners_heard ON fleet_runners (last_heartbeat);
