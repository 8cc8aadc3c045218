//! `rampart worker`: runs queued jobs (connector scans, re-evaluations) from the database that
//! `rampart serve` replicas share; also the worker options of `rampart serve`, which runs
//! workers of its own unless given `--workers 0`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::Context;
use chrono::Utc;
use clap::Args;
use rampart_rules::Catalog;
use rampart_store::{JobKind, Store, Vault};
use rampart_worker::{
    BoxFuture, EvaluateExecutor, Executor, ImportExecutor, JobContext, JobFailure, Worker,
    WorkerConfig,
};
use serde_json::{Value, json};

/// Timing and permissions of the job workers (shared by `worker` and `serve`).
#[derive(Args, Debug, Clone)]
pub struct WorkerOptions {
    /// Seconds a claimed job stays with its worker without a heartbeat; a worker that dies
    /// loses its jobs to another worker this long after its last heartbeat.
    #[arg(long, env = "RAMPART_JOB_LEASE_SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(2..=3600))]
    job_lease_seconds: u64,
    /// Seconds between heartbeats (renewing the lease, storing progress, noticing cancellation);
    /// at most a third of the lease.
    #[arg(long, env = "RAMPART_JOB_HEARTBEAT_SECONDS", default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..=1200))]
    job_heartbeat_seconds: u64,
    /// Milliseconds between looks at an empty queue.
    #[arg(long, env = "RAMPART_JOB_POLL_MS", default_value_t = 2000, value_parser = clap::value_parser!(u64).range(10..=600_000))]
    job_poll_ms: u64,
    /// Seconds before the first retry of a failed job; doubled on each further attempt, at most
    /// an hour.
    #[arg(long, env = "RAMPART_JOB_BACKOFF_SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(0..=3600))]
    job_backoff_seconds: u64,
    /// Do not fire connector schedules, nor insert the backup schedule's slots, from this
    /// process (any number of processes may: each slot fires once). With --backup-dir it still
    /// takes queued backups.
    #[arg(long)]
    no_scheduler: bool,
    /// Honour a connector's `endpoint_url` setting (an AWS emulator such as moto). Off by
    /// default: it would let whoever manages connectors point this worker, and the credentials
    /// it holds, at any address.
    #[arg(long, env = "RAMPART_ALLOW_ENDPOINT_OVERRIDE")]
    allow_endpoint_override: bool,
    #[command(flatten)]
    pub(crate) notify: crate::notify_cmd::NotifyOptions,
}

impl WorkerOptions {
    fn config(&self) -> anyhow::Result<WorkerConfig> {
        if self.job_heartbeat_seconds * 3 > self.job_lease_seconds {
            anyhow::bail!(
                "--job-heartbeat-seconds ({}) must be at most a third of --job-lease-seconds ({})",
                self.job_heartbeat_seconds,
                self.job_lease_seconds
            );
        }
        Ok(WorkerConfig {
            lease: Duration::from_secs(self.job_lease_seconds),
            heartbeat: Duration::from_secs(self.job_heartbeat_seconds),
            poll: Duration::from_millis(self.job_poll_ms),
            backoff_base: Duration::from_secs(self.job_backoff_seconds),
            backoff_max: Duration::from_secs(3600),
            scheduler: !self.no_scheduler,
        })
    }
}

/// Scheduled backups (shared by `serve` and `worker`): a process given a backup directory
/// inserts each slot of the schedule into the installation's backup queue (once across all
/// processes) and takes the queued backups, one at a time across all processes.
#[derive(Args, Debug, Clone)]
pub struct BackupScheduleArgs {
    /// Take encrypted backups into this directory on a schedule (see `rampart backup`) from the
    /// installation's backup queue. Every process given it may take them: the same directory
    /// (shared storage) for all of them.
    #[arg(long, env = "RAMPART_BACKUP_DIR", value_name = "DIR")]
    pub(crate) backup_dir: Option<PathBuf>,
    /// Hours between scheduled backups (slots are whole multiples of it from the Unix epoch,
    /// UTC: 24 is every midnight).
    #[arg(long, env = "RAMPART_BACKUP_INTERVAL_HOURS", default_value_t = 24, value_parser = clap::value_parser!(u32).range(1..=720))]
    pub(crate) backup_interval_hours: u32,
    /// Scheduled backups kept (the oldest are deleted; 0 keeps all).
    #[arg(long, env = "RAMPART_BACKUP_RETAIN", default_value_t = 14)]
    pub(crate) backup_retain: usize,
    /// PostgreSQL: URL of the role `pg_dump` connects as for scheduled backups, one that may
    /// read every row (BYPASSRLS, see docs/operations.md). Required with --backup-dir when the
    /// store is PostgreSQL.
    #[arg(
        long = "backup-database-url",
        env = "RAMPART_BACKUP_DATABASE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub(crate) backup_database_url: Option<String>,
    #[command(flatten)]
    pub(crate) pg: crate::admin_cmd::PgBin,
}

