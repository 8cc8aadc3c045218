//! Rampart storage: one data-access layer over the database.
//!
//! # Architecture invariant: no customer data without a workspace scope
//!
//! Customer data — assets, relationships, scans and findings — is reachable only through a
//! [`WorkspaceStore`], and a [`WorkspaceStore`] can only be made from a [`WorkspaceScope`].
//! A `WorkspaceScope` has private fields and no public constructor: the only ways to get one are
//! [`Store::member_scope`] (checks that the workspace exists **and** that the user is a member of
//! it) and [`Store::operator_scope`] (checks that the workspace exists; for the local CLI, which
//! already holds the database file). Both answer `None` alike for a workspace that does not exist
//! and for one the user may not see, so callers cannot tell the two apart (the server maps both
//! to 404).
//!
//! Every SQL statement that touches a customer table binds the scope's workspace id as `$1` and
//! filters with `workspace_id = $1`; rows of customer tables reference each other only through
//! composite foreign keys that include `workspace_id`. A unit test checks the SQL text of every
//! customer-data statement for the `workspace_id = $1` predicate, and `tests/scope.rs` checks that
//! one workspace's handle never returns another's rows.
//!
//! A scope cannot be forged outside this crate:
//!
//! ```compile_fail
//! let scope = rampart_store::WorkspaceScope {
//!     workspace_id: "ws_someone_else".into(),
//!     slug: "victim".into(),
//!     access: rampart_store::Access::Local,
//! };
//! ```
//!
//! # Backends
//!
//! [`Store`] is a cheap-to-clone handle over one database, reached through `sqlx::Any` so that
//! one implementation serves both backends (query text uses `$N` placeholders, TEXT timestamps
//! and JSON, BIGINT/INTEGER flags):
//!
//! - **SQLite** (the default): embedded, WAL, foreign keys on, busy timeout, migrations in
//!   `migrations/sqlite/` applied on open ([`Store::open_data_dir`], `sqlite://PATH` URLs).
//! - **PostgreSQL** (`postgres://…` URLs, [`Store::open_url`]): the store connects as an
//!   application role that is neither superuser nor `BYPASSRLS` and owns no table; migrations
//!   (`migrations/postgres/`) run separately as the owner role ([`Store::migrate_url`]). Every
//!   table of workspace data has row-level security forced, with a policy comparing
//!   `workspace_id` with the transaction-local setting `rampart.workspace_id`, which the store
//!   sets at the start of every transaction touching workspace data (see `db.rs`).
//!
//! # Secrets
//!
//! Passwords are stored only as argon2id PHC strings (m = 19456 KiB, t = 2, p = 1); session ids
//! are 32 random bytes handed to the caller once and stored only as their SHA-256. Neither the
//! plaintext password nor the session id appears in any error message.

pub mod audit;
mod authz;
pub mod backup;
pub mod backup_jobs;
mod cache;
pub mod cron;
mod custom_controls;
mod db;
mod exemptions;
mod identity;
pub mod jobs;
pub mod notifications;
mod password;
mod report_files;
mod saved;
mod sso;
mod stats;
pub mod totp;
mod types;
pub mod vault;

use std::path::Path;

use chrono::{DateTime, Utc};
use rampart_model::{Evaluation, Inventory, Scan, Severity, Sweep};

pub use authz::{Permission, matrix_markdown};
pub use backup_jobs::{
    BACKUP_MAX_ATTEMPTS, BackupJob, BackupJobResult, ClaimedBackup, backup_slot,
};
pub use cache::DataVersion;
pub use custom_controls::{
    CUSTOM_CONTROL_PREFIX, CustomControl, CustomControlInput, MAX_CONTROL_REQUIREMENTS,
    MAX_CONTROL_TEXT, MAX_CONTROL_TITLE, MAX_CONTROL_TYPES, MAX_CUSTOM_CONTROLS, custom_control_id,
};
pub use exemptions::{
    ExemptedCount, Exemption, MAX_BULK_EXEMPTIONS, MAX_EXEMPTION, MAX_EXEMPTION_REASON,
    validate_exemption,
};
pub use identity::*;
pub use jobs::{ClaimedJob, Heartbeat, Job, JobKind, JobState, NewJob, Reaped, Scheduled};
pub use notifications::{
    Change, Channel, ChannelInput, ChannelKind, Delivery, DeliveryAttempt, DigestCounts,
    FindingChange, JiraIssue, Purpose, Rule, RuleInput, digest_slot,
};
pub use password::{ARGON2_M_COST_KIB, ARGON2_P_COST, ARGON2_T_COST, hash_password};
pub use report_files::{MAX_REPORT_FILES, ReportFile, ReportFileInfo};
pub use saved::{MAX_QUERY_CHARS, MAX_SAVED_QUERIES, SavedQuery};
pub use sso::*;
pub use stats::WorkspaceStat;
pub use types::*;
pub use vault::{VAULT_KEY_ENV, Vault, VaultError};

