-- The installation's backup queue (see the SQLite migration of the same number for the
-- columns). No workspace_id and no customer data, only the metadata of backup files: no
-- row-level security. The application role gets its privileges from Store::migrate_url like
-- every table's; claims take `FOR UPDATE SKIP LOCKED` directly (no SECURITY DEFINER function
-- is needed without row-level security).
CREATE TABLE backup_jobs (
    id                TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    slot              TEXT COLLATE "C" NOT NULL UNIQUE,
    state             TEXT COLLATE "C" NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed')),
    attempts          INTEGER NOT NULL DEFAULT 0,
    max_attempts      INTEGER NOT NULL DEFAULT 3,
    run_after         TEXT COLLATE "C" NOT NULL,
    lease_owner       TEXT COLLATE "C",
    lease_expires_at  TEXT COLLATE "C",
    heartbeat_at      TEXT COLLATE "C",
    last_error        TEXT COLLATE "C",
    backup_id         TEXT COLLATE "C",
    file_name         TEXT COLLATE "C",
    file_bytes        BIGINT,
    database_bytes    BIGINT,
    database_sha256   TEXT COLLATE "C",
    key_id            TEXT COLLATE "C",
    backend           TEXT COLLATE "C",
    created_by        TEXT COLLATE "C" NOT NULL,
    created_at        TEXT COLLATE "C" NOT NULL,
    started_at        TEXT COLLATE "C",
    finished_at       TEXT COLLATE "C"
);
CREATE INDEX backup_jobs_claim ON backup_jobs (state, run_after);
CREATE INDEX backup_jobs_lease ON backup_jobs (state, lease_expires_at);
