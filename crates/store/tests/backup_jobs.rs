//! The installation's backup queue on the backend under test (`RAMPART_TEST_BACKEND`): two
//! schedulers fire a slot once; two claimants racing for one job get it once; a lapsed lease is
//! reaped and the job claimed again, and only the new holder can finish it; failed attempts go
//! back to the queue until their attempts are used up, then the job ends failed with its error;
//! a success records the file and is audited on the installation's chain.
#![allow(clippy::unwrap_used)]

mod common;

use chrono::{DateTime, TimeDelta, Utc};
use rampart_store::{BackupJobResult, JobState, backup_slot};

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn result(id: &str) -> BackupJobResult {
    BackupJobResult {
        backup_id: id.to_owned(),
        file_name: format!("rampart-backup-{id}.rbk"),
        file_bytes: 4096,
        database_bytes: 3000,
        database_sha256: "ab".repeat(32),
        key_id: "k1".into(),
        backend: "sqlite".into(),
    }
}

#[tokio::test]
async fn two_schedulers_enqueue_the_same_slot_as_one_job() {
    let db = common::open().await;
    let other = db.reopen().await;
    let interval = TimeDelta::hours(6);
    let now = t("2026-05-01T13:07:00Z");
    let slot = backup_slot(now, interval).unwrap();
    assert_eq!(slot, t("2026-05-01T12:00:00Z"));
    // Two processes tick at (nearly) the same moment, concurrently and then again later.
    let (a, b) = tokio::join!(
        db.store.enqueue_backup_slot(slot, 3, "scheduler", now),
        other.enqueue_backup_slot(
            backup_slot(now + TimeDelta::seconds(5), interval).unwrap(),
            3,
            "scheduler",
            now + TimeDelta::seconds(5)
        ),
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(
        a.is_some() as u8 + b.is_some() as u8,
        1,
        "exactly one insert: {a:?} {b:?}"
    );
    let later = now + TimeDelta::hours(1);
    assert!(
        db.store
            .enqueue_backup_slot(backup_slot(later, interval).unwrap(), 3, "scheduler", later)
            .await
            .unwrap()
            .is_none()
    );
    let jobs = db.store.backup_jobs(10).await.unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].slot, slot);
    assert_eq!(jobs[0].state, JobState::Queued);
    // The next slot is a second job, listed first.
    let next = now + interval;
    let job = db
        .store
        .enqueue_backup_slot(backup_slot(next, interval).unwrap(), 3, "scheduler", next)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.slot, t("2026-05-01T18:00:00Z"));
    let jobs = db.store.backup_jobs(10).await.unwrap();
    assert_eq!(
        jobs.iter().map(|j| j.slot).collect::<Vec<_>>(),
        [t("2026-05-01T18:00:00Z"), slot]
    );
    other.close().await;
}