impl BackupScheduleArgs {
    fn interval(&self) -> Duration {
        Duration::from_secs(u64::from(self.backup_interval_hours) * 3600)
    }

    /// The schedule, as the server's self-assessment reads it.
    pub(crate) fn schedule(&self) -> Option<rampart_server::BackupSchedule> {
        self.backup_dir
            .clone()
            .map(|dir| rampart_server::BackupSchedule {
                dir,
                every: self.interval(),
                retain: self.backup_retain,
            })
    }

    /// The backup worker of this process, when it is given a backup directory.
    pub(crate) fn backup_worker(
        &self,
        store: &Store,
        vault: Arc<Vault>,
        options: &WorkerOptions,
        metrics: &Arc<rampart_server::Metrics>,
        alerts: Option<Arc<rampart_server::AlertFeed>>,
    ) -> anyhow::Result<Option<rampart_worker::BackupWorker>> {
        let Some(dir) = self.backup_dir.clone() else {
            return Ok(None);
        };
        let source = match (store.backend_name(), &self.backup_database_url) {
            ("postgres", Some(url)) => rampart_worker::BackupSource::Postgres {
                dump_url: url.clone(),
                tools: self.pg.tools(),
            },
            ("postgres", None) => anyhow::bail!(
                "--backup-dir on PostgreSQL needs --backup-database-url: a role that may read \
                 every row (BYPASSRLS), see docs/operations.md"
            ),
            (_, Some(_)) => {
                anyhow::bail!("--backup-database-url applies to PostgreSQL stores only")
            }
            _ => rampart_worker::BackupSource::Sqlite,
        };
        let jobs = options.config()?;
        let config = rampart_worker::BackupConfig {
            scheduler: jobs.scheduler,
            lease: jobs.lease,
            heartbeat: jobs.heartbeat,
            poll: jobs.poll,
            backoff_base: jobs.backoff_base,
            backoff_max: jobs.backoff_max,
            ..rampart_worker::BackupConfig::new(
                dir,
                self.interval(),
                self.backup_retain,
                source,
                vault,
            )
        };
        let observer: Arc<dyn rampart_worker::BackupObserver> = Arc::new(BackupMetrics {
            metrics: metrics.clone(),
            alerts,
        });
        Ok(Some(
            rampart_worker::BackupWorker::new(store.clone(), config).with_observer(observer),
        ))
    }
}

/// Feeds backup attempts to the Prometheus job metrics (`kind="backup"`) and raises the
/// `backup_failed` security alert when a backup job fails for good.
struct BackupMetrics {
    metrics: Arc<rampart_server::Metrics>,
    alerts: Option<Arc<rampart_server::AlertFeed>>,
}

impl rampart_worker::BackupObserver for BackupMetrics {
    fn backup_finished(&self, outcome: &str, elapsed: Duration, error: Option<&str>) {
        self.metrics.observe_job("backup", outcome, elapsed);
        if outcome == "failed"
            && let Some(alerts) = &self.alerts
        {
            alerts.raise(rampart_server::SecurityAlert {
                kind: "backup_failed",
                workspace: None,
                subject: error.unwrap_or("scheduled backup failed").to_owned(),
            });
        }
    }
}

#[derive(Args, Debug)]
pub struct WorkerArgs {
    /// Data directory (the SQLite store, and the generated vault key when no other is given).
    #[arg(
        long,
        env = "RAMPART_DATA_DIR",
        default_value = "rampart-data",
        value_name = "DIR"
    )]
    data_dir: PathBuf,
    #[command(flatten)]
    database: crate::database::DatabaseArgs,
    /// Vault key file opening connector credentials (the same key as the servers').
    #[arg(long, env = "RAMPART_VAULT_KEY_FILE", value_name = "FILE")]
    vault_key_file: Option<PathBuf>,
    /// Directory (or file) of additional control YAML files; repeatable.
    #[arg(long = "controls", value_name = "DIR")]
    controls: Vec<PathBuf>,
    /// Jobs run at the same time by this process.
    #[arg(long, env = "RAMPART_WORKERS", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    concurrency: u16,
    #[command(flatten)]
    options: WorkerOptions,
    #[command(flatten)]
    backups: BackupScheduleArgs,
    /// Serve Prometheus metrics of this process (job attempts and durations, queue depth) at
    /// http://ADDR:PORT/metrics (plain HTTP: keep it on loopback). Off unless given.
    #[arg(long, env = "RAMPART_METRICS_LISTEN", value_name = "ADDR:PORT")]
    metrics_listen: Option<std::net::SocketAddr>,
    #[command(flatten)]
    telemetry: crate::telemetry::TelemetryArgs,
    /// Log format on standard error.
    #[arg(long, default_value = "text", value_parser = ["text", "json"])]
    log_format: String,
}

