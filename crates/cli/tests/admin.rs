//! `rampart audit verify`, `rampart vault`, `rampart user`: the installation administration
//! commands, end to end on a real data directory.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn rampart(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(args)
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
    let o = rampart(
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
    let o = rampart(
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
    let o = rampart(
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
    let o = rampart(
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
    let o = rampart(
        &["user", "operator", "--data-dir", d, "op@example.com"],
        None,
    );
    assert!(
        o.status.success() && text(&o).contains("now an installation operator"),
        "{}",
        text(&o)
    );

    let o = rampart(&["audit", "verify", "--data-dir", d], None);
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
    let o = rampart(&["audit", "verify", "--data-dir", d], None);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let out = text(&o);
    assert!(
        out.contains("TAMPERED") && out.contains("first bad entry is #2") && out.contains("edited"),
        "{out}"
    );
    let o = rampart(&["audit", "verify", "--data-dir", d, "--json"], None);
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
