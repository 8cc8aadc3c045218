//! The job queue on the backend under test (`RAMPART_TEST_BACKEND`): claims with leases,
//! heartbeats, the reaper, retries with backoff ending as failed, cancellation, the scheduler's
//! one job per slot with several schedulers, and scans recorded once per job.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashSet;

use chrono::{DateTime, TimeDelta, Utc};
use common::{at, eval, inventory, severity_of};
use rampart_model::FindingStatus;
use rampart_store::audit::{ActorKind, AuditEvent, Outcome};
use rampart_store::{
    Heartbeat, JobKind, JobState, NewJob, Page, Permission, Store, StoreError, Vault,
    WorkspaceScope,
};

const LEASE: TimeDelta = TimeDelta::seconds(30);

fn ev(action: &str) -> AuditEvent {
    AuditEvent::new(action, Outcome::Success).actor(ActorKind::User, "usr_test", "t@example.com")
}

async fn connector(store: &Store, scope: &WorkspaceScope, name: &str) -> String {
    let vault = Vault::from_key_text(&Vault::generate_key_line("k1"), "test").unwrap();
    store
        .create_connector(
            scope,
            name,
            "aws",
            &serde_json::json!({}),
            b"{}",
            &vault,
            ev("connector.create"),
        )
        .await
        .unwrap()
        .id
}

fn now() -> DateTime<Utc> {
    Utc::now()
}

#[tokio::test]
async fn a_job_is_claimed_once_runs_under_a_narrow_scope_and_completes() {
    let db = common::open().await;
    let store = &db.store;
    let ws = common::workspace(store, "alpha").await;
    let con = connector(store, &ws, "prod").await;
    let job = store
        .enqueue_job(&ws, NewJob::scan(&con), ev("job.enqueue"))
        .await
        .unwrap();
    assert_eq!(job.state, JobState::Queued);
    assert_eq!(job.kind, JobKind::Scan);

    let t = now();
    let claim = store.claim_job("wrk_a", LEASE, t).await.unwrap().unwrap();
    assert_eq!(claim.job.id, job.id);
    assert_eq!(claim.job.state, JobState::Running);
    assert_eq!(claim.job.attempts, 1);
    assert_eq!(claim.job.lease_owner.as_deref(), Some("wrk_a"));
    assert_eq!(claim.scope.workspace_id(), ws.workspace_id());
    // The job's scope reads data and records scans; it manages nothing.
    assert!(claim.scope.allows(Permission::ReadData));
    assert!(claim.scope.allows(Permission::RunScans));
    for p in [
        Permission::ManageMembers,
        Permission::ManageTokens,
        Permission::ManageConnectors,
        Permission::ManageSupportGrants,
        Permission::ReadAudit,
    ] {
        assert!(!claim.scope.allows(p), "{p:?}");
    }
    // Nothing else to claim.
    assert!(store.claim_job("wrk_b", LEASE, t).await.unwrap().is_none());

    let progress = serde_json::json!({"step": "collect", "done": 3, "total": 10});
    assert_eq!(
        store
            .heartbeat(&claim, LEASE, Some(&progress), t + TimeDelta::seconds(10))
            .await
            .unwrap(),
        Heartbeat::Renewed
    );
    let seen = store.job(&ws, &job.id).await.unwrap().unwrap();
    assert_eq!(seen.progress, Some(progress));
    assert!(seen.lease_expires_at.unwrap() > t + LEASE);

    assert!(
        store
            .complete_job(
                &claim,
                &serde_json::json!({"scan": "scn_x"}),
                t + TimeDelta::seconds(11)
            )
            .await
            .unwrap()
    );
    let done = store.job(&ws, &job.id).await.unwrap().unwrap();
    assert_eq!(done.state, JobState::Succeeded);
    assert!(done.finished_at.is_some());
    assert!(done.lease_owner.is_none());
    // The enqueue is in the workspace audit log.
    let log = store
        .scoped(&ws)
        .audit_log(&Default::default(), Page::default())
        .await
        .unwrap();
    assert!(log.items.iter().any(|e| e.event.action == "job.enqueue"));
}

#[tokio::test]
async fn concurrent_claimers_never_share_a_job() {
    let db = common::open().await;
    let ws = common::workspace(&db.store, "alpha").await;
    let con = connector(&db.store, &ws, "prod").await;
    let mut ids = HashSet::new();
    for _ in 0..12 {
        let j = db
            .store
            .enqueue_job(&ws, NewJob::scan(&con), ev("job.enqueue"))
            .await
            .unwrap();
        ids.insert(j.id);
    }
    let second = db.reopen().await;
    let t = now();
    let mut tasks = Vec::new();
    for i in 0..6 {
        let store = if i % 2 == 0 {
            db.store.clone()
        } else {
            second.clone()
        };
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            while let Some(c) = store
                .claim_job(&format!("wrk_{i}"), LEASE, t)
                .await
                .unwrap()
            {
                mine.push(c.job.id);
            }
            mine
        }));
    }
    let mut claimed = Vec::new();
    for t in tasks {
        claimed.extend(t.await.unwrap());
    }
    let unique: HashSet<_> = claimed.iter().cloned().collect();
    assert_eq!(claimed.len(), 12, "every job claimed exactly once");
    assert_eq!(unique, ids);
}

