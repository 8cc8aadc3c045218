//! The job queue: scans and evaluations run as rows of `jobs`, claimed by workers with a lease
//! that they renew by heartbeat. Everything coordinates through the database, so any number of
//! `rampart worker` and `rampart serve` processes may share one queue.
//!
//! - **Claim**: the next due queued job of any workspace, atomically marked running with a
//!   lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL, through a reviewed SECURITY DEFINER function
//!   that answers only the job's workspace and id; SQLite serialises writers). The claimant gets
//!   the job and a scope of its workspace whose access ([`Access::Job`]) allows reading data and
//!   running scans, nothing else.
//! - **Heartbeat** renews the lease, stores progress and tells the worker whether cancellation
//!   was asked for or the lease was lost.
//! - **Reaper**: a running job whose lease lapsed (its worker died) goes back to the queue, or
//!   ends as failed once its attempts are used up, or as cancelled if that was asked for.
//! - **Finish** (succeeded, failed with a retry time, cancelled) only by the lease holder.
//! - **Scheduler**: for each connector, the latest slot of its cron schedule at or before now
//!   is inserted once: `UNIQUE (workspace_id, connector_id, slot)` makes a second scheduler's
//!   insert of the same slot a no-op.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;
use sqlx::Row as _;
use sqlx::any::AnyRow;

use crate::audit::{self, AuditEvent};
use crate::cron::Cron;
use crate::db::{Dialect, get_opt_ts, get_ts, ts};
use crate::identity::{invalid, new_id, require};
use crate::{Access, Page, Paged, Permission, Result, Store, StoreError, WorkspaceScope};

/// Attempts a job gets before it ends as failed.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;
/// Schedule of a connector that has not been given one: daily at 03:00 UTC.
pub const DEFAULT_SCHEDULE: &str = "0 3 * * *";
/// Longest stored error or progress text.
const MAX_TEXT: usize = 4000;

/// What a job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// Collect a connector's cloud account, evaluate, record the scan.
    Scan,
    /// Evaluate the stored inventory again with the current controls.
    Evaluate,
    /// Import inventory files from the worker's file system and evaluate them (enqueued by
    /// `rampart import --queue` on that machine; not offered by the HTTP API).
    Import,
    /// Deliver notifications: a scan's finding changes, a channel test, the weekly digest.
    Notify,
    /// Authenticate with a connector's credentials and report the identity (no scan).
    Check,
    /// Render a framework's compliance report and keep the file for download
    /// ([`Store::report_file`]).
    Report,
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Scan => "scan",
            JobKind::Evaluate => "evaluate",
            JobKind::Import => "import",
            JobKind::Notify => "notify",
            JobKind::Check => "check",
            JobKind::Report => "report",
        }
    }
}

impl FromStr for JobKind {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<JobKind> {
        match s {
            "scan" => Ok(JobKind::Scan),
            "evaluate" => Ok(JobKind::Evaluate),
            "import" => Ok(JobKind::Import),
            "notify" => Ok(JobKind::Notify),
            "check" => Ok(JobKind::Check),
            "report" => Ok(JobKind::Report),
            _ => Err(invalid(
                "kind",
                format!("{s:?} is not scan, evaluate, import, notify, check or report"),
            )),
        }
    }
}

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
        }
    }

    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            JobState::Succeeded | JobState::Failed | JobState::Cancelled
        )
    }
}

