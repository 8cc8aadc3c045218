//! Rampart's job runner. A [`Worker`] loops: fire due connector schedules (at most once a
//! minute), give back jobs whose lease lapsed, claim the next due job, run it with the
//! [`Executor`] of its kind while renewing the lease by heartbeat, and record the outcome.
//!
//! Everything goes through the database ([`rampart_store::Store`]), so any number of workers —
//! `rampart worker` processes, and the worker inside each `rampart serve` — share one queue
//! without talking to each other. A worker that dies mid-job simply stops renewing its lease;
//! another worker's reaper gives the job back and it runs again. Executors therefore make each
//! step idempotent: a scan job records its scan under an id derived from the job
//! ([`rampart_store::WorkspaceStore::record_job_scan`]), so a second run never duplicates it.

pub mod backup;

pub use backup::{BackupConfig, BackupObserver, BackupRan, BackupSource, BackupWorker};

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use rampart_rules::Catalog;
use rampart_store::{ClaimedJob, Heartbeat, JobKind, JobState, Store};
use tokio::sync::watch;
use tracing::Instrument as _;

/// A boxed, sendable future (what executors return).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why a job's attempt failed; shown on the job as its `last_error`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct JobFailure(pub String);

impl JobFailure {
    pub fn new(message: impl Into<String>) -> JobFailure {
        JobFailure(message.into())
    }
}

impl From<rampart_store::StoreError> for JobFailure {
    fn from(e: rampart_store::StoreError) -> JobFailure {
        JobFailure(e.to_string())
    }
}

/// What an executor gets: the store, the claimed job (with its workspace scope), and a place to
/// put progress that the next heartbeat stores.
#[derive(Clone)]
pub struct JobContext {
    pub store: Store,
    pub claim: ClaimedJob,
    progress: Arc<Mutex<Option<serde_json::Value>>>,
}

impl JobContext {
    /// Progress shown on the job (stored at the next heartbeat).
    pub fn set_progress(&self, progress: serde_json::Value) {
        if let Ok(mut p) = self.progress.lock() {
            *p = Some(progress);
        }
    }

    fn take_progress(&self) -> Option<serde_json::Value> {
        self.progress.lock().ok().and_then(|mut p| p.take())
    }
}

/// Runs jobs of one kind. The future may be dropped at any await point (cancellation, lost
/// lease): keep each step idempotent.
pub trait Executor: Send + Sync {
    fn run(&self, ctx: JobContext) -> BoxFuture<'static, Result<serde_json::Value, JobFailure>>;
}

/// Timing of a worker.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// How long a claim holds without a heartbeat.
    pub lease: Duration,
    /// How often the lease is renewed (well under `lease`).
    pub heartbeat: Duration,
    /// Pause when the queue is empty.
    pub poll: Duration,
    /// Backoff after a failed attempt: `backoff_base × 2^(attempt−1)`, at most `backoff_max`.
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// Whether this worker fires connector schedules (any number may: each slot fires once).
    pub scheduler: bool,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            lease: Duration::from_secs(60),
            heartbeat: Duration::from_secs(15),
            poll: Duration::from_secs(2),
            backoff_base: Duration::from_secs(30),
            backoff_max: Duration::from_secs(3600),
            scheduler: true,
        }
    }
}

/// Told how each job attempt a worker ran ended (for metrics).
pub trait JobObserver: Send + Sync {
    /// `outcome` is the job's state after the attempt (`succeeded`; `queued` when it failed
    /// and will be retried; `failed` when it failed for the last time; `cancelled`), or
    /// `lease_lost` when another worker took the job over. `elapsed` runs from the claim.
    fn attempt_finished(&self, kind: JobKind, outcome: &str, elapsed: Duration);
}

/// How one claimed job ended, as seen by this worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ran {
    pub job_id: String,
    pub kind: JobKind,
    /// `None` when the lease was lost (another worker owns the job now).
    pub state: Option<JobState>,
}

/// A job runner bound to one store.
pub struct Worker {
    store: Store,
    id: String,
    config: WorkerConfig,
    executors: HashMap<JobKind, Arc<dyn Executor>>,
    observer: Option<Arc<dyn JobObserver>>,
    /// The minute (Unix minutes) whose schedules this worker last fired: slots are whole minutes,
    /// so looking more often than once a minute finds nothing new.
    scheduled_minute: Mutex<Option<i64>>,
}

pub(crate) fn delta(d: Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX)
}

