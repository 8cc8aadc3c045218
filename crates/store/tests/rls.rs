//! Row-level security on PostgreSQL: tenant separation holds inside the database itself, not
//! only in the store's SQL. These tests are about PostgreSQL, so they run a PostgreSQL server
//! whatever `RAMPART_TEST_BACKEND` says (a missing PostgreSQL fails them: run
//! `eval "$(scripts/test-deps)"`).
//!
//! - every table with a `workspace_id` column (and the audit tables, keyed by `chain`) has row-level
//!   security enabled and forced, a policy on `rampart.workspace_id` for reads and writes, and a
//!   primary key led by that column;
//! - as the application role with no scope set, every such table answers no rows although data
//!   is present;
//! - a pooled connection reused after a scoped transaction carries no scope over;
//! - a cross-workspace insert or update is rejected;
//! - the application role is not superuser, not BYPASSRLS and owns no table;
//! - the reviewed exceptions answer no more than they should.
#![allow(clippy::unwrap_used)]

mod common;

use chrono::{TimeDelta, Utc};
use common::pg::{APP_ROLE, OWNER_ROLE, PgServer};
use common::{at, eval, inventory, severity_of};
use rampart_model::FindingStatus;
use rampart_store::audit::{ActorKind, AuditEvent, Outcome};
use rampart_store::{Page, Role, Store, Vault, WorkspaceScope};
use sqlx::{Connection as _, Row as _};

/// Tables whose rows belong to one workspace, and the column that says which.
const WORKSPACE_TABLES: [(&str, &str); 22] = [
    ("api_tokens", "workspace_id"),
    ("asset_changes", "workspace_id"),
    ("assets", "workspace_id"),
    ("audit_heads", "chain"),
    ("audit_log", "chain"),
    ("connectors", "workspace_id"),
    ("custom_controls", "workspace_id"),
    ("finding_exemptions", "workspace_id"),
    ("findings", "workspace_id"),
    ("invitations", "workspace_id"),
    ("jobs", "workspace_id"),
    ("memberships", "workspace_id"),
    ("notification_channels", "workspace_id"),
    ("notification_deliveries", "workspace_id"),
    ("notification_digests", "workspace_id"),
    ("notification_jira_issues", "workspace_id"),
    ("notification_rules", "workspace_id"),
    ("relationships", "workspace_id"),
    ("report_files", "workspace_id"),
    ("saved_queries", "workspace_id"),
    ("scans", "workspace_id"),
    ("support_grants", "workspace_id"),
];

fn ev(action: &str) -> AuditEvent {
    AuditEvent::new(action, Outcome::Success).actor(ActorKind::User, "usr_test", "t@example.com")
}

struct Fixture {
    server: PgServer,
    store: Store,
    a: WorkspaceScope,
    b: WorkspaceScope,
    token_secret: String,
    invitation_token: String,
    alice_id: String,
}