#[tokio::test]
async fn a_lapsed_lease_is_reaped_and_the_old_holder_can_no_longer_write() {
    let db = common::open().await;
    let store = &db.store;
    let ws = common::workspace(store, "alpha").await;
    let con = connector(store, &ws, "prod").await;
    let job = store
        .enqueue_job(&ws, NewJob::scan(&con), ev("job.enqueue"))
        .await
        .unwrap();
    let t = now();
    let lost = store
        .claim_job("wrk_dead", LEASE, t)
        .await
        .unwrap()
        .unwrap();
    // Before the lease lapses the reaper leaves it alone.
    assert!(
        store
            .reap_jobs(t + TimeDelta::seconds(29))
            .await
            .unwrap()
            .is_empty()
    );
    let reaped = store.reap_jobs(t + TimeDelta::seconds(31)).await.unwrap();
    assert_eq!(reaped.len(), 1);
    assert_eq!(reaped[0].job_id, job.id);
    assert_eq!(reaped[0].state, JobState::Queued);
    let queued = store.job(&ws, &job.id).await.unwrap().unwrap();
    assert!(
        queued
            .last_error
            .as_deref()
            .unwrap()
            .contains("wrk_dead stopped renewing its lease"),
        "{:?}",
        queued.last_error
    );

    let t2 = t + TimeDelta::seconds(32);
    let fresh = store
        .claim_job("wrk_new", LEASE, t2)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(fresh.job.id, job.id);
    assert_eq!(fresh.job.attempts, 2);
    // The dead worker's late writes change nothing.
    assert_eq!(
        store.heartbeat(&lost, LEASE, None, t2).await.unwrap(),
        Heartbeat::LeaseLost
    );
    assert!(
        !store
            .complete_job(&lost, &serde_json::json!({}), t2)
            .await
            .unwrap()
    );
    assert!(
        store
            .complete_job(&fresh, &serde_json::json!({}), t2)
            .await
            .unwrap()
    );
    assert_eq!(
        store.job(&ws, &job.id).await.unwrap().unwrap().state,
        JobState::Succeeded
    );
}

