//! Compliance pages: every framework with its score, and one framework requirement by
//! requirement → mapped controls (with their failing counts, linked to the findings) → report
//! download (PDF or HTML) for members allowed to export, either rendered on request or queued
//! as a report job whose file the page then lists (refreshing itself while one is pending).

use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::Utc;
use rampart_output::compliance::RequirementStatus;
use rampart_store::{JobKind, JobState, Page, Permission};
use serde::Deserialize;

use super::{Nav, UiCaller, UiError, render, segment};
use crate::error::ApiError;
use crate::state::AppState;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/w/{ws}/compliance", get(frameworks))
        .route("/w/{ws}/compliance/{id}", get(framework))
        .route("/w/{ws}/compliance/{id}/reports", post(queue_report))
}

struct FrameworkRow {
    id: String,
    name: String,
    version: String,
    percent: String,
    percent_int: u64,
    passing: usize,
    failing: usize,
    not_assessed: usize,
    manual: usize,
}

#[derive(Template)]
#[template(path = "compliance.html")]
struct FrameworksPage {
    nav: Option<Nav>,
    ws: String,
    may_export: bool,
    rows: Vec<FrameworkRow>,
}

async fn frameworks(
    State(state): State<AppState>,
    ui: UiCaller,
    Path(slug): Path<String>,
) -> Result<Response, UiError> {
    let ws = super::scoped(&state, &ui, &slug).await?;
    let catalog = state.catalog_for(ws.scope()).await?;
    let scores = crate::reports::workspace_scores(&ws, &catalog, Utc::now())
        .await
        .map_err(|e| ui.fail(ApiError::from(e)))?;
    let page = FrameworksPage {
        nav: Some(Nav::new(&ui.auth, Some(&slug))),
        may_export: ws.scope().allows(Permission::ExportData),
        ws: slug,
        rows: scores
            .into_iter()
            .map(|s| FrameworkRow {
                percent: format!("{:.0}%", s.percent),
                percent_int: s.percent.clamp(0.0, 100.0).round() as u64,
                id: s.framework_id,
                name: s.name,
                version: s.version,
                passing: s.passing,
                failing: s.failing,
                not_assessed: s.not_assessed,
                manual: s.manual,
            })
            .collect(),
    };
    Ok(render(&page))
}

struct ControlCell {
    id: String,
    title: String,
    failing: u64,
    passing: u64,
}

struct RequirementRow {
    id: String,
    title: String,
    status: &'static str,
    status_label: &'static str,
    controls: Vec<ControlCell>,
}

#[derive(Template)]
#[template(path = "compliance_framework.html")]
struct FrameworkPage {
    nav: Option<Nav>,
    ws: String,
    may_export: bool,
    id: String,
    id_enc: String,
    name: String,
    version: String,
    description: String,
    percent: String,
    percent_int: u64,
    passing: usize,
    failing: usize,
    not_assessed: usize,
    manual: usize,
    rows: Vec<RequirementRow>,
    csrf: String,
    /// Reports of this framework that report jobs rendered, newest first.
    stored: Vec<StoredReport>,
    /// Report jobs of this framework still queued or running (the page refreshes itself).
    pending: usize,
}

struct StoredReport {
    job_id: String,
    file_name: String,
    size: String,
    created: String,
}

fn status_of(s: &str) -> RequirementStatus {
    RequirementStatus::parse(s).unwrap_or(RequirementStatus::NotAssessed)
}

