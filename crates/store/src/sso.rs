//! OpenID Connect single sign-on: one configuration per organization, sign-ins in flight, and
//! just-in-time accounts and memberships.
//!
//! - The client secret is sealed by the [`Vault`] with the organization id as associated data
//!   and never leaves the store except to the server's token request ([`Store::sso_client_secret`]).
//! - A sign-in in flight ([`Store::begin_sso_login`]) is stored under the SHA-256 of its `state`;
//!   the nonce only as its SHA-256; the PKCE verifier sealed. [`Store::take_sso_login`] consumes
//!   it atomically: single use, dead after [`SSO_LOGIN_TTL`].
//! - [`Store::sso_sign_in`] finds or creates the user and adds the just-in-time membership, with
//!   their audit entries, in one transaction. An account that already exists is linked to an IdP
//!   subject only when it is already a member of a workspace of the organization, so that one
//!   organization's IdP cannot take over accounts that belong to other tenants.

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;
use sqlx::Row as _;
use sqlx::any::AnyRow;

use crate::audit::{self, ActorKind, AuditEvent, INSTALLATION_CHAIN};
use crate::db::{get_ts, map_unique, parse, ts, user_from_row};
use crate::identity::require;
use crate::{
    Organization, Permission, Result, Role, Store, StoreError, User, Vault, WorkspaceScope,
    normalize_email, password, random_token,
};

/// A sign-in started at `/sso/{org}/start` must come back within this time.
pub const SSO_LOGIN_TTL: TimeDelta = TimeDelta::minutes(10);
/// Most email domains one configuration may allow.
pub const MAX_SSO_DOMAINS: usize = 50;

fn sha256_hex(s: &str) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(s.as_bytes()))
}

fn invalid(field: &'static str, message: impl Into<String>) -> StoreError {
    StoreError::Invalid {
        field,
        message: message.into(),
    }
}

/// Associated data binding a sealed client secret to its organization.
fn secret_aad(organization_id: &str) -> Vec<u8> {
    format!("sso-client-secret/{organization_id}").into_bytes()
}

/// Associated data binding a sealed PKCE verifier to its sign-in.
fn verifier_aad(state_hash: &str) -> Vec<u8> {
    format!("sso-pkce/{state_hash}").into_bytes()
}

/// An organization's SSO configuration (without its client secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SsoConfig {
    pub organization_id: String,
    pub organization_slug: String,
    pub issuer: String,
    pub client_id: String,
    /// Lowercase email domains whose verified addresses may sign in.
    pub allowed_domains: Vec<String>,
    pub default_workspace_id: String,
    pub default_workspace_slug: String,
    /// Role of a just-in-time membership (never owner).
    pub default_role: Role,
    pub enabled: bool,
    /// Id of the vault key the client secret is sealed under.
    pub secret_key_id: String,
    pub created_at: DateTime<Utc>,
    pub updated_by: String,
    pub updated_at: DateTime<Utc>,
}

impl SsoConfig {
    /// Whether `email` (normalised) is in one of the allowed domains.
    pub fn allows_email(&self, email: &str) -> bool {
        email
            .rsplit_once('@')
            .is_some_and(|(_, domain)| self.allowed_domains.iter().any(|d| d == domain))
    }
}

/// What [`Store::configure_sso`] sets.
#[derive(Clone)]
pub struct SsoSettings<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    /// Required the first time; `None` keeps the stored secret.
    pub client_secret: Option<&'a str>,
    pub allowed_domains: &'a [String],
    /// The workspace just-in-time members join: a scope over it that may manage its members.
    pub default_workspace: &'a WorkspaceScope,
    pub default_role: Role,
    pub enabled: bool,
}

impl std::fmt::Debug for SsoSettings<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SsoSettings")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.map(|_| "<redacted>"))
            .field("allowed_domains", &self.allowed_domains)
            .field("default_workspace", &self.default_workspace.slug())
            .field("default_role", &self.default_role)
            .field("enabled", &self.enabled)
            .finish()
    }
}