/// Two workspaces with data in every workspace table.
async fn fixture() -> Fixture {
    let server = PgServer::start().await;
    let store = Store::open_url(&server.app_url()).await.unwrap();
    assert_eq!(store.backend_name(), "postgres");
    let mut scopes = Vec::new();
    for slug in ["alpha", "bravo"] {
        let scope = common::workspace(&store, slug).await;
        let ws = store.scoped(&scope);
        let inv = inventory(at(1));
        let evals: Vec<_> = inv
            .assets
            .iter()
            .map(|a| eval("aws-demo-control", a, FindingStatus::Fail))
            .collect();
        ws.record_scan_at("test", &inv, &evals, severity_of, at(1))
            .await
            .unwrap();
        // A second scan that changes an asset, so that asset_changes has a row.
        let mut changed = inv.clone();
        changed.assets[0].config = serde_json::json!({"changed": true});
        ws.record_scan_at("test", &changed, &evals, severity_of, at(2))
            .await
            .unwrap();
        let finding = ws
            .list_findings(&rampart_store::FindingFilter::default(), Page::new(1, 0))
            .await
            .unwrap()
            .items[0]
            .finding
            .id
            .clone();
        ws.exempt_finding(
            &finding,
            "accepted",
            Utc::now() + TimeDelta::days(1),
            ev("finding.exempt"),
        )
        .await
        .unwrap();
        scopes.push(scope);
    }
    let (a, b) = (scopes[0].clone(), scopes[1].clone());
    let alice = store
        .create_user("alice@example.com", "violet kettle harbour")
        .await
        .unwrap();
    let operator = store
        .create_user("op@example.com", "violet kettle harbour")
        .await
        .unwrap();
    store
        .set_operator(&operator.id, true, ev("user.operator"))
        .await
        .unwrap();
    let vault = Vault::from_key_text(&Vault::generate_key_line("k1"), "test").unwrap();
    let mut token_secret = String::new();
    let mut invitation_token = String::new();
    for (scope, slug) in [(&a, "alpha"), (&b, "bravo")] {
        store
            .set_membership(scope, &alice.id, Role::Owner)
            .await
            .unwrap();
        let (_, secret) = store
            .create_api_token(
                scope,
                "ci",
                Role::Viewer,
                Utc::now() + TimeDelta::days(1),
                ev("token.create"),
            )
            .await
            .unwrap();
        let (_, invite) = store
            .create_invitation(scope, "new@example.com", Role::Viewer, ev("member.invite"))
            .await
            .unwrap();
        store
            .create_connector(
                scope,
                "aws",
                "aws",
                &serde_json::json!({}),
                b"secret",
                &vault,
                ev("connector.create"),
            )
            .await
            .unwrap();
        let connector = store.list_connectors(scope).await.unwrap().remove(0);
        store
            .enqueue_job(
                scope,
                rampart_store::NewJob::scan(&connector.id),
                ev("job.enqueue"),
            )
            .await
            .unwrap();
        store
            .request_support(&operator, slug, "help", ev("support.request"))
            .await
            .unwrap();
        store
            .save_query(
                scope,
                "prod",
                "resource.tags.env == 'prod'",
                ev("query.save"),
            )
            .await
            .unwrap();
        store
            .create_custom_control(
                scope,
                &serde_json::from_value(serde_json::json!({
                    "title": "Prod buckets",
                    "severity": "high",
                    "resource_types": ["aws.s3.bucket"],
                    "query": "resource.tags.env == 'prod'",
                    "frameworks": {"soc2": ["CC6.1"]},
                }))
                .unwrap(),
                ev("control.create"),
            )
            .await
            .unwrap();
        // A report file, as a report job keeps it.
        store
            .save_report_file(
                scope,
                "job_fixture_report",
                "soc2",
                "rampart-report.pdf",
                "application/pdf",
                b"%PDF-1.7 fixture",
            )
            .await
            .unwrap();
        // Notification channel, rule, delivery, Jira issue (the digest slot below).
        let channel = store
            .create_channel(
                scope,
                &serde_json::from_value(serde_json::json!({
                    "name": "mail",
                    "kind": "email",
                    "digest": true,
                    "settings": {"recipients": ["sec@example.com"]},
                }))
                .unwrap(),
                &vault,
                ev("notification.channel.create"),
            )
            .await
            .unwrap();
        store
            .create_rule(
                scope,
                &serde_json::from_value(serde_json::json!({
                    "name": "all", "min_severity": "info", "channels": [channel.id],
                }))
                .unwrap(),
                ev("notification.rule.create"),
            )
            .await
            .unwrap();
        store
            .record_delivery(
                scope,
                &rampart_store::DeliveryAttempt {
                    job_id: "job_x",
                    rule_id: None,
                    channel_id: &channel.id,
                    purpose: rampart_store::Purpose::Test,
                    findings: 0,
                    status_code: None,
                    error: None,
                },
            )
            .await
            .unwrap();
        store
            .save_jira_issue(
                scope,
                &channel.id,
                "aws-demo-control",
                &rampart_store::JiraIssue {
                    issue_key: "SEC-1".into(),
                    resolved: false,
                },
            )
            .await
            .unwrap();
        if slug == "alpha" {
            token_secret = secret;
            invitation_token = invite;
        }
    }
    assert_eq!(
        store
            .schedule_digests(Utc::now() + TimeDelta::days(7))
            .await
            .unwrap()
            .len(),
        2
    );
    store.audit(None, &ev("auth.login")).await.unwrap();
    Fixture {
        server,
        store,
        a,
        b,
        token_secret,
        invitation_token,
        alice_id: alice.id,
    }
}

