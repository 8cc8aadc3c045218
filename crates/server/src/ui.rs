//! The server-rendered web app: dashboard, findings, assets. Askama templates in `templates/`,
//! one stylesheet, no script and no inline style (the CSP allows neither).

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use rampart_model::{FindingStatus, Severity};
use rampart_store::{AssetFilter, FindingFilter, FindingRecord, Page, Paged, WorkspaceStore};
use serde::Deserialize;

use crate::api;
use crate::auth::UiAuth;
use crate::error::ApiError;
use crate::state::AppState;

const STYLESHEET: &str = include_str!("../static/rampart.css");
const PAGE_SIZE: u32 = 50;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/static/rampart.css", get(stylesheet))
        .route("/w/{ws}", get(dashboard))
        .route("/w/{ws}/findings", get(findings))
        .route("/w/{ws}/assets", get(assets))
        .route("/w/{ws}/assets/{id}", get(asset))
}

/// What the page header needs: who is signed in, the sign-out form's CSRF token, the workspace.
pub(crate) struct Nav {
    pub email: String,
    pub csrf: String,
    pub ws: Option<String>,
}

impl Nav {
    fn new(auth: &UiAuth, ws: Option<&str>) -> Nav {
        Nav {
            email: auth.0.user.email.clone(),
            csrf: auth.0.csrf_token.clone(),
            ws: ws.map(str::to_owned),
        }
    }
}

pub(crate) fn render<T: Template>(page: &T) -> Response {
    match page.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template rendering failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    nav: Option<Nav>,
    status: u16,
    title: String,
    detail: Option<String>,
}

pub(crate) fn error_page(status: StatusCode, title: &str, detail: Option<&str>) -> Response {
    let page = ErrorPage {
        nav: None,
        status: status.as_u16(),
        title: title.to_owned(),
        detail: detail.map(str::to_owned),
    };
    (status, render(&page)).into_response()
}

/// Web-page errors: an HTML page with the status.
pub(crate) struct UiError(Response);

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        self.0
    }
}

impl From<ApiError> for UiError {
    fn from(e: ApiError) -> Self {
        let title = match e.status {
            StatusCode::NOT_FOUND => "Not found",
            StatusCode::BAD_REQUEST => "Bad request",
            _ => "Something went wrong",
        };
        let detail = (e.status != StatusCode::INTERNAL_SERVER_ERROR).then_some(e.message.as_str());
        UiError(error_page(e.status, title, detail))
    }
}

impl From<rampart_store::StoreError> for UiError {
    fn from(e: rampart_store::StoreError) -> Self {
        ApiError::from(e).into()
    }
}

async fn scoped(state: &AppState, auth: &UiAuth, slug: &str) -> Result<WorkspaceStore, UiError> {
    match state.store.member_scope(slug, &auth.0.user.id).await? {
        Some(scope) => Ok(state.store.scoped(&scope)),
        None => Err(ApiError::not_found("workspace").into()),
    }
}

fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn enc(s: &str) -> String {
    utf8_percent_encode(s, NON_ALPHANUMERIC).to_string()
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLESHEET,
    )
        .into_response()
}

// ----- home -------------------------------------------------------------------------------------

struct WorkspaceLink {
    slug: String,
    name: String,
    role: String,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    nav: Option<Nav>,
    workspaces: Vec<WorkspaceLink>,
}

async fn home(State(state): State<AppState>, auth: UiAuth) -> Result<Response, UiError> {
    let workspaces = state.store.workspaces_of_user(&auth.0.user.id).await?;
    if let [(only, _)] = workspaces.as_slice() {
        return Ok(Redirect::to(&format!("/w/{}", only.slug)).into_response());
    }
    let page = HomePage {
        nav: Some(Nav::new(&auth, None)),
        workspaces: workspaces
            .into_iter()
            .map(|(w, role)| WorkspaceLink {
                slug: w.slug,
                name: w.name,
                role: role.as_str().to_owned(),
            })
            .collect(),
    };
    Ok(render(&page))
}

// ----- dashboard --------------------------------------------------------------------------------

