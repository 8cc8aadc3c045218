//! Custom controls: a workspace's own checks, saved from an inventory query. An asset of one of
//! the control's resource types fails it when the CEL query selects the asset, and passes
//! otherwise; the framework mapping (framework id → requirement ids) puts the control into those
//! requirements so that framework scores count it.
//!
//! Reading needs `read_data`; creating and deleting need `manage_controls` and are audited in
//! the same transaction (`control.create`, `control.delete`). The store bounds every field and
//! how many controls a workspace keeps; whether the query compiles and whether the types and
//! requirements exist is checked by the caller against the catalog (the server compiles the
//! query and builds the workspace's catalog first).

use std::collections::BTreeMap;

use chrono::{DateTime, SubsecRound as _, Utc};
use rampart_model::{ResourceType, Severity};
use serde::{Deserialize, Serialize};
use sqlx::Row as _;
use sqlx::any::AnyRow;

use crate::audit::{self, AuditEvent};
use crate::db::{get_ts, map_unique, ts};
use crate::identity::invalid;
use crate::{Permission, Result, Store, StoreError, WorkspaceScope, require};

/// Custom controls one workspace may keep.
pub const MAX_CUSTOM_CONTROLS: i64 = 100;
/// Longest title, in characters.
pub const MAX_CONTROL_TITLE: usize = 200;
/// Resource types one custom control may cover.
pub const MAX_CONTROL_TYPES: usize = 20;
/// Framework requirements one custom control may map to.
pub const MAX_CONTROL_REQUIREMENTS: usize = 50;
/// Longest rationale or remediation, in characters.
pub const MAX_CONTROL_TEXT: usize = 2000;
/// Every custom control id starts with this, followed by the slug of its title.
pub const CUSTOM_CONTROL_PREFIX: &str = "custom-";
/// Longest id (prefix included).
const MAX_ID_CHARS: usize = 80;
/// Longest framework or requirement id.
const MAX_REF_CHARS: usize = 100;

/// A custom control as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CustomControl {
    /// `custom-` followed by the slug of the title; unique in the workspace.
    pub id: String,
    pub title: String,
    /// info, low, medium, high or critical.
    #[schema(value_type = String)]
    pub severity: Severity,
    /// Dotted resource types the control applies to (at least one).
    pub resource_types: Vec<String>,
    /// CEL over one asset (`resource.…`): an asset it selects fails the control.
    pub query: String,
    /// Framework id → requirement ids the control evidences.
    pub frameworks: BTreeMap<String, Vec<String>>,
    pub rationale: Option<String>,
    pub remediation: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A custom control to create. The CEL `query`, the types and the requirements are checked by
/// the caller against the catalog before it gets here.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
pub struct CustomControlInput {
    /// 1 to 200 characters with at least one letter or digit; the id is made from it.
    pub title: String,
    /// info, low, medium, high or critical.
    #[schema(value_type = String)]
    pub severity: Severity,
    /// Dotted resource types (1 to 20), e.g. `aws.s3.bucket`.
    pub resource_types: Vec<String>,
    /// CEL over one asset, as in the inventory's query box: the assets it selects fail.
    pub query: String,
    /// Framework id → requirement ids (at most 50 in all), e.g. `{"cis-aws-3.0": ["2.1.4"]}`.
    #[serde(default)]
    pub frameworks: BTreeMap<String, Vec<String>>,
    /// Why it matters (Markdown, at most 2000 characters).
    #[serde(default)]
    pub rationale: Option<String>,
    /// How to fix it (Markdown, at most 2000 characters).
    #[serde(default)]
    pub remediation: Option<String>,
}

/// The id of a custom control titled `title`: `custom-` and the title in lower case, every run
/// of other characters than ASCII letters and digits made one dash (`Invalid` when nothing is
/// left).
pub fn custom_control_id(title: &str) -> Result<String> {
    let mut slug = String::new();
    for c in title.trim().chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    slug.truncate(MAX_ID_CHARS - CUSTOM_CONTROL_PREFIX.len());
    let slug = slug.trim_end_matches('-');
    if slug.is_empty() {
        return Err(invalid(
            "title",
            "needs at least one letter or digit (a-z, 0-9) to make the control's id",
        ));
    }
    Ok(format!("{CUSTOM_CONTROL_PREFIX}{slug}"))
}

