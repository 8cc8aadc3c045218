//! Scheduled backups (issue 10.5; issue 7.3): beside the server, a backup worker takes encrypted
//! backups from the installation's backup queue on the schedule's slots and keeps the newest N,
//! and the server holds its data directory's lock so a restore cannot replace it underneath.
//! This test runs on SQLite whatever the backend under test (the PostgreSQL backups with
//! pg_dump are tested in rampart-worker's `backups` test and the CLI's restore drill);
//! `Store::backup` refusing a PostgreSQL store is checked below.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

#[tokio::test]
async fn scheduled_backups_are_taken_with_retention_while_the_server_locks_its_directory() {
    let t = common::spawn_on(common::pg::Backend::Sqlite).await;
    let out = t.dir.path().join("backups");
    let config = rampart_server::ServerConfig {
        data_dir: t.dir.path().to_path_buf(),
        listen: "127.0.0.1:0".parse().unwrap(),
        tls_cert: None,
        tls_key: None,
        vault_key_file: None,
        metrics_listen: None,
        backups: Some(rampart_server::BackupSchedule {
            dir: out.clone(),
            every: Duration::from_secs(1),
            retain: 2,
        }),
        allowed_ports: Vec::new(),
        public_url: None,
    };
    let (parts, _) = common::parts(t.dir.path());
    let vault = parts.vault.clone();
    let server = rampart_server::start_with(config, t.store.clone(), Arc::clone(&t.catalog), parts)
        .await
        .unwrap();
    // One slot a second; the server itself takes none.
    let worker = rampart_worker::BackupWorker::new(
        t.store.clone(),
        rampart_worker::BackupConfig {
            poll: Duration::from_millis(50),
            heartbeat: Duration::from_millis(200),
            ..rampart_worker::BackupConfig::new(
                out.clone(),
                Duration::from_secs(1),
                2,
                rampart_worker::BackupSource::Sqlite,
                vault.clone(),
            )
        },
    );
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(async move { worker.run(stopped).await });
    let mut succeeded = 0;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        succeeded = t
            .store
            .backup_jobs(50)
            .await
            .unwrap()
            .iter()
            .filter(|j| j.state == rampart_store::JobState::Succeeded)
            .count();
        if succeeded >= 3 {
            break;
        }
    }
    let _ = stop.send(true);
    running.await.unwrap();
    assert!(succeeded >= 3, "scheduled backups were written");
    let backups = rampart_store::backup::list_backups(&out).unwrap();
    assert_eq!(backups.len(), 2, "retention keeps the newest two");
    let manifest = rampart_store::backup::read_manifest(&backups[1]).unwrap();
    assert_eq!(manifest.workspaces.len(), 2);
    let jobs = t.store.backup_jobs(50).await.unwrap();
    assert!(
        jobs.iter().any(|j| j
            .result
            .as_ref()
            .is_some_and(|r| backups[1].ends_with(&r.file_name))),
        "the newest backup is recorded on its job"
    );

    // While the server runs, a restore into its directory is refused.
    let err = rampart_store::backup::restore(&backups[1], t.dir.path(), &vault, true).unwrap_err();
    assert!(
        err.to_string().contains("in use by a running Rampart"),
        "{err}"
    );
    server.shutdown().await.unwrap();
    t.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn backups_on_postgresql_are_refused_and_point_to_pg_dump() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _pg) = common::open_store_on(dir.path(), common::pg::Backend::Postgres).await;
    let (parts, _) = common::parts(dir.path());
    let err = store
        .backup(&dir.path().join("backups"), &parts.vault, 0)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("pg_dump"), "{err}");
    // Fingerprints (read through each workspace's scope) work on PostgreSQL too.
    store.create_workspace("acme", "Acme").await.unwrap();
    let prints = store.workspace_fingerprints().await.unwrap();
    assert_eq!(prints.len(), 1);
}

/// `GET /api/v1/installation/backups` lists the backup queue's jobs to installation operators
/// (with the file each wrote) and refuses everyone else (backend under test).
#[tokio::test]
async fn operators_list_the_scheduled_backups_and_nobody_else_does() {
    use rampart_store::audit::{AuditEvent, Outcome};
    let t = common::spawn().await;
    let now = chrono::Utc::now();
    let slot = rampart_store::backup_slot(now, chrono::TimeDelta::hours(24)).unwrap();
    let job = t
        .store
        .enqueue_backup_slot(slot, 3, "scheduler", now)
        .await
        .unwrap()
        .unwrap();
    let claim = t
        .store
        .claim_backup_job("bkw_test", chrono::TimeDelta::seconds(60), now)
        .await
        .unwrap()
        .unwrap();
    let result = rampart_store::BackupJobResult {
        backup_id: "bkp_0123".into(),
        file_name: "rampart-backup-20260101T000000.000000Z.rbk".into(),
        file_bytes: 10,
        database_bytes: 8,
        database_sha256: "00".repeat(32),
        key_id: "k1".into(),
        backend: t.store.backend_name().into(),
    };
    assert!(
        t.store
            .complete_backup_job(&claim, &result, now)
            .await
            .unwrap()
    );
    let op = t
        .store
        .create_user("operator@example.com", "operator correct horse battery")
        .await
        .unwrap();
    t.store
        .set_operator(
            &op.id,
            true,
            AuditEvent::new("operator.grant", Outcome::Success),
        )
        .await
        .unwrap();
    let op_session = t
        .login("operator@example.com", "operator correct horse battery")
        .await;
    let body = t
        .get_json("/api/v1/installation/backups", &op_session)
        .await;
    let jobs = body.as_array().unwrap();
    assert_eq!(jobs.len(), 1, "{body}");
    assert_eq!(jobs[0]["id"], job.id.as_str());
    assert_eq!(jobs[0]["state"], "succeeded");
    assert_eq!(jobs[0]["result"]["file_name"], result.file_name.as_str());
    assert_eq!(jobs[0]["result"]["backup_id"], "bkp_0123");

    let alice = t.login(common::ALICE, common::ALICE_PASSWORD).await;
    let resp = t.get("/api/v1/installation/backups", Some(&alice)).await;
    assert_eq!(resp.status(), 403);
    let resp = t.get("/api/v1/installation/backups", None).await;
    assert_eq!(resp.status(), 401);
}
