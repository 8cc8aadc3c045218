//! The database layer, shared by both backends through `sqlx::Any`.
//!
//! Query text lives in [`sql`] with `$N` placeholders (SQLite accepts `$N` as a numbered
//! parameter, and the same text suits PostgreSQL). The schema of both backends uses TEXT (UTC
//! timestamps in a fixed-width RFC 3339 form, JSON), BIGINT/INTEGER and nothing else, which is
//! what the `Any` driver carries. The few dialect differences sit behind [`Dialect`].
//!
//! # Row-level security (PostgreSQL)
//!
//! Every table of workspace data has row-level security forced on PostgreSQL, with a policy that
//! compares `workspace_id` with the transaction-local setting `rampart.workspace_id`. So every
//! statement on workspace data runs inside a transaction opened by [`DbBackend::begin_workspace`]
//! (or, for the installation's audit chain, [`DbBackend::begin_installation`]; for a user's own
//! memberships and support grants, [`DbBackend::begin_user`]), which sets the setting first with
//! `set_config(…, true)`: it ends with the transaction, so a pooled connection never carries a
//! scope over. On SQLite the same transactions are opened and the settings are no-ops.

use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use rampart_model::{
    Asset, Evaluation, Finding, FindingStatus, Inventory, Provider, Relationship, ResourceType,
    Scan, ScanStatus, Severity, Sweep,
};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions, AnyRow};
use sqlx::{AnyConnection, AnyPool, Executor as _, Row as _};

use crate::audit::{ActorKind, AuditEvent, Outcome};
use crate::types::*;
use crate::{Result, StoreError};

/// Every SQL statement of the SQLite backend.
///
/// Statements in the `customer` part touch customer tables (assets, relationships, scans,
/// findings) and must be scoped: reads, updates and deletes filter on `workspace_id = $1`, inserts
/// write `$1` into `workspace_id` (checked by the `customer_queries_are_scoped` test).
pub(crate) mod sql {
    // ----- customer data: every statement binds the workspace id as $1 ---------------------

    pub const INSERT_SCAN: &str = "INSERT INTO scans (workspace_id, id, source, status, started_at, finished_at, asset_count, pass_count, fail_count, error_count, message) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";

    /// Rows per statement of `record_scan`. Each statement takes its rows as one JSON
    /// parameter (about 1 MB): binding thousands of parameters costs more than the database's
    /// JSON parser (quadratically so on SQLite), and `IN ($2, $3, …)` lists lead PostgreSQL
    /// to plans that compare every row of the workspace with every listed value.
    pub const ASSET_BATCH: usize = 1000;
    pub const FINDING_BATCH: usize = 5000;
    pub const RELATIONSHIP_BATCH: usize = 5000;

    /// The rows of JSON array parameter `$n` as a table `j` with one column, `value`: each
    /// element (read fields with `j.value ->> 0`, …), or with `text` each element as text.
    /// Joined to a table with `CROSS JOIN`, which makes SQLite loop over the parameter's rows
    /// and look each up (its planner otherwise scans the workspace's rows for each statement).
    /// PostgreSQL parses the parameter once, into `jsonb`: with `json`, every `->>` parses its
    /// element's text again, which was a sixth of the recording time (eight fields per finding).
    pub fn json_rows(dialect: super::Dialect, n: usize, text: bool) -> String {
        match (dialect, text) {
            (super::Dialect::Sqlite, _) => format!("json_each(${n}) AS j"),
            (super::Dialect::Postgres, false) => {
                format!("jsonb_array_elements(${n}::jsonb) AS j(value)")
            }
            (super::Dialect::Postgres, true) => {
                format!("json_array_elements_text(${n}::json) AS j(value)")
            }
        }
    }

    /// `id, config_hash` of stored assets: `$1` workspace, `$2` a JSON array of asset ids.
    pub fn stored_hashes(dialect: super::Dialect) -> String {
        format!(
            "SELECT a.id, a.config_hash FROM {} CROSS JOIN assets a \
             WHERE a.workspace_id = $1 AND a.id = j.value",
            json_rows(dialect, 2, true)
        )
    }

    /// `id, seq` of stored assets: `$1` workspace, `$2` a JSON array of asset ids.
    pub fn stored_seqs(dialect: super::Dialect) -> String {
        format!(
            "SELECT a.id, a.seq FROM {} CROSS JOIN assets a \
             WHERE a.workspace_id = $1 AND a.id = j.value",
            json_rows(dialect, 2, true)
        )
    }

    /// Copies the stored version of assets into `asset_changes` under scan `$2` at `$3`: `$1`
    /// workspace, `$4` a JSON array of asset ids.
    pub fn keep_previous_versions(dialect: super::Dialect) -> String {
        format!(
            "INSERT INTO asset_changes (workspace_id, asset_id, scan_id, changed_at, previous_config, previous_tags) \
             SELECT $1, a.id, $2, $3, a.config, a.tags FROM {} CROSS JOIN assets a \
             WHERE a.workspace_id = $1 AND a.id = j.value \
             ON CONFLICT (workspace_id, asset_id, scan_id) DO NOTHING",
            json_rows(dialect, 4, true)
        )
    }

    /// The sequence number a new asset of the workspace gets on SQLite (see [`upsert_assets`]).
    pub const NEXT_ASSET_SEQ: &str =
        "SELECT COALESCE(MAX(seq), 0) + 1 AS n FROM assets WHERE workspace_id = $1";

    pub const ASSET_CHANGES: &str = "SELECT scan_id, changed_at, previous_config, previous_tags FROM asset_changes \
         WHERE workspace_id = $1 AND asset_id = $2 ORDER BY changed_at DESC, scan_id DESC LIMIT $3";

    /// Upserts assets seen by scan `$2`: `$1` workspace, `$3` a JSON array of rows, each `[id,
    /// provider, account, region, type, native id, name, tags, config, first seen, last seen,
    /// config hash]` (tags and config as JSON text). An asset seen again is no longer gone.
    ///
    /// A new asset gets its sequence number (`seq`, which orders the findings indexes): on
    /// PostgreSQL from the column's sequence, on SQLite `$4` plus its place in the array (`$4`
    /// being one more than the workspace's highest, read in the same write transaction).
    /// An asset seen again keeps its number. Returns `id, seq` of every row.
    pub fn upsert_assets(dialect: super::Dialect) -> String {
        let (seq_column, seq_value) = match dialect {
            super::Dialect::Sqlite => (", seq", ", $4 + j.key"),
            super::Dialect::Postgres => ("", ""),
        };
        format!(
            "INSERT INTO assets (workspace_id, id, provider, account, region, type, native_id, name, tags, config, first_seen, last_seen, config_hash, last_scan_id{seq_column}) \
             SELECT $1, j.value ->> 0, j.value ->> 1, j.value ->> 2, j.value ->> 3, j.value ->> 4, j.value ->> 5, \
               j.value ->> 6, j.value ->> 7, j.value ->> 8, j.value ->> 9, j.value ->> 10, j.value ->> 11, $2{seq_value} \
             FROM {} WHERE true \
             ON CONFLICT (workspace_id, id) DO UPDATE SET \
               provider = excluded.provider, account = excluded.account, region = excluded.region, \
               type = excluded.type, native_id = excluded.native_id, name = excluded.name, \
               tags = excluded.tags, config = excluded.config, \
               first_seen = CASE WHEN excluded.first_seen < assets.first_seen THEN excluded.first_seen ELSE assets.first_seen END, \
               last_seen = CASE WHEN excluded.last_seen > assets.last_seen THEN excluded.last_seen ELSE assets.last_seen END, \
               config_hash = excluded.config_hash, \
               last_scan_id = excluded.last_scan_id, gone_at = NULL, gone_scan_id = NULL \
             WHERE assets.workspace_id = $1 \
             RETURNING id, seq",
            json_rows(dialect, 3, false)
        )
    }

    /// Marks gone the assets under one sweep that scan `$3` did not see: `$2` time, `$4`
    /// provider, `$5` account, `$6` type, and with `regional` `$7` region.
    pub fn mark_gone(regional: bool) -> String {
        format!(
            "UPDATE assets SET gone_at = $2, gone_scan_id = $3 \
             WHERE workspace_id = $1 AND gone_at IS NULL AND provider = $4 AND account = $5 AND type = $6{} \
               AND (last_scan_id IS NULL OR last_scan_id <> $3)",
            if regional { " AND region = $7" } else { "" }
        )
    }

    /// The findings of the assets scan `$3` found gone no longer apply: a failing one is
    /// resolved by that scan (`$2` time, `$4` reason).
    pub const GONE_FINDINGS: &str = "UPDATE findings SET status = 'not_applicable', reason = $4, \
           last_seen = $2, last_scan_id = $3, \
           resolved_at = CASE WHEN status = 'fail' THEN $2 ELSE resolved_at END, \
           change_kind = CASE WHEN status = 'fail' THEN 'resolved' ELSE change_kind END, \
           change_scan_id = CASE WHEN status = 'fail' THEN $3 ELSE change_scan_id END \
         WHERE workspace_id = $1 AND asset_seq IN \
           (SELECT seq FROM assets WHERE workspace_id = $1 AND gone_scan_id = $3)";

    pub const SET_GONE_COUNT: &str = "UPDATE scans SET gone_count = \
           (SELECT COUNT(*) FROM assets WHERE workspace_id = $1 AND gone_scan_id = $2) \
         WHERE workspace_id = $1 AND id = $2";

    /// Deletes the outgoing relationships of assets: `$1` workspace, `$2` a JSON array of
    /// asset ids.
    pub fn delete_outgoing_relationships(dialect: super::Dialect) -> String {
        format!(
            "DELETE FROM relationships WHERE workspace_id = $1 AND from_id IN (SELECT j.value FROM {})",
            json_rows(dialect, 2, true)
        )
    }

    /// Inserts relationships: `$1` workspace, `$2` a JSON array of `[from, to, kind]` rows.
    pub fn insert_relationships(dialect: super::Dialect) -> String {
        format!(
            "INSERT INTO relationships (workspace_id, from_id, to_id, kind) \
             SELECT $1, j.value ->> 0, j.value ->> 1, j.value ->> 2 FROM {} WHERE true \
             ON CONFLICT (workspace_id, from_id, to_id, kind) DO NOTHING",
            json_rows(dialect, 2, false)
        )
    }

    /// Upserts findings with their lifecycle: `$1` workspace, `$2` scan time, `$3` scan id,
    /// `$4` a JSON array of rows, each `[id, control, asset, status, severity, severity rank,
    /// reason, change, asset seq]` (change: `"new"` for a failing finding, else null; used when
    /// the row is inserted). One parameter per statement whatever the row count: binding
    /// thousands of parameters costs more than the database's JSON parser (quadratically so on
    /// SQLite).
    ///
    /// `change_kind`/`change_scan_id` record the last status change and its scan (read by the
    /// scan's notify job): failing for the first time is `new`, failing again after having been
    /// resolved is `regressed`, no longer failing is `resolved`.
    pub fn upsert_findings(dialect: super::Dialect) -> String {
        let rows = json_rows(dialect, 4, false);
        format!(
            "INSERT INTO findings (workspace_id, id, control_id, asset_id, asset_seq, status, severity, severity_rank, reason, change_kind, first_seen, last_seen, resolved_at, last_scan_id, change_scan_id) \
             SELECT $1, j.value ->> 0, j.value ->> 1, j.value ->> 2, CAST(j.value ->> 8 AS BIGINT), \
               j.value ->> 3, j.value ->> 4, \
               CAST(j.value ->> 5 AS BIGINT), j.value ->> 6, j.value ->> 7, $2, $2, NULL, $3, $3 \
             FROM {rows} WHERE true \
             ON CONFLICT (workspace_id, id) DO UPDATE SET \
               status = excluded.status, severity = excluded.severity, severity_rank = excluded.severity_rank, \
               reason = excluded.reason, last_seen = excluded.last_seen, last_scan_id = excluded.last_scan_id, \
               resolved_at = CASE \
                 WHEN excluded.status = 'fail' THEN NULL \
                 WHEN findings.status = 'fail' THEN excluded.last_seen \
                 ELSE findings.resolved_at END, \
               change_kind = CASE \
                 WHEN excluded.status = 'fail' AND findings.status <> 'fail' THEN \
                   CASE WHEN findings.resolved_at IS NULL THEN 'new' ELSE 'regressed' END \
                 WHEN excluded.status <> 'fail' AND findings.status = 'fail' THEN 'resolved' \
                 ELSE findings.change_kind END, \
               change_scan_id = CASE \
                 WHEN (excluded.status = 'fail') <> (findings.status = 'fail') THEN excluded.last_scan_id \
                 ELSE findings.change_scan_id END \
             WHERE findings.workspace_id = $1"
        )
    }