/// Trimmed optional text: `None` when empty, `Invalid` when longer than the bound.
fn optional_text(field: &'static str, text: Option<&str>) -> Result<Option<String>> {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if text.chars().count() > MAX_CONTROL_TEXT {
        return Err(invalid(
            field,
            format!("give at most {MAX_CONTROL_TEXT} characters"),
        ));
    }
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(invalid(field, "must not contain control characters"));
    }
    Ok(Some(text.to_owned()))
}

/// A framework or requirement id: 1 to 100 visible characters, no spaces.
fn check_ref(what: &str, id: &str) -> Result<()> {
    if id.is_empty()
        || id.chars().count() > MAX_REF_CHARS
        || id.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(invalid(
            "frameworks",
            format!("{what} {id:?} must be 1 to {MAX_REF_CHARS} characters without spaces"),
        ));
    }
    Ok(())
}

/// Checks and normalises an input: trimmed texts, types parsed, duplicates dropped, bounds.
fn normalise(input: &CustomControlInput) -> Result<CustomControlInput> {
    let title = input.title.trim();
    if title.is_empty() || title.chars().count() > MAX_CONTROL_TITLE {
        return Err(invalid(
            "title",
            format!("give 1 to {MAX_CONTROL_TITLE} characters"),
        ));
    }
    if title.chars().any(char::is_control) {
        return Err(invalid("title", "must not contain control characters"));
    }
    let query = input.query.trim();
    if query.is_empty() || query.chars().count() > crate::MAX_QUERY_CHARS {
        return Err(invalid(
            "query",
            format!("give 1 to {} characters", crate::MAX_QUERY_CHARS),
        ));
    }
    if query.contains('\0') {
        return Err(invalid("query", "must not contain NUL characters"));
    }
    let mut types: Vec<String> = Vec::new();
    for t in &input.resource_types {
        let t = t.trim();
        ResourceType::parse(t).map_err(|e| invalid("resource_types", e.to_string()))?;
        if !types.iter().any(|x| x == t) {
            types.push(t.to_owned());
        }
    }
    if types.is_empty() || types.len() > MAX_CONTROL_TYPES {
        return Err(invalid(
            "resource_types",
            format!("give 1 to {MAX_CONTROL_TYPES} resource types"),
        ));
    }
    let mut frameworks: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut refs = 0usize;
    for (fw, reqs) in &input.frameworks {
        let fw = fw.trim();
        check_ref("framework", fw)?;
        let list = frameworks.entry(fw.to_owned()).or_default();
        for r in reqs {
            let r = r.trim();
            check_ref("requirement", r)?;
            if !list.iter().any(|x| x == r) {
                list.push(r.to_owned());
                refs += 1;
            }
        }
        if list.is_empty() {
            return Err(invalid(
                "frameworks",
                format!("framework {fw:?} lists no requirement"),
            ));
        }
    }
    if refs > MAX_CONTROL_REQUIREMENTS {
        return Err(invalid(
            "frameworks",
            format!("map to at most {MAX_CONTROL_REQUIREMENTS} requirements"),
        ));
    }
    Ok(CustomControlInput {
        title: title.to_owned(),
        severity: input.severity,
        resource_types: types,
        query: query.to_owned(),
        frameworks,
        rationale: optional_text("rationale", input.rationale.as_deref())?,
        remediation: optional_text("remediation", input.remediation.as_deref())?,
    })
}

fn json_col<T: serde::de::DeserializeOwned>(r: &AnyRow, col: &str) -> Result<T> {
    let s: String = r.try_get(col)?;
    serde_json::from_str(&s).map_err(|e| StoreError::Corrupt(format!("{col}: {e}")))
}

fn from_row(r: &AnyRow) -> Result<CustomControl> {
    let severity: String = r.try_get("severity")?;
    Ok(CustomControl {
        id: r.try_get("id")?,
        title: r.try_get("title")?,
        severity: severity
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("severity {severity:?}")))?,
        resource_types: json_col(r, "resource_types")?,
        query: r.try_get("query")?,
        frameworks: json_col(r, "frameworks")?,
        rationale: r.try_get("rationale")?,
        remediation: r.try_get("remediation")?,
        created_by: r.try_get("created_by")?,
        created_at: get_ts(r, "created_at")?,
        updated_at: get_ts(r, "updated_at")?,
    })
}