/// Feeds job attempts to the process's Prometheus metrics.
pub(crate) struct JobMetrics(pub Arc<rampart_server::Metrics>);

impl rampart_worker::JobObserver for JobMetrics {
    fn attempt_finished(&self, kind: JobKind, outcome: &str, elapsed: Duration) {
        self.0.observe_job(kind.as_str(), outcome, elapsed);
    }
}

/// Builds `count` workers over `store`, each running scans and evaluations, reporting each
/// attempt to `metrics`.
pub(crate) fn workers(
    store: &Store,
    catalog: Arc<Catalog>,
    vault: Arc<Vault>,
    options: &WorkerOptions,
    count: usize,
    metrics: &Arc<rampart_server::Metrics>,
) -> anyhow::Result<Vec<Worker>> {
    let observer: Arc<dyn rampart_worker::JobObserver> = Arc::new(JobMetrics(metrics.clone()));
    let config = options.config()?;
    let scan: Arc<dyn Executor> = Arc::new(AwsScanExecutor {
        catalog: catalog.clone(),
        vault: vault.clone(),
        allow_endpoint_override: options.allow_endpoint_override,
    });
    let notify: Arc<dyn Executor> = Arc::new(rampart_notify::NotifyExecutor {
        catalog: catalog.clone(),
        vault: vault.clone(),
        sender: options.notify.sender()?,
    });
    let check: Arc<dyn Executor> = Arc::new(CheckExecutor {
        vault,
        allow_endpoint_override: options.allow_endpoint_override,
    });
    let evaluate: Arc<dyn Executor> = Arc::new(EvaluateExecutor {
        catalog: catalog.clone(),
    });
    let report: Arc<dyn Executor> = Arc::new(rampart_server::ReportExecutor {
        catalog: catalog.clone(),
    });
    let import: Arc<dyn Executor> = Arc::new(ImportExecutor { catalog });
    Ok((0..count)
        .map(|_| {
            Worker::new(store.clone(), config.clone())
                .with_executor(JobKind::Scan, scan.clone())
                .with_executor(JobKind::Evaluate, evaluate.clone())
                .with_executor(JobKind::Import, import.clone())
                .with_executor(JobKind::Notify, notify.clone())
                .with_executor(JobKind::Check, check.clone())
                .with_executor(JobKind::Report, report.clone())
                .with_observer(observer.clone())
        })
        .collect())
}

/// Runs `workers` until `shutdown` turns true.
pub(crate) async fn run_workers(
    workers: Vec<Worker>,
    shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let mut tasks = tokio::task::JoinSet::new();
    for w in workers {
        let rx = shutdown.clone();
        tasks.spawn(async move { w.run(rx).await });
    }
    while tasks.join_next().await.is_some() {}
}