/// Errors from the store. Messages never contain passwords, session ids or other secrets.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{what} already exists")]
    Conflict { what: &'static str },
    #[error("{what} not found")]
    NotFound { what: &'static str },
    #[error("invalid {field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("password hashing failed")]
    PasswordHash,
    #[error("background task failed: {0}")]
    Task(String),
    #[error("not allowed: {0}")]
    Forbidden(String),
    #[error("secret vault: {0}")]
    Vault(String),
    #[error("backup: {0}")]
    Backup(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Runs `$body` with `$b` bound to the store's database (one implementation for both
/// backends; see `db.rs`).
macro_rules! dispatch {
    ($backend:expr, $b:ident => $body:expr) => {{
        let $b = $backend;
        $body
    }};
}

/// Handle to Rampart's database. Cheap to clone; share one per process.
#[derive(Clone)]
pub struct Store {
    backend: db::DbBackend,
    timeouts: SessionTimeouts,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Store({})", self.backend_name())
    }
}

/// The role a PostgreSQL URL connects as (`postgres://ROLE:PASSWORD@HOST/DB`), percent-decoded;
/// `None` when the URL names none.
pub fn database_url_user(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?']).next()?;
    let (userinfo, _) = authority.rsplit_once('@')?;
    let user = userinfo.split(':').next()?;
    let user = percent_encoding::percent_decode_str(user)
        .decode_utf8()
        .ok()?
        .into_owned();
    (!user.is_empty()).then_some(user)
}

/// Whether a database URL names PostgreSQL (`postgres://` or `postgresql://`).
pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// File name of the SQLite database inside a data directory.
pub const SQLITE_FILE_NAME: &str = "rampart.db";

impl Store {
    /// Opens (creating if missing) the SQLite database at `path` and applies pending migrations.
    pub async fn open_sqlite(path: &Path) -> Result<Store> {
        let store = Store::open_sqlite_unmigrated(path).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Opens (creating if missing) the SQLite database at `path` without migrating it.
    pub async fn open_sqlite_unmigrated(path: &Path) -> Result<Store> {
        Ok(Store {
            backend: db::DbBackend::open_sqlite(path).await?,
            timeouts: SessionTimeouts::default(),
        })
    }

    /// Opens the database a URL names:
    ///
    /// - `sqlite://PATH` or `sqlite:PATH`: the SQLite file at `PATH` (created if missing),
    ///   migrated;
    /// - `postgres://…` / `postgresql://…`: PostgreSQL, connecting as the **application role**
    ///   (not superuser, not `BYPASSRLS`, owning no table). Its migrations are not run here (the
    ///   application role may not change the schema): run [`Store::migrate_url`] with the owner
    ///   role first. Opening fails when the schema is not current.
    pub async fn open_url(url: &str) -> Result<Store> {
        if is_postgres_url(url) {
            let store = Store {
                backend: db::DbBackend::open_postgres(url).await?,
                timeouts: SessionTimeouts::default(),
            };
            store.migrate().await?;
            Ok(store)
        } else if let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            Store::open_sqlite(Path::new(path)).await
        } else {
            Err(StoreError::Invalid {
                field: "database URL",
                message: "must start with sqlite://, postgres:// or postgresql://".into(),
            })
        }
    }

    /// Applies the PostgreSQL migrations as the **owner role** (`owner_url`, which owns every
    /// table) and grants the application role `app_role` the privileges the store needs
    /// (including none to change or delete audit entries). Idempotent. For SQLite URLs this opens
    /// and migrates the file.
    pub async fn migrate_url(owner_url: &str, app_role: &str) -> Result<()> {
        if is_postgres_url(owner_url) {
            db::DbBackend::migrate_postgres(owner_url, app_role).await
        } else {
            Store::open_url(owner_url).await?.close().await;
            Ok(())
        }
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn backend_name(&self) -> &'static str {
        match self.backend.dialect {
            db::Dialect::Sqlite => "sqlite",
            db::Dialect::Postgres => "postgres",
        }
    }

    /// The same store with other session lifetimes.
    pub fn with_session_timeouts(mut self, timeouts: SessionTimeouts) -> Store {
        self.timeouts = timeouts;
        self
    }

    pub fn session_timeouts(&self) -> SessionTimeouts {
        self.timeouts
    }

    pub(crate) fn db(&self) -> &db::DbBackend {
        &self.backend
    }

    /// Opens `DATA_DIR/rampart.db` (creating the directory if needed) and migrates it.
    pub async fn open_data_dir(data_dir: &Path) -> Result<Store> {
        std::fs::create_dir_all(data_dir).map_err(|e| StoreError::Invalid {
            field: "data directory",
            message: format!("{}: {e}", data_dir.display()),
        })?;
        Store::open_sqlite(&data_dir.join(SQLITE_FILE_NAME)).await
    }

    /// Applies pending migrations (idempotent). On PostgreSQL, where the application role may
    /// not change the schema, checks that every migration is applied instead.
    pub async fn migrate(&self) -> Result<()> {
        dispatch!(&self.backend, b => b.migrate().await)
    }

    /// Names of the migrations applied so far, oldest first.
    pub async fn applied_migrations(&self) -> Result<Vec<String>> {
        dispatch!(&self.backend, b => b.applied_migrations().await)
    }

    /// Closes every pooled connection (checkpointing the WAL for SQLite).
    pub async fn close(&self) {
        dispatch!(&self.backend, b => b.close().await)
    }

    // ----- workspaces and scopes -------------------------------------------------------------

    /// Creates a workspace. `slug` is 1–63 characters of `a-z0-9-`, starting with a letter or
    /// digit; it is unique.
    pub async fn create_workspace(&self, slug: &str, name: &str) -> Result<Workspace> {
        validate_slug(slug)?;
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(StoreError::Invalid {
                field: "workspace name",
                message: "must be 1 to 200 characters".into(),
            });
        }
        dispatch!(&self.backend, b => b.create_workspace(slug, name, Utc::now()).await)
    }

    /// The workspace with this slug, if it exists. Workspace metadata is not customer data.
    pub async fn workspace_by_slug(&self, slug: &str) -> Result<Option<Workspace>> {
        dispatch!(&self.backend, b => b.workspace_by_slug(slug).await)
    }

    /// Grants a scope over the workspace `slug` to `user_id`: `None` when the workspace does not
    /// exist **or** the user is not a member (deliberately indistinguishable).
    pub async fn member_scope(&self, slug: &str, user_id: &str) -> Result<Option<WorkspaceScope>> {
        dispatch!(&self.backend, b => b.member_scope(slug, user_id).await)
    }

    /// Grants an operator scope over the workspace `slug` (`None` when it does not exist).
    ///
    /// For the local CLI (`rampart demo`, `rampart import`), which runs with the database file in
    /// hand; never reachable from the HTTP API.
    pub async fn operator_scope(&self, slug: &str) -> Result<Option<WorkspaceScope>> {
        Ok(self
            .workspace_by_slug(slug)
            .await?
            .map(|w| WorkspaceScope::new(w.id, w.slug, Access::Local)))
    }

    /// The data-access handle for customer data of the scope's workspace.
    pub fn scoped(&self, scope: &WorkspaceScope) -> WorkspaceStore {
        WorkspaceStore {
            backend: self.backend.clone(),
            scope: scope.clone(),
        }
    }

    /// Adds (or changes the role of) a member of the scope's workspace.
    pub async fn set_membership(
        &self,
        scope: &WorkspaceScope,
        user_id: &str,
        role: Role,
    ) -> Result<()> {
        dispatch!(&self.backend, b => b.set_membership(scope, user_id, role, Utc::now()).await)
    }

    /// The workspaces a user is a member of, with the user's role, ordered by slug.
    pub async fn workspaces_of_user(&self, user_id: &str) -> Result<Vec<(Workspace, Role)>> {
        dispatch!(&self.backend, b => b.workspaces_of_user(user_id).await)
    }

    // ----- users and passwords -----------------------------------------------------------------

    /// Creates a user; the password is hashed with argon2id and only the hash is stored.
    pub async fn create_user(&self, email: &str, password: &str) -> Result<User> {
        let email = normalize_email(email)?;
        password::check_policy(password)?;
        let hash = password::hash_blocking(password.to_owned()).await?;
        dispatch!(&self.backend, b => b.create_user(&email, &hash, Utc::now()).await)
    }

    /// Replaces a user's password and revokes all of the user's sessions.
    pub async fn set_password(&self, user_id: &str, password: &str) -> Result<()> {
        password::check_policy(password)?;
        let hash = password::hash_blocking(password.to_owned()).await?;
        dispatch!(&self.backend, b => b.set_password(user_id, &hash, Utc::now()).await)
    }

    pub async fn user(&self, user_id: &str) -> Result<Option<User>> {
        dispatch!(&self.backend, b => b.user(user_id).await)
    }

    pub async fn user_by_email(&self, email: &str) -> Result<Option<User>> {
        let Ok(email) = normalize_email(email) else {
            return Ok(None);
        };
        dispatch!(&self.backend, b => b.user_by_email(&email).await)
    }

    /// Checks an email and password. `None` for an unknown user and for a wrong password alike;
    /// an unknown user still costs one argon2id verification so timing does not tell them apart.
    pub async fn verify_password(&self, email: &str, password: &str) -> Result<Option<User>> {
        let found = match normalize_email(email) {
            Ok(email) => dispatch!(&self.backend, b => b.user_with_hash(&email).await)?,
            Err(_) => None,
        };
        let (user, hash) = match found {
            Some((user, hash)) => (Some(user), Some(hash)),
            None => (None, None),
        };
        let ok = password::verify_blocking(password.to_owned(), hash).await?;
        Ok(if ok { user } else { None })
    }

    // ----- sessions ----------------------------------------------------------------------------

    /// Starts a session for `user_id` now. See [`Store::create_session_at`].
    pub async fn create_session(&self, user_id: &str) -> Result<NewSession> {
        self.create_session_at(user_id, Utc::now()).await
    }

    /// Starts a full (not MFA-pending) session. See [`Store::create_session_with`].
    pub async fn create_session_at(&self, user_id: &str, now: DateTime<Utc>) -> Result<NewSession> {
        self.create_session_with(user_id, &SessionOptions::default(), now)
            .await
    }

    /// Starts a session: a fresh random 32-byte id (returned once, stored only as SHA-256) and a
    /// fresh CSRF token; expires after the absolute timeout.
    pub async fn create_session_with(
        &self,
        user_id: &str,
        options: &SessionOptions,
        now: DateTime<Utc>,
    ) -> Result<NewSession> {
        let token = random_token();
        let csrf_token = csrf_token_of(&token);
        let expires_at = now + self.timeouts.absolute;
        let id_hash = session_id_hash(&token);
        // Nothing of the CSRF token is stored: it is derived from the session id each time.
        dispatch!(&self.backend, b => b.create_session(&id_hash, user_id, "", now, expires_at, options).await)?;
        Ok(NewSession {
            token,
            csrf_token,
            expires_at,
        })
    }

    /// Looks up a live session by its id (the cookie value) now. See [`Store::session_at`].
    pub async fn session(&self, token: &str) -> Result<Option<Session>> {
        self.session_at(token, Utc::now()).await
    }

    /// Looks up a session by its id. A session idle for longer than the idle timeout or past
    /// its absolute expiry is deleted and `None` is returned; otherwise its last-seen time is
    /// refreshed.
    pub async fn session_at(&self, token: &str, now: DateTime<Utc>) -> Result<Option<Session>> {
        if token.is_empty() || token.len() > 128 {
            return Ok(None);
        }
        let id_hash = session_id_hash(token);
        let session =
            dispatch!(&self.backend, b => b.session(&id_hash, now, self.timeouts.idle).await)?;
        Ok(session.map(|mut s| {
            s.csrf_token = csrf_token_of(token);
            s
        }))
    }

    /// Ends a session (logout). Unknown ids are ignored.
    pub async fn delete_session(&self, token: &str) -> Result<()> {
        let id_hash = session_id_hash(token);
        dispatch!(&self.backend, b => b.delete_session(&id_hash).await)
    }

    /// Ends every session of a user.
    pub async fn delete_user_sessions(&self, user_id: &str) -> Result<u64> {
        dispatch!(&self.backend, b => b.delete_user_sessions(user_id).await)
    }

    /// Deletes expired sessions; returns how many.
    pub async fn purge_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64> {
        dispatch!(&self.backend, b => b.purge_expired_sessions(now, self.timeouts.idle).await)
    }
}

/// The data-access handle for one workspace's customer data (assets, relationships, scans,
/// findings). Obtainable only through [`Store::scoped`] with a [`WorkspaceScope`]; every query it
/// runs is restricted to that workspace.
#[derive(Clone)]
pub struct WorkspaceStore {
    backend: db::DbBackend,
    scope: WorkspaceScope,
}

impl std::fmt::Debug for WorkspaceStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkspaceStore")
            .field("scope", &self.scope)
            .finish()
    }
}

