-- Rampart initial schema (SQLite).
--
-- Every table of customer data (assets, relationships, scans, findings) carries `workspace_id`
-- as the first column of its primary key, and every reference between customer rows is a
-- composite foreign key that includes `workspace_id`, so no row can point into another workspace.
-- Timestamps are UTC text in a fixed-width RFC 3339 form (`2026-01-02T03:04:05.000006Z`) so that
-- text order is time order.

CREATE TABLE workspaces (
    id          TEXT PRIMARY KEY,
    slug        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    created_at  TEXT NOT NULL
) STRICT;

CREATE TABLE users (
    id                   TEXT PRIMARY KEY,
    email                TEXT NOT NULL UNIQUE,
    password_hash        TEXT NOT NULL,
    created_at           TEXT NOT NULL,
    password_changed_at  TEXT NOT NULL
) STRICT;

CREATE TABLE memberships (
    user_id       TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    role          TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'analyst', 'viewer', 'auditor')),
    created_at    TEXT NOT NULL,
    PRIMARY KEY (user_id, workspace_id)
) STRICT;
CREATE INDEX memberships_workspace ON memberships(workspace_id);

-- Only the SHA-256 of a session id is stored; the id itself lives in the user's cookie.
CREATE TABLE sessions (
    id_hash       TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token    TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    last_seen_at  TEXT NOT NULL,
    expires_at    TEXT NOT NULL
) STRICT;
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE assets (
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    id            TEXT NOT NULL,
    provider      TEXT NOT NULL,
    account       TEXT NOT NULL,
    region        TEXT NOT NULL,
    type          TEXT NOT NULL,
    native_id     TEXT NOT NULL,
    name          TEXT NOT NULL,
    tags          TEXT NOT NULL,  -- JSON object of string to string
    config        TEXT NOT NULL,  -- JSON
    first_seen    TEXT NOT NULL,
    last_seen     TEXT NOT NULL,
    PRIMARY KEY (workspace_id, id)
) STRICT;
CREATE INDEX assets_type ON assets(workspace_id, type, name);
CREATE INDEX assets_account ON assets(workspace_id, account, region);

CREATE TABLE relationships (
    workspace_id  TEXT NOT NULL,
    from_id       TEXT NOT NULL,
    to_id         TEXT NOT NULL,
    kind          TEXT NOT NULL,
    PRIMARY KEY (workspace_id, from_id, to_id, kind),
    FOREIGN KEY (workspace_id, from_id) REFERENCES assets(workspace_id, id) ON DELETE CASCADE,
    FOREIGN KEY (workspace_id, to_id) REFERENCES assets(workspace_id, id) ON DELETE CASCADE
) STRICT;
CREATE INDEX relationships_to ON relationships(workspace_id, to_id);

CREATE TABLE scans (
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    id            TEXT NOT NULL,
    source        TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
    started_at    TEXT NOT NULL,
    finished_at   TEXT,
    asset_count   INTEGER NOT NULL,
    pass_count    INTEGER NOT NULL,
    fail_count    INTEGER NOT NULL,
    error_count   INTEGER NOT NULL,
    message       TEXT,
    PRIMARY KEY (workspace_id, id)
) STRICT;
CREATE INDEX scans_started ON scans(workspace_id, started_at);

CREATE TABLE findings (
    workspace_id   TEXT NOT NULL,
    id             TEXT NOT NULL,
    control_id     TEXT NOT NULL,
    asset_id       TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('pass', 'fail', 'error', 'not_applicable')),
    severity       TEXT NOT NULL CHECK (severity IN ('info', 'low', 'medium', 'high', 'critical')),
    severity_rank  INTEGER NOT NULL,  -- 1 info … 5 critical, for ordering
    reason         TEXT NOT NULL,
    first_seen     TEXT NOT NULL,
    last_seen      TEXT NOT NULL,
    resolved_at    TEXT,
    last_scan_id   TEXT NOT NULL,
    PRIMARY KEY (workspace_id, id),
    UNIQUE (workspace_id, control_id, asset_id),
    FOREIGN KEY (workspace_id, asset_id) REFERENCES assets(workspace_id, id) ON DELETE CASCADE,
    FOREIGN KEY (workspace_id, last_scan_id) REFERENCES scans(workspace_id, id)
) STRICT;
CREATE INDEX findings_status ON findings(workspace_id, status, severity_rank);
CREATE INDEX findings_asset ON findings(workspace_id, asset_id);