struct SeverityRow {
    name: &'static str,
    failing: u64,
    passing: u64,
}

struct FrameworkRow {
    name: String,
    version: String,
    percent: String,
    percent_int: u64,
    passing: usize,
    failing: usize,
    not_assessed: usize,
}

struct ScanRow {
    source: String,
    started: String,
    assets: u64,
    pass: u64,
    fail: u64,
    error: u64,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    nav: Option<Nav>,
    ws: String,
    ws_name: String,
    severities: Vec<SeverityRow>,
    total_failing: u64,
    total_passing: u64,
    frameworks: Vec<FrameworkRow>,
    latest_scan: Option<ScanRow>,
}

async fn dashboard(
    State(state): State<AppState>,
    auth: UiAuth,
    Path(slug): Path<String>,
) -> Result<Response, UiError> {
    let ws = scoped(&state, &auth, &slug).await?;
    let summary = api::summary_of(&ws).await?;
    let scores = api::scores(&ws, &state.catalog).await?;
    let ws_name = state
        .store
        .workspace_by_slug(&slug)
        .await?
        .map(|w| w.name)
        .unwrap_or_else(|| slug.clone());
    let page = DashboardPage {
        nav: Some(Nav::new(&auth, Some(&slug))),
        ws: slug,
        ws_name,
        severities: summary
            .by_severity
            .iter()
            .zip(Severity::ALL)
            .map(|(row, sev)| SeverityRow {
                name: sev.as_str(),
                failing: row.counts.fail + row.counts.error,
                passing: row.counts.pass,
            })
            .collect(),
        total_failing: summary.totals.fail + summary.totals.error,
        total_passing: summary.totals.pass,
        frameworks: scores
            .into_iter()
            .map(|s| FrameworkRow {
                percent: format!("{:.0}%", s.percent),
                percent_int: s.percent.clamp(0.0, 100.0).round() as u64,
                name: s.name,
                version: s.version,
                passing: s.passing,
                failing: s.failing,
                not_assessed: s.not_assessed,
            })
            .collect(),
        latest_scan: summary.latest_scan.map(|s| ScanRow {
            source: s.source,
            started: when(s.started_at),
            assets: s.asset_count,
            pass: s.pass_count,
            fail: s.fail_count,
            error: s.error_count,
        }),
    };
    Ok(render(&page))
}

// ----- findings ---------------------------------------------------------------------------------

struct SelectOption {
    value: &'static str,
    label: &'static str,
    selected: bool,
}

struct FindingRow {
    severity: &'static str,
    status: &'static str,
    control_id: String,
    control_title: String,
    asset_id: String,
    asset_name: String,
    asset_type: String,
    reason: String,
    first_seen: String,
    resolved: Option<String>,
}

fn finding_rows(items: Vec<FindingRecord>, state: &AppState) -> Vec<FindingRow> {
    items
        .into_iter()
        .map(|r| {
            let f = r.finding;
            FindingRow {
                severity: f.severity.as_str(),
                status: f.status.as_str(),
                control_title: state
                    .catalog
                    .control(&f.control_id)
                    .map(|c| c.title.clone())
                    .unwrap_or_default(),
                control_id: f.control_id,
                asset_id: f.asset_id,
                asset_name: r.asset_name,
                asset_type: r.asset_type,
                reason: f.reason,
                first_seen: when(f.first_seen),
                resolved: f.resolved_at.map(when),
            }
        })
        .collect()
}

struct Pager {
    showing: String,
    prev: Option<String>,
    next: Option<String>,
}

fn pager<T>(paged: &Paged<T>, base: &str) -> Pager {
    let start = paged.offset;
    let end = start + paged.items.len() as u64;
    let limit = u64::from(paged.limit);
    let link = |offset: u64| {
        let sep = if base.contains('?') { '&' } else { '?' };
        format!("{base}{sep}offset={offset}")
    };
    Pager {
        showing: if paged.total == 0 {
            "none".into()
        } else {
            format!("{}–{} of {}", start + 1, end, paged.total)
        },
        prev: (start > 0).then(|| link(start.saturating_sub(limit))),
        next: (end < paged.total).then(|| link(end)),
    }
}

