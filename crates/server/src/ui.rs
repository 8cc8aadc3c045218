//! The server-rendered web app: dashboard, findings (with exemptions), inventory with a CEL
//! query box, assets with their exposure paths, the controls catalogue (`ui/catalogue.rs`) and
//! workspace settings with the audit log (`ui/settings.rs`). Askama templates in `templates/`,
//! one stylesheet and one small script under `/static/`, no inline script or style (the CSP
//! allows neither). Every flow works without the script: forms post and redirect.
//!
//! Workspace pages resolve the workspace through [`authorize`] like the API (404 for a
//! workspace that is not the caller's, 403 for a role that lacks the permission), and every form
//! carries the session's CSRF token in a `csrf_token` field, checked by
//! [`crate::security::csrf_guard`] before the handler runs.

mod account;
mod catalogue;
mod compliance;
mod connectors;
mod custom_controls;
mod installation;
mod notifications;
pub(crate) use installation::assess as installation_report;
mod scans;
mod settings;

use std::collections::HashMap;

use askama::Template;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::{DateTime, Utc};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use rampart_model::{FindingStatus, Severity};
use rampart_store::{
    AssetFilter, FindingFilter, FindingGrouping, FindingRecord, Page, Paged, Permission,
    WorkspaceStore,
};
use serde::Deserialize;

use crate::api;
use crate::auth::UiAuth;
use crate::authz::{Caller, ClientMeta, Credential, authorize};
use crate::error::ApiError;
use crate::security::{SESSION_COOKIE, cookie};
use crate::state::AppState;

const STYLESHEET: &str = include_str!("../static/rampart.css");
const SCRIPT: &str = include_str!("../static/rampart.js");
const FAVICON: &str = include_str!("../static/favicon.svg");
const PAGE_SIZE: u32 = 50;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/static/rampart.css", get(stylesheet))
        .route("/static/rampart.js", get(script))
        .route("/static/favicon.svg", get(favicon))
        .route("/favicon.ico", get(favicon))
        .route("/w/{ws}", get(dashboard))
        .route("/w/{ws}/findings", get(findings))
        .route("/w/{ws}/findings/exemptions", post(exempt_many))
        .route("/w/{ws}/findings/{id}", get(finding))
        .route("/w/{ws}/findings/{id}/exempt", post(exempt))
        .route("/w/{ws}/findings/{id}/reopen", post(reopen))
        .route("/w/{ws}/assets", get(assets))
        .route("/w/{ws}/queries", post(save_query))
        .route("/w/{ws}/queries/{id}/delete", post(delete_query))
        .route("/w/{ws}/assets/{id}", get(asset))
        .merge(settings::routes())
        .merge(account::routes())
        .merge(catalogue::routes())
        .merge(compliance::routes())
        .merge(scans::routes())
        .merge(connectors::routes())
        .merge(custom_controls::routes())
        .merge(installation::routes())
        .merge(notifications::routes())
}

/// A signed-in user on a web page, as an API [`Caller`] for [`authorize`]; a redirect to the
/// sign-in page (or the TOTP step) otherwise.
pub(crate) struct UiCaller {
    pub auth: UiAuth,
    pub caller: Caller,
}

impl FromRequestParts<AppState> for UiCaller {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let auth = UiAuth::from_request_parts(parts, state).await?;
        let token = cookie(&parts.headers, SESSION_COOKIE)
            .unwrap_or_default()
            .to_owned();
        let caller = Caller {
            credential: Credential::Session {
                session: auth.0.clone(),
                token,
            },
            meta: ClientMeta::from_parts(parts),
        };
        Ok(UiCaller { auth, caller })
    }
}

/// What the page header needs: who is signed in, the sign-out form's CSRF token, the workspace.
pub(crate) struct Nav {
    pub email: String,
    pub csrf: String,
    pub ws: Option<String>,
    /// An installation operator (sees the installation page link).
    pub operator: bool,
}

impl Nav {
    fn new(auth: &UiAuth, ws: Option<&str>) -> Nav {
        Nav {
            email: auth.0.user.email.clone(),
            csrf: auth.0.csrf_token.clone(),
            ws: ws.map(str::to_owned),
            operator: auth.0.is_operator,
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

/// Web-page errors: an HTML page with the status (and what it was made from, to re-render it
/// with the page header).
pub(crate) struct UiError(Response, Option<(StatusCode, String, Option<String>)>);

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        self.0
    }
}

impl UiCaller {
    /// An error page that keeps the page header (sign-out form and its CSRF token), so that a
    /// refused user can still sign out or, e.g., enrol MFA.
    pub(crate) fn fail(&self, e: ApiError) -> UiError {
        let mut page = UiError::from(e);
        page.0 = match (page.1.take(), page.0) {
            (Some((status, title, detail)), _) => {
                let page = ErrorPage {
                    nav: Some(Nav::new(&self.auth, None)),
                    status: status.as_u16(),
                    title,
                    detail,
                };
                (status, render(&page)).into_response()
            }
            (None, response) => response,
        };
        page
    }
}

impl From<ApiError> for UiError {
    fn from(e: ApiError) -> Self {
        let title = match e.status {
            StatusCode::NOT_FOUND => "Not found",
            StatusCode::BAD_REQUEST => "Bad request",
            StatusCode::FORBIDDEN => "Not allowed",
            StatusCode::CONFLICT => "Conflict",
            _ => "Something went wrong",
        };
        let detail = (e.status != StatusCode::INTERNAL_SERVER_ERROR).then_some(e.message.as_str());
        UiError(
            error_page(e.status, title, detail),
            Some((e.status, title.to_owned(), detail.map(str::to_owned))),
        )
    }
}

impl From<rampart_store::StoreError> for UiError {
    fn from(e: rampart_store::StoreError) -> Self {
        ApiError::from(e).into()
    }
}

/// The workspace for a page that reads its data (404 when it is not the caller's).
async fn scoped(state: &AppState, ui: &UiCaller, slug: &str) -> Result<WorkspaceStore, UiError> {
    authorize(state, &ui.caller, slug, Permission::ReadData)
        .await
        .map_err(|e| ui.fail(e))
}

/// An url-encoded form body as its fields, repeated ones (multiple selects, checkboxes) kept in
/// order.
pub(crate) fn form_fields(body: &axum::body::Bytes) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// A form field's first value (empty when absent).
pub(crate) fn form_value<'a>(form: &'a [(String, String)], name: &str) -> &'a str {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_default()
}