#[tokio::test]
async fn a_job_that_keeps_failing_backs_off_and_ends_failed_with_its_error() {
    let db = common::open().await;
    let store = &db.store;
    let ws = common::workspace(store, "alpha").await;
    let con = connector(store, &ws, "prod").await;
    let mut new = NewJob::scan(&con);
    new.max_attempts = 3;
    let job = store
        .enqueue_job(&ws, new, ev("job.enqueue"))
        .await
        .unwrap();
    let mut t = now();
    for attempt in 1..=3u32 {
        let claim = store.claim_job("wrk_a", LEASE, t).await.unwrap().unwrap();
        assert_eq!(claim.job.attempts, attempt);
        let retry_at = t + TimeDelta::seconds(10 * i64::from(attempt));
        let state = store
            .fail_job(
                &claim,
                &format!("AccessDenied on attempt {attempt}"),
                retry_at,
                t,
            )
            .await
            .unwrap()
            .unwrap();
        if attempt < 3 {
            assert_eq!(state, JobState::Queued);
            // Not claimable before the backoff has passed.
            assert!(
                store
                    .claim_job("wrk_a", LEASE, retry_at - TimeDelta::seconds(1))
                    .await
                    .unwrap()
                    .is_none()
            );
            t = retry_at;
        } else {
            assert_eq!(state, JobState::Failed);
        }
    }
    let failed = store.job(&ws, &job.id).await.unwrap().unwrap();
    assert_eq!(failed.state, JobState::Failed);
    assert_eq!(failed.attempts, 3);
    assert_eq!(
        failed.last_error.as_deref(),
        Some("AccessDenied on attempt 3")
    );
    assert!(failed.finished_at.is_some());
    assert!(
        store
            .claim_job("wrk_a", LEASE, t + TimeDelta::days(1))
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn cancellation_of_queued_running_and_finished_jobs() {
    let db = common::open().await;
    let store = &db.store;
    let ws = common::workspace(store, "alpha").await;
    let con = connector(store, &ws, "prod").await;
    let queued = store
        .enqueue_job(&ws, NewJob::scan(&con), ev("job.enqueue"))
        .await
        .unwrap();
    let cancelled = store
        .cancel_job(&ws, &queued.id, ev("job.cancel"))
        .await
        .unwrap();
    assert_eq!(cancelled.state, JobState::Cancelled);
    assert!(
        store
            .claim_job("wrk", LEASE, now())
            .await
            .unwrap()
            .is_none()
    );

    let running = store
        .enqueue_job(&ws, NewJob::evaluate(), ev("job.enqueue"))
        .await
        .unwrap();
    let claim = store.claim_job("wrk", LEASE, now()).await.unwrap().unwrap();
    let after = store
        .cancel_job(&ws, &running.id, ev("job.cancel"))
        .await
        .unwrap();
    assert_eq!(after.state, JobState::Running);
    assert!(after.cancel_requested);
    assert_eq!(
        store.heartbeat(&claim, LEASE, None, now()).await.unwrap(),
        Heartbeat::CancelRequested
    );
    assert!(store.finish_cancelled(&claim, now()).await.unwrap());
    assert_eq!(
        store.job(&ws, &running.id).await.unwrap().unwrap().state,
        JobState::Cancelled
    );
    match store.cancel_job(&ws, &running.id, ev("job.cancel")).await {
        Err(StoreError::Conflict { .. }) => {}
        other => panic!("cancelling a finished job: {other:?}"),
    }
    // Another workspace cannot see or cancel it.
    let other = common::workspace(store, "bravo").await;
    assert!(store.job(&other, &running.id).await.unwrap().is_none());
    assert!(matches!(
        store
            .cancel_job(&other, &running.id, ev("job.cancel"))
            .await,
        Err(StoreError::NotFound { .. })
    ));
}

#[tokio::test]
async fn two_schedulers_fire_each_slot_once() {
    let db = common::open().await;
    let ws = common::workspace(&db.store, "alpha").await;
    let con = connector(&db.store, &ws, "prod").await;
    db.store
        .set_connector_schedule(&ws, &con, "0 */6 * * *", ev("connector.schedule"))
        .await
        .unwrap();
    let second = db.reopen().await;
    // A moment two days on: the latest slot is after the connector's creation.
    let t = now() + TimeDelta::days(2);
    let (a, b) = tokio::join!(db.store.schedule_due(t), second.schedule_due(t));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.len() + b.len(), 1, "one job for the slot: {a:?} {b:?}");
    // Again, for the same slot: nothing.
    assert!(db.store.schedule_due(t).await.unwrap().is_empty());
    assert!(second.schedule_due(t).await.unwrap().is_empty());
    let jobs = db
        .store
        .list_jobs(&ws, None, Page::default())
        .await
        .unwrap();
    assert_eq!(jobs.total, 1);
    let job = &jobs.items[0];
    assert_eq!(job.state, JobState::Queued);
    assert_eq!(job.created_by, "scheduler");
    let slot = job.slot.unwrap();
    assert!(slot <= t && t - slot < TimeDelta::hours(6));
    assert_eq!(slot.format("%M:%S").to_string(), "00:00");

    // The next slot while that scan is still queued: recorded as skipped, not queued.
    let later = t + TimeDelta::hours(6);
    let fired = db.store.schedule_due(later).await.unwrap();
    assert_eq!(fired.len(), 1);
    assert!(!fired[0].queued);
    let skipped = db
        .store
        .list_jobs(&ws, Some(JobState::Cancelled), Page::default())
        .await
        .unwrap();
    assert_eq!(skipped.total, 1);
    assert!(
        skipped.items[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("still queued or running")
    );
}

#[tokio::test]
async fn slots_before_the_connector_existed_are_not_fired_and_bad_schedules_are_refused() {
    let db = common::open().await;
    let ws = common::workspace(&db.store, "alpha").await;
    let con = connector(&db.store, &ws, "prod").await;
    // The default schedule is daily at 03:00; an hour ago is before the connector existed
    // (its latest slot is earlier still).
    assert!(
        db.store
            .schedule_due(now() - TimeDelta::hours(1))
            .await
            .unwrap()
            .is_empty()
    );
    let c = db.store.connector(&ws, &con).await.unwrap().unwrap();
    assert_eq!(c.schedule, "0 3 * * *");
    match db
        .store
        .set_connector_schedule(&ws, &con, "0 25 * * *", ev("connector.schedule"))
        .await
    {
        Err(StoreError::Invalid { field, message }) => {
            assert_eq!(field, "schedule");
            assert!(message.contains("hour: 25 is outside 0-23"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_jobs_scan_is_recorded_once_however_often_the_job_runs() {
    let db = common::open().await;
    let ws = common::workspace(&db.store, "alpha").await;
    let data = db.store.scoped(&ws);
    let inv = inventory(at(1));
    let evals: Vec<_> = inv
        .assets
        .iter()
        .map(|a| eval("aws-demo-control", a, FindingStatus::Fail))
        .collect();
    let (first, wrote) = data
        .record_job_scan("job_abc", "test", &inv, &[], &evals, severity_of, at(1))
        .await
        .unwrap();
    assert!(wrote);
    let (again, wrote) = data
        .record_job_scan("job_abc", "test", &inv, &[], &evals, severity_of, at(2))
        .await
        .unwrap();
    assert!(!wrote);
    assert_eq!(first, again);
    assert_eq!(data.list_scans(Page::default()).await.unwrap().total, 1);
}
