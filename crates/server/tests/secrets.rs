//! Secrets never in logs, never in the database in clear, never in API answers (issue 6.9;
//! ASVS 7.1.1, 8.3.4, 6.4.1): canary passwords, API token secrets, connector credentials, TOTP
//! seeds, reset and invitation codes are planted through the API, then every log line (captured
//! at TRACE level, every target) and every byte of the data directory are searched for them.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use chrono::{TimeDelta, Utc};
use common::{BOB, BOB_PASSWORD, set_cookie_value};
use serde_json::{Value, json};

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[tokio::test]
async fn v7_1_1_canary_secrets_appear_in_no_log_line_and_no_database_byte() {
    let capture = Capture::default();
    let writer = capture.clone();
    tracing_subscriber::fmt()
        .with_env_filter("trace")
        .with_writer(move || writer.clone())
        .json()
        .try_init()
        .unwrap();

    let t = common::spawn().await;
    let mut canaries: Vec<String> = Vec::new();

    // Passwords: a user created with one, a failed sign-in with another, a changed one.
    let password = "canary-password-7f3a9c1e".to_string();
    let wrong = "canary-wrong-password-51d2".to_string();
    let changed = "canary-changed-password-88e1".to_string();
    canaries.extend([password.clone(), wrong.clone(), changed.clone()]);
    t.store
        .create_user("carol@example.com", &password)
        .await
        .unwrap();
    let scope = t.store.operator_scope("other").await.unwrap().unwrap();
    let carol = t
        .store
        .user_by_email("carol@example.com")
        .await
        .unwrap()
        .unwrap();
    t.store
        .set_membership(&scope, &carol.id, rampart_store::Role::Owner)
        .await
        .unwrap();
    assert_eq!(
        t.post_login("carol@example.com", &wrong).await.status(),
        401
    );
    let session = t.login("carol@example.com", &password).await;
    canaries.push(session.clone());
    let csrf = t.csrf_any(&session).await;
    canaries.push(csrf.clone());

    // Connector credentials, write-only.
    let aws_secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYCANARY0009".to_string();
    canaries.push(aws_secret.clone());
    let r = t
        .with_session(t.client.post(t.url("/api/v1/workspaces/other/connectors")), &session, &csrf)
        .json(&json!({ "name": "prod", "provider": "aws", "settings": {"regions": ["eu-west-1"]},
                       "secret": { "access_key_id": "AKIAEXAMPLE", "secret_access_key": aws_secret } }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let created = r.text().await.unwrap();
    assert!(!created.contains(&aws_secret));
    let listed = t
        .get("/api/v1/workspaces/other/connectors", Some(&session))
        .await
        .text()
        .await
        .unwrap();
    assert!(!listed.contains(&aws_secret) && listed.contains("eu-west-1"));

    // An API token secret.
    let r = t
        .with_session(t.client.post(t.url("/api/v1/workspaces/other/tokens")), &session, &csrf)
        .json(&json!({ "name": "ci", "role": "viewer", "expires_at": (Utc::now() + TimeDelta::days(1)).to_rfc3339() }))
        .send()
        .await
        .unwrap();
    let token: Value = r.json().await.unwrap();
    let token_secret = token["secret"].as_str().unwrap().to_string();
    canaries.push(token_secret.clone());
    let used = t
        .client
        .get(t.url("/api/v1/workspaces/other/summary"))
        .header("authorization", format!("Bearer {token_secret}"))
        .send()
        .await
        .unwrap();
    assert_eq!(used.status(), 200);

    // An invitation code.
    let r = t
        .with_session(
            t.client.post(t.url("/api/v1/workspaces/other/invitations")),
            &session,
            &csrf,
        )
        .json(&json!({ "email": "dave@example.com", "role": "viewer" }))
        .send()
        .await
        .unwrap();
    canaries.push(
        r.json::<Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_string(),
    );

    // A TOTP seed and recovery codes.
    let r = t
        .with_session(t.client.post(t.url("/api/v1/me/mfa/totp")), &session, &csrf)
        .send()
        .await
        .unwrap();
    let seed = r.json::<Value>().await.unwrap()["secret"]
        .as_str()
        .unwrap()
        .to_string();
    canaries.push(seed.clone());
    let secret = rampart_store::totp::base32_decode(&seed).unwrap();
    let code = rampart_store::totp::totp_at(
        rampart_store::totp::TotpAlgorithm::Sha1,
        &secret,
        Utc::now().timestamp(),
        6,
    );
    let r = t
        .with_session(
            t.client.post(t.url("/api/v1/me/mfa/totp/confirm")),
            &session,
            &csrf,
        )
        .json(&json!({ "code": code }))
        .send()
        .await
        .unwrap();
    let verified = set_cookie_value(&r, "__Host-rampart_session").unwrap();
    canaries.push(verified.clone());
    let codes: Value = r.json().await.unwrap();
    for c in codes["recovery_codes"].as_array().unwrap() {
        canaries.push(c.as_str().unwrap().to_string());
    }
    let csrf2 = t.csrf_any(&verified).await;

    // A password change and a reset code.
    let r = t
        .with_session(
            t.client.post(t.url("/api/v1/me/password")),
            &verified,
            &csrf2,
        )
        .json(&json!({ "current_password": password, "new_password": changed }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    t.client
        .post(t.url("/api/v1/password-reset"))
        .json(&json!({ "email": BOB }))
        .send()
        .await
        .unwrap();
    let reset = t.mailer.sent.lock().unwrap().last().unwrap().body.clone();
    let reset_code = reset
        .lines()
        .find(|l| l.len() == 43 && !l.contains(' '))
        .unwrap()
        .to_string();
    canaries.push(reset_code);
    // Bob's password goes through sign-in too.
    t.login(BOB, BOB_PASSWORD).await;
    canaries.push(BOB_PASSWORD.to_string());
    t.server.shutdown().await.unwrap();
    t.store.close().await;

    let logs = String::from_utf8_lossy(&capture.0.lock().unwrap()).to_string();
    assert!(
        logs.lines().count() > 20,
        "the capture must have caught the server's logs"
    );
    assert!(
        logs.contains("rampart::auth"),
        "sign-in events are logged (without secrets)"
    );
    for canary in &canaries {
        assert!(
            !logs.contains(canary.as_str()),
            "a secret appears in the logs: {canary}"
        );
    }
    // Every byte of the data directory: database, WAL, keys, TLS files.
    let mut scanned = 0;
    for path in files_under(t.dir.path()) {
        if path
            .file_name()
            .is_some_and(|n| n == rampart_server::VAULT_KEY_FILE_NAME)
        {
            continue; // the key itself, which the operator keeps apart
        }
        let bytes = std::fs::read(&path).unwrap();
        scanned += bytes.len();
        for (i, canary) in canaries.iter().enumerate() {
            assert!(
                !bytes.windows(canary.len()).any(|w| w == canary.as_bytes()),
                "a secret (canary #{i}) appears in clear in {}: {canary}",
                path.display()
            );
        }
    }
    // On PostgreSQL the database is not in the data directory: every byte of a dump of it.
    if let Some(server) = &t.pg {
        let dump = server.dump();
        assert!(
            dump.windows(9).any(|w| w == b"acme-logs"),
            "the dump holds the data"
        );
        scanned += dump.len();
        for canary in &canaries {
            assert!(
                !dump.windows(canary.len()).any(|w| w == canary.as_bytes()),
                "a secret appears in clear in the PostgreSQL database: {canary}"
            );
        }
    }
    // (A dump is denser than SQLite's pages.)
    let least = if t.pg.is_some() { 50_000 } else { 100_000 };
    assert!(scanned > least, "{scanned}");
}
