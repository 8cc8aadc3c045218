-- The job queue: scans, evaluations (and later notifications, reports) run as jobs claimed by
-- `rampart worker` processes (or the worker inside `rampart serve`) with a lease that the
-- holder renews by heartbeat; a job whose lease lapsed is given back to the queue by the reaper.
-- Timestamps are fixed-width UTC text (text order is time order).
CREATE TABLE jobs (
    workspace_id      TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    id                TEXT NOT NULL,
    kind              TEXT NOT NULL CHECK (kind IN ('scan', 'evaluate')),
    connector_id      TEXT,
    params            TEXT NOT NULL DEFAULT '{}',
    state             TEXT NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    -- The schedule slot a scheduler fired this job for (NULL for jobs started by hand): one
    -- job per connector and slot, however many schedulers run.
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
CREATE INDEX jobs_claim ON jobs (state, run_after);
CREATE INDEX jobs_lease ON jobs (state, lease_expires_at);
CREATE INDEX jobs_recent ON jobs (workspace_id, created_at);

-- When a connector is scanned on its own: a five-field cron expression in UTC.
ALTER TABLE connectors ADD COLUMN schedule TEXT NOT NULL DEFAULT '0 3 * * *';