impl WorkspaceStore {
    pub fn scope(&self) -> &WorkspaceScope {
        &self.scope
    }

    pub(crate) fn store_handle(&self) -> Store {
        Store {
            backend: self.backend.clone(),
            timeouts: SessionTimeouts::default(),
        }
    }

    /// Records an import-and-evaluate run now. See [`WorkspaceStore::record_scan_at`].
    pub async fn record_scan(
        &self,
        source: &str,
        inventory: &Inventory,
        evaluations: &[Evaluation],
        severity_of: impl Fn(&str) -> Severity,
    ) -> Result<Scan> {
        self.record_scan_at(source, inventory, evaluations, severity_of, Utc::now())
            .await
    }

    /// Records an import-and-evaluate run in one transaction:
    ///
    /// - assets are upserted (`first_seen` kept from earlier imports, everything else updated,
    ///   `last_seen` set to the later of the stored and the imported value);
    /// - the outgoing relationships of every imported asset are replaced by the inventory's;
    /// - findings are upserted under their deterministic id
    ///   ([`rampart_model::finding_id`]): `first_seen` kept, `last_seen` = `now`; a finding that
    ///   was failing and no longer fails gets `resolved_at` = `now`, one that fails again has it
    ///   cleared;
    /// - a succeeded scan row with the counts is inserted.
    ///
    /// `severity_of` gives the severity of a control id. If anything fails the transaction is
    /// rolled back and the database is unchanged.
    pub async fn record_scan_at(
        &self,
        source: &str,
        inventory: &Inventory,
        evaluations: &[Evaluation],
        severity_of: impl Fn(&str) -> Severity,
        now: DateTime<Utc>,
    ) -> Result<Scan> {
        let id = format!("scn_{}", uuid::Uuid::new_v4().simple());
        self.record_scan_as(&id, source, inventory, &[], evaluations, severity_of, now)
            .await
    }

