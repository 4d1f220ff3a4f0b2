-- Run leases (issue 11): the orchestrator instance that holds a run (random per serve process)
-- and until when. The holder renews the lease of its unfinished runs; another orchestrator's
-- sweep (RunStore.end_expired_runs) ends the runs whose lease ran out (their holder died).
ALTER TABLE runs ADD COLUMN owner TEXT, ADD COLUMN lease_until TIMESTAMPTZ;
-- The holder's renewal finds its unfinished runs without scanning history.
CREATE INDEX runs_unfinished_owner ON runs (owner) WHERE state IN ('queued', 'running');
