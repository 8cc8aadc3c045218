//! The job API: start a connector scan or a re-evaluation (queued for a worker), list and read
//! jobs with their progress and errors, cancel one, change a connector's schedule.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use rampart_store::{Job, JobState, NewJob, Permission};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::admin::{ApiJson, WsObject};
use crate::api::{ApiPath, ApiQuery, page};
use crate::authz::{Caller, authorize};
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/workspaces/{ws}/connectors/{id}/scans",
            post(start_scan),
        )
        .route(
            "/api/v1/workspaces/{ws}/connectors/{id}/checks",
            post(start_check),
        )
        .route(
            "/api/v1/workspaces/{ws}/connectors/{id}/schedule",
            put(set_schedule),
        )
        .route(
            "/api/v1/workspaces/{ws}/evaluations",
            post(start_evaluation),
        )
        .route("/api/v1/workspaces/{ws}/jobs", get(list_jobs))
        .route("/api/v1/workspaces/{ws}/jobs/{id}", get(get_job))
        .route("/api/v1/workspaces/{ws}/jobs/{id}/cancel", post(cancel_job))
}

/// Queues a scan of the connector's cloud account; a worker collects, evaluates and records
/// it. Follow it at `/api/v1/workspaces/{ws}/jobs/{id}`.
#[utoipa::path(post, path = "/api/v1/workspaces/{ws}/connectors/{id}/scans", tag = "jobs",
    params(("ws" = String, Path, description = "Workspace slug"), ("id" = String, Path, description = "Connector id")),
    responses((status = 202, body = Job), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn start_scan(
    State(state): State<AppState>,
    auth: Caller,
    ApiPath(p): ApiPath<WsObject>,
) -> Result<(StatusCode, Json<Job>), ApiError> {
    let job = queue_for_connector(&state, &auth, &p.ws, NewJob::scan(&p.id)).await?;
    Ok((StatusCode::ACCEPTED, Json(job)))
}

/// Queues a connection check: a worker signs in with the connector's credentials and records
/// who the cloud says they are (or the refusal) in the job's result, without scanning.
#[utoipa::path(post, path = "/api/v1/workspaces/{ws}/connectors/{id}/checks", tag = "jobs",
    params(("ws" = String, Path, description = "Workspace slug"), ("id" = String, Path, description = "Connector id")),
    responses((status = 202, body = Job), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn start_check(
    State(state): State<AppState>,
    auth: Caller,
    ApiPath(p): ApiPath<WsObject>,
) -> Result<(StatusCode, Json<Job>), ApiError> {
    let job = queue_for_connector(&state, &auth, &p.ws, NewJob::check(&p.id)).await?;
    Ok((StatusCode::ACCEPTED, Json(job)))
}

/// Queues a connector's scan or check, or a re-evaluation, for a caller who may run scans (API
/// and web app).
pub(crate) async fn queue_for_connector(
    state: &AppState,
    auth: &Caller,
    ws: &str,
    job: NewJob,
) -> Result<Job, ApiError> {
    let ws = authorize(state, auth, ws, Permission::RunScans).await?;
    Ok(state
        .store
        .enqueue_job(ws.scope(), job, auth.event_in(ws.scope(), "job.enqueue"))
        .await?)
}

/// Queues a re-evaluation of the stored inventory with the current controls.
#[utoipa::path(post, path = "/api/v1/workspaces/{ws}/evaluations", tag = "jobs",
    params(("ws" = String, Path, description = "Workspace slug")),
    responses((status = 202, body = Job), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn start_evaluation(
    State(state): State<AppState>,
    auth: Caller,
    ApiPath(ws): ApiPath<String>,
) -> Result<(StatusCode, Json<Job>), ApiError> {
    let job = queue_for_connector(&state, &auth, &ws, NewJob::evaluate()).await?;
    Ok((StatusCode::ACCEPTED, Json(job)))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobParams {
    /// Only jobs in this state: queued, running, succeeded, failed, cancelled.
    pub state: Option<String>,
    /// Page size, 1 to 500 (default 50).
    pub limit: Option<u32>,
    /// Rows to skip.
    pub offset: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct JobList {
    pub items: Vec<Job>,
    pub total: u64,
    pub limit: u32,
    pub offset: u64,
}

/// The workspace's jobs, newest first.
#[utoipa::path(get, path = "/api/v1/workspaces/{ws}/jobs", tag = "jobs",
    params(("ws" = String, Path, description = "Workspace slug"), JobParams),
    responses((status = 200, body = JobList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn list_jobs(
    State(state): State<AppState>,
    auth: Caller,
    ApiPath(ws): ApiPath<String>,
    ApiQuery(p): ApiQuery<JobParams>,
) -> Result<Json<JobList>, ApiError> {
    let ws = authorize(&state, &auth, &ws, Permission::ReadData).await?;
    let filter = p.state.as_deref().map(str::parse::<JobState>).transpose()?;
    let jobs = state
        .store
        .list_jobs(ws.scope(), filter, page(p.limit, p.offset))
        .await?;
    Ok(Json(JobList {
        items: jobs.items,
        total: jobs.total,
        limit: jobs.limit,
        offset: jobs.offset,
    }))
}

/// One job: state, attempts, progress, the last error, the result (the scan it recorded and
/// the calls that failed per service and region).
#[utoipa::path(get, path = "/api/v1/workspaces/{ws}/jobs/{id}", tag = "jobs",
    params(("ws" = String, Path, description = "Workspace slug"), ("id" = String, Path, description = "Job id")),
    responses((status = 200, body = Job), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn get_job(
    State(state): State<AppState>,
    auth: Caller,
    ApiPath(p): ApiPath<WsObject>,
) -> Result<Json<Job>, ApiError> {
    let ws = authorize(&state, &auth, &p.ws, Permission::ReadData).await?;
    let job = state
        .store
        .job(ws.scope(), &p.id)
        .await?
        .ok_or_else(|| ApiError::not_found("job"))?;
    Ok(Json(job))
}

/// Cancels a job: a queued one at once, a running one at its worker's next heartbeat
/// (409 when it has already finished). Needs `run_scans`, or `export_data` for a report job.
#[utoipa::path(post, path = "/api/v1/workspaces/{ws}/jobs/{id}/cancel", tag = "jobs",
    params(("ws" = String, Path, description = "Workspace slug"), ("id" = String, Path, description = "Job id")),
    responses((status = 200, body = Job), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn cancel_job(
    State(state): State<AppState>,
    auth: Caller,
    ApiPath(p): ApiPath<WsObject>,
) -> Result<Json<Job>, ApiError> {
    // The store checks the permission of the job's kind: run_scans, or export_data for a report.
    let ws = authorize(&state, &auth, &p.ws, Permission::ReadData).await?;
    let job = state
        .store
        .cancel_job(ws.scope(), &p.id, auth.event_in(ws.scope(), "job.cancel"))
        .await?;
    Ok(Json(job))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ScheduleBody {
    /// Five-field cron expression in UTC (`minute hour day-of-month month day-of-week`), or
    /// `@hourly`, `@daily`, `@weekly`, `@monthly`.
    pub schedule: String,
}

/// Sets when the scheduler scans the connector.
#[utoipa::path(put, path = "/api/v1/workspaces/{ws}/connectors/{id}/schedule", tag = "jobs", request_body = ScheduleBody,
    params(("ws" = String, Path, description = "Workspace slug"), ("id" = String, Path, description = "Connector id")),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn set_schedule(
    State(state): State<AppState>,
    auth: Caller,
    ApiPath(p): ApiPath<WsObject>,
    ApiJson(body): ApiJson<ScheduleBody>,
) -> Result<StatusCode, ApiError> {
    let ws = authorize(&state, &auth, &p.ws, Permission::ManageConnectors).await?;
    state
        .store
        .set_connector_schedule(
            ws.scope(),
            &p.id,
            &body.schedule,
            auth.event_in(ws.scope(), "connector.schedule"),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
