//! The installation's backup queue: scheduled backups run as rows of `backup_jobs`, claimed with
//! a lease by a process configured with a backup directory (`rampart serve --backup-dir`,
//! `rampart worker --backup-dir`), renewed by heartbeat, given back by a reaper when the lease
//! lapses, and finished only by the lease holder.
//!
//! - **Schedule**: the slot of a backup interval is `floor(now / interval) × interval` (UTC
//!   epoch), so every process computes the same slot; `UNIQUE (slot)` turns a second
//!   scheduler's insert of it into a no-op ([`Store::enqueue_backup_slot`]).
//! - **Claim**: the oldest due queued job, atomically marked running with a lease
//!   (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite serialises writers). Nothing is claimed
//!   while another backup job holds a live lease: backups run one at a time.
//! - **Finish**: succeeded with the file it wrote (audited as `backup.create` on the
//!   installation's chain in the same transaction), or a failed attempt that goes back to the
//!   queue at its retry time while attempts remain, else failed for good with its error.
//!
//! The table has no `workspace_id` and holds no customer data: only backup file metadata (name,
//! sizes, the database digest, the vault key id). It therefore needs no row-level security.

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;
use sqlx::Row as _;
use sqlx::any::AnyRow;

use crate::audit::{self, ActorKind, AuditEvent, INSTALLATION_CHAIN, Outcome};
use crate::db::{Dialect, get_opt_ts, get_ts, to_i64, ts};
use crate::identity::{invalid, new_id};
use crate::jobs::clip;
use crate::{JobState, Result, Store};

/// Attempts a backup job gets before it ends as failed.
pub const BACKUP_MAX_ATTEMPTS: u32 = 3;
/// Newest backup jobs [`Store::backup_jobs`] answers at most.
pub const MAX_BACKUP_JOBS_LISTED: u32 = 500;

/// A backup job as operators see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct BackupJob {
    pub id: String,
    /// The schedule slot this job was created for (one job per slot).
    pub slot: DateTime<Utc>,
    pub state: JobState,
    pub attempts: u32,
    pub max_attempts: u32,
    /// Not claimed before this time (backoff after a failed attempt).
    pub run_after: DateTime<Utc>,
    /// The process holding the lease while running.
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<DateTime<Utc>>,
    pub heartbeat_at: Option<DateTime<Utc>>,
    /// The error of the last failed attempt.
    pub last_error: Option<String>,
    /// The backup written, once the job succeeded.
    pub result: Option<BackupJobResult>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// What a successful backup job wrote: file metadata only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct BackupJobResult {
    /// The manifest's backup id (`bkp_…`).
    pub backup_id: String,
    /// The encrypted file's name in the backup directory (`rampart-backup-….rbk`).
    pub file_name: String,
    /// Size of the encrypted file.
    pub file_bytes: u64,
    /// Size and SHA-256 of the plain database (or dump) inside, as in the manifest.
    pub database_bytes: u64,
    pub database_sha256: String,
    /// The vault key the backup is sealed with.
    pub key_id: String,
    /// `sqlite` or `postgres`.
    pub backend: String,
}

impl BackupJobResult {
    /// The result of a backup just written.
    pub fn of(report: &crate::backup::BackupReport) -> BackupJobResult {
        BackupJobResult {
            backup_id: report.manifest.id.clone(),
            file_name: report
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            file_bytes: std::fs::metadata(&report.path).map_or(0, |m| m.len()),
            database_bytes: report.manifest.database_bytes,
            database_sha256: report.manifest.database_sha256.clone(),
            key_id: report.manifest.key_id.clone(),
            backend: report.manifest.backend.clone(),
        }
    }
}

/// A backup job held by a process.
#[derive(Debug, Clone)]
pub struct ClaimedBackup {
    pub job: BackupJob,
    pub worker: String,
}

/// The slot of `interval` that `now` falls in: `floor(now / interval) × interval` from the Unix
/// epoch, whole seconds (the same in every process, whenever it looks).
pub fn backup_slot(now: DateTime<Utc>, interval: TimeDelta) -> Result<DateTime<Utc>> {
    let every = interval.num_seconds();
    if every < 1 {
        return Err(invalid("backup interval", "must be at least one second"));
    }
    let slot = now.timestamp().div_euclid(every) * every;
    DateTime::from_timestamp(slot, 0).ok_or_else(|| invalid("backup slot", "out of range"))
}