/// A sign-in to start: every value is fresh randomness from the caller.
pub struct NewSsoLogin<'a> {
    pub organization_id: &'a str,
    pub state: &'a str,
    pub nonce: &'a str,
    pub pkce_verifier: &'a str,
    pub redirect_uri: &'a str,
}

/// A sign-in in flight, consumed by [`Store::take_sso_login`].
pub struct PendingSsoLogin {
    pub organization_id: String,
    /// SHA-256 hex of the nonce sent in the authorization request.
    pub nonce_hash: String,
    pub pkce_verifier: String,
    pub redirect_uri: String,
    pub created_at: DateTime<Utc>,
}

impl std::fmt::Debug for PendingSsoLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingSsoLogin")
            .field("organization_id", &self.organization_id)
            .field("pkce_verifier", &"<redacted>")
            .field("redirect_uri", &self.redirect_uri)
            .field("created_at", &self.created_at)
            .finish()
    }
}

/// Who the IdP vouched for: its issuer, the `sub` claim and the verified email.
#[derive(Debug, Clone)]
pub struct SsoIdentity<'a> {
    pub issuer: &'a str,
    pub subject: &'a str,
    pub email: &'a str,
}

/// The result of [`Store::sso_sign_in`].
#[derive(Debug, Clone)]
pub struct SsoSignIn {
    pub user: User,
    /// The account was created by this sign-in.
    pub created: bool,
    /// The just-in-time membership created by this sign-in, if any.
    pub joined: Option<Role>,
}

/// SHA-256 hex of an SSO nonce, the form in which it is stored.
pub fn sso_nonce_hash(nonce: &str) -> String {
    sha256_hex(nonce)
}

fn normalize_domains(domains: &[String]) -> Result<Vec<String>> {
    if domains.is_empty() || domains.len() > MAX_SSO_DOMAINS {
        return Err(invalid(
            "allowed_domains",
            format!("must list 1 to {MAX_SSO_DOMAINS} email domains"),
        ));
    }
    let mut out: Vec<String> = Vec::new();
    for d in domains {
        let d = d.trim().trim_start_matches('@').to_lowercase();
        let ok = !d.is_empty()
            && d.len() <= 253
            && d.contains('.')
            && !d.starts_with('.')
            && !d.ends_with('.')
            && d.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
        if !ok {
            return Err(invalid(
                "allowed_domains",
                format!("{d:?} is not an email domain like example.com"),
            ));
        }
        if !out.contains(&d) {
            out.push(d);
        }
    }
    Ok(out)
}

fn check_text(field: &'static str, value: &str, max: usize) -> Result<()> {
    if value.is_empty() || value.chars().count() > max || value.chars().any(char::is_control) {
        return Err(invalid(
            field,
            format!("must be 1 to {max} characters without control characters"),
        ));
    }
    Ok(())
}

const CONFIG_SELECT: &str = "SELECT c.*, o.slug AS organization_slug, w.slug AS workspace_slug FROM sso_configs c \
     JOIN organizations o ON o.id = c.organization_id JOIN workspaces w ON w.id = c.default_workspace_id";

fn config_from_row(r: &AnyRow) -> Result<SsoConfig> {
    let domains: String = r.try_get("allowed_domains")?;
    let secret: String = r.try_get("client_secret")?;
    Ok(SsoConfig {
        organization_id: r.try_get("organization_id")?,
        organization_slug: r.try_get("organization_slug")?,
        issuer: r.try_get("issuer")?,
        client_id: r.try_get("client_id")?,
        allowed_domains: serde_json::from_str(&domains)
            .map_err(|e| StoreError::Corrupt(format!("SSO allowed domains: {e}")))?,
        default_workspace_id: r.try_get("default_workspace_id")?,
        default_workspace_slug: r.try_get("workspace_slug")?,
        default_role: parse("role", &r.try_get::<String, _>("default_role")?)?,
        enabled: r.try_get::<i64, _>("enabled")? != 0,
        secret_key_id: Vault::key_id_of(&secret).unwrap_or_default().to_owned(),
        created_at: get_ts(r, "created_at")?,
        updated_by: r.try_get("updated_by")?,
        updated_at: get_ts(r, "updated_at")?,
    })
}

