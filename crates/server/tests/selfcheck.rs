//! The installation self-assessment (issue 10, point 8): a well-run installation passes every
//! requirement of content/selfcheck/requirements.yaml, and breaking each promise fails exactly
//! the requirement that holds it, with a detail naming what is wrong. Also the operators' API and
//! page. Runs on SQLite: the checks are about the installation (its TLS listener, files and
//! accounts), and `Store::privileged_without_mfa` has its own test on both backends.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use rampart_server::selfcheck::{self, Installation, Report, Status};
use rampart_store::audit::{AuditEvent, Outcome};
use rampart_store::{Role, Store, Vault, totp};

/// A CA and a certificate it issued for localhost and 127.0.0.1, valid from yesterday for 90
/// days; answers (cert path, key path).
fn ca_issued_certificate(dir: &Path) -> (PathBuf, PathBuf) {
    let ca_key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "Rampart test CA");
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let leaf_key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut leaf =
        rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .unwrap();
    leaf.distinguished_name
        .push(rcgen::DnType::CommonName, "localhost");
    let ymd = |d: chrono::DateTime<Utc>| {
        use chrono::Datelike as _;
        rcgen::date_time_ymd(d.year(), d.month() as u8, d.day() as u8)
    };
    leaf.not_before = ymd(Utc::now() - TimeDelta::days(1));
    leaf.not_after = ymd(Utc::now() + TimeDelta::days(90));
    let cert = leaf.signed_by(&leaf_key, &ca_cert, &ca_key).unwrap();
    let cert_path = dir.join("server.pem");
    let key_path = dir.join("server.key");
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, leaf_key.serialize_pem()).unwrap();
    (cert_path, key_path)
}