async fn count(conn: &mut sqlx::PgConnection, table: &str) -> i64 {
    sqlx::query(&format!("SELECT COUNT(*) FROM {table}"))
        .fetch_one(conn)
        .await
        .unwrap()
        .get(0)
}

async fn set_scope(conn: &mut sqlx::PgConnection, name: &str, value: &str) {
    sqlx::query("SELECT set_config($1, $2, true)")
        .bind(name)
        .bind(value)
        .execute(conn)
        .await
        .unwrap();
}

#[tokio::test]
async fn every_table_with_a_workspace_id_has_forced_rls_a_policy_and_a_workspace_led_key() {
    let server = PgServer::start().await;
    let mut conn = server.superuser().await;
    // Every table of the schema with a workspace_id column (or the audit chain column).
    let tables: Vec<(String, String)> = sqlx::query(
        "SELECT c.table_name::text, c.column_name::text FROM information_schema.columns c \
         JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name \
         WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' \
           AND (c.column_name = 'workspace_id' OR (c.column_name = 'chain' AND c.table_name LIKE 'audit%')) \
         ORDER BY 1",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect();
    let expected: Vec<(String, String)> = WORKSPACE_TABLES
        .iter()
        .map(|(t, c)| (t.to_string(), c.to_string()))
        .collect();
    assert_eq!(
        tables, expected,
        "a new table of workspace data must be listed here"
    );
    for (table, column) in &tables {
        let row = sqlx::query(
            "SELECT relrowsecurity, relforcerowsecurity, pg_get_userbyid(relowner)::text \
             FROM pg_class WHERE oid = ('public.' || $1)::regclass",
        )
        .bind(table)
        .fetch_one(&mut conn)
        .await
        .unwrap();
        assert!(
            row.get::<bool, _>(0),
            "{table}: row-level security not enabled"
        );
        assert!(
            row.get::<bool, _>(1),
            "{table}: row-level security not forced"
        );
        assert_eq!(row.get::<String, _>(2), OWNER_ROLE, "{table}: owner");
        // A policy for every command comparing the column with the scope, on reads and writes.
        let policies: Vec<(String, String, Option<String>, Option<String>)> = sqlx::query(
            "SELECT policyname::text, cmd::text, qual, with_check FROM pg_policies \
             WHERE schemaname = 'public' AND tablename = $1",
        )
        .bind(table)
        .fetch_all(&mut conn)
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect();
        let isolation = policies
            .iter()
            .find(|p| p.0 == "workspace_isolation")
            .unwrap_or_else(|| panic!("{table}: no workspace_isolation policy: {policies:?}"));
        assert_eq!(isolation.1, "ALL", "{table}");
        let scoped = format!("({column} = current_setting('rampart.workspace_id'::text, true))");
        for clause in [&isolation.2, &isolation.3] {
            let clause = clause.as_deref().unwrap_or_default();
            assert!(clause.contains(&scoped), "{table}: {clause}");
        }
        // Every other policy is a reviewed, read-only exception, but for the queue's: the owner
        // role (behind the claim and reaper functions only) may update jobs.
        for p in &policies {
            if p.0 == "owner_queue_update" && table == "jobs" {
                assert_eq!(p.1, "UPDATE", "{table}");
                let roles: Vec<String> = sqlx::query(
                    "SELECT unnest(roles)::text FROM pg_policies WHERE tablename = 'jobs' AND policyname = 'owner_queue_update'",
                )
                .fetch_all(&mut conn)
                .await
                .unwrap()
                .iter()
                .map(|r| r.get(0))
                .collect();
                assert_eq!(roles, vec![OWNER_ROLE.to_owned()], "{table}: {}", p.0);
                continue;
            }
            if p.0 != "workspace_isolation" {
                assert_eq!(
                    p.1, "SELECT",
                    "{table}: exception {} must be read-only",
                    p.0
                );
                assert!(
                    [
                        "own_memberships",
                        "own_support_grants",
                        "owner_lookup",
                        "owner_queue_read"
                    ]
                    .contains(&p.0.as_str()),
                    "{table}: unreviewed policy {}",
                    p.0
                );
            }
        }
        // The primary key starts with the workspace column (tables can be distributed by it).
        let first: String = sqlx::query(
            "SELECT a.attname::text FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] \
             WHERE i.indrelid = ('public.' || $1)::regclass AND i.indisprimary",
        )
        .bind(table)
        .fetch_one(&mut conn)
        .await
        .unwrap()
        .get(0);
        assert_eq!(&first, column, "{table}: primary key not led by {column}");
    }
}

#[tokio::test]
async fn without_a_scope_every_workspace_table_returns_no_rows() {
    let f = fixture().await;
    let mut admin = f.server.superuser().await;
    let mut app = f.server.app().await;
    for (table, _) in WORKSPACE_TABLES {
        assert!(count(&mut admin, table).await > 0, "{table} has no data");
        assert_eq!(count(&mut app, table).await, 0, "{table} without a scope");
        // Nor inside a transaction that sets some other setting only.
        let mut tx = app.begin().await.unwrap();
        set_scope(&mut tx, "rampart.user_id", "usr_nobody").await;
        assert_eq!(
            count(&mut tx, table).await,
            0,
            "{table} with a stranger's id"
        );
        tx.rollback().await.unwrap();
    }
    // With a scope: that workspace's rows only.
    let mut tx = app.begin().await.unwrap();
    set_scope(&mut tx, "rampart.workspace_id", f.a.workspace_id()).await;
    let mine: i64 = count(&mut tx, "assets").await;
    let foreign: i64 = sqlx::query("SELECT COUNT(*) FROM assets WHERE workspace_id <> $1")
        .bind(f.a.workspace_id())
        .fetch_one(&mut *tx)
        .await
        .unwrap()
        .get(0);
    assert!(mine > 0);
    assert_eq!(foreign, 0);
    tx.rollback().await.unwrap();
    // The store, through the same role, still works.
    assert!(f.store.scoped(&f.b).latest_scan().await.unwrap().is_some());
}

#[tokio::test]
async fn a_pooled_connection_reused_without_setting_the_scope_returns_no_rows() {
    let f = fixture().await;
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(&f.server.app_url())
        .await
        .unwrap();
    let mut tx = pool.begin().await.unwrap();
    let pid: i32 = sqlx::query("SELECT pg_backend_pid()")
        .fetch_one(&mut *tx)
        .await
        .unwrap()
        .get(0);
    set_scope(&mut tx, "rampart.workspace_id", f.a.workspace_id()).await;
    for (table, _) in WORKSPACE_TABLES {
        assert!(count(&mut tx, table).await > 0, "{table} under scope A");
    }
    tx.commit().await.unwrap();
    // The same connection, back from the pool, without setting the scope.
    let mut conn = pool.acquire().await.unwrap();
    let again: i32 = sqlx::query("SELECT pg_backend_pid()")
        .fetch_one(&mut *conn)
        .await
        .unwrap()
        .get(0);
    assert_eq!(pid, again, "the pool must hand back the same connection");
    for (table, _) in WORKSPACE_TABLES {
        assert_eq!(count(&mut conn, table).await, 0, "{table} after reuse");
    }
    // Also after a transaction that was rolled back, and one that failed.
    drop(conn);
    let mut tx = pool.begin().await.unwrap();
    set_scope(&mut tx, "rampart.workspace_id", f.a.workspace_id()).await;
    assert!(sqlx::query("SELECT 1/0").execute(&mut *tx).await.is_err());
    drop(tx);
    let mut conn = pool.acquire().await.unwrap();
    assert_eq!(count(&mut conn, "assets").await, 0);
}

#[tokio::test]
async fn cross_workspace_insert_and_update_are_rejected() {
    let f = fixture().await;
    let (a, b) = (f.a.workspace_id(), f.b.workspace_id());
    let mut app = f.server.app().await;
    let mut admin = f.server.superuser().await;
    let b_scans_before =
        sqlx::query("SELECT COUNT(*) FROM scans WHERE workspace_id = $1 AND source = 'test'")
            .bind(b)
            .fetch_one(&mut admin)
            .await
            .unwrap()
            .get::<i64, _>(0);

    // Scope A, a row of B: INSERT is refused by WITH CHECK.
    let mut tx = app.begin().await.unwrap();
    set_scope(&mut tx, "rampart.workspace_id", a).await;
    let err = sqlx::query(
        "INSERT INTO scans (workspace_id, id, source, status, started_at, asset_count, pass_count, fail_count, error_count) \
         VALUES ($1, 'scn_evil', 'evil', 'succeeded', '2026-01-01T00:00:00.000000Z', 0, 0, 0, 0)",
    )
    .bind(b)
    .execute(&mut *tx)
    .await
    .unwrap_err();
    assert!(err.to_string().contains("row-level security"), "{err}");
    tx.rollback().await.unwrap();

    // UPDATE of B's rows: they are invisible, nothing changes.
    let mut tx = app.begin().await.unwrap();
    set_scope(&mut tx, "rampart.workspace_id", a).await;
    let n = sqlx::query("UPDATE scans SET source = 'evil' WHERE workspace_id = $1")
        .bind(b)
        .execute(&mut *tx)
        .await
        .unwrap()
        .rows_affected();
    assert_eq!(n, 0);
    let n = sqlx::query("DELETE FROM findings WHERE workspace_id = $1")
        .bind(b)
        .execute(&mut *tx)
        .await
        .unwrap()
        .rows_affected();
    assert_eq!(n, 0);
    tx.commit().await.unwrap();

    // UPDATE moving A's row into B: refused by WITH CHECK.
    for statement in [
        "UPDATE scans SET workspace_id = $1",
        "UPDATE api_tokens SET workspace_id = $1",
        "UPDATE memberships SET workspace_id = $1",
    ] {
        let mut tx = app.begin().await.unwrap();
        set_scope(&mut tx, "rampart.workspace_id", a).await;
        let err = sqlx::query(statement)
            .bind(b)
            .execute(&mut *tx)
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("row-level security"),
            "{statement}: {err}"
        );
        tx.rollback().await.unwrap();
    }

    // The audit log: a workspace scope cannot write into the installation chain or another's.
    let mut tx = app.begin().await.unwrap();
    set_scope(&mut tx, "rampart.workspace_id", a).await;
    for chain in ["installation", b] {
        let err = sqlx::query(
            "INSERT INTO audit_heads (chain, seq, hash) VALUES ($1, 99, 'x') ON CONFLICT (chain) DO NOTHING",
        )
        .bind(chain)
        .execute(&mut *tx)
        .await;
        assert!(err.is_err(), "audit head of {chain} writable from A");
        tx.rollback().await.unwrap();
        tx = app.begin().await.unwrap();
        set_scope(&mut tx, "rampart.workspace_id", a).await;
    }
    tx.rollback().await.unwrap();

    let b_scans_after =
        sqlx::query("SELECT COUNT(*) FROM scans WHERE workspace_id = $1 AND source = 'test'")
            .bind(b)
            .fetch_one(&mut admin)
            .await
            .unwrap()
            .get::<i64, _>(0);
    assert_eq!(b_scans_before, b_scans_after);
    assert_eq!(
        f.store
            .verify_audit()
            .await
            .unwrap()
            .iter()
            .filter(|r| r.first_bad.is_some())
            .count(),
        0
    );
}

