-- Connection checks: a job that authenticates with a connector's credentials and answers who
-- the cloud says they are, without scanning. SQLite cannot change a CHECK constraint in place:
-- the table is rebuilt with the same columns, rows and indexes.
CREATE TABLE jobs_new (
    workspace_id      TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    id                TEXT NOT NULL,
    kind              TEXT NOT NULL CHECK (kind IN ('scan', 'evaluate', 'import', 'notify', 'report', 'backup', 'check')),
    connector_id      TEXT,
    params            TEXT NOT NULL DEFAULT '{}',
    state             TEXT NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    slot              TEXT,
    attempts          INTEGER NOT NULL DEFAULT 0,
    max_attempts      INTEGER NOT NULL DEFAULT 5,
    run_after         TEXT NOT NULL,
    lease_owner       TEXT,
    lease_expires_at  TEXT,
    heartbeat_at      TEXT,
    cancel_requested  INTEGER NOT NULL DEFAULT 0,
    progress          TEXT,
    last_error        TEXT,
    result            TEXT,
    created_by        TEXT NOT NULL,
    created_at        TEXT NOT NULL,
    started_at        TEXT,
    finished_at       TEXT,
    PRIMARY KEY (workspace_id, id),
    UNIQUE (workspace_id, connector_id, slot)
) STRICT;
INSERT INTO jobs_new SELECT * FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_new RENAME TO jobs;
CREATE INDEX jobs_claim ON jobs (state, run_after);
CREATE INDEX jobs_lease ON jobs (state, lease_expires_at);
CREATE INDEX jobs_recent ON jobs (workspace_id, created_at);