#[tokio::test]
async fn two_workers_claiming_at_once_get_the_job_once() {
    let db = common::open().await;
    let other = db.reopen().await;
    let now = Utc::now();
    db.store
        .enqueue_backup_slot(
            backup_slot(now, TimeDelta::hours(24)).unwrap(),
            3,
            "scheduler",
            now,
        )
        .await
        .unwrap()
        .unwrap();
    for _ in 0..3 {
        let lease = TimeDelta::seconds(60);
        let (a, b) = tokio::join!(
            db.store.claim_backup_job("wrk_a", lease, now),
            other.claim_backup_job("wrk_b", lease, now),
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        let claims: Vec<_> = [a, b].into_iter().flatten().collect();
        assert!(claims.len() <= 1, "claimed twice: {claims:?}");
        if let Some(c) = claims.first() {
            assert_eq!(c.job.state, JobState::Running);
            assert_eq!(c.job.attempts, 1);
            assert_eq!(c.job.lease_owner.as_deref(), Some(c.worker.as_str()));
            // Nobody else gets it while it runs.
            assert!(
                db.store
                    .claim_backup_job("wrk_c", lease, now)
                    .await
                    .unwrap()
                    .is_none()
            );
            other.close().await;
            return;
        }
    }
    panic!("nobody claimed the job");
}

#[tokio::test]
async fn a_lapsed_lease_is_reaped_and_only_the_new_holder_finishes_the_job() {
    let db = common::open().await;
    let now = t("2026-05-01T03:00:10Z");
    let lease = TimeDelta::seconds(30);
    let slot = backup_slot(now, TimeDelta::hours(24)).unwrap();
    db.store
        .enqueue_backup_slot(slot, 3, "scheduler", now)
        .await
        .unwrap()
        .unwrap();
    let dead = db
        .store
        .claim_backup_job("wrk_dead", lease, now)
        .await
        .unwrap()
        .unwrap();
    assert!(
        db.store
            .heartbeat_backup_job(&dead, lease, now + TimeDelta::seconds(10))
            .await
            .unwrap()
    );
    // A second backup job of a later slot waits while this one runs.
    let next = now + TimeDelta::hours(24);
    db.store
        .enqueue_backup_slot(
            backup_slot(next, TimeDelta::hours(24)).unwrap(),
            3,
            "scheduler",
            next,
        )
        .await
        .unwrap()
        .unwrap();
    assert!(
        db.store
            .claim_backup_job("wrk_live", lease, next)
            .await
            .unwrap()
            .is_none(),
        "one backup at a time"
    );
    // Nothing to reap while the lease holds.
    assert!(
        db.store
            .reap_backup_jobs(now + TimeDelta::seconds(39))
            .await
            .unwrap()
            .is_empty()
    );
    let later = now + TimeDelta::seconds(41);
    let reaped = db.store.reap_backup_jobs(later).await.unwrap();
    assert_eq!(reaped, vec![(dead.job.id.clone(), JobState::Queued)]);
    let job = db.store.backup_job(&dead.job.id).await.unwrap().unwrap();
    assert!(
        job.last_error
            .as_deref()
            .unwrap()
            .contains("wrk_dead stopped renewing its lease"),
        "{job:?}"
    );
    // Claimed again (the older slot first), by a live worker.
    let live = db
        .store
        .claim_backup_job("wrk_live", lease, later)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(live.job.id, dead.job.id);
    assert_eq!(live.job.attempts, 2);
    // The dead worker's lease is gone: its heartbeat and finish are refused.
    assert!(
        !db.store
            .heartbeat_backup_job(&dead, lease, later)
            .await
            .unwrap()
    );
    assert!(
        !db.store
            .complete_backup_job(&dead, &result("bkp_dead"), later)
            .await
            .unwrap()
    );
    assert_eq!(
        db.store
            .fail_backup_job(&dead, "late", later, later)
            .await
            .unwrap(),
        None
    );
    assert!(
        db.store
            .complete_backup_job(&live, &result("bkp_live"), later)
            .await
            .unwrap()
    );
    let job = db.store.backup_job(&dead.job.id).await.unwrap().unwrap();
    assert_eq!(job.state, JobState::Succeeded);
    assert_eq!(job.result, Some(result("bkp_live")));
    assert_eq!(job.lease_owner, None);
    assert_eq!(job.finished_at, Some(later));
    // Audited on the installation's chain.
    let entries = db
        .store
        .installation_audit_log(
            &rampart_store::AuditFilter {
                action: Some("backup.create".into()),
                ..Default::default()
            },
            rampart_store::Page::new(50, 0),
        )
        .await
        .unwrap()
        .items;
    let created: Vec<_> = entries
        .iter()
        .filter(|e| e.event.action == "backup.create")
        .collect();
    assert_eq!(created.len(), 1, "{entries:?}");
    assert_eq!(created[0].event.object_id, "bkp_live");
}

#[tokio::test]
async fn failed_attempts_back_off_then_the_job_fails_with_its_error() {
    let db = common::open().await;
    let now = t("2026-05-01T03:00:00Z");
    let lease = TimeDelta::seconds(30);
    let job = db
        .store
        .enqueue_backup_slot(now, 2, "scheduler", now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.max_attempts, 2);
    let c = db
        .store
        .claim_backup_job("wrk_a", lease, now)
        .await
        .unwrap()
        .unwrap();
    let retry = now + TimeDelta::seconds(30);
    assert_eq!(
        db.store
            .fail_backup_job(&c, "cannot create /x: read-only file system", retry, now)
            .await
            .unwrap(),
        Some(JobState::Queued)
    );
    // Not before its retry time.
    assert!(
        db.store
            .claim_backup_job("wrk_a", lease, retry - TimeDelta::seconds(1))
            .await
            .unwrap()
            .is_none()
    );
    let c = db
        .store
        .claim_backup_job("wrk_a", lease, retry)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.job.attempts, 2);
    assert_eq!(
        db.store
            .fail_backup_job(&c, "still read-only", retry, retry)
            .await
            .unwrap(),
        Some(JobState::Failed)
    );
    let job = db.store.backup_job(&job.id).await.unwrap().unwrap();
    assert_eq!(job.state, JobState::Failed);
    assert_eq!(job.last_error.as_deref(), Some("still read-only"));
    assert_eq!(job.finished_at, Some(retry));
    assert_eq!(job.result, None);
    assert!(
        db.store
            .claim_backup_job("wrk_a", lease, retry + TimeDelta::hours(1))
            .await
            .unwrap()
            .is_none()
    );
    // Bad limits are refused.
    assert!(
        db.store
            .enqueue_backup_slot(now + TimeDelta::hours(1), 0, "scheduler", now)
            .await
            .is_err()
    );
}
