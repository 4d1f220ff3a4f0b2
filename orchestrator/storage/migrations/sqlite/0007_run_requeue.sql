-- Re-queueable runs (issue 11): a run nobody waits on (a background sync, webhook, on-event
-- run or async action) is marked 'run' or 'webhook' (how to rebuild its request); NULL: a
-- caller waits on its orchestrator, so the run is never taken over. A queued mark-bearing run
-- whose holder's lease expired is taken over by another orchestrator (RunStore.take_over_runs).
ALTER TABLE runs ADD COLUMN requeue TEXT;
