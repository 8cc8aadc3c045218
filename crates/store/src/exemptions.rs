//! Finding exemptions: a failing finding accepted as a risk, with a reason, an expiry and who
//! recorded it. An exemption applies until its expiry; while it applies the finding does not
//! count as failing in posture and framework scores. Exempting and reopening are audited in the
//! workspace chain in the same transaction as the change (`finding.exempt`, `finding.reopen`).
//!
//! Like every other piece of customer data, exemptions are reached only through a
//! [`WorkspaceStore`]: each statement binds the scope's workspace id as `$1`.

use chrono::{DateTime, TimeDelta, Utc};
use rampart_model::{FindingStatus, Severity};
use serde::Serialize;
use sqlx::Row as _;
use sqlx::any::AnyRow;

use crate::audit::{self, AuditEvent};
use crate::db::{get_ts, parse, ts};
use crate::identity::require;
use crate::{Permission, Result, StoreError, WorkspaceStore};

/// Longest exemption: a year, after which the risk must be accepted again.
pub const MAX_EXEMPTION: TimeDelta = TimeDelta::days(366);
/// Longest exemption reason, in characters.
pub const MAX_EXEMPTION_REASON: usize = 1000;

/// An exemption of one finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Exemption {
    pub finding_id: String,
    pub reason: String,
    pub expires_at: DateTime<Utc>,
    /// Id of whoever recorded it (user or API token).
    pub created_by: String,
    /// Their email or token name, as it was then.
    pub created_by_label: String,
    pub created_at: DateTime<Utc>,
}

impl Exemption {
    /// Whether the exemption still applies at `now`.
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.expires_at > now
    }
}

/// Number of findings with a control, severity and status that an active exemption covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExemptedCount {
    pub control_id: String,
    pub severity: Severity,
    pub status: FindingStatus,
    pub count: u64,
}

const COLUMNS: &str = "finding_id, reason, expires_at, created_by, created_by_label, created_at";

pub(crate) mod sql {
    pub const FINDING_EXISTS: &str =
        "SELECT COUNT(*) AS n FROM findings WHERE workspace_id = $1 AND id = $2";
    pub const UPSERT: &str = "INSERT INTO finding_exemptions (workspace_id, finding_id, reason, expires_at, created_by, created_by_label, created_at) \
        VALUES ($1, $2, $3, $4, $5, $6, $7) \
        ON CONFLICT (workspace_id, finding_id) DO UPDATE SET reason = excluded.reason, expires_at = excluded.expires_at, \
        created_by = excluded.created_by, created_by_label = excluded.created_by_label, created_at = excluded.created_at \
        WHERE finding_exemptions.workspace_id = $1";
    pub const DELETE: &str =
        "DELETE FROM finding_exemptions WHERE workspace_id = $1 AND finding_id = $2";
    pub const EXEMPTED_COUNTS: &str = "SELECT f.control_id, f.severity, f.status, COUNT(*) AS n \
        FROM finding_exemptions e JOIN findings f ON f.workspace_id = e.workspace_id AND f.id = e.finding_id \
        WHERE e.workspace_id = $1 AND e.expires_at > $2 \
        GROUP BY f.control_id, f.severity, f.status";
}

fn from_row(r: &AnyRow) -> Result<Exemption> {
    Ok(Exemption {
        finding_id: r.try_get("finding_id")?,
        reason: r.try_get("reason")?,
        expires_at: get_ts(r, "expires_at")?,
        created_by: r.try_get("created_by")?,
        created_by_label: r.try_get("created_by_label")?,
        created_at: get_ts(r, "created_at")?,
    })
}

fn invalid(field: &'static str, message: &str) -> StoreError {
    StoreError::Invalid {
        field,
        message: message.to_owned(),
    }
}

/// Checks a reason and an expiry (1 to [`MAX_EXEMPTION_REASON`] characters; in the future and at
/// most [`MAX_EXEMPTION`] away); answers the trimmed reason.
pub fn validate_exemption(
    reason: &str,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<&str> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_EXEMPTION_REASON {
        return Err(invalid("reason", "must be 1 to 1000 characters"));
    }
    if expires_at <= now || expires_at > now + MAX_EXEMPTION {
        return Err(invalid(
            "expires_at",
            "must be in the future and at most 366 days away",
        ));
    }
    Ok(reason)
}

/// Findings one bulk exemption may cover.
pub const MAX_BULK_EXEMPTIONS: usize = 500;

impl WorkspaceStore {
    /// Exempts a finding of this workspace (replacing an earlier exemption), audited as
    /// `finding.exempt`. Needs [`Permission::ManageFindings`]; `NotFound` for a finding that is
    /// not in this workspace.
    pub async fn exempt_finding(
        &self,
        finding_id: &str,
        reason: &str,
        expires_at: DateTime<Utc>,
        event: AuditEvent,
    ) -> Result<Exemption> {
        let mut all = self
            .exempt_findings(&[finding_id.to_owned()], reason, expires_at, event)
            .await?;
        all.pop().ok_or(StoreError::NotFound { what: "finding" })
    }