/// Re-seals SSO client secrets and the PKCE verifiers of sign-ins in flight under the vault's
/// current key, inside the caller's transaction (`rampart vault rotate-key`). Answers how many.
pub(crate) async fn reseal(conn: &mut sqlx::AnyConnection, vault: &Vault) -> Result<u64> {
    let vault_err = |e: crate::VaultError| StoreError::Vault(e.to_string());
    let mut count = 0u64;
    let rows = sqlx::query("SELECT organization_id, client_secret FROM sso_configs")
        .fetch_all(&mut *conn)
        .await?;
    for r in rows {
        let (org, sealed): (String, String) =
            (r.try_get("organization_id")?, r.try_get("client_secret")?);
        let aad = secret_aad(&org);
        let plain = vault.open(&sealed, &aad).map_err(vault_err)?;
        let resealed = vault.seal(&plain, &aad).map_err(vault_err)?;
        sqlx::query("UPDATE sso_configs SET client_secret = $2 WHERE organization_id = $1")
            .bind(&org)
            .bind(resealed)
            .execute(&mut *conn)
            .await?;
        count += 1;
    }
    let rows =
        sqlx::query("SELECT state_hash, pkce_verifier FROM sso_logins WHERE used_at IS NULL")
            .fetch_all(&mut *conn)
            .await?;
    for r in rows {
        let (state_hash, sealed): (String, String) =
            (r.try_get("state_hash")?, r.try_get("pkce_verifier")?);
        let aad = verifier_aad(&state_hash);
        let plain = vault.open(&sealed, &aad).map_err(vault_err)?;
        let resealed = vault.seal(&plain, &aad).map_err(vault_err)?;
        sqlx::query("UPDATE sso_logins SET pkce_verifier = $2 WHERE state_hash = $1")
            .bind(&state_hash)
            .bind(resealed)
            .execute(&mut *conn)
            .await?;
        count += 1;
    }
    Ok(count)
}

impl Store {
    /// The organization with this slug, if any.
    pub async fn organization_by_slug(&self, slug: &str) -> Result<Option<Organization>> {
        let row =
            sqlx::query("SELECT id, slug, name, created_at FROM organizations WHERE slug = $1")
                .bind(slug)
                .fetch_optional(&self.db().pool)
                .await?;
        row.map(|r| {
            Ok(Organization {
                id: r.try_get("id")?,
                slug: r.try_get("slug")?,
                name: r.try_get("name")?,
                created_at: get_ts(&r, "created_at")?,
            })
        })
        .transpose()
    }

