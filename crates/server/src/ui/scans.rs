//! The scans page: connectors with "scan now", the job queue with live progress (the page
//! refreshes itself every 5 seconds while a job is queued or running — a meta refresh, no script
//! needed), the calls that failed per service and region, cancellation, and the scan history.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use rampart_store::{JobState, NewJob, Page, Permission};
use serde_json::Value;

use super::{Nav, UiCaller, UiError, render, segment, when};
use crate::state::AppState;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/w/{ws}/scans", get(scans))
        .route("/w/{ws}/connectors/{id}/scan", post(scan_now))
        .route("/w/{ws}/evaluations", post(evaluate_now))
        .route("/w/{ws}/jobs/{id}/cancel", post(cancel))
}

struct ConnectorRow {
    id: String,
    name: String,
    provider: String,
    schedule: String,
}

struct FailedCall {
    account: String,
    service: String,
    region: String,
    operation: String,
    message: String,
}

struct JobRow {
    id: String,
    kind: &'static str,
    what: String,
    state: &'static str,
    created: String,
    attempts: String,
    progress: Option<String>,
    outcome: Option<String>,
    last_error: Option<String>,
    failed_calls: Vec<FailedCall>,
    cancellable: bool,
}

struct ScanRow {
    id: String,
    source: String,
    started: String,
    assets: u64,
    pass: u64,
    fail: u64,
    error: u64,
    /// Stored assets the scan found gone.
    gone: u64,
}

#[derive(Template)]
#[template(path = "scans.html")]
struct ScansPage {
    nav: Option<Nav>,
    ws: String,
    csrf: String,
    may_scan: bool,
    live: bool,
    connectors: Vec<ConnectorRow>,
    jobs: Vec<JobRow>,
    scans: Vec<ScanRow>,
}

