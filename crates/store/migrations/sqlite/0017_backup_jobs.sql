-- The installation's backup queue: every process configured with a backup directory (`rampart
-- serve --backup-dir`, `rampart worker --backup-dir`) inserts the current slot of the backup
-- schedule, and `UNIQUE (slot)` makes it one job however many of them run; one of them claims
-- it with a lease it renews by heartbeat, takes the encrypted backup and records the file it
-- wrote. Installation-level and without a workspace_id: it holds no customer data, only the
-- metadata of backup files (name, sizes, digest, key id). Timestamps are fixed-width UTC text.
CREATE TABLE backup_jobs (
    id                TEXT NOT NULL PRIMARY KEY,
    slot              TEXT NOT NULL UNIQUE,
    state             TEXT NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed')),
    attempts          INTEGER NOT NULL DEFAULT 0,
    max_attempts      INTEGER NOT NULL DEFAULT 3,
    run_after         TEXT NOT NULL,
    lease_owner       TEXT,
    lease_expires_at  TEXT,
    heartbeat_at      TEXT,
    last_error        TEXT,
    -- The backup written (set when the job succeeded).
    backup_id         TEXT,
    file_name         TEXT,
    file_bytes        INTEGER,
    database_bytes    INTEGER,
    database_sha256   TEXT,
    key_id            TEXT,
    backend           TEXT,
    created_by        TEXT NOT NULL,
    created_at        TEXT NOT NULL,
    started_at        TEXT,
    finished_at       TEXT
);
CREATE INDEX backup_jobs_claim ON backup_jobs (state, run_after);
CREATE INDEX backup_jobs_lease ON backup_jobs (state, lease_expires_at);
