//! Notifications: channels (where messages go) and rules (which finding changes are sent) per
//! workspace, the delivery log, the Jira issue of each finding group, and the weekly digest
//! slots. Delivery itself is `rampart-notify`'s: this module stores and hands out.
//!
//! - A channel's secret (webhook HMAC secret, Slack or Teams incoming-webhook URL, Jira API
//!   token) is sealed by the vault under associated data naming its workspace and channel and is
//!   opened only for a job's scope (the sender); it is never returned by a listing.
//! - `record_scan` queues one `notify` job with the scan, in the same transaction, when the
//!   workspace has an enabled rule and the scan changed a finding (new, regressed, resolved):
//!   the job matches the rules (severity, frameworks, CEL scope) and delivers.
//! - Deliveries are logged per (job, rule, channel, purpose): a retried job skips what was
//!   already delivered.

use std::str::FromStr;

use chrono::{DateTime, Datelike, TimeDelta, Timelike, Utc};
use rampart_model::Severity;
use serde::{Deserialize, Serialize};
use sqlx::Row as _;
use sqlx::any::AnyRow;

use crate::audit::{self, AuditEvent};
use crate::db::{Tx, get_opt_ts, get_ts, map_unique, ts};
use crate::identity::{invalid, new_id, require};
use crate::jobs::{DEFAULT_MAX_ATTEMPTS, Job};
use crate::{Access, Page, Paged, Permission, Result, Store, StoreError, Vault, WorkspaceScope};

/// Most channels a rule may name.
const MAX_RULE_CHANNELS: usize = 20;
/// Most e-mail recipients of one channel.
const MAX_RECIPIENTS: usize = 50;

/// The kind of a notification channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    /// A JSON POST signed with HMAC-SHA256 (`X-Rampart-Signature`).
    Webhook,
    /// A Slack incoming webhook.
    Slack,
    /// A Microsoft Teams incoming webhook.
    Teams,
    /// E-mail over the installation's SMTP server.
    Email,
    /// Jira Cloud: an issue per finding group.
    Jira,
}

impl ChannelKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Webhook => "webhook",
            ChannelKind::Slack => "slack",
            ChannelKind::Teams => "teams",
            ChannelKind::Email => "email",
            ChannelKind::Jira => "jira",
        }
    }

    /// Setting names a channel of this kind accepts (anything else is refused, so that a
    /// secret cannot end up in the readable settings by mistake).
    fn setting_names(self) -> &'static [&'static str] {
        match self {
            ChannelKind::Webhook => &["url"],
            ChannelKind::Slack | ChannelKind::Teams => &[],
            ChannelKind::Email => &["recipients"],
            ChannelKind::Jira => &[
                "site_url",
                "project_key",
                "email",
                "issue_type",
                "resolve_transition",
            ],
        }
    }
}

impl FromStr for ChannelKind {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<ChannelKind> {
        match s {
            "webhook" => Ok(ChannelKind::Webhook),
            "slack" => Ok(ChannelKind::Slack),
            "teams" => Ok(ChannelKind::Teams),
            "email" => Ok(ChannelKind::Email),
            "jira" => Ok(ChannelKind::Jira),
            _ => Err(invalid(
                "kind",
                format!("{s:?} is not webhook, slack, teams, email or jira"),
            )),
        }
    }
}

/// A channel as the API shows it: never its secret.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Channel {
    pub id: String,
    pub name: String,
    pub kind: ChannelKind,
    /// Non-secret settings (webhook URL, recipients, Jira site, project and user).
    #[schema(value_type = Object)]
    pub settings: serde_json::Value,
    /// Whether a secret is stored (it is never shown).
    pub has_secret: bool,
    pub enabled: bool,
    /// E-mail channels: whether the weekly digest goes here.
    pub digest: bool,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A channel to create, or the new state of one (the kind cannot change; a `None` secret keeps
/// the stored one).
#[derive(Clone, Deserialize, utoipa::ToSchema)]
pub struct ChannelInput {
    pub name: String,
    pub kind: ChannelKind,
    /// webhook: `url`; email: `recipients`; jira: `site_url`, `project_key`, `email`,
    /// optional `issue_type` (default Task) and `resolve_transition` (default Done).
    #[serde(default = "empty_object")]
    #[schema(value_type = Object)]
    pub settings: serde_json::Value,
    /// webhook: the HMAC secret (16+ characters); slack, teams: the incoming-webhook URL;
    /// jira: the API token. Write-only.
    #[serde(default)]
    pub secret: Option<String>,
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub digest: bool,
}

impl std::fmt::Debug for ChannelInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChannelInput")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("settings", &self.settings)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

fn empty_object() -> serde_json::Value {
    serde_json::json!({})
}

fn yes() -> bool {
    true
}

/// A rule: which finding changes go to which channels.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Rule {
    pub id: String,
    pub name: String,
    #[schema(value_type = String)]
    pub min_severity: Severity,
    /// Framework ids; empty = findings of any control.
    pub frameworks: Vec<String>,
    /// CEL filter over the asset (`resource.…`); absent = every asset.
    pub scope: Option<String>,
    pub on_new: bool,
    pub on_regressed: bool,
    pub channels: Vec<String>,
    pub enabled: bool,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A rule to create or the new state of one. The CEL `scope` is compiled by the caller
/// (`rampart_rules::Filter::compile`) before it gets here.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct RuleInput {
    pub name: String,
    #[schema(value_type = String)]
    pub min_severity: Severity,
    #[serde(default)]
    pub frameworks: Vec<String>,
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default = "yes")]
    pub on_new: bool,
    #[serde(default = "yes")]
    pub on_regressed: bool,
    pub channels: Vec<String>,
    #[serde(default = "yes")]
    pub enabled: bool,
}

