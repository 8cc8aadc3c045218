//! The store commands on PostgreSQL: `--database-url` (the application role) and
//! `--owner-database-url` (migrations), end to end. Always on PostgreSQL (a missing PostgreSQL
//! fails this test: run `eval "$(scripts/test-deps)"`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../store/tests/common/pg.rs"]
mod pg;

use std::path::Path;
use std::process::{Command, Output, Stdio};

fn rampart(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(args)
        .env_remove("RAMPART_DATA_DIR")
        .env_remove("RAMPART_DATABASE_URL")
        .env_remove("RAMPART_DATABASE_OWNER_URL")
        .env_remove("RAMPART_VAULT_KEY")
        .env_remove("RAMPART_VAULT_KEY_FILE")
        .stdin(Stdio::null())
        .output()
        .expect("run rampart")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn import_user_and_audit_verify_on_postgres_with_the_two_roles() {
    let server = pg::PgServer::start_unmigrated();
    let (app, owner) = (server.app_url(), server.owner_url());
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../content/samples/demo.jsonl");
    let sample = sample.to_str().unwrap();

    // Without the owner URL the application role cannot create the schema: refused, clearly,
    // and without repeating the URL (it holds a password).
    let o = rampart(&[
        "import",
        "--data-dir",
        d,
        "--database-url",
        &app,
        "-w",
        "acme",
        "--create",
        sample,
    ]);
    assert!(!o.status.success());
    assert!(!text(&o).contains("app-test-password"), "{}", text(&o));

    // With it: migrated as the owner, then imported as the application role.
    let o = rampart(&[
        "import",
        "--data-dir",
        d,
        "--database-url",
        &app,
        "--owner-database-url",
        &owner,
        "-w",
        "acme",
        "--create",
        sample,
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("imported"), "{}", text(&o));
    assert!(
        !dir.path().join("rampart.db").exists(),
        "no SQLite file on PostgreSQL"
    );

    let o = rampart(&[
        "user",
        "create",
        "--data-dir",
        d,
        "--database-url",
        &app,
        "owner@example.com",
        "--workspace",
        "acme",
        "--role",
        "owner",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let o = rampart(&["audit", "verify", "--data-dir", d, "--database-url", &app]);
    assert!(o.status.success(), "{}", text(&o));

    // The rows are the application role's to read only under a scope.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use sqlx::Row as _;
        let mut conn = server.app().await;
        let n: i64 = sqlx::query("SELECT COUNT(*) FROM assets")
            .fetch_one(&mut conn)
            .await
            .unwrap()
            .get(0);
        assert_eq!(n, 0);
        let mut admin = server.superuser().await;
        let n: i64 = sqlx::query("SELECT COUNT(*) FROM assets")
            .fetch_one(&mut admin)
            .await
            .unwrap()
            .get(0);
        assert!(n > 0);
    });
}