#[derive(Template)]
#[template(path = "findings.html")]
struct FindingsPage {
    nav: Option<Nav>,
    ws: String,
    severities: Vec<SelectOption>,
    statuses: Vec<SelectOption>,
    rows: Vec<FindingRow>,
    pager: Pager,
}

#[derive(Deserialize)]
struct FindingsQuery {
    severity: Option<String>,
    status: Option<String>,
    offset: Option<u64>,
}

const SEVERITY_OPTIONS: [(&str, &str); 6] = [
    ("", "any severity"),
    ("critical", "critical"),
    ("high", "high"),
    ("medium", "medium"),
    ("low", "low"),
    ("info", "info"),
];

const STATUS_OPTIONS: [(&str, &str); 5] = [
    ("fail", "failing"),
    ("pass", "passing"),
    ("error", "error"),
    ("not_applicable", "not applicable"),
    ("all", "any status"),
];

async fn findings(
    State(state): State<AppState>,
    auth: UiAuth,
    Path(slug): Path<String>,
    Query(q): Query<FindingsQuery>,
) -> Result<Response, UiError> {
    let ws = scoped(&state, &auth, &slug).await?;
    let severity_param = q.severity.unwrap_or_default();
    let severity: Option<Severity> = match severity_param.as_str() {
        "" => None,
        s => Some(
            s.parse()
                .map_err(|_| ApiError::bad_request("unknown severity"))?,
        ),
    };
    // Failing findings unless asked otherwise.
    let status_param = q.status.unwrap_or_else(|| "fail".into());
    let status: Option<FindingStatus> = match status_param.as_str() {
        "all" | "" => None,
        s => Some(
            s.parse()
                .map_err(|_| ApiError::bad_request("unknown status"))?,
        ),
    };
    let filter = FindingFilter {
        status,
        severity,
        ..FindingFilter::default()
    };
    let result = ws
        .list_findings(&filter, Page::new(PAGE_SIZE, q.offset.unwrap_or(0)))
        .await?;
    let base = format!(
        "/w/{slug}/findings?severity={}&status={}",
        enc(&severity_param),
        enc(&status_param)
    );
    let page = FindingsPage {
        nav: Some(Nav::new(&auth, Some(&slug))),
        pager: pager(&result, &base),
        ws: slug,
        severities: SEVERITY_OPTIONS
            .iter()
            .map(|(value, label)| SelectOption {
                value,
                label,
                selected: *value == severity_param,
            })
            .collect(),
        statuses: STATUS_OPTIONS
            .iter()
            .map(|(value, label)| SelectOption {
                value,
                label,
                selected: *value == status_param,
            })
            .collect(),
        rows: finding_rows(result.items, &state),
    };
    Ok(render(&page))
}

// ----- assets -----------------------------------------------------------------------------------

struct AssetRow {
    id: String,
    name: String,
    resource_type: String,
    account: String,
    region: String,
    last_seen: String,
}

#[derive(Template)]
#[template(path = "assets.html")]
struct AssetsPage {
    nav: Option<Nav>,
    ws: String,
    type_filter: String,
    q: String,
    error: Option<String>,
    rows: Vec<AssetRow>,
    pager: Pager,
}

#[derive(Deserialize)]
struct AssetsQuery {
    #[serde(rename = "type")]
    resource_type: Option<String>,
    q: Option<String>,
    offset: Option<u64>,
}