    /// Exempts several findings with one reason and expiry, all or none (one transaction; an
    /// unknown finding id is `NotFound` and nothing is written), each audited as its own entry.
    /// At most [`MAX_BULK_EXEMPTIONS`] findings; a repeated id counts once.
    pub async fn exempt_findings(
        &self,
        finding_ids: &[String],
        reason: &str,
        expires_at: DateTime<Utc>,
        event: AuditEvent,
    ) -> Result<Vec<Exemption>> {
        require(self.scope(), Permission::ManageFindings)?;
        let now = Utc::now();
        let reason = validate_exemption(reason, expires_at, now)?;
        let mut ids: Vec<&str> = finding_ids.iter().map(String::as_str).collect();
        ids.sort_unstable();
        ids.dedup();
        if ids.is_empty() || ids.len() > MAX_BULK_EXEMPTIONS {
            return Err(StoreError::Invalid {
                field: "finding_ids",
                message: format!("give 1 to {MAX_BULK_EXEMPTIONS} findings"),
            });
        }
        let ws = self.scope().workspace_id();
        let mut tx = self.backend.begin_workspace(ws).await?;
        let mut out = Vec::with_capacity(ids.len());
        for finding_id in ids {
            let n: i64 = sqlx::query(sql::FINDING_EXISTS)
                .bind(ws)
                .bind(finding_id)
                .fetch_one(&mut *tx)
                .await?
                .try_get("n")?;
            if n == 0 {
                return Err(StoreError::NotFound { what: "finding" });
            }
            let exemption = Exemption {
                finding_id: finding_id.to_owned(),
                reason: reason.to_owned(),
                expires_at,
                created_by: event.actor_id.clone(),
                created_by_label: event.actor_label.clone(),
                created_at: now,
            };
            sqlx::query(sql::UPSERT)
                .bind(ws)
                .bind(finding_id)
                .bind(&exemption.reason)
                .bind(ts(expires_at))
                .bind(&exemption.created_by)
                .bind(&exemption.created_by_label)
                .bind(ts(now))
                .execute(&mut *tx)
                .await?;
            let entry = event
                .clone()
                .object("finding", finding_id)
                .detail(serde_json::json!({ "reason": reason, "expires_at": expires_at }));
            audit::append(&mut tx, ws, &entry, now).await?;
            out.push(exemption);
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Removes a finding's exemption (the finding is open again), audited as `finding.reopen`.
    /// `NotFound` when the finding has no exemption in this workspace.
    pub async fn reopen_finding(&self, finding_id: &str, event: AuditEvent) -> Result<()> {
        require(self.scope(), Permission::ManageFindings)?;
        let now = Utc::now();
        let ws = self.scope().workspace_id();
        let mut tx = self.backend.begin_workspace(ws).await?;
        let n = sqlx::query(sql::DELETE)
            .bind(ws)
            .bind(finding_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound { what: "exemption" });
        }
        audit::append(&mut tx, ws, &event.object("finding", finding_id), now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The exemptions (active or expired) of the given findings of this workspace.
    pub async fn exemptions_of(&self, finding_ids: &[String]) -> Result<Vec<Exemption>> {
        if finding_ids.is_empty() {
            return Ok(Vec::new());
        }
        let ws = self.scope().workspace_id();
        let mut out = Vec::new();
        let mut tx = self.backend.begin_workspace(ws).await?;
        for chunk in finding_ids.chunks(crate::MAX_PAGE_SIZE as usize) {
            let placeholders: Vec<String> =
                (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
            let query = format!(
                "SELECT {COLUMNS} FROM finding_exemptions WHERE workspace_id = $1 AND finding_id IN ({})",
                placeholders.join(", ")
            );
            let mut q = sqlx::query(&query).bind(ws);
            for id in chunk {
                q = q.bind(id);
            }
            for r in q.fetch_all(&mut *tx).await? {
                out.push(from_row(&r)?);
            }
        }
        Ok(out)
    }

    /// One finding's exemption (active or expired), if any.
    pub async fn exemption(&self, finding_id: &str) -> Result<Option<Exemption>> {
        Ok(self
            .exemptions_of(&[finding_id.to_owned()])
            .await?
            .into_iter()
            .next())
    }

    /// How many findings per (control, severity, status) active exemptions cover at `now`, to
    /// take them out of scores.
    pub async fn exempted_counts(&self, now: DateTime<Utc>) -> Result<Vec<ExemptedCount>> {
        let ws = self.scope().workspace_id();
        let mut tx = self.backend.begin_workspace(ws).await?;
        let rows = sqlx::query(sql::EXEMPTED_COUNTS)
            .bind(ws)
            .bind(ts(now))
            .fetch_all(&mut *tx)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(ExemptedCount {
                    control_id: r.try_get("control_id")?,
                    severity: parse("severity", &r.try_get::<String, _>("severity")?)?,
                    status: parse("status", &r.try_get::<String, _>("status")?)?,
                    count: u64::try_from(r.try_get::<i64, _>("n")?).unwrap_or(0),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_are_scoped() {
        for q in [
            sql::FINDING_EXISTS,
            sql::UPSERT,
            sql::DELETE,
            sql::EXEMPTED_COUNTS,
        ] {
            assert!(q.contains("workspace_id = $1"), "{q}");
        }
    }

    #[test]
    fn reasons_and_expiries_are_bounded() {
        let now = Utc::now();
        assert!(validate_exemption(" ok ", now + TimeDelta::days(1), now).is_ok());
        assert!(validate_exemption("  ", now + TimeDelta::days(1), now).is_err());
        assert!(validate_exemption("ok", now, now).is_err());
        assert!(validate_exemption("ok", now + TimeDelta::days(400), now).is_err());
        let long = "x".repeat(MAX_EXEMPTION_REASON + 1);
        assert!(validate_exemption(&long, now + TimeDelta::days(1), now).is_err());
    }
}