pub fn run(args: WorkerArgs) -> anyhow::Result<ExitCode> {
    let _telemetry = crate::telemetry::init(&args.log_format, &args.telemetry, "rampart-worker")?;
    let catalog = Arc::new(crate::load_catalog(&args.controls)?);
    let vault = Arc::new(
        rampart_server::load_vault_at(&args.data_dir, args.vault_key_file.as_deref())
            .context("cannot load the vault key")?,
    );
    crate::server_cmd::runtime()?.block_on(async {
        let store = args.database.open(&args.data_dir).await?;
        let metrics = Arc::new(rampart_server::Metrics::new());
        if let Some(addr) = args.metrics_listen {
            metrics.refresh(&store).await;
            let (bound, _task) =
                rampart_server::serve_metrics(addr, metrics.clone(), store.clone())
                    .await
                    .with_context(|| format!("cannot listen for metrics on {addr}"))?;
            eprintln!("metrics at http://{bound}/metrics");
        }
        let backups =
            args.backups
                .backup_worker(&store, vault.clone(), &args.options, &metrics, None)?;
        let workers = workers(
            &store,
            catalog,
            vault,
            &args.options,
            usize::from(args.concurrency),
            &metrics,
        )?;
        for w in &workers {
            eprintln!("worker {} waiting for jobs", w.id());
        }
        let (tx, rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            rampart_server::shutdown_signal().await;
            tracing::info!("stopping workers after their current job");
            let _ = tx.send(true);
        });
        let backing_up = backups.map(|b| {
            eprintln!(
                "backup worker {} taking scheduled backups into {}",
                b.id(),
                args.backups
                    .backup_dir
                    .as_deref()
                    .unwrap_or_else(|| std::path::Path::new(""))
                    .display()
            );
            let rx = rx.clone();
            tokio::spawn(async move { b.run(rx).await })
        });
        run_workers(workers, rx).await;
        if let Some(task) = backing_up {
            let _ = task.await;
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// Runs scan jobs of AWS, GCP and Azure connectors: collects with the connector's sealed
/// credentials, evaluates, records the scan once.
pub(crate) struct AwsScanExecutor {
    catalog: Arc<Catalog>,
    vault: Arc<Vault>,
    allow_endpoint_override: bool,
}

/// Connector settings an AWS scan reads (non-secret).
fn aws_config(
    settings: &Value,
    secret: &[u8],
    allow_endpoint_override: bool,
) -> Result<rampart_aws::AwsScanConfig, JobFailure> {
    let text = |key: &str| setting_text(settings, key);
    let list = |key: &str| setting_list(settings, key);
    let endpoint_url = endpoint_setting(settings, "endpoint_url", allow_endpoint_override)?;
    let secret: Value = if secret.is_empty() {
        json!({})
    } else {
        serde_json::from_slice(secret)
            .map_err(|e| JobFailure::new(format!("connector credentials are not JSON: {e}")))?
    };
    let field = |key: &str| secret.get(key).and_then(Value::as_str).map(str::to_owned);
    let credentials = match (field("access_key_id"), field("secret_access_key")) {
        (Some(access_key_id), Some(secret_access_key)) => Some(rampart_aws::StaticCredentials {
            access_key_id,
            secret_access_key,
            session_token: field("session_token"),
        }),
        (None, None) => None,
        _ => {
            return Err(JobFailure::new(
                "connector credentials need both access_key_id and secret_access_key (or neither, to use the worker's own AWS identity)",
            ));
        }
    };
    Ok(rampart_aws::AwsScanConfig {
        credentials,
        regions: list("regions")?,
        role_arn: text("role_arn")?,
        external_id: text("external_id")?,
        endpoint_url,
        org_role_name: text("org_role_name")?,
        org_accounts: list("org_accounts")?,
        org_exclude_accounts: list("org_exclude_accounts")?.unwrap_or_default(),
        ..rampart_aws::AwsScanConfig::default()
    })
}

/// Collection progress, as units of service × region done, for the job's heartbeat.
struct JobProgress {
    ctx: JobContext,
    total: AtomicUsize,
    done: AtomicUsize,
    errors: AtomicUsize,
}

impl JobProgress {
    fn publish(&self, current: Option<(&str, &str)>) {
        let mut p = json!({
            "step": "collect",
            "done": self.done.load(Ordering::Relaxed),
            "total": self.total.load(Ordering::Relaxed),
            "failed_calls": self.errors.load(Ordering::Relaxed),
        });
        if let Some((service, region)) = current {
            p["current"] = json!(format!("{service} {region}"));
        }
        self.ctx.set_progress(p);
    }
}

impl rampart_aws::Progress for JobProgress {
    fn plan(&self, units: &[(String, String)]) {
        self.total.fetch_add(units.len(), Ordering::Relaxed);
        self.publish(None);
    }
    fn started(&self, service: &str, region: &str) {
        self.publish(Some((service, region)));
    }
    fn finished(&self, _service: &str, _region: &str, _assets: usize, errors: usize) {
        self.done.fetch_add(1, Ordering::Relaxed);
        self.errors.fetch_add(errors, Ordering::Relaxed);
        self.publish(None);
    }
}

impl rampart_gcp::Progress for JobProgress {
    fn plan(&self, units: &[String]) {
        self.total.fetch_add(units.len(), Ordering::Relaxed);
        self.publish(None);
    }
    fn started(&self, unit: &str) {
        self.publish(Some((unit, "")));
    }
    fn finished(&self, _unit: &str, _assets: usize, errors: usize) {
        self.done.fetch_add(1, Ordering::Relaxed);
        self.errors.fetch_add(errors, Ordering::Relaxed);
        self.publish(None);
    }
}

impl rampart_azure::Progress for JobProgress {
    fn plan(&self, units: &[(String, String)]) {
        self.total.fetch_add(units.len(), Ordering::Relaxed);
        self.publish(None);
    }
    fn started(&self, service: &str, scope: &str) {
        self.publish(Some((service, scope)));
    }
    fn finished(&self, _service: &str, _scope: &str, _assets: usize, errors: usize) {
        self.done.fetch_add(1, Ordering::Relaxed);
        self.errors.fetch_add(errors, Ordering::Relaxed);
        self.publish(None);
    }
}

/// Settings readers shared by the providers' connector settings.
fn setting_text(settings: &Value, key: &str) -> Result<Option<String>, JobFailure> {
    match settings.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.trim().to_owned())),
        Some(_) => Err(JobFailure::new(format!(
            "connector setting {key:?} must be a non-empty string"
        ))),
    }
}

