-- Identity and access (issue 6): organizations, installation operators, MFA, API tokens,
-- invitations, password resets, support-access grants, login throttling, the hash-chained
-- audit log, and encrypted secrets.
--
-- Tokens of every kind (API tokens, invitation links, reset links, recovery codes) are stored
-- only as SHA-256 hex digests: each is 256 random bits, so a fast hash is enough.

CREATE TABLE organizations (
    id          TEXT PRIMARY KEY,
    slug        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    created_at  TEXT NOT NULL
) STRICT;

ALTER TABLE workspaces ADD COLUMN organization_id TEXT REFERENCES organizations(id);
-- 1 = members must have MFA enrolled to reach this workspace's data.
ALTER TABLE workspaces ADD COLUMN require_mfa INTEGER NOT NULL DEFAULT 0;

-- Installation operators: a capability of the installation, never a workspace role. An operator
-- reaches a workspace only through an active support grant.
ALTER TABLE users ADD COLUMN is_operator INTEGER NOT NULL DEFAULT 0;
-- TOTP (RFC 6238): the secret sealed by the vault; `totp_enabled_at` set once confirmed;
-- `totp_last_step` is the last accepted time step (a code is accepted once).
ALTER TABLE users ADD COLUMN totp_secret TEXT;
ALTER TABLE users ADD COLUMN totp_enabled_at TEXT;
ALTER TABLE users ADD COLUMN totp_last_step INTEGER;

CREATE TABLE recovery_codes (
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash  TEXT NOT NULL,
    used_at    TEXT,
    PRIMARY KEY (user_id, code_hash)
) STRICT;

-- Sessions: whether the second factor was passed, and where the session came from.
-- `mfa_pending` = password checked, TOTP step still owed: such a session opens nothing else.
ALTER TABLE sessions ADD COLUMN mfa_verified INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN mfa_pending INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN address TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';

-- Failed sign-ins, by account key (normalised email, whether or not the account exists) and by
-- client address, for throttling that holds across processes.
CREATE TABLE login_failures (
    id       INTEGER PRIMARY KEY,
    account  TEXT NOT NULL,
    address  TEXT NOT NULL,
    at       TEXT NOT NULL
) STRICT;
CREATE INDEX login_failures_account ON login_failures(account, at);
CREATE INDEX login_failures_address ON login_failures(address, at);

CREATE TABLE invitations (
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    id            TEXT NOT NULL,
    token_hash    TEXT NOT NULL UNIQUE,
    email         TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'analyst', 'viewer', 'auditor')),
    created_by    TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    expires_at    TEXT NOT NULL,
    accepted_at   TEXT,
    accepted_by   TEXT,
    revoked_at    TEXT,
    PRIMARY KEY (workspace_id, id)
) STRICT;

CREATE TABLE api_tokens (
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    id            TEXT NOT NULL,
    token_hash    TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'analyst', 'viewer', 'auditor')),
    created_by    TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    expires_at    TEXT NOT NULL,
    last_used_at  TEXT,
    revoked_at    TEXT,
    PRIMARY KEY (workspace_id, id)
) STRICT;

CREATE TABLE password_resets (
    token_hash  TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    used_at     TEXT
) STRICT;

-- Support access: an operator asks, a workspace owner/admin grants (reason, expiry <= 72 h) and
-- may revoke. Active = granted, not revoked, not expired.
CREATE TABLE support_grants (
    workspace_id   TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    id             TEXT NOT NULL,
    operator_id    TEXT NOT NULL REFERENCES users(id),
    request_note   TEXT NOT NULL,
    requested_at   TEXT NOT NULL,
    reason         TEXT,
    granted_by     TEXT,
    granted_at     TEXT,
    expires_at     TEXT,
    revoked_by     TEXT,
    revoked_at     TEXT,
    PRIMARY KEY (workspace_id, id)
) STRICT;
CREATE INDEX support_grants_operator ON support_grants(operator_id);

-- The audit log: one hash chain per workspace (`chain` = workspace id) and one for the
-- installation (`chain` = 'installation'). `hash` = SHA-256 over the previous hash and this
-- entry's fields (see rampart_store::audit). `audit_heads` holds each chain's last entry, so that
-- dropping entries from the end is detected too, and serialises appends.
CREATE TABLE audit_log (
    chain        TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    at           TEXT NOT NULL,
    actor_kind   TEXT NOT NULL,
    actor_id     TEXT NOT NULL,
    actor_label  TEXT NOT NULL,
    action       TEXT NOT NULL,
    object_type  TEXT NOT NULL,
    object_id    TEXT NOT NULL,
    outcome      TEXT NOT NULL,
    address      TEXT NOT NULL,
    user_agent   TEXT NOT NULL,
    grant_id     TEXT,
    detail       TEXT NOT NULL,
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL,
    PRIMARY KEY (chain, seq)
) STRICT;
CREATE INDEX audit_log_at ON audit_log(chain, at);

CREATE TABLE audit_heads (
    chain  TEXT PRIMARY KEY,
    seq    INTEGER NOT NULL,
    hash   TEXT NOT NULL
) STRICT;

-- Append-only: the application never updates or deletes audit entries, and the database
-- refuses to. (Someone with the file in hand can still drop the triggers: `rampart audit verify`
-- then finds the edit through the hash chain.)
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

-- Cloud connectors of a workspace. `secret` is sealed by the vault (AES-256-GCM, the key id in
-- the sealed text) with the workspace and connector ids as associated data; the API never
-- returns it.
CREATE TABLE connectors (
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    id            TEXT NOT NULL,
    name          TEXT NOT NULL,
    provider      TEXT NOT NULL CHECK (provider IN ('aws', 'gcp', 'azure')),
    settings      TEXT NOT NULL,  -- JSON, non-secret (role ARN, regions, project id, ...)
    secret        TEXT NOT NULL,
    created_by    TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    PRIMARY KEY (workspace_id, id),
    UNIQUE (workspace_id, name)
) STRICT;
