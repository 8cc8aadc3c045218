//! Rampart notifications, delivered from the job queue.
//!
//! `record_scan` queues a `notify` job with every scan that changed a finding in a workspace
//! that has a rule (see `rampart_store::notifications`). [`NotifyExecutor`] runs those jobs:
//!
//! - **scan changes** (`{"scan_id"}`): each enabled rule selects the new and/or regressed
//!   findings at or above its severity, of its frameworks, on assets its CEL scope accepts, and
//!   each of its channels gets one message; Jira channels also close the issue of a finding
//!   group (control) once none of its findings fails;
//! - **channel test** (`{"test_channel_id"}`): a test message;
//! - **weekly digest** (`{"digest_slot"}`): score, new and resolved counts, top failing
//!   controls to the e-mail channels that take it.
//!
//! Every message is logged per (job, rule, channel, purpose); a failed one fails the attempt,
//! the queue retries it with backoff, and the retry skips what was already delivered.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use rampart_model::{FindingStatus, Severity};
use rampart_rules::{Catalog, Filter};
use rampart_store::{
    Change, Channel, ChannelKind, DeliveryAttempt, FindingChange, JiraIssue, Purpose, Rule, Store,
    Vault, WorkspaceScope,
};
use rampart_worker::{BoxFuture, Executor, JobContext, JobFailure};
use serde_json::json;

pub mod jira;
pub mod send;

pub use jira::JiraTarget;
pub use send::{
    SIGNATURE_HEADER, SendConfig, Sender, SmtpConfig, SmtpTls, TIMESTAMP_HEADER, is_public, sign,
    verify,
};

/// Why a delivery failed. Messages never contain secrets (URLs of chat webhooks, tokens).
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("the channel URL must use https (plain http needs --allow-insecure-webhooks)")]
    InsecureUrl,
    #[error(
        "the channel URL reaches a non-public address: {0} (loopback, private and link-local targets need --allow-private-webhook-targets)"
    )]
    PrivateTarget(String),
    #[error("HTTP: {0}")]
    Http(String),
    #[error("the receiver answered {code}: {body}")]
    Status { code: u16, body: String },
    #[error("e-mail: {0}")]
    Email(String),
    #[error("Jira: {0}")]
    Jira(String),
    #[error("configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Store(#[from] rampart_store::StoreError),
}

impl NotifyError {
    fn status_code(&self) -> Option<u16> {
        match self {
            NotifyError::Status { code, .. } => Some(*code),
            _ => None,
        }
    }
}

/// Runs `notify` jobs.
pub struct NotifyExecutor {
    pub catalog: Arc<Catalog>,
    pub vault: Arc<Vault>,
    pub sender: Sender,
}

impl Executor for NotifyExecutor {
    fn run(&self, ctx: JobContext) -> BoxFuture<'static, Result<serde_json::Value, JobFailure>> {
        let mut run = Run {
            catalog: self.catalog.clone(),
            vault: self.vault.clone(),
            sender: self.sender.clone(),
            store: ctx.store.clone(),
            scope: ctx.claim.scope.clone(),
            job_id: ctx.claim.job.id.clone(),
        };
        let params = ctx.claim.job.params.clone();
        Box::pin(async move {
            // The workspace's custom controls too: their titles, remediation and frameworks.
            run.catalog =
                rampart_worker::workspace_catalog(&run.store, &run.scope, run.catalog).await?;
            let s = |k: &str| params.get(k).and_then(serde_json::Value::as_str);
            if let Some(scan) = s("scan_id") {
                run.scan_changes(scan).await
            } else if let Some(channel) = s("test_channel_id") {
                run.test(channel).await
            } else if let Some(slot) = s("digest_slot") {
                let slot = DateTime::parse_from_rfc3339(slot)
                    .map_err(|e| JobFailure::new(format!("digest slot: {e}")))?
                    .with_timezone(&Utc);
                run.digest(slot).await
            } else {
                Err(JobFailure::new(
                    "a notify job needs scan_id, test_channel_id or digest_slot",
                ))
            }
        })
    }
}