    // List queries are a scoped base (`… WHERE workspace_id = $1`), then `AND column = $N` for
    // each filter given (so indexes apply), then the order and `LIMIT`/`OFFSET`.

    /// Lists add `AND gone_at IS NULL` (or `IS NOT NULL` for the gone ones).
    pub const SELECT_ASSETS: &str = "SELECT id, provider, account, region, type, native_id, name, tags, config, first_seen, last_seen \
         FROM assets WHERE workspace_id = $1";
    pub const COUNT_ASSETS: &str = "SELECT COUNT(*) AS n FROM assets WHERE workspace_id = $1";
    pub const ASSETS_ORDER: &str = " ORDER BY type, name, id";

    pub const GET_ASSET: &str = "SELECT id, provider, account, region, type, native_id, name, tags, config, first_seen, last_seen \
         FROM assets WHERE workspace_id = $1 AND id = $2";

    pub const ALL_ASSETS: &str = "SELECT id, provider, account, region, type, native_id, name, tags, config, first_seen, last_seen \
         FROM assets WHERE workspace_id = $1 AND gone_at IS NULL ORDER BY id";
    pub const ALL_RELATIONSHIPS: &str = "SELECT from_id, to_id, kind FROM relationships WHERE workspace_id = $1 ORDER BY from_id, kind, to_id";

    pub const RELATIONSHIPS_OF: &str = "SELECT r.from_id, r.to_id, r.kind, o.id AS other_id, o.name AS other_name, o.type AS other_type \
         FROM relationships r \
         JOIN assets o ON o.workspace_id = r.workspace_id \
           AND o.id = CASE WHEN r.from_id = $2 THEN r.to_id ELSE r.from_id END AND o.gone_at IS NULL \
         WHERE r.workspace_id = $1 AND (r.from_id = $2 OR r.to_id = $2) \
         ORDER BY r.kind, o.type, o.name, o.id LIMIT 500";

    /// One page of findings with their asset's name and type: the page is cut from `findings`
    /// alone (along the order index) before the join, so the planner never sorts the whole
    /// workspace's findings to find the first rows (`cond` holds `f.` conditions, `limit` the
    /// LIMIT/OFFSET clause).
    pub fn select_findings_page(cond: &str, limit: &str) -> String {
        format!(
            "SELECT f.id, f.control_id, f.asset_id, f.status, f.severity, f.reason, f.first_seen, f.last_seen, f.resolved_at, f.last_scan_id, f.change_kind, \
               a.name AS asset_name, a.type AS asset_type \
             FROM (SELECT * FROM findings f WHERE f.workspace_id = $1{cond}{FINDINGS_ORDER}{limit}) f \
             JOIN assets a ON a.workspace_id = f.workspace_id AND a.id = f.asset_id{FINDINGS_ORDER}"
        )
    }
    pub const COUNT_FINDINGS: &str =
        "SELECT COUNT(*) AS n FROM findings f WHERE f.workspace_id = $1";
    /// Matches the `findings_order` / `findings_status_order` indexes: within a control, assets
    /// in the order they were first stored.
    pub const FINDINGS_ORDER: &str = " ORDER BY f.severity_rank DESC, f.control_id, f.asset_seq";

    pub const GET_FINDING: &str = "SELECT f.id, f.control_id, f.asset_id, f.status, f.severity, f.reason, f.first_seen, f.last_seen, f.resolved_at, f.last_scan_id, f.change_kind, \
           a.name AS asset_name, a.type AS asset_type \
         FROM findings f JOIN assets a ON a.workspace_id = f.workspace_id AND a.id = f.asset_id \
         WHERE f.workspace_id = $1 AND f.id = $2";

    /// Grouped by rank, which the `findings_status` index covers (no table reads).
    pub const FINDING_COUNTS: &str = "SELECT status, severity_rank, COUNT(*) AS n FROM findings \
         WHERE workspace_id = $1 GROUP BY status, severity_rank ORDER BY status, severity_rank";

    pub const CONTROL_COUNTS: &str = "SELECT control_id, status, COUNT(*) AS n FROM findings \
         WHERE workspace_id = $1 GROUP BY control_id, status ORDER BY control_id, status";

    pub const LIST_SCANS: &str = "SELECT id, source, status, started_at, finished_at, asset_count, pass_count, fail_count, error_count, message, gone_count \
         FROM scans WHERE workspace_id = $1 ORDER BY started_at DESC, id DESC LIMIT $2 OFFSET $3";

    pub const COUNT_SCANS: &str = "SELECT COUNT(*) AS n FROM scans WHERE workspace_id = $1";

    pub const ASSET_GONE_AT: &str =
        "SELECT gone_at FROM assets WHERE workspace_id = $1 AND id = $2";

