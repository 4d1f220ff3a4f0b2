"""Storage: one protocol per area, the SQLite engine (one module per area), migrations."""
