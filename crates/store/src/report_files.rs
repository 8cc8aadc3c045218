//! Files that `report` jobs rendered: a framework's compliance report, kept in the database (so
//! any server replica can hand it out) until newer reports of the workspace push it out.
//! Writing happens under the job's scope; reading needs `export_data`, like rendering a report
//! on request does.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::Digest as _;
use sqlx::Row as _;
use sqlx::any::AnyRow;

use crate::db::{get_ts, ts};
use crate::{Permission, Result, Store, StoreError, WorkspaceScope, require};

/// Report files one workspace keeps; storing one more deletes the oldest.
pub const MAX_REPORT_FILES: i64 = 50;
/// Largest report file stored (a report lists at most a bounded number of assets per control,
/// so a real one stays far below this).
pub const MAX_REPORT_BYTES: usize = 64 << 20;

/// A stored report, without its content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ReportFileInfo {
    /// The job that rendered it.
    pub job_id: String,
    pub framework_id: String,
    pub file_name: String,
    pub media_type: String,
    /// SHA-256 of the content, hex.
    pub sha256: String,
    pub size: u64,
    pub created_at: DateTime<Utc>,
}

/// A stored report with its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportFile {
    pub info: ReportFileInfo,
    pub content: Vec<u8>,
}

fn info_from_row(r: &AnyRow) -> Result<ReportFileInfo> {
    let size: i64 = r.try_get("size")?;
    Ok(ReportFileInfo {
        job_id: r.try_get("job_id")?,
        framework_id: r.try_get("framework_id")?,
        file_name: r.try_get("file_name")?,
        media_type: r.try_get("media_type")?,
        sha256: r.try_get("sha256")?,
        size: size.max(0) as u64,
        created_at: get_ts(r, "created_at")?,
    })
}

impl Store {
    /// Keeps the file a report job rendered. Idempotent: a second run of the same job replaces
    /// its file. The oldest files beyond [`MAX_REPORT_FILES`] are deleted in the same
    /// transaction.
    pub async fn save_report_file(
        &self,
        scope: &WorkspaceScope,
        job_id: &str,
        framework_id: &str,
        file_name: &str,
        media_type: &str,
        content: &[u8],
    ) -> Result<ReportFileInfo> {
        require(scope, Permission::ExportData)?;
        if content.len() > MAX_REPORT_BYTES {
            return Err(StoreError::Invalid {
                field: "report",
                message: format!(
                    "{} bytes is more than the {MAX_REPORT_BYTES} a stored report may hold",
                    content.len()
                ),
            });
        }
        let now = Utc::now();
        let sha256 = hex::encode(sha2::Sha256::digest(content));
        let ws = scope.workspace_id();
        let mut tx = self.db().begin_workspace_write(ws).await?;
        sqlx::query("DELETE FROM report_files WHERE workspace_id = $1 AND job_id = $2")
            .bind(ws)
            .bind(job_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO report_files (workspace_id, job_id, framework_id, file_name, media_type, sha256, size, content, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
            .bind(ws)
            .bind(job_id)
            .bind(framework_id)
            .bind(file_name)
            .bind(media_type)
            .bind(&sha256)
            .bind(content.len() as i64)
            .bind(content.to_vec())
            .bind(ts(now))
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM report_files WHERE workspace_id = $1 AND job_id NOT IN (SELECT job_id FROM report_files WHERE workspace_id = $1 ORDER BY created_at DESC, job_id DESC LIMIT $2)")
            .bind(ws)
            .bind(MAX_REPORT_FILES)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(ReportFileInfo {
            job_id: job_id.to_owned(),
            framework_id: framework_id.to_owned(),
            file_name: file_name.to_owned(),
            media_type: media_type.to_owned(),
            sha256,
            size: content.len() as u64,
            created_at: now,
        })
    }

    /// The file a report job rendered, with its content (`None`: no such file in this
    /// workspace, e.g. the job has not finished or its file was pushed out).
    pub async fn report_file(
        &self,
        scope: &WorkspaceScope,
        job_id: &str,
    ) -> Result<Option<ReportFile>> {
        require(scope, Permission::ExportData)?;
        let mut tx = self.db().begin_workspace(scope.workspace_id()).await?;
        let row = sqlx::query("SELECT job_id, framework_id, file_name, media_type, sha256, size, content, created_at FROM report_files WHERE workspace_id = $1 AND job_id = $2")
            .bind(scope.workspace_id())
            .bind(job_id)
            .fetch_optional(&mut *tx)
            .await?;
        row.map(|r| {
            Ok(ReportFile {
                info: info_from_row(&r)?,
                content: r.try_get("content")?,
            })
        })
        .transpose()
    }

    /// The workspace's stored reports, newest first, optionally of one framework.
    pub async fn report_files(
        &self,
        scope: &WorkspaceScope,
        framework_id: Option<&str>,
    ) -> Result<Vec<ReportFileInfo>> {
        require(scope, Permission::ExportData)?;
        let mut tx = self.db().begin_workspace(scope.workspace_id()).await?;
        let rows = sqlx::query("SELECT job_id, framework_id, file_name, media_type, sha256, size, created_at FROM report_files WHERE workspace_id = $1 AND ($2 IS NULL OR framework_id = $2) ORDER BY created_at DESC, job_id DESC LIMIT $3")
            .bind(scope.workspace_id())
            .bind(framework_id)
            .bind(MAX_REPORT_FILES)
            .fetch_all(&mut *tx)
            .await?;
        rows.iter().map(info_from_row).collect()
    }
}
