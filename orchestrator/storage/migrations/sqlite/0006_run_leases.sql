-- Run leases (issue 11): the orchestrator instance that holds a run (random per serve process)
-- and until when (RFC 3339 UTC text, as every timestamp here). The holder renews the lease of
-- its unfinished runs; RunStore.end_expired_runs ends the runs whose lease ran out.
ALTER TABLE runs ADD COLUMN owner TEXT;
ALTER TABLE runs ADD COLUMN lease_until TEXT;
