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
            "findings scan reference",
            "asset sequence"
        ]
    );
    // Running again is a no-op.
    db.store.migrate().await.unwrap();
    db.store.close().await;

    let again = db.reopen().await;
    assert_eq!(again.applied_migrations().await.unwrap().len(), 19);
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

/// Migration 20 on a database that already holds data (on the backend under test): assets get
/// sequence numbers, findings are copied with their asset's, the exemptions survive (on SQLite
/// the findings table is rebuilt, and dropping the old one cascades to them), and recording
/// goes on from there.
#[tokio::test]
async fn the_asset_sequence_migration_keeps_findings_and_exemptions() {
    use common::{asset, at, eval};
    use rampart_model::{FindingStatus, Inventory, Severity, finding_id};
    use rampart_store::{FindingFilter, Page, Store};

    let one = asset(
        "aws.s3.bucket",
        "arn:aws:s3:::one",
        at(1),
        serde_json::json!({}),
    );
    let two = asset(
        "aws.s3.bucket",
        "arn:aws:s3:::two",
        at(1),
        serde_json::json!({}),
    );
    let ws_id = "wks_upgrade";
    let exempted = finding_id(ws_id, "ctl-a", &one.id);
    // Rows as the store wrote them before migration 20 (`one` stored before `two`).
    let t = "2026-03-01T01:00:00.000000Z";
    let mut rows = vec![
        format!(
            "INSERT INTO workspaces (id, slug, name, created_at) VALUES ('{ws_id}', 'upgrade', 'Upgrade', '{t}')"
        ),
        format!(
            "INSERT INTO scans (workspace_id, id, source, status, started_at, finished_at, asset_count, pass_count, fail_count, error_count) VALUES ('{ws_id}', 'scn_old', 'test', 'succeeded', '{t}', '{t}', 2, 1, 2, 0)"
        ),
    ];
    for a in [&one, &two] {
        rows.push(format!(
            "INSERT INTO assets (workspace_id, id, provider, account, region, type, native_id, name, tags, config, first_seen, last_seen, last_scan_id) \
             VALUES ('{ws_id}', '{}', 'aws', '{}', '{}', 'aws.s3.bucket', '{}', '{}', '{{}}', '{{}}', '{t}', '{t}', 'scn_old')",
            a.id, a.account, a.region, a.native_id, a.name
        ));
    }
    for (control, a, status) in [
        ("ctl-a", &one, "fail"),
        ("ctl-a", &two, "pass"),
        ("ctl-b", &one, "fail"),
    ] {
        rows.push(format!(
            "INSERT INTO findings (workspace_id, id, control_id, asset_id, status, severity, severity_rank, reason, first_seen, last_seen, last_scan_id, change_kind, change_scan_id) \
             VALUES ('{ws_id}', '{}', '{control}', '{}', '{status}', 'high', 4, '', '{t}', '{t}', 'scn_old', NULL, 'scn_old')",
            finding_id(ws_id, control, &a.id),
            a.id
        ));
    }
    rows.push(format!(
        "INSERT INTO finding_exemptions (workspace_id, finding_id, reason, expires_at, created_by, created_by_label, created_at) \
         VALUES ('{ws_id}', '{exempted}', 'accepted', '2999-01-01T00:00:00.000000Z', 'usr_x', 'x@example.com', '{t}')"
    ));
    async fn before(dir: &str) -> sqlx::migrate::Migrator {
        let mut migrator = sqlx::migrate::Migrator::new(std::path::Path::new(&format!(
            "{}/migrations/{dir}",
            env!("CARGO_MANIFEST_DIR")
        )))
        .await
        .unwrap();
        let kept: Vec<_> = migrator
            .migrations
            .iter()
            .filter(|m| m.version < 20)
            .cloned()
            .collect();
        assert_eq!(kept.len(), 18);
        migrator.migrations = kept.into();
        migrator
    }

    let dir = tempfile::tempdir().unwrap();
    let (store, pg) = match common::backend() {
        common::Backend::Sqlite => {
            let options = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(dir.path().join(SQLITE_FILE_NAME))
                .create_if_missing(true)
                .foreign_keys(true);
            let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
            before("sqlite").await.run(&pool).await.unwrap();
            for r in &rows {
                sqlx::query(r).execute(&pool).await.expect(r);
            }
            pool.close().await;
            // Opening the store applies migration 20.
            (Store::open_data_dir(dir.path()).await.unwrap(), None)
        }
        common::Backend::Postgres => {
            let server = common::pg::PgServer::start_unmigrated();
            let owner = sqlx::PgPool::connect(&server.owner_url()).await.unwrap();
            before("postgres").await.run(&owner).await.unwrap();
            owner.close().await;
            // As the superuser, which row-level security does not apply to.
            let mut admin = server.superuser().await;
            for r in &rows {
                sqlx::query(r).execute(&mut admin).await.expect(r);
            }
            Store::migrate_url(&server.owner_url(), common::pg::APP_ROLE)
                .await
                .unwrap();
            (
                Store::open_url(&server.app_url()).await.unwrap(),
                Some(server),
            )
        }
    };
    let db = common::TestDb { dir, store, pg };

    let scope = db.store.operator_scope("upgrade").await.unwrap().unwrap();
    let ws = db.store.scoped(&scope);
    assert!(
        ws.exemption(&exempted).await.unwrap().is_some(),
        "the exemption was lost with the old findings table"
    );
    let of = |a: &rampart_model::Asset| FindingFilter {
        asset_id: Some(a.id.clone()),
        ..FindingFilter::default()
    };
    assert_eq!(
        ws.list_findings(&of(&one), Page::new(10, 0))
            .await
            .unwrap()
            .total,
        2
    );
    assert_eq!(
        ws.list_findings(&of(&two), Page::new(10, 0))
            .await
            .unwrap()
            .items[0]
            .finding
            .status,
        FindingStatus::Pass
    );

    // A later scan: the stored assets keep their numbers, a new one gets a higher one.
    let three = asset(
        "aws.s3.bucket",
        "arn:aws:s3:::three",
        at(2),
        serde_json::json!({}),
    );
    let inventory = Inventory {
        assets: vec![one.clone(), two.clone(), three.clone()],
        relationships: vec![],
    };
    let evals = vec![
        eval("ctl-a", &one, FindingStatus::Pass),
        eval("ctl-a", &two, FindingStatus::Fail),
        eval("ctl-a", &three, FindingStatus::Fail),
    ];
    ws.record_scan_at("test", &inventory, &evals, |_| Severity::High, at(2))
        .await
        .unwrap();
    assert_eq!(
        ws.list_findings(&of(&three), Page::new(10, 0))
            .await
            .unwrap()
            .total,
        1
    );

    let ids = db.admin_strings("SELECT id FROM assets ORDER BY seq").await;
    assert_eq!(ids, [one.id.clone(), two.id.clone(), three.id.clone()]);
    let mismatched = db
        .admin_strings(
            "SELECT f.id FROM findings f LEFT JOIN assets a \
             ON a.workspace_id = f.workspace_id AND a.seq = f.asset_seq AND a.id = f.asset_id \
             WHERE a.id IS NULL",
        )
        .await;
    assert!(
        mismatched.is_empty(),
        "asset_seq does not match: {mismatched:?}"
    );
    assert_eq!(db.admin_strings("SELECT id FROM findings").await.len(), 4);
}
