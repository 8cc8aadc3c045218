//! The notifications page of a workspace: channels (signed webhook, Slack, Teams, e-mail, Jira)
//! with a test message each, rules (minimum severity, frameworks, a CEL scope, new and
//! regressed findings) and the delivery log. The same store calls and checks as the
//! `/api/v1/workspaces/{ws}/notifications/...` API; secrets are write-only here too.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use rampart_model::Severity;
use rampart_store::{ChannelInput, ChannelKind, Page, Permission, RuleInput};
use serde_json::{Value, json};

use super::{Nav, UiCaller, UiError, render, scoped, when};
use crate::error::ApiError;
use crate::notifications as notify;
use crate::state::AppState;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/w/{ws}/notifications", get(page))
        .route("/w/{ws}/notifications/channels", post(add_channel))
        .route(
            "/w/{ws}/notifications/channels/{id}/test",
            post(test_channel),
        )
        .route(
            "/w/{ws}/notifications/channels/{id}/delete",
            post(delete_channel),
        )
        .route("/w/{ws}/notifications/rules", post(add_rule))
        .route("/w/{ws}/notifications/rules/{id}/delete", post(delete_rule))
}

struct ChannelRow {
    id: String,
    name: String,
    kind: String,
    target: String,
    enabled: bool,
    has_secret: bool,
}

struct RuleRow {
    id: String,
    name: String,
    min_severity: &'static str,
    frameworks: String,
    scope: String,
    triggers: String,
    channels: String,
    enabled: bool,
}

struct DeliveryRow {
    when: String,
    channel: String,
    purpose: String,
    state: String,
    attempts: u32,
    findings: u32,
    detail: String,
}

struct Choice {
    value: String,
    label: String,
}

#[derive(Template)]
#[template(path = "notifications.html")]
struct NotificationsPage {
    nav: Option<Nav>,
    ws: String,
    csrf: String,
    manage: bool,
    notice: Option<String>,
    error: Option<String>,
    channels: Vec<ChannelRow>,
    rules: Vec<RuleRow>,
    deliveries: Vec<DeliveryRow>,
    frameworks: Vec<Choice>,
    severities: Vec<&'static str>,
}