/// Why a message was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// New or regressed findings matching a rule.
    Findings,
    /// A Jira finding group no longer failing (comment and transition).
    Resolved,
    /// A test message asked for through the API.
    Test,
    /// The weekly digest.
    Digest,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Findings => "findings",
            Purpose::Resolved => "resolved",
            Purpose::Test => "test",
            Purpose::Digest => "digest",
        }
    }
}

impl FromStr for Purpose {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Purpose> {
        match s {
            "findings" => Ok(Purpose::Findings),
            "resolved" => Ok(Purpose::Resolved),
            "test" => Ok(Purpose::Test),
            "digest" => Ok(Purpose::Digest),
            _ => Err(StoreError::Corrupt(format!("delivery purpose {s:?}"))),
        }
    }
}

/// One line of the delivery log: a message of a job to a channel, with its attempts.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Delivery {
    pub id: String,
    pub job_id: String,
    pub rule_id: Option<String>,
    pub channel_id: String,
    pub purpose: Purpose,
    /// `delivered` or `failed` (the last attempt's outcome).
    pub state: String,
    pub attempts: u32,
    /// Findings the message carried.
    pub findings: u32,
    /// HTTP status of the last attempt, when there was one.
    pub status_code: Option<u16>,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// One attempt to record.
#[derive(Debug, Clone)]
pub struct DeliveryAttempt<'a> {
    pub job_id: &'a str,
    pub rule_id: Option<&'a str>,
    pub channel_id: &'a str,
    pub purpose: Purpose,
    pub findings: u32,
    pub status_code: Option<u16>,
    /// `None` when delivered.
    pub error: Option<&'a str>,
}

/// What happened to a finding in a scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    New,
    Regressed,
    Resolved,
}

fn parse_change(text: &str) -> Result<Change> {
    match text {
        "new" => Ok(Change::New),
        "regressed" => Ok(Change::Regressed),
        "resolved" => Ok(Change::Resolved),
        other => Err(StoreError::Corrupt(format!("finding change {other:?}"))),
    }
}

impl Change {
    pub fn as_str(self) -> &'static str {
        match self {
            Change::New => "new",
            Change::Regressed => "regressed",
            Change::Resolved => "resolved",
        }
    }
}

/// A finding that changed in a scan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FindingChange {
    pub finding_id: String,
    pub control_id: String,
    pub asset_id: String,
    pub asset_name: String,
    pub asset_type: String,
    pub severity: Severity,
    pub change: Change,
    pub reason: String,
}

/// A Jira issue opened for a finding group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JiraIssue {
    pub issue_key: String,
    pub resolved: bool,
}

/// Counts for the weekly digest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DigestCounts {
    pub scans: u64,
    pub new: u64,
    pub regressed: u64,
    pub resolved: u64,
}

fn channel_aad(workspace_id: &str, channel_id: &str) -> Vec<u8> {
    format!("notification-channel/{workspace_id}/{channel_id}").into_bytes()
}

fn json_col<T: serde::de::DeserializeOwned>(r: &AnyRow, col: &str) -> Result<T> {
    let s: String = r.try_get(col)?;
    serde_json::from_str(&s).map_err(|e| StoreError::Corrupt(format!("{col}: {e}")))
}

fn flag(r: &AnyRow, col: &str) -> Result<bool> {
    Ok(r.try_get::<i32, _>(col)? != 0)
}

fn channel_from_row(r: &AnyRow) -> Result<Channel> {
    Ok(Channel {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        kind: r.try_get::<String, _>("kind")?.parse()?,
        settings: json_col(r, "settings")?,
        has_secret: r.try_get::<Option<String>, _>("secret")?.is_some(),
        enabled: flag(r, "enabled")?,
        digest: flag(r, "digest")?,
        created_by: r.try_get("created_by")?,
        created_at: get_ts(r, "created_at")?,
        updated_at: get_ts(r, "updated_at")?,
    })
}

fn severity(s: &str) -> Result<Severity> {
    s.parse()
        .map_err(|_| StoreError::Corrupt(format!("severity {s:?}")))
}

fn rule_from_row(r: &AnyRow) -> Result<Rule> {
    Ok(Rule {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        min_severity: severity(&r.try_get::<String, _>("min_severity")?)?,
        frameworks: json_col(r, "frameworks")?,
        scope: r.try_get("scope")?,
        on_new: flag(r, "on_new")?,
        on_regressed: flag(r, "on_regressed")?,
        channels: json_col(r, "channels")?,
        enabled: flag(r, "enabled")?,
        created_by: r.try_get("created_by")?,
        created_at: get_ts(r, "created_at")?,
        updated_at: get_ts(r, "updated_at")?,
    })
}

fn delivery_from_row(r: &AnyRow) -> Result<Delivery> {
    let rule: String = r.try_get("rule_id")?;
    Ok(Delivery {
        id: r.try_get("id")?,
        job_id: r.try_get("job_id")?,
        rule_id: (!rule.is_empty()).then_some(rule),
        channel_id: r.try_get("channel_id")?,
        purpose: r.try_get::<String, _>("purpose")?.parse()?,
        state: r.try_get("state")?,
        attempts: r.try_get::<i32, _>("attempts")?.max(0) as u32,
        findings: r.try_get::<i32, _>("findings")?.max(0) as u32,
        status_code: r
            .try_get::<Option<i32>, _>("status_code")?
            .and_then(|c| u16::try_from(c).ok()),
        error: r.try_get("error")?,
        created_at: get_ts(r, "created_at")?,
        updated_at: get_ts(r, "updated_at")?,
        delivered_at: get_opt_ts(r, "delivered_at")?,
    })
}

/// A URL the sender may call: http or https, no spaces, at most 2000 characters. (Whether
/// plain http is allowed is the sender's installation setting.)
fn check_url(field: &'static str, url: &str) -> Result<()> {
    let lower = url.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() && !host.starts_with('/') => {}
        _ => return Err(invalid(field, "must be an https:// URL")),
    }
    if url.len() > 2000 || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid(
            field,
            "must be a URL without spaces, at most 2000 characters",
        ));
    }
    Ok(())
}