fn setting_list(settings: &Value, key: &str) -> Result<Option<Vec<String>>, JobFailure> {
    match settings.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str().map(str::to_owned).ok_or_else(|| {
                    JobFailure::new(format!("connector setting {key:?} must list strings"))
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(|v| (!v.is_empty()).then_some(v)),
        Some(_) => Err(JobFailure::new(format!(
            "connector setting {key:?} must be a list of strings"
        ))),
    }
}

/// Endpoint overrides (an emulator or a replay) are settings a connector manager could point at
/// any address, with the credentials attached: refused unless the worker consents.
fn endpoint_setting(
    settings: &Value,
    key: &str,
    allow_endpoint_override: bool,
) -> Result<Option<String>, JobFailure> {
    let value = setting_text(settings, key)?;
    if value.is_some() && !allow_endpoint_override {
        return Err(JobFailure::new(format!(
            "connector setting {key:?} is refused: this worker was not started with --allow-endpoint-override"
        )));
    }
    Ok(value)
}

/// A GCP connector: settings `{"scope": "organizations/123", "asset_types": [...]}`, secret the
/// service-account key JSON.
fn gcp_config(
    settings: &Value,
    secret: &[u8],
    allow_endpoint_override: bool,
) -> Result<rampart_gcp::GcpScanConfig, JobFailure> {
    let scope = setting_text(settings, "scope")?.ok_or_else(|| {
        JobFailure::new(
            "connector setting \"scope\" is required (projects/ID, folders/N or organizations/N)",
        )
    })?;
    let scope = rampart_gcp::Scope::parse(&scope)
        .map_err(|e| JobFailure::new(format!("connector setting \"scope\": {e}")))?;
    let text = std::str::from_utf8(secret)
        .map_err(|_| JobFailure::new("connector credentials are not UTF-8"))?;
    let key = rampart_gcp::ServiceAccountKey::from_json(text)
        .map_err(|e| JobFailure::new(format!("connector credentials: {e}")))?;
    let mut config = rampart_gcp::GcpScanConfig::new(scope, key);
    config.asset_types = setting_list(settings, "asset_types")?;
    config.endpoints.cloudasset =
        endpoint_setting(settings, "cloudasset_endpoint", allow_endpoint_override)?;
    config.endpoints.essentialcontacts = endpoint_setting(
        settings,
        "essentialcontacts_endpoint",
        allow_endpoint_override,
    )?;
    config.endpoints.accessapproval =
        endpoint_setting(settings, "accessapproval_endpoint", allow_endpoint_override)?;
    config.endpoints.token_uri =
        endpoint_setting(settings, "token_endpoint", allow_endpoint_override)?;
    // Plain http only for overridden endpoints (local replays), with the worker's consent.
    config.allow_insecure_http =
        allow_endpoint_override && settings.get("allow_insecure_http") == Some(&Value::Bool(true));
    Ok(config)
}

/// An Azure connector: settings `{"tenant_id", "client_id", "subscriptions": [...],
/// "skip_entra": false}`, secret `{"client_secret": "…"}`.
fn azure_config(
    settings: &Value,
    secret: &[u8],
    allow_endpoint_override: bool,
) -> Result<rampart_azure::AzureScanConfig, JobFailure> {
    let required = |key: &str| -> Result<String, JobFailure> {
        setting_text(settings, key)?
            .ok_or_else(|| JobFailure::new(format!("connector setting {key:?} is required")))
    };
    let secret: Value = serde_json::from_slice(secret)
        .map_err(|e| JobFailure::new(format!("connector credentials are not JSON: {e}")))?;
    let client_secret = secret
        .get("client_secret")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| JobFailure::new("connector credentials need \"client_secret\""))?;
    Ok(rampart_azure::AzureScanConfig {
        tenant_id: required("tenant_id")?,
        client_id: required("client_id")?,
        client_secret: rampart_azure::ClientSecret::new(client_secret),
        subscriptions: setting_list(settings, "subscriptions")?,
        skip_entra: settings.get("skip_entra") == Some(&Value::Bool(true)),
        login_endpoint: endpoint_setting(settings, "login_endpoint", allow_endpoint_override)?,
        arm_endpoint: endpoint_setting(settings, "arm_endpoint", allow_endpoint_override)?,
        graph_endpoint: endpoint_setting(settings, "graph_endpoint", allow_endpoint_override)?,
        allow_insecure_http: allow_endpoint_override
            && settings.get("allow_insecure_http") == Some(&Value::Bool(true)),
        ..rampart_azure::AzureScanConfig::default()
    })
}