impl FromStr for JobState {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<JobState> {
        match s {
            "queued" => Ok(JobState::Queued),
            "running" => Ok(JobState::Running),
            "succeeded" => Ok(JobState::Succeeded),
            "failed" => Ok(JobState::Failed),
            "cancelled" => Ok(JobState::Cancelled),
            _ => Err(invalid(
                "state",
                format!("{s:?} is not queued, running, succeeded, failed or cancelled"),
            )),
        }
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A job as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Job {
    pub id: String,
    pub kind: JobKind,
    pub connector_id: Option<String>,
    #[schema(value_type = Object)]
    pub params: serde_json::Value,
    pub state: JobState,
    /// The schedule slot this job was started for; absent when started by hand.
    pub slot: Option<DateTime<Utc>>,
    pub attempts: u32,
    pub max_attempts: u32,
    /// Not claimed before this time (backoff after a failed attempt).
    pub run_after: DateTime<Utc>,
    /// The worker holding the lease while running.
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<DateTime<Utc>>,
    pub heartbeat_at: Option<DateTime<Utc>>,
    pub cancel_requested: bool,
    #[schema(value_type = Option<Object>)]
    pub progress: Option<serde_json::Value>,
    /// The error of the last failed attempt.
    pub last_error: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub result: Option<serde_json::Value>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

fn job_from_row(r: &AnyRow) -> Result<Job> {
    let json = |col: &str| -> Result<Option<serde_json::Value>> {
        r.try_get::<Option<String>, _>(col)?
            .map(|s| {
                serde_json::from_str(&s).map_err(|e| StoreError::Corrupt(format!("job {col}: {e}")))
            })
            .transpose()
    };
    let kind: String = r.try_get("kind")?;
    let state: String = r.try_get("state")?;
    Ok(Job {
        id: r.try_get("id")?,
        kind: kind.parse()?,
        connector_id: r.try_get("connector_id")?,
        params: json("params")?.unwrap_or_default(),
        state: state.parse()?,
        slot: get_opt_ts(r, "slot")?,
        attempts: r.try_get::<i32, _>("attempts")?.max(0) as u32,
        max_attempts: r.try_get::<i32, _>("max_attempts")?.max(0) as u32,
        run_after: get_ts(r, "run_after")?,
        lease_owner: r.try_get("lease_owner")?,
        lease_expires_at: get_opt_ts(r, "lease_expires_at")?,
        heartbeat_at: get_opt_ts(r, "heartbeat_at")?,
        cancel_requested: r.try_get::<i32, _>("cancel_requested")? != 0,
        progress: json("progress")?,
        last_error: r.try_get("last_error")?,
        result: json("result")?,
        created_by: r.try_get("created_by")?,
        created_at: get_ts(r, "created_at")?,
        started_at: get_opt_ts(r, "started_at")?,
        finished_at: get_opt_ts(r, "finished_at")?,
    })
}

/// A job to enqueue.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub kind: JobKind,
    pub connector_id: Option<String>,
    pub params: serde_json::Value,
    pub max_attempts: u32,
}

impl NewJob {
    pub fn scan(connector_id: &str) -> NewJob {
        NewJob {
            kind: JobKind::Scan,
            connector_id: Some(connector_id.to_owned()),
            params: serde_json::json!({}),
            max_attempts: DEFAULT_MAX_ATTEMPTS,
        }
    }

    /// Check a connector's credentials (one attempt: a refusal is an answer, not a fault).
    pub fn check(connector_id: &str) -> NewJob {
        NewJob {
            kind: JobKind::Check,
            connector_id: Some(connector_id.to_owned()),
            params: serde_json::json!({}),
            max_attempts: 1,
        }
    }

    /// Import these files (paths on the worker's machine) and evaluate them.
    pub fn import(files: &[String]) -> NewJob {
        NewJob {
            kind: JobKind::Import,
            connector_id: None,
            params: serde_json::json!({ "files": files }),
            max_attempts: DEFAULT_MAX_ATTEMPTS,
        }
    }

    /// Render `framework`'s compliance report as `format` (`pdf` or `html`; the caller checks
    /// both). Three attempts: rendering reads the store and may meet a restart.
    pub fn report(framework: &str, format: &str) -> NewJob {
        NewJob {
            kind: JobKind::Report,
            connector_id: None,
            params: serde_json::json!({"framework": framework, "format": format}),
            max_attempts: 3,
        }
    }