/// A unique lease-holder id: `<prefix>_<host>_<pid>_<random>`.
pub(crate) fn worker_id(prefix: &str) -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "local".into());
    let host: String = host
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(40)
        .collect();
    format!(
        "{prefix}_{host}_{}_{}",
        std::process::id(),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}

impl Worker {
    /// A worker with a unique id (`wrk_<host>_<random>`), running the kinds given by
    /// [`Worker::with_executor`].
    pub fn new(store: Store, config: WorkerConfig) -> Worker {
        let id = worker_id("wrk");
        Worker {
            store,
            id,
            config,
            executors: HashMap::new(),
            observer: None,
            scheduled_minute: Mutex::new(None),
        }
    }

    pub fn with_executor(mut self, kind: JobKind, executor: Arc<dyn Executor>) -> Worker {
        self.executors.insert(kind, executor);
        self
    }

    /// Reports every attempt's outcome and duration to `observer`.
    pub fn with_observer(mut self, observer: Arc<dyn JobObserver>) -> Worker {
        self.observer = Some(observer);
        self
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    fn backoff(&self, attempts: u32) -> TimeDelta {
        let factor = 2u32.saturating_pow(attempts.saturating_sub(1).min(20));
        delta(
            self.config
                .backoff_base
                .saturating_mul(factor)
                .min(self.config.backoff_max),
        )
    }

    /// Fires due schedules (when enabled), reaps lapsed leases, then claims and runs one job.
    /// `Ok(None)` when nothing was due.
    pub async fn tick(&self) -> Result<Option<Ran>, rampart_store::StoreError> {
        let now = Utc::now();
        if self.config.scheduler && self.new_minute(now) {
            for s in self.store.schedule_due(now).await? {
                tracing::info!(workspace = %s.workspace_id, connector = %s.connector_id, slot = %s.slot, job = %s.job_id, queued = s.queued, "schedule fired");
            }
        }
        for r in self.store.reap_jobs(now).await? {
            tracing::warn!(workspace = %r.workspace_id, job = %r.job_id, state = %r.state, "lease lapsed; job given back");
        }
        let Some(claim) = self
            .store
            .claim_job(&self.id, delta(self.config.lease), now)
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(self.run_claimed(claim).await?))
    }

    /// True the first time it is asked in each minute.
    fn new_minute(&self, now: DateTime<Utc>) -> bool {
        let minute = now.timestamp().div_euclid(60);
        match self.scheduled_minute.lock() {
            Ok(mut last) if *last != Some(minute) => {
                *last = Some(minute);
                true
            }
            Ok(_) => false,
            Err(_) => true,
        }
    }

    async fn run_claimed(&self, claim: ClaimedJob) -> Result<Ran, rampart_store::StoreError> {
        let span = tracing::info_span!("job", job = %claim.job.id, kind = claim.job.kind.as_str(), workspace = %claim.scope.slug(), attempt = claim.job.attempts);
        let started = std::time::Instant::now();
        let ran = self.run_in_span(claim).instrument(span).await?;
        if let Some(observer) = &self.observer {
            observer.attempt_finished(
                ran.kind,
                ran.state.map_or("lease_lost", JobState::as_str),
                started.elapsed(),
            );
        }
        Ok(ran)
    }

