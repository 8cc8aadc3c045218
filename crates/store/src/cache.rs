//! A per-process memo of workspace aggregates (inventory facets, finding and control counts),
//! each kept with the *data version* of its workspace at the time it was computed.
//!
//! The data version ([`DbBackend::data_version`]) is read from the database on every use — one
//! cheap indexed query. Every change to a workspace's data is audited in the same transaction
//! (ARCHITECTURE.md, invariant 8): recording a scan, exempting or reopening a finding, saving or
//! deleting a custom control. So the head of the workspace's audit chain (its sequence number
//! and hash, which never repeat) names the data; with it go the newest scan and the number of
//! exemptions still in force now (an expiry changes results without any write). A memo is
//! never served for data it was not computed from, whichever server replica or worker made the
//! change. The memo only saves repeating the same aggregate queries
//! between changes: many people looking at the same inventory, or one paging through it.

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::Utc;
use sqlx::Row as _;

use crate::db::{DbBackend, ts};
use crate::{Result, WorkspaceScope};

/// Entries kept; the whole memo is dropped when it would grow beyond this (simple, and a
/// refill costs no more than the queries it saved).
const MAX_ENTRIES: usize = 1024;

type Entry = (String, Arc<dyn Any + Send + Sync>);

#[derive(Default)]
pub(crate) struct AggregateCache {
    entries: Mutex<HashMap<String, Entry>>,
}

impl AggregateCache {
    fn get<T: Clone + 'static>(&self, key: &str, version: &str) -> Option<T> {
        let entries = self.entries.lock().ok()?;
        let (v, value) = entries.get(key)?;
        if v != version {
            return None;
        }
        value.downcast_ref::<T>().cloned()
    }

    fn put<T: Send + Sync + 'static>(&self, key: String, version: String, value: T) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= MAX_ENTRIES && !entries.contains_key(&key) {
                entries.clear();
            }
            entries.insert(key, (version, Arc::new(value)));
        }
    }
}

impl DbBackend {
    /// The workspace's data version: changes whenever a scan is recorded or an exemption is
    /// added, changed, removed or runs out.
    pub(crate) async fn data_version(&self, scope: &WorkspaceScope) -> Result<String> {
        let mut tx = self.begin_workspace(scope.workspace_id()).await?;
        let row = sqlx::query(
            "SELECT \
               (SELECT seq FROM audit_heads WHERE chain = $1) AS audit_seq, \
               (SELECT hash FROM audit_heads WHERE chain = $1) AS audit_hash, \
               (SELECT id FROM scans WHERE workspace_id = $1 ORDER BY started_at DESC, id DESC LIMIT 1) AS scan_id, \
               (SELECT COUNT(*) FROM finding_exemptions WHERE workspace_id = $1 AND expires_at > $2) AS in_force",
        )
        .bind(scope.workspace_id())
        .bind(ts(Utc::now()))
        .fetch_one(&mut *tx)
        .await?;
        Ok(format!(
            "{}|{}|{}|{}",
            row.try_get::<Option<i64>, _>("audit_seq")?
                .unwrap_or_default(),
            row.try_get::<Option<String>, _>("audit_hash")?
                .unwrap_or_default(),
            row.try_get::<Option<String>, _>("scan_id")?
                .unwrap_or_default(),
            row.try_get::<i64, _>("in_force")?,
        ))
    }

    /// `compute`'s answer for `what` in the workspace, from the memo when the workspace's data
    /// version is the one it was computed at.
    pub(crate) async fn memoized<T, F, Fut>(
        &self,
        scope: &WorkspaceScope,
        what: String,
        compute: F,
    ) -> Result<T>
    where
        T: Clone + Send + Sync + 'static,
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let version = self.data_version(scope).await?;
        let key = memo_key(scope, &what);
        if let Some(hit) = self.aggregates.get::<T>(&key, &version) {
            return Ok(hit);
        }
        let value = compute().await?;
        self.aggregates.put(key, version, value.clone());
        Ok(value)
    }
}

fn memo_key(scope: &WorkspaceScope, what: &str) -> String {
    format!("{}\u{1f}{what}", scope.workspace_id())
}

/// A workspace's data version as read at one moment: what a memo computed after reading it may
/// be stored under (data that changed meanwhile only makes the memo miss later).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataVersion(String);

impl crate::WorkspaceStore {
    /// The workspace's current data version (one indexed query).
    pub async fn data_version(&self) -> Result<DataVersion> {
        Ok(DataVersion(self.backend.data_version(&self.scope).await?))
    }

    /// The value memoized for `what` at `version`, if any (for aggregates the caller computes
    /// itself, such as the assets a CEL query matches).
    pub fn memo_get<T: Clone + 'static>(&self, version: &DataVersion, what: &str) -> Option<T> {
        self.backend
            .aggregates
            .get::<T>(&memo_key(&self.scope, what), &version.0)
    }

    /// Memoizes `value` for `what` at `version` (read before computing it).
    pub fn memo_put<T: Send + Sync + 'static>(&self, version: &DataVersion, what: &str, value: T) {
        self.backend
            .aggregates
            .put(memo_key(&self.scope, what), version.0.clone(), value);
    }
}
