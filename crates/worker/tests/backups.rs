//! Scheduled backups from the backup queue on the backend under test (`RAMPART_TEST_BACKEND`;
//! SQLite backups with `VACUUM INTO`, PostgreSQL ones with `pg_dump` as the BYPASSRLS backup
//! role): a job whose holder died is reaped, claimed again and completed with exactly one backup
//! written, which restores to the same data; a job whose backup directory cannot be created
//! backs off and ends failed with its error.
#![allow(clippy::unwrap_used)]

#[path = "../../store/tests/common/mod.rs"]
mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use common::{at, eval, inventory, severity_of};
use rampart_model::FindingStatus;
use rampart_store::backup::PgTools;
use rampart_store::{JobState, Store, Vault};
use rampart_worker::{BackupConfig, BackupObserver, BackupSource, BackupWorker};

/// Records what the backup worker reports of each attempt.
#[derive(Default)]
struct Outcomes(Mutex<Vec<(String, Option<String>)>>);

impl BackupObserver for Outcomes {
    fn backup_finished(&self, outcome: &str, _elapsed: Duration, error: Option<&str>) {
        self.0
            .lock()
            .unwrap()
            .push((outcome.to_owned(), error.map(str::to_owned)));
    }
}

fn vault() -> Arc<Vault> {
    let line = Vault::generate_key_line("bk1");
    Arc::new(Vault::from_key_text(&line, "test").unwrap())
}

async fn seed(store: &Store) {
    for slug in ["alpha", "bravo"] {
        let ws = common::workspace(store, slug).await;
        let inv = inventory(at(1));
        let evals: Vec<_> = inv
            .assets
            .iter()
            .map(|a| eval("aws-demo-control", a, FindingStatus::Fail))
            .collect();
        store
            .scoped(&ws)
            .record_scan_at("seed", &inv, &evals, severity_of, at(1))
            .await
            .unwrap();
    }
}

/// The backup source of the store under test (PostgreSQL: creates the backup role).
async fn source(db: &common::TestDb) -> BackupSource {
    match &db.pg {
        None => BackupSource::Sqlite,
        Some(server) => BackupSource::Postgres {
            dump_url: server.backup_role_url().await,
            tools: PgTools {
                bin_dir: Some(server.bin_dir().to_path_buf()),
            },
        },
    }
}

fn config(dir: std::path::PathBuf, source: BackupSource, vault: Arc<Vault>) -> BackupConfig {
    BackupConfig {
        lease: Duration::from_secs(5),
        heartbeat: Duration::from_millis(200),
        poll: Duration::from_millis(50),
        backoff_base: Duration::from_millis(300),
        backoff_max: Duration::from_secs(2),
        ..BackupConfig::new(dir, Duration::from_secs(24 * 3600), 0, source, vault)
    }
}

#[tokio::test]
async fn a_reaped_backup_job_is_completed_once_and_its_backup_restores() {
    let db = common::open().await;
    seed(&db.store).await;
    let before = db.store.workspace_fingerprints().await.unwrap();
    let out = db.dir.path().join("backups");
    let vault = vault();
    // The slot is queued and claimed by a process that then died (its lease lapsed).
    let now = Utc::now();
    let slot = rampart_store::backup_slot(now, TimeDelta::hours(24)).unwrap();
    let job = db
        .store
        .enqueue_backup_slot(slot, 3, "scheduler", now - TimeDelta::seconds(10))
        .await
        .unwrap()
        .unwrap();
    let dead = db
        .store
        .claim_backup_job(
            "bkw_dead",
            TimeDelta::seconds(1),
            now - TimeDelta::seconds(10),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(dead.job.id, job.id);

    let outcomes = Arc::new(Outcomes::default());
    let worker = BackupWorker::new(
        db.reopen().await,
        config(out.clone(), source(&db).await, vault.clone()),
    )
    .with_observer(outcomes.clone());
    let ran = worker.tick().await.unwrap().expect("the reaped job runs");
    assert_eq!(ran.job_id, job.id);
    assert_eq!(ran.state, Some(JobState::Succeeded));
    // Nothing more is due in this slot, however often the scheduler looks; a second process
    // scheduling the same slot adds nothing either.
    assert!(worker.tick().await.unwrap().is_none());
    let other = BackupWorker::new(
        db.reopen().await,
        config(out.clone(), source_again(&db), vault.clone()),
    );
    assert!(other.tick().await.unwrap().is_none());

    let jobs = db.store.backup_jobs(10).await.unwrap();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    let done = &jobs[0];
    assert_eq!(done.state, JobState::Succeeded);
    assert_eq!(done.attempts, 2);
    assert!(
        done.last_error
            .as_deref()
            .unwrap()
            .contains("bkw_dead stopped renewing")
    );
    let result = done.result.clone().unwrap();
    assert_eq!(Some(&result), ran.result.as_ref());
    assert_eq!(result.backend, db.store.backend_name());
    assert_eq!(result.key_id, "bk1");
    // Exactly one backup file set: the sealed file and its manifest, nothing partial.
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            result.file_name.clone(),
            format!("{}.manifest.json", result.file_name)
        ]
    );
    let file = out.join(&result.file_name);
    assert_eq!(std::fs::metadata(&file).unwrap().len(), result.file_bytes);
    let manifest = rampart_store::backup::read_manifest(&file).unwrap();
    assert_eq!(manifest.id, result.backup_id);
    assert_eq!(manifest.database_sha256, result.database_sha256);
    assert_eq!(manifest.workspaces, before);
    assert_eq!(
        outcomes.0.lock().unwrap().as_slice(),
        [("succeeded".to_owned(), None)]
    );

    // The backup restores, and the restored data matches the manifest.
    match &db.pg {
        None => {
            let target = tempfile::tempdir().unwrap();
            let restored = rampart_store::backup::restore(&file, target.path(), &vault, false)
                .expect("restore accepts the scheduled backup");
            assert_eq!(restored.id, result.backup_id);
            let store = Store::open_data_dir(target.path()).await.unwrap();
            assert_eq!(store.workspace_fingerprints().await.unwrap(), before);
            store.close().await;
        }
        Some(server) => {
            let fresh = common::pg::PgServer::start_unmigrated();
            let tools = PgTools {
                bin_dir: Some(server.bin_dir().to_path_buf()),
            };
            let restored = rampart_store::backup::restore_postgres(
                &file,
                &fresh.owner_url(),
                &tools,
                &vault,
                false,
            )
            .await
            .expect("restore accepts the scheduled backup");
            assert_eq!(restored.id, result.backup_id);
            let store = Store::open_url(&fresh.app_url()).await.unwrap();
            assert_eq!(store.workspace_fingerprints().await.unwrap(), before);
            store.close().await;
        }
    }
}