/// What every provider's collection gives the job.
struct Collected {
    inventory: rampart_model::Inventory,
    source: String,
    accounts: Vec<String>,
    regions: Vec<String>,
    /// How many calls failed, and the first [`MAX_ERRORS_IN_RESULT`] of them.
    failed: (usize, Vec<Value>),
    /// What was listed completely: stored assets under it that were not seen are gone.
    sweeps: Vec<rampart_model::Sweep>,
}

/// A failed call as the job's result shows it.
fn call_json(account: &str, service: &str, region: &str, operation: &str, message: &str) -> Value {
    json!({
        "account": account,
        "service": service,
        "region": region,
        "operation": operation,
        "message": message.chars().take(300).collect::<String>(),
    })
}

/// The number of failed calls and the first [`MAX_ERRORS_IN_RESULT`] of them as JSON.
fn failed_calls<T>(errors: &[T], to_json: fn(&T) -> Value) -> (usize, Vec<Value>) {
    (
        errors.len(),
        errors
            .iter()
            .take(MAX_ERRORS_IN_RESULT)
            .map(to_json)
            .collect(),
    )
}

/// Runs the AWS collection on a runtime of its own on a blocking thread (the SDK's futures are
/// not `Send` for every lifetime, which the job's task needs). When the job is cancelled or its
/// lease lost, the job's future is dropped, `stop` with it, and the collection ends at its next
/// await.
async fn collect_apart(
    config: rampart_aws::AwsScanConfig,
    progress: JobProgress,
) -> Result<rampart_aws::Collection, JobFailure> {
    apart(move || async move {
        rampart_aws::collect(&config, &progress)
            .await
            .map_err(|e| JobFailure::new(e.to_string()))
    })
    .await
}

/// Runs `work` (an AWS SDK call chain) on a runtime of its own on a blocking thread; dropping
/// the returned future stops it at its next await.
async fn apart<T, F, Fut>(work: F) -> Result<T, JobFailure>
where
    T: Send + 'static,
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<T, JobFailure>>,
{
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let handle = tokio::task::spawn_blocking(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| JobFailure::new(format!("cannot start the collection runtime: {e}")))?;
        runtime.block_on(async move {
            tokio::select! {
                r = work() => r,
                _ = stopped => Err(JobFailure::new("collection stopped")),
            }
        })
    });
    let result = handle
        .await
        .map_err(|e| JobFailure::new(format!("the collection thread failed: {e}")))?;
    drop(stop);
    result
}

/// A job's connector and its unsealed secret (checked to exist).
async fn job_connector(
    ctx: &JobContext,
    vault: &Vault,
) -> Result<(rampart_store::Connector, Vec<u8>), JobFailure> {
    let scope = ctx.claim.scope.clone();
    let connector_id = ctx
        .claim
        .job
        .connector_id
        .clone()
        .ok_or_else(|| JobFailure::new("the job names no connector"))?;
    let connector = ctx
        .store
        .connector(&scope, &connector_id)
        .await?
        .ok_or_else(|| JobFailure::new("the connector was deleted"))?;
    let secret = ctx
        .store
        .connector_secret(&scope, &connector_id, vault)
        .await?;
    Ok((connector, secret))
}

/// Runs connection checks: signs in with the connector's credentials and answers who the cloud
/// says they are; nothing is collected or recorded. A refusal fails the job with the provider's
/// message (one attempt: retrying would not change the answer).
pub(crate) struct CheckExecutor {
    vault: Arc<Vault>,
    allow_endpoint_override: bool,
}