    /// Creates or replaces the SSO configuration of the organization of the scope's workspace
    /// (needs [`Permission::ManageSettings`] there, and [`Permission::ManageMembers`] with the
    /// right to assign `default_role` on the default workspace, which must belong to the same
    /// organization). The client secret is sealed; audited as `sso.configure` in the workspace
    /// chain, in the same transaction.
    pub async fn configure_sso(
        &self,
        scope: &WorkspaceScope,
        settings: &SsoSettings<'_>,
        vault: &Vault,
        event: AuditEvent,
    ) -> Result<SsoConfig> {
        require(scope, Permission::ManageSettings)?;
        let Some(org) = self.organization_of(scope).await? else {
            return Err(invalid(
                "workspace",
                "belongs to no organization; SSO is configured per organization",
            ));
        };
        let target = settings.default_workspace;
        require(target, Permission::ManageMembers)?;
        if settings.default_role == Role::Owner {
            return Err(invalid(
                "default_role",
                "just-in-time members cannot be owners",
            ));
        }
        if let Some(actor) = target.role()
            && !actor.may_assign(settings.default_role)
        {
            return Err(StoreError::Forbidden(format!(
                "a workspace {actor} cannot hand out the role {}",
                settings.default_role
            )));
        }
        let target_org: Option<String> =
            sqlx::query("SELECT organization_id FROM workspaces WHERE id = $1")
                .bind(target.workspace_id())
                .fetch_optional(&self.db().pool)
                .await?
                .map(|r| r.try_get::<Option<String>, _>("organization_id"))
                .transpose()?
                .flatten();
        if target_org.as_deref() != Some(org.id.as_str()) {
            return Err(invalid(
                "default_workspace",
                "must be a workspace of the same organization",
            ));
        }
        let issuer = settings.issuer.trim();
        check_text("issuer", issuer, 500)?;
        if !(issuer.starts_with("https://") || issuer.starts_with("http://"))
            || issuer.contains(char::is_whitespace)
        {
            return Err(invalid("issuer", "must be an https:// URL"));
        }
        let client_id = settings.client_id.trim();
        check_text("client_id", client_id, 255)?;
        let domains = normalize_domains(settings.allowed_domains)?;
        let sealed = match settings.client_secret {
            Some(secret) => {
                check_text("client_secret", secret, 4096)?;
                Some(
                    vault
                        .seal(secret.as_bytes(), &secret_aad(&org.id))
                        .map_err(|e| StoreError::Vault(e.to_string()))?,
                )
            }
            None => None,
        };
        let now = Utc::now();
        let mut tx = self.db().begin_workspace(scope.workspace_id()).await?;
        let exists = sqlx::query("SELECT 1 FROM sso_configs WHERE organization_id = $1")
            .bind(&org.id)
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
        let domains_json =
            serde_json::to_string(&domains).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        match (exists, &sealed) {
            (false, None) => {
                return Err(invalid(
                    "client_secret",
                    "is required when SSO is first configured",
                ));
            }
            (false, Some(sealed)) => {
                sqlx::query("INSERT INTO sso_configs (organization_id, issuer, client_id, client_secret, allowed_domains, default_workspace_id, default_role, enabled, created_at, updated_by, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $9)")
                    .bind(&org.id)
                    .bind(issuer)
                    .bind(client_id)
                    .bind(sealed)
                    .bind(&domains_json)
                    .bind(target.workspace_id())
                    .bind(settings.default_role.as_str())
                    .bind(i64::from(settings.enabled))
                    .bind(ts(now))
                    .bind(&event.actor_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| map_unique(e, "SSO configuration"))?;
            }
            (true, sealed) => {
                sqlx::query("UPDATE sso_configs SET issuer = $2, client_id = $3, client_secret = COALESCE($4, client_secret), allowed_domains = $5, default_workspace_id = $6, default_role = $7, enabled = $8, updated_by = $9, updated_at = $10 WHERE organization_id = $1")
                    .bind(&org.id)
                    .bind(issuer)
                    .bind(client_id)
                    .bind(sealed.as_deref())
                    .bind(&domains_json)
                    .bind(target.workspace_id())
                    .bind(settings.default_role.as_str())
                    .bind(i64::from(settings.enabled))
                    .bind(&event.actor_id)
                    .bind(ts(now))
                    .execute(&mut *tx)
                    .await?;
            }
        }
        let event = event
            .object("organization", &org.id)
            .detail(serde_json::json!({
                "organization": org.slug,
                "issuer": issuer,
                "client_id": client_id,
                "allowed_domains": domains,
                "default_workspace": target.slug(),
                "default_role": settings.default_role,
                "enabled": settings.enabled,
                "client_secret_changed": sealed.is_some(),
            }));
        audit::append(&mut tx, scope.workspace_id(), &event, now).await?;
        tx.commit().await?;
        self.sso_config(&org.id).await?.ok_or(StoreError::NotFound {
            what: "SSO configuration",
        })
    }

