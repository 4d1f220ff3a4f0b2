-- A connection's own frequency for one sync's schedule (issue 14: StartSync with a frequency).
-- NULL: the sync's frequency (frequency_seconds, which a redeploy updates) applies; set, it
-- applies instead, and a redeploy keeps it.
ALTER TABLE sync_schedules ADD COLUMN frequency_override_seconds REAL;
