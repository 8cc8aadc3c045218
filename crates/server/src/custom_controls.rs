//! Custom controls (issue 8): a workspace's own checks, saved from an inventory query with a
//! severity and a framework mapping. The assets of the control's resource types that its CEL
//! query selects fail it; the others pass. Reading needs `read_data`, creating and deleting
//! `manage_controls` (checked here by [`authorize`] and again by the store).
//!
//! Before the store sees a new control, everything it names is checked against the catalog, each
//! refusal a 400 naming the field: the query compiles (`invalid_filter`, with its position), each
//! resource type is well formed and known (some control covers it or the workspace has assets of
//! it), each `framework:requirement` pair exists, and the control loads into the workspace's
//! catalog. A new control has no findings until the workspace is evaluated again: the web app
//! queues that evaluation; API clients queue it with `POST /api/v1/workspaces/{ws}/evaluations`.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use rampart_model::ResourceType;
use rampart_rules::Catalog;
use rampart_store::{
    AssetFilter, CustomControl, CustomControlInput, Page, Permission, WorkspaceStore,
    custom_control_id,
};

use crate::admin::{ApiJson, WsObject};
use crate::api::ApiPath;
use crate::authz::{Caller, authorize};
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/workspaces/{ws}/custom-controls",
            get(list_custom_controls).post(create_custom_control),
        )
        .route(
            "/api/v1/workspaces/{ws}/custom-controls/{id}",
            delete(delete_custom_control),
        )
}