    /// The SSO configuration of an organization, if any (enabled or not).
    pub async fn sso_config(&self, organization_id: &str) -> Result<Option<SsoConfig>> {
        let row = sqlx::query(&format!("{CONFIG_SELECT} WHERE c.organization_id = $1"))
            .bind(organization_id)
            .fetch_optional(&self.db().pool)
            .await?;
        row.as_ref().map(config_from_row).transpose()
    }

    /// The SSO configuration of the organization of the scope's workspace (needs
    /// [`Permission::ManageSettings`]).
    pub async fn sso_config_of(&self, scope: &WorkspaceScope) -> Result<Option<SsoConfig>> {
        require(scope, Permission::ManageSettings)?;
        match self.organization_of(scope).await? {
            Some(org) => self.sso_config(&org.id).await,
            None => Ok(None),
        }
    }

    /// The opened client secret of an organization's SSO configuration, for the token request.
    pub async fn sso_client_secret(&self, organization_id: &str, vault: &Vault) -> Result<String> {
        let row = sqlx::query("SELECT client_secret FROM sso_configs WHERE organization_id = $1")
            .bind(organization_id)
            .fetch_optional(&self.db().pool)
            .await?
            .ok_or(StoreError::NotFound {
                what: "SSO configuration",
            })?;
        let sealed: String = row.try_get("client_secret")?;
        let plain = vault
            .open(&sealed, &secret_aad(organization_id))
            .map_err(|e| StoreError::Vault(e.to_string()))?;
        String::from_utf8(plain)
            .map_err(|_| StoreError::Corrupt("SSO client secret is not UTF-8".into()))
    }