fn setting_str<'a>(settings: &'a serde_json::Value, key: &str) -> Option<&'a str> {
    settings
        .get(key)
        .and_then(serde_json::Value::as_str)
        .filter(|s| !s.trim().is_empty())
}

/// Checks a channel's settings and secret for its kind. `creating`: a secret is required
/// where the kind has one.
fn check_channel(input: &ChannelInput, creating: bool) -> Result<()> {
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(invalid("name", "must be 1 to 100 characters"));
    }
    let Some(settings) = input.settings.as_object() else {
        return Err(invalid("settings", "must be a JSON object"));
    };
    let allowed = input.kind.setting_names();
    if let Some(unknown) = settings.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(invalid(
            "settings",
            format!(
                "{unknown:?} is not a setting of a {} channel (allowed: {})",
                input.kind.as_str(),
                if allowed.is_empty() {
                    "none".to_owned()
                } else {
                    allowed.join(", ")
                }
            ),
        ));
    }
    let needs_secret = !matches!(input.kind, ChannelKind::Email);
    match (&input.secret, needs_secret) {
        (None, true) if creating => {
            return Err(invalid("secret", "is required for this kind of channel"));
        }
        (Some(_), false) => return Err(invalid("secret", "email channels have no secret")),
        _ => {}
    }
    let secret = input.secret.as_deref().map(str::trim);
    match input.kind {
        ChannelKind::Webhook => {
            check_url(
                "settings.url",
                setting_str(&input.settings, "url").unwrap_or(""),
            )?;
            if let Some(s) = secret
                && !(16..=512).contains(&s.len())
            {
                return Err(invalid("secret", "must be 16 to 512 characters"));
            }
        }
        ChannelKind::Slack | ChannelKind::Teams => {
            if let Some(s) = secret {
                check_url("secret", s)?;
            }
        }
        ChannelKind::Email => {
            let recipients = settings
                .get("recipients")
                .and_then(serde_json::Value::as_array)
                .ok_or_else(|| invalid("settings.recipients", "must be a list of addresses"))?;
            if recipients.is_empty() || recipients.len() > MAX_RECIPIENTS {
                return Err(invalid(
                    "settings.recipients",
                    format!("must hold 1 to {MAX_RECIPIENTS} addresses"),
                ));
            }
            for r in recipients {
                let ok = r.as_str().is_some_and(|a| {
                    let mut parts = a.split('@');
                    matches!((parts.next(), parts.next(), parts.next()), (Some(l), Some(d), None) if !l.is_empty() && d.contains('.') && !d.starts_with('.'))
                        && a.len() <= 254
                        && !a.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';'))
                });
                if !ok {
                    return Err(invalid(
                        "settings.recipients",
                        format!("{r} is not an e-mail address"),
                    ));
                }
            }
        }
        ChannelKind::Jira => {
            check_url(
                "settings.site_url",
                setting_str(&input.settings, "site_url").unwrap_or(""),
            )?;
            let key = setting_str(&input.settings, "project_key").unwrap_or("");
            if key.is_empty()
                || key.len() > 20
                || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                return Err(invalid(
                    "settings.project_key",
                    "must be a Jira project key (letters, digits, _)",
                ));
            }
            if setting_str(&input.settings, "email").is_none() {
                return Err(invalid(
                    "settings.email",
                    "must be the Jira user's e-mail address",
                ));
            }
            for key in ["issue_type", "resolve_transition"] {
                if let Some(v) = input.settings.get(key)
                    && !v.as_str().is_some_and(|s| !s.is_empty() && s.len() <= 100)
                {
                    return Err(invalid(
                        if key == "issue_type" {
                            "settings.issue_type"
                        } else {
                            "settings.resolve_transition"
                        },
                        "must be a name of 1 to 100 characters",
                    ));
                }
            }
            if let Some(s) = secret
                && (s.is_empty() || s.len() > 1000)
            {
                return Err(invalid("secret", "must be the Jira API token"));
            }
        }
    }
    if input.digest && input.kind != ChannelKind::Email {
        return Err(invalid("digest", "only e-mail channels receive the digest"));
    }
    Ok(())
}

/// Whether the scope belongs to a sender (a job's worker, or the local CLI).
fn require_sender(scope: &WorkspaceScope) -> Result<()> {
    match scope.access() {
        Access::Job { .. } | Access::Local => Ok(()),
        _ => Err(StoreError::Forbidden(
            "only a notification job may use a channel's secret".into(),
        )),
    }
}

/// The Monday 08:00 UTC at or before `now`: the weekly digest slot.
pub fn digest_slot(now: DateTime<Utc>) -> DateTime<Utc> {
    let days_back = i64::from(now.weekday().num_days_from_monday());
    let monday = (now - TimeDelta::days(days_back))
        .with_hour(8)
        .and_then(|t| t.with_minute(0))
        .and_then(|t| t.with_second(0))
        .and_then(|t| t.with_nanosecond(0))
        .unwrap_or(now);
    if monday > now {
        monday - TimeDelta::days(7)
    } else {
        monday
    }
}

