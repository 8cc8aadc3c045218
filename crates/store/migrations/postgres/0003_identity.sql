-- Identity and access (PostgreSQL). Mirrors migrations/sqlite/0003_identity.sql, plus row-level
-- security on every new table of workspace data and the two reviewed lookup functions.

CREATE TABLE organizations (
    id          TEXT COLLATE "C" PRIMARY KEY,
    slug        TEXT COLLATE "C" NOT NULL UNIQUE,
    name        TEXT COLLATE "C" NOT NULL,
    created_at  TEXT COLLATE "C" NOT NULL
);

ALTER TABLE workspaces ADD COLUMN organization_id TEXT COLLATE "C" REFERENCES organizations(id);
ALTER TABLE workspaces ADD COLUMN require_mfa BIGINT NOT NULL DEFAULT 0;

ALTER TABLE users ADD COLUMN is_operator BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN totp_secret TEXT COLLATE "C";
ALTER TABLE users ADD COLUMN totp_enabled_at TEXT COLLATE "C";
ALTER TABLE users ADD COLUMN totp_last_step BIGINT;

CREATE TABLE recovery_codes (
    user_id    TEXT COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash  TEXT COLLATE "C" NOT NULL,
    used_at    TEXT COLLATE "C",
    PRIMARY KEY (user_id, code_hash)
);

ALTER TABLE sessions ADD COLUMN mfa_verified BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN mfa_pending BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN address TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN user_agent TEXT COLLATE "C" NOT NULL DEFAULT '';

CREATE TABLE login_failures (
    id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account  TEXT COLLATE "C" NOT NULL,
    address  TEXT COLLATE "C" NOT NULL,
    at       TEXT COLLATE "C" NOT NULL
);
CREATE INDEX login_failures_account ON login_failures(account, at);
CREATE INDEX login_failures_address ON login_failures(address, at);

CREATE TABLE invitations (
    workspace_id  TEXT COLLATE "C" NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    id            TEXT COLLATE "C" NOT NULL,
    token_hash    TEXT COLLATE "C" NOT NULL UNIQUE,
    email         TEXT COLLATE "C" NOT NULL,
    role          TEXT COLLATE "C" NOT NULL CHECK (role IN ('owner', 'admin', 'analyst', 'viewer', 'auditor')),
    created_by    TEXT COLLATE "C" NOT NULL,
    created_at    TEXT COLLATE "C" NOT NULL,
    expires_at    TEXT COLLATE "C" NOT NULL,
    accepted_at   TEXT COLLATE "C",
    accepted_by   TEXT COLLATE "C",
    revoked_at    TEXT COLLATE "C",
    PRIMARY KEY (workspace_id, id)
);

CREATE TABLE api_tokens (
    workspace_id  TEXT COLLATE "C" NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    id            TEXT COLLATE "C" NOT NULL,
    token_hash    TEXT COLLATE "C" NOT NULL UNIQUE,
    name          TEXT COLLATE "C" NOT NULL,
    role          TEXT COLLATE "C" NOT NULL CHECK (role IN ('owner', 'admin', 'analyst', 'viewer', 'auditor')),
    created_by    TEXT COLLATE "C" NOT NULL,
    created_at    TEXT COLLATE "C" NOT NULL,
    expires_at    TEXT COLLATE "C" NOT NULL,
    last_used_at  TEXT COLLATE "C",
    revoked_at    TEXT COLLATE "C",
    PRIMARY KEY (workspace_id, id)
);

CREATE TABLE password_resets (
    token_hash  TEXT COLLATE "C" PRIMARY KEY,
    user_id     TEXT COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at  TEXT COLLATE "C" NOT NULL,
    expires_at  TEXT COLLATE "C" NOT NULL,
    used_at     TEXT COLLATE "C"
);

CREATE TABLE support_grants (
    workspace_id   TEXT COLLATE "C" NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    id             TEXT COLLATE "C" NOT NULL,
    operator_id    TEXT COLLATE "C" NOT NULL REFERENCES users(id),
    request_note   TEXT COLLATE "C" NOT NULL,
    requested_at   TEXT COLLATE "C" NOT NULL,
    reason         TEXT COLLATE "C",
    granted_by     TEXT COLLATE "C",
    granted_at     TEXT COLLATE "C",
    expires_at     TEXT COLLATE "C",
    revoked_by     TEXT COLLATE "C",
    revoked_at     TEXT COLLATE "C",
    PRIMARY KEY (workspace_id, id)
);
CREATE INDEX support_grants_operator ON support_grants(operator_id);