    async fn run_in_span(&self, claim: ClaimedJob) -> Result<Ran, rampart_store::StoreError> {
        let job_id = claim.job.id.clone();
        let kind = claim.job.kind;
        tracing::info!("job started");
        let Some(executor) = self.executors.get(&kind).cloned() else {
            let now = Utc::now();
            let state = self
                .store
                .fail_job(
                    &claim,
                    &format!("this worker cannot run {} jobs", kind.as_str()),
                    now + self.backoff(claim.job.attempts),
                    now,
                )
                .await?;
            return Ok(Ran {
                job_id,
                kind,
                state,
            });
        };
        let ctx = JobContext {
            store: self.store.clone(),
            claim: claim.clone(),
            progress: Arc::new(Mutex::new(None)),
        };
        let mut running = tokio::spawn(executor.run(ctx.clone()));
        let lease = delta(self.config.lease);
        let mut beat = tokio::time::interval(self.config.heartbeat);
        beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        beat.tick().await;
        let outcome = loop {
            tokio::select! {
                done = &mut running => {
                    break match done {
                        Ok(r) => r,
                        Err(e) => Err(JobFailure::new(format!("the job's task ended abnormally: {e}"))),
                    };
                }
                _ = beat.tick() => {
                    let progress = ctx.take_progress();
                    match self.store.heartbeat(&claim, lease, progress.as_ref(), Utc::now()).await {
                        Ok(Heartbeat::Renewed) => {}
                        Ok(Heartbeat::CancelRequested) => {
                            running.abort();
                            tracing::info!("job cancelled");
                            let ok = self.store.finish_cancelled(&claim, Utc::now()).await?;
                            return Ok(Ran { job_id, kind, state: ok.then_some(JobState::Cancelled) });
                        }
                        Ok(Heartbeat::LeaseLost) => {
                            running.abort();
                            tracing::warn!("lease lost; another worker has the job");
                            return Ok(Ran { job_id, kind, state: None });
                        }
                        Err(e) => {
                            // The database is unreachable: keep working; the lease may lapse,
                            // and then the finish below is refused and the job runs again.
                            tracing::warn!(error = %e, "heartbeat failed");
                        }
                    }
                }
            }
        };
        let now = Utc::now();
        let state = match outcome {
            Ok(result) => {
                tracing::info!("job succeeded");
                self.store
                    .complete_job(&claim, &result, now)
                    .await?
                    .then_some(JobState::Succeeded)
            }
            Err(failure) => {
                tracing::warn!(error = %failure, "job attempt failed");
                self.store
                    .fail_job(
                        &claim,
                        &failure.0,
                        now + self.backoff(claim.job.attempts),
                        now,
                    )
                    .await?
            }
        };
        Ok(Ran {
            job_id,
            kind,
            state,
        })
    }

    /// Runs until `shutdown` turns true: ticks back to back while jobs are due, pauses `poll`
    /// when none is, and keeps going (with a growing pause, at most a minute) while the database
    /// is unreachable.
    pub async fn run(&self, mut shutdown: watch::Receiver<bool>) {
        tracing::info!(worker = %self.id, "worker started");
        poll_until_shutdown(&mut shutdown, self.config.poll, "worker", || self.tick()).await;
        tracing::info!(worker = %self.id, "worker stopped");
    }
}

/// The catalog to evaluate a workspace with: `base` plus the workspace's custom controls, read
/// now (`base` itself, not copied, when it has none). A stored custom control that no longer
/// loads (the content changed underneath it) is left out with a warning rather than failing
/// the job.
pub async fn workspace_catalog(
    store: &Store,
    scope: &rampart_store::WorkspaceScope,
    base: Arc<Catalog>,
) -> Result<Arc<Catalog>, JobFailure> {
    let custom = store.custom_controls(scope).await?;
    if custom.is_empty() {
        return Ok(base);
    }
    let defs: Vec<rampart_rules::CustomControlDef> =
        custom.iter().map(custom_control_def).collect();
    let (catalog, issues) = base.with_custom_lenient(&defs);
    for issue in issues {
        tracing::warn!(%issue, "custom control left out of the evaluation");
    }
    Ok(Arc::new(catalog))
}

/// A stored custom control as the rules engine takes it.
pub fn custom_control_def(c: &rampart_store::CustomControl) -> rampart_rules::CustomControlDef {
    rampart_rules::CustomControlDef {
        id: c.id.clone(),
        title: c.title.clone(),
        severity: c.severity,
        resource_types: c.resource_types.clone(),
        query: c.query.clone(),
        frameworks: c.frameworks.clone(),
        rationale: c.rationale.clone().unwrap_or_default(),
        remediation: c.remediation.clone().unwrap_or_default(),
    }
}

