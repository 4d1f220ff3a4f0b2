-- Per-run budget counters: bytes of log lines kept, records saved and their bytes.
ALTER TABLE runs ADD COLUMN log_bytes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN records_saved INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN record_bytes INTEGER NOT NULL DEFAULT 0;