    /// Records a scan like [`WorkspaceStore::record_scan_at`] that also says what it listed
    /// completely: stored assets under one of `sweeps` that `inventory` lacks are marked gone
    /// (they leave the inventory, lists and graph; their findings stop applying, a failing one
    /// is resolved), while assets outside every sweep (their listing failed) are kept as they
    /// were. An asset seen again is present again.
    pub async fn record_swept_scan_at(
        &self,
        source: &str,
        inventory: &Inventory,
        sweeps: &[Sweep],
        evaluations: &[Evaluation],
        severity_of: impl Fn(&str) -> Severity,
        now: DateTime<Utc>,
    ) -> Result<Scan> {
        let id = format!("scn_{}", uuid::Uuid::new_v4().simple());
        self.record_scan_as(
            &id,
            source,
            inventory,
            sweeps,
            evaluations,
            severity_of,
            now,
        )
        .await
    }

    /// The versions an asset had before later scans changed its configuration or tags, newest
    /// first, at most `limit` (the current version is the asset itself).
    pub async fn asset_versions(&self, asset_id: &str, limit: u32) -> Result<Vec<AssetVersion>> {
        dispatch!(&self.backend, b => b.asset_versions(&self.scope, asset_id, limit.min(MAX_PAGE_SIZE)).await)
    }

