//! Compliance pages: every framework with its score, and one framework requirement by
//! requirement → mapped controls (with their failing counts, linked to the findings) → report
//! download (PDF or HTML) for members allowed to export.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use chrono::Utc;
use rampart_output::compliance::RequirementStatus;
use rampart_store::Permission;

use super::{Nav, UiCaller, UiError, render, segment};
use crate::error::ApiError;
use crate::state::AppState;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/w/{ws}/compliance", get(frameworks))
        .route("/w/{ws}/compliance/{id}", get(framework))
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
    let scores = crate::reports::workspace_scores(&ws, &state.catalog, Utc::now())
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
    let Some(fw) = state.catalog.framework(&id) else {
        return Err(ui.fail(ApiError::not_found("framework")));
    };
    let results = crate::reports::WorkspaceResults::read(&ws, Utc::now())
        .await
        .map_err(|e| ui.fail(ApiError::from(e)))?;
    let score = results
        .scores(&state.catalog)
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
                        title: state
                            .catalog
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
    let page = FrameworkPage {
        nav: Some(Nav::new(&ui.auth, Some(&slug))),
        may_export: ws.scope().allows(Permission::ExportData),
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