    /// Every customer-data statement (generated ones at a few sizes), for the scoping test.
    #[cfg(test)]
    pub fn customer() -> Vec<String> {
        let mut all: Vec<String> = [
            INSERT_SCAN,
            SELECT_ASSETS,
            COUNT_ASSETS,
            GET_ASSET,
            ALL_ASSETS,
            ALL_RELATIONSHIPS,
            RELATIONSHIPS_OF,
            COUNT_FINDINGS,
            GET_FINDING,
            FINDING_COUNTS,
            CONTROL_COUNTS,
            LIST_SCANS,
            COUNT_SCANS,
            GONE_FINDINGS,
            SET_GONE_COUNT,
            ASSET_GONE_AT,
            NEXT_ASSET_SEQ,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for d in [super::Dialect::Sqlite, super::Dialect::Postgres] {
            all.push(upsert_assets(d));
            all.push(delete_outgoing_relationships(d));
            all.push(insert_relationships(d));
            all.push(upsert_findings(d));
            all.push(stored_hashes(d));
            all.push(stored_seqs(d));
            all.push(keep_previous_versions(d));
        }
        all.push(select_findings_page("", " LIMIT $2 OFFSET $3"));
        all.push(select_findings_page(" AND f.status = $2", " LIMIT $3"));
        all.push(ASSET_CHANGES.to_string());
        all.push(mark_gone(true));
        all.push(mark_gone(false));
        all
    }

    // ----- tenancy and identity (not customer data) -------------------------------------------

    pub const INSERT_WORKSPACE: &str =
        "INSERT INTO workspaces (id, slug, name, created_at) VALUES ($1, $2, $3, $4)";
    pub const WORKSPACE_BY_SLUG: &str =
        "SELECT id, slug, name, created_at FROM workspaces WHERE slug = $1";
    pub const MEMBER_SCOPE: &str = "SELECT w.id, w.slug, m.role FROM workspaces w \
         JOIN memberships m ON m.workspace_id = w.id WHERE w.slug = $1 AND m.user_id = $2";
    pub const UPSERT_MEMBERSHIP: &str = "INSERT INTO memberships (user_id, workspace_id, role, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (user_id, workspace_id) DO UPDATE SET role = excluded.role";
    pub const WORKSPACES_OF_USER: &str = "SELECT w.id, w.slug, w.name, w.created_at, m.role FROM workspaces w \
         JOIN memberships m ON m.workspace_id = w.id WHERE m.user_id = $1 ORDER BY w.slug";

    pub const INSERT_USER: &str = "INSERT INTO users (id, email, password_hash, created_at, password_changed_at) VALUES ($1, $2, $3, $4, $4)";
    pub const SET_PASSWORD: &str =
        "UPDATE users SET password_hash = $2, password_changed_at = $3 WHERE id = $1";
    pub const USER_BY_ID: &str =
        "SELECT id, email, created_at, password_changed_at FROM users WHERE id = $1";
    pub const USER_BY_EMAIL: &str =
        "SELECT id, email, created_at, password_changed_at FROM users WHERE email = $1";
    pub const USER_WITH_HASH: &str = "SELECT id, email, created_at, password_changed_at, password_hash FROM users WHERE email = $1";

    pub const INSERT_SESSION: &str = "INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, last_seen_at, expires_at, mfa_pending, mfa_verified, address, user_agent) VALUES ($1, $2, $3, $4, $4, $5, $6, $7, $8, $9)";
    pub const SESSION_BY_HASH: &str = "SELECT s.csrf_token, s.created_at, s.last_seen_at, s.expires_at, s.mfa_pending, s.mfa_verified, u.id, u.email, u.created_at AS user_created_at, u.password_changed_at, u.is_operator, u.totp_enabled_at \
         FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = $1";
    pub const TOUCH_SESSION: &str = "UPDATE sessions SET last_seen_at = $2 WHERE id_hash = $1";
    pub const DELETE_SESSION: &str = "DELETE FROM sessions WHERE id_hash = $1";
    pub const DELETE_USER_SESSIONS: &str = "DELETE FROM sessions WHERE user_id = $1";
    pub const PURGE_SESSIONS: &str =
        "DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at <= $2";
    pub const PURGE_LOGIN_FAILURES: &str = "DELETE FROM login_failures WHERE at <= $1";

    pub const APPLIED_MIGRATIONS: &str =
        "SELECT description FROM _sqlx_migrations WHERE success ORDER BY version";
}

static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// The SQL dialect behind a [`DbBackend`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

/// A transaction on either backend.
pub(crate) type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// Sets a transaction-local setting (PostgreSQL; a no-op on SQLite, which has no row-level
/// security). `name` is one of the fixed `rampart.*` names.
pub(crate) async fn set_local(
    conn: &mut AnyConnection,
    dialect: Dialect,
    name: &'static str,
    value: &str,
) -> Result<()> {
    if dialect == Dialect::Postgres {
        sqlx::query("SELECT set_config($1, $2, true) AS v")
            .bind(name)
            .bind(value)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Scopes the rest of the transaction to one workspace's rows.
pub(crate) async fn set_workspace(
    conn: &mut AnyConnection,
    dialect: Dialect,
    workspace_id: &str,
) -> Result<()> {
    set_local(conn, dialect, "rampart.workspace_id", workspace_id).await
}

/// A secret known only by its SHA-256 that resolves to a workspace.
#[derive(Debug, Clone, Copy)]
pub(crate) enum HashOf {
    ApiToken,
    Invitation,
}

/// The workspace an API token or invitation hash belongs to, before any scope exists: the
/// reviewed exception to row-level security. On PostgreSQL it goes through a `SECURITY DEFINER`
/// function owned by the owner role, which answers the workspace id only.
pub(crate) async fn workspace_of_hash(
    conn: &mut AnyConnection,
    dialect: Dialect,
    of: HashOf,
    hash: &str,
) -> Result<Option<String>> {
    let statement = match (dialect, of) {
        (Dialect::Postgres, HashOf::ApiToken) => "SELECT rampart_token_workspace($1) AS ws",
        (Dialect::Postgres, HashOf::Invitation) => "SELECT rampart_invitation_workspace($1) AS ws",
        (Dialect::Sqlite, HashOf::ApiToken) => {
            "SELECT workspace_id AS ws FROM api_tokens WHERE token_hash = $1"
        }
        (Dialect::Sqlite, HashOf::Invitation) => {
            "SELECT workspace_id AS ws FROM invitations WHERE token_hash = $1"
        }
    };
    let row = sqlx::query(statement)
        .bind(hash)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(match row {
        Some(r) => r.try_get::<Option<String>, _>("ws")?,
        None => None,
    })
}

/// Lets the rest of the transaction see one user's own memberships and support grants.
pub(crate) async fn set_user(
    conn: &mut AnyConnection,
    dialect: Dialect,
    user_id: &str,
) -> Result<()> {
    set_local(conn, dialect, "rampart.user_id", user_id).await
}

/// Opens the installation's audit chain for the rest of the transaction.
pub(crate) async fn set_installation(conn: &mut AnyConnection, dialect: Dialect) -> Result<()> {
    set_local(conn, dialect, "rampart.installation", "on").await
}

/// Fixed-width UTC text: text order is time order.
pub(crate) fn ts(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

fn parse_ts(s: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt(format!("timestamp {s:?}: {e}")))
}

pub(crate) fn get_ts(row: &AnyRow, col: &str) -> Result<DateTime<Utc>> {
    parse_ts(&row.try_get::<String, _>(col)?)
}

pub(crate) fn get_opt_ts(row: &AnyRow, col: &str) -> Result<Option<DateTime<Utc>>> {
    row.try_get::<Option<String>, _>(col)?
        .as_deref()
        .map(parse_ts)
        .transpose()
}

pub(crate) fn parse<T: FromStr>(what: &str, s: &str) -> Result<T>
where
    T::Err: std::fmt::Display,
{
    s.parse::<T>()
        .map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

fn get_u64(row: &AnyRow, col: &str) -> Result<u64> {
    let n: i64 = row.try_get(col)?;
    u64::try_from(n).map_err(|_| StoreError::Corrupt(format!("{col} is negative")))
}

pub(crate) fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub(crate) fn map_unique(e: sqlx::Error, what: &'static str) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict { what },
        _ => StoreError::Database(e),
    }
}

/// The filter's conditions on `assets` (bare column names), all but the facet `skip` (a facet
/// is counted under the other filters only).
fn asset_conditions<'a>(
    cond: &mut Conditions<'a>,
    filter: &'a AssetFilter,
    skip: Option<&str>,
    now: DateTime<Utc>,
) {
    for (col, value) in [
        ("type", filter.resource_type.as_deref()),
        ("provider", filter.provider.as_deref()),
        ("account", filter.account.as_deref()),
        ("region", filter.region.as_deref()),
    ] {
        if skip != Some(col) {
            cond.eq(col, value);
        }
    }
    cond.gone(filter.gone);
    if skip != Some("tag")
        && let Some((key, value)) = filter.tag.as_deref().and_then(|t| t.split_once('='))
    {
        // Tags are stored as compact JSON: the pair appears as `"key":"value"` exactly.
        let member = format!(
            "{}:{}",
            serde_json::Value::from(key),
            serde_json::Value::from(value)
        );
        let escaped = member
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        cond.bound(" AND tags LIKE {} ESCAPE '\\'", format!("%{escaped}%"));
    }
    if skip != Some("control")
        && let Some(control) = filter.failing_control.as_deref()
    {
        cond.bound(
            " AND id IN (SELECT asset_id FROM findings WHERE workspace_id = $1 AND status = 'fail' AND control_id = {})",
            control,
        );
    }
    if skip != Some("score")
        && let Some(band) = filter.score
    {
        let penalty = penalty_subquery(cond, now);
        let (above, at_most) = band.penalty_range();
        let mut range = Vec::new();
        if above.is_finite() {
            range.push(format!("q.penalty > {above}"));
        }
        if at_most.is_finite() {
            range.push(format!("q.penalty <= {at_most}"));
        }
        if band == ScoreBand::Full {
            // No row (nothing fails) or a zero penalty.
            cond.sql.push_str(&format!(
                " AND id NOT IN (SELECT q.asset_id FROM ({penalty}) q WHERE q.penalty > {at_most})"
            ));
        } else {
            cond.sql.push_str(&format!(
                " AND id IN (SELECT q.asset_id FROM ({penalty}) q WHERE {})",
                range.join(" AND ")
            ));
        }
    }
}

/// Per asset with failing, unexempted findings: `asset_id` and `penalty`, the sum over them of
/// `ln(1 / severity factor)`. Binds the current time (for exemption expiry) into `cond`.
fn penalty_subquery(cond: &mut Conditions<'_>, now: DateTime<Utc>) -> String {
    cond.binds.push(ts(now).into());
    let at = cond.binds.len() + 1;
    format!(
        "SELECT f.asset_id AS asset_id, SUM(CASE f.severity_rank \
           WHEN 5 THEN {c} WHEN 4 THEN {h} WHEN 3 THEN {m} WHEN 2 THEN {l} ELSE 0 END) AS penalty \
         FROM findings f WHERE f.workspace_id = $1 AND f.status = 'fail' \
           AND NOT EXISTS (SELECT 1 FROM finding_exemptions e WHERE e.workspace_id = f.workspace_id \
             AND e.finding_id = f.id AND e.expires_at > ${at}) \
         GROUP BY f.asset_id",
        c = (1.0f64 / 0.5).ln(),
        h = (1.0f64 / 0.7).ln(),
        m = (1.0f64 / 0.85).ln(),
        l = (1.0f64 / 0.95).ln(),
    )
}

/// The finding filter's conditions on `findings f`.
fn finding_conditions(filter: &FindingFilter) -> Conditions<'_> {
    let mut cond = Conditions::default();
    cond.eq("f.status", filter.status.map(FindingStatus::as_str));
    cond.eq("f.severity", filter.severity.map(Severity::as_str));
    cond.eq("f.control_id", filter.control_id.as_deref());
    if let Some(asset_id) = filter.asset_id.as_deref() {
        // Through the asset's sequence number, which the `findings_asset` index leads with.
        cond.bound(
            " AND f.asset_seq = (SELECT fa.seq FROM assets fa WHERE fa.workspace_id = $1 AND fa.id = {})",
            asset_id,
        );
    }
    cond
}

/// Runs a `COUNT(*) AS n` statement bound with the scope's workspace id and the conditions.
async fn count_with(
    tx: &mut Tx,
    scope: &WorkspaceScope,
    statement: &str,
    cond: &Conditions<'_>,
) -> Result<u64> {
    let mut q = sqlx::query(statement).bind(scope.workspace_id());
    for b in &cond.binds {
        q = q.bind(b.as_ref());
    }
    let n: i64 = q.fetch_one(&mut **tx).await?.try_get("n")?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Runs a list statement bound with the scope's workspace id, the conditions and a final
/// `LIMIT` value, and maps its rows.
async fn rows_with<T>(
    tx: &mut Tx,
    scope: &WorkspaceScope,
    statement: &str,
    cond: &Conditions<'_>,
    limit: u32,
    from_row: fn(&AnyRow) -> Result<T>,
) -> Result<Vec<T>> {
    let mut q = sqlx::query(statement).bind(scope.workspace_id());
    for b in &cond.binds {
        q = q.bind(b.as_ref());
    }
    let rows = q
        .bind(i64::from(limit.clamp(1, crate::MAX_PAGE_SIZE)))
        .fetch_all(&mut **tx)
        .await?;
    rows.iter().map(from_row).collect()
}

/// Whether more than [`FACET_SAMPLE`] assets meet the conditions (counting at most one more).
async fn more_than_sample(
    tx: &mut Tx,
    scope: &WorkspaceScope,
    cond: &Conditions<'_>,
) -> Result<bool> {
    let statement = format!(
        "SELECT COUNT(*) AS n FROM (SELECT 1 FROM assets WHERE workspace_id = $1{} LIMIT {}) s",
        cond.sql,
        FACET_SAMPLE + 1
    );
    Ok(count_with(tx, scope, &statement, cond).await? > FACET_SAMPLE)
}

/// Runs a facet statement (`v`, `n` columns) bound with the scope and the conditions.
async fn facet_rows(
    tx: &mut Tx,
    scope: &WorkspaceScope,
    statement: &str,
    cond: &Conditions<'_>,
) -> Result<Vec<FacetValue>> {
    let mut q = sqlx::query(statement).bind(scope.workspace_id());
    for b in &cond.binds {
        q = q.bind(b.as_ref());
    }
    let mut out = Vec::new();
    for row in q.fetch_all(&mut **tx).await? {
        out.push(FacetValue {
            value: row.try_get("v")?,
            count: u64::try_from(row.try_get::<i64, _>("n")?).unwrap_or(0),
        });
    }
    Ok(out)
}

/// The hash that tells one stored version of an asset from another (tags and configuration).
fn version_hash(tags: &str, config: &str) -> String {
    use sha2::Digest as _;
    let mut h = sha2::Sha256::new();
    h.update(tags.as_bytes());
    h.update(b"\n");
    h.update(config.as_bytes());
    hex::encode(h.finalize())
}

/// Serializes a statement's JSON parameter (`what` names it in the error).
fn to_json<T: serde::Serialize + ?Sized>(value: &T, what: &str) -> Result<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

fn severity_rank(s: Severity) -> i64 {
    i64::from(s.ocsf_id())
}

fn asset_from_row(row: &AnyRow) -> Result<Asset> {
    let tags: String = row.try_get("tags")?;
    let config: String = row.try_get("config")?;
    Ok(Asset {
        id: row.try_get("id")?,
        provider: parse::<Provider>("provider", &row.try_get::<String, _>("provider")?)?,
        account: row.try_get("account")?,
        region: row.try_get("region")?,
        resource_type: ResourceType::parse(&row.try_get::<String, _>("type")?)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        native_id: row.try_get("native_id")?,
        name: row.try_get("name")?,
        tags: serde_json::from_str::<BTreeMap<String, String>>(&tags)
            .map_err(|e| StoreError::Corrupt(format!("tags: {e}")))?,
        config: serde_json::from_str(&config)
            .map_err(|e| StoreError::Corrupt(format!("config: {e}")))?,
        first_seen: get_ts(row, "first_seen")?,
        last_seen: get_ts(row, "last_seen")?,
    })
}

fn finding_from_row(row: &AnyRow) -> Result<FindingRecord> {
    Ok(FindingRecord {
        finding: Finding {
            id: row.try_get("id")?,
            control_id: row.try_get("control_id")?,
            asset_id: row.try_get("asset_id")?,
            status: parse::<FindingStatus>("status", &row.try_get::<String, _>("status")?)?,
            severity: parse::<Severity>("severity", &row.try_get::<String, _>("severity")?)?,
            reason: row.try_get("reason")?,
            first_seen: get_ts(row, "first_seen")?,
            last_seen: get_ts(row, "last_seen")?,
            resolved_at: get_opt_ts(row, "resolved_at")?,
        },
        last_scan_id: row.try_get("last_scan_id")?,
        last_change: row.try_get("change_kind")?,
        asset_name: row.try_get("asset_name")?,
        asset_type: row.try_get("asset_type")?,
    })
}

fn scan_from_row(row: &AnyRow) -> Result<Scan> {
    Ok(Scan {
        id: row.try_get("id")?,
        source: row.try_get("source")?,
        status: parse::<ScanStatus>("scan status", &row.try_get::<String, _>("status")?)?,
        started_at: get_ts(row, "started_at")?,
        finished_at: get_opt_ts(row, "finished_at")?,
        asset_count: get_u64(row, "asset_count")?,
        pass_count: get_u64(row, "pass_count")?,
        fail_count: get_u64(row, "fail_count")?,
        error_count: get_u64(row, "error_count")?,
        message: row.try_get("message")?,
        gone_count: get_u64(row, "gone_count")?,
    })
}

pub(crate) fn user_from_row(row: &AnyRow, created_col: &str) -> Result<User> {
    Ok(User {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        created_at: get_ts(row, created_col)?,
        password_changed_at: get_ts(row, "password_changed_at")?,
    })
}

pub(crate) fn workspace_from_row(row: &AnyRow) -> Result<Workspace> {
    Ok(Workspace {
        id: row.try_get("id")?,
        slug: row.try_get("slug")?,
        name: row.try_get("name")?,
        created_at: get_ts(row, "created_at")?,
    })
}

/// `"name"`: a PostgreSQL identifier, quoted.
pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Creates the database file readable by its owner only, before SQLite opens it (SQLite gives
/// the `-wal` and `-shm` files the same mode).
fn precreate_private(path: &Path) -> Result<()> {
    if path.exists() {
        return Ok(());
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(StoreError::Invalid {
            field: "database path",
            message: format!("{}: {e}", path.display()),
        }),
    }
}

/// The items of `items`, keeping only the last one of each key, in first-seen order.
fn dedup_last<'a, T, K: Eq + std::hash::Hash>(
    items: &'a [T],
    key: impl Fn(&'a T) -> K,
) -> Vec<&'a T> {
    let mut last: std::collections::HashMap<K, usize> = std::collections::HashMap::new();
    for (i, item) in items.iter().enumerate() {
        last.insert(key(item), i);
    }
    items
        .iter()
        .enumerate()
        .filter(|(i, item)| last.get(&key(item)) == Some(i))
        .map(|(_, item)| item)
        .collect()
}

/// Equality filters appended to a scoped base query as `AND column = $N` (`$1` is the workspace).
/// Column names are compile-time constants; values are always bound.
#[derive(Default)]
struct Conditions<'a> {
    sql: String,
    binds: Vec<std::borrow::Cow<'a, str>>,
}

impl<'a> Conditions<'a> {
    fn eq(&mut self, column: &'static str, value: Option<&'a str>) {
        if let Some(value) = value {
            self.binds.push(value.into());
            self.sql
                .push_str(&format!(" AND {column} = ${}", self.binds.len() + 1));
        }
    }