fn write_private(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// Ports this host already exposes beyond loopback (say, its SSH daemon): allowed, so that the
/// test is about Rampart's listeners and not about the machine it runs on.
fn host_exposed_ports() -> Vec<u16> {
    let mut ports = Vec::new();
    for (file, v6) in [("/proc/net/tcp", false), ("/proc/net/tcp6", true)] {
        if let Ok(text) = std::fs::read_to_string(file) {
            ports.extend(
                selfcheck::parse_proc_net_tcp(&text, v6)
                    .into_iter()
                    .filter(|l| !l.addr.is_loopback())
                    .map(|l| l.port),
            );
        }
    }
    ports
}

async fn enrol_totp(store: &Store, vault: &Vault, user_id: &str) {
    let secret = store.begin_totp(user_id, vault).await.unwrap();
    let code = totp::totp_at(
        totp::TotpAlgorithm::Sha1,
        &secret,
        Utc::now().timestamp(),
        6,
    );
    assert!(
        store
            .confirm_totp(
                user_id,
                &code,
                vault,
                AuditEvent::new("mfa.enrol", Outcome::Success)
            )
            .await
            .unwrap()
            .is_some()
    );
}

fn status(report: &Report, id: &str) -> (Status, String) {
    let r = report.result(id).unwrap();
    (r.status, r.details.join("\n"))
}

#[track_caller]
fn assert_fails(report: &Report, id: &str, needle: &str) {
    let (s, details) = status(report, id);
    assert_eq!(s, Status::Fail, "{id} should fail:\n{}", report.to_text());
    assert!(
        details.contains(needle),
        "{id} should say {needle:?}:\n{details}"
    );
    let others: Vec<_> = report
        .requirements
        .iter()
        .filter(|r| r.requirement.id != id && r.status == Status::Fail)
        .map(|r| r.requirement.id.clone())
        .collect();
    assert!(
        others.is_empty(),
        "only {id} should fail, also: {others:?}\n{}",
        report.to_text()
    );
}

#[tokio::test]
async fn selfcheck_passes_a_well_run_installation_and_names_each_broken_promise() {
    common::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (store, _pg) = common::open_store_on(&data, common::pg::Backend::Sqlite).await;
    let catalog = Arc::new(rampart_rules::Catalog::builtin().unwrap());

    // Accounts: an owner and an operator, both with TOTP.
    store.create_workspace("acme", "Acme").await.unwrap();
    let acme = store.operator_scope("acme").await.unwrap().unwrap();
    let alice = store
        .create_user(common::ALICE, common::ALICE_PASSWORD)
        .await
        .unwrap();
    store
        .set_membership(&acme, &alice.id, Role::Owner)
        .await
        .unwrap();
    let op = store
        .create_user("operator@example.com", "operator correct horse battery")
        .await
        .unwrap();
    store
        .set_operator(
            &op.id,
            true,
            AuditEvent::new("operator.grant", Outcome::Success),
        )
        .await
        .unwrap();

    // The vault key in its own directory, private; two backups in another.
    let key_path = dir.path().join("keys").join("vault.key");
    write_private(&key_path, &format!("{}\n", Vault::generate_key_line("k1")));
    let vault = Vault::from_file(&key_path).unwrap();
    enrol_totp(&store, &vault, &alice.id).await;
    enrol_totp(&store, &vault, &op.id).await;
    let backups = dir.path().join("backups");
    std::fs::create_dir_all(&backups).unwrap();
    store.backup(&backups, &vault, 0).await.unwrap();
    store.backup(&backups, &vault, 0).await.unwrap();

    let (cert, key) = ca_issued_certificate(dir.path());
    let config = rampart_server::ServerConfig {
        data_dir: data.clone(),
        listen: "127.0.0.1:0".parse().unwrap(),
        tls_cert: Some(cert),
        tls_key: Some(key),
        vault_key_file: Some(key_path.clone()),
        metrics_listen: Some("127.0.0.1:0".parse().unwrap()),
        backups: Some(rampart_server::BackupSchedule {
            dir: backups.clone(),
            every: Duration::from_secs(24 * 3600),
            retain: 14,
        }),
        allowed_ports: host_exposed_ports(),
        public_url: None,
    };
    let server = rampart_server::start(config.clone(), store.clone(), catalog)
        .await
        .unwrap();
    let inst = Installation::from_config(&config, server.addr, server.metrics_addr);
    let now = Utc::now();

    // 1. Every promise kept: every requirement passes, score 100.
    let report = selfcheck::run(&store, Some(&vault), &inst, now).await;
    assert_eq!(report.failed, 0, "{}", report.to_text());
    assert_eq!((report.passed, report.score), (8, 100));
    let (_, tls) = status(&report, "RSC-1");
    assert!(tls.contains("negotiated TLSv1_3"), "{tls}");
    assert!(tls.contains("refuses TLS 1.0/1.1"), "{tls}");
    assert!(tls.contains("HSTS max-age=31536000"), "{tls}");
    assert!(
        status(&report, "RSC-2").1.contains("EC key, CA-issued"),
        "{}",
        report.to_text()
    );
    assert!(
        status(&report, "RSC-6").1.starts_with("2 backups"),
        "{}",
        report.to_text()
    );

    // 2. Each broken promise fails its own requirement, naming the problem.
    // RSC-1: the listener is something that speaks plain HTTP.
    let plain = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let plain_addr = plain.local_addr().unwrap();
    let answering = tokio::spawn(async move {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        loop {
            let Ok((mut s, _)) = plain.accept().await else {
                return;
            };
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf).await;
            let _ = s
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                .await;
        }
    });
    let mut broken = inst.clone();
    broken.https = plain_addr;
    broken.allowed_ports.push(server.addr.port());
    let r = selfcheck::run(&store, Some(&vault), &broken, now).await;
    assert_eq!(status(&r, "RSC-1").0, Status::Fail, "{}", r.to_text());
    assert!(
        status(&r, "RSC-1").1.contains("TLS handshake"),
        "{}",
        r.to_text()
    );
    answering.abort();

    // RSC-2: the same certificate 80 days on (10 left), and after it expired.
    let r = selfcheck::run(&store, Some(&vault), &inst, now + TimeDelta::days(80)).await;
    assert_eq!(status(&r, "RSC-2").0, Status::Fail);
    assert!(
        status(&r, "RSC-2").1.contains("days left"),
        "{}",
        r.to_text()
    );
    let r = selfcheck::run(&store, Some(&vault), &inst, now + TimeDelta::days(100)).await;
    assert!(status(&r, "RSC-2").1.contains("expired"), "{}", r.to_text());

    // RSC-4: metrics off, or on a non-loopback address.
    let mut broken = inst.clone();
    broken.metrics_listen = None;
    assert_fails(
        &selfcheck::run(&store, Some(&vault), &broken, now).await,
        "RSC-4",
        "metrics are off",
    );
    broken.metrics_listen = Some("0.0.0.0:9464".parse().unwrap());
    assert_fails(
        &selfcheck::run(&store, Some(&vault), &broken, now).await,
        "RSC-4",
        "reachable from other machines",
    );

    // RSC-6: no backups, one backup, a late backup, a backup sealed with a key no longer held.
    let mut broken = inst.clone();
    broken.backup_dir = None;
    assert_fails(
        &selfcheck::run(&store, Some(&vault), &broken, now).await,
        "RSC-6",
        "no backup directory",
    );
    let single = dir.path().join("single");
    std::fs::create_dir_all(&single).unwrap();
    store.backup(&single, &vault, 0).await.unwrap();
    broken.backup_dir = Some(single);
    assert_fails(
        &selfcheck::run(&store, Some(&vault), &broken, now).await,
        "RSC-6",
        "1 backup(s)",
    );
    let r = selfcheck::run(&store, Some(&vault), &inst, now + TimeDelta::hours(30)).await;
    assert_eq!(status(&r, "RSC-6").0, Status::Fail);
    assert!(status(&r, "RSC-6").1.contains("h old"), "{}", r.to_text());
    let other_vault = Vault::from_key_text(&Vault::generate_key_line("k2"), "test").unwrap();
    let r = selfcheck::run(&store, Some(&other_vault), &inst, now).await;
    assert_fails(&r, "RSC-6", "no longer holds");

    // RSC-8: the key readable by others; the key inside the backup directory.
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_fails(
            &selfcheck::run(&store, Some(&vault), &inst, now).await,
            "RSC-8",
            "mode 0644",
        );
        std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let mut broken = inst.clone();
        broken.vault_key = selfcheck::VaultKeySource::File(backups.join("vault.key"));
        write_private(&backups.join("vault.key"), "k1:AAAA\n");
        assert_fails(
            &selfcheck::run(&store, Some(&vault), &broken, now).await,
            "RSC-8",
            "inside the backup directory",
        );
        std::fs::remove_file(backups.join("vault.key")).unwrap();
        broken.vault_key = selfcheck::VaultKeySource::File(dir.path().join("missing.key"));
        assert_fails(
            &selfcheck::run(&store, Some(&vault), &broken, now).await,
            "RSC-8",
            "is missing",
        );
    }

    // RSC-5: an admin without MFA, named with the workspace.
    let bob = store
        .create_user(common::BOB, common::BOB_PASSWORD)
        .await
        .unwrap();
    store
        .set_membership(&acme, &bob.id, Role::Admin)
        .await
        .unwrap();
    assert_fails(
        &selfcheck::run(&store, Some(&vault), &inst, now).await,
        "RSC-5",
        "bob@example.com (admin of workspace acme) has no MFA",
    );
    // An analyst without MFA is not privileged.
    store
        .set_membership(&acme, &bob.id, Role::Analyst)
        .await
        .unwrap();
    assert_eq!(
        selfcheck::run(&store, Some(&vault), &inst, now)
            .await
            .failed,
        0
    );

    // The operators' API and page: the operator gets the report, an owner is refused.
    let client = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    let base = format!("https://localhost:{}", server.addr.port());
    let op_session = store_session(&store, "operator@example.com").await;
    let alice_session = store_session(&store, common::ALICE).await;
    let resp = client
        .get(format!("{base}/api/v1/installation/selfcheck"))
        .header("cookie", format!("__Host-rampart_session={op_session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["framework"], "rampart-selfcheck");
    assert_eq!(body["requirements"].as_array().unwrap().len(), 8);
    assert_eq!(body["requirements"][0]["id"], "RSC-1");
    let resp = client
        .get(format!("{base}/api/v1/installation/selfcheck"))
        .header("cookie", format!("__Host-rampart_session={alice_session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    let page = client
        .get(format!("{base}/installation"))
        .header("cookie", format!("__Host-rampart_session={op_session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    common::assert_security_headers(&page, "/installation");
    let html = page.text().await.unwrap();
    assert!(html.contains("Installation self-assessment"), "{html}");
    assert!(
        html.contains("RSC-8") && html.contains("status-pass"),
        "{html}"
    );
    assert!(common::no_inline_script(&html));
    let page = client
        .get(format!("{base}/installation"))
        .header("cookie", format!("__Host-rampart_session={alice_session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 403);

    // RSC-7, last (it cannot be undone): an edited audit entry.
    {
        use sqlx::Connection as _;
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(data.join(rampart_store::SQLITE_FILE_NAME));
        let mut conn = sqlx::SqliteConnection::connect_with(&options)
            .await
            .unwrap();
        for sql in [
            "DROP TRIGGER IF EXISTS audit_log_no_update",
            "UPDATE audit_log SET action = 'nothing.to.see' WHERE chain = 'installation' AND seq = 1",
        ] {
            sqlx::query(sql).execute(&mut conn).await.unwrap();
        }
        conn.close().await.unwrap();
    }
    assert_fails(
        &selfcheck::run(&store, Some(&vault), &inst, now).await,
        "RSC-7",
        "chain installation does not verify from entry #1",
    );
    server.shutdown().await.unwrap();
}

/// A signed-in, MFA-verified session for a user (straight from the store: the sign-in flow has
/// its own tests).
async fn store_session(store: &Store, email: &str) -> String {
    let user = store.user_by_email(email).await.unwrap().unwrap();
    store
        .create_session_with(
            &user.id,
            &rampart_store::SessionOptions {
                mfa_verified: true,
                ..Default::default()
            },
            Utc::now(),
        )
        .await
        .unwrap()
        .token
        .clone()
}
