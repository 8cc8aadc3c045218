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

fn pg_bin() -> String {
    std::env::var("RAMPART_PG_BIN").expect(
        "RAMPART_PG_BIN names PostgreSQL's bin directory: run eval \"$(scripts/test-deps)\"",
    )
}

/// Per-workspace fingerprints read through the application role.
fn fingerprints(url: &str) -> Vec<rampart_store::backup::WorkspaceFingerprint> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = rampart_store::Store::open_url(url).await.unwrap();
        store.workspace_fingerprints().await.unwrap()
    })
}

/// The restore drill on PostgreSQL (issue 10 point 5): two workspaces and a sentinel user, an
/// encrypted `pg_dump` backup taken by a BYPASSRLS backup role, the cluster thrown away, a fresh
/// cluster restored with `pg_restore` in one transaction, per-workspace row counts and checksums
/// compared; plus the refusals (no backup role, a role under row-level security, a non-empty
/// target, a live target).
#[test]
fn restore_drill_on_postgres_with_pg_dump_and_pg_restore() {
    let bin = pg_bin();
    let root = tempfile::tempdir().unwrap();
    let d = root.path().join("data");
    let d = d.to_str().unwrap();
    let backups = root.path().join("backups");
    let b = backups.to_str().unwrap();
    let key_file = root.path().join("backup.key");
    let key = rampart(&["vault", "generate-key", "--id", "pgbk1"]);
    std::fs::write(&key_file, &key.stdout).unwrap();
    let k = key_file.to_str().unwrap();
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../content/samples");

    let live = pg::PgServer::start_unmigrated();
    let (app, owner) = (live.app_url(), live.owner_url());
    for (ws, file) in [
        ("alpha", "demo.jsonl"),
        ("bravo", "aws-config-snapshot.json"),
    ] {
        let o = rampart(&[
            "import",
            "--data-dir",
            d,
            "--database-url",
            &app,
            "--owner-database-url",
            &owner,
            "-w",
            ws,
            "--create",
            samples.join(file).to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", text(&o));
    }
    let o = rampart(&[
        "user",
        "create",
        "--data-dir",
        d,
        "--database-url",
        &app,
        "sentinel@example.com",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let before = fingerprints(&app);
    assert_eq!(before.len(), 2);
    assert!(before.iter().all(|w| w.assets > 0 && w.findings > 0));

    // Without a backup role: refused with the flag named. As the owner role (forced row-level
    // security applies to it too) pg_dump refuses instead of writing an empty backup.
    let base = [
        "backup",
        "--data-dir",
        d,
        "--database-url",
        &app,
        "--out",
        b,
        "--key-file",
        k,
    ];
    let o = rampart(&base);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("--backup-database-url is required"),
        "{}",
        text(&o)
    );
    let mut args = base.to_vec();
    args.extend(["--backup-database-url", &owner, "--pg-bin", &bin]);
    let o = rampart(&args);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("row-level security"), "{}", text(&o));
    assert!(!text(&o).contains("owner-test-password"));
    assert!(
        rampart_store::backup::list_backups(&backups)
            .unwrap()
            .is_empty()
    );

    // The documented backup role.
    let backup_url = format!(
        "postgres://rampart_backup:backup-test-password@127.0.0.1:{}/rampart",
        live.port
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut su = live.superuser().await;
        for s in [
            "CREATE ROLE rampart_backup LOGIN PASSWORD 'backup-test-password' BYPASSRLS IN ROLE pg_read_all_data",
            "GRANT CONNECT ON DATABASE rampart TO rampart_backup",
        ] {
            sqlx::query(s).execute(&mut su).await.unwrap();
        }
    });
    let mut args = base.to_vec();
    args.extend(["--backup-database-url", &backup_url, "--pg-bin", &bin]);
    let o = rampart(&args);
    assert!(o.status.success(), "{}", text(&o));
    assert!(!text(&o).contains("backup-test-password"));
    let files = rampart_store::backup::list_backups(&backups).unwrap();
    assert_eq!(files.len(), 1);
    let manifest = rampart_store::backup::read_manifest(&files[0]).unwrap();
    assert_eq!(manifest.backend, "postgres");
    assert_eq!(manifest.workspaces, before);
    let bytes = std::fs::read(&files[0]).unwrap();
    assert!(
        !bytes.windows(14).any(|w| w == b"sentinel@examp"),
        "the backup is encrypted"
    );

    // Destroy: the whole cluster goes away.
    drop(live);

    // Restore into a fresh cluster whose roles exist and whose database is empty.
    let fresh = pg::PgServer::start_unmigrated();
    let (app2, owner2) = (fresh.app_url(), fresh.owner_url());
    let restore = |force: bool| {
        let mut args = vec![
            "restore",
            "--from",
            files[0].to_str().unwrap(),
            "--data-dir",
            d,
            "--key-file",
            k,
            "--restore-database-url",
            &owner2,
            "--database-url",
            &app2,
            "--pg-bin",
            &bin,
        ];
        if force {
            args.push("--force");
        }
        rampart(&args)
    };
    let o = restore(false);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("2 workspace(s) verified"), "{}", text(&o));
    assert_eq!(fingerprints(&app2), before, "counts and checksums match");
    rt.block_on(async {
        use sqlx::Row as _;
        let mut su = fresh.superuser().await;
        let n: i64 = sqlx::query("SELECT COUNT(*) FROM users WHERE email = 'sentinel@example.com'")
            .fetch_one(&mut su)
            .await
            .unwrap()
            .get(0);
        assert_eq!(n, 1, "the sentinel user came back");
        // Row-level security came back too: the application role sees nothing unscoped.
        let mut a = fresh.app().await;
        let n: i64 = sqlx::query("SELECT COUNT(*) FROM assets")
            .fetch_one(&mut a)
            .await
            .unwrap()
            .get(0);
        assert_eq!(n, 0);
    });
    let o = rampart(&["audit", "verify", "--data-dir", d, "--database-url", &app2]);
    assert!(o.status.success(), "{}", text(&o));

    // A second restore into the now non-empty database is refused without --force ...
    let o = restore(false);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("already holds"), "{}", text(&o));
    // ... and a database someone is connected to is refused even with it.
    rt.block_on(async {
        let _held = fresh.app().await;
        let o = restore(true);
        assert_eq!(o.status.code(), Some(2));
        assert!(text(&o).contains("other connection"), "{}", text(&o));
    });
    // With --force and nobody connected, it replaces the data in one transaction.
    let o = restore(true);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(fingerprints(&app2), before);
}
