//! The audit log is append-only, hash-chained per workspace and for the installation, written in
//! the same transaction as the action, and `verify_audit` names the first bad entry after an
//! edit, a deletion, a reordering or a truncation (ASVS 7.3.3, 7.3.4).
#![allow(clippy::unwrap_used)]

mod common;

use chrono::{TimeDelta, Utc};
use rampart_store::audit::{ActorKind, AuditEvent, INSTALLATION_CHAIN, Outcome};
use rampart_store::{AuditFilter, Page, Role, SQLITE_FILE_NAME, Store, WorkspaceScope};
use sqlx::Connection as _;

fn event(action: &str) -> AuditEvent {
    AuditEvent::new(action, Outcome::Success)
        .actor(ActorKind::User, "usr_test", "owner@example.com")
        .from_client("192.0.2.7", "test-agent")
}

/// A workspace with an owner scope and a few audited actions in its chain.
async fn populated(store: &Store) -> WorkspaceScope {
    common::workspace(store, "acme").await;
    let owner = store
        .create_user("owner@example.com", "violet kettle harbour")
        .await
        .unwrap();
    let local = store.operator_scope("acme").await.unwrap().unwrap();
    store
        .set_membership(&local, &owner.id, Role::Owner)
        .await
        .unwrap();
    let scope = store
        .member_scope("acme", &owner.id)
        .await
        .unwrap()
        .unwrap();
    let expires = Utc::now() + TimeDelta::days(30);
    for name in ["ci", "reporting", "backup", "siem"] {
        store
            .create_api_token(&scope, name, Role::Viewer, expires, event("token.create"))
            .await
            .unwrap();
    }
    store
        .create_invitation(
            &scope,
            "new@example.com",
            Role::Analyst,
            event("member.invite"),
        )
        .await
        .unwrap();
    store.audit(None, &event("auth.login")).await.unwrap();
    scope
}

/// Edits made by someone holding the database (the SQLite file, or PostgreSQL's superuser) with
/// the append-only triggers dropped.
async fn tamper(db: &common::TestDb, sql: &[&str]) {
    db.drop_audit_triggers().await;
    db.admin_exec(sql).await;
}

async fn first_bad(store: &Store, chain: &str) -> Option<(i64, String)> {
    store
        .verify_audit()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.chain == chain)
        .and_then(|r| r.first_bad)
        .map(|b| (b.seq, b.reason))
}

#[tokio::test]
async fn v7_3_intact_chains_verify_and_entries_record_who_what_where() {
    let db = common::open().await;
    let scope = populated(&db.store).await;
    let reports = db.store.verify_audit().await.unwrap();
    assert!(reports.iter().all(|r| r.first_bad.is_none()), "{reports:?}");
    let ws = reports
        .iter()
        .find(|r| r.chain == scope.workspace_id())
        .unwrap();
    assert_eq!(ws.entries, 5);
    assert!(reports.iter().any(|r| r.chain == INSTALLATION_CHAIN));

    let log = db
        .store
        .scoped(&scope)
        .audit_log(&AuditFilter::default(), Page::new(50, 0))
        .await
        .unwrap();
    assert_eq!(log.total, 5);
    let newest = &log.items[0];
    assert_eq!(newest.event.action, "member.invite");
    assert_eq!(newest.event.actor_id, "usr_test");
    assert_eq!(newest.event.address, "192.0.2.7");
    assert_eq!(newest.event.user_agent, "test-agent");
    assert_eq!(newest.event.object_type, "invitation");
    assert_eq!(newest.event.outcome, Outcome::Success);
    assert!(Utc::now() - newest.at < TimeDelta::minutes(1));
    // Filters.
    let tokens = db
        .store
        .scoped(&scope)
        .audit_log(
            &AuditFilter {
                action: Some("token.create".into()),
                ..Default::default()
            },
            Page::new(50, 0),
        )
        .await
        .unwrap();
    assert_eq!(tokens.total, 4);
}

#[tokio::test]
async fn the_database_refuses_updates_and_deletes_of_audit_entries() {
    let db = common::open().await;
    populated(&db.store).await;
    for sql in ["UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log"] {
        match &db.pg {
            None => {
                let options = sqlx::sqlite::SqliteConnectOptions::new()
                    .filename(db.dir.path().join(SQLITE_FILE_NAME));
                let mut conn = sqlx::SqliteConnection::connect_with(&options)
                    .await
                    .unwrap();
                let err = sqlx::query(sql).execute(&mut conn).await.unwrap_err();
                assert!(err.to_string().contains("append-only"), "{err}");
            }
            Some(server) => {
                // The application role holds no UPDATE or DELETE privilege on the log…
                let mut app = server.app().await;
                let err = sqlx::query(sql).execute(&mut app).await.unwrap_err();
                assert!(err.to_string().contains("permission denied"), "{err}");
                // …and the triggers refuse even the superuser.
                let mut admin = server.superuser().await;
                let err = sqlx::query(sql).execute(&mut admin).await.unwrap_err();
                assert!(err.to_string().contains("append-only"), "{err}");
            }
        }
    }
}

