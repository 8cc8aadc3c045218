//! `rampart audit verify`, `rampart vault`, `rampart user`: the installation administration
//! commands, end to end on a real data directory.
//!
//! The tamper test (it edits `rampart.db`), the restore drill and the self-check (file backups of
//! `rampart.db`) are about SQLite's files and run on SQLite under either test backend; their
//! PostgreSQL counterparts (audit verify as the application role, `pg_dump` backups and the
//! restore drill) are in `tests/postgres.rs`. The vault test runs on the backend under test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::OnBackend as _;
use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn rampart(args: &[&str], stdin: Option<&str>) -> Output {
    run(args, stdin, false)
}

fn rampart_on_sqlite(args: &[&str], stdin: Option<&str>) -> Output {
    run(args, stdin, true)
}

fn run(args: &[&str], stdin: Option<&str>, on_sqlite: bool) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rampart"));
    cmd.args(args);
    if on_sqlite {
        cmd.on_sqlite();
    } else {
        cmd.on_backend();
    }
    let mut child = cmd
        .env_remove("RAMPART_DATA_DIR")
        .env_remove("RAMPART_VAULT_KEY")
        .env_remove("RAMPART_VAULT_KEY_FILE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run rampart");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn sqlite(dir: &Path, sql: &str) {
    let db = dir.join("rampart.db");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use sqlx::Connection as _;
        let opts = sqlx::sqlite::SqliteConnectOptions::new().filename(&db);
        let mut c = sqlx::SqliteConnection::connect_with(&opts).await.unwrap();
        for s in sql.split(';').filter(|s| !s.trim().is_empty()) {
            sqlx::query(s).execute(&mut c).await.unwrap();
        }
        c.close().await.unwrap();
    });
}

#[test]
fn users_operators_and_audit_verify_detects_tampering() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../content/samples/demo.jsonl");
    let o = rampart_on_sqlite(
        &[
            "import",
            "--data-dir",
            d,
            "-w",
            "acme",
            "--create",
            sample.to_str().unwrap(),
        ],
        None,
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = rampart_on_sqlite(
        &[
            "user",
            "create",
            "--data-dir",
            d,
            "owner@example.com",
            "--workspace",
            "acme",
            "--role",
            "owner",
        ],
        None,
    );
    assert!(o.status.success(), "{}", text(&o));
    let out = text(&o);
    assert!(
        out.contains("password:") && out.contains("shown once"),
        "{out}"
    );
    // A common password is refused with a clear message.
    let o = rampart_on_sqlite(
        &[
            "user",
            "create",
            "--data-dir",
            d,
            "weak@example.com",
            "--password-stdin",
        ],
        Some("password1234\n"),
    );
    assert!(!o.status.success());
    assert!(text(&o).contains("too common"), "{}", text(&o));
    let o = rampart_on_sqlite(
        &[
            "user",
            "create",
            "--data-dir",
            d,
            "op@example.com",
            "--password-stdin",
        ],
        Some("operator violet kettle\n"),
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = rampart_on_sqlite(
        &["user", "operator", "--data-dir", d, "op@example.com"],
        None,
    );
    assert!(
        o.status.success() && text(&o).contains("now an installation operator"),
        "{}",
        text(&o)
    );

    // Organizations contain workspaces.
    let o = rampart_on_sqlite(
        &[
            "org",
            "create",
            "--data-dir",
            d,
            "acme-group",
            "--name",
            "Acme Group",
        ],
        None,
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = rampart_on_sqlite(
        &[
            "workspace",
            "create",
            "--data-dir",
            d,
            "acme-eu",
            "--org",
            "acme-group",
            "--owner",
            "owner@example.com",
        ],
        None,
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = rampart_on_sqlite(
        &["workspace", "create", "--data-dir", d, "x", "--org", "nope"],
        None,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("organization \"nope\" does not exist"),
        "{}",
        text(&o)
    );

    let o = rampart_on_sqlite(&["audit", "verify", "--data-dir", d], None);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = text(&o);
    assert!(
        out.contains("0 tampered") && out.contains("ok        installation"),
        "{out}"
    );

    // Edit one entry of the workspace chain (as someone with the file could).
    sqlite(
        dir.path(),
        "DROP TRIGGER audit_log_no_update; UPDATE audit_log SET action = 'nothing.to.see' WHERE chain <> 'installation' AND seq = 2",
    );
    let o = rampart_on_sqlite(&["audit", "verify", "--data-dir", d], None);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let out = text(&o);
    assert!(
        out.contains("TAMPERED") && out.contains("first bad entry is #2") && out.contains("edited"),
        "{out}"
    );
    let o = rampart_on_sqlite(&["audit", "verify", "--data-dir", d, "--json"], None);
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        json.as_array()
            .unwrap()
            .iter()
            .any(|r| r["first_bad"]["seq"] == 2)
    );
}

#[test]
fn vault_keys_are_generated_and_rotated() {
    let o = rampart(&["vault", "generate-key", "--id", "k2026"], None);
    assert!(o.status.success());
    let line = String::from_utf8(o.stdout).unwrap();
    assert!(
        line.starts_with("k2026:") && line.trim().len() == 6 + 44,
        "{line}"
    );
    let o = rampart(&["vault", "generate-key", "--id", "bad id!"], None);
    assert!(!o.status.success());

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let key_file = dir.path().join("keys.txt");
    std::fs::write(&key_file, &line).unwrap();
    // Nothing to re-seal yet, but the command runs and is audited.
    let o = rampart(
        &[
            "vault",
            "rotate-key",
            "--data-dir",
            d,
            "--key-file",
            key_file.to_str().unwrap(),
        ],
        None,
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("re-sealed 0 secret(s) under key k2026"),
        "{}",
        text(&o)
    );
    // A malformed key file is explained.
    std::fs::write(&key_file, "k1:c2hvcnQ=\n").unwrap();
    let o = rampart(
        &[
            "vault",
            "rotate-key",
            "--data-dir",
            d,
            "--key-file",
            key_file.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("key must be 32 bytes"), "{}", text(&o));
}

fn fingerprints(dir: &Path) -> Vec<rampart_store::backup::WorkspaceFingerprint> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = rampart_store::Store::open_data_dir(dir).await.unwrap();
        let f = store.workspace_fingerprints().await.unwrap();
        store.close().await;
        f
    })
}

