//! Migrations apply on open, are idempotent, and (SQLite) the database runs in WAL mode with
//! foreign keys. The PostgreSQL schema's equivalents (row-level security, primary keys led by
//! `workspace_id`, the roles) are checked in `rls.rs`.
#![allow(clippy::unwrap_used)]

mod common;

use rampart_store::SQLITE_FILE_NAME;
use sqlx::Row as _;

#[tokio::test]
async fn migrations_apply_once_and_reopen_cleanly() {
    let db = common::open().await;
    let applied = db.store.applied_migrations().await.unwrap();
    assert_eq!(
        applied,
        [
            "initial",
            "findings order index",
            "identity",
            "sso",
            "jobs",
            "exemptions",
            "job kinds",
            "notifications",
            "saved queries",
            "asset lifecycle",
            "connection checks",
            "asset changes",
            "custom controls",
            "report files",
            "asset gone index",
            "backup jobs",
            "findings change partial",
            "findings scan reference"
        ]
    );
    // Running again is a no-op.
    db.store.migrate().await.unwrap();
    db.store.close().await;

    let again = db.reopen().await;
    assert_eq!(again.applied_migrations().await.unwrap().len(), 18);
    again.close().await;
}

#[tokio::test]
async fn database_is_wal_private_and_tenant_keyed() {
    // About the SQLite file itself: SQLite whatever the backend under test.
    let db = common::open_sqlite().await;
    common::workspace(&db.store, "acme").await;
    let path = db.dir.path().join(SQLITE_FILE_NAME);

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "database file must be private to its owner");
    }

    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(&path);
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect_with(&options)
        .await
        .unwrap();
    let mode: String = sqlx::query("PRAGMA journal_mode")
        .fetch_one(&mut conn)
        .await
        .unwrap()
        .get(0);
    assert_eq!(mode, "wal");
    let tables: Vec<String> = sqlx::query(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\' \
         AND name NOT LIKE 'sqlite%' ORDER BY name",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap()
    .iter()
    .map(|r| r.get::<String, _>(0))
    .collect();
    assert_eq!(
        tables,
        [
            "api_tokens",
            "asset_changes",
            "assets",
            "audit_heads",
            "audit_log",
            "backup_jobs",
            "connectors",
            "custom_controls",
            "finding_exemptions",
            "findings",
            "invitations",
            "jobs",
            "login_failures",
            "memberships",
            "notification_channels",
            "notification_deliveries",
            "notification_digests",
            "notification_jira_issues",
            "notification_rules",
            "organizations",
            "password_resets",
            "recovery_codes",
            "relationships",
            "report_files",
            "saved_queries",
            "scans",
            "sessions",
            "sso_configs",
            "sso_identities",
            "sso_logins",
            "support_grants",
            "users",
            "workspaces"
        ]
    );
    // Every table of workspace data carries workspace_id as the first column of its primary key.
    for table in [
        "assets",
        "asset_changes",
        "relationships",
        "scans",
        "findings",
        "invitations",
        "api_tokens",
        "support_grants",
        "connectors",
        "jobs",
        "finding_exemptions",
        "saved_queries",
        "custom_controls",
        "report_files",
    ] {
        let pk: Vec<(i64, String)> = sqlx::query(&format!("PRAGMA table_info({table})"))
            .fetch_all(&mut conn)
            .await
            .unwrap()
            .iter()
            .filter(|r| r.get::<i64, _>("pk") > 0)
            .map(|r| (r.get::<i64, _>("pk"), r.get::<String, _>("name")))
            .collect();
        assert!(
            pk.contains(&(1, "workspace_id".to_string())),
            "{table} primary key does not start with workspace_id: {pk:?}"
        );
    }
}