    /// A literal condition with one bound value: `{}` in `sql` becomes its placeholder.
    fn bound(&mut self, sql: &str, value: impl Into<std::borrow::Cow<'a, str>>) {
        self.binds.push(value.into());
        self.sql
            .push_str(&sql.replace("{}", &format!("${}", self.binds.len() + 1)));
    }

    /// Only the gone assets (`gone`), or only the present ones.
    fn gone(&mut self, gone: bool) {
        self.sql.push_str(if gone {
            " AND gone_at IS NOT NULL"
        } else {
            " AND gone_at IS NULL"
        });
    }

    /// `(list, count)`: the list statement ends with `order` and `LIMIT $n OFFSET $n+1`.
    fn statements(&self, select: &str, count: &str, order: &str) -> (String, String) {
        let n = self.binds.len() + 2;
        (
            format!("{select}{}{order} LIMIT ${n} OFFSET ${}", self.sql, n + 1),
            format!("{count}{}", self.sql),
        )
    }
}

#[derive(Clone)]
pub(crate) struct DbBackend {
    pub(crate) pool: AnyPool,
    pub(crate) dialect: Dialect,
    /// Workspace aggregates memoized by data version (`cache.rs`), shared by every clone.
    pub(crate) aggregates: std::sync::Arc<crate::cache::AggregateCache>,
    /// One scan recording at a time on SQLite (shared by every clone). SQLite has one writer;
    /// a recording holds the write lock for its whole transaction (tens of seconds for a large
    /// import), and a second one waiting on the busy timeout would fail and retry. The gate
    /// queues it instead, as PostgreSQL's row locks would.
    pub(crate) record_gate: std::sync::Arc<tokio::sync::Mutex<()>>,
}

/// How long a SQLite connection waits for the write lock (a large import's commit).
const SQLITE_BUSY_TIMEOUT_MS: u32 = 60_000;
/// How long the checkpoint after a recording waits for readers (writers wait behind it).
const CHECKPOINT_WAIT_MS: u32 = 5_000;

/// Characters of a file path that must be escaped in a `sqlite://` URL.
const PATH_ESCAPES: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'/')
    .remove(b'.')
    .remove(b'-')
    .remove(b'_')
    .remove(b'~');