/// Queues the notify job of a scan when the workspace has an enabled rule and the scan
/// changed a finding. Runs inside `record_scan`'s transaction.
pub(crate) async fn queue_scan_notification(
    tx: &mut Tx,
    workspace_id: &str,
    scan_id: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    let now = Utc::now().max(at);
    sqlx::query("INSERT INTO jobs (workspace_id, id, kind, params, state, max_attempts, run_after, created_by, created_at) SELECT $1, $2, 'notify', $3, 'queued', $4, $5, 'scan', $5 WHERE EXISTS (SELECT 1 FROM notification_rules WHERE workspace_id = $1 AND enabled <> 0) AND EXISTS (SELECT 1 FROM findings WHERE workspace_id = $1 AND change_scan_id = $6 AND change_kind IS NOT NULL)")
        .bind(workspace_id)
        .bind(new_id("job"))
        .bind(serde_json::json!({ "scan_id": scan_id }).to_string())
        .bind(DEFAULT_MAX_ATTEMPTS as i32)
        .bind(ts(now))
        .bind(scan_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

impl Store {
    // ----- channels --------------------------------------------------------------------------

    /// Creates a channel (audited as `notification.channel.create`); its secret is sealed.
    pub async fn create_channel(
        &self,
        scope: &WorkspaceScope,
        input: &ChannelInput,
        vault: &Vault,
        event: AuditEvent,
    ) -> Result<Channel> {
        require(scope, Permission::ManageSettings)?;
        check_channel(input, true)?;
        let id = new_id("chn");
        let sealed = input
            .secret
            .as_deref()
            .map(|s| vault.seal(s.trim().as_bytes(), &channel_aad(scope.workspace_id(), &id)))
            .transpose()
            .map_err(|e| StoreError::Vault(e.to_string()))?;
        let now = Utc::now();
        let mut tx = self.db().begin_workspace(scope.workspace_id()).await?;
        sqlx::query("INSERT INTO notification_channels (workspace_id, id, name, kind, settings, secret, enabled, digest, created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)")
            .bind(scope.workspace_id())
            .bind(&id)
            .bind(input.name.trim())
            .bind(input.kind.as_str())
            .bind(input.settings.to_string())
            .bind(sealed)
            .bind(i32::from(input.enabled))
            .bind(i32::from(input.digest))
            .bind(&event.actor_id)
            .bind(ts(now))
            .execute(&mut *tx)
            .await
            .map_err(|e| map_unique(e, "channel with this name"))?;
        let event = event
            .object("notification_channel", &id)
            .detail(serde_json::json!({ "name": input.name.trim(), "kind": input.kind.as_str() }));
        audit::append(&mut tx, scope.workspace_id(), &event, now).await?;
        tx.commit().await?;
        self.channel(scope, &id)
            .await?
            .ok_or(StoreError::NotFound { what: "channel" })
    }

    /// Changes a channel (audited as `notification.channel.update`). The kind cannot change;
    /// without a secret the stored one is kept.
    pub async fn update_channel(
        &self,
        scope: &WorkspaceScope,
        id: &str,
        input: &ChannelInput,
        vault: &Vault,
        event: AuditEvent,
    ) -> Result<Channel> {
        require(scope, Permission::ManageSettings)?;
        check_channel(input, false)?;
        let current = self
            .channel(scope, id)
            .await?
            .ok_or(StoreError::NotFound { what: "channel" })?;
        if current.kind != input.kind {
            return Err(invalid("kind", "a channel's kind cannot change"));
        }
        let sealed = input
            .secret
            .as_deref()
            .map(|s| vault.seal(s.trim().as_bytes(), &channel_aad(scope.workspace_id(), id)))
            .transpose()
            .map_err(|e| StoreError::Vault(e.to_string()))?;
        let now = Utc::now();
        let mut tx = self.db().begin_workspace(scope.workspace_id()).await?;
        let n = sqlx::query("UPDATE notification_channels SET name = $3, settings = $4, secret = COALESCE($5, secret), enabled = $6, digest = $7, updated_at = $8 WHERE workspace_id = $1 AND id = $2")
            .bind(scope.workspace_id())
            .bind(id)
            .bind(input.name.trim())
            .bind(input.settings.to_string())
            .bind(sealed.as_deref())
            .bind(i32::from(input.enabled))
            .bind(i32::from(input.digest))
            .bind(ts(now))
            .execute(&mut *tx)
            .await
            .map_err(|e| map_unique(e, "channel with this name"))?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound { what: "channel" });
        }
        let event = event.object("notification_channel", id).detail(
            serde_json::json!({ "name": input.name.trim(), "secret_changed": sealed.is_some() }),
        );
        audit::append(&mut tx, scope.workspace_id(), &event, now).await?;
        tx.commit().await?;
        self.channel(scope, id)
            .await?
            .ok_or(StoreError::NotFound { what: "channel" })
    }

    /// Deletes a channel (audited as `notification.channel.delete`); rules naming it lose it.
    pub async fn delete_channel(
        &self,
        scope: &WorkspaceScope,
        id: &str,
        event: AuditEvent,
    ) -> Result<()> {
        require(scope, Permission::ManageSettings)?;
        let now = Utc::now();
        let mut tx = self.db().begin_workspace(scope.workspace_id()).await?;
        let n =
            sqlx::query("DELETE FROM notification_channels WHERE workspace_id = $1 AND id = $2")
                .bind(scope.workspace_id())
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound { what: "channel" });
        }
        let rules = sqlx::query(
            "SELECT id, channels FROM notification_rules WHERE workspace_id = $1 ORDER BY id",
        )
        .bind(scope.workspace_id())
        .fetch_all(&mut *tx)
        .await?;
        for r in &rules {
            let mut channels: Vec<String> = json_col(r, "channels")?;
            let before = channels.len();
            channels.retain(|c| c != id);
            if channels.len() != before {
                sqlx::query("UPDATE notification_rules SET channels = $3, updated_at = $4 WHERE workspace_id = $1 AND id = $2")
                    .bind(scope.workspace_id())
                    .bind(r.try_get::<String, _>("id")?)
                    .bind(serde_json::json!(channels).to_string())
                    .bind(ts(now))
                    .execute(&mut *tx)
                    .await?;
            }
        }
        let event = event.object("notification_channel", id);
        audit::append(&mut tx, scope.workspace_id(), &event, now).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn list_channels(&self, scope: &WorkspaceScope) -> Result<Vec<Channel>> {
        require(scope, Permission::ReadData)?;
        self.rows_in(
            scope,
            "SELECT * FROM notification_channels WHERE workspace_id = $1 ORDER BY name, id",
            channel_from_row,
        )
        .await
    }

    pub async fn channel(&self, scope: &WorkspaceScope, id: &str) -> Result<Option<Channel>> {
        require(scope, Permission::ReadData)?;
        self.row_in(
            scope,
            "SELECT * FROM notification_channels WHERE workspace_id = $1 AND id = $2",
            id,
            channel_from_row,
        )
        .await
    }

    /// The opened secret of a channel, for the sender only (a job's scope or the local CLI).
    pub async fn channel_secret(
        &self,
        scope: &WorkspaceScope,
        id: &str,
        vault: &Vault,
    ) -> Result<Option<String>> {
        require_sender(scope)?;
        let mut tx = self.db().begin_workspace(scope.workspace_id()).await?;
        let row = sqlx::query(
            "SELECT secret FROM notification_channels WHERE workspace_id = $1 AND id = $2",
        )
        .bind(scope.workspace_id())
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound { what: "channel" })?;
        let Some(sealed) = row.try_get::<Option<String>, _>("secret")? else {
            return Ok(None);
        };
        let plain = vault
            .open(&sealed, &channel_aad(scope.workspace_id(), id))
            .map_err(|e| StoreError::Vault(e.to_string()))?;
        String::from_utf8(plain)
            .map(Some)
            .map_err(|_| StoreError::Corrupt("channel secret is not text".into()))
    }

    /// Queues a test message to a channel (audited as `notification.channel.test`); the
    /// delivery log shows how it went.
    pub async fn enqueue_channel_test(
        &self,
        scope: &WorkspaceScope,
        channel_id: &str,
        event: AuditEvent,
    ) -> Result<Job> {
        require(scope, Permission::ManageSettings)?;
        if self.channel(scope, channel_id).await?.is_none() {
            return Err(StoreError::NotFound { what: "channel" });
        }
        let now = Utc::now();
        let id = new_id("job");
        let mut tx = self.db().begin_workspace(scope.workspace_id()).await?;
        sqlx::query("INSERT INTO jobs (workspace_id, id, kind, params, state, max_attempts, run_after, created_by, created_at) VALUES ($1, $2, 'notify', $3, 'queued', 1, $4, $5, $4)")
            .bind(scope.workspace_id())
            .bind(&id)
            .bind(serde_json::json!({ "test_channel_id": channel_id }).to_string())
            .bind(ts(now))
            .bind(&event.actor_id)
            .execute(&mut *tx)
            .await?;
        let event = event
            .object("notification_channel", channel_id)
            .detail(serde_json::json!({ "job": id }));
        audit::append(&mut tx, scope.workspace_id(), &event, now).await?;
        tx.commit().await?;
        self.job(scope, &id)
            .await?
            .ok_or(StoreError::NotFound { what: "job" })
    }

    // ----- rules -----------------------------------------------------------------------------

    async fn check_rule(&self, tx: &mut Tx, ws: &str, input: &RuleInput) -> Result<()> {
        let name = input.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(invalid("name", "must be 1 to 100 characters"));
        }
        if !input.on_new && !input.on_regressed {
            return Err(invalid(
                "on_new",
                "a rule must trigger on new or regressed findings (or both)",
            ));
        }
        if input.channels.is_empty() || input.channels.len() > MAX_RULE_CHANNELS {
            return Err(invalid(
                "channels",
                format!("must name 1 to {MAX_RULE_CHANNELS} channels"),
            ));
        }
        if input.frameworks.len() > 50 || input.frameworks.iter().any(|f| f.is_empty()) {
            return Err(invalid("frameworks", "must be up to 50 framework ids"));
        }
        if let Some(s) = &input.scope
            && s.len() > 4000
        {
            return Err(invalid("scope", "must be at most 4000 characters"));
        }
        for c in &input.channels {
            let found = sqlx::query(
                "SELECT id FROM notification_channels WHERE workspace_id = $1 AND id = $2",
            )
            .bind(ws)
            .bind(c)
            .fetch_optional(&mut **tx)
            .await?;
            if found.is_none() {
                return Err(invalid("channels", format!("no channel {c:?}")));
            }
        }
        Ok(())
    }

    /// Creates a rule (audited as `notification.rule.create`).
    pub async fn create_rule(
        &self,
        scope: &WorkspaceScope,
        input: &RuleInput,
        event: AuditEvent,
    ) -> Result<Rule> {
        require(scope, Permission::ManageSettings)?;
        let id = new_id("rul");
        let now = Utc::now();
        let mut tx = self.db().begin_workspace(scope.workspace_id()).await?;
        self.check_rule(&mut tx, scope.workspace_id(), input)
            .await?;
        let scope_expr = input
            .scope
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        sqlx::query("INSERT INTO notification_rules (workspace_id, id, name, min_severity, frameworks, scope, on_new, on_regressed, channels, enabled, created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)")
            .bind(scope.workspace_id())
            .bind(&id)
            .bind(input.name.trim())
            .bind(input.min_severity.as_str())
            .bind(serde_json::json!(input.frameworks).to_string())
            .bind(scope_expr)
            .bind(i32::from(input.on_new))
            .bind(i32::from(input.on_regressed))
            .bind(serde_json::json!(input.channels).to_string())
            .bind(i32::from(input.enabled))
            .bind(&event.actor_id)
            .bind(ts(now))
            .execute(&mut *tx)
            .await
            .map_err(|e| map_unique(e, "rule with this name"))?;
        let event = event
            .object("notification_rule", &id)
            .detail(serde_json::json!({ "name": input.name.trim(), "min_severity": input.min_severity.as_str(), "channels": input.channels }));
        audit::append(&mut tx, scope.workspace_id(), &event, now).await?;
        tx.commit().await?;
        self.rule(scope, &id)
            .await?
            .ok_or(StoreError::NotFound { what: "rule" })
    }

    /// Replaces a rule (audited as `notification.rule.update`).
    pub async fn update_rule(
        &self,
        scope: &WorkspaceScope,
        id: &str,
        input: &RuleInput,
        event: AuditEvent,
    ) -> Result<Rule> {
        require(scope, Permission::ManageSettings)?;
        let now = Utc::now();
        let mut tx = self.db().begin_workspace(scope.workspace_id()).await?;
        self.check_rule(&mut tx, scope.workspace_id(), input)
            .await?;
        let scope_expr = input
            .scope
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        let n = sqlx::query("UPDATE notification_rules SET name = $3, min_severity = $4, frameworks = $5, scope = $6, on_new = $7, on_regressed = $8, channels = $9, enabled = $10, updated_at = $11 WHERE workspace_id = $1 AND id = $2")
            .bind(scope.workspace_id())
            .bind(id)
            .bind(input.name.trim())
            .bind(input.min_severity.as_str())
            .bind(serde_json::json!(input.frameworks).to_string())
            .bind(scope_expr)
            .bind(i32::from(input.on_new))
            .bind(i32::from(input.on_regressed))
            .bind(serde_json::json!(input.channels).to_string())
            .bind(i32::from(input.enabled))
            .bind(ts(now))
            .execute(&mut *tx)
            .await
            .map_err(|e| map_unique(e, "rule with this name"))?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound { what: "rule" });
        }
        let event = event
            .object("notification_rule", id)
            .detail(serde_json::json!({ "name": input.name.trim() }));
        audit::append(&mut tx, scope.workspace_id(), &event, now).await?;
        tx.commit().await?;
        self.rule(scope, id)
            .await?
            .ok_or(StoreError::NotFound { what: "rule" })
    }

    /// Deletes a rule (audited as `notification.rule.delete`).
    pub async fn delete_rule(
        &self,
        scope: &WorkspaceScope,
        id: &str,
        event: AuditEvent,
    ) -> Result<()> {
        self.change_one_audited(
            scope,
            Permission::ManageSettings,
            "DELETE FROM notification_rules WHERE workspace_id = $1 AND id = $2",
            id,
            ("notification_rule", "rule"),
            event,
        )
        .await
    }

    pub async fn list_rules(&self, scope: &WorkspaceScope) -> Result<Vec<Rule>> {
        require(scope, Permission::ReadData)?;
        self.rows_in(
            scope,
            "SELECT * FROM notification_rules WHERE workspace_id = $1 ORDER BY name, id",
            rule_from_row,
        )
        .await
    }

    pub async fn rule(&self, scope: &WorkspaceScope, id: &str) -> Result<Option<Rule>> {
        require(scope, Permission::ReadData)?;
        self.row_in(
            scope,
            "SELECT * FROM notification_rules WHERE workspace_id = $1 AND id = $2",
            id,
            rule_from_row,
        )
        .await
    }

    // ----- what a scan changed -----------------------------------------------------------------

    /// The findings a scan made new, regressed or resolved.
    pub async fn scan_changes(
        &self,
        scope: &WorkspaceScope,
        scan_id: &str,
    ) -> Result<Vec<FindingChange>> {
        self.scan_changes_limited(scope, scan_id, i64::MAX).await
    }

    /// The first `limit` changes a scan made (most severe first), and how many of each kind it
    /// made in all: for the dashboard's "recent changes", bounded however large the scan.
    pub async fn scan_changes_summary(
        &self,
        scope: &WorkspaceScope,
        scan_id: &str,
        limit: u32,
    ) -> Result<(Vec<(Change, u64)>, Vec<FindingChange>)> {
        require(scope, Permission::ReadData)?;
        let mut counts = Vec::new();
        {
            let mut tx = self.db().begin_workspace(scope.workspace_id()).await?;
            for r in sqlx::query("SELECT change_kind, COUNT(*) AS n FROM findings WHERE workspace_id = $1 AND change_scan_id = $2 AND change_kind IS NOT NULL GROUP BY change_kind ORDER BY change_kind")
                .bind(scope.workspace_id())
                .bind(scan_id)
                .fetch_all(&mut *tx)
                .await?
            {
                let change = parse_change(&r.try_get::<String, _>("change_kind")?)?;
                counts.push((change, u64::try_from(r.try_get::<i64, _>("n")?).unwrap_or(0)));
            }
        }
        let items = self
            .scan_changes_limited(scope, scan_id, i64::from(limit))
            .await?;
        Ok((counts, items))
    }

    async fn scan_changes_limited(
        &self,
        scope: &WorkspaceScope,
        scan_id: &str,
        limit: i64,
    ) -> Result<Vec<FindingChange>> {
        require(scope, Permission::ReadData)?;
        let mut tx = self.db().begin_workspace(scope.workspace_id()).await?;
        let rows = sqlx::query("SELECT f.id, f.control_id, f.asset_id, f.severity, f.change_kind, f.reason, a.name AS asset_name, a.type AS asset_type FROM findings f JOIN assets a ON a.workspace_id = f.workspace_id AND a.id = f.asset_id WHERE f.workspace_id = $1 AND f.change_scan_id = $2 AND f.change_kind IS NOT NULL ORDER BY f.severity_rank DESC, f.control_id, f.asset_id LIMIT $3")
            .bind(scope.workspace_id())
            .bind(scan_id)
            .bind(limit)
            .fetch_all(&mut *tx)
            .await?;
        rows.iter()
            .map(|r| {
                let change = parse_change(&r.try_get::<String, _>("change_kind")?)?;
                Ok(FindingChange {
                    finding_id: r.try_get("id")?,
                    control_id: r.try_get("control_id")?,
                    asset_id: r.try_get("asset_id")?,
                    asset_name: r.try_get("asset_name")?,
                    asset_type: r.try_get("asset_type")?,
                    severity: severity(&r.try_get::<String, _>("severity")?)?,
                    change,
                    reason: r.try_get("reason")?,
                })
            })
            .collect()
    }

    /// How many findings of a control fail now.
    pub async fn failing_of_control(
        &self,
        scope: &WorkspaceScope,
        control_id: &str,
    ) -> Result<u64> {
        require(scope, Permission::ReadData)?;
        let mut tx = self.db().begin_workspace(scope.workspace_id()).await?;
        let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM findings WHERE workspace_id = $1 AND control_id = $2 AND status = 'fail'")
            .bind(scope.workspace_id())
            .bind(control_id)
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        Ok(n.max(0) as u64)
    }

    /// Scans and finding changes since `since` (the weekly digest).
    pub async fn digest_counts(
        &self,
        scope: &WorkspaceScope,
        since: DateTime<Utc>,
    ) -> Result<DigestCounts> {
        require(scope, Permission::ReadData)?;
        let mut tx = self.db().begin_workspace(scope.workspace_id()).await?;
        let scans: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM scans WHERE workspace_id = $1 AND started_at >= $2",
        )
        .bind(scope.workspace_id())
        .bind(ts(since))
        .fetch_one(&mut *tx)
        .await?
        .try_get("n")?;
        let rows = sqlx::query("SELECT f.change_kind, COUNT(*) AS n FROM findings f JOIN scans s ON s.workspace_id = f.workspace_id AND s.id = f.change_scan_id WHERE f.workspace_id = $1 AND s.started_at >= $2 AND f.change_kind IS NOT NULL GROUP BY f.change_kind")
            .bind(scope.workspace_id())
            .bind(ts(since))
            .fetch_all(&mut *tx)
            .await?;
        let mut out = DigestCounts {
            scans: scans.max(0) as u64,
            ..DigestCounts::default()
        };
        for r in &rows {
            let n = r.try_get::<i64, _>("n")?.max(0) as u64;
            match r.try_get::<String, _>("change_kind")?.as_str() {
                "new" => out.new = n,
                "regressed" => out.regressed = n,
                "resolved" => out.resolved = n,
                _ => {}
            }
        }
        Ok(out)
    }

    // ----- the delivery log ------------------------------------------------------------------

    /// Whether this job already delivered this message to this channel.
    pub async fn delivered(
        &self,
        scope: &WorkspaceScope,
        job_id: &str,
        rule_id: Option<&str>,
        channel_id: &str,
        purpose: Purpose,
    ) -> Result<bool> {
        require_sender(scope)?;
        let mut tx = self.db().begin_workspace(scope.workspace_id()).await?;
        let row = sqlx::query("SELECT state FROM notification_deliveries WHERE workspace_id = $1 AND job_id = $2 AND rule_id = $3 AND channel_id = $4 AND purpose = $5")
            .bind(scope.workspace_id())
            .bind(job_id)
            .bind(rule_id.unwrap_or(""))
            .bind(channel_id)
            .bind(purpose.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        Ok(match row {
            Some(r) => r.try_get::<String, _>("state")? == "delivered",
            None => false,
        })
    }

    /// Records one delivery attempt (a new line, or one more attempt on the job's line).
    pub async fn record_delivery(
        &self,
        scope: &WorkspaceScope,
        attempt: &DeliveryAttempt<'_>,
    ) -> Result<()> {
        require_sender(scope)?;
        let now = ts(Utc::now());
        let state = if attempt.error.is_none() {
            "delivered"
        } else {
            "failed"
        };
        let delivered_at = attempt.error.is_none().then_some(now.clone());
        let error = attempt.error.map(|e| {
            let mut e = e.to_owned();
            if e.len() > 2000 {
                let mut end = 2000;
                while !e.is_char_boundary(end) {
                    end -= 1;
                }
                e.truncate(end);
            }
            e
        });
        let mut tx = self.db().begin_workspace(scope.workspace_id()).await?;
        sqlx::query("INSERT INTO notification_deliveries (workspace_id, id, job_id, rule_id, channel_id, purpose, state, attempts, findings, status_code, error, created_at, updated_at, delivered_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $9, $10, $11, $11, $12) ON CONFLICT (workspace_id, job_id, rule_id, channel_id, purpose) DO UPDATE SET state = excluded.state, attempts = notification_deliveries.attempts + 1, findings = excluded.findings, status_code = excluded.status_code, error = excluded.error, updated_at = excluded.updated_at, delivered_at = excluded.delivered_at WHERE notification_deliveries.workspace_id = $1")
            .bind(scope.workspace_id())
            .bind(new_id("dlv"))
            .bind(attempt.job_id)
            .bind(attempt.rule_id.unwrap_or(""))
            .bind(attempt.channel_id)
            .bind(attempt.purpose.as_str())
            .bind(state)
            .bind(attempt.findings as i32)
            .bind(attempt.status_code.map(i32::from))
            .bind(error)
            .bind(&now)
            .bind(delivered_at)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The delivery log, newest first, optionally of one channel.
    pub async fn list_deliveries(
        &self,
        scope: &WorkspaceScope,
        channel_id: Option<&str>,
        page: Page,
    ) -> Result<Paged<Delivery>> {
        require(scope, Permission::ReadData)?;
        let mut tx = self.db().begin_workspace(scope.workspace_id()).await?;
        let total: i64 = sqlx::query("SELECT COUNT(*) AS n FROM notification_deliveries WHERE workspace_id = $1 AND ($2 IS NULL OR channel_id = $2)")
            .bind(scope.workspace_id())
            .bind(channel_id)
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        let rows = sqlx::query("SELECT * FROM notification_deliveries WHERE workspace_id = $1 AND ($2 IS NULL OR channel_id = $2) ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4")
            .bind(scope.workspace_id())
            .bind(channel_id)
            .bind(i64::from(page.limit()))
            .bind(page.offset() as i64)
            .fetch_all(&mut *tx)
            .await?;
        Ok(Paged {
            items: rows.iter().map(delivery_from_row).collect::<Result<_>>()?,
            total: total.max(0) as u64,
            limit: page.limit(),
            offset: page.offset(),
        })
    }

    // ----- Jira issues per finding group -----------------------------------------------------

    pub async fn jira_issue(
        &self,
        scope: &WorkspaceScope,
        channel_id: &str,
        group: &str,
    ) -> Result<Option<JiraIssue>> {
        require_sender(scope)?;
        let mut tx = self.db().begin_workspace(scope.workspace_id()).await?;
        let row = sqlx::query("SELECT issue_key, state FROM notification_jira_issues WHERE workspace_id = $1 AND channel_id = $2 AND group_key = $3")
            .bind(scope.workspace_id())
            .bind(channel_id)
            .bind(group)
            .fetch_optional(&mut *tx)
            .await?;
        row.map(|r| {
            Ok(JiraIssue {
                issue_key: r.try_get("issue_key")?,
                resolved: r.try_get::<String, _>("state")? == "resolved",
            })
        })
        .transpose()
    }

    pub async fn save_jira_issue(
        &self,
        scope: &WorkspaceScope,
        channel_id: &str,
        group: &str,
        issue: &JiraIssue,
    ) -> Result<()> {
        require_sender(scope)?;
        let now = ts(Utc::now());
        let (state, resolved_at) = if issue.resolved {
            ("resolved", Some(now.clone()))
        } else {
            ("open", None)
        };
        let mut tx = self.db().begin_workspace(scope.workspace_id()).await?;
        sqlx::query("INSERT INTO notification_jira_issues (workspace_id, channel_id, group_key, issue_key, state, created_at, resolved_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (workspace_id, channel_id, group_key) DO UPDATE SET issue_key = excluded.issue_key, state = excluded.state, resolved_at = excluded.resolved_at WHERE notification_jira_issues.workspace_id = $1")
            .bind(scope.workspace_id())
            .bind(channel_id)
            .bind(group)
            .bind(&issue.issue_key)
            .bind(state)
            .bind(&now)
            .bind(resolved_at)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    // ----- the weekly digest -----------------------------------------------------------------

    /// Queues the digest of the current weekly slot (Monday 08:00 UTC) once for every workspace
    /// with an enabled e-mail channel that takes it (created before the slot). Returns
    /// `(workspace id, job id)` of the jobs queued now.
    pub async fn schedule_digests(&self, now: DateTime<Utc>) -> Result<Vec<(String, String)>> {
        let slot = digest_slot(now);
        let mut out = Vec::new();
        for ws in self.all_workspaces().await? {
            let mut tx = self.db().begin_workspace(&ws.id).await?;
            let due: i64 = sqlx::query("SELECT COUNT(*) AS n FROM notification_channels WHERE workspace_id = $1 AND kind = 'email' AND digest <> 0 AND enabled <> 0 AND created_at <= $2")
                .bind(&ws.id)
                .bind(ts(slot))
                .fetch_one(&mut *tx)
                .await?
                .try_get("n")?;
            if due == 0 {
                continue;
            }
            let job_id = new_id("job");
            let inserted = sqlx::query("INSERT INTO notification_digests (workspace_id, slot, job_id) VALUES ($1, $2, $3) ON CONFLICT (workspace_id, slot) DO NOTHING")
                .bind(&ws.id)
                .bind(ts(slot))
                .bind(&job_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if inserted == 1 {
                sqlx::query("INSERT INTO jobs (workspace_id, id, kind, params, state, max_attempts, run_after, created_by, created_at) VALUES ($1, $2, 'notify', $3, 'queued', $4, $5, 'scheduler', $5)")
                    .bind(&ws.id)
                    .bind(&job_id)
                    .bind(serde_json::json!({ "digest_slot": ts(slot) }).to_string())
                    .bind(DEFAULT_MAX_ATTEMPTS as i32)
                    .bind(ts(now))
                    .execute(&mut *tx)
                    .await?;
                out.push((ws.id.clone(), job_id));
            }
            tx.commit().await?;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn digest_slot_is_the_monday_0800_at_or_before() {
        // 2026-11-30 is a Monday.
        let monday = Utc.with_ymd_and_hms(2026, 11, 30, 8, 0, 0).unwrap();
        assert_eq!(digest_slot(monday), monday);
        assert_eq!(
            digest_slot(monday + TimeDelta::hours(50)),
            monday,
            "Wednesday"
        );
        assert_eq!(
            digest_slot(monday - TimeDelta::minutes(1)),
            monday - TimeDelta::days(7)
        );
    }

    fn input(kind: ChannelKind, settings: serde_json::Value, secret: Option<&str>) -> ChannelInput {
        ChannelInput {
            name: "c".into(),
            kind,
            settings,
            secret: secret.map(str::to_owned),
            enabled: true,
            digest: false,
        }
    }

    #[test]
    fn channel_settings_are_checked_per_kind() {
        let ok = input(
            ChannelKind::Webhook,
            serde_json::json!({"url": "https://hooks.example.com/x"}),
            Some("0123456789abcdef"),
        );
        assert!(check_channel(&ok, true).is_ok());
        let no_secret = input(ChannelKind::Webhook, ok.settings.clone(), None);
        assert!(check_channel(&no_secret, true).is_err());
        assert!(
            check_channel(&no_secret, false).is_ok(),
            "update keeps the secret"
        );
        // A secret cannot hide in the readable settings (ASVS V6.4.1).
        let leaky = input(
            ChannelKind::Webhook,
            serde_json::json!({"url": "https://h.example.com", "secret": "x"}),
            Some("0123456789abcdef"),
        );
        assert!(matches!(
            check_channel(&leaky, true),
            Err(StoreError::Invalid {
                field: "settings",
                ..
            })
        ));
        let bad_url = input(
            ChannelKind::Slack,
            serde_json::json!({}),
            Some("ftp://hooks.slack.com/x"),
        );
        assert!(check_channel(&bad_url, true).is_err());
        let email = input(
            ChannelKind::Email,
            serde_json::json!({"recipients": ["sec@example.com", "not an address"]}),
            None,
        );
        assert!(matches!(
            check_channel(&email, true),
            Err(StoreError::Invalid {
                field: "settings.recipients",
                ..
            })
        ));
    }
}
