//! Reports and exports: a compliance report per framework (HTML or PDF) and the workspace's
//! findings and inventory as CSV, for the API (`…/frameworks/{id}/report`, `…/findings/export`,
//! `…/assets/export`), the web app's download links and `rampart report`.
//!
//! Everything is read from the store under the caller's workspace scope, page by page: a report
//! lists at most [`ASSET_LIMIT`] failing assets per control, and the CSV exports stream pages of
//! [`EXPORT_PAGE`] rows (findings by keyset, so deep pages cost no more than the first), so neither
//! loads an unbounded number of rows at once.

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use rampart_model::FindingStatus;
use rampart_output::compliance::{
    ComplianceReport, ControlResult, ExemptionRow, FailingAsset, ReportFormat, RequirementResult,
    RequirementStatus,
};
use rampart_rules::Catalog;
use rampart_rules::score::{FrameworkScore, framework_scores};
use rampart_store::{AssetFilter, FindingFilter, Page, Permission, StoreError, WorkspaceStore};
use serde::Deserialize;
use sha2::Digest;

use crate::api::ApiPath;
use crate::authz::{Caller, authorize};
use crate::error::ApiError;
use crate::state::AppState;

/// Failing assets listed per control in a compliance report.
pub const ASSET_LIMIT: usize = 25;
/// Rows per store query while exporting: the store's largest page (a smaller page than asked
/// for must not read as the last one).
pub const EXPORT_PAGE: u32 = rampart_store::MAX_PAGE_SIZE;

/// A workspace's results per control, read once: what scores, reports and the compliance
/// pages are computed from.
pub struct WorkspaceResults {
    counts: Vec<rampart_store::ControlCount>,
    /// Findings under an active exemption, per (control, status).
    exempted: HashMap<(String, FindingStatus), u64>,
}

impl WorkspaceResults {
    pub async fn read(ws: &WorkspaceStore, now: DateTime<Utc>) -> Result<Self, StoreError> {
        let mut exempted: HashMap<(String, FindingStatus), u64> = HashMap::new();
        for e in ws.exempted_counts(now).await? {
            *exempted.entry((e.control_id, e.status)).or_default() += e.count;
        }
        Ok(WorkspaceResults {
            counts: ws.control_counts().await?,
            exempted,
        })
    }

    /// Framework scores; findings under an active exemption do not make their control fail.
    pub fn scores(&self, catalog: &Catalog) -> Vec<FrameworkScore> {
        let results: Vec<(String, FindingStatus)> = self
            .counts
            .iter()
            .filter(|c| {
                !matches!(c.status, FindingStatus::Fail | FindingStatus::Error)
                    || c.count > self.exempted_of(&c.control_id, c.status)
            })
            .map(|c| (c.control_id.clone(), c.status))
            .collect();
        framework_scores(catalog, &results)
    }

    /// `(passing, failing or erroring)` findings per control, exempted ones included.
    pub fn per_control(&self) -> HashMap<String, (u64, u64)> {
        let mut counts: HashMap<String, (u64, u64)> = HashMap::new();
        for c in &self.counts {
            let entry = counts.entry(c.control_id.clone()).or_default();
            match c.status {
                FindingStatus::Pass => entry.0 += c.count,
                FindingStatus::Fail | FindingStatus::Error => entry.1 += c.count,
                FindingStatus::NotApplicable => {}
            }
        }
        counts
    }

    /// The `n` controls with the most failing or erroring findings not under an active
    /// exemption, most first (ties by control id).
    pub fn top_failing(&self, n: usize) -> Vec<(String, u64)> {
        let mut failing: HashMap<&str, u64> = HashMap::new();
        for c in &self.counts {
            if matches!(c.status, FindingStatus::Fail | FindingStatus::Error) {
                let open = c
                    .count
                    .saturating_sub(self.exempted_of(&c.control_id, c.status));
                *failing.entry(c.control_id.as_str()).or_default() += open;
            }
        }
        let mut top: Vec<(String, u64)> = failing
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .map(|(c, n)| (c.to_owned(), n))
            .collect();
        top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        top.truncate(n);
        top
    }

    fn exempted_of(&self, control: &str, status: FindingStatus) -> u64 {
        self.exempted
            .get(&(control.to_owned(), status))
            .copied()
            .unwrap_or(0)
    }
}

