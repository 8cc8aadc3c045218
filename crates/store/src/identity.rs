//! Identity and access: organizations, members, invitations, API tokens, password resets, MFA,
//! login throttling, support-access grants, connectors (sealed credentials) and the audit log.
//!
//! Every state-changing call here takes the [`AuditEvent`] describing who acts and from where;
//! the store fills in the object and appends it to the right chain **in the same transaction**
//! as the change, so the change and its audit entry commit together or not at all.

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;
use sqlx::Row as _;
use sqlx::any::AnyRow;

use crate::audit::{self, AuditEntry, AuditEvent, ChainReport, INSTALLATION_CHAIN, Outcome};
use crate::db::{
    HashOf, get_opt_ts, get_ts, map_unique, parse, ts, user_from_row, workspace_from_row,
};
use crate::{
    Access, MfaGap, NewSession, Page, Paged, Permission, Result, Role, SessionOptions, Store,
    StoreError, User, Vault, Workspace, WorkspaceScope, WorkspaceStore, normalize_email, password,
    random_token, session_id_hash, totp,
};

/// Failed sign-ins per account per hour before the account is throttled (ASVS 2.2.1 allows up to
/// 100); counted across all client addresses.
pub const MAX_FAILED_LOGINS_PER_ACCOUNT: i64 = 20;
/// Failed sign-ins per client address per hour, across all accounts.
pub const MAX_FAILED_LOGINS_PER_ADDRESS: i64 = 100;
/// Longest support grant (the policy's 72 hours).
pub const MAX_SUPPORT_GRANT: TimeDelta = TimeDelta::hours(72);
/// Invitation links live this long.
pub const INVITATION_TTL: TimeDelta = TimeDelta::days(7);
/// Password-reset links live this long.
pub const PASSWORD_RESET_TTL: TimeDelta = TimeDelta::minutes(30);
/// Longest API token lifetime.
pub const MAX_TOKEN_LIFETIME: TimeDelta = TimeDelta::days(366);
/// Recovery codes issued at MFA enrolment.
pub const RECOVERY_CODES: usize = 10;
/// Prefix of API token secrets (so secret scanners can find leaked ones).
pub const API_TOKEN_PREFIX: &str = "rpt_";

fn sha256_hex(s: &str) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(s.as_bytes()))
}

pub(crate) fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

pub(crate) fn invalid(field: &'static str, message: impl Into<String>) -> StoreError {
    StoreError::Invalid {
        field,
        message: message.into(),
    }
}

fn forbidden(message: impl Into<String>) -> StoreError {
    StoreError::Forbidden(message.into())
}

/// An organization: contains workspaces; SSO is configured per organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Organization {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

/// A member of a workspace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Member {
    pub user_id: String,
    pub email: String,
    pub role: Role,
    pub mfa_enabled: bool,
    pub since: DateTime<Utc>,
}

/// An invitation (without its token, which only the creator sees, once).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Invitation {
    pub id: String,
    pub email: String,
    pub role: Role,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// What an invitation link offers (read without using it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvitationPreview {
    pub workspace: Workspace,
    pub email: String,
    pub role: Role,
    pub expires_at: DateTime<Utc>,
}

/// Who accepts an invitation: a signed-in user, or a new account for the invited email.
enum Invitee<'a> {
    Existing(&'a User),
    New { hash: &'a str },
}

/// An API token's metadata (its secret is shown once, at creation, and stored only hashed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ApiToken {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A support-access grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SupportGrant {
    pub id: String,
    pub workspace_id: String,
    pub operator_id: String,
    pub operator_email: String,
    pub request_note: String,
    pub requested_at: DateTime<Utc>,
    pub reason: Option<String>,
    pub granted_by: Option<String>,
    pub granted_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_by: Option<String>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl SupportGrant {
    /// Granted, not revoked, not expired at `now`.
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.granted_at.is_some()
            && self.revoked_at.is_none()
            && self.expires_at.is_some_and(|e| now < e)
    }
}

/// A cloud connector (its secret never leaves the store except to the scanner).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Connector {
    pub id: String,
    pub name: String,
    pub provider: String,
    #[schema(value_type = Object)]
    pub settings: serde_json::Value,
    /// Id of the vault key the secret is sealed under.
    pub key_id: String,
    /// When the scheduler scans it: a five-field cron expression in UTC.
    pub schedule: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Why a sign-in attempt is refused before the password is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Throttle {
    Account,
    Address,
}

/// Audit log filter.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub action: Option<String>,
    pub actor_id: Option<String>,
    pub outcome: Option<String>,
    pub grant_id: Option<String>,
    pub since: Option<DateTime<Utc>>,
    /// Entries before this time.
    pub until: Option<DateTime<Utc>>,
}

fn invitation_from_row(r: &AnyRow) -> Result<Invitation> {
    Ok(Invitation {
        id: r.try_get("id")?,
        email: r.try_get("email")?,
        role: parse("role", &r.try_get::<String, _>("role")?)?,
        created_by: r.try_get("created_by")?,
        created_at: get_ts(r, "created_at")?,
        expires_at: get_ts(r, "expires_at")?,
        accepted_at: get_opt_ts(r, "accepted_at")?,
        revoked_at: get_opt_ts(r, "revoked_at")?,
    })
}

fn token_from_row(r: &AnyRow) -> Result<ApiToken> {
    Ok(ApiToken {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        role: parse("role", &r.try_get::<String, _>("role")?)?,
        created_by: r.try_get("created_by")?,
        created_at: get_ts(r, "created_at")?,
        expires_at: get_ts(r, "expires_at")?,
        last_used_at: get_opt_ts(r, "last_used_at")?,
        revoked_at: get_opt_ts(r, "revoked_at")?,
    })
}

fn grant_from_row(r: &AnyRow) -> Result<SupportGrant> {
    Ok(SupportGrant {
        id: r.try_get("id")?,
        workspace_id: r.try_get("workspace_id")?,
        operator_id: r.try_get("operator_id")?,
        operator_email: r.try_get("operator_email")?,
        request_note: r.try_get("request_note")?,
        requested_at: get_ts(r, "requested_at")?,
        reason: r.try_get("reason")?,
        granted_by: r.try_get("granted_by")?,
        granted_at: get_opt_ts(r, "granted_at")?,
        expires_at: get_opt_ts(r, "expires_at")?,
        revoked_by: r.try_get("revoked_by")?,
        revoked_at: get_opt_ts(r, "revoked_at")?,
    })
}

fn connector_from_row(r: &AnyRow) -> Result<Connector> {
    let settings: String = r.try_get("settings")?;
    let secret: String = r.try_get("secret")?;
    Ok(Connector {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        provider: r.try_get("provider")?,
        settings: serde_json::from_str(&settings)
            .map_err(|e| StoreError::Corrupt(format!("connector settings: {e}")))?,
        key_id: Vault::key_id_of(&secret).unwrap_or_default().to_owned(),
        schedule: r.try_get("schedule")?,
        created_by: r.try_get("created_by")?,
        created_at: get_ts(r, "created_at")?,
        updated_at: get_ts(r, "updated_at")?,
    })
}

const GRANT_COLUMNS: &str = "g.id, g.workspace_id, g.operator_id, u.email AS operator_email, g.request_note, g.requested_at, g.reason, g.granted_by, g.granted_at, g.expires_at, g.revoked_by, g.revoked_at";

/// Associated data binding a sealed TOTP seed to its user.
fn totp_aad(user_id: &str) -> Vec<u8> {
    format!("totp/{user_id}").into_bytes()
}

/// Associated data binding a sealed connector secret to its workspace and connector.
fn connector_aad(workspace_id: &str, connector_id: &str) -> Vec<u8> {
    format!("connector/{workspace_id}/{connector_id}").into_bytes()
}

impl Store {
    // ----- audit -------------------------------------------------------------------------------

    /// Appends an event on its own (e.g. an authentication decision) to the installation chain
    /// or, with a scope, to the workspace's chain.
    pub async fn audit(
        &self,
        scope: Option<&WorkspaceScope>,
        event: &AuditEvent,
    ) -> Result<AuditEntry> {
        let chain = scope.map_or(INSTALLATION_CHAIN, |s| s.workspace_id());
        let mut tx = self.db().begin_chain(chain).await?;
        let entry = audit::append(&mut tx, chain, event, Utc::now()).await?;
        tx.commit().await?;
        Ok(entry)
    }