#[tokio::test]
async fn the_application_role_is_not_superuser_not_bypassrls_and_owns_no_table() {
    let server = PgServer::start().await;
    let mut app = server.app().await;
    let row = sqlx::query(
        "SELECT current_user::text, rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = current_user",
    )
    .fetch_one(&mut app)
    .await
    .unwrap();
    assert_eq!(row.get::<String, _>(0), APP_ROLE);
    for (i, what) in [
        (1, "superuser"),
        (2, "BYPASSRLS"),
        (3, "CREATEROLE"),
        (4, "CREATEDB"),
    ] {
        assert!(
            !row.get::<bool, _>(i),
            "the application role must not be {what}"
        );
    }
    let owned: i64 = sqlx::query(
        "SELECT COUNT(*) FROM pg_class c WHERE c.relowner = (SELECT oid FROM pg_roles WHERE rolname = $1)",
    )
    .bind(APP_ROLE)
    .fetch_one(&mut app)
    .await
    .unwrap()
    .get(0);
    assert_eq!(owned, 0, "the application role must own nothing");
    // Nor is it a member of the owner role, nor may it create tables or change the schema.
    let member: bool = sqlx::query("SELECT pg_has_role(current_user, $1, 'MEMBER')")
        .bind(OWNER_ROLE)
        .fetch_one(&mut app)
        .await
        .unwrap()
        .get(0);
    assert!(!member);
    for statement in [
        "CREATE TABLE sneaky (x TEXT)",
        "ALTER TABLE assets NO FORCE ROW LEVEL SECURITY",
        "ALTER TABLE assets DISABLE ROW LEVEL SECURITY",
        "DROP POLICY workspace_isolation ON assets",
        "SET row_security = off; SELECT COUNT(*) FROM assets",
    ] {
        let err = sqlx::raw_sql(statement).execute(&mut app).await;
        assert!(err.is_err(), "the application role could run: {statement}");
    }
}

