-- OpenID Connect single sign-on per organization (issue 6, point 5).
--
-- One SSO configuration per organization. `client_secret` is sealed by the vault (AES-256-GCM,
-- the key id in the sealed text) with the organization id as associated data; the API never
-- returns it. `allowed_domains` is a JSON array of lowercase email domains: a verified email in
-- one of them may sign in, and joins `default_workspace_id` (a workspace of the same
-- organization) with `default_role` if it is not a member yet.
CREATE TABLE sso_configs (
    organization_id       TEXT PRIMARY KEY REFERENCES organizations(id) ON DELETE CASCADE,
    issuer                TEXT NOT NULL,
    client_id             TEXT NOT NULL,
    client_secret         TEXT NOT NULL,
    allowed_domains       TEXT NOT NULL,
    default_workspace_id  TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    default_role          TEXT NOT NULL CHECK (default_role IN ('admin', 'analyst', 'viewer', 'auditor')),
    enabled               INTEGER NOT NULL DEFAULT 1,
    created_at            TEXT NOT NULL,
    updated_by            TEXT NOT NULL,
    updated_at            TEXT NOT NULL
) STRICT;

-- Sign-ins in flight: created by GET /sso/{org}/start, consumed once by GET /sso/callback,
-- dead after 10 minutes. The state is stored only as its SHA-256, the nonce too (the ID token's
-- nonce is hashed and compared); the PKCE verifier must be sent to the token endpoint, so it is
-- sealed by the vault with the state hash as associated data.
CREATE TABLE sso_logins (
    state_hash       TEXT PRIMARY KEY,
    organization_id  TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    nonce_hash       TEXT NOT NULL,
    pkce_verifier    TEXT NOT NULL,
    redirect_uri     TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    expires_at       TEXT NOT NULL,
    used_at          TEXT
) STRICT;
CREATE INDEX sso_logins_expires ON sso_logins(expires_at);

-- Which IdP subject (issuer + `sub`) is which Rampart user, per organization: a returning SSO
-- user is found by subject even if the email changed, and an existing account is linked once.
CREATE TABLE sso_identities (
    organization_id  TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    issuer           TEXT NOT NULL,
    subject          TEXT NOT NULL,
    user_id          TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at       TEXT NOT NULL,
    last_login_at    TEXT NOT NULL,
    PRIMARY KEY (organization_id, issuer, subject)
) STRICT;
CREATE INDEX sso_identities_user ON sso_identities(user_id);