fn count(r: &AnyRow, col: &str) -> Result<u32> {
    Ok(r.try_get::<i32, _>(col)?.max(0) as u32)
}

fn bytes(r: &AnyRow, col: &str) -> Result<u64> {
    Ok(r.try_get::<Option<i64>, _>(col)?.unwrap_or(0).max(0) as u64)
}

fn backup_job_from_row(r: &AnyRow) -> Result<BackupJob> {
    let state: String = r.try_get("state")?;
    let result = match (
        r.try_get::<Option<String>, _>("backup_id")?,
        r.try_get::<Option<String>, _>("file_name")?,
    ) {
        (Some(backup_id), Some(file_name)) => Some(BackupJobResult {
            backup_id,
            file_name,
            file_bytes: bytes(r, "file_bytes")?,
            database_bytes: bytes(r, "database_bytes")?,
            database_sha256: r
                .try_get::<Option<String>, _>("database_sha256")?
                .unwrap_or_default(),
            key_id: r
                .try_get::<Option<String>, _>("key_id")?
                .unwrap_or_default(),
            backend: r
                .try_get::<Option<String>, _>("backend")?
                .unwrap_or_default(),
        }),
        _ => None,
    };
    Ok(BackupJob {
        id: r.try_get("id")?,
        slot: get_ts(r, "slot")?,
        state: state.parse()?,
        attempts: count(r, "attempts")?,
        max_attempts: count(r, "max_attempts")?,
        run_after: get_ts(r, "run_after")?,
        lease_owner: r.try_get("lease_owner")?,
        lease_expires_at: get_opt_ts(r, "lease_expires_at")?,
        heartbeat_at: get_opt_ts(r, "heartbeat_at")?,
        last_error: r.try_get("last_error")?,
        result,
        created_by: r.try_get("created_by")?,
        created_at: get_ts(r, "created_at")?,
        started_at: get_opt_ts(r, "started_at")?,
        finished_at: get_opt_ts(r, "finished_at")?,
    })
}

/// The columns of a claim's answer (PostgreSQL's `RETURNING` names the alias).
const COLUMNS: &str = "id, slot, state, attempts, max_attempts, run_after, lease_owner, lease_expires_at, heartbeat_at, last_error, backup_id, file_name, file_bytes, database_bytes, database_sha256, key_id, backend, created_by, created_at, started_at, finished_at";