pub(crate) fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn enc(s: &str) -> String {
    utf8_percent_encode(s, NON_ALPHANUMERIC).to_string()
}

/// A path segment: ids (`fnd_…`, `ast_…`) stay readable, anything else is percent-encoded.
fn segment(s: &str) -> String {
    const SEGMENT: &percent_encoding::AsciiSet =
        &NON_ALPHANUMERIC.remove(b'_').remove(b'-').remove(b'.');
    utf8_percent_encode(s, SEGMENT).to_string()
}

fn asset_response(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

async fn stylesheet() -> Response {
    asset_response("text/css; charset=utf-8", STYLESHEET)
}

async fn script() -> Response {
    asset_response("text/javascript; charset=utf-8", SCRIPT)
}

async fn favicon() -> Response {
    asset_response("image/svg+xml", FAVICON)
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
    exempted: u64,
    /// Posture score in percent with one decimal, or "—" before any evaluation.
    posture: String,
    posture_int: u64,
    frameworks: Vec<FrameworkRow>,
    latest_scan: Option<ScanRow>,
    /// Failing findings across the last scans, as inline SVG (empty with fewer than two).
    trend_svg: String,
    trend_caption: String,
    top_controls: Vec<TopControl>,
    /// What the latest scan changed: counts by kind and the first few changes.
    change_counts: Vec<(&'static str, u64)>,
    changes: Vec<ChangeRow>,
}

struct TopControl {
    id: String,
    title: String,
    severity: &'static str,
    failing: u64,
}

struct ChangeRow {
    change: &'static str,
    finding_id: String,
    control_id: String,
    asset_name: String,
    severity: &'static str,
}

/// Scans shown in the dashboard's trend.
const TREND_SCANS: u32 = 20;

/// A bar chart of failing findings per scan (oldest left), as SVG with presentation attributes
/// only (the style policy allows no inline style); each bar has a `<title>` with its figures.
fn trend_svg(points: &[(String, u64, u64)]) -> String {
    if points.len() < 2 {
        return String::new();
    }
    let (w, h, pad) = (600.0_f64, 140.0_f64, 20.0_f64);
    let max = points.iter().map(|p| p.1).max().unwrap_or(0).max(1) as f64;
    let step = (w - pad) / points.len() as f64;
    let bar = (step * 0.7).max(2.0);
    let mut svg = format!(
        "<svg role=\"img\" aria-labelledby=\"trend-title\" viewBox=\"0 0 {w} {}\" width=\"100%\" height=\"{}\" class=\"trend\"><title id=\"trend-title\">Failing findings in the last {} scans</title>",
        h + pad,
        h + pad,
        points.len()
    );
    svg.push_str(&format!(
        "<line x1=\"{pad}\" y1=\"{h}\" x2=\"{w}\" y2=\"{h}\" stroke=\"#8c959f\" stroke-width=\"1\"/>"
    ));
    for (i, (when, fail, pass)) in points.iter().enumerate() {
        let bh = (*fail as f64 / max) * (h - 10.0);
        let x = pad + i as f64 * step + (step - bar) / 2.0;
        svg.push_str(&format!(
            "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{bar:.1}\" height=\"{bh:.1}\" fill=\"#c4352b\"><title>{}: {fail} failing, {pass} passing</title></rect>",
            h - bh,
            askama::filters::escape(when, askama::filters::Html)
                .map(|e| e.to_string())
                .unwrap_or_default()
        ));
    }
    svg.push_str(&format!(
        "<text x=\"{pad}\" y=\"{}\" font-size=\"11\" fill=\"#57606a\">{}</text><text x=\"{w}\" y=\"{}\" font-size=\"11\" fill=\"#57606a\" text-anchor=\"end\">max {}</text></svg>",
        h + 15.0,
        askama::filters::escape(&points[0].0, askama::filters::Html)
            .map(|e| e.to_string())
            .unwrap_or_default(),
        h + 15.0,
        max as u64
    ));
    svg
}

async fn dashboard(
    State(state): State<AppState>,
    ui: UiCaller,
    Path(slug): Path<String>,
) -> Result<Response, UiError> {
    let auth = &ui.auth;
    let ws = scoped(&state, &ui, &slug).await?;
    let summary = api::summary_of(&ws).await?;
    let results = crate::reports::WorkspaceResults::read(&ws, Utc::now()).await?;
    let catalog = state.catalog_for(ws.scope()).await?;
    let scores = results.scores(&catalog);
    let top_controls = results
        .top_failing(10)
        .into_iter()
        .map(|(id, failing)| {
            let control = catalog.control(&id);
            TopControl {
                title: control.map(|c| c.title.clone()).unwrap_or_default(),
                severity: control.map_or("info", |c| c.severity.as_str()),
                id,
                failing,
            }
        })
        .collect();
    let mut recent = ws.list_scans(Page::new(TREND_SCANS, 0)).await?.items;
    recent.reverse();
    let points: Vec<(String, u64, u64)> = recent
        .iter()
        .map(|s| (when(s.started_at), s.fail_count, s.pass_count))
        .collect();
    let trend_caption = match (points.first(), points.last()) {
        (Some(first), Some(last)) if points.len() >= 2 => format!(
            "{} failing at {}, {} at {} ({} scans)",
            first.1,
            first.0,
            last.1,
            last.0,
            points.len()
        ),
        _ => "A trend appears after the second scan.".to_owned(),
    };
    let (change_counts, changes) = match &summary.latest_scan {
        Some(scan) => {
            let (counts, items) = state
                .store
                .scan_changes_summary(ws.scope(), &scan.id, 10)
                .await?;
            (
                counts.into_iter().map(|(c, n)| (c.as_str(), n)).collect(),
                items
                    .into_iter()
                    .map(|c| ChangeRow {
                        change: c.change.as_str(),
                        finding_id: c.finding_id,
                        control_id: c.control_id,
                        asset_name: c.asset_name,
                        severity: c.severity.as_str(),
                    })
                    .collect(),
            )
        }
        None => (Vec::new(), Vec::new()),
    };
    let ws_name = state
        .store
        .workspace_by_slug(&slug)
        .await?
        .map(|w| w.name)
        .unwrap_or_else(|| slug.clone());
    let page = DashboardPage {
        nav: Some(Nav::new(auth, Some(&slug))),
        ws: slug,
        ws_name,
        exempted: summary.exempted,
        posture: summary
            .posture_score
            .map_or_else(|| "—".to_owned(), |p| format!("{p:.1}%")),
        posture_int: summary
            .posture_score
            .map_or(0, |p| p.clamp(0.0, 100.0).round() as u64),
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
        trend_svg: trend_svg(&points),
        trend_caption,
        top_controls,
        change_counts,
        changes,
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
    id: String,
    exempted: bool,
    /// Failing again after it had been resolved.
    regressed: bool,
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

/// Table rows for findings, marking those under an active exemption.
async fn finding_rows(
    ws: &WorkspaceStore,
    items: Vec<FindingRecord>,
    state: &AppState,
) -> Result<Vec<FindingRow>, UiError> {
    let ids: Vec<String> = items.iter().map(|r| r.finding.id.clone()).collect();
    let catalog = state.catalog_for(ws.scope()).await?;
    let now = Utc::now();
    let exempted: std::collections::HashSet<String> = ws
        .exemptions_of(&ids)
        .await?
        .into_iter()
        .filter(|e| e.is_active(now))
        .map(|e| e.finding_id)
        .collect();
    Ok(items
        .into_iter()
        .map(|r| {
            let f = r.finding;
            FindingRow {
                exempted: exempted.contains(&f.id),
                regressed: r.last_change.as_deref() == Some("regressed")
                    && matches!(f.status, FindingStatus::Fail | FindingStatus::Error),
                id: f.id,
                severity: f.severity.as_str(),
                status: f.status.as_str(),
                control_title: catalog
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
        .collect())
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
    /// Only this control's findings.
    control: Option<String>,
    severities: Vec<SelectOption>,
    statuses: Vec<SelectOption>,
    rows: Vec<FindingRow>,
    pager: Pager,
    /// The CSV and OCSF exports of the same filter, for members allowed to export.
    export: Option<(String, String)>,
    /// The bulk-exemption form, for members allowed to manage findings.
    bulk: Option<BulkForm>,
    groupings: Vec<SelectOption>,
    /// Grouped rows, when a grouping is chosen (`rows` is then empty).
    groups: Option<Vec<GroupRow>>,
}

/// Checkboxes on failing rows and one reason and expiry for all of them.
struct BulkForm {
    csrf: String,
    /// Where to come back to (this page with its filter).
    back: String,
    /// The expiry proposed: 90 days from today.
    default_expiry: String,
}

#[derive(Deserialize)]
struct FindingsQuery {
    severity: Option<String>,
    status: Option<String>,
    control: Option<String>,
    /// `control`, `asset` or `severity`: one row per group instead of per finding.
    group: Option<String>,
    offset: Option<u64>,
}

const GROUP_OPTIONS: [(&str, &str); 4] = [
    ("", "no grouping"),
    ("control", "by control"),
    ("asset", "by asset"),
    ("severity", "by severity"),
];

/// One row of the grouped findings list.
struct GroupRow {
    label: String,
    /// The findings (or the asset) of this group.
    href: String,
    /// The control's title, for groups by control.
    detail: String,
    failing: u64,
    errors: u64,
    passing: u64,
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
    ui: UiCaller,
    Path(slug): Path<String>,
    Query(q): Query<FindingsQuery>,
) -> Result<Response, UiError> {
    let auth = &ui.auth;
    let ws = scoped(&state, &ui, &slug).await?;
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
    let control = q.control.filter(|c| !c.trim().is_empty());
    let filter = FindingFilter {
        status,
        severity,
        control_id: control.clone(),
        ..FindingFilter::default()
    };
    let group_param = q.group.unwrap_or_default();
    let grouping = match group_param.as_str() {
        "" => None,
        "control" => Some(FindingGrouping::Control),
        "asset" => Some(FindingGrouping::Asset),
        "severity" => Some(FindingGrouping::Severity),
        _ => {
            return Err(ui.fail(ApiError::bad_request(
                "unknown grouping (expected control, asset or severity)",
            )));
        }
    };
    let page_req = Page::new(PAGE_SIZE, q.offset.unwrap_or(0));
    let base = format!(
        "/w/{slug}/findings?severity={}&status={}&control={}&group={}",
        enc(&severity_param),
        enc(&status_param),
        enc(control.as_deref().unwrap_or_default()),
        enc(&group_param)
    );
    let (result, groups) = match grouping {
        None => (ws.list_findings(&filter, page_req).await?, None),
        Some(by) => {
            let paged = ws.finding_groups(&filter, by, page_req).await?;
            let catalog = state.catalog_for(ws.scope()).await?;
            let status_q = enc(&status_param);
            let rows = paged
                .items
                .iter()
                .map(|g| GroupRow {
                    href: match by {
                        FindingGrouping::Control => format!(
                            "/w/{slug}/findings?control={}&status={status_q}",
                            enc(&g.key)
                        ),
                        FindingGrouping::Severity => format!(
                            "/w/{slug}/findings?severity={}&status={status_q}",
                            enc(&g.key)
                        ),
                        FindingGrouping::Asset => {
                            format!("/w/{slug}/assets/{}", segment(&g.key))
                        }
                    },
                    detail: match by {
                        FindingGrouping::Control => catalog
                            .control(&g.key)
                            .map(|c| c.title.clone())
                            .unwrap_or_default(),
                        _ => String::new(),
                    },
                    label: g.label.clone(),
                    failing: g.fail,
                    errors: g.error,
                    passing: g.pass,
                })
                .collect();
            (
                Paged {
                    items: Vec::new(),
                    total: paged.total,
                    limit: paged.limit,
                    offset: paged.offset,
                },
                Some((rows, paged.items.len())),
            )
        }
    };
    let mut pager = pager(&result, &base);
    if let Some((_, n)) = &groups {
        // The pager counts groups here.
        let end = result.offset + *n as u64;
        pager.showing = if result.total == 0 {
            "none".into()
        } else {
            format!("groups {}–{end} of {}", result.offset + 1, result.total)
        };
        pager.next = (end < result.total).then(|| format!("{base}&offset={end}"));
    }
    let groups = groups.map(|(rows, _)| rows);
    let export = ws.scope().allows(Permission::ExportData).then(|| {
        let mut url = format!("/api/v1/workspaces/{slug}/findings/export?format=csv");
        if let Some(s) = status {
            url.push_str(&format!("&status={}", s.as_str()));
        }
        if let Some(s) = severity {
            url.push_str(&format!("&severity={}", s.as_str()));
        }
        if let Some(c) = &control {
            url.push_str(&format!("&control={}", enc(c)));
        }
        let ocsf = url.replacen("format=csv", "format=ocsf", 1);
        (url, ocsf)
    });
    let rows = finding_rows(&ws, result.items, &state).await?;
    let bulk = ws
        .scope()
        .allows(Permission::ManageFindings)
        .then(|| BulkForm {
            csrf: auth.0.csrf_token.clone(),
            back: format!("{base}&offset={}", result.offset),
            default_expiry: (Utc::now() + chrono::TimeDelta::days(90))
                .format("%Y-%m-%d")
                .to_string(),
        });
    let page = FindingsPage {
        groupings: GROUP_OPTIONS
            .iter()
            .map(|(value, label)| SelectOption {
                value,
                label,
                selected: *value == group_param,
            })
            .collect(),
        groups,
        bulk,
        export,
        nav: Some(Nav::new(auth, Some(&slug))),
        pager,
        control,
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
        rows,
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
    provider: String,
    account: String,
    region: String,
    q: String,
    error: Option<String>,
    rows: Vec<AssetRow>,
    pager: Pager,
    may_export: bool,
    facets: Vec<FacetGroup>,
    /// Facet counts cover only the first `rampart_store::FACET_SAMPLE` assets.
    facets_sampled: Option<u64>,
    /// The CEL query was evaluated over this many assets only (the page's bound).
    query_stopped: Option<u64>,
    /// Saved queries of the workspace, each a link that runs it.
    saved: Vec<SavedLink>,
    /// The CSRF token of the save and delete forms, for members allowed to use them.
    manage_csrf: Option<String>,
    /// Whether the query box holds a valid query to save.
    can_save: bool,
    /// The "save as custom control" form, for members who manage controls, with a valid query.
    control_form: Option<custom_controls::ControlForm>,
}

struct SavedLink {
    id: String,
    name: String,
    query: String,
    href: String,
}

/// One facet of the inventory: its values with counts, each a link that filters by it.
struct FacetGroup {
    id: &'static str,
    label: &'static str,
    /// Link that removes this facet's filter, when it is set.
    clear: Option<String>,
    values: Vec<FacetLink>,
}

struct FacetLink {
    value: String,
    count: u64,
    href: String,
    selected: bool,
}

#[derive(Deserialize)]
struct AssetsQuery {
    #[serde(rename = "type")]
    resource_type: Option<String>,
    provider: Option<String>,
    account: Option<String>,
    region: Option<String>,
    /// `gone` lists the assets a scan found gone.
    state: Option<String>,
    /// `key=value`.
    tag: Option<String>,
    /// A control id: the assets it fails on.
    control: Option<String>,
    /// A score band (`75-99`, ...).
    score: Option<String>,
    q: Option<String>,
    offset: Option<u64>,
}

#[derive(Deserialize)]
struct SaveQueryForm {
    name: String,
    query: String,
}

/// Saves the inventory page's CEL query under a name (it must compile), then runs it.
async fn save_query(
    State(state): State<AppState>,
    ui: UiCaller,
    Path(slug): Path<String>,
    Form(form): Form<SaveQueryForm>,
) -> Result<Response, UiError> {
    api::compile_filter(&form.query).map_err(|e| ui.fail(e))?;
    let ws = authorize(&state, &ui.caller, &slug, Permission::ManageFindings)
        .await
        .map_err(|e| ui.fail(e))?;
    let saved = state
        .store
        .save_query(
            ws.scope(),
            &form.name,
            &form.query,
            ui.caller.event_in(ws.scope(), "query.save"),
        )
        .await
        .map_err(|e| ui.fail(e.into()))?;
    Ok(Redirect::to(&assets_url(&slug, &[("q", saved.query.as_str())])).into_response())
}

async fn delete_query(
    State(state): State<AppState>,
    ui: UiCaller,
    Path((slug, id)): Path<(String, String)>,
) -> Result<Response, UiError> {
    let ws = authorize(&state, &ui.caller, &slug, Permission::ManageFindings)
        .await
        .map_err(|e| ui.fail(e))?;
    state
        .store
        .delete_saved_query(
            ws.scope(),
            &id,
            ui.caller.event_in(ws.scope(), "query.delete"),
        )
        .await
        .map_err(|e| ui.fail(e.into()))?;
    Ok(Redirect::to(&format!("/w/{slug}/assets")).into_response())
}

/// `/w/{ws}/assets?…` with these parameters (empty ones left out).
fn assets_url(slug: &str, params: &[(&str, &str)]) -> String {
    let query: Vec<String> = params
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", enc(v)))
        .collect();
    if query.is_empty() {
        format!("/w/{slug}/assets")
    } else {
        format!("/w/{slug}/assets?{}", query.join("&"))
    }
}

async fn assets(
    State(state): State<AppState>,
    ui: UiCaller,
    Path(slug): Path<String>,
    Query(q): Query<AssetsQuery>,
) -> Result<Response, UiError> {
    let auth = &ui.auth;
    let ws = scoped(&state, &ui, &slug).await?;
    let clean = |v: Option<String>| v.map(|v| v.trim().to_owned()).unwrap_or_default();
    let type_filter = clean(q.resource_type);
    let provider = clean(q.provider);
    let account = clean(q.account);
    let region = clean(q.region);
    let tag = clean(q.tag);
    let control = clean(q.control);
    let score = clean(q.score);
    let expr = q.q.unwrap_or_default();
    let gone = q.state.as_deref() == Some("gone");
    let set = |v: &str| (!v.is_empty()).then(|| v.to_owned());
    let filter = api::with_facet_filters(
        AssetFilter {
            resource_type: set(&type_filter),
            provider: set(&provider),
            account: set(&account),
            region: set(&region),
            gone,
            tag: set(&tag),
            failing_control: set(&control),
            score: None,
        },
        Some(&score),
    )?;
    let page_req = Page::new(PAGE_SIZE, q.offset.unwrap_or(0));
    let scanned = api::filtered_assets_within(
        &ws,
        &filter,
        Some(&expr),
        page_req,
        Some(state.query_scan_limit),
    )
    .await;
    let (result, error, query_stopped) = match scanned {
        Ok((r, stopped)) => (r, None, stopped.then_some(state.query_scan_limit)),
        Err(e) if e.code == "invalid_filter" => (
            Paged {
                items: Vec::new(),
                total: 0,
                limit: page_req.limit(),
                offset: 0,
            },
            Some(e.message),
            None,
        ),
        Err(e) => return Err(e.into()),
    };
    let current = [
        ("provider", provider.as_str()),
        ("account", account.as_str()),
        ("region", region.as_str()),
        ("type", type_filter.as_str()),
        ("tag", tag.as_str()),
        ("control", control.as_str()),
        ("score", score.as_str()),
        ("q", expr.as_str()),
        ("state", if gone { "gone" } else { "" }),
    ];
    // A facet link sets one parameter and keeps the others (the page starts over at offset 0).
    let with = |key: &str, value: &str| {
        let params: Vec<(&str, &str)> = current
            .iter()
            .map(|(k, v)| if *k == key { (*k, value) } else { (*k, *v) })
            .collect();
        assets_url(&slug, &params)
    };
    let counts = ws.asset_facets(&filter).await?;
    let type_choices: Vec<String> = counts.types.iter().map(|f| f.value.clone()).collect();
    let facets = [
        ("provider", "Provider", &counts.providers, provider.as_str()),
        ("account", "Account", &counts.accounts, account.as_str()),
        ("region", "Region", &counts.regions, region.as_str()),
        ("type", "Type", &counts.types, type_filter.as_str()),
        ("tag", "Tag", &counts.tags, tag.as_str()),
        (
            "control",
            "Failing control",
            &counts.failing_controls,
            control.as_str(),
        ),
        ("score", "Score", &counts.scores, score.as_str()),
    ]
    .into_iter()
    .map(|(id, label, values, chosen)| FacetGroup {
        id,
        label,
        clear: (!chosen.is_empty()).then(|| with(id, "")),
        values: values
            .iter()
            .map(|f| FacetLink {
                href: with(id, &f.value),
                selected: f.value == chosen,
                value: f.value.clone(),
                count: f.count,
            })
            .collect(),
    })
    .collect::<Vec<_>>();
    // Present and gone assets under the same filters (the other state counted apart).
    let other = ws
        .count_assets(&AssetFilter {
            gone: !gone,
            ..filter.clone()
        })
        .await?;
    // Without a CEL query the list's own total is this state's count (facets ignore the query).
    let this = if expr.trim().is_empty() && error.is_none() {
        result.total
    } else {
        ws.count_assets(&filter).await?
    };
    let (present_n, gone_n) = if gone { (other, this) } else { (this, other) };
    let mut facets = facets;
    facets.push(FacetGroup {
        id: "state",
        label: "State",
        clear: None,
        values: vec![
            FacetLink {
                href: with("state", ""),
                selected: !gone,
                value: "present".to_owned(),
                count: present_n,
            },
            FacetLink {
                href: with("state", "gone"),
                selected: gone,
                value: "gone".to_owned(),
                count: gone_n,
            },
        ],
    });
    let base = assets_url(&slug, &current);
    let saved = state
        .store
        .saved_queries(ws.scope())
        .await?
        .into_iter()
        .map(|q| SavedLink {
            href: assets_url(&slug, &[("q", q.query.as_str())]),
            id: q.id,
            name: q.name,
            query: q.query,
        })
        .collect();
    let manage_csrf = ws
        .scope()
        .allows(Permission::ManageFindings)
        .then(|| auth.0.csrf_token.clone());
    let can_save = !expr.trim().is_empty() && error.is_none();
    let control_form = (can_save && ws.scope().allows(Permission::ManageControls)).then(|| {
        custom_controls::ControlForm::new(
            &state.catalog,
            auth.0.csrf_token.clone(),
            type_choices,
            &type_filter,
        )
    });
    let page = AssetsPage {
        facets_sampled: counts.sampled.then_some(rampart_store::FACET_SAMPLE),
        query_stopped,
        control_form,
        saved,
        manage_csrf,
        can_save,
        may_export: ws.scope().allows(Permission::ExportData),
        nav: Some(Nav::new(auth, Some(&slug))),
        pager: pager(&result, &base),
        ws: slug,
        type_filter,
        provider,
        account,
        region,
        q: expr,
        error,
        facets,
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
    /// No bulk exemption on the asset page (the findings table is shared).
    bulk: Option<BulkForm>,
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
    /// When a scan found the asset gone.
    gone_at: Option<String>,
    /// What scans changed, newest first.
    changes: Vec<ChangeView>,
    tags: Vec<(String, String)>,
    config: String,
    /// Security score 0–100, rounded.
    score: u32,
    /// Computed properties as (name, JSON value) pairs.
    exposure: Vec<(String, String)>,
    /// Attack paths from the internet, hop by hop.
    paths: Vec<Vec<PathHop>>,
    relationships: Vec<RelationshipRow>,
    /// The relationships drawn as a graph (inline SVG; empty without relationships).
    graph_svg: String,
    rows: Vec<FindingRow>,
}

/// One scan's change on the asset page: (path, before, after) as compact JSON, shortened.
struct ChangeView {
    when: String,
    scan_id: String,
    fields: Vec<(String, String, String)>,
}

fn short_json(v: &serde_json::Value) -> String {
    if v.is_null() {
        return "—".to_owned();
    }
    let text = v.to_string();
    if text.chars().count() > 160 {
        format!("{}…", text.chars().take(160).collect::<String>())
    } else {
        text
    }
}

/// Neighbours drawn in the asset page's graph (the list below it has them all).
const GRAPH_NEIGHBOURS: usize = 16;

fn esc(text: &str) -> String {
    askama::filters::escape(text, askama::filters::Html)
        .map(|e| e.to_string())
        .unwrap_or_default()
}

/// The asset in the middle and its neighbours on a circle, each edge an arrow in the direction
/// of the relationship with its kind; nodes link to their asset pages. SVG with presentation
/// attributes only (the style policy allows no inline style).
fn relationship_svg(slug: &str, name: &str, rels: &[RelationshipRow]) -> String {
    if rels.is_empty() {
        return String::new();
    }
    let shown = &rels[..rels.len().min(GRAPH_NEIGHBOURS)];
    let (w, h) = (640.0_f64, 420.0_f64);
    let (cx, cy, r) = (w / 2.0, h / 2.0, 160.0_f64);
    let short = |t: &str| {
        let t: String = t.chars().take(22).collect();
        esc(&t)
    };
    let mut svg = format!(
        "<svg role=\"img\" aria-labelledby=\"graph-title\" viewBox=\"0 0 {w} {h}\" width=\"100%\" class=\"graph\"><title id=\"graph-title\">{} and its {} related assets</title><defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M 0 0 L 10 5 L 0 10 z\" fill=\"#57606a\"/></marker></defs>",
        esc(name),
        shown.len()
    );
    for (i, rel) in shown.iter().enumerate() {
        let angle =
            std::f64::consts::TAU * i as f64 / shown.len() as f64 - std::f64::consts::FRAC_PI_2;
        let (x, y) = (cx + r * angle.cos(), cy + r * angle.sin());
        // Edges stop short of the node circles so the arrow heads stay visible.
        let (dx, dy) = (x - cx, y - cy);
        let len = (dx * dx + dy * dy).sqrt().max(1.0);
        let (ux, uy) = (dx / len, dy / len);
        let (x1, y1, x2, y2) = if rel.outgoing {
            (cx + ux * 30.0, cy + uy * 30.0, x - ux * 14.0, y - uy * 14.0)
        } else {
            (x - ux * 14.0, y - uy * 14.0, cx + ux * 30.0, cy + uy * 30.0)
        };
        svg.push_str(&format!(
            "<line x1=\"{x1:.1}\" y1=\"{y1:.1}\" x2=\"{x2:.1}\" y2=\"{y2:.1}\" stroke=\"#8c959f\" stroke-width=\"1.5\" marker-end=\"url(#arrow)\"/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" fill=\"#57606a\" text-anchor=\"middle\">{}</text>",
            (cx + x) / 2.0,
            (cy + y) / 2.0 - 3.0,
            short(&rel.kind)
        ));
        svg.push_str(&format!(
            "<a href=\"/w/{}/assets/{}\"><circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"12\" fill=\"#ddf4ff\" stroke=\"#2f5fd0\" stroke-width=\"1.5\"><title>{} ({})</title></circle><text x=\"{x:.1}\" y=\"{:.1}\" font-size=\"11\" fill=\"#1b1f24\" text-anchor=\"middle\">{}</text></a>",
            esc(slug),
            esc(&rel.other_id),
            esc(&rel.other_name),
            esc(&rel.other_type),
            y + 26.0,
            short(&rel.other_name)
        ));
    }
    svg.push_str(&format!(
        "<circle cx=\"{cx}\" cy=\"{cy}\" r=\"28\" fill=\"#2f5fd0\"/><text x=\"{cx}\" y=\"{:.1}\" font-size=\"12\" font-weight=\"600\" fill=\"#1b1f24\" text-anchor=\"middle\">{}</text></svg>",
        cy + 44.0,
        short(name)
    ));
    svg
}

async fn asset(
    State(state): State<AppState>,
    ui: UiCaller,
    Path((slug, id)): Path<(String, String)>,
) -> Result<Response, UiError> {
    let auth = &ui.auth;
    let ws = scoped(&state, &ui, &slug).await?;
    let a = ws
        .asset(&id)
        .await?
        .ok_or_else(|| ApiError::not_found("asset"))?;
    let relationships = ws.relationships_of(&id).await?;
    let gone_at = ws.asset_gone_at(&id).await?.flatten().map(when);
    let changes = crate::api::asset_changes(&ws, &a)
        .await?
        .into_iter()
        .map(|c| ChangeView {
            when: when(c.changed_at),
            scan_id: c.scan_id,
            fields: c
                .fields
                .iter()
                .map(|f| (f.path.clone(), short_json(&f.before), short_json(&f.after)))
                .collect(),
        })
        .collect();
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
    let mut names: HashMap<String, (String, String)> = HashMap::new();
    for p in &insight.paths {
        for node in &p.nodes {
            if !names.contains_key(node)
                && let Some(n) = ws.asset(node).await?
            {
                names.insert(node.clone(), (n.name, n.resource_type.as_str().to_owned()));
            }
        }
    }
    let node = |id: &str| {
        let (name, ty) = names
            .get(id)
            .cloned()
            .unwrap_or_else(|| (id.to_owned(), String::new()));
        PathNode {
            id: id.to_owned(),
            name,
            resource_type: ty,
        }
    };
    let paths = insight
        .paths
        .into_iter()
        .map(|p| {
            p.hops
                .into_iter()
                .map(|h| PathHop {
                    from: (h.kind != "internet").then(|| node(&h.from)),
                    to: node(&h.to),
                    kind: h.kind,
                    backward: h.direction == "backward",
                    reason: h.reason,
                })
                .collect()
        })
        .collect();
    let rows = finding_rows(&ws, findings.items, &state).await?;
    let page = AssetPage {
        bulk: None,
        score,
        exposure,
        paths,
        nav: Some(Nav::new(auth, Some(&slug))),
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
        gone_at,
        changes,
        tags: a.tags.into_iter().collect(),
        config: serde_json::to_string_pretty(&a.config).unwrap_or_default(),
        graph_svg: String::new(),
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
        rows,
    };
    let page = AssetPage {
        graph_svg: relationship_svg(&page.ws, &page.name, &page.relationships),
        ..page
    };
    Ok(render(&page))
}

/// An asset on an exposure path.
struct PathNode {
    id: String,
    name: String,
    resource_type: String,
}

/// One hop of an exposure path: from the internet (no `from`) or from an asset, over an edge.
struct PathHop {
    from: Option<PathNode>,
    to: PathNode,
    kind: String,
    backward: bool,
    reason: String,
}

// ----- one finding, exemptions ------------------------------------------------------------------

struct ExemptionView {
    reason: String,
    expires: String,
    by: String,
    at: String,
    active: bool,
}

#[derive(Template)]
#[template(path = "finding.html")]
struct FindingPage {
    nav: Option<Nav>,
    ws: String,
    id: String,
    severity: &'static str,
    status: &'static str,
    failing: bool,
    control_id: String,
    control_title: String,
    asset_id: String,
    asset_name: String,
    asset_type: String,
    reason: String,
    first_seen: String,
    last_seen: String,
    exemption: Option<ExemptionView>,
    /// Whether the caller may exempt and reopen.
    may_manage: bool,
    csrf: String,
    /// Default expiry for a new exemption (a date, 90 days on).
    default_expiry: String,
    min_expiry: String,
    max_expiry: String,
}

async fn finding(
    State(state): State<AppState>,
    ui: UiCaller,
    Path((slug, id)): Path<(String, String)>,
) -> Result<Response, UiError> {
    let ws = scoped(&state, &ui, &slug).await?;
    let r = ws
        .finding(&id)
        .await?
        .ok_or_else(|| ApiError::not_found("finding"))?;
    let now = Utc::now();
    let exemption = ws.exemption(&id).await?.map(|e| ExemptionView {
        active: e.is_active(now),
        reason: e.reason,
        expires: when(e.expires_at),
        by: e.created_by_label,
        at: when(e.created_at),
    });
    let f = r.finding;
    let catalog = state.catalog_for(ws.scope()).await?;
    let day = |d: i64| {
        (now + chrono::TimeDelta::days(d))
            .format("%Y-%m-%d")
            .to_string()
    };
    let page = FindingPage {
        nav: Some(Nav::new(&ui.auth, Some(&slug))),
        may_manage: ws.scope().allows(Permission::ManageFindings),
        csrf: ui.auth.0.csrf_token.clone(),
        ws: slug,
        severity: f.severity.as_str(),
        status: f.status.as_str(),
        failing: matches!(f.status, FindingStatus::Fail | FindingStatus::Error),
        control_title: catalog
            .control(&f.control_id)
            .map(|c| c.title.clone())
            .unwrap_or_default(),
        id: f.id,
        control_id: f.control_id,
        asset_id: f.asset_id,
        asset_name: r.asset_name,
        asset_type: r.asset_type,
        reason: f.reason,
        first_seen: when(f.first_seen),
        last_seen: when(f.last_seen),
        exemption,
        default_expiry: day(90),
        min_expiry: day(1),
        max_expiry: day(365),
    };
    Ok(render(&page))
}

#[derive(Deserialize)]
struct ExemptForm {
    reason: String,
    /// A date (`YYYY-MM-DD`): the exemption ends at the start of that day, UTC.
    expires: String,
}

/// Parses a `YYYY-MM-DD` form date as the start of that day, UTC.
pub(crate) fn form_date(field: &str, value: &str) -> Result<DateTime<Utc>, ApiError> {
    chrono::NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .ok_or_else(|| ApiError::bad_request(format!("{field} must be a date (YYYY-MM-DD)")))
}

async fn exempt(
    State(state): State<AppState>,
    ui: UiCaller,
    Path((slug, id)): Path<(String, String)>,
    Form(form): Form<ExemptForm>,
) -> Result<Response, UiError> {
    let body = crate::exemptions::NewExemption {
        reason: form.reason,
        expires_at: form_date("the expiry", &form.expires)?,
    };
    crate::exemptions::exempt_finding(&state, &ui.caller, &slug, &id, &body)
        .await
        .map_err(|e| ui.fail(e))?;
    Ok(Redirect::to(&format!("/w/{slug}/findings/{}", segment(&id))).into_response())
}

/// The findings page's bulk exemption: every checked finding with one reason and expiry, all
/// or none (one transaction), then back to the same page.
async fn exempt_many(
    State(state): State<AppState>,
    ui: UiCaller,
    Path(slug): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, UiError> {
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let finding_ids: Vec<String> = form
        .iter()
        .filter(|(k, _)| k == "finding")
        .map(|(_, v)| v.clone())
        .collect();
    if finding_ids.is_empty() {
        return Err(ui.fail(ApiError::bad_request(
            "select at least one finding to exempt",
        )));
    }
    let body = crate::exemptions::BulkExemption {
        finding_ids,
        reason: field("reason"),
        expires_at: form_date("the expiry", &field("expires")).map_err(|e| ui.fail(e))?,
    };
    crate::exemptions::exempt_findings(&state, &ui.caller, &slug, &body)
        .await
        .map_err(|e| ui.fail(e))?;
    // Only back to this workspace's findings list (never an address from elsewhere).
    let back = field("back");
    let back = if back.starts_with(&format!("/w/{slug}/findings?")) && !back.contains("//") {
        back
    } else {
        format!("/w/{slug}/findings")
    };
    Ok(Redirect::to(&back).into_response())
}

async fn reopen(
    State(state): State<AppState>,
    ui: UiCaller,
    Path((slug, id)): Path<(String, String)>,
) -> Result<Response, UiError> {
    crate::exemptions::reopen_finding(&state, &ui.caller, &slug, &id)
        .await
        .map_err(|e| ui.fail(e))?;
    Ok(Redirect::to(&format!("/w/{slug}/findings/{}", segment(&id))).into_response())
}
