-- OpenID Connect single sign-on per organization (PostgreSQL; mirrors migrations/sqlite/0005_sso.sql).
-- No table here holds workspace data (no `workspace_id` column): no row-level security.
--
-- One SSO configuration per organization. `client_secret` is sealed by the vault (AES-256-GCM,
-- the key id in the sealed text) with the organization id as associated data; the API never
-- returns it. `allowed_domains` is a JSON array of lowercase email domains: a verified email in
-- one of them may sign in, and joins `default_workspace_id` (a workspace of the same
-- organization) with `default_role` if it is not a member yet.
CREATE TABLE sso_configs (
    organization_id       TEXT COLLATE "C" PRIMARY KEY REFERENCES organizations(id) ON DELETE CASCADE,
    issuer                TEXT COLLATE "C" NOT NULL,
    client_id             TEXT COLLATE "C" NOT NULL,
    client_secret         TEXT COLLATE "C" NOT NULL,
    allowed_domains       TEXT COLLATE "C" NOT NULL,
    default_workspace_id  TEXT COLLATE "C" NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    default_role          TEXT COLLATE "C" NOT NULL CHECK (default_role IN ('admin', 'analyst', 'viewer', 'auditor')),
    enabled               BIGINT NOT NULL DEFAULT 1,
    created_at            TEXT COLLATE "C" NOT NULL,
    updated_by            TEXT COLLATE "C" NOT NULL,
    updated_at            TEXT COLLATE "C" NOT NULL
);

-- Sign-ins in flight: created by GET /sso/{org}/start, consumed once by GET /sso/callback,
-- dead after 10 minutes. The state is stored only as its SHA-256, the nonce too (the ID token's
-- nonce is hashed and compared); the PKCE verifier must be sent to the token endpoint, so it is
-- sealed by the vault with the state hash as associated data.
CREATE TABLE sso_logins (
    state_hash       TEXT COLLATE "C" PRIMARY KEY,
    organization_id  TEXT COLLATE "C" NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    nonce_hash       TEXT COLLATE "C" NOT NULL,
    pkce_verifier    TEXT COLLATE "C" NOT NULL,
    redirect_uri     TEXT COLLATE "C" NOT NULL,
    created_at       TEXT COLLATE "C" NOT NULL,
    expires_at       TEXT COLLATE "C" NOT NULL,
    used_at          TEXT COLLATE "C"
);
CREATE INDEX sso_logins_expires ON sso_logins(expires_at);

-- Which IdP subject (issuer + `sub`) is which Rampart user, per organization: a returning SSO
-- user is found by subject even if the email changed, and an existing account is linked once.
CREATE TABLE sso_identities (
    organization_id  TEXT COLLATE "C" NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    issuer           TEXT COLLATE "C" NOT NULL,
    subject          TEXT COLLATE "C" NOT NULL,
    user_id          TEXT COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at       TEXT COLLATE "C" NOT NULL,
    last_login_at    TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (organization_id, issuer, subject)
);
CREATE INDEX sso_identities_user ON sso_identities(user_id);