    /// When the asset was found gone: `Some(None)` while it exists, `None` when this workspace
    /// has no such asset.
    pub async fn asset_gone_at(&self, asset_id: &str) -> Result<Option<Option<DateTime<Utc>>>> {
        dispatch!(&self.backend, b => b.asset_gone_at(&self.scope, asset_id).await)
    }

    /// Records the scan of a queued job under an id derived from the job's, once: when that
    /// scan is already recorded (the job's earlier attempt recorded it, then its worker died
    /// before marking the job done) the recorded scan is answered and nothing is written.
    /// `sweeps` as in [`WorkspaceStore::record_swept_scan_at`].
    #[allow(clippy::too_many_arguments)]
    pub async fn record_job_scan(
        &self,
        job_id: &str,
        source: &str,
        inventory: &Inventory,
        sweeps: &[Sweep],
        evaluations: &[Evaluation],
        severity_of: impl Fn(&str) -> Severity,
        now: DateTime<Utc>,
    ) -> Result<(Scan, bool)> {
        let id = format!("scn_{}", job_id.trim_start_matches("job_"));
        if let Some(scan) = self.scan(&id).await? {
            return Ok((scan, false));
        }
        let scan = self
            .record_scan_as(
                &id,
                source,
                inventory,
                sweeps,
                evaluations,
                severity_of,
                now,
            )
            .await?;
        Ok((scan, true))
    }