/// Framework scores of the workspace from its current findings.
pub async fn workspace_scores(
    ws: &WorkspaceStore,
    catalog: &Catalog,
    now: DateTime<Utc>,
) -> Result<Vec<FrameworkScore>, StoreError> {
    Ok(WorkspaceResults::read(ws, now).await?.scores(catalog))
}

/// The compliance report of `framework_id` in the workspace; `None` for an unknown framework.
/// `workspace` is the label printed on the report.
pub async fn compliance_report(
    ws: &WorkspaceStore,
    catalog: &Catalog,
    framework_id: &str,
    workspace: &str,
    now: DateTime<Utc>,
) -> Result<Option<ComplianceReport>, StoreError> {
    let Some(framework) = catalog.framework(framework_id) else {
        return Ok(None);
    };
    let results = WorkspaceResults::read(ws, now).await?;
    let Some(score) = results
        .scores(catalog)
        .into_iter()
        .find(|s| s.framework_id == framework.id)
    else {
        return Ok(None);
    };
    let counts = results.per_control();

    // Each control once, however many requirements map it.
    let mut controls: HashMap<String, ControlResult> = HashMap::new();
    let mut exemptions = Vec::new();
    for req in &score.requirements {
        for id in &req.controls {
            if controls.contains_key(id) {
                continue;
            }
            let Some(control) = catalog.control(id) else {
                continue;
            };
            let (passing, failing_all) = counts.get(id).copied().unwrap_or_default();
            let exempt_count = results.exempted_of(id, FindingStatus::Fail)
                + results.exempted_of(id, FindingStatus::Error);
            let mut result = ControlResult {
                id: id.clone(),
                title: control.title.clone(),
                severity: control.severity,
                passing,
                failing: failing_all.saturating_sub(exempt_count),
                exempted: exempt_count,
                failing_assets: Vec::new(),
            };
            if failing_all > 0 {
                let (assets, rows) =
                    failing_assets(ws, id, ASSET_LIMIT, exempt_count > 0, now).await?;
                result.failing_assets = assets;
                exemptions.extend(rows);
            }
            controls.insert(id.clone(), result);
        }
    }
    exemptions.sort_by(|a: &ExemptionRow, b: &ExemptionRow| {
        (&a.control_id, &a.asset_name).cmp(&(&b.control_id, &b.asset_name))
    });

    let requirements = score
        .requirements
        .iter()
        .map(|r| RequirementResult {
            id: r.id.clone(),
            title: r.title.clone(),
            status: RequirementStatus::parse(r.status).unwrap_or(RequirementStatus::NotAssessed),
            controls: r
                .controls
                .iter()
                .filter_map(|c| controls.get(c).cloned())
                .collect(),
        })
        .collect();
    let latest_scan = ws.latest_scan().await?.map(|s| (s.id, s.started_at));
    Ok(Some(ComplianceReport {
        workspace: workspace.to_owned(),
        framework_id: framework.id.clone(),
        framework_name: framework.name.clone(),
        framework_version: framework.version.clone(),
        generated_at: now,
        product_version: env!("CARGO_PKG_VERSION").to_owned(),
        latest_scan,
        percent: score.percent,
        passing: score.passing,
        failing: score.failing,
        not_assessed: score.not_assessed,
        manual: score.manual,
        requirements,
        exemptions,
        asset_limit: ASSET_LIMIT,
    }))
}