    pub fn evaluate() -> NewJob {
        NewJob {
            kind: JobKind::Evaluate,
            connector_id: None,
            params: serde_json::json!({}),
            max_attempts: DEFAULT_MAX_ATTEMPTS,
        }
    }
}

/// A job held by a worker: the job as claimed, the scope it runs in, and who holds it.
#[derive(Debug, Clone)]
pub struct ClaimedJob {
    pub job: Job,
    pub scope: WorkspaceScope,
    pub worker: String,
}

/// What a heartbeat learned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Heartbeat {
    /// The lease is renewed; carry on.
    Renewed,
    /// Someone asked for the job to be cancelled: stop and call [`Store::finish_cancelled`].
    CancelRequested,
    /// The lease was lost (it lapsed and the reaper gave the job back): stop without writing.
    LeaseLost,
}

/// What the reaper did to one job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reaped {
    pub workspace_id: String,
    pub job_id: String,
    pub state: JobState,
}

/// A job the scheduler inserted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scheduled {
    pub workspace_id: String,
    pub connector_id: String,
    pub slot: DateTime<Utc>,
    pub job_id: String,
    /// False when the slot was recorded as skipped because a scan of the connector was still
    /// queued or running.
    pub queued: bool,
}

pub(crate) fn clip(s: &str) -> String {
    if s.len() <= MAX_TEXT {
        return s.to_owned();
    }
    let mut end = MAX_TEXT;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

fn lease_until(now: DateTime<Utc>, lease: TimeDelta) -> String {
    ts(now + lease)
}

impl Store {
    // ----- the API's side: enqueue, list, cancel ---------------------------------------------

    /// Puts a job on the queue (audited as `job.enqueue`). Scan jobs need an existing connector.
    /// A report job needs `export_data` (what downloading the report directly needs); every
    /// other kind `run_scans`.
    pub async fn enqueue_job(
        &self,
        scope: &WorkspaceScope,
        new: NewJob,
        event: AuditEvent,
    ) -> Result<Job> {
        require(
            scope,
            if new.kind == JobKind::Report {
                Permission::ExportData
            } else {
                Permission::RunScans
            },
        )?;
        if new.kind == JobKind::Scan && new.connector_id.is_none() {
            return Err(invalid("connector_id", "a scan job needs a connector"));
        }
        if !new.params.is_object() {
            return Err(invalid("params", "must be a JSON object"));
        }
        if !(1..=100).contains(&new.max_attempts) {
            return Err(invalid("max_attempts", "must be 1 to 100"));
        }
        let now = Utc::now();
        let id = new_id("job");
        let mut tx = self
            .db()
            .begin_workspace_write(scope.workspace_id())
            .await?;
        if let Some(connector) = &new.connector_id {
            let found =
                sqlx::query("SELECT id FROM connectors WHERE workspace_id = $1 AND id = $2")
                    .bind(scope.workspace_id())
                    .bind(connector)
                    .fetch_optional(&mut *tx)
                    .await?;
            if found.is_none() {
                return Err(StoreError::NotFound { what: "connector" });
            }
        }
        sqlx::query("INSERT INTO jobs (workspace_id, id, kind, connector_id, params, state, max_attempts, run_after, created_by, created_at) VALUES ($1, $2, $3, $4, $5, 'queued', $6, $7, $8, $7)")
            .bind(scope.workspace_id())
            .bind(&id)
            .bind(new.kind.as_str())
            .bind(new.connector_id.as_deref())
            .bind(new.params.to_string())
            .bind(new.max_attempts as i32)
            .bind(ts(now))
            .bind(&event.actor_id)
            .execute(&mut *tx)
            .await?;
        let event = event.object("job", &id).detail(serde_json::json!({
            "kind": new.kind.as_str(),
            "connector": new.connector_id,
        }));
        audit::append(&mut tx, scope.workspace_id(), &event, now).await?;
        tx.commit().await?;
        self.job(scope, &id)
            .await?
            .ok_or(StoreError::NotFound { what: "job" })
    }

    /// One job of the workspace.
    pub async fn job(&self, scope: &WorkspaceScope, id: &str) -> Result<Option<Job>> {
        require(scope, Permission::ReadData)?;
        let mut tx = self.db().begin_workspace(scope.workspace_id()).await?;
        let row = sqlx::query("SELECT * FROM jobs WHERE workspace_id = $1 AND id = $2")
            .bind(scope.workspace_id())
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        row.as_ref().map(job_from_row).transpose()
    }

    /// The workspace's jobs, newest first, optionally of one state.
    pub async fn list_jobs(
        &self,
        scope: &WorkspaceScope,
        state: Option<JobState>,
        page: Page,
    ) -> Result<Paged<Job>> {
        require(scope, Permission::ReadData)?;
        let mut tx = self.db().begin_workspace(scope.workspace_id()).await?;
        let state = state.map(JobState::as_str);
        let total: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM jobs WHERE workspace_id = $1 AND ($2 IS NULL OR state = $2)",
        )
        .bind(scope.workspace_id())
        .bind(state)
        .fetch_one(&mut *tx)
        .await?
        .try_get("n")?;
        let rows = sqlx::query("SELECT * FROM jobs WHERE workspace_id = $1 AND ($2 IS NULL OR state = $2) ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4")
            .bind(scope.workspace_id())
            .bind(state)
            .bind(i64::from(page.limit()))
            .bind(page.offset() as i64)
            .fetch_all(&mut *tx)
            .await?;
        Ok(Paged {
            items: rows.iter().map(job_from_row).collect::<Result<_>>()?,
            total: total.max(0) as u64,
            limit: page.limit(),
            offset: page.offset(),
        })
    }

    /// Cancels a job (audited as `job.cancel`): a queued one at once, a running one at its
    /// worker's next heartbeat. A finished job cannot be cancelled (a conflict).
    pub async fn cancel_job(
        &self,
        scope: &WorkspaceScope,
        id: &str,
        event: AuditEvent,
    ) -> Result<Job> {
        // Whoever may queue a job of its kind may cancel it (see `enqueue_job`).
        require(scope, Permission::ReadData)?;
        let now = Utc::now();
        let mut tx = self
            .db()
            .begin_workspace_write(scope.workspace_id())
            .await?;
        let row = sqlx::query("SELECT kind, state FROM jobs WHERE workspace_id = $1 AND id = $2")
            .bind(scope.workspace_id())
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound { what: "job" })?;
        let kind: JobKind = row.try_get::<String, _>("kind")?.parse()?;
        require(
            scope,
            if kind == JobKind::Report {
                Permission::ExportData
            } else {
                Permission::RunScans
            },
        )?;
        let state: JobState = row.try_get::<String, _>("state")?.parse()?;
        match state {
            JobState::Queued => {
                sqlx::query("UPDATE jobs SET state = 'cancelled', cancel_requested = 1, finished_at = $3 WHERE workspace_id = $1 AND id = $2")
                    .bind(scope.workspace_id())
                    .bind(id)
                    .bind(ts(now))
                    .execute(&mut *tx)
                    .await?;
            }
            JobState::Running => {
                sqlx::query(
                    "UPDATE jobs SET cancel_requested = 1 WHERE workspace_id = $1 AND id = $2",
                )
                .bind(scope.workspace_id())
                .bind(id)
                .execute(&mut *tx)
                .await?;
            }
            _ => {
                return Err(StoreError::Conflict {
                    what: "a finished job (it cannot be cancelled)",
                });
            }
        }
        let event = event
            .object("job", id)
            .detail(serde_json::json!({ "state_before": state.as_str() }));
        audit::append(&mut tx, scope.workspace_id(), &event, now).await?;
        tx.commit().await?;
        self.job(scope, id)
            .await?
            .ok_or(StoreError::NotFound { what: "job" })
    }

    /// Changes a connector's schedule (audited as `connector.schedule`).
    pub async fn set_connector_schedule(
        &self,
        scope: &WorkspaceScope,
        connector_id: &str,
        schedule: &str,
        event: AuditEvent,
    ) -> Result<()> {
        require(scope, Permission::ManageConnectors)?;
        let cron: Cron = schedule
            .parse()
            .map_err(|e: crate::cron::CronError| invalid("schedule", e.problem))?;
        let now = Utc::now();
        let mut tx = self.db().begin_workspace(scope.workspace_id()).await?;
        let n = sqlx::query("UPDATE connectors SET schedule = $3, updated_at = $4 WHERE workspace_id = $1 AND id = $2")
            .bind(scope.workspace_id())
            .bind(connector_id)
            .bind(cron.as_str())
            .bind(ts(now))
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound { what: "connector" });
        }
        let event = event
            .object("connector", connector_id)
            .detail(serde_json::json!({ "schedule": cron.as_str() }));
        audit::append(&mut tx, scope.workspace_id(), &event, now).await?;
        tx.commit().await?;
        Ok(())
    }

    // ----- the worker's side: claim, heartbeat, finish, reap, schedule ----------------------

    /// Claims the next due job of any workspace for `worker`, with a lease until `now + lease`.
    pub async fn claim_job(
        &self,
        worker: &str,
        lease: TimeDelta,
        now: DateTime<Utc>,
    ) -> Result<Option<ClaimedJob>> {
        let db = self.db();
        let claimed = match db.dialect {
            Dialect::Postgres => {
                sqlx::query("SELECT workspace_id, id FROM rampart_claim_job($1, $2, $3)")
                    .bind(worker)
                    .bind(ts(now))
                    .bind(lease_until(now, lease))
                    .fetch_optional(&db.pool)
                    .await?
            }
            Dialect::Sqlite => {
                sqlx::query("UPDATE jobs SET state = 'running', lease_owner = $1, lease_expires_at = $3, heartbeat_at = $2, attempts = attempts + 1, started_at = COALESCE(started_at, $2) WHERE (workspace_id, id) = (SELECT workspace_id, id FROM jobs WHERE state = 'queued' AND run_after <= $2 ORDER BY run_after, created_at LIMIT 1) RETURNING workspace_id, id")
                    .bind(worker)
                    .bind(ts(now))
                    .bind(lease_until(now, lease))
                    .fetch_optional(&db.pool)
                    .await?
            }
        };
        let Some(row) = claimed else {
            return Ok(None);
        };
        let workspace_id: String = row.try_get("workspace_id")?;
        let job_id: String = row.try_get("id")?;
        let slug: String = sqlx::query("SELECT slug FROM workspaces WHERE id = $1")
            .bind(&workspace_id)
            .fetch_one(&db.pool)
            .await?
            .try_get("slug")?;
        let mut tx = db.begin_workspace(&workspace_id).await?;
        let row = sqlx::query("SELECT * FROM jobs WHERE workspace_id = $1 AND id = $2")
            .bind(&workspace_id)
            .bind(&job_id)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        let job = job_from_row(&row)?;
        let scope = WorkspaceScope::new(
            workspace_id,
            slug,
            Access::Job {
                job_id: job.id.clone(),
                requested_by: job.created_by.clone(),
            },
        );
        Ok(Some(ClaimedJob {
            job,
            scope,
            worker: worker.to_owned(),
        }))
    }

    /// Renews the lease of a claimed job and stores its progress.
    pub async fn heartbeat(
        &self,
        claim: &ClaimedJob,
        lease: TimeDelta,
        progress: Option<&serde_json::Value>,
        now: DateTime<Utc>,
    ) -> Result<Heartbeat> {
        let mut tx = self
            .db()
            .begin_workspace(claim.scope.workspace_id())
            .await?;
        let row = sqlx::query("UPDATE jobs SET heartbeat_at = $4, lease_expires_at = $5, progress = COALESCE($6, progress) WHERE workspace_id = $1 AND id = $2 AND lease_owner = $3 AND state = 'running' RETURNING cancel_requested")
            .bind(claim.scope.workspace_id())
            .bind(&claim.job.id)
            .bind(&claim.worker)
            .bind(ts(now))
            .bind(lease_until(now, lease))
            .bind(progress.map(|p| clip(&p.to_string())))
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(match row {
            None => Heartbeat::LeaseLost,
            Some(r) if r.try_get::<i32, _>("cancel_requested")? != 0 => Heartbeat::CancelRequested,
            Some(_) => Heartbeat::Renewed,
        })
    }

    /// Ends a claimed job as succeeded with its result. `Ok(false)` when the lease was lost
    /// meanwhile (then nothing is written).
    pub async fn complete_job(
        &self,
        claim: &ClaimedJob,
        result: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        self.finish(claim, "UPDATE jobs SET state = 'succeeded', result = $4, finished_at = $5, lease_owner = NULL, lease_expires_at = NULL WHERE workspace_id = $1 AND id = $2 AND lease_owner = $3 AND state = 'running'", Some(clip(&result.to_string())), now).await
    }

    /// Ends a cancelled job. `Ok(false)` when the lease was lost meanwhile.
    pub async fn finish_cancelled(&self, claim: &ClaimedJob, now: DateTime<Utc>) -> Result<bool> {
        self.finish(claim, "UPDATE jobs SET state = 'cancelled', result = $4, finished_at = $5, lease_owner = NULL, lease_expires_at = NULL WHERE workspace_id = $1 AND id = $2 AND lease_owner = $3 AND state = 'running'", None, now).await
    }

    /// Records a failed attempt: back on the queue at `retry_at` while attempts remain, else
    /// failed for good. The error stays visible on the job either way. Returns the new state, or
    /// `None` when the lease was lost meanwhile.
    pub async fn fail_job(
        &self,
        claim: &ClaimedJob,
        error: &str,
        retry_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Option<JobState>> {
        let mut tx = self
            .db()
            .begin_workspace(claim.scope.workspace_id())
            .await?;
        let row = sqlx::query("UPDATE jobs SET state = CASE WHEN attempts >= max_attempts OR cancel_requested <> 0 THEN 'failed' ELSE 'queued' END, finished_at = CASE WHEN attempts >= max_attempts OR cancel_requested <> 0 THEN $6 END, last_error = $4, run_after = $5, lease_owner = NULL, lease_expires_at = NULL WHERE workspace_id = $1 AND id = $2 AND lease_owner = $3 AND state = 'running' RETURNING state")
            .bind(claim.scope.workspace_id())
            .bind(&claim.job.id)
            .bind(&claim.worker)
            .bind(clip(error))
            .bind(ts(retry_at))
            .bind(ts(now))
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;
        row.map(|r| r.try_get::<String, _>("state")?.parse())
            .transpose()
    }

    async fn finish(
        &self,
        claim: &ClaimedJob,
        sql: &'static str,
        result: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let mut tx = self
            .db()
            .begin_workspace(claim.scope.workspace_id())
            .await?;
        let n = sqlx::query(sql)
            .bind(claim.scope.workspace_id())
            .bind(&claim.job.id)
            .bind(&claim.worker)
            .bind(result)
            .bind(ts(now))
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(n == 1)
    }

    /// Gives back every running job whose lease lapsed before `now`: queued again (to run at
    /// once), or failed when its attempts are used up, or cancelled when that was asked for.
    pub async fn reap_jobs(&self, now: DateTime<Utc>) -> Result<Vec<Reaped>> {
        let db = self.db();
        let rows = match db.dialect {
            Dialect::Postgres => {
                sqlx::query("SELECT workspace_id, id, state FROM rampart_reap_jobs($1)")
                    .bind(ts(now))
                    .fetch_all(&db.pool)
                    .await?
            }
            Dialect::Sqlite => {
                sqlx::query("UPDATE jobs SET state = CASE WHEN cancel_requested <> 0 THEN 'cancelled' WHEN attempts >= max_attempts THEN 'failed' ELSE 'queued' END, finished_at = CASE WHEN cancel_requested <> 0 OR attempts >= max_attempts THEN $1 END, last_error = 'the worker ' || COALESCE(lease_owner, '?') || ' stopped renewing its lease (lost at ' || COALESCE(heartbeat_at, '?') || ')', lease_owner = NULL, lease_expires_at = NULL, run_after = $1 WHERE state = 'running' AND lease_expires_at < $1 RETURNING workspace_id, id, state")
                    .bind(ts(now))
                    .fetch_all(&db.pool)
                    .await?
            }
        };
        rows.iter()
            .map(|r| {
                Ok(Reaped {
                    workspace_id: r.try_get("workspace_id")?,
                    job_id: r.try_get("id")?,
                    state: r.try_get::<String, _>("state")?.parse()?,
                })
            })
            .collect()
    }

    /// Inserts, for every connector of every workspace, the latest slot of its schedule at or
    /// before `now` unless that slot already has a job (one job per connector and slot, however
    /// many schedulers run). Slots before the connector was created are not fired; missed older
    /// slots are not caught up (only the latest). When a scan of the connector is still queued
    /// or running, the slot is recorded as a cancelled job saying so.
    pub async fn schedule_due(&self, now: DateTime<Utc>) -> Result<Vec<Scheduled>> {
        let mut out = Vec::new();
        for ws in self.all_workspaces().await? {
            let mut tx = self.db().begin_workspace_write(&ws.id).await?;
            let connectors = sqlx::query(
                "SELECT id, schedule, created_at FROM connectors WHERE workspace_id = $1 ORDER BY id",
            )
            .bind(&ws.id)
            .fetch_all(&mut *tx)
            .await?;
            for c in &connectors {
                let connector_id: String = c.try_get("id")?;
                let schedule: String = c.try_get("schedule")?;
                let created = get_ts(c, "created_at")?;
                // Schedules are checked when set; one that no longer parses is not fired.
                let Ok(cron) = schedule.parse::<Cron>() else {
                    continue;
                };
                let Some(slot) = cron.latest_at_or_before(now) else {
                    continue;
                };
                if slot < created {
                    continue;
                }
                let busy: i64 = sqlx::query("SELECT COUNT(*) AS n FROM jobs WHERE workspace_id = $1 AND connector_id = $2 AND state IN ('queued', 'running')")
                    .bind(&ws.id)
                    .bind(&connector_id)
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get("n")?;
                let (state, error, finished) = if busy > 0 {
                    (
                        "cancelled",
                        Some("skipped: a scan of this connector was still queued or running"),
                        Some(ts(now)),
                    )
                } else {
                    ("queued", None, None)
                };
                let id = new_id("job");
                let inserted = sqlx::query("INSERT INTO jobs (workspace_id, id, kind, connector_id, params, state, slot, max_attempts, run_after, last_error, created_by, created_at, finished_at) VALUES ($1, $2, 'scan', $3, '{}', $4, $5, $6, $7, $8, 'scheduler', $7, $9) ON CONFLICT (workspace_id, connector_id, slot) DO NOTHING")
                    .bind(&ws.id)
                    .bind(&id)
                    .bind(&connector_id)
                    .bind(state)
                    .bind(ts(slot))
                    .bind(DEFAULT_MAX_ATTEMPTS as i32)
                    .bind(ts(now))
                    .bind(error)
                    .bind(finished)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if inserted == 1 {
                    out.push(Scheduled {
                        workspace_id: ws.id.clone(),
                        connector_id,
                        slot,
                        job_id: id,
                        queued: state == "queued",
                    });
                }
            }
            tx.commit().await?;
        }
        // The weekly notification digests fire with the schedules (once per workspace and slot).
        self.schedule_digests(now).await?;
        Ok(out)
    }

    /// Jobs per state across the installation (for the queue-depth metric); counts only.
    pub async fn job_counts(&self) -> Result<Vec<(JobState, u64)>> {
        let mut totals = std::collections::BTreeMap::<&'static str, u64>::new();
        for ws in self.all_workspaces().await? {
            let mut tx = self.db().begin_workspace(&ws.id).await?;
            let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM jobs WHERE workspace_id = $1 AND state IN ('queued', 'running') GROUP BY state")
                .bind(&ws.id)
                .fetch_all(&mut *tx)
                .await?;
            for r in &rows {
                let state: JobState = r.try_get::<String, _>("state")?.parse()?;
                *totals.entry(state.as_str()).or_default() +=
                    r.try_get::<i64, _>("n")?.max(0) as u64;
            }
        }
        totals
            .into_iter()
            .map(|(s, n)| Ok((s.parse()?, n)))
            .collect()
    }
}