/// The source again, without creating the backup role a second time.
fn source_again(db: &common::TestDb) -> BackupSource {
    match &db.pg {
        None => BackupSource::Sqlite,
        Some(server) => BackupSource::Postgres {
            dump_url: format!(
                "postgres://rampart_backup:backup-test-password@127.0.0.1:{}/rampart",
                server.port
            ),
            tools: PgTools {
                bin_dir: Some(server.bin_dir().to_path_buf()),
            },
        },
    }
}

#[tokio::test]
async fn a_backup_that_keeps_failing_backs_off_and_ends_failed_with_its_error() {
    let db = common::open().await;
    seed(&db.store).await;
    // The backup directory cannot be created: its parent is a file (whoever runs the test).
    let blocker = db.dir.path().join("not-a-directory");
    std::fs::write(&blocker, b"x").unwrap();
    let out = blocker.join("backups");
    let outcomes = Arc::new(Outcomes::default());
    let worker = BackupWorker::new(
        db.store.clone(),
        config(out.clone(), source(&db).await, vault()),
    )
    .with_observer(outcomes.clone());

    let mut states = Vec::new();
    let mut last_attempt = std::time::Instant::now();
    let mut gaps = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while states.last() != Some(&JobState::Failed) {
        assert!(std::time::Instant::now() < deadline, "{states:?}");
        if let Some(ran) = worker.tick().await.unwrap() {
            if !states.is_empty() {
                gaps.push(last_attempt.elapsed());
            }
            last_attempt = std::time::Instant::now();
            states.push(ran.state.unwrap());
            assert!(ran.result.is_none());
        } else {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    assert_eq!(
        states,
        [JobState::Queued, JobState::Queued, JobState::Failed],
        "three attempts, the last one final"
    );
    // Backoff: 300 ms after the first failure, 600 ms after the second.
    assert!(gaps[0] >= Duration::from_millis(280), "{gaps:?}");
    assert!(gaps[1] >= Duration::from_millis(580), "{gaps:?}");
    let jobs = db.store.backup_jobs(10).await.unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].state, JobState::Failed);
    assert_eq!(jobs[0].attempts, 3);
    let error = jobs[0].last_error.clone().unwrap();
    assert!(error.contains("cannot create"), "{error}");
    assert!(jobs[0].finished_at.is_some());
    assert!(jobs[0].result.is_none());
    let seen: Vec<&str> = outcomes
        .0
        .lock()
        .unwrap()
        .iter()
        .map(|(o, e)| {
            assert!(e.as_deref().unwrap().contains("cannot create"));
            match o.as_str() {
                "queued" => "queued",
                "failed" => "failed",
                other => panic!("{other}"),
            }
        })
        .collect();
    assert_eq!(seen, ["queued", "queued", "failed"]);
    // Failed for good: not claimed again, and the slot is not fired a second time.
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(worker.tick().await.unwrap().is_none());
    assert!(!out.exists());
}