-- The audit log: `chain` is the workspace id of a workspace's chain, or 'installation'.
CREATE TABLE audit_log (
    chain        TEXT COLLATE "C" NOT NULL,
    seq          BIGINT NOT NULL,
    at           TEXT COLLATE "C" NOT NULL,
    actor_kind   TEXT COLLATE "C" NOT NULL,
    actor_id     TEXT COLLATE "C" NOT NULL,
    actor_label  TEXT COLLATE "C" NOT NULL,
    action       TEXT COLLATE "C" NOT NULL,
    object_type  TEXT COLLATE "C" NOT NULL,
    object_id    TEXT COLLATE "C" NOT NULL,
    outcome      TEXT COLLATE "C" NOT NULL,
    address      TEXT COLLATE "C" NOT NULL,
    user_agent   TEXT COLLATE "C" NOT NULL,
    grant_id     TEXT COLLATE "C",
    detail       TEXT COLLATE "C" NOT NULL,
    prev_hash    TEXT COLLATE "C" NOT NULL,
    hash         TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (chain, seq)
);
CREATE INDEX audit_log_at ON audit_log(chain, at);

CREATE TABLE audit_heads (
    chain  TEXT COLLATE "C" PRIMARY KEY,
    seq    BIGINT NOT NULL,
    hash   TEXT COLLATE "C" NOT NULL
);

-- Append-only: the application role is granted no UPDATE or DELETE on audit_log (see
-- Store::migrate_url), and the database refuses them from anyone else too.
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END $$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

CREATE TABLE connectors (
    workspace_id  TEXT COLLATE "C" NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    id            TEXT COLLATE "C" NOT NULL,
    name          TEXT COLLATE "C" NOT NULL,
    provider      TEXT COLLATE "C" NOT NULL CHECK (provider IN ('aws', 'gcp', 'azure')),
    settings      TEXT COLLATE "C" NOT NULL,
    secret        TEXT COLLATE "C" NOT NULL,
    created_by    TEXT COLLATE "C" NOT NULL,
    created_at    TEXT COLLATE "C" NOT NULL,
    updated_at    TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (workspace_id, id),
    UNIQUE (workspace_id, name)
);

-- Row-level security on the new tables of workspace data.
DO $$
DECLARE t TEXT;
BEGIN
    FOREACH t IN ARRAY ARRAY['invitations', 'api_tokens', 'support_grants', 'connectors'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format(
            'CREATE POLICY workspace_isolation ON %I '
            'USING (workspace_id = current_setting(''rampart.workspace_id'', true)) '
            'WITH CHECK (workspace_id = current_setting(''rampart.workspace_id'', true))', t);
    END LOOP;
    -- The audit chains: a workspace's chain under its scope; the installation chain only when
    -- an installation-level store call sets `rampart.installation` to 'on'.
    FOREACH t IN ARRAY ARRAY['audit_log', 'audit_heads'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format(
            'CREATE POLICY workspace_isolation ON %I '
            'USING (chain = current_setting(''rampart.workspace_id'', true) '
            '   OR (chain = ''installation'' AND current_setting(''rampart.installation'', true) = ''on'')) '
            'WITH CHECK (chain = current_setting(''rampart.workspace_id'', true) '
            '   OR (chain = ''installation'' AND current_setting(''rampart.installation'', true) = ''on''))', t);
    END LOOP;
END $$;

-- Reviewed exception: an operator sees their own support grants (to open a support scope and to
-- list their requests) when the store sets `rampart.user_id` to that operator. Read-only.
CREATE POLICY own_support_grants ON support_grants FOR SELECT
    USING (operator_id = current_setting('rampart.user_id', true));

-- Reviewed exception: resolving an API token or invitation link (known only by its SHA-256)
-- to its workspace, before any scope exists. Two SECURITY DEFINER functions owned by the
-- owner role answer the workspace id only; the owner role (not the application role) may read
-- those two tables for it. Executable by the application role only (granted by
-- Store::migrate_url).
DO $$
BEGIN
    EXECUTE format('CREATE POLICY owner_lookup ON api_tokens FOR SELECT TO %I USING (true)', current_user);
    EXECUTE format('CREATE POLICY owner_lookup ON invitations FOR SELECT TO %I USING (true)', current_user);
    EXECUTE format(
        'CREATE FUNCTION rampart_token_workspace(hash TEXT) RETURNS TEXT '
        'LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS '
        '$f$ SELECT workspace_id FROM %I.api_tokens WHERE token_hash = hash $f$', current_schema());
    EXECUTE format(
        'CREATE FUNCTION rampart_invitation_workspace(hash TEXT) RETURNS TEXT '
        'LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS '
        '$f$ SELECT workspace_id FROM %I.invitations WHERE token_hash = hash $f$', current_schema());
END $$;
REVOKE ALL ON FUNCTION rampart_token_workspace(TEXT) FROM PUBLIC;
REVOKE ALL ON FUNCTION rampart_invitation_workspace(TEXT) FROM PUBLIC;
