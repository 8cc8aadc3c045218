//! Finding exemptions over the API: `POST /api/v1/workspaces/{ws}/findings/{id}/exemption`
//! exempts a failing finding with a reason and an expiry, `DELETE` on the same path reopens it.
//! Both need [`Permission::ManageFindings`] and are audited by the store in the same
//! transaction. The web app's finding page calls the same functions.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use rampart_store::{Exemption, Permission};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::admin::ApiJson;
use crate::api::ApiPath;
use crate::authz::{Caller, authorize};
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/workspaces/{ws}/findings/{id}/exemption",
            post(exempt).delete(reopen),
        )
        .route(
            "/api/v1/workspaces/{ws}/findings/exemptions",
            post(exempt_many),
        )
}

/// Several findings accepted as a risk at once (all or none).
#[derive(Debug, Deserialize, ToSchema)]
pub struct BulkExemption {
    /// 1 to 500 finding ids of this workspace.
    pub finding_ids: Vec<String>,
    /// 1 to 1000 characters.
    pub reason: String,
    /// In the future, at most 366 days away.
    pub expires_at: DateTime<Utc>,
}

/// Exempts several findings in one transaction (shared by the API and the web app).
pub(crate) async fn exempt_findings(
    state: &AppState,
    auth: &Caller,
    ws: &str,
    body: &BulkExemption,
) -> Result<Vec<Exemption>, ApiError> {
    let ws = authorize(state, auth, ws, Permission::ManageFindings).await?;
    Ok(ws
        .exempt_findings(
            &body.finding_ids,
            &body.reason,
            body.expires_at,
            auth.event_in(ws.scope(), "finding.exempt"),
        )
        .await?)
}

/// Exempts several findings with one reason and expiry: all of them or, when one id is unknown
/// or the input is invalid, none. Each is audited as its own `finding.exempt` entry.
#[utoipa::path(post, path = "/api/v1/workspaces/{ws}/findings/exemptions", tag = "findings",
    request_body = BulkExemption,
    params(("ws" = String, Path, description = "Workspace slug")),
    responses((status = 200, body = Vec<Exemption>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn exempt_many(
    State(state): State<AppState>,
    auth: Caller,
    ApiPath(ws): ApiPath<String>,
    ApiJson(body): ApiJson<BulkExemption>,
) -> Result<Json<Vec<Exemption>>, ApiError> {
    Ok(Json(exempt_findings(&state, &auth, &ws, &body).await?))
}

/// Why and until when a finding is accepted as a risk.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewExemption {
    /// 1 to 1000 characters.
    pub reason: String,
    /// In the future, at most 366 days away.
    pub expires_at: DateTime<Utc>,
}

/// Exempts a finding (shared by the API and the web app).
pub(crate) async fn exempt_finding(
    state: &AppState,
    auth: &Caller,
    ws: &str,
    finding_id: &str,
    body: &NewExemption,
) -> Result<Exemption, ApiError> {
    let ws = authorize(state, auth, ws, Permission::ManageFindings).await?;
    Ok(ws
        .exempt_finding(
            finding_id,
            &body.reason,
            body.expires_at,
            auth.event_in(ws.scope(), "finding.exempt"),
        )
        .await?)
}

/// Reopens an exempted finding (shared by the API and the web app).
pub(crate) async fn reopen_finding(
    state: &AppState,
    auth: &Caller,
    ws: &str,
    finding_id: &str,
) -> Result<(), ApiError> {
    let ws = authorize(state, auth, ws, Permission::ManageFindings).await?;
    ws.reopen_finding(finding_id, auth.event_in(ws.scope(), "finding.reopen"))
        .await?;
    Ok(())
}

/// Exempts a finding: an accepted risk with a reason and an expiry (who and when are recorded).
/// While the exemption applies the finding does not count as failing in scores.
#[utoipa::path(post, path = "/api/v1/workspaces/{ws}/findings/{id}/exemption", tag = "findings",
    request_body = NewExemption,
    params(("ws" = String, Path, description = "Workspace slug"), ("id" = String, Path, description = "Finding id")),
    responses((status = 200, body = Exemption), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn exempt(
    State(state): State<AppState>,
    auth: Caller,
    ApiPath((ws, id)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<NewExemption>,
) -> Result<Json<Exemption>, ApiError> {
    Ok(Json(exempt_finding(&state, &auth, &ws, &id, &body).await?))
}

/// Reopens an exempted finding (removes its exemption).
#[utoipa::path(delete, path = "/api/v1/workspaces/{ws}/findings/{id}/exemption", tag = "findings",
    params(("ws" = String, Path, description = "Workspace slug"), ("id" = String, Path, description = "Finding id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn reopen(
    State(state): State<AppState>,
    auth: Caller,
    ApiPath((ws, id)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    reopen_finding(&state, &auth, &ws, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