/// The first `limit` failing (or erroring) assets of a control that are not exempted, and —
/// when `with_exemptions` — the active exemptions met on the way (bounded by the same pages).
async fn failing_assets(
    ws: &WorkspaceStore,
    control_id: &str,
    limit: usize,
    with_exemptions: bool,
    now: DateTime<Utc>,
) -> Result<(Vec<FailingAsset>, Vec<ExemptionRow>), StoreError> {
    let mut assets = Vec::new();
    let mut exemptions = Vec::new();
    for status in [FindingStatus::Fail, FindingStatus::Error] {
        let filter = FindingFilter {
            status: Some(status),
            control_id: Some(control_id.to_owned()),
            ..FindingFilter::default()
        };
        // A few pages at most: enough to fill the list past exempted findings.
        let mut offset = 0u64;
        for _ in 0..10 {
            let page = ws.list_findings(&filter, Page::new(200, offset)).await?;
            let n = page.items.len();
            let active: HashMap<String, rampart_store::Exemption> = if with_exemptions {
                let ids: Vec<String> = page.items.iter().map(|f| f.finding.id.clone()).collect();
                ws.exemptions_of(&ids)
                    .await?
                    .into_iter()
                    .filter(|e| e.is_active(now))
                    .map(|e| (e.finding_id.clone(), e))
                    .collect()
            } else {
                HashMap::new()
            };
            for f in page.items {
                if let Some(e) = active.get(&f.finding.id) {
                    exemptions.push(ExemptionRow {
                        control_id: control_id.to_owned(),
                        asset_name: f.asset_name.clone(),
                        asset_type: f.asset_type.clone(),
                        reason: e.reason.clone(),
                        expires_at: e.expires_at,
                        created_by: e.created_by_label.clone(),
                    });
                } else if assets.len() < limit {
                    assets.push(FailingAsset {
                        asset_id: f.finding.asset_id.clone(),
                        name: f.asset_name.clone(),
                        asset_type: f.asset_type.clone(),
                        reason: f.finding.reason.clone(),
                    });
                }
            }
            if n < 200 || (assets.len() >= limit && !with_exemptions) {
                break;
            }
            offset += n as u64;
        }
    }
    Ok((assets, exemptions))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub(crate) struct ReportParams {
    /// `pdf` (default) or `html`.
    #[serde(default)]
    format: Option<String>,
}

fn attachment(file_name: &str, media_type: &'static str, body: Body) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    response
}

/// The Content-Security-Policy of an HTML report: nothing but its own style element.
pub(crate) fn report_csp() -> String {
    let digest = sha2::Sha256::digest(rampart_output::compliance::html_style().as_bytes());
    use base64::Engine as _;
    format!(
        "default-src 'none'; style-src 'sha256-{}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

/// Renders the report for an authorised caller: shared by the API and the web app.
pub(crate) async fn report_response(
    state: &AppState,
    auth: &Caller,
    slug: &str,
    framework_id: &str,
    format: Option<&str>,
) -> Result<Response, ApiError> {
    let format = ReportFormat::parse(format.unwrap_or("pdf"))
        .map_err(|e| ApiError::bad_request(format!("invalid format: {e}")))?;
    let ws = authorize(state, auth, slug, Permission::ExportData).await?;
    let catalog = state.catalog_for(ws.scope()).await?;
    let report = compliance_report(&ws, &catalog, framework_id, slug, Utc::now())
        .await?
        .ok_or_else(|| ApiError::not_found("framework"))?;
    let bytes = report.render(format);
    Ok(report_attachment(
        &report.file_name(format),
        format,
        Body::from(bytes),
    ))
}

/// A report as a download; an HTML report under its own strict policy.
fn report_attachment(file_name: &str, format: ReportFormat, body: Body) -> Response {
    let mut response = attachment(file_name, format.media_type(), body);
    if format == ReportFormat::Html
        && let Ok(v) = HeaderValue::from_str(&report_csp())
    {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, v);
    }
    response
}

/// A framework's compliance report as a PDF or a self-contained HTML page (a download).
#[utoipa::path(get, path = "/api/v1/workspaces/{ws}/frameworks/{id}/report", tag = "frameworks",
    params(("ws" = String, Path, description = "Workspace slug"),
        ("id" = String, Path, description = "Framework id"), ReportParams),
    responses((status = 200, description = "The report (application/pdf or text/html), as an attachment", content_type = "application/pdf"),
        (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn framework_report(
    State(state): State<AppState>,
    auth: Caller,
    ApiPath((ws, id)): ApiPath<(String, String)>,
    Query(params): Query<ReportParams>,
) -> Result<Response, ApiError> {
    report_response(&state, &auth, &ws, &id, params.format.as_deref()).await
}

/// Header of the findings CSV export.
pub const FINDINGS_CSV_HEADER: [&str; 13] = [
    "finding_id",
    "status",
    "severity",
    "control_id",
    "control_title",
    "asset_id",
    "asset_name",
    "asset_type",
    "reason",
    "first_seen",
    "last_seen",
    "resolved_at",
    "exempted_until",
];

/// Header of the inventory CSV export.
pub const ASSETS_CSV_HEADER: [&str; 10] = [
    "asset_id",
    "native_id",
    "name",
    "type",
    "provider",
    "account",
    "region",
    "tags",
    "first_seen",
    "last_seen",
];

fn csv_row(fields: &[String]) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let guarded: Vec<String> = fields
        .iter()
        .map(|f| rampart_output::guard_cell(f).into_owned())
        .collect();
    // Writing into a Vec cannot fail.
    let _ = w.write_record(&guarded);
    w.into_inner().unwrap_or_default()
}

/// Writes every finding matching `filter` as CSV (RFC 4180, formula cells neutralised), one
/// chunk per page of [`EXPORT_PAGE`] rows, to `sink`; stops early when `sink` answers `false`.
/// Answers the number of rows written.
pub async fn export_findings_csv<F, Fut>(
    ws: &WorkspaceStore,
    catalog: &Catalog,
    filter: &FindingFilter,
    now: DateTime<Utc>,
    mut sink: F,
) -> Result<u64, StoreError>
where
    F: FnMut(Vec<u8>) -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    if !sink(csv_row(&FINDINGS_CSV_HEADER.map(str::to_owned))).await {
        return Ok(0);
    }
    let mut cursor: Option<rampart_store::FindingCursor> = None;
    let mut rows = 0u64;
    loop {
        // Keyset pages: each costs the same however deep into the list it is.
        let items = ws
            .findings_after(filter, cursor.as_ref(), EXPORT_PAGE)
            .await?;
        let n = items.len();
        cursor = items.last().map(rampart_store::FindingCursor::after);
        let ids: Vec<String> = items.iter().map(|f| f.finding.id.clone()).collect();
        let exempt: HashMap<String, DateTime<Utc>> = ws
            .exemptions_of(&ids)
            .await?
            .into_iter()
            .filter(|e| e.is_active(now))
            .map(|e| (e.finding_id, e.expires_at))
            .collect();
        let mut chunk = Vec::with_capacity(n * 256);
        for f in items {
            let title = catalog
                .control(&f.finding.control_id)
                .map(|c| c.title.clone())
                .unwrap_or_default();
            let exempted_until = exempt
                .get(&f.finding.id)
                .map(|t| t.to_rfc3339())
                .unwrap_or_default();
            chunk.extend(csv_row(&[
                f.finding.id,
                f.finding.status.as_str().to_owned(),
                f.finding.severity.as_str().to_owned(),
                f.finding.control_id,
                title,
                f.finding.asset_id,
                f.asset_name,
                f.asset_type,
                f.finding.reason,
                f.finding.first_seen.to_rfc3339(),
                f.finding.last_seen.to_rfc3339(),
                f.finding
                    .resolved_at
                    .map(|t| t.to_rfc3339())
                    .unwrap_or_default(),
                exempted_until,
            ]));
            rows += 1;
        }
        if !chunk.is_empty() && !sink(chunk).await {
            return Ok(rows);
        }
        if n < EXPORT_PAGE as usize {
            break;
        }
    }
    Ok(rows)
}

/// Writes the findings matching `filter` as a JSON array of OCSF 1.3 Detection Findings
/// (class 2004, as `rampart scan --format ocsf` writes them), page by page to `sink`: a
/// finding with an active exemption has the workflow status `Suppressed`; not-applicable
/// findings are left out. Answers the number of records written.
pub async fn export_findings_ocsf<F, Fut>(
    ws: &WorkspaceStore,
    catalog: &Catalog,
    filter: &FindingFilter,
    now: DateTime<Utc>,
    mut sink: F,
) -> Result<u64, StoreError>
where
    F: FnMut(Vec<u8>) -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    if !sink(b"[".to_vec()).await {
        return Ok(0);
    }
    let workspace = ws.scope().workspace_id().to_owned();
    let version = env!("CARGO_PKG_VERSION");
    let report = rampart_output::Report {
        workspace: &workspace,
        generated_at: now,
        product_version: version,
        items: Vec::new(),
    };
    let mut cursor: Option<rampart_store::FindingCursor> = None;
    let mut rows = 0u64;
    loop {
        let items = ws
            .findings_after(filter, cursor.as_ref(), EXPORT_PAGE)
            .await?;
        let n = items.len();
        cursor = items.last().map(rampart_store::FindingCursor::after);
        let ids: Vec<String> = items.iter().map(|f| f.finding.id.clone()).collect();
        let exempt: std::collections::HashSet<String> = ws
            .exemptions_of(&ids)
            .await?
            .into_iter()
            .filter(|e| e.is_active(now))
            .map(|e| e.finding_id)
            .collect();
        let asset_ids: Vec<String> = items.iter().map(|f| f.finding.asset_id.clone()).collect();
        let assets: HashMap<String, rampart_model::Asset> = ws
            .assets_by_ids(&asset_ids)
            .await?
            .into_iter()
            .map(|a| (a.id.clone(), a))
            .collect();
        let mut chunk = Vec::with_capacity(n * 1024);
        for f in &items {
            // A finding outlives neither its control (content removed) nor its asset.
            let (Some(control), Some(asset)) = (
                catalog.control(&f.finding.control_id),
                assets.get(&f.finding.asset_id),
            ) else {
                continue;
            };
            let item = rampart_output::ReportItem {
                control,
                asset,
                status: f.finding.status,
                reason: &f.finding.reason,
            };
            let Some(json) =
                rampart_output::ocsf_record_json(&report, &item, exempt.contains(&f.finding.id))
            else {
                continue;
            };
            let json = json.map_err(|e| StoreError::Task(format!("OCSF record: {e}")))?;
            chunk.extend_from_slice(if rows == 0 { b"\n" } else { b",\n" });
            chunk.extend_from_slice(json.as_bytes());
            rows += 1;
        }
        if !chunk.is_empty() && !sink(chunk).await {
            return Ok(rows);
        }
        if n < EXPORT_PAGE as usize {
            break;
        }
    }
    sink(b"\n]\n".to_vec()).await;
    Ok(rows)
}

/// Writes every asset as CSV (tags as `key=value` joined by `;`), page by page, to `sink`.
pub async fn export_assets_csv<F, Fut>(ws: &WorkspaceStore, mut sink: F) -> Result<u64, StoreError>
where
    F: FnMut(Vec<u8>) -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    if !sink(csv_row(&ASSETS_CSV_HEADER.map(str::to_owned))).await {
        return Ok(0);
    }
    let mut offset = 0u64;
    let mut rows = 0u64;
    loop {
        let page = ws
            .list_assets(&AssetFilter::default(), Page::new(EXPORT_PAGE, offset))
            .await?;
        let n = page.items.len();
        let mut chunk = Vec::with_capacity(n * 256);
        for a in page.items {
            let tags = a
                .tags
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(";");
            chunk.extend(csv_row(&[
                a.id,
                a.native_id,
                a.name,
                a.resource_type.as_str().to_owned(),
                a.provider.as_str().to_owned(),
                a.account,
                a.region,
                tags,
                a.first_seen.to_rfc3339(),
                a.last_seen.to_rfc3339(),
            ]));
            rows += 1;
        }
        if !chunk.is_empty() && !sink(chunk).await {
            return Ok(rows);
        }
        if n < EXPORT_PAGE as usize {
            break;
        }
        offset += n as u64;
    }
    Ok(rows)
}

