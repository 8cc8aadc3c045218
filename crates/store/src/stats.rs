//! Installation-level figures for monitoring: liveness of the database and per-workspace counts
//! (taken through each workspace's own scope, like every other read of workspace data).

use sqlx::Row as _;

use crate::db::workspace_from_row;
use crate::{AssetFilter, Page, Result, Store, Workspace};

/// Counts of one workspace, for metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspaceStat {
    pub slug: String,
    pub assets: u64,
    pub failing: u64,
    pub passing: u64,
}

impl Store {
    /// A round trip to the database (readiness).
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1 AS one")
            .fetch_one(&self.db().pool)
            .await?
            .try_get::<i64, _>("one")?;
        Ok(())
    }

    /// Every workspace, ordered by slug.
    pub async fn all_workspaces(&self) -> Result<Vec<Workspace>> {
        let rows = sqlx::query("SELECT id, slug, name, created_at FROM workspaces ORDER BY slug")
            .fetch_all(&self.db().pool)
            .await?;
        rows.iter().map(workspace_from_row).collect()
    }

    /// Asset and finding counts per workspace, ordered by slug.
    pub async fn workspace_stats(&self) -> Result<Vec<WorkspaceStat>> {
        let mut out = Vec::new();
        for ws in self.all_workspaces().await? {
            let Some(scope) = self.operator_scope(&ws.slug).await? else {
                continue;
            };
            let data = self.scoped(&scope);
            let assets = data
                .list_assets(&AssetFilter::default(), Page::new(1, 0))
                .await?
                .total;
            let mut failing = 0;
            let mut passing = 0;
            for c in data.finding_counts().await? {
                match c.status {
                    rampart_model::FindingStatus::Fail => failing += c.count,
                    rampart_model::FindingStatus::Pass => passing += c.count,
                    _ => {}
                }
            }
            out.push(WorkspaceStat {
                slug: ws.slug,
                assets,
                failing,
                passing,
            });
        }
        Ok(out)
    }
}