    /// Installation-level audit entries, newest first.
    pub async fn installation_audit_log(
        &self,
        filter: &AuditFilter,
        page: Page,
    ) -> Result<Paged<AuditEntry>> {
        self.audit_page(INSTALLATION_CHAIN, filter, page).await
    }

    async fn audit_page(
        &self,
        chain: &str,
        filter: &AuditFilter,
        page: Page,
    ) -> Result<Paged<AuditEntry>> {
        let mut tx = self.db().begin_chain(chain).await?;
        let mut cond = String::from("chain = $1");
        let mut binds: Vec<String> = vec![chain.to_owned()];
        let mut add = |col: &str, op: &str, v: &Option<String>| {
            if let Some(v) = v {
                binds.push(v.clone());
                cond.push_str(&format!(" AND {col} {op} ${}", binds.len()));
            }
        };
        add("action", "=", &filter.action);
        add("actor_id", "=", &filter.actor_id);
        add("outcome", "=", &filter.outcome);
        add("grant_id", "=", &filter.grant_id);
        add("at", ">=", &filter.since.map(ts));
        add("at", "<", &filter.until.map(ts));
        let list = format!(
            "SELECT * FROM audit_log WHERE {cond} ORDER BY seq DESC LIMIT ${} OFFSET ${}",
            binds.len() + 1,
            binds.len() + 2
        );
        let count = format!("SELECT COUNT(*) AS n FROM audit_log WHERE {cond}");
        let mut q = sqlx::query(&list);
        let mut c = sqlx::query(&count);
        for b in &binds {
            q = q.bind(b);
            c = c.bind(b);
        }
        let rows = q
            .bind(i64::from(page.limit()))
            .bind(i64::try_from(page.offset()).unwrap_or(i64::MAX))
            .fetch_all(&mut *tx)
            .await?;
        let total: i64 = c.fetch_one(&mut *tx).await?.try_get("n")?;
        Ok(Paged {
            items: rows
                .iter()
                .map(audit::entry_from_row)
                .collect::<Result<_>>()?,
            total: u64::try_from(total).unwrap_or(0),
            limit: page.limit(),
            offset: page.offset(),
        })
    }

    /// Recomputes every audit chain (installation and each workspace) and reports, per chain,
    /// the number of entries and the first entry that does not verify.
    ///
    /// Each chain is read under its own scope (the installation's, then each workspace's), so
    /// on PostgreSQL this works within row-level security.
    pub async fn verify_audit(&self) -> Result<Vec<ChainReport>> {
        let dialect = self.db().dialect;
        let mut tx = self.db().begin_installation().await?;
        let mut chains: std::collections::BTreeSet<String> =
            std::collections::BTreeSet::from([INSTALLATION_CHAIN.to_owned()]);
        // Every workspace, and every chain visible without a workspace scope (on SQLite: all of
        // them, including those of deleted workspaces).
        for r in sqlx::query(
            "SELECT id AS chain FROM workspaces UNION SELECT chain FROM audit_heads UNION SELECT chain FROM audit_log",
        )
        .fetch_all(&mut *tx)
        .await?
        {
            chains.insert(r.try_get("chain")?);
        }
        let mut reports = Vec::new();
        for chain in chains {
            if chain != INSTALLATION_CHAIN {
                crate::db::set_workspace(&mut tx, dialect, &chain).await?;
            }
            let head = sqlx::query("SELECT seq, hash FROM audit_heads WHERE chain = $1")
                .bind(&chain)
                .fetch_optional(&mut *tx)
                .await?
                .map(|r| Ok::<_, StoreError>((r.try_get("seq")?, r.try_get("hash")?)))
                .transpose()?;
            let rows = sqlx::query("SELECT * FROM audit_log WHERE chain = $1 ORDER BY seq")
                .bind(&chain)
                .fetch_all(&mut *tx)
                .await?;
            if head.is_none() && rows.is_empty() {
                continue;
            }
            let entries = rows
                .iter()
                .map(|r| Ok((audit::entry_from_row(r)?, r.try_get::<String, _>("at")?)))
                .collect::<Result<Vec<_>>>()?;
            reports.push(audit::verify_chain(&chain, &entries, head));
        }
        tx.commit().await?;
        Ok(reports)
    }

    /// Privileged accounts without a second factor: every workspace owner or admin, and every
    /// installation operator, that has not enrolled TOTP (for `rampart selfcheck`). Each
    /// workspace's memberships are read under that workspace's scope, so on PostgreSQL this
    /// works within row-level security; only e-mail addresses and roles are read.
    pub async fn privileged_without_mfa(&self) -> Result<Vec<MfaGap>> {
        let dialect = self.db().dialect;
        let mut tx = self.db().begin_installation().await?;
        let workspaces = sqlx::query("SELECT id, slug, require_mfa FROM workspaces ORDER BY slug")
            .fetch_all(&mut *tx)
            .await?;
        let mut gaps = Vec::new();
        for w in workspaces {
            let id: String = w.try_get("id")?;
            let slug: String = w.try_get("slug")?;
            let required = w.try_get::<i64, _>("require_mfa")? != 0;
            crate::db::set_workspace(&mut tx, dialect, &id).await?;
            for m in sqlx::query(
                "SELECT u.email, m.role FROM memberships m JOIN users u ON u.id = m.user_id \
                 WHERE m.workspace_id = $1 AND m.role IN ('owner', 'admin') \
                 AND u.totp_enabled_at IS NULL ORDER BY u.email",
            )
            .bind(&id)
            .fetch_all(&mut *tx)
            .await?
            {
                gaps.push(MfaGap {
                    email: m.try_get("email")?,
                    workspace: Some(slug.clone()),
                    role: m.try_get("role")?,
                    workspace_requires_mfa: required,
                });
            }
        }
        crate::db::set_installation(&mut tx, dialect).await?;
        for u in sqlx::query(
            "SELECT email FROM users WHERE is_operator = 1 AND totp_enabled_at IS NULL ORDER BY email",
        )
        .fetch_all(&mut *tx)
        .await?
        {
            gaps.push(MfaGap {
                email: u.try_get("email")?,
                workspace: None,
                role: "operator".to_owned(),
                workspace_requires_mfa: false,
            });
        }
        tx.commit().await?;
        Ok(gaps)
    }

    // ----- organizations -----------------------------------------------------------------------