    #[allow(clippy::too_many_arguments)]
    async fn record_scan_as(
        &self,
        id: &str,
        source: &str,
        inventory: &Inventory,
        sweeps: &[Sweep],
        evaluations: &[Evaluation],
        severity_of: impl Fn(&str) -> Severity,
        now: DateTime<Utc>,
    ) -> Result<Scan> {
        let mut pass = 0u64;
        let mut fail = 0u64;
        let mut error = 0u64;
        for e in evaluations {
            match e.status {
                rampart_model::FindingStatus::Pass => pass += 1,
                rampart_model::FindingStatus::Fail => fail += 1,
                rampart_model::FindingStatus::Error => error += 1,
                rampart_model::FindingStatus::NotApplicable => {}
            }
        }
        let scan = Scan {
            id: id.to_owned(),
            source: source.to_owned(),
            status: rampart_model::ScanStatus::Succeeded,
            started_at: now,
            finished_at: Some(now),
            asset_count: inventory.assets.len() as u64,
            pass_count: pass,
            fail_count: fail,
            error_count: error,
            message: None,
            gone_count: 0,
        };
        let severities: Vec<Severity> = evaluations
            .iter()
            .map(|e| severity_of(&e.control_id))
            .collect();
        let mut scan = scan;
        scan.gone_count = dispatch!(&self.backend, b => b.record_scan(&self.scope, &scan, inventory, sweeps, evaluations, &severities).await)?;
        Ok(scan)
    }

    /// Assets matching `filter`, ordered by type, name and id.
    pub async fn list_assets(
        &self,
        filter: &AssetFilter,
        page: Page,
    ) -> Result<Paged<rampart_model::Asset>> {
        // The count is memoized per data version (`cache.rs`); the page itself is always read.
        let b = &self.backend;
        let total = b
            .memoized(&self.scope, format!("asset count {filter:?}"), || {
                b.count_assets(&self.scope, filter)
            })
            .await?;
        b.list_assets(&self.scope, filter, page, Some(total)).await
    }

    /// The next `limit` assets after the (type, name, id) of the last one read, in the list's
    /// order and without a count: keyset batches over a whole filtered inventory.
    pub async fn assets_after(
        &self,
        filter: &AssetFilter,
        after: Option<&(String, String, String)>,
        limit: u32,
    ) -> Result<Vec<rampart_model::Asset>> {
        dispatch!(&self.backend, b => b.assets_after(&self.scope, filter, after, limit).await)
    }

