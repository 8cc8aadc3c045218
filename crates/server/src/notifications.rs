//! The notifications API: channels (webhook, Slack, Teams, e-mail, Jira) with a test message,
//! rules (severity, frameworks, CEL scope, new/regressed, channels), and the delivery log.
//! Changes need `manage_settings`; reading needs `read_data`. Channel secrets are write-only.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use rampart_store::{Channel, ChannelInput, Delivery, Job, Permission, Rule, RuleInput};
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
            "/api/v1/workspaces/{ws}/notifications/channels",
            get(list_channels).post(create_channel),
        )
        .route(
            "/api/v1/workspaces/{ws}/notifications/channels/{id}",
            get(get_channel).put(update_channel).delete(delete_channel),
        )
        .route(
            "/api/v1/workspaces/{ws}/notifications/channels/{id}/test",
            post(test_channel),
        )
        .route(
            "/api/v1/workspaces/{ws}/notifications/rules",
            get(list_rules).post(create_rule),
        )
        .route(
            "/api/v1/workspaces/{ws}/notifications/rules/{id}",
            get(get_rule).put(update_rule).delete(delete_rule),
        )
        .route(
            "/api/v1/workspaces/{ws}/notifications/deliveries",
            get(list_deliveries),
        )
}

/// A rule's CEL scope must compile; a bad one is a 400 naming the field and position.
fn check_scope(input: &RuleInput) -> Result<(), ApiError> {
    let Some(expr) = input.scope.as_deref().filter(|s| !s.trim().is_empty()) else {
        return Ok(());
    };
    rampart_rules::Filter::compile(expr).map_err(|e| ApiError {
        status: StatusCode::BAD_REQUEST,
        code: "invalid_request",
        message: format!(
            "invalid scope: CEL error at line {}, column {}: {}",
            e.line, e.column, e.message
        ),
        position: Some((e.line, e.column)),
    })?;
    Ok(())
}

fn check_frameworks(state: &AppState, input: &RuleInput) -> Result<(), ApiError> {
    if let Some(unknown) = input
        .frameworks
        .iter()
        .find(|f| state.catalog.framework(f).is_none())
    {
        return Err(ApiError::bad_request(format!(
            "invalid frameworks: no framework {unknown:?}"
        )));
    }
    Ok(())
}