    /// Records a sign-in in flight (and drops expired ones). The state is kept only hashed, the
    /// nonce only hashed, the PKCE verifier sealed.
    pub async fn begin_sso_login(&self, login: &NewSsoLogin<'_>, vault: &Vault) -> Result<()> {
        if login.state.len() < 32 || login.nonce.len() < 32 || login.pkce_verifier.len() < 43 {
            return Err(invalid(
                "SSO sign-in",
                "state, nonce and verifier must be long random values",
            ));
        }
        let state_hash = sha256_hex(login.state);
        let sealed = vault
            .seal(login.pkce_verifier.as_bytes(), &verifier_aad(&state_hash))
            .map_err(|e| StoreError::Vault(e.to_string()))?;
        let now = Utc::now();
        let mut tx = self.db().begin().await?;
        sqlx::query("DELETE FROM sso_logins WHERE expires_at <= $1")
            .bind(ts(now))
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO sso_logins (state_hash, organization_id, nonce_hash, pkce_verifier, redirect_uri, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(&state_hash)
            .bind(login.organization_id)
            .bind(sha256_hex(login.nonce))
            .bind(&sealed)
            .bind(login.redirect_uri)
            .bind(ts(now))
            .bind(ts(now + SSO_LOGIN_TTL))
            .execute(&mut *tx)
            .await
            .map_err(|e| map_unique(e, "SSO sign-in"))?;
        tx.commit().await?;
        Ok(())
    }

    /// Consumes the sign-in started with `state`: `None` when it is unknown, already used or
    /// expired. Marked used atomically, so two callbacks with one state cannot both pass.
    pub async fn take_sso_login(
        &self,
        state: &str,
        vault: &Vault,
    ) -> Result<Option<PendingSsoLogin>> {
        if state.is_empty() || state.len() > 256 {
            return Ok(None);
        }
        let state_hash = sha256_hex(state);
        let now = ts(Utc::now());
        let row = sqlx::query("UPDATE sso_logins SET used_at = $2 WHERE state_hash = $1 AND used_at IS NULL AND expires_at > $2 \
             RETURNING organization_id, nonce_hash, pkce_verifier, redirect_uri, created_at")
            .bind(&state_hash)
            .bind(&now)
            .fetch_optional(&self.db().pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let sealed: String = row.try_get("pkce_verifier")?;
        let verifier = vault
            .open(&sealed, &verifier_aad(&state_hash))
            .map_err(|e| StoreError::Vault(e.to_string()))?;
        Ok(Some(PendingSsoLogin {
            organization_id: row.try_get("organization_id")?,
            nonce_hash: row.try_get("nonce_hash")?,
            pkce_verifier: String::from_utf8(verifier)
                .map_err(|_| StoreError::Corrupt("PKCE verifier is not UTF-8".into()))?,
            redirect_uri: row.try_get("redirect_uri")?,
            created_at: get_ts(&row, "created_at")?,
        }))
    }

    /// Signs in the IdP's verified identity under `config`: finds the user by (issuer, subject)
    /// or by email, or creates one (with an unusable random password; audited `user.sso_create`
    /// in the installation chain); then adds the just-in-time membership of the default
    /// workspace with the default role if the user is not a member yet (audited
    /// `member.jit_join` in the workspace chain). One transaction.
    ///
    /// Refused (`Forbidden`) when the configuration is disabled, the email's domain is not
    /// allowed, or the email belongs to an existing account that is not yet linked to this
    /// subject and is a member of no workspace of the organization.
    pub async fn sso_sign_in(
        &self,
        config: &SsoConfig,
        identity: &SsoIdentity<'_>,
        event: AuditEvent,
    ) -> Result<SsoSignIn> {
        if !config.enabled {
            return Err(StoreError::Forbidden("SSO is disabled".into()));
        }
        check_text("subject", identity.subject, 255)?;
        let email = normalize_email(identity.email)?;
        if !config.allows_email(&email) {
            return Err(StoreError::Forbidden(
                "the email's domain is not allowed to sign in with SSO".into(),
            ));
        }
        // Hashed before the transaction (argon2id is slow), and only when the user looks new.
        let unusable = if self.user_by_email(&email).await?.is_none() {
            password::hash_blocking(random_token()).await?
        } else {
            String::new()
        };
        let now = Utc::now();
        let dialect = self.db().dialect;
        // Row-level security (PostgreSQL): the installation chain for a new account, the user's
        // own memberships once the user is known, and the configured default workspace for the
        // just-in-time membership, which the organization's SSO configuration authorises.
        let mut tx = self.db().begin_installation().await?;
        let linked = sqlx::query("SELECT u.id, u.email, u.created_at, u.password_changed_at FROM sso_identities i JOIN users u ON u.id = i.user_id \
             WHERE i.organization_id = $1 AND i.issuer = $2 AND i.subject = $3")
            .bind(&config.organization_id)
            .bind(identity.issuer)
            .bind(identity.subject)
            .fetch_optional(&mut *tx)
            .await?
            .as_ref()
            .map(|r| user_from_row(r, "created_at"))
            .transpose()?;
        let mut created = false;
        let user = match linked {
            Some(user) => {
                sqlx::query("UPDATE sso_identities SET last_login_at = $4 WHERE organization_id = $1 AND issuer = $2 AND subject = $3")
                    .bind(&config.organization_id)
                    .bind(identity.issuer)
                    .bind(identity.subject)
                    .bind(ts(now))
                    .execute(&mut *tx)
                    .await?;
                user
            }
            None => {
                let existing = sqlx::query(
                    "SELECT id, email, created_at, password_changed_at FROM users WHERE email = $1",
                )
                .bind(&email)
                .fetch_optional(&mut *tx)
                .await?
                .as_ref()
                .map(|r| user_from_row(r, "created_at"))
                .transpose()?;
                let user = match existing {
                    Some(user) => {
                        crate::db::set_user(&mut tx, dialect, &user.id).await?;
                        let in_org = sqlx::query("SELECT 1 FROM memberships m JOIN workspaces w ON w.id = m.workspace_id WHERE m.user_id = $1 AND w.organization_id = $2 LIMIT 1")
                            .bind(&user.id)
                            .bind(&config.organization_id)
                            .fetch_optional(&mut *tx)
                            .await?
                            .is_some();
                        if !in_org {
                            return Err(StoreError::Forbidden(
                                "an account with this email exists outside this organization; sign in with its password".into(),
                            ));
                        }
                        user
                    }
                    None => {
                        if unusable.is_empty() {
                            // The account vanished between the two reads: try again later.
                            return Err(StoreError::Conflict { what: "user" });
                        }
                        let user = User {
                            id: format!("usr_{}", uuid::Uuid::new_v4().simple()),
                            email: email.clone(),
                            created_at: now,
                            password_changed_at: now,
                        };
                        sqlx::query("INSERT INTO users (id, email, password_hash, created_at, password_changed_at) VALUES ($1, $2, $3, $4, $4)")
                            .bind(&user.id)
                            .bind(&user.email)
                            .bind(&unusable)
                            .bind(ts(now))
                            .execute(&mut *tx)
                            .await
                            .map_err(|e| map_unique(e, "user"))?;
                        let created_event = event
                            .clone()
                            .actor(ActorKind::User, &user.id, &user.email)
                            .object("user", &user.id)
                            .detail(serde_json::json!({
                                "via": "sso",
                                "organization": config.organization_slug,
                                "issuer": identity.issuer,
                            }));
                        let created_event = AuditEvent {
                            action: "user.sso_create".into(),
                            ..created_event
                        };
                        audit::append(&mut tx, INSTALLATION_CHAIN, &created_event, now).await?;
                        created = true;
                        user
                    }
                };
                sqlx::query("INSERT INTO sso_identities (organization_id, issuer, subject, user_id, created_at, last_login_at) VALUES ($1, $2, $3, $4, $5, $5)")
                    .bind(&config.organization_id)
                    .bind(identity.issuer)
                    .bind(identity.subject)
                    .bind(&user.id)
                    .bind(ts(now))
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| map_unique(e, "SSO identity"))?;
                user
            }
        };
        crate::db::set_workspace(&mut tx, dialect, &config.default_workspace_id).await?;
        let member =
            sqlx::query("SELECT role FROM memberships WHERE workspace_id = $1 AND user_id = $2")
                .bind(&config.default_workspace_id)
                .bind(&user.id)
                .fetch_optional(&mut *tx)
                .await?
                .is_some();
        let mut joined = None;
        if !member {
            // The default workspace must still belong to the organization.
            let same_org =
                sqlx::query("SELECT 1 FROM workspaces WHERE id = $1 AND organization_id = $2")
                    .bind(&config.default_workspace_id)
                    .bind(&config.organization_id)
                    .fetch_optional(&mut *tx)
                    .await?
                    .is_some();
            if !same_org {
                return Err(StoreError::Forbidden(
                    "the SSO default workspace is no longer part of the organization".into(),
                ));
            }
            sqlx::query("INSERT INTO memberships (user_id, workspace_id, role, created_at) VALUES ($1, $2, $3, $4)")
                .bind(&user.id)
                .bind(&config.default_workspace_id)
                .bind(config.default_role.as_str())
                .bind(ts(now))
                .execute(&mut *tx)
                .await?;
            let join_event = event
                .clone()
                .actor(ActorKind::User, &user.id, &user.email)
                .object("member", &user.id)
                .detail(serde_json::json!({
                    "role": config.default_role,
                    "via": "sso",
                    "organization": config.organization_slug,
                }));
            let join_event = AuditEvent {
                action: "member.jit_join".into(),
                ..join_event
            };
            audit::append(&mut tx, &config.default_workspace_id, &join_event, now).await?;
            joined = Some(config.default_role);
        }
        tx.commit().await?;
        Ok(SsoSignIn {
            user,
            created,
            joined,
        })
    }
}