/// The workspace's custom controls, by id.
#[utoipa::path(get, path = "/api/v1/workspaces/{ws}/custom-controls", tag = "controls",
    params(("ws" = String, Path, description = "Workspace slug")),
    responses((status = 200, body = [CustomControl]), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn list_custom_controls(
    State(state): State<AppState>,
    auth: Caller,
    ApiPath(ws): ApiPath<String>,
) -> Result<Json<Vec<CustomControl>>, ApiError> {
    let ws = authorize(&state, &auth, &ws, Permission::ReadData).await?;
    Ok(Json(state.store.custom_controls(ws.scope()).await?))
}

/// Creates a custom control. Its id is `custom-` and the slug of its title. It has no findings
/// until the workspace is evaluated again (`POST /api/v1/workspaces/{ws}/evaluations`).
#[utoipa::path(post, path = "/api/v1/workspaces/{ws}/custom-controls", tag = "controls", request_body = CustomControlInput,
    params(("ws" = String, Path, description = "Workspace slug")),
    responses((status = 201, body = CustomControl), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn create_custom_control(
    State(state): State<AppState>,
    auth: Caller,
    ApiPath(ws): ApiPath<String>,
    ApiJson(body): ApiJson<CustomControlInput>,
) -> Result<(StatusCode, Json<CustomControl>), ApiError> {
    let (_, control) = new_custom_control(&state, &auth, &ws, &body).await?;
    Ok((StatusCode::CREATED, Json(control)))
}

/// Deletes a custom control and its findings.
#[utoipa::path(delete, path = "/api/v1/workspaces/{ws}/custom-controls/{id}", tag = "controls",
    params(("ws" = String, Path, description = "Workspace slug"), ("id" = String, Path, description = "Custom control id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn delete_custom_control(
    State(state): State<AppState>,
    auth: Caller,
    ApiPath(p): ApiPath<WsObject>,
) -> Result<StatusCode, ApiError> {
    remove_custom_control(&state, &auth, &p.ws, &p.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Checks a new custom control against the catalog and the workspace, then stores it (shared
/// by the API and the inventory page). Answers the workspace handle with the control.
pub(crate) async fn new_custom_control(
    state: &AppState,
    auth: &Caller,
    slug: &str,
    input: &CustomControlInput,
) -> Result<(WorkspaceStore, CustomControl), ApiError> {
    // ASVS V4.1.1: the permission first, so that a refused caller learns nothing about content.
    let ws = authorize(state, auth, slug, Permission::ManageControls).await?;
    check_query(&input.query)?;
    check_resource_types(&state.catalog, &ws, &input.resource_types).await?;
    check_frameworks(&state.catalog, &input.frameworks)?;
    let id = custom_control_id(&input.title)?;
    let existing = state.store.custom_controls(ws.scope()).await?;
    if existing.iter().any(|c| c.id == id) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            format!("a custom control with the id {id} already exists: choose another title"),
        ));
    }
    // The control must load into the catalog as the worker will build it (e.g. its id must not
    // be that of a built-in control).
    let def = rampart_rules::CustomControlDef {
        id,
        title: input.title.trim().to_owned(),
        severity: input.severity,
        resource_types: input
            .resource_types
            .iter()
            .map(|t| t.trim().to_owned())
            .collect(),
        query: input.query.clone(),
        frameworks: input
            .frameworks
            .iter()
            .map(|(f, reqs)| {
                (
                    f.trim().to_owned(),
                    reqs.iter().map(|r| r.trim().to_owned()).collect(),
                )
            })
            .collect(),
        rationale: String::new(),
        remediation: String::new(),
    };
    if let Err(e) = state.catalog.with_custom(&[def]) {
        let problems: Vec<String> = e.issues.iter().map(|i| i.message.clone()).collect();
        return Err(ApiError::bad_request(format!(
            "invalid custom control: {}",
            problems.join("; ")
        )));
    }
    let control = state
        .store
        .create_custom_control(
            ws.scope(),
            input,
            auth.event_in(ws.scope(), "control.create"),
        )
        .await?;
    Ok((ws, control))
}

/// Deletes a custom control with its findings (shared by the API and the control's page).
pub(crate) async fn remove_custom_control(
    state: &AppState,
    auth: &Caller,
    slug: &str,
    id: &str,
) -> Result<(), ApiError> {
    let ws = authorize(state, auth, slug, Permission::ManageControls).await?;
    state
        .store
        .delete_custom_control(ws.scope(), id, auth.event_in(ws.scope(), "control.delete"))
        .await?;
    Ok(())
}

/// ASVS V5.1.3: the query must compile; a bad one is a 400 naming the field and the position.
fn check_query(query: &str) -> Result<(), ApiError> {
    if query.trim().is_empty() {
        return Err(ApiError::bad_request(
            "invalid query: give the CEL expression that selects the failing assets",
        ));
    }
    rampart_rules::Filter::compile(query).map_err(|e| ApiError {
        status: StatusCode::BAD_REQUEST,
        code: "invalid_filter",
        message: format!(
            "invalid query: CEL error at line {}, column {}: {}",
            e.line, e.column, e.message
        ),
        position: Some((e.line, e.column)),
    })?;
    Ok(())
}

/// Each type must be well formed and known: some control of the catalog covers it, or the
/// workspace has assets of it (present or gone).
async fn check_resource_types(
    catalog: &Catalog,
    ws: &WorkspaceStore,
    types: &[String],
) -> Result<(), ApiError> {
    if types.iter().all(|t| t.trim().is_empty()) {
        return Err(ApiError::bad_request(
            "invalid resource_types: choose at least one resource type",
        ));
    }
    for t in types.iter().map(|t| t.trim()) {
        ResourceType::parse(t)
            .map_err(|e| ApiError::bad_request(format!("invalid resource_types: {e}")))?;
        if catalog.covers_type(t) {
            continue;
        }
        let mut seen = false;
        for gone in [false, true] {
            let filter = AssetFilter {
                resource_type: Some(t.to_owned()),
                gone,
                ..AssetFilter::default()
            };
            seen = seen || ws.list_assets(&filter, Page::new(1, 0)).await?.total > 0;
        }
        if !seen {
            return Err(ApiError::bad_request(format!(
                "invalid resource_types: unknown resource type {t:?} (no control covers it and \
                 the workspace has no asset of it)"
            )));
        }
    }
    Ok(())
}

/// Every `framework:requirement` pair must name a requirement of the catalog.
fn check_frameworks(
    catalog: &Catalog,
    frameworks: &BTreeMap<String, Vec<String>>,
) -> Result<(), ApiError> {
    for (fw_id, requirements) in frameworks {
        let fw_id = fw_id.trim();
        let Some(fw) = catalog.framework(fw_id) else {
            let pair = requirements
                .first()
                .map(|r| format!("{fw_id}:{}", r.trim()))
                .unwrap_or_else(|| fw_id.to_owned());
            return Err(ApiError::bad_request(format!(
                "invalid frameworks: {pair:?}: there is no framework {fw_id:?}"
            )));
        };
        for r in requirements.iter().map(|r| r.trim()) {
            if !fw.requirements.iter().any(|q| q.id == r) {
                return Err(ApiError::bad_request(format!(
                    "invalid frameworks: {:?}: framework {fw_id} has no requirement {r:?}",
                    format!("{fw_id}:{r}")
                )));
            }
        }
    }
    Ok(())
}

/// `framework:requirement` pairs separated by commas, semicolons or white space, as the
/// inventory page's form takes them.
pub(crate) fn parse_pairs(text: &str) -> Result<BTreeMap<String, Vec<String>>, ApiError> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for pair in text
        .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .filter(|p| !p.is_empty())
    {
        let Some((fw, req)) = pair
            .split_once(':')
            .filter(|(f, r)| !f.is_empty() && !r.is_empty())
        else {
            return Err(ApiError::bad_request(format!(
                "invalid frameworks: {pair:?} is not framework:requirement (e.g. cis-aws-3.0:2.1.4)"
            )));
        };
        out.entry(fw.to_owned()).or_default().push(req.to_owned());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::parse_pairs;

    /// ASVS V5.1.3: the form's mapping is parsed strictly.
    #[test]
    fn framework_pairs_are_parsed_strictly() {
        let map = parse_pairs(" cis-aws-3.0:2.1.4, soc2:CC6.1;cis-aws-3.0:2.1.1\n").ok();
        assert_eq!(
            map.map(|m| m.into_iter().collect::<Vec<_>>()),
            Some(vec![
                (
                    "cis-aws-3.0".to_owned(),
                    vec!["2.1.4".to_owned(), "2.1.1".to_owned()]
                ),
                ("soc2".to_owned(), vec!["CC6.1".to_owned()]),
            ])
        );
        assert!(parse_pairs("").is_ok_and(|m| m.is_empty()));
        for bad in ["soc2", "soc2:", ":CC6.1"] {
            let e = parse_pairs(bad)
                .err()
                .map(|e| e.message)
                .unwrap_or_default();
            assert!(e.contains("is not framework:requirement"), "{bad}: {e}");
        }
    }
}