type Chunk = Result<axum::body::Bytes, std::io::Error>;

/// A streamed download: `produce` runs in its own task and feeds the body through a small
/// bounded channel, so a slow client holds back the queries instead of filling memory. A store
/// error after the headers went out aborts the body (the client sees a truncated transfer).
fn streamed<P, Fut>(file_name: &str, media_type: &'static str, produce: P) -> Response
where
    P: FnOnce(tokio::sync::mpsc::Sender<Chunk>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel::<Chunk>(4);
    tokio::spawn(produce(tx));
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    });
    attachment(file_name, media_type, Body::from_stream(stream))
}

async fn send(tx: &tokio::sync::mpsc::Sender<Chunk>, bytes: Vec<u8>) -> bool {
    tx.send(Ok(bytes.into())).await.is_ok()
}

async fn fail(tx: &tokio::sync::mpsc::Sender<Chunk>, e: StoreError) {
    tracing::warn!(error = %e, "export aborted by a store error");
    let _ = tx.send(Err(std::io::Error::other("export aborted"))).await;
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ExportParams {
    /// `csv` (default); the findings export also takes `ocsf`.
    format: Option<String>,
    status: Option<crate::api::ApiFindingStatus>,
    severity: Option<crate::api::ApiSeverity>,
    /// Control id.
    control: Option<String>,
}

fn check_csv(format: Option<&str>) -> Result<(), ApiError> {
    match format.map(|f| f.trim().to_ascii_lowercase()) {
        None => Ok(()),
        Some(f) if f == "csv" => Ok(()),
        Some(f) => Err(ApiError::bad_request(format!(
            "invalid format: {f:?} is not an export format (expected csv)"
        ))),
    }
}

/// `csv` (the default) or `ocsf`, for the findings export.
fn findings_format(format: Option<&str>) -> Result<bool, ApiError> {
    match format.map(|f| f.trim().to_ascii_lowercase()) {
        None => Ok(false),
        Some(f) if f == "csv" => Ok(false),
        Some(f) if f == "ocsf" => Ok(true),
        Some(f) => Err(ApiError::bad_request(format!(
            "invalid format: {f:?} is not a findings export format (expected csv or ocsf)"
        ))),
    }
}

/// Every finding (filtered like the list) as a download, streamed: CSV, or with `format=ocsf`
/// a JSON array of OCSF 1.3 Detection Findings (docs/output-formats.md).
#[utoipa::path(get, path = "/api/v1/workspaces/{ws}/findings/export", tag = "findings",
    params(("ws" = String, Path, description = "Workspace slug"), ExportParams),
    responses((status = 200, description = "RFC 4180 CSV with a header row, or (format=ocsf) a JSON array of OCSF Detection Findings", content((String = "text/csv"), (Vec<serde_json::Value> = "application/json"))),
        (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn export_findings(
    State(state): State<AppState>,
    auth: Caller,
    ApiPath(slug): ApiPath<String>,
    crate::api::ApiQuery(p): crate::api::ApiQuery<ExportParams>,
) -> Result<Response, ApiError> {
    let ocsf = findings_format(p.format.as_deref())?;
    let ws = authorize(&state, &auth, &slug, Permission::ExportData).await?;
    let filter = FindingFilter {
        status: p.status.map(Into::into),
        severity: p.severity.map(Into::into),
        control_id: p.control,
        asset_id: None,
    };
    let catalog = state.catalog_for(ws.scope()).await?;
    if ocsf {
        let name = format!(
            "rampart-{slug}-findings-{}.ocsf.json",
            Utc::now().format("%Y%m%d")
        );
        return Ok(streamed(
            &name,
            rampart_output::Format::Ocsf.media_type(),
            move |tx| async move {
                let result =
                    export_findings_ocsf(&ws, &catalog, &filter, Utc::now(), |b| send(&tx, b))
                        .await;
                if let Err(e) = result {
                    fail(&tx, e).await;
                }
            },
        ));
    }
    let name = format!(
        "rampart-{slug}-findings-{}.csv",
        Utc::now().format("%Y%m%d")
    );
    Ok(streamed(
        &name,
        rampart_output::Format::Csv.media_type(),
        move |tx| async move {
            let result =
                export_findings_csv(&ws, &catalog, &filter, Utc::now(), |b| send(&tx, b)).await;
            if let Err(e) = result {
                fail(&tx, e).await;
            }
        },
    ))
}

/// The whole inventory as a CSV download, streamed.
#[utoipa::path(get, path = "/api/v1/workspaces/{ws}/assets/export", tag = "inventory",
    params(("ws" = String, Path, description = "Workspace slug"), ExportParams),
    responses((status = 200, description = "RFC 4180 CSV with a header row", content_type = "text/csv"),
        (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn export_assets(
    State(state): State<AppState>,
    auth: Caller,
    ApiPath(slug): ApiPath<String>,
    crate::api::ApiQuery(p): crate::api::ApiQuery<ExportParams>,
) -> Result<Response, ApiError> {
    check_csv(p.format.as_deref())?;
    let ws = authorize(&state, &auth, &slug, Permission::ExportData).await?;
    let name = format!(
        "rampart-{slug}-inventory-{}.csv",
        Utc::now().format("%Y%m%d")
    );
    Ok(streamed(
        &name,
        rampart_output::Format::Csv.media_type(),
        move |tx| async move {
            if let Err(e) = export_assets_csv(&ws, |b| send(&tx, b)).await {
                fail(&tx, e).await;
            }
        },
    ))
}

// ----- reports as queued jobs -------------------------------------------------------------------

/// Runs `report` jobs: reads the workspace's results, renders the framework's compliance report
/// and keeps the file in the store ([`rampart_store::Store::save_report_file`]) for download at
/// `/api/v1/workspaces/{ws}/jobs/{id}/report`. Idempotent: a second run of the job replaces its
/// file.
pub struct ReportExecutor {
    pub catalog: std::sync::Arc<Catalog>,
}

impl rampart_worker::Executor for ReportExecutor {
    fn run(
        &self,
        ctx: rampart_worker::JobContext,
    ) -> rampart_worker::BoxFuture<'static, Result<serde_json::Value, rampart_worker::JobFailure>>
    {
        let base = self.catalog.clone();
        Box::pin(async move {
            // The workspace's custom controls count in its reports as on its pages.
            let catalog =
                rampart_worker::workspace_catalog(&ctx.store, &ctx.claim.scope, base).await?;
            render_report_job(&ctx, &catalog).await
        })
    }
}

async fn render_report_job(
    ctx: &rampart_worker::JobContext,
    catalog: &Catalog,
) -> Result<serde_json::Value, rampart_worker::JobFailure> {
    use rampart_worker::JobFailure;
    let job = &ctx.claim.job;
    let scope = &ctx.claim.scope;
    let framework = job
        .params
        .get("framework")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| JobFailure::new("the job's params name no framework"))?
        .to_owned();
    let format = ReportFormat::parse(
        job.params
            .get("format")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("pdf"),
    )
    .map_err(|e| JobFailure::new(format!("invalid format: {e}")))?;
    ctx.set_progress(serde_json::json!({"step": "reading results"}));
    let ws = ctx.store.scoped(scope);
    let report = compliance_report(&ws, catalog, &framework, scope.slug(), Utc::now())
        .await?
        .ok_or_else(|| JobFailure::new(format!("unknown framework {framework:?}")))?;
    ctx.set_progress(serde_json::json!({"step": "rendering"}));
    let file_name = report.file_name(format);
    let bytes = tokio::task::spawn_blocking(move || report.render(format))
        .await
        .map_err(|e| JobFailure::new(format!("rendering stopped: {e}")))?;
    let info = ctx
        .store
        .save_report_file(
            scope,
            &job.id,
            &framework,
            &file_name,
            format.media_type(),
            &bytes,
        )
        .await?;
    Ok(serde_json::json!({
        "report": info,
        "download": format!("/api/v1/workspaces/{}/jobs/{}/report", scope.slug(), job.id),
    }))
}

/// Queues a report job for a caller who may export (API and web app). 404 for an unknown
/// framework, 400 for an unknown format, both before anything is queued.
pub(crate) async fn queue_report_job(
    state: &AppState,
    auth: &Caller,
    slug: &str,
    framework_id: &str,
    format: Option<&str>,
) -> Result<rampart_store::Job, ApiError> {
    let format = ReportFormat::parse(format.unwrap_or("pdf"))
        .map_err(|e| ApiError::bad_request(format!("invalid format: {e}")))?;
    let ws = authorize(state, auth, slug, Permission::ExportData).await?;
    if state
        .catalog_for(ws.scope())
        .await?
        .framework(framework_id)
        .is_none()
    {
        return Err(ApiError::not_found("framework"));
    }
    Ok(state
        .store
        .enqueue_job(
            ws.scope(),
            rampart_store::NewJob::report(framework_id, format.file_extension()),
            auth.event_in(ws.scope(), "job.enqueue"),
        )
        .await?)
}

/// Queues the rendering of a framework's compliance report (PDF or HTML) for a worker: for
/// large workspaces, where rendering on request would hold the connection. Follow the job at
/// `/api/v1/workspaces/{ws}/jobs/{id}`; once it succeeded, download the file at
/// `/api/v1/workspaces/{ws}/jobs/{id}/report`.
#[utoipa::path(post, path = "/api/v1/workspaces/{ws}/frameworks/{id}/reports", tag = "frameworks",
    params(("ws" = String, Path, description = "Workspace slug"),
        ("id" = String, Path, description = "Framework id"), ReportParams),
    responses((status = 202, body = rampart_store::Job),
        (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn queue_report(
    State(state): State<AppState>,
    auth: Caller,
    ApiPath((ws, id)): ApiPath<(String, String)>,
    Query(params): Query<ReportParams>,
) -> Result<(axum::http::StatusCode, axum::Json<rampart_store::Job>), ApiError> {
    let job = queue_report_job(&state, &auth, &ws, &id, params.format.as_deref()).await?;
    Ok((axum::http::StatusCode::ACCEPTED, axum::Json(job)))
}

/// The report a succeeded report job rendered, for a caller who may export (shared by the API
/// and the web app). 409 while the job is queued or running, or when it failed or was
/// cancelled (with its state and error); 404 for another kind of job or a file pushed out by
/// newer reports.
pub(crate) async fn stored_report_response(
    state: &AppState,
    auth: &Caller,
    slug: &str,
    job_id: &str,
) -> Result<Response, ApiError> {
    let ws = authorize(state, auth, slug, Permission::ExportData).await?;
    let job = state
        .store
        .job(ws.scope(), job_id)
        .await?
        .filter(|j| j.kind == rampart_store::JobKind::Report)
        .ok_or_else(|| ApiError::not_found("report job"))?;
    match job.state {
        rampart_store::JobState::Succeeded => {}
        rampart_store::JobState::Queued | rampart_store::JobState::Running => {
            return Err(ApiError::new(
                axum::http::StatusCode::CONFLICT,
                "conflict",
                format!(
                    "the report is not rendered yet: the job is {}",
                    job.state.as_str()
                ),
            ));
        }
        other => {
            return Err(ApiError::new(
                axum::http::StatusCode::CONFLICT,
                "conflict",
                format!(
                    "the report job {}{}",
                    other.as_str(),
                    job.last_error
                        .as_deref()
                        .map(|e| format!(": {e}"))
                        .unwrap_or_default()
                ),
            ));
        }
    }
    let file = state
        .store
        .report_file(ws.scope(), job_id)
        .await?
        .ok_or_else(|| ApiError::not_found("report file (newer reports replaced it)"))?;
    let format = if file.info.media_type.starts_with("text/html") {
        ReportFormat::Html
    } else {
        ReportFormat::Pdf
    };
    Ok(report_attachment(
        &file.info.file_name,
        format,
        Body::from(file.content),
    ))
}

/// Downloads the report a report job rendered (PDF or HTML, as queued).
#[utoipa::path(get, path = "/api/v1/workspaces/{ws}/jobs/{id}/report", tag = "frameworks",
    params(("ws" = String, Path, description = "Workspace slug"), ("id" = String, Path, description = "Report job id")),
    responses((status = 200, description = "The report (application/pdf or text/html), as an attachment", content_type = "application/pdf"),
        (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub(crate) async fn job_report(
    State(state): State<AppState>,
    auth: Caller,
    ApiPath((ws, id)): ApiPath<(String, String)>,
) -> Result<Response, ApiError> {
    stored_report_response(&state, &auth, &ws, &id).await
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ReportListParams {
    /// Only reports of this framework.
    #[serde(default)]
    framework: Option<String>,
}

/// The reports that report jobs rendered and the store still keeps (the newest 50), newest first.
#[utoipa::path(get, path = "/api/v1/workspaces/{ws}/reports", tag = "frameworks",
    params(("ws" = String, Path, description = "Workspace slug"), ReportListParams),
    responses((status = 200, body = Vec<rampart_store::ReportFileInfo>),
        (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn list_reports(
    State(state): State<AppState>,
    auth: Caller,
    ApiPath(ws): ApiPath<String>,
    Query(params): Query<ReportListParams>,
) -> Result<axum::Json<Vec<rampart_store::ReportFileInfo>>, ApiError> {
    let ws = authorize(&state, &auth, &ws, Permission::ExportData).await?;
    Ok(axum::Json(
        state
            .store
            .report_files(ws.scope(), params.framework.as_deref())
            .await?,
    ))
}