    pub async fn create_organization(&self, slug: &str, name: &str) -> Result<Organization> {
        crate::validate_slug(slug)?;
        let org = Organization {
            id: new_id("org"),
            slug: slug.to_owned(),
            name: name.to_owned(),
            created_at: Utc::now(),
        };
        sqlx::query(
            "INSERT INTO organizations (id, slug, name, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&org.id)
        .bind(&org.slug)
        .bind(&org.name)
        .bind(ts(org.created_at))
        .execute(&self.db().pool)
        .await
        .map_err(|e| map_unique(e, "organization"))?;
        Ok(org)
    }

    /// Creates a workspace inside an organization.
    pub async fn create_workspace_in(
        &self,
        organization_id: &str,
        slug: &str,
        name: &str,
    ) -> Result<Workspace> {
        let ws = self.create_workspace(slug, name).await?;
        sqlx::query("UPDATE workspaces SET organization_id = $2 WHERE id = $1")
            .bind(&ws.id)
            .bind(organization_id)
            .execute(&self.db().pool)
            .await?;
        Ok(ws)
    }

    /// The organization of a workspace, if it has one.
    pub async fn organization_of(&self, scope: &WorkspaceScope) -> Result<Option<Organization>> {
        let row = sqlx::query(
            "SELECT o.id, o.slug, o.name, o.created_at FROM organizations o JOIN workspaces w ON w.organization_id = o.id WHERE w.id = $1",
        )
        .bind(scope.workspace_id())
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

    // ----- workspace settings and members --------------------------------------------------------

    /// Whether the workspace requires members to have MFA enrolled.
    pub async fn workspace_requires_mfa(&self, workspace_id: &str) -> Result<bool> {
        let row = sqlx::query("SELECT require_mfa FROM workspaces WHERE id = $1")
            .bind(workspace_id)
            .fetch_optional(&self.db().pool)
            .await?;
        Ok(row
            .map(|r| r.try_get::<i64, _>("require_mfa"))
            .transpose()?
            .is_some_and(|v| v != 0))
    }

    /// Turns the workspace's MFA requirement on or off.
    pub async fn set_require_mfa(
        &self,
        scope: &WorkspaceScope,
        required: bool,
        event: AuditEvent,
    ) -> Result<()> {
        require(scope, Permission::ManageSettings)?;
        let mut tx = self.db().begin_workspace(scope.workspace_id()).await?;
        sqlx::query("UPDATE workspaces SET require_mfa = $2 WHERE id = $1")
            .bind(scope.workspace_id())
            .bind(i64::from(required))
            .execute(&mut *tx)
            .await?;
        let event = event
            .object("workspace", scope.workspace_id())
            .detail(serde_json::json!({ "require_mfa": required }));
        audit::append(&mut tx, scope.workspace_id(), &event, Utc::now()).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn list_members(&self, scope: &WorkspaceScope) -> Result<Vec<Member>> {
        let mut tx = self.db().begin_workspace(scope.workspace_id()).await?;
        let rows = sqlx::query(
            "SELECT u.id, u.email, m.role, m.created_at, u.totp_enabled_at FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.workspace_id = $1 ORDER BY u.email",
        )
        .bind(scope.workspace_id())
        .fetch_all(&mut *tx)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Member {
                    user_id: r.try_get("id")?,
                    email: r.try_get("email")?,
                    role: parse("role", &r.try_get::<String, _>("role")?)?,
                    mfa_enabled: r.try_get::<Option<String>, _>("totp_enabled_at")?.is_some(),
                    since: get_ts(r, "created_at")?,
                })
            })
            .collect()
    }

