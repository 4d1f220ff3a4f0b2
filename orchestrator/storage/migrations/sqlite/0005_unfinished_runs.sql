-- The start-up scan for runs a previous process left unfinished (RunStore.end_unfinished_runs)
-- reads only queued and running runs: a partial index keeps it from scanning every run.
CREATE INDEX runs_unfinished ON runs (state) WHERE state IN ('queued', 'running');
