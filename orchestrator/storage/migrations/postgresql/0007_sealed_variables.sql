-- Secrets at rest (issue 12): an environment variable's value is sealed (AES-GCM, with the key
-- of CORRAL_SECRETS_KEY) when sealed, plaintext otherwise (stored without a key, or before
-- keys). Credentials and auth configs need no column: sealed, they are a JSON string instead of
-- an object (orchestrator/storage/_sealing.py).
ALTER TABLE environment_variables ADD COLUMN sealed BOOLEAN NOT NULL DEFAULT FALSE;
