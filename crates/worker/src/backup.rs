//! Scheduled backups from the installation's backup queue ([`rampart_store::backup_jobs`]).
//!
//! A [`BackupWorker`] runs in every process configured with a backup directory (`rampart serve
//! --backup-dir`, `rampart worker --backup-dir`). Each tick it inserts the current slot of the
//! backup interval (a no-op when another process did), gives back backup jobs whose lease
//! lapsed, claims the next due one and takes the encrypted backup — `Store::backup` on SQLite,
//! `Store::backup_postgres` (pg_dump as the backup role) on PostgreSQL — renewing the lease by
//! heartbeat while it runs. The file written is recorded on the job and audited; a failed
//! attempt backs off exponentially and the job ends failed, with its error, once its attempts
//! are used up.
//!
//! A running backup is never aborted (a half-written snapshot would be left behind): when the
//! lease is lost meanwhile, the backup completes but the job is left to its new holder.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use rampart_store::backup::PgTools;
use rampart_store::{
    BACKUP_MAX_ATTEMPTS, BackupJobResult, ClaimedBackup, JobState, Store, StoreError, Vault,
};
use tokio::sync::watch;
use tracing::Instrument as _;

/// What a backup reads the database through.
#[derive(Debug, Clone)]
pub enum BackupSource {
    /// The SQLite store itself (`VACUUM INTO`).
    Sqlite,
    /// `pg_dump` connecting as a role that may read every row (BYPASSRLS).
    Postgres { dump_url: String, tools: PgTools },
}

/// Where, how often and how backups are taken, and the queue timing.
#[derive(Clone)]
pub struct BackupConfig {
    pub dir: PathBuf,
    /// The schedule: one backup per interval slot (`floor(now / interval) × interval`).
    pub interval: Duration,
    /// Newest backups kept in `dir` (0 keeps all).
    pub retain: usize,
    pub source: BackupSource,
    /// Seals the backups (its current key).
    pub vault: Arc<Vault>,
    /// Whether this process inserts the schedule's slots (any number may: each fires once).
    pub scheduler: bool,
    pub max_attempts: u32,
    pub lease: Duration,
    pub heartbeat: Duration,
    pub poll: Duration,
    /// Backoff after a failed attempt: `backoff_base × 2^(attempt−1)`, at most `backoff_max`.
    pub backoff_base: Duration,
    pub backoff_max: Duration,
}

impl BackupConfig {
    /// A configuration with the queue's default timing (60 s lease, 15 s heartbeat, 2 s poll,
    /// 30 s first backoff up to an hour, [`BACKUP_MAX_ATTEMPTS`] attempts).
    pub fn new(
        dir: PathBuf,
        interval: Duration,
        retain: usize,
        source: BackupSource,
        vault: Arc<Vault>,
    ) -> BackupConfig {
        BackupConfig {
            dir,
            interval,
            retain,
            source,
            vault,
            scheduler: true,
            max_attempts: BACKUP_MAX_ATTEMPTS,
            lease: Duration::from_secs(60),
            heartbeat: Duration::from_secs(15),
            poll: Duration::from_secs(2),
            backoff_base: Duration::from_secs(30),
            backoff_max: Duration::from_secs(3600),
        }
    }
}

impl std::fmt::Debug for BackupConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The PostgreSQL URL may hold the backup role's password: never shown.
        f.debug_struct("BackupConfig")
            .field("dir", &self.dir)
            .field("interval", &self.interval)
            .field("retain", &self.retain)
            .field(
                "source",
                &match self.source {
                    BackupSource::Sqlite => "sqlite",
                    BackupSource::Postgres { .. } => "postgres",
                },
            )
            .finish_non_exhaustive()
    }
}

/// Told how each backup attempt ended (metrics, alerts).
pub trait BackupObserver: Send + Sync {
    /// `outcome` is the job's state after the attempt (`succeeded`; `queued` when it failed and
    /// will be retried; `failed` when it failed for the last time), or `lease_lost`. `error` is
    /// the attempt's error, if it failed.
    fn backup_finished(&self, outcome: &str, elapsed: Duration, error: Option<&str>);
}

/// How one claimed backup job ended, as seen by this process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupRan {
    pub job_id: String,
    /// `None` when the lease was lost (another process owns the job now).
    pub state: Option<JobState>,
    /// The file written, when the attempt succeeded.
    pub result: Option<BackupJobResult>,
}

/// Takes the installation's scheduled backups from the backup queue.
pub struct BackupWorker {
    store: Store,
    id: String,
    config: BackupConfig,
    observer: Option<Arc<dyn BackupObserver>>,
    /// The slot this process last inserted (looking again in the same slot finds nothing new).
    scheduled_slot: Mutex<Option<DateTime<Utc>>>,
}

use crate::delta;

impl BackupWorker {
    pub fn new(store: Store, config: BackupConfig) -> BackupWorker {
        let id = crate::worker_id("bkw");
        BackupWorker {
            store,
            id,
            config,
            observer: None,
            scheduled_slot: Mutex::new(None),
        }
    }

