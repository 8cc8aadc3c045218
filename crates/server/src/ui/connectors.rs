//! Connectors: the workspace's cloud accounts, with onboarding steps and the read-only templates
//! to download for each provider, a form per provider to add one (credentials are sealed by the
//! store and never shown again), and deletion. Scans of a connector start on the scans page.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use rampart_store::Permission;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Nav, UiCaller, UiError, render, segment, when};
use crate::error::ApiError;
use crate::state::AppState;

/// Onboarding templates served for download: `(provider, file name, content)`.
const TEMPLATES: &[(&str, &str, &str)] = &[
    (
        "aws",
        "rampart-readonly-role.yaml",
        include_str!("../../../../deploy/aws/cloudformation/rampart-readonly-role.yaml"),
    ),
    (
        "aws",
        "main.tf",
        include_str!("../../../../deploy/aws/terraform/main.tf"),
    ),
    (
        "gcp",
        "main.tf",
        include_str!("../../../../deploy/gcp/terraform/main.tf"),
    ),
    (
        "gcp",
        "variables.tf",
        include_str!("../../../../deploy/gcp/terraform/variables.tf"),
    ),
    (
        "gcp",
        "outputs.tf",
        include_str!("../../../../deploy/gcp/terraform/outputs.tf"),
    ),
    (
        "azure",
        "main.tf",
        include_str!("../../../../deploy/azure/terraform/main.tf"),
    ),
    (
        "azure",
        "variables.tf",
        include_str!("../../../../deploy/azure/terraform/variables.tf"),
    ),
    (
        "azure",
        "outputs.tf",
        include_str!("../../../../deploy/azure/terraform/outputs.tf"),
    ),
];

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/w/{ws}/connectors", get(connectors))
        .route("/w/{ws}/connectors/new/{provider}", post(create))
        .route("/w/{ws}/connectors/{id}/delete", post(delete))
        .route("/w/{ws}/connectors/{id}/check", post(check))
        .route("/onboarding/{provider}/{file}", get(template))
}

struct Row {
    id: String,
    name: String,
    provider: String,
    summary: String,
    schedule: String,
    created: String,
    /// The latest connection check: when, whether it passed, and who or why.
    check: Option<CheckRow>,
}

struct CheckRow {
    when: String,
    state: &'static str,
    detail: String,
}

struct Download {
    provider: &'static str,
    file: &'static str,
}

#[derive(Template)]
#[template(path = "connectors.html")]
struct ConnectorsPage {
    nav: Option<Nav>,
    ws: String,
    csrf: String,
    may_manage: bool,
    /// May queue scans and connection checks.
    may_run: bool,
    /// A connection check is queued or running: the page refreshes itself.
    live: bool,
    rows: Vec<Row>,
    downloads: Vec<Download>,
}

/// What identifies the account of a connector, from its non-secret settings.
fn summary(provider: &str, settings: &Value) -> String {
    let s = |k: &str| settings.get(k).and_then(Value::as_str).unwrap_or_default();
    match provider {
        "aws" if !s("role_arn").is_empty() => format!("role {}", s("role_arn")),
        "aws" => "the worker's own AWS identity".to_owned(),
        "gcp" => s("scope").to_owned(),
        "azure" => format!("tenant {}", s("tenant_id")),
        _ => String::new(),
    }
}

async fn connectors(
    State(state): State<AppState>,
    ui: UiCaller,
    Path(slug): Path<String>,
) -> Result<Response, UiError> {
    let ws = super::scoped(&state, &ui, &slug).await?;
    let list = state
        .store
        .list_connectors(ws.scope())
        .await
        .map_err(|e| ui.fail(e.into()))?;
    // The latest check of each connector, among the workspace's recent jobs (bounded).
    let recent = state
        .store
        .list_jobs(ws.scope(), None, rampart_store::Page::new(200, 0))
        .await
        .map_err(|e| ui.fail(e.into()))?;
    let mut checks: std::collections::HashMap<String, CheckRow> = std::collections::HashMap::new();
    for j in recent
        .items
        .iter()
        .filter(|j| j.kind == rampart_store::JobKind::Check)
    {
        let Some(c) = &j.connector_id else { continue };
        if checks.contains_key(c) {
            continue; // newest first
        }
        let (state, detail) = match j.state {
            rampart_store::JobState::Succeeded => (
                "connected",
                j.result
                    .as_ref()
                    .and_then(|r| r.pointer("/identity/principal"))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
            ),
            rampart_store::JobState::Failed | rampart_store::JobState::Cancelled => {
                ("failed", j.last_error.clone().unwrap_or_default())
            }
            _ => ("checking", String::new()),
        };
        checks.insert(
            c.clone(),
            CheckRow {
                when: when(j.created_at),
                state,
                detail,
            },
        );
    }
    let page = ConnectorsPage {
        nav: Some(Nav::new(&ui.auth, Some(&slug))),
        csrf: ui.auth.0.csrf_token.clone(),
        may_manage: ws.scope().allows(Permission::ManageConnectors),
        may_run: ws.scope().allows(Permission::RunScans),
        live: checks.values().any(|c| c.state == "checking"),
        ws: slug,
        rows: list
            .into_iter()
            .map(|c| Row {
                check: checks.remove(&c.id),
                summary: summary(&c.provider, &c.settings),
                id: c.id,
                name: c.name,
                provider: c.provider,
                schedule: c.schedule,
                created: when(c.created_at),
            })
            .collect(),
        downloads: TEMPLATES
            .iter()
            .map(|(provider, file, _)| Download { provider, file })
            .collect(),
    };
    Ok(render(&page))
}