impl Store {
    /// Inserts the backup job of `slot` unless that slot already has one (one job per slot,
    /// however many schedulers run). `Some` with the new job when this call inserted it.
    pub async fn enqueue_backup_slot(
        &self,
        slot: DateTime<Utc>,
        max_attempts: u32,
        created_by: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<BackupJob>> {
        if !(1..=100).contains(&max_attempts) {
            return Err(invalid("max_attempts", "must be 1 to 100"));
        }
        let id = new_id("bkj");
        let inserted = sqlx::query("INSERT INTO backup_jobs (id, slot, state, max_attempts, run_after, created_by, created_at) VALUES ($1, $2, 'queued', $3, $4, $5, $4) ON CONFLICT (slot) DO NOTHING")
            .bind(&id)
            .bind(ts(slot))
            .bind(max_attempts as i32)
            .bind(ts(now))
            .bind(created_by)
            .execute(&self.db().pool)
            .await?
            .rows_affected();
        if inserted == 0 {
            return Ok(None);
        }
        self.backup_job(&id).await
    }

    /// One backup job.
    pub async fn backup_job(&self, id: &str) -> Result<Option<BackupJob>> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM backup_jobs WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.db().pool)
            .await?;
        row.as_ref().map(backup_job_from_row).transpose()
    }

    /// The newest `limit` backup jobs (at most [`MAX_BACKUP_JOBS_LISTED`]), newest slot first.
    pub async fn backup_jobs(&self, limit: u32) -> Result<Vec<BackupJob>> {
        let limit = limit.clamp(1, MAX_BACKUP_JOBS_LISTED);
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM backup_jobs ORDER BY slot DESC, id DESC LIMIT $1"
        ))
        .bind(i64::from(limit))
        .fetch_all(&self.db().pool)
        .await?;
        rows.iter().map(backup_job_from_row).collect()
    }

    /// Claims the oldest due backup job for `worker`, with a lease until `now + lease`. Nothing
    /// is claimed while another backup job is running (backups run one at a time).
    pub async fn claim_backup_job(
        &self,
        worker: &str,
        lease: TimeDelta,
        now: DateTime<Utc>,
    ) -> Result<Option<ClaimedBackup>> {
        let db = self.db();
        let sql = match db.dialect {
            Dialect::Postgres => format!(
                "UPDATE backup_jobs AS j SET state = 'running', lease_owner = $1, lease_expires_at = $3, heartbeat_at = $2, attempts = j.attempts + 1, started_at = COALESCE(j.started_at, $2) \
                 FROM (SELECT q.id FROM backup_jobs AS q WHERE q.state = 'queued' AND q.run_after <= $2 \
                       AND NOT EXISTS (SELECT 1 FROM backup_jobs AS r WHERE r.state = 'running') \
                       ORDER BY q.run_after, q.slot LIMIT 1 FOR UPDATE SKIP LOCKED) AS next \
                 WHERE j.id = next.id RETURNING {}",
                COLUMNS
                    .split(", ")
                    .map(|c| format!("j.{c}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Dialect::Sqlite => format!(
                "UPDATE backup_jobs SET state = 'running', lease_owner = $1, lease_expires_at = $3, heartbeat_at = $2, attempts = attempts + 1, started_at = COALESCE(started_at, $2) \
                 WHERE id = (SELECT id FROM backup_jobs WHERE state = 'queued' AND run_after <= $2 \
                             AND NOT EXISTS (SELECT 1 FROM backup_jobs WHERE state = 'running') \
                             ORDER BY run_after, slot LIMIT 1) RETURNING {COLUMNS}"
            ),
        };
        let row = sqlx::query(&sql)
            .bind(worker)
            .bind(ts(now))
            .bind(ts(now + lease))
            .fetch_optional(&db.pool)
            .await?;
        row.as_ref()
            .map(|r| {
                Ok(ClaimedBackup {
                    job: backup_job_from_row(r)?,
                    worker: worker.to_owned(),
                })
            })
            .transpose()
    }

    /// Renews the lease of a claimed backup job. `Ok(false)` when the lease was lost (it lapsed
    /// and the reaper gave the job back).
    pub async fn heartbeat_backup_job(
        &self,
        claim: &ClaimedBackup,
        lease: TimeDelta,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let n = sqlx::query("UPDATE backup_jobs SET heartbeat_at = $3, lease_expires_at = $4 WHERE id = $1 AND lease_owner = $2 AND state = 'running'")
            .bind(&claim.job.id)
            .bind(&claim.worker)
            .bind(ts(now))
            .bind(ts(now + lease))
            .execute(&self.db().pool)
            .await?
            .rows_affected();
        Ok(n == 1)
    }

    /// Ends a claimed backup job as succeeded with the file it wrote, audited as
    /// `backup.create` on the installation's chain in the same transaction. `Ok(false)` when the
    /// lease was lost meanwhile (then nothing is written).
    pub async fn complete_backup_job(
        &self,
        claim: &ClaimedBackup,
        result: &BackupJobResult,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let mut tx = self.db().begin_chain(INSTALLATION_CHAIN).await?;
        let n = sqlx::query("UPDATE backup_jobs SET state = 'succeeded', finished_at = $3, lease_owner = NULL, lease_expires_at = NULL, backup_id = $4, file_name = $5, file_bytes = $6, database_bytes = $7, database_sha256 = $8, key_id = $9, backend = $10 WHERE id = $1 AND lease_owner = $2 AND state = 'running'")
            .bind(&claim.job.id)
            .bind(&claim.worker)
            .bind(ts(now))
            .bind(&result.backup_id)
            .bind(&result.file_name)
            .bind(to_i64(result.file_bytes))
            .bind(to_i64(result.database_bytes))
            .bind(&result.database_sha256)
            .bind(&result.key_id)
            .bind(&result.backend)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n != 1 {
            return Ok(false);
        }
        let event = AuditEvent::new("backup.create", Outcome::Success)
            .actor(ActorKind::System, "scheduler", &claim.worker)
            .object("backup", &result.backup_id)
            .detail(serde_json::json!({
                "job": claim.job.id,
                "slot": ts(claim.job.slot),
                "file": result.file_name,
                "bytes": result.database_bytes,
                "key_id": result.key_id,
            }));
        audit::append(&mut tx, INSTALLATION_CHAIN, &event, now).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Records a failed attempt: back on the queue at `retry_at` while attempts remain, else
    /// failed for good. The error stays visible on the job either way. Returns the new state, or
    /// `None` when the lease was lost meanwhile.
    pub async fn fail_backup_job(
        &self,
        claim: &ClaimedBackup,
        error: &str,
        retry_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Option<JobState>> {
        let row = sqlx::query("UPDATE backup_jobs SET state = CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'queued' END, finished_at = CASE WHEN attempts >= max_attempts THEN $5 END, last_error = $3, run_after = $4, lease_owner = NULL, lease_expires_at = NULL WHERE id = $1 AND lease_owner = $2 AND state = 'running' RETURNING state")
            .bind(&claim.job.id)
            .bind(&claim.worker)
            .bind(clip(error))
            .bind(ts(retry_at))
            .bind(ts(now))
            .fetch_optional(&self.db().pool)
            .await?;
        row.map(|r| r.try_get::<String, _>("state")?.parse())
            .transpose()
    }

    /// Gives back every running backup job whose lease lapsed before `now`: queued again (to
    /// run at once), or failed when its attempts are used up. Answers (job id, new state).
    pub async fn reap_backup_jobs(&self, now: DateTime<Utc>) -> Result<Vec<(String, JobState)>> {
        let db = self.db();
        let set = "state = CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'queued' END, \
                   finished_at = CASE WHEN attempts >= max_attempts THEN $1 END, \
                   last_error = 'the process ' || COALESCE(lease_owner, '?') || ' stopped renewing its lease (last heartbeat ' || COALESCE(heartbeat_at, '?') || ')', \
                   lease_owner = NULL, lease_expires_at = NULL, run_after = $1";
        let sql = match db.dialect {
            Dialect::Postgres => format!(
                "UPDATE backup_jobs SET {set} WHERE id IN (SELECT id FROM backup_jobs WHERE state = 'running' AND lease_expires_at < $1 FOR UPDATE SKIP LOCKED) RETURNING id, state"
            ),
            Dialect::Sqlite => format!(
                "UPDATE backup_jobs SET {set} WHERE state = 'running' AND lease_expires_at < $1 RETURNING id, state"
            ),
        };
        let rows = sqlx::query(&sql).bind(ts(now)).fetch_all(&db.pool).await?;
        rows.iter()
            .map(|r| Ok((r.try_get("id")?, r.try_get::<String, _>("state")?.parse()?)))
            .collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn slots_are_whole_intervals_from_the_epoch() {
        let day = TimeDelta::hours(24);
        assert_eq!(
            backup_slot(t("2026-03-04T17:20:00Z"), day).unwrap(),
            t("2026-03-04T00:00:00Z")
        );
        assert_eq!(
            backup_slot(t("2026-03-04T00:00:00Z"), day).unwrap(),
            t("2026-03-04T00:00:00Z")
        );
        let six = TimeDelta::hours(6);
        assert_eq!(
            backup_slot(t("2026-03-04T17:59:59.9Z"), six).unwrap(),
            t("2026-03-04T12:00:00Z")
        );
        assert!(backup_slot(t("2026-03-04T17:59:59Z"), TimeDelta::zero()).is_err());
    }

    #[test]
    fn errors_are_clipped_on_a_character_boundary() {
        let long = "é".repeat(4000);
        let c = clip(&long);
        assert!(c.len() <= 4000 + 3 && c.ends_with('…'));
    }
}
