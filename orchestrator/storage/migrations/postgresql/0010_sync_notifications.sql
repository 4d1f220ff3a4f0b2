-- Sync result notifications waiting to be sent, kept in the store: one row a sync run that
-- ended while its environment had a notification URL, made by the update that ended it
-- (whichever path: the runner's answer, a lease that expired, a restart), so a notification
-- outlives the orchestrator that ended the run. A sender claims due rows for a while
-- (claimed_until; other orchestrators skip them), then deletes the row (sent, refused, or out
-- of tries) or puts it off (due_at, tries). Times are seconds since the epoch; due_at 0 is due
-- at once.
CREATE TABLE sync_notifications (
    run_pk BIGINT PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
    tries INTEGER NOT NULL DEFAULT 0,
    due_at DOUBLE PRECISION NOT NULL DEFAULT 0,
    claimed_until DOUBLE PRECISION
);

CREATE INDEX sync_notifications_by_due ON sync_notifications (due_at);

CREATE FUNCTION sync_run_ended_notifies() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF COALESCE((SELECT settings -> 'notifications' ->> 'url' FROM environments
                 WHERE id = NEW.env_id), '') <> '' THEN
        INSERT INTO sync_notifications (run_pk) VALUES (NEW.id) ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER sync_run_ended_notifies AFTER UPDATE OF state ON runs FOR EACH ROW
WHEN (NEW.kind = 'sync' AND OLD.state IN ('queued', 'running')
      AND NEW.state NOT IN ('queued', 'running'))
EXECUTE FUNCTION sync_run_ended_notifies();