impl Executor for CheckExecutor {
    fn run(&self, ctx: JobContext) -> BoxFuture<'static, Result<Value, JobFailure>> {
        let vault = self.vault.clone();
        let allow = self.allow_endpoint_override;
        Box::pin(async move {
            let (connector, secret) = job_connector(&ctx, &vault).await?;
            ctx.set_progress(json!({ "step": "authenticate" }));
            let started = std::time::Instant::now();
            let identity = match connector.provider.as_str() {
                "aws" => {
                    let config = aws_config(&connector.settings, &secret, allow)?;
                    drop(secret);
                    let id = apart(move || async move {
                        rampart_aws::check(&config)
                            .await
                            .map_err(|e| JobFailure::new(e.to_string()))
                    })
                    .await?;
                    json!({ "account": id.account, "principal": id.arn })
                }
                "gcp" => {
                    let config = gcp_config(&connector.settings, &secret, allow)?;
                    drop(secret);
                    let email = rampart_gcp::check(&config)
                        .await
                        .map_err(|e| JobFailure::new(e.to_string()))?;
                    json!({ "principal": email })
                }
                "azure" => {
                    let config = azure_config(&connector.settings, &secret, allow)?;
                    drop(secret);
                    let who = rampart_azure::check(&config)
                        .await
                        .map_err(|e| JobFailure::new(e.to_string()))?;
                    json!({ "principal": who })
                }
                other => {
                    return Err(JobFailure::new(format!(
                        "{other} connectors cannot be checked (providers: aws, gcp, azure)"
                    )));
                }
            };
            Ok(json!({
                "connected": true,
                "provider": connector.provider,
                "identity": identity,
                "milliseconds": u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            }))
        })
    }
}

/// Failed calls kept in a job's result.
const MAX_ERRORS_IN_RESULT: usize = 200;