/// The installation's backup queue holds no workspace data (only backup file metadata): no
/// `workspace_id` column, so no row-level security, and the application role may use it as the
/// queue needs (it is granted like every table by the migration run).
#[tokio::test]
async fn the_backup_queue_is_installation_level_and_usable_by_the_application_role() {
    let server = PgServer::start().await;
    let mut su = server.superuser().await;
    let columns: Vec<String> = sqlx::query(
        "SELECT column_name::text FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'backup_jobs' ORDER BY ordinal_position",
    )
    .fetch_all(&mut su)
    .await
    .unwrap()
    .iter()
    .map(|r| r.get(0))
    .collect();
    assert!(columns.contains(&"slot".to_owned()), "{columns:?}");
    assert!(
        !columns.iter().any(|c| c == "workspace_id" || c == "chain"),
        "backup_jobs must hold no workspace data: {columns:?}"
    );
    let owner: String = sqlx::query(
        "SELECT pg_get_userbyid(relowner)::text FROM pg_class WHERE oid = 'public.backup_jobs'::regclass",
    )
    .fetch_one(&mut su)
    .await
    .unwrap()
    .get(0);
    assert_eq!(owner, OWNER_ROLE);
    let mut app = server.app().await;
    for privilege in ["SELECT", "INSERT", "UPDATE", "DELETE"] {
        let granted: bool =
            sqlx::query("SELECT has_table_privilege(current_user, 'backup_jobs', $1)")
                .bind(privilege)
                .fetch_one(&mut app)
                .await
                .unwrap()
                .get(0);
        assert!(
            granted,
            "the application role lacks {privilege} on backup_jobs"
        );
    }
}