    /// Changes a member's role (only to a role the acting member may assign; the last owner
    /// stays an owner).
    pub async fn change_member_role(
        &self,
        scope: &WorkspaceScope,
        user_id: &str,
        role: Role,
        event: AuditEvent,
    ) -> Result<()> {
        require(scope, Permission::ManageMembers)?;
        let actor = scope.role().unwrap_or(Role::Owner);
        let mut tx = self.db().begin_workspace(scope.workspace_id()).await?;
        let current: Option<String> =
            sqlx::query("SELECT role FROM memberships WHERE workspace_id = $1 AND user_id = $2")
                .bind(scope.workspace_id())
                .bind(user_id)
                .fetch_optional(&mut *tx)
                .await?
                .map(|r| r.try_get("role"))
                .transpose()?;
        let Some(current) = current else {
            return Err(StoreError::NotFound { what: "member" });
        };
        let current: Role = parse("role", &current)?;
        if !actor.may_assign(role) || !actor.may_assign(current) {
            return Err(forbidden(format!(
                "a workspace {actor} cannot change a {current} into a {role}"
            )));
        }
        if current == Role::Owner && role != Role::Owner {
            let owners: i64 = sqlx::query(
                "SELECT COUNT(*) AS n FROM memberships WHERE workspace_id = $1 AND role = 'owner'",
            )
            .bind(scope.workspace_id())
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
            if owners <= 1 {
                return Err(invalid(
                    "role",
                    "the workspace must keep at least one owner",
                ));
            }
        }
        sqlx::query("UPDATE memberships SET role = $3 WHERE workspace_id = $1 AND user_id = $2")
            .bind(scope.workspace_id())
            .bind(user_id)
            .bind(role.as_str())
            .execute(&mut *tx)
            .await?;
        let event = event
            .object("member", user_id)
            .detail(serde_json::json!({ "from": current, "to": role }));
        audit::append(&mut tx, scope.workspace_id(), &event, Utc::now()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Removes a member (not the last owner).
    pub async fn remove_member(
        &self,
        scope: &WorkspaceScope,
        user_id: &str,
        event: AuditEvent,
    ) -> Result<()> {
        let members = self.list_members(scope).await?;
        let Some(target) = members.iter().find(|m| m.user_id == user_id) else {
            return Err(StoreError::NotFound { what: "member" });
        };
        require(scope, Permission::ManageMembers)?;
        let actor = scope.role().unwrap_or(Role::Owner);
        if !actor.may_assign(target.role) {
            return Err(forbidden(format!(
                "a workspace {actor} cannot remove a {}",
                target.role
            )));
        }
        if target.role == Role::Owner
            && members.iter().filter(|m| m.role == Role::Owner).count() <= 1
        {
            return Err(invalid(
                "member",
                "the workspace must keep at least one owner",
            ));
        }
        let mut tx = self.db().begin_workspace(scope.workspace_id()).await?;
        sqlx::query("DELETE FROM memberships WHERE workspace_id = $1 AND user_id = $2")
            .bind(scope.workspace_id())
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        let event = event.object("member", user_id);
        audit::append(&mut tx, scope.workspace_id(), &event, Utc::now()).await?;
        tx.commit().await?;
        Ok(())
    }

    // ----- invitations -------------------------------------------------------------------------

    /// Invites `email` with `role`; answers the invitation and its single-use token (shown once).
    pub async fn create_invitation(
        &self,
        scope: &WorkspaceScope,
        email: &str,
        role: Role,
        event: AuditEvent,
    ) -> Result<(Invitation, String)> {
        require(scope, Permission::ManageMembers)?;
        let actor = scope.role().unwrap_or(Role::Owner);
        if !actor.may_assign(role) {
            return Err(forbidden(format!(
                "a workspace {actor} cannot invite a {role}"
            )));
        }
        let email = normalize_email(email)?;
        let token = random_token();
        let now = Utc::now();
        let inv = Invitation {
            id: new_id("inv"),
            email,
            role,
            created_by: event.actor_id.clone(),
            created_at: now,
            expires_at: now + INVITATION_TTL,
            accepted_at: None,
            revoked_at: None,
        };
        let mut tx = self.db().begin_workspace(scope.workspace_id()).await?;
        sqlx::query("INSERT INTO invitations (workspace_id, id, token_hash, email, role, created_by, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
            .bind(scope.workspace_id())
            .bind(&inv.id)
            .bind(sha256_hex(&token))
            .bind(&inv.email)
            .bind(role.as_str())
            .bind(&inv.created_by)
            .bind(ts(now))
            .bind(ts(inv.expires_at))
            .execute(&mut *tx)
            .await?;
        let event = event
            .object("invitation", &inv.id)
            .detail(serde_json::json!({ "email": inv.email, "role": role }));
        audit::append(&mut tx, scope.workspace_id(), &event, now).await?;
        tx.commit().await?;
        Ok((inv, token))
    }

    pub async fn list_invitations(&self, scope: &WorkspaceScope) -> Result<Vec<Invitation>> {
        let mut tx = self.db().begin_workspace(scope.workspace_id()).await?;
        let rows = sqlx::query(
            "SELECT * FROM invitations WHERE workspace_id = $1 ORDER BY created_at DESC",
        )
        .bind(scope.workspace_id())
        .fetch_all(&mut *tx)
        .await?;
        rows.iter().map(invitation_from_row).collect()
    }

    pub async fn revoke_invitation(
        &self,
        scope: &WorkspaceScope,
        id: &str,
        event: AuditEvent,
    ) -> Result<()> {
        self.change_one_audited(
            scope,
            Permission::ManageMembers,
            "UPDATE invitations SET revoked_at = $3 WHERE workspace_id = $1 AND id = $2 AND accepted_at IS NULL AND revoked_at IS NULL",
            id,
            ("invitation", "open invitation"),
            event,
        )
        .await
    }

    /// The rows `sql` selects from the scope's workspace (`$1` is the workspace id).
    pub(crate) async fn rows_in<T>(
        &self,
        scope: &WorkspaceScope,
        sql: &str,
        from_row: fn(&AnyRow) -> Result<T>,
    ) -> Result<Vec<T>> {
        let mut tx = self.db().begin_workspace(scope.workspace_id()).await?;
        let rows = sqlx::query(sql)
            .bind(scope.workspace_id())
            .fetch_all(&mut *tx)
            .await?;
        rows.iter().map(from_row).collect()
    }

    /// The one row `sql` selects from the scope's workspace (`$1` workspace id, `$2` id).
    pub(crate) async fn row_in<T>(
        &self,
        scope: &WorkspaceScope,
        sql: &str,
        id: &str,
        from_row: fn(&AnyRow) -> Result<T>,
    ) -> Result<Option<T>> {
        let mut tx = self.db().begin_workspace(scope.workspace_id()).await?;
        let row = sqlx::query(sql)
            .bind(scope.workspace_id())
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Runs `sql` (binding `$1` workspace, `$2` id, and `$3` now when the statement names it) on
    /// one object of the scope's workspace after checking `permission`; answers not-found when
    /// no row changed; audits the change with `object` (type, what-for-errors) in the same
    /// transaction.
    pub(crate) async fn change_one_audited(
        &self,
        scope: &WorkspaceScope,
        permission: Permission,
        sql: &str,
        id: &str,
        object: (&'static str, &'static str),
        event: AuditEvent,
    ) -> Result<()> {
        require(scope, permission)?;
        let now = Utc::now();
        let mut tx = self.db().begin_workspace(scope.workspace_id()).await?;
        let mut query = sqlx::query(sql).bind(scope.workspace_id()).bind(id);
        if sql.contains("$3") {
            query = query.bind(ts(now));
        }
        let n = query.execute(&mut *tx).await?.rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound { what: object.1 });
        }
        audit::append(
            &mut tx,
            scope.workspace_id(),
            &event.object(object.0, id),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// What an invitation link offers, read without using it: `None` when the code is unknown,
    /// used, revoked or expired.
    pub async fn invitation_preview(&self, token: &str) -> Result<Option<InvitationPreview>> {
        let mut tx = self.db().begin().await?;
        let Some((ws_id, inv)) = self.usable_invitation(&mut tx, token).await? else {
            return Ok(None);
        };
        let ws = sqlx::query("SELECT id, slug, name, created_at FROM workspaces WHERE id = $1")
            .bind(&ws_id)
            .fetch_one(&mut *tx)
            .await?;
        let workspace = workspace_from_row(&ws)?;
        tx.commit().await?;
        Ok(Some(InvitationPreview {
            workspace,
            email: inv.email,
            role: inv.role,
            expires_at: inv.expires_at,
        }))
    }

    /// The open invitation of a link's code and its workspace (whose scope is then set on
    /// `tx`); `None` when the code is unknown, used, revoked or expired.
    async fn usable_invitation(
        &self,
        tx: &mut crate::db::Tx,
        token: &str,
    ) -> Result<Option<(String, Invitation)>> {
        let hash = sha256_hex(token);
        // Reviewed exception: the link's hash resolves to its workspace before any scope exists.
        let Some(ws_id) =
            crate::db::workspace_of_hash(tx, self.db().dialect, HashOf::Invitation, &hash).await?
        else {
            return Ok(None);
        };
        crate::db::set_workspace(tx, self.db().dialect, &ws_id).await?;
        let Some(row) =
            sqlx::query("SELECT * FROM invitations WHERE workspace_id = $1 AND token_hash = $2")
                .bind(&ws_id)
                .bind(&hash)
                .fetch_optional(&mut **tx)
                .await?
        else {
            return Ok(None);
        };
        let inv = invitation_from_row(&row)?;
        if inv.accepted_at.is_some() || inv.revoked_at.is_some() || Utc::now() >= inv.expires_at {
            return Ok(None);
        }
        Ok(Some((ws_id, inv)))
    }

    /// Accepts an invitation for `user` (whose email must be the invited one): single use,
    /// refused when expired or revoked. Answers the workspace joined.
    pub async fn accept_invitation(
        &self,
        token: &str,
        user: &User,
        event: AuditEvent,
    ) -> Result<Workspace> {
        let (ws, _) = self
            .accept_invitation_as(token, Invitee::Existing(user), event)
            .await?;
        Ok(ws)
    }

    /// Creates the account of an invited person who has none (the invited email, `password`
    /// under the password policy) and accepts the invitation with it, in one transaction:
    /// either both happen or neither. Refused when an account with that email exists (it signs
    /// in and accepts instead).
    pub async fn accept_invitation_with_new_account(
        &self,
        token: &str,
        password: &str,
        event: AuditEvent,
    ) -> Result<(Workspace, User)> {
        password::check_policy(password)?;
        let hash = password::hash_blocking(password.to_owned()).await?;
        self.accept_invitation_as(token, Invitee::New { hash: &hash }, event)
            .await
    }

    async fn accept_invitation_as(
        &self,
        token: &str,
        invitee: Invitee<'_>,
        event: AuditEvent,
    ) -> Result<(Workspace, User)> {
        let now = Utc::now();
        let gone = || StoreError::NotFound {
            what: "invitation (it may have expired, been used or been revoked)",
        };
        let mut tx = self.db().begin().await?;
        let Some((ws_id, inv)) = self.usable_invitation(&mut tx, token).await? else {
            return Err(gone());
        };
        let user = match invitee {
            Invitee::Existing(user) => {
                if inv.email != user.email {
                    return Err(forbidden(
                        "this invitation was sent to another email address",
                    ));
                }
                user.clone()
            }
            Invitee::New { hash } => {
                let user = User {
                    id: format!("usr_{}", uuid::Uuid::new_v4().simple()),
                    email: inv.email.clone(),
                    created_at: now,
                    password_changed_at: now,
                };
                sqlx::query(crate::db::sql::INSERT_USER)
                    .bind(&user.id)
                    .bind(&user.email)
                    .bind(hash)
                    .bind(ts(now))
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| crate::db::map_unique(e, "user"))?;
                user
            }
        };
        let used = sqlx::query("UPDATE invitations SET accepted_at = $3, accepted_by = $4 WHERE workspace_id = $1 AND id = $2 AND accepted_at IS NULL")
            .bind(&ws_id)
            .bind(&inv.id)
            .bind(ts(now))
            .bind(&user.id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if used == 0 {
            return Err(gone());
        }
        sqlx::query("INSERT INTO memberships (user_id, workspace_id, role, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, workspace_id) DO UPDATE SET role = excluded.role")
            .bind(&user.id)
            .bind(&ws_id)
            .bind(inv.role.as_str())
            .bind(ts(now))
            .execute(&mut *tx)
            .await?;
        let new_account = matches!(invitee, Invitee::New { .. });
        let event = if new_account {
            event.actor(crate::audit::ActorKind::User, &user.id, &user.email)
        } else {
            event
        };
        let event = event
            .object("invitation", &inv.id)
            .detail(serde_json::json!({ "role": inv.role, "new_account": new_account }));
        audit::append(&mut tx, &ws_id, &event, now).await?;
        let ws = sqlx::query("SELECT id, slug, name, created_at FROM workspaces WHERE id = $1")
            .bind(&ws_id)
            .fetch_one(&mut *tx)
            .await?;
        let ws = workspace_from_row(&ws)?;
        tx.commit().await?;
        Ok((ws, user))
    }

    // ----- API tokens --------------------------------------------------------------------------

    /// Creates an API token for the scope's workspace with `role` (no more than the creator
    /// may assign), valid until `expires_at` (at most a year). Answers its metadata and the
    /// secret, which is shown this once and stored only as its SHA-256.
    pub async fn create_api_token(
        &self,
        scope: &WorkspaceScope,
        name: &str,
        role: Role,
        expires_at: DateTime<Utc>,
        event: AuditEvent,
    ) -> Result<(ApiToken, String)> {
        require(scope, Permission::ManageTokens)?;
        let actor = scope.role().unwrap_or(Role::Owner);
        if !actor.may_assign(role) {
            return Err(forbidden(format!(
                "a workspace {actor} cannot create a token with role {role}"
            )));
        }
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(invalid("name", "must be 1 to 100 characters"));
        }
        let now = Utc::now();
        if expires_at <= now || expires_at > now + MAX_TOKEN_LIFETIME {
            return Err(invalid(
                "expires_at",
                "must be in the future and at most 366 days away",
            ));
        }
        let secret = format!("{API_TOKEN_PREFIX}{}", random_token());
        let token = ApiToken {
            id: new_id("tok"),
            name: name.to_owned(),
            role,
            created_by: event.actor_id.clone(),
            created_at: now,
            expires_at,
            last_used_at: None,
            revoked_at: None,
        };
        let mut tx = self.db().begin_workspace(scope.workspace_id()).await?;
        sqlx::query("INSERT INTO api_tokens (workspace_id, id, token_hash, name, role, created_by, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
            .bind(scope.workspace_id())
            .bind(&token.id)
            .bind(sha256_hex(&secret))
            .bind(&token.name)
            .bind(role.as_str())
            .bind(&token.created_by)
            .bind(ts(now))
            .bind(ts(expires_at))
            .execute(&mut *tx)
            .await?;
        let event = event.object("api_token", &token.id).detail(
            serde_json::json!({ "name": token.name, "role": role, "expires_at": expires_at }),
        );
        audit::append(&mut tx, scope.workspace_id(), &event, now).await?;
        tx.commit().await?;
        Ok((token, secret))
    }

    pub async fn list_api_tokens(&self, scope: &WorkspaceScope) -> Result<Vec<ApiToken>> {
        let mut tx = self.db().begin_workspace(scope.workspace_id()).await?;
        let rows = sqlx::query(
            "SELECT * FROM api_tokens WHERE workspace_id = $1 ORDER BY created_at DESC",
        )
        .bind(scope.workspace_id())
        .fetch_all(&mut *tx)
        .await?;
        rows.iter().map(token_from_row).collect()
    }

    pub async fn revoke_api_token(
        &self,
        scope: &WorkspaceScope,
        id: &str,
        event: AuditEvent,
    ) -> Result<()> {
        self.change_one_audited(
            scope,
            Permission::ManageTokens,
            "UPDATE api_tokens SET revoked_at = $3 WHERE workspace_id = $1 AND id = $2 AND revoked_at IS NULL",
            id,
            ("api_token", "API token"),
            event,
        )
        .await
    }

    /// The scope an API token secret opens: its workspace with its role, when the token exists,
    /// is not revoked and has not expired. Records its last use.
    pub async fn token_scope(&self, secret: &str) -> Result<Option<(WorkspaceScope, ApiToken)>> {
        if !secret.starts_with(API_TOKEN_PREFIX) || secret.len() > 128 {
            return Ok(None);
        }
        let now = Utc::now();
        let hash = sha256_hex(secret);
        let mut tx = self.db().begin().await?;
        // Reviewed exception: the token's hash resolves to its workspace before any scope exists.
        let Some(ws_id) =
            crate::db::workspace_of_hash(&mut tx, self.db().dialect, HashOf::ApiToken, &hash)
                .await?
        else {
            return Ok(None);
        };
        crate::db::set_workspace(&mut tx, self.db().dialect, &ws_id).await?;
        let row = sqlx::query("SELECT t.*, w.slug FROM api_tokens t JOIN workspaces w ON w.id = t.workspace_id WHERE t.workspace_id = $1 AND t.token_hash = $2")
            .bind(&ws_id)
            .bind(&hash)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let token = token_from_row(&row)?;
        tx.commit().await?;
        if token.revoked_at.is_some() || now >= token.expires_at {
            return Ok(None);
        }
        if token
            .last_used_at
            .is_none_or(|t| now - t >= TimeDelta::seconds(15))
        {
            // A transaction of its own that starts with the write: on SQLite, upgrading the read
            // transaction above to a writer fails at once (SQLITE_BUSY_SNAPSHOT) when another
            // connection wrote in between, where a fresh write waits its turn (busy_timeout).
            let mut tx = self.db().begin_workspace_write(&ws_id).await?;
            sqlx::query(
                "UPDATE api_tokens SET last_used_at = $3 WHERE workspace_id = $1 AND id = $2",
            )
            .bind(&ws_id)
            .bind(&token.id)
            .bind(ts(now))
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        }
        let scope = WorkspaceScope::new(
            ws_id,
            row.try_get("slug")?,
            Access::Token {
                token_id: token.id.clone(),
                created_by: token.created_by.clone(),
                role: token.role,
            },
        );
        Ok(Some((scope, token)))
    }

    // ----- passwords and sign-in throttling ------------------------------------------------------

    /// Whether sign-in for `account` (an email as typed) from `address` is throttled now.
    pub async fn login_throttled(&self, account: &str, address: &str) -> Result<Option<Throttle>> {
        let since = ts(Utc::now() - TimeDelta::hours(1));
        let account = account.trim().to_lowercase();
        let n: i64 =
            sqlx::query("SELECT COUNT(*) AS n FROM login_failures WHERE account = $1 AND at > $2")
                .bind(&account)
                .bind(&since)
                .fetch_one(&self.db().pool)
                .await?
                .try_get("n")?;
        if n >= MAX_FAILED_LOGINS_PER_ACCOUNT {
            return Ok(Some(Throttle::Account));
        }
        let n: i64 =
            sqlx::query("SELECT COUNT(*) AS n FROM login_failures WHERE address = $1 AND at > $2")
                .bind(address)
                .bind(&since)
                .fetch_one(&self.db().pool)
                .await?
                .try_get("n")?;
        Ok((n >= MAX_FAILED_LOGINS_PER_ADDRESS).then_some(Throttle::Address))
    }

    /// Records a failed sign-in and its audit entry (installation chain) together.
    pub async fn record_login_failure(
        &self,
        account: &str,
        address: &str,
        event: AuditEvent,
    ) -> Result<()> {
        let now = Utc::now();
        let mut tx = self.db().begin_installation().await?;
        sqlx::query("INSERT INTO login_failures (account, address, at) VALUES ($1, $2, $3)")
            .bind(audit::clean(&account.trim().to_lowercase(), 254))
            .bind(address)
            .bind(ts(now))
            .execute(&mut *tx)
            .await?;
        audit::append(&mut tx, INSTALLATION_CHAIN, &event, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Starts a session after a successful password check, clearing the account's failure
    /// count and auditing the sign-in, together.
    pub async fn record_login_success(
        &self,
        user: &User,
        options: &SessionOptions,
        event: AuditEvent,
    ) -> Result<NewSession> {
        let now = Utc::now();
        let session = self.create_session_with(&user.id, options, now).await?;
        let mut tx = self.db().begin_installation().await?;
        sqlx::query("DELETE FROM login_failures WHERE account = $1")
            .bind(&user.email)
            .execute(&mut *tx)
            .await?;
        let appended = audit::append(&mut tx, INSTALLATION_CHAIN, &event, now).await;
        match appended {
            Ok(_) => {
                tx.commit().await?;
                Ok(session)
            }
            Err(e) => {
                drop(tx);
                self.delete_session(&session.token).await?;
                Err(e)
            }
        }
    }

    /// Changes the password of a signed-in user after checking the current one; every other
    /// session of the user ends (ASVS 3.3.3). Answers false when the current password is wrong.
    pub async fn change_password(
        &self,
        user: &User,
        current: &str,
        new: &str,
        keep_session: &str,
        event: AuditEvent,
    ) -> Result<bool> {
        if self.verify_password(&user.email, current).await?.is_none() {
            return Ok(false);
        }
        password::check_policy(new)?;
        let hash = password::hash_blocking(new.to_owned()).await?;
        let now = Utc::now();
        let mut tx = self.db().begin_installation().await?;
        sqlx::query("UPDATE users SET password_hash = $2, password_changed_at = $3 WHERE id = $1")
            .bind(&user.id)
            .bind(&hash)
            .bind(ts(now))
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id_hash <> $2")
            .bind(&user.id)
            .bind(session_id_hash(keep_session))
            .execute(&mut *tx)
            .await?;
        audit::append(
            &mut tx,
            INSTALLATION_CHAIN,
            &event.object("user", &user.id),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Creates a single-use password-reset token for `email`, valid for
    /// [`PASSWORD_RESET_TTL`]; `None` when there is no such user (the caller answers alike).
    pub async fn create_password_reset(
        &self,
        email: &str,
        event: AuditEvent,
    ) -> Result<Option<(User, String)>> {
        let Some(user) = self.user_by_email(email).await? else {
            return Ok(None);
        };
        let token = random_token();
        let now = Utc::now();
        let mut tx = self.db().begin_installation().await?;
        sqlx::query("INSERT INTO password_resets (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(sha256_hex(&token))
            .bind(&user.id)
            .bind(ts(now))
            .bind(ts(now + PASSWORD_RESET_TTL))
            .execute(&mut *tx)
            .await?;
        audit::append(
            &mut tx,
            INSTALLATION_CHAIN,
            &event.object("user", &user.id),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(Some((user, token)))
    }

    /// Sets a new password with a reset token: single use, refused when expired; every session
    /// of the user ends. `None` when the token is unknown, used or expired.
    pub async fn reset_password(
        &self,
        token: &str,
        new: &str,
        event: AuditEvent,
    ) -> Result<Option<User>> {
        password::check_policy(new)?;
        let hash = password::hash_blocking(new.to_owned()).await?;
        let now = Utc::now();
        let mut tx = self.db().begin_installation().await?;
        let row = sqlx::query("UPDATE password_resets SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 RETURNING user_id")
            .bind(sha256_hex(token))
            .bind(ts(now))
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let user_id: String = row.try_get("user_id")?;
        sqlx::query("UPDATE users SET password_hash = $2, password_changed_at = $3 WHERE id = $1")
            .bind(&user_id)
            .bind(&hash)
            .bind(ts(now))
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(&user_id)
            .execute(&mut *tx)
            .await?;
        audit::append(
            &mut tx,
            INSTALLATION_CHAIN,
            &event.object("user", &user_id),
            now,
        )
        .await?;
        let user = sqlx::query(
            "SELECT id, email, created_at, password_changed_at FROM users WHERE id = $1",
        )
        .bind(&user_id)
        .fetch_one(&mut *tx)
        .await?;
        let user = user_from_row(&user, "created_at")?;
        tx.commit().await?;
        Ok(Some(user))
    }

    // ----- operators ---------------------------------------------------------------------------

    /// Makes a user an installation operator (or not). Local CLI only.
    pub async fn set_operator(
        &self,
        user_id: &str,
        operator: bool,
        event: AuditEvent,
    ) -> Result<()> {
        let now = Utc::now();
        let mut tx = self.db().begin_installation().await?;
        let n = sqlx::query("UPDATE users SET is_operator = $2 WHERE id = $1")
            .bind(user_id)
            .bind(i64::from(operator))
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound { what: "user" });
        }
        let event = event
            .object("user", user_id)
            .detail(serde_json::json!({ "operator": operator }));
        audit::append(&mut tx, INSTALLATION_CHAIN, &event, now).await?;
        tx.commit().await?;
        Ok(())
    }

    // ----- MFA ---------------------------------------------------------------------------------

    /// Whether the user has TOTP enrolled (confirmed).
    pub async fn mfa_enabled(&self, user_id: &str) -> Result<bool> {
        Ok(
            sqlx::query("SELECT totp_enabled_at FROM users WHERE id = $1")
                .bind(user_id)
                .fetch_optional(&self.db().pool)
                .await?
                .map(|r| r.try_get::<Option<String>, _>("totp_enabled_at"))
                .transpose()?
                .flatten()
                .is_some(),
        )
    }

    /// Starts TOTP enrolment: a fresh secret, sealed by the vault, not yet active. Answers the
    /// secret (for the authenticator app). Enrolment completes with [`Store::confirm_totp`].
    pub async fn begin_totp(&self, user_id: &str, vault: &Vault) -> Result<Vec<u8>> {
        let secret = totp::generate_secret();
        let sealed = vault
            .seal(&secret, &totp_aad(user_id))
            .map_err(|e| StoreError::Vault(e.to_string()))?;
        let n = sqlx::query("UPDATE users SET totp_secret = $2, totp_enabled_at = NULL, totp_last_step = NULL WHERE id = $1 AND totp_enabled_at IS NULL")
            .bind(user_id)
            .bind(sealed)
            .execute(&self.db().pool)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::Conflict {
                what: "MFA enrolment",
            });
        }
        Ok(secret)
    }

    async fn totp_state(
        &self,
        user_id: &str,
        vault: &Vault,
    ) -> Result<Option<(Vec<u8>, Option<i64>, bool)>> {
        let row = sqlx::query(
            "SELECT totp_secret, totp_last_step, totp_enabled_at FROM users WHERE id = $1",
        )
        .bind(user_id)
        .fetch_optional(&self.db().pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let Some(sealed) = row.try_get::<Option<String>, _>("totp_secret")? else {
            return Ok(None);
        };
        let secret = vault
            .open(&sealed, &totp_aad(user_id))
            .map_err(|e| StoreError::Vault(e.to_string()))?;
        Ok(Some((
            secret,
            row.try_get("totp_last_step")?,
            row.try_get::<Option<String>, _>("totp_enabled_at")?
                .is_some(),
        )))
    }

    /// Accepts a code once: the matched step must be later than the last accepted one, recorded
    /// atomically so two concurrent uses of one code cannot both pass.
    async fn accept_totp(&self, user_id: &str, code: &str, vault: &Vault) -> Result<bool> {
        let Some((secret, last, _)) = self.totp_state(user_id, vault).await? else {
            return Ok(false);
        };
        let Some(step) = totp::verify(&secret, code, Utc::now().timestamp(), last) else {
            return Ok(false);
        };
        let n = sqlx::query("UPDATE users SET totp_last_step = $2 WHERE id = $1 AND (totp_last_step IS NULL OR totp_last_step < $2)")
            .bind(user_id)
            .bind(step)
            .execute(&self.db().pool)
            .await?
            .rows_affected();
        Ok(n == 1)
    }

    /// Completes enrolment with a first valid code; answers the single-use recovery codes (shown
    /// once, stored only hashed). `None` when the code is wrong.
    pub async fn confirm_totp(
        &self,
        user_id: &str,
        code: &str,
        vault: &Vault,
        event: AuditEvent,
    ) -> Result<Option<Vec<String>>> {
        match self.totp_state(user_id, vault).await? {
            Some((_, _, false)) => {}
            Some((_, _, true)) => {
                return Err(StoreError::Conflict {
                    what: "MFA enrolment",
                });
            }
            None => {
                return Err(StoreError::NotFound {
                    what: "MFA enrolment in progress",
                });
            }
        }
        if !self.accept_totp(user_id, code, vault).await? {
            return Ok(None);
        }
        let codes: Vec<String> = (0..RECOVERY_CODES)
            .map(|_| {
                let t = random_token();
                let t: String = t
                    .chars()
                    .filter(char::is_ascii_alphanumeric)
                    .take(16)
                    .collect();
                format!("{}-{}-{}-{}", &t[0..4], &t[4..8], &t[8..12], &t[12..16]).to_lowercase()
            })
            .collect();
        let now = Utc::now();
        let mut tx = self.db().begin_installation().await?;
        sqlx::query("UPDATE users SET totp_enabled_at = $2 WHERE id = $1")
            .bind(user_id)
            .bind(ts(now))
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        for c in &codes {
            sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)")
                .bind(user_id)
                .bind(sha256_hex(c))
                .execute(&mut *tx)
                .await?;
        }
        audit::append(
            &mut tx,
            INSTALLATION_CHAIN,
            &event.object("user", user_id),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(Some(codes))
    }

    /// Checks a TOTP code (accepted once) or, failing that, a recovery code (single use) for an
    /// enrolled user.
    pub async fn verify_second_factor(
        &self,
        user_id: &str,
        code: &str,
        vault: &Vault,
    ) -> Result<bool> {
        let code = code.trim();
        if code.len() == totp::TOTP_DIGITS as usize {
            return self.accept_totp(user_id, code, vault).await;
        }
        let n = sqlx::query("UPDATE recovery_codes SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL")
            .bind(user_id)
            .bind(sha256_hex(&code.to_lowercase()))
            .bind(ts(Utc::now()))
            .execute(&self.db().pool)
            .await?
            .rows_affected();
        Ok(n == 1)
    }

    /// Removes a user's TOTP and recovery codes.
    pub async fn disable_totp(&self, user_id: &str, event: AuditEvent) -> Result<()> {
        let now = Utc::now();
        let mut tx = self.db().begin_installation().await?;
        sqlx::query("UPDATE users SET totp_secret = NULL, totp_enabled_at = NULL, totp_last_step = NULL WHERE id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        audit::append(
            &mut tx,
            INSTALLATION_CHAIN,
            &event.object("user", user_id),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Replaces an MFA-pending session by a fresh, MFA-verified one (a new id after each
    /// authentication step, ASVS 3.2.1).
    pub async fn complete_mfa_session(
        &self,
        pending_token: &str,
        user_id: &str,
        options: &SessionOptions,
        event: AuditEvent,
    ) -> Result<NewSession> {
        self.delete_session(pending_token).await?;
        let options = SessionOptions {
            mfa_pending: false,
            mfa_verified: true,
            ..options.clone()
        };
        let now = Utc::now();
        let session = self.create_session_with(user_id, &options, now).await?;
        if let Err(e) = self.audit(None, &event.object("user", user_id)).await {
            self.delete_session(&session.token).await?;
            return Err(e);
        }
        Ok(session)
    }

    // ----- support access ----------------------------------------------------------------------

    /// An operator asks for support access to a workspace. Answers the pending grant.
    pub async fn request_support(
        &self,
        operator: &User,
        workspace_slug: &str,
        note: &str,
        event: AuditEvent,
    ) -> Result<SupportGrant> {
        let is_operator: bool = sqlx::query("SELECT is_operator FROM users WHERE id = $1")
            .bind(&operator.id)
            .fetch_optional(&self.db().pool)
            .await?
            .map(|r| r.try_get::<i64, _>("is_operator"))
            .transpose()?
            .is_some_and(|v| v != 0);
        if !is_operator {
            return Err(forbidden(
                "only installation operators may request support access",
            ));
        }
        let Some(ws) = self.workspace_by_slug(workspace_slug).await? else {
            return Err(StoreError::NotFound { what: "workspace" });
        };
        let note = note.trim();
        if note.is_empty() || note.chars().count() > 500 {
            return Err(invalid("note", "must be 1 to 500 characters"));
        }
        let id = new_id("grt");
        let now = Utc::now();
        let mut tx = self.db().begin_workspace(&ws.id).await?;
        sqlx::query("INSERT INTO support_grants (workspace_id, id, operator_id, request_note, requested_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(&ws.id)
            .bind(&id)
            .bind(&operator.id)
            .bind(note)
            .bind(ts(now))
            .execute(&mut *tx)
            .await?;
        let event = event
            .object("support_grant", &id)
            .grant(Some(&id))
            .detail(serde_json::json!({ "note": note }));
        audit::append(&mut tx, &ws.id, &event, now).await?;
        tx.commit().await?;
        self.support_grant_by_id(&ws.id, &id).await
    }

    async fn support_grant_by_id(&self, workspace_id: &str, id: &str) -> Result<SupportGrant> {
        let mut tx = self.db().begin_workspace(workspace_id).await?;
        let row = sqlx::query(&format!("SELECT {GRANT_COLUMNS} FROM support_grants g JOIN users u ON u.id = g.operator_id WHERE g.workspace_id = $1 AND g.id = $2"))
            .bind(workspace_id)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        row.as_ref()
            .map(grant_from_row)
            .transpose()?
            .ok_or(StoreError::NotFound {
                what: "support grant",
            })
    }

    /// Grants a requested support access with a reason, until `expires_at` (at most 72 hours).
    pub async fn grant_support(
        &self,
        scope: &WorkspaceScope,
        grant_id: &str,
        reason: &str,
        expires_at: DateTime<Utc>,
        event: AuditEvent,
    ) -> Result<SupportGrant> {
        require(scope, Permission::ManageSupportGrants)?;
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > 500 {
            return Err(invalid("reason", "must be 1 to 500 characters"));
        }
        let now = Utc::now();
        if expires_at <= now || expires_at > now + MAX_SUPPORT_GRANT {
            return Err(invalid(
                "expires_at",
                "must be in the future and at most 72 hours away",
            ));
        }
        let mut tx = self.db().begin_workspace(scope.workspace_id()).await?;
        let n = sqlx::query("UPDATE support_grants SET reason = $3, granted_by = $4, granted_at = $5, expires_at = $6 WHERE workspace_id = $1 AND id = $2 AND granted_at IS NULL AND revoked_at IS NULL")
            .bind(scope.workspace_id())
            .bind(grant_id)
            .bind(reason)
            .bind(&event.actor_id)
            .bind(ts(now))
            .bind(ts(expires_at))
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound {
                what: "pending support request",
            });
        }
        let event = event
            .object("support_grant", grant_id)
            .grant(Some(grant_id))
            .detail(serde_json::json!({ "reason": reason, "expires_at": expires_at }));
        audit::append(&mut tx, scope.workspace_id(), &event, now).await?;
        tx.commit().await?;
        self.support_grant_by_id(scope.workspace_id(), grant_id)
            .await
    }

    /// Revokes (or declines) a support grant; effective for the operator's next request.
    pub async fn revoke_support(
        &self,
        scope: &WorkspaceScope,
        grant_id: &str,
        event: AuditEvent,
    ) -> Result<SupportGrant> {
        require(scope, Permission::ManageSupportGrants)?;
        let now = Utc::now();
        let mut tx = self.db().begin_workspace(scope.workspace_id()).await?;
        let n = sqlx::query("UPDATE support_grants SET revoked_by = $3, revoked_at = $4 WHERE workspace_id = $1 AND id = $2 AND revoked_at IS NULL")
            .bind(scope.workspace_id())
            .bind(grant_id)
            .bind(&event.actor_id)
            .bind(ts(now))
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound {
                what: "support grant",
            });
        }
        let event = event
            .object("support_grant", grant_id)
            .grant(Some(grant_id));
        audit::append(&mut tx, scope.workspace_id(), &event, now).await?;
        tx.commit().await?;
        self.support_grant_by_id(scope.workspace_id(), grant_id)
            .await
    }

    /// Every support grant of the workspace (requested, active, expired, revoked), newest first.
    pub async fn list_support_grants(&self, scope: &WorkspaceScope) -> Result<Vec<SupportGrant>> {
        let mut tx = self.db().begin_workspace(scope.workspace_id()).await?;
        let rows = sqlx::query(&format!("SELECT {GRANT_COLUMNS} FROM support_grants g JOIN users u ON u.id = g.operator_id WHERE g.workspace_id = $1 ORDER BY g.requested_at DESC"))
            .bind(scope.workspace_id())
            .fetch_all(&mut *tx)
            .await?;
        rows.iter().map(grant_from_row).collect()
    }

    /// An operator's grants, across workspaces (for the operator's own view).
    pub async fn support_grants_of_operator(&self, operator_id: &str) -> Result<Vec<SupportGrant>> {
        let mut tx = self.db().begin_user(operator_id).await?;
        let rows = sqlx::query(&format!("SELECT {GRANT_COLUMNS} FROM support_grants g JOIN users u ON u.id = g.operator_id WHERE g.operator_id = $1 ORDER BY g.requested_at DESC"))
            .bind(operator_id)
            .fetch_all(&mut *tx)
            .await?;
        rows.iter().map(grant_from_row).collect()
    }

    /// The read-only scope an operator holds on a workspace through an active grant, checked
    /// at every request (so expiry and revocation take effect at once).
    pub async fn support_scope(
        &self,
        slug: &str,
        operator_id: &str,
    ) -> Result<Option<WorkspaceScope>> {
        let mut tx = self.db().begin_user(operator_id).await?;
        let now = ts(Utc::now());
        let row = sqlx::query("SELECT g.id, w.id AS workspace_id, w.slug FROM support_grants g JOIN workspaces w ON w.id = g.workspace_id JOIN users u ON u.id = g.operator_id \
             WHERE w.slug = $1 AND g.operator_id = $2 AND u.is_operator = 1 AND g.granted_at IS NOT NULL AND g.revoked_at IS NULL AND g.expires_at > $3 \
             ORDER BY g.expires_at DESC LIMIT 1")
            .bind(slug)
            .bind(operator_id)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(WorkspaceScope::new(
            row.try_get("workspace_id")?,
            row.try_get("slug")?,
            Access::Support {
                operator_id: operator_id.to_owned(),
                grant_id: row.try_get("id")?,
            },
        )))
    }

    // ----- connectors (sealed credentials) -----------------------------------------------------

    /// Creates a connector; `secret` (e.g. a JSON document of credentials) is sealed with the
    /// vault before it is written and is never returned by [`Store::list_connectors`].
    #[allow(clippy::too_many_arguments)]
    pub async fn create_connector(
        &self,
        scope: &WorkspaceScope,
        name: &str,
        provider: &str,
        settings: &serde_json::Value,
        secret: &[u8],
        vault: &Vault,
        event: AuditEvent,
    ) -> Result<Connector> {
        require(scope, Permission::ManageConnectors)?;
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(invalid("name", "must be 1 to 100 characters"));
        }
        if !matches!(provider, "aws" | "gcp" | "azure") {
            return Err(invalid("provider", "must be one of aws, gcp, azure"));
        }
        if !settings.is_object() {
            return Err(invalid("settings", "must be a JSON object"));
        }
        let id = new_id("con");
        let sealed = vault
            .seal(secret, &connector_aad(scope.workspace_id(), &id))
            .map_err(|e| StoreError::Vault(e.to_string()))?;
        let now = Utc::now();
        let mut tx = self.db().begin_workspace(scope.workspace_id()).await?;
        sqlx::query("INSERT INTO connectors (workspace_id, id, name, provider, settings, secret, created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)")
            .bind(scope.workspace_id())
            .bind(&id)
            .bind(name)
            .bind(provider)
            .bind(settings.to_string())
            .bind(&sealed)
            .bind(&event.actor_id)
            .bind(ts(now))
            .execute(&mut *tx)
            .await
            .map_err(|e| map_unique(e, "connector with this name"))?;
        let event = event
            .object("connector", &id)
            .detail(serde_json::json!({ "name": name, "provider": provider }));
        audit::append(&mut tx, scope.workspace_id(), &event, now).await?;
        tx.commit().await?;
        self.connector(scope, &id)
            .await?
            .ok_or(StoreError::NotFound { what: "connector" })
    }

    pub async fn list_connectors(&self, scope: &WorkspaceScope) -> Result<Vec<Connector>> {
        self.rows_in(
            scope,
            "SELECT * FROM connectors WHERE workspace_id = $1 ORDER BY name",
            connector_from_row,
        )
        .await
    }

    pub async fn connector(&self, scope: &WorkspaceScope, id: &str) -> Result<Option<Connector>> {
        self.row_in(
            scope,
            "SELECT * FROM connectors WHERE workspace_id = $1 AND id = $2",
            id,
            connector_from_row,
        )
        .await
    }

    /// The opened secret of a connector, for the collector. Needs [`Permission::RunScans`].
    pub async fn connector_secret(
        &self,
        scope: &WorkspaceScope,
        id: &str,
        vault: &Vault,
    ) -> Result<Vec<u8>> {
        let mut tx = self.db().begin_workspace(scope.workspace_id()).await?;
        require(scope, Permission::RunScans)?;
        let row = sqlx::query("SELECT secret FROM connectors WHERE workspace_id = $1 AND id = $2")
            .bind(scope.workspace_id())
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound { what: "connector" })?;
        let sealed: String = row.try_get("secret")?;
        vault
            .open(&sealed, &connector_aad(scope.workspace_id(), id))
            .map_err(|e| StoreError::Vault(e.to_string()))
    }

    pub async fn delete_connector(
        &self,
        scope: &WorkspaceScope,
        id: &str,
        event: AuditEvent,
    ) -> Result<()> {
        self.change_one_audited(
            scope,
            Permission::ManageConnectors,
            "DELETE FROM connectors WHERE workspace_id = $1 AND id = $2",
            id,
            ("connector", "connector"),
            event,
        )
        .await
    }

    /// Re-seals every stored secret (connector credentials, TOTP seeds, SSO client secrets and
    /// PKCE verifiers of sign-ins in flight) under the vault's
    /// current key, in one transaction. Answers how many secrets were re-sealed. Local CLI only
    /// (`rampart vault rotate-key`).
    pub async fn reseal_secrets(&self, vault: &Vault, event: AuditEvent) -> Result<u64> {
        let now = Utc::now();
        let dialect = self.db().dialect;
        let mut tx = self.db().begin_installation().await?;
        let mut count = 0u64;
        let vault_err = |e: crate::VaultError| StoreError::Vault(e.to_string());
        // Connectors workspace by workspace, each under its own scope.
        let workspaces: Vec<String> = sqlx::query("SELECT id FROM workspaces ORDER BY id")
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|r| r.try_get("id"))
            .collect::<std::result::Result<_, _>>()?;
        let mut rows = Vec::new();
        for ws in &workspaces {
            crate::db::set_workspace(&mut tx, dialect, ws).await?;
            rows.extend(
                sqlx::query(
                    "SELECT workspace_id, id, secret FROM connectors WHERE workspace_id = $1",
                )
                .bind(ws)
                .fetch_all(&mut *tx)
                .await?,
            );
        }
        for r in rows {
            let (ws, id, sealed): (String, String, String) = (
                r.try_get("workspace_id")?,
                r.try_get("id")?,
                r.try_get("secret")?,
            );
            let aad = connector_aad(&ws, &id);
            let plain = vault.open(&sealed, &aad).map_err(vault_err)?;
            let resealed = vault.seal(&plain, &aad).map_err(vault_err)?;
            crate::db::set_workspace(&mut tx, dialect, &ws).await?;
            sqlx::query("UPDATE connectors SET secret = $3 WHERE workspace_id = $1 AND id = $2")
                .bind(&ws)
                .bind(&id)
                .bind(resealed)
                .execute(&mut *tx)
                .await?;
            count += 1;
        }
        let rows = sqlx::query("SELECT id, totp_secret FROM users WHERE totp_secret IS NOT NULL")
            .fetch_all(&mut *tx)
            .await?;
        for r in rows {
            let (id, sealed): (String, String) = (r.try_get("id")?, r.try_get("totp_secret")?);
            let aad = totp_aad(&id);
            let plain = vault.open(&sealed, &aad).map_err(vault_err)?;
            let resealed = vault.seal(&plain, &aad).map_err(vault_err)?;
            sqlx::query("UPDATE users SET totp_secret = $2 WHERE id = $1")
                .bind(&id)
                .bind(resealed)
                .execute(&mut *tx)
                .await?;
            count += 1;
        }
        count += crate::sso::reseal(&mut tx, vault).await?;
        let event = event
            .object("vault", vault.current_key_id())
            .detail(serde_json::json!({ "resealed": count, "key_id": vault.current_key_id() }));
        audit::append(&mut tx, INSTALLATION_CHAIN, &event, now).await?;
        tx.commit().await?;
        Ok(count)
    }
}

impl WorkspaceStore {
    /// The workspace's audit log, newest first (needs [`Permission::ReadAudit`]).
    pub async fn audit_log(&self, filter: &AuditFilter, page: Page) -> Result<Paged<AuditEntry>> {
        require(self.scope(), Permission::ReadAudit)?;
        self.store_handle()
            .audit_page(self.scope().workspace_id(), filter, page)
            .await
    }
}

/// Refuses an action the scope's access does not allow.
pub(crate) fn require(scope: &WorkspaceScope, p: Permission) -> Result<()> {
    if scope.allows(p) {
        Ok(())
    } else {
        Err(forbidden(format!(
            "this access does not allow {}",
            p.as_str()
        )))
    }
}

/// Marks an event as coming from the scope's holder when the caller has not said.
pub fn outcome_denied(event: AuditEvent) -> AuditEvent {
    event.outcome(Outcome::Denied)
}