/// The workspace's notification channels (settings without secrets).
#[utoipa::path(get, path = "/api/v1/workspaces/{ws}/notifications/channels", tag = "notifications",
    params(("ws" = String, Path, description = "Workspace slug")),
    responses((status = 200, body = [Channel]), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn list_channels(
    State(state): State<AppState>,
    auth: Caller,
    ApiPath(ws): ApiPath<String>,
) -> Result<Json<Vec<Channel>>, ApiError> {
    let ws = authorize(&state, &auth, &ws, Permission::ReadData).await?;
    Ok(Json(state.store.list_channels(ws.scope()).await?))
}

/// Creates a channel. Its secret (webhook HMAC secret, Slack/Teams webhook URL, Jira API
/// token) is sealed and never returned.
#[utoipa::path(post, path = "/api/v1/workspaces/{ws}/notifications/channels", tag = "notifications", request_body = ChannelInput,
    params(("ws" = String, Path, description = "Workspace slug")),
    responses((status = 201, body = Channel), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn create_channel(
    State(state): State<AppState>,
    auth: Caller,
    ApiPath(ws): ApiPath<String>,
    ApiJson(body): ApiJson<ChannelInput>,
) -> Result<(StatusCode, Json<Channel>), ApiError> {
    let channel = new_channel(&state, &auth, &ws, &body).await?;
    Ok((StatusCode::CREATED, Json(channel)))
}

/// Creates a channel (shared by the API and the notifications page).
pub(crate) async fn new_channel(
    state: &AppState,
    auth: &Caller,
    ws: &str,
    body: &ChannelInput,
) -> Result<Channel, ApiError> {
    let ws = authorize(state, auth, ws, Permission::ManageSettings).await?;
    Ok(state
        .store
        .create_channel(
            ws.scope(),
            body,
            &state.vault,
            auth.event_in(ws.scope(), "notification.channel.create"),
        )
        .await?)
}

/// One channel.
#[utoipa::path(get, path = "/api/v1/workspaces/{ws}/notifications/channels/{id}", tag = "notifications",
    params(("ws" = String, Path, description = "Workspace slug"), ("id" = String, Path, description = "Channel id")),
    responses((status = 200, body = Channel), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn get_channel(
    State(state): State<AppState>,
    auth: Caller,
    ApiPath(p): ApiPath<WsObject>,
) -> Result<Json<Channel>, ApiError> {
    let ws = authorize(&state, &auth, &p.ws, Permission::ReadData).await?;
    state
        .store
        .channel(ws.scope(), &p.id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("channel"))
}

/// Replaces a channel's name, settings and flags; without `secret` the stored one is kept.
#[utoipa::path(put, path = "/api/v1/workspaces/{ws}/notifications/channels/{id}", tag = "notifications", request_body = ChannelInput,
    params(("ws" = String, Path, description = "Workspace slug"), ("id" = String, Path, description = "Channel id")),
    responses((status = 200, body = Channel), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn update_channel(
    State(state): State<AppState>,
    auth: Caller,
    ApiPath(p): ApiPath<WsObject>,
    ApiJson(body): ApiJson<ChannelInput>,
) -> Result<Json<Channel>, ApiError> {
    let ws = authorize(&state, &auth, &p.ws, Permission::ManageSettings).await?;
    let channel = state
        .store
        .update_channel(
            ws.scope(),
            &p.id,
            &body,
            &state.vault,
            auth.event_in(ws.scope(), "notification.channel.update"),
        )
        .await?;
    Ok(Json(channel))
}

/// Deletes a channel (rules naming it drop it).
#[utoipa::path(delete, path = "/api/v1/workspaces/{ws}/notifications/channels/{id}", tag = "notifications",
    params(("ws" = String, Path, description = "Workspace slug"), ("id" = String, Path, description = "Channel id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn delete_channel(
    State(state): State<AppState>,
    auth: Caller,
    ApiPath(p): ApiPath<WsObject>,
) -> Result<StatusCode, ApiError> {
    remove_channel(&state, &auth, &p.ws, &p.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes a channel (shared by the API and the notifications page).
pub(crate) async fn remove_channel(
    state: &AppState,
    auth: &Caller,
    ws: &str,
    id: &str,
) -> Result<(), ApiError> {
    let ws = authorize(state, auth, ws, Permission::ManageSettings).await?;
    state
        .store
        .delete_channel(
            ws.scope(),
            id,
            auth.event_in(ws.scope(), "notification.channel.delete"),
        )
        .await?;
    Ok(())
}

/// Queues a test message to the channel; a worker sends it and the delivery log (and the job)
/// shows the outcome.
#[utoipa::path(post, path = "/api/v1/workspaces/{ws}/notifications/channels/{id}/test", tag = "notifications",
    params(("ws" = String, Path, description = "Workspace slug"), ("id" = String, Path, description = "Channel id")),
    responses((status = 202, body = Job), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn test_channel(
    State(state): State<AppState>,
    auth: Caller,
    ApiPath(p): ApiPath<WsObject>,
) -> Result<(StatusCode, Json<Job>), ApiError> {
    let job = queue_test(&state, &auth, &p.ws, &p.id).await?;
    Ok((StatusCode::ACCEPTED, Json(job)))
}

/// Queues a test message (shared by the API and the notifications page).
pub(crate) async fn queue_test(
    state: &AppState,
    auth: &Caller,
    ws: &str,
    id: &str,
) -> Result<Job, ApiError> {
    let ws = authorize(state, auth, ws, Permission::ManageSettings).await?;
    Ok(state
        .store
        .enqueue_channel_test(
            ws.scope(),
            id,
            auth.event_in(ws.scope(), "notification.channel.test"),
        )
        .await?)
}

/// The workspace's notification rules.
#[utoipa::path(get, path = "/api/v1/workspaces/{ws}/notifications/rules", tag = "notifications",
    params(("ws" = String, Path, description = "Workspace slug")),
    responses((status = 200, body = [Rule]), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn list_rules(
    State(state): State<AppState>,
    auth: Caller,
    ApiPath(ws): ApiPath<String>,
) -> Result<Json<Vec<Rule>>, ApiError> {
    let ws = authorize(&state, &auth, &ws, Permission::ReadData).await?;
    Ok(Json(state.store.list_rules(ws.scope()).await?))
}

/// Creates a rule. `scope` is a CEL filter over the asset (`resource.region == "eu-west-1"`);
/// one that does not compile is a 400 naming it.
#[utoipa::path(post, path = "/api/v1/workspaces/{ws}/notifications/rules", tag = "notifications", request_body = RuleInput,
    params(("ws" = String, Path, description = "Workspace slug")),
    responses((status = 201, body = Rule), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn create_rule(
    State(state): State<AppState>,
    auth: Caller,
    ApiPath(ws): ApiPath<String>,
    ApiJson(body): ApiJson<RuleInput>,
) -> Result<(StatusCode, Json<Rule>), ApiError> {
    let rule = new_rule(&state, &auth, &ws, &body).await?;
    Ok((StatusCode::CREATED, Json(rule)))
}

/// Creates a rule after checking its scope and frameworks (shared by the API and the
/// notifications page).
pub(crate) async fn new_rule(
    state: &AppState,
    auth: &Caller,
    ws: &str,
    body: &RuleInput,
) -> Result<Rule, ApiError> {
    let ws = authorize(state, auth, ws, Permission::ManageSettings).await?;
    check_scope(body)?;
    check_frameworks(state, body)?;
    Ok(state
        .store
        .create_rule(
            ws.scope(),
            body,
            auth.event_in(ws.scope(), "notification.rule.create"),
        )
        .await?)
}

/// One rule.
#[utoipa::path(get, path = "/api/v1/workspaces/{ws}/notifications/rules/{id}", tag = "notifications",
    params(("ws" = String, Path, description = "Workspace slug"), ("id" = String, Path, description = "Rule id")),
    responses((status = 200, body = Rule), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn get_rule(
    State(state): State<AppState>,
    auth: Caller,
    ApiPath(p): ApiPath<WsObject>,
) -> Result<Json<Rule>, ApiError> {
    let ws = authorize(&state, &auth, &p.ws, Permission::ReadData).await?;
    state
        .store
        .rule(ws.scope(), &p.id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("rule"))
}

/// Replaces a rule.
#[utoipa::path(put, path = "/api/v1/workspaces/{ws}/notifications/rules/{id}", tag = "notifications", request_body = RuleInput,
    params(("ws" = String, Path, description = "Workspace slug"), ("id" = String, Path, description = "Rule id")),
    responses((status = 200, body = Rule), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn update_rule(
    State(state): State<AppState>,
    auth: Caller,
    ApiPath(p): ApiPath<WsObject>,
    ApiJson(body): ApiJson<RuleInput>,
) -> Result<Json<Rule>, ApiError> {
    let ws = authorize(&state, &auth, &p.ws, Permission::ManageSettings).await?;
    check_scope(&body)?;
    check_frameworks(&state, &body)?;
    let rule = state
        .store
        .update_rule(
            ws.scope(),
            &p.id,
            &body,
            auth.event_in(ws.scope(), "notification.rule.update"),
        )
        .await?;
    Ok(Json(rule))
}

/// Deletes a rule.
#[utoipa::path(delete, path = "/api/v1/workspaces/{ws}/notifications/rules/{id}", tag = "notifications",
    params(("ws" = String, Path, description = "Workspace slug"), ("id" = String, Path, description = "Rule id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn delete_rule(
    State(state): State<AppState>,
    auth: Caller,
    ApiPath(p): ApiPath<WsObject>,
) -> Result<StatusCode, ApiError> {
    remove_rule(&state, &auth, &p.ws, &p.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes a rule (shared by the API and the notifications page).
pub(crate) async fn remove_rule(
    state: &AppState,
    auth: &Caller,
    ws: &str,
    id: &str,
) -> Result<(), ApiError> {
    let ws = authorize(state, auth, ws, Permission::ManageSettings).await?;
    state
        .store
        .delete_rule(
            ws.scope(),
            id,
            auth.event_in(ws.scope(), "notification.rule.delete"),
        )
        .await?;
    Ok(())
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryParams {
    /// Only deliveries to this channel.
    pub channel: Option<String>,
    /// Page size, 1 to 500 (default 50).
    pub limit: Option<u32>,
    /// Rows to skip.
    pub offset: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryList {
    pub items: Vec<Delivery>,
    pub total: u64,
    pub limit: u32,
    pub offset: u64,
}

/// The delivery log, newest first: per job, rule and channel, the attempts and the last
/// outcome.
#[utoipa::path(get, path = "/api/v1/workspaces/{ws}/notifications/deliveries", tag = "notifications",
    params(("ws" = String, Path, description = "Workspace slug"), DeliveryParams),
    responses((status = 200, body = DeliveryList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn list_deliveries(
    State(state): State<AppState>,
    auth: Caller,
    ApiPath(ws): ApiPath<String>,
    ApiQuery(p): ApiQuery<DeliveryParams>,
) -> Result<Json<DeliveryList>, ApiError> {
    let ws = authorize(&state, &auth, &ws, Permission::ReadData).await?;
    let list = state
        .store
        .list_deliveries(ws.scope(), p.channel.as_deref(), page(p.limit, p.offset))
        .await?;
    Ok(Json(DeliveryList {
        items: list.items,
        total: list.total,
        limit: list.limit,
        offset: list.offset,
    }))
}