/// Queues a connection check and comes back to the list (it shows the result when the worker
/// has run it; the page refreshes itself while one is in flight).
async fn check(
    State(state): State<AppState>,
    ui: UiCaller,
    Path((slug, id)): Path<(String, String)>,
) -> Result<Response, UiError> {
    crate::jobs::queue_for_connector(&state, &ui.caller, &slug, rampart_store::NewJob::check(&id))
        .await
        .map_err(|e| ui.fail(e))?;
    Ok(Redirect::to(&format!("/w/{}/connectors#connectors", segment(&slug))).into_response())
}

#[derive(Deserialize)]
struct NewConnectorForm {
    name: String,
    // AWS
    #[serde(default)]
    role_arn: String,
    #[serde(default)]
    external_id: String,
    #[serde(default)]
    regions: String,
    // GCP
    #[serde(default)]
    scope: String,
    #[serde(default)]
    key_json: String,
    // Azure
    #[serde(default)]
    tenant_id: String,
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    client_secret: String,
    #[serde(default)]
    subscriptions: String,
}

fn list(text: &str) -> Vec<String> {
    text.split([',', ' ', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn required(value: &str, what: &str) -> Result<String, ApiError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(ApiError::bad_request(format!("invalid {what}: required")));
    }
    Ok(v.to_owned())
}

/// Settings and secret of a new connector, checked per provider.
fn settings_of(provider: &str, f: &NewConnectorForm) -> Result<(Value, Vec<u8>), ApiError> {
    match provider {
        "aws" => {
            let mut settings = json!({});
            if !f.role_arn.trim().is_empty() {
                if !f.role_arn.trim().starts_with("arn:") {
                    return Err(ApiError::bad_request(
                        "invalid role ARN: must start with arn: (e.g. arn:aws:iam::111122223333:role/RampartReadOnly)",
                    ));
                }
                settings["role_arn"] = json!(f.role_arn.trim());
            }
            if !f.external_id.trim().is_empty() {
                settings["external_id"] = json!(f.external_id.trim());
            }
            let regions = list(&f.regions);
            if !regions.is_empty() {
                settings["regions"] = json!(regions);
            }
            Ok((settings, b"{}".to_vec()))
        }
        "gcp" => {
            let scope = required(&f.scope, "scope")?;
            if !(scope.starts_with("projects/")
                || scope.starts_with("folders/")
                || scope.starts_with("organizations/"))
            {
                return Err(ApiError::bad_request(
                    "invalid scope: must be projects/ID, folders/NUMBER or organizations/NUMBER",
                ));
            }
            let key: Value = serde_json::from_str(f.key_json.trim()).map_err(|_| {
                ApiError::bad_request("invalid service-account key: not JSON (paste the key file)")
            })?;
            if key.get("type").and_then(Value::as_str) != Some("service_account")
                || key.get("private_key").and_then(Value::as_str).is_none()
                || key.get("client_email").and_then(Value::as_str).is_none()
            {
                return Err(ApiError::bad_request(
                    "invalid service-account key: needs type service_account, client_email and private_key",
                ));
            }
            Ok((json!({"scope": scope}), key.to_string().into_bytes()))
        }
        "azure" => {
            let mut settings = json!({
                "tenant_id": required(&f.tenant_id, "tenant id")?,
                "client_id": required(&f.client_id, "client id")?,
            });
            let subs = list(&f.subscriptions);
            if !subs.is_empty() {
                settings["subscriptions"] = json!(subs);
            }
            let secret = required(&f.client_secret, "client secret")?;
            Ok((
                settings,
                json!({"client_secret": secret}).to_string().into_bytes(),
            ))
        }
        _ => Err(ApiError::not_found("provider")),
    }
}

async fn create(
    State(state): State<AppState>,
    ui: UiCaller,
    Path((slug, provider)): Path<(String, String)>,
    Form(form): Form<NewConnectorForm>,
) -> Result<Response, UiError> {
    let ws = crate::authz::authorize(&state, &ui.caller, &slug, Permission::ManageConnectors)
        .await
        .map_err(|e| ui.fail(e))?;
    let (settings, secret) = settings_of(&provider, &form).map_err(|e| ui.fail(e))?;
    state
        .store
        .create_connector(
            ws.scope(),
            &form.name,
            &provider,
            &settings,
            &secret,
            &state.vault,
            ui.caller.event_in(ws.scope(), "connector.create"),
        )
        .await
        .map_err(|e| ui.fail(e.into()))?;
    Ok(Redirect::to(&format!("/w/{}/connectors", segment(&slug))).into_response())
}

async fn delete(
    State(state): State<AppState>,
    ui: UiCaller,
    Path((slug, id)): Path<(String, String)>,
) -> Result<Response, UiError> {
    let ws = crate::authz::authorize(&state, &ui.caller, &slug, Permission::ManageConnectors)
        .await
        .map_err(|e| ui.fail(e))?;
    state
        .store
        .delete_connector(
            ws.scope(),
            &id,
            ui.caller.event_in(ws.scope(), "connector.delete"),
        )
        .await
        .map_err(|e| ui.fail(e.into()))?;
    Ok(Redirect::to(&format!("/w/{}/connectors", segment(&slug))).into_response())
}

/// The onboarding templates are public documents (they hold no account data): served to anyone
/// signed in or not, as attachments.
async fn template(Path((provider, file)): Path<(String, String)>) -> Response {
    match TEMPLATES
        .iter()
        .find(|(p, f, _)| *p == provider && *f == file)
    {
        Some((p, f, body)) => (
            [
                (header::CONTENT_TYPE, "text/plain; charset=utf-8".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"rampart-{p}-{f}\""),
                ),
            ],
            *body,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such template").into_response(),
    }
}
