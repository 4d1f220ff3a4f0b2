-- Record change numbers (list cursors) come from a sequence from now on. Drawing from a
-- sequence takes no lock, so writers of different (connection, model, variant) scopes no longer
-- wait for one another; writers of one scope take turns under that scope's advisory lock (see
-- orchestrator/storage/_pg_records.py). The sequence goes on from the counter, so every cursor
-- already handed out stays smaller than every new one. The 'record_cursor' row of counters is
-- no longer advanced (the SQLite engine still uses its own).
CREATE SEQUENCE record_cursors AS BIGINT MINVALUE 1;

SELECT setval('record_cursors', GREATEST(value, 1), value > 0)
FROM counters WHERE name = 'record_cursor';
