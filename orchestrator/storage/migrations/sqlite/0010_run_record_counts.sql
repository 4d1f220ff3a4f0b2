-- Records added, updated and deleted per run and model, written by the transaction that
-- changes them: with several orchestrators on one database a run's record calls may be served
-- by any of them, and the one that ends the run notifies with every call's counts. A run's
-- counts go with it (retention, an environment deleted).
CREATE TABLE run_record_counts (
    run_pk INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    model TEXT NOT NULL,
    added INTEGER NOT NULL,
    updated INTEGER NOT NULL,
    deleted INTEGER NOT NULL,
    PRIMARY KEY (run_pk, model)
);