    /// How many assets meet `filter` (a list's total without reading the list).
    pub async fn count_assets(&self, filter: &AssetFilter) -> Result<u64> {
        let b = &self.backend;
        b.memoized(&self.scope, format!("asset count {filter:?}"), || {
            b.count_assets(&self.scope, filter)
        })
        .await
    }

    /// One asset by Rampart asset id; `None` when it is not in this workspace.
    pub async fn asset(&self, asset_id: &str) -> Result<Option<rampart_model::Asset>> {
        dispatch!(&self.backend, b => b.asset(&self.scope, asset_id).await)
    }

    /// Asset counts per provider, account, region and type under `filter` (each dimension
    /// counted under the other fields only), at most [`FACET_LIMIT`] values each.
    /// Memoized per data version of the workspace (`cache.rs`).
    pub async fn asset_facets(&self, filter: &AssetFilter) -> Result<AssetFacets> {
        let b = &self.backend;
        b.memoized(&self.scope, format!("facets {filter:?}"), || {
            b.asset_facets(&self.scope, filter)
        })
        .await
    }

    /// The assets with these ids that are in this workspace (unknown ids are skipped), read in
    /// one transaction; for exports that need whole assets for a page of findings.
    pub async fn assets_by_ids(&self, asset_ids: &[String]) -> Result<Vec<rampart_model::Asset>> {
        dispatch!(&self.backend, b => b.assets_by_ids(&self.scope, asset_ids).await)
    }

    /// Relationships from or to an asset (at most [`MAX_PAGE_SIZE`]).
    /// The workspace's whole inventory (every asset and relationship), e.g. to build its graph.
    pub async fn inventory(&self) -> Result<Inventory> {
        dispatch!(&self.backend, b => b.inventory(&self.scope).await)
    }

    pub async fn relationships_of(&self, asset_id: &str) -> Result<Vec<RelatedAsset>> {
        dispatch!(&self.backend, b => b.relationships_of(&self.scope, asset_id).await)
    }

    /// Findings matching `filter` grouped by control, asset or severity (groups with the most
    /// failing findings first), one page of groups.
    pub async fn finding_groups(
        &self,
        filter: &FindingFilter,
        by: FindingGrouping,
        page: Page,
    ) -> Result<Paged<FindingGroup>> {
        dispatch!(&self.backend, b => b.finding_groups(&self.scope, filter, by, page).await)
    }

    /// Findings matching `filter`, most severe first, then by control, then in the order their
    /// assets were first stored.
    pub async fn list_findings(
        &self,
        filter: &FindingFilter,
        page: Page,
    ) -> Result<Paged<FindingRecord>> {
        let b = &self.backend;
        let total = b
            .memoized(&self.scope, format!("finding count {filter:?}"), || {
                b.count_findings(&self.scope, filter)
            })
            .await?;
        b.list_findings(&self.scope, filter, page, Some(total))
            .await
    }

    /// The next `limit` findings (at most [`MAX_PAGE_SIZE`]) after `after`, in the order of
    /// [`WorkspaceStore::list_findings`]: keyset paging for exports of any size.
    pub async fn findings_after(
        &self,
        filter: &FindingFilter,
        after: Option<&FindingCursor>,
        limit: u32,
    ) -> Result<Vec<FindingRecord>> {
        dispatch!(&self.backend, b => b.findings_after(&self.scope, filter, after, limit).await)
    }

    /// One finding by id; `None` when it is not in this workspace.
    pub async fn finding(&self, finding_id: &str) -> Result<Option<FindingRecord>> {
        dispatch!(&self.backend, b => b.finding(&self.scope, finding_id).await)
    }

    /// Number of findings per (status, severity).
    pub async fn finding_counts(&self) -> Result<Vec<FindingCount>> {
        let b = &self.backend;
        b.memoized(&self.scope, "finding counts".into(), || {
            b.finding_counts(&self.scope)
        })
        .await
    }