fn text(v: &Value, key: &str) -> String {
    match v.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// "12 / 40 · ec2 eu-west-1 · 1 failed call" from a job's progress.
fn progress_text(p: &Value) -> String {
    let mut parts = Vec::new();
    if let (Some(done), Some(total)) = (p.get("done"), p.get("total")) {
        parts.push(format!("{done} / {total}"));
    }
    let current = text(p, "current");
    if !current.trim().is_empty() {
        parts.push(current.trim().to_owned());
    }
    if let Some(n) = p
        .get("failed_calls")
        .and_then(Value::as_u64)
        .filter(|n| *n > 0)
    {
        parts.push(format!("{n} failed call(s)"));
    }
    if parts.is_empty() {
        text(p, "step")
    } else {
        parts.join(" · ")
    }
}

async fn scans(
    State(state): State<AppState>,
    ui: UiCaller,
    Path(slug): Path<String>,
) -> Result<Response, UiError> {
    let ws = super::scoped(&state, &ui, &slug).await?;
    let scope = ws.scope().clone();
    let connectors = state
        .store
        .list_connectors(&scope)
        .await
        .map_err(|e| ui.fail(e.into()))?;
    let names: std::collections::HashMap<String, String> = connectors
        .iter()
        .map(|c| (c.id.clone(), c.name.clone()))
        .collect();
    let jobs = state
        .store
        .list_jobs(&scope, None, Page::new(30, 0))
        .await
        .map_err(|e| ui.fail(e.into()))?;
    let live = jobs
        .items
        .iter()
        .any(|j| matches!(j.state, JobState::Queued | JobState::Running));
    let job_rows = jobs
        .items
        .iter()
        .map(|j| {
            let what = match &j.connector_id {
                Some(id) => names
                    .get(id)
                    .map(|n| format!("connector {n}"))
                    .unwrap_or_else(|| "a deleted connector".to_owned()),
                None => text(&j.params, "file"),
            };
            let result = j.result.clone().unwrap_or(Value::Null);
            let outcome = j.result.as_ref().map(|r| {
                let mut parts = Vec::new();
                if let Some(a) = r.get("assets") {
                    parts.push(format!("{a} assets"));
                }
                if let Some(f) = r.get("failed") {
                    parts.push(format!("{f} failing"));
                }
                if let Some(n) = r
                    .get("failed_calls")
                    .and_then(Value::as_u64)
                    .filter(|n| *n > 0)
                {
                    parts.push(format!("{n} failed call(s)"));
                }
                parts.join(" · ")
            });
            let failed_calls = result
                .get("errors")
                .and_then(Value::as_array)
                .map(|errors| {
                    errors
                        .iter()
                        .map(|e| FailedCall {
                            account: text(e, "account"),
                            service: text(e, "service"),
                            region: text(e, "region"),
                            operation: text(e, "operation"),
                            message: text(e, "message"),
                        })
                        .collect()
                })
                .unwrap_or_default();
            JobRow {
                id: j.id.clone(),
                kind: j.kind.as_str(),
                what,
                state: j.state.as_str(),
                created: when(j.created_at),
                attempts: format!("{}/{}", j.attempts, j.max_attempts),
                progress: (j.state == JobState::Running)
                    .then(|| j.progress.as_ref().map(progress_text))
                    .flatten(),
                outcome,
                last_error: j.last_error.clone(),
                failed_calls,
                cancellable: matches!(j.state, JobState::Queued | JobState::Running)
                    && !j.cancel_requested,
            }
        })
        .collect();
    let scans = ws
        .list_scans(Page::new(20, 0))
        .await
        .map_err(|e| ui.fail(e.into()))?;
    let page = ScansPage {
        nav: Some(Nav::new(&ui.auth, Some(&slug))),
        csrf: ui.auth.0.csrf_token.clone(),
        may_scan: scope.allows(Permission::RunScans),
        live,
        ws: slug,
        connectors: connectors
            .into_iter()
            .map(|c| ConnectorRow {
                id: c.id,
                name: c.name,
                provider: c.provider,
                schedule: c.schedule,
            })
            .collect(),
        jobs: job_rows,
        scans: scans
            .items
            .into_iter()
            .map(|s| ScanRow {
                id: s.id,
                source: s.source,
                started: when(s.started_at),
                assets: s.asset_count,
                pass: s.pass_count,
                fail: s.fail_count,
                error: s.error_count,
                gone: s.gone_count,
            })
            .collect(),
    };
    Ok(render(&page))
}

async fn scan_now(
    State(state): State<AppState>,
    ui: UiCaller,
    Path((slug, id)): Path<(String, String)>,
) -> Result<Response, UiError> {
    crate::jobs::queue_for_connector(&state, &ui.caller, &slug, NewJob::scan(&id))
        .await
        .map_err(|e| ui.fail(e))?;
    Ok(Redirect::to(&format!("/w/{}/scans", segment(&slug))).into_response())
}

/// Queues a re-evaluation of the stored inventory with the current controls.
async fn evaluate_now(
    State(state): State<AppState>,
    ui: UiCaller,
    Path(slug): Path<String>,
) -> Result<Response, UiError> {
    crate::jobs::queue_for_connector(&state, &ui.caller, &slug, NewJob::evaluate())
        .await
        .map_err(|e| ui.fail(e))?;
    Ok(Redirect::to(&format!("/w/{}/scans", segment(&slug))).into_response())
}

async fn cancel(
    State(state): State<AppState>,
    ui: UiCaller,
    Path((slug, id)): Path<(String, String)>,
) -> Result<Response, UiError> {
    let ws = crate::authz::authorize(&state, &ui.caller, &slug, Permission::RunScans)
        .await
        .map_err(|e| ui.fail(e))?;
    state
        .store
        .cancel_job(
            ws.scope(),
            &id,
            ui.caller.event_in(ws.scope(), "job.cancel"),
        )
        .await
        .map_err(|e| ui.fail(e.into()))?;
    Ok(Redirect::to(&format!("/w/{}/scans", segment(&slug))).into_response())
}