async fn framework(
    State(state): State<AppState>,
    ui: UiCaller,
    Path((slug, id)): Path<(String, String)>,
) -> Result<Response, UiError> {
    let ws = super::scoped(&state, &ui, &slug).await?;
    // The workspace's catalog: its custom controls are listed under their requirements.
    let catalog = state.catalog_for(ws.scope()).await?;
    let Some(fw) = catalog.framework(&id) else {
        return Err(ui.fail(ApiError::not_found("framework")));
    };
    let results = crate::reports::WorkspaceResults::read(&ws, Utc::now())
        .await
        .map_err(|e| ui.fail(ApiError::from(e)))?;
    let score = results
        .scores(&catalog)
        .into_iter()
        .find(|s| s.framework_id == fw.id)
        .ok_or_else(|| ui.fail(ApiError::not_found("framework")))?;
    let counts = results.per_control();
    let rows = score
        .requirements
        .iter()
        .map(|r| RequirementRow {
            id: r.id.clone(),
            title: r.title.clone(),
            status: status_of(r.status).class(),
            status_label: status_of(r.status).label(),
            controls: r
                .controls
                .iter()
                .map(|c| {
                    let (passing, failing) = counts.get(c).copied().unwrap_or_default();
                    ControlCell {
                        title: catalog
                            .control(c)
                            .map(|x| x.title.clone())
                            .unwrap_or_default(),
                        id: c.clone(),
                        failing,
                        passing,
                    }
                })
                .collect(),
        })
        .collect();
    let may_export = ws.scope().allows(Permission::ExportData);
    let (stored, pending) = if may_export {
        report_jobs(&state, &ws, &fw.id)
            .await
            .map_err(|e| ui.fail(ApiError::from(e)))?
    } else {
        (Vec::new(), 0)
    };
    let page = FrameworkPage {
        nav: Some(Nav::new(&ui.auth, Some(&slug))),
        may_export,
        csrf: ui.auth.0.csrf_token.clone(),
        stored,
        pending,
        ws: slug,
        id_enc: segment(&fw.id),
        id: fw.id.clone(),
        name: fw.name.clone(),
        version: fw.version.clone(),
        description: fw.description.clone(),
        percent: format!("{:.1}%", score.percent),
        percent_int: score.percent.clamp(0.0, 100.0).round() as u64,
        passing: score.passing,
        failing: score.failing,
        not_assessed: score.not_assessed,
        manual: score.manual,
        rows,
    };
    Ok(render(&page))
}

/// The framework's stored reports, and how many of its report jobs are still queued or running
/// (looked for among the newest 100 of each state).
async fn report_jobs(
    state: &AppState,
    ws: &rampart_store::WorkspaceStore,
    framework: &str,
) -> Result<(Vec<StoredReport>, usize), rampart_store::StoreError> {
    let stored = state
        .store
        .report_files(ws.scope(), Some(framework))
        .await?
        .into_iter()
        .map(|r| StoredReport {
            size: if r.size >= 1 << 20 {
                format!("{:.1} MiB", r.size as f64 / f64::from(1 << 20))
            } else {
                format!("{} KiB", r.size.div_ceil(1024))
            },
            created: super::when(r.created_at),
            job_id: r.job_id,
            file_name: r.file_name,
        })
        .collect();
    let mut pending = 0;
    for s in [JobState::Queued, JobState::Running] {
        pending += state
            .store
            .list_jobs(ws.scope(), Some(s), Page::new(100, 0))
            .await?
            .items
            .iter()
            .filter(|j| {
                j.kind == JobKind::Report
                    && j.params.get("framework").and_then(|f| f.as_str()) == Some(framework)
            })
            .count();
    }
    Ok((stored, pending))
}

#[derive(Deserialize)]
struct QueueReportForm {
    format: String,
}

/// Queues a report job for the framework, then shows the page, which lists the file once a
/// worker rendered it.
async fn queue_report(
    State(state): State<AppState>,
    ui: UiCaller,
    Path((slug, id)): Path<(String, String)>,
    Form(form): Form<QueueReportForm>,
) -> Result<Response, UiError> {
    crate::reports::queue_report_job(&state, &ui.caller, &slug, &id, Some(&form.format))
        .await
        .map_err(|e| ui.fail(e))?;
    Ok(Redirect::to(&format!(
        "/w/{}/compliance/{}#reports",
        segment(&slug),
        segment(&id)
    ))
    .into_response())
}