    /// Number of findings per (control, status), for control results and framework scores.
    pub async fn control_counts(&self) -> Result<Vec<ControlCount>> {
        let b = &self.backend;
        b.memoized(&self.scope, "control counts".into(), || {
            b.control_counts(&self.scope)
        })
        .await
    }

    /// Scans, newest first.
    pub async fn list_scans(&self, page: Page) -> Result<Paged<Scan>> {
        dispatch!(&self.backend, b => b.list_scans(&self.scope, page).await)
    }

    /// The newest scan, if any.
    /// One scan by id.
    pub async fn scan(&self, id: &str) -> Result<Option<Scan>> {
        dispatch!(&self.backend, b => b.scan(&self.scope, id).await)
    }

    pub async fn latest_scan(&self) -> Result<Option<Scan>> {
        Ok(self
            .list_scans(Page::new(1, 0))
            .await?
            .items
            .into_iter()
            .next())
    }
}

// ----- helpers ---------------------------------------------------------------------------------

pub(crate) fn validate_slug(slug: &str) -> Result<()> {
    let ok = !slug.is_empty()
        && slug.len() <= 63
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-');
    if ok {
        Ok(())
    } else {
        Err(StoreError::Invalid {
            field: "workspace slug",
            message: "must be 1 to 63 characters of a-z, 0-9 and '-', not starting with '-'".into(),
        })
    }
}

pub(crate) fn normalize_email(email: &str) -> Result<String> {
    let email = email.trim().to_lowercase();
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && !domain.is_empty() && !domain.contains('@')
        })
        && !email.chars().any(char::is_whitespace);
    if valid {
        Ok(email)
    } else {
        Err(StoreError::Invalid {
            field: "email",
            message: "must look like name@domain".into(),
        })
    }
}

/// 32 random bytes from the OS, URL-safe base64 without padding (43 characters).
pub(crate) fn random_token() -> String {
    use base64::Engine as _;
    use rand::RngCore as _;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The CSRF token of a session: SHA-256 of a fixed label and the session id, base64url. Only
/// the holder of the session id can compute it, and the database holds neither (the session id
/// only as its own SHA-256, which does not give this one).
pub fn csrf_token_of(session_token: &str) -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    let mut h = sha2::Sha256::new();
    h.update(b"rampart session csrf token\0");
    h.update(session_token.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(h.finalize())
}

/// Hex SHA-256 of a session id: the only form in which session ids are stored.
pub fn session_id_hash(token: &str) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert!(validate_slug("demo").is_ok());
        assert!(validate_slug("acme-prod-1").is_ok());
        assert!(validate_slug("").is_err());
        assert!(validate_slug("-x").is_err());
        assert!(validate_slug("Acme").is_err());
        assert!(validate_slug("a/b").is_err());
    }

    #[test]
    fn emails() {
        assert_eq!(
            normalize_email(" Admin@Rampart.Local ").ok().as_deref(),
            Some("admin@rampart.local")
        );
        assert!(normalize_email("nobody").is_err());
        assert!(normalize_email("a@b@c").is_err());
        assert!(normalize_email("a b@c").is_err());
    }

    #[test]
    fn database_url_users() {
        assert_eq!(
            database_url_user("postgres://rampart_app:s%40cret@db:5432/rampart").as_deref(),
            Some("rampart_app")
        );
        assert_eq!(
            database_url_user("postgresql://a%2Db@h/d?sslmode=require").as_deref(),
            Some("a-b")
        );
        assert_eq!(database_url_user("postgres://db/rampart"), None);
        assert!(is_postgres_url("postgresql://x") && !is_postgres_url("sqlite:///x"));
    }

    #[test]
    fn csrf_tokens_are_derived_per_session_and_differ_from_the_stored_hash() {
        let (a, b) = (random_token(), random_token());
        assert_eq!(csrf_token_of(&a), csrf_token_of(&a));
        assert_ne!(csrf_token_of(&a), csrf_token_of(&b));
        assert_eq!(csrf_token_of(&a).len(), 43);
        assert_ne!(csrf_token_of(&a), session_id_hash(&a));
    }

    #[test]
    fn tokens_are_random_and_long() {
        let a = random_token();
        let b = random_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(session_id_hash(&a).len(), 64);
    }
}