// Every statement is confined to the workspace bound as `$1` (checked by a test below, as
// `db.rs` checks the others).
const LIST: &str = "SELECT id, title, severity, resource_types, query, frameworks, rationale, remediation, created_by, created_at, updated_at \
     FROM custom_controls WHERE workspace_id = $1 ORDER BY id LIMIT 100";
const GET: &str = "SELECT id, title, severity, resource_types, query, frameworks, rationale, remediation, created_by, created_at, updated_at \
     FROM custom_controls WHERE workspace_id = $1 AND id = $2";
const COUNT: &str = "SELECT COUNT(*) AS n FROM custom_controls WHERE workspace_id = $1";
const INSERT: &str = "INSERT INTO custom_controls (workspace_id, id, title, severity, resource_types, query, frameworks, rationale, remediation, created_by, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)";
const DELETE: &str = "DELETE FROM custom_controls WHERE workspace_id = $1 AND id = $2";
const DELETE_FINDINGS: &str = "DELETE FROM findings WHERE workspace_id = $1 AND control_id = $2";

impl Store {
    /// The workspace's custom controls, by id.
    pub async fn custom_controls(&self, scope: &WorkspaceScope) -> Result<Vec<CustomControl>> {
        require(scope, Permission::ReadData)?;
        self.rows_in(scope, LIST, from_row).await
    }

    /// One custom control; `None` when it is not in this workspace.
    pub async fn custom_control(
        &self,
        scope: &WorkspaceScope,
        id: &str,
    ) -> Result<Option<CustomControl>> {
        require(scope, Permission::ReadData)?;
        self.row_in(scope, GET, id, from_row).await
    }

    /// Creates a custom control under the id made from its title
    /// ([`custom_control_id`]; `Conflict` when the workspace has one with that id).
    pub async fn create_custom_control(
        &self,
        scope: &WorkspaceScope,
        input: &CustomControlInput,
        event: AuditEvent,
    ) -> Result<CustomControl> {
        require(scope, Permission::ManageControls)?;
        let input = normalise(input)?;
        let id = custom_control_id(&input.title)?;
        // Stored to the microsecond: answer what a later read gives.
        let now = Utc::now().trunc_subsecs(6);
        let control = CustomControl {
            id,
            title: input.title,
            severity: input.severity,
            resource_types: input.resource_types,
            query: input.query,
            frameworks: input.frameworks,
            rationale: input.rationale,
            remediation: input.remediation,
            created_by: event.actor_label.clone(),
            created_at: now,
            updated_at: now,
        };
        let ws = scope.workspace_id();
        let mut tx = self.db().begin_workspace(ws).await?;
        let n: i64 = sqlx::query(COUNT)
            .bind(ws)
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        if n >= MAX_CUSTOM_CONTROLS {
            return Err(invalid(
                "custom controls",
                format!("a workspace keeps at most {MAX_CUSTOM_CONTROLS}; delete one first"),
            ));
        }
        sqlx::query(INSERT)
            .bind(ws)
            .bind(&control.id)
            .bind(&control.title)
            .bind(control.severity.as_str())
            .bind(serde_json::json!(control.resource_types).to_string())
            .bind(&control.query)
            .bind(serde_json::json!(control.frameworks).to_string())
            .bind(control.rationale.as_deref())
            .bind(control.remediation.as_deref())
            .bind(&control.created_by)
            .bind(ts(now))
            .execute(&mut *tx)
            .await
            .map_err(|e| map_unique(e, "a custom control with this title"))?;
        let event = event
            .object("custom_control", &control.id)
            .detail(serde_json::json!({
                "title": control.title,
                "severity": control.severity.as_str(),
                "resource_types": control.resource_types,
                "query": control.query,
                "frameworks": control.frameworks,
            }));
        audit::append(&mut tx, ws, &event, now).await?;
        tx.commit().await?;
        Ok(control)
    }

