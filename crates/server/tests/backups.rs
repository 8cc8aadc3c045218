//! Scheduled backups (issue 10.5): the server writes encrypted backups on its schedule, keeps
//! the newest N, and holds its data directory's lock so a restore cannot replace it underneath.
//! Encrypted backups are SQLite's (on PostgreSQL: pg_dump, and `Store::backup` refuses), so the
//! schedule test runs on SQLite whatever the backend under test; the refusal on PostgreSQL is
//! checked below.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

#[tokio::test]
async fn the_server_takes_scheduled_backups_with_retention_and_locks_its_directory() {
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
            every: Duration::from_millis(300),
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
    let mut seen = 0;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        seen = rampart_store::backup::list_backups(&out)
            .map(|b| b.len())
            .unwrap_or(0);
        if seen >= 2 {
            tokio::time::sleep(Duration::from_millis(700)).await;
            break;
        }
    }
    assert!(seen >= 2, "scheduled backups were written");
    let backups = rampart_store::backup::list_backups(&out).unwrap();
    assert_eq!(backups.len(), 2, "retention keeps the newest two");
    let manifest = rampart_store::backup::read_manifest(&backups[1]).unwrap();
    assert_eq!(manifest.workspaces.len(), 2);

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