/// Calls `tick` until `shutdown` turns true: again at once after it did something, after `poll`
/// when it found nothing, and with a growing pause (at most a minute) while it fails — the
/// queue's database is unreachable.
pub(crate) async fn poll_until_shutdown<T, E, F, Fut>(
    shutdown: &mut watch::Receiver<bool>,
    poll: Duration,
    who: &str,
    mut tick: F,
) where
    E: std::fmt::Display,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>, E>>,
{
    let mut failures = 0u32;
    loop {
        if *shutdown.borrow() {
            break;
        }
        let pause = match tick().await {
            Ok(Some(_)) => {
                failures = 0;
                Duration::ZERO
            }
            Ok(None) => {
                failures = 0;
                poll
            }
            Err(e) => {
                failures = failures.saturating_add(1);
                tracing::warn!(error = %e, "{who} cannot reach the queue");
                (poll * failures.min(30)).min(Duration::from_secs(60))
            }
        };
        if pause.is_zero() {
            continue;
        }
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// Security graphs kept between runs, per workspace and source, so that a scan recomputes
/// only what changed (a worker holds a few; any worker can rebuild one, so this is a cache).
pub mod graphs {
    use std::sync::Mutex;

    use rampart_rules::{CommitStats, GraphState};

    /// `(workspace id, source)`.
    pub type Key = (String, String);

    /// At most this many assets are kept across all cached graphs.
    const MAX_ASSETS: usize = 2_000_000;
    const MAX_GRAPHS: usize = 8;

    type Entry = (Key, GraphState, CommitStats);

    static KEPT: Mutex<Vec<Entry>> = Mutex::new(Vec::new());

    fn kept() -> std::sync::MutexGuard<'static, Vec<Entry>> {
        KEPT.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes the kept graph of `key` out of the cache (a concurrent job on the same source
    /// builds its own).
    pub fn take(key: &Key) -> Option<GraphState> {
        let mut kept = kept();
        let i = kept.iter().position(|(k, _, _)| k == key)?;
        Some(kept.remove(i).1)
    }

    /// Keeps a graph as the newest entry with what its last update did, dropping the oldest
    /// beyond the bounds.
    pub fn keep(key: Key, state: GraphState, stats: CommitStats) {
        let mut kept = kept();
        kept.retain(|(k, _, _)| *k != key);
        kept.push((key, state, stats));
        while kept.len() > MAX_GRAPHS
            || (kept.len() > 1
                && kept.iter().map(|(_, s, _)| s.asset_count()).sum::<usize>() > MAX_ASSETS)
        {
            kept.remove(0);
        }
    }

    /// What the last update of the kept graph of `key` changed and recomputed.
    pub fn last_stats(key: &Key) -> Option<CommitStats> {
        kept().iter().find(|(k, _, _)| k == key).map(|(_, _, s)| *s)
    }
}

/// Evaluates `inventory` with `catalog` and the workspace's custom controls
/// ([`workspace_catalog`]; off the async threads) and records the scan under the
/// job's scan id: a second run of the same job answers the scan the first one recorded.
/// `sweeps` say what the collection listed completely (stored assets under them that it did not
/// see are marked gone); imports and re-evaluations pass none.
pub async fn evaluate_and_record(
    ctx: &JobContext,
    catalog: Arc<Catalog>,
    source: &str,
    inventory: rampart_model::Inventory,
    sweeps: &[rampart_model::Sweep],
    now: DateTime<Utc>,
) -> Result<Recorded, JobFailure> {
    let started = std::time::Instant::now();
    let catalog = workspace_catalog(&ctx.store, &ctx.claim.scope, catalog).await?;
    ctx.set_progress(serde_json::json!({ "step": "evaluate", "assets": inventory.assets.len() }));
    let key = (
        ctx.claim.scope.workspace_id().to_string(),
        source.to_string(),
    );
    let kept = graphs::take(&key);
    let (inventory, evaluations, catalog) = tokio::task::spawn_blocking(move || {
        // The graph of the previous run of this source is brought up to date with what
        // changed, instead of rebuilt (a first run builds it).
        let (state, stats) = match kept {
            Some(mut state) => {
                let stats = state.sync(&inventory);
                (state, stats)
            }
            None => rampart_rules::GraphState::build_counted(&inventory),
        };
        tracing::info!(
            assets = inventory.assets.len(),
            changed = stats.changed,
            recomputed = stats.recomputed,
            "security graph brought up to date"
        );
        let e = {
            let graph = rampart_rules::Graph::over(&state, &inventory);
            catalog.evaluate_over(&graph, &inventory, now, &|_| {})
        };
        graphs::keep(key, state, stats);
        (inventory, e, catalog)
    })
    .await
    .map_err(|e| JobFailure::new(format!("evaluation stopped: {e}")))?;
    let evaluated = started.elapsed();
    let findings = evaluations.len();
    ctx.set_progress(serde_json::json!({ "step": "record", "assets": inventory.assets.len() }));
    let severity_of = |id: &str| catalog.control(id).map(|c| c.severity).unwrap_or_default();
    let (scan, _) = ctx
        .store
        .scoped(&ctx.claim.scope)
        .record_job_scan(
            &ctx.claim.job.id,
            source,
            &inventory,
            sweeps,
            &evaluations,
            severity_of,
            now,
        )
        .await?;
    Ok(Recorded {
        scan,
        findings,
        evaluate_seconds: evaluated.as_secs_f64(),
        record_seconds: (started.elapsed() - evaluated).as_secs_f64(),
    })
}

/// What [`evaluate_and_record`] recorded, and how long its two steps took (job results report
/// them, so an operator sees where a slow scan spends its time).
#[derive(Debug, Clone)]
pub struct Recorded {
    pub scan: rampart_model::Scan,
    /// Evaluations recorded (one finding per control and applicable asset).
    pub findings: usize,
    /// Bringing the security graph up to date and evaluating every control.
    pub evaluate_seconds: f64,
    /// Writing the scan, its assets, relationships and findings in one transaction.
    pub record_seconds: f64,
}

impl Recorded {
    /// The job result of an evaluation: the scan, its assets and failures, `findings`, and
    /// `seconds` per step (evaluate, record, and `load` when the caller measured one).
    pub fn result(&self, load_seconds: Option<f64>) -> serde_json::Value {
        let ms = |s: f64| (s * 1000.0).round() / 1000.0;
        let mut seconds = serde_json::json!({
            "evaluate": ms(self.evaluate_seconds),
            "record": ms(self.record_seconds),
        });
        if let Some(load) = load_seconds {
            seconds["load"] = serde_json::json!(ms(load));
        }
        serde_json::json!({
            "scan": self.scan.id,
            "assets": self.scan.asset_count,
            "failed": self.scan.fail_count,
            "findings": self.findings,
            "seconds": seconds,
        })
    }
}

/// Evaluates a workspace's stored inventory again with the current controls and records the
/// result as a scan (once per job).
pub struct EvaluateExecutor {
    pub catalog: Arc<Catalog>,
}

impl Executor for EvaluateExecutor {
    fn run(&self, ctx: JobContext) -> BoxFuture<'static, Result<serde_json::Value, JobFailure>> {
        let catalog = self.catalog.clone();
        Box::pin(async move {
            ctx.set_progress(serde_json::json!({ "step": "load" }));
            let started = std::time::Instant::now();
            let inventory = ctx.store.scoped(&ctx.claim.scope).inventory().await?;
            let load = started.elapsed().as_secs_f64();
            let recorded = evaluate_and_record(
                &ctx,
                catalog,
                "re-evaluation of the stored inventory",
                inventory,
                &[],
                Utc::now(),
            )
            .await?;
            Ok(recorded.result(Some(load)))
        })
    }
}

/// Imports inventory files named by the job (paths on the worker's machine, as given to
/// `rampart import --queue`), evaluates them and records the scan (once per job).
pub struct ImportExecutor {
    pub catalog: Arc<Catalog>,
}

impl Executor for ImportExecutor {
    fn run(&self, ctx: JobContext) -> BoxFuture<'static, Result<serde_json::Value, JobFailure>> {
        let catalog = self.catalog.clone();
        Box::pin(async move {
            let files: Vec<std::path::PathBuf> = ctx
                .claim
                .job
                .params
                .get("files")
                .and_then(serde_json::Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(serde_json::Value::as_str)
                        .map(std::path::PathBuf::from)
                        .collect()
                })
                .unwrap_or_default();
            if files.is_empty() {
                return Err(JobFailure::new("the import job names no file"));
            }
            ctx.set_progress(serde_json::json!({ "step": "import", "files": files.len() }));
            let now = Utc::now();
            let started = std::time::Instant::now();
            let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
            let inventory =
                tokio::task::spawn_blocking(move || rampart_import::load_files(&files, now))
                    .await
                    .map_err(|e| JobFailure::new(format!("import stopped: {e}")))?
                    .map_err(|e| JobFailure::new(e.to_string()))?;
            let load = started.elapsed().as_secs_f64();
            let source = format!("import: {}", names.join(", "));
            let recorded = evaluate_and_record(&ctx, catalog, &source, inventory, &[], now).await?;
            Ok(recorded.result(Some(load)))
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn schedules_are_looked_at_once_a_minute() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_data_dir(dir.path()).await.unwrap();
        let w = Worker::new(store, WorkerConfig::default());
        let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        assert!(w.new_minute(t("2026-11-30T00:58:01Z")));
        assert!(!w.new_minute(t("2026-11-30T00:58:59Z")));
        assert!(w.new_minute(t("2026-11-30T00:59:00Z")));
        assert!(!w.new_minute(t("2026-11-30T00:59:30Z")));
    }
}