fn rampart_ts(t: chrono::DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

#[tokio::test]
async fn reviewed_exceptions_answer_no_more_than_they_should() {
    let f = fixture().await;
    let mut app = f.server.app().await;
    use sha2::Digest as _;
    let hash = |s: &str| hex::encode(sha2::Sha256::digest(s.as_bytes()));
    // The lookup functions: the workspace id for a known hash, NULL otherwise.
    let ws: Option<String> = sqlx::query("SELECT rampart_token_workspace($1)")
        .bind(hash(&f.token_secret))
        .fetch_one(&mut app)
        .await
        .unwrap()
        .get(0);
    assert_eq!(ws.as_deref(), Some(f.a.workspace_id()));
    let ws: Option<String> = sqlx::query("SELECT rampart_invitation_workspace($1)")
        .bind(hash(&f.invitation_token))
        .fetch_one(&mut app)
        .await
        .unwrap()
        .get(0);
    assert_eq!(ws.as_deref(), Some(f.a.workspace_id()));
    let ws: Option<String> = sqlx::query("SELECT rampart_token_workspace($1)")
        .bind(hash("rpt_unknown"))
        .fetch_one(&mut app)
        .await
        .unwrap()
        .get(0);
    assert!(ws.is_none());
    // …and the tables behind them stay closed to the application role.
    assert_eq!(count(&mut app, "api_tokens").await, 0);
    assert_eq!(count(&mut app, "invitations").await, 0);

    // A user's own memberships, read-only; nobody else's.
    let mut tx = app.begin().await.unwrap();
    set_scope(&mut tx, "rampart.user_id", &f.alice_id).await;
    let rows: Vec<String> = sqlx::query("SELECT user_id FROM memberships")
        .fetch_all(&mut *tx)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|u| *u == f.alice_id));
    assert_eq!(count(&mut tx, "assets").await, 0);
    let err = sqlx::query("UPDATE memberships SET role = 'viewer' WHERE user_id = $1")
        .bind(&f.alice_id)
        .execute(&mut *tx)
        .await
        .unwrap();
    assert_eq!(
        err.rows_affected(),
        0,
        "the user exception must be read-only"
    );
    let err = sqlx::query(
        "INSERT INTO memberships (user_id, workspace_id, role, created_at) VALUES ($1, $2, 'owner', 'x')",
    )
    .bind(&f.alice_id)
    .bind(f.b.workspace_id())
    .execute(&mut *tx)
    .await;
    assert!(err.is_err());
    tx.rollback().await.unwrap();

    // The queue functions: a claim answers one job's workspace and id and nothing else; the
    // jobs table itself stays closed to the application role.
    let now = chrono::Utc::now();
    let claimed = sqlx::query("SELECT * FROM rampart_claim_job($1, $2, $3)")
        .bind("wrk_test")
        .bind(rampart_ts(now))
        .bind(rampart_ts(now + TimeDelta::seconds(60)))
        .fetch_all(&mut app)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1, "one job per claim");
    assert_eq!(
        claimed[0].columns().len(),
        2,
        "workspace id and job id only"
    );
    assert_eq!(count(&mut app, "jobs").await, 0);
    let reaped = sqlx::query("SELECT * FROM rampart_reap_jobs($1)")
        .bind(rampart_ts(now + TimeDelta::seconds(61)))
        .fetch_all(&mut app)
        .await
        .unwrap();
    assert_eq!(reaped.len(), 1, "the lapsed lease is reaped");
    assert_eq!(count(&mut app, "jobs").await, 0);

    // Through the store, the scopes these exceptions open still work.
    let (scope, _) = f.store.token_scope(&f.token_secret).await.unwrap().unwrap();
    assert_eq!(scope.workspace_id(), f.a.workspace_id());
    assert_eq!(
        f.store.workspaces_of_user(&f.alice_id).await.unwrap().len(),
        2
    );
}