fn sentinel_present(dir: &Path) -> bool {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = rampart_store::Store::open_data_dir(dir).await.unwrap();
        let u = store.user_by_email("sentinel@example.com").await.unwrap();
        store.close().await;
        u.is_some()
    })
}

/// The restore drill (issue 10.5): two workspaces and a sentinel row, back up, destroy, restore
/// into a fresh location, compare per-workspace row counts and checksums; a live, non-empty,
/// tampered or wrongly keyed restore is refused and changes nothing.
#[test]
fn restore_drill_backup_destroy_restore_compare() {
    let root = tempfile::tempdir().unwrap();
    let live = root.path().join("live");
    let backups = root.path().join("backups");
    let fresh = root.path().join("fresh");
    let key_file = root.path().join("backup.key");
    let l = live.to_str().unwrap();
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../content/samples/demo.jsonl");
    let aws_config = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../content/samples/aws-config-snapshot.json");
    for (ws, file) in [("alpha", &sample), ("bravo", &aws_config)] {
        let o = rampart_on_sqlite(
            &[
                "import",
                "--data-dir",
                l,
                "-w",
                ws,
                "--create",
                file.to_str().unwrap(),
            ],
            None,
        );
        assert!(o.status.success(), "{}", text(&o));
    }
    let o = rampart_on_sqlite(
        &[
            "user",
            "create",
            "--data-dir",
            l,
            "sentinel@example.com",
            "--password-stdin",
        ],
        Some("sentinel violet kettle\n"),
    );
    assert!(o.status.success(), "{}", text(&o));
    let before = fingerprints(&live);
    assert_eq!(before.len(), 2);
    assert!(before.iter().all(|w| w.assets > 0 && w.findings > 0));

    let key = String::from_utf8(
        rampart_on_sqlite(&["vault", "generate-key", "--id", "bk1"], None).stdout,
    )
    .unwrap();
    std::fs::write(&key_file, &key).unwrap();
    let k = key_file.to_str().unwrap();
    let b = backups.to_str().unwrap();
    let o = rampart_on_sqlite(
        &["backup", "--data-dir", l, "--out", b, "--key-file", k],
        None,
    );
    assert!(o.status.success(), "{}", text(&o));
    let files = rampart_store::backup::list_backups(&backups).unwrap();
    assert_eq!(files.len(), 1);
    let backup = files[0].clone();
    // Encrypted: no inventory text in the backup file.
    let bytes = std::fs::read(&backup).unwrap();
    assert!(
        !bytes.windows(11).any(|w| w == b"aws.account"),
        "the backup must be encrypted"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            std::fs::metadata(&backup).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let manifest = rampart_store::backup::read_manifest(&backup).unwrap();
    assert_eq!(manifest.workspaces, before);
    assert_eq!(manifest.key_id, "bk1");

    // Destroy the live data.
    std::fs::remove_dir_all(&live).unwrap();

    // Wrong key: refused, nothing written.
    let wrong = root.path().join("wrong.key");
    std::fs::write(
        &wrong,
        String::from_utf8(
            rampart_on_sqlite(&["vault", "generate-key", "--id", "bk1"], None).stdout,
        )
        .unwrap(),
    )
    .unwrap();
    let f = fresh.to_str().unwrap();
    let o = rampart_on_sqlite(
        &[
            "restore",
            "--from",
            backup.to_str().unwrap(),
            "--data-dir",
            f,
            "--key-file",
            wrong.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("does not decrypt"), "{}", text(&o));
    assert!(!fresh.join("rampart.db").exists());

    // Tampered: one flipped byte in the ciphertext.
    let tampered = root.path().join("tampered.rbk");
    let mut t = bytes.clone();
    let at = t.len() - 100;
    t[at] ^= 0x40;
    std::fs::write(&tampered, &t).unwrap();
    let o = rampart_on_sqlite(
        &[
            "restore",
            "--from",
            tampered.to_str().unwrap(),
            "--data-dir",
            f,
            "--key-file",
            k,
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(!fresh.join("rampart.db").exists());

    // The real restore.
    let o = rampart_on_sqlite(
        &[
            "restore",
            "--from",
            backup.to_str().unwrap(),
            "--data-dir",
            f,
            "--key-file",
            k,
        ],
        None,
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("2 workspace(s) verified"), "{}", text(&o));
    assert_eq!(fingerprints(&fresh), before);
    assert!(sentinel_present(&fresh));

    // A second restore into the now non-empty directory: refused without --force.
    let o = rampart_on_sqlite(
        &[
            "restore",
            "--from",
            backup.to_str().unwrap(),
            "--data-dir",
            f,
            "--key-file",
            k,
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("already holds data"), "{}", text(&o));
    // While a server holds the directory: refused even with --force.
    let lock = std::fs::File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(fresh.join("rampart.lock"))
        .unwrap();
    lock.lock_shared().unwrap();
    let o = rampart_on_sqlite(
        &[
            "restore",
            "--from",
            backup.to_str().unwrap(),
            "--data-dir",
            f,
            "--key-file",
            k,
            "--force",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("in use by a running Rampart"),
        "{}",
        text(&o)
    );
    drop(lock);
    let o = rampart_on_sqlite(
        &[
            "restore",
            "--from",
            backup.to_str().unwrap(),
            "--data-dir",
            f,
            "--key-file",
            k,
            "--force",
        ],
        None,
    );
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(fingerprints(&fresh), before);

    // Retention keeps the newest N.
    for _ in 0..3 {
        let o = rampart_on_sqlite(
            &[
                "backup",
                "--data-dir",
                f,
                "--out",
                b,
                "--key-file",
                k,
                "--retain",
                "2",
            ],
            None,
        );
        assert!(o.status.success(), "{}", text(&o));
    }
    assert_eq!(
        rampart_store::backup::list_backups(&backups).unwrap().len(),
        2
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Kills the child server when the test ends, however it ends.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn selfcheck_json(args: &[&str]) -> (Output, serde_json::Value) {
    let mut all = vec!["selfcheck", "--format", "json"];
    all.extend_from_slice(args);
    let out = rampart_on_sqlite(&all, None);
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "selfcheck printed no JSON ({e}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out, report)
}

fn requirement<'a>(report: &'a serde_json::Value, id: &str) -> (&'a str, String) {
    let r = report["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .unwrap();
    (
        r["status"].as_str().unwrap(),
        r["details"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_str().unwrap())
            .collect::<Vec<_>>()
            .join("\n"),
    )
}

/// `rampart selfcheck` against a running `rampart serve` configured the same way (issue 10,
/// point 8): TLS, metrics, audit and vault key pass; the self-signed certificate, the missing
/// backups and the owner without MFA fail; exit status 1. Without a server, the TLS requirement
/// names the refused connection, and the check never creates a vault key.
#[test]
fn selfcheck_reports_on_a_running_server_like_a_framework() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_s = data.to_str().unwrap();
    let port = free_port();
    let metrics = free_port();
    let listen = format!("127.0.0.1:{port}");
    let metrics_listen = format!("127.0.0.1:{metrics}");
    let backups = dir.path().join("backups");
    std::fs::create_dir_all(&backups).unwrap();
    let backups_s = backups.to_str().unwrap();
    let common = [
        "--data-dir",
        data_s,
        "--listen",
        &listen,
        "--metrics-listen",
        &metrics_listen,
        "--backup-dir",
        backups_s,
    ];

    // No server yet: the listener cannot be reached, and no vault key appears.
    let (out, report) = selfcheck_json(&common);
    assert_eq!(out.status.code(), Some(1));
    let (status, details) = requirement(&report, "RSC-1");
    assert_eq!(status, "fail");
    assert!(details.contains("cannot connect"), "{details}");
    assert!(
        !data.join("vault.key").exists(),
        "selfcheck created a vault key"
    );
    assert_eq!(requirement(&report, "RSC-8").0, "fail");

    // A server, with the owner of a workspace who has not enrolled MFA.
    let ws = rampart_on_sqlite(&["workspace", "create", "--data-dir", data_s, "acme"], None);
    assert!(
        ws.status.success(),
        "{}",
        String::from_utf8_lossy(&ws.stderr)
    );
    let user = rampart_on_sqlite(
        &[
            "user",
            "create",
            "--data-dir",
            data_s,
            "owner@example.com",
            "--password-stdin",
            "--workspace",
            "acme",
            "--role",
            "owner",
        ],
        Some("owner correct horse battery\n"),
    );
    assert!(
        user.status.success(),
        "{}",
        String::from_utf8_lossy(&user.stderr)
    );
    // --no-scheduler: the server would otherwise take the current slot's backup at once (the
    // backup queue); here the backups are taken by hand below.
    let mut serve_args = vec!["serve", "--workers", "0", "--no-scheduler"];
    serve_args.extend_from_slice(&common);
    let server = Child(
        Command::new(env!("CARGO_BIN_EXE_rampart"))
            .args(&serve_args)
            .on_sqlite()
            .env_remove("RAMPART_VAULT_KEY")
            .env_remove("RAMPART_VAULT_KEY_FILE")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "rampart serve did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }

    let (out, report) = selfcheck_json(&common);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(report["framework"], "rampart-selfcheck");
    assert_eq!(report["requirements"].as_array().unwrap().len(), 8);
    for pass in ["RSC-1", "RSC-4", "RSC-7", "RSC-8"] {
        assert_eq!(requirement(&report, pass).0, "pass", "{pass}: {report:#}");
    }
    assert!(requirement(&report, "RSC-2").1.contains("self-signed"));
    assert!(
        requirement(&report, "RSC-5")
            .1
            .contains("owner@example.com (owner of workspace acme)")
    );
    assert!(requirement(&report, "RSC-6").1.contains("0 backup(s)"));

    // Two backups later, the backup requirement passes too.
    for _ in 0..2 {
        let b = rampart_on_sqlite(&["backup", "--data-dir", data_s, "--out", backups_s], None);
        assert!(b.status.success(), "{}", String::from_utf8_lossy(&b.stderr));
    }
    let text = rampart_on_sqlite(&[&["selfcheck"][..], &common[..]].concat(), None);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("PASS  RSC-6"), "{text}");
    assert!(text.contains("FAIL  RSC-2"), "{text}");
    assert!(text.contains("fix: Pass `--tls-cert`"), "{text}");
    assert!(text.contains("requirements pass: score"), "{text}");
    drop(server);
}
