-- Provider webhooks accepted and not yet delivered, kept in the store: the endpoint answers the
-- provider only once its webhook is here, so a webhook outlives the orchestrator that accepted
-- it, and whichever orchestrator of the database claims it first delivers it (starts the
-- subscribed syncs' handlers). A deliverer claims rows for a while (claimed_until), then
-- deletes the row (delivered, or refused for good) or puts it off (due_at, tries). Times are
-- seconds since the epoch; due_at 0 is due at once. The payload is the body's JSON, as read.
CREATE TABLE webhook_inbox (
    id INTEGER PRIMARY KEY,
    env_id INTEGER NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    integration_key TEXT NOT NULL,
    event_type TEXT NOT NULL,
    payload TEXT NOT NULL,
    received_at REAL NOT NULL,
    tries INTEGER NOT NULL DEFAULT 0,
    due_at REAL NOT NULL DEFAULT 0,
    claimed_until REAL
);

CREATE INDEX webhook_inbox_by_due ON webhook_inbox (due_at);

CREATE INDEX webhook_inbox_by_environment ON webhook_inbox (env_id);
