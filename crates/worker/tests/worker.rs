//! The worker loop on the backend under test (`RAMPART_TEST_BACKEND`): a job runs to success
//! and records its scan once; a job that keeps failing backs off and ends failed with its error;
//! a running job is cancelled at its next heartbeat; a job whose worker vanished is reaped and
//! finished by another worker without a duplicate scan.
#![allow(clippy::unwrap_used)]

#[path = "../../store/tests/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use common::{at, eval, inventory, severity_of};
use rampart_model::FindingStatus;
use rampart_store::audit::{ActorKind, AuditEvent, Outcome};
use rampart_store::{JobKind, JobState, NewJob, Page, Store, WorkspaceScope};
use rampart_worker::{
    BoxFuture, EvaluateExecutor, Executor, JobContext, JobFailure, JobObserver, Worker,
    WorkerConfig,
};

/// Records what a worker reports of each attempt.
#[derive(Default)]
struct Attempts(std::sync::Mutex<Vec<(JobKind, String)>>);

impl JobObserver for Attempts {
    fn attempt_finished(&self, kind: JobKind, outcome: &str, elapsed: Duration) {
        assert!(elapsed < Duration::from_secs(60));
        self.0.lock().unwrap().push((kind, outcome.to_owned()));
    }
}

fn ev(action: &str) -> AuditEvent {
    AuditEvent::new(action, Outcome::Success).actor(ActorKind::User, "usr_test", "t@example.com")
}

fn config() -> WorkerConfig {
    WorkerConfig {
        lease: Duration::from_secs(2),
        heartbeat: Duration::from_millis(100),
        poll: Duration::from_millis(50),
        backoff_base: Duration::from_millis(200),
        backoff_max: Duration::from_secs(1),
        scheduler: false,
    }
}

fn catalog() -> Arc<rampart_rules::Catalog> {
    Arc::new(rampart_rules::Catalog::builtin().unwrap())
}

async fn seeded(store: &Store) -> WorkspaceScope {
    let ws = common::workspace(store, "alpha").await;
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
    ws
}

/// Fails every attempt.
struct Broken;
impl Executor for Broken {
    fn run(&self, _ctx: JobContext) -> BoxFuture<'static, Result<serde_json::Value, JobFailure>> {
        Box::pin(async { Err(JobFailure::new("AccessDenied: sts:AssumeRole refused")) })
    }
}

/// Reports progress, then waits for a long time.
struct Slow;
impl Executor for Slow {
    fn run(&self, ctx: JobContext) -> BoxFuture<'static, Result<serde_json::Value, JobFailure>> {
        Box::pin(async move {
            ctx.set_progress(serde_json::json!({"step": "collect"}));
            tokio::time::sleep(Duration::from_secs(600)).await;
            Ok(serde_json::json!({}))
        })
    }
}

#[tokio::test]
async fn an_evaluate_job_runs_and_records_its_scan() {
    let db = common::open().await;
    let ws = seeded(&db.store).await;
    let job = db
        .store
        .enqueue_job(&ws, NewJob::evaluate(), ev("job.enqueue"))
        .await
        .unwrap();
    let worker = Worker::new(db.store.clone(), config()).with_executor(
        JobKind::Evaluate,
        Arc::new(EvaluateExecutor { catalog: catalog() }),
    );
    let ran = worker.tick().await.unwrap().unwrap();
    assert_eq!(ran.job_id, job.id);
    assert_eq!(ran.state, Some(JobState::Succeeded));
    let done = db.store.job(&ws, &job.id).await.unwrap().unwrap();
    let scan_id = done.result.as_ref().unwrap()["scan"]
        .as_str()
        .unwrap()
        .to_owned();
    // The result says how many findings were recorded and where the time went.
    let result = done.result.as_ref().unwrap();
    assert!(result["findings"].as_u64().unwrap() > 0, "{result}");
    for step in ["load", "evaluate", "record"] {
        assert!(
            result["seconds"][step].as_f64().unwrap() >= 0.0,
            "{step}: {result}"
        );
    }
    let scans = db
        .store
        .scoped(&ws)
        .list_scans(Page::default())
        .await
        .unwrap();
    assert_eq!(scans.total, 2);
    assert_eq!(scans.items[0].id, scan_id);
    // Nothing left to do.
    assert!(worker.tick().await.unwrap().is_none());

    // The worker kept the workspace's security graph: a second evaluation of the unchanged
    // inventory brings it up to date without recomputing a property.
    let key = (
        ws.workspace_id().to_string(),
        "re-evaluation of the stored inventory".to_string(),
    );
    let first = rampart_worker::graphs::last_stats(&key).expect("graph kept");
    assert!(first.recomputed > 0, "{first:?}");
    db.store
        .enqueue_job(&ws, NewJob::evaluate(), ev("job.enqueue"))
        .await
        .unwrap();
    let again = worker.tick().await.unwrap().unwrap();
    assert_eq!(again.state, Some(JobState::Succeeded));
    let second = rampart_worker::graphs::last_stats(&key).unwrap();
    assert_eq!((second.changed, second.recomputed), (0, 0), "{second:?}");
}