    /// Reports every attempt's outcome to `observer`.
    pub fn with_observer(mut self, observer: Arc<dyn BackupObserver>) -> BackupWorker {
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

    /// Inserts the current slot (when scheduling and not yet done for it), reaps lapsed
    /// leases, then claims and runs one backup job. `Ok(None)` when none was due.
    pub async fn tick(&self) -> Result<Option<BackupRan>, StoreError> {
        let now = Utc::now();
        if self.config.scheduler {
            let slot = rampart_store::backup_slot(now, delta(self.config.interval))?;
            let fresh = self
                .scheduled_slot
                .lock()
                .map(|last| *last != Some(slot))
                .unwrap_or(true);
            if fresh {
                if let Some(job) = self
                    .store
                    .enqueue_backup_slot(slot, self.config.max_attempts, "scheduler", now)
                    .await?
                {
                    tracing::info!(job = %job.id, slot = %job.slot, "backup scheduled");
                }
                if let Ok(mut last) = self.scheduled_slot.lock() {
                    *last = Some(slot);
                }
            }
        }
        for (job, state) in self.store.reap_backup_jobs(now).await? {
            tracing::warn!(%job, %state, "backup lease lapsed; job given back");
        }
        let Some(claim) = self
            .store
            .claim_backup_job(&self.id, delta(self.config.lease), now)
            .await?
        else {
            return Ok(None);
        };
        let span = tracing::info_span!("backup", job = %claim.job.id, slot = %claim.job.slot, attempt = claim.job.attempts);
        Ok(Some(self.run_claimed(claim).instrument(span).await?))
    }

    async fn run_claimed(&self, claim: ClaimedBackup) -> Result<BackupRan, StoreError> {
        tracing::info!(dir = %self.config.dir.display(), "backup started");
        let started = std::time::Instant::now();
        let work = {
            let store = self.store.clone();
            let config = self.config.clone();
            async move {
                match &config.source {
                    BackupSource::Sqlite => {
                        store
                            .backup(&config.dir, &config.vault, config.retain)
                            .await
                    }
                    BackupSource::Postgres { dump_url, tools } => {
                        store
                            .backup_postgres(
                                dump_url,
                                tools,
                                &config.dir,
                                &config.vault,
                                config.retain,
                            )
                            .await
                    }
                }
            }
        };
        // On a task of its own, never aborted: see the module docs.
        let mut running = tokio::spawn(work);
        let lease = delta(self.config.lease);
        let mut beat = tokio::time::interval(self.config.heartbeat);
        beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        beat.tick().await;
        let mut lost = false;
        let outcome = loop {
            tokio::select! {
                done = &mut running => {
                    break match done {
                        Ok(r) => r.map_err(|e| e.to_string()),
                        Err(e) => Err(format!("the backup task ended abnormally: {e}")),
                    };
                }
                _ = beat.tick(), if !lost => {
                    match self.store.heartbeat_backup_job(&claim, lease, Utc::now()).await {
                        Ok(true) => {}
                        Ok(false) => {
                            tracing::warn!("backup lease lost; finishing the file, the job belongs to another process");
                            lost = true;
                        }
                        Err(e) => tracing::warn!(error = %e, "backup heartbeat failed"),
                    }
                }
            }
        };
        let now = Utc::now();
        let job_id = claim.job.id.clone();
        let ran = match outcome {
            Ok(report) => {
                let result = BackupJobResult::of(&report);
                tracing::info!(path = %report.path.display(), bytes = report.manifest.database_bytes, removed = report.removed.len(), "scheduled backup written");
                let done = self.store.complete_backup_job(&claim, &result, now).await?;
                BackupRan {
                    job_id,
                    state: done.then_some(JobState::Succeeded),
                    result: Some(result),
                }
            }
            Err(error) => {
                let state = self
                    .store
                    .fail_backup_job(&claim, &error, now + self.backoff(claim.job.attempts), now)
                    .await?;
                tracing::error!(%error, state = state.map_or("lease_lost", JobState::as_str), "scheduled backup failed");
                if let Some(observer) = &self.observer {
                    observer.backup_finished(
                        state.map_or("lease_lost", JobState::as_str),
                        started.elapsed(),
                        Some(&error),
                    );
                }
                return Ok(BackupRan {
                    job_id,
                    state,
                    result: None,
                });
            }
        };
        if ran.state.is_none() {
            tracing::warn!("backup written, but the job's lease was lost: not recorded");
        }
        if let Some(observer) = &self.observer {
            observer.backup_finished(
                ran.state.map_or("lease_lost", JobState::as_str),
                started.elapsed(),
                None,
            );
        }
        Ok(ran)
    }

    /// Runs until `shutdown` turns true (a backup in progress completes first): ticks back to
    /// back while jobs are due, pauses `poll` when none is, and keeps going (with a growing
    /// pause, at most a minute) while the database is unreachable.
    pub async fn run(&self, mut shutdown: watch::Receiver<bool>) {
        tracing::info!(worker = %self.id, dir = %self.config.dir.display(), "backup worker started");
        crate::poll_until_shutdown(&mut shutdown, self.config.poll, "backup worker", || {
            self.tick()
        })
        .await;
        tracing::info!(worker = %self.id, "backup worker stopped");
    }
}