impl Executor for AwsScanExecutor {
    fn run(&self, ctx: JobContext) -> BoxFuture<'static, Result<Value, JobFailure>> {
        let catalog = self.catalog.clone();
        let vault = self.vault.clone();
        let allow = self.allow_endpoint_override;
        Box::pin(async move {
            let (connector, secret) = job_connector(&ctx, &vault).await?;
            let progress = JobProgress {
                ctx: ctx.clone(),
                total: AtomicUsize::new(0),
                done: AtomicUsize::new(0),
                errors: AtomicUsize::new(0),
            };
            progress.publish(None);
            let collected = match connector.provider.as_str() {
                "aws" => {
                    let config = aws_config(&connector.settings, &secret, allow)?;
                    drop(secret);
                    let c = collect_apart(config, progress).await?;
                    Collected {
                        source: format!(
                            "aws: connector {} (account {})",
                            connector.name, c.account_id
                        ),
                        accounts: c.accounts.clone(),
                        regions: c.regions.clone(),
                        failed: failed_calls(&c.errors, |e: &rampart_aws::CollectionError| {
                            call_json(&e.account, &e.service, &e.region, &e.operation, &e.message)
                        }),
                        inventory: c.inventory,
                        sweeps: c.sweeps,
                    }
                }
                "gcp" => {
                    let config = gcp_config(&connector.settings, &secret, allow)?;
                    drop(secret);
                    let c = rampart_gcp::collect(&config, &progress)
                        .await
                        .map_err(|e| JobFailure::new(e.to_string()))?;
                    Collected {
                        source: format!("gcp: connector {} ({})", connector.name, c.scope),
                        accounts: vec![c.scope.clone()],
                        regions: Vec::new(),
                        failed: failed_calls(&c.errors, |e: &rampart_gcp::CollectionError| {
                            call_json(&e.scope, &e.service, "global", &e.operation, &e.message)
                        }),
                        inventory: c.inventory,
                        sweeps: Vec::new(),
                    }
                }
                "azure" => {
                    let config = azure_config(&connector.settings, &secret, allow)?;
                    drop(secret);
                    let c = rampart_azure::collect(&config, &progress)
                        .await
                        .map_err(|e| JobFailure::new(e.to_string()))?;
                    Collected {
                        source: format!(
                            "azure: connector {} (tenant {})",
                            connector.name, c.tenant_id
                        ),
                        accounts: c.subscriptions.clone(),
                        regions: Vec::new(),
                        failed: failed_calls(&c.errors, |e: &rampart_azure::CollectionError| {
                            call_json(&e.account, &e.service, &e.region, &e.operation, &e.message)
                        }),
                        inventory: c.inventory,
                        sweeps: Vec::new(),
                    }
                }
                other => {
                    return Err(JobFailure::new(format!(
                        "{other} connectors cannot be scanned (providers: aws, gcp, azure)"
                    )));
                }
            };
            let Collected {
                inventory,
                source,
                accounts,
                regions,
                failed: (failed_calls, errors),
                sweeps,
            } = collected;
            let recorded = rampart_worker::evaluate_and_record(
                &ctx,
                catalog,
                &source,
                inventory,
                &sweeps,
                Utc::now(),
            )
            .await?;
            let mut result = recorded.result(None);
            result["gone"] = json!(recorded.scan.gone_count);
            result["accounts"] = json!(accounts);
            result["regions"] = json!(regions);
            result["failed_calls"] = json!(failed_calls);
            result["errors"] = json!(errors);
            Ok(result)
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn connector_settings_become_a_scan_config() {
        let c = aws_config(
            &json!({"regions": ["eu-west-1"], "role_arn": "arn:aws:iam::123456789012:role/r", "external_id": "x"}),
            br#"{"access_key_id": "AKIA", "secret_access_key": "s"}"#,
            false,
        )
        .unwrap();
        assert_eq!(c.regions, Some(vec!["eu-west-1".to_owned()]));
        assert_eq!(
            c.role_arn.as_deref(),
            Some("arn:aws:iam::123456789012:role/r")
        );
        assert_eq!(c.credentials.unwrap().access_key_id, "AKIA");
        // No credentials: the worker's own identity.
        assert!(
            aws_config(&json!({}), b"{}", false)
                .unwrap()
                .credentials
                .is_none()
        );
    }

    #[test]
    fn bad_settings_name_the_setting() {
        let e = aws_config(&json!({"regions": "eu-west-1"}), b"{}", false).unwrap_err();
        assert!(e.0.contains("\"regions\" must be a list"), "{e}");
        let e = aws_config(&json!({}), br#"{"access_key_id": "AKIA"}"#, false).unwrap_err();
        assert!(e.0.contains("need both"), "{e}");
        let e = aws_config(&json!({}), b"not json", false).unwrap_err();
        assert!(e.0.contains("not JSON"), "{e}");
    }

    #[test]
    fn an_endpoint_override_needs_the_workers_consent() {
        let settings = json!({"endpoint_url": "http://169.254.169.254"});
        let e = aws_config(&settings, b"{}", false).unwrap_err();
        assert!(e.0.contains("--allow-endpoint-override"), "{e}");
        assert!(aws_config(&settings, b"{}", true).is_ok());
    }

    #[test]
    fn gcp_and_azure_connector_settings_are_checked_and_name_the_setting() {
        let e = gcp_config(&json!({}), b"{}", false).err().unwrap();
        assert!(e.0.contains("\"scope\" is required"), "{e}");
        let e = gcp_config(&json!({"scope": "projects"}), b"{}", false)
            .err()
            .unwrap();
        assert!(e.0.contains("\"scope\""), "{e}");
        let e = gcp_config(&json!({"scope": "projects/p"}), b"not a key", false)
            .err()
            .unwrap();
        assert!(e.0.contains("connector credentials"), "{e}");
        let e = azure_config(
            &json!({"client_id": "c"}),
            br#"{"client_secret": "s"}"#,
            false,
        )
        .err()
        .unwrap();
        assert!(e.0.contains("\"tenant_id\" is required"), "{e}");
        let e = azure_config(&json!({"tenant_id": "t", "client_id": "c"}), b"{}", false)
            .err()
            .unwrap();
        assert!(e.0.contains("client_secret"), "{e}");
        // Endpoint overrides and plain http need the worker's consent.
        let settings = json!({"tenant_id": "t", "client_id": "c",
            "arm_endpoint": "http://10.0.0.1", "allow_insecure_http": true});
        let e = azure_config(&settings, br#"{"client_secret": "s"}"#, false)
            .err()
            .unwrap();
        assert!(e.0.contains("--allow-endpoint-override"), "{e}");
        let c = azure_config(&settings, br#"{"client_secret": "s"}"#, true).unwrap();
        assert!(c.allow_insecure_http);
        let c = azure_config(
            &json!({"tenant_id": "t", "client_id": "c", "allow_insecure_http": true}),
            br#"{"client_secret": "s"}"#,
            false,
        )
        .unwrap();
        assert!(!c.allow_insecure_http, "plain http never without consent");
        assert!(!format!("{c:?}").contains("\"s\""));
    }
}