#[tokio::test]
async fn an_edited_entry_is_named() {
    let db = common::open().await;
    let scope = populated(&db.store).await;
    let ws = scope.workspace_id().to_owned();
    tamper(
        &db,
        &[&format!(
            "UPDATE audit_log SET actor_label = 'someone-else@example.com' WHERE chain = '{ws}' AND seq = 3"
        )],
    )
    .await;
    let (seq, reason) = first_bad(&db.store, &ws).await.expect("detected");
    assert_eq!(seq, 3);
    assert!(reason.contains("edited"), "{reason}");
    // The installation chain is untouched.
    assert!(first_bad(&db.store, INSTALLATION_CHAIN).await.is_none());
}

#[tokio::test]
async fn an_edit_with_a_recomputed_hash_breaks_the_next_link() {
    let db = common::open().await;
    let scope = populated(&db.store).await;
    let ws = scope.workspace_id().to_owned();
    tamper(
        &db,
        &[&format!(
            "UPDATE audit_log SET outcome = 'failure', hash = 'ff' || substr(hash, 3) WHERE chain = '{ws}' AND seq = 2"
        )],
    )
    .await;
    let (seq, _) = first_bad(&db.store, &ws).await.expect("detected");
    assert_eq!(seq, 2);
}

#[tokio::test]
async fn a_deleted_entry_is_named() {
    let db = common::open().await;
    let scope = populated(&db.store).await;
    let ws = scope.workspace_id().to_owned();
    tamper(
        &db,
        &[&format!(
            "DELETE FROM audit_log WHERE chain = '{ws}' AND seq = 2"
        )],
    )
    .await;
    let (seq, reason) = first_bad(&db.store, &ws).await.expect("detected");
    assert_eq!(seq, 3, "the entry after the gap: {reason}");
    assert!(reason.contains("deleted"), "{reason}");
}

#[tokio::test]
async fn reordered_entries_are_named() {
    let db = common::open().await;
    let scope = populated(&db.store).await;
    let ws = scope.workspace_id().to_owned();
    // Swap the contents of entries 2 and 3 (keeping their sequence numbers in place).
    tamper(
        &db,
        &[
            &format!("CREATE TEMP TABLE t AS SELECT * FROM audit_log WHERE chain = '{ws}' AND seq IN (2, 3)"),
            &format!("DELETE FROM audit_log WHERE chain = '{ws}' AND seq IN (2, 3)"),
            "UPDATE t SET seq = 5 - seq",
            "INSERT INTO audit_log SELECT * FROM t ORDER BY seq",
        ],
    )
    .await;
    let (seq, _) = first_bad(&db.store, &ws).await.expect("detected");
    assert_eq!(seq, 2);
}

#[tokio::test]
async fn a_truncated_chain_is_detected_through_its_head() {
    let db = common::open().await;
    let scope = populated(&db.store).await;
    let ws = scope.workspace_id().to_owned();
    tamper(
        &db,
        &[&format!(
            "DELETE FROM audit_log WHERE chain = '{ws}' AND seq = 5"
        )],
    )
    .await;
    let (seq, reason) = first_bad(&db.store, &ws).await.expect("detected");
    assert_eq!(seq, 5);
    assert!(reason.contains("removed from the end"), "{reason}");
}

/// If the audit entry cannot be written, the action does not happen.
#[tokio::test]
async fn an_action_fails_when_its_audit_write_fails() {
    let db = common::open().await;
    let scope = populated(&db.store).await;
    let before = db.store.list_api_tokens(&scope).await.unwrap().len();
    if db.is_postgres() {
        db.admin_exec(&[
            "CREATE FUNCTION audit_broken() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'disk full'; END $$",
            "CREATE TRIGGER audit_broken BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_broken()",
        ])
        .await;
    } else {
        db.admin_exec(&[
            "CREATE TRIGGER audit_broken BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'disk full'); END",
        ])
        .await;
    }
    let result = db
        .store
        .create_api_token(
            &scope,
            "should-not-exist",
            Role::Viewer,
            Utc::now() + TimeDelta::days(1),
            event("token.create"),
        )
        .await;
    assert!(result.is_err());
    assert_eq!(
        db.store.list_api_tokens(&scope).await.unwrap().len(),
        before
    );
    let invite = db
        .store
        .create_invitation(
            &scope,
            "x@example.com",
            Role::Viewer,
            event("member.invite"),
        )
        .await;
    assert!(invite.is_err());
    assert_eq!(db.store.list_invitations(&scope).await.unwrap().len(), 1);
}

/// Log fields cannot forge entries or carry terminal escapes (ASVS 7.3.1).
#[tokio::test]
async fn v7_3_1_fields_are_encoded_against_injection() {
    let db = common::open().await;
    let entry = db
        .store
        .audit(
            None,
            &event("auth.login")
                .from_client("10.0.0.1", "curl\n{\"action\":\"forged\"}\u{1b}[2J")
                .object("account", "a@b\r\nFAKE"),
        )
        .await
        .unwrap();
    assert!(!entry.event.user_agent.contains('\n'));
    assert!(!entry.event.user_agent.contains('\u{1b}'));
    assert!(!entry.event.object_id.contains('\r'));
    let line = serde_json::to_string(&entry).unwrap();
    assert!(!line.contains('\n'));
    let reports = db.store.verify_audit().await.unwrap();
    assert!(reports.iter().all(|r| r.first_bad.is_none()));
}
