-- The job queue (see the SQLite migration of the same number for the columns).
CREATE TABLE jobs (
    workspace_id      TEXT COLLATE "C" NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    id                TEXT COLLATE "C" NOT NULL,
    kind              TEXT COLLATE "C" NOT NULL CHECK (kind IN ('scan', 'evaluate')),
    connector_id      TEXT COLLATE "C",
    params            TEXT COLLATE "C" NOT NULL DEFAULT '{}',
    state             TEXT COLLATE "C" NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    slot              TEXT COLLATE "C",
    attempts          INTEGER NOT NULL DEFAULT 0,
    max_attempts      INTEGER NOT NULL DEFAULT 5,
    run_after         TEXT COLLATE "C" NOT NULL,
    lease_owner       TEXT COLLATE "C",
    lease_expires_at  TEXT COLLATE "C",
    heartbeat_at      TEXT COLLATE "C",
    cancel_requested  INTEGER NOT NULL DEFAULT 0,
    progress          TEXT COLLATE "C",
    last_error        TEXT COLLATE "C",
    result            TEXT COLLATE "C",
    created_by        TEXT COLLATE "C" NOT NULL,
    created_at        TEXT COLLATE "C" NOT NULL,
    started_at        TEXT COLLATE "C",
    finished_at       TEXT COLLATE "C",
    PRIMARY KEY (workspace_id, id),
    UNIQUE (workspace_id, connector_id, slot)
);
CREATE INDEX jobs_claim ON jobs (state, run_after);
CREATE INDEX jobs_lease ON jobs (state, lease_expires_at);
CREATE INDEX jobs_recent ON jobs (workspace_id, created_at);

ALTER TABLE connectors ADD COLUMN schedule TEXT COLLATE "C" NOT NULL DEFAULT '0 3 * * *';

ALTER TABLE jobs ENABLE ROW LEVEL SECURITY;
ALTER TABLE jobs FORCE ROW LEVEL SECURITY;
CREATE POLICY workspace_isolation ON jobs
    USING (workspace_id = current_setting('rampart.workspace_id', true))
    WITH CHECK (workspace_id = current_setting('rampart.workspace_id', true));

-- Reviewed exception: workers take the next due job of any workspace, and the reaper gives back
-- jobs whose lease lapsed, before any scope exists. Two SECURITY DEFINER functions owned by the
-- owner role do exactly that and answer (workspace id, job id) only; the worker then reads and
-- runs the job inside that workspace's scope. The owner role may read and update the queue for
-- them. Executable by the application role only (granted by Store::migrate_url).
DO $$
BEGIN
    EXECUTE format('CREATE POLICY owner_queue_read ON jobs FOR SELECT TO %I USING (true)', current_user);
    EXECUTE format('CREATE POLICY owner_queue_update ON jobs FOR UPDATE TO %I USING (true) WITH CHECK (true)', current_user);
    EXECUTE format(
        'CREATE FUNCTION rampart_claim_job(worker TEXT, now_ts TEXT, lease_until TEXT) '
        'RETURNS TABLE (workspace_id TEXT, id TEXT) '
        'LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS '
        '$f$ UPDATE %1$I.jobs AS j SET state = ''running'', lease_owner = worker, '
        '      lease_expires_at = lease_until, heartbeat_at = now_ts, attempts = j.attempts + 1, '
        '      started_at = COALESCE(j.started_at, now_ts) '
        '    FROM (SELECT q.workspace_id, q.id FROM %1$I.jobs AS q '
        '          WHERE q.state = ''queued'' AND q.run_after <= now_ts '
        '          ORDER BY q.run_after, q.created_at LIMIT 1 FOR UPDATE SKIP LOCKED) AS next '
        '    WHERE j.workspace_id = next.workspace_id AND j.id = next.id '
        '    RETURNING j.workspace_id, j.id $f$', current_schema());
    EXECUTE format(
        'CREATE FUNCTION rampart_reap_jobs(now_ts TEXT) '
        'RETURNS TABLE (workspace_id TEXT, id TEXT, state TEXT) '
        'LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS '
        '$f$ UPDATE %1$I.jobs AS j SET '
        '      state = CASE WHEN j.cancel_requested <> 0 THEN ''cancelled'' '
        '                   WHEN j.attempts >= j.max_attempts THEN ''failed'' ELSE ''queued'' END, '
        '      finished_at = CASE WHEN j.cancel_requested <> 0 OR j.attempts >= j.max_attempts THEN now_ts END, '
        '      last_error = ''the worker '' || COALESCE(j.lease_owner, ''?'') || '' stopped renewing its lease (lost at '' || COALESCE(j.heartbeat_at, ''?'') || '')'', '
        '      lease_owner = NULL, lease_expires_at = NULL, run_after = now_ts '
        '    FROM (SELECT q.workspace_id, q.id FROM %1$I.jobs AS q '
        '          WHERE q.state = ''running'' AND q.lease_expires_at < now_ts '
        '          FOR UPDATE SKIP LOCKED) AS stale '
        '    WHERE j.workspace_id = stale.workspace_id AND j.id = stale.id '
        '    RETURNING j.workspace_id, j.id, j.state $f$', current_schema());
END $$;
REVOKE ALL ON FUNCTION rampart_claim_job(TEXT, TEXT, TEXT) FROM PUBLIC;
REVOKE ALL ON FUNCTION rampart_reap_jobs(TEXT) FROM PUBLIC;
