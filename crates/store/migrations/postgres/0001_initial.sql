-- Rampart initial schema (PostgreSQL). Mirrors migrations/sqlite/0001_initial.sql: same tables,
-- same column names; text columns use the "C" collation so that ordering and comparisons are
-- byte order, as in SQLite (timestamps are fixed-width RFC 3339 UTC text: text order is time
-- order).
--
-- Every table of workspace data carries `workspace_id` as the first column of its primary key
-- (so the tables can be distributed by `workspace_id`, e.g. on Citus), and has row-level
-- security ENABLEd and FORCEd with a policy that compares `workspace_id` with the
-- transaction-local setting `rampart.workspace_id` (unset: NULL or '' → no row, fails closed).

CREATE TABLE workspaces (
    id          TEXT COLLATE "C" PRIMARY KEY,
    slug        TEXT COLLATE "C" NOT NULL UNIQUE,
    name        TEXT COLLATE "C" NOT NULL,
    created_at  TEXT COLLATE "C" NOT NULL
);

CREATE TABLE users (
    id                   TEXT COLLATE "C" PRIMARY KEY,
    email                TEXT COLLATE "C" NOT NULL UNIQUE,
    password_hash        TEXT COLLATE "C" NOT NULL,
    created_at           TEXT COLLATE "C" NOT NULL,
    password_changed_at  TEXT COLLATE "C" NOT NULL
);

CREATE TABLE memberships (
    user_id       TEXT COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    workspace_id  TEXT COLLATE "C" NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    role          TEXT COLLATE "C" NOT NULL CHECK (role IN ('owner', 'admin', 'analyst', 'viewer', 'auditor')),
    created_at    TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (workspace_id, user_id)
);
CREATE INDEX memberships_user ON memberships(user_id);

CREATE TABLE sessions (
    id_hash       TEXT COLLATE "C" PRIMARY KEY,
    user_id       TEXT COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token    TEXT COLLATE "C" NOT NULL,
    created_at    TEXT COLLATE "C" NOT NULL,
    last_seen_at  TEXT COLLATE "C" NOT NULL,
    expires_at    TEXT COLLATE "C" NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE assets (
    workspace_id  TEXT COLLATE "C" NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    id            TEXT COLLATE "C" NOT NULL,
    provider      TEXT COLLATE "C" NOT NULL,
    account       TEXT COLLATE "C" NOT NULL,
    region        TEXT COLLATE "C" NOT NULL,
    type          TEXT COLLATE "C" NOT NULL,
    native_id     TEXT COLLATE "C" NOT NULL,
    name          TEXT COLLATE "C" NOT NULL,
    tags          TEXT COLLATE "C" NOT NULL,
    config        TEXT COLLATE "C" NOT NULL,
    first_seen    TEXT COLLATE "C" NOT NULL,
    last_seen     TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (workspace_id, id)
);
CREATE INDEX assets_type ON assets(workspace_id, type, name);
CREATE INDEX assets_account ON assets(workspace_id, account, region);

CREATE TABLE relationships (
    workspace_id  TEXT COLLATE "C" NOT NULL,
    from_id       TEXT COLLATE "C" NOT NULL,
    to_id         TEXT COLLATE "C" NOT NULL,
    kind          TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (workspace_id, from_id, to_id, kind),
    FOREIGN KEY (workspace_id, from_id) REFERENCES assets(workspace_id, id) ON DELETE CASCADE,
    FOREIGN KEY (workspace_id, to_id) REFERENCES assets(workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX relationships_to ON relationships(workspace_id, to_id);

CREATE TABLE scans (
    workspace_id  TEXT COLLATE "C" NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    id            TEXT COLLATE "C" NOT NULL,
    source        TEXT COLLATE "C" NOT NULL,
    status        TEXT COLLATE "C" NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
    started_at    TEXT COLLATE "C" NOT NULL,
    finished_at   TEXT COLLATE "C",
    asset_count   BIGINT NOT NULL,
    pass_count    BIGINT NOT NULL,
    fail_count    BIGINT NOT NULL,
    error_count   BIGINT NOT NULL,
    message       TEXT COLLATE "C",
    PRIMARY KEY (workspace_id, id)
);
CREATE INDEX scans_started ON scans(workspace_id, started_at);

CREATE TABLE findings (
    workspace_id   TEXT COLLATE "C" NOT NULL,
    id             TEXT COLLATE "C" NOT NULL,
    control_id     TEXT COLLATE "C" NOT NULL,
    asset_id       TEXT COLLATE "C" NOT NULL,
    status         TEXT COLLATE "C" NOT NULL CHECK (status IN ('pass', 'fail', 'error', 'not_applicable')),
    severity       TEXT COLLATE "C" NOT NULL CHECK (severity IN ('info', 'low', 'medium', 'high', 'critical')),
    severity_rank  BIGINT NOT NULL,
    reason         TEXT COLLATE "C" NOT NULL,
    first_seen     TEXT COLLATE "C" NOT NULL,
    last_seen      TEXT COLLATE "C" NOT NULL,
    resolved_at    TEXT COLLATE "C",
    last_scan_id   TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (workspace_id, id),
    UNIQUE (workspace_id, control_id, asset_id),
    FOREIGN KEY (workspace_id, asset_id) REFERENCES assets(workspace_id, id) ON DELETE CASCADE,
    FOREIGN KEY (workspace_id, last_scan_id) REFERENCES scans(workspace_id, id)
);
CREATE INDEX findings_status ON findings(workspace_id, status, severity_rank);
CREATE INDEX findings_asset ON findings(workspace_id, asset_id);

-- Row-level security: one policy per table of workspace data, for every command.
DO $$
DECLARE t TEXT;
BEGIN
    FOREACH t IN ARRAY ARRAY['memberships', 'assets', 'relationships', 'scans', 'findings'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format(
            'CREATE POLICY workspace_isolation ON %I '
            'USING (workspace_id = current_setting(''rampart.workspace_id'', true)) '
            'WITH CHECK (workspace_id = current_setting(''rampart.workspace_id'', true))', t);
    END LOOP;
END $$;

-- Reviewed exception: a user sees their own memberships (to open a scope, and to list their
-- workspaces) when the store sets `rampart.user_id` to that user, before any workspace scope
-- exists. Read-only: writes still need the workspace scope.
CREATE POLICY own_memberships ON memberships FOR SELECT
    USING (user_id = current_setting('rampart.user_id', true));