/// One message for one channel.
#[derive(Debug, Clone)]
pub struct Message {
    pub title: String,
    pub workspace: String,
    pub rule: Option<(String, String)>,
    pub kind: &'static str,
    pub findings: Vec<FindingChange>,
    /// Plain-text lines (used by every format).
    pub lines: Vec<String>,
    /// Structured details for the webhook body.
    pub details: serde_json::Value,
}

struct Run {
    catalog: Arc<Catalog>,
    vault: Arc<Vault>,
    sender: Sender,
    store: Store,
    scope: WorkspaceScope,
    job_id: String,
}

/// Most findings listed in one webhook body (the count is always complete).
const MAX_LISTED: usize = 500;

fn rank(s: Severity) -> u8 {
    s.ocsf_id()
}

impl Run {
    fn title_of(&self, control: &str) -> String {
        self.catalog
            .control(control)
            .map(|c| c.title.clone())
            .unwrap_or_else(|| control.to_owned())
    }

    fn finding_line(&self, f: &FindingChange) -> String {
        format!(
            "[{}] {} ({}) - {} {} ({})",
            f.severity.as_str().to_uppercase(),
            self.title_of(&f.control_id),
            f.change.as_str(),
            f.asset_type,
            if f.asset_name.is_empty() {
                &f.asset_id
            } else {
                &f.asset_name
            },
            f.reason
        )
    }

    /// The findings of `changes` a rule selects.
    async fn select(
        &self,
        rule: &Rule,
        changes: &[FindingChange],
        assets: &mut HashMap<String, Option<rampart_model::Asset>>,
        now: DateTime<Utc>,
    ) -> Result<Vec<FindingChange>, JobFailure> {
        let filter = match rule.scope.as_deref() {
            Some(expr) => match Filter::compile(expr) {
                Ok(f) => Some(f),
                Err(e) => {
                    tracing::warn!(rule = %rule.id, error = %e.message, "rule scope does not compile; rule skipped");
                    return Ok(Vec::new());
                }
            },
            None => None,
        };
        let mut out = Vec::new();
        for c in changes {
            let trigger = match c.change {
                Change::New => rule.on_new,
                Change::Regressed => rule.on_regressed,
                Change::Resolved => false,
            };
            if !trigger || rank(c.severity) < rank(rule.min_severity) {
                continue;
            }
            if !rule.frameworks.is_empty() {
                let Some(control) = self.catalog.control(&c.control_id) else {
                    continue;
                };
                if !control
                    .frameworks
                    .iter()
                    .any(|r| rule.frameworks.contains(&r.framework))
                {
                    continue;
                }
            }
            if let Some(filter) = &filter {
                if !assets.contains_key(&c.asset_id) {
                    let a = self
                        .store
                        .scoped(&self.scope)
                        .asset(&c.asset_id)
                        .await
                        .map_err(JobFailure::from)?;
                    assets.insert(c.asset_id.clone(), a);
                }
                let Some(Some(asset)) = assets.get(&c.asset_id) else {
                    continue;
                };
                if !filter.matches(asset, now).unwrap_or(false) {
                    continue;
                }
            }
            out.push(c.clone());
        }
        Ok(out)
    }

    fn findings_message(&self, rule: &Rule, findings: Vec<FindingChange>) -> Message {
        let n = findings.len();
        let worst = findings
            .iter()
            .map(|f| f.severity)
            .max()
            .unwrap_or_default();
        let title = format!(
            "Rampart: {n} finding{} in {} ({} and above; rule {})",
            if n == 1 { "" } else { "s" },
            self.scope.slug(),
            rule.min_severity.as_str(),
            rule.name
        );
        let mut lines: Vec<String> = findings
            .iter()
            .take(MAX_LISTED)
            .map(|f| self.finding_line(f))
            .collect();
        if n > MAX_LISTED {
            lines.push(format!("... and {} more", n - MAX_LISTED));
        }
        let details = json!({
            "highest_severity": worst.as_str(),
            "total": n,
            "truncated": n > MAX_LISTED,
            "findings": findings.iter().take(MAX_LISTED).map(|f| json!({
                "id": f.finding_id,
                "control_id": f.control_id,
                "control_title": self.title_of(&f.control_id),
                "severity": f.severity.as_str(),
                "change": f.change.as_str(),
                "asset_id": f.asset_id,
                "asset_name": f.asset_name,
                "asset_type": f.asset_type,
                "reason": f.reason,
            })).collect::<Vec<_>>(),
        });
        Message {
            title,
            workspace: self.scope.slug().to_owned(),
            rule: Some((rule.id.clone(), rule.name.clone())),
            kind: "findings",
            findings,
            lines,
            details,
        }
    }