#[tokio::test]
async fn a_job_that_keeps_failing_backs_off_then_fails_with_its_error() {
    let db = common::open().await;
    let ws = seeded(&db.store).await;
    let mut new = NewJob::evaluate();
    new.max_attempts = 3;
    let job = db
        .store
        .enqueue_job(&ws, new, ev("job.enqueue"))
        .await
        .unwrap();
    let attempts = Arc::new(Attempts::default());
    let worker = Worker::new(db.store.clone(), config())
        .with_executor(JobKind::Evaluate, Arc::new(Broken))
        .with_observer(attempts.clone());
    let mut states = Vec::new();
    let started = std::time::Instant::now();
    while states.len() < 3 && started.elapsed() < Duration::from_secs(30) {
        match worker.tick().await.unwrap() {
            Some(ran) => {
                states.push(ran.state.unwrap());
                // The backoff keeps the job from being claimed again at once.
                if ran.state == Some(JobState::Queued) {
                    let queued = db.store.job(&ws, &job.id).await.unwrap().unwrap();
                    assert!(queued.run_after > Utc::now());
                    assert!(worker.tick().await.unwrap().is_none());
                }
            }
            None => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    assert_eq!(
        states,
        vec![JobState::Queued, JobState::Queued, JobState::Failed]
    );
    // Each attempt reached the observer (the metrics' source) with its outcome.
    assert_eq!(
        *attempts.0.lock().unwrap(),
        [
            (JobKind::Evaluate, "queued".to_owned()),
            (JobKind::Evaluate, "queued".to_owned()),
            (JobKind::Evaluate, "failed".to_owned())
        ]
    );
    let failed = db.store.job(&ws, &job.id).await.unwrap().unwrap();
    assert_eq!(failed.state, JobState::Failed);
    assert_eq!(failed.attempts, 3);
    assert_eq!(
        failed.last_error.as_deref(),
        Some("AccessDenied: sts:AssumeRole refused")
    );
}

#[tokio::test]
async fn a_running_job_stops_at_its_next_heartbeat_when_cancelled() {
    let db = common::open().await;
    let ws = seeded(&db.store).await;
    let job = db
        .store
        .enqueue_job(&ws, NewJob::evaluate(), ev("job.enqueue"))
        .await
        .unwrap();
    let worker =
        Worker::new(db.store.clone(), config()).with_executor(JobKind::Evaluate, Arc::new(Slow));
    let store = db.store.clone();
    let (scope, id) = (ws.clone(), job.id.clone());
    let canceller = tokio::spawn(async move {
        // Wait until the job runs and its progress has been stored by a heartbeat.
        loop {
            let j = store.job(&scope, &id).await.unwrap().unwrap();
            if j.state == JobState::Running && j.progress.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        store
            .cancel_job(&scope, &id, ev("job.cancel"))
            .await
            .unwrap()
    });
    let ran = tokio::time::timeout(Duration::from_secs(20), worker.tick())
        .await
        .expect("the cancelled job stops within its heartbeat")
        .unwrap()
        .unwrap();
    assert_eq!(ran.state, Some(JobState::Cancelled));
    assert!(canceller.await.unwrap().cancel_requested);
    let j = db.store.job(&ws, &job.id).await.unwrap().unwrap();
    assert_eq!(j.state, JobState::Cancelled);
    assert_eq!(j.progress, Some(serde_json::json!({"step": "collect"})));
}

#[tokio::test]
async fn a_job_whose_worker_vanished_is_finished_by_another_without_a_duplicate_scan() {
    let db = common::open().await;
    let ws = seeded(&db.store).await;
    let job = db
        .store
        .enqueue_job(&ws, NewJob::evaluate(), ev("job.enqueue"))
        .await
        .unwrap();
    // A worker claims the job, records its scan, and vanishes before marking the job done.
    let lost = db
        .store
        .claim_job("wrk_vanished", TimeDelta::milliseconds(300), Utc::now())
        .await
        .unwrap()
        .unwrap();
    let inv = db.store.scoped(&ws).inventory().await.unwrap();
    let evals = catalog().evaluate(&inv, Utc::now());
    let (first, wrote) = db
        .store
        .scoped(&lost.scope)
        .record_job_scan(
            &job.id,
            "re-evaluation",
            &inv,
            &[],
            &evals,
            severity_of,
            Utc::now(),
        )
        .await
        .unwrap();
    assert!(wrote);
    tokio::time::sleep(Duration::from_millis(400)).await;

    let worker = Worker::new(db.store.clone(), config()).with_executor(
        JobKind::Evaluate,
        Arc::new(EvaluateExecutor { catalog: catalog() }),
    );
    let ran = worker.tick().await.unwrap().unwrap();
    assert_eq!(ran.job_id, job.id);
    assert_eq!(ran.state, Some(JobState::Succeeded));
    let done = db.store.job(&ws, &job.id).await.unwrap().unwrap();
    assert_eq!(done.attempts, 2);
    assert_eq!(done.result.unwrap()["scan"], first.id.as_str());
    // The seed scan and the job's scan: no duplicate.
    let scans = db
        .store
        .scoped(&ws)
        .list_scans(Page::default())
        .await
        .unwrap();
    assert_eq!(scans.total, 2);
}
