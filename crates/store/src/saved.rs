//! Saved inventory queries: a name and a CEL filter, per workspace, shared by its members.
//! Reading needs `read_data`; saving and deleting need `manage_findings` and are audited in the
//! same transaction. The CEL text is checked by the caller (the server compiles it first); the
//! store bounds names, queries and how many a workspace keeps.

use chrono::Utc;
use serde::Serialize;
use sqlx::Row as _;
use sqlx::any::AnyRow;

use crate::audit::{self, AuditEvent};
use crate::db::{get_ts, map_unique, ts};
use crate::identity::new_id;
use crate::{Permission, Result, Store, StoreError, WorkspaceScope, require};

/// Saved queries one workspace may keep.
pub const MAX_SAVED_QUERIES: i64 = 200;
/// Longest saved query, in characters.
pub const MAX_QUERY_CHARS: usize = 4000;

/// A saved inventory query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SavedQuery {
    pub id: String,
    pub name: String,
    /// A CEL filter over the asset (`resource.…`), as on the inventory page.
    pub query: String,
    pub created_by: String,
    pub created_at: chrono::DateTime<Utc>,
}

fn from_row(r: &AnyRow) -> Result<SavedQuery> {
    Ok(SavedQuery {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        query: r.try_get("query")?,
        created_by: r.try_get("created_by")?,
        created_at: get_ts(r, "created_at")?,
    })
}

impl Store {
    /// The workspace's saved queries, by name.
    pub async fn saved_queries(&self, scope: &WorkspaceScope) -> Result<Vec<SavedQuery>> {
        require(scope, Permission::ReadData)?;
        self.rows_in(
            scope,
            "SELECT id, name, query, created_by, created_at FROM saved_queries WHERE workspace_id = $1 ORDER BY name LIMIT 200",
            from_row,
        )
        .await
    }

    /// Saves a query under a name unique in the workspace (`Conflict` otherwise).
    pub async fn save_query(
        &self,
        scope: &WorkspaceScope,
        name: &str,
        query: &str,
        event: AuditEvent,
    ) -> Result<SavedQuery> {
        require(scope, Permission::ManageFindings)?;
        let name = name.trim();
        let query = query.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(StoreError::Invalid {
                field: "name",
                message: "give 1 to 100 characters".into(),
            });
        }
        if query.is_empty() || query.chars().count() > MAX_QUERY_CHARS {
            return Err(StoreError::Invalid {
                field: "query",
                message: format!("give 1 to {MAX_QUERY_CHARS} characters"),
            });
        }
        let now = Utc::now();
        let saved = SavedQuery {
            id: new_id("qry"),
            name: name.to_owned(),
            query: query.to_owned(),
            created_by: event.actor_label.clone(),
            created_at: now,
        };
        let ws = scope.workspace_id();
        let mut tx = self.db().begin_workspace(ws).await?;
        let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM saved_queries WHERE workspace_id = $1")
            .bind(ws)
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        if n >= MAX_SAVED_QUERIES {
            return Err(StoreError::Invalid {
                field: "saved queries",
                message: format!("a workspace keeps at most {MAX_SAVED_QUERIES}; delete one first"),
            });
        }
        sqlx::query("INSERT INTO saved_queries (workspace_id, id, name, query, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(ws)
            .bind(&saved.id)
            .bind(&saved.name)
            .bind(&saved.query)
            .bind(&saved.created_by)
            .bind(ts(now))
            .execute(&mut *tx)
            .await
            .map_err(|e| map_unique(e, "a saved query with this name"))?;
        let event = event
            .object("saved_query", &saved.id)
            .detail(serde_json::json!({ "name": saved.name, "query": saved.query }));
        audit::append(&mut tx, ws, &event, now).await?;
        tx.commit().await?;
        Ok(saved)
    }

    /// Deletes a saved query (`NotFound` when it is not in this workspace).
    pub async fn delete_saved_query(
        &self,
        scope: &WorkspaceScope,
        id: &str,
        event: AuditEvent,
    ) -> Result<()> {
        self.change_one_audited(
            scope,
            Permission::ManageFindings,
            "DELETE FROM saved_queries WHERE workspace_id = $1 AND id = $2",
            id,
            ("saved_query", "saved query"),
            event,
        )
        .await
    }
}