impl DbBackend {
    pub(crate) async fn open_sqlite(path: &Path) -> Result<DbBackend> {
        sqlx::any::install_default_drivers();
        precreate_private(path)?;
        let path = path.to_str().ok_or_else(|| StoreError::Invalid {
            field: "database path",
            message: "must be valid UTF-8".into(),
        })?;
        let url = format!(
            "sqlite://{}?mode=rwc",
            percent_encoding::utf8_percent_encode(path, PATH_ESCAPES)
        );
        let options = AnyConnectOptions::from_str(&url)?;
        let pool = AnyPoolOptions::new()
            .max_connections(8)
            .after_connect(|conn, _meta| {
                Box::pin(async move {
                    // WAL, foreign keys, a busy timeout long enough to wait for a large import's
                    // commit (one writer at a time), and a 64 MiB page cache per connection
                    // (the default is 2 MiB): a large import rewrites several indexes with random
                    // keys inside one transaction. The write-ahead log is cut back to 1 GiB
                    // whenever a checkpoint resets it: one large import otherwise leaves it at its
                    // high-water mark (4.8 GB after 600,000 assets in the queue bench). The limit
                    // is not lower: each write past the end of the log makes the
                    // file system allocate and zero a new block, which was an eighth of a large
                    // import's recording time when the log was cut back to 64 MiB each time.
                    // Temporary files (statement journals, sorts) stay on disk, SQLite's
                    // default: in memory, the statement journals of a large import's upserts
                    // (a copy of each page they change) raised the worker's peak RSS.
                    conn.execute(
                        format!(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}; \
                             PRAGMA cache_size = -65536; \
                             PRAGMA journal_size_limit = 1073741824;"
                        )
                        .as_str(),
                    )
                    .await?;
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        Ok(DbBackend {
            pool,
            dialect: Dialect::Sqlite,
            aggregates: Default::default(),
            record_gate: Default::default(),
        })
    }

    /// Connects to PostgreSQL as the application role (no migrations: those run as the owner
    /// role, see [`DbBackend::migrate_postgres`]).
    pub(crate) async fn open_postgres(url: &str) -> Result<DbBackend> {
        sqlx::any::install_default_drivers();
        let options = AnyConnectOptions::from_str(url)?;
        let pool = AnyPoolOptions::new()
            .max_connections(10)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await?;
        Ok(DbBackend {
            pool,
            dialect: Dialect::Postgres,
            aggregates: Default::default(),
            record_gate: Default::default(),
        })
    }

    /// Runs the PostgreSQL migrations as the owner role (`owner_url`) and grants the application
    /// role `app_role` what it needs: read and write on the tables (no UPDATE or DELETE on the
    /// audit log, read-only on the migrations table), the identity sequence, and the two lookup
    /// functions. Idempotent.
    pub(crate) async fn migrate_postgres(owner_url: &str, app_role: &str) -> Result<()> {
        sqlx::any::install_default_drivers();
        let options = AnyConnectOptions::from_str(owner_url)?;
        let pool = AnyPoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await?;
        let result = async {
            POSTGRES_MIGRATOR.run(&pool).await?;
            let mut tx = pool.begin().await?;
            let role = quote_ident(app_role);
            let tables = sqlx::query(
                "SELECT tablename::text AS name FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename",
            )
            .fetch_all(&mut *tx)
            .await?;
            for t in &tables {
                let name: String = t.try_get("name")?;
                let privileges = match name.as_str() {
                    "_sqlx_migrations" => "SELECT",
                    "audit_log" => "SELECT, INSERT",
                    _ => "SELECT, INSERT, UPDATE, DELETE",
                };
                let table = quote_ident(&name);
                tx.execute(format!("REVOKE ALL ON {table} FROM {role}").as_str())
                    .await?;
                tx.execute(format!("GRANT {privileges} ON {table} TO {role}").as_str())
                    .await?;
            }
            for statement in [
                format!("GRANT USAGE ON SCHEMA public TO {role}"),
                format!("GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {role}"),
                format!("GRANT EXECUTE ON FUNCTION rampart_token_workspace(TEXT) TO {role}"),
                format!("GRANT EXECUTE ON FUNCTION rampart_invitation_workspace(TEXT) TO {role}"),
                format!("GRANT EXECUTE ON FUNCTION rampart_claim_job(TEXT, TEXT, TEXT) TO {role}"),
                format!("GRANT EXECUTE ON FUNCTION rampart_reap_jobs(TEXT) TO {role}"),
            ] {
                tx.execute(statement.as_str()).await?;
            }
            tx.commit().await?;
            Ok::<(), StoreError>(())
        }
        .await;
        pool.close().await;
        result
    }

    pub(crate) async fn migrate(&self) -> Result<()> {
        match self.dialect {
            Dialect::Sqlite => SQLITE_MIGRATOR.run(&self.pool).await?,
            Dialect::Postgres => {
                // The application role may not change the schema: check that it is current.
                let has_table: i64 = sqlx::query(
                    "SELECT COUNT(*) AS n FROM pg_tables WHERE schemaname = current_schema() AND tablename = '_sqlx_migrations'",
                )
                .fetch_one(&self.pool)
                .await?
                .try_get("n")?;
                if has_table == 0 {
                    return Err(StoreError::Invalid {
                        field: "database schema",
                        message: "the database has no Rampart schema: run the migrations with the owner role (--owner-database-url)".into(),
                    });
                }
                let applied: Vec<i64> =
                    sqlx::query("SELECT version FROM _sqlx_migrations WHERE success")
                        .fetch_all(&self.pool)
                        .await?
                        .iter()
                        .map(|r| r.try_get::<i64, _>("version"))
                        .collect::<std::result::Result<_, _>>()?;
                if let Some(missing) = POSTGRES_MIGRATOR
                    .iter()
                    .find(|m| !applied.contains(&m.version))
                {
                    return Err(StoreError::Invalid {
                        field: "database schema",
                        message: format!(
                            "migration {} ({}) is not applied: run the migrations with the owner role (--owner-database-url)",
                            missing.version, missing.description
                        ),
                    });
                }
            }
        }
        Ok(())
    }

    pub(crate) async fn applied_migrations(&self) -> Result<Vec<String>> {
        let rows = sqlx::query(sql::APPLIED_MIGRATIONS)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| r.try_get::<String, _>("description").map_err(Into::into))
            .collect()
    }

    pub(crate) async fn close(&self) {
        self.pool.close().await;
    }

    /// A transaction for tables without workspace data (workspaces, users, sessions, …).
    pub(crate) async fn begin(&self) -> Result<Tx> {
        Ok(self.pool.begin().await?)
    }

    /// A transaction scoped to one workspace's rows.
    pub(crate) async fn begin_workspace(&self, workspace_id: &str) -> Result<Tx> {
        let mut tx = self.pool.begin().await?;
        set_workspace(&mut tx, self.dialect, workspace_id).await?;
        Ok(tx)
    }

    /// A workspace transaction that reads before it writes (the job queue): on SQLite it takes
    /// the write lock at `BEGIN IMMEDIATE`, so a writer that commits between its read and its
    /// write cannot make it fail with `SQLITE_BUSY_SNAPSHOT`; it waits its turn instead.
    pub(crate) async fn begin_workspace_write(&self, workspace_id: &str) -> Result<Tx> {
        let mut tx = match self.dialect {
            Dialect::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Dialect::Postgres => self.pool.begin().await?,
        };
        set_workspace(&mut tx, self.dialect, workspace_id).await?;
        Ok(tx)
    }

    /// A transaction that may append to (and read) the installation's audit chain.
    pub(crate) async fn begin_installation(&self) -> Result<Tx> {
        let mut tx = self.pool.begin().await?;
        set_installation(&mut tx, self.dialect).await?;
        Ok(tx)
    }

    /// A transaction that sees one user's own memberships and support grants across
    /// workspaces (the reviewed exception for opening a scope), and nothing else of them.
    pub(crate) async fn begin_user(&self, user_id: &str) -> Result<Tx> {
        let mut tx = self.pool.begin().await?;
        set_user(&mut tx, self.dialect, user_id).await?;
        Ok(tx)
    }

    /// A transaction on an audit chain: the installation's or a workspace's.
    pub(crate) async fn begin_chain(&self, chain: &str) -> Result<Tx> {
        if chain == crate::audit::INSTALLATION_CHAIN {
            self.begin_installation().await
        } else {
            self.begin_workspace(chain).await
        }
    }

    // ----- workspaces ------------------------------------------------------------------------

    pub(crate) async fn create_workspace(
        &self,
        slug: &str,
        name: &str,
        now: DateTime<Utc>,
    ) -> Result<Workspace> {
        let ws = Workspace {
            id: format!("ws_{}", uuid::Uuid::new_v4().simple()),
            slug: slug.to_owned(),
            name: name.to_owned(),
            created_at: now,
        };
        sqlx::query(sql::INSERT_WORKSPACE)
            .bind(&ws.id)
            .bind(&ws.slug)
            .bind(&ws.name)
            .bind(ts(now))
            .execute(&self.pool)
            .await
            .map_err(|e| map_unique(e, "workspace"))?;
        Ok(ws)
    }

    pub(crate) async fn workspace_by_slug(&self, slug: &str) -> Result<Option<Workspace>> {
        sqlx::query(sql::WORKSPACE_BY_SLUG)
            .bind(slug)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(workspace_from_row)
            .transpose()
    }

    pub(crate) async fn member_scope(
        &self,
        slug: &str,
        user_id: &str,
    ) -> Result<Option<WorkspaceScope>> {
        let mut tx = self.begin_user(user_id).await?;
        let row = sqlx::query(sql::MEMBER_SCOPE)
            .bind(slug)
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let role: Role = parse("role", &row.try_get::<String, _>("role")?)?;
        Ok(Some(WorkspaceScope::new(
            row.try_get("id")?,
            row.try_get("slug")?,
            Access::Member {
                user_id: user_id.to_owned(),
                role,
            },
        )))
    }

    pub(crate) async fn set_membership(
        &self,
        scope: &WorkspaceScope,
        user_id: &str,
        role: Role,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.begin_workspace(scope.workspace_id()).await?;
        sqlx::query(sql::UPSERT_MEMBERSHIP)
            .bind(user_id)
            .bind(scope.workspace_id())
            .bind(role.as_str())
            .bind(ts(now))
            .execute(&mut *tx)
            .await
            .map_err(|e| match &e {
                sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
                    StoreError::NotFound { what: "user" }
                }
                _ => StoreError::Database(e),
            })?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn workspaces_of_user(&self, user_id: &str) -> Result<Vec<(Workspace, Role)>> {
        let mut tx = self.begin_user(user_id).await?;
        let rows = sqlx::query(sql::WORKSPACES_OF_USER)
            .bind(user_id)
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        rows.iter()
            .map(|row| {
                Ok((
                    workspace_from_row(row)?,
                    parse::<Role>("role", &row.try_get::<String, _>("role")?)?,
                ))
            })
            .collect()
    }

    // ----- users -----------------------------------------------------------------------------

    pub(crate) async fn create_user(
        &self,
        email: &str,
        password_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<User> {
        let user = User {
            id: format!("usr_{}", uuid::Uuid::new_v4().simple()),
            email: email.to_owned(),
            created_at: now,
            password_changed_at: now,
        };
        sqlx::query(sql::INSERT_USER)
            .bind(&user.id)
            .bind(&user.email)
            .bind(password_hash)
            .bind(ts(now))
            .execute(&self.pool)
            .await
            .map_err(|e| map_unique(e, "user"))?;
        Ok(user)
    }

    /// Changes the hash and revokes every session of the user, atomically (ASVS 3.3.3).
    pub(crate) async fn set_password(
        &self,
        user_id: &str,
        password_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let updated = sqlx::query(sql::SET_PASSWORD)
            .bind(user_id)
            .bind(password_hash)
            .bind(ts(now))
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if updated == 0 {
            return Err(StoreError::NotFound { what: "user" });
        }
        sqlx::query(sql::DELETE_USER_SESSIONS)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn user(&self, user_id: &str) -> Result<Option<User>> {
        sqlx::query(sql::USER_BY_ID)
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(|r| user_from_row(r, "created_at"))
            .transpose()
    }

    pub(crate) async fn user_by_email(&self, email: &str) -> Result<Option<User>> {
        sqlx::query(sql::USER_BY_EMAIL)
            .bind(email)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(|r| user_from_row(r, "created_at"))
            .transpose()
    }

    pub(crate) async fn user_with_hash(&self, email: &str) -> Result<Option<(User, String)>> {
        let Some(row) = sqlx::query(sql::USER_WITH_HASH)
            .bind(email)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        Ok(Some((
            user_from_row(&row, "created_at")?,
            row.try_get("password_hash")?,
        )))
    }

    // ----- sessions --------------------------------------------------------------------------

    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn create_session(
        &self,
        id_hash: &str,
        user_id: &str,
        csrf_token: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        options: &SessionOptions,
    ) -> Result<()> {
        sqlx::query(sql::INSERT_SESSION)
            .bind(id_hash)
            .bind(user_id)
            .bind(csrf_token)
            .bind(ts(now))
            .bind(ts(expires_at))
            .bind(i64::from(options.mfa_pending))
            .bind(i64::from(options.mfa_verified))
            .bind(crate::audit::clean(&options.address, 64))
            .bind(crate::audit::clean(&options.user_agent, 256))
            .execute(&self.pool)
            .await
            .map_err(|e| match &e {
                sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
                    StoreError::NotFound { what: "user" }
                }
                _ => map_unique(e, "session"),
            })?;
        Ok(())
    }

    pub(crate) async fn session(
        &self,
        id_hash: &str,
        now: DateTime<Utc>,
        idle: TimeDelta,
    ) -> Result<Option<Session>> {
        let Some(row) = sqlx::query(sql::SESSION_BY_HASH)
            .bind(id_hash)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let session = Session {
            user: user_from_row(&row, "user_created_at")?,
            csrf_token: row.try_get("csrf_token")?,
            created_at: get_ts(&row, "created_at")?,
            last_seen_at: get_ts(&row, "last_seen_at")?,
            expires_at: get_ts(&row, "expires_at")?,
            mfa_pending: row.try_get::<i64, _>("mfa_pending")? != 0,
            mfa_verified: row.try_get::<i64, _>("mfa_verified")? != 0,
            is_operator: row.try_get::<i64, _>("is_operator")? != 0,
            mfa_enabled: row
                .try_get::<Option<String>, _>("totp_enabled_at")?
                .is_some(),
        };
        if now >= session.expires_at || now - session.last_seen_at >= idle {
            self.delete_session(id_hash).await?;
            return Ok(None);
        }
        // Refresh the idle clock, at most every 15 seconds to spare the database.
        if now - session.last_seen_at >= TimeDelta::seconds(15) {
            sqlx::query(sql::TOUCH_SESSION)
                .bind(id_hash)
                .bind(ts(now))
                .execute(&self.pool)
                .await?;
        }
        Ok(Some(Session {
            last_seen_at: now.max(session.last_seen_at),
            ..session
        }))
    }

    pub(crate) async fn delete_session(&self, id_hash: &str) -> Result<()> {
        sqlx::query(sql::DELETE_SESSION)
            .bind(id_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub(crate) async fn delete_user_sessions(&self, user_id: &str) -> Result<u64> {
        Ok(sqlx::query(sql::DELETE_USER_SESSIONS)
            .bind(user_id)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }

    pub(crate) async fn purge_expired_sessions(
        &self,
        now: DateTime<Utc>,
        idle: TimeDelta,
    ) -> Result<u64> {
        sqlx::query(sql::PURGE_LOGIN_FAILURES)
            .bind(ts(now - TimeDelta::hours(1)))
            .execute(&self.pool)
            .await?;
        Ok(sqlx::query(sql::PURGE_SESSIONS)
            .bind(ts(now))
            .bind(ts(now - idle))
            .execute(&self.pool)
            .await?
            .rows_affected())
    }

    // ----- customer data ---------------------------------------------------------------------

    pub(crate) async fn record_scan(
        &self,
        scope: &WorkspaceScope,
        scan: &Scan,
        inventory: &Inventory,
        sweeps: &[Sweep],
        evaluations: &[Evaluation],
        severities: &[Severity],
    ) -> Result<u64> {
        let ws = scope.workspace_id();
        let _gate = match self.dialect {
            Dialect::Sqlite => Some(self.record_gate.lock().await),
            Dialect::Postgres => None,
        };
        // Dropping `tx` without commit (any `?` below) rolls everything back.
        let mut tx = self.begin_workspace_write(ws).await?;

        sqlx::query(sql::INSERT_SCAN)
            .bind(ws)
            .bind(&scan.id)
            .bind(&scan.source)
            .bind(scan.status.as_str())
            .bind(ts(scan.started_at))
            .bind(scan.finished_at.map(ts))
            .bind(to_i64(scan.asset_count))
            .bind(to_i64(scan.pass_count))
            .bind(to_i64(scan.fail_count))
            .bind(to_i64(scan.error_count))
            .bind(scan.message.as_deref())
            .execute(&mut *tx)
            .await?;

        // Later copies of the same asset or finding win (PostgreSQL refuses to upsert one row
        // twice in a statement, so duplicates never reach the database).
        let mut assets = dedup_last(&inventory.assets, |a| a.id.as_str());
        // In primary-key order, for the same reason as the findings below.
        assets.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        let now_text = ts(scan.started_at);
        // Each asset's sequence number, for its findings' rows.
        let mut seqs: std::collections::HashMap<String, i64> =
            std::collections::HashMap::with_capacity(assets.len());
        let d = self.dialect;
        let (hashes_sql, keep_sql, upsert_sql, delete_sql) = (
            sql::stored_hashes(d),
            sql::keep_previous_versions(d),
            sql::upsert_assets(d),
            sql::delete_outgoing_relationships(d),
        );
        for chunk in assets.chunks(sql::ASSET_BATCH) {
            let mut rows = Vec::with_capacity(chunk.len());
            for asset in chunk {
                let tags = to_json(&asset.tags, "tags")?;
                let config = to_json(&asset.config, "config")?;
                let hash = version_hash(&tags, &config);
                rows.push((asset, tags, config, hash));
            }
            let ids: Vec<&str> = chunk.iter().map(|a| a.id.as_str()).collect();
            let ids = to_json(&ids, "asset ids")?;
            // Keep the version a changed asset had before this scan overwrites it.
            let stored: std::collections::HashMap<String, String> = sqlx::query(&hashes_sql)
                .bind(ws)
                .bind(&ids)
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .filter_map(|r| {
                    let id: String = r.try_get("id").ok()?;
                    let hash: Option<String> = r.try_get("config_hash").ok()?;
                    Some((id, hash?))
                })
                .collect();
            let changed: Vec<&str> = rows
                .iter()
                .filter(|(a, .., h)| stored.get(&a.id).is_some_and(|old| old != h))
                .map(|(a, ..)| a.id.as_str())
                .collect();
            if !changed.is_empty() {
                sqlx::query(&keep_sql)
                    .bind(ws)
                    .bind(&scan.id)
                    .bind(&now_text)
                    .bind(to_json(&changed, "asset ids")?)
                    .execute(&mut *tx)
                    .await?;
            }
            let rows: Vec<_> = rows
                .iter()
                .map(|(asset, tags, config, hash)| {
                    (
                        &asset.id,
                        asset.provider.as_str(),
                        &asset.account,
                        &asset.region,
                        asset.resource_type.as_str(),
                        &asset.native_id,
                        &asset.name,
                        tags,
                        config,
                        ts(asset.first_seen),
                        ts(asset.last_seen),
                        hash,
                    )
                })
                .collect();
            let mut upsert = sqlx::query(&upsert_sql)
                .bind(ws)
                .bind(&scan.id)
                .bind(to_json(&rows, "assets")?);
            if d == Dialect::Sqlite {
                // Within the write transaction (and the recording gate): no other writer.
                let next: i64 = sqlx::query(sql::NEXT_ASSET_SEQ)
                    .bind(ws)
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get("n")?;
                upsert = upsert.bind(next);
            }
            for row in upsert.fetch_all(&mut *tx).await? {
                seqs.insert(row.try_get("id")?, row.try_get("seq")?);
            }
            // The scan lists these assets' relationships anew (inserted below).
            sqlx::query(&delete_sql)
                .bind(ws)
                .bind(&ids)
                .execute(&mut *tx)
                .await?;
        }

        let mut relationships: Vec<&Relationship> = inventory.relationships.iter().collect();
        relationships.sort();
        relationships.dedup();
        let insert_sql = sql::insert_relationships(d);
        for chunk in relationships.chunks(sql::RELATIONSHIP_BATCH) {
            let rows: Vec<(&str, &str, &str)> = chunk
                .iter()
                .map(|r| (r.from.as_str(), r.to.as_str(), r.kind.as_str()))
                .collect();
            sqlx::query(&insert_sql)
                .bind(ws)
                .bind(to_json(&rows, "relationships")?)
                .execute(&mut *tx)
                .await?;
        }

        let now = ts(scan.started_at);
        let findings: Vec<(String, &Evaluation, Severity)> = evaluations
            .iter()
            .zip(severities)
            .map(|(e, s)| {
                (
                    rampart_model::finding_id(ws, &e.control_id, &e.asset_id),
                    e,
                    *s,
                )
            })
            .collect();
        let mut findings = dedup_last(&findings, |f| f.0.as_str());
        // By asset, then control: new assets were numbered in id order above, so this is the
        // order of the `(asset_seq, control)` index, and each control's new entries in the
        // order indexes come in ascending `asset_seq` too (appended, not scattered).
        findings.sort_unstable_by(|a, b| {
            (&a.1.asset_id, &a.1.control_id).cmp(&(&b.1.asset_id, &b.1.control_id))
        });
        // Evaluations of stored assets the inventory did not carry: their numbers from the store.
        let mut unknown: Vec<&str> = findings
            .iter()
            .map(|f| f.1.asset_id.as_str())
            .filter(|id| !seqs.contains_key(*id))
            .collect();
        unknown.sort_unstable();
        unknown.dedup();
        let seqs_sql = sql::stored_seqs(d);
        for chunk in unknown.chunks(sql::ASSET_BATCH) {
            for row in sqlx::query(&seqs_sql)
                .bind(ws)
                .bind(to_json(&chunk, "asset ids")?)
                .fetch_all(&mut *tx)
                .await?
            {
                seqs.insert(row.try_get("id")?, row.try_get("seq")?);
            }
        }
        if let Some(missing) = unknown.iter().find(|id| !seqs.contains_key(**id)) {
            return Err(StoreError::Invalid {
                field: "evaluations",
                message: format!(
                    "asset {missing} is evaluated but neither in the scan's inventory nor stored"
                ),
            });
        }
        let text = sql::upsert_findings(self.dialect);
        for chunk in findings.chunks(sql::FINDING_BATCH) {
            let rows: Vec<_> = chunk
                .iter()
                .map(|(id, evaluation, severity)| {
                    (
                        id,
                        &evaluation.control_id,
                        &evaluation.asset_id,
                        evaluation.status.as_str(),
                        severity.as_str(),
                        severity_rank(*severity),
                        &evaluation.reason,
                        (evaluation.status == FindingStatus::Fail).then_some("new"),
                        seqs.get(&evaluation.asset_id),
                    )
                })
                .collect();
            sqlx::query(&text)
                .bind(ws)
                .bind(&now)
                .bind(&scan.id)
                .bind(to_json(&rows, "findings")?)
                .execute(&mut *tx)
                .await?;
        }
        // What the scan listed completely and did not see is gone; its findings no longer apply.
        let mut gone = 0u64;
        for sweep in sweeps {
            let text = sql::mark_gone(sweep.region.is_some());
            let mut q = sqlx::query(&text)
                .bind(ws)
                .bind(&now)
                .bind(&scan.id)
                .bind(sweep.provider.as_str())
                .bind(&sweep.account)
                .bind(&sweep.resource_type);
            if let Some(region) = &sweep.region {
                q = q.bind(region);
            }
            gone += q.execute(&mut *tx).await?.rows_affected();
        }
        if gone > 0 {
            sqlx::query(sql::GONE_FINDINGS)
                .bind(ws)
                .bind(&now)
                .bind(&scan.id)
                .bind(format!(
                    "the asset is gone: scan {} listed its type, account and region without it",
                    scan.id
                ))
                .execute(&mut *tx)
                .await?;
            sqlx::query(sql::SET_GONE_COUNT)
                .bind(ws)
                .bind(&scan.id)
                .execute(&mut *tx)
                .await?;
        }

        // Changes to notify about go on the queue with the scan (same transaction).
        crate::notifications::queue_scan_notification(&mut tx, ws, &scan.id, scan.started_at)
            .await?;

        // The import is a state change: audited in the same transaction.
        let (kind, actor_id, label) = match scope.access() {
            Access::Member { user_id, .. } => (ActorKind::User, user_id.clone(), String::new()),
            Access::Token { token_id, .. } => {
                (ActorKind::ApiToken, token_id.clone(), String::new())
            }
            Access::Support { operator_id, .. } => {
                (ActorKind::Operator, operator_id.clone(), String::new())
            }
            Access::Local => (ActorKind::System, "local-cli".to_owned(), String::new()),
            Access::Job { job_id, .. } => (ActorKind::System, job_id.clone(), "job".to_owned()),
        };
        let event = AuditEvent::new("scan.record", Outcome::Success)
            .actor(kind, &actor_id, &label)
            .object("scan", &scan.id)
            .grant(scope.grant_id())
            .detail(serde_json::json!({
                "source": scan.source,
                "assets": scan.asset_count,
                "failed": scan.fail_count,
                "gone": gone,
            }));
        crate::audit::append(&mut tx, scope.workspace_id(), &event, Utc::now()).await?;
        tx.commit().await?;
        if self.dialect == Dialect::Sqlite {
            self.restart_write_ahead_log().await;
        }
        Ok(gone)
    }

    /// Copies the write-ahead log into the database and makes the next writer start it from the
    /// beginning (SQLite), waiting up to [`CHECKPOINT_WAIT_MS`] for readers of older snapshots.
    /// SQLite's own checkpoint after each commit never waits: while workers, the scheduler and
    /// the web app keep reading, some reader always holds an older snapshot, so the log is never
    /// reset and grows by every recording (25 GB after 13 imports of 25,000 assets in the queue
    /// bench), and each page read searches it. The wait is short because writers queue behind
    /// a pending RESTART checkpoint. One that cannot finish is not an error: the recording is
    /// committed, and the next one tries again.
    async fn restart_write_ahead_log(&self) {
        let outcome: std::result::Result<i64, sqlx::Error> = async {
            let mut conn = self.pool.acquire().await?;
            conn.execute(format!("PRAGMA busy_timeout = {CHECKPOINT_WAIT_MS}").as_str())
                .await?;
            let busy = sqlx::query("PRAGMA wal_checkpoint(RESTART)")
                .fetch_one(&mut *conn)
                .await
                .and_then(|row| row.try_get::<i64, _>(0));
            let restored = conn
                .execute(format!("PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}").as_str())
                .await;
            if let Err(e) = restored {
                // Still waiting only the checkpoint's few seconds for locks: closed rather than
                // handed back to the pool, where a recording would fail on `SQLITE_BUSY` early.
                conn.close_on_drop();
                return Err(e);
            }
            busy
        }
        .await;
        match outcome {
            Ok(0) => {}
            Ok(_) => tracing::warn!(
                "the write-ahead log was not reset after a recording: a reader held an older snapshot for {CHECKPOINT_WAIT_MS} ms"
            ),
            Err(e) => tracing::warn!(error = %e, "the checkpoint after a recording failed"),
        }
    }

    pub(crate) async fn list_assets(
        &self,
        scope: &WorkspaceScope,
        filter: &AssetFilter,
        page: Page,
        known_total: Option<u64>,
    ) -> Result<Paged<Asset>> {
        let mut cond = Conditions::default();
        asset_conditions(&mut cond, filter, None, Utc::now());
        let (list, count) =
            cond.statements(sql::SELECT_ASSETS, sql::COUNT_ASSETS, sql::ASSETS_ORDER);
        self.paged_counted(
            scope,
            &cond,
            &list,
            &count,
            page,
            asset_from_row,
            known_total,
        )
        .await
    }

    /// The next `limit` assets after `after` (type, name, id) in the list order, without a
    /// count: keyset batches for reading a whole filtered inventory at a constant cost per batch.
    pub(crate) async fn assets_after(
        &self,
        scope: &WorkspaceScope,
        filter: &AssetFilter,
        after: Option<&(String, String, String)>,
        limit: u32,
    ) -> Result<Vec<Asset>> {
        let mut cond = Conditions::default();
        asset_conditions(&mut cond, filter, None, Utc::now());
        if let Some((t, name, id)) = after {
            cond.binds.push(t.as_str().into());
            cond.binds.push(name.as_str().into());
            cond.binds.push(id.as_str().into());
            let n = cond.binds.len() + 1;
            cond.sql.push_str(&format!(
                " AND (type > ${a} OR (type = ${a} AND (name > ${b} OR (name = ${b} AND id > ${n}))))",
                a = n - 2,
                b = n - 1
            ));
        }
        let list = format!(
            "{}{}{} LIMIT ${}",
            sql::SELECT_ASSETS,
            cond.sql,
            sql::ASSETS_ORDER,
            cond.binds.len() + 2
        );
        let mut tx = self.begin_workspace(scope.workspace_id()).await?;
        rows_with(&mut tx, scope, &list, &cond, limit, asset_from_row).await
    }

    /// How many assets meet the filter (the list's count without the list).
    pub(crate) async fn count_assets(
        &self,
        scope: &WorkspaceScope,
        filter: &AssetFilter,
    ) -> Result<u64> {
        let mut cond = Conditions::default();
        asset_conditions(&mut cond, filter, None, Utc::now());
        let count = format!("{}{}", sql::COUNT_ASSETS, cond.sql);
        let mut tx = self.begin_workspace(scope.workspace_id()).await?;
        count_with(&mut tx, scope, &count, &cond).await
    }

    /// Counts of assets per provider, account, region and type (at most [`FACET_LIMIT`] values
    /// each, most frequent first). Each dimension is counted under the filter's other fields,
    /// so the alternatives to a chosen value stay visible.
    pub(crate) async fn asset_facets(
        &self,
        scope: &WorkspaceScope,
        filter: &AssetFilter,
    ) -> Result<AssetFacets> {
        let now = Utc::now();
        let mut tx = self.begin_workspace(scope.workspace_id()).await?;
        let mut facets = AssetFacets::default();
        // Each facet counts the first FACET_SAMPLE assets under the other filters (bounded work
        // however large the workspace); `sampled` says when there were more.
        let sample = |cond: &Conditions<'_>, columns: &str| {
            format!(
                "SELECT {columns} FROM assets WHERE workspace_id = $1{} ORDER BY id LIMIT {FACET_SAMPLE}",
                cond.sql
            )
        };
        for (column, out) in [
            ("provider", &mut facets.providers),
            ("account", &mut facets.accounts),
            ("region", &mut facets.regions),
            ("type", &mut facets.types),
        ] {
            let mut cond = Conditions::default();
            asset_conditions(&mut cond, filter, Some(column), now);
            let statement = format!(
                "SELECT {column} AS v, COUNT(*) AS n FROM ({}) s \
                 GROUP BY {column} ORDER BY COUNT(*) DESC, {column} LIMIT {FACET_LIMIT}",
                sample(&cond, column)
            );
            *out = facet_rows(&mut tx, scope, &statement, &cond).await?;
            facets.sampled |= more_than_sample(&mut tx, scope, &cond).await?;
        }
        // Tags: each `key=value` pair of the matching assets.
        let mut cond = Conditions::default();
        asset_conditions(&mut cond, filter, Some("tag"), now);
        let each = match self.dialect {
            Dialect::Sqlite => "json_each(a.tags)",
            Dialect::Postgres => "jsonb_each_text(a.tags::jsonb)",
        };
        let statement = format!(
            "SELECT j.key || '=' || j.value AS v, COUNT(*) AS n \
             FROM ({}) a, {each} j \
             GROUP BY j.key || '=' || j.value ORDER BY COUNT(*) DESC, 1 LIMIT {FACET_LIMIT}",
            sample(&cond, "tags")
        );
        facets.tags = facet_rows(&mut tx, scope, &statement, &cond).await?;
        facets.sampled |= more_than_sample(&mut tx, scope, &cond).await?;
        // Ties in byte order on both backends (PostgreSQL's default collation may differ).
        facets
            .tags
            .sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
        // Failing controls: one finding per control and asset, so rows count assets.
        let mut cond = Conditions::default();
        asset_conditions(&mut cond, filter, Some("control"), now);
        let statement = format!(
            "SELECT f.control_id AS v, COUNT(*) AS n FROM findings f \
             WHERE f.workspace_id = $1 AND f.status = 'fail' \
               AND f.asset_seq IN ({}) \
             GROUP BY f.control_id ORDER BY COUNT(*) DESC, f.control_id LIMIT {FACET_LIMIT}",
            sample(&cond, "seq")
        );
        facets.failing_controls = facet_rows(&mut tx, scope, &statement, &cond).await?;
        facets.sampled |= more_than_sample(&mut tx, scope, &cond).await?;
        // Score bands from each asset's penalty (0 without failing findings), the penalties
        // summed over the sampled assets' findings only.
        let mut cond = Conditions::default();
        let penalty = penalty_subquery(&mut cond, now);
        asset_conditions(&mut cond, filter, Some("score"), now);
        let sampled_ids = sample(&cond, "id");
        let sampled_seqs = sample(&cond, "seq");
        let mut band = String::from("CASE");
        for b in ScoreBand::ALL {
            let (_, at_most) = b.penalty_range();
            if at_most.is_finite() {
                band.push_str(&format!(
                    " WHEN COALESCE(p.penalty, 0) <= {at_most} THEN '{}'",
                    b.as_str()
                ));
            } else {
                band.push_str(&format!(" ELSE '{}' END", b.as_str()));
            }
        }
        let penalty = penalty.replace(
            "GROUP BY f.asset_id",
            &format!("AND f.asset_seq IN ({sampled_seqs}) GROUP BY f.asset_id"),
        );
        let statement = format!(
            "SELECT {band} AS v, COUNT(*) AS n FROM ({sampled_ids}) assets \
             LEFT JOIN ({penalty}) p ON p.asset_id = assets.id \
             GROUP BY {band} ORDER BY COUNT(*) DESC"
        );
        let mut scores = facet_rows(&mut tx, scope, &statement, &cond).await?;
        // The same conditions without the penalty's time bind (which only the penalty uses).
        let mut plain = Conditions::default();
        asset_conditions(&mut plain, filter, Some("score"), now);
        facets.sampled |= more_than_sample(&mut tx, scope, &plain).await?;
        scores.sort_by_key(|f| {
            ScoreBand::ALL
                .iter()
                .position(|b| b.as_str() == f.value)
                .unwrap_or(usize::MAX)
        });
        facets.scores = scores;
        Ok(facets)
    }

    /// Runs a filtered list statement and its count (both bound with the scope's workspace id
    /// first, then the filter values) and returns one page.
    async fn paged<T>(
        &self,
        scope: &WorkspaceScope,
        cond: &Conditions<'_>,
        list: &str,
        count: &str,
        page: Page,
        from_row: fn(&sqlx::any::AnyRow) -> Result<T>,
    ) -> Result<Paged<T>> {
        self.paged_counted(scope, cond, list, count, page, from_row, None)
            .await
    }

    /// [`DbBackend::paged`], taking the total from `known_total` when the caller has it (a
    /// memoized count) instead of counting again.
    #[allow(clippy::too_many_arguments)]
    async fn paged_counted<T>(
        &self,
        scope: &WorkspaceScope,
        cond: &Conditions<'_>,
        list: &str,
        count: &str,
        page: Page,
        from_row: fn(&sqlx::any::AnyRow) -> Result<T>,
        known_total: Option<u64>,
    ) -> Result<Paged<T>> {
        let mut tx = self.begin_workspace(scope.workspace_id()).await?;
        let mut q = sqlx::query(list).bind(scope.workspace_id());
        for b in &cond.binds {
            q = q.bind(b.as_ref());
        }
        let rows = q
            .bind(i64::from(page.limit()))
            .bind(to_i64(page.offset()))
            .fetch_all(&mut *tx)
            .await?;
        let total = match known_total {
            Some(n) => n,
            None => count_with(&mut tx, scope, count, cond).await?,
        };
        Ok(Paged {
            items: rows.iter().map(from_row).collect::<Result<_>>()?,
            total,
            limit: page.limit(),
            offset: page.offset(),
        })
    }

    pub(crate) async fn inventory(&self, scope: &WorkspaceScope) -> Result<Inventory> {
        let mut tx = self.begin_workspace(scope.workspace_id()).await?;
        let assets = sqlx::query(sql::ALL_ASSETS)
            .bind(scope.workspace_id())
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(asset_from_row)
            .collect::<Result<Vec<_>>>()?;
        let relationships = sqlx::query(sql::ALL_RELATIONSHIPS)
            .bind(scope.workspace_id())
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|row| {
                Ok(Relationship {
                    from: row.try_get("from_id")?,
                    to: row.try_get("to_id")?,
                    kind: row.try_get("kind")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        // Edges from or to a gone asset are not part of the present inventory.
        let present: std::collections::HashSet<&str> =
            assets.iter().map(|a| a.id.as_str()).collect();
        let relationships = relationships
            .into_iter()
            .filter(|r: &Relationship| {
                present.contains(r.from.as_str()) && present.contains(r.to.as_str())
            })
            .collect();
        Ok(Inventory {
            assets,
            relationships,
        })
    }

    /// The versions an asset had before later scans changed it, newest first (at most `limit`).
    pub(crate) async fn asset_versions(
        &self,
        scope: &WorkspaceScope,
        asset_id: &str,
        limit: u32,
    ) -> Result<Vec<AssetVersion>> {
        let mut tx = self.begin_workspace(scope.workspace_id()).await?;
        let rows = sqlx::query(sql::ASSET_CHANGES)
            .bind(scope.workspace_id())
            .bind(asset_id)
            .bind(i64::from(limit))
            .fetch_all(&mut *tx)
            .await?;
        rows.iter()
            .map(|r| {
                let config: String = r.try_get("previous_config")?;
                let tags: String = r.try_get("previous_tags")?;
                Ok(AssetVersion {
                    scan_id: r.try_get("scan_id")?,
                    replaced_at: get_ts(r, "changed_at")?,
                    config: serde_json::from_str(&config)
                        .map_err(|e| StoreError::Corrupt(format!("config: {e}")))?,
                    tags: serde_json::from_str(&tags)
                        .map_err(|e| StoreError::Corrupt(format!("tags: {e}")))?,
                })
            })
            .collect()
    }

    /// When the asset was found gone (`Some(None)` while it exists, `None` when unknown).
    pub(crate) async fn asset_gone_at(
        &self,
        scope: &WorkspaceScope,
        asset_id: &str,
    ) -> Result<Option<Option<DateTime<Utc>>>> {
        let mut tx = self.begin_workspace(scope.workspace_id()).await?;
        sqlx::query(sql::ASSET_GONE_AT)
            .bind(scope.workspace_id())
            .bind(asset_id)
            .fetch_optional(&mut *tx)
            .await?
            .as_ref()
            .map(|row| get_opt_ts(row, "gone_at"))
            .transpose()
    }

    pub(crate) async fn asset(
        &self,
        scope: &WorkspaceScope,
        asset_id: &str,
    ) -> Result<Option<Asset>> {
        let mut tx = self.begin_workspace(scope.workspace_id()).await?;
        sqlx::query(sql::GET_ASSET)
            .bind(scope.workspace_id())
            .bind(asset_id)
            .fetch_optional(&mut *tx)
            .await?
            .as_ref()
            .map(asset_from_row)
            .transpose()
    }

    pub(crate) async fn assets_by_ids(
        &self,
        scope: &WorkspaceScope,
        asset_ids: &[String],
    ) -> Result<Vec<Asset>> {
        let mut tx = self.begin_workspace(scope.workspace_id()).await?;
        let mut out = Vec::with_capacity(asset_ids.len());
        let mut seen = std::collections::HashSet::new();
        for id in asset_ids {
            if !seen.insert(id.as_str()) {
                continue;
            }
            if let Some(row) = sqlx::query(sql::GET_ASSET)
                .bind(scope.workspace_id())
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?
            {
                out.push(asset_from_row(&row)?);
            }
        }
        Ok(out)
    }

    pub(crate) async fn relationships_of(
        &self,
        scope: &WorkspaceScope,
        asset_id: &str,
    ) -> Result<Vec<RelatedAsset>> {
        let mut tx = self.begin_workspace(scope.workspace_id()).await?;
        let rows = sqlx::query(sql::RELATIONSHIPS_OF)
            .bind(scope.workspace_id())
            .bind(asset_id)
            .fetch_all(&mut *tx)
            .await?;
        rows.iter()
            .map(|row| {
                let from: String = row.try_get("from_id")?;
                let direction = if from == asset_id {
                    Direction::Outgoing
                } else {
                    Direction::Incoming
                };
                Ok(RelatedAsset {
                    relationship: Relationship {
                        from,
                        to: row.try_get("to_id")?,
                        kind: row.try_get("kind")?,
                    },
                    direction,
                    other_id: row.try_get("other_id")?,
                    other_name: row.try_get("other_name")?,
                    other_type: row.try_get("other_type")?,
                })
            })
            .collect()
    }

    /// Findings under `filter` grouped by control, asset or severity: per group the count of
    /// each status, groups with the most failing first; one page of groups.
    pub(crate) async fn finding_groups(
        &self,
        scope: &WorkspaceScope,
        filter: &FindingFilter,
        by: FindingGrouping,
        page: Page,
    ) -> Result<Paged<FindingGroup>> {
        let cond = finding_conditions(filter);
        // Column names come from the enum, never from input. Assets group by sequence number
        // (the leading column of the `findings_asset` index after the workspace); the key shown
        // and the final tie-break are the asset id.
        let (group, key, label, join) = match by {
            FindingGrouping::Control => ("f.control_id", "f.control_id", "f.control_id", ""),
            FindingGrouping::Severity => ("f.severity", "f.severity", "f.severity", ""),
            FindingGrouping::Asset => (
                "f.asset_seq",
                "MIN(f.asset_id)",
                "MAX(a.name)",
                " JOIN assets a ON a.workspace_id = f.workspace_id AND a.seq = f.asset_seq",
            ),
        };
        let n = cond.binds.len() + 2;
        let list = format!(
            "SELECT {key} AS k, {label} AS label, \
             SUM(CASE WHEN f.status = 'fail' THEN 1 ELSE 0 END) AS fail, \
             SUM(CASE WHEN f.status = 'error' THEN 1 ELSE 0 END) AS error, \
             SUM(CASE WHEN f.status = 'pass' THEN 1 ELSE 0 END) AS pass, \
             MAX(f.severity_rank) AS top_rank \
             FROM findings f{join} WHERE f.workspace_id = $1{} GROUP BY {group} \
             ORDER BY SUM(CASE WHEN f.status IN ('fail', 'error') THEN 1 ELSE 0 END) DESC, MAX(f.severity_rank) DESC, {key} \
             LIMIT ${n} OFFSET ${}",
            cond.sql,
            n + 1
        );
        let count = format!(
            "SELECT COUNT(DISTINCT {group}) AS n FROM findings f WHERE f.workspace_id = $1{}",
            cond.sql
        );
        self.paged(scope, &cond, &list, &count, page, |row| {
            let get = |c: &str| -> Result<u64> {
                Ok(u64::try_from(row.try_get::<i64, _>(c)?).unwrap_or(0))
            };
            Ok(FindingGroup {
                key: row.try_get("k")?,
                label: row.try_get("label")?,
                fail: get("fail")?,
                error: get("error")?,
                pass: get("pass")?,
            })
        })
        .await
    }

    pub(crate) async fn list_findings(
        &self,
        scope: &WorkspaceScope,
        filter: &FindingFilter,
        page: Page,
        known_total: Option<u64>,
    ) -> Result<Paged<FindingRecord>> {
        let cond = finding_conditions(filter);
        let n = cond.binds.len() + 2;
        let list = sql::select_findings_page(&cond.sql, &format!(" LIMIT ${n} OFFSET ${}", n + 1));
        let count = format!("{}{}", sql::COUNT_FINDINGS, cond.sql);
        self.paged_counted(
            scope,
            &cond,
            &list,
            &count,
            page,
            finding_from_row,
            known_total,
        )
        .await
    }

    /// How many findings meet the filter.
    pub(crate) async fn count_findings(
        &self,
        scope: &WorkspaceScope,
        filter: &FindingFilter,
    ) -> Result<u64> {
        let cond = finding_conditions(filter);
        let count = format!("{}{}", sql::COUNT_FINDINGS, cond.sql);
        let mut tx = self.begin_workspace(scope.workspace_id()).await?;
        count_with(&mut tx, scope, &count, &cond).await
    }

    /// The next `limit` findings after `after` in the list order (keyset paging: each page costs
    /// the same however deep it is, unlike `OFFSET`).
    pub(crate) async fn findings_after(
        &self,
        scope: &WorkspaceScope,
        filter: &FindingFilter,
        after: Option<&crate::types::FindingCursor>,
        limit: u32,
    ) -> Result<Vec<FindingRecord>> {
        let rank = after.map(|c| severity_rank(c.severity).to_string());
        let mut cond = finding_conditions(filter);
        if let (Some(c), Some(rank)) = (after, rank.as_deref()) {
            cond.binds.push(rank.into());
            cond.binds.push(c.control_id.as_str().into());
            cond.binds.push(c.asset_id.as_str().into());
            let n = cond.binds.len() + 1;
            let (r, ctl, asset) = (n - 2, n - 1, n);
            cond.sql.push_str(&format!(
                " AND (f.severity_rank < CAST(${r} AS INTEGER) OR (f.severity_rank = CAST(${r} AS INTEGER) \
                 AND (f.control_id > ${ctl} OR (f.control_id = ${ctl} AND f.asset_seq > \
                   (SELECT ca.seq FROM assets ca WHERE ca.workspace_id = $1 AND ca.id = ${asset})))))"
            ));
        }
        let list =
            sql::select_findings_page(&cond.sql, &format!(" LIMIT ${}", cond.binds.len() + 2));
        let mut tx = self.begin_workspace(scope.workspace_id()).await?;
        rows_with(&mut tx, scope, &list, &cond, limit, finding_from_row).await
    }

    pub(crate) async fn finding(
        &self,
        scope: &WorkspaceScope,
        finding_id: &str,
    ) -> Result<Option<FindingRecord>> {
        let mut tx = self.begin_workspace(scope.workspace_id()).await?;
        sqlx::query(sql::GET_FINDING)
            .bind(scope.workspace_id())
            .bind(finding_id)
            .fetch_optional(&mut *tx)
            .await?
            .as_ref()
            .map(finding_from_row)
            .transpose()
    }

    pub(crate) async fn finding_counts(&self, scope: &WorkspaceScope) -> Result<Vec<FindingCount>> {
        let mut tx = self.begin_workspace(scope.workspace_id()).await?;
        let rows = sqlx::query(sql::FINDING_COUNTS)
            .bind(scope.workspace_id())
            .fetch_all(&mut *tx)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(FindingCount {
                    status: parse("status", &row.try_get::<String, _>("status")?)?,
                    severity: {
                        let rank: i64 = row.try_get("severity_rank")?;
                        Severity::ALL
                            .into_iter()
                            .find(|s| severity_rank(*s) == rank)
                            .ok_or_else(|| StoreError::Invalid {
                                field: "severity_rank",
                                message: format!("{rank} is not a severity rank"),
                            })?
                    },
                    count: get_u64(row, "n")?,
                })
            })
            .collect()
    }

    pub(crate) async fn control_counts(&self, scope: &WorkspaceScope) -> Result<Vec<ControlCount>> {
        let mut tx = self.begin_workspace(scope.workspace_id()).await?;
        let rows = sqlx::query(sql::CONTROL_COUNTS)
            .bind(scope.workspace_id())
            .fetch_all(&mut *tx)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(ControlCount {
                    control_id: row.try_get("control_id")?,
                    status: parse("status", &row.try_get::<String, _>("status")?)?,
                    count: get_u64(row, "n")?,
                })
            })
            .collect()
    }

    pub(crate) async fn scan(&self, scope: &WorkspaceScope, id: &str) -> Result<Option<Scan>> {
        let mut tx = self.begin_workspace(scope.workspace_id()).await?;
        let row = sqlx::query("SELECT * FROM scans WHERE workspace_id = $1 AND id = $2")
            .bind(scope.workspace_id())
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        row.as_ref().map(scan_from_row).transpose()
    }

    pub(crate) async fn list_scans(
        &self,
        scope: &WorkspaceScope,
        page: Page,
    ) -> Result<Paged<Scan>> {
        let mut tx = self.begin_workspace(scope.workspace_id()).await?;
        let rows = sqlx::query(sql::LIST_SCANS)
            .bind(scope.workspace_id())
            .bind(i64::from(page.limit()))
            .bind(to_i64(page.offset()))
            .fetch_all(&mut *tx)
            .await?;
        let total: i64 = sqlx::query(sql::COUNT_SCANS)
            .bind(scope.workspace_id())
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        Ok(Paged {
            items: rows.iter().map(scan_from_row).collect::<Result<_>>()?,
            total: u64::try_from(total).unwrap_or(0),
            limit: page.limit(),
            offset: page.offset(),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Every pooled SQLite connection cuts the write-ahead log back to 1 GiB after a checkpoint
    /// (without the limit one large import leaves it at gigabytes) and keeps a 64 MiB page cache.
    #[tokio::test]
    async fn sqlite_connections_bound_the_write_ahead_log() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::Store::open_data_dir(dir.path()).await.unwrap();
        let pool = &store.backend.pool;
        let limit: i64 = sqlx::query("PRAGMA journal_size_limit")
            .fetch_one(pool)
            .await
            .unwrap()
            .get(0);
        assert_eq!(limit, 1024 * 1024 * 1024);
        let cache: i64 = sqlx::query("PRAGMA cache_size")
            .fetch_one(pool)
            .await
            .unwrap()
            .get(0);
        assert_eq!(cache, -65536);
    }

    /// A recording resets the write-ahead log even when a reader held an older snapshot while
    /// it committed (as workers and the web app always do): the next write starts the log from
    /// the beginning instead of appending to the recording's frames, so the log does not grow
    /// by every import. Without the checkpoint after the recording, SQLite's own checkpoint
    /// at commit stops at the reader's snapshot and the log is never reset.
    #[tokio::test]
    async fn a_recording_resets_the_write_ahead_log_despite_readers() {
        use rampart_model::{Asset, Inventory, Provider, ResourceType};
        let dir = tempfile::tempdir().unwrap();
        let store = crate::Store::open_data_dir(dir.path()).await.unwrap();
        store.create_workspace("acme", "Acme").await.unwrap();
        let scope = store.operator_scope("acme").await.unwrap().unwrap();
        let t = ResourceType::parse("aws.s3.bucket").unwrap();
        let now = Utc::now();
        let assets: Vec<Asset> = (0..300)
            .map(|i| {
                let native = format!("arn:aws:s3:::bucket-{i}");
                Asset {
                    id: Asset::make_id(Provider::Aws, "111122223333", "", &t, &native),
                    provider: Provider::Aws,
                    account: "111122223333".into(),
                    region: String::new(),
                    resource_type: t.clone(),
                    native_id: native.clone(),
                    name: native,
                    tags: Default::default(),
                    config: serde_json::json!({ "policy": "x".repeat(2_000) }),
                    first_seen: now,
                    last_seen: now,
                }
            })
            .collect();
        let inventory = Inventory {
            assets,
            ..Default::default()
        };

        // A reader opens a snapshot before the recording and ends it while the recording's
        // checkpoint waits for it.
        let mut reader = store.backend.pool.acquire().await.unwrap();
        sqlx::query("BEGIN").execute(&mut *reader).await.unwrap();
        sqlx::query("SELECT COUNT(*) FROM workspaces")
            .fetch_one(&mut *reader)
            .await
            .unwrap();
        let release = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(500)).await;
            sqlx::query("COMMIT").execute(&mut *reader).await.unwrap();
        });
        store
            .scoped(&scope)
            .record_scan("big", &inventory, &[], |_| rampart_model::Severity::Low)
            .await
            .unwrap();
        release.await.unwrap();

        // One small write, then count the frames in the log.
        store.create_workspace("other", "Other").await.unwrap();
        let row = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_one(&store.backend.pool)
            .await
            .unwrap();
        let frames: i64 = row.get(1);
        assert!(
            frames < 100,
            "the log holds {frames} frames after one small write: it was not reset after the recording"
        );
    }

    /// The architecture invariant of this crate, checked on the SQL text: every statement on a
    /// customer table is confined to the workspace bound as `$1` — reads, updates and deletes
    /// filter on `workspace_id = $1`, inserts write `$1` into `workspace_id` (a copying insert
    /// reads only rows with `workspace_id = $1`) (and their upsert
    /// branches filter on it too where there is one).
    #[test]
    fn customer_queries_are_scoped() {
        for q in sql::customer() {
            let normalized = q.split_whitespace().collect::<Vec<_>>().join(" ");
            let is_insert = normalized.starts_with("INSERT INTO");
            if is_insert {
                let columns = normalized
                    .split_once('(')
                    .map(|(_, rest)| rest)
                    .unwrap_or_default();
                // `INSERT … VALUES ($1, …)`, or `INSERT … SELECT $1, …` whose row source (up to
                // any ON CONFLICT) reads the same workspace only (`workspace_id = $1`), or only
                // the rows of a JSON parameter.
                let source = normalized
                    .split_once(") SELECT $1,")
                    .map(|(_, rest)| rest.split(" ON CONFLICT ").next().unwrap_or(rest))
                    .unwrap_or_default();
                let from_parameter = ["FROM json_each($", "FROM jsonb_array_elements($"]
                    .iter()
                    .any(|f| source.contains(f))
                    && !source.contains(" JOIN ");
                let writes_scope = normalized.contains("VALUES ($1,")
                    || (!source.is_empty()
                        && (source.contains("workspace_id = $1") || from_parameter));
                assert!(
                    columns.starts_with("workspace_id,") && writes_scope,
                    "insert does not write $1 into workspace_id: {normalized}"
                );
                if normalized.contains("DO UPDATE") {
                    assert!(
                        normalized.contains("workspace_id = $1"),
                        "upsert does not filter on workspace_id = $1: {normalized}"
                    );
                }
            } else {
                assert!(
                    normalized.contains("workspace_id = $1"),
                    "statement not scoped by workspace_id = $1: {normalized}"
                );
            }
        }
    }

    /// Every statement that names a customer table is listed in `sql::customer()`.
    #[test]
    fn customer_query_list_is_complete() {
        let all = [
            sql::INSERT_WORKSPACE,
            sql::WORKSPACE_BY_SLUG,
            sql::MEMBER_SCOPE,
            sql::UPSERT_MEMBERSHIP,
            sql::WORKSPACES_OF_USER,
            sql::INSERT_USER,
            sql::SET_PASSWORD,
            sql::USER_BY_ID,
            sql::USER_BY_EMAIL,
            sql::USER_WITH_HASH,
            sql::INSERT_SESSION,
            sql::SESSION_BY_HASH,
            sql::TOUCH_SESSION,
            sql::DELETE_SESSION,
            sql::DELETE_USER_SESSIONS,
            sql::PURGE_SESSIONS,
            sql::PURGE_LOGIN_FAILURES,
            sql::APPLIED_MIGRATIONS,
        ];
        for q in all {
            for table in [" assets", " relationships", " scans", " findings"] {
                assert!(
                    !q.contains(table),
                    "non-customer statement touches{table}: {q}"
                );
            }
        }
    }

    #[test]
    fn generated_statements() {
        assert_eq!(
            sql::insert_relationships(Dialect::Postgres)
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
            "INSERT INTO relationships (workspace_id, from_id, to_id, kind) SELECT $1, j.value ->> 0, j.value ->> 1, j.value ->> 2 FROM jsonb_array_elements($2::jsonb) AS j(value) WHERE true ON CONFLICT (workspace_id, from_id, to_id, kind) DO NOTHING"
        );
        assert!(sql::upsert_findings(Dialect::Sqlite).contains(
            "j.value ->> 6, j.value ->> 7, $2, $2, NULL, $3, $3 FROM json_each($4) AS j"
        ));
        assert!(
            sql::stored_hashes(Dialect::Postgres).contains(
                "FROM json_array_elements_text($2::json) AS j(value) CROSS JOIN assets a"
            )
        );
        // New assets numbered from `$4` on SQLite, by the column's sequence on PostgreSQL.
        assert!(
            sql::upsert_assets(Dialect::Sqlite)
                .contains("j.value ->> 11, $2, $4 + j.key FROM json_each($3) AS j WHERE true")
        );
        assert!(sql::upsert_assets(Dialect::Postgres).contains(
            "j.value ->> 11, $2 FROM jsonb_array_elements($3::jsonb) AS j(value) WHERE true"
        ));
        let mut c = Conditions::default();
        c.eq("type", Some("aws.s3.bucket"));
        c.eq("region", None);
        c.eq("account", Some("1"));
        let (list, count) = c.statements(
            "SELECT x FROM assets WHERE workspace_id = $1",
            "SELECT COUNT(*) FROM assets WHERE workspace_id = $1",
            " ORDER BY x",
        );
        assert_eq!(
            list,
            "SELECT x FROM assets WHERE workspace_id = $1 AND type = $2 AND account = $3 ORDER BY x LIMIT $4 OFFSET $5"
        );
        assert_eq!(
            count,
            "SELECT COUNT(*) FROM assets WHERE workspace_id = $1 AND type = $2 AND account = $3"
        );
        assert_eq!(c.binds, ["aws.s3.bucket", "1"]);
        let mut c = Conditions::default();
        c.eq("type", Some("t"));
        c.bound(" AND id IN (SELECT x FROM y WHERE z = {})", "v".to_owned());
        assert_eq!(
            c.sql,
            " AND type = $2 AND id IN (SELECT x FROM y WHERE z = $3)"
        );
    }

    #[test]
    fn dedup_keeps_last_in_first_seen_order() {
        let items = [("a", 1), ("b", 2), ("a", 3)];
        let kept: Vec<_> = dedup_last(&items, |x| x.0).into_iter().copied().collect();
        assert_eq!(kept, [("b", 2), ("a", 3)]);
    }

    #[test]
    fn timestamps_sort_as_text() {
        let a = DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z")
            .expect("ts")
            .with_timezone(&Utc);
        let b = a + TimeDelta::microseconds(1);
        assert!(ts(a) < ts(b));
        assert_eq!(ts(a), "2026-01-02T03:04:05.000000Z");
        assert_eq!(parse_ts(&ts(b)).expect("parse"), b);
    }
}