    async fn secret(&self, channel: &Channel) -> Result<String, NotifyError> {
        self.store
            .channel_secret(&self.scope, &channel.id, &self.vault)
            .await?
            .ok_or_else(|| NotifyError::Config(format!("channel {} has no secret", channel.id)))
    }

    /// Sends one message to one channel (not Jira finding groups: see `jira_findings`).
    async fn deliver(&self, channel: &Channel, msg: &Message) -> Result<Option<u16>, NotifyError> {
        let now = Utc::now();
        match channel.kind {
            ChannelKind::Webhook => {
                let url = channel
                    .settings
                    .get("url")
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or("");
                let secret = self.secret(channel).await?;
                let body = webhook_body(msg, &self.job_id, now);
                Ok(self.sender.webhook(url, &secret, &body, now).await?.status)
            }
            ChannelKind::Slack => {
                let url = self.secret(channel).await?;
                Ok(self.sender.chat(&url, &slack_body(msg)).await?.status)
            }
            ChannelKind::Teams => {
                let url = self.secret(channel).await?;
                Ok(self.sender.chat(&url, &teams_body(msg)).await?.status)
            }
            ChannelKind::Email => {
                let recipients: Vec<String> = channel
                    .settings
                    .get("recipients")
                    .and_then(serde_json::Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|r| r.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default();
                let (text, html) = email_bodies(msg, self.sender.config().public_url.as_deref());
                self.sender
                    .email(&recipients, &msg.title, text, html)
                    .await?;
                Ok(None)
            }
            ChannelKind::Jira => {
                let target =
                    JiraTarget::from_settings(&channel.settings, self.secret(channel).await?);
                if msg.kind == "test" {
                    self.sender.jira_check(&target).await?;
                } else {
                    self.jira_findings(channel, &target, msg).await?;
                }
                Ok(None)
            }
        }
    }

    /// Jira: an issue per control (finding group); a comment on the open one when more of its
    /// findings fail.
    async fn jira_findings(
        &self,
        channel: &Channel,
        target: &JiraTarget,
        msg: &Message,
    ) -> Result<(), NotifyError> {
        let mut groups: BTreeMap<&str, Vec<&FindingChange>> = BTreeMap::new();
        for f in &msg.findings {
            groups.entry(f.control_id.as_str()).or_default().push(f);
        }
        for (control, findings) in groups {
            let lines: Vec<String> = findings.iter().map(|f| self.finding_line(f)).collect();
            let existing = self
                .store
                .jira_issue(&self.scope, &channel.id, control)
                .await?;
            match existing {
                Some(issue) if !issue.resolved => {
                    let mut text = vec![format!(
                        "Rampart found {} more failing finding(s) of this control:",
                        findings.len()
                    )];
                    text.extend(lines);
                    self.sender
                        .jira_comment(target, &issue.issue_key, &text)
                        .await?;
                }
                _ => {
                    let worst = findings
                        .iter()
                        .map(|f| f.severity)
                        .max()
                        .unwrap_or_default();
                    let summary = format!(
                        "[Rampart] [{}] {} ({})",
                        worst.as_str(),
                        self.title_of(control),
                        msg.workspace
                    );
                    let mut text = vec![format!(
                        "Control {control} fails on {} asset(s) in workspace {}.",
                        findings.len(),
                        msg.workspace
                    )];
                    if let Some(c) = self.catalog.control(control)
                        && !c.remediation.is_empty()
                    {
                        text.push(format!("Remediation: {}", c.remediation));
                    }
                    text.extend(lines);
                    let key = self.sender.jira_create(target, &summary, &text).await?;
                    self.store
                        .save_jira_issue(
                            &self.scope,
                            &channel.id,
                            control,
                            &JiraIssue {
                                issue_key: key,
                                resolved: false,
                            },
                        )
                        .await?;
                }
            }
        }
        Ok(())
    }

    /// Jira: for each control with resolved findings and an open issue, once no finding of it
    /// fails: a comment and the resolving transition.
    async fn jira_resolved(
        &self,
        channel: &Channel,
        resolved: &[&FindingChange],
    ) -> Result<u32, NotifyError> {
        let mut controls: Vec<&str> = resolved.iter().map(|f| f.control_id.as_str()).collect();
        controls.sort_unstable();
        controls.dedup();
        let mut target = None;
        let mut closed = 0;
        for control in controls {
            let Some(issue) = self
                .store
                .jira_issue(&self.scope, &channel.id, control)
                .await?
            else {
                continue;
            };
            if issue.resolved || self.store.failing_of_control(&self.scope, control).await? > 0 {
                continue;
            }
            if target.is_none() {
                target = Some(JiraTarget::from_settings(
                    &channel.settings,
                    self.secret(channel).await?,
                ));
            }
            let Some(t) = target.as_ref() else { continue };
            let text = vec![format!(
                "Rampart: no finding of control {control} fails any more in workspace {}; resolving.",
                self.scope.slug()
            )];
            self.sender.jira_comment(t, &issue.issue_key, &text).await?;
            self.sender.jira_transition(t, &issue.issue_key).await?;
            self.store
                .save_jira_issue(
                    &self.scope,
                    &channel.id,
                    control,
                    &JiraIssue {
                        issue_key: issue.issue_key,
                        resolved: true,
                    },
                )
                .await?;
            closed += 1;
        }
        Ok(closed)
    }

    /// Delivers unless already delivered by this job; logs the attempt. `Err` text when it
    /// failed.
    async fn once(
        &self,
        rule_id: Option<&str>,
        channel: &Channel,
        purpose: Purpose,
        findings: u32,
        send: impl Future<Output = Result<Option<u16>, NotifyError>>,
    ) -> Result<Option<String>, JobFailure> {
        if self
            .store
            .delivered(&self.scope, &self.job_id, rule_id, &channel.id, purpose)
            .await?
        {
            return Ok(None);
        }
        let outcome = send.await;
        let (status, error) = match &outcome {
            Ok(status) => (*status, None),
            Err(e) => (e.status_code(), Some(e.to_string())),
        };
        self.store
            .record_delivery(
                &self.scope,
                &DeliveryAttempt {
                    job_id: &self.job_id,
                    rule_id,
                    channel_id: &channel.id,
                    purpose,
                    findings,
                    status_code: status,
                    error: error.as_deref(),
                },
            )
            .await?;
        match &error {
            Some(e) => {
                tracing::warn!(channel = %channel.id, kind = channel.kind.as_str(), error = %e, "notification not delivered");
            }
            None => {
                tracing::info!(channel = %channel.id, kind = channel.kind.as_str(), findings, "notification delivered");
            }
        }
        Ok(error.map(|e| format!("{} ({}): {e}", channel.name, channel.kind.as_str())))
    }

    async fn scan_changes(&self, scan_id: &str) -> Result<serde_json::Value, JobFailure> {
        let now = Utc::now();
        let changes = self.store.scan_changes(&self.scope, scan_id).await?;
        let rules: Vec<Rule> = self
            .store
            .list_rules(&self.scope)
            .await?
            .into_iter()
            .filter(|r| r.enabled)
            .collect();
        let channels: HashMap<String, Channel> = self
            .store
            .list_channels(&self.scope)
            .await?
            .into_iter()
            .filter(|c| c.enabled)
            .map(|c| (c.id.clone(), c))
            .collect();
        let mut assets = HashMap::new();
        let mut failures = Vec::new();
        let mut sent = 0u32;
        let mut jira_channels: Vec<&Channel> = Vec::new();
        for rule in &rules {
            let selected = self.select(rule, &changes, &mut assets, now).await?;
            for channel_id in &rule.channels {
                let Some(channel) = channels.get(channel_id) else {
                    continue;
                };
                if channel.kind == ChannelKind::Jira
                    && !jira_channels.iter().any(|c| c.id == channel.id)
                {
                    jira_channels.push(channel);
                }
                if selected.is_empty() {
                    continue;
                }
                let msg = self.findings_message(rule, selected.clone());
                let n = msg.findings.len() as u32;
                match self
                    .once(
                        Some(&rule.id),
                        channel,
                        Purpose::Findings,
                        n,
                        self.deliver(channel, &msg),
                    )
                    .await?
                {
                    Some(e) => failures.push(e),
                    None => sent += 1,
                }
            }
        }
        let resolved: Vec<&FindingChange> = changes
            .iter()
            .filter(|c| c.change == Change::Resolved)
            .collect();
        if !resolved.is_empty() {
            for channel in jira_channels {
                let n = resolved.len() as u32;
                let send = async { self.jira_resolved(channel, &resolved).await.map(|_| None) };
                if let Some(e) = self.once(None, channel, Purpose::Resolved, n, send).await? {
                    failures.push(e);
                }
            }
        }
        if !failures.is_empty() {
            return Err(JobFailure::new(format!(
                "{} of the deliveries failed: {}",
                failures.len(),
                failures.join("; ")
            )));
        }
        Ok(json!({ "scan": scan_id, "changes": changes.len(), "messages": sent }))
    }

    async fn test(&self, channel_id: &str) -> Result<serde_json::Value, JobFailure> {
        let channel = self
            .store
            .channel(&self.scope, channel_id)
            .await?
            .ok_or_else(|| JobFailure::new("the channel no longer exists"))?;
        let msg = Message {
            title: format!("Rampart test message for {}", self.scope.slug()),
            workspace: self.scope.slug().to_owned(),
            rule: None,
            kind: "test",
            findings: Vec::new(),
            lines: vec![format!(
                "This is a test of the notification channel \"{}\". It works.",
                channel.name
            )],
            details: json!({}),
        };
        match self
            .once(
                None,
                &channel,
                Purpose::Test,
                0,
                self.deliver(&channel, &msg),
            )
            .await?
        {
            Some(e) => Err(JobFailure::new(e)),
            None => Ok(json!({ "channel": channel.id, "delivered": true })),
        }
    }

    async fn digest(&self, slot: DateTime<Utc>) -> Result<serde_json::Value, JobFailure> {
        let since = slot - chrono::TimeDelta::days(7);
        let counts = self.store.digest_counts(&self.scope, since).await?;
        let ws = self.store.scoped(&self.scope);
        let controls = ws.control_counts().await?;
        let mut results: Vec<(String, FindingStatus)> = Vec::new();
        let mut failing: Vec<(String, u64)> = Vec::new();
        for c in &controls {
            if c.count > 0 {
                results.push((c.control_id.clone(), c.status));
            }
            if c.status == FindingStatus::Fail && c.count > 0 {
                failing.push((c.control_id.clone(), c.count));
            }
        }
        failing.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let scores = rampart_rules::score::framework_scores(&self.catalog, &results);
        let mut lines = vec![
            format!(
                "Week ending {}: {} scan(s), {} new and {} regressed failing finding(s), {} resolved.",
                slot.format("%Y-%m-%d"),
                counts.scans,
                counts.new,
                counts.regressed,
                counts.resolved
            ),
            "Framework scores:".to_owned(),
        ];
        for s in scores.iter().filter(|s| s.passing + s.failing > 0) {
            lines.push(format!("  {} {}: {:.0}%", s.name, s.version, s.percent));
        }
        lines.push("Top failing controls:".to_owned());
        for (control, n) in failing.iter().take(10) {
            lines.push(format!("  {} - {n} asset(s)", self.title_of(control)));
        }
        let msg = Message {
            title: format!("Rampart weekly digest for {}", self.scope.slug()),
            workspace: self.scope.slug().to_owned(),
            rule: None,
            kind: "digest",
            findings: Vec::new(),
            lines,
            details: json!({
                "counts": counts,
                "top_failing_controls": failing.iter().take(10).map(|(c, n)| json!({"control_id": c, "failing": n})).collect::<Vec<_>>(),
            }),
        };
        let mut failures = Vec::new();
        let mut sent = 0;
        for channel in self.store.list_channels(&self.scope).await? {
            if channel.kind != ChannelKind::Email || !channel.digest || !channel.enabled {
                continue;
            }
            match self
                .once(
                    None,
                    &channel,
                    Purpose::Digest,
                    0,
                    self.deliver(&channel, &msg),
                )
                .await?
            {
                Some(e) => failures.push(e),
                None => sent += 1,
            }
        }
        if !failures.is_empty() {
            return Err(JobFailure::new(failures.join("; ")));
        }
        Ok(json!({ "digest": slot.to_rfc3339(), "messages": sent }))
    }
}

/// The generic webhook's JSON body.
pub fn webhook_body(msg: &Message, job_id: &str, now: DateTime<Utc>) -> serde_json::Value {
    json!({
        "type": format!("rampart.{}", msg.kind),
        "id": job_id,
        "sent_at": now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "workspace": msg.workspace,
        "rule": msg.rule.as_ref().map(|(id, name)| json!({ "id": id, "name": name })),
        "title": msg.title,
        "text": msg.lines.join("\n"),
        "details": msg.details,
    })
}

/// Slack: a header and the finding lines as blocks (with `text` as the notification
/// fallback). Block texts are limited to 3000 characters; at most 20 lines are listed.
pub fn slack_body(msg: &Message) -> serde_json::Value {
    let mut lines: Vec<String> = msg.lines.iter().take(20).cloned().collect();
    if msg.lines.len() > 20 {
        lines.push(format!("… and {} more", msg.lines.len() - 20));
    }
    let mut text = lines.join("\n");
    if text.len() > 2900 {
        let mut end = 2900;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    json!({
        "text": msg.title,
        "blocks": [
            { "type": "header", "text": { "type": "plain_text", "text": clip(&msg.title, 150) } },
            { "type": "section", "text": { "type": "mrkdwn", "text": text } },
            { "type": "context", "elements": [ { "type": "mrkdwn", "text": format!("workspace *{}*", msg.workspace) } ] },
        ],
    })
}

/// Microsoft Teams: a legacy connector MessageCard (accepted by incoming webhooks and
/// workflow webhooks alike).
pub fn teams_body(msg: &Message) -> serde_json::Value {
    let worst = msg.findings.iter().map(|f| f.severity).max();
    let color = match worst {
        Some(Severity::Critical) => "B00020",
        Some(Severity::High) => "E65100",
        Some(Severity::Medium) => "F9A825",
        _ => "1565C0",
    };
    json!({
        "@type": "MessageCard",
        "@context": "https://schema.org/extensions",
        "summary": msg.title,
        "themeColor": color,
        "title": msg.title,
        "sections": [{
            "activityTitle": format!("Workspace {}", msg.workspace),
            "facts": msg.findings.iter().take(20).map(|f| json!({
                "name": format!("{} ({})", f.severity.as_str(), f.change.as_str()),
                "value": format!("{} - {}", f.control_id, if f.asset_name.is_empty() { &f.asset_id } else { &f.asset_name }),
            })).collect::<Vec<_>>(),
            "text": msg.lines.iter().take(20).cloned().collect::<Vec<_>>().join("\n\n"),
        }],
    })
}

fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out
}

fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Text and HTML bodies of an e-mail (everything from findings is escaped in the HTML).
pub fn email_bodies(msg: &Message, public_url: Option<&str>) -> (String, String) {
    let mut text = format!("{}\n\n{}\n", msg.title, msg.lines.join("\n"));
    let mut html = format!(
        "<!doctype html><html><body><h2>{}</h2><ul>{}</ul>",
        html_escape(&msg.title),
        msg.lines
            .iter()
            .map(|l| format!("<li>{}</li>\n", html_escape(l)))
            .collect::<String>()
    );
    if let Some(url) = public_url {
        let link = format!("{}/w/{}", url.trim_end_matches('/'), msg.workspace);
        text.push_str(&format!("\n{link}\n"));
        html.push_str(&format!(
            "<p><a href=\"{0}\">{0}</a></p>",
            html_escape(&link)
        ));
    }
    html.push_str("</body></html>");
    (text, html)
}