async fn assets(
    State(state): State<AppState>,
    auth: UiAuth,
    Path(slug): Path<String>,
    Query(q): Query<AssetsQuery>,
) -> Result<Response, UiError> {
    let ws = scoped(&state, &auth, &slug).await?;
    let type_filter = q.resource_type.unwrap_or_default();
    let expr = q.q.unwrap_or_default();
    let filter = AssetFilter {
        resource_type: (!type_filter.trim().is_empty()).then(|| type_filter.trim().to_owned()),
        ..AssetFilter::default()
    };
    let page_req = Page::new(PAGE_SIZE, q.offset.unwrap_or(0));
    let (result, error) = match api::filtered_assets(&ws, &filter, Some(&expr), page_req).await {
        Ok(r) => (r, None),
        Err(e) if e.code == "invalid_filter" => (
            Paged {
                items: Vec::new(),
                total: 0,
                limit: page_req.limit(),
                offset: 0,
            },
            Some(e.message),
        ),
        Err(e) => return Err(e.into()),
    };
    let base = format!(
        "/w/{slug}/assets?type={}&q={}",
        enc(&type_filter),
        enc(&expr)
    );
    let page = AssetsPage {
        nav: Some(Nav::new(&auth, Some(&slug))),
        pager: pager(&result, &base),
        ws: slug,
        type_filter,
        q: expr,
        error,
        rows: result
            .items
            .into_iter()
            .map(|a| AssetRow {
                id: a.id,
                name: a.name,
                resource_type: a.resource_type.as_str().to_owned(),
                account: a.account,
                region: a.region,
                last_seen: when(a.last_seen),
            })
            .collect(),
    };
    let status = if page.error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    Ok((status, render(&page)).into_response())
}

struct RelationshipRow {
    kind: String,
    outgoing: bool,
    other_id: String,
    other_name: String,
    other_type: String,
}

#[derive(Template)]
#[template(path = "asset.html")]
struct AssetPage {
    nav: Option<Nav>,
    ws: String,
    id: String,
    name: String,
    resource_type: String,
    provider: String,
    account: String,
    region: String,
    native_id: String,
    first_seen: String,
    last_seen: String,
    tags: Vec<(String, String)>,
    config: String,
    /// Security score 0–100, rounded.
    score: u32,
    /// Computed properties as (name, JSON value) pairs.
    exposure: Vec<(String, String)>,
    /// Attack paths, each as the reasons of its hops.
    paths: Vec<Vec<String>>,
    relationships: Vec<RelationshipRow>,
    rows: Vec<FindingRow>,
}

async fn asset(
    State(state): State<AppState>,
    auth: UiAuth,
    Path((slug, id)): Path<(String, String)>,
) -> Result<Response, UiError> {
    let ws = scoped(&state, &auth, &slug).await?;
    let a = ws
        .asset(&id)
        .await?
        .ok_or_else(|| ApiError::not_found("asset"))?;
    let relationships = ws.relationships_of(&id).await?;
    let findings = ws
        .list_findings(
            &FindingFilter {
                asset_id: Some(id.clone()),
                ..FindingFilter::default()
            },
            Page::new(rampart_store::MAX_PAGE_SIZE, 0),
        )
        .await?;
    let insight = crate::api::asset_insight(&ws, &a, &findings.items).await?;
    let score = insight.score.round() as u32;
    let exposure = match &insight.exposure {
        serde_json::Value::Object(m) => m.iter().map(|(k, v)| (k.clone(), v.to_string())).collect(),
        _ => Vec::new(),
    };
    let paths = insight
        .paths
        .into_iter()
        .map(|p| p.hops.into_iter().map(|h| h.reason).collect())
        .collect();
    let page = AssetPage {
        score,
        exposure,
        paths,
        nav: Some(Nav::new(&auth, Some(&slug))),
        ws: slug,
        id: a.id,
        name: a.name,
        resource_type: a.resource_type.as_str().to_owned(),
        provider: a.provider.as_str().to_owned(),
        account: a.account,
        region: a.region,
        native_id: a.native_id,
        first_seen: when(a.first_seen),
        last_seen: when(a.last_seen),
        tags: a.tags.into_iter().collect(),
        config: serde_json::to_string_pretty(&a.config).unwrap_or_default(),
        relationships: relationships
            .into_iter()
            .map(|r| RelationshipRow {
                kind: r.relationship.kind,
                outgoing: r.direction == rampart_store::Direction::Outgoing,
                other_id: r.other_id,
                other_name: r.other_name,
                other_type: r.other_type,
            })
            .collect(),
        rows: finding_rows(findings.items, &state),
    };
    Ok(render(&page))
}