fn kind_name(kind: ChannelKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Where a channel sends, from its readable settings (secrets are never shown).
fn target(kind: ChannelKind, settings: &Value, has_secret: bool) -> String {
    let text = |k: &str| settings.get(k).and_then(Value::as_str).unwrap_or_default();
    match kind {
        ChannelKind::Webhook => text("url").to_owned(),
        ChannelKind::Slack | ChannelKind::Teams => if has_secret {
            "incoming webhook (URL stored sealed)"
        } else {
            "no webhook URL stored"
        }
        .to_owned(),
        ChannelKind::Email => settings
            .get("recipients")
            .and_then(Value::as_array)
            .map(|r| {
                r.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default(),
        ChannelKind::Jira => format!("{} · project {}", text("site_url"), text("project_key")),
    }
}

async fn render_page(
    state: &AppState,
    ui: &UiCaller,
    slug: &str,
    notice: Option<String>,
    error: Option<String>,
) -> Result<Response, UiError> {
    let ws = scoped(state, ui, slug).await?;
    let scope = ws.scope();
    let channels = state.store.list_channels(scope).await?;
    let names: std::collections::HashMap<String, String> = channels
        .iter()
        .map(|c| (c.id.clone(), c.name.clone()))
        .collect();
    let rules = state.store.list_rules(scope).await?;
    let deliveries = state
        .store
        .list_deliveries(scope, None, Page::new(20, 0))
        .await?;
    let page = NotificationsPage {
        nav: Some(Nav::new(&ui.auth, Some(slug))),
        ws: slug.to_owned(),
        csrf: ui.auth.0.csrf_token.clone(),
        manage: scope.allows(Permission::ManageSettings),
        notice,
        error,
        channels: channels
            .iter()
            .map(|c| ChannelRow {
                id: c.id.clone(),
                name: c.name.clone(),
                kind: kind_name(c.kind),
                target: target(c.kind, &c.settings, c.has_secret),
                enabled: c.enabled,
                has_secret: c.has_secret,
            })
            .collect(),
        rules: rules
            .into_iter()
            .map(|r| RuleRow {
                id: r.id,
                name: r.name,
                min_severity: r.min_severity.as_str(),
                frameworks: if r.frameworks.is_empty() {
                    "any".into()
                } else {
                    r.frameworks.join(", ")
                },
                scope: r.scope.unwrap_or_default(),
                triggers: match (r.on_new, r.on_regressed) {
                    (true, true) => "new, regressed",
                    (true, false) => "new",
                    (false, true) => "regressed",
                    (false, false) => "none",
                }
                .into(),
                channels: r
                    .channels
                    .iter()
                    .map(|id| names.get(id).cloned().unwrap_or_else(|| id.clone()))
                    .collect::<Vec<_>>()
                    .join(", "),
                enabled: r.enabled,
            })
            .collect(),
        deliveries: deliveries
            .items
            .into_iter()
            .map(|d| DeliveryRow {
                when: when(d.updated_at),
                channel: names.get(&d.channel_id).cloned().unwrap_or(d.channel_id),
                purpose: serde_json::to_value(d.purpose)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                state: d.state,
                attempts: d.attempts,
                findings: d.findings,
                detail: match (d.status_code, d.error) {
                    (_, Some(e)) => e,
                    (Some(code), None) => format!("HTTP {code}"),
                    (None, None) => String::new(),
                },
            })
            .collect(),
        frameworks: state
            .catalog
            .frameworks()
            .iter()
            .map(|f| Choice {
                value: f.id.clone(),
                label: f.name.clone(),
            })
            .collect(),
        severities: Severity::ALL.iter().map(|s| s.as_str()).collect(),
    };
    Ok(render(&page))
}

async fn page(
    State(state): State<AppState>,
    ui: UiCaller,
    Path(slug): Path<String>,
) -> Result<Response, UiError> {
    render_page(&state, &ui, &slug, None, None).await
}

use super::form_fields as fields;

/// A field's first value, trimmed.
fn one<'a>(form: &'a [(String, String)], name: &str) -> &'a str {
    super::form_value(form, name).trim()
}

fn all(form: &[(String, String)], name: &str) -> Vec<String> {
    form.iter()
        .filter(|(k, v)| k == name && !v.trim().is_empty())
        .map(|(_, v)| v.trim().to_owned())
        .collect()
}

/// The channel a form describes; a problem is a message for the page.
fn channel_input(form: &[(String, String)]) -> Result<ChannelInput, String> {
    let kind: ChannelKind = serde_json::from_value(json!(one(form, "kind")))
        .map_err(|_| "choose a channel kind".to_owned())?;
    let secret = |name: &str| Some(one(form, name).to_owned()).filter(|s| !s.is_empty());
    let (settings, secret) = match kind {
        ChannelKind::Webhook => (json!({ "url": one(form, "url") }), secret("secret")),
        ChannelKind::Slack | ChannelKind::Teams => (json!({}), secret("url")),
        ChannelKind::Email => (
            json!({
                "recipients": one(form, "recipients")
                    .split([',', ';', ' ', '\n'])
                    .map(str::trim)
                    .filter(|r| !r.is_empty())
                    .collect::<Vec<_>>(),
            }),
            None,
        ),
        ChannelKind::Jira => (
            json!({
                "site_url": one(form, "site_url"),
                "project_key": one(form, "project_key"),
                "email": one(form, "jira_email"),
            }),
            secret("secret"),
        ),
    };
    Ok(ChannelInput {
        name: one(form, "name").to_owned(),
        kind,
        settings,
        secret,
        enabled: true,
        digest: kind == ChannelKind::Email && one(form, "digest") == "on",
    })
}

/// A refusal the person can fix (400, 409) goes back to the page as a message; anything else
/// is an error page.
async fn outcome(
    state: &AppState,
    ui: &UiCaller,
    slug: &str,
    result: Result<String, ApiError>,
) -> Result<Response, UiError> {
    match result {
        Ok(done) => render_page(state, ui, slug, Some(done), None).await,
        Err(e) if matches!(e.status.as_u16(), 400 | 409) => {
            render_page(state, ui, slug, None, Some(e.message.clone())).await
        }
        Err(e) => Err(ui.fail(e)),
    }
}

async fn add_channel(
    State(state): State<AppState>,
    ui: UiCaller,
    Path(slug): Path<String>,
    body: Bytes,
) -> Result<Response, UiError> {
    let form = fields(&body);
    let result = async {
        let input = channel_input(&form).map_err(ApiError::bad_request)?;
        let c = notify::new_channel(&state, &ui.caller, &slug, &input).await?;
        Ok(format!("Channel {} added.", c.name))
    }
    .await;
    outcome(&state, &ui, &slug, result).await
}

async fn test_channel(
    State(state): State<AppState>,
    ui: UiCaller,
    Path((slug, id)): Path<(String, String)>,
) -> Result<Response, UiError> {
    let result = notify::queue_test(&state, &ui.caller, &slug, &id)
        .await
        .map(|job| {
            format!(
                "Test message queued (job {}); its delivery appears below once a worker sends it.",
                job.id
            )
        });
    outcome(&state, &ui, &slug, result).await
}

async fn delete_channel(
    State(state): State<AppState>,
    ui: UiCaller,
    Path((slug, id)): Path<(String, String)>,
) -> Result<Response, UiError> {
    notify::remove_channel(&state, &ui.caller, &slug, &id)
        .await
        .map_err(|e| ui.fail(e))?;
    Ok(Redirect::to(&format!("/w/{slug}/notifications#channels")).into_response())
}

async fn add_rule(
    State(state): State<AppState>,
    ui: UiCaller,
    Path(slug): Path<String>,
    body: Bytes,
) -> Result<Response, UiError> {
    let form = fields(&body);
    let result = async {
        let min_severity: Severity = serde_json::from_value(json!(one(&form, "min_severity")))
            .map_err(|_| ApiError::bad_request("choose a minimum severity"))?;
        let input = RuleInput {
            name: one(&form, "name").to_owned(),
            min_severity,
            frameworks: all(&form, "frameworks"),
            scope: Some(one(&form, "scope").to_owned()).filter(|s| !s.is_empty()),
            on_new: one(&form, "on_new") == "on",
            on_regressed: one(&form, "on_regressed") == "on",
            channels: all(&form, "channels"),
            enabled: true,
        };
        if input.channels.is_empty() {
            return Err(ApiError::bad_request(
                "invalid channels: choose at least one channel",
            ));
        }
        let r = notify::new_rule(&state, &ui.caller, &slug, &input).await?;
        Ok(format!("Rule {} added.", r.name))
    }
    .await;
    outcome(&state, &ui, &slug, result).await
}

async fn delete_rule(
    State(state): State<AppState>,
    ui: UiCaller,
    Path((slug, id)): Path<(String, String)>,
) -> Result<Response, UiError> {
    notify::remove_rule(&state, &ui.caller, &slug, &id)
        .await
        .map_err(|e| ui.fail(e))?;
    Ok(Redirect::to(&format!("/w/{slug}/notifications#rules")).into_response())
}