    /// Deletes a custom control and its findings (their exemptions go with them), in one
    /// transaction (`NotFound` when it is not in this workspace). Answers how many findings
    /// went.
    pub async fn delete_custom_control(
        &self,
        scope: &WorkspaceScope,
        id: &str,
        event: AuditEvent,
    ) -> Result<u64> {
        require(scope, Permission::ManageControls)?;
        let ws = scope.workspace_id();
        let now = Utc::now();
        let mut tx = self.db().begin_workspace(ws).await?;
        let n = sqlx::query(DELETE)
            .bind(ws)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound {
                what: "custom control",
            });
        }
        let findings = sqlx::query(DELETE_FINDINGS)
            .bind(ws)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let event = event
            .object("custom_control", id)
            .detail(serde_json::json!({ "findings_deleted": findings }));
        audit::append(&mut tx, ws, &event, now).await?;
        tx.commit().await?;
        Ok(findings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The crate's invariant on these statements: reads and deletes filter on
    /// `workspace_id = $1`, the insert writes `$1` into `workspace_id`.
    #[test]
    fn statements_are_scoped_to_the_workspace() {
        assert!(LIST.ends_with(&format!("LIMIT {MAX_CUSTOM_CONTROLS}")));
        for q in [LIST, GET, COUNT, DELETE, DELETE_FINDINGS] {
            assert!(q.contains("WHERE workspace_id = $1"), "{q}");
        }
        let insert = INSERT.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            insert.contains("custom_controls (workspace_id, ") && insert.contains("VALUES ($1, "),
            "{insert}"
        );
    }

    #[test]
    fn ids_are_slugs_of_titles() {
        let id = |t: &str| custom_control_id(t).ok();
        assert_eq!(
            id("Prod buckets need versioning!").as_deref(),
            Some("custom-prod-buckets-need-versioning")
        );
        assert_eq!(
            id("  S3 / KMS -- keys  ").as_deref(),
            Some("custom-s3-kms-keys")
        );
        assert_eq!(id("Ünïcödé 2").as_deref(), Some("custom-n-c-d-2"));
        assert!(id("!!!").is_none());
        assert!(id("").is_none());
        let long = id(&"a".repeat(500)).unwrap_or_default();
        assert_eq!(long.len(), MAX_ID_CHARS);
    }

    fn input() -> CustomControlInput {
        CustomControlInput {
            title: " Prod ".into(),
            severity: Severity::High,
            resource_types: vec!["aws.s3.bucket".into(), "aws.s3.bucket".into()],
            query: " true ".into(),
            frameworks: BTreeMap::from([("soc2".into(), vec!["CC6.1".into(), "CC6.1".into()])]),
            rationale: Some("  ".into()),
            remediation: None,
        }
    }

    #[test]
    fn inputs_are_normalised_and_bounded() {
        let n = normalise(&input()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(n.title, "Prod");
        assert_eq!(n.query, "true");
        assert_eq!(n.resource_types, ["aws.s3.bucket"]);
        assert_eq!(n.frameworks["soc2"], ["CC6.1"]);
        assert_eq!(n.rationale, None);
        let bad = |f: fn(&mut CustomControlInput)| {
            let mut i = input();
            f(&mut i);
            match normalise(&i) {
                Err(StoreError::Invalid { field, .. }) => field,
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(bad(|i| i.title = " ".into()), "title");
        assert_eq!(bad(|i| i.query = String::new()), "query");
        assert_eq!(bad(|i| i.resource_types.clear()), "resource_types");
        assert_eq!(
            bad(|i| i.resource_types = vec!["S3 bucket".into()]),
            "resource_types"
        );
        assert_eq!(
            bad(|i| i.frameworks = BTreeMap::from([("soc2".into(), vec![])])),
            "frameworks"
        );
        assert_eq!(
            bad(|i| i.frameworks = BTreeMap::from([("soc2".into(), vec!["CC 6".into()])])),
            "frameworks"
        );
        assert_eq!(
            bad(|i| i.rationale = Some("x".repeat(MAX_CONTROL_TEXT + 1))),
            "rationale"
        );
        assert_eq!(bad(|i| i.title = "a\u{0}b".into()), "title");
        assert_eq!(
            bad(|i| i.remediation = Some("a\u{0}b".into())),
            "remediation"
        );
        assert_eq!(bad(|i| i.query = "true\u{0}".into()), "query");
    }
}
